/*
 * libztp — fuzz the verifier's request handler, endpoint by endpoint, with
 * a fixed test PKI (tests/unit/verifier_pki.c): a fixed clock and
 * challenge secret keep the committed bootstrap seeds valid, so the whole
 * path (JSON, PEM, chain, registry, CSR, transcript signature, issuance)
 * is reachable.
 *
 * Also the certificate profile check alone (ztp_verifier_check_cert).
 *
 * Oracle: every answer is a well-formed JSON document with a documented
 * status; no request makes the server fail internally (500); a refused
 * request records nothing; an accepted bootstrap records exactly one
 * certificate that names the enrolled device and carries the CSR's key.
 *
 * Seeds: ZTP_FUZZ_WRITE_SEEDS=DIR ./fuzz_verifier -runs=0 writes fresh
 * valid requests into DIR (see fuzz/README.md).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <openssl/err.h>

#include "verifier_pki.h"

static hz_vpki pki;

/* The last entry is not an endpoint: it selects ztp_verifier_check_cert,
 * the certificate profile check on its own. */
static const char *const endpoints[] = {
    "challenge",    "bootstrap",   "register",	"",
    "../bootstrap", "credentials", "check-cert"};

static void setup(void)
{
	if (hz_vpki_init(&pki, "memory:") != ZTP_OK) {
		fprintf(stderr, "verifier set-up: %s\n",
			ztp_error_last_message());
		abort();
	}
}

static void write_seed(const char *dir, const char *name, int ep, int peer,
		       const char *body)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		abort();
	fputc(ep, f);
	fputc(peer, f);
	fputs(body, f);
	fclose(f);
}

static void write_seeds(const char *dir)
{
	char *nonce = NULL, *body = NULL;

	write_seed(dir, "challenge-ok", 0, 0,
		   "{\"device_id\":\"" HZ_VPKI_DEVICE "\"}");
	write_seed(dir, "challenge-peer", 0, 1,
		   "{\"device_id\":\"" HZ_VPKI_DEVICE "\"}");
	write_seed(dir, "challenge-unknown", 0, 0,
		   "{\"device_id\":\"dev-9999\"}");
	write_seed(dir, "challenge-badid", 0, 0, "{\"device_id\":\"a/#\"}");
	write_seed(dir, "challenge-extra", 0, 0,
		   "{\"device_id\":\"dev-0001\",\"x\":1}");
	if (hz_vpki_nonce(&pki, HZ_VPKI_DEVICE, &nonce) != ZTP_OK ||
	    hz_vpki_bootstrap_body(&body, NULL, HZ_VPKI_DEVICE, pki.fkey,
				   HZ_FACTORY_PEM, nonce) != ZTP_OK)
		abort();
	write_seed(dir, "bootstrap-ok", 1, 1, body);
	write_seed(dir, "bootstrap-nopeer", 1, 0, body);
	write_seed(dir, "bootstrap-capeer", 1, 2, body);
	write_seed(dir, "register-ok", 2, 1, body);
	write_seed(dir, "check-factory", 6, 0, HZ_FACTORY_PEM);
	write_seed(dir, "check-factory-hint", 6, 1, HZ_FACTORY_PEM);
	write_seed(dir, "check-ca-as-leaf", 6, 0, HZ_MAKER_ISSUING_PEM);
	ztp_free(body);
	ztp_free(nonce);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *out = getenv("ZTP_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (ztp_init() != ZTP_OK)
		abort();
	setup();
	if (out != NULL)
		write_seeds(out);
	return 0;
}

/* The CSR key of a request, if it has one that parses. */
static EVP_PKEY *request_csr_key(const char *body, size_t len)
{
	json_object *o = NULL;
	const char *csr = NULL;
	size_t clen = 0;
	X509_REQ *r = NULL;
	EVP_PKEY *k = NULL;

	if (ztp__json_parse(&o, body, len, 1 << 20, 0) == ZTP_OK &&
	    ztp__json_str(o, "csr", true, 1 << 20, &csr, &clen) == ZTP_OK &&
	    ztp__pem_csr(&r, csr, clen) == ZTP_OK) {
		k = X509_REQ_get0_pubkey(r);
		if (k != NULL)
			EVP_PKEY_up_ref(k);
	}
	X509_REQ_free(r);
	json_object_put(o);
	return k;
}

static void check_issued(json_object *resp, const char *body, size_t len)
{
	const char *pem = NULL;
	X509 *x = NULL;
	EVP_PKEY *k;
	char id[ZTP_ID_MAX + 1];

	FUZZ_ASSERT(ztp__json_str(resp, "certificate", true, 1 << 20, &pem,
				  NULL) == ZTP_OK);
	FUZZ_ASSERT(ztp__pem_cert(&x, pem, strlen(pem)) == ZTP_OK);
	/* It names the device that proved possession (the only one
	 * enrolled) and certifies the key of the CSR it was sent. */
	FUZZ_ASSERT(ztp__cert_device_id(id, x) == ZTP_OK);
	FUZZ_ASSERT(strcmp(id, HZ_VPKI_DEVICE) == 0);
	k = request_csr_key(body, len);
	FUZZ_ASSERT(k != NULL);
	FUZZ_ASSERT(EVP_PKEY_eq(X509_get0_pubkey(x), k) == 1);
	EVP_PKEY_free(k);
	X509_free(x);
}

/*
 * A registry of its own for each input, freed afterwards: refused
 * requests append events and accepted ones record certificates, and a
 * store that grew from input to input would make every run look like a
 * leak to libFuzzer (and would let one input's state decide another's).
 */
static ztp_store *fresh_store(void)
{
	ztp_store *s = NULL;
	char *code = NULL;

	if (ztp_store_open(&s, "memory:") != ZTP_OK ||
	    ztp_ca_set_store(pki.dca, s) != ZTP_OK ||
	    ztp_verifier_set_store(pki.v, s) != ZTP_OK ||
	    ztp_verifier_enroll(pki.v, &code, HZ_VPKI_DEVICE, HZ_FACTORY_PEM,
				strlen(HZ_FACTORY_PEM), "model-x",
				"batch-1") != ZTP_OK)
		abort();
	ztp_free(code);
	return s;
}

static void drop_store(ztp_store *s)
{
	if (ztp_ca_set_store(pki.dca, pki.store) != ZTP_OK ||
	    ztp_verifier_set_store(pki.v, pki.store) != ZTP_OK)
		abort();
	ztp_store_free(s);
}

static void check_cert(const uint8_t *data, size_t size, bool hint)
{
	char *result = NULL;
	json_object *o = NULL;
	const char *id = NULL, *verdict = NULL;
	size_t idlen = 0;
	int rc;

	rc =
	    ztp_verifier_check_cert(pki.v, &result, (const char *)data, size,
				    hint ? HZ_MAKER_ISSUING_PEM : NULL,
				    hint ? strlen(HZ_MAKER_ISSUING_PEM) : 0, 0);
	FUZZ_ASSERT_RC(rc);
	if (result == NULL) {
		FUZZ_ASSERT(rc != ZTP_OK);
		return;
	}
	FUZZ_ASSERT(ztp__json_parse(&o, result, strlen(result), 1 << 20, 0) ==
		    ZTP_OK);
	FUZZ_ASSERT(ztp__json_str(o, "result", true, 16, &verdict, NULL) ==
		    ZTP_OK);
	if (rc == ZTP_OK) {
		/* Accepted: it names a valid device ID. */
		FUZZ_ASSERT(strcmp(verdict, "accepted") == 0);
		FUZZ_ASSERT(ztp__json_str(o, "device_id", true, ZTP_ID_MAX, &id,
					  &idlen) == ZTP_OK);
		FUZZ_ASSERT(ztp_id_validate(id, idlen) == ZTP_OK);
	} else {
		FUZZ_ASSERT(strcmp(verdict, "rejected") == 0);
	}
	json_object_put(o);
	ztp_free(result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ep, *peer = NULL, *body;
	size_t len, peer_len = 0;
	char *resp = NULL;
	json_object *o = NULL, *err = NULL;
	const char *code = NULL;
	uint64_t before = 0, after = 0;
	ztp_store *store;
	int status = 0, rc;

	if (size < 2)
		return 0;
	if (data[0] % ZTP__ARRAY_LEN(endpoints) ==
	    ZTP__ARRAY_LEN(endpoints) - 1) {
		check_cert(data + 2, size - 2, data[1] % 3 == 1);
		ERR_clear_error();
		return 0;
	}
	store = fresh_store();
	ep = endpoints[data[0] % ZTP__ARRAY_LEN(endpoints)];
	switch (data[1] % 3) {
	case 1:
		peer = HZ_FACTORY_PEM;
		break;
	case 2:
		peer = HZ_MAKER_ISSUING_PEM;
		break;
	default:
		break;
	}
	if (peer != NULL)
		peer_len = strlen(peer);
	body = (const char *)data + 2;
	len = size - 2;

	FUZZ_ASSERT(ztp_store_cert_count(store, &before) == ZTP_OK);
	rc = ztp_verifier_handle(pki.v, &status, &resp, ep,
				 len > 0 ? body : NULL, len, peer, peer_len);
	FUZZ_ASSERT(rc == ZTP_OK);
	FUZZ_ASSERT(resp != NULL);
	FUZZ_ASSERT(status == 200 || status == 400 || status == 401 ||
		    status == 403 || status == 404 || status == 409 ||
		    status == 413 || status == 429 || status == 503);
	FUZZ_ASSERT(ztp__json_parse(&o, resp, strlen(resp), 1 << 20, 0) ==
		    ZTP_OK);
	FUZZ_ASSERT(json_object_is_type(o, json_type_object));
	FUZZ_ASSERT(ztp_store_cert_count(store, &after) == ZTP_OK);
	if (status != 200) {
		FUZZ_ASSERT(ztp__json_object(o, "error", true, &err) == ZTP_OK);
		FUZZ_ASSERT(ztp__json_str(err, "code", true, 64, &code, NULL) ==
			    ZTP_OK);
		FUZZ_ASSERT(code[0] != '\0');
		/* Refused: nothing recorded. */
		FUZZ_ASSERT(after == before);
	} else if (strcmp(ep, "bootstrap") == 0) {
		FUZZ_ASSERT(after == before + 1);
		check_issued(o, body, len);
	} else {
		FUZZ_ASSERT(after == before);
	}
	json_object_put(o);
	ztp_free(resp);
	drop_store(store);
	ERR_clear_error();
	return 0;
}
