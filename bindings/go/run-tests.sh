#!/bin/sh
# Run the Go binding's tests (go test) against the freshly built library.
# Exit status follows automake: 0 pass, 77 skip, anything else fail.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"

lib="$top_builddir/.libs/libztp.so"
[ -f "$lib" ] || die "$lib not built"
# Against an ASan build the test program is built with -asan, so that the
# Go runtime and the library share one ASan runtime. (Leaks are not
# reported: a Go program exits without running LSan.)
. "$top_srcdir/bindings/sanitizers.sh"
ztp_san_detect "$lib"
goflags=
case $ZTP_SAN in
tsan)
	skip "ThreadSanitizer build" ;;
asan)
	goflags=-asan
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS ;;
esac
command -v go >/dev/null 2>&1 || skip "no Go toolchain (install golang-go)"

# The store tests also run on postgresql:// when the library has it, on a
# PostgreSQL server of their own (tests/pg.sh).
. "$top_srcdir/tests/pg.sh"
# The Go module cache is read-only: make it removable.
go_cleanup() {
	pg_stop
	chmod -R u+w "$T" 2>/dev/null
}
TEST_CLEANUP=go_cleanup
test_tmpdir go-binding
pg_for_build "$top_builddir" "$T" || die "the test PostgreSQL did not start"

. "$top_srcdir/bindings/go/goenv.sh"
ztp_go_env "$T"

cd "$top_srcdir/bindings/go" || die "no bindings/go"
go vet ./ztp || die "go vet"
go test $goflags -count=1 -v ./ztp > "$T/test.log" 2>&1
rc=$?
cat "$T/test.log"
[ $rc -eq 0 ] || die "go test exited with $rc"
grep -q '^--- PASS' "$T/test.log" || die "go test ran no tests"
ok "go test"
checks_done
