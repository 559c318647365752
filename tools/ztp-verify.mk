# ztp-verify: enroll devices, serve one request, check factory
# certificates. Public API only (tools/util.[ch] shared with the other
# tools).
if ENABLE_SERVER
bin_PROGRAMS += tools/ztp-verify
tools_ztp_verify_SOURCES = tools/ztp-verify.c tools/util.c tools/util.h
tools_ztp_verify_LDADD = $(TOOL_LIBS) $(JSONC_LIBS)
# The claim-code label (`--qr`): only the tool links libqrencode.
if HAVE_QRENCODE
tools_ztp_verify_CPPFLAGS = $(AM_CPPFLAGS) $(QRENCODE_CFLAGS)
tools_ztp_verify_LDADD += $(QRENCODE_LIBS)
endif
endif
