# ztp-policy: check, lint and export MQTT policies (server side).
if ENABLE_SERVER
bin_PROGRAMS += tools/ztp-policy
tools_ztp_policy_SOURCES = tools/ztp-policy.c tools/util.c tools/util.h
tools_ztp_policy_LDADD = $(TOOL_LIBS)
dist_man_MANS += man/man1/ztp-policy.1 man/man3/ztp_policy.3 \
	man/man5/ztp-policy.json.5
TESTS += tests/policy_cli.sh
EXTRA_DIST += tests/policy_cli.sh
endif
