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
endif
