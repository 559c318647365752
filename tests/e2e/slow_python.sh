#!/bin/sh
# Slow clients against the Python reference server: a device is served
# while 300 slow connections are open, and they are closed by the request
# deadline and the idle timeout (body in slow-flow.sh).
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
E2E_KIND=python
. "$E2E_DIR/slow-flow.sh"
