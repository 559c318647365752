# Unit tests (Check), one program per module, plus shell-driven checks.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_core
tests_unit_test_core_SOURCES = tests/unit/test_core.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_core_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_core_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_core
endif

# The ABI, headers, map and man pages agree; headers compile alone; no
# banned function is called.
TESTS += tests/exports.sh tests/headers.sh tests/banned.py
EXTRA_DIST += tests/exports.sh tests/headers.sh tests/banned.py \
	tests/unit/testutil.h

# Refusal paths of the verifier, CA and policy that `make coverage` showed
# no other suite reaching (doc/COVERAGE.md).
if ENABLE_SERVER
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_refusals
tests_unit_test_refusals_SOURCES = tests/unit/test_refusals.c \
	tests/unit/verifier_pki.c tests/unit/verifier_pki.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_refusals_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_refusals_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_refusals
endif
endif
