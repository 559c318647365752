/*
 * libztp — fuzz the strict PEM readers: certificates, certificate bundles
 * (factory_chain), CSRs and private keys.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_cert.h"

#include <openssl/err.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

static void csr(const char *pem, size_t len)
{
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	ztp__keypolicy p;
	char *out = NULL;
	X509_REQ *again = NULL;
	int rc = ztp__pem_csr(&req, pem, len);

	FUZZ_ASSERT_RC(rc);
	if (rc != ZTP_OK) {
		FUZZ_ASSERT(req == NULL);
		return;
	}
	ztp__keypolicy_default(&p);
	pub = X509_REQ_get0_pubkey(req);
	if (pub != NULL) {
		FUZZ_ASSERT_RC(ztp__keypolicy_check(&p, pub));
		/* Proof of possession, as the CA checks it. */
		(void)X509_REQ_verify(req, pub);
	}
	rc = ztp__csr_to_pem(&out, req);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		FUZZ_ASSERT(ztp__pem_csr(&again, out, strlen(out)) == ZTP_OK);
		X509_REQ_free(again);
		ztp_free(out);
	}
	X509_REQ_free(req);
	ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *x = NULL;
	STACK_OF(X509) *sk = NULL;
	EVP_PKEY *key = NULL;
	char *pem;
	size_t len;
	int rc, i;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	pem = fuzz_cstr(data + 1, size - 1);
	len = size - 1;
	switch (sel % 5) {
	case 0:
		rc = ztp__pem_cert(&x, pem, len);
		FUZZ_ASSERT_RC(rc);
		FUZZ_ASSERT((rc == ZTP_OK) == (x != NULL));
		if (x != NULL)
			fuzz_cert_inspect(x);
		break;
	case 1:
		rc = ztp__pem_certs(&sk, pem, len, ZTP_CHAIN_MAX);
		FUZZ_ASSERT_RC(rc);
		FUZZ_ASSERT((rc == ZTP_OK) == (sk != NULL));
		if (sk != NULL) {
			FUZZ_ASSERT(sk_X509_num(sk) >= 1 &&
				    sk_X509_num(sk) <= ZTP_CHAIN_MAX);
			for (i = 0; i < sk_X509_num(sk); i++)
				fuzz_cert_inspect(sk_X509_value(sk, i));
		}
		break;
	case 2:
		csr(pem, len);
		break;
	case 3:
	case 4:
		/* Encrypted keys only with a passphrase, so both branches of
		 * the passphrase handling run. */
		rc = ztp__pem_privkey(&key, pem, len,
				      sel % 5 == 4 ? "fuzz" : NULL);
		FUZZ_ASSERT_RC(rc);
		FUZZ_ASSERT((rc == ZTP_OK) == (key != NULL));
		break;
	default:
		break;
	}
	X509_free(x);
	sk_X509_pop_free(sk, X509_free);
	EVP_PKEY_free(key);
	free(pem);
	ERR_clear_error();
	return 0;
}
