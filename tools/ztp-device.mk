# ztp-device.mk
