/*
 * libztp — issuance with the CA key in a PKCS#11 token (SoftHSM2) against
 * the same CA key type in a file, in one run: `make bench-ca-hsm`.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Both CAs are P-256 roots made by libztp (the token's key generated in
 * the token); each issues operational certificates from one CSR into a
 * memory store, first from one thread, then from THREADS threads sharing
 * the handle. Printed: certificates per second for each, and the token's
 * rate as a fraction of the file's (the baseline). Nothing is asserted.
 * Uses the public API only.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ztp/ztp.h>

#include "bench.h"

const char bench_name[] = "bench_ca_hsm";

#define THREADS 8
#define SECONDS 2.0

extern char **environ;

struct run {
	ztp_ca *ca;
	const char *csr;
	double until;
	long n;
};

static void *issue_loop(void *arg)
{
	struct run *r = arg;

	while (bench_wall() < r->until) {
		char *cert = NULL;

		if (ztp_ca_issue(r->ca, &cert, r->csr, strlen(r->csr), "dev-1",
				 NULL, ZTP_CA_PROFILE_OPERATIONAL, 0) != ZTP_OK)
			bench_fail("issue");
		ztp_free(cert);
		r->n++;
	}
	return NULL;
}

/* Certificates per second from threads threads for SECONDS. */
static double rate(ztp_ca *ca, const char *csr, int threads)
{
	pthread_t t[THREADS];
	struct run r[THREADS];
	double start = bench_wall();
	long total = 0;
	int i;

	for (i = 0; i < threads; i++) {
		r[i] = (struct run){ca, csr, start + SECONDS, 0};
		if (pthread_create(&t[i], NULL, issue_loop, &r[i]) != 0)
			bench_fail("pthread_create");
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += r[i].n;
	}
	return (double)total / (bench_wall() - start);
}

static ztp_ca *ca_with_store(const char *cert, const char *key,
			     const char *pass, ztp_store **s)
{
	ztp_ca *ca = NULL;

	if (ztp_store_open(s, "memory:") != ZTP_OK ||
	    ztp_store_device_add(*s, "dev-1",
				 "00000000000000000000000000000000"
				 "00000000000000000000000000000000",
				 NULL, NULL, (int64_t)time(NULL)) != ZTP_OK ||
	    ztp_ca_new(&ca) != ZTP_OK ||
	    ztp_ca_load(ca, cert, key, NULL, pass) != ZTP_OK ||
	    ztp_ca_set_store(ca, *s) != ZTP_OK)
		bench_fail("loading a CA");
	return ca;
}

int main(void)
{
	char dir[] = "/tmp/ztp-bench-hsm.XXXXXX", path[512], uri[1024];
	char *file_cert = NULL, *file_key = NULL, *tok_cert = NULL, *csr;
	EVP_PKEY *key;
	char *argv[] = {
	    "softhsm2-util", "--init-token", "--free",	 "--label", "bench",
	    "--pin",	     "1234",	     "--so-pin", "123456",  NULL};
	ztp_store *s1 = NULL, *s2 = NULL;
	ztp_ca *file_ca, *tok_ca;
	double f1, t1, f8, t8;
	posix_spawn_file_actions_t fa;
	FILE *f;
	pid_t pid;
	int st;

	if (access(ZTP_TEST_SOFTHSM_MODULE, R_OK) != 0) {
		fprintf(stderr, "bench_ca_hsm: no SoftHSM2 module at %s\n",
			ZTP_TEST_SOFTHSM_MODULE);
		return 1;
	}
	if (mkdtemp(dir) == NULL)
		bench_fail("mkdtemp");
	snprintf(path, sizeof(path), "%s/tokens", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	f = fopen(path, "w");
	if (f == NULL)
		bench_fail("softhsm2.conf");
	fprintf(f,
		"directories.tokendir = %s/tokens\nobjectstore.backend = "
		"file\nlog.level = ERROR\n",
		dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
					     0) != 0 ||
	    posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0 ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		bench_fail("softhsm2-util --init-token");
	posix_spawn_file_actions_destroy(&fa);
	snprintf(uri, sizeof(uri),
		 "pkcs11:token=bench;object=ca?module-path=%s",
		 ZTP_TEST_SOFTHSM_MODULE);

	if (ztp_ca_create_root(&file_cert, &file_key, "/CN=Bench File CA",
			       "ec-p256", 30) != ZTP_OK ||
	    ztp_ca_create_root_key(&tok_cert, uri, "1234", ZTP_CA_KEY_CREATE,
				   "/CN=Bench Token CA", "ec-p256",
				   30) != ZTP_OK)
		bench_fail("creating the CAs");
	file_ca = ca_with_store(file_cert, file_key, NULL, &s1);
	tok_ca = ca_with_store(tok_cert, uri, "1234", &s2);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL)
		bench_fail("keygen");
	csr = bench_csr(key, NULL);
	EVP_PKEY_free(key);

	f1 = rate(file_ca, csr, 1);
	t1 = rate(tok_ca, csr, 1);
	f8 = rate(file_ca, csr, THREADS);
	t8 = rate(tok_ca, csr, THREADS);
	printf("issuance, P-256 CA, operational certificates into a memory "
	       "store, %.0f s each\n",
	       SECONDS);
	printf("  %-28s %10s %10s %8s\n", "", "file key", "SoftHSM2",
	       "token/file");
	printf("  %-28s %10.0f %10.0f %8.2f\n", "1 thread (certs/s)", f1, t1,
	       t1 / f1);
	printf("  %-28s %10.0f %10.0f %8.2f\n", "8 threads, one handle", f8, t8,
	       t8 / f8);

	ztp_ca_free(file_ca);
	ztp_ca_free(tok_ca);
	ztp_store_free(s1);
	ztp_store_free(s2);
	ztp_free(file_cert);
	ztp_free(file_key);
	ztp_free(tok_cert);
	free(csr);
	{
		char *rm[] = {"rm", "-rf", "--", dir, NULL};

		if (posix_spawnp(&pid, "rm", NULL, NULL, rm, environ) == 0)
			waitpid(pid, &st, 0);
	}
	return 0;
}
