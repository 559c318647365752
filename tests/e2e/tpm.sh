#!/bin/sh
# End to end, a factory key in a TPM 2.0: a software TPM (swtpm) holds the
# device's factory key at a persistent handle (tpm2-tools), its factory
# certificate is issued from a CSR the TPM signed, and `ztp-device run`
# with "factory_key": "tpm2:handle=0x81000001" bootstraps — the transcript
# signature and the mutual-TLS client authentication both made by the TPM
# through the tpm2-openssl provider — registers and gets operational
# credentials from the Python reference server; a P-384 TPM key
# bootstraps too (ECDSA-SHA384). Then the errors: a handle
# with no key, a handle outside the persistent range, and no TPM at all.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
[ -f "$("$OPENSSL" version -m | sed 's/^MODULESDIR: "\(.*\)"$/\1/')/tpm2.so" ] ||
	e2e_skip "the tpm2-openssl provider is not installed"
e2e_swtpm
e2e_pki

# tpm_device ID HANDLE CURVE: a TPM key at HANDLE and a factory
# certificate for it, issued from a CSR the TPM signed (only the TPM can
# have made it); the device enrolled.
tpm_device() {
	d=$T/dev/$1
	mkdir -p "$d"
	e2e_tpm_key "$2" "$3"
	"$OPENSSL" req -new -provider tpm2 -provider default \
		-key "handle:$2" -subj "/CN=$1" -out "$d/factory.csr" ||
		e2e_die "cannot make a CSR with the TPM key"
	e2e_factory_cert "$1"
	e2e_enroll "$1"
}
# P-384: the transcript is ECDSA-SHA384, so the TPM signs a 48-byte hash.
tpm_device tpm-2 0x81000002 ecc384
tpm_device tpm-1 0x81000001 ecc256
id=tpm-1
e2e_start_server python server

# device_config KEY_SOURCE: the configuration with the factory key there.
device_config() { e2e_key_device_config "$d" "$1"; }

device_config tpm2:handle=0x81000001
if "$ZTP_DEVICE" --config "$d/device.json" --json run > "$d/run.out" 2> "$d/run.err"; then
	grep -q '"actions":\["bootstrap","register","credentials"\]' "$d/run.out" ||
		e2e_fail "run did $(cat "$d/run.out")"
	e2e_check_cred "$id"
	"$ZTP_DEVICE" --config "$d/device.json" --json status > "$d/status.json"
	grep -q '"operational":{"slot"' "$d/status.json" ||
		e2e_fail "no operational credential: $(cat "$d/status.json")"
	e2e_ok "bootstrap, register, credentials with the factory key in the TPM"
else
	cat "$d/run.err"
	e2e_fail "ztp-device run with a TPM factory key failed"
fi
d=$T/dev/tpm-2
device_config tpm2:handle=0x81000002
if "$ZTP_DEVICE" --config "$d/device.json" bootstrap > "$d/run.out" 2>&1; then
	e2e_check_cred tpm-2
else
	e2e_fail "bootstrap with a P-384 TPM factory key: $(cat "$d/run.out")"
fi
d=$T/dev/$id
# The factory key is nowhere on disk: the only private keys in the state
# directory are the generated ones of the bootstrap and operational slots.
found=$(find "$d" -name '*.key' -o -name 'factory*.pem' | while read -r f; do
	grep -l 'PRIVATE KEY' "$f" 2>/dev/null || :; done)
[ -z "$found" ] || e2e_fail "private key files outside the slots: $found"

# expect_refusal SOURCE CODE: loading the configuration fails with CODE.
expect_refusal() {
	device_config "$1"
	rc=0
	"$ZTP_DEVICE" --config "$d/device.json" status > "$d/out" 2>&1 || rc=$?
	if [ $rc = 0 ] || ! grep -q "$2" "$d/out"; then
		e2e_fail "$1: exit $rc, '$(cat "$d/out")' (want $2)"
	else
		e2e_ok "$1: refused with $2"
	fi
}
expect_refusal tpm2:handle=0x81000003 "no key at handle:0x81000003"
expect_refusal tpm2:handle=0x80000001 "not a persistent handle"
expect_refusal tpm2:handle=0x8100001 "8 hexadecimal digits"
e2e_stop_server "$E2E_SWTPM_PID"
TPM2OPENSSL_TCTI=swtpm:host=127.0.0.1,port=$(free_port)
expect_refusal tpm2:handle=0x81000001 "tpm2 OpenSSL provider cannot be loaded"

e2e_stop_server "$E2E_PID"
e2e_done
