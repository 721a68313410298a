#!/bin/sh
# Print the cache key of a UML build: a SHA-256 over everything that
# decides what gets built -- the series files and every patch they name,
# in order (patches/, then uml-patches/), the config fragment, the build
# script and the kernel source tarball's identity (Debian package
# version, size, modification time).
#
# usage: series-key.sh [TARBALL]
set -eu

kdir=$(cd "$(dirname "$0")/.." && pwd)
tarball=${1:-${KERNEL_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}}

[ -r "$tarball" ] || { echo "series-key: $tarball not readable" >&2; exit 1; }

{
	echo "tarball $(basename "$tarball") $(stat -c '%s %Y' "$tarball")"
	dpkg-query -W -f='package ${Package} ${Version}\n' \
		linux-source-6.12 2>/dev/null || true
	echo "series"
	cat "$kdir/patches/series"
	grep -v '^[[:space:]]*\(#\|$\)' "$kdir/patches/series" | while read -r p; do
		echo "patch $p"
		cat "$kdir/patches/$p"
	done
	echo "uml-patches"
	cat "$kdir/uml-patches/series"
	grep -v '^[[:space:]]*\(#\|$\)' "$kdir/uml-patches/series" | while read -r p; do
		echo "patch $p"
		cat "$kdir/uml-patches/$p"
	done
	echo "config"
	cat "$kdir/uml.config"
	echo "build script"
	cat "$kdir/scripts/build-uml.sh"
} | sha256sum | cut -d' ' -f1
