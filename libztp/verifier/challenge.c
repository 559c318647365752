/*
 * libztp — stateless, HMAC-authenticated challenge tokens.
 * SPDX-License-Identifier: Apache-2.0
 *
 * token = base64url(no padding) of
 *     version (1 byte, 1) || issued_at (8, big endian) ||
 *     expires_at (8, big endian) || random (16) ||
 *     HMAC-SHA256(secret, the 33 bytes before || device_id)
 * Any instance that shares the secret can check a token without state;
 * single use is enforced by recording the random part in the store when
 * the request that spends it is accepted.
 */
#include "verifier/internal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define CHAL_VERSION 1
#define HDR_LEN (1 + 8 + 8 + ZTP__CHAL_RANDOM)

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(u & 0xff);
		u >>= 8;
	}
}

static int64_t get64(const uint8_t *p)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

static int mac(ztp_verifier *v, uint8_t out[32], const uint8_t *hdr,
	       const char *device_id)
{
	uint8_t msg[HDR_LEN + ZTP_ID_MAX];
	size_t idlen = strlen(device_id);
	unsigned int outlen = 0;

	if (idlen > ZTP_ID_MAX)
		return ztp__err(ZTP_EINVAL, "device ID too long");
	memcpy(msg, hdr, HDR_LEN);
	memcpy(msg + HDR_LEN, device_id, idlen);
	if (HMAC(EVP_sha256(), v->secret, (int)v->secret_len, msg,
		 HDR_LEN + idlen, out, &outlen) == NULL ||
	    outlen != 32)
		return ztp__err_ossl(ZTP_ECRYPTO, "challenge HMAC");
	return ZTP_OK;
}

static void encode(char *out, const uint8_t *in, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		out[o++] = b64url[(w >> 18) & 63];
		out[o++] = b64url[(w >> 12) & 63];
		out[o++] = b64url[(w >> 6) & 63];
		out[o++] = b64url[w & 63];
	}
	if (len - i == 1) {
		uint32_t w = (uint32_t)in[i] << 16;

		out[o++] = b64url[(w >> 18) & 63];
		out[o++] = b64url[(w >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64url[(w >> 18) & 63];
		out[o++] = b64url[(w >> 12) & 63];
		out[o++] = b64url[(w >> 6) & 63];
	}
	out[o] = '\0';
}

static int dec1(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64url, c);
	return p == NULL ? -1 : (int)(p - b64url);
}

/* Strict: exactly ZTP__CHAL_B64 characters of the URL-safe alphabet, and
 * the unused low bits of the last character zero (one encoding per
 * token). */
static int decode(uint8_t out[ZTP__CHAL_RAW], const char *in, size_t len)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, c;

	if (len != ZTP__CHAL_B64)
		return -1;
	for (i = 0; i < len; i++) {
		c = dec1(in[i]);
		if (c < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= ZTP__CHAL_RAW)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (o != ZTP__CHAL_RAW || acc != 0)
		return -1;
	return 0;
}

int ztp__challenge_make(ztp_verifier *v, char out[ZTP__CHAL_B64 + 1],
			int64_t *expires_at, const char *device_id, int64_t now)
{
	uint8_t raw[ZTP__CHAL_RAW];
	int rc = ZTP_OK;

	raw[0] = CHAL_VERSION;
	put64(raw + 1, now);
	put64(raw + 9, now + v->challenge_ttl);
	ZTP_ENSURE_OSSL(RAND_bytes(raw + 17, ZTP__CHAL_RANDOM) == 1,
			ZTP_ECRYPTO, "challenge nonce");
	ZTP_CHECK(mac(v, raw + HDR_LEN, raw, device_id));
	encode(out, raw, sizeof(raw));
	*expires_at = now + v->challenge_ttl;
cleanup:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int ztp__challenge_check(ztp_verifier *v, ztp__vdec *d, const char *nonce,
			 size_t len, const char *device_id, int64_t now,
			 uint8_t id[ZTP__CHAL_RANDOM], int64_t *expires_at)
{
	uint8_t raw[ZTP__CHAL_RAW], want[32];
	int64_t issued, expires;
	int rc = ZTP_OK;

	if (decode(raw, nonce, len) != 0 || raw[0] != CHAL_VERSION) {
		rc = ztp__reject(d, ZTP__W_CHALLENGE_INVALID, ZTP_EPARSE,
				 "nonce is not a challenge of this server");
		goto cleanup;
	}
	ZTP_CHECK(mac(v, want, raw, device_id));
	/* A token minted for another device fails here too: the device ID is
	 * part of the authenticated message. */
	if (CRYPTO_memcmp(want, raw + HDR_LEN, 32) != 0) {
		rc = ztp__reject(d, ZTP__W_CHALLENGE_INVALID, ZTP_EBADSIG,
				 "challenge is not authentic or was issued "
				 "for another device");
		goto cleanup;
	}
	issued = get64(raw + 1);
	expires = get64(raw + 9);
	if (expires < issued || now > expires + v->leeway ||
	    now < issued - v->leeway) {
		rc = ztp__reject(d, ZTP__W_CHALLENGE_EXPIRED, ZTP_EEXPIRED,
				 "challenge expired; request a new one");
		goto cleanup;
	}
	memcpy(id, raw + 17, ZTP__CHAL_RANDOM);
	*expires_at = expires;
cleanup:
	if (rc < 0 && d->wire == ZTP__W_NONE)
		d->wire = ZTP__W_INTERNAL_ERROR;
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}
