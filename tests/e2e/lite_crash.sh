#!/bin/sh
# End to end: power loss on the portable device core, against the Go
# reference server. The core SIGKILLed at each step of a rotation and of a
# bootstrap replacing the current credential, on libztp's OpenSSL port
# with keys in files and in a token (SoftHSM2) and on the mbedTLS port: a
# working credential after every kill, a run that finishes only what was
# pending, and only the current slot's key left once the operation is run
# again. Heavy (38 kills, each followed by three runs of the tool): CI
# runs it once, not again under the sanitizers.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_need_go_server
E2E_KIND=go
ZTP_LITE=$top_builddir/tests/ztp-device-lite-openssl
MBED=$top_builddir/tools/ztp-device-mbedtls
. "$E2E_DIR/lite-lib.sh"
e2e_pki
softhsm_init
softhsm_token ops

# Power loss. The core on a port, SIGKILLed at each step of a rotation
# and of a bootstrap replacing the current credential
# (tests/e2e/crash_device.py, from the core's own step events, so each
# kill lands exactly there): after every kill the state reads back, the
# current credential of the kind is complete and verified, a run needs
# nothing but its check-in (the current operational credential works),
# and the interrupted operation run again leaves exactly the current slot
# -- in the token, exactly its object.

# crash_cred ID KIND TOKEN WHY: the current KIND credential is complete
# (with TOKEN yes: its certificate is for the token object of its slot).
crash_cred() {
	if [ "$3" = yes ]; then
		base=$(lite_cred "$1" "$2") &&
			"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" "$base.cert" >/dev/null 2>&1 &&
			softhsm_cert_key "$base.cert" ops "$1-$2-${base##*.}" ||
			e2e_fail "$1: no complete $2 credential $4"
	else
		lite_check_cred "$1" "$2" 0
	fi
}

# crash_at ID PORT LIBRARY TOOL TOKEN OPERATION POINT...
crash_at() {
	id=$1 port=$2 lib=$3 tool=$4 tok=$5 op=$6
	shift 6
	d=$T/dev/$id
	kind=operational
	[ "$op" = bootstrap ] && kind=bootstrap
	for p in "$@"; do
		rc=0
		ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
			$PYRUN "$E2E_DIR/crash_device.py" "$d/device.json" "$p" "$op" \
			"$port" "$lib" > "$d/crash.out" 2> "$d/crash.err" || rc=$?
		if [ "$rc" -ne 137 ]; then
			cat "$d/crash.err"
			e2e_fail "$id: $op not killed at $p (exit $rc)"
			continue
		fi
		"$tool" --config "$d/device.json" status > "$d/status.out" 2>&1 ||
			e2e_fail "$id: state unreadable after a kill at $op/$p: $(cat "$d/status.out")"
		crash_cred "$id" "$kind" "$tok" "after a kill at $op/$p"
		# A run finishes a rotation whose new slot is pending, and
		# otherwise only checks in.
		want='run: nothing to do'
		case $op/$p in
		rotate/key | rotate/response | rotate/probe) want='run: ["rotate"]' ;;
		esac
		"$tool" --config "$d/device.json" run > "$d/run.out" 2>&1 &&
			grep -qxF "$want" "$d/run.out" ||
			e2e_fail "$id: a run after a kill at $op/$p: $(cat "$d/run.out")"
		"$tool" --config "$d/device.json" "$op" > "$d/op.out" 2>&1 ||
			e2e_fail "$id: $op after a kill at $p: $(cat "$d/op.out")"
		crash_cred "$id" "$kind" "$tok" "after a kill at $op/$p and another $op"
		cur=$(lite_cred "$id" "$kind")
		if [ "$tok" = yes ]; then
			left=$(softhsm_labels ops privkey | grep -- "^$id-$kind-" | tr '\n' ' ')
		else
			left=$(cd "$d/state" && ls $kind.*.key | tr '\n' ' ')
		fi
		want="$id-$kind-${cur##*.} "
		[ "$tok" = yes ] || want="$kind.${cur##*.}.key "
		[ "$left" = "$want" ] &&
			e2e_ok "$id: $op killed at $p: a working credential throughout, then only $left" ||
			e2e_fail "$id: after a kill at $op/$p and another $op: $left left, not $want"
	done
}

crash_device() { # crash_device ID [JSON_MEMBERS]
	e2e_device "$1"
	e2e_enroll "$1"
	e2e_device_config "$1" "$E2E_PORT"
	e2e_registration "$1"
	[ -z "${2:-}" ] || lite_config_set "$1" "$2"
	lite_run "$1" || e2e_die "$1: run: $(cat "$T/dev/$1/lite.err")"
}
# Each case makes some 60 lifecycle requests in a few seconds: a device's
# bucket that holds them.
e2e_json_edit "$T/verify.json" \
	'c["rate_limits"]["lifecycle"] = {"rate": 100, "burst": 1000}'
e2e_start_server go server
crash_device lc-file
crash_at lc-file openssl "$ZTP_LIB" "$ZTP_LITE" no rotate \
	start key response probe switched done
crash_at lc-file openssl "$ZTP_LIB" "$ZTP_LITE" no bootstrap \
	start key challenge response switched done
crash_device lc-tok "{\"operational_key\": {\"token\": \"$(softhsm_uri ops)\", \"label\": \"lc-tok\"}}"
crash_at lc-tok openssl "$ZTP_LIB" "$ZTP_LITE" yes rotate \
	start key response probe switched retired done
crash_at lc-tok openssl "$ZTP_LIB" "$ZTP_LITE" yes bootstrap \
	start key challenge response switched retired done
if [ -x "$MBED" ]; then
	crash_device lc-mbed
	crash_at lc-mbed mbedtls "$top_builddir/.libs/libztp-device-mbedtls.so" \
		"$MBED" no rotate start key response probe switched done
	crash_at lc-mbed mbedtls "$top_builddir/.libs/libztp-device-mbedtls.so" \
		"$MBED" no bootstrap start key challenge response switched done
fi
e2e_stop_server "$E2E_PID"
e2e_done
