#!/bin/sh
# Runs inside the UML guest (started by uml-suite.sh): each test program
# in turn, its TAP output framed by markers that the host side merges
# into one stream.  usage: guest-tests.sh BUILDDIR PROGRAM[:VARIANT]...
# PROGRAM:VARIANT runs only that variant of the program's tests (the
# harness's -v).  KT_TEST_TIMEOUT: seconds each program may run (default
# 300).
#
# Between programs the guest is made clean again: a program that failed
# with a file open, or was killed with its server running, leaves a mount
# that holds the scratch device, and every program after it would fail at
# mkfs or device registration.  Whatever a program left (FUSE connections,
# processes, mounts, loop devices) is aborted, killed, detached, listed as
# comments and counted on an "@@@ leftover PROGRAM N" line (a failure).
cd "$1" || exit 1
shift
snap=${TMPDIR:-/tmp}/guest-tests.$$
mkdir -p "$snap" || exit 1

# User processes (not kernel threads): "pid (comm) state" lines.  Called
# with its output redirected, the shell runs it without forking.
user_procs() {
	for s in /proc/[0-9]*/stat; do
		read -r pid comm state ppid _ 2>/dev/null <"$s" || continue
		[ "$pid" = 2 ] || [ "$ppid" = 2 ] || echo "$pid $comm $state"
	done
}

snapshot() {
	user_procs >"$snap/procs"
	cut -d' ' -f1 "$snap/procs" >"$snap/pids"
	cut -d' ' -f5 /proc/self/mountinfo >"$snap/mounts"
	ls /sys/fs/fuse/connections >"$snap/conns" 2>/dev/null
	losetup -n -O NAME -l >"$snap/loops" 2>/dev/null
}

# Lines of the standard input that the snapshot file $1 does not have.
new_since() {
	grep -vxF -f "$snap/$1"
}

cleanup() {
	left=0
	for c in $(ls /sys/fs/fuse/connections 2>/dev/null | new_since conns); do
		echo "# $1 left FUSE connection $c: aborted"
		echo 1 >"/sys/fs/fuse/connections/$c/abort"
		left=$((left + 1))
	done
	user_procs >"$snap/procs"
	pids=$(grep -v ' Z$' "$snap/procs" | cut -d' ' -f1 | grep -vx "$$" |
	       new_since pids)
	for p in $pids; do
		echo "# $1 left process $(grep "^$p " "$snap/procs"): killed"
		left=$((left + 1))
	done
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null
	for i in $(seq 50); do
		user_procs >"$snap/procs"
		alive=$(grep -v ' Z$' "$snap/procs" | cut -d' ' -f1 |
			grep -xF "$pids")
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for m in $(cut -d' ' -f5 /proc/self/mountinfo | new_since mounts | tac); do
		echo "# $1 left mount $m: detached"
		umount -l "$m"
		left=$((left + 1))
	done
	for l in $(losetup -n -O NAME -l 2>/dev/null | new_since loops); do
		echo "# $1 left loop device $l: detached"
		losetup -d "$l"
		left=$((left + 1))
	done
	[ "$left" -eq 0 ] || echo "@@@ leftover $1 $left"
}

echo "@@@ kernel $(uname -r)"
# tracefs is the guest's, shared by all programs (kt_trace_start)
[ -e /sys/kernel/tracing/trace ] ||
	mount -t tracefs tracefs /sys/kernel/tracing
for entry in "$@"; do
	t=${entry%%:*}
	only=
	[ "$t" = "$entry" ] || only="-v ${entry#*:}"
	snapshot
	echo "@@@ begin $t"
	timeout -k 5 "${KT_TEST_TIMEOUT:-300}" "./$t" $only 2>&1
	echo "@@@ end $t $?"
	cleanup "$t"
done
rm -rf "$snap"
