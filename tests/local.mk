# Unit tests (Check), one program per module, plus shell-driven checks.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_core
tests_unit_test_core_SOURCES = tests/unit/test_core.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_core_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_core_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_core
endif
