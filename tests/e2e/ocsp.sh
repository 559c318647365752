#!/bin/sh
# End to end: `openssl ocsp` asks the reference servers (Python, then Go
# when a Go toolchain is there) about the device CA's certificates: a
# bootstrap certificate (good), the certificate of a revoked device
# (revoked, with its time and reason), one the device CA signed that the
# registry never recorded (unknown). The answers are signed by a delegated
# responder from `ztp-ca issue --profile ocsp` and verify with -VAfile and
# with -CAfile (the chain to the device CA, the responder's EKU). Garbage,
# an oversize request and a request about another issuer's certificate
# get OCSP error responses (malformedRequest, unauthorized), by POST and
# by GET.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
command -v curl >/dev/null 2>&1 || e2e_die "curl not found"

e2e_pki
p=$T/pki
# The delegated responder, and a verifier configuration that uses it.
"$ZTP_CA" issue --profile ocsp --issuer-cert "$p/device-ca.pem" \
	--issuer-key "$p/device-ca.key" --new-key "$p/ocsp.key" \
	--out "$p/ocsp.pem" >/dev/null
"$OPENSSL" x509 -in "$p/ocsp.pem" -noout -ext extendedKeyUsage |
	grep -q 'OCSP Signing' && e2e_ok "ztp-ca --profile ocsp: OCSPSigning" ||
	e2e_fail "ztp-ca --profile ocsp: no OCSPSigning EKU"
"$OPENSSL" x509 -in "$p/ocsp.pem" -noout -text | grep -q 'OCSP No Check' &&
	e2e_ok "ztp-ca --profile ocsp: ocsp-nocheck" ||
	e2e_fail "ztp-ca --profile ocsp: no ocsp-nocheck"
"$PY" - "$T/verify.json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    cfg = json.load(f)
cfg["ocsp_signer"] = {"cert": "pki/ocsp.pem", "key": "pki/ocsp.key"}
cfg["ocsp_next_update"] = 600
with open(sys.argv[1], "w") as f:
    json.dump(cfg, f)
PY

E2E_PORT=1
for id in dev-good dev-gone; do
	e2e_device "$id"
	e2e_enroll "$id"
done
# A certificate of the device CA the registry does not know: issued with
# a throwaway registry of ztp-ca's own.
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$T/stray.key" 2>/dev/null
"$OPENSSL" req -new -key "$T/stray.key" -subj /CN=stray -out "$T/stray.csr"
"$ZTP_CA" issue --issuer-cert "$p/device-ca.pem" --issuer-key "$p/device-ca.key" \
	--csr "$T/stray.csr" --device-id stray --profile operational \
	--out "$T/stray.pem" >/dev/null
# Another issuer's certificate (the manufacturer's), for unauthorized.
other=$T/dev/dev-good/factory.leaf.pem

# ocsp_check KIND: the checks against the running server on $E2E_PORT.
ocsp_check() {
	kind=$1
	url=https://127.0.0.1:$E2E_PORT/ztp/v1/ocsp
	for id in dev-good dev-gone; do
		e2e_device_config "$id" "$E2E_PORT"
		if [ ! -f "$T/$id.pem" ]; then
			e2e_bootstrap "$id" || {
				cat "$T/dev/$id/bootstrap.err"
				e2e_die "$id: bootstrap failed"
			}
			cp "$(e2e_current_cert "$id")" "$T/$id.pem"
		fi
	done
	[ -f "$T/revoked" ] || {
		"$ZTP_VERIFY" --config "$T/verify.json" revoke --device-id dev-gone
		: > "$T/revoked"
	}

	# want CERT STATUS [VERIFY_OPTION...]: openssl ocsp over HTTPS
	# (POST) says CERT is STATUS and the response verifies.
	want() {
		cert=$1 st=$2
		shift 2
		if "$OPENSSL" ocsp -issuer "$p/device-ca.pem" -cert "$cert" \
			-url "$url" -nonce "$@" -resp_text \
			> "$T/ocsp.out" 2> "$T/ocsp.err" &&
			grep -q "^Response verify OK" "$T/ocsp.err" &&
			grep -q "^$cert: $st\$" "$T/ocsp.out"; then
			e2e_ok "$kind: $(basename "$cert") is $st (openssl ocsp $*)"
		else
			e2e_fail "$kind: $(basename "$cert") not $st: $(cat "$T/ocsp.err" "$T/ocsp.out" | head -20)"
		fi
	}
	want "$T/dev-good.pem" good -VAfile "$p/ocsp.pem"
	want "$T/dev-good.pem" good -CAfile "$p/device-ca.pem"
	want "$T/stray.pem" unknown -VAfile "$p/ocsp.pem"
	want "$T/dev-gone.pem" revoked -VAfile "$p/ocsp.pem"
	if grep -q 'Revocation Time:' "$T/ocsp.out" &&
		grep -q 'Reason:' "$T/ocsp.out"; then
		e2e_ok "$kind: the revocation carries its time and reason"
	else
		e2e_fail "$kind: revoked without time or reason: $(cat "$T/ocsp.out")"
	fi
	grep -q 'Next Update:' "$T/ocsp.out" && grep -q 'This Update:' "$T/ocsp.out" &&
		grep -q 'OCSP Nonce' "$T/ocsp.out" &&
		e2e_ok "$kind: thisUpdate, nextUpdate and the nonce are set" ||
		e2e_fail "$kind: response lacks an update time or the nonce"

	# The same question by GET, base64 of the DER in the path.
	"$OPENSSL" ocsp -issuer "$p/device-ca.pem" -cert "$T/dev-good.pem" \
		-no_nonce -reqout "$T/req.der" >/dev/null 2>&1
	b64=$("$PY" -c 'import base64, sys, urllib.parse
print(urllib.parse.quote(base64.b64encode(open(sys.argv[1], "rb").read()).decode(), safe=""))' "$T/req.der")
	curl -s --max-time 10 --cacert "$p/server-ca.pem" -o "$T/get.der" \
		"$url/$b64" || e2e_fail "$kind: GET failed"
	if "$OPENSSL" ocsp -respin "$T/get.der" -issuer "$p/device-ca.pem" \
		-cert "$T/dev-good.pem" -VAfile "$p/ocsp.pem" -no_nonce \
		> "$T/get.out" 2>&1 && grep -q ": good\$" "$T/get.out" &&
		grep -q "Response verify OK" "$T/get.out"; then
		e2e_ok "$kind: GET /ztp/v1/ocsp/<base64>: good, verified"
	else
		e2e_fail "$kind: GET answer: $(cat "$T/get.out")"
	fi

	# bad BODY_FILE STATUS: POSTed, the answer is an OCSP response with
	# that status (as openssl names it: malformedrequest, unauthorized).
	bad() {
		curl -s --max-time 10 --cacert "$p/server-ca.pem" \
			-H 'Content-Type: application/ocsp-request' \
			--data-binary "@$1" -o "$T/bad.der" "$url" ||
			{ e2e_fail "$kind: POST $(basename "$1") failed"; return 0; }
		"$OPENSSL" ocsp -respin "$T/bad.der" -resp_text -noverify \
			> "$T/bad.out" 2>&1 || true
		if grep -q "^Responder Error: $2 (" "$T/bad.out"; then
			e2e_ok "$kind: $(basename "$1") answered $2"
		else
			e2e_fail "$kind: $(basename "$1"): $(cat "$T/bad.out")"
		fi
	}
	printf 'this is not DER' > "$T/garbage.bin"
	bad "$T/garbage.bin" malformedrequest
	head -c 9000 /dev/zero > "$T/oversize.bin"
	bad "$T/oversize.bin" malformedrequest
	"$OPENSSL" ocsp -issuer "$p/acme-factory.pem" -cert "$other" \
		-reqout "$T/other-issuer.der" >/dev/null 2>&1
	bad "$T/other-issuer.der" unauthorized
	# the right serial with the wrong issuer (the manufacturer CA's)
	"$OPENSSL" ocsp -issuer "$p/acme-root.pem" -cert "$T/dev-good.pem" \
		-reqout "$T/wrong-hash.der" >/dev/null 2>&1
	bad "$T/wrong-hash.der" unauthorized
	st=$(curl -s -o "$T/get-bad.der" -w '%{http_code}' --max-time 10 \
		--cacert "$p/server-ca.pem" "$url/%21%21notbase64")
	"$OPENSSL" ocsp -respin "$T/get-bad.der" -resp_text -noverify \
		> "$T/bad.out" 2>&1 || true
	[ "$st" = 200 ] && grep -q '^Responder Error: malformedrequest (1)' "$T/bad.out" &&
		e2e_ok "$kind: GET of what is not base64: malformedRequest" ||
		e2e_fail "$kind: GET of what is not base64: $st $(cat "$T/bad.out")"
}

e2e_start_server python server --quiet
ocsp_check python
e2e_stop_server "$E2E_PID"

if command -v go >/dev/null 2>&1 && [ "$ZTP_SAN" != tsan ]; then
	e2e_need_go_server
	e2e_start_server go server --quiet
	ocsp_check go
	e2e_stop_server "$E2E_PID"
fi
e2e_done
