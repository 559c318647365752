# vectors.mk — the public test vectors of tests/vectors (Wycheproof,
# x509-limbo), shipped in the tarball and read from the source tree: the
# tests get $(abs_top_srcdir)/tests/vectors as $ZTP_VECTORS. Their
# provenance is in tests/vectors/README.md. tests/vectors.sh fails, naming
# the file, when one is missing or differs from SHA256SUMS.
ZTP_VECTOR_FILES = \
	tests/vectors/README.md \
	tests/vectors/SHA256SUMS \
	tests/vectors/LICENSE.x509-limbo \
	tests/vectors/x509-limbo-subset.json \
	tests/vectors/wycheproof/LICENSE \
	tests/vectors/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json \
	tests/vectors/wycheproof/ecdsa_secp256r1_sha256_test.json \
	tests/vectors/wycheproof/ecdsa_secp384r1_sha384_test.json \
	tests/vectors/wycheproof/ed25519_test.json \
	tests/vectors/wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json \
	tests/vectors/wycheproof/rsa_signature_2048_sha256_test.json
EXTRA_DIST += $(ZTP_VECTOR_FILES) tests/vectors.sh
TESTS += tests/vectors.sh
