#!/bin/sh
# TAP: build the fuzzer, replay every image that once crashed fuse2fs
# (regress/*.gz), then fuzz from a seed corpus (seeds/*.gz, or a fresh
# one from make-seeds.sh).  Any sanitizer report, leak, time-out or
# crash fails; the input is left in crashes/.  Run from the build
# directory (make check, or make fuzz).
#
# With FUZZ_RUNS (make check) the campaign is reproducible: that many
# inputs, libFuzzer seed 1, from the kept seeds alone, so the same run
# passes or fails the same way every time (at most FUZZ_SECONDS).
# Without it (make fuzz) it runs FUZZ_SECONDS with a random seed and
# keeps what it finds worth keeping in corpus/ for the next run.
set -u
srcdir=${srcdir:-$(dirname "$0")}
seconds=${FUZZ_SECONDS:-150}
n=0

result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}

# unpack_gz SRCDIR DESTDIR: every SRCDIR/*.gz into DESTDIR, without the
# suffix.  Non-zero (and a TAP comment naming it) if one does not unpack.
unpack_gz() {
	status=0
	for z in "$1"/*.gz; do
		[ -e "$z" ] || continue
		gunzip -c "$z" >"$2/$(basename "$z" .gz)" || {
			echo "# cannot unpack $z"
			status=1
		}
	done
	return $status
}

echo "1..3"
if ! command -v clang >/dev/null 2>&1; then
	echo "# clang is missing: scripts/install-deps.sh installs it"
	result 1 "build the fuzzer"
	result 1 "regression images # SKIP no fuzzer"
	result 1 "fuzzing campaign # SKIP no fuzzer"
	exit 1
fi
rc=0
if [ -n "${FUZZ_MAKE:-}" ]; then
	$FUZZ_MAKE >fuzz-build.log 2>&1 || rc=$?
	[ $rc = 0 ] || sed 's/^/# /' fuzz-build.log | tail -40
fi
[ -x ./fuzz_fuse2fs ] || rc=1
result $rc "build the fuzzer (clang, libFuzzer, ASan, UBSan)"
if [ $rc != 0 ]; then
	result 1 "regression images # SKIP no fuzzer"
	result 1 "fuzzing campaign # SKIP no fuzzer"
	exit 1
fi

# Sanitizer reports end the run (libFuzzer's own -error_exitcode).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
opts="-timeout=30 -rss_limit_mb=3072 -max_len=4194304"

rm -rf regress.d
mkdir -p regress.d crashes corpus
unpack_gz "$srcdir/regress" regress.d
rc=0
count=$(ls regress.d | wc -l)
if [ "$count" -gt 0 ]; then
	# shellcheck disable=SC2086
	./fuzz_fuse2fs $opts -runs=1 regress.d/* >regress.log 2>&1 || rc=$?
	[ $rc = 0 ] || grep -E 'ERROR|SUMMARY|Running:|runtime error' \
		regress.log | head -40 | sed 's/^/# /'
fi
result $rc "$count regression images replay without a finding"

# The reproducible campaign starts from the corpus kept in seeds/*.gz:
# make-seeds.sh's images differ from one run to the next (UUIDs, times,
# the kernel's journal), and with them the inputs libFuzzer derives, so
# a fresh corpus made CI find a crash in one run and not the next.  The
# open-ended campaign makes a fresh corpus, to explore further.
rm -rf seeds
mkdir -p seeds
if [ -n "${FUZZ_RUNS:-}" ]; then
	unpack_gz "$srcdir/seeds" seeds || {
		result 1 "fuzzing campaign: cannot unpack the kept seeds"
		exit 1
	}
	[ -n "$(ls seeds)" ] || {
		result 1 "fuzzing campaign: no seed corpus in $srcdir/seeds"
		exit 1
	}
elif ! "$srcdir/make-seeds.sh" seeds >seeds.log 2>&1; then
	sed 's/^/# /' seeds.log
	result 1 "fuzzing campaign: no seed corpus"
	exit 1
fi
rc=0
if [ -n "${FUZZ_RUNS:-}" ]; then
	what="$FUZZ_RUNS inputs (seed 1)"
	mode="-runs=$FUZZ_RUNS -seed=1 seeds"
else
	what="$seconds s"
	mode="corpus seeds"
fi
# shellcheck disable=SC2086
./fuzz_fuse2fs $opts -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix=crashes/ $mode >fuzz.log 2>&1 || rc=$?
# The last status line: executions, coverage, features, corpus size.
grep -E '^#[0-9]+' fuzz.log | tail -1 | sed 's/^/# /'
grep -E '^stat::' fuzz.log | sed 's/^/# /'
if [ $rc != 0 ]; then
	grep -E -B2 -A30 'ERROR|runtime error|deadly signal|timeout' fuzz.log |
		head -80 | sed 's/^/# /'
	ls crashes | sed 's/^/# crash input: crashes\//'
fi
result $rc "fuzzing $what found nothing"
[ $rc = 0 ]
