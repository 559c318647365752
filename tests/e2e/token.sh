#!/bin/sh
# End to end, device keys in PKCS#11 tokens (SoftHSM2, made fresh in the
# test's directory): the factory key in one token, the generated
# (bootstrap and operational) keys in another, `ztp-device run` against
# the Python reference server over real mutual TLS.
#
#  1. run: bootstrap (transcript signature and TLS client authentication
#     by the factory token), register, credentials; each certificate is
#     for the public key of its slot's object in the second token; no
#     private key anywhere under the device's directory; the token reports
#     its keys sensitive, always sensitive and never extractable;
#  2. claim, run: tenant credentials; rotate: a new key object under the
#     spare slot's label, the old one deleted once the new one is current;
#  3. power loss during rotation: the process is SIGKILLed at each step
#     (start, key made, answer received, probe, switched, old key deleted,
#     done); after each kill the state reads back, the current key and
#     certificate work (assignment over mTLS), and a new rotation
#     completes, leaving exactly one operational key in the token; the
#     same for a bootstrap credential replaced, killed where the token
#     changes (key made, answer received, switched, old key deleted);
#  4. the token refuses: a wrong PIN, a factory key the token does not
#     hold, and a module path that does not exist, each a clear error;
#  5. the same lifecycle (run, rotate) for a second device with the
#     server's device CA key in a token too (ztp-ca init-root
#     --create-key, device_ca.key a pkcs11: URI).
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
softhsm_init
e2e_pki
e2e_json_edit "$T/verify.json" \
	'c["rate_limits"]["lifecycle"] = {"rate": 100, "burst": 1000}'

id=tok-1
d=$T/dev/$id
mkdir -p "$d"
softhsm_token factory
softhsm_token ops
softhsm_keygen factory "$id-factory"
softhsm_csr factory "$id-factory" "$id" "$d/factory.csr"
e2e_factory_cert "$id"
e2e_enroll "$id"
e2e_start_server python server

FACTORY_KEY=$(softhsm_uri factory "$id-factory")
# device_config FACTORY_KEY OPS_TOKEN_URI
device_config() { e2e_key_device_config "$d" "$1" "$2" "$id"; }
device_config "$FACTORY_KEY" "$(softhsm_uri ops)"

dev() {
	"$ZTP_DEVICE" --config "$d/device.json" "$@"
}

# cur_slot KIND: the current slot of KIND, from `ztp-device status`.
cur_slot() {
	dev --json status > "$d/status.json" || return 1
	"$PY" -c '
import json, sys
c = json.load(open(sys.argv[1]))["status"]["credentials"][sys.argv[2]]
print(c["slot"] if c else "")' "$d/status.json" "$1"
}

# check_kind KIND: the current credential of KIND verifies, its
# certificate is for the public key of the token object of its slot, and
# the slot holds a key.ref, not a key.
check_kind() {
	slot=$(cur_slot "$1") && [ -n "$slot" ] ||
		{ e2e_fail "no current $1 credential"; return 0; }
	sd=$d/state/$1/$slot
	"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" "$sd/cert.pem" \
		>/dev/null 2>&1 || e2e_fail "$1: certificate does not verify"
	[ -f "$sd/key.ref" ] && [ ! -e "$sd/key.pem" ] ||
		e2e_fail "$1: slot $slot holds no key.ref, or a key file"
	softhsm_cert_key "$sd/cert.pem" ops "$id-$1-$slot" ||
		e2e_fail "$1: certificate is not for the token's key $id-$1-$slot"
}

# no_private_keys: nothing under the device's directory holds a private
# key (the factory key and every generated key are in tokens).
no_private_keys() {
	found=$(grep -rl 'PRIVATE KEY' "$d" 2>/dev/null || :)
	[ -z "$found" ] || e2e_fail "private keys on disk: $found"
	[ -z "$(find "$d/state" -name key.pem)" ] || e2e_fail "key.pem in the state"
}

# ------------------------------------------------------------ 1. run
if dev --json run > "$d/run.out" 2> "$d/run.err"; then
	grep -q '"actions":\["bootstrap","register","credentials"\]' "$d/run.out" ||
		e2e_fail "run did $(cat "$d/run.out")"
else
	cat "$d/run.err"
	e2e_die "ztp-device run with keys in tokens failed"
fi
check_kind bootstrap
check_kind operational
no_private_keys
privs=$(softhsm_labels ops privkey | tr '\n' ' ')
[ "$privs" = "$id-bootstrap-a $id-operational-a " ] ||
	e2e_fail "ops token private keys: '$privs'"
attrs=$(softhsm_p11 --token-label ops --login --pin "$SOFTHSM_PIN" --list-objects \
	--type privkey 2>/dev/null | sed -n 's/^ *Access: *//p' | sort -u)
[ "$attrs" = "sensitive, always sensitive, never extractable, local" ] ||
	e2e_fail "token key access: '$attrs'"
# (pkcs11-tool --read-object cannot read a private key of any kind, so
# it would prove nothing; the attributes above are what the token
# enforces.)
e2e_ok "bootstrap, register, credentials with the factory and operational keys in tokens"

# ------------------------------------------------------------ 2. claim, rotate
"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" --code - \
	--tenant acme < "$d/claim.txt" || e2e_fail "claim"
dev run > "$d/run2.out" 2>&1 || e2e_fail "second run: $(cat "$d/run2.out")"
check_kind operational
"$OPENSSL" x509 -in "$(cred_cert "$d/state" operational)" \
	-noout -ext subjectAltName | grep -q 'URI:urn:ztp:tenant:acme' ||
	e2e_fail "no tenant in the operational certificate"
before=$(cur_slot operational)
dev rotate > "$d/rotate.out" 2>&1 || e2e_fail "rotate: $(cat "$d/rotate.out")"
after=$(cur_slot operational)
[ "$before" != "$after" ] || e2e_fail "rotate stayed in slot $before"
check_kind operational
ops=$(softhsm_labels ops privkey | grep -c -- "-operational-" || :)
[ "$ops" = 1 ] && softhsm_labels ops privkey | grep -qx -- "$id-operational-$after" ||
	e2e_fail "after rotate the token holds: $(softhsm_labels ops privkey | tr '\n' ' ')"
no_private_keys
e2e_ok "rotate: new key under slot $after's label, the old one deleted"

# ------------------------------------------------------------ 3. power loss
for p in start key response probe switched retired done; do
	rc=0
	ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
		$PYRUN "$E2E_DIR/crash_device.py" "$d/device.json" "$p" rotate \
		> "$d/crash.out" 2> "$d/crash.err" || rc=$?
	if [ "$rc" -ne 137 ]; then
		cat "$d/crash.err"
		e2e_fail "not killed at $p (exit $rc)"
		continue
	fi
	# Whatever the moment: the state reads back, and the current key and
	# certificate work.
	check_kind operational
	dev --quiet assignment > /dev/null 2> "$d/assign.err" ||
		e2e_fail "no working credential after a kill at $p: $(cat "$d/assign.err")"
	n=$(softhsm_labels ops privkey | grep -c -- "-operational-" || :)
	[ "$n" -ge 1 ] && [ "$n" -le 2 ] ||
		e2e_fail "$n operational keys in the token after a kill at $p"
	dev rotate > "$d/rotate.out" 2>&1 ||
		e2e_fail "rotate after a kill at $p: $(cat "$d/rotate.out")"
	check_kind operational
	cur=$(cur_slot operational)
	left=$(softhsm_labels ops privkey | grep -- "-operational-" | tr '\n' ' ')
	[ "$left" = "$id-operational-$cur " ] ||
		e2e_fail "after the kill at $p and a rotation the token holds '$left'"
	e2e_ok "rotation killed at $p: one working key and certificate throughout"
done
# A new bootstrap credential replacing the current one, killed at the
# steps where the token changes: the old one works until the new one is
# current, and one bootstrap key is left in the token in the end.
for p in key response switched retired; do
	rc=0
	ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
		$PYRUN "$E2E_DIR/crash_device.py" "$d/device.json" "$p" bootstrap \
		> "$d/crash.out" 2> "$d/crash.err" || rc=$?
	[ "$rc" -eq 137 ] || { cat "$d/crash.err"; e2e_fail "bootstrap not killed at $p (exit $rc)"; continue; }
	check_kind bootstrap
	dev bootstrap > "$d/boot.out" 2>&1 ||
		e2e_fail "bootstrap after a kill at $p: $(cat "$d/boot.out")"
	check_kind bootstrap
	left=$(softhsm_labels ops privkey | grep -- "-bootstrap-" | tr '\n' ' ')
	[ "$left" = "$id-bootstrap-$(cur_slot bootstrap) " ] ||
		e2e_fail "after the kill at $p and a bootstrap the token holds '$left'"
	e2e_ok "bootstrap killed at $p: one working key and certificate throughout"
done
no_private_keys

# ------------------------------------------------------------ 4. refusals
# expect_refusal FACTORY_KEY TEXT: loading the configuration fails, with
# TEXT in the message.
expect_refusal() {
	device_config "$1" "$(softhsm_uri ops)"
	rc=0
	dev status > "$d/out" 2>&1 || rc=$?
	if [ $rc = 0 ] || ! grep -qi -- "$2" "$d/out"; then
		e2e_fail "'$1': exit $rc, '$(cat "$d/out")' (want $2)"
	else
		e2e_ok "refused: $2"
	fi
}
printf '9999\n' > "$T/wrong.pin"
expect_refusal "pkcs11:token=factory;object=$id-factory?pin-source=file:$T/wrong.pin&module-path=$SOFTHSM_MODULE" \
	"PIN"
expect_refusal "$(softhsm_uri factory nobody)" "no private key object=nobody"
expect_refusal "pkcs11:token=factory;object=$id-factory?pin-source=file:$T/pin&module-path=$T/no-such-module.so" \
	"no-such-module"
device_config "$FACTORY_KEY" "$(softhsm_uri ops)"
dev --quiet assignment > /dev/null 2>&1 || e2e_fail "the device no longer works"

# ------------------------------------------------------------ 5. device CA too
# The server's device CA in a SoftHSM2 token of its own (made there by
# ztp-ca), a second device with its keys in the device tokens: every key
# of the exchange is in a token.
e2e_stop_server "$E2E_PID"
softhsm_token devca
"$ZTP_CA" init-root --cert "$T/pki/hsm-device-ca.pem" \
	--key "$(softhsm_uri devca device-ca)" --create-key \
	--subject "/CN=Token Device CA/O=Fleet" --days 3650 > /dev/null ||
	e2e_die "ztp-ca init-root with a token key"
e2e_json_edit "$T/verify.json" \
	'c["device_ca"] = {"cert": "pki/hsm-device-ca.pem", "key": args[0]}' \
	"$(softhsm_uri devca device-ca)"
e2e_start_server python server
id=tok-2
d=$T/dev/$id
mkdir -p "$d"
softhsm_keygen factory "$id-factory" 02
softhsm_csr factory "$id-factory" "$id" "$d/factory.csr"
e2e_factory_cert "$id"
e2e_enroll "$id"
device_config "$(softhsm_uri factory "$id-factory")" "$(softhsm_uri ops)"
if dev run > "$d/run.out" 2>&1 && dev rotate > "$d/rotate.out" 2>&1; then
	for k in bootstrap operational; do
		"$OPENSSL" verify -CAfile "$T/pki/hsm-device-ca.pem" \
			"$d/state/$k/$(cur_slot $k)/cert.pem" > /dev/null 2>&1 ||
			e2e_fail "$id: $k certificate does not verify against the token CA"
		softhsm_pubkey ops "$id-$k-$(cur_slot $k)" > /dev/null ||
			e2e_fail "$id: no $k key in the token"
	done
	no_private_keys
	e2e_ok "run and rotate with the device CA, factory and operational keys all in tokens"
else
	cat "$d/run.out" "$d/rotate.out" 2>/dev/null
	e2e_fail "$id: run or rotate with the device CA in a token failed"
fi

e2e_stop_server "$E2E_PID"
e2e_done
