/*
 * libztp — certificate requests from devices: parsed, self-signature
 * verified, key policy applied, for the bootstrap and lifecycle endpoints.
 * SPDX-License-Identifier: Apache-2.0
 *
 * With OpenSSL 3.0, d2i_X509_REQ() decodes the request's public key
 * through a decoder context built afresh for every call, which costs more
 * than verifying the request's signature (OpenSSL issues 17950, 19119,
 * 20051). The requests devices send have one shape, so it is read here
 * directly:
 *
 *   CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo SEQUENCE {
 *       version       INTEGER 0,
 *       subject       Name,                 -- d2i_X509_NAME
 *       subjectPKInfo SEQUENCE { algorithm, BIT STRING },
 *       attributes    [0] IMPLICIT SET OF Attribute -- d2i_X509_ATTRIBUTE
 *     },
 *     signatureAlgorithm AlgorithmIdentifier,
 *     signature          BIT STRING }
 *
 * in strict DER, with the key built from its raw parts (EVP_PKEY_fromdata
 * checks that an EC point is on its curve) and the signature verified
 * over the certificationRequestInfo bytes as sent: the same checks
 * X509_REQ_verify() makes, at a fraction of the cost.
 *
 * That reader is a fast path, never a second opinion. It accepts only a
 * fixed set of encodings, each of which OpenSSL accepts too: named P-256 /
 * P-384 keys with uncompressed or compressed points and ECDSA with
 * SHA-256/384/512, Ed25519, RSA (rsaEncryption) with PKCS#1 v1.5 and
 * SHA-256/384/512. Whatever it does not recognise — another key or
 * signature algorithm (RSA-PSS, SHA-1, P-224), parameters spelled another
 * way, BER, a version other than 0, framing it does not expect — is
 * handed to OpenSSL's own parser and X509_REQ_verify(), exactly as before,
 * so the set of requests accepted, and the reason given for a refusal, do
 * not depend on which path read them. The one verdict the fast path gives
 * itself is a signature that does not verify, for a request that it could
 * read completely: OpenSSL would verify the same bytes with the same key
 * and digest and come to the same answer. tests/unit/test_csr.c compares
 * both paths on mutated requests.
 */
#include "verifier/internal.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#define FAST_OK ZTP__CSR_FAST_OK
#define FAST_BADSIG ZTP__CSR_FAST_BADSIG
#define FAST_DECLINE ZTP__CSR_FAST_DECLINE

/* --------------------------------------------------------------- PEM */

/*
 * The DER of a PEM CSR, framed exactly as ztp__pem_csr() accepts (the same
 * framer: one block, only whitespace around it, strict base64). Anything
 * else declines, and ztp__pem_csr() gives the verdict with its message.
 */
static int pem_der(uint8_t **der, size_t *derlen, const char *pem, size_t len)
{
	if (pem == NULL || ztp__pem_csr_der(der, derlen, pem, len) != ZTP_OK)
		return FAST_DECLINE;
	return FAST_OK;
}

/* --------------------------------------------------------------- DER */

typedef struct dspan {
	const uint8_t *p;
	size_t len;
} dspan;

/* One TLV of the expected (single-octet) tag, definite minimal length,
 * within in; in moves past it. val: the contents; all: the whole TLV. */
static bool take(dspan *in, uint8_t tag, dspan *val, dspan *all)
{
	size_t i = 2, n;

	if (in->len < 2 || in->p[0] != tag)
		return false;
	n = in->p[1];
	if (n & 0x80) {
		size_t k = n & 0x7f;

		/* Long form: 1..3 octets, no leading zero, only when the
		 * short form cannot say it. */
		if (k == 0 || k > 3 || in->len < 2 + k || in->p[2] == 0)
			return false;
		n = 0;
		for (size_t j = 0; j < k; j++)
			n = (n << 8) | in->p[2 + j];
		if (n < 0x80)
			return false;
		i += k;
	}
	if (n > in->len - i)
		return false;
	if (val != NULL) {
		val->p = in->p + i;
		val->len = n;
	}
	if (all != NULL) {
		all->p = in->p;
		all->len = i + n;
	}
	in->p += i + n;
	in->len -= i + n;
	return true;
}

static bool same_bytes(const dspan *d, const uint8_t *b, size_t n)
{
	return d->len == n && memcmp(d->p, b, n) == 0;
}

/* A positive INTEGER in minimal form (its magnitude in mag). */
static bool take_uint(dspan *in, dspan *mag)
{
	dspan v;

	if (!take(in, 0x02, &v, NULL) || v.len == 0 || (v.p[0] & 0x80))
		return false;
	if (v.p[0] == 0) {
		if (v.len == 1 || !(v.p[1] & 0x80))
			return false;
		v.p++;
		v.len--;
	}
	*mag = v;
	return true;
}

/* -------------------------------------------------------- algorithms */

/* AlgorithmIdentifier encodings, whole TLVs. */
static const uint8_t alg_ec_p256[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
				      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
				      0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t alg_ec_p384[] = {0x30, 0x10, 0x06, 0x07, 0x2a, 0x86,
				      0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
				      0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t alg_ed25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t alg_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
				  0x86, 0x48, 0x86, 0xf7, 0x0d,
				  0x01, 0x01, 0x01, 0x05, 0x00};

enum kind { K_EC, K_ED25519, K_RSA };

static const struct sigalg {
	uint8_t der[15];
	size_t len;
	enum kind kind;
	const char *md; /* NULL: none (Ed25519) */
} sigalgs[] = {
    /* ecdsa-with-SHA256/384/512, parameters absent (RFC 5758). */
    {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02},
     12,
     K_EC,
     "SHA256"},
    {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03},
     12,
     K_EC,
     "SHA384"},
    {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04},
     12,
     K_EC,
     "SHA512"},
    /* id-Ed25519, parameters absent (RFC 8410). */
    {{0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70}, 7, K_ED25519, NULL},
    /* sha256/384/512WithRSAEncryption, NULL parameters (RFC 4055). */
    {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
      0x0b, 0x05, 0x00},
     15,
     K_RSA,
     "SHA256"},
    {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
      0x0c, 0x05, 0x00},
     15,
     K_RSA,
     "SHA384"},
    {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
      0x0d, 0x05, 0x00},
     15,
     K_RSA,
     "SHA512"},
};

/* -------------------------------------------------------------- keys */

static EVP_PKEY *from_params(const char *type, const OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *key = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY,
			      (OSSL_PARAM *)params) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static EVP_PKEY *curve_only(const char *group)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)group, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEY_PARAMETERS, params) !=
		1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return key;
}

void ztp__csr_tmpl_init(ztp__csr_tmpl *t)
{
	t->p256 = curve_only("prime256v1");
	t->p384 = curve_only("secp384r1");
	ERR_clear_error();
}

void ztp__csr_tmpl_free(ztp__csr_tmpl *t)
{
	EVP_PKEY_free(t->p256);
	EVP_PKEY_free(t->p384);
	t->p256 = t->p384 = NULL;
}

/* An EC point of the curve's size: uncompressed (04 X Y) or compressed
 * (02/03 X). OpenSSL's import rejects a point that is not on the curve
 * (and x or y not below the field prime), whether the key is built from
 * the curve's name or from a copy of a template holding the curve only:
 * both end in EC_KEY_oct2key(). */
static EVP_PKEY *ec_key(EVP_PKEY *tmpl, const char *group, size_t field,
			const dspan *pt)
{
	OSSL_PARAM params[3];

	if (pt->len == 0 ||
	    !((pt->p[0] == 0x04 && pt->len == 1 + 2 * field) ||
	      ((pt->p[0] == 0x02 || pt->p[0] == 0x03) && pt->len == 1 + field)))
		return NULL;
	if (tmpl != NULL) {
		EVP_PKEY *key = EVP_PKEY_dup(tmpl);

		if (key != NULL &&
		    EVP_PKEY_set1_encoded_public_key(key, pt->p, pt->len) == 1)
			return key;
		/* A refused point may stay in the copy (OpenSSL sets the
		 * coordinates before it checks them): never use it. */
		EVP_PKEY_free(key);
		return NULL;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      (void *)pt->p, pt->len);
	params[2] = OSSL_PARAM_construct_end();
	return from_params("EC", params);
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static EVP_PKEY *rsa_key(const dspan *bits)
{
	dspan in = *bits, seq, n, e;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;

	if (!take(&in, 0x30, &seq, NULL) || in.len != 0 ||
	    !take_uint(&seq, &n) || !take_uint(&seq, &e) || seq.len != 0 ||
	    n.len > 8192 / 8 + 1 || e.len > 8)
		return NULL;
	bn = BN_bin2bn(n.p, (int)n.len, NULL);
	be = BN_bin2bn(e.p, (int)e.len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn != NULL && be != NULL && bld != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params != NULL)
		key = from_params("RSA", params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return key;
}

/* SubjectPublicKeyInfo (its contents) → key of a kind the fast path reads. */
static EVP_PKEY *spki_key(const ztp__csr_tmpl *t, const dspan *spki,
			  enum kind *kind)
{
	dspan in = *spki, alg, bits;

	/* The algorithm is compared as a whole TLV. */
	if (!take(&in, 0x30, NULL, &alg) || !take(&in, 0x03, &bits, NULL) ||
	    in.len != 0 || bits.len < 1 || bits.p[0] != 0)
		return NULL;
	bits.p++;
	bits.len--;
	if (same_bytes(&alg, alg_ec_p256, sizeof(alg_ec_p256))) {
		*kind = K_EC;
		return ec_key(t != NULL ? t->p256 : NULL, "prime256v1", 32,
			      &bits);
	}
	if (same_bytes(&alg, alg_ec_p384, sizeof(alg_ec_p384))) {
		*kind = K_EC;
		return ec_key(t != NULL ? t->p384 : NULL, "secp384r1", 48,
			      &bits);
	}
	if (same_bytes(&alg, alg_ed25519, sizeof(alg_ed25519))) {
		*kind = K_ED25519;
		if (bits.len != 32)
			return NULL;
		return EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
						      bits.p, bits.len);
	}
	if (same_bytes(&alg, alg_rsa, sizeof(alg_rsa))) {
		*kind = K_RSA;
		return rsa_key(&bits);
	}
	return NULL;
}

/* ------------------------------------------------------- the request */

/* X509_NAME / X509_ATTRIBUTE exactly as d2i_X509_REQ() would read them
 * (it uses these very item templates), consuming the whole TLV. */
static bool name_ok(const dspan *all)
{
	const unsigned char *p = all->p;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)all->len);
	bool ok = n != NULL && p == all->p + all->len;

	X509_NAME_free(n);
	return ok;
}

static bool attributes_ok(dspan set)
{
	while (set.len > 0) {
		dspan one;
		const unsigned char *p;
		X509_ATTRIBUTE *a;
		bool ok;

		if (!take(&set, 0x30, NULL, &one))
			return false;
		p = one.p;
		a = d2i_X509_ATTRIBUTE(NULL, &p, (long)one.len);
		ok = a != NULL && p == one.p + one.len;
		X509_ATTRIBUTE_free(a);
		if (!ok)
			return false;
	}
	return true;
}

static int verify(EVP_PKEY *key, const char *md, const dspan *sig,
		  const dspan *tbs)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int v = 0;

	if (ctx != NULL && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL,
						   key, NULL) == 1) {
		/* One-shot: no context duplication that could fail silently
		 * (see ztp__sig_verify). */
		EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
		v = EVP_DigestVerify(ctx, sig->p, sig->len, tbs->p, tbs->len);
	}
	EVP_MD_CTX_free(ctx);
	return v;
}

int ztp__verifier_csr_fast(const ztp__csr_tmpl *t, EVP_PKEY **key,
			   const uint8_t *data, size_t len)
{
	dspan in = {data, len}, req, info, tbs, ver, subj, spki, attrs, alg,
	      sig;
	const struct sigalg *sa = NULL;
	enum kind kind;
	EVP_PKEY *k = NULL;
	int v, rc = FAST_DECLINE;

	*key = NULL;
	if (!take(&in, 0x30, &req, NULL) || in.len != 0 ||
	    !take(&req, 0x30, &info, &tbs) || !take(&req, 0x30, NULL, &alg) ||
	    !take(&req, 0x03, &sig, NULL) || req.len != 0)
		return FAST_DECLINE;
	if (!take(&info, 0x02, &ver, NULL) || ver.len != 1 || ver.p[0] != 0 ||
	    !take(&info, 0x30, NULL, &subj) ||
	    !take(&info, 0x30, &spki, NULL) ||
	    !take(&info, 0xa0, &attrs, NULL) || info.len != 0)
		return FAST_DECLINE;
	for (size_t i = 0; i < ZTP__ARRAY_LEN(sigalgs); i++)
		if (same_bytes(&alg, sigalgs[i].der, sigalgs[i].len))
			sa = &sigalgs[i];
	/* A signature with unused bits is one OpenSSL refuses to verify. */
	if (sa == NULL || sig.len < 2 || sig.p[0] != 0)
		return FAST_DECLINE;
	sig.p++;
	sig.len--;
	if (!name_ok(&subj) || !attributes_ok(attrs))
		goto cleanup;
	k = spki_key(t, &spki, &kind);
	/* The signature algorithm must be one for the key's type, as
	 * OpenSSL requires. */
	if (k == NULL || kind != sa->kind)
		goto cleanup;
	v = verify(k, sa->md, &sig, &tbs);
	if (v == 1) {
		*key = k;
		k = NULL;
		rc = FAST_OK;
	} else {
		rc = FAST_BADSIG;
	}
cleanup:
	/* Nothing of a declined or failed attempt may stay queued. */
	ERR_clear_error();
	EVP_PKEY_free(k);
	return rc;
}

/* OpenSSL's reading of the request (d2i_X509_REQ, X509_REQ_verify). */
static int slow(ztp__vdec *d, EVP_PKEY **key, uint8_t hash[32], const char *pem,
		size_t len)
{
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	EVP_PKEY *pub;
	int rc, dlen;

	rc = ztp__pem_csr(&req, pem, len);
	if (rc < 0) {
		rc = ztp__reject(d, ZTP__W_BAD_CSR, rc, "csr: %s",
				 ztp_error_last_message());
		goto cleanup;
	}
	pub = X509_REQ_get0_pubkey(req);
	if (pub == NULL) {
		ERR_clear_error();
		rc = ztp__reject(d, ZTP__W_BAD_CSR, ZTP_EPARSE,
				 "csr: unusable public key");
		goto cleanup;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		rc = ztp__reject(d, ZTP__W_BAD_CSR, ZTP_EBADSIG,
				 "csr: self-signature does not verify");
		goto cleanup;
	}
	/* The CSR as sent: a parsed request re-encodes to its original
	 * bytes, and the strict PEM parser refused any trailing data. */
	dlen = i2d_X509_REQ(req, &der);
	ZTP_ENSURE_OSSL(dlen > 0, ZTP_ECRYPTO, "csr encoding");
	if (hash != NULL)
		ZTP_CHECK(ztp__sha256(hash, der, (size_t)dlen));
	ZTP_ENSURE_OSSL(EVP_PKEY_up_ref(pub) == 1, ZTP_ECRYPTO, "csr key");
	*key = pub;
cleanup:
	OPENSSL_free(der);
	X509_REQ_free(req);
	return rc;
}

int ztp__verifier_csr(ztp__vdec *d, const ztp__keypolicy *kp,
		      const ztp__csr_tmpl *t, EVP_PKEY **key, uint8_t hash[32],
		      const char *pem, size_t len)
{
	uint8_t *der = NULL;
	size_t derlen = 0;
	EVP_PKEY *k = NULL;
	int rc = ZTP_OK, f = FAST_DECLINE;

	*key = NULL;
	if (pem_der(&der, &derlen, pem, len) == FAST_OK)
		f = ztp__verifier_csr_fast(t, &k, der, derlen);
	if (f == FAST_BADSIG) {
		rc = ztp__reject(d, ZTP__W_BAD_CSR, ZTP_EBADSIG,
				 "csr: self-signature does not verify");
		goto cleanup;
	}
	if (f == FAST_OK && hash != NULL)
		ZTP_CHECK(ztp__sha256(hash, der, derlen));
	else if (f != FAST_OK)
		ZTP_CHECK(slow(d, &k, hash, pem, len));
	rc = ztp__keypolicy_check(kp, k);
	if (rc < 0) {
		rc = ztp__reject(d, ZTP__W_KEY_POLICY, rc, "csr: %s",
				 ztp_error_last_message());
		goto cleanup;
	}
	*key = k;
	k = NULL;
cleanup:
	EVP_PKEY_free(k);
	ztp_free(der);
	return rc;
}
