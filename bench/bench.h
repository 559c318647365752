/*
 * libztp — helpers shared by the benchmark programs under bench/ (never
 * installed, never part of the library): clocks, the exits on a failed
 * call, the environment knobs, a P-256 CSR.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each program defines `const char bench_name[] = "...";`, the prefix of
 * its messages (a program that does not fails to link).
 */
#ifndef ZTP_BENCH_H
#define ZTP_BENCH_H

#include <time.h>

#include <openssl/evp.h>

extern const char bench_name[];

/* Seconds on clock id. */
double bench_clock(clockid_t id);
/* Wall-clock seconds (CLOCK_MONOTONIC), for rates over threads. */
double bench_wall(void);
/* The calling thread's CPU seconds (CLOCK_THREAD_CPUTIME_ID), for rates
 * on one thread that other processes on the machine disturb least. */
double bench_cpu(void);

/* Prints "NAME: WHAT failed: STATUS (detail)" for the ztp status rc and the
 * calling thread's ztp error detail, and exits 1. */
void bench_die(const char *what, int rc) __attribute__((noreturn));
/* Prints "NAME: WHAT" and, when the calling thread has one, ": detail" of
 * the last ztp error, and exits 1: for failures with no ztp status at hand
 * (OpenSSL, the C library, a chain of calls). */
void bench_fail(const char *what) __attribute__((noreturn));

/* bench_die(what, rc) unless the ztp call expr returns 0. */
#define CHECK(what, expr)                                                      \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != 0)                                                  \
			bench_die(what, rc_);                                  \
	} while (0)

/* The environment variable name as a positive decimal number; def when it
 * is unset, not a number or not positive. */
long bench_env_long(const char *name, long def);

/* A PEM CSR for key k signed with SHA-256, with subject CN=cn (an empty
 * subject when cn is NULL); malloc'd, the caller frees it. Exits through
 * bench_fail on any failure. */
char *bench_csr(EVP_PKEY *k, const char *cn);

#endif
