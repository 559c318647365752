#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The device's whole lifecycle against the real verifier, hosted by the
# Python reference server over mutual TLS on 127.0.0.1: `ztp-device run`
# bootstraps, registers and obtains operational credentials; runs again
# with nothing to do; rotates while unclaimed (the probe's device_state is
# accepted); picks up a claim (new credentials naming the tenant, matching
# the assignment); rotates while claimed; and after a reset (its
# certificates revoked) starts over from the factory identity.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki

id=dev-life
e2e_device "$id"
e2e_enroll "$id"
D=$T/dev/$id
e2e_start_server python server
e2e_device_config "$id" "$E2E_PORT"
"$PYTHON3" - "$D/device.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["registration"] = {"device_type": "sensor", "firmware_version": "1.0",
                     "capabilities": ["temperature"]}
json.dump(c, open(sys.argv[1], "w"))
EOF

dev() { "$ZTP_DEVICE" --config "$D/device.json" "$@"; }
actions() { # actions JSON-FILE -> the actions array, compact
	"$PYTHON3" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["actions"]))' "$1"
}
op_field() { # op_field JSON-FILE FIELD
	"$PYTHON3" -c 'import json,sys; o=json.load(open(sys.argv[1]))["status"]["credentials"]["operational"]; print(o[sys.argv[2]] if o else "")' "$1" "$2"
}
op_cert() { cred_cert "$D/state" operational; }
check_op() { # check_op LABEL [TENANT]
	c=$(op_cert)
	"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" -purpose sslclient \
		"$c" >/dev/null 2>&1 || e2e_fail "$1: operational cert does not chain"
	"$OPENSSL" x509 -in "$c" -noout -ext subjectAltName >"$T/san" 2>/dev/null
	grep -q "URI:urn:ztp:device:$id" "$T/san" || e2e_fail "$1: no device URI"
	if [ -n "${2:-}" ]; then
		grep -q "URI:urn:ztp:tenant:$2" "$T/san" || e2e_fail "$1: no tenant $2"
	elif grep -q "urn:ztp:tenant:" "$T/san"; then
		e2e_fail "$1: names a tenant before any claim"
	fi
	k=$(dirname "$c")/key.pem
	[ "$("$OPENSSL" pkey -in "$k" -pubout)" = "$("$OPENSSL" x509 -in "$c" -noout -pubkey)" ] ||
		e2e_fail "$1: key does not match"
	e2e_ok "$1: operational credential verified"
}

dev --json run >"$T/run1.json" || e2e_die "first run failed: $(cat "$T/run1.json")"
[ "$(actions "$T/run1.json")" = bootstrap,register,credentials ] ||
	e2e_fail "first run did $(actions "$T/run1.json")"
e2e_check_cred "$id"
check_op "first run"

dev --json run >"$T/run2.json" || e2e_fail "second run failed"
[ "$(actions "$T/run2.json")" = "" ] || e2e_fail "second run did $(actions "$T/run2.json")"
[ "$(op_field "$T/run2.json" serial)" = "$(op_field "$T/run1.json" serial)" ] ||
	e2e_fail "second run replaced the credential"
e2e_ok "second run: nothing to do"

rc=0
dev --json assignment >"$T/a.json" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q device_state "$T/err" ||
	e2e_fail "unclaimed assignment: rc=$rc $(cat "$T/err")"

old=$(op_cert)
cp "$old" "$T/old.pem"
dev --json rotate >"$T/rot1.json" || e2e_fail "unclaimed rotation failed"
[ "$(op_cert)" != "$old" ] || e2e_fail "unclaimed rotation did not switch slots"
cmp -s "$(op_cert)" "$T/old.pem" && e2e_fail "rotation kept the old certificate"
check_op "unclaimed rotation"

code=$(tr -d '\n' <"$D/claim.txt")
"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
	--code "$code" --tenant acme >/dev/null || e2e_die "claim failed"
dev --json run >"$T/run3.json" || e2e_fail "run after the claim failed"
[ "$(actions "$T/run3.json")" = credentials ] ||
	e2e_fail "run after the claim did $(actions "$T/run3.json")"
[ "$(op_field "$T/run3.json" tenant)" = acme ] || e2e_fail "no tenant after the claim"
check_op "claimed" acme
dev --json assignment >"$T/a.json" || e2e_fail "assignment failed"
grep -q '"tenant":"acme"' "$T/a.json" || e2e_fail "assignment: $(cat "$T/a.json")"
grep -q '"policy":{' "$T/a.json" || e2e_fail "assignment has no policy"
e2e_ok "claim picked up"

dev -q rotate || e2e_fail "claimed rotation failed"
check_op "claimed rotation" acme

"$ZTP_VERIFY" --config "$T/verify.json" reset --device-id "$id" >/dev/null ||
	e2e_die "reset failed"
dev --json run >"$T/run4.json" 2>"$T/err" || e2e_fail "run after reset: $(cat "$T/err")"
[ "$(actions "$T/run4.json")" = bootstrap,register,credentials ] ||
	e2e_fail "run after reset did $(actions "$T/run4.json")"
e2e_check_cred "$id"
check_op "after reset"
e2e_ok "reset: provisioned again from the factory identity"

e2e_done
