# store module (server side): the registry front end and its built-in
# backends (memory:, sqlite:PATH).
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/store.h
libztp_internal_la_SOURCES += \
	libztp/store/store-internal.h \
	libztp/store/store.c \
	libztp/store/records.h \
	libztp/store/records.c \
	libztp/store/memory.c \
	libztp/store/sqlite.c
dist_man_MANS += man/man3/ztp_store.3
# One name per function, for man ztp_store_open and the like.
dist_man_MANS += \
	man/man3/ztp_store_backend_error.3 \
	man/man3/ztp_store_cert_add.3 \
	man/man3/ztp_store_cert_count.3 \
	man/man3/ztp_store_cert_get.3 \
	man/man3/ztp_store_cert_revoke.3 \
	man/man3/ztp_store_challenge_use.3 \
	man/man3/ztp_store_claim_set.3 \
	man/man3/ztp_store_claim_attempt.3 \
	man/man3/ztp_store_claim_take.3 \
	man/man3/ztp_store_counter_next.3 \
	man/man3/ztp_store_device_add.3 \
	man/man3/ztp_store_device_certs.3 \
	man/man3/ztp_store_device_get.3 \
	man/man3/ztp_store_device_set_factory_key.3 \
	man/man3/ztp_store_device_revoke_certs.3 \
	man/man3/ztp_store_device_set_info.3 \
	man/man3/ztp_store_device_set_state.3 \
	man/man3/ztp_store_event_append.3 \
	man/man3/ztp_store_event_list.3 \
	man/man3/ztp_store_limit_take.3 \
	man/man3/ztp_store_free.3 \
	man/man3/ztp_store_open.3 \
	man/man3/ztp_store_open_backend.3 \
	man/man3/ztp_store_revoked_list.3 \
	man/man3/ztp_store_set_clock.3

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LIBS) $(SQLITE_LIBS)
TESTS += tests/unit/test_store
endif
endif
