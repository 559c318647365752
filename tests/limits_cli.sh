#!/bin/sh
# Security rate limits hold across processes: every `ztp-verify claim` and
# `ztp-verify handle` run starts a fresh process on the same SQLite
# registry, as a CGI deployment does. With the default limits
# (ztp-verify.json(5)):
# - 30 wrong claim codes for one device, one process each: the first 5
#   are evaluated, then one a minute (counted in the registry's event log,
#   where every evaluated claim leaves an `identity_mismatch` event and a
#   rate-limited one leaves none);
# - 40 challenges for one device, one process each: a burst of 10, then
#   one per 5 s.
# Bounds are computed from the measured wall-clock time of each loop (a
# slow machine is allowed the refills it earned), never asserted on it.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
PY=
for cand in /usr/bin/python3 "${PYTHON3:-}"; do
	[ -n "$cand" ] && [ -x "$cand" ] && { PY=$cand; break; }
done
[ -n "$PY" ] || e2e_skip "no python3 to read the registry"

e2e_pki
# verify.json of lib.sh raises the limits for the provisioning tests;
# these are the defaults.
e2e_verify_config "$T/limits.json"
V="$ZTP_VERIFY --config $T/limits.json"

e2e_device box-1
$V enroll --device-id box-1 --factory-cert "$T/dev/box-1/factory.leaf.pem" \
	> "$T/dev/box-1/claim.txt"

rows() {
	"$PY" - "$T/registry.db" "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = 0
for (text,) in db.execute("SELECT json FROM events"):
    ev = json.loads(text)
    if ev.get("type") == "claim" and ev.get("code") == sys.argv[2]:
        n += 1
print(n)
PY
}

# ------------------------------------------------------------ claims
wrong=AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA
start=$(date +%s)
i=0
refused=0
while [ $i -lt 30 ]; do
	if echo "$wrong" | $V claim --device-id box-1 --code - --tenant acme \
		>/dev/null 2>"$T/claim.err"; then
		e2e_fail "claim $i: a wrong code was accepted"
	fi
	grep -q rate_limited "$T/claim.err" && refused=$((refused + 1))
	i=$((i + 1))
done
elapsed=$(($(date +%s) - start))
evaluated=$(rows identity_mismatch)
# 5 at once, then one per whole minute that passed (plus the second the
# first attempt may have started late in).
max=$((5 + (elapsed + 1) / 60))
if [ "$evaluated" -lt 5 ] || [ "$evaluated" -gt "$max" ]; then
	e2e_fail "claims: $evaluated of 30 wrong codes evaluated in ${elapsed}s (want 5..$max)"
else
	e2e_ok "claims: $evaluated of 30 wrong codes evaluated in ${elapsed}s, $refused rate limited"
fi
[ $((evaluated + refused)) -eq 30 ] ||
	e2e_fail "claims: $evaluated evaluated + $refused rate limited != 30"
# The right code is not evaluated either while the bucket is empty.
code=$(sed -n 's/^\([A-Z2-7]\{4\}\(-[A-Z2-7]\{4\}\)\{7\}\)$/\1/p' \
	"$T/dev/box-1/claim.txt" | head -n 1)
[ -n "$code" ] || e2e_die "no claim code in the enroll output"
if [ "$elapsed" -lt 50 ]; then
	if echo "$code" | $V claim --device-id box-1 --code - --tenant acme \
		>/dev/null 2>"$T/claim.err"; then
		e2e_fail "claims: the right code was evaluated while rate limited"
	elif ! grep -q rate_limited "$T/claim.err"; then
		cat "$T/claim.err"
		e2e_fail "claims: the right code was refused, but not as rate limited"
	else
		e2e_ok "claims: the right code waits for the limit too"
	fi
fi

# ------------------------------------------------------------ challenges
start=$(date +%s)
i=0
answered=0
while [ $i -lt 40 ]; do
	if printf '{"device_id":"box-1"}' | $V handle challenge \
		> "$T/chal.out" 2>/dev/null; then
		answered=$((answered + 1))
	elif ! grep -q '"rate_limited"' "$T/chal.out"; then
		cat "$T/chal.out"
		e2e_fail "challenge $i: refused, but not as rate limited"
	fi
	i=$((i + 1))
done
elapsed=$(($(date +%s) - start))
max=$((10 + (elapsed + 1) / 5))
if [ "$answered" -lt 10 ] || [ "$answered" -gt "$max" ]; then
	e2e_fail "challenges: $answered of 40 answered in ${elapsed}s (want 10..$max)"
else
	e2e_ok "challenges: $answered of 40 answered in ${elapsed}s"
fi
e2e_done
