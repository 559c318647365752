/*
 * CA: revocation and CRLs.
 */
#include "test_ca.h"

/* ---------------------------------------------------------- revocation, CRL */

static long crl_number(X509_CRL *crl)
{
	int crit = -1;
	ASN1_INTEGER *n =
	    X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	long v;

	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(crit, 0);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

/* The reason recorded for serial in crl: -1 if listed without a reason
 * code, -2 if not listed. */
static int crl_reason(X509_CRL *crl, const char *serial_hex)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	BIGNUM *want = NULL;
	int i, r = -2;

	BN_hex2bn(&want, serial_hex);
	for (i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		X509_REVOKED *rev = sk_X509_REVOKED_value(revs, i);
		BIGNUM *bn = ASN1_INTEGER_to_BN(
		    X509_REVOKED_get0_serialNumber(rev), NULL);

		if (BN_cmp(bn, want) == 0) {
			ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(
			    rev, NID_crl_reason, NULL, NULL);

			r = e ? (int)ASN1_ENUMERATED_get(e) : -1;
			ck_assert_int_eq(
			    t_of(X509_REVOKED_get0_revocationDate(rev)), g_now);
			ASN1_ENUMERATED_free(e);
		}
		BN_free(bn);
	}
	BN_free(want);
	return r;
}

START_TEST(test_revoke_crl)
{
	char *csr = csr_for("p256"), *s[3], *pem = NULL, *json = NULL;
	X509_CRL *crl;
	X509 *cax = pem_x509(g_iss_cert);
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &s[i], NULL, csr,
					     strlen(csr), "dev-1", NULL,
					     "operational", 0),
			     ZTP_OK);
		ztp_free(pem);
	}
	/* Empty CRL first. */
	ck_assert_rc(ztp_ca_crl(ca, &pem, 0), ZTP_OK);
	crl = pem_crl(pem);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(cax)), 1);
	ck_assert_int_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	ck_assert_int_eq(crl_number(crl), 1);
	ck_assert_int_le(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	ck_assert_int_eq(t_of(X509_CRL_get0_lastUpdate(crl)), g_now);
	ck_assert_int_eq(t_of(X509_CRL_get0_nextUpdate(crl)),
			 g_now + 7 * 86400);
	X509_CRL_free(crl);
	ztp_free(pem);

	/* Revoke two, one with an upper-case serial and leading zeros. */
	ck_assert_rc(ztp_ca_revoke(ca, s[0], ZTP_CA_REASON_KEY_COMPROMISE),
		     ZTP_OK);
	{
		char up[64] = "000";
		size_t k;

		for (k = 0; s[2][k]; k++)
			up[3 + k] = (char)(s[2][k] >= 'a' && s[2][k] <= 'f'
					       ? s[2][k] - 'a' + 'A'
					       : s[2][k]);
		up[3 + k] = '\0';
		ck_assert_rc(ztp_ca_revoke(ca, up, ZTP_CA_REASON_UNSPECIFIED),
			     ZTP_OK);
	}
	/* A second revocation keeps the first reason. */
	ck_assert_rc(ztp_ca_revoke(ca, s[0], ZTP_CA_REASON_SUPERSEDED), ZTP_OK);
	ck_assert_rc(ztp_store_cert_get(store, s[0], &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"revoked\":true"));
	ztp_free(json);
	ck_assert_rc(ztp_ca_revoke(ca, "abcdef", 1), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_ca_revoke(ca, s[1], 7), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_revoke(ca, s[1], 8), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_revoke(ca, "00", 1), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_revoke(ca, "12g4", 1), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_revoke(ca, "", 1), ZTP_EINVAL);
	ck_assert_rc(
	    ztp_ca_revoke(ca, "1234567890123456789012345678901234567890a", 1),
	    ZTP_EINVAL);

	ck_assert_rc(ztp_ca_crl(ca, &pem, 1), ZTP_OK);
	crl = pem_crl(pem);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(cax)), 1);
	ck_assert_int_eq(
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cax)),
	    0);
	ck_assert_int_eq(crl_number(crl), 2);
	ck_assert_int_eq(t_of(X509_CRL_get0_nextUpdate(crl)), g_now + 3600);
	{
		AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(
		    crl, NID_authority_key_identifier, NULL, NULL);

		ck_assert_ptr_nonnull(akid);
		ck_assert_int_eq(
		    ASN1_OCTET_STRING_cmp(akid->keyid,
					  X509_get0_subject_key_id(cax)),
		    0);
		AUTHORITY_KEYID_free(akid);
	}
	ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	ck_assert_int_eq(crl_reason(crl, s[0]), ZTP_CA_REASON_KEY_COMPROMISE);
	ck_assert_int_eq(crl_reason(crl, s[2]), -1);
	ck_assert_int_eq(crl_reason(crl, s[1]), -2);
	/* OpenSSL finds the revoked serial in the CRL. */
	{
		X509_REVOKED *rev = NULL;
		ASN1_INTEGER *ai;
		BIGNUM *bn = NULL;

		BN_hex2bn(&bn, s[0]);
		ai = BN_to_ASN1_INTEGER(bn, NULL);
		ck_assert_int_eq(X509_CRL_get0_by_serial(crl, &rev, ai), 1);
		ASN1_INTEGER_free(ai);
		BN_free(bn);
	}
	ck_assert_rc(ztp_ca_revoke(ca, s[1], ZTP_CA_REASON_SUPERSEDED), ZTP_OK);
	X509_CRL_free(crl);
	ztp_free(pem);

	/* Numbers keep counting; the new revocation appears. */
	ck_assert_rc(ztp_ca_crl(ca, &pem, 0), ZTP_OK);
	crl = pem_crl(pem);
	ck_assert_int_eq(crl_number(crl), 3);
	ck_assert_int_eq(crl_reason(crl, s[1]), ZTP_CA_REASON_SUPERSEDED);
	X509_CRL_free(crl);
	ztp_free(pem);
	ck_assert_rc(ztp_ca_crl(ca, &pem, 8785), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_crl(ca, &pem, -1), ZTP_EINVAL);

	for (i = 0; i < 3; i++)
		ztp_free(s[i]);
	X509_free(cax);
	free(csr);
}
END_TEST

void ca_tcases_crl(Suite *s)
{
	TCase *tc;

	tc = tcase_create("revoke_crl");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_revoke_crl);
	suite_add_tcase(s, tc);
}
