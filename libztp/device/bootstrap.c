/*
 * libztp — the device side of bootstrap: CSR, transcript, answers, flow.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "device/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

int ztp__dev_transcript(ztp__buf *out, const char *device_id, const char *nonce,
			const uint8_t *csr_der, size_t csr_len)
{
	int rc = ZTP_OK;
	uint8_t h[ZTP__TRANSCRIPT_HASH_LEN];

	ZTP_CHECK(ztp__sha256(h, csr_der, csr_len));
	ZTP_CHECK(ztp__transcript(out, device_id, nonce, strlen(nonce), h));
cleanup:
	return rc;
}

int ztp__dev_make_csr(char **pem, uint8_t **der, size_t *der_len, EVP_PKEY *key,
		      const char *device_id)
{
	int rc = ZTP_OK;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	const EVP_MD *md = NULL;
	char type[16];
	unsigned char *d = NULL;
	int n;

	*pem = NULL;
	*der = NULL;
	*der_len = 0;
	ZTP_CHECK(ztp__key_describe(type, sizeof(type), key));
	if (strcmp(type, "ec-p384") == 0)
		md = EVP_sha384();
	else if (strcmp(type, "ed25519") != 0)
		md = EVP_sha256();
	req = X509_REQ_new();
	ZTP_ENSURE_OSSL(req != NULL, ZTP_ENOMEM, "CSR: out of memory");
	ZTP_ENSURE_OSSL(X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1,
			ZTP_ECRYPTO, "CSR: version");
	name = X509_REQ_get_subject_name(req);
	ZTP_ENSURE_OSSL(X509_NAME_add_entry_by_txt(
			    name, "CN", MBSTRING_UTF8,
			    (const unsigned char *)device_id, -1, -1, 0) == 1,
			ZTP_ECRYPTO, "CSR: subject");
	ZTP_ENSURE_OSSL(X509_REQ_set_pubkey(req, key) == 1, ZTP_ECRYPTO,
			"CSR: public key");
	ZTP_ENSURE_OSSL(X509_REQ_sign(req, key, md) > 0, ZTP_ECRYPTO,
			"CSR: signing");
	n = i2d_X509_REQ(req, &d);
	ZTP_ENSURE_OSSL(n > 0, ZTP_ECRYPTO, "CSR: DER encoding");
	ZTP_CHECK(ztp__csr_to_pem(pem, req));
	*der = ztp__memdup(d, (size_t)n);
	ZTP_ENSURE(*der != NULL, ZTP_ENOMEM, "CSR: out of memory");
	*der_len = (size_t)n;
cleanup:
	if (rc < 0) {
		free(*pem);
		*pem = NULL;
	}
	OPENSSL_free(d);
	X509_REQ_free(req);
	return rc;
}

int ztp__dev_parse_challenge(json_object *resp, bool want_time, char **nonce,
			     int64_t *expires_at, int64_t *server_time)
{
	int rc = ZTP_OK;
	const char *n = NULL, *e = NULL, *t = NULL;
	size_t len = 0, tlen = 0;

	*nonce = NULL;
	*server_time = -1;
	ZTP_CHECK(ztp__json_only_keys(resp,
				      want_time ? ztp__challenge_time_members
						: ztp__challenge_members,
				      "challenge answer"));
	ZTP_CHECK(
	    ztp__json_str(resp, "nonce", true, ZTP__DEV_NONCE_MAX, &n, &len));
	ZTP_ENSURE(ztp__nonce_syntax(n, len), ZTP_EPARSE,
		   "challenge answer: nonce empty or not printable ASCII");
	ZTP_CHECK(ztp__json_str(resp, "expires_at", true, 64, &e, NULL));
	ZTP_CHECK(ztp__time_parse(expires_at, e));
	if (want_time) {
		ZTP_ENSURE(json_object_object_get_ex(resp, "server_time", NULL),
			   ZTP_EPARSE,
			   "challenge answer: no \"server_time\" (the verifier "
			   "predates devices without a trustworthy clock)");
		ZTP_CHECK(
		    ztp__json_str(resp, "server_time", true, 32, &t, &tlen));
		ZTP_CHECK(ztp__dev_parse_utc(server_time, t, tlen,
					     "challenge answer: server_time"));
	}
	*nonce = ztp__strndup(n, len);
	ZTP_ENSURE(*nonce != NULL, ZTP_ENOMEM, "challenge: out of memory");
cleanup:
	return rc;
}

void ztp__dev_issued_free(ztp__dev_issued *is)
{
	X509_free(is->cert);
	sk_X509_pop_free(is->chain, X509_free);
	free(is->ns);
	memset(is, 0, sizeof(*is));
}

static int parse_pem_cert(X509 **out, json_object *v, const char *what)
{
	int rc = ZTP_OK;

	ZTP_ENSURE(json_object_is_type(v, json_type_string), ZTP_EPARSE,
		   "%s: not a string", what);
	ZTP_ENSURE((size_t)json_object_get_string_len(v) <= ZTP_PEM_MAX,
		   ZTP_ETOOBIG, "%s: over %d bytes", what, ZTP_PEM_MAX);
	ZTP_CHECK(ztp__pem_cert(out, json_object_get_string(v),
				(size_t)json_object_get_string_len(v)));
cleanup:
	return rc;
}

int ztp__dev_parse_issued(ztp__dev_issued *out, json_object *resp,
			  bool with_tenant, EVP_PKEY *key,
			  const char *device_id, int64_t now)
{
	bool same = false;
	int rc = ZTP_OK;
	json_object *v = NULL, *arr = NULL;
	X509 *c = NULL;
	const char *s = NULL;
	size_t len = 0, i, n;
	int64_t na = 0, cert_na = 0;
	char id[ZTP_ID_MAX + 1], ctenant[ZTP_ID_MAX + 1];
	bool cert_has_tenant;

	memset(out, 0, sizeof(*out));
	ZTP_CHECK(ztp__json_only_keys(
	    resp, with_tenant ? ztp__operational_members : ztp__issued_members,
	    "certificate answer"));
	if (with_tenant) {
		ZTP_CHECK(ztp__dev_parse_brokers(resp, "certificate answer"));
		ZTP_CHECK(
		    ztp__dev_parse_trust_bundle(resp, "certificate answer"));
	}
	ZTP_ENSURE(json_object_object_get_ex(resp, "certificate", &v),
		   ZTP_EPARSE, "certificate answer: no \"certificate\"");
	ZTP_CHECK(parse_pem_cert(&out->cert, v,
				 "certificate answer: "
				 "certificate"));
	ZTP_CHECK(ztp__json_array(resp, "chain", true, ZTP_CHAIN_MAX, &arr));
	out->chain = sk_X509_new_null();
	ZTP_ENSURE(out->chain != NULL, ZTP_ENOMEM, "answer: out of memory");
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		ZTP_CHECK(parse_pem_cert(&c, json_object_array_get_idx(arr, i),
					 "certificate answer: chain entry"));
		ZTP_ENSURE(sk_X509_push(out->chain, c) > 0, ZTP_ENOMEM,
			   "answer: out of memory");
		c = NULL;
	}
	ZTP_CHECK(ztp__json_str(resp, "not_after", true, 64, &s, NULL));
	ZTP_CHECK(ztp__time_parse(&na, s));

	ZTP_CHECK(ztp__pubkey_same(&same, X509_get0_pubkey(out->cert), key));
	ZTP_ENSURE(same, ZTP_EMISMATCH,
		   "certificate answer: the certificate is not for the key "
		   "this device generated");
	ZTP_CHECK(ztp__cert_device_id(id, out->cert));
	ZTP_ENSURE(strcmp(id, device_id) == 0, ZTP_EMISMATCH,
		   "certificate answer: the certificate names device \"%s\", "
		   "not \"%s\"",
		   id, device_id);
	ZTP_CHECK(ztp__asn1_time(&cert_na, X509_get0_notAfter(out->cert)));
	ZTP_ENSURE(cert_na == na, ZTP_EPARSE,
		   "certificate answer: not_after disagrees with the "
		   "certificate");
	ZTP_ENSURE(na > now, ZTP_EEXPIRED,
		   "certificate answer: the certificate expired at %s", s);
	out->not_after = na;

	if (!with_tenant)
		goto cleanup;
	rc = ztp__cert_san_id(ctenant, out->cert, ZTP_URN_TENANT);
	if (rc != ZTP_OK && rc != ZTP_ENOTFOUND)
		goto cleanup;
	cert_has_tenant = rc == ZTP_OK;
	rc = ZTP_OK;
	ztp_error_clear();
	if (json_object_object_get_ex(resp, "tenant", &v) && v != NULL) {
		ZTP_CHECK(
		    ztp__json_str(resp, "tenant", true, ZTP_ID_MAX, &s, &len));
		ZTP_CHECK(ztp__id_check(s, len, "tenant"));
		ZTP_ENSURE(cert_has_tenant && strcmp(s, ctenant) == 0,
			   ZTP_EMISMATCH,
			   "certificate answer: tenant \"%s\" is not the one "
			   "in the certificate",
			   s);
		memcpy(out->tenant, s, len + 1);
	} else {
		ZTP_ENSURE(!cert_has_tenant, ZTP_EMISMATCH,
			   "certificate answer: the certificate names tenant "
			   "\"%s\" but the answer names none",
			   ctenant);
	}
	if (json_object_object_get_ex(resp, "namespace", &v) && v != NULL) {
		ZTP_CHECK(ztp__json_str(resp, "namespace", true,
					ZTP__NAMESPACE_MAX, &s, &len));
		ZTP_ENSURE(ztp__namespace_syntax(s, len), ZTP_EPARSE,
			   "certificate answer: bad namespace");
		out->ns = ztp__strndup(s, len);
		ZTP_ENSURE(out->ns != NULL, ZTP_ENOMEM,
			   "answer: out of memory");
	}
cleanup:
	X509_free(c);
	if (rc < 0)
		ztp__dev_issued_free(out);
	return rc;
}

/* ------------------------------------------------------------------ flow */

void ztp__dev_step_event(ztp_device *dev, const char *op, const char *step,
			 json_object *extra)
{
	json_object *f = extra != NULL ? extra : json_object_new_object();

	if (f == NULL)
		return;
	if (ztp__json_add_str(f, "operation", op) < 0 ||
	    ztp__json_add_str(f, "step", step) < 0) {
		json_object_put(f);
		return;
	}
	ztp__dev_event(dev, "device.step", f);
}

void ztp__dev_fail_event(ztp_device *dev, const char *op, int rc)
{
	char detail[1024];
	json_object *f;

	snprintf(detail, sizeof(detail), "%s", ztp_error_last_message());
	f = json_object_new_object();
	if (f != NULL &&
	    ztp__json_add_str(f, "error", ztp_status_name(rc)) == 0 &&
	    ztp__json_add_str(f, "detail", detail) == 0)
		ztp__dev_step_event(dev, op, "failed", f);
	else
		json_object_put(f);
	(void)ztp__err(rc, "%s", detail);
}

static int pem_array(json_object **out, STACK_OF(X509) * certs)
{
	int rc = ZTP_OK;
	json_object *arr = NULL;
	char *pem = NULL;
	int i;

	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "request: out of memory");
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		json_object *s;

		ZTP_CHECK(ztp__cert_to_pem(&pem, sk_X509_value(certs, i)));
		s = json_object_new_string(pem);
		ZTP_ENSURE(s != NULL && json_object_array_add(arr, s) == 0,
			   ZTP_ENOMEM, "request: out of memory");
		free(pem);
		pem = NULL;
	}
	*out = arr;
	arr = NULL;
cleanup:
	free(pem);
	json_object_put(arr);
	return rc;
}

/* One challenge + bootstrap exchange for key. */
static int bootstrap_exchange(ztp_device *dev, const char *id, EVP_PKEY *key,
			      ztp__dev_issued *issued)
{
	int rc = ZTP_OK;
	ztp__dev_tls_id tls = {dev->cfg.factory_key, dev->cfg.factory_cert,
			       dev->cfg.factory_chain};
	json_object *req = NULL, *resp = NULL, *arr = NULL;
	char *csr_pem = NULL, *nonce = NULL, *fpem = NULL, *sig64 = NULL;
	uint8_t *csr_der = NULL, *sig = NULL;
	size_t csr_len = 0, siglen = 0;
	ztp__buf tr = {0};
	ztp__sigalg alg;
	int64_t expires = 0;

	ZTP_CHECK(ztp__dev_make_csr(&csr_pem, &csr_der, &csr_len, key, id));

	ZTP_CHECK(ztp__dev_challenge(dev, id, &tls, &nonce, &expires));
	ztp__dev_step_event(dev, "bootstrap", "challenge", NULL);

	ZTP_CHECK(ztp__dev_transcript(&tr, id, nonce, csr_der, csr_len));
	ZTP_CHECK(ztp__sigalg_for_key(&alg, dev->cfg.factory_key));
	ZTP_CHECK(ztp__sig_sign(&sig, &siglen, dev->cfg.factory_key, alg,
				tr.data, tr.len));
	ZTP_CHECK(ztp__b64_encode(&sig64, sig, siglen));
	ZTP_CHECK(ztp__cert_to_pem(&fpem, dev->cfg.factory_cert));

	req = json_object_new_object();
	ZTP_ENSURE(req != NULL, ZTP_ENOMEM, "request: out of memory");
	ZTP_CHECK(ztp__json_add_str(req, "device_id", id));
	ZTP_CHECK(ztp__json_add_str(req, "nonce", nonce));
	ZTP_CHECK(ztp__json_add_str(req, "csr", csr_pem));
	ZTP_CHECK(ztp__json_add_str(req, "factory_cert", fpem));
	if (dev->cfg.factory_chain != NULL &&
	    sk_X509_num(dev->cfg.factory_chain) > 0) {
		ZTP_CHECK(pem_array(&arr, dev->cfg.factory_chain));
		ZTP_CHECK(ztp__json_add(req, "factory_chain", arr));
		arr = NULL;
	}
	ZTP_CHECK(ztp__json_add_str(req, "signature", sig64));
	ZTP_CHECK(ztp__dev_call(dev, "bootstrap", req, &tls, &resp));
	ZTP_CHECK(ztp__dev_parse_issued(issued, resp, false, key, id,
					ztp__dev_now(dev)));
cleanup:
	json_object_put(arr);
	json_object_put(req);
	json_object_put(resp);
	free(csr_pem);
	free(csr_der);
	free(nonce);
	free(fpem);
	free(sig);
	free(sig64);
	ztp__buf_free(&tr);
	return rc;
}

json_object *ztp__dev_cert_fields(X509 *cert)
{
	json_object *f = json_object_new_object();
	int64_t na = 0;
	char ts[32];

	if (f == NULL)
		return NULL;
	if (ztp__asn1_time(&na, X509_get0_notAfter(cert)) == ZTP_OK) {
		ztp__time_rfc3339(ts, na);
		if (ztp__json_add_str(f, "not_after", ts) < 0) {
			json_object_put(f);
			return NULL;
		}
	}
	return f;
}

int ztp__dev_begin(ztp_device *dev, const char *op, char id[ZTP_ID_MAX + 1],
		   int *lock)
{
	int rc = ZTP_OK;

	*lock = -1;
	ZTP_CHECK(ztp__dev_id(dev, id));
	ZTP_ENSURE(dev->cfg.base_url != NULL, ZTP_EINVAL,
		   "%s: no server base URL configured", op);
	ZTP_ENSURE(dev->cfg.ca_file != NULL, ZTP_EINVAL,
		   "%s: no CA bundle configured", op);
	ZTP_ENSURE(dev->cfg.state_dir != NULL, ZTP_EINVAL,
		   "%s: no state directory configured", op);
	ZTP_CHECK(ztp__dev_state_open(dev->cfg.state_dir, lock));
	ZTP_CHECK(ztp__dev_clock_begin(dev));
cleanup:
	return rc;
}

void ztp__dev_end(ztp_device *dev, int lock)
{
	ztp__dev_conn_close(dev);
	ztp__dev_state_close(lock);
}

int ztp__dev_activate(ztp_device *dev, const char *op, ztp__dev_kind kind,
		      X509 *cert)
{
	int rc = ZTP_OK;
	ztp__dev_keys kb;
	const ztp__dev_keys *keys = ztp__dev_keys_of(&dev->cfg, &kb);
	json_object *f = NULL;
	bool done = false;
	char old = 0;

	ZTP_CHECK(
	    ztp__dev_pending_activate(dev->cfg.state_dir, kind, cert, &old));
	if (keys == NULL || old == 0)
		goto cleanup;
	ztp__dev_step_event(dev, op, "switched", NULL);
	rc = ztp__dev_slot_retire(dev->cfg.state_dir, keys, kind, old, &done);
	if (rc < 0) {
		f = json_object_new_object();
		if (f != NULL &&
		    (ztp__json_add_str(f, "error", ztp_status_name(rc)) < 0 ||
		     ztp__json_add_str(f, "detail", ztp_error_last_message()) <
			 0)) {
			json_object_put(f);
			f = NULL;
		}
		ztp__dev_step_event(dev, op, "retire_failed", f);
		ztp_error_clear();
		rc = ZTP_OK;
	} else if (done) {
		ztp__dev_step_event(dev, op, "retired", NULL);
	}
cleanup:
	return rc;
}

/* Store the pending credential and make it current. */
static int commit(ztp_device *dev, ztp__dev_kind kind, X509 *cert,
		  STACK_OF(X509) * chain)
{
	int rc = ZTP_OK;

	ZTP_CHECK(
	    ztp__dev_pending_store(dev->cfg.state_dir, kind, cert, chain));
	ZTP_CHECK(ztp__dev_activate(dev, ztp__dev_kind_name(kind), kind, cert));
cleanup:
	return rc;
}

int ztp__dev_bootstrap_locked(ztp_device *dev, const char *id)
{
	int rc = ZTP_OK, round;
	EVP_PKEY *key = NULL;
	ztp__dev_cred ready = {0};
	ztp__dev_issued issued = {0};
	const char *state = dev->cfg.state_dir;
	ztp__dev_keys kb;

	ZTP_ENSURE(dev->cfg.factory_key != NULL, ZTP_EINVAL,
		   "bootstrap: no factory identity configured");
	ztp__dev_step_event(dev, "bootstrap", "start", NULL);
	ZTP_CHECK(ztp__dev_pending_begin(
	    &key, &ready, state, ztp__dev_keys_of(&dev->cfg, &kb),
	    ZTP__DEV_BOOTSTRAP, dev->cfg.key_type, id, ztp__dev_now(dev)));
	if (ready.cert != NULL) {
		/* Power was lost after the certificate was stored but before
		 * it was made current. */
		ZTP_CHECK(
		    commit(dev, ZTP__DEV_BOOTSTRAP, ready.cert, ready.chain));
		ztp__dev_step_event(dev, "bootstrap", "resumed",
				    ztp__dev_cert_fields(ready.cert));
		goto cleanup;
	}
	ztp__dev_step_event(dev, "bootstrap", "key", NULL);

	/* A challenge that expired while the request was being retried, was
	 * consumed by an attempt whose answer was lost, or that a restarted
	 * verifier no longer recognises is replaced once with a fresh one. */
	for (round = 0;; round++) {
		rc = bootstrap_exchange(dev, id, key, &issued);
		if (rc == ZTP_EDENIED && round == 0 &&
		    (ztp__dev_refused_with(dev, rc, ZTP__W_CHALLENGE_EXPIRED) ||
		     ztp__dev_refused_with(dev, rc,
					   ZTP__W_CHALLENGE_REPLAYED) ||
		     ztp__dev_refused_with(dev, rc,
					   ZTP__W_CHALLENGE_INVALID))) {
			ztp__dev_step_event(dev, "bootstrap", "new_challenge",
					    NULL);
			continue;
		}
		ZTP_CHECK(rc);
		break;
	}
	ZTP_CHECK(commit(dev, ZTP__DEV_BOOTSTRAP, issued.cert, issued.chain));
	ztp__dev_step_event(dev, "bootstrap", "done",
			    ztp__dev_cert_fields(issued.cert));
cleanup:
	ztp__dev_issued_free(&issued);
	ztp__dev_cred_free(&ready);
	EVP_PKEY_free(key);
	return rc;
}

int ztp_device_bootstrap(ztp_device *dev)
{
	int rc = ZTP_OK;
	int lock = -1;
	char id[ZTP_ID_MAX + 1];

	ZTP_ARG(dev != NULL);
	ZTP_CHECK(ztp__dev_begin(dev, "bootstrap", id, &lock));
	ZTP_CHECK(ztp__dev_bootstrap_locked(dev, id));
cleanup:
	if (rc < 0)
		ztp__dev_fail_event(dev, "bootstrap", rc);
	ztp__dev_end(dev, lock);
	return rc;
}
