/*
 * libztp — the mbedTLS port of the portable device core.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_PORT_MBEDTLS_H
#define ZTP_PORT_MBEDTLS_H

/**
 * @file port_mbedtls.h
 * @brief A ::ztp_lite device on the mbedTLS 2.28 port with POSIX file
 * storage, configured from a ztp-device.json(5) file, in
 * libztp-device-mbedtls (pkg-config `libztp-device-mbedtls`), which links
 * neither OpenSSL, libcurl nor json-c.
 *
 * The port: TLS 1.2 (or later) client with the device's key and
 * certificate, the server verified against `ca_file` for the host of
 * `base_url` and, with `server_key_sha256`, pinned to the SHA-256 of its
 * public key; ECDSA P-256 (or P-384) keys and CSRs; CTR-DRBG seeded from the
 * platform's entropy; blobs as 0600 files in `state_dir` (0700), written
 * to a temporary file, fsynced and renamed, the directory fsynced; a lock
 * file that keeps a second process out of the state directory.
 * ztp-device-mbedtls(1) lists the configuration members it supports.
 *
 * Thread safety: as ::ztp_lite.
 */

#include <ztp/port.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create a device from a configuration file.
 * @param[out] out the device, freed with ztp_lite_free() (which also
 *             frees the port)
 * @param config_path the ztp-device.json(5) file
 * @param events event callback, or NULL
 * @param events_ctx passed to events
 * @param err a buffer for the detail of a failure (may be NULL)
 * @param err_cap its size in bytes
 * @return #ZTP_OK; the codes of ztp-device.json(5) for a refused file
 *         (#ZTP_EPARSE: not JSON, a member unknown, of the wrong type or
 *         out of range; #ZTP_EINVAL: a value against its rule or one this
 *         port does not support; the detail names the member);
 *         #ZTP_EINVAL (NULL argument), #ZTP_EPARSE (malformed PEM),
 *         #ZTP_ETOOBIG, #ZTP_EIO, #ZTP_ENOTFOUND (a file named is
 *         missing), #ZTP_ESTATE (the state directory is in use by another
 *         process or not private), #ZTP_ECRYPTO, #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_lite_mbedtls_new(ztp_lite **out, const char *config_path,
				    ztp_event_fn events, void *events_ctx,
				    char *err, size_t err_cap);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_PORT_MBEDTLS_H */
