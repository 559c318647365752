#!/bin/sh
# Factory-scale manufacturing with the command-line tools, on a real
# SQLite registry: `ztp-ca issue-bulk` issues factory certificates from
# certificate requests (JSON lines, and a directory), `ztp-verify import`
# enrolls them in one run (claim codes to a 0600 file, refusals by line
# number, idempotent when run again), `ztp-verify list` and
# `ztp-verify expiring` read the inventory as JSON lines.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python

e2e_pki
p=$T/pki
V="$ZTP_VERIFY --config $T/verify.json"
FAC="--issuer-cert $p/acme-factory.pem --issuer-key $p/acme-factory.key"

# ------------------------------------------------------------ issue-bulk
mkdir "$T/csrs" "$T/certs"
i=1
while [ $i -le 6 ]; do
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$T/csrs/box-$i.key" -out "$T/csrs/box-$i.csr" \
		-subj "/CN=box-$i" 2>>"$T/openssl.log" ||
		harness_error "openssl req"
	i=$((i + 1))
done
"$PY" - "$T/csrs" > "$T/reqs.jsonl" <<'PY'
import json, sys
d = sys.argv[1]
for i in range(1, 5):
    print(json.dumps({"device_id": "box-%d" % i,
                      "csr": open("%s/box-%d.csr" % (d, i)).read()}))
print('{"device_id": "box-9", "csr": "not a request"}')
PY
st=0
$ZTP_CA issue-bulk $FAC --in "$T/reqs.jsonl" --out "$T/certs.jsonl" \
	>"$T/bulk.json" 2>"$T/bulk.err" || st=$?
check "issue-bulk: exit 3 when a request was refused" [ "$st" = 3 ]
check "issue-bulk: 4 issued, line 5 refused" "$PY" - "$T/bulk.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["issued"] == 4 and s["refused"] == 1, s
r = s["refusals"][0]
assert r["line"] == 5 and r["device_id"] == "box-9", r
assert r["code"] == "malformed_input", r
PY
check "issue-bulk: the certificates verify and name their devices" \
	"$PY" - "$T/certs.jsonl" "$p" "$OPENSSL" <<'PY'
import json, subprocess, sys
n = 0
for line in open(sys.argv[1]):
    rec = json.loads(line)
    out = subprocess.run(
        [sys.argv[3], "verify", "-CAfile", sys.argv[2] + "/acme-root.pem",
         "-untrusted", sys.argv[2] + "/acme-factory.pem"],
        input=rec["factory_cert"].encode(), capture_output=True)
    assert out.returncode == 0, out.stdout + out.stderr
    subj = subprocess.run([sys.argv[3], "x509", "-noout", "-subject"],
                          input=rec["factory_cert"].encode(),
                          capture_output=True).stdout.decode()
    assert ("CN = " + rec["device_id"]) in subj, subj
    n += 1
assert n == 4, n
PY
st=0
$ZTP_CA issue-bulk $FAC --in "$T/reqs.jsonl" --out "$T/certs.jsonl" \
	>/dev/null 2>"$T/bulk.err" || st=$?
check "issue-bulk: an existing output is never replaced" [ "$st" = 1 ]
check "issue-bulk: says why" grep -q "already_exists" "$T/bulk.err"

mkdir "$T/dirin" "$T/dirout"
cp "$T/csrs/box-5.csr" "$T/csrs/box-6.csr" "$T/dirin/"
echo junk > "$T/dirin/box-7.csr"
st=0
$ZTP_CA issue-bulk $FAC --csr-dir "$T/dirin" --out-dir "$T/dirout" \
	>"$T/bulkdir.json" 2>&1 || st=$?
check "issue-bulk (directories): exit 3, box-7 refused" [ "$st" = 3 ]
check "issue-bulk (directories): one PEM per request" \
	test -s "$T/dirout/box-5.pem" -a -s "$T/dirout/box-6.pem" \
	-a ! -e "$T/dirout/box-7.pem"
st=0
$ZTP_CA issue-bulk $FAC --in "$T/reqs.jsonl" --out-dir "$T/dirout" \
	>/dev/null 2>&1 || st=$?
check "issue-bulk: JSON lines in, a directory out is a usage error" [ "$st" = 2 ]

# ------------------------------------------------------------ import
# The bulk output, plus lines of the manufacturer's database: the
# directory's certificates and one fingerprint, and bad lines.
"$PY" - "$T" > "$T/import.jsonl" <<'PY'
import hashlib, json, ssl, sys
t = sys.argv[1]
for line in open(t + "/certs.jsonl"):
    rec = json.loads(line)
    rec["model"] = "sensor-2"
    rec["batch"] = "2026-w49"
    print(json.dumps(rec))
for i in (5, 6):
    print(json.dumps({"device_id": "box-%d" % i, "model": "gateway",
                      "factory_cert": open("%s/dirout/box-%d.pem" % (t, i)).read(),
                      "manufactured_at": "2026-12-01T08:00:00Z"}))
der = ssl.PEM_cert_to_DER_cert(open(t + "/dirout/box-5.pem").read())
print(json.dumps({"device_id": "box-50", "batch": "2026-w49",
                  "fingerprint": hashlib.sha256(der).hexdigest()}))
print("{\"device_id\": \"box-51\"}")
print("{\"device_id\": \"box-52\", \"fingerprint\": \"00\"}")
PY
st=0
$V import "$T/import.jsonl" --claims "$T/claims.txt" --chunk 3 \
	>"$T/import.json" 2>"$T/import.err" || st=$?
check "import: exit 3 when lines were refused" [ "$st" = 3 ]
check "import: no progress bar when stderr is not a terminal" \
	test ! -s "$T/import.err"
check "import: 7 enrolled, lines 8 and 9 refused" \
	"$PY" - "$T/import.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["lines"] == 9 and s["enrolled"] == 7, s
assert s["skipped"] == 0 and s["refused"] == 2, s
assert [r["line"] for r in s["refusals"]] == [8, 9], s
assert all(r["code"] == "invalid_argument" for r in s["refusals"]), s
PY
check "import: the claims file is private" \
	test "$(stat -c %a "$T/claims.txt")" = 600
check "import: one code per enrolled device" \
	test "$(wc -l < "$T/claims.txt")" = 7
code=$(sed -n 's/^box-2 //p' "$T/claims.txt")
check "import: a code from the file claims its device" \
	sh -c "echo '$code' | $V claim --device-id box-2 --code - --tenant acme"

st=0
$V import "$T/import.jsonl" --claims "$T/claims2.txt" \
	>"$T/import2.json" 2>/dev/null || st=$?
check "import again: nothing enrolled twice, no new codes" \
	"$PY" - "$T/import2.json" "$T/claims2.txt" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
assert s["enrolled"] == 0 and s["skipped"] == 7 and s["refused"] == 2, s
assert os.path.getsize(sys.argv[2]) == 0
PY
st=0
$V import "$T/import.jsonl" --claims "$T/claims.txt" >/dev/null 2>&1 || st=$?
check "import: an existing claims file is refused (exit 1)" [ "$st" = 1 ]
check "import: ... and kept" test "$(wc -l < "$T/claims.txt")" = 7

# ------------------------------------------------------------ inventory
check "list: every device, in ID order, as JSON lines" \
	sh -c "$V list | $PY -c '
import json, sys
ids = [json.loads(l)[\"device_id\"] for l in sys.stdin]
assert ids == sorted(ids) and len(ids) == 7, ids'"
check "list --batch --model" \
	sh -c "$V list --batch 2026-w49 --model sensor-2 | $PY -c '
import json, sys
ids = [json.loads(l)[\"device_id\"] for l in sys.stdin]
assert ids == [\"box-1\", \"box-2\", \"box-3\", \"box-4\"], ids'"
check "list --state active --tenant acme" \
	sh -c "test \"\$($V list --state active --tenant acme | wc -l)\" = 1"
check "list --after --limit: one page" \
	sh -c "$V list --after box-3 --limit 2 | $PY -c '
import json, sys
ids = [json.loads(l)[\"device_id\"] for l in sys.stdin]
assert ids == [\"box-4\", \"box-5\"], ids'"
st=0
$V list --state sleeping >/dev/null 2>&1 || st=$?
check "list: a bad state is refused" [ "$st" = 1 ]

# The factory certificates are recorded by the manufacturer's CA store,
# not the registry's; the registry's certificates are the device CA's.
"$ZTP_CA" issue --issuer-cert "$p/device-ca.pem" --issuer-key "$p/device-ca.key" \
	--csr "$T/csrs/box-1.csr" --device-id box-1 --profile operational \
	--days 20 --out "$T/op1.pem" --store "sqlite:$T/registry.db" >/dev/null
"$ZTP_CA" issue --issuer-cert "$p/device-ca.pem" --issuer-key "$p/device-ca.key" \
	--csr "$T/csrs/box-2.csr" --device-id box-2 --profile operational \
	--days 200 --out "$T/op2.pem" --store "sqlite:$T/registry.db" >/dev/null
check "expiring --days 30: the 20-day certificate only" \
	sh -c "$V expiring --days 30 | $PY -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert [r[\"device_id\"] for r in recs] == [\"box-1\"], recs'"
check "expiring --days 365: both, soonest first" \
	sh -c "$V expiring --days 365 | $PY -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert [r[\"device_id\"] for r in recs] == [\"box-1\", \"box-2\"], recs'"

checks_done
