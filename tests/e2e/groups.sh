#!/bin/sh
# End to end, group enrollment: a fleet made by Acme's factory CA is
# provisioned (bootstrap, register, long-lived credentials) by the real
# ztp-device against the Python reference server, with no per-device
# enrollment: one `ztp-verify group add` admits the batch. An ID outside
# the group's pattern, a device past the group's cap, a second device
# with another certificate for an ID the group already enrolled, and every
# device once the group is disabled are refused, and none of them leaves a
# credential or a certificate.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki
V="$ZTP_VERIFY --config $T/verify.json"

fleet="line7-1 line7-2 line7-3"
for id in $fleet line7-4 other-1; do
	e2e_device "$id"
done
$V group add --id line-7 --issuer-cert "$T/pki/acme-factory.pem" \
	--pattern 'line7-*' --model sensor-2 --batch 2026-w49 --cap 3 ||
	e2e_die "group add"
check "group list shows the group" \
	sh -c "$V group list | grep -q '\"group_id\":\"line-7\"'"
# A group may name only an issuing CA of the verifier.
if $V group add --id rogue --issuer-cert "$T/pki/globex-factory.pem" \
	>/dev/null 2>&1; then
	e2e_fail "a group of a CA that is not an issuer was added"
else
	e2e_ok "a group of a CA that is not an issuer is refused"
fi

e2e_start_server python server
for id in $fleet line7-4 other-1; do
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
done

for id in $fleet; do
	if "$ZTP_DEVICE" --config "$T/dev/$id/device.json" run \
		> "$T/dev/$id/run.out" 2>&1; then
		e2e_ok "$id: provisioned through the group"
	else
		e2e_fail "$id: run: $(cat "$T/dev/$id/run.out")"
	fi
	if op=$(cred_cert "$T/dev/$id/state" operational) &&
		"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" "$op" >/dev/null 2>&1; then
		e2e_ok "$id: operational credential from the device CA"
	else
		e2e_fail "$id: no operational credential"
	fi
done
check "the registry records the fleet as the group's, with its model" \
	sh -c "$V list --group line-7 --model sensor-2 --state registered | \
		grep -c device_id | grep -qx 3"

e2e_expect_refused line7-4 group_full
e2e_expect_refused other-1 unknown_device

# Another certificate for an ID the group enrolled: the first one stays
# the only one accepted.
mv "$T/dev/line7-1" "$T/dev/line7-1.orig"
e2e_device line7-1
e2e_device_config line7-1 "$E2E_PORT"
before=$(e2e_issued_count line7-1)
rc=0
e2e_bootstrap line7-1 || rc=$?
if [ "$rc" = 1 ] && grep -q fingerprint_mismatch "$T/dev/line7-1/bootstrap.err"; then
	e2e_ok "line7-1: another certificate for the ID is refused"
else
	e2e_fail "line7-1: exit $rc: $(cat "$T/dev/line7-1/bootstrap.err")"
fi
e2e_no_cred line7-1
[ "$(e2e_issued_count line7-1)" = "$before" ] ||
	e2e_fail "line7-1: a certificate was issued to the second device"

# Disabled: no new device, whatever its ID.
$V group disable --id line-7 || e2e_fail "group disable"
$V group add --id line-8 --issuer-cert "$T/pki/acme-factory.pem" \
	--pattern 'line8-*' --disabled || e2e_fail "group add --disabled"
e2e_device line8-1
e2e_device_config line8-1 "$E2E_PORT"
e2e_expect_refused line8-1 group_disabled
check "group disable is recorded" \
	sh -c "$V group list | grep '\"group_id\":\"line-7\"' | \
		grep -q '\"enabled\":false'"

e2e_done
