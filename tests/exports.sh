#!/bin/sh
# The exported ABI, the headers, the version script and the man pages must
# agree: every exported symbol is ztp_*, is declared ZTP_EXTERN in a public
# header and is documented in a man3 page; every ZTP_EXTERN declaration is
# exported; every status code is listed in ztp(3).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
test_tmpdir exports

so=$(ls "$top_builddir"/.libs/libztp.so.*.*.* 2>/dev/null | head -1)
[ -n "$so" ] || die "libztp.so not built"

# Defined dynamic symbols (functions and data), without version suffixes.
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' \
	| sort -u > "$T/exported"
grep -v '^ztp_' "$T/exported" > "$T/foreign" || true
if [ -s "$T/foreign" ]; then
	fail "exported symbols outside the ztp_ namespace:"; cat "$T/foreign"
fi
if nm -D --defined-only "$so" | awk '{print $2}' | grep -q '^[BDGRSV]$'; then
	fail "exported variables (the API exports functions only):"
	nm -D --defined-only "$so" | awk '$2 ~ /^[BDGRSV]$/'
fi

# Functions declared ZTP_EXTERN in the given headers.
declared() {
	for h in "$@"; do
		# join continuation lines so a declaration is one line
		tr '\n' ' ' < "$h" | sed 's/;/;\n/g' | grep 'ZTP_EXTERN' \
			| sed -n 's/.*[ *]\(ztp_[a-z0-9_]*\)[ ]*(.*/\1/p'
	done | sort -u
}
# The installed headers, except that of the mbedTLS port, which
# libztp-device-mbedtls exports (checked below); libztp has the portable
# device core (<ztp/port.h>) on its OpenSSL port (<ztp/port_openssl.h>).
declared $(ls "$top_srcdir"/include/ztp/*.h | grep -v '/port_mbedtls\.h$') \
	> "$T/declared"

if ! diff -u "$T/declared" "$T/exported" > "$T/diff"; then
	fail "headers (-) and exports (+) differ:"; cat "$T/diff"
fi

# Every exported function appears in a man3 page.
while read -r sym; do
	if ! grep -qw -- "$sym" "$top_srcdir"/man/man3/*.3 2>/dev/null; then
		fail "undocumented in man3: $sym"
	fi
done < "$T/exported"

# Every status code is documented in ztp(3) and doc/ERRORS list.
sed -n 's/^[[:space:]]*\(ZTP_E[A-Z]*\) = -[0-9]*.*/\1/p' "$top_srcdir/include/ztp/common.h" | sort -u > "$T/codes"
[ "$(wc -l < "$T/codes")" -ge 23 ] || fail "cannot read the status codes from common.h"
while read -r code; do
	if ! grep -qw -- "$code" "$top_srcdir/man/man3/ztp.3"; then
		fail "status code missing from ztp(3): $code"
	fi
done < "$T/codes"

# The version script exports exactly the ztp_ namespace.
grep -q 'ztp_\*;' "$top_srcdir/libztp/libztp.map" || fail "libztp.map lost its ztp_* rule"
grep -q 'local:' "$top_srcdir/libztp/libztp.map" || fail "libztp.map lost its local: rule"

# libztp-device-mbedtls: exactly <ztp/port.h>, <ztp/port_mbedtls.h> and
# the status-code names of <ztp/common.h>, all documented.
mso=$(ls "$top_builddir"/.libs/libztp-device-mbedtls.so.*.*.* 2>/dev/null | head -1)
if [ -n "$mso" ]; then
	nm -D --defined-only "$mso" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' \
		| sort -u > "$T/mexported"
	{ declared "$top_srcdir/include/ztp/port.h" \
		"$top_srcdir/include/ztp/port_mbedtls.h"
	  printf 'ztp_status_name\nztp_strerror\n'; } | sort -u > "$T/mdeclared"
	if ! diff -u "$T/mdeclared" "$T/mexported" > "$T/mdiff"; then
		fail "libztp-device-mbedtls: headers (-) and exports (+) differ:"
		cat "$T/mdiff"
	fi
	while read -r sym; do
		if ! grep -qw -- "$sym" "$top_srcdir"/man/man3/*.3 2>/dev/null; then
			fail "undocumented in man3: $sym"
		fi
	done < "$T/mexported"
	grep -q 'ztp_\*;' "$top_srcdir/libztp/devport/mbedtls.map" ||
		fail "mbedtls.map lost its ztp_* rule"
fi

n=$(wc -l < "$T/exported")
[ "$TEST_FAILS" -ne 0 ] ||
	ok "exports: $n symbols, all ztp_*, declared, exported and documented"
checks_done
