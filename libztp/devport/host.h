/*
 * libztp — what the ports of the portable device core on a POSIX host
 * share (the mbedTLS port and the OpenSSL port): the ztp-device.json(5)
 * reader, file storage, clock, sleep and heap. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_DEVPORT_HOST_H
#define ZTP_DEVPORT_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ztp/port.h>

#include "core/portable.h"
#include "devcore/internal.h"

/* The host part of a port's state; first member of each port's own
 * struct, so the port's ctx is also a ztp__lh. */
typedef struct ztp__lh {
	ztp_port port;
	char err[256]; /* detail of the last failure */
	char *state_dir;
	int lock_fd;
	bool no_clock; /* "clock": "untrusted" */
} ztp__lh;

/* Longest PEM file (CA bundle, factory key or certificate) a port reads. */
#define ZTP__LH_FILE_MAX (64 * 1024)
/* Longest ztp-device.json(5). */
#define ZTP__LH_CONFIG_MAX (64 * 1024)

/* Key types a device generates (ztp__lh_key_types: their names). */
typedef enum ztp__lh_keytype {
	ZTP__LH_EC_P256 = 0,
	ZTP__LH_EC_P384,
	ZTP__LH_ED25519,
	ZTP__LH_RSA_2048,
	ZTP__LH_RSA_3072,
	ZTP__LH_RSA_4096
} ztp__lh_keytype;
extern const char *const ztp__lh_key_types[6];

/* What a device supports, for the configuration reader: members or values
 * beyond the mbedTLS port's. */
#define ZTP__LH_KEY_URIS 1u   /* factory_key may be a pkcs11: or tpm2: URI */
#define ZTP__LH_ED25519 2u    /* key_type "ed25519" */
#define ZTP__LH_TOKEN_KEYS 4u /* operational_key: keys made in a token */
#define ZTP__LH_RSA 8u	      /* key_type "rsa-2048", "rsa-3072", "rsa-4096" */
/* server_key_sha256, build_time, check_in: the portable core's members
 * (ztp_device(3) reads them as unknown). */
#define ZTP__LH_CORE 16u
/* Members every port needs may be absent (ztp_device(3), which has
 * setters for them). */
#define ZTP__LH_PARTIAL 32u

/* Everything a configuration names, before the port is built. */
typedef struct ztp__lh_cfg {
	char dir[4096]; /* of the file, for relative paths */
	char device_id[ZTP_ID_MAX + 1];
	/* A file path (made absolute), or a pkcs11:/tpm2: URI with
	 * ZTP__LH_KEY_URIS. */
	char factory_key[4096];
	char factory_cert[4096], ca_file[4096];
	char state_dir[4096];
	char base_url[2049];
	char device_type[ZTP_ID_MAX + 1],
	    firmware_version[ZTP__FIRMWARE_MAX + 1];
	char caps[ZTP__CAPABILITIES_MAX][ZTP_ID_MAX + 1];
	const char *cap_ptrs[ZTP__CAPABILITIES_MAX];
	size_t n_caps;
	char clock[16];
	int64_t build_time;
	int64_t connect_ms, timeout_ms, attempts, base_ms, max_ms, ra_ms;
	int64_t rotate;
	bool pin_set;
	uint8_t pin[32];			/* server_key_sha256 */
	ztp__proxy proxy;			/* port 0: none */
	char proxy_url[ZTP__PROXY_URL_MAX + 2]; /* as written; "": none */
	bool no_check_in;			/* "check_in": false */
	bool no_keep_alive;			/* "keep_alive": false */
	ztp__lh_keytype key_type;		/* "key_type" */
	/* "operational_key" (ZTP__LH_TOKEN_KEYS): the token's pkcs11: URI
	 * and the label ("" when not given), checked by the port; "": keys
	 * in the state directory. */
	char key_token[4096];
	char key_label[ZTP_ID_MAX + 1];
} ztp__lh_cfg;

/* Whether a factory_key source is a URI kept as written (pkcs11:, the
 * scheme without case as RFC 7512 has it, or tpm2:), not a file the reader
 * gives as its path. */
bool ztp__lh_key_uri(const char *src);

/* The defaults of ztp-device.json(5) (the core's, which are ztp-device's)
 * into c. */
void ztp__lh_cfg_init(ztp__lh_cfg *c);

/*
 * Read the ztp-device.json(5) file at path into c (which holds the
 * defaults), for a device that supports caps (ZTP__LH_*), which name
 * names in the details of what it does ("the mbedTLS port"). On failure
 * err says which member and why, and the code
 * is ZTP_EPARSE (not JSON, a member unknown, of the wrong type or out of
 * range, a required part missing), ZTP_EINVAL (a value against its rule:
 * identifier, key source, key type, proxy, two members that disagree),
 * ZTP_ETOOBIG (the file or a value over its bound), ZTP_ENOTFOUND or
 * ZTP_EIO (the file), ZTP_ENOMEM. c may then hold part of the file.
 */
int ztp__lh_cfg_read(ztp__lh_cfg *c, const char *path, const char *name,
		     unsigned caps, char *err, size_t err_cap);

/* Build a port from a parsed configuration: *out is the port's state
 * (its ztp__lh), set as soon as it exists so that its detail can be read
 * and it can be released on failure. */
typedef int (*ztp__lh_make_fn)(ztp__lh **out, const ztp__lh_cfg *c);

/*
 * ztp_lite_<fn>_new(): a device from the configuration file at path, on
 * the port make builds (released with release by ztp_lite_free(), or here
 * on failure). name and caps as for ztp__lh_cfg_read() (ZTP__LH_CORE
 * added). The codes of ztp_lite_mbedtls_new(3).
 */
int ztp__lh_new(ztp_lite **out, const char *path, const char *fn,
		const char *name, unsigned caps, ztp__lh_make_fn make,
		void (*release)(const ztp_port *), ztp_event_fn events,
		void *events_ctx, char *err, size_t err_cap);

/* Set the detail to "what" and return code. */
int ztp__lh_fail(ztp__lh *h, int code, const char *what);
/* Fill in heap, storage, clock, sleep and last_error. */
void ztp__lh_posix_init(ztp__lh *h);
/* Keep dir as the state directory, create it (0700) and lock it. */
int ztp__lh_state_open(ztp__lh *h, const char *dir);
/* Release what ztp__lh_state_open() took. */
void ztp__lh_close(ztp__lh *h);
/* Read a whole file of at most max bytes (malloc'd, NUL added). */
int ztp__lh_read_file(ztp__lh *h, const char *path, size_t max, char **out,
		      size_t *len);

#endif /* ZTP_DEVPORT_HOST_H */
