/*
 * libztp — private header of the ca module: the internals shared with the
 * verifier, then the handle and the helpers of the module's own source
 * files. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_CA_INTERNAL_H
#define ZTP_CA_INTERNAL_H

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ztp/ca.h>
#include <ztp/store.h>

#include "core/internal.h"

/*
 * Issue from an already parsed request, so that a caller that has parsed
 * and inspected the CSR does not pay for parsing it twice.
 *
 * req      the request whose self-signature is checked with req_pub; pass
 *          NULL only when the caller has itself established possession of
 *          the private key (then req_pub is required). Either way costs
 *          the same but for that signature check.
 * req_pub  the public key to certify; NULL takes it from req. Borrowed.
 * out_cert the signed certificate (X509_free), set only on success, after
 *          it has been recorded in the store. For EC and Ed25519 keys the
 *          certificate holds the public key encoded but not decoded:
 *          X509_get0_pubkey() on it fails (the key is req_pub; re-parse
 *          the DER if a key object is needed). Encoding it (i2d_X509,
 *          PEM) works as usual.
 * serial_hex_out  receives the lowercase hex serial (NUL-terminated); may
 *          be NULL.
 * not_after_out   may be NULL.
 *
 * Same checks, codes and thread safety as ztp_ca_issue().
 */
int ztp__ca_issue_req(ztp_ca *ca, X509 **out_cert,
		      char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		      int64_t *not_after_out, X509_REQ *req, EVP_PKEY *req_pub,
		      const char *device_id, const char *tenant,
		      const char *profile, int64_t lifetime);

/* ztp__ca_issue_req() without the request (the caller has established
 * possession of req_pub's private key), also handing back the signed
 * certificate's DER (der_out, ztp_free; may be NULL): it is encoded once,
 * for the store's fingerprint and for the caller's answer. */
int ztp__ca_issue_der(ztp_ca *ca, X509 **out_cert, uint8_t **der_out,
		      size_t *der_len,
		      char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		      int64_t *not_after_out, EVP_PKEY *req_pub,
		      const char *device_id, const char *tenant,
		      const char *profile, int64_t lifetime);

/* PEM of a DER certificate, in PEM_write_bio_X509()'s layout (64-column
 * lines); *out is NUL-terminated, freed with ztp_free. */
int ztp__ca_der_to_pem(char **out, const uint8_t *der, size_t len);

/* PEM of the CA's certificate (i == 0) and of its chain certificates
 * (1..): borrowed for the life of the handle; NULL past the end or when
 * not loaded. */
const char *ztp__ca_pem(const ztp_ca *ca, size_t i);

/* The CA's certificate and chain (NULL when not loaded / no chain);
 * borrowed for the life of the handle, to be used read-only. */
X509 *ztp__ca_cert(const ztp_ca *ca);
STACK_OF(X509) * ztp__ca_chain(const ztp_ca *ca);

/* The CA key's type name ("ec-p256", "ec-p384", "ed25519", "rsa-3072"…),
 * or "" when not loaded. Borrowed for the life of the handle. */
const char *ztp__ca_key_type(const ztp_ca *ca);

/* Parse a DN in slash form ("/O=Acme/CN=Acme Root") or RFC 4514 form
 * ("CN=Acme Root,O=Acme"), see <ztp/ca.h>. */
int ztp__ca_dn_parse(X509_NAME **out, const char *dn);

/* RFC 5280 ub-common-name. */
#define ZTP__CA_CN_MAX 64

/* The names document of a server certificate ({"dns": [...], "ip":
 * [...]}, see ztp_ca_issue_server()) as the SAN (*san, GENERAL_NAMES_free)
 * and the subject CN to go with it ("" for none: the first DNS name of at
 * most 64 characters, else the first address). */
int ztp__ca_server_names(GENERAL_NAMES **san, char cn[ZTP__CA_CN_MAX + 1],
			 const char *names_json);

/* Test hook: replace the random source of serial numbers (fn fills len
 * bytes and returns 0, or a negative ztp code). NULL restores RAND_bytes.
 * Configuration call. */
typedef int (*ztp__ca_rand_fn)(uint8_t *buf, size_t len, void *ctx);
void ztp__ca_set_serial_source(ztp_ca *ca, ztp__ca_rand_fn fn, void *ctx);

/* Attempts at a fresh serial before giving up with ZTP_EEXISTS. */
#define ZTP__CA_SERIAL_ATTEMPTS 4
/* Random octets in a serial: 17 octets with the top bit cleared and the
 * next one set, i.e. 135 bits of which 134 random, always positive and
 * always encoded in 17 octets. */
#define ZTP__CA_SERIAL_OCTETS 17

/* ------------------------------------------------------------------
 * The handle and the helpers shared by the ca module's own source files.
 */
struct ztp_ca {
	/* Set once by ztp_ca_load(), then only read. */
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain;
	X509_NAME *name;	/* subject, pre-encoded for concurrent use */
	ASN1_OCTET_STRING *ski; /* becomes the AKI of what the CA signs */
	/* Store counter of CRL numbers: "crl-" and the SKI in hex (its
	 * first 30 octets: counter names are identifiers of at most 64
	 * characters). */
	char crl_counter[ZTP_ID_MAX + 1];
	/* The SKI in hex, the issuer of every certificate the CA records:
	 * its CRL lists the revocations of those only. */
	char key_id[ZTP_STORE_ISSUER_MAX + 1];
	const EVP_MD *md; /* NULL for Ed25519 */
	char key_type[32];
	int64_t not_before, not_after;
	long pathlen; /* -1: unconstrained */
	bool can_sign_crl;
	bool key_in_token; /* key is a pkcs11: key source: the token signs */
	/* PEM of cert, then of each chain certificate, encoded at load: a
	 * response carries them with every issued certificate. */
	char **pems;
	size_t n_pems;

	/* Configuration. */
	ztp_store *store; /* borrowed */
	ztp__clock clock;
	ztp__keypolicy policy;
	ztp__ca_rand_fn rand_fn;
	void *rand_ctx;
};

/* The digest for a signing key (NULL for Ed25519) and its type name;
 * ZTP_EKEYPOLICY for keys that cannot sign certificates. */
int ztp__ca_md_for_key(const EVP_MD **md, char type[32], EVP_PKEY *key);
/* A fresh random serial (see ZTP__CA_SERIAL_OCTETS) and its hex form. */
int ztp__ca_serial(const ztp_ca *ca, ASN1_INTEGER **out,
		   char hex[ZTP_CA_SERIAL_HEX_MAX + 1]);
/* Lowercase, leading zeros stripped, 1..40 digits, not zero. */
int ztp__ca_serial_normalize(char out[ZTP_CA_SERIAL_HEX_MAX + 1],
			     const char *in);
/* RFC 5280 key identifier (SHA-1 of the subjectPublicKey bits). */
int ztp__ca_key_id(ASN1_OCTET_STRING **out, X509_PUBKEY *pub);

/* What one leaf certificate says beyond what every leaf says. */
typedef struct ztp__ca_leaf {
	const char *profile;	   /* a profile name */
	const char *record_device; /* device the record names, or NULL */
	const char *cn;		   /* the subject's only CN; NULL: empty */
	GENERAL_NAMES *san;	   /* borrowed, not empty */
} ztp__ca_leaf;

/* Issue a leaf under leaf->profile (its lifetime bounds, EKU and record),
 * see ztp__ca_issue_req() for the other arguments. An empty subject makes
 * the SAN critical (RFC 5280 4.2.1.6). */
int ztp__ca_issue_leaf(ztp_ca *ca, X509 **out_cert, uint8_t **der_out,
		       size_t *der_len,
		       char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		       int64_t *not_after_out, X509_REQ *req, EVP_PKEY *req_pub,
		       const ztp__ca_leaf *leaf, int64_t lifetime);

#endif /* ZTP_CA_INTERNAL_H */
