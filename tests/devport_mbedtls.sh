#!/bin/sh
# libztp-device-mbedtls and ztp-device-mbedtls link neither OpenSSL
# (libssl, libcrypto), libcurl nor json-c, at build time (readelf -d) or
# at run time (ldd); and the tool refuses the ztp-device.json(5) members
# its port does not support, naming them, before touching anything.
. "${top_srcdir:?}/tests/lib.sh"
: "${top_builddir:?}"
test_tmpdir devport-mbedtls
so=$(ls "$top_builddir"/.libs/libztp-device-mbedtls.so.*.*.* 2>/dev/null | head -1)
bin=$top_builddir/tools/.libs/ztp-device-mbedtls
[ -x "$bin" ] || bin=$top_builddir/tools/ztp-device-mbedtls
[ -n "$so" ] && [ -x "$bin" ] || die "libztp-device-mbedtls or its tool is not built"
FOREIGN='lib(ssl|crypto|curl|json-c)\.so'

for f in "$so" "$bin"; do
	readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' > "$T/needed"
	if grep -Eq "$FOREIGN" "$T/needed"; then
		fail "$(basename "$f") needs $(grep -E "$FOREIGN" "$T/needed" | tr '\n' ' ')"
	else
		ok "$(basename "$f") needs $(tr '\n' ' ' < "$T/needed")"
	fi
done
readelf -d "$so" | grep -q 'libmbedtls\.so' ||
	fail "libztp-device-mbedtls does not need libmbedtls"
LD_LIBRARY_PATH=$(dirname "$so") ldd "$bin" > "$T/ldd" 2>&1 ||
	{ cat "$T/ldd"; die "ldd failed"; }
if grep -Eq "$FOREIGN" "$T/ldd"; then
	fail "ldd ztp-device-mbedtls: $(grep -E "$FOREIGN" "$T/ldd" | tr '\n' ' ')"
elif ! grep -q 'libztp-device-mbedtls\.so' "$T/ldd"; then
	fail "ldd ztp-device-mbedtls does not show libztp-device-mbedtls"
else
	ok "ldd ztp-device-mbedtls: no libssl, libcrypto, libcurl or libjson-c"
fi

# Members the mbedTLS port does not support: exit 2, the member named,
# nothing created.
tool=$top_builddir/tools/ztp-device-mbedtls
refused() { # refused NAME JSON_MEMBER PATTERN
	printf '{"base_url": "https://127.0.0.1:1", "ca_file": "ca.pem",
	  "factory_cert": "c.pem", "state_dir": "state-%s", %s}\n' "$1" "$2" > "$T/$1.json"
	rc=0
	"$tool" --config "$T/$1.json" run > "$T/$1.out" 2> "$T/$1.err" || rc=$?
	if [ "$rc" = 2 ] && grep -q "$3" "$T/$1.err" && [ ! -e "$T/state-$1" ]; then
		ok "$1: refused: $(cat "$T/$1.err")"
	else
		fail "$1: exit $rc: $(cat "$T/$1.err")"
	fi
}
refused pkcs11 '"factory_key": "pkcs11:token=t;object=k"' \
	'factory_key: only file: keys'
refused token '"factory_key": "file:k.pem", "operational_key": {"token": "pkcs11:token=t"}' 'operational_key'
refused rsa '"factory_key": "file:k.pem", "key_type": "rsa-2048"' 'key_type: the mbedTLS port generates ec-p256 or ec-p384'
refused unknown '"factory_key": "file:k.pem", "colour": "blue"' 'unknown member: colour'
refused proxy '"factory_key": "file:k.pem", "proxy": "http://u:pw@127.0.0.1:3128"' 'proxy: user information is not supported'
refused proxyport '"factory_key": "file:k.pem", "proxy": "http://127.0.0.1"' 'proxy: must be http://HOST:PORT'
refused clock '"factory_key": "file:k.pem", "clock": "none"' 'clock: "system" or "untrusted"'
refused dup '"base_url": "https://127.0.0.1:2"' 'duplicate member'
refused pin '"factory_key": "file:k.pem", "server_key_sha256": "00"' 'server_key_sha256: not 64 hexadecimal'
checks_done
