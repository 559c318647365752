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

# A sanitizer-instrumented library cannot be loaded into an uninstrumented
# interpreter (the ASan runtime must come first); the C suites cover those
# builds.
if [ "${ZTP_SANITIZERS:-0}" = 1 ] ||
	ldd "$lib" 2>/dev/null | grep -Eq 'lib(a|t|ub)san'; then
	echo "SKIP: sanitizer build"
	exit 77
fi

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
trap 'rm -rf "$tmp"' EXIT INT TERM

# Nothing may be written into the source tree (distcheck makes it
# read-only): no bytecode, no pytest cache, temp files under $tmp.
ZTP_LIBRARY=$lib PYTHONDONTWRITEBYTECODE=1 TMPDIR=$tmp \
	"$py" -m pytest -p no:cacheprovider -q -rs \
	--basetemp="$tmp/pytest" "$top_srcdir/bindings/python/tests"
rc=$?
case $rc in
0) exit 0 ;;
5) echo "FAIL: pytest collected no tests"; exit 1 ;;
*) exit 1 ;;
esac
