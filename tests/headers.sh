#!/bin/sh
# Each public header compiles on its own, as C99 and C11 with -pedantic and
# as C++, so a user can include any one of them first.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0; n=0
for h in "$top_srcdir"/include/ztp/*.h; do
	name=$(basename "$h")
	printf '#include <ztp/%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/t.c"
	for std in c99 c11; do
		n=$((n + 1))
		if ! $CC -std=$std -Wall -Wextra -pedantic -Werror \
			-I"$top_srcdir/include" -I"$top_builddir/include" \
			-c "$tmp/t.c" -o "$tmp/t.o"; then
			echo "FAIL: $name does not compile alone ($std)"; fail=$((fail + 1))
		fi
	done
	if command -v "$CXX" >/dev/null 2>&1; then
		n=$((n + 1))
		cp "$tmp/t.c" "$tmp/t.cc"
		if ! $CXX -Wall -Wextra -pedantic -Werror \
			-I"$top_srcdir/include" -I"$top_builddir/include" \
			-c "$tmp/t.cc" -o "$tmp/t.o"; then
			echo "FAIL: $name does not compile alone (C++)"; fail=$((fail + 1))
		fi
	fi
done
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
