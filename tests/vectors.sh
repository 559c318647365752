#!/bin/sh
# The public test vectors are all there and unaltered: every file listed in
# tests/vectors/SHA256SUMS exists, is readable and has its recorded digest.
# A missing or changed file fails here, named, whichever test reads it.
set -eu
: "${ZTP_VECTORS:?ZTP_VECTORS is unset (run through make check)}"
[ -r "$ZTP_VECTORS/SHA256SUMS" ] ||
	{ echo "test vector $ZTP_VECTORS/SHA256SUMS: cannot read it"; exit 1; }
cd "$ZTP_VECTORS"
n=$(grep -c . SHA256SUMS)
[ "$n" -gt 0 ] || { echo "$ZTP_VECTORS/SHA256SUMS lists no file"; exit 1; }
if ! sha256sum --check --strict --quiet SHA256SUMS 2>&1; then
	echo "test vectors in $ZTP_VECTORS differ from SHA256SUMS (see above)"
	exit 1
fi
echo "$n test vector files match SHA256SUMS"
