#!/bin/sh
# End to end: ztp-device-mbedtls (portable device core, mbedTLS port)
# provisions devices against the Python reference server
# (tests/e2e/lite-flow.sh), then, through tests/e2e/lite_server.py: the
# handshakes counted from the server side, the server's time learnt in
# no-clock mode, truncated and oversized answers.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
E2E_KIND=python
. "$E2E_DIR/lite-flow.sh"

for id in lite-count lite-noclock lite-trunc lite-big; do
	e2e_device "$id"
	e2e_enroll "$id"
done
e2e_start_server "$E2E_DIR/lite_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0 --server-time \
	--break truncate:register
srv_err=$err

# Handshakes counted by the server: 2 for a fresh device's whole run.
e2e_device_config lite-count "$E2E_PORT"
e2e_registration lite-count
: > "$srv_err"
# The broken endpoints are register and credentials: count on bootstrap.
if lite_run lite-count bootstrap; then
	n=$(grep -c '^tls-connection$' "$srv_err" || true)
	[ "$n" = 1 ] && e2e_ok "lite-count: bootstrap (2 requests) on 1 TLS connection (server side)" ||
		e2e_fail "lite-count: the server saw $n TLS connections for one bootstrap"
else
	cat "$T/dev/lite-count/lite.err"
	e2e_fail "lite-count: bootstrap failed"
fi

# No-clock mode: the device asks for the server's time in the challenge
# (its clock is unknown, its floor the build time) and moves its floor
# forward to it, atomically, in its state directory.
e2e_device_config lite-noclock "$E2E_PORT"
lite_config_set lite-noclock '{"clock": "none", "build_time": "2020-01-01T00:00:00Z"}'
before=$(date +%s)
if lite_run lite-noclock bootstrap; then
	floor=$(cat "$T/dev/lite-noclock/state/time-floor")
	after=$(date +%s)
	if [ "$floor" -ge $((before - 1)) ] && [ "$floor" -le "$after" ] &&
		grep -q '"step":"server_time"' "$T/dev/lite-noclock/lite.err"; then
		e2e_ok "lite-noclock: floor moved from 2020 to the server's time"
	else
		e2e_fail "lite-noclock: floor $floor, not in [$before, $after]"
	fi
	lite_check_cred lite-noclock bootstrap 0
	mode=$(stat -c %a "$T/dev/lite-noclock/state/time-floor")
	[ "$mode" = 600 ] || e2e_fail "lite-noclock: floor file mode $mode"
else
	cat "$T/dev/lite-noclock/lite.err"
	e2e_fail "lite-noclock: bootstrap failed"
fi

# A truncated answer (register) and an oversized one (bootstrap, from a
# second server) give their documented errors, and no credential.
e2e_device_config lite-trunc "$E2E_PORT"
e2e_registration lite-trunc
lite_config_set lite-trunc '{"retry": {"max_attempts": 2, "base_delay_ms": 10, "max_delay_ms": 20}}'
lite_expect lite-trunc 3 'network_error: run: .*answer truncated'
lite_cred lite-trunc operational >/dev/null &&
	e2e_fail "lite-trunc: has an operational credential"
e2e_stop_server "$E2E_PID"
e2e_start_server "$E2E_DIR/lite_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0 --break oversize:bootstrap
e2e_device_config lite-big "$E2E_PORT"
e2e_registration lite-big
lite_expect lite-big 4 'too_large: run: HTTP: response body too large'
lite_cred lite-big bootstrap >/dev/null &&
	e2e_fail "lite-big: has a bootstrap credential"
[ "$(e2e_issued_count lite-big)" = 0 ] || e2e_fail "lite-big: issued"
e2e_stop_server "$E2E_PID"
e2e_done
