/*
 * Allocation-failure sweeps over the server modules: store, CA, policy.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_BUDGET 400

/* 64 lowercase hex digits: a syntactically valid fingerprint. */
static const char FP[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

void hz_pki_init(hz_pki *p, const char *store_uri)
{
	char *uri = NULL;

	memset(p, 0, sizeof(*p));
	p->dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(p->dir);
	if (store_uri == NULL) {
		ck_assert_int_ge(
		    asprintf(&uri, "sqlite:%s/registry.db", p->dir), 0);
		store_uri = uri;
	}
	ck_assert_rc(ztp_store_open(&p->store, store_uri), ZTP_OK);
	free(uri);
	ck_assert_rc(ztp_ca_create_root(&p->root_pem, &p->root_key,
					"/CN=Hardening Device CA/O=libztp",
					"ec-p256", 30),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&p->ca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(p->ca, p->root_pem, p->root_key, NULL, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(p->ca, p->store), ZTP_OK);
}

void hz_pki_free(hz_pki *p)
{
	ztp_ca_free(p->ca);
	ztp_store_free(p->store);
	ztp_free(p->root_pem);
	if (p->root_key != NULL)
		ztp__free_secret(p->root_key, strlen(p->root_key));
	ztp_test_rmtree(p->dir);
	free(p->dir);
	memset(p, 0, sizeof(*p));
}

uint64_t hz_cert_count(ztp_store *s)
{
	uint64_t n = 0;

	ck_assert_rc(ztp_store_cert_count(s, &n), ZTP_OK);
	return n;
}

/* ------------------------------------------------------------------ store */

typedef struct store_ctx {
	ztp_store *store;
	unsigned k;	/* distinct records per step */
	uint64_t certs; /* certificate count before the step */
} store_ctx;

static void id_for(char *out, size_t cap, const char *pfx, unsigned k)
{
	snprintf(out, cap, "%s-%u", pfx, k);
}

static int op_device_add(void *vctx)
{
	store_ctx *c = vctx;
	char id[32];

	id_for(id, sizeof(id), "dev", ++c->k);
	return ztp_store_device_add(c->store, id, FP, "model-x", "batch-7",
				    1700000000);
}

static void check_device_absent(void *vctx, int rc)
{
	store_ctx *c = vctx;
	char id[32], *json = NULL;

	if (rc == ZTP_OK)
		return;
	id_for(id, sizeof(id), "dev", c->k);
	/* A failed add leaves no half-written device behind. */
	ck_assert_rc(ztp_store_device_get(c->store, id, &json), ZTP_ENOTFOUND);
	ck_assert_ptr_null(json);
}

static int op_device_get(void *vctx)
{
	store_ctx *c = vctx;
	char *json = NULL;
	int rc = ztp_store_device_get(c->store, "dev-fixed", &json);

	if (rc == ZTP_OK) {
		ck_assert_ptr_nonnull(json);
		ck_assert_ptr_nonnull(strstr(json, "dev-fixed"));
	} else {
		ck_assert_ptr_null(json);
	}
	ztp_free(json);
	return rc;
}

static int op_cert_add(void *vctx)
{
	store_ctx *c = vctx;
	char serial[32];

	snprintf(serial, sizeof(serial), "abc%x", ++c->k);
	return ztp_store_cert_add(c->store, serial, "dev-fixed", "operational",
				  1700000000, 1800000000, FP);
}

static void check_certs_unchanged(void *vctx, int rc)
{
	store_ctx *c = vctx;

	if (rc == ZTP_OK) {
		c->certs = hz_cert_count(c->store);
		return;
	}
	ck_assert_uint_eq(hz_cert_count(c->store), c->certs);
}

static int op_challenge(void *vctx)
{
	store_ctx *c = vctx;
	uint8_t id[16] = {0};

	c->k++;
	memcpy(id, &c->k, sizeof(c->k));
	return ztp_store_challenge_use(c->store, id, sizeof(id), 2000000000,
				       1700000000);
}

static void check_challenge_unused(void *vctx, int rc)
{
	store_ctx *c = vctx;
	uint8_t id[16] = {0};

	if (rc == ZTP_OK)
		return;
	/* The failed use did not consume it: the first real use works. */
	memcpy(id, &c->k, sizeof(c->k));
	ck_assert_rc(ztp_store_challenge_use(c->store, id, sizeof(id),
					     2000000000, 1700000000),
		     ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(c->store, id, sizeof(id),
					     2000000000, 1700000000),
		     ZTP_EREPLAY);
}

static int op_event(void *vctx)
{
	store_ctx *c = vctx;

	return ztp_store_event_append(c->store,
				      "{\"type\":\"test\",\"device\":\"d\"}");
}

static int op_claim(void *vctx)
{
	store_ctx *c = vctx;
	uint8_t h[32];
	char id[32];
	int rc;

	memset(h, 0x5a, sizeof(h));
	id_for(id, sizeof(id), "claim", c->k);
	rc = ztp_store_claim_take(c->store, id, h, sizeof(h), "tenant-a");
	return rc;
}

static void claim_setup(store_ctx *c);

static void check_claim_intact(void *vctx, int rc)
{
	store_ctx *c = vctx;
	char id[32], *json = NULL;

	if (rc == ZTP_OK) {
		/* That claim is spent: the next step gets a fresh device. */
		c->k++;
		claim_setup(c);
		return;
	}
	/* A failed take neither consumed the claim nor bound a tenant. */
	id_for(id, sizeof(id), "claim", c->k);
	ck_assert_rc(ztp_store_device_get(c->store, id, &json), ZTP_OK);
	ck_assert_ptr_null(strstr(json, "tenant-a"));
	ztp_free(json);
}

static void claim_setup(store_ctx *c)
{
	uint8_t h[32];
	char id[32];

	memset(h, 0x5a, sizeof(h));
	id_for(id, sizeof(id), "claim", c->k);
	ck_assert_rc(
	    ztp_store_device_add(c->store, id, FP, NULL, NULL, 1700000000),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_set_state(c->store, id,
						ZTP_STATE_MANUFACTURED,
						ZTP_STATE_REGISTERED, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(c->store, id, h, sizeof(h)), ZTP_OK);
}

static void store_sweeps(const char *uri)
{
	static const int store_codes[] = {ZTP_ESTORE, ZTP_OK};
	store_ctx c = {0};
	char *dir = NULL, *u = NULL, label[64];

	if (uri == NULL) {
		dir = ztp_test_tmpdir();
		ck_assert_ptr_nonnull(dir);
		ck_assert_int_ge(asprintf(&u, "sqlite:%s/r.db", dir), 0);
		uri = u;
	}
	ck_assert_rc(ztp_store_open(&c.store, uri), ZTP_OK);
	ck_assert_rc(ztp_store_device_add(c.store, "dev-fixed", FP, NULL, NULL,
					  1700000000),
		     ZTP_OK);
	c.certs = hz_cert_count(c.store);

#define SWEEP(name, op, check)                                                 \
	do {                                                                   \
		snprintf(label, sizeof(label), "%s %s",                        \
			 dir ? "sqlite" : "memory", name);                     \
		hz_alloc_sweep(label, op, check, &c, store_codes,              \
			       SWEEP_BUDGET);                                  \
	} while (0)
	SWEEP("device_add", op_device_add, check_device_absent);
	SWEEP("device_get", op_device_get, NULL);
	SWEEP("cert_add", op_cert_add, check_certs_unchanged);
	SWEEP("challenge_use", op_challenge, check_challenge_unused);
	SWEEP("event_append", op_event, NULL);
	c.k = 1;
	claim_setup(&c);
	SWEEP("claim_take", op_claim, check_claim_intact);
#undef SWEEP
	ztp_store_free(c.store);

	/* Opening (schema creation, then migration check) under failure. */
	if (dir != NULL) {
		ztp_store *s = NULL;
		char *json = NULL;
		int rc;
		long n;

		for (n = 1; n < 100000; n++) {
			ztp__alloc_fail_at(n);
			rc = ztp_store_open(&s, uri);
			ztp__alloc_fail_at(0);
			if (rc == ZTP_OK)
				break;
			ck_assert_ptr_null(s);
			ck_assert_msg(rc == ZTP_ENOMEM || rc == ZTP_ESTORE,
				      "store open: allocation %ld: %d (%s)", n,
				      rc, ztp_error_last_message());
		}
		ck_assert_rc(rc, ZTP_OK);
		/* Nothing was lost by the failed opens. */
		ck_assert_rc(ztp_store_device_get(s, "dev-fixed", &json),
			     ZTP_OK);
		ztp_free(json);
		ztp_store_free(s);
	}
	free(u);
	ztp_test_rmtree(dir);
	free(dir);
}

START_TEST(test_alloc_store_memory)
{
	store_sweeps("memory:");
}
END_TEST

START_TEST(test_alloc_store_sqlite)
{
	store_sweeps(NULL);
}
END_TEST

/* ------------------------------------------------------------------ CA */

typedef struct ca_ctx {
	hz_pki pki;
	char *csr;
	uint64_t certs;
	const char *profile;
	long late_records; /* failures that left an unreturned record */
} ca_ctx;

static int op_issue(void *vctx)
{
	ca_ctx *c = vctx;
	char *pem = NULL, *serial = NULL;
	int64_t na = 0;
	int rc =
	    ztp_ca_issue_ex(c->pki.ca, &pem, &serial, &na, c->csr,
			    strlen(c->csr), "dev-fixed", NULL, c->profile, 0);

	if (rc == ZTP_OK) {
		ck_assert_ptr_nonnull(pem);
		ck_assert_ptr_nonnull(serial);
		ck_assert_int_gt(na, 0);
	} else {
		/* Nothing is handed out on failure. */
		ck_assert_ptr_null(pem);
		ck_assert_ptr_null(serial);
	}
	ztp_free(pem);
	ztp_free(serial);
	return rc;
}

static void check_issue(void *vctx, int rc)
{
	ca_ctx *c = vctx;
	uint64_t now = hz_cert_count(c->pki.store);

	if (rc == ZTP_OK) {
		c->certs = now;
		return;
	}
	/* A failed issuance hands out nothing. Its record may exist only
	 * when the failure came after the commit (ztp_ca_issue documents
	 * that the record then stays as an unused serial): one record at
	 * most, and only for a memory failure (which the PEM encoder
	 * reports as ZTP_ECRYPTO). */
	ck_assert_msg(
	    now == c->certs || (now == c->certs + 1 &&
				(rc == ZTP_ENOMEM || rc == ZTP_ECRYPTO)),
	    "issue failed with %d but the store went from %llu to "
	    "%llu certificates",
	    rc, (unsigned long long)c->certs, (unsigned long long)now);
	if (now != c->certs)
		c->late_records++;
	c->certs = now;
}

static void ca_issue_sweep(const char *uri, const char *key_type)
{
	/* EPARSE: OpenSSL allocation failures inside d2i of the CSR read as
	 * "invalid DER" (documented code, misleading detail; reported). */
	static const int codes[] = {ZTP_ECRYPTO,    ZTP_ESTORE,	 ZTP_EPARSE,
				    ZTP_EKEYPOLICY, ZTP_EBADSIG, ZTP_OK};
	ca_ctx c = {0};
	char label[96];

	hz_pki_init(&c.pki, uri);
	ck_assert_rc(ztp_store_device_add(c.pki.store, "dev-fixed", FP, NULL,
					  NULL, 1700000000),
		     ZTP_OK);
	c.csr = hz_csr(key_type, "ignored");
	ck_assert_ptr_nonnull(c.csr);
	c.certs = hz_cert_count(c.pki.store);
	c.profile = "bootstrap";
	snprintf(label, sizeof(label), "ca_issue %s %s",
		 uri ? "memory" : "sqlite", key_type);
	hz_alloc_sweep(label, op_issue, check_issue, &c, codes, SWEEP_BUDGET);
	if (c.late_records > 0)
		fprintf(stderr,
			"alloc sweep: %s: %ld failures left an unreturned "
			"record\n",
			label, c.late_records);
	ztp_free(c.csr);
	hz_pki_free(&c.pki);
}

START_TEST(test_alloc_ca_issue_memory)
{
	ca_issue_sweep("memory:", "ec-p256");
	ca_issue_sweep("memory:", "ed25519");
}
END_TEST

START_TEST(test_alloc_ca_issue_sqlite)
{
	ca_issue_sweep(NULL, "ec-p256");
}
END_TEST

/* A server certificate, for the CSR's key (c->csr) or a fresh one. */
static int op_issue_server(void *vctx)
{
	ca_ctx *c = vctx;
	char *pem = NULL, *key = NULL, *serial = NULL;
	int64_t na = 0;
	int rc = ztp_ca_issue_server(
	    c->pki.ca, &pem, c->csr != NULL ? NULL : &key, &serial, &na, c->csr,
	    c->csr != NULL ? strlen(c->csr) : 0, NULL,
	    "{\"dns\":[\"verifier.example\"],\"ip\":[\"127.0.0.1\",\"::1\"]}",
	    0);

	if (rc == ZTP_OK) {
		ck_assert_ptr_nonnull(pem);
		ck_assert_ptr_nonnull(serial);
		ck_assert(c->csr != NULL || key != NULL);
		ck_assert_int_gt(na, 0);
	} else {
		ck_assert_ptr_null(pem);
		ck_assert_ptr_null(key);
		ck_assert_ptr_null(serial);
	}
	ztp_free(pem);
	if (key != NULL)
		ztp__free_secret(key, strlen(key));
	ztp_free(serial);
	return rc;
}

START_TEST(test_alloc_ca_issue_server)
{
	static const int codes[] = {ZTP_ECRYPTO,    ZTP_ESTORE,	 ZTP_EPARSE,
				    ZTP_EKEYPOLICY, ZTP_EBADSIG, ZTP_OK};
	ca_ctx c = {0};
	int with_csr;

	for (with_csr = 0; with_csr < 2; with_csr++) {
		hz_pki_init(&c.pki, "memory:");
		c.csr = with_csr ? hz_csr("ec-p256", "ignored") : NULL;
		c.certs = hz_cert_count(c.pki.store);
		c.late_records = 0;
		hz_alloc_sweep(with_csr ? "ca_issue_server csr"
					: "ca_issue_server fresh key",
			       op_issue_server, check_issue, &c, codes,
			       SWEEP_BUDGET);
		ztp_free(c.csr);
		hz_pki_free(&c.pki);
	}
}
END_TEST

/* An RFC 4514 subject with every kind of escape and a multi-valued RDN. */
static int op_create_root_rfc4514(void *vctx)
{
	char *cert = NULL, *key = NULL;
	int rc;

	(void)vctx;
	rc = ztp_ca_create_root(
	    &cert, &key,
	    "CN=Sweep\\ Root\\2c \\C3\\A9+OU=PKI,O=Acme\\, Inc.,C=DE",
	    "ec-p256", 10);
	if (rc != ZTP_OK) {
		ck_assert_ptr_null(cert);
		ck_assert_ptr_null(key);
		return rc;
	}
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
	return rc;
}

START_TEST(test_alloc_ca_create_rfc4514)
{
	static const int codes[] = {ZTP_ECRYPTO, ZTP_EINVAL, ZTP_OK};

	hz_alloc_sweep("ca_create_root rfc4514", op_create_root_rfc4514, NULL,
		       NULL, codes, SWEEP_BUDGET);
}
END_TEST

typedef struct root_ctx {
	int unused;
} root_ctx;

static int op_create_root(void *vctx)
{
	char *cert = NULL, *key = NULL;
	ztp_ca *ca = NULL;
	int rc;

	(void)vctx;
	rc = ztp_ca_create_root(&cert, &key, "/CN=Sweep Root", "ec-p256", 10);
	if (rc != ZTP_OK) {
		ck_assert_ptr_null(cert);
		ck_assert_ptr_null(key);
		return rc;
	}
	/* Loading is part of every verifier start. */
	rc = ztp_ca_new(&ca);
	if (rc == ZTP_OK)
		rc = ztp_ca_load(ca, cert, key, NULL, NULL);
	ztp_ca_free(ca);
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
	return rc;
}

START_TEST(test_alloc_ca_create_load)
{
	/* Documented codes of ztp_ca_create_root and ztp_ca_load, plus
	 * EUNSUPPORTED, which ztp_ca_load returns for a key it cannot
	 * describe when OpenSSL runs out of memory (not in its list). */
	static const int codes[] = {
	    ZTP_ECRYPTO,  ZTP_EPARSE,	 ZTP_EINVAL,	   ZTP_EKEYPOLICY,
	    ZTP_EPROFILE, ZTP_EMISMATCH, ZTP_EUNSUPPORTED, ZTP_OK};

	hz_alloc_sweep("ca_create_root+load", op_create_root, NULL, NULL, codes,
		       SWEEP_BUDGET);
}
END_TEST

static int op_crl(void *vctx)
{
	ca_ctx *c = vctx;
	char *crl = NULL;
	int rc = ztp_ca_crl(c->pki.ca, &crl, 24);

	if (rc == ZTP_OK)
		ck_assert_ptr_nonnull(crl);
	else
		ck_assert_ptr_null(crl);
	ztp_free(crl);
	return rc;
}

START_TEST(test_alloc_ca_revoke_crl)
{
	static const int codes[] = {ZTP_ECRYPTO, ZTP_ESTORE, ZTP_OK};
	ca_ctx c = {0};
	char *pem = NULL, *serial = NULL, *json = NULL;
	int i, rc;
	long n;

	hz_pki_init(&c.pki, NULL);
	c.csr = hz_csr("ec-p256", "x");
	ck_assert_ptr_nonnull(c.csr);
	for (i = 0; i < 3; i++) {
		ck_assert_rc(ztp_ca_issue_ex(c.pki.ca, &pem, &serial, NULL,
					     c.csr, strlen(c.csr), "dev-crl",
					     NULL, "factory", 0),
			     ZTP_OK);
		ztp_free(pem);
		if (i < 2) {
			ck_assert_rc(
			    ztp_ca_revoke(c.pki.ca, serial,
					  ZTP_CA_REASON_KEY_COMPROMISE),
			    ZTP_OK);
			ztp_free(serial);
		}
	}
	/* Revocation under failure: either revoked or untouched. */
	for (n = 1; n < 100000; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_ca_revoke(c.pki.ca, serial, ZTP_CA_REASON_SUPERSEDED);
		ztp__alloc_fail_at(0);
		if (rc == ZTP_OK)
			break;
		ck_assert_msg(rc == ZTP_ENOMEM || rc == ZTP_ESTORE,
			      "revoke: allocation %ld: %d (%s)", n, rc,
			      ztp_error_last_message());
		ck_assert_rc(ztp_store_cert_get(c.pki.store, serial, &json),
			     ZTP_OK);
		ck_assert_msg(strstr(json, "\"revoked\":true") == NULL,
			      "failed revoke changed the record: %s", json);
		ztp_free(json);
		json = NULL;
	}
	ck_assert_rc(rc, ZTP_OK);
	ztp_free(serial);
	hz_alloc_sweep("ca_crl", op_crl, NULL, &c, codes, SWEEP_BUDGET);
	ztp_free(c.csr);
	hz_pki_free(&c.pki);
}
END_TEST

/* ------------------------------------------------------------------ policy */

typedef struct policy_ctx {
	ztp_policy *p;
	char *doc;
} policy_ctx;

static const char TOPIC[] = "tenants/acme/devices/dev-1/telemetry";

static int op_policy_load(void *vctx)
{
	policy_ctx *c = vctx;

	return ztp_policy_load(c->p, c->doc, strlen(c->doc));
}

static void check_policy_closed(void *vctx, int rc)
{
	policy_ctx *c = vctx;

	if (rc == ZTP_OK) {
		ck_assert_rc(ztp_policy_authorize(c->p, "acme", "dev-1",
						  "dev-1", ZTP_POLICY_PUBLISH,
						  TOPIC, strlen(TOPIC)),
			     ZTP_OK);
		return;
	}
	/* A load that failed for lack of memory leaves no policy: deny. */
	ck_assert_rc(ztp_policy_authorize(c->p, "acme", "dev-1", "dev-1",
					  ZTP_POLICY_PUBLISH, TOPIC,
					  strlen(TOPIC)),
		     ZTP_EDENIED);
}

START_TEST(test_alloc_policy_load)
{
	static const int codes[] = {ZTP_OK};
	policy_ctx c = {0};
	int rc;

	ck_assert_rc(ztp_policy_new(&c.p), ZTP_OK);
	ck_assert_rc(ztp_policy_default_document(&c.doc), ZTP_OK);
	hz_alloc_sweep("policy_load default", op_policy_load,
		       check_policy_closed, &c, codes, SWEEP_BUDGET);
	/* Decisions never allocate: they work with every allocation
	 * failing, and still say no where they must. */
	ztp__alloc_fail_at(1);
	rc = ztp_policy_authorize(c.p, "acme", "dev-1", "dev-1",
				  ZTP_POLICY_PUBLISH, TOPIC, strlen(TOPIC));
	ck_assert_int_eq(rc, ZTP_OK);
	rc = ztp_policy_authorize(c.p, "other", "dev-1", "dev-1",
				  ZTP_POLICY_PUBLISH, TOPIC, strlen(TOPIC));
	ztp__alloc_fail_at(0);
	ck_assert_int_eq(rc, ZTP_EDENIED);
	ztp_free(c.doc);
	ztp_policy_free(c.p);
}
END_TEST

static int op_policy_new(void *vctx)
{
	ztp_policy *p = NULL;
	int rc = ztp_policy_new(&p);

	(void)vctx;
	if (rc != ZTP_OK)
		ck_assert_ptr_null(p);
	ztp_policy_free(p);
	return rc;
}

START_TEST(test_alloc_policy_new)
{
	static const int codes[] = {ZTP_ECRYPTO, ZTP_OK};

	hz_alloc_sweep("policy_new", op_policy_new, NULL, NULL, codes,
		       SWEEP_BUDGET);
}
END_TEST

void hz_add_alloc_server_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("alloc_store");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_alloc_store_memory);
	tcase_add_test(tc, test_alloc_store_sqlite);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc_ca");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_alloc_ca_issue_memory);
	tcase_add_test(tc, test_alloc_ca_issue_sqlite);
	tcase_add_test(tc, test_alloc_ca_create_load);
	tcase_add_test(tc, test_alloc_ca_issue_server);
	tcase_add_test(tc, test_alloc_ca_create_rfc4514);
	tcase_add_test(tc, test_alloc_ca_revoke_crl);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc_policy");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_alloc_policy_new);
	tcase_add_test(tc, test_alloc_policy_load);
	suite_add_tcase(s, tc);
}
