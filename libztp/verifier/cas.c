/*
 * libztp — device-CA rollover: the device CAs whose certificates the
 * lifecycle endpoints accept besides the active one (which alone issues),
 * their retirement, and the trust bundle devices are handed in
 * credentials and assignment answers (ztp_verifier_add_device_ca,
 * ztp_verifier_retire_device_ca, ztp_verifier_set_trust_bundle;
 * "device_ca_previous" and "trust_bundle" in ztp-verify.json(5)).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "verifier/internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca/internal.h"

/* A certificate that may sign others: basicConstraints CA:TRUE (and
 * keyCertSign when keyUsage is present). */
static int check_ca_cert(X509 *c, const char *what)
{
	if (X509_check_ca(c) != 1)
		return ztp__err(ZTP_EPROFILE, "%s: not a CA certificate", what);
	return ZTP_OK;
}

static bool same_cert(X509 *a, X509 *b)
{
	uint8_t fa[32], fb[32];

	return ztp__cert_fingerprint(fa, a) == ZTP_OK &&
	       ztp__cert_fingerprint(fb, b) == ZTP_OK &&
	       CRYPTO_memcmp(fa, fb, sizeof(fa)) == 0;
}

int ztp_verifier_add_device_ca(ztp_verifier *v, const char *pem, size_t len)
{
	X509 *c = NULL, *active;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(pem != NULL);
	ZTP_CHECK(ztp__pem_cert(&c, pem, len));
	ZTP_CHECK(check_ca_cert(c, "device CA"));
	active = v->ca != NULL ? ztp__ca_cert(v->ca) : NULL;
	ZTP_ENSURE(active == NULL || !same_cert(active, c), ZTP_EEXISTS,
		   "device CA: it is the active one");
	for (int i = 0; i < sk_X509_num(v->device_cas); i++)
		ZTP_ENSURE(!same_cert(sk_X509_value(v->device_cas, i), c),
			   ZTP_EEXISTS, "device CA: already accepted");
	ZTP_ENSURE(sk_X509_num(v->device_cas) < ZTP_DEVICE_CAS_MAX, ZTP_ETOOBIG,
		   "device CA: at most %d besides the active one",
		   ZTP_DEVICE_CAS_MAX);
	if (v->device_cas == NULL) {
		v->device_cas = sk_X509_new_null();
		ZTP_ENSURE_OSSL(v->device_cas != NULL, ZTP_ENOMEM,
				"out of memory");
	}
	ZTP_ENSURE_OSSL(sk_X509_push(v->device_cas, c) > 0, ZTP_ENOMEM,
			"out of memory");
	c = NULL;
cleanup:
	X509_free(c);
	return rc;
}

int ztp_verifier_retire_device_ca(ztp_verifier *v, const char *fingerprint)
{
	uint8_t want[32], fp[32];
	size_t n = 0;
	X509 *active;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(fingerprint != NULL);
	ZTP_ENSURE(strlen(fingerprint) == 64 &&
		       ztp__hex_decode(want, sizeof(want), &n, fingerprint,
				       64) == ZTP_OK &&
		       n == sizeof(want),
		   ZTP_EINVAL,
		   "device CA fingerprint: need 64 hex digits (SHA-256 of "
		   "the certificate's DER)");
	active = v->ca != NULL ? ztp__ca_cert(v->ca) : NULL;
	if (active != NULL) {
		ZTP_CHECK(ztp__cert_fingerprint(fp, active));
		ZTP_ENSURE(CRYPTO_memcmp(fp, want, sizeof(fp)) != 0, ZTP_ESTATE,
			   "device CA: the active one cannot be retired (make "
			   "another active first)");
	}
	for (int i = 0; i < sk_X509_num(v->device_cas); i++) {
		X509 *c = sk_X509_value(v->device_cas, i);

		ZTP_CHECK(ztp__cert_fingerprint(fp, c));
		if (CRYPTO_memcmp(fp, want, sizeof(fp)) == 0) {
			(void)sk_X509_delete(v->device_cas, i);
			X509_free(c);
			return ZTP_OK;
		}
	}
	rc = ztp__err(ZTP_ENOTFOUND, "device CA %s is not accepted",
		      fingerprint);
cleanup:
	return rc;
}

void ztp__verifier_device_cas_clear(ztp_verifier *v)
{
	sk_X509_pop_free(v->device_cas, X509_free);
	v->device_cas = NULL;
	json_object_put(v->trust_bundle);
	v->trust_bundle = NULL;
}

/* Whether ca issued cert: names chain and ca's key signed it. */
static bool issued_by(X509 *cert, X509 *ca)
{
	bool ok = X509_NAME_cmp(X509_get_issuer_name(cert),
				X509_get_subject_name(ca)) == 0 &&
		  X509_verify(cert, X509_get0_pubkey(ca)) == 1;

	ERR_clear_error();
	return ok;
}

X509 *ztp__verifier_device_ca_of(const ztp_verifier *v, X509 *cert)
{
	X509 *active = v->ca != NULL ? ztp__ca_cert(v->ca) : NULL;

	if (active != NULL && issued_by(cert, active))
		return active;
	for (int i = 0; i < sk_X509_num(v->device_cas); i++)
		if (issued_by(cert, sk_X509_value(v->device_cas, i)))
			return sk_X509_value(v->device_cas, i);
	return NULL;
}

int ztp_verifier_set_trust_bundle(ztp_verifier *v, const char *pem, size_t len)
{
	STACK_OF(X509) *certs = NULL;
	json_object *arr = NULL, *s;
	char *one = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	if (pem == NULL) {
		json_object_put(v->trust_bundle);
		v->trust_bundle = NULL;
		return ZTP_OK;
	}
	ZTP_CHECK(ztp__pem_certs(&certs, pem, len, ZTP_CHAIN_MAX));
	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "out of memory");
	for (int i = 0; i < sk_X509_num(certs); i++) {
		ZTP_CHECK(
		    check_ca_cert(sk_X509_value(certs, i), "trust bundle"));
		/* Re-encoded: one canonical PEM block each on the wire. */
		ZTP_CHECK(ztp__cert_to_pem(&one, sk_X509_value(certs, i)));
		s = json_object_new_string(one);
		ZTP_ENSURE(s != NULL, ZTP_ENOMEM, "out of memory");
		if (json_object_array_add(arr, s) != 0) {
			json_object_put(s);
			ZTP_ENSURE(false, ZTP_ENOMEM, "out of memory");
		}
		ztp_free(one);
		one = NULL;
	}
	json_object_put(v->trust_bundle);
	v->trust_bundle = arr;
	arr = NULL;
cleanup:
	ztp_free(one);
	json_object_put(arr);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int ztp__verifier_trust_bundle_add(ztp_verifier *v, json_object *resp)
{
	json_object *copy = NULL;

	if (v->trust_bundle == NULL)
		return ZTP_OK;
	/* A copy: the configured bundle is shared by every thread, and
	 * json-c's reference counts are not atomic. */
	if (json_object_deep_copy(v->trust_bundle, &copy, NULL) != 0)
		return ztp__err(ZTP_ENOMEM, "out of memory");
	return ztp__json_add(resp, "trust_bundle", copy);
}
