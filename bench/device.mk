# Device benchmark: peak RSS and wall time of one `ztp-device bootstrap`
# against the Python reference server, set against curl and openssl
# s_client doing mutual TLS with the same certificate, and the size of the
# device-side code (full library, --disable-server library, device and
# core objects); TLS handshakes, HTTP round trips, bytes each way and
# device CPU per provisioned device (`ztp-device run`), a connection per
# request and keep-alive, through a counting TCP relay, next to curl.
# When the mbedTLS port is built (HAVE_MBEDTLS), ztp-device-mbedtls is
# measured beside ztp-device in the same run, with the peak heap of both
# (valgrind massif) and the Cortex-M4 size of the portable core; so is the
# portable core on libztp's OpenSSL port (tests/ztp-device-lite-openssl).
# `make bench-device`; never part of `make check`.
# BENCH_DEVICE_RUNS and BENCH_DEVICE_ONLY_BUILD: see bench/bench_device.sh.
.PHONY: bench-device
EXTRA_DIST += bench/bench_device.sh bench/device/measure.py
EXTRA_DIST += bench/device/wire.sh bench/device/relay.py

if HAVE_MBEDTLS
BENCH_DEVICE_MBEDTLS = tools/ztp-device-mbedtls$(EXEEXT)
else
BENCH_DEVICE_MBEDTLS =
endif
if ENABLE_SERVER
if ENABLE_DEVICE
bench-device: libztp.la tools/ztp-ca$(EXEEXT) tools/ztp-verify$(EXEEXT) \
		tools/ztp-device$(EXEEXT) $(BENCH_DEVICE_MBEDTLS) \
		tests/ztp-device-lite-openssl$(EXEEXT)
	$(AM_TESTS_ENVIRONMENT) MAKE='$(MAKE)' \
		BENCH_DEVICE_MBEDTLS='$(BENCH_DEVICE_MBEDTLS)' \
		$(SHELL) $(abs_top_srcdir)/bench/bench_device.sh
else
bench-device:
	@echo "bench-device: needs the device API (configured with --disable-device)"
endif
# Same condition as the other fragments' `bench:` lines (automake wants
# one condition per target).
bench: bench-device
else
bench-device:
	@echo "bench-device: needs the server modules for the reference server" \
		"(configured with --disable-server)"
endif
