/*
 * Policy: Long and unusual topics: many levels, the vector and portable scans,
 * level comparison, deny details.
 */
#include "core/internal.h"
#include "policy/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include <ztp/policy.h>

#include "test_policy.h"

/* ------------------------------------------------------------- long topics */

/* "a/a/.../a" with n levels, then suffix (may be ""); freed by the caller. */
static char *levels(int n, const char *suffix)
{
	size_t cap = (size_t)n * 2 + strlen(suffix) + 1, len = 0;
	char *t = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < n; i++) {
		t[len++] = 'a';
		t[len++] = '/';
	}
	len--; /* no '/' after the last level */
	memcpy(t + len, suffix, strlen(suffix) + 1);
	return t;
}

static int az_levels(ztp_policy *p, int action, int n, const char *suffix)
{
	char *t = levels(n, suffix);
	int rc = az(p, NULL, NULL, action, t);

	free(t);
	return rc;
}

/* Requests are split into at most one level more than the deepest resource;
 * what lies beyond is still validated and still counts as "more levels". */
START_TEST(test_many_levels)
{
	char *r64 = levels(64, ""), *h64 = levels(63, "/#");
	char *doc = NULL, *big;
	ztp_policy *p;
	size_t n;
	int i;

	p = allow_only(r64);
	ck_assert_rc(az_levels(p, PUB, 64, ""), ZTP_OK);
	ck_assert_rc(az_levels(p, PUB, 63, ""), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, PUB, 65, ""), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, PUB, 66, ""), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, PUB, 1000, ""), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, SUB, 64, ""), ZTP_OK);
	ck_assert_rc(az_levels(p, SUB, 63, "/#"), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, SUB, 63, "/+"), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, SUB, 200, "/#"), ZTP_EDENIED);
	ztp_policy_free(p);

	/* '#' as the 64th level covers every deeper topic and filter */
	p = allow_only(h64);
	for (i = 63; i <= 70; i++) {
		ck_assert_rc(az_levels(p, PUB, i, ""), ZTP_OK);
		ck_assert_rc(az_levels(p, SUB, i, "/#"), ZTP_OK);
		ck_assert_rc(az_levels(p, SUB, i, "/+/x"), ZTP_OK);
	}
	ck_assert_rc(az_levels(p, PUB, 62, ""), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, PUB, 5000, ""), ZTP_OK);
	/* the longest topic there is: 32768 levels in 65535 bytes */
	ck_assert_rc(az_levels(p, PUB, 32768, ""), ZTP_OK);
	big = levels(32768, "");
	n = strlen(big);
	ck_assert_uint_eq(n, 65535);
	big[n - 1] = 'b';
	ck_assert_rc(az(p, NULL, NULL, PUB, big), ZTP_OK);
	free(big);
	/* past the split levels, the checks still see everything */
	ck_assert_rc(az_levels(p, PUB, 100, "/+"), ZTP_EINVAL);
	ck_assert_rc(az_levels(p, PUB, 100, "/#"), ZTP_EINVAL);
	ck_assert_rc(az_levels(p, SUB, 100, "/#/a"), ZTP_EINVAL);
	ck_assert_rc(az_levels(p, SUB, 100, "/a+"), ZTP_EINVAL);
	ck_assert_rc(az_levels(p, PUB, 100, "/\xc3"), ZTP_EINVAL);
	ck_assert_rc(az_levels(p, PUB, 100, "/\xc3\xa9"), ZTP_OK);
	big = levels(100, "");
	big[150] = '\0';
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, PUB, big, 199),
		     ZTP_EINVAL);
	free(big);
	big = levels(32768, "/a");
	ck_assert_rc(az(p, NULL, NULL, PUB, big), ZTP_EINVAL); /* 65537 B */
	free(big);
	ck_assert_rc(ztp_policy_explain(&doc, p, NULL, NULL, NULL, PUB, r64,
					strlen(r64)),
		     ZTP_OK);
	ck_assert_ptr_nonnull(strstr(doc, "\"decision\":\"allow\""));
	ztp_free(doc);
	ztp_policy_free(p);

	/* '+' and variables at the deepest level */
	r64[strlen(r64) - 1] = '+';
	p = allow_only(r64);
	ck_assert_rc(az_levels(p, PUB, 64, ""), ZTP_OK);
	ck_assert_rc(az_levels(p, PUB, 65, ""), ZTP_EDENIED);
	ck_assert_rc(az_levels(p, SUB, 63, "/+"), ZTP_OK);
	ck_assert_rc(az_levels(p, SUB, 63, "/#"), ZTP_EDENIED);
	ztp_policy_free(p);
	free(r64);
	free(h64);
}
END_TEST

/* Level lookups hash and compare whole words, reading the last partial word
 * of a request level from around it in the topic: every length, position
 * and near miss must still compare exactly. */
/* A label at the start, alone, before or inside a topic. */
static const char *const around[4][2] = {
    {"", ""}, {"", "/z"}, {"z/", ""}, {"zz/", "/zzzzzzzzzzz"}};

/* The vector and the portable topic scans agree on levels and verdicts for
 * every length around the 8- and 16-byte boundaries, with '/', wildcards,
 * NUL and bytes outside ASCII at every position. */
START_TEST(test_split_paths)
{
	static const char fill[] = {
	    '/', '+', '#', '\0', '$', (char)0xc3, (char)0xa9, (char)0x80, 'a'};
	static ztp__ptopic a, b;
	char buf[80];
	size_t len, pos, k, lv;
	int filter, ra, rb, cases = 0;

	for (len = 0; len <= 70; len++) {
		for (pos = 0; pos < len || (len == 0 && pos == 0); pos++) {
			for (k = 0; k < sizeof(fill); k++) {
				memset(buf, 'x', sizeof(buf));
				/* a level boundary every 5 bytes, then one
				 * special byte */
				for (lv = 4; lv < len; lv += 5)
					buf[lv] = '/';
				if (len)
					buf[pos] = fill[k];
				for (filter = 0; filter < 2; filter++) {
					ra = ztp__ptopic_split_impl(
					    &a, buf, len, filter, false);
					rb = ztp__ptopic_split_impl(
					    &b, buf, len, filter, true);
					ck_assert_int_eq(ra, rb);
					cases++;
					if (ra < 0)
						continue;
					ck_assert_uint_eq(a.n, b.n);
					ck_assert_uint_eq(a.total, b.total);
					for (lv = 0; lv < a.n; lv++) {
						ck_assert_uint_eq(a.l[lv].from,
								  b.l[lv].from);
						ck_assert_uint_eq(a.l[lv].len,
								  b.l[lv].len);
					}
				}
			}
		}
	}
	ck_assert_int_gt(cases, 40000);
}
END_TEST

/* The label of length n (1..20) in test_level_compare. */
static void mk_label(char *out, size_t n)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	memcpy(out, alpha + n % 16, n);
	out[n] = '\0';
}

static size_t place(char *out, size_t cap, size_t f, const char *label)
{
	return (size_t)snprintf(out, cap, "%s%s%s", around[f][0], label,
				around[f][1]);
}

START_TEST(test_level_compare)
{
	char label[24], miss[24], next[24], topic[96], doc[4096];
	size_t len = 0, n, i;
	ztp_policy *p;
	size_t f;

	len = (size_t)snprintf(doc, sizeof(doc),
			       "{\"version\":\"2026-01\",\"statements\":[{"
			       "\"effect\":\"Allow\",\"actions\":[\"publish\"],"
			       "\"resources\":[");
	for (n = 1; n <= 20; n++) {
		for (f = 0; f < 4; f++) {
			mk_label(label, n);
			len += (size_t)snprintf(doc + len, sizeof(doc) - len,
						"%s\"", n + f > 1 ? "," : "");
			len += place(doc + len, sizeof(doc) - len, f, label);
			len += (size_t)snprintf(doc + len, sizeof(doc) - len,
						"\"");
		}
	}
	len += (size_t)snprintf(doc + len, sizeof(doc) - len, "]}]}");
	ck_assert_uint_lt(len, sizeof(doc) - 1);
	p = load(doc);
	for (n = 1; n <= 20; n++) {
		mk_label(label, n);
		mk_label(next, n + 1);
		for (f = 0; f < 4; f++) {
			place(topic, sizeof(topic), f, label);
			ck_assert_msg(az(p, NULL, NULL, PUB, topic) == ZTP_OK,
				      "%s", topic);
			/* one byte changed anywhere, and one byte more or
			 * less: never the same level */
			for (i = 0; i < n; i++) {
				memcpy(miss, label, n + 1);
				miss[i] = miss[i] == 'Z' ? 'Y' : 'Z';
				place(topic, sizeof(topic), f, miss);
				ck_assert_msg(az(p, NULL, NULL, PUB, topic) ==
						  ZTP_EDENIED,
					      "%s", topic);
			}
			memcpy(miss, label, n + 1);
			miss[n] = 'a';
			miss[n + 1] = '\0';
			place(topic, sizeof(topic), f, miss);
			if (strcmp(next, miss) != 0 || n == 20)
				ck_assert_msg(az(p, NULL, NULL, PUB, topic) ==
						  ZTP_EDENIED,
					      "%s", topic);
			miss[n - 1] = '\0';
			place(topic, sizeof(topic), f, miss);
			if (n > 1)
				ck_assert_msg(az(p, NULL, NULL, PUB, topic) ==
						  ZTP_EDENIED,
					      "%s", topic);
		}
	}
	ztp_policy_free(p);

	/* same last word, different head; same head, different last word */
	p = allow_only("q/aaaaaaaaX1234567/r");
	ck_assert_rc(az(p, NULL, NULL, PUB, "q/aaaaaaaaX1234567/r"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, PUB, "q/baaaaaaaX1234567/r"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, PUB, "q/aaaaaaaaX1234568/r"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, PUB, "q/aaaaaaaaaX1234567/r"),
		     ZTP_EDENIED);
	ztp_policy_free(p);
	/* a topic shorter than a word, and an empty level */
	p = allow_only("a//b");
	ck_assert_rc(az(p, NULL, NULL, PUB, "a//b"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a/x/b"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a/b"), ZTP_EDENIED);
	ztp_policy_free(p);
}
END_TEST

/* A deny leaves the thread's detail saying why, even right after another
 * error or the other kind of deny. */
START_TEST(test_deny_detail)
{
	ztp_policy *p = load("{\"version\":\"2026-01\",\"statements\":["
			     "{\"effect\":\"Allow\",\"actions\":[\"publish\"],"
			     "\"resources\":[\"a/#\"]},"
			     "{\"effect\":\"Deny\",\"actions\":[\"publish\"],"
			     "\"resources\":[\"a/x\"]}]}");
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_rc(az(p, NULL, NULL, PUB, "b"), ZTP_EDENIED);
		ck_assert_str_eq(ztp_error_last_message(),
				 "policy: no statement allows it");
		ck_assert_rc(az(p, NULL, NULL, PUB, "b"), ZTP_EDENIED);
		ck_assert_str_eq(ztp_error_last_message(),
				 "policy: no statement allows it");
		ck_assert_rc(az(p, NULL, NULL, PUB, "a/x"), ZTP_EDENIED);
		ck_assert_str_eq(ztp_error_last_message(),
				 "policy: explicitly denied");
		ck_assert_rc(az(p, NULL, NULL, PUB, "a/+"), ZTP_EINVAL);
		ck_assert_int_eq(ztp_error_last_code(), ZTP_EINVAL);
		ck_assert_rc(az(p, NULL, NULL, PUB, "a/x"), ZTP_EDENIED);
		ck_assert_int_eq(ztp_error_last_code(), ZTP_EDENIED);
		ck_assert_str_eq(ztp_error_last_message(),
				 "policy: explicitly denied");
		ck_assert_rc(az(p, NULL, NULL, PUB, "a/y"), ZTP_OK);
	}
	ztp_policy_free(p);
}
END_TEST

void policy_tcases_topics(Suite *s)
{
	TCase *tc;

	POLICY_ADD(s, "authorize_levels", test_many_levels);
	POLICY_ADD(s, "authorize_level_compare", test_level_compare);
	POLICY_ADD(s, "authorize_split", test_split_paths);
	POLICY_ADD(s, "authorize_deny_detail", test_deny_detail);
}
