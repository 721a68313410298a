#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every
# suite through automake's TAP driver (`make check`), and end with
# "N passed, N failed, N skipped".  Needs root (mounts, loop devices, UML).
set -uo pipefail
top=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$top/build}

"$top/scripts/install-deps.sh" || exit 1
BUILD_DIR=$build "$top/scripts/build.sh" || {
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
cd "$build"
status=0
make -k check || status=$?
# Show the logs of whatever failed, for the CI transcript.
for log in $(find tests -name '*.log' ! -name test-suite.log | sort); do
	trs=${log%.log}.trs
	if [ -f "$trs" ] && grep -q '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs"; then
		echo "===== $log"
		tail -n 80 "$log"
	fi
done
"$top/scripts/summary.sh" "$build" "$status"
