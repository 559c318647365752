# Hardware-key helpers of the end-to-end tests (sourced after lib.sh,
# POSIX sh): SoftHSM2 tokens and a software TPM (swtpm), each made fresh
# in the test's temporary directory $T and gone with it.
#
# SoftHSM2: `hw_softhsm` points SOFTHSM2_CONF at $T/softhsm2.conf with the
# token directory $T/tokens (the tests never touch the system's);
# `hw_token LABEL` initialises a token with user PIN $HW_PIN in a free
# slot; `hw_p11 ARGS...` runs pkcs11-tool on SoftHSM's module.
#
# TPM: `hw_swtpm` starts swtpm on two ephemeral 127.0.0.1 ports (stopped
# by the EXIT trap through E2E_SERVER_PIDS) and exports the TCTI for
# tpm2-tools (TPM2TOOLS_TCTI) and for the tpm2-openssl provider
# (TPM2OPENSSL_TCTI); `hw_tpm_key HANDLE CURVE` creates an EC signing key
# under the owner's primary key and makes it persistent at HANDLE.

HW_PIN=1234
HW_SO_PIN=123456

hw_softhsm() {
	for m in /usr/lib/softhsm/libsofthsm2.so \
		/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
		/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
		[ -f "$m" ] && { HW_MODULE=$m; break; }
	done
	[ -n "${HW_MODULE:-}" ] || e2e_skip "SoftHSM2 is not installed (softhsm2)"
	command -v softhsm2-util >/dev/null 2>&1 || e2e_skip "no softhsm2-util"
	command -v pkcs11-tool >/dev/null 2>&1 || e2e_skip "no pkcs11-tool (opensc)"
	mkdir -p "$T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T/tokens" > "$T/softhsm2.conf"
	SOFTHSM2_CONF=$T/softhsm2.conf
	export SOFTHSM2_CONF
	printf '%s\n' "$HW_PIN" > "$T/pin.txt"
	chmod 600 "$T/pin.txt"
}

hw_token() {
	softhsm2-util --init-token --free --label "$1" --so-pin "$HW_SO_PIN" \
		--pin "$HW_PIN" > /dev/null || e2e_die "cannot make token $1"
}

hw_p11() {
	pkcs11-tool --module "$HW_MODULE" "$@"
}

# hw_free_port: an unused TCP port on 127.0.0.1 (the kernel's choice).
hw_free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

hw_swtpm() {
	command -v swtpm >/dev/null 2>&1 || e2e_skip "swtpm is not installed"
	command -v tpm2_createprimary >/dev/null 2>&1 || e2e_skip "tpm2-tools is not installed"
	mkdir -p "$T/tpm"
	tries=0
	while :; do
		tries=$((tries + 1))
		# The swtpm TCTI finds the control channel at port + 1.
		port=$(hw_free_port)
		ctrl=$((port + 1))
		swtpm socket --tpm2 --tpmstate dir="$T/tpm" \
			--server type=tcp,port="$port",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port="$ctrl",bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear \
			--log file="$T/tpm/log" > "$T/tpm/out" 2>&1 &
		HW_SWTPM_PID=$!
		E2E_SERVER_PIDS="$E2E_SERVER_PIDS $HW_SWTPM_PID"
		TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
		TPM2OPENSSL_TCTI=$TPM2TOOLS_TCTI
		export TPM2TOOLS_TCTI TPM2OPENSSL_TCTI
		i=0
		while [ $i -lt 50 ]; do
			tpm2_getrandom 4 > /dev/null 2>>"$T/tpm/probe.err" && return 0
			kill -0 "$HW_SWTPM_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		e2e_stop_server "$HW_SWTPM_PID"
		[ $tries -lt 3 ] || { cat "$T/tpm/out" "$T/tpm/log" 2>/dev/null; e2e_die "swtpm did not start"; }
	done
}

# Without a resource manager every tool leaves its objects loaded; the
# TPM has room for three.
hw_tpm_flush() {
	tpm2_flushcontext -t > /dev/null 2>&1 || :
	tpm2_flushcontext -s > /dev/null 2>&1 || :
}

hw_tpm_key() {
	handle=$1
	curve=$2
	tpm2_createprimary -Q -C o -g sha256 -G ecc256 -c "$T/tpm/primary.ctx" ||
		e2e_die "tpm2_createprimary"
	hw_tpm_flush
	tpm2_create -Q -C "$T/tpm/primary.ctx" -G "$curve" -u "$T/tpm/k.pub" \
		-r "$T/tpm/k.priv" \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' ||
		e2e_die "tpm2_create"
	hw_tpm_flush
	tpm2_load -Q -C "$T/tpm/primary.ctx" -u "$T/tpm/k.pub" \
		-r "$T/tpm/k.priv" -c "$T/tpm/k.ctx" || e2e_die "tpm2_load"
	hw_tpm_flush
	tpm2_evictcontrol -Q -C o -c "$T/tpm/k.ctx" "$handle" ||
		e2e_die "tpm2_evictcontrol"
	hw_tpm_flush
	rm -f "$T/tpm/k.priv" "$T/tpm/k.ctx"
}

# hw_token_key TOKEN LABEL [ID]: an EC P-256 key pair generated in TOKEN
# (the private key sensitive and never extractable, as pkcs11-tool makes
# it) with CKA_ID ID (hex, default 01). Give each key of a token its own
# ID: libp11's engine, which hw_token_csr uses, may pair a label's private
# key with another key's public half of the same ID.
hw_token_key() {
	hw_p11 --token-label "$1" --login --pin "$HW_PIN" --keypairgen \
		--key-type EC:prime256v1 --label "$2" --id "${3:-01}" > /dev/null ||
		e2e_die "cannot generate a key in token $1"
}

# hw_token_csr TOKEN LABEL CN OUT: a CSR for subject CN=CN signed in the
# token by the key LABEL, with openssl through libp11's engine (the only
# route Debian 12's openssl has to a PKCS#11 key).
hw_token_csr() {
	printf '%s\n' 'openssl_conf = oc' '[oc]' 'engines = es' '[es]' \
		'pkcs11 = p11' '[p11]' 'engine_id = pkcs11' \
		"MODULE_PATH = $HW_MODULE" 'init = 0' > "$T/engine.cnf"
	OPENSSL_CONF=$T/engine.cnf "$OPENSSL" req -new -engine pkcs11 \
		-keyform engine \
		-key "pkcs11:token=$1;object=$2;type=private;pin-value=$HW_PIN" \
		-subj "/CN=$3" -out "$4" > "$T/engine.log" 2>&1 ||
		{ cat "$T/engine.log"; e2e_die "cannot make a CSR in token $1"; }
}

# hw_token_uri TOKEN: a pkcs11: URI for TOKEN that logs in with the PIN in
# $T/pin.txt and names SoftHSM's module (append object attributes with
# ;NAME=VALUE before the '?' yourself).
hw_token_uri() {
	printf 'pkcs11:token=%s?pin-source=file:%s&module-path=%s' "$1" \
		"$T/pin.txt" "$HW_MODULE"
}

# hw_labels TOKEN TYPE: the labels of the objects of TYPE (privkey,
# pubkey) in TOKEN, sorted, one per line.
hw_labels() {
	hw_p11 --token-label "$1" --login --pin "$HW_PIN" --list-objects \
		--type "$2" 2>/dev/null | sed -n 's/^ *label: *//p' | sort
}
