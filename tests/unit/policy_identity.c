/*
 * Policy: Identities from client certificates: the one identity rule, chains,
 * validity.
 */
#include "core/internal.h"
#include "policy/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include <ztp/policy.h>

#include "test_policy.h"

/* ----------------------------------------------------------------- identity */

typedef struct pki {
	EVP_PKEY *ca_key, *other_key, *leaf_key;
	X509 *ca, *other;
	char *ca_pem, *other_pem;
} pki;

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer,
		       const char *cn, bool ca, const char *san,
		       int64_t not_before, int64_t not_after)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	static long serial = 1;

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext =
	    X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
				  ca ? "critical,keyCertSign,cRLSign"
				     : "critical,digitalSignature");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext =
	    X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (issuer) {
		ext = X509V3_EXT_conf_nid(
		    NULL, &v3, NID_authority_key_identifier, "keyid");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!ca) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage,
					  "clientAuth");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (san) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		ck_assert_ptr_nonnull(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(x, signer, EVP_sha256()), 0);
	return x;
}

static char *to_pem(X509 *x)
{
	char *pem = NULL;

	ck_assert_rc(ztp__cert_to_pem(&pem, x), ZTP_OK);
	return pem;
}

static const int64_t now_t = 1800000000; /* 2027-01-15 */

static void pki_init(pki *k)
{
	ck_assert_rc(ztp__key_generate(&k->ca_key, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&k->other_key, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&k->leaf_key, "ec-p256"), ZTP_OK);
	k->ca = make_cert(k->ca_key, k->ca_key, NULL, "Device CA", true, NULL,
			  now_t - 86400, now_t + 86400 * 365);
	k->other = make_cert(k->other_key, k->other_key, NULL, "Device CA",
			     true, NULL, now_t - 86400, now_t + 86400 * 365);
	k->ca_pem = to_pem(k->ca);
	k->other_pem = to_pem(k->other);
}

static void pki_free(pki *k)
{
	EVP_PKEY_free(k->ca_key);
	EVP_PKEY_free(k->other_key);
	EVP_PKEY_free(k->leaf_key);
	X509_free(k->ca);
	X509_free(k->other);
	ztp_free(k->ca_pem);
	ztp_free(k->other_pem);
}

static char *leaf(pki *k, bool other_ca, const char *san, int64_t nb,
		  int64_t na)
{
	X509 *x =
	    make_cert(k->leaf_key, other_ca ? k->other_key : k->ca_key,
		      other_ca ? k->other : k->ca, "dev-1", false, san, nb, na);
	char *pem = to_pem(x);

	X509_free(x);
	return pem;
}

static int ident(char **out, ztp_policy *p, const char *pem)
{
	return ztp_policy_identity_from_cert(out, p, pem, strlen(pem));
}

START_TEST(test_identity_from_cert)
{
	int64_t now = now_t;
	ztp_policy *p = NULL;
	char *out = NULL, *pem, *dev = NULL, *ten = NULL;
	const char *both = "URI:urn:ztp:device:dev-1,URI:urn:ztp:tenant:acme";
	pki k;

	memset(&k, 0, sizeof(k));
	pki_init(&k);
	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_set_clock(p, ztp_clock_fixed, &now), ZTP_OK);

	pem = leaf(&k, false, both, now_t - 60, now_t + 3600);
	/* no device CA configured yet */
	ck_assert_rc(ident(&out, p, pem), ZTP_ESTATE);
	/* a leaf is not a CA */
	ck_assert_rc(ztp_policy_add_ca_pem(p, pem, strlen(pem)), ZTP_EPROFILE);
	ck_assert_rc(ztp_policy_add_ca_pem(p, k.ca_pem, strlen(k.ca_pem)),
		     ZTP_OK);
	ck_assert_rc(ident(&out, p, pem), ZTP_OK);
	ck_assert_str_eq(out, "{\"device\":\"dev-1\",\"tenant\":\"acme\"}");
	ztp_free(out);
	out = NULL;
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_OK);
	ck_assert_str_eq(dev, "dev-1");
	ck_assert_str_eq(ten, "acme");
	ztp_free(dev);
	ztp_free(ten);

	/* validity follows the handle's clock */
	now = now_t + 7200;
	ck_assert_rc(ident(&out, p, pem), ZTP_EEXPIRED);
	now = now_t - 3600;
	ck_assert_rc(ident(&out, p, pem), ZTP_EEXPIRED);
	now = now_t;
	ztp_free(pem);

	/* not activated yet: no tenant */
	pem = leaf(&k, false, "URI:urn:ztp:device:dev-1", now_t - 60,
		   now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_OK);
	ck_assert_str_eq(out, "{\"device\":\"dev-1\",\"tenant\":null}");
	ztp_free(out);
	out = NULL;
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_OK);
	ck_assert_ptr_null(ten);
	ztp_free(dev);
	ztp_free(pem);

	/* the CN alone is never an identity */
	pem = leaf(&k, false, "URI:https://example.com/dev-1", now_t - 60,
		   now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EPROFILE);
	ztp_free(pem);
	pem = leaf(&k, false, NULL, now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EPROFILE);
	ztp_free(pem);
	/* two device URIs, a SAN that disagrees with the CN (the one identity
	 * rule: the verifier refuses the same certificate the same way), or
	 * an identifier outside the grammar */
	pem =
	    leaf(&k, false, "URI:urn:ztp:device:dev-1,URI:urn:ztp:device:dev-2",
		 now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EMISMATCH);
	ztp_free(pem);
	pem =
	    leaf(&k, false, "URI:urn:ztp:device:dev-2,URI:urn:ztp:tenant:acme",
		 now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EMISMATCH);
	ck_assert_ptr_null(out);
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_EMISMATCH);
	ck_assert_ptr_null(dev);
	ck_assert_ptr_null(ten);
	ztp_free(pem);
	pem = leaf(&k, false, "URI:URN:ZTP:DEVICE:dev-2", now_t - 60,
		   now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EMISMATCH);
	ztp_free(pem);
	pem = leaf(&k, false, "URI:urn:ztp:device:dev-1,URI:urn:ztp:tenant:a+b",
		   now_t - 60, now_t + 3600);
	ck_assert_int_lt(ident(&out, p, pem), 0);
	ztp_free(pem);

	/* issued by a CA that is not configured (same name, other key) */
	pem = leaf(&k, true, both, now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EUNTRUSTED);
	ztp_free(pem);
	/* the CA itself is not a client */
	ck_assert_rc(ident(&out, p, k.ca_pem), ZTP_EPROFILE);
	ck_assert_rc(ident(&out, p, "garbage"), ZTP_EPARSE);
	ck_assert_ptr_null(out);

	ztp_policy_free(p);
	pki_free(&k);
}
END_TEST

void policy_tcases_identity(Suite *s)
{
	TCase *tc;

	POLICY_ADD(s, "identity_from_cert", test_identity_from_cert);
}
