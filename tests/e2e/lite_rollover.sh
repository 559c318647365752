#!/bin/sh
# End to end, server-CA rollover for ztp-device-mbedtls (the portable
# core's trust bundle, doc/PORTING.md) through the Python reference
# server. A device provisioned under server CA 1 with ca_file = CA 1:
# a bundle without the server's CA is stored, probed, rolled back and
# never used; the bundle of CA 1 and CA 2 is committed after a verified
# connection; the server then moves to a certificate of CA 2 with a
# bundle of CA 2 alone: the device, on its committed bundle, works on and
# commits the new one in the other slot, while a device that never took a
# bundle (ca_file only) is refused (exit 3). A committed bundle changed
# in storage is refused, not used.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
LITE=$top_builddir/tools/ztp-device-mbedtls
[ -x "$LITE" ] || e2e_die "$LITE is not built"
e2e_pki
p=$T/pki

reconfig() { e2e_json_edit "$T/verify.json" "$1"; }
restart() { # restart SERVER_IDENTITY: the server with that TLS identity
	[ -n "${E2E_PID:-}" ] && e2e_stop_server "$E2E_PID"
	e2e_start_server python "$1"
	for id in lr-1 lr-2; do
		e2e_device_config "$id" "$E2E_PORT"
		e2e_registration "$id"
	done
}
lite() { # lite ID: a run; output in $T/dev/ID/lite.{out,err}
	rc=0
	"$LITE" --config "$T/dev/$1/device.json" --verbose run \
		> "$T/dev/$1/lite.out" 2> "$T/dev/$1/lite.err" || rc=$?
	return $rc
}
step() { grep -q "\"operation\":\"trust_bundle\",\"step\":\"$2\"" "$T/dev/$1/lite.err"; }
manifest() { cat "$T/dev/$1/state/trust.manifest" 2>/dev/null || echo none; }

for id in lr-1 lr-2; do
	e2e_device "$id"
	e2e_enroll "$id"
done
restart server
# Provisioned and claimed (the check-in's assignment answer, which
# carries the bundle, is a claimed device's).
for id in lr-1 lr-2; do
	lite "$id" || e2e_die "$id: first run: $(cat "$T/dev/$id/lite.err")"
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
		--code - --tenant acme < "$T/dev/$id/claim.txt" > /dev/null ||
		e2e_die "$id: claim"
	lite "$id" && grep -qx 'run: \["credentials"\]' "$T/dev/$id/lite.out" ||
		e2e_die "$id: run after the claim: $(cat "$T/dev/$id/lite.out" "$T/dev/$id/lite.err")"
done
e2e_ok "two devices provisioned and claimed under server CA 1"

e2e_server_ca2

# A mistaken bundle: rolled back, the device works on with ca_file.
reconfig 'c["trust_bundle"] = "pki/bundle-new-only.pem"'
restart server
if lite lr-1 && step lr-1 stored && step lr-1 rolled_back && ! step lr-1 committed &&
	[ "$(manifest lr-1)" = none ] && [ ! -e "$T/dev/lr-1/state/trust.a" ] &&
	[ ! -e "$T/dev/lr-1/state/trust.b" ]; then
	e2e_ok "a bundle without the server's CA: probed, rolled back, nothing kept"
else
	cat "$T/dev/lr-1/lite.err"
	e2e_fail "the mistaken bundle was not rolled back"
fi

# The right bundle: committed after a verified connection (lr-1 only;
# lr-2 stays offline).
reconfig 'c["trust_bundle"] = "pki/bundle-both.pem"'
restart server
if lite lr-1 && step lr-1 committed &&
	grep -q '^ZTP1 c=a h=[0-9a-f]\{64\}$' "$T/dev/lr-1/state/trust.manifest" &&
	cmp -s "$T/dev/lr-1/state/trust.a" "$p/bundle-both.pem"; then
	e2e_ok "the bundle of CA 1 and CA 2 committed in slot a"
else
	cat "$T/dev/lr-1/lite.err"
	e2e_fail "the bundle was not committed: $(manifest lr-1)"
fi
if lite lr-1 && ! step lr-1 stored; then
	e2e_ok "the bundle in use is not probed again"
else
	e2e_fail "the committed bundle was taken again"
fi

# The server moves to server CA 2; the bundle is CA 2 alone.
reconfig 'c["trust_bundle"] = "pki/bundle-new-only.pem"'
restart server2
if lite lr-1 && step lr-1 committed &&
	grep -q '^ZTP1 c=b ' "$T/dev/lr-1/state/trust.manifest" &&
	[ ! -e "$T/dev/lr-1/state/trust.a" ] &&
	cmp -s "$T/dev/lr-1/state/trust.b" "$p/bundle-new-only.pem"; then
	e2e_ok "on the committed bundle the device reaches the CA 2 server and commits CA 2 alone in slot b"
else
	cat "$T/dev/lr-1/lite.err"
	e2e_fail "the device did not follow the server to CA 2: $(manifest lr-1)"
fi
rc=0
lite lr-2 || rc=$?
if [ $rc = 3 ] && grep -q "certificate is refused" "$T/dev/lr-2/lite.err"; then
	e2e_ok "a device that never took a bundle is refused by the CA 2 server (exit 3)"
else
	e2e_fail "lr-2 without a bundle: exit $rc: $(cat "$T/dev/lr-2/lite.err")"
fi

# The committed bundle changed in storage: refused, never used.
cat "$p/server-ca.pem" >> "$T/dev/lr-1/state/trust.b"
rc=0
lite lr-1 || rc=$?
if [ $rc != 0 ] && grep -q "trust.b: not the trust bundle that was committed" "$T/dev/lr-1/lite.err"; then
	e2e_ok "a committed bundle changed in storage is refused (exit $rc)"
else
	e2e_fail "a changed committed bundle: exit $rc: $(cat "$T/dev/lr-1/lite.err")"
fi
e2e_stop_server "$E2E_PID"
e2e_done
