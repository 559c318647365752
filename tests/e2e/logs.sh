#!/bin/sh
# The reference servers' structured logs, over a full flow (bootstrap,
# register, credentials, claim, credentials for the tenant, assignment,
# rotate) with the Python server and, when Go is there, the Go server:
# every line on standard error is one JSON object; each request has a
# request ID (also in X-Request-ID), its endpoint, status, wire code,
# latency and the device; each event carries the ID of the request that
# decided it. And no secret reaches the log: not the claim code (as
# printed or as typed), not the HMAC secret (raw, hex or base64), not a
# private key (factory, operational, device CA, TLS), not a nonce.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python

e2e_pki
head -c 32 /dev/urandom > "$T/hmac.key"
e2e_json_edit "$T/verify.json" 'c["hmac_secret_file"] = "hmac.key"
c["rate_limits"]["lifecycle"] = {"rate": 100, "burst": 1000}'

# flow KIND ID: the lifecycle of device ID against a KIND server.
flow() {
	kind=$1 id=$2
	e2e_device "$id"
	e2e_enroll "$id"
	e2e_start_server "$kind" server
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
	d="$ZTP_DEVICE --config $T/dev/$id/device.json"
	$d run > "$T/dev/$id/run1.out" 2>&1 ||
		e2e_fail "$kind: first run: $(tail -3 "$T/dev/$id/run1.out")"
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
		--code - --tenant acme < "$T/dev/$id/claim.txt" ||
		e2e_fail "$kind: claim"
	$d run > "$T/dev/$id/run2.out" 2>&1 ||
		e2e_fail "$kind: second run: $(tail -3 "$T/dev/$id/run2.out")"
	$d --json assignment > /dev/null 2>&1 || e2e_fail "$kind: assignment"
	$d rotate > /dev/null 2>&1 || e2e_fail "$kind: rotate"
	# a refused request is logged with its code
	curl -s -o /dev/null --max-time 10 --cacert "$T/pki/server-ca.pem" \
		-d '{"device_id":"no such/id"}' \
		"https://127.0.0.1:$E2E_PORT/ztp/v1/challenge" || true
	e2e_stop_server "$E2E_PID"
	cp "$T/server-server-$$.err" "$T/$kind.log"
}

# check KIND ID: the log of the flow.
check() {
	kind=$1 id=$2
	if "$PY" - "$T/$kind.log" "$id" <<'PY'
import json, sys
reqs, events, bad = {}, [], []
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        o = json.loads(line)
    except ValueError:
        bad.append("line %d is not JSON: %r" % (n, line[:80]))
        continue
    if o.get("kind") == "request":
        for k in ("request_id", "endpoint", "status", "code", "latency_ms",
                  "device_id", "ts"):
            if k not in o:
                bad.append("request line %d lacks %s" % (n, k))
        reqs[o["request_id"]] = o
    elif o.get("kind") == "event":
        events.append(o)
eps = {(r["endpoint"], r["code"]) for r in reqs.values()}
for want in ("challenge", "bootstrap", "register", "credentials",
             "assignment", "rotate"):
    if (want, "ok") not in eps:
        bad.append("no accepted %s request logged" % want)
if ("challenge", "malformed_request") not in eps:
    bad.append("the refused challenge is not logged with its code")
mine = [r for r in reqs.values() if r["code"] == "ok" and r["endpoint"] in
        ("challenge", "bootstrap", "register", "credentials", "rotate",
         "assignment")]
if not mine or any(r["device_id"] != sys.argv[2] for r in mine):
    bad.append("requests without their device: %r" % mine[:2])
if not events:
    bad.append("no events")
for e in events:
    if e.get("request_id") not in reqs:
        bad.append("event without its request: %r" % e)
if bad:
    print("\n".join(bad[:10]))
    sys.exit(1)
PY
	then
		e2e_ok "$kind: every line JSON; requests and events tied by request ID"
	else
		e2e_fail "$kind: log"
	fi
	# The secrets of the flow, in every form they exist in.
	code=$(cat "$T/dev/$id/claim.txt")
	plain=$(printf '%s' "$code" | tr -d -- '- ')
	: > "$T/secrets"
	printf '%s\n%s\n' "$code" "$plain" >> "$T/secrets"
	od -An -tx1 "$T/hmac.key" | tr -d ' \n' >> "$T/secrets"
	echo >> "$T/secrets"
	base64 -w0 "$T/hmac.key" >> "$T/secrets"
	echo >> "$T/secrets"
	for k in "$T/dev/$id/factory.key" "$T/pki/device-ca.key" \
		"$T/pki/server.key" $(find "$T/dev/$id/state" -name key.pem); do
		grep -v -- '-----' "$k" >> "$T/secrets"
	done
	grep -v '^[[:space:]]*$' "$T/secrets" > "$T/patterns"
	leaks=$(grep -c -F -f "$T/patterns" "$T/$kind.log" || true)
	# and the raw secret bytes
	raw=$("$PY" -c 'import sys
print(open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read())' \
		"$T/$kind.log" "$T/hmac.key")
	if [ "$leaks" = 0 ] && [ "$raw" = False ] &&
		! grep -q '"nonce"' "$T/$kind.log"; then
		e2e_ok "$kind: no claim code, key, HMAC secret or nonce in $(wc -l < "$T/$kind.log") log lines"
	else
		e2e_fail "$kind: $leaks log lines hold a secret (raw: $raw)"
	fi
}

flow python log-py
check python log-py
if command -v go >/dev/null 2>&1 && [ "$ZTP_SAN" != tsan ]; then
	e2e_need_go_server
	flow go log-go
	check go log-go
fi
e2e_done
