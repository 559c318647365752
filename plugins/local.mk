# Broker enforcement: a Mosquitto 2.x plugin that authenticates clients by
# their certificate and authorizes every action through ztp_policy.
# It links the public library only. Installed as $(pkglibdir)/ztp_mosquitto.so.
if HAVE_MOSQUITTO
mosquittoplugindir = $(pkglibdir)
mosquittoplugin_LTLIBRARIES = plugins/mosquitto/ztp_mosquitto.la
plugins_mosquitto_ztp_mosquitto_la_SOURCES = plugins/mosquitto/ztp_mosquitto.c
# broker symbols (mosquitto_log_printf, ...) come from the broker at load
# time, so no -no-undefined here
plugins_mosquitto_ztp_mosquitto_la_LDFLAGS = $(AM_LDFLAGS) -module \
	-avoid-version -shared
plugins_mosquitto_ztp_mosquitto_la_LIBADD = $(TOOL_LIBS) $(OPENSSL_LIBS)
EXTRA_DIST += plugins/mosquitto/README.md
endif
