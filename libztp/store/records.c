/*
 * libztp — the JSON shape of store records, shared by the built-in
 * backends so that `memory:` and `sqlite:` answer byte for byte alike.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "store/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON null is a NULL value to json-c, which ztp__json_add would take for
 * a failed allocation. */
static int add_null(json_object *obj, const char *key)
{
	if (json_object_object_add(obj, key, NULL) != 0)
		return ztp__err(ZTP_ENOMEM, "store: out of memory");
	return ZTP_OK;
}

static int add_str_or_null(json_object *obj, const char *key, const char *val)
{
	if (val == NULL)
		return add_null(obj, key);
	return ztp__json_add_str(obj, key, val);
}

int ztp__store_array_add(json_object *arr, json_object *val)
{
	if (val == NULL)
		return ztp__err(ZTP_ENOMEM, "store: out of memory");
	if (json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return ztp__err(ZTP_ENOMEM, "store: out of memory");
	}
	return ZTP_OK;
}

int ztp__store_device_json(json_object **out, const ztp__store_device_view *d)
{
	json_object *obj = NULL, *info = NULL;
	char *key = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	obj = json_object_new_object();
	ZTP_ENSURE(obj != NULL, ZTP_ENOMEM, "store: out of memory");
	if (d->info != NULL) {
		/* Stored canonical by the front end; anything else means the
		 * storage was altered behind the library's back. */
		rc = ztp__json_parse(&info, d->info, strlen(d->info),
				     ZTP__STORE_JSON_MAX,
				     ZTP_JSON_MAX_DEPTH - 2);
		ZTP_ENSURE(rc == ZTP_OK || rc == ZTP_ENOMEM, ZTP_ESTORE,
			   "store: device %s: stored info is corrupt",
			   d->device_id);
		ZTP_CHECK(rc);
		ZTP_ENSURE(json_object_is_type(info, json_type_object),
			   ZTP_ESTORE,
			   "store: device %s: stored info is not an object",
			   d->device_id);
	}
	ZTP_CHECK(ztp__json_add_str(obj, "device_id", d->device_id));
	ZTP_CHECK(ztp__json_add_str(obj, "fingerprint", d->fingerprint));
	ZTP_CHECK(add_str_or_null(obj, "model", d->model));
	ZTP_CHECK(add_str_or_null(obj, "batch", d->batch));
	ZTP_CHECK(
	    ztp__json_add_int(obj, "manufactured_at", d->manufactured_at));
	ZTP_CHECK(ztp__json_add_str(obj, "state", d->state));
	ZTP_CHECK(add_str_or_null(obj, "tenant", d->tenant));
	if (info != NULL) {
		rc = ztp__json_add(obj, "info", info);
		info = NULL;
		ZTP_CHECK(rc);
	} else {
		ZTP_CHECK(add_null(obj, "info"));
	}
	ZTP_CHECK(ztp__json_add_int(obj, "updated_at", d->updated_at));
	if (d->factory_key_len > 0) {
		ZTP_CHECK(
		    ztp__b64_encode(&key, d->factory_key, d->factory_key_len));
		ZTP_CHECK(ztp__json_add_str(obj, "factory_key", key));
	} else {
		ZTP_CHECK(add_null(obj, "factory_key"));
	}
	ZTP_CHECK(add_str_or_null(obj, "group", d->group));
	*out = obj;
	obj = NULL;
cleanup:
	ztp_free(key);
	json_object_put(info);
	json_object_put(obj);
	return rc;
}

static int add_int_or_null(json_object *obj, const char *key, int64_t val)
{
	if (val == 0)
		return add_null(obj, key);
	return ztp__json_add_int(obj, key, val);
}

int ztp__store_group_json(json_object **out, const ztp__store_group_view *g)
{
	json_object *obj = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	obj = json_object_new_object();
	ZTP_ENSURE(obj != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(ztp__json_add_str(obj, "group_id", g->group_id));
	ZTP_CHECK(ztp__json_add_str(obj, "issuer", g->issuer));
	ZTP_CHECK(add_str_or_null(obj, "device_pattern", g->device_pattern));
	ZTP_CHECK(add_str_or_null(obj, "model", g->model));
	ZTP_CHECK(add_str_or_null(obj, "batch", g->batch));
	ZTP_CHECK(add_int_or_null(obj, "cap", g->cap));
	ZTP_CHECK(add_int_or_null(obj, "expires_at", g->expires_at));
	ZTP_CHECK(
	    ztp__json_add(obj, "enabled", json_object_new_boolean(g->enabled)));
	ZTP_CHECK(ztp__json_add_int(obj, "enrolled", g->enrolled));
	ZTP_CHECK(ztp__json_add_int(obj, "created_at", g->created_at));
	ZTP_CHECK(ztp__json_add_int(obj, "updated_at", g->updated_at));
	*out = obj;
	obj = NULL;
cleanup:
	json_object_put(obj);
	return rc;
}

int ztp__store_cert_json(json_object **out, const ztp__store_cert_view *c)
{
	json_object *obj = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	obj = json_object_new_object();
	ZTP_ENSURE(obj != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(ztp__json_add_str(obj, "serial", c->serial));
	ZTP_CHECK(add_str_or_null(obj, "device_id", c->device_id));
	ZTP_CHECK(ztp__json_add_str(obj, "profile", c->profile));
	ZTP_CHECK(ztp__json_add_int(obj, "not_before", c->not_before));
	ZTP_CHECK(ztp__json_add_int(obj, "not_after", c->not_after));
	ZTP_CHECK(ztp__json_add_str(obj, "fingerprint", c->fingerprint));
	ZTP_CHECK(ztp__json_add_int(obj, "issued_at", c->issued_at));
	ZTP_CHECK(
	    ztp__json_add(obj, "revoked", json_object_new_boolean(c->revoked)));
	if (c->revoked) {
		ZTP_CHECK(ztp__json_add_int(obj, "revoked_at", c->revoked_at));
		ZTP_CHECK(ztp__json_add_int(obj, "reason", c->reason));
	} else {
		ZTP_CHECK(add_null(obj, "revoked_at"));
		ZTP_CHECK(add_null(obj, "reason"));
	}
	ZTP_CHECK(add_str_or_null(obj, "issuer", c->issuer));
	*out = obj;
	obj = NULL;
cleanup:
	json_object_put(obj);
	return rc;
}

int ztp__store_revoked_json(json_object **out, const char *serial,
			    int64_t revoked_at, int reason)
{
	json_object *obj = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	obj = json_object_new_object();
	ZTP_ENSURE(obj != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(ztp__json_add_str(obj, "serial", serial));
	ZTP_CHECK(ztp__json_add_int(obj, "revoked_at", revoked_at));
	ZTP_CHECK(ztp__json_add_int(obj, "reason", reason));
	*out = obj;
	obj = NULL;
cleanup:
	json_object_put(obj);
	return rc;
}

int ztp__store_event_json(json_object **out, int64_t seq, int64_t at,
			  const char *event)
{
	json_object *obj = NULL, *ev = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	rc = ztp__json_parse(&ev, event, strlen(event), ZTP__STORE_JSON_MAX,
			     ZTP_JSON_MAX_DEPTH - 2);
	ZTP_ENSURE(rc == ZTP_OK || rc == ZTP_ENOMEM, ZTP_ESTORE,
		   "store: event %lld is corrupt", (long long)seq);
	ZTP_CHECK(rc);
	ZTP_ENSURE(json_object_is_type(ev, json_type_object), ZTP_ESTORE,
		   "store: event %lld is not an object", (long long)seq);
	obj = json_object_new_object();
	ZTP_ENSURE(obj != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(ztp__json_add_int(obj, "seq", seq));
	ZTP_CHECK(ztp__json_add_int(obj, "at", at));
	rc = ztp__json_add(obj, "event", ev);
	ev = NULL;
	ZTP_CHECK(rc);
	*out = obj;
	obj = NULL;
cleanup:
	json_object_put(ev);
	json_object_put(obj);
	return rc;
}

int ztp__store_serial_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

bool ztp__store_profile_in(const char *list, const char *profile)
{
	size_t plen = strlen(profile);
	const char *p = list;

	if (list == NULL)
		return true;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (n == plen && memcmp(p, profile, n) == 0)
			return true;
		if (comma == NULL)
			return false;
		p = comma + 1;
	}
}

/* ------------------------------------------------------------ views to JSON
 */

static int device_to_json(const ztp__store_device_view *v, void *arg)
{
	return ztp__store_device_json(arg, v);
}

static int cert_to_json(const ztp__store_cert_view *v, void *arg)
{
	return ztp__store_cert_json(arg, v);
}

static int cert_append_json(const ztp__store_cert_view *v, void *arg)
{
	json_object *item = NULL;
	int rc = ztp__store_cert_json(&item, v);

	if (rc < 0)
		return rc;
	return ztp__store_array_add(arg, item);
}

int ztp__store_views_device_json(const ztp__store_views *vw, void *ctx,
				 const char *device_id, char **json)
{
	json_object *obj = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(vw->device(ctx, device_id, device_to_json, &obj));
	ZTP_CHECK(ztp__json_dump(json, obj));
cleanup:
	json_object_put(obj);
	return rc;
}

int ztp__store_views_cert_json(const ztp__store_views *vw, void *ctx,
			       const char *serial, char **json)
{
	json_object *obj = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(vw->cert(ctx, serial, cert_to_json, &obj));
	ZTP_CHECK(ztp__json_dump(json, obj));
cleanup:
	json_object_put(obj);
	return rc;
}

int ztp__store_views_device_certs_json(const ztp__store_views *vw, void *ctx,
				       const char *device_id, char **json)
{
	json_object *arr = json_object_new_array();
	int rc = ZTP_OK;

	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(vw->device_certs(ctx, device_id, cert_append_json, arr));
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	return rc;
}

/* --------------------------------------------------------- typed records */

void ztp__device_rec_clear(ztp__device_rec *r)
{
	if (r == NULL)
		return;
	free(r->model);
	free(r->batch);
	free(r->info);
	free(r->factory_key);
	memset(r, 0, sizeof(*r));
}

/* Copy a string of at most cap - 1 bytes; a longer one is a record this
 * library would never have written. */
static int copy_fixed(char *dst, size_t cap, const char *src, const char *what)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= cap)
		return ztp__err(ZTP_ESTORE, "store: malformed record (%s)",
				what);
	memcpy(dst, src != NULL ? src : "", n + 1);
	return ZTP_OK;
}

static int copy_heap(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return ZTP_OK;
	*dst = ztp__strdup(src);
	return *dst != NULL ? ZTP_OK
			    : ztp__err(ZTP_ENOMEM, "store: out of memory");
}

int ztp__device_rec_from_view(ztp__device_rec *r,
			      const ztp__store_device_view *v)
{
	int rc = ZTP_OK;

	memset(r, 0, sizeof(*r));
	ZTP_CHECK(copy_fixed(r->device_id, sizeof(r->device_id), v->device_id,
			     "device_id"));
	ZTP_CHECK(copy_fixed(r->fingerprint, sizeof(r->fingerprint),
			     v->fingerprint, "fingerprint"));
	ZTP_CHECK(copy_fixed(r->state, sizeof(r->state), v->state, "state"));
	ZTP_CHECK(
	    copy_fixed(r->tenant, sizeof(r->tenant), v->tenant, "tenant"));
	ZTP_CHECK(copy_heap(&r->model, v->model));
	ZTP_CHECK(copy_heap(&r->batch, v->batch));
	ZTP_CHECK(copy_heap(&r->info, v->info));
	r->manufactured_at = v->manufactured_at;
	r->updated_at = v->updated_at;
	if (v->factory_key_len > 0) {
		r->factory_key = ztp__malloc(v->factory_key_len);
		ZTP_ENSURE(r->factory_key != NULL, ZTP_ENOMEM,
			   "store: out of memory");
		memcpy(r->factory_key, v->factory_key, v->factory_key_len);
		r->factory_key_len = v->factory_key_len;
	}
cleanup:
	if (rc < 0)
		ztp__device_rec_clear(r);
	return rc;
}

int ztp__cert_rec_from_view(ztp__cert_rec *r, const ztp__store_cert_view *v)
{
	int rc = ZTP_OK;

	memset(r, 0, sizeof(*r));
	ZTP_CHECK(
	    copy_fixed(r->serial, sizeof(r->serial), v->serial, "serial"));
	ZTP_CHECK(copy_fixed(r->device_id, sizeof(r->device_id), v->device_id,
			     "device_id"));
	ZTP_CHECK(
	    copy_fixed(r->profile, sizeof(r->profile), v->profile, "profile"));
	ZTP_CHECK(copy_fixed(r->fingerprint, sizeof(r->fingerprint),
			     v->fingerprint, "fingerprint"));
	ZTP_CHECK(
	    copy_fixed(r->issuer, sizeof(r->issuer), v->issuer, "issuer"));
	r->not_before = v->not_before;
	r->not_after = v->not_after;
	r->issued_at = v->issued_at;
	r->revoked = v->revoked;
	if (v->revoked) {
		r->revoked_at = v->revoked_at;
		r->reason = v->reason;
	}
cleanup:
	return rc;
}

/* A member that is a string or null (absent counts as null): *out NULL
 * for null. */
static int str_or_null(json_object *o, const char *key, size_t max,
		       const char **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return ZTP_OK;
	return ztp__json_str(o, key, true, max, out, NULL);
}

/* The JSON of a caller's backend, read once into the view shape the
 * built-in backends produce. Everything a view borrows stays owned by
 * o (or, for the factory key, by *key). */
static int device_view_from_json(ztp__store_device_view *v, uint8_t **key,
				 json_object *o)
{
	const char *k64 = NULL;
	json_object *info = NULL;
	int rc = ZTP_OK;

	memset(v, 0, sizeof(*v));
	*key = NULL;
	ZTP_CHECK(ztp__json_str(o, "device_id", true, ZTP_ID_MAX, &v->device_id,
				NULL));
	ZTP_CHECK(ztp__json_str(o, "fingerprint", true, ZTP__STORE_FPR_LEN,
				&v->fingerprint, NULL));
	ZTP_CHECK(ztp__json_str(o, "state", true, ZTP__STORE_STATE_MAX,
				&v->state, NULL));
	ZTP_CHECK(str_or_null(o, "tenant", ZTP_ID_MAX, &v->tenant));
	ZTP_CHECK(str_or_null(o, "model", ZTP__STORE_TEXT_MAX, &v->model));
	ZTP_CHECK(str_or_null(o, "batch", ZTP__STORE_TEXT_MAX, &v->batch));
	ZTP_CHECK(ztp__json_int(o, "manufactured_at", false, 0, INT64_MAX,
				&v->manufactured_at));
	ZTP_CHECK(ztp__json_int(o, "updated_at", false, 0, INT64_MAX,
				&v->updated_at));
	if (json_object_object_get_ex(o, "info", &info) && info != NULL) {
		ZTP_CHECK(ztp__json_object(o, "info", true, &info));
		v->info = json_object_to_json_string_ext(
		    info,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		ZTP_ENSURE(v->info != NULL, ZTP_ENOMEM, "store: out of memory");
	}
	ZTP_CHECK(str_or_null(o, "factory_key", 2 * ZTP__STORE_KEY_MAX, &k64));
	if (k64 != NULL) {
		ZTP_CHECK(ztp__b64_decode(key, &v->factory_key_len, k64,
					  strlen(k64)));
		ZTP_ENSURE(v->factory_key_len > 0 &&
			       v->factory_key_len <= ZTP__STORE_KEY_MAX,
			   ZTP_EPARSE, "factory_key: bad length");
		v->factory_key = *key;
	}
cleanup:
	return rc;
}

static int cert_view_from_json(ztp__store_cert_view *v, json_object *o)
{
	int64_t reason = 0;
	int rc = ZTP_OK;

	memset(v, 0, sizeof(*v));
	ZTP_CHECK(ztp__json_str(o, "serial", true, ZTP__STORE_SERIAL_MAX,
				&v->serial, NULL));
	ZTP_CHECK(str_or_null(o, "device_id", ZTP_ID_MAX, &v->device_id));
	ZTP_CHECK(ztp__json_str(o, "profile", true, ZTP__STORE_PROFILE_MAX,
				&v->profile, NULL));
	ZTP_CHECK(ztp__json_str(o, "fingerprint", true, ZTP__STORE_FPR_LEN,
				&v->fingerprint, NULL));
	ZTP_CHECK(str_or_null(o, "issuer", ZTP_STORE_ISSUER_MAX, &v->issuer));
	ZTP_CHECK(ztp__json_int(o, "not_before", true, INT64_MIN / 2,
				INT64_MAX / 2, &v->not_before));
	ZTP_CHECK(ztp__json_int(o, "not_after", true, INT64_MIN / 2,
				INT64_MAX / 2, &v->not_after));
	ZTP_CHECK(
	    ztp__json_int(o, "issued_at", false, 0, INT64_MAX, &v->issued_at));
	ZTP_CHECK(ztp__json_bool(o, "revoked", true, &v->revoked));
	if (v->revoked) {
		ZTP_CHECK(ztp__json_int(o, "revoked_at", true, 0, INT64_MAX,
					&v->revoked_at));
		ZTP_CHECK(ztp__json_int(o, "reason", true, 0, 10, &reason));
		v->reason = (int)reason;
	}
cleanup:
	return rc;
}

/* A parse failure of a caller backend's record is the store failing, not
 * the caller's input. */
static int malformed(int rc, const char *what)
{
	char detail[256];

	if (rc == ZTP_ENOMEM)
		return rc;
	snprintf(detail, sizeof(detail), "%s", ztp_error_last_message());
	return ztp__err(ZTP_ESTORE, "store backend: malformed %s: %s", what,
			detail);
}

int ztp__device_rec_from_json(ztp__device_rec *r, const char *json)
{
	ztp__store_device_view v;
	json_object *o = NULL;
	uint8_t *key = NULL;
	int rc = ZTP_OK;

	memset(r, 0, sizeof(*r));
	rc = ztp__json_parse(&o, json, strlen(json), ZTP__STORE_RESULT_MAX,
			     ZTP_JSON_MAX_DEPTH);
	if (rc == ZTP_OK && !json_object_is_type(o, json_type_object))
		rc = ztp__err(ZTP_EPARSE, "not a JSON object");
	if (rc == ZTP_OK)
		rc = device_view_from_json(&v, &key, o);
	if (rc < 0) {
		rc = malformed(rc, "device record");
		goto cleanup;
	}
	ZTP_CHECK(ztp__device_rec_from_view(r, &v));
cleanup:
	free(key);
	json_object_put(o);
	return rc;
}

int ztp__cert_recs_from_json(ztp__cert_rec **out, size_t *n, const char *json,
			     bool list)
{
	ztp__store_cert_view v;
	json_object *o = NULL, *el;
	ztp__cert_rec *recs = NULL;
	size_t count = 1;
	int rc = ZTP_OK;

	*out = NULL;
	*n = 0;
	rc = ztp__json_parse(&o, json, strlen(json), ZTP__STORE_RESULT_MAX,
			     ZTP_JSON_MAX_DEPTH);
	if (rc == ZTP_OK &&
	    !json_object_is_type(o, list ? json_type_array : json_type_object))
		rc = ztp__err(ZTP_EPARSE, "not a JSON %s",
			      list ? "array" : "object");
	if (rc < 0) {
		rc = malformed(rc, list ? "certificate list"
					: "certificate record");
		goto cleanup;
	}
	if (list)
		count = json_object_array_length(o);
	if (count == 0)
		goto cleanup;
	recs = ztp__calloc(count, sizeof(*recs));
	ZTP_ENSURE(recs != NULL, ZTP_ENOMEM, "store: out of memory");
	for (size_t i = 0; i < count; i++) {
		el = list ? json_object_array_get_idx(o, i) : o;
		rc = cert_view_from_json(&v, el);
		if (rc == ZTP_OK)
			rc = ztp__cert_rec_from_view(&recs[i], &v);
		if (rc < 0) {
			rc = malformed(rc, "certificate record");
			goto cleanup;
		}
	}
	*out = recs;
	*n = count;
	recs = NULL;
cleanup:
	free(recs);
	json_object_put(o);
	return rc;
}

/* A member copied when it is a string that fits; "" otherwise. */
static void member_or_empty(char *dst, size_t cap, json_object *o,
			    const char *key)
{
	json_object *v = NULL;

	dst[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) < cap)
		memcpy(dst, json_object_get_string(v),
		       (size_t)json_object_get_string_len(v) + 1);
}

int ztp__event_recs_from_json(ztp__event_rec **out, size_t *n, const char *json)
{
	json_object *arr = NULL, *e, *ev;
	ztp__event_rec *recs = NULL;
	size_t count;
	int rc = ZTP_OK;

	*out = NULL;
	*n = 0;
	rc = ztp__json_parse(&arr, json, strlen(json), ZTP__STORE_RESULT_MAX,
			     ZTP_JSON_MAX_DEPTH);
	if (rc == ZTP_OK && !json_object_is_type(arr, json_type_array))
		rc = ztp__err(ZTP_EPARSE, "not a JSON array");
	if (rc < 0) {
		rc = malformed(rc, "event list");
		goto cleanup;
	}
	count = json_object_array_length(arr);
	if (count == 0)
		goto cleanup;
	recs = ztp__calloc(count, sizeof(*recs));
	ZTP_ENSURE(recs != NULL, ZTP_ENOMEM, "store: out of memory");
	for (size_t i = 0; i < count; i++) {
		e = json_object_array_get_idx(arr, i);
		ev = NULL;
		rc = ztp__json_int(e, "seq", true, 1, INT64_MAX, &recs[i].seq);
		if (rc == ZTP_OK)
			rc = ztp__json_int(e, "at", true, 0, INT64_MAX / 2,
					   &recs[i].at);
		if (rc == ZTP_OK)
			rc = ztp__json_object(e, "event", true, &ev);
		if (rc < 0) {
			rc = malformed(rc, "event list");
			goto cleanup;
		}
		member_or_empty(recs[i].type, sizeof(recs[i].type), ev, "type");
		member_or_empty(recs[i].result, sizeof(recs[i].result), ev,
				"result");
		member_or_empty(recs[i].device_id, sizeof(recs[i].device_id),
				ev, "device_id");
	}
	*out = recs;
	*n = count;
	recs = NULL;
cleanup:
	free(recs);
	json_object_put(arr);
	return rc;
}
