#!/bin/sh
# bench/bench_fleet with its import and inventory pages also on
# postgresql://, on a local PostgreSQL 15 started with durable settings
# (fsync on, as a deployment runs it). ZTP_BENCH_DEVICES (default
# 1,000,000) devices; the SQLite figures of the same run are the baseline.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pg.sh"
test_tmpdir bench-fleet-pg
TEST_CLEANUP=pg_stop
PG_OPTS="-c fsync=on -c full_page_writes=on" pg_start "$T" ||
	die "PostgreSQL did not start (needs postgresql-15)"
ZTP_BENCH_PG_URI=$ZTP_PG_URI ZTP_BENCH_DIR=$T \
	"$top_builddir/bench/bench_fleet"
