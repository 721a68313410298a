#!/bin/sh
# Run a shell command inside the patched UML kernel and return its exit
# status and output.
#
# usage: run-uml.sh [-t SECONDS] [-m MEM] [-d IMAGE] [-s SIZE] [-k LINUX]
#                   [-l DMESG_FILE] -- COMMAND...
#   -t  hard time-out for the whole guest, default 600; UML is killed
#       (whole process group) when it expires; exit status 124
#   -m  guest memory, default 1G
#   -d  scratch image given to the guest as /dev/ubdb; by default a fresh
#       sparse file of -s SIZE (default 2G) is created and removed after
#   -k  kernel binary; default: the cached build of build-uml.sh
#   -l  copy the guest's kernel log (dmesg) to this file
#
# The guest's root is the host's / (hostfs, read-write), so COMMAND sees
# the same paths as on the host and runs in the current directory.  It
# runs as root under /bin/sh with TMPDIR=/run/tmp (a guest tmpfs).  Its
# stdout+stderr are printed on stdout after the guest stops; the exit
# status of run-uml.sh is COMMAND's, or 124 on time-out, or 125 when the
# guest died without reporting one (its console is then printed).
set -eu

kdir=$(cd "$(dirname "$0")/.." && pwd)
timeout=600
mem=1G
image=
size=2G
linux=
dmesg_copy=
while getopts t:m:d:s:k:l: opt; do
	case $opt in
	t) timeout=$OPTARG ;;
	m) mem=$OPTARG ;;
	d) image=$OPTARG ;;
	s) size=$OPTARG ;;
	k) linux=$OPTARG ;;
	l) dmesg_copy=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: run-uml.sh [options] -- COMMAND..." >&2; exit 2; }

[ -n "$linux" ] || linux=$("$kdir/scripts/build-uml.sh")
[ -x "$linux" ] || { echo "run-uml: no kernel at $linux" >&2; exit 125; }

# Not under /tmp's usual tmpfs-in-guest trap: the guest must see it.
base=${UML_RUN_BASE:-/var/tmp}
run=$(mktemp -d "$base/uml-run.XXXXXX")
cleanup() { rm -rf "$run"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '%s\n' "$*" >"$run/cmd"
if [ -z "$image" ]; then
	image=$run/scratch.img
	truncate -s "$size" "$image"
fi
image=$(cd "$(dirname "$image")" && pwd)/$(basename "$image")

# On hosts whose XSAVE area is too large for UML (uml-patches/0001), the
# guest's processes only get their SSE state saved across UML context
# switches: keep glibc on its SSE code paths, or AVX string functions
# return garbage now and then.
avx_off=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-FMA,-FMA4,-AVX_Fast_Unaligned_Load

# UML keeps guest memory in an (unlinked) file under TMPDIR: put it on
# tmpfs, not on a disk.
memdir=/dev/shm
[ -d "$memdir" ] && [ -w "$memdir" ] || memdir=$run
rc=0
TMPDIR=$memdir timeout -k 10 "$timeout" "$linux" \
	mem="$mem" ubdb="$image" log_buf_len=4M \
	root=/dev/root rootfstype=hostfs hostfs=/ rw \
	init="$kdir/scripts/guest-init.sh" \
	UML_RUN_DIR="$run" UML_RUN_CWD="$(pwd)" \
	GLIBC_TUNABLES="$avx_off" \
	con=null con0=fd:0,fd:1 >"$run/console" 2>&1 </dev/null &
guest=$!

# UML's clock is a one-shot host timer (SIGALRM) that each tick re-arms.
# On a loaded host a tick is now and then lost: the host timer is found
# disarmed while the guest waits for its next event, jiffies stop, and
# every sleeping task (nanosleep, timeouts) waits for ever while the idle
# loop spins (seen twice in the guest suite, the guest clock stuck for 25
# minutes).  A spurious SIGALRM only makes the guest handle its timers
# and re-arm the host timer, so send one to the UML kernel process every
# second: a lost tick then costs at most a second of guest time.  Only
# once UML catches SIGALRM (SigCgt bit 13): early in its boot the
# signal's default action would kill it.
alarm_caught() {
	cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$cgt" ] && [ $((0x$cgt & 0x2000)) -ne 0 ]
}
(
	kernel_pid=
	while kill -0 "$guest" 2>/dev/null; do
		sleep 1
		[ -n "$kernel_pid" ] ||
			kernel_pid=$(pgrep -P "$guest" -x linux || true)
		[ -n "$kernel_pid" ] && alarm_caught "$kernel_pid" &&
			kill -ALRM "$kernel_pid" 2>/dev/null
	done
) &
ticker=$!
wait "$guest" || rc=$?
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true

[ -f "$run/out" ] && cat "$run/out"
[ -n "$dmesg_copy" ] && [ -f "$run/dmesg" ] && cp "$run/dmesg" "$dmesg_copy"
if [ -f "$run/rc" ]; then
	exit "$(cat "$run/rc")"
fi
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "run-uml: guest killed after ${timeout}s" >&2
	tail -40 "$run/console" >&2
	exit 124
fi
echo "run-uml: guest stopped without an exit status (linux exit $rc)" >&2
tail -60 "$run/console" >&2
exit 125
