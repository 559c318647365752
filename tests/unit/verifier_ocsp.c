/*
 * Verifier: the OCSP responder (ztp_verifier_ocsp): good, revoked and
 * unknown answers from the registry, signed by the CA or a delegated
 * responder, the nonce, the update times, and the error responses for
 * requests it must not answer.
 */
#include "test_verifier.h"

#include <openssl/ocsp.h>

#include "ca/internal.h"

/* A CertID of the device CA for a hex serial, hashed with md. */
static OCSP_CERTID *ca_id(const EVP_MD *md, const char *hex)
{
	X509 *ca = ztp__ca_cert(dca);
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial;
	OCSP_CERTID *id;

	ck_assert_int_gt(BN_hex2bn(&bn, hex), 0);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	ck_assert_ptr_nonnull(serial);
	id = OCSP_cert_id_new(md, X509_get_subject_name(ca),
			      X509_get0_pubkey_bitstr(ca), serial);
	ck_assert_ptr_nonnull(id);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return id;
}

/* DER of a request about ids (taken), with a nonce of nonce_len octets. */
static uint8_t *request_der(size_t *len, OCSP_CERTID **ids, int n,
			    int nonce_len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL, nonce[64];
	int l;

	memset(nonce, 0xa5, sizeof(nonce));
	for (int i = 0; i < n; i++)
		ck_assert_ptr_nonnull(OCSP_request_add0_id(req, ids[i]));
	if (nonce_len > 0)
		ck_assert_int_eq(OCSP_request_add1_nonce(req, nonce, nonce_len),
				 1);
	l = i2d_OCSP_REQUEST(req, &der);
	ck_assert_int_gt(l, 0);
	*len = (size_t)l;
	OCSP_REQUEST_free(req);
	return der;
}

static OCSP_RESPONSE *ask(const uint8_t *der, size_t len)
{
	uint8_t *out = NULL;
	size_t olen = 0;
	const unsigned char *p;
	OCSP_RESPONSE *resp;

	ck_assert_rc(ztp_verifier_ocsp(v, &out, &olen, der, len), ZTP_OK);
	ck_assert_ptr_nonnull(out);
	p = out;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)olen);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_eq(p, out + olen);
	ztp_free(out);
	return resp;
}

static int ask_status(const uint8_t *der, size_t len)
{
	OCSP_RESPONSE *r = ask(der, len);
	int st = OCSP_response_status(r);

	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		ck_assert_ptr_null(OCSP_response_get1_basic(r));
	OCSP_RESPONSE_free(r);
	return st;
}

/* The basic response, verified with the device CA as the trust anchor
 * (the delegated signer, when there is one, travels in the response). */
static OCSP_BASICRESP *verified(OCSP_RESPONSE *resp, bool delegated)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *ca = sk_X509_new_null();
	OCSP_BASICRESP *bs;

	ck_assert_int_eq(OCSP_response_status(resp),
			 OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(X509_STORE_add_cert(st, ztp__ca_cert(dca)), 1);
	ck_assert_int_gt(sk_X509_push(ca, ztp__ca_cert(dca)), 0);
	/* A CA-signed response carries no certificate: the CA is given. */
	ck_assert_int_eq(OCSP_basic_verify(bs, delegated ? NULL : ca, st,
					   delegated ? 0 : OCSP_TRUSTOTHER),
			 1);
	if (delegated)
		ck_assert_int_eq(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	else
		ck_assert_int_le(sk_X509_num(OCSP_resp_get0_certs(bs)), 0);
	sk_X509_free(ca);
	X509_STORE_free(st);
	return bs;
}

/* The serial of a bootstrap certificate just issued to dev-1. */
static char *issued_serial(void)
{
	char *pem = bootstrap_cert(), hex[64];
	X509 *x = NULL;

	ck_assert_rc(ztp__pem_cert(&x, pem, strlen(pem)), ZTP_OK);
	ck_assert_rc(ztp__cert_serial_hex(hex, sizeof(hex), x), ZTP_OK);
	X509_free(x);
	free(pem);
	return strdup(hex);
}

START_TEST(ocsp_good_revoked_unknown)
{
	char *good = issued_serial(), *gone = issued_serial();
	OCSP_CERTID *ids[3];
	OCSP_BASICRESP *bs;
	OCSP_RESPONSE *resp;
	OCSP_REQUEST *req;
	const unsigned char *p;
	ASN1_GENERALIZEDTIME *rev, *thisu, *nextu;
	uint8_t *der;
	size_t len;
	int reason, st;
	int64_t t;
	char *text;

	ck_assert_rc(ztp_ca_revoke(dca, gone, ZTP_CA_REASON_KEY_COMPROMISE),
		     ZTP_OK);
	ids[0] = ca_id(EVP_sha1(), good);
	ids[1] = ca_id(EVP_sha256(), gone);
	ids[2] = ca_id(EVP_sha1(), "123456789abcdef");
	der = request_der(&len, ids, 3, 16);
	clk = T0 + 60;
	resp = ask(der, len);
	bs = verified(resp, false);
	ck_assert_int_eq(OCSP_resp_count(bs), 3);
	p = der;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	ck_assert_int_eq(OCSP_check_nonce(req, bs), 1);
	OCSP_REQUEST_free(req);
	for (int i = 0; i < 3; i++) {
		OCSP_SINGLERESP *one = OCSP_resp_get0(bs, i);

		st =
		    OCSP_single_get0_status(one, &reason, &rev, &thisu, &nextu);
		ck_assert_int_eq(st, i == 0   ? V_OCSP_CERTSTATUS_GOOD
				     : i == 1 ? V_OCSP_CERTSTATUS_REVOKED
					      : V_OCSP_CERTSTATUS_UNKNOWN);
		/* thisUpdate is the verifier's clock, nextUpdate an hour on */
		ck_assert_rc(ztp__asn1_time(&t, thisu), ZTP_OK);
		ck_assert_int_eq(t, clk);
		ck_assert_rc(ztp__asn1_time(&t, nextu), ZTP_OK);
		ck_assert_int_eq(t, clk + 3600);
		if (i == 1) {
			ck_assert_int_eq(reason, ZTP_CA_REASON_KEY_COMPROMISE);
			ck_assert_rc(ztp__asn1_time(&t, rev), ZTP_OK);
			ck_assert_int_eq(t, T0);
		}
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(der);

	/* counted as the ocsp endpoint */
	ck_assert_rc(ztp_verifier_metrics(v, &text), ZTP_OK);
	ck_assert_ptr_nonnull(
	    strstr(text, "\nztp_requests_total{endpoint=\"ocsp\",code=\"ok\"} "
			 "1\n"));
	ztp_free(text);
	free(good);
	free(gone);
}
END_TEST

START_TEST(ocsp_refusals)
{
	static const uint8_t garbage[] = "not DER at all";
	OCSP_CERTID *ids[ZTP_VERIFIER_OCSP_CERTS_MAX + 1];
	uint8_t *der, *big, *out = NULL;
	size_t len, olen;
	X509 *other = root;
	int status;
	char *resp = NULL;

	ck_assert_int_eq(ask_status(garbage, sizeof(garbage) - 1),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	ck_assert_int_eq(ask_status(NULL, 0),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);

	/* a good request with a byte after it */
	ids[0] = ca_id(EVP_sha1(), "ab");
	der = request_der(&len, ids, 1, 0);
	ck_assert_int_eq(ask_status(der, len), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	big = malloc(ZTP_VERIFIER_OCSP_REQUEST_MAX + 1);
	memset(big, 0, ZTP_VERIFIER_OCSP_REQUEST_MAX + 1);
	memcpy(big, der, len);
	ck_assert_int_eq(ask_status(big, len + 1),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	ck_assert_int_eq(ask_status(big, ZTP_VERIFIER_OCSP_REQUEST_MAX + 1),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	free(big);
	OPENSSL_free(der);

	/* a CertID whose hash algorithm parameters parse (as ANY) but do
	 * not encode again: malformed, never an internal error */
	ids[0] = ca_id(EVP_sha1(), "ab");
	der = request_der(&len, ids, 1, 0);
	{
		static const uint8_t sha1_null[] = {
		    0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00};
		size_t at = 0;

		while (at + sizeof(sha1_null) <= len &&
		       memcmp(der + at, sha1_null, sizeof(sha1_null)) != 0)
			at++;
		ck_assert_uint_lt(at + sizeof(sha1_null), len + 1);
		der[at + 7] = 0x20; /* NULL -> an empty constructed tag 0 */
	}
	ck_assert_int_eq(ask_status(der, len),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OPENSSL_free(der);

	/* one certificate too many; a nonce too long */
	for (int i = 0; i <= ZTP_VERIFIER_OCSP_CERTS_MAX; i++)
		ids[i] = ca_id(EVP_sha1(), "ab");
	der = request_der(&len, ids, ZTP_VERIFIER_OCSP_CERTS_MAX + 1, 0);
	ck_assert_int_eq(ask_status(der, len),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OPENSSL_free(der);
	ids[0] = ca_id(EVP_sha1(), "ab");
	der = request_der(&len, ids, 1, 33);
	ck_assert_int_eq(ask_status(der, len),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OPENSSL_free(der);
	ids[0] = ca_id(EVP_sha1(), "ab");
	der = request_der(&len, ids, 1, 32);
	ck_assert_int_eq(ask_status(der, len), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	OPENSSL_free(der);

	/* another issuer; the CA's name with another key; and one of two
	 * certificates of another issuer */
	ids[0] = OCSP_cert_to_id(EVP_sha1(), factory, issuing);
	der = request_der(&len, ids, 1, 0);
	ck_assert_int_eq(ask_status(der, len),
			 OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OPENSSL_free(der);
	{
		ASN1_INTEGER *one = ASN1_INTEGER_new();

		ASN1_INTEGER_set(one, 1);
		ids[0] = OCSP_cert_id_new(
		    EVP_sha1(), X509_get_subject_name(ztp__ca_cert(dca)),
		    X509_get0_pubkey_bitstr(other), one);
		ASN1_INTEGER_free(one);
	}
	der = request_der(&len, ids, 1, 0);
	ck_assert_int_eq(ask_status(der, len),
			 OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OPENSSL_free(der);
	ids[0] = ca_id(EVP_sha1(), "ab");
	ids[1] = OCSP_cert_to_id(EVP_sha1(), factory, issuing);
	der = request_der(&len, ids, 2, 0);
	ck_assert_int_eq(ask_status(der, len),
			 OCSP_RESPONSE_STATUS_UNAUTHORIZED);

	/* the global limit: tryLater */
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0.001, 1),
		     ZTP_OK);
	ck_assert_int_eq(ask_status(garbage, sizeof(garbage) - 1),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	ck_assert_int_eq(ask_status(der, len), OCSP_RESPONSE_STATUS_TRYLATER);
	OPENSSL_free(der);

	/* the JSON entry point refuses the endpoint */
	ck_assert_rc(
	    ztp_verifier_handle(v, &status, &resp, "ocsp", "{}", 2, NULL, 0),
	    ZTP_OK);
	ck_assert_int_eq(status, 400);
	ck_assert_ptr_nonnull(strstr(resp, "malformed_request"));
	ztp_free(resp);

	/* arguments */
	ck_assert_rc(ztp_verifier_ocsp(NULL, &out, &olen, garbage, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_ocsp(v, NULL, &olen, garbage, 1), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_ocsp(v, &out, &olen, NULL, 1), ZTP_EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(ocsp_not_configured)
{
	ztp_verifier *w = NULL;
	uint8_t *out = NULL;
	size_t olen = 0;
	const unsigned char *p;
	OCSP_RESPONSE *r;

	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(ztp_verifier_ocsp(w, &out, &olen, (const uint8_t *)"x", 1),
		     ZTP_OK);
	p = out;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)olen);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(OCSP_response_status(r),
			 OCSP_RESPONSE_STATUS_INTERNALERROR);
	OCSP_RESPONSE_free(r);
	ztp_free(out);
	ztp_verifier_free(w);
}
END_TEST

START_TEST(ocsp_delegated_signer)
{
	char *cert = NULL, *key = NULL, *serial = NULL, *scert = NULL;
	char *skey = NULL, *good = issued_serial(), *okey;
	OCSP_CERTID *ids[1];
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	X509 *x = NULL, *signer;
	EVP_PKEY *k2 = vpki_key("ec-p256");
	uint8_t *der;
	size_t len;

	ck_assert_rc(ztp_ca_issue_ocsp(dca, &cert, &key, &serial, NULL, NULL, 0,
				       NULL, 0),
		     ZTP_OK);
	/* the profile: OCSPSigning, ocsp-nocheck, not a CA, no SAN */
	ck_assert_rc(ztp__pem_cert(&x, cert, strlen(cert)), ZTP_OK);
	ck_assert(X509_get_extended_key_usage(x) & XKU_OCSP_SIGN);
	ck_assert_int_ge(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1),
			 0);
	ck_assert_int_lt(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), 0);
	ck_assert_int_eq(X509_check_ca(x), 0);
	ck_assert_rc(ztp_verifier_set_ocsp_signer(v, cert, strlen(cert), key,
						  strlen(key)),
		     ZTP_OK);
	ids[0] = ca_id(EVP_sha1(), good);
	der = request_der(&len, ids, 1, 8);
	resp = ask(der, len);
	bs = verified(resp, true);
	signer = sk_X509_value(OCSP_resp_get0_certs(bs), 0);
	ck_assert_int_eq(X509_cmp(signer, x), 0);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);

	/* refused signers: a server certificate (no OCSPSigning), a key
	 * that is not the certificate's, a certificate of another CA */
	ck_assert_rc(ztp_ca_issue_server(dca, &scert, &skey, NULL, NULL, NULL,
					 0, NULL, "{\"dns\":[\"ocsp.test\"]}",
					 0),
		     ZTP_OK);
	ck_assert_rc(ztp_verifier_set_ocsp_signer(v, scert, strlen(scert), skey,
						  strlen(skey)),
		     ZTP_EPROFILE);
	okey = vpki_key_pem(k2);
	ck_assert_rc(ztp_verifier_set_ocsp_signer(v, cert, strlen(cert), okey,
						  strlen(okey)),
		     ZTP_EMISMATCH);
	ck_assert_rc(ztp_verifier_set_ocsp_signer(v, factory_pem,
						  strlen(factory_pem), okey,
						  strlen(okey)),
		     ZTP_EMISMATCH);
	ck_assert_rc(
	    ztp_verifier_set_ocsp_signer(v, cert, strlen(cert), NULL, 0),
	    ZTP_EINVAL);
	/* the signer of before stays after a refusal; NULL, NULL drops it */
	resp = ask(der, len);
	bs = verified(resp, true);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ck_assert_rc(ztp_verifier_set_ocsp_signer(v, NULL, 0, NULL, 0), ZTP_OK);
	resp = ask(der, len);
	bs = verified(resp, false);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ck_assert_rc(ztp_verifier_set_ocsp_next_update(v, 59), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_ocsp_next_update(v, 600), ZTP_OK);

	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k2);
	free(okey);
	free(good);
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
	ztp_free(serial);
	ztp_free(scert);
	ztp__free_secret(skey, strlen(skey));
}
END_TEST

/* A signer from another CA: its own key matches, the issuer does not. */
START_TEST(ocsp_signer_other_ca)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	vpki_cert_opts o = {.cn = "OCSP Responder",
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "OCSPSigning",
			    .not_before = T0 - DAY,
			    .not_after = T0 + DAY};
	X509 *x = vpki_cert(&o, k, issuing, ikey);
	char *pem = vpki_pem(x), *kpem = vpki_key_pem(k);

	ck_assert_rc(ztp_verifier_set_ocsp_signer(v, pem, strlen(pem), kpem,
						  strlen(kpem)),
		     ZTP_EUNTRUSTED);
	free(pem);
	free(kpem);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

void verifier_tcases_ocsp(Suite *s)
{
	TCase *tc;

	ADD("ocsp", ocsp_good_revoked_unknown);
	ADD("ocsp", ocsp_refusals);
	ADD("ocsp", ocsp_not_configured);
	ADD("ocsp", ocsp_delegated_signer);
	ADD("ocsp", ocsp_signer_other_ca);
}
