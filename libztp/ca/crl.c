/*
 * libztp — revocation and certificate revocation lists.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ztp/store.h>

#include "ca/internal.h"
#include "core/keysrc.h"

#define CRL_HOURS_DEFAULT 168
#define CRL_HOURS_MAX 8784
/* A revoked list is trusted store output, but bounded all the same: a
 * million entries of ~80 bytes. */
#define CRL_JSON_MAX (96 * 1024 * 1024)

/* RFC 5280 CRLReason names; 7 is unused and removeFromCRL (8) belongs to
 * delta CRLs, which are not produced. */
static const char *const reason_names[] = {
    [ZTP_CA_REASON_UNSPECIFIED] = "unspecified",
    [ZTP_CA_REASON_KEY_COMPROMISE] = "keyCompromise",
    [ZTP_CA_REASON_CA_COMPROMISE] = "cACompromise",
    [ZTP_CA_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
    [ZTP_CA_REASON_SUPERSEDED] = "superseded",
    [ZTP_CA_REASON_CESSATION_OF_OPERATION] = "cessationOfOperation",
    [ZTP_CA_REASON_CERTIFICATE_HOLD] = "certificateHold",
    [ZTP_CA_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
    [ZTP_CA_REASON_AA_COMPROMISE] = "aACompromise",
};

const char *ztp_ca_reason_name(int reason)
{
	if (reason < 0 || (size_t)reason >= ZTP__ARRAY_LEN(reason_names))
		return NULL;
	return reason_names[reason];
}

int ztp_ca_reason_from_name(int *out, const char *name)
{
	size_t i;

	ZTP_ARG(out != NULL);
	ZTP_ARG(name != NULL);
	for (i = 0; i < ZTP__ARRAY_LEN(reason_names); i++) {
		if (reason_names[i] != NULL &&
		    strcmp(name, reason_names[i]) == 0) {
			*out = (int)i;
			return ZTP_OK;
		}
	}
	return ztp__err(ZTP_EINVAL, "ca: unknown revocation reason \"%.40s\"",
			name);
}

int ztp_ca_revoke(ztp_ca *ca, const char *serial_hex, int reason)
{
	int rc = ZTP_OK;
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];

	ZTP_ARG(ca != NULL);
	ZTP_ARG(serial_hex != NULL);
	ZTP_ENSURE(ztp_ca_reason_name(reason) != NULL, ZTP_EINVAL,
		   "ca: revocation reason %d not allowed", reason);
	ZTP_ENSURE(ca->store != NULL, ZTP_ESTATE,
		   "ca: no store to record the revocation in");
	ZTP_CHECK(ztp__ca_serial_normalize(serial, serial_hex));
	ZTP_CHECK(ztp_store_cert_revoke(ca->store, serial, reason,
					ztp__now(&ca->clock)));
cleanup:
	return rc;
}

static int crl_set_time(X509_CRL *crl, int64_t t, bool next)
{
	int rc = ZTP_OK;
	ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)t);

	ZTP_ENSURE_OSSL(at != NULL, ZTP_ECRYPTO, "crl: time");
	ZTP_ENSURE_OSSL((next ? X509_CRL_set1_nextUpdate(crl, at)
			      : X509_CRL_set1_lastUpdate(crl, at)) == 1,
			ZTP_ENOMEM, "crl: time");
cleanup:
	ASN1_TIME_free(at);
	return rc;
}

static int crl_add_entry(X509_CRL *crl, json_object *entry)
{
	int rc = ZTP_OK;
	const char *serial_str = NULL;
	size_t serial_len = 0;
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	int64_t when = 0, reason = 0;
	X509_REVOKED *rev = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	ASN1_TIME *at = NULL;
	ASN1_ENUMERATED *code = NULL;

	ZTP_ENSURE(json_object_is_type(entry, json_type_object), ZTP_EPARSE,
		   "crl: store returned a non-object revocation");
	ZTP_CHECK(ztp__json_str(entry, "serial", true, ZTP_CA_SERIAL_HEX_MAX,
				&serial_str, &serial_len));
	ZTP_CHECK(
	    ztp__json_int(entry, "revoked_at", true, 0, INT64_MAX, &when));
	ZTP_CHECK(ztp__json_int(entry, "reason", true, 0, 10, &reason));
	rc = ztp__ca_serial_normalize(serial, serial_str);
	ZTP_ENSURE(rc == ZTP_OK, ZTP_EPARSE,
		   "crl: store returned a malformed serial");

	ZTP_ENSURE(BN_hex2bn(&bn, serial) == (int)strlen(serial), ZTP_ENOMEM,
		   "crl: serial");
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	at = ASN1_TIME_set(NULL, (time_t)when);
	rev = X509_REVOKED_new();
	ZTP_ENSURE_OSSL(ai != NULL && at != NULL && rev != NULL, ZTP_ENOMEM,
			"crl: out of memory");
	ZTP_ENSURE_OSSL(X509_REVOKED_set_serialNumber(rev, ai) == 1 &&
			    X509_REVOKED_set_revocationDate(rev, at) == 1,
			ZTP_ENOMEM, "crl: out of memory");
	/* RFC 5280 5.3.1: the reason code is omitted rather than written as
	 * unspecified. */
	if (reason != ZTP_CA_REASON_UNSPECIFIED) {
		code = ASN1_ENUMERATED_new();
		ZTP_ENSURE_OSSL(
		    code != NULL &&
			ASN1_ENUMERATED_set(code, (long)reason) == 1 &&
			X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0,
						  X509V3_ADD_DEFAULT) == 1,
		    ZTP_ENOMEM, "crl: reason code");
	}
	ZTP_ENSURE_OSSL(X509_CRL_add0_revoked(crl, rev) == 1, ZTP_ENOMEM,
			"crl: out of memory");
	rev = NULL;
cleanup:
	BN_free(bn);
	ASN1_INTEGER_free(ai);
	ASN1_TIME_free(at);
	ASN1_ENUMERATED_free(code);
	X509_REVOKED_free(rev);
	return rc;
}

static int crl_to_pem(char **out, X509_CRL *crl)
{
	int rc = ZTP_OK;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	ZTP_ENSURE_OSSL(bio != NULL, ZTP_ENOMEM, "crl: out of memory");
	ZTP_ENSURE_OSSL(PEM_write_bio_X509_CRL(bio, crl) == 1, ZTP_ENOMEM,
			"crl: PEM encoding");
	len = BIO_get_mem_data(bio, &data);
	ZTP_ENSURE(len > 0, ZTP_EINTERNAL, "crl: empty PEM");
	*out = ztp__strndup(data, (size_t)len);
	ZTP_ENSURE(*out != NULL, ZTP_ENOMEM, "crl: out of memory");
cleanup:
	BIO_free(bio);
	return rc;
}

int ztp_ca_crl(ztp_ca *ca, char **crl_pem, int next_update_hours)
{
	int rc = ZTP_OK;
	char *json = NULL;
	json_object *list = NULL;
	X509_CRL *crl = NULL;
	ASN1_INTEGER *number = NULL;
	AUTHORITY_KEYID *akid = NULL;
	uint64_t n = 0;
	int64_t now;
	size_t i, count;

	ZTP_ARG(crl_pem != NULL);
	*crl_pem = NULL;
	ZTP_ARG(ca != NULL);
	ZTP_ARG(next_update_hours >= 0 && next_update_hours <= CRL_HOURS_MAX);
	ZTP_ENSURE(ca->cert != NULL, ZTP_ESTATE, "ca: not loaded");
	ZTP_ENSURE(ca->store != NULL, ZTP_ESTATE,
		   "ca: no store holding revocations");
	ZTP_ENSURE(ca->can_sign_crl, ZTP_EPROFILE,
		   "ca: certificate key usage lacks cRLSign");
	if (next_update_hours == 0)
		next_update_hours = CRL_HOURS_DEFAULT;
	now = ztp__now(&ca->clock);

	/* This CA's revocations, and those of unknown issuer (documented in
	 * ztp_store_revoked_list_issuer()). */
	ZTP_CHECK(ztp_store_revoked_list_issuer(ca->store, ca->key_id, &json));
	ZTP_CHECK(ztp__json_parse(&list, json, strlen(json), CRL_JSON_MAX, 3));
	ZTP_ENSURE(json_object_is_type(list, json_type_array), ZTP_EPARSE,
		   "crl: store returned a non-array revocation list");

	crl = X509_CRL_new();
	ZTP_ENSURE(crl != NULL, ZTP_ENOMEM, "crl: out of memory");
	ZTP_ENSURE_OSSL(X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
			    X509_CRL_set_issuer_name(crl, ca->name) == 1,
			ZTP_ENOMEM, "crl: out of memory");
	ZTP_CHECK(crl_set_time(crl, now, false));
	ZTP_CHECK(
	    crl_set_time(crl, now + (int64_t)next_update_hours * 3600, true));
	count = json_object_array_length(list);
	for (i = 0; i < count; i++)
		ZTP_CHECK(
		    crl_add_entry(crl, json_object_array_get_idx(list, i)));

	akid = AUTHORITY_KEYID_new();
	ZTP_ENSURE(akid != NULL, ZTP_ENOMEM, "crl: out of memory");
	akid->keyid = ASN1_OCTET_STRING_dup(ca->ski);
	ZTP_ENSURE(akid->keyid != NULL, ZTP_ENOMEM, "crl: out of memory");
	ZTP_ENSURE_OSSL(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier,
					      akid, 0, X509V3_ADD_DEFAULT) == 1,
			ZTP_ENOMEM, "crl: authority key identifier");

	/* Take the number last: a failure above must not burn one. */
	ZTP_CHECK(ztp_store_counter_next(ca->store, ca->crl_counter, &n));
	number = ASN1_INTEGER_new();
	ZTP_ENSURE_OSSL(number != NULL &&
			    ASN1_INTEGER_set_uint64(number, n) == 1,
			ZTP_ENOMEM, "crl: number");
	ZTP_ENSURE_OSSL(X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0,
					      X509V3_ADD_DEFAULT) == 1,
			ZTP_ENOMEM, "crl: number");

	ZTP_ENSURE_OSSL(X509_CRL_sort(crl) == 1, ZTP_ENOMEM,
			"crl: out of memory");
	if (X509_CRL_sign(crl, ca->key, ca->md) <= 0) {
		rc = ztp__keysrc_sign_error(ca->key_in_token,
					    "crl: CRL signature");
		goto cleanup;
	}
	ZTP_CHECK(crl_to_pem(crl_pem, crl));
cleanup:
	free(json);
	json_object_put(list);
	X509_CRL_free(crl);
	ASN1_INTEGER_free(number);
	AUTHORITY_KEYID_free(akid);
	return rc;
}
