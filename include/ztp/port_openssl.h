/*
 * libztp — the OpenSSL + libcurl port of the portable device core.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_PORT_OPENSSL_H
#define ZTP_PORT_OPENSSL_H

/**
 * @file port_openssl.h
 * @brief A ::ztp_lite device on the OpenSSL 3 + libcurl port with POSIX
 * file storage, configured from a ztp-device.json(5) file, in libztp
 * itself (pkg-config `libztp`).
 *
 * The port: TLS 1.2 (or later) through libcurl, on a connection of its
 * own that the core speaks HTTP/1.1 over (`proxy`: an HTTP CONNECT tunnel
 * set up by libcurl, never one from the environment); the server
 * verified against `ca_file` (or the trust bundle the core committed in a
 * server-CA rollover) for the host of `base_url` and, with
 * `server_key_sha256`, pinned to the SHA-256 of its public key; the
 * client key in an OpenSSL EVP_PKEY, so that `factory_key` may be a file,
 * an RFC 7512 `pkcs11:` URI or a `tpm2:` handle, as with ztp-device(1),
 * and signs (transcript and TLS CertificateVerify) where it lives;
 * generated keys (`key_type` ec-p256, ec-p384 or ed25519) kept as PKCS#8
 * PEM blobs in the state directory, the form the mbedTLS port keeps, so
 * one state directory serves either port, or, with `operational_key`,
 * made in a PKCS#11 token as objects labelled LABEL-KIND-SLOT (as
 * ztp_device(3) labels them), the blobs references to them, a retired
 * slot's object deleted (port interface version 2). Storage, clock and
 * heap as in <ztp/port_mbedtls.h>. The members it supports are those of
 * ztp-device-mbedtls(1), and `factory_key` URIs, `"key_type": "ed25519"`
 * and `operational_key`.
 *
 * A state directory that ztp-device(1) kept is taken over the first time
 * (doc/PORTING.md): its current credentials, time floor, brokers and
 * trust bundle become the core's, the old layout moves to
 * `ztp-device.migrated/`, and the first run registers again.
 *
 * Thread safety: as ::ztp_lite; distinct devices may run in distinct
 * threads (a token's sessions are shared as ztp_device(3) shares them).
 */

#include <ztp/port.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create a device on the OpenSSL port from a configuration file.
 * @param[out] out the device, freed with ztp_lite_free() (which also
 *             frees the port)
 * @param config_path the ztp-device.json(5) file
 * @param events event callback, or NULL
 * @param events_ctx passed to events
 * @param err a buffer for the detail of a failure (may be NULL)
 * @param err_cap its size in bytes
 * @return as ztp_lite_mbedtls_new(); also #ZTP_ETOKEN and #ZTP_EPIN for a
 *         factory key in a token that is missing or refuses the PIN,
 *         #ZTP_EUNSUPPORTED for a key source this build cannot reach.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_openssl_new(ztp_lite **out, const char *config_path,
				    ztp_event_fn events, void *events_ctx,
				    char *err, size_t err_cap);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_PORT_OPENSSL_H */
