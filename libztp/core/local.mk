# The part of core that needs the C standard library only, compiled into
# libztp and into the portable device core (libztp/devcore/local.mk).
ZTP_CORE_PORTABLE_SOURCES = \
	libztp/core/portable.h \
	libztp/core/status.c \
	libztp/core/idchar.c \
	libztp/core/civil.c \
	libztp/core/url.c \
	libztp/core/protocol.h \
	libztp/core/protocol.c \
	libztp/core/devpolicy.c
# core: status codes, errors, memory, JSON, identifiers, encodings, PEM/DER,
# files, keys and signatures, certificate names, time. Uses nothing of ours.
ztpinclude_HEADERS += include/ztp/ztp.h include/ztp/common.h
libztp_internal_la_SOURCES += \
	libztp/core/internal.h \
	libztp/core/error.c \
	libztp/core/mem.c \
	libztp/core/init.c \
	libztp/core/json.c \
	libztp/core/id.c \
	libztp/core/encoding.c \
	libztp/core/pem.c \
	libztp/core/utf8.h \
	libztp/core/file.c \
	libztp/core/crypto.c \
	libztp/core/x509name.c \
	libztp/core/time.c \
	libztp/core/bucket.c \
	libztp/core/audit.c \
	libztp/core/lines.c \
	libztp/core/keysrc.h \
	libztp/core/keysrc.c \
	libztp/core/keytpm2.c \
	$(ZTP_CORE_PORTABLE_SOURCES)
if HAVE_PKCS11
libztp_internal_la_SOURCES += libztp/core/pkcs11.c
else
EXTRA_DIST += libztp/core/pkcs11.c
endif
