#!/bin/sh
# TAP: the tests/kernel programs, run inside the patched UML kernel.
#
# Builds the kernel through kernel/scripts/build-uml.sh (or finds it in the
# cache), boots it once with kernel/scripts/run-uml.sh and runs every
# program listed in $KT_GUEST_TESTS in the guest, then turns their TAP
# outputs into one stream: results renumbered and prefixed with the
# program name, a program that stopped early or failed without saying so
# reported as a failure, and so is one that left anything behind (see
# guest-tests.sh).  Two checks of its own close the stream: the guest run
# itself, and the guest kernel log free of oopses and warnings.
# A kernel that cannot be built is one failed test, never a pass.
# KT_GUEST_TIMEOUT (seconds, default 600) limits the whole guest run;
# KT_TEST_TIMEOUT and KT_EXERCISER_OPS are passed on to the guest.
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

rc=0
"$top_srcdir/kernel/scripts/run-uml.sh" -k "$linux" \
	-t "${KT_GUEST_TIMEOUT:-600}" -m 1G -s 4G -l "$log/dmesg" -- \
	env KT_TEST_TIMEOUT="${KT_TEST_TIMEOUT:-300}" \
	${KT_EXERCISER_OPS:+KT_EXERCISER_OPS="$KT_EXERCISER_OPS"} \
	sh "$srcdir/guest-tests.sh" "$builddir" $tests >"$log/guest.out" 2>&1 ||
	rc=$?

awk -v guest_rc="$rc" -v dmesg="$log/dmesg" '
function result(ok, text) {
	n++
	print (ok ? "ok " : "not ok ") n " - " text
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
/^TAP version/ { next }
/^#/ { print; next }
{ print "# " $0 }
END {
	result(guest_rc == 0, "guest run finished (run-uml.sh exit status " \
	       guest_rc ")")
	clean = 1
	if ((r = getline l < dmesg) <= 0) {
		print "# no guest kernel log"
		clean = 0
	}
	for (; r > 0; r = getline l < dmesg)
		if (l ~ /(BUG|WARNING|Oops|Kernel panic|general protection|UBSAN|KASAN|circular locking|recursive locking|inconsistent lock state|blocked for more than)/) {
			print "# dmesg: " l
			clean = 0
		}
	result(clean, "guest kernel log has no BUG, WARNING or Oops")
	print "1.." n
}' "$log/guest.out"
