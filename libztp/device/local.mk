# device module: uses core only (and libcurl). The header is installed in
# every configuration so that the umbrella <ztp/ztp.h> always compiles.
ztpinclude_HEADERS += include/ztp/device.h
if ENABLE_DEVICE
libztp_internal_la_SOURCES += \
	libztp/device/internal.h \
	libztp/device/device.c \
	libztp/device/http.c \
	libztp/device/state.c \
	libztp/device/bootstrap.c \
	libztp/device/lifecycle.c
endif

if ENABLE_DEVICE
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_device
tests_unit_test_device_SOURCES = tests/unit/test_device.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_device_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_device_LDADD = $(TEST_LIBS) $(CURL_LIBS)
TESTS += tests/unit/test_device
endif
endif

# Bootstrap over real mutual TLS against an independent Python server.
if ENABLE_DEVICE
TESTS += tests/device_https.sh
endif
EXTRA_DIST += tests/device_https.sh tests/device_server.py

# The lifecycle against the real verifier behind the Python reference
# server (uses the end-to-end helpers in tests/e2e/lib.sh).
if ENABLE_SERVER
if ENABLE_DEVICE
TESTS += tests/device_verifier.sh
endif
endif
EXTRA_DIST += tests/device_verifier.sh
