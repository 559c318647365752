/*
 * The test PKI of the verifier suites (see verifier_pki.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "verifier_pki.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static void die(const char *what)
{
	fprintf(stderr, "verifier_pki: %s failed\n", what);
	abort();
}

EVP_PKEY *vpki_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (strcmp(type, "ec-p256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec-p384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "ec-p224") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
	else if (strcmp(type, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(type, "rsa-1024") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(type, "rsa-2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (k == NULL)
		die(type);
	return k;
}

static void add_ext(X509 *c, X509V3_CTX *ctx, int nid, const char *val)
{
	X509_EXTENSION *e;

	if (val == NULL)
		return;
	e = X509V3_EXT_conf_nid(NULL, ctx, nid, val);
	if (e == NULL || !X509_add_ext(c, e, -1))
		die("extension");
	X509_EXTENSION_free(e);
}

static const EVP_MD *md_for(EVP_PKEY *k)
{
	return EVP_PKEY_get_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

X509 *vpki_cert(const vpki_cert_opts *o, EVP_PKEY *key, X509 *issuer,
		EVP_PKEY *issuer_key)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	X509V3_CTX ctx;

	if (c == NULL || n == NULL || bn == NULL)
		die("alloc");
	X509_set_version(c, o->version ? o->version - 1 : X509_VERSION_3);
	if (!BN_rand(bn, 120, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)))
		die("serial");
	if (o->cn != NULL && !X509_NAME_add_entry_by_txt(
				 n, "CN", MBSTRING_UTF8,
				 (const unsigned char *)o->cn, -1, -1, 0))
		die("name");
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
					(const unsigned char *)"Test", -1, -1,
					0))
		die("name");
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	if (!ASN1_TIME_set(X509_getm_notBefore(c), (time_t)o->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(c), (time_t)o->not_after))
		die("time");
	X509_set_pubkey(c, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
	add_ext(c, &ctx, NID_basic_constraints, o->bc);
	add_ext(c, &ctx, NID_key_usage, o->ku);
	add_ext(c, &ctx, NID_ext_key_usage, o->eku);
	add_ext(c, &ctx, NID_subject_alt_name, o->san);
	add_ext(c, &ctx, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(c, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!X509_sign(c, issuer_key ? issuer_key : key,
		       md_for(issuer_key ? issuer_key : key)))
		die("sign");
	X509_NAME_free(n);
	BN_free(bn);
	return c;
}

X509 *vpki_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
	      int64_t nb, int64_t na)
{
	vpki_cert_opts o = {.cn = cn,
			    .bc = "critical,CA:TRUE",
			    .ku = "critical,keyCertSign,cRLSign",
			    .not_before = nb,
			    .not_after = na};

	return vpki_cert(&o, key, issuer, ikey);
}

X509 *vpki_leaf(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
		int64_t nb, int64_t na)
{
	vpki_cert_opts o = {.cn = cn,
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = nb,
			    .not_after = na};

	return vpki_cert(&o, key, issuer, ikey);
}

static char *bio_string(BIO *b)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	out = malloc((size_t)n + 1);
	if (out == NULL)
		die("alloc");
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

char *vpki_pem(X509 *c)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || !PEM_write_bio_X509(b, c))
		die("pem");
	return bio_string(b);
}

char *vpki_pem2(X509 *a, X509 *c)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || !PEM_write_bio_X509(b, a) || !PEM_write_bio_X509(b, c))
		die("pem");
	return bio_string(b);
}

char *vpki_key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		die("pem");
	return bio_string(b);
}

X509_REQ *vpki_csr(EVP_PKEY *key, const char *cn)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();

	if (r == NULL || n == NULL)
		die("alloc");
	if (cn != NULL &&
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0))
		die("name");
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, key);
	if (!X509_REQ_sign(r, key, md_for(key)))
		die("csr sign");
	X509_NAME_free(n);
	return r;
}

char *vpki_csr_pem(X509_REQ *r)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || !PEM_write_bio_X509_REQ(b, r))
		die("pem");
	return bio_string(b);
}

ztp_ca *vpki_device_ca(ztp_store **store, int64_t *clk, char **cert_pem,
		       char **key_pem)
{
	char *cpem = NULL, *kpem = NULL;
	ztp_ca *ca = NULL;

	if (ztp_store_open(store, "memory:") != ZTP_OK ||
	    ztp_store_set_clock(*store, ztp_clock_fixed, clk) != ZTP_OK ||
	    ztp_ca_create_root(&cpem, &kpem, "/CN=Device CA", NULL, 3650) !=
		ZTP_OK ||
	    ztp_ca_new(&ca) != ZTP_OK ||
	    ztp_ca_load(ca, cpem, kpem, NULL, NULL) != ZTP_OK ||
	    ztp_ca_set_store(ca, *store) != ZTP_OK ||
	    ztp_ca_set_clock(ca, ztp_clock_fixed, clk) != ZTP_OK)
		die("device CA");
	if (cert_pem != NULL)
		*cert_pem = cpem;
	else
		ztp_free(cpem);
	if (key_pem != NULL)
		*key_pem = kpem;
	else
		ztp__free_secret(kpem, strlen(kpem));
	return ca;
}

/* The fixed PKI. */

/* Generated once with the openssl CLI; P-256 throughout. */
const char HZ_MAKER_ROOT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmTCCAT+gAwIBAgIUbYr5eamqgwgaZVF6TXYNbw4b8dwwCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPRnV6eiBNYWtlciBSb290MB4XDTI2MTEyNzIyNTkwNVoXDTQ2\n"
    "MTEyMjIyNTkwNVowGjEYMBYGA1UEAwwPRnV6eiBNYWtlciBSb290MFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAEpV+2NO0A9sQD9sjCLYqoSSh+Vcd6GtJV+fQ50rCt\n"
    "A/KLpwl5kXjWIVLgb3Fm+IhKLhey28WjwF9kbeGdb34lHKNjMGEwHQYDVR0OBBYE\n"
    "FKYZIEB2ccPjbEpGWDs/uuWFwZscMB8GA1UdIwQYMBaAFKYZIEB2ccPjbEpGWDs/\n"
    "uuWFwZscMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49\n"
    "BAMCA0gAMEUCIQD+6glUSMu6RuWCV5fkrunI5NS3coiRUy2julkyIh8hNQIga0Af\n"
    "UKqhQuj9W/4L88rjvYNk+YByKs3YnSKU5UQT2kg=\n"
    "-----END CERTIFICATE-----\n";

const char HZ_MAKER_ISSUING_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnzCCAUWgAwIBAgIUApleTMQzq8bY8++KeHBBv3PHNy4wCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPRnV6eiBNYWtlciBSb290MB4XDTI2MTEyNzIyNTkwNVoXDTQ2\n"
    "MDEyNjIyNTkwNVowHTEbMBkGA1UEAwwSRnV6eiBNYWtlciBJc3N1aW5nMFkwEwYH\n"
    "KoZIzj0CAQYIKoZIzj0DAQcDQgAEVcaq5WGnYkGS9v1SxYeDxLP4z9Gy6Nm+WC5n\n"
    "7yMdFT9JUCuZn8lcYV+q8sFcXwFPtScLOsrXaqJKk3tBkjZ9MaNmMGQwEgYDVR0T\n"
    "AQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFEEuyp5IJovQ\n"
    "ezGgyrgLqv+D5F01MB8GA1UdIwQYMBaAFKYZIEB2ccPjbEpGWDs/uuWFwZscMAoG\n"
    "CCqGSM49BAMCA0gAMEUCIHb0sQWlbc8D9oJOubcAjHkbFoOBtsEfm+HQw9C5d3fN\n"
    "AiEAvT35Kbp040xBGnh+zH3YOVJ9HwffDamJfVkORayANyI=\n"
    "-----END CERTIFICATE-----\n";

static const char MAKER_ISSUING_KEY_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHyLbXYA+jlCJtL9z\n"
    "qjrvEgONgbyGF50hH/ZQlNLgERKhRANCAARVxqrlYadiQZL2/VLFh4PEs/jP0bLo\n"
    "2b5YLmfvIx0VP0lQK5mfyVxhX6rywVxfAU+1Jws6ytdqokqTe0GSNn0x\n"
    "-----END PRIVATE KEY-----\n";

const char HZ_FACTORY_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBzTCCAXOgAwIBAgIUGizg8xASTUfR3aQ+u2CHnD9wCtYwCgYIKoZIzj0EAwIw\n"
    "HTEbMBkGA1UEAwwSRnV6eiBNYWtlciBJc3N1aW5nMB4XDTI2MTEyNzIyNTkwNloX\n"
    "DTQwMDgwNTIyNTkwNlowEzERMA8GA1UEAwwIZGV2LTAwMDEwWTATBgcqhkjOPQIB\n"
    "BggqhkjOPQMBBwNCAAT3BCsCxNkybbd788de6BNmx8GF7kRNf1ZhiCPMJ11QELyR\n"
    "6uqmEt89k2vcZrLSR93wmEh9mM1UKb4+zShcCijPo4GaMIGXMAwGA1UdEwEB/wQC\n"
    "MAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB0GA1UdDgQW\n"
    "BBQkW/3zi55ThAVaHsx3kAczUMjrBTAfBgNVHSMEGDAWgBRBLsqeSCaL0HsxoMq4\n"
    "C6r/g+RdNTAiBgNVHREEGzAZhhd1cm46enRwOmRldmljZTpkZXYtMDAwMTAKBggq\n"
    "hkjOPQQDAgNIADBFAiEAouQkd8AuFX1h0j76KYCBlVOtFrfKGPSvnjoH/Pze/jMC\n"
    "ICNhKonc8WuH6WZYVHLqIhYQAQFrjfWRZ9ULVpKHFyvf\n"
    "-----END CERTIFICATE-----\n";

const char HZ_FACTORY_KEY_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgt1DJCBwmwxeW6Gp9\n"
    "uz6OpNBLLXIxrPM4pYjaVenpyF2hRANCAAT3BCsCxNkybbd788de6BNmx8GF7kRN\n"
    "f1ZhiCPMJ11QELyR6uqmEt89k2vcZrLSR93wmEh9mM1UKb4+zShcCijP\n"
    "-----END PRIVATE KEY-----\n";

const uint8_t HZ_VPKI_SECRET[32] = {
    0x7a, 0x74, 0x70, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x73, 0x65,
    0x63, 0x72, 0x65, 0x74, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x66, 0x6f,
    0x72, 0x2d, 0x75, 0x73, 0x65, 0x2d, 0x30, 0x30, 0x30, 0x31};

void hz_vpki_free(hz_vpki *p)
{
	ztp_verifier_free(p->v);
	ztp_ca_free(p->dca);
	ztp_ca_free(p->maker);
	ztp_store_free(p->store);
	ztp_store_free(p->maker_store);
	EVP_PKEY_free(p->fkey);
	memset(p, 0, sizeof(*p));
}

int hz_vpki_init(hz_vpki *p, const char *store_uri)
{
	char *cert = NULL, *key = NULL, *code = NULL;
	int rc = ZTP_OK;

	memset(p, 0, sizeof(*p));
	p->clock = HZ_VPKI_NOW;
	ZTP_CHECK(ztp_store_open(&p->store, store_uri));
	ZTP_CHECK(ztp_store_open(&p->maker_store, "memory:"));
	ZTP_CHECK(ztp_ca_create_root(&cert, &key, "/CN=Hardening Device CA",
				     NULL, 3650));
	ZTP_CHECK(ztp_ca_new(&p->dca));
	ZTP_CHECK(ztp_ca_load(p->dca, cert, key, NULL, NULL));
	ZTP_CHECK(ztp_ca_set_store(p->dca, p->store));
	ZTP_CHECK(ztp_ca_new(&p->maker));
	ZTP_CHECK(ztp_ca_load(p->maker, HZ_MAKER_ISSUING_PEM,
			      MAKER_ISSUING_KEY_PEM, NULL, NULL));
	ZTP_CHECK(ztp_ca_set_store(p->maker, p->maker_store));
	ZTP_CHECK(ztp_ca_set_clock(p->maker, ztp_clock_fixed, &p->clock));
	ZTP_CHECK(ztp__pem_privkey(&p->fkey, HZ_FACTORY_KEY_PEM,
				   strlen(HZ_FACTORY_KEY_PEM), NULL));

	ZTP_CHECK(ztp_verifier_new(&p->v));
	ZTP_CHECK(ztp_verifier_set_trust_anchors(p->v, HZ_MAKER_ROOT_PEM,
						 strlen(HZ_MAKER_ROOT_PEM)));
	ZTP_CHECK(ztp_verifier_set_issuers(p->v, HZ_MAKER_ISSUING_PEM,
					   strlen(HZ_MAKER_ISSUING_PEM)));
	ZTP_CHECK(ztp_verifier_set_ca(p->v, p->dca));
	ZTP_CHECK(ztp_verifier_set_store(p->v, p->store));
	ZTP_CHECK(ztp_verifier_set_clock(p->v, ztp_clock_fixed, &p->clock));
	ZTP_CHECK(ztp_verifier_set_hmac_secret(p->v, HZ_VPKI_SECRET,
					       sizeof(HZ_VPKI_SECRET)));
	ZTP_CHECK(ztp_verifier_set_rate_limit(p->v, "device", 0, 0));
	ZTP_CHECK(ztp_verifier_set_rate_limit(p->v, "global", 0, 0));
	ZTP_CHECK(ztp_verifier_enroll(p->v, &code, HZ_VPKI_DEVICE,
				      HZ_FACTORY_PEM, strlen(HZ_FACTORY_PEM),
				      "model-x", "batch-1"));
cleanup:
	ztp_free(cert);
	if (key != NULL)
		ztp__free_secret(key, strlen(key));
	if (code != NULL)
		ztp__free_secret(code, strlen(code));
	if (rc != ZTP_OK)
		hz_vpki_free(p);
	return rc;
}

static int make_csr(char **pem, uint8_t hash[32], EVP_PKEY *key, const char *cn)
{
	int rc = ZTP_OK;
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	int n;

	*pem = NULL;
	req = X509_REQ_new();
	ZTP_ENSURE(req != NULL, ZTP_ENOMEM, "csr");
	ZTP_ENSURE(X509_REQ_set_version(req, 0) == 1 &&
		       X509_NAME_add_entry_by_txt(
			   X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
			   (const unsigned char *)cn, -1, -1, 0) == 1 &&
		       X509_REQ_set_pubkey(req, key) == 1 &&
		       X509_REQ_sign(req, key, EVP_sha256()) > 0,
		   ZTP_ECRYPTO, "csr");
	n = i2d_X509_REQ(req, &der);
	ZTP_ENSURE(n > 0, ZTP_ECRYPTO, "csr der");
	ZTP_CHECK(ztp__sha256(hash, der, (size_t)n));
	ZTP_CHECK(ztp__csr_to_pem(pem, req));
cleanup:
	OPENSSL_free(der);
	X509_REQ_free(req);
	return rc;
}

int hz_vpki_add_device(hz_vpki *p, const char *id, EVP_PKEY **key,
		       char **cert_pem)
{
	int rc = ZTP_OK;
	char *csr = NULL, *code = NULL;
	uint8_t h[32];

	*key = NULL;
	*cert_pem = NULL;
	ZTP_CHECK(ztp__key_generate(key, "ec-p256"));
	ZTP_CHECK(make_csr(&csr, h, *key, id));
	ZTP_CHECK(ztp_ca_issue(p->maker, cert_pem, csr, strlen(csr), id, NULL,
			       "factory", 0));
	ZTP_CHECK(ztp_verifier_enroll(p->v, &code, id, *cert_pem,
				      strlen(*cert_pem), NULL, NULL));
cleanup:
	ztp_free(csr);
	if (code != NULL)
		ztp__free_secret(code, strlen(code));
	if (rc != ZTP_OK) {
		EVP_PKEY_free(*key);
		ztp_free(*cert_pem);
		*key = NULL;
		*cert_pem = NULL;
	}
	return rc;
}

int hz_vpki_nonce(hz_vpki *p, const char *id, char **nonce)
{
	int rc = ZTP_OK, status = 0;
	char body[128], *resp = NULL;
	json_object *o = NULL;
	const char *n = NULL;

	*nonce = NULL;
	snprintf(body, sizeof(body), "{\"device_id\":\"%s\"}", id);
	ZTP_CHECK(ztp_verifier_handle(p->v, &status, &resp, "challenge", body,
				      strlen(body), NULL, 0));
	ZTP_ENSURE(status == 200, ZTP_EDENIED, "challenge: HTTP %d: %s", status,
		   resp);
	ZTP_CHECK(ztp__json_parse(&o, resp, strlen(resp), 65536, 0));
	ZTP_CHECK(ztp__json_str(o, "nonce", true, 256, &n, NULL));
	*nonce = ztp__strdup(n);
	ZTP_ENSURE(*nonce != NULL, ZTP_ENOMEM, "nonce");
cleanup:
	json_object_put(o);
	ztp_free(resp);
	return rc;
}

int hz_vpki_bootstrap_body(char **body, EVP_PKEY **csr_key, const char *id,
			   EVP_PKEY *fkey, const char *cert_pem,
			   const char *nonce)
{
	int rc = ZTP_OK;
	EVP_PKEY *ck = NULL;
	char *csr = NULL, *sig64 = NULL;
	uint8_t h[32], *sig = NULL;
	size_t siglen = 0;
	ztp__buf t = {0};
	ztp__sigalg alg;
	json_object *o = NULL;

	*body = NULL;
	if (csr_key != NULL)
		*csr_key = NULL;
	ZTP_CHECK(ztp__key_generate(&ck, "ec-p256"));
	ZTP_CHECK(make_csr(&csr, h, ck, "ignored"));
	/* "ZTP-BOOTSTRAP-V1" 0 device_id 0 nonce 0 SHA-256(CSR DER) */
	ZTP_CHECK(ztp__buf_append(&t, "ZTP-BOOTSTRAP-V1", 17));
	ZTP_CHECK(ztp__buf_append(&t, id, strlen(id) + 1));
	ZTP_CHECK(ztp__buf_append(&t, nonce, strlen(nonce) + 1));
	ZTP_CHECK(ztp__buf_append(&t, h, sizeof(h)));
	ZTP_CHECK(ztp__sigalg_for_key(&alg, fkey));
	ZTP_CHECK(ztp__sig_sign(&sig, &siglen, fkey, alg, t.data, t.len));
	ZTP_CHECK(ztp__b64_encode(&sig64, sig, siglen));
	o = json_object_new_object();
	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "json");
	ZTP_CHECK(ztp__json_add_str(o, "device_id", id));
	ZTP_CHECK(ztp__json_add_str(o, "nonce", nonce));
	ZTP_CHECK(ztp__json_add_str(o, "csr", csr));
	ZTP_CHECK(ztp__json_add_str(o, "factory_cert", cert_pem));
	ZTP_CHECK(ztp__json_add_str(o, "signature", sig64));
	ZTP_CHECK(ztp__json_dump(body, o));
	if (csr_key != NULL) {
		*csr_key = ck;
		ck = NULL;
	}
cleanup:
	json_object_put(o);
	EVP_PKEY_free(ck);
	ztp_free(csr);
	ztp_free(sig);
	ztp_free(sig64);
	ztp__buf_free(&t);
	return rc;
}
