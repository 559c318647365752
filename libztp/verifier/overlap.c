/*
 * libztp — the rotation overlap: a superseded operational certificate
 * stays valid for a configurable time, then is revoked.
 * SPDX-License-Identifier: Apache-2.0
 *
 * No new state is stored. The store lists a device's certificates in order
 * of issuance; an operational certificate is superseded by the next
 * operational certificate issued to the same device, and its overlap ends
 * `rotation_overlap` seconds after that successor's issued_at. Because the
 * deadline is derived from the list, authentication refuses a certificate
 * whose overlap has ended whether or not its revocation has been written
 * yet (ztp__overlap_sweep with a serial).
 *
 * Revocation itself is lazy, without a thread of our own: on every
 * authenticated request of the device, before a CRL is served, and on
 * ztp_verifier_maintain(). To find devices nobody asks about, the
 * verifier remembers (in memory) each device that holds a superseded
 * certificate and when it falls due, filled from its own issuances and,
 * after a restart or from other instances, from the `credentials` and
 * `rotate` events in the store's event log. The log is an audit trail
 * whose append may fail without failing the request; a certificate missed
 * that way is still refused after its overlap and is revoked the next
 * time its device makes any request or is reset or revoked.
 */
#include "verifier/verifier_internal.h"

#include <string.h>

#define CERTS_JSON_MAX (16 * 1024 * 1024)
#define EVENTS_PAGE 256

typedef struct opcert {
	const char *serial;
	int64_t issued_at;
	bool revoked;
} opcert;

static int cert_fields(json_object *c, opcert *out, bool *operational)
{
	const char *profile = NULL;
	int rc;

	rc = ztp__json_str(c, "serial", true, ZTP_CA_SERIAL_HEX_MAX,
			   &out->serial, NULL);
	if (rc == ZTP_OK)
		rc = ztp__json_str(c, "profile", true, 64, &profile, NULL);
	if (rc == ZTP_OK)
		rc = ztp__json_int(c, "issued_at", true, 0, INT64_MAX / 2,
				   &out->issued_at);
	if (rc == ZTP_OK)
		rc = ztp__json_bool(c, "revoked", true, &out->revoked);
	if (rc < 0)
		return ztp__err(ZTP_ESTORE, "store: malformed certificate "
					    "record");
	*operational = strcmp(profile, ZTP_CA_PROFILE_OPERATIONAL) == 0;
	return ZTP_OK;
}

int ztp__overlap_sweep(ztp_verifier *v, const char *device_id,
		       const char *serial, int64_t now, bool *expired,
		       uint64_t *revoked)
{
	json_object *arr = NULL;
	char *json = NULL;
	opcert prev = {0}, cur;
	bool have_prev = false, op = false;
	int64_t next_due = 0;
	size_t n;
	int rc;

	if (expired != NULL)
		*expired = false;
	rc = ztp_store_device_certs(v->store, device_id, &json);
	if (rc == ZTP_ENOTFOUND) {
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ZTP_CHECK(ztp__json_parse(&arr, json, strlen(json), CERTS_JSON_MAX,
				  ZTP_JSON_MAX_DEPTH));
	ZTP_ENSURE(arr != NULL && json_object_is_type(arr, json_type_array),
		   ZTP_ESTORE, "store: malformed certificate list");
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(arr, i);
		int64_t due;

		ZTP_ENSURE(json_object_is_type(c, json_type_object), ZTP_ESTORE,
			   "store: malformed certificate list");
		ZTP_CHECK(cert_fields(c, &cur, &op));
		if (!op)
			continue;
		if (have_prev) {
			/* prev is superseded by cur. */
			due =
			    cur.issued_at > INT64_MAX / 2 - v->rotation_overlap
				? INT64_MAX / 2
				: cur.issued_at + v->rotation_overlap;
			if (now >= due) {
				if (serial != NULL && expired != NULL &&
				    strcmp(prev.serial, serial) == 0)
					*expired = true;
				if (!prev.revoked) {
					ZTP_CHECK(ztp_store_cert_revoke(
					    v->store, prev.serial,
					    ZTP_CA_REASON_SUPERSEDED, due));
					if (revoked != NULL)
						(*revoked)++;
				}
			} else if (!prev.revoked &&
				   (next_due == 0 || due < next_due)) {
				next_due = due;
			}
		}
		prev = cur;
		have_prev = true;
	}
	if (next_due != 0)
		ZTP_CHECK(ztp__overlap_note(v, device_id, next_due));
cleanup:
	json_object_put(arr);
	ztp_free(json);
	return rc;
}

/* With maint_lock held. */
static int note_locked(ztp_verifier *v, const char *device_id, int64_t due)
{
	ztp__pending *p;

	for (size_t i = 0; i < v->n_pending; i++) {
		p = &v->pending[i];
		if (strcmp(p->device_id, device_id) == 0) {
			if (due < p->due)
				p->due = due;
			return ZTP_OK;
		}
	}
	if (v->n_pending == v->cap_pending) {
		size_t cap = v->cap_pending == 0 ? 16 : v->cap_pending * 2;

		p = ztp__realloc(v->pending, cap * sizeof(*p));
		if (p == NULL)
			return ztp__err(ZTP_ENOMEM, "out of memory");
		v->pending = p;
		v->cap_pending = cap;
	}
	p = &v->pending[v->n_pending++];
	snprintf(p->device_id, sizeof(p->device_id), "%s", device_id);
	p->due = due;
	return ZTP_OK;
}

int ztp__overlap_note(ztp_verifier *v, const char *device_id, int64_t due)
{
	int rc;

	pthread_mutex_lock(&v->maint_lock);
	rc = note_locked(v, device_id, due);
	pthread_mutex_unlock(&v->maint_lock);
	return rc;
}

/* Read the event log from where the last call stopped. */
static int read_events(ztp_verifier *v)
{
	json_object *arr = NULL;
	char *json = NULL;
	size_t n;
	int rc = ZTP_OK;

	do {
		json_object_put(arr);
		arr = NULL;
		ztp_free(json);
		json = NULL;
		ZTP_CHECK(ztp_store_event_list(v->store, v->maint_after,
					       EVENTS_PAGE, &json));
		ZTP_CHECK(ztp__json_parse(&arr, json, strlen(json),
					  CERTS_JSON_MAX, ZTP_JSON_MAX_DEPTH));
		ZTP_ENSURE(arr != NULL &&
			       json_object_is_type(arr, json_type_array),
			   ZTP_ESTORE, "store: malformed event list");
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(arr, i);
			json_object *ev = NULL;
			const char *type = NULL, *result = NULL, *id = NULL;
			int64_t seq = 0, at = 0;

			rc = ztp__json_int(e, "seq", true, 1, INT64_MAX, &seq);
			if (rc == ZTP_OK)
				rc = ztp__json_int(e, "at", true, 0,
						   INT64_MAX / 2, &at);
			if (rc == ZTP_OK)
				rc = ztp__json_object(e, "event", true, &ev);
			ZTP_ENSURE(rc == ZTP_OK, ZTP_ESTORE,
				   "store: malformed event list");
			/* Events are free-form: skip what is not ours. */
			if (ztp__json_str(ev, "type", false, 32, &type, NULL) <
				0 ||
			    ztp__json_str(ev, "result", false, 32, &result,
					  NULL) < 0 ||
			    ztp__json_str(ev, "device_id", false, ZTP_ID_MAX,
					  &id, NULL) < 0 ||
			    type == NULL || result == NULL || id == NULL ||
			    strcmp(result, "accepted") != 0 ||
			    (strcmp(type, "credentials") != 0 &&
			     strcmp(type, "rotate") != 0) ||
			    ztp__id_check(id, strlen(id), "device_id") < 0) {
				v->maint_after = seq;
				continue;
			}
			/* A lower bound on when the overlap ends: the sweep
			 * works out the exact time from the certificates. The
			 * cursor moves only past what was noted. */
			ZTP_CHECK(note_locked(v, id, at));
			v->maint_after = seq;
		}
	} while (n == EVENTS_PAGE);
cleanup:
	json_object_put(arr);
	ztp_free(json);
	return rc;
}

int ztp__overlap_maintain(ztp_verifier *v, int64_t now, uint64_t *revoked)
{
	ztp__pending *due = NULL;
	size_t n_due = 0;
	int rc;

	/* Take the entries that fall due out of the list, then sweep them
	 * without the lock (the sweep adds back what is still pending). */
	pthread_mutex_lock(&v->maint_lock);
	rc = read_events(v);
	if (rc == ZTP_OK && v->n_pending > 0) {
		due = ztp__calloc(v->n_pending, sizeof(*due));
		if (due == NULL)
			rc = ztp__err(ZTP_ENOMEM, "out of memory");
	}
	for (size_t i = 0; rc == ZTP_OK && i < v->n_pending;) {
		if (v->pending[i].due <= now) {
			due[n_due++] = v->pending[i];
			v->pending[i] = v->pending[--v->n_pending];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&v->maint_lock);
	for (size_t i = 0; i < n_due; i++) {
		int r = ztp__overlap_sweep(v, due[i].device_id, NULL, now, NULL,
					   revoked);

		if (r < 0) {
			/* Keep it for the next run and report the first
			 * failure once the others are done. */
			(void)ztp__overlap_note(v, due[i].device_id,
						due[i].due);
			if (rc == ZTP_OK)
				rc = r;
		}
	}
	free(due);
	return rc;
}

int ztp_verifier_maintain(ztp_verifier *v, uint64_t *revoked)
{
	uint64_t n = 0;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	if (revoked != NULL)
		*revoked = 0;
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	rc = ztp__overlap_maintain(v, ztp__now(&v->clock), &n);
	if (revoked != NULL)
		*revoked = n;
	/* Also without revocations: a fresh nextUpdate, so that a broker
	 * enforcing crl_expired never sees the file expire while
	 * `ztp-verify maintain` runs from a timer. */
	if (rc == ZTP_OK)
		rc = ztp__verifier_publish_crl(v);
cleanup:
	return rc;
}
