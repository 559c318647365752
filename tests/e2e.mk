# End-to-end tests: devices provisioned over mutual TLS against the
# reference servers in examples/ and the real verifier (helpers in
# tests/e2e/lib.sh).
EXTRA_DIST += tests/e2e/README.md

e2e_common = tests/e2e/lib.sh tests/e2e/bootstrap-flow.sh \
	tests/e2e/multi-lib.sh tests/e2e/multi-flow.sh \
	tests/e2e/flaky_server.py tests/e2e/crash_device.py \
	tests/e2e/slow-flow.sh tests/e2e/slow_clients.py \
	tests/e2e/webhook_server.py
EXTRA_DIST += $(e2e_common)

# Heavy: they exercise the reference servers' connection handling (Python
# and Go) for tens of seconds each, not libztp's memory handling, so CI
# runs them once, not again under the sanitizers (`make -s
# print-sanitizer-tests` leaves them out). prometheus.sh runs a real
# Prometheus against the Python server: once is enough. So do the mixed
# Go + Python instances behind HAProxy and the failover under a 150-device
# fleet: many processes for tens of seconds, racing the registry
# (multi_go.sh, which races the same paths, runs in every pass).
e2e_heavy = tests/e2e/flood.sh tests/e2e/slow_python.sh tests/e2e/slow_go.sh \
	tests/e2e/prometheus.sh tests/e2e/logs.sh \
	tests/e2e/multi_python.sh tests/e2e/multi_sqlite.sh \
	tests/e2e/failover.sh
e2e_tests = tests/e2e/python_server.sh tests/e2e/go_server.sh tests/e2e/ocsp.sh \
	tests/e2e/audit.sh \
	tests/e2e/negative.sh \
	tests/e2e/groups.sh tests/e2e/webhook.sh tests/e2e/brokers.sh \
	tests/e2e/rollover.sh tests/e2e/rollover_go.sh \
	tests/e2e/retry.sh tests/e2e/crash.sh tests/e2e/multi_go.sh \
	$(e2e_heavy)
EXTRA_DIST += $(e2e_tests)
# Devices without a trustworthy clock, through both reference servers.
e2e_tests += tests/e2e/clock.sh
# The device through an HTTP proxy (tinyproxy).
e2e_tests += tests/e2e/proxy.sh
if HAVE_PKCS11
# The demo with the device CA in SoftHSM2 (the same flow as demo_smoke).
e2e_heavy += tests/demo_hsm.sh
# The Python reference server with the device CA's key in SoftHSM2.
e2e_tests += tests/e2e/hsm_server.sh
endif
EXTRA_DIST += tests/demo_hsm.sh tests/e2e/hsm_server.sh
e2e_tests += tests/e2e/tpm.sh tests/e2e/token.sh
# The portable core on the OpenSSL port (the lite-flow.sh cases, keys in a
# token and a TPM, Ed25519, a wrong server name, state shared with the
# mbedTLS port).
e2e_tests += tests/e2e/lite_openssl.sh
# Power loss on the core's ports (heavy: 38 kills; once, not again under
# the sanitizers).
e2e_heavy += tests/e2e/lite_crash.sh

print-sanitizer-tests:
	@for t in $(TESTS); do \
		case " $(e2e_heavy) " in *" $$t "*) ;; *) echo "$$t" ;; esac; \
	done
.PHONY: print-sanitizer-tests

# What CI runs again in `make distcheck`'s VPATH build from the tarball:
# everything but tests/e2e/ (the end-to-end scripts ran in the tree and
# again under the sanitizers; that the tarball holds every file they read
# is checked against git's list of files instead, in .ci/run).
print-distcheck-tests:
	@for t in $(TESTS); do \
		case "$$t" in tests/e2e/*) ;; *) echo "$$t" ;; esac; \
	done
.PHONY: print-distcheck-tests

# The lifecycle against the real verifier behind the Python reference
# server; the credential lifecycle end to end with the real ztp-device;
# the `make demo` script with a small fleet.
EXTRA_DIST += tests/device_verifier.sh tests/lifecycle_e2e.sh \
	tests/demo_smoke.sh

if ENABLE_SERVER
if ENABLE_DEVICE
TESTS += $(e2e_tests)
TESTS += tests/device_verifier.sh tests/lifecycle_e2e.sh tests/demo_smoke.sh
endif
endif

# The portable device core on its mbedTLS port (ztp-device-mbedtls)
# against both reference servers: fresh devices provisioned on two TLS
# connections each, a second run that only checks in, a claim picked up
# by the check-in, refusals, the no-clock floor; truncated and oversized
# answers and a failed rotation probe from tests/e2e/lite_server.py; a
# server-CA rollover (lite_rollover.sh).
EXTRA_DIST += tests/e2e/lite-flow.sh tests/e2e/lite-lib.sh \
	tests/e2e/lite_server.py \
	tests/e2e/lite_python.sh tests/e2e/lite_go.sh tests/e2e/lite_rollover.sh
if HAVE_MBEDTLS
if ENABLE_SERVER
TESTS += tests/e2e/lite_python.sh tests/e2e/lite_go.sh tests/e2e/lite_rollover.sh
endif
endif
