/*
 * libztp — the protocol's facts: transcript, wire codes, endpoints, the
 * members of the answers a device reads, the nonce's syntax, the register
 * request's rules.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/protocol.h"

#include <string.h>

/* The domain separation tag of the bootstrap signature, version 1. */
#define TRANSCRIPT_TAG "ZTP-BOOTSTRAP-V1"

static const struct {
	const char *name;
	int status;
} wire_table[ZTP__W_COUNT] = {
    [ZTP__W_MALFORMED_REQUEST] = {"malformed_request", 400},
    [ZTP__W_REQUEST_TOO_LARGE] = {"request_too_large", 413},
    [ZTP__W_UNKNOWN_ENDPOINT] = {"unknown_endpoint", 404},
    [ZTP__W_RATE_LIMITED] = {"rate_limited", 429},
    [ZTP__W_INTERNAL_ERROR] = {"internal_error", 500},
    [ZTP__W_STORE_UNAVAILABLE] = {"store_unavailable", 503},
    [ZTP__W_NOT_CONFIGURED] = {"not_configured", 503},
    [ZTP__W_UNTRUSTED_CERTIFICATE] = {"untrusted_certificate", 401},
    [ZTP__W_ISSUER_NOT_ALLOWED] = {"issuer_not_allowed", 401},
    [ZTP__W_BAD_CERTIFICATE_PROFILE] = {"bad_certificate_profile", 401},
    [ZTP__W_CERTIFICATE_EXPIRED] = {"certificate_expired", 401},
    [ZTP__W_CERTIFICATE_REVOKED] = {"certificate_revoked", 403},
    [ZTP__W_DEVICE_MISMATCH] = {"device_mismatch", 401},
    [ZTP__W_PEER_CERTIFICATE_MISMATCH] = {"peer_certificate_mismatch", 401},
    [ZTP__W_UNKNOWN_DEVICE] = {"unknown_device", 404},
    [ZTP__W_DEVICE_BLOCKED] = {"device_blocked", 403},
    [ZTP__W_FINGERPRINT_MISMATCH] = {"fingerprint_mismatch", 401},
    [ZTP__W_BAD_SIGNATURE] = {"bad_signature", 401},
    [ZTP__W_CHALLENGE_INVALID] = {"challenge_invalid", 401},
    [ZTP__W_CHALLENGE_EXPIRED] = {"challenge_expired", 401},
    [ZTP__W_CHALLENGE_REPLAYED] = {"challenge_replayed", 409},
    [ZTP__W_BAD_CSR] = {"bad_csr", 400},
    [ZTP__W_KEY_POLICY] = {"key_policy", 400},
    [ZTP__W_CSR_KEY_REUSED] = {"csr_key_reused", 400},
    [ZTP__W_PEER_CERTIFICATE_REQUIRED] = {"peer_certificate_required", 401},
    [ZTP__W_CERTIFICATE_NOT_ALLOWED] = {"certificate_not_allowed", 403},
    [ZTP__W_DEVICE_STATE] = {"device_state", 409},
    [ZTP__W_GROUP_DISABLED] = {"group_disabled", 403},
    [ZTP__W_GROUP_EXPIRED] = {"group_expired", 403},
    [ZTP__W_GROUP_FULL] = {"group_full", 403},
    [ZTP__W_APPROVAL_DENIED] = {"approval_denied", 403},
    [ZTP__W_APPROVAL_FAILED] = {"approval_failed", 503},
    [ZTP__W_CA_UNAVAILABLE] = {"ca_unavailable", 503},
};

static const char *const endpoint_table[ZTP__E_COUNT] = {
    [ZTP__E_CHALLENGE] = "challenge",
    [ZTP__E_BOOTSTRAP] = "bootstrap",
    [ZTP__E_REGISTER] = "register",
    [ZTP__E_CREDENTIALS] = "credentials",
    [ZTP__E_ROTATE] = "rotate",
    [ZTP__E_ASSIGNMENT] = "assignment",
    [ZTP__E_CRL] = "crl",
    [ZTP__E_OCSP] = "ocsp",
};

const char *ztp__wire_name(int w)
{
	if (w < 0 || w >= ZTP__W_COUNT)
		return wire_table[ZTP__W_INTERNAL_ERROR].name;
	return wire_table[w].name;
}

int ztp__wire_status(int w)
{
	if (w < 0 || w >= ZTP__W_COUNT)
		return wire_table[ZTP__W_INTERNAL_ERROR].status;
	return wire_table[w].status;
}

int ztp__wire_from_name(const char *name)
{
	if (name == NULL)
		return ZTP__W_NONE;
	for (int i = 0; i < ZTP__W_COUNT; i++)
		if (strcmp(wire_table[i].name, name) == 0)
			return i;
	return ZTP__W_NONE;
}

const char *ztp__endpoint_name(int e)
{
	if (e < 0 || e >= ZTP__E_COUNT)
		return NULL;
	return endpoint_table[e];
}

int ztp__endpoint_from_name(const char *name)
{
	if (name == NULL)
		return ZTP__E_NONE;
	for (int i = 0; i < ZTP__E_COUNT; i++)
		if (strcmp(endpoint_table[i], name) == 0)
			return i;
	return ZTP__E_NONE;
}

const char *const ztp__challenge_members[] = {"nonce", "expires_at", NULL};
const char *const ztp__challenge_time_members[] = {"nonce", "expires_at",
						   "server_time", NULL};
const char *const ztp__issued_members[] = {"certificate", "chain", "not_after",
					   NULL};
const char *const ztp__operational_members[] = {
    "certificate", "chain",   "not_after",    "tenant",
    "namespace",   "brokers", "trust_bundle", NULL};

const char *const ztp__assignment_members[] = {
    "tenant", "namespace", "policy", "brokers", "trust_bundle", NULL};

/* Printable ASCII without space, and without the MQTT wildcards when
 * topic. */
static bool printable_span(const char *s, size_t n, bool topic)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f ||
		    (topic && (s[i] == '+' || s[i] == '#')))
			return false;
	return true;
}

bool ztp__namespace_syntax(const char *s, size_t n)
{
	return n <= ZTP__NAMESPACE_MAX && printable_span(s, n, true);
}

bool ztp__broker_url_syntax(const char *s, size_t n)
{
	return n >= 1 && n <= ZTP__BROKER_URL_MAX &&
	       printable_span(s, n, false);
}

const char *const ztp__register_members[] = {"device_type", "firmware_version",
					     "capabilities", NULL};

bool ztp__firmware_syntax(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ZTP__FIRMWARE_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

bool ztp__nonce_syntax(const char *s, size_t n)
{
	return n >= 1 && n <= ZTP__NONCE_MAX && printable_span(s, n, false);
}

size_t ztp__transcript_len(size_t device_id_len, size_t nonce_len)
{
	return sizeof(TRANSCRIPT_TAG) + device_id_len + 1 + nonce_len + 1 +
	       ZTP__TRANSCRIPT_HASH_LEN;
}

size_t ztp__transcript_write(uint8_t *out, size_t cap, const char *device_id,
			     const char *nonce, size_t nonce_len,
			     const uint8_t csr_sha256[ZTP__TRANSCRIPT_HASH_LEN])
{
	size_t id_len = strlen(device_id), n = 0;

	if (id_len > ZTP_ID_MAX || nonce_len > cap ||
	    ztp__transcript_len(id_len, nonce_len) > cap)
		return 0;
	/* sizeof counts the tag's NUL: the first separator. */
	memcpy(out, TRANSCRIPT_TAG, sizeof(TRANSCRIPT_TAG));
	n += sizeof(TRANSCRIPT_TAG);
	memcpy(out + n, device_id, id_len + 1);
	n += id_len + 1;
	memcpy(out + n, nonce, nonce_len);
	n += nonce_len;
	out[n++] = 0;
	memcpy(out + n, csr_sha256, ZTP__TRANSCRIPT_HASH_LEN);
	return n + ZTP__TRANSCRIPT_HASH_LEN;
}
