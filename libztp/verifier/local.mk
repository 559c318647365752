# verifier module (server side).
if ENABLE_SERVER
endif
