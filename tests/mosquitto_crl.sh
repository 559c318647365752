#!/bin/sh
# End to end, revocation at the broker: a real mosquitto on 127.0.0.1 with
# the ztp_mosquitto plugin, the device CA and registry of a verifier
# configuration (tests/e2e/lib.sh), operational certificates from ztp-ca.
#
#  1. CRL numbers never go back: after a device is revoked and the new CRL
#     installed, the CRL from before the revocation copied over the file is
#     refused (loudly); the device still cannot connect or publish, also
#     after a broker restart (the plugin's state file, 0600, holds the
#     newest CRL);
#  2. revocation reaches the broker by itself: with `crl_file` in the
#     verifier configuration, `ztp-verify revoke` and `ztp-verify reset`
#     rewrite the CRL, and the broker drops the device's connected
#     mosquitto_sub (the time from revoke to drop is printed, not judged;
#     MQ_REVOKE_RUNS=N revokes N devices one after the other, for
#     bench/mosquitto_revoke.sh);
#  3. an expired newest CRL (nextUpdate three days ago, made with the
#     openssl CLI from the same CA key) is logged loudly; by default
#     devices still connect, under `plugin_opt_crl_expired deny` connected
#     devices are dropped and new connections refused.
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/mosquitto.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$top_builddir/tools/ztp-policy"
e2e_need_python
mq_require
trap 'mq_stop; e2e_cleanup' EXIT
e2e_pki
p=$T/pki
STORE=sqlite:$T/registry.db

# opdev ID TENANT: an enrolled device with an operational certificate
# $T/ID.pem (key $T/ID.key) recorded in the registry.
opdev() {
	e2e_device "$1"
	e2e_enroll "$1"
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$T/$1.key" 2>/dev/null
	"$OPENSSL" req -new -key "$T/$1.key" -subj "/CN=$1" -out "$T/$1.csr"
	"$ZTP_CA" issue --issuer-cert "$p/device-ca.pem" \
		--issuer-key "$p/device-ca.key" --store "$STORE" \
		--csr "$T/$1.csr" --device-id "$1" --tenant "$2" \
		--profile operational --out "$T/$1.pem" > "$T/$1.serial"
}
RUNS=${MQ_REVOKE_RUNS:-1}
case $RUNS in '' | *[!0-9]* | 0) e2e_die "MQ_REVOKE_RUNS: 1..100" ;; esac
[ "$RUNS" -le 100 ] || e2e_die "MQ_REVOKE_RUNS: 1..100"
revokees=d3
k=2
while [ $k -le "$RUNS" ]; do revokees="$revokees r$k"; k=$((k + 1)); done
for d in d1 d2 d4 d5 $revokees; do opdev "$d" acme; done

crl() {
	"$ZTP_CA" crl --issuer-cert "$p/device-ca.pem" \
		--issuer-key "$p/device-ca.key" --store "$STORE" --out "$1" \
		> /dev/null
}
crl_number() {
	"$OPENSSL" crl -in "$1" -noout -crlnumber | cut -d= -f2
}

"$top_builddir/tools/ztp-policy" default > "$T/policy.json"
PORT=$(free_port)
mkdir -p "$T/state"
chmod 700 "$T/state"
# conf [EXTRA-LINE...]: the broker configuration, plugin options last.
conf() {
	mq_conf "$T" "$PORT" "$p/device-ca.pem" "$p/server.pem" \
		"$p/server.key"
	{
		echo "plugin_opt_policy_file $T/policy.json"
		echo "plugin_opt_ca_file $p/device-ca.pem"
		echo "plugin_opt_crl_file $T/crl.pem"
		echo "plugin_opt_crl_state $T/state/crl-state.pem"
		echo "plugin_opt_check_interval 1"
		for l in "$@"; do echo "$l"; done
	} >> "$T/mosquitto.conf"
}

# conn ID: mosquitto client options for device ID
conn() {
	echo "-h 127.0.0.1 -p $PORT --cafile $p/server-ca.pem" \
		"--cert $T/$1.pem --key $T/$1.key -i $1 -V mqttv5"
}
# pub ID: a QoS 1 publish in the device's namespace; 0 only if accepted
pub() {
	"$MQ_PUB" $(conn "$1") -q 1 -t "tenants/acme/devices/$1/x" -m hi \
		> "$T/pub.out" 2>&1 || return 1
	! grep -qi "not authori[sz]ed\|error\|refused" "$T/pub.out"
}
# pub_refused_within ID SECONDS: the device's publish is refused within
# SECONDS (the broker notices a new CRL within check_interval).
pub_refused_within() {
	i=0
	while pub "$1"; do
		i=$((i + 1))
		[ $i -le $(($2 * 2)) ] || return 1
		sleep 0.5
	done
}
# sub_start ID: a connected mosquitto_sub of the device; sets SUB_PID
sub_start() {
	"$MQ_SUB" $(conn "$1") -q 1 -t "tenants/acme/devices/$1/#" \
		> "$T/$1.sub" 2>&1 &
	SUB_PID=$!
	mq_wait_log "$T/broker.log" "New client connected .* as $1 " 10 ||
		e2e_fail "$1: mosquitto_sub did not connect"
}
now_ms() { date +%s%3N; }

# ------------------------------------------------------------------ 1. CRL numbers
crl "$T/crl-old.pem"
cp "$T/crl-old.pem" "$T/crl.pem"
conf
mq_start "$T" "$PORT" || e2e_die "broker"
if pub d1; then e2e_ok "d1 publishes before it is revoked"; else
	e2e_fail "d1 cannot publish before it is revoked"; cat "$T/pub.out"; fi
"$ZTP_CA" revoke --store "$STORE" --serial "$(cat "$T/d1.serial")" \
	> /dev/null
crl "$T/crl-new.pem"
cp "$T/crl-new.pem" "$T/crl.new"
mv "$T/crl.new" "$T/crl.pem"
pub_refused_within d1 10 && e2e_ok "d1 refused once its revocation is installed" ||
	e2e_fail "d1 still publishes after the new CRL"
old=$(($(crl_number "$T/crl-old.pem")))
new=$(($(crl_number "$T/crl-new.pem")))
cp "$T/crl-old.pem" "$T/crl.pem"
if mq_wait_log "$T/broker.log" "CRL .*number $old.* older than .*$new" 10; then
	e2e_ok "the older CRL ($old < $new) is refused, loudly"
else
	e2e_fail "no refusal of the older CRL logged"
fi
if pub d1; then e2e_fail "d1 publishes again under the older CRL"; else
	e2e_ok "d1 still refused under the older CRL"; fi
if pub d2; then e2e_ok "d2 unaffected"; else e2e_fail "d2 refused"; fi
mode=$(stat -c %a "$T/state/crl-state.pem" 2>/dev/null || echo none)
[ "$mode" = 600 ] && e2e_ok "state file is 0600" ||
	e2e_fail "state file mode $mode, want 600"
mq_stop
mq_start "$T" "$PORT" || e2e_die "broker restart"
if pub d1; then e2e_fail "d1 publishes after a restart with the older CRL"; else
	e2e_ok "d1 refused after a restart with the older CRL in place"; fi
if pub d2; then e2e_ok "d2 works after the restart"; else
	e2e_fail "d2 refused after the restart"; cat "$T/pub.out"; fi
grep -Eq "CRL .*number $old.* older than .*$new" "$T/broker.log" &&
	e2e_ok "the older CRL is refused at start" ||
	e2e_fail "no refusal of the older CRL at start"

# ------------------------------------------------------------------ 2. the verifier publishes
e2e_json_edit "$T/verify.json" 'c["crl_file"] = "crl.pem"'
for d in $revokees; do
	sub_start "$d"
	t0=$(now_ms)
	"$ZTP_VERIFY" --config "$T/verify.json" revoke --device-id "$d" ||
		e2e_fail "ztp-verify revoke $d"
	if mq_wait_exit "$SUB_PID" 20; then
		t1=$(now_ms)
		e2e_ok "$d dropped after ztp-verify revoke" \
			"(revoke-to-drop $(( (t1 - t0) / 1000 )).$(printf %03d \
			$(( (t1 - t0) % 1000 ))) s)"
	else
		e2e_fail "$d still connected 20 s after ztp-verify revoke"
	fi
	grep -q "disconnecting $d: certificate revoked" "$T/broker.log" &&
		e2e_ok "the drop is logged" ||
		e2e_fail "the drop of $d is not logged"
	if pub "$d"; then e2e_fail "$d reconnects"; else
		e2e_ok "$d cannot reconnect"; fi
done
mode=$(stat -c %a "$T/crl.pem")
[ "$mode" = 644 ] && e2e_ok "the verifier's CRL file is 0644" ||
	e2e_fail "CRL file mode $mode, want 644"
sub_start d4
"$ZTP_VERIFY" --config "$T/verify.json" reset --device-id d4 > /dev/null ||
	e2e_fail "ztp-verify reset"
mq_wait_exit "$SUB_PID" 20 && e2e_ok "d4 dropped after ztp-verify reset" ||
	e2e_fail "d4 still connected 20 s after ztp-verify reset"
if pub d2; then e2e_ok "d2 unaffected"; else e2e_fail "d2 refused"; fi

# ------------------------------------------------------------------ 3. expired
# The same CA key signs, with openssl, a CRL numbered above every one the
# registry made, listing d1, d3 and d4, whose nextUpdate passed 3 days ago.
mkdir -p "$T/oca/new"
revoked_at=$(date -u -d '5 days ago' +%y%m%d%H%M%SZ)
for d in d1 d3 d4; do
	printf 'R\t%s\t%s\t%s\tunknown\t/CN=%s\n' 300101000000Z "$revoked_at" \
		"$(tr a-f A-F < "$T/$d.serial")" "$d"
done > "$T/oca/index.txt"
printf "%02X\n" $(($(crl_number "$T/crl.pem") + 16)) > "$T/oca/crlnumber"
cat > "$T/oca/ca.cnf" <<EOF
[ca]
default_ca = devca
[devca]
dir = $T/oca
database = $T/oca/index.txt
new_certs_dir = $T/oca/new
certificate = $p/device-ca.pem
private_key = $p/device-ca.key
crlnumber = $T/oca/crlnumber
default_md = sha256
EOF
# Without a crlnumber file openssl makes a CRL with no CRL number, which
# cannot be ordered: refused, the current list kept (this one lists
# nobody).
: > "$T/oca/empty.txt"
grep -v '^crlnumber' "$T/oca/ca.cnf" |
	sed "s|^database = .*|database = $T/oca/empty.txt|" > "$T/oca/nonum.cnf"
"$OPENSSL" ca -gencrl -config "$T/oca/nonum.cnf" -crldays 1 \
	-out "$T/crl-nonum.pem" 2>/dev/null || e2e_die "openssl ca -gencrl"
cp "$T/crl-nonum.pem" "$T/crl.new"
mv "$T/crl.new" "$T/crl.pem"
mq_wait_log "$T/broker.log" "CRL .* has no CRL number .*refused" 10 &&
	e2e_ok "a CRL without a number is refused" ||
	e2e_fail "a CRL without a number is not refused"
if pub d3; then e2e_fail "d3 publishes under a CRL without a number"; else
	e2e_ok "d3 still refused"; fi
"$OPENSSL" ca -gencrl -config "$T/oca/ca.cnf" \
	-crl_lastupdate "$(date -u -d '4 days ago' +%Y%m%d%H%M%SZ)" \
	-crl_nextupdate "$(date -u -d '3 days ago' +%Y%m%d%H%M%SZ)" \
	-out "$T/crl-expired.pem" 2>/dev/null || e2e_die "openssl ca -gencrl"
mq_stop
conf "plugin_opt_crl_expired deny"
mq_start "$T" "$PORT" || e2e_die "broker with crl_expired deny"
sub_start d5
cp "$T/crl-expired.pem" "$T/crl.new"
mv "$T/crl.new" "$T/crl.pem"
mq_wait_exit "$SUB_PID" 20 && e2e_ok "deny: connected d5 dropped when the CRL expired" ||
	e2e_fail "deny: d5 still connected under an expired CRL"
grep -Eq "CRL .*expired" "$T/broker.log" && e2e_ok "deny: the expiry is logged" ||
	e2e_fail "deny: the expiry is not logged"
if pub d2; then e2e_fail "deny: d2 connects under an expired CRL"; else
	e2e_ok "deny: d2 refused under an expired CRL"; fi
mq_stop
conf
mq_start "$T" "$PORT" || e2e_die "broker with the default crl_expired"
grep -Eq "CRL .*expired" "$T/broker.log" && e2e_ok "allow: the expiry is logged" ||
	e2e_fail "allow: the expiry is not logged"
if pub d2; then e2e_ok "allow: d2 connects under an expired CRL"; else
	e2e_fail "allow: d2 refused"; fi
if pub d1; then e2e_fail "allow: revoked d1 connects"; else
	e2e_ok "allow: the expired CRL still revokes d1"; fi
mq_stop

# A state file that is not a CRL of the device CA stops the plugin rather
# than forgetting what it held.
echo garbage > "$T/state/crl-state.pem"
if mq_start "$T" "$PORT" > "$T/start.out" 2>&1; then
	e2e_fail "the broker started with a corrupt CRL state file"
	mq_stop
else
	grep -q "CRL state .* unreadable" "$T/broker.log" &&
		e2e_ok "a corrupt state file stops the plugin, loudly" ||
		e2e_fail "no message for the corrupt state file"
fi
e2e_done
