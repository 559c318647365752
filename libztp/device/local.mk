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
endif
