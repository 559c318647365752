# ztp-policy: check, lint and export MQTT policies (server side).
if ENABLE_SERVER
bin_PROGRAMS += tools/ztp-policy
tools_ztp_policy_SOURCES = tools/ztp-policy.c tools/util.c tools/util.h
tools_ztp_policy_LDADD = $(TOOL_LIBS)
endif
