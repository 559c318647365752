#!/bin/sh
# Run the Go binding's tests (go test) against the freshly built library.
# Exit status follows automake: 0 pass, 77 skip, anything else fail.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

lib="$top_builddir/.libs/libztp.so"
if [ ! -f "$lib" ]; then
	echo "FAIL: $lib not built"
	exit 1
fi
# cgo links an uninstrumented program against the library: a sanitizer
# build cannot be loaded that way; the C suites cover those builds.
if [ "${ZTP_SANITIZERS:-0}" = 1 ] ||
	ldd "$lib" 2>/dev/null | grep -Eq 'lib(a|t|ub)san'; then
	echo "SKIP: sanitizer build"
	exit 77
fi
if ! command -v go >/dev/null 2>&1; then
	echo "SKIP: no Go toolchain (install golang-go)"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

. "$top_srcdir/bindings/go/goenv.sh"
ztp_go_env "$tmp"

cd "$top_srcdir/bindings/go" || exit 1
go vet ./ztp || exit 1
go test -count=1 -v ./ztp > "$tmp/test.log" 2>&1
rc=$?
cat "$tmp/test.log"
if [ $rc -ne 0 ]; then
	exit 1
fi
if ! grep -q '^--- PASS' "$tmp/test.log"; then
	echo "FAIL: go test ran no tests"
	exit 1
fi
exit 0
