#!/bin/sh
# The exported ABI, the headers, the version script and the man pages must
# agree: every exported symbol is ztp_*, is declared ZTP_EXTERN in a public
# header and is documented in a man3 page; every ZTP_EXTERN declaration is
# exported; every status code is listed in ztp(3).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

so=$(ls "$top_builddir"/.libs/libztp.so.*.*.* 2>/dev/null | head -1)
[ -n "$so" ] || { echo "libztp.so not built"; exit 1; }

# Defined dynamic symbols (functions and data), without version suffixes.
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' \
	| sort -u > "$tmp/exported"
grep -v '^ztp_' "$tmp/exported" > "$tmp/foreign" || true
if [ -s "$tmp/foreign" ]; then
	echo "exported symbols outside the ztp_ namespace:"; cat "$tmp/foreign"; fail=1
fi
if nm -D --defined-only "$so" | awk '{print $2}' | grep -q '^[BDGRSV]$'; then
	echo "exported variables (the API exports functions only):"
	nm -D --defined-only "$so" | awk '$2 ~ /^[BDGRSV]$/'; fail=1
fi

# Functions declared ZTP_EXTERN in the given headers.
declared() {
	for h in "$@"; do
		# join continuation lines so a declaration is one line
		tr '\n' ' ' < "$h" | sed 's/;/;\n/g' | grep 'ZTP_EXTERN' \
			| sed -n 's/.*[ *]\(ztp_[a-z0-9_]*\)[ ]*(.*/\1/p'
	done | sort -u
}
# The installed headers, except those of the portable device core and its
# mbedTLS port, which libztp-device-mbedtls exports (checked below).
declared $(ls "$top_srcdir"/include/ztp/*.h | grep -v '/port[a-z_]*\.h$') \
	> "$tmp/declared"

if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
	echo "headers (-) and exports (+) differ:"; cat "$tmp/diff"; fail=1
fi

# Every exported function appears in a man3 page.
while read -r sym; do
	if ! grep -qw -- "$sym" "$top_srcdir"/man/man3/*.3 2>/dev/null; then
		echo "undocumented in man3: $sym"; fail=1
	fi
done < "$tmp/exported"

# Every status code is documented in ztp(3) and doc/ERRORS list.
sed -n 's/^[[:space:]]*\(ZTP_E[A-Z]*\) = -[0-9]*.*/\1/p' "$top_srcdir/include/ztp/common.h" | sort -u > "$tmp/codes"
[ "$(wc -l < "$tmp/codes")" -ge 23 ] || { echo "cannot read the status codes from common.h"; fail=1; }
while read -r code; do
	if ! grep -qw -- "$code" "$top_srcdir/man/man3/ztp.3"; then
		echo "status code missing from ztp(3): $code"; fail=1
	fi
done < "$tmp/codes"

# The version script exports exactly the ztp_ namespace.
grep -q 'ztp_\*;' "$top_srcdir/libztp/libztp.map" || { echo "libztp.map lost its ztp_* rule"; fail=1; }
grep -q 'local:' "$top_srcdir/libztp/libztp.map" || { echo "libztp.map lost its local: rule"; fail=1; }

# libztp-device-mbedtls: exactly <ztp/port.h>, <ztp/port_mbedtls.h> and
# the status-code names of <ztp/common.h>, all documented.
mso=$(ls "$top_builddir"/.libs/libztp-device-mbedtls.so.*.*.* 2>/dev/null | head -1)
if [ -n "$mso" ]; then
	nm -D --defined-only "$mso" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' \
		| sort -u > "$tmp/mexported"
	{ declared "$top_srcdir/include/ztp/port.h" \
		"$top_srcdir/include/ztp/port_mbedtls.h"
	  printf 'ztp_status_name\nztp_strerror\n'; } | sort -u > "$tmp/mdeclared"
	if ! diff -u "$tmp/mdeclared" "$tmp/mexported" > "$tmp/mdiff"; then
		echo "libztp-device-mbedtls: headers (-) and exports (+) differ:"
		cat "$tmp/mdiff"; fail=1
	fi
	while read -r sym; do
		if ! grep -qw -- "$sym" "$top_srcdir"/man/man3/*.3 2>/dev/null; then
			echo "undocumented in man3: $sym"; fail=1
		fi
	done < "$tmp/mexported"
	grep -q 'ztp_\*;' "$top_srcdir/libztp/devport/mbedtls.map" ||
		{ echo "mbedtls.map lost its ztp_* rule"; fail=1; }
fi

n=$(wc -l < "$tmp/exported")
if [ "$fail" -eq 0 ]; then
	echo "exports: $n symbols, all ztp_*, declared, exported and documented"
	echo "1 passed, 0 failed"
fi
exit $fail
