/*
 * libztp — fuzz the strict decoders for base64 (signatures, PEM bodies),
 * hex, RFC 3339 times, identifiers and key-policy specifications.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <ctype.h>

/* 9999-12-31T23:59:59Z, the last second RFC 3339 can write. */
#define FUZZ_TIME_MAX INT64_C(253402300799)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

static void b64(const char *in, size_t len)
{
	uint8_t *out = NULL;
	char *enc = NULL;
	size_t n = 0;
	int rc = ztp__b64_decode(&out, &n, in, len);

	FUZZ_ASSERT_RC(rc);
	if (rc != ZTP_OK) {
		FUZZ_ASSERT(out == NULL);
		return;
	}
	/* Strict decoding means one encoding per value: encoding the result
	 * gives the input back byte for byte. */
	FUZZ_ASSERT(n <= len / 4 * 3);
	FUZZ_ASSERT(ztp__b64_encode(&enc, out, n) == ZTP_OK);
	FUZZ_ASSERT(strlen(enc) == len && memcmp(enc, in, len) == 0);
	ztp_free(enc);
	ztp_free(out);
}

static void hex(const char *in, size_t len)
{
	uint8_t out[128];
	char enc[2 * sizeof(out) + 1];
	size_t n = 0, i;
	int rc = ztp__hex_decode(out, sizeof(out), &n, in, len);

	FUZZ_ASSERT_RC(rc);
	if (rc != ZTP_OK)
		return;
	FUZZ_ASSERT(n * 2 == len && n <= sizeof(out));
	ztp__hex_encode(enc, out, n);
	for (i = 0; i < len; i++)
		FUZZ_ASSERT(enc[i] == tolower((unsigned char)in[i]));
}

static void rfc3339(const char *s)
{
	int64_t t = 0, t2 = 0;
	char buf[32];
	int rc = ztp__time_parse(&t, s);

	FUZZ_ASSERT_RC(rc);
	if (rc != ZTP_OK || t < 0 || t > FUZZ_TIME_MAX)
		return;
	ztp__time_rfc3339(buf, t);
	FUZZ_ASSERT(ztp__time_parse(&t2, buf) == ZTP_OK && t2 == t);
}

static void ids(const char *s, size_t len)
{
	ztp__keypolicy p;
	int rc = ztp_id_validate(s, len);

	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		/* The grammar keeps MQTT wildcards, separators and NUL out of
		 * anything that becomes a topic level or a name. */
		FUZZ_ASSERT(len >= 1 && len <= ZTP_ID_MAX);
		FUZZ_ASSERT(memchr(s, '/', len) == NULL &&
			    memchr(s, '+', len) == NULL &&
			    memchr(s, '#', len) == NULL &&
			    memchr(s, '\0', len) == NULL);
	}
	FUZZ_ASSERT_RC(ztp__keypolicy_parse(&p, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		b64(s, size - 1);
		break;
	case 1:
		hex(s, size - 1);
		break;
	case 2:
		rfc3339(s);
		break;
	default:
		ids(s, size - 1);
		break;
	}
	free(s);
	return 0;
}
