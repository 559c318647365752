/*
 * libztp — fuzz the portable device core's strict JSON reader (every
 * answer a device on an MCU port reads) and its writer.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_lite.h"

/* Walk every value of a checked document: strings decode NUL-free to the
 * length reported and survive the writer and the reader again; numbers
 * read as integers or are refused with a documented code. */
static void walk(const ztp__jv *v, int depth)
{
	static const char *const keys[] = {"nonce", "certificate", "chain",
					   NULL};
	char buf[4096], out[4096 * 6 + 8], again[4096],
	    bad[ZTP__J_NAME_MAX + 1];
	ztp__jv k, e, r, m;
	size_t pos = 0, n = 0, n2 = 0, count = 0;
	const char *why = "";
	int64_t i = 0;
	ztp__jw w;
	int rc;

	FUZZ_ASSERT(depth <= ZTP__J_DEPTH_MAX);
	switch (v->type) {
	case ZTP__J_STRING:
		rc = ztp__j_string(v, buf, sizeof(buf), &n);
		FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_ETOOBIG);
		if (rc != ZTP_OK)
			break;
		FUZZ_ASSERT(strlen(buf) == n);
		ztp__jw_init(&w, out, sizeof(out));
		ztp__jw_str(&w, buf, n);
		FUZZ_ASSERT(w.ok);
		FUZZ_ASSERT(ztp__j_check(&r, out, w.len, &why) == ZTP_OK);
		FUZZ_ASSERT(ztp__j_string(&r, again, sizeof(again), &n2) ==
			    ZTP_OK);
		FUZZ_ASSERT(n2 == n && memcmp(buf, again, n) == 0);
		break;
	case ZTP__J_NUMBER:
		rc = ztp__j_int(v, INT64_MIN, INT64_MAX, &i);
		FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_EPARSE ||
			    rc == ZTP_ETOOBIG);
		break;
	case ZTP__J_OBJECT:
		rc = ztp__j_only(v, keys, bad, sizeof(bad));
		FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_EPARSE);
		/* fall through: members are walked like elements */
	case ZTP__J_ARRAY:
		while (ztp__j_next(v, &pos, &k, &e) == ZTP_OK) {
			FUZZ_ASSERT(++count <= ZTP__J_MEMBERS_MAX);
			if (v->type == ZTP__J_OBJECT) {
				FUZZ_ASSERT(k.type == ZTP__J_STRING);
				rc = ztp__j_string(&k, buf, sizeof(buf), &n);
				FUZZ_ASSERT(rc == ZTP_OK &&
					    n <= ZTP__J_NAME_MAX);
				/* Names are unique: the lookup finds this
				 * very value. */
				if (strlen(buf) == n && n > 0) {
					FUZZ_ASSERT(ztp__j_member(v, buf, &m) ==
						    ZTP_OK);
					FUZZ_ASSERT(m.p == e.p &&
						    m.len == e.len);
				}
			}
			walk(&e, depth + 1);
		}
		break;
	case ZTP__J_NULL:
	case ZTP__J_BOOL:
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = "";
	ztp__jv root;
	int rc;

	rc = ztp__j_check(&root, (const char *)data, size, &why);
	FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_EPARSE || rc == ZTP_ETOOBIG);
	FUZZ_ASSERT(why != NULL);
	if (rc != ZTP_OK)
		return 0;
	FUZZ_ASSERT(root.p >= (const char *)data &&
		    root.p + root.len <= (const char *)data + size);
	walk(&root, 0);
	return 0;
}
