/*
 * Core crypto: file reads and atomic and exclusive writes.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ files */

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_file_read)
{
	char *dir = ztp_test_tmpdir();
	char *p = ztp_test_path(dir, "f"), *e = ztp_test_path(dir, "empty");
	char *fifo = ztp_test_path(dir, "fifo");
	char *missing = ztp_test_path(dir, "missing");
	char *out = NULL;
	size_t n = 99;

	put_file(p, "hello\0world", 11);
	ck_assert_rc(ztp__file_read(&out, &n, p, 11), ZTP_OK);
	ck_assert_uint_eq(n, 11);
	ck_assert(memcmp(out, "hello\0world", 12) == 0); /* NUL-terminated */
	ztp_free(out);
	ck_assert_rc(ztp__file_read(&out, &n, p, 10), ZTP_ETOOBIG);
	ck_assert_ptr_null(out);
	ck_assert_rc(ztp__file_read(&out, NULL, p, 100), ZTP_OK);
	ztp_free(out);
	put_file(e, "", 0);
	ck_assert_rc(ztp__file_read(&out, &n, e, 0), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	ztp_free(out);
	/* Not regular files: a directory, a FIFO (must not block), a
	 * character device. */
	ck_assert_rc(ztp__file_read(&out, &n, dir, 1024), ZTP_EIO);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_rc(ztp__file_read(&out, &n, fifo, 1024), ZTP_EIO);
	assert_detail("not a regular file");
	ck_assert_rc(ztp__file_read(&out, &n, "/dev/zero", 1024), ZTP_EIO);
	ck_assert_rc(ztp__file_read(&out, &n, missing, 1024), ZTP_ENOTFOUND);
	ck_assert_rc(ztp__file_read(&out, &n, NULL, 1024), ZTP_EINVAL);
	ck_assert_rc(ztp__file_read(NULL, &n, p, 1024), ZTP_EINVAL);
	ztp_test_rmtree(dir);
	free(p);
	free(e);
	free(fifo);
	free(missing);
	free(dir);
}
END_TEST

/* Entries in dir other than . and .. */
static int count_entries(const char *dir)
{
	char cmd[512];
	FILE *f;
	int n = 0;
	char line[512];

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	pclose(f);
	return n;
}

START_TEST(test_file_write_atomic)
{
	char *dir = ztp_test_tmpdir();
	char *p = ztp_test_path(dir, "key.pem");
	char *sub = ztp_test_path(dir, "sub");
	char *target = ztp_test_path(dir, "target");
	char *link = ztp_test_path(dir, "link");
	char *out = NULL;
	struct stat st;
	size_t n;
	mode_t old;

	ck_assert_rc(ztp__file_write_atomic(p, "secret", 6, 0600), ZTP_OK);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "secret");
	ztp_free(out);
	/* Replace; no temporary left behind. */
	ck_assert_rc(ztp__file_write_atomic(p, "new", 3, 0600), ZTP_OK);
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "new");
	ztp_free(out);
	ck_assert_int_eq(count_entries(dir), 1);
	/* The requested mode holds whatever the umask. */
	old = umask(077);
	ck_assert_rc(ztp__file_write_atomic(p, "", 0, 0644), ZTP_OK);
	umask(old);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_size, 0);
	/* A symlink at the path is replaced, its target untouched. */
	put_file(target, "keep", 4);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_rc(ztp__file_write_atomic(link, "over", 4, 0600), ZTP_OK);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_rc(ztp__file_read(&out, &n, target, 100), ZTP_OK);
	ck_assert_str_eq(out, "keep");
	ztp_free(out);
	/* Failures leave nothing behind. */
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	n = (size_t)count_entries(dir);
	ck_assert_rc(ztp__file_write_atomic(sub, "x", 1, 0600), ZTP_EIO);
	ck_assert_int_eq(count_entries(dir), (int)n);
	ck_assert_int_eq(count_entries(sub), 0);
	free(sub);
	sub = ztp_test_path(dir, "nodir/file");
	ck_assert_rc(ztp__file_write_atomic(sub, "x", 1, 0600), ZTP_EIO);
	free(sub);
	sub = ztp_test_path(dir, "sub/");
	ck_assert_rc(ztp__file_write_atomic(sub, "x", 1, 0600), ZTP_EINVAL);
	if (geteuid() != 0) {
		char *ro = ztp_test_path(dir, "ro"), *rf;

		ck_assert_int_eq(mkdir(ro, 0500), 0);
		rf = ztp_test_path(ro, "f");
		ck_assert_rc(ztp__file_write_atomic(rf, "x", 1, 0600), ZTP_EIO);
		ck_assert_int_eq(chmod(ro, 0700), 0);
		free(rf);
		free(ro);
	}
	ck_assert_rc(ztp__file_write_atomic(NULL, "x", 1, 0600), ZTP_EINVAL);
	ck_assert_rc(ztp__file_write_atomic("", "x", 1, 0600), ZTP_EINVAL);
	ck_assert_rc(ztp__file_write_atomic(p, NULL, 1, 0600), ZTP_EINVAL);
	ztp_test_rmtree(dir);
	free(p);
	free(sub);
	free(target);
	free(link);
	free(dir);
}
END_TEST

/* The public face of the same writer, as the tools use it. */
START_TEST(test_file_write_exclusive)
{
	char *dir = ztp_test_tmpdir();
	char *p = ztp_test_path(dir, "ca.key");
	char *out = NULL;
	struct stat st;
	size_t n;

	ck_assert_rc(
	    ztp_file_write_atomic(p, "first", 5, 0600, ZTP_FILE_EXCLUSIVE),
	    ZTP_OK);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_nlink, 1);
	/* An existing file is never replaced, and nothing is left beside
	 * it. */
	ck_assert_rc(
	    ztp_file_write_atomic(p, "second", 6, 0600, ZTP_FILE_EXCLUSIVE),
	    ZTP_EEXISTS);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "exists"));
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "first");
	ztp_free(out);
	ck_assert_int_eq(count_entries(dir), 1);
	/* Without the flag it is. */
	ck_assert_rc(ztp_file_write_atomic(p, "second", 6, 0644, 0), ZTP_OK);
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "second");
	ztp_free(out);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(count_entries(dir), 1);
	/* Arguments. */
	ck_assert_rc(ztp_file_write_atomic(p, "x", 1, 0600, 2), ZTP_EINVAL);
	ck_assert_rc(ztp_file_write_atomic(p, "x", 1, 010000, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_file_write_atomic(NULL, "x", 1, 0600, 0), ZTP_EINVAL);
	ztp_test_rmtree(dir);
	free(p);
	free(dir);
}
END_TEST

/* Names in a configuration file resolve against the file's directory. */
START_TEST(test_path_dir_join)
{
	static const struct {
		const char *file, *name, *want;
	} cases[] = {
	    {"ztp.json", "ca.pem", "ca.pem"},
	    {"etc/ztp.json", "ca.pem", "etc/ca.pem"},
	    {"/etc/ztp/ztp.json", "ca.pem", "/etc/ztp/ca.pem"},
	    {"/ztp.json", "ca.pem", "//ca.pem"},
	    {"etc/ztp.json", "/abs/ca.pem", "/abs/ca.pem"},
	    {"ztp.json", "sub/ca.pem", "sub/ca.pem"},
	};
	char *dir, *out;

	for (size_t i = 0; i < ZTP__ARRAY_LEN(cases); i++) {
		ck_assert_rc(ztp__path_dir(&dir, cases[i].file), ZTP_OK);
		ck_assert_rc(ztp__path_join(&out, dir, cases[i].name), ZTP_OK);
		ck_assert_str_eq(out, cases[i].want);
		ztp_free(out);
		ztp_free(dir);
	}
	ck_assert_rc(ztp__path_dir(&dir, "ztp.json"), ZTP_OK);
	ck_assert_ptr_null(dir);
}
END_TEST

void crypto_tcases_files(Suite *s)
{
	TCase *tc;

	tc = tcase_create("file_read");
	tcase_add_test(tc, test_file_read);
	suite_add_tcase(s, tc);
	tc = tcase_create("file_write_atomic");
	tcase_add_test(tc, test_file_write_atomic);
	tcase_add_test(tc, test_file_write_exclusive);
	tcase_add_test(tc, test_path_dir_join);
	suite_add_tcase(s, tc);
}
