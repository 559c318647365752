# ztp-device: the device-side command-line tool (public API only).
if ENABLE_DEVICE
bin_PROGRAMS += tools/ztp-device
tools_ztp_device_SOURCES = tools/ztp-device.c tools/util.c tools/util.h \
	tools/device_exit.h
tools_ztp_device_LDADD = $(TOOL_LIBS) $(JSONC_LIBS)
endif
