#!/bin/sh
# Developer helper: regenerate kernel/patches from a kernel git tree in
# which the series is a sequence of commits on top of BASE.
#
# usage: export-series.sh GIT_TREE BASE
set -eu

kdir=$(cd "$(dirname "$0")/.." && pwd)
tree=$1
base=$2

rm -f "$kdir"/patches/*.patch
git -C "$tree" format-patch -q --no-signature --zero-commit \
	-o "$kdir/patches" "$base"..HEAD
(cd "$kdir/patches" && ls -1 ./*.patch | sed 's|^\./||') >"$kdir/patches/series"
cat "$kdir/patches/series"
