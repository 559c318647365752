#!/bin/sh
# End to end, device-CA rollover through a reference server (Python, or
# the one ROLLOVER_SERVER names: rollover_go.sh) and the real ztp-device. A fleet is provisioned under device CA 1 and server
# CA 1; the operator then makes device CA 2 active (CA 1 still accepted,
# device_ca_previous) and hands out a trust bundle. Every device keeps
# working with the certificates it has, rotates (all at once) onto CA 2 and
# commits the bundle after a verified connection; a bundle without the
# server's CA is rolled back and never used; a device that was offline
# catches up later. Then the server moves to a certificate of server CA 2
# and CA 1 is retired: every device still works, each on CA 2, and a
# certificate of CA 1 is refused.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
SERVER=${ROLLOVER_SERVER:-python}
[ "$SERVER" = go ] && e2e_need_go_server
e2e_pki
p=$T/pki

FLEET="rol-1 rol-2 rol-3 rol-4"
OFFLINE=rol-off
ALL="$FLEET $OFFLINE"

# reconfig JSON_MERGE: rewrite verify.json with these members (null
# removes one).
reconfig() {
	"$PY" - "$T/verify.json" "$1" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
for k, v in json.loads(sys.argv[2]).items():
    if v is None:
        c.pop(k, None)
    else:
        c[k] = v
json.dump(c, open(p, "w"))
PY
}
# restart NAME: (re)start the server with TLS identity NAME and point every
# device at it.
restart() {
	e2e_stop_server "$E2E_PID"
	e2e_start_server "$SERVER" "$1"
	for id in $ALL; do
		e2e_device_config "$id" "$E2E_PORT"
		e2e_registration "$id"
	done
}
dev() { id=$1; shift; "$ZTP_DEVICE" --config "$T/dev/$id/device.json" "$@"; }
# op_cert ID: the device's current operational certificate.
op_cert() { cred_cert "$T/dev/$1/state" operational; }
on_ca() { "$OPENSSL" verify -CAfile "$p/$2.pem" "$(op_cert "$1")" >/dev/null 2>&1; }
committed() { test -f "$T/dev/$1/state/trust/current.json"; }
# cert_call SERVER_CA CERT KEY: the HTTP status of an assignment request
# made with that client certificate, trusting SERVER_CA (000: the
# connection was refused); the body in $T/call.out.
cert_call() {
	command -v curl >/dev/null 2>&1 || e2e_skip "no curl"
	: > "$T/call.out"
	curl -sS -o "$T/call.out" -w '%{http_code}' --cacert "$p/$1.pem" \
		--cert "$2" --key "$3" \
		-H 'Content-Type: application/json' -d '{}' \
		"https://127.0.0.1:$E2E_PORT/ztp/v1/assignment" 2> "$T/call.err"
}
old_cert_call() { cert_call "$1" "$T/rol-1.ca1.pem" "$T/rol-1.ca1.key"; }

# ------------------------------------------------------------ the fleet, CA 1
e2e_start_server "$SERVER" server
for id in $ALL; do
	e2e_device "$id"
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
	e2e_enroll "$id"
	dev "$id" run > "$T/dev/$id/run1.out" 2>&1 ||
		e2e_die "$id: run: $(cat "$T/dev/$id/run1.out")"
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
		--code - --tenant acme < "$T/dev/$id/claim.txt" >/dev/null ||
		e2e_die "$id: claim"
	# A certificate naming the tenant (what rotate keeps).
	dev "$id" credentials > /dev/null || e2e_die "$id: credentials"
	dev "$id" assignment > /dev/null || e2e_die "$id: assignment"
	on_ca "$id" device-ca || e2e_die "$id: not on device CA 1"
done
cred_copy "$T/dev/rol-1/state" operational "$T/rol-1.ca1" ||
	e2e_die "rol-1: no operational credential"
e2e_ok "fleet of $(echo "$ALL" | wc -w) provisioned on device CA 1"

# ------------------------------------------------------------ the rollover
"$ZTP_CA" init-root --cert "$p/device-ca-2.pem" --key "$p/device-ca-2.key" \
	--subject "/CN=Fleet Device CA 2/O=Fleet" --days 3650 >/dev/null
e2e_server_ca2

# A mistaken bundle first: without the CA of the certificate the server
# presents. Devices keep working and never use it.
reconfig '{"device_ca": {"cert": "pki/device-ca-2.pem", "key": "pki/device-ca-2.key"},
           "device_ca_previous": ["pki/device-ca.pem"],
           "trust_bundle": "pki/bundle-new-only.pem"}'
restart server
dev rol-1 assignment > "$T/rol-1.bad.out" 2>&1 ||
	e2e_die "rol-1: assignment with a CA 1 certificate after the roll: $(cat "$T/rol-1.bad.out")"
check "a bundle without the server's CA is not committed" sh -c "! test -f '$T/dev/rol-1/state/trust/current.json'"
check "nor left in a slot" sh -c "! ls '$T/dev/rol-1/state/trust/'*/bundle.pem 2>/dev/null | grep -q ."
dev rol-1 assignment > /dev/null || e2e_fail "rol-1: works on after the rollback"

# The right bundle: old and new server CAs.
reconfig '{"trust_bundle": "pki/bundle-both.pem"}'
restart server
# The fleet keeps working with its CA 1 certificates...
for id in $FLEET; do
	dev "$id" assignment > /dev/null || e2e_fail "$id: assignment on CA 1 after the roll"
done
# ...and rotates onto CA 2, all at once (the offline device is not run).
pids=
for id in $FLEET; do
	dev "$id" rotate > "$T/dev/$id/rotate.out" 2>&1 &
	pids="$pids $!"
done
n=0
for pid in $pids; do
	wait "$pid" || n=$((n + 1))
done
check "the fleet rotated concurrently" test "$n" = 0
for id in $FLEET; do
	on_ca "$id" device-ca-2 || e2e_fail "$id: not on device CA 2 after rotate"
	committed "$id" || e2e_fail "$id: bundle not committed"
done
check "the offline device is still on CA 1" on_ca "$OFFLINE" device-ca

# The offline device comes back while CA 1 is still accepted.
dev "$OFFLINE" assignment > /dev/null || e2e_fail "$OFFLINE: assignment on CA 1"
dev "$OFFLINE" rotate > "$T/dev/$OFFLINE/rotate.out" 2>&1 ||
	e2e_fail "$OFFLINE: rotate: $(cat "$T/dev/$OFFLINE/rotate.out")"
check "the offline device caught up: on CA 2" on_ca "$OFFLINE" device-ca-2
check "the offline device committed the bundle" committed "$OFFLINE"

# Until it is retired, CA 1's certificates work (within the rotation
# overlap of a superseded one).
code=$(old_cert_call server-ca) || true
check "a CA 1 certificate still works before the retirement" test "$code" = 200

# ------------------------------------------------------------ CA 1 retired
# The server presents a certificate of server CA 2 (the devices' ca_file
# does not hold it), device CA 1 is retired, the bundle drops server CA 1.
reconfig '{"device_ca_previous": null, "trust_bundle": "pki/bundle-new-only.pem"}'
restart server2
n=0
for id in $ALL; do
	dev "$id" assignment > "$T/dev/$id/after.out" 2>&1 || {
		n=$((n + 1))
		cat "$T/dev/$id/after.out"
	}
	on_ca "$id" device-ca-2 || n=$((n + 1))
done
check "every device works on after the retirement, on device CA 2" test "$n" = 0
check "the new bundle was committed in the other slot" \
	grep -q '"current":"b"' "$T/dev/rol-2/state/trust/current.json"

# A certificate of the retired CA is refused, by the server's TLS layer
# (the reference server's client CAs follow the configuration: the
# connection is dropped) or by the verifier; the same request with
# rol-1's current certificate passes.
code=$(old_cert_call server-ca-2) || true
check "a certificate of the retired CA is refused" \
	sh -c "test '$code' = 000 ||
		{ test '$code' = 401 && grep -q untrusted_certificate '$T/call.out'; }"
cur=$(op_cert rol-1)
code=$(cert_call server-ca-2 "$cur" "$(dirname "$cur")/key.pem") || true
check "rol-1's CA 2 certificate passes the same request" test "$code" = 200
e2e_done
