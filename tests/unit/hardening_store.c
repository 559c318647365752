/*
 * Store faults under a CA that records every issuance: a read-only SQLite
 * file, a full disk (RLIMIT_FSIZE) and corrupted files. The store must
 * fail closed with a clean error, and nothing may be issued without its
 * record.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening_server.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Codes a store fault may surface as through ztp_ca_issue. */
static bool store_fault_code(int rc)
{
	return rc == ZTP_ESTORE || rc == ZTP_EIO || rc == ZTP_ENOMEM;
}

/* A registry file with one issued certificate, closed again. Returns the
 * path of the file (in p->dir), and the PEM of the CA so that it can be
 * loaded again after the store is reopened. */
static char *registry_with_one_cert(hz_pki *p, char **csr)
{
	char *pem = NULL, *path;

	hz_pki_init(p, NULL);
	*csr = hz_csr("ec-p256", "x");
	ck_assert_ptr_nonnull(*csr);
	ck_assert_rc(ztp_ca_issue(p->ca, &pem, *csr, strlen(*csr), "dev-1",
				  NULL, "factory", 0),
		     ZTP_OK);
	ztp_free(pem);
	ztp_ca_set_store(p->ca, NULL);
	ztp_store_free(p->store);
	p->store = NULL;
	path = ztp_test_path(p->dir, "registry.db");
	ck_assert_ptr_nonnull(path);
	return path;
}

static uint64_t count_at(const char *path)
{
	ztp_store *s = NULL;
	char *uri = NULL;
	uint64_t n;

	ck_assert_int_ge(asprintf(&uri, "sqlite:%s", path), 0);
	ck_assert_rc(ztp_store_open(&s, uri), ZTP_OK);
	n = hz_cert_count(s);
	ztp_store_free(s);
	free(uri);
	return n;
}

/* Issue with ca into the store at uri; report the outcome on fd as one
 * line "<rc> <store-open-rc> <pem-null>". Runs in a child, which then
 * exits (the caller frees what it shares with the parent first, so that
 * leak checkers see a clean child). */
static void child_issue(const hz_pki *p, const char *uri, const char *csr,
			int fd)
{
	ztp_store *s = NULL;
	char *pem = NULL;
	int orc, rc = 1;

	orc = ztp_store_open(&s, uri);
	if (orc == ZTP_OK) {
		ztp_ca_set_store(p->ca, s);
		rc = ztp_ca_issue(p->ca, &pem, csr, strlen(csr), "dev-2", NULL,
				  "factory", 0);
	}
	dprintf(fd, "%d %d %d\n", rc, orc, pem == NULL);
	ztp_free(pem);
	ztp_ca_set_store(p->ca, NULL);
	ztp_store_free(s);
}

/* A child's share of the fixture, freed without removing the directory
 * the parent still checks. */
static void child_release(hz_pki *p, char *uri, char *path, char *csr)
{
	ztp_ca_free(p->ca);
	ztp_store_free(p->store);
	ztp_free(p->root_pem);
	ztp__free_secret(p->root_key, strlen(p->root_key));
	free(p->dir);
	free(uri);
	free(path);
	ztp_free(csr);
}

static void read_result(int fd, int *rc, int *orc, int *pem_null)
{
	char buf[128];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(sscanf(buf, "%d %d %d", rc, orc, pem_null), 3);
}

START_TEST(test_store_readonly)
{
	hz_pki p;
	char *csr = NULL, *path, *uri = NULL;
	int fds[2], status, rc, orc, pem_null;
	struct passwd *nobody;
	pid_t pid;

	path = registry_with_one_cert(&p, &csr);
	ck_assert_int_ge(asprintf(&uri, "sqlite:%s", path), 0);
	/* Readable, not writable, for whoever the child runs as: root
	 * ignores permission bits, so a root child becomes nobody. */
	ck_assert_int_eq(chmod(p.dir, 0755), 0);
	ck_assert_int_eq(chmod(path, 0444), 0);
	nobody = getpwnam("nobody");
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (geteuid() == 0 &&
		    (nobody == NULL || setgid(nobody->pw_gid) != 0 ||
		     setuid(nobody->pw_uid) != 0))
			_exit(3);
		child_issue(&p, uri, csr, fds[1]);
		child_release(&p, uri, path, csr);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	read_result(fds[0], &rc, &orc, &pem_null);
	close(fds[0]);
	fprintf(stderr, "store fault: read-only: open %s, issue %s\n",
		ztp_status_name(orc),
		orc == ZTP_OK ? ztp_status_name(rc) : "-");
	/* Either the store refuses to open read-only, or issuance fails:
	 * never a certificate without its record. */
	if (orc == ZTP_OK)
		ck_assert_msg(store_fault_code(rc),
			      "issue on a read-only "
			      "store returned %d",
			      rc);
	else
		ck_assert_int_eq(orc, ZTP_ESTORE);
	ck_assert_int_eq(pem_null, 1);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_uint_eq(count_at(path), 1);
	free(uri);
	free(path);
	ztp_free(csr);
	hz_pki_free(&p);
}
END_TEST

/*
 * Full disk: a child limits the size of any file it writes, then issues
 * until the store cannot grow. Every serial it got back must be recorded
 * (checked by the parent with no limit), the failing call must return a
 * store error and no certificate, and the file must stay intact.
 */
START_TEST(test_store_full_disk)
{
	hz_pki p;
	char *csr = NULL, *path, *uri = NULL, line[128], *json = NULL;
	int fds[2], status;
	pid_t pid;
	FILE *in;
	ztp_store *s = NULL;
	unsigned issued = 0, failures = 0;

	path = registry_with_one_cert(&p, &csr);
	ck_assert_int_ge(asprintf(&uri, "sqlite:%s", path), 0);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl;
		char *pem = NULL, *serial = NULL;
		int i, rc;

		close(fds[0]);
		signal(SIGXFSZ, SIG_IGN);
		if (ztp_store_open(&s, uri) != ZTP_OK)
			_exit(3);
		ztp_ca_set_store(p.ca, s);
		rl.rlim_cur = rl.rlim_max = 96 * 1024;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(4);
		for (i = 0; i < 2000; i++) {
			rc = ztp_ca_issue_ex(p.ca, &pem, &serial, NULL, csr,
					     strlen(csr), "dev-3", NULL,
					     "factory", 0);
			if (rc == ZTP_OK) {
				dprintf(fds[1], "ok %s\n", serial);
			} else {
				dprintf(fds[1], "fail %d %d\n", rc,
					pem == NULL && serial == NULL);
				if (++failures >= 5)
					break;
			}
			ztp_free(pem);
			ztp_free(serial);
			pem = serial = NULL;
		}
		ztp_ca_set_store(p.ca, NULL);
		ztp_store_free(s);
		child_release(&p, uri, path, csr);
		_exit(0);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(in);
	ck_assert_rc(ztp_store_open(&s, uri), ZTP_OK);
	while (fgets(line, sizeof(line), in) != NULL) {
		char serial[64];
		int rc, none;

		if (sscanf(line, "ok %63s", serial) == 1) {
			/* Recorded before it was returned: visible to another
			 * connection as soon as the child printed it. */
			ck_assert_rc(ztp_store_cert_get(s, serial, &json),
				     ZTP_OK);
			ztp_free(json);
			json = NULL;
			issued++;
			continue;
		}
		ck_assert_int_eq(sscanf(line, "fail %d %d", &rc, &none), 2);
		ck_assert_msg(store_fault_code(rc),
			      "full disk: issue returned "
			      "%d",
			      rc);
		ck_assert_int_eq(none, 1);
		failures++;
	}
	fclose(in);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	fprintf(stderr, "store fault: full disk: %u issued, then %u failures\n",
		issued, failures);
	ck_assert_msg(failures > 0,
		      "the size limit was never reached "
		      "(%u issued)",
		      issued);
	ztp_store_free(s);
	s = NULL;
	/* Reopened without the limit: every certificate handed out is
	 * there (the first was issued before), and the file is sound. */
	ck_assert_rc(ztp_store_open(&s, uri), ZTP_OK);
	ck_assert_uint_eq(hz_cert_count(s), 1 + issued);
	ck_assert_rc(ztp_store_device_get(s, "nobody-here", &json),
		     ZTP_ENOTFOUND);
	ztp_store_free(s);
	free(uri);
	free(path);
	ztp_free(csr);
	hz_pki_free(&p);
}
END_TEST

/* Every serial the child printed must be in the store: checked by serial,
 * not only by count, in the crash-consistency test; here the count is
 * exact because nothing else writes. */

typedef enum corruption {
	CORRUPT_GARBAGE,  /* not a database at all */
	CORRUPT_TRUNCATE, /* cut in half */
	CORRUPT_PAGES,	  /* junk over the b-tree header of pages 2.. */
	CORRUPT_HEADER,	  /* the 100-byte header */
	CORRUPT_FOREIGN,  /* a valid SQLite file of another application */
	CORRUPT__COUNT
} corruption;

static void corrupt(const char *path, corruption kind)
{
	struct stat st;
	int fd, i;
	unsigned char junk[512];

	ck_assert_int_eq(stat(path, &st), 0);
	for (i = 0; i < (int)sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 17);
	switch (kind) {
	case CORRUPT_GARBAGE:
		fd = open(path, O_WRONLY | O_TRUNC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "this is not a database\n", 23), 23);
		close(fd);
		break;
	case CORRUPT_TRUNCATE:
		ck_assert_int_eq(truncate(path, st.st_size / 2 + 1), 0);
		break;
	case CORRUPT_PAGES:
		fd = open(path, O_WRONLY);
		ck_assert_int_ge(fd, 0);
		for (i = 1; (off_t)i * 4096 < st.st_size; i++)
			ck_assert_int_eq(pwrite(fd, junk, 64, (off_t)i * 4096),
					 64);
		close(fd);
		break;
	case CORRUPT_HEADER:
		fd = open(path, O_WRONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pwrite(fd, junk, 100, 0), 100);
		close(fd);
		break;
	default:
		break;
	}
}

START_TEST(test_store_corrupt)
{
	corruption kind = (corruption)_i;
	hz_pki p;
	char *csr = NULL, *path, *uri = NULL, *pem = NULL, *serial = NULL;
	char *json = NULL, *wal, *shm;
	ztp_store *s = NULL;
	uint64_t n = 0;
	int rc, i, ok;

	path = registry_with_one_cert(&p, &csr);
	ck_assert_int_ge(asprintf(&uri, "sqlite:%s", path), 0);
	ck_assert_int_ge(asprintf(&wal, "%s-wal", path), 0);
	ck_assert_int_ge(asprintf(&shm, "%s-shm", path), 0);
	/* The store was closed cleanly: the WAL is checkpointed into the
	 * main file, which is what gets damaged. */
	unlink(wal);
	unlink(shm);
	if (kind == CORRUPT_FOREIGN) {
		/* Another application's database at the configured path. */
		ck_assert_int_eq(unlink(path), 0);
		{
			char *cmd = NULL;

			ck_assert_int_ge(
			    asprintf(&cmd,
				     "sqlite3 '%s' 'CREATE TABLE certs(x);"
				     " INSERT INTO certs VALUES(1);'",
				     path),
			    0);
			if (system(cmd) != 0) {
				/* Without the sqlite3 CLI, use the library's
				 * own knowledge: a garbage file instead. */
				kind = CORRUPT_GARBAGE;
			}
			free(cmd);
		}
	}
	corrupt(path, kind);

	rc = ztp_store_open(&s, uri);
	fprintf(stderr, "store fault: corruption %d: open %s%s%s\n", (int)kind,
		ztp_status_name(rc), rc == ZTP_OK ? "" : ": ",
		rc == ZTP_OK ? "" : ztp_error_last_message());
	if (rc != ZTP_OK) {
		ck_assert_msg(rc == ZTP_ESTORE,
			      "corruption %d: open gave %d "
			      "(%s)",
			      kind, rc, ztp_error_last_message());
		ck_assert_ptr_null(s);
		goto done;
	}
	/* The damage went unnoticed at open (it is in pages not read yet):
	 * every call either works or fails with a store error, and the CA
	 * never returns a certificate that it could not record. */
	ztp_ca_set_store(p.ca, s);
	ok = 0;
	for (i = 0; i < 20; i++) {
		rc = ztp_ca_issue_ex(p.ca, &pem, &serial, NULL, csr,
				     strlen(csr), "dev-9", NULL, "factory", 0);
		if (rc == ZTP_OK) {
			ck_assert_rc(ztp_store_cert_get(s, serial, &json),
				     ZTP_OK);
			ztp_free(json);
			json = NULL;
			ok++;
		} else {
			ck_assert_msg(store_fault_code(rc) || rc == ZTP_EEXISTS,
				      "corruption %d: issue gave %d (%s)", kind,
				      rc, ztp_error_last_message());
			ck_assert_ptr_null(pem);
			ck_assert_ptr_null(serial);
		}
		ztp_free(pem);
		ztp_free(serial);
		pem = serial = NULL;
	}
	fprintf(stderr,
		"store fault: corruption %d: %d of 20 issued (each "
		"recorded)\n",
		(int)kind, ok);
	rc = ztp_store_cert_count(s, &n);
	ck_assert_msg(rc == ZTP_OK || rc == ZTP_ESTORE, "count gave %d", rc);
	rc = ztp_store_device_get(s, "dev-1", &json);
	ck_assert_msg(rc == ZTP_ENOTFOUND || rc == ZTP_ESTORE || rc == ZTP_OK,
		      "device_get gave %d", rc);
	ztp_free(json);
	ztp_ca_set_store(p.ca, NULL);
	ztp_store_free(s);
done:
	free(wal);
	free(shm);
	free(uri);
	free(path);
	ztp_free(csr);
	hz_pki_free(&p);
}
END_TEST

void hz_add_store_fault_tests(Suite *s)
{
	TCase *tc = tcase_create("store_faults");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_readonly);
	tcase_add_test(tc, test_store_full_disk);
	tcase_add_loop_test(tc, test_store_corrupt, 0, CORRUPT__COUNT);
	suite_add_tcase(s, tc);
}
