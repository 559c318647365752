# The portable device core (doc/PORTING.md): C99 and the C standard
# library only, on the port interface of <ztp/port.h>. Linked into
# libztp-device-mbedtls with its port and into libztp with the OpenSSL
# port (libztp/devport/local.mk), and built for a Cortex-M4 by
# `make device-core-arm`. libztp has the shared portable rules
# (ZTP_CORE_PORTABLE_SOURCES) already; it takes the core's own files.
ZTP_DEVCORE_OWN_SOURCES = \
	libztp/devcore/internal.h \
	libztp/devcore/json.c \
	libztp/devcore/http.c \
	libztp/devcore/device.c \
	libztp/devcore/flow.c
ZTP_DEVCORE_SOURCES = $(ZTP_DEVCORE_OWN_SOURCES) \
	$(ZTP_CORE_PORTABLE_SOURCES)
ztpinclude_HEADERS += include/ztp/port.h
EXTRA_DIST += $(ZTP_DEVCORE_SOURCES)

# The core alone for a microcontroller, with the flags of a firmware
# build; prints text/data/bss per object and in total. The objects'
# undefined symbols are checked by tests/devcore_arm.sh: C library only.
ARM_CORE_CFLAGS = -std=c99 -mcpu=cortex-m4 -mthumb -Os -ffunction-sections \
	-fdata-sections -Wall -Wextra -Werror
device-core-arm:
	@rm -rf devcore-arm && mkdir devcore-arm
	@for f in $(ZTP_DEVCORE_SOURCES); do \
		case $$f in *.c) ;; *) continue ;; esac; \
		echo "  ARM-CC   $$f"; \
		$(ARM_CC) $(ARM_CORE_CFLAGS) -I$(top_srcdir)/include \
			-I$(top_builddir)/include -I$(top_srcdir)/libztp \
			-c $(top_srcdir)/$$f \
			-o devcore-arm/`basename $$f .c`.o || exit 1; \
	done
	$(ARM_SIZE) -t devcore-arm/*.o
.PHONY: device-core-arm
clean-local: clean-devcore-arm
clean-devcore-arm:
	rm -rf devcore-arm
.PHONY: clean-devcore-arm
