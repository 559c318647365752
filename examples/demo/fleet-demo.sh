#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# fleet-demo.sh: provision a simulated fleet end to end (`make demo`).
#
#   fleet-demo.sh [--devices N] [--jobs N] [--keep] [--hsm]
#
# In a temporary directory: a manufacturer PKI, a device CA and a TLS
# server certificate, all from ztp-ca; N devices manufactured (factory key and certificate
# from ztp-ca, enrolled with ztp-verify, claim code kept); the Python
# reference server on 127.0.0.1; every device's `ztp-device run` in
# parallel; half the fleet claimed by tenant acme, half by globex; a second
# run that picks up the tenant-bound credentials; one device reset and
# re-provisioned to the other tenant; one revoked and refused; the CRL; a
# summary. Every step's result is checked, not only its exit status: the
# exit status is 0 only if every check passed.
#
# --hsm (DEMO_HSM=1): the device CA's key is generated in a SoftHSM2 token
# (softhsm2, its configuration in the temporary directory) and every
# certificate and CRL the device CA signs is signed there; the verifier
# configuration names it by its pkcs11: URI.
#
# Environment: DEVICES, JOBS, KEEP=1, DEMO_HSM=1 (same as the options),
# SOFTHSM2_MODULE (SoftHSM2's PKCS#11 module, for --hsm), ZTP_BUILDDIR
# and ZTP_SRCDIR (the build and source trees; default: the trees this
# script sits in), OPENSSL, PYTHON3. Only 127.0.0.1 is contacted.

set -eu

# ------------------------------------------------------------------ worker
#
# One device step, run by xargs in parallel. It always exits 0 (xargs would
# stop at 255 and cannot tell steps apart otherwise) and appends one line,
# "ok ID" or "fail ID reason", to the phase's result file; a single short
# write with O_APPEND, so lines of parallel workers never mix.

w_result() {
	printf '%s\n' "$*" >> "$DEMO_T/results/$DEMO_PHASE"
}

# w_err FILE: the last line of FILE, for a one-line failure reason.
w_err() {
	tail -n 1 "$1" 2>/dev/null | tr -d '\r' | cut -c 1-200
}

w_manufacture() {
	id=$1
	d=$DEMO_T/dev/$id
	# Not -p: after an interrupt, a late worker must not recreate the
	# directory the demo has just removed.
	mkdir "$d" || { w_result "fail $id mkdir"; return 0; }
	# A factory makes the key and the request on the device, and its CA
	# signs the request; here the openssl CLI plays the device.
	if ! "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$d/factory.key" 2> "$d/manufacture.err"; then
		w_result "fail $id factory key: $(w_err "$d/manufacture.err")"
		return 0
	fi
	if ! "$OPENSSL" req -new -key "$d/factory.key" -subj "/CN=$id" \
		-out "$d/factory.csr" 2> "$d/manufacture.err"; then
		w_result "fail $id factory CSR: $(w_err "$d/manufacture.err")"
		return 0
	fi
	if ! "$ZTP_CA" issue --issuer-cert "$DEMO_T/pki/factory-ca.pem" \
		--issuer-key "$DEMO_T/pki/factory-ca.key" \
		--csr "$d/factory.csr" --device-id "$id" --profile factory \
		--days 3650 --out "$d/factory.leaf.pem" \
		> /dev/null 2> "$d/manufacture.err"; then
		w_result "fail $id ztp-ca issue: $(w_err "$d/manufacture.err")"
		return 0
	fi
	# The device sends its issuing CA after the leaf as a chain hint.
	cat "$d/factory.leaf.pem" "$DEMO_T/pki/factory-ca.pem" \
		> "$d/factory.pem"
	if ! "$ZTP_VERIFY" --config "$DEMO_T/verify.json" enroll \
		--device-id "$id" --factory-cert "$d/factory.leaf.pem" \
		--model "demo-sensor" --batch "demo-1" \
		> "$d/claim.txt" 2> "$d/manufacture.err"; then
		w_result "fail $id enroll: $(w_err "$d/manufacture.err")"
		return 0
	fi
	if ! grep -Eqx '[A-Z2-7]{4}(-[A-Z2-7]{4}){7}' "$d/claim.txt"; then
		w_result "fail $id enroll printed no claim code"
		return 0
	fi
	w_result "ok $id"
}

# w_run ID TAG: ztp-device run, its JSON answer in run-TAG.json.
w_run() {
	d=$DEMO_T/dev/$1
	"$ZTP_DEVICE" --config "$d/device.json" --json run \
		> "$d/run-$2.json" 2> "$d/run-$2.err"
}

# w_op_cert ID: the device's current operational certificate file (the
# state directory layout of ztp-device(1)).
w_op_cert() {
	d=$DEMO_T/dev/$1/state/operational
	slot=$(sed -n 's/.*"current":"\([ab]\)".*/\1/p' "$d/current.json" \
		2>/dev/null)
	[ -n "$slot" ] || return 1
	echo "$d/$slot/cert.pem"
}

# w_san CERT: its subjectAltName, as openssl prints it.
w_san() {
	"$OPENSSL" x509 -in "$1" -noout -ext subjectAltName 2>&1 || true
}

# w_provisioned ID: the first run left the device registered with an
# operational certificate naming it and no tenant yet.
w_provisioned() {
	id=$1
	if ! w_run "$id" 1; then
		w_result "fail $id run: $(w_err "$DEMO_T/dev/$id/run-1.err")"
		return 0
	fi
	if ! cert=$(w_op_cert "$id"); then
		w_result "fail $id run: no operational credential stored"
		return 0
	fi
	san=$(w_san "$cert")
	case $san in
	*"URI:urn:ztp:tenant:"*)
		w_result "fail $id unclaimed device got a tenant: $san" ;;
	*"URI:urn:ztp:device:$id"*)
		w_result "ok $id" ;;
	*)
		w_result "fail $id certificate does not name it: $san" ;;
	esac
}

w_claim() {
	id=$1
	d=$DEMO_T/dev/$id
	# The code goes through standard input: never on a command line.
	if "$ZTP_VERIFY" --config "$DEMO_T/verify.json" claim \
		--device-id "$id" --code - --tenant "$2" \
		< "$d/claim.txt" > "$d/claim.out" 2> "$d/claim.err"; then
		w_result "ok $id"
	else
		w_result "fail $id claim: $(w_err "$d/claim.err")"
	fi
}

# w_tenant ID TENANT: run again; the operational certificate must now name
# the tenant that claimed the device, and the server's assignment must put
# the device into that tenant's namespace.
w_tenant() {
	id=$1
	t=$2
	d=$DEMO_T/dev/$id
	if ! w_run "$id" 2; then
		w_result "fail $id run: $(w_err "$d/run-2.err")"
		return 0
	fi
	if ! cert=$(w_op_cert "$id"); then
		w_result "fail $id run: no operational credential stored"
		return 0
	fi
	san=$(w_san "$cert")
	case $san in
	*"URI:urn:ztp:device:$id, URI:urn:ztp:tenant:$t" | \
	*"URI:urn:ztp:device:$id, URI:urn:ztp:tenant:$t,"*) ;;
	*)
		w_result "fail $id certificate does not name tenant $t: $san"
		return 0
		;;
	esac
	if ! "$ZTP_DEVICE" --config "$d/device.json" --json assignment \
		> "$d/assignment.json" 2> "$d/assignment.err"; then
		w_result "fail $id assignment: $(w_err "$d/assignment.err")"
		return 0
	fi
	if ! grep -Fq "\"namespace\":\"tenants/$t/devices/$id/\"" \
		"$d/assignment.json"; then
		w_result "fail $id assignment is not in tenants/$t/devices/$id/"
		return 0
	fi
	w_result "ok $id"
}

if [ "${1:-}" = --worker ]; then
	DEMO_PHASE=$2
	shift 2
	case $DEMO_PHASE in
	manufacture) w_manufacture "$1" ;;
	provision) w_provisioned "$1" ;;
	claim) w_claim "$1" "$2" ;;
	tenant) w_tenant "$1" "$2" ;;
	op-cert) w_op_cert "$1" ;;
	*) echo "fleet-demo: unknown worker phase $DEMO_PHASE" >&2; exit 255 ;;
	esac
	exit 0
fi

# ------------------------------------------------------------------ setup

usage() {
	echo "usage: fleet-demo.sh [--devices N] [--jobs N] [--keep] [--hsm]"
}

DEVICES=${DEVICES:-}
JOBS=${JOBS:-}
KEEP=${KEEP:-0}
DEMO_HSM=${DEMO_HSM:-0}
while [ $# -gt 0 ]; do
	case $1 in
	--devices | --jobs)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		if [ "$1" = --devices ]; then DEVICES=$2; else JOBS=$2; fi
		shift 2
		;;
	--keep) KEEP=1; shift ;;
	--hsm) DEMO_HSM=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
DEVICES=${DEVICES:-200}
JOBS=${JOBS:-8}
for v in "$DEVICES" "$JOBS"; do
	case $v in
	'' | *[!0-9]* | 0*)
		echo "fleet-demo: not a positive number: '$v'" >&2
		exit 2
		;;
	esac
done
if [ "$DEVICES" -lt 2 ] || [ "$DEVICES" -gt 99999 ]; then
	echo "fleet-demo: DEVICES must be 2..99999 (one device is reset," \
		"another revoked)" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
ZTP_SRCDIR=${ZTP_SRCDIR:-$(cd "$here/../.." && pwd)}
ZTP_BUILDDIR=${ZTP_BUILDDIR:-$ZTP_SRCDIR}
OPENSSL=${OPENSSL:-openssl}
ZTP_LIB=$ZTP_BUILDDIR/.libs/libztp.so

# In a build tree, tools/ztp-X is libtool's wrapper script around
# tools/.libs/ztp-X; it starts a shell for every call, which costs more
# than the work of a device step. Call the program behind it with the
# uninstalled library on the search path, as the wrapper itself does.
tool() {
	if [ -x "$ZTP_BUILDDIR/tools/.libs/$1" ] && [ -f "$ZTP_LIB" ] &&
		head -c 512 "$ZTP_BUILDDIR/tools/$1" 2> /dev/null |
		grep -q 'wrapper script'; then
		echo "$ZTP_BUILDDIR/tools/.libs/$1"
	else
		echo "$ZTP_BUILDDIR/tools/$1"
	fi
}
ZTP_CA=$(tool ztp-ca)
ZTP_VERIFY=$(tool ztp-verify)
ZTP_DEVICE=$(tool ztp-device)
ZTP_POLICY=$(tool ztp-policy)
case $ZTP_CA in
*/.libs/*)
	LD_LIBRARY_PATH=$ZTP_BUILDDIR/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
	;;
esac
DEMO_SCRIPT=$here/fleet-demo.sh

for t in "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE" "$ZTP_POLICY"; do
	if [ ! -x "$t" ]; then
		echo "fleet-demo: $t is not built (run ./configure && make;" \
			"the demo needs the server and device parts)" >&2
		exit 2
	fi
done
if [ ! -f "$ZTP_LIB" ]; then
	echo "fleet-demo: $ZTP_LIB is not built" >&2
	exit 2
fi
command -v "$OPENSSL" > /dev/null 2>&1 || {
	echo "fleet-demo: openssl CLI not found" >&2; exit 2; }
PY=
for cand in /usr/bin/python3 "${PYTHON3:-}" python3; do
	[ -n "$cand" ] || continue
	if p=$(command -v "$cand" 2> /dev/null) && [ -x "$p" ]; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "fleet-demo: python3 not found (the reference server needs it)" >&2
	exit 77
fi

# An instrumented (sanitizer) library needs its runtime preloaded into the
# interpreter; the helper says how.
. "$ZTP_SRCDIR/bindings/sanitizers.sh"
ztp_san_detect "$ZTP_LIB"
case $ZTP_SAN in
tsan)
	echo "fleet-demo: python cannot load a ThreadSanitizer build" >&2
	exit 77
	;;
asan)
	ztp_san_preload "$ZTP_LIB" || {
		echo "fleet-demo: sanitizer runtime is not a shared library" >&2
		exit 77
	}
	;;
esac
PYRUN=$(ztp_san_command "$PY")

# CA and device keys are written below: nobody else needs to read them.
umask 077
DEMO_T=$(mktemp -d "${TMPDIR:-/tmp}/ztp-demo.XXXXXX")
SERVER_PID=
POLL_PID=
cleanup() {
	rc=$?
	if [ -n "$POLL_PID" ]; then
		kill "$POLL_PID" 2> /dev/null || true
		wait "$POLL_PID" 2> /dev/null || true
	fi
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2> /dev/null || true
		i=0
		while kill -0 "$SERVER_PID" 2> /dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$SERVER_PID" 2> /dev/null || true
		wait "$SERVER_PID" 2> /dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then
		echo "kept $DEMO_T"
	else
		rm -rf "$DEMO_T"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

export DEMO_T OPENSSL ZTP_CA ZTP_VERIFY ZTP_DEVICE
mkdir -p "$DEMO_T/pki" "$DEMO_T/dev" "$DEMO_T/results"

# ------------------------------------------------------------------ output

if [ -t 1 ]; then
	TTY=1
	B=$(printf '\033[1m')
	G=$(printf '\033[32m')
	R=$(printf '\033[31m')
	N=$(printf '\033[0m')
else
	TTY=0
	B= G= R= N=
fi

FAILS=0
STEP=0
step() {
	STEP=$((STEP + 1))
	printf '\n%s[%d] %s%s\n' "$B" "$STEP" "$*" "$N"
}
ok() { printf '    %sok%s    %s\n' "$G" "$N" "$*"; }
fail() {
	printf '    %sFAIL%s  %s\n' "$R" "$N" "$*"
	FAILS=$((FAILS + 1))
}
info() { printf '          %s\n' "$*"; }
die() {
	fail "$*"
	echo "fleet-demo: stopped at step $STEP" >&2
	exit 1
}

# Milliseconds since the epoch (GNU date), else whole seconds.
now_ms() {
	s=$(date +%s%N 2> /dev/null)
	case $s in
	*N | '') echo $(($(date +%s) * 1000)) ;;
	*) echo $((s / 1000000)) ;;
	esac
}
secs() { # MS: "12.3"
	printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100))
}
T0=$(now_ms)

BAR_HASH="########################################"
BAR_DOTS="........................................"
BAR_W=40

# draw LABEL DONE TOTAL FAILED START_MS: the bar, redrawn in place on a
# terminal, one line per call otherwise (one write either way).
draw() {
	el=$(($(now_ms) - $5))
	f=$(($2 * BAR_W / $3))
	bad=
	[ "$4" -gt 0 ] && bad=", $4 failed"
	if [ "$TTY" = 1 ]; then
		fmt='\r    %-12s [%.*s%.*s] %*d/%d  %ss%s '
	else
		fmt='    %-12s [%.*s%.*s] %*d/%d  %ss%s\n'
	fi
	printf "$fmt" "$1" "$f" "$BAR_HASH" $((BAR_W - f)) "$BAR_DOTS" \
		${#3} "$2" "$3" "$(secs "$el")" "$bad"
}

# progress LABEL TOTAL RESULTS START_MS: redraw the bar until killed. The
# poll is cheap but not free (a few processes per round): four rounds a
# second on a terminal, one otherwise, with a line every 5 s.
progress() {
	ticks=0
	n_prev=-1
	nf=0
	while :; do
		n=$(wc -l < "$3")
		if [ "$n" != "$n_prev" ]; then
			nf=$(grep -c '^fail ' "$3" || true)
		fi
		if [ "$TTY" = 1 ] || [ $((ticks % 5)) = 4 ]; then
			draw "$1" "$n" "$2" "$nf" "$4"
		fi
		n_prev=$n
		ticks=$((ticks + 1))
		if [ "$TTY" = 1 ]; then sleep 0.25; else sleep 1; fi
	done
}

# parallel PHASE LABEL TOTAL ARGS_PER_CALL LIST: run the phase's worker
# over the lines of the file LIST, JOBS at a time, with a progress bar.
# Sets P_OK, P_FAIL, P_MS (wall time) and P_CPU (CPU time of the phase's
# processes, the server's excepted).
#
# xargs runs in the foreground, so that an interrupt (^C) reaches it and
# its workers; the bar is drawn by a background subshell, which this shell
# stops itself (background jobs of a script ignore interrupts).
parallel() {
	res=$DEMO_T/results/$1
	: > "$res"
	cpu_snap
	cpu0=$(cpu_ms)
	start=$(now_ms)
	progress "$2" "$3" "$res" "$start" &
	POLL_PID=$!
	xrc=0
	xargs -n "$4" -P "${P_JOBS:-$JOBS}" sh "$DEMO_SCRIPT" --worker "$1" < "$5" ||
		xrc=$?
	kill "$POLL_PID" 2> /dev/null || true
	wait "$POLL_PID" 2> /dev/null || true
	POLL_PID=
	P_MS=$(($(now_ms) - start))
	cpu_snap
	P_CPU=$(($(cpu_ms) - cpu0))
	P_OK=$(grep -c '^ok ' "$res" || true)
	P_FAIL=$(grep -c '^fail ' "$res" || true)
	draw "$2" $((P_OK + P_FAIL)) "$3" "$P_FAIL" "$start"
	[ "$TTY" = 1 ] && echo
	if [ "$xrc" -ne 0 ]; then
		fail "$2: xargs exited with status $xrc"
	fi
	# Every device must have answered exactly once.
	if [ $((P_OK + P_FAIL)) -ne "$3" ]; then
		fail "$2: $((P_OK + P_FAIL)) results for $3 devices"
	fi
	grep '^fail ' "$res" | head -n 5 | while IFS= read -r line; do
		info "${line#fail }"
	done
	[ "$P_FAIL" -le 5 ] || info "... and $((P_FAIL - 5)) more failures"
}

# cpu_ms: CPU time (user + system) of the demo's finished child processes,
# in ms, as of the last cpu_snap. The snapshot must be taken by this shell:
# in a command substitution `times` would report the subshell's children.
cpu_snap() { times > "$DEMO_T/times"; }
cpu_ms() {
	tail -n 1 "$DEMO_T/times" | awk '
		function ms(v,  m) {
			m = index(v, "m")
			return (substr(v, 1, m - 1) * 60 + substr(v, m + 1)) * 1000
		}
		{ printf "%d", ms($1) + ms($2) }'
}

# serials RUN_JSON: the serials of the bootstrap and operational
# certificates in the status of a `ztp-device --json run` (in that order).
serials() {
	sed -n 's/.*"serial":"\([0-9a-f]*\)".*"serial":"\([0-9a-f]*\)".*/\1 \2/p' \
		"$1"
}

rate() { # COUNT MS: "12.3/s"
	[ "$2" -gt 0 ] || { echo "-"; return; }
	r=$(($1 * 10000 / $2))
	printf '%d.%d/s' $((r / 10)) $((r % 10))
}

# ------------------------------------------------------------------ steps

printf '%slibztp fleet demo%s: %d devices, %d at a time, in %s\n' "$B" "$N" \
	"$DEVICES" "$JOBS" "$DEMO_T"

step "PKI and registry"
p=$DEMO_T/pki
# The device CA's key: a file, or (--hsm) a key pair made in a SoftHSM2
# token, named by its RFC 7512 URI wherever the file would be.
DEVCA_KEY=$p/device-ca.key
DEVCA_CREATE=
if [ "$DEMO_HSM" = 1 ]; then
	SOFTHSM2_MODULE=${SOFTHSM2_MODULE:-/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so}
	[ -f "$SOFTHSM2_MODULE" ] || die "--hsm: no SoftHSM2 module at $SOFTHSM2_MODULE (install softhsm2)"
	mkdir -p "$DEMO_T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$DEMO_T/tokens" > "$DEMO_T/softhsm2.conf"
	SOFTHSM2_CONF=$DEMO_T/softhsm2.conf
	export SOFTHSM2_CONF
	(umask 077 && od -An -N8 -tx1 /dev/urandom | tr -d ' \n' > "$DEMO_T/pin")
	softhsm2-util --init-token --free --label demo-device-ca \
		--pin "$(cat "$DEMO_T/pin")" --so-pin "$(cat "$DEMO_T/pin")" \
		> /dev/null || die "softhsm2-util --init-token"
	DEVCA_KEY="pkcs11:token=demo-device-ca;object=device-ca?pin-source=file:$DEMO_T/pin&module-path=$SOFTHSM2_MODULE"
	DEVCA_CREATE=--create-key
fi
{
	"$ZTP_CA" init-root --cert "$p/maker-root.pem" \
		--key "$p/maker-root.key" --days 3650 \
		--subject "CN=Demo Manufacturing Root,O=Demo Maker" &&
	"$ZTP_CA" init-sub --issuer-cert "$p/maker-root.pem" \
		--issuer-key "$p/maker-root.key" --cert "$p/factory-ca.pem" \
		--key "$p/factory-ca.key" --pathlen 0 \
		--subject "/CN=Demo Factory CA 1/O=Demo Maker" --days 3650 &&
	"$ZTP_CA" init-root --cert "$p/device-ca.pem" --key "$DEVCA_KEY" $DEVCA_CREATE \
		--subject "/CN=Demo Fleet Device CA/O=Demo Fleet" --days 3650 &&
	"$ZTP_CA" init-root --cert "$p/server-ca.pem" --key "$p/server-ca.key" \
		--subject "/CN=Demo Server CA/O=Demo Fleet" --days 3650
} > "$DEMO_T/pki.out" 2>&1 || { cat "$DEMO_T/pki.out"; die "ztp-ca init"; }
# The verifier's TLS certificate for 127.0.0.1, from ztp-ca's server
# profile under the server CA: the deployment's certificates need no other
# tool (openssl below only checks them, and plays the devices).
{
	"$ZTP_CA" issue --profile server --issuer-cert "$p/server-ca.pem" \
		--issuer-key "$p/server-ca.key" --new-key "$p/server.key" \
		--ip 127.0.0.1 --dns localhost --days 30 \
		--out "$p/server.leaf.pem" &&
	cat "$p/server.leaf.pem" "$p/server-ca.pem" > "$p/server.pem"
} > "$DEMO_T/pki.out" 2>&1 ||
	{ cat "$DEMO_T/pki.out"; die "server certificate"; }
"$OPENSSL" verify -CAfile "$p/maker-root.pem" "$p/factory-ca.pem" \
	> /dev/null 2>&1 || die "factory CA does not chain to the maker root"
"$OPENSSL" verify -CAfile "$p/server-ca.pem" -purpose sslserver \
	"$p/server.leaf.pem" > /dev/null 2>&1 ||
	die "server certificate invalid"
# Rate limits sized for a whole fleet on one machine (the defaults suit a
# public server: a device gets 10 requests at once, then one per 5 s).
cat > "$DEMO_T/verify.json" << JSON
{
  "trust_anchors": "pki/maker-root.pem",
  "issuers": "pki/factory-ca.pem",
  "device_ca": {"cert": "pki/device-ca.pem", "key": "$DEVCA_KEY"},
  "store": "sqlite:registry.db",
  "crl_file": "device-ca.crl",
  "rate_limits": {"device": {"rate": 100, "burst": 100},
                  "global": {"rate": 100000, "burst": 100000}}
}
JSON
ok "manufacturer root + factory CA, device CA," \
	"server CA + TLS certificate for 127.0.0.1 (ztp-ca server profile)"
ok "verifier configuration with a SQLite registry"
if [ "$DEMO_HSM" = 1 ]; then
	if [ ! -e "$p/device-ca.key" ] &&
		softhsm2-util --show-slots | grep -q 'Label: *demo-device-ca'; then
		ok "the device CA's key lives in a SoftHSM2 token, not in a file"
	else
		fail "the device CA's key is not (only) in its token"
	fi
fi

# Device IDs, and which tenant claims each: odd numbers acme, even globex.
i=1
: > "$DEMO_T/ids"
: > "$DEMO_T/tenants"
while [ "$i" -le "$DEVICES" ]; do
	id=$(printf 'dev-%05d' "$i")
	echo "$id" >> "$DEMO_T/ids"
	if [ $((i % 2)) = 1 ]; then
		echo "$id acme" >> "$DEMO_T/tenants"
	else
		echo "$id globex" >> "$DEMO_T/tenants"
	fi
	i=$((i + 1))
done
FIRST=dev-00001
LAST=$(printf 'dev-%05d' "$DEVICES")

step "Manufacture $DEVICES devices" \
	"(factory key + certificate, enrollment, claim code)"
# Enrolling opens the verifier configuration, and so the device CA's
# key. SoftHSM2's file store is not safe for several processes that open a
# token at once (a process may find no token, or fail to log in), so with
# --hsm the steps that start ztp-verify run one at a time; a real HSM
# serves many processes.
[ "$DEMO_HSM" = 1 ] && P_JOBS=1
parallel manufacture manufacture "$DEVICES" 1 "$DEMO_T/ids"
P_JOBS=
MANUFACTURED=$P_OK
MS_MANUFACTURE=$P_MS
CPU_MANUFACTURE=$P_CPU
[ "$P_OK" -eq "$DEVICES" ] || die "$P_OK of $DEVICES devices manufactured"
ok "$DEVICES devices enrolled, each with a one-time claim code" \
	"($(rate "$DEVICES" "$P_MS"))"
info "e.g. $FIRST: claim code $(cat "$DEMO_T/dev/$FIRST/claim.txt")"

step "Start the reference server (examples/python/ztp_server.py)"
# Every simulated device connects from 127.0.0.1, like a site behind one
# NAT: the per-address connection cap must admit all the workers at once.
conn_cap=$((JOBS * 2 + 16))
ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH=$ZTP_SRCDIR/bindings/python \
	$PYRUN "$ZTP_SRCDIR/examples/python/ztp_server.py" \
	--config "$DEMO_T/verify.json" --listen 127.0.0.1:0 \
	--tls-cert "$p/server.pem" --tls-key "$p/server.key" --quiet \
	--max-per-address $conn_cap \
	--max-connections $((conn_cap > 256 ? conn_cap : 256)) \
	> "$DEMO_T/server.out" 2> "$DEMO_T/server.err" &
SERVER_PID=$!
PORT=
i=0
while [ $i -lt 600 ]; do
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
		"$DEMO_T/server.out" | head -n 1)
	[ -n "$PORT" ] && break
	if ! kill -0 "$SERVER_PID" 2> /dev/null; then
		cat "$DEMO_T/server.err" >&2
		die "the server exited before listening"
	fi
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$PORT" ]; then
	cat "$DEMO_T/server.err" >&2
	die "the server did not start in 60 s"
fi
ok "listening on https://127.0.0.1:$PORT (pid $SERVER_PID)"

# Device configurations (ztp-device.json(5)), now that the port is known.
while read -r id; do
	cat > "$DEMO_T/dev/$id/device.json" << JSON
{
  "device_id": "$id",
  "factory_key": "file:factory.key",
  "factory_cert": "factory.pem",
  "base_url": "https://127.0.0.1:$PORT",
  "ca_file": "$p/server-ca.pem",
  "state_dir": "state",
  "connect_timeout_ms": 10000,
  "timeout_ms": 60000,
  "retry": {"max_attempts": 6, "base_delay_ms": 100, "max_delay_ms": 2000,
            "max_retry_after_ms": 10000},
  "registration": {"device_type": "demo-sensor", "firmware_version": "1.0.0",
                   "capabilities": ["temperature", "humidity"]}
}
JSON
done < "$DEMO_T/ids"

step "Provision the fleet: ztp-device run (bootstrap, register, credentials)"
parallel provision provision "$DEVICES" 1 "$DEMO_T/ids"
PROVISIONED=$P_OK
PROVISION_FAILS=$P_FAIL
MS_PROVISION=$P_MS
CPU_PROVISION=$P_CPU
if [ "$P_OK" -eq "$DEVICES" ]; then
	ok "$P_OK/$DEVICES devices hold operational credentials" \
		"($(rate "$P_OK" "$P_MS"))"
else
	die "$P_OK/$DEVICES devices provisioned"
fi

step "Claim: odd devices to tenant acme, even ones to globex (ztp-verify claim)"
[ "$DEMO_HSM" = 1 ] && P_JOBS=1
parallel claim claim "$DEVICES" 2 "$DEMO_T/tenants"
P_JOBS=
MS_CLAIM=$P_MS
CPU_CLAIM=$P_CPU
[ "$P_OK" -eq "$DEVICES" ] || die "$P_OK/$DEVICES devices claimed"
N_ACME=$(grep -c ' acme$' "$DEMO_T/tenants" || true)
N_GLOBEX=$(grep -c ' globex$' "$DEMO_T/tenants" || true)
ok "$N_ACME devices claimed by acme, $N_GLOBEX by globex"
# A claim code works once.
if "$ZTP_VERIFY" --config "$DEMO_T/verify.json" claim --device-id "$FIRST" \
	--code - --tenant globex < "$DEMO_T/dev/$FIRST/claim.txt" \
	> /dev/null 2> "$DEMO_T/reclaim.err"; then
	fail "$FIRST: its used claim code was accepted again"
else
	ok "a used claim code is refused: $(tail -n 1 "$DEMO_T/reclaim.err")"
fi

step "Run again: devices pick up tenant-bound credentials"
parallel tenant run "$DEVICES" 2 "$DEMO_T/tenants"
MS_TENANT=$P_MS
CPU_TENANT=$P_CPU
PROVISION_FAILS=$((PROVISION_FAILS + P_FAIL))
TENANTED=$P_OK
if [ "$P_OK" -eq "$DEVICES" ]; then
	ok "$P_OK/$DEVICES certificates name the claiming tenant;" \
		"assignments agree"
else
	fail "$P_OK/$DEVICES devices have their tenant's credentials"
fi

step "Namespaces"
for id in "$FIRST" dev-00002; do
	"$ZTP_DEVICE" --config "$DEMO_T/dev/$id/device.json" assignment \
		> "$DEMO_T/show.out" 2>&1 ||
		fail "$id: assignment: $(tail -n 1 "$DEMO_T/show.out")"
	t=$(sed -n 's/^tenant  *//p' "$DEMO_T/show.out")
	ns=$(sed -n 's/^namespace  *//p' "$DEMO_T/show.out")
	# The server's namespace and the policy engine's agree.
	pns=$("$ZTP_POLICY" namespace --tenant "$t" --device "$id" 2> /dev/null |
		sed -n 's/.*"prefix":"\([^"]*\)".*/\1/p')
	if [ -n "$ns" ] && [ "$ns" = "$pns" ]; then
		ok "$id  tenant $t  namespace $ns"
	else
		fail "$id: server namespace '$ns', ztp-policy says '$pns'"
	fi
done
for t in acme globex; do
	n=$(grep -l "\"namespace\":\"tenants/$t/devices/" \
		"$DEMO_T"/dev/*/assignment.json 2> /dev/null | wc -l)
	info "tenants/$t/devices/<device>/: $n devices"
done

step "Reprovision $FIRST: reset, bootstrap again, claimed by globex"
old_serials=$(serials "$DEMO_T/dev/$FIRST/run-2.json")
if "$ZTP_VERIFY" --config "$DEMO_T/verify.json" reset --device-id "$FIRST" \
	> "$DEMO_T/dev/$FIRST/claim2.txt" 2> "$DEMO_T/reset.err"; then
	ok "reset; a new claim code: $(cat "$DEMO_T/dev/$FIRST/claim2.txt")"
else
	fail "reset: $(tail -n 1 "$DEMO_T/reset.err")"
fi
grep -Eqx '[A-Z2-7]{4}(-[A-Z2-7]{4}){7}' "$DEMO_T/dev/$FIRST/claim2.txt" ||
	fail "reset printed no claim code"
cmp -s "$DEMO_T/dev/$FIRST/claim.txt" "$DEMO_T/dev/$FIRST/claim2.txt" &&
	fail "reset printed the old claim code"
d=$DEMO_T/dev/$FIRST
if "$ZTP_DEVICE" --config "$d/device.json" --json run > "$d/run-3.json" \
	2> "$d/run-3.err"; then
	if grep -q '"actions":\["bootstrap"' "$d/run-3.json"; then
		ok "the device noticed the reset and bootstrapped again" \
			"with its factory identity"
	else
		fail "run after reset did not bootstrap:" \
			"$(cut -c 1-120 "$d/run-3.json")"
	fi
else
	fail "run after reset: $(tail -n 1 "$d/run-3.err")"
fi
if "$ZTP_VERIFY" --config "$DEMO_T/verify.json" claim --device-id "$FIRST" \
	--code - --tenant globex < "$d/claim2.txt" \
	> /dev/null 2> "$d/claim2.err"; then
	ok "claimed by globex with the new code"
else
	fail "claim by globex: $(tail -n 1 "$d/claim2.err")"
fi
if "$ZTP_DEVICE" --config "$d/device.json" --json run > "$d/run-4.json" \
	2> "$d/run-4.err"; then
	cert=$(sh "$DEMO_SCRIPT" --worker op-cert "$FIRST")
	san=$("$OPENSSL" x509 -in "$cert" -noout -ext subjectAltName 2>&1 |
		tail -n 1 | sed 's/^ *//')
	case $san in
	"URI:urn:ztp:device:$FIRST, URI:urn:ztp:tenant:globex")
		ok "new certificate: $san" ;;
	*)
		fail "certificate after re-provisioning: $san" ;;
	esac
else
	fail "run after the claim: $(tail -n 1 "$d/run-4.err")"
fi
if "$ZTP_DEVICE" --config "$d/device.json" --json assignment \
	> "$d/assignment.json" 2> "$d/assignment.err" &&
	grep -Fq "\"namespace\":\"tenants/globex/devices/$FIRST/\"" \
		"$d/assignment.json"; then
	ok "assignment: tenants/globex/devices/$FIRST/"
else
	fail "assignment after re-provisioning:" \
		"$(cut -c 1-160 "$d/assignment.json" "$d/assignment.err")"
fi
sed "s/^$FIRST acme\$/$FIRST globex/" "$DEMO_T/tenants" > "$DEMO_T/tenants.new"
mv "$DEMO_T/tenants.new" "$DEMO_T/tenants"

step "Revoke $LAST and show it refused"
d=$DEMO_T/dev/$LAST
rev_serials=$(serials "$d/run-2.json")
if "$ZTP_VERIFY" --config "$DEMO_T/verify.json" revoke --device-id "$LAST" \
	> /dev/null 2> "$DEMO_T/revoke.err"; then
	ok "revoked"
else
	fail "revoke: $(tail -n 1 "$DEMO_T/revoke.err")"
fi
rc=0
"$ZTP_DEVICE" --config "$d/device.json" --json run > "$d/run-5.json" \
	2> "$d/run-5.err" || rc=$?
if [ "$rc" = 1 ] && grep -q 'device_blocked' "$d/run-5.json"; then
	ok "ztp-device run refused (exit 1):" \
		"$(tail -n 1 "$d/run-5.err" | sed 's/^ztp-device: //')"
else
	fail "ztp-device run of the revoked device: exit $rc," \
		"$(cut -c 1-160 "$d/run-5.json")"
fi
rc=0
"$ZTP_DEVICE" --config "$d/device.json" --json bootstrap > "$d/boot-5.json" \
	2> "$d/boot-5.err" || rc=$?
if [ "$rc" = 1 ] && grep -q 'device_blocked' "$d/boot-5.json"; then
	ok "a fresh bootstrap with the factory identity is refused too" \
		"(device_blocked)"
else
	fail "bootstrap of the revoked device: exit $rc," \
		"$(cut -c 1-160 "$d/boot-5.json")"
fi
sed "s/^$LAST .*/$LAST -/" "$DEMO_T/tenants" > "$DEMO_T/tenants.new"
mv "$DEMO_T/tenants.new" "$DEMO_T/tenants"

step "Certificate revocation list (the server's crl endpoint, ztp-ca crl)"
# crl_serials PEM OUT: the serials a CRL lists, sorted, as the store and
# ztp-device record them: lower case without leading zeros (openssl
# prints whole octets, "0A3F…").
crl_serials() {
	"$OPENSSL" crl -in "$1" -noout -text |
		sed -n 's/^ *Serial Number: *\([0-9A-Fa-f]*\)$/\1/p' |
		tr 'A-F' 'a-f' | sed 's/^0*//' | sort > "$2"
}
# The endpoint first: serving a CRL revokes what is due, and the CRL made
# with ztp-ca afterwards must then list the same.
if "$PY" "$here/fetch_crl.py" "https://127.0.0.1:$PORT" \
	"$p/server-ca.pem" "$DEMO_T/crl-endpoint.pem" 2> "$DEMO_T/fetch.err" &&
	"$OPENSSL" crl -in "$DEMO_T/crl-endpoint.pem" \
		-CAfile "$p/device-ca.pem" -noout > /dev/null 2>&1; then
	crl_serials "$DEMO_T/crl-endpoint.pem" "$DEMO_T/crl-endpoint.serials"
	ok "crl endpoint: a CRL signed by the device CA," \
		"$(wc -l < "$DEMO_T/crl-endpoint.serials") entries"
else
	fail "crl endpoint: $(tail -n 1 "$DEMO_T/fetch.err")"
	: > "$DEMO_T/crl-endpoint.serials"
fi
if "$ZTP_CA" crl --issuer-cert "$p/device-ca.pem" \
	--issuer-key "$DEVCA_KEY" --store "sqlite:$DEMO_T/registry.db" \
	--out "$DEMO_T/crl.pem" \
	> /dev/null 2> "$DEMO_T/crl.err" &&
	"$OPENSSL" crl -in "$DEMO_T/crl.pem" -CAfile "$p/device-ca.pem" -noout \
		> /dev/null 2>&1; then
	ok "ztp-ca crl: a CRL signed by the device CA"
else
	die "ztp-ca crl: $(tail -n 1 "$DEMO_T/crl.err")"
fi
crl_serials "$DEMO_T/crl.pem" "$DEMO_T/crl.serials"
CRL_ENTRIES=$(wc -l < "$DEMO_T/crl.serials")
if cmp -s "$DEMO_T/crl.serials" "$DEMO_T/crl-endpoint.serials"; then
	ok "both list the same $CRL_ENTRIES certificates"
else
	fail "the endpoint's CRL and ztp-ca's differ"
fi
# The file a broker watches (crl_file), rewritten by every revocation.
if "$OPENSSL" crl -in "$DEMO_T/device-ca.crl" -CAfile "$p/device-ca.pem" \
	-noout > /dev/null 2>&1; then
	crl_serials "$DEMO_T/device-ca.crl" "$DEMO_T/crl-file.serials"
	if cmp -s "$DEMO_T/crl.serials" "$DEMO_T/crl-file.serials"; then
		ok "crl_file, written by the revocations themselves," \
			"lists the same"
	else
		fail "crl_file differs from ztp-ca's CRL"
	fi
else
	fail "crl_file: no CRL signed by the device CA"
fi
in_crl() { # SERIAL
	sv=$(echo "$1" | sed 's/^0*//')
	grep -qx "$sv" "$DEMO_T/crl.serials"
}
for what in "$LAST (revoked):$rev_serials" "$FIRST (reset):$old_serials"; do
	serials=${what#*:}
	label=${what%%:*}
	[ -n "$serials" ] || { fail "$label: no serials recorded"; continue; }
	missing=
	for s in $serials; do
		in_crl "$s" || missing="$missing $s"
	done
	if [ -z "$missing" ]; then
		ok "$label: certificates $serials listed"
	else
		fail "$label: not in the CRL:$missing"
	fi
done
# Certificates superseded by a claim or a rotation join the list when
# their overlap ends (rotation_overlap in ztp-verify.json(5)).
info "$CRL_ENTRIES entries in all"

step "Registry"
# Each device's record as the demo expects it.
while read -r id t; do
	case $t in
	-) echo "$id revoked -" ;;
	*) echo "$id active $t" ;;
	esac
done < "$DEMO_T/tenants" > "$DEMO_T/expected"
if ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH=$ZTP_SRCDIR/bindings/python \
	$PYRUN "$here/fleet_report.py" "$DEMO_T/registry.db" "$DEMO_T/expected" \
	> "$DEMO_T/report.out" 2> "$DEMO_T/report.err"; then
	eval "$(grep -E '^[a-z_]+=[0-9]+$' "$DEMO_T/report.out")"
else
	cat "$DEMO_T/report.err"
	die "cannot read the registry"
fi
if [ "$mismatches" = 0 ] && [ "$devices" = "$DEVICES" ]; then
	ok "$devices device records: states and tenants as claimed," \
		"reset and revoked"
else
	fail "$mismatches device records differ from what the demo did"
	grep '^mismatch: ' "$DEMO_T/report.out" | head -n 5 |
		while IFS= read -r l; do
			info "${l#mismatch: }"
		done
fi
if [ "$certs_revoked" = "$CRL_ENTRIES" ]; then
	ok "the CRL lists every certificate the registry marks revoked" \
		"($CRL_ENTRIES)"
else
	fail "registry marks $certs_revoked revoked, the CRL lists $CRL_ENTRIES"
fi

# Where the CPU time went: the server's share (Linux /proc; utime and
# stime are fields 14 and 15, counted after the parenthesised name), and
# after it has exited, all processes of the demo (the shell's children).
SRV_CPU_MS=
if [ -r "/proc/$SERVER_PID/stat" ]; then
	tck=$(getconf CLK_TCK 2> /dev/null || echo 100)
	SRV_CPU_MS=$(sed 's/^.*) //' "/proc/$SERVER_PID/stat" |
		awk -v t="$tck" '{ printf "%d", ($12 + $13) * 1000 / t }')
fi

# Stop the server before the summary: a clean shutdown is part of the demo.
kill -TERM "$SERVER_PID" 2> /dev/null || true
src=0
wait "$SERVER_PID" || src=$?
SERVER_PID=
cpu_snap
ALL_CPU_MS=$(cpu_ms)
[ "$src" = 0 ] || fail "the server exited with status $src"
if [ -s "$DEMO_T/server.err" ]; then
	fail "the server wrote errors: $(tail -n 1 "$DEMO_T/server.err")"
fi

TOTAL_MS=$(($(now_ms) - T0))
printf '\n%sSummary%s\n' "$B" "$N"
row() { printf '  %-34s %s\n' "$1" "$2"; }
row "devices manufactured" "$MANUFACTURED"
row "devices provisioned" "$PROVISIONED/$DEVICES"
row "claimed acme / globex" "$N_ACME / $N_GLOBEX"
row "devices with tenant credentials" "$TENANTED/$DEVICES"
row "failures" "$PROVISION_FAILS device runs, $FAILS checks"
row "reprovisioned" "$FIRST acme -> globex"
row "revoked and refused" "$LAST"
row "certificates issued (registry)" \
	"$certs_total ($certs_bootstrap bootstrap, $certs_operational operational)"
row "factory certificates (ztp-ca)" "$MANUFACTURED"
row "CRL entries" "$CRL_ENTRIES"
# Wall time, rate, and the CPU time of the phase's device-side processes
# (the server's is apart).
phase_row() { # LABEL MS CPU_MS
	v="$(secs "$2") s ($(rate "$DEVICES" "$2"),"
	row "time: $1" "$v $(($3 / DEVICES)) ms CPU per device)"
}
phase_row "manufacture" "$MS_MANUFACTURE" "$CPU_MANUFACTURE"
phase_row "first run (provision)" "$MS_PROVISION" "$CPU_PROVISION"
phase_row "claims" "$MS_CLAIM" "$CPU_CLAIM"
phase_row "second run (tenant)" "$MS_TENANT" "$CPU_TENANT"
row "time: total" "$(secs "$TOTAL_MS") s"
if [ -n "$ALL_CPU_MS" ] && [ "$ALL_CPU_MS" -gt 0 ]; then
	row "CPU: all processes" \
		"$(secs "$ALL_CPU_MS") s ($((ALL_CPU_MS / DEVICES)) ms per device)"
fi
if [ -n "$SRV_CPU_MS" ]; then
	row "CPU: reference server" "$(secs "$SRV_CPU_MS") s"
fi

if [ "$FAILS" -ne 0 ]; then
	printf '\n%sFAILED%s: %d check(s) did not pass\n' "$R" "$N" "$FAILS"
	exit 1
fi
printf '\n%sPASSED%s: every step did what it says\n' "$G" "$N"
exit 0
