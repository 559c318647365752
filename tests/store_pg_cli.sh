#!/bin/sh
# The command-line tools on a PostgreSQL registry, the URI given as is:
# `ztp-verify enroll` through the verifier configuration's "store" (the
# path the reference servers take too), and `ztp-ca issue`, `revoke` and
# `crl` through --store. Checked in the database with psql. Starts its
# own PostgreSQL 15 (tests/pg.sh); fails, never skips, when it cannot.
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/pg.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
pg_cli_cleanup() { e2e_stop_servers; pg_stop; }
TEST_CLEANUP=pg_cli_cleanup
pg_start "$T" || die "PostgreSQL did not start (needs postgresql-15: see tests/pg.sh)"
sql() { $ZTP_PG_PSQL -Atc "$1"; }

e2e_pki
sed "s|\"sqlite:registry.db\"|\"$ZTP_PG_URI\"|" "$T/verify.json" > "$T/pg.json"
check "the configuration names the PostgreSQL registry" \
	grep -q "$ZTP_PG_URI" "$T/pg.json"

e2e_device box-1
check "ztp-verify enroll on postgresql://" sh -c \
	'"$0" --config "$1" enroll --device-id box-1 --factory-cert "$2" > "$3"' \
	"$ZTP_VERIFY" "$T/pg.json" "$T/dev/box-1/factory.leaf.pem" "$T/claim.txt"
code=$(cat "$T/claim.txt")
check "ztp-verify claim on postgresql://" \
	"$ZTP_VERIFY" --config "$T/pg.json" claim --device-id box-1 \
	--code "$code" --tenant acme
check "the device is claimed in the database" \
	test "$(sql "SELECT state || ' ' || tenant FROM devices WHERE device_id = 'box-1'")" = "active acme"
check "its claim hash is consumed" \
	test "$(sql "SELECT count(*) FROM claims WHERE device_id = 'box-1'")" = 0
check "enrolling it again is refused" \
	sh -c '! "$0" --config "$1" enroll --device-id box-1 --factory-cert "$2" >/dev/null 2>&1' \
	"$ZTP_VERIFY" "$T/pg.json" "$T/dev/box-1/factory.leaf.pem"

p=$T/pki
check "ztp-ca issue --store postgres://" \
	"$ZTP_CA" issue --profile server --issuer-cert "$p/server-ca.pem" \
	--issuer-key "$p/server-ca.key" --new-key "$T/srv.key" --dns srv.test \
	--out "$T/srv.pem" --store "postgres://${ZTP_PG_URI#postgresql://}" >/dev/null
serial=$(sql "SELECT serial FROM certs WHERE profile = 'server'")
want=$("$OPENSSL" x509 -in "$T/srv.pem" -noout -serial | sed 's/^serial=0*//' |
	tr 'A-F' 'a-f')
check "the certificate is recorded under its serial" test "$serial" = "$want"
check "ztp-ca revoke --store (unix socket URI)" \
	"$ZTP_CA" revoke --store "$ZTP_PG_SOCKET_URI" --serial "$serial" --reason keyCompromise
check "ztp-ca crl --store" \
	"$ZTP_CA" crl --issuer-cert "$p/server-ca.pem" --issuer-key "$p/server-ca.key" \
	--store "$ZTP_PG_URI" --out "$T/crl.pem"
check "the CRL lists the revoked serial" sh -c \
	'"$0" crl -in "$1" -noout -text | tr "A-F" "a-f" | grep -qi "serial number: 0*$2"' \
	"$OPENSSL" "$T/crl.pem" "$serial"
checks_done
