/*
 * libztp — the request entry point: challenge and bootstrap endpoints,
 * events, counters and the stand-alone certificate check.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Order of the bootstrap checks (cheap before expensive, and nothing that
 * changes state before every check has passed):
 *   global rate limit → size cap → strict JSON → device ID → the
 *   device's rate limit (in the store) → challenge token
 *   (HMAC, device binding, lifetime) → factory certificate, peer
 *   certificate → chain and device profile → registry record (exists, not
 *   blocked, fingerprint, factory cert not revoked) → CSR (parse,
 *   self-signature, key policy, not the factory key) → transcript
 *   signature → consume the challenge (single use, atomic in the store) →
 *   issue (recorded in the store before it is returned) → device state
 *   → the factory key, when the registry does not hold it yet.
 * A rejected request changes nothing but the rate-limit buckets, the
 * counters and the event log. The challenge is consumed only once every
 * check has passed, so a request that fails a check does not burn the
 * device's challenge, and two racing copies of one valid request get one
 * certificate: the store's atomic challenge_use lets exactly one through.
 */
#include "verifier/internal.h"
#include "store/records.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "ca/internal.h"

#define JSON_DEPTH 4
#define PEM_FIELD_MAX (16 * 1024)
#define SIG_FIELD_MAX 2048

static const char *const challenge_keys[] = {"device_id", "server_time", NULL};
static const char *const bootstrap_keys[] = {
    "device_id",     "nonce",	  "csr", "factory_cert",
    "factory_chain", "signature", NULL};

/* ---------------------------------------------------------------- counters */

void ztp__verifier_count(ztp_verifier *v, int endpoint_kind, int wire)
{
	pthread_mutex_lock(&v->stats_lock);
	v->n_requests++;
	if (endpoint_kind == ZTP__EP_CHALLENGE)
		v->n_challenges++;
	else if (endpoint_kind == ZTP__EP_BOOTSTRAP)
		v->n_bootstraps++;
	if (wire == ZTP__W_NONE) {
		v->n_accepted++;
	} else {
		v->n_rejected++;
		if (wire >= 0 && wire < ZTP__W_COUNT)
			v->n_by_code[wire]++;
	}
	pthread_mutex_unlock(&v->stats_lock);
}

int ztp_verifier_stats(ztp_verifier *v, char **json)
{
	json_object *o = NULL, *by = NULL;
	uint64_t c[6], by_code[ZTP__W_COUNT];
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(json != NULL);
	*json = NULL;
	pthread_mutex_lock(&v->stats_lock);
	c[0] = v->n_requests;
	c[1] = v->n_challenges;
	c[2] = v->n_bootstraps;
	c[3] = v->n_accepted;
	c[4] = v->n_rejected;
	c[5] = v->n_suppressed;
	memcpy(by_code, v->n_by_code, sizeof(by_code));
	pthread_mutex_unlock(&v->stats_lock);

	o = json_object_new_object();
	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_int(o, "requests", (int64_t)c[0]));
	ZTP_CHECK(ztp__json_add_int(o, "challenges", (int64_t)c[1]));
	ZTP_CHECK(ztp__json_add_int(o, "bootstraps", (int64_t)c[2]));
	ZTP_CHECK(ztp__json_add_int(o, "accepted", (int64_t)c[3]));
	ZTP_CHECK(ztp__json_add_int(o, "rejected", (int64_t)c[4]));
	ZTP_CHECK(ztp__json_add_int(o, "events_suppressed", (int64_t)c[5]));
	by = json_object_new_object();
	ZTP_ENSURE(by != NULL, ZTP_ENOMEM, "out of memory");
	for (int i = 0; i < ZTP__W_COUNT; i++)
		if (by_code[i] > 0)
			ZTP_CHECK(ztp__json_add_int(by, ztp__wire_name(i),
						    (int64_t)by_code[i]));
	ZTP_CHECK(ztp__json_add(o, "rejected_by_code", by));
	by = NULL;
	ZTP_CHECK(ztp__json_dump(json, o));
cleanup:
	json_object_put(by);
	json_object_put(o);
	return rc;
}

/* ---------------------------------------------------------------- events */

static int event_endpoint(const char *type)
{
	static const char *const names[ZTP__EVT_ENDPOINTS] = {
	    "bootstrap", "register", "credentials", "rotate", "assignment"};

	for (int i = 0; i < ZTP__EVT_ENDPOINTS; i++)
		if (strcmp(type, names[i]) == 0)
			return i;
	return -1;
}

bool ztp__refusal_durable(ztp_verifier *v, ztp__refusals *r, int64_t now,
			  uint64_t *suppressed)
{
	int64_t retry;
	bool durable;

	pthread_mutex_lock(&v->stats_lock);
	durable = ztp__bucket_take(&r->b, !r->used, 1.0 / ZTP__REFUSAL_INTERVAL,
				   ZTP__REFUSAL_BURST, now, &retry) == ZTP_OK;
	r->used = true;
	if (durable) {
		*suppressed = r->suppressed;
		r->suppressed = 0;
	} else {
		*suppressed = 0;
		r->suppressed++;
		v->n_suppressed++;
	}
	pthread_mutex_unlock(&v->stats_lock);
	return durable;
}

/* Whether a request's refusal event goes into the durable log (see
 * ztp__refusal_durable()). Accepted requests are bounded by issuance;
 * refusals by the budget of their endpoint and code, so that junk cannot
 * grow the log faster than that whatever the request rate. */
static bool refusal_durable(ztp_verifier *v, const char *type, int wire,
			    int64_t now, uint64_t *suppressed)
{
	int ep = event_endpoint(type);

	*suppressed = 0;
	/* Refusals by the rate limiter are what a flood produces. */
	if (wire == ZTP__W_RATE_LIMITED)
		return false;
	if (ep < 0 || wire < 0 || wire >= ZTP__W_COUNT)
		return true;
	return ztp__refusal_durable(v, &v->refusals[ep][wire], now, suppressed);
}

static void emit(ztp_verifier *v, const char *type, const ztp__vdec *d,
		 const char *device_id, const char *serial, int64_t now)
{
	json_object *ev = json_object_new_object();
	uint64_t suppressed = 0;
	bool durable = true;
	char ts[32];

	if (ev == NULL)
		return;
	ztp__time_rfc3339(ts, now);
	if (d->wire != ZTP__W_NONE)
		durable = refusal_durable(v, type, d->wire, now, &suppressed);
	if (ztp__json_add_str(ev, "type", type) < 0 ||
	    ztp__json_add_str(ev, "result",
			      d->wire == ZTP__W_NONE ? "accepted"
						     : "rejected") < 0)
		goto out;
	if (d->wire != ZTP__W_NONE &&
	    (ztp__json_add_str(ev, "code", ztp__wire_name(d->wire)) < 0 ||
	     ztp__json_add_str(ev, "message", d->message) < 0))
		goto out;
	if (d->wire != ZTP__W_NONE && d->detail[0] != '\0' &&
	    ztp__json_add_str(ev, "detail", d->detail) < 0)
		goto out;
	if (device_id != NULL && device_id[0] != '\0' &&
	    ztp__json_add_str(ev, "device_id", device_id) < 0)
		goto out;
	if (serial != NULL && serial[0] != '\0' &&
	    ztp__json_add_str(ev, "serial", serial) < 0)
		goto out;
	if (suppressed > 0 &&
	    ztp__json_add_int(ev, "suppressed", (int64_t)suppressed) < 0)
		goto out;
	if (ztp__json_add_str(ev, "time", ts) < 0)
		goto out;
	ztp__verifier_log(v, ev, durable);
out:
	json_object_put(ev);
}

void ztp__verifier_log(ztp_verifier *v, json_object *ev, bool durable)
{
	char *text = NULL;

	ztp__event_emit(&v->events, ev);
	/* The log is an audit trail, not the record of issuance (that is the
	 * certificate record), so a failure to append changes no decision. */
	if (durable && v->store != NULL &&
	    ztp__json_dump(&text, ev) == ZTP_OK) {
		int rc = ztp_store_event_append(v->store, text);

		if (rc == ZTP_ESTORE)
			ztp__metrics_store_error(v, ZTP__M_STORE_EVENT);
		/* Durable: a checkpoint may be due (audit.c). */
		if (rc == ZTP_OK)
			ztp__audit_appended(v, ztp__now(&v->clock));
	}
	free(text);
}

/* ---------------------------------------------------------------- requests */

typedef struct req {
	ztp_verifier *v;
	ztp__vdec d;
	int64_t now;
	char device_id[ZTP_ID_MAX + 1];
	/* bootstrap: the issuing CA of the factory certificate, and the
	 * group that enrolls the device once every check passed ("": the
	 * device is recorded) */
	uint8_t issuer_fp[32];
	char group_id[ZTP_ID_MAX + 1];
	char tenant[ZTP_ID_MAX + 1]; /* the device's; "" if none */
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	json_object *body;
	json_object *resp;
} req;

/* Map an unexpected failure of the library itself to a wire code. */
static int internal(req *r, int rc)
{
	if (r->d.wire != ZTP__W_NONE)
		return rc;
	/* The answer names no cause; the event keeps the library's. */
	snprintf(r->d.detail, sizeof(r->d.detail), "%s",
		 ztp_error_last_message());
	if (rc == ZTP_ESTORE) {
		ztp__metrics_store_error(r->v, ZTP__M_STORE_REQUEST);
		return ztp__reject(&r->d, ZTP__W_STORE_UNAVAILABLE, rc,
				   "the registry is unavailable; retry later");
	}
	if (rc == ZTP_ETOKEN || rc == ZTP_EPIN)
		return ztp__reject(&r->d, ZTP__W_CA_UNAVAILABLE, rc,
				   "the CA's key is unavailable (%s); nothing "
				   "was issued",
				   ztp_status_name(rc));
	return ztp__reject(&r->d, ZTP__W_INTERNAL_ERROR, rc,
			   "internal error (%s)", ztp_status_name(rc));
}

static int parse_body(req *r, const char *body, size_t len,
		      const char *const *keys, const char *what)
{
	int rc;

	if (len > r->v->max_request)
		return ztp__reject(&r->d, ZTP__W_REQUEST_TOO_LARGE, ZTP_ETOOBIG,
				   "request body of %zu bytes is over the "
				   "%zu-byte limit",
				   len, r->v->max_request);
	rc = ztp__json_parse(&r->body, body == NULL ? "" : body, len,
			     r->v->max_request, JSON_DEPTH);
	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	if (r->body == NULL || !json_object_is_type(r->body, json_type_object))
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, ZTP_EPARSE,
				   "%s: body is not a JSON object", what);
	rc = ztp__json_only_keys(r->body, keys, what);
	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	return ZTP_OK;
}

static int field(req *r, const char *key, bool required, size_t max,
		 const char **out, size_t *outlen)
{
	int rc = ztp__json_str(r->body, key, required, max, out, outlen);

	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	if (required && *outlen == 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, ZTP_EPARSE,
				   "field \"%s\" is empty", key);
	return ZTP_OK;
}

static int take_device_id(req *r)
{
	const char *id = NULL;
	size_t len = 0;
	int rc;

	rc = field(r, "device_id", true, 256, &id, &len);
	if (rc < 0)
		return rc;
	rc = ztp__id_check(id, len, "device_id");
	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	memcpy(r->device_id, id, len);
	r->device_id[len] = '\0';
	return ZTP_OK;
}

/* The device's own bucket (in the store when there is one), once its ID
 * is known. */
static int rate_limit(req *r)
{
	int64_t retry = 0;
	int rc = ztp__rl_take_device(r->v, &r->v->rl, "device", r->device_id,
				     r->now, &retry);

	if (rc == ZTP_ERATELIMIT) {
		r->d.retry_after = retry;
		return ztp__reject(&r->d, ZTP__W_RATE_LIMITED, rc,
				   "too many requests for device %s; retry in "
				   "%lld s",
				   r->device_id, (long long)retry);
	}
	return rc;
}

/* Admission control: the global bucket, before the body is even parsed,
 * so that what a flood costs (parsing, events) is bounded by its rate. */
static int rate_limit_global(req *r)
{
	int64_t retry = 0;
	int rc = ztp__rl_take_global(&r->v->rl, r->now, &retry);

	if (rc == ZTP_ERATELIMIT) {
		ztp__metrics_rate_limited(r->v, ZTP__RL_SCOPE_GLOBAL);
		r->d.retry_after = retry;
		return ztp__reject(&r->d, ZTP__W_RATE_LIMITED, rc,
				   "too many requests; retry in %lld s",
				   (long long)retry);
	}
	return rc;
}

static int peer_cert(req *r, X509 **out, const char *pem, size_t len)
{
	int rc;

	*out = NULL;
	if (pem == NULL || len == 0)
		return ZTP_OK;
	rc = ztp__pem_cert(out, pem, len);
	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_PEER_CERTIFICATE_MISMATCH, rc,
				   "TLS peer certificate: %s",
				   ztp_error_last_message());
	return ZTP_OK;
}

static int do_challenge(req *r, const char *body, size_t len,
			const char *peer_pem, size_t peer_len)
{
	char nonce[ZTP__CHAL_B64 + 1], ts[32], id[ZTP_ID_MAX + 1];
	X509 *peer = NULL;
	int64_t expires = 0;
	int rc = ZTP_OK;
	bool want_time = false;

	ZTP_CHECK(rate_limit_global(r));
	ZTP_CHECK(
	    parse_body(r, body, len, challenge_keys, "challenge request"));
	ZTP_CHECK(take_device_id(r));
	rc = ztp__json_bool(r->body, "server_time", false, &want_time);
	if (rc < 0) {
		rc = ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				 ztp_error_last_message());
		goto cleanup;
	}
	ZTP_CHECK(rate_limit(r));
	/* The factory certificate is optional here; when the connection has
	 * one it must name the device asking. */
	ZTP_CHECK(peer_cert(r, &peer, peer_pem, peer_len));
	if (peer != NULL && (ztp__cert_device_id(id, peer) < 0 ||
			     strcmp(id, r->device_id) != 0)) {
		rc = ztp__reject(&r->d, ZTP__W_PEER_CERTIFICATE_MISMATCH,
				 ZTP_EMISMATCH,
				 "TLS peer certificate does not name device %s",
				 r->device_id);
		goto cleanup;
	}
	ZTP_CHECK(
	    ztp__challenge_make(r->v, nonce, &expires, r->device_id, r->now));
	ztp__time_rfc3339(ts, expires);
	r->resp = json_object_new_object();
	ZTP_ENSURE(r->resp != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(r->resp, "nonce", nonce));
	ZTP_CHECK(ztp__json_add_str(r->resp, "expires_at", ts));
	/* Only when asked: a device that predates the member refuses an
	 * answer that carries it (a device without a clock, ztp_device). */
	if (want_time) {
		ztp__time_rfc3339(ts, r->now);
		ZTP_CHECK(ztp__json_add_str(r->resp, "server_time", ts));
	}
cleanup:
	X509_free(peer);
	return rc < 0 ? internal(r, rc) : rc;
}

int ztp__verifier_record_factory_key(ztp_verifier *v, const char *device_id,
				     X509 *cert)
{
	unsigned char *der = NULL;
	int n, rc = ZTP_OK;

	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	ZTP_ENSURE_OSSL(n > 0, ZTP_ENOMEM, "factory key");
	rc = ztp_store_device_set_factory_key(v->store, device_id, der,
					      (size_t)n);
cleanup:
	OPENSSL_free(der);
	return rc;
}

/* The registry's view of the device: exists, not blocked, the factory
 * certificate is the one recorded, and not revoked. *state receives the
 * device's state name, *have_key whether its factory key is recorded. */
static int check_registry(req *r, X509 *factory, char *state, size_t cap,
			  bool *have_key)
{
	ztp_verifier *v = r->v;
	ztp__device_rec dev;
	ztp__cert_rec cert;
	char hex[65], serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	uint8_t digest[32];
	int rc;

	memset(&dev, 0, sizeof(dev));
	ZTP_CHECK(ztp__cert_fingerprint(digest, factory));
	ztp__hex_encode(hex, digest, sizeof(digest));
	rc = ztp__store_device_read(&dev, v->store, r->device_id);
	if (rc == ZTP_ENOTFOUND) {
		/* Not enrolled one by one: a group may enroll it, once the
		 * request has passed every other check. */
		ZTP_CHECK(ztp__verifier_group_for(
		    v, &r->d, r->device_id, r->issuer_fp, r->now, r->group_id));
		snprintf(state, cap, "%s", ZTP_STATE_MANUFACTURED);
		*have_key = true; /* recorded with the device */
		goto revoked;
	}
	ZTP_CHECK(rc);
	*have_key = dev.factory_key != NULL;
	if (strcmp(dev.state, ZTP_STATE_REVOKED) == 0) {
		rc = ztp__reject(&r->d, ZTP__W_DEVICE_BLOCKED, ZTP_EREVOKED,
				 "device %s is blocked", r->device_id);
		goto cleanup;
	}
	if (strlen(dev.fingerprint) != 64 ||
	    CRYPTO_memcmp(hex, dev.fingerprint, 64) != 0) {
		rc = ztp__reject(&r->d, ZTP__W_FINGERPRINT_MISMATCH,
				 ZTP_EMISMATCH,
				 "factory certificate is not the one recorded "
				 "for device %s",
				 r->device_id);
		goto cleanup;
	}
	snprintf(state, cap, "%s", dev.state);
	snprintf(r->tenant, sizeof(r->tenant), "%s", dev.tenant);

revoked:
	/* A factory certificate that the store knows (issued by a CA that
	 * records into it) may have been revoked there. */
	rc = ztp__cert_serial_hex(serial, sizeof(serial), factory);
	if (rc == ZTP_EPROFILE) {
		/* Not a serial the store can hold, so not one it knows. */
		ztp_error_clear();
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	rc = ztp__store_cert_read(&cert, v->store, serial);
	if (rc == ZTP_ENOTFOUND) {
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	if (cert.revoked && strcmp(cert.fingerprint, hex) == 0) {
		rc =
		    ztp__reject(&r->d, ZTP__W_CERTIFICATE_REVOKED, ZTP_EREVOKED,
				"factory certificate of device %s is revoked",
				r->device_id);
		goto cleanup;
	}
cleanup:
	ztp__device_rec_clear(&dev);
	return rc;
}

static int parse_chain(req *r, STACK_OF(X509) * *out)
{
	json_object *arr = NULL, *el;
	X509 *c = NULL;
	size_t n;
	int rc;

	*out = NULL;
	rc = ztp__json_array(r->body, "factory_chain", false, ZTP_CHAIN_MAX,
			     &arr);
	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	if (arr == NULL)
		return ZTP_OK;
	*out = sk_X509_new_null();
	if (*out == NULL)
		return ztp__err(ZTP_ENOMEM, "out of memory");
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(el, json_type_string) ||
		    (size_t)json_object_get_string_len(el) > PEM_FIELD_MAX)
			return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST,
					   ZTP_EPARSE,
					   "factory_chain[%zu] is not a PEM "
					   "string",
					   i);
		rc = ztp__pem_cert(&c, json_object_get_string(el),
				   (size_t)json_object_get_string_len(el));
		if (rc < 0)
			return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc,
					   "factory_chain[%zu]: %s", i,
					   ztp_error_last_message());
		if (sk_X509_push(*out, c) <= 0) {
			X509_free(c);
			return ztp__err(ZTP_ENOMEM, "out of memory");
		}
	}
	return ZTP_OK;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **p, size_t *len)
{
	while (*len > 0 && is_space((*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*p)[*len - 1]))
		(*len)--;
}

/* Equal after trimming whitespace at both ends (a may be NULL). */
static bool same_text(const char *a, size_t alen, const char *b, size_t blen)
{
	if (a == NULL || alen == 0)
		return false;
	trim(&a, &alen);
	trim(&b, &blen);
	return alen == blen && memcmp(a, b, alen) == 0;
}

static bool same_der(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509(a, &da), lb = i2d_X509(b, &db);
	bool same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

static int check_csr(req *r, EVP_PKEY **out, X509 *factory,
		     uint8_t csr_hash[32])
{
	bool same = false;
	const char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *pub = NULL;
	int rc;

	*out = NULL;
	ZTP_CHECK(field(r, "csr", true, PEM_FIELD_MAX, &pem, &len));
	ZTP_CHECK(ztp__verifier_csr(&r->d, &r->v->keypolicy, &r->v->csr_tmpl,
				    &pub, csr_hash, pem, len));
	/* Key material, not encodings: the same EC point compressed or not
	 * is the same key. */
	ZTP_CHECK(ztp__pubkey_same(&same, pub, X509_get0_pubkey(factory)));
	if (same) {
		rc = ztp__reject(&r->d, ZTP__W_CSR_KEY_REUSED, ZTP_EKEYPOLICY,
				 "csr: the key must be fresh, not the factory "
				 "key");
		goto cleanup;
	}
	*out = pub;
	pub = NULL;
cleanup:
	EVP_PKEY_free(pub);
	return rc;
}

static int check_signature(req *r, EVP_PKEY *factory_key, const char *nonce,
			   size_t nonce_len, const uint8_t csr_hash[32])
{
	const char *sig64 = NULL;
	size_t len = 0, siglen = 0;
	uint8_t *sig = NULL;
	ztp__buf t = {0};
	ztp__sigalg alg;
	int rc;

	ZTP_CHECK(field(r, "signature", true, SIG_FIELD_MAX, &sig64, &len));
	rc = ztp__b64_decode(&sig, &siglen, sig64, len);
	if (rc < 0) {
		rc = ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc,
				 "signature: %s", ztp_error_last_message());
		goto cleanup;
	}
	ZTP_CHECK(ztp__sigalg_for_key(&alg, factory_key));
	ZTP_CHECK(
	    ztp__transcript(&t, r->device_id, nonce, nonce_len, csr_hash));
	rc = ztp__sig_verify(factory_key, alg, t.data, t.len, sig, siglen);
	if (rc == ZTP_EBADSIG)
		rc =
		    ztp__reject(&r->d, ZTP__W_BAD_SIGNATURE, rc,
				"signature over the transcript does not verify "
				"with the factory key");
cleanup:
	ztp__buf_free(&t);
	free(sig);
	return rc;
}

static int respond_issued(req *r, const uint8_t *der, size_t der_len,
			  int64_t not_after)
{
	json_object *chain = NULL;
	const char *capem;
	char *pem = NULL, ts[32];
	int rc = ZTP_OK;

	r->resp = json_object_new_object();
	ZTP_ENSURE(r->resp != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__ca_der_to_pem(&pem, der, der_len));
	ZTP_CHECK(ztp__json_add_str(r->resp, "certificate", pem));
	chain = json_object_new_array();
	ZTP_ENSURE(chain != NULL, ZTP_ENOMEM, "out of memory");
	/* The CA's certificate and chain, encoded when it was loaded. */
	for (size_t i = 0; (capem = ztp__ca_pem(r->v->ca, i)) != NULL; i++) {
		json_object *s = json_object_new_string(capem);

		ZTP_ENSURE(s != NULL, ZTP_ENOMEM, "out of memory");
		if (json_object_array_add(chain, s) != 0) {
			json_object_put(s);
			ZTP_ENSURE(false, ZTP_ENOMEM, "out of memory");
		}
	}
	ZTP_CHECK(ztp__json_add(r->resp, "chain", chain));
	chain = NULL;
	ztp__time_rfc3339(ts, not_after);
	ZTP_CHECK(ztp__json_add_str(r->resp, "not_after", ts));
cleanup:
	ztp_free(pem);
	json_object_put(chain);
	return rc;
}

/* The approval hook's verdict on a bootstrap that passed every check. */
static int approve(req *r, X509 *factory, const char *state,
		   ztp__hook_verdict *verdict)
{
	uint8_t fp[32];
	char hex[65];
	ztp__hook_ctx c = {
	    .event = "bootstrap",
	    .device_id = r->device_id,
	    .state = state,
	    .tenant = r->tenant,
	    .fingerprint = hex,
	    .group = r->group_id,
	    .may_assign = true,
	    .now = r->now,
	};
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__cert_fingerprint(fp, factory));
	ztp__hex_encode(hex, fp, sizeof(fp));
	ZTP_CHECK(ztp__verifier_approve(r->v, &r->d, &c, verdict));
cleanup:
	return rc;
}

static int do_bootstrap(req *r, const char *body, size_t len,
			const char *peer_pem, size_t peer_len)
{
	ztp_verifier *v = r->v;
	const char *nonce = NULL, *fpem = NULL;
	size_t nonce_len = 0, flen = 0;
	uint8_t chal_id[ZTP__CHAL_RANDOM], csr_hash[32];
	char cert_id[ZTP_ID_MAX + 1], state[32];
	int64_t chal_exp = 0, not_after = 0;
	bool have_key = false;
	ztp__hook_verdict verdict;
	STACK_OF(X509) *chain = NULL;
	X509 *factory = NULL, *peer = NULL, *issued = NULL;
	EVP_PKEY *fkey, *csr_key = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int rc = ZTP_OK;

	memset(&verdict, 0, sizeof(verdict));
	if (v->ca == NULL || v->store == NULL) {
		rc = ztp__reject(&r->d, ZTP__W_NOT_CONFIGURED, ZTP_ESTATE,
				 "the verifier has no device CA or no store");
		goto cleanup;
	}
	ZTP_CHECK(rate_limit_global(r));
	ZTP_CHECK(
	    parse_body(r, body, len, bootstrap_keys, "bootstrap request"));
	ZTP_CHECK(take_device_id(r));
	ZTP_CHECK(rate_limit(r));

	ZTP_CHECK(field(r, "nonce", true, 256, &nonce, &nonce_len));
	ZTP_CHECK(ztp__challenge_check(v, &r->d, nonce, nonce_len, r->device_id,
				       r->now, chal_id, &chal_exp));

	ZTP_CHECK(field(r, "factory_cert", true, PEM_FIELD_MAX, &fpem, &flen));
	rc = ztp__pem_cert(&factory, fpem, flen);
	if (rc < 0) {
		rc = ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc,
				 "factory_cert: %s", ztp_error_last_message());
		goto cleanup;
	}
	ZTP_CHECK(parse_chain(r, &chain));
	/* The same PEM text is the same certificate; only texts that differ
	 * (line length, headers) need a second parse to compare DER. */
	if (!same_text(peer_pem, peer_len, fpem, flen))
		ZTP_CHECK(peer_cert(r, &peer, peer_pem, peer_len));
	if (peer != NULL && !same_der(peer, factory)) {
		rc = ztp__reject(&r->d, ZTP__W_PEER_CERTIFICATE_MISMATCH,
				 ZTP_EMISMATCH,
				 "TLS peer certificate is not factory_cert");
		goto cleanup;
	}

	ZTP_CHECK(ztp__verifier_identity_ex(v, &r->d, factory, chain, r->now,
					    cert_id, r->issuer_fp));
	if (strcmp(cert_id, r->device_id) != 0) {
		rc = ztp__reject(&r->d, ZTP__W_DEVICE_MISMATCH, ZTP_EMISMATCH,
				 "factory certificate names device %s, not %s",
				 cert_id, r->device_id);
		goto cleanup;
	}
	ZTP_CHECK(check_registry(r, factory, state, sizeof(state), &have_key));

	fkey = X509_get0_pubkey(factory);
	ZTP_ENSURE_OSSL(fkey != NULL, ZTP_ECRYPTO, "factory key");
	ZTP_CHECK(check_csr(r, &csr_key, factory, csr_hash));
	ZTP_CHECK(check_signature(r, fkey, nonce, nonce_len, csr_hash));
	ZTP_CHECK(approve(r, factory, state, &verdict));
	/* Trust on first use: the group records the device with this
	 * certificate only now, so that a refused request leaves nothing. A
	 * concurrent first bootstrap may have recorded it: then it is a
	 * recorded device like any other. */
	if (r->group_id[0] != '\0') {
		rc = ztp__verifier_group_enroll(v, &r->d, r->group_id,
						r->device_id, factory, r->now);
		if (rc == ZTP_EEXISTS) {
			r->group_id[0] = '\0';
			rc = check_registry(r, factory, state, sizeof(state),
					    &have_key);
		}
		ZTP_CHECK(rc);
	}
	if (verdict.tenant[0] != '\0')
		ZTP_CHECK(ztp__verifier_assign_tenant(v, r->device_id,
						      verdict.tenant));

	/* Every check passed: spend the challenge, then issue. The record is
	 * kept until the token could no longer be accepted anyway. */
	rc = ztp_store_challenge_use(v->store, chal_id, sizeof(chal_id),
				     chal_exp + v->leeway, r->now);
	if (rc == ZTP_EREPLAY) {
		rc = ztp__reject(&r->d, ZTP__W_CHALLENGE_REPLAYED, rc,
				 "challenge already used; request a new one");
		goto cleanup;
	}
	if (rc == ZTP_EEXPIRED) {
		rc = ztp__reject(&r->d, ZTP__W_CHALLENGE_EXPIRED, rc,
				 "challenge expired; request a new one");
		goto cleanup;
	}
	ZTP_CHECK(rc);
	/* Possession of the CSR key was proven by its self-signature and the
	 * CSR is bound to the factory identity by the transcript signature,
	 * so the CA need not verify the request again. */
	rc = ztp__ca_issue_der(v->ca, &issued, &der, &der_len, r->serial,
			       &not_after, csr_key, r->device_id, NULL,
			       ZTP_CA_PROFILE_BOOTSTRAP, v->bootstrap_lifetime);
	if (rc == ZTP_EKEYPOLICY) {
		rc = ztp__reject(&r->d, ZTP__W_KEY_POLICY, rc, "csr: %s",
				 ztp_error_last_message());
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ztp__metrics_issued(v, ZTP_CA_PROFILE_BOOTSTRAP);
	/* First bootstrap (or after a reset) moves the device on; later
	 * states keep their tenant binding. A concurrent change of state is
	 * not an error: the certificate is issued and recorded either way. */
	if (strcmp(state, ZTP_STATE_MANUFACTURED) == 0 ||
	    strcmp(state, ZTP_STATE_RESET) == 0) {
		int src =
		    ztp_store_device_set_state(v->store, r->device_id, state,
					       ZTP_STATE_BOOTSTRAPPED, NULL);
		if (src < 0 && src != ZTP_ESTATE) {
			rc = src;
			goto cleanup;
		}
	}
	/* A device enrolled before factory keys were recorded: record it
	 * now, so that its operational CSRs can be checked against it. */
	if (!have_key) {
		rc = ztp__verifier_record_factory_key(v, r->device_id, factory);
		ZTP_CHECK(rc == ZTP_EUNSUPPORTED ? ZTP_OK : rc);
	}
	ZTP_CHECK(respond_issued(r, der, der_len, not_after));
cleanup:
	X509_free(issued);
	ztp_free(der);
	EVP_PKEY_free(csr_key);
	X509_free(peer);
	X509_free(factory);
	sk_X509_pop_free(chain, X509_free);
	json_object_put(verdict.attributes);
	return rc < 0 ? internal(r, rc) : rc;
}

/* An empty body counts as {} for the endpoints whose request carries
 * nothing. */
static int parse_object(req *r, const char *body, size_t len)
{
	int rc;

	if (len > r->v->max_request)
		return ztp__reject(&r->d, ZTP__W_REQUEST_TOO_LARGE, ZTP_ETOOBIG,
				   "request body of %zu bytes is over the "
				   "%zu-byte limit",
				   len, r->v->max_request);
	if (len == 0) {
		body = "{}";
		len = 2;
	}
	rc =
	    ztp__json_parse(&r->body, body, len, r->v->max_request, JSON_DEPTH);
	if (rc < 0)
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				   ztp_error_last_message());
	if (r->body == NULL || !json_object_is_type(r->body, json_type_object))
		return ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, ZTP_EPARSE,
				   "body is not a JSON object");
	return ZTP_OK;
}

static int do_lifecycle(req *r, const char *ep, const char *body, size_t len,
			const char *peer_pem, size_t peer_len)
{
	ztp_verifier *v = r->v;
	int rc;

	if (v->ca == NULL || v->store == NULL) {
		rc = ztp__reject(&r->d, ZTP__W_NOT_CONFIGURED, ZTP_ESTATE,
				 "the verifier has no device CA or no store");
		goto cleanup;
	}
	/* The device is known only once its certificate is checked: the
	 * global bucket here, the device's lifecycle bucket in
	 * authentication (lifecycle.c). */
	ZTP_CHECK(rate_limit_global(r));
	ZTP_CHECK(parse_object(r, body, len));
	rc = ztp__verifier_lifecycle(v, &r->d, ep, r->body, peer_pem, peer_len,
				     r->now, &r->resp, r->device_id, r->serial);
cleanup:
	return rc < 0 ? internal(r, rc) : rc;
}

static int do_crl(req *r, const char *body, size_t len)
{
	static const char *const no_keys[] = {NULL};
	char *pem = NULL;
	uint64_t nrev = 0;
	int rc;

	if (r->v->ca == NULL || r->v->store == NULL) {
		rc = ztp__reject(&r->d, ZTP__W_NOT_CONFIGURED, ZTP_ESTATE,
				 "the verifier has no device CA or no store");
		goto cleanup;
	}
	ZTP_CHECK(rate_limit_global(r));
	ZTP_CHECK(parse_object(r, body, len));
	rc = ztp__json_only_keys(r->body, no_keys, "crl request");
	if (rc < 0) {
		rc = ztp__reject(&r->d, ZTP__W_MALFORMED_REQUEST, rc, "%s",
				 ztp_error_last_message());
		goto cleanup;
	}
	/* A CRL lists every superseded certificate whose overlap ended. */
	ZTP_CHECK(ztp__overlap_maintain(r->v, r->now, &nrev));
	if (nrev > 0)
		ztp__verifier_crl_changed(r->v);
	ZTP_CHECK(ztp_ca_crl(r->v->ca, &pem, 0));
	r->resp = json_object_new_object();
	ZTP_ENSURE(r->resp != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(r->resp, "crl", pem));
cleanup:
	ztp_free(pem);
	return rc < 0 ? internal(r, rc) : rc;
}

static int error_body(char **out, const ztp__vdec *d)
{
	json_object *o = NULL, *e = NULL;
	int rc = ZTP_OK;

	o = json_object_new_object();
	e = json_object_new_object();
	ZTP_ENSURE(o != NULL && e != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(e, "code", ztp__wire_name(d->wire)));
	ZTP_CHECK(ztp__json_add_str(
	    e, "message",
	    d->message[0] != '\0' ? d->message : ztp__wire_name(d->wire)));
	if (d->wire == ZTP__W_RATE_LIMITED)
		ZTP_CHECK(ztp__json_add_int(e, "retry_after", d->retry_after));
	ZTP_CHECK(ztp__json_add(o, "error", e));
	e = NULL;
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(e);
	json_object_put(o);
	return rc;
}

int ztp_verifier_handle(ztp_verifier *v, int *http_status, char **response_json,
			const char *endpoint, const char *body, size_t body_len,
			const char *peer_cert_pem, size_t peer_cert_len)
{
	req r;
	int rc, kind = ZTP__EP_OTHER;
	int64_t started = ztp__metrics_clock();

	ZTP_ARG(http_status != NULL);
	ZTP_ARG(response_json != NULL);
	*http_status = 0;
	*response_json = NULL;
	ZTP_ARG(v != NULL);
	ZTP_ARG(endpoint != NULL);
	ZTP_ARG(body != NULL || body_len == 0);
	ZTP_ARG(peer_cert_pem != NULL || peer_cert_len == 0);

	memset(&r, 0, sizeof(r));
	r.v = v;
	ztp__vdec_init(&r.d);
	r.now = ztp__now(&v->clock);
	if (strcmp(endpoint, "challenge") == 0) {
		kind = ZTP__EP_CHALLENGE;
		(void)do_challenge(&r, body, body_len, peer_cert_pem,
				   peer_cert_len);
	} else if (strcmp(endpoint, "bootstrap") == 0) {
		kind = ZTP__EP_BOOTSTRAP;
		(void)do_bootstrap(&r, body, body_len, peer_cert_pem,
				   peer_cert_len);
		emit(v, "bootstrap", &r.d, r.device_id, r.serial, r.now);
	} else if (strcmp(endpoint, "register") == 0 ||
		   strcmp(endpoint, "credentials") == 0 ||
		   strcmp(endpoint, "rotate") == 0 ||
		   strcmp(endpoint, "assignment") == 0) {
		kind = ZTP__EP_LIFECYCLE;
		(void)do_lifecycle(&r, endpoint, body, body_len, peer_cert_pem,
				   peer_cert_len);
		emit(v, endpoint, &r.d, r.device_id, r.serial, r.now);
	} else if (strcmp(endpoint, "crl") == 0) {
		(void)do_crl(&r, body, body_len);
	} else if (strcmp(endpoint, "ocsp") == 0) {
		(void)ztp__reject(&r.d, ZTP__W_MALFORMED_REQUEST, ZTP_EINVAL,
				  "ocsp requests are DER: ztp_verifier_ocsp()");
	} else {
		(void)ztp__reject(&r.d, ZTP__W_UNKNOWN_ENDPOINT, ZTP_ENOTFOUND,
				  "no endpoint named \"%.64s\"", endpoint);
	}
	ztp__verifier_count(v, kind, r.d.wire);
	ztp__metrics_request(v, ztp__endpoint_from_name(endpoint), r.d.wire,
			     started);

	if (r.d.wire == ZTP__W_NONE) {
		rc = ztp__json_dump(response_json, r.resp);
		*http_status = 200;
	} else {
		rc = error_body(response_json, &r.d);
		*http_status = ztp__wire_status(r.d.wire);
	}
	if (rc < 0)
		*http_status = 0;
	json_object_put(r.resp);
	json_object_put(r.body);
	ERR_clear_error();
	return rc;
}

/* ---------------------------------------------------------------- check-cert
 */

int ztp_verifier_check_cert(ztp_verifier *v, char **result_json,
			    const char *cert_pem, size_t cert_len,
			    const char *untrusted_pem, size_t untrusted_len,
			    int64_t at_time)
{
	STACK_OF(X509) *hints = NULL;
	X509 *cert = NULL;
	json_object *o = NULL;
	char id[ZTP_ID_MAX + 1] = "", hex[65], ts[32];
	uint8_t fp[32];
	int64_t nb = 0, na = 0;
	ztp__vdec d;
	int rc = ZTP_OK, verdict;

	ZTP_ARG(v != NULL);
	ZTP_ARG(cert_pem != NULL);
	ZTP_ARG(untrusted_pem != NULL || untrusted_len == 0);
	ZTP_ARG(at_time >= 0);
	if (result_json != NULL)
		*result_json = NULL;
	ztp__vdec_init(&d);
	if (at_time == 0)
		at_time = ztp__now(&v->clock);

	verdict = ztp__pem_cert(&cert, cert_pem, cert_len);
	if (verdict < 0)
		(void)ztp__reject(&d, ZTP__W_MALFORMED_REQUEST, verdict,
				  "certificate: %s", ztp_error_last_message());
	if (verdict == ZTP_OK && untrusted_len > 0) {
		verdict = ztp__pem_certs(&hints, untrusted_pem, untrusted_len,
					 ZTP_CHAIN_MAX);
		if (verdict < 0)
			(void)ztp__reject(&d, ZTP__W_MALFORMED_REQUEST, verdict,
					  "untrusted certificates: %s",
					  ztp_error_last_message());
	}
	if (verdict == ZTP_OK)
		verdict =
		    ztp__verifier_identity(v, &d, cert, hints, at_time, id);
	if (verdict < 0 &&
	    (d.wire == ZTP__W_INTERNAL_ERROR ||
	     d.wire == ZTP__W_NOT_CONFIGURED || d.wire == ZTP__W_NONE)) {
		/* Not a verdict on the certificate. */
		rc = verdict;
		goto cleanup;
	}
	if (result_json == NULL) {
		rc = verdict;
		goto cleanup;
	}
	o = json_object_new_object();
	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	if (verdict == ZTP_OK) {
		ZTP_CHECK(ztp__cert_fingerprint(fp, cert));
		ztp__hex_encode(hex, fp, sizeof(fp));
		ZTP_CHECK(ztp__asn1_time(&nb, X509_get0_notBefore(cert)));
		ZTP_CHECK(ztp__asn1_time(&na, X509_get0_notAfter(cert)));
		ZTP_CHECK(ztp__json_add_str(o, "result", "accepted"));
		ZTP_CHECK(ztp__json_add_str(o, "device_id", id));
		ZTP_CHECK(ztp__json_add_str(o, "fingerprint", hex));
		ztp__time_rfc3339(ts, nb);
		ZTP_CHECK(ztp__json_add_str(o, "not_before", ts));
		ztp__time_rfc3339(ts, na);
		ZTP_CHECK(ztp__json_add_str(o, "not_after", ts));
	} else {
		ZTP_CHECK(ztp__json_add_str(o, "result", "rejected"));
		ZTP_CHECK(ztp__json_add_str(o, "code", ztp__wire_name(d.wire)));
		ZTP_CHECK(ztp__json_add_str(o, "message", d.message));
	}
	ZTP_CHECK(ztp__json_dump(result_json, o));
	rc = verdict;
	if (rc < 0)
		(void)ztp__err(rc, "%s", d.message);
cleanup:
	json_object_put(o);
	sk_X509_pop_free(hints, X509_free);
	X509_free(cert);
	ERR_clear_error();
	return rc;
}
