/*
 * libztp — what every certificate harness does with a parsed certificate:
 * everything the verifier and the policy engine read from one.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_FUZZ_CERT_H
#define ZTP_FUZZ_CERT_H

#include "fuzz.h"

#include <openssl/err.h>
#include <openssl/x509.h>

static inline void fuzz_cert_inspect(X509 *x)
{
	char id[ZTP_ID_MAX + 1], pem_id[ZTP_ID_MAX + 1];
	uint8_t fp[32], fp2[32];
	char desc[64];
	char *pem = NULL;
	X509 *again = NULL;
	EVP_PKEY *pub;
	int64_t t;
	int rc, rc2;

	rc = ztp__cert_device_id(id, x);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK)
		FUZZ_ASSERT(ztp_id_validate(id, strlen(id)) == ZTP_OK);
	else
		FUZZ_ASSERT(id[0] == '\0' || rc != ZTP_OK);
	rc = ztp__cert_san_id(pem_id, x, ZTP_URN_TENANT);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK)
		FUZZ_ASSERT(ztp_id_validate(pem_id, strlen(pem_id)) == ZTP_OK);
	FUZZ_ASSERT_RC(ztp__cert_san_id(pem_id, x, ZTP_URN_DEVICE));
	FUZZ_ASSERT_RC(ztp__asn1_time(&t, X509_get0_notBefore(x)));
	FUZZ_ASSERT_RC(ztp__asn1_time(&t, X509_get0_notAfter(x)));
	pub = X509_get0_pubkey(x);
	if (pub != NULL) {
		ztp__keypolicy p;

		ztp__keypolicy_default(&p);
		FUZZ_ASSERT_RC(ztp__keypolicy_check(&p, pub));
		FUZZ_ASSERT_RC(ztp__key_describe(desc, sizeof(desc), pub));
		FUZZ_ASSERT_RC(ztp__pubkey_fingerprint(fp, pub));
	}
	/* Re-encoding a certificate the parser accepted gives back the same
	 * certificate: the fingerprint the registry stores is stable. */
	rc = ztp__cert_to_pem(&pem, x);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		rc2 = ztp__pem_cert(&again, pem, strlen(pem));
		FUZZ_ASSERT(rc2 == ZTP_OK);
		FUZZ_ASSERT(ztp__cert_fingerprint(fp, x) == ZTP_OK);
		FUZZ_ASSERT(ztp__cert_fingerprint(fp2, again) == ZTP_OK);
		FUZZ_ASSERT(memcmp(fp, fp2, sizeof(fp)) == 0);
		X509_free(again);
		ztp_free(pem);
	}
	ERR_clear_error();
}

#endif
