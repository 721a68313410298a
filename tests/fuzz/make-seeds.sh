#!/bin/sh
# Build the fuzzer's seed corpus: small images, each with one of the
# features fuse2fs serves, made with mke2fs -d, debugfs and e2fsck -D
# (htree).  usage: make-seeds.sh OUTDIR
#
# The harness mounts an image read-only when its superblock says
# errors=remount-ro (tests/fuzz/fuzz_fuse2fs.c), so the images fuse2fs
# refuses to write (ea_inode, bigalloc) are made so, to reach the
# read-only paths.  Encrypted and verity seeds join once fuse2fs serves
# those files.
set -eu
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A tree of the usual things, copied in by mke2fs -d.
tree() {
	d=$1
	rm -rf "$d"
	mkdir -p "$d/dir/sub" "$d/empty"
	printf 'hello\n' >"$d/small"
	head -c 3000 /dev/zero | tr '\0' 'a' >"$d/dir/three_k"
	head -c 20000 /dev/zero | tr '\0' 'b' >"$d/dir/sub/twenty_k"
	ln -s small "$d/fast_link"
	ln -s "$(head -c 200 /dev/zero | tr '\0' 'l')" "$d/slow_link"
	ln "$d/small" "$d/dir/hardlink"
	mkfifo "$d/fifo"
	printf 'x' >"$d/attrs"
	setfattr -n user.one -v 1 "$d/attrs" 2>/dev/null || true
	setfattr -n user.long -v "$(head -c 300 /dev/zero | tr '\0' 'v')" \
		"$d/attrs" 2>/dev/null || true
	setfacl -m u:1:rw,g:2:r "$d/attrs" 2>/dev/null || true
	setfacl -d -m u:1:rwx "$d/dir" 2>/dev/null || true
}

# mk NAME SIZE_KIB MKE2FS-ARGS... (the tree is $tmp/t)
mk() {
	name=$1 size=$2
	shift 2
	rm -f "$out/$name"
	mke2fs -q -F -b 1024 -N 64 -d "$tmp/t" "$@" "$out/$name" "$size" \
		>/dev/null
}

tree "$tmp/t"
mk ext4_csum 256 -t ext4 -O ^has_journal,^resize_inode
mk ext4_nocsum 256 -t ext4 -O ^has_journal,^resize_inode,^metadata_csum
mk ext4_inline 256 -t ext4 -O ^has_journal,^resize_inode,inline_data
mk ext2 256 -t ext2 -O ^resize_inode
mk ext3 3072 -t ext3 -O ^resize_inode -J size=1

# Directories in htree form: many long names, then e2fsck -D indexes them.
tree "$tmp/t"
mkdir "$tmp/t/big"
i=0
while [ $i -lt 120 ]; do
	: >"$tmp/t/big/entry_with_a_rather_long_name_number_$i"
	i=$((i + 1))
done
mk htree 512 -t ext4 -O ^has_journal,^resize_inode -N 200
e2fsck -fyD "$out/htree" >/dev/null 2>&1 || true

# Extent trees of depth 0, 1 and 2 (1 KiB blocks: 4 extents in the
# inode, 84 in a leaf): files with a data block every other block.
tree "$tmp/t"
sparse() {
	n=0
	: >"$2"
	while [ $n -lt "$1" ]; do
		printf 'block %d' $n | dd of="$2" bs=1024 seek=$((n * 2)) \
			conv=notrunc status=none
		n=$((n + 1))
	done
}
sparse 3 "$tmp/t/depth0"
sparse 40 "$tmp/t/depth1"
sparse 400 "$tmp/t/depth2"
mk extents 1024 -t ext4 -O ^has_journal,^resize_inode

# Refused for writing: reached read-only (errors=remount-ro).
tree "$tmp/t"
mk ea_inode 512 -t ext4 -O ^has_journal,^resize_inode,ea_inode
head -c 3000 /dev/zero | tr '\0' 'e' >"$tmp/bigval"
debugfs -w -R "ea_set -f $tmp/bigval /attrs user.big" "$out/ea_inode" \
	>/dev/null 2>&1
# debugfs leaves i_blocks short of the value inode's block: e2fsck fixes.
e2fsck -fy "$out/ea_inode" >/dev/null 2>&1 || true
tune2fs -e remount-ro "$out/ea_inode" >/dev/null
mk bigalloc 1024 -t ext4 -O ^has_journal,^resize_inode,bigalloc -C 4096
tune2fs -e remount-ro "$out/bigalloc" >/dev/null

# A journal that needs recovery: kernel ext4 shut down with its log
# flushed but not checkpointed (EXT4_IOC_SHUTDOWN, LOGFLUSH).  Needs root
# and loop devices; skipped without them.
journal_seed() {
	mke2fs -q -F -b 1024 -t ext4 -J size=1 -O ^resize_inode -N 160 \
		"$out/journal" 3072 >/dev/null || return 1
	mkdir -p "$tmp/mnt"
	mount -o loop "$out/journal" "$tmp/mnt" 2>/dev/null || return 1
	mkdir "$tmp/mnt/gone" "$tmp/mnt/kept"
	i=0
	while [ $i -lt 60 ]; do
		echo $i >"$tmp/mnt/gone/entry_$i"
		echo $i >"$tmp/mnt/kept/f$i"
		i=$((i + 1))
	done
	sync -f "$tmp/mnt"
	rm -rf "$tmp/mnt/gone"
	mv "$tmp/mnt/kept/f1" "$tmp/mnt/kept/one"
	sync -f "$tmp/mnt"
	python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587d, struct.pack("I", 1))' "$tmp/mnt"
	umount "$tmp/mnt"
}
if [ "$(id -u)" = 0 ] && journal_seed; then
	:
else
	umount "$tmp/mnt" 2>/dev/null
	rm -f "$out/journal"
	echo "make-seeds: no journal seed (needs root and loop devices)" >&2
fi

for f in "$out"/*; do
	[ "$(basename "$f")" = journal ] && continue	# needs recovery
	e2fsck -fn "$f" >/dev/null 2>&1 ||
		echo "make-seeds: warning: $f is not clean" >&2
done
ls "$out"
