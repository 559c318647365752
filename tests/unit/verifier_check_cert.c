/*
 * Verifier: ztp_verifier_check_cert, the factory-certificate profile, chain
 * and validity.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ check_cert
 */

static int check(X509 *c, const char *untrusted, int64_t at, char **json)
{
	char *pem = vpki_pem(c);
	int rc = ztp_verifier_check_cert(v, json, pem, strlen(pem), untrusted,
					 untrusted ? strlen(untrusted) : 0, at);
	free(pem);
	return rc;
}

static void expect_check(X509 *c, const char *untrusted, int64_t at, int rc,
			 const char *code)
{
	char *json = NULL;

	ck_assert_rc(check(c, untrusted, at, &json), rc);
	ck_assert_ptr_nonnull(json);
	if (code != NULL)
		ck_assert_msg(strstr(json, code) != NULL, "want %s: %s", code,
			      json);
	else
		ck_assert_ptr_nonnull(strstr(json, "\"accepted\""));
	ztp_free(json);
}

START_TEST(check_cert_profile)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	vpki_cert_opts o = {.cn = "dev-9",
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = T0 - DAY,
			    .not_after = T0 + DAY};
	X509 *c;
	char *json = NULL;

	expect_check(factory, NULL, 0, ZTP_OK, NULL);
	ck_assert_rc(check(factory, NULL, 0, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":\"dev-1\""));
	ztp_free(json);
	ck_assert_rc(check(factory, NULL, 0, NULL), ZTP_OK);

#define VARIANT(field, value, rc, want)                                        \
	do {                                                                   \
		vpki_cert_opts p = o;                                          \
		p.field = value;                                               \
		c = vpki_cert(&p, k, issuing, ikey);                           \
		expect_check(c, NULL, 0, rc, want);                            \
		X509_free(c);                                                  \
	} while (0)

	VARIANT(bc, "critical,CA:TRUE", ZTP_EPROFILE,
		"bad_certificate_profile");
	VARIANT(bc, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(ku, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(ku, "critical,keyEncipherment", ZTP_EPROFILE,
		"bad_certificate_profile");
	VARIANT(eku, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(eku, "serverAuth", ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(eku, "anyExtendedKeyUsage", ZTP_EPROFILE,
		"bad_certificate_profile");
	VARIANT(cn, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(cn, "dev/1", ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(san, "URI:urn:ztp:device:other", ZTP_EMISMATCH,
		"bad_certificate_profile");
	VARIANT(eku, "serverAuth,clientAuth", ZTP_OK, NULL);
	VARIANT(san, "URI:urn:ztp:device:dev-9", ZTP_OK, NULL);
#undef VARIANT
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(check_cert_chain)
{
	EVP_PKEY *ok = vpki_key("ec-p256"), *oik = vpki_key("ec-p256"),
		 *dk = vpki_key("ec-p256"), *ek = vpki_key("ec-p256");
	X509 *oroot =
	    vpki_ca("Other Root", ok, NULL, NULL, T0 - DAY, T0 + DAY * 30);
	X509 *oiss =
	    vpki_ca("Maker Issuing", oik, oroot, ok, T0 - DAY, T0 + DAY * 30);
	X509 *leaf = vpki_leaf("dev-5", dk, oiss, oik, T0 - DAY, T0 + DAY);
	char *fake = vpki_pem2(oiss, oroot);
	vpki_cert_opts eo = {.cn = "dev-evil",
			     .bc = "critical,CA:TRUE",
			     .ku = "critical,digitalSignature,keyCertSign",
			     .eku = "clientAuth",
			     .not_before = T0 - DAY,
			     .not_after = T0 + DAY};
	X509 *evil = vpki_cert(&eo, ek, issuing, ikey);
	X509 *forged = vpki_leaf(DEV, dk, evil, ek, T0 - DAY, T0 + DAY);
	char *evil_pem = vpki_pem(evil);
	X509 *direct = vpki_leaf("dev-6", dk, root, rkey, T0 - DAY, T0 + DAY);
	X509 *selfsigned =
	    vpki_leaf("dev-7", dk, NULL, NULL, T0 - DAY, T0 + DAY);

	/* Another root, and the same with a device-supplied fake root. */
	expect_check(leaf, NULL, 0, ZTP_EUNTRUSTED, "untrusted_certificate");
	expect_check(leaf, fake, 0, ZTP_EUNTRUSTED, "untrusted_certificate");
	/* Signed by another device's wrongly CA:TRUE certificate: OpenSSL
	 * accepts the path, the issuer allowlist does not. */
	expect_check(forged, evil_pem, 0, ZTP_EUNTRUSTED, "issuer_not_allowed");
	/* Issued directly by the root, which is not an allowed issuer. */
	expect_check(direct, NULL, 0, ZTP_EUNTRUSTED, "issuer_not_allowed");
	expect_check(selfsigned, NULL, 0, ZTP_EUNTRUSTED,
		     "untrusted_certificate");
	/* Depth: root -> issuing -> leaf has one intermediate. */
	ck_assert_rc(ztp_verifier_set_max_chain_depth(v, 0), ZTP_OK);
	expect_check(factory, NULL, 0, ZTP_EUNTRUSTED, "untrusted_certificate");
	ck_assert_rc(ztp_verifier_set_max_chain_depth(v, 1), ZTP_OK);
	expect_check(factory, NULL, 0, ZTP_OK, NULL);
	/* Garbage. */
	ck_assert_rc(ztp_verifier_check_cert(v, NULL, "junk", 4, NULL, 0, 0),
		     ZTP_EPARSE);
	/* A broken leaf signature is caught although the issuing CA's own
	 * signature is verified only once, at configuration. */
	{
		unsigned char *der = NULL;
		const unsigned char *p;
		int len = i2d_X509(factory, &der);
		X509 *bad;

		der[len - 5] ^= 0x01;
		p = der;
		bad = d2i_X509(NULL, &p, len);
		ck_assert_ptr_nonnull(bad);
		expect_check(bad, NULL, 0, ZTP_EUNTRUSTED,
			     "untrusted_certificate");
		expect_check(bad, iss_pem, 0, ZTP_EUNTRUSTED,
			     "untrusted_certificate");
		X509_free(bad);
		OPENSSL_free(der);
	}
	/* Reconfiguring rebuilds what was verified once: the same anchors
	 * and issuers loaded again still accept, other anchors refuse. */
	ck_assert_rc(
	    ztp_verifier_set_trust_anchors(v, root_pem, strlen(root_pem)),
	    ZTP_OK);
	expect_check(factory, NULL, 0, ZTP_OK, NULL);
	{
		char *opem = vpki_pem(oroot);

		ck_assert_rc(
		    ztp_verifier_set_trust_anchors(v, opem, strlen(opem)),
		    ZTP_OK);
		expect_check(factory, NULL, 0, ZTP_EUNTRUSTED,
			     "untrusted_certificate");
		free(opem);
	}

	X509_free(oroot);
	X509_free(oiss);
	X509_free(leaf);
	X509_free(evil);
	X509_free(forged);
	X509_free(direct);
	X509_free(selfsigned);
	free(fake);
	free(evil_pem);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(oik);
	EVP_PKEY_free(dk);
	EVP_PKEY_free(ek);
}
END_TEST

START_TEST(check_cert_validity_boundaries)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	int64_t nb = T0 + 1000, na = T0 + 5000;
	X509 *c = vpki_leaf("dev-9", k, issuing, ikey, nb, na);

	/* leeway 60: valid over [nb - 60, na + 60], inclusive. */
	expect_check(c, NULL, nb - 61, ZTP_EEXPIRED, "certificate_expired");
	expect_check(c, NULL, nb - 60, ZTP_OK, NULL);
	expect_check(c, NULL, na + 60, ZTP_OK, NULL);
	expect_check(c, NULL, na + 61, ZTP_EEXPIRED, "certificate_expired");
	ck_assert_rc(ztp_verifier_set_clock_leeway(v, 0), ZTP_OK);
	expect_check(c, NULL, nb - 1, ZTP_EEXPIRED, "certificate_expired");
	expect_check(c, NULL, nb, ZTP_OK, NULL);
	expect_check(c, NULL, na, ZTP_OK, NULL);
	expect_check(c, NULL, na + 1, ZTP_EEXPIRED, "certificate_expired");
	/* The injected clock is used when no time is given. */
	clk = na + 1;
	expect_check(c, NULL, 0, ZTP_EEXPIRED, "certificate_expired");
	/* An expired issuing CA fails the chain check the same way. */
	clk = T0;
	ck_assert_rc(ztp_verifier_set_clock_leeway(v, 60), ZTP_OK);
	X509_free(c);
	c = vpki_leaf("dev-9", k, issuing, ikey, T0, T0 + 4000 * DAY);
	expect_check(c, NULL, T0 + 3650 * DAY + 60, ZTP_OK, NULL);
	expect_check(c, NULL, T0 + 3650 * DAY + 61, ZTP_EEXPIRED,
		     "certificate at depth 1 expired");
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

void verifier_tcases_check_cert(Suite *s)
{
	TCase *tc;

	ADD("ztp_verifier_check_cert", check_cert_profile);
	ADD("ztp_verifier_check_cert", check_cert_chain);
	ADD("ztp_verifier_check_cert", check_cert_validity_boundaries);
}
