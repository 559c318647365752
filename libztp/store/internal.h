/*
 * libztp — store module internals shared by the front end and the built-in
 * backends. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_STORE_INTERNAL_H
#define ZTP_STORE_INTERNAL_H

#include "core/internal.h"

#include <ztp/store.h>

/* Limits the front end enforces before any backend sees the data. */
#define ZTP__STORE_TEXT_MAX 128		      /* model, batch */
#define ZTP__STORE_PROFILE_MAX 32	      /* one profile name */
#define ZTP__STORE_PROFILES_MAX 512	      /* comma-separated profile list */
#define ZTP__STORE_SERIAL_MAX 40	      /* hex digits (160 bits) */
#define ZTP__STORE_FPR_LEN 64		      /* SHA-256 as hex */
#define ZTP__STORE_HASH_MAX 64		      /* claim hash bytes */
#define ZTP__STORE_CHALLENGE_MAX 64	      /* challenge ID bytes */
#define ZTP__STORE_JSON_MAX 8192	      /* info, event payloads */
#define ZTP__STORE_KEY_MAX 4096		      /* factory key SPKI DER bytes */
#define ZTP__STORE_RATE_MAX 1000000	      /* limit rate and burst */
#define ZTP__STORE_ENROLL_MAX 1000	      /* records of one device_enroll */
#define ZTP__STORE_PATTERN_MAX 64	      /* a group's device-ID pattern */
#define ZTP__STORE_CAP_MAX 9007199254740992LL /* 2^53: exact in JSON */
/* What a custom backend may return for a list before the library refuses
 * it: a full event page plus JSON overhead. */
#define ZTP__STORE_RESULT_MAX (16u * 1024 * 1024)

/* Free text of a record (model, batch): NULL, or printable UTF-8 of at
 * most ZTP__STORE_TEXT_MAX bytes. ZTP_EINVAL naming what otherwise. */
int ztp__store_check_text(const char *s, const char *what);

/* Built-in backends: fill *be and *ctx. The front end owns ctx afterwards
 * and releases it through be->close. */
int ztp__store_memory_open(ztp_store_backend *be, void **ctx);
int ztp__store_sqlite_open(ztp_store_backend *be, void **ctx, const char *path);
/* postgresql:// and postgres:// URIs (libpq), when built with libpq. The
 * _version form migrates the schema to that version at most (tests). */
int ztp__store_postgresql_open(ztp_store_backend *be, void **ctx,
			       const char *uri);
int ztp__store_postgresql_open_version(ztp_store_backend *be, void **ctx,
				       const char *uri, int version);

/* Plain views of a record, filled by a backend from its own storage and
 * turned into the documented JSON shape here, so that every backend
 * produces byte-identical results. */
typedef struct ztp__store_device_view {
	const char *device_id;
	const char *fingerprint;
	const char *model; /* NULL: null */
	const char *batch; /* NULL: null */
	int64_t manufactured_at;
	const char *state;
	const char *tenant; /* NULL: null */
	const char *info;   /* JSON object text, NULL: null */
	int64_t updated_at;
	const uint8_t *factory_key; /* SPKI DER */
	size_t factory_key_len;	    /* 0: null */
	const char *group;	    /* enrolled by this group; NULL: null */
} ztp__store_device_view;

typedef struct ztp__store_group_view {
	const char *group_id;
	const char *issuer;
	const char *device_pattern; /* NULL: null */
	const char *model, *batch;  /* NULL: null */
	int64_t cap;		    /* 0: null */
	int64_t expires_at;	    /* 0: null */
	bool enabled;
	int64_t enrolled, created_at, updated_at;
} ztp__store_group_view;

/* The group's JSON (ztp_store_group_get()). */
int ztp__store_group_json(json_object **out, const ztp__store_group_view *g);

typedef struct ztp__store_cert_view {
	const char *serial;
	const char *device_id; /* NULL: null */
	const char *profile;
	int64_t not_before;
	int64_t not_after;
	const char *fingerprint;
	int64_t issued_at;
	bool revoked;
	int64_t revoked_at; /* only when revoked */
	int reason;	    /* only when revoked */
	const char *issuer; /* key identifier hex, NULL: null */
} ztp__store_cert_view;

/*
 * Typed reads of the built-in backends. Each reads one record (or each of a
 * device's certificates, in issue order) and hands it to fn as a view whose
 * strings are borrowed for the call; what fn returns is returned. The JSON
 * answers of the public API and the typed records of records.h are both
 * made from these views, so the library never reads its own data back
 * through JSON.
 */
/* An event with its place in the audit chain (doc/AUDIT.md): json is the
 * stored text, byte for byte (json_len bytes, NUL-terminated); prev and
 * hash are ZTP__AUDIT_HASH_LEN bytes as stored (a tampered row may hold
 * anything: prev_len and hash_len say how much). */
typedef struct ztp__store_event_view {
	int64_t seq, at;
	const char *json;
	size_t json_len;
	const uint8_t *prev, *hash;
	size_t prev_len, hash_len;
} ztp__store_event_view;

/* A signed checkpoint: the chain head at seq, signed at time at by the
 * audit key whose key identifier (SHA-256 of its SubjectPublicKeyInfo,
 * hex) is key_id. */
typedef struct ztp__store_checkpoint_view {
	int64_t seq, at;
	const uint8_t *head; /* ZTP__AUDIT_HASH_LEN */
	size_t head_len;
	const uint8_t *sig;
	size_t sig_len;
	const char *key_id;
} ztp__store_checkpoint_view;

/* Most bytes of a checkpoint signature (RSA-4096 is 512). */
#define ZTP__STORE_SIG_MAX 1024

typedef int (*ztp__store_event_fn)(const ztp__store_event_view *v, void *arg);
typedef int (*ztp__store_checkpoint_fn)(const ztp__store_checkpoint_view *v,
					void *arg);
typedef int (*ztp__store_device_fn)(const ztp__store_device_view *v, void *arg);
typedef int (*ztp__store_cert_fn)(const ztp__store_cert_view *v, void *arg);
typedef struct ztp__store_views {
	int (*device)(void *ctx, const char *device_id, ztp__store_device_fn fn,
		      void *arg);
	int (*cert)(void *ctx, const char *serial, ztp__store_cert_fn fn,
		    void *arg);
	int (*device_certs)(void *ctx, const char *device_id,
			    ztp__store_cert_fn fn, void *arg);
	/* The audit chain: events with seq > after in seq order, at most
	 * max; adding a checkpoint (one per seq: a second for the same seq
	 * is ignored); checkpoints with seq > after in seq order. */
	int (*events)(void *ctx, int64_t after, size_t max,
		      ztp__store_event_fn fn, void *arg);
	int (*checkpoint_add)(void *ctx, const ztp__store_checkpoint_view *cp);
	int (*checkpoints)(void *ctx, int64_t after, size_t max,
			   ztp__store_checkpoint_fn fn, void *arg);
} ztp__store_views;

extern const ztp__store_views ztp__store_memory_views;
extern const ztp__store_views ztp__store_sqlite_views;
extern const ztp__store_views ztp__store_postgresql_views;

/* The JSON answers of device_get, cert_get and device_certs, made from a
 * backend's views. */
int ztp__store_views_device_json(const ztp__store_views *vw, void *ctx,
				 const char *device_id, char **json);
int ztp__store_views_cert_json(const ztp__store_views *vw, void *ctx,
			       const char *serial, char **json);
int ztp__store_views_device_certs_json(const ztp__store_views *vw, void *ctx,
				       const char *device_id, char **json);

int ztp__store_device_json(json_object **out, const ztp__store_device_view *d);
int ztp__store_cert_json(json_object **out, const ztp__store_cert_view *c);
/* {"serial","revoked_at","reason"} */
int ztp__store_revoked_json(json_object **out, const char *serial,
			    int64_t revoked_at, int reason);
/* {"seq","at","event"}; event is the stored JSON object text. */
int ztp__store_event_json(json_object **out, int64_t seq, int64_t at,
			  const char *event);
/* Append to a JSON array, taking ownership of val even on failure. */
int ztp__store_array_add(json_object *arr, json_object *val);

/* The device states, in one order: ztp__store_state_name(i) for i in
 * 0..ZTP__STORE_STATES-1; ztp__store_state_index() of a name, -1 for none
 * (names are checked by the front end before a backend sees them). */
#define ZTP__STORE_STATES 6
int ztp__store_state_index(const char *state);
const char *ztp__store_state_name(int i);

/* Numeric order of canonical hex serials (no leading zeros). */
int ztp__store_serial_cmp(const char *a, const char *b);

/* Whether profile (len bytes) is an element of the comma-separated list
 * (NULL: every profile matches). */
bool ztp__store_profile_in(const char *list, const char *profile);

#endif /* ZTP_STORE_INTERNAL_H */
