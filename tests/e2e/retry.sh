#!/bin/sh
# End to end, retries: a server that answers the bootstrap request 503 with
# Retry-After twice, then serves it. The device honours Retry-After (waits
# the server's 1 s, not its own 50-200 ms backoff), retries, and succeeds.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki
e2e_device patient
e2e_enroll patient

e2e_start_server "$E2E_DIR/flaky_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0 \
	--fail-first 2 --retry-after 1
e2e_device_config patient "$E2E_PORT"

if e2e_bootstrap patient; then
	e2e_check_cred patient
else
	cat "$T/dev/patient/bootstrap.err"
	e2e_fail "patient: bootstrap failed"
fi

err=$T/dev/patient/bootstrap.err
grep '"event":"device.http"' "$err" | grep '"endpoint":"bootstrap"' > "$T/attempts"
n503=$(grep -c '"http_status":503' "$T/attempts" || true)
n200=$(grep -c '"http_status":200' "$T/attempts" || true)
[ "$n503" = 2 ] || e2e_fail "expected 2 answers 503, saw $n503"
[ "$n200" = 1 ] || e2e_fail "expected 1 answer 200, saw $n200"
nra=$(grep '"http_status":503' "$T/attempts" | grep -c '"delay_ms":1000[,}]' || true)
[ "$nra" = 2 ] || { cat "$T/attempts"; e2e_fail "Retry-After not honoured"; }
[ "$n503$n200$nra" = 212 ] && e2e_ok "two 503 + Retry-After, then 200"

e2e_stop_server "$E2E_PID"
e2e_done
