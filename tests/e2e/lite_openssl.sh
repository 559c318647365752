#!/bin/sh
# End to end: the portable device core on libztp's OpenSSL + libcurl port
# (tests/ztp-device-lite-openssl, <ztp/port_openssl.h>) against the Go
# reference server:
#  1. every case of the mbedTLS port (tests/e2e/lite-flow.sh);
#  2. what only this port has: a factory key in a PKCS#11 token (SoftHSM2)
#     and one in a TPM (swtpm, tpm2-openssl), signing the transcript and
#     the TLS client authentication where they live; Ed25519 operational
#     keys;
#  3. a server whose certificate does not name the host: refused (exit 3,
#     not retried);
#  4. one state directory, two ports: a device provisioned by one port
#     checks in with the credentials it holds on the other, both ways
#     (when the mbedTLS port is built);
#  5. what the port refuses in its configuration, before touching
#     anything: RSA keys, Ed25519 keys for a token, a token URI naming an
#     object, a factory key the token does not hold, one that is not the
#     certificate's;
#  6. generated keys in a token (operational_key): run, then a rotation
#     when due; each certificate is for the key of its slot's object
#     (LABEL-KIND-SLOT), the blobs are references, no private key on
#     disk, and the rotation deletes the retired slot's object;
#  7. a state directory ztp-device kept, taken over: key files, and keys
#     in a token; the same certificates, the time floor, the old layout
#     moved aside, a run that registers again and then only checks in;
#     refused, with nothing taken, when the token is not configured or a
#     certificate was changed;
# Power loss on this port and the mbedTLS one: tests/e2e/lite_crash.sh.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_need_go_server
E2E_KIND=go
ZTP_LITE=$top_builddir/tests/ztp-device-lite-openssl
LITE_TOKEN_KEYS=1
MBED=$top_builddir/tools/ztp-device-mbedtls
. "$E2E_DIR/lite-flow.sh"

# lite_key_device ID FACTORY_KEY: the configuration of a device whose
# factory key is FACTORY_KEY (a key source), with its registration.
lite_key_device() {
	e2e_key_device_config "$T/dev/$1" "$2"
	lite_config_set "$1" '{"device_id": "'"$1"'"}'
}

# lite_provisioned ID WHAT: a run did bootstrap, register and credentials
# and left verified certificates.
lite_provisioned() {
	if lite_run "$1"; then
		grep -qx 'run: \["bootstrap","register","credentials"\]' \
			"$T/dev/$1/lite.out" ||
			e2e_fail "$1: run did $(cat "$T/dev/$1/lite.out")"
		lite_check_cred "$1" bootstrap 0
		lite_check_cred "$1" operational 30
		e2e_ok "$1: provisioned, $2"
	else
		cat "$T/dev/$1/lite.err"
		e2e_fail "$1: run failed ($2)"
	fi
}

# 2. Keys where they live.
softhsm_init
softhsm_token factory
d=$T/dev/lite-tok
mkdir -p "$d"
softhsm_keygen factory lite-tok-factory
softhsm_csr factory lite-tok-factory lite-tok "$d/factory.csr"
e2e_factory_cert lite-tok
e2e_enroll lite-tok
e2e_swtpm
d=$T/dev/lite-tpm
mkdir -p "$d"
e2e_tpm_key 0x81000001 ecc256
"$OPENSSL" req -new -provider tpm2 -provider default -key handle:0x81000001 \
	-subj /CN=lite-tpm -out "$d/factory.csr" ||
	e2e_die "cannot make a CSR with the TPM key"
e2e_factory_cert lite-tpm
e2e_enroll lite-tpm
for id in lite-ed lite-mt lite-host; do
	e2e_device "$id"
	e2e_enroll "$id"
done

e2e_start_server go server
lite_key_device lite-tok "$(softhsm_uri factory lite-tok-factory)"
lite_provisioned lite-tok "factory key in a PKCS#11 token"
[ -z "$(grep -rl 'PRIVATE KEY' "$T/dev/lite-tok" --include=factory* 2>/dev/null)" ] ||
	e2e_fail "lite-tok: a factory private key on disk"
lite_key_device lite-tpm tpm2:handle=0x81000001
lite_provisioned lite-tpm "factory key in a TPM"

e2e_device_config lite-ed "$E2E_PORT"
e2e_registration lite-ed
lite_config_set lite-ed '{"key_type": "ed25519"}'
lite_provisioned lite-ed "Ed25519 keys"
for kind in bootstrap operational; do
	base=$(lite_cred lite-ed $kind) &&
		"$OPENSSL" x509 -in "$base.cert" -noout -text |
		grep -q 'Public Key Algorithm: ED25519' ||
		e2e_fail "lite-ed: the $kind certificate is not for an Ed25519 key"
done

# 4. One state directory, two ports.
if [ -x "$MBED" ]; then
	# lite_checks_in TOOL ID: one run with TOOL only checks in.
	lite_checks_in() {
		d=$T/dev/$2
		if "$1" --config "$d/device.json" --verbose run > "$d/lite.out" \
			2> "$d/lite.err" && grep -qx 'run: nothing to do' "$d/lite.out" &&
			[ "$(lite_stat "$2" requests)" = 1 ]; then
			e2e_ok "$2: $(basename "$1") checks in with the other port's credentials"
		else
			cat "$d/lite.out" "$d/lite.err"
			e2e_fail "$2: $(basename "$1") cannot use the other port's state"
		fi
	}
	e2e_device_config lite-mt "$E2E_PORT"
	e2e_registration lite-mt
	"$MBED" --config "$T/dev/lite-mt/device.json" run > "$T/dev/lite-mt/mt.out" 2>&1 ||
		e2e_fail "lite-mt: ztp-device-mbedtls run: $(cat "$T/dev/lite-mt/mt.out")"
	lite_checks_in "$ZTP_LITE" lite-mt
	# provisioned by this port in lite-flow.sh, against an earlier server
	e2e_device_config lite-002 "$E2E_PORT"
	e2e_registration lite-002
	lite_checks_in "$MBED" lite-002
else
	echo "ztp-device-mbedtls is not built (--without-mbedtls): the shared-state cases not run"
fi
e2e_stop_server "$E2E_PID"

# 3. A server certificate for another name (chains to ca_file).
e2e_server_cert "$T/pki/server-ca.pem" "$T/pki/server-ca.key" othername \
	--dns other.example
e2e_start_server go othername
e2e_device_config lite-host "$E2E_PORT"
e2e_registration lite-host
lite_expect lite-host 3 "network_error: run: .*certificate is refused"
lite_no_retry lite-host
e2e_stop_server "$E2E_PID"

# 5. Refused configurations: exit 2, the member named, no state made.
conf_refused() { # conf_refused NAME JSON_MEMBERS PATTERN
	d=$T/dev/conf-$1
	mkdir -p "$d"
	cp "$T/dev/lite-host/factory.pem" "$d/"
	printf '{"base_url": "https://127.0.0.1:1", "ca_file": "%s",
	  "factory_cert": "factory.pem", "state_dir": "state", %s}\n' \
		"$T/pki/server-ca.pem" "$2" > "$d/device.json"
	rc=0
	"$ZTP_LITE" --config "$d/device.json" run > "$d/out" 2> "$d/err" || rc=$?
	if [ "$rc" = 2 ] && grep -q "$3" "$d/err" && [ ! -e "$d/state" ]; then
		e2e_ok "$1: refused: $(cat "$d/err")"
	else
		e2e_fail "$1: exit $rc: $(cat "$d/err")"
	fi
}
conf_refused tokobj "\"factory_key\": \"file:../lite-host/factory.key\", \"operational_key\": {\"token\": \"$(softhsm_uri factory k)\"}" \
	'operational_key: .*names an object'
conf_refused toked "\"factory_key\": \"file:../lite-host/factory.key\", \"key_type\": \"ed25519\", \"operational_key\": {\"token\": \"$(softhsm_uri factory)\"}" \
	'operational_key: a token makes ec-p256 or ec-p384 keys'
conf_refused rsa '"factory_key": "file:../lite-host/factory.key", "key_type": "rsa-2048"' \
	'key_type: the OpenSSL port generates ec-p256, ec-p384 or ed25519'
conf_refused nokey "\"factory_key\": \"$(softhsm_uri factory nobody)\"" \
	'factory_key: .*nobody'
conf_refused wrongkey '"factory_key": "file:../lite-001/factory.key"' \
	'factory_key does not belong to factory_cert'

# 6. Generated keys in a token, and a rotation: operational certificates
# of one hour, and a floor 50 minutes ahead makes the rotation due (as in
# lite_python.sh).
softhsm_token ops
id=lite-tokops
e2e_device "$id"
e2e_enroll "$id"
e2e_json_edit "$T/verify.json" 'c["operational_lifetime"] = 3600'
e2e_start_server go server
e2e_device_config "$id" "$E2E_PORT"
e2e_registration "$id"
lite_config_set "$id" "{\"operational_key\": {\"token\": \"$(softhsm_uri ops)\", \"label\": \"$id\"}}"

# tok_check KIND SLOT: the current credential of KIND is in SLOT, chains
# to the device CA, and is for the public key of the object $id-KIND-SLOT;
# its key blob is a reference to that object.
tok_check() {
	base=$(lite_cred "$id" "$1") && [ "$base" = "$T/dev/$id/state/$1.$2" ] ||
		{ e2e_fail "$id: the current $1 credential is not in slot $2"; return 0; }
	"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" "$base.cert" >/dev/null 2>&1 ||
		e2e_fail "$id: $1 certificate does not verify"
	grep -q "^token:object=$id-$1-$2;id=" "$base.key" ||
		e2e_fail "$id: $1 key blob is not a reference: $(head -c 40 "$base.key")"
	softhsm_cert_key "$base.cert" ops "$id-$1-$2" &&
		e2e_ok "$id: $1 certificate is for the token key $id-$1-$2" ||
		e2e_fail "$id: $1 certificate is not for the token key $id-$1-$2"
}
if lite_run "$id" && grep -qx 'run: \["bootstrap","register","credentials"\]' "$T/dev/$id/lite.out"; then
	tok_check bootstrap a
	tok_check operational a
else
	cat "$T/dev/$id/lite.out" "$T/dev/$id/lite.err"
	e2e_fail "$id: run with keys in the token failed"
fi
grep -rl 'PRIVATE KEY' "$T/dev/$id/state" > "$T/privs" 2>/dev/null || :
[ -s "$T/privs" ] && e2e_fail "$id: private keys on disk: $(cat "$T/privs")"
ahead=$("$PY" -c 'import datetime, time
print(datetime.datetime.fromtimestamp(time.time() + 3000,
      datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
lite_config_set "$id" "{\"clock\": \"untrusted\", \"build_time\": \"$ahead\"}"
if lite_run "$id" && grep -qx 'run: \["rotate"\]' "$T/dev/$id/lite.out"; then
	tok_check operational b
	left=$(softhsm_labels ops privkey | tr '\n' ' ')
	[ "$left" = "$id-bootstrap-a $id-operational-b " ] &&
		e2e_ok "$id: the rotation deleted the retired key (token holds: $left)" ||
		e2e_fail "$id: after the rotation the token holds: $left"
else
	cat "$T/dev/$id/lite.out" "$T/dev/$id/lite.err"
	e2e_fail "$id: no rotation with keys in the token"
fi
# A key blob edited to name another object of the token (a longer label
# under the same prefix, the id copied): refused, the key not used.
blob=$T/dev/$id/state/operational.b.key
cp "$blob" "$T/blob.keep"
sed "s/^token:object=$id-operational-b;/token:object=$id-operational-bx;/" \
	"$T/blob.keep" > "$blob"
rc=0
lite_run "$id" || rc=$?
if [ $rc != 0 ] && grep -q 'not a reference to a key this device made' "$T/dev/$id/lite.err"; then
	e2e_ok "$id: a key blob naming another object: refused (exit $rc)"
else
	e2e_fail "$id: an edited key blob: exit $rc: $(cat "$T/dev/$id/lite.err")"
fi
cp "$T/blob.keep" "$blob"

# 7. Taking over what ztp-device kept.
# mig_fp ID KIND: the SHA-256 fingerprint of the core's current KIND
# certificate of ID.
mig_fp() {
	b=$(lite_cred "$1" "$2") && "$OPENSSL" x509 -in "$b.cert" -noout -fingerprint -sha256
}
# ztpd_fp ID KIND: the same for ztp-device's (before the take-over).
ztpd_fp() {
	"$ZTP_DEVICE" --config "$T/dev/$1/device.json" --json status |
		"$PY" -c 'import json, sys
c = json.load(sys.stdin)["status"]["credentials"][sys.argv[1]]
print(c["fingerprint"] if c else "")' "$2"
}
# mig_check ID: after ztp-device provisioned ID, the port takes its state
# over: the same bootstrap and operational certificates, the old layout
# in ztp-device.migrated/, a first run that registers again (one request)
# and a second that only checks in.
mig_check() {
	md=$T/dev/$1
	bfp=$(ztpd_fp "$1" bootstrap) ofp=$(ztpd_fp "$1" operational)
	if lite_run "$1" && grep -qx 'run: \["register"\]' "$md/lite.out" &&
		[ "$(lite_stat "$1" requests)" = 1 ]; then
		b=$(mig_fp "$1" bootstrap | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
		o=$(mig_fp "$1" operational | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
		[ -n "$bfp" ] && [ "$b" = "$bfp" ] && [ "$o" = "$ofp" ] &&
			e2e_ok "$1: taken over: the same bootstrap and operational certificates" ||
			e2e_fail "$1: certificates after the take-over: $b $o, not $bfp $ofp"
		[ -d "$md/state/ztp-device.migrated/operational" ] &&
			[ ! -e "$md/state/operational" ] ||
			e2e_fail "$1: the old layout was not moved aside"
	else
		cat "$md/lite.out" "$md/lite.err"
		e2e_fail "$1: the first run after the take-over"
	fi
	if lite_run "$1" && grep -qx 'run: nothing to do' "$md/lite.out" &&
		[ "$(lite_stat "$1" requests)" = 1 ]; then
		e2e_ok "$1: the next run only checks in"
	else
		cat "$md/lite.out" "$md/lite.err"
		e2e_fail "$1: the second run after the take-over"
	fi
}
e2e_start_server go server
# Key files, without a trustworthy clock (ztp-device's floor, clock.json).
id=lite-mig
e2e_device "$id"
e2e_enroll "$id"
e2e_device_config "$id" "$E2E_PORT"
e2e_registration "$id"
lite_config_set "$id" '{"clock": "untrusted"}'
"$ZTP_DEVICE" --config "$T/dev/$id/device.json" run > "$T/dev/$id/ztpd.out" 2>&1 ||
	e2e_die "$id: ztp-device run: $(cat "$T/dev/$id/ztpd.out")"
want=$("$PY" -c 'import json, sys, datetime
f = json.load(open(sys.argv[1]))["floor"]
print(int(datetime.datetime.strptime(f, "%Y-%m-%dT%H:%M:%SZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()))' "$T/dev/$id/state/clock.json")
# A brokers.json longer than any valid list (8 URLs of 255 characters,
# every one escaped) is not taken, and does not stop the take-over.
"$PY" -c 'import json, sys
json.dump({"brokers": ["mqtts://" + "b" * 4200]}, open(sys.argv[1], "w"))' \
	"$T/dev/$id/state/brokers.json"
mig_check "$id"
[ ! -e "$T/dev/$id/state/brokers" ] &&
	e2e_ok "$id: an oversized brokers.json not taken" ||
	e2e_fail "$id: brokers taken over from an oversized brokers.json: $(head -c 60 "$T/dev/$id/state/brokers")"
got=$(cat "$T/dev/$id/state/time-floor" 2>/dev/null || :)
# (Neither run learns the server's time: register and assignment answers
# carry none.)
[ -n "$want" ] && [ "$got" = "$want" ] &&
	e2e_ok "$id: the time floor taken over ($want)" ||
	e2e_fail "$id: time floor $got, ztp-device's was $want"

# Keys in a token (factory key and generated keys): the references taken.
id=lite-migtok
d=$T/dev/$id
mkdir -p "$d"
softhsm_keygen factory "$id-factory" 03
softhsm_csr factory "$id-factory" "$id" "$d/factory.csr"
e2e_factory_cert "$id"
e2e_enroll "$id"
e2e_key_device_config "$d" "$(softhsm_uri factory "$id-factory")" \
	"$(softhsm_uri ops)" "$id"
"$ZTP_DEVICE" --config "$d/device.json" run > "$d/ztpd.out" 2>&1 ||
	e2e_die "$id: ztp-device run: $(cat "$d/ztpd.out")"
# mig_refused WHAT PATTERN PYTHON: with the configuration edited by PYTHON
# (c, the full one), the take-over is refused (exit 5, PATTERN) with
# nothing taken.
mig_refused() {
	"$PY" - "$d/full.json" "$d/device.json" "$3" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
	rc=0
	"$ZTP_LITE" --config "$d/device.json" run > "$d/lite.out" 2> "$d/lite.err" || rc=$?
	if [ $rc = 5 ] && grep -q "$2" "$d/lite.err" &&
		[ ! -e "$d/state/operational.manifest" ] && [ -d "$d/state/operational" ]; then
		e2e_ok "$id: $1: refused (exit 5), nothing taken"
	else
		e2e_fail "$id: $1: exit $rc: $(cat "$d/lite.err")"
	fi
}
cp "$d/device.json" "$d/full.json"
# Without operational_key the port cannot follow the references; with one
# of another label they are not the port's to follow.
mig_refused "no operational_key" \
	'taking over the ztp-device state: .*key.ref: a key in a token' \
	'del c["operational_key"]'
mig_refused "operational_key of another label" \
	'key.ref: a key in a token that the configured operational_key does not name' \
	'c["operational_key"]["label"] = "other"'
mv "$d/full.json" "$d/device.json"
mig_check "$id"
grep -q "^token:object=$id-operational-" "$(lite_cred "$id" operational).key" ||
	e2e_fail "$id: the operational key blob is not a reference"
left=$(softhsm_labels ops privkey | grep -c "^$id-" || :)
[ "$left" = 2 ] || e2e_fail "$id: the token holds $left keys of $id, not 2"

# A certificate changed under ztp-device's manifest: refused, nothing
# taken.
id=lite-migbad
e2e_device "$id"
e2e_enroll "$id"
e2e_device_config "$id" "$E2E_PORT"
e2e_registration "$id"
"$ZTP_DEVICE" --config "$T/dev/$id/device.json" run > "$T/dev/$id/ztpd.out" 2>&1 ||
	e2e_die "$id: ztp-device run: $(cat "$T/dev/$id/ztpd.out")"
slot=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["current"])' \
	"$T/dev/$id/state/operational/current.json")
cp "$T/dev/lite-mig/state/ztp-device.migrated/operational/$(
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["current"])' \
	"$T/dev/lite-mig/state/ztp-device.migrated/operational/current.json")/cert.pem" \
	"$T/dev/$id/state/operational/$slot/cert.pem"
rc=0
lite_run "$id" || rc=$?
if [ $rc != 0 ] && grep -q 'taking over the ztp-device state' "$T/dev/$id/lite.err" &&
	[ ! -e "$T/dev/$id/state/operational.manifest" ] &&
	[ ! -e "$T/dev/$id/state/bootstrap.manifest" ]; then
	e2e_ok "$id: a changed certificate: refused (exit $rc), nothing taken"
else
	e2e_fail "$id: a changed certificate: exit $rc: $(cat "$T/dev/$id/lite.err")"
fi

e2e_stop_server "$E2E_PID"
e2e_done
