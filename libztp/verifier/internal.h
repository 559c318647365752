/*
 * libztp — verifier internals. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_VERIFIER_INTERNAL_H
#define ZTP_VERIFIER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <ztp/ca.h>
#include <ztp/verifier.h>

#include "core/internal.h"
#include "core/protocol.h"

/* The outcome of one request or check: which wire code rejected it and
 * why. wire == ZTP__W_NONE means accepted (or not decided yet). */
typedef struct ztp__vdec {
	int wire;
	int64_t retry_after;
	char message[256]; /* for the client */
	/* For the operator only (events, never the answer): what the
	 * library said of an unexpected failure; "" if none. */
	char detail[256];
} ztp__vdec;

void ztp__vdec_init(ztp__vdec *d);
/* Record a rejection and return rc (a negative ztp code), so that checks
 * can `return ztp__reject(d, W, ZTP_EX, "...")`. Also sets ztp__err. */
int ztp__reject(ztp__vdec *d, int wire, int rc, const char *fmt, ...)
    ZTP__PRINTF(4, 5);

/* ---------------------------------------------------------------- buckets */

#define ZTP__RL_SLOTS 4096
#define ZTP__RL_PROBE 8

typedef struct ztp__rl_slot {
	char id[ZTP_ID_MAX + 1];
	ztp__bucket b;
	bool used;
} ztp__rl_slot;

typedef struct ztp__ratelimit {
	pthread_mutex_t lock;
	double dev_rate, dev_burst; /* rate 0: disabled */
	double glob_rate, glob_burst;
	ztp__bucket glob;
	bool glob_started;
	uint64_t seed;
	ztp__rl_slot *slots; /* ZTP__RL_SLOTS entries */
} ztp__ratelimit;

int ztp__rl_init(ztp__ratelimit *rl);
void ztp__rl_destroy(ztp__ratelimit *rl);
struct ztp_verifier;
/* Take one token from rl's global bucket (this process's memory): the
 * admission control that comes before any parsing. ZTP_ERATELIMIT with
 * *retry_after (seconds, >= 1) when it is empty. */
int ztp__rl_take_global(ztp__ratelimit *rl, int64_t now, int64_t *retry_after);
/* Take one token from device_id's bucket of scope ("device", "lifecycle",
 * "claim") with rl's per-device rate: in v's store when it has one (one
 * atomic operation, shared by every process and instance on that store),
 * else in rl's table. Same results as ztp__rl_take_global(), plus the
 * store's errors. */
int ztp__rl_take_device(struct ztp_verifier *v, ztp__ratelimit *rl,
			const char *scope, const char *device_id, int64_t now,
			int64_t *retry_after);

/* ---------------------------------------------------------------- requests */

/* Domain-parameter-only EC keys (P-256, P-384) from which request keys
 * are copied: copying the curve is much cheaper than building it from its
 * name for every request. Built once, then only read (EVP_PKEY_dup), so
 * shared by all threads. A NULL entry: keys are built from scratch. */
typedef struct ztp__csr_tmpl {
	EVP_PKEY *p256, *p384;
} ztp__csr_tmpl;

/* Best effort: on failure (memory) the entries stay NULL. */
void ztp__csr_tmpl_init(ztp__csr_tmpl *t);
void ztp__csr_tmpl_free(ztp__csr_tmpl *t);

/* ---------------------------------------------------------------- handle */

/* The budget of durable refusal events of one kind, and the refusals of
 * that kind not written since the last one that was. */
typedef struct ztp__refusals {
	ztp__bucket b;
	bool used;
	uint64_t suppressed;
} ztp__refusals;

/* Endpoints whose requests produce events: bootstrap, register,
 * credentials, rotate, assignment. */
#define ZTP__EVT_ENDPOINTS 5
/* Durable refusal events per (endpoint, code): a burst of this many,
 * then one per interval; the others only reach the callback and the
 * counters (PROTOCOL.md §7). */
#define ZTP__REFUSAL_BURST 10
#define ZTP__REFUSAL_INTERVAL 60

/* ---------------------------------------------------------------- metrics */

/* Rate-limit scopes, as the metrics name them (metrics.c). */
enum {
	ZTP__RL_SCOPE_GLOBAL,
	ZTP__RL_SCOPE_DEVICE,
	ZTP__RL_SCOPE_LIFECYCLE,
	ZTP__RL_SCOPE_CLAIM,
	ZTP__RL_SCOPE_CLAIM_GLOBAL,
	ZTP__RL_SCOPES
};

/* What the verifier was doing when the store failed. */
enum {
	ZTP__M_STORE_REQUEST,
	ZTP__M_STORE_EVENT,
	ZTP__M_STORE_GAUGES,
	ZTP__M_STORE_OPS
};

/* Endpoints, and one more for names that are none. */
#define ZTP__M_ENDPOINTS (ZTP__E_COUNT + 1)
/* 0: accepted; w + 1: refused with wire code w. */
#define ZTP__M_CODES (ZTP__W_COUNT + 1)
#define ZTP__M_BUCKETS 13 /* latency buckets before +Inf */
#define ZTP__M_PROFILES 2 /* bootstrap, operational */
#define ZTP__M_WINDOWS 2  /* expiring within 7 and 30 days */

/* What the approval hook answered (hook.c). */
enum {
	ZTP__M_HOOK_ACCEPTED,
	ZTP__M_HOOK_REJECTED,
	ZTP__M_HOOK_FAILED,
	ZTP__M_HOOK_OUTCOMES
};
/* Their names, in the hook's events ("result") and in the metrics. */
extern const char *const ztp__hook_outcome_names[ZTP__M_HOOK_OUTCOMES];

/* Counters updated without a lock (relaxed atomics), read by
 * ztp_verifier_metrics(). latency[e][b] counts requests of bucket b
 * alone (b == ZTP__M_BUCKETS: over the last bound); the text format's
 * cumulative counts are summed when it is written. */
typedef struct ztp__metrics {
	_Atomic uint64_t requests[ZTP__M_ENDPOINTS][ZTP__M_CODES];
	_Atomic uint64_t latency[ZTP__M_ENDPOINTS][ZTP__M_BUCKETS + 1];
	_Atomic uint64_t latency_ns[ZTP__M_ENDPOINTS];
	_Atomic uint64_t rate_limited[ZTP__RL_SCOPES];
	_Atomic uint64_t store_errors[ZTP__M_STORE_OPS];
	_Atomic uint64_t issued[ZTP__M_PROFILES];
	_Atomic uint64_t hook[ZTP__M_HOOK_OUTCOMES];
} ztp__metrics;

/* Nanoseconds of the monotonic clock (latency only: never the injected
 * clock, which tests hold still). */
int64_t ztp__metrics_clock(void);
/* One request to endpoint (ZTP__E_*, ZTP__E_NONE for an unknown name)
 * decided with wire (ZTP__W_NONE: accepted), started at
 * ztp__metrics_clock() reading started. */
void ztp__metrics_request(struct ztp_verifier *v, int endpoint, int wire,
			  int64_t started);
/* ZTP__RL_SCOPE_* of a scope name ("device", "lifecycle", "claim"), -1. */
int ztp__metrics_scope(const char *name);
void ztp__metrics_rate_limited(struct ztp_verifier *v, int scope);
void ztp__metrics_store_error(struct ztp_verifier *v, int op);
/* A certificate of profile was issued (other profiles are not counted). */
void ztp__metrics_issued(struct ztp_verifier *v, const char *profile);
/* The approval hook answered with outcome (ZTP__M_HOOK_*). */
void ztp__metrics_hook(struct ztp_verifier *v, int outcome);

struct ztp_verifier {
	X509_STORE *trust; /* trust anchors only */
	size_t n_anchors;
	STACK_OF(X509) * issuers; /* allowlist, also path hints */
	uint8_t (*issuer_fp)[32]; /* SHA-256 of each issuer's DER */
	/* Signatures among the configured CAs verified once at
	 * configuration: child[i] is signed by parent[i]. Pointers to the
	 * objects held by `trust` and `issuers`; rebuilt whenever either
	 * changes, before the old objects are freed. */
	X509 **sig_child, **sig_parent;
	size_t n_sig;

	ztp_ca *ca;
	bool own_ca;
	char *crl_file; /* rewritten on every revocation (crlfile.c) */
	ztp_store *store;
	bool own_store;
	bool config_loaded;

	int64_t bootstrap_lifetime;
	int64_t operational_lifetime; /* 0: the profile's default */
	int64_t leeway;
	int64_t challenge_ttl;
	int max_depth;
	ztp__keypolicy keypolicy;
	ztp__csr_tmpl csr_tmpl;
	size_t max_request;

	uint8_t *secret;
	size_t secret_len;

	ztp__clock clock;
	ztp__events events;
	ztp__ratelimit rl;
	ztp__ratelimit claim_rl; /* claim attempts */
	ztp__ratelimit life_rl;	 /* lifecycle endpoints, per device only */

	/* Rotation overlap (overlap.c): devices that hold a superseded,
	 * not yet revoked operational certificate, with the time the next
	 * one falls due; and how far the event log has been read. */
	int64_t rotation_overlap;
	pthread_mutex_t maint_lock;
	struct ztp__pending *pending;
	size_t n_pending, cap_pending;
	int64_t maint_after;

	pthread_mutex_t stats_lock;
	uint64_t n_requests, n_challenges, n_bootstraps, n_accepted, n_rejected;
	uint64_t n_by_code[ZTP__W_COUNT];
	/* Refusal events kept out of the durable log (handle.c), under
	 * stats_lock: per endpoint with events and wire code, and per
	 * status code of refused claims. */
	ztp__refusals refusals[ZTP__EVT_ENDPOINTS][ZTP__W_COUNT];
	ztp__refusals claim_refusals[1 - ZTP_STATUS_MIN];
	uint64_t n_suppressed;

	ztp__metrics metrics;

	/* OCSP (ocsp.c): the delegated signer, NULL to sign with the CA. */
	X509 *ocsp_cert;
	EVP_PKEY *ocsp_key;
	const EVP_MD *ocsp_md; /* NULL for Ed25519 */
	int64_t ocsp_next_update;

	/* Audit checkpoints (audit.c): the key, when to sign, and the
	 * newest checkpoint this process knows of (under audit_lock). */
	EVP_PKEY *audit_key;
	ztp__sigalg audit_alg;
	char audit_key_id[65];
	int64_t audit_every_events, audit_every_seconds;
	pthread_mutex_t audit_lock;
	bool audit_known;
	int64_t audit_cp_seq, audit_cp_at;
	int64_t audit_pending; /* events since the head was last read */

	/* Broker allocation (brokers.c): {"default":[…],"tenants":{…}} or
	 * NULL; set at configuration, then only read. */
	json_object *brokers;

	/* Device-CA rollover (cas.c): the device CAs accepted besides the
	 * active one (v->ca), NULL if none; the trust bundle handed to
	 * devices, an array of PEM strings, NULL if none. Set at
	 * configuration, then only read. */
	STACK_OF(X509) * device_cas;
	json_object *trust_bundle;

	/* The approval hook (hook.c); NULL: every request is approved. */
	ztp_hook_fn hook;
	void *hook_user;
	int64_t hook_budget_ms;
};

/* An event was appended to the store at now: sign a checkpoint when one
 * is due (audit.c). */
void ztp__audit_appended(ztp_verifier *v, int64_t now);

/* Forget the delegated OCSP signer. */
void ztp__verifier_ocsp_clear(ztp_verifier *v);

/* What the approval hook is asked about (its context JSON), and what it
 * answered. */
typedef struct ztp__hook_ctx {
	const char *event; /* "bootstrap", "credentials", "claim" */
	const char *device_id;
	const char *state;
	const char *tenant;	 /* the device's, or the claim's; may be NULL */
	const char *fingerprint; /* bootstrap: the factory certificate's */
	const char *group;	 /* bootstrap through a group; may be NULL */
	bool may_assign;	 /* whether a verdict may name a tenant */
	int64_t now;
} ztp__hook_ctx;

typedef struct ztp__hook_verdict {
	bool allow;
	int wire;		     /* a denial's code */
	char message[256];	     /* a denial's message */
	char tenant[ZTP_ID_MAX + 1]; /* allow with a tenant; "" if none */
	json_object *attributes;     /* allow with attributes (put it) */
} ztp__hook_verdict;

/* Ask the hook (if any) about c: ZTP_OK when allowed (the additions in
 * *out, attributes recorded in an approval event), else a refusal in d:
 * approval_denied or the hook's code, approval_failed when it failed or
 * overran its budget. */
int ztp__verifier_approve(ztp_verifier *v, ztp__vdec *d, const ztp__hook_ctx *c,
			  ztp__hook_verdict *out);
/* Broker allocation: validate and keep b (a reference is taken); add
 * "brokers" for tenant (NULL or "": the default list) to resp when any
 * list applies. */
int ztp__verifier_brokers_set(ztp_verifier *v, json_object *b);
int ztp__verifier_brokers_add(ztp_verifier *v, json_object *resp,
			      const char *tenant);

/* Device-CA rollover (cas.c). The device CA, active or still accepted,
 * that issued cert (names chain, signature verifies), or NULL. */
X509 *ztp__verifier_device_ca_of(const ztp_verifier *v, X509 *cert);
/* Add "trust_bundle" to resp when one is configured. */
int ztp__verifier_trust_bundle_add(ztp_verifier *v, json_object *resp);
/* Forget the accepted device CAs and the trust bundle. */
void ztp__verifier_device_cas_clear(ztp_verifier *v);

/* Bind an unbound device to the tenant a verdict named (state active). */
int ztp__verifier_assign_tenant(ztp_verifier *v, const char *device_id,
				const char *tenant);

/* Identity check shared by check_cert, enroll and bootstrap: the chain of
 * leaf to a trust anchor (hints: untrusted path-building certificates, may
 * be NULL), the allowlist, the depth limit, validity at `at` with the
 * leeway, and the device profile. device_id receives the ID the
 * certificate names. */
int ztp__verifier_identity(ztp_verifier *v, ztp__vdec *d, X509 *leaf,
			   STACK_OF(X509) * hints, int64_t at,
			   char device_id[ZTP_ID_MAX + 1]);
/* The same, also giving the SHA-256 of the issuing CA's DER (the CA that
 * signed leaf, an allowed issuer) when issuer_fp is not NULL. */
int ztp__verifier_identity_ex(ztp_verifier *v, ztp__vdec *d, X509 *leaf,
			      STACK_OF(X509) * hints, int64_t at,
			      char device_id[ZTP_ID_MAX + 1],
			      uint8_t issuer_fp[32]);

/* Enrollment groups (groups.c). For a device the registry does not know:
 * the group (its ID into group_id) through which its factory certificate,
 * issued by the CA whose fingerprint is issuer_fp, would enroll it, or a
 * refusal in d (unknown_device when none admits the ID, group_disabled,
 * group_expired, group_full). Reads only. */
int ztp__verifier_group_for(ztp_verifier *v, ztp__vdec *d,
			    const char *device_id, const uint8_t issuer_fp[32],
			    int64_t now, char group_id[ZTP_ID_MAX + 1]);
/* Enroll device_id through group_id now that its request passed every
 * check (trust on first use of factory's fingerprint), or a refusal in d
 * as above. ZTP_EEXISTS, without a refusal, when it was recorded
 * meanwhile. Emits a group_enroll event on success. */
int ztp__verifier_group_enroll(ztp_verifier *v, ztp__vdec *d,
			       const char *group_id, const char *device_id,
			       X509 *factory, int64_t now);

/* A certificate request from a device (PEM): parsed, its self-signature
 * verified, its key allowed by kp. t (may be NULL) as above. On success
 * *key is the request's public key (EVP_PKEY_free) and hash (may be NULL)
 * the SHA-256 of its DER as sent. A refusal is recorded in d (bad_csr,
 * key_policy); see csr.c. */
int ztp__verifier_csr(ztp__vdec *d, const ztp__keypolicy *kp,
		      const ztp__csr_tmpl *t, EVP_PKEY **key, uint8_t hash[32],
		      const char *pem, size_t len);

/* The fast path of ztp__verifier_csr on DER (exposed for tests):
 * ZTP__CSR_FAST_OK and *key (EVP_PKEY_free) when the request verified
 * with it; ZTP__CSR_FAST_BADSIG when the request was read completely and
 * its signature does not verify; ZTP__CSR_FAST_DECLINE when it is not a
 * shape read there (or on an internal failure): OpenSSL's reading decides.
 * Nothing is left on OpenSSL's error queue. */
#define ZTP__CSR_FAST_OK 0
#define ZTP__CSR_FAST_BADSIG 1
#define ZTP__CSR_FAST_DECLINE 2
int ztp__verifier_csr_fast(const ztp__csr_tmpl *t, EVP_PKEY **key,
			   const uint8_t *der, size_t len);

/* Rebuild the cache of verified CA signatures (configuration time). */
int ztp__verifier_sig_cache(ztp_verifier *v);
void ztp__verifier_sig_cache_clear(ztp_verifier *v);

/* Challenge tokens. */
#define ZTP__CHAL_RANDOM 16
#define ZTP__CHAL_RAW (1 + 8 + 8 + ZTP__CHAL_RANDOM + 32)
#define ZTP__CHAL_B64 ((ZTP__CHAL_RAW * 4 + 2) / 3) /* base64url, no pad */

int ztp__challenge_make(ztp_verifier *v, char out[ZTP__CHAL_B64 + 1],
			int64_t *expires_at, const char *device_id,
			int64_t now);
/* Checks authenticity, device binding and lifetime; id receives the random
 * part (the single-use identifier) and *expires_at the token's expiry. */
int ztp__challenge_check(ztp_verifier *v, ztp__vdec *d, const char *nonce,
			 size_t len, const char *device_id, int64_t now,
			 uint8_t id[ZTP__CHAL_RANDOM], int64_t *expires_at);

/* Claim codes (admin.c): 32 base32 characters shown in eight groups of
 * four. A fresh code into display (a secret: cleanse it) and the SHA-256
 * of its canonical form, which is what the store keeps. */
#define ZTP__CLAIM_DISPLAY_LEN 39
int ztp__claim_code_make(char display[ZTP__CLAIM_DISPLAY_LEN + 1],
			 uint8_t hash[32]);

/* One line of a bulk import (import.c), as read by ztp__import_line: the
 * device, and either its factory certificate or its fingerprint. */
typedef struct ztp__import_rec {
	char device_id[ZTP_ID_MAX + 1]; /* "" until read */
	char fingerprint[65];		/* lowercase hex; "" with cert */
	X509 *cert;			/* NULL with a fingerprint */
	char *model, *batch;		/* NULL when absent */
	int64_t manufactured_at;	/* -1 when absent */
} ztp__import_rec;

/* Parse one line (len bytes, no newline; at most ZTP_BULK_LINE_MAX) into
 * *r, which the caller clears with ztp__import_rec_clear() whatever the
 * outcome (device_id is set as soon as it is read, so that a refusal can
 * name the device). ZTP_EPARSE, ZTP_EINVAL, ZTP_ETOOBIG with detail. */
int ztp__import_line(ztp__import_rec *r, const char *line, size_t len);
void ztp__import_rec_clear(ztp__import_rec *r);

/* Record the key of factory certificate cert as device_id's factory key
 * in the store (ZTP_EUNSUPPORTED: the store's backend cannot keep it). */
int ztp__verifier_record_factory_key(ztp_verifier *v, const char *device_id,
				     X509 *cert);

/* Whether a refusal of kind r goes into the durable log: a budget of
 * ZTP__REFUSAL_BURST, then one per ZTP__REFUSAL_INTERVAL. When it does,
 * *suppressed is the number of its kind left out since the last one
 * written, else 0 (and it is counted as left out). */
bool ztp__refusal_durable(ztp_verifier *v, ztp__refusals *r, int64_t now,
			  uint64_t *suppressed);

/* Hand an event to the callback and, when durable, to the store's log. */
void ztp__verifier_log(ztp_verifier *v, json_object *ev, bool durable);

/* register, credentials, rotate, assignment (lifecycle.c). device_id and
 * serial receive the authenticated device and the issued serial. */
int ztp__verifier_lifecycle(ztp_verifier *v, ztp__vdec *d, const char *ep,
			    json_object *body, const char *peer_pem,
			    size_t peer_len, int64_t now, json_object **resp,
			    char device_id[ZTP_ID_MAX + 1],
			    char serial[ZTP_CA_SERIAL_HEX_MAX + 1]);

/* ---------------------------------------------------------------- overlap */

typedef struct ztp__pending {
	char device_id[ZTP_ID_MAX + 1];
	int64_t due;
} ztp__pending;

/* Revoke the device's superseded operational certificates whose overlap
 * has ended (revocation time: the end of the overlap) and remember when
 * the next one falls due. When serial is not NULL, *expired tells whether
 * that certificate's overlap has ended — decided from the certificate
 * list itself, so it holds even if the revocation could not be written.
 * *revoked (may be NULL) is increased by the number revoked. */
int ztp__overlap_sweep(ztp_verifier *v, const char *device_id,
		       const char *serial, int64_t now, bool *expired,
		       uint64_t *revoked);
/* Remember that device_id holds a superseded certificate falling due at
 * due (an operational certificate was just issued). */
int ztp__overlap_note(ztp_verifier *v, const char *device_id, int64_t due);
/* ztp_verifier_maintain() without argument checks. */
int ztp__overlap_maintain(ztp_verifier *v, int64_t now, uint64_t *revoked);

/* Rewrite the configured CRL file (crlfile.c); ZTP_OK without one. */
int ztp__verifier_publish_crl(ztp_verifier *v);
/* The same after a revocation made inside a request or the crl endpoint:
 * a failure does not fail the caller, it is logged as a `crl_file`
 * event. */
void ztp__verifier_crl_changed(ztp_verifier *v);

/* Stats and events. */
void ztp__verifier_count(ztp_verifier *v, int endpoint_kind, int wire);
#define ZTP__EP_OTHER 0
#define ZTP__EP_CHALLENGE 1
#define ZTP__EP_BOOTSTRAP 2
#define ZTP__EP_LIFECYCLE 3

#endif /* ZTP_VERIFIER_INTERNAL_H */
