/*
 * libztp — fuzz the strict JSON parser and its typed getters, which see
 * every request body the verifier receives and every response the device
 * reads.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

static void getters(json_object *o)
{
	static const char *const keys[] = {"device_id", "nonce",	 "csr",
					   "signature", "factory_chain", NULL};
	const char *s = NULL;
	size_t n = 0;
	int64_t i = 0;
	bool b = false;
	json_object *a = NULL, *sub = NULL;
	int rc;

	FUZZ_ASSERT_RC(ztp__json_only_keys(o, keys, "fuzz"));
	rc = ztp__json_str(o, "device_id", false, ZTP_ID_MAX, &s, &n);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK && s != NULL) {
		/* Strings handed out are NUL-free and exactly n bytes. */
		FUZZ_ASSERT(strlen(s) == n && n <= ZTP_ID_MAX);
		FUZZ_ASSERT_RC(ztp__id_check(s, n, "device ID"));
	}
	rc = ztp__json_str(o, "csr", true, 4096, &s, &n);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK)
		FUZZ_ASSERT(s != NULL && strlen(s) == n);
	rc = ztp__json_int(o, "retry_after", false, 0, 86400, &i);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK)
		FUZZ_ASSERT(i >= 0 && i <= 86400);
	FUZZ_ASSERT_RC(ztp__json_int(o, "n", true, INT64_MIN, INT64_MAX, &i));
	FUZZ_ASSERT_RC(ztp__json_bool(o, "ok", false, &b));
	rc = ztp__json_array(o, "factory_chain", false, ZTP_CHAIN_MAX, &a);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK && a != NULL)
		FUZZ_ASSERT(json_object_array_length(a) <= ZTP_CHAIN_MAX);
	FUZZ_ASSERT_RC(ztp__json_object(o, "error", false, &sub));
	if (sub != NULL) {
		FUZZ_ASSERT_RC(ztp__json_str(sub, "code", true, 64, &s, &n));
		FUZZ_ASSERT_RC(
		    ztp__json_int(sub, "retry_after", false, 0, 3600, &i));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL, *again = NULL;
	char *dump = NULL;
	int depth, rc;

	if (size < 1)
		return 0;
	/* The first byte picks the depth limit so that both the limit and
	 * the grammar are explored. */
	depth = data[0] % (ZTP_JSON_MAX_DEPTH + 2);
	data++;
	size--;
	rc = ztp__json_parse(&o, (const char *)data, size, 64 * 1024, depth);
	FUZZ_ASSERT_RC(rc);
	if (rc != ZTP_OK) {
		FUZZ_ASSERT(o == NULL);
		return 0;
	}
	if (o == NULL)
		return 0; /* the document `null` */
	getters(o);
	/* What the library writes must be readable by the library. */
	rc = ztp__json_dump(&dump, o);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		rc = ztp__json_parse(&again, dump, strlen(dump), 1 << 20,
				     ZTP_JSON_MAX_DEPTH);
		FUZZ_ASSERT(rc == ZTP_OK);
		json_object_put(again);
		ztp_free(dump);
	}
	json_object_put(o);
	return 0;
}
