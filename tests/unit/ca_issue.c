/*
 * CA: issuance under the device profile, refusals, validity clamping, key
 * policy, requests with bad signatures.
 */
#include "test_ca.h"

/* ---------------------------------------------------------- issuance */

static void check_leaf(X509 *x, const char *device, const char *tenant,
		       bool rsa)
{
	int crit = -1, i;
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *gens;
	X509_NAME *subj = X509_get_subject_name(x);
	X509 *issuer = pem_x509(g_iss_cert);
	char buf[128];

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	/* Subject: exactly CN=device. */
	ck_assert_int_eq(X509_NAME_entry_count(subj), 1);
	ck_assert_int_eq(
	    X509_NAME_get_text_by_NID(subj, NID_commonName, buf, sizeof(buf)),
	    (int)strlen(device));
	ck_assert_str_eq(buf, device);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(x),
				       X509_get_subject_name(issuer)),
			 0);
	/* basicConstraints: critical, CA:FALSE. */
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(!bc->ca);
	ck_assert_ptr_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	/* keyUsage: critical, exact. */
	ck_assert_int_eq(ext_critical(x, NID_key_usage), 1);
	ck_assert_uint_eq(X509_get_key_usage(x),
			  rsa ? (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)
			      : KU_DIGITAL_SIGNATURE);
	/* extendedKeyUsage: exactly clientAuth. */
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(eku);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
			 NID_client_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	/* SAN: exactly the device URI, then the tenant URI if any. */
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	ck_assert_ptr_nonnull(gens);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), tenant ? 2 : 1);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *u = g->d.uniformResourceIdentifier;

		ck_assert_int_eq(g->type, GEN_URI);
		snprintf(buf, sizeof(buf), "%s%s",
			 i == 0 ? "urn:ztp:device:" : "urn:ztp:tenant:",
			 i == 0 ? device : tenant);
		ck_assert_int_eq(ASN1_STRING_length(u), (int)strlen(buf));
		ck_assert(memcmp(ASN1_STRING_get0_data(u), buf, strlen(buf)) ==
			  0);
	}
	GENERAL_NAMES_free(gens);
	/* Key identifiers link to the issuer. */
	ck_assert_int_eq(ext_critical(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_critical(x, NID_authority_key_identifier), 0);
	ck_assert_int_eq(
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
				  X509_get0_subject_key_id(issuer)),
	    0);
	ck_assert_int_eq(X509_get_ext_count(x), 6);
	ck_assert_int_ge(serial_bits(x), 128);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(verify_chain(x, g_root_cert, g_untrusted, g_now),
			 X509_V_OK);
	/* Without the intermediates it does not verify. */
	ck_assert_int_ne(verify_chain(x, g_root_cert, NULL, g_now), X509_V_OK);
	X509_free(issuer);
}

START_TEST(test_issue_profile)
{
	EVP_PKEY *k = keygen("p256");
	char *csr = csr_pem(k, "evil",
			    "URI:urn:ztp:tenant:evil,URI:urn:ztp:device:evil");
	char *pem = NULL, *serial = NULL, *json = NULL;
	char fp[65], want[128];
	int64_t na = 0;
	X509 *x;

	register_device(store, "dev-2");
	/* Operational with a tenant: names come from the caller only. */
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, &na, csr, strlen(csr),
				     "dev-1", "acme", "operational", 0),
		     ZTP_OK);
	x = pem_x509(pem);
	check_leaf(x, "dev-1", "acme", false);
	ck_assert_int_eq(t_of(X509_get0_notBefore(x)), g_now - 60);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)), g_now + 365 * 86400);
	ck_assert_int_eq(na, g_now + 365 * 86400);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	/* Recorded, under the device, with this certificate's fingerprint,
	 * before it was returned. */
	{
		char *s = serial_hex_of(x);

		ck_assert_str_eq(s, serial);
		free(s);
	}
	ck_assert_uint_eq(strlen(serial), 34);
	ck_assert_rc(ztp_store_cert_get(store, serial, &json), ZTP_OK);
	fp_hex(fp, x);
	snprintf(want, sizeof(want), "\"fingerprint\":\"%s\"", fp);
	ck_assert_ptr_nonnull(strstr(json, want));
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":\"dev-1\""));
	ck_assert_ptr_nonnull(strstr(json, "\"profile\":\"operational\""));
	snprintf(want, sizeof(want), "\"not_after\":%lld",
		 (long long)(g_now + 365 * 86400));
	ck_assert_ptr_nonnull(strstr(json, want));
	ztp_free(json);
	ztp_free(serial);
	ztp_free(pem);
	X509_free(x);

	/* Bootstrap: 24 h, no tenant. */
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-2", NULL,
				  "bootstrap", 0),
		     ZTP_OK);
	x = pem_x509(pem);
	check_leaf(x, "dev-2", NULL, false);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)), g_now + 86400);
	ztp_free(pem);
	X509_free(x);
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-2", NULL,
				  "bootstrap", 3600),
		     ZTP_OK);
	x = pem_x509(pem);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)), g_now + 3600);
	ztp_free(pem);
	X509_free(x);

	/* Factory: recorded without a device (none is registered yet) and
	 * clamped to the issuing CA's notAfter. */
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "factory-77", NULL, "factory", 0),
		     ZTP_OK);
	x = pem_x509(pem);
	check_leaf(x, "factory-77", NULL, false);
	{
		X509 *iss = pem_x509(g_iss_cert);

		ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
				 t_of(X509_get0_notAfter(iss)));
		X509_free(iss);
	}
	ck_assert_rc(ztp_store_cert_get(store, serial, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":null"));
	ck_assert_ptr_nonnull(strstr(json, "\"profile\":\"factory\""));
	ztp_free(json);
	ztp_free(serial);
	ztp_free(pem);
	X509_free(x);

	EVP_PKEY_free(k);
	free(csr);
}
END_TEST

START_TEST(test_issue_refusals)
{
	char *csr = csr_for("p256");
	char *pem = (char *)"x", *serial = (char *)"x";
	size_t len = strlen(csr);
	uint64_t before = cert_count();
	ztp_ca *c = NULL;

	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, len, "dev/1",
				     NULL, "operational", 0),
		     ZTP_EINVAL);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(serial);
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev 1", NULL, "operational", 0),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev-1", "a+b", "operational", 0),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev-1", "acme", "factory", 0),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL, "ca", 0),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL, "bootstrap", 86401),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL, "operational", -1),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL,
				  "operational", 3651LL * 86400),
		     ZTP_EINVAL);
	/* Unregistered device. */
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "nobody", NULL, "operational", 0),
	    ZTP_ENOTFOUND);
	ck_assert_ptr_null(pem);
	/* Trailing garbage after the PEM block. */
	{
		char *junk = cat3(csr, "junk", NULL);

		ck_assert_rc(ztp_ca_issue(ca, &pem, junk, strlen(junk), "dev-1",
					  NULL, "operational", 0),
			     ZTP_EPARSE);
		free(junk);
	}
	/* The CA outside its validity. */
	{
		int64_t late = g_now + 3650LL * 86400;

		ck_assert_rc(ztp_ca_set_clock(ca, ztp_clock_fixed, &late),
			     ZTP_OK);
		ck_assert_rc(ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL,
					  "operational", 0),
			     ZTP_EEXPIRED);
		ck_assert_rc(ztp_ca_set_clock(ca, ztp_clock_fixed, &g_now),
			     ZTP_OK);
	}
	/* No store: nothing could be recorded, so nothing is issued. */
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, NULL, NULL), ZTP_OK);
	ck_assert_rc(
	    ztp_ca_issue(c, &pem, csr, len, "dev-1", NULL, "operational", 0),
	    ZTP_ESTATE);
	ck_assert_ptr_null(pem);
	ztp_ca_free(c);
	ck_assert_uint_eq(cert_count(), before);
	free(csr);
}
END_TEST

START_TEST(test_issue_clamp)
{
	ztp_ca *intm = NULL, *c = NULL;
	char *cert = NULL, *key = NULL, *csr = csr_for("ed25519"), *pem = NULL;
	X509 *x, *cx;

	/* An issuing CA valid for 2 days issues an operational certificate
	 * that would otherwise live a year. */
	ck_assert_rc(ztp_ca_new(&intm), ZTP_OK);
	ck_assert_rc(ztp_ca_load(intm, g_int_cert, g_int_key, NULL, NULL),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_ca_create_sub(intm, &cert, &key, "/CN=Short", NULL, 2, 0),
	    ZTP_OK);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(c, store), ZTP_OK);
	ck_assert_rc(ztp_ca_issue(c, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_OK);
	x = pem_x509(pem);
	cx = pem_x509(cert);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 t_of(X509_get0_notAfter(cx)));
	ck_assert(t_of(X509_get0_notAfter(x)) < g_now + 3 * 86400);
	X509_free(x);
	X509_free(cx);
	ztp_free(pem);
	ztp_free(cert);
	ztp_free(key);
	free(csr);
	ztp_ca_free(c);
	ztp_ca_free(intm);
}
END_TEST

START_TEST(test_issue_key_policy)
{
	static const char *const weak[] = {"rsa1024", "p192", "p224", "k256",
					   "dsa"};
	char *pem = NULL, *csr;
	uint64_t before = cert_count();
	X509 *x;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(weak); i++) {
		csr = csr_for(weak[i]);
		pem = NULL;
		ck_assert_msg(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1",
					   NULL, "operational",
					   0) == ZTP_EKEYPOLICY,
			      "%s accepted", weak[i]);
		ck_assert_ptr_null(pem);
		free(csr);
	}
	ck_assert_uint_eq(cert_count(), before);

	/* RSA-2048 is accepted by default, with keyEncipherment. */
	csr = csr_for("rsa2048");
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_OK);
	x = pem_x509(pem);
	check_leaf(x, "dev-1", NULL, true);
	X509_free(x);
	ztp_free(pem);
	/* ... and refused once the policy demands 3072 bits. */
	ck_assert_rc(ztp_ca_set_key_policy(ca, "ec-p256,rsa-3072"), ZTP_OK);
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_EKEYPOLICY);
	free(csr);
	csr = csr_for("p384");
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_EKEYPOLICY);
	free(csr);
	csr = csr_for("p256");
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_OK);
	ztp_free(pem);
	free(csr);
}
END_TEST

/* x, encoded and parsed again, certifies the public half of k. */
static bool reparsed_holds_key(X509 *x, EVP_PKEY *k)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int dlen = i2d_X509(x, &der);
	X509 *back;
	bool ok;

	ck_assert_int_gt(dlen, 0);
	p = der;
	back = d2i_X509(NULL, &p, dlen);
	ck_assert_ptr_nonnull(back);
	ck_assert(p == der + dlen);
	ok = X509_check_private_key(back, k) == 1;
	X509_free(back);
	OPENSSL_free(der);
	return ok;
}

START_TEST(test_issue_bad_signature)
{
	EVP_PKEY *k = keygen("p256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_BIT_STRING *sig = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *csr, *pem = (char *)"x";
	uint64_t before = cert_count();
	long len;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)"x", -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_REQ_set_pubkey(req, k);
	ck_assert_int_gt(X509_REQ_sign(req, k, EVP_sha256()), 0);
	/* Flip a bit inside the signature, keeping it well-formed DER. */
	X509_REQ_get0_signature(req, (const ASN1_BIT_STRING **)&sig, NULL);
	sig->data[sig->length - 1] ^= 0x01;
	ck_assert_int_eq(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &data);
	csr = strndup(data, (size_t)len);
	ck_assert_rc(ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_EBADSIG);
	ck_assert_ptr_null(pem);
	ck_assert_uint_eq(cert_count(), before);

	/* The same through the internal entry point, both with the CSR's
	 * own key and with a substituted one. */
	{
		X509 *out = NULL;
		EVP_PKEY *other = keygen("p256");

		ck_assert_rc(ztp__ca_issue_req(ca, &out, NULL, NULL, req, NULL,
					       "dev-1", NULL, "operational", 0),
			     ZTP_EBADSIG);
		sig->data[sig->length - 1] ^= 0x01;
		/* Now valid for k, not for other. */
		ck_assert_rc(ztp__ca_issue_req(ca, &out, NULL, NULL, req, other,
					       "dev-1", NULL, "operational", 0),
			     ZTP_EBADSIG);
		ck_assert_ptr_null(out);
		ck_assert_uint_eq(cert_count(), before);
		ck_assert_rc(ztp__ca_issue_req(ca, &out, NULL, NULL, req, NULL,
					       "dev-1", NULL, "operational", 0),
			     ZTP_OK);
		/* The key went in undecoded (see ca/internal.h): check it
		 * on the certificate as a relying party parses it. */
		ck_assert_ptr_null(X509_get0_pubkey(out));
		ERR_clear_error();
		ck_assert(reparsed_holds_key(out, k));
		X509_free(out);
		/* Possession established by the caller: no request at all. */
		out = NULL;
		ck_assert_rc(ztp__ca_issue_req(ca, &out, NULL, NULL, NULL, k,
					       "dev-1", NULL, "operational", 0),
			     ZTP_OK);
		ck_assert(reparsed_holds_key(out, k));
		X509_free(out);
		ck_assert_uint_eq(cert_count(), before + 2);
		EVP_PKEY_free(other);
	}
	BIO_free(b);
	X509_NAME_free(n);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	free(csr);
}
END_TEST

void ca_tcases_issue(Suite *s)
{
	TCase *tc;

	tc = tcase_create("issue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_issue_profile);
	tcase_add_test(tc, test_issue_refusals);
	tcase_add_test(tc, test_issue_clamp);
	tcase_add_test(tc, test_issue_key_policy);
	tcase_add_test(tc, test_issue_bad_signature);
	suite_add_tcase(s, tc);
}
