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
	libztp/device/lifecycle.c \
	libztp/device/keys.c \
	libztp/device/trust.c \
	libztp/device/clock.c
# The portable device core on the OpenSSL + libcurl port
# (<ztp/port_openssl.h>), with the host parts it shares with the mbedTLS
# port.
libztp_internal_la_SOURCES += $(ZTP_DEVCORE_OWN_SOURCES) \
	libztp/devport/host.h \
	libztp/devport/posix.c \
	libztp/devport/config.c \
	libztp/devport/openssl.c
endif
ztpinclude_HEADERS += include/ztp/port_openssl.h
