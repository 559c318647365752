/*
 * libztp — typed store records for the library's own use (the verifier,
 * the CA). The built-in backends fill them straight from their storage; a
 * caller's backend answers in JSON, which is parsed once, here, at that
 * boundary. JSON is the shape of the public and FFI API only.
 * Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_STORE_RECORDS_H
#define ZTP_STORE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ztp/store.h>

#include "store/internal.h"

/* Longest state name (ZTP_STATE_*), with room to spare. */
#define ZTP__STORE_STATE_MAX 15

/* A device record (ztp_store_device_get()). Strings are "" when null;
 * model, batch and info (JSON object text) are NULL when null. */
typedef struct ztp__device_rec {
	char device_id[ZTP_ID_MAX + 1];
	char fingerprint[ZTP__STORE_FPR_LEN + 1];
	char state[ZTP__STORE_STATE_MAX + 1];
	char tenant[ZTP_ID_MAX + 1];
	char *model, *batch, *info;
	int64_t manufactured_at, updated_at;
	uint8_t *factory_key; /* SPKI DER; NULL: none recorded */
	size_t factory_key_len;
} ztp__device_rec;

/* A certificate record (ztp_store_cert_get()); device_id "" when null,
 * revoked_at and reason 0 unless revoked. */
typedef struct ztp__cert_rec {
	char serial[ZTP__STORE_SERIAL_MAX + 1];
	char device_id[ZTP_ID_MAX + 1];
	char profile[ZTP__STORE_PROFILE_MAX + 1];
	char fingerprint[ZTP__STORE_FPR_LEN + 1];
	char issuer[ZTP_STORE_ISSUER_MAX + 1]; /* key identifier; "": unknown */
	int64_t not_before, not_after, issued_at;
	bool revoked;
	int64_t revoked_at;
	int reason;
} ztp__cert_rec;

/* The device record of device_id into *out (cleared with
 * ztp__device_rec_clear(), also after a failure). ZTP_ENOTFOUND when there
 * is none; ZTP_ESTORE for a malformed record from a caller's backend. */
int ztp__store_device_read(ztp__device_rec *out, ztp_store *store,
			   const char *device_id);
void ztp__device_rec_clear(ztp__device_rec *r);

/* The certificate record of serial. */
int ztp__store_cert_read(ztp__cert_rec *out, ztp_store *store,
			 const char *serial);

/* The device's certificates in issue order: *out (freed with ztp_free(),
 * NULL when there are none) holds *n records. ZTP_ENOTFOUND for an
 * unknown device. */
int ztp__store_device_cert_list(ztp__cert_rec **out, size_t *n,
				ztp_store *store, const char *device_id);

/* An event of the log (ztp_store_event_list()) with the members every
 * library event carries (PROTOCOL.md §7): "" where the event has none or
 * they are not strings of these sizes (events are free-form JSON
 * documents: a caller may append its own). */
typedef struct ztp__event_rec {
	int64_t seq, at;
	char type[33];
	char result[33];
	char device_id[ZTP_ID_MAX + 1];
} ztp__event_rec;

/* At most max events after sequence number after, oldest first: *out
 * (freed with ztp_free(), NULL when none) holds *n records. Events are
 * stored as JSON documents, so this is where they are read: once, in the
 * store, never by its callers. */
int ztp__store_event_page(ztp__event_rec **out, size_t *n, ztp_store *store,
			  int64_t after, size_t max);

/* Inside the store module: records from a view, and from the JSON of a
 * caller's backend (ZTP_ESTORE when malformed; list: a JSON array). r
 * need not be initialised; on failure it holds nothing to free. */
int ztp__device_rec_from_view(ztp__device_rec *r,
			      const ztp__store_device_view *v);
int ztp__cert_rec_from_view(ztp__cert_rec *r, const ztp__store_cert_view *v);
int ztp__device_rec_from_json(ztp__device_rec *r, const char *json);
int ztp__cert_recs_from_json(ztp__cert_rec **out, size_t *n, const char *json,
			     bool list);
int ztp__event_recs_from_json(ztp__event_rec **out, size_t *n,
			      const char *json);

/* The audit chain of a built-in backend (ZTP_EUNSUPPORTED for a
 * caller's backend, which keeps no chain): see ztp__store_views. */
int ztp__store_audit_events(ztp_store *store, int64_t after, size_t max,
			    ztp__store_event_fn fn, void *arg);
int ztp__store_audit_checkpoint_add(ztp_store *store,
				    const ztp__store_checkpoint_view *cp);
int ztp__store_audit_checkpoints(ztp_store *store, int64_t after, size_t max,
				 ztp__store_checkpoint_fn fn, void *arg);
/* A bulk enrollment (ztp_store_backend::device_enroll): n records
 * (1..ZTP__STORE_ENROLL_MAX), validated here, in one transaction; results
 * as documented there. ZTP_EUNSUPPORTED for a backend without it. */
int ztp__store_device_enroll(
    ztp_store *store, const ztp_store_enrollment *recs, size_t n, int *results,
    int (*before_commit)(void *arg, const int *results), void *arg);

#endif /* ZTP_STORE_RECORDS_H */
