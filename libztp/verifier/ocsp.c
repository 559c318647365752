/*
 * libztp — the OCSP responder (RFC 6960) for the device CA's
 * certificates, answered from the registry.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every byte of DER is read and written by OpenSSL's OCSP functions;
 * nothing here parses ASN.1 by hand. Order of the checks (cheap first):
 *   configured → global rate limit → size → DER (whole input, nothing
 *   after it) → number of single requests → nonce length → each CertID:
 *   issuer name and key hashes are the device CA's → serial → registry.
 * A request that fails a check gets an OCSPResponse with no response
 * bytes and the matching status (malformedRequest, unauthorized,
 * tryLater, internalError); one that passes gets a BasicOCSPResponse
 * signed by the delegated responder (ztp_verifier_set_ocsp_signer()) or
 * else by the CA itself, with the request's nonce copied.
 */
#include "verifier/internal.h"
#include "store/records.h"
#include "ca/internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

/* RFC 8954 2.1: a nonce of 1 to 32 octets; longer ones are refused. */
#define NONCE_MAX 32

typedef struct answer {
	int status; /* OCSP_RESPONSE_STATUS_* */
	int wire;   /* what the metrics count it as */
	OCSP_BASICRESP *bs;
} answer;

static int refuse(answer *a, int status, int wire)
{
	a->status = status;
	a->wire = wire;
	return ZTP_OK;
}

/* The request's nonce, if any, is 1..NONCE_MAX octets: the extension's
 * value is an OCTET STRING holding the nonce's OCTET STRING. */
static bool nonce_ok(OCSP_REQUEST *req)
{
	int i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *inner = NULL;
	const unsigned char *p;
	bool ok;

	if (i < 0)
		return true;
	if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return false; /* two nonces */
	ext = OCSP_REQUEST_get_ext(req, i);
	p = ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext));
	inner = d2i_ASN1_OCTET_STRING(
	    NULL, &p, ASN1_STRING_length(X509_EXTENSION_get_data(ext)));
	ok = inner != NULL && ASN1_STRING_length(inner) >= 1 &&
	     ASN1_STRING_length(inner) <= NONCE_MAX &&
	     p == ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)) +
		      ASN1_STRING_length(X509_EXTENSION_get_data(ext));
	ASN1_OCTET_STRING_free(inner);
	return ok;
}

/* Whether cid names the device CA as issuer, hashed with the algorithm
 * the request chose. */
static int issuer_is_ca(bool *yes, const OCSP_CERTID *cid, X509 *ca)
{
	ASN1_OBJECT *md_oid = NULL;
	OCSP_CERTID *mine = NULL;
	const EVP_MD *md;
	int rc = ZTP_OK;

	*yes = false;
	ZTP_ENSURE_OSSL(OCSP_id_get0_info(NULL, &md_oid, NULL, NULL,
					  (OCSP_CERTID *)cid) == 1,
			ZTP_EPARSE, "ocsp: CertID");
	md = EVP_get_digestbyobj(md_oid);
	if (md == NULL)
		goto cleanup; /* not an algorithm this responder hashes with */
	mine = OCSP_cert_to_id(md, NULL, ca);
	ZTP_ENSURE_OSSL(mine != NULL, ZTP_ENOMEM, "ocsp: CertID");
	*yes = OCSP_id_issuer_cmp(mine, cid) == 0;
cleanup:
	OCSP_CERTID_free(mine);
	ERR_clear_error();
	return rc;
}

static ASN1_GENERALIZEDTIME *gtime(int64_t t)
{
	return ASN1_GENERALIZEDTIME_set(NULL, (time_t)t);
}

/* Add the status of one certificate to a->bs. */
static int one_status(ztp_verifier *v, answer *a, OCSP_CERTID *cid, int64_t now)
{
	ASN1_INTEGER *serial = NULL;
	ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL, *rev = NULL;
	char hex[ZTP__STORE_SERIAL_MAX + 1];
	ztp__cert_rec rec;
	int st = V_OCSP_CERTSTATUS_UNKNOWN,
	    reason = OCSP_REVOKED_STATUS_NOSTATUS;
	int rc = ZTP_OK;

	ZTP_ENSURE_OSSL(OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) == 1,
			ZTP_EPARSE, "ocsp: CertID");
	rc = ztp__serial_hex(hex, sizeof(hex), serial);
	if (rc == ZTP_EPROFILE) {
		/* Not positive, or longer than any serial the CA writes. */
		ztp_error_clear();
		rc = ZTP_OK;
	} else {
		ZTP_CHECK(rc);
		rc = ztp__store_cert_read(&rec, v->store, hex);
		if (rc == ZTP_ENOTFOUND) {
			ztp_error_clear();
			rc = ZTP_OK;
		} else if (rc == ZTP_OK &&
			   (rec.issuer[0] == '\0' ||
			    strcmp(rec.issuer, v->ca->key_id) == 0)) {
			/* A record of unknown issuer is the CA's as far as
			 * the CRL is concerned (ztp_ca_crl()); so here. */
			st = rec.revoked ? V_OCSP_CERTSTATUS_REVOKED
					 : V_OCSP_CERTSTATUS_GOOD;
			if (rec.revoked && rec.reason != 0)
				reason = rec.reason;
		}
		ZTP_CHECK(rc);
	}
	this_upd = gtime(now);
	next_upd = gtime(now + v->ocsp_next_update);
	ZTP_ENSURE_OSSL(this_upd != NULL && next_upd != NULL, ZTP_ENOMEM,
			"ocsp: time");
	if (st == V_OCSP_CERTSTATUS_REVOKED) {
		rev = gtime(rec.revoked_at);
		ZTP_ENSURE_OSSL(rev != NULL, ZTP_ENOMEM, "ocsp: time");
	}
	ZTP_ENSURE_OSSL(OCSP_basic_add1_status(a->bs, cid, st, reason, rev,
					       this_upd, next_upd) != NULL,
			ZTP_ENOMEM, "ocsp: single response");
cleanup:
	ASN1_GENERALIZEDTIME_free(this_upd);
	ASN1_GENERALIZEDTIME_free(next_upd);
	ASN1_GENERALIZEDTIME_free(rev);
	return rc;
}

static int sign(ztp_verifier *v, answer *a)
{
	X509 *cert = v->ocsp_cert != NULL ? v->ocsp_cert : v->ca->cert;
	EVP_PKEY *key = v->ocsp_cert != NULL ? v->ocsp_key : v->ca->key;
	const EVP_MD *md = v->ocsp_cert != NULL ? v->ocsp_md : v->ca->md;
	/* The responder by key hash (its name is not unique); the
	 * delegated certificate travels with the response so that clients
	 * can check it was issued by the CA for OCSP signing. */
	unsigned long flags = OCSP_RESPID_KEY;
	int rc = ZTP_OK;

	if (v->ocsp_cert == NULL)
		flags |= OCSP_NOCERTS;
	ZTP_ENSURE_OSSL(OCSP_basic_sign(a->bs, cert, key, md, NULL, flags) == 1,
			ZTP_ECRYPTO, "ocsp: signing the response");
cleanup:
	return rc;
}

static int decide(ztp_verifier *v, answer *a, const uint8_t *der, size_t len,
		  int64_t now)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *copy;
	const unsigned char *p = der;
	int64_t retry = 0;
	int n, rc = ZTP_OK;
	bool ours;

	if (v->ca == NULL || v->store == NULL)
		return refuse(a, OCSP_RESPONSE_STATUS_INTERNALERROR,
			      ZTP__W_NOT_CONFIGURED);
	if (ztp__rl_take_global(&v->rl, now, &retry) == ZTP_ERATELIMIT) {
		ztp_error_clear();
		ztp__metrics_rate_limited(v, ZTP__RL_SCOPE_GLOBAL);
		return refuse(a, OCSP_RESPONSE_STATUS_TRYLATER,
			      ZTP__W_RATE_LIMITED);
	}
	if (len > ZTP_VERIFIER_OCSP_REQUEST_MAX)
		return refuse(a, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
			      ZTP__W_REQUEST_TOO_LARGE);
	if (len > 0)
		req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	if (req == NULL || p != der + len) {
		refuse(a, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
		       ZTP__W_MALFORMED_REQUEST);
		goto cleanup;
	}
	n = OCSP_request_onereq_count(req);
	if (n < 1 || n > ZTP_VERIFIER_OCSP_CERTS_MAX || !nonce_ok(req)) {
		refuse(a, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
		       ZTP__W_MALFORMED_REQUEST);
		goto cleanup;
	}
	/* Every certificate asked about must be the device CA's: this
	 * responder speaks for no other issuer (RFC 6960 2.3). */
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *cid =
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));

		/* The response repeats each CertID, copied (encoded and
		 * parsed again): one that does not survive that (hash
		 * algorithm parameters that parse as ANY but do not
		 * round-trip) is malformed, not an internal error. */
		copy = OCSP_CERTID_dup(cid);
		OCSP_CERTID_free(copy);
		if (copy == NULL) {
			ERR_clear_error();
			refuse(a, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
			       ZTP__W_MALFORMED_REQUEST);
			goto cleanup;
		}
		ZTP_CHECK(issuer_is_ca(&ours, cid, v->ca->cert));
		if (!ours) {
			refuse(a, OCSP_RESPONSE_STATUS_UNAUTHORIZED,
			       ZTP__W_ISSUER_NOT_ALLOWED);
			goto cleanup;
		}
	}
	a->bs = OCSP_BASICRESP_new();
	ZTP_ENSURE_OSSL(a->bs != NULL, ZTP_ENOMEM, "ocsp: response");
	for (int i = 0; i < n; i++)
		ZTP_CHECK(one_status(
		    v, a, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)),
		    now));
	ZTP_ENSURE_OSSL(OCSP_copy_nonce(a->bs, req) > 0, ZTP_ENOMEM,
			"ocsp: nonce");
	ZTP_CHECK(sign(v, a));
	a->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	a->wire = ZTP__W_NONE;
cleanup:
	if (rc < 0) {
		if (rc == ZTP_ESTORE) {
			ztp__metrics_store_error(v, ZTP__M_STORE_REQUEST);
			refuse(a, OCSP_RESPONSE_STATUS_TRYLATER,
			       ZTP__W_STORE_UNAVAILABLE);
		} else {
			refuse(a, OCSP_RESPONSE_STATUS_INTERNALERROR,
			       ZTP__W_INTERNAL_ERROR);
		}
		OCSP_BASICRESP_free(a->bs);
		a->bs = NULL;
	}
	OCSP_REQUEST_free(req);
	return rc;
}

int ztp_verifier_ocsp(ztp_verifier *v, uint8_t **response_der,
		      size_t *response_len, const uint8_t *request_der,
		      size_t request_len)
{
	int64_t started = ztp__metrics_clock();
	OCSP_RESPONSE *resp = NULL;
	unsigned char *out = NULL;
	answer a = {OCSP_RESPONSE_STATUS_INTERNALERROR, ZTP__W_INTERNAL_ERROR,
		    NULL};
	int n, rc = ZTP_OK;

	ZTP_ARG(response_der != NULL);
	ZTP_ARG(response_len != NULL);
	*response_der = NULL;
	*response_len = 0;
	ZTP_ARG(v != NULL);
	ZTP_ARG(request_der != NULL || request_len == 0);

	(void)decide(v, &a, request_der, request_len, ztp__now(&v->clock));
	resp = OCSP_response_create(a.status, a.bs);
	ZTP_ENSURE_OSSL(resp != NULL, ZTP_ENOMEM, "ocsp: response");
	n = i2d_OCSP_RESPONSE(resp, &out);
	ZTP_ENSURE_OSSL(n > 0, ZTP_ENOMEM, "ocsp: encoding the response");
	*response_der = ztp__memdup(out, (size_t)n);
	ZTP_ENSURE(*response_der != NULL, ZTP_ENOMEM, "out of memory");
	*response_len = (size_t)n;
cleanup:
	ztp__metrics_request(v, ZTP__E_OCSP, a.wire, started);
	OPENSSL_free(out);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(a.bs);
	ERR_clear_error();
	return rc;
}

/* ---------------------------------------------------------------- signer */

void ztp__verifier_ocsp_clear(ztp_verifier *v)
{
	X509_free(v->ocsp_cert);
	EVP_PKEY_free(v->ocsp_key);
	v->ocsp_cert = NULL;
	v->ocsp_key = NULL;
	v->ocsp_md = NULL;
}

int ztp_verifier_set_ocsp_signer(ztp_verifier *v, const char *cert_pem,
				 size_t cert_len, const char *key_pem,
				 size_t key_len)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	const EVP_MD *md = NULL;
	char type[32];
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	if (cert_pem == NULL && key_pem == NULL) {
		ztp__verifier_ocsp_clear(v);
		return ZTP_OK;
	}
	ZTP_ARG(cert_pem != NULL && key_pem != NULL);
	ZTP_ENSURE(v->ca != NULL, ZTP_ESTATE,
		   "ocsp signer: set the device CA first");
	ZTP_CHECK(ztp__pem_cert(&cert, cert_pem, cert_len));
	ZTP_CHECK(ztp__pem_privkey(&key, key_pem, key_len, NULL));
	ZTP_ENSURE(X509_check_private_key(cert, key) == 1, ZTP_EMISMATCH,
		   "ocsp signer: the key is not the certificate's");
	/* RFC 6960 4.2.2.2: issued by the CA it answers for, for OCSP
	 * signing; clients refuse anything else. */
	ZTP_ENSURE(X509_check_issued(v->ca->cert, cert) == X509_V_OK &&
		       X509_verify(cert, X509_get0_pubkey(v->ca->cert)) == 1,
		   ZTP_EUNTRUSTED, "ocsp signer: not issued by the device CA");
	ZTP_ENSURE((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) &&
		       (X509_get_extended_key_usage(cert) & XKU_OCSP_SIGN),
		   ZTP_EPROFILE,
		   "ocsp signer: no extendedKeyUsage id-kp-OCSPSigning");
	ZTP_ENSURE(X509_check_ca(cert) == 0, ZTP_EPROFILE,
		   "ocsp signer: a CA certificate");
	ZTP_CHECK(ztp__ca_md_for_key(&md, type, key));
	ztp__verifier_ocsp_clear(v);
	v->ocsp_cert = cert;
	v->ocsp_key = key;
	v->ocsp_md = md;
	cert = NULL;
	key = NULL;
cleanup:
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}
