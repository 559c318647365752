/*
 * Failure-injection driver and helpers for the hardening suite.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#ifdef ZTP_HARDENING_SERVER
#include <sqlite3.h>
#endif

static bool code_allowed(const int *allowed, int rc)
{
	if (rc == ZTP_ENOMEM)
		return true;
	for (; allowed != NULL && *allowed != ZTP_OK; allowed++)
		if (*allowed == rc)
			return true;
	return false;
}

long hz_sweep_budget(long dflt)
{
	const char *e = getenv("ZTP_SWEEP_BUDGET");
	char *end = NULL;
	long v;

	if (e == NULL || *e == '\0')
		return dflt;
	v = strtol(e, &end, 10);
	return (end != NULL && *end == '\0' && v > 0) ? v : dflt;
}

long hz_alloc_sweep(const char *what, hz_op_fn op, hz_check_fn check, void *ctx,
		    const int *allowed, long budget)
{
	long total, n, step, points = 0, limit;
	int rc, seen[-ZTP_STATUS_MIN + 1];
	char codes[256] = "";
	size_t used = 0;
	int i;

	memset(seen, 0, sizeof(seen));
	budget = hz_sweep_budget(budget);
	/* A dry run counts the allocations and warms every lazily built
	 * cache (OpenSSL providers, SQLite schema), so the sweep probes the
	 * operation rather than one-time initialisation. */
	ztp__alloc_fail_at(0);
	rc = op(ctx);
	total = ztp__alloc_fail_at(0);
	ck_assert_msg(rc == ZTP_OK, "%s: dry run failed: %d (%s)", what, rc,
		      ztp_error_last_message());
	/* Keep the dry run's side effects out of the comparisons below. */
	if (check != NULL)
		check(ctx, ZTP_OK);
	step = total <= budget ? 1 : total / budget + 1;
	/* Allocation counts vary a little between runs (random serials,
	 * signature lengths): go past the dry run's count until it works. */
	limit = total * 2 + 1000;
	for (n = 1; n <= limit; n = n < budget ? n + 1 : n + step) {
		ERR_clear_error();
		ztp_error_clear();
		ztp__alloc_fail_at(n);
		rc = op(ctx);
		ztp__alloc_fail_at(0);
		points++;
		if (rc == ZTP_OK)
			break;
		ck_assert_msg(code_allowed(allowed, rc),
			      "%s: allocation %ld failed: undocumented code "
			      "%d (%s): %s",
			      what, n, rc, ztp_status_name(rc),
			      ztp_error_last_message());
		ck_assert_msg(ztp_error_last_code() == rc,
			      "%s: allocation %ld: error detail has code %d, "
			      "call returned %d",
			      what, n, ztp_error_last_code(), rc);
		seen[-rc]++;
		if (check != NULL)
			check(ctx, rc);
	}
	ck_assert_msg(rc == ZTP_OK,
		      "%s: still failing after %ld allocation points: %d (%s)",
		      what, points, rc, ztp_error_last_message());
	for (i = 1; i <= -ZTP_STATUS_MIN; i++)
		if (seen[i] > 0 && used < sizeof(codes) - 40)
			used += (size_t)snprintf(codes + used,
						 sizeof(codes) - used, " %s=%d",
						 ztp_status_name(-i), seen[i]);
	fprintf(stderr, "alloc sweep: %s: %ld allocations, %ld points,%s\n",
		what, total, points, codes);
	return points;
}

#ifdef ZTP_HARDENING_SERVER
/* SQLite asks for the size of its allocations: keep it in a 16-byte
 * header (which also preserves the alignment malloc gives). */
#define HZ_HDR 16

static void *sq_malloc(int n)
{
	unsigned char *p;

	if (n <= 0)
		return NULL;
	p = ztp__malloc((size_t)n + HZ_HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + HZ_HDR;
}

static void sq_free(void *p)
{
	if (p != NULL)
		free((unsigned char *)p - HZ_HDR);
}

static int sq_size(void *p)
{
	int n = 0;

	if (p != NULL)
		memcpy(&n, (unsigned char *)p - HZ_HDR, sizeof(n));
	return n;
}

static void *sq_realloc(void *p, int n)
{
	unsigned char *q;

	if (p == NULL)
		return sq_malloc(n);
	if (n <= 0)
		return NULL;
	q = ztp__realloc((unsigned char *)p - HZ_HDR, (size_t)n + HZ_HDR);
	if (q == NULL)
		return NULL;
	memcpy(q, &n, sizeof(n));
	return q + HZ_HDR;
}

static int sq_roundup(int n)
{
	return (n + 7) & ~7;
}

static int sq_init(void *ctx)
{
	(void)ctx;
	return SQLITE_OK;
}

static void sq_shutdown(void *ctx)
{
	(void)ctx;
}

int hz_sqlite_hook(void)
{
	static const sqlite3_mem_methods m = {
	    sq_malloc,	sq_free, sq_realloc,  sq_size,
	    sq_roundup, sq_init, sq_shutdown, NULL};

	return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? 0 : -1;
}
#else
int hz_sqlite_hook(void)
{
	return 0;
}
#endif

char *hz_csr(const char *key_type, const char *cn)
{
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name;
	char *pem = NULL;
	const EVP_MD *md;

	if (ztp__key_generate(&key, key_type) != ZTP_OK)
		goto done;
	req = X509_REQ_new();
	if (req == NULL || X509_REQ_set_version(req, 0) != 1)
		goto done;
	name = X509_REQ_get_subject_name(req);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1)
		goto done;
	md =
	    EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	if (X509_REQ_sign(req, key, md) <= 0)
		goto done;
	if (ztp__csr_to_pem(&pem, req) != ZTP_OK)
		pem = NULL;
done:
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return pem;
}
