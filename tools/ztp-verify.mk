# ztp-verify.mk
