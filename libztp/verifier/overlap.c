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
#include "verifier/internal.h"
#include "store/records.h"

#include <string.h>

#define EVENTS_PAGE 256

int ztp__overlap_sweep(ztp_verifier *v, const char *device_id,
		       const char *serial, int64_t now, bool *expired,
		       uint64_t *revoked)
{
	ztp__cert_rec *certs = NULL;
	const ztp__cert_rec *prev = NULL, *cur;
	int64_t next_due = 0;
	size_t n = 0;
	int rc;

	if (expired != NULL)
		*expired = false;
	rc = ztp__store_device_cert_list(&certs, &n, v->store, device_id);
	if (rc == ZTP_ENOTFOUND) {
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	for (size_t i = 0; i < n; i++) {
		int64_t due;

		cur = &certs[i];
		if (strcmp(cur->profile, ZTP_CA_PROFILE_OPERATIONAL) != 0)
			continue;
		if (prev != NULL) {
			/* prev is superseded by cur. */
			due =
			    cur->issued_at > INT64_MAX / 2 - v->rotation_overlap
				? INT64_MAX / 2
				: cur->issued_at + v->rotation_overlap;
			if (now >= due) {
				if (serial != NULL && expired != NULL &&
				    strcmp(prev->serial, serial) == 0)
					*expired = true;
				if (!prev->revoked) {
					ZTP_CHECK(ztp_store_cert_revoke(
					    v->store, prev->serial,
					    ZTP_CA_REASON_SUPERSEDED, due));
					if (revoked != NULL)
						(*revoked)++;
				}
			} else if (!prev->revoked &&
				   (next_due == 0 || due < next_due)) {
				next_due = due;
			}
		}
		prev = cur;
	}
	if (next_due != 0)
		ZTP_CHECK(ztp__overlap_note(v, device_id, next_due));
cleanup:
	ztp_free(certs);
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
	ztp__event_rec *evs = NULL;
	size_t n = 0;
	int rc = ZTP_OK;

	do {
		ztp_free(evs);
		evs = NULL;
		ZTP_CHECK(ztp__store_event_page(&evs, &n, v->store,
						v->maint_after, EVENTS_PAGE));
		for (size_t i = 0; i < n; i++) {
			const ztp__event_rec *e = &evs[i];

			/* Events are free-form: skip what is not ours. */
			if (strcmp(e->result, "accepted") != 0 ||
			    (strcmp(e->type, "credentials") != 0 &&
			     strcmp(e->type, "rotate") != 0) ||
			    ztp__id_check(e->device_id, strlen(e->device_id),
					  "device_id") < 0) {
				v->maint_after = e->seq;
				continue;
			}
			/* A lower bound on when the overlap ends: the sweep
			 * works out the exact time from the certificates. The
			 * cursor moves only past what was noted. */
			ZTP_CHECK(note_locked(v, e->device_id, e->at));
			v->maint_after = e->seq;
		}
	} while (n == EVENTS_PAGE);
cleanup:
	ztp_free(evs);
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
	/* And the events since the last checkpoint get theirs. */
	if (rc == ZTP_OK && v->audit_key != NULL)
		rc = ztp_verifier_audit_checkpoint(v);
cleanup:
	return rc;
}
