#!/bin/sh
# End to end: ztp-device bootstraps devices over mutual TLS against the Go
# reference server (examples/go/ztp-server), built here with cgo against
# the library of this build.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
# The registry checks read the store through the Python binding.
e2e_need_python
e2e_need_go_server

E2E_KIND=go
. "$E2E_DIR/bootstrap-flow.sh"
