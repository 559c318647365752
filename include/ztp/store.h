/*
 * libztp — registry store API.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_STORE_H
#define ZTP_STORE_H

/**
 * @file store.h
 * @brief The registry: devices, claim codes (hashed), issued certificates,
 * revocations, single-use challenges and an append-only event log.
 *
 * A store is opened by URI:
 * - `memory:` — in-process, lost on free (tests, demos);
 * - `sqlite:PATH` — an SQLite file in WAL mode with foreign keys, every write
 *   in a transaction, schema versioned and migrated on open.
 * - `postgresql://…` or `postgres://…` — a libpq connection URI (with its
 *   query parameters, e.g. `sslmode`, or `host=/path` for a unix socket):
 *   a PostgreSQL registry that several verifier instances share, every
 *   write in a transaction, the invariants held by the database, the
 *   same schema versions (doc/POSTGRESQL.md). Built when configure finds
 *   libpq.
 *
 * Other databases plug in through ::ztp_store_backend (see
 * ztp_store_open_backend()).
 *
 * Thread safety: a ::ztp_store may be used from many threads at once; each
 * call is atomic with respect to the others. Several processes may open
 * the same `sqlite:` file; writers wait up to 5 seconds for each other.
 * A `postgresql://` handle runs up to 8 calls at once, each on a pooled
 * connection, replacing lost ones; do not use a handle across fork().
 *
 * Structured results are returned as JSON strings that the caller frees
 * with ztp_free().
 */

#include <ztp/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque registry handle. @since 0.1.0 */
typedef struct ztp_store ztp_store;

/**
 * Device lifecycle states, stored and reported by name.
 * @since 0.1.0
 */
#define ZTP_STATE_MANUFACTURED "manufactured"
/** @copydoc ZTP_STATE_MANUFACTURED */
#define ZTP_STATE_BOOTSTRAPPED "bootstrapped"
/** @copydoc ZTP_STATE_MANUFACTURED */
#define ZTP_STATE_REGISTERED "registered"
/** @copydoc ZTP_STATE_MANUFACTURED */
#define ZTP_STATE_ACTIVE "active"
/** @copydoc ZTP_STATE_MANUFACTURED */
#define ZTP_STATE_RESET "reset"
/** @copydoc ZTP_STATE_MANUFACTURED */
#define ZTP_STATE_REVOKED "revoked"

/**
 * Open a store by URI (`memory:`, `sqlite:PATH`, `postgresql://…`).
 * @param[out] out  the new handle, freed with ztp_store_free()
 * @param uri       borrowed for the call
 * @return #ZTP_OK, #ZTP_EINVAL (unknown scheme, a PostgreSQL URI libpq
 *         cannot parse), #ZTP_ESTORE (cannot open or connect, corrupt,
 *         newer schema), #ZTP_EUNSUPPORTED (`postgresql://` in a library
 *         built without libpq), #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_open(ztp_store **out, const char *uri);

/**
 * Close a store and free the handle. Accepts NULL.
 * @param store the handle, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_store_free(ztp_store *store);

/**
 * Record a manufactured device in state `manufactured`.
 * @param store        the handle
 * @param device_id    validated with ztp_id_validate(); borrowed for the call
 * @param fingerprint  SHA-256 of the factory certificate DER, 64 lowercase hex
 * @param model,batch  free text (printable UTF-8, at most 128 bytes), or NULL
 * @param manufactured_at seconds since the epoch
 * @return #ZTP_OK, #ZTP_EEXISTS, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_add(ztp_store *store, const char *device_id,
				    const char *fingerprint, const char *model,
				    const char *batch, int64_t manufactured_at);

/**
 * A device record as JSON: `{"device_id","fingerprint","model","batch",
 * "manufactured_at","state","tenant"(or null),"info"(object or null),
 * "updated_at","factory_key","group"}`; `factory_key` is the standard
 * base64 of the factory key's SubjectPublicKeyInfo DER, or null until one
 * was recorded (ztp_store_device_set_factory_key()); `group` is the
 * enrollment group that enrolled the device (ztp_store_group_enroll()),
 * or null for a device enrolled one by one.
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_get(ztp_store *store, const char *device_id,
				    char **json);

/**
 * Compare-and-set a device's state and tenant in one atomic step.
 * @param store          the handle
 * @param device_id      the device; borrowed for the call
 * @param expected_state the state the device must be in now, or NULL for any
 * @param new_state      one of the ZTP_STATE_* names
 * @param tenant         validated tenant ID, or NULL to clear the binding
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_ESTATE (not in expected_state),
 *         #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_set_state(ztp_store *store,
					  const char *device_id,
					  const char *expected_state,
					  const char *new_state,
					  const char *tenant);

/**
 * Attach registration information (a JSON object, at most 8 KiB and 14
 * levels deep) to a device, replacing any earlier information.
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param info_json the JSON object, NUL-terminated; borrowed for the call
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EPARSE, #ZTP_ETOOBIG, #ZTP_EINVAL,
 *         #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_set_info(ztp_store *store,
					 const char *device_id,
					 const char *info_json);

/**
 * Record a device's factory public key, so that operational keys can be
 * told from it (the verifier refuses a CSR carrying it). Replaces an
 * earlier one; `updated_at` is not changed.
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param spki,len  the key's SubjectPublicKeyInfo DER (1..4096 bytes),
 *                  borrowed for the call; stored as given
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EINVAL, #ZTP_ESTORE,
 *         #ZTP_EUNSUPPORTED (a caller's backend without
 *         ztp_store_backend::device_set_factory_key).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_set_factory_key(ztp_store *store,
						const char *device_id,
						const uint8_t *spki,
						size_t len);

/**
 * Set (or replace) the hash of a device's one-time claim code.
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param hash,len  the hash (1..64 bytes), borrowed for the call; the code
 *                  itself is never stored
 * @return #ZTP_OK, #ZTP_ENOTFOUND (no such device), #ZTP_EINVAL,
 *         #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_claim_set(ztp_store *store, const char *device_id,
				   const uint8_t *hash, size_t len);

/**
 * Atomically consume a claim: if the device's stored claim hash equals
 * hash (compared in constant time), delete it, bind the device to tenant and
 * move it to state `active`.
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param hash,len  the hash of the presented claim code (1..64 bytes);
 *                  borrowed for the call
 * @param tenant    the tenant to bind the device to; borrowed for the call
 * @return #ZTP_OK, #ZTP_ENOTFOUND (no device or no pending claim),
 *         #ZTP_EMISMATCH (hash differs), #ZTP_ESTATE (device revoked),
 *         #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_claim_take(ztp_store *store, const char *device_id,
				    const uint8_t *hash, size_t len,
				    const char *tenant);

/**
 * A rate-limited claim attempt, in one atomic step: take a token from the
 * device's `claim` bucket (as ztp_store_limit_take() with scope "claim"),
 * and only if one was there, evaluate the claim as ztp_store_claim_take()
 * does. The token stays spent whatever the claim's outcome, so the limit
 * counts wrong codes too, across every process and instance sharing the
 * store. An unknown device takes no token (and keeps no bucket).
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param hash,len  as for ztp_store_claim_take()
 * @param tenant    as for ztp_store_claim_take()
 * @param rate      tokens per second, > 0 and at most 1,000,000
 * @param burst     bucket size, 1..1,000,000
 * @param now       the current time, seconds since the epoch (it also
 *                  stamps `updated_at` on success)
 * @param[out] retry_after seconds until a token is back (1..86400) on
 *                  #ZTP_ERATELIMIT, else 0
 * @return the codes of ztp_store_claim_take(), or #ZTP_ERATELIMIT (no
 *         token: the claim was not evaluated), #ZTP_EINVAL.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_claim_attempt(ztp_store *store, const char *device_id,
				       const uint8_t *hash, size_t len,
				       const char *tenant, double rate,
				       double burst, int64_t now,
				       int64_t *retry_after);

/**
 * Record an issued certificate. Called before the certificate is returned
 * to anyone.
 * @param store       the handle
 * @param serial      lowercase hex without leading zeros, at most 40 digits
 * @param device_id   the device it names (NULL for CA certificates)
 * @param profile     "factory", "bootstrap", "operational", "ca", …
 * @param fingerprint SHA-256 of the certificate DER, 64 lowercase hex
 * @param not_before,not_after validity, not_before <= not_after
 * @return #ZTP_OK, #ZTP_EEXISTS (serial already recorded), #ZTP_ENOTFOUND
 *         (device_id names no recorded device), #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_add(ztp_store *store, const char *serial,
				  const char *device_id, const char *profile,
				  int64_t not_before, int64_t not_after,
				  const char *fingerprint);

/** Most hex digits of an issuer key identifier (64 octets). @since 0.1.0 */
#define ZTP_STORE_ISSUER_MAX 128

/**
 * Record an issued certificate with its issuer, as ztp_store_cert_add()
 * does. The issuer is named by its key identifier: the keyIdentifier of
 * the authority key identifier in the certificate, which is the
 * issuer's subject key identifier (what ztp_ca records). It scopes
 * ztp_store_revoked_list_issuer(), so that CAs sharing a store each list
 * only their own revocations.
 * @param store       the handle
 * @param serial,device_id,profile,not_before,not_after,fingerprint
 *                    as for ztp_store_cert_add()
 * @param issuer      the key identifier in lowercase hex, an even number
 *                    of 2..#ZTP_STORE_ISSUER_MAX digits; or NULL for an
 *                    unknown issuer (exactly ztp_store_cert_add())
 * @return the codes of ztp_store_cert_add(). A caller's backend older than
 *         version 3 records the certificate without its issuer.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_add_issued(ztp_store *store, const char *serial,
					 const char *device_id,
					 const char *profile,
					 int64_t not_before, int64_t not_after,
					 const char *fingerprint,
					 const char *issuer);

/**
 * A certificate record as JSON: `{"serial","device_id","profile",
 * "not_before","not_after","fingerprint","issued_at","revoked"(bool),
 * "revoked_at","reason","issuer"}` (revoked_at and reason null until
 * revoked; issuer the key identifier given to ztp_store_cert_add_issued(),
 * null when unknown: recorded by ztp_store_cert_add(), or before a store
 * kept issuers).
 * @param store     the handle
 * @param serial    lowercase hex without leading zeros; borrowed for the call
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_get(ztp_store *store, const char *serial,
				  char **json);

/**
 * Revoke a certificate. Revoking an already revoked one keeps the first
 * time and reason and returns #ZTP_OK.
 * @param store  the handle
 * @param serial lowercase hex without leading zeros; borrowed for the call
 * @param reason an RFC 5280 CRLReason code (0..10 except 7)
 * @param when   seconds since the epoch, not negative
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_revoke(ztp_store *store, const char *serial,
				     int reason, int64_t when);

/**
 * Revoke every unrevoked certificate of a device whose profile is in the
 * comma-separated list (NULL: all profiles).
 * @param store      the handle
 * @param device_id  the device; borrowed for the call
 * @param profiles   comma-separated profile names, or NULL for all;
 *                   borrowed for the call
 * @param reason     an RFC 5280 CRLReason code (0..10 except 7)
 * @param when       seconds since the epoch, not negative
 * @param[out] count number revoked (may be NULL)
 * @return #ZTP_OK, #ZTP_ENOTFOUND (no such device), #ZTP_EINVAL,
 *         #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_revoke_certs(ztp_store *store,
					     const char *device_id,
					     const char *profiles, int reason,
					     int64_t when, uint64_t *count);

/**
 * Revoked certificates as a JSON array of `{"serial","revoked_at","reason"}`,
 * ordered by serial as a number (for CRLs).
 * @param store     the handle
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_revoked_list(ztp_store *store, char **json);

/**
 * The revocations one issuer's CRL lists, as ztp_store_revoked_list()
 * (same shape and order): those of the certificates recorded with this
 * issuer, and those of certificates whose issuer is unknown (recorded by
 * ztp_store_cert_add(), or before the store kept issuers). Unknown ones
 * are listed by every issuer: leaving a revoked certificate off its CRL
 * would make it valid again, while another issuer's serial on a CRL
 * revokes nothing (a CRL applies only to certificates of its issuer, and
 * random serials of 64 bits or more do not collide).
 * @param store     the handle
 * @param issuer    key identifier as for ztp_store_cert_add_issued(); NULL
 *                  lists every revocation (ztp_store_revoked_list())
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE. A caller's backend older than
 *         version 3 answers every revocation, unscoped.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_revoked_list_issuer(ztp_store *store,
					     const char *issuer, char **json);

/**
 * A device's certificates as a JSON array of certificate records (see
 * ztp_store_cert_get()), oldest first.
 * @param store     the handle
 * @param device_id the device; borrowed for the call
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_ENOTFOUND (no such device), #ZTP_EINVAL,
 *         #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_certs(ztp_store *store, const char *device_id,
				      char **json);

/**
 * Number of certificates recorded.
 * @param store    the handle
 * @param[out] out the count
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_count(ztp_store *store, uint64_t *out);

/**
 * Number of devices in one state, for gauges such as the verifier's
 * metrics (ztp_verifier_metrics()). The built-in backends answer without
 * reading the device table: `sqlite:` keeps a count per state that
 * triggers maintain in the transaction of every insert and state change,
 * `memory:` counts on every change in its handle.
 * @param store    the handle
 * @param state    a ZTP_STATE_* name; borrowed for the call
 * @param[out] out the count
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE, #ZTP_EUNSUPPORTED (a caller's
 *         backend without ztp_store_backend::device_count_state).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_count(ztp_store *store, const char *state,
				      uint64_t *out);

/**
 * Number of certificates of one profile, not revoked, whose notAfter is
 * in [from, to): those about to expire. `sqlite:` answers from a partial
 * index on (profile, notAfter) of the certificates not revoked, so the
 * cost grows with the answer, not with the registry; `memory:` walks its
 * certificates (it is for tests and single processes).
 * @param store    the handle
 * @param profile  a profile name (#ZTP_CA_PROFILE_OPERATIONAL, …);
 *                 borrowed for the call
 * @param from,to  seconds since the epoch, from <= to
 * @param[out] out the count
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE, #ZTP_EUNSUPPORTED (a caller's
 *         backend without ztp_store_backend::cert_count_expiring).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_count_expiring(ztp_store *store,
					     const char *profile, int64_t from,
					     int64_t to, uint64_t *out);

/**
 * Consume a single-use challenge ID: records it until expires_at and drops
 * records that expired before now.
 * A record stays until its expires_at has passed (expires_at < now).
 * @param store      the handle
 * @param id,len     opaque challenge identifier (1..64 bytes); borrowed for
 *                   the call
 * @param expires_at seconds since the epoch until which the ID is kept
 * @param now        the current time, seconds since the epoch
 * @return #ZTP_OK the first time, #ZTP_EREPLAY if already used,
 *         #ZTP_EEXPIRED if expires_at < now, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_challenge_use(ztp_store *store, const uint8_t *id,
				       size_t len, int64_t expires_at,
				       int64_t now);

/**
 * Append an event (a JSON object, at most 8 KiB and 14 levels deep) to the
 * append-only log,
 * stamped with the store clock.
 * @param store the handle
 * @param json  the event, NUL-terminated; borrowed for the call
 * @return #ZTP_OK, #ZTP_EPARSE (not a JSON object), #ZTP_ETOOBIG,
 *         #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_event_append(ztp_store *store, const char *json);

/**
 * Events with sequence number > after, at most max (larger values are
 * treated as #ZTP_STORE_EVENT_LIST_MAX), as a JSON array of
 * `{"seq":N,"at":T,"event":{…}}`, oldest first. Sequence numbers start at
 * 1 and are never reused; events cannot be changed or deleted. The
 * `memory:` backend keeps the newest 65,536 events only (a listing from
 * before the oldest one kept starts at it).
 * @param store the handle
 * @param after 0 for the first page, else the last seq already seen
 * @param max   at least 1
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_event_list(ztp_store *store, int64_t after, size_t max,
				    char **json);

/**
 * Next value of a named monotonic counter (first value 1), e.g. CRL numbers.
 * @param store    the handle
 * @param name     validated like an identifier (ztp_id_validate()); borrowed
 *                 for the call
 * @param[out] out the counter's new value
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ETOOBIG (counter exhausted at
 *         INT64_MAX), #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_counter_next(ztp_store *store, const char *name,
				      uint64_t *out);

/**
 * Take one token from the token bucket (scope, key), atomically: the
 * bucket holds burst tokens and refills at rate per second; a bucket
 * never used is full. Buckets are kept in the store, so a limit holds
 * across processes and instances sharing it. A refused take changes
 * nothing. A bucket that has filled up again is forgotten, so the store
 * keeps only buckets in use (at most rate of new keys × refill time).
 * Several callers may use one bucket with different rate and burst; each
 * take applies its own.
 * @param store     the handle
 * @param scope     the kind of limit, validated like an identifier
 *                  (the verifier uses "device", "lifecycle", "claim");
 *                  borrowed for the call
 * @param key       what is limited (a device ID), validated like an
 *                  identifier; borrowed for the call
 * @param rate      tokens per second, > 0 and at most 1,000,000
 * @param burst     bucket size, 1..1,000,000
 * @param now       the current time, seconds since the epoch
 * @param[out] retry_after seconds until a token is back (1..86400) on
 *                  #ZTP_ERATELIMIT, else 0
 * @return #ZTP_OK (token taken), #ZTP_ERATELIMIT, #ZTP_EINVAL,
 *         #ZTP_ESTORE.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_limit_take(ztp_store *store, const char *scope,
				    const char *key, double rate, double burst,
				    int64_t now, int64_t *retry_after);

/**
 * Set the clock that stamps `updated_at`, `issued_at` and event times.
 * Configure it before the handle is shared between threads.
 * @param store the handle
 * @param fn    clock function, or NULL for the system clock
 * @param ctx   passed to fn; borrowed until the clock is replaced or the
 *              store freed
 * @return #ZTP_OK or #ZTP_EINVAL (store NULL).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_set_clock(ztp_store *store, ztp_clock_fn fn,
				   void *ctx);

/** Most records one ztp_store_device_list() or ztp_store_cert_expiring()
 * call returns. @since 0.1.0 */
#define ZTP_STORE_LIST_MAX 1000

/**
 * A page of the inventory: the device records (ztp_store_device_get()
 * shape) that match a filter, in device ID order (bytewise), starting
 * after a given ID. Page through a fleet by passing the `device_id` of
 * the last record of one page as after for the next, until a page holds
 * fewer than max records.
 * @param store       the handle
 * @param[out] json   a JSON array of device records, freed with ztp_free()
 * @param filter_json NULL for every device, or a JSON object with any of
 *                    the string members `state` (a ZTP_STATE_* name),
 *                    `tenant` (an identifier), `model`, `batch` (text as
 *                    for ztp_store_device_add()), `group` (the enrollment
 *                    group that enrolled the device, an identifier); a
 *                    record matches when it equals every member given.
 *                    Other members are refused.
 *                    Borrowed for the call
 * @param after       NULL for the first page, else a device ID (need not
 *                    be recorded); borrowed for the call
 * @param max         1.. (larger values are treated as #ZTP_STORE_LIST_MAX)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EPARSE (filter not a JSON object),
 *         #ZTP_ESTORE, #ZTP_ENOMEM, #ZTP_EUNSUPPORTED (a caller's backend
 *         without ztp_store_backend::device_list).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_device_list(ztp_store *store, char **json,
				     const char *filter_json, const char *after,
				     size_t max);

/**
 * A page of the certificates that expire soon: those not revoked with
 * from <= not_after < before, as certificate records (ztp_store_cert_get()
 * shape), ordered by not_after, then by serial as a number. A device that
 * rotated keeps its superseded certificate in this list until that one
 * expires or is revoked. Page on by passing the `not_after` and `serial`
 * of the last record of one page as after_time and after_serial.
 * @param store        the handle
 * @param[out] json    a JSON array of certificate records, freed with
 *                     ztp_free()
 * @param from,before  the window, seconds since the epoch, 0 <= from <=
 *                     before
 * @param after_time   with after_serial: list only records after
 *                     (after_time, after_serial); ignored when
 *                     after_serial is NULL
 * @param after_serial NULL for the first page, else a serial (lowercase
 *                     hex without leading zeros); borrowed for the call
 * @param max          1.. (larger values are treated as
 *                     #ZTP_STORE_LIST_MAX)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE, #ZTP_ENOMEM,
 *         #ZTP_EUNSUPPORTED (a caller's backend without
 *         ztp_store_backend::cert_expiring).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_cert_expiring(ztp_store *store, char **json,
				       int64_t from, int64_t before,
				       int64_t after_time,
				       const char *after_serial, size_t max);

/* ------------------------------------------------------------ groups */

/**
 * Record an enrollment group: devices not recorded one by one whose
 * factory certificate the group's issuing CA signed are enrolled at their
 * first bootstrap (ztp_verifier_group_add() checks the CA; see
 * doc/SECURITY.md "Enrollment groups").
 * @param store      the handle
 * @param group_json a JSON object: `group_id` (an identifier), `issuer`
 *                   (SHA-256 of the issuing CA certificate's DER, 64
 *                   lowercase hex), and optionally `device_pattern` (the
 *                   device IDs it admits: identifier characters and the
 *                   wildcards `*` (any run) and `?` (one character), at
 *                   most 64), `model`, `batch` (recorded with its devices;
 *                   text as for ztp_store_device_add()), `cap` (most
 *                   devices it enrolls, 1..2^53; absent: no cap),
 *                   `expires_at` (seconds since the epoch after which it
 *                   enrolls none; absent: never) and `enabled` (default
 *                   true); borrowed for the call
 * @return #ZTP_OK, #ZTP_EEXISTS, #ZTP_EINVAL, #ZTP_EPARSE, #ZTP_ESTORE,
 *         #ZTP_EUNSUPPORTED (a caller's backend without
 *         ztp_store_backend::group_add).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_group_add(ztp_store *store, const char *group_json);

/**
 * A group as JSON: `{"group_id","issuer","device_pattern"|null,
 * "model"|null,"batch"|null,"cap"|null,"expires_at"|null,"enabled",
 * "enrolled","created_at","updated_at"}` (`enrolled`: devices it has
 * enrolled).
 * @param store     the handle
 * @param group_id  borrowed for the call
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EINVAL, #ZTP_ESTORE,
 *         #ZTP_EUNSUPPORTED.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_group_get(ztp_store *store, const char *group_id,
				   char **json);

/**
 * A page of groups (ztp_store_group_get() shape) in group ID order.
 * @param store     the handle
 * @param[out] json a JSON array, freed with ztp_free()
 * @param issuer    NULL for every group, else only the groups of this
 *                  issuing CA (64 lowercase hex)
 * @param after     NULL for the first page, else a group ID
 * @param max       1.. (larger values are treated as #ZTP_STORE_LIST_MAX)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTORE, #ZTP_EUNSUPPORTED.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_group_list(ztp_store *store, char **json,
				    const char *issuer, const char *after,
				    size_t max);

/**
 * Enable or disable a group. A disabled group enrolls no device; the
 * devices it enrolled are individual records and stay as they are.
 * @param store    the handle
 * @param group_id borrowed for the call
 * @param enabled  1 to enable, 0 to disable
 * @return #ZTP_OK, #ZTP_ENOTFOUND, #ZTP_EINVAL, #ZTP_ESTORE,
 *         #ZTP_EUNSUPPORTED.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_group_set_enabled(ztp_store *store,
					   const char *group_id, int enabled);

/**
 * Enroll a device through a group, in one atomic step: if the group is
 * enabled, not expired at now and under its cap, and the device is not
 * recorded, record it (state `manufactured`, the group's model and batch,
 * `group` = group_id, its factory key) and count it against the cap.
 * The device-ID pattern is the caller's to check (the verifier does).
 * @param store       the handle
 * @param group_id    the group
 * @param device_id   the device
 * @param fingerprint SHA-256 of its factory certificate DER, 64 lowercase
 *                    hex: recorded, so that only this certificate is
 *                    accepted for the ID from now on
 * @param spki,len    its factory key's SubjectPublicKeyInfo DER
 *                    (1..4096 bytes)
 * @param now         the time the expiry is checked against
 * @return #ZTP_OK, #ZTP_ENOTFOUND (no such group), #ZTP_ESTATE (group
 *         disabled), #ZTP_EEXPIRED (group expired), #ZTP_ETOOBIG (cap
 *         reached), #ZTP_EEXISTS (device recorded already), #ZTP_EINVAL,
 *         #ZTP_ESTORE, #ZTP_EUNSUPPORTED.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_group_enroll(ztp_store *store, const char *group_id,
				      const char *device_id,
				      const char *fingerprint,
				      const uint8_t *spki, size_t len,
				      int64_t now);

/* ------------------------------------------------------------ backends */

/**
 * Version of ::ztp_store_backend that these headers describe. Set
 * ztp_store_backend::version to it. Versions 1 (a struct that ends at
 * ztp_store_backend::counter_next), 2 (one that ends at
 * ztp_store_backend::device_set_factory_key), 3 (one that ends at
 * ztp_store_backend::revoked_list_issuer) and 4 (one that ends at
 * ztp_store_backend::cert_count_expiring) are still accepted; other
 * values are refused.
 * @since 0.1.0
 */
#define ZTP_STORE_BACKEND_VERSION 5u

/**
 * One device of a bulk enrollment, as ztp_store_backend::device_enroll
 * receives it (ztp_verifier_import() fills these). Every member has been
 * validated as for ztp_store_device_add(), ztp_store_claim_set() and
 * ztp_store_device_set_factory_key(); strings are borrowed for the call.
 * @since 0.1.0
 */
typedef struct ztp_store_enrollment {
	const char *device_id;	    /**< an identifier */
	const char *fingerprint;    /**< 64 lowercase hex digits */
	const char *model;	    /**< free text, or NULL */
	const char *batch;	    /**< free text, or NULL */
	int64_t manufactured_at;    /**< seconds since the epoch */
	const uint8_t *claim_hash;  /**< the claim code's hash */
	size_t claim_hash_len;	    /**< 1..64 */
	const uint8_t *factory_key; /**< SPKI DER, or NULL when unknown */
	size_t factory_key_len;	    /**< 0 when unknown, else 1..4096 */
} ztp_store_enrollment;

/**
 * Flag for ztp_store_backend::flags: the backend's functions may be called
 * concurrently from several threads (each call must still be atomic).
 * Without it the library serialises every call with a per-handle mutex.
 * @since 0.1.0
 */
#define ZTP_STORE_BACKEND_THREADSAFE 0x1u

/**
 * A storage backend: one function per store operation.
 *
 * The library validates every argument before it calls a backend (device
 * and tenant IDs match ztp_id_validate(), serials and fingerprints are
 * lowercase hex, state names are ZTP_STATE_* names, JSON payloads are
 * compact JSON objects within their limits), so a backend only stores and
 * retrieves. Every string argument is NUL-terminated UTF-8 borrowed for the
 * call. `now` is the store clock's reading for that call.
 *
 * Contract, for every function:
 * - it is atomic: it either changes nothing or completes entirely, and its
 *   effects are durable when it returns #ZTP_OK;
 * - it returns #ZTP_OK or a negative ::ztp_status, namely the codes the
 *   matching ztp_store_*() function documents (#ZTP_ESTORE for any
 *   failure of the storage itself); any other value is reported to the
 *   caller as #ZTP_ESTORE. It may describe a failure with
 *   ztp_store_backend_error();
 * - JSON results (`char **json`) are a single JSON value allocated with
 *   malloc() (the library releases them with free()), set only on
 *   #ZTP_OK; the library checks and re-serialises them before handing them
 *   to its caller;
 * - it must not call back into the ::ztp_store it serves.
 *
 * Thread safety: unless #ZTP_STORE_BACKEND_THREADSAFE is set in flags, the
 * library holds a per-handle mutex around each call, so calls never
 * overlap. ctx is owned by the store from a successful
 * ztp_store_open_backend() until close() is called by ztp_store_free().
 *
 * The semantics of each operation are those of the ztp_store_*() function
 * of the same name; additions:
 * - `device_add` records state `manufactured`, no tenant, no info and
 *   `updated_at` = now;
 * - `device_set_state`: expected_state NULL means any; tenant NULL clears;
 * - `claim_take`: compare with CRYPTO_memcmp() or equivalent;
 * - `cert_add`: `issued_at` = now; #ZTP_ENOTFOUND if device_id is not NULL
 *   and names no device;
 * - `device_revoke_certs`: profiles is NULL (all) or a comma-separated list
 *   of profile names without spaces or empty elements;
 * - `revoked_list` orders by serial as a number (shorter strings first,
 *   then lexicographically);
 * - `challenge_use`: records with expires_at < now are dropped before the
 *   lookup; #ZTP_EREPLAY if the ID is recorded;
 * - `event_append` stores json with time now and the next sequence number
 *   (1, 2, …, never reused); `event_list` returns
 *   `[{"seq":N,"at":T,"event":{…}}]`, max is 1..#ZTP_STORE_EVENT_LIST_MAX.
 *
 * Version 2 appends three operations; each may be NULL, with the fallback
 * given:
 * - `limit_take` (NULL: the buckets are kept in the ::ztp_store handle's
 *   memory, so limits hold per handle only, not across processes): one
 *   transaction that reads the bucket, refills it
 *   (tokens = min(burst, tokens + (now - last) × rate)), and when at
 *   least one token is there writes tokens − 1 and last = now; a bucket
 *   not recorded is full. It may drop buckets that are full again;
 * - `claim_attempt` (NULL: `limit_take` with scope "claim", then
 *   `claim_take`: two atomic steps, the token spent first): the same
 *   bucket step and `claim_take` in one transaction, the token kept spent
 *   whatever claim_take answers; #ZTP_ENOTFOUND, without a token taken,
 *   for an unknown device;
 * - `device_set_factory_key` (NULL: ztp_store_device_set_factory_key()
 *   answers #ZTP_EUNSUPPORTED, `device_get` need not return
 *   `factory_key`, and the verifier cannot refuse operational CSRs that
 *   carry the factory key).
 *
 * Version 3 appends two operations, which keep certificates' issuers;
 * each may be NULL, with the fallback given:
 * - `cert_add_issued` (NULL: `cert_add`, the issuer not recorded):
 *   `cert_add` that also keeps issuer (NULL: unknown), returned as
 *   `issuer` by `cert_get` and `device_certs`;
 * - `revoked_list_issuer` (NULL: `revoked_list`, so that every CA's CRL
 *   lists the revocations of every CA sharing the store): as
 *   `revoked_list`, only the revocations of certificates whose issuer is
 *   issuer or unknown (NULL); issuer is never NULL here.
 *
 * Version 4 appends two read-only counts for gauges; each may be NULL
 * (then the matching ztp_store_*() function answers #ZTP_EUNSUPPORTED).
 * Both are called on every metrics scrape, so they should not read the
 * whole registry:
 * - `device_count_state`: the number of devices in state (a counter
 *   kept per state by the write that changes it, or an index);
 * - `cert_count_expiring`: the certificates of profile with revoked
 *   false and from <= not_after < to (an index on profile and not_after
 *   of the certificates not revoked).
 *
 * Version 5 appends the operations for fleets; each may be NULL, and
 * then the public call it backs answers #ZTP_EUNSUPPORTED:
 * - `device_enroll` (ztp_verifier_import()): n records (1..1000) in one
 *   transaction. For each record, in order, results[i] is set: #ZTP_OK
 *   when the device was not recorded and now is, exactly as
 *   `device_add`, then `claim_set` with claim_hash, then (when
 *   factory_key_len > 0) `device_set_factory_key` would leave it;
 *   #ZTP_EEXISTS when it is recorded with the same fingerprint, and
 *   #ZTP_EMISMATCH when with another one (both change nothing). A
 *   device_id may occur twice in one call; the second sees the first.
 *   Once every record is decided, and before the transaction commits,
 *   it calls before_commit(arg, results) once: a negative return aborts
 *   the call with that code (it must not commit). before_commit is how
 *   the claim codes of exactly the devices enrolled are made durable
 *   before their hashes are; it never calls into the store. The call
 *   returns #ZTP_OK when the transaction committed, else an error and
 *   nothing of it is recorded (results are then undefined);
 * - `device_list`: the filter's members as separate arguments, NULL for
 *   a member not given; after NULL for the first page; max is
 *   1..#ZTP_STORE_LIST_MAX; answers the JSON array of ztp_store_device_list();
 *   device records carry `group` (null, or the group that enrolled the
 *   device);
 * - `cert_expiring`: as ztp_store_cert_expiring(), after_serial NULL for
 *   the first page; max is 1..#ZTP_STORE_LIST_MAX;
 * - `group_add`, `group_get`, `group_list`, `group_set_enabled`,
 *   `group_enroll`: as the ztp_store_group_*() functions; group_add
 *   receives the members as arguments (NULL, or 0 for cap and
 *   expires_at, when absent) and records enrolled = 0 and created_at =
 *   updated_at = now; group_enroll does every check and both writes in
 *   one transaction, in the order the function documents its codes.
 *
 * @since 0.1.0
 */
typedef struct ztp_store_backend {
	/** #ZTP_STORE_BACKEND_VERSION */
	unsigned int version;
	/** 0 or #ZTP_STORE_BACKEND_THREADSAFE */
	unsigned int flags;
	/** Release ctx; called once by ztp_store_free(). May be NULL. */
	void (*close)(void *ctx);

	/** Backs ztp_store_device_add(). */
	int (*device_add)(void *ctx, const char *device_id,
			  const char *fingerprint, const char *model,
			  const char *batch, int64_t manufactured_at,
			  int64_t now);
	/** Backs ztp_store_device_get(). */
	int (*device_get)(void *ctx, const char *device_id, char **json);
	/** Backs ztp_store_device_set_state(). */
	int (*device_set_state)(void *ctx, const char *device_id,
				const char *expected_state,
				const char *new_state, const char *tenant,
				int64_t now);
	/** Backs ztp_store_device_set_info(). */
	int (*device_set_info)(void *ctx, const char *device_id,
			       const char *info_json, int64_t now);
	/** Backs ztp_store_claim_set(). */
	int (*claim_set)(void *ctx, const char *device_id, const uint8_t *hash,
			 size_t len);
	/** Backs ztp_store_claim_take(). */
	int (*claim_take)(void *ctx, const char *device_id, const uint8_t *hash,
			  size_t len, const char *tenant, int64_t now);
	/** Backs ztp_store_cert_add(). */
	int (*cert_add)(void *ctx, const char *serial, const char *device_id,
			const char *profile, int64_t not_before,
			int64_t not_after, const char *fingerprint,
			int64_t now);
	/** Backs ztp_store_cert_get(). */
	int (*cert_get)(void *ctx, const char *serial, char **json);
	/** Backs ztp_store_cert_revoke(). */
	int (*cert_revoke)(void *ctx, const char *serial, int reason,
			   int64_t when);
	/** Backs ztp_store_device_revoke_certs(). */
	int (*device_revoke_certs)(void *ctx, const char *device_id,
				   const char *profiles, int reason,
				   int64_t when, uint64_t *count);
	/** Backs ztp_store_revoked_list(). */
	int (*revoked_list)(void *ctx, char **json);
	/** Backs ztp_store_device_certs(). */
	int (*device_certs)(void *ctx, const char *device_id, char **json);
	/** Backs ztp_store_cert_count(). */
	int (*cert_count)(void *ctx, uint64_t *out);
	/** Backs ztp_store_challenge_use(). */
	int (*challenge_use)(void *ctx, const uint8_t *id, size_t len,
			     int64_t expires_at, int64_t now);
	/** Backs ztp_store_event_append(). */
	int (*event_append)(void *ctx, const char *json, int64_t now);
	/** Backs ztp_store_event_list(). */
	int (*event_list)(void *ctx, int64_t after, size_t max, char **json);
	/** Backs ztp_store_counter_next(). */
	int (*counter_next)(void *ctx, const char *name, uint64_t *out);

	/* Version 2: each may be NULL, see above. */

	/** Backs ztp_store_limit_take(). @since 0.1.0 */
	int (*limit_take)(void *ctx, const char *scope, const char *key,
			  double rate, double burst, int64_t now,
			  int64_t *retry_after);
	/** Backs ztp_store_claim_attempt(). @since 0.1.0 */
	int (*claim_attempt)(void *ctx, const char *device_id,
			     const uint8_t *hash, size_t len,
			     const char *tenant, double rate, double burst,
			     int64_t now, int64_t *retry_after);
	/** Backs ztp_store_device_set_factory_key(). @since 0.1.0 */
	int (*device_set_factory_key)(void *ctx, const char *device_id,
				      const uint8_t *spki, size_t len);

	/* Version 3: each may be NULL, see above. */

	/** Backs ztp_store_cert_add_issued(). @since 0.1.0 */
	int (*cert_add_issued)(void *ctx, const char *serial,
			       const char *device_id, const char *profile,
			       int64_t not_before, int64_t not_after,
			       const char *fingerprint, const char *issuer,
			       int64_t now);
	/** Backs ztp_store_revoked_list_issuer(). @since 0.1.0 */
	int (*revoked_list_issuer)(void *ctx, const char *issuer, char **json);

	/* Version 4: each may be NULL, see above. */

	/** Backs ztp_store_device_count(). @since 0.1.0 */
	int (*device_count_state)(void *ctx, const char *state, uint64_t *out);
	/** Backs ztp_store_cert_count_expiring(). @since 0.1.0 */
	int (*cert_count_expiring)(void *ctx, const char *profile, int64_t from,
				   int64_t to, uint64_t *out);

	/* Version 5: each may be NULL, see above. */

	/** Backs ztp_verifier_import(). @since 0.1.0 */
	int (*device_enroll)(void *ctx, const ztp_store_enrollment *recs,
			     size_t n, int *results, int64_t now,
			     int (*before_commit)(void *arg,
						  const int *results),
			     void *arg);
	/** Backs ztp_store_device_list(). @since 0.1.0 */
	int (*device_list)(void *ctx, const char *state, const char *tenant,
			   const char *model, const char *batch,
			   const char *group, const char *after, size_t max,
			   char **json);
	/** Backs ztp_store_cert_expiring(). @since 0.1.0 */
	int (*cert_expiring)(void *ctx, int64_t from, int64_t before,
			     int64_t after_time, const char *after_serial,
			     size_t max, char **json);
	/** Backs ztp_store_group_add(). @since 0.1.0 */
	int (*group_add)(void *ctx, const char *group_id, const char *issuer,
			 const char *device_pattern, const char *model,
			 const char *batch, int64_t cap, int64_t expires_at,
			 int enabled, int64_t now);
	/** Backs ztp_store_group_get(). @since 0.1.0 */
	int (*group_get)(void *ctx, const char *group_id, char **json);
	/** Backs ztp_store_group_list(). @since 0.1.0 */
	int (*group_list)(void *ctx, const char *issuer, const char *after,
			  size_t max, char **json);
	/** Backs ztp_store_group_set_enabled(). @since 0.1.0 */
	int (*group_set_enabled)(void *ctx, const char *group_id, int enabled,
				 int64_t now);
	/** Backs ztp_store_group_enroll(). @since 0.1.0 */
	int (*group_enroll)(void *ctx, const char *group_id,
			    const char *device_id, const char *fingerprint,
			    const uint8_t *spki, size_t len, int64_t now);
} ztp_store_backend;

/** Most events one ztp_store_event_list() call returns. @since 0.1.0 */
#define ZTP_STORE_EVENT_LIST_MAX 1000

/**
 * Open a store on a caller-supplied backend.
 * @param[out] out  the new handle, freed with ztp_store_free()
 * @param backend   copied; version must be 1, 2, 3 or
 *                  #ZTP_STORE_BACKEND_VERSION and every version-1
 *                  operation non-NULL (close and the operations of later
 *                  versions may be NULL); of an older struct only the
 *                  members of its version are read
 * @param ctx       passed to every backend function; owned by the store on
 *                  success (released through backend->close), still the
 *                  caller's on failure
 * @return #ZTP_OK, #ZTP_EINVAL (NULL, wrong version, missing function),
 *         #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_open_backend(ztp_store **out,
				      const ztp_store_backend *backend,
				      void *ctx);

/**
 * For backends: describe the current failure on the calling thread (as
 * shown by ztp_error_last()) and return code, so that a backend can write
 * `return ztp_store_backend_error(ZTP_ESTORE, "disk full");`.
 * @param code    a negative ::ztp_status (others are recorded as
 *                #ZTP_ESTORE)
 * @param message one line of UTF-8, copied; NULL for ztp_strerror(code)
 * @return the recorded code.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_store_backend_error(int code, const char *message);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_STORE_H */
