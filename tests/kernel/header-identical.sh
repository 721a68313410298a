#!/bin/sh
# TAP: the kernel series carries include/uapi/linux/fuse_iomap.h byte for
# byte as the project's include/linux/fuse_iomap.h, and no later patch
# changes it.  Host-only: reconstructs the file from the patch text.
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
n=0
creator=
for p in $(grep -v '^[[:space:]]*\(#\|$\)' "$patches/series"); do
	if grep -q "^+++ b/$uapi\$" "$patches/$p"; then
		n=$((n + 1))
		creator=$p
	fi
done
if [ $n -eq 1 ]; then
	echo "ok 1 - exactly one patch ($creator) adds $uapi"
else
	echo "not ok 1 - $n patches touch $uapi (want exactly one)"
fi

# Rebuild the new file from its hunk: with "new file mode" the hunk holds
# every line, each prefixed by "+".
if [ -n "$creator" ] &&
   grep -q "^new file mode" "$patches/$creator" &&
   awk -v f="$uapi" '
	/^diff --git / { infile = ($0 == "diff --git a/" f " b/" f); inhunk = 0; next }
	infile && /^@@ / { inhunk = 1; next }
	infile && inhunk && /^\+/ { print substr($0, 2); next }
	infile && inhunk && /^\\ No newline/ { nonl = 1 }
	' "$patches/$creator" >"$tmp/uapi.h"; then
	echo "ok 2 - extracted $uapi from $creator"
else
	echo "not ok 2 - could not extract $uapi"
fi

if cmp -s "$header" "$tmp/uapi.h"; then
	echo "ok 3 - $uapi is byte-identical to include/linux/fuse_iomap.h"
else
	echo "not ok 3 - $uapi differs from include/linux/fuse_iomap.h"
	diff -u "$header" "$tmp/uapi.h" | sed 's/^/# /' | head -40
fi
