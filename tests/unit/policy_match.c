/*
 * Policy: MQTT matching (§4.7 of the MQTT spec as ztp_policy(3) describes it):
 * action names, topic names against filters, subscribe subsets, and a
 * randomized comparison with a transcription of the rules.
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

/* ------------------------------------------------------------- action names */

START_TEST(test_action_parse)
{
	int a = 0;

	ck_assert_rc(ztp_policy_action_parse(&a, "connect"), ZTP_OK);
	ck_assert_int_eq(a, ZTP_POLICY_CONNECT);
	ck_assert_rc(ztp_policy_action_parse(&a, "publish"), ZTP_OK);
	ck_assert_int_eq(a, ZTP_POLICY_PUBLISH);
	ck_assert_rc(ztp_policy_action_parse(&a, "subscribe"), ZTP_OK);
	ck_assert_int_eq(a, ZTP_POLICY_SUBSCRIBE);
	ck_assert_rc(ztp_policy_action_parse(&a, "receive"), ZTP_OK);
	ck_assert_int_eq(a, ZTP_POLICY_RECEIVE);
	ck_assert_rc(ztp_policy_action_parse(&a, "Publish"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_action_parse(&a, "*"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_action_parse(NULL, "publish"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_action_parse(&a, NULL), ZTP_EINVAL);
}
END_TEST

/* ----------------------------------------------------------------- matching */

static const struct {
	const char *filter, *topic;
	int want;
} name_table[] = {
    /* MQTT 3.1.1 §4.7.1.2 */
    {"sport/tennis/player1/#", "sport/tennis/player1", ZTP_OK},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", ZTP_OK},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", ZTP_OK},
    {"sport/tennis/player1/#", "sport/tennis/player2", ZTP_EDENIED},
    {"sport/tennis/player1/#", "sport/tennis", ZTP_EDENIED},
    {"sport/#", "sport", ZTP_OK},
    {"#", "sport/tennis", ZTP_OK},
    {"#", "/", ZTP_OK},
    /* §4.7.1.3 */
    {"sport/tennis/+", "sport/tennis/player1", ZTP_OK},
    {"sport/tennis/+", "sport/tennis/player2", ZTP_OK},
    {"sport/tennis/+", "sport/tennis/player1/ranking", ZTP_EDENIED},
    {"sport/+", "sport", ZTP_EDENIED},
    {"sport/+", "sport/", ZTP_OK},
    {"+/+", "/finance", ZTP_OK},
    {"/+", "/finance", ZTP_OK},
    {"+", "/finance", ZTP_EDENIED},
    {"+/tennis/#", "sport/tennis/player1", ZTP_OK},
    /* §4.7.2: wildcards in the first level do not match '$' topics */
    {"#", "$SYS/broker/uptime", ZTP_EDENIED},
    {"+/monitor/Clients", "$SYS/monitor/Clients", ZTP_EDENIED},
    {"+", "$SYS", ZTP_EDENIED},
    {"$SYS/#", "$SYS/monitor/Clients", ZTP_OK},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", ZTP_OK},
    {"a/+", "a/$b", ZTP_OK}, /* only the first level is special */
    /* §4.7.3: case-sensitive, empty levels are levels */
    {"ACCOUNTS", "Accounts", ZTP_EDENIED},
    {"Accounts payable", "Accounts payable", ZTP_OK},
    {"a//b", "a//b", ZTP_OK},
    {"a//b", "a/b", ZTP_EDENIED},
    {"a/+/b", "a//b", ZTP_OK},
    {"/", "/", ZTP_OK},
    {"a/b", "a/b/", ZTP_EDENIED},
    {"a/b/", "a/b/", ZTP_OK},
    {"a/b/c", "a/b", ZTP_EDENIED},
};

START_TEST(test_match_names)
{
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(name_table); i++) {
		ztp_policy *p = allow_only(name_table[i].filter);
		int a;

		for (a = PUB; a <= RCV; a += RCV - PUB) {
			int rc = az(p, "t1", "d1", a, name_table[i].topic);

			ck_assert_msg(rc == name_table[i].want,
				      "filter %s topic %s action %d: got %d",
				      name_table[i].filter, name_table[i].topic,
				      a, rc);
		}
		ztp_policy_free(p);
	}
}
END_TEST

START_TEST(test_match_many_statements)
{
	/* a literal fan-out of thousands of siblings behaves like one */
	ztp__buf b = {0};
	ztp_policy *p = NULL;
	char line[160];
	int i;

	ck_assert_rc(ztp__buf_append_str(&b, "{\"version\":\"2026-01\","
					     "\"statements\":["),
		     ZTP_OK);
	for (i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line),
			 "%s{\"sid\":\"s%d\",\"effect\":\"%s\",\"actions\":"
			 "[\"publish\"],\"resources\":[\"tenants/t%d/"
			 "devices/+/telemetry/#\"]}",
			 i ? "," : "", i, i % 7 == 3 ? "Deny" : "Allow", i);
		ck_assert_rc(ztp__buf_append_str(&b, line), ZTP_OK);
	}
	ck_assert_rc(ztp__buf_append_str(&b, "]}"), ZTP_OK);
	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, (char *)b.data, b.len), ZTP_OK);
	for (i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line),
			 "tenants/t%d/devices/x/telemetry/a", i);
		ck_assert_rc(az(p, NULL, NULL, PUB, line),
			     i % 7 == 3 ? ZTP_EDENIED : ZTP_OK);
		snprintf(line, sizeof(line), "tenants/t%d/devices/x/config", i);
		ck_assert_rc(az(p, NULL, NULL, PUB, line), ZTP_EDENIED);
	}
	ck_assert_rc(
	    az(p, NULL, NULL, PUB, "tenants/t3000/devices/x/telemetry"),
	    ZTP_EDENIED);
	ztp_policy_free(p);
	ztp__buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------ subsets */

static const struct {
	const char *allowed, *requested;
	int want;
} subset_table[] = {
    {"a/+/c", "a/b/c", ZTP_OK},
    {"a/+/c", "a/+/c", ZTP_OK},
    {"a/+/c", "a/#", ZTP_EDENIED},
    {"a/+/c", "a/+/+", ZTP_EDENIED},
    {"a/+/c", "+/b/c", ZTP_EDENIED},
    {"a/+/c", "a/b/c/d", ZTP_EDENIED},
    {"a/+/c", "a/b", ZTP_EDENIED},
    {"a/#", "a/+/x/#", ZTP_OK},
    {"a/#", "a", ZTP_OK},
    {"a/#", "a/#", ZTP_OK},
    {"a/#", "a/b", ZTP_OK},
    {"a/#", "a/+", ZTP_OK},
    {"a/#", "#", ZTP_EDENIED},
    {"a/#", "+/#", ZTP_EDENIED},
    {"a/#", "+", ZTP_EDENIED},
    {"a/+/#", "a/#", ZTP_EDENIED}, /* a/# also matches "a" */
    {"a/+/#", "a/b", ZTP_OK},
    {"a/+/#", "a/+", ZTP_OK},
    {"a/+/#", "a", ZTP_EDENIED},
    {"a/b", "a/b", ZTP_OK},
    {"a/b", "a/+", ZTP_EDENIED},
    {"a/b", "a/#", ZTP_EDENIED},
    {"#", "#", ZTP_OK},
    {"#", "+/x", ZTP_OK},
    {"#", "$SYS/#", ZTP_EDENIED},
    {"#", "$SYS", ZTP_EDENIED},
    {"+/#", "$SYS/a", ZTP_EDENIED},
    {"+/#", "+/+", ZTP_OK},
    {"$SYS/#", "$SYS/+", ZTP_OK},
    {"$SYS/#", "#", ZTP_EDENIED},
    {"+", "+", ZTP_OK},
    {"+", "/", ZTP_EDENIED},
};

START_TEST(test_subscribe_subset)
{
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(subset_table); i++) {
		ztp_policy *p = allow_only(subset_table[i].allowed);
		int rc = az(p, "t1", "d1", SUB, subset_table[i].requested);

		ck_assert_msg(rc == subset_table[i].want,
			      "allowed %s requested %s: got %d",
			      subset_table[i].allowed,
			      subset_table[i].requested, rc);
		ztp_policy_free(p);
	}
}
END_TEST

/* ---------------------------------------------------------------- reference */

/* A direct transcription of MQTT §4.7 over split levels, used to check the
 * compiled index on random filters: filter f matches topic t. */
#define REF_LEVELS 5
typedef struct ref_topic {
	const char *lv[REF_LEVELS + 1];
	int n;
} ref_topic;

static bool ref_match(const ref_topic *f, const ref_topic *t)
{
	int i;

	if (t->lv[0][0] == '$' &&
	    (strcmp(f->lv[0], "+") == 0 || strcmp(f->lv[0], "#") == 0))
		return false;
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->lv[i], "#") == 0)
			return true; /* also matches the parent (i == t->n) */
		if (i >= t->n)
			return false;
		if (strcmp(f->lv[i], "+") != 0 &&
		    strcmp(f->lv[i], t->lv[i]) != 0)
			return false;
	}
	return i == t->n;
}

static const char *const ref_vals[] = {"a", "b", "$s", "", "z"};
static ref_topic ref_universe[5 + 25 + 125 + 625 + 3125];
static int ref_count;

static void ref_build(ref_topic *cur, int depth)
{
	size_t v;

	if (depth > 0)
		ref_universe[ref_count++] = *cur;
	if (depth == REF_LEVELS)
		return;
	for (v = 0; v < ZTP__ARRAY_LEN(ref_vals); v++) {
		cur->lv[depth] = ref_vals[v];
		cur->n = depth + 1;
		ref_build(cur, depth + 1);
	}
}

/* Every topic (of the universe) that f matches, r matches too. Topics one
 * level deeper than the filters and the value "z" that no filter names
 * make the universe a witness for any difference. */
static bool ref_subset(const ref_topic *f, const ref_topic *r)
{
	int i;

	for (i = 0; i < ref_count; i++)
		if (ref_match(f, &ref_universe[i]) &&
		    !ref_match(r, &ref_universe[i]))
			return false;
	return true;
}

static bool ref_intersect(const ref_topic *f, const ref_topic *d)
{
	int i;

	for (i = 0; i < ref_count; i++)
		if (ref_match(f, &ref_universe[i]) &&
		    ref_match(d, &ref_universe[i]))
			return true;
	return false;
}

static unsigned ref_seed = 12345;

static unsigned ref_rand(void)
{
	ref_seed = ref_seed * 1103515245u + 12345u;
	return (ref_seed >> 16) & 0x7fff;
}

/* A random valid filter of 1..4 levels over a, b, $s, "", +, #. */
static void ref_filter(ref_topic *f, char *text, size_t cap)
{
	static const char *const lv[] = {"a", "b", "$s", "", "+", "#"};
	size_t len = 0;
	int i;

	f->n = 1 + (int)(ref_rand() % 4);
	for (i = 0; i < f->n; i++) {
		const char *v = lv[ref_rand() % 6];

		if (strcmp(v, "#") == 0 && i != f->n - 1)
			v = "+";
		if (f->n == 1 && v[0] == '\0')
			v = "b"; /* "" is not a filter */
		f->lv[i] = v;
		len += (size_t)snprintf(text + len, cap - len, "%s%s",
					i ? "/" : "", v);
	}
}

/* explain's decision and deciding statement index (-1: none) for a
 * publish of topic. */
static bool explained(ztp_policy *p, const char *topic, bool allow, int index)
{
	char *out = NULL, want[96];
	bool ok;

	if (ztp_policy_explain(&out, p, NULL, NULL, NULL, ZTP_POLICY_PUBLISH,
			       topic, strlen(topic)) != ZTP_OK)
		return false;
	if (index < 0)
		snprintf(want, sizeof(want),
			 "\"decision\":\"%s\",\"statement\""
			 ":null,\"index\":null",
			 allow ? "allow" : "deny");
	else
		snprintf(want, sizeof(want),
			 "\"decision\":\"%s\",\"statement\""
			 ":null,\"index\":%d",
			 allow ? "allow" : "deny", index);
	ok = strstr(out, want) != NULL;
	ztp_free(out);
	return ok;
}

START_TEST(test_reference_random)
{
	ref_topic cur, f, r[3], d;
	char ft[64], rt[3][64], dt[64], doc[1024];
	ztp_policy *p = NULL;
	int iter, i, k, mismatches = 0;

	ref_count = 0;
	memset(&cur, 0, sizeof(cur));
	ref_build(&cur, 0);
	for (iter = 0; iter < 300; iter++) {
		bool want_allow = false, want_deny;

		for (k = 0; k < 3; k++)
			ref_filter(&r[k], rt[k], sizeof(rt[k]));
		ref_filter(&d, dt, sizeof(dt));
		snprintf(doc, sizeof(doc),
			 "{\"version\":\"2026-01\",\"statements\":["
			 "{\"effect\":\"Allow\",\"actions\":[\"publish\","
			 "\"subscribe\"],\"resources\":[\"%s\",\"%s\",\"%s\"]},"
			 "{\"effect\":\"Deny\",\"actions\":[\"publish\","
			 "\"subscribe\"],\"resources\":[\"%s\"]}]}",
			 rt[0], rt[1], rt[2], dt);
		p = load(doc);
		/* subscribe: subset of one Allow, no intersection with Deny */
		for (k = 0; k < 10; k++) {
			ref_filter(&f, ft, sizeof(ft));
			want_allow = false;
			for (i = 0; i < 3; i++)
				want_allow =
				    want_allow || ref_subset(&f, &r[i]);
			want_deny = ref_intersect(&f, &d);
			if (az(p, NULL, NULL, SUB, ft) !=
			    (want_allow && !want_deny ? ZTP_OK : ZTP_EDENIED)) {
				mismatches++;
				fprintf(stderr,
					"subscribe %s: allow %s %s %s deny %s: "
					"want %s\n",
					ft, rt[0], rt[1], rt[2], dt,
					want_allow && !want_deny ? "allow"
								 : "deny");
			}
		}
		/* publish: every topic of the universe */
		for (i = 0; i < ref_count; i += 7) {
			const ref_topic *t = &ref_universe[i];
			char tt[64];
			size_t len = 0;
			int j;

			for (j = 0; j < t->n; j++)
				len += (size_t)snprintf(
				    tt + len, sizeof(tt) - len, "%s%s",
				    j ? "/" : "", t->lv[j]);
			want_allow = ref_match(&r[0], t) ||
				     ref_match(&r[1], t) || ref_match(&r[2], t);
			want_deny = ref_match(&d, t);
			if (az(p, NULL, NULL, PUB, tt) !=
			    (want_allow && !want_deny ? ZTP_OK : ZTP_EDENIED)) {
				mismatches++;
				fprintf(stderr,
					"publish %s: allow %s %s %s "
					"deny %s\n",
					tt, rt[0], rt[1], rt[2], dt);
			}
			/* explain walks the index its own way: same answer,
			 * and the statement that decided (0 Allow, 1 Deny) */
			if (!explained(p, tt, want_allow && !want_deny,
				       want_deny    ? 1
				       : want_allow ? 0
						    : -1)) {
				mismatches++;
				fprintf(stderr, "explain publish %s\n", tt);
			}
		}
		ztp_policy_free(p);
	}
	ck_assert_int_eq(mismatches, 0);
}
END_TEST

void policy_tcases_match(Suite *s)
{
	TCase *tc;

	POLICY_ADD(s, "action_parse", test_action_parse);
	POLICY_ADD(s, "authorize_names", test_match_names);
	POLICY_ADD(s, "authorize_fanout", test_match_many_statements);
	POLICY_ADD(s, "authorize_subscribe", test_subscribe_subset);
	POLICY_ADD(s, "authorize_reference", test_reference_random);
}
