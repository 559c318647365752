# crypto.mk — unit tests of the core cryptographic helpers: encodings,
# PEM/DER, files, keys and key policy, signatures (including the Wycheproof
# vectors of tests/vectors, see tests/vectors.mk), certificate names, time.
# Registered in UNIT_TESTS (tests/local.mk).
if HAVE_CHECK
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c \
	tests/unit/test_crypto.h tests/unit/crypto_encoding.c \
	tests/unit/crypto_pem.c tests/unit/crypto_files.c \
	tests/unit/crypto_keys.c tests/unit/crypto_sig.c \
	tests/unit/crypto_names.c tests/unit/crypto_time.c \
	tests/unit/crypto_alloc.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_crypto_LDADD = $(TEST_LIBS)
endif
