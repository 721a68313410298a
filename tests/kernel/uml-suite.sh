#!/bin/sh
# TAP: the tests/kernel programs, run inside the patched UML kernel.
#
# Builds the kernel through kernel/scripts/build-uml.sh (or finds it in the
# cache), boots it with kernel/scripts/run-uml.sh and runs every program
# listed in $KT_GUEST_TESTS in the guest, then turns their TAP outputs
# into one stream: results renumbered and prefixed with the program name,
# a program that stopped early or failed without saying so reported as a
# failure, and so is one that left anything behind (see guest-tests.sh).
# Two checks of its own close each guest's part of the stream: the guest
# run itself, and the guest kernel log free of oopses and warnings.
# A kernel that cannot be built is one failed test, never a pass.
#
# UML runs a guest on one host CPU.  KT_GUEST_ALONE lists entries
# PROGRAM:VARIANT (one variant of a program's tests) that each get a guest
# of their own, booted at the same time as the one running the rest, so
# that long runs use the other CPUs; an entry whose program is not in
# $KT_GUEST_TESTS is left out.  Each guest has its own scratch device and
# kernel log.
# KT_GUEST_TIMEOUT (seconds, default 600) limits each guest's run;
# KT_TEST_TIMEOUT, KT_EXERCISER_OPS and KT_EXERCISER are passed on to the
# guests.
set -u

srcdir=${srcdir:-$(dirname "$0")}
top_srcdir=$(cd "$srcdir/../.." && pwd)
builddir=$(pwd)
tests=${KT_GUEST_TESTS:-}
log=$builddir/uml-suite.log.d
rm -rf "$log"
mkdir -p "$log"

if ! linux=$("$top_srcdir/kernel/scripts/build-uml.sh" 2>"$log/build.log"); then
	echo "1..1"
	echo "not ok 1 - build the patched UML kernel"
	tail -30 "$log/build.log" | sed 's/^/# /'
	exit 1
fi

# The lanes: each KT_GUEST_ALONE entry of a listed program alone, then
# the rest (programs split into entries run nothing else).
alone=
rest=
for t in $tests; do
	split=
	for a in ${KT_GUEST_ALONE:-}; do
		[ "${a%%:*}" = "$t" ] || continue
		alone="$alone $a"
		split=1
	done
	[ -n "$split" ] || rest="$rest $t"
done

# One guest: its output in $log/$1.out, its exit status in $log/$1.rc.
# The guests of KT_GUEST_ALONE entries run at a lower CPU priority: the
# rest keeps about the CPU it had alone, so that the harness's per-test
# time limits mean what they meant, and the long runs take what is left.
guest() {
	name=$1
	shift
	rc=0
	prio=
	[ "$name" = guest ] || prio="nice -n 10"
	$prio "$top_srcdir/kernel/scripts/run-uml.sh" -k "$linux" \
		-t "${KT_GUEST_TIMEOUT:-600}" -m 1G -s 4G -l "$log/$name.dmesg" -- \
		env KT_TEST_TIMEOUT="${KT_TEST_TIMEOUT:-300}" \
		${KT_EXERCISER_OPS:+KT_EXERCISER_OPS="$KT_EXERCISER_OPS"} \
		${KT_EXERCISER:+KT_EXERCISER="$KT_EXERCISER"} \
		sh "$srcdir/guest-tests.sh" "$builddir" "$@" >"$log/$name.out" 2>&1 ||
		rc=$?
	echo "$rc" >"$log/$name.rc"
}

lanes=
for a in $alone; do
	lanes="$lanes $a"
	guest "$a" "$a" &
done
# With every program split into entries, the rest has nothing to run.
if [ -n "$rest" ] || [ -z "$alone" ]; then
	lanes="guest $lanes"
	guest guest $rest &
fi
wait

# The guests' outputs in turn, each framed with its name, exit status
# and kernel log.
for l in $lanes; do
	echo "@@@ guest $l $(cat "$log/$l.rc") $log/$l.dmesg"
	cat "$log/$l.out"
	echo "@@@ guest-end"
done >"$log/merged.out"

awk '
function result(ok, text) {
	n++
	print (ok ? "ok " : "not ok ") n " - " text
}
/^@@@ guest / {
	lane = $3 == "guest" ? "guest" : "guest of " $3
	guest_rc = $4
	dmesg = $5
	next
}
/^@@@ kernel / { print "# guest kernel " $3; next }
/^@@@ begin / { prog = $3; seen = 0; planned = -1; bad = 0; inprog = 1; next }
/^@@@ end / {
	if (planned < 0 || seen < planned)
		result(0, prog ": stopped after " seen " of " planned \
		       " results (exit status " $4 ")")
	else if ($4 != 0 && !bad)
		result(0, prog ": exit status " $4 " with every test passing")
	inprog = 0
	next
}
/^@@@ leftover / {
	result(0, $3 ": left " $4 " processes, mounts, connections or " \
	       "loop devices behind (removed before the next program)")
	next
}
inprog && /^1\.\.[0-9]+/ { planned = substr($1, 4) + 0; next }
inprog && /^(not )?ok [0-9]+/ {
	ok = ($1 == "ok")
	line = $0
	sub(/^(not )?ok [0-9]+ *(- )?/, "", line)
	seen++
	if (!ok)
		bad++
	result(ok, prog ": " line)
	next
}
/^@@@ guest-end/ {
	result(guest_rc == 0, lane " run finished (run-uml.sh exit status " \
	       guest_rc ")")
	clean = 1
	if ((r = getline l < dmesg) <= 0) {
		print "# no " lane " kernel log"
		clean = 0
	}
	for (; r > 0; r = getline l < dmesg)
		if (l ~ /(BUG|WARNING|Oops|Kernel panic|general protection|UBSAN|KASAN|circular locking|recursive locking|inconsistent lock state|blocked for more than)/) {
			print "# dmesg: " l
			clean = 0
		}
	close(dmesg)
	result(clean, lane " kernel log has no BUG, WARNING or Oops")
	next
}
/^TAP version/ { next }
/^#/ { print; next }
{ print "# " $0 }
END { print "1.." n }' "$log/merged.out"
