#!/bin/sh
# End to end: ztp-device-mbedtls (portable device core, mbedTLS port)
# provisions devices against the Go reference server
# (tests/e2e/lite-flow.sh).
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
e2e_need_go_server
E2E_KIND=go
. "$E2E_DIR/lite-flow.sh"
e2e_done
