#!/bin/sh
# Run the Python binding's pytest suite against the freshly built library.
# Exit status follows automake: 0 pass, 77 skip, anything else fail.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

lib="$top_builddir/.libs/libztp.so"
if [ ! -f "$lib" ]; then
	echo "FAIL: $lib not built"
	exit 1
fi

# A sanitizer-instrumented library needs its runtime preloaded into the
# uninstrumented interpreter; memory errors are then caught in the library
# as the binding drives it (leaks are left to the C suites).
. "$top_srcdir/bindings/sanitizers.sh"
ztp_san_detect "$lib"
case $ZTP_SAN in
tsan)
	echo "SKIP: ThreadSanitizer build"
	exit 77 ;;
asan)
	if ! ztp_san_preload "$lib"; then
		echo "SKIP: sanitizer runtime is not a shared library"
		exit 77
	fi ;;
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
if [ -z "$py" ]; then
	echo "SKIP: no python3 with pytest (install python3-pytest)"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
# The store tests also run on postgresql:// when the library has it, on a
# PostgreSQL server of their own (tests/pg.sh).
. "$top_srcdir/tests/pg.sh"
trap 'pg_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if ! pg_for_build "$top_builddir" "$tmp"; then
	echo "FAIL: the test PostgreSQL did not start"
	exit 1
fi

# Nothing may be written into the source tree (distcheck makes it
# read-only): no bytecode, no pytest cache, temp files under $tmp.
run_pytest() {
	ZTP_LIBRARY=$lib PYTHONDONTWRITEBYTECODE=1 TMPDIR=$tmp \
		"$@" -m pytest -p no:cacheprovider -q -rs \
		--basetemp="$tmp/pytest" "$top_srcdir/bindings/python/tests" \
		> "$tmp/pytest.out" 2>&1
	rc=$?
	cat "$tmp/pytest.out"
}

summary_ok() {
	last=$(grep -E '^[0-9]+ (passed|failed|skipped|error)' "$tmp/pytest.out" | tail -n 1)
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
	mkdir "$tmp/lsan"
	run_pytest env LD_PRELOAD="$ZTP_SAN_PRELOAD" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$tmp/lsan/log" \
		"$py"
	if grep -l 'ERROR: AddressSanitizer' "$tmp"/lsan/log.* >/dev/null 2>&1; then
		cat "$tmp"/lsan/log.*
		echo "FAIL: AddressSanitizer error"
		exit 1
	fi
	if grep -l 'libztp' "$tmp"/lsan/log.* >/dev/null 2>&1; then
		cat "$tmp"/lsan/log.*
		echo "FAIL: memory allocated by libztp was never freed"
		exit 1
	fi
	if [ $rc -ne 0 ] && summary_ok &&
		grep -q 'ERROR: LeakSanitizer' "$tmp"/lsan/log.* 2>/dev/null; then
		# Only the interpreter's own leaks were reported.
		rc=0
	fi
else
	run_pytest "$py"
fi
case $rc in
0) exit 0 ;;
5) echo "FAIL: pytest collected no tests"; exit 1 ;;
*) exit 1 ;;
esac
