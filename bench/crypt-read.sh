#!/bin/bash
# Read throughput through fuse2fs of a 1 GiB fs-verity file and a 1 GiB
# fscrypt-encrypted file, relative to a plain 1 GiB file on the same
# image (host kernel: classic FUSE reads).  Kernel ext4 writes the
# encrypted file (python3 issues the key and policy ioctls), fuse2fs
# enables verity.  Every read is a fresh fuse2fs mount (nothing cached in
# FUSE), after one warm-up pass, so the image is in the host page cache
# for all three alike: the cost measured is fuse2fs's (hashing,
# decrypting), not the disk's.  Three rounds, the best of each kept.
# usage: bench/crypt-read.sh [BUILD_DIR]; prints a table.
set -euo pipefail
build=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
f2=$build/fuse2fs/fuse2fs
work=$(mktemp -d /var/tmp/crypt-bench.XXXXXX)
mnt=$work/m
mkdir -p "$mnt"
cleanup() {
	umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
img=$work/fs.img
truncate -s 4G "$img"
mke2fs -q -t ext4 -b 4096 -O encrypt,verity "$img"
head -c 64 /dev/urandom >"$work/key"

mount -o loop "$img" "$mnt"
python3 - "$mnt" "$work/key" <<'PY'
import fcntl, os, struct, sys
mnt, key = sys.argv[1], open(sys.argv[2], 'rb').read()
IOC = lambda d, nr, size: (d << 30) | (size << 16) | (ord('f') << 8) | nr
fd = os.open(mnt, os.O_RDONLY)
arg = bytearray(struct.pack('<II32sII32s', 2, 0, b'', len(key), 0, b'') + key)
fcntl.ioctl(fd, IOC(3, 23, 80), arg, True)
os.mkdir(mnt + '/enc')
d = os.open(mnt + '/enc', os.O_RDONLY)
fcntl.ioctl(d, IOC(2, 19, 12), struct.pack('<BBBB4s16s', 2, 1, 4, 3, b'', bytes(arg[8:24])))
PY
for f in plain enc/data; do
	dd if=/dev/urandom of="$mnt/$f" bs=1M count=1024 status=none
done
cp "$mnt/plain" "$mnt/verity"
umount "$mnt"

"$f2" "$img" "$mnt"
python3 - "$mnt/verity" <<'PY'
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, (1 << 30) | (128 << 16) | (ord('f') << 8) | 133,
	    struct.pack('<IIIIQIIQ88s', 1, 1, 4096, 0, 0, 0, 0, 0, b''))
PY
fusermount3 -u "$mnt"

rate() {	# MB/s of one sequential read of $1 through a fresh mount
	local r
	"$f2" "$img" "$mnt" -o ro,keyfile="$work/key" 2>/dev/null
	r=$(dd if="$mnt/$1" of=/dev/null bs=1M 2>&1 |
		awk '/copied/ { print $(NF-1) * ($NF == "GB/s" ? 1000 : 1) }')
	fusermount3 -u "$mnt"
	echo "$r"
}
best() {	# the highest of three rates
	printf '%s\n' "$(rate "$1")" "$(rate "$1")" "$(rate "$1")" |
		sort -g | tail -n1
}
for f in plain verity enc/data; do rate "$f" >/dev/null; done
plain=$(best plain); verity=$(best verity); enc=$(best enc/data)
printf '%-28s %10s %8s\n' file MB/s ratio
printf '%-28s %10s %8s\n' "plain 1 GiB" "$plain" 1.00
printf '%-28s %10s %8.2f\n' "verity 1 GiB (SHA-256, 4K)" "$verity" \
	"$(echo "$verity / $plain" | bc -l)"
printf '%-28s %10s %8.2f\n' "encrypted 1 GiB (AES-XTS)" "$enc" \
	"$(echo "$enc / $plain" | bc -l)"
