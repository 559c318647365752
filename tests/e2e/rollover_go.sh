#!/bin/sh
# tests/e2e/rollover.sh through the Go reference server.
ROLLOVER_SERVER=go
. "${top_srcdir:?}/tests/e2e/rollover.sh"
