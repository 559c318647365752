# crypto.mk
