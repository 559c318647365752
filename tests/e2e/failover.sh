#!/bin/sh
# End to end: failover. A fleet (bench/ztp-load, E2E_FLEET devices on 6
# threads, each its own identity and state directory) provisions through
# HAProxy in front of two Go reference servers sharing one registry (see
# e2e_multi_registry: PostgreSQL, or ZTP_E2E_REGISTRY=sqlite) and one
# HMAC secret; once a quarter of the fleet is bootstrapped, one
# instance is killed with SIGKILL. Every device still ends provisioned
# (its retries, HAProxy's redispatch and health checks), and the registry
# shows no serial twice, no device short of a certificate its state
# needs, and no incomplete record.
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/multi-lib.sh"
ZTP_LOAD=$top_builddir/bench/ztp-load
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_LOAD"
e2e_need_python
e2e_need_go_server
e2e_need_haproxy
E2E_FLEET=${ZTP_E2E_FLEET:-150}

e2e_multi_registry
e2e_pki
e2e_multi_config
e2e_start_server go server
P1=$E2E_PORT
PID1=$E2E_PID
e2e_start_server go server
P2=$E2E_PORT
e2e_start_haproxy "$P1" "$P2"

"$ZTP_LOAD" --url "https://127.0.0.1:$E2E_LB_PORT" \
	--ca-file "$T/pki/server-ca.pem" --verify-config "$T/verify.json" \
	--factory-cert "$T/pki/acme-factory.pem" \
	--factory-key "$T/pki/acme-factory.key" --dir "$T/fleet" \
	--devices "$E2E_FLEET" --threads 6 --max-attempts 10 \
	--reuse-probe 0 > "$T/load.out" 2> "$T/load.err" &
LOAD=$!
E2E_SERVER_PIDS="$E2E_SERVER_PIDS $LOAD"

# Kill while the fleet is mid-flight: a quarter bootstrapped.
i=0
killed=
while [ $i -lt 1200 ] && kill -0 "$LOAD" 2>/dev/null; do
	n=$(e2e_sql "SELECT count(*) FROM certs WHERE profile = 'bootstrap';" 2>/dev/null || echo 0)
	if [ "${n:-0}" -ge $((E2E_FLEET / 4)) ]; then
		kill -KILL "$PID1"
		killed=$n
		break
	fi
	sleep 0.05
	i=$((i + 1))
done
[ -n "$killed" ] || { cat "$T/load.err"; e2e_die "the fleet ended or stalled before the kill"; }
e2e_ok "instance on :$P1 killed with SIGKILL after $killed bootstraps"

rc=0
wait "$LOAD" || rc=$?
E2E_SERVER_PIDS=$(echo "$E2E_SERVER_PIDS" | sed "s/ $LOAD\$//")
if [ $rc = 0 ] && grep -q "provisioned (bootstrap, register, credentials): $E2E_FLEET of $E2E_FLEET" "$T/load.out"; then
	e2e_ok "all $E2E_FLEET devices provisioned through the failover"
else
	e2e_fail "fleet: exit $rc: $(grep provisioned "$T/load.out") $(head -n 5 "$T/load.err")"
fi
sed -n '/^errors by wire code/,/^$/p' "$T/load.out"
st=$(e2e_lb_stat s1 status)
case $st in
DOWN*) e2e_ok "HAProxy marked the killed instance $st" ;;
*) e2e_fail "HAProxy says the killed instance is '$st'" ;;
esac

n=$(e2e_sql "SELECT count(*) FROM devices WHERE state = 'registered';")
if [ "$n" = "$E2E_FLEET" ]; then
	e2e_ok "registry: $n devices registered"
else
	e2e_fail "registry: $n of $E2E_FLEET devices registered"
fi
n=$(e2e_sql "SELECT count(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM certs c
	WHERE c.device_id = d.device_id AND c.profile = 'operational');")
if [ "$n" = 0 ]; then
	e2e_ok "registry: every device holds an operational certificate"
else
	e2e_fail "registry: $n devices without an operational certificate"
fi
e2e_registry_consistent "registry consistent after the kill"
# Each device stored the certificate it was last given: the registry
# knows it, under its serial.
missing=0
for st in "$T"/fleet/*/state; do
	cert=$(cred_cert "$st" operational) || { missing=$((missing + 1)); continue; }
	serial=$("$OPENSSL" x509 -in "$cert" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f')
	n=$(e2e_sql "SELECT count(*) FROM certs WHERE lower(serial) = '$serial';")
	[ "$n" = 1 ] || missing=$((missing + 1))
done
if [ $missing = 0 ]; then
	e2e_ok "every certificate a device holds is recorded once"
else
	e2e_fail "$missing certificates held by devices are not recorded once"
fi
e2e_done
