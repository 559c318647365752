/*
 * libztp — TPM 2.0 key source: a persistent key in a TPM, used through the
 * tpm2-openssl provider, so that the private key never leaves the TPM.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The source is "tpm2:handle=0x81XXXXXX", a persistent handle of the owner
 * hierarchy holding an EC P-256 or P-384 signing key with an empty
 * authorisation value (tpm2_createprimary + tpm2_create +
 * tpm2_evictcontrol, see ztp-device.json(5)).
 *
 * Two choices here come from how OpenSSL 3.0 dispatches operations:
 *
 * - The provider lives in a library context of its own, next to the base
 *   provider only, never in the default context: loaded there, its
 *   digests, random generator and ciphers would compete with the default
 *   provider's for every operation of the process (each one a TPM command).
 *
 * - The key handed to callers is an EVP_PKEY of the legacy kind, an
 *   EC_KEY with the public point and a method whose sign callbacks ask the
 *   TPM. A provider key cannot be used directly: libcurl makes its SSL_CTX
 *   in the default context, and both libssl and EVP_DigestSignInit fetch
 *   the signature implementation from the caller's context first — the
 *   default provider's ECDSA — and export the key to it; tpm2-openssl
 *   1.1.1 (Debian 12) exports the public half and reports success, and the
 *   signature then fails with "missing private key". OpenSSL always sends
 *   an EC_KEY with a method of its own (a "foreign" key) to that method,
 *   whatever the context, which is also how engine keys work.
 *
 * The TCTI (which TPM, how reached) is the provider's to choose: the
 * environment variable TPM2OPENSSL_TCTI, else the TSS default
 * (/dev/tpmrm0, /dev/tpm0, ...). tpm2-openssl 1.1.1 ignores a "tcti"
 * parameter in an OpenSSL configuration section, so there is no other way
 * to pass one in.
 */
/* EC_KEY_METHOD is the documented way to give OpenSSL 3.0 a key whose
 * operations happen elsewhere; it is deprecated only in favour of
 * providers, which cannot serve here (above). */
#define OPENSSL_API_COMPAT 10101

#include "core/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#define TPM2_PREFIX "tpm2:handle=0x"
#define TPM2_HANDLE_FIRST 0x81000000UL
#define TPM2_HANDLE_LAST 0x81ffffffUL

/* What a wrapped key owns: the provider key and its library context. */
typedef struct tpm_key {
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *tpm2, *base;
	EVP_PKEY *key;
} tpm_key;

static pthread_once_t tpm_once = PTHREAD_ONCE_INIT;
static int tpm_ex_index = -1;
/* Made once and kept for the life of the process, like OpenSSL's own
 * methods: keys made with it may live until exit. */
static EC_KEY_METHOD *tpm_method;

static void tpm_key_free(tpm_key *t)
{
	if (t == NULL)
		return;
	EVP_PKEY_free(t->key);
	if (t->base != NULL)
		OSSL_PROVIDER_unload(t->base);
	if (t->tpm2 != NULL)
		OSSL_PROVIDER_unload(t->tpm2);
	OSSL_LIB_CTX_free(t->libctx);
	free(t);
}

static void ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	tpm_key_free(ptr);
}

/* The digest the TPM is to name in its signature, from the length of the
 * hash it is given (ECDSA signs a hash computed by the caller). */
static const char *digest_for(int dlen)
{
	switch (dlen) {
	case 32:
		return "SHA256";
	case 48:
		return "SHA384";
	case 64:
		return "SHA512";
	default:
		return NULL;
	}
}

static ECDSA_SIG *tpm_sign_sig(const unsigned char *dgst, int dlen,
			       const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	tpm_key *t = EC_KEY_get_ex_data(ec, tpm_ex_index);
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	const char *md = digest_for(dlen);
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	ECDSA_SIG *sig = NULL;

	/* A caller's precomputed nonce cannot be used by the TPM. */
	if (t == NULL || kinv != NULL || r != NULL || md == NULL) {
		ERR_raise(ERR_LIB_EC, EC_R_OPERATION_NOT_SUPPORTED);
		goto cleanup;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_SIGNATURE_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_pkey(t->libctx, t->key, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init_ex(ctx, params) != 1 ||
	    EVP_PKEY_sign(ctx, NULL, &len, dgst, (size_t)dlen) != 1)
		goto cleanup;
	der = OPENSSL_malloc(len);
	if (der == NULL ||
	    EVP_PKEY_sign(ctx, der, &len, dgst, (size_t)dlen) != 1)
		goto cleanup;
	p = der;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
cleanup:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return sig;
}

static int tpm_sign(int type, const unsigned char *dgst, int dlen,
		    unsigned char *out, unsigned int *outlen,
		    const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	ECDSA_SIG *sig = tpm_sign_sig(dgst, dlen, kinv, r, ec);
	unsigned char *p = out;
	int n;

	(void)type;
	*outlen = 0;
	if (sig == NULL)
		return 0;
	n = i2d_ECDSA_SIG(sig, &p); /* out holds ECDSA_size() bytes */
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return 0;
	*outlen = (unsigned int)n;
	return 1;
}

static void tpm_init(void)
{
	EC_KEY_METHOD *m;

	tpm_ex_index = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, ex_free);
	if (tpm_ex_index < 0)
		return;
	m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
	if (m == NULL)
		return;
	EC_KEY_METHOD_set_sign(m, tpm_sign, NULL, tpm_sign_sig);
	tpm_method = m;
}

/* "tpm2:handle=0x81XXXXXX" → the handle. */
static int parse_source(unsigned long *handle, const char *src)
{
	int rc = ZTP_OK;
	const char *hex = src + strlen(TPM2_PREFIX);
	unsigned long h = 0;
	size_t i;

	ZTP_ENSURE(strncmp(src, TPM2_PREFIX, strlen(TPM2_PREFIX)) == 0,
		   ZTP_EINVAL,
		   "TPM key: source must be tpm2:handle=0x81XXXXXX (a "
		   "persistent handle)");
	for (i = 0; hex[i] != '\0'; i++) {
		int v = ztp__hex_value((unsigned char)hex[i]);

		ZTP_ENSURE(v >= 0 && i < 8, ZTP_EINVAL,
			   "TPM key: the handle must be 8 hexadecimal digits");
		h = h << 4 | (unsigned long)v;
	}
	ZTP_ENSURE(i == 8, ZTP_EINVAL,
		   "TPM key: the handle must be 8 hexadecimal digits");
	ZTP_ENSURE(h >= TPM2_HANDLE_FIRST && h <= TPM2_HANDLE_LAST, ZTP_EINVAL,
		   "TPM key: 0x%08lx is not a persistent handle "
		   "(0x81000000..0x81ffffff)",
		   h);
	*handle = h;
cleanup:
	return rc;
}

/* The key at store URI uri, in libctx. */
static int store_load(EVP_PKEY **out, OSSL_LIB_CTX *libctx, const char *uri)
{
	int rc = ZTP_OK;
	OSSL_STORE_CTX *st = NULL;
	OSSL_STORE_INFO *info = NULL;

	*out = NULL;
	st =
	    OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
	ZTP_ENSURE_OSSL(st != NULL, ZTP_ENOTFOUND, "TPM key: cannot open %s",
			uri);
	while (*out == NULL && !OSSL_STORE_eof(st)) {
		info = OSSL_STORE_load(st);
		if (info == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) {
			*out = OSSL_STORE_INFO_get1_PKEY(info);
			ZTP_ENSURE_OSSL(*out != NULL, ZTP_ENOMEM,
					"TPM key: out of memory");
		}
		OSSL_STORE_INFO_free(info);
		info = NULL;
	}
	ZTP_ENSURE_OSSL(*out != NULL, ZTP_ENOTFOUND, "TPM key: no key at %s",
			uri);
cleanup:
	OSSL_STORE_INFO_free(info);
	OSSL_STORE_close(st);
	return rc;
}

/* A legacy EC key with t's public point whose signatures t makes; takes t
 * (freed on failure too). */
static int wrap(EVP_PKEY **out, tpm_key *t)
{
	int rc = ZTP_OK;
	char group[64];
	unsigned char pub[160];
	size_t glen = 0, plen = 0;
	EC_KEY *ec = NULL;
	EVP_PKEY *pk = NULL;
	int nid;

	*out = NULL;
	ZTP_ENSURE(EVP_PKEY_is_a(t->key, "EC"), ZTP_EUNSUPPORTED,
		   "TPM key: only EC keys (P-256, P-384) are supported, not "
		   "%s",
		   EVP_PKEY_get0_type_name(t->key) != NULL
		       ? EVP_PKEY_get0_type_name(t->key)
		       : "this type");
	ZTP_ENSURE_OSSL(
	    EVP_PKEY_get_group_name(t->key, group, sizeof(group), &glen) == 1,
	    ZTP_ECRYPTO, "TPM key: cannot read the curve");
	nid = OBJ_sn2nid(group);
	ZTP_ENSURE(nid == NID_X9_62_prime256v1 || nid == NID_secp384r1,
		   ZTP_EUNSUPPORTED,
		   "TPM key: curve %s is not supported (P-256, P-384)", group);
	ZTP_ENSURE_OSSL(
	    EVP_PKEY_get_octet_string_param(t->key, OSSL_PKEY_PARAM_PUB_KEY,
					    pub, sizeof(pub), &plen) == 1,
	    ZTP_ECRYPTO, "TPM key: cannot read the public key");
	ec = EC_KEY_new_by_curve_name(nid);
	ZTP_ENSURE_OSSL(ec != NULL, ZTP_ENOMEM, "TPM key: out of memory");
	ZTP_ENSURE_OSSL(EC_KEY_oct2key(ec, pub, plen, NULL) == 1, ZTP_ECRYPTO,
			"TPM key: bad public key");
	ZTP_ENSURE_OSSL(EC_KEY_set_method(ec, tpm_method) == 1, ZTP_ECRYPTO,
			"TPM key: cannot set the key method");
	ZTP_ENSURE_OSSL(EC_KEY_set_ex_data(ec, tpm_ex_index, t) == 1,
			ZTP_ENOMEM, "TPM key: out of memory");
	t = NULL; /* ec owns it now */
	pk = EVP_PKEY_new();
	ZTP_ENSURE_OSSL(pk != NULL, ZTP_ENOMEM, "TPM key: out of memory");
	ZTP_ENSURE_OSSL(EVP_PKEY_assign_EC_KEY(pk, ec) == 1, ZTP_ECRYPTO,
			"TPM key: cannot make the key");
	ec = NULL;
	*out = pk;
	pk = NULL;
cleanup:
	EVP_PKEY_free(pk);
	EC_KEY_free(ec);
	tpm_key_free(t);
	return rc;
}

int ztp__tpm2_key_load(EVP_PKEY **out, const char *src)
{
	int rc = ZTP_OK;
	unsigned long handle = 0;
	char uri[32];
	tpm_key *t = NULL;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(src != NULL);
	ZTP_CHECK(parse_source(&handle, src));
	ZTP_ENSURE(pthread_once(&tpm_once, tpm_init) == 0 && tpm_method != NULL,
		   ZTP_ENOMEM, "TPM key: cannot set up the key method");
	snprintf(uri, sizeof(uri), "handle:0x%08lx", handle);
	t = ztp__calloc(1, sizeof(*t));
	ZTP_ENSURE(t != NULL, ZTP_ENOMEM, "TPM key: out of memory");
	t->libctx = OSSL_LIB_CTX_new();
	ZTP_ENSURE_OSSL(t->libctx != NULL, ZTP_ENOMEM,
			"TPM key: out of memory");
	t->tpm2 = OSSL_PROVIDER_load(t->libctx, "tpm2");
	ZTP_ENSURE_OSSL(t->tpm2 != NULL, ZTP_EUNSUPPORTED,
			"TPM key: the tpm2 OpenSSL provider cannot be loaded "
			"(tpm2-openssl not installed, or no TPM reachable "
			"through TPM2OPENSSL_TCTI or /dev/tpmrm0)");
	t->base = OSSL_PROVIDER_load(t->libctx, "base");
	ZTP_ENSURE_OSSL(t->base != NULL, ZTP_EUNSUPPORTED,
			"TPM key: OpenSSL's base provider cannot be loaded");
	ZTP_CHECK(store_load(&t->key, t->libctx, uri));
	rc = wrap(out, t);
	t = NULL; /* taken by wrap() */
cleanup:
	tpm_key_free(t);
	return rc;
}
