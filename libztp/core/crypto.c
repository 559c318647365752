/*
 * libztp — key generation, key policy, signatures.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#define RSA_POLICY_MAX_BITS 8192
#define RSA_POLICY_FLOOR_BITS 2048
#define PSS_SALT_LEN 32

/* ------------------------------------------------------------------ naming */

static const struct {
	const char *name;
	const char *ossl_type; /* EVP_PKEY_Q_keygen type */
	const char *curve;
	size_t bits;
} keytypes[] = {
    {"ec-p256", "EC", "P-256", 0},   {"ec-p384", "EC", "P-384", 0},
    {"ed25519", "ED25519", NULL, 0}, {"rsa-2048", "RSA", NULL, 2048},
    {"rsa-3072", "RSA", NULL, 3072}, {"rsa-4096", "RSA", NULL, 4096},
};

int ztp__key_generate(EVP_PKEY **out, const char *type)
{
	int rc = ZTP_OK;
	EVP_PKEY *key = NULL;
	size_t i;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(type != NULL);
	for (i = 0; i < ZTP__ARRAY_LEN(keytypes); i++)
		if (strcmp(type, keytypes[i].name) == 0)
			break;
	ZTP_ENSURE(i < ZTP__ARRAY_LEN(keytypes), ZTP_EUNSUPPORTED,
		   "key type '%.32s' not supported", type);
	if (keytypes[i].curve != NULL)
		key = EVP_PKEY_Q_keygen(NULL, NULL, keytypes[i].ossl_type,
					keytypes[i].curve);
	else if (keytypes[i].bits != 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, keytypes[i].ossl_type,
					keytypes[i].bits);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, keytypes[i].ossl_type);
	ZTP_ENSURE_OSSL(key != NULL, ZTP_ECRYPTO, "%s key generation failed",
			type);
	*out = key;
cleanup:
	return rc;
}

/*
 * Any key as a name: the supported names, or something descriptive for the
 * rest ("ec-secp521r1", "ec-explicit-parameters", "dsa-2048", "ed448").
 * Explicit EC parameters never count as a named curve even when they spell
 * one: they invite invalid-curve tricks and gain nothing.
 *
 * Failing to read a key's parameters (which under memory pressure OpenSSL
 * reports like any other failure) is ZTP_ECRYPTO, never a name: a key must
 * not look like another type, and so be refused by policy or read as a bad
 * signature, because an allocation failed.
 */
static int provided_key_name(char *out, size_t cap, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	char buf[64];
	size_t n = 0;
	const char *c;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		ZTP_ENSURE_OSSL(EVP_PKEY_get_utf8_string_param(
				    key, OSSL_PKEY_PARAM_EC_ENCODING, buf,
				    sizeof(buf), &n) == 1,
				ZTP_ECRYPTO, "cannot read the EC key encoding");
		if (strcmp(buf, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 0) {
			snprintf(out, cap, "ec-explicit-parameters");
			break;
		}
		ZTP_ENSURE_OSSL(
		    EVP_PKEY_get_group_name(key, buf, sizeof(buf), &n) == 1,
		    ZTP_ECRYPTO, "cannot read the EC key's curve");
		if (strcmp(buf, "prime256v1") == 0)
			snprintf(out, cap, "ec-p256");
		else if (strcmp(buf, "secp384r1") == 0)
			snprintf(out, cap, "ec-p384");
		else
			snprintf(out, cap, "ec-%s", buf);
		break;
	case EVP_PKEY_ED25519:
		snprintf(out, cap, "ed25519");
		break;
	case EVP_PKEY_RSA:
		snprintf(out, cap, "rsa-%d", EVP_PKEY_get_bits(key));
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(out, cap, "rsa-pss-%d", EVP_PKEY_get_bits(key));
		break;
	case EVP_PKEY_DSA:
		snprintf(out, cap, "dsa-%d", EVP_PKEY_get_bits(key));
		break;
	default:
		c = EVP_PKEY_get0_type_name(key);
		snprintf(out, cap, "%s", c != NULL ? c : "unknown");
		/* Lowercase for consistency with the names above. */
		for (; *out != '\0'; out++)
			if (*out >= 'A' && *out <= 'Z')
				*out = (char)(*out - 'A' + 'a');
		break;
	}
cleanup:
	return rc;
}

/* A key no provider holds (a token's key through libp11, an engine's)
 * answers no parameter queries: its public half, decoded again, does. */
static int key_name(char *out, size_t cap, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len;

	if (EVP_PKEY_get0_provider(key) != NULL)
		return provided_key_name(out, cap, key);
	len = i2d_PUBKEY(key, &der);
	ZTP_ENSURE_OSSL(len > 0, ZTP_ECRYPTO, "cannot encode the public key");
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	ZTP_ENSURE_OSSL(pub != NULL, ZTP_ECRYPTO,
			"cannot decode the public key");
	ZTP_CHECK(provided_key_name(out, cap, pub));
cleanup:
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	return rc;
}

int ztp__key_describe(char *out, size_t cap, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	char name[80];
	int id;

	ZTP_ARG(out != NULL && cap > 0);
	out[0] = '\0';
	ZTP_ARG(key != NULL);
	id = EVP_PKEY_get_base_id(key);
	ZTP_CHECK(key_name(name, sizeof(name), key));
	ZTP_ENSURE(id == EVP_PKEY_RSA || strcmp(name, "ec-p256") == 0 ||
		       strcmp(name, "ec-p384") == 0 ||
		       strcmp(name, "ed25519") == 0,
		   ZTP_EUNSUPPORTED, "key type %s not supported", name);
	ZTP_ENSURE(strlen(name) < cap, ZTP_ETOOBIG,
		   "key description does not fit in %zu bytes", cap);
	memcpy(out, name, strlen(name) + 1);
cleanup:
	return rc;
}

/* ------------------------------------------------------------------ key policy
 */

void ztp__keypolicy_default(ztp__keypolicy *p)
{
	if (p == NULL)
		return;
	p->ec_p256 = true;
	p->ec_p384 = true;
	p->ed25519 = true;
	p->rsa_min_bits = RSA_POLICY_FLOOR_BITS;
	p->rsa_max_bits = RSA_POLICY_MAX_BITS;
}

/* Digits only, no sign, no leading zero, bounded. */
static bool parse_bits(const char *s, size_t len, int *out)
{
	int v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * The spec is a comma-separated list without blanks: "ec-p256", "ec-p384",
 * "ed25519", "rsa-N" (RSA allowed from N bits up to 8192; N in
 * 2048..8192). Every entry at most once; an unknown or repeated entry, or
 * an empty list, is ZTP_EINVAL and leaves *p untouched.
 */
int ztp__keypolicy_parse(ztp__keypolicy *p, const char *spec)
{
	int rc = ZTP_OK;
	ztp__keypolicy np = {false, false, false, 0, RSA_POLICY_MAX_BITS};
	const char *tok, *end;
	size_t len;
	int bits = 0;
	bool any = false;

	ZTP_ARG(p != NULL);
	ZTP_ARG(spec != NULL);
	ZTP_ENSURE(spec[0] != '\0', ZTP_EINVAL, "key policy: empty");
	tok = spec;
	for (;;) {
		end = strchr(tok, ',');
		len = end != NULL ? (size_t)(end - tok) : strlen(tok);
		ZTP_ENSURE(len > 0, ZTP_EINVAL, "key policy: empty entry");
		if (len == 7 && memcmp(tok, "ec-p256", 7) == 0) {
			ZTP_ENSURE(!np.ec_p256, ZTP_EINVAL,
				   "key policy: ec-p256 listed twice");
			np.ec_p256 = true;
		} else if (len == 7 && memcmp(tok, "ec-p384", 7) == 0) {
			ZTP_ENSURE(!np.ec_p384, ZTP_EINVAL,
				   "key policy: ec-p384 listed twice");
			np.ec_p384 = true;
		} else if (len == 7 && memcmp(tok, "ed25519", 7) == 0) {
			ZTP_ENSURE(!np.ed25519, ZTP_EINVAL,
				   "key policy: ed25519 listed twice");
			np.ed25519 = true;
		} else if (len > 4 && memcmp(tok, "rsa-", 4) == 0) {
			ZTP_ENSURE(np.rsa_min_bits == 0, ZTP_EINVAL,
				   "key policy: rsa listed twice");
			ZTP_ENSURE(parse_bits(tok + 4, len - 4, &bits) &&
				       bits >= RSA_POLICY_FLOOR_BITS &&
				       bits <= RSA_POLICY_MAX_BITS,
				   ZTP_EINVAL,
				   "key policy: '%.*s': RSA minimum must be "
				   "%d..%d bits",
				   (int)(len > 32 ? 32 : len), tok,
				   RSA_POLICY_FLOOR_BITS, RSA_POLICY_MAX_BITS);
			np.rsa_min_bits = bits;
		} else {
			ZTP_ENSURE(0, ZTP_EINVAL,
				   "key policy: unknown key type '%.*s'",
				   (int)(len > 32 ? 32 : len), tok);
		}
		any = true;
		if (end == NULL)
			break;
		tok = end + 1;
	}
	ZTP_ENSURE(any, ZTP_EINVAL, "key policy: empty");
	*p = np;
cleanup:
	return rc;
}

/* An even or unit public exponent is no RSA key anyone should hold. */
static int rsa_exponent_check(EVP_PKEY *key, const char *name)
{
	int rc = ZTP_OK;
	BIGNUM *e = NULL;

	ZTP_ENSURE_OSSL(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) ==
			    1,
			ZTP_ECRYPTO, "cannot read the RSA public exponent");
	ZTP_ENSURE(BN_is_odd(e) && !BN_is_one(e), ZTP_EKEYPOLICY,
		   "key type %s not allowed: bad public exponent", name);
cleanup:
	BN_free(e);
	return rc;
}

int ztp__keypolicy_check(const ztp__keypolicy *p, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	char name[80];
	int bits;
	bool allowed;

	ZTP_ARG(p != NULL);
	ZTP_ARG(key != NULL);
	ZTP_CHECK(key_name(name, sizeof(name), key));
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		allowed = (p->ec_p256 && strcmp(name, "ec-p256") == 0) ||
			  (p->ec_p384 && strcmp(name, "ec-p384") == 0);
		break;
	case EVP_PKEY_ED25519:
		allowed = p->ed25519;
		break;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(key);
		allowed = p->rsa_min_bits > 0 && bits >= p->rsa_min_bits &&
			  bits <= p->rsa_max_bits;
		if (allowed)
			ZTP_CHECK(rsa_exponent_check(key, name));
		break;
	default:
		allowed = false;
		break;
	}
	ZTP_ENSURE(allowed, ZTP_EKEYPOLICY, "key type %s not allowed", name);
cleanup:
	return rc;
}

/* ------------------------------------------------------------------ signatures
 */

int ztp__sigalg_for_key(ztp__sigalg *out, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	char name[80];

	ZTP_ARG(out != NULL);
	ZTP_ARG(key != NULL);
	ZTP_CHECK(key_name(name, sizeof(name), key));
	if (strcmp(name, "ec-p256") == 0)
		*out = ZTP__SIG_ECDSA_SHA256;
	else if (strcmp(name, "ec-p384") == 0)
		*out = ZTP__SIG_ECDSA_SHA384;
	else if (strcmp(name, "ed25519") == 0)
		*out = ZTP__SIG_ED25519;
	else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		*out = ZTP__SIG_RSA_PSS_SHA256;
	else
		ZTP_ENSURE(0, ZTP_EUNSUPPORTED,
			   "no signature algorithm for key type %s", name);
cleanup:
	return rc;
}

static const char *sigalg_name(ztp__sigalg alg)
{
	switch (alg) {
	case ZTP__SIG_ECDSA_SHA256:
		return "ECDSA-SHA256";
	case ZTP__SIG_ECDSA_SHA384:
		return "ECDSA-SHA384";
	case ZTP__SIG_ED25519:
		return "Ed25519";
	case ZTP__SIG_RSA_PSS_SHA256:
		return "RSA-PSS-SHA256";
	case ZTP__SIG_RSA_PKCS1_SHA256:
		return "RSA-PKCS1-SHA256";
	default:
		return NULL;
	}
}

/* Whether key can produce or check alg (*fits); the curve is part of the
 * algorithm: a P-384 key never verifies "ECDSA-SHA256", so each (key,
 * algorithm) pair has exactly one meaning. */
static int key_fits(bool *fits, EVP_PKEY *key, ztp__sigalg alg)
{
	int rc = ZTP_OK;
	char name[80];

	*fits = false;
	ZTP_CHECK(key_name(name, sizeof(name), key));
	switch (alg) {
	case ZTP__SIG_ECDSA_SHA256:
		*fits = strcmp(name, "ec-p256") == 0;
		break;
	case ZTP__SIG_ECDSA_SHA384:
		*fits = strcmp(name, "ec-p384") == 0;
		break;
	case ZTP__SIG_ED25519:
		*fits = strcmp(name, "ed25519") == 0;
		break;
	case ZTP__SIG_RSA_PSS_SHA256:
	case ZTP__SIG_RSA_PKCS1_SHA256:
		*fits = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
		break;
	default:
		break;
	}
cleanup:
	return rc;
}

static const char *sigalg_md(ztp__sigalg alg)
{
	switch (alg) {
	case ZTP__SIG_ECDSA_SHA384:
		return "SHA384";
	case ZTP__SIG_ED25519:
		return NULL; /* pure EdDSA hashes internally */
	case ZTP__SIG_ECDSA_SHA256:
	case ZTP__SIG_RSA_PSS_SHA256:
	case ZTP__SIG_RSA_PKCS1_SHA256:
	default:
		return "SHA256";
	}
}

/* Fix the padding for RSA; a no-op for the other algorithms. */
static int set_padding(EVP_PKEY_CTX *pctx, ztp__sigalg alg)
{
	switch (alg) {
	case ZTP__SIG_RSA_PSS_SHA256:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
			1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, PSS_SALT_LEN) != 1)
			return -1;
		return 0;
	case ZTP__SIG_RSA_PKCS1_SHA256:
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) ==
			       1
			   ? 0
			   : -1;
	case ZTP__SIG_ECDSA_SHA256:
	case ZTP__SIG_ECDSA_SHA384:
	case ZTP__SIG_ED25519:
	default:
		return 0;
	}
}

int ztp__sig_sign(uint8_t **sig, size_t *siglen, EVP_PKEY *key, ztp__sigalg alg,
		  const uint8_t *msg, size_t msglen)
{
	int rc = ZTP_OK;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *buf = NULL;
	size_t n = 0;
	const char *name = sigalg_name(alg);
	bool fits;

	ZTP_ARG(sig != NULL);
	ZTP_ARG(siglen != NULL);
	*sig = NULL;
	*siglen = 0;
	ZTP_ARG(key != NULL);
	ZTP_ARG(msg != NULL || msglen == 0);
	ZTP_ENSURE(name != NULL, ZTP_EINVAL, "unknown signature algorithm %d",
		   (int)alg);
	ZTP_CHECK(key_fits(&fits, key, alg));
	ZTP_ENSURE(fits, ZTP_EINVAL, "key does not fit signature algorithm %s",
		   name);
	ctx = EVP_MD_CTX_new();
	ZTP_ENSURE_OSSL(ctx != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_ENSURE_OSSL(EVP_DigestSignInit_ex(ctx, &pctx, sigalg_md(alg), NULL,
					      NULL, key, NULL) == 1 &&
			    set_padding(pctx, alg) == 0,
			ZTP_ECRYPTO, "%s: signing setup failed", name);
	if (msg == NULL)
		msg = (const uint8_t *)"";
	ZTP_ENSURE_OSSL(EVP_DigestSign(ctx, NULL, &n, msg, msglen) == 1 &&
			    n > 0,
			ZTP_ECRYPTO, "%s: signing failed", name);
	buf = ztp__malloc(n);
	ZTP_ENSURE(buf != NULL, ZTP_ENOMEM, "%s: out of memory", name);
	ZTP_ENSURE_OSSL(EVP_DigestSign(ctx, buf, &n, msg, msglen) == 1,
			ZTP_ECRYPTO, "%s: signing failed", name);
	*sig = buf;
	*siglen = n;
	buf = NULL;
cleanup:
	ztp_free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* One DER length at sig[*pos]: definite, minimal, within siglen. */
static bool der_len(const uint8_t *sig, size_t siglen, size_t *pos, size_t *len)
{
	size_t i = *pos, n, k;

	if (i >= siglen)
		return false;
	if (sig[i] < 0x80) {
		*len = sig[i];
		*pos = i + 1;
		return *len <= siglen - *pos;
	}
	n = sig[i] & 0x7f;
	/* Signatures here are far below 64 KiB; 0x80 (indefinite) and
	 * longer length forms are not DER for them. */
	if (n < 1 || n > 2 || n > siglen - i - 1)
		return false;
	*len = 0;
	for (k = 1; k <= n; k++)
		*len = (*len << 8) | sig[i + k];
	/* Minimal: long form only from 128 on, no leading zero byte. */
	if (*len < 0x80 || (n == 2 && *len < 0x100))
		return false;
	*pos = i + 1 + n;
	return *len <= siglen - *pos;
}

/* A DER INTEGER that is positive and minimally encoded. */
static bool der_uint(const uint8_t *sig, size_t siglen, size_t *pos)
{
	size_t len;

	if (*pos >= siglen || sig[(*pos)++] != 0x02 ||
	    !der_len(sig, siglen, pos, &len) || len == 0)
		return false;
	if (sig[*pos] & 0x80)
		return false; /* negative */
	if (len > 1 && sig[*pos] == 0x00 && !(sig[*pos + 1] & 0x80))
		return false; /* superfluous leading zero */
	*pos += len;
	return true;
}

/*
 * ECDSA signatures must be the one DER encoding of (r, s): no BER length
 * forms, no padding zeros, no trailing bytes, and not the raw r||s (P1363)
 * form. OpenSSL enforces this too; checking here keeps the rule independent
 * of the OpenSSL version and makes it visible. Parsed by hand because it
 * must not allocate: an allocation failure must never read as a malformed
 * signature.
 */
static bool ecdsa_der_canonical(const uint8_t *sig, size_t siglen)
{
	size_t pos = 0, len;

	if (siglen < 2 || sig[pos++] != 0x30 ||
	    !der_len(sig, siglen, &pos, &len) || pos + len != siglen)
		return false;
	return der_uint(sig, siglen, &pos) && der_uint(sig, siglen, &pos) &&
	       pos == siglen;
}

/*
 * Whether OpenSSL's queued errors include an allocation failure; empties
 * the queue. Best effort: OpenSSL does not always manage to record an
 * allocation failure (recording it needs memory too), and then the
 * failure reads as a bad signature. Never the other way round: nothing
 * here can turn a failure into success.
 */
static bool ossl_out_of_memory(void)
{
	unsigned long e;
	bool oom = false;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			oom = true;
	return oom;
}

int ztp__sig_verify(EVP_PKEY *key, ztp__sigalg alg, const uint8_t *msg,
		    size_t msglen, const uint8_t *sig, size_t siglen)
{
	int rc = ZTP_OK;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const char *name = sigalg_name(alg);
	bool fits;
	int v;

	ZTP_ARG(key != NULL);
	ZTP_ARG(msg != NULL || msglen == 0);
	ZTP_ARG(sig != NULL || siglen == 0);
	ZTP_ENSURE(name != NULL, ZTP_EINVAL, "unknown signature algorithm %d",
		   (int)alg);
	ZTP_CHECK(key_fits(&fits, key, alg));
	ZTP_ENSURE(fits, ZTP_EBADSIG,
		   "signature: key does not fit algorithm %s", name);
	ZTP_ENSURE(siglen > 0, ZTP_EBADSIG, "signature: empty");
	if (alg == ZTP__SIG_ECDSA_SHA256 || alg == ZTP__SIG_ECDSA_SHA384)
		ZTP_ENSURE(ecdsa_der_canonical(sig, siglen), ZTP_EBADSIG,
			   "signature: %s signature is not canonical DER",
			   name);
	ctx = EVP_MD_CTX_new();
	ZTP_ENSURE_OSSL(ctx != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_ENSURE_OSSL(EVP_DigestVerifyInit_ex(ctx, &pctx, sigalg_md(alg),
						NULL, NULL, key, NULL) == 1 &&
			    set_padding(pctx, alg) == 0,
			ZTP_ECRYPTO, "%s: verification setup failed", name);
	/* One-shot use: without this flag the final step duplicates the
	 * context, and that duplication can fail silently, reading as a
	 * bad signature. */
	EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
	if (msg == NULL)
		msg = (const uint8_t *)"";
	v = EVP_DigestVerify(ctx, sig, siglen, msg, msglen);
	/* 0 is a bad signature, a negative value a malformed one (wrong
	 * length, bad encoding): both are simply "does not verify". Running
	 * out of memory is not a verdict on the signature, so it is told
	 * apart by OpenSSL's reason code where OpenSSL records one. Nothing
	 * may stay queued for an unrelated later call. */
	if (v != 1 && ossl_out_of_memory())
		ZTP_ENSURE(0, ZTP_ENOMEM,
			   "signature: %s verification ran out of memory",
			   name);
	ERR_clear_error();
	ZTP_ENSURE(v == 1, ZTP_EBADSIG, "signature: %s verification failed",
		   name);
cleanup:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int ztp__pubkey_same(bool *same, EVP_PKEY *a, EVP_PKEY *b)
{
	int r;

	ZTP_ARG(same != NULL && a != NULL && b != NULL);
	*same = false;
	ERR_clear_error();
	r = EVP_PKEY_eq(a, b);
	if (r == 1) {
		*same = true;
		return ZTP_OK;
	}
	/* -1: different key types, a plain "no". 0 is "no" only when
	 * OpenSSL recorded no failure: a comparison that could not be made
	 * must not pass for a key found to differ. */
	if (r == -1 || (r == 0 && ERR_peek_error() == 0))
		return ZTP_OK;
	return ztp__err_ossl(r == -2 ? ZTP_EUNSUPPORTED : ZTP_ECRYPTO,
			     "public keys cannot be compared");
}
