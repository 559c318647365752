#!/bin/sh
# End to end: ztp-device bootstraps devices over mutual TLS against the Go
# reference server (examples/go/ztp-server), built here with cgo against
# the library of this build.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
goflags=
case $ZTP_SAN in
tsan) e2e_skip "ThreadSanitizer build" ;;
asan) goflags=-asan ;;
esac
command -v go >/dev/null 2>&1 || e2e_skip "no Go toolchain (install golang-go)"
# The registry checks read the store through the Python binding.
e2e_need_python

. "$top_srcdir/bindings/go/goenv.sh"
ztp_go_env "$T/go"
E2E_GO_SERVER=$T/ztp-server
(cd "$top_srcdir/examples/go/ztp-server" && go build $goflags -o "$E2E_GO_SERVER" .) ||
	e2e_die "cannot build the Go server"
# The Go module cache is read-only by default; make it removable.
trap 'chmod -R u+w "$T/go" 2>/dev/null; e2e_cleanup' EXIT

E2E_KIND=go
. "$E2E_DIR/bootstrap-flow.sh"
