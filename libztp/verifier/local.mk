# verifier module (server side).
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/verifier.h
libztp_internal_la_SOURCES += \
	libztp/verifier/verifier_internal.h \
	libztp/verifier/config.c \
	libztp/verifier/ratelimit.c \
	libztp/verifier/identity.c \
	libztp/verifier/csr.c \
	libztp/verifier/challenge.c \
	libztp/verifier/handle.c \
	libztp/verifier/admin.c \
	libztp/verifier/lifecycle.c \
	libztp/verifier/overlap.c \
	libztp/verifier/crlfile.c
endif

if ENABLE_SERVER
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_verifier
tests_unit_test_verifier_SOURCES = tests/unit/test_verifier.c \
	tests/unit/verifier_pki.c tests/unit/verifier_pki.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_verifier_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_verifier_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_verifier
# The request reader against OpenSSL's (libztp/verifier/csr.c).
check_PROGRAMS += tests/unit/test_csr
tests_unit_test_csr_SOURCES = tests/unit/test_csr.c tests/unit/testutil.c \
	tests/unit/testutil.h
tests_unit_test_csr_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_csr_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_csr
endif
endif

# x509-limbo through the device-identity check (doc/SECURITY.md).
if ENABLE_SERVER
if HAVE_CHECK
check_PROGRAMS += tests/limbo_runner
tests_limbo_runner_SOURCES = tests/limbo_runner.c tests/unit/testutil.c \
	tests/unit/testutil.h
tests_limbo_runner_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_limbo_runner_CFLAGS = $(TEST_CFLAGS)
tests_limbo_runner_LDADD = $(TOOL_LIBS) $(CHECK_LIBS) $(JSONC_LIBS)
TESTS += tests/limbo_runner
endif
endif

if ENABLE_SERVER
dist_man_MANS += man/man1/ztp-verify.1 man/man3/ztp_verifier.3 \
	man/man5/ztp-verify.json.5 man/man7/ztp-protocol.7
endif
EXTRA_DIST += doc/PROTOCOL.md doc/SECURITY.md

# Bootstrap throughput against the OpenSSL bound: `make bench-bootstrap`
# (also run by `make bench`). Not a test: it prints ratios only.
if ENABLE_SERVER
noinst_PROGRAMS += bench/bench_bootstrap
bench_bench_bootstrap_SOURCES = bench/bench_bootstrap.c
bench_bench_bootstrap_LDADD = $(TOOL_LIBS) $(JSONC_LIBS) $(OPENSSL_LIBS)

bench-bootstrap: bench/bench_bootstrap$(EXEEXT)
	./bench/bench_bootstrap$(EXEEXT)
bench: bench-bootstrap
endif
.PHONY: bench-bootstrap

# The credential lifecycle end to end over mutual TLS: the Python reference
# server and the real ztp-device (helpers in tests/e2e/lib.sh).
if ENABLE_SERVER
if ENABLE_DEVICE
TESTS += tests/lifecycle_e2e.sh
endif
endif
EXTRA_DIST += tests/lifecycle_e2e.sh

# Security rate limits across processes: one `ztp-verify` process per
# claim and per challenge on one SQLite registry.
if ENABLE_SERVER
TESTS += tests/limits_cli.sh
endif
EXTRA_DIST += tests/limits_cli.sh
