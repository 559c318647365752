# Helpers of the end-to-end tests of the portable device core's tools
# (ztp-device-mbedtls, or the tool of another port as ZTP_LITE), sourced
# after tests/e2e/lib.sh by lite-flow.sh and lite_crash.sh.

ZTP_LITE=${ZTP_LITE:-$top_builddir/tools/ztp-device-mbedtls}
[ -x "$ZTP_LITE" ] || e2e_die "$ZTP_LITE is not built"

# lite_run ID [COMMAND]: run ztp-device-mbedtls (default: run) with
# --verbose; output in $T/dev/ID/lite.{out,err}; returns its exit status.
lite_run() {
	d=$T/dev/$1
	rc=0
	"$ZTP_LITE" --config "$d/device.json" --verbose "${2:-run}" \
		> "$d/lite.out" 2> "$d/lite.err" || rc=$?
	return $rc
}

# lite_stat ID NAME: a counter of the last run's device.stats event.
lite_stat() {
	sed -n "s/.*\"event\":\"device.stats\".*\"$2\":\([0-9]*\).*/\1/p" \
		"$T/dev/$1/lite.err"
}

# lite_cred ID KIND: the current certificate file of KIND, from the
# manifest the core keeps.
lite_cred() {
	[ -f "$T/dev/$1/state/$2.manifest" ] &&
		slot=$(cred_slot "$T/dev/$1/state" "$2") || return 1
	echo "$T/dev/$1/state/$2.$slot"
}

# lite_check_cred ID KIND DAYS_MIN: e2e_cred_ok for DAYS_MIN days.
lite_check_cred() { e2e_cred_ok "$1" "$2" $(($3 * 86400)); }

# lite_config_set ID JSON_MEMBERS: merge members into the configuration.
lite_config_set() {
	"$PY" - "$T/dev/$1/device.json" "$2" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c.update(json.loads(sys.argv[2]))
json.dump(c, open(p, "w"))
PY
}

# lite_expect ID EXIT PATTERN: the last run exited EXIT with a message
# matching PATTERN.
lite_expect() {
	rc=0
	lite_run "$1" || rc=$?
	if [ "$rc" -ne "$2" ]; then
		cat "$T/dev/$1/lite.err"
		e2e_fail "$1: exit $rc, expected $2"
	elif ! grep -q "$3" "$T/dev/$1/lite.err"; then
		cat "$T/dev/$1/lite.err"
		e2e_fail "$1: the refusal does not say '$3'"
	else
		e2e_ok "$1: refused (exit $2, '$3')"
	fi
}

# lite_no_retry ID: the last run's refusal was final: one attempt at the
# challenge, none retried.
lite_no_retry() {
	n=$(grep -c '"event":"device.http","endpoint":"challenge"' "$T/dev/$1/lite.err" || true)
	if [ "$n" = 1 ] && ! grep -q '"outcome":"retry"' "$T/dev/$1/lite.err"; then
		e2e_ok "$1: not retried"
	else
		e2e_fail "$1: $n challenge attempts (retried?)"
	fi
}
