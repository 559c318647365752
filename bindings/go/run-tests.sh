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
# Against an ASan build the test program is built with -asan, so that the
# Go runtime and the library share one ASan runtime. (Leaks are not
# reported: a Go program exits without running LSan.)
. "$top_srcdir/bindings/sanitizers.sh"
ztp_san_detect "$lib"
goflags=
case $ZTP_SAN in
tsan)
	echo "SKIP: ThreadSanitizer build"
	exit 77 ;;
asan)
	goflags=-asan
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS ;;
esac
if ! command -v go >/dev/null 2>&1; then
	echo "SKIP: no Go toolchain (install golang-go)"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
# The store tests also run on postgresql:// when the library has it, on a
# PostgreSQL server of their own (tests/pg.sh).
. "$top_srcdir/tests/pg.sh"
trap 'pg_stop; chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if ! pg_for_build "$top_builddir" "$tmp"; then
	echo "FAIL: the test PostgreSQL did not start"
	exit 1
fi

. "$top_srcdir/bindings/go/goenv.sh"
ztp_go_env "$tmp"

cd "$top_srcdir/bindings/go" || exit 1
go vet ./ztp || exit 1
go test $goflags -count=1 -v ./ztp > "$tmp/test.log" 2>&1
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
