# policy module (server side).
if ENABLE_SERVER
endif
