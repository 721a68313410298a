#!/usr/bin/env bash
# The main job on a demo image: make a small ext4 image with an extent file,
# an inline-data file, a directory and a symlink; mount it with our fuse2fs
# (-o iomap=auto); show the files and the IO mode of each; write through
# the mount; unmount; check the image with e2fsck -fn.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
demo=${DEMO_DIR:-$build/demo}
fuse2fs=$build/fuse2fs/fuse2fs
iomapattr=$build/fuse2fs/fuse2fs-iomapattr

mnt=$demo/mnt
img=$demo/demo.img
srv_pid=
cleanup() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null || true
	fi
	if [ -n "$srv_pid" ]; then
		timeout 10 tail --pid="$srv_pid" -f /dev/null 2>/dev/null ||
			kill -9 "$srv_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT

rm -rf "$demo"
mkdir -p "$demo/src/docs" "$mnt"
head -c 8M /dev/urandom > "$demo/src/big.bin"
echo "hello from an inline-data file" > "$demo/src/small.txt"
printf 'notes\n' > "$demo/src/docs/readme"
ln -s docs/readme "$demo/src/link"
mke2fs -q -F -t ext4 -O inline_data -d "$demo/src" "$img" 64M

echo "== mounting $img with fuse2fs -o iomap=auto"
"$fuse2fs" "$img" "$mnt" -f -o iomap=auto 2> "$demo/server.log" &
srv_pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 "$srv_pid" 2>/dev/null || { cat "$demo/server.log"; exit 1; }
	sleep 0.1
done
mountpoint -q "$mnt" || { echo "demo: mount did not come up"; exit 1; }
sed 's/^/server: /' "$demo/server.log"

echo "== files"
ls -la "$mnt" "$mnt/docs"
echo "== IO mode per file (preference, mode in effect)"
if [ -x "$iomapattr" ]; then
	"$iomapattr" "$mnt/big.bin" "$mnt/small.txt" "$mnt/docs/readme"
else
	echo "(fuse2fs-iomapattr not built)"
fi
echo "== IO mode per file as the kernel sees it (fdinfo of an open file)"
for f in big.bin small.txt docs/readme; do
	exec 3< "$mnt/$f"
	mode=$(grep '^fuse_iomap:' /proc/self/fdinfo/3 | awk '{print $2}' || true)
	exec 3<&-
	case $mode in
	1) echo "$f: iomap (the kernel does the data IO)" ;;
	0) echo "$f: classic FUSE read/write" ;;
	*) echo "$f: classic FUSE (this kernel has no fuse-iomap)" ;;
	esac
done
echo "== read and write through the mount"
cat "$mnt/small.txt"
cmp "$demo/src/big.bin" "$mnt/big.bin" && echo "big.bin reads back identical"
echo "written through fuse2fs" > "$mnt/docs/new.txt"
cat "$mnt/docs/new.txt"

echo "== unmounting"
umount "$mnt"
wait "$srv_pid" || true
srv_pid=
e2fsck -fn "$img" > "$demo/fsck.log" 2>&1 && echo "e2fsck -fn: clean" ||
	{ cat "$demo/fsck.log"; exit 1; }
