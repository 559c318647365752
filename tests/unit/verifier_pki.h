/* Test PKI for the verifier suite: certificates crafted directly with
 * OpenSSL, including the malformed profiles a real CA would refuse to
 * issue. */
#ifndef ZTP_TEST_VERIFIER_PKI_H
#define ZTP_TEST_VERIFIER_PKI_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

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

/* A CSR signed by key (subject CN given, may be NULL). */
X509_REQ *vpki_csr(EVP_PKEY *key, const char *cn);
char *vpki_csr_pem(X509_REQ *r);

#endif
