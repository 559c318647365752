# ca module (server side): CA creation, issuance, revocation, CRLs.
# Uses core and the public store API.
if ENABLE_SERVER
ztpinclude_HEADERS += include/ztp/ca.h
libztp_internal_la_SOURCES += \
	libztp/ca/internal.h \
	libztp/ca/ca.c \
	libztp/ca/crl.c \
	libztp/ca/dn.c \
	libztp/ca/server.c \
	libztp/ca/bulk.c
endif
