#!/bin/sh
# End to end: devices without a trustworthy clock ("clock": "untrusted",
# ztp-device.json(5)) through both reference servers. ztp-device run
# bootstraps, registers and gets operational credentials checking every
# certificate against its time floor; the floor in state_dir/clock.json
# is the server's time the challenge answer carried (so the server passes
# the library's answer through), only moves forward, and a floor past the
# server certificate's notAfter (a device that has seen a later time than
# an old certificate is valid for: an attacker's expired certificate)
# refuses the connection and stays where it was. A clock.json that is not
# one stops the run with exit 4 and the file named.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
kinds=python
if command -v go >/dev/null 2>&1 && [ "${ZTP_SAN:-}" != tsan ]; then
	e2e_need_go_server
	kinds="python go"
fi

e2e_pki

# floor_of ID: the floor in the device's clock.json, seconds since the epoch.
floor_of() {
	"$PY" - "$T/dev/$1/state/clock.json" <<'PY'
import calendar, json, sys, time
d = json.load(open(sys.argv[1]))
assert set(d) == {"version", "floor"} and d["version"] == 1, d
print(calendar.timegm(time.strptime(d["floor"], "%Y-%m-%dT%H:%M:%SZ")))
PY
}

# untrusted ID: add "clock": "untrusted" to the device configuration.
untrusted() {
	"$PY" - "$T/dev/$1/device.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["clock"] = "untrusted"
json.dump(c, open(p, "w"))
PY
}

run() {
	"$ZTP_DEVICE" --config "$T/dev/$1/device.json" --verbose run
}

for kind in $kinds; do
	id=clk-$kind
	d=$T/dev/$id
	e2e_device "$id"
	e2e_enroll "$id"
	e2e_start_server "$kind" server
	e2e_device_config "$id" "$E2E_PORT"
	e2e_registration "$id"
	untrusted "$id"

	t0=$(date +%s)
	if run "$id" > "$d/run1.out" 2>&1; then
		e2e_ok "$kind: run provisioned a device without a clock"
	else
		e2e_fail "$kind: run: $(cat "$d/run1.out")"
		e2e_stop_server "$E2E_PID"
		continue
	fi
	t1=$(date +%s)
	f1=$(floor_of "$id")
	if [ "$f1" -ge "$t0" ] && [ "$f1" -le "$t1" ]; then
		e2e_ok "$kind: the floor is the server's time"
	else
		e2e_fail "$kind: floor $f1 not in [$t0, $t1]"
	fi
	grep -q '"operation":"clock","step":"raised"' "$d/run1.out" ||
		e2e_fail "$kind: no clock raised event: $(cat "$d/run1.out")"
	[ "$(stat -c %a "$d/state/clock.json")" = 600 ] ||
		e2e_fail "$kind: clock.json is not 0600"
	"$ZTP_DEVICE" --config "$d/device.json" --json status > "$d/status.json" ||
		e2e_fail "$kind: status"
	grep -q '"operational":{' "$d/status.json" ||
		e2e_fail "$kind: no operational credential: $(cat "$d/status.json")"

	# A later run checks in; the floor never goes back.
	sleep 1
	run "$id" > "$d/run2.out" 2>&1 || e2e_fail "$kind: second run: $(cat "$d/run2.out")"
	f2=$(floor_of "$id")
	[ "$f2" -gt "$f1" ] || e2e_fail "$kind: floor $f2 did not move past $f1"

	# The device has seen a time after the server certificate (30 days)
	# expired: the same server is now an attacker with an expired
	# certificate. Refused (exit 3, the TLS error), the floor unchanged.
	late=$((t1 + 40 * 86400))
	"$PY" -c 'import sys, time; print("{\"version\":1,\"floor\":\"%s\"}" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sys.argv[1]))))' \
		"$late" > "$d/state/clock.json"
	cp "$d/state/clock.json" "$d/clock.before"
	rc=0
	run "$id" > "$d/run3.out" 2>&1 || rc=$?
	if [ $rc = 3 ] && grep -q 'expired' "$d/run3.out" &&
		cmp -s "$d/clock.before" "$d/state/clock.json"; then
		e2e_ok "$kind: a server certificate expired before the floor is refused"
	else
		e2e_fail "$kind: expired server certificate: exit $rc: $(cat "$d/run3.out")"
	fi

	# Garbage where the floor is kept: a documented error, no network.
	echo 'not a floor' > "$d/state/clock.json"
	rc=0
	run "$id" > "$d/run4.out" 2>&1 || rc=$?
	if [ $rc = 4 ] && grep -q 'clock.json' "$d/run4.out"; then
		e2e_ok "$kind: a garbage clock.json stops the run"
	else
		e2e_fail "$kind: garbage clock.json: exit $rc: $(cat "$d/run4.out")"
	fi
	e2e_stop_server "$E2E_PID"
done
e2e_done
