/*
 * The test PKI of the verifier suites, in two parts.
 *
 * vpki_*: certificates crafted directly with OpenSSL, including the
 * malformed profiles a real CA would refuse to issue. These abort on
 * failure (test set-up, not code under test).
 *
 * hz_vpki_*: a fixed PKI and a configured verifier, shared by the
 * hardening suite and the verifier fuzz harnesses (which compile
 * verifier_pki.c directly). The manufacturer keys and certificates are
 * constants so that committed fuzz seeds stay valid: they protect
 * nothing. These return ztp status codes, so that allocation-failure
 * sweeps can run through them. No Check dependency in either part.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_TEST_VERIFIER_PKI_H
#define ZTP_TEST_VERIFIER_PKI_H

#include "core/internal.h"

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ztp/ca.h>
#include <ztp/store.h>
#include <ztp/verifier.h>

typedef struct vpki_cert_opts {
	const char *cn;	 /* subject CN, NULL for none */
	const char *san; /* subjectAltName value (config syntax) or NULL */
	const char *bc;	 /* basicConstraints value or NULL (absent) */
	const char *ku;	 /* keyUsage value or NULL (absent) */
	const char *eku; /* extendedKeyUsage value or NULL (absent) */
	int64_t not_before, not_after;
	int version; /* 0 → v3 */
} vpki_cert_opts;

/* A fresh key: "ec-p256", "ec-p384", "ed25519", "rsa-1024", "rsa-2048",
 * "ec-p224". */
EVP_PKEY *vpki_key(const char *type);

/* Sign a certificate for `key` with issuer (cert, key); issuer NULL makes
 * it self-signed. Adds subject/authority key identifiers. */
X509 *vpki_cert(const vpki_cert_opts *o, EVP_PKEY *key, X509 *issuer,
		EVP_PKEY *issuer_key);

/* Convenience: a CA (CA:TRUE, keyCertSign/cRLSign) and a device leaf
 * (CA:FALSE, digitalSignature, clientAuth) valid over [nb, na]. */
X509 *vpki_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
	      int64_t nb, int64_t na);
X509 *vpki_leaf(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
		int64_t nb, int64_t na);

/* PEM of one or several certificates (malloc'd, NUL-terminated). */
char *vpki_pem(X509 *c);
char *vpki_pem2(X509 *a, X509 *b);
char *vpki_key_pem(EVP_PKEY *k);

/* A device CA (a fresh "/CN=Device CA" root) recording into a new memory:
 * store, both on the fixed clock *clk (which must outlive them). Its PEMs
 * go to *cert_pem and *key_pem when those are not NULL (free with
 * ztp_free()). */
ztp_ca *vpki_device_ca(ztp_store **store, int64_t *clk, char **cert_pem,
		       char **key_pem);

/* A CSR signed by key (subject CN given, may be NULL). */
X509_REQ *vpki_csr(EVP_PKEY *key, const char *cn);
char *vpki_csr_pem(X509_REQ *r);

/* The fixed PKI. */

/* 2027-06-01T00:00:00Z: the fixed certificates are valid then. */
#define HZ_VPKI_NOW INT64_C(1811808000)
#define HZ_VPKI_DEVICE "dev-0001"

extern const char HZ_MAKER_ROOT_PEM[];
extern const char HZ_MAKER_ISSUING_PEM[];
extern const char HZ_FACTORY_PEM[]; /* names HZ_VPKI_DEVICE */
extern const char HZ_FACTORY_KEY_PEM[];
/* The fixed 32-byte challenge secret. */
extern const uint8_t HZ_VPKI_SECRET[32];

typedef struct hz_vpki {
	int64_t clock;	  /* the verifier's and device CA's fixed clock */
	ztp_store *store; /* registry */
	ztp_ca *dca;	  /* device CA, records into store */
	ztp_ca *maker;	  /* manufacturer issuing CA (for more devices) */
	ztp_store *maker_store;
	ztp_verifier *v;
	EVP_PKEY *fkey; /* factory key of HZ_VPKI_DEVICE */
} hz_vpki;

/* store_uri: "memory:" or "sqlite:PATH". Enrolls HZ_VPKI_DEVICE. */
int hz_vpki_init(hz_vpki *p, const char *store_uri);
void hz_vpki_free(hz_vpki *p);

/* Another enrolled device: a fresh factory key and certificate from the
 * manufacturer's issuing CA. *key and *cert_pem are the caller's. */
int hz_vpki_add_device(hz_vpki *p, const char *id, EVP_PKEY **key,
		       char **cert_pem);

/* A challenge for id through ztp_verifier_handle (*nonce: ztp_free). */
int hz_vpki_nonce(hz_vpki *p, const char *id, char **nonce);

/*
 * A complete bootstrap request for id (factory key fkey, certificate
 * cert_pem) over nonce, with a fresh P-256 CSR key. *body is ztp_free'd;
 * csr_key (may be NULL) receives the CSR's key.
 */
int hz_vpki_bootstrap_body(char **body, EVP_PKEY **csr_key, const char *id,
			   EVP_PKEY *fkey, const char *cert_pem,
			   const char *nonce);

#endif
