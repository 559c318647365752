/* Shared helpers for the Check suites. */
#ifndef ZTP_TESTUTIL_H
#define ZTP_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* Run one suite with CK_ENV-style defaults; returns the process exit code. */
int ztp_test_run(Suite *s);
/* A new private directory under $TMPDIR; removed by ztp_test_rmtree. */
char *ztp_test_tmpdir(void);
void ztp_test_rmtree(const char *dir);
/* Path join into a malloc'd string. */
char *ztp_test_path(const char *dir, const char *name);
/*
 * Path of the public test vector NAME (relative to tests/vectors of the
 * source tree, which `make check` passes as $ZTP_VECTORS). Fails the
 * running test, naming the file, when it is missing or unreadable: a
 * vector is never optional. free() the result.
 */
char *ztp_test_vector(const char *name);

#define ck_assert_rc(expr, want)                                               \
	do {                                                                   \
		int rc_ = (expr);                                              \
		ck_assert_msg(rc_ == (want), "%s: got %d (%s), want %d",       \
			      #expr, rc_, ztp_error_last_message(), (want));   \
	} while (0)

#endif
