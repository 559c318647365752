/*
 * Policy: Documents: malformed input at load and at check, lint, hot reload
 * under concurrent readers, allocation failures.
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

void policy_tcases_load(Suite *s)
{
	TCase *tc;

	POLICY_ADD(s, "authorize_malformed", test_malformed_at_check);
	POLICY_ADD(s, "load", test_load_rejects);
	POLICY_ADD(s, "load_fail_closed", test_fail_closed);
	POLICY_ADD(s, "load_alloc", test_load_alloc_failures);
	POLICY_ADD(s, "load_concurrent", test_reload_concurrent);
	POLICY_ADD(s, "load_thread_churn", test_reload_thread_churn);
	POLICY_ADD(s, "lint", test_lint);
}
