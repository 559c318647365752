/*
 * libztp — verifier handle, configuration setters and the JSON
 * configuration file (ztp-verify.json(5)).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "verifier/internal.h"
#include "core/keysrc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define CONFIG_MAX (1024 * 1024)
#define BUNDLE_MAX 256
#define SECRET_MAX 1024

void ztp__vdec_init(ztp__vdec *d)
{
	d->wire = ZTP__W_NONE;
	d->retry_after = 0;
	d->message[0] = '\0';
	d->detail[0] = '\0';
}

int ztp__reject(ztp__vdec *d, int wire, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	d->wire = wire;
	return ztp__err(rc, "%s", d->message);
}

int ztp_verifier_error_codes(char **json)
{
	json_object *arr = NULL, *o;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "out of memory");
	for (int i = 0; i < ZTP__W_COUNT; i++) {
		o = json_object_new_object();
		ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
		if (json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			ZTP_ENSURE(false, ZTP_ENOMEM, "out of memory");
		}
		ZTP_CHECK(ztp__json_add_str(o, "code", ztp__wire_name(i)));
		ZTP_CHECK(ztp__json_add_int(o, "status", ztp__wire_status(i)));
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	return rc;
}

/* ---------------------------------------------------------------- handle */

int ztp_verifier_new(ztp_verifier **out)
{
	ztp_verifier *v = NULL;
	int rc = ZTP_OK;
	bool rl_ok = false;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_CHECK(ztp__ensure_init());
	v = ztp__calloc(1, sizeof(*v));
	ZTP_ENSURE(v != NULL, ZTP_ENOMEM, "out of memory");
	v->bootstrap_lifetime = ZTP_VERIFIER_DEFAULT_BOOTSTRAP_LIFETIME;
	v->leeway = ZTP_VERIFIER_DEFAULT_LEEWAY;
	v->challenge_ttl = ZTP_VERIFIER_DEFAULT_CHALLENGE_TTL;
	v->max_depth = ZTP_VERIFIER_DEFAULT_MAX_DEPTH;
	v->max_request = ZTP_VERIFIER_DEFAULT_MAX_REQUEST;
	ztp__keypolicy_default(&v->keypolicy);
	ZTP_CHECK(ztp__rl_init(&v->rl));
	rl_ok = true;
	rc = ztp__rl_init(&v->claim_rl);
	if (rc < 0) {
		ztp__rl_destroy(&v->rl);
		rl_ok = false;
		goto cleanup;
	}
	rc = ztp__rl_init(&v->life_rl);
	if (rc < 0) {
		ztp__rl_destroy(&v->rl);
		ztp__rl_destroy(&v->claim_rl);
		rl_ok = false;
		goto cleanup;
	}
	/* Claim codes carry 160 bits, so guessing is hopeless anyway; the
	 * limit keeps a guessing attempt visible and cheap: 5 tries, then one
	 * a minute per device, and 100 a second over all devices. */
	v->claim_rl.dev_rate = 1.0 / 60;
	v->claim_rl.dev_burst = 5;
	v->claim_rl.glob_rate = 100;
	v->claim_rl.glob_burst = 100;
	v->rl.dev_rate = 0.2;
	v->rl.dev_burst = 10;
	v->rl.glob_rate = 500;
	v->rl.glob_burst = 1000;
	/* The lifecycle endpoints are bounded by the global bucket before
	 * the peer is known, and per device (from its certificate) after:
	 * a device needs a handful of calls per rotation, so a burst of 20
	 * and one call every 10 s leave room for retries after power loss. */
	v->life_rl.dev_rate = 0.1;
	v->life_rl.dev_burst = 20;
	v->rotation_overlap = ZTP_VERIFIER_DEFAULT_ROTATION_OVERLAP;
	v->ocsp_next_update = 3600;
	ZTP_ENSURE(pthread_mutex_init(&v->stats_lock, NULL) == 0, ZTP_ENOMEM,
		   "cannot create a mutex");
	if (pthread_mutex_init(&v->maint_lock, NULL) != 0) {
		pthread_mutex_destroy(&v->stats_lock);
		rc = ztp__err(ZTP_ENOMEM, "cannot create a mutex");
		goto cleanup;
	}
	if (pthread_mutex_init(&v->audit_lock, NULL) != 0) {
		pthread_mutex_destroy(&v->stats_lock);
		pthread_mutex_destroy(&v->maint_lock);
		rc = ztp__err(ZTP_ENOMEM, "cannot create a mutex");
		goto cleanup;
	}
	v->audit_every_events = 100;
	v->audit_every_seconds = 300;
	/* A per-process secret keeps a single instance safe without any
	 * configuration; sharing challenges needs a configured one. */
	v->secret_len = 32;
	v->secret = ztp__malloc(v->secret_len);
	ZTP_ENSURE(v->secret != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_ENSURE_OSSL(RAND_bytes(v->secret, (int)v->secret_len) == 1,
			ZTP_ECRYPTO, "cannot generate the challenge secret");
	/* Last: nothing after it fails, and it cannot fail itself. */
	ztp__csr_tmpl_init(&v->csr_tmpl);
	*out = v;
	v = NULL;
cleanup:
	if (v != NULL) {
		if (rl_ok) {
			ztp__rl_destroy(&v->rl);
			ztp__rl_destroy(&v->claim_rl);
			ztp__rl_destroy(&v->life_rl);
		}
		ztp__free_secret(v->secret, v->secret_len);
		free(v);
	}
	return rc;
}

static void clear_issuers(ztp_verifier *v)
{
	ztp__verifier_sig_cache_clear(v);
	sk_X509_pop_free(v->issuers, X509_free);
	v->issuers = NULL;
	free(v->issuer_fp);
	v->issuer_fp = NULL;
}

void ztp_verifier_free(ztp_verifier *v)
{
	if (v == NULL)
		return;
	ztp__verifier_sig_cache_clear(v);
	X509_STORE_free(v->trust);
	clear_issuers(v);
	if (v->own_ca)
		ztp_ca_free(v->ca);
	if (v->own_store)
		ztp_store_free(v->store);
	ztp__free_secret(v->secret, v->secret_len);
	ztp__rl_destroy(&v->rl);
	ztp__rl_destroy(&v->claim_rl);
	ztp__rl_destroy(&v->life_rl);
	ztp__csr_tmpl_free(&v->csr_tmpl);
	free(v->crl_file);
	ztp__verifier_ocsp_clear(v);
	EVP_PKEY_free(v->audit_key);
	json_object_put(v->brokers);
	ztp__verifier_device_cas_clear(v);
	pthread_mutex_destroy(&v->stats_lock);
	pthread_mutex_destroy(&v->maint_lock);
	pthread_mutex_destroy(&v->audit_lock);
	free(v->pending);
	free(v);
}

/* ---------------------------------------------------------------- setters */

int ztp_verifier_set_trust_anchors(ztp_verifier *v, const char *pem, size_t len)
{
	STACK_OF(X509) *certs = NULL;
	X509_STORE *st = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(pem != NULL);
	ZTP_CHECK(ztp__pem_certs(&certs, pem, len, BUNDLE_MAX));
	st = X509_STORE_new();
	ZTP_ENSURE_OSSL(st != NULL, ZTP_ENOMEM, "trust store");
	for (int i = 0; i < sk_X509_num(certs); i++)
		ZTP_ENSURE_OSSL(
		    X509_STORE_add_cert(st, sk_X509_value(certs, i)) == 1,
		    ZTP_ECRYPTO, "trust anchor %d", i + 1);
	ztp__verifier_sig_cache_clear(v);
	X509_STORE_free(v->trust);
	v->trust = st;
	v->n_anchors = (size_t)sk_X509_num(certs);
	st = NULL;
	ZTP_CHECK(ztp__verifier_sig_cache(v));
cleanup:
	X509_STORE_free(st);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int ztp_verifier_set_issuers(ztp_verifier *v, const char *pem, size_t len)
{
	STACK_OF(X509) *certs = NULL;
	uint8_t(*fp)[32] = NULL;
	int rc = ZTP_OK, n;

	ZTP_ARG(v != NULL);
	ZTP_ARG(pem != NULL);
	ZTP_CHECK(ztp__pem_certs(&certs, pem, len, BUNDLE_MAX));
	n = sk_X509_num(certs);
	fp = ztp__calloc((size_t)n, sizeof(*fp));
	ZTP_ENSURE(fp != NULL, ZTP_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++)
		ZTP_CHECK(
		    ztp__cert_fingerprint(fp[i], sk_X509_value(certs, i)));
	clear_issuers(v);
	v->issuers = certs;
	v->issuer_fp = fp;
	certs = NULL;
	fp = NULL;
	ZTP_CHECK(ztp__verifier_sig_cache(v));
cleanup:
	free(fp);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int ztp_verifier_set_ca(ztp_verifier *v, ztp_ca *ca)
{
	ZTP_ARG(v != NULL);
	ZTP_ARG(ca != NULL);
	if (v->own_ca)
		ztp_ca_free(v->ca);
	v->ca = ca;
	v->own_ca = false;
	/* A delegated OCSP signer is the old CA's. */
	ztp__verifier_ocsp_clear(v);
	return ZTP_OK;
}

int ztp_verifier_set_store(ztp_verifier *v, ztp_store *store)
{
	ZTP_ARG(v != NULL);
	ZTP_ARG(store != NULL);
	if (v->own_store)
		ztp_store_free(v->store);
	v->store = store;
	v->own_store = false;
	return ZTP_OK;
}

int ztp_verifier_set_crl_file(ztp_verifier *v, const char *path)
{
	char *copy = NULL;

	ZTP_ARG(v != NULL);
	ZTP_ARG(path == NULL || (path[0] != '\0' && strlen(path) < 4096));
	if (path != NULL) {
		copy = ztp__strdup(path);
		if (copy == NULL)
			return ztp__err(ZTP_ENOMEM, "out of memory");
	}
	free(v->crl_file);
	v->crl_file = copy;
	return ZTP_OK;
}

/* The integer settings, one range each, for the setters and the
 * configuration file alike (ztp-verify.json(5) documents the same). */
enum {
	S_BOOTSTRAP_LIFETIME,
	S_OPERATIONAL_LIFETIME,
	S_ROTATION_OVERLAP,
	S_CLOCK_LEEWAY,
	S_CHALLENGE_TTL,
	S_MAX_CHAIN_DEPTH,
	S_MAX_REQUEST_SIZE,
	S_OCSP_NEXT_UPDATE,
	S__COUNT
};

static const struct {
	const char *key;
	int64_t min, max;
} settings[S__COUNT] = {
    [S_BOOTSTRAP_LIFETIME] = {"bootstrap_lifetime", 60, 86400},
    [S_OPERATIONAL_LIFETIME] = {"operational_lifetime", 3600, 3650 * 86400LL},
    [S_ROTATION_OVERLAP] = {"rotation_overlap", 0,
			    ZTP_VERIFIER_MAX_ROTATION_OVERLAP},
    [S_CLOCK_LEEWAY] = {"clock_leeway", 0, 3600},
    [S_CHALLENGE_TTL] = {"challenge_ttl", 10, 3600},
    [S_MAX_CHAIN_DEPTH] = {"max_chain_depth", 0, ZTP_CHAIN_MAX},
    [S_MAX_REQUEST_SIZE] = {"max_request_size", 1024, 1048576},
    [S_OCSP_NEXT_UPDATE] = {"ocsp_next_update", 60, 7 * 86400},
};

/* Check n against the setting's range and store it. */
static int set_int(ztp_verifier *v, int which, int64_t n)
{
	if (n < settings[which].min || n > settings[which].max)
		return ztp__err(
		    ZTP_EINVAL, "%s must be in %lld..%lld, not %lld",
		    settings[which].key, (long long)settings[which].min,
		    (long long)settings[which].max, (long long)n);
	switch (which) {
	case S_BOOTSTRAP_LIFETIME:
		v->bootstrap_lifetime = n;
		break;
	case S_OPERATIONAL_LIFETIME:
		v->operational_lifetime = n;
		break;
	case S_ROTATION_OVERLAP:
		v->rotation_overlap = n;
		break;
	case S_CLOCK_LEEWAY:
		v->leeway = n;
		break;
	case S_CHALLENGE_TTL:
		v->challenge_ttl = n;
		break;
	case S_MAX_CHAIN_DEPTH:
		v->max_depth = (int)n;
		break;
	case S_MAX_REQUEST_SIZE:
		v->max_request = (size_t)n;
		break;
	case S_OCSP_NEXT_UPDATE:
		v->ocsp_next_update = n;
		break;
	default:
		return ztp__err(ZTP_EINTERNAL, "setting %d", which);
	}
	return ZTP_OK;
}

int ztp_verifier_set_bootstrap_lifetime(ztp_verifier *v, int64_t seconds)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_BOOTSTRAP_LIFETIME, seconds);
}

int ztp_verifier_set_operational_lifetime(ztp_verifier *v, int64_t seconds)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_OPERATIONAL_LIFETIME, seconds);
}

int ztp_verifier_set_rotation_overlap(ztp_verifier *v, int64_t seconds)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_ROTATION_OVERLAP, seconds);
}

int ztp_verifier_set_clock_leeway(ztp_verifier *v, int64_t seconds)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_CLOCK_LEEWAY, seconds);
}

int ztp_verifier_set_challenge_ttl(ztp_verifier *v, int64_t seconds)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_CHALLENGE_TTL, seconds);
}

int ztp_verifier_set_max_chain_depth(ztp_verifier *v, int depth)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_MAX_CHAIN_DEPTH, depth);
}

int ztp_verifier_set_key_policy(ztp_verifier *v, const char *spec)
{
	ztp__keypolicy p;
	int rc;

	ZTP_ARG(v != NULL);
	ZTP_ARG(spec != NULL);
	rc = ztp__keypolicy_parse(&p, spec);
	if (rc < 0)
		return rc;
	v->keypolicy = p;
	return ZTP_OK;
}

int ztp_verifier_set_max_request_size(ztp_verifier *v, size_t bytes)
{
	ZTP_ARG(v != NULL);
	ZTP_ARG(bytes <= (size_t)INT64_MAX);
	return set_int(v, S_MAX_REQUEST_SIZE, (int64_t)bytes);
}

int ztp_verifier_set_ocsp_next_update(ztp_verifier *v, int64_t seconds)
{
	ZTP_ARG(v != NULL);
	return set_int(v, S_OCSP_NEXT_UPDATE, seconds);
}

int ztp_verifier_set_rate_limit(ztp_verifier *v, const char *scope, double rate,
				double burst)
{
	bool dev;

	ZTP_ARG(v != NULL);
	ZTP_ARG(scope != NULL);
	ZTP_ARG(strcmp(scope, "device") == 0 || strcmp(scope, "global") == 0 ||
		strcmp(scope, "lifecycle") == 0);
	ZTP_ARG(isfinite(rate) && rate >= 0 && rate <= 1000000);
	ZTP_ARG(rate == 0 ||
		(isfinite(burst) && burst >= 1 && burst <= 1000000));
	dev = strcmp(scope, "device") == 0;
	if (strcmp(scope, "lifecycle") == 0) {
		v->life_rl.dev_rate = rate;
		v->life_rl.dev_burst = burst;
	} else if (dev) {
		v->rl.dev_rate = rate;
		v->rl.dev_burst = burst;
	} else {
		v->rl.glob_rate = rate;
		v->rl.glob_burst = burst;
		v->rl.glob_started = false;
	}
	return ZTP_OK;
}

int ztp_verifier_set_hmac_secret(ztp_verifier *v, const uint8_t *secret,
				 size_t len)
{
	uint8_t *copy;

	ZTP_ARG(v != NULL);
	ZTP_ARG(secret != NULL);
	ZTP_ARG(len >= ZTP_VERIFIER_HMAC_MIN && len <= SECRET_MAX);
	copy = ztp__memdup(secret, len);
	if (copy == NULL)
		return ZTP_ENOMEM;
	ztp__free_secret(v->secret, v->secret_len);
	v->secret = copy;
	v->secret_len = len;
	return ZTP_OK;
}

int ztp_verifier_set_clock(ztp_verifier *v, ztp_clock_fn fn, void *ctx)
{
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	v->clock.fn = fn;
	v->clock.ctx = ctx;
	/* What the verifier opened itself follows its clock, so that an
	 * injected time is one time for every validity decision. */
	if (v->own_ca)
		ZTP_CHECK(ztp_ca_set_clock(v->ca, fn, ctx));
	if (v->own_store)
		ZTP_CHECK(ztp_store_set_clock(v->store, fn, ctx));
cleanup:
	return rc;
}

int ztp_verifier_set_event_callback(ztp_verifier *v, ztp_event_fn fn, void *ctx)
{
	ZTP_ARG(v != NULL);
	v->events.fn = fn;
	v->events.ctx = ctx;
	return ZTP_OK;
}

/* ---------------------------------------------------------------- config file
 */

static const char *const config_keys[] = {"trust_anchors",
					  "issuers",
					  "device_ca",
					  "store",
					  "bootstrap_lifetime",
					  "operational_lifetime",
					  "clock_leeway",
					  "challenge_ttl",
					  "max_chain_depth",
					  "key_policy",
					  "max_request_size",
					  "rate_limits",
					  "hmac_secret_file",
					  "rotation_overlap",
					  "crl_file",
					  "ocsp_signer",
					  "ocsp_next_update",
					  "audit",
					  "brokers",
					  "device_ca_previous",
					  "trust_bundle",
					  NULL};
static const char *const ca_keys[] = {"cert", "key", "chain", "passphrase_file",
				      NULL};
static const char *const ocsp_keys[] = {"cert", "key", NULL};
static const char *const audit_keys[] = {"key", "every_events", "every_seconds",
					 NULL};
static const char *const rl_keys[] = {"device", "global", "lifecycle", NULL};
static const char *const bucket_keys[] = {"rate", "burst", NULL};

#define PATH_MAXLEN 4096

/* Prefix the thread's current error detail with context. The detail is
 * copied first: it lives in the buffer that ztp__err writes. */
static int wrap_err(int rc, const char *what, const char *name)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "%s", ztp_error_last_message());
	return ztp__err(rc, "config: %s%s%s: %s", what, name ? " " : "",
			name ? name : "", detail);
}

/* A file named in the configuration, resolved against its directory. */
static int cfg_path(char **out, json_object *obj, const char *key,
		    bool required, const char *dir)
{
	const char *s = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = ztp__json_str(obj, key, required, PATH_MAXLEN, &s, &len);
	if (rc < 0)
		return wrap_err(rc, key, NULL);
	if (s == NULL)
		return ZTP_OK;
	if (len == 0)
		return ztp__err(ZTP_EPARSE, "config: \"%s\" is empty", key);
	return ztp__path_join(out, dir, s);
}

/* A key: a file as cfg_path() resolves it, or a pkcs11: URI as given. */
static int cfg_key_source(char **out, json_object *obj, const char *key,
			  const char *dir)
{
	const char *s = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = ztp__json_str(obj, key, true, PATH_MAXLEN, &s, &len);
	if (rc < 0)
		return wrap_err(rc, key, NULL);
	if (!ztp__keysrc_is_pkcs11(s))
		return cfg_path(out, obj, key, true, dir);
	*out = ztp__strdup(s);
	return *out != NULL ? ZTP_OK
			    : ztp__err(ZTP_ENOMEM, "config: out of memory");
}

static int cfg_number(double *out, json_object *obj, const char *key)
{
	json_object *val;
	enum json_type t;

	if (!json_object_object_get_ex(obj, key, &val))
		return ztp__err(ZTP_EPARSE, "config: rate limit needs \"%s\"",
				key);
	t = json_object_get_type(val);
	if (t != json_type_double && t != json_type_int)
		return ztp__err(ZTP_EPARSE, "config: \"%s\" must be a number",
				key);
	*out = json_object_get_double(val);
	return ZTP_OK;
}

static int cfg_bucket(ztp_verifier *v, json_object *rl, const char *scope)
{
	json_object *b = NULL;
	double rate, burst = 1;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_object(rl, scope, false, &b));
	if (b == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__json_only_keys(b, bucket_keys, "rate limit"));
	ZTP_CHECK(cfg_number(&rate, b, "rate"));
	if (rate != 0)
		ZTP_CHECK(cfg_number(&burst, b, "burst"));
	rc = ztp_verifier_set_rate_limit(v, scope, rate, burst);
	if (rc < 0)
		rc = ztp__err(rc, "config: rate_limits.%s out of range", scope);
cleanup:
	return rc;
}

static int read_secret_file(uint8_t **out, size_t *outlen, const char *path,
			    size_t max)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = ztp__file_read(&data, &len, path, max);
	if (rc < 0)
		return rc;
	*out = (uint8_t *)data;
	*outlen = len;
	return ZTP_OK;
}

static int load_ca(ztp_verifier *v, json_object *obj, const char *dir,
		   const char *policy)
{
	char *cert = NULL, *key = NULL, *chain = NULL, *passfile = NULL;
	uint8_t *pass = NULL;
	size_t passlen = 0;
	ztp_ca *ca = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_only_keys(obj, ca_keys, "config device_ca"));
	ZTP_CHECK(cfg_path(&cert, obj, "cert", true, dir));
	ZTP_CHECK(cfg_key_source(&key, obj, "key", dir));
	ZTP_CHECK(cfg_path(&chain, obj, "chain", false, dir));
	ZTP_CHECK(cfg_path(&passfile, obj, "passphrase_file", false, dir));
	if (passfile != NULL) {
		ZTP_CHECK(read_secret_file(&pass, &passlen, passfile, 1024));
		/* One trailing newline is how editors and `echo` end files. */
		if (passlen > 0 && pass[passlen - 1] == '\n')
			pass[--passlen] = '\0';
		if (passlen > 0 && pass[passlen - 1] == '\r')
			pass[--passlen] = '\0';
		ZTP_ENSURE(memchr(pass, '\0', passlen) == NULL, ZTP_EPARSE,
			   "config: passphrase file contains a NUL byte");
	}
	ZTP_CHECK(ztp_ca_new(&ca));
	ZTP_CHECK(ztp_ca_load_files(ca, cert, key, chain, (char *)pass));
	if (policy != NULL)
		ZTP_CHECK(ztp_ca_set_key_policy(ca, policy));
	if (v->clock.fn != NULL)
		ZTP_CHECK(ztp_ca_set_clock(ca, v->clock.fn, v->clock.ctx));
	if (v->store != NULL)
		ZTP_CHECK(ztp_ca_set_store(ca, v->store));
	if (v->own_ca)
		ztp_ca_free(v->ca);
	v->ca = ca;
	v->own_ca = true;
	ca = NULL;
cleanup:
	ztp_ca_free(ca);
	ztp__free_secret(pass, passlen);
	free(cert);
	free(key);
	free(chain);
	free(passfile);
	return rc;
}

static int cfg_int(json_object *cfg, const char *key, int64_t min, int64_t max,
		   int64_t *out, bool *present);

/* "audit": the checkpoint key (a path relative to the file, or a key
 * reference with its scheme) and how often to sign. */
static int load_audit(ztp_verifier *v, json_object *obj, const char *dir)
{
	const char *ref = NULL;
	char *path = NULL;
	int64_t events = v->audit_every_events,
		seconds = v->audit_every_seconds;
	bool present;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_only_keys(obj, audit_keys, "config audit"));
	ZTP_CHECK(cfg_int(obj, "every_events", 1, 1000000, &events, &present));
	ZTP_CHECK(cfg_int(obj, "every_seconds", 1, 86400, &seconds, &present));
	ZTP_CHECK(ztp_verifier_set_audit_checkpoint(v, events, seconds));
	ZTP_CHECK(ztp__json_str(obj, "key", true, PATH_MAXLEN, &ref, NULL));
	/* A file is named relative to the configuration; another key
	 * source's reference is passed on as it is. */
	if (strncmp(ref, "file:", 5) == 0) {
		ZTP_CHECK(ztp__path_join(&path, dir, ref + 5));
		ref = path;
	} else if (strchr(ref, ':') == NULL) {
		ZTP_CHECK(ztp__path_join(&path, dir, ref));
		ref = path;
	}
	rc = ztp_verifier_set_audit_key(v, ref);
	if (rc < 0)
		rc = wrap_err(rc, "audit key", ref);
cleanup:
	free(path);
	return rc;
}

static int load_ocsp_signer(ztp_verifier *v, json_object *obj, const char *dir)
{
	char *cert = NULL, *key = NULL, *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_only_keys(obj, ocsp_keys, "config ocsp_signer"));
	ZTP_CHECK(cfg_path(&cert, obj, "cert", true, dir));
	ZTP_CHECK(cfg_path(&key, obj, "key", true, dir));
	ZTP_CHECK(ztp__file_read(&cpem, &clen, cert, CONFIG_MAX));
	ZTP_CHECK(ztp__file_read(&kpem, &klen, key, CONFIG_MAX));
	rc = ztp_verifier_set_ocsp_signer(v, cpem, clen, kpem, klen);
	if (rc < 0)
		rc = wrap_err(rc, "ocsp_signer", cert);
cleanup:
	if (kpem != NULL)
		ztp__free_secret(kpem, klen);
	free(cpem);
	free(cert);
	free(key);
	return rc;
}

static int load_bundle(ztp_verifier *v, json_object *cfg, const char *key,
		       const char *dir, bool issuers)
{
	char *path = NULL, *pem = NULL;
	size_t len = 0;
	int rc = ZTP_OK;

	ZTP_CHECK(cfg_path(&path, cfg, key, true, dir));
	ZTP_CHECK(ztp__file_read(&pem, &len, path, CONFIG_MAX));
	if (issuers)
		rc = ztp_verifier_set_issuers(v, pem, len);
	else
		rc = ztp_verifier_set_trust_anchors(v, pem, len);
	if (rc < 0)
		rc = wrap_err(rc, key, path);
cleanup:
	free(pem);
	free(path);
	return rc;
}

static int cfg_int(json_object *cfg, const char *key, int64_t min, int64_t max,
		   int64_t *out, bool *present)
{
	json_object *val;
	int rc;

	*present = json_object_object_get_ex(cfg, key, &val);
	if (!*present)
		return ZTP_OK;
	rc = ztp__json_int(cfg, key, true, min, max, out);
	if (rc < 0)
		return ztp__err(rc,
				"config: \"%s\" must be an integer in "
				"%lld..%lld",
				key, (long long)min, (long long)max);
	return ZTP_OK;
}

/* Device-CA rollover: "device_ca_previous", an array of certificate
 * files (one CA each) still accepted besides device_ca; "trust_bundle",
 * a file of the CA certificates handed to devices. */
static int load_rollover(ztp_verifier *v, json_object *cfg, const char *dir)
{
	json_object *arr = NULL, *e;
	char *path = NULL, *pem = NULL;
	const char *s;
	size_t len = 0, n;
	int rc = ZTP_OK;

	if (json_object_object_get_ex(cfg, "device_ca_previous", &arr)) {
		ZTP_ENSURE(json_object_is_type(arr, json_type_array),
			   ZTP_EPARSE,
			   "config: \"device_ca_previous\" must be an array "
			   "of certificate files");
		ZTP_ENSURE(v->ca != NULL, ZTP_EINVAL,
			   "config: device_ca_previous needs device_ca");
		n = json_object_array_length(arr);
		ZTP_ENSURE(n <= ZTP_DEVICE_CAS_MAX, ZTP_ETOOBIG,
			   "config: device_ca_previous: at most %d files",
			   ZTP_DEVICE_CAS_MAX);
		for (size_t i = 0; i < n; i++) {
			e = json_object_array_get_idx(arr, i);
			ZTP_ENSURE(json_object_is_type(e, json_type_string) &&
				       json_object_get_string_len(e) > 0 &&
				       json_object_get_string_len(e) <
					   PATH_MAXLEN,
				   ZTP_EPARSE,
				   "config: device_ca_previous[%zu]: not a "
				   "file name",
				   i);
			s = json_object_get_string(e);
			ZTP_CHECK(ztp__path_join(&path, dir, s));
			ZTP_CHECK(ztp__file_read(&pem, &len, path, CONFIG_MAX));
			rc = ztp_verifier_add_device_ca(v, pem, len);
			if (rc < 0) {
				rc = wrap_err(rc, "device_ca_previous", path);
				goto cleanup;
			}
			free(pem);
			free(path);
			pem = path = NULL;
		}
	}
	ZTP_CHECK(cfg_path(&path, cfg, "trust_bundle", false, dir));
	if (path != NULL) {
		ZTP_CHECK(ztp__file_read(&pem, &len, path, CONFIG_MAX));
		rc = ztp_verifier_set_trust_bundle(v, pem, len);
		if (rc < 0)
			rc = wrap_err(rc, "trust_bundle", path);
	}
cleanup:
	free(pem);
	free(path);
	return rc;
}

int ztp_verifier_load_config(ztp_verifier *v, const char *path)
{
	char *text = NULL, *dir = NULL, *storeuri = NULL, *secretpath = NULL;
	char *crlpath = NULL;
	const char *s, *policy = NULL;
	uint8_t *secret = NULL;
	size_t len = 0, slen = 0;
	json_object *cfg = NULL, *obj = NULL;
	ztp_store *store = NULL;
	int64_t n;
	bool present;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(path != NULL);
	ZTP_ENSURE(!v->config_loaded, ZTP_ESTATE,
		   "verifier already configured from a file");
	ZTP_CHECK(ztp__file_read(&text, &len, path, CONFIG_MAX));
	rc = ztp__json_parse(&cfg, text, len, CONFIG_MAX, 4);
	if (rc < 0) {
		rc = wrap_err(rc, "file", path);
		goto cleanup;
	}
	ZTP_ENSURE(cfg != NULL && json_object_is_type(cfg, json_type_object),
		   ZTP_EPARSE, "config %s: not a JSON object", path);
	ZTP_CHECK(ztp__json_only_keys(cfg, config_keys, "config"));

	ZTP_CHECK(ztp__path_dir(&dir, path));

	ZTP_CHECK(load_bundle(v, cfg, "trust_anchors", dir, false));
	ZTP_CHECK(load_bundle(v, cfg, "issuers", dir, true));

	for (int i = 0; i < S__COUNT; i++) {
		ZTP_CHECK(cfg_int(cfg, settings[i].key, settings[i].min,
				  settings[i].max, &n, &present));
		if (present)
			ZTP_CHECK(set_int(v, i, n));
	}

	ZTP_CHECK(ztp__json_str(cfg, "key_policy", false, 256, &policy, NULL));
	if (policy != NULL)
		ZTP_CHECK(ztp_verifier_set_key_policy(v, policy));

	ZTP_CHECK(ztp__json_object(cfg, "rate_limits", false, &obj));
	if (obj != NULL) {
		ZTP_CHECK(
		    ztp__json_only_keys(obj, rl_keys, "config rate_limits"));
		ZTP_CHECK(cfg_bucket(v, obj, "device"));
		ZTP_CHECK(cfg_bucket(v, obj, "global"));
		ZTP_CHECK(cfg_bucket(v, obj, "lifecycle"));
	}

	ZTP_CHECK(cfg_path(&secretpath, cfg, "hmac_secret_file", false, dir));
	if (secretpath != NULL) {
		ZTP_CHECK(
		    read_secret_file(&secret, &slen, secretpath, SECRET_MAX));
		ZTP_ENSURE(slen >= ZTP_VERIFIER_HMAC_MIN, ZTP_EINVAL,
			   "config: hmac_secret_file %s holds %zu bytes, "
			   "at least %d are required",
			   secretpath, slen, ZTP_VERIFIER_HMAC_MIN);
		ZTP_CHECK(ztp_verifier_set_hmac_secret(v, secret, slen));
	}

	ZTP_CHECK(cfg_path(&crlpath, cfg, "crl_file", false, dir));
	if (crlpath != NULL)
		ZTP_CHECK(ztp_verifier_set_crl_file(v, crlpath));
	{
		json_object *b = NULL;

		if (json_object_object_get_ex(cfg, "brokers", &b))
			ZTP_CHECK(ztp__verifier_brokers_set(v, b));
	}

	ZTP_CHECK(ztp__json_str(cfg, "store", false, PATH_MAXLEN, &s, NULL));
	if (s != NULL) {
		if (strncmp(s, "sqlite:", 7) == 0 && s[7] != '/') {
			char *p = NULL;

			ZTP_CHECK(ztp__path_join(&p, dir, s + 7));
			ztp__buf b = {0};
			rc = ztp__buf_append_str(&b, "sqlite:");
			if (rc == ZTP_OK)
				rc = ztp__buf_append_str(&b, p);
			if (rc == ZTP_OK)
				rc = ztp__buf_terminate(&b);
			free(p);
			if (rc < 0) {
				ztp__buf_free(&b);
				goto cleanup;
			}
			storeuri = (char *)ztp__buf_steal(&b, &len);
		} else {
			storeuri = ztp__strdup(s);
			ZTP_ENSURE(storeuri != NULL, ZTP_ENOMEM,
				   "out of memory");
		}
		ZTP_CHECK(ztp_store_open(&store, storeuri));
		if (v->clock.fn != NULL)
			ZTP_CHECK(ztp_store_set_clock(store, v->clock.fn,
						      v->clock.ctx));
		if (v->own_store)
			ztp_store_free(v->store);
		v->store = store;
		v->own_store = true;
		store = NULL;
	}

	ZTP_CHECK(ztp__json_object(cfg, "device_ca", false, &obj));
	if (obj != NULL)
		ZTP_CHECK(load_ca(v, obj, dir, policy));
	ZTP_CHECK(load_rollover(v, cfg, dir));
	ZTP_ENSURE(crlpath == NULL || (v->ca != NULL && v->store != NULL),
		   ZTP_EINVAL, "config: crl_file needs device_ca and store");
	ZTP_CHECK(ztp__json_object(cfg, "audit", false, &obj));
	if (obj != NULL)
		ZTP_CHECK(load_audit(v, obj, dir));
	ZTP_CHECK(ztp__json_object(cfg, "ocsp_signer", false, &obj));
	if (obj != NULL) {
		ZTP_ENSURE(v->ca != NULL, ZTP_EINVAL,
			   "config: ocsp_signer needs device_ca");
		ZTP_CHECK(load_ocsp_signer(v, obj, dir));
	}
	v->config_loaded = true;
cleanup:
	ztp_store_free(store);
	json_object_put(cfg);
	ztp__free_secret(secret, slen);
	free(secretpath);
	free(crlpath);
	free(storeuri);
	free(text);
	free(dir);
	return rc;
}
