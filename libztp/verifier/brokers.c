/*
 * libztp — broker allocation: the MQTT broker endpoints a device is told
 * to connect to, in `assignment` and credentials answers. A default list
 * and per-tenant lists (ztp_verifier_set_brokers, "brokers" in
 * ztp-verify.json(5)).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "verifier/internal.h"

#include <string.h>

#define BROKERS_PER_LIST 8
#define BROKER_URL_MAX 255
#define BROKER_TENANTS_MAX 10000

/* mqtt://, mqtts://, ws:// or wss:// then a host (and port, path): printable
 * ASCII without spaces, at most BROKER_URL_MAX bytes. */
static int check_url(json_object *u, const char *what)
{
	static const char *const schemes[] = {"mqtt://", "mqtts://", "ws://",
					      "wss://"};
	const char *s;
	size_t len, i, k;
	bool scheme = false;

	if (!json_object_is_type(u, json_type_string))
		return ztp__err(ZTP_EINVAL, "%s: not a string", what);
	s = json_object_get_string(u);
	len = (size_t)json_object_get_string_len(u);
	if (len == 0 || len > BROKER_URL_MAX)
		return ztp__err(ZTP_EINVAL, "%s: need 1..%d bytes", what,
				BROKER_URL_MAX);
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return ztp__err(ZTP_EINVAL,
					"%s: character %zu not allowed", what,
					i);
	for (k = 0; k < ZTP__ARRAY_LEN(schemes); k++)
		if (strncmp(s, schemes[k], strlen(schemes[k])) == 0 &&
		    len > strlen(schemes[k]))
			scheme = true;
	if (!scheme)
		return ztp__err(ZTP_EINVAL,
				"%s: not an mqtt://, mqtts://, ws:// or wss:// "
				"URL",
				what);
	return ZTP_OK;
}

static int check_list(json_object *l, const char *what)
{
	size_t i, n;
	int rc = ZTP_OK;

	ZTP_ENSURE(json_object_is_type(l, json_type_array), ZTP_EINVAL,
		   "%s: not an array", what);
	n = json_object_array_length(l);
	ZTP_ENSURE(n >= 1 && n <= BROKERS_PER_LIST, ZTP_EINVAL,
		   "%s: need 1..%d endpoints", what, BROKERS_PER_LIST);
	for (i = 0; i < n; i++)
		ZTP_CHECK(check_url(json_object_array_get_idx(l, i), what));
cleanup:
	return rc;
}

int ztp__verifier_brokers_set(ztp_verifier *v, json_object *b)
{
	static const char *const keys[] = {"default", "tenants", NULL};
	json_object *d = NULL, *t = NULL;
	int rc = ZTP_OK;

	ZTP_ENSURE(json_object_is_type(b, json_type_object), ZTP_EINVAL,
		   "brokers: not an object");
	ZTP_CHECK(ztp__json_only_keys(b, keys, "brokers"));
	if (json_object_object_get_ex(b, "default", &d))
		ZTP_CHECK(check_list(d, "brokers: default"));
	if (json_object_object_get_ex(b, "tenants", &t)) {
		ZTP_ENSURE(json_object_is_type(t, json_type_object), ZTP_EINVAL,
			   "brokers: tenants: not an object");
		ZTP_ENSURE(json_object_object_length(t) <= BROKER_TENANTS_MAX,
			   ZTP_ETOOBIG, "brokers: over %d tenants",
			   BROKER_TENANTS_MAX);
		json_object_object_foreach(t, tenant, list)
		{
			ZTP_CHECK(ztp__id_check(tenant, strlen(tenant),
						"brokers: tenant"));
			ZTP_CHECK(check_list(list, "brokers: tenant list"));
		}
	}
	json_object_put(v->brokers);
	v->brokers = json_object_get(b);
cleanup:
	return rc;
}

int ztp_verifier_set_brokers(ztp_verifier *v, const char *brokers_json)
{
	json_object *b = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	if (brokers_json == NULL) {
		json_object_put(v->brokers);
		v->brokers = NULL;
		return ZTP_OK;
	}
	ZTP_CHECK(ztp__json_parse(&b, brokers_json,
				  strnlen(brokers_json, 4 * 1024 * 1024 + 1),
				  4 * 1024 * 1024, 3));
	ZTP_CHECK(ztp__verifier_brokers_set(v, b));
cleanup:
	json_object_put(b);
	return rc;
}

int ztp__verifier_brokers_add(ztp_verifier *v, json_object *resp,
			      const char *tenant)
{
	json_object *t = NULL, *list = NULL, *copy = NULL;

	if (v->brokers == NULL)
		return ZTP_OK;
	if (tenant != NULL && tenant[0] != '\0' &&
	    json_object_object_get_ex(v->brokers, "tenants", &t))
		json_object_object_get_ex(t, tenant, &list);
	if (list == NULL)
		json_object_object_get_ex(v->brokers, "default", &list);
	if (list == NULL)
		return ZTP_OK;
	/* A copy: the configured lists are shared by every thread, and
	 * json-c's reference counts are not atomic. */
	if (json_object_deep_copy(list, &copy, NULL) != 0)
		return ztp__err(ZTP_ENOMEM, "out of memory");
	return ztp__json_add(resp, "brokers", copy);
}
