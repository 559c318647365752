/*
 * libztp — enrollment groups: devices not known one by one, enrolled at
 * their first bootstrap because their factory certificate chains to a
 * group's issuing CA and their ID matches its pattern (trust on first use
 * of that certificate for the ID). doc/SECURITY.md "Enrollment groups".
 * SPDX-License-Identifier: Apache-2.0
 *
 * Order of precedence: a device record always wins (check_registry reads
 * it first); a group is consulted only for an ID the registry does not
 * know, and records the device only once the bootstrap request passed
 * every check, in one store transaction that re-checks the group (enabled,
 * not expired, under its cap). From then on the device is a record like
 * any other: its fingerprint is the only certificate accepted for it.
 */
#include "verifier/internal.h"

#include "store/records.h"

#include <string.h>

#include <openssl/x509.h>

/* Groups a verifier may consult for one issuer: more are refused at
 * ztp_verifier_group_add(), so that a bootstrap reads one page. */
#define GROUPS_PER_ISSUER 100

/* An integer member, 0 when absent or null. */
static int64_t int_member(json_object *g, const char *key)
{
	json_object *m = NULL;

	if (!json_object_object_get_ex(g, key, &m) || m == NULL)
		return 0;
	return json_object_get_int64(m);
}

/* Why group g cannot enroll a device now, as a wire code (ZTP__W_NONE: it
 * can). The store checks the same again when it enrolls. */
static int group_refusal(json_object *g, int64_t now)
{
	json_object *m = NULL;
	int64_t expires = int_member(g, "expires_at"),
		cap = int_member(g, "cap");

	if (!json_object_object_get_ex(g, "enabled", &m) ||
	    !json_object_get_boolean(m))
		return ZTP__W_GROUP_DISABLED;
	if (expires != 0 && now > expires)
		return ZTP__W_GROUP_EXPIRED;
	if (cap != 0 && int_member(g, "enrolled") >= cap)
		return ZTP__W_GROUP_FULL;
	return ZTP__W_NONE;
}

static const char *member(json_object *g, const char *key)
{
	json_object *m = NULL;

	if (!json_object_object_get_ex(g, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		return NULL;
	return json_object_get_string(m);
}

static int refuse_for(ztp__vdec *d, int wire, const char *group_id,
		      const char *device_id)
{
	switch (wire) {
	case ZTP__W_GROUP_DISABLED:
		return ztp__reject(d, wire, ZTP_ESTATE,
				   "device %s: enrollment group %s is disabled",
				   device_id, group_id);
	case ZTP__W_GROUP_EXPIRED:
		return ztp__reject(d, wire, ZTP_EEXPIRED,
				   "device %s: enrollment group %s has expired",
				   device_id, group_id);
	case ZTP__W_GROUP_FULL:
		return ztp__reject(
		    d, wire, ZTP_ETOOBIG,
		    "device %s: enrollment group %s enrolled its cap already",
		    device_id, group_id);
	default:
		return ztp__reject(d, ZTP__W_UNKNOWN_DEVICE, ZTP_ENOTFOUND,
				   "device %s is not registered", device_id);
	}
}

int ztp__verifier_group_for(ztp_verifier *v, ztp__vdec *d,
			    const char *device_id, const uint8_t issuer_fp[32],
			    int64_t now, char group_id[ZTP_ID_MAX + 1])
{
	char issuer[65], *json = NULL, first[ZTP_ID_MAX + 1] = "";
	json_object *list = NULL;
	int first_wire = ZTP__W_NONE, rc = ZTP_OK;
	size_t i, n;

	group_id[0] = '\0';
	ztp__hex_encode(issuer, issuer_fp, 32);
	rc = ztp_store_group_list(v->store, &json, issuer, NULL,
				  GROUPS_PER_ISSUER);
	if (rc == ZTP_EUNSUPPORTED) {
		/* A caller's backend without groups has none. */
		rc = refuse_for(d, ZTP__W_NONE, "", device_id);
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ZTP_CHECK(ztp__json_parse(&list, json, strlen(json),
				  ZTP__STORE_RESULT_MAX, 3));
	ZTP_ENSURE(json_object_is_type(list, json_type_array), ZTP_ESTORE,
		   "store: group list is not an array");
	n = json_object_array_length(list);
	/* The first group (by ID) whose pattern admits the device and that
	 * can enroll it; else the reason of the first that admits it. */
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(list, i);
		const char *id = member(g, "group_id");
		const char *pattern = member(g, "device_pattern");
		int wire;

		if (id == NULL || strlen(id) > ZTP_ID_MAX)
			continue;
		if (pattern != NULL &&
		    !ztp__id_pattern_match(pattern, device_id))
			continue;
		wire = group_refusal(g, now);
		if (wire == ZTP__W_NONE) {
			snprintf(group_id, ZTP_ID_MAX + 1, "%s", id);
			goto cleanup;
		}
		if (first_wire == ZTP__W_NONE) {
			first_wire = wire;
			snprintf(first, sizeof(first), "%s", id);
		}
	}
	rc = refuse_for(d, first_wire, first, device_id);
cleanup:
	json_object_put(list);
	ztp_free(json);
	return rc;
}

static void group_event(ztp_verifier *v, const char *group_id,
			const char *device_id, int64_t now)
{
	json_object *ev = json_object_new_object();
	char ts[32];

	if (ev == NULL)
		return;
	ztp__time_rfc3339(ts, now);
	if (ztp__json_add_str(ev, "type", "group_enroll") == ZTP_OK &&
	    ztp__json_add_str(ev, "result", "accepted") == ZTP_OK &&
	    ztp__json_add_str(ev, "device_id", device_id) == ZTP_OK &&
	    ztp__json_add_str(ev, "group", group_id) == ZTP_OK &&
	    ztp__json_add_str(ev, "time", ts) == ZTP_OK)
		ztp__verifier_log(v, ev, true);
	json_object_put(ev);
}

int ztp__verifier_group_enroll(ztp_verifier *v, ztp__vdec *d,
			       const char *group_id, const char *device_id,
			       X509 *factory, int64_t now)
{
	unsigned char *der = NULL;
	uint8_t fp[32];
	char hex[65];
	int n, rc = ZTP_OK;

	ZTP_CHECK(ztp__cert_fingerprint(fp, factory));
	ztp__hex_encode(hex, fp, sizeof(fp));
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(factory), &der);
	ZTP_ENSURE_OSSL(n > 0, ZTP_ENOMEM, "factory key");
	rc = ztp_store_group_enroll(v->store, group_id, device_id, hex, der,
				    (size_t)n, now);
	switch (rc) {
	case ZTP_OK:
		group_event(v, group_id, device_id, now);
		break;
	case ZTP_ESTATE:
		rc = refuse_for(d, ZTP__W_GROUP_DISABLED, group_id, device_id);
		break;
	case ZTP_EEXPIRED:
		rc = refuse_for(d, ZTP__W_GROUP_EXPIRED, group_id, device_id);
		break;
	case ZTP_ETOOBIG:
		rc = refuse_for(d, ZTP__W_GROUP_FULL, group_id, device_id);
		break;
	case ZTP_ENOTFOUND:
		rc = refuse_for(d, ZTP__W_NONE, group_id, device_id);
		break;
	default:
		break;
	}
cleanup:
	OPENSSL_free(der);
	return rc;
}

/* ------------------------------------------------------------ public */

int ztp_verifier_group_add(ztp_verifier *v, const char *group_json)
{
	static const char *const keys[] = {
	    "group_id", "issuer_cert", "device_pattern", "model", "batch",
	    "cap",	"expires_at",  "enabled",	 NULL};
	const char *pem = NULL;
	size_t pem_len = 0, i, n = 0;
	json_object *g = NULL, *list = NULL;
	char hex[65], *out = NULL, *json = NULL;
	X509 *ca = NULL;
	uint8_t fp[32];
	bool allowed = false;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(group_json != NULL);
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	ZTP_CHECK(ztp__json_parse(&g, group_json,
				  strnlen(group_json, ZTP_BULK_LINE_MAX + 1),
				  ZTP_BULK_LINE_MAX, 1));
	ZTP_ENSURE(json_object_is_type(g, json_type_object), ZTP_EPARSE,
		   "group: not a JSON object");
	ZTP_CHECK(ztp__json_only_keys(g, keys, "group"));
	ZTP_CHECK(ztp__json_str(g, "issuer_cert", true, ZTP_BULK_LINE_MAX, &pem,
				&pem_len));
	ZTP_CHECK(ztp__pem_cert(&ca, pem, pem_len));
	ZTP_CHECK(ztp__cert_fingerprint(fp, ca));
	/* A group widens what an allowed issuer may enroll; it never adds
	 * an issuer. */
	for (i = 0; v->issuers != NULL && i < (size_t)sk_X509_num(v->issuers);
	     i++)
		allowed = allowed || memcmp(fp, v->issuer_fp[i], 32) == 0;
	ZTP_ENSURE(allowed, ZTP_EUNTRUSTED,
		   "group: issuer_cert is not one of the verifier's issuing "
		   "CAs");
	ztp__hex_encode(hex, fp, sizeof(fp));
	rc =
	    ztp_store_group_list(v->store, &json, hex, NULL, GROUPS_PER_ISSUER);
	ZTP_CHECK(rc);
	ZTP_CHECK(ztp__json_parse(&list, json, strlen(json),
				  ZTP__STORE_RESULT_MAX, 3));
	n = json_object_array_length(list);
	ZTP_ENSURE(n < GROUPS_PER_ISSUER, ZTP_ETOOBIG,
		   "group: the issuer has %d groups already",
		   GROUPS_PER_ISSUER);
	json_object_object_del(g, "issuer_cert");
	ZTP_CHECK(ztp__json_add_str(g, "issuer", hex));
	ZTP_CHECK(ztp__json_dump(&out, g));
	ZTP_CHECK(ztp_store_group_add(v->store, out));
cleanup:
	X509_free(ca);
	json_object_put(g);
	json_object_put(list);
	ztp_free(out);
	ztp_free(json);
	return rc;
}

int ztp_verifier_group_list(ztp_verifier *v, char **json, const char *after,
			    size_t max)
{
	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(v != NULL);
	if (v->store == NULL)
		return ztp__err(ZTP_ESTATE, "the verifier has no store");
	return ztp_store_group_list(v->store, json, NULL, after, max);
}

int ztp_verifier_group_set_enabled(ztp_verifier *v, const char *group_id,
				   int enabled)
{
	ZTP_ARG(v != NULL);
	if (v->store == NULL)
		return ztp__err(ZTP_ESTATE, "the verifier has no store");
	return ztp_store_group_set_enabled(v->store, group_id, enabled);
}
