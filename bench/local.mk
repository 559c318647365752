# Benchmarks: built and run by `make bench`, never by `make check` (they
# print ratios against a baseline measured in the same run; nothing is
# asserted on timings). Each benchmark has its own target, which `bench`
# depends on. All benchmarks are registered here and in bench/*.mk.
.PHONY: bench bench-policy bench-bootstrap bench-ca-hsm

# Bootstrap throughput against the OpenSSL bound: `make bench-bootstrap`.
# It prints ratios only.
if ENABLE_SERVER
noinst_PROGRAMS += bench/bench_bootstrap
bench_bench_bootstrap_SOURCES = bench/bench_bootstrap.c
bench_bench_bootstrap_LDADD = $(TOOL_LIBS) $(JSONC_LIBS) $(OPENSSL_LIBS)

bench-bootstrap: bench/bench_bootstrap$(EXEEXT)
	./bench/bench_bootstrap$(EXEEXT)
bench: bench-bootstrap
endif

if ENABLE_SERVER
# Policy decisions against a libmosquitto linear scan: `make bench-policy`.
EXTRA_PROGRAMS = bench/bench_policy
bench_bench_policy_SOURCES = bench/bench_policy.c
bench_bench_policy_LDADD = $(TOOL_LIBS) -lmosquitto -lpthread
CLEANFILES += bench/bench_policy$(EXEEXT)

bench-policy: bench/bench_policy$(EXEEXT)
	./bench/bench_policy$(EXEEXT)
bench: bench-policy
endif

# Issuance with the CA key in SoftHSM2 against a file key, in one run:
# `make bench-ca-hsm`.
if ENABLE_SERVER
if HAVE_PKCS11
EXTRA_PROGRAMS += bench/bench_ca_hsm
bench_bench_ca_hsm_SOURCES = bench/bench_ca_hsm.c
bench_bench_ca_hsm_LDADD = $(TOOL_LIBS) $(OPENSSL_LIBS) -lpthread
CLEANFILES += bench/bench_ca_hsm$(EXEEXT)
endif
endif
if HAVE_PKCS11_SERVER
bench-ca-hsm: bench/bench_ca_hsm$(EXEEXT)
	./bench/bench_ca_hsm$(EXEEXT)
bench: bench-ca-hsm
endif

# Revocation latency at a real broker: `make bench-revoke`.
if HAVE_MOSQUITTO
bench-revoke: all
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		OPENSSL='$(OPENSSL_BIN)' PYTHON3='$(PYTHON3)' \
		$(SHELL) '$(abs_top_srcdir)/bench/mosquitto_revoke.sh'
bench: bench-revoke
endif
EXTRA_DIST += bench/mosquitto_revoke.sh
.PHONY: bench-revoke
