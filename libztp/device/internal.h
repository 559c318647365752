/*
 * libztp — device module internals shared by its source files and its
 * white-box tests. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_DEVICE_INTERNAL_H
#define ZTP_DEVICE_INTERNAL_H

#include "core/internal.h"
#include "core/protocol.h"

#include <openssl/x509.h>

#include <ztp/device.h>

/* Answers are small JSON documents holding a few PEM certificates; anything
 * bigger is refused while it is being received. */
#define ZTP__DEV_RESP_MAX (256 * 1024)
#define ZTP__DEV_NONCE_MAX ZTP__NONCE_MAX
#define ZTP__DEV_ERRMSG_MAX 200
#define ZTP__DEV_URL_MAX 2048
#define ZTP__DEV_KEYFILE_MAX (64 * 1024)

/* Everything ztp_device_load_config() replaces at once. */
typedef struct ztp__dev_cfg {
	char *device_id; /* explicit ID, or NULL: from the factory cert */
	EVP_PKEY *factory_key;
	X509 *factory_cert;
	STACK_OF(X509) * factory_chain; /* intermediates, may be NULL */
	char *base_url;			/* without trailing '/' */
	char *ca_file;
	char key_type[16];
	char *state_dir;
	int64_t connect_ms, total_ms;
	int max_attempts;
	int64_t base_delay_ms, max_delay_ms, max_retry_after_ms;
	/* registration (issue 5) */
	char *device_type;
	char *firmware_version;
	json_object *capabilities; /* array of strings, or NULL */
	int rotate_percent;	   /* rotation due at this % of lifetime */
	/* Where generated keys live (issue 15): NULL, key files in the
	 * slots; else a pkcs11: URI of the token, and the label prefix of
	 * the key objects made there. */
	char *key_token;
	char *key_label;
	/* "clock": "untrusted" (clock.c): certificates are checked against
	 * the time floor, not the system clock. */
	bool clock_untrusted;
	/* "proxy": http://host:port of an HTTP proxy the device reaches
	 * the server through (CONNECT), or NULL: none. Never taken from
	 * the environment. */
	char *proxy;
	/* "keep_alive" (default true): the requests of an operation with one
	 * client identity share one connection. */
	bool keep_alive;
} ztp__dev_cfg;

void ztp__dev_cfg_defaults(ztp__dev_cfg *c);
void ztp__dev_cfg_clear(ztp__dev_cfg *c);

/* The connection kept between the requests of an operation (http.c). */
typedef struct ztp__dev_conn ztp__dev_conn;

struct ztp_device {
	ztp__dev_cfg cfg;
	ztp__clock clock;
	ztp__events events;
	/* Test hooks: sleeping between attempts and the jitter source. */
	void (*sleep_fn)(void *ctx, int64_t ms);
	void *sleep_ctx;
	uint64_t (*rand_fn)(void *ctx);
	void *rand_ctx;
	/* The trust bundle a probe connects with (trust.c); NULL: the one
	 * in use. */
	const char *trust_probe;
	/* Error code of the server's last refusal ("" if none). */
	char server_error[65];
	/* With clock_untrusted: the time floor in effect (clock.c), loaded
	 * when an operation begins. */
	int64_t floor;
	/* notAfter of the verified server certificate of the last answer
	 * received (0 if none). */
	int64_t peer_not_after;
	ztp__dev_conn *conn; /* or NULL */
};

/* The device ID in effect: the explicit one, else the factory cert's.
 * ZTP_EINVAL if neither; ZTP_EMISMATCH if they disagree. */
int ztp__dev_id(const ztp_device *dev, char out[ZTP_ID_MAX + 1]);

/* Emit {"event": name, "time": now, ...fields} (fields: taken). */
void ztp__dev_event(ztp_device *dev, const char *name, json_object *fields);

/* ------------------------------------------------------------------ transport
 */

/* The client identity of a connection: borrowed pointers. */
typedef struct ztp__dev_tls_id {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) * chain; /* may be NULL */
} ztp__dev_tls_id;

/* What a single attempt produced. */
typedef struct ztp__dev_http_result {
	long status;		/* HTTP status, 0 if no answer */
	ztp__buf body;		/* at most ZTP__DEV_RESP_MAX bytes */
	int64_t retry_after;	/* Retry-After header in seconds, -1 if none */
	bool transient;		/* a failure that another attempt may cure */
	int64_t peer_not_after; /* of the server's verified certificate */
	bool new_connection;	/* a connection (TLS handshake) was made */
} ztp__dev_http_result;

/* What to do after an attempt. */
typedef enum ztp__dev_verdict {
	ZTP__DEV_OK = 0, /* 2xx */
	ZTP__DEV_RETRY,	 /* network failure, 408, 429, 5xx */
	ZTP__DEV_FAIL	 /* definitive */
} ztp__dev_verdict;

ztp__dev_verdict ztp__dev_classify(int transport_rc, bool transient,
				   long status);

/* Parse an error answer {"error":{"code","message","retry_after"?}}.
 * code/msg are sanitised to printable ASCII; retry_after -1 if absent.
 * ZTP_EPARSE if the body is not such a document (outputs then empty). */
int ztp__dev_parse_error(const uint8_t *body, size_t len, char code[65],
			 char msg[ZTP__DEV_ERRMSG_MAX + 1],
			 int64_t *retry_after);

/* One attempt (no retries). Returns ZTP_OK when an HTTP answer arrived
 * (any status); otherwise ZTP_ENETWORK / ZTP_ETOOBIG with detail, and
 * res->transient says whether another attempt may help. */
int ztp__dev_http_once(ztp_device *dev, const char *url, const char *body,
		       const ztp__dev_tls_id *id, ztp__dev_http_result *res);
void ztp__dev_http_result_free(ztp__dev_http_result *res);
/* Close the connection kept between requests, if any. */
void ztp__dev_conn_close(ztp_device *dev);
/* End an operation: close its connection and release the lock. */
void ztp__dev_end(ztp_device *dev, int lock);

/* libcurl's global initialisation, once per process (ZTP_ENETWORK when it
 * failed). */
int ztp__dev_curl_init(void);
/* A client TLS context as the device makes one (an SSL_CTX *, opaque
 * here): TLS 1.2 or later; with verify_time >= 0 (a device without a
 * trustworthy clock) the chain verified at that time, a certificate not
 * valid yet accepted; with key, the client identity (cert, then the
 * intermediates of chain, which may be NULL). ZTP_ECRYPTO when OpenSSL
 * refuses a step. Also the OpenSSL port's (devport/openssl.c). */
struct ssl_ctx_st;
int ztp__dev_tls_setup(struct ssl_ctx_st *sc, int64_t verify_time,
		       EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain);

/* POST body to BASE/ztp/v1/<endpoint> with retries; on 2xx parse the JSON
 * object answer strictly into *out. */
int ztp__dev_call(ztp_device *dev, const char *endpoint, json_object *req,
		  const ztp__dev_tls_id *id, json_object **out);

/* Whether the last call (status rc) was refused by the server with the
 * wire code w. */
bool ztp__dev_refused_with(const ztp_device *dev, int rc, int w);

/* ------------------------------------------------------------------ protocol
 */

/* The bootstrap transcript (ztp__transcript()) over SHA-256(csr_der). */
int ztp__dev_transcript(ztp__buf *out, const char *device_id, const char *nonce,
			const uint8_t *csr_der, size_t csr_len);

/* A CSR for key with subject CN = device_id, as PEM and DER. */
int ztp__dev_make_csr(char **pem, uint8_t **der, size_t *der_len, EVP_PKEY *key,
		      const char *device_id);

/* {"nonce","expires_at"} plus "server_time" when want_time (then
 * required; refused otherwise): nonce printable ASCII,
 * 1..ZTP__DEV_NONCE_MAX; *nonce is a copy (ztp_free); *server_time -1
 * unless want_time. */
int ztp__dev_parse_challenge(json_object *resp, bool want_time, char **nonce,
			     int64_t *expires_at, int64_t *server_time);

typedef struct ztp__dev_issued {
	X509 *cert;
	STACK_OF(X509) * chain; /* possibly empty, never NULL on success */
	int64_t not_after;
	char tenant[ZTP_ID_MAX + 1]; /* "" if none */
	char *ns;		     /* namespace, or NULL */
} ztp__dev_issued;

void ztp__dev_issued_free(ztp__dev_issued *is);

/* Parse {"certificate","chain","not_after"} (plus "tenant","namespace" when
 * with_tenant) strictly and check that the certificate carries key, names
 * device_id, agrees with not_after and has not expired at now. */
int ztp__dev_parse_issued(ztp__dev_issued *out, json_object *resp,
			  bool with_tenant, EVP_PKEY *key,
			  const char *device_id, int64_t now);

/* ------------------------------------------------------------------ operations
 */

/* Check what every network operation needs, resolve the device ID and
 * take the state directory's lock (release with ztp__dev_state_close). */
int ztp__dev_begin(ztp_device *dev, const char *op, char id[ZTP_ID_MAX + 1],
		   int *lock);

/* device.step events; fields (taken) may be NULL. fail_event keeps the
 * thread's error detail. */
void ztp__dev_step_event(ztp_device *dev, const char *op, const char *step,
			 json_object *fields);
void ztp__dev_fail_event(ztp_device *dev, const char *op, int rc);
json_object *ztp__dev_cert_fields(X509 *cert);

/* The operations, with the lock held. */
int ztp__dev_bootstrap_locked(ztp_device *dev, const char *id);
/* Append the names of the operations performed to actions (an array). */
int ztp__dev_run_locked(ztp_device *dev, const char *id, int64_t now,
			json_object *actions);

/* The request last registered (a new reference), or NULL if none. */
int ztp__dev_registration_read(json_object **request, const char *state);

/* {"tenant": id|null, "namespace": str|null, "policy": object|null},
 * closed schema. */
int ztp__dev_parse_assignment(json_object *resp);
/* The "brokers" member of an assignment or credentials answer, if any:
 * an array of 1..8 strings of 1..255 printable ASCII bytes without
 * spaces. */
int ztp__dev_parse_brokers(json_object *resp, const char *what);
/* Keep the broker endpoints of an accepted answer for the firmware:
 * STATE/brokers.json, {"brokers":[…]}, written atomically; removed when
 * the answer carries none (the verifier allocates none). */
int ztp__dev_store_brokers(const char *state, json_object *resp);

/* ------------------------------------------------------------------ clock
 * (clock.c) */

/* The first floor: the library's build time (configure, SOURCE_DATE_EPOCH). */
int64_t ztp__dev_build_time(void);
/* The time certificates are checked against: the floor with
 * clock_untrusted, else the device's clock. */
int64_t ztp__dev_now(const ztp_device *dev);
/* The floor kept in STATE/clock.json, or the build time when there is
 * none (or it is earlier). ZTP_EPARSE / ZTP_ETOOBIG when the file is not
 * a floor document; ZTP_EIO when it cannot be read. */
int ztp__dev_floor_read(int64_t *floor, const char *state);
int ztp__dev_floor_write(const char *state, int64_t floor);
/* "YYYY-MM-DDTHH:MM:SSZ" exactly (len bytes at s): ZTP_EPARSE otherwise. */
int ztp__dev_parse_utc(int64_t *out, const char *s, size_t len,
		       const char *what);
/* Raise the floor to server_time, learned over a connection whose
 * server certificate expires at peer_not_after: only forward, and not to
 * or past peer_not_after (step events "raised", "behind", "refused").
 * Nothing without clock_untrusted. */
int ztp__dev_floor_raise(ztp_device *dev, int64_t server_time,
			 int64_t peer_not_after);
/* Load the floor into dev when the clock is untrusted (lock held). */
int ztp__dev_clock_begin(ztp_device *dev);
/* A challenge for id with tls (may be NULL); with clock_untrusted it
 * asks for the server's time and raises the floor with it. */
int ztp__dev_challenge(ztp_device *dev, const char *id,
		       const ztp__dev_tls_id *tls, char **nonce,
		       int64_t *expires_at);
/* With clock_untrusted: a challenge that only learns the server's time,
 * made with the identity the operation goes on with. */
int ztp__dev_clock_sync(ztp_device *dev, const char *id);

/* ------------------------------------------------------------------ keys in
 * a token (keys.c) */

/* Where generated keys go when they go to a token. */
typedef struct ztp__dev_keys {
	const char *token; /* pkcs11: URI of the token, without an object */
	const char *label; /* prefix of the object labels */
} ztp__dev_keys;

/* Labels of the objects generated keys get: LABEL-KIND-SLOT. */
#define ZTP__DEV_KEY_LABEL_DEFAULT "ztp"
#define ZTP__DEV_KEY_LABEL_MAX 32

/* Check where generated keys go (ztp_device_set_key_store(3), and the
 * OpenSSL port's operational_key): uri a pkcs11: URI of a token that
 * names no object, *label (NULL: set to the default) an identifier of
 * at most ZTP__DEV_KEY_LABEL_MAX characters. ZTP_EINVAL otherwise. */
int ztp__dev_keys_check(const char *uri, const char **label);

/* Where c puts generated keys: NULL for key files, else buf, filled. */
const ztp__dev_keys *ztp__dev_keys_of(const ztp__dev_cfg *c,
				      ztp__dev_keys *buf);

/* The longest reference to a token object a slot's key.ref holds. */
#define ZTP__DEV_KEYREF_MAX 256

/* A new key of key_type made in the token under the label object, with a
 * random id (the caller deleted what the label held before); *ref is what
 * key.ref records (ztp_free). */
int ztp__dev_token_generate(EVP_PKEY **key, char **ref, const ztp__dev_keys *k,
			    const char *object, const char *key_type);
/* The key a key.ref names. ZTP_ENOTFOUND when the token no longer holds
 * it. */
int ztp__dev_token_load(EVP_PKEY **key, const ztp__dev_keys *k,
			const char *ref);
/* Delete every object labelled object (none there is not an error). */
int ztp__dev_token_delete(const ztp__dev_keys *k, const char *object);

/* ------------------------------------------------------------------ state */

typedef enum ztp__dev_kind {
	ZTP__DEV_BOOTSTRAP = 0,
	ZTP__DEV_OPERATIONAL = 1,
	/* The trust bundle (trust.c): slots hold bundle.pem only. */
	ZTP__DEV_TRUST = 2
} ztp__dev_kind;

const char *ztp__dev_kind_name(ztp__dev_kind kind);

/* The manifest <state>/<kind>/current.json. slot: 'a', 'b' or 0. */
typedef struct ztp__dev_manifest {
	char current;
	char pending;
	char fingerprint[65]; /* of the current certificate; "" if none */
} ztp__dev_manifest;

int ztp__dev_manifest_read(ztp__dev_manifest *m, const char *state,
			   ztp__dev_kind kind);
int ztp__dev_manifest_write(const ztp__dev_manifest *m, const char *state,
			    ztp__dev_kind kind);

/* A credential loaded from a slot. */
typedef struct ztp__dev_cred {
	char slot;
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) * chain;
} ztp__dev_cred;

void ztp__dev_cred_free(ztp__dev_cred *c);

/* Check the state directory (create it 0700 if missing, refuse group- or
 * world-writable or foreign-owned) and take its lock; *fd for unlock. */
int ztp__dev_state_open(const char *state, int *fd);
void ztp__dev_state_close(int fd);

/* The current credential of kind: ZTP_ENOTFOUND if there is none; the
 * files are checked against the manifest's fingerprint and each other. */
int ztp__dev_cred_current(ztp__dev_cred *out, const char *state,
			  const ztp__dev_keys *keys, ztp__dev_kind kind);

/* Start or resume a new credential of kind: the pending slot's key, reused
 * when it is of key_type and where keys says keys go (a token, or files
 * when keys is NULL), else a fresh one made there first. When the slot
 * also holds a certificate for that key naming device_id that has not
 * expired at now, it is returned in *ready (else ready->cert is NULL).
 * A slot's key in a token is found through the slot's key.ref in
 * whichever case; keys NULL then is ZTP_ESTATE. */
int ztp__dev_pending_begin(EVP_PKEY **key, ztp__dev_cred *ready,
			   const char *state, const ztp__dev_keys *keys,
			   ztp__dev_kind kind, const char *key_type,
			   const char *device_id, int64_t now);

/* Write the certificate and chain into the pending slot. */
int ztp__dev_pending_store(const char *state, ztp__dev_kind kind, X509 *cert,
			   STACK_OF(X509) * chain);
/* Make the pending slot (holding cert) current by replacing the manifest;
 * *old (may be NULL) is the slot that was current before, or 0. */
int ztp__dev_pending_activate(const char *state, ztp__dev_kind kind, X509 *cert,
			      char *old);
/* Both. */
int ztp__dev_pending_commit(const char *state, ztp__dev_kind kind, X509 *cert,
			    STACK_OF(X509) * chain, char *old);
/* After a switch away from slot (0: nothing), empty it when its key is in
 * a token, deleting the key object: the old key goes as soon as the new
 * one is current. *done says whether it did. Key files stay until the
 * slot is reused. */
int ztp__dev_slot_retire(const char *state, const ztp__dev_keys *keys,
			 ztp__dev_kind kind, char slot, bool *done);

/* A JSON object kept in a state file of at most max bytes: *root NULL
 * when the file does not exist; ZTP_EPARSE (path named) when it is not a
 * JSON object. */
int ztp__dev_json_file(json_object **root, const char *path, size_t max,
		       int depth);

/* Create <state>/<kind>/{a,b} (0700) where missing. */
int ztp__dev_kind_dirs(const char *state, ztp__dev_kind kind);

/* Paths of slot files: <state>/<kind>/<slot>/<file>. */
int ztp__dev_slot_path(char **out, const char *state, ztp__dev_kind kind,
		       char slot, const char *file);

/* Make the pending credential of kind (cert, already stored) current;
 * with keys in a token, then delete the old slot's key object (step
 * events "switched" and "retired"). A failed deletion is reported as a
 * "retire_failed" step event only: the new credential is current, and the
 * object goes when its slot is used next. */
int ztp__dev_activate(ztp_device *dev, const char *op, ztp__dev_kind kind,
		      X509 *cert);

/* ------------------------------------------------------------------ trust
 * bundle (trust.c) */

/* The CA file that verifies the server: the bundle being probed, else the
 * committed one of STATE/trust (checked against its manifest's
 * fingerprint: ZTP_EMISMATCH when the file was changed), else the
 * configured ca_file (ZTP_EINVAL if none). *out: ztp_free. */
int ztp__dev_trust_file(const ztp_device *dev, char **out);
/* The "trust_bundle" member of an answer, if any: an array of 1..8 PEM CA
 * certificates. */
int ztp__dev_parse_trust_bundle(json_object *resp, const char *what);
/* The answer's trust bundle, when it has one that is not the committed
 * one: stored in the spare slot, a connection to the server made with it
 * alone (the crl endpoint, no client certificate), then committed (step
 * event "committed") or, when that connection failed, removed and the
 * bundle in use kept ("rolled_back"; not an error of the operation). */
int ztp__dev_trust_update(ztp_device *dev, json_object *resp);

#endif /* ZTP_DEVICE_INTERNAL_H */
