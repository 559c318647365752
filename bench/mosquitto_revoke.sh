#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Revocation latency at the broker (`make bench-revoke`): seconds from
# `ztp-verify revoke` (the verifier configuration has `crl_file`) to a
# real mosquitto with the ztp_mosquitto plugin (check_interval 1)
# dropping the device's connected mosquitto_sub. It runs
# tests/mosquitto_crl.sh with MQ_REVOKE_RUNS devices revoked one after the
# other and prints each figure, then the minimum, median and maximum.
# Nothing is asserted on the figures.
#
# Environment: top_srcdir, top_builddir (as for the tests);
# BENCH_REVOKE_RUNS (default 10, 1..100).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
runs=${BENCH_REVOKE_RUNS:-10}
test_tmpdir bench-revoke
out=$T/out
MQ_REVOKE_RUNS=$runs sh "$top_srcdir/tests/mosquitto_crl.sh" > "$out" 2>&1 ||
	{ cat "$out"; die "tests/mosquitto_crl.sh failed"; }
grep -o 'revoke-to-drop [0-9.]* s' "$out" | awk '
	{ t[NR] = $2; print "revoke to drop: " $2 " s" }
	END {
		if (NR == 0) { print "no figures"; exit 1 }
		n = NR
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (t[j] < t[i]) { x = t[i]; t[i] = t[j]; t[j] = x }
		m = n % 2 ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
		printf "runs %d  min %.3f s  median %.3f s  max %.3f s\n", n, t[1], m, t[n]
	}'
