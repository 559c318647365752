#!/bin/sh
# ztp-ca with its keys in PKCS#11 tokens (SoftHSM2): root, intermediate
# and device CA each in a token of its own, created there with
# --create-key; issue and crl signed by the token and checked with the
# openssl CLI; the key objects inspected with pkcs11-tool (private,
# sensitive, never extractable: reading them out fails); and each refusal
# (wrong PIN, missing object, wrong token, missing module, token removed)
# a one-line error that issues nothing.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
ZCA="$top_builddir/tools/ztp-ca"
test_tmpdir ca-hsm
softhsm_init
for t in root int dev other; do softhsm_token "$t"; done
command -v sqlite3 >/dev/null || die "sqlite3 missing"

ROOT=$(p11uri root root-ca)
INT=$(p11uri int int-ca)
DEV=$(p11uri dev device-ca)
P="--pass-file $T/pin"
STORE="sqlite:$T/reg.db"

# expect_err STATUS CMD...: exit 1 and one stderr line "ztp-ca: STATUS: …".
expect_err() {
	want=$1
	shift
	if "$@" >"$T/out" 2>"$T/err"; then
		fail "$want: $* succeeded"
		return
	fi
	if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^ztp-ca: $want: ." "$T/err"; then
		ok "$want: $(cut -c1-90 "$T/err")"
	else
		fail "$want: stderr $(cat "$T/err")"
	fi
}

certs() { sqlite3 "$T/reg.db" 'SELECT count(*) FROM certs'; }

# ------------------------------------------------------------ the chain
check "init-root in a token" "$ZCA" init-root --cert "$T/root.pem" --key "$ROOT" \
	--create-key --key-type ec-p384 --subject "/O=libztp/CN=HSM Root" $P
check "init-sub root -> intermediate, both in tokens" "$ZCA" init-sub \
	--issuer-cert "$T/root.pem" --issuer-key "$ROOT" --cert "$T/int.pem" \
	--key "$INT" --create-key --key-type rsa-3072 --pathlen 1 \
	--subject "/O=libztp/CN=HSM Intermediate" --store "$STORE" $P
check "init-sub intermediate -> device CA" "$ZCA" init-sub \
	--issuer-cert "$T/int.pem" --issuer-key "$INT" --cert "$T/dev.pem" \
	--key "$DEV" --create-key --pathlen 0 \
	--subject "/O=libztp/CN=HSM Device CA" --store "$STORE" $P
check "no key file was written" test ! -e "$T/root.key"
cat "$T/dev.pem" "$T/int.pem" >"$T/untrusted.pem"
check "the intermediate verifies" "$OPENSSL" verify -CAfile "$T/root.pem" "$T/int.pem"
check "the device CA verifies" "$OPENSSL" verify -CAfile "$T/root.pem" \
	-untrusted "$T/int.pem" "$T/dev.pem"

"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/leaf.key" -out "$T/leaf.csr" -subj /CN=x 2>>"$T/openssl.log"
check "issue signed by the token" "$ZCA" issue --issuer-cert "$T/dev.pem" \
	--issuer-key "$DEV" --csr "$T/leaf.csr" --device-id dev-1 \
	--profile factory --out "$T/leaf.pem" --store "$STORE" $P
check "the device certificate verifies to the root" "$OPENSSL" verify \
	-CAfile "$T/root.pem" -untrusted "$T/untrusted.pem" -purpose sslclient \
	"$T/leaf.pem"
"$OPENSSL" x509 -in "$T/int.pem" -noout -text >"$T/int.txt"
check "the root token signed with ECDSA-SHA384" grep -q ecdsa-with-SHA384 "$T/int.txt"
check "the intermediate's key is RSA-3072" grep -q 'Public-Key: (3072 bit)' "$T/int.txt"
serial=$("$OPENSSL" x509 -in "$T/leaf.pem" -noout -serial | sed 's/^serial=//' | tr A-F a-f | sed 's/^0*//')
check "revoke" "$ZCA" revoke --store "$STORE" --serial "$serial" --reason keyCompromise
check "crl signed by the token" "$ZCA" crl --issuer-cert "$T/dev.pem" \
	--issuer-key "$DEV" --store "$STORE" --out "$T/dev.crl" $P
cat "$T/root.pem" "$T/int.pem" "$T/dev.pem" >"$T/all.pem"
check "the CRL's signature verifies" sh -c \
	"'$OPENSSL' crl -in '$T/dev.crl' -CAfile '$T/all.pem' -noout 2>&1 | grep -q 'verify OK'"
check "the CRL lists the serial" sh -c \
	"'$OPENSSL' crl -in '$T/dev.crl' -noout -text | grep -qi 'Serial Number: $serial'"

# ------------------------------------------------------------ the token
softhsm_p11 --token-label dev --login --pin "$SOFTHSM_PIN" \
	--list-objects --type privkey >"$T/objs" 2>&1 || :
check "the device CA key is in its token" grep -q 'label: *device-ca' "$T/objs"
check "it is sensitive and never extractable" grep -q 'never extractable' "$T/objs"
check "it may sign" grep -q 'Usage:.*sign' "$T/objs"
if softhsm_p11 --token-label dev --login --pin "$SOFTHSM_PIN" \
	--read-object --type privkey --label device-ca -o "$T/stolen.der" >"$T/read.log" 2>&1 &&
	[ -s "$T/stolen.der" ]; then
	fail "the private key was read out of the token"
else
	ok "reading the private key out fails: $(tail -1 "$T/read.log" | cut -c1-80)"
fi

# ------------------------------------------------------------ refusals
n0=$(certs)
issue_with() { # issue_with KEY-URI [ztp-ca options]
	k=$1
	shift
	"$ZCA" issue --issuer-cert "$T/dev.pem" --issuer-key "$k" --csr "$T/leaf.csr" \
		--device-id dev-1 --profile factory --out "$T/refused.pem" \
		--store "$STORE" "$@"
}
printf '9999\n' >"$T/badpin"
expect_err pin_refused issue_with "$DEV" --pass-file "$T/badpin"
expect_err pin_refused issue_with "$DEV"
expect_err not_found issue_with "$(p11uri dev no-such-key)" $P
expect_err token_unavailable issue_with "$(p11uri no-such-token device-ca)" $P
expect_err token_unavailable issue_with \
	"pkcs11:token=dev;object=device-ca?module-path=$T/no-such-module.so" $P
expect_err identity_mismatch issue_with "$(p11uri int int-ca)" $P
expect_err malformed_input issue_with "pkcs11:token=dev;objekt=device-ca" $P
expect_err already_exists "$ZCA" init-root --cert "$T/root2.pem" --key "$ROOT" \
	--create-key --subject /CN=again $P
expect_err invalid_argument "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" \
	--create-key --subject /CN=x
# A token gone: the certificate is not issued.
softhsm2-util --delete-token --token dev >/dev/null
expect_err token_unavailable issue_with "$DEV" $P
check "no refused certificate was written" test ! -e "$T/refused.pem"
check "no refused certificate was recorded" test "$(certs)" = "$n0"

checks_done
