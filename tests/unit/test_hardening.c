/*
 * Hardening: allocation-failure sweeps over the main paths, store faults
 * (read-only, full disk, corruption), many threads on shared handles, and
 * regression tests for inputs found by the fuzzers (fuzz/).
 *
 * Allocation failures reach the library (ztp__malloc & co), OpenSSL (its
 * allocator is routed through the same counter before OpenSSL allocates
 * anything) and SQLite (likewise, before it initialises). Each sweep makes
 * allocation n fail for n = 1, 2, ... until the operation succeeds and
 * asserts a documented error code, no output, no state change and, under
 * --enable-sanitizers, no leak.
 *
 * ThreadSanitizer: configure a separate build directory with
 *   ../configure --enable-tsan && make check TESTS=tests/unit/test_hardening
 * and the thread tests must report nothing.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#ifdef ZTP_HARDENING_SERVER
#include "hardening_server.h"
#endif
#ifdef ZTP_HARDENING_DEVICE
void hz_add_device_tests(Suite *s);
#endif

#define SWEEP_BUDGET 400

/* ------------------------------------------------------------------ core
 * sweeps */

static const char BOOTSTRAP_REQ[] =
    "{\"device_id\":\"dev-0001\",\"nonce\":\"bm9uY2U\","
    "\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END "
    "CERTIFICATE REQUEST-----\\n\",\"factory_cert\":\"x\","
    "\"factory_chain\":[\"a\",\"b\",\"c\"],\"signature\":\"AAAA\","
    "\"meta\":{\"n\":[1,2.5,true,null,{\"k\":\"\\u00e9\"}]}}";

static int op_json(void *ctx)
{
	json_object *o = NULL;
	const char *s = NULL;
	int rc;

	(void)ctx;
	rc = ztp__json_parse(&o, BOOTSTRAP_REQ, strlen(BOOTSTRAP_REQ), 65536,
			     ZTP_JSON_MAX_DEPTH);
	if (rc != ZTP_OK) {
		ck_assert_ptr_null(o);
		return rc;
	}
	ck_assert_ptr_nonnull(o);
	ck_assert_rc(ztp__json_str(o, "device_id", true, 64, &s, NULL), ZTP_OK);
	ck_assert_str_eq(s, "dev-0001");
	json_object_put(o);
	return rc;
}

START_TEST(test_alloc_json)
{
	static const int codes[] = {ZTP_OK};

	hz_alloc_sweep("json_parse", op_json, NULL, NULL, codes, SWEEP_BUDGET);
}
END_TEST

typedef struct pem_ctx {
	char *csr;
	char *cert;
	char *key;
} pem_ctx;

static int op_pem(void *vctx)
{
	pem_ctx *c = vctx;
	X509_REQ *req = NULL;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	char id[ZTP_ID_MAX + 1];
	char *out = NULL;
	int rc;

	rc = ztp__pem_csr(&req, c->csr, strlen(c->csr));
	if (rc != ZTP_OK)
		goto done;
	rc = ztp__pem_cert(&x, c->cert, strlen(c->cert));
	if (rc != ZTP_OK)
		goto done;
	rc = ztp__cert_device_id(id, x);
	if (rc != ZTP_OK)
		goto done;
	ck_assert_str_eq(id, "dev-0001");
	rc = ztp__pem_privkey(&key, c->key, strlen(c->key), NULL);
	if (rc != ZTP_OK)
		goto done;
	rc = ztp__cert_to_pem(&out, x);
done:
	if (rc != ZTP_OK) {
		ck_assert_ptr_null(out);
	}
	ztp_free(out);
	EVP_PKEY_free(key);
	X509_free(x);
	X509_REQ_free(req);
	return rc;
}

/* A self-signed certificate naming dev-0001, its key, and a CSR. */
static void pem_fixture(pem_ctx *c)
{
	EVP_PKEY *key = NULL;
	X509 *x = X509_new();
	X509_NAME *n;

	c->csr = hz_csr("ec-p256", "dev-0001");
	ck_assert_ptr_nonnull(c->csr);
	ck_assert_rc(ztp__key_generate(&key, "ec-p256"), ZTP_OK);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	n = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     n, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"dev-0001", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_set_issuer_name(x, n), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	ck_assert_rc(ztp__cert_to_pem(&c->cert, x), ZTP_OK);
	ck_assert_rc(ztp__privkey_to_pem(&c->key, key, NULL), ZTP_OK);
	X509_free(x);
	EVP_PKEY_free(key);
}

START_TEST(test_alloc_pem)
{
	static const int codes[] = {ZTP_EPARSE, ZTP_ECRYPTO, ZTP_EPROFILE,
				    ZTP_OK};
	pem_ctx c = {0};

	pem_fixture(&c);
	hz_alloc_sweep("pem csr+cert+key+device_id", op_pem, NULL, &c, codes,
		       SWEEP_BUDGET);
	ztp_free(c.csr);
	ztp_free(c.cert);
	ztp__free_secret(c.key, strlen(c.key));
}
END_TEST

typedef struct sig_ctx {
	EVP_PKEY *key;
	ztp__sigalg alg;
} sig_ctx;

static int op_sig(void *vctx)
{
	static const uint8_t msg[] = "ZTP-BOOTSTRAP-V1\0dev\0nonce\0hash";
	sig_ctx *c = vctx;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	char *b64 = NULL;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int rc;

	rc = ztp__sig_sign(&sig, &siglen, c->key, c->alg, msg, sizeof(msg));
	if (rc != ZTP_OK)
		goto done;
	rc = ztp__b64_encode(&b64, sig, siglen);
	if (rc != ZTP_OK)
		goto done;
	rc = ztp__b64_decode(&raw, &rawlen, b64, strlen(b64));
	if (rc != ZTP_OK)
		goto done;
	/* A verification that cannot run must never read as valid. */
	rc = ztp__sig_verify(c->key, c->alg, msg, sizeof(msg), raw, rawlen);
done:
	ztp_free(sig);
	ztp_free(b64);
	ztp_free(raw);
	return rc;
}

START_TEST(test_alloc_signatures)
{
	/* EINVAL/EBADSIG: signing and verification report some OpenSSL
	 * allocation failures as "key does not fit the algorithm" or as a
	 * signature that does not verify (fail closed, misleading code). */
	static const int codes[] = {ZTP_ECRYPTO, ZTP_EINVAL, ZTP_EBADSIG,
				    ZTP_OK};
	static const char *const types[] = {"ec-p256", "ec-p384", "ed25519",
					    "rsa-2048"};
	sig_ctx c = {0};
	char label[64];
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(types); i++) {
		ck_assert_rc(ztp__key_generate(&c.key, types[i]), ZTP_OK);
		ck_assert_rc(ztp__sigalg_for_key(&c.alg, c.key), ZTP_OK);
		snprintf(label, sizeof(label), "sign+verify %s", types[i]);
		hz_alloc_sweep(label, op_sig, NULL, &c, codes, SWEEP_BUDGET);
		EVP_PKEY_free(c.key);
		c.key = NULL;
	}
}
END_TEST

typedef struct file_ctx {
	char *dir;
	char *path;
} file_ctx;

static const char FILE_DATA[] = "{\"secret\":\"key material\"}\n";

static int op_file(void *vctx)
{
	const char *data = FILE_DATA;
	file_ctx *c = vctx;
	char *back = NULL;
	size_t len = 0;
	int rc;

	rc = ztp__file_write_atomic(c->path, data, sizeof(FILE_DATA) - 1, 0600);
	if (rc != ZTP_OK)
		return rc;
	rc = ztp__file_read(&back, &len, c->path, 4096);
	if (rc == ZTP_OK) {
		ck_assert_uint_eq(len, sizeof(FILE_DATA) - 1);
		ck_assert_mem_eq(back, data, len);
	}
	ztp_free(back);
	return rc;
}

static void check_file(void *vctx, int rc)
{
	file_ctx *c = vctx;
	char *back = NULL;
	size_t len = 0;

	(void)rc;
	/* Whatever failed, the file is either absent or whole: an atomic
	 * write never leaves a truncated file behind. */
	if (ztp__file_read(&back, &len, c->path, 4096) == ZTP_OK) {
		ck_assert_uint_eq(len, sizeof(FILE_DATA) - 1);
		ztp_free(back);
	}
}

START_TEST(test_alloc_files)
{
	static const int codes[] = {ZTP_EIO, ZTP_OK};
	file_ctx c;

	c.dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(c.dir);
	c.path = ztp_test_path(c.dir, "state.json");
	hz_alloc_sweep("file write_atomic+read", op_file, check_file, &c, codes,
		       SWEEP_BUDGET);
	ztp_test_rmtree(c.dir);
	free(c.path);
	free(c.dir);
}
END_TEST

/* ------------------------------------------------------------------ fuzz
 * regressions */

/*
 * Inputs the fuzzers (fuzz/) found or that guard the invariants they
 * check. Each documents the property it protects.
 */
START_TEST(test_fuzz_json_roundtrip)
{
	/* What the library serialises it can parse back, for every
	 * document it accepts (the json harness's invariant). */
	static const char *const docs[] = {
	    "{\"a\":1e300}",
	    "[-0.0,1E-7,123456789012345678901234567890]",
	    "\"\\ud83d\\ude00\\u00e9\\/\"",
	    "{\"\":{\"\":[]}}",
	};
	json_object *o = NULL, *back = NULL;
	char *dump = NULL;
	size_t i;
	int rc;

	for (i = 0; i < ZTP__ARRAY_LEN(docs); i++) {
		rc = ztp__json_parse(&o, docs[i], strlen(docs[i]), 4096, 16);
		ck_assert_msg(rc == ZTP_OK, "%s: %s", docs[i],
			      ztp_error_last_message());
		ck_assert_rc(ztp__json_dump(&dump, o), ZTP_OK);
		rc = ztp__json_parse(&back, dump, strlen(dump), 4096, 16);
		ck_assert_msg(rc == ZTP_OK, "%s -> %s: %s", docs[i], dump,
			      ztp_error_last_message());
		json_object_put(back);
		json_object_put(o);
		ztp_free(dump);
	}
}
END_TEST

static Suite *hardening_suite(void)
{
	Suite *s = suite_create("hardening");
	TCase *tc;

	tc = tcase_create("alloc_core");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_alloc_json);
	tcase_add_test(tc, test_alloc_pem);
	tcase_add_test(tc, test_alloc_signatures);
	tcase_add_test(tc, test_alloc_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz_regressions");
	tcase_add_test(tc, test_fuzz_json_roundtrip);
	suite_add_tcase(s, tc);

#ifdef ZTP_HARDENING_DEVICE
	hz_add_device_tests(s);
#endif
#ifdef ZTP_HARDENING_SERVER
	hz_add_alloc_server_tests(s);
	hz_add_store_fault_tests(s);
	hz_add_thread_tests(s);
	hz_add_verifier_tests(s);
#endif
	return s;
}

int main(void)
{
	/* Before anything else: OpenSSL and SQLite accept a new allocator
	 * only until their first allocation. */
	if (ztp__alloc_hook_openssl() != ZTP_OK) {
		fprintf(stderr, "cannot hook OpenSSL's allocator: %s\n",
			ztp_error_last_message());
		return 99;
	}
	if (hz_sqlite_hook() != 0) {
		fprintf(stderr, "cannot hook SQLite's allocator\n");
		return 99;
	}
	if (ztp_init() != ZTP_OK) {
		fprintf(stderr, "ztp_init: %s\n", ztp_error_last_message());
		return 99;
	}
	return ztp_test_run(hardening_suite());
}
