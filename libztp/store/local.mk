# store module (server side): the registry front end and its built-in
# backends (memory:, sqlite:PATH, postgresql:// when libpq is found).
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/store.h
libztp_internal_la_SOURCES += \
	libztp/store/internal.h \
	libztp/store/store.c \
	libztp/store/records.h \
	libztp/store/records.c \
	libztp/store/memory.c \
	libztp/store/sqlite.c
if HAVE_LIBPQ
libztp_internal_la_SOURCES += libztp/store/postgresql.c
endif
endif
