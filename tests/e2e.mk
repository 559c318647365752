# End-to-end tests: devices provisioned over mutual TLS against the
# reference servers in examples/ and the real verifier (helpers in
# tests/e2e/lib.sh).
EXTRA_DIST += tests/e2e/README.md

e2e_common = tests/e2e/lib.sh tests/e2e/bootstrap-flow.sh \
	tests/e2e/flaky_server.py tests/e2e/crash_device.py \
	tests/e2e/slow-flow.sh tests/e2e/slow_clients.py
EXTRA_DIST += $(e2e_common)

# Heavy: they exercise the reference servers' connection handling (Python
# and Go) for tens of seconds each, not libztp's memory handling, so CI
# runs them once, not again under the sanitizers (`make -s
# print-sanitizer-tests` leaves them out).
e2e_heavy = tests/e2e/flood.sh tests/e2e/slow_python.sh tests/e2e/slow_go.sh
if HAVE_PKCS11
# The demo with the device CA in SoftHSM2 (the same flow as demo_smoke).
e2e_heavy += tests/demo_hsm.sh
endif
EXTRA_DIST += tests/demo_hsm.sh
e2e_tests = tests/e2e/python_server.sh tests/e2e/go_server.sh \
	tests/e2e/negative.sh \
	tests/e2e/retry.sh tests/e2e/crash.sh $(e2e_heavy) \
	tests/e2e/tpm.sh tests/e2e/token.sh
EXTRA_DIST += $(e2e_tests) tests/e2e/hw.sh

print-sanitizer-tests:
	@for t in $(TESTS); do \
		case " $(e2e_heavy) " in *" $$t "*) ;; *) echo "$$t" ;; esac; \
	done
.PHONY: print-sanitizer-tests

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
