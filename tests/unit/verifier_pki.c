/* Test PKI for the verifier suite (see verifier_pki.h). */
#include "verifier_pki.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static void die(const char *what)
{
	fprintf(stderr, "verifier_pki: %s failed\n", what);
	abort();
}

EVP_PKEY *vpki_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (strcmp(type, "ec-p256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec-p384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "ec-p224") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
	else if (strcmp(type, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(type, "rsa-1024") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(type, "rsa-2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (k == NULL)
		die(type);
	return k;
}

static void add_ext(X509 *c, X509V3_CTX *ctx, int nid, const char *val)
{
	X509_EXTENSION *e;

	if (val == NULL)
		return;
	e = X509V3_EXT_conf_nid(NULL, ctx, nid, val);
	if (e == NULL || !X509_add_ext(c, e, -1))
		die("extension");
	X509_EXTENSION_free(e);
}

static const EVP_MD *md_for(EVP_PKEY *k)
{
	return EVP_PKEY_get_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

X509 *vpki_cert(const vpki_cert_opts *o, EVP_PKEY *key, X509 *issuer,
		EVP_PKEY *issuer_key)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	X509V3_CTX ctx;

	if (c == NULL || n == NULL || bn == NULL)
		die("alloc");
	X509_set_version(c, o->version ? o->version - 1 : X509_VERSION_3);
	if (!BN_rand(bn, 120, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)))
		die("serial");
	if (o->cn != NULL && !X509_NAME_add_entry_by_txt(
				 n, "CN", MBSTRING_UTF8,
				 (const unsigned char *)o->cn, -1, -1, 0))
		die("name");
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
					(const unsigned char *)"Test", -1, -1,
					0))
		die("name");
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	if (!ASN1_TIME_set(X509_getm_notBefore(c), (time_t)o->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(c), (time_t)o->not_after))
		die("time");
	X509_set_pubkey(c, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
	add_ext(c, &ctx, NID_basic_constraints, o->bc);
	add_ext(c, &ctx, NID_key_usage, o->ku);
	add_ext(c, &ctx, NID_ext_key_usage, o->eku);
	add_ext(c, &ctx, NID_subject_alt_name, o->san);
	add_ext(c, &ctx, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(c, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!X509_sign(c, issuer_key ? issuer_key : key,
		       md_for(issuer_key ? issuer_key : key)))
		die("sign");
	X509_NAME_free(n);
	BN_free(bn);
	return c;
}

X509 *vpki_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
	      int64_t nb, int64_t na)
{
	vpki_cert_opts o = {.cn = cn,
			    .bc = "critical,CA:TRUE",
			    .ku = "critical,keyCertSign,cRLSign",
			    .not_before = nb,
			    .not_after = na};

	return vpki_cert(&o, key, issuer, ikey);
}

X509 *vpki_leaf(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
		int64_t nb, int64_t na)
{
	vpki_cert_opts o = {.cn = cn,
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = nb,
			    .not_after = na};

	return vpki_cert(&o, key, issuer, ikey);
}

static char *bio_string(BIO *b)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	out = malloc((size_t)n + 1);
	if (out == NULL)
		die("alloc");
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

char *vpki_pem(X509 *c)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || !PEM_write_bio_X509(b, c))
		die("pem");
	return bio_string(b);
}

char *vpki_pem2(X509 *a, X509 *c)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || !PEM_write_bio_X509(b, a) || !PEM_write_bio_X509(b, c))
		die("pem");
	return bio_string(b);
}

char *vpki_key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		die("pem");
	return bio_string(b);
}

X509_REQ *vpki_csr(EVP_PKEY *key, const char *cn)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();

	if (r == NULL || n == NULL)
		die("alloc");
	if (cn != NULL &&
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0))
		die("name");
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, key);
	if (!X509_REQ_sign(r, key, md_for(key)))
		die("csr sign");
	X509_NAME_free(n);
	return r;
}

char *vpki_csr_pem(X509_REQ *r)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || !PEM_write_bio_X509_REQ(b, r))
		die("pem");
	return bio_string(b);
}
