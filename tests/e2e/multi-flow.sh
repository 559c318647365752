# Two verifier instances (E2E_KINDS: two reference server kinds, e.g.
# "go go" or "go python") sharing one registry and one HMAC secret file,
# behind HAProxy in TCP mode. The registry is PostgreSQL, or SQLite with
# E2E_MULTI_REGISTRY=sqlite (or ZTP_E2E_REGISTRY=sqlite): see
# e2e_multi_registry. Sourced by tests/e2e/multi_*.sh after lib.sh and
# multi-lib.sh.
#
# - A device gets its challenge from one instance and bootstraps at the
#   other (each step sent to one instance directly, both ways round), and
#   a challenge made with another secret is refused by both.
# - ztp-device through the balancer: challenge and bootstrap land on
#   different instances (HAProxy's counters), then register, credentials.
# - Races, each run E2E_RACES times (ZTP_E2E_RACES, default 10): the same
#   signed bootstrap request to both instances at once yields exactly one
#   certificate; one claim code claimed by two verifier processes at once
#   binds exactly one tenant; two rotations of one device at once leave
#   exactly one operational certificate that either instance accepts.
# - The per-device rate limit holds across instances: its burst is spent
#   by requests alternating between them.
# - The registry is consistent afterwards (SQL).

e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_need_go_server
e2e_need_haproxy

E2E_RACES=${ZTP_E2E_RACES:-10}
e2e_multi_registry "${E2E_MULTI_REGISTRY:-}"
e2e_pki
# Overlap 0: a superseded operational certificate is refused at once, so
# "the current certificate" is the only one either instance accepts.
e2e_multi_config "" '"rotation_overlap": 0'

# shellcheck disable=SC2086
set -- $E2E_KINDS
e2e_start_server "$1" server
P1=$E2E_PORT
e2e_start_server "$2" server
P2=$E2E_PORT
e2e_start_haproxy "$P1" "$P2"
LB=$E2E_LB_PORT
e2e_ok "instances $E2E_KINDS on $P1 and $P2 behind HAProxy on $LB ($E2E_REGISTRY: $E2E_STORE)"

# e2e_cert_from JSON OUT: the certificate of an answer, as PEM.
cert_from() {
	e2e_field certificate "$1" | sed 's/\\n/\n/g' > "$2"
}

# ------------------------------------------------- challenge here, bootstrap there
for way in "$P1 $P2" "$P2 $P1"; do
	# shellcheck disable=SC2086
	set -- $way
	id=pin-$1
	e2e_device "$id"
	e2e_enroll "$id"
	d=$T/dev/$id
	nonce=$(e2e_challenge "$id" "$1") || { e2e_fail "$id: no challenge"; continue; }
	e2e_signed_bootstrap "$id" "$nonce" "$d/boot.req"
	st=$(e2e_post "$2" bootstrap "$d/boot.req" "$d/boot.json" \
		"$d/factory.pem" "$d/factory.key")
	if [ "$st" != 200 ]; then
		e2e_fail "challenge from :$1, bootstrap at :$2: HTTP $st $(cat "$d/boot.json")"
		continue
	fi
	cert_from "$d/boot.json" "$d/boot.pem"
	if "$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" "$d/boot.pem" >/dev/null 2>&1 &&
		[ "$("$OPENSSL" x509 -in "$d/boot.pem" -noout -pubkey)" = \
		  "$("$OPENSSL" pkey -in "$d/op.key" -pubout)" ]; then
		e2e_ok "challenge from :$1, bootstrap at :$2: certificate for the CSR's key"
	else
		e2e_fail "challenge from :$1, bootstrap at :$2: bad certificate"
	fi
done

# The shared secret is what lets them agree: a challenge made by a
# verifier with a secret of its own is refused by both instances.
id=pin-other
e2e_device "$id"
e2e_enroll "$id"
d=$T/dev/$id
"$OPENSSL" rand -out "$T/other.key" 32
sed 's/"hmac.key"/"other.key"/' "$T/verify.json" > "$T/other.json"
printf '{"device_id":"%s"}' "$id" |
	"$ZTP_VERIFY" --config "$T/other.json" handle challenge > "$d/chal.json" ||
	e2e_die "challenge from ztp-verify: $(cat "$d/chal.json")"
e2e_signed_bootstrap "$id" "$(e2e_field nonce "$d/chal.json")" "$d/boot.req"
for port in "$P1" "$P2"; do
	st=$(e2e_post "$port" bootstrap "$d/boot.req" "$d/boot.json" \
		"$d/factory.pem" "$d/factory.key")
	if [ "$st" = 401 ] && grep -q '"challenge_invalid"' "$d/boot.json"; then
		e2e_ok "a challenge under another secret is refused at :$port"
	else
		e2e_fail "a challenge under another secret at :$port: HTTP $st $(cat "$d/boot.json")"
	fi
done

# ------------------------------------------------------------ through HAProxy
# A connection per request ("keep_alive": false), so that the balancer
# sends the challenge and the bootstrap to different instances.
id=lb-1
e2e_device_lb "$id" "$LB"
"$PY" - "$T/dev/$id/device.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["keep_alive"] = False
json.dump(c, open(p, "w"))
PY
s1=$(e2e_lb_stat s1 stot)
s2=$(e2e_lb_stat s2 stot)
if e2e_bootstrap "$id"; then
	e2e_check_cred "$id"
	n1=$(($(e2e_lb_stat s1 stot) - s1))
	n2=$(($(e2e_lb_stat s2 stot) - s2))
	if [ "$n1" = 1 ] && [ "$n2" = 1 ]; then
		e2e_ok "$id: challenge and bootstrap served by different instances"
	else
		e2e_fail "$id: connections per instance $n1 and $n2, expected 1 and 1"
	fi
else
	e2e_fail "$id: bootstrap through HAProxy: $(tail -n 3 "$T/dev/$id/bootstrap.err")"
fi
dev_cmd() {
	"$ZTP_DEVICE" --config "$T/dev/$1/device.json" --quiet "$2" \
		> "$T/dev/$1/$2.out" 2>&1
}
if dev_cmd "$id" register && dev_cmd "$id" credentials; then
	e2e_ok "$id: register and credentials through HAProxy"
else
	e2e_fail "$id: lifecycle through HAProxy: $(cat "$T/dev/$id/"*.out)"
fi
# By default the challenge and the bootstrap share one connection: one
# instance serves both.
id=lb-2
e2e_device_lb "$id" "$LB"
s1=$(e2e_lb_stat s1 stot)
s2=$(e2e_lb_stat s2 stot)
if e2e_bootstrap "$id"; then
	e2e_check_cred "$id"
	n=$(($(e2e_lb_stat s1 stot) - s1 + $(e2e_lb_stat s2 stot) - s2))
	if [ "$n" = 1 ]; then
		e2e_ok "$id: challenge and bootstrap over one kept-alive connection"
	else
		e2e_fail "$id: $n connections through HAProxy, expected 1"
	fi
else
	e2e_fail "$id: bootstrap through HAProxy: $(tail -n 3 "$T/dev/$id/bootstrap.err")"
fi

# ------------------------------------------------------- race: one bootstrap
id=race-b
e2e_device "$id"
e2e_enroll "$id"
d=$T/dev/$id
won=0 bad=0
i=0
while [ $i -lt "$E2E_RACES" ]; do
	i=$((i + 1))
	nonce=$(e2e_challenge "$id" "$P1") || { bad=$((bad + 1)); continue; }
	e2e_signed_bootstrap "$id" "$nonce" "$d/boot.req"
	e2e_post "$P1" bootstrap "$d/boot.req" "$d/r1.json" \
		"$d/factory.pem" "$d/factory.key" > "$d/st1" &
	j1=$!
	e2e_post "$P2" bootstrap "$d/boot.req" "$d/r2.json" \
		"$d/factory.pem" "$d/factory.key" > "$d/st2" &
	j2=$!
	wait "$j1" "$j2" || true
	sts="$(cat "$d/st1") $(cat "$d/st2")"
	case $sts in
	"200 409") grep -q '"challenge_replayed"' "$d/r2.json" && won=$((won + 1)) ||
		bad=$((bad + 1)) ;;
	"409 200") grep -q '"challenge_replayed"' "$d/r1.json" && won=$((won + 1)) ||
		bad=$((bad + 1)) ;;
	*) bad=$((bad + 1)); echo "bootstrap race $i: HTTP $sts" ;;
	esac
done
certs=$(e2e_sql "SELECT count(*) FROM certs WHERE device_id = '$id' AND profile = 'bootstrap';")
if [ "$won" = "$E2E_RACES" ] && [ "$bad" = 0 ] && [ "$certs" = "$E2E_RACES" ]; then
	e2e_ok "bootstrap race x$E2E_RACES: one certificate per signed request, the replay refused"
else
	e2e_fail "bootstrap race x$E2E_RACES: $won won, $bad wrong outcomes, $certs certificates recorded"
fi

# ------------------------------------------------------------ race: one claim
# A device per round: a device's claim attempts are limited (5, then one
# a minute), and both claims of a round are attempts.
won=0 bad=0
i=0
while [ $i -lt "$E2E_RACES" ]; do
	i=$((i + 1))
	id=race-c$i
	e2e_device "$id"
	e2e_enroll "$id"
	d=$T/dev/$id
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
		--code - --tenant "ta-$i" < "$d/claim.txt" > "$d/c1.out" 2>&1 &
	j1=$!
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
		--code - --tenant "tb-$i" < "$d/claim.txt" > "$d/c2.out" 2>&1 &
	j2=$!
	r1=0 r2=0
	wait "$j1" || r1=$?
	wait "$j2" || r2=$?
	row=$(e2e_sql "SELECT state || ' ' || coalesce(tenant, '-') FROM devices WHERE device_id = '$id';")
	# The loser finds no pending claim any more: exit 4.
	case "$r1 $r2 $row" in
	"0 4 active ta-$i" | "4 0 active tb-$i") won=$((won + 1)) ;;
	*) bad=$((bad + 1)); echo "claim race $i: exits $r1 $r2, registry: $row" ;;
	esac
done
if [ "$won" = "$E2E_RACES" ]; then
	e2e_ok "claim race x$E2E_RACES: one tenant bound, the other claim refused"
else
	e2e_fail "claim race x$E2E_RACES: $bad wrong outcomes"
fi

# The claim attempts of a device are counted in the registry: five wrong
# codes, alternating between two verifier processes, spend them, and the
# right code is then refused as rate limited (exit 6) by either.
id=limit-c
e2e_device "$id"
e2e_enroll "$id"
d=$T/dev/$id
wrong=AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA
got=
for i in 1 2 3 4 5; do
	r=0
	echo "$wrong" | "$ZTP_VERIFY" --config "$T/verify.json" claim \
		--device-id "$id" --code - --tenant t1 >/dev/null 2>&1 || r=$?
	got="$got $r"
done
for i in 1 2; do
	r=0
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
		--code - --tenant t1 < "$d/claim.txt" >/dev/null 2>&1 || r=$?
	got="$got $r"
done
if [ "$got" = " 5 5 5 5 5 6 6" ]; then
	e2e_ok "claim attempts shared: five wrong codes from several processes, then rate limited"
else
	e2e_fail "claim attempts across processes: exits$got"
fi

# ---------------------------------------------------------- race: one rotation
id=race-r
e2e_device_lb "$id" "$LB"
d=$T/dev/$id
"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" \
	--code - --tenant acme < "$d/claim.txt" >/dev/null ||
	e2e_die "claim $id"
dev_cmd "$id" bootstrap && dev_cmd "$id" register && dev_cmd "$id" credentials ||
	e2e_die "$id: provisioning: $(cat "$d/"*.out)"
cred_copy "$d/state" operational "$d/cur" || e2e_die "$id: no operational credential"
ops=1 bad=0
i=0
while [ $i -lt "$E2E_RACES" ]; do
	i=$((i + 1))
	for k in 1 2; do
		"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$d/new$k.key" 2>/dev/null
		"$OPENSSL" req -new -key "$d/new$k.key" -subj "/CN=$id" -out "$d/new$k.csr"
		printf '{"csr":"%s"}' "$(e2e_json_pem "$d/new$k.csr")" > "$d/rot$k.req"
	done
	e2e_post "$P1" rotate "$d/rot1.req" "$d/rot1.json" "$d/cur.pem" "$d/cur.key" > "$d/st1" &
	j1=$!
	e2e_post "$P2" rotate "$d/rot2.req" "$d/rot2.json" "$d/cur.pem" "$d/cur.key" > "$d/st2" &
	j2=$!
	wait "$j1" "$j2" || true
	cands="cur"
	for k in 1 2; do
		if [ "$(cat "$d/st$k")" = 200 ]; then
			cert_from "$d/rot$k.json" "$d/new$k.pem"
			cands="$cands new$k"
			ops=$((ops + 1))
		fi
	done
	[ "$cands" != cur ] || { bad=$((bad + 1)); echo "rotation race $i: both refused: $(cat "$d/rot1.json" "$d/rot2.json")"; continue; }
	# Exactly one candidate is current, and both instances say which.
	printf '{}' > "$d/empty.json"
	current=
	for c in $cands; do
		a1=$(e2e_post "$P1" assignment "$d/empty.json" "$d/as.json" "$d/$c.pem" "$d/$c.key")
		a2=$(e2e_post "$P2" assignment "$d/empty.json" "$d/as.json" "$d/$c.pem" "$d/$c.key")
		[ "$a1" = "$a2" ] || { bad=$((bad + 1)); echo "rotation race $i: $c: instances disagree ($a1, $a2)"; }
		[ "$a1" != 200 ] || current="$current $c"
	done
	# shellcheck disable=SC2086
	set -- $current
	if [ $# -ne 1 ]; then
		bad=$((bad + 1))
		echo "rotation race $i: accepted:$current of $cands"
		[ $# -gt 0 ] || break
	fi
	[ "$1" = cur ] || { cp "$d/$1.pem" "$d/cur.pem"; cp "$d/$1.key" "$d/cur.key"; }
done
n=$(e2e_sql "SELECT count(*) FROM certs WHERE device_id = '$id' AND profile = 'operational';")
if [ "$bad" = 0 ] && [ "$n" = "$ops" ]; then
	e2e_ok "rotation race x$E2E_RACES: one current certificate each time ($ops issued, all recorded)"
else
	e2e_fail "rotation race x$E2E_RACES: $bad wrong outcomes; $ops issued, $n recorded"
fi

e2e_registry_consistent "registry consistent after the races"

# ------------------------------------------ the device limit across instances
# Restart both with a per-device burst of 6 and no refill to speak of:
# with a bucket per instance 12 challenges would pass.
e2e_stop_server "$E2E_LB_PID"
for pid in $E2E_SERVER_PIDS; do e2e_stop_server "$pid"; done
e2e_multi_config '{"device": {"rate": 0.001, "burst": 6},
  "global": {"rate": 1000, "burst": 1000}}'
# shellcheck disable=SC2086
set -- $E2E_KINDS
e2e_start_server "$1" server
P1=$E2E_PORT
e2e_start_server "$2" server
P2=$E2E_PORT
id=limit-1
e2e_device "$id"
e2e_enroll "$id"
d=$T/dev/$id
printf '{"device_id":"%s"}' "$id" > "$d/chal.req"
got=
i=0
while [ $i -lt 10 ]; do
	port=$P1
	[ $((i % 2)) = 0 ] || port=$P2
	st=$(e2e_post "$port" challenge "$d/chal.req" "$d/chal.json" \
		"$d/factory.pem" "$d/factory.key")
	[ "$st" != 429 ] || grep -q '"rate_limited"' "$d/chal.json" || st=429-without-code
	got="$got $st"
	i=$((i + 1))
done
if [ "$got" = " 200 200 200 200 200 200 429 429 429 429" ]; then
	e2e_ok "per-device limit shared: burst 6 spent across both instances"
else
	e2e_fail "per-device limit across instances:$got"
fi
e2e_done
