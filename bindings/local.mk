# bindings: Python (ctypes) and Go (cgo) packages over the public API only.

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
	bindings/python/tests/test_ca.py

EXTRA_DIST += $(python_binding_files) bindings/python/run-tests.sh
TESTS += bindings/python/run-tests.sh
