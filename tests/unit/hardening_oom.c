/*
 * Known bugs, kept as expected failures (XFAIL_TESTS in tests/hardening.mk)
 * until they are fixed: an allocation failure inside OpenSSL must surface
 * as ZTP_ENOMEM (or ZTP_ECRYPTO), never as a verdict about the input.
 * Reporting "bad signature", "malformed DER" or "key refused by policy"
 * for what was a lack of memory turns a transient server problem into a
 * permanent-looking refusal of an honest device, writes false security
 * events, and hides the real cause (STYLE.md: pass lower-level errors up).
 *
 * Built twice (tests/hardening.mk): hardening_oom_fixed holds the cases
 * that now pass (core maps an allocation failure recorded on OpenSSL's
 * error queue to ZTP_ENOMEM) and must keep passing; hardening_oom holds
 * those OpenSSL 3.0 cannot report (it fails the allocation without
 * recording it) and is an expected failure. If it ever passes, `make check`
 * reports XPASS: move the case to the fixed set then.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

static const uint8_t MSG[] = "ZTP-BOOTSTRAP-V1\0dev\0nonce\0hash";

/* core/crypto.c ztp__sig_verify: OpenSSL allocation failures during a
 * verification read as ZTP_EBADSIG (the EVP_DigestVerify result and the
 * key-type check via ec_curve() are taken as verdicts). */
START_TEST(test_oom_sig_verify_not_badsig)
{
	static const char *const types[] = {"ec-p256", "ec-p384", "ed25519",
					    "rsa-2048"};
	EVP_PKEY *key = NULL;
	ztp__sigalg alg;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	long n, total;
	int rc;

	ck_assert_rc(ztp__key_generate(&key, types[_i]), ZTP_OK);
	ck_assert_rc(ztp__sigalg_for_key(&alg, key), ZTP_OK);
	ck_assert_rc(ztp__sig_sign(&sig, &siglen, key, alg, MSG, sizeof(MSG)),
		     ZTP_OK);
	ztp__alloc_fail_at(0);
	ck_assert_rc(ztp__sig_verify(key, alg, MSG, sizeof(MSG), sig, siglen),
		     ZTP_OK);
	total = ztp__alloc_fail_at(0);
	for (n = 1; n <= total + 1; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp__sig_verify(key, alg, MSG, sizeof(MSG), sig, siglen);
		ztp__alloc_fail_at(0);
		ERR_clear_error();
		ck_assert_msg(rc != ZTP_EBADSIG,
			      "%s: allocation %ld of %ld failed and a valid "
			      "signature was reported as bad: %s",
			      types[_i], n, total, ztp_error_last_message());
	}
	ztp_free(sig);
	EVP_PKEY_free(key);
}
END_TEST

#ifdef ZTP_OOM_FIXED
/* core/pem.c der_to_cert (and the other d2i calls): an allocation
 * failure inside d2i_X509 read as ZTP_EPARSE "invalid DER" until core
 * looked for it on OpenSSL's error queue. */
START_TEST(test_oom_der_not_parse_error)
{
	EVP_PKEY *key = NULL;
	X509 *x = X509_new(), *y = NULL;
	unsigned char *der = NULL;
	long n, total;
	int len, rc;

	ck_assert_rc(ztp__key_generate(&key, "ec-p256"), ZTP_OK);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     X509_get_subject_name(x), "CN", MBSTRING_UTF8,
			     (const unsigned char *)"dev-1", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 60));
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	len = i2d_X509(x, &der);
	ck_assert_int_gt(len, 0);
	ztp__alloc_fail_at(0);
	ck_assert_rc(ztp__der_cert(&y, der, (size_t)len), ZTP_OK);
	X509_free(y);
	total = ztp__alloc_fail_at(0);
	for (n = 1; n <= total + 1; n++) {
		y = NULL;
		ztp__alloc_fail_at(n);
		rc = ztp__der_cert(&y, der, (size_t)len);
		ztp__alloc_fail_at(0);
		X509_free(y);
		ck_assert_msg(rc != ZTP_EPARSE,
			      "allocation %ld of %ld failed and a valid "
			      "certificate was reported as malformed: %s",
			      n, total, ztp_error_last_message());
	}
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}
END_TEST
#endif

#if defined(ZTP_HARDENING_SERVER) && !defined(ZTP_OOM_FIXED)
#include <ztp/ca.h>
#include <ztp/store.h>

/*
 * ca/ca.c ztp_ca_issue, through the core helpers above: an allocation
 * failure while issuing from a valid CSR is reported as the CSR's fault
 * (ZTP_EPARSE "CSR: invalid DER", ZTP_EBADSIG "csr: signature does not
 * verify", ZTP_EKEYPOLICY "key type ec-explicit-parameters not allowed").
 */
START_TEST(test_oom_ca_issue_not_csr_fault)
{
	char *cert = NULL, *key = NULL, *pem = NULL;
	char *csr = hz_csr("ec-p256", "x");
	ztp_store *store = NULL;
	ztp_ca *ca = NULL;
	long n, total;
	int rc;

	ck_assert_ptr_nonnull(csr);
	ck_assert_rc(ztp_store_open(&store, "memory:"), ZTP_OK);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=OOM CA", NULL, 30),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&ca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(ca, cert, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, store), ZTP_OK);
	ztp__alloc_fail_at(0);
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "factory", 0),
		     ZTP_OK);
	total = ztp__alloc_fail_at(0);
	ztp_free(pem);
	for (n = 1; n <= total + 1; n++) {
		pem = NULL;
		ztp__alloc_fail_at(n);
		rc = ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "factory", 0);
		ztp__alloc_fail_at(0);
		ztp_free(pem);
		ck_assert_msg(rc != ZTP_EPARSE && rc != ZTP_EBADSIG &&
				  rc != ZTP_EKEYPOLICY,
			      "allocation %ld of %ld failed and a valid CSR "
			      "was refused with %s: %s",
			      n, total, ztp_status_name(rc),
			      ztp_error_last_message());
	}
	ztp_ca_free(ca);
	ztp_store_free(store);
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
	ztp_free(csr);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("hardening_oom");
	TCase *tc;

	if (ztp__alloc_hook_openssl() != ZTP_OK || ztp_init() != ZTP_OK) {
		fprintf(stderr, "set-up: %s\n", ztp_error_last_message());
		return 99;
	}
#ifdef ZTP_OOM_FIXED
	/* Fixed: core reports an allocation failure OpenSSL records on its
	 * error queue as ZTP_ENOMEM. These must pass. */
	tc = tcase_create("sig_verify");
	tcase_add_loop_test(tc, test_oom_sig_verify_not_badsig, 0, 1);
	suite_add_tcase(s, tc);
	tc = tcase_create("der_cert");
	tcase_add_test(tc, test_oom_der_not_parse_error);
	suite_add_tcase(s, tc);
#else
	/* Still failing: OpenSSL 3.0 fails these allocations without
	 * recording anything (inside P-384 point arithmetic, Ed25519 and
	 * RSA-PSS verification, X509_REQ_verify), so the result cannot be
	 * told from a bad signature. Still a refusal, never an acceptance. */
	tc = tcase_create("sig_verify");
	tcase_add_loop_test(tc, test_oom_sig_verify_not_badsig, 1, 4);
	suite_add_tcase(s, tc);
#endif
#if defined(ZTP_HARDENING_SERVER) && !defined(ZTP_OOM_FIXED)
	tc = tcase_create("ca_issue");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_oom_ca_issue_not_csr_fault);
	suite_add_tcase(s, tc);
#endif
	return ztp_test_run(s);
}
