#!/bin/sh
# PID 1 of the UML test guest (see run-uml.sh).  The guest's root is the
# host's / through hostfs.  Mount what programs expect, run the command
# the host left in $UML_RUN_DIR/cmd, record its exit status and the
# kernel log there, and power off: init must never exit.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# Guest-private scratch space.  /tmp stays the host's: build trees and
# test binaries may live there, and a tmpfs over it would hide them.
mount -t tmpfs tmpfs /run
mkdir -p /run/tmp /run/mount
export TMPDIR=/run/tmp
[ -d /sys/fs/fuse/connections ] &&
	mount -t fusectl fusectl /sys/fs/fuse/connections
ulimit -c 0
hostname uml-guest

run=$UML_RUN_DIR
cd "${UML_RUN_CWD:-/}" || cd /
echo "guest: running $run/cmd" >/dev/console
sh "$run/cmd" >"$run/out" 2>&1 </dev/null
echo $? >"$run/rc.tmp"
dmesg >"$run/dmesg" 2>/dev/null
mv "$run/rc.tmp" "$run/rc"
sync
# No poweroff binary on every host: the magic SysRq "o" powers off too.
poweroff -f 2>/dev/null
echo o >/proc/sysrq-trigger
sleep 10
