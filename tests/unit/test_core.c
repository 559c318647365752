/*
 * Core: status codes, per-thread errors, identifiers, strict JSON, memory.
 */
#include "core/internal.h"
#include "core/protocol.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------------ status */

START_TEST(test_strerror_all_codes)
{
	int c, d;

	for (c = 0; c >= ZTP_STATUS_MIN; c--) {
		ck_assert_str_ne(ztp_strerror(c), "unknown error");
		ck_assert_str_ne(ztp_status_name(c), "unknown");
		/* names are stable snake_case and unique */
		for (d = c - 1; d >= ZTP_STATUS_MIN; d--)
			ck_assert_str_ne(ztp_status_name(c),
					 ztp_status_name(d));
		ck_assert(
		    strspn(ztp_status_name(c), "abcdefghijklmnopqrstuvwxyz_") ==
		    strlen(ztp_status_name(c)));
	}
	ck_assert_str_eq(ztp_strerror(ZTP_STATUS_MIN - 1), "unknown error");
	ck_assert_str_eq(ztp_strerror(1), "unknown error");
	ck_assert_str_eq(ztp_status_name(ZTP_EBADSIG), "bad_signature");
	ck_assert_int_eq(ZTP_EINTERNAL, -23); /* codes are never renumbered */
	ck_assert_int_eq(ZTP_EPIN, -25);
	ck_assert_str_eq(ztp_status_name(ZTP_ETOKEN), "token_unavailable");
}
END_TEST

static void *other_thread(void *arg)
{
	(void)arg;
	/* A fresh thread starts clean even though the main thread failed. */
	if (ztp_error_last()->code != ZTP_OK)
		return (void *)1;
	ztp__err(ZTP_EIO, "thread detail");
	return NULL;
}

START_TEST(test_error_last_per_thread)
{
	pthread_t t;
	void *res = NULL;

	ztp_error_clear();
	ck_assert_int_eq(ztp_error_last()->code, ZTP_OK);
	ck_assert_str_eq(ztp_error_last()->message, "");
	ck_assert_int_eq(ztp__err(ZTP_EPARSE, "bad %s\nline", "thing"),
			 ZTP_EPARSE);
	ck_assert_int_eq(ztp_error_last_code(), ZTP_EPARSE);
	/* control characters never reach a log line */
	ck_assert_str_eq(ztp_error_last_message(), "bad thing?line");
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	pthread_join(t, &res);
	ck_assert_ptr_null(res);
	ck_assert_int_eq(ztp_error_last_code(), ZTP_EPARSE);
	ztp_error_clear();
	ck_assert_int_eq(ztp_error_last_code(), ZTP_OK);
}
END_TEST

START_TEST(test_version)
{
	ck_assert_rc(ztp_init(), ZTP_OK);
	ck_assert_rc(ztp_init(), ZTP_OK);
	ck_assert_str_eq(ztp_version(), ZTP_VERSION_STRING);
	ck_assert_uint_eq(ztp_version_num(), ZTP_VERSION_NUM);
}
END_TEST

START_TEST(test_clock)
{
	int64_t t = 1234567890;
	ztp__clock c = {ztp_clock_fixed, &t};

	ck_assert_int_eq(ztp__now(&c), 1234567890);
	t = 42;
	ck_assert_int_eq(ztp__now(&c), 42);
	ck_assert_int_gt(ztp__now(NULL), 1700000000);
	ck_assert_int_gt(ztp_clock_system(NULL), 1700000000);
}
END_TEST

/* ------------------------------------------------------------------ ids */

START_TEST(test_id_grammar)
{
	static const char *good[] = {"a",	"Z",	   "0",
				     "dev-001", "a.b_c-d", "ABCdef123"};
	static const char *bad[] = {
	    "",	     "-a",   ".a",  "_a",   "a/b",  "a+b",
	    "a#",    "$SYS", "a b", "a\tb", "a\nb", "caf\xc3\xa9",
	    "a\x7f", "a:b",  "a*b", "a\\b", "a\"b"};
	char longid[ZTP_ID_MAX + 2];
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(good); i++)
		ck_assert_rc(ztp_id_validate(good[i], strlen(good[i])), ZTP_OK);
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++)
		ck_assert_msg(ztp_id_validate(bad[i], strlen(bad[i])) ==
				  ZTP_EINVAL,
			      "accepted \"%s\"", bad[i]);
	/* embedded NUL: the explicit length counts it */
	ck_assert_rc(ztp_id_validate("ab\0cd", 5), ZTP_EINVAL);
	ck_assert_rc(ztp_id_validate(NULL, 0), ZTP_EINVAL);
	memset(longid, 'a', sizeof(longid));
	ck_assert_rc(ztp_id_validate(longid, ZTP_ID_MAX), ZTP_OK);
	ck_assert_rc(ztp_id_validate(longid, ZTP_ID_MAX + 1), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ JSON */

static int parse(const char *s)
{
	json_object *o = NULL;
	int rc = ztp__json_parse(&o, s, strlen(s), 4096, 16);

	json_object_put(o);
	return rc;
}

static int parse_len(const char *s, size_t n)
{
	json_object *o = NULL;
	int rc = ztp__json_parse(&o, s, n, 4096, 16);

	json_object_put(o);
	return rc;
}

START_TEST(test_json_valid)
{
	static const char *ok[] = {
	    "{}",
	    "[]",
	    " {\"a\":1} ",
	    "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\",\"d\":true,\"e\":-0.5e+3}",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
	    "\"\\u00e9\\ud83d\\ude00\\n\\/\"",
	    "0",
	    "-0",
	    "{\"a\":{\"a\":{\"a\":1}}}", /* same key, different objects */
	    "[{\"k\":1},{\"k\":2}]",
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(ok); i++)
		ck_assert_msg(parse(ok[i]) == ZTP_OK, "refused %s: %s", ok[i],
			      ztp_error_last_message());
}
END_TEST

START_TEST(test_json_duplicate_keys)
{
	static const char *dup[] = {
	    "{\"a\":1,\"a\":2}",
	    "{\"a\":1,\"b\":2,\"a\":1}",
	    "{\"x\":{\"a\":1,\"a\":1}}",
	    "[{}, {\"a\":{\"b\":1,\"b\":{\"c\":1}}}]",
	    /* the folded value itself held an object */
	    "{\"a\":{\"q\":1},\"a\":{\"q\":2,\"r\":3}}",
	    /* escapes that decode to the same key */
	    "{\"a\":1,\"\\u0061\":2}",
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(dup); i++) {
		ck_assert_msg(parse(dup[i]) == ZTP_EPARSE, "accepted %s",
			      dup[i]);
		ck_assert_ptr_nonnull(
		    strstr(ztp_error_last_message(), "duplicate"));
	}
}
END_TEST

START_TEST(test_json_utf8)
{
	static const char *bad[] = {
	    "\"\x80\"",		    /* lone continuation */
	    "\"\xc3\"",		    /* truncated */
	    "\"\xc0\xaf\"",	    /* overlong '/' */
	    "\"\xe0\x80\xaf\"",	    /* overlong 3-byte */
	    "\"\xf0\x80\x80\xaf\"", /* overlong 4-byte */
	    "\"\xed\xa0\x80\"",	    /* encoded surrogate */
	    "\"\xf4\x90\x80\x80\"", /* > U+10FFFF */
	    "\"\xff\"",
	    "{\"k\xfe\":1}", /* in a key */
	    "\"\\ud800\"",   /* lone high surrogate escape */
	    "\"\\udc00\"",   /* lone low surrogate escape */
	    "\"\\ud800\\u0041\"",
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++)
		ck_assert_msg(parse(bad[i]) == ZTP_EPARSE, "accepted case %zu",
			      i);
}
END_TEST

START_TEST(test_json_nul)
{
	ck_assert_rc(parse("{\"a\":\"x\\u0000y\"}"), ZTP_EPARSE);
	ck_assert_rc(parse("{\"a\\u0000\":1}"), ZTP_EPARSE);
	/* a raw NUL byte inside and outside strings */
	ck_assert_rc(parse_len("{\"a\":\"x\0\"}", 10), ZTP_EPARSE);
	ck_assert_rc(parse_len("{}\0", 3), ZTP_EPARSE);
}
END_TEST

START_TEST(test_json_grammar)
{
	static const char *bad[] = {
	    "",		"   ",	  "{",	      "}",	   "{\"a\"}",
	    "{\"a\":}", "{a:1}",  "{'a':1}",  "[1,]",	   "{\"a\":1,}",
	    "[1 2]",	"01",	  "1.",	      ".5",	   "1e",
	    "+1",	"NaN",	  "Infinity", "-",	   "tru",
	    "nul",	"{}{}",	  "{} x",     "[] /*c*/",  "// c\n{}",
	    "\"\\x\"",	"\"\t\"", "\"a",      "\"\\u12\"", "[\"a\"\n,]",
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++)
		ck_assert_msg(parse(bad[i]) == ZTP_EPARSE, "accepted \"%s\"",
			      bad[i]);
}
END_TEST

START_TEST(test_json_limits)
{
	json_object *o = NULL;
	char deep[64];
	int i;

	/* the size cap applies before any parsing */
	ck_assert_rc(ztp__json_parse(&o, "{\"a\":1}", 7, 6, 16), ZTP_ETOOBIG);
	ck_assert_rc(ztp__json_parse(&o, "{\"a\":1}", 7, 7, 16), ZTP_OK);
	json_object_put(o);
	o = NULL;
	/* depth 16 passes, 17 does not */
	for (i = 0; i < 16; i++)
		deep[i] = '[';
	for (i = 0; i < 16; i++)
		deep[16 + i] = ']';
	ck_assert_rc(parse_len(deep, 32), ZTP_OK);
	for (i = 0; i < 17; i++)
		deep[i] = '[';
	for (i = 0; i < 17; i++)
		deep[17 + i] = ']';
	ck_assert_rc(parse_len(deep, 34), ZTP_ETOOBIG);
	/* a caller's smaller depth is honoured; a larger one is capped */
	ck_assert_rc(ztp__json_parse(&o, "[[[1]]]", 7, 100, 2), ZTP_ETOOBIG);
	ck_assert_rc(ztp__json_parse(&o, deep, 34, 100, 1000), ZTP_ETOOBIG);
	ck_assert_rc(ztp__json_parse(NULL, "{}", 2, 100, 2), ZTP_EINVAL);
}
END_TEST

START_TEST(test_json_schema)
{
	static const char *const allowed[] = {"s",   "n",   "b",
					      "arr", "obj", NULL};
	json_object *o = NULL, *sub = NULL;
	const char *s = NULL;
	size_t len = 0;
	int64_t n = 0;
	bool b = false;
	const char *doc = "{\"s\":\"hello\",\"n\":42,\"b\":true,"
			  "\"arr\":[1,2,3],\"obj\":{}}";

	ck_assert_rc(ztp__json_parse(&o, doc, strlen(doc), 4096, 16), ZTP_OK);
	ck_assert_rc(ztp__json_only_keys(o, allowed, "req"), ZTP_OK);
	ck_assert_rc(ztp__json_str(o, "s", true, 5, &s, &len), ZTP_OK);
	ck_assert_str_eq(s, "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_rc(ztp__json_str(o, "s", true, 4, &s, &len), ZTP_ETOOBIG);
	ck_assert_rc(ztp__json_str(o, "n", true, 5, &s, &len), ZTP_EPARSE);
	ck_assert_rc(ztp__json_str(o, "missing", true, 5, &s, &len),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__json_str(o, "missing", false, 5, &s, &len), ZTP_OK);
	ck_assert_ptr_null(s);
	ck_assert_rc(ztp__json_int(o, "n", true, 0, 100, &n), ZTP_OK);
	ck_assert_int_eq(n, 42);
	ck_assert_rc(ztp__json_int(o, "n", true, 0, 41, &n), ZTP_EPARSE);
	ck_assert_rc(ztp__json_int(o, "s", true, 0, 100, &n), ZTP_EPARSE);
	ck_assert_rc(ztp__json_bool(o, "b", true, &b), ZTP_OK);
	ck_assert(b);
	ck_assert_rc(ztp__json_bool(o, "n", true, &b), ZTP_EPARSE);
	ck_assert_rc(ztp__json_array(o, "arr", true, 3, &sub), ZTP_OK);
	ck_assert_ptr_nonnull(sub);
	ck_assert_rc(ztp__json_array(o, "arr", true, 2, &sub), ZTP_ETOOBIG);
	ck_assert_rc(ztp__json_object(o, "obj", true, &sub), ZTP_OK);
	ck_assert_rc(ztp__json_object(o, "arr", true, &sub), ZTP_EPARSE);
	json_object_put(o);

	/* closed schema: an unknown field is refused by name */
	ck_assert_rc(ztp__json_parse(&o, "{\"s\":\"\",\"evil\":1}", 17, 100, 4),
		     ZTP_OK);
	ck_assert_rc(ztp__json_only_keys(o, allowed, "req"), ZTP_EPARSE);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "evil"));
	json_object_put(o);
	ck_assert_rc(ztp__json_parse(&o, "[1]", 3, 100, 4), ZTP_OK);
	ck_assert_rc(ztp__json_only_keys(o, allowed, "req"), ZTP_EPARSE);
	json_object_put(o);
	/* integers beyond int64 saturate and fail the range check */
	ck_assert_rc(
	    ztp__json_parse(&o, "{\"n\":99999999999999999999}", 26, 100, 4),
	    ZTP_OK);
	ck_assert_rc(ztp__json_int(o, "n", true, 0, INT64_MAX - 1, &n),
		     ZTP_EPARSE);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_dump)
{
	json_object *o = json_object_new_object();
	char *s = NULL;

	ck_assert_rc(ztp__json_add_str(o, "path", "a/b"), ZTP_OK);
	ck_assert_rc(ztp__json_add_int(o, "n", -5), ZTP_OK);
	ck_assert_rc(ztp__json_add_str(o, "t", NULL), ZTP_OK);
	ck_assert_rc(ztp__json_dump(&s, o), ZTP_OK);
	ck_assert_str_eq(s, "{\"path\":\"a/b\",\"n\":-5,\"t\":null}");
	ztp_free(s);
	json_object_put(o);
}
END_TEST

/* ------------------------------------------------------------------ memory */

START_TEST(test_alloc_failure_injection)
{
	json_object *o = NULL;
	long n;
	int rc;
	const char *doc = "{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}";
	void *p;

	ztp__alloc_fail_at(1);
	p = ztp__malloc(10);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(ztp_error_last_code(), ZTP_ENOMEM);
	ck_assert_ptr_null(ztp__strdup("x"));
	ztp__alloc_fail_at(0);
	p = ztp__malloc(10);
	ck_assert_ptr_nonnull(p);
	free(p);

	/* each failing point is reported as ENOMEM; eventually it succeeds */
	for (n = 1; n < 50; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp__json_parse(&o, doc, strlen(doc), 4096, 16);
		ztp__alloc_fail_at(0);
		if (rc == ZTP_OK)
			break;
		ck_assert_msg(rc == ZTP_ENOMEM, "n=%ld rc=%d", n, rc);
		ck_assert_ptr_null(o);
	}
	ck_assert_int_eq(rc, ZTP_OK);
	json_object_put(o);
}
END_TEST

START_TEST(test_buf)
{
	ztp__buf b = {0};
	uint8_t *p;
	size_t len = 0;
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_rc(ztp__buf_append_byte(&b, (uint8_t)('a' + i % 26)),
			     ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&b, "END"), ZTP_OK);
	ck_assert_rc(ztp__buf_terminate(&b), ZTP_OK);
	ck_assert_uint_eq(b.len, 1003);
	ck_assert_str_eq((char *)b.data + 1000, "END");
	p = ztp__buf_steal(&b, &len);
	ck_assert_uint_eq(len, 1003);
	ck_assert_ptr_null(b.data);
	ztp_free(p);
	ck_assert_rc(ztp__buf_append(&b, "k", 1), ZTP_OK);
	ztp__buf_free_secret(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_rc(ztp__buf_append(&b, "x", SIZE_MAX), ZTP_ETOOBIG);
}
END_TEST

/* ---------------------------------------------------------------- protocol */

START_TEST(test_transcript_bytes)
{
	/* PROTOCOL.md §4, written out by hand for device "dev-1", nonce
	 * "n0.Ab" and a CSR hash of the bytes 0x00..0x1f. */
	static const uint8_t want[] = {
	    'Z',  'T',	'P',  '-',  'B',  'O',	'O',  'T',  'S',  'T',	'R',
	    'A',  'P',	'-',  'V',  '1',  0x00, 'd',  'e',  'v',  '-',	'1',
	    0x00, 'n',	'0',  '.',  'A',  'b',	0x00, 0x00, 0x01, 0x02, 0x03,
	    0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	    0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
	uint8_t h[ZTP__TRANSCRIPT_HASH_LEN];
	ztp__buf t = {0};

	for (size_t i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)i;
	/* The nonce is taken by length: bytes after it are not part of it. */
	ck_assert_rc(ztp__transcript(&t, "dev-1", "n0.Abxyz", 5, h), ZTP_OK);
	ck_assert_uint_eq(t.len, sizeof(want));
	ck_assert_mem_eq(t.data, want, sizeof(want));
	ztp__buf_free(&t);
}
END_TEST

START_TEST(test_wire_codes)
{
	/* Names and statuses as PROTOCOL.md §6 lists them (a sample; the
	 * whole list is compared with the document and ztp-protocol(7) by
	 * test_verifier). */
	ck_assert_str_eq(ztp__wire_name(ZTP__W_MALFORMED_REQUEST),
			 "malformed_request");
	ck_assert_int_eq(ztp__wire_status(ZTP__W_RATE_LIMITED), 429);
	ck_assert_int_eq(ztp__wire_status(ZTP__W_CHALLENGE_REPLAYED), 409);
	ck_assert_int_eq(ztp__wire_status(ZTP__W_CERTIFICATE_REVOKED), 403);
	ck_assert_str_eq(ztp__wire_name(ZTP__W_COUNT), "internal_error");
	ck_assert_str_eq(ztp__wire_name(ZTP__W_NONE), "internal_error");
	ck_assert_int_eq(ztp__wire_status(-7), 500);
	for (int w = 0; w < ZTP__W_COUNT; w++) {
		const char *n = ztp__wire_name(w);
		int st = ztp__wire_status(w);

		ck_assert_int_eq(ztp__wire_from_name(n), w);
		ck_assert(strspn(n, "abcdefghijklmnopqrstuvwxyz_") ==
			  strlen(n));
		ck_assert(st >= 400 && st <= 599);
	}
	ck_assert_int_eq(ztp__wire_from_name("no_such_code"), ZTP__W_NONE);
	ck_assert_int_eq(ztp__wire_from_name(""), ZTP__W_NONE);
	ck_assert_int_eq(ztp__wire_from_name(NULL), ZTP__W_NONE);
}
END_TEST

START_TEST(test_endpoints)
{
	static const char *const v1[] = {
	    "challenge", "bootstrap",  "register", "credentials",
	    "rotate",	 "assignment", "crl"};

	ck_assert_int_eq(ZTP__E_COUNT, (int)ZTP__ARRAY_LEN(v1));
	for (int e = 0; e < ZTP__E_COUNT; e++) {
		ck_assert_str_eq(ztp__endpoint_name(e), v1[e]);
		ck_assert_int_eq(ztp__endpoint_from_name(v1[e]), e);
	}
	ck_assert_ptr_null(ztp__endpoint_name(ZTP__E_COUNT));
	ck_assert_int_eq(ztp__endpoint_from_name("Challenge"), ZTP__E_NONE);
	ck_assert_int_eq(ztp__endpoint_from_name("challenge/"), ZTP__E_NONE);
	ck_assert_str_eq(ZTP__PATH_PREFIX, "/ztp/v1/");
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc;

	tc = tcase_create("status");
	tcase_add_test(tc, test_strerror_all_codes);
	tcase_add_test(tc, test_error_last_per_thread);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_clock);
	suite_add_tcase(s, tc);

	tc = tcase_create("id_validate");
	tcase_add_test(tc, test_id_grammar);
	suite_add_tcase(s, tc);

	tc = tcase_create("json_parse");
	tcase_add_test(tc, test_json_valid);
	tcase_add_test(tc, test_json_duplicate_keys);
	tcase_add_test(tc, test_json_utf8);
	tcase_add_test(tc, test_json_nul);
	tcase_add_test(tc, test_json_grammar);
	tcase_add_test(tc, test_json_limits);
	tcase_add_test(tc, test_json_schema);
	tcase_add_test(tc, test_json_dump);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol");
	tcase_add_test(tc, test_transcript_bytes);
	tcase_add_test(tc, test_wire_codes);
	tcase_add_test(tc, test_endpoints);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_alloc_failure_injection);
	tcase_add_test(tc, test_buf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ztp_test_run(core_suite());
}
