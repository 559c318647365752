/*
 * libztp — private to the ca module: the handle and helpers shared by its
 * source files. Never installed; other modules use ca_internal.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_CA_PRIV_H
#define ZTP_CA_PRIV_H

#include <openssl/x509v3.h>

#include <ztp/store.h>

#include "ca/ca_internal.h"

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

#endif /* ZTP_CA_PRIV_H */
