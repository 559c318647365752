#!/bin/sh
# The portable device core builds for a Cortex-M4 (arm-none-eabi-gcc,
# -mcpu=cortex-m4 -mthumb -Os, `make device-core-arm`), and what its
# objects call that they do not define is the C library's (and the
# compiler's run-time helpers): no OpenSSL, libcurl, json-c or POSIX.
# Prints text/data/bss. A missing cross compiler fails the test: CI
# installs it (gcc-arm-none-eabi, libnewlib-arm-none-eabi).
. "${top_srcdir:?}/tests/lib.sh"
: "${top_builddir:?}"
test_tmpdir devcore-arm
ARM_NM=${ARM_NM:-arm-none-eabi-nm}
command -v arm-none-eabi-gcc >/dev/null 2>&1 ||
	die "arm-none-eabi-gcc not found (install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
command -v "$ARM_NM" >/dev/null 2>&1 || die "$ARM_NM not found"

if make -s -C "$top_builddir" device-core-arm > "$T/size.txt" 2> "$T/build.err"; then
	ok "the core compiles for cortex-m4"
else
	cat "$T/build.err"
	die "the core does not compile for cortex-m4"
fi
cat "$T/size.txt"
total=$(awk '/\(TOTALS\)/ { print $1 }' "$T/size.txt")
[ -n "$total" ] && [ "$total" -gt 0 ] && ok "text of the core: $total bytes" ||
	fail "no size total printed"

objs=$top_builddir/devcore-arm/*.o
"$ARM_NM" -g --defined-only $objs | awk 'NF == 3 { print $3 }' | sort -u > "$T/defined"
"$ARM_NM" -u $objs | awk 'NF == 2 { print $2 }' | sort -u > "$T/undefined"
comm -23 "$T/undefined" "$T/defined" > "$T/external"
grep -Ev '^(mem(cpy|move|set|cmp|chr)|str(len|cmp|ncmp|chr)|__aeabi_[a-z0-9_]+)$' \
	"$T/external" > "$T/foreign" || true
if [ -s "$T/foreign" ]; then
	fail "the core calls outside the C library: $(tr '\n' ' ' < "$T/foreign")"
else
	ok "the core calls only: $(tr '\n' ' ' < "$T/external")"
fi
checks_done
