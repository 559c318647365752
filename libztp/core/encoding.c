/*
 * libztp — base64, hex and SHA-256.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The decoders accept exactly one spelling of every value: base64 with
 * mandatory padding and zero trailing bits, hex of even length. Values that
 * reach signatures, fingerprints or certificates must not be malleable, or
 * two different strings could name the same bytes (and vice versa).
 */
#include "core/internal.h"

#include <string.h>

#include <openssl/evp.h>

/* Base64 encoding: ztp__b64() (core/portable.h), shared with the portable
 * device core; ztp__b64_encode() allocates for it. */

int ztp__b64_encode(char **out, const uint8_t *in, size_t len)
{
	int rc = ZTP_OK;
	char *s = NULL;
	size_t outlen;

	ZTP_ENSURE(out != NULL && (in != NULL || len == 0), ZTP_EINVAL,
		   "base64: invalid argument");
	*out = NULL;
	/* 4 * ceil(len / 3) + 1 must not overflow. */
	ZTP_ENSURE(len / 3 < (SIZE_MAX - 8) / 4, ZTP_ETOOBIG,
		   "base64: input of %zu bytes too large", len);
	outlen = (len + 2) / 3 * 4;
	s = ztp__malloc(outlen + 1);
	ZTP_ENSURE(s != NULL, ZTP_ENOMEM, "base64: out of memory");
	ZTP_ENSURE(ztp__b64(s, outlen + 1, in, len) == outlen, ZTP_EINTERNAL,
		   "base64: encoding failed");
	*out = s;
	s = NULL;
cleanup:
	ztp_free(s);
	return rc;
}

int ztp__b64_decode(uint8_t **out, size_t *outlen, const char *in, size_t len)
{
	int rc = ZTP_OK;
	uint8_t *d = NULL;
	size_t i, o = 0, pad = 0, cap = 0;
	int v[4];
	int k;

	ZTP_ENSURE(out != NULL && outlen != NULL && (in != NULL || len == 0),
		   ZTP_EINVAL, "base64: invalid argument");
	*out = NULL;
	*outlen = 0;
	ZTP_ENSURE(len % 4 == 0, ZTP_EPARSE,
		   "base64: length %zu is not a multiple of 4", len);
	if (len > 0 && in[len - 1] == '=')
		pad = (in[len - 2] == '=') ? 2 : 1;
	cap = len / 4 * 3;
	/* One spare byte so an empty result is still a valid allocation. */
	d = ztp__malloc(cap + 1);
	ZTP_ENSURE(d != NULL, ZTP_ENOMEM, "base64: out of memory");
	for (i = 0; i < len; i += 4) {
		bool last = (i + 4 == len);

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (last && c == '=' && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = ztp__b64_value(c);
			ZTP_ENSURE(v[k] >= 0, ZTP_EPARSE,
				   "base64: invalid character 0x%02x at "
				   "offset %zu",
				   c, i + (size_t)k);
		}
		d[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (last && pad == 2) {
			ZTP_ENSURE((v[1] & 0x0f) == 0, ZTP_EPARSE,
				   "base64: non-canonical trailing bits");
			break;
		}
		d[o++] = (uint8_t)((v[1] & 0x0f) << 4 | v[2] >> 2);
		if (last && pad == 1) {
			ZTP_ENSURE((v[2] & 0x03) == 0, ZTP_EPARSE,
				   "base64: non-canonical trailing bits");
			break;
		}
		d[o++] = (uint8_t)((v[2] & 0x03) << 6 | v[3]);
	}
	*out = d;
	*outlen = o;
	d = NULL;
cleanup:
	/* The input may be key material (a PEM private key body). */
	ztp__free_secret(d, cap + 1);
	return rc;
}

void ztp__hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int ztp__hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in,
		    size_t len)
{
	int rc = ZTP_OK;
	size_t i;
	int hi, lo;

	ZTP_ENSURE(outlen != NULL && (in != NULL || len == 0) &&
		       (out != NULL || cap == 0),
		   ZTP_EINVAL, "hex: invalid argument");
	*outlen = 0;
	ZTP_ENSURE(len % 2 == 0, ZTP_EPARSE, "hex: odd length %zu", len);
	ZTP_ENSURE(len / 2 <= cap, ZTP_ETOOBIG,
		   "hex: %zu bytes do not fit in %zu", len / 2, cap);
	for (i = 0; i < len; i += 2) {
		hi = ztp__hex_value((unsigned char)in[i]);
		lo = ztp__hex_value((unsigned char)in[i + 1]);
		ZTP_ENSURE(hi >= 0 && lo >= 0, ZTP_EPARSE,
			   "hex: invalid character at offset %zu",
			   hi < 0 ? i : i + 1);
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = len / 2;
cleanup:
	return rc;
}

int ztp__sha256(uint8_t out[32], const void *in, size_t len)
{
	int rc = ZTP_OK;
	unsigned int n = 0;

	ZTP_ENSURE(out != NULL && (in != NULL || len == 0), ZTP_EINVAL,
		   "sha256: invalid argument");
	ZTP_ENSURE_OSSL(EVP_Digest(in != NULL ? in : "", len, out, &n,
				   EVP_sha256(), NULL) == 1 &&
			    n == 32,
			ZTP_ECRYPTO, "sha256 failed");
cleanup:
	return rc;
}
