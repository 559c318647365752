# bindings: Python (ctypes) and Go (cgo) packages over the public API only.
# Each is tested by a wrapper that runs its native test tool against the
# library of this build.

python_binding_files = \
	bindings/python/ztp/__init__.py \
	bindings/python/ztp/_clock.py \
	bindings/python/ztp/_events.py \
	bindings/python/ztp/_native.py \
	bindings/python/ztp/ca.py \
	bindings/python/ztp/core.py \
	bindings/python/ztp/device.py \
	bindings/python/ztp/errors.py \
	bindings/python/ztp/policy.py \
	bindings/python/ztp/store.py \
	bindings/python/ztp/verifier.py \
	bindings/python/tests/conftest.py \
	bindings/python/tests/test_core.py \
	bindings/python/tests/test_store.py \
	bindings/python/tests/test_ca.py \
	bindings/python/tests/test_verifier.py \
	bindings/python/tests/test_device.py \
	bindings/python/tests/test_policy.py \
	bindings/python/tests/test_server.py \
	bindings/python/tests/test_lifecycle.py

go_binding_files = \
	bindings/go/go.mod \
	bindings/go/goenv.sh \
	bindings/go/ztp/ztp.go \
	bindings/go/ztp/callbacks.c \
	bindings/go/ztp/events.go \
	bindings/go/ztp/store.go \
	bindings/go/ztp/ca.go \
	bindings/go/ztp/verifier.go \
	bindings/go/ztp/device.go \
	bindings/go/ztp/policy.go \
	bindings/go/ztp/hook.go \
	bindings/go/ztp/helpers_test.go \
	bindings/go/ztp/core_test.go \
	bindings/go/ztp/store_test.go \
	bindings/go/ztp/ca_test.go \
	bindings/go/ztp/verifier_test.go \
	bindings/go/ztp/device_test.go \
	bindings/go/ztp/policy_test.go \
	bindings/go/ztp/lifecycle_test.go

EXTRA_DIST += $(python_binding_files) bindings/python/run-tests.sh \
	bindings/sanitizers.sh bindings/python/README.md bindings/go/README.md \
	$(go_binding_files) bindings/go/run-tests.sh
TESTS += bindings/python/run-tests.sh
# The Go package wraps every module, so it links only against a full
# library (the Python one binds lazily and skips what a build lacks).
if ENABLE_SERVER
if ENABLE_DEVICE
TESTS += bindings/go/run-tests.sh
endif
endif
