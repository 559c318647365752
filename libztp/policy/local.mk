# policy module (server side): tenant namespaces, identity from
# certificates, policy documents compiled into a topic-level index.
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/policy.h
libztp_internal_la_SOURCES += \
	libztp/policy/index.h \
	libztp/policy/index.c \
	libztp/policy/reader.h \
	libztp/policy/reader.c \
	libztp/policy/policy.c

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c \
	tests/unit/test_policy.h tests/unit/policy_match.c \
	tests/unit/policy_tenants.c tests/unit/policy_load.c \
	tests/unit/policy_identity.c tests/unit/policy_topics.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(TEST_LIBS)
TESTS += tests/unit/test_policy
endif
endif
