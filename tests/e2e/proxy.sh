#!/bin/sh
# End to end: ztp-device through an HTTP proxy (tinyproxy on 127.0.0.1,
# "proxy" in ztp-device.json(5)) to the Python reference server. The
# device bootstraps and runs through the proxy's CONNECT tunnel, with TLS
# (mutual, the factory certificate reaching the verifier) end to end: the
# proxy's log shows CONNECT and nothing of the requests. Proxies in the
# environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY, lower case too) are never
# used, neither instead of the configured one nor without one; a dead
# configured proxy is ZTP_ENETWORK (exit 3) naming the proxy. A device
# without a trustworthy clock learns the server's time through the tunnel.
# The portable core's ports run through the same proxy, with the same
# configuration member: the OpenSSL port's tunnel made by libcurl,
# ztp-device-mbedtls's (when built) its own CONNECT; TLS end to end.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
command -v tinyproxy >/dev/null 2>&1 || e2e_skip "no tinyproxy (install tinyproxy)"

# free_port: a port nothing listens on (bound, then released).
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

e2e_pki
e2e_start_server python server
SERVER_PID=$E2E_PID

# tinyproxy in the foreground on a free port, logging CONNECTs to $T/proxy.
# Without User it keeps the user it was started as (root in CI: it then
# only warns), so that it can write its log in $T.
mkdir -p "$T/proxy"
start_proxy() {
	PROXY_PORT=$(free_port)
	{
		printf 'Port %s\nListen 127.0.0.1\nTimeout 30\n' "$PROXY_PORT"
		printf 'LogFile "%s/tinyproxy.log"\nLogLevel Connect\n' "$T/proxy"
		printf 'MaxClients 20\nAllow 127.0.0.1\nConnectPort %s\n' "$E2E_PORT"
	} > "$T/proxy/tinyproxy.conf"
	tinyproxy -d -c "$T/proxy/tinyproxy.conf" > "$T/proxy/out" 2>&1 &
	PROXY_PID=$!
	E2E_SERVER_PIDS="$E2E_SERVER_PIDS $PROXY_PID"
	i=0
	while [ $i -lt 100 ]; do
		"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
			"$PROXY_PORT" 2>/dev/null && return 0
		kill -0 "$PROXY_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	cat "$T/proxy/out"
	e2e_die "tinyproxy did not start"
}
start_proxy

connects() {
	[ -f "$T/proxy/tinyproxy.log" ] || { echo 0; return 0; }
	grep -c "CONNECT 127.0.0.1:$E2E_PORT " "$T/proxy/tinyproxy.log" || true
}

# with_proxy ID URL: set "proxy" in the device configuration.
with_proxy() {
	"$PY" - "$T/dev/$1/device.json" "$2" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["proxy"] = sys.argv[2]
json.dump(c, open(p, "w"))
PY
}

DEAD=$(free_port)
dead_env() {
	env HTTPS_PROXY="http://127.0.0.1:$DEAD" https_proxy="http://127.0.0.1:$DEAD" \
		ALL_PROXY="http://127.0.0.1:$DEAD" all_proxy="http://127.0.0.1:$DEAD" \
		HTTP_PROXY="http://127.0.0.1:$DEAD" "$@"
}

# 1. Through the proxy: run (bootstrap, register, credentials).
id=px-1
d=$T/dev/$id
e2e_device "$id"
e2e_enroll "$id"
e2e_device_config "$id" "$E2E_PORT"
e2e_registration "$id"
with_proxy "$id" "http://127.0.0.1:$PROXY_PORT"
n0=$(connects)
if "$ZTP_DEVICE" --config "$d/device.json" run > "$d/run.out" 2>&1; then
	e2e_check_cred "$id"
else
	e2e_fail "run through the proxy: $(cat "$d/run.out")"
fi
# Two connections (CONNECTs): the factory identity's (challenge,
# bootstrap) and the bootstrap certificate's (register, credentials).
n1=$(connects)
if [ $((n1 - n0)) = 2 ]; then
	e2e_ok "the proxy tunnelled the run's 2 connections (CONNECT)"
else
	e2e_fail "$((n1 - n0)) CONNECTs in the proxy's log, not 2: $(cat "$T/proxy/tinyproxy.log")"
fi
# TLS end to end: the proxy saw no request of the protocol.
if grep -q '/ztp/v1/' "$T/proxy/tinyproxy.log"; then
	e2e_fail "the proxy saw a request: $(grep '/ztp/v1/' "$T/proxy/tinyproxy.log")"
else
	e2e_ok "the proxy saw CONNECT only"
fi

# 2. The environment names a dead proxy and excludes every host: the
# configured proxy is still the one used. The device has no trustworthy
# clock now: the server's time reaches it through the tunnel.
"$PY" - "$d/device.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["clock"] = "untrusted"
json.dump(c, open(p, "w"))
PY
n0=$(connects)
if dead_env NO_PROXY='*' no_proxy='*' "$ZTP_DEVICE" --config "$d/device.json" bootstrap \
	> "$d/boot2.out" 2>&1 && [ "$(connects)" -gt "$n0" ]; then
	e2e_ok "proxy variables in the environment do not replace the configured proxy"
else
	e2e_fail "configured proxy with a dead one in the environment: $(cat "$d/boot2.out")"
fi
grep -q '"floor"' "$d/state/clock.json" 2>/dev/null ||
	e2e_fail "no time floor learned through the proxy"

# 3. No proxy configured, a dead one in the environment: direct.
id=px-2
d=$T/dev/$id
e2e_device "$id"
e2e_enroll "$id"
e2e_device_config "$id" "$E2E_PORT"
n0=$(connects)
if dead_env "$ZTP_DEVICE" --config "$d/device.json" bootstrap > "$d/boot.out" 2>&1 &&
	[ "$(connects)" = "$n0" ]; then
	e2e_ok "proxy variables in the environment are ignored"
else
	e2e_fail "dead proxy in the environment: $(cat "$d/boot.out")"
fi

# 4. A dead configured proxy: ZTP_ENETWORK (exit 3), naming the proxy.
with_proxy "$id" "http://127.0.0.1:$DEAD"
rc=0
"$ZTP_DEVICE" --config "$d/device.json" bootstrap > "$d/dead.out" 2>&1 || rc=$?
if [ $rc = 3 ] && grep -q "network_error.*through proxy http://127.0.0.1:$DEAD" "$d/dead.out"; then
	e2e_ok "a dead proxy: exit 3, $(head -n 1 "$d/dead.out" | cut -c1-120)"
else
	e2e_fail "dead proxy: exit $rc: $(cat "$d/dead.out")"
fi

# 5. The portable core's ports through the proxy (the mbedTLS port's own
# tunnel, the OpenSSL port's through libcurl): a whole run on 2 tunnels,
# the operational certificate verified; a dead proxy and a proxy that
# refuses the tunnel (403) are exit 3, naming the proxy.
# lite_proxy TOOL TAG: the cases for TOOL, devices TAG-1 and TAG-2.
lite_proxy() {
	LITE=$1
	name=$(basename "$LITE")
	id=$2-1
	d=$T/dev/$id
	e2e_device "$id"
	e2e_enroll "$id"
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
	with_proxy "$id" "http://127.0.0.1:$PROXY_PORT/"
	n0=$(connects)
	if dead_env "$LITE" --config "$d/device.json" run > "$d/lite.out" 2> "$d/lite.err" &&
		grep -qx 'run: \["bootstrap","register","credentials"\]' "$d/lite.out"; then
		if cert=$(cred_cert "$d/state" operational) &&
			"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" \
			-purpose sslclient "$cert" > /dev/null 2>&1; then
			e2e_ok "$name: run through the proxy, operational certificate verified"
		else
			e2e_fail "$name: no verified operational certificate after the run"
		fi
	else
		e2e_fail "$name run through the proxy: $(cat "$d/lite.out" "$d/lite.err")"
	fi
	n1=$(connects)
	[ $((n1 - n0)) = 2 ] && e2e_ok "$name: the proxy tunnelled 2 connections" ||
		e2e_fail "$name: $((n1 - n0)) CONNECTs, not 2"
	if grep -q '/ztp/v1/' "$T/proxy/tinyproxy.log"; then
		e2e_fail "the proxy saw a request of $name"
	fi
	# Without the member, proxies in the environment are not used: the
	# next run checks in directly.
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
	if dead_env "$LITE" --config "$d/device.json" run > "$d/lite.out" 2> "$d/lite.err" &&
		grep -qx 'run: nothing to do' "$d/lite.out"; then
		e2e_ok "$name: proxies in the environment not used"
	else
		e2e_fail "$name without proxy, dead proxies in the environment: $(cat "$d/lite.out" "$d/lite.err")"
	fi
	# A proxy that refuses the tunnel: tinyproxy allows CONNECT to the
	# server's port only.
	id=$2-2
	d=$T/dev/$id
	e2e_device "$id"
	e2e_enroll "$id"
	e2e_device_config "$id" "$DEAD"
	with_proxy "$id" "http://127.0.0.1:$PROXY_PORT"
	lite_exit3 "403" "(through proxy 127.0.0.1:$PROXY_PORT)" \
		"a tunnel refused by the proxy"
	with_proxy "$id" "http://127.0.0.1:$DEAD"
	lite_exit3 "onnect" "(through proxy 127.0.0.1:$DEAD)" "a dead proxy"
}
# lite_exit3 TEXT1 TEXT2 WHAT: bootstrap of $d is exit 3, the detail
# carrying both texts.
lite_exit3() {
	rc=0
	"$LITE" --config "$d/device.json" bootstrap > "$d/lite.out" 2> "$d/lite.err" || rc=$?
	if [ $rc = 3 ] && grep -F "$2" "$d/lite.err" | grep -qF "$1"; then
		e2e_ok "$name: $3: exit 3"
	else
		e2e_fail "$name, $3: exit $rc: $(cat "$d/lite.err")"
	fi
}
lite_proxy "$top_builddir/tests/ztp-device-lite-openssl" px-lo
if [ -x "$top_builddir/tools/ztp-device-mbedtls" ]; then
	lite_proxy "$top_builddir/tools/ztp-device-mbedtls" px-lite
else
	echo "ztp-device-mbedtls is not built (--without-mbedtls): its proxy cases not run"
fi

e2e_stop_server "$PROXY_PID"
e2e_stop_server "$SERVER_PID"
e2e_done
