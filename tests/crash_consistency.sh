#!/bin/sh
# Crash consistency: kill (SIGKILL) a process that issues certificates into
# an SQLite registry at random moments, many times, then check that the
# file is intact (PRAGMA integrity_check), that every serial a client
# received is recorded, and that no serial repeats.
#
# ROUNDS (default 30) and the kill window are bounded so the test takes
# well under a minute.
# SPDX-License-Identifier: Apache-2.0
set -u

: "${top_builddir:=.}"
: "${OPENSSL:=openssl}"
ROUNDS=${ROUNDS:-30}
bin=$top_builddir/tests/crash_issue

if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "SKIP: the sqlite3 command-line tool is not installed"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ztp-crash-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() {
	echo "FAIL: $*"
	exit 1
}

"$bin" init "$tmp" || fail "cannot create the CA"
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/dev.key" -subj /CN=crash-dev -out "$tmp/dev.csr" \
	2>/dev/null || fail "cannot create a CSR"

# A different random schedule per run, reproducible from the printed seed.
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $seed, $ROUNDS rounds"

: >"$tmp/received"
round=0
while test "$round" -lt "$ROUNDS"; do
	delay=$(awk -v s="$seed" -v r="$round" \
		'BEGIN { srand(s + r); printf "%.3f", 0.05 + rand() * 0.45 }')
	"$bin" issue "$tmp" "$tmp/dev.csr" >"$tmp/out.$round" 2>"$tmp/err.$round" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	status=$?
	# 137: killed as intended; anything else means it died on its own.
	test "$status" -eq 137 ||
		fail "round $round: issuer exited with $status: $(cat "$tmp/err.$round")"
	# Only whole lines are serials the client received in full.
	awk '/^[0-9a-f]+$/' "$tmp/out.$round" >>"$tmp/received"
	round=$((round + 1))
done

total=$(wc -l <"$tmp/received" | tr -d ' ')
echo "$total certificates received across $ROUNDS crashes"
test "$total" -gt 0 || fail "no certificate was issued before any kill"

check=$(sqlite3 "$tmp/registry.db" 'PRAGMA integrity_check;') ||
	fail "sqlite3 cannot read the registry"
test "$check" = ok || fail "integrity_check: $check"

dups=$(sort "$tmp/received" | uniq -d | head -n 5)
test -z "$dups" || fail "serials handed out twice: $dups"
sqlite3 "$tmp/registry.db" 'SELECT serial FROM certs;' | sort >"$tmp/recorded"
dups=$(uniq -d <"$tmp/recorded" | head -n 5)
test -z "$dups" || fail "serials recorded twice: $dups"
missing=$(sort "$tmp/received" | comm -23 - "$tmp/recorded" | head -n 5)
test -z "$missing" || fail "received but not recorded: $missing"

# And through the library, which must also open the store again.
"$bin" check "$tmp" <"$tmp/received" || fail "library check"
echo "ok: integrity_check ok, $total received, all recorded, no repeats"
exit 0
