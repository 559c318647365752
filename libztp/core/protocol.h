/*
 * libztp — the protocol's facts, in one place: the bootstrap transcript,
 * the wire error codes and their HTTP statuses, the endpoints and their
 * path. The device, the verifier and the portable device core (libztp/devcore)
 * build on this file, which needs the C standard library only;
 * doc/PROTOCOL.md and ztp-protocol(7) describe it. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_CORE_PROTOCOL_H
#define ZTP_CORE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/portable.h"

/* Every endpoint is reached at BASE ZTP__PATH_PREFIX <endpoint name>. */
#define ZTP__PATH_PREFIX "/ztp/v1/"

/* Wire error codes (PROTOCOL.md §6). The names are part of the API: never
 * rename or remove one; add new ones at the end. */
typedef enum ztp__wire {
	ZTP__W_NONE = -1,
	ZTP__W_MALFORMED_REQUEST = 0,
	ZTP__W_REQUEST_TOO_LARGE,
	ZTP__W_UNKNOWN_ENDPOINT,
	ZTP__W_RATE_LIMITED,
	ZTP__W_INTERNAL_ERROR,
	ZTP__W_STORE_UNAVAILABLE,
	ZTP__W_NOT_CONFIGURED,
	ZTP__W_UNTRUSTED_CERTIFICATE,
	ZTP__W_ISSUER_NOT_ALLOWED,
	ZTP__W_BAD_CERTIFICATE_PROFILE,
	ZTP__W_CERTIFICATE_EXPIRED,
	ZTP__W_CERTIFICATE_REVOKED,
	ZTP__W_DEVICE_MISMATCH,
	ZTP__W_PEER_CERTIFICATE_MISMATCH,
	ZTP__W_UNKNOWN_DEVICE,
	ZTP__W_DEVICE_BLOCKED,
	ZTP__W_FINGERPRINT_MISMATCH,
	ZTP__W_BAD_SIGNATURE,
	ZTP__W_CHALLENGE_INVALID,
	ZTP__W_CHALLENGE_EXPIRED,
	ZTP__W_CHALLENGE_REPLAYED,
	ZTP__W_BAD_CSR,
	ZTP__W_KEY_POLICY,
	ZTP__W_CSR_KEY_REUSED,
	ZTP__W_PEER_CERTIFICATE_REQUIRED,
	ZTP__W_CERTIFICATE_NOT_ALLOWED,
	ZTP__W_DEVICE_STATE,
	ZTP__W_GROUP_DISABLED,
	ZTP__W_GROUP_EXPIRED,
	ZTP__W_GROUP_FULL,
	ZTP__W_APPROVAL_DENIED,
	ZTP__W_APPROVAL_FAILED,
	ZTP__W_CA_UNAVAILABLE,
	ZTP__W_COUNT
} ztp__wire;

/* The code's name on the wire ("bad_signature"); "internal_error" for a
 * value out of range. */
const char *ztp__wire_name(int w);
/* The HTTP status that carries the code; 500 for a value out of range. */
int ztp__wire_status(int w);
/* The code a name stands for, ZTP__W_NONE for a name this version does
 * not know (a newer server may send codes an older device has never
 * seen: they are compared, never trusted to be known). */
int ztp__wire_from_name(const char *name);

/* The endpoints of version 1 (PROTOCOL.md §2, §3, §3a, §3b). */
typedef enum ztp__endpoint {
	ZTP__E_NONE = -1,
	ZTP__E_CHALLENGE = 0,
	ZTP__E_BOOTSTRAP,
	ZTP__E_REGISTER,
	ZTP__E_CREDENTIALS,
	ZTP__E_ROTATE,
	ZTP__E_ASSIGNMENT,
	ZTP__E_CRL,
	ZTP__E_OCSP, /* DER, not JSON: ztp_verifier_ocsp() */
	ZTP__E_COUNT
} ztp__endpoint;

/* "challenge", "bootstrap", ...; NULL out of range. */
const char *ztp__endpoint_name(int e);
/* The endpoint a name stands for, ZTP__E_NONE if none. */
int ztp__endpoint_from_name(const char *name);

/* The members an answer may have (closed schemas: a device refuses an
 * answer with any other), NULL-terminated: the challenge's (PROTOCOL.md
 * §2), with server_time when the request asked for it; bootstrap's
 * (§3); credentials' and rotate's (§3a, §3b). */
extern const char *const ztp__challenge_members[];
extern const char *const ztp__challenge_time_members[];
extern const char *const ztp__issued_members[];
extern const char *const ztp__operational_members[];
/* The assignment answer's (§3c). */
extern const char *const ztp__assignment_members[];

/* A tenant's MQTT namespace in an answer: at most ZTP__NAMESPACE_MAX
 * bytes of printable ASCII without space, '+' or '#'. */
#define ZTP__NAMESPACE_MAX 256
bool ztp__namespace_syntax(const char *s, size_t n);

/* "brokers" in an answer: 1..ZTP__BROKERS_MAX URLs, each 1..
 * ZTP__BROKER_URL_MAX bytes of printable ASCII without space. */
#define ZTP__BROKERS_MAX 8
#define ZTP__BROKER_URL_MAX 255
/* The stored list, {"brokers":[...]} (the portable core's "brokers" blob,
 * ztp-device's brokers.json), is at most this long: every URL's
 * characters escaped. */
#define ZTP__BROKERS_DOC_MAX                                                   \
	(16 + ZTP__BROKERS_MAX * (2 * ZTP__BROKER_URL_MAX + 3))
bool ztp__broker_url_syntax(const char *s, size_t n);

/* "trust_bundle" in an answer: 1..ZTP__TRUST_BUNDLE_MAX CA certificates,
 * one PEM string each. */
#define ZTP__TRUST_BUNDLE_MAX 8

/* The register request (PROTOCOL.md §3): these members; device_type an
 * identifier; firmware_version 1..ZTP__FIRMWARE_MAX bytes of printable
 * ASCII (0x20..0x7e); at most ZTP__CAPABILITIES_MAX capabilities, each an
 * identifier. The verifier refuses any other request as
 * malformed_request; the devices refuse to be configured with one. */
extern const char *const ztp__register_members[];
#define ZTP__FIRMWARE_MAX 64
#define ZTP__CAPABILITIES_MAX 32
bool ztp__firmware_syntax(const char *s, size_t n);

/* The longest challenge nonce a device takes, in bytes. */
#define ZTP__NONCE_MAX 512

/* Whether s[0..n) may be a nonce: 1..ZTP__NONCE_MAX bytes of printable
 * ASCII without space (0x21..0x7e); the device signs it as sent. */
bool ztp__nonce_syntax(const char *s, size_t n);

/* Size of the SHA-256 of the CSR that ends the transcript. */
#define ZTP__TRANSCRIPT_HASH_LEN 32

/* Length of the transcript for a device ID and a nonce of these lengths
 * (the tag and the separators counted). */
size_t ztp__transcript_len(size_t device_id_len, size_t nonce_len);

/*
 * Write the bootstrap transcript that the factory key signs (PROTOCOL.md
 * §4), byte for byte, into out (cap bytes):
 *
 *   tag 0x00 device_id 0x00 nonce 0x00 SHA-256(CSR DER)
 *
 * where tag is the domain separation tag of version 1 (TRANSCRIPT_TAG in
 * protocol.c, its one definition).
 *
 * nonce is the ASCII token exactly as the server sent it (nonce_len
 * bytes, no NUL inside: the caller has checked that); csr_sha256 is the
 * raw 32-byte hash. Returns the length written, or 0 when it does not fit
 * in cap (see ztp__transcript_len()). Sets no error detail.
 */
size_t
ztp__transcript_write(uint8_t *out, size_t cap, const char *device_id,
		      const char *nonce, size_t nonce_len,
		      const uint8_t csr_sha256[ZTP__TRANSCRIPT_HASH_LEN]);

/* The same, appended to a buffer (core/mem.c). Returns ZTP_OK or
 * ZTP_ENOMEM. */
int ztp__transcript(ztp__buf *out, const char *device_id, const char *nonce,
		    size_t nonce_len,
		    const uint8_t csr_sha256[ZTP__TRANSCRIPT_HASH_LEN]);

/* ------------------------------------------------------------------
 * What a device does with an answer (core/devpolicy.c): one definition
 * for ztp_device(3) and the portable core, ztp_port(3). */

/* The longest server hint honoured, in seconds, from the Retry-After
 * header or the error body's retry_after (a longer one counts as this;
 * the device's max_retry_after_ms bounds it further). */
#define ZTP__RETRY_AFTER_MAX_S (86400 * 7)

/* The bounds of a device's settings (ztp-device.json(5), ztp_device(3)'s
 * setters): retry.max_attempts 1..ZTP__ATTEMPTS_MAX, retry.base_delay_ms
 * and max_delay_ms 1..ZTP__DELAY_MAX_MS, retry.max_retry_after_ms
 * 0..ZTP__RETRY_AFTER_SETTING_MAX_MS, connect_timeout_ms and timeout_ms
 * 1..ZTP__TIMEOUT_MAX_MS, rotate_at_percent ZTP__ROTATE_PERCENT_MIN..MAX. */
#define ZTP__ATTEMPTS_MAX 100
#define ZTP__DELAY_MAX_MS 3600000
#define ZTP__RETRY_AFTER_SETTING_MAX_MS 86400000
#define ZTP__TIMEOUT_MAX_MS 600000
#define ZTP__ROTATE_PERCENT_MIN 10
#define ZTP__ROTATE_PERCENT_MAX 95
/* The default timeouts of a device's connection (the other defaults are
 * ztp_lite_options_init()'s). */
#define ZTP__CONNECT_TIMEOUT_DEFAULT_MS 10000
#define ZTP__TIMEOUT_DEFAULT_MS 60000

/* Rotation is due at rotate_percent of a certificate's lifetime plus a
 * jitter of up to this share of it. */
#define ZTP__ROTATE_JITTER_PERCENT 5

/* Whether another attempt may cure an answer with this HTTP status:
 * 408, 429 and 5xx. */
bool ztp__answer_retryable(long status);

/* The status code a refusal with this (non-2xx) HTTP status is reported
 * as: ZTP_ERATELIMIT for 429, ZTP_ENETWORK for 408 and 5xx, else
 * ZTP_EDENIED (final: ztp__answer_retryable() is false exactly then). */
int ztp__answer_refusal(long status);

/* Whether s[0..n) may be a wire code: [a-z0-9_]{1,64} (PROTOCOL.md §6).
 * A device keeps only such a code of an error answer. */
bool ztp__wire_code_syntax(const char *s, size_t n);

/* Full-jitter backoff before retry number `retry` (0-based): uniform in
 * [0, min(cap_ms, base_ms * 2^retry)] drawn as rnd mod (ceiling + 1);
 * with rnd NULL (no randomness) the ceiling itself. 0 when base_ms or
 * cap_ms is not positive. */
int64_t ztp__backoff_ms(int retry, int64_t base_ms, int64_t cap_ms,
			const uint64_t *rnd);

/* The delay before retry number `retry`: on 429 and 503 the server's
 * hint in seconds (header_ra first, then body_ra; -1 when absent),
 * bounded by max_retry_after_ms; otherwise ztp__backoff_ms(). */
int64_t ztp__retry_delay_ms(int retry, long status, int64_t header_ra,
			    int64_t body_ra, int64_t base_ms, int64_t cap_ms,
			    int64_t max_retry_after_ms, const uint64_t *rnd);

/* When rotation of a certificate valid [not_before, not_after) is due:
 * at percent of its lifetime plus up to ZTP__ROTATE_JITTER_PERCENT of it
 * drawn from the first 8 bytes of h (a hash of the certificate: stable
 * across runs, spread across a fleet), always before not_after;
 * not_before for an empty lifetime. */
int64_t ztp__rotation_due(int64_t not_before, int64_t not_after, int percent,
			  const uint8_t h[32]);

#endif /* ZTP_CORE_PROTOCOL_H */
