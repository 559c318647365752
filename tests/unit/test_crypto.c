/*
 * Core crypto helpers: the suite. Its test cases live by topic in
 * tests/unit/crypto_*.c: encodings, PEM/DER, files, keys and key policy,
 * signatures (with the Wycheproof vectors), certificate names, time,
 * allocation failures.
 */
#include "test_crypto.h"

/* Keys shared by every test: generated once in main() before Check forks,
 * so that each test does not pay for RSA key generation again. */
EVP_PKEY *k_p256, *k_p256b, *k_p384, *k_ed25519, *k_rsa, *k_rsab;

/* EC P-256 key with explicit curve parameters (openssl ecparam
 * -param_enc explicit): must never pass as "ec-p256". */
const char explicit_ec_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBSzCCAQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAA\n"
    "AAAAAAAAAAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA////\n"
    "///////////8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSd\n"
    "NgiG5wSTamZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5\n"
    "RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA\n"
    "//////////+85vqtpxeehPO5ysL8YyVRAgEBA0IABFRsci343JVuZdUlY2fSyaeu\n"
    "ztve3KtMNa76Pl06cU612kZJpZa3M7meDu1sJUqYW9jmnnIQRqbpnM7Ej1Akc4E=\n"
    "-----END PUBLIC KEY-----\n";

/* A DSA-1024 public key. */
const char dsa_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBvzCCATMGByqGSM44BAEwggEmAoGBAMcaMUqQSyhjAeTGrBQis6mFOQ8II7cY\n"
    "ZBlqUJyHoCKvCuyiV5J7EHeunbv6ETcYIkS6T0YurJBdXeE4m7bCkMBzS6sRd39i\n"
    "uSqSs6kLwOqAZmxNuA1cjEfYuOqgdLOgHDdXPVZJyIei06d7rTt8m7wwt0thO5qc\n"
    "fU+1LrJLpsiRAh0Arl56phM8LyBG22rP39vgdobirsToZpyc6YTnJQKBgHCR8d/V\n"
    "16KaoSsAc47/sNTSo2i44E/0u3h+g0Us1/52LYMONBRtmO8T0NAioq8MfK/VR9wK\n"
    "oG3FvclA08wLTjp2PtR1SGGnlRjZypMDUsavDZ1QYUzXRxNBPuls/zrLLSONw4te\n"
    "0c8hIz/EznhUbmZN33Pj6UKvMjG9h49q2ZEhA4GFAAKBgQCF9CZiO701XwFgf3uL\n"
    "jmy1EAFcNiKuwQ9+LUg6lKaGkbbkdRzzZ7rKxMqIwFSa7L7yUEWaA013xr9VXvja\n"
    "VACoIM8JxcK8HnuohRqkiSmbCdh1BTVzz48YV8U3fkZjzGs1VM7chTuxJQuMreEd\n"
    "ptKOLTk8YFVDhkBwRQHqUli0UA==\n"
    "-----END PUBLIC KEY-----\n";

EVP_PKEY *pub_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k;

	ck_assert_ptr_nonnull(b);
	k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	return k;
}

EVP_PKEY *gen_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	ck_assert_msg(k != NULL, "keygen %s", curve);
	return k;
}

EVP_PKEY *gen_rsa(size_t bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);

	ck_assert_ptr_nonnull(k);
	return k;
}

/* Error detail contains needle. */
void assert_detail(const char *needle)
{
	ck_assert_msg(strstr(ztp_error_last_message(), needle) != NULL,
		      "detail '%s' lacks '%s'", ztp_error_last_message(),
		      needle);
}

const uint8_t msg[] = "ZTP-BOOTSTRAP-V1\0dev-001\0nonce\0hash";

/* ------------------------------------------------------------------
 * certificates */

GENERAL_NAMES *make_sans(const struct certspec *cs)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn;
	ASN1_IA5STRING *s;
	int i;

	ck_assert_ptr_nonnull(gens);
	if (cs->dns_san) {
		gn = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		ck_assert(ASN1_STRING_set(s, "dev-001.example", -1) == 1);
		GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		ck_assert(sk_GENERAL_NAME_push(gens, gn) > 0);
	}
	for (i = 0; i < cs->nuri; i++) {
		size_t len = cs->urilen[i] ? cs->urilen[i] : strlen(cs->uri[i]);

		gn = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		ck_assert(ASN1_STRING_set(s, cs->uri[i], (int)len) == 1);
		GENERAL_NAME_set0_value(gn, GEN_URI, s);
		ck_assert(sk_GENERAL_NAME_push(gens, gn) > 0);
	}
	return gens;
}

X509 *make_cert(const struct certspec *cs)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_NAME_ENTRY *ne;
	GENERAL_NAMES *gens;
	int i;

	ck_assert_ptr_nonnull(x);
	ck_assert(X509_set_version(x, X509_VERSION_3) == 1);
	ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) == 1);
	name = X509_get_subject_name(x);
	ck_assert(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					     (const unsigned char *)"Acme", -1,
					     -1, 0) == 1);
	for (i = 0; i < cs->ncn; i++) {
		size_t len = cs->cnlen[i] ? cs->cnlen[i] : strlen(cs->cn[i]);

		ne = X509_NAME_ENTRY_create_by_NID(
		    NULL, NID_commonName,
		    cs->cntype ? cs->cntype : V_ASN1_UTF8STRING,
		    (const unsigned char *)cs->cn[i], (int)len);
		ck_assert_ptr_nonnull(ne);
		ck_assert(X509_NAME_add_entry(name, ne, -1, 0) == 1);
		X509_NAME_ENTRY_free(ne);
	}
	ck_assert(X509_set_issuer_name(x, name) == 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	ck_assert(X509_set_pubkey(x, k_p256) == 1);
	if (cs->nuri > 0 || cs->dns_san) {
		gens = make_sans(cs);
		ck_assert(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
					    X509V3_ADD_APPEND) == 1);
		if (cs->dup_san)
			ck_assert(X509_add1_ext_i2d(x, NID_subject_alt_name,
						    gens, 0,
						    X509V3_ADD_APPEND) == 1);
		GENERAL_NAMES_free(gens);
	}
	ck_assert(X509_sign(x, k_p256, EVP_sha256()) > 0);
	return x;
}

X509 *simple_cert(const char *cn)
{
	struct certspec cs = {.ncn = 1, .cn = {cn}};

	return make_cert(&cs);
}

char *cert_pem(X509 *x)
{
	char *pem = NULL;

	ck_assert_rc(ztp__cert_to_pem(&pem, x), ZTP_OK);
	return pem;
}

/* PEM-wrap arbitrary DER under label, 64 columns, with the given line end. */
char *wrap_pem(const char *label, const uint8_t *der, size_t len,
	       const char *eol)
{
	char *b64 = NULL, *out;
	size_t n, i, cap;
	ztp__buf buf = {0};

	ck_assert_rc(ztp__b64_encode(&b64, der, len), ZTP_OK);
	n = strlen(b64);
	ck_assert_rc(ztp__buf_append_str(&buf, "-----BEGIN "), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&buf, label), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&buf, "-----"), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&buf, eol), ZTP_OK);
	for (i = 0; i < n; i += 64) {
		ck_assert_rc(
		    ztp__buf_append(&buf, b64 + i, n - i > 64 ? 64 : n - i),
		    ZTP_OK);
		ck_assert_rc(ztp__buf_append_str(&buf, eol), ZTP_OK);
	}
	ck_assert_rc(ztp__buf_append_str(&buf, "-----END "), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&buf, label), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&buf, "-----"), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&buf, eol), ZTP_OK);
	ck_assert_rc(ztp__buf_terminate(&buf), ZTP_OK);
	out = (char *)ztp__buf_steal(&buf, &cap);
	ztp_free(b64);
	return out;
}

char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* ------------------------------------------------------------------ suite */

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");

	crypto_tcases_encoding(s);
	crypto_tcases_pem(s);
	crypto_tcases_files(s);
	crypto_tcases_keys(s);
	crypto_tcases_sig(s);
	crypto_tcases_names(s);
	crypto_tcases_time(s);
	crypto_tcases_alloc(s);
	return s;
}

/* Check's assertions only work inside tests; main() reports by hand. */
static EVP_PKEY *main_keygen(const char *type, const char *curve, size_t bits)
{
	EVP_PKEY *k;

	if (curve != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, curve);
	else if (bits != 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, bits);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (k == NULL) {
		fprintf(stderr, "test_crypto: %s key generation failed\n",
			type);
		exit(EXIT_FAILURE);
	}
	return k;
}

int main(void)
{
	int rc;

	/* Before anything else: OpenSSL takes a new allocator only until its
	 * first allocation. */
	if (ztp__alloc_hook_openssl() != ZTP_OK) {
		fprintf(stderr, "test_crypto: %s\n", ztp_error_last_message());
		return EXIT_FAILURE;
	}
	if (ztp_init() != ZTP_OK) {
		fprintf(stderr, "test_crypto: ztp_init: %s\n",
			ztp_error_last_message());
		return EXIT_FAILURE;
	}
	k_p256 = main_keygen("EC", "P-256", 0);
	k_p256b = main_keygen("EC", "P-256", 0);
	k_p384 = main_keygen("EC", "P-384", 0);
	k_ed25519 = main_keygen("ED25519", NULL, 0);
	k_rsa = main_keygen("RSA", NULL, 2048);
	k_rsab = main_keygen("RSA", NULL, 2048);
	rc = ztp_test_run(crypto_suite());
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p256b);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_ed25519);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsab);
	return rc;
}
