#!/bin/sh
# End to end, power loss: the device process is SIGKILLed at each step of
# the bootstrap (before the key is written, after it is written, after the
# challenge, after the bootstrap answer arrived but before it is stored,
# after it is stored), first with no credential and then while replacing
# an existing one. After every kill the state directory must read back
# consistently (`ztp-device status`), any current credential must be
# complete and valid, and rerunning `ztp-device bootstrap` must end with a
# valid credential set; a key written before the kill is the one that
# gets certified.
#
# The kill is delivered from the library's own step event, through the
# Python binding, so it lands exactly at the step every time.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
e2e_pki

points="start key challenge response done"
for p in $points; do
	e2e_device "crash-$p"
	e2e_enroll "crash-$p"
done
e2e_start_server python server

# Public keys of every key file in the device's bootstrap slots.
slot_keys() {
	for k in $(cred_key_files "$T/dev/$1/state" bootstrap); do
		tr -d '\000' < "$k" | "$OPENSSL" pkey -pubout 2>/dev/null
	done
	true
}

kill_at() {
	id=$1
	point=$2
	d=$T/dev/$id
	rc=0
	ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
		$PYRUN "$E2E_DIR/crash_device.py" "$d/device.json" "$point" \
		> "$d/crash.out" 2> "$d/crash.err" || rc=$?
	# 128 + SIGKILL from the shell; anything else means the point was
	# not reached or the run failed.
	if [ "$rc" -ne 137 ]; then
		cat "$d/crash.err"
		e2e_fail "$id: not killed at $point (exit $rc)"
		return 1
	fi
	# The state must read back without error whatever the point.
	if ! "$ZTP_DEVICE" --config "$d/device.json" --json status \
		> "$d/status-after-kill.json" 2> "$d/status.err"; then
		cat "$d/status.err"
		e2e_fail "$id: state unreadable after a kill at $point"
	fi
	return 0
}

rerun() {
	id=$1
	if e2e_bootstrap "$id"; then
		e2e_check_cred "$id"
	else
		cat "$T/dev/$id/bootstrap.err"
		e2e_fail "$id: bootstrap after the kill failed"
	fi
}

# Round 1: the first bootstrap is interrupted.
for p in $points; do
	id=crash-$p
	e2e_device_config "$id" "$E2E_PORT"
	kill_at "$id" "$p" || continue
	case $p in
	done)
		# Killed after the commit: the credential is already there.
		e2e_check_cred "$id" ;;
	*)
		e2e_no_cred "$id" ;;
	esac
	before=$(slot_keys "$id")
	rerun "$id"
	case $p in
	key | challenge | response)
		# The key generated before the kill is reused, not replaced.
		cert=$(e2e_current_cert "$id") || continue
		pub=$("$OPENSSL" x509 -in "$cert" -noout -pubkey)
		printf '%s\n' "$before" | grep -q "$(printf '%s\n' "$pub" | sed -n 2p)" ||
			e2e_fail "$id: the key written before the kill was not reused"
		;;
	esac
	e2e_ok "$id: recovered from a kill at $p (first bootstrap)"
done

# Round 2: a device that holds a credential is interrupted while getting a
# new one. Until the new one is complete the old one stays current.
for p in $points; do
	id=crash-$p
	old=$(e2e_current_cert "$id") || { e2e_fail "$id: no credential before round 2"; continue; }
	oldfp=$("$OPENSSL" x509 -in "$old" -noout -fingerprint -sha256)
	kill_at "$id" "$p" || continue
	cert=$(e2e_current_cert "$id") || { e2e_fail "$id: lost its credential at $p"; continue; }
	fp=$("$OPENSSL" x509 -in "$cert" -noout -fingerprint -sha256)
	if [ "$p" != done ] && [ "$fp" != "$oldfp" ]; then
		e2e_fail "$id: current credential changed before the new one was stored ($p)"
	fi
	e2e_check_cred "$id"
	rerun "$id"
	e2e_ok "$id: recovered from a kill at $p (replacing a credential)"
done

e2e_stop_server "$E2E_PID"
e2e_done
