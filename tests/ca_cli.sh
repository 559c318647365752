#!/bin/sh
# ztp-ca end to end: every subcommand as ztp-ca(1) writes it, checked with
# the openssl command-line tool; failures print exactly one line
# "ztp-ca: <status_name>: <message>" and exit non-zero.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
PYTHON3=${PYTHON3:-python3}
ZCA="$top_builddir/tools/ztp-ca"
test_tmpdir ca-cli

# expect_err STATUS EXIT CMD...: CMD fails with exit EXIT and one stderr
# line starting "ztp-ca: STATUS: ".
expect_err() {
	want=$1 code=$2
	shift 2
	set +e
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	set -e
	[ "$rc" -eq "$code" ] || die "$* exited $rc, want $code: $(cat "$T/err")"
	[ "$(wc -l < "$T/err")" -eq 1 ] || die "$*: stderr is not one line: $(cat "$T/err")"
	grep -q "^ztp-ca: $want: ." "$T/err" || die "$*: stderr: $(cat "$T/err"), want ztp-ca: $want: ..."
	ok "$want: $*"
}

mode_of() { stat -c %a "$1"; }

# ------------------------------------------------------------ help, version
"$ZCA" --version | grep -q '^ztp-ca (libztp) [0-9]' || die "--version"
"$ZCA" --help | grep -q 'ztp-ca init-root' || die "--help"
"$ZCA" issue --help | grep -q 'ztp-ca issue' || die "issue --help"
ok "help, version"
expect_err invalid_argument 2 "$ZCA"
expect_err invalid_argument 2 "$ZCA" frobnicate
expect_err invalid_argument 2 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key"
expect_err invalid_argument 2 "$ZCA" init-root --bogus
expect_err invalid_argument 2 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject /CN=x --days 0
expect_err invalid_argument 2 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject /CN=x --days 12x
expect_err invalid_argument 2 "$ZCA" revoke --store memory: --serial 01 --pathlen 1

# ------------------------------------------------------------ init-root
"$ZCA" init-root --cert "$T/root.pem" --key "$T/root.key" \
	--subject "/CN=CLI Root/O=libztp" --key-type ec-p384 --days 3650
[ "$(mode_of "$T/root.key")" = 600 ] || die "root key mode $(mode_of "$T/root.key")"
"$OPENSSL" verify -CAfile "$T/root.pem" "$T/root.pem" > /dev/null || die "root does not verify"
"$OPENSSL" x509 -in "$T/root.pem" -noout -text > "$T/root.txt"
grep -q 'CA:TRUE' "$T/root.txt" || die "root: no CA:TRUE"
grep -A1 'Basic Constraints: critical' "$T/root.txt" | grep -q 'CA:TRUE$' || die "root: pathlen present"
grep -A1 'Key Usage: critical' "$T/root.txt" | grep -q 'Certificate Sign, CRL Sign$' || die "root: key usage"
grep -q 'ecdsa-with-SHA384' "$T/root.txt" || die "root: signature algorithm"
"$OPENSSL" x509 -in "$T/root.pem" -noout -subject | grep -q 'CN = CLI Root, O = libztp' || die "root subject"
ok "init-root"
# Never replaces an existing CA key.
cp "$T/root.key" "$T/root.key.orig"
expect_err already_exists 1 "$ZCA" init-root --cert "$T/other.pem" --key "$T/root.key" --subject /CN=x
cmp -s "$T/root.key" "$T/root.key.orig" || die "root key replaced"
[ ! -e "$T/other.pem" ] || die "certificate written although the key was refused"
expect_err invalid_argument 1 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject "CN=x, O=y"
grep -q 'no spaces around' "$T/err" || die "RFC 4514 space: $(cat "$T/err")"
expect_err invalid_argument 1 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject "CN=#4142"
grep -q '#hex BER' "$T/err" || die "RFC 4514 #hex: $(cat "$T/err")"
expect_err invalid_argument 1 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject 'CN=a\'
expect_err invalid_argument 1 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject 'CN=\FF'
grep -q 'invalid UTF-8' "$T/err" || die "RFC 4514 UTF-8: $(cat "$T/err")"
expect_err key_policy 1 "$ZCA" init-root --cert "$T/x.pem" --key "$T/x.key" --subject /CN=x --key-type rsa-1024
[ ! -e "$T/x.key" ] || die "key written after a failure"

# ------------------------------------------------------------ RFC 4514 subjects
# What openssl prints with -nameopt RFC2253 is accepted back and names the
# same DN: the same text, and the same attributes with the same string
# types and bytes (dump_der) in the same RDNs.
subject_of() { "$OPENSSL" x509 -in "$1" -noout -subject -nameopt "$2" | sed 's/^subject=//'; }
"$ZCA" init-root --cert "$T/s1.pem" --key "$T/s1.key" \
	--subject "/C=DE/O=Acme, Inc./OU=PKI/CN=#1 Caf$(printf '\303\251') Root " --days 30
rfc=$(subject_of "$T/s1.pem" RFC2253)
[ "$rfc" = 'CN=\#1 Caf\C3\A9 Root\ ,OU=PKI,O=Acme\, Inc.,C=DE' ] || die "openssl prints \"$rfc\""
"$ZCA" init-root --cert "$T/s2.pem" --key "$T/s2.key" --subject "$rfc" --days 30
[ "$(subject_of "$T/s2.pem" RFC2253)" = "$rfc" ] || die "RFC 4514 subject: $(subject_of "$T/s2.pem" RFC2253)"
[ "$(subject_of "$T/s1.pem" RFC2253,dump_all,dump_der)" = "$(subject_of "$T/s2.pem" RFC2253,dump_all,dump_der)" ] ||
	die "RFC 4514 and slash subjects differ in DER"
# A multi-valued RDN and hex escapes survive the same round trip.
"$ZCA" init-root --cert "$T/s3.pem" --key "$T/s3.key" \
	--subject 'cn=Fleet\20Root+ou=Ops,o=Acme\3b Co,dc=example,dc=com' --days 30
rfc=$(subject_of "$T/s3.pem" RFC2253)
echo "$rfc" | grep -q '^CN=Fleet Root+OU=Ops,O=Acme\\; Co,DC=example,DC=com$\|^OU=Ops+CN=Fleet Root,O=Acme\\; Co,DC=example,DC=com$' ||
	die "multi-valued subject printed as \"$rfc\""
"$ZCA" init-root --cert "$T/s4.pem" --key "$T/s4.key" --subject "$rfc" --days 30
[ "$(subject_of "$T/s3.pem" RFC2253,dump_all,dump_der)" = "$(subject_of "$T/s4.pem" RFC2253,dump_all,dump_der)" ] ||
	die "multi-valued subject does not round-trip"
ok "a multi-valued RDN and hex escapes round-trip"

# ------------------------------------------------------------ init-sub
"$ZCA" init-sub --issuer-cert "$T/root.pem" --issuer-key "$T/root.key" \
	--cert "$T/int.pem" --key "$T/int.key" --subject "/CN=CLI Intermediate" \
	--pathlen 1 --key-type ed25519 --days 1000
# Encrypt the intermediate's key: later commands need a passphrase.
printf 'correct horse\n' > "$T/pass"
"$OPENSSL" pkcs8 -topk8 -v2 aes-256-cbc -in "$T/int.key" -out "$T/int.enc" \
	-passout file:"$T/pass"
"$ZCA" init-sub --issuer-cert "$T/int.pem" --issuer-key "$T/int.enc" \
	--pass-file "$T/pass" --cert "$T/iss.pem" --key "$T/iss.key" \
	--subject "/CN=CLI Issuing/O=libztp" --pathlen 0 --store "sqlite:$T/reg.db"
[ "$(mode_of "$T/iss.key")" = 600 ] || die "issuing key mode"
cat "$T/iss.pem" "$T/int.pem" > "$T/untrusted.pem"
"$OPENSSL" verify -CAfile "$T/root.pem" -untrusted "$T/int.pem" "$T/iss.pem" > /dev/null || die "issuing CA does not verify"
"$OPENSSL" x509 -in "$T/iss.pem" -noout -text | grep -A1 'Basic Constraints: critical' | grep -q 'pathlen:0' || die "issuing pathlen"
"$OPENSSL" x509 -in "$T/int.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384' || die "intermediate signed by P-384 root"
ok "init-sub, an intermediate and an issuing CA"
ZTP_TEST_PASS='correct horse' ; export ZTP_TEST_PASS
expect_err crypto_error 1 env ZTP_TEST_PASS=wrong "$ZCA" init-sub --issuer-cert "$T/int.pem" \
	--issuer-key "$T/int.enc" --pass-env ZTP_TEST_PASS --cert "$T/y.pem" --key "$T/y.key" --subject /CN=y
expect_err invalid_argument 1 "$ZCA" init-sub --issuer-cert "$T/int.pem" --issuer-key "$T/int.enc" \
	--cert "$T/y.pem" --key "$T/y.key" --subject /CN=y
expect_err bad_profile 1 "$ZCA" init-sub --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--cert "$T/y.pem" --key "$T/y.key" --subject /CN=y --pathlen 0
expect_err identity_mismatch 1 "$ZCA" init-sub --issuer-cert "$T/iss.pem" --issuer-key "$T/root.key" \
	--cert "$T/y.pem" --key "$T/y.key" --subject /CN=y
expect_err not_found 1 "$ZCA" init-sub --issuer-cert "$T/none.pem" --issuer-key "$T/root.key" \
	--cert "$T/y.pem" --key "$T/y.key" --subject /CN=y
"$ZCA" init-sub --issuer-cert "$T/int.pem" --issuer-key "$T/int.enc" --pass-env ZTP_TEST_PASS \
	--cert "$T/iss2.pem" --key "$T/iss2.key" --subject /CN=Second --pathlen 0
ok "an encrypted intermediate key with a passphrase"

# ------------------------------------------------------------ issue
# The CSR asks for names of its own; none of them may appear.
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/dev.key" -subj "/CN=evil" \
	-addext "subjectAltName=URI:urn:ztp:tenant:evil" -out "$T/dev.csr" 2> /dev/null
serial=$("$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id dev-0001 --profile factory \
	--out "$T/factory.pem" --store "sqlite:$T/reg.db")
echo "$serial" | grep -Eq '^[4-7][0-9a-f]{33}$' || die "serial \"$serial\""
"$OPENSSL" verify -CAfile "$T/root.pem" -untrusted "$T/untrusted.pem" \
	-purpose sslclient "$T/factory.pem" > /dev/null || die "factory certificate does not verify"
"$OPENSSL" x509 -in "$T/factory.pem" -noout -text > "$T/f.txt"
grep -q 'Subject: CN = dev-0001$' "$T/f.txt" || die "factory subject"
grep -q 'URI:urn:ztp:device:dev-0001$' "$T/f.txt" || die "factory SAN"
! grep -q evil "$T/f.txt" || die "CSR names copied"
grep -A1 'Basic Constraints: critical' "$T/f.txt" | grep -q 'CA:FALSE' || die "leaf basic constraints"
grep -A1 'Key Usage: critical' "$T/f.txt" | grep -q 'Digital Signature$' || die "leaf key usage"
grep -A1 'Extended Key Usage' "$T/f.txt" | grep -q 'TLS Web Client Authentication$' || die "leaf EKU"
[ "$("$OPENSSL" x509 -in "$T/factory.pem" -noout -serial | tr 'A-F' 'a-f')" = "serial=$serial" ] || die "printed serial differs"
ok "issue: a factory certificate"

# Operational, no store (throwaway registry), with a tenant and --days.
"$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id dev-0001 --tenant acme --days 30 \
	--out "$T/op.pem" > /dev/null
"$OPENSSL" verify -CAfile "$T/root.pem" -untrusted "$T/untrusted.pem" "$T/op.pem" > /dev/null || die "operational does not verify"
"$OPENSSL" x509 -in "$T/op.pem" -noout -text | grep -q 'URI:urn:ztp:device:dev-0001, URI:urn:ztp:tenant:acme$' || die "operational SAN"
"$OPENSSL" x509 -in "$T/op.pem" -noout -checkend $((29 * 86400)) > /dev/null || die "operational too short"
! "$OPENSSL" x509 -in "$T/op.pem" -noout -checkend $((30 * 86400 + 60)) > /dev/null || die "operational too long"
# Bootstrap with --hours; RSA keys also get keyEncipherment.
"$OPENSSL" req -new -newkey rsa:2048 -nodes -keyout "$T/rsa.key" -subj /CN=x -out "$T/rsa.csr" 2> /dev/null
"$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" --csr "$T/rsa.csr" \
	--device-id dev-0002 --profile bootstrap --hours 2 --out "$T/boot.pem" > /dev/null
"$OPENSSL" x509 -in "$T/boot.pem" -noout -checkend 7260 > /dev/null && die "bootstrap too long"
"$OPENSSL" x509 -in "$T/boot.pem" -noout -text | grep -A1 'Key Usage: critical' | grep -q 'Digital Signature, Key Encipherment$' || die "RSA key usage"
ok "issue: bootstrap with --hours"
expect_err invalid_argument 1 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id dev-0001 --profile bootstrap --hours 25 --out "$T/z.pem"
expect_err invalid_argument 2 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id dev-0001 --days 1 --hours 1 --out "$T/z.pem"
expect_err invalid_argument 1 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id "dev/1" --out "$T/z.pem"
expect_err not_found 1 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id unknown --profile operational --out "$T/z.pem" --store "sqlite:$T/reg.db"
"$OPENSSL" req -new -newkey rsa:1024 -nodes -keyout "$T/weak.key" -subj /CN=x -out "$T/weak.csr" 2> /dev/null
expect_err key_policy 1 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/weak.csr" --device-id dev-0001 --profile factory --out "$T/z.pem"
expect_err key_policy 1 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--key-policy ec-p384 --csr "$T/dev.csr" --device-id dev-0001 --profile factory --out "$T/z.pem"
# A CSR whose signature is broken: flip one byte of the signature's DER.
"$OPENSSL" req -in "$T/dev.csr" -outform DER -out "$T/dev.der"
"$PYTHON3" -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[-3]^=1; open(sys.argv[2],"wb").write(d)' \
	"$T/dev.der" "$T/bad.der"
"$OPENSSL" req -inform DER -in "$T/bad.der" -out "$T/bad.csr"
expect_err bad_signature 1 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/bad.csr" --device-id dev-0001 --profile factory --out "$T/z.pem"
[ ! -e "$T/z.pem" ] || die "output written after a refusal"

# ------------------------------------------------------------ issue --profile server
# The CSR asks for a name, CA:TRUE and clientAuth of its own: none of it
# may appear.
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/srv.key" -subj "/CN=evil.example" \
	-addext "subjectAltName=DNS:evil.example,IP:192.0.2.66" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "extendedKeyUsage=clientAuth" -out "$T/srv.csr" 2> /dev/null
sserial=$("$ZCA" issue --profile server --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/srv.csr" --dns Verifier.Example --dns localhost --ip 127.0.0.1 --ip ::1 \
	--out "$T/srv.pem" --store "sqlite:$T/srv.db")
echo "$sserial" | grep -Eq '^[4-7][0-9a-f]{33}$' || die "server serial \"$sserial\""
"$OPENSSL" verify -CAfile "$T/root.pem" -untrusted "$T/untrusted.pem" \
	-purpose sslserver "$T/srv.pem" > /dev/null || die "server certificate does not verify for sslserver"
! "$OPENSSL" verify -CAfile "$T/root.pem" -untrusted "$T/untrusted.pem" \
	-purpose sslclient "$T/srv.pem" > /dev/null 2>&1 || die "server certificate verifies for sslclient"
"$OPENSSL" x509 -in "$T/srv.pem" -noout -text > "$T/s.txt"
grep -q 'Subject: CN = verifier.example$' "$T/s.txt" || die "server subject"
grep -A1 'Subject Alternative Name' "$T/s.txt" | grep -q 'DNS:verifier.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1$' ||
	die "server SAN: $(grep -A1 'Subject Alternative Name' "$T/s.txt")"
! grep -q 'evil\|192.0.2.66' "$T/s.txt" || die "CSR names copied"
grep -A1 'Basic Constraints: critical' "$T/s.txt" | grep -q 'CA:FALSE' || die "server basic constraints"
grep -A1 'Key Usage: critical' "$T/s.txt" | grep -q 'Digital Signature$' || die "server key usage"
grep -A1 'Extended Key Usage' "$T/s.txt" | grep -q 'TLS Web Server Authentication$' || die "server EKU"
# 90 days by default.
"$OPENSSL" x509 -in "$T/srv.pem" -noout -checkend $((89 * 86400)) > /dev/null || die "server certificate too short"
! "$OPENSSL" x509 -in "$T/srv.pem" -noout -checkend $((90 * 86400 + 60)) > /dev/null || die "server certificate too long"
ok "issue: a server certificate, 90 days by default"

# A fresh key made by ztp-ca (no openssl at all), RSA: keyEncipherment too.
"$ZCA" issue --profile server --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--new-key "$T/srv2.key" --key-type rsa-2048 --dns localhost --ip 127.0.0.1 \
	--days 398 --out "$T/srv2.pem" > /dev/null
[ "$(mode_of "$T/srv2.key")" = 600 ] || die "server key mode $(mode_of "$T/srv2.key")"
[ "$("$OPENSSL" pkey -in "$T/srv2.key" -pubout)" = "$("$OPENSSL" x509 -in "$T/srv2.pem" -noout -pubkey)" ] ||
	die "server key does not match its certificate"
"$OPENSSL" x509 -in "$T/srv2.pem" -noout -text | grep -A1 'Key Usage: critical' | grep -q 'Digital Signature, Key Encipherment$' ||
	die "RSA server key usage"
"$OPENSSL" x509 -in "$T/srv2.pem" -noout -checkend $((397 * 86400)) > /dev/null || die "398 days not granted"
"$OPENSSL" verify -CAfile "$T/root.pem" -untrusted "$T/untrusted.pem" \
	-purpose sslserver "$T/srv2.pem" > /dev/null || die "fresh-key server certificate does not verify"
ok "issue: a server certificate with a fresh key"

# Real TLS on 127.0.0.1: Python's ssl client, trusting only the root and
# checking the host name, accepts the names given and nothing else.
cat "$T/srv.pem" "$T/iss.pem" "$T/int.pem" > "$T/srv.chain.pem"
"$PYTHON3" "$top_srcdir/tests/server_cert_tls.py" "$T/srv.chain.pem" "$T/srv.key" \
	"$T/root.pem" verifier.example localhost 127.0.0.1 ::1 \
	'!evil.example' '!192.0.2.66' '!127.0.0.2' '!www.verifier.example' > "$T/tls.out" 2>&1 ||
	die "TLS with the server certificate: $(cat "$T/tls.out")"
ok "TLS with the server certificate"

# Recorded, so revocable like any other certificate.
"$ZCA" revoke --store "sqlite:$T/srv.db" --serial "$sserial" --reason superseded
"$ZCA" crl --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" --store "sqlite:$T/srv.db" --out "$T/srv.crl"
"$OPENSSL" crl -in "$T/srv.crl" -noout -text | grep -q "Serial Number: $(echo "$sserial" | tr 'a-f' 'A-F')$" ||
	die "revoked server certificate not in the CRL"
ok "a server certificate is recorded and revocable"

# Refusals, and nothing written.
S="--profile server --issuer-cert $T/iss.pem --issuer-key $T/iss.key"
expect_err invalid_argument 2 "$ZCA" issue $S --csr "$T/srv.csr" --out "$T/z.pem"
grep -q 'at least one --dns or --ip' "$T/err" || die "no names: $(cat "$T/err")"
expect_err invalid_argument 2 "$ZCA" issue $S --dns a.example --out "$T/z.pem"
expect_err invalid_argument 2 "$ZCA" issue $S --csr "$T/srv.csr" --new-key "$T/z.key" --dns a.example --out "$T/z.pem"
expect_err invalid_argument 2 "$ZCA" issue $S --csr "$T/srv.csr" --key-type ec-p384 --dns a.example --out "$T/z.pem"
expect_err invalid_argument 2 "$ZCA" issue $S --csr "$T/srv.csr" --device-id dev-0001 --dns a.example --out "$T/z.pem"
expect_err invalid_argument 2 "$ZCA" issue --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/dev.csr" --device-id dev-0001 --dns a.example --out "$T/z.pem"
expect_err invalid_argument 1 "$ZCA" issue $S --csr "$T/srv.csr" --dns a.example --days 399 --out "$T/z.pem"
grep -q 'at most 398 days' "$T/err" || die "399 days: $(cat "$T/err")"
expect_err invalid_argument 1 "$ZCA" issue $S --csr "$T/srv.csr" --dns '*.example.com' --out "$T/z.pem"
grep -q 'wildcard' "$T/err" || die "wildcard: $(cat "$T/err")"
expect_err invalid_argument 1 "$ZCA" issue $S --csr "$T/srv.csr" --dns 'a"b' --out "$T/z.pem"
expect_err invalid_argument 1 "$ZCA" issue $S --csr "$T/srv.csr" --ip 127.0.0.1 --ip 127.0.0.1 --out "$T/z.pem"
grep -q 'given twice' "$T/err" || die "duplicate: $(cat "$T/err")"
expect_err invalid_argument 1 "$ZCA" issue $S --csr "$T/srv.csr" --ip fe80::1%lo --out "$T/z.pem"
expect_err invalid_argument 1 "$ZCA" issue $S --new-key "$T/z.key" --key-type dsa --dns a.example --out "$T/z.pem"
[ ! -e "$T/z.pem" ] && [ ! -e "$T/z.key" ] || die "output written after a refusal"
# Never replaces an existing key.
cp "$T/srv2.key" "$T/srv2.key.orig"
expect_err already_exists 1 "$ZCA" issue $S --new-key "$T/srv2.key" --dns a.example --out "$T/z.pem"
cmp -s "$T/srv2.key" "$T/srv2.key.orig" || die "server key replaced"
[ ! -e "$T/z.pem" ] || die "certificate written although the key was refused"
ok "issue never replaces an existing key"

# ------------------------------------------------------------ revoke, crl
"$ZCA" crl --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" --store "sqlite:$T/reg.db" --out "$T/crl1.pem"
"$OPENSSL" crl -in "$T/crl1.pem" -CAfile "$T/untrusted.pem" -noout 2>&1 | grep -q 'verify OK' || die "CRL 1 signature"
"$OPENSSL" crl -in "$T/crl1.pem" -noout -text | grep -A1 'CRL Number' | grep -q '^ *1$' || die "CRL number 1"
"$OPENSSL" crl -in "$T/crl1.pem" -noout -text | grep -q 'No Revoked Certificates' || die "CRL 1 not empty"
"$ZCA" revoke --store "sqlite:$T/reg.db" --serial "$serial" --reason keyCompromise
expect_err not_found 1 "$ZCA" revoke --store "sqlite:$T/reg.db" --serial 0abc
expect_err invalid_argument 2 "$ZCA" revoke --store "sqlite:$T/reg.db" --serial "$serial" --reason removeFromCRL
expect_err invalid_argument 1 "$ZCA" revoke --store "sqlite:$T/reg.db" --serial xyz
"$ZCA" crl --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" --store "sqlite:$T/reg.db" \
	--out "$T/crl2.pem" --hours 48
"$OPENSSL" crl -in "$T/crl2.pem" -CAfile "$T/untrusted.pem" -noout 2>&1 | grep -q 'verify OK' || die "CRL 2 signature"
"$OPENSSL" crl -in "$T/crl2.pem" -noout -text > "$T/crl2.txt"
grep -A1 'CRL Number' "$T/crl2.txt" | grep -q '^ *2$' || die "CRL number 2"
upper=$(echo "$serial" | tr 'a-f' 'A-F')
grep -q "Serial Number: $upper$" "$T/crl2.txt" || die "revoked serial missing"
grep -q 'Key Compromise' "$T/crl2.txt" || die "reason missing"
"$OPENSSL" verify -crl_check -CRLfile "$T/crl2.pem" -CAfile "$T/root.pem" \
	-untrusted "$T/untrusted.pem" "$T/factory.pem" > "$T/v" 2>&1 && die "revoked certificate verifies"
grep -q 'certificate revoked' "$T/v" || die "not reported as revoked: $(cat "$T/v")"
expect_err invalid_argument 2 "$ZCA" crl --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--store "sqlite:$T/reg.db" --out "$T/crl3.pem" --hours 0
ok "revoke, crl"

# ------------------------------------------------------------ CAs sharing a store
# Two issuing CAs and the intermediate above them record into one store:
# each CA's CRL verifies against that CA and lists only its revocations.
SH="sqlite:$T/shared.db"
"$ZCA" init-sub --issuer-cert "$T/int.pem" --issuer-key "$T/int.enc" --pass-env ZTP_TEST_PASS \
	--cert "$T/iss3.pem" --key "$T/iss3.key" --subject /CN=Third --pathlen 0 --store "$SH"
s3=$("$OPENSSL" x509 -in "$T/iss3.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f')
s1=$("$ZCA" issue --profile server --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/srv.csr" --dns one.example --out "$T/sh1.pem" --store "$SH")
s2=$("$ZCA" issue --profile server --issuer-cert "$T/iss2.pem" --issuer-key "$T/iss2.key" \
	--csr "$T/srv.csr" --dns two.example --out "$T/sh2.pem" --store "$SH")
k1=$("$ZCA" issue --profile server --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" \
	--csr "$T/srv.csr" --dns kept.example --out "$T/sh1k.pem" --store "$SH")
"$ZCA" revoke --store "$SH" --serial "$s1" --reason keyCompromise
"$ZCA" revoke --store "$SH" --serial "$s2" --reason superseded
"$ZCA" revoke --store "$SH" --serial "$s3" --reason cACompromise
"$ZCA" crl --issuer-cert "$T/iss.pem" --issuer-key "$T/iss.key" --store "$SH" --out "$T/sh1.crl"
"$ZCA" crl --issuer-cert "$T/iss2.pem" --issuer-key "$T/iss2.key" --store "$SH" --out "$T/sh2.crl"
"$ZCA" crl --issuer-cert "$T/int.pem" --issuer-key "$T/int.enc" --pass-env ZTP_TEST_PASS \
	--store "$SH" --out "$T/shi.crl"
# listed serials, one per line, lowercase
listed() { "$OPENSSL" crl -in "$1" -noout -text | sed -n 's/^ *Serial Number: *//p' | tr 'A-F' 'a-f'; }
crl_ok() { # crl ca: signed by ca, not by other
	"$OPENSSL" crl -in "$1" -CAfile "$2" -noout 2>&1 | grep -q 'verify OK' || die "$1 does not verify against $2"
	! "$OPENSSL" crl -in "$1" -CAfile "$3" -noout 2>&1 | grep -q 'verify OK' || die "$1 verifies against $3"
}
crl_ok "$T/sh1.crl" "$T/iss.pem" "$T/iss2.pem"
crl_ok "$T/sh2.crl" "$T/iss2.pem" "$T/iss.pem"
crl_ok "$T/shi.crl" "$T/int.pem" "$T/iss.pem"
[ "$(listed "$T/sh1.crl")" = "$s1" ] || die "first CA's CRL lists: $(listed "$T/sh1.crl" | tr '\n' ' ')"
[ "$(listed "$T/sh2.crl")" = "$s2" ] || die "second CA's CRL lists: $(listed "$T/sh2.crl" | tr '\n' ' ')"
[ "$(listed "$T/shi.crl")" = "$s3" ] || die "intermediate's CRL lists: $(listed "$T/shi.crl" | tr '\n' ' ')"
# and openssl, checking each chain against its CA's CRL, agrees
cat "$T/sh1.crl" "$T/sh2.crl" "$T/shi.crl" > "$T/sh.crls"
"$OPENSSL" verify -crl_check -CRLfile "$T/sh.crls" -CAfile "$T/root.pem" \
	-untrusted "$T/untrusted.pem" "$T/sh1k.pem" > /dev/null 2>&1 || die "unrevoked certificate of the first CA refused"
"$OPENSSL" verify -crl_check -CRLfile "$T/sh.crls" -CAfile "$T/root.pem" \
	-untrusted "$T/untrusted.pem" "$T/sh1.pem" > "$T/v" 2>&1 && die "revoked certificate of the first CA verifies"
grep -q 'certificate revoked' "$T/v" || die "not reported as revoked: $(cat "$T/v")"
[ -n "$k1" ] || die "no serial printed"
ok "one registry, three CAs: each CRL lists its own revocations"

checks_done
