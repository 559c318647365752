#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The Python reference server with the device CA's key in a SoftHSM2
# token (device_ca.key a pkcs11: URI): six devices bootstrap at once over
# mutual TLS, each certificate signed by the token through the server's
# threads and chaining to the device CA; then the token is deleted under
# the running server, and the next bootstrap is refused with 503
# ca_unavailable and records nothing.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
command -v sqlite3 >/dev/null || e2e_die "sqlite3 missing"
e2e_pki
softhsm_init
softhsm_token fleet
KEY=$(softhsm_uri fleet device-ca)
"$ZTP_CA" init-root --cert "$T/pki/hsm-ca.pem" --key "$KEY" --create-key \
	--subject "/CN=Fleet Device CA in a token/O=Fleet" --days 30 ||
	e2e_die "init-root in the token"
e2e_json_edit "$T/verify.json" \
	'c["device_ca"] = {"cert": "pki/hsm-ca.pem", "key": args[0]}' "$KEY"

N=6
i=1
while [ $i -le $N ]; do
	e2e_device "dev-h$i"
	e2e_enroll "dev-h$i" || e2e_die "enroll dev-h$i"
	i=$((i + 1))
done
e2e_device last
e2e_enroll last || e2e_die "enroll last"
e2e_start_server python server
i=1
while [ $i -le $N ]; do
	e2e_device_config "dev-h$i" "$E2E_PORT"
	i=$((i + 1))
done
e2e_device_config last "$E2E_PORT"

# At once: the server's threads share the token's sessions.
pids=
i=1
while [ $i -le $N ]; do
	e2e_bootstrap "dev-h$i" &
	pids="$pids $!"
	i=$((i + 1))
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
[ $fails -eq 0 ] || e2e_fail "$fails of $N concurrent bootstraps failed: $(cat "$T"/dev/dev-h*/bootstrap.err | tail -3)"
good=0
i=1
while [ $i -le $N ]; do
	c=$(e2e_current_cert "dev-h$i")
	"$OPENSSL" verify -CAfile "$T/pki/hsm-ca.pem" -purpose sslclient "$c" \
		>/dev/null 2>&1 && good=$((good + 1))
	i=$((i + 1))
done
[ $good -eq $N ] && e2e_ok "$N concurrent bootstraps, each certificate signed by the token" ||
	e2e_fail "$good of $N certificates chain to the token's CA"

n0=$(sqlite3 "$T/registry.db" 'SELECT count(*) FROM certs')
softhsm2-util --delete-token --token fleet >/dev/null || e2e_die "delete-token"
if e2e_bootstrap last; then
	e2e_fail "bootstrap succeeded with the token gone"
elif grep -q ca_unavailable "$T/dev/last/bootstrap.err"; then
	e2e_ok "token gone: $(grep -m1 ca_unavailable "$T/dev/last/bootstrap.err" | cut -c1-100)"
else
	e2e_fail "token gone: $(cat "$T/dev/last/bootstrap.err")"
fi
[ "$(sqlite3 "$T/registry.db" 'SELECT count(*) FROM certs')" = "$n0" ] &&
	e2e_ok "nothing recorded" || e2e_fail "a certificate was recorded"
kill -0 "$E2E_PID" 2>/dev/null && e2e_ok "the server keeps running" ||
	e2e_fail "the server died"
e2e_done
