#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host side of the UML guest bench: boots the patched UML kernel once with
# a fresh scratch image as its block device, runs guest-bench.sh inside
# (kernel ext4, fuse2fs -o iomap=off, fuse2fs -o iomap=auto, fio O_DIRECT
# streaming and random IO), then prints the table (iomap/ext4,
# iomap/classic) and draws the plot.
#
# The guest is started through the kernel work's runner
# (kernel/scripts/run-uml.sh); the kernel comes from its build-uml.sh
# (built or found in its cache), or --uml LINUX.

set -u

BENCH_SRCDIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_SRCDIR/lib.sh"

usage()
{
	cat <<EOF
usage: $0 [options] [RESULTS_DIR]

  RESULTS_DIR        host directory for the results (default
                     $BENCH_SRCDIR/results/guest-<UTC time>); must not be
                     under a path the guest mounts over (e.g. /tmp)
  --quick            small sizes, for a smoke test
  --ours PATH        this project's fuse2fs (default ../fuse2fs/fuse2fs)
  --modes LIST       comma list of ext4,classic,iomap (default: all)
  --runner PATH      the kernel work's guest runner (default
                     ../kernel/scripts/run-uml.sh)
  --uml LINUX        this UML kernel instead of building one
  --test-kernel      the test kernel of kernel/scripts/build-uml.sh as is;
                     by default the same series is built without the
                     debug options (lockdep...) that slow IO down
  --mem SIZE         guest memory (default 2G)
  --img-size SIZE    scratch image (default 6G; quick 512M)
  --size SIZE        fio file size (default 4G; quick 64M)
  --scratch-dir DIR  where the scratch image lives (default /var/tmp);
                     a tmpfs such as /dev/shm keeps the host disk's
                     writeback out of the numbers
  --runtime SECS     seconds per random job (default 10; quick 3)
  --repeat N         run the modes N times, interleaved; median reported
  --cold-reads N     each cold streaming read N times per repetition
                     (default 3; quick 1); the median over all is reported
  --timeout SECS     kill the guest after this long (default 3000)
  --keep             keep the scratch directory
EOF
}

QUICK=""
OURS="${BENCH_OURS:-$BENCH_SRCDIR/../fuse2fs/fuse2fs}"
MODES="ext4,classic,iomap"
RUNNER=""
UML=""
MEM=2G
IMG_SIZE="" SIZE="" RUNTIME=""
TIMEOUT=3000
SCRATCH_DIR=/var/tmp
REPEAT=1
COLD_READS=""
TEST_KERNEL=""
KEEP=""
OUT=""

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--ours) OURS=$2; shift ;;
	--modes) MODES=$2; shift ;;
	--runner) RUNNER=$2; shift ;;
	--uml) UML=$2; shift ;;
	--test-kernel) TEST_KERNEL=1 ;;
	--mem) MEM=$2; shift ;;
	--img-size) IMG_SIZE=$2; shift ;;
	--scratch-dir) SCRATCH_DIR=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	--cold-reads) COLD_READS=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; bench_die "unknown option $1" ;;
	*) [ -z "$OUT" ] || bench_die "more than one RESULTS_DIR"; OUT=$1 ;;
	esac
	shift || bench_die "option needs a value"
done

if [ -n "$QUICK" ]; then
	: "${IMG_SIZE:=512M}" "${SIZE:=64M}" "${RUNTIME:=3}" "${COLD_READS:=1}"
else
	: "${IMG_SIZE:=6G}" "${SIZE:=4G}" "${RUNTIME:=10}" "${COLD_READS:=3}"
fi

[ "$(id -u)" -eq 0 ] || bench_die "run as root"
PY=$(bench_python) || bench_die "python3 not found (needed to read fio's JSON)"
[ -x "$OURS" ] || bench_die "our fuse2fs not found at $OURS (build it, or --ours PATH)"
OURS=$(cd "$(dirname "$OURS")" && pwd)/$(basename "$OURS")

[ -n "$RUNNER" ] || RUNNER=$BENCH_SRCDIR/../kernel/scripts/run-uml.sh
[ -x "$RUNNER" ] || [ -f "$RUNNER" ] ||
	bench_die "no guest runner at $RUNNER (the kernel work's run-uml.sh; --runner PATH)"
KDIR=$(cd "$(dirname "$RUNNER")/.." && pwd)

# Debug options in the test kernel's config fragment that cost time on
# every IO (lockdep above all): right for tests, wrong for numbers.
DEBUG_CONFIG='^CONFIG_(PROVE_LOCKING|DEBUG_LOCK_ALLOC|LOCKDEP|LOCK_STAT|DEBUG_ATOMIC_SLEEP|KASAN|UBSAN|DEBUG_PAGEALLOC|DEBUG_OBJECTS|DEBUG_KMEMLEAK|PROVE_RCU)='

# The kernel work's build-uml.sh run on a copy of kernel/ whose config
# fragment lacks those options, with its own cache (so the test kernel's
# cache is untouched) sharing the compiler cache (so only what the
# options change is recompiled).  Its cache key covers the series, so a
# rerun with the same series builds nothing.
build_bench_kernel()
{
	local cache=${FUSE_IOMAP_BENCH_CACHE:-/var/cache/fuse-iomap-bench}
	local testcache=${FUSE_IOMAP_CACHE:-/var/cache/fuse-iomap}
	local copy=$cache/kernel-src

	mkdir -p "$cache" || return 1
	if [ ! -e "$cache/ccache" ] && [ -d "$testcache/ccache" ]; then
		ln -s "$testcache/ccache" "$cache/ccache"
	fi
	rm -rf "$copy" && mkdir -p "$copy" &&
	cp -r "$KDIR/patches" "$KDIR/uml-patches" "$KDIR/scripts" "$copy/" &&
	grep -v -E "$DEBUG_CONFIG" "$KDIR/uml.config" > "$copy/uml.config" ||
		return 1
	FUSE_IOMAP_CACHE=$cache sh "$copy/scripts/build-uml.sh"
}

if [ -z "$UML" ]; then
	# Build the kernel (or find it in the cache) before the timed guest
	# run: a first build takes minutes.
	if [ -n "$TEST_KERNEL" ] ||
	   ! grep -q -E "$DEBUG_CONFIG" "$KDIR/uml.config"; then
		bench_log "finding or building the test UML kernel ($KDIR/scripts/build-uml.sh)"
		UML=$(sh "$KDIR/scripts/build-uml.sh") ||
			bench_die "building the UML kernel failed"
	else
		bench_log "finding or building the UML kernel without debug options ($(grep -E -o "$DEBUG_CONFIG" "$KDIR/uml.config" | tr -d '=' | tr '\n' ' '))"
		UML=$(build_bench_kernel) ||
			bench_die "building the bench UML kernel failed"
	fi
fi
[ -x "$UML" ] || bench_die "no UML kernel at $UML"

[ -n "$OUT" ] || OUT=$BENCH_SRCDIR/results/guest-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT" || bench_die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
case $OUT in
/tmp|/tmp/*|/dev/*|/proc/*|/sys/*|/run/*)
	bench_log "warning: $OUT may be covered by a guest mount and invisible to the guest" ;;
esac
BENCH_LOGFILE=$OUT/bench.log
rm -f "$OUT/guest.status"

WORKDIR=$(mktemp -d "$SCRATCH_DIR/fuse-iomap-guest-bench.XXXXXX") ||
	bench_die "mktemp failed"
on_exit()
{
	bench_stop_child
	[ -n "$KEEP" ] || rm -rf "$WORKDIR"
}
trap on_exit EXIT
trap 'bench_log "interrupted"; exit 130' INT TERM HUP

IMG=$WORKDIR/scratch.img
truncate -s "$IMG_SIZE" "$IMG" || bench_die "cannot make $IMG"
# Every block allocated on the host now, not at its first write in the
# guest: the host allocates a tmpfs page at its first write (for the
# guest's memory, guest-bench.sh measured 7.8 s for the first 1.5 GiB,
# 0.4 s for the next), so a sparse image made the first write to each
# block far slower than a rewrite, for kernel ext4 and fuse2fs alike,
# depending on where their allocators put a file.  (bench_mkfs does not
# discard, which would punch the holes again.)  On tmpfs, fallocate is
# not enough: it takes pages without writing them, and a virtual host
# backs its memory only at the first write (kernel ext4's first 4 GiB
# buffered stream ran at 600 MB/s on a fallocated image, at 1360 MB/s on
# one written in full, and its later streams at 1280-1400 on both), so
# there every page is written once.  On a disk, allocating is enough,
# and writing would leave gigabytes of writeback to the timed jobs.
if [ "$(stat -f -c %T "$WORKDIR")" = tmpfs ]; then
	bench_log "writing the scratch image once ($IMG_SIZE)"
	dd if=/dev/zero of="$IMG" bs=1M count="$(($(stat -c %s "$IMG") >> 20))" \
		conv=notrunc status=none ||
		bench_die "cannot write $IMG"
else
	fallocate -l "$IMG_SIZE" "$IMG" ||
		bench_log "warning: cannot preallocate $IMG; first writes pay the host's allocation"
fi

{
	echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host_kernel=$(uname -r)"
	echo "fio=$(fio --version)"
	echo "git=$(git -C "$BENCH_SRCDIR" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "ours=$OURS"
	echo "runner=$RUNNER"
	echo "uml=$UML"
	[ -f "$(dirname "$UML")/config" ] &&
		echo "uml_lockdep=$(grep -c '^CONFIG_PROVE_LOCKING=y' "$(dirname "$UML")/config")"
	echo "scratch_img_size=$IMG_SIZE"
	echo "scratch_dir=$SCRATCH_DIR"
} > "$OUT/run.txt"

# The command the guest runs; the scratch image is its second UBD device.
GUEST_DEV=/dev/ubdb
GUEST_CMD=("$BENCH_SRCDIR/guest-bench.sh" --dev "$GUEST_DEV" --ours "$OURS"
	   --modes "$MODES" --size "$SIZE" --runtime "$RUNTIME"
	   --repeat "$REPEAT" --cold-reads "$COLD_READS" "$OUT")

# Quote one word for the POSIX sh that runs the command in the guest.
sh_quote()
{
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# run-uml.sh (kernel work) boots the UML kernel with the host root as
# hostfs and IMG as /dev/ubdb, runs the command under sh and exits with
# its status (124: guest timed out, 125: guest died without a status).
boot_guest()
{
	local cmd="" word

	for word in "${GUEST_CMD[@]}"; do
		cmd="$cmd $(sh_quote "$word")"
	done
	bench_run "$RUNNER" -t "$TIMEOUT" -m "$MEM" -d "$IMG" -k "$UML" \
		-l "$OUT/dmesg.txt" -- "$cmd" > "$OUT/console.log" 2>&1
}

bench_log "results: $OUT"
bench_log "guest: modes $MODES x $REPEAT, fio file $SIZE, random ${RUNTIME}s, scratch $IMG_SIZE"
START=$(date +%s)
boot_guest
RC=$?
echo "elapsed_seconds=$(($(date +%s) - START))" >> "$OUT/run.txt"
if [ ! -f "$OUT/guest.status" ]; then
	# Killed or crashed: say so, and still tabulate what it finished.
	bench_log "the guest bench did not finish (exit $RC); console: $OUT/console.log"
	tail -n 20 "$OUT/console.log" >&2
	echo "unfinished (runner exit $RC)" > "$OUT/guest.status"
fi
[ "$RC" -eq 0 ] || bench_log "warning: guest run exited with status $RC (see $OUT/console.log)"
cat "$OUT/guest-run.txt" >> "$OUT/run.txt" 2>/dev/null

"$PY" "$BENCH_SRCDIR/report.py" --results "$OUT" \
	--fs "iomap=fuse2fs iomap,classic=fuse2fs classic,ext4=kernel ext4" \
	--ratio iomap/ext4 --ratio iomap/classic \
	--target iomap/ext4:seq-write,seq-read:0.95 \
	--target iomap/ext4:rand-read,rand-write:0.80 \
	--target iomap/ext4:b-seq-write,b-seq-read:1.0 \
	--target iomap/ext4:b-rand-write,b-rand-read:0.9 \
	--target iomap/ext4:mmap-rand-write:0.8 \
	--upcalls iomap --upcall-target b-seq-write:16 \
	--plot "$BENCH_SRCDIR/plot.gp" --reference ext4 --direct \
	--title "UML guest: fuse2fs iomap vs classic vs kernel ext4"
REPORT_RC=$?
[ "$(cat "$OUT/guest.status")" = 0 ] || {
	bench_log "some guest steps failed (see $OUT/guest.log)"
	exit 1
}
exit $REPORT_RC
