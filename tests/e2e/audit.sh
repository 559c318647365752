#!/bin/sh
# The tamper-evident audit log end to end: events appended by ztp-verify
# processes are chained and checkpointed (every 5 events) with a file
# audit key; `ztp-verify audit verify` finds the log intact, and so does
# the offline verifier on `audit export`. Then, each on its own copy of
# the SQLite registry, rows are edited, deleted, swapped, inserted (with
# a forged but self-consistent hash), truncated after a checkpoint, and
# edited with every later hash recomputed: each is caught, and located.
# Last, a server killed with SIGKILL between its events and their
# checkpoint loses none of the events it acknowledged.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
command -v sqlite3 >/dev/null 2>&1 || e2e_die "sqlite3 CLI not found"
command -v curl >/dev/null 2>&1 || e2e_die "curl not found"

e2e_pki
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$T/audit.key" 2>/dev/null
"$OPENSSL" pkey -in "$T/audit.key" -pubout -out "$T/audit.pub"
# config FILE DB EVERY: the verifier configuration on registry DB.
config() {
	"$PY" - "$T/verify.json" "$1" "$2" "$3" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    cfg = json.load(f)
cfg["store"] = "sqlite:" + sys.argv[3]
cfg["audit"] = {"key": "audit.key", "every_events": int(sys.argv[4])}
with open(sys.argv[2], "w") as f:
    json.dump(cfg, f)
PY
}
config "$T/a.json" registry.db 5

# Twelve refused requests, one process each: twelve durable events,
# checkpoints after the 5th and the 10th.
printf '{"device_id":"dev-1"}' > "$T/bad.json"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	"$ZTP_VERIFY" --config "$T/a.json" handle bootstrap < "$T/bad.json" \
		> /dev/null 2>&1 || true
done

e2e_audit_verify "$T/a.json" ok 12/10/2 "intact log"
e2e_audit_verify "$T/a.json" ok 7/10/2 "intact log from seq 5" --from 5

"$ZTP_VERIFY" --config "$T/a.json" audit export --out "$T/export.jsonl"
n=$(grep -c '"type":"event"' "$T/export.jsonl")
c=$(grep -c '"type":"checkpoint"' "$T/export.jsonl")
[ "$n" = 12 ] && [ "$c" = 2 ] && e2e_ok "export: 12 events, 2 checkpoints" ||
	e2e_fail "export: $n events, $c checkpoints"
rc=0
"$ZTP_VERIFY" audit verify --offline "$T/export.jsonl" --pubkey "$T/audit.pub" \
	> "$T/offline.json" || rc=$?
grep -q '"result":"ok"' "$T/offline.json" && [ $rc = 0 ] &&
	e2e_ok "offline verification of the export" ||
	e2e_fail "offline: exit $rc $(cat "$T/offline.json")"
# an edited line of the export
"$PY" - "$T/export.jsonl" "$T/export-bad.jsonl" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "event" and o["seq"] == 4:
        o["json"] = o["json"].replace("rejected", "accepted")
    out.append(json.dumps(o, separators=(",", ":")))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
rc=0
"$ZTP_VERIFY" audit verify --offline "$T/export-bad.jsonl" \
	--pubkey "$T/audit.pub" > "$T/offline.json" 2>/dev/null || rc=$?
grep -q '"kind":"modified","seq":4' "$T/offline.json" && [ $rc = 7 ] &&
	e2e_ok "offline: the edited event 4 is found" ||
	e2e_fail "offline edit: exit $rc $(cat "$T/offline.json")"
# another key's public half verifies no checkpoint
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	"$OPENSSL" pkey -pubout -out "$T/other.pub"
rc=0
"$ZTP_VERIFY" audit verify --offline "$T/export.jsonl" --pubkey "$T/other.pub" \
	> "$T/offline.json" 2>/dev/null || rc=$?
grep -q '"kind":"forged_checkpoint","seq":5' "$T/offline.json" && [ $rc = 7 ] &&
	e2e_ok "offline: another key does not verify the checkpoints" ||
	e2e_fail "offline other key: exit $rc $(cat "$T/offline.json")"

# tamper NAME SQL: a copy of the registry with SQL applied; its config.
tamper() {
	sqlite3 "$T/registry.db" ".backup '$T/$1.db'"
	sqlite3 "$T/$1.db" "DROP TRIGGER events_no_update;
		DROP TRIGGER events_no_delete; $2"
	config "$T/$1.json" "$1.db" 5
}
tamper edit "UPDATE events SET json = replace(json, 'rejected', 'accepted')
	WHERE seq = 3;"
e2e_audit_verify "$T/edit.json" modified 3 "row 3 edited"
tamper delete "DELETE FROM events WHERE seq = 7;"
e2e_audit_verify "$T/delete.json" deleted 7 "row 7 deleted"
tamper swap "CREATE TEMP TABLE t AS SELECT * FROM events WHERE seq IN (4, 6);
	UPDATE events SET at = (SELECT at FROM t WHERE seq = 6),
	 json = (SELECT json FROM t WHERE seq = 6),
	 prev = (SELECT prev FROM t WHERE seq = 6),
	 hash = (SELECT hash FROM t WHERE seq = 6) WHERE seq = 4;
	UPDATE events SET at = (SELECT at FROM t WHERE seq = 4),
	 json = (SELECT json FROM t WHERE seq = 4),
	 prev = (SELECT prev FROM t WHERE seq = 4),
	 hash = (SELECT hash FROM t WHERE seq = 4) WHERE seq = 6;"
e2e_audit_verify "$T/swap.json" reordered 4 "rows 4 and 6 swapped"
tamper truncate "DELETE FROM events WHERE seq > 8;"
e2e_audit_verify "$T/truncate.json" truncated 9 "rows after 8 deleted"

# forged ROW: the canonical hash of doc/AUDIT.md, from Python, so that the
# forged rows are self-consistent and only the chain can tell.
cat > "$T/forge.py" <<'PY'
import hashlib, sqlite3, struct, sys

def h(prev, seq, at, text):
    t = text.encode()
    return hashlib.sha256(b"ZTP-AUDIT-EVENT-V1\0" + prev +
                          struct.pack(">QqI", seq, at, len(t)) + t).digest()

db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER events_no_update")
rows = db.execute("SELECT seq, at, json, prev, hash FROM events"
                  " ORDER BY seq").fetchall()
if sys.argv[2] == "insert":
    # a new event 5, the old 5.. moved up by one, their rows untouched
    db.execute("UPDATE events SET seq = -(seq + 1) WHERE seq >= 5")
    db.execute("UPDATE events SET seq = -seq WHERE seq < 0")
    prev = rows[3][4]
    text = '{"type":"bootstrap","result":"accepted","device_id":"evil"}'
    db.execute("INSERT INTO events(seq, at, json, prev, hash)"
               " VALUES(5, ?, ?, ?, ?)",
               (rows[3][1], text, prev, h(prev, 5, rows[3][1], text)))
else:
    # event 3 edited and every hash after it recomputed
    prev = rows[1][4]
    for seq, at, text, _, _ in rows[2:]:
        if seq == 3:
            text = text.replace("rejected", "accepted")
        new = h(prev, seq, at, text)
        db.execute("UPDATE events SET json = ?, prev = ?, hash = ?"
                   " WHERE seq = ?", (text, prev, new, seq))
        prev = new
db.commit()
PY
for kind in insert rehash; do
	sqlite3 "$T/registry.db" ".backup '$T/$kind.db'"
	"$PY" "$T/forge.py" "$T/$kind.db" "$kind"
	config "$T/$kind.json" "$kind.db" 5
done
e2e_audit_verify "$T/insert.json" inserted 5 "row 5 inserted with a valid hash"
e2e_audit_verify "$T/rehash.json" modified 5 "row 3 edited, the chain rehashed (found at checkpoint 5)"

# A crash between events and their checkpoint: a server that checkpoints
# only every 1000 events acknowledges five refused requests (five durable
# events) and is killed with SIGKILL.
config "$T/verify.json.crash" crash.db 1000
cp "$T/verify.json.crash" "$T/verify.json"
e2e_start_server python server --quiet
for i in 1 2 3 4 5; do
	st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--cacert "$T/pki/server-ca.pem" -d '{"device_id":"dev-1"}' \
		"https://127.0.0.1:$E2E_PORT/ztp/v1/bootstrap")
	[ "$st" = 400 ] || e2e_fail "crash: request $i answered $st"
done
kill -KILL "$E2E_PID"
wait "$E2E_PID" 2>/dev/null || true
E2E_SERVER_PIDS=
e2e_audit_verify "$T/verify.json.crash" ok 5/0/5 "after SIGKILL: the 5 acknowledged events, chained, none signed yet"
"$ZTP_VERIFY" --config "$T/verify.json.crash" audit checkpoint
e2e_audit_verify "$T/verify.json.crash" ok 5/5/0 "a checkpoint afterwards covers them"
e2e_done
