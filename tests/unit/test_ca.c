/*
 * CA: creation, loading, issuance under profiles, key policy, serials,
 * durability, revocation and CRLs. Every certificate is checked with
 * OpenSSL, field by field.
 */
#include "ca/ca_internal.h"
#include "ca/ca_priv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ztp/ca.h>
#include <ztp/store.h>

#include "testutil.h"

/* ---------------------------------------------------------- helpers */

/* A three-level P-256 PKI built once: root -> intermediate (pathlen 1) ->
 * issuing (pathlen 0). */
static char *g_root_cert, *g_root_key, *g_int_cert, *g_int_key, *g_iss_cert,
    *g_iss_key, *g_chain, *g_untrusted;
static int64_t g_now;

/* Per-test fixture. */
static ztp_store *store;
static ztp_ca *ca;

static X509 *pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

static X509_CRL *pem_crl(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_CRL *x = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);

	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

static EVP_PKEY *keygen(const char *kind)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	if (strcmp(kind, "p256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(kind, "p384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(kind, "p192") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-192");
	else if (strcmp(kind, "p224") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
	else if (strcmp(kind, "k256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	else if (strcmp(kind, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(kind, "rsa1024") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(kind, "rsa2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(kind, "dsa") == 0) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
		ck_assert_ptr_nonnull(ctx);
		ck_assert_int_eq(EVP_PKEY_paramgen_init(ctx), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_dsa_paramgen_bits(ctx, 1024),
				 1);
		ck_assert_int_eq(EVP_PKEY_paramgen(ctx, &params), 1);
		EVP_PKEY_CTX_free(ctx);
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
		ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
		ck_assert_int_eq(EVP_PKEY_keygen(ctx, &k), 1);
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(params);
	}
	ck_assert_msg(k != NULL, "keygen %s", kind);
	return k;
}

/* A CSR for key, asking for a subject CN and a SAN URI (both to be
 * ignored by the CA). */
static char *csr_pem(EVP_PKEY *key, const char *cn, const char *san)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	const EVP_MD *md =
	    EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	char *data, *out;
	long len;

	ck_assert_int_eq(X509_REQ_set_version(req, 0), 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						    (const unsigned char *)cn,
						    -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_REQ_set_subject_name(req, n), 1);
	ck_assert_int_eq(X509_REQ_set_pubkey(req, key), 1);
	if (san != NULL) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *e =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);

		ck_assert_ptr_nonnull(e);
		sk_X509_EXTENSION_push(exts, e);
		ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	ck_assert_int_gt(X509_REQ_sign(req, key, md), 0);
	ck_assert_int_eq(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	BIO_free(b);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return out;
}

static char *csr_for(const char *kind)
{
	EVP_PKEY *k = keygen(kind);
	char *pem = csr_pem(k, "ignored", NULL);

	EVP_PKEY_free(k);
	return pem;
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	ck_assert_msg(i >= 0, "extension %s missing", OBJ_nid2sn(nid));
	ck_assert_int_lt(X509_get_ext_by_NID(x, nid, i), 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int64_t t_of(const ASN1_TIME *t)
{
	int64_t v = 0;

	ck_assert_int_eq(ztp__asn1_time(&v, t), ZTP_OK);
	return v;
}

/* Verify leaf up to a trusted root, with the given intermediates (PEM
 * concatenation, may be NULL), at time at. Returns the X509_V_ code. */
static int verify_chain_for(X509 *leaf, const char *root_pem,
			    const char *untrusted_pem, int64_t at, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *root = pem_x509(root_pem);
	int err;

	ck_assert_int_eq(X509_STORE_add_cert(st, root), 1);
	if (untrusted_pem != NULL) {
		BIO *b = BIO_new_mem_buf(untrusted_pem, -1);
		X509 *x;

		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			sk_X509_push(untrusted, x);
		ERR_clear_error();
		BIO_free(b);
	}
	ck_assert_int_eq(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
	if (X509_check_ca(leaf) == 0)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(root);
	return err;
}

/* Device certificates must be fit for TLS client authentication. */
static int verify_chain(X509 *leaf, const char *root_pem,
			const char *untrusted_pem, int64_t at)
{
	return verify_chain_for(leaf, root_pem, untrusted_pem, at,
				X509_PURPOSE_SSL_CLIENT);
}

static int serial_bits(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	int bits;

	ck_assert_ptr_nonnull(bn);
	ck_assert(!BN_is_negative(bn));
	bits = BN_num_bits(bn);
	BN_free(bn);
	return bits;
}

static char *serial_hex_of(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = BN_bn2hex(bn), *p, *out;

	for (p = h; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	out = strdup(h);
	OPENSSL_free(h);
	BN_free(bn);
	return out;
}

static void fp_hex(char out[65], X509 *x)
{
	uint8_t fp[32];

	ck_assert_int_eq(ztp__cert_fingerprint(fp, x), ZTP_OK);
	ztp__hex_encode(out, fp, sizeof(fp));
}

static void register_device(ztp_store *s, const char *id)
{
	ck_assert_rc(ztp_store_device_add(s, id,
					  "0000000000000000000000000000000000"
					  "000000000000000000000000000000",
					  NULL, NULL, g_now),
		     ZTP_OK);
}

static char *cat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
	char *o = malloc(la + lb + lc + 1);

	memcpy(o, a, la);
	memcpy(o + la, b, lb);
	if (c)
		memcpy(o + la + lb, c, lc);
	o[la + lb + lc] = '\0';
	return o;
}

/* Outside a test, Check cannot report: fail loudly by hand. */
#define pki_must(expr, want)                                                   \
	do {                                                                   \
		int r_ = (expr);                                               \
		if (r_ != (want)) {                                            \
			fprintf(stderr, "%s: %d (%s)\n", #expr, r_,            \
				ztp_error_last_message());                     \
			exit(EXIT_FAILURE);                                    \
		}                                                              \
	} while (0)

static void build_pki(void)
{
	ztp_ca *r = NULL, *i = NULL;

	g_now = (int64_t)time(NULL);
	pki_must(ztp_ca_create_root(&g_root_cert, &g_root_key,
				    "/CN=Test Root/O=libztp", NULL, 3650),
		 ZTP_OK);
	pki_must(ztp_ca_new(&r), ZTP_OK);
	pki_must(ztp_ca_load(r, g_root_cert, g_root_key, NULL, NULL), ZTP_OK);
	pki_must(ztp_ca_create_sub(r, &g_int_cert, &g_int_key,
				   "/CN=Test Intermediate/O=libztp", NULL, 1825,
				   1),
		 ZTP_OK);
	pki_must(ztp_ca_new(&i), ZTP_OK);
	pki_must(ztp_ca_load(i, g_int_cert, g_int_key, g_root_cert, NULL),
		 ZTP_OK);
	pki_must(ztp_ca_create_sub(i, &g_iss_cert, &g_iss_key,
				   "/CN=Test Issuing/O=libztp", NULL, 900, 0),
		 ZTP_OK);
	g_chain = cat3(g_int_cert, g_root_cert, NULL);
	g_untrusted = cat3(g_iss_cert, g_int_cert, NULL);
	ztp_ca_free(r);
	ztp_ca_free(i);
}

static void setup(void)
{
	ck_assert_rc(ztp_store_open(&store, "memory:"), ZTP_OK);
	ck_assert_rc(ztp_ca_new(&ca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(ca, g_iss_cert, g_iss_key, g_chain, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, store), ZTP_OK);
	ck_assert_rc(ztp_ca_set_clock(ca, ztp_clock_fixed, &g_now), ZTP_OK);
	register_device(store, "dev-1");
}

static void teardown(void)
{
	ztp_ca_free(ca);
	ztp_store_free(store);
	ca = NULL;
	store = NULL;
}

static uint64_t cert_count(void)
{
	uint64_t n = 0;

	ck_assert_rc(ztp_store_cert_count(store, &n), ZTP_OK);
	return n;
}

/* ---------------------------------------------------------- new/free, names */

START_TEST(test_new_free)
{
	ztp_ca *c = NULL;
	char *pem = (char *)"x";

	ck_assert_rc(ztp_ca_new(NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_cert_pem(c, &pem), ZTP_ESTATE);
	ck_assert_ptr_null(pem);
	ck_assert_rc(ztp_ca_chain_pem(c, &pem), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 1, "d", NULL, "factory", 0),
		     ZTP_EPARSE);
	/* Revocation and CRLs need a store. */
	ck_assert_rc(ztp_ca_revoke(c, "01", 0), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_issue(c, NULL, "x", 1, "d", NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, NULL, 1, "d", NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 0, "d", NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 1, NULL, NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 1, "d", NULL, NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_revoke(c, NULL, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_cert_pem(NULL, &pem), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_chain_pem(c, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_load_files(c, NULL, "k", NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_store(NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_clock(NULL, NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_key_policy(c, "ec-p256,bogus"), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_key_policy(c, NULL), ZTP_EINVAL);
	ztp_ca_free(c);
	ztp_ca_free(NULL);
}
END_TEST

START_TEST(test_dn_parse)
{
	static const char *const bad[] = {
	    "",
	    "/",
	    "/CN",
	    "/CN=",
	    "/CN=a/",
	    "/CN=a//O=b",
	    "/XX=a",
	    "/cn=a",
	    "/CN=a/CN=b",
	    "/C=de",
	    "/C=DEU",
	    "/CN=a\\b",
	    "/CN=a\\",
	    "/CN=a\tb",
	    "/CN=\xff\xfe",
	    "/CN="
	    "012345678901234567890123456789012345678901234567890123456789012345"
	    "6789",
	};
	X509_NAME *n = NULL;
	char buf[256];
	size_t i;

	ck_assert_rc(ztp__ca_dn_parse(&n, "/CN=Acme Root/O=Acme\\/Co/C=DE"),
		     ZTP_OK);
	ck_assert_int_eq(X509_NAME_entry_count(n), 3);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(n, NID_organizationName, buf,
						   sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "Acme/Co");
	X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Acme Root");
	X509_NAME_free(n);
	ck_assert_rc(ztp__ca_dn_parse(&n, "/OU=a/OU=b/DC=example/DC=com/"
					  "serialNumber=42/ST=Bay/L=Town"),
		     ZTP_OK);
	ck_assert_int_eq(X509_NAME_entry_count(n), 7);
	X509_NAME_free(n);
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		n = (X509_NAME *)1;
		ck_assert_msg(ztp__ca_dn_parse(&n, bad[i]) == ZTP_EINVAL,
			      "accepted \"%s\"", bad[i]);
		ck_assert_ptr_null(n);
	}
}
END_TEST

/* The DER of a name (malloc'd, *len bytes). */
static unsigned char *name_der(X509_NAME *n, int *len)
{
	unsigned char *der = NULL;

	*len = i2d_X509_NAME(n, &der);
	ck_assert_int_gt(*len, 0);
	return der;
}

/* Both DNs parse, to the same DER. */
static void dn_same(const char *a, const char *b)
{
	X509_NAME *na = NULL, *nb = NULL;
	unsigned char *da, *db;
	int la, lb;

	ck_assert_msg(ztp__ca_dn_parse(&na, a) == ZTP_OK, "\"%s\": %s", a,
		      ztp_error_last_message());
	ck_assert_msg(ztp__ca_dn_parse(&nb, b) == ZTP_OK, "\"%s\": %s", b,
		      ztp_error_last_message());
	da = name_der(na, &la);
	db = name_der(nb, &lb);
	ck_assert_msg(la == lb && memcmp(da, db, (size_t)la) == 0,
		      "\"%s\" and \"%s\" differ in DER", a, b);
	OPENSSL_free(da);
	OPENSSL_free(db);
	X509_NAME_free(na);
	X509_NAME_free(nb);
}

/* n printed the way `openssl x509 -nameopt RFC2253` prints it. */
static char *rfc2253_of(X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	ck_assert_int_ge(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253), 0);
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	BIO_free(b);
	return out;
}

/* OpenSSL's RFC 2253 text of n parses back to n's DER. */
static void dn_round_trip(X509_NAME *n)
{
	char *text = rfc2253_of(n);
	X509_NAME *back = NULL;
	unsigned char *d1, *d2;
	int l1, l2;

	ck_assert_msg(ztp__ca_dn_parse(&back, text) == ZTP_OK, "\"%s\": %s",
		      text, ztp_error_last_message());
	d1 = name_der(n, &l1);
	d2 = name_der(back, &l2);
	ck_assert_msg(l1 == l2 && memcmp(d1, d2, (size_t)l1) == 0,
		      "\"%s\" does not round-trip", text);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	X509_NAME_free(back);
	free(text);
}

START_TEST(test_dn_rfc4514)
{
	/* RFC 4514 text and the slash form of the same name: most specific
	 * first there, DER order here. */
	static const char *const same[][2] = {
	    {"CN=Acme Root,O=Acme", "/O=Acme/CN=Acme Root"},
	    {"cn=Acme Root,o=Acme,c=DE", "/C=DE/O=Acme/CN=Acme Root"},
	    {"SERIALNUMBER=42,ou=PKI,St=Bay,l=Town",
	     "/L=Town/ST=Bay/OU=PKI/serialNumber=42"},
	    {"DC=example,DC=com", "/DC=com/DC=example"},
	    {"CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\=i",
	     "/CN=a,b+c\"d\\\\e<f>g;h=i"},
	    {"CN=\\#lead", "/CN=#lead"},
	    {"CN=\\ lead", "/CN= lead"},
	    {"CN=trail\\ ", "/CN=trail "},
	    {"CN=\\ ", "/CN= "},
	    {"CN=mid#dle=x", "/CN=mid#dle=x"},
	    {"CN=two  spaces", "/CN=two  spaces"},
	    {"O=a/b", "/O=a\\/b"},
	    {"CN=caf\\C3\\A9", "/CN=caf\xc3\xa9"},
	    {"CN=caf\\c3\\a9", "/CN=caf\xc3\xa9"},
	    {"CN=caf\xc3\xa9", "/CN=caf\xc3\xa9"},
	    {"CN=\\41\\42\\2c\\20", "/CN=AB, "},
	    {"CN=\\F0\\9F\\94\\91 key", "/CN=\xf0\x9f\x94\x91 key"},
	    /* 64 bytes once unescaped, from 192 characters. */
	    {"CN="
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41",
	     "/CN="
	     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	     "A"},
	};
	/* A multi-valued RDN, in either order inside the RDN. */
	X509_NAME *n = NULL, *want = X509_NAME_new();
	unsigned char *d1, *d2;
	int l1, l2;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(same); i++)
		dn_same(same[i][0], same[i][1]);
	dn_same("CN=Acme Root+OU=PKI,O=Acme", "OU=PKI+CN=Acme Root,O=Acme");

	ck_assert_rc(ztp__ca_dn_parse(&n, "CN=Acme Root+OU=PKI,O=Acme,C=DE"),
		     ZTP_OK);
	ck_assert_int_eq(X509_NAME_entry_count(n), 4);
	/* DER order: C, O, then the RDN holding CN and OU. */
	ck_assert_int_eq(
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
	    NID_countryName);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)), 0);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)), 1);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)), 2);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 3)), 2);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(want, "C", MBSTRING_UTF8,
						    (const unsigned char *)"DE",
						    -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     want, "O", MBSTRING_UTF8,
			     (const unsigned char *)"Acme", -1, -1, 0),
			 1);
	ck_assert_int_eq(
	    X509_NAME_add_entry_by_txt(want, "OU", MBSTRING_UTF8,
				       (const unsigned char *)"PKI", -1, -1, 0),
	    1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     want, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"Acme Root", -1, -1, -1),
			 1);
	d1 = name_der(n, &l1);
	d2 = name_der(want, &l2);
	ck_assert(l1 == l2 && memcmp(d1, d2, (size_t)l1) == 0);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	dn_round_trip(want);
	X509_NAME_free(want);
	X509_NAME_free(n);
}
END_TEST

/* What `openssl x509 -nameopt RFC2253` prints of names made in slash form
 * parses back to the same DER: every escape OpenSSL writes. */
START_TEST(test_dn_openssl_round_trip)
{
	static const char *const slash[] = {
	    "/CN=Acme Root/O=Acme",
	    "/C=DE/ST=Bay/L=Town/O=Acme, Inc./OU=PKI/CN=Acme Issuing 1",
	    "/DC=com/DC=example/serialNumber=0042/CN=x",
	    "/CN=#lead",
	    "/CN= lead and trail ",
	    "/CN=,+\"\\\\<>;=#",
	    "/O=a\\/b/CN=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	    "/CN="
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(slash); i++) {
		X509_NAME *n = NULL;

		ck_assert_msg(ztp__ca_dn_parse(&n, slash[i]) == ZTP_OK,
			      "\"%s\": %s", slash[i], ztp_error_last_message());
		dn_round_trip(n);
		X509_NAME_free(n);
	}
}
END_TEST

/* Every malformed RFC 4514 DN is refused, naming the problem. */
START_TEST(test_dn_rfc4514_refusals)
{
	static const struct {
		const char *dn;
		int rc;
		const char *why;
	} bad[] = {
	    {"CN=a\\", ZTP_EINVAL, "'\\' at the end"},
	    {"CN=a\\x", ZTP_EINVAL, "bad escape at offset 4"},
	    {"CN=a\\\x01", ZTP_EINVAL, "bad escape"},
	    {"CN=a\\4", ZTP_EINVAL, "second hex digit"},
	    {"CN=a\\4g", ZTP_EINVAL, "second hex digit"},
	    {"CN=a,b", ZTP_EINVAL, "without '='"},
	    {"CN", ZTP_EINVAL, "without '='"},
	    {"=a", ZTP_EINVAL, "empty attribute type at offset 0"},
	    {"CN=a,,O=b", ZTP_EINVAL, "empty attribute type at offset 5"},
	    {"CN=a+=b", ZTP_EINVAL, "empty attribute type"},
	    {"CN=a,", ZTP_EINVAL, "nothing after the final ','"},
	    {"CN=a+", ZTP_EINVAL, "nothing after the final '+'"},
	    {"XX=a", ZTP_EINVAL, "unsupported attribute \"XX\""},
	    {"emailAddress=a@b", ZTP_EINVAL, "unsupported attribute"},
	    {"2.5.4.3=a", ZTP_EINVAL, "numeric attribute type"},
	    {"CN=#414243", ZTP_EINVAL, "#hex BER"},
	    {"CN= a", ZTP_EINVAL, "unescaped space at the start"},
	    {"CN=a ", ZTP_EINVAL, "unescaped space at the end"},
	    {"CN=a\\  ", ZTP_EINVAL, "unescaped space at the end"},
	    {"CN=a, O=b", ZTP_EINVAL, "no spaces around"},
	    {"CN=a ,O=b", ZTP_EINVAL, "unescaped space at the end"},
	    {"CN =a", ZTP_EINVAL, "no spaces around"},
	    {"C-N=a", ZTP_EINVAL, "unsupported attribute"},
	    {"C\xc3\xa9=a", ZTP_EINVAL, "unexpected character"},
	    {"CN=a\"b", ZTP_EINVAL, "unescaped '\"'"},
	    {"CN=\"a\"", ZTP_EINVAL, "unescaped '\"'"},
	    {"CN=a;O=b", ZTP_EINVAL, "unescaped ';'"},
	    {"CN=a<b", ZTP_EINVAL, "unescaped '<'"},
	    {"CN=a>b", ZTP_EINVAL, "unescaped '>'"},
	    {"CN=\\FF", ZTP_EINVAL, "invalid UTF-8 lead byte in CN"},
	    {"CN=\xff", ZTP_EINVAL, "invalid UTF-8 lead byte"},
	    {"CN=a\\C3", ZTP_EINVAL, "truncated UTF-8"},
	    {"CN=\\C3\\28", ZTP_EINVAL, "continuation byte"},
	    {"CN=\\E0\\80\\80", ZTP_EINVAL, "overlong"},
	    {"CN=\\C0\\80", ZTP_EINVAL, "lead byte"},
	    {"CN=\\ED\\A0\\80", ZTP_EINVAL, "surrogate"},
	    {"CN=\\F4\\90\\80\\80", ZTP_EINVAL, "beyond U+10FFFF"},
	    {"CN=\\00", ZTP_EINVAL, "control character"},
	    {"CN=a\\0Ab", ZTP_EINVAL, "control character"},
	    {"CN=a\tb", ZTP_EINVAL, "control character"},
	    {"CN=\\7F", ZTP_EINVAL, "control character"},
	    {"CN=", ZTP_EINVAL, "empty value for CN"},
	    {"CN=,O=a", ZTP_EINVAL, "empty value for CN"},
	    {"CN=0123456789012345678901234567890123456789012345678901234567890"
	     "1234",
	     ZTP_EINVAL, "CN value over 64 bytes"},
	    {"CN="
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "A",
	     ZTP_EINVAL, "CN value over 64 bytes"},
	    {"C=de", ZTP_EINVAL, "two uppercase letters"},
	    {"C=DEU", ZTP_EINVAL, "two uppercase letters"},
	    {"CN=a,CN=b", ZTP_EINVAL, "more than one CN"},
	    {"CN=a+CN=b", ZTP_EINVAL, "more than one CN"},
	    {"O=a+O=b", ZTP_EINVAL, "O twice in one RDN"},
	    {"O=a+OU=b+O=c,CN=x", ZTP_EINVAL, "O twice in one RDN"},
	    {"DC=caf\xc3\xa9", ZTP_EINVAL, "bad DC value"},
	};
	char big[1100];
	X509_NAME *n;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		n = (X509_NAME *)1;
		ck_assert_msg(ztp__ca_dn_parse(&n, bad[i].dn) == bad[i].rc,
			      "\"%s\": accepted or wrong code (%s)", bad[i].dn,
			      ztp_error_last_message());
		ck_assert_ptr_null(n);
		ck_assert_msg(strstr(ztp_error_last_message(), bad[i].why) !=
				  NULL,
			      "\"%s\": message \"%s\" lacks \"%s\"", bad[i].dn,
			      ztp_error_last_message(), bad[i].why);
	}
	/* A whole DN over 1024 bytes, however it would parse. */
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "CN=", 3);
	big[sizeof(big) - 1] = '\0';
	ck_assert_rc(ztp__ca_dn_parse(&n, big), ZTP_ETOOBIG);
	ck_assert_ptr_null(n);
}
END_TEST

/* A CA made with the RFC 4514 form names itself exactly as one made with
 * the slash form. */
START_TEST(test_create_root_rfc4514)
{
	char *c1 = NULL, *k1 = NULL, *c2 = NULL, *k2 = NULL;
	X509 *x1, *x2;

	ck_assert_rc(ztp_ca_create_root(&c1, &k1,
					"CN=Acme Root,O=Acme\\, Inc.,C=DE",
					NULL, 30),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_create_root(
			 &c2, &k2, "/C=DE/O=Acme, Inc./CN=Acme Root", NULL, 30),
		     ZTP_OK);
	x1 = pem_x509(c1);
	x2 = pem_x509(c2);
	ztp_free(c1);
	ztp_free(k1);
	ck_assert_int_eq(
	    X509_NAME_cmp(X509_get_subject_name(x1), X509_get_subject_name(x2)),
	    0);
	{
		char *t = rfc2253_of(X509_get_subject_name(x1));

		ck_assert_str_eq(t, "CN=Acme Root,O=Acme\\, Inc.,C=DE");
		free(t);
	}
	ck_assert_rc(ztp_ca_create_root(&c1, &k1, "CN=a, O=b", NULL, 30),
		     ZTP_EINVAL);
	ck_assert_ptr_null(c1);
	X509_free(x1);
	X509_free(x2);
	ztp_free(c2);
	ztp_free(k2);
}
END_TEST

START_TEST(test_reason_names)
{
	int r = -1;

	ck_assert_rc(ztp_ca_reason_from_name(&r, "keyCompromise"), ZTP_OK);
	ck_assert_int_eq(r, ZTP_CA_REASON_KEY_COMPROMISE);
	ck_assert_rc(ztp_ca_reason_from_name(&r, "aACompromise"), ZTP_OK);
	ck_assert_int_eq(r, 10);
	ck_assert_rc(ztp_ca_reason_from_name(&r, "removeFromCRL"), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_reason_from_name(&r, "keycompromise"), ZTP_EINVAL);
	ck_assert_str_eq(ztp_ca_reason_name(6), "certificateHold");
	ck_assert_ptr_null(ztp_ca_reason_name(7));
	ck_assert_ptr_null(ztp_ca_reason_name(8));
	ck_assert_ptr_null(ztp_ca_reason_name(11));
	ck_assert_ptr_null(ztp_ca_reason_name(-1));
}
END_TEST

/* ---------------------------------------------------------- CA creation */

static void check_ca_cert(X509 *x, X509 *issuer, long pathlen)
{
	int crit = -1;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(bc->ca);
	if (pathlen < 0)
		ck_assert_ptr_null(bc->pathlen);
	else
		ck_assert_int_eq(ASN1_INTEGER_get(bc->pathlen), pathlen);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(ku);
	ck_assert_int_eq(crit, 1);
	ASN1_BIT_STRING_free(ku);
	ck_assert_uint_eq(X509_get_key_usage(x),
			  KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	ck_assert_int_eq(ext_critical(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_critical(x, NID_authority_key_identifier), 0);
	ck_assert_int_eq(
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
				  X509_get0_subject_key_id(issuer)),
	    0);
	ck_assert_int_eq(X509_check_issued(issuer, x), X509_V_OK);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(issuer)), 1);
	ck_assert_int_eq(serial_bits(x), 135);
}

START_TEST(test_create_root)
{
	char *cert = NULL, *key = NULL;
	X509 *x;
	int64_t before = (int64_t)time(NULL), after;

	ck_assert_rc(
	    ztp_ca_create_root(&cert, &key, "/CN=R/O=Acme", "ec-p384", 10),
	    ZTP_OK);
	/* the clock may tick during the call */
	after = (int64_t)time(NULL);
	x = pem_x509(cert);
	check_ca_cert(x, x, -1);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	ck_assert_int_eq(
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)),
	    0);
	/* backdated by 60 s */
	ck_assert(t_of(X509_get0_notBefore(x)) >= before - 60 &&
		  t_of(X509_get0_notBefore(x)) <= after - 60);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)) -
			     t_of(X509_get0_notBefore(x)),
			 10 * 86400 + 60);
	ck_assert_ptr_nonnull(strstr(key, "-----BEGIN PRIVATE KEY-----"));
	X509_free(x);
	ztp_free(cert);
	ztp_free(key);

	cert = key = (char *)"x";
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", "rsa-2048", 10),
		     ZTP_EKEYPOLICY);
	ck_assert_ptr_null(cert);
	ck_assert_ptr_null(key);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", "dsa", 10),
		     ZTP_EKEYPOLICY);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", NULL, 36501),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "CN=R;O=x", NULL, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, NULL, NULL, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(NULL, &key, "/CN=R", NULL, 1),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(test_create_sub)
{
	ztp_ca *iss = NULL;
	char *cert = NULL, *key = NULL, *json = NULL, *serial;
	char fp[65], want[256];
	X509 *x, *issuer = pem_x509(g_iss_cert), *intm = pem_x509(g_int_cert);
	uint64_t before = cert_count();

	/* The fixture's issuing CA has pathlen 0: no CA below it. */
	ck_assert_rc(ztp_ca_create_sub(ca, &cert, &key, "/CN=S", NULL, 10, -1),
		     ZTP_EPROFILE);
	ck_assert_ptr_null(cert);

	/* Below the intermediate (pathlen 1): 0 only. */
	ck_assert_rc(ztp_ca_new(&iss), ZTP_OK);
	ck_assert_rc(ztp_ca_load(iss, g_int_cert, g_int_key, NULL, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(iss, store), ZTP_OK);
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S", NULL, 10, 1),
		     ZTP_EPROFILE);
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S", NULL, 10, -1),
		     ZTP_EPROFILE);
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S", NULL, 10, 17),
		     ZTP_EINVAL);
	ck_assert_uint_eq(cert_count(), before);
	/* Longer than the issuer: clamped to its notAfter. */
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S/O=Acme",
				       "ed25519", 36500, 0),
		     ZTP_OK);
	x = pem_x509(cert);
	check_ca_cert(x, intm, 0);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 t_of(X509_get0_notAfter(intm)));
	ck_assert_int_eq(verify_chain(x, g_root_cert, g_int_cert, g_now),
			 X509_V_OK);
	/* Recorded as a CA certificate, without a device. */
	ck_assert_uint_eq(cert_count(), before + 1);
	serial = serial_hex_of(x);
	fp_hex(fp, x);
	ck_assert_rc(ztp_store_cert_get(store, serial, &json), ZTP_OK);
	snprintf(want, sizeof(want), "\"fingerprint\":\"%s\"", fp);
	ck_assert_ptr_nonnull(strstr(json, want));
	ck_assert_ptr_nonnull(strstr(json, "\"profile\":\"ca\""));
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":null"));
	free(serial);
	ztp_free(json);
	X509_free(x);
	ztp_free(cert);
	ztp_free(key);
	X509_free(issuer);
	X509_free(intm);
	ztp_ca_free(iss);
}
END_TEST

/* ---------------------------------------------------------- loading */

START_TEST(test_load)
{
	ztp_ca *c = NULL;
	char *pem = NULL, *enc = NULL, *dir, *p_cert, *p_key, *p_chain;
	EVP_PKEY *k;
	BIO *b;
	long len;
	FILE *f;

	/* Already loaded. */
	ck_assert_rc(ztp_ca_load(ca, g_iss_cert, g_iss_key, NULL, NULL),
		     ZTP_ESTATE);
	ck_assert_rc(ztp_ca_cert_pem(ca, &pem), ZTP_OK);
	ck_assert_str_eq(pem, g_iss_cert);
	ztp_free(pem);
	ck_assert_rc(ztp_ca_chain_pem(ca, &pem), ZTP_OK);
	ck_assert_int_eq(strncmp(pem, g_iss_cert, strlen(g_iss_cert)), 0);
	ck_assert_str_eq(pem + strlen(g_iss_cert), g_chain);
	ztp_free(pem);
	ck_assert_str_eq(ztp__ca_key_type(ca), "ec-p256");
	ck_assert_ptr_nonnull(ztp__ca_cert(ca));
	ck_assert_int_eq(sk_X509_num(ztp__ca_chain(ca)), 2);

	/* Key of another CA. */
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_int_key, NULL, NULL),
		     ZTP_EMISMATCH);
	/* A chain that does not issue the certificate. */
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, g_root_cert, NULL),
		     ZTP_EUNTRUSTED);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, "junk", NULL),
		     ZTP_EPARSE);
	ck_assert_rc(ztp_ca_load(c, "junk", g_iss_key, NULL, NULL), ZTP_EPARSE);
	ck_assert_rc(ztp_ca_load(c, NULL, g_iss_key, NULL, NULL), ZTP_EINVAL);

	/* Encrypted PKCS#8 key with a passphrase. */
	k = NULL;
	b = BIO_new_mem_buf(g_iss_key, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(),
						       "s3cret", 6, NULL, NULL),
			 1);
	len = BIO_get_mem_data(b, &pem);
	enc = strndup(pem, (size_t)len);
	BIO_free(b);
	EVP_PKEY_free(k);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, enc, NULL, "wrong"),
		     ZTP_ECRYPTO);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, enc, NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, enc, g_chain, "s3cret"),
		     ZTP_OK);
	ztp_ca_free(c);

	/* A leaf certificate is no CA. */
	{
		char *csr = csr_for("p256"), *leaf = NULL;

		ck_assert_rc(ztp_ca_issue(ca, &leaf, csr, strlen(csr), "dev-1",
					  NULL, "operational", 0),
			     ZTP_OK);
		ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
		ck_assert_rc(ztp_ca_load(c, leaf, g_iss_key, NULL, NULL),
			     ZTP_EPROFILE);
		ztp_ca_free(c);
		ztp_free(leaf);
		free(csr);
	}

	/* From files. */
	dir = ztp_test_tmpdir();
	p_cert = ztp_test_path(dir, "ca.pem");
	p_key = ztp_test_path(dir, "ca.key");
	p_chain = ztp_test_path(dir, "chain.pem");
	f = fopen(p_cert, "w");
	fputs(g_iss_cert, f);
	fclose(f);
	f = fopen(p_key, "w");
	fputs(enc, f);
	fclose(f);
	f = fopen(p_chain, "w");
	fputs(g_chain, f);
	fclose(f);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(
	    ztp_ca_load_files(c, p_cert, p_key, "/nonexistent/x", "s3cret"),
	    ZTP_ENOTFOUND);
	ck_assert_rc(ztp_ca_load_files(c, p_cert, p_key, p_chain, "s3cret"),
		     ZTP_OK);
	ztp_ca_free(c);
	ztp_test_rmtree(dir);
	free(dir);
	free(p_cert);
	free(p_key);
	free(p_chain);
	free(enc);
}
END_TEST

/* A self-signed certificate made by OpenSSL alone, for CAs this library
 * would never create. ku: keyUsage value, or NULL for none. */
static void selfsigned(char **cert_pem, char **key_pem, EVP_PKEY *k,
		       const char *bc, const char *ku)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	BIO *b;
	char *data;
	long len;
	const EVP_MD *md =
	    EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
				   MBSTRING_UTF8,
				   (const unsigned char *)"Foreign", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, bc);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ku != NULL) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, ku);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	ck_assert_int_gt(X509_sign(x, k, md), 0);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	len = BIO_get_mem_data(b, &data);
	*cert_pem = strndup(data, (size_t)len);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(b, &data);
	*key_pem = strndup(data, (size_t)len);
	BIO_free(b);
	X509_free(x);
}

START_TEST(test_load_foreign)
{
	ztp_ca *c = NULL;
	char *cert, *key, *pem = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");

	/* A P-521 CA: sound, but not a key type this CA signs with. */
	selfsigned(&cert, &key, k, "critical,CA:TRUE",
		   "critical,keyCertSign,cRLSign");
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_EKEYPOLICY);
	ztp_ca_free(c);
	free(cert);
	free(key);
	EVP_PKEY_free(k);

	k = keygen("p256");
	/* May not sign certificates. */
	selfsigned(&cert, &key, k, "critical,CA:TRUE", "critical,cRLSign");
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_EPROFILE);
	ztp_ca_free(c);
	free(cert);
	free(key);
	/* Not a CA. */
	selfsigned(&cert, &key, k, "critical,CA:FALSE", NULL);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_EPROFILE);
	ztp_ca_free(c);
	free(cert);
	free(key);
	/* May sign certificates but not CRLs; no key identifier of its
	 * own (the CA derives one). */
	selfsigned(&cert, &key, k, "critical,CA:TRUE", "critical,keyCertSign");
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(c, store), ZTP_OK);
	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_EPROFILE);
	ck_assert_ptr_null(pem);
	{
		char *csr = csr_for("p256");
		X509 *x, *cx = pem_x509(cert);
		ASN1_OCTET_STRING *want = NULL;

		ck_assert_rc(ztp_ca_issue(c, &pem, csr, strlen(csr), "dev-1",
					  NULL, "bootstrap", 0),
			     ZTP_OK);
		x = pem_x509(pem);
		ck_assert_rc(ztp__ca_key_id(&want, X509_get_X509_PUBKEY(cx)),
			     ZTP_OK);
		ck_assert_int_eq(
		    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), want),
		    0);
		ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(cx)), 1);
		ASN1_OCTET_STRING_free(want);
		X509_free(x);
		X509_free(cx);
		ztp_free(pem);
		free(csr);
	}
	ztp_ca_free(c);
	free(cert);
	free(key);
	EVP_PKEY_free(k);
}
END_TEST

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

/* ---------------------------------------------------------- server profile */

/* A CSR for key that asks for everything a server CA must not grant: a
 * foreign SAN, CA:TRUE, keyCertSign and clientAuth. */
static char *greedy_csr(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	static const struct {
		int nid;
		const char *value;
	} want[] = {
	    {NID_subject_alt_name, "DNS:evil.example,IP:192.0.2.66"},
	    {NID_basic_constraints, "critical,CA:TRUE"},
	    {NID_key_usage, "critical,keyCertSign,cRLSign"},
	    {NID_ext_key_usage, "clientAuth,codeSigning"},
	};
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;
	size_t i;

	ck_assert_int_eq(X509_REQ_set_version(req, 0), 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     n, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"evil.example", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_REQ_set_subject_name(req, n), 1);
	ck_assert_int_eq(X509_REQ_set_pubkey(req, key), 1);
	for (i = 0; i < ZTP__ARRAY_LEN(want); i++) {
		X509_EXTENSION *e =
		    X509V3_EXT_conf_nid(NULL, NULL, want[i].nid, want[i].value);

		ck_assert_ptr_nonnull(e);
		sk_X509_EXTENSION_push(exts, e);
	}
	ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
	ck_assert_int_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	BIO_free(b);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return out;
}

/* The extensions of a server certificate, and its names: exactly the
 * DNS names dns[] then the addresses ip[] (text), none from the CSR. */
static void check_server_leaf(X509 *x, const char *cn, const char *const *dns,
			      size_t n_dns, const char *const *ip, size_t n_ip,
			      bool rsa)
{
	int crit = -1, i;
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *gens;
	X509_NAME *subj = X509_get_subject_name(x);
	char buf[128];

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	if (cn != NULL) {
		ck_assert_int_eq(X509_NAME_entry_count(subj), 1);
		ck_assert_int_eq(X509_NAME_get_text_by_NID(subj, NID_commonName,
							   buf, sizeof(buf)),
				 (int)strlen(cn));
		ck_assert_str_eq(buf, cn);
	} else {
		ck_assert_int_eq(X509_NAME_entry_count(subj), 0);
	}
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(!bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	ck_assert_int_eq(ext_critical(x, NID_key_usage), 1);
	ck_assert_uint_eq(X509_get_key_usage(x),
			  rsa ? (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)
			      : KU_DIGITAL_SIGNATURE);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(eku);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
			 NID_server_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ck_assert_uint_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	ck_assert_ptr_nonnull(gens);
	ck_assert_int_eq(crit, cn == NULL);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), (int)(n_dns + n_ip));
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if ((size_t)i < n_dns) {
			ck_assert_int_eq(g->type, GEN_DNS);
			ck_assert_int_eq(ASN1_STRING_length(g->d.dNSName),
					 (int)strlen(dns[i]));
			ck_assert(memcmp(ASN1_STRING_get0_data(g->d.dNSName),
					 dns[i], strlen(dns[i])) == 0);
			ck_assert_int_eq(X509_check_host(x, dns[i], 0, 0, NULL),
					 1);
		} else {
			ASN1_OCTET_STRING *want =
			    a2i_IPADDRESS(ip[(size_t)i - n_dns]);

			ck_assert_ptr_nonnull(want);
			ck_assert_int_eq(g->type, GEN_IPADD);
			ck_assert_int_eq(ASN1_STRING_cmp(g->d.iPAddress, want),
					 0);
			ASN1_OCTET_STRING_free(want);
			ck_assert_int_eq(
			    X509_check_ip_asc(x, ip[(size_t)i - n_dns], 0), 1);
		}
	}
	GENERAL_NAMES_free(gens);
	ck_assert_int_eq(ext_critical(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_critical(x, NID_authority_key_identifier), 0);
	/* A chain fit for a TLS server, and not for a TLS client. */
	ck_assert_int_eq(verify_chain_for(x, g_root_cert, g_untrusted, g_now,
					  X509_PURPOSE_SSL_SERVER),
			 X509_V_OK);
	ck_assert_int_eq(verify_chain_for(x, g_root_cert, g_untrusted, g_now,
					  X509_PURPOSE_SSL_CLIENT),
			 X509_V_ERR_INVALID_PURPOSE);
}

START_TEST(test_issue_server)
{
	static const char *const dns[] = {"verifier.example", "localhost"};
	static const char *const ip[] = {"127.0.0.1", "2001:db8::1"};
	EVP_PKEY *k = keygen("p256");
	char *csr = greedy_csr(k);
	char *pem = NULL, *key = (char *)"x", *serial = NULL, *json = NULL;
	char fp[65], want[128];
	int64_t na = 0;
	X509 *x;

	/* The CSR's SAN, CA:TRUE and EKUs are all ignored; names come from
	 * the caller only, DNS names lowercased. */
	ck_assert_rc(ztp_ca_issue_server(
			 ca, &pem, &key, &serial, &na, csr, strlen(csr), NULL,
			 "{\"dns\":[\"Verifier.Example\",\"localhost\"],"
			 "\"ip\":[\"127.0.0.1\",\"2001:0db8:0:0::1\"]}",
			 0),
		     ZTP_OK);
	ck_assert_ptr_null(key);
	x = pem_x509(pem);
	check_server_leaf(x, "verifier.example", dns, 2, ip, 2, false);
	ck_assert_int_eq(X509_check_host(x, "evil.example", 0, 0, NULL), 0);
	ck_assert_int_eq(X509_check_ip_asc(x, "192.0.2.66", 0), 0);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	ck_assert_int_eq(t_of(X509_get0_notBefore(x)), g_now - 60);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 g_now + ZTP_CA_SERVER_DAYS_DEFAULT * 86400LL);
	ck_assert_int_eq(na, g_now + ZTP_CA_SERVER_DAYS_DEFAULT * 86400LL);
	/* Recorded before it was returned, as a server certificate of no
	 * device. */
	ck_assert_rc(ztp_store_cert_get(store, serial, &json), ZTP_OK);
	fp_hex(fp, x);
	snprintf(want, sizeof(want), "\"fingerprint\":\"%s\"", fp);
	ck_assert_ptr_nonnull(strstr(json, want));
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":null"));
	ck_assert_ptr_nonnull(strstr(json, "\"profile\":\"server\""));
	ztp_free(json);
	ztp_free(serial);
	ztp_free(pem);
	X509_free(x);

	/* The longest lifetime, and only addresses: the CN is the first,
	 * in canonical text. */
	ck_assert_rc(ztp_ca_issue_server(
			 ca, &pem, NULL, NULL, NULL, csr, strlen(csr), NULL,
			 "{\"ip\":[\"2001:0DB8::0:1\",\"127.0.0.1\"]}",
			 ZTP_CA_SERVER_DAYS_MAX * 86400LL),
		     ZTP_OK);
	x = pem_x509(pem);
	{
		static const char *const ip2[] = {"2001:db8::1", "127.0.0.1"};

		check_server_leaf(x, "2001:db8::1", NULL, 0, ip2, 2, false);
	}
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 g_now + ZTP_CA_SERVER_DAYS_MAX * 86400LL);
	ztp_free(pem);
	X509_free(x);

	/* A DNS name too long for a CN and nothing else: an empty subject
	 * and a critical SAN. */
	{
		static const char *const longname[] = {
		    "a-rather-long-host-name-for-a-verifier.eu-central-1."
		    "fleet.example.com"};
		char doc[160];

		snprintf(doc, sizeof(doc), "{\"dns\":[\"%s\"]}", longname[0]);
		ck_assert_uint_gt(strlen(longname[0]), 64);
		ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL,
						 csr, strlen(csr), NULL, doc,
						 3600),
			     ZTP_OK);
		x = pem_x509(pem);
		check_server_leaf(x, NULL, longname, 1, NULL, 0, false);
		ck_assert_int_eq(t_of(X509_get0_notAfter(x)), g_now + 3600);
		ztp_free(pem);
		X509_free(x);
	}
	EVP_PKEY_free(k);
	free(csr);
}
END_TEST

/* Without a CSR the key is made here and handed back with the
 * certificate; RSA keys also get keyEncipherment. */
START_TEST(test_issue_server_new_key)
{
	static const char *const types[] = {NULL, "ec-p384", "ed25519",
					    "rsa-2048"};
	static const char *const dns[] = {"broker.example"};
	const char *type = types[_i];
	char *pem = NULL, *key = NULL;
	EVP_PKEY *k;
	BIO *b;
	X509 *x;

	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, NULL, 0,
					 type, "{\"dns\":[\"broker.example\"]}",
					 0),
		     ZTP_OK);
	x = pem_x509(pem);
	b = BIO_new_mem_buf(key, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	check_server_leaf(x, "broker.example", dns, 1, NULL, 0,
			  type != NULL && strncmp(type, "rsa-", 4) == 0);
	EVP_PKEY_free(k);
	X509_free(x);
	ztp_free(pem);
	ztp__free_secret(key, strlen(key));
}
END_TEST

/* Every malformed name, name set, lifetime or argument is refused before
 * anything is signed or recorded. */
START_TEST(test_issue_server_refusals)
{
	static const struct {
		const char *names;
		int rc;
		const char *why;
	} bad[] = {
	    {"{}", ZTP_EINVAL, "at least one"},
	    {"{\"dns\":[],\"ip\":[]}", ZTP_EINVAL, "at least one"},
	    {"[]", ZTP_EPARSE, "expected"},
	    {"", ZTP_EPARSE, ""},
	    {"{\"dns\":[\"a.example\"]", ZTP_EPARSE, ""},
	    {"{\"dns\":\"a.example\"}", ZTP_EPARSE, "dns"},
	    {"{\"dns\":[1]}", ZTP_EPARSE, "non-string"},
	    {"{\"ip\":[null]}", ZTP_EPARSE, "non-string"},
	    {"{\"uri\":[\"urn:x\"]}", ZTP_EPARSE, "uri"},
	    {"{\"dns\":[\"a.example\"],\"dns\":[\"b.example\"]}", ZTP_EPARSE,
	     ""},
	    {"{\"dns\":[\"*.example.com\"]}", ZTP_EINVAL, "wildcard"},
	    {"{\"dns\":[\"a*.example.com\"]}", ZTP_EINVAL, "wildcard"},
	    {"{\"dns\":[\"\"]}", ZTP_EINVAL, "empty DNS name"},
	    {"{\"dns\":[\"a..example\"]}", ZTP_EINVAL, "empty label"},
	    {"{\"dns\":[\".example\"]}", ZTP_EINVAL, "empty label"},
	    {"{\"dns\":[\"a.example.\"]}", ZTP_EINVAL, "no trailing dot"},
	    {"{\"dns\":[\"-a.example\"]}", ZTP_EINVAL, "starts with '-'"},
	    {"{\"dns\":[\"a-.example\"]}", ZTP_EINVAL, "ends with '-'"},
	    {"{\"dns\":[\"a.example-\"]}", ZTP_EINVAL, "ends with '-'"},
	    {"{\"dns\":[\"exa_mple.com\"]}", ZTP_EINVAL, "'_' at offset 3"},
	    {"{\"dns\":[\"a b.example\"]}", ZTP_EINVAL, "' ' at offset 1"},
	    {"{\"dns\":[\"a\\u0001b\"]}", ZTP_EINVAL, "'?' at offset 1"},
	    {"{\"dns\":[\"caf\\u00e9.example\"]}", ZTP_EINVAL, "xn--"},
	    {"{\"dns\":[\"127.0.0.1\"]}", ZTP_EINVAL, "numeric label"},
	    {"{\"dns\":[\"host.123\"]}", ZTP_EINVAL, "numeric label"},
	    {"{\"dns\":[\"a.example\",\"A.Example\"]}", ZTP_EINVAL,
	     "\"a.example\" given twice"},
	    {"{\"dns\":["
	     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaa.example\"]}",
	     ZTP_EINVAL, "label over 63"},
	    {"{\"ip\":[\"1.2.3\"]}", ZTP_EINVAL, "not an IPv4 address"},
	    {"{\"ip\":[\"256.1.1.1\"]}", ZTP_EINVAL, "not an IPv4 address"},
	    {"{\"ip\":[\"01.2.3.4\"]}", ZTP_EINVAL, "not an IPv4 address"},
	    {"{\"ip\":[\"1.2.3.4 \"]}", ZTP_EINVAL, "unexpected character"},
	    {"{\"ip\":[\"localhost\"]}", ZTP_EINVAL, "unexpected character"},
	    {"{\"ip\":[\"fe80::1%eth0\"]}", ZTP_EINVAL, "zone"},
	    {"{\"ip\":[\"1:2:3:4:5:6:7:8:9\"]}", ZTP_EINVAL, "IPv6"},
	    {"{\"ip\":[\"0.0.0.0\"]}", ZTP_EINVAL, "unspecified"},
	    {"{\"ip\":[\"::\"]}", ZTP_EINVAL, "unspecified"},
	    {"{\"ip\":[\"::ffff:192.0.2.1\"]}", ZTP_EINVAL, "IPv4-mapped"},
	    {"{\"ip\":[\"\"]}", ZTP_EINVAL, "not an IP address"},
	    {"{\"ip\":[\"2001:db8::1\",\"2001:DB8:0::1\"]}", ZTP_EINVAL,
	     "\"2001:db8::1\" given twice"},
	};
	char *csr = csr_for("p256");
	char *pem = (char *)"x", *key = (char *)"x", *serial = (char *)"x";
	size_t len = strlen(csr), i;
	uint64_t before = cert_count();
	char doc[4096], *p;
	const char *one = "{\"dns\":[\"a.example\"]}";

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		ck_assert_msg(ztp_ca_issue_server(ca, &pem, NULL, &serial, NULL,
						  csr, len, NULL, bad[i].names,
						  0) == bad[i].rc,
			      "%s: accepted or wrong code (%s)", bad[i].names,
			      ztp_error_last_message());
		ck_assert_ptr_null(pem);
		ck_assert_ptr_null(serial);
		ck_assert_msg(strstr(ztp_error_last_message(), bad[i].why) !=
				  NULL,
			      "%s: message \"%s\" lacks \"%s\"", bad[i].names,
			      ztp_error_last_message(), bad[i].why);
	}
	/* 33 names. */
	p = doc + snprintf(doc, sizeof(doc), "{\"dns\":[");
	for (i = 0; i <= ZTP_CA_SERVER_NAMES_MAX; i++)
		p += snprintf(p, sizeof(doc) - (size_t)(p - doc),
			      "%s\"h%zu.example\"", i ? "," : "", i);
	snprintf(p, sizeof(doc) - (size_t)(p - doc), "]}");
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, doc, 0),
		     ZTP_ETOOBIG);
	/* Lifetimes. */
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, one,
					 ZTP_CA_SERVER_DAYS_MAX * 86400LL + 1),
		     ZTP_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "at most 398 days"));
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, one, -1),
		     ZTP_EINVAL);
	/* Arguments: a CSR with a key type, neither a CSR nor a place for
	 * the key, no names, an unknown key type. */
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 "ec-p256", one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, NULL, 0,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, csr, 0,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_ptr_null(key);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, NULL, NULL, NULL, NULL, csr, len,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(NULL, &pem, NULL, NULL, NULL, csr, len,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, NULL, 0,
					 "dsa-2048", one, 0),
		     ZTP_EINVAL);
	ck_assert_ptr_null(key);
	/* A fresh key the key policy refuses. */
	ck_assert_rc(ztp_ca_set_key_policy(ca, "ec-p384"), ZTP_OK);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, NULL, 0,
					 NULL, one, 0),
		     ZTP_EKEYPOLICY);
	ck_assert_ptr_null(key);
	/* The server profile is not a device profile. */
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL, "server", 0),
	    ZTP_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "ztp_ca_issue_server"));
	ck_assert_ptr_null(pem);
	ck_assert_uint_eq(cert_count(), before);
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
		/* The key went in undecoded (see ca_internal.h): check it
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_issue_serials_unique)
{
	enum { N = 10000 };
	ztp_ca *c = NULL;
	char *cert = NULL, *key = NULL, *csr = csr_for("ed25519");
	char **serials = calloc(N, sizeof(char *));
	X509_REQ *req = NULL;
	BIO *b = BIO_new_mem_buf(csr, -1);
	int i;

	/* An Ed25519 issuing CA and the parsed-request entry point keep
	 * 10,000 issuances quick. */
	{
		ztp_ca *intm = NULL;

		ck_assert_rc(ztp_ca_new(&intm), ZTP_OK);
		ck_assert_rc(
		    ztp_ca_load(intm, g_int_cert, g_int_key, NULL, NULL),
		    ZTP_OK);
		ck_assert_rc(ztp_ca_create_sub(intm, &cert, &key, "/CN=Fast",
					       "ed25519", 30, 0),
			     ZTP_OK);
		ztp_ca_free(intm);
	}
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(c, store), ZTP_OK);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(req);
	for (i = 0; i < N; i++) {
		X509 *x = NULL;
		char s[ZTP_CA_SERIAL_HEX_MAX + 1];

		ck_assert_rc(ztp__ca_issue_req(c, &x, s, NULL, req, NULL,
					       "dev-1", NULL, "bootstrap", 0),
			     ZTP_OK);
		ck_assert_uint_eq(strlen(s), 34);
		ck_assert(s[0] >= '4' && s[0] <= '7');
		serials[i] = strdup(s);
		X509_free(x);
	}
	qsort(serials, N, sizeof(char *), cmp_str);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(serials[i - 1], serials[i]);
	ck_assert_uint_eq(cert_count(), N);
	for (i = 0; i < N; i++)
		free(serials[i]);
	free(serials);
	X509_REQ_free(req);
	BIO_free(b);
	ztp_ca_free(c);
	ztp_free(cert);
	ztp_free(key);
	free(csr);
}
END_TEST

/* A serial source that repeats the same value `repeat` times. */
struct fixed_rand {
	int calls;
	int repeat;
};

static int fixed_rand(uint8_t *buf, size_t len, void *ctx)
{
	struct fixed_rand *f = ctx;

	memset(buf, 0x5a, len);
	if (f->calls >= f->repeat)
		buf[len - 1] = (uint8_t)f->calls;
	f->calls++;
	return 0;
}

START_TEST(test_issue_serial_collision)
{
	struct fixed_rand fr = {0, 1000000};
	char *csr = csr_for("p256"), *pem = NULL, *serial = NULL;
	uint64_t before = cert_count();

	ztp__ca_set_serial_source(ca, fixed_rand, &fr);
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ztp_free(pem);
	ztp_free(serial);
	/* Every attempt collides: bounded retries, then nothing returned. */
	fr.calls = 0;
	pem = serial = (char *)"x";
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_EEXISTS);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(serial);
	ck_assert_int_eq(fr.calls, ZTP__CA_SERIAL_ATTEMPTS);
	ck_assert_uint_eq(cert_count(), before + 1);
	/* Two collisions, then a fresh serial: issued. */
	fr.calls = 0;
	fr.repeat = 2;
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ck_assert_int_eq(fr.calls, 3);
	ck_assert_uint_eq(cert_count(), before + 2);
	ztp_free(pem);
	ztp_free(serial);
	free(csr);
}
END_TEST

/* A store whose every operation fails, as a full disk would. */
static int fb_err(void)
{
	return ztp_store_backend_error(ZTP_ESTORE, "test: disk full");
}
static int fb_device_add(void *c, const char *a, const char *b, const char *d,
			 const char *e, int64_t f, int64_t g)
{
	(void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g;
	return fb_err();
}
static int fb_get(void *c, const char *a, char **j)
{
	(void)c, (void)a, (void)j;
	return fb_err();
}
static int fb_set_state(void *c, const char *a, const char *b, const char *d,
			const char *e, int64_t f)
{
	(void)c, (void)a, (void)b, (void)d, (void)e, (void)f;
	return fb_err();
}
static int fb_set_info(void *c, const char *a, const char *b, int64_t f)
{
	(void)c, (void)a, (void)b, (void)f;
	return fb_err();
}
static int fb_claim_set(void *c, const char *a, const uint8_t *h, size_t n)
{
	(void)c, (void)a, (void)h, (void)n;
	return fb_err();
}
static int fb_claim_take(void *c, const char *a, const uint8_t *h, size_t n,
			 const char *t, int64_t f)
{
	(void)c, (void)a, (void)h, (void)n, (void)t, (void)f;
	return fb_err();
}
static int fb_cert_add(void *c, const char *a, const char *b, const char *d,
		       int64_t e, int64_t f, const char *g, int64_t h)
{
	(void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g, (void)h;
	return fb_err();
}
static int fb_revoke(void *c, const char *a, int r, int64_t w)
{
	(void)c, (void)a, (void)r, (void)w;
	return fb_err();
}
static int fb_dev_revoke(void *c, const char *a, const char *p, int r,
			 int64_t w, uint64_t *n)
{
	(void)c, (void)a, (void)p, (void)r, (void)w, (void)n;
	return fb_err();
}
static int fb_list(void *c, char **j)
{
	(void)c, (void)j;
	return fb_err();
}
static int fb_count(void *c, uint64_t *n)
{
	(void)c, (void)n;
	return fb_err();
}
static int fb_challenge(void *c, const uint8_t *i, size_t n, int64_t e,
			int64_t f)
{
	(void)c, (void)i, (void)n, (void)e, (void)f;
	return fb_err();
}
static int fb_event_append(void *c, const char *j, int64_t n)
{
	(void)c, (void)j, (void)n;
	return fb_err();
}
static int fb_event_list(void *c, int64_t a, size_t m, char **j)
{
	(void)c, (void)a, (void)m, (void)j;
	return fb_err();
}
static int fb_counter(void *c, const char *n, uint64_t *o)
{
	(void)c, (void)n, (void)o;
	return fb_err();
}

static const ztp_store_backend failing_backend = {
    ZTP_STORE_BACKEND_VERSION,
    ZTP_STORE_BACKEND_THREADSAFE,
    NULL,
    fb_device_add,
    fb_get,
    fb_set_state,
    fb_set_info,
    fb_claim_set,
    fb_claim_take,
    fb_cert_add,
    fb_get,
    fb_revoke,
    fb_dev_revoke,
    fb_list,
    fb_get,
    fb_count,
    fb_challenge,
    fb_event_append,
    fb_event_list,
    fb_counter,
    NULL, /* limit_take, claim_attempt, device_set_factory_key: optional */
    NULL,
    NULL,
    NULL, /* cert_add_issued, revoked_list_issuer: cert_add, revoked_list */
    NULL,
};

START_TEST(test_issue_store_failure)
{
	ztp_store *bad = NULL;
	char *csr = csr_for("p256"), *pem = (char *)"x", *serial = (char *)"x";
	char *cert = NULL, *key = NULL;

	ck_assert_rc(ztp_store_open_backend(&bad, &failing_backend, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, bad), ZTP_OK);
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "factory", 0),
		     ZTP_ESTORE);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(serial);
	ck_assert_rc(ztp_ca_revoke(ca, "01", 1), ZTP_ESTORE);
	ck_assert_rc(ztp_ca_crl(ca, &pem, 0), ZTP_ESTORE);
	ck_assert_ptr_null(pem);
	/* A sub CA that cannot be recorded is not returned either. */
	{
		ztp_ca *intm = NULL;

		ck_assert_rc(ztp_ca_new(&intm), ZTP_OK);
		ck_assert_rc(
		    ztp_ca_load(intm, g_int_cert, g_int_key, NULL, NULL),
		    ZTP_OK);
		ck_assert_rc(ztp_ca_set_store(intm, bad), ZTP_OK);
		ck_assert_rc(
		    ztp_ca_create_sub(intm, &cert, &key, "/CN=X", NULL, 10, 0),
		    ZTP_ESTORE);
		ck_assert_ptr_null(cert);
		ck_assert_ptr_null(key);
		ztp_ca_free(intm);
	}
	ck_assert_rc(ztp_ca_set_store(ca, store), ZTP_OK);
	ztp_store_free(bad);
	free(csr);
}
END_TEST

START_TEST(test_issue_alloc_failure)
{
	char *csr = csr_for("p256"), *pem = NULL;
	long n;
	int rc = ZTP_ENOMEM;
	uint64_t before = cert_count();

	for (n = 1; n < 400; n++) {
		pem = NULL;
		ztp__alloc_fail_at(n);
		rc = ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0);
		ztp__alloc_fail_at(0);
		if (rc == ZTP_OK)
			break;
		ck_assert_msg(rc < 0, "n=%ld rc=%d", n, rc);
		ck_assert_ptr_null(pem);
	}
	ck_assert_rc(rc, ZTP_OK);
	ztp_free(pem);
	ck_assert_uint_ge(cert_count(), before + 1);
	free(csr);
}
END_TEST

struct thread_arg {
	ztp_ca *ca;
	const char *csr;
	int n;
	int failures;
};

static void *issue_thread(void *p)
{
	struct thread_arg *a = p;
	int i;

	for (i = 0; i < a->n; i++) {
		char *pem = NULL;

		if (ztp_ca_issue(a->ca, &pem, a->csr, strlen(a->csr), "dev-1",
				 "acme", "operational", 0) != ZTP_OK)
			a->failures++;
		else {
			X509 *x = pem_x509(pem);

			if (verify_chain(x, g_root_cert, g_untrusted, g_now) !=
			    X509_V_OK)
				a->failures++;
			X509_free(x);
		}
		ztp_free(pem);
	}
	return NULL;
}

START_TEST(test_issue_threads)
{
	enum { T = 8, N = 25 };
	pthread_t th[T];
	struct thread_arg args[T];
	char *csr = csr_for("p256");
	int i;

	for (i = 0; i < T; i++) {
		args[i] = (struct thread_arg){ca, csr, N, 0};
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, issue_thread, &args[i]), 0);
	}
	for (i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	ck_assert_uint_eq(cert_count(), T * N);
	free(csr);
}
END_TEST

/* ---------------------------------------------------------- key types */

START_TEST(test_key_types)
{
	static const struct {
		const char *type;
		int sig_nid;
		const char *leaf; /* a device key of another type */
	} types[] = {
	    {"ec-p256", NID_ecdsa_with_SHA256, "p384"},
	    {"ec-p384", NID_ecdsa_with_SHA384, "ed25519"},
	    {"ed25519", NID_ED25519, "rsa2048"},
	    {"rsa-3072", NID_sha256WithRSAEncryption, "p256"},
	};
	int i = _i;
	ztp_ca *root = NULL, *sub = NULL;
	char *rc_pem = NULL, *rk_pem = NULL, *sc_pem = NULL, *sk_pem = NULL;
	EVP_PKEY *leaf_key = keygen(types[i].leaf);
	char *csr = csr_pem(leaf_key, "x", NULL), *pem = NULL;
	X509 *rx, *sx, *lx;

	ck_assert_rc(ztp_ca_create_root(&rc_pem, &rk_pem, "/CN=Root",
					types[i].type, 100),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&root), ZTP_OK);
	ck_assert_rc(ztp_ca_load(root, rc_pem, rk_pem, NULL, NULL), ZTP_OK);
	ck_assert_str_eq(ztp__ca_key_type(root), types[i].type);
	ck_assert_rc(ztp_ca_create_sub(root, &sc_pem, &sk_pem, "/CN=Sub",
				       types[i].type, 50, 0),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&sub), ZTP_OK);
	ck_assert_rc(ztp_ca_load(sub, sc_pem, sk_pem, rc_pem, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(sub, store), ZTP_OK);
	ck_assert_rc(ztp_ca_issue(sub, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_OK);
	rx = pem_x509(rc_pem);
	sx = pem_x509(sc_pem);
	lx = pem_x509(pem);
	check_ca_cert(rx, rx, -1);
	check_ca_cert(sx, rx, 0);
	ck_assert_int_eq(X509_get_signature_nid(rx), types[i].sig_nid);
	ck_assert_int_eq(X509_get_signature_nid(sx), types[i].sig_nid);
	ck_assert_int_eq(X509_get_signature_nid(lx), types[i].sig_nid);
	ck_assert_int_eq(verify_chain(lx, rc_pem, sc_pem, (int64_t)time(NULL)),
			 X509_V_OK);
	ck_assert_int_eq(X509_check_private_key(lx, leaf_key), 1);
	EVP_PKEY_free(leaf_key);
	X509_free(rx);
	X509_free(sx);
	X509_free(lx);
	ztp_free(pem);
	free(csr);
	ztp_free(rc_pem);
	ztp_free(rk_pem);
	ztp_free(sc_pem);
	ztp_free(sk_pem);
	ztp_ca_free(root);
	ztp_ca_free(sub);
}
END_TEST

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

/* ---------------------------------------------------------- CAs sharing a store */

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
static X509_CRL *crl_of(ztp_ca *c, const char *cert_pem,
			const char *other_pem, long number)
{
	X509 *x = pem_x509(cert_pem), *o = pem_x509(other_pem);
	char *pem = NULL;
	X509_CRL *crl;

	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_OK);
	crl = pem_crl(pem);
	ztp_free(pem);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(x)), 1);
	ck_assert_int_ne(X509_CRL_verify(crl, X509_get0_pubkey(o)), 1);
	ck_assert_int_eq(X509_NAME_cmp(X509_CRL_get_issuer(crl),
				       X509_get_subject_name(x)),
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
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "issuer")),
			 want);
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
	ck_assert_rc(ztp_ca_revoke(intm, sub_serial, ZTP_CA_REASON_CA_COMPROMISE),
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
	ck_assert_int_eq(ASN1_BIT_STRING_set_bit(ku, 5, 1), 1); /* keyCertSign */
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

/* ---------------------------------------------------------- suite */

static Suite *ca_suite(void)
{
	Suite *s = suite_create("ca");
	TCase *tc;

	tc = tcase_create("new");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_free);
	tcase_add_test(tc, test_reason_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("dn_parse");
	tcase_add_test(tc, test_dn_parse);
	tcase_add_test(tc, test_dn_rfc4514);
	tcase_add_test(tc, test_dn_openssl_round_trip);
	tcase_add_test(tc, test_dn_rfc4514_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("create");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_root);
	tcase_add_test(tc, test_create_root_rfc4514);
	tcase_add_test(tc, test_create_sub);
	tcase_add_loop_test(tc, test_key_types, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_load_foreign);
	suite_add_tcase(s, tc);

	tc = tcase_create("issue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_issue_profile);
	tcase_add_test(tc, test_issue_refusals);
	tcase_add_test(tc, test_issue_server);
	tcase_add_loop_test(tc, test_issue_server_new_key, 0, 4);
	tcase_add_test(tc, test_issue_server_refusals);
	tcase_add_test(tc, test_issue_clamp);
	tcase_add_test(tc, test_issue_key_policy);
	tcase_add_test(tc, test_issue_bad_signature);
	tcase_add_test(tc, test_issue_serials_unique);
	tcase_add_test(tc, test_issue_serial_collision);
	tcase_add_test(tc, test_issue_store_failure);
	tcase_add_test(tc, test_issue_alloc_failure);
	tcase_add_test(tc, test_issue_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("revoke_crl");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_revoke_crl);
	tcase_add_loop_test(tc, test_crl_shared_store, 0, 2);
	tcase_add_test(tc, test_load_long_ski);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	build_pki();
	rc = ztp_test_run(ca_suite());
	ztp_free(g_root_cert);
	ztp_free(g_root_key);
	ztp_free(g_int_cert);
	ztp_free(g_int_key);
	ztp_free(g_iss_cert);
	ztp_free(g_iss_key);
	free(g_chain);
	free(g_untrusted);
	return rc;
}
