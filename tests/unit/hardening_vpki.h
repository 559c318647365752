/*
 * A fixed test PKI and a configured verifier, shared by the hardening
 * suite and the verifier fuzz harness (which compiles hardening_vpki.c
 * directly). The manufacturer keys and certificates are constants so
 * that committed fuzz seeds stay valid: they protect nothing. No Check
 * dependency: functions return ztp status codes.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_HARDENING_VPKI_H
#define ZTP_HARDENING_VPKI_H

#include "core/internal.h"

#include <ztp/ca.h>
#include <ztp/store.h>
#include <ztp/verifier.h>

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
