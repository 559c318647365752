# Benchmarks: built and run by `make bench`, never by `make check` (they
# print ratios against a baseline measured in the same run; nothing is
# asserted on timings). Each benchmark has its own target, which `bench`
# depends on. All benchmarks are registered here and in bench/*.mk.
.PHONY: bench bench-policy bench-bootstrap bench-ops bench-fleet bench-store bench-ca-hsm bench-fleet-pg

# Clocks, exits on failure, environment knobs and CSRs shared by the
# benchmark programs (each compiles it with its own flags).
BENCH_COMMON = bench/bench.c bench/bench.h

# Bootstrap throughput against the OpenSSL bound: `make bench-bootstrap`.
# It prints ratios only.
if ENABLE_SERVER
noinst_PROGRAMS += bench/bench_bootstrap
bench_bench_bootstrap_SOURCES = bench/bench_bootstrap.c $(BENCH_COMMON)
bench_bench_bootstrap_LDADD = $(TOOL_LIBS) $(JSONC_LIBS) $(OPENSSL_LIBS)

bench-bootstrap: bench/bench_bootstrap$(EXEEXT)
	./bench/bench_bootstrap$(EXEEXT)
bench: bench-bootstrap
endif

# Manufacturing at factory scale: factory certificates per second from
# pre-made CSRs against the sign+verify bound, a million devices imported
# into one SQLite registry, the inventory on it: `make bench-fleet`
# (ZTP_BENCH_DEVICES=N for another size; ~1 GB of temporary files).
if ENABLE_SERVER
noinst_PROGRAMS += bench/bench_fleet
bench_bench_fleet_SOURCES = bench/bench_fleet.c $(BENCH_COMMON)
bench_bench_fleet_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
bench_bench_fleet_LDADD = $(TOOL_LIBS) $(JSONC_LIBS) $(OPENSSL_LIBS) \
	$(SQLITE_LIBS)

bench-fleet: bench/bench_fleet$(EXEEXT)
	./bench/bench_fleet$(EXEEXT)
bench: bench-fleet
endif

if ENABLE_SERVER
# What operating a verifier costs (a metrics scrape) against a full count
# of the registry and a challenge request: `make bench-ops`.
noinst_PROGRAMS += bench/bench_ops
bench_bench_ops_SOURCES = bench/bench_ops.c $(BENCH_COMMON)
bench_bench_ops_LDADD = $(TOOL_LIBS) $(SQLITE_LIBS) $(OPENSSL_LIBS)

bench-ops: bench/bench_ops$(EXEEXT)
	./bench/bench_ops$(EXEEXT)
bench: bench-ops
endif

if ENABLE_SERVER
# Policy decisions against a libmosquitto linear scan: `make bench-policy`.
EXTRA_PROGRAMS = bench/bench_policy
bench_bench_policy_SOURCES = bench/bench_policy.c $(BENCH_COMMON)
bench_bench_policy_LDADD = $(TOOL_LIBS) $(OPENSSL_LIBS) -lmosquitto -lpthread
CLEANFILES += bench/bench_policy$(EXEEXT)

bench-policy: bench/bench_policy$(EXEEXT)
	./bench/bench_policy$(EXEEXT)
bench: bench-policy
endif

# Registry throughput, sqlite: against postgresql://: `make bench-store`
# (not part of `make bench`: it needs libpq and a PostgreSQL 15).
if ENABLE_SERVER
if HAVE_LIBPQ
EXTRA_PROGRAMS += bench/bench_store
bench_bench_store_SOURCES = bench/bench_store.c $(BENCH_COMMON)
bench_bench_store_LDADD = $(TOOL_LIBS) $(OPENSSL_LIBS) -lpthread
CLEANFILES += bench/bench_store$(EXEEXT)

bench-store: bench/bench_store$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/store.sh'
endif
endif
EXTRA_DIST += bench/store.sh

# Issuance with the CA key in SoftHSM2 against a file key, in one run:
# `make bench-ca-hsm`.
if ENABLE_SERVER
if HAVE_PKCS11
EXTRA_PROGRAMS += bench/bench_ca_hsm
bench_bench_ca_hsm_SOURCES = bench/bench_ca_hsm.c $(BENCH_COMMON)
bench_bench_ca_hsm_LDADD = $(TOOL_LIBS) $(OPENSSL_LIBS) -lpthread
CLEANFILES += bench/bench_ca_hsm$(EXEEXT)
endif
endif
if HAVE_PKCS11_SERVER
bench-ca-hsm: bench/bench_ca_hsm$(EXEEXT)
	./bench/bench_ca_hsm$(EXEEXT)
bench: bench-ca-hsm
endif

# The fleet import and inventory pages on postgresql:// next to SQLite:
# `make bench-fleet-pg` (not part of `make bench`: it needs libpq and a
# PostgreSQL 15).
if ENABLE_SERVER
if HAVE_LIBPQ
bench-fleet-pg: bench/bench_fleet$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/fleet_pg.sh'
endif
endif
EXTRA_DIST += bench/fleet_pg.sh

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

# Fleet load generator and the deployments it runs against: `make
# bench-load` (bench/load.sh; BENCH_LOAD_* in its header choose the
# deployment and the fleet's size).
if ENABLE_SERVER
if ENABLE_DEVICE
noinst_PROGRAMS += bench/ztp-load
bench_ztp_load_SOURCES = bench/ztp-load.c $(BENCH_COMMON)
bench_ztp_load_LDADD = $(TOOL_LIBS) $(JSONC_LIBS) $(OPENSSL_LIBS) -lpthread

bench-load: all
	$(AM_TESTS_ENVIRONMENT) $(SHELL) '$(abs_top_srcdir)/bench/load.sh'
else
bench-load:
	@echo "bench-load: needs the device API (configured with --disable-device)"
endif
else
bench-load:
	@echo "bench-load: needs the server modules (configured with --disable-server)"
endif
EXTRA_DIST += bench/load.sh
.PHONY: bench-load
