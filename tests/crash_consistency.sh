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

. "${top_srcdir:?}/tests/lib.sh"
command -v sqlite3 >/dev/null 2>&1 ||
	skip "the sqlite3 command-line tool is not installed"
pid=
stop_issuer() { [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null; }
TEST_CLEANUP=stop_issuer
test_tmpdir crash

"$bin" init "$T" || die "cannot create the CA"
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/dev.key" -subj /CN=crash-dev -out "$T/dev.csr" \
	2>/dev/null || die "cannot create a CSR"

# A different random schedule per run, reproducible from the printed seed.
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $seed, $ROUNDS rounds"

: >"$T/received"
round=0
while test "$round" -lt "$ROUNDS"; do
	delay=$(awk -v s="$seed" -v r="$round" \
		'BEGIN { srand(s + r); printf "%.3f", 0.05 + rand() * 0.45 }')
	"$bin" issue "$T" "$T/dev.csr" >"$T/out.$round" 2>"$T/err.$round" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	status=$?
	pid=
	# 137: killed as intended; anything else means it died on its own.
	test "$status" -eq 137 ||
		die "round $round: issuer exited with $status: $(cat "$T/err.$round")"
	# Only whole lines are serials the client received in full.
	awk '/^[0-9a-f]+$/' "$T/out.$round" >>"$T/received"
	round=$((round + 1))
done

total=$(wc -l <"$T/received" | tr -d ' ')
echo "$total certificates received across $ROUNDS crashes"
test "$total" -gt 0 || die "no certificate was issued before any kill"

check=$(sqlite3 "$T/registry.db" 'PRAGMA integrity_check;') ||
	die "sqlite3 cannot read the registry"
test "$check" = ok || die "integrity_check: $check"

dups=$(sort "$T/received" | uniq -d | head -n 5)
test -z "$dups" || die "serials handed out twice: $dups"
sqlite3 "$T/registry.db" 'SELECT serial FROM certs;' | sort >"$T/recorded"
dups=$(uniq -d <"$T/recorded" | head -n 5)
test -z "$dups" || die "serials recorded twice: $dups"
missing=$(sort "$T/received" | comm -23 - "$T/recorded" | head -n 5)
test -z "$missing" || die "received but not recorded: $missing"

# And through the library, which must also open the store again.
"$bin" check "$T" <"$T/received" || die "library check"
ok "integrity_check ok, $total received, all recorded, no repeats"
checks_done
