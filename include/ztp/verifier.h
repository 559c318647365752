/*
 * libztp — bootstrap verifier API (server side of the protocol).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_VERIFIER_H
#define ZTP_VERIFIER_H

/**
 * @file verifier.h
 * @brief The server side of the provisioning protocol: checks a device's
 * factory identity, hands out single-use challenges, verifies the proof of
 * possession and the CSR, and issues short-lived bootstrap certificates.
 *
 * The caller supplies the HTTP server: ztp_verifier_handle() maps an
 * endpoint name, a request body and the TLS peer certificate of the
 * connection to an HTTP status and a JSON response body. The wire format,
 * the transcript and every error code are described in ztp-protocol(7).
 *
 * **Thread safety.** Configure a handle (ztp_verifier_load_config() and the
 * `ztp_verifier_set_*()` calls) from one thread before it is shared. After
 * that, ztp_verifier_handle(), ztp_verifier_check_cert(),
 * ztp_verifier_enroll(), ztp_verifier_claim(), ztp_verifier_reset(),
 * ztp_verifier_revoke(), ztp_verifier_stats() and ztp_verifier_metrics()
 * may be called from many threads at once. Configuration calls must not
 * run concurrently with any
 * other call on the same handle.
 */

#include <stddef.h>
#include <stdint.h>

#include <ztp/ca.h>
#include <ztp/common.h>
#include <ztp/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque verifier handle. @since 0.1.0 */
typedef struct ztp_verifier ztp_verifier;

/** Default lifetime of a bootstrap certificate: 24 hours. @since 0.1.0 */
#define ZTP_VERIFIER_DEFAULT_BOOTSTRAP_LIFETIME 86400
/** Default clock-skew leeway applied to every validity window. @since 0.1.0 */
#define ZTP_VERIFIER_DEFAULT_LEEWAY 60
/** Default challenge lifetime. @since 0.1.0 */
#define ZTP_VERIFIER_DEFAULT_CHALLENGE_TTL 300
/** Default number of intermediate CAs allowed between a factory
 *  certificate and its trust anchor. @since 0.1.0 */
#define ZTP_VERIFIER_DEFAULT_MAX_DEPTH 3
/** Default request body size limit (64 KiB). @since 0.1.0 */
#define ZTP_VERIFIER_DEFAULT_MAX_REQUEST 65536
/** Default rotation overlap: how long a superseded operational
 *  certificate stays valid after its successor was issued (24 hours).
 *  @since 0.1.0 */
#define ZTP_VERIFIER_DEFAULT_ROTATION_OVERLAP 86400
/** Longest rotation overlap accepted (30 days). @since 0.1.0 */
#define ZTP_VERIFIER_MAX_ROTATION_OVERLAP (30 * 86400)
/** Shortest HMAC secret accepted for challenges, in bytes. @since 0.1.0 */
#define ZTP_VERIFIER_HMAC_MIN 32

/**
 * Create a verifier with the defaults: bootstrap lifetime 24 h, leeway
 * 60 s, challenge TTL 300 s, chain depth 3, key policy
 * `ec-p256,ec-p384,ed25519,rsa-2048`, request limit 64 KiB, per-device
 * rate limit 1 request per 5 s with a burst of 10, global rate limit
 * 500 requests/s with a burst of 1000, the system clock, and a random
 * 32-byte challenge secret (challenges are then only valid on this
 * handle: configure a shared secret when several instances serve the same
 * devices). Trust anchors, issuing CAs, the device CA and the store must be
 * configured before bootstrap requests succeed.
 * @param[out] out the new handle, freed with ztp_verifier_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM, #ZTP_ECRYPTO.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_new(ztp_verifier **out);

/**
 * Free a verifier, wiping its challenge secret. Accepts NULL. A CA or store
 * that was passed in with ztp_verifier_set_ca() / ztp_verifier_set_store()
 * is not freed; those opened by ztp_verifier_load_config() are.
 * @param v the handle, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_verifier_free(ztp_verifier *v);

/**
 * Configure the verifier from a JSON file (see ztp-verify.json(5)). The
 * schema is closed: unknown keys, wrong types and out-of-range values are
 * refused. Relative file names and `sqlite:` paths are resolved against
 * the directory of the configuration file. The device CA and the store it
 * names are opened and owned by the verifier.
 * On failure the handle may be partly configured: free it.
 * @param v    the handle
 * @param path borrowed for the call; the file is at most 1 MiB
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EIO, #ZTP_EPARSE, #ZTP_ETOOBIG,
 *         #ZTP_ESTATE (already configured from a file), and the codes of
 *         the setters, ztp_ca_load_files() and ztp_store_open().
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_load_config(ztp_verifier *v, const char *path);

/**
 * Set the manufacturer trust anchors (replacing earlier ones): 1 to 256
 * PEM certificates. Factory certificates must chain to one of them. They
 * are parsed and indexed once here.
 * @param v       the handle
 * @param pem,len borrowed for the call
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EPARSE, #ZTP_ETOOBIG, #ZTP_ENOMEM,
 *         #ZTP_ECRYPTO.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_trust_anchors(ztp_verifier *v, const char *pem,
					      size_t len);

/**
 * Set the allowlist of CAs that may sign factory certificates (replacing
 * an earlier one): 1 to 256 PEM certificates, matched byte for byte
 * against the certificate that issued the factory certificate in the
 * validated chain. They also serve as path-building hints; they are never
 * trust anchors.
 * @param v       the handle
 * @param pem,len borrowed for the call
 * @return as ztp_verifier_set_trust_anchors().
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_issuers(ztp_verifier *v, const char *pem,
					size_t len);

/**
 * Set the device CA that issues bootstrap certificates.
 * @param v  the handle
 * @param ca a loaded CA handle; borrowed: it must outlive the verifier.
 *           Its store should be the verifier's store.
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_ca(ztp_verifier *v, ztp_ca *ca);

/**
 * Set the registry store (devices, single-use challenges, event log).
 * @param v     the handle
 * @param store borrowed: it must outlive the verifier
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_store(ztp_verifier *v, ztp_store *store);

/**
 * Publish the device CA's CRL to a file on every revocation: after
 * ztp_verifier_revoke(), after ztp_verifier_reset(), whenever a superseded
 * certificate whose rotation overlap ended is revoked (on its device's
 * request, before the `crl` endpoint answers, in ztp_verifier_maintain()),
 * and on every ztp_verifier_maintain() call. Each time a CRL is made as
 * ztp_ca_crl() does (nextUpdate in 7 days, the next CRL number) and
 * replaces the file atomically, mode 0644, while holding flock() on
 * `<path>.lock` (created 0644 if missing), so writers in several
 * threads and processes sharing the store (`ztp-verify revoke` beside a
 * server) leave the file at the newest CRL. A broker that watches the
 * file, like the libztp Mosquitto plugin, drops the revoked devices.
 * If the file cannot be written, ztp_verifier_revoke(), ztp_verifier_reset()
 * and ztp_verifier_maintain() fail (the revocation itself is recorded:
 * call again); a request or the `crl` endpoint still succeeds and a
 * `crl_file` event with result `rejected` is emitted.
 * Needs a device CA and a store.
 * @param v    the handle
 * @param path the file, copied; NULL stops publishing (the default)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_crl_file(ztp_verifier *v, const char *path);

/**
 * Set the lifetime of bootstrap certificates.
 * @param v       the handle
 * @param seconds 60..86400 (the `bootstrap` profile's maximum)
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_bootstrap_lifetime(ztp_verifier *v,
						   int64_t seconds);

/**
 * Set the lifetime of operational certificates (`credentials`, `rotate`).
 * @param v       the handle
 * @param seconds 3600..315360000 (10 years); the default is the
 *        `operational` profile's (365 days)
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_operational_lifetime(ztp_verifier *v,
						     int64_t seconds);

/**
 * Set the rotation overlap. An operational certificate is superseded when
 * the device is issued a newer one (`rotate`, or `credentials` again); it
 * stays valid for this many seconds after the newer one was issued, so
 * that a device that lost power before switching to its new credential
 * can still use the old one, and is then refused and revoked (reason
 * superseded, revocation time the end of the overlap). The overlap is
 * counted from the newer certificate's `issued_at` in the store and
 * compared with the verifier's clock: a store given with
 * ztp_verifier_set_store() should keep the same time (ztp_store_set_clock()
 * when the clock is injected). Revocation is
 * written lazily — on the device's next request, before the `crl`
 * endpoint answers, and by ztp_verifier_maintain() — but authentication
 * refuses a certificate past its overlap whether or not that has
 * happened yet.
 * @param v       the handle
 * @param seconds 0..#ZTP_VERIFIER_MAX_ROTATION_OVERLAP; 0 ends the old
 *        certificate's validity as soon as the new one is issued;
 *        default #ZTP_VERIFIER_DEFAULT_ROTATION_OVERLAP
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_rotation_overlap(ztp_verifier *v,
						 int64_t seconds);

/**
 * Set the clock-skew leeway: certificate validity windows and challenge
 * lifetimes are widened by this many seconds on both ends.
 * @param v       the handle
 * @param seconds 0..3600
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_clock_leeway(ztp_verifier *v, int64_t seconds);

/**
 * Set how long a challenge stays valid after it was issued.
 * @param v       the handle
 * @param seconds 10..3600
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_challenge_ttl(ztp_verifier *v, int64_t seconds);

/**
 * Set the largest number of intermediate CA certificates allowed between a
 * factory certificate and its trust anchor.
 * @param v     the handle
 * @param depth 0..8
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_max_chain_depth(ztp_verifier *v, int depth);

/**
 * Set the key types accepted in CSRs: a comma-separated list of `ec-p256`,
 * `ec-p384`, `ed25519` and `rsa-N` (RSA of at least N bits, N >= 2048).
 * @param v    the handle
 * @param spec borrowed for the call
 * @return #ZTP_OK or #ZTP_EINVAL (the policy is then unchanged).
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_key_policy(ztp_verifier *v, const char *spec);

/**
 * Set the request body size limit; larger bodies get `request_too_large`.
 * @param v     the handle
 * @param bytes 1024..1048576
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_max_request_size(ztp_verifier *v, size_t bytes);

/**
 * Configure a token bucket.
 * @param v      the handle
 * @param scope  `"device"` (one bucket per device ID for `challenge` and
 *               `bootstrap`), `"lifecycle"` (one bucket per device for
 *               `register`, `credentials`, `rotate` and `assignment`, the
 *               device taken from its authenticated TLS client
 *               certificate; default 0.1/s, burst 20) or `"global"` (one
 *               for all requests, taken before a request is parsed).
 *               Per-device buckets are kept in the store
 *               (ztp_store_limit_take()), so they hold across processes
 *               and instances sharing it; without a store, in a table of
 *               at most 4096 buckets in this handle. The global bucket
 *               protects this process's CPU and is kept in its memory.
 * @param rate   tokens added per second, 0 < rate <= 1000000; or 0 to
 *               disable this limit
 * @param burst  bucket size, 1..1000000 (ignored when rate is 0)
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_rate_limit(ztp_verifier *v, const char *scope,
					   double rate, double burst);

/**
 * Set the secret that authenticates challenges. Every verifier instance
 * that serves the same devices must share it.
 * @param v the handle
 * @param secret,len at least #ZTP_VERIFIER_HMAC_MIN and at most 1024
 *                   bytes; copied
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_hmac_secret(ztp_verifier *v,
					    const uint8_t *secret, size_t len);

/**
 * Replace the clock used for challenges, validity checks, rate limits and
 * events.
 * @param v    the handle
 * @param fn   the clock, or NULL for the system clock
 * @param ctx  passed to fn; borrowed, must outlive the handle
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call; fn must be safe to call from
 *      several threads when the handle is shared.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_clock(ztp_verifier *v, ztp_clock_fn fn,
				      void *ctx);

/**
 * Receive one JSON event per decision (see ztp-protocol(7), "Events").
 * @param v    the handle
 * @param fn   the callback, or NULL to stop
 * @param ctx  passed to fn; borrowed, must outlive the handle (or the
 *             next call of this function)
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call; fn is called on the thread that
 *      handles the request and must not call back into the verifier.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_event_callback(ztp_verifier *v, ztp_event_fn fn,
					       void *ctx);

/**
 * Serve one request.
 * @param v                 a configured handle
 * @param[out] http_status    the HTTP status to send (200, 4xx, 5xx)
 * @param[out] response_json  the response body, freed with ztp_free();
 *                            an error response is
 *                            `{"error":{"code":"…","message":"…"}}` with
 *                            `"retry_after":N` for `rate_limited`
 * @param endpoint       `"challenge"`, `"bootstrap"`, `"register"`,
 *                       `"credentials"`, `"rotate"`, `"assignment"` or
 *                       `"crl"`; other names get 404 `unknown_endpoint`.
 *                       The lifecycle endpoints authenticate the device
 *                       by peer_cert_pem (a certificate this verifier's
 *                       device CA issued).
 * @param body,body_len  the request body (need not be NUL-terminated);
 *                       borrowed for the call. body may be NULL when
 *                       body_len is 0.
 * @param peer_cert_pem,peer_cert_len  the PEM certificate the client
 *                       presented in the TLS handshake, or NULL/0;
 *                       borrowed for the call
 * @return #ZTP_OK whenever a response was produced, including an error
 *         response; #ZTP_EINVAL for invalid arguments and #ZTP_ENOMEM when
 *         not even an error response could be built (then no output is
 *         set).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_handle(ztp_verifier *v, int *http_status,
				   char **response_json, const char *endpoint,
				   const char *body, size_t body_len,
				   const char *peer_cert_pem,
				   size_t peer_cert_len);

/**
 * Check one certificate against the device identity profile, without the
 * registry: the chain to a trust anchor, the issuer allowlist, the depth
 * limit, the validity window with the leeway, basicConstraints CA:FALSE,
 * keyUsage digitalSignature, extendedKeyUsage clientAuth and the device ID
 * in the subject (see ztp-verify(1), `check-cert`).
 * @param v the handle
 * @param[out] result_json  when a decision was made (accepted or
 *             rejected): `{"result":"accepted","device_id":…,
 *             "fingerprint":…,"not_before":…,"not_after":…,"depth":N}` or
 *             `{"result":"rejected","code":"…","message":"…"}`; freed with
 *             ztp_free(). May be NULL if not wanted.
 * @param cert_pem,cert_len            the certificate (one PEM block);
 *             borrowed for the call
 * @param untrusted_pem,untrusted_len  0 to 8 PEM certificates that may
 *             help build the path (never trusted), or NULL/0; borrowed
 *             for the call
 * @param at_time  the time to check at (seconds since the epoch), or 0 for
 *             the verifier's clock
 * @return #ZTP_OK when accepted; when rejected the code of the failed
 *         check: #ZTP_EPARSE, #ZTP_ETOOBIG, #ZTP_EUNTRUSTED, #ZTP_EPROFILE,
 *         #ZTP_EEXPIRED, #ZTP_EMISMATCH; #ZTP_ESTATE when no trust anchors
 *         or issuers are configured; #ZTP_EINVAL, #ZTP_ENOMEM,
 *         #ZTP_ECRYPTO (then result_json is not set).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_check_cert(ztp_verifier *v, char **result_json,
				       const char *cert_pem, size_t cert_len,
				       const char *untrusted_pem,
				       size_t untrusted_len, int64_t at_time);

/**
 * Record a manufactured device: checks its factory certificate with
 * ztp_verifier_check_cert() (at the verifier's clock), requires the device
 * ID it names to be device_id, stores the device with the certificate's
 * SHA-256 fingerprint, and sets a fresh one-time claim code of which only
 * the SHA-256 hash is stored.
 * @param v the handle
 * @param[out] claim_code  the claim code, 160 random bits as 8 groups of 4
 *             base32 characters (`ABCD-EFGH-…`), freed with ztp_free();
 *             it is shown once and cannot be recovered
 * @param device_id        validated with ztp_id_validate(); borrowed for
 *                         the call
 * @param cert_pem,cert_len the factory certificate (PEM); borrowed for the
 *                         call
 * @param model,batch      free text or NULL (see ztp_store_device_add());
 *                         borrowed for the call
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (no store), #ZTP_EMISMATCH
 *         (the certificate names another device), #ZTP_EEXISTS, the codes
 *         of ztp_verifier_check_cert(), #ZTP_ESTORE, #ZTP_ENOMEM.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_enroll(ztp_verifier *v, char **claim_code,
				   const char *device_id, const char *cert_pem,
				   size_t cert_len, const char *model,
				   const char *batch);

/**
 * Activate a device: if claim_code is the device's pending claim code,
 * bind the device to tenant and move it to state `active`, consuming the
 * code (single use). The code is compared by its SHA-256 hash in constant
 * time; case, `-` and spaces in it are ignored. Attempts are rate-limited
 * per device (5, then one a minute), counted in the store in the same
 * transaction as the claim (ztp_store_claim_attempt()), so the limit holds
 * across processes and instances sharing the store; and overall (100 a
 * second, in this handle's memory).
 * Emits a `claim` event.
 * @param v the handle
 * @param device_id        validated with ztp_id_validate(); borrowed for
 *                         the call
 * @param claim_code       as printed at enrollment; borrowed for the call
 * @param tenant           validated with ztp_id_validate(); borrowed for
 *                         the call
 * @return #ZTP_OK, #ZTP_EINVAL (malformed argument or code), #ZTP_ENOTFOUND
 *         (no such device, or no pending claim: already claimed),
 *         #ZTP_EMISMATCH (wrong code), #ZTP_ESTATE (device revoked; or no
 *         store configured), #ZTP_ERATELIMIT, #ZTP_ESTORE.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_claim(ztp_verifier *v, const char *device_id,
				  const char *claim_code, const char *tenant);

/**
 * Reprovision a device: clear its tenant binding (state `reset`), revoke
 * its bootstrap and operational certificates (reason
 * affiliationChanged), and give it a fresh claim code for its next owner.
 * The device bootstraps again with its factory certificate. Repeating a
 * reset that failed part-way is safe. Emits a `reset` event.
 * @param v the handle
 * @param[out] claim_code the new code, freed with ztp_free(); shown once
 * @param device_id       the device; borrowed for the call
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOTFOUND, #ZTP_ESTATE (device revoked,
 *         or changed state concurrently; or no store), #ZTP_ESTORE,
 *         #ZTP_ENOMEM; with ztp_verifier_set_crl_file(), the codes of
 *         writing the CRL file (#ZTP_EIO, #ZTP_ECRYPTO, ...): the reset
 *         is recorded but no code is returned, reset again.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_reset(ztp_verifier *v, char **claim_code,
				  const char *device_id);

/**
 * Block a device for good: state `revoked` (bootstrap is refused with
 * `device_blocked` from then on, the tenant binding is cleared) and every
 * certificate recorded for it revoked (reason privilegeWithdrawn).
 * Idempotent. Emits a `revoke` event.
 * @param v         the handle
 * @param device_id the device; borrowed for the call
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOTFOUND, #ZTP_ESTATE (no store),
 *         #ZTP_ESTORE; with ztp_verifier_set_crl_file(), the codes of
 *         writing the CRL file (#ZTP_EIO, #ZTP_ECRYPTO, ...): the
 *         revocation is recorded, call again to publish it.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_revoke(ztp_verifier *v, const char *device_id);

/**
 * Revoke the superseded operational certificates whose rotation overlap
 * (ztp_verifier_set_rotation_overlap()) has ended, for every device the
 * verifier knows to hold one: those it issued to since it was created and
 * those named by `credentials` and `rotate` events in the store's event
 * log. Needs no thread: call it from a timer, a cron job (`ztp-verify
 * maintain`) or before publishing a CRL; the `crl` endpoint calls it
 * itself. Each revocation is dated the end of the overlap. With
 * ztp_verifier_set_crl_file() it then rewrites the CRL file, also when
 * nothing was revoked (a fresh nextUpdate): call it well within 7 days.
 * @param v the handle
 * @param[out] revoked number of certificates revoked by this call (may be
 *             NULL)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (no store), #ZTP_ESTORE,
 *         #ZTP_ENOMEM, and the codes of writing the CRL file. On failure
 *         the devices not done are kept for the next call.
 * @par Thread safety: safe on a configured handle; concurrent calls are
 *      serialised.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_maintain(ztp_verifier *v, uint64_t *revoked);

/**
 * Counters since the handle was created, as JSON:
 * `{"requests":N,"challenges":N,"bootstraps":N,"accepted":N,"rejected":N,
 * "events_suppressed":N,"rejected_by_code":{"<code>":N,…}}`. They count
 * every request; `events_suppressed` counts refusals whose event was not
 * written to the store's log (PROTOCOL.md §7).
 * @param v the handle
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_stats(ztp_verifier *v, char **json);

/**
 * Metrics in the Prometheus text exposition format, version 0.0.4
 * (serve it with `Content-Type: text/plain; version=0.0.4`). Families:
 * - `ztp_requests_total{endpoint,code}` counter: requests to
 *   ztp_verifier_handle() by endpoint (`unknown` for a name that is none)
 *   and wire code (`ok` when accepted);
 * - `ztp_request_duration_seconds{endpoint}` histogram: the time
 *   ztp_verifier_handle() took (monotonic clock), buckets 0.5 ms to 5 s;
 * - `ztp_rate_limited_total{scope}` counter: refusals by a rate limit,
 *   scope `global`, `device`, `lifecycle`, `claim` or `claim_global`
 *   (ztp_verifier_claim()'s own global bucket);
 * - `ztp_store_errors_total{op}` counter: store failures while serving a
 *   `request`, appending to the `event_log`, or reading `gauges`;
 * - `ztp_certificates_issued_total{profile}` counter (`bootstrap`,
 *   `operational`);
 * - `ztp_events_suppressed_total` counter (as in ztp_verifier_stats());
 * - with a store: `ztp_store_up` gauge (0 when this scrape could not read
 *   it), `ztp_devices{state}` gauge, and
 *   `ztp_certificates_expiring{profile,within}` gauge: certificates not
 *   revoked whose notAfter is within `7d` or `30d` of the verifier's
 *   clock. Both are read at each call with ztp_store_device_count() and
 *   ztp_store_cert_count_expiring(), which the built-in `sqlite:` backend
 *   answers from counters kept on write and from an index, not by reading
 *   the registry; a store whose backend lacks them leaves the family out.
 * Counters start at 0 when the handle is created and are per handle
 * (per process): Prometheus sums instances.
 * @param v the handle
 * @param[out] text the exposition, NUL-terminated; freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM. A store failure is not an
 *         error of this call: it shows as `ztp_store_up 0`.
 * @par Thread safety: safe; counting takes no lock on the request path.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_metrics(ztp_verifier *v, char **text);

/** Largest OCSP request ztp_verifier_ocsp() reads, bytes of DER.
 * @since 0.1.0 */
#define ZTP_VERIFIER_OCSP_REQUEST_MAX 8192
/** Most certificates one OCSP request may ask about. @since 0.1.0 */
#define ZTP_VERIFIER_OCSP_CERTS_MAX 16

/**
 * Answer one OCSP request (RFC 6960) about certificates of the device CA,
 * from the registry: `good` for a certificate the store records as issued
 * by this CA (or of unknown issuer, as on the CRL) and not revoked,
 * `revoked` with its revocation time and reason (none for `unspecified`),
 * `unknown` for any other serial. thisUpdate is the verifier's clock,
 * nextUpdate that plus ztp_verifier_set_ocsp_next_update(); a nonce in
 * the request (1 to 32 octets) is copied into the response. The response
 * is signed by the delegated signer of ztp_verifier_set_ocsp_signer(),
 * which it carries, or else by the CA key, and names its responder by key
 * hash.
 *
 * A request that cannot be answered still gets an OCSPResponse, without
 * response bytes: `malformedRequest` for anything that is not one DER
 * OCSPRequest (trailing bytes included), over
 * #ZTP_VERIFIER_OCSP_REQUEST_MAX bytes, with 0 or more than
 * #ZTP_VERIFIER_OCSP_CERTS_MAX certificates, or with a nonce that is
 * empty, over 32 octets or given twice; `unauthorized` when a certificate
 * asked about is not the device CA's (issuer name or key hash differ, or
 * a hash algorithm OpenSSL does not know); `tryLater` when the global rate
 * limit refuses it or the store fails; `internalError` without a device
 * CA and store. Request signatures are not required and not checked.
 * Serve the response with HTTP 200 and `Content-Type:
 * application/ocsp-response`, for POST bodies of type
 * `application/ocsp-request` and for GET `…/ocsp/<base64 of the DER,
 * URL-encoded>` (RFC 6960 A.1) alike. Counted in the metrics as endpoint
 * `ocsp`; no events are written (answers change nothing).
 * @param v a handle with a device CA and a store
 * @param[out] response_der,response_len the DER OCSPResponse, freed with
 *             ztp_free()
 * @param request_der,request_len the DER request as received; borrowed
 *             for the call; NULL/0 is a malformed request
 * @return #ZTP_OK whenever a response was produced, including an error
 *         response; #ZTP_EINVAL, #ZTP_ENOMEM (no output then).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_ocsp(ztp_verifier *v, uint8_t **response_der,
				 size_t *response_len,
				 const uint8_t *request_der,
				 size_t request_len);

/**
 * Sign OCSP responses with a delegated responder certificate instead of
 * the device CA's key (RFC 6960 4.2.2.2), e.g. one from ztp_ca_issue_ocsp()
 * (`ztp-ca issue --profile ocsp`). It must be issued by the device CA
 * (set it first: ztp_verifier_set_ca() forgets the signer), carry
 * extendedKeyUsage id-kp-OCSPSigning and not be a CA. Its validity is not
 * checked here: renew it before it expires (clients refuse responses it
 * signed after that).
 * @param v the handle
 * @param cert_pem,cert_len one PEM certificate; borrowed for the call
 * @param key_pem,key_len   its unencrypted PEM private key; borrowed
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (no device CA), #ZTP_EPARSE,
 *         #ZTP_EMISMATCH (key and certificate differ), #ZTP_EUNTRUSTED
 *         (not issued by the device CA), #ZTP_EPROFILE (no OCSPSigning, or
 *         a CA), #ZTP_ENOMEM. Both NULL: sign with the CA again.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_ocsp_signer(ztp_verifier *v,
					    const char *cert_pem,
					    size_t cert_len,
					    const char *key_pem,
					    size_t key_len);

/**
 * Set how long OCSP answers stay valid: nextUpdate = thisUpdate + seconds.
 * @param v       the handle
 * @param seconds 60..604800 (7 days); default 3600
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_ocsp_next_update(ztp_verifier *v,
						 int64_t seconds);

/**
 * Sign checkpoints of the store's audit chain with this key (doc/AUDIT.md).
 * Every event the store appends carries the hash of the one before it;
 * after an append, when ztp_verifier_set_audit_checkpoint()'s count of
 * events or seconds since the last checkpoint is reached, the verifier
 * signs (seq, chain head, time) with the audit key and stores it. The
 * event is durable before its checkpoint: a crash between the two loses
 * no event, and the next checkpoint covers it.
 * @param v       the handle
 * @param key_ref `file:PATH` or a path of a PEM private key (P-256,
 *                P-384, Ed25519, RSA); other schemes (`pkcs11:`) answer
 *                #ZTP_EUNSUPPORTED in this build; NULL stops signing
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EUNSUPPORTED, #ZTP_ENOTFOUND,
 *         #ZTP_EIO, #ZTP_EPARSE, #ZTP_ENOMEM.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_audit_key(ztp_verifier *v, const char *key_ref);

/**
 * Set when checkpoints are due: after every_events events, or when
 * every_seconds have passed since the last one and an event is appended.
 * @param v             the handle
 * @param every_events  1..1000000 (default 100)
 * @param every_seconds 1..86400 (default 300)
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_audit_checkpoint(ztp_verifier *v,
						 int64_t every_events,
						 int64_t every_seconds);

/**
 * Sign a checkpoint of the chain head now, if any event came after the
 * last one (`ztp-verify audit checkpoint`; ztp_verifier_maintain() does
 * it too when a key is set).
 * @param v a handle with a store and an audit key
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (no store or key),
 *         #ZTP_EUNSUPPORTED (a caller's store backend keeps no chain),
 *         #ZTP_ESTORE, #ZTP_ENOMEM, #ZTP_ECRYPTO.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_audit_checkpoint(ztp_verifier *v);

/**
 * Walk the store's audit chain and checkpoints from event from + 1 (0:
 * from the first, which must be event 1 with the genesis hash) and report
 * the first event that was modified, deleted, inserted or reordered, and
 * whether the log was truncated after the last checkpoint, as JSON:
 * `{"result":"ok"|"tampered","events":N,"first_seq":N,"last_seq":N,
 * "checkpoints":N,"last_checkpoint":N,"unsigned_events":N,
 * "problem":{"kind":…,"seq":N,"message":…}}`, kind one of `modified`,
 * `deleted`, `inserted`, `reordered`, `truncated`, `forged_checkpoint`,
 * `bad_checkpoint`. An event changed with its hash and every later hash
 * recomputed is found by the next checkpoint and reported at it.
 * `unsigned_events` are chained but after the last checkpoint: their
 * truncation cannot be told from their never having been written.
 * @param v            a handle with a store
 * @param from         0, or the seq after which to start
 * @param pubkey_pem,pubkey_len the audit public key (PEM
 *                     SubjectPublicKeyInfo), or NULL/0 for the public
 *                     half of the handle's audit key; borrowed
 * @param[out] report_json freed with ztp_free()
 * @return #ZTP_OK when intact, #ZTP_EMISMATCH when tampered (the report is
 *         set either way); #ZTP_EINVAL, #ZTP_ESTATE, #ZTP_EUNSUPPORTED,
 *         #ZTP_EPARSE (key), #ZTP_ESTORE, #ZTP_ENOMEM.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_audit_verify(ztp_verifier *v, int64_t from,
					 const char *pubkey_pem,
					 size_t pubkey_len, char **report_json);

/**
 * The audit log as JSON lines, for offline verification: first every
 * checkpoint after from, `{"type":"checkpoint","seq":N,"at":T,
 * "head":"<hex>","sig":"<base64>","key_id":"<hex>"}`, then every event
 * after from in seq order, `{"type":"event","seq":N,"at":T,
 * "json":"<the stored event text>","prev":"<hex>","hash":"<hex>"}`.
 * @param v          a handle with a store
 * @param from       0, or the seq after which to start
 * @param[out] jsonl NUL-terminated, freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE, #ZTP_EUNSUPPORTED,
 *         #ZTP_ESTORE, #ZTP_ENOMEM.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_audit_export(ztp_verifier *v, int64_t from,
					 char **jsonl);

/**
 * Verify an export of ztp_verifier_audit_export() without a store or a
 * verifier handle: the same walk and report as ztp_verifier_audit_verify().
 * @param jsonl,len   the export; borrowed
 * @param from        as the export was made (0: from the first event)
 * @param pubkey_pem,pubkey_len the audit public key (PEM); borrowed
 * @param[out] report_json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EMISMATCH (tampered), #ZTP_EPARSE (not an export),
 *         #ZTP_EINVAL, #ZTP_ENOMEM.
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_audit_verify_export(const char *jsonl, size_t len,
						int64_t from,
						const char *pubkey_pem,
						size_t pubkey_len,
						char **report_json);

/**
 * Every wire error code this version can return, with its HTTP status, as
 * a JSON array `[{"code":"…","status":N},…]` (for documentation and tests).
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_error_codes(char **json);

/* ------------------------------------------------------------ approval */

/** Most bytes of a verdict an approval hook writes (without its NUL).
 * @since 0.1.0 */
#define ZTP_HOOK_VERDICT_MAX 4096

/**
 * An approval hook: the caller's own rules, asked before anything is
 * issued at `bootstrap` and `credentials` and before a claim binds a
 * device (ztp_verifier_set_hook()).
 *
 * context_json is `{"version":1,"event":"bootstrap"|"credentials"|"claim",
 * "device_id":…,"state":…,"tenant":…|null}` plus, at bootstrap,
 * `"fingerprint"` (SHA-256 of the factory certificate) and, for a device
 * an enrollment group admits, `"group"`. At claim, `tenant` is the tenant
 * claiming it.
 *
 * The hook writes its verdict, one JSON object, NUL-terminated, into
 * verdict (verdict_cap bytes, #ZTP_HOOK_VERDICT_MAX + 1) and returns its
 * length: `{"decision":"allow"}`; `{"decision":"allow","tenant":T,
 * "attributes":{…}}` (bootstrap and credentials: an unbound device is
 * bound to tenant T and becomes `active`; attributes, at most 2 KiB, are
 * recorded in a durable `approval` event); or `{"decision":"deny",
 * "code":C,"message":M}` (code a wire code of doc/PROTOCOL.md §6, default
 * `approval_denied`; message printable ASCII, at most 200 bytes, sent to
 * the device). Anything else, a negative return, or a return after the
 * budget denies with `approval_failed` (fail closed) and an `approval`
 * event with result `failed`.
 *
 * Thread safety: called on the thread of the request, by as many threads
 * at once as serve requests; the hook must be thread-safe. It must not
 * call back into the verifier.
 * @param user         the pointer given to ztp_verifier_set_hook()
 * @param context_json borrowed for the call
 * @param verdict      where to write the verdict
 * @param verdict_cap  its size in bytes
 * @return the verdict's length, or a negative value for a failure
 * @since 0.1.0
 */
typedef int (*ztp_hook_fn)(void *user, const char *context_json, char *verdict,
			   size_t verdict_cap);

/**
 * Set (or, with fn NULL, remove) the approval hook.
 * @param v         the handle; configure before it serves requests
 * @param fn        the hook, or NULL
 * @param user      passed to fn; borrowed until the hook is replaced or
 *                  the handle freed
 * @param budget_ms the hook's time budget, 1..600000 ms (ignored for NULL):
 *                  a verdict that comes later denies
 * @return #ZTP_OK, #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_hook(ztp_verifier *v, ztp_hook_fn fn,
				     void *user, int64_t budget_ms);

/* ------------------------------------------------------------ brokers */

/**
 * Broker allocation: the MQTT broker endpoints devices are told to connect
 * to, as the member `"brokers": [URL, …]` of every `assignment` and
 * credentials (`credentials`, `rotate`) answer — a tenant's own list when
 * there is one for the device's tenant, else the default list; no member
 * when no list applies. The same as `brokers` in ztp-verify.json(5).
 * Devices of libztp before this member existed refuse answers that carry
 * it: set lists once the fleet's firmware knows it (doc/PROTOCOL.md §3a).
 * @param v            the handle; configure before it serves requests
 * @param brokers_json `{"default":[URL,…],"tenants":{"<tenant>":[URL,…]}}`
 *                     (each member optional; 1..8 URLs a list, each
 *                     mqtt://, mqtts://, ws:// or wss://, printable ASCII
 *                     without spaces, at most 255 bytes; at most 10000
 *                     tenants), or NULL to remove them; borrowed
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EPARSE, #ZTP_ETOOBIG, #ZTP_ENOMEM.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_brokers(ztp_verifier *v,
					const char *brokers_json);

/* ------------------------------------------------------------ device-CA
 * rollover */

/** Most device CAs accepted besides the active one. @since 0.1.0 */
#define ZTP_DEVICE_CAS_MAX 8

/**
 * Accept the bootstrap and operational certificates of another device CA
 * on the lifecycle endpoints, besides those of the active one (the CA of
 * ztp_verifier_set_ca(), which alone issues): the CA a rollover replaces,
 * for the devices that have not yet obtained a certificate of the new one.
 * Its certificate only; its key is not needed. The same as
 * `device_ca_previous` in ztp-verify.json(5). Everything else about a
 * presented certificate is checked as for the active CA's (on record, not
 * revoked, within its validity).
 * @param v   the handle; configure before it serves requests
 * @param pem one PEM certificate with basicConstraints CA:TRUE; borrowed
 * @param len its length
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EPARSE, #ZTP_EPROFILE (not a CA),
 *         #ZTP_EEXISTS (the active CA or already accepted),
 *         #ZTP_ETOOBIG (over #ZTP_DEVICE_CAS_MAX), #ZTP_ENOMEM.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_add_device_ca(ztp_verifier *v, const char *pem,
					  size_t len);

/**
 * Retire a device CA added with ztp_verifier_add_device_ca(): its
 * certificates are refused from then on (`untrusted_certificate`); a
 * device that still holds only such certificates bootstraps again with
 * its factory certificate.
 * @param v           the handle
 * @param fingerprint the SHA-256 of the CA certificate's DER, 64 hex
 *                    digits (`openssl x509 -noout -fingerprint -sha256`
 *                    without the colons)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOTFOUND (not accepted),
 *         #ZTP_ESTATE (the active CA: make another active first).
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_retire_device_ca(ztp_verifier *v,
					     const char *fingerprint);

/**
 * The trust bundle handed to devices: the CA certificates they should
 * verify the server (and brokers) with from now on, as the member
 * `"trust_bundle": [PEM, …]` of every `credentials`, `rotate` and
 * `assignment` answer. A device of libztp stores a bundle that differs
 * from the one it uses in its spare slot, makes a connection to the
 * server with it, and only then uses it (doc/PROTOCOL.md §3a). Devices of
 * libztp before this member existed refuse answers that carry it: set a
 * bundle once the fleet's firmware knows it. The same as `trust_bundle`
 * in ztp-verify.json(5).
 * @param v   the handle; configure before it serves requests
 * @param pem 1..8 PEM CA certificates, or NULL to remove the bundle;
 *            borrowed
 * @param len its length
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EPARSE, #ZTP_ETOOBIG,
 *         #ZTP_EPROFILE (not a CA certificate), #ZTP_ENOMEM.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_set_trust_bundle(ztp_verifier *v, const char *pem,
					     size_t len);

/* ------------------------------------------------------------ fleets */

/** Default records per transaction of ztp_verifier_import(). @since 0.1.0 */
#define ZTP_IMPORT_CHUNK_DEFAULT 1000

/**
 * Enroll manufactured devices in bulk from a file of JSON lines, one
 * device a line (doc/PROTOCOL.md "Bulk import"):
 * `{"device_id":"…","factory_cert":"<PEM>"}` or
 * `{"device_id":"…","fingerprint":"<64 hex>"}`, with optional `model`,
 * `batch` (text as for ztp_store_device_add()), `manufactured_at` (RFC
 * 3339; default: now) and `serial` (ignored, so that the output of
 * `ztp-ca issue-bulk` imports as it is). Blank lines are skipped.
 *
 * A factory certificate is checked as ztp_verifier_enroll() checks it
 * (chain, allowlist, validity, profile, the name it gives) and its key is
 * recorded; a fingerprint is taken on the file's word, the key is
 * recorded at the device's first bootstrap.
 *
 * Each device gets a fresh claim code, written as one line
 * `DEVICE_ID CODE` to claims_path, a new file (mode 0600; never an
 * existing one) that holds the only copies. Records are committed in
 * transactions of chunk devices; the codes of a chunk are written and
 * fsynced before its transaction commits, so every device enrolled has
 * its code on disk, whatever happens.
 *
 * Running the same file again is safe: a device already recorded with
 * the same fingerprint is skipped (no new code), one recorded with
 * another fingerprint is refused. A line that cannot be used is refused
 * with its number and changes nothing; the others go on.
 *
 * The summary is a JSON object `{"lines":N,"enrolled":N,"skipped":N,
 * "refused":N,"refusals":[{"line":N,"device_id":"…"|null,"code":"…",
 * "message":"…"},…],"refusals_truncated":bool}` (code: ztp_status_name();
 * at most #ZTP_BULK_REFUSALS_MAX listed). Lines are at most
 * #ZTP_BULK_LINE_MAX bytes. It is also set when the run
 * stops on an error, saying what was committed before. Emits one
 * `import` event with the counts.
 *
 * @param v            a configured handle with a store
 * @param[out] summary_json freed with ztp_free(); may be NULL on failure
 * @param input_path   the JSON lines file; borrowed for the call
 * @param claims_path  the claim code file to create; borrowed for the call
 * @param chunk        records per transaction, 1..1000; 0 for
 *                     #ZTP_IMPORT_CHUNK_DEFAULT
 * @param progress     NULL, or called after each chunk is committed
 * @param progress_ctx passed to progress
 * @return #ZTP_OK when every line was read (some may have been refused:
 *         see the summary), #ZTP_EINVAL, #ZTP_ESTATE (no store),
 *         #ZTP_EIO (input unreadable, claims file not writable),
 *         #ZTP_EEXISTS (claims_path exists), #ZTP_ESTORE, #ZTP_ENOMEM,
 *         #ZTP_EUNSUPPORTED (a caller's store backend without
 *         ztp_store_backend::device_enroll).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_import(ztp_verifier *v, char **summary_json,
				   const char *input_path,
				   const char *claims_path, size_t chunk,
				   ztp_progress_fn progress,
				   void *progress_ctx);

/**
 * The inventory of the verifier's store: ztp_store_device_list().
 * @param v the handle, with a store
 * @param[out] json        freed with ztp_free()
 * @param filter_json,after,max as for ztp_store_device_list()
 * @return the codes of ztp_store_device_list(), #ZTP_ESTATE (no store).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_device_list(ztp_verifier *v, char **json,
					const char *filter_json,
					const char *after, size_t max);

/**
 * Certificates of the verifier's store that expire before a time and
 * have not expired yet (by the verifier's clock):
 * ztp_store_cert_expiring() from now.
 * @param v the handle, with a store
 * @param[out] json        freed with ztp_free()
 * @param before           seconds since the epoch
 * @param after_time,after_serial,max as for ztp_store_cert_expiring()
 * @return the codes of ztp_store_cert_expiring(), #ZTP_ESTATE (no store).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_cert_expiring(ztp_verifier *v, char **json,
					  int64_t before, int64_t after_time,
					  const char *after_serial, size_t max);

/**
 * Add an enrollment group: devices that are not enrolled one by one, and
 * whose factory certificate the group's issuing CA signed, are enrolled
 * at their first accepted bootstrap (their certificate's fingerprint is
 * recorded then: trust on first use for that ID) and treated as enrolled
 * devices from then on. A device record always wins over a group. See
 * doc/SECURITY.md "Enrollment groups" for what a group trusts.
 *
 * The issuing CA must be one of the verifier's issuing CAs
 * (ztp_verifier_set_issuers()): a group never trusts a CA the verifier
 * does not; at most 100 groups per CA.
 * @param v          a configured handle with a store
 * @param group_json a JSON object: `group_id`, `issuer_cert` (PEM of the
 *                   issuing CA), and the optional members of
 *                   ztp_store_group_add() (`device_pattern`, `model`,
 *                   `batch`, `cap`, `expires_at`, `enabled`); borrowed
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EPARSE, #ZTP_EUNTRUSTED (not an
 *         issuing CA of the verifier), #ZTP_EEXISTS, #ZTP_ETOOBIG,
 *         #ZTP_ESTATE (no store), #ZTP_ESTORE, #ZTP_EUNSUPPORTED.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_group_add(ztp_verifier *v, const char *group_json);

/**
 * The verifier's groups: ztp_store_group_list() of every issuer.
 * @param v         the handle, with a store
 * @param[out] json freed with ztp_free()
 * @param after,max as for ztp_store_group_list()
 * @return the codes of ztp_store_group_list(), #ZTP_ESTATE (no store).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_group_list(ztp_verifier *v, char **json,
				       const char *after, size_t max);

/**
 * Enable (1) or disable (0) a group: ztp_store_group_set_enabled(). The
 * devices it enrolled already are not affected (revoke them one by one).
 * @param v        the handle, with a store
 * @param group_id borrowed for the call
 * @param enabled  1 or 0
 * @return the codes of ztp_store_group_set_enabled(), #ZTP_ESTATE.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_verifier_group_set_enabled(ztp_verifier *v,
					      const char *group_id,
					      int enabled);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_VERIFIER_H */
