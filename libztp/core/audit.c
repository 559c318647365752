/*
 * libztp — the audit chain's canonical encodings (doc/AUDIT.md), one
 * definition for every store backend and for the verifiers of the chain.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

#include <string.h>

#define EVENT_TAG "ZTP-AUDIT-EVENT-V1"
#define CHECKPOINT_TAG "ZTP-AUDIT-CHECKPOINT-V1"

const uint8_t ztp__audit_genesis[ZTP__AUDIT_HASH_LEN] = {0};

static int append_u64(ztp__buf *b, uint64_t v)
{
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	return ztp__buf_append(b, be, sizeof(be));
}

int ztp__audit_hash(uint8_t out[ZTP__AUDIT_HASH_LEN],
		    const uint8_t prev[ZTP__AUDIT_HASH_LEN], int64_t seq,
		    int64_t at, const char *json, size_t len)
{
	ztp__buf b = {0};
	int rc = ZTP_OK;

	ZTP_ENSURE(len <= UINT32_MAX, ZTP_ETOOBIG, "audit: event too long");
	/* sizeof counts the tag's NUL: the separator. */
	ZTP_CHECK(ztp__buf_append(&b, EVENT_TAG, sizeof(EVENT_TAG)));
	ZTP_CHECK(ztp__buf_append(&b, prev, ZTP__AUDIT_HASH_LEN));
	ZTP_CHECK(append_u64(&b, (uint64_t)seq));
	ZTP_CHECK(append_u64(&b, (uint64_t)at));
	ZTP_CHECK(ztp__buf_append(
	    &b,
	    (const uint8_t[]){(uint8_t)(len >> 24), (uint8_t)(len >> 16),
			      (uint8_t)(len >> 8), (uint8_t)len},
	    4));
	ZTP_CHECK(ztp__buf_append(&b, json, len));
	/* SHA-256 over bytes in memory fails only when OpenSSL cannot
	 * allocate its context. */
	rc = ztp__sha256(out, b.data, b.len);
	if (rc == ZTP_ECRYPTO)
		rc = ztp__err(ZTP_ENOMEM, "audit: out of memory for SHA-256");
cleanup:
	ztp__buf_free(&b);
	return rc;
}

int ztp__audit_checkpoint_msg(ztp__buf *out, int64_t seq,
			      const uint8_t head[ZTP__AUDIT_HASH_LEN],
			      int64_t at)
{
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__buf_append(out, CHECKPOINT_TAG, sizeof(CHECKPOINT_TAG)));
	ZTP_CHECK(append_u64(out, (uint64_t)seq));
	ZTP_CHECK(ztp__buf_append(out, head, ZTP__AUDIT_HASH_LEN));
	ZTP_CHECK(append_u64(out, (uint64_t)at));
cleanup:
	return rc;
}
