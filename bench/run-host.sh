#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host bench: this project's fuse2fs, Debian's classic fuse2fs and kernel
# ext4 on a loop device, one after the other in one run, each on a fresh
# image of the same size made by the same mke2fs command:
#   - fio: sequential write and read (1 MiB blocks), random 4 KiB reads
#     and writes;
#   - metadata: create, stat, unlink many small files; untar a source tree.
# Prints a table with ratios and draws a PNG (report.py, plot.gp).  Speed
# is only ever compared inside one run: absolute figures move between runs.
#
# Must run as root (mounts, loop devices, drop_caches).  Not part of
# `make check`; run through `make -C bench bench-host` or directly.

set -u

BENCH_SRCDIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRCDIR/lib.sh"

usage()
{
	cat <<EOF
usage: $0 [options] [RESULTS_DIR]

  RESULTS_DIR        where results go (default $BENCH_SRCDIR/results/<UTC time>)
  --quick            small sizes, for a smoke test (about a minute)
  --fs LIST          comma list of ours,debian,ext4 (default: all three),
                     and ours-wb: ours with -o writeback_cache
  --ours PATH        this project's fuse2fs (default: \$BENCH_OURS, or
                     ../fuse2fs/fuse2fs next to this script)
  --ours-opts OPTS   extra options for ours, e.g. "-o writeback_cache"
  --debian PATH      Debian's fuse2fs (default /usr/bin/fuse2fs)
  --metaload PATH    the metaload helper (default: built from metaload.c)
  --workdir DIR      scratch directory for images (default: under /var/tmp)
  --tree DIR         source tree to tar up for the untar load
                     (default: the kernel Documentation tree, else /usr/include)
  --img-size SIZE    image size (default 4G; quick 512M)
  --seq-size SIZE    fio file size (default 1G; quick 64M)
  --runtime SECS     seconds per random fio job (default 20; quick 3)
  --files N          small files for the metadata load (default 10000; quick 1000)
  --untar-files N    at most N files in the untar tarball, 0 for all
                     (default 10000; quick 1000)
  --buffered-random  random IO through the page cache instead of O_DIRECT
  --cold-random      drop caches before the random jobs as well
  --repeat N         run the filesystems N times, interleaved (default 1);
                     the report takes the median
  --step-timeout S   kill any single step after S seconds (default 300)
  --keep             keep the scratch directory
EOF
}

QUICK=""
FS_LIST="ours,debian,ext4"
OURS="${BENCH_OURS:-$BENCH_SRCDIR/../fuse2fs/fuse2fs}"
OURS_OPTS=""
DEBIAN_FUSE2FS=/usr/bin/fuse2fs
METALOAD=""
WORKDIR=""
TREE=""
IMG_SIZE="" SEQ_SIZE="" RUNTIME="" NFILES="" UNTAR_FILES=""
RAND_DIRECT=1
COLD_RANDOM=""
STEP_TIMEOUT=300
REPEAT=1
KEEP=""
OUT=""

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--fs) FS_LIST=$2; shift ;;
	--ours) OURS=$2; shift ;;
	--ours-opts) OURS_OPTS=$2; shift ;;
	--debian) DEBIAN_FUSE2FS=$2; shift ;;
	--metaload) METALOAD=$2; shift ;;
	--workdir) WORKDIR=$2; shift ;;
	--tree) TREE=$2; shift ;;
	--img-size) IMG_SIZE=$2; shift ;;
	--seq-size) SEQ_SIZE=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--files) NFILES=$2; shift ;;
	--untar-files) UNTAR_FILES=$2; shift ;;
	--buffered-random) RAND_DIRECT=0 ;;
	--cold-random) COLD_RANDOM=1 ;;
	--step-timeout) STEP_TIMEOUT=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; bench_die "unknown option $1" ;;
	*) [ -z "$OUT" ] || bench_die "more than one RESULTS_DIR"; OUT=$1 ;;
	esac
	shift || bench_die "option needs a value"
done

if [ -n "$QUICK" ]; then
	: "${IMG_SIZE:=512M}" "${SEQ_SIZE:=64M}" "${RUNTIME:=3}"
	: "${NFILES:=1000}" "${UNTAR_FILES:=1000}"
else
	: "${IMG_SIZE:=4G}" "${SEQ_SIZE:=1G}" "${RUNTIME:=20}"
	: "${NFILES:=10000}" "${UNTAR_FILES:=10000}"
fi
case $RUNTIME$NFILES$UNTAR_FILES$STEP_TIMEOUT$REPEAT in
*[!0-9]*) bench_die "--runtime, --files, --untar-files, --step-timeout, --repeat take numbers" ;;
esac
[ "$REPEAT" -ge 1 ] || bench_die "--repeat takes a positive number"
[ "$STEP_TIMEOUT" -gt $((RUNTIME + 30)) ] ||
	bench_die "--step-timeout must be more than --runtime + 30 seconds"

[ "$(id -u)" -eq 0 ] || bench_die "run as root (mounts, loop devices, drop_caches)"
for tool in fio mke2fs e2fsck losetup tar timeout; do
	command -v "$tool" >/dev/null || bench_die "$tool not found"
done
PY=$(bench_python) || bench_die "python3 not found (needed to read fio's JSON)"

# Which filesystems run, and with what.
FS_RUN=""
for fs in ${FS_LIST//,/ }; do
	case $fs in
	ours|ours-wb)
		if [ -x "$OURS" ]; then
			OURS=$(cd "$(dirname "$OURS")" && pwd)/$(basename "$OURS")
			FS_RUN="$FS_RUN $fs"
		else
			bench_log "warning: our fuse2fs not found at $OURS; skipping it (build it, or --ours PATH)"
		fi ;;
	debian)
		if [ -x "$DEBIAN_FUSE2FS" ]; then
			FS_RUN="$FS_RUN debian"
		else
			bench_log "warning: $DEBIAN_FUSE2FS not found (apt-get install fuse2fs); skipping it"
		fi ;;
	ext4) FS_RUN="$FS_RUN ext4" ;;
	*) bench_die "unknown filesystem '$fs' in --fs" ;;
	esac
done
[ -n "$FS_RUN" ] || bench_die "nothing to run"

[ -n "$OUT" ] || OUT=$BENCH_SRCDIR/results/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT" || bench_die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
BENCH_LOGFILE=$OUT/bench.log

if [ -z "$WORKDIR" ]; then
	WORKDIR=$(mktemp -d /var/tmp/fuse-iomap-bench.XXXXXX) ||
		bench_die "mktemp failed"
	OWN_WORKDIR=1
else
	mkdir -p "$WORKDIR" || bench_die "cannot create $WORKDIR"
	WORKDIR=$(cd "$WORKDIR" && pwd)
	OWN_WORKDIR=""
fi
case $WORKDIR$OUT in
*[[:space:]]*) bench_die "paths with spaces are not supported: $WORKDIR $OUT" ;;
esac
IMG=$WORKDIR/bench.img
MNT=$WORKDIR/mnt
mkdir -p "$MNT"

on_exit()
{
	bench_cleanup
	if [ -n "$OWN_WORKDIR" ] && [ -z "$KEEP" ]; then
		rm -rf "$WORKDIR"
	fi
}
trap on_exit EXIT
trap 'bench_log "interrupted"; exit 130' INT TERM HUP

# The metadata helper: given, or built here from its source.
if [ -z "$METALOAD" ]; then
	METALOAD=$WORKDIR/metaload
	${CC:-cc} -std=gnu11 -O2 -Wall -o "$METALOAD" "$BENCH_SRCDIR/metaload.c" ||
		bench_die "cannot build metaload"
fi
[ -x "$METALOAD" ] || bench_die "metaload helper $METALOAD is not executable"

# The untar load: an uncompressed tarball (no decompression cost in the
# timing) of a real source tree, made once and used for every filesystem.
if [ -z "$TREE" ]; then
	for t in /var/tmp/ksrc/linux-source-6.12/Documentation /usr/include; do
		if [ -d "$t" ]; then
			TREE=$t
			break
		fi
	done
fi
[ -d "$TREE" ] || bench_die "no source tree for the untar load (--tree DIR)"
TARBALL=$WORKDIR/tree.tar
(
	cd "$(dirname "$TREE")" &&
	find "$(basename "$TREE")" -type f | LC_ALL=C sort |
	if [ "$UNTAR_FILES" -gt 0 ]; then head -n "$UNTAR_FILES"; else cat; fi \
		> "$WORKDIR/tree.list" &&
	tar -cf "$TARBALL" --no-recursion -T "$WORKDIR/tree.list"
) || bench_die "cannot make the tarball from $TREE"
TAR_ENTRIES=$(tar -tf "$TARBALL" | wc -l)
TAR_BYTES=$(stat -c %s "$TARBALL")

bench_log "results: $OUT"
bench_log "filesystems:$FS_RUN; image $IMG_SIZE, fio file $SEQ_SIZE, random ${RUNTIME}s, $NFILES files, untar $TAR_ENTRIES files from $TREE"

# What this run was, for whoever reads the numbers later.
{
	echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host_kernel=$(uname -r)"
	echo "nproc=$(nproc)"
	echo "fio=$(fio --version)"
	echo "git=$(git -C "$BENCH_SRCDIR" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "quick=${QUICK:-0}"
	echo "filesystems=$FS_RUN"
	echo "ours=$OURS $OURS_OPTS"
	echo "debian=$DEBIAN_FUSE2FS $(dpkg-query -W -f '${Version}' fuse2fs 2>/dev/null)"
	echo "img_size=$IMG_SIZE"
	echo "seq_size=$SEQ_SIZE"
	echo "rand_runtime=$RUNTIME"
	echo "rand_direct=$RAND_DIRECT"
	echo "cold_random=${COLD_RANDOM:-0}"
	echo "repeat=$REPEAT"
	echo "meta_files=$NFILES"
	echo "untar_tree=$TREE"
	echo "untar_entries=$TAR_ENTRIES"
	echo "untar_bytes=$TAR_BYTES"
	echo "mkfs=mke2fs -t ext4 -E lazy_itable_init=0,lazy_journal_init=0"
} > "$OUT/run.txt"

# Mount and unmount whichever filesystem is being measured.
fs_mount()
{
	case $CUR_FS in
	ours)
		# shellcheck disable=SC2086 # OURS_OPTS is a list of words
		bench_mount_fuse "$OURS" "$IMG" "$MNT" "$CUR_OUT/server.log" \
			$OURS_OPTS ;;
	ours-wb)
		# shellcheck disable=SC2086 # OURS_OPTS is a list of words
		bench_mount_fuse "$OURS" "$IMG" "$MNT" "$CUR_OUT/server.log" \
			-o writeback_cache $OURS_OPTS ;;
	debian)
		bench_mount_fuse "$DEBIAN_FUSE2FS" "$IMG" "$MNT" \
			"$CUR_OUT/server.log" ;;
	ext4)
		bench_mount_ext4 "$IMG" "$MNT" ;;
	esac
}

fs_umount()
{
	case $CUR_FS in
	ext4) bench_umount_ext4 "$MNT" ;;
	*) bench_umount_fuse "$MNT" ;;
	esac
}

# Unmount, drop every cache, mount again: the next step starts cold, and a
# FUSE mount loses its kernel-side page and attribute caches too.
fs_cycle()
{
	fs_umount || return 1
	bench_drop_caches
	fs_mount
}

# Seconds since the epoch, to the nanosecond.
now() { date +%s.%N; }

# Steps return 0, 1 (failed: the next step may still work) or 2 (had to
# be killed: the filesystem is probably stuck; run_fs gives up on it).
step_fio()
{
	local name=$1

	bench_log "$CUR_FS: $name"
	bench_fio "$BENCH_SRCDIR/jobs/$name.fio" "$CUR_OUT/$name.json" \
		"$STEP_TIMEOUT"
}

# step_cmd COMMAND...: an untimed helper command on the mount, bounded.
step_cmd()
{
	local rc

	bench_run timeout -k 10 60 "$@"
	rc=$?
	[ "$rc" -eq 0 ] && return 0
	bench_log "$CUR_FS: $* failed (exit $rc)"
	bench_timed_out "$rc" && return 2
	return 1
}

step_meta()
{
	local phase=$1 rc

	bench_log "$CUR_FS: metadata $phase ($NFILES files)"
	bench_run timeout -k 10 "$STEP_TIMEOUT" "$METALOAD" "$phase" "$MNT/meta" \
		"$NFILES" 1024 > "$CUR_OUT/meta-$phase.json"
	rc=$?
	[ "$rc" -eq 0 ] && return 0
	bench_log "$CUR_FS: metadata $phase failed (exit $rc)"
	mv -f "$CUR_OUT/meta-$phase.json" "$CUR_OUT/meta-$phase.json.failed"
	bench_timed_out "$rc" && return 2
	return 1
}

# Untar into the mount and syncfs, both inside the timed span.
step_untar()
{
	local t0 t1 rc

	bench_log "$CUR_FS: untar $TAR_ENTRIES files"
	step_cmd mkdir -p "$MNT/untar" || return
	t0=$(now)
	bench_run timeout -k 10 "$STEP_TIMEOUT" \
		tar -xf "$TARBALL" -C "$MNT/untar" &&
	bench_run timeout -k 10 "$STEP_TIMEOUT" sync -f "$MNT/untar"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		bench_log "$CUR_FS: untar failed (exit $rc)"
		bench_timed_out "$rc" && return 2
		return 1
	fi
	t1=$(now)
	"$PY" - "$t0" "$t1" "$TAR_ENTRIES" "$TAR_BYTES" > "$CUR_OUT/untar.json" <<'EOF'
import json, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
n, nbytes = int(sys.argv[3]), int(sys.argv[4])
secs = t1 - t0
print(json.dumps({"phase": "untar", "count": n, "bytes": nbytes,
                  "seconds": secs, "ops_per_sec": n / secs if secs > 0 else 0}))
EOF
}

# step fio-job-name | step step_FUNCTION ARGS...: run one step; fail
# (so run_fs gives up on this filesystem) only when it had to be killed.
step()
{
	local rc

	case $1 in
	step_*) "$@" ;;
	*) step_fio "$1" ;;
	esac
	rc=$?
	if [ "$rc" -eq 2 ]; then
		bench_log "$CUR_FS: a step timed out; giving up on this filesystem"
		return 1
	fi
	return 0
}

run_fs()
{
	CUR_FS=$1
	CUR_OUT=$OUT/$CUR_FS
	[ "$REPEAT" -eq 1 ] || CUR_OUT=$CUR_OUT/run$2
	mkdir -p "$CUR_OUT"

	bench_log "=== $CUR_FS: fresh image"
	bench_mkfs "$IMG" "$IMG_SIZE" || { bench_log "mkfs failed"; return 1; }
	bench_drop_caches
	fs_mount || { bench_log "$CUR_FS: mount failed, skipping it"; return 1; }

	export BENCH_DIR=$MNT BENCH_SIZE=$SEQ_SIZE BENCH_RUNTIME=$RUNTIME
	export BENCH_SEQ_DIRECT=0 BENCH_RAND_DIRECT=$RAND_DIRECT

	step seq-write || return 1
	fs_cycle || return 1
	step seq-read || return 1
	# Random IO: remount (no kernel-side caches of the file) but, unless
	# --cold-random, keep the image in the host page cache, so the
	# numbers measure the filesystem's path rather than the disk.
	if [ -n "$COLD_RANDOM" ]; then fs_cycle; else fs_umount && fs_mount; fi ||
		return 1
	step rand-read || return 1
	step rand-write || return 1
	step step_cmd rm -f "$MNT/bench.dat" || return 1

	step step_meta create || return 1
	if [ -f "$CUR_OUT/meta-create.json" ]; then
		fs_cycle || return 1
		step step_meta stat || return 1
		step step_meta unlink || return 1
	fi
	fs_cycle || return 1
	step step_untar || return 1

	fs_umount || bench_log "$CUR_FS: unclean unmount"
	bench_detach_loop
	if e2fsck -fn "$IMG" > "$CUR_OUT/fsck.txt" 2>&1; then
		echo clean > "$CUR_OUT/fsck.status"
	else
		echo "NOT CLEAN" > "$CUR_OUT/fsck.status"
		bench_log "$CUR_FS: e2fsck -fn found problems (see $CUR_OUT/fsck.txt)"
	fi
	rm -f "$IMG"
}

START=$(date +%s)
# Filesystems interleaved within each repetition, so a burst of load on
# the machine hits all of them rather than one.
for rep in $(seq 1 "$REPEAT"); do
	[ "$REPEAT" -eq 1 ] || bench_log "--- repetition $rep of $REPEAT"
	for fs in $FS_RUN; do
		if ! run_fs "$fs" "$rep"; then
			bench_log "$fs: run aborted; continuing with the next filesystem"
			bench_cleanup
		fi
	done
done
echo "elapsed_seconds=$(($(date +%s) - START))" >> "$OUT/run.txt"

# Table and plot: ours against Debian's and against kernel ext4.
REPORT_FS="ours=this fuse2fs"
REPORT_RATIOS=()
case " $FS_RUN " in
*" ours-wb "*)
	REPORT_FS="$REPORT_FS,ours-wb=ours -o writeback_cache"
	REPORT_RATIOS=(--ratio ours-wb/debian --ratio ours-wb/ext4) ;;
esac
REPORT_FS="$REPORT_FS,debian=Debian fuse2fs,ext4=kernel ext4"
"$PY" "$BENCH_SRCDIR/report.py" --results "$OUT" --fs "$REPORT_FS" \
	--ratio ours/debian --ratio ours/ext4 "${REPORT_RATIOS[@]}" \
	--target ours/debian:seq-write,seq-read,meta-create,meta-stat,meta-unlink,untar:2 \
	--plot "$BENCH_SRCDIR/plot.gp" --reference ext4 \
	--title "Host: fuse2fs vs Debian fuse2fs vs kernel ext4 ($(uname -r))"
