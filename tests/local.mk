# Tests, all registered here and in the other tests/*.mk fragments (module
# fragments list library sources only).
#
# Unit tests (Check): one program per module, white-box against the
# convenience library. UNIT_TESTS lists the suites CI also runs under
# valgrind (`make -s print-unit-tests`); the hardening suites (allocation
# failures, fault injection) are registered in tests/hardening.mk.
UNIT_TESTS =
if HAVE_CHECK
UNIT_TESTS += tests/unit/test_core
tests_unit_test_core_SOURCES = tests/unit/test_core.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_core_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_core_LDADD = $(TEST_LIBS)

UNIT_TESTS += tests/unit/test_crypto

if HAVE_PKCS11
UNIT_TESTS += tests/unit/test_keysrc
tests_unit_test_keysrc_SOURCES = tests/unit/test_keysrc.c \
	tests/unit/softhsm.c tests/unit/softhsm.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_keysrc_CFLAGS = $(TEST_CFLAGS) $(P11_CFLAGS)
tests_unit_test_keysrc_LDADD = $(TEST_LIBS)
endif

if ENABLE_DEVICE
UNIT_TESTS += tests/unit/test_device
tests_unit_test_device_SOURCES = tests/unit/test_device.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_device_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_device_LDADD = $(TEST_LIBS) $(CURL_LIBS)
endif

# The device's trust bundle against a TLS server of its own (server CAs
# from the CA module).
if ENABLE_DEVICE
if ENABLE_SERVER
UNIT_TESTS += tests/unit/test_device_trust
tests_unit_test_device_trust_SOURCES = tests/unit/test_device_trust.c \
	tests/unit/tls_server.c tests/unit/tls_server.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_device_trust_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_device_trust_LDADD = $(TEST_LIBS) $(CURL_LIBS) -lpthread

# The device without a trustworthy clock against a TLS server of its own.
UNIT_TESTS += tests/unit/test_device_clock
tests_unit_test_device_clock_SOURCES = tests/unit/test_device_clock.c \
	tests/unit/tls_server.c tests/unit/tls_server.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_device_clock_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_device_clock_LDADD = $(TEST_LIBS) $(CURL_LIBS) -lpthread

# One TLS connection per client identity (keep-alive), handshakes counted
# by a TLS server of its own.
UNIT_TESTS += tests/unit/test_device_conn
tests_unit_test_device_conn_SOURCES = tests/unit/test_device_conn.c \
	tests/unit/tls_server.c tests/unit/tls_server.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_device_conn_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_device_conn_LDADD = $(TEST_LIBS) $(CURL_LIBS) -lpthread
endif
endif

if ENABLE_SERVER
UNIT_TESTS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c \
	tests/unit/test_store.h tests/unit/store_devices.c \
	tests/unit/store_claims.c tests/unit/store_certs.c \
	tests/unit/store_events.c tests/unit/store_stress.c \
	tests/unit/store_backends.c tests/unit/store_sqlite.c \
	tests/unit/store_typed.c tests/unit/store_fleet.c tests/unit/store_pg.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS) $(LIBPQ_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS)

UNIT_TESTS += tests/unit/test_ca
tests_unit_test_ca_SOURCES = tests/unit/test_ca.c tests/unit/test_ca.h \
	tests/unit/ca_names.c tests/unit/ca_create.c tests/unit/ca_issue.c \
	tests/unit/ca_server.c tests/unit/ca_serials.c tests/unit/ca_crl.c \
	tests/unit/testutil.c \
	tests/unit/testutil.h
tests_unit_test_ca_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ca_LDADD = $(TEST_LIBS)
if HAVE_PKCS11
tests_unit_test_ca_SOURCES += tests/unit/ca_hsm.c tests/unit/softhsm.c \
	tests/unit/softhsm.h
else
EXTRA_DIST += tests/unit/ca_hsm.c tests/unit/softhsm.c tests/unit/softhsm.h \
	tests/unit/test_keysrc.c
endif

UNIT_TESTS += tests/unit/test_verifier
tests_unit_test_verifier_SOURCES = tests/unit/test_verifier.c \
	tests/unit/test_verifier.h tests/unit/verifier_config.c \
	tests/unit/verifier_check_cert.c tests/unit/verifier_bootstrap.c \
	tests/unit/verifier_attacks.c tests/unit/verifier_limits.c \
	tests/unit/verifier_enroll.c tests/unit/verifier_lifecycle.c \
	tests/unit/verifier_alloc.c tests/unit/verifier_metrics.c \
	tests/unit/verifier_ocsp.c tests/unit/verifier_audit.c \
	tests/unit/verifier_import.c \
	tests/unit/verifier_groups.c tests/unit/verifier_hook.c \
	tests/unit/verifier_brokers.c tests/unit/verifier_rollover.c \
	tests/unit/verifier_pki.c tests/unit/verifier_pki.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_verifier_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_verifier_LDADD = $(TEST_LIBS)

# The request reader against OpenSSL's (libztp/verifier/csr.c).
UNIT_TESTS += tests/unit/test_csr
tests_unit_test_csr_SOURCES = tests/unit/test_csr.c tests/unit/testutil.c \
	tests/unit/testutil.h
tests_unit_test_csr_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_csr_LDADD = $(TEST_LIBS)

UNIT_TESTS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c \
	tests/unit/test_policy.h tests/unit/policy_match.c \
	tests/unit/policy_tenants.c tests/unit/policy_load.c \
	tests/unit/policy_identity.c tests/unit/policy_topics.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(TEST_LIBS)

# Refusal paths of the verifier, CA and policy that `make coverage` showed
# no other suite reaching (doc/COVERAGE.md).
UNIT_TESTS += tests/unit/test_refusals
tests_unit_test_refusals_SOURCES = tests/unit/test_refusals.c \
	tests/unit/verifier_pki.c tests/unit/verifier_pki.h \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_refusals_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_refusals_LDADD = $(TEST_LIBS)

# x509-limbo through the device-identity check (doc/SECURITY.md).
check_PROGRAMS += tests/limbo_runner
tests_limbo_runner_SOURCES = tests/limbo_runner.c tests/unit/testutil.c \
	tests/unit/testutil.h
tests_limbo_runner_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_limbo_runner_CFLAGS = $(TEST_CFLAGS)
tests_limbo_runner_LDADD = $(TOOL_LIBS) $(CHECK_LIBS) $(JSONC_LIBS)
TESTS += tests/limbo_runner
endif
endif
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

print-unit-tests:
	@echo $(UNIT_TESTS)
.PHONY: print-unit-tests

# The ABI, headers, map and man pages agree; headers compile alone; no
# banned function is called.
TESTS += tests/exports.sh tests/headers.sh tests/banned.py
EXTRA_DIST += tests/lib.sh tests/exports.sh tests/headers.sh tests/banned.py \
	tests/unit/testutil.h

# The command-line tools.
if ENABLE_SERVER
TESTS += tests/ca_cli.sh tests/policy_cli.sh tests/verify_openssl.sh
endif
EXTRA_DIST += tests/ca_cli.sh tests/server_cert_tls.py tests/policy_cli.sh \
	tests/verify_openssl.sh
# ztp-ca with CA keys in SoftHSM2 tokens.
if ENABLE_SERVER
if HAVE_PKCS11
TESTS += tests/ca_hsm.sh
endif
endif
EXTRA_DIST += tests/ca_hsm.sh

# The store suite on a real PostgreSQL 15 server (fails, never skips,
# when the server cannot start).
if HAVE_LIBPQ
TESTS += tests/store_pg.sh tests/store_pg_cli.sh tests/store_pg_audit.sh
endif
EXTRA_DIST += tests/store_pg.sh tests/store_pg_cli.sh tests/store_pg_audit.sh \
	tests/pg.sh

# Security rate limits across processes: one `ztp-verify` process per
# claim and per challenge on one SQLite registry.
if ENABLE_SERVER
TESTS += tests/limits_cli.sh
endif
EXTRA_DIST += tests/limits_cli.sh

# Bulk manufacturing and the inventory with the tools: ztp-ca issue-bulk,
# ztp-verify import, list and expiring on one SQLite registry.
if ENABLE_SERVER
TESTS += tests/import_cli.sh
endif
EXTRA_DIST += tests/import_cli.sh

# Bootstrap over real mutual TLS against an independent Python server.
if ENABLE_DEVICE
TESTS += tests/device_https.sh
endif
EXTRA_DIST += tests/device_https.sh tests/device_server.py

# End to end with a real broker (skipped when mosquitto is not installed).
if HAVE_MOSQUITTO
TESTS += tests/policy_mosquitto.sh tests/mosquitto_crl.sh
endif
EXTRA_DIST += tests/policy_mosquitto.sh tests/mosquitto_crl.sh \
	tests/e2e/mosquitto.sh

# The portable device core (doc/PORTING.md): its Cortex-M4 build (fails
# without the cross compiler, which CI installs); the mbedTLS port's
# library and tool linking neither OpenSSL, libcurl nor json-c; the core's
# unit suite, against the port's convenience library.
TESTS += tests/devcore_arm.sh
EXTRA_DIST += tests/devcore_arm.sh tests/devport_mbedtls.sh
if HAVE_MBEDTLS
TESTS += tests/devport_mbedtls.sh
if HAVE_CHECK
UNIT_TESTS += tests/unit/test_devcore
tests_unit_test_devcore_SOURCES = tests/unit/test_devcore.c
tests_unit_test_devcore_CFLAGS = $(ZTP_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_devcore_LDADD = libztp-device-mbedtls-internal.la \
	$(CHECK_LIBS)
endif
endif
