#!/bin/sh
# The audit chain on a PostgreSQL registry: four loops of `ztp-verify`
# processes (verifier instances) append events to one registry at once,
# with checkpoints every 5 events; `ztp-verify audit verify` finds the
# chain intact, and so does the offline verifier on `audit export`. Then
# rows are edited, deleted, swapped and truncated with psql (the
# append-only trigger disabled, as the table's owner can), each caught
# and located, and the log restored in between. Starts its own
# PostgreSQL 15 (tests/pg.sh); fails, never skips, when it cannot.
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/pg.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
TEST_CLEANUP=pg_stop
pg_start "$T" || die "PostgreSQL did not start (needs postgresql-15: see tests/pg.sh)"
sql() { $ZTP_PG_PSQL -Atc "$1"; }

e2e_pki
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$T/audit.key" 2>/dev/null
"$OPENSSL" pkey -in "$T/audit.key" -pubout -out "$T/audit.pub"
"$PY" - "$T/verify.json" "$T/pg.json" "$ZTP_PG_URI" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    cfg = json.load(f)
cfg["store"] = sys.argv[3]
cfg["audit"] = {"key": "audit.key", "every_events": 5}
with open(sys.argv[2], "w") as f:
    json.dump(cfg, f)
PY

# 4 loops x 8 refused requests, one process each, all at once.
printf '{"device_id":"dev-1"}' > "$T/bad.json"
pids=
for l in 1 2 3 4; do
	(
		for i in 1 2 3 4 5 6 7 8; do
			"$ZTP_VERIFY" --config "$T/pg.json" handle bootstrap \
				< "$T/bad.json" > /dev/null 2>"$T/loop$l.err" || :
		done
	) &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
check "32 events appended by concurrent processes" \
	test "$(sql "SELECT count(*) || ' ' || max(seq) FROM events")" = "32 32"
check "the head is the last event" \
	test "$(sql 'SELECT h.seq FROM audit_head h JOIN events e ON e.seq = h.seq AND e.hash = h.hash')" = 32
"$ZTP_VERIFY" --config "$T/pg.json" audit checkpoint >/dev/null
e2e_audit_verify "$T/pg.json" ok 32/32/0 "intact chain of concurrent appends"

"$ZTP_VERIFY" --config "$T/pg.json" audit export --out "$T/export.jsonl"
check "export: 32 events" test "$(grep -c '"type":"event"' "$T/export.jsonl")" = 32
check "offline verification of the export" \
	sh -c '"$0" audit verify --offline "$1" --pubkey "$2" >/dev/null' \
	"$ZTP_VERIFY" "$T/export.jsonl" "$T/audit.pub"

check "the events refuse UPDATE while the trigger is on" sh -c \
	'! $0 -Atc "UPDATE events SET at = 0 WHERE seq = 1" 2>/dev/null' "$ZTP_PG_PSQL"
sql "CREATE TABLE saved AS SELECT * FROM events"
# tamper SQL: applied with the trigger off; restore: the saved rows back.
tamper() { sql "ALTER TABLE events DISABLE TRIGGER events_no_change; $1"; }
restore() {
	sql "DELETE FROM events; INSERT INTO events SELECT * FROM saved;
		ALTER TABLE events ENABLE TRIGGER events_no_change"
}
tamper "UPDATE events SET json = replace(json, 'rejected', 'accepted')
	WHERE seq = 3"
e2e_audit_verify "$T/pg.json" modified 3 "row 3 edited with psql"
restore
tamper "DELETE FROM events WHERE seq = 7"
e2e_audit_verify "$T/pg.json" deleted 7 "row 7 deleted with psql"
restore
tamper "UPDATE events e SET at = o.at, json = o.json, prev = o.prev,
	hash = o.hash FROM saved o WHERE (e.seq, o.seq) IN ((4, 6), (6, 4))"
e2e_audit_verify "$T/pg.json" reordered 4 "rows 4 and 6 swapped with psql"
restore
tamper "DELETE FROM events WHERE seq > 20"
e2e_audit_verify "$T/pg.json" truncated 21 "rows after 20 deleted with psql"
restore
e2e_audit_verify "$T/pg.json" ok 32/32/0 "restored: intact again"
e2e_done
