/*
 * Shared pieces of the hardening suite: failure-injection driver, test
 * PKI, CSRs, and the SQLite allocator hook.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_HARDENING_H
#define ZTP_HARDENING_H

#include "core/internal.h"

#include <check.h>
#include <stdbool.h>

#include "testutil.h"

/*
 * One step of an allocation-failure sweep: run the operation once, free or
 * check whatever it returned, and return its status. It runs with the
 * injection active, so it must not allocate through the library itself
 * except in the call under test.
 */
typedef int (*hz_op_fn)(void *ctx);
/* Called after every failed step with its status, with injection off:
 * assert that nothing changed (no record, no handle state). */
typedef void (*hz_check_fn)(void *ctx, int rc);

/*
 * Sweep the allocation-failure point n = 1, 2, ... over op until it
 * succeeds. Each failure must return one of the codes in allowed (a
 * ZTP_OK-terminated list; ZTP_ENOMEM is always allowed). When op makes
 * more than budget allocations, the points are spread evenly over them
 * (every point up to budget, then a stride), so the sweep stays bounded.
 * Prints a one-line summary on stderr; returns the number of points run.
 */
long hz_alloc_sweep(const char *what, hz_op_fn op, hz_check_fn check, void *ctx,
		    const int *allowed, long budget);

/*
 * The number of allocation points a sweep tests densely: the default
 * given, or $ZTP_SWEEP_BUDGET when set (smaller under valgrind, larger
 * for a thorough run). At least 1.
 */
long hz_sweep_budget(long dflt);

/*
 * Route SQLite's allocator through the library's failure counter. Must
 * run before SQLite is initialised (first thing in main). Returns 0 on
 * success. In a build without the server modules it does nothing.
 */
int hz_sqlite_hook(void);

/* A fresh key of the given type ("ec-p256", ...) and a CSR for it signed
 * with it, as PEM (free with ztp_free). CN is the given name. */
char *hz_csr(const char *key_type, const char *cn);

#define hz_assert_rc(expr, want) ck_assert_rc(expr, want)

#endif
