# SPDX-License-Identifier: Apache-2.0
#
# Sourced by bench/bench_device.sh while its server runs: what one
# provisioned device costs on the wire. `ztp-device run` (bootstrap,
# register, credentials: a device from its factory identity to its
# operational certificate) of fresh devices, RUNS of each flow,
# interleaved:
#   per request  "keep_alive": false, a TLS connection per request (what
#                every run did before keep-alive)
#   keep-alive   the default: one connection per client identity
#   no clock     keep-alive with "clock": "untrusted" (the operation asks
#                the server's time first: one more challenge)
# and, when it is built, ztp-device-mbedtls (always one connection per
# client identity; it has no "keep_alive" member):
#   mbedTLS      its default
#   mbedTLS, no clock  with "clock": "untrusted"
# next to curl doing one mutual-TLS POST /ztp/v1/challenge, in the same
# loop. Every connection goes through bench/device/relay.py, a TCP relay
# on 127.0.0.1 that counts connections and the bytes each way (TCP
# payload: the TLS records, handshakes included). Handshakes are the
# relay's connections (no session is ever resumed, so each connection is
# one full handshake; cross-checked with the device's device.http events,
# "new_connection", or with ztp-device-mbedtls's device.stats event,
# "handshakes"); round trips are HTTP requests answered (the device's
# device.http events; ztp-device-mbedtls: device.stats "requests"). The
# heap ztp-device-mbedtls's core held through its allocator hooks in a
# run (device.stats "heap_peak") is kept in $T/NAME.heap. CPU is user + system of the device process
# (bench/device/measure.py).

RELAY_LOG=$T/relay.log
: > "$RELAY_LOG"
# Made here, not only by the background job's redirection, which may not
# have run yet when the loop below reads it.
: > "$T/relay.out"
"$PY" "$top_srcdir/bench/device/relay.py" --target "127.0.0.1:$E2E_PORT" \
	--log "$RELAY_LOG" > "$T/relay.out" 2> "$T/relay.err" &
RELAY_PID=$!
E2E_SERVER_PIDS="$E2E_SERVER_PIDS $RELAY_PID"
i=0
RELAY_PORT=
while [ $i -lt 100 ] && [ -z "$RELAY_PORT" ]; do
	RELAY_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
		"$T/relay.out" 2>/dev/null)
	[ -n "$RELAY_PORT" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$RELAY_PORT" ] || e2e_die "relay did not start: $(cat "$T/relay.err")"

# wire_device ID KEEP_ALIVE [CLOCK]: an enrolled device ready to run
# through the relay; KEEP_ALIVE empty leaves that member out.
wire_device() {
	e2e_device "$1"
	e2e_enroll "$1"
	e2e_device_config "$1" "$RELAY_PORT"
	e2e_registration "$1"
	"$PY" - "$T/dev/$1/device.json" "$2" "${3:-system}" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
if sys.argv[2]:
    c["keep_alive"] = sys.argv[2] == "true"
c["clock"] = sys.argv[3]
json.dump(c, open(p, "w"))
PY
}

# relay_settle: wait (at most 5 s) until every connection the relay
# accepted has been closed and logged.
relay_settle() {
	j=0
	while [ $j -lt 50 ]; do
		o=$(grep -c '^open ' "$RELAY_LOG" || true)
		c=$(grep -c '^close ' "$RELAY_LOG" || true)
		[ "$o" = "$c" ] && return 0
		sleep 0.1
		j=$((j + 1))
	done
	e2e_die "relay: connections still open"
}

# wire_sum NAME ROUNDTRIPS: the relay's lines since the last call, summed,
# appended to $T/NAME.wire as "CONNECTIONS UP DOWN ROUNDTRIPS".
wire_sum() {
	relay_settle
	awk -v rt="$2" '$1 == "close" { n++; u += $3; d += $4 }
		END { printf "%d %d %d %d\n", n, u, d, rt }' "$RELAY_LOG" \
		>> "$T/$1.wire"
	: > "$RELAY_LOG"
}

# wire_run NAME ID: ztp-device run of ID, measured; its figures appended.
wire_run() {
	measure_device "$1" --config "$T/dev/$2/device.json" --verbose run
	rt=$(grep -c '"event":"device.http".*"outcome":"ok"' "$T/$1.err" || true)
	nc=$(grep -c '"event":"device.http".*"new_connection":true' "$T/$1.err" || true)
	grep -q '\["bootstrap","register","credentials"\]' "$T/$1.out" ||
		e2e_die "$1: $2 was not provisioned: $(cat "$T/$1.out" "$T/$1.err")"
	wire_sum "$1" "$rt"
	n=$(tail -n 1 "$T/$1.wire" | cut -d ' ' -f 1)
	[ "$n" = "$nc" ] ||
		e2e_die "$1: $n connections at the relay, $nc new_connection events"
}

# wire_run_core MEASURE NAME ID: a run of the portable core's device ID
# with MEASURE (measure_mt, measure_lo), measured; its figures appended.
wire_run_core() {
	"$1" "$2" --config "$T/dev/$3/device.json" --verbose run
	rt=$(mt_stat "$T/$2.err" requests)
	nc=$(mt_stat "$T/$2.err" handshakes)
	hp=$(mt_stat "$T/$2.err" heap_peak)
	grep -q '\["bootstrap","register","credentials"\]' "$T/$2.out" ||
		e2e_die "$2: $3 was not provisioned: $(cat "$T/$2.out" "$T/$2.err")"
	[ -n "$rt" ] && [ -n "$nc" ] && [ -n "$hp" ] ||
		e2e_die "$2: no device.stats event: $(cat "$T/$2.err")"
	echo "$hp" >> "$T/$2.heap"
	wire_sum "$2" "$rt"
	n=$(tail -n 1 "$T/$2.wire" | cut -d ' ' -f 1)
	[ "$n" = "$nc" ] ||
		e2e_die "$2: $n connections at the relay, $nc handshakes counted"
}
wire_run_mt() { wire_run_core measure_mt "$@"; }
wire_run_lo() { wire_run_core measure_lo "$@"; }

wire_curl() {
	measure wire-curl curl -q --silent --show-error --fail \
		--connect-timeout 10 --max-time 30 \
		--cacert "$T/pki/server-ca.pem" --cert "$D/factory.pem" \
		--key "$D/factory.key" -H "Content-Type: application/json" \
		--data-binary "{\"device_id\":\"$ID\"}" \
		"https://127.0.0.1:$RELAY_PORT/ztp/v1/challenge"
	grep -q '"nonce"' "$T/wire-curl.out" ||
		e2e_die "curl: no challenge in the answer: $(cat "$T/wire-curl.out")"
	wire_sum wire-curl 1
}

# One warm-up of each (untimed), then RUNS interleaved.
i=0
while [ $i -le "$RUNS" ]; do
	wire_device "wire-old-$i" false
	wire_device "wire-new-$i" true
	wire_device "wire-clk-$i" true untrusted
	if [ -n "$MT_BIN" ]; then
		wire_device "wire-mt-$i" ""
		wire_device "wire-mtclk-$i" "" untrusted
	fi
	wire_device "wire-lo-$i" ""
	i=$((i + 1))
done
wire_run wire-old wire-old-0
wire_run wire-new wire-new-0
wire_run wire-clk wire-clk-0
if [ -n "$MT_BIN" ]; then
	wire_run_mt wire-mt wire-mt-0
	wire_run_mt wire-mtclk wire-mtclk-0
fi
wire_run_lo wire-lo wire-lo-0
wire_curl
for f in wire-old wire-new wire-clk wire-mt wire-mtclk wire-lo wire-curl; do
	rm -f "$T/$f.dat" "$T/$f.wire" "$T/$f.heap"
done
i=1
while [ $i -le "$RUNS" ]; do
	wire_run wire-old "wire-old-$i"
	wire_run wire-new "wire-new-$i"
	wire_run wire-clk "wire-clk-$i"
	if [ -n "$MT_BIN" ]; then
		wire_run_mt wire-mt "wire-mt-$i"
		wire_run_mt wire-mtclk "wire-mtclk-$i"
	fi
	wire_run_lo wire-lo "wire-lo-$i"
	wire_curl
	i=$((i + 1))
done
e2e_stop_server "$RELAY_PID"

# wrow LABEL NAME: medians of NAME's wire figures and CPU.
wrow() {
	printf '%-30s %10.1f %11.1f %9.0f %10.0f %11.0f %8.1f\n' "$1" \
		"$(median "$T/$2.wire" 1)" "$(median "$T/$2.wire" 4)" \
		"$(median "$T/$2.wire" 2)" "$(median "$T/$2.wire" 3)" \
		"$(awk '{ print $2 + $3 }' "$T/$2.wire" > "$T/$2.total" &&
			median "$T/$2.total" 1)" \
		"$(median "$T/$2.dat" 2)"
}
echo
echo "per provisioned device: ztp-device run (bootstrap, register,"
echo "credentials) of a fresh device, $RUNS runs of each (medians), through a"
echo "counting TCP relay; bytes are TCP payload (TLS records) each way"
[ -z "$MT_BIN" ] || echo "(mbedTLS rows: ztp-device-mbedtls run, the same flow)"
echo "(core, OpenSSL port: the portable core on libztp's OpenSSL port)"
printf '%-30s %10s %11s %9s %10s %11s %8s\n' "flow" "handshakes" \
	"round trips" "bytes up" "bytes down" "bytes total" "CPU ms"
wrow "run, a connection per request" wire-old
wrow "run, keep-alive (default)" wire-new
wrow "run, keep-alive, no clock" wire-clk
if [ -n "$MT_BIN" ]; then
	wrow "mbedTLS run (keep-alive)" wire-mt
	wrow "mbedTLS run, no clock" wire-mtclk
fi
wrow "core, OpenSSL port, run" wire-lo
wrow "curl, 1 mTLS POST" wire-curl
