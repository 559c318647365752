# store module (server side): the registry front end and its built-in
# backends (memory:, sqlite:PATH).
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/store.h
libztp_internal_la_SOURCES += \
	libztp/store/store-internal.h \
	libztp/store/store.c \
	libztp/store/records.c \
	libztp/store/memory.c \
	libztp/store/sqlite.c
dist_man_MANS += man/man3/ztp_store.3

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c \
	tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LIBS) $(SQLITE_LIBS)
TESTS += tests/unit/test_store
endif
endif
