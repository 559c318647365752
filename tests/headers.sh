#!/bin/sh
# Each public header compiles on its own, as C99 and C11 with -pedantic and
# as C++, so a user can include any one of them first.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
CC=${CC:-cc}
CXX=${CXX:-c++}
. "$top_srcdir/tests/lib.sh"
test_tmpdir headers
for h in "$top_srcdir"/include/ztp/*.h; do
	name=$(basename "$h")
	printf '#include <ztp/%s>\nint main(void) { return 0; }\n' "$name" > "$T/t.c"
	for std in c99 c11; do
		if ! $CC -std=$std -Wall -Wextra -pedantic -Werror \
			-I"$top_srcdir/include" -I"$top_builddir/include" \
			-c "$T/t.c" -o "$T/t.o"; then
			fail "$name does not compile alone ($std)"
		else
			ok "$name ($std)"
		fi
	done
	if command -v "$CXX" >/dev/null 2>&1; then
		cp "$T/t.c" "$T/t.cc"
		if ! $CXX -Wall -Wextra -pedantic -Werror \
			-I"$top_srcdir/include" -I"$top_builddir/include" \
			-c "$T/t.cc" -o "$T/t.o"; then
			fail "$name does not compile alone (C++)"
		else
			ok "$name (C++)"
		fi
	fi
done
checks_done
