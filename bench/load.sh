#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Fleet load benchmark (`make bench-load`): builds a deployment in a
# temporary directory (the PKI with ztp-ca, a shared registry and HMAC
# secret, reference servers, HAProxy in TCP mode in front of them, with
# the helpers the multi-instance tests use: tests/e2e/multi-lib.sh), then
# runs bench/ztp-load against it and prints its report: devices/s,
# latency per endpoint, errors by wire code, server CPU per provisioned
# device (the servers, HAProxy and PostgreSQL, from /proc) next to the
# crypto bound measured with OpenSSL in the same run, and what reusing
# connections would save. Asserts nothing.
#
# Environment (all optional):
#   BENCH_LOAD_SERVERS  the instances: "go go" (default; behind HAProxy),
#                       "go", "python", "python python", ...; with one
#                       instance the devices talk to it directly
#   BENCH_LOAD_STORE    postgresql (the default when libztp has the
#                       backend: a PostgreSQL 15 started in the temporary
#                       directory by tests/pg.sh, with fsync on) or sqlite
#   BENCH_LOAD_DEVICES  fleet size (default 1000)
#   BENCH_LOAD_THREADS  generator threads (default 16)
#   BENCH_LOAD_PROBE    requests per way of the connection-reuse probe
#                       (default 200; 0 skips it)
#   BENCH_LOAD_LOG      1: the servers log every request and event (it
#                       costs them CPU), and the first refusals of the
#                       registry or the CA are printed with their detail
#   BENCH_LOAD_DIR      where the devices' state directories go (default:
#                       the temporary directory); a tmpfs such as /dev/shm
#                       takes the devices' fsyncs out of the figures
# Needs: haproxy (two or more instances), curl, python3, go (Go servers).
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/multi-lib.sh"
ZTP_LOAD=$top_builddir/bench/ztp-load
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_LOAD"
servers=${BENCH_LOAD_SERVERS:-go go}
devices=${BENCH_LOAD_DEVICES:-1000}
threads=${BENCH_LOAD_THREADS:-16}
probe=${BENCH_LOAD_PROBE:-200}
e2e_need_python
case " $servers " in *" go "*) e2e_need_go_server ;; esac

pids=
names=
# A benchmark's database keeps its durability (tests/pg.sh turns fsync
# off for tests).
PG_OPTS="-c fsync=on -c full_page_writes=on ${PG_OPTS:-}"
e2e_multi_registry "${BENCH_LOAD_STORE:-}"
if [ "$E2E_REGISTRY" = postgresql ]; then
	pg_pid=$(head -n 1 "$ZTP_PG_DIR/postmaster.pid")
	pids="$pids --server-pid $pg_pid"
	names="$names postgres=$pg_pid"
fi

e2e_pki
e2e_multi_config
ports=
# The whole fleet comes from one address (and behind HAProxy every
# connection does): the servers' per-address cap would cap the fleet
# (doc/DEPLOYMENT.md), so it is their connection cap here.
quiet=--quiet
[ "${BENCH_LOAD_LOG:-0}" = 1 ] && quiet=
n=0
for kind in $servers; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	E2E_LOG_TAG=$n e2e_start_server "$kind" server $quiet \
		--max-per-address 256
	ports="$ports $E2E_PORT"
	pids="$pids --server-pid $E2E_PID"
	names="$names $kind=$E2E_PID"
done
# shellcheck disable=SC2086
set -- $ports
if [ $# -gt 1 ]; then
	e2e_start_haproxy "$@"
	url=https://127.0.0.1:$E2E_LB_PORT
	pids="$pids --server-pid $E2E_LB_PID"
	names="$names haproxy=$E2E_LB_PID"
	topology="$servers behind HAProxy"
else
	url=https://127.0.0.1:$1
	topology="$servers, direct"
fi
dir=${BENCH_LOAD_DIR:-$T}/fleet-$$
bench_cleanup() {
	e2e_multi_cleanup
	rm -rf "$dir"
}
TEST_CLEANUP=bench_cleanup
echo "bench-load: $topology, registry $E2E_STORE, $devices devices," \
	"$threads threads; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-load: server processes:$names"
# shellcheck disable=SC2086
"$ZTP_LOAD" --url "$url" --ca-file "$T/pki/server-ca.pem" \
	--verify-config "$T/verify.json" \
	--factory-cert "$T/pki/acme-factory.pem" \
	--factory-key "$T/pki/acme-factory.key" --dir "$dir" \
	--devices "$devices" --threads "$threads" --reuse-probe "$probe" \
	--probe-url "https://127.0.0.1:$1" \
	$pids || rc=$?
echo "bench-load: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Server-side failures are the registry's or the CA's, not the devices':
# with BENCH_LOAD_LOG=1 the servers log (which costs them CPU), and the
# first few such refusal events are shown with the library's own message
# (their "detail" member), for a diagnosis.
if [ -z "$quiet" ]; then
	fails='"(store_unavailable|ca_unavailable|internal_error)"'
	refusals=$(cat "$T"/server-*.out "$T"/server-*.err |
		grep -E "$fails" | grep '"kind":"event"' | head -5)
	echo "bench-load: server-side refusals (first 5 events):" \
		"${refusals:-none}"
fi
exit "${rc:-0}"
