# ztp-ca: create CAs, issue, revoke, publish CRLs. Public API only.
# tools/util.[ch] hold the helpers every tool may share.
EXTRA_DIST += tools/util.h
if ENABLE_SERVER
bin_PROGRAMS += tools/ztp-ca
tools_ztp_ca_SOURCES = tools/ztp-ca.c tools/util.c tools/util.h
tools_ztp_ca_LDADD = $(TOOL_LIBS) $(JSONC_LIBS)
endif
