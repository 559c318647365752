/*
 * Core crypto helpers: encodings, PEM/DER, files, keys and key policy,
 * signatures (with the Wycheproof vectors), certificate names, time.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "testutil.h"

/* Keys shared by every test: generated once in main() before Check forks,
 * so that each test does not pay for RSA key generation again. */
static EVP_PKEY *k_p256, *k_p256b, *k_p384, *k_ed25519, *k_rsa, *k_rsab;

/* EC P-256 key with explicit curve parameters (openssl ecparam
 * -param_enc explicit): must never pass as "ec-p256". */
static const char explicit_ec_pub[] =
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
static const char dsa_pub[] =
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

static EVP_PKEY *pub_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k;

	ck_assert_ptr_nonnull(b);
	k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	return k;
}

static EVP_PKEY *gen_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	ck_assert_msg(k != NULL, "keygen %s", curve);
	return k;
}

static EVP_PKEY *gen_rsa(size_t bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);

	ck_assert_ptr_nonnull(k);
	return k;
}

/* Error detail contains needle. */
static void assert_detail(const char *needle)
{
	ck_assert_msg(strstr(ztp_error_last_message(), needle) != NULL,
		      "detail '%s' lacks '%s'", ztp_error_last_message(),
		      needle);
}

static const uint8_t msg[] = "ZTP-BOOTSTRAP-V1\0dev-001\0nonce\0hash";

/* ------------------------------------------------------------------ certificates */

struct certspec {
	int ncn;
	const char *cn[3];
	size_t cnlen[3]; /* 0: strlen */
	int cntype;	 /* 0: UTF8String */
	int nuri;
	const char *uri[4];
	size_t urilen[4]; /* 0: strlen */
	bool dup_san;
	bool dns_san;
};

static GENERAL_NAMES *make_sans(const struct certspec *cs)
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

static X509 *make_cert(const struct certspec *cs)
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

static X509 *simple_cert(const char *cn)
{
	struct certspec cs = {.ncn = 1, .cn = {cn}};

	return make_cert(&cs);
}

static char *cert_pem(X509 *x)
{
	char *pem = NULL;

	ck_assert_rc(ztp__cert_to_pem(&pem, x), ZTP_OK);
	return pem;
}

/* PEM-wrap arbitrary DER under label, 64 columns, with the given line end. */
static char *wrap_pem(const char *label, const uint8_t *der, size_t len,
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
		ck_assert_rc(ztp__buf_append(&buf, b64 + i,
					     n - i > 64 ? 64 : n - i),
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

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* ------------------------------------------------------------------ base64, hex */

static const struct {
	const char *raw, *b64;
} rfc4648[] = {
	{"", ""},	      {"f", "Zg=="},	     {"fo", "Zm8="},
	{"foo", "Zm9v"},      {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

START_TEST(test_b64_vectors)
{
	size_t i, n;
	char *enc;
	uint8_t *dec;

	for (i = 0; i < ZTP__ARRAY_LEN(rfc4648); i++) {
		ck_assert_rc(ztp__b64_encode(&enc,
					     (const uint8_t *)rfc4648[i].raw,
					     strlen(rfc4648[i].raw)),
			     ZTP_OK);
		ck_assert_str_eq(enc, rfc4648[i].b64);
		ztp_free(enc);
		ck_assert_rc(ztp__b64_decode(&dec, &n, rfc4648[i].b64,
					     strlen(rfc4648[i].b64)),
			     ZTP_OK);
		ck_assert_uint_eq(n, strlen(rfc4648[i].raw));
		ck_assert(memcmp(dec, rfc4648[i].raw, n) == 0);
		ztp_free(dec);
	}
}
END_TEST

START_TEST(test_b64_roundtrip_binary)
{
	uint8_t raw[300], *dec;
	char *enc;
	size_t len, i, n;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + 3);
	for (len = 0; len <= sizeof(raw); len += 1) {
		ck_assert_rc(ztp__b64_encode(&enc, raw, len), ZTP_OK);
		ck_assert_uint_eq(strlen(enc), (len + 2) / 3 * 4);
		ck_assert_rc(ztp__b64_decode(&dec, &n, enc, strlen(enc)),
			     ZTP_OK);
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(dec, raw, len) == 0);
		ztp_free(dec);
		ztp_free(enc);
	}
}
END_TEST

START_TEST(test_b64_decode_strict)
{
	static const char *const bad[] = {
		"Zg",	     /* missing padding */
		"Zg=",	     /* short padding */
		"Zh==",	     /* non-canonical trailing bits (4) */
		"Zm9=",	     /* non-canonical trailing bits (2) */
		"Zm9 ",	     /* whitespace */
		"Zm9v\nZg==", /* line break */
		"Z===",	     /* too much padding */
		"====",	     /* padding only */
		"Zg==Zg==",  /* padding in the middle */
		"Zm9v-_==",  /* URL-safe alphabet */
		"Zm=v",	     /* '=' inside the last quantum */
		"Zm9vY===",  /* three pad characters */
	};
	uint8_t *dec = (uint8_t *)"x";
	size_t i, n = 99;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		ck_assert_msg(ztp__b64_decode(&dec, &n, bad[i],
					      strlen(bad[i])) == ZTP_EPARSE,
			      "accepted '%s'", bad[i]);
		ck_assert_ptr_null(dec);
		ck_assert_uint_eq(n, 0);
	}
	/* An embedded NUL, with the explicit length. */
	ck_assert_rc(ztp__b64_decode(&dec, &n, "Zm9v\0mFy", 8), ZTP_EPARSE);
	ck_assert_rc(ztp__b64_decode(NULL, &n, "Zm9v", 4), ZTP_EINVAL);
	ck_assert_rc(ztp__b64_decode(&dec, NULL, "Zm9v", 4), ZTP_EINVAL);
	ck_assert_rc(ztp__b64_decode(&dec, &n, NULL, 4), ZTP_EINVAL);
	ck_assert_rc(ztp__b64_encode(NULL, (const uint8_t *)"a", 1),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(test_hex)
{
	static const uint8_t raw[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
	char hex[2 * sizeof(raw) + 1];
	uint8_t out[8];
	size_t n = 99;

	ztp__hex_encode(hex, raw, sizeof(raw));
	ck_assert_str_eq(hex, "0001abff7f");
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "0001ABff7f", 10),
		     ZTP_OK);
	ck_assert_uint_eq(n, sizeof(raw));
	ck_assert(memcmp(out, raw, n) == 0);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "", 0), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "abc", 3),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "0g", 2),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "0x00", 4),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, " 0", 2),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, 2, &n, "000102", 6), ZTP_ETOOBIG);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), NULL, "00", 2),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(test_sha256)
{
	uint8_t d[32];
	char hex[65];

	ck_assert_rc(ztp__sha256(d, "abc", 3), ZTP_OK);
	ztp__hex_encode(hex, d, 32);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad");
	ck_assert_rc(ztp__sha256(d, NULL, 0), ZTP_OK);
	ztp__hex_encode(hex, d, 32);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855");
	ck_assert_rc(ztp__sha256(NULL, "abc", 3), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ PEM / DER */

START_TEST(test_pem_cert)
{
	X509 *x = simple_cert("dev-001"), *y = NULL;
	char *pem = cert_pem(x), *s;
	unsigned char *der = NULL;
	int derlen = i2d_X509(x, &der);

	ck_assert_rc(ztp__pem_cert(&y, pem, strlen(pem)), ZTP_OK);
	ck_assert_int_eq(X509_cmp(x, y), 0);
	X509_free(y);

	/* Whitespace around the block is fine. */
	s = concat(" \n\t\r\n", pem);
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_OK);
	X509_free(y);
	free(s);
	s = concat(pem, "\n\n  \n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_OK);
	X509_free(y);
	free(s);

	/* CRLF line ends and other line widths. */
	s = wrap_pem("CERTIFICATE", der, (size_t)derlen, "\r\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_OK);
	ck_assert_int_eq(X509_cmp(x, y), 0);
	X509_free(y);
	ztp_free(s);

	/* Text before the block: OpenSSL's reader would skip it. */
	s = concat("Subject: evil\n", pem);
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ck_assert_ptr_null(y);
	free(s);
	/* Text after. */
	s = concat(pem, "trailer\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	free(s);
	/* A second block. */
	s = concat(pem, pem);
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	free(s);
	/* A NUL byte after the block, with the explicit length. */
	{
		size_t n = strlen(pem);
		char *z = malloc(n + 2);

		memcpy(z, pem, n);
		z[n] = '\0';
		z[n + 1] = '\n';
		ck_assert_rc(ztp__pem_cert(&y, z, n + 2), ZTP_EPARSE);
		free(z);
	}
	/* Truncated. */
	ck_assert_rc(ztp__pem_cert(&y, pem, strlen(pem) - 30), ZTP_EPARSE);
	/* Empty and whitespace only. */
	ck_assert_rc(ztp__pem_cert(&y, "", 0), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_cert(&y, " \n", 2), ZTP_EPARSE);
	/* Wrong label. */
	s = wrap_pem("X509 CRL", der, (size_t)derlen, "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ztp_free(s);
	s = wrap_pem("TRUSTED CERTIFICATE", der, (size_t)derlen, "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ztp_free(s);
	/* Mismatched END label. */
	{
		char *m = strdup(pem);
		char *e = strstr(m, "-----END CERTIFICATE");

		memcpy(e + 9, "CERTIFICATF", 11);
		ck_assert_rc(ztp__pem_cert(&y, m, strlen(m)), ZTP_EPARSE);
		free(m);
	}
	/* Headers inside the body. */
	{
		const char *nl = strchr(pem, '\n');
		size_t head = (size_t)(nl - pem) + 1;
		char *h = malloc(strlen(pem) + 32);

		memcpy(h, pem, head);
		strcpy(h + head, "Comment: hi\n");
		strcat(h, pem + head);
		ck_assert_rc(ztp__pem_cert(&y, h, strlen(h)), ZTP_EPARSE);
		free(h);
	}
	/* Over the size limit, before any parsing. */
	{
		size_t big = ZTP_PEM_MAX + 1;
		char *b = malloc(big);

		memset(b, ' ', big);
		ck_assert_rc(ztp__pem_cert(&y, b, big), ZTP_ETOOBIG);
		free(b);
	}
	ck_assert_rc(ztp__pem_cert(NULL, pem, strlen(pem)), ZTP_EINVAL);
	ck_assert_rc(ztp__pem_cert(&y, NULL, 5), ZTP_EINVAL);
	OPENSSL_free(der);
	ztp_free(pem);
	X509_free(x);
}
END_TEST

START_TEST(test_pem_cert_trailing_der)
{
	X509 *x = simple_cert("dev-001"), *y = NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	uint8_t *longer = malloc((size_t)n + 2);
	char *s;

	memcpy(longer, der, (size_t)n);
	longer[n] = 0x00;
	longer[n + 1] = 0x00;
	s = wrap_pem("CERTIFICATE", longer, (size_t)n + 2, "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	assert_detail("trailing");
	ck_assert_ptr_null(y);
	ztp_free(s);
	/* Garbage DER. */
	s = wrap_pem("CERTIFICATE", (const uint8_t *)"\x30\x03\x02\x01\x01", 5,
		     "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ztp_free(s);
	ck_assert_int_eq(ERR_peek_error(), 0);
	free(longer);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

START_TEST(test_der_cert)
{
	X509 *x = simple_cert("dev-001"), *y = NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	uint8_t *longer = malloc((size_t)n + 1);

	ck_assert_rc(ztp__der_cert(&y, der, (size_t)n), ZTP_OK);
	ck_assert_int_eq(X509_cmp(x, y), 0);
	X509_free(y);
	y = NULL;
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	ck_assert_rc(ztp__der_cert(&y, longer, (size_t)n + 1), ZTP_EPARSE);
	ck_assert_ptr_null(y);
	ck_assert_rc(ztp__der_cert(&y, der, (size_t)n - 1), ZTP_EPARSE);
	ck_assert_rc(ztp__der_cert(&y, der, 0), ZTP_EPARSE);
	ck_assert_rc(ztp__der_cert(&y, der, ZTP_PEM_MAX + 1), ZTP_ETOOBIG);
	ck_assert_rc(ztp__der_cert(&y, NULL, 3), ZTP_EINVAL);
	free(longer);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

START_TEST(test_pem_certs)
{
	X509 *a = simple_cert("dev-a"), *b = simple_cert("dev-b");
	char *pa = cert_pem(a), *pb = cert_pem(b), *two, *three, *s;
	STACK_OF(X509) *sk = NULL;
	X509_REQ *req = X509_REQ_new();
	char *csr = NULL;

	ck_assert_rc(ztp__pem_certs(&sk, pa, strlen(pa), 1), ZTP_OK);
	ck_assert_int_eq(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	two = concat(pa, pb);
	ck_assert_rc(ztp__pem_certs(&sk, two, strlen(two), ZTP_CHAIN_MAX),
		     ZTP_OK);
	ck_assert_int_eq(sk_X509_num(sk), 2);
	/* Order is preserved. */
	ck_assert_int_eq(X509_cmp(sk_X509_value(sk, 0), a), 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(sk, 1), b), 0);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;
	/* Over the count. */
	three = concat(two, pa);
	ck_assert_rc(ztp__pem_certs(&sk, three, strlen(three), 2),
		     ZTP_ETOOBIG);
	ck_assert_ptr_null(sk);
	ck_assert_rc(ztp__pem_certs(&sk, three, strlen(three), 3), ZTP_OK);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;
	/* Text between blocks. */
	s = malloc(strlen(pa) + strlen(pb) + 8);
	strcpy(s, pa);
	strcat(s, "junk\n");
	strcat(s, pb);
	ck_assert_rc(ztp__pem_certs(&sk, s, strlen(s), 4), ZTP_EPARSE);
	free(s);
	/* A block of another kind. */
	ck_assert(X509_REQ_set_pubkey(req, k_p256) == 1);
	ck_assert(X509_REQ_sign(req, k_p256, EVP_sha256()) > 0);
	ck_assert_rc(ztp__csr_to_pem(&csr, req), ZTP_OK);
	s = concat(pa, csr);
	ck_assert_rc(ztp__pem_certs(&sk, s, strlen(s), 4), ZTP_EPARSE);
	free(s);
	ck_assert_rc(ztp__pem_certs(&sk, "", 0, 4), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_certs(&sk, "\n \n", 3, 4), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_certs(&sk, pa, strlen(pa), 0), ZTP_EINVAL);
	ck_assert_rc(ztp__pem_certs(&sk, pa, 3 * ZTP_PEM_MAX, 2), ZTP_ETOOBIG);
	ck_assert_ptr_null(sk);
	ztp_free(csr);
	X509_REQ_free(req);
	free(two);
	free(three);
	ztp_free(pa);
	ztp_free(pb);
	X509_free(a);
	X509_free(b);
}
END_TEST

START_TEST(test_pem_csr)
{
	X509_REQ *req = X509_REQ_new(), *got = NULL;
	char *pem = NULL, *s;
	unsigned char *der = NULL;
	int n;
	X509 *x = simple_cert("dev-001");
	char *cpem = cert_pem(x);

	ck_assert(X509_REQ_set_pubkey(req, k_p384) == 1);
	ck_assert(X509_REQ_sign(req, k_p384, EVP_sha384()) > 0);
	ck_assert_rc(ztp__csr_to_pem(&pem, req), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(pem, "BEGIN CERTIFICATE REQUEST"));
	ck_assert_rc(ztp__pem_csr(&got, pem, strlen(pem)), ZTP_OK);
	ck_assert_int_eq(X509_REQ_verify(got, k_p384), 1);
	X509_REQ_free(got);
	got = NULL;
	n = i2d_X509_REQ(req, &der);
	s = wrap_pem("NEW CERTIFICATE REQUEST", der, (size_t)n, "\n");
	ck_assert_rc(ztp__pem_csr(&got, s, strlen(s)), ZTP_OK);
	X509_REQ_free(got);
	got = NULL;
	ztp_free(s);
	/* A certificate is not a CSR. */
	ck_assert_rc(ztp__pem_csr(&got, cpem, strlen(cpem)), ZTP_EPARSE);
	/* Two CSRs. */
	s = concat(pem, pem);
	ck_assert_rc(ztp__pem_csr(&got, s, strlen(s)), ZTP_EPARSE);
	free(s);
	/* Trailing DER. */
	{
		uint8_t *l = malloc((size_t)n + 1);

		memcpy(l, der, (size_t)n);
		l[n] = 0x05;
		s = wrap_pem("CERTIFICATE REQUEST", l, (size_t)n + 1, "\n");
		ck_assert_rc(ztp__pem_csr(&got, s, strlen(s)), ZTP_EPARSE);
		ztp_free(s);
		free(l);
	}
	ck_assert_ptr_null(got);
	ck_assert_rc(ztp__csr_to_pem(NULL, req), ZTP_EINVAL);
	ck_assert_rc(ztp__csr_to_pem(&s, NULL), ZTP_EINVAL);
	OPENSSL_free(der);
	ztp_free(pem);
	ztp_free(cpem);
	X509_free(x);
	X509_REQ_free(req);
}
END_TEST

static char *traditional_pem(EVP_PKEY *k, const char *pass)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	char *s;

	ck_assert(PEM_write_bio_PrivateKey_traditional(
			  b, k, pass ? EVP_aes_128_cbc() : NULL,
			  (unsigned char *)(uintptr_t)pass,
			  pass ? (int)strlen(pass) : 0, NULL, NULL) == 1);
	BIO_get_mem_ptr(b, &m);
	s = strndup(m->data, m->length);
	BIO_free(b);
	return s;
}

START_TEST(test_pem_privkey)
{
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed25519, k_rsa};
	EVP_PKEY *got = NULL;
	char *pem = NULL;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(keys); i++) {
		/* Unencrypted PKCS#8. */
		ck_assert_rc(ztp__privkey_to_pem(&pem, keys[i], NULL), ZTP_OK);
		ck_assert_ptr_nonnull(strstr(pem, "BEGIN PRIVATE KEY"));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		EVP_PKEY_free(got);
		got = NULL;
		ztp__free_secret(pem, strlen(pem));
		/* Encrypted PKCS#8. */
		ck_assert_rc(ztp__privkey_to_pem(&pem, keys[i], "s3cret"),
			     ZTP_OK);
		ck_assert_ptr_nonnull(
		    strstr(pem, "BEGIN ENCRYPTED PRIVATE KEY"));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem),
					      "s3cret"),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		EVP_PKEY_free(got);
		got = NULL;
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), "wrong"),
			     ZTP_ECRYPTO);
		assert_detail("wrong passphrase");
		ck_assert_ptr_null(got);
		ck_assert_int_eq(ERR_peek_error(), 0);
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_EINVAL);
		assert_detail("passphrase");
		ztp__free_secret(pem, strlen(pem));
		pem = NULL;
	}
	ck_assert_rc(ztp__privkey_to_pem(&pem, k_p256, ""), ZTP_EINVAL);
	ck_assert_rc(ztp__privkey_to_pem(&pem, NULL, NULL), ZTP_EINVAL);
}
END_TEST

START_TEST(test_pem_privkey_traditional)
{
	EVP_PKEY *keys[] = {k_p256, k_rsa};
	const char *labels[] = {"BEGIN EC PRIVATE KEY",
				"BEGIN RSA PRIVATE KEY"};
	const char *names[] = {"ec-p256", "rsa-2048"};
	EVP_PKEY *got = NULL;
	char *pem, name[32];
	uint8_t *sig;
	size_t i, siglen;
	ztp__sigalg alg;

	for (i = 0; i < ZTP__ARRAY_LEN(keys); i++) {
		pem = traditional_pem(keys[i], NULL);
		ck_assert_ptr_nonnull(strstr(pem, labels[i]));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		/* Usable like any other key. */
		ck_assert_rc(ztp__key_describe(name, sizeof(name), got),
			     ZTP_OK);
		ck_assert_str_eq(name, names[i]);
		ck_assert_rc(ztp__sigalg_for_key(&alg, got), ZTP_OK);
		ck_assert_rc(ztp__sig_sign(&sig, &siglen, got, alg, msg,
					   sizeof(msg)),
			     ZTP_OK);
		ck_assert_rc(ztp__sig_verify(keys[i], alg, msg, sizeof(msg),
					     sig, siglen),
			     ZTP_OK);
		ztp_free(sig);
		EVP_PKEY_free(got);
		got = NULL;
		free(pem);
		/* RFC 1421-style encryption headers. */
		pem = traditional_pem(keys[i], "old-school");
		ck_assert_ptr_nonnull(strstr(pem, "Proc-Type: 4,ENCRYPTED"));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem),
					      "old-school"),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		EVP_PKEY_free(got);
		got = NULL;
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), "nope"),
			     ZTP_ECRYPTO);
		ck_assert_ptr_null(got);
		ck_assert_int_eq(ERR_peek_error(), 0);
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_EINVAL);
		free(pem);
	}
}
END_TEST

START_TEST(test_pem_privkey_reject)
{
	EVP_PKEY *got = NULL;
	char *pem = NULL, *s;
	BIO *b;
	BUF_MEM *m;
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	uint8_t *l;
	int n;

	/* A public key is not a private key. */
	ck_assert_rc(ztp__pem_privkey(&got, explicit_ec_pub,
				      strlen(explicit_ec_pub), NULL),
		     ZTP_EPARSE);
	/* Trailing bytes after the PKCS#8 DER. */
	p8 = EVP_PKEY2PKCS8(k_p256);
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	l = malloc((size_t)n + 1);
	memcpy(l, der, (size_t)n);
	l[n] = 0;
	s = wrap_pem("PRIVATE KEY", l, (size_t)n + 1, "\n");
	ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL), ZTP_EPARSE);
	ztp_free(s);
	s = wrap_pem("PRIVATE KEY", l, (size_t)n, "\n");
	ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL), ZTP_OK);
	EVP_PKEY_free(got);
	got = NULL;
	/* Key preceded by EC PARAMETERS (openssl ecparam -genkey output). */
	b = BIO_new(BIO_s_mem());
	ck_assert(BIO_puts(b, "-----BEGIN EC PARAMETERS-----\n"
			      "BggqhkjOPQMBBw==\n"
			      "-----END EC PARAMETERS-----\n") > 0);
	ck_assert(BIO_write(b, s, (int)strlen(s)) > 0);
	BIO_get_mem_ptr(b, &m);
	ck_assert_rc(ztp__pem_privkey(&got, m->data, m->length, NULL),
		     ZTP_EPARSE);
	BIO_free(b);
	ztp_free(s);
	/* Two keys. */
	ck_assert_rc(ztp__privkey_to_pem(&pem, k_p256, NULL), ZTP_OK);
	s = concat(pem, pem);
	ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL), ZTP_EPARSE);
	free(s);
	/* A label naming another algorithm than the DER holds. */
	s = traditional_pem(k_p256, NULL);
	{
		char *b1 = strstr(s, "BEGIN EC"), *e1 = strstr(s, "END EC");

		ck_assert_ptr_nonnull(b1);
		ck_assert_ptr_nonnull(e1);
		memcpy(b1 + 6, "XX", 2);
		memcpy(e1 + 4, "XX", 2);
		ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL),
			     ZTP_EPARSE);
		assert_detail("unsupported PEM block");
	}
	free(s);
	s = traditional_pem(k_p256, NULL);
	{
		/* "EC PRIVATE KEY" -> "RSA PRIVATE KEY" is not expressible
		 * in place; rebuild the block with the RSA label. */
		BIO *bb = BIO_new_mem_buf(s, -1);
		char *nm = NULL, *hd = NULL;
		unsigned char *dd = NULL;
		long dl = 0;
		char *r;

		ck_assert(PEM_read_bio(bb, &nm, &hd, &dd, &dl) == 1);
		r = wrap_pem("RSA PRIVATE KEY", dd, (size_t)dl, "\n");
		ck_assert_rc(ztp__pem_privkey(&got, r, strlen(r), NULL),
			     ZTP_EPARSE);
		ztp_free(r);
		OPENSSL_free(nm);
		OPENSSL_free(hd);
		OPENSSL_free(dd);
		BIO_free(bb);
	}
	free(s);
	ck_assert_rc(ztp__pem_privkey(&got, "", 0, NULL), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_privkey(NULL, pem, strlen(pem), NULL),
		     ZTP_EINVAL);
	ck_assert_ptr_null(got);
	ztp__free_secret(pem, strlen(pem));
	free(l);
	OPENSSL_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8);
}
END_TEST

START_TEST(test_fingerprints)
{
	X509 *x = simple_cert("dev-001");
	uint8_t fp[32], want[32], fk[32], fk2[32];
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	ck_assert_rc(ztp__cert_fingerprint(fp, x), ZTP_OK);
	ck_assert_rc(ztp__sha256(want, der, (size_t)n), ZTP_OK);
	ck_assert(memcmp(fp, want, 32) == 0);
	OPENSSL_free(der);
	der = NULL;
	ck_assert_rc(ztp__pubkey_fingerprint(fk, k_p256), ZTP_OK);
	n = i2d_PUBKEY(k_p256, &der);
	ck_assert_rc(ztp__sha256(want, der, (size_t)n), ZTP_OK);
	ck_assert(memcmp(fk, want, 32) == 0);
	/* The certificate's key has the same fingerprint as the key. */
	ck_assert_rc(ztp__pubkey_fingerprint(fk2, X509_get0_pubkey(x)),
		     ZTP_OK);
	ck_assert(memcmp(fk, fk2, 32) == 0);
	ck_assert_rc(ztp__pubkey_fingerprint(fk2, k_p256b), ZTP_OK);
	ck_assert(memcmp(fk, fk2, 32) != 0);
	ck_assert_rc(ztp__cert_fingerprint(fp, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__pubkey_fingerprint(NULL, k_p256), ZTP_EINVAL);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

static void set_serial_hex(X509 *x, const char *hex)
{
	BIGNUM *bn = NULL;

	ck_assert_int_gt(BN_hex2bn(&bn, hex), 0);
	ck_assert_ptr_nonnull(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
}

/* One form of a serial everywhere: lowercase hex without leading zeros,
 * at most cap - 1 digits, positive. */
START_TEST(test_cert_serial_hex)
{
	X509 *x = simple_cert("dev-001");
	char out[41];

	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_OK);
	ck_assert_str_eq(out, "1092");
	set_serial_hex(x, "0ABC");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_OK);
	ck_assert_str_eq(out, "abc");
	/* 20 octets, the first below 0x10: 39 digits. */
	set_serial_hex(x, "0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_OK);
	ck_assert_uint_eq(strlen(out), 39);
	ck_assert_rc(ztp__cert_serial_hex(out, 40, x), ZTP_OK);
	ck_assert_rc(ztp__cert_serial_hex(out, 39, x), ZTP_EPROFILE);
	set_serial_hex(x, "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_EPROFILE);
	set_serial_hex(x, "0");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_EPROFILE);
	set_serial_hex(x, "-1A");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_EPROFILE);
	ck_assert_rc(ztp__cert_serial_hex(NULL, sizeof(out), x), ZTP_EINVAL);
	ck_assert_rc(ztp__cert_serial_hex(out, 0, x), ZTP_EINVAL);
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), NULL), ZTP_EINVAL);
	X509_free(x);
}
END_TEST

/* ------------------------------------------------------------------ files */

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_file_read)
{
	char *dir = ztp_test_tmpdir();
	char *p = ztp_test_path(dir, "f"), *e = ztp_test_path(dir, "empty");
	char *fifo = ztp_test_path(dir, "fifo");
	char *missing = ztp_test_path(dir, "missing");
	char *out = NULL;
	size_t n = 99;

	put_file(p, "hello\0world", 11);
	ck_assert_rc(ztp__file_read(&out, &n, p, 11), ZTP_OK);
	ck_assert_uint_eq(n, 11);
	ck_assert(memcmp(out, "hello\0world", 12) == 0); /* NUL-terminated */
	ztp_free(out);
	ck_assert_rc(ztp__file_read(&out, &n, p, 10), ZTP_ETOOBIG);
	ck_assert_ptr_null(out);
	ck_assert_rc(ztp__file_read(&out, NULL, p, 100), ZTP_OK);
	ztp_free(out);
	put_file(e, "", 0);
	ck_assert_rc(ztp__file_read(&out, &n, e, 0), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	ztp_free(out);
	/* Not regular files: a directory, a FIFO (must not block), a
	 * character device. */
	ck_assert_rc(ztp__file_read(&out, &n, dir, 1024), ZTP_EIO);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_rc(ztp__file_read(&out, &n, fifo, 1024), ZTP_EIO);
	assert_detail("not a regular file");
	ck_assert_rc(ztp__file_read(&out, &n, "/dev/zero", 1024), ZTP_EIO);
	ck_assert_rc(ztp__file_read(&out, &n, missing, 1024), ZTP_ENOTFOUND);
	ck_assert_rc(ztp__file_read(&out, &n, NULL, 1024), ZTP_EINVAL);
	ck_assert_rc(ztp__file_read(NULL, &n, p, 1024), ZTP_EINVAL);
	ztp_test_rmtree(dir);
	free(p);
	free(e);
	free(fifo);
	free(missing);
	free(dir);
}
END_TEST

/* Entries in dir other than . and .. */
static int count_entries(const char *dir)
{
	char cmd[512];
	FILE *f;
	int n = 0;
	char line[512];

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	pclose(f);
	return n;
}

START_TEST(test_file_write_atomic)
{
	char *dir = ztp_test_tmpdir();
	char *p = ztp_test_path(dir, "key.pem");
	char *sub = ztp_test_path(dir, "sub");
	char *target = ztp_test_path(dir, "target");
	char *link = ztp_test_path(dir, "link");
	char *out = NULL;
	struct stat st;
	size_t n;
	mode_t old;

	ck_assert_rc(ztp__file_write_atomic(p, "secret", 6, 0600), ZTP_OK);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "secret");
	ztp_free(out);
	/* Replace; no temporary left behind. */
	ck_assert_rc(ztp__file_write_atomic(p, "new", 3, 0600), ZTP_OK);
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "new");
	ztp_free(out);
	ck_assert_int_eq(count_entries(dir), 1);
	/* The requested mode holds whatever the umask. */
	old = umask(077);
	ck_assert_rc(ztp__file_write_atomic(p, "", 0, 0644), ZTP_OK);
	umask(old);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_size, 0);
	/* A symlink at the path is replaced, its target untouched. */
	put_file(target, "keep", 4);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_rc(ztp__file_write_atomic(link, "over", 4, 0600), ZTP_OK);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_rc(ztp__file_read(&out, &n, target, 100), ZTP_OK);
	ck_assert_str_eq(out, "keep");
	ztp_free(out);
	/* Failures leave nothing behind. */
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	n = (size_t)count_entries(dir);
	ck_assert_rc(ztp__file_write_atomic(sub, "x", 1, 0600), ZTP_EIO);
	ck_assert_int_eq(count_entries(dir), (int)n);
	ck_assert_int_eq(count_entries(sub), 0);
	free(sub);
	sub = ztp_test_path(dir, "nodir/file");
	ck_assert_rc(ztp__file_write_atomic(sub, "x", 1, 0600), ZTP_EIO);
	free(sub);
	sub = ztp_test_path(dir, "sub/");
	ck_assert_rc(ztp__file_write_atomic(sub, "x", 1, 0600), ZTP_EINVAL);
	if (geteuid() != 0) {
		char *ro = ztp_test_path(dir, "ro"), *rf;

		ck_assert_int_eq(mkdir(ro, 0500), 0);
		rf = ztp_test_path(ro, "f");
		ck_assert_rc(ztp__file_write_atomic(rf, "x", 1, 0600),
			     ZTP_EIO);
		ck_assert_int_eq(chmod(ro, 0700), 0);
		free(rf);
		free(ro);
	}
	ck_assert_rc(ztp__file_write_atomic(NULL, "x", 1, 0600), ZTP_EINVAL);
	ck_assert_rc(ztp__file_write_atomic("", "x", 1, 0600), ZTP_EINVAL);
	ck_assert_rc(ztp__file_write_atomic(p, NULL, 1, 0600), ZTP_EINVAL);
	ztp_test_rmtree(dir);
	free(p);
	free(sub);
	free(target);
	free(link);
	free(dir);
}
END_TEST

/* The public face of the same writer, as the tools use it. */
START_TEST(test_file_write_exclusive)
{
	char *dir = ztp_test_tmpdir();
	char *p = ztp_test_path(dir, "ca.key");
	char *out = NULL;
	struct stat st;
	size_t n;

	ck_assert_rc(ztp_file_write_atomic(p, "first", 5, 0600,
					   ZTP_FILE_EXCLUSIVE),
		     ZTP_OK);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_nlink, 1);
	/* An existing file is never replaced, and nothing is left beside
	 * it. */
	ck_assert_rc(ztp_file_write_atomic(p, "second", 6, 0600,
					   ZTP_FILE_EXCLUSIVE),
		     ZTP_EEXISTS);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "exists"));
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "first");
	ztp_free(out);
	ck_assert_int_eq(count_entries(dir), 1);
	/* Without the flag it is. */
	ck_assert_rc(ztp_file_write_atomic(p, "second", 6, 0644, 0), ZTP_OK);
	ck_assert_rc(ztp__file_read(&out, &n, p, 100), ZTP_OK);
	ck_assert_str_eq(out, "second");
	ztp_free(out);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(count_entries(dir), 1);
	/* Arguments. */
	ck_assert_rc(ztp_file_write_atomic(p, "x", 1, 0600, 2), ZTP_EINVAL);
	ck_assert_rc(ztp_file_write_atomic(p, "x", 1, 010000, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_file_write_atomic(NULL, "x", 1, 0600, 0), ZTP_EINVAL);
	ztp_test_rmtree(dir);
	free(p);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------------ keys */

START_TEST(test_key_generate)
{
	static const char *const types[] = {"ec-p256",	"ec-p384",
					    "ed25519",	"rsa-2048",
					    "rsa-3072", "rsa-4096"};
	EVP_PKEY *k = NULL;
	char name[32];
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(types); i++) {
		ck_assert_rc(ztp__key_generate(&k, types[i]), ZTP_OK);
		ck_assert_rc(ztp__key_describe(name, sizeof(name), k), ZTP_OK);
		ck_assert_str_eq(name, types[i]);
		EVP_PKEY_free(k);
		k = NULL;
	}
	ck_assert_rc(ztp__key_generate(&k, "rsa-1024"), ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__key_generate(&k, "ec-p521"), ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__key_generate(&k, "EC-P256"), ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__key_generate(&k, ""), ZTP_EUNSUPPORTED);
	ck_assert_ptr_null(k);
	ck_assert_rc(ztp__key_generate(&k, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__key_generate(NULL, "ec-p256"), ZTP_EINVAL);
}
END_TEST

START_TEST(test_key_describe)
{
	EVP_PKEY *k;
	char name[32];

	k = gen_rsa(1024);
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k), ZTP_OK);
	ck_assert_str_eq(name, "rsa-1024");
	ck_assert_rc(ztp__key_describe(name, 8, k), ZTP_ETOOBIG);
	ck_assert_rc(ztp__key_describe(name, 9, k), ZTP_OK);
	EVP_PKEY_free(k);
	k = gen_ec("P-521");
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k),
		     ZTP_EUNSUPPORTED);
	assert_detail("ec-secp521r1");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k),
		     ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	k = pub_from_pem(explicit_ec_pub);
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k),
		     ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	ck_assert_rc(ztp__key_describe(name, sizeof(name), NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__key_describe(NULL, 8, k_p256), ZTP_EINVAL);
}
END_TEST

/* An RSA public key with modulus n (from base) and exponent e. */
static EVP_PKEY *rsa_with_e(EVP_PKEY *base, unsigned long e)
{
	BIGNUM *n = NULL, *be = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;

	ck_assert(EVP_PKEY_get_bn_param(base, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
	ck_assert(BN_set_word(be, e) == 1);
	ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1);
	ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert(EVP_PKEY_fromdata_init(ctx) == 1);
	ck_assert(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) ==
		  1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(be);
	return k;
}

START_TEST(test_keypolicy_check)
{
	ztp__keypolicy p;
	EVP_PKEY *k;
	static const struct {
		const char *curve, *name;
	} curves[] = {
		{"P-192", "key type ec-prime192v1 not allowed"},
		{"P-224", "key type ec-secp224r1 not allowed"},
		{"secp256k1", "key type ec-secp256k1 not allowed"},
		{"P-521", "key type ec-secp521r1 not allowed"},
		{"brainpoolP256r1", "key type ec-brainpoolP256r1 not allowed"},
	};
	size_t i;

	ztp__keypolicy_default(&p);
	ck_assert(p.ec_p256 && p.ec_p384 && p.ed25519);
	ck_assert_int_eq(p.rsa_min_bits, 2048);
	ck_assert_int_eq(p.rsa_max_bits, 8192);
	ck_assert_rc(ztp__keypolicy_check(&p, k_p256), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_check(&p, k_p384), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_check(&p, k_ed25519), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_OK);

	k = gen_rsa(1024);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type rsa-1024 not allowed");
	EVP_PKEY_free(k);
	k = gen_rsa(2040);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	EVP_PKEY_free(k);
	for (i = 0; i < ZTP__ARRAY_LEN(curves); i++) {
		k = gen_ec(curves[i].curve);
		ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
		assert_detail(curves[i].name);
		EVP_PKEY_free(k);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type ed448 not allowed");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type x25519 not allowed");
	EVP_PKEY_free(k);
	{
		EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS",
							      NULL);

		k = NULL;
		ck_assert(EVP_PKEY_keygen_init(kc) == 1);
		ck_assert(EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048) == 1);
		ck_assert(EVP_PKEY_generate(kc, &k) == 1);
		EVP_PKEY_CTX_free(kc);
	}
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type rsa-pss-2048 not allowed");
	EVP_PKEY_free(k);
	k = pub_from_pem(dsa_pub);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type dsa-1024 not allowed");
	EVP_PKEY_free(k);
	/* P-256 spelled with explicit parameters. */
	k = pub_from_pem(explicit_ec_pub);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("explicit");
	EVP_PKEY_free(k);
	/* Degenerate RSA exponents. */
	k = rsa_with_e(k_rsa, 1);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	EVP_PKEY_free(k);
	k = rsa_with_e(k_rsa, 65536);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	EVP_PKEY_free(k);
	k = rsa_with_e(k_rsa, 3);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_OK);
	EVP_PKEY_free(k);

	/* Narrowed policies. */
	p.rsa_max_bits = 2047;
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	p.rsa_min_bits = 0;
	p.rsa_max_bits = 8192;
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	assert_detail("key type rsa-2048 not allowed");
	p.ec_p384 = false;
	ck_assert_rc(ztp__keypolicy_check(&p, k_p384), ZTP_EKEYPOLICY);
	assert_detail("key type ec-p384 not allowed");
	ck_assert_rc(ztp__keypolicy_check(&p, k_p256), ZTP_OK);
	p.ed25519 = false;
	ck_assert_rc(ztp__keypolicy_check(&p, k_ed25519), ZTP_EKEYPOLICY);
	ck_assert_rc(ztp__keypolicy_check(NULL, k_p256), ZTP_EINVAL);
	ck_assert_rc(ztp__keypolicy_check(&p, NULL), ZTP_EINVAL);
}
END_TEST

START_TEST(test_keypolicy_parse)
{
	ztp__keypolicy p, keep;
	static const char *const bad[] = {
		"",	       ",",	      "ec-p256,",     ",ec-p256",
		"ec-p256,,ed25519", "ec-p256,ec-p256", "rsa-2048,rsa-3072",
		"rsa-1024",    "rsa-2047",    "rsa-8193",     "rsa-02048",
		"rsa-",	       "rsa",	      "rsa-2048x",    "rsa--2048",
		"ec-p521",     "EC-P256",     " ec-p256",     "ec-p256 ",
		"ed448",       "dsa-2048",    "rsa-99999999",
	};
	size_t i;

	ck_assert_rc(
	    ztp__keypolicy_parse(&p, "ec-p256,ec-p384,ed25519,rsa-2048"),
	    ZTP_OK);
	ck_assert(p.ec_p256 && p.ec_p384 && p.ed25519);
	ck_assert_int_eq(p.rsa_min_bits, 2048);
	ck_assert_int_eq(p.rsa_max_bits, 8192);
	ck_assert_rc(ztp__keypolicy_parse(&p, "ed25519"), ZTP_OK);
	ck_assert(!p.ec_p256 && !p.ec_p384 && p.ed25519);
	ck_assert_int_eq(p.rsa_min_bits, 0);
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	ck_assert_rc(ztp__keypolicy_check(&p, k_p256), ZTP_EKEYPOLICY);
	ck_assert_rc(ztp__keypolicy_check(&p, k_ed25519), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_parse(&p, "rsa-3072,ec-p384"), ZTP_OK);
	ck_assert_int_eq(p.rsa_min_bits, 3072);
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	assert_detail("rsa-2048");
	ck_assert_rc(ztp__keypolicy_parse(&p, "rsa-8192"), ZTP_OK);

	ztp__keypolicy_default(&keep);
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		p = keep;
		ck_assert_msg(ztp__keypolicy_parse(&p, bad[i]) == ZTP_EINVAL,
			      "accepted '%s'", bad[i]);
		/* Untouched on failure (field by field: the struct has
		 * padding). */
		ck_assert(p.ec_p256 == keep.ec_p256 &&
			  p.ec_p384 == keep.ec_p384 &&
			  p.ed25519 == keep.ed25519 &&
			  p.rsa_min_bits == keep.rsa_min_bits &&
			  p.rsa_max_bits == keep.rsa_max_bits);
	}
	ck_assert_rc(ztp__keypolicy_parse(&p, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__keypolicy_parse(NULL, "ec-p256"), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ signatures */

START_TEST(test_sigalg_for_key)
{
	ztp__sigalg a;
	EVP_PKEY *k;

	ck_assert_rc(ztp__sigalg_for_key(&a, k_p256), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_ECDSA_SHA256);
	ck_assert_rc(ztp__sigalg_for_key(&a, k_p384), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_ECDSA_SHA384);
	ck_assert_rc(ztp__sigalg_for_key(&a, k_ed25519), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_ED25519);
	ck_assert_rc(ztp__sigalg_for_key(&a, k_rsa), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_RSA_PSS_SHA256);
	k = gen_ec("P-521");
	ck_assert_rc(ztp__sigalg_for_key(&a, k), ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	k = pub_from_pem(explicit_ec_pub);
	ck_assert_rc(ztp__sigalg_for_key(&a, k), ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	k = pub_from_pem(dsa_pub);
	ck_assert_rc(ztp__sigalg_for_key(&a, k), ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	ck_assert_rc(ztp__sigalg_for_key(NULL, k_p256), ZTP_EINVAL);
	ck_assert_rc(ztp__sigalg_for_key(&a, NULL), ZTP_EINVAL);
}
END_TEST

START_TEST(test_sig_roundtrip)
{
	static const struct {
		EVP_PKEY **key, **other;
		ztp__sigalg alg;
	} cases[] = {
		{&k_p256, &k_p256b, ZTP__SIG_ECDSA_SHA256},
		{&k_p384, &k_p256, ZTP__SIG_ECDSA_SHA384},
		{&k_ed25519, &k_p256, ZTP__SIG_ED25519},
		{&k_rsa, &k_rsab, ZTP__SIG_RSA_PSS_SHA256},
		{&k_rsa, &k_rsab, ZTP__SIG_RSA_PKCS1_SHA256},
	};
	uint8_t *sig = NULL, bad[sizeof(msg)];
	size_t n = 0, i;
	int want_other;

	for (i = 0; i < ZTP__ARRAY_LEN(cases); i++) {
		EVP_PKEY *k = *cases[i].key;

		ck_assert_rc(ztp__sig_sign(&sig, &n, k, cases[i].alg, msg,
					   sizeof(msg)),
			     ZTP_OK);
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg),
					     sig, n),
			     ZTP_OK);
		/* A changed message. */
		memcpy(bad, msg, sizeof(msg));
		bad[3] ^= 1;
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, bad, sizeof(msg),
					     sig, n),
			     ZTP_EBADSIG);
		ck_assert_int_eq(ERR_peek_error(), 0);
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg,
					     sizeof(msg) - 1, sig, n),
			     ZTP_EBADSIG);
		/* Another key (of another type: still EBADSIG). */
		ck_assert_rc(ztp__sig_verify(*cases[i].other, cases[i].alg, msg,
					     sizeof(msg), sig, n),
			     ZTP_EBADSIG);
		ck_assert_int_eq(ERR_peek_error(), 0);
		/* Changed, truncated, extended, empty signatures. */
		sig[n / 2] ^= 0x40;
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg),
					     sig, n),
			     ZTP_EBADSIG);
		sig[n / 2] ^= 0x40;
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg),
					     sig, n - 1),
			     ZTP_EBADSIG);
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg),
					     sig, 0),
			     ZTP_EBADSIG);
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg),
					     NULL, 0),
			     ZTP_EBADSIG);
		ck_assert_int_eq(ERR_peek_error(), 0);
		/* Signing with a key that does not fit the algorithm. */
		want_other = cases[i].alg == ZTP__SIG_ED25519 ?
				     ZTP__SIG_ECDSA_SHA256 :
				     ZTP__SIG_ED25519;
		ck_assert_rc(ztp__sig_verify(k, (ztp__sigalg)want_other, msg,
					     sizeof(msg), sig, n),
			     ZTP_EBADSIG);
		assert_detail("does not fit");
		ztp_free(sig);
		sig = NULL;
		ck_assert_rc(ztp__sig_sign(&sig, &n, k,
					   (ztp__sigalg)want_other, msg,
					   sizeof(msg)),
			     ZTP_EINVAL);
		ck_assert_ptr_null(sig);
	}
	/* The curve is part of the algorithm. */
	ck_assert_rc(ztp__sig_sign(&sig, &n, k_p256, ZTP__SIG_ECDSA_SHA384, msg,
				   sizeof(msg)),
		     ZTP_EINVAL);
	/* Empty message. */
	ck_assert_rc(ztp__sig_sign(&sig, &n, k_ed25519, ZTP__SIG_ED25519, NULL,
				   0),
		     ZTP_OK);
	ck_assert_rc(ztp__sig_verify(k_ed25519, ZTP__SIG_ED25519, NULL, 0, sig,
				     n),
		     ZTP_OK);
	ztp_free(sig);
	ck_assert_rc(ztp__sig_verify(k_p256, (ztp__sigalg)0, msg, 3,
				     (const uint8_t *)"x", 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp__sig_verify(NULL, ZTP__SIG_ED25519, msg, 3,
				     (const uint8_t *)"x", 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp__sig_sign(NULL, &n, k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				   3),
		     ZTP_EINVAL);
}
END_TEST

/* Raw (P1363) r||s of a DER ECDSA signature. */
static void der_to_p1363(uint8_t *out, size_t half, const uint8_t *der,
			 size_t len)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *ss;

	ck_assert_ptr_nonnull(s);
	ECDSA_SIG_get0(s, &r, &ss);
	ck_assert(BN_bn2binpad(r, out, (int)half) == (int)half);
	ck_assert(BN_bn2binpad(ss, out + half, (int)half) == (int)half);
	ECDSA_SIG_free(s);
}

START_TEST(test_sig_ecdsa_der_only)
{
	uint8_t *sig = NULL, raw[64], *ber;
	size_t n = 0;

	ck_assert_rc(ztp__sig_sign(&sig, &n, k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				   sizeof(msg)),
		     ZTP_OK);
	ck_assert_uint_eq(sig[0], 0x30);
	/* The same (r, s) as 64 raw bytes: refused. */
	der_to_p1363(raw, 32, sig, n);
	ck_assert_rc(ztp__sig_verify(k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				     sizeof(msg), raw, sizeof(raw)),
		     ZTP_EBADSIG);
	ck_assert_int_eq(ERR_peek_error(), 0);
	/* Trailing byte after valid DER. */
	ber = malloc(n + 2);
	memcpy(ber, sig, n);
	ber[n] = 0;
	ck_assert_rc(ztp__sig_verify(k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				     sizeof(msg), ber, n + 1),
		     ZTP_EBADSIG);
	/* BER long-form length for the SEQUENCE: same values, not DER. */
	ck_assert_uint_lt(sig[1], 0x80);
	ber[0] = 0x30;
	ber[1] = 0x81;
	ber[2] = sig[1];
	memcpy(ber + 3, sig + 2, n - 2);
	ck_assert_rc(ztp__sig_verify(k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				     sizeof(msg), ber, n + 1),
		     ZTP_EBADSIG);
	assert_detail("not canonical DER");
	ck_assert_int_eq(ERR_peek_error(), 0);
	free(ber);
	ztp_free(sig);
}
END_TEST

/* RSA-PSS with an independent OpenSSL signer and salt length slen. */
static size_t pss_sign_raw(uint8_t *out, size_t cap, EVP_PKEY *k, int slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t n = cap;

	ck_assert(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, k) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ==
		  1);
	ck_assert(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, slen) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1);
	ck_assert(EVP_DigestSign(ctx, out, &n, msg, sizeof(msg)) == 1);
	EVP_MD_CTX_free(ctx);
	return n;
}

static int pss_verify_raw(EVP_PKEY *k, const uint8_t *sig, size_t n, int slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int v;

	ck_assert(EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, k) ==
		  1);
	ck_assert(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ==
		  1);
	ck_assert(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, slen) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1);
	v = EVP_DigestVerify(ctx, sig, n, msg, sizeof(msg));
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return v;
}

START_TEST(test_sig_rsa_pss_salt)
{
	uint8_t raw[512], *sig = NULL;
	size_t n;

	/* Interoperates with another signer using salt length 32. */
	n = pss_sign_raw(raw, sizeof(raw), k_rsa, 32);
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PSS_SHA256, msg,
				     sizeof(msg), raw, n),
		     ZTP_OK);
	/* Other salt lengths are refused though the signature is valid. */
	n = pss_sign_raw(raw, sizeof(raw), k_rsa, 20);
	ck_assert_int_eq(pss_verify_raw(k_rsa, raw, n, 20), 1);
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PSS_SHA256, msg,
				     sizeof(msg), raw, n),
		     ZTP_EBADSIG);
	ck_assert_int_eq(ERR_peek_error(), 0);
	n = pss_sign_raw(raw, sizeof(raw), k_rsa, RSA_PSS_SALTLEN_MAX);
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PSS_SHA256, msg,
				     sizeof(msg), raw, n),
		     ZTP_EBADSIG);
	/* Our signatures use exactly 32. */
	ck_assert_rc(ztp__sig_sign(&sig, &n, k_rsa, ZTP__SIG_RSA_PSS_SHA256,
				   msg, sizeof(msg)),
		     ZTP_OK);
	ck_assert_int_eq(pss_verify_raw(k_rsa, sig, n, 32), 1);
	ck_assert_int_ne(pss_verify_raw(k_rsa, sig, n, 20), 1);
	/* PSS and PKCS#1 v1.5 are not interchangeable. */
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PKCS1_SHA256, msg,
				     sizeof(msg), sig, n),
		     ZTP_EBADSIG);
	ztp_free(sig);
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

/* RFC 8032 section 7.1, TEST 1: deterministic Ed25519 output. */
START_TEST(test_sig_ed25519_rfc8032)
{
	static const char sk_hex[] =
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char sig_hex[] =
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	uint8_t skb[32], want[64], *sig = NULL;
	size_t n;
	EVP_PKEY *k;

	ck_assert_rc(ztp__hex_decode(skb, sizeof(skb), &n, sk_hex, 64), ZTP_OK);
	ck_assert_rc(ztp__hex_decode(want, sizeof(want), &n, sig_hex, 128),
		     ZTP_OK);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, skb, 32);
	ck_assert_ptr_nonnull(k);
	ck_assert_rc(ztp__sig_sign(&sig, &n, k, ZTP__SIG_ED25519,
				   (const uint8_t *)"", 0),
		     ZTP_OK);
	ck_assert_uint_eq(n, 64);
	ck_assert(memcmp(sig, want, 64) == 0);
	ztp_free(sig);
	EVP_PKEY_free(k);
}
END_TEST

/* ------------------------------------------------------------------ Wycheproof */

static int hexbuf(uint8_t **out, size_t *len, const char *hex)
{
	size_t hl = strlen(hex);
	int rc;

	*out = malloc(hl / 2 + 1);
	ck_assert_ptr_nonnull(*out);
	rc = ztp__hex_decode(*out, hl / 2 + 1, len, hex, hl);
	return rc;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v) &&
			      json_object_is_type(v, json_type_string),
		      "vector field '%s' missing", key);
	return json_object_get_string(v);
}

/*
 * Run every test of one Wycheproof file through ztp__sig_verify. With
 * p1363_refused, every signature must be refused whatever its verdict in
 * the file: the protocol fixes DER for ECDSA (DESIGN.md section 4), and a
 * verifier that also took r||s would make each signature malleable between
 * two encodings.
 */
static void run_wycheproof(const char *file, ztp__sigalg alg,
			   bool p1363_refused)
{
	char *path, *text = NULL, name[128];
	size_t len = 0, ntests = 0, nvalid = 0, ninvalid = 0, i, j;
	json_object *root, *groups, *g, *tests, *t;
	json_tokener *tok;

	ck_assert((size_t)snprintf(name, sizeof(name), "wycheproof/%s",
				   file) < sizeof(name));
	path = ztp_test_vector(name);
	ck_assert_msg(ztp__file_read(&text, &len, path, 64u << 20) == ZTP_OK,
		      "%s: %s", path, ztp_error_last_message());
	tok = json_tokener_new_ex(64);
	root = json_tokener_parse_ex(tok, text, (int)len);
	ck_assert_msg(root != NULL, "%s: JSON does not parse", path);
	json_tokener_free(tok);
	ck_assert(json_object_object_get_ex(root, "testGroups", &groups));
	for (i = 0; i < json_object_array_length(groups); i++) {
		uint8_t *kder;
		size_t klen;
		const unsigned char *p;
		EVP_PKEY *key;

		g = json_object_array_get_idx(groups, i);
		ck_assert_rc(hexbuf(&kder, &klen, jstr(g, "publicKeyDer")),
			     ZTP_OK);
		p = kder;
		key = d2i_PUBKEY(NULL, &p, (long)klen);
		ck_assert_msg(key != NULL && p == kder + klen,
			      "%s: group %zu: publicKeyDer", file, i);
		ck_assert(json_object_object_get_ex(g, "tests", &tests));
		for (j = 0; j < json_object_array_length(tests); j++) {
			uint8_t *m, *s;
			size_t mlen, slen;
			const char *result;
			int tc, rc;

			t = json_object_array_get_idx(tests, j);
			tc = json_object_get_int(
				json_object_object_get(t, "tcId"));
			result = jstr(t, "result");
			ck_assert_rc(hexbuf(&m, &mlen, jstr(t, "msg")), ZTP_OK);
			ck_assert_rc(hexbuf(&s, &slen, jstr(t, "sig")), ZTP_OK);
			rc = ztp__sig_verify(key, alg, m, mlen, s, slen);
			ck_assert_msg(rc == ZTP_OK || rc == ZTP_EBADSIG,
				      "%s tcId %d: unexpected code %d (%s)",
				      file, tc, rc, ztp_error_last_message());
			ck_assert_msg(ERR_peek_error() == 0,
				      "%s tcId %d: OpenSSL error left queued",
				      file, tc);
			if (p1363_refused) {
				ck_assert_msg(rc == ZTP_EBADSIG,
					      "%s tcId %d: raw r||s accepted",
					      file, tc);
			} else if (strcmp(result, "valid") == 0) {
				ck_assert_msg(rc == ZTP_OK,
					      "%s tcId %d: valid signature "
					      "refused: %s",
					      file, tc,
					      ztp_error_last_message());
				nvalid++;
			} else if (strcmp(result, "invalid") == 0) {
				ck_assert_msg(rc == ZTP_EBADSIG,
					      "%s tcId %d: invalid signature "
					      "accepted",
					      file, tc);
				ninvalid++;
			} else {
				ck_assert_str_eq(result, "acceptable");
			}
			ntests++;
			free(m);
			free(s);
		}
		EVP_PKEY_free(key);
		free(kder);
	}
	ck_assert_msg(ntests > 0, "%s: no test cases ran", file);
	if (!p1363_refused)
		ck_assert_msg(nvalid > 0 && ninvalid > 0,
			      "%s: %zu valid, %zu invalid", file, nvalid,
			      ninvalid);
	json_object_put(root);
	ztp_free(text);
	free(path);
}

START_TEST(test_wycheproof_ecdsa_p256)
{
	run_wycheproof("ecdsa_secp256r1_sha256_test.json",
		       ZTP__SIG_ECDSA_SHA256, false);
}
END_TEST

START_TEST(test_wycheproof_ecdsa_p256_p1363)
{
	run_wycheproof("ecdsa_secp256r1_sha256_p1363_test.json",
		       ZTP__SIG_ECDSA_SHA256, true);
}
END_TEST

START_TEST(test_wycheproof_ecdsa_p384)
{
	run_wycheproof("ecdsa_secp384r1_sha384_test.json",
		       ZTP__SIG_ECDSA_SHA384, false);
}
END_TEST

START_TEST(test_wycheproof_ed25519)
{
	run_wycheproof("ed25519_test.json", ZTP__SIG_ED25519, false);
}
END_TEST

START_TEST(test_wycheproof_rsa_pss)
{
	run_wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json",
		       ZTP__SIG_RSA_PSS_SHA256, false);
}
END_TEST

START_TEST(test_wycheproof_rsa_pkcs1)
{
	run_wycheproof("rsa_signature_2048_sha256_test.json",
		       ZTP__SIG_RSA_PKCS1_SHA256, false);
}
END_TEST

/* ------------------------------------------------------------------ certificate names */

static int device_id_of(const struct certspec *cs, char *out)
{
	X509 *x = make_cert(cs);
	int rc = ztp__cert_device_id(out, x);

	X509_free(x);
	return rc;
}

START_TEST(test_cert_device_id)
{
	char id[ZTP_ID_MAX + 1];
	char longcn[ZTP_ID_MAX + 2];
	/* "dev-001" as UCS-2 big endian. */
	static const char bmp[] = "\0d\0e\0v\0-\0\x30\0\x30\0\x31";

	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"},
				      .nuri = 3,
				      .uri = {"https://example.com/x",
					      "urn:ztp:device:dev-001",
					      "urn:ztp:tenant:acme"},
				      .dns_san = true};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {bmp}, .cnlen = {14},
				      .cntype = V_ASN1_BMPSTRING};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"},
				      .cntype = V_ASN1_PRINTABLESTRING};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
	}
	{
		struct certspec cs = {.ncn = 0};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 2, .cn = {"dev-001", "dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		assert_detail("more than one CN");
	}
	{
		struct certspec cs = {.ncn = 2, .cn = {"dev-001", "dev-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		/* Embedded NUL: would read as "dev-001" via a C string. */
		struct certspec cs = {.ncn = 1, .cn = {"dev-001\0evil"},
				      .cnlen = {12}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		assert_detail("NUL");
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev/001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev+#"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {""}, .cnlen = {0}};

		cs.cn[0] = "";
		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {longcn}};

		memset(longcn, 'a', ZTP_ID_MAX + 1);
		longcn[ZTP_ID_MAX + 1] = '\0';
		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		longcn[ZTP_ID_MAX] = '\0';
		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, longcn);
	}
	{
		/* Non-ASCII UTF-8. */
		struct certspec cs = {.ncn = 1, .cn = {"d\xc3\xa9v"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	/* Invalid UTF-8 in a UTF8String CN cannot be tested here: OpenSSL
	 * canonicalises names when it encodes or decodes them, so such a
	 * certificate neither builds nor parses. */
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:device:dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
		ck_assert_str_eq(id, "");
	}
	{
		/* IDs are case-sensitive. */
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:device:DEV-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 2,
				      .uri = {"urn:ztp:device:dev-001",
					      "urn:ztp:device:dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		/* Even two equal ones are one too many. */
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 2,
				      .uri = {"urn:ztp:device:dev-001",
					      "urn:ztp:device:dev-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		/* A differently cased URN prefix still counts. */
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 2,
				      .uri = {"urn:ztp:device:dev-001",
					      "URN:ZTP:DEVICE:dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:device:dev-001\0x"},
				      .urilen = {24}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:device:dev-001"},
				      .dup_san = true};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		assert_detail("more than one subjectAltName");
	}
	ck_assert_rc(ztp__cert_device_id(NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__cert_device_id(id, NULL), ZTP_EINVAL);
}
END_TEST

static int san_of(const struct certspec *cs, char *out, const char *prefix)
{
	X509 *x = make_cert(cs);
	int rc = ztp__cert_san_id(out, x, prefix);

	X509_free(x);
	return rc;
}

START_TEST(test_cert_san_id)
{
	char id[ZTP_ID_MAX + 1];

	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 3,
				      .uri = {"urn:ztp:device:dev-001",
					      "https://x.example",
					      "urn:ztp:tenant:acme.eu"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_OK);
		ck_assert_str_eq(id, "acme.eu");
		ck_assert_rc(san_of(&cs, id, ZTP_URN_DEVICE), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_ENOTFOUND);
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:device:dev-001"},
				      .dns_san = true};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_ENOTFOUND);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 2,
				      .uri = {"urn:ztp:tenant:a",
					      "urn:ztp:tenant:b"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:tenant:a/b"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:tenant:"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:tenant:acme\0evil"},
				      .urilen = {24}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
		assert_detail("NUL");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:tenant:+"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:tenant:acme"},
				      .dup_san = true};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		/* A prefix match must be a whole prefix. */
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}, .nuri = 1,
				      .uri = {"urn:ztp:tenantx:acme"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_ENOTFOUND);
	}
	ck_assert_rc(ztp__cert_san_id(id, NULL, ZTP_URN_TENANT), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ time */

START_TEST(test_time_rfc3339)
{
	char s[32];

	ztp__time_rfc3339(s, 0);
	ck_assert_str_eq(s, "1970-01-01T00:00:00Z");
	ztp__time_rfc3339(s, 1795818660);
	ck_assert_str_eq(s, "2026-11-27T22:31:00Z");
	ztp__time_rfc3339(s, 951782400);
	ck_assert_str_eq(s, "2000-02-29T00:00:00Z");
	ztp__time_rfc3339(s, -1);
	ck_assert_str_eq(s, "1969-12-31T23:59:59Z");
	ztp__time_rfc3339(s, INT64_C(253402300799));
	ck_assert_str_eq(s, "9999-12-31T23:59:59Z");
	ztp__time_rfc3339(s, INT64_MAX);
	ck_assert_str_eq(s, "9999-12-31T23:59:59Z");
	ztp__time_rfc3339(s, INT64_MIN);
	ck_assert_str_eq(s, "0000-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_time_parse)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2026-11-27T22:31:00Z", 1795818660},
		{"2026-11-27T23:31:00+01:00", 1795818660},
		{"2026-11-27T17:01:00-05:30", 1795818660},
		{"2026-11-27T22:31:00-00:00", 1795818660},
		{"2026-11-27T22:31:00.999999999Z", 1795818660},
		{"2026-11-27T22:31:00.5+00:00", 1795818660},
		{"2000-02-29T00:00:00Z", 951782400},
		{"1969-12-31T23:59:59Z", -1},
		{"2050-01-01T00:00:00Z", INT64_C(2524608000)},
	};
	static const char *const bad[] = {
		"",
		"2026-11-27",
		"2026-11-27T22:31:00",
		"2026-11-27t22:31:00Z",
		"2026-11-27T22:31:00z",
		"2026-11-27 22:31:00Z",
		"2026-11-27T22:31Z",
		"2026-11-27T22:31:00+0100",
		"2026-11-27T22:31:00+01",
		"2026-11-27T22:31:00+24:00",
		"2026-11-27T22:31:00+01:60",
		"2026-11-27T22:31:00.Z",
		"2026-11-27T22:31:00.1234567890Z",
		"2026-11-27T22:31:00,5Z",
		"2026-11-27T22:31:60Z",
		"2026-11-27T24:00:00Z",
		"2026-11-27T22:60:00Z",
		"2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-1-27T22:31:00Z",
		" 2026-11-27T22:31:00Z",
		"2026-11-27T22:31:00Z ",
		"2026-11-27T22:31:00ZZ",
		"+2026-11-27T22:31:00Z",
		"2026-11-27T22:31:00+01:00x",
	};
	int64_t t;
	size_t i;
	char s[32];

	for (i = 0; i < ZTP__ARRAY_LEN(good); i++) {
		ck_assert_msg(ztp__time_parse(&t, good[i].s) == ZTP_OK,
			      "refused %s: %s", good[i].s,
			      ztp_error_last_message());
		ck_assert_msg(t == good[i].t, "%s: %lld", good[i].s,
			      (long long)t);
	}
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		t = 42;
		ck_assert_msg(ztp__time_parse(&t, bad[i]) == ZTP_EPARSE,
			      "accepted '%s'", bad[i]);
		ck_assert_int_eq(t, 42);
	}
	/* Round trip over a spread of times. */
	for (t = -86400 * 365; t < INT64_C(4102444800); t += 7777777) {
		int64_t back;

		ztp__time_rfc3339(s, t);
		ck_assert_rc(ztp__time_parse(&back, s), ZTP_OK);
		ck_assert_int_eq(back, t);
	}
	ck_assert_rc(ztp__time_parse(NULL, "1970-01-01T00:00:00Z"), ZTP_EINVAL);
	ck_assert_rc(ztp__time_parse(&t, NULL), ZTP_EINVAL);
}
END_TEST

static int asn1_of(int type, const char *s, int64_t *t)
{
	ASN1_TIME *a = ASN1_STRING_type_new(type);
	int rc;

	ck_assert(ASN1_STRING_set(a, s, (int)strlen(s)) == 1);
	rc = ztp__asn1_time(t, a);
	ASN1_TIME_free(a);
	return rc;
}

START_TEST(test_asn1_time)
{
	int64_t t = 0, x;
	ASN1_TIME *a;

	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "700101000000Z", &t), ZTP_OK);
	ck_assert_int_eq(t, 0);
	/* RFC 5280 century rule: YY >= 50 is 19YY, else 20YY. */
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "500101000000Z", &t), ZTP_OK);
	ck_assert_int_eq(t, INT64_C(-631152000));
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "491231235959Z", &t), ZTP_OK);
	ck_assert_int_eq(t, INT64_C(2524607999));
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20500101000000Z", &t),
		     ZTP_OK);
	ck_assert_int_eq(t, INT64_C(2524608000));
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "99991231235959Z", &t),
		     ZTP_OK);
	ck_assert_int_eq(t, INT64_C(253402300799));
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20000229000000Z", &t),
		     ZTP_OK);
	ck_assert_int_eq(t, 951782400);

	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260230000000Z", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260101000000+0100", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260101000000.5Z", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260101000000", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "2601010000Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "20260101000000Z", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "26010100000aZ", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "261301000000Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "260101240000Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "260101000060Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_IA5STRING, "260101000000Z", &t),
		     ZTP_EPARSE);
	ck_assert_int_eq(ERR_peek_error(), 0);

	/* Independent of TZ, and agrees with ASN1_TIME_set. */
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	for (x = 0; x < INT64_C(4102444800); x += 86399 * 97) {
		a = ASN1_TIME_set(NULL, (time_t)x);
		ck_assert_ptr_nonnull(a);
		ck_assert_rc(ztp__asn1_time(&t, a), ZTP_OK);
		ck_assert_int_eq(t, x);
		ASN1_TIME_free(a);
	}
	unsetenv("TZ");
	tzset();
	ck_assert_rc(ztp__asn1_time(NULL, NULL), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ allocation failures */

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

/* ------------------------------------------------------------------ suite */

/* The same key whatever its encoding; different keys, and keys of other
 * types, are different. */
START_TEST(test_pubkey_same)
{
	EVP_PKEY *a = NULL, *b = NULL, *ed = NULL, *a2 = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	bool same = true;
	int len;

	ck_assert_rc(ztp__key_generate(&a, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&b, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&ed, "ed25519"), ZTP_OK);
	ck_assert_rc(ztp__pubkey_same(&same, a, a), ZTP_OK);
	ck_assert(same);
	ck_assert_rc(ztp__pubkey_same(&same, a, b), ZTP_OK);
	ck_assert(!same);
	same = true;
	ck_assert_rc(ztp__pubkey_same(&same, a, ed), ZTP_OK);
	ck_assert(!same);
	/* the public half, re-encoded with a compressed point */
	ck_assert_int_eq(EVP_PKEY_set_utf8_string_param(
				 a, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
				 "compressed"),
			 1);
	len = i2d_PUBKEY(a, &der);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(len, 59); /* 26-byte header + 33-byte point */
	p = der;
	a2 = d2i_PUBKEY(NULL, &p, len);
	ck_assert_ptr_nonnull(a2);
	same = false;
	ck_assert_rc(ztp__pubkey_same(&same, a, a2), ZTP_OK);
	ck_assert(same);
	ck_assert_rc(ztp__pubkey_same(NULL, a, a2), ZTP_EINVAL);
	OPENSSL_free(der);
	EVP_PKEY_free(a);
	EVP_PKEY_free(a2);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ed);
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc;

	tc = tcase_create("b64");
	tcase_add_test(tc, test_b64_vectors);
	tcase_add_test(tc, test_b64_roundtrip_binary);
	tcase_add_test(tc, test_b64_decode_strict);
	suite_add_tcase(s, tc);
	tc = tcase_create("hex");
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);
	tc = tcase_create("sha256");
	tcase_add_test(tc, test_sha256);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_cert");
	tcase_add_test(tc, test_pem_cert);
	tcase_add_test(tc, test_pem_cert_trailing_der);
	suite_add_tcase(s, tc);
	tc = tcase_create("der_cert");
	tcase_add_test(tc, test_der_cert);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_certs");
	tcase_add_test(tc, test_pem_certs);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_csr");
	tcase_add_test(tc, test_pem_csr);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_privkey");
	tcase_add_test(tc, test_pem_privkey);
	tcase_add_test(tc, test_pem_privkey_traditional);
	tcase_add_test(tc, test_pem_privkey_reject);
	suite_add_tcase(s, tc);
	tc = tcase_create("fingerprint");
	tcase_add_test(tc, test_fingerprints);
	tcase_add_test(tc, test_cert_serial_hex);
	suite_add_tcase(s, tc);
	tc = tcase_create("file_read");
	tcase_add_test(tc, test_file_read);
	suite_add_tcase(s, tc);
	tc = tcase_create("file_write_atomic");
	tcase_add_test(tc, test_file_write_atomic);
	tcase_add_test(tc, test_file_write_exclusive);
	suite_add_tcase(s, tc);
	tc = tcase_create("key_generate");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_key_generate);
	suite_add_tcase(s, tc);
	tc = tcase_create("key_describe");
	tcase_add_test(tc, test_key_describe);
	suite_add_tcase(s, tc);
	tc = tcase_create("keypolicy");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_keypolicy_check);
	tcase_add_test(tc, test_keypolicy_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("pubkey_same");
	tcase_add_test(tc, test_pubkey_same);
	suite_add_tcase(s, tc);

	tc = tcase_create("sigalg_for_key");
	tcase_add_test(tc, test_sigalg_for_key);
	suite_add_tcase(s, tc);
	tc = tcase_create("sig_sign_verify");
	tcase_add_test(tc, test_sig_roundtrip);
	tcase_add_test(tc, test_sig_ecdsa_der_only);
	tcase_add_test(tc, test_sig_rsa_pss_salt);
	tcase_add_test(tc, test_sig_ed25519_rfc8032);
	suite_add_tcase(s, tc);
	tc = tcase_create("wycheproof");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_wycheproof_ecdsa_p256);
	tcase_add_test(tc, test_wycheproof_ecdsa_p256_p1363);
	tcase_add_test(tc, test_wycheproof_ecdsa_p384);
	tcase_add_test(tc, test_wycheproof_ed25519);
	tcase_add_test(tc, test_wycheproof_rsa_pss);
	tcase_add_test(tc, test_wycheproof_rsa_pkcs1);
	suite_add_tcase(s, tc);
	tc = tcase_create("cert_device_id");
	tcase_add_test(tc, test_cert_device_id);
	suite_add_tcase(s, tc);
	tc = tcase_create("cert_san_id");
	tcase_add_test(tc, test_cert_san_id);
	suite_add_tcase(s, tc);
	tc = tcase_create("time_rfc3339");
	tcase_add_test(tc, test_time_rfc3339);
	suite_add_tcase(s, tc);
	tc = tcase_create("time_parse");
	tcase_add_test(tc, test_time_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("asn1_time");
	tcase_add_test(tc, test_asn1_time);
	suite_add_tcase(s, tc);
	tc = tcase_create("alloc_failure");
	tcase_add_test(tc, test_alloc_failure_verdicts);
	suite_add_tcase(s, tc);
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
