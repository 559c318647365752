#!/bin/sh
# The fleet demo with the device CA's key in a SoftHSM2 token (`make demo`
# with --hsm): the reference server, ztp-verify and ztp-ca all sign
# through the token, and every check of tests/demo_smoke.sh holds.
set -eu
: "${top_srcdir:?}"
DEMO_HSM=1
export DEMO_HSM
exec sh "$top_srcdir/tests/demo_smoke.sh"
