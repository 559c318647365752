/*
 * libztp — the credential lifecycle endpoints (register, credentials,
 * rotate, assignment, crl), all authenticated by the TLS client
 * certificate of the connection.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A peer certificate is accepted for an endpoint when it was signed by the
 * device CA, is within its validity (with the leeway), names a device, is
 * recorded in the store under its serial with the same fingerprint, is
 * not revoked, has a profile the endpoint allows, and its device is not
 * blocked. Nothing from the request body changes who the device is or
 * which tenant it belongs to: the tenant always comes from the registry.
 *
 * Rotation overlap (overlap.c): a superseded operational certificate is
 * accepted until `rotation_overlap` seconds after its successor was
 * issued, then refused as revoked.
 *
 * Rate limits: the global bucket is taken before anything else; the
 * device's own bucket once the certificate is known to come from the
 * device CA, so that the device ID it names is one we issued, and before
 * the store is asked anything about it.
 */
#include "verifier/internal.h"
#include "store/records.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <ztp/policy.h>

#include "ca/internal.h"

#define PEER_BOOTSTRAP 0x1
#define PEER_OPERATIONAL 0x2

#define NAMESPACE_MAX 256

typedef struct peer {
	X509 *cert;
	char device_id[ZTP_ID_MAX + 1];
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	char profile[ZTP__STORE_PROFILE_MAX + 1];
	char state[ZTP__STORE_STATE_MAX + 1];
	char tenant[ZTP_ID_MAX + 1]; /* from the registry; "" if none */
	uint8_t *factory_key; /* SPKI DER from the registry, NULL if none */
	size_t factory_key_len;
} peer;

static void peer_free(peer *p)
{
	X509_free(p->cert);
	p->cert = NULL;
	free(p->factory_key);
	p->factory_key = NULL;
}

/* Whether key is the device's recorded factory key (false when none is
 * recorded). */
static int is_factory_key(bool *same, const peer *p, EVP_PKEY *key)
{
	const unsigned char *q = p->factory_key;
	EVP_PKEY *fk = NULL;
	int rc = ZTP_OK;

	*same = false;
	if (p->factory_key == NULL)
		return ZTP_OK;
	fk = d2i_PUBKEY(NULL, &q, (long)p->factory_key_len);
	ZTP_ENSURE_OSSL(fk != NULL && q == p->factory_key + p->factory_key_len,
			ZTP_ESTORE, "store: factory_key is not a public key");
	ZTP_CHECK(ztp__pubkey_same(same, key, fk));
cleanup:
	EVP_PKEY_free(fk);
	return rc;
}

/* Who is calling: see the file description. */
static int authenticate(ztp_verifier *v, ztp__vdec *d, peer *p, const char *pem,
			size_t len, int allowed, int64_t now)
{
	ztp__cert_rec rec;
	ztp__device_rec dev;
	char hex[65];
	uint8_t digest[32];
	int64_t nb, na;
	bool superseded = false;
	uint64_t nrev = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(&dev, 0, sizeof(dev));
	if (pem == NULL || len == 0)
		return ztp__reject(d, ZTP__W_PEER_CERTIFICATE_REQUIRED,
				   ZTP_EDENIED,
				   "this endpoint needs the device's TLS "
				   "client certificate");
	rc = ztp__pem_cert(&p->cert, pem, len);
	if (rc < 0)
		return ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE, rc,
				   "TLS peer certificate: %s",
				   ztp_error_last_message());
	ZTP_ENSURE(ztp__ca_cert(v->ca) != NULL, ZTP_ESTATE,
		   "device CA not loaded");
	/* The active device CA, or one still accepted during a rollover
	 * (cas.c); a retired one no longer is. */
	if (ztp__verifier_device_ca_of(v, p->cert) == NULL) {
		rc =
		    ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE, ZTP_EUNTRUSTED,
				"TLS peer certificate was not issued by an "
				"accepted device CA");
		goto cleanup;
	}
	if (ztp__asn1_time(&nb, X509_get0_notBefore(p->cert)) < 0 ||
	    ztp__asn1_time(&na, X509_get0_notAfter(p->cert)) < 0 ||
	    now < nb - v->leeway || now > na + v->leeway) {
		rc =
		    ztp__reject(d, ZTP__W_CERTIFICATE_EXPIRED, ZTP_EEXPIRED,
				"TLS peer certificate is outside its validity");
		goto cleanup;
	}
	rc = ztp__cert_device_id(p->device_id, p->cert);
	if (rc < 0) {
		rc = ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, rc, "%s",
				 ztp_error_last_message());
		goto cleanup;
	}
	rc = ztp__rl_take_device(v, &v->life_rl, "lifecycle", p->device_id, now,
				 &d->retry_after);
	if (rc == ZTP_ERATELIMIT) {
		rc = ztp__reject(d, ZTP__W_RATE_LIMITED, rc,
				 "too many requests from device %s; retry in "
				 "%lld s",
				 p->device_id, (long long)d->retry_after);
		goto cleanup;
	}
	ZTP_CHECK(rc);
	rc = ztp__cert_serial_hex(p->serial, sizeof(p->serial), p->cert);
	if (rc < 0) {
		rc = ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, rc, "%s",
				 ztp_error_last_message());
		goto cleanup;
	}
	ZTP_CHECK(ztp__cert_fingerprint(digest, p->cert));
	ztp__hex_encode(hex, digest, sizeof(digest));
	rc = ztp__store_cert_read(&rec, v->store, p->serial);
	if (rc == ZTP_ENOTFOUND) {
		rc = ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE, rc,
				 "TLS peer certificate is not on record");
		goto cleanup;
	}
	ZTP_CHECK(rc);
	snprintf(p->profile, sizeof(p->profile), "%s", rec.profile);
	if (strlen(rec.fingerprint) != 64 ||
	    CRYPTO_memcmp(rec.fingerprint, hex, 64) != 0) {
		rc = ztp__reject(
		    d, ZTP__W_UNTRUSTED_CERTIFICATE, ZTP_EMISMATCH,
		    "TLS peer certificate is not the one on record");
		goto cleanup;
	}
	if (rec.revoked) {
		rc = ztp__reject(d, ZTP__W_CERTIFICATE_REVOKED, ZTP_EREVOKED,
				 "TLS peer certificate is revoked");
		goto cleanup;
	}
	if (!((allowed & PEER_BOOTSTRAP) &&
	      strcmp(p->profile, ZTP_CA_PROFILE_BOOTSTRAP) == 0) &&
	    !((allowed & PEER_OPERATIONAL) &&
	      strcmp(p->profile, ZTP_CA_PROFILE_OPERATIONAL) == 0)) {
		rc = ztp__reject(d, ZTP__W_CERTIFICATE_NOT_ALLOWED, ZTP_EDENIED,
				 "a %s certificate cannot be used here",
				 p->profile);
		goto cleanup;
	}
	ZTP_CHECK(ztp__store_device_read(&dev, v->store, p->device_id));
	snprintf(p->state, sizeof(p->state), "%s", dev.state);
	snprintf(p->tenant, sizeof(p->tenant), "%s", dev.tenant);
	/* The record's key moves to the peer. */
	p->factory_key = dev.factory_key;
	p->factory_key_len = dev.factory_key_len;
	dev.factory_key = NULL;
	dev.factory_key_len = 0;
	if (strcmp(p->state, ZTP_STATE_REVOKED) == 0) {
		rc = ztp__reject(d, ZTP__W_DEVICE_BLOCKED, ZTP_EREVOKED,
				 "device %s is blocked", p->device_id);
		goto cleanup;
	}
	/* Any request of the device revokes what has fallen due; the
	 * presented certificate is judged by its deadline, not by whether
	 * that revocation was written. */
	ZTP_CHECK(ztp__overlap_sweep(v, p->device_id, p->serial, now,
				     &superseded, &nrev));
	if (nrev > 0)
		ztp__verifier_crl_changed(v);
	if (superseded) {
		rc = ztp__reject(d, ZTP__W_CERTIFICATE_REVOKED, ZTP_EREVOKED,
				 "TLS peer certificate was superseded by a "
				 "newer one and its rotation overlap has "
				 "ended");
		goto cleanup;
	}
cleanup:
	ztp__device_rec_clear(&dev);
	if (rc < 0)
		peer_free(p);
	return rc;
}

/* ---------------------------------------------------------------- endpoints */

static int str_array_add(json_object *arr, const char *s)
{
	json_object *o = json_object_new_string(s);

	if (o == NULL || json_object_array_add(arr, o) != 0) {
		json_object_put(o);
		return ztp__err(ZTP_ENOMEM, "out of memory");
	}
	return ZTP_OK;
}

/* The CA chain a device presents with its certificate (encoded when the
 * CA was loaded). */
static int add_chain(ztp_verifier *v, json_object *resp)
{
	json_object *chain = json_object_new_array();
	const char *pem;
	int rc = ZTP_OK;

	ZTP_ENSURE(chain != NULL, ZTP_ENOMEM, "out of memory");
	for (size_t i = 0; (pem = ztp__ca_pem(v->ca, i)) != NULL; i++)
		ZTP_CHECK(str_array_add(chain, pem));
	ZTP_CHECK(ztp__json_add(resp, "chain", chain));
	chain = NULL;
cleanup:
	json_object_put(chain);
	return rc;
}

static int namespace_prefix(char *out, size_t cap, const char *tenant,
			    const char *device)
{
	json_object *ns = NULL;
	char *json = NULL;
	const char *prefix = NULL;
	int rc;

	ZTP_CHECK(ztp_policy_namespace(&json, tenant, device));
	ZTP_CHECK(ztp__json_parse(&ns, json, strlen(json), 65536,
				  ZTP_JSON_MAX_DEPTH));
	ZTP_ENSURE(ns != NULL, ZTP_EINTERNAL, "policy namespace");
	ZTP_CHECK(ztp__json_str(ns, "prefix", true, cap - 1, &prefix, NULL));
	snprintf(out, cap, "%s", prefix);
cleanup:
	json_object_put(ns);
	ztp_free(json);
	return rc;
}

/* Validate a CSR from the body and issue an operational certificate. */
static int issue_operational(ztp_verifier *v, ztp__vdec *d, json_object *body,
			     const peer *p, json_object **resp,
			     char serial[ZTP_CA_SERIAL_HEX_MAX + 1])
{
	bool same = false;
	const char *pem = NULL;
	size_t len = 0;
	X509 *cert = NULL;
	EVP_PKEY *pub = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *cpem = NULL, ts[32];
	char ns[NAMESPACE_MAX];
	const char *tenant = p->tenant[0] != '\0' ? p->tenant : NULL;
	int64_t not_after = 0;
	int rc;

	rc = ztp__json_str(body, "csr", true, 16 * 1024, &pem, &len);
	if (rc < 0)
		return ztp__reject(d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	ZTP_CHECK(ztp__verifier_csr(d, &v->keypolicy, &v->csr_tmpl, &pub, NULL,
				    pem, len));
	ZTP_CHECK(ztp__pubkey_same(&same, pub, X509_get0_pubkey(p->cert)));
	if (same) {
		rc = ztp__reject(d, ZTP__W_CSR_KEY_REUSED, ZTP_EKEYPOLICY,
				 "csr: the key must be fresh, not the key of "
				 "the presented certificate");
		goto cleanup;
	}
	/* Nor the factory key: it would then also be an operational key. */
	ZTP_CHECK(is_factory_key(&same, p, pub));
	if (same) {
		rc = ztp__reject(d, ZTP__W_CSR_KEY_REUSED, ZTP_EKEYPOLICY,
				 "csr: the key must be fresh, not the "
				 "device's factory key");
		goto cleanup;
	}
	rc = ztp__ca_issue_der(
	    v->ca, &cert, &der, &der_len, serial, &not_after, pub, p->device_id,
	    tenant, ZTP_CA_PROFILE_OPERATIONAL, v->operational_lifetime);
	if (rc == ZTP_EKEYPOLICY) {
		rc = ztp__reject(d, ZTP__W_KEY_POLICY, rc, "csr: %s",
				 ztp_error_last_message());
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ztp__metrics_issued(v, ZTP_CA_PROFILE_OPERATIONAL);
	*resp = json_object_new_object();
	ZTP_ENSURE(*resp != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__ca_der_to_pem(&cpem, der, der_len));
	ZTP_CHECK(ztp__json_add_str(*resp, "certificate", cpem));
	ZTP_CHECK(add_chain(v, *resp));
	ztp__time_rfc3339(ts, not_after);
	ZTP_CHECK(ztp__json_add_str(*resp, "not_after", ts));
	if (tenant != NULL) {
		ZTP_CHECK(
		    namespace_prefix(ns, sizeof(ns), tenant, p->device_id));
		ZTP_CHECK(ztp__json_add_str(*resp, "tenant", tenant));
		ZTP_CHECK(ztp__json_add_str(*resp, "namespace", ns));
	} else {
		ZTP_CHECK(ztp__json_add_str(*resp, "tenant", NULL));
		ZTP_CHECK(ztp__json_add_str(*resp, "namespace", NULL));
	}
	ZTP_CHECK(ztp__verifier_brokers_add(v, *resp, tenant));
	ZTP_CHECK(ztp__verifier_trust_bundle_add(v, *resp));
cleanup:
	free(cpem);
	ztp_free(der);
	X509_free(cert);
	EVP_PKEY_free(pub);
	return rc;
}

static int do_register(ztp_verifier *v, ztp__vdec *d, json_object *body,
		       const peer *p, json_object **resp)
{
	json_object *caps = NULL, *info = NULL, *ci = NULL;
	const char *type = NULL, *fw = NULL;
	size_t tlen = 0, flen = 0;
	char *text = NULL;
	int rc;

	rc = ztp__json_only_keys(body, ztp__register_members,
				 "register request");
	if (rc == ZTP_OK)
		rc = ztp__json_str(body, "device_type", true, ZTP_ID_MAX, &type,
				   &tlen);
	if (rc == ZTP_OK)
		rc = ztp__json_str(body, "firmware_version", true,
				   ZTP__FIRMWARE_MAX, &fw, &flen);
	if (rc == ZTP_OK)
		rc = ztp__json_array(body, "capabilities", true,
				     ZTP__CAPABILITIES_MAX, &caps);
	if (rc < 0)
		return ztp__reject(d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	if (ztp__id_check(type, tlen, "device_type") < 0 ||
	    !ztp__firmware_syntax(fw, flen))
		return ztp__reject(d, ZTP__W_MALFORMED_REQUEST, ZTP_EPARSE,
				   "device_type must be an identifier and "
				   "firmware_version printable ASCII");
	info = json_object_new_object();
	ci = json_object_new_array();
	ZTP_ENSURE(info != NULL && ci != NULL, ZTP_ENOMEM, "out of memory");
	for (size_t i = 0; i < json_object_array_length(caps); i++) {
		json_object *c = json_object_array_get_idx(caps, i);
		const char *s = json_object_get_string(c);

		if (!json_object_is_type(c, json_type_string) ||
		    ztp__id_check(s, (size_t)json_object_get_string_len(c),
				  "capability") < 0) {
			rc =
			    ztp__reject(d, ZTP__W_MALFORMED_REQUEST, ZTP_EPARSE,
					"capabilities[%zu] must be an "
					"identifier",
					i);
			goto cleanup;
		}
		ZTP_CHECK(str_array_add(ci, s));
	}
	ZTP_CHECK(ztp__json_add_str(info, "device_type", type));
	ZTP_CHECK(ztp__json_add_str(info, "firmware_version", fw));
	ZTP_CHECK(ztp__json_add(info, "capabilities", ci));
	ci = NULL;
	ZTP_CHECK(ztp__json_dump(&text, info));
	ZTP_CHECK(ztp_store_device_set_info(v->store, p->device_id, text));
	if (strcmp(p->state, ZTP_STATE_BOOTSTRAPPED) == 0) {
		rc =
		    ztp_store_device_set_state(v->store, p->device_id, p->state,
					       ZTP_STATE_REGISTERED, NULL);
		if (rc < 0 && rc != ZTP_ESTATE)
			goto cleanup;
		rc = ZTP_OK;
	}
	*resp = json_object_new_object();
	ZTP_ENSURE(*resp != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(*resp, "device_id", p->device_id));
	ZTP_CHECK(ztp__json_add_str(
	    *resp, "state",
	    strcmp(p->state, ZTP_STATE_BOOTSTRAPPED) == 0 ? ZTP_STATE_REGISTERED
							  : p->state));
	ZTP_CHECK(ztp__json_add(*resp, "info", info));
	info = NULL;
cleanup:
	free(text);
	json_object_put(ci);
	json_object_put(info);
	return rc;
}

static int do_assignment(ztp_verifier *v, ztp__vdec *d, const peer *p,
			 json_object **resp)
{
	json_object *doc = NULL;
	char *json = NULL, ns[NAMESPACE_MAX];
	int rc;

	if (p->tenant[0] == '\0')
		return ztp__reject(d, ZTP__W_DEVICE_STATE, ZTP_ESTATE,
				   "device %s is not claimed by a tenant yet",
				   p->device_id);
	ZTP_CHECK(namespace_prefix(ns, sizeof(ns), p->tenant, p->device_id));
	ZTP_CHECK(ztp_policy_default_document(&json));
	ZTP_CHECK(ztp__json_parse(&doc, json, strlen(json), 1024 * 1024,
				  ZTP_JSON_MAX_DEPTH));
	*resp = json_object_new_object();
	ZTP_ENSURE(*resp != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(*resp, "tenant", p->tenant));
	ZTP_CHECK(ztp__json_add_str(*resp, "namespace", ns));
	ZTP_CHECK(ztp__json_add(*resp, "policy", doc));
	doc = NULL;
	ZTP_CHECK(ztp__verifier_brokers_add(v, *resp, p->tenant));
	ZTP_CHECK(ztp__verifier_trust_bundle_add(v, *resp));
cleanup:
	json_object_put(doc);
	ztp_free(json);
	return rc;
}

/* The approval hook's verdict on credentials for p; a tenant it names
 * binds an unbound device before the certificate is issued, so that the
 * certificate carries it. */
static int approve_credentials(ztp_verifier *v, ztp__vdec *d, peer *p,
			       int64_t now)
{
	ztp__hook_ctx c = {
	    .event = "credentials",
	    .device_id = p->device_id,
	    .state = p->state,
	    .tenant = p->tenant,
	    .may_assign = true,
	    .now = now,
	};
	ztp__hook_verdict verdict;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__verifier_approve(v, d, &c, &verdict));
	if (verdict.tenant[0] != '\0' && p->tenant[0] == '\0') {
		ZTP_CHECK(ztp__verifier_assign_tenant(v, p->device_id,
						      verdict.tenant));
		snprintf(p->tenant, sizeof(p->tenant), "%s", verdict.tenant);
	}
cleanup:
	json_object_put(verdict.attributes);
	return rc;
}

int ztp__verifier_lifecycle(ztp_verifier *v, ztp__vdec *d, const char *ep,
			    json_object *body, const char *peer_pem,
			    size_t peer_len, int64_t now, json_object **resp,
			    char device_id[ZTP_ID_MAX + 1],
			    char serial[ZTP_CA_SERIAL_HEX_MAX + 1])
{
	static const char *const csr_keys[] = {"csr", NULL};
	static const char *const no_keys[] = {NULL};
	peer p;
	int allowed, rc;

	memset(&p, 0, sizeof(p));
	*resp = NULL;
	if (strcmp(ep, "register") == 0)
		allowed = PEER_BOOTSTRAP;
	else if (strcmp(ep, "credentials") == 0)
		allowed = PEER_BOOTSTRAP | PEER_OPERATIONAL;
	else
		allowed = PEER_OPERATIONAL; /* rotate, assignment */
	if (strcmp(ep, "register") != 0) {
		rc = ztp__json_only_keys(
		    body, strcmp(ep, "assignment") == 0 ? no_keys : csr_keys,
		    ep);
		if (rc < 0)
			return ztp__reject(d, ZTP__W_MALFORMED_REQUEST, rc,
					   "%s", ztp_error_last_message());
	}
	ZTP_CHECK(authenticate(v, d, &p, peer_pem, peer_len, allowed, now));
	snprintf(device_id, ZTP_ID_MAX + 1, "%s", p.device_id);
	if (strcmp(ep, "register") == 0) {
		ZTP_CHECK(do_register(v, d, body, &p, resp));
	} else if (strcmp(ep, "assignment") == 0) {
		ZTP_CHECK(do_assignment(v, d, &p, resp));
	} else {
		/* credentials: registration comes first; rotate keeps the
		 * identity, so the presented certificate's tenant must still
		 * be the registry's. */
		if (strcmp(p.state, ZTP_STATE_REGISTERED) != 0 &&
		    strcmp(p.state, ZTP_STATE_ACTIVE) != 0) {
			rc = ztp__reject(d, ZTP__W_DEVICE_STATE, ZTP_ESTATE,
					 "device %s is %s: register first",
					 p.device_id, p.state);
			goto cleanup;
		}
		if (strcmp(ep, "rotate") == 0) {
			char ct[ZTP_ID_MAX + 1] = "";
			int trc = ztp__cert_san_id(ct, p.cert, ZTP_URN_TENANT);

			if ((trc < 0 && trc != ZTP_ENOTFOUND) ||
			    strcmp(ct, p.tenant) != 0) {
				rc = ztp__reject(d, ZTP__W_DEVICE_STATE,
						 ZTP_ESTATE,
						 "the certificate's tenant is "
						 "not the device's: request "
						 "credentials instead");
				goto cleanup;
			}
		}
		if (strcmp(ep, "credentials") == 0)
			ZTP_CHECK(approve_credentials(v, d, &p, now));
		ZTP_CHECK(issue_operational(v, d, body, &p, resp, serial));
		/* Whatever operational certificate the device held is now
		 * superseded; remember when to revoke it. A failure here
		 * loses no certificate: the next sweep of the device finds
		 * it. */
		if (v->rotation_overlap <= INT64_MAX / 2 - now)
			(void)ztp__overlap_note(v, p.device_id,
						now + v->rotation_overlap);
	}
cleanup:
	peer_free(&p);
	return rc;
}
