/*
 * libztp — registry store front end: argument validation, serialisation
 * and dispatch to a backend (built-in or the caller's).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Everything a backend receives has been checked here against the same
 * grammar, so a backend cannot be the weak link for identifiers that later
 * become certificate names and MQTT topic levels.
 */
#include "store/records.h"

#include "core/utf8.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ztp_store {
	ztp_store_backend be; /* copied at open (a version-1 one padded) */
	void *ctx;
	/* For a backend without limit_take: the buckets of a private
	 * `memory:` backend, so limits hold per handle (documented). */
	ztp_store_backend lim_be;
	void *lim_ctx;
	bool serialise; /* backend is not thread-safe: hold lock per call */
	bool builtin;	/* results come from this library: no re-check */
	/* A built-in backend's typed reads (records.h); NULL for a caller's
	 * backend, whose JSON is parsed once at this boundary. */
	const ztp__store_views *views;
	pthread_mutex_t lock;
	ztp__clock clock;
};

static const char *const states[] = {
    ZTP_STATE_MANUFACTURED, ZTP_STATE_BOOTSTRAPPED, ZTP_STATE_REGISTERED,
    ZTP_STATE_ACTIVE,	    ZTP_STATE_RESET,	    ZTP_STATE_REVOKED,
};

/* ------------------------------------------------------------ validation */

static int check_id(const char *id, const char *what)
{
	if (id == NULL)
		return ztp__err(ZTP_EINVAL, "%s: missing", what);
	/* One byte past the limit is enough for the grammar to refuse it
	 * without reading an unbounded string. */
	return ztp__id_check(id, strnlen(id, ZTP_ID_MAX + 1), what);
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int check_fingerprint(const char *fpr, const char *what)
{
	size_t len, i;

	if (fpr == NULL)
		return ztp__err(ZTP_EINVAL, "%s: missing", what);
	len = strnlen(fpr, ZTP__STORE_FPR_LEN + 1);
	if (len != ZTP__STORE_FPR_LEN)
		return ztp__err(ZTP_EINVAL, "%s: need %d lowercase hex digits",
				what, ZTP__STORE_FPR_LEN);
	for (i = 0; i < len; i++)
		if (!is_lower_hex(fpr[i]))
			return ztp__err(ZTP_EINVAL,
					"%s: not lowercase hex at offset %zu",
					what, i);
	return ZTP_OK;
}

/* A key identifier: whole octets of lowercase hex, NULL for unknown. */
static int check_issuer(const char *issuer)
{
	size_t len, i;

	if (issuer == NULL)
		return ZTP_OK;
	len = strnlen(issuer, ZTP_STORE_ISSUER_MAX + 1);
	if (len < 2 || len > ZTP_STORE_ISSUER_MAX || len % 2 != 0)
		return ztp__err(ZTP_EINVAL,
				"issuer: need an even number of 2..%d hex "
				"digits",
				ZTP_STORE_ISSUER_MAX);
	for (i = 0; i < len; i++)
		if (!is_lower_hex(issuer[i]))
			return ztp__err(
			    ZTP_EINVAL,
			    "issuer: not lowercase hex at offset %zu", i);
	return ZTP_OK;
}

static int check_serial(const char *serial)
{
	size_t len, i;

	if (serial == NULL)
		return ztp__err(ZTP_EINVAL, "serial: missing");
	len = strnlen(serial, ZTP__STORE_SERIAL_MAX + 1);
	if (len == 0 || len > ZTP__STORE_SERIAL_MAX)
		return ztp__err(ZTP_EINVAL, "serial: need 1..%d hex digits",
				ZTP__STORE_SERIAL_MAX);
	for (i = 0; i < len; i++)
		if (!is_lower_hex(serial[i]))
			return ztp__err(
			    ZTP_EINVAL,
			    "serial: not lowercase hex at offset %zu", i);
	/* One spelling per number, so that the primary key means what it
	 * says; a certificate serial is positive (RFC 5280 4.1.2.2). */
	if (serial[0] == '0')
		return ztp__err(ZTP_EINVAL, "serial: %s",
				len == 1 ? "must be positive"
					 : "has a leading zero");
	return ZTP_OK;
}

/* Printable UTF-8: well-formed (no overlongs, surrogates or code points
 * past U+10FFFF) and free of C0/C1 controls and DEL. */
int ztp__store_check_text(const char *s, const char *what)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, i = 0;

	if (s == NULL)
		return ZTP_OK;
	len = strnlen(s, ZTP__STORE_TEXT_MAX + 1);
	if (len > ZTP__STORE_TEXT_MAX)
		return ztp__err(ZTP_EINVAL, "%s: over %d bytes", what,
				ZTP__STORE_TEXT_MAX);
	while (i < len) {
		const char *why = NULL;
		uint32_t cp;
		size_t n = ztp__utf8_next(p + i, len - i, &cp, &why);

		if (n == 0)
			return ztp__err(ZTP_EINVAL,
					"%s: invalid UTF-8 at offset %zu (%s)",
					what, i, why);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return ztp__err(ZTP_EINVAL,
					"%s: control character at offset %zu",
					what, i);
		i += n;
	}
	return ZTP_OK;
}

static int check_state(const char *state, const char *what)
{
	size_t i;

	if (state == NULL)
		return ztp__err(ZTP_EINVAL, "%s: missing", what);
	for (i = 0; i < ZTP__ARRAY_LEN(states); i++)
		if (strcmp(state, states[i]) == 0)
			return ZTP_OK;
	return ztp__err(ZTP_EINVAL, "%s: unknown state name", what);
}

/* [a-z0-9][a-z0-9_-]{0,31}: profiles end up in events and CLI output. */
static int check_profile_n(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > ZTP__STORE_PROFILE_MAX)
		return ztp__err(ZTP_EINVAL, "profile: need 1..%d characters",
				ZTP__STORE_PROFILE_MAX);
	for (i = 0; i < len; i++) {
		char c = p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '_' || c == '-'));

		if (!ok)
			return ztp__err(ZTP_EINVAL,
					"profile: bad character at offset %zu",
					i);
	}
	return ZTP_OK;
}

static int check_profile(const char *p)
{
	if (p == NULL)
		return ztp__err(ZTP_EINVAL, "profile: missing");
	return check_profile_n(p, strnlen(p, ZTP__STORE_PROFILE_MAX + 1));
}

static int check_profiles(const char *list)
{
	size_t len, start = 0, i;
	int rc;

	if (list == NULL)
		return ZTP_OK;
	len = strnlen(list, ZTP__STORE_PROFILES_MAX + 1);
	if (len > ZTP__STORE_PROFILES_MAX)
		return ztp__err(ZTP_EINVAL, "profiles: over %d bytes",
				ZTP__STORE_PROFILES_MAX);
	for (i = 0; i <= len; i++) {
		if (i < len && list[i] != ',')
			continue;
		rc = check_profile_n(list + start, i - start);
		if (rc < 0)
			return ztp__err(rc,
					"profiles: element at offset %zu "
					"is not a profile name",
					start);
		start = i + 1;
	}
	return ZTP_OK;
}

static int check_reason(int reason)
{
	/* RFC 5280 5.3.1: 7 is unassigned; removeFromCRL (8) is accepted
	 * for delta CRLs. */
	if (reason < 0 || reason > 10 || reason == 7)
		return ztp__err(ZTP_EINVAL, "reason: %d is not a CRLReason",
				reason);
	return ZTP_OK;
}

static int check_time(int64_t t, const char *what)
{
	if (t < 0)
		return ztp__err(ZTP_EINVAL, "%s: negative time", what);
	return ZTP_OK;
}

static int check_bucket(double rate, double burst)
{
	if (!isfinite(rate) || rate <= 0 || rate > ZTP__STORE_RATE_MAX)
		return ztp__err(ZTP_EINVAL, "rate: need 0 < rate <= %d",
				ZTP__STORE_RATE_MAX);
	if (!isfinite(burst) || burst < 1 || burst > ZTP__STORE_RATE_MAX)
		return ztp__err(ZTP_EINVAL, "burst: need 1..%d",
				ZTP__STORE_RATE_MAX);
	return ZTP_OK;
}

/* A JSON object payload within the size limit, re-serialised compactly so
 * that every backend stores one canonical spelling. Payloads may nest two
 * levels less than the parser allows, because results wrap them twice
 * (event list entry, array). */
static int canonical_object(char **out, const char *in, const char *what)
{
	json_object *obj = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	ZTP_ENSURE(in != NULL, ZTP_EINVAL, "%s: missing", what);
	ZTP_CHECK(ztp__json_parse(&obj, in,
				  strnlen(in, ZTP__STORE_JSON_MAX + 1),
				  ZTP__STORE_JSON_MAX, ZTP_JSON_MAX_DEPTH - 2));
	ZTP_ENSURE(json_object_is_type(obj, json_type_object), ZTP_EPARSE,
		   "%s: not a JSON object", what);
	ZTP_CHECK(ztp__json_dump(out, obj));
cleanup:
	json_object_put(obj);
	return rc;
}

/* ------------------------------------------------------------ dispatch */

static void enter(ztp_store *s)
{
	if (s->serialise)
		pthread_mutex_lock(&s->lock);
	/* So that a backend's own detail can be told from a stale one. */
	ztp_error_clear();
}

/* A backend's status as one of ours, with detail. */
static int checked(int rc, const char *op)
{
	if (rc == ZTP_OK)
		return ZTP_OK;
	if (rc > 0 || rc < ZTP_STATUS_MIN)
		return ztp__err(ZTP_ESTORE,
				"store backend: %s returned invalid status %d",
				op, rc);
	if (ztp_error_last_code() != rc)
		return ztp__err(rc, "store backend: %s: %s", op,
				ztp_strerror(rc));
	return rc;
}

static int leave(ztp_store *s, int rc, const char *op)
{
	if (s->serialise)
		pthread_mutex_unlock(&s->lock);
	return checked(rc, op);
}

/* Hand a backend's JSON result to the caller; consumes res whatever
 * happens. Results of a caller's backend are parsed strictly and
 * re-serialised, so the caller always receives well-formed JSON of the
 * documented type, in memory from this library. */
static int take_result(ztp_store *s, int rc, char **out, char *res,
		       json_type want, const char *op)
{
	json_object *obj = NULL;
	char detail[256];

	if (rc < 0)
		goto cleanup;
	ZTP_ENSURE(res != NULL, ZTP_ESTORE, "store backend: %s: no result", op);
	if (s->builtin) {
		*out = res;
		res = NULL;
		goto cleanup;
	}
	rc = ztp__json_parse(&obj, res, strnlen(res, ZTP__STORE_RESULT_MAX + 1),
			     ZTP__STORE_RESULT_MAX, ZTP_JSON_MAX_DEPTH);
	if (rc < 0 && rc != ZTP_ENOMEM) {
		/* The caller's input was fine: this is the store failing. */
		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		ZTP_ENSURE(false, ZTP_ESTORE,
			   "store backend: %s: bad result: %s", op, detail);
	}
	ZTP_CHECK(rc);
	ZTP_ENSURE(json_object_is_type(obj, want), ZTP_ESTORE,
		   "store backend: %s: result is not a JSON %s", op,
		   want == json_type_array ? "array" : "object");
	ZTP_CHECK(ztp__json_dump(out, obj));
cleanup:
	json_object_put(obj);
	free(res);
	return rc;
}

/* leave() for an operation that answers with JSON: res is handed over to
 * *out when it checks out, freed otherwise. */
static int leave_json(ztp_store *s, int rc, const char *op, char **out,
		      char *res, json_type want)
{
	rc = leave(s, rc, op);
	return take_result(s, rc, out, res, want, op);
}

static int64_t now_of(const ztp_store *s)
{
	return ztp__now(&s->clock);
}

/* ------------------------------------------------------------ open, free */

static int open_internal(ztp_store **out, const ztp_store_backend *be,
			 void *ctx, bool builtin)
{
	ztp_store *s = NULL;
	int rc = ZTP_OK;

	s = ztp__calloc(1, sizeof(*s));
	ZTP_ENSURE(s != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_ENSURE(pthread_mutex_init(&s->lock, NULL) == 0, ZTP_ENOMEM,
		   "store: cannot create mutex");
	s->be = *be;
	s->builtin = builtin;
	s->serialise = (be->flags & ZTP_STORE_BACKEND_THREADSAFE) == 0;
	if (be->limit_take == NULL) {
		rc = ztp__store_memory_open(&s->lim_be, &s->lim_ctx);
		if (rc < 0) {
			pthread_mutex_destroy(&s->lock);
			goto cleanup;
		}
	}
	s->ctx = ctx;
	*out = s;
	s = NULL;
cleanup:
	free(s);
	return rc;
}

int ztp_store_open(ztp_store **out, const char *uri)
{
	static const char sqlite_scheme[] = "sqlite:";
	static const char pg_scheme[] = "postgresql://",
			  pg_alias[] = "postgres://";
	const ztp__store_views *views = NULL;
	ztp_store_backend be;
	void *ctx = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(uri != NULL);
	memset(&be, 0, sizeof(be));
	ZTP_CHECK(ztp__ensure_init());
	if (strcmp(uri, "memory:") == 0) {
		ZTP_CHECK(ztp__store_memory_open(&be, &ctx));
		views = &ztp__store_memory_views;
	} else if (strncmp(uri, sqlite_scheme, sizeof(sqlite_scheme) - 1) ==
		   0) {
		ZTP_CHECK(ztp__store_sqlite_open(
		    &be, &ctx, uri + sizeof(sqlite_scheme) - 1));
		views = &ztp__store_sqlite_views;
	} else if (strncmp(uri, pg_scheme, sizeof(pg_scheme) - 1) == 0 ||
		   strncmp(uri, pg_alias, sizeof(pg_alias) - 1) == 0) {
#ifdef HAVE_LIBPQ
		ZTP_CHECK(ztp__store_postgresql_open(&be, &ctx, uri));
		views = &ztp__store_postgresql_views;
#else
		ZTP_ENSURE(false, ZTP_EUNSUPPORTED,
			   "store URI: postgresql: this libztp was built "
			   "without PostgreSQL support (configure found no "
			   "libpq, or was run --without-postgresql)");
#endif
	} else {
		ZTP_ENSURE(false, ZTP_EINVAL,
			   "store URI: unknown scheme (want memory:, "
			   "sqlite:PATH or postgresql://...)");
	}
	rc = open_internal(out, &be, ctx, true);
	if (rc < 0)
		be.close(ctx);
	else
		(*out)->views = views;
cleanup:
	return rc;
}

int ztp_store_open_backend(ztp_store **out, const ztp_store_backend *backend,
			   void *ctx)
{
	ztp_store_backend be;
	int rc = ZTP_OK;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(backend != NULL);
	ZTP_ENSURE(backend->version >= 1 &&
		       backend->version <= ZTP_STORE_BACKEND_VERSION,
		   ZTP_EINVAL,
		   "store backend: version %u not supported (want 1..%u)",
		   backend->version, ZTP_STORE_BACKEND_VERSION);
	/* An older struct ends before the members of later versions: read
	 * no further, and leave those NULL (their fallbacks). */
	memset(&be, 0, sizeof(be));
	memcpy(&be, backend,
	       backend->version == 1 ? offsetof(ztp_store_backend, limit_take)
	       : backend->version == 2
		   ? offsetof(ztp_store_backend, cert_add_issued)
	       : backend->version == 3
		   ? offsetof(ztp_store_backend, device_count_state)
	       : backend->version == 4
		   ? offsetof(ztp_store_backend, device_enroll)
		   : sizeof(be));
	backend = &be;
	ZTP_ENSURE((backend->flags & ~ZTP_STORE_BACKEND_THREADSAFE) == 0,
		   ZTP_EINVAL, "store backend: unknown flags 0x%x",
		   backend->flags);
#define ZTP__REQUIRE_OP(op)                                                    \
	ZTP_ENSURE(backend->op != NULL, ZTP_EINVAL,                            \
		   "store backend: missing operation %s", #op)
	ZTP__REQUIRE_OP(device_add);
	ZTP__REQUIRE_OP(device_get);
	ZTP__REQUIRE_OP(device_set_state);
	ZTP__REQUIRE_OP(device_set_info);
	ZTP__REQUIRE_OP(claim_set);
	ZTP__REQUIRE_OP(claim_take);
	ZTP__REQUIRE_OP(cert_add);
	ZTP__REQUIRE_OP(cert_get);
	ZTP__REQUIRE_OP(cert_revoke);
	ZTP__REQUIRE_OP(device_revoke_certs);
	ZTP__REQUIRE_OP(revoked_list);
	ZTP__REQUIRE_OP(device_certs);
	ZTP__REQUIRE_OP(cert_count);
	ZTP__REQUIRE_OP(challenge_use);
	ZTP__REQUIRE_OP(event_append);
	ZTP__REQUIRE_OP(event_list);
	ZTP__REQUIRE_OP(counter_next);
#undef ZTP__REQUIRE_OP
	ZTP_CHECK(ztp__ensure_init());
	ZTP_CHECK(open_internal(out, backend, ctx, false));
cleanup:
	return rc;
}

void ztp_store_free(ztp_store *store)
{
	if (store == NULL)
		return;
	if (store->be.close != NULL)
		store->be.close(store->ctx);
	if (store->lim_ctx != NULL)
		store->lim_be.close(store->lim_ctx);
	pthread_mutex_destroy(&store->lock);
	free(store);
}

int ztp_store_set_clock(ztp_store *store, ztp_clock_fn fn, void *ctx)
{
	ZTP_ARG(store != NULL);
	store->clock.fn = fn;
	store->clock.ctx = ctx;
	return ZTP_OK;
}

int ztp_store_backend_error(int code, const char *message)
{
	if (code >= 0 || code < ZTP_STATUS_MIN)
		code = ZTP_ESTORE;
	if (message == NULL)
		message = ztp_strerror(code);
	return ztp__err(code, "%s", message);
}

/* ------------------------------------------------------------ devices */

int ztp_store_device_add(ztp_store *store, const char *device_id,
			 const char *fingerprint, const char *model,
			 const char *batch, int64_t manufactured_at)
{
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_CHECK(check_fingerprint(fingerprint, "fingerprint"));
	ZTP_CHECK(ztp__store_check_text(model, "model"));
	ZTP_CHECK(ztp__store_check_text(batch, "batch"));
	ZTP_CHECK(check_time(manufactured_at, "manufactured_at"));
	now = now_of(store);
	enter(store);
	rc = store->be.device_add(store->ctx, device_id, fingerprint, model,
				  batch, manufactured_at, now);
	rc = leave(store, rc, "device_add");
cleanup:
	return rc;
}

int ztp_store_device_get(ztp_store *store, const char *device_id, char **json)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	enter(store);
	rc = store->be.device_get(store->ctx, device_id, &res);
	rc = leave_json(store, rc, "device_get", json, res, json_type_object);
cleanup:
	return rc;
}

int ztp_store_device_set_state(ztp_store *store, const char *device_id,
			       const char *expected_state,
			       const char *new_state, const char *tenant)
{
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	if (expected_state != NULL)
		ZTP_CHECK(check_state(expected_state, "expected_state"));
	ZTP_CHECK(check_state(new_state, "new_state"));
	if (tenant != NULL)
		ZTP_CHECK(check_id(tenant, "tenant"));
	now = now_of(store);
	enter(store);
	rc = store->be.device_set_state(store->ctx, device_id, expected_state,
					new_state, tenant, now);
	rc = leave(store, rc, "device_set_state");
cleanup:
	return rc;
}

int ztp_store_device_set_info(ztp_store *store, const char *device_id,
			      const char *info_json)
{
	char *info = NULL;
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_CHECK(canonical_object(&info, info_json, "info"));
	now = now_of(store);
	enter(store);
	rc = store->be.device_set_info(store->ctx, device_id, info, now);
	rc = leave(store, rc, "device_set_info");
cleanup:
	free(info);
	return rc;
}

int ztp_store_device_set_factory_key(ztp_store *store, const char *device_id,
				     const uint8_t *spki, size_t len)
{
	int rc = ZTP_OK;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_ARG(spki != NULL);
	ZTP_ARG(len >= 1 && len <= ZTP__STORE_KEY_MAX);
	ZTP_ENSURE(store->be.device_set_factory_key != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no device_set_factory_key");
	enter(store);
	rc = store->be.device_set_factory_key(store->ctx, device_id, spki, len);
	rc = leave(store, rc, "device_set_factory_key");
cleanup:
	return rc;
}

/* ------------------------------------------------------------ limits */

/* A backend's retry_after as documented, whatever it wrote. */
static int64_t retry_of(int rc, int64_t retry)
{
	if (rc != ZTP_ERATELIMIT)
		return 0;
	return retry < 1 ? 1 : retry > 86400 ? 86400 : retry;
}

static int limit_take(ztp_store *s, const char *scope, const char *key,
		      double rate, double burst, int64_t now,
		      int64_t *retry_after)
{
	int64_t retry = 0;
	int rc;

	if (s->be.limit_take == NULL) {
		/* The private memory: backend is thread-safe itself. */
		ztp_error_clear();
		rc = s->lim_be.limit_take(s->lim_ctx, scope, key, rate, burst,
					  now, &retry);
		rc = checked(rc, "limit_take");
	} else {
		enter(s);
		rc = s->be.limit_take(s->ctx, scope, key, rate, burst, now,
				      &retry);
		rc = leave(s, rc, "limit_take");
	}
	*retry_after = retry_of(rc, retry);
	return rc;
}

int ztp_store_limit_take(ztp_store *store, const char *scope, const char *key,
			 double rate, double burst, int64_t now,
			 int64_t *retry_after)
{
	int rc = ZTP_OK;

	ZTP_ARG(retry_after != NULL);
	*retry_after = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(scope, "scope"));
	ZTP_CHECK(check_id(key, "key"));
	ZTP_CHECK(check_bucket(rate, burst));
	ZTP_CHECK(check_time(now, "now"));
	rc = limit_take(store, scope, key, rate, burst, now, retry_after);
cleanup:
	return rc;
}

/* ------------------------------------------------------------ claims */

int ztp_store_claim_set(ztp_store *store, const char *device_id,
			const uint8_t *hash, size_t len)
{
	int rc = ZTP_OK;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_ARG(hash != NULL);
	ZTP_ARG(len >= 1 && len <= ZTP__STORE_HASH_MAX);
	enter(store);
	rc = store->be.claim_set(store->ctx, device_id, hash, len);
	rc = leave(store, rc, "claim_set");
cleanup:
	return rc;
}

int ztp_store_claim_take(ztp_store *store, const char *device_id,
			 const uint8_t *hash, size_t len, const char *tenant)
{
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_ARG(hash != NULL);
	ZTP_ARG(len >= 1 && len <= ZTP__STORE_HASH_MAX);
	ZTP_CHECK(check_id(tenant, "tenant"));
	now = now_of(store);
	enter(store);
	rc =
	    store->be.claim_take(store->ctx, device_id, hash, len, tenant, now);
	rc = leave(store, rc, "claim_take");
cleanup:
	return rc;
}

int ztp_store_claim_attempt(ztp_store *store, const char *device_id,
			    const uint8_t *hash, size_t len, const char *tenant,
			    double rate, double burst, int64_t now,
			    int64_t *retry_after)
{
	int64_t retry = 0;
	int rc = ZTP_OK;

	ZTP_ARG(retry_after != NULL);
	*retry_after = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_ARG(hash != NULL);
	ZTP_ARG(len >= 1 && len <= ZTP__STORE_HASH_MAX);
	ZTP_CHECK(check_id(tenant, "tenant"));
	ZTP_CHECK(check_bucket(rate, burst));
	ZTP_CHECK(check_time(now, "now"));
	if (store->be.claim_attempt == NULL) {
		/* Token first: a failure between the steps costs the caller
		 * an attempt, never lets one through uncounted. */
		ZTP_CHECK(limit_take(store, "claim", device_id, rate, burst,
				     now, retry_after));
		rc = ztp_store_claim_take(store, device_id, hash, len, tenant);
		goto cleanup;
	}
	enter(store);
	rc = store->be.claim_attempt(store->ctx, device_id, hash, len, tenant,
				     rate, burst, now, &retry);
	rc = leave(store, rc, "claim_attempt");
	*retry_after = retry_of(rc, retry);
cleanup:
	return rc;
}

/* ------------------------------------------------------------ certificates */

int ztp_store_cert_add_issued(ztp_store *store, const char *serial,
			      const char *device_id, const char *profile,
			      int64_t not_before, int64_t not_after,
			      const char *fingerprint, const char *issuer)
{
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_serial(serial));
	if (device_id != NULL)
		ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_CHECK(check_profile(profile));
	ZTP_CHECK(check_time(not_before, "not_before"));
	ZTP_ENSURE(not_after >= not_before, ZTP_EINVAL,
		   "not_after: before not_before");
	ZTP_CHECK(check_fingerprint(fingerprint, "fingerprint"));
	ZTP_CHECK(check_issuer(issuer));
	now = now_of(store);
	enter(store);
	/* Without the version-3 operation the issuer is not kept
	 * (documented): the certificate is recorded all the same. */
	if (store->be.cert_add_issued != NULL)
		rc = store->be.cert_add_issued(store->ctx, serial, device_id,
					       profile, not_before, not_after,
					       fingerprint, issuer, now);
	else
		rc =
		    store->be.cert_add(store->ctx, serial, device_id, profile,
				       not_before, not_after, fingerprint, now);
	rc = leave(store, rc, "cert_add");
cleanup:
	return rc;
}

int ztp_store_cert_add(ztp_store *store, const char *serial,
		       const char *device_id, const char *profile,
		       int64_t not_before, int64_t not_after,
		       const char *fingerprint)
{
	return ztp_store_cert_add_issued(store, serial, device_id, profile,
					 not_before, not_after, fingerprint,
					 NULL);
}

int ztp_store_cert_get(ztp_store *store, const char *serial, char **json)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_serial(serial));
	enter(store);
	rc = store->be.cert_get(store->ctx, serial, &res);
	rc = leave_json(store, rc, "cert_get", json, res, json_type_object);
cleanup:
	return rc;
}

int ztp_store_cert_revoke(ztp_store *store, const char *serial, int reason,
			  int64_t when)
{
	int rc = ZTP_OK;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_serial(serial));
	ZTP_CHECK(check_reason(reason));
	ZTP_CHECK(check_time(when, "when"));
	enter(store);
	rc = store->be.cert_revoke(store->ctx, serial, reason, when);
	rc = leave(store, rc, "cert_revoke");
cleanup:
	return rc;
}

int ztp_store_device_revoke_certs(ztp_store *store, const char *device_id,
				  const char *profiles, int reason,
				  int64_t when, uint64_t *count)
{
	uint64_t n = 0;
	int rc = ZTP_OK;

	if (count != NULL)
		*count = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_CHECK(check_profiles(profiles));
	ZTP_CHECK(check_reason(reason));
	ZTP_CHECK(check_time(when, "when"));
	enter(store);
	rc = store->be.device_revoke_certs(store->ctx, device_id, profiles,
					   reason, when, &n);
	rc = leave(store, rc, "device_revoke_certs");
	if (rc == ZTP_OK && count != NULL)
		*count = n;
cleanup:
	return rc;
}

int ztp_store_revoked_list_issuer(ztp_store *store, const char *issuer,
				  char **json)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_issuer(issuer));
	enter(store);
	/* Unscoped without the version-3 operation (documented): a CRL
	 * with other issuers' serials revokes nothing of this one's. */
	if (issuer != NULL && store->be.revoked_list_issuer != NULL)
		rc = store->be.revoked_list_issuer(store->ctx, issuer, &res);
	else
		rc = store->be.revoked_list(store->ctx, &res);
	rc = leave_json(store, rc, "revoked_list", json, res, json_type_array);
cleanup:
	return rc;
}

int ztp_store_revoked_list(ztp_store *store, char **json)
{
	return ztp_store_revoked_list_issuer(store, NULL, json);
}

int ztp_store_device_certs(ztp_store *store, const char *device_id, char **json)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	enter(store);
	rc = store->be.device_certs(store->ctx, device_id, &res);
	rc = leave_json(store, rc, "device_certs", json, res, json_type_array);
cleanup:
	return rc;
}

int ztp_store_cert_count(ztp_store *store, uint64_t *out)
{
	uint64_t n = 0;
	int rc;

	ZTP_ARG(out != NULL);
	*out = 0;
	ZTP_ARG(store != NULL);
	enter(store);
	rc = store->be.cert_count(store->ctx, &n);
	rc = leave(store, rc, "cert_count");
	if (rc == ZTP_OK)
		*out = n;
	return rc;
}

int ztp_store_device_count(ztp_store *store, const char *state, uint64_t *out)
{
	uint64_t n = 0;
	int rc = ZTP_OK;

	ZTP_ARG(out != NULL);
	*out = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_state(state, "state"));
	ZTP_ENSURE(store->be.device_count_state != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no device_count_state operation");
	enter(store);
	rc = store->be.device_count_state(store->ctx, state, &n);
	rc = leave(store, rc, "device_count_state");
	if (rc == ZTP_OK)
		*out = n;
cleanup:
	return rc;
}

int ztp_store_cert_count_expiring(ztp_store *store, const char *profile,
				  int64_t from, int64_t to, uint64_t *out)
{
	uint64_t n = 0;
	int rc = ZTP_OK;

	ZTP_ARG(out != NULL);
	*out = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_profile(profile));
	ZTP_ARG(from <= to);
	ZTP_ENSURE(store->be.cert_count_expiring != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no cert_count_expiring operation");
	enter(store);
	rc = store->be.cert_count_expiring(store->ctx, profile, from, to, &n);
	rc = leave(store, rc, "cert_count_expiring");
	if (rc == ZTP_OK)
		*out = n;
cleanup:
	return rc;
}

int ztp__store_state_index(const char *state)
{
	for (size_t i = 0; i < ZTP__ARRAY_LEN(states); i++)
		if (strcmp(state, states[i]) == 0)
			return (int)i;
	return -1;
}

const char *ztp__store_state_name(int i)
{
	if (i < 0 || (size_t)i >= ZTP__ARRAY_LEN(states))
		return NULL;
	return states[i];
}

/* ------------------------------------------------------------ challenges */

int ztp_store_challenge_use(ztp_store *store, const uint8_t *id, size_t len,
			    int64_t expires_at, int64_t now)
{
	int rc = ZTP_OK;

	ZTP_ARG(store != NULL);
	ZTP_ARG(id != NULL);
	ZTP_ARG(len >= 1 && len <= ZTP__STORE_CHALLENGE_MAX);
	ZTP_CHECK(check_time(now, "now"));
	/* Recording it would not stop a replay: it would be purged on the
	 * next call. */
	ZTP_ENSURE(expires_at >= now, ZTP_EEXPIRED,
		   "challenge: expired %lld s ago",
		   (long long)(now - expires_at));
	enter(store);
	rc = store->be.challenge_use(store->ctx, id, len, expires_at, now);
	rc = leave(store, rc, "challenge_use");
cleanup:
	return rc;
}

/* ------------------------------------------------------------ events */

int ztp_store_event_append(ztp_store *store, const char *json)
{
	char *ev = NULL;
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(canonical_object(&ev, json, "event"));
	now = now_of(store);
	enter(store);
	rc = store->be.event_append(store->ctx, ev, now);
	rc = leave(store, rc, "event_append");
cleanup:
	free(ev);
	return rc;
}

int ztp_store_event_list(ztp_store *store, int64_t after, size_t max,
			 char **json)
{
	char *res = NULL;
	int rc;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_ARG(after >= 0);
	ZTP_ARG(max >= 1);
	if (max > ZTP_STORE_EVENT_LIST_MAX)
		max = ZTP_STORE_EVENT_LIST_MAX;
	enter(store);
	rc = store->be.event_list(store->ctx, after, max, &res);
	return leave_json(store, rc, "event_list", json, res, json_type_array);
}

/* ------------------------------------------------------------ counters */

int ztp_store_counter_next(ztp_store *store, const char *name, uint64_t *out)
{
	uint64_t v = 0;
	int rc = ZTP_OK;

	ZTP_ARG(out != NULL);
	*out = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(name, "counter name"));
	enter(store);
	rc = store->be.counter_next(store->ctx, name, &v);
	rc = leave(store, rc, "counter_next");
	if (rc == ZTP_OK)
		*out = v;
cleanup:
	return rc;
}

/* ------------------------------------------------------------ fleets */

int ztp__store_device_enroll(
    ztp_store *store, const ztp_store_enrollment *recs, size_t n, int *results,
    int (*before_commit)(void *arg, const int *results), void *arg)
{
	int rc = ZTP_OK;
	int64_t now;
	size_t i;

	ZTP_ARG(store != NULL);
	ZTP_ARG(recs != NULL && results != NULL && before_commit != NULL);
	ZTP_ARG(n >= 1 && n <= ZTP__STORE_ENROLL_MAX);
	for (i = 0; i < n; i++) {
		const ztp_store_enrollment *e = &recs[i];

		ZTP_CHECK(check_id(e->device_id, "device_id"));
		ZTP_CHECK(check_fingerprint(e->fingerprint, "fingerprint"));
		ZTP_CHECK(ztp__store_check_text(e->model, "model"));
		ZTP_CHECK(ztp__store_check_text(e->batch, "batch"));
		ZTP_CHECK(check_time(e->manufactured_at, "manufactured_at"));
		ZTP_ARG(e->claim_hash != NULL && e->claim_hash_len >= 1 &&
			e->claim_hash_len <= ZTP__STORE_HASH_MAX);
		ZTP_ARG((e->factory_key == NULL) == (e->factory_key_len == 0));
		ZTP_ARG(e->factory_key_len <= ZTP__STORE_KEY_MAX);
	}
	ZTP_ENSURE(store->be.device_enroll != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no device_enroll");
	now = now_of(store);
	enter(store);
	rc = store->be.device_enroll(store->ctx, recs, n, results, now,
				     before_commit, arg);
	rc = leave(store, rc, "device_enroll");
	for (i = 0; rc == ZTP_OK && i < n; i++)
		ZTP_ENSURE(results[i] == ZTP_OK || results[i] == ZTP_EEXISTS ||
			       results[i] == ZTP_EMISMATCH,
			   ZTP_ESTORE,
			   "store backend: device_enroll: bad result %d for "
			   "record %zu",
			   results[i], i);
cleanup:
	return rc;
}

/* One optional string member of a list filter, NULL when absent. */
static int filter_str(json_object *f, const char *name, const char **out)
{
	json_object *m;

	*out = NULL;
	if (!json_object_object_get_ex(f, name, &m))
		return ZTP_OK;
	if (!json_object_is_type(m, json_type_string))
		return ztp__err(ZTP_EINVAL, "filter: %s: not a string", name);
	*out = json_object_get_string(m);
	return ZTP_OK;
}

int ztp_store_device_list(ztp_store *store, char **json,
			  const char *filter_json, const char *after,
			  size_t max)
{
	static const char *const names[] = {"state", "tenant", "model", "batch",
					    "group"};
	const char *val[ZTP__ARRAY_LEN(names)] = {NULL, NULL, NULL, NULL, NULL};
	json_object *f = NULL;
	char *res = NULL;
	size_t i;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_ARG(max >= 1);
	if (max > ZTP_STORE_LIST_MAX)
		max = ZTP_STORE_LIST_MAX;
	if (after != NULL)
		ZTP_CHECK(check_id(after, "after"));
	if (filter_json != NULL) {
		ZTP_CHECK(ztp__json_parse(
		    &f, filter_json,
		    strnlen(filter_json, ZTP__STORE_JSON_MAX + 1),
		    ZTP__STORE_JSON_MAX, 2));
		ZTP_ENSURE(json_object_is_type(f, json_type_object), ZTP_EPARSE,
			   "filter: not a JSON object");
		json_object_object_foreach(f, key, unused)
		{
			bool known = false;

			(void)unused;
			for (i = 0; i < ZTP__ARRAY_LEN(names); i++)
				known = known || strcmp(key, names[i]) == 0;
			ZTP_ENSURE(known, ZTP_EINVAL,
				   "filter: unknown member \"%.32s\"", key);
		}
		for (i = 0; i < ZTP__ARRAY_LEN(names); i++)
			ZTP_CHECK(filter_str(f, names[i], &val[i]));
		if (val[0] != NULL)
			ZTP_CHECK(check_state(val[0], "filter: state"));
		if (val[1] != NULL)
			ZTP_CHECK(check_id(val[1], "filter: tenant"));
		ZTP_CHECK(ztp__store_check_text(val[2], "filter: model"));
		ZTP_CHECK(ztp__store_check_text(val[3], "filter: batch"));
		if (val[4] != NULL)
			ZTP_CHECK(check_id(val[4], "filter: group"));
	}
	ZTP_ENSURE(store->be.device_list != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no device_list");
	enter(store);
	rc = store->be.device_list(store->ctx, val[0], val[1], val[2], val[3],
				   val[4], after, max, &res);
	rc = leave_json(store, rc, "device_list", json, res, json_type_array);
cleanup:
	json_object_put(f);
	return rc;
}

int ztp_store_cert_expiring(ztp_store *store, char **json, int64_t from,
			    int64_t before, int64_t after_time,
			    const char *after_serial, size_t max)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_ARG(max >= 1);
	if (max > ZTP_STORE_LIST_MAX)
		max = ZTP_STORE_LIST_MAX;
	ZTP_CHECK(check_time(from, "from"));
	ZTP_ENSURE(before >= from, ZTP_EINVAL, "before: earlier than from");
	if (after_serial != NULL)
		ZTP_CHECK(check_serial(after_serial));
	else
		after_time = 0;
	ZTP_ENSURE(store->be.cert_expiring != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no cert_expiring");
	enter(store);
	rc = store->be.cert_expiring(store->ctx, from, before, after_time,
				     after_serial, max, &res);
	rc = leave_json(store, rc, "cert_expiring", json, res, json_type_array);
cleanup:
	return rc;
}

/* ------------------------------------------------------------ groups */

/* An optional integer member in [min, max]; 0 when absent. */
static int group_int(json_object *g, const char *key, int64_t min, int64_t max,
		     int64_t *out)
{
	*out = 0;
	return ztp__json_int(g, key, false, min, max, out);
}

int ztp_store_group_add(ztp_store *store, const char *group_json)
{
	static const char *const keys[] = {
	    "group_id", "issuer",     "device_pattern", "model", "batch",
	    "cap",	"expires_at", "enabled",	NULL};
	const char *id = NULL, *issuer = NULL, *pattern = NULL, *model = NULL,
		   *batch = NULL;
	size_t plen = 0;
	json_object *g = NULL;
	int64_t cap = 0, expires = 0, now;
	bool enabled = true;
	int rc = ZTP_OK;

	ZTP_ARG(store != NULL);
	ZTP_ARG(group_json != NULL);
	ZTP_CHECK(ztp__json_parse(&g, group_json,
				  strnlen(group_json, ZTP__STORE_JSON_MAX + 1),
				  ZTP__STORE_JSON_MAX, 1));
	ZTP_ENSURE(json_object_is_type(g, json_type_object), ZTP_EPARSE,
		   "group: not a JSON object");
	ZTP_CHECK(ztp__json_only_keys(g, keys, "group"));
	ZTP_CHECK(ztp__json_str(g, "group_id", true, ZTP_ID_MAX, &id, NULL));
	ZTP_CHECK(check_id(id, "group_id"));
	ZTP_CHECK(ztp__json_str(g, "issuer", true, ZTP__STORE_FPR_LEN, &issuer,
				NULL));
	ZTP_CHECK(check_fingerprint(issuer, "issuer"));
	ZTP_CHECK(ztp__json_str(g, "device_pattern", false,
				ZTP__STORE_PATTERN_MAX, &pattern, &plen));
	if (pattern != NULL)
		ZTP_CHECK(
		    ztp__id_pattern_check(pattern, plen, "device_pattern"));
	ZTP_CHECK(ztp__json_str(g, "model", false, ZTP__STORE_TEXT_MAX, &model,
				NULL));
	ZTP_CHECK(ztp__store_check_text(model, "model"));
	ZTP_CHECK(ztp__json_str(g, "batch", false, ZTP__STORE_TEXT_MAX, &batch,
				NULL));
	ZTP_CHECK(ztp__store_check_text(batch, "batch"));
	ZTP_CHECK(group_int(g, "cap", 1, ZTP__STORE_CAP_MAX, &cap));
	ZTP_CHECK(group_int(g, "expires_at", 1, INT64_MAX, &expires));
	ZTP_CHECK(ztp__json_bool(g, "enabled", false, &enabled));
	ZTP_ENSURE(store->be.group_add != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no group_add");
	now = now_of(store);
	enter(store);
	rc = store->be.group_add(store->ctx, id, issuer, pattern, model, batch,
				 cap, expires, enabled ? 1 : 0, now);
	rc = leave(store, rc, "group_add");
cleanup:
	json_object_put(g);
	return rc;
}

int ztp_store_group_get(ztp_store *store, const char *group_id, char **json)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(group_id, "group_id"));
	ZTP_ENSURE(store->be.group_get != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no group_get");
	enter(store);
	rc = store->be.group_get(store->ctx, group_id, &res);
	rc = leave_json(store, rc, "group_get", json, res, json_type_object);
cleanup:
	return rc;
}

int ztp_store_group_list(ztp_store *store, char **json, const char *issuer,
			 const char *after, size_t max)
{
	char *res = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(store != NULL);
	ZTP_ARG(max >= 1);
	if (max > ZTP_STORE_LIST_MAX)
		max = ZTP_STORE_LIST_MAX;
	if (issuer != NULL)
		ZTP_CHECK(check_fingerprint(issuer, "issuer"));
	if (after != NULL)
		ZTP_CHECK(check_id(after, "after"));
	ZTP_ENSURE(store->be.group_list != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no group_list");
	enter(store);
	rc = store->be.group_list(store->ctx, issuer, after, max, &res);
	rc = leave_json(store, rc, "group_list", json, res, json_type_array);
cleanup:
	return rc;
}

int ztp_store_group_set_enabled(ztp_store *store, const char *group_id,
				int enabled)
{
	int rc = ZTP_OK;
	int64_t now;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(group_id, "group_id"));
	ZTP_ARG(enabled == 0 || enabled == 1);
	ZTP_ENSURE(store->be.group_set_enabled != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no group_set_enabled");
	now = now_of(store);
	enter(store);
	rc = store->be.group_set_enabled(store->ctx, group_id, enabled, now);
	rc = leave(store, rc, "group_set_enabled");
cleanup:
	return rc;
}

int ztp_store_group_enroll(ztp_store *store, const char *group_id,
			   const char *device_id, const char *fingerprint,
			   const uint8_t *spki, size_t len, int64_t now)
{
	int rc = ZTP_OK;

	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(group_id, "group_id"));
	ZTP_CHECK(check_id(device_id, "device_id"));
	ZTP_CHECK(check_fingerprint(fingerprint, "fingerprint"));
	ZTP_ARG(spki != NULL);
	ZTP_ARG(len >= 1 && len <= ZTP__STORE_KEY_MAX);
	ZTP_CHECK(check_time(now, "now"));
	ZTP_ENSURE(store->be.group_enroll != NULL, ZTP_EUNSUPPORTED,
		   "store backend: no group_enroll");
	enter(store);
	rc = store->be.group_enroll(store->ctx, group_id, device_id,
				    fingerprint, spki, len, now);
	rc = leave(store, rc, "group_enroll");
cleanup:
	return rc;
}

/* ------------------------------------------------------------ typed reads
 * (records.h) */

static int device_rec_fn(const ztp__store_device_view *v, void *arg)
{
	return ztp__device_rec_from_view(arg, v);
}

static int cert_rec_fn(const ztp__store_cert_view *v, void *arg)
{
	return ztp__cert_rec_from_view(arg, v);
}

typedef struct cert_list {
	ztp__cert_rec *recs;
	size_t n, cap;
} cert_list;

static int cert_list_fn(const ztp__store_cert_view *v, void *arg)
{
	cert_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 8 : l->cap * 2;
		ztp__cert_rec *r = ztp__realloc(l->recs, cap * sizeof(*r));

		if (r == NULL)
			return ztp__err(ZTP_ENOMEM, "store: out of memory");
		l->recs = r;
		l->cap = cap;
	}
	return ztp__cert_rec_from_view(&l->recs[l->n++], v);
}

int ztp__store_device_read(ztp__device_rec *out, ztp_store *store,
			   const char *device_id)
{
	char *json = NULL;
	int rc = ZTP_OK;

	memset(out, 0, sizeof(*out));
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	if (store->views == NULL) {
		ZTP_CHECK(ztp_store_device_get(store, device_id, &json));
		ZTP_CHECK(ztp__device_rec_from_json(out, json));
		goto cleanup;
	}
	enter(store);
	rc = store->views->device(store->ctx, device_id, device_rec_fn, out);
	rc = leave(store, rc, "device_get");
cleanup:
	if (rc < 0)
		ztp__device_rec_clear(out);
	ztp_free(json);
	return rc;
}

int ztp__store_cert_read(ztp__cert_rec *out, ztp_store *store,
			 const char *serial)
{
	ztp__cert_rec *one = NULL;
	char *json = NULL;
	size_t n = 0;
	int rc = ZTP_OK;

	memset(out, 0, sizeof(*out));
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_serial(serial));
	if (store->views == NULL) {
		ZTP_CHECK(ztp_store_cert_get(store, serial, &json));
		ZTP_CHECK(ztp__cert_recs_from_json(&one, &n, json, false));
		*out = one[0];
		goto cleanup;
	}
	enter(store);
	rc = store->views->cert(store->ctx, serial, cert_rec_fn, out);
	rc = leave(store, rc, "cert_get");
cleanup:
	ztp_free(one);
	ztp_free(json);
	return rc;
}

int ztp__store_device_cert_list(ztp__cert_rec **out, size_t *n,
				ztp_store *store, const char *device_id)
{
	cert_list l = {0};
	char *json = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	*n = 0;
	ZTP_ARG(store != NULL);
	ZTP_CHECK(check_id(device_id, "device_id"));
	if (store->views == NULL) {
		ZTP_CHECK(ztp_store_device_certs(store, device_id, &json));
		ZTP_CHECK(ztp__cert_recs_from_json(out, n, json, true));
		goto cleanup;
	}
	enter(store);
	rc =
	    store->views->device_certs(store->ctx, device_id, cert_list_fn, &l);
	rc = leave(store, rc, "device_certs");
	if (rc == ZTP_OK) {
		*out = l.recs;
		*n = l.n;
		l.recs = NULL;
	}
cleanup:
	ztp_free(l.recs);
	ztp_free(json);
	return rc;
}

int ztp__store_event_page(ztp__event_rec **out, size_t *n, ztp_store *store,
			  int64_t after, size_t max)
{
	char *json = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	*n = 0;
	ZTP_CHECK(ztp_store_event_list(store, after, max, &json));
	ZTP_CHECK(ztp__event_recs_from_json(out, n, json));
cleanup:
	ztp_free(json);
	return rc;
}

/* ------------------------------------------------------------ audit chain */

int ztp__store_audit_events(ztp_store *store, int64_t after, size_t max,
			    ztp__store_event_fn fn, void *arg)
{
	int rc;

	ZTP_ARG(store != NULL);
	ZTP_ARG(after >= 0 && max > 0);
	if (store->views == NULL || store->views->events == NULL)
		return ztp__err(ZTP_EUNSUPPORTED,
				"store backend: no audit chain");
	enter(store);
	rc = store->views->events(store->ctx, after, max, fn, arg);
	return leave(store, rc, "audit events");
}

int ztp__store_audit_checkpoint_add(ztp_store *store,
				    const ztp__store_checkpoint_view *cp)
{
	int rc;

	ZTP_ARG(store != NULL);
	ZTP_ARG(cp != NULL && cp->seq > 0 &&
		cp->head_len == ZTP__AUDIT_HASH_LEN && cp->sig_len > 0 &&
		cp->sig_len <= ZTP__STORE_SIG_MAX && cp->key_id != NULL);
	if (store->views == NULL || store->views->checkpoint_add == NULL)
		return ztp__err(ZTP_EUNSUPPORTED,
				"store backend: no audit chain");
	enter(store);
	rc = store->views->checkpoint_add(store->ctx, cp);
	return leave(store, rc, "audit checkpoint");
}

int ztp__store_audit_checkpoints(ztp_store *store, int64_t after, size_t max,
				 ztp__store_checkpoint_fn fn, void *arg)
{
	int rc;

	ZTP_ARG(store != NULL);
	ZTP_ARG(after >= 0 && max > 0);
	if (store->views == NULL || store->views->checkpoints == NULL)
		return ztp__err(ZTP_EUNSUPPORTED,
				"store backend: no audit chain");
	enter(store);
	rc = store->views->checkpoints(store->ctx, after, max, fn, arg);
	return leave(store, rc, "audit checkpoints");
}
