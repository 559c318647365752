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

/* ---------------------------------------------------------- CAs sharing a
 * store */

static ztp_ca *ca_on(ztp_store *st, const char *cert, const char *key,
		     const char *chain)
{
	ztp_ca *c = NULL;

	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, chain, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(c, st), ZTP_OK);
	ck_assert_rc(ztp_ca_set_clock(c, ztp_clock_fixed, &g_now), ZTP_OK);
	return c;
}

/* c's CRL, checked to be signed by c (and not by other), with its number. */
static X509_CRL *crl_of(ztp_ca *c, const char *cert_pem, const char *other_pem,
			long number)
{
	X509 *x = pem_x509(cert_pem), *o = pem_x509(other_pem);
	char *pem = NULL;
	X509_CRL *crl;

	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_OK);
	crl = pem_crl(pem);
	ztp_free(pem);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(x)), 1);
	ck_assert_int_ne(X509_CRL_verify(crl, X509_get0_pubkey(o)), 1);
	ck_assert_int_eq(
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(x)),
	    0);
	ck_assert_int_eq(crl_number(crl), number);
	X509_free(x);
	X509_free(o);
	return crl;
}

static int crl_entries(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);

	return revs != NULL ? sk_X509_REVOKED_num(revs) : 0;
}

/* The issuer recorded with serial. */
static void issuer_is(ztp_store *st, const char *serial, const char *ca_pem)
{
	X509 *x = pem_x509(ca_pem);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	char want[2 * 64 + 1], *json = NULL;
	json_object *o;

	ck_assert_ptr_nonnull(ski);
	ck_assert_int_le(ASN1_STRING_length(ski), 64);
	ztp__hex_encode(want, ASN1_STRING_get0_data(ski),
			(size_t)ASN1_STRING_length(ski));
	ck_assert_rc(ztp_store_cert_get(st, serial, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ztp_free(json);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(
	    json_object_get_string(json_object_object_get(o, "issuer")), want);
	json_object_put(o);
	X509_free(x);
}

/* Two issuing CAs and the intermediate above them (root+sub) record into
 * one store (memory:, then sqlite:): each CA's CRL lists only what it
 * issued, plus revocations of unknown issuer. */
START_TEST(test_crl_shared_store)
{
	char *dir = NULL, *path = NULL, *uri = NULL, *csr = csr_for("p256");
	char *sub_cert = NULL, *sub_key = NULL, *sub_serial = NULL;
	char *l1 = NULL, *l2 = NULL, *l3 = NULL, *pem = NULL, *chain2;
	ztp_store *st = NULL;
	ztp_ca *intm, *iss1, *iss2;
	X509_CRL *crl;
	X509 *x;

	if (_i == 0) {
		ck_assert_rc(ztp_store_open(&st, "memory:"), ZTP_OK);
	} else {
		dir = ztp_test_tmpdir();
		ck_assert_ptr_nonnull(dir);
		path = ztp_test_path(dir, "shared.db");
		uri = ztp_test_path("sqlite:", path);
		ck_assert_rc(ztp_store_open(&st, uri), ZTP_OK);
	}
	register_device(st, "dev-1");
	intm = ca_on(st, g_int_cert, g_int_key, g_root_cert);
	/* the intermediate issues a second issuing CA, recorded in st */
	ck_assert_rc(ztp_ca_create_sub(intm, &sub_cert, &sub_key,
				       "/CN=Second Issuing/O=libztp", NULL, 900,
				       0),
		     ZTP_OK);
	x = pem_x509(sub_cert);
	sub_serial = serial_hex_of(x);
	X509_free(x);
	chain2 = cat3(g_int_cert, g_root_cert, NULL);
	iss1 = ca_on(st, g_iss_cert, g_iss_key, g_chain);
	iss2 = ca_on(st, sub_cert, sub_key, chain2);

	ck_assert_rc(ztp_ca_issue_ex(iss1, &pem, &l1, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ztp_free(pem);
	ck_assert_rc(ztp_ca_issue_ex(iss2, &pem, &l2, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ztp_free(pem);
	ck_assert_rc(ztp_ca_issue_ex(iss1, &pem, &l3, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ztp_free(pem);
	issuer_is(st, l1, g_iss_cert);
	issuer_is(st, l2, sub_cert);
	issuer_is(st, sub_serial, g_int_cert);

	ck_assert_rc(ztp_ca_revoke(iss1, l1, ZTP_CA_REASON_KEY_COMPROMISE),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_revoke(iss2, l2, ZTP_CA_REASON_SUPERSEDED), ZTP_OK);
	ck_assert_rc(
	    ztp_ca_revoke(intm, sub_serial, ZTP_CA_REASON_CA_COMPROMISE),
	    ZTP_OK);

	crl = crl_of(iss1, g_iss_cert, sub_cert, 1);
	ck_assert_int_eq(crl_entries(crl), 1);
	ck_assert_int_eq(crl_reason(crl, l1), ZTP_CA_REASON_KEY_COMPROMISE);
	X509_CRL_free(crl);
	crl = crl_of(iss2, sub_cert, g_iss_cert, 1);
	ck_assert_int_eq(crl_entries(crl), 1);
	ck_assert_int_eq(crl_reason(crl, l2), ZTP_CA_REASON_SUPERSEDED);
	X509_CRL_free(crl);
	crl = crl_of(intm, g_int_cert, g_root_cert, 1);
	ck_assert_int_eq(crl_entries(crl), 1);
	ck_assert_int_eq(crl_reason(crl, sub_serial),
			 ZTP_CA_REASON_CA_COMPROMISE);
	X509_CRL_free(crl);

	/* a revocation of unknown issuer (recorded without one, as before
	 * stores kept issuers) is on every CRL */
	ck_assert_rc(ztp_store_cert_add(st, "7e57", "dev-1", "operational",
					g_now, g_now + 60,
					"00000000000000000000000000000000"
					"00000000000000000000000000000000"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(st, "7e57", 1, g_now), ZTP_OK);
	crl = crl_of(iss1, g_iss_cert, sub_cert, 2);
	ck_assert_int_eq(crl_entries(crl), 2);
	ck_assert_int_eq(crl_reason(crl, "7e57"), ZTP_CA_REASON_KEY_COMPROMISE);
	ck_assert_int_eq(crl_reason(crl, l2), -2);
	ck_assert_int_eq(crl_reason(crl, l3), -2);
	X509_CRL_free(crl);
	crl = crl_of(iss2, sub_cert, g_iss_cert, 2);
	ck_assert_int_eq(crl_entries(crl), 2);
	ck_assert_int_eq(crl_reason(crl, "7e57"), ZTP_CA_REASON_KEY_COMPROMISE);
	ck_assert_int_eq(crl_reason(crl, l1), -2);
	X509_CRL_free(crl);

	ztp_ca_free(iss1);
	ztp_ca_free(iss2);
	ztp_ca_free(intm);
	ztp_store_free(st);
	if (dir != NULL) {
		ztp_test_rmtree(dir);
		free(dir);
	}
	free(path);
	free(uri);
	free(chain2);
	free(sub_serial);
	ztp_free(sub_cert);
	ztp_free(sub_key);
	ztp_free(l1);
	ztp_free(l2);
	ztp_free(l3);
	free(csr);
}
END_TEST

/* A CA whose subject key identifier is longer than the store keeps is
 * refused at load, not at the first issuance. */
START_TEST(test_load_long_ski)
{
	EVP_PKEY *k = keygen("p256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	unsigned char id[65];
	BIO *b;
	char *data, *cert_pem, *key_pem;
	long len;
	ztp_ca *c = NULL;

	memset(id, 0x42, sizeof(id));
	ck_assert_int_eq(ASN1_OCTET_STRING_set(ski, id, sizeof(id)), 1);
	bc->ca = 1;
	ck_assert_int_eq(ASN1_BIT_STRING_set_bit(ku, 5, 1),
			 1); /* keyCertSign */
	ck_assert_int_eq(ASN1_BIT_STRING_set_bit(ku, 6, 1), 1); /* cRLSign */
	ck_assert_int_eq(X509_set_version(x, 2), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     n, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"Long SKI", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_set_subject_name(x, n), 1);
	ck_assert_int_eq(X509_set_issuer_name(x, n), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	ck_assert_int_eq(X509_set_pubkey(x, k), 1);
	ck_assert_int_eq(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0),
			 1);
	ck_assert_int_eq(X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0), 1);
	ck_assert_int_eq(
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, 0), 1);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_X509(b, x), 1);
	len = BIO_get_mem_data(b, &data);
	cert_pem = strndup(data, (size_t)len);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(
	    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(b, &data);
	key_pem = strndup(data, (size_t)len);
	BIO_free(b);

	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert_pem, key_pem, NULL, NULL),
		     ZTP_EPROFILE);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "subject key identifier"));
	ztp_ca_free(c);
	free(cert_pem);
	free(key_pem);
	ASN1_OCTET_STRING_free(ski);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

void ca_tcases_crl(Suite *s)
{
	TCase *tc;

	tc = tcase_create("revoke_crl");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_revoke_crl);
	tcase_add_loop_test(tc, test_crl_shared_store, 0, 2);
	tcase_add_test(tc, test_load_long_ski);
	suite_add_tcase(s, tc);
}
