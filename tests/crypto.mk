# crypto.mk — unit tests of the core cryptographic helpers: encodings,
# PEM/DER, files, keys and key policy, signatures (including the Wycheproof
# vectors of tests/vectors, see tests/vectors.mk), certificate names, time.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_crypto
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_crypto_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_crypto
endif
