#!/bin/sh
# End to end: tests/e2e/multi-flow.sh with two Go reference servers on one
# SQLite registry file, the deployment of several processes on one host
# (multi_go.sh runs the same on PostgreSQL).
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/multi-lib.sh"

E2E_KINDS="go go"
E2E_MULTI_REGISTRY=sqlite
. "$E2E_DIR/multi-flow.sh"
