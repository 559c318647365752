# Body of the bootstrap end-to-end test, sourced with E2E_KIND set to the
# reference server to run (python or go).
#
# A manufacturer CA and a device CA made with ztp-ca, factory certificates
# for a few devices, enrolled with ztp-verify; the reference server on
# 127.0.0.1; ztp-device bootstrap for each device over mutual TLS; then
# openssl checks each stored certificate.

e2e_pki
E2E_PORT=1
for id in dev-001 dev-002 dev-003 sensor.7_b; do
	e2e_device "$id"
	e2e_enroll "$id"
	grep -Eq '[A-Z2-7]{4}(-[A-Z2-7]{4}){7}' "$T/dev/$id/claim.txt" ||
		e2e_fail "$id: enroll printed no claim code"
done

e2e_start_server "$E2E_KIND" server
echo "$E2E_KIND server on port $E2E_PORT"

for id in dev-001 dev-002 dev-003 sensor.7_b; do
	e2e_device_config "$id" "$E2E_PORT"
	if e2e_bootstrap "$id"; then
		e2e_check_cred "$id"
	else
		cat "$T/dev/$id/bootstrap.err"
		e2e_fail "$id: bootstrap failed"
	fi
done

# The registry recorded exactly one bootstrap certificate per device, and
# the one each device holds is it.
for id in dev-001 dev-002 dev-003 sensor.7_b; do
	n=$(e2e_issued_count "$id")
	[ "$n" = 1 ] || e2e_fail "$id: registry holds $n bootstrap certificates"
done

# Refused by this server too, and nothing issued: a device that was never
# enrolled, and one made by another manufacturer.
e2e_device stranger
e2e_device globex-1 globex
for id in stranger globex-1; do
	e2e_device_config "$id" "$E2E_PORT"
	if e2e_bootstrap "$id"; then
		e2e_fail "$id: bootstrapped but should be refused"
	else
		e2e_ok "$id: refused"
	fi
	e2e_no_cred "$id"
	n=$(e2e_issued_count "$id")
	[ "$n" = 0 ] || e2e_fail "$id: $n certificates issued"
done

# Bootstrapping again keeps a consistent, valid credential.
if e2e_bootstrap dev-001; then
	e2e_check_cred dev-001
else
	cat "$T/dev/dev-001/bootstrap.err"
	e2e_fail "dev-001: second bootstrap failed"
fi

# GET /metrics on the TLS listener counts what this flow did: five
# accepted bootstraps (four devices, dev-001 twice).
curl -s --max-time 10 --cacert "$T/pki/server-ca.pem" \
	"https://127.0.0.1:$E2E_PORT/metrics" > "$T/metrics.txt" ||
	e2e_fail "GET /metrics failed"
if grep -q '^ztp_requests_total{endpoint="bootstrap",code="ok"} 5$' "$T/metrics.txt" &&
	grep -q '^ztp_certificates_issued_total{profile="bootstrap"} 5$' "$T/metrics.txt" &&
	grep -q '^# TYPE ztp_request_duration_seconds histogram$' "$T/metrics.txt"; then
	e2e_ok "$E2E_KIND server: /metrics counts the flow's bootstraps"
else
	e2e_fail "$E2E_KIND server: /metrics: $(grep 'endpoint="bootstrap"' "$T/metrics.txt" | grep -v _bucket)"
fi

e2e_stop_server "$E2E_PID"
e2e_done
