# ztp-policy.mk
