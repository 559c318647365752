/*
 * Core crypto: allocation failures never become verdicts.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ allocation
 * failures */

/*
 * Make allocation n fail for n = 1, 2, ... until the call succeeds: no
 * crash, no leak, and the documented codes only. The key policy must never
 * turn an allocation failure into a verdict (a device refused for a
 * transient failure). Signature verification reports ZTP_ENOMEM where
 * OpenSSL records the allocation failure; where OpenSSL loses it (it
 * needs memory to record it), the result is ZTP_EBADSIG, still a refusal.
 */
START_TEST(test_alloc_failure_verdicts)
{
	ztp__keypolicy p;
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed25519, k_rsa};
	ztp__sigalg alg;
	uint8_t *sig = NULL;
	size_t siglen = 0, i;
	long n;
	int rc;

	ztp__keypolicy_default(&p);
	for (i = 0; i < ZTP__ARRAY_LEN(keys); i++) {
		ck_assert_rc(ztp__sigalg_for_key(&alg, keys[i]), ZTP_OK);
		ck_assert_rc(ztp__sig_sign(&sig, &siglen, keys[i], alg, msg,
					   sizeof(msg)),
			     ZTP_OK);
		for (n = 1; n < 100000; n++) {
			ztp__alloc_fail_at(n);
			rc = ztp__keypolicy_check(&p, keys[i]);
			ztp__alloc_fail_at(0);
			ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM ||
					  rc == ZTP_ECRYPTO,
				      "key %zu, allocation %ld: policy said %d",
				      i, n, rc);
			if (rc == ZTP_OK)
				break;
		}
		for (n = 1; n < 100000; n++) {
			ztp__alloc_fail_at(n);
			rc = ztp__sig_verify(keys[i], alg, msg, sizeof(msg),
					     sig, siglen);
			ztp__alloc_fail_at(0);
			ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM ||
					  rc == ZTP_ECRYPTO ||
					  rc == ZTP_EBADSIG,
				      "key %zu, allocation %ld: verify said %d "
				      "(%s)",
				      i, n, rc, ztp_error_last_message());
			if (rc == ZTP_OK)
				break;
		}
		ck_assert_rc(rc, ZTP_OK);
		ztp_free(sig);
		sig = NULL;
		ERR_clear_error();
	}
}
END_TEST

void crypto_tcases_alloc(Suite *s)
{
	TCase *tc;

	tc = tcase_create("alloc_failure");
	tcase_add_test(tc, test_alloc_failure_verdicts);
	suite_add_tcase(s, tc);
}
