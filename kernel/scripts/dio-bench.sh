#!/bin/sh
# Direct IO throughput inside the UML guest, one run, same device, three
# ways: kernel ext4, fuse2fs classic (-o iomap=off), fuse2fs iomap
# (-o iomap=auto).  Prints a table of MB/s and the ratios iomap/ext4 and
# iomap/classic.  Run it through run-uml.sh:
#
#   kernel/scripts/run-uml.sh -s 4G -- kernel/scripts/dio-bench.sh FUSE2FS
#
# FUSE2FS is the fuse2fs binary to test; SIZE (default 256M) the file size.
set -eu

fuse2fs=$1
size=${SIZE:-256M}
dev=${KT_DEVICE:-/dev/ubdb}
mnt=$TMPDIR/bench-mnt
out=$TMPDIR/bench
mkdir -p "$mnt" "$out"

jobs="seqwrite:write:1M seqread:read:1M randwrite:randwrite:4k randread:randread:4k"

run_fio() {	# mode
	for j in $jobs; do
		name=${j%%:*}; rest=${j#*:}; rw=${rest%%:*}; bs=${rest#*:}
		fio --name="$name" --filename="$mnt/bench.dat" --size="$size" \
			--rw="$rw" --bs="$bs" --direct=1 --ioengine=psync \
			--runtime=15 --time_based=0 --output-format=terse \
			--terse-version=3 >"$out/$1.$name" 2>&1 || true
		# terse v3: field 7 read bw KiB/s, field 48 write bw KiB/s
		awk -F';' -v rw="$rw" '{ bw = (rw ~ /write/) ? $48 : $7;
			printf "%.1f\n", bw * 1024 / 1e6 }' "$out/$1.$name" \
			>"$out/$1.$name.mbs"
	done
}

fresh_fs() {
	mke2fs -q -F -t ext4 -b 4096 "$dev" 2G
}

start_fuse2fs() {	# iomap mode
	"$fuse2fs" "$dev" "$mnt" -o "iomap=$1" -f >"$out/fuse2fs.$1.log" 2>&1 &
	i=0
	while ! grep -q " $mnt " /proc/self/mountinfo; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "mount failed"; exit 1; }
		sleep 0.1
	done
}

stop_fuse2fs() {
	umount "$mnt"
	wait
}

# Lay the file out once per run (fio's own layout is buffered), then test.
fresh_fs
mount -t ext4 "$dev" "$mnt"
run_fio ext4
umount "$mnt"

fresh_fs
start_fuse2fs off
run_fio classic
stop_fuse2fs

fresh_fs
start_fuse2fs auto
run_fio iomap
f=$mnt/bench.dat
[ -f "$f" ] && { exec 4<"$f"; grep fuse_iomap: /proc/self/fdinfo/4 | sed 's/^/# iomap run, bench.dat: /'; exec 4<&-; }
stop_fuse2fs

printf '%-10s %10s %10s %10s %11s %15s\n' workload ext4 classic iomap iomap/ext4 iomap/classic
for j in $jobs; do
	name=${j%%:*}
	e=$(cat "$out/ext4.$name.mbs"); c=$(cat "$out/classic.$name.mbs")
	m=$(cat "$out/iomap.$name.mbs")
	awk -v n="$name" -v e="$e" -v c="$c" -v m="$m" 'BEGIN {
		printf "%-10s %10.1f %10.1f %10.1f %11.2f %15.2f\n", n, e, c, m,
			(e > 0 ? m / e : 0), (c > 0 ? m / c : 0) }'
done
echo "(MB/s, fio psync direct=1, file $size, one run, UML guest)"
