/*
 * libztp — the portable device core and its port interface.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_PORT_H
#define ZTP_PORT_H

/**
 * @file port.h
 * @brief The portable device core (`ztp_lite_*`): the device side of the
 * protocol in C99 and the C standard library only, on top of a port that
 * supplies TLS, crypto, storage, clock, sleep and the heap.
 *
 * The core builds the requests, parses the answers with its own strict
 * bounded JSON reader, speaks HTTP/1.1 with keep-alive over the port's
 * TLS connection (one connection per client identity and run), retries
 * with backoff and Retry-After, keeps two slots per credential kind
 * switched by an atomically replaced manifest, and keeps a "last known
 * good time" floor for devices without a trustworthy clock.
 *
 * Ports shipped with libztp: mbedTLS 2.28 with POSIX file storage
 * (libztp-device-mbedtls, ztp-device-mbedtls(1)). doc/PORTING.md says how
 * to write one for a microcontroller; ztp_port(3) documents this header.
 *
 * Every port function returns #ZTP_OK or a negative ::ztp_status; the
 * core passes a port's code up unchanged. Memory: the core allocates only
 * through ztp_port::alloc and gives every block back with its size through
 * ztp_port::dealloc.
 *
 * Thread safety: a ::ztp_lite handle and its port belong to one thread at
 * a time; distinct handles with distinct ports may run concurrently.
 */

#include <ztp/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of ::ztp_port and ::ztp_lite_options this header describes:
 *  2 added ztp_port::key_generate_named, ztp_port::key_retire and
 *  ztp_lite_options::keep_alive. A port or options of version 1 are still
 *  taken (without those members).
 *  @since 0.1.0 */
#define ZTP_PORT_VERSION 2

/** Longest private-key blob the core stores for a port, in bytes.
 *  @since 0.1.0 */
#define ZTP_LITE_KEY_MAX 2048
/** Longest certificate blob (leaf and chain, PEM) kept per slot.
 *  @since 0.1.0 */
#define ZTP_LITE_CERT_MAX 8192
/** Longest CSR (DER) a port may produce. @since 0.1.0 */
#define ZTP_LITE_CSR_MAX 1024
/** Longest signature (DER) a port may produce. @since 0.1.0 */
#define ZTP_LITE_SIG_MAX 512
/** Longest HTTP response head (status line and headers). @since 0.1.0 */
#define ZTP_LITE_HEAD_MAX 2048
/** Longest HTTP response body (a JSON answer). @since 0.1.0 */
#define ZTP_LITE_BODY_MAX 16384
/** Longest request the core writes (head and body). @since 0.1.0 */
#define ZTP_LITE_REQUEST_MAX 8192
/** Longest trust bundle (the CA certificates of a rollover, PEM) the core
 *  keeps; a longer one is not taken. @since 0.1.0 */
#define ZTP_LITE_TRUST_MAX 8192
/** Longest error detail kept by a handle, NUL included. @since 0.1.0 */
#define ZTP_LITE_ERRMSG_MAX 256

/**
 * What a port reads from a certificate for the core.
 * @since 0.1.0
 */
typedef struct ztp_port_cert_info {
	int64_t not_before; /**< seconds since the epoch */
	int64_t not_after;  /**< seconds since the epoch */
	/** The device the certificate names: its subject CN (exactly one),
	 *  which a SAN URI `urn:ztp:device:<id>` must agree with. */
	char device_id[ZTP_ID_MAX + 1];
	/** The SAN URI `urn:ztp:tenant:<id>`, "" if none. */
	char tenant[ZTP_ID_MAX + 1];
	/** 1 when the certificate's public key is the key given, else 0. */
	int key_matches;
} ztp_port_cert_info;

/**
 * A client identity for a TLS connection.
 * @since 0.1.0
 */
typedef struct ztp_port_identity {
	/** A key blob from ztp_port::key_generate, or NULL for the factory
	 *  identity (the port's own, e.g. a factory key in flash). */
	const uint8_t *key;
	size_t key_len; /**< its length */
	/** The certificate and its chain, PEM, leaf first (NULL with the
	 *  factory identity). */
	const char *cert_pem;
	size_t cert_len; /**< its length */
} ztp_port_identity;

/**
 * A TLS connection the core asks for, and what the port tells of it.
 * @since 0.1.0
 */
typedef struct ztp_port_tls {
	const char *host;		   /**< host name or address */
	uint16_t port;			   /**< TCP port */
	const ztp_port_identity *identity; /**< client identity */
	/** The time to check the server's certificates at: the clock's
	 *  time when clock_known, else the floor (the last known good
	 *  time). */
	int64_t verify_time;
	/** 0 when the device's clock is unknown: the port must then refuse
	 *  a server certificate whose notAfter is before verify_time and
	 *  must not refuse one for its notBefore. */
	int clock_known;
	/** Set by ztp_port::connect on success (the core sets it to 0
	 *  before): the notAfter of the server's leaf certificate on this
	 *  connection, in seconds since the epoch; 0 when the port cannot
	 *  tell. The core never raises its time floor to or past it (a
	 *  `server_time` at or after it is ignored), so a port that leaves
	 *  it 0 never has its floor moved by the server. @since 0.1.0 */
	int64_t peer_not_after;
	/** The CA certificates (PEM blocks) to verify the server against
	 *  instead of the port's own anchors, or NULL for the port's own:
	 *  the trust bundle the device committed in a rollover, or one it
	 *  is probing. A port that cannot use them must fail the connection
	 *  (#ZTP_EUNSUPPORTED), never fall back to its own anchors.
	 *  @since 0.1.0 */
	const char *anchors;
	size_t anchors_len; /**< their length */
} ztp_port_tls;

/**
 * A port: what differs per platform. Every member is required except
 * where noted. ctx is passed back to every function.
 * @since 0.1.0
 */
typedef struct ztp_port {
	unsigned int version; /**< #ZTP_PORT_VERSION */
	void *ctx;	      /**< the port's own state, borrowed */

	/** Allocate n bytes (NULL when out of memory). */
	void *(*alloc)(void *ctx, size_t n);
	/** Free p (never NULL), allocated with n bytes; the core has wiped
	 *  blocks that held secrets. */
	void (*dealloc)(void *ctx, void *p, size_t n);

	/** Open a TLS connection (TLS 1.2 or later, the server verified
	 *  against the port's trust anchors and for host) with the client
	 *  identity; *conn is the port's handle, and tls->peer_not_after
	 *  the server certificate's notAfter. #ZTP_ENETWORK (the core
	 *  retries it), #ZTP_EUNTRUSTED or #ZTP_EEXPIRED for a server
	 *  certificate refused (not retried), ... */
	int (*connect)(void *ctx, void **conn, ztp_port_tls *tls);
	/** Send all len bytes. */
	int (*send)(void *ctx, void *conn, const uint8_t *data, size_t len);
	/** Receive up to cap bytes into buf; *got 0 means the peer closed
	 *  the connection. Blocks with the port's own timeout. */
	int (*recv)(void *ctx, void *conn, uint8_t *buf, size_t cap,
		    size_t *got);
	/** Close a connection from connect (never NULL). */
	void (*close)(void *ctx, void *conn);

	/** Generate a new operational key (ECDSA P-256 or what the port
	 *  supports) and write its blob (at most #ZTP_LITE_KEY_MAX bytes:
	 *  the key itself, or a reference to a key kept in a secure
	 *  element). The core stores the blob and wipes its copies. */
	int (*key_generate)(void *ctx, uint8_t *key, size_t cap, size_t *len);
	/** Write a CSR (DER) for key with subject CN = device_id, signed by
	 *  key. */
	int (*csr)(void *ctx, const uint8_t *key, size_t key_len,
		   const char *device_id, uint8_t *der, size_t cap,
		   size_t *len);
	/** Sign msg with key (NULL: the factory key) as the verifier checks
	 *  a transcript (doc/PROTOCOL.md §4): the algorithm follows the key
	 *  (ECDSA P-256 with SHA-256, P-384 with SHA-384, DER; ...). */
	int (*sign)(void *ctx, const uint8_t *key, size_t key_len,
		    const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
		    size_t *sig_len);
	/** SHA-256 of data. */
	int (*sha256)(void *ctx, const uint8_t *data, size_t len,
		      uint8_t out[32]);
	/** len bytes from a cryptographically secure generator. */
	int (*random)(void *ctx, uint8_t *out, size_t len);
	/** Parse the first certificate of pem (len bytes) into info, and
	 *  say whether it carries the public key of key (NULL: the factory
	 *  key). #ZTP_EPARSE for a malformed certificate. */
	int (*cert_info)(void *ctx, const char *pem, size_t len,
			 const uint8_t *key, size_t key_len,
			 ztp_port_cert_info *info);
	/** Write the factory certificate and its chain (PEM, leaf first,
	 *  intermediates after it). */
	int (*factory_cert)(void *ctx, char *pem, size_t cap, size_t *len);

	/** Read the blob name into buf; #ZTP_ENOTFOUND when there is none,
	 *  #ZTP_ETOOBIG when it is over cap. Names are short ASCII words
	 *  (`[a-z0-9.-]`, at most 32 bytes). */
	int (*load)(void *ctx, const char *name, uint8_t *buf, size_t cap,
		    size_t *len);
	/** Replace the blob name with data atomically and durably: after
	 *  power loss a later load sees the old blob or the new one. */
	int (*store)(void *ctx, const char *name, const uint8_t *data,
		     size_t len);
	/** Remove the blob name (#ZTP_OK when there was none). */
	int (*remove)(void *ctx, const char *name);

	/** The current time in seconds since the epoch, or #ZTP_ENOTFOUND
	 *  when the device does not know it (no-clock mode). */
	int (*now)(void *ctx, int64_t *now);
	/** Sleep ms milliseconds between attempts. Optional (NULL: retries
	 *  follow one another at once). */
	void (*sleep_ms)(void *ctx, uint32_t ms);
	/** The detail of the port's last failure (one line), or NULL.
	 *  Optional (NULL: none). */
	const char *(*last_error)(void *ctx);

	/* Version 2. */

	/** Generate the key that the blob name (`bootstrap.a.key`,
	 *  `operational.b.key`, ...) will hold, as key_generate does.
	 *  Optional (NULL: key_generate). A port that keeps keys in a secure
	 *  element names the key after the blob and first deletes what an
	 *  interrupted generation left under that name: the slot written is
	 *  never the current one. @since 0.1.0 */
	int (*key_generate_named)(void *ctx, const char *name, uint8_t *key,
				  size_t cap, size_t *len);
	/** The key blob name, which held key, is no longer used (a rotation
	 *  or a replaced bootstrap certificate moved to the other slot): a
	 *  port that keeps keys in a secure element deletes the key it
	 *  refers to. Called before the blob is removed; a failure leaves
	 *  garbage, never a wrong state. Optional (NULL: nothing to do).
	 *  @since 0.1.0 */
	void (*key_retire)(void *ctx, const char *name, const uint8_t *key,
			   size_t key_len);
} ztp_port;

/** Opaque handle of the portable device core. @since 0.1.0 */
typedef struct ztp_lite ztp_lite;

/**
 * Settings of a ::ztp_lite handle; ztp_lite_options_init() fills in the
 * defaults. Strings are copied by ztp_lite_new().
 * @since 0.1.0
 */
typedef struct ztp_lite_options {
	unsigned int version; /**< #ZTP_PORT_VERSION */
	/** The device ID, or NULL: the factory certificate's. */
	const char *device_id;
	/** The server, `https://host[:port]` (no path). Required. */
	const char *base_url;
	/** Registration (required by ztp_lite_run() and
	 *  ztp_lite_register()): the device type, an identifier
	 *  ([A-Za-z0-9][A-Za-z0-9._-]{0,63}); the firmware version, 1..64
	 *  printable ASCII characters; capabilities, identifiers. */
	const char *device_type;
	const char *firmware_version;	 /**< see device_type */
	const char *const *capabilities; /**< n_capabilities strings */
	size_t n_capabilities;		 /**< at most 32 */
	/** Rotation is due at this percentage of the operational
	 *  certificate's lifetime (1..99, default 67). */
	int rotate_percent;
	/** Attempts per request (1..100, default 5). */
	int max_attempts;
	uint32_t base_delay_ms;	     /**< backoff base (default 1000) */
	uint32_t max_delay_ms;	     /**< backoff cap (default 60000) */
	uint32_t max_retry_after_ms; /**< Retry-After honoured up to this
					  (default 300000) */
	/** The first value of the time floor when storage holds none,
	 *  typically the firmware's build time (default 0). */
	int64_t build_time;
	/** Event callback (JSON objects, like ztp_device's), or NULL. */
	ztp_event_fn events;
	void *events_ctx; /**< passed to events */
	/** With nothing due, ztp_lite_run() checks in with one `assignment`
	 *  call (1, the default, as ztp_device_run() does): a tenant that
	 *  claimed the device since its certificate was issued leads to new
	 *  credentials, a revoked certificate to a new start. 0: a run with
	 *  nothing due makes no connection; the device then learns of a
	 *  claim at its next rotation. */
	int check_in;

	/* Version 2. */

	/** The requests of an operation made with one client identity share
	 *  one TLS connection (1, the default, as ztp-device's `keep_alive`);
	 *  0: a connection per request, closed after its answer.
	 *  @since 0.1.0 */
	int keep_alive;
} ztp_lite_options;

/** ztp_lite_run() did a bootstrap. @since 0.1.0 */
#define ZTP_LITE_DID_BOOTSTRAP 1u
/** ztp_lite_run() registered. @since 0.1.0 */
#define ZTP_LITE_DID_REGISTER 2u
/** ztp_lite_run() obtained operational credentials. @since 0.1.0 */
#define ZTP_LITE_DID_CREDENTIALS 4u
/** ztp_lite_run() rotated the operational credentials. @since 0.1.0 */
#define ZTP_LITE_DID_ROTATE 8u

/** Counters of ztp_lite_counter(). @since 0.1.0 */
typedef enum ztp_lite_stat {
	ZTP_LITE_HANDSHAKES = 0, /**< TLS connections opened */
	ZTP_LITE_REQUESTS = 1,	 /**< HTTP requests sent */
	ZTP_LITE_BYTES_SENT = 2, /**< bytes handed to ztp_port::send */
	ZTP_LITE_BYTES_RECV = 3, /**< bytes from ztp_port::recv */
	ZTP_LITE_HEAP_PEAK = 4,	 /**< peak bytes the core held */
	ZTP_LITE_HEAP_IN_USE = 5 /**< bytes the core holds now */
} ztp_lite_stat;

/**
 * Fill o with the defaults listed in ::ztp_lite_options.
 * @param o the options to initialise
 * @return #ZTP_OK, or #ZTP_EINVAL when o is NULL.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_options_init(ztp_lite_options *o);

/**
 * Create a handle on a port.
 * @param[out] out the handle, freed with ztp_lite_free()
 * @param port the port; borrowed, must outlive the handle
 * @param opts the settings (copied)
 * @return #ZTP_OK; #ZTP_EINVAL for a NULL argument, a port or options of
 *         another version, a missing port function, a bad base URL or
 *         device ID, out-of-range numbers; #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_new(ztp_lite **out, const ztp_port *port,
			    const ztp_lite_options *opts);

/**
 * Free a handle (closing its connection, if any). Accepts NULL.
 * @param dev the handle, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_lite_free(ztp_lite *dev);

/**
 * Bootstrap: challenge, CSR for a fresh key, transcript signed with the
 * factory key, bootstrap certificate into the pending slot, then made
 * current. Finishes a bootstrap that power loss interrupted.
 * @param dev the handle
 * @return #ZTP_OK; #ZTP_EDENIED (server refusal: ztp_lite_server_error()),
 *         #ZTP_ENETWORK (a transport failure after the attempts, or a
 *         server certificate the port refused: not retried, as
 *         ztp_device(3)), #ZTP_EPARSE / #ZTP_ETOOBIG (a malformed or
 *         oversized answer), #ZTP_EMISMATCH (a certificate not for our
 *         key or device), #ZTP_EEXPIRED (one already expired), a port's
 *         code. Detail: ztp_lite_error().
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_bootstrap(ztp_lite *dev);

/**
 * Register (device type, firmware version, capabilities) with the
 * bootstrap certificate, and remember what was registered.
 * @param dev the handle
 * @return as ztp_lite_bootstrap(); #ZTP_ESTATE without a valid bootstrap
 *         certificate, #ZTP_EINVAL without a registration configured.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_register(ztp_lite *dev);

/**
 * Obtain operational credentials (fresh key, CSR) with the operational
 * certificate if valid, else the bootstrap certificate.
 * @param dev the handle
 * @return as ztp_lite_bootstrap(); #ZTP_ESTATE without a valid
 *         credential to authenticate with.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_credentials(ztp_lite *dev);

/**
 * Rotate the operational credentials now, whether due or not (a key
 * thought exposed, a policy change): a fresh key in the spare slot, a
 * `rotate` request with the current operational certificate, the new
 * certificate probed with an assignment call before it replaces the
 * current one (one whose probe fails stays pending for the next run or
 * rotation), the old key retired (ztp_port::key_retire).
 * @param dev the handle
 * @return as ztp_lite_bootstrap(); #ZTP_ESTATE without a valid
 *         operational credential.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_rotate(ztp_lite *dev);

/**
 * Do what is still needed: bootstrap when there is no valid bootstrap or
 * operational certificate, register when the registration is missing or
 * changed, obtain credentials when there is no valid operational one,
 * rotate when due; with nothing due, check in with one `assignment` call
 * (ztp_lite_options::check_in): a tenant that claimed the device since
 * leads to new credentials. A rotated credential is probed (an
 * assignment call with it) before it replaces the current one; one whose
 * probe fails stays pending for the next run. The brokers of the answers
 * go to the blob `brokers`.
 * A server that refuses a credential as revoked or expired starts the
 * device over from its factory identity.
 * @param dev the handle
 * @param[out] actions the ZTP_LITE_DID_* bits of what was done (may be
 *             NULL)
 * @return as the operations it calls.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_run(ztp_lite *dev, unsigned int *actions);

/**
 * Fetch the device's assignment with the current operational credential
 * (one `assignment` call): the answer, `{"tenant", "namespace", "policy",
 * "brokers", ...}` (doc/PROTOCOL.md), as the server sent it, once read by
 * the protocol's rules; its brokers and trust bundle are taken as a run's
 * check-in takes them.
 * @param dev the handle
 * @param[out] buf the answer, NUL-terminated ("" on failure)
 * @param cap its size in bytes (#ZTP_LITE_BODY_MAX + 1 is always enough)
 * @return as ztp_lite_bootstrap(); #ZTP_ESTATE without a valid
 *         operational credential; #ZTP_EDENIED with server error
 *         `device_state` when the device is not claimed yet;
 *         #ZTP_ETOOBIG when cap is too small.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_assignment(ztp_lite *dev, char *buf, size_t cap);

/** A buffer of this many bytes always holds ztp_lite_status()'s document.
 *  @since 0.1.0 */
#define ZTP_LITE_STATUS_MAX 6144

/**
 * Describe the stored state as one JSON object, without contacting the
 * server: `{"device_id", "credentials": {"bootstrap": C|null,
 * "operational": C|null}, "registration": R|null, "time_floor",
 * "clock_known", "trust_bundle": hex|null}` where C is `{"slot",
 * "device_id", "serial", "not_before", "not_after", "expired",
 * "fingerprint", "tenant" (or null)}` plus `"rotation_due"` for the
 * operational credential (times RFC 3339 UTC; serial: lowercase hex
 * without leading zeros; fingerprint: SHA-256 of the certificate's DER,
 * lowercase hex; both as ztp_device_status() gives them), R the
 * registration last accepted, as it was sent, and trust_bundle the
 * SHA-256 of the committed rollover bundle.
 * @param dev the handle
 * @param[out] buf the document, NUL-terminated ("" on failure)
 * @param cap its size in bytes (#ZTP_LITE_STATUS_MAX is always enough)
 * @return #ZTP_OK; #ZTP_EINVAL; #ZTP_ETOOBIG when cap is too small;
 *         #ZTP_EPARSE, #ZTP_EMISMATCH for a corrupt manifest or
 *         credential (ztp_lite_error() names it); a port's code.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_status(ztp_lite *dev, char *buf, size_t cap);

/**
 * The detail of the handle's last failure.
 * @param dev the handle
 * @return a string owned by the handle, valid until its next call; ""
 *         when nothing failed or dev is NULL.
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_lite_error(const ztp_lite *dev);

/**
 * The wire error code of the server's last refusal ("bad_signature", ...;
 * doc/PROTOCOL.md §6).
 * @param dev the handle
 * @return a string owned by the handle; "" when there was none.
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_lite_server_error(const ztp_lite *dev);

/**
 * A counter of the handle since ztp_lite_new().
 * @param dev the handle
 * @param which a ::ztp_lite_stat
 * @return the counter; 0 for a NULL handle or an unknown counter.
 * @since 0.1.0
 */
ZTP_EXTERN uint64_t ztp_lite_counter(const ztp_lite *dev, int which);

/**
 * The time floor in effect: the latest of the build time and the
 * authenticated server times seen, as kept in storage.
 * @param dev the handle
 * @param[out] floor seconds since the epoch
 * @return #ZTP_OK, #ZTP_EINVAL, or a storage port's code.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_time_floor(ztp_lite *dev, int64_t *floor);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_PORT_H */
