/*
 * CA: the suite, its fixtures and the shared helpers and PKI. Its test
 * cases live by topic in tests/unit/ca_*.c: creation, loading, issuance
 * under profiles, key policy, serials, durability, revocation and CRLs.
 * Every certificate is checked with OpenSSL, field by field.
 */
#include "test_ca.h"

/* ---------------------------------------------------------- helpers */

/* A three-level P-256 PKI built once: root -> intermediate (pathlen 1) ->
 * issuing (pathlen 0). */
char *g_root_cert, *g_root_key, *g_int_cert, *g_int_key, *g_iss_cert,
    *g_iss_key, *g_chain, *g_untrusted;
int64_t g_now;

/* Per-test fixture. */
ztp_store *store;
ztp_ca *ca;

X509 *pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

X509_CRL *pem_crl(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_CRL *x = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);

	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

EVP_PKEY *keygen(const char *kind)
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
char *csr_pem(EVP_PKEY *key, const char *cn, const char *san)
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

char *csr_for(const char *kind)
{
	EVP_PKEY *k = keygen(kind);
	char *pem = csr_pem(k, "ignored", NULL);

	EVP_PKEY_free(k);
	return pem;
}

int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	ck_assert_msg(i >= 0, "extension %s missing", OBJ_nid2sn(nid));
	ck_assert_int_lt(X509_get_ext_by_NID(x, nid, i), 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

int64_t t_of(const ASN1_TIME *t)
{
	int64_t v = 0;

	ck_assert_int_eq(ztp__asn1_time(&v, t), ZTP_OK);
	return v;
}

/* Verify leaf up to a trusted root, with the given intermediates (PEM
 * concatenation, may be NULL), at time at. Returns the X509_V_ code. */
int verify_chain_for(X509 *leaf, const char *root_pem,
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
int verify_chain(X509 *leaf, const char *root_pem, const char *untrusted_pem,
		 int64_t at)
{
	return verify_chain_for(leaf, root_pem, untrusted_pem, at,
				X509_PURPOSE_SSL_CLIENT);
}

int serial_bits(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	int bits;

	ck_assert_ptr_nonnull(bn);
	ck_assert(!BN_is_negative(bn));
	bits = BN_num_bits(bn);
	BN_free(bn);
	return bits;
}

char *serial_hex_of(X509 *x)
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

void fp_hex(char out[65], X509 *x)
{
	uint8_t fp[32];

	ck_assert_int_eq(ztp__cert_fingerprint(fp, x), ZTP_OK);
	ztp__hex_encode(out, fp, sizeof(fp));
}

void register_device(ztp_store *s, const char *id)
{
	ck_assert_rc(ztp_store_device_add(s, id,
					  "0000000000000000000000000000000000"
					  "000000000000000000000000000000",
					  NULL, NULL, g_now),
		     ZTP_OK);
}

char *cat3(const char *a, const char *b, const char *c)
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

void build_pki(void)
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

void setup(void)
{
	ck_assert_rc(ztp_store_open(&store, "memory:"), ZTP_OK);
	ck_assert_rc(ztp_ca_new(&ca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(ca, g_iss_cert, g_iss_key, g_chain, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, store), ZTP_OK);
	ck_assert_rc(ztp_ca_set_clock(ca, ztp_clock_fixed, &g_now), ZTP_OK);
	register_device(store, "dev-1");
}

void teardown(void)
{
	ztp_ca_free(ca);
	ztp_store_free(store);
	ca = NULL;
	store = NULL;
}

uint64_t cert_count(void)
{
	uint64_t n = 0;

	ck_assert_rc(ztp_store_cert_count(store, &n), ZTP_OK);
	return n;
}

/* ---------------------------------------------------------- suite */

static Suite *ca_suite(void)
{
	Suite *s = suite_create("ca");

	ca_tcases_names(s);
	ca_tcases_create(s);
	ca_tcases_issue(s);
	ca_tcases_server(s);
	ca_tcases_serials(s);
	ca_tcases_crl(s);
#ifdef HAVE_PKCS11
	ca_tcases_hsm(s);
#endif
	return s;
}

int main(void)
{
	int rc;

	build_pki();
#ifdef HAVE_PKCS11
	ca_hsm_tokens();
#endif
	rc = ztp_test_run(ca_suite());
#ifdef HAVE_PKCS11
	ca_hsm_cleanup();
#endif
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
