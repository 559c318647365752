#!/bin/sh
# libztp — probe for libFuzzer and run the fuzz smoke test.
#
#   smoke.sh probe CC BUILDDIR
#       exit 0 if CC links -fsanitize=fuzzer,address,undefined, else print
#       why and exit 1 (the make rules then skip, successfully).
#   smoke.sh run CC BUILDDIR SRCDIR SECONDS JOBS PARALLEL TARGET...
#       (JOBS > 1 fuzzes each target in libFuzzer's fork mode; PARALLEL
#       targets run at once, each in its own process)
#       for each target: replay its corpus (every committed input must run
#       clean), then fuzz for SECONDS from that corpus with its dictionary.
#       Any crash, leak, timeout or out-of-memory fails the run; the
#       reproducer is left in BUILDDIR/artifacts/.
# SPDX-License-Identifier: Apache-2.0
set -u

probe() {
	cc=$1
	dir=$2
	mkdir -p "$dir" || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' >"$dir/probe.c"
	if ! $cc -fsanitize=fuzzer,address,undefined "$dir/probe.c" \
		-o "$dir/probe" >"$dir/probe.log" 2>&1; then
		echo "fuzz: SKIP: '$cc' cannot link -fsanitize=fuzzer" \
			"(install clang, or set FUZZ_CC)"
		return 1
	fi
	return 0
}

mode=${1:-}
case $mode in
probe)
	probe "$2" "$3"
	exit $?
	;;
run) ;;
*)
	echo "usage: $0 probe|run ..." >&2
	exit 2
	;;
esac

cc=$2
build=$3
src=$4
seconds=$5
jobs=$6
parallel=$7
shift 7

probe "$cc" "$build" || exit 0

mkdir -p "$build/logs" "$build/artifacts" "$build/work" || exit 1
# More than one job: libFuzzer's fork mode, which survives and reports
# every crash instead of stopping at the first.
fork=
test "$jobs" -gt 1 2>/dev/null && fork="-fork=$jobs -ignore_crashes=0"
test "$parallel" -ge 1 2>/dev/null || parallel=1

# fuzz_one TARGET: replay, then fuzz; what it reports goes to
# logs/TARGET.out, its summary line to logs/TARGET.sum (absent: failed).
fuzz_one() {
	t=$1
	bin=$build/fuzz_$t
	corpus=$src/corpus/$t
	work=$build/work/$t
	log=$build/logs/$t.log
	out=$build/logs/$t.out
	rm -f "$build/logs/$t.sum"
	: >"$out"
	dict=
	test -f "$src/$t.dict" && dict=-dict=$src/$t.dict
	if ! test -x "$bin"; then
		echo "fuzz: $t: $bin was not built" >>"$out"
		return 1
	fi
	if ! test -d "$corpus"; then
		echo "fuzz: $t: no seed corpus at $corpus" >>"$out"
		return 1
	fi
	rm -rf "$work"
	mkdir -p "$work"
	opts="-rss_limit_mb=2048 -timeout=10 -malloc_limit_mb=2048
		-artifact_prefix=$build/artifacts/$t- -print_final_stats=1"

	# Replay: every committed input, alone, with no mutation.
	# shellcheck disable=SC2086
	if ! "$bin" $opts -runs=0 "$corpus" >"$log.replay" 2>&1; then
		{
			echo "fuzz: $t: FAIL replaying the corpus (see $log.replay)"
			tail -n 30 "$log.replay"
		} >>"$out"
		return 1
	fi
	# Fuzz from the corpus; new inputs go to the scratch directory so
	# the source tree is never written.
	# shellcheck disable=SC2086
	if ! "$bin" $opts $dict -max_total_time="$seconds" $fork \
		"$work" "$corpus" \
		>"$log" 2>&1; then
		{
			echo "fuzz: $t: FAIL (see $log; reproducer in" \
				"$build/artifacts)"
			grep -A 30 'ERROR: \|invariant failed\|runtime error' \
				"$log" | head -n 60
		} >>"$out"
		return 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		awk '{ s += $1 } END { print s + 0 }')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	echo "$t: $execs executions, $cov, ${seconds}s" >"$build/logs/$t.sum"
	echo "fuzz: $t: ok ($execs executions in ${seconds}s, $cov)" >>"$out"
	return 0
}

# Targets in batches of PARALLEL, reported in the order given.
failed=
summary=
while test $# -gt 0; do
	batch=
	n=0
	while test $# -gt 0 && test "$n" -lt "$parallel"; do
		batch="$batch $1"
		fuzz_one "$1" &
		shift
		n=$((n + 1))
	done
	wait
	for t in $batch; do
		cat "$build/logs/$t.out"
		if test -f "$build/logs/$t.sum"; then
			summary="$summary$(cat "$build/logs/$t.sum")
"
		else
			failed="$failed $t"
		fi
	done
done

printf '\nfuzz smoke summary\n%s' "$summary"
if test -n "$failed"; then
	echo "fuzz: FAILED:$failed"
	exit 1
fi
exit 0
