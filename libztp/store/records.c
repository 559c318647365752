/*
 * libztp — the JSON shape of store records, shared by the built-in
 * backends so that `memory:` and `sqlite:` answer byte for byte alike.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "store/store-internal.h"

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
		ZTP_CHECK(ztp__b64_encode(&key, d->factory_key,
					  d->factory_key_len));
		ZTP_CHECK(ztp__json_add_str(obj, "factory_key", key));
	} else {
		ZTP_CHECK(add_null(obj, "factory_key"));
	}
	*out = obj;
	obj = NULL;
cleanup:
	ztp_free(key);
	json_object_put(info);
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
