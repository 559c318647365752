# Shared helpers of the broker tests (sourced, POSIX sh): a real mosquitto
# on 127.0.0.1 with the ztp_mosquitto plugin, started and stopped with
# bounded waits. The caller sets $top_builddir, sources tests/lib.sh first
# (free_port gives the broker's port) and works in a temporary directory
# it removes itself; mq_stop is safe to call from its EXIT trap.

MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
MQ_PUB=$(command -v mosquitto_pub || true)
MQ_SUB=$(command -v mosquitto_sub || true)
MQ_RR=$(command -v mosquitto_rr || true)
MQ_PLUGIN=${MQ_PLUGIN:-$top_builddir/plugins/mosquitto/.libs/ztp_mosquitto.so}
MQ_PID=

# mq_require: skip (77) without a broker and its clients; fail without the
# plugin.
mq_require() {
	if [ ! -x "$MOSQUITTO" ] || [ -z "$MQ_PUB" ] || [ -z "$MQ_SUB" ] ||
		[ -z "$MQ_RR" ]; then
		echo "SKIP: mosquitto or its clients (mosquitto-clients) not installed"
		exit 77
	fi
	[ -f "$MQ_PLUGIN" ] || { echo "plugin not built: $MQ_PLUGIN"; exit 1; }
}

# mq_conf DIR PORT DEVICE_CA SERVER_CERT SERVER_KEY: DIR/mosquitto.conf, a
# TLS listener on 127.0.0.1:PORT requiring client certificates, logging to
# DIR/broker.log, and the plugin line; the caller appends plugin_opt_*.
mq_conf() {
	# as root, mosquitto would switch to its own user, which cannot read
	# the temporary directory
	cat > "$1/mosquitto.conf" <<EOF
user $(id -un)
per_listener_settings false
allow_anonymous false
persistence false
log_dest file $1/broker.log
log_type all
listener $2 127.0.0.1
cafile $3
certfile $4
keyfile $5
require_certificate true
plugin $MQ_PLUGIN
EOF
}

# mq_start DIR PORT: start mosquitto -c DIR/mosquitto.conf; sets MQ_PID.
# Returns 1 (with the logs printed) if it did not listen within 10 s.
mq_start() {
	: > "$1/broker.log"
	# A sanitizer build of the plugin needs its runtime loaded first into
	# the (uninstrumented) broker; the broker's own leaks are not ours.
	preload=$(ldd "$MQ_PLUGIN" |
		awk '/lib(asan|ubsan|tsan)\.so/ { printf "%s ", $3 }')
	LD_LIBRARY_PATH="$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
	LD_PRELOAD="$preload" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$MOSQUITTO" -c "$1/mosquitto.conf" > "$1/broker.out" 2>&1 &
	MQ_PID=$!
	i=0
	until grep -q "policy plugin ready" "$1/broker.log" 2>/dev/null &&
		grep -q "Opening ipv4 listen socket on port $2" "$1/broker.log"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$MQ_PID" 2>/dev/null; then
			echo "broker did not start:"
			cat "$1/broker.out" "$1/broker.log" 2>/dev/null
			mq_stop
			return 1
		fi
		sleep 0.1
	done
}

# mq_stop: stop the broker started by mq_start, if any.
mq_stop() {
	if [ -n "$MQ_PID" ]; then
		kill "$MQ_PID" 2>/dev/null || true
		wait "$MQ_PID" 2>/dev/null || true
	fi
	MQ_PID=
}

# mq_wait_exit PID SECONDS: wait for PID to exit; 0 if it did in time
# (then reaped), 1 if it was still running (then killed).
mq_wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 10)) ]; then
			kill "$1" 2>/dev/null || true
			wait "$1" 2>/dev/null || true
			return 1
		fi
		sleep 0.1
	done
	wait "$1" 2>/dev/null || true
	return 0
}

# mq_wait_log FILE PATTERN SECONDS: wait for an extended regular
# expression to appear in FILE; 0 if it did in time.
mq_wait_log() {
	i=0
	until grep -Eq "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}
