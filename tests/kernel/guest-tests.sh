#!/bin/sh
# Runs inside the UML guest (started by uml-suite.sh): each test program
# in turn, its TAP output framed by markers that the host side merges
# into one stream.  usage: guest-tests.sh BUILDDIR PROGRAM...
# KT_TEST_TIMEOUT: seconds each program may run (default 300).
cd "$1" || exit 1
shift
echo "@@@ kernel $(uname -r)"
for t in "$@"; do
	echo "@@@ begin $t"
	timeout -k 5 "${KT_TEST_TIMEOUT:-300}" "./$t" 2>&1
	echo "@@@ end $t $?"
done
