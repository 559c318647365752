# device module: uses core only.
if ENABLE_DEVICE
endif
