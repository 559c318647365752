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
/* Directory of the public test vectors ($ZTP_VECTORS), or NULL. */
const char *ztp_test_vectors(void);

#define ck_assert_rc(expr, want)                                               \
	do {                                                                   \
		int rc_ = (expr);                                              \
		ck_assert_msg(rc_ == (want), "%s: got %d (%s), want %d", #expr,  \
			      rc_, ztp_error_last_message(), (want));          \
	} while (0)

#endif
