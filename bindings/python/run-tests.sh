#!/bin/sh
# Run the Python binding's pytest suite against the freshly built library.
# Exit status follows automake: 0 pass, 77 skip, anything else fail.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"

lib="$top_builddir/.libs/libztp.so"
[ -f "$lib" ] || die "$lib not built"

# A sanitizer-instrumented library needs its runtime preloaded into the
# uninstrumented interpreter; memory errors are then caught in the library
# as the binding drives it (leaks are left to the C suites).
. "$top_srcdir/bindings/sanitizers.sh"
ztp_san_detect "$lib"
case $ZTP_SAN in
tsan)
	skip "ThreadSanitizer build" ;;
asan)
	ztp_san_preload "$lib" ||
		skip "sanitizer runtime is not a shared library" ;;
esac

# Debian's interpreter and python3-pytest are what CI installs; fall back
# to the configured interpreter when it has pytest too.
py=
for cand in /usr/bin/python3 "${PYTHON3:-}"; do
	[ -n "$cand" ] || continue
	if "$cand" -c 'import pytest' >/dev/null 2>&1; then
		py=$cand
		break
	fi
done
[ -n "$py" ] || skip "no python3 with pytest (install python3-pytest)"

# The store tests also run on postgresql:// when the library has it, on a
# PostgreSQL server of their own (tests/pg.sh).
. "$top_srcdir/tests/pg.sh"
TEST_CLEANUP=pg_stop
test_tmpdir python-binding
pg_for_build "$top_builddir" "$T" || die "the test PostgreSQL did not start"

# Nothing may be written into the source tree (distcheck makes it
# read-only): no bytecode, no pytest cache, temp files under $T.
run_pytest() {
	ZTP_LIBRARY=$lib PYTHONDONTWRITEBYTECODE=1 TMPDIR=$T \
		"$@" -m pytest -p no:cacheprovider -q -rs \
		--basetemp="$T/pytest" "$top_srcdir/bindings/python/tests" \
		> "$T/pytest.out" 2>&1
	rc=$?
	cat "$T/pytest.out"
}

summary_ok() {
	last=$(grep -E '^[0-9]+ (passed|failed|skipped|error)' "$T/pytest.out" | tail -n 1)
	case $last in
	*failed* | *error*) return 1 ;;
	*passed*) return 0 ;;
	*) return 1 ;;
	esac
}

if [ "$ZTP_SAN" = asan ]; then
	# Leak check of the binding: every buffer the library hands out must
	# come back through ztp_free. LeakSanitizer also reports what the
	# interpreter never frees at exit, so only leaks allocated inside
	# libztp count (its frames are on the stack: it keeps frame pointers).
	mkdir "$T/lsan"
	run_pytest env LD_PRELOAD="$ZTP_SAN_PRELOAD" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$T/lsan/log" \
		"$py"
	if grep -l 'ERROR: AddressSanitizer' "$T"/lsan/log.* >/dev/null 2>&1; then
		cat "$T"/lsan/log.*
		die "AddressSanitizer error"
	fi
	if grep -l 'libztp' "$T"/lsan/log.* >/dev/null 2>&1; then
		cat "$T"/lsan/log.*
		die "memory allocated by libztp was never freed"
	fi
	if [ $rc -ne 0 ] && summary_ok &&
		grep -q 'ERROR: LeakSanitizer' "$T"/lsan/log.* 2>/dev/null; then
		# Only the interpreter's own leaks were reported.
		rc=0
	fi
else
	run_pytest "$py"
fi
case $rc in
0) ok "pytest" ;;
5) die "pytest collected no tests" ;;
*) die "pytest exited with $rc" ;;
esac
checks_done
