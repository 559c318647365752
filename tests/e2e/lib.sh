# Shared helpers of the end-to-end tests (sourced, POSIX sh).
#
# Every test builds its own PKI and registry in a temporary directory with
# the project's tools (ztp-ca, ztp-verify, ztp-device), starts a reference
# server on 127.0.0.1 with an ephemeral port, and removes everything on
# exit. Servers are always stopped by the EXIT trap, and every wait is
# bounded. Nothing but 127.0.0.1 is ever contacted.

set -eu
: "${top_srcdir:?}" "${top_builddir:?}"

OPENSSL=${OPENSSL:-openssl}
ZTP_CA=$top_builddir/tools/ztp-ca
ZTP_VERIFY=$top_builddir/tools/ztp-verify
ZTP_DEVICE=$top_builddir/tools/ztp-device
ZTP_LIB=$top_builddir/.libs/libztp.so
E2E_DIR=$top_srcdir/tests/e2e

E2E_SERVER_PIDS=
E2E_FAILS=0
# Pass/fail lines and their count, the temporary directory $T and its EXIT
# trap: tests/lib.sh. The servers still running are stopped first.
. "$top_srcdir/tests/lib.sh"
ZTP_TEST_KEEP=${ZTP_E2E_KEEP:-${ZTP_TEST_KEEP:-0}}
e2e_stop_servers() {
	for pid in $E2E_SERVER_PIDS; do
		e2e_stop_pid "$pid"
	done
}
TEST_CLEANUP=e2e_stop_servers
test_tmpdir e2e
# For tests that install an EXIT trap of their own.
e2e_cleanup() { test__cleanup; }

e2e_skip() { skip "$@"; }
e2e_die() { die "$@"; }
e2e_fail() { fail "$@"; E2E_FAILS=$TEST_FAILS; }
e2e_ok() { ok "$@"; }
e2e_done() { checks_done; }

e2e_require_tools() {
	for t in "$@"; do
		[ -x "$t" ] || e2e_die "$t is not built"
	done
	command -v "$OPENSSL" >/dev/null 2>&1 || e2e_die "openssl CLI not found"
}

. "$top_srcdir/bindings/sanitizers.sh"
ztp_san_detect "$ZTP_LIB"

# The interpreter for the Python server and helpers: Debian's python3,
# else the configured one. Sets PY, and PYRUN: the command that runs it
# with libztp loadable (with the sanitizer runtimes preloaded in an
# instrumented build; used unquoted).
e2e_need_python() {
	PY=
	for cand in /usr/bin/python3 "${PYTHON3:-}"; do
		[ -n "$cand" ] && [ -x "$cand" ] && { PY=$cand; break; }
	done
	[ -n "$PY" ] || e2e_skip "no python3"
	case $ZTP_SAN in
	tsan) e2e_skip "ThreadSanitizer build: python cannot load libztp" ;;
	asan) ztp_san_preload "$ZTP_LIB" ||
		e2e_skip "sanitizer runtime is not a shared library" ;;
	esac
	PYRUN=$(ztp_san_command "$PY")
}

# ------------------------------------------------------------------ PKI

# e2e_pki: manufacturer Acme (root + issuing CA), manufacturer Globex (the
# "other manufacturer"), the device CA, the server CA and its TLS server
# certificate for 127.0.0.1, an impostor server certificate, and the
# verifier configuration $T/verify.json (SQLite registry).
e2e_pki() {
	mkdir -p "$T/pki"
	p=$T/pki
	for m in acme globex; do
		"$ZTP_CA" init-root --cert "$p/$m-root.pem" --key "$p/$m-root.key" \
			--subject "/CN=$m Manufacturing Root/O=$m" --days 3650 >/dev/null
		"$ZTP_CA" init-sub --issuer-cert "$p/$m-root.pem" \
			--issuer-key "$p/$m-root.key" --cert "$p/$m-factory.pem" \
			--key "$p/$m-factory.key" --pathlen 0 \
			--subject "/CN=$m Factory CA 1/O=$m" --days 3650 >/dev/null
	done
	"$ZTP_CA" init-root --cert "$p/device-ca.pem" --key "$p/device-ca.key" \
		--subject "/CN=Fleet Device CA/O=Fleet" --days 3650 >/dev/null

	# TLS server certificates, from ztp-ca's server profile: the
	# deployment's certificates need no other tool.
	"$ZTP_CA" init-root --cert "$p/server-ca.pem" --key "$p/server-ca.key" \
		--subject "CN=Fleet Server CA,O=Fleet" --days 3650 >/dev/null
	e2e_server_cert "$p/server-ca.pem" "$p/server-ca.key" server \
		--ip 127.0.0.1 --dns localhost
	# Same name, but under a CA the devices do not pin.
	"$ZTP_CA" init-root --cert "$p/rogue-ca.pem" --key "$p/rogue-ca.key" \
		--subject "CN=Rogue CA" --days 30 >/dev/null
	e2e_server_cert "$p/rogue-ca.pem" "$p/rogue-ca.key" rogue \
		--ip 127.0.0.1 --dns localhost
	# Pinned CA, wrong name.
	e2e_server_cert "$p/server-ca.pem" "$p/server-ca.key" wrongname \
		--dns ztp.example.invalid

	e2e_verify_config "$T/verify.json" \
		'{"device": {"rate": 100, "burst": 100},
		  "global": {"rate": 1000, "burst": 1000}}'
}

# e2e_verify_config FILE [RATE_LIMITS]: a verifier configuration in $T for
# the PKI of e2e_pki and the SQLite registry $T/registry.db, with the JSON
# object RATE_LIMITS as its rate_limits (none: the defaults).
e2e_verify_config() {
	{
		printf '{\n'
		printf '  "trust_anchors": "pki/acme-root.pem",\n'
		printf '  "issuers": "pki/acme-factory.pem",\n'
		printf '  "device_ca": {"cert": "pki/device-ca.pem", "key": "pki/device-ca.key"},\n'
		if [ -n "${2:-}" ]; then
			printf '  "store": "sqlite:registry.db",\n'
			printf '  "rate_limits": %s\n' "$2"
		else
			printf '  "store": "sqlite:registry.db"\n'
		fi
		printf '}\n'
	} > "$1"
}

# e2e_server_cert CA_CERT CA_KEY NAME NAME_OPTION...: $T/pki/NAME.pem (leaf +
# CA) and a fresh NAME.key, a TLS server certificate valid for 30 days
# for the hosts the ztp-ca options (--dns, --ip) name.
e2e_server_cert() {
	p=$T/pki
	ca=$1 cakey=$2 name=$3
	shift 3
	"$ZTP_CA" issue --profile server --issuer-cert "$ca" \
		--issuer-key "$cakey" --new-key "$p/$name.key" "$@" --days 30 \
		--out "$p/$name.leaf.pem" >/dev/null
	cat "$p/$name.leaf.pem" "$ca" > "$p/$name.pem"
}

# e2e_server_ca2: a second server CA (pki/server-ca-2.pem), the server
# identity server2 it issues (127.0.0.1, localhost), and the trust
# bundles of a server-CA rollover: pki/bundle-both.pem (CA 1 and CA 2)
# and pki/bundle-new-only.pem (CA 2).
e2e_server_ca2() {
	"$ZTP_CA" init-root --cert "$T/pki/server-ca-2.pem" \
		--key "$T/pki/server-ca-2.key" \
		--subject "CN=Fleet Server CA 2,O=Fleet" --days 3650 >/dev/null
	e2e_server_cert "$T/pki/server-ca-2.pem" "$T/pki/server-ca-2.key" \
		server2 --ip 127.0.0.1 --dns localhost
	cat "$T/pki/server-ca.pem" "$T/pki/server-ca-2.pem" > "$T/pki/bundle-both.pem"
	cp "$T/pki/server-ca-2.pem" "$T/pki/bundle-new-only.pem"
}

# e2e_device ID [MANUFACTURER]: a factory key and certificate for ID made
# the way a factory would (openssl key and CSR, ztp-ca factory profile),
# and a device configuration $T/dev/ID/device.json. The certificate file
# carries the issuing CA after the leaf, sent as the chain hint.
e2e_device() {
	id=$1
	m=${2:-acme}
	d=$T/dev/$id
	mkdir -p "$d"
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$d/factory.key" 2>/dev/null
	"$OPENSSL" req -new -key "$d/factory.key" -subj "/CN=$id" \
		-out "$d/factory.csr"
	e2e_factory_cert "$id" "$m"
	e2e_device_config "$id" "${E2E_PORT:-1}"
}

# e2e_factory_cert ID [MANUFACTURER]: the factory certificate of device ID
# from its CSR $T/dev/ID/factory.csr (wherever its key is), issued by
# MANUFACTURER's (default acme) factory CA with ztp-ca's factory profile:
# $T/dev/ID/factory.leaf.pem, and factory.pem with the issuing CA after
# the leaf, sent as the chain hint.
e2e_factory_cert() {
	fd=$T/dev/$1
	fm=${2:-acme}
	"$ZTP_CA" issue --issuer-cert "$T/pki/$fm-factory.pem" \
		--issuer-key "$T/pki/$fm-factory.key" --csr "$fd/factory.csr" \
		--device-id "$1" --profile factory \
		--out "$fd/factory.leaf.pem" >/dev/null
	cat "$fd/factory.leaf.pem" "$T/pki/$fm-factory.pem" > "$fd/factory.pem"
}

# e2e_device_config ID PORT [CA_FILE]: (re)write the device configuration.
# Few, fast retries: the tests check behaviour, not patience.
e2e_device_config() {
	d=$T/dev/$1
	cat > "$d/device.json" <<JSON
{
  "device_id": "$1",
  "factory_key": "file:factory.key",
  "factory_cert": "factory.pem",
  "base_url": "https://127.0.0.1:$2",
  "ca_file": "${3:-$T/pki/server-ca.pem}",
  "state_dir": "state",
  "connect_timeout_ms": 5000,
  "timeout_ms": 20000,
  "retry": {"max_attempts": 3, "base_delay_ms": 50, "max_delay_ms": 200,
            "max_retry_after_ms": 5000}
}
JSON
}

# e2e_registration ID: add the registration information `ztp-device run`
# sends to the device configuration.
e2e_registration() {
	e2e_json_edit "$T/dev/$1/device.json" \
		'c["registration"] = {"device_type": "sensor",
		                      "firmware_version": "1.0.0",
		                      "capabilities": ["mqtt"]}'
}

# e2e_json_edit FILE CODE [ARG...]: rewrite the JSON file FILE (a verifier
# or device configuration) by the Python statements CODE, run with the
# document in c and the ARGs in the list args. Needs e2e_need_python.
e2e_json_edit() {
	je_file=$1 je_code=$2
	shift 2
	"$PY" - "$je_file" "$je_code" "$@" <<'PY'
import json, sys
path, code, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
exec(code)
json.dump(c, open(path, "w"))
PY
}

# e2e_expect_refused ID CODE: ztp-device bootstrap of ID is refused (exit
# 1) with a message naming CODE (a grep pattern), and leaves the device no
# credential and the registry no certificate for it.
e2e_expect_refused() {
	rc=0
	e2e_bootstrap "$1" || rc=$?
	if [ "$rc" -ne 1 ]; then
		cat "$T/dev/$1/bootstrap.err"
		e2e_fail "$1: exit $rc, expected 1 (refused)"
	elif ! grep -q "$2" "$T/dev/$1/bootstrap.err"; then
		cat "$T/dev/$1/bootstrap.err"
		e2e_fail "$1: refusal does not name $2"
	else
		e2e_ok "$1: refused with $2"
	fi
	e2e_no_cred "$1"
	n=$(e2e_issued_count "$1")
	[ "$n" = 0 ] || e2e_fail "$1: $n certificates issued"
}

e2e_enroll() {
	"$ZTP_VERIFY" --config "$T/verify.json" enroll --device-id "$1" \
		--factory-cert "$T/dev/$1/factory.leaf.pem" \
		--model "e2e" --batch "b1" > "$T/dev/$1/claim.txt"
}

# ------------------------------------------------------------------ servers

# e2e_need_go_server: build the Go reference server (examples/go/ztp-server)
# with cgo against the library of this build into $E2E_GO_SERVER, or skip
# the test when there is no Go toolchain or the build is instrumented with
# ThreadSanitizer.
e2e_need_go_server() {
	goflags=
	case $ZTP_SAN in
	tsan) e2e_skip "ThreadSanitizer build" ;;
	asan) goflags=-asan ;;
	esac
	command -v go >/dev/null 2>&1 || e2e_skip "no Go toolchain (install golang-go)"
	. "$top_srcdir/bindings/go/goenv.sh"
	ztp_go_env "$T/go"
	E2E_GO_SERVER=$T/ztp-server
	(cd "$top_srcdir/examples/go/ztp-server" && go build $goflags -o "$E2E_GO_SERVER" .) ||
		e2e_die "cannot build the Go server"
	# The Go module cache is read-only by default; make it removable.
	trap 'chmod -R u+w "$T/go" 2>/dev/null; e2e_cleanup' EXIT
}

# e2e_start_server KIND NAME [ARGS...]: start the reference server KIND
# (python or go, or the path of a Python test server script) with TLS
# identity $T/pki/NAME.{pem,key}; sets E2E_PORT and E2E_PID. Waits at most
# 60 s for it to listen.
e2e_start_server() {
	kind=$1
	name=$2
	shift 2
	# E2E_LOG_TAG tells apart the logs of several servers of one name.
	out=$T/server-$name${E2E_LOG_TAG:+-$E2E_LOG_TAG}-$$.out
	err=$T/server-$name${E2E_LOG_TAG:+-$E2E_LOG_TAG}-$$.err
	# Empty the logs here, not only in the background child's redirection:
	# a server of the same name started earlier left its "listening on"
	# line there, and the loop below could read that old port before the
	# child has truncated the file.
	: > "$out"
	: > "$err"
	case $kind in
	python)
		ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
			$PYRUN "$top_srcdir/examples/python/ztp_server.py" \
			--config "$T/verify.json" --listen 127.0.0.1:0 \
			--tls-cert "$T/pki/$name.pem" --tls-key "$T/pki/$name.key" \
			"$@" > "$out" 2> "$err" &
		;;
	go)
		"$E2E_GO_SERVER" --config "$T/verify.json" \
			--listen 127.0.0.1:0 --tls-cert "$T/pki/$name.pem" \
			--tls-key "$T/pki/$name.key" "$@" > "$out" 2> "$err" &
		;;
	*)
		# A Python test server of its own; TLS identity added.
		ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
			$PYRUN "$kind" "$@" --tls-cert "$T/pki/$name.pem" \
			--tls-key "$T/pki/$name.key" > "$out" 2> "$err" &
		;;
	esac
	E2E_PID=$!
	E2E_SERVER_PIDS="$E2E_SERVER_PIDS $E2E_PID"
	i=0
	E2E_PORT=
	while [ $i -lt 600 ]; do
		E2E_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
			"$out" 2>/dev/null | head -n 1)
		[ -n "$E2E_PORT" ] && break
		if ! kill -0 "$E2E_PID" 2>/dev/null; then
			cat "$err"
			e2e_die "$kind server exited before listening"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$E2E_PORT" ] || { cat "$err"; e2e_die "$kind server did not start"; }
}

e2e_stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

e2e_stop_server() {
	e2e_stop_pid "$1"
	rest=
	for pid in $E2E_SERVER_PIDS; do
		[ "$pid" = "$1" ] || rest="$rest $pid"
	done
	E2E_SERVER_PIDS=$rest
}

# ------------------------------------------------------------------ device

# e2e_bootstrap ID: run ztp-device bootstrap; returns its exit status.
# Its output is kept in $T/dev/ID/bootstrap.{out,err}.
e2e_bootstrap() {
	d=$T/dev/$1
	rc=0
	"$ZTP_DEVICE" --config "$d/device.json" --verbose bootstrap \
		> "$d/bootstrap.out" 2> "$d/bootstrap.err" || rc=$?
	return $rc
}

# e2e_current_cert ID: the certificate file of the device's
# current bootstrap credential (cred_cert in tests/lib.sh);
# fail when it has none.
e2e_current_cert() { cred_cert "$T/dev/$1/state" bootstrap; }

# e2e_cred_ok ID KIND MIN_S [MAX_S]: the device's current KIND credential
# chains to the device CA (for TLS clients), names the device (CN and SAN
# URI), is valid for MIN_S seconds more (and, with MAX_S, not for MAX_S),
# carries the key of its slot, and the key file is private (0600).
e2e_cred_ok() {
	cert=$(cred_cert "$T/dev/$1/state" "$2") &&
		key=$(cred_key "$T/dev/$1/state" "$2") ||
		{ e2e_fail "$1: no current $2 credential"; return 0; }
	if ! "$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" \
		-purpose sslclient "$cert" >/dev/null 2>&1; then
		e2e_fail "$1: $2 certificate does not chain to the device CA"
		return 0
	fi
	subj=$("$OPENSSL" x509 -in "$cert" -noout -subject -nameopt compat)
	[ "$subj" = "subject=/CN=$1" ] || e2e_fail "$1: $2 subject is '$subj'"
	"$OPENSSL" x509 -in "$cert" -noout -ext subjectAltName |
		grep -q "URI:urn:ztp:device:$1\$" ||
		e2e_fail "$1: $2 certificate has no SAN URI urn:ztp:device:$1"
	"$OPENSSL" x509 -in "$cert" -noout -checkend "$3" >/dev/null ||
		e2e_fail "$1: $2 certificate expires too soon"
	if [ -n "${4:-}" ] &&
		"$OPENSSL" x509 -in "$cert" -noout -checkend "$4" >/dev/null; then
		e2e_fail "$1: $2 certificate valid for $4 s or more"
	fi
	kp=$(tr -d '\000' < "$key" | "$OPENSSL" pkey -pubout 2>/dev/null)
	cp=$("$OPENSSL" x509 -in "$cert" -noout -pubkey)
	[ -n "$kp" ] && [ "$kp" = "$cp" ] || e2e_fail "$1: $2 key does not match its certificate"
	mode=$(stat -c %a "$key")
	[ "$mode" = 600 ] || e2e_fail "$1: $2 key mode $mode"
	e2e_ok "$1: $2 certificate verified"
}

# e2e_check_cred ID: the bootstrap credential, which lasts 24 h: valid
# now and for 23 h 55 min more, but not for 24 h and a minute.
e2e_check_cred() { e2e_cred_ok "$1" bootstrap 86100 86460; }

# e2e_no_cred ID: the device holds no current bootstrap credential.
e2e_no_cred() {
	d=$T/dev/$1
	if e2e_current_cert "$1" >/dev/null 2>&1; then
		e2e_fail "$1: has a bootstrap credential but should not"
	fi
}

# e2e_issued_count ID: bootstrap certificates the registry recorded for ID
# (read through the Python binding, i.e. the public store API).
e2e_issued_count() {
	ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH=$top_srcdir/bindings/python $PYRUN - "$T/registry.db" "$1" <<'PY'
import sys
import ztp
with ztp.Store("sqlite:" + sys.argv[1]) as s:
    try:
        certs = s.device_certs(sys.argv[2])
    except ztp.ZtpError as e:
        if e.code != ztp.Status.ENOTFOUND:
            raise
        certs = []
print(sum(1 for c in certs if c["profile"] == "bootstrap"))
PY
}

# e2e_audit_verify CONFIG WANT_KIND WANT_SEQ LABEL [ARGS...]: run
# `ztp-verify --config CONFIG audit verify ARGS`; pass when it reports
# problem WANT_KIND at WANT_SEQ (exit 7), or with WANT_KIND "ok" and
# WANT_SEQ "EVENTS/LAST_CHECKPOINT/UNSIGNED" an intact log (exit 0).
# Needs e2e_need_python.
e2e_audit_verify() {
	cfg=$1 kind=$2 seq=$3 label=$4
	shift 4
	rc=0
	"$ZTP_VERIFY" --config "$cfg" audit verify "$@" > "$T/report.json" \
		2> "$T/report.err" || rc=$?
	got=$("$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
p = r.get("problem")
print("%s %s" % (p["kind"], p["seq"]) if p else "ok %d/%d/%d" % (
    r["events"], r["last_checkpoint"], r["unsigned_events"]))' "$T/report.json" 2>/dev/null)
	want="$kind $seq"
	want_rc=7
	[ "$kind" = ok ] && want_rc=0
	if [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ]; then
		e2e_ok "$label: $got (exit $rc)"
	else
		e2e_fail "$label: want '$want', got '$got' (exit $rc): $(cat "$T/report.json" "$T/report.err")"
	fi
}

# ------------------------------------------------------------------ hardware keys
#
# SoftHSM2 tokens: softhsm_* in tests/lib.sh. A software TPM 2.0:
# `e2e_swtpm` starts swtpm on two ephemeral 127.0.0.1 ports (stopped by
# the EXIT trap through E2E_SERVER_PIDS; its pid in E2E_SWTPM_PID) and
# exports the TCTI for tpm2-tools (TPM2TOOLS_TCTI) and for the
# tpm2-openssl provider (TPM2OPENSSL_TCTI); `e2e_tpm_key HANDLE CURVE`
# creates an EC signing key under the owner's primary key and makes it
# persistent at HANDLE.

e2e_swtpm() {
	command -v swtpm >/dev/null 2>&1 || e2e_skip "swtpm is not installed"
	command -v tpm2_createprimary >/dev/null 2>&1 || e2e_skip "tpm2-tools is not installed"
	mkdir -p "$T/tpm"
	tries=0
	while :; do
		tries=$((tries + 1))
		# The swtpm TCTI finds the control channel at port + 1.
		port=$(free_port)
		ctrl=$((port + 1))
		swtpm socket --tpm2 --tpmstate dir="$T/tpm" \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port="$ctrl",bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear \
			--log file="$T/tpm/log" > "$T/tpm/out" 2>&1 &
		E2E_SWTPM_PID=$!
		E2E_SERVER_PIDS="$E2E_SERVER_PIDS $E2E_SWTPM_PID"
		TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
		TPM2OPENSSL_TCTI=$TPM2TOOLS_TCTI
		export TPM2TOOLS_TCTI TPM2OPENSSL_TCTI
		i=0
		while [ $i -lt 50 ]; do
			tpm2_getrandom 4 > /dev/null 2>>"$T/tpm/probe.err" && return 0
			kill -0 "$E2E_SWTPM_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		e2e_stop_server "$E2E_SWTPM_PID"
		[ $tries -lt 3 ] || { cat "$T/tpm/out" "$T/tpm/log" 2>/dev/null; e2e_die "swtpm did not start"; }
	done
}

# Without a resource manager every tool leaves its objects loaded; the
# TPM has room for three.
e2e__tpm_flush() {
	tpm2_flushcontext -t > /dev/null 2>&1 || :
	tpm2_flushcontext -s > /dev/null 2>&1 || :
}

e2e_tpm_key() {
	handle=$1
	curve=$2
	tpm2_createprimary -Q -C o -g sha256 -G ecc256 -c "$T/tpm/primary.ctx" ||
		e2e_die "tpm2_createprimary"
	e2e__tpm_flush
	tpm2_create -Q -C "$T/tpm/primary.ctx" -G "$curve" -u "$T/tpm/k.pub" \
		-r "$T/tpm/k.priv" \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' ||
		e2e_die "tpm2_create"
	e2e__tpm_flush
	tpm2_load -Q -C "$T/tpm/primary.ctx" -u "$T/tpm/k.pub" \
		-r "$T/tpm/k.priv" -c "$T/tpm/k.ctx" || e2e_die "tpm2_load"
	e2e__tpm_flush
	tpm2_evictcontrol -Q -C o -c "$T/tpm/k.ctx" "$handle" ||
		e2e_die "tpm2_evictcontrol"
	e2e__tpm_flush
	rm -f "$T/tpm/k.priv" "$T/tpm/k.ctx"
}

# e2e_key_device_config DIR FACTORY_KEY [TOKEN_URI LABEL]: DIR/device.json
# of a device whose factory key is the key source FACTORY_KEY (a pkcs11:
# or tpm2: URI), its factory certificate DIR/factory.pem, against the
# server on $E2E_PORT, with registration information and few, fast
# retries; with TOKEN_URI, its generated keys in that token under LABEL.
e2e_key_device_config() {
	ops=
	[ -z "${3:-}" ] || ops=",
  \"operational_key\": {\"token\": \"$3\", \"label\": \"$4\"}"
	cat > "$1/device.json" <<JSON
{
  "factory_key": "$2",
  "factory_cert": "factory.pem",
  "base_url": "https://127.0.0.1:$E2E_PORT",
  "ca_file": "$T/pki/server-ca.pem",
  "state_dir": "state",
  "retry": {"max_attempts": 2, "base_delay_ms": 50, "max_delay_ms": 100},
  "registration": {"device_type": "sensor", "firmware_version": "1.0.0"}$ops
}
JSON
}
