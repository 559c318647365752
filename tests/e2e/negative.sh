#!/bin/sh
# End to end, refusals: an unknown device, a device of another
# manufacturer, and servers whose certificate the device does not pin are
# all refused, and none of them leaves a credential or a registry record.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki

e2e_device good
e2e_enroll good
e2e_device stranger             # Acme-made, never enrolled
e2e_device globex-1 globex      # another manufacturer

# The other manufacturer's device cannot even be enrolled.
if "$ZTP_VERIFY" --config "$T/verify.json" enroll --device-id globex-1 \
	--factory-cert "$T/dev/globex-1/factory.leaf.pem" >/dev/null 2>&1; then
	e2e_fail "ztp-verify enrolled a device of another manufacturer"
else
	e2e_ok "enroll refuses a factory certificate of another manufacturer"
fi

# Let every CA through the TLS handshake, so that the refusals below are
# the verifier's own decisions, not the TLS layer's.
cat "$T/pki/acme-root.pem" "$T/pki/acme-factory.pem" \
	"$T/pki/globex-root.pem" "$T/pki/globex-factory.pem" \
	"$T/pki/device-ca.pem" > "$T/pki/all-cas.pem"
e2e_start_server python server --client-ca "$T/pki/all-cas.pem"
port=$E2E_PORT

expect_refused() {
	e2e_device_config "$1" "$port"
	e2e_expect_refused "$1" "$2"
}

expect_refused stranger unknown_device
expect_refused globex-1 'untrusted_certificate\|issuer_not_allowed'

# The Python server's default TLS policy refuses the stranger manufacturer
# at the handshake already.
e2e_stop_server "$E2E_PID"
e2e_start_server python server
e2e_device_config globex-1 "$E2E_PORT"
if e2e_bootstrap globex-1; then
	e2e_fail "globex-1: bootstrapped through the default TLS policy"
fi
e2e_no_cred globex-1
e2e_stop_server "$E2E_PID"

# Servers the device must not talk to: a certificate from a CA it does not
# pin, and one from the pinned CA for another name. TLS verification
# failures are definitive: no retry, exit 3 (transport), no state.
for name in rogue wrongname; do
	e2e_start_server python "$name"
	e2e_device_config good "$E2E_PORT"
	rc=0
	e2e_bootstrap good || rc=$?
	if [ "$rc" -eq 0 ]; then
		e2e_fail "good: bootstrapped against the $name server"
	else
		e2e_ok "good: $name server refused (exit $rc)"
	fi
	n=$(grep -c '"endpoint":"challenge"' "$T/dev/good/bootstrap.err" || true)
	[ "$n" -le 1 ] || e2e_fail "good: $name server: $n attempts (retried a TLS failure)"
	e2e_no_cred good
	e2e_stop_server "$E2E_PID"
done
n=$(e2e_issued_count good)
[ "$n" = 0 ] || e2e_fail "good: $n certificates issued by impostor runs"

# And the same device does bootstrap against the real server.
e2e_start_server python server
e2e_device_config good "$E2E_PORT"
if e2e_bootstrap good; then
	e2e_check_cred good
else
	cat "$T/dev/good/bootstrap.err"
	e2e_fail "good: bootstrap failed against the real server"
fi
e2e_stop_server "$E2E_PID"
e2e_done
