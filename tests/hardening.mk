# hardening tests: allocation-failure sweeps, store faults, threads,
# fuzz regressions (Check), and the crash-consistency test (shell + C).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_hardening
tests_unit_test_hardening_SOURCES = tests/unit/test_hardening.c \
	tests/unit/hardening_util.c tests/unit/hardening.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_hardening_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_hardening_LDADD = $(TEST_LIBS)
if ENABLE_SERVER
tests_unit_test_hardening_SOURCES += tests/unit/hardening_server.c \
	tests/unit/hardening_server.h tests/unit/hardening_store.c \
	tests/unit/hardening_threads.c tests/unit/hardening_verifier.c \
	tests/unit/verifier_pki.c tests/unit/verifier_pki.h
tests_unit_test_hardening_CFLAGS += $(SQLITE_CFLAGS) -DZTP_HARDENING_SERVER
tests_unit_test_hardening_LDADD += $(SQLITE_LIBS)
endif
if ENABLE_DEVICE
tests_unit_test_hardening_SOURCES += tests/unit/hardening_device.c
tests_unit_test_hardening_CFLAGS += $(CURL_CFLAGS) -DZTP_HARDENING_DEVICE
endif
TESTS += tests/unit/test_hardening

# Known bugs (allocation failures reported as verdicts about the input),
# expected to fail until fixed; XPASS then means: remove it from here.
check_PROGRAMS += tests/unit/hardening_oom
tests_unit_hardening_oom_SOURCES = tests/unit/hardening_oom.c \
	tests/unit/hardening_util.c tests/unit/hardening.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_hardening_oom_CFLAGS = $(TEST_CFLAGS)
tests_unit_hardening_oom_LDADD = $(TEST_LIBS)
if ENABLE_SERVER
tests_unit_hardening_oom_CFLAGS += $(SQLITE_CFLAGS) -DZTP_HARDENING_SERVER
tests_unit_hardening_oom_LDADD += $(SQLITE_LIBS)
endif
TESTS += tests/unit/hardening_oom
XFAIL_TESTS = tests/unit/hardening_oom

# The cases of the same file that are fixed, as a normal test.
check_PROGRAMS += tests/unit/hardening_oom_fixed
tests_unit_hardening_oom_fixed_SOURCES = $(tests_unit_hardening_oom_SOURCES)
tests_unit_hardening_oom_fixed_CFLAGS = $(tests_unit_hardening_oom_CFLAGS) -DZTP_OOM_FIXED
tests_unit_hardening_oom_fixed_LDADD = $(tests_unit_hardening_oom_LDADD)
TESTS += tests/unit/hardening_oom_fixed
endif

# Crash consistency: SIGKILL an issuing process at random moments.
if ENABLE_SERVER
check_PROGRAMS += tests/crash_issue
tests_crash_issue_SOURCES = tests/crash_issue.c
tests_crash_issue_LDADD = $(TOOL_LIBS)
TESTS += tests/crash_consistency.sh
endif
EXTRA_DIST += tests/crash_consistency.sh
