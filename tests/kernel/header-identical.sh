#!/bin/sh
# TAP: the kernel series carries include/uapi/linux/fuse_iomap.h byte for
# byte as the project's include/linux/fuse_iomap.h: one patch creates it,
# later patches may change it (a protocol change goes into the series as
# a new patch), and the header the whole series leaves is the project's.
# Host-only: rebuilds the file from the patch text.
set -u

srcdir=${srcdir:-$(dirname "$0")}
top=$(cd "$srcdir/../.." && pwd)
patches=$top/kernel/patches
header=$top/include/linux/fuse_iomap.h
uapi=include/uapi/linux/fuse_iomap.h
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hdr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "1..3"

# The patches that touch the uapi header, in series order.
touching=
for p in $(grep -v '^[[:space:]]*\(#\|$\)' "$patches/series"); do
	if grep -q "^+++ b/$uapi\$" "$patches/$p"; then
		touching="$touching $p"
	fi
done
creator=${touching# }
creator=${creator%% *}
if [ -n "$creator" ] && grep -q "^new file mode" "$patches/$creator"; then
	echo "ok 1 - $creator adds $uapi"
else
	echo "not ok 1 - the first patch touching $uapi does not create it"
fi

# Apply each patch's part for the header, in order, with no fuzz.
ok=1
mkdir -p "$tmp/tree"
for p in $touching; do
	awk -v f="$uapi" '
		/^diff --git / { infile = ($0 == "diff --git a/" f " b/" f) }
		infile { print }
	' "$patches/$p" >"$tmp/part.diff"
	if ! patch -s -p1 --fuzz=0 -d "$tmp/tree" <"$tmp/part.diff" \
	     >"$tmp/patch.log" 2>&1; then
		ok=0
		sed 's/^/# /' "$tmp/patch.log"
		echo "not ok 2 - $p does not apply to $uapi"
		break
	fi
done
[ $ok -eq 1 ] && echo "ok 2 - rebuilt $uapi from$touching"

if [ $ok -eq 1 ] && cmp -s "$header" "$tmp/tree/$uapi"; then
	echo "ok 3 - $uapi is byte-identical to include/linux/fuse_iomap.h"
else
	echo "not ok 3 - $uapi differs from include/linux/fuse_iomap.h"
	[ -f "$tmp/tree/$uapi" ] &&
		diff -u "$header" "$tmp/tree/$uapi" | sed 's/^/# /' | head -40
fi
