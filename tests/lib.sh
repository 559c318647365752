# Shared helpers of the shell tests (sourced, POSIX sh).
#
# One meaning of pass and fail: `ok MSG` and `fail MSG` print one
# "ok: MSG" / "FAIL: MSG" line each and count; `check MSG CMD...` runs CMD
# and does either; `checks_done` prints the count and exits 1 if any check
# failed, else 0. `skip MSG` exits 77 (Automake's SKIP), `die MSG` fails
# the test at once (exit 1), `harness_error MSG` reports a broken set-up
# (exit 99, Automake's ERROR).
#
# `test_tmpdir NAME` makes the test's temporary directory $T, removed by
# the EXIT trap (ZTP_TEST_KEEP=1 keeps it); a test that starts processes
# sets TEST_CLEANUP to the name of a function that stops them, run first.
#
# PKI: `mkca PREFIX CN [DAYS]` and `mkleaf PREFIX CA CN SAN EKU [DAYS]`
# make P-256 keys and certificates with the openssl CLI (PREFIX.key,
# PREFIX.pem), openssl's messages going to $T/openssl.log.

OPENSSL=${OPENSSL:-openssl}
TEST_PASSES=0
TEST_FAILS=0
TEST_CLEANUP=

ok() { echo "ok: $*"; TEST_PASSES=$((TEST_PASSES + 1)); }
fail() { echo "FAIL: $*"; TEST_FAILS=$((TEST_FAILS + 1)); }
check() { # check MSG CMD...
	_check_msg=$1
	shift
	if "$@"; then ok "$_check_msg"; else fail "$_check_msg"; fi
}
skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }
harness_error() { echo "ERROR: $*" >&2; exit 99; }
checks_done() {
	if [ "$TEST_FAILS" -ne 0 ]; then
		echo "$TEST_FAILS of $((TEST_PASSES + TEST_FAILS)) check(s) failed"
		exit 1
	fi
	echo "all $TEST_PASSES checks passed"
	exit 0
}

test__cleanup() {
	[ -z "$TEST_CLEANUP" ] || "$TEST_CLEANUP" || :
	if [ "${ZTP_TEST_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}

test_tmpdir() { # test_tmpdir NAME
	T=$(mktemp -d "${TMPDIR:-/tmp}/ztp-$1.XXXXXX") ||
		harness_error "no temporary directory"
	trap test__cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# ------------------------------------------------------------------ PKI

test__ossl() { "$OPENSSL" "$@" 2>>"${T:-.}/openssl.log"; }

# mkca PREFIX CN [DAYS]: a self-signed CA (CA:TRUE, keyCertSign, cRLSign).
mkca() {
	test__ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$1.key" -out "$1.pem" -days "${3:-2}" \
		-subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign ||
		harness_error "mkca $1"
}

# mkleaf PREFIX CA CN SAN EKU [DAYS]: a leaf (CA:FALSE, digitalSignature)
# from CA (the prefix of an mkca), with subjectAltName SAN and
# extendedKeyUsage EKU, and a random serial.
mkleaf() {
	test__ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$3" ||
		harness_error "mkleaf $1"
	printf '[v3]\nsubjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
		"$4" "$5" >"$1.ext"
	test__ossl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
		-days "${6:-2}" -extfile "$1.ext" -extensions v3 \
		-out "$1.pem" || harness_error "mkleaf $1"
}

# ------------------------------------------------------------------ tokens
#
# SoftHSM2 tokens, made fresh under $T and gone with it (the tests never
# touch the system's). `softhsm_init` points SOFTHSM2_CONF at a
# configuration under $T (tokens in $T/tokens) and sets SOFTHSM_MODULE,
# failing the test (not skipping it) when SoftHSM2 is missing;
# `softhsm_token LABEL` makes a token with user PIN $SOFTHSM_PIN (written
# to $T/pin, mode 0600) in a free slot; `p11uri TOKEN OBJECT` prints the
# pkcs11: URI of a key in it on that module, `softhsm_uri TOKEN [OBJECT]`
# the same URI logging in with the PIN in $T/pin. With pkcs11-tool
# (opensc): `softhsm_p11 ARGS...` runs it on the module, `softhsm_keygen`
# makes a key pair in a token, `softhsm_labels` lists its objects;
# `softhsm_csr` has a token key sign a CSR (openssl through libp11's
# engine).

SOFTHSM_PIN=1234

softhsm_init() {
	SOFTHSM_MODULE=${SOFTHSM2_MODULE:-/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so}
	[ -f "$SOFTHSM_MODULE" ] || die "SoftHSM2 module $SOFTHSM_MODULE missing (install softhsm2)"
	command -v softhsm2-util >/dev/null || die "softhsm2-util missing (install softhsm2)"
	mkdir -p "$T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T/tokens" >"$T/softhsm2.conf"
	SOFTHSM2_CONF=$T/softhsm2.conf
	export SOFTHSM2_CONF
	printf '%s\n' "$SOFTHSM_PIN" >"$T/pin"
	chmod 600 "$T/pin"
}

softhsm_token() {
	softhsm2-util --init-token --free --label "$1" --pin "$SOFTHSM_PIN" \
		--so-pin 123456 >/dev/null || harness_error "softhsm_token $1"
}

p11uri() {
	printf 'pkcs11:token=%s;object=%s?module-path=%s' "$1" "$2" "$SOFTHSM_MODULE"
}

softhsm_uri() { # softhsm_uri TOKEN [OBJECT]
	printf 'pkcs11:token=%s%s?pin-source=file:%s&module-path=%s' "$1" \
		"${2:+;object=$2}" "$T/pin" "$SOFTHSM_MODULE"
}

softhsm_p11() {
	command -v pkcs11-tool >/dev/null || die "pkcs11-tool missing (install opensc)"
	pkcs11-tool --module "$SOFTHSM_MODULE" "$@"
}

# softhsm_keygen TOKEN LABEL [ID]: an EC P-256 key pair generated in TOKEN
# (the private key sensitive and never extractable, as pkcs11-tool makes
# it) with CKA_ID ID (hex, default 01). Give each key of a token its own
# ID: libp11's engine, which softhsm_csr uses, may pair a label's private
# key with another key's public half of the same ID.
softhsm_keygen() {
	softhsm_p11 --token-label "$1" --login --pin "$SOFTHSM_PIN" --keypairgen \
		--key-type EC:prime256v1 --label "$2" --id "${3:-01}" >/dev/null ||
		die "cannot generate a key in token $1"
}

# softhsm_csr TOKEN LABEL CN OUT: a CSR for subject CN=CN signed in the
# token by the key LABEL, with openssl through libp11's engine (the only
# route Debian 12's openssl has to a PKCS#11 key).
softhsm_csr() {
	printf '%s\n' 'openssl_conf = oc' '[oc]' 'engines = es' '[es]' \
		'pkcs11 = p11' '[p11]' 'engine_id = pkcs11' \
		"MODULE_PATH = $SOFTHSM_MODULE" 'init = 0' >"$T/engine.cnf"
	OPENSSL_CONF=$T/engine.cnf "$OPENSSL" req -new -engine pkcs11 \
		-keyform engine \
		-key "pkcs11:token=$1;object=$2;type=private;pin-value=$SOFTHSM_PIN" \
		-subj "/CN=$3" -out "$4" >"$T/engine.log" 2>&1 ||
		{ cat "$T/engine.log"; die "cannot make a CSR in token $1"; }
}

# softhsm_labels TOKEN TYPE: the labels of the objects of TYPE (privkey,
# pubkey) in TOKEN, sorted, one per line.
softhsm_labels() {
	softhsm_p11 --token-label "$1" --login --pin "$SOFTHSM_PIN" --list-objects \
		--type "$2" 2>/dev/null | sed -n 's/^ *label: *//p' | sort
}

# softhsm_pubkey TOKEN LABEL: the public key (PEM) of the object LABEL in
# TOKEN on stdout; fails when the token has none.
softhsm_pubkey() {
	rm -f "$T/pub.der"
	softhsm_p11 --token-label "$1" --read-object --type pubkey \
		--label "$2" -o "$T/pub.der" > /dev/null 2>&1 &&
		"$OPENSSL" pkey -pubin -inform DER -in "$T/pub.der" 2>/dev/null
}

# softhsm_cert_key CERT TOKEN LABEL: whether the certificate (PEM file)
# CERT is for the public key of the object LABEL in TOKEN.
softhsm_cert_key() {
	tp=$(softhsm_pubkey "$2" "$3") || return 1
	[ -n "$tp" ] && [ "$tp" = "$("$OPENSSL" x509 -in "$1" -noout -pubkey)" ]
}

# ------------------------------------------------------------------ ports

# free_port: a TCP port of 127.0.0.1 that was free when asked (the
# kernel's choice), for servers that cannot report the port they bound
# for port 0; the caller retries when another process took it in between.
free_port() {
	"${PY:-${PYTHON3:-python3}}" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# A device's current credentials, in either layout a device keeps them
# in: the portable core's (KIND.manifest naming the current slot,
# KIND.SLOT.cert and KIND.SLOT.key, a blob that may end in a NUL byte) or
# ztp_device(3)'s (KIND/current.json, KIND/SLOT/cert.pem and key.pem);
# the one place the tests know where a device keeps them. KIND is
# bootstrap or operational.
# cred_slot STATE_DIR KIND: the current slot (a or b); fails if none.
cred_slot() {
	if [ -f "$1/$2.manifest" ]; then
		cs=$(sed -n 's/^ZTP1 c=\([ab]\) p=[ab-]$/\1/p' "$1/$2.manifest")
	else
		cs=$(sed -n 's/.*"current":"\([ab]\)".*/\1/p' \
			"$1/$2/current.json" 2>/dev/null)
	fi
	[ -n "$cs" ] && echo "$cs"
}
# cred_file STATE_DIR KIND cert|key: the file of the current certificate
# or key (the core's key blob of a key in a token is its reference;
# ztp_device(3) keeps KIND/SLOT/key.ref instead); fails if none.
cred_file() {
	cs=$(cred_slot "$1" "$2") || return 1
	if [ -f "$1/$2.manifest" ]; then
		echo "$1/$2.$cs.$3"
	else
		echo "$1/$2/$cs/$3.pem"
	fi
}
cred_cert() { cred_file "$1" "$2" cert; }
cred_key() { cred_file "$1" "$2" key; }
# cred_copy STATE_DIR KIND DEST: the current certificate to DEST.pem and
# its key to DEST.key (0600, without a blob's NUL); fails if none.
cred_copy() {
	cc=$(cred_cert "$1" "$2") && ck=$(cred_key "$1" "$2") || return 1
	cp "$cc" "$3.pem" || return 1
	(umask 077 && tr -d '\000' < "$ck" > "$3.key")
}
# cred_key_files STATE_DIR KIND: every key file in the kind's slots,
# current or not.
cred_key_files() {
	for k in "$1/$2".[ab].key "$1/$2"/[ab]/key.pem; do
		[ -f "$k" ] && echo "$k"
	done
	true
}
