# local.mk
