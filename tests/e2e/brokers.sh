#!/bin/sh
# End to end, broker allocation: the verifier's configuration names a
# default list of MQTT brokers and one for tenant acme; the real
# ztp-device, provisioned through the Python reference server, writes the
# list its answers carry to state/brokers.json for the firmware: the
# default one before a tenant claims it, acme's after; and it is gone
# once the configuration allocates none. ztp-device-mbedtls (when built)
# keeps the same list in its state blob "brokers", by the same steps (its
# run's check-in is the assignment call).
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki
e2e_json_edit "$T/verify.json" \
	'c["brokers"] = {"default": ["mqtts://mqtt.example:8883",
	                            "mqtts://mqtt2.example:8883"],
	                "tenants": {"acme": ["mqtts://acme.mqtt.example:8883"]}}'
LITE=$top_builddir/tools/ztp-device-mbedtls
[ -x "$LITE" ] || LITE=
if [ -n "$LITE" ]; then
	e2e_device brk-lite
	e2e_enroll brk-lite
fi
id=brk-1
e2e_device "$id"
e2e_enroll "$id"
e2e_start_server python server
e2e_device_config "$id" "$E2E_PORT"
e2e_registration "$id"
dev() { "$ZTP_DEVICE" --config "$T/dev/$id/device.json" "$@"; }
brokers() {
	"$PY" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["brokers"]))' \
		"$T/dev/$id/state/brokers.json"
}

# lite_brokers WHAT EXPECTED: a run of the mbedTLS device, then its blob.
lite_brokers() {
	[ -n "$LITE" ] || return 0
	"$LITE" --config "$T/dev/brk-lite/device.json" run > "$T/lite.out" 2>&1 ||
		e2e_die "ztp-device-mbedtls run: $(cat "$T/lite.out")"
	got=$("$PY" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["brokers"]))' \
		"$T/dev/brk-lite/state/brokers" 2>/dev/null || echo none)
	check "ztp-device-mbedtls, $1" test "$got" = "$2"
}

dev run > "$T/run1.out" 2>&1 || e2e_die "run: $(cat "$T/run1.out")"
check "before a claim: the default brokers" \
	test "$(brokers)" = "mqtts://mqtt.example:8883,mqtts://mqtt2.example:8883"
if [ -n "$LITE" ]; then
	e2e_device_config brk-lite "$E2E_PORT"
	e2e_registration brk-lite
fi
lite_brokers "before a claim: the default brokers" \
	"mqtts://mqtt.example:8883,mqtts://mqtt2.example:8883"
"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id "$id" --code - \
	--tenant acme < "$T/dev/$id/claim.txt" || e2e_die "claim"
dev run > "$T/run2.out" 2>&1 || e2e_die "run: $(cat "$T/run2.out")"
check "claimed by acme: acme's brokers" \
	test "$(brokers)" = "mqtts://acme.mqtt.example:8883"
if [ -n "$LITE" ]; then
	"$ZTP_VERIFY" --config "$T/verify.json" claim --device-id brk-lite --code - \
		--tenant acme < "$T/dev/brk-lite/claim.txt" || e2e_die "claim brk-lite"
fi
lite_brokers "claimed by acme: acme's brokers" "mqtts://acme.mqtt.example:8883"
dev assignment > /dev/null || e2e_fail "assignment"
check "assignment keeps acme's brokers" \
	test "$(brokers)" = "mqtts://acme.mqtt.example:8883"

# No allocation any more: the file goes, the firmware falls back.
e2e_stop_server "$E2E_PID"
e2e_json_edit "$T/verify.json" 'del c["brokers"]'
e2e_start_server python server
e2e_device_config "$id" "$E2E_PORT"
e2e_registration "$id"
dev assignment > /dev/null || e2e_fail "assignment"
check "no allocation: no brokers.json" test ! -e "$T/dev/$id/state/brokers.json"
if [ -n "$LITE" ]; then
	e2e_device_config brk-lite "$E2E_PORT"
	e2e_registration brk-lite
fi
lite_brokers "no allocation: no brokers blob" none

# A configuration with a bad endpoint is refused at load.
"$PY" - "$T/verify.json" "$T/bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["brokers"] = {"default": ["http://not-mqtt.example"]}
json.dump(c, open(sys.argv[2], "w"))
PY
if "$ZTP_VERIFY" --config "$T/bad.json" maintain >/dev/null 2>"$T/bad.err"; then
	e2e_fail "a configuration with an http:// broker was loaded"
else
	check "a bad broker URL is refused" grep -q "mqtt" "$T/bad.err"
fi
e2e_done
