#!/bin/sh
# The bootstrap protocol implemented by someone else: keys, factory
# certificates, CSRs and the transcript signature made with the openssl
# CLI only, served by `ztp-verify handle`. Also checks `enroll` and
# `check-cert` exit statuses. Needs top_srcdir and top_builddir.
set -eu

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
CA="$top_builddir/tools/ztp-ca"
V="$top_builddir/tools/ztp-verify"

test_tmpdir verify-ossl
cd "$T"

# Manufacturer PKI, made by the manufacturer's own tooling (openssl).
mkca mroot "Maker Root" 3650
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout miss.key -out miss.csr -subj "/CN=Maker Issuing" 2>/dev/null
cat > ca.ext <<'EOF'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
"$OPENSSL" x509 -req -in miss.csr -CA mroot.pem -CAkey mroot.key \
	-CAcreateserial -days 3650 -extfile ca.ext -out miss.pem 2>/dev/null
cat > leaf.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF

# Device CA and verifier configuration (ztp's own side).
"$CA" init-root --cert devca.pem --key devca.key --subject "/CN=Device CA" \
	--days 365 >/dev/null
"$OPENSSL" rand -out hmac.key 32
cat > ztp.json <<'EOF'
{
  "trust_anchors": "mroot.pem",
  "issuers": "miss.pem",
  "device_ca": { "cert": "devca.pem", "key": "devca.key" },
  "store": "sqlite:registry.db",
  "hmac_secret_file": "hmac.key",
  "rate_limits": { "device": { "rate": 0 } }
}
EOF

json_pem() { awk 'BEGIN { ORS = "\\n" } { print }' "$1"; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

for kind in p256 ed25519 rsa; do
	id="dev-ossl-$kind"
	case $kind in
	p256) gen="-algorithm EC -pkeyopt ec_paramgen_curve:P-256" ;;
	ed25519) gen="-algorithm ED25519" ;;
	rsa) gen="-algorithm RSA -pkeyopt rsa_keygen_bits:2048" ;;
	esac
	# shellcheck disable=SC2086
	"$OPENSSL" genpkey $gen -out "$id.factory.key" 2>/dev/null
	"$OPENSSL" req -new -key "$id.factory.key" -subj "/CN=$id" \
		-out "$id.factory.csr"
	"$OPENSSL" x509 -req -in "$id.factory.csr" -CA miss.pem \
		-CAkey miss.key -CAcreateserial -days 365 -extfile leaf.ext \
		-out "$id.factory.pem" 2>/dev/null

	# Manufacturing: QA check, then enrollment with a claim code.
	"$V" check-cert --trust mroot.pem --untrusted miss.pem \
		--issuers miss.pem "$id.factory.pem" >/dev/null ||
		die "check-cert refused $id"
	code=$("$V" --config ztp.json enroll --device-id "$id" \
		--factory-cert "$id.factory.pem" --model m1 --batch b1)
	echo "$code" | grep -Eq '^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$' ||
		die "claim code format: $code"

	# Challenge.
	printf '{"device_id":"%s"}' "$id" |
		"$V" --config ztp.json handle challenge > chal.json ||
		die "challenge"
	nonce=$(field nonce < chal.json)
	[ -n "$nonce" ] || die "no nonce in $(cat chal.json)"

	# Fresh operational key and CSR (the subject is ignored).
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$id.key" 2>/dev/null
	"$OPENSSL" req -new -key "$id.key" -subj "/CN=anything" -out "$id.csr"

	# Transcript: "ZTP-BOOTSTRAP-V1" 0 id 0 nonce 0 SHA-256(CSR DER).
	printf 'ZTP-BOOTSTRAP-V1\000%s\000%s\000' "$id" "$nonce" > t.bin
	"$OPENSSL" req -in "$id.csr" -outform DER |
		"$OPENSSL" dgst -sha256 -binary >> t.bin
	case $kind in
	p256) "$OPENSSL" dgst -sha256 -sign "$id.factory.key" -out sig.bin \
		t.bin ;;
	ed25519) "$OPENSSL" pkeyutl -sign -rawin -inkey "$id.factory.key" \
		-in t.bin -out sig.bin ;;
	rsa) "$OPENSSL" dgst -sha256 -sigopt rsa_padding_mode:pss \
		-sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 \
		-sign "$id.factory.key" -out sig.bin t.bin ;;
	esac
	sig=$("$OPENSSL" base64 -A -in sig.bin)

	printf '{"device_id":"%s","nonce":"%s","csr":"%s","factory_cert":"%s","signature":"%s"}' \
		"$id" "$nonce" "$(json_pem "$id.csr")" \
		"$(json_pem "$id.factory.pem")" "$sig" > req.json
	"$V" --config ztp.json handle bootstrap --peer-cert "$id.factory.pem" \
		< req.json > resp.json || die "bootstrap $kind: $(cat resp.json)"
	field certificate < resp.json | sed 's/\\n/\n/g' > "$id.pem"
	"$OPENSSL" verify -CAfile devca.pem "$id.pem" >/dev/null ||
		die "issued certificate does not verify"
	"$OPENSSL" x509 -in "$id.pem" -noout -subject | grep -q "CN *= *$id" ||
		die "issued certificate does not name $id"
	"$OPENSSL" x509 -in "$id.pem" -noout -ext subjectAltName |
		grep -q "URI:urn:ztp:device:$id" || die "no device SAN URI"
	[ "$("$OPENSSL" x509 -in "$id.pem" -noout -pubkey)" = \
	  "$("$OPENSSL" pkey -in "$id.key" -pubout)" ] ||
		die "issued certificate is not for the CSR key"

	# The same request again: single-use challenge.
	if "$V" --config ztp.json handle bootstrap < req.json > resp.json; then
		die "replay accepted"
	fi
	grep -q '"code":"challenge_replayed"' resp.json || die "replay code"
done

# check-cert statuses: accepted 0, rejected 1 (code on stderr), usage 2.
id=dev-ossl-p256
if "$V" check-cert --trust mroot.pem --untrusted miss.pem \
	--at 2001-01-01T00:00:00Z "$id.factory.pem" 2> err.txt; then
	die "check-cert accepted a certificate before its validity"
else
	[ $? -eq 1 ] || die "check-cert status"
fi
grep -q "certificate_expired" err.txt || die "no reason code: $(cat err.txt)"
if "$V" check-cert --trust "$id.factory.pem" --issuers miss.pem \
	"$id.factory.pem" 2> err.txt; then
	die "check-cert accepted a leaf as its own anchor"
fi
# Not on the allowlist (the root is not an issuer here).
if "$V" check-cert --trust mroot.pem --untrusted miss.pem \
	--issuers mroot.pem "$id.factory.pem" 2> err.txt; then
	die "check-cert ignored --issuers"
fi
grep -q "issuer_not_allowed" err.txt || die "allowlist code: $(cat err.txt)"
set +e
"$V" check-cert --trust mroot.pem 2>/dev/null; st=$?
[ $st -eq 2 ] || die "missing CERT gave $st"
"$V" check-cert --trust missing.pem "$id.factory.pem" 2>/dev/null; st=$?
[ $st -eq 2 ] || die "unreadable file gave $st"
"$V" check-cert --trust mroot.pem --at yesterday "$id.factory.pem" \
	2>/dev/null; st=$?
[ $st -eq 2 ] || die "bad --at gave $st"
"$V" --config ztp.json handle nope < /dev/null > resp.json; st=$?
[ $st -eq 1 ] || die "unknown endpoint gave $st"
grep -q unknown_endpoint resp.json || die "unknown endpoint code"
"$V" --config ztp.json enroll --device-id "$id" \
	--factory-cert "$id.factory.pem" >/dev/null 2>&1; st=$?
[ $st -eq 1 ] || die "second enrollment gave $st"
set -e

# The lifecycle over `handle`, authenticated by the bootstrap certificate,
# then by the operational one.
id=dev-ossl-p256
printf '{"device_type":"sensor","firmware_version":"1.0.0","capabilities":["mqtt"]}' |
	"$V" --config ztp.json handle register --peer-cert "$id.pem" \
	> resp.json || die "register: $(cat resp.json)"
grep -q '"state":"registered"' resp.json || die "register state"
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$id.op.key" 2>/dev/null
"$OPENSSL" req -new -key "$id.op.key" -subj "/CN=x" -out "$id.op.csr"
printf '{"csr":"%s"}' "$(json_pem "$id.op.csr")" > creq.json
"$V" --config ztp.json handle credentials --peer-cert "$id.pem" \
	< creq.json > resp.json || die "credentials: $(cat resp.json)"
field certificate < resp.json | sed 's/\\n/\n/g' > "$id.op.pem"
"$OPENSSL" verify -CAfile devca.pem "$id.op.pem" >/dev/null ||
	die "operational certificate does not verify"
# Not claimed yet: no assignment; the factory certificate opens nothing.
if "$V" --config ztp.json handle assignment --peer-cert "$id.op.pem" \
	< /dev/null > resp.json; then
	die "assignment before a claim"
fi
grep -q '"code":"device_state"' resp.json || die "assignment code"
if "$V" --config ztp.json handle register --peer-cert "$id.factory.pem" \
	< /dev/null > resp.json; then
	die "factory certificate accepted for register"
fi
"$V" --config ztp.json handle crl < /dev/null > resp.json || die "crl"
grep -q 'BEGIN X509 CRL' resp.json || die "no CRL"

# Activation, reprovisioning and blocking from the command line.
id=dev-ossl-ed25519
code=$("$V" --config ztp.json reset --device-id "$id")
echo "$code" | grep -Eq '^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$' || die "reset code"
# claim_refused STATUS TEXT ARGS...: `claim ARGS` is refused with exit
# status STATUS and TEXT in its message (ztp-verify(1), EXIT STATUS).
claim_refused() {
	want=$1
	text=$2
	shift 2
	st=0
	"$V" --config ztp.json claim "$@" 2>claim.err || st=$?
	[ "$st" -eq "$want" ] ||
		die "claim $*: exit $st, not $want: $(cat claim.err)"
	grep -q "^ztp-verify: [a-z_]*: claim refused: $text" claim.err ||
		die "claim $*: '$(cat claim.err)' does not say '$text'"
}
wrong=AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA
claim_refused 5 "wrong claim code: claim code does not match device $id" \
	--device-id "$id" --code "$wrong" --tenant acme
# (Attempts count against the device's limit, 5 in a burst: the format
# is refused on another ID, so that $id stays below it.)
claim_refused 3 "bad claim code format: claim code: not 32 base32" \
	--device-id dev-fmt --code "$code-X" --tenant acme
claim_refused 3 "bad claim code format" \
	--device-id dev-fmt --code 1234 --tenant acme
claim_refused 4 "unknown device or no pending claim: store: no device nobody" \
	--device-id nobody --code "$wrong" --tenant acme
claim_refused 4 "unknown device: " --device-id 'dev/1' --code "$wrong" \
	--tenant acme
claim_refused 7 "bad tenant: " --device-id "$id" --code "$code" \
	--tenant 'acme/+'
echo "$code" | "$V" --config ztp.json claim --device-id "$id" --code - \
	--tenant acme || die "claim"
echo "$code" | claim_refused 4 \
	"unknown device or no pending claim: store: device $id has no pending" \
	--device-id "$id" --code - --tenant globex
"$V" --config ztp.json revoke --device-id "$id" || die "revoke"
echo "$code" | claim_refused 8 "device not claimable: store: device $id is revoked" \
	--device-id "$id" --code - --tenant globex
set +e
"$V" --config ztp.json revoke --device-id nobody 2>/dev/null; st=$?
[ $st -eq 1 ] || die "revoking an unknown device gave $st"
"$V" --config ztp.json claim --device-id "$id" 2>/dev/null; st=$?
[ $st -eq 2 ] || die "claim without --code gave $st"
set -e

# Rotation overlap: with rotation_overlap 0 the superseded certificate is
# refused at once, and `maintain` revokes it (dated the end of the
# overlap) so that the CRL lists it.
id=dev-ossl-p256
sed 's/^{/{ "rotation_overlap": 0,/' ztp.json > ztp0.json
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$id.op2.key" 2>/dev/null
"$OPENSSL" req -new -key "$id.op2.key" -subj "/CN=x" -out "$id.op2.csr"
printf '{"csr":"%s"}' "$(json_pem "$id.op2.csr")" > rreq.json
"$V" --config ztp0.json handle rotate --peer-cert "$id.op.pem" \
	< rreq.json > resp.json || die "rotate: $(cat resp.json)"
n=$("$V" --config ztp0.json maintain) || die "maintain"
[ "$n" = 1 ] || die "maintain revoked '$n', not 1"
n=$("$V" --config ztp0.json maintain) || die "maintain"
[ "$n" = 0 ] || die "second maintain revoked '$n'"
if "$V" --config ztp0.json handle rotate --peer-cert "$id.op.pem" \
	< rreq.json > resp.json; then
	die "superseded certificate accepted after its overlap"
fi
grep -q '"code":"certificate_revoked"' resp.json || die "rotate code"
"$V" --config ztp.json handle crl < /dev/null > resp.json || die "crl"
field crl < resp.json | sed 's/\\n/\n/g' > crl.pem
serial=$("$OPENSSL" x509 -in "$id.op.pem" -noout -serial | cut -d= -f2)
"$OPENSSL" crl -in crl.pem -noout -text > crl.txt || die "crl -text"
grep -qi "Serial Number: *0*$serial" crl.txt || die "superseded not in CRL"
grep -q "Superseded" crl.txt || die "no superseded reason in the CRL"
set +e
"$V" --config ztp.json maintain extra 2>/dev/null; st=$?
[ $st -eq 2 ] || die "maintain with an argument gave $st"
# Enrolling again while the claim code is pending points at reset.
"$V" --config ztp.json enroll --device-id dev-ossl-rsa \
	--factory-cert dev-ossl-rsa.factory.pem >/dev/null 2>err.txt; st=$?
[ $st -eq 1 ] && grep -q reset err.txt || die "re-enroll gave $st"
# Claim attempts are limited per device in the store, so across
# processes: 5 wrong codes are each evaluated, the sixth is refused as
# rate limited (unless the minute that earns another attempt has passed).
t0=$(date +%s)
for i in 1 2 3 4 5; do
	claim_refused 5 "wrong claim code: " --device-id dev-ossl-rsa \
		--code "$wrong" --tenant acme
done
if [ $(($(date +%s) - t0)) -lt 60 ]; then
	claim_refused 6 "rate limited: " --device-id dev-ossl-rsa \
		--code "$wrong" --tenant acme
fi

# The claim-code label: an SVG QR code, or a clear refusal (before any
# change) when built without libqrencode.
"$V" --config ztp.json reset --device-id "$id" --qr label.svg \
	> code.txt 2>err.txt; st=$?
set -e
if [ $st -eq 0 ]; then
	[ "$(stat -c %a label.svg)" = 600 ] || die "label mode"
	"$PYTHON3" - label.svg <<'PYEOF' || die "label is not a QR code"
import re, sys
svg = open(sys.argv[1]).read()
assert svg.startswith("<?xml") and "<svg" in svg
size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
dark = {(int(x), int(y)) for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg)}
w = size - 8
assert 21 <= w <= 177 and (w - 17) % 4 == 0, w
def finder(ox, oy):
    for y in range(7):
        for x in range(7):
            ring = max(abs(x - 3), abs(y - 3))
            want = ring != 2
            assert ((ox + x + 4, oy + y + 4) in dark) == want, (ox, oy, x, y)
finder(0, 0); finder(w - 7, 0); finder(0, w - 7)
PYEOF
	grep -Eq '^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$' code.txt || die "reset code"
else
	[ $st -eq 1 ] && grep -q unsupported err.txt ||
		die "--qr without libqrencode gave $st: $(cat err.txt)"
fi
echo "verify_openssl: ok"
