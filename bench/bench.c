/*
 * libztp — helpers shared by the benchmark programs (bench/bench.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ztp/ztp.h>

#include "bench.h"

double bench_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_wall(void)
{
	return bench_clock(CLOCK_MONOTONIC);
}

double bench_cpu(void)
{
	return bench_clock(CLOCK_THREAD_CPUTIME_ID);
}

void bench_die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s failed: %s (%s)\n", bench_name, what,
		ztp_status_name(rc), ztp_error_last_message());
	exit(1);
}

void bench_fail(const char *what)
{
	const char *detail = ztp_error_last_message();

	if (detail != NULL && detail[0] != '\0')
		fprintf(stderr, "%s: %s: %s\n", bench_name, what, detail);
	else
		fprintf(stderr, "%s: %s\n", bench_name, what);
	exit(1);
}

long bench_env_long(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && v > 0 ? v : def;
}

char *bench_csr(EVP_PKEY *k, const char *cn)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	if (r == NULL || n == NULL || b == NULL)
		bench_fail("out of memory");
	if (cn != NULL && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
						     (const unsigned char *)cn,
						     -1, -1, 0) != 1)
		bench_fail("making a CSR");
	if (X509_REQ_set_subject_name(r, n) != 1 ||
	    X509_REQ_set_pubkey(r, k) != 1 ||
	    X509_REQ_sign(r, k, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(b, r) != 1)
		bench_fail("making a CSR");
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	if (out == NULL)
		bench_fail("out of memory");
	BIO_free(b);
	X509_NAME_free(n);
	X509_REQ_free(r);
	return out;
}
