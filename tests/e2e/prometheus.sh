#!/bin/sh
# End to end: a real Prometheus (Debian's prometheus) scrapes the Python
# reference server's separate metrics listener (--metrics-listen, plain
# HTTP), and its HTTP API then answers the request counter the test
# produced. Prometheus runs from a configuration and TSDB in $T on an
# ephemeral 127.0.0.1 port, scrapes every second, and is stopped by the
# EXIT trap; every wait is bounded.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
PROMETHEUS=${PROMETHEUS:-prometheus}
command -v "$PROMETHEUS" >/dev/null 2>&1 ||
	e2e_die "prometheus not found (install Debian's prometheus)"
command -v curl >/dev/null 2>&1 || e2e_die "curl not found"

e2e_pki
e2e_start_server python server --quiet --metrics-listen 127.0.0.1:0
MPORT=
i=0
while [ $i -lt 100 ] && [ -z "$MPORT" ]; do
	MPORT=$(sed -n 's/^metrics on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
		"$T/server-server-$$.out" | head -n 1)
	[ -n "$MPORT" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$MPORT" ] || e2e_die "no metrics listener announced"

# Three accepted challenges and one refused.
for body in '{"device_id":"dev-p1"}' '{"device_id":"dev-p1"}' \
	'{"device_id":"dev-p2"}' '{"device_id":"bad id"}'; do
	curl -s -o /dev/null --max-time 10 --cacert "$T/pki/server-ca.pem" \
		-d "$body" "https://127.0.0.1:$E2E_PORT/ztp/v1/challenge" ||
		e2e_die "challenge request failed"
done

# The metrics listener serves the exposition; the device-facing one
# does not.
st=$(curl -s -o "$T/metrics.txt" -w '%{http_code}' --max-time 10 \
	"http://127.0.0.1:$MPORT/metrics")
if [ "$st" = 200 ] &&
	grep -q '^ztp_requests_total{endpoint="challenge",code="ok"} 3$' "$T/metrics.txt"; then
	e2e_ok "metrics listener: 3 accepted challenges"
else
	e2e_fail "metrics listener: status $st, $(grep challenge "$T/metrics.txt" | head -3)"
fi
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	--cacert "$T/pki/server-ca.pem" "https://127.0.0.1:$E2E_PORT/metrics")
[ "$st" = 404 ] && e2e_ok "TLS listener: no /metrics beside --metrics-listen" ||
	e2e_fail "TLS listener answered /metrics with $st"

PPORT=$(free_port)
mkdir -p "$T/prom"
cat > "$T/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ztp
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
"$PROMETHEUS" --config.file="$T/prom/prometheus.yml" \
	--storage.tsdb.path="$T/prom/data" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn \
	> "$T/prom/out" 2> "$T/prom/err" &
PPID_=$!
E2E_SERVER_PIDS="$E2E_SERVER_PIDS $PPID_"

# query EXPR: the value of the first sample of an instant query, or "".
query() {
	curl -s --max-time 5 -G "http://127.0.0.1:$PPORT/api/v1/query" \
		--data-urlencode "query=$1" 2>/dev/null | "$PY" -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except (ValueError, KeyError, IndexError):
    print("")'
}

got=
i=0
while [ $i -lt 120 ]; do
	kill -0 "$PPID_" 2>/dev/null || { cat "$T/prom/err"; e2e_die "prometheus exited"; }
	got=$(query 'ztp_requests_total{job="ztp",endpoint="challenge",code="ok"}')
	[ "$got" = 3 ] && break
	sleep 0.5
	i=$((i + 1))
done
if [ "$got" = 3 ]; then
	e2e_ok "prometheus scraped ztp_requests_total{endpoint=\"challenge\",code=\"ok\"} = 3"
else
	e2e_fail "prometheus answered '$got' for the challenge counter"
	tail -20 "$T/prom/err"
fi
got=$(query 'ztp_requests_total{job="ztp",endpoint="challenge",code="malformed_request"}')
[ "$got" = 1 ] && e2e_ok "prometheus: the refused challenge is counted by its code" ||
	e2e_fail "prometheus answered '$got' for the refused challenge"
got=$(query 'up{job="ztp"}')
[ "$got" = 1 ] && e2e_ok "prometheus: target up" || e2e_fail "target up = '$got'"
e2e_done
