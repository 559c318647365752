/*
 * libztp — fuzz the OCSP responder (ztp_verifier_ocsp) with the fixed test
 * PKI of tests/unit/verifier_pki.c. The input is the DER request as a
 * client would POST it.
 *
 * Oracle: every input gets a DER OCSPResponse that OpenSSL reads back
 * whole, with one of the statuses the API documents; a successful one
 * holds a BasicOCSPResponse that verifies with the device CA's key, with
 * exactly as many single responses as the request asked about, none of
 * them good (the registry of the harness records no certificate of the
 * device CA). The store is not written: its certificate count stays.
 *
 * Seeds: ZTP_FUZZ_WRITE_SEEDS=DIR ./fuzz_ocsp -runs=0 writes requests
 * built with OpenSSL into DIR (see fuzz/README.md).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>

#include "ca/internal.h"
#include "verifier_pki.h"

static hz_vpki pki;
static X509_STORE *ca_store;

/* A request about n serials of the device CA (or of the manufacturer's
 * issuing CA when other is true), hashed with md, with a nonce of
 * nonce_len octets (0: none). */
static void write_request(const char *dir, const char *name, int n,
			  const EVP_MD *md, bool other, int nonce_len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	X509 *issuer = NULL;
	unsigned char *der = NULL, nonce[64];
	char path[4096];
	FILE *f;
	int len;

	if (req == NULL)
		abort();
	if (other) {
		if (ztp__pem_cert(&issuer, HZ_MAKER_ISSUING_PEM,
				  strlen(HZ_MAKER_ISSUING_PEM)) != ZTP_OK)
			abort();
	} else {
		issuer = ztp__ca_cert(pki.dca);
		X509_up_ref(issuer);
	}
	for (int i = 0; i < n; i++) {
		ASN1_INTEGER *serial = ASN1_INTEGER_new();
		OCSP_CERTID *id;

		if (serial == NULL || ASN1_INTEGER_set(serial, 0x1000 + i) != 1)
			abort();
		id = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
				      X509_get0_pubkey_bitstr(issuer), serial);
		ASN1_INTEGER_free(serial);
		if (id == NULL || OCSP_request_add0_id(req, id) == NULL)
			abort();
	}
	if (nonce_len > 0) {
		memset(nonce, 0x5a, sizeof(nonce));
		if (OCSP_request_add1_nonce(req, nonce, nonce_len) != 1)
			abort();
	}
	len = i2d_OCSP_REQUEST(req, &der);
	if (len <= 0)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(der, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	OPENSSL_free(der);
	X509_free(issuer);
	OCSP_REQUEST_free(req);
}

static void write_seeds(const char *dir)
{
	write_request(dir, "one-sha1", 1, EVP_sha1(), false, 0);
	write_request(dir, "one-sha256-nonce", 1, EVP_sha256(), false, 16);
	write_request(dir, "three-nonce32", 3, EVP_sha1(), false, 32);
	write_request(dir, "nonce-too-long", 1, EVP_sha1(), false, 33);
	write_request(dir, "seventeen", 17, EVP_sha1(), false, 0);
	write_request(dir, "other-issuer", 1, EVP_sha1(), true, 8);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *out = getenv("ZTP_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (ztp_init() != ZTP_OK || hz_vpki_init(&pki, "memory:") != ZTP_OK) {
		fprintf(stderr, "ocsp set-up: %s\n", ztp_error_last_message());
		abort();
	}
	ca_store = X509_STORE_new();
	if (ca_store == NULL ||
	    X509_STORE_add_cert(ca_store, ztp__ca_cert(pki.dca)) != 1)
		abort();
	if (out != NULL)
		write_seeds(out);
	return 0;
}

static void check_basic(OCSP_RESPONSE *resp, const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)size);
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	STACK_OF(X509) *signer = sk_X509_new_null();

	/* Only a request that reads whole is answered. */
	FUZZ_ASSERT(req != NULL && p == data + size);
	FUZZ_ASSERT(bs != NULL && signer != NULL);
	FUZZ_ASSERT(sk_X509_push(signer, ztp__ca_cert(pki.dca)) > 0);
	FUZZ_ASSERT(OCSP_basic_verify(bs, signer, ca_store, OCSP_TRUSTOTHER) ==
		    1);
	FUZZ_ASSERT(OCSP_resp_count(bs) == OCSP_request_onereq_count(req));
	for (int i = 0; i < OCSP_resp_count(bs); i++) {
		int reason;
		int st = OCSP_single_get0_status(OCSP_resp_get0(bs, i), &reason,
						 NULL, NULL, NULL);

		FUZZ_ASSERT(st == V_OCSP_CERTSTATUS_UNKNOWN);
	}
	FUZZ_ASSERT(OCSP_check_nonce(req, bs) > 0);
	sk_X509_free(signer);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	uint64_t before = 0, after = 0;
	int st;

	FUZZ_ASSERT(ztp_store_cert_count(pki.store, &before) == ZTP_OK);
	FUZZ_ASSERT(ztp_verifier_ocsp(pki.v, &der, &len, size > 0 ? data : NULL,
				      size) == ZTP_OK);
	FUZZ_ASSERT(der != NULL && len > 0);
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	FUZZ_ASSERT(resp != NULL && p == der + len);
	st = OCSP_response_status(resp);
	FUZZ_ASSERT(st == OCSP_RESPONSE_STATUS_SUCCESSFUL ||
		    st == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST ||
		    st == OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	if (st == OCSP_RESPONSE_STATUS_SUCCESSFUL)
		check_basic(resp, data, size);
	else
		FUZZ_ASSERT(OCSP_response_get1_basic(resp) == NULL);
	FUZZ_ASSERT(ztp_store_cert_count(pki.store, &after) == ZTP_OK);
	FUZZ_ASSERT(after == before);
	OCSP_RESPONSE_free(resp);
	ztp_free(der);
	ERR_clear_error();
	return 0;
}
