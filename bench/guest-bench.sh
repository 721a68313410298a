#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest side of the UML bench: runs INSIDE the guest (the host's root is
# the guest's root through hostfs, so this script, fio and fuse2fs are
# the host's files).  For each mode, on the scratch block device made
# fresh by the same mke2fs command:
#   ext4     kernel ext4
#   classic  this fuse2fs with -o iomap=off (classic FUSE read/write)
#   iomap    this fuse2fs with -o iomap=auto (the kernel does the IO)
# it runs fio sequential (1 MiB) and random (4 KiB) O_DIRECT writes and
# reads, and writes fio's JSON under RESULTS_DIR/<mode>/ on hostfs.  The
# host-side driver (run-guest.sh) draws the table afterwards.
#
# RESULTS_DIR must be a host path the guest does not cover with its own
# mounts (a guest tmpfs on /tmp hides the host's /tmp from the guest).
# Exit status 0 when every requested mode ran all its jobs.

set -u

BENCH_SRCDIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRCDIR/lib.sh"

usage()
{
	cat <<EOF
usage: $0 --dev BLOCKDEV --ours FUSE2FS [options] RESULTS_DIR

  --dev DEV        scratch block device (e.g. /dev/ubdb); it is reformatted
  --ours PATH      this project's fuse2fs
  --modes LIST     comma list of ext4,classic,iomap (default: all three)
  --size SIZE      fio file size (default 512M)
  --runtime SECS   seconds per random job (default 10)
  --repeat N       run the modes N times, interleaved (default 1); the
                   report takes the median
  --cold-reads N   run each cold streaming read N times per repetition,
                   remounting in between (default 3): one cold read of
                   4 GiB takes seconds and spreads by 20%
  --step-timeout S kill a single step after S seconds (default 300)
EOF
}

DEV=""
OURS=""
MODES="ext4,classic,iomap"
SIZE=512M
RUNTIME=10
STEP_TIMEOUT=300
REPEAT=1
COLD_READS=3
OUT=""

while [ $# -gt 0 ]; do
	case $1 in
	--dev) DEV=$2; shift ;;
	--ours) OURS=$2; shift ;;
	--modes) MODES=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--step-timeout) STEP_TIMEOUT=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	--cold-reads) COLD_READS=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; bench_die "unknown option $1" ;;
	*) OUT=$1 ;;
	esac
	shift || bench_die "option needs a value"
done

[ -n "$OUT" ] || { usage >&2; bench_die "no RESULTS_DIR"; }
case $REPEAT in
''|*[!0-9]*|0) bench_die "--repeat takes a positive number" ;;
esac
case $COLD_READS in
''|*[!0-9]*|0) bench_die "--cold-reads takes a positive number" ;;
esac
[ "$STEP_TIMEOUT" -gt $((RUNTIME + 30)) ] ||
	bench_die "--step-timeout must be more than --runtime + 30 seconds"
[ -b "$DEV" ] || bench_die "--dev '$DEV' is not a block device"
case $MODES in
*classic*|*iomap*)
	[ -x "$OURS" ] || bench_die "--ours '$OURS' is not executable" ;;
esac
command -v fio >/dev/null || bench_die "fio not found in the guest"
mkdir -p "$OUT" || bench_die "cannot create $OUT"
BENCH_LOGFILE=$OUT/guest.log

# The guest's TMPDIR (run-uml.sh: a guest tmpfs) when there is one.
MNT=$(mktemp -d "${TMPDIR:-/tmp}/guest-bench.XXXXXX") ||
	bench_die "mktemp failed"
trap 'bench_cleanup; rmdir "$MNT" 2>/dev/null' EXIT
trap 'bench_log "interrupted"; exit 130' INT TERM HUP

{
	echo "guest_kernel=$(uname -r)"
	echo "guest_nproc=$(nproc)"
	echo "guest_mem_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
	echo "guest_dev=$DEV"
	echo "guest_dev_bytes=$(blockdev --getsize64 "$DEV" 2>/dev/null)"
	echo "fio_size=$SIZE"
	echo "rand_runtime=$RUNTIME"
	echo "modes=$MODES"
	echo "repeat=$REPEAT"
	echo "cold_reads=$COLD_READS"
} > "$OUT/guest-run.txt"

fs_mount()
{
	case $CUR_MODE in
	ext4) bench_mount_ext4 "$DEV" "$MNT" ;;
	classic) bench_mount_fuse "$OURS" "$DEV" "$MNT" \
			"$CUR_OUT/server.log" -o iomap=off ;;
	iomap) bench_mount_fuse "$OURS" "$DEV" "$MNT" \
			"$CUR_OUT/server.log" -o iomap=auto ;;
	esac
}

fs_umount()
{
	case $CUR_MODE in
	ext4) bench_umount_ext4 "$MNT" ;;
	*) bench_umount_fuse "$MNT" ;;
	esac
}

# The scratch device's readahead window as it was at the start, and a
# way to set it: kernel ext4 reads through the device's own setting, an
# iomap mount takes it when fuse2fs registers the device.
DEV_RA_FILE=/sys/block/${DEV##*/}/queue/read_ahead_kb
DEV_RA_KB=$(cat "$DEV_RA_FILE" 2>/dev/null) || DEV_RA_KB=""

set_device_read_ahead()
{
	[ -n "$DEV_RA_KB" ] && echo "$1" > "$DEV_RA_FILE" ||
		bench_log "warning: cannot set $DEV_RA_FILE to $1"
}

fs_cycle()
{
	fs_umount || return 1
	bench_drop_caches
	fs_mount
}

# FUSE requests of one fio job of the iomap mode, from the kernel's
# fuse_request_send trace event: BEGIN, END and IOEND (opcodes 8100-8102,
# doc/protocol.md section 4) and all requests, written as JSON next to
# the job's fio JSON; report.py turns them into upcalls per MiB.  A
# kernel without the event (no tracefs) gives no file, and the report
# "n/a".
TRACEFS=/sys/kernel/tracing
UPCALL_EVENT=$TRACEFS/events/fuse/fuse_request_send/enable

upcalls_start()
{
	[ "$CUR_MODE" = iomap ] || return 0
	[ -d "$TRACEFS/events" ] || mount -t tracefs nodev "$TRACEFS" 2>/dev/null
	[ -w "$UPCALL_EVENT" ] || return 0
	echo 0 > "$TRACEFS/tracing_on"
	echo > "$TRACEFS/trace"
	echo 32768 > "$TRACEFS/buffer_size_kb"
	echo 1 > "$UPCALL_EVENT"
	echo 1 > "$TRACEFS/tracing_on"
}

upcalls_stop()
{
	local out=$1 trace

	[ "$CUR_MODE" = iomap ] && [ -w "$UPCALL_EVENT" ] || return 0
	echo 0 > "$TRACEFS/tracing_on"
	echo 0 > "$UPCALL_EVENT"
	trace=$(grep -o 'opcode [0-9]* ' "$TRACEFS/trace")
	echo > "$TRACEFS/trace"
	printf '{"begin": %d, "end": %d, "ioend": %d, "all": %d}\n' \
		"$(grep -c '^opcode 8100 ' <<<"$trace")" \
		"$(grep -c '^opcode 8101 ' <<<"$trace")" \
		"$(grep -c '^opcode 8102 ' <<<"$trace")" \
		"$(grep -c '^opcode ' <<<"$trace")" > "$out"
}

# What fuse2fs says about the file it served: "iomap" or "classic (why)".
# An iomap run whose file went classic measures the wrong thing, and the
# report says so.
record_mode()
{
	local mode

	case $CUR_MODE in
	ext4) mode="kernel" ;;
	*) mode=$(getfattr --only-values -n user.fuse2fs.iomap_mode \
			"$MNT/bench.dat" 2>/dev/null) || mode="unknown" ;;
	esac
	echo "$mode" > "$CUR_OUT/io-mode.txt"
	bench_log "$CUR_MODE: bench.dat served as: $mode"
}

run_mode()
{
	local failed=0 job rc again n

	CUR_MODE=$1
	CUR_OUT=$OUT/$CUR_MODE
	[ "$REPEAT" -eq 1 ] || CUR_OUT=$CUR_OUT/run$2
	mkdir -p "$CUR_OUT"
	# as it was, also after a mode that failed half-way
	[ -z "$DEV_RA_KB" ] || echo "$DEV_RA_KB" > "$DEV_RA_FILE"
	bench_log "=== $CUR_MODE: fresh filesystem on $DEV"
	bench_mkfs "$DEV" 0 || { bench_log "mkfs failed"; return 1; }
	fs_mount || { bench_log "$CUR_MODE: mount failed"; return 1; }

	export BENCH_DIR=$MNT BENCH_SIZE=$SIZE BENCH_RUNTIME=$RUNTIME

	# Write, then read back cold; random jobs run on the same file.
	# O_DIRECT first, then the same jobs through the page cache (b-;
	# every job remounts and drops the caches, so reads start cold; the
	# buffered write starts from a deleted file), then random writes
	# through a shared mapping, and random reads through io_uring.
	for job in seq-write seq-read rand-read rand-write \
		   b-seq-write b-seq-read b-seq-read-ra1m b-rand-read \
		   b-rand-write mmap-rand-write uring-rand-read; do
		case $job in
		b-*|mmap-*|uring-*)
			export BENCH_SEQ_DIRECT=0 BENCH_RAND_DIRECT=0 ;;
		*) export BENCH_SEQ_DIRECT=1 BENCH_RAND_DIRECT=1 ;;
		esac
		bench_log "$CUR_MODE: $job"
		# The buffered streaming write makes a new file, as cp does:
		# allocation, unwritten conversion and size growth are what it
		# measures (an overwrite of the direct job's blocks needs none).
		if [ "$job" = b-seq-write ]; then
			rm -f "$MNT/bench.dat" && sync ||
				{ failed=1; continue; }
		fi
		jobfile=${job#b-}
		upcalls_start
		bench_fio "$BENCH_SRCDIR/jobs/${jobfile%-ra1m}.fio" \
			"$CUR_OUT/$job.json" "$STEP_TIMEOUT"
		rc=$?
		upcalls_stop "$CUR_OUT/$job.upcalls.json"
		# The cold streaming reads again, each from a fresh mount with
		# the caches dropped, as <job>.2.json, ...; the report takes
		# the median over all of them.
		case $job in
		b-seq-read*) again=$COLD_READS ;;
		*) again=1 ;;
		esac
		for n in $(seq 2 "$again"); do
			[ "$rc" -eq 0 ] || break
			fs_cycle || return 1
			bench_fio "$BENCH_SRCDIR/jobs/${jobfile%-ra1m}.fio" \
				"$CUR_OUT/$job.$n.json" "$STEP_TIMEOUT"
			rc=$?
		done
		case $rc in
		0) ;;
		2) bench_log "$CUR_MODE: $job timed out; giving up on this mode"
		   return 1 ;;
		*) failed=1 ;;
		esac
		if [ "$job" = seq-write ]; then
			record_mode
		fi
		# b-seq-read-ra1m: the same cold read from a device tuned as
		# `blockdev --setra 2048` would; it must be set before the
		# mount (fuse2fs's registration takes the device's readahead)
		case $job in
		b-seq-read) set_device_read_ahead 1024 ;;
		b-seq-read-ra1m) set_device_read_ahead "$DEV_RA_KB" ;;
		esac
		fs_cycle || return 1
	done

	fs_umount || failed=1
	if e2fsck -fn "$DEV" > "$CUR_OUT/fsck.txt" 2>&1; then
		echo clean > "$CUR_OUT/fsck.status"
	else
		echo "NOT CLEAN" > "$CUR_OUT/fsck.status"
		bench_log "$CUR_MODE: e2fsck -fn found problems"
		failed=1
	fi
	return $failed
}

# UML keeps the guest's memory in a host tmpfs file whose pages the host
# only allocates when the guest first touches them: measured here, 7.8 s
# for the first 1.5 GiB of a guest tmpfs, 0.4 s for the next.  The first
# mode of a boot to fill the page cache paid that (its buffered streaming
# write ran at 0.3 of the same mode's speed later in the boot), so every
# page is touched once before any mode runs: the scratch device read
# through the page cache, a quarter more than the memory, then dropped.
warm_guest_memory()
{
	local mem_kb

	mem_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
	bench_log "touching the guest's memory once (reading $DEV)"
	dd if="$DEV" of=/dev/null bs=1M count=$((mem_kb / 1024 * 5 / 4)) \
		status=none || bench_log "warning: warm-up read failed"
	bench_drop_caches
}

STATUS=0
for mode in ${MODES//,/ }; do
	case $mode in
	ext4|classic|iomap) ;;
	*) bench_die "unknown mode $mode" ;;
	esac
done
# Modes interleaved within each repetition, so a burst of load on the host
# hits all of them rather than one; and each repetition starts one mode
# further along the list, so that no mode always runs first (right after
# the boot) or last (after the others' minutes of IO).
read -r -a MODE_LIST <<< "${MODES//,/ }"
warm_guest_memory
for rep in $(seq 1 "$REPEAT"); do
	[ "$REPEAT" -eq 1 ] || bench_log "--- repetition $rep of $REPEAT"
	for i in "${!MODE_LIST[@]}"; do
		mode=${MODE_LIST[(i + rep - 1) % ${#MODE_LIST[@]}]}
		if ! run_mode "$mode" "$rep"; then
			bench_log "$mode: failed"
			STATUS=1
			bench_cleanup
		fi
	done
done
echo "$STATUS" > "$OUT/guest.status"
bench_log "guest bench done, status $STATUS"
exit $STATUS
