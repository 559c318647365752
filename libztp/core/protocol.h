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

#endif /* ZTP_CORE_PROTOCOL_H */
