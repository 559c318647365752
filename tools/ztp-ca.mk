# ztp-ca.mk
