# Helpers for deployments of several verifier instances (sourced after
# tests/e2e/lib.sh, POSIX sh): a registry and an HMAC secret file shared
# by every instance, HAProxy in TCP mode in front of them (so that mutual
# TLS reaches the instances untouched), raw requests to one instance at a
# time, and SQL against the registry. Used by tests/e2e/multi*.sh,
# tests/e2e/failover.sh and bench/load.sh; doc/DEPLOYMENT.md describes
# the topology.
#
# The registry: E2E_STORE, a store URI, chosen by e2e_multi_registry.
# Every instance reads the same $T/verify.json.

E2E_STORE=${E2E_STORE:-sqlite:registry.db}
E2E_LB_PID=
E2E_NO_LIMITS='{"device": {"rate": 1000, "burst": 100000},
  "lifecycle": {"rate": 1000, "burst": 100000},
  "global": {"rate": 100000, "burst": 100000}}'

# e2e_multi_registry [KIND]: the registry every instance shares, KIND
# (else ZTP_E2E_REGISTRY) one of
#   postgresql  a PostgreSQL 15 started in $T by tests/pg.sh (as an
#               unprivileged user when run as root), stopped on exit; the
#               default when this libztp has the postgresql:// backend,
#               as CI builds it
#   sqlite      the file $T/registry.db, shared by processes on one host;
#               the default without the backend
# Sets E2E_STORE and E2E_REGISTRY. A PostgreSQL that does not start fails
# the test.
e2e_multi_registry() {
	E2E_REGISTRY=${1:-${ZTP_E2E_REGISTRY:-}}
	if [ -z "$E2E_REGISTRY" ]; then
		E2E_REGISTRY=sqlite
		! grep -q '^#define HAVE_LIBPQ 1' "$top_builddir/config.h" ||
			E2E_REGISTRY=postgresql
	fi
	case $E2E_REGISTRY in
	sqlite) E2E_STORE=sqlite:registry.db ;;
	postgresql)
		grep -q '^#define HAVE_LIBPQ 1' "$top_builddir/config.h" ||
			e2e_die "libztp is built without the postgresql:// backend"
		. "$top_srcdir/tests/pg.sh"
		pg_start "$T" || e2e_die "PostgreSQL did not start"
		E2E_STORE=$ZTP_PG_URI
		;;
	*) e2e_die "ZTP_E2E_REGISTRY: sqlite or postgresql, not '$E2E_REGISTRY'" ;;
	esac
}
e2e_multi_cleanup() {
	e2e_stop_servers
	[ "${E2E_REGISTRY:-}" != postgresql ] || pg_stop
}
TEST_CLEANUP=e2e_multi_cleanup

# e2e_multi_config [RATE_LIMITS [MORE_JSON]]: $T/verify.json for the PKI of
# e2e_pki with the registry E2E_STORE, the secret $T/hmac.key (made here
# once), the JSON object RATE_LIMITS (default: limits no test reaches)
# and MORE_JSON, further members (`"name": value, ...`) or nothing.
e2e_multi_config() {
	[ -f "$T/hmac.key" ] || "$OPENSSL" rand -out "$T/hmac.key" 32
	chmod 600 "$T/hmac.key"
	limits=$E2E_NO_LIMITS
	[ -z "${1:-}" ] || limits=$1
	cat > "$T/verify.json" <<JSON
{
  "trust_anchors": "pki/acme-root.pem",
  "issuers": "pki/acme-factory.pem",
  "device_ca": {"cert": "pki/device-ca.pem", "key": "pki/device-ca.key"},
  "store": "$E2E_STORE",
  "hmac_secret_file": "hmac.key",
  ${2:+$2,}
  "rate_limits": $limits
}
JSON
}

# e2e_need_haproxy: sets HAPROXY (Debian installs it in /usr/sbin, which
# a normal user's PATH may lack), or skips the test without it.
e2e_need_haproxy() {
	HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
	[ -x "$HAPROXY" ] || e2e_skip "no haproxy (install haproxy)"
}

# e2e_start_haproxy PORT...: HAProxy in TCP mode on 127.0.0.1:E2E_LB_PORT,
# round robin over the instances listening on 127.0.0.1:PORT (named s1,
# s2, ... in that order), each health-checked by a TCP connect every
# 200 ms (one failure marks it down); a connection refused by an instance
# is retried at another one. Its statistics (CSV) are served on
# 127.0.0.1:E2E_LB_STATS_PORT. Sets E2E_LB_PORT, E2E_LB_PID; stopped by
# the EXIT trap with the servers. Waits at most 10 s for it.
e2e_start_haproxy() {
	e2e_need_haproxy
	tries=0
	while :; do
		E2E_LB_PORT=$(free_port)
		E2E_LB_STATS_PORT=$(free_port)
		{
			cat <<CFG
global
	maxconn 4096
defaults
	mode tcp
	timeout connect 2s
	timeout client 60s
	timeout server 60s
	retries 3
	option redispatch 1
frontend ztp
	bind 127.0.0.1:$E2E_LB_PORT
	default_backend instances
backend instances
	balance roundrobin
	default-server check inter 200ms fall 1 rise 2 on-marked-down shutdown-sessions
CFG
			i=1
			for port in "$@"; do
				printf '\tserver s%d 127.0.0.1:%s\n' "$i" "$port"
				i=$((i + 1))
			done
			cat <<CFG
listen stats
	mode http
	bind 127.0.0.1:$E2E_LB_STATS_PORT
	stats enable
	stats uri /stats
	timeout client 5s
CFG
		} > "$T/haproxy.cfg"
		"$HAPROXY" -db -f "$T/haproxy.cfg" > "$T/haproxy.out" 2>&1 &
		E2E_LB_PID=$!
		E2E_SERVER_PIDS="$E2E_SERVER_PIDS $E2E_LB_PID"
		i=0
		while [ $i -lt 100 ] && kill -0 "$E2E_LB_PID" 2>/dev/null; do
			curl -sf -o /dev/null \
				"http://127.0.0.1:$E2E_LB_STATS_PORT/stats;csv" &&
				return 0
			sleep 0.1
			i=$((i + 1))
		done
		e2e_stop_server "$E2E_LB_PID"
		tries=$((tries + 1))
		[ $tries -lt 3 ] || { cat "$T/haproxy.out"; e2e_die "haproxy did not start"; }
	done
}

# e2e_lb_stat SERVER FIELD: a column of HAProxy's CSV statistics for
# server SERVER (s1, s2, ...) of the backend: stot (connections so far),
# status (UP, DOWN).
e2e_lb_stat() {
	curl -sf "http://127.0.0.1:$E2E_LB_STATS_PORT/stats;csv" |
		awk -F, -v sv="$1" -v f="$2" '
			NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			$1 == "instances" && $2 == sv { print $col[f] }'
}

# e2e_post PORT ENDPOINT BODY_FILE OUT_FILE CERT KEY: POST a request to
# the instance (or balancer) on 127.0.0.1:PORT with the TLS client
# identity CERT/KEY; prints the HTTP status (000: no answer).
e2e_post() {
	curl -s -o "$4" -w '%{http_code}' --max-time 30 \
		--cacert "$T/pki/server-ca.pem" --cert "$5" --key "$6" \
		-H 'Content-Type: application/json' --data-binary "@$3" \
		"https://127.0.0.1:$1/ztp/v1/$2" || true
}

e2e_json_pem() { awk 'BEGIN { ORS = "\\n" } { print }' "$1"; }
e2e_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$2"; }

# e2e_challenge ID PORT: a challenge for device ID from the instance on
# PORT (with the device's factory identity); prints the nonce.
e2e_challenge() {
	d=$T/dev/$1
	printf '{"device_id":"%s"}' "$1" > "$d/chal.req"
	st=$(e2e_post "$2" challenge "$d/chal.req" "$d/chal.json" \
		"$d/factory.pem" "$d/factory.key")
	[ "$st" = 200 ] || { echo "challenge: HTTP $st $(cat "$d/chal.json")" >&2; return 1; }
	e2e_field nonce "$d/chal.json"
}

# e2e_signed_bootstrap ID NONCE OUT: a bootstrap request for device ID
# answering NONCE, made with the openssl CLI as doc/PROTOCOL.md specifies
# it: a fresh P-256 key ($T/dev/ID/op.key) and CSR, and the factory key's
# signature over "ZTP-BOOTSTRAP-V1" 0 ID 0 NONCE 0 SHA-256(CSR DER).
e2e_signed_bootstrap() {
	d=$T/dev/$1
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$d/op.key" 2>/dev/null
	"$OPENSSL" req -new -key "$d/op.key" -subj "/CN=$1" -out "$d/op.csr"
	printf 'ZTP-BOOTSTRAP-V1\000%s\000%s\000' "$1" "$2" > "$d/t.bin"
	"$OPENSSL" req -in "$d/op.csr" -outform DER |
		"$OPENSSL" dgst -sha256 -binary >> "$d/t.bin"
	"$OPENSSL" dgst -sha256 -sign "$d/factory.key" -out "$d/sig.bin" \
		"$d/t.bin"
	printf '{"device_id":"%s","nonce":"%s","csr":"%s","factory_cert":"%s","signature":"%s"}' \
		"$1" "$2" "$(e2e_json_pem "$d/op.csr")" \
		"$(e2e_json_pem "$d/factory.leaf.pem")" \
		"$("$OPENSSL" base64 -A -in "$d/sig.bin")" > "$3"
}

# e2e_device_lb ID PORT: device ID (e2e_device), enrolled, configured for
# the server on PORT with a registration (type, firmware, capabilities),
# so that `ztp-device bootstrap`, `register` and `credentials` all run.
e2e_device_lb() {
	e2e_device "$1"
	e2e_device_config "$1" "$2"
	e2e_registration "$1"
	e2e_enroll "$1"
}

# e2e_sql QUERY: rows of QUERY on the registry, fields separated by `|`
# (sqlite3 on the file, psql for a PostgreSQL registry).
e2e_sql() {
	case $E2E_STORE in
	sqlite:/*) sqlite3 -batch "${E2E_STORE#sqlite:}" "$1" ;;
	sqlite:*) sqlite3 -batch "$T/${E2E_STORE#sqlite:}" "$1" ;;
	postgresql:*) $ZTP_PG_PSQL -At -c "$1" ;;
	*) e2e_die "e2e_sql: no SQL for $E2E_STORE" ;;
	esac
}

# e2e_registry_consistent: the registry's invariants, from SQL: no serial
# twice, every certificate names an enrolled device, no device
# bootstrapped or registered without a bootstrap certificate (an active
# one may have been claimed before it ever connected), none active without
# a tenant, no certificate record without its fingerprint or with an
# empty validity. Fails the test for each one broken, else passes one
# check named MESSAGE.
e2e_registry_consistent() {
	fails0=$TEST_FAILS
	n=$(e2e_sql "SELECT count(*) - count(DISTINCT serial) FROM certs;")
	[ "$n" = 0 ] || e2e_fail "registry: $n duplicated serials"
	n=$(e2e_sql "SELECT count(*) FROM certs c WHERE c.device_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = c.device_id);")
	[ "$n" = 0 ] || e2e_fail "registry: $n certificates of unknown devices"
	n=$(e2e_sql "SELECT count(*) FROM devices d WHERE d.state IN
		('bootstrapped', 'registered') AND NOT EXISTS
		(SELECT 1 FROM certs c WHERE c.device_id = d.device_id
		 AND c.profile = 'bootstrap');")
	[ "$n" = 0 ] || e2e_fail "registry: $n devices bootstrapped without a bootstrap certificate"
	n=$(e2e_sql "SELECT count(*) FROM devices WHERE state = 'active'
		AND tenant IS NULL;")
	[ "$n" = 0 ] || e2e_fail "registry: $n active devices without a tenant"
	n=$(e2e_sql "SELECT count(*) FROM certs WHERE fingerprint = ''
		OR not_after <= not_before;")
	[ "$n" = 0 ] || e2e_fail "registry: $n incomplete certificate records"
	[ "$TEST_FAILS" != "$fails0" ] || e2e_ok "$1"
}
