# End-to-end tests: devices provisioned over mutual TLS against the
# reference servers in examples/ and the real verifier (helpers in
# tests/e2e/lib.sh).
EXTRA_DIST += tests/e2e/README.md

e2e_common = tests/e2e/lib.sh tests/e2e/bootstrap-flow.sh \
	tests/e2e/flaky_server.py tests/e2e/crash_device.py \
	tests/e2e/slow-flow.sh tests/e2e/slow_clients.py
EXTRA_DIST += $(e2e_common)

e2e_tests = tests/e2e/python_server.sh tests/e2e/go_server.sh \
	tests/e2e/negative.sh \
	tests/e2e/retry.sh tests/e2e/crash.sh tests/e2e/flood.sh \
	tests/e2e/slow_python.sh tests/e2e/slow_go.sh
EXTRA_DIST += $(e2e_tests)

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
