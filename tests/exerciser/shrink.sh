#!/bin/sh
# Shrink a failing exerciser run to a few operations.
#
# usage: shrink.sh [-k | -o FUSE2FS_OPTS] [-m PATTERN] [-s IMAGE_SIZE]
#                  RECORDED SHRUNK
#
# RECORDED is an operation log written by `exerciser -w` (the run that
# failed).  Each trial makes a fresh ext4 image (mke2fs -t ext4 -b 4096,
# 64 MiB unless -s), mounts it with fuse2fs (options -o) or, with -k,
# kernel ext4 on a loop device, replays a subset of the operations
# (`exerciser -c 0 -C 0 -r`), unmounts and removes everything.  A subset still
# fails when the exerciser exits with status 1 and, with -m, its output
# matches PATTERN (grep -E), e.g. -m 'MISCOMPARE' or -m 'No space left'.
# Lines are removed in chunks, halving them down to single lines, as long
# as the failure stays; the smallest failing log is written to SHRUNK and
# its report printed.  Needs root.
#
# Environment: EXERCISER and FUSE2FS_BIN name the binaries (default: the
# build tree ../../build next to this script).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
exerciser=${EXERCISER:-$top/build/tests/exerciser/exerciser}
fuse2fs=${FUSE2FS_BIN:-$top/build/fuse2fs/fuse2fs}
kernel=
fuse_opts=
pattern=
size=64M
while getopts ko:m:s: opt; do
	case $opt in
	k) kernel=1 ;;
	o) fuse_opts=$OPTARG ;;
	m) pattern=$OPTARG ;;
	s) size=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { sed -n '3,4p' "$0" >&2; exit 2; }
recorded=$1
shrunk=$2

work=$(mktemp -d /var/tmp/xr-shrink.XXXXXX)
server=
cleanup() {
	if mountpoint -q "$work/mnt" 2>/dev/null; then
		umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt"
	fi
	if [ -n "$server" ]; then
		# fuse2fs ends by itself once unmounted
		i=0
		while kill -0 "$server" 2>/dev/null && [ $i -lt 100 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		kill -9 "$server" 2>/dev/null || :
		wait "$server" 2>/dev/null || :
		server=
	fi
	[ -z "$kernel" ] || losetup -j "$work/img" -O NAME -n |
		xargs -r -n1 losetup -d
}
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Replay log $1 on a fresh mount: 0 when the same failure shows.
fails() {
	rm -f "$work/img"
	mkdir -p "$work/mnt"
	truncate -s "$size" "$work/img"
	mke2fs -q -F -t ext4 -b 4096 "$work/img"
	if [ -n "$kernel" ]; then
		mount -o loop "$work/img" "$work/mnt"
	else
		"$fuse2fs" "$work/img" "$work/mnt" -f \
			${fuse_opts:+-o "$fuse_opts"} >"$work/server.log" 2>&1 &
		server=$!
		i=0
		until mountpoint -q "$work/mnt"; do
			i=$((i + 1))
			[ $i -lt 100 ] || { echo "shrink: no mount" >&2; exit 2; }
			sleep 0.1
		done
	fi
	rc=0
	timeout 600 "$exerciser" -c 0 -C 0 -r "$1" "$work/mnt/f" \
		>"$work/out" 2>&1 || rc=$?
	cleanup
	[ $rc -eq 1 ] || return 1
	[ -z "$pattern" ] || grep -Eq "$pattern" "$work/out"
}

grep -v '^#' "$recorded" | grep -v '^$' >"$work/cur" || :
fails "$work/cur" || { echo "shrink: $recorded does not fail" >&2; exit 1; }
n=2
trials=1
while :; do
	lines=$(wc -l <"$work/cur")
	[ "$lines" -ge 2 ] || break
	chunk=$(((lines + n - 1) / n))
	start=0
	reduced=
	while [ $start -lt "$lines" ]; do
		awk -v a=$start -v b=$((start + chunk)) 'NR <= a || NR > b' \
			"$work/cur" >"$work/cand"
		trials=$((trials + 1))
		if [ -s "$work/cand" ] && fails "$work/cand"; then
			mv "$work/cand" "$work/cur"
			reduced=1
			n=$((n > 2 ? n - 1 : 2))
			break
		fi
		start=$((start + chunk))
	done
	if [ -z "$reduced" ]; then
		[ "$chunk" -gt 1 ] || break
		n=$((n * 2 < lines ? n * 2 : lines))
	fi
done
cp "$work/cur" "$shrunk"
fails "$shrunk" || :
echo "shrink: $(wc -l <"$shrunk") operations left after $trials trials:"
cat "$work/out"
