# verifier module (server side).
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/verifier.h
libztp_internal_la_SOURCES += \
	libztp/verifier/internal.h \
	libztp/verifier/config.c \
	libztp/verifier/ratelimit.c \
	libztp/verifier/identity.c \
	libztp/verifier/csr.c \
	libztp/verifier/challenge.c \
	libztp/verifier/handle.c \
	libztp/verifier/admin.c \
	libztp/verifier/lifecycle.c \
	libztp/verifier/overlap.c \
	libztp/verifier/crlfile.c \
	libztp/verifier/metrics.c \
	libztp/verifier/ocsp.c \
	libztp/verifier/audit.c \
	libztp/verifier/import.c \
	libztp/verifier/groups.c \
	libztp/verifier/hook.c \
	libztp/verifier/brokers.c \
	libztp/verifier/cas.c
endif
