/*
 * libztp — certificate authority: handle, loading, CA creation, issuance.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ca/internal.h"
#include "core/keysrc.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ztp/store.h>

/* PEM files a CA is loaded from: a certificate, a key, a short chain. */
#define CA_FILE_MAX (1024 * 1024)
#define CA_DAYS_MAX 36500
#define CA_PATHLEN_MAX 16
#define BACKDATE_SECONDS 60

static const struct {
	const char *name;
	int64_t max_lifetime;
	int64_t default_lifetime;
	bool tenant_allowed;
	/* A factory certificate exists before its device is registered (the
	 * registry records the factory certificate's fingerprint), so it is
	 * recorded without a device. */
	bool record_device;
	/* The one extended key usage. */
	int eku;
	/* Names hosts or a responder, not a device: issued by
	 * ztp_ca_issue_server() or ztp_ca_issue_ocsp() only. */
	bool server;
} profiles[] = {
    {ZTP_CA_PROFILE_FACTORY, 30 * 365 * 86400LL, 30 * 365 * 86400LL, false,
     false, NID_client_auth, false},
    {ZTP_CA_PROFILE_BOOTSTRAP, 86400, 86400, true, true, NID_client_auth,
     false},
    {ZTP_CA_PROFILE_OPERATIONAL, 3650 * 86400LL, 365 * 86400LL, true, true,
     NID_client_auth, false},
    {ZTP_CA_PROFILE_SERVER, ZTP_CA_SERVER_DAYS_MAX * 86400LL,
     ZTP_CA_SERVER_DAYS_DEFAULT * 86400LL, false, false, NID_server_auth, true},
    {ZTP_CA_PROFILE_OCSP, ZTP_CA_OCSP_DAYS_MAX * 86400LL,
     ZTP_CA_OCSP_DAYS_DEFAULT * 86400LL, false, false, NID_OCSP_sign, true},
};

/* ---------------------------------------------------------- handle */

int ztp_ca_new(ztp_ca **out)
{
	int rc = ZTP_OK;
	ztp_ca *ca = NULL;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_CHECK(ztp__ensure_init());
	ca = ztp__calloc(1, sizeof(*ca));
	ZTP_ENSURE(ca != NULL, ZTP_ENOMEM, "ca: out of memory");
	ztp__keypolicy_default(&ca->policy);
	ca->pathlen = -1;
	*out = ca;
cleanup:
	return rc;
}

void ztp_ca_free(ztp_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	sk_X509_pop_free(ca->chain, X509_free);
	X509_NAME_free(ca->name);
	ASN1_OCTET_STRING_free(ca->ski);
	for (size_t i = 0; i < ca->n_pems; i++)
		free(ca->pems[i]);
	free(ca->pems);
	OPENSSL_cleanse(ca, sizeof(*ca));
	free(ca);
}

int ztp_ca_set_store(ztp_ca *ca, ztp_store *store)
{
	ZTP_ARG(ca != NULL);
	ca->store = store;
	return ZTP_OK;
}

int ztp_ca_set_key_policy(ztp_ca *ca, const char *spec)
{
	ztp__keypolicy p;
	int rc;

	ZTP_ARG(ca != NULL);
	ZTP_ARG(spec != NULL);
	rc = ztp__keypolicy_parse(&p, spec);
	if (rc < 0)
		return rc;
	ca->policy = p;
	return ZTP_OK;
}

int ztp_ca_set_clock(ztp_ca *ca, ztp_clock_fn fn, void *ctx)
{
	ZTP_ARG(ca != NULL);
	ca->clock.fn = fn;
	ca->clock.ctx = ctx;
	return ZTP_OK;
}

void ztp__ca_set_serial_source(ztp_ca *ca, ztp__ca_rand_fn fn, void *ctx)
{
	ca->rand_fn = fn;
	ca->rand_ctx = ctx;
}

X509 *ztp__ca_cert(const ztp_ca *ca)
{
	return ca->cert;
}

STACK_OF(X509) * ztp__ca_chain(const ztp_ca *ca)
{
	return ca->chain;
}

const char *ztp__ca_key_type(const ztp_ca *ca)
{
	return ca->key_type;
}

/* ---------------------------------------------------------- key types */

/* Keys a CA may be created with. RSA-2048 is refused for new CAs: CA keys
 * outlive the devices they certify. */
static int ca_key_type_check(const char *type)
{
	static const char *const ok[] = {"ec-p256", "ec-p384", "ed25519",
					 "rsa-3072", "rsa-4096"};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(ok); i++) {
		if (strcmp(type, ok[i]) == 0)
			return ZTP_OK;
	}
	return ztp__err(ZTP_EKEYPOLICY,
			"ca: key type \"%.32s\" not allowed for a CA (ec-p256, "
			"ec-p384, ed25519, rsa-3072, rsa-4096)",
			type);
}

/* The digest that goes with a signing key: NULL for Ed25519 (pure). */
int ztp__ca_md_for_key(const EVP_MD **md, char type[32], EVP_PKEY *key)
{
	int rc = ztp__key_describe(type, 32, key);

	/* Keys the library cannot even name are no CA keys either. */
	ZTP_ENSURE(rc != ZTP_EUNSUPPORTED, ZTP_EKEYPOLICY,
		   "ca: this key type cannot sign certificates");
	if (rc < 0)
		goto cleanup;
	if (strcmp(type, "ec-p256") == 0) {
		*md = EVP_sha256();
	} else if (strcmp(type, "ec-p384") == 0) {
		*md = EVP_sha384();
	} else if (strcmp(type, "ed25519") == 0) {
		*md = NULL;
	} else if (strncmp(type, "rsa-", 4) == 0) {
		ZTP_ENSURE(EVP_PKEY_get_bits(key) >= 2048, ZTP_EKEYPOLICY,
			   "ca: %s key too weak to sign certificates", type);
		*md = EVP_sha256();
	} else {
		ZTP_ENSURE(0, ZTP_EKEYPOLICY,
			   "ca: %s keys cannot sign certificates", type);
	}
cleanup:
	return rc;
}

/* ---------------------------------------------------------- serials */

int ztp__ca_serial(const ztp_ca *ca, ASN1_INTEGER **out,
		   char hex[ZTP_CA_SERIAL_HEX_MAX + 1])
{
	int rc = ZTP_OK;
	uint8_t buf[ZTP__CA_SERIAL_OCTETS];
	BIGNUM *bn = NULL;

	*out = NULL;
	if (ca != NULL && ca->rand_fn != NULL) {
		ZTP_CHECK(ca->rand_fn(buf, sizeof(buf), ca->rand_ctx));
	} else {
		ZTP_ENSURE_OSSL(RAND_bytes(buf, sizeof(buf)) == 1, ZTP_ECRYPTO,
				"ca: no random serial");
	}
	/* Positive (top bit clear) and of fixed length (next bit set): no
	 * leading zero octet, never zero, always 17 octets in DER. */
	buf[0] = (uint8_t)((buf[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(buf, sizeof(buf), NULL);
	ZTP_ENSURE_OSSL(bn != NULL, ZTP_ENOMEM, "ca: serial");
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	ZTP_ENSURE_OSSL(*out != NULL, ZTP_ENOMEM, "ca: serial");
	ztp__hex_encode(hex, buf, sizeof(buf));
cleanup:
	BN_free(bn);
	return rc;
}

/* Canonical store form of a serial: lowercase, no leading zeros. */
int ztp__ca_serial_normalize(char out[ZTP_CA_SERIAL_HEX_MAX + 1],
			     const char *in)
{
	int rc = ZTP_OK;
	size_t len, i, n = 0;

	len = strnlen(in, 256);
	ZTP_ENSURE(len > 0 && len < 256, ZTP_EINVAL,
		   "serial: expected 1..40 hex digits");
	while (len > 1 && in[0] == '0') {
		in++;
		len--;
	}
	ZTP_ENSURE(len <= ZTP_CA_SERIAL_HEX_MAX, ZTP_EINVAL,
		   "serial: over %d hex digits", ZTP_CA_SERIAL_HEX_MAX);
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		ZTP_ENSURE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'),
			   ZTP_EINVAL, "serial: not a hex digit at offset %zu",
			   i);
		out[n++] = c;
	}
	out[n] = '\0';
	ZTP_ENSURE(strcmp(out, "0") != 0, ZTP_EINVAL, "serial: zero");
cleanup:
	return rc;
}

/* ---------------------------------------------------------- extensions */

static int add_ext(X509 *cert, int nid, int crit, void *value)
{
	int rc = ZTP_OK;

	ZTP_ENSURE_OSSL(
	    X509_add1_ext_i2d(cert, nid, value, crit, X509V3_ADD_DEFAULT) == 1,
	    ZTP_ECRYPTO, "ca: cannot add extension %s", OBJ_nid2sn(nid));
cleanup:
	return rc;
}

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
int ztp__ca_key_id(ASN1_OCTET_STRING **out, X509_PUBKEY *pub)
{
	int rc = ZTP_OK;
	const unsigned char *pk = NULL;
	int pklen = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	*out = NULL;
	ZTP_ENSURE_OSSL(X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, pub) ==
			    1,
			ZTP_ECRYPTO, "ca: no public key");
	ZTP_ENSURE_OSSL(
	    EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) == 1,
	    ZTP_ECRYPTO, "ca: key identifier");
	*out = ASN1_OCTET_STRING_new();
	ZTP_ENSURE(*out != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_ENSURE_OSSL(ASN1_OCTET_STRING_set(*out, md, (int)mdlen) == 1,
			ZTP_ENOMEM, "ca: key identifier");
cleanup:
	if (rc < 0) {
		ASN1_OCTET_STRING_free(*out);
		*out = NULL;
	}
	return rc;
}

static int add_key_ids(X509 *cert, const ASN1_OCTET_STRING *issuer_ski)
{
	int rc = ZTP_OK;
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid = NULL;

	ZTP_CHECK(ztp__ca_key_id(&ski, X509_get_X509_PUBKEY(cert)));
	ZTP_CHECK(add_ext(cert, NID_subject_key_identifier, 0, ski));
	akid = AUTHORITY_KEYID_new();
	ZTP_ENSURE(akid != NULL, ZTP_ENOMEM, "ca: out of memory");
	/* A self-signed certificate names its own key. */
	akid->keyid = ASN1_OCTET_STRING_dup(issuer_ski ? issuer_ski : ski);
	ZTP_ENSURE(akid->keyid != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_CHECK(add_ext(cert, NID_authority_key_identifier, 0, akid));
cleanup:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int add_basic_constraints(X509 *cert, bool is_ca, long pathlen)
{
	int rc = ZTP_OK;
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

	ZTP_ENSURE(bc != NULL, ZTP_ENOMEM, "ca: out of memory");
	bc->ca = is_ca ? 0xff : 0;
	if (is_ca && pathlen >= 0) {
		bc->pathlen = ASN1_INTEGER_new();
		ZTP_ENSURE(bc->pathlen != NULL &&
			       ASN1_INTEGER_set(bc->pathlen, pathlen) == 1,
			   ZTP_ENOMEM, "ca: out of memory");
	}
	ZTP_CHECK(add_ext(cert, NID_basic_constraints, 1, bc));
cleanup:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int add_key_usage(X509 *cert, const int *bits, size_t n)
{
	int rc = ZTP_OK;
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	size_t i;

	ZTP_ENSURE(ku != NULL, ZTP_ENOMEM, "ca: out of memory");
	for (i = 0; i < n; i++) {
		ZTP_ENSURE(ASN1_BIT_STRING_set_bit(ku, bits[i], 1) == 1,
			   ZTP_ENOMEM, "ca: out of memory");
	}
	ZTP_CHECK(add_ext(cert, NID_key_usage, 1, ku));
cleanup:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int add_eku(X509 *cert, int nid)
{
	int rc = ZTP_OK;
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_OBJECT *obj = OBJ_nid2obj(nid);

	ZTP_ENSURE(eku != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_ENSURE(obj != NULL && sk_ASN1_OBJECT_push(eku, obj) > 0, ZTP_ENOMEM,
		   "ca: out of memory");
	ZTP_CHECK(add_ext(cert, NID_ext_key_usage, 0, eku));
cleanup:
	/* NID objects are static: free the stack only. */
	sk_ASN1_OBJECT_free(eku);
	return rc;
}

static int add_ocsp_nocheck(X509 *cert)
{
	ASN1_NULL *null = ASN1_NULL_new();
	int rc = ZTP_OK;

	ZTP_ENSURE(null != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_CHECK(add_ext(cert, NID_id_pkix_OCSP_noCheck, 0, null));
cleanup:
	ASN1_NULL_free(null);
	return rc;
}

static int san_push_uri(GENERAL_NAMES *gens, const char *prefix, const char *id)
{
	int rc = ZTP_OK;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *uri = NULL;
	size_t plen = strlen(prefix), ilen = strlen(id);
	char buf[64 + ZTP_ID_MAX];

	ZTP_ENSURE(plen + ilen < sizeof(buf), ZTP_EINTERNAL,
		   "ca: URI too long");
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, id, ilen);
	uri = ASN1_IA5STRING_new();
	ZTP_ENSURE(uri != NULL &&
		       ASN1_STRING_set(uri, buf, (int)(plen + ilen)) == 1,
		   ZTP_ENOMEM, "ca: out of memory");
	gen = GENERAL_NAME_new();
	ZTP_ENSURE(gen != NULL, ZTP_ENOMEM, "ca: out of memory");
	GENERAL_NAME_set0_value(gen, GEN_URI, uri);
	uri = NULL;
	ZTP_ENSURE(sk_GENERAL_NAME_push(gens, gen) > 0, ZTP_ENOMEM,
		   "ca: out of memory");
	gen = NULL;
cleanup:
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gen);
	return rc;
}

/* The device's SAN: its URN and, with a tenant, the tenant's. */
static int device_san(GENERAL_NAMES **out, const char *device_id,
		      const char *tenant)
{
	int rc = ZTP_OK;
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	ZTP_ENSURE(gens != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_CHECK(san_push_uri(gens, ZTP_URN_DEVICE, device_id));
	if (tenant != NULL)
		ZTP_CHECK(san_push_uri(gens, ZTP_URN_TENANT, tenant));
	*out = gens;
	gens = NULL;
cleanup:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int set_validity(X509 *cert, int64_t nb, int64_t na)
{
	int rc = ZTP_OK;

	ZTP_ENSURE_OSSL(ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)nb) !=
			    NULL,
			ZTP_ECRYPTO, "ca: notBefore");
	ZTP_ENSURE_OSSL(ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)na) !=
			    NULL,
			ZTP_ECRYPTO, "ca: notAfter");
cleanup:
	return rc;
}

/* in_token: key is a token's, whose failure to sign is ZTP_ETOKEN (the
 * token is gone or refused), not ZTP_ECRYPTO. */
static int sign_cert(X509 *cert, EVP_PKEY *key, const EVP_MD *md, bool in_token)
{
	if (X509_sign(cert, key, md) > 0)
		return ZTP_OK;
	return ztp__keysrc_sign_error(in_token, "ca: certificate signature");
}

static int fingerprint_hex(char out[65], X509 *cert)
{
	uint8_t fp[32];
	int rc = ztp__cert_fingerprint(fp, cert);

	if (rc == ZTP_OK)
		ztp__hex_encode(out, fp, sizeof(fp));
	return rc;
}

/* ---------------------------------------------------------- loading */

static int check_chain(X509 *cert, STACK_OF(X509) * chain)
{
	int rc = ZTP_OK;
	X509 *child = cert;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *parent = sk_X509_value(chain, i);
		EVP_PKEY *pk = X509_get0_pubkey(parent);

		ZTP_ENSURE(X509_check_issued(parent, child) == X509_V_OK &&
			       pk != NULL && X509_verify(child, pk) == 1,
			   ZTP_EUNTRUSTED,
			   "ca: chain certificate %d did not issue the "
			   "certificate before it",
			   i + 1);
		ERR_clear_error();
		child = parent;
	}
cleanup:
	ERR_clear_error();
	return rc;
}

/* The certificate is key's. A token's key answers no query OpenSSL makes
 * through a provider, so it is compared by its public half, decoded
 * again from its SubjectPublicKeyInfo. */
static int check_key_matches(X509 *cert, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL, *cert_pub = X509_get0_pubkey(cert);
	bool same = false;
	int len;

	ZTP_ENSURE_OSSL(cert_pub != NULL, ZTP_EPARSE,
			"ca: cannot read the certificate's public key");
	len = i2d_PUBKEY(key, &der);
	ZTP_ENSURE_OSSL(len > 0, ZTP_ECRYPTO, "ca: cannot encode the key");
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	ZTP_ENSURE_OSSL(pub != NULL, ZTP_ECRYPTO, "ca: cannot decode the key");
	ZTP_CHECK(ztp__pubkey_same(&same, cert_pub, pub));
	ZTP_ENSURE(same, ZTP_EMISMATCH,
		   "ca: private key does not match the certificate");
cleanup:
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	return rc;
}

/* Load the handle with cert_pem, key (taken: freed whatever happens) and
 * chain_pem. */
static int load(ztp_ca *ca, const char *cert_pem, EVP_PKEY *key,
		bool key_in_token, const char *chain_pem)
{
	int rc = ZTP_OK;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	X509_NAME *name = NULL;
	ASN1_OCTET_STRING *ski = NULL;
	const ASN1_OCTET_STRING *own_ski;
	const EVP_MD *md = NULL;
	char type[32], **pems = NULL;
	size_t n_pems = 0, n_chain;
	uint32_t kusage;
	unsigned char *der = NULL;

	ZTP_CHECK(ztp__pem_cert(&cert, cert_pem, strlen(cert_pem)));
	if (chain_pem != NULL)
		ZTP_CHECK(ztp__pem_certs(&chain, chain_pem, strlen(chain_pem),
					 ZTP_CHAIN_MAX));

	/* Caches the extensions, so that later concurrent readers of the
	 * certificate never write to it. */
	ZTP_ENSURE(X509_check_ca(cert) == 1, ZTP_EPROFILE,
		   "ca: certificate is not a CA certificate "
		   "(basicConstraints CA:TRUE required)");
	kusage = X509_get_key_usage(cert);
	ZTP_ENSURE((kusage & KU_KEY_CERT_SIGN) != 0, ZTP_EPROFILE,
		   "ca: certificate key usage lacks keyCertSign");
	ZTP_CHECK(check_key_matches(cert, key));
	ZTP_CHECK(ztp__ca_md_for_key(&md, type, key));
	if (chain != NULL)
		ZTP_CHECK(check_chain(cert, chain));

	own_ski = X509_get0_subject_key_id(cert);
	if (own_ski != NULL) {
		ski = ASN1_OCTET_STRING_dup(own_ski);
		ZTP_ENSURE(ski != NULL, ZTP_ENOMEM, "ca: out of memory");
	} else {
		ZTP_CHECK(ztp__ca_key_id(&ski, X509_get_X509_PUBKEY(cert)));
	}
	ZTP_ENSURE(ASN1_STRING_length(ski) > 0, ZTP_EPROFILE,
		   "ca: empty subject key identifier");
	/* It names the CA in the store (ztp_store_cert_add_issued()). */
	ZTP_ENSURE(ASN1_STRING_length(ski) <= ZTP_STORE_ISSUER_MAX / 2,
		   ZTP_EPROFILE, "ca: subject key identifier over %d octets",
		   ZTP_STORE_ISSUER_MAX / 2);

	name = X509_NAME_dup(X509_get_subject_name(cert));
	ZTP_ENSURE(name != NULL, ZTP_ENOMEM, "ca: out of memory");
	/* Encode once now: a name re-encodes lazily on first use, which
	 * would be a write from concurrent issuing threads. */
	ZTP_ENSURE(i2d_X509_NAME(name, &der) > 0, ZTP_ENOMEM,
		   "ca: out of memory");

	n_chain = chain != NULL ? (size_t)sk_X509_num(chain) : 0;
	pems = ztp__calloc(n_chain + 1, sizeof(char *));
	ZTP_ENSURE(pems != NULL, ZTP_ENOMEM, "ca: out of memory");
	for (n_pems = 0; n_pems <= n_chain; n_pems++)
		ZTP_CHECK(ztp__cert_to_pem(
		    &pems[n_pems],
		    n_pems == 0 ? cert
				: sk_X509_value(chain, (int)n_pems - 1)));

	ZTP_CHECK(ztp__asn1_time(&ca->not_before, X509_get0_notBefore(cert)));
	ZTP_CHECK(ztp__asn1_time(&ca->not_after, X509_get0_notAfter(cert)));
	ca->pathlen = X509_get_pathlen(cert);
	ca->can_sign_crl = (kusage & KU_CRL_SIGN) != 0;
	ca->key_in_token = key_in_token;
	ca->md = md;
	memcpy(ca->key_type, type, sizeof(ca->key_type));
	memcpy(ca->crl_counter, "crl-", 4);
	ztp__hex_encode(ca->crl_counter + 4, ASN1_STRING_get0_data(ski),
			ASN1_STRING_length(ski) > 30
			    ? 30
			    : (size_t)ASN1_STRING_length(ski));
	ztp__hex_encode(ca->key_id, ASN1_STRING_get0_data(ski),
			(size_t)ASN1_STRING_length(ski));
	ca->cert = cert;
	ca->key = key;
	ca->chain = chain;
	ca->name = name;
	ca->ski = ski;
	ca->pems = pems;
	ca->n_pems = n_pems;
	pems = NULL;
	cert = NULL;
	key = NULL;
	chain = NULL;
	name = NULL;
	ski = NULL;
cleanup:
	for (size_t i = 0; pems != NULL && i < n_pems; i++)
		free(pems[i]);
	free(pems);
	OPENSSL_free(der);
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	X509_NAME_free(name);
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

int ztp_ca_load(ztp_ca *ca, const char *cert_pem, const char *key_pem,
		const char *chain_pem, const char *passphrase)
{
	int rc = ZTP_OK;
	EVP_PKEY *key = NULL;
	bool in_token;

	ZTP_ARG(ca != NULL);
	ZTP_ARG(cert_pem != NULL);
	ZTP_ARG(key_pem != NULL);
	ZTP_ENSURE(ca->cert == NULL, ZTP_ESTATE, "ca: already loaded");
	in_token = ztp__keysrc_is_pkcs11(key_pem);
	if (in_token)
		ZTP_CHECK(
		    ztp__keysrc_load(&key, key_pem, passphrase, "ca key"));
	else
		ZTP_CHECK(ztp__pem_privkey(&key, key_pem, strlen(key_pem),
					   passphrase));
	rc = load(ca, cert_pem, key, in_token, chain_pem);
cleanup:
	return rc;
}

int ztp_ca_load_files(ztp_ca *ca, const char *cert_path, const char *key_path,
		      const char *chain_path, const char *passphrase)
{
	int rc = ZTP_OK;
	char *cert = NULL, *chain = NULL;
	size_t certlen = 0, chainlen = 0;
	EVP_PKEY *key = NULL;

	ZTP_ARG(ca != NULL);
	ZTP_ARG(cert_path != NULL);
	ZTP_ARG(key_path != NULL);
	ZTP_ENSURE(ca->cert == NULL, ZTP_ESTATE, "ca: already loaded");
	ZTP_CHECK(ztp__file_read(&cert, &certlen, cert_path, CA_FILE_MAX));
	if (chain_path != NULL)
		ZTP_CHECK(
		    ztp__file_read(&chain, &chainlen, chain_path, CA_FILE_MAX));
	/* The PEM parsers are strict about embedded NULs only through the
	 * length; a file with a NUL inside must not be silently cut. */
	ZTP_ENSURE(strlen(cert) == certlen &&
		       (chain == NULL || strlen(chain) == chainlen),
		   ZTP_EPARSE, "ca: NUL byte inside a PEM file");
	ZTP_CHECK(ztp__keysrc_load(&key, key_path, passphrase, "ca key"));
	rc = load(ca, cert, key, ztp__keysrc_is_pkcs11(key_path), chain);
cleanup:
	free(cert);
	free(chain);
	return rc;
}

/* ---------------------------------------------------------- CA creation */

/* Build and sign a CA certificate for key under issuer (NULL: self-signed).
 * Returns the signed certificate, not yet recorded anywhere. */
static int make_ca_cert(X509 **out, ztp_ca *issuer, EVP_PKEY *key,
			bool key_in_token, X509_NAME *subject, int64_t nb,
			int64_t na, long pathlen,
			char serial_hex[ZTP_CA_SERIAL_HEX_MAX + 1])
{
	static const int ku[] = {5 /* keyCertSign */, 6 /* cRLSign */};
	int rc = ZTP_OK;
	X509 *cert = NULL;
	ASN1_INTEGER *serial = NULL;
	const EVP_MD *md = NULL;
	char type[32];

	*out = NULL;
	ZTP_CHECK(
	    ztp__ca_md_for_key(&md, type, issuer != NULL ? issuer->key : key));
	cert = X509_new();
	ZTP_ENSURE(cert != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_ENSURE_OSSL(X509_set_version(cert, X509_VERSION_3) == 1,
			ZTP_ECRYPTO, "ca: version");
	ZTP_CHECK(ztp__ca_serial(issuer, &serial, serial_hex));
	ZTP_ENSURE_OSSL(X509_set_serialNumber(cert, serial) == 1, ZTP_ENOMEM,
			"ca: serial");
	ZTP_ENSURE_OSSL(X509_set_subject_name(cert, subject) == 1 &&
			    X509_set_issuer_name(cert, issuer != NULL
							   ? issuer->name
							   : subject) == 1,
			ZTP_ENOMEM, "ca: names");
	ZTP_CHECK(set_validity(cert, nb, na));
	ZTP_ENSURE_OSSL(X509_set_pubkey(cert, key) == 1, ZTP_ECRYPTO,
			"ca: public key");
	ZTP_CHECK(add_basic_constraints(cert, true, pathlen));
	ZTP_CHECK(add_key_usage(cert, ku, ZTP__ARRAY_LEN(ku)));
	ZTP_CHECK(add_key_ids(cert, issuer != NULL ? issuer->ski : NULL));
	ZTP_CHECK(
	    sign_cert(cert, issuer != NULL ? issuer->key : key, md,
		      issuer != NULL ? issuer->key_in_token : key_in_token));
	*out = cert;
	cert = NULL;
cleanup:
	ASN1_INTEGER_free(serial);
	X509_free(cert);
	return rc;
}

/* The certificate's PEM and, when key_pem is not NULL, the key's. */
static int ca_outputs(char **cert_pem, char **key_pem, X509 *cert,
		      EVP_PKEY *key)
{
	int rc = ZTP_OK;
	char *c = NULL, *k = NULL;

	ZTP_CHECK(ztp__cert_to_pem(&c, cert));
	if (key_pem != NULL)
		ZTP_CHECK(ztp__privkey_to_pem(&k, key, NULL));
	*cert_pem = c;
	if (key_pem != NULL)
		*key_pem = k;
	c = NULL;
	k = NULL;
cleanup:
	free(c);
	return rc;
}

static int check_days(int days)
{
	if (days < 1 || days > CA_DAYS_MAX)
		return ztp__err(ZTP_EINVAL, "ca: days must be 1..%d, not %d",
				CA_DAYS_MAX, days);
	return ZTP_OK;
}

/* The key of a new CA: generated here (kind: NULL source), generated in
 * the token a pkcs11: source names (ZTP_CA_KEY_CREATE), or an existing key
 * a source names, whose type must then be key_type when one is given.
 * *created: a token key was made here (the caller deletes it if the CA
 * cannot be made). */
static int new_ca_key(EVP_PKEY **out, bool *in_token, bool *created,
		      const char *source, const char *pass, unsigned flags,
		      const char *key_type)
{
	int rc = ZTP_OK;
	char have[32];

	*out = NULL;
	*in_token = false;
	*created = false;
	ZTP_ENSURE((flags & ~ZTP_CA_KEY_CREATE) == 0, ZTP_EINVAL,
		   "ca: unknown flags 0x%x", flags);
	if (source == NULL) {
		if (key_type == NULL)
			key_type = "ec-p256";
		ZTP_CHECK(ca_key_type_check(key_type));
		ZTP_CHECK(ztp__key_generate(out, key_type));
		goto cleanup;
	}
	*in_token = ztp__keysrc_is_pkcs11(source);
	if ((flags & ZTP_CA_KEY_CREATE) != 0) {
		ZTP_ENSURE(*in_token, ZTP_EINVAL,
			   "ca: ZTP_CA_KEY_CREATE needs a pkcs11: key source "
			   "(a file key is made by ztp_ca_create_root/sub)");
		if (key_type == NULL)
			key_type = "ec-p256";
		ZTP_CHECK(ca_key_type_check(key_type));
		ZTP_CHECK(ztp__keysrc_generate(out, source, pass, key_type));
		*created = true;
		goto cleanup;
	}
	ZTP_CHECK(ztp__keysrc_load(out, source, pass, "ca key"));
	rc = ztp__key_describe(have, sizeof(have), *out);
	ZTP_ENSURE(rc != ZTP_EUNSUPPORTED, ZTP_EKEYPOLICY,
		   "ca: this key type cannot sign certificates");
	ZTP_CHECK(rc);
	ZTP_CHECK(ca_key_type_check(have));
	ZTP_ENSURE(key_type == NULL || strcmp(key_type, have) == 0,
		   ZTP_EMISMATCH, "ca: the key is %s, not %.32s", have,
		   key_type);
cleanup:
	if (rc < 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Undo a token key new_ca_key() created, keeping the error detail of the
 * failure that makes it go. */
static void drop_created_key(bool created, const char *source, const char *pass)
{
	ztp__err_saved e;

	if (!created)
		return;
	ztp__err_save(&e);
	(void)ztp__keysrc_delete(source, pass, NULL);
	ztp__err_restore(&e);
}

static int create_root(char **cert_pem, char **key_pem, const char *source,
		       const char *pass, unsigned flags, const char *subject_dn,
		       const char *key_type, int days)
{
	int rc = ZTP_OK;
	X509_NAME *subject = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	bool in_token = false, created = false;
	int64_t now;

	ZTP_ARG(cert_pem != NULL);
	*cert_pem = NULL;
	if (key_pem != NULL)
		*key_pem = NULL;
	ZTP_ARG(subject_dn != NULL);
	ZTP_CHECK(ztp__ensure_init());
	ZTP_CHECK(check_days(days));
	ZTP_CHECK(ztp__ca_dn_parse(&subject, subject_dn));
	ZTP_CHECK(new_ca_key(&key, &in_token, &created, source, pass, flags,
			     key_type));
	now = ztp__now(NULL);
	ZTP_CHECK(make_ca_cert(&cert, NULL, key, in_token, subject,
			       now - BACKDATE_SECONDS,
			       now + (int64_t)days * 86400, -1, serial));
	ZTP_CHECK(ca_outputs(cert_pem, key_pem, cert, key));
cleanup:
	if (rc < 0)
		drop_created_key(created, source, pass);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

int ztp_ca_create_root(char **cert_pem, char **key_pem, const char *subject_dn,
		       const char *key_type, int days)
{
	ZTP_ARG(key_pem != NULL);
	return create_root(cert_pem, key_pem, NULL, NULL, 0, subject_dn,
			   key_type, days);
}

int ztp_ca_create_root_key(char **cert_pem, const char *key_source,
			   const char *passphrase, unsigned int flags,
			   const char *subject_dn, const char *key_type,
			   int days)
{
	ZTP_ARG(key_source != NULL);
	return create_root(cert_pem, NULL, key_source, passphrase, flags,
			   subject_dn, key_type, days);
}

/* The issuer must be within its validity at now. */
static int check_issuer_time(const ztp_ca *ca, int64_t now)
{
	char t[32];

	if (now < ca->not_before) {
		ztp__time_rfc3339(t, ca->not_before);
		return ztp__err(ZTP_EEXPIRED, "ca: CA not valid before %s", t);
	}
	if (now >= ca->not_after) {
		ztp__time_rfc3339(t, ca->not_after);
		return ztp__err(ZTP_EEXPIRED, "ca: CA expired at %s", t);
	}
	return ZTP_OK;
}

/* Record a signed certificate; EEXISTS is passed up for the caller's retry. */
static int record_cert(ztp_ca *ca, X509 *cert, const char *serial_hex,
		       const char *device_id, const char *profile, int64_t nb,
		       int64_t na)
{
	int rc = ZTP_OK;
	char fp[65];

	ZTP_CHECK(fingerprint_hex(fp, cert));
	ZTP_CHECK(ztp_store_cert_add_issued(ca->store, serial_hex, device_id,
					    profile, nb, na, fp, ca->key_id));
cleanup:
	return rc;
}

/* Record a signed certificate by its DER. */
static int record_der(ztp_ca *ca, const uint8_t *der, size_t len,
		      const char *serial_hex, const char *device_id,
		      const char *profile, int64_t nb, int64_t na)
{
	int rc = ZTP_OK;
	uint8_t fp[32];
	char hex[65];

	ZTP_CHECK(ztp__sha256(fp, der, len));
	ztp__hex_encode(hex, fp, sizeof(fp));
	ZTP_CHECK(ztp_store_cert_add_issued(ca->store, serial_hex, device_id,
					    profile, nb, na, hex, ca->key_id));
cleanup:
	return rc;
}

static int create_sub(ztp_ca *issuer, char **cert_pem, char **key_pem,
		      const char *source, const char *pass, unsigned flags,
		      const char *subject_dn, const char *key_type, int days,
		      int pathlen)
{
	int rc = ZTP_OK;
	X509_NAME *subject = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	int64_t now, nb, na;
	int attempt;
	bool in_token = false, created = false;

	ZTP_ARG(cert_pem != NULL);
	*cert_pem = NULL;
	if (key_pem != NULL)
		*key_pem = NULL;
	ZTP_ARG(issuer != NULL);
	ZTP_ARG(subject_dn != NULL);
	ZTP_ARG(pathlen >= -1 && pathlen <= CA_PATHLEN_MAX);
	ZTP_ENSURE(issuer->cert != NULL, ZTP_ESTATE, "ca: issuer not loaded");
	ZTP_CHECK(check_days(days));
	if (issuer->pathlen >= 0) {
		ZTP_ENSURE(issuer->pathlen > 0, ZTP_EPROFILE,
			   "ca: issuer has path length 0 and cannot sign a "
			   "CA certificate");
		ZTP_ENSURE(pathlen >= 0 && pathlen < issuer->pathlen,
			   ZTP_EPROFILE,
			   "ca: issuer path length %ld requires a path "
			   "length of 0..%ld",
			   issuer->pathlen, issuer->pathlen - 1);
	}
	now = ztp__now(&issuer->clock);
	ZTP_CHECK(check_issuer_time(issuer, now));
	nb = now - BACKDATE_SECONDS;
	na = now + (int64_t)days * 86400;
	if (na > issuer->not_after)
		na = issuer->not_after;
	ZTP_CHECK(ztp__ca_dn_parse(&subject, subject_dn));
	ZTP_CHECK(new_ca_key(&key, &in_token, &created, source, pass, flags,
			     key_type));

	for (attempt = 0;; attempt++) {
		ZTP_CHECK(make_ca_cert(&cert, issuer, key, in_token, subject,
				       nb, na, pathlen, serial));
		if (issuer->store == NULL)
			break;
		rc = record_cert(issuer, cert, serial, NULL, ZTP_CA_PROFILE_CA,
				 nb, na);
		if (rc != ZTP_EEXISTS || attempt + 1 >= ZTP__CA_SERIAL_ATTEMPTS)
			break;
		X509_free(cert);
		cert = NULL;
	}
	if (rc < 0)
		goto cleanup;
	ZTP_CHECK(ca_outputs(cert_pem, key_pem, cert, key));
cleanup:
	if (rc < 0)
		drop_created_key(created, source, pass);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

int ztp_ca_create_sub(ztp_ca *issuer, char **cert_pem, char **key_pem,
		      const char *subject_dn, const char *key_type, int days,
		      int pathlen)
{
	ZTP_ARG(key_pem != NULL);
	return create_sub(issuer, cert_pem, key_pem, NULL, NULL, 0, subject_dn,
			  key_type, days, pathlen);
}

int ztp_ca_create_sub_key(ztp_ca *issuer, char **cert_pem,
			  const char *key_source, const char *passphrase,
			  unsigned int flags, const char *subject_dn,
			  const char *key_type, int days, int pathlen)
{
	ZTP_ARG(key_source != NULL);
	return create_sub(issuer, cert_pem, NULL, key_source, passphrase, flags,
			  subject_dn, key_type, days, pathlen);
}

/* ---------------------------------------------------------- issuance */

/* Set cert's SubjectPublicKeyInfo from key. With OpenSSL 3.0,
 * X509_set_pubkey() encodes through the provider encoders, which costs
 * more than signing the certificate; for named-curve EC and Ed25519 keys
 * the SPKI is built from the key's public bytes instead. The certificate
 * then holds the key encoded but not decoded (X509_get0_pubkey() fails
 * until it is parsed again), which signing and encoding do not need. RSA
 * and anything else go through X509_set_pubkey(). */
static int set_pubkey(X509 *cert, EVP_PKEY *key)
{
	int rc = ZTP_OK;
	unsigned char pub[160];
	unsigned char *enc = NULL;
	char group[64];
	size_t len = sizeof(pub), glen = 0;
	int id = EVP_PKEY_get_base_id(key), curve = NID_undef;
	ASN1_OBJECT *alg = NULL, *param = NULL;

	if (id == EVP_PKEY_ED25519) {
		ZTP_ENSURE_OSSL(EVP_PKEY_get_raw_public_key(key, pub, &len) ==
				    1,
				ZTP_ECRYPTO, "ca: Ed25519 public key");
		alg = OBJ_nid2obj(NID_ED25519);
	} else if (id == EVP_PKEY_EC &&
		   EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) ==
		       1 &&
		   (curve = OBJ_sn2nid(group)) != NID_undef) {
		ZTP_ENSURE_OSSL(EVP_PKEY_get_octet_string_param(
				    key, OSSL_PKEY_PARAM_PUB_KEY, pub,
				    sizeof(pub), &len) == 1,
				ZTP_ECRYPTO, "ca: EC public key");
		alg = OBJ_nid2obj(NID_X9_62_id_ecPublicKey);
		param = OBJ_nid2obj(curve);
	} else {
		ERR_clear_error();
		ZTP_ENSURE_OSSL(X509_set_pubkey(cert, key) == 1, ZTP_ECRYPTO,
				"ca: public key");
		goto cleanup;
	}
	ZTP_ENSURE(alg != NULL && (id == EVP_PKEY_ED25519 || param != NULL),
		   ZTP_EINTERNAL, "ca: no OID for the key type");
	enc = OPENSSL_memdup(pub, len);
	ZTP_ENSURE(enc != NULL, ZTP_ENOMEM, "ca: out of memory");
	/* NID objects are static: only enc changes hands. */
	ZTP_ENSURE_OSSL(
	    X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), alg,
				   param != NULL ? V_ASN1_OBJECT : V_ASN1_UNDEF,
				   param, enc, (int)len) == 1,
	    ZTP_ENOMEM, "ca: public key");
	enc = NULL;
cleanup:
	OPENSSL_free(enc);
	return rc;
}

static int find_profile(const char *name)
{
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(profiles); i++) {
		if (strcmp(name, profiles[i].name) == 0)
			return (int)i;
	}
	return ztp__err(ZTP_EINVAL,
			"ca: unknown profile \"%.32s\" (factory, bootstrap, "
			"operational, server, ocsp)",
			name);
}

int ztp__ca_issue_leaf(ztp_ca *ca, X509 **out_cert, uint8_t **der_out,
		       size_t *der_len,
		       char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		       int64_t *not_after_out, X509_REQ *req, EVP_PKEY *req_pub,
		       const ztp__ca_leaf *leaf, int64_t lifetime)
{
	static const int ku_sig[] = {0 /* digitalSignature */};
	static const int ku_rsa[] = {0 /* digitalSignature */,
				     2 /* keyEncipherment */};
	int rc = ZTP_OK;
	X509 *cert = NULL;
	ASN1_INTEGER *serial = NULL;
	unsigned char *der = NULL;
	char serial_hex[ZTP_CA_SERIAL_HEX_MAX + 1];
	int64_t now, nb, na;
	int p, attempt, verified, dlen = 0;

	*out_cert = NULL;
	ZTP_ENSURE(ca->cert != NULL, ZTP_ESTATE, "ca: not loaded");
	ZTP_ENSURE(ca->store != NULL, ZTP_ESTATE,
		   "ca: no store to record the certificate in");
	ZTP_CHECK(find_profile(leaf->profile));
	p = rc;
	rc = ZTP_OK;
	/* Every maximum is whole days. */
	ZTP_ENSURE(lifetime >= 0 && lifetime <= profiles[p].max_lifetime,
		   ZTP_EINVAL,
		   "ca: lifetime for %s must be at most %lld day%s (%lld "
		   "seconds)",
		   leaf->profile, (long long)(profiles[p].max_lifetime / 86400),
		   profiles[p].max_lifetime == 86400 ? "" : "s",
		   (long long)profiles[p].max_lifetime);
	if (lifetime == 0)
		lifetime = profiles[p].default_lifetime;

	if (req_pub == NULL) {
		req_pub = X509_REQ_get0_pubkey(req);
		ZTP_ENSURE_OSSL(req_pub != NULL, ZTP_EPARSE,
				"csr: unreadable public key");
	}
	ZTP_CHECK(ztp__keypolicy_check(&ca->policy, req_pub));
	if (req != NULL) {
		verified = X509_REQ_verify(req, req_pub);
		ERR_clear_error();
		ZTP_ENSURE(verified == 1, ZTP_EBADSIG,
			   "csr: signature does not verify with its own key");
	}

	now = ztp__now(&ca->clock);
	ZTP_CHECK(check_issuer_time(ca, now));
	nb = now - BACKDATE_SECONDS;
	na = now + lifetime;
	if (na > ca->not_after)
		na = ca->not_after;

	/* Everything but the serial and the signature is fixed across
	 * attempts. Nothing of the request but its key goes in. */
	cert = X509_new();
	ZTP_ENSURE(cert != NULL, ZTP_ENOMEM, "ca: out of memory");
	ZTP_ENSURE_OSSL(X509_set_version(cert, X509_VERSION_3) == 1,
			ZTP_ECRYPTO, "ca: version");
	ZTP_ENSURE_OSSL(X509_set_issuer_name(cert, ca->name) == 1, ZTP_ENOMEM,
			"ca: names");
	if (leaf->cn != NULL)
		ZTP_ENSURE_OSSL(
		    X509_NAME_add_entry_by_NID(X509_get_subject_name(cert),
					       NID_commonName, MBSTRING_UTF8,
					       (const unsigned char *)leaf->cn,
					       -1, -1, 0) == 1,
		    ZTP_ENOMEM, "ca: names");
	ZTP_CHECK(set_validity(cert, nb, na));
	ZTP_CHECK(set_pubkey(cert, req_pub));
	ZTP_CHECK(add_basic_constraints(cert, false, -1));
	if (EVP_PKEY_get_base_id(req_pub) == EVP_PKEY_RSA)
		ZTP_CHECK(add_key_usage(cert, ku_rsa, ZTP__ARRAY_LEN(ku_rsa)));
	else
		ZTP_CHECK(add_key_usage(cert, ku_sig, ZTP__ARRAY_LEN(ku_sig)));
	ZTP_CHECK(add_eku(cert, profiles[p].eku));
	ZTP_CHECK(add_key_ids(cert, ca->ski));
	/* RFC 5280 4.2.1.6: critical when the subject is empty. */
	if (leaf->san != NULL)
		ZTP_CHECK(add_ext(cert, NID_subject_alt_name, leaf->cn == NULL,
				  leaf->san));
	/* RFC 6960 4.2.2.2.1: clients need not check a delegated
	 * responder's own status; its short lifetime bounds the risk. */
	if (profiles[p].eku == NID_OCSP_sign)
		ZTP_CHECK(add_ocsp_nocheck(cert));

	for (attempt = 0;; attempt++) {
		ZTP_CHECK(ztp__ca_serial(ca, &serial, serial_hex));
		ZTP_ENSURE_OSSL(X509_set_serialNumber(cert, serial) == 1,
				ZTP_ENOMEM, "ca: serial");
		ASN1_INTEGER_free(serial);
		serial = NULL;
		ZTP_CHECK(sign_cert(cert, ca->key, ca->md, ca->key_in_token));
		/* Encoded once: the record's fingerprint and the caller's
		 * answer are of these bytes. */
		OPENSSL_free(der);
		der = NULL;
		dlen = i2d_X509(cert, &der);
		ZTP_ENSURE_OSSL(dlen > 0, ZTP_ECRYPTO, "ca: encoding");
		rc = record_der(ca, der, (size_t)dlen, serial_hex,
				leaf->record_device, leaf->profile, nb, na);
		if (rc != ZTP_EEXISTS || attempt + 1 >= ZTP__CA_SERIAL_ATTEMPTS)
			break;
	}
	if (rc < 0)
		goto cleanup;
	if (der_out != NULL) {
		*der_out = ztp__memdup(der, (size_t)dlen);
		/* Recorded: the caller sees ENOMEM and may retry; the
		 * record stays as an unused serial (see ztp_ca_issue_ex). */
		ZTP_ENSURE(*der_out != NULL, ZTP_ENOMEM, "ca: out of memory");
		*der_len = (size_t)dlen;
	}
	if (serial_hex_out != NULL)
		memcpy(serial_hex_out, serial_hex, strlen(serial_hex) + 1);
	if (not_after_out != NULL)
		*not_after_out = na;
	*out_cert = cert;
	cert = NULL;
cleanup:
	OPENSSL_free(der);
	ASN1_INTEGER_free(serial);
	X509_free(cert);
	return rc;
}

/* A device certificate: CN and SAN name the device (and tenant). */
static int issue(ztp_ca *ca, X509 **out_cert, uint8_t **der_out,
		 size_t *der_len,
		 char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		 int64_t *not_after_out, X509_REQ *req, EVP_PKEY *req_pub,
		 const char *device_id, const char *tenant, const char *profile,
		 int64_t lifetime)
{
	int rc = ZTP_OK;
	GENERAL_NAMES *san = NULL;
	ztp__ca_leaf leaf;
	int p;

	ZTP_ARG(ca != NULL);
	ZTP_ARG(out_cert != NULL);
	*out_cert = NULL;
	ZTP_ARG(req != NULL || req_pub != NULL);
	ZTP_ARG(device_id != NULL);
	ZTP_ARG(profile != NULL);
	ZTP_CHECK(ztp__id_check(device_id, strlen(device_id), "device ID"));
	if (tenant != NULL)
		ZTP_CHECK(ztp__id_check(tenant, strlen(tenant), "tenant ID"));
	ZTP_CHECK(find_profile(profile));
	p = rc;
	rc = ZTP_OK;
	ZTP_ENSURE(!profiles[p].server, ZTP_EINVAL,
		   "ca: the %s profile names hosts, not a device: use "
		   "ztp_ca_issue_server()",
		   profile);
	ZTP_ENSURE(tenant == NULL || profiles[p].tenant_allowed, ZTP_EINVAL,
		   "ca: the %s profile carries no tenant", profile);
	ZTP_CHECK(device_san(&san, device_id, tenant));
	leaf.profile = profiles[p].name;
	leaf.record_device = profiles[p].record_device ? device_id : NULL;
	leaf.cn = device_id;
	leaf.san = san;
	ZTP_CHECK(ztp__ca_issue_leaf(ca, out_cert, der_out, der_len,
				     serial_hex_out, not_after_out, req,
				     req_pub, &leaf, lifetime));
cleanup:
	GENERAL_NAMES_free(san);
	return rc;
}

int ztp__ca_issue_req(ztp_ca *ca, X509 **out_cert,
		      char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		      int64_t *not_after_out, X509_REQ *req, EVP_PKEY *req_pub,
		      const char *device_id, const char *tenant,
		      const char *profile, int64_t lifetime)
{
	return issue(ca, out_cert, NULL, NULL, serial_hex_out, not_after_out,
		     req, req_pub, device_id, tenant, profile, lifetime);
}

int ztp__ca_issue_der(ztp_ca *ca, X509 **out_cert, uint8_t **der_out,
		      size_t *der_len,
		      char serial_hex_out[ZTP_CA_SERIAL_HEX_MAX + 1],
		      int64_t *not_after_out, EVP_PKEY *req_pub,
		      const char *device_id, const char *tenant,
		      const char *profile, int64_t lifetime)
{
	ZTP_ARG(der_out == NULL || der_len != NULL);
	if (der_out != NULL) {
		*der_out = NULL;
		*der_len = 0;
	}
	ZTP_ARG(req_pub != NULL);
	return issue(ca, out_cert, der_out, der_len, serial_hex_out,
		     not_after_out, NULL, req_pub, device_id, tenant, profile,
		     lifetime);
}

int ztp__ca_der_to_pem(char **out, const uint8_t *der, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n",
			  end[] = "-----END CERTIFICATE-----\n";
	int rc = ZTP_OK;
	char *b64 = NULL;
	ztp__buf b = {0};
	size_t n, i, outlen = 0;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(der != NULL && len > 0);
	ZTP_CHECK(ztp__b64_encode(&b64, der, len));
	n = strlen(b64);
	ZTP_CHECK(ztp__buf_append(&b, begin, sizeof(begin) - 1));
	for (i = 0; i < n; i += 64) {
		ZTP_CHECK(
		    ztp__buf_append(&b, b64 + i, n - i < 64 ? n - i : 64));
		ZTP_CHECK(ztp__buf_append_byte(&b, '\n'));
	}
	ZTP_CHECK(ztp__buf_append(&b, end, sizeof(end) - 1));
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, &outlen);
cleanup:
	ztp_free(b64);
	ztp__buf_free(&b);
	return rc;
}

const char *ztp__ca_pem(const ztp_ca *ca, size_t i)
{
	return ca != NULL && i < ca->n_pems ? ca->pems[i] : NULL;
}

int ztp_ca_issue_ex(ztp_ca *ca, char **cert_pem, char **serial_hex,
		    int64_t *not_after, const char *csr_pem, size_t csr_len,
		    const char *device_id, const char *tenant,
		    const char *profile, int64_t lifetime_seconds)
{
	int rc = ZTP_OK;
	X509_REQ *req = NULL;
	X509 *cert = NULL;
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	char *pem = NULL, *ser = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t na = 0;

	ZTP_ARG(cert_pem != NULL);
	*cert_pem = NULL;
	if (serial_hex != NULL)
		*serial_hex = NULL;
	ZTP_ARG(ca != NULL);
	ZTP_ARG(csr_pem != NULL);
	ZTP_ARG(csr_len > 0);
	ZTP_ARG(device_id != NULL);
	ZTP_ARG(profile != NULL);
	ZTP_CHECK(ztp__pem_csr(&req, csr_pem, csr_len));
	ZTP_CHECK(issue(ca, &cert, &der, &der_len, serial, &na, req, NULL,
			device_id, tenant, profile, lifetime_seconds));
	/* The certificate is recorded: from here on only memory can fail,
	 * and the caller may retry; the record stays as an unused serial. */
	ZTP_CHECK(ztp__ca_der_to_pem(&pem, der, der_len));
	if (serial_hex != NULL) {
		ser = ztp__strdup(serial);
		ZTP_ENSURE(ser != NULL, ZTP_ENOMEM, "ca: out of memory");
		*serial_hex = ser;
	}
	if (not_after != NULL)
		*not_after = na;
	*cert_pem = pem;
	pem = NULL;
cleanup:
	free(pem);
	ztp_free(der);
	X509_free(cert);
	X509_REQ_free(req);
	return rc;
}

int ztp_ca_issue(ztp_ca *ca, char **cert_pem, const char *csr_pem,
		 size_t csr_len, const char *device_id, const char *tenant,
		 const char *profile, int64_t lifetime_seconds)
{
	return ztp_ca_issue_ex(ca, cert_pem, NULL, NULL, csr_pem, csr_len,
			       device_id, tenant, profile, lifetime_seconds);
}

/* ---------------------------------------------------------- accessors */

int ztp_ca_cert_pem(ztp_ca *ca, char **out)
{
	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(ca != NULL);
	if (ca->cert == NULL)
		return ztp__err(ZTP_ESTATE, "ca: not loaded");
	return ztp__cert_to_pem(out, ca->cert);
}

int ztp_ca_chain_pem(ztp_ca *ca, char **out)
{
	int rc = ZTP_OK;
	ztp__buf b = {0};
	char *pem = NULL;
	size_t len = 0;
	int i;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(ca != NULL);
	ZTP_ENSURE(ca->cert != NULL, ZTP_ESTATE, "ca: not loaded");
	ZTP_CHECK(ztp__cert_to_pem(&pem, ca->cert));
	ZTP_CHECK(ztp__buf_append_str(&b, pem));
	for (i = 0; i < sk_X509_num(ca->chain); i++) {
		free(pem);
		pem = NULL;
		ZTP_CHECK(ztp__cert_to_pem(&pem, sk_X509_value(ca->chain, i)));
		ZTP_CHECK(ztp__buf_append_str(&b, pem));
	}
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, &len);
cleanup:
	free(pem);
	ztp__buf_free(&b);
	return rc;
}
