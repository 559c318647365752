/*
 * libztp — key sources: one reference to a private key, whatever holds
 * it, turned into an EVP_PKEY that OpenSSL signs with (X509_sign,
 * X509_CRL_sign, EVP_DigestSign, SSL_CTX_use_PrivateKey). The CA and the
 * device both use it (DESIGN.md §7), so a token works the same for
 * issuance, CRL signing, transcript signatures and TLS client
 * authentication. Never installed. doc/HSM.md describes the design.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A key source is one of
 *
 *   PATH, file:PATH, file:///PATH   a PEM private key (PKCS#8, possibly
 *                                   encrypted, or traditional EC/RSA)
 *   pkcs11:…                        an RFC 7512 URI naming a private key
 *                                   in a PKCS#11 token
 *   tpm2:handle=0x81XXXXXX          an EC key at a persistent handle of a
 *                                   TPM 2.0 (keytpm2.c; pass unused)
 *
 * Token keys never leave the token: the EVP_PKEY holds the public half
 * and a handle; every signature is a C_Sign in the token, on a session
 * lent by libp11's per-slot session pool. Such an EVP_PKEY may be used
 * from many threads at once and stays valid for the life of the process
 * (a module, once loaded, is never unloaded, and the libp11 context that
 * gave out a key is kept: an SSL_CTX or a CA handle may still hold a
 * reference to one of its keys). A failed signature by a token key is
 * reported with ztp__keysrc_sign_error(). pkcs11.c says how contexts,
 * sessions and PINs are shared.
 *
 * Errors common to the functions below:
 *   ZTP_EINVAL        a source that is neither a path nor a URI, a URI that
 *                     names no key (no object= or id=), type= other than
 *                     private, ambiguous (several keys match)
 *   ZTP_EPARSE        a malformed pkcs11: URI
 *   ZTP_ETOOBIG       a URI, attribute or file over its limit
 *   ZTP_EUNSUPPORTED  a URI attribute this version cannot honour
 *                     (module-name, library-version), a key type a token
 *                     cannot generate here, or a build without PKCS#11
 *   ZTP_ENOTFOUND     no key object matches in the token
 *   ZTP_ETOKEN        the module does not exist or does not load, no token
 *                     matches, the token is gone or failed
 *   ZTP_EPIN          the token refused the PIN (wrong, locked, expired),
 *                     or a PIN other than the one this process logged in
 *                     to the token with
 */
#ifndef ZTP_CORE_KEYSRC_H
#define ZTP_CORE_KEYSRC_H

#include "core/internal.h"

/* Whether src is a pkcs11: URI (the scheme compared without case). */
bool ztp__keysrc_is_pkcs11(const char *src);

/*
 * The private key named by src, as *out (EVP_PKEY_free).
 *
 * pass  the PEM passphrase of a file key (NULL: unencrypted); for a token
 *       key the PIN when the URI carries neither pin-value nor
 *       pin-source (NULL: none, which a token that wants a login refuses
 *       with ZTP_EPIN, even when the process is logged in already).
 * what  names the key in error details ("CA key", "factory key").
 *
 * The module of a token key is the URI's module-path, else the
 * environment's ZTP_PKCS11_MODULE, else the one configure chose
 * (ZTP__PKCS11_DEFAULT_MODULE; see doc/HSM.md). Thread-safe.
 */
int ztp__keysrc_load(EVP_PKEY **out, const char *src, const char *pass,
		     const char *what);

/*
 * Generate a key pair in the token that uri names, labelled with the
 * URI's object= and identified by its id= (a random 16-byte id when it
 * has none): the private key token-resident, private, sensitive, never
 * extractable, CKA_SIGN only; the public key CKA_VERIFY. type is one of
 * "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096". *out (may be
 * NULL) receives the new key as ztp__keysrc_load() would give it.
 * ZTP_EEXISTS when a private key already matches uri (nothing created).
 * Thread-safe.
 */
int ztp__keysrc_generate(EVP_PKEY **out, const char *uri, const char *pass,
			 const char *type);

/*
 * Destroy every private and public key object that uri names (object=
 * and/or id= required). *n_deleted (may be NULL) receives how many;
 * ZTP_ENOTFOUND when none matched. An EVP_PKEY of a destroyed key fails
 * to sign from then on. Thread-safe.
 */
int ztp__keysrc_delete(const char *uri, const char *pass, unsigned *n_deleted);

/*
 * The error for a failed signature by key: ZTP_ETOKEN with the token's
 * reason when in_token (the token is gone or refused), else ZTP_ECRYPTO.
 * what names the operation ("certificate signature").
 */
int ztp__keysrc_sign_error(bool in_token, const char *what);

/* ------------------------------------------------------------------
 * RFC 7512 URIs (keysrc.c), exposed for the fuzz target and the tests. */

#define ZTP__P11_URI_MAX 4096	    /* whole URI, bytes */
#define ZTP__P11_VALUE_MAX 1024	    /* one decoded attribute value */
#define ZTP__P11_ID_MAX 255	    /* CKA_ID, bytes */
#define ZTP__P11_TOKEN_FIELD_MAX 32 /* token, manufacturer, model */
#define ZTP__P11_SERIAL_MAX 16	    /* serial */
#define ZTP__P11_PIN_MAX 256	    /* pin-value, a pin-source file */

typedef enum ztp__p11_type {
	ZTP__P11_TYPE_ANY = 0,
	ZTP__P11_TYPE_PRIVATE,
	ZTP__P11_TYPE_PUBLIC,
	ZTP__P11_TYPE_CERT,
	ZTP__P11_TYPE_SECRET_KEY,
	ZTP__P11_TYPE_DATA
} ztp__p11_type;

typedef struct ztp__p11_uri {
	/* Token selection; NULL matches any. */
	char *token, *manufacturer, *model, *serial;
	char *library_manufacturer, *library_description;
	/* Object selection. */
	char *object;  /* CKA_LABEL; NULL: any */
	uint8_t *id;   /* CKA_ID; NULL: any */
	size_t id_len; /* 1..ZTP__P11_ID_MAX when id is set */
	ztp__p11_type type;
	/* Query attributes. */
	char *pin_value;  /* a secret: wiped by ztp__p11_uri_free */
	char *pin_source; /* as written: "file:PATH" or an absolute path */
	char *module_path;
} ztp__p11_uri;

/*
 * Parse s[0..len): "pkcs11:" (any case), path attributes separated by
 * ';', optionally '?' and query attributes separated by '&'; values
 * percent-decoded (%XX, either case), and made of printable ASCII
 * otherwise. Every attribute at most once; unknown ones refused
 * (ZTP_EPARSE) except vendor attributes "x-…", which are ignored; values
 * other than id= may not decode to NUL. On failure *u is all NULL.
 */
int ztp__p11_uri_parse(ztp__p11_uri *u, const char *s, size_t len);
void ztp__p11_uri_free(ztp__p11_uri *u);

/* ------------------------------------------------------------------
 * The token layer (pkcs11.c); ztp__keysrc_* call these. */

int ztp__p11_load(EVP_PKEY **out, const ztp__p11_uri *u, const char *pin,
		  const char *what);
int ztp__p11_generate(EVP_PKEY **out, const ztp__p11_uri *u, const char *pin,
		      const char *type);
int ztp__p11_delete(const ztp__p11_uri *u, const char *pin,
		    unsigned *n_deleted);

#endif /* ZTP_CORE_KEYSRC_H */
