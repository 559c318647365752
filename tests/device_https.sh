#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ztp-device bootstrap over real mutual TLS on 127.0.0.1 against an
# independent server (tests/device_server.py: Python's ssl + the openssl
# CLI). Proves: the pinned CA is the only trust anchor (another CA and a
# wrong host name are refused), the factory certificate is presented, the
# answer is checked (wrong key / wrong device refused, state untouched),
# 503 + Retry-After is retried and succeeds, 400 is not retried, a run
# killed during the request resumes with the same pending key.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
: "${OPENSSL:=openssl}"
: "${PYTHON3:=/usr/bin/python3}"

TOOL="$top_builddir/tools/ztp-device"
# libtool wrapper scripts find the uninstalled library themselves.
SERVER="$top_srcdir/tests/device_server.py"

. "$top_srcdir/tests/lib.sh"
test_tmpdir device-https
SRV_PID=
DEV_PID=
stop_processes() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "$DEV_PID" ] && kill "$DEV_PID" 2>/dev/null
	wait 2>/dev/null
}
TEST_CLEANUP=stop_processes

ossl() { "$OPENSSL" "$@" 2>>"$T/openssl.log"; }

# ---------------------------------------------------------------- PKI
mkca "$T/srvca" "Test Server CA"
mkca "$T/evilca" "Some Other CA"
mkca "$T/mfgca" "Test Manufacturer CA"
mkca "$T/devca" "Test Device CA"
mkleaf "$T/server" "$T/srvca" 127.0.0.1 IP:127.0.0.1 serverAuth
mkleaf "$T/wronghost" "$T/srvca" wrong.example DNS:wrong.example serverAuth
mkleaf "$T/evil" "$T/evilca" 127.0.0.1 IP:127.0.0.1 serverAuth
mkleaf "$T/factory" "$T/mfgca" dev-0001 URI:urn:ztp:device:dev-0001 clientAuth

# ---------------------------------------------------------------- server
start_server() { # start_server SERVERCERT [server options...]
	cert=$1
	shift
	rm -f "$T/port" "$T/server.log"
	"$PYTHON3" "$SERVER" --cert "$T/$cert.pem" --key "$T/$cert.key" \
		--client-ca "$T/mfgca.pem" --client-ca "$T/devca.pem" \
		--issuer-cert "$T/devca.pem" \
		--issuer-key "$T/devca.key" --port-file "$T/port" \
		--log "$T/server.log" "$@" 2>>"$T/server.stderr" &
	SRV_PID=$!
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
			cat "$T/server.stderr" >&2
			harness_error "server did not start"
		fi
		sleep 0.05
	done
	PORT=$(cat "$T/port")
	: >"$T/server.log"
}
stop_server() {
	kill "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}
requests() { # requests ENDPOINT -> number of requests the server saw
	grep -c "\"/ztp/v1/$1\"" "$T/server.log"
}

write_config() { # write_config CAFILE [STATE [FIRMWARE]]
	cat >"$T/device.json" <<EOF
{
  "registration": {"device_type": "sensor", "firmware_version": "${3:-1.0}",
                   "capabilities": ["temp"]},
  "factory_key": "file:factory.key",
  "factory_cert": "factory.pem",
  "base_url": "https://127.0.0.1:$PORT",
  "ca_file": "$1",
  "state_dir": "${2:-state}",
  "connect_timeout_ms": 5000,
  "timeout_ms": 20000,
  "retry": {"max_attempts": 4, "base_delay_ms": 10, "max_delay_ms": 50,
            "max_retry_after_ms": 2000}
}
EOF
}

# VALGRIND="valgrind -q --leak-check=full --error-exitcode=9" runs every
# device command under it (through libtool, to reach the real binary).
dev() {
	if [ -n "${VALGRIND:-}" ]; then
		"$top_builddir/libtool" --mode=execute $VALGRIND "$TOOL" \
			--config "$T/device.json" "$@"
	else
		"$TOOL" --config "$T/device.json" "$@"
	fi
}
current_id() { # slot and fingerprint of the current credential
	sed -n 's/.*"current":"\([ab]\)","fingerprint":"\([0-9a-f]*\)".*/\1 \2/p' \
		"$T/state/bootstrap/current.json"
}
current_slot() {
	sed -n 's/.*"current":"\([ab]\)".*/\1/p' "$T/state/bootstrap/current.json"
}
same_pubkey() { # same_pubkey KEY CERT
	a=$(ossl pkey -in "$1" -pubout) && b=$(ossl x509 -in "$2" -pubkey -noout) &&
		[ -n "$a" ] && [ "$a" = "$b" ]
}

# ---------------------------------------------------------------- happy path
start_server server
write_config srvca.pem

dev bootstrap >"$T/out" 2>"$T/err"
rc=$?
check "bootstrap succeeds (rc=$rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "human output names the device" grep -q "dev-0001" "$T/out"
check "slot a is current" [ "$(current_slot)" = a ]
S="$T/state/bootstrap/a"
check "issued cert chains to the device CA" \
	ossl verify -CAfile "$T/devca.pem" "$S/cert.pem"
check "stored key belongs to the stored cert" same_pubkey "$S/key.pem" "$S/cert.pem"
check "key file is 0600" [ "$(stat -c %a "$S/key.pem")" = 600 ]
check "state dir is 0700" [ "$(stat -c %a "$T/state")" = 700 ]
check "chain stored" cmp -s "$S/chain.pem" "$T/devca.pem"
check "factory cert presented on challenge" \
	grep -q '"/ztp/v1/challenge", "peer_cn": "dev-0001", "status": 200' "$T/server.log"
check "factory cert presented on bootstrap" \
	grep -q '"/ztp/v1/bootstrap", "peer_cn": "dev-0001", "status": 200' "$T/server.log"

dev --json status >"$T/status.json"
check "status --json" "$PYTHON3" -c '
import json, sys
s = json.load(open(sys.argv[1]))
b = s["status"]["credentials"]["bootstrap"]
assert s["ok"] and s["status"]["device_id"] == "dev-0001"
assert b["slot"] == "a" and b["device_id"] == "dev-0001" and not b["expired"]
assert s["status"]["credentials"]["operational"] is None
' "$T/status.json"

# A second bootstrap builds slot b and switches to it.
dev -q bootstrap
check "rebootstrap switches to slot b" [ "$(current_slot)" = b ]
check "slot b key and cert match" \
	same_pubkey "$T/state/bootstrap/b/key.pem" "$T/state/bootstrap/b/cert.pem"

# ---------------------------------------------------------------- 503 twice, then 200
stop_server
start_server server --script bootstrap=503,503
write_config srvca.pem
dev --verbose bootstrap >"$T/out" 2>"$T/events"
rc=$?
check "503 + Retry-After twice then 200 succeeds (rc=$rc)" [ $rc -eq 0 ]
check "three bootstrap requests" [ "$(requests bootstrap)" -eq 3 ]
check "two retries honour Retry-After: 1" \
	[ "$(grep -c '"outcome":"retry","delay_ms":1000' "$T/events")" -eq 2 ]
check "slot a current again" [ "$(current_slot)" = a ]

# The hint in the body only (no header), and 500 with no hint at all:
# backoff within the configured bounds (base 10 ms, cap 50 ms).
stop_server
start_server server --script challenge=429:rate_limited,500,500
write_config srvca.pem
dev --verbose bootstrap >"$T/out" 2>"$T/events"
rc=$?
check "429 with body retry_after, then 500s, then success (rc=$rc)" [ $rc -eq 0 ]
check "body retry_after honoured without a header" \
	grep -q '"http_status":429,"outcome":"retry","delay_ms":1000' "$T/events"
check "500 retried with jittered backoff under the cap" "$PYTHON3" -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
r = [e["delay_ms"] for e in d if e.get("http_status") == 500]
assert len(r) == 2 and r[0] <= 20 and r[1] <= 40, r
' "$T/events"

# ---------------------------------------------------------------- 400 is final
stop_server
start_server server --script bootstrap=400
write_config srvca.pem
before=$(current_id)
dev --json bootstrap >"$T/out" 2>"$T/err"
rc=$?
check "400 refused with exit 1 (rc=$rc)" [ $rc -eq 1 ]
check "400 not retried" [ "$(requests bootstrap)" -eq 1 ]
check "refusal detail in --json" grep -q '"code":"denied"' "$T/out"
check "current credential untouched by a refusal" \
	[ "$(current_id)" = "$before" ]

# An expired challenge is replaced once with a fresh one.
stop_server
start_server server --script bootstrap=401:challenge_expired
write_config srvca.pem
dev -q bootstrap 2>"$T/err"
rc=$?
check "expired challenge: fresh one fetched, success (rc=$rc)" [ $rc -eq 0 ]
check "two challenges, two bootstraps" \
	[ "$(requests challenge)/$(requests bootstrap)" = 2/2 ]
stop_server
start_server server --script bootstrap=401:challenge_expired,401:challenge_expired
write_config srvca.pem
dev -q bootstrap 2>"$T/err"
rc=$?
check "but only once (rc=$rc)" [ $rc -eq 1 ]

# 503 on every attempt: transient failure after max_attempts.
stop_server
start_server server --script challenge=503,503,503,503,503
write_config srvca.pem
dev bootstrap >/dev/null 2>"$T/err"
rc=$?
check "503 forever: exit 3 (rc=$rc)" [ $rc -eq 3 ]
check "after exactly max_attempts (4) requests" [ "$(requests challenge)" -eq 4 ]

# ---------------------------------------------------------------- bad answers
stop_server
start_server server --wrong-key
write_config srvca.pem
before=$(current_id)
dev bootstrap >/dev/null 2>"$T/err"
rc=$?
check "certificate for another key refused (exit 4, rc=$rc)" [ $rc -eq 4 ]
check "detail says so" grep -q "not for the key" "$T/err"
check "still the old credential" \
	[ "$(current_id)" = "$before" ]

stop_server
start_server server --wrong-device
write_config srvca.pem
dev bootstrap >/dev/null 2>"$T/err"
rc=$?
check "certificate for another device refused (exit 4, rc=$rc)" [ $rc -eq 4 ]

# ---------------------------------------------------------------- server authentication
stop_server
start_server evil
write_config srvca.pem
dev --json bootstrap >"$T/out" 2>"$T/err"
rc=$?
check "server from another CA refused (exit 3, rc=$rc)" [ $rc -eq 3 ]
check "refused as network_error" grep -q '"code":"network_error"' "$T/out"
check "detail names the certificate problem" grep -qi "certificate" "$T/err"
check "no request reached the unpinned server" [ "$(requests challenge)" -eq 0 ]
check "verification failure not retried" \
	[ "$(grep -c . "$T/server.log")" -eq 0 ]

stop_server
start_server wronghost
write_config srvca.pem
dev bootstrap >/dev/null 2>"$T/err"
rc=$?
check "server cert for another host refused (exit 3, rc=$rc)" [ $rc -eq 3 ]

# The system trust store is never consulted: the pinned bundle alone.
stop_server
start_server server
write_config evilca.pem
dev bootstrap >/dev/null 2>"$T/err"
rc=$?
check "pinning another CA refuses the real server (rc=$rc)" [ $rc -eq 3 ]

# ---------------------------------------------------------------- killed mid-request
stop_server
start_server server --hang bootstrap
write_config srvca.pem
before=$(current_id)
"$TOOL" --config "$T/device.json" bootstrap >/dev/null 2>&1 &
DEV_PID=$!
i=0
while [ "$(requests challenge)" -lt 1 ] && [ $i -lt 400 ]; do
	i=$((i + 1))
	sleep 0.05
done
sleep 0.5
kill -9 "$DEV_PID" 2>/dev/null
wait "$DEV_PID" 2>/dev/null
DEV_PID=
pending=$(sed -n 's/.*"pending":"\([ab]\)".*/\1/p' "$T/state/bootstrap/current.json")
check "killed run left a pending slot" [ -n "$pending" ]
check "killed run left the current credential" [ "$(current_id)" = "$before" ]
cp "$T/state/bootstrap/$pending/key.pem" "$T/pending.key"
dev bootstrap >/dev/null 2>"$T/err"
rc=$?
check "rerun after kill succeeds (rc=$rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "rerun reused the pending key" \
	cmp -s "$T/pending.key" "$T/state/bootstrap/$pending/key.pem"
check "pending slot became current" [ "$(current_slot)" = "$pending" ]
check "and its cert matches" same_pubkey "$T/pending.key" \
	"$T/state/bootstrap/$pending/cert.pem"

# ---------------------------------------------------------------- lifecycle
# run from nothing: bootstrap, register, credentials. The first probe of a
# rotation fails (scripted 403), so the old credential must stay current.
stop_server
start_server server --tenant acme --script assignment=403
write_config srvca.pem life
L="$T/life"
dev --json run >"$T/out" 2>"$T/err"
rc=$?
check "run from scratch (rc=$rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "run did bootstrap, register, credentials" \
	grep -q '"actions":\["bootstrap","register","credentials"\]' "$T/out"
op_slot() {
	sed -n 's/.*"current":"\([ab]\)".*/\1/p' "$L/operational/current.json"
}
O="$L/operational/$(op_slot)"
check "operational cert chains to the device CA" \
	ossl verify -CAfile "$T/devca.pem" "$O/cert.pem"
check "operational key matches" same_pubkey "$O/key.pem" "$O/cert.pem"
check "credentials used the bootstrap certificate" \
	grep -q '"/ztp/v1/credentials", "peer_cn": "dev-0001", "status": 200' "$T/server.log"
check "status shows the tenant" "$PYTHON3" -c '
import json, sys
s = json.load(open(sys.argv[1]))["status"]
o = s["credentials"]["operational"]
assert o["tenant"] == "acme" and o["rotation_due"] < o["not_after"], o
assert s["registration"]["firmware_version"] == "1.0", s
' "$T/out"

before_op=$(cat "$L/operational/current.json")
dev rotate >/dev/null 2>"$T/err"
rc=$?
check "rotation whose probe is refused fails (rc=$rc)" [ $rc -eq 1 ]
check "old operational credential still current" \
	[ "$(sed 's/,"pending":.*//' "$L/operational/current.json")" = \
	  "$(echo "$before_op" | sed 's/,"pending":.*//')" ]
check "new one pending" grep -q '"pending":"[ab]"' "$L/operational/current.json"
dev --json run >"$T/out" 2>"$T/err"
rc=$?
check "run finishes the rotation (rc=$rc)" grep -q '"actions":\["rotate"\]' "$T/out"
check "without a second rotate request" [ "$(requests rotate)" -eq 1 ]
check "after a second probe" [ "$(requests assignment)" -eq 2 ]
check "rotated credential is current" \
	[ "$(cat "$L/operational/current.json")" != "$before_op" ]
O="$L/operational/$(op_slot)"
check "rotated key matches" same_pubkey "$O/key.pem" "$O/cert.pem"

n=$(grep -c . "$T/server.log")
dev run >"$T/out" 2>"$T/err"
check "run again: nothing to do" grep -q "nothing to do" "$T/out"
check "one request only" [ "$(grep -c . "$T/server.log")" -eq $((n + 1)) ]
check "an assignment check-in" \
	sh -c "tail -1 '$T/server.log' | grep -q '\"/ztp/v1/assignment\"'"

dev --json assignment >"$T/out" 2>"$T/err"
check "assignment names the tenant" grep -q '"tenant":"acme"' "$T/out"
dev assignment >"$T/out" 2>"$T/err"
check "assignment in words: tenant" grep -q '^tenant *acme$' "$T/out"
check "assignment in words: namespace" grep -q '^namespace  *[^ (]' "$T/out"
dev status >"$T/out" 2>"$T/err"
check "status in words: operational slot, serial, validity" \
	grep -Eq '^operational  *slot [ab], serial [0-9A-Fa-f:]+, valid until [0-9]' \
	"$T/out"
check "status in words: registration" \
	grep -q '^registered  *[^?]*, firmware [^?]' "$T/out"
prev=$(op_slot)
dev -q rotate 2>"$T/err"
check "plain rotation switches slots" [ "$(op_slot)" != "$prev" ]

# A firmware update calls for registering again, nothing else.
write_config srvca.pem life 2.0
dev --json run >"$T/out" 2>"$T/err"
check "new firmware: run registers again" \
	grep -q '"actions":\["register"\]' "$T/out"

# A damaged state directory is a local failure, reported as such.
cp -r "$T/life" "$T/corrupt"
echo '{"version":9}' >"$T/corrupt/bootstrap/current.json"
write_config srvca.pem corrupt
dev status >/dev/null 2>"$T/err"
rc=$?
check "corrupt manifest: status exits 5 (rc=$rc)" [ $rc -eq 5 ]

# Claim and reset as the device sees them: unclaimed, the probe's 409
# device_state still proves the new credential; once claimed, run fetches
# a certificate naming the tenant; after a reset (certificates revoked) run
# starts over from the factory identity.
stop_server
start_server server --db "$T/claim.db"
write_config srvca.pem claim
C="$T/claim"
dev -q run 2>"$T/err"
check "unclaimed: run provisions (rc=$?)" [ -s "$C/operational/current.json" ]
dev --json run >"$T/out" 2>"$T/err"
check "unclaimed: nothing to do" grep -q '"actions":\[\]' "$T/out"
check "unclaimed: asked for its assignment" [ "$(requests assignment)" -eq 1 ]
prev=$(sed -n 's/.*"current":"\([ab]\)".*/\1/p' "$C/operational/current.json")
dev -q rotate 2>"$T/err"
rc=$?
check "unclaimed: rotation accepted on device_state (rc=$rc)" [ $rc -eq 0 ]
check "unclaimed: rotation switched slots" \
	[ "$(sed -n 's/.*"current":"\([ab]\)".*/\1/p' "$C/operational/current.json")" != "$prev" ]
stop_server
start_server server --db "$T/claim.db" --tenant globex
write_config srvca.pem claim
dev --json run >"$T/out" 2>"$T/err"
check "claimed: run fetches credentials naming the tenant" \
	grep -q '"actions":\["credentials"\].*"tenant":"globex"' "$T/out"
stop_server
start_server server --db "$T/claim.db" --tenant acme --revoke-existing
write_config srvca.pem claim
dev --json run >"$T/out" 2>"$T/err"
rc=$?
check "reset: run bootstraps again (rc=$rc: $(cat "$T/err"))" \
	grep -q '"actions":\["bootstrap","register","credentials"\].*"tenant":"acme"' "$T/out"

# ---------------------------------------------------------------- usage
"$TOOL" bootstrap >/dev/null 2>&1
check "missing --config is a usage error" [ $? -eq 2 ]
"$TOOL" --config "$T/device.json" frobnicate >/dev/null 2>&1
check "unknown command is a usage error" [ $? -eq 2 ]
echo '{"bogus": 1}' >"$T/bad.json"
"$TOOL" --config "$T/bad.json" status >/dev/null 2>"$T/err"
check "bad config is exit 2" [ $? -eq 2 ]
check "bad config detail names the member" grep -q bogus "$T/err"

stop_server
if [ "$TEST_FAILS" -ne 0 ]; then
	echo "server stderr:" >&2
	cat "$T/server.stderr" >&2
fi
checks_done
