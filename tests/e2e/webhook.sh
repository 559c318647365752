#!/bin/sh
# End to end, the approval hook through a real webhook: an HTTPS webhook
# server on 127.0.0.1 (tests/e2e/webhook_server.py) approves some devices
# and refuses others; the reference servers (Python, and Go when a Go
# toolchain is there) forward their verifier's approval hook to it
# (--approval-webhook). Approved devices are provisioned; refused ones get
# approval_denied with the webhook's message, a webhook that answers too
# late or is down gets approval_failed (fail closed), and no refused
# device is issued a certificate.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki

e2e_start_server "$E2E_DIR/webhook_server.py" server --log "$T/webhook.log"
hook_pid=$E2E_PID
hook_url=https://127.0.0.1:$E2E_PORT/approve

for id in ok-1 ok-2 ok-3 no-1 slow-1; do
	e2e_device "$id"
	e2e_enroll "$id"
done

# refused ID CODE: bootstrap fails naming CODE, and leaves nothing.
refused() {
	rc=0
	e2e_bootstrap "$1" || rc=$?
	if [ "$rc" -ne 0 ] && grep -q "$2" "$T/dev/$1/bootstrap.err"; then
		e2e_ok "$1: refused with $2"
	else
		cat "$T/dev/$1/bootstrap.err"
		e2e_fail "$1: exit $rc, want a refusal with $2"
	fi
	e2e_no_cred "$1"
	n=$(e2e_issued_count "$1")
	[ "$n" = 0 ] || e2e_fail "$1: $n certificates issued"
}

approved() {
	if e2e_bootstrap "$1"; then
		e2e_ok "$1: approved by the webhook and bootstrapped"
	else
		cat "$T/dev/$1/bootstrap.err"
		e2e_fail "$1: not bootstrapped"
	fi
}

hook_flags="--approval-webhook $hook_url --approval-ca $T/pki/server-ca.pem --approval-timeout-ms 1000"
e2e_start_server python server $hook_flags
for id in ok-1 no-1 slow-1; do
	e2e_device_config "$id" "$E2E_PORT"
done
approved ok-1
refused no-1 approval_denied
check "no-1: the webhook's message reaches the device" \
	grep -q "not approved: no-1" "$T/dev/no-1/bootstrap.err"
refused slow-1 approval_failed
check "the webhook received the hook's context" "$PY" - "$T/webhook.log" <<'PY'
import json, sys
ctxs = [json.loads(l) for l in open(sys.argv[1])]
ok = [c for c in ctxs if c["device_id"] == "ok-1"]
assert ok and ok[0]["event"] == "bootstrap" and ok[0]["version"] == 1, ctxs
assert len(ok[0]["fingerprint"]) == 64, ok
PY
check "the approval's attributes are in the registry's event log" "$PY" - \
	"$T/registry.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
evs = [json.loads(t) for (t,) in db.execute("SELECT json FROM events")]
assert any(e.get("type") == "approval" and e.get("device_id") == "ok-1"
           and e.get("attributes") == {"approved_by": "webhook"}
           for e in evs), evs
PY

if command -v go >/dev/null 2>&1 && [ "$ZTP_SAN" != tsan ]; then
	e2e_need_go_server
	e2e_start_server go server $hook_flags
	e2e_device_config ok-2 "$E2E_PORT"
	e2e_device_config no-1 "$E2E_PORT"
	approved ok-2
	refused no-1 approval_denied
	go_port=$E2E_PORT
else
	echo "no Go toolchain: the Go server's webhook is not exercised"
fi

# The webhook goes away: every request is refused (fail closed).
e2e_stop_server "$hook_pid"
e2e_device_config ok-3 "${go_port:-$E2E_PORT}"
refused ok-3 approval_failed

e2e_done
