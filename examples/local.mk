# examples: reference HTTPS servers hosting the verifier (the end-to-end
# tests that provision devices against them are registered in tests/e2e.mk).

EXTRA_DIST += examples/python/ztp_server.py \
	examples/go/ztp-server/go.mod examples/go/ztp-server/main.go \
	examples/go/ztp-server/README.md
