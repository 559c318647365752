/*
 * libztp — device-side provisioning API.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_DEVICE_H
#define ZTP_DEVICE_H

/**
 * @file device.h
 * @brief The device side of the protocol: factory identity, operational key
 * generation, CSR, challenge signing, HTTPS with mutual TLS, retries and
 * atomic credential storage.
 *
 * A ::ztp_device is configured with setters or from a JSON file
 * (ztp-device.json(5)), then driven with ztp_device_bootstrap() and
 * ztp_device_status().
 *
 * Credentials live in a state directory, one sub-directory per kind
 * (`bootstrap/`, `operational/`), each with two slots (`a/`, `b/`) holding
 * `key.pem`, `cert.pem` and `chain.pem`, and a manifest `current.json`
 * naming the slot in use. A new credential is always built in the slot that
 * is not current and becomes current only by the atomic replacement of the
 * manifest, so power loss at any point leaves either the old credential or
 * the new one current, never a key without its certificate. See
 * ztp_device(3) for the full layout and the resume rules.
 *
 * Thread safety: a ::ztp_device belongs to one thread at a time; distinct
 * handles may be used concurrently. Two processes using the same state
 * directory are serialised by a lock file (the second gets #ZTP_ESTATE).
 */

#include <ztp/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque device handle. @since 0.1.0 */
typedef struct ztp_device ztp_device;

/**
 * Create a device handle with default settings: operational key type
 * `ec-p256`, connect timeout 10 s, request timeout 60 s, 5 attempts per
 * request, backoff base 1 s, backoff cap 60 s, Retry-After honoured up to
 * 300 s, system clock, no event callback. Nothing else is configured: the
 * server URL, CA bundle, factory identity and state directory must be set.
 * @param[out] out the new handle, freed with ztp_device_free()
 * @return #ZTP_OK, #ZTP_ENOMEM, #ZTP_ECRYPTO (initialisation failed),
 *         #ZTP_EINVAL (out is NULL).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_new(ztp_device **out);

/**
 * Free a device handle and wipe the key material it holds. Accepts NULL.
 * @param dev the handle, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_device_free(ztp_device *dev);

/**
 * Set the device ID. Optional: by default the ID is read from the factory
 * certificate (its subject CN). When both are present they must agree, or
 * ztp_device_bootstrap() fails with #ZTP_EMISMATCH.
 * @param dev       the handle
 * @param device_id checked with ztp_id_validate(); copied
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_id(ztp_device *dev, const char *device_id);

/**
 * Set the factory identity: the key that signs the bootstrap transcript and
 * authenticates the TLS connection, and its certificate.
 *
 * The key is named by a source URI so that hardware tokens can be added
 * without an API change:
 * - `file:PATH` (or `file:///PATH`): a PEM private key file (PKCS#8 or
 *   traditional EC/RSA, unencrypted). The key is loaded now and kept in
 *   memory; it is never written anywhere by the library.
 * - `tpm2:handle=0x81XXXXXX`: an EC P-256 or P-384 signing key at a
 *   persistent handle of a TPM 2.0, used through the tpm2-openssl OpenSSL
 *   provider: the transcript signature and the TLS client authentication
 *   are made by the TPM and the private key never leaves it. The TPM is
 *   the provider's TCTI (environment variable `TPM2OPENSSL_TCTI`, else
 *   `/dev/tpmrm0`); the key's authorisation value must be empty.
 *   #ZTP_ENOTFOUND when there is no key at the handle, #ZTP_EUNSUPPORTED
 *   when the provider or the TPM cannot be reached or the key is of another
 *   type. (Since 0.2.0.)
 * - `pkcs11:…` (RFC 7512): a private key in a PKCS#11 token, through
 *   libp11 (doc/HSM.md): `token=`, `object=` and/or `id=` select it,
 *   `pin-source=file:PATH` or `pin-value=` log in, `module-path=` names the
 *   module (default: `ZTP_PKCS11_MODULE`, else the one configure chose).
 *   The transcript signature and the TLS client authentication are made
 *   by the token. #ZTP_ENOTFOUND (no such key), #ZTP_ETOKEN (no module or
 *   token), #ZTP_EPIN (PIN refused), #ZTP_EPARSE (malformed URI).
 *   (Since 0.2.0.)
 *
 * @param dev         the handle
 * @param key_source  a key source URI as above; borrowed for the call
 * @param cert_path   a PEM file holding the factory certificate, optionally
 *                    followed by intermediate CA certificates (leaf first);
 *                    the intermediates are sent as the `factory_chain` hint
 *                    and as the TLS client chain; borrowed for the call
 * @return #ZTP_OK; #ZTP_EINVAL (malformed URI, unknown scheme);
 *         #ZTP_EUNSUPPORTED (no TPM provider; a build without PKCS#11);
 *         #ZTP_ENOTFOUND, #ZTP_ETOKEN, #ZTP_EPIN (as above); #ZTP_EIO
 *         (cannot read a file); #ZTP_EPARSE (not PEM);
 *         #ZTP_ETOOBIG; #ZTP_EMISMATCH (the key does not belong to the
 *         certificate); #ZTP_EPROFILE (the certificate names no valid device
 *         ID); #ZTP_ENOMEM. On failure the previous identity is kept.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_factory_identity(ztp_device *dev,
					       const char *key_source,
					       const char *cert_path);

/**
 * Set the server's base URL, e.g. `https://ztp.example.com:8443` or
 * `https://host/prefix`. Endpoints are reached at BASE`/ztp/v1/<endpoint>`.
 * Only `https` is accepted; user information, query and fragment are
 * refused; a trailing `/` is dropped.
 * @param dev the handle
 * @param url the base URL; copied
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_base_url(ztp_device *dev, const char *url);

/**
 * Set the CA bundle (PEM file) that authenticates the server. The system's
 * default trust store is never used: the bundle must be set, and it is the
 * only trust anchor for the server certificate. Host name verification is
 * always on.
 * @param dev  the handle
 * @param path copied; the file must exist and parse as 1..8 certificates
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_EIO, #ZTP_EPARSE, #ZTP_ETOOBIG,
 *         #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_ca_file(ztp_device *dev, const char *path);

/**
 * Set the type of the operational keys the device generates: `ec-p256`
 * (default), `ec-p384`, `ed25519`, `rsa-2048`, `rsa-3072` or `rsa-4096`.
 * @param dev  the handle
 * @param type the key type name; copied
 * @return #ZTP_OK, #ZTP_EINVAL (unknown type).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_key_type(ztp_device *dev, const char *type);

/**
 * Set the state directory where credentials are kept. It is created (mode
 * 0700) when first needed; an existing directory that is writable by group
 * or others is refused when used.
 * @param dev  the handle
 * @param path copied
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_state_dir(ztp_device *dev, const char *path);

/**
 * Generate the device's own keys (bootstrap and operational) in a PKCS#11
 * token instead of key files in the state directory.
 *
 * Each slot's key is an object pair made in the token (private key
 * sensitive and not extractable) labelled `LABEL-bootstrap-a`,
 * `LABEL-operational-b` and so on; the slot then holds only a reference
 * file (`key.ref`) naming the object, never the key. A rotation makes the
 * new key under the spare slot's label, probes the new certificate with
 * it, switches the manifest, and only then deletes the old key object;
 * a power loss at any point leaves one working key and certificate.
 *
 * @param dev       the handle
 * @param token_uri a `pkcs11:` URI (RFC 7512) naming the token and how to
 *                  log in (`token=`, `module-path=`, `pin-source=`,
 *                  `pin-value=`), without an object; NULL: key files
 *                  (the default); copied
 * @param label     label prefix of the objects (device ID grammar, at most
 *                  32 characters); NULL: `ztp`; copied
 * @return #ZTP_OK; #ZTP_EINVAL (not a pkcs11: URI, bad label);
 *         #ZTP_ENOMEM. The token itself is only reached when a key is
 *         made or used.
 * @since 0.2.0
 */
ZTP_EXTERN int ztp_device_set_key_store(ztp_device *dev, const char *token_uri,
					const char *label);

/**
 * Set the transport timeouts of each HTTP attempt.
 * @param dev        the handle
 * @param connect_ms TCP + TLS connection timeout, 1..600000 ms
 * @param total_ms   whole-request timeout, 1..600000 ms (>= connect_ms)
 * @return #ZTP_OK, #ZTP_EINVAL.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_timeouts(ztp_device *dev, int64_t connect_ms,
				       int64_t total_ms);

/**
 * Set the retry policy of each request. Before retry n (n = 0 for the first
 * retry) the device waits a uniformly random time in
 * [0, min(max_delay_ms, base_delay_ms * 2^n)] ("full jitter"), or, when a
 * 429/503 answer carries a `Retry-After` header or an `error.retry_after`
 * member, that many seconds bounded by max_retry_after_ms.
 * Network failures, 408, 429 and 5xx answers are retried; other 4xx
 * answers, TLS verification failures and malformed answers are not.
 * @param dev                the handle
 * @param max_attempts       1..100 (1: no retry)
 * @param base_delay_ms      1..3600000
 * @param max_delay_ms       base_delay_ms..3600000
 * @param max_retry_after_ms 0..86400000
 * @return #ZTP_OK, #ZTP_EINVAL.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_retry(ztp_device *dev, int max_attempts,
				    int64_t base_delay_ms, int64_t max_delay_ms,
				    int64_t max_retry_after_ms);

/**
 * Receive one JSON event per protocol step and per HTTP attempt (see
 * ztp_device(3) for the schema). Events never contain key material.
 * @param dev the handle
 * @param fn  callback, or NULL to stop; called on the calling thread
 * @param ctx passed to fn unchanged; borrowed, must outlive the handle
 *            (or the next call of this function)
 * @return #ZTP_OK, #ZTP_EINVAL.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_event_callback(ztp_device *dev, ztp_event_fn fn,
					     void *ctx);

/**
 * Set the clock used for certificate validity decisions and event times.
 * With `"clock": "untrusted"` in the configuration (ztp-device.json(5))
 * certificate checks use the time floor kept in the state directory
 * instead, and this clock stamps events only.
 * @param dev the handle
 * @param fn  clock, or NULL for the system clock
 * @param ctx passed to fn unchanged; borrowed, must outlive the handle
 *            (or the next call of this function)
 * @return #ZTP_OK, #ZTP_EINVAL.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_set_clock(ztp_device *dev, ztp_clock_fn fn,
				    void *ctx);

/**
 * Replace the handle's configuration with the contents of a JSON file (see
 * ztp-device.json(5)). The parser is strict: unknown members, wrong types,
 * out-of-range values and malformed JSON are errors. Settings absent from
 * the file take their defaults; the event callback and the clock are kept.
 * Relative paths in the file are relative to the file's directory. On any
 * failure the handle is left unchanged.
 * @param dev  the handle
 * @param path the file (at most 64 KiB); borrowed for the call
 * @return #ZTP_OK; #ZTP_ENOTFOUND or #ZTP_EIO (the file); #ZTP_EPARSE,
 *         #ZTP_EINVAL, #ZTP_ETOOBIG as ztp-device.json(5) says (the
 *         same reader as ztp_lite_openssl_new()'s), or any code of the
 *         setters.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_load_config(ztp_device *dev, const char *path);

/**
 * Bootstrap: generate an operational key, build a CSR naming the device,
 * fetch a challenge, sign the transcript with the factory key, and send it
 * over mutual TLS (factory certificate as client certificate). The returned
 * certificate must carry the generated key and name this device; it is
 * stored in the `bootstrap` slot that is not current, and then made
 * current atomically.
 *
 * A key generated by an interrupted earlier run and never certified is
 * reused. A certificate already received for it but not yet made current
 * (power lost between the two writes) is made current without contacting
 * the server.
 * @param dev the handle
 * @return #ZTP_OK; #ZTP_EDENIED (refused by the server, detail carries its
 *         error code and message); #ZTP_ENETWORK (transport or TLS failure,
 *         or 5xx after the last attempt); #ZTP_ERATELIMIT (429 after the
 *         last attempt); #ZTP_EPARSE, #ZTP_ETOOBIG (malformed answer);
 *         #ZTP_EMISMATCH (the certificate is for another key or device);
 *         #ZTP_EEXPIRED (it has already expired by the device clock, or
 *         the time floor); #ZTP_EINVAL (incomplete configuration);
 *         #ZTP_ESTATE (state directory locked by another process);
 *         #ZTP_EIO; #ZTP_ECRYPTO; #ZTP_ENOMEM. With `"clock":
 *         "untrusted"`, also #ZTP_EPARSE / #ZTP_ETOOBIG when the state
 *         directory's clock.json is not a time floor document.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_bootstrap(ztp_device *dev);

/**
 * Register the device (DESIGN.md phase 3): send the configured
 * `device_type`, `firmware_version` and `capabilities` to the `register`
 * endpoint, authenticated by the current bootstrap certificate, and keep
 * the request and the server's record in `registration.json` in the state
 * directory (ztp_device_run() registers again when the configuration no
 * longer matches it, e.g. after a firmware update).
 * @param dev the handle
 * @return #ZTP_OK; #ZTP_EINVAL (no registration configured); #ZTP_ESTATE
 *         (no bootstrap credential, or the state directory is locked);
 *         #ZTP_EEXPIRED (the bootstrap certificate has expired); the
 *         transport codes of ztp_device_bootstrap().
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_register(ztp_device *dev);

/**
 * Obtain long-lived operational credentials: a fresh key of the configured
 * type, a CSR sent to the `credentials` endpoint authenticated by the
 * current operational certificate if it is valid, else by the bootstrap
 * certificate. The answer (`certificate`, `chain`, `not_after`, `tenant`,
 * `namespace`) is checked like a bootstrap answer, and the tenant must be
 * the one in the certificate. Stored and made current like the bootstrap
 * credential, with the same resume rules.
 * @param dev the handle
 * @return as ztp_device_register(); #ZTP_ESTATE when neither credential
 *         is valid.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_credentials(ztp_device *dev);

/**
 * Rotate the operational credential: a fresh key and CSR sent to the
 * `rotate` endpoint, authenticated by the current operational certificate.
 * The new credential is written to the spare slot and **probed** with an
 * `assignment` call over mutual TLS with it; only if the probe succeeds is
 * it made current. If the probe fails the old credential stays current and
 * the new one pending: the next rotate (or run) probes it again without a
 * new request.
 * @param dev the handle
 * @return as ztp_device_credentials(); #ZTP_ESTATE (no operational
 *         credential); #ZTP_EEXPIRED (it has expired: use
 *         ztp_device_credentials() with the bootstrap certificate).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_rotate(ztp_device *dev);

/**
 * Fetch the device's assignment with the current operational credential:
 * `{"tenant": id|null, "namespace": str|null, "policy": object|null}`.
 * @param dev       the handle
 * @param[out] json freed with ztp_free()
 * @return as ztp_device_rotate().
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_assignment(ztp_device *dev, char **json);

/**
 * Do whatever the device still needs, in order: bootstrap (when there is
 * no valid bootstrap certificate and no usable operational one), register
 * (when the stored registration differs from the configured one),
 * credentials (when there is no valid operational certificate), rotate
 * (when a rotation is pending or due: at `rotate_at_percent` of the
 * lifetime, plus a per-certificate jitter of up to 5 % of it). With a
 * valid operational certificate and nothing due it checks in with one
 * `assignment` call: a tenant other than the certificate's (the device was
 * claimed) leads to new credentials; `certificate_revoked` or
 * `certificate_expired` (a reset) to a new bootstrap, registration and
 * credentials; `device_state` (not claimed yet) to nothing. Safe to run at
 * any time and after any interruption.
 * @param dev         the handle
 * @param[out] report if not NULL, `{"actions": ["bootstrap", …]}` (the
 *             operations performed), freed with ztp_free()
 * @return #ZTP_OK or the code of the first operation that failed.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_run(ztp_device *dev, char **report);

/**
 * Describe the stored credentials as JSON:
 * `{"device_id": "…"|null, "state_dir": "…", "credentials":
 * {"bootstrap": C|null, "operational": C|null}, "registration": R|null}`
 * where C is `{"slot","device_id","serial","not_before","not_after",
 * "expired","fingerprint","tenant"(or null)}` plus `"rotation_due"` for
 * the operational credential (times RFC 3339; serial: lowercase hex
 * without leading zeros, the form ztp_store_cert_get() takes; fingerprint:
 * SHA-256 of the certificate DER, lowercase hex) and R is the last
 * registration sent
 * (`{"device_type","firmware_version","capabilities"}`). Does not contact
 * the server.
 * @param dev       the handle
 * @param[out] json freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL (no state directory), #ZTP_EIO, #ZTP_EPARSE
 *         (corrupt manifest or credential files), #ZTP_EMISMATCH (manifest
 *         and files disagree), #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_device_status(ztp_device *dev, char **json);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_DEVICE_H */
