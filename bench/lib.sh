# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers shared by the host bench (run-host.sh) and the guest bench
# (guest-bench.sh, which runs inside the UML guest).  Sourced, not run.
#
# One filesystem is mounted at a time.  Its state lives in these globals so
# that bench_cleanup can undo whatever is left after a failure:
#   BENCH_MNT       mount point in use ("" when nothing is mounted)
#   BENCH_SRV_PID   FUSE server of that mount ("" for kernel ext4)
#   BENCH_LOOP      loop device attached for kernel ext4 on an image file
#   BENCH_CHILD     the measured command running now (see bench_run)
# Every blocking step runs under timeout(1) so a stuck server cannot hang
# the run; a FUSE server that does not exit in time is killed.

BENCH_MNT=""
BENCH_SRV_PID=""
BENCH_LOOP=""
BENCH_DROP_WARNED=""
BENCH_CHILD=""
: "${BENCH_MOUNT_TIMEOUT:=20}"	# seconds for a mount to appear
: "${BENCH_UMOUNT_TIMEOUT:=120}"	# seconds for a server to flush and exit

# Messages go to the stderr the script started with, even from inside a
# step whose stderr is redirected to a file, and to BENCH_LOGFILE if set.
exec {BENCH_LOGFD}>&2
BENCH_LOGFILE=""

bench_log()
{
	local line

	line=$(printf '[bench %s] %s' "$(date -u +%H:%M:%S)" "$*")
	printf '%s\n' "$line" >&"$BENCH_LOGFD"
	if [ -n "$BENCH_LOGFILE" ]; then
		printf '%s\n' "$line" >> "$BENCH_LOGFILE"
	fi
	return 0
}

bench_die()
{
	bench_log "ERROR: $*"
	exit 1
}

# bench_run CMD...: run CMD in the background and wait for it.  bash runs
# a trap only after a foreground child ends, so a long fio in the
# foreground would make an interrupted run wait for it; wait(1) returns at
# once instead, and bench_cleanup stops the child.
bench_run()
{
	local rc

	"$@" &
	BENCH_CHILD=$!
	wait "$BENCH_CHILD"
	rc=$?
	BENCH_CHILD=""
	return $rc
}

# Stop a child process of this shell: SIGTERM, up to 5 s to exit, then
# SIGKILL; reap it either way so that no zombie or late writer is left.
bench_term_then_kill()
{
	local pid=$1

	kill -TERM "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

bench_stop_child()
{
	local pid=$BENCH_CHILD

	[ -n "$pid" ] || return 0
	BENCH_CHILD=""
	bench_term_then_kill "$pid"
}

# A python3 with the standard library: Debian's first, since a pyenv shim
# may point at an interpreter that is missing or broken in a fresh shell.
bench_python()
{
	local py

	for py in "${PYTHON:-}" /usr/bin/python3 python3; do
		[ -n "$py" ] || continue
		if command -v "$py" >/dev/null 2>&1 &&
		   "$py" -c 'import json, sys' >/dev/null 2>&1; then
			command -v "$py"
			return 0
		fi
	done
	return 1
}

# Is $1 a mount point right now?  Read mountinfo rather than stat the
# path: a stat on a hung FUSE mount would hang this check too.
bench_is_mounted()
{
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# Write back and drop the page, dentry and inode caches.  Needs root; say
# once if that is impossible so the numbers can be read accordingly.
bench_drop_caches()
{
	sync
	if ! (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
		if [ -z "$BENCH_DROP_WARNED" ]; then
			bench_log "warning: cannot drop caches (not root?); cold reads are not cold"
			BENCH_DROP_WARNED=1
		fi
		return 0
	fi
}

# bench_mount_fuse SERVER DEVICE MNT LOG [OPTIONS...]
# Start a FUSE server in the foreground (-f) in the background, so its pid
# is known, and wait until the mount appears or the server dies.
bench_mount_fuse()
{
	local server=$1 dev=$2 mnt=$3 srvlog=$4 waited=0
	shift 4

	"$server" "$dev" "$mnt" -f "$@" >>"$srvlog" 2>&1 &
	BENCH_SRV_PID=$!
	while ! bench_is_mounted "$mnt"; do
		if ! kill -0 "$BENCH_SRV_PID" 2>/dev/null; then
			wait "$BENCH_SRV_PID" 2>/dev/null
			bench_log "$server exited before mounting $mnt (exit $?); log: $srvlog"
			BENCH_SRV_PID=""
			return 1
		fi
		if [ "$waited" -ge $((BENCH_MOUNT_TIMEOUT * 10)) ]; then
			bench_log "$server did not mount $mnt within ${BENCH_MOUNT_TIMEOUT}s"
			bench_kill_server
			return 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	BENCH_MNT=$mnt
	return 0
}

bench_kill_server()
{
	local pid=$BENCH_SRV_PID

	[ -n "$pid" ] || return 0
	BENCH_SRV_PID=""
	bench_term_then_kill "$pid"
}

# Unmount a FUSE mount and wait for its server to finish writing the image
# and exit: the next mount (or fsck) must see everything it wrote.
bench_umount_fuse()
{
	local mnt=$1 pid=$BENCH_SRV_PID waited=0 rc=0

	if bench_is_mounted "$mnt" &&
	   ! timeout 30 umount "$mnt" 2>/dev/null &&
	   ! timeout 30 fusermount3 -u "$mnt" 2>/dev/null &&
	   ! timeout 30 fusermount -u "$mnt" 2>/dev/null; then
		bench_log "cannot unmount $mnt; killing its server"
		bench_kill_server
		umount -l "$mnt" 2>/dev/null
		BENCH_MNT=""
		return 1
	fi
	BENCH_MNT=""
	[ -n "$pid" ] || return 0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$waited" -ge $((BENCH_UMOUNT_TIMEOUT * 10)) ]; then
			bench_log "server $pid still running ${BENCH_UMOUNT_TIMEOUT}s after unmount; killing it"
			bench_kill_server
			return 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	wait "$pid" 2>/dev/null || rc=$?
	BENCH_SRV_PID=""
	if [ "$rc" -ne 0 ]; then
		bench_log "server exited with status $rc after unmount"
		return 1
	fi
	return 0
}

# bench_mount_ext4 DEVICE MNT: kernel ext4, through a loop device when
# DEVICE is an image file.  The loop device stays attached across remounts.
bench_mount_ext4()
{
	local dev=$1 mnt=$2

	if [ ! -b "$dev" ]; then
		if [ -z "$BENCH_LOOP" ]; then
			BENCH_LOOP=$(losetup -f --show "$dev") || {
				BENCH_LOOP=""
				bench_log "losetup $dev failed"
				return 1
			}
		fi
		dev=$BENCH_LOOP
	fi
	timeout "$BENCH_MOUNT_TIMEOUT" mount -t ext4 "$dev" "$mnt" || {
		bench_log "mount -t ext4 $dev $mnt failed"
		return 1
	}
	BENCH_MNT=$mnt
}

bench_umount_ext4()
{
	local mnt=$1

	if bench_is_mounted "$mnt" && ! timeout 120 umount "$mnt"; then
		bench_log "cannot unmount $mnt; lazy unmount"
		umount -l "$mnt" 2>/dev/null
		BENCH_MNT=""
		return 1
	fi
	BENCH_MNT=""
}

bench_detach_loop()
{
	[ -n "$BENCH_LOOP" ] || return 0
	losetup -d "$BENCH_LOOP" 2>/dev/null ||
		bench_log "warning: could not detach $BENCH_LOOP"
	BENCH_LOOP=""
}

# Undo whatever is still mounted or attached.  Safe to call repeatedly.
bench_cleanup()
{
	bench_stop_child
	if [ -n "$BENCH_MNT" ]; then
		if [ -n "$BENCH_SRV_PID" ]; then
			bench_umount_fuse "$BENCH_MNT" ||
				bench_kill_server
		else
			bench_umount_ext4 "$BENCH_MNT"
		fi
	fi
	bench_kill_server
	bench_detach_loop
}

# bench_mkfs DEVICE SIZE: a fresh ext4 with mke2fs's defaults.  Inode
# tables and journal are written now, so no lazy-init thread runs during
# the measurements.  No discard: on the guest's ubd device (and a loop
# device) a discard punches the image file on the host, and the next
# write of each block then pays the host's allocation of that page, a
# cost of the rig that lands wherever an allocator happens to put data.
# SIZE is ignored for a block device.
bench_mkfs()
{
	local dev=$1 size=$2

	if [ ! -b "$dev" ]; then
		rm -f "$dev"
		truncate -s "$size" "$dev" || return 1
	fi
	mke2fs -t ext4 -F -q \
		-E lazy_itable_init=0,lazy_journal_init=0,nodiscard \
		"$dev" >/dev/null
}

# Did timeout(1) end the command with this exit status?
bench_timed_out()
{
	[ "$1" -eq 124 ] || [ "$1" -eq 137 ]
}

# bench_fio JOBFILE OUTPUT.json TIMEOUT: run one job file; fio reads its
# parameters from the BENCH_* variables in the environment.  Returns 0, 1
# when fio failed, or 2 when it had to be killed: the filesystem under it
# is probably stuck, and the caller should give up on it.
bench_fio()
{
	local job=$1 out=$2 limit=$3

	local rc

	bench_run timeout -k 10 "$limit" fio --output-format=json \
		--output="$out" "$job" >/dev/null 2>"$out.stderr"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		bench_log "fio $(basename "$job") failed (exit $rc): $(tail -n 3 "$out.stderr" 2>/dev/null | tr '\n' ' ')"
		mv -f "$out" "$out.failed" 2>/dev/null
		bench_timed_out "$rc" && return 2
		return 1
	fi
	[ -s "$out.stderr" ] || rm -f "$out.stderr"
	return 0
}
