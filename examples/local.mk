# examples: reference HTTPS servers hosting the verifier, and the
# end-to-end tests that provision devices against them over mutual TLS.

EXTRA_DIST += examples/python/ztp_server.py \
	examples/go/ztp-server/go.mod examples/go/ztp-server/main.go \
	examples/go/ztp-server/README.md tests/e2e/README.md

e2e_common = tests/e2e/lib.sh tests/e2e/bootstrap-flow.sh \
	tests/e2e/flaky_server.py tests/e2e/crash_device.py \
	tests/e2e/slow-flow.sh tests/e2e/slow_clients.py
EXTRA_DIST += $(e2e_common)

if ENABLE_SERVER
if ENABLE_DEVICE
e2e_tests = tests/e2e/python_server.sh tests/e2e/go_server.sh \
	tests/e2e/negative.sh \
	tests/e2e/retry.sh tests/e2e/crash.sh tests/e2e/flood.sh \
	tests/e2e/slow_python.sh tests/e2e/slow_go.sh
TESTS += $(e2e_tests)
EXTRA_DIST += $(e2e_tests)
endif
endif
