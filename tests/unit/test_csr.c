/*
 * Certificate requests (libztp/verifier/csr.c): the fast reader of PKCS#10
 * requests against OpenSSL's own (d2i_X509_REQ + X509_REQ_verify), on
 * every key and signature kind the library accepts or refuses, on PEM
 * framing variants, and on deterministic mutations of valid requests. The
 * property checked is the one the verifier relies on: whatever the fast
 * reader accepts, OpenSSL accepts with the same key; whatever it calls a
 * bad signature, OpenSSL refuses; and the verdict of ztp__verifier_csr()
 * is OpenSSL's verdict followed by the key policy.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "verifier/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "testutil.h"

/* ---------------------------------------------------------- requests */

typedef struct csr_spec {
	const char *key;   /* EVP_PKEY_Q_keygen type */
	const char *param; /* curve name or NULL */
	size_t bits;	   /* RSA size or 0 */
	const char *md;	   /* NULL: the key's own (Ed25519) */
	bool pss;	   /* RSA-PSS signature */
	bool compressed;   /* EC point compressed in the SPKI */
	bool attrs;	   /* an extensionRequest attribute */
	const char *cn;	   /* subject CN or NULL (empty subject) */
} csr_spec;

static EVP_PKEY *spec_key(const csr_spec *s)
{
	EVP_PKEY *k;

	if (s->param != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, s->key, s->param);
	else if (s->bits != 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, s->key, s->bits);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, s->key);
	ck_assert_ptr_nonnull(k);
	return k;
}

/* A signed request in DER (OPENSSL_free) for a fresh key (*keyp). */
static unsigned char *make_csr(const csr_spec *s, EVP_PKEY **keyp, int *len)
{
	EVP_PKEY *k = spec_key(s), *pub = k;
	X509_REQ *r = X509_REQ_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;

	ck_assert_ptr_nonnull(r);
	if (s->cn != NULL)
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(
				     X509_REQ_get_subject_name(r), "CN",
				     MBSTRING_UTF8,
				     (const unsigned char *)s->cn, -1, -1, 0),
				 1);
	if (s->compressed) {
		pub = EVP_PKEY_dup(k);
		ck_assert_int_eq(EVP_PKEY_set_utf8_string_param(
				     pub,
				     OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
				     "compressed"),
				 1);
	}
	ck_assert_int_eq(X509_REQ_set_pubkey(r, pub), 1);
	if (s->attrs) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *e = X509V3_EXT_conf_nid(
		    NULL, NULL, NID_subject_alt_name, "URI:urn:ztp:device:x");

		ck_assert_ptr_nonnull(e);
		sk_X509_EXTENSION_push(exts, e);
		ck_assert_int_eq(X509_REQ_add_extensions(r, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	ck_assert_int_eq(
	    EVP_DigestSignInit_ex(mctx, &pctx, s->md, NULL, NULL, k, NULL), 1);
	if (s->pss)
		ck_assert_int_gt(
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING),
		    0);
	ck_assert_int_gt(X509_REQ_sign_ctx(r, mctx), 0);
	*len = i2d_X509_REQ(r, &der);
	ck_assert_int_gt(*len, 0);
	if (pub != k)
		EVP_PKEY_free(pub);
	EVP_MD_CTX_free(mctx);
	X509_REQ_free(r);
	*keyp = k;
	return der;
}

/* OpenSSL's verdict on DER: 1 and *key (borrowed from *reqp) when the
 * request parses to its last byte and its self-signature verifies. */
static int reference(const unsigned char *der, size_t len, X509_REQ **reqp,
		     EVP_PKEY **key)
{
	const unsigned char *p = der;
	X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len);
	int ok = 0;

	*reqp = r;
	*key = NULL;
	if (r != NULL && p == der + len) {
		*key = X509_REQ_get0_pubkey(r);
		ok = *key != NULL && X509_REQ_verify(r, *key) == 1;
	}
	ERR_clear_error();
	return ok;
}

/* PEM with 64-column lines. */
static char *to_pem(const unsigned char *der, size_t len, const char *label,
		    const char *eol)
{
	char *b64 = NULL, *out;
	size_t n, cap, o = 0;

	ck_assert_rc(ztp__b64_encode(&b64, der, len), ZTP_OK);
	n = strlen(b64);
	cap = n + n / 64 * 2 + 2 * strlen(label) + 64;
	out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	o += (size_t)snprintf(out + o, cap - o, "-----BEGIN %s-----%s", label,
			      eol);
	for (size_t i = 0; i < n; i += 64)
		o += (size_t)snprintf(out + o, cap - o, "%.*s%s",
				      (int)(n - i < 64 ? n - i : 64), b64 + i,
				      eol);
	snprintf(out + o, cap - o, "-----END %s-----%s", label, eol);
	ztp_free(b64);
	return out;
}

/* Curve templates as a verifier holds them (built once for the suite). */
static ztp__csr_tmpl tmpl;

/* ztp__verifier_csr on PEM text: the wire code (ZTP__W_NONE when
 * accepted), with the key and hash when accepted. */
static int run_csr(const char *pem, EVP_PKEY **key, uint8_t hash[32])
{
	ztp__vdec d;
	ztp__keypolicy kp;
	int rc;

	ztp__vdec_init(&d);
	ztp__keypolicy_default(&kp);
	rc = ztp__verifier_csr(&d, &kp, &tmpl, key, hash, pem, strlen(pem));
	if (rc == ZTP_OK)
		ck_assert_int_eq(d.wire, ZTP__W_NONE);
	else
		ck_assert_msg(d.wire == ZTP__W_BAD_CSR ||
				  d.wire == ZTP__W_KEY_POLICY,
			      "unexpected refusal %d (%s)", d.wire, d.message);
	return d.wire;
}

/* What ztp__verifier_csr must answer for DER, from OpenSSL's verdict and
 * the key policy. */
static int expected_wire(const unsigned char *der, size_t len)
{
	X509_REQ *r;
	EVP_PKEY *k;
	ztp__keypolicy kp;
	int w = ZTP__W_BAD_CSR;

	ztp__keypolicy_default(&kp);
	if (reference(der, len, &r, &k))
		w = ztp__keypolicy_check(&kp, k) == ZTP_OK ? ZTP__W_NONE
							   : ZTP__W_KEY_POLICY;
	X509_REQ_free(r);
	ERR_clear_error();
	return w;
}

/* The fast reader against OpenSSL on one DER input; returns the fast
 * reader's outcome, which must not depend on whether request keys are
 * copied from the curve templates or built from the curve's name. */
static int compare(const unsigned char *der, size_t len)
{
	X509_REQ *r;
	EVP_PKEY *ref, *k = NULL, *k2 = NULL;
	int f = ztp__verifier_csr_fast(&tmpl, &k, der, len), ok;

	/* Nothing of the attempt may stay queued. */
	ck_assert_int_eq(ERR_peek_error(), 0);
	ck_assert_int_eq(ztp__verifier_csr_fast(NULL, &k2, der, len), f);
	ck_assert_int_eq(ERR_peek_error(), 0);
	if (f == ZTP__CSR_FAST_OK)
		ck_assert_int_eq(EVP_PKEY_eq(k, k2), 1);
	EVP_PKEY_free(k2);
	ok = reference(der, len, &r, &ref);
	if (f == ZTP__CSR_FAST_OK) {
		unsigned char *re = NULL;
		int relen;
		uint8_t h1[32], h2[32];

		ck_assert_msg(ok, "fast path accepted what OpenSSL refuses");
		ck_assert_int_eq(EVP_PKEY_eq(k, ref), 1);
		/* The transcript hashes the CSR: the bytes as sent (fast
		 * path) and OpenSSL's re-encoding (the other) agree. */
		relen = i2d_X509_REQ(r, &re);
		ck_assert_int_gt(relen, 0);
		ck_assert_rc(ztp__sha256(h1, der, len), ZTP_OK);
		ck_assert_rc(ztp__sha256(h2, re, (size_t)relen), ZTP_OK);
		ck_assert_mem_eq(h1, h2, 32);
		OPENSSL_free(re);
	} else if (f == ZTP__CSR_FAST_BADSIG) {
		ck_assert_msg(!ok, "fast path refused what OpenSSL accepts");
	} else {
		ck_assert_int_eq(f, ZTP__CSR_FAST_DECLINE);
		ck_assert_ptr_null(k);
	}
	EVP_PKEY_free(k);
	X509_REQ_free(r);
	ERR_clear_error();
	return f;
}

/* Kinds the fast reader reads itself. */
static const csr_spec fast_specs[] = {
    {"EC", "P-256", 0, "SHA256", false, false, false, NULL},
    {"EC", "P-256", 0, "SHA384", false, false, false, "dev-1"},
    {"EC", "P-256", 0, "SHA256", false, true, false, NULL},
    {"EC", "P-384", 0, "SHA384", false, false, true, "dev-2"},
    {"EC", "P-384", 0, "SHA512", false, true, false, NULL},
    {"ED25519", NULL, 0, NULL, false, false, true, "dev-3"},
    {"RSA", NULL, 2048, "SHA256", false, false, false, "dev-4"},
    {"RSA", NULL, 2048, "SHA512", false, false, true, NULL},
};

/* Kinds it leaves to OpenSSL. */
static const csr_spec slow_specs[] = {
    {"EC", "P-224", 0, "SHA256", false, false, false, NULL},
    {"EC", "P-256", 0, "SHA1", false, false, false, NULL},
    {"EC", "P-256", 0, "SHA224", false, false, false, NULL},
    {"RSA", NULL, 2048, "SHA256", true, false, false, "pss"},
    {"RSA", NULL, 2048, "SHA1", false, false, false, NULL},
    {"ED448", NULL, 0, NULL, false, false, false, NULL},
};

/* ---------------------------------------------------------- fast path */

START_TEST(fast_reads_what_devices_send)
{
	for (size_t i = 0; i < ZTP__ARRAY_LEN(fast_specs); i++) {
		EVP_PKEY *k, *got = NULL;
		int len;
		unsigned char *der = make_csr(&fast_specs[i], &k, &len);
		uint8_t h[32], want[32];
		char *pem =
		    to_pem(der, (size_t)len, "CERTIFICATE REQUEST", "\n");

		ck_assert_msg(compare(der, (size_t)len) == ZTP__CSR_FAST_OK,
			      "spec %zu not read by the fast path", i);
		ck_assert_int_eq(run_csr(pem, &got, h), ZTP__W_NONE);
		ck_assert_int_eq(EVP_PKEY_eq(got, k), 1);
		ck_assert_rc(ztp__sha256(want, der, (size_t)len), ZTP_OK);
		ck_assert_mem_eq(h, want, 32);
		EVP_PKEY_free(got);
		EVP_PKEY_free(k);
		free(pem);
		OPENSSL_free(der);
	}
}
END_TEST

START_TEST(fast_declines_the_rest)
{
	for (size_t i = 0; i < ZTP__ARRAY_LEN(slow_specs); i++) {
		EVP_PKEY *k, *got = NULL;
		int len, w;
		unsigned char *der = make_csr(&slow_specs[i], &k, &len);
		uint8_t h[32];
		char *pem =
		    to_pem(der, (size_t)len, "CERTIFICATE REQUEST", "\n");

		ck_assert_msg(compare(der, (size_t)len) ==
				  ZTP__CSR_FAST_DECLINE,
			      "spec %zu read by the fast path", i);
		/* OpenSSL's verdict and the policy decide, as before. */
		w = run_csr(pem, &got, h);
		ck_assert_int_eq(w, expected_wire(der, (size_t)len));
		if (w == ZTP__W_NONE)
			ck_assert_int_eq(EVP_PKEY_eq(got, k), 1);
		EVP_PKEY_free(got);
		EVP_PKEY_free(k);
		free(pem);
		OPENSSL_free(der);
	}
}
END_TEST

START_TEST(fast_bad_signature)
{
	for (size_t i = 0; i < ZTP__ARRAY_LEN(fast_specs); i++) {
		EVP_PKEY *k, *got = NULL;
		int len;
		unsigned char *der = make_csr(&fast_specs[i], &k, &len);
		char *pem;

		/* The signature BIT STRING ends the DER: for ECDSA the
		 * last byte is inside the S integer, for Ed25519 and RSA
		 * inside the signature value. */
		der[len - 2] ^= 0x40;
		ck_assert_int_eq(compare(der, (size_t)len),
				 ZTP__CSR_FAST_BADSIG);
		pem = to_pem(der, (size_t)len, "CERTIFICATE REQUEST", "\n");
		ck_assert_int_eq(run_csr(pem, &got, NULL), ZTP__W_BAD_CSR);
		ck_assert_ptr_null(got);
		free(pem);
		EVP_PKEY_free(k);
		OPENSSL_free(der);
	}
}
END_TEST

/* Find needle in hay (for locating the public key inside a request). */
static unsigned char *memfind(unsigned char *hay, size_t n,
			      const unsigned char *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

START_TEST(fast_point_not_on_curve)
{
	static const csr_spec specs[] = {
	    {"EC", "P-256", 0, "SHA256", false, false, false, NULL},
	    {"EC", "P-384", 0, "SHA384", false, false, false, NULL},
	    {"EC", "P-256", 0, "SHA256", false, true, false, NULL},
	};

	for (size_t i = 0; i < ZTP__ARRAY_LEN(specs); i++) {
		EVP_PKEY *k, *got = NULL;
		int len;
		unsigned char *der = make_csr(&specs[i], &k, &len);
		unsigned char pt[128], *at;
		size_t ptlen = 0;
		char *pem;

		ck_assert_int_eq(
		    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY,
						    pt, sizeof(pt), &ptlen),
		    1);
		if (specs[i].compressed) {
			/* x of a compressed point: make it the field
			 * prime's size in 0xff, above the prime. */
			pt[0] = (unsigned char)(0x02 | (pt[ptlen - 1] & 1));
			at = memfind(der, (size_t)len, pt + 1, 16);
			ck_assert_ptr_nonnull(at);
			memset(at, 0xff, 32);
		} else {
			at = memfind(der, (size_t)len, pt, ptlen);
			ck_assert_ptr_nonnull(at);
			/* y + 1: not on the curve. */
			at[ptlen - 1] ^= 0x01;
		}
		ck_assert_int_ne(compare(der, (size_t)len), ZTP__CSR_FAST_OK);
		pem = to_pem(der, (size_t)len, "CERTIFICATE REQUEST", "\n");
		ck_assert_int_eq(run_csr(pem, &got, NULL), ZTP__W_BAD_CSR);
		free(pem);
		EVP_PKEY_free(k);
		OPENSSL_free(der);
	}
}
END_TEST

/* The key itself, built from raw parts: OpenSSL's import checks the
 * point, which the fast path relies on. */
START_TEST(fromdata_checks_the_point)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *bad = NULL;
	unsigned char pt[65];
	size_t n = 0;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[3];

	ck_assert_int_eq(EVP_PKEY_get_octet_string_param(
			     k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n),
			 1);
	ck_assert_uint_eq(n, 65);
	pt[64] ^= 1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"prime256v1", 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, n);
	params[2] = OSSL_PARAM_construct_end();
	ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
	ck_assert_int_ne(
	    EVP_PKEY_fromdata(ctx, &bad, EVP_PKEY_PUBLIC_KEY, params), 1);
	ck_assert_ptr_null(bad);
	/* The same through a copy of the curve template. */
	ck_assert_ptr_nonnull(tmpl.p256);
	bad = EVP_PKEY_dup(tmpl.p256);
	ck_assert_ptr_nonnull(bad);
	ck_assert_int_ne(EVP_PKEY_set1_encoded_public_key(bad, pt, n), 1);
	EVP_PKEY_free(bad);
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
}
END_TEST

/* DER length octets for n into out; returns their count. */
static size_t der_len(unsigned char *out, size_t n)
{
	if (n < 0x80) {
		out[0] = (unsigned char)n;
		return 1;
	}
	if (n < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)n;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (unsigned char)(n >> 8);
	out[2] = (unsigned char)n;
	return 3;
}

/* The request of der re-assembled with another signature algorithm
 * (whole AlgorithmIdentifier TLV), same info and signature bits. */
static unsigned char *with_sigalg(const unsigned char *der, int len,
				  const unsigned char *alg, size_t alglen,
				  size_t *outlen)
{
	const unsigned char *p = der;
	X509_REQ *r = d2i_X509_REQ(NULL, &p, len);
	const ASN1_BIT_STRING *sig = NULL;
	unsigned char *tbs = NULL, *out, hdr[4];
	int tlen;
	size_t body, o = 0, sl;

	ck_assert_ptr_nonnull(r);
	tlen = i2d_re_X509_REQ_tbs(r, &tbs);
	ck_assert_int_gt(tlen, 0);
	X509_REQ_get0_signature(r, &sig, NULL);
	sl = (size_t)ASN1_STRING_length(sig) + 1;
	body = (size_t)tlen + alglen + 1 + der_len(hdr, sl) + sl;
	out = malloc(body + 8);
	out[o++] = 0x30;
	o += der_len(out + o, body);
	memcpy(out + o, tbs, (size_t)tlen);
	o += (size_t)tlen;
	memcpy(out + o, alg, alglen);
	o += alglen;
	out[o++] = 0x03;
	o += der_len(out + o, sl);
	out[o++] = 0x00;
	memcpy(out + o, ASN1_STRING_get0_data(sig), sl - 1);
	o += sl - 1;
	*outlen = o;
	OPENSSL_free(tbs);
	X509_REQ_free(r);
	return out;
}

/* A signature algorithm that names another key type is refused, even
 * when the signature bits would verify with the key. */
START_TEST(fast_sigalg_must_fit_key)
{
	static const unsigned char rsa_sha256[] = {
	    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	    0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
	static const unsigned char ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08,
						     0x2a, 0x86, 0x48, 0xce,
						     0x3d, 0x04, 0x03, 0x02};
	static const unsigned char ecdsa_sha256_null[] = {
	    0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
	    0xce, 0x3d, 0x04, 0x03, 0x02, 0x05, 0x00};
	static const unsigned char ed25519[] = {0x30, 0x05, 0x06, 0x03,
						0x2b, 0x65, 0x70};
	static const struct {
		csr_spec spec;
		const unsigned char *alg;
		size_t len;
		int fast; /* expected fast outcome */
	} v[] = {
	    {{"EC", "P-256", 0, "SHA256", false, false, false, NULL},
	     rsa_sha256,
	     sizeof(rsa_sha256),
	     -1},
	    {{"EC", "P-256", 0, "SHA256", false, false, false, NULL},
	     ed25519,
	     sizeof(ed25519),
	     -1},
	    {{"RSA", NULL, 2048, "SHA256", false, false, false, NULL},
	     ecdsa_sha256,
	     sizeof(ecdsa_sha256),
	     -1},
	    {{"ED25519", NULL, 0, NULL, false, false, false, NULL},
	     ecdsa_sha256,
	     sizeof(ecdsa_sha256),
	     -1},
	    /* Parameters spelled otherwise: OpenSSL's reading decides. */
	    {{"EC", "P-256", 0, "SHA256", false, false, false, NULL},
	     ecdsa_sha256_null,
	     sizeof(ecdsa_sha256_null),
	     ZTP__CSR_FAST_DECLINE},
	    /* The control: the algorithm it was signed with. */
	    {{"EC", "P-256", 0, "SHA256", false, false, false, NULL},
	     ecdsa_sha256,
	     sizeof(ecdsa_sha256),
	     ZTP__CSR_FAST_OK},
	};

	for (size_t i = 0; i < ZTP__ARRAY_LEN(v); i++) {
		EVP_PKEY *k, *got = NULL;
		int len, f;
		unsigned char *der = make_csr(&v[i].spec, &k, &len), *re;
		size_t relen;
		char *pem;

		re = with_sigalg(der, len, v[i].alg, v[i].len, &relen);
		f = compare(re, relen);
		if (v[i].fast >= 0)
			ck_assert_int_eq(f, v[i].fast);
		else
			ck_assert_int_ne(f, ZTP__CSR_FAST_OK);
		pem = to_pem(re, relen, "CERTIFICATE REQUEST", "\n");
		ck_assert_int_eq(run_csr(pem, &got, NULL),
				 expected_wire(re, relen));
		EVP_PKEY_free(got);
		free(pem);
		free(re);
		EVP_PKEY_free(k);
		OPENSSL_free(der);
	}
}
END_TEST

/* ---------------------------------------------------------- mutations */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* One random edit of der (len bytes, room for len + 1) in place. */
static size_t mutate(unsigned char *der, size_t len)
{
	size_t at = rnd((uint32_t)len);

	switch (rnd(6)) {
	case 0: /* flip one bit */
		der[at] ^= (unsigned char)(1u << rnd(8));
		break;
	case 1: /* replace a byte */
		der[at] = (unsigned char)rnd(256);
		break;
	case 2: /* truncate */
		len = at;
		break;
	case 3: /* delete a byte */
		memmove(der + at, der + at + 1, len - at - 1);
		len--;
		break;
	case 4: /* insert a byte */
		memmove(der + at + 1, der + at, len - at);
		der[at] = (unsigned char)rnd(256);
		len++;
		break;
	default: /* nudge what may be a length octet */
		der[at] = (unsigned char)(der[at] + (rnd(2) ? 1 : 0xff));
		break;
	}
	return len;
}

static long mutations(void)
{
	const char *e = getenv("ZTP_CSR_MUTATIONS");
	long n = e != NULL ? strtol(e, NULL, 10) : 0;

	return n > 0 && n <= 1000000 ? n : 48;
}

START_TEST(mutated_requests_agree)
{
	long per = mutations(), fast_ok = 0, fast_bad = 0;

	for (size_t i = 0; i < ZTP__ARRAY_LEN(fast_specs); i++) {
		EVP_PKEY *k;
		int len;
		unsigned char *der = make_csr(&fast_specs[i], &k, &len);
		unsigned char *buf = malloc((size_t)len + 8);

		for (long m = 0; m < per; m++) {
			size_t n = (size_t)len;
			int f, w;
			EVP_PKEY *got = NULL;
			char *pem;

			memcpy(buf, der, (size_t)len);
			/* One to three edits. */
			for (uint32_t e = rnd(3) + 1; e > 0 && n > 1; e--)
				n = mutate(buf, n);
			f = compare(buf, n);
			fast_ok += f == ZTP__CSR_FAST_OK;
			fast_bad += f == ZTP__CSR_FAST_BADSIG;
			if (n == 0)
				continue;
			pem = to_pem(buf, n, "CERTIFICATE REQUEST", "\n");
			w = run_csr(pem, &got, NULL);
			ck_assert_int_eq(w, expected_wire(buf, n));
			EVP_PKEY_free(got);
			free(pem);
		}
		free(buf);
		EVP_PKEY_free(k);
		OPENSSL_free(der);
	}
	/* Mutations of signatures and names are common enough that both
	 * verdicts of the fast path are exercised. */
	ck_assert_int_gt(fast_bad, 0);
	(void)fast_ok;
}
END_TEST

/* ---------------------------------------------------------- PEM framing */

START_TEST(pem_framing_as_core)
{
	static const struct {
		const char *pre, *label, *eol, *post;
	} v[] = {
	    {"", "CERTIFICATE REQUEST", "\n", ""},
	    {"  \n\t", "CERTIFICATE REQUEST", "\r\n", "\r\n  "},
	    {"", "NEW CERTIFICATE REQUEST", "\n", ""},
	    {"x", "CERTIFICATE REQUEST", "\n", ""},
	    {"", "CERTIFICATE REQUEST", "\n", "garbage"},
	    {"", "CERTIFICATE", "\n", ""},
	    {"", "X509 CRL", "\n", ""},
	    {"", "CERTIFICATE REQUEST", "\n",
	     "-----BEGIN CERTIFICATE REQUEST-----\n"},
	};
	csr_spec s = {"EC", "P-256", 0, "SHA256", false, false, false, NULL};
	EVP_PKEY *k;
	int len;
	unsigned char *der = make_csr(&s, &k, &len);

	for (size_t i = 0; i < ZTP__ARRAY_LEN(v); i++) {
		char *body = to_pem(der, (size_t)len, v[i].label, v[i].eol);
		size_t n = strlen(v[i].pre) + strlen(body) + strlen(v[i].post);
		char *pem = malloc(n + 1);
		X509_REQ *r = NULL;
		EVP_PKEY *got = NULL;
		int core, w;

		snprintf(pem, n + 1, "%s%s%s", v[i].pre, body, v[i].post);
		core = ztp__pem_csr(&r, pem, n);
		w = run_csr(pem, &got, NULL);
		ck_assert_msg((core == ZTP_OK) == (w == ZTP__W_NONE),
			      "variant %zu: core %d, csr %d", i, core, w);
		X509_REQ_free(r);
		EVP_PKEY_free(got);
		free(pem);
		free(body);
	}
	/* Broken framings of the body itself. */
	{
		char *pem =
		    to_pem(der, (size_t)len, "CERTIFICATE REQUEST", "\n");
		char *dash = strstr(pem + 20, "\n") + 5;
		EVP_PKEY *got = NULL;

		memcpy(dash, "-----", 5);
		ck_assert_int_eq(run_csr(pem, &got, NULL), ZTP__W_BAD_CSR);
		free(pem);
		pem = strdup("-----BEGIN CERTIFICATE REQUEST-----\n"
			     "-----END CERTIFICATE REQUEST-----\n");
		ck_assert_int_eq(run_csr(pem, &got, NULL), ZTP__W_BAD_CSR);
		free(pem);
		pem = strdup("-----BEGIN CERTIFICATE REQUEST-----\n"
			     "MA==\n-----END CERTIFICATE REQUEST-----\n");
		ck_assert_int_eq(run_csr(pem, &got, NULL), ZTP__W_BAD_CSR);
		free(pem);
	}
	EVP_PKEY_free(k);
	OPENSSL_free(der);
}
END_TEST

/* Key policy applies to keys either path read. */
START_TEST(policy_after_either_path)
{
	static const csr_spec specs[] = {
	    {"RSA", NULL, 1024, "SHA256", false, false, false, NULL},
	    {"RSA", NULL, 1024, "SHA256", true, false, false, NULL},
	    {"EC", "P-224", 0, "SHA256", false, false, false, NULL},
	};

	for (size_t i = 0; i < ZTP__ARRAY_LEN(specs); i++) {
		EVP_PKEY *k, *got = NULL;
		int len;
		unsigned char *der = make_csr(&specs[i], &k, &len);
		char *pem =
		    to_pem(der, (size_t)len, "CERTIFICATE REQUEST", "\n");

		(void)compare(der, (size_t)len);
		ck_assert_int_eq(run_csr(pem, &got, NULL), ZTP__W_KEY_POLICY);
		ck_assert_ptr_null(got);
		free(pem);
		EVP_PKEY_free(k);
		OPENSSL_free(der);
	}
}
END_TEST

static Suite *csr_suite(void)
{
	Suite *s = suite_create("csr");
	TCase *fast = tcase_create("ztp__verifier_csr_fast");
	TCase *full = tcase_create("ztp__verifier_csr");

	tcase_set_timeout(fast, 600);
	tcase_set_timeout(full, 600);
	tcase_add_test(fast, fast_reads_what_devices_send);
	tcase_add_test(fast, fast_declines_the_rest);
	tcase_add_test(fast, fast_bad_signature);
	tcase_add_test(fast, fast_point_not_on_curve);
	tcase_add_test(fast, fromdata_checks_the_point);
	tcase_add_test(fast, fast_sigalg_must_fit_key);
	tcase_add_test(full, mutated_requests_agree);
	tcase_add_test(full, pem_framing_as_core);
	tcase_add_test(full, policy_after_either_path);
	suite_add_tcase(s, fast);
	suite_add_tcase(s, full);
	return s;
}

int main(void)
{
	int rc;

	ztp__csr_tmpl_init(&tmpl);
	rc = ztp_test_run(csr_suite());
	ztp__csr_tmpl_free(&tmpl);
	return rc;
}
