# ca module (server side): CA creation, issuance, revocation, CRLs.
# Uses core and the public store API.
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/ca.h
libztp_internal_la_SOURCES += \
	libztp/ca/ca_internal.h \
	libztp/ca/ca_priv.h \
	libztp/ca/ca.c \
	libztp/ca/crl.c \
	libztp/ca/dn.c \
	libztp/ca/server.c
endif

if ENABLE_SERVER
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_ca
tests_unit_test_ca_SOURCES = tests/unit/test_ca.c tests/unit/testutil.c \
	tests/unit/testutil.h
tests_unit_test_ca_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ca_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_ca
endif
endif
