#!/bin/sh
# TAP: the series' kselftest (tools/testing/selftests/filesystems/fuse, the
# last patch) as a kernel developer runs it:
#
#	make -C tools/testing/selftests TARGETS=filesystems/fuse run_tests
#
# The selftests of the patched tree that kernel/scripts/build-uml.sh keeps
# are copied under its build lock, once the tree holds exactly this
# series; they are built on the host (the project's include/ stands in for
# the tree's uapi headers: fuse_iomap.h is byte-identical, checked by
# header-identical.sh) and run by make inside the UML guest.
set -u

srcdir=${srcdir:-$(dirname "$0")}
top_srcdir=$(cd "$srcdir/../.." && pwd)
builddir=$(pwd)
cache=${FUSE_IOMAP_CACHE:-/var/cache/fuse-iomap}
ks=$builddir/kselftest.d
log=$ks/steps.log
sel=tools/testing/selftests
rm -rf "$ks"
mkdir -p "$ks"

echo "1..3"
failed=0
result() {	# N OK TEXT
	if [ "$2" = 0 ]; then
		echo "ok $1 - $3"
	else
		echo "not ok $1 - $3"
		tail -30 "$log" | sed 's/^/# /'
		failed=1
	fi
}

# Whether the shared tree holds exactly our series (and nothing else of ours).
tree_has_our_series() {
	grep -v '^[[:space:]]*\(#\|$\)' "$top_srcdir/kernel/patches/series" |
	while read -r p; do
		cmp -s "$top_srcdir/kernel/patches/$p" \
			"$cache/uml/tree/applied/$p" || exit 1
	done
}

copy_selftests() {
	linux=$("$top_srcdir/kernel/scripts/build-uml.sh" 2>>"$log") || return 1
	(
		flock 9 || exit 1
		tree_has_our_series || exit 2
		cd "$cache/uml/tree/linux" &&
		tar -cf "$ks/selftests.tar" scripts/subarch.include \
			"$sel/Makefile" "$sel/lib.mk" "$sel/kselftest.h" \
			"$sel/kselftest_harness.h" "$sel/kselftest" \
			"$sel/filesystems/fuse"
	) 9>"$cache/uml/.lock" && tar -xf "$ks/selftests.tar" -C "$ks"
}

# Another series may be built between build-uml.sh and the copy: retry.
rc=1
for try in 1 2 3; do
	copy_selftests && { rc=0; break; }
	echo "copy attempt $try failed" >>"$log"
done
result 1 $rc "the selftests of the patched tree (filesystems/fuse)"

rc=1
if [ -d "$ks/$sel/filesystems/fuse" ]; then
	make -C "$ks/$sel" TARGETS=filesystems/fuse \
		KHDR_INCLUDES="-isystem $top_srcdir/include" >>"$log" 2>&1
	rc=$?
fi
result 2 $rc "build with make -C $sel TARGETS=filesystems/fuse"

rc=1
if [ "$failed" = 0 ]; then
	"$top_srcdir/kernel/scripts/run-uml.sh" -k "$linux" -t 300 -m 1G \
		-s 1G -- make -C "$ks/$sel" TARGETS=filesystems/fuse \
		KHDR_INCLUDES="-isystem $top_srcdir/include" run_tests \
		>"$ks/run.out" 2>&1
	rc=$?
	sed 's/^/# /' "$ks/run.out"
	# make's exit status does not carry the tests' results
	if [ $rc = 0 ] && ! grep -q '^not ok' "$ks/run.out" &&
	   grep -q '^ok 1 selftests: filesystems/fuse: fuse_iomap_test' \
		"$ks/run.out"; then
		rc=0
	else
		rc=1
	fi
	cat "$ks/run.out" >>"$log"
fi
result 3 $rc "make run_tests in the guest"
exit 0
