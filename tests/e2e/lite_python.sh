#!/bin/sh
# End to end: ztp-device-mbedtls (portable device core, mbedTLS port)
# provisions devices against the Python reference server
# (tests/e2e/lite-flow.sh), then, through tests/e2e/lite_server.py: the
# handshakes counted from the server side (neither reference server
# logs the connections it accepts), an interrupted slot switch finished
# after power loss, truncated and oversized answers, retries with Retry-After
# (flaky_server.py), and a rotation when due.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
E2E_KIND=python
. "$E2E_DIR/lite-flow.sh"

for id in lite-count lite-trunc lite-big; do
	e2e_device "$id"
	e2e_enroll "$id"
done
e2e_start_server "$E2E_DIR/lite_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0 \
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

# Power lost after the bootstrap certificate was stored in the pending slot
# but before the manifest made it current: the next bootstrap finishes the
# switch without the server.
st=$T/dev/lite-count/state
if [ -f "$st/bootstrap.a.cert" ]; then
	for f in key cert; do mv "$st/bootstrap.a.$f" "$st/bootstrap.b.$f"; done
	printf 'ZTP1 c=- p=b\n' > "$st/bootstrap.manifest"
	if lite_run lite-count bootstrap &&
		grep -q '"step":"resumed"' "$T/dev/lite-count/lite.err" &&
		[ "$(lite_stat lite-count handshakes)" = 0 ] &&
		[ "$(cat "$st/bootstrap.manifest")" = "ZTP1 c=b p=-" ]; then
		e2e_ok "lite-count: interrupted switch finished without the server"
		lite_check_cred lite-count bootstrap 0
	else
		cat "$T/dev/lite-count/lite.err"
		e2e_fail "lite-count: interrupted switch not resumed"
	fi
else
	e2e_fail "lite-count: no bootstrap credential in slot a"
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

# Retries: two answers 503 with Retry-After 1 s (tests/e2e/flaky_server.py)
# are waited out for the server's second, not the device's own backoff;
# the third attempt succeeds, on the connection kept alive.
e2e_device lite-flaky
e2e_enroll lite-flaky
e2e_start_server "$E2E_DIR/flaky_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0 \
	--fail-first 2 --retry-after 1
e2e_device_config lite-flaky "$E2E_PORT"
if lite_run lite-flaky bootstrap; then
	grep '"event":"device.http"' "$T/dev/lite-flaky/lite.err" |
		grep '"endpoint":"bootstrap"' > "$T/attempts"
	n503=$(grep -c '"http_status":503,"outcome":"retry","delay_ms":1000,' "$T/attempts" || true)
	n200=$(grep -c '"http_status":200,"outcome":"ok"' "$T/attempts" || true)
	if [ "$n503" = 2 ] && [ "$n200" = 1 ] &&
		[ "$(lite_stat lite-flaky handshakes)" = 1 ]; then
		e2e_ok "lite-flaky: two 503 + Retry-After waited out, then 200, one connection"
	else
		cat "$T/attempts"
		e2e_fail "lite-flaky: retries not as expected"
	fi
	lite_check_cred lite-flaky bootstrap 0
else
	cat "$T/dev/lite-flaky/lite.err"
	e2e_fail "lite-flaky: bootstrap failed"
fi
e2e_stop_server "$E2E_PID"

# Rotation when due: operational certificates of one hour; a device whose
# clock is unknown and whose floor is 50 minutes ahead finds its
# certificate past 67 % (+ jitter) of its lifetime and rotates it.
"$PY" - "$T/verify.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["operational_lifetime"] = 3600
json.dump(c, open(p, "w"))
PY
e2e_device lite-rot
e2e_enroll lite-rot
e2e_start_server "$E2E_DIR/lite_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0
e2e_device_config lite-rot "$E2E_PORT"
e2e_registration lite-rot
if lite_run lite-rot; then
	old=$(lite_cred lite-rot operational)
	oldfp=$("$OPENSSL" x509 -in "$old.cert" -noout -fingerprint -sha256)
	ahead=$("$PY" -c 'import datetime, time
print(datetime.datetime.fromtimestamp(time.time() + 3000,
      datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
	lite_config_set lite-rot "{\"clock\": \"untrusted\", \"build_time\": \"$ahead\"}"
	if lite_run lite-rot && grep -qx 'run: \["rotate"\]' "$T/dev/lite-rot/lite.out"; then
		new=$(lite_cred lite-rot operational)
		newfp=$("$OPENSSL" x509 -in "$new.cert" -noout -fingerprint -sha256)
		if [ "$new" != "$old" ] && [ "$newfp" != "$oldfp" ] &&
			[ ! -e "$old.key" ] && [ ! -e "$old.cert" ]; then
			e2e_ok "lite-rot: rotated into the other slot, the old one retired"
		else
			e2e_fail "lite-rot: rotation left $old / $new"
		fi
		lite_check_cred lite-rot operational 0
		grep -q '"operation":"rotate","step":"probe"' "$T/dev/lite-rot/lite.err" &&
			e2e_ok "lite-rot: the new credential was probed before the switch" ||
			e2e_fail "lite-rot: no probe before the switch"
	else
		cat "$T/dev/lite-rot/lite.out" "$T/dev/lite-rot/lite.err"
		e2e_fail "lite-rot: no rotation when due"
	fi
else
	cat "$T/dev/lite-rot/lite.err"
	e2e_fail "lite-rot: first run failed"
fi
e2e_stop_server "$E2E_PID"

# A rotation whose probe fails (assignment answers 500; the floor again
# 50 minutes ahead of the certificate just rotated to): the new
# credential stays pending and the old one current; the next run, with
# the server well again, probes the stored one (no second rotate
# request) and switches to it.
e2e_start_server "$E2E_DIR/lite_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0 --break fail:assignment
e2e_device_config lite-rot "$E2E_PORT"
e2e_registration lite-rot
ahead=$("$PY" -c 'import datetime, time
print(datetime.datetime.fromtimestamp(time.time() + 3000,
      datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
lite_config_set lite-rot "{\"clock\": \"untrusted\", \"build_time\": \"$ahead\"}"
cur=$(lite_cred lite-rot operational)
rc=0
lite_run lite-rot || rc=$?
pend=$(sed -n 's/^ZTP1 c=[ab] p=\([ab]\)$/\1/p' "$T/dev/lite-rot/state/operational.manifest")
if [ "$rc" = 3 ] && [ "$(lite_cred lite-rot operational)" = "$cur" ] && [ -n "$pend" ] &&
	[ -s "$T/dev/lite-rot/state/operational.$pend.cert" ] &&
	grep -q "probe failed (it stays pending)" "$T/dev/lite-rot/lite.err"; then
	e2e_ok "lite-rot: probe failed: the old credential current, the new one pending"
	pendfp=$("$OPENSSL" x509 -in "$T/dev/lite-rot/state/operational.$pend.cert" -noout -fingerprint -sha256)
else
	cat "$T/dev/lite-rot/lite.out" "$T/dev/lite-rot/lite.err"
	e2e_fail "lite-rot: a failed probe: exit $rc, current $(lite_cred lite-rot operational), pending '$pend'"
	pendfp=
fi
e2e_stop_server "$E2E_PID"
e2e_start_server "$E2E_DIR/lite_server.py" server \
	--config "$T/verify.json" --listen 127.0.0.1:0
e2e_device_config lite-rot "$E2E_PORT"
e2e_registration lite-rot
lite_config_set lite-rot "{\"clock\": \"untrusted\", \"build_time\": \"$ahead\"}"
if lite_run lite-rot && grep -qx 'run: \["rotate"\]' "$T/dev/lite-rot/lite.out" &&
	! grep -q '"event":"device.http","endpoint":"rotate"' "$T/dev/lite-rot/lite.err" &&
	grep -q '"operation":"rotate","step":"resumed"' "$T/dev/lite-rot/lite.err"; then
	new=$(lite_cred lite-rot operational)
	newfp=$("$OPENSSL" x509 -in "$new.cert" -noout -fingerprint -sha256)
	[ "$new" != "$cur" ] && [ -n "$pendfp" ] && [ "$newfp" = "$pendfp" ] &&
		e2e_ok "lite-rot: the next run probed the pending credential and switched to it" ||
		e2e_fail "lite-rot: after the probe: current $new, not the pending one"
else
	cat "$T/dev/lite-rot/lite.out" "$T/dev/lite-rot/lite.err"
	e2e_fail "lite-rot: the run after a failed probe did not finish the rotation"
fi
e2e_stop_server "$E2E_PID"
e2e_done
