/*
 * Policy: Tenants: isolation, Deny precedence, variable injection,
 * explanations, namespaces and shared subtrees, the AWS IoT export.
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

/* ------------------------------------------------------------------ tenants */

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

		snprintf(tele, sizeof(tele),
			 "tenants/t%d/devices/+/telemetry/#", t);
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

void policy_tcases_tenants(Suite *s)
{
	TCase *tc;

	POLICY_ADD(s, "authorize_tenants", test_tenant_isolation);
	POLICY_ADD(s, "authorize_deny", test_deny_precedence);
	POLICY_ADD(s, "authorize_injection", test_variable_injection);
	POLICY_ADD(s, "explain", test_explain);
	POLICY_ADD(s, "explain_shared", test_shared_subtrees);
	POLICY_ADD(s, "namespace", test_namespace);
	POLICY_ADD(s, "export", test_export_aws);
}
