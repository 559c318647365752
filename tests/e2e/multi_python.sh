#!/bin/sh
# End to end: the Go and the Python reference server side by side
# sharing one registry and one HMAC secret file behind HAProxy (TCP mode):
# cross-instance challenges, races across instances, the shared per-device
# limit (tests/e2e/multi-flow.sh).
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/multi-lib.sh"

E2E_KINDS="go python"
. "$E2E_DIR/multi-flow.sh"
