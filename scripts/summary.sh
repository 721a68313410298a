#!/usr/bin/env bash
# Add up automake's per-directory test-suite.log headers into one line:
# "N passed, N failed, N skipped".  A directory whose log is missing after a
# failed `make check` counts as one failure, so a broken build never reads
# as green.
set -uo pipefail
build=$1
make_status=${2:-0}
pass=0 fail=0 skip=0
found=0
while IFS= read -r log; do
	found=$((found + 1))
	get() { awk -v k="# $1:" '$1" "$2 == k || $1 == k { print $NF; exit }' "$log"; }
	p=$(get PASS) f=$(get FAIL) e=$(get ERROR) x=$(get XPASS) s=$(get SKIP)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0}))
	skip=$((skip + ${s:-0}))
done < <(find "$build/tests" -name test-suite.log 2>/dev/null | sort)
if [ "$make_status" -ne 0 ] && [ "$fail" -eq 0 ]; then
	fail=1
	echo "summary: make check failed outside the test programs (build error?)" >&2
fi
if [ "$found" -eq 0 ] && [ "$fail" -eq 0 ]; then
	fail=1
	echo "summary: no test-suite.log found" >&2
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
