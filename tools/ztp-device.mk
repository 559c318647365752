# ztp-device: the device-side command-line tool (public API only).
if ENABLE_DEVICE
bin_PROGRAMS += tools/ztp-device
tools_ztp_device_SOURCES = tools/ztp-device.c tools/util.c tools/util.h \
	tools/device_exit.h
tools_ztp_device_LDADD = $(TOOL_LIBS) $(JSONC_LIBS)
endif
# The tool of the mbedTLS port on libztp's OpenSSL port of the portable
# device core, which the tests run through the same cases (tests/e2e/
# lite_openssl.sh).
if ENABLE_DEVICE
check_PROGRAMS += tests/ztp-device-lite-openssl
tests_ztp_device_lite_openssl_SOURCES = tools/ztp-device-mbedtls.c \
	tools/device_exit.h
tests_ztp_device_lite_openssl_CPPFLAGS = $(AM_CPPFLAGS) \
	-DZTP_LITE_PORT_OPENSSL
tests_ztp_device_lite_openssl_CFLAGS = $(ZTP_CFLAGS)
tests_ztp_device_lite_openssl_LDADD = $(TOOL_LIBS)
endif
