#!/bin/sh
# Run the kernel's scripts/checkpatch.pl --strict on every patch of the
# series (patches/, then the test-bed fixes of uml-patches/).  Fails if any patch has an error, a warning or a check.  Two
# message types are ignored, both for reasons checkpatch cannot see:
#  - FILE_PATH_CHANGES ("does MAINTAINERS need updating?") for new files
#    under fs/fuse/, which the FUSE entry covers; the first patch adds the
#    new uapi header to that entry;
#  - ENOSYS ("means invalid syscall nr"): in the FUSE protocol ENOSYS is
#    the server's answer for "operation not implemented", and fs/fuse
#    tests for it throughout to stop sending such requests.
#
# checkpatch.pl comes from the kernel tree build-uml.sh keeps (or, if
# that does not exist yet, from a copy extracted from the tarball).
set -eu

kdir=$(cd "$(dirname "$0")/.." && pwd)
cache=${FUSE_IOMAP_CACHE:-/var/cache/fuse-iomap}
tarball=${KERNEL_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

ksrc=$cache/uml/tree/linux
tree_opt=
if [ ! -x "$ksrc/scripts/checkpatch.pl" ]; then
	tree_opt=--no-tree
	ksrc=$cache/checkpatch
	if [ ! -x "$ksrc/scripts/checkpatch.pl" ]; then
		echo "checkpatch: extracting checkpatch.pl from $tarball" >&2
		mkdir -p "$ksrc.tmp"
		tar -xJf "$tarball" -C "$ksrc.tmp" --strip-components=1 \
			--wildcards '*/scripts/checkpatch.pl' \
			'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch' \
			'*/scripts/spdxcheck.py' '*/LICENSES' '*/MAINTAINERS'
		rm -rf "$ksrc"
		mv "$ksrc.tmp" "$ksrc"
	fi
fi

# spdxcheck.py wants the distribution's python (python3-ply, python3-git).
PATH=/usr/bin:$PATH
export PATH

status=0
for p in $(grep -v '^[[:space:]]*\(#\|$\)' "$kdir/patches/series" |
		sed 's|^|patches/|') \
	 $(grep -v '^[[:space:]]*\(#\|$\)' "$kdir/uml-patches/series" |
		sed 's|^|uml-patches/|'); do
	if out=$(cd "$ksrc" && ./scripts/checkpatch.pl $tree_opt --strict \
		--ignore FILE_PATH_CHANGES,ENOSYS "$kdir/$p" 2>&1); then
		echo "ok: $p"
	else
		echo "FAIL: $p"
		echo "$out" | sed 's/^/    /'
		status=1
	fi
done
exit $status
