#!/bin/sh
# Slow clients against the Go reference server (body in slow-flow.sh).
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_need_go_server
E2E_KIND=go
. "$E2E_DIR/slow-flow.sh"
