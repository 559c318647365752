/*
 * Policy: MQTT matching (§4.7), filter subsets, Deny precedence, variables
 * and injection attempts, malformed input, explanations, namespaces, AWS
 * export, identities from certificates, hot reload under concurrent use.
 */
#include "core/internal.h"
#include "policy/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include <ztp/policy.h>

#include "testutil.h"

#define PUB ZTP_POLICY_PUBLISH
#define SUB ZTP_POLICY_SUBSCRIBE
#define RCV ZTP_POLICY_RECEIVE
#define CON ZTP_POLICY_CONNECT

static ztp_policy *load(const char *doc)
{
	ztp_policy *p = NULL;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, doc, strlen(doc)), ZTP_OK);
	return p;
}

/* A policy with one Allow statement for every action on resource r. */
static ztp_policy *allow_only(const char *r)
{
	char doc[1024];

	snprintf(doc, sizeof(doc),
		 "{\"version\":\"2026-01\",\"statements\":[{\"effect\":"
		 "\"Allow\",\"actions\":[\"publish\",\"subscribe\","
		 "\"receive\",\"connect\"],\"resources\":[\"%s\"]}]}",
		 r);
	return load(doc);
}

static int az(ztp_policy *p, const char *tenant, const char *device, int action,
	      const char *topic)
{
	return ztp_policy_authorize(p, tenant, device, NULL, action, topic,
				    strlen(topic));
}

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
static bool explained(ztp_policy *p, const char *topic, bool allow,
		      int index)
{
	char *out = NULL, want[96];
	bool ok;

	if (ztp_policy_explain(&out, p, NULL, NULL, NULL, ZTP_POLICY_PUBLISH,
			       topic, strlen(topic)) != ZTP_OK)
		return false;
	if (index < 0)
		snprintf(want, sizeof(want), "\"decision\":\"%s\",\"statement\""
			 ":null,\"index\":null",
			 allow ? "allow" : "deny");
	else
		snprintf(want, sizeof(want), "\"decision\":\"%s\",\"statement\""
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

/* ------------------------------------------------------------------ tenants */

static const char *const tenant_doc =
    "{\"version\":\"2026-01\",\"statements\":["
    "{\"sid\":\"connect\",\"effect\":\"Allow\",\"actions\":[\"connect\"],"
    "\"resources\":[\"${device}\"]},"
    "{\"sid\":\"own\",\"effect\":\"Allow\",\"actions\":[\"publish\","
    "\"subscribe\",\"receive\"],"
    "\"resources\":[\"tenants/${tenant}/devices/${device}/#\"]},"
    "{\"sid\":\"broadcast\",\"effect\":\"Allow\",\"actions\":"
    "[\"subscribe\",\"receive\"],"
    "\"resources\":[\"tenants/${tenant}/broadcast/#\"]},"
    "{\"sid\":\"no-secrets\",\"effect\":\"Deny\",\"actions\":[\"publish\","
    "\"subscribe\",\"receive\"],"
    "\"resources\":[\"tenants/${tenant}/devices/+/secret/#\"]}]}";

START_TEST(test_tenant_isolation)
{
	ztp_policy *p = load(tenant_doc);

	ck_assert_rc(az(p, "t1", "d1", CON, "d1"), ZTP_OK);
	ck_assert_rc(az(p, "t1", "d1", CON, "d2"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1/telemetry"),
		     ZTP_OK);
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1"), ZTP_OK);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/cmd/+"),
		     ZTP_OK);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/broadcast/#"), ZTP_OK);
	ck_assert_rc(az(p, "t1", "d1", RCV, "tenants/t1/broadcast/fw"), ZTP_OK);
	/* broadcast is read-only */
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/broadcast/fw"),
		     ZTP_EDENIED);
	/* another tenant's or device's topics */
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t2/devices/d1/telemetry"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", RCV, "tenants/t2/broadcast/fw"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d2/telemetry"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t2", "d1", PUB, "tenants/t1/devices/d1/telemetry"),
		     ZTP_EDENIED);
	/* wide subscriptions cannot widen the reach */
	ck_assert_rc(az(p, "t1", "d1", SUB, "#"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "+/#"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/+/devices/d1/#"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/+/#"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/#"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/#"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "$SYS/#"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", RCV, "$SYS/broker/uptime"), ZTP_EDENIED);
	/* the variable text itself is not a wildcard */
	ck_assert_rc(
	    az(p, "t1", "d1", PUB, "tenants/${tenant}/devices/${device}/x"),
	    ZTP_EDENIED);
	ztp_policy_free(p);
}
END_TEST

START_TEST(test_deny_precedence)
{
	ztp_policy *p = load(tenant_doc);
	const char *deny_first =
	    "{\"version\":\"2026-01\",\"statements\":["
	    "{\"effect\":\"Deny\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"a/b\"]},"
	    "{\"effect\":\"Allow\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"#\"]}]}";

	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1/secret"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1/secret/k"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1/secrets"),
		     ZTP_OK);
	/* a filter that could match a denied topic is refused */
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/#"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/+"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/+/k"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/cmd/#"),
		     ZTP_OK);
	/* "+" could be "secret", and the Deny's "#" covers "x/y" */
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/+/x/y"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", "d1", SUB, "tenants/t1/devices/d1/cmd/+/y"),
		     ZTP_OK);
	ztp_policy_free(p);

	p = load(deny_first);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a/b"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a/c"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a"), ZTP_OK);
	/* deny applies to its own action only */
	ck_assert_rc(az(p, NULL, NULL, SUB, "a/b"), ZTP_EDENIED);
	ztp_policy_free(p);

	/* an unknown identity value widens Deny and disables Allow */
	p = load(
	    "{\"version\":\"2026-01\",\"statements\":["
	    "{\"effect\":\"Allow\",\"actions\":[\"publish\",\"subscribe\"],"
	    "\"resources\":[\"x/#\"]},"
	    "{\"effect\":\"Deny\",\"actions\":[\"publish\",\"subscribe\"],"
	    "\"resources\":[\"x/${tenant}/#\"]},"
	    "{\"effect\":\"Allow\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"y/${tenant}\"]}]}");
	ck_assert_rc(az(p, "t1", NULL, PUB, "x/t2/a"), ZTP_OK);
	ck_assert_rc(az(p, "t1", NULL, PUB, "x/t1/a"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, PUB, "x/t2/a"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, PUB, "x"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, SUB, "x/+"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", NULL, SUB, "x/t2/#"), ZTP_OK);
	ck_assert_rc(az(p, "t1", NULL, SUB, "x/+/#"), ZTP_EDENIED);
	ck_assert_rc(az(p, "t1", NULL, PUB, "y/t1"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, PUB, "y/t1"), ZTP_EDENIED);
	ztp_policy_free(p);

	/* a requested '#' meets a Deny anywhere below, except '$' topics */
	p = load("{\"version\":\"2026-01\",\"statements\":["
		 "{\"effect\":\"Allow\",\"actions\":[\"subscribe\"],"
		 "\"resources\":[\"#\"]},"
		 "{\"effect\":\"Deny\",\"actions\":[\"subscribe\"],"
		 "\"resources\":[\"$SYS/#\", \"q/r/s\"]}]}");
	ck_assert_rc(az(p, NULL, NULL, SUB, "a/#"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, SUB, "q/#"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, SUB, "#"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, SUB, "+/r/+"), ZTP_EDENIED);
	ck_assert_rc(az(p, NULL, NULL, SUB, "+/x/+"), ZTP_OK);
	ztp_policy_free(p);
	p = load("{\"version\":\"2026-01\",\"statements\":["
		 "{\"effect\":\"Allow\",\"actions\":[\"subscribe\"],"
		 "\"resources\":[\"#\"]},"
		 "{\"effect\":\"Deny\",\"actions\":[\"subscribe\"],"
		 "\"resources\":[\"$SYS/#\"]}]}");
	ck_assert_rc(az(p, NULL, NULL, SUB, "#"), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, SUB, "+/+"), ZTP_OK);
	ztp_policy_free(p);
}
END_TEST

/* ---------------------------------------------------------------- injection */

START_TEST(test_variable_injection)
{
	static const char *const bad[] = {
	    "a/b",
	    "+",
	    "#",
	    "$x",
	    "",
	    " t1",
	    "t1 ",
	    "-t1",
	    ".t1",
	    "_t1",
	    "t1\x7f",
	    "t\xc3\xa9",
	    "${tenant}",
	    "0123456789012345678901234567890123456789012345678901234567890"
	    "1234"};
	ztp_policy *p = load(tenant_doc);
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		ck_assert_msg(az(p, bad[i], "d1", PUB,
				 "tenants/t1/devices/d1/x") == ZTP_EINVAL,
			      "tenant \"%s\" accepted", bad[i]);
		ck_assert_msg(az(p, "t1", bad[i], PUB,
				 "tenants/t1/devices/d1/x") == ZTP_EINVAL,
			      "device \"%s\" accepted", bad[i]);
		ck_assert_msg(az(p, bad[i], bad[i], SUB, "#") == ZTP_EINVAL,
			      "identity \"%s\" accepted", bad[i]);
	}
	/* the 64-byte maximum is accepted */
	ck_assert_rc(az(p, "t1",
			"0123456789012345678901234567890123456789012345678901"
			"234567890123",
			CON,
			"0123456789012345678901234567890123456789012345678901"
			"234567890123"),
		     ZTP_OK);
	ztp_policy_free(p);

	/* a client ID outside the grammar is "unknown", never substituted */
	p = load("{\"version\":\"2026-01\",\"statements\":["
		 "{\"effect\":\"Allow\",\"actions\":[\"publish\"],"
		 "\"resources\":[\"clients/${client_id}/#\"]}]}");
	ck_assert_rc(
	    ztp_policy_authorize(p, NULL, NULL, "c1", PUB, "clients/c1/x", 12),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_policy_authorize(p, NULL, NULL, "c2", PUB, "clients/c1/x", 12),
	    ZTP_EDENIED);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, "c1/x", PUB,
					  "clients/c1/x", 12),
		     ZTP_EDENIED);
	ck_assert_rc(
	    ztp_policy_authorize(p, NULL, NULL, "+", PUB, "clients/+", 9),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_policy_authorize(p, NULL, NULL, "#", PUB, "clients/c/x", 11),
	    ZTP_EDENIED);
	ztp_policy_free(p);
}
END_TEST

/* ---------------------------------------------------------------- malformed */

static const char *const bad_filters[] = {
    "a/#/b", "a+",   "+a", "a/b+", "a#",     "#a",
    "a/b#",  "a/#/", "##", "++",   "a/+b/c", "",
};
static const char *const bad_names[] = {"a/+", "+", "#", "a/#", "a/b#", ""};

START_TEST(test_malformed_at_check)
{
	ztp_policy *p = allow_only("#");
	char *big;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(bad_filters); i++)
		ck_assert_msg(az(p, NULL, NULL, SUB, bad_filters[i]) ==
				  ZTP_EINVAL,
			      "filter \"%s\" accepted", bad_filters[i]);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_names); i++) {
		ck_assert_msg(az(p, NULL, NULL, PUB, bad_names[i]) ==
				  ZTP_EINVAL,
			      "name \"%s\" accepted", bad_names[i]);
		ck_assert_msg(az(p, NULL, NULL, RCV, bad_names[i]) ==
				  ZTP_EINVAL,
			      "name \"%s\" accepted", bad_names[i]);
	}
	/* NUL inside the given length */
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, PUB, "a\0b", 3),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, SUB, "a\0b", 3),
		     ZTP_EINVAL);
	/* ill-formed UTF-8: stray continuation, overlong '/', surrogate,
	 * above U+10FFFF, truncated sequence; well-formed is fine */
	{
		static const char *const bad_utf8[] = {"a/\x80",
						       "a\xc0\xaf"
						       "b",
						       "\xed\xa0\x80",
						       "\xf4\x90\x80\x80",
						       "a\xe2\x82",
						       "\xff"};

		for (i = 0; i < ZTP__ARRAY_LEN(bad_utf8); i++) {
			ck_assert_msg(az(p, NULL, NULL, PUB, bad_utf8[i]) ==
					  ZTP_EINVAL,
				      "bad UTF-8 %zu accepted", i);
			ck_assert_msg(az(p, NULL, NULL, SUB, bad_utf8[i]) ==
					  ZTP_EINVAL,
				      "bad UTF-8 %zu accepted", i);
		}
		ck_assert_rc(az(p, NULL, NULL, PUB,
				"caf\xc3\xa9/\xe2\x82\xac/"
				"\xf0\x9f\x98\x80"),
			     ZTP_OK);
	}
	/* MQTT's length limit */
	big = malloc(65536);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 65536);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, PUB, big, 65535),
		     ZTP_OK);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, PUB, big, 65536),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, SUB, big, 65536),
		     ZTP_EINVAL);
	free(big);
	/* bad arguments */
	ck_assert_rc(ztp_policy_authorize(NULL, NULL, NULL, NULL, PUB, "a", 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, PUB, NULL, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, 0, "a", 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_policy_authorize(p, NULL, NULL, NULL, 5, "a", 1),
		     ZTP_EINVAL);
	ztp_policy_free(p);
}
END_TEST

static const char *const bad_docs[] = {
    "",
    "[]",
    "{\"version\":\"2026-01\"}",
    "{\"version\":\"2026-01\",\"statements\":[]}",
    "{\"version\":\"2012-10-17\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a\"]}],\"extra\":1}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a\"],\"Condition\":{}}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"iot:Publish\"],\"resources\":[\"a\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\",\"publish\"],\"resources\":[\"a\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[],\"resources\":[\"a\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[1]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":\"a\"}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"sid\":\"\",\"effect\":"
    "\"Allow\",\"actions\":[\"publish\"],\"resources\":[\"a\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a\\u0000b\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"dev-${device}\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"${iot:ClientId}\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a/${Device}\"]}]}",
    "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"Allow\","
    "\"actions\":[\"publish\"],\"resources\":[\"a\"]},]}",
};

START_TEST(test_load_rejects)
{
	ztp_policy *p = NULL;
	char doc[512];
	ztp__buf b = {0};
	size_t i;
	int rc;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_docs); i++) {
		rc = ztp_policy_load(p, bad_docs[i], strlen(bad_docs[i]));
		ck_assert_msg(rc == ZTP_EPARSE || rc == ZTP_ETOOBIG,
			      "doc %zu loaded (rc %d)", i, rc);
	}
	for (i = 0; i < ZTP__ARRAY_LEN(bad_filters); i++) {
		snprintf(doc, sizeof(doc),
			 "{\"version\":\"2026-01\",\"statements\":[{\"effect\":"
			 "\"Allow\",\"actions\":[\"subscribe\"],\"resources\":"
			 "[\"ok/#\",\"%s\"]}]}",
			 bad_filters[i]);
		ck_assert_msg(ztp_policy_load(p, doc, strlen(doc)) ==
				  ZTP_EPARSE,
			      "resource \"%s\" loaded", bad_filters[i]);
		/* what failed to load denies everything */
		ck_assert_rc(az(p, NULL, NULL, SUB, "ok/x"), ZTP_EDENIED);
	}
	/* too many levels; the longest legal resource */
	ck_assert_rc(ztp__buf_append_str(&b,
					 "{\"version\":\"2026-01\","
					 "\"statements\":[{\"effect\":"
					 "\"Allow\",\"actions\":[\"publish\"],"
					 "\"resources\":[\"a"),
		     ZTP_OK);
	for (i = 1; i < 64; i++)
		ck_assert_rc(ztp__buf_append_str(&b, "/a"), ZTP_OK);
	ck_assert_rc(ztp__buf_append_str(&b, "\"]}]}"), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, (char *)b.data, b.len), ZTP_OK);
	b.len -= 5;
	ck_assert_rc(ztp__buf_append_str(&b, "/a\"]}]}"), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, (char *)b.data, b.len), ZTP_EPARSE);
	ztp__buf_free(&b);
	ck_assert_rc(ztp_policy_load(NULL, "{}", 2), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_load(p, NULL, 2), ZTP_EINVAL);
	ztp_policy_free(p);
	ztp_policy_free(NULL);
}
END_TEST

START_TEST(test_fail_closed)
{
	ztp_policy *p = NULL;
	const char *good = "{\"version\":\"2026-01\",\"statements\":["
			   "{\"effect\":\"Allow\",\"actions\":[\"publish\"],"
			   "\"resources\":[\"#\"]}]}";
	char *tmp, *path;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	/* a new handle has no policy */
	ck_assert_rc(az(p, NULL, NULL, PUB, "a"), ZTP_EDENIED);
	ck_assert_rc(ztp_policy_load(p, good, strlen(good)), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a"), ZTP_OK);
	/* a failed reload does not keep serving the previous policy */
	ck_assert_rc(ztp_policy_load(p, good, strlen(good) - 1), ZTP_EPARSE);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a"), ZTP_EDENIED);
	ck_assert_rc(ztp_policy_load(p, good, strlen(good)), ZTP_OK);
	tmp = ztp_test_tmpdir();
	path = ztp_test_path(tmp, "missing.json");
	ck_assert_rc(ztp_policy_load_file(p, path), ZTP_ENOTFOUND);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a"), ZTP_EDENIED);
	ck_assert_rc(ztp__file_write_atomic(path, good, strlen(good), 0600),
		     ZTP_OK);
	ck_assert_rc(ztp_policy_load_file(p, path), ZTP_OK);
	ck_assert_rc(az(p, NULL, NULL, PUB, "a"), ZTP_OK);
	ztp_test_rmtree(tmp);
	free(path);
	free(tmp);
	ztp_policy_free(p);
}
END_TEST

/* --------------------------------------------------------------------- lint */

START_TEST(test_lint)
{
	char *out = NULL, *doc = NULL;
	json_object *o, *w;
	const char *wide =
	    "{\"version\":\"2026-01\",\"statements\":["
	    "{\"sid\":\"s\",\"effect\":\"Allow\",\"actions\":[\"connect\"],"
	    "\"resources\":[\"+\"]},"
	    "{\"sid\":\"s\",\"effect\":\"Allow\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"tenants/+/devices/${device}/#\","
	    "\"tenants/${tenant}/devices/+/x\",\"tenants/acme/x\"]},"
	    "{\"effect\":\"Deny\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"#\"]}]}";

	ck_assert_rc(ztp_policy_default_document(&doc), ZTP_OK);
	ck_assert_rc(ztp_policy_lint(&out, doc, strlen(doc)), ZTP_OK);
	ck_assert_str_eq(out, "{\"valid\":true,\"statements\":3,"
			      "\"resources\":3,\"warnings\":[],"
			      "\"truncated\":false}");
	ztp_free(out);
	ztp_free(doc);

	ck_assert_rc(ztp_policy_lint(&out, wide, strlen(wide)), ZTP_OK);
	o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "warnings", &w));
	/* wildcard first level + connect not pinned (statement 0), two
	 * cross-tenant grants and one cross-device write (statement 1), the
	 * repeated sid; nothing for the Deny */
	ck_assert_int_eq((int)json_object_array_length(w), 6);
	ck_assert_ptr_nonnull(strstr(out, "reaches other tenants"));
	ck_assert_ptr_nonnull(strstr(out, "writes to other devices"));
	ck_assert_ptr_nonnull(strstr(out, "not pinned"));
	ck_assert_ptr_nonnull(strstr(out, "sid used by an earlier"));
	json_object_put(o);
	ztp_free(out);
	out = NULL;

	ck_assert_rc(ztp_policy_lint(&out, "{}", 2), ZTP_EPARSE);
	ck_assert_ptr_null(out);
	ck_assert_rc(ztp_policy_lint(NULL, "{}", 2), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ explain */

static json_object *explain(ztp_policy *p, const char *tenant,
			    const char *device, int action, const char *topic)
{
	char *out = NULL;
	json_object *o;

	ck_assert_rc(ztp_policy_explain(&out, p, tenant, device, NULL, action,
					topic, strlen(topic)),
		     ZTP_OK);
	o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	ztp_free(out);
	return o;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, k, &v) || !v)
		return "(null)";
	return json_object_get_string(v);
}

START_TEST(test_explain)
{
	ztp_policy *p = load(tenant_doc);
	json_object *o;
	char *out = NULL;

	o = explain(p, "t1", "d1", PUB, "tenants/t1/devices/d1/telemetry");
	ck_assert_str_eq(jstr(o, "decision"), "allow");
	ck_assert_str_eq(jstr(o, "statement"), "own");
	ck_assert_str_eq(jstr(o, "index"), "1");
	ck_assert_str_eq(jstr(o, "effect"), "Allow");
	json_object_put(o);

	o = explain(p, "t1", "d1", PUB, "tenants/t1/devices/d1/secret/x");
	ck_assert_str_eq(jstr(o, "decision"), "deny");
	ck_assert_str_eq(jstr(o, "statement"), "no-secrets");
	ck_assert_str_eq(jstr(o, "effect"), "Deny");
	json_object_put(o);

	o = explain(p, "t1", "d1", SUB, "tenants/t1/devices/d1/#");
	ck_assert_str_eq(jstr(o, "decision"), "deny");
	ck_assert_str_eq(jstr(o, "statement"), "no-secrets");
	json_object_put(o);

	o = explain(p, "t1", "d1", SUB, "#");
	ck_assert_str_eq(jstr(o, "decision"), "deny");
	ck_assert_str_eq(jstr(o, "statement"), "no-secrets");
	json_object_put(o);

	o = explain(p, "t1", "d1", PUB, "tenants/t2/devices/d1/x");
	ck_assert_str_eq(jstr(o, "decision"), "deny");
	ck_assert_str_eq(jstr(o, "statement"), "(null)");
	ck_assert_ptr_nonnull(strstr(jstr(o, "reason"), "no Allow"));
	json_object_put(o);

	o = explain(p, "t1", "d1", SUB, "a/#/b");
	ck_assert_str_eq(jstr(o, "decision"), "deny");
	ck_assert_ptr_nonnull(strstr(jstr(o, "reason"), "'#'"));
	json_object_put(o);

	o = explain(p, "a/b", "d1", PUB, "x");
	ck_assert_str_eq(jstr(o, "decision"), "deny");
	json_object_put(o);

	ck_assert_rc(ztp_policy_explain(NULL, p, NULL, NULL, NULL, PUB, "a", 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_policy_explain(&out, p, NULL, NULL, NULL, 9, "a", 1),
		     ZTP_EINVAL);
	ck_assert_ptr_null(out);
	ztp_policy_free(p);
}
END_TEST

/* --------------------------------------------------------------- namespaces */

/* Tenants with the same rules share one compiled subtree; explain must
 * still name each tenant's own statements, and tenants whose rules differ
 * must not be merged with the others. */
#define SHARED_TENANTS 40

static long json_int(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, k, &v) || !v)
		return -1;
	return (long)json_object_get_int64(v);
}

static void expect_explain(ztp_policy *p, int action, const char *topic,
			   const char *decision, const char *sid, long index)
{
	json_object *o = explain(p, NULL, NULL, action, topic);

	ck_assert_msg(strcmp(jstr(o, "decision"), decision) == 0 &&
			  strcmp(jstr(o, "statement"), sid) == 0 &&
			  json_int(o, "index") == index,
		      "%s: got %s by %s (%ld), want %s by %s (%ld)", topic,
		      jstr(o, "decision"), jstr(o, "statement"),
		      json_int(o, "index"), decision, sid, index);
	ck_assert_rc(az(p, NULL, NULL, action, topic),
		     strcmp(decision, "allow") == 0 ? ZTP_OK : ZTP_EDENIED);
	json_object_put(o);
}

START_TEST(test_shared_subtrees)
{
	size_t cap = 64 * 1024, len = 0;
	char *doc = malloc(cap), topic[128];
	char *stats = NULL;
	json_object *o;
	ztp_policy *p;
	long idx = 0, first[SHARED_TENANTS];
	int t;

	ck_assert_ptr_nonnull(doc);
	len += (size_t)snprintf(doc + len, cap - len,
				"{\"version\":\"2026-01\",\"statements\":[");
	for (t = 0; t < SHARED_TENANTS; t++) {
		char tele[64], ev[64];
		/* every third tenant lists its resources in another order */
		bool rev = t % 3 == 0;

		snprintf(tele, sizeof(tele), "tenants/t%d/devices/+/telemetry/#",
			 t);
		snprintf(ev, sizeof(ev), "tenants/t%d/events/+", t);
		first[t] = idx;
		len += (size_t)snprintf(
		    doc + len, cap - len,
		    "%s{\"sid\":\"t%d-pub\",\"effect\":\"Allow\","
		    "\"actions\":[\"publish\"],\"resources\":[\"%s\",\"%s\"]},"
		    "{\"sid\":\"t%d-deny\",\"effect\":\"Deny\","
		    "\"actions\":[\"publish\"],\"resources\":"
		    "[\"tenants/t%d/devices/+/telemetry/raw/#\"]}",
		    t ? "," : "", t, rev ? ev : tele, rev ? tele : ev, t, t);
		idx += 2;
		/* odd tenants lack the wide statement: another shape */
		if (t % 2 == 0) {
			len += (size_t)snprintf(
			    doc + len, cap - len,
			    ",{\"sid\":\"t%d-wide\",\"effect\":\"Allow\","
			    "\"actions\":[\"publish\",\"subscribe\"],"
			    "\"resources\":[\"tenants/t%d/#\"]}",
			    t, t);
			idx++;
		}
	}
	len += (size_t)snprintf(doc + len, cap - len, "]}");
	ck_assert_uint_lt(len, cap);
	p = load(doc);

	for (t = 0; t < SHARED_TENANTS; t++) {
		char pub[32], deny[32], wide[32];

		snprintf(pub, sizeof(pub), "t%d-pub", t);
		snprintf(deny, sizeof(deny), "t%d-deny", t);
		snprintf(wide, sizeof(wide), "t%d-wide", t);
		snprintf(topic, sizeof(topic),
			 "tenants/t%d/devices/d1/telemetry/temp", t);
		expect_explain(p, PUB, topic, "allow", pub, first[t]);
		snprintf(topic, sizeof(topic), "tenants/t%d/events/e", t);
		expect_explain(p, PUB, topic, "allow", pub, first[t]);
		snprintf(topic, sizeof(topic),
			 "tenants/t%d/devices/d1/telemetry/raw/adc", t);
		expect_explain(p, PUB, topic, "deny", deny, first[t] + 1);
		snprintf(topic, sizeof(topic), "tenants/t%d/other", t);
		if (t % 2 == 0)
			expect_explain(p, PUB, topic, "allow", wide,
				       first[t] + 2);
		else
			expect_explain(p, PUB, topic, "deny", "(null)", -1);
		snprintf(topic, sizeof(topic), "tenants/t%d/events/+", t);
		if (t % 2 == 0)
			expect_explain(p, SUB, topic, "allow", wide,
				       first[t] + 2);
		else
			expect_explain(p, SUB, topic, "deny", "(null)", -1);
		/* the deny reaches a subscription through '#' */
		snprintf(topic, sizeof(topic), "tenants/t%d/devices/+/#", t);
		if (t % 2 == 0)
			expect_explain(p, SUB, topic, "allow", wide,
				       first[t] + 2);
		/* another tenant's topic is not this tenant's */
		snprintf(topic, sizeof(topic), "tenants/t%d/other",
			 SHARED_TENANTS + t);
		expect_explain(p, PUB, topic, "deny", "(null)", -1);
	}

	/* 40 tenants of two shapes compile to a handful of distinct nodes
	 * (without sharing: more than 40 x 8) */
	ck_assert_rc(ztp_policy_stats(&stats, p), ZTP_OK);
	o = json_tokener_parse(stats);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_gt(json_int(o, "nodes"), 0);
	ck_assert_int_lt(json_int(o, "nodes"), 40);
	json_object_put(o);
	ztp_free(stats);
	ztp_policy_free(p);
	free(doc);
}
END_TEST

START_TEST(test_namespace)
{
	char *out = NULL;
	ztp_policy *p = NULL;

	ck_assert_rc(ztp_policy_namespace(&out, "acme", "dev-1"), ZTP_OK);
	ck_assert_str_eq(out, "{\"tenant\":\"acme\",\"device\":\"dev-1\","
			      "\"prefix\":\"tenants/acme/devices/dev-1/\","
			      "\"filter\":\"tenants/acme/devices/dev-1/#\","
			      "\"broadcast\":\"tenants/acme/broadcast/#\"}");
	ztp_free(out);
	out = NULL;
	ck_assert_rc(ztp_policy_namespace(&out, "ac/me", "d"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_namespace(&out, "acme", "+"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_namespace(&out, "acme", "#"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_namespace(&out, "$SYS", "d"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_namespace(&out, NULL, "d"), ZTP_EINVAL);
	ck_assert_ptr_null(out);

	/* the default document is loadable and confines to the namespace */
	ck_assert_rc(ztp_policy_default_document(&out), ZTP_OK);
	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, out, strlen(out)), ZTP_OK);
	ztp_free(out);
	ck_assert_rc(
	    az(p, "acme", "dev-1", PUB, "tenants/acme/devices/dev-1/x"),
	    ZTP_OK);
	ck_assert_rc(az(p, "acme", "dev-1", SUB, "tenants/acme/broadcast/#"),
		     ZTP_OK);
	ck_assert_rc(az(p, "acme", "dev-1", PUB, "tenants/acme/broadcast/x"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "acme", "dev-1", SUB, "tenants/acme/#"),
		     ZTP_EDENIED);
	ck_assert_rc(az(p, "acme", "dev-1", CON, "dev-1"), ZTP_OK);
	ck_assert_rc(az(p, "acme", "dev-1", CON, "dev-2"), ZTP_EDENIED);
	/* a device without a tenant gets nothing tenant-scoped */
	ck_assert_rc(az(p, NULL, "dev-1", PUB, "tenants/acme/devices/dev-1/x"),
		     ZTP_EDENIED);
	ck_assert_rc(ztp_policy_stats(&out, p), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"statements\":3"));
	ck_assert_ptr_nonnull(strstr(out, "\"loaded\":true"));
	ztp_free(out);
	ztp_policy_free(p);
}
END_TEST

/* ------------------------------------------------------------------- export */

static int export_one(char **out, const char *resource, const char *effect,
		      const char *actions)
{
	ztp_policy *p = NULL;
	char doc[512];
	int rc;

	snprintf(doc, sizeof(doc),
		 "{\"version\":\"2026-01\",\"statements\":[{\"effect\":\"%s\","
		 "\"actions\":[%s],\"resources\":[\"%s\"]}]}",
		 effect, actions, resource);
	p = load(doc);
	rc = ztp_policy_export(out, p, "aws-iot", "acme");
	ztp_policy_free(p);
	return rc;
}

START_TEST(test_export_aws)
{
	ztp_policy *p = NULL;
	char *out = NULL, *doc = NULL;

	ck_assert_rc(ztp_policy_default_document(&doc), ZTP_OK);
	p = load(doc);
	ztp_free(doc);
	ck_assert_rc(ztp_policy_export(&out, p, "aws-iot", "acme"), ZTP_OK);
	ck_assert_str_eq(
	    out,
	    "{\"Version\":\"2012-10-17\",\"Statement\":["
	    "{\"Effect\":\"Allow\",\"Action\":[\"iot:Connect\"],"
	    "\"Resource\":[\"arn:aws:iot:*:*:client/"
	    "${iot:Connection.Thing.ThingName}\"]},"
	    "{\"Effect\":\"Allow\",\"Action\":[\"iot:Publish\","
	    "\"iot:Receive\"],\"Resource\":["
	    "\"arn:aws:iot:*:*:topic/tenants/acme/devices/"
	    "${iot:Connection.Thing.ThingName}\","
	    "\"arn:aws:iot:*:*:topic/tenants/acme/devices/"
	    "${iot:Connection.Thing.ThingName}/*\"]},"
	    "{\"Effect\":\"Allow\",\"Action\":[\"iot:Subscribe\"],"
	    "\"Resource\":["
	    "\"arn:aws:iot:*:*:topicfilter/tenants/acme/devices/"
	    "${iot:Connection.Thing.ThingName}\","
	    "\"arn:aws:iot:*:*:topicfilter/tenants/acme/devices/"
	    "${iot:Connection.Thing.ThingName}/*\"]},"
	    "{\"Effect\":\"Allow\",\"Action\":[\"iot:Receive\"],"
	    "\"Resource\":["
	    "\"arn:aws:iot:*:*:topic/tenants/acme/broadcast\","
	    "\"arn:aws:iot:*:*:topic/tenants/acme/broadcast/*\"]},"
	    "{\"Effect\":\"Allow\",\"Action\":[\"iot:Subscribe\"],"
	    "\"Resource\":["
	    "\"arn:aws:iot:*:*:topicfilter/tenants/acme/broadcast\","
	    "\"arn:aws:iot:*:*:topicfilter/tenants/acme/broadcast/*\"]}]}");
	ztp_free(out);
	out = NULL;
	ck_assert_rc(ztp_policy_export(&out, p, "aws-iot", "a/b"), ZTP_EINVAL);
	ck_assert_rc(ztp_policy_export(&out, p, "azure", "acme"),
		     ZTP_EUNSUPPORTED);
	ztp_policy_free(p);

	/* exact conversions */
	ck_assert_rc(
	    export_one(&out, "a/${client_id}/c", "Deny", "\"publish\""),
	    ZTP_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"Effect\":\"Deny\""));
	ck_assert_ptr_nonnull(
	    strstr(out, "\"arn:aws:iot:*:*:topic/a/${iot:ClientId}/c\""));
	ztp_free(out);
	out = NULL;
	/* no exact equivalent: refused, not approximated */
	ck_assert_rc(export_one(&out, "a/+/c", "Allow", "\"publish\""),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(export_one(&out, "a/+", "Allow", "\"subscribe\""),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(export_one(&out, "#", "Allow", "\"publish\""),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(export_one(&out, "a/b*", "Allow", "\"publish\""),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(export_one(&out, "a/b?", "Allow", "\"publish\""),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(export_one(&out, "a/b", "Deny", "\"subscribe\""),
		     ZTP_EUNSUPPORTED);
	ck_assert_ptr_null(out);

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_export(&out, p, "aws-iot", "acme"), ZTP_ESTATE);
	ztp_policy_free(p);
}
END_TEST

/* ----------------------------------------------------------------- identity */

typedef struct pki {
	EVP_PKEY *ca_key, *other_key, *leaf_key;
	X509 *ca, *other;
	char *ca_pem, *other_pem;
} pki;

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer,
		       const char *cn, bool ca, const char *san,
		       int64_t not_before, int64_t not_after)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	static long serial = 1;

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext =
	    X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
				  ca ? "critical,keyCertSign,cRLSign"
				     : "critical,digitalSignature");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext =
	    X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (issuer) {
		ext = X509V3_EXT_conf_nid(
		    NULL, &v3, NID_authority_key_identifier, "keyid");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!ca) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage,
					  "clientAuth");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (san) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		ck_assert_ptr_nonnull(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(x, signer, EVP_sha256()), 0);
	return x;
}

static char *to_pem(X509 *x)
{
	char *pem = NULL;

	ck_assert_rc(ztp__cert_to_pem(&pem, x), ZTP_OK);
	return pem;
}

static const int64_t now_t = 1800000000; /* 2027-01-15 */

static void pki_init(pki *k)
{
	ck_assert_rc(ztp__key_generate(&k->ca_key, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&k->other_key, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&k->leaf_key, "ec-p256"), ZTP_OK);
	k->ca = make_cert(k->ca_key, k->ca_key, NULL, "Device CA", true, NULL,
			  now_t - 86400, now_t + 86400 * 365);
	k->other = make_cert(k->other_key, k->other_key, NULL, "Device CA",
			     true, NULL, now_t - 86400, now_t + 86400 * 365);
	k->ca_pem = to_pem(k->ca);
	k->other_pem = to_pem(k->other);
}

static void pki_free(pki *k)
{
	EVP_PKEY_free(k->ca_key);
	EVP_PKEY_free(k->other_key);
	EVP_PKEY_free(k->leaf_key);
	X509_free(k->ca);
	X509_free(k->other);
	ztp_free(k->ca_pem);
	ztp_free(k->other_pem);
}

static char *leaf(pki *k, bool other_ca, const char *san, int64_t nb,
		  int64_t na)
{
	X509 *x =
	    make_cert(k->leaf_key, other_ca ? k->other_key : k->ca_key,
		      other_ca ? k->other : k->ca, "dev-1", false, san, nb, na);
	char *pem = to_pem(x);

	X509_free(x);
	return pem;
}

static int ident(char **out, ztp_policy *p, const char *pem)
{
	return ztp_policy_identity_from_cert(out, p, pem, strlen(pem));
}

START_TEST(test_identity_from_cert)
{
	int64_t now = now_t;
	ztp_policy *p = NULL;
	char *out = NULL, *pem, *dev = NULL, *ten = NULL;
	const char *both = "URI:urn:ztp:device:dev-1,URI:urn:ztp:tenant:acme";
	pki k;

	memset(&k, 0, sizeof(k));
	pki_init(&k);
	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_set_clock(p, ztp_clock_fixed, &now), ZTP_OK);

	pem = leaf(&k, false, both, now_t - 60, now_t + 3600);
	/* no device CA configured yet */
	ck_assert_rc(ident(&out, p, pem), ZTP_ESTATE);
	/* a leaf is not a CA */
	ck_assert_rc(ztp_policy_add_ca_pem(p, pem, strlen(pem)), ZTP_EPROFILE);
	ck_assert_rc(ztp_policy_add_ca_pem(p, k.ca_pem, strlen(k.ca_pem)),
		     ZTP_OK);
	ck_assert_rc(ident(&out, p, pem), ZTP_OK);
	ck_assert_str_eq(out, "{\"device\":\"dev-1\",\"tenant\":\"acme\"}");
	ztp_free(out);
	out = NULL;
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_OK);
	ck_assert_str_eq(dev, "dev-1");
	ck_assert_str_eq(ten, "acme");
	ztp_free(dev);
	ztp_free(ten);

	/* validity follows the handle's clock */
	now = now_t + 7200;
	ck_assert_rc(ident(&out, p, pem), ZTP_EEXPIRED);
	now = now_t - 3600;
	ck_assert_rc(ident(&out, p, pem), ZTP_EEXPIRED);
	now = now_t;
	ztp_free(pem);

	/* not activated yet: no tenant */
	pem = leaf(&k, false, "URI:urn:ztp:device:dev-1", now_t - 60,
		   now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_OK);
	ck_assert_str_eq(out, "{\"device\":\"dev-1\",\"tenant\":null}");
	ztp_free(out);
	out = NULL;
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_OK);
	ck_assert_ptr_null(ten);
	ztp_free(dev);
	ztp_free(pem);

	/* the CN alone is never an identity */
	pem = leaf(&k, false, "URI:https://example.com/dev-1", now_t - 60,
		   now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EPROFILE);
	ztp_free(pem);
	pem = leaf(&k, false, NULL, now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EPROFILE);
	ztp_free(pem);
	/* two device URIs, a SAN that disagrees with the CN (the one identity
	 * rule: the verifier refuses the same certificate the same way), or
	 * an identifier outside the grammar */
	pem =
	    leaf(&k, false, "URI:urn:ztp:device:dev-1,URI:urn:ztp:device:dev-2",
		 now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EMISMATCH);
	ztp_free(pem);
	pem = leaf(&k, false, "URI:urn:ztp:device:dev-2,URI:urn:ztp:tenant:acme",
		   now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EMISMATCH);
	ck_assert_ptr_null(out);
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_EMISMATCH);
	ck_assert_ptr_null(dev);
	ck_assert_ptr_null(ten);
	ztp_free(pem);
	pem = leaf(&k, false, "URI:URN:ZTP:DEVICE:dev-2", now_t - 60,
		   now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EMISMATCH);
	ztp_free(pem);
	pem = leaf(&k, false, "URI:urn:ztp:device:dev-1,URI:urn:ztp:tenant:a+b",
		   now_t - 60, now_t + 3600);
	ck_assert_int_lt(ident(&out, p, pem), 0);
	ztp_free(pem);

	/* issued by a CA that is not configured (same name, other key) */
	pem = leaf(&k, true, both, now_t - 60, now_t + 3600);
	ck_assert_rc(ident(&out, p, pem), ZTP_EUNTRUSTED);
	ztp_free(pem);
	/* the CA itself is not a client */
	ck_assert_rc(ident(&out, p, k.ca_pem), ZTP_EPROFILE);
	ck_assert_rc(ident(&out, p, "garbage"), ZTP_EPARSE);
	ck_assert_ptr_null(out);

	ztp_policy_free(p);
	pki_free(&k);
}
END_TEST

/* ------------------------------------------------------------------- reload */

typedef struct reload_ctx {
	ztp_policy *p;
	atomic_int stop;
	int bad; /* decisions outside what either policy allows */
} reload_ctx;

static const char *const gen_a =
    "{\"version\":\"2026-01\",\"statements\":[{\"sid\":\"A\",\"effect\":"
    "\"Allow\",\"actions\":[\"publish\",\"subscribe\"],\"resources\":"
    "[\"tenants/${tenant}/devices/${device}/#\"]}]}";
static const char *const gen_b =
    "{\"version\":\"2026-01\",\"statements\":[{\"sid\":\"B\",\"effect\":"
    "\"Allow\",\"actions\":[\"publish\",\"subscribe\"],\"resources\":"
    "[\"tenants/${tenant}/devices/${device}/#\"]},{\"sid\":\"B-deny\","
    "\"effect\":\"Deny\",\"actions\":[\"publish\"],\"resources\":"
    "[\"tenants/${tenant}/devices/${device}/fw\"]}]}";

static void *reload_reader(void *arg)
{
	reload_ctx *c = arg;
	int i = 0;

	while (!atomic_load(&c->stop) || i < 1000) {
		const char *t = "tenants/t1/devices/d1/telemetry";
		char *out = NULL;
		int rc;

		rc = ztp_policy_authorize(c->p, "t1", "d1", NULL, PUB, t,
					  strlen(t));
		if (rc != ZTP_OK && rc != ZTP_EDENIED)
			c->bad++;
		/* never another tenant, whichever snapshot is current */
		rc = az(c->p, "t1", "d1", SUB, "tenants/+/devices/d1/#");
		if (rc != ZTP_EDENIED)
			c->bad++;
		if (i % 16 == 0) {
			if (ztp_policy_explain(&out, c->p, "t1", "d1", NULL,
					       PUB, t, strlen(t)) != ZTP_OK)
				c->bad++;
			else if (!strstr(out, "\"statement\":\"A\"") &&
				 !strstr(out, "\"statement\":\"B\"") &&
				 !strstr(out, "no policy loaded"))
				c->bad++;
			ztp_free(out);
		}
		i++;
	}
	return NULL;
}

START_TEST(test_reload_concurrent)
{
	pthread_t th[4];
	reload_ctx c;
	int i;

	memset(&c, 0, sizeof(c));
	atomic_init(&c.stop, 0);
	ck_assert_rc(ztp_policy_new(&c.p), ZTP_OK);
	ck_assert_rc(ztp_policy_load(c.p, gen_a, strlen(gen_a)), ZTP_OK);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, reload_reader, &c), 0);
	for (i = 0; i < 200; i++) {
		const char *d = i % 3 == 0 ? gen_a : gen_b;

		if (i % 10 == 9)
			ck_assert_rc(ztp_policy_load(c.p, "{", 1), ZTP_EPARSE);
		else
			ck_assert_rc(ztp_policy_load(c.p, d, strlen(d)),
				     ZTP_OK);
	}
	ck_assert_rc(ztp_policy_load(c.p, gen_b, strlen(gen_b)), ZTP_OK);
	atomic_store(&c.stop, 1);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(c.bad, 0);
	ck_assert_rc(az(c.p, "t1", "d1", PUB, "tenants/t1/devices/d1/fw"),
		     ZTP_EDENIED);
	ck_assert_rc(az(c.p, "t1", "d1", PUB, "tenants/t1/devices/d1/x"),
		     ZTP_OK);
	ztp_policy_free(c.p);
}
END_TEST

/* Short-lived threads: each decides a few times and exits, so per-thread
 * reader records are taken, given back and reused while loads wait for
 * them. */
static void *short_reader(void *arg)
{
	reload_ctx *c = arg;
	int i, rc;

	for (i = 0; i < 50; i++) {
		rc = az(c->p, "t1", "d1", PUB, "tenants/t1/devices/d1/x");
		if (rc != ZTP_OK && rc != ZTP_EDENIED)
			c->bad++;
	}
	return NULL;
}

START_TEST(test_reload_thread_churn)
{
	pthread_t th[2];
	reload_ctx c;
	int i, j;

	memset(&c, 0, sizeof(c));
	atomic_init(&c.stop, 0);
	ck_assert_rc(ztp_policy_new(&c.p), ZTP_OK);
	for (i = 0; i < 60; i++) {
		const char *d = i % 2 ? gen_a : gen_b;

		for (j = 0; j < 2; j++)
			ck_assert_int_eq(
			    pthread_create(&th[j], NULL, short_reader, &c), 0);
		ck_assert_rc(ztp_policy_load(c.p, d, strlen(d)), ZTP_OK);
		for (j = 0; j < 2; j++)
			pthread_join(th[j], NULL);
	}
	ck_assert_int_eq(c.bad, 0);
	ztp_policy_free(c.p);
}
END_TEST

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
	static const char fill[] = {'/', '+', '#', '\0', '$', (char)0xc3,
				    (char)0xa9, (char)0x80, 'a'};
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

/* ------------------------------------------------------------------- memory */

START_TEST(test_load_alloc_failures)
{
	ztp_policy *p = NULL;
	long n;
	int rc = ZTP_ENOMEM;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	for (n = 1; n < 400; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_policy_load(p, tenant_doc, strlen(tenant_doc));
		ztp__alloc_fail_at(0);
		if (rc == ZTP_OK)
			break;
		ck_assert_msg(rc == ZTP_ENOMEM, "n=%ld rc=%d", n, rc);
		ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1/x"),
			     ZTP_EDENIED);
	}
	ck_assert_rc(rc, ZTP_OK);
	ck_assert_rc(az(p, "t1", "d1", PUB, "tenants/t1/devices/d1/x"), ZTP_OK);
	ztp_policy_free(p);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

#define ADD(name, fn)                                                          \
	tc = tcase_create(name);                                               \
	tcase_set_timeout(tc, 60);                                             \
	tcase_add_test(tc, fn);                                                \
	suite_add_tcase(s, tc)

	ADD("action_parse", test_action_parse);
	ADD("authorize_names", test_match_names);
	ADD("authorize_fanout", test_match_many_statements);
	ADD("authorize_subscribe", test_subscribe_subset);
	ADD("authorize_reference", test_reference_random);
	ADD("authorize_tenants", test_tenant_isolation);
	ADD("authorize_deny", test_deny_precedence);
	ADD("authorize_injection", test_variable_injection);
	ADD("authorize_malformed", test_malformed_at_check);
	ADD("authorize_levels", test_many_levels);
	ADD("authorize_level_compare", test_level_compare);
	ADD("authorize_split", test_split_paths);
	ADD("authorize_deny_detail", test_deny_detail);
	ADD("load", test_load_rejects);
	ADD("load_fail_closed", test_fail_closed);
	ADD("load_alloc", test_load_alloc_failures);
	ADD("load_concurrent", test_reload_concurrent);
	ADD("load_thread_churn", test_reload_thread_churn);
	ADD("lint", test_lint);
	ADD("explain", test_explain);
	ADD("explain_shared", test_shared_subtrees);
	ADD("namespace", test_namespace);
	ADD("export", test_export_aws);
	ADD("identity_from_cert", test_identity_from_cert);
#undef ADD
	return s;
}

int main(void)
{
	return ztp_test_run(policy_suite());
}
