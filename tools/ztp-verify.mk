# ztp-verify: enroll devices, serve one request, check factory
# certificates. Public API only (tools/util.[ch] shared with the other
# tools).
if ENABLE_SERVER
bin_PROGRAMS += tools/ztp-verify
tools_ztp_verify_SOURCES = tools/ztp-verify.c tools/util.c tools/util.h
tools_ztp_verify_LDADD = $(TOOL_LIBS)
TESTS += tests/verify_openssl.sh
endif
EXTRA_DIST += tests/verify_openssl.sh
