/*
 * Helper for crash_consistency.sh: a process that issues certificates into
 * an SQLite registry and tells the "client" (stdout) each serial once
 * ztp_ca_issue_ex() has returned it, and a checker that looks serials up
 * through the library after the crashes.
 *
 *   crash_issue init DIR          create DIR/ca.pem, DIR/ca.key (root CA)
 *   crash_issue issue DIR CSR     issue forever into sqlite:DIR/registry.db
 *   crash_issue check DIR         read serials on stdin, each must be
 *                                 recorded (ztp_store_cert_get)
 *
 * Uses the public API only.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ztp/ztp.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "crash_issue: %s: %s: %s\n", what, ztp_strerror(rc),
		ztp_error_last_message());
	return 1;
}

static char *path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int write_file(const char *p, const char *data)
{
	FILE *f = fopen(p, "w");

	if (f == NULL || fputs(data, f) < 0 || fclose(f) != 0)
		return -1;
	return 0;
}

static char *read_file(const char *p)
{
	FILE *f = fopen(p, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = calloc(1, 65537);
	if (buf == NULL)
		abort();
	n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int cmd_init(const char *dir)
{
	char *cert = NULL, *key = NULL, *pc = path(dir, "ca.pem"),
	     *pk = path(dir, "ca.key");
	int rc;

	rc =
	    ztp_ca_create_root(&cert, &key, "/CN=Crash Test CA", "ec-p256", 30);
	if (rc != ZTP_OK)
		return fail("create root", rc);
	if (write_file(pc, cert) != 0 || write_file(pk, key) != 0) {
		perror("crash_issue: write");
		return 1;
	}
	ztp_free(cert);
	ztp_free(key);
	free(pc);
	free(pk);
	return 0;
}

static int open_store(ztp_store **s, const char *dir)
{
	char *db = path(dir, "registry.db");
	char *uri = malloc(strlen(db) + 8);
	int rc;

	if (uri == NULL)
		abort();
	snprintf(uri, strlen(db) + 8, "sqlite:%s", db);
	rc = ztp_store_open(s, uri);
	free(uri);
	free(db);
	return rc;
}

static int cmd_issue(const char *dir, const char *csr_path)
{
	char *pc = path(dir, "ca.pem"), *pk = path(dir, "ca.key");
	char *csr = read_file(csr_path), *pem = NULL, *serial = NULL;
	char line[128];
	ztp_store *s = NULL;
	ztp_ca *ca = NULL;
	int rc, n;

	if (csr == NULL) {
		perror("crash_issue: CSR");
		return 1;
	}
	if ((rc = open_store(&s, dir)) != ZTP_OK)
		return fail("open store", rc);
	if ((rc = ztp_ca_new(&ca)) != ZTP_OK ||
	    (rc = ztp_ca_load_files(ca, pc, pk, NULL, NULL)) != ZTP_OK ||
	    (rc = ztp_ca_set_store(ca, s)) != ZTP_OK)
		return fail("load CA", rc);
	for (;;) {
		rc = ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "crash-dev", NULL, "factory", 0);
		if (rc != ZTP_OK)
			return fail("issue", rc);
		/* One write per serial: the parent only counts whole lines,
		 * so a line is a certificate the client fully received. */
		n = snprintf(line, sizeof(line), "%s\n", serial);
		if (write(STDOUT_FILENO, line, (size_t)n) != n)
			return 1;
		ztp_free(pem);
		ztp_free(serial);
		pem = serial = NULL;
	}
}

static int cmd_check(const char *dir)
{
	char line[128], *json = NULL;
	ztp_store *s = NULL;
	unsigned long n = 0;
	int rc;

	if ((rc = open_store(&s, dir)) != ZTP_OK)
		return fail("open store after the crashes", rc);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		rc = ztp_store_cert_get(s, line, &json);
		if (rc != ZTP_OK) {
			fprintf(stderr, "serial %s: ", line);
			return fail("handed out but not recorded", rc);
		}
		ztp_free(json);
		json = NULL;
		n++;
	}
	ztp_store_free(s);
	printf("%lu serials recorded\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = ztp_init();

	if (rc != ZTP_OK)
		return fail("init", rc);
	if (argc == 3 && strcmp(argv[1], "init") == 0)
		return cmd_init(argv[2]);
	if (argc == 4 && strcmp(argv[1], "issue") == 0)
		return cmd_issue(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2]);
	fprintf(stderr, "usage: crash_issue init|issue|check DIR [CSR]\n");
	return 2;
}
