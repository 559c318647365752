#!/bin/sh
# The store suite on PostgreSQL: starts a PostgreSQL 15 server of its own
# (tests/pg.sh) and runs tests/unit/test_store on it, the functional cases
# of every backend ("backend" tag, on postgresql: alone, each test in a
# schema of its own) and the PostgreSQL cases ("pg": URIs, migrations,
# processes racing, lost connections, a restarted server, timeouts).
# A server that cannot start fails this test: it never skips.
# ZTP_TEST_RUNNER (e.g. "valgrind -q --error-exitcode=1") runs the suite
# under a tool.
. "${top_srcdir:?}/tests/lib.sh"
. "$top_srcdir/tests/pg.sh"

test_tmpdir store-pg
TEST_CLEANUP=pg_stop
pg_start "$T" || die "PostgreSQL did not start (needs postgresql-15: see tests/pg.sh)"

ZTP_TEST_PG_URI=$ZTP_PG_URI ZTP_TEST_PG_SOCKET_URI=$ZTP_PG_SOCKET_URI \
	ZTP_TEST_PG_CTL=$ZTP_PG_CTL CK_INCLUDE_TAGS="backend pg" \
	${ZTP_TEST_RUNNER:-} "${top_builddir:?}/tests/unit/test_store"
rc=$?
[ "$rc" -eq 0 ] || die "store suite on PostgreSQL: exit $rc"
ok "store suite on PostgreSQL"
checks_done
