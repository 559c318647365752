# Benchmarks: built and run by `make bench`, never by `make check` (they
# print ratios against a baseline measured in the same run; nothing is
# asserted on timings). bench_policy links libmosquitto for its baseline.
.PHONY: bench
if ENABLE_SERVER
EXTRA_PROGRAMS = bench/bench_policy
bench_bench_policy_SOURCES = bench/bench_policy.c
bench_bench_policy_LDADD = $(TOOL_LIBS) -lmosquitto
CLEANFILES += bench/bench_policy$(EXEEXT)

bench: bench/bench_policy$(EXEEXT)
	./bench/bench_policy$(EXEEXT)
else
bench:
	@echo "bench: the benchmarks need the server APIs (--enable-server)"
endif
