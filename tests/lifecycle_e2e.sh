#!/bin/sh
# End to end, the credential lifecycle over real mutual TLS: the Python
# reference server (examples/python/ztp_server.py) on 127.0.0.1, the real
# `ztp-device` CLI on the device side, `ztp-verify` for administration.
#
#  1. the full lifecycle for several devices: run (bootstrap, register,
#     credentials), claim, run (tenant-bound credentials), assignment,
#     rotate (same identity; the old certificate still works during the
#     rotation overlap);
#  2. rotation under power loss: `ztp-device rotate` is SIGKILLed after
#     its 1st, 2nd, ... event line (one per protocol step and HTTP
#     attempt; ztp-device has no crash hooks of its own) until a rotation
#     completes; after every kill the device still holds a complete,
#     working operational credential;
#  3. a revoked device is refused at bootstrap, register, credentials and
#     rotate;
#  4. a claim code reused or guessed is refused;
#  5. a device of tenant A never receives a certificate or assignment
#     naming tenant B, whatever its CSR asks for;
#  6. registration with the factory certificate (not the bootstrap one)
#     is refused;
#  7. a reset device's old certificates are in the CRL (`openssl crl
#     -text`), and it is provisioned again for another tenant.
#
# Rotation with an expired certificate needs a clock the server does not
# take from outside (and TLS itself would refuse the handshake): that case
# is in tests/unit/test_verifier.c (lifecycle), with an injected clock.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki

# Generous per-device lifecycle buckets: the power-loss loop rotates many
# times in a row (the limit itself is covered by the unit tests).
e2e_json_edit "$T/verify.json" \
	'c["rate_limits"]["lifecycle"] = {"rate": 100, "burst": 1000}'

# post.py PORT CERT|- KEY|- ENDPOINT BODY: one POST over mutual TLS (the
# client certificate optional), printing "STATUS BODY".
cat > "$T/post.py" <<'PY'
import http.client, ssl, sys
port, cert, key, ep, body = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=sys.argv[6])
if cert != "-":
    ctx.load_cert_chain(cert, key)
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx,
                                timeout=30)
c.request("POST", "/ztp/v1/" + ep, body,
          {"Content-Type": "application/json"})
r = c.getresponse()
print(r.status, r.read().decode())
PY

# killrun.py N CMD...: run CMD, SIGKILL it once it has written N lines on
# standard error; print "killed" or "done RC". Bounded: 60 s.
cat > "$T/killrun.py" <<'PY'
import os, signal, subprocess, sys, threading
n = int(sys.argv[1])
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
timer = threading.Timer(60, p.kill)
timer.start()
lines = 0
killed = False
for _ in p.stderr:
    lines += 1
    if lines == n:
        p.send_signal(signal.SIGKILL)
        killed = True
        break
rc = p.wait()
timer.cancel()
print("killed" if killed and rc == -signal.SIGKILL else "done %d" % rc)
PY

post() {
	"$PY" "$T/post.py" "$E2E_PORT" "$1" "$2" "$3" "$4" \
		"$T/pki/server-ca.pem"
}

dev() {
	id=$1
	shift
	"$ZTP_DEVICE" --config "$T/dev/$id/device.json" "$@"
}

# op_copy ID DEST: the device's current operational certificate and key
# to DEST.pem and DEST.key; op_cert ID: the certificate's file.
op_copy() { cred_copy "$T/dev/$1/state" operational "$2"; }
op_cert() { cred_cert "$T/dev/$1/state" operational; }

serial_of() {
	"$OPENSSL" x509 -in "$1" -noout -serial | cut -d= -f2
}

# check_op ID TENANT: the current operational credential is complete,
# chains to the device CA, names the device and exactly TENANT (or no
# tenant when TENANT is empty), and its key matches.
check_op() {
	op_copy "$1" "$T/dev/$1/op" || { e2e_fail "$1: no operational credential"; return 0; }
	cert=$T/dev/$1/op.pem
	"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" "$cert" >/dev/null 2>&1 ||
		{ e2e_fail "$1: operational certificate does not verify"; return 0; }
	sans=$("$OPENSSL" x509 -in "$cert" -noout -ext subjectAltName |
		grep -o 'URI:[^,]*' | sort | tr '\n' ' ')
	want="URI:urn:ztp:device:$1 "
	[ -n "$2" ] && want=$(printf 'URI:urn:ztp:device:%s\nURI:urn:ztp:tenant:%s\n' \
		"$1" "$2" | sort | tr '\n' ' ')
	[ "$sans" = "$want" ] || e2e_fail "$1: SAN URIs '$sans', want '$want'"
	kp=$("$OPENSSL" pkey -in "$T/dev/$1/op.key" -pubout 2>/dev/null)
	cp=$("$OPENSSL" x509 -in "$cert" -noout -pubkey)
	[ -n "$kp" ] && [ "$kp" = "$cp" ] || e2e_fail "$1: key does not match"
}

claim() {
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$1" \
		--code - --tenant "$2" < "$3"
}

registration() {
	e2e_registration "$1"
}

devices="life-1 life-2 life-3 life-k life-r"
for id in $devices; do
	e2e_device "$id"
	e2e_enroll "$id"
done
e2e_start_server python server
for id in $devices; do
	e2e_device_config "$id" "$E2E_PORT"
	registration "$id"
done

# ------------------------------------------------------------ 1. lifecycle
n=0
for id in life-1 life-2 life-3 life-k life-r; do
	n=$((n + 1))
	if [ $((n % 2)) = 1 ]; then tenant=acme; else tenant=globex; fi
	dev "$id" run > "$T/dev/$id/run1.out" 2>&1 ||
		{ e2e_fail "$id: first run: $(cat "$T/dev/$id/run1.out")"; continue; }
	check_op "$id" ""
	claim "$id" "$tenant" "$T/dev/$id/claim.txt" ||
		{ e2e_fail "$id: claim"; continue; }
	# The next run checks in, sees the claim and gets tenant credentials.
	dev "$id" run > "$T/dev/$id/run2.out" 2>&1 ||
		e2e_fail "$id: second run: $(cat "$T/dev/$id/run2.out")"
	check_op "$id" "$tenant"
	dev "$id" --json assignment > "$T/dev/$id/assign.json" ||
		e2e_fail "$id: assignment"
	grep -q "\"tenant\":\"$tenant\"" "$T/dev/$id/assign.json" &&
		grep -q "tenants/$tenant/devices/$id/" "$T/dev/$id/assign.json" ||
		e2e_fail "$id: assignment: $(cat "$T/dev/$id/assign.json")"
	echo "$tenant" > "$T/dev/$id/tenant"
done

# Rotation keeps the identity; the old certificate keeps working during
# the overlap (24 h by default).
id=life-1
op_copy "$id" "$T/life-1.old" || e2e_fail "$id: no operational credential"
dev "$id" rotate > "$T/rotate.out" 2>&1 ||
	e2e_fail "$id: rotate: $(cat "$T/rotate.out")"
new=$(op_cert "$id")
[ "$(serial_of "$new")" != "$(serial_of "$T/life-1.old.pem")" ] ||
	e2e_fail "$id: rotate kept the serial"
check_op "$id" acme
r=$(post "$T/life-1.old.pem" "$T/life-1.old.key" assignment '{}')
case $r in
"200 "*) ;;
*) e2e_fail "$id: old certificate refused during the overlap: $r" ;;
esac
e2e_ok "lifecycle of $devices"

# ------------------------------------------------------------ 2. power loss
id=life-k
k=1
while [ $k -le 40 ]; do
	r=$("$PY" "$T/killrun.py" "$k" "$ZTP_DEVICE" --config \
		"$T/dev/$id/device.json" --verbose rotate)
	# Whatever the moment of the kill, the state reads back and the
	# current credential is complete, valid and accepted.
	check_op "$id" globex
	dev "$id" --quiet assignment > /dev/null 2>&1 ||
		e2e_fail "$id: no working credential after a kill at line $k"
	case $r in
	killed) ;;
	"done 0") break ;;
	*) e2e_fail "$id: rotate ended with '$r' (kill at line $k)"; break ;;
	esac
	k=$((k + 1))
done
[ $k -gt 2 ] && [ $k -le 40 ] || e2e_fail "$id: power-loss loop ran $k times"
# After the crashes a run completes whatever was left.
dev "$id" run > "$T/run.out" 2>&1 || e2e_fail "$id: run after crashes"
check_op "$id" globex
e2e_ok "rotation killed at each of $((k - 1)) steps"

# ------------------------------------------------------------ 3. revoked
id=life-r
d=$T/dev/$id
cred_copy "$d/state" bootstrap "$T/r.boot" &&
	op_copy "$id" "$T/r.op" || e2e_fail "$id: no credentials to keep"
"$ZTP_VERIFY" --config "$T/verify.json" revoke --device-id "$id" ||
	e2e_fail "revoke"
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/x.key" -subj "/CN=$id" -out "$T/x.csr" 2>/dev/null
csr=$(awk 'BEGIN { ORS = "\\n" } { print }' "$T/x.csr")
rc=0
dev "$id" bootstrap > "$T/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q device_blocked "$T/out" ||
	e2e_fail "revoked device bootstrap gave $rc: $(cat "$T/out")"
r=$(post "$T/r.boot.pem" "$T/r.boot.key" register \
	'{"device_type":"sensor","firmware_version":"1","capabilities":[]}')
case $r in
"403 "*certificate_revoked*) ;;
*) e2e_fail "revoked device register: $r" ;;
esac
for ep in credentials rotate; do
	r=$(post "$T/r.op.pem" "$T/r.op.key" $ep "{\"csr\":\"$csr\"}")
	case $r in
	"403 "*certificate_revoked*) ;;
	*) e2e_fail "revoked device $ep: $r" ;;
	esac
	rc=0
	dev "$id" $ep > "$T/out" 2>&1 || rc=$?
	[ $rc = 1 ] || e2e_fail "revoked device ztp-device $ep gave $rc"
done
e2e_ok "revoked device refused at bootstrap, register, credentials, rotate"

# ------------------------------------------------------------ 4. claims
e2e_device life-c
e2e_enroll life-c
if claim life-1 globex "$T/dev/life-1/claim.txt" 2>/dev/null; then
	e2e_fail "a used claim code was accepted"
fi
"$OPENSSL" rand 20 | "$PY" -c '
import base64, sys
c = base64.b32encode(sys.stdin.buffer.read()).decode()
print("-".join(c[i:i + 4] for i in range(0, 32, 4)))' > "$T/guess.txt"
if claim life-c acme "$T/guess.txt" 2>/dev/null; then
	e2e_fail "a guessed claim code was accepted"
fi
claim life-c acme "$T/dev/life-c/claim.txt" || e2e_fail "life-c claim"
if claim life-c globex "$T/dev/life-c/claim.txt" 2>/dev/null; then
	e2e_fail "a claim code was used twice"
fi
e2e_ok "claim codes: reuse and guesses refused"

# ------------------------------------------------------------ 5. tenants
# life-1 (acme) asks for globex and for another device in its CSR and in
# its request: the certificate names life-1 and acme only.
id=life-1
op_copy "$id" "$T/dev/$id/op" || e2e_fail "$id: no operational credential"
printf '%s\n' "[req]" "distinguished_name=dn" "[dn]" "[ext]" \
	"subjectAltName=URI:urn:ztp:tenant:globex,URI:urn:ztp:device:life-2" \
	> "$T/evil.cnf"
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/evil.key" -subj "/CN=life-2/O=globex" -config "$T/evil.cnf" \
	-reqexts ext -out "$T/evil.csr" 2>/dev/null
csr=$(awk 'BEGIN { ORS = "\\n" } { print }' "$T/evil.csr")
for ep in credentials rotate; do
	r=$(post "$T/dev/$id/op.pem" "$T/dev/$id/op.key" $ep "{\"csr\":\"$csr\"}")
	case $r in
	"200 "*) ;;
	*) e2e_fail "tenant: $ep: $r"; continue ;;
	esac
	echo "${r#200 }" | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["certificate"], end="")' > "$T/evil.pem"
	sans=$("$OPENSSL" x509 -in "$T/evil.pem" -noout -ext subjectAltName |
		grep -o 'URI:[^,]*' | sort | tr '\n' ' ')
	[ "$sans" = "URI:urn:ztp:device:life-1 URI:urn:ztp:tenant:acme " ] ||
		e2e_fail "tenant: $ep issued SANs '$sans'"
	subj=$("$OPENSSL" x509 -in "$T/evil.pem" -noout -subject -nameopt compat)
	[ "$subj" = "subject=/CN=life-1" ] || e2e_fail "tenant: subject '$subj'"
	case $r in *globex*|*life-2*) e2e_fail "tenant: $ep answer names B" ;; esac
done
r=$(post "$T/dev/$id/op.pem" "$T/dev/$id/op.key" credentials \
	"{\"csr\":\"$csr\",\"tenant\":\"globex\"}")
case $r in
"400 "*malformed_request*) ;;
*) e2e_fail "tenant: a tenant in the request was not refused: $r" ;;
esac
r=$(post "$T/dev/$id/op.pem" "$T/dev/$id/op.key" assignment '{}')
case $r in
"200 "*'"tenant":"acme"'*) case $r in *globex*) e2e_fail "assignment names globex" ;; esac ;;
*) e2e_fail "tenant: assignment: $r" ;;
esac
e2e_ok "tenant A never receives tenant B"

# ------------------------------------------------------------ 6. factory
id=life-2
r=$(post "$T/dev/$id/factory.pem" "$T/dev/$id/factory.key" register \
	'{"device_type":"sensor","firmware_version":"1","capabilities":[]}')
case $r in
"401 "*untrusted_certificate*) ;;
*) e2e_fail "register with the factory certificate: $r" ;;
esac
r=$(post "$T/dev/$id/factory.pem" "$T/dev/$id/factory.key" credentials \
	"{\"csr\":\"$csr\"}")
case $r in
"401 "*untrusted_certificate*) ;;
*) e2e_fail "credentials with the factory certificate: $r" ;;
esac
e2e_ok "factory certificate refused for register and credentials"

# ------------------------------------------------------------ 7. reset, CRL
id=life-2
old_op=$(serial_of "$(op_cert "$id")")
old_boot=$(serial_of "$(cred_cert "$T/dev/$id/state" bootstrap)")
"$ZTP_VERIFY" --config "$T/verify.json" reset --device-id "$id" \
	> "$T/dev/$id/claim2.txt" || e2e_fail "reset"
r=$(post - - crl '{}')
case $r in
"200 "*) ;;
*) e2e_fail "crl: $r" ;;
esac
echo "${r#200 }" | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["crl"], end="")' > "$T/crl.pem"
"$OPENSSL" crl -in "$T/crl.pem" -noout -text > "$T/crl.txt" ||
	e2e_fail "openssl crl -text"
"$OPENSSL" crl -in "$T/crl.pem" -noout -CAfile "$T/pki/device-ca.pem" \
	2>/dev/null || e2e_fail "the CRL does not verify"
for s in "$old_op" "$old_boot"; do
	grep -Eqi "Serial Number: *0*$s\$" "$T/crl.txt" ||
		e2e_fail "reset: serial $s is not in the CRL"
done
grep -q "Affiliation Changed" "$T/crl.txt" ||
	e2e_fail "reset: no affiliationChanged reason in the CRL"
# The revoked device's certificates are there too.
for f in "$T/r.boot.pem" "$T/r.op.pem"; do
	grep -Eqi "Serial Number: *0*$(serial_of "$f")\$" "$T/crl.txt" ||
		e2e_fail "revoke: $f is not in the CRL"
done
# Reprovisioned to the other tenant: the device notices the reset, starts
# over with its factory certificate, and the new owner claims it.
dev "$id" run > "$T/run.out" 2>&1 || true
claim "$id" acme "$T/dev/$id/claim2.txt" || e2e_fail "claim after reset"
dev "$id" run > "$T/run.out" 2>&1 || dev "$id" run > "$T/run.out" 2>&1 ||
	e2e_fail "run after reset: $(cat "$T/run.out")"
check_op "$id" acme
dev "$id" --json assignment > "$T/a.json" || e2e_fail "assignment after reset"
grep -q '"tenant":"acme"' "$T/a.json" || e2e_fail "reset: $(cat "$T/a.json")"
e2e_ok "reset: old certificates in the CRL, reprovisioned to acme"

e2e_done
