#!/bin/sh
# TAP: every patch of the kernel series (and of the UML test-bed fixes)
# passes scripts/checkpatch.pl --strict, through kernel/scripts/checkpatch.sh
# so the ignored message types and their reasons live in one place.
set -u

srcdir=${srcdir:-$(dirname "$0")}
top=$(cd "$srcdir/../.." && pwd)
out=$(sh "$top/kernel/scripts/checkpatch.sh" 2>&1)
status=$?
n=$(printf '%s\n' "$out" | grep -c '^\(ok\|FAIL\): ')
if [ "$n" -eq 0 ]; then
	echo "1..1"
	echo "not ok 1 - checkpatch.sh checked no patch (status $status)"
	printf '%s\n' "$out" | sed 's/^/# /'
	exit 1
fi
echo "1..$n"
i=0
printf '%s\n' "$out" | while IFS= read -r line; do
	case $line in
	"ok: "*) i=$((i + 1)); echo "ok $i - checkpatch ${line#ok: }" ;;
	"FAIL: "*) i=$((i + 1)); echo "not ok $i - checkpatch ${line#FAIL: }" ;;
	*) echo "# $line" ;;
	esac
done
exit 0
