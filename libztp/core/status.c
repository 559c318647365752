/*
 * libztp — the status codes' names and descriptions, C standard library
 * only: the one table behind ztp_strerror() and ztp_status_name() in
 * libztp and in the portable device libraries.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/portable.h"

static const struct {
	int code;
	const char *name;
	const char *text;
} status_table[] = {
    {ZTP_OK, "ok", "success"},
    {ZTP_EINVAL, "invalid_argument", "invalid argument"},
    {ZTP_ENOMEM, "out_of_memory", "out of memory"},
    {ZTP_EIO, "io_error", "input/output error"},
    {ZTP_EPARSE, "malformed_input", "malformed input"},
    {ZTP_ETOOBIG, "too_large", "input over a size or count limit"},
    {ZTP_ECRYPTO, "crypto_error", "cryptographic operation failed"},
    {ZTP_ENOTFOUND, "not_found", "no such record"},
    {ZTP_EEXISTS, "already_exists", "record already exists"},
    {ZTP_ESTORE, "store_error", "registry store failure"},
    {ZTP_EKEYPOLICY, "key_policy", "key type or size not allowed"},
    {ZTP_EBADSIG, "bad_signature", "signature verification failed"},
    {ZTP_EUNTRUSTED, "untrusted", "certificate not trusted"},
    {ZTP_EPROFILE, "bad_profile", "certificate or CSR violates the profile"},
    {ZTP_EEXPIRED, "expired", "outside the validity window"},
    {ZTP_EREVOKED, "revoked", "certificate revoked or device blocked"},
    {ZTP_EMISMATCH, "identity_mismatch", "identity mismatch"},
    {ZTP_EREPLAY, "replay", "single-use value already used"},
    {ZTP_ERATELIMIT, "rate_limited", "rate limit exceeded"},
    {ZTP_ESTATE, "invalid_state", "operation not allowed in this state"},
    {ZTP_EUNSUPPORTED, "unsupported", "not supported"},
    {ZTP_ENETWORK, "network_error", "network or TLS failure"},
    {ZTP_EDENIED, "denied", "refused"},
    {ZTP_EINTERNAL, "internal_error", "internal error"},
    {ZTP_ETOKEN, "token_unavailable", "PKCS#11 module or token unavailable"},
    {ZTP_EPIN, "pin_refused", "the token refused the PIN"},
};

static size_t status_index(int code)
{
	if (code > 0 || code < ZTP_STATUS_MIN)
		return SIZE_MAX;
	return (size_t)(-code);
}

const char *ztp_strerror(int code)
{
	size_t i = status_index(code);

	return i == SIZE_MAX ? "unknown error" : status_table[i].text;
}

const char *ztp_status_name(int code)
{
	size_t i = status_index(code);

	return i == SIZE_MAX ? "unknown" : status_table[i].name;
}
