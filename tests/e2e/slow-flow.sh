# Body of the slow-client test, sourced with E2E_KIND set to the reference
# server to run (python or go).
#
# 300 slow connections from 127.0.0.2-127.0.0.4 (Linux routes all of
# 127/8 to lo): TCP connections that never send a byte, TLS connections
# trickling a request line one byte every 2 s, TLS connections sending
# their headers and then the body one byte every 2 s, and TLS connections
# idle after one request. The per-address cap admits 16 from each address and
# closes the rest at once; the request deadline (6 s here) and the idle
# timeout (3 s) close the admitted ones. Meanwhile a device bootstraps
# with ztp-device from 127.0.0.1. A second server with a total cap of 20
# holds at most 20 connections however many addresses they come from.
#
# Liveness, not speed: the device must be served while the admitted slow
# connections are still open (before their 6 s run out), where the old
# servers refused it outright (Python: all 256 threads taken, for 30 s per
# read and renewable) or held all 300; and every slow connection must be
# closed within 30 s, where a trickler used to keep its connection for as
# long as it liked.

e2e_pki
E2E_PORT=1
e2e_device slow-dev
e2e_enroll slow-dev

SLOW="$PYRUN $E2E_DIR/slow_clients.py --ca $T/pki/server-ca.pem"
: "${E2E_SLOW_OPTS=--request-timeout 6 --idle-timeout 3 --max-per-address 16}"

# slow_field FILE LINE KEY: the value of KEY=... on the helper's LINE.
slow_field() {
	sed -n "s/^$2 .*$3=\\([0-9.-]*\\).*/\\1/p" "$1" | head -n 1
}

# slow_wait FILE LINE: wait (at most 60 s) for the helper to print LINE.
slow_wait() {
	i=0
	while ! grep -q "^$2 " "$1" 2>/dev/null; do
		[ $i -lt 600 ] || e2e_die "slow clients: no '$2' line"
		sleep 0.1
		i=$((i + 1))
	done
}

# ---------------------------------------------- per-address cap, deadlines
e2e_start_server "$E2E_KIND" server --quiet $E2E_SLOW_OPTS
srv=$E2E_PID
e2e_device_config slow-dev "$E2E_PORT"
out=$T/slow.out
$SLOW --port "$E2E_PORT" --sources 127.0.0.2,127.0.0.3,127.0.0.4 \
	--per-source 100 --mark "$T/device-done" --give-up 30 > "$out" &
slow_pid=$!
E2E_SERVER_PIDS="$E2E_SERVER_PIDS $slow_pid"
slow_wait "$out" ready
held=$(slow_field "$out" ready held)
refused=$(slow_field "$out" ready refused)
echo "slow clients: held $held, refused $refused"
[ "$held" -le 48 ] ||
	e2e_fail "$held slow connections held from 3 addresses (cap 16 each)"
[ "$held" -gt 0 ] || e2e_fail "no slow connection held at all"

t0=$(date +%s%N)
if e2e_bootstrap slow-dev; then
	touch "$T/device-done"
	echo "device served in $((($(date +%s%N) - t0) / 1000000)) ms (not a check)"
	e2e_check_cred slow-dev
else
	touch "$T/device-done"
	cat "$T/dev/slow-dev/bootstrap.err"
	e2e_fail "the device was not served while slow clients were connected"
fi
wait "$slow_pid" || e2e_fail "slow client helper failed"
e2e_stop_server "$slow_pid"
cat "$out"
mark=$(slow_field "$out" done open_at_mark)
survived=$(slow_field "$out" done survived)
[ "$mark" -gt 0 ] ||
	e2e_fail "no slow connection was still open when the device was served"
[ "$survived" = 0 ] ||
	e2e_fail "$survived slow connections were still open after 30 s"
kill -0 "$srv" 2>/dev/null || e2e_fail "the server died"
e2e_stop_server "$srv"
[ "$E2E_FAILS" -ne 0 ] || e2e_ok "device served past 300 slow connections"

# ------------------------------------------------------------- total cap
e2e_start_server "$E2E_KIND" server --quiet $E2E_SLOW_OPTS \
	--max-connections 20
srv=$E2E_PID
out=$T/slow-total.out
$SLOW --port "$E2E_PORT" --kinds idle --per-source 10 \
	--sources 127.0.0.5,127.0.0.6,127.0.0.7 --give-up 30 > "$out" ||
	e2e_fail "slow client helper failed"
cat "$out"
held=$(slow_field "$out" ready held)
refused=$(slow_field "$out" ready refused)
survived=$(slow_field "$out" done survived)
[ "$held" -le 20 ] && [ "$refused" -ge 10 ] ||
	e2e_fail "total cap 20: $held held, $refused refused"
[ "$survived" = 0 ] ||
	e2e_fail "$survived idle connections were still open after 30 s"
e2e_stop_server "$srv"
e2e_done
