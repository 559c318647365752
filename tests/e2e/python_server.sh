#!/bin/sh
# End to end: ztp-device bootstraps devices over mutual TLS against the
# Python reference server (examples/python/ztp_server.py).
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
E2E_KIND=python
. "$E2E_DIR/bootstrap-flow.sh"
