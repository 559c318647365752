#!/bin/sh
# Registry throughput, sqlite: (the baseline) against postgresql:// on a
# local PostgreSQL 15 started with durable settings (fsync on, as a
# deployment runs it). Both on the same disk, in one temporary directory.
#   OPS (default 2000) operations per figure, THREADS (default 8).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pg.sh"
test_tmpdir bench-store
TEST_CLEANUP=pg_stop
PG_OPTS="-c fsync=on -c full_page_writes=on" pg_start "$T" ||
	die "PostgreSQL did not start (needs postgresql-15)"
"$top_builddir/bench/bench_store" "${OPS:-2000}" "${THREADS:-8}" \
	"sqlite:$T/registry.db" "$ZTP_PG_URI" "$ZTP_PG_SOCKET_URI"
