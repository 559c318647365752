/* Shared helpers for the Check suites. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ztp/common.h>

int ztp_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *ztp_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *t;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&t, "%s/ztp-test-XXXXXX", base) < 0)
		return NULL;
	if (mkdtemp(t) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ztp_test_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *ztp_test_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

char *ztp_test_vector(const char *name)
{
	const char *dir = getenv("ZTP_VECTORS");
	char *p;
	int e;

	ck_assert_msg(dir != NULL && *dir != '\0',
		      "test vector %s: ZTP_VECTORS is unset (run the test "
		      "through 'make check', or set ZTP_VECTORS to the source "
		      "tree's tests/vectors)",
		      name);
	p = ztp_test_path(dir, name);
	ck_assert_msg(p != NULL, "test vector %s: out of memory", name);
	if (access(p, R_OK) != 0) {
		e = errno;
		ck_abort_msg("test vector %s: cannot read it: %s", p,
			     strerror(e));
	}
	return p;
}
