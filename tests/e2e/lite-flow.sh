# Body of the end-to-end test of ztp-device-mbedtls (the portable device
# core on its mbedTLS port), sourced with E2E_KIND set to the reference
# server to run (python or go).
#
# Fresh devices run `ztp-device-mbedtls run` over mutual TLS on 127.0.0.1:
# bootstrap, register and credentials, on two TLS connections (one per
# client identity: factory, then bootstrap certificate), with the issued
# certificates verified by openssl against the device CA; a second run
# opens no connection at all. Then the refusals: a wrong CA bundle, a
# wrong pinned server key, a device the registry does not know, an
# unsupported configuration member, and (no-clock mode) a server
# certificate that expired before the device's time floor (TLS failures:
# exit 3, as ztp-device(1), not retried). Last, no-clock mode: the floor
# moved to the real verifier's server_time, and kept when that time is
# past the notAfter of the (expired) server certificate it came with.

. "$E2E_DIR/lite-lib.sh"

e2e_pki
E2E_PORT=1
for id in lite-001 lite-002 lite-pin lite-badpin lite-badca lite-old lite-noclock \
	lite-stale lite-384; do
	e2e_device "$id"
	e2e_enroll "$id"
done
e2e_device lite-stranger

case $E2E_KIND in
go) e2e_start_server go server ;;
*) e2e_start_server python server ;;
esac
echo "$E2E_KIND server on port $E2E_PORT"

for id in lite-001 lite-002; do
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
	if lite_run "$id"; then
		grep -qx 'run: \["bootstrap","register","credentials"\]' \
			"$T/dev/$id/lite.out" ||
			e2e_fail "$id: run did $(cat "$T/dev/$id/lite.out")"
		lite_check_cred "$id" bootstrap 0
		lite_check_cred "$id" operational 30
		n=$(lite_stat "$id" handshakes)
		r=$(lite_stat "$id" requests)
		# challenge + bootstrap on the factory identity's connection,
		# register + credentials on the bootstrap certificate's.
		if [ "$n" = 2 ] && [ "$r" = 4 ]; then
			e2e_ok "$id: 4 requests on 2 TLS connections"
		else
			e2e_fail "$id: $r requests on $n TLS connections, expected 4 on 2"
		fi
		# One connection per client identity, in order (--verbose).
		ids=$(sed -n 's/.*"event":"device.connect","identity":"\([a-z]*\)".*/\1/p' \
			"$T/dev/$id/lite.err" | tr '\n' ' ')
		[ "$ids" = "factory bootstrap " ] &&
			e2e_ok "$id: one connection per identity (factory, bootstrap)" ||
			e2e_fail "$id: connections as: $ids"
		n=$(e2e_issued_count "$id")
		[ "$n" = 1 ] || e2e_fail "$id: registry holds $n bootstrap certificates"
	else
		cat "$T/dev/$id/lite.err"
		e2e_fail "$id: run failed"
	fi
done

# rotate, not due: a fresh key in the other slot, the new certificate
# probed with an assignment call before it replaces the current one, the
# old slot's key and certificate removed; the registry records it.
old=$(lite_cred lite-002 operational)
oldfp=$("$OPENSSL" x509 -in "$old.cert" -noout -fingerprint -sha256)
if lite_run lite-002 rotate; then
	new=$(lite_cred lite-002 operational)
	newfp=$("$OPENSSL" x509 -in "$new.cert" -noout -fingerprint -sha256)
	if [ "$new" != "$old" ] && [ "$newfp" != "$oldfp" ] &&
		[ ! -e "$old.key" ] && [ ! -e "$old.cert" ] &&
		grep -q '"operation":"rotate","step":"probe"' "$T/dev/lite-002/lite.err"; then
		lite_check_cred lite-002 operational 30
		e2e_ok "lite-002: rotate: the other slot, probed, the old one removed"
	else
		cat "$T/dev/lite-002/lite.err"
		e2e_fail "lite-002: rotate left $old / $new"
	fi
else
	cat "$T/dev/lite-002/lite.err"
	e2e_fail "lite-002: rotate failed"
fi
# rotate and assignment without an operational credential: ZTP_ESTATE
# (exit 5), no connection.
for op in rotate assignment; do
	rc=0
	"$ZTP_LITE" --config "$T/dev/lite-stranger/device.json" --verbose $op \
		> "$T/dev/lite-stranger/lite.out" 2> "$T/dev/lite-stranger/lite.err" || rc=$?
	if [ $rc = 5 ] && grep -q "$op: no valid operational credential" "$T/dev/lite-stranger/lite.err" &&
		[ "$(lite_stat lite-stranger handshakes)" = 0 ]; then
		e2e_ok "lite-stranger: $op without credentials: exit 5, no connection"
	else
		cat "$T/dev/lite-stranger/lite.err"
		e2e_fail "lite-stranger: $op without credentials: exit $rc"
	fi
done

# "keep_alive": false: a connection per request (4 for a fresh device's
# run), as ztp-device does with it.
e2e_device lite-nka
e2e_enroll lite-nka
e2e_device_config lite-nka "$E2E_PORT"
e2e_registration lite-nka
lite_config_set lite-nka '{"keep_alive": false}'
if lite_run lite-nka && [ "$(lite_stat lite-nka handshakes)" = 4 ] &&
	[ "$(lite_stat lite-nka requests)" = 4 ]; then
	lite_check_cred lite-nka operational 30
	e2e_ok "lite-nka: keep_alive false: 4 requests on 4 TLS connections"
else
	cat "$T/dev/lite-nka/lite.err"
	e2e_fail "lite-nka: keep_alive false: $(lite_stat lite-nka requests) requests on $(lite_stat lite-nka handshakes) connections"
fi

# "key_type": "ec-p384": the keys the device generates are P-384 (the
# CSR signed with SHA-384), and so are its certificates' keys.
e2e_device_config lite-384 "$E2E_PORT"
e2e_registration lite-384
lite_config_set lite-384 '{"key_type": "ec-p384"}'
if lite_run lite-384; then
	lite_check_cred lite-384 bootstrap 0
	lite_check_cred lite-384 operational 30
	for kind in bootstrap operational; do
		base=$(lite_cred lite-384 $kind)
		"$OPENSSL" x509 -in "$base.cert" -noout -text | grep -q "ASN1 OID: secp384r1" ||
			e2e_fail "lite-384: the $kind certificate's key is not P-384"
	done
	e2e_ok "lite-384: P-384 keys generated and certified"
else
	cat "$T/dev/lite-384/lite.err"
	e2e_fail "lite-384: run with ec-p384 keys failed"
fi

# A second run has nothing due: it checks in with one assignment call on
# one connection (not claimed yet: device_state), as ztp-device does.
if lite_run lite-001 && grep -qx 'run: nothing to do' "$T/dev/lite-001/lite.out" &&
	[ "$(lite_stat lite-001 handshakes)" = 1 ] && [ "$(lite_stat lite-001 requests)" = 1 ] &&
	grep -q '"operation":"assignment","step":"unclaimed"' "$T/dev/lite-001/lite.err"; then
	e2e_ok "lite-001: second run checks in (1 request, 1 connection), nothing else"
else
	cat "$T/dev/lite-001/lite.out" "$T/dev/lite-001/lite.err"
	e2e_fail "lite-001: second run was not a check-in only"
fi

# Claimed by tenant acme: the next run's check-in sees the tenant and
# fetches credentials naming it (SAN URI urn:ztp:tenant:acme); the run
# after that has nothing to do again.
"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id lite-001 --code - \
	--tenant acme < "$T/dev/lite-001/claim.txt" > /dev/null || e2e_die "claim lite-001"
if lite_run lite-001 && grep -qx 'run: \["credentials"\]' "$T/dev/lite-001/lite.out"; then
	base=$(lite_cred lite-001 operational)
	if "$OPENSSL" x509 -in "$base.cert" -noout -ext subjectAltName |
		grep -q "URI:urn:ztp:device:lite-001, URI:urn:ztp:tenant:acme" &&
		"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" -purpose sslclient \
			"$base.cert" > /dev/null 2>&1; then
		e2e_ok "lite-001: claimed: the check-in led to credentials for tenant acme"
	else
		e2e_fail "lite-001: the new certificate does not verify or names no tenant acme"
	fi
else
	cat "$T/dev/lite-001/lite.out" "$T/dev/lite-001/lite.err"
	e2e_fail "lite-001: the run after the claim did not fetch credentials"
fi
if lite_run lite-001 && grep -qx 'run: nothing to do' "$T/dev/lite-001/lite.out"; then
	e2e_ok "lite-001: after the claim, a run has nothing to do"
else
	cat "$T/dev/lite-001/lite.out" "$T/dev/lite-001/lite.err"
	e2e_fail "lite-001: a run after the claim's credentials did something"
fi
# status: the stored state, without a connection: the current
# certificates as openssl reads them (SHA-256 of the DER, validity,
# serial), the
# tenant, a rotation due within the lifetime, the registration sent.
b=$(lite_cred lite-001 bootstrap) o=$(lite_cred lite-001 operational)
for f in "$b" "$o"; do
	"$OPENSSL" x509 -in "$f.cert" -noout -fingerprint -sha256 -startdate -enddate -serial
done > "$T/dev/lite-001/x509.txt"
if lite_run lite-001 status && [ "$(lite_stat lite-001 handshakes)" = 0 ] &&
	"$PY" - "$T/dev/lite-001/lite.out" "$T/dev/lite-001/x509.txt" <<'PY'
import datetime, json, sys
st = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().split("\n")
def when(s):
    return datetime.datetime.strptime(s.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
def stamp(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
for i, kind in enumerate(("bootstrap", "operational")):
    c = st["credentials"][kind]
    fp = lines[4 * i].split("=", 1)[1].replace(":", "").lower()
    assert c["fingerprint"] == fp, (kind, c["fingerprint"], fp)
    assert stamp(c["not_before"]) == when(lines[4 * i + 1]), kind
    assert stamp(c["not_after"]) == when(lines[4 * i + 2]), kind
    serial = lines[4 * i + 3].split("=", 1)[1].lower().lstrip("0")
    assert c["serial"] == serial, (kind, c["serial"], serial)
    assert c["device_id"] == "lite-001" and c["expired"] is False, kind
op = st["credentials"]["operational"]
assert op["tenant"] == "acme", op
assert st["credentials"]["bootstrap"]["tenant"] is None
assert stamp(op["not_before"]) < stamp(op["rotation_due"]) < stamp(op["not_after"])
assert st["registration"]["device_type"] == "sensor", st
assert st["device_id"] == "lite-001" and st["trust_bundle"] is None
assert st["clock_known"] is True
PY
then
	e2e_ok "lite-001: status: the certificates, tenant, rotation and registration, no connection"
else
	cat "$T/dev/lite-001/lite.out" "$T/dev/lite-001/lite.err"
	e2e_fail "lite-001: status"
fi
# assignment: the answer for the claimed device (tenant, namespace), one
# request; for a device not claimed yet, device_state (exit 1).
if lite_run lite-001 assignment && [ "$(lite_stat lite-001 requests)" = 1 ] &&
	"$PY" -c 'import json, sys
a = json.load(open(sys.argv[1]))
assert a["tenant"] == "acme" and a["namespace"], a' "$T/dev/lite-001/lite.out"; then
	e2e_ok "lite-001: assignment: tenant acme and its namespace"
else
	cat "$T/dev/lite-001/lite.out" "$T/dev/lite-001/lite.err"
	e2e_fail "lite-001: assignment"
fi
rc=0
lite_run lite-002 assignment || rc=$?
if [ $rc = 1 ] && grep -q 'device_state' "$T/dev/lite-002/lite.err" &&
	[ ! -s "$T/dev/lite-002/lite.out" ]; then
	e2e_ok "lite-002: assignment before a claim: device_state, exit 1"
else
	cat "$T/dev/lite-002/lite.out" "$T/dev/lite-002/lite.err"
	e2e_fail "lite-002: assignment before a claim: exit $rc"
fi
# "check_in": false: a run with nothing due makes no connection at all.
lite_config_set lite-001 '{"check_in": false}'
if lite_run lite-001 && grep -qx 'run: nothing to do' "$T/dev/lite-001/lite.out" &&
	[ "$(lite_stat lite-001 handshakes)" = 0 ]; then
	e2e_ok "lite-001: check_in false: nothing due, no connection"
else
	cat "$T/dev/lite-001/lite.out" "$T/dev/lite-001/lite.err"
	e2e_fail "lite-001: check_in false: the run connected"
fi

# The server's public key pinned: accepted when it is the server's key,
# refused (and nothing issued) when it is another key.
pin=$("$OPENSSL" pkey -in "$T/pki/server.key" -pubout -outform DER |
	"$OPENSSL" dgst -sha256 -r | cut -d' ' -f1)
other=$("$OPENSSL" pkey -in "$T/pki/rogue.key" -pubout -outform DER |
	"$OPENSSL" dgst -sha256 -r | cut -d' ' -f1)
e2e_device_config lite-pin "$E2E_PORT"
e2e_registration lite-pin
lite_config_set lite-pin "{\"server_key_sha256\": \"$pin\"}"
if lite_run lite-pin; then
	e2e_ok "lite-pin: provisioned with the server key pinned"
else
	cat "$T/dev/lite-pin/lite.err"
	e2e_fail "lite-pin: run with the right pin failed"
fi
e2e_device_config lite-badpin "$E2E_PORT"
e2e_registration lite-badpin
lite_config_set lite-badpin "{\"server_key_sha256\": \"$other\"}"
lite_expect lite-badpin 3 'network_error: run: .*not the pinned one'
lite_no_retry lite-badpin
[ "$(e2e_issued_count lite-badpin)" = 0 ] || e2e_fail "lite-badpin: issued"

# A CA bundle that does not hold the server's CA.
e2e_device_config lite-badca "$E2E_PORT" "$T/pki/rogue-ca.pem"
e2e_registration lite-badca
lite_expect lite-badca 3 "network_error: run: .*certificate is refused"
lite_no_retry lite-badca
[ "$(e2e_issued_count lite-badca)" = 0 ] || e2e_fail "lite-badca: issued"

# The server's refusal code surfaces: a device the registry does not know.
e2e_device_config lite-stranger "$E2E_PORT"
e2e_registration lite-stranger
lite_expect lite-stranger 1 'denied: run: .*unknown_device'
[ -f "$T/dev/lite-stranger/state/bootstrap.manifest" ] &&
	! grep -q 'c=-' "$T/dev/lite-stranger/state/bootstrap.manifest" &&
	e2e_fail "lite-stranger: has a current bootstrap credential"

# A member the port does not support is refused, naming it (the OpenSSL
# port, LITE_TOKEN_KEYS set, supports this one: lite_openssl.sh).
if [ -z "${LITE_TOKEN_KEYS:-}" ]; then
	e2e_device_config lite-old "$E2E_PORT"
	e2e_registration lite-old
	lite_config_set lite-old '{"operational_key": {"token": "pkcs11:token=x"}}'
	lite_expect lite-old 2 'operational_key'
fi

# No-clock mode: the floor is after the server certificate's notAfter (30
# days from now), so the server is refused as expired, whatever the
# system clock says.
e2e_device_config lite-old "$E2E_PORT"
e2e_registration lite-old
lite_config_set lite-old '{"clock": "untrusted", "build_time": "2099-01-01T00:00:00Z"}'
lite_expect lite-old 3 'network_error: run: .*certificate is refused: .*expired'
lite_no_retry lite-old
[ "$(e2e_issued_count lite-old)" = 0 ] || e2e_fail "lite-old: issued"

# No-clock mode: the device asks for the server's time in the challenge
# (its clock is unknown, its floor the build time) and the real
# verifier's server_time, before the server certificate's notAfter,
# moves its floor forward, atomically, in its state directory.
e2e_device_config lite-noclock "$E2E_PORT"
lite_config_set lite-noclock '{"clock": "untrusted", "build_time": "2020-01-01T00:00:00Z"}'
before=$(date +%s)
if lite_run lite-noclock bootstrap; then
	floor=$(cat "$T/dev/lite-noclock/state/time-floor")
	after=$(date +%s)
	if [ "$floor" -ge $((before - 1)) ] && [ "$floor" -le "$after" ] &&
		grep -q '"step":"server_time"' "$T/dev/lite-noclock/lite.err" &&
		! grep -q '"step":"refused"' "$T/dev/lite-noclock/lite.err"; then
		e2e_ok "lite-noclock: floor moved from 2020 to the server's time"
	else
		e2e_fail "lite-noclock: floor $floor, not in [$before, $after]"
	fi
	lite_check_cred lite-noclock bootstrap 0
	mode=$(stat -c %a "$T/dev/lite-noclock/state/time-floor")
	[ "$mode" = 600 ] || e2e_fail "lite-noclock: floor file mode $mode"
else
	cat "$T/dev/lite-noclock/lite.err"
	e2e_fail "lite-noclock: bootstrap failed"
fi
e2e_stop_server "$E2E_PID"

# No-clock mode, a server certificate that expired in 2024 but after the
# device's floor (2020): the handshake passes, as it must for a device
# that cannot know better, but the server's time is at or past that
# certificate's notAfter, so it is not taken: the floor stays, an event
# says so (ztp-device's rule, SECURITY.md case 2), the bootstrap goes on.
p=$T/pki
mkdir -p "$p/stale-ca"
: > "$p/stale-ca/index.txt"
echo 01 > "$p/stale-ca/serial"
cat > "$p/stale-ca/ca.cnf" <<EOF
[ca]
default_ca = stale
[stale]
database = $p/stale-ca/index.txt
serial = $p/stale-ca/serial
new_certs_dir = $p/stale-ca
default_md = sha256
policy = any
[any]
commonName = supplied
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EOF
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$p/stale.key" 2>/dev/null
"$OPENSSL" req -new -key "$p/stale.key" -subj /CN=localhost \
	-out "$p/stale.csr" 2>/dev/null
"$OPENSSL" ca -batch -config "$p/stale-ca/ca.cnf" -cert "$p/server-ca.pem" \
	-keyfile "$p/server-ca.key" -in "$p/stale.csr" -extensions leaf \
	-startdate 20240101000000Z -enddate 20240201000000Z -notext \
	-out "$p/stale.leaf.pem" 2>/dev/null ||
	e2e_die "cannot issue the expired server certificate"
cat "$p/stale.leaf.pem" "$p/server-ca.pem" > "$p/stale.pem"
case $E2E_KIND in
go) e2e_start_server go stale ;;
*) e2e_start_server python stale ;;
esac
e2e_device_config lite-stale "$E2E_PORT"
lite_config_set lite-stale '{"clock": "untrusted", "build_time": "2020-01-01T00:00:00Z"}'
if lite_run lite-stale bootstrap; then
	# 1706745600 is 2024-02-01T00:00:00Z.
	if [ ! -e "$T/dev/lite-stale/state/time-floor" ] &&
		grep -q '"operation":"clock","step":"refused",.*"peer_not_after":1706745600' \
			"$T/dev/lite-stale/lite.err" &&
		! grep -q '"step":"server_time"' "$T/dev/lite-stale/lite.err"; then
		e2e_ok "lite-stale: server time past its certificate's notAfter ignored, floor kept"
	else
		cat "$T/dev/lite-stale/lite.err"
		e2e_fail "lite-stale: floor moved by a server past its notAfter"
	fi
else
	cat "$T/dev/lite-stale/lite.err"
	e2e_fail "lite-stale: bootstrap failed"
fi
e2e_stop_server "$E2E_PID"
