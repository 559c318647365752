# The mbedTLS port of the portable device core: libztp-device-mbedtls and
# ztp-device-mbedtls, neither of which links OpenSSL, libcurl or json-c
# (tests/devport_mbedtls.sh checks it). Built when configure finds mbedTLS.
EXTRA_DIST += libztp/devport/mbedtls.map libztp-device-mbedtls.pc.in \
	include/ztp/port_mbedtls.h libztp/devport/host.h \
	libztp/devport/posix.c libztp/devport/config.c \
	libztp/devport/openssl.c
if HAVE_MBEDTLS
# As for libztp: everything compiled once into a convenience library with
# hidden visibility, which the white-box tests link (tests/unit/
# test_devcore); the shared library is it plus the export map.
noinst_LTLIBRARIES += libztp-device-mbedtls-internal.la
libztp_device_mbedtls_internal_la_SOURCES = $(ZTP_DEVCORE_SOURCES) \
	libztp/devport/host.h \
	libztp/devport/internal.h \
	libztp/devport/mbedtls.c \
	libztp/devport/posix.c \
	libztp/devport/config.c
libztp_device_mbedtls_internal_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DZTP_BUILDING_LIBRARY
libztp_device_mbedtls_internal_la_CFLAGS = $(ZTP_CFLAGS) \
	$(ZTP_VISIBILITY_CFLAGS)
libztp_device_mbedtls_internal_la_LIBADD = $(MBEDTLS_LIBS)

lib_LTLIBRARIES += libztp-device-mbedtls.la
ztpinclude_HEADERS += include/ztp/port_mbedtls.h
pkgconfig_DATA += libztp-device-mbedtls.pc
libztp_device_mbedtls_la_SOURCES =
nodist_EXTRA_libztp_device_mbedtls_la_SOURCES = dummy.c
libztp_device_mbedtls_la_LIBADD = libztp-device-mbedtls-internal.la
libztp_device_mbedtls_la_LDFLAGS = $(AM_LDFLAGS) -no-undefined \
	-version-info $(ZTP_LT_VERSION_INFO)
if HAVE_VERSION_SCRIPT
libztp_device_mbedtls_la_LDFLAGS += \
	-Wl,--version-script=$(top_srcdir)/libztp/devport/mbedtls.map
endif
EXTRA_libztp_device_mbedtls_la_DEPENDENCIES = \
	$(top_srcdir)/libztp/devport/mbedtls.map

bin_PROGRAMS += tools/ztp-device-mbedtls
tools_ztp_device_mbedtls_SOURCES = tools/ztp-device-mbedtls.c \
	tools/device_exit.h
tools_ztp_device_mbedtls_CFLAGS = $(ZTP_CFLAGS)
tools_ztp_device_mbedtls_LDADD = libztp-device-mbedtls.la
endif
