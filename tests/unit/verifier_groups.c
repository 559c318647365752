/*
 * Verifier: enrollment groups — devices not enrolled one by one, enrolled
 * at their first bootstrap through a group of their issuing CA (trust on
 * first use), and every refusal: disabled, expired, capped, ID outside
 * the pattern, another certificate for an ID enrolled through a group, a
 * revoked group device. Each refusal is checked for its wire code and for
 * nothing issued or recorded.
 */
#include "test_verifier.h"

/* A group of the fixture's issuing CA; extra: more members, or "". */
static int add_group(const char *id, const char *extra)
{
	json_object *pem = json_object_new_string(iss_pem);
	char *json;
	size_t n;
	int rc;

	n = strlen(iss_pem) * 2 + strlen(extra) + 128;
	json = malloc(n);
	ck_assert_ptr_nonnull(json);
	snprintf(json, n, "{\"group_id\":\"%s\",\"issuer_cert\":%s%s%s}", id,
		 json_object_to_json_string(pem), extra[0] ? "," : "", extra);
	json_object_put(pem);
	rc = ztp_verifier_group_add(v, json);
	free(json);
	return rc;
}

static json_object *record(const char *id)
{
	char *json = NULL;
	json_object *o;

	ck_assert_rc(ztp_store_device_get(store, id, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ztp_free(json);
	ck_assert_ptr_nonnull(o);
	return o;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *m = NULL;

	ck_assert(json_object_object_get_ex(o, key, &m));
	return m == NULL ? NULL : json_object_get_string(m);
}

static int64_t enrolled(const char *group)
{
	char *json = NULL;
	json_object *o, *m;
	int64_t n;

	ck_assert_rc(ztp_store_group_get(store, group, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ztp_free(json);
	ck_assert(json_object_object_get_ex(o, "enrolled", &m));
	n = json_object_get_int64(m);
	json_object_put(o);
	return n;
}

static void expect_absent(const char *id)
{
	char *json = NULL;

	ck_assert_rc(ztp_store_device_get(store, id, &json), ZTP_ENOTFOUND);
}

/* A device of the issuing CA that the registry does not know. */
typedef struct gdev {
	const char *id;
	EVP_PKEY *key;
	X509 *cert;
	char *pem;
} gdev;

static gdev gdev_new(const char *id)
{
	gdev d;

	d.id = id;
	d.key = vpki_key("ec-p256");
	d.cert = vpki_leaf(id, d.key, issuing, ikey, T0 - DAY, T0 + 365 * DAY);
	d.pem = vpki_pem(d.cert);
	return d;
}

static void gdev_free(gdev *d)
{
	EVP_PKEY_free(d->key);
	X509_free(d->cert);
	free(d->pem);
}

static json_object *boot_ok(const gdev *d)
{
	return expect_accept(
	    &(breq){.device_id = d->id, .cert = d->cert, .sign_key = d->key},
	    d->pem);
}

static void boot_refused(const gdev *d, int status, const char *code)
{
	expect_reject(
	    &(breq){.device_id = d->id, .cert = d->cert, .sign_key = d->key},
	    d->pem, status, code);
}

START_TEST(group_enroll_first_use)
{
	gdev a = gdev_new("grp-1"), b = gdev_new("grp-2"),
	     c = gdev_new("grp-3");
	gdev a2 = gdev_new("grp-1"), out = gdev_new("other-1");
	json_object *r, *o;
	uint8_t fp[32];
	char hex[65], *json = NULL;

	ck_assert_rc(add_group("line-7", "\"device_pattern\":\"grp-*\","
					 "\"model\":\"m7\",\"batch\":\"b7\","
					 "\"cap\":2"),
		     ZTP_OK);
	/* first use: recorded with this certificate, as the group says */
	r = boot_ok(&a);
	json_object_put(r);
	ck_assert_ptr_nonnull(strstr(last_event, "\"type\":\"bootstrap\""));
	o = record("grp-1");
	ck_assert_rc(ztp__cert_fingerprint(fp, a.cert), ZTP_OK);
	ztp__hex_encode(hex, fp, sizeof(fp));
	ck_assert_str_eq(str_of(o, "fingerprint"), hex);
	ck_assert_str_eq(str_of(o, "group"), "line-7");
	ck_assert_str_eq(str_of(o, "model"), "m7");
	ck_assert_str_eq(str_of(o, "batch"), "b7");
	ck_assert_str_eq(str_of(o, "state"), ZTP_STATE_BOOTSTRAPPED);
	ck_assert_ptr_nonnull(str_of(o, "factory_key"));
	json_object_put(o);
	ck_assert_int_eq(enrolled("line-7"), 1);
	ck_assert_rc(ztp_store_event_list(store, 0, 100, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"type\":\"group_enroll\""));
	ztp_free(json);
	/* then like any enrolled device: again with the same certificate */
	r = boot_ok(&a);
	json_object_put(r);
	ck_assert_int_eq(enrolled("line-7"), 1);
	/* a second, different certificate for the ID is refused */
	boot_refused(&a2, 401, "fingerprint_mismatch");
	o = record("grp-1");
	ck_assert_str_eq(str_of(o, "fingerprint"), hex);
	json_object_put(o);
	/* the cap: the second device fills the group, the third is refused */
	r = boot_ok(&b);
	json_object_put(r);
	boot_refused(&c, 403, "group_full");
	expect_absent("grp-3");
	ck_assert_int_eq(enrolled("line-7"), 2);
	/* an ID outside the pattern is not the group's */
	boot_refused(&out, 404, "unknown_device");
	expect_absent("other-1");
	/* the inventory knows who came through the group */
	ck_assert_rc(ztp_verifier_device_list(
			 v, &json, "{\"group\":\"line-7\"}", NULL, 10),
		     ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":\"grp-1\""));
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":\"grp-2\""));
	ck_assert_ptr_null(strstr(json, DEV));
	ztp_free(json);
	/* revoking a group's device blocks it; the group does not enroll
	 * it again */
	ck_assert_rc(ztp_verifier_revoke(v, "grp-1"), ZTP_OK);
	boot_refused(&a, 403, "device_blocked");
	gdev_free(&a);
	gdev_free(&a2);
	gdev_free(&b);
	gdev_free(&c);
	gdev_free(&out);
}
END_TEST

START_TEST(group_disabled_and_expired)
{
	gdev a = gdev_new("grp-1"), b = gdev_new("grp-2"),
	     c = gdev_new("old-1");
	json_object *r;
	char extra[64];

	ck_assert_rc(add_group("line-1", "\"device_pattern\":\"grp-?\","
					 "\"enabled\":false"),
		     ZTP_OK);
	boot_refused(&a, 403, "group_disabled");
	expect_absent("grp-1");
	ck_assert_int_eq(enrolled("line-1"), 0);
	ck_assert_rc(ztp_verifier_group_set_enabled(v, "line-1", 1), ZTP_OK);
	r = boot_ok(&a);
	json_object_put(r);
	/* disabling stops new devices, not the ones it enrolled */
	ck_assert_rc(ztp_verifier_group_set_enabled(v, "line-1", 0), ZTP_OK);
	boot_refused(&b, 403, "group_disabled");
	expect_absent("grp-2");
	r = boot_ok(&a);
	json_object_put(r);
	/* an expired group */
	snprintf(extra, sizeof(extra),
		 "\"device_pattern\":\"old-*\",\"expires_at\":%lld",
		 (long long)(clk - 1));
	ck_assert_rc(add_group("line-0", extra), ZTP_OK);
	boot_refused(&c, 403, "group_expired");
	expect_absent("old-1");
	ck_assert_rc(ztp_verifier_group_set_enabled(v, "nope", 0),
		     ZTP_ENOTFOUND);
	gdev_free(&a);
	gdev_free(&b);
	gdev_free(&c);
}
END_TEST

/* Among several groups of a CA the first usable one enrolls; a device
 * record always wins over a group. */
START_TEST(group_precedence)
{
	gdev a = gdev_new("grp-1");
	json_object *r, *o;

	ck_assert_rc(add_group("a-off", "\"enabled\":false"), ZTP_OK);
	ck_assert_rc(add_group("b-on", "\"model\":\"gm\""), ZTP_OK);
	r = boot_ok(&a);
	json_object_put(r);
	o = record("grp-1");
	ck_assert_str_eq(str_of(o, "group"), "b-on");
	json_object_put(o);
	/* DEV is enrolled one by one: its record is used, not a group */
	r = expect_accept(&(breq){0}, factory_pem);
	json_object_put(r);
	o = record(DEV);
	ck_assert_ptr_null(str_of(o, "group"));
	ck_assert_str_eq(str_of(o, "model"), "model-x");
	json_object_put(o);
	ck_assert_int_eq(enrolled("b-on"), 1);
	gdev_free(&a);
}
END_TEST

START_TEST(group_add_refusals)
{
	json_object *pem = json_object_new_string(root_pem);
	char json[8192], *list = NULL;

	/* a CA that is not an issuing CA of the verifier */
	snprintf(json, sizeof(json), "{\"group_id\":\"g\",\"issuer_cert\":%s}",
		 json_object_to_json_string(pem));
	json_object_put(pem);
	ck_assert_rc(ztp_verifier_group_add(v, json), ZTP_EUNTRUSTED);
	ck_assert_rc(add_group("g", "\"device_pattern\":\"a/b\""), ZTP_EINVAL);
	ck_assert_rc(add_group("g", "\"cap\":0"), ZTP_EPARSE);
	ck_assert_rc(add_group("g", "\"colour\":\"red\""), ZTP_EPARSE);
	ck_assert_rc(add_group("g/h", ""), ZTP_EINVAL);
	ck_assert_rc(add_group("g", "\"batch\":\"two\\nlines\""), ZTP_EINVAL);
	ck_assert_rc(add_group("g", ""), ZTP_OK);
	ck_assert_rc(add_group("g", ""), ZTP_EEXISTS);
	ck_assert_rc(ztp_verifier_group_list(v, &list, NULL, 10), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(list, "\"group_id\":\"g\""));
	ck_assert_ptr_nonnull(strstr(list, "\"enrolled\":0"));
	ztp_free(list);
}
END_TEST

START_TEST(group_patterns)
{
	ck_assert(ztp__id_pattern_match("grp-*", "grp-1"));
	ck_assert(ztp__id_pattern_match("grp-*", "grp-"));
	ck_assert(!ztp__id_pattern_match("grp-*", "grp"));
	ck_assert(ztp__id_pattern_match("*-7", "a-b-7"));
	ck_assert(!ztp__id_pattern_match("*-7", "a-b-70"));
	ck_assert(ztp__id_pattern_match("a?c*z", "abcz"));
	ck_assert(ztp__id_pattern_match("a?c*z", "abc123z"));
	ck_assert(!ztp__id_pattern_match("a?c*z", "ac123z"));
	ck_assert(ztp__id_pattern_match("*", "x"));
	ck_assert(ztp__id_pattern_match("**a**", "bab"));
	ck_assert(!ztp__id_pattern_match("exact", "exact2"));
	ck_assert_rc(ztp__id_pattern_check("ok-*.?", 6, "p"), ZTP_OK);
	ck_assert_rc(ztp__id_pattern_check("a b", 3, "p"), ZTP_EINVAL);
	ck_assert_rc(ztp__id_pattern_check("", 0, "p"), ZTP_EINVAL);
}
END_TEST

/* Every allocation of a bootstrap through a group, failed in turn: OK or
 * ENOMEM, no crash or leak, at most one certificate per attempt. */
START_TEST(group_alloc_failures)
{
	bool finished = false;

	ck_assert_rc(add_group("line-a", "\"device_pattern\":\"al-*\""),
		     ZTP_OK);
	for (long n = 1; n < 4000 && !finished; n++) {
		char id[32];
		gdev d;
		char *body, *out = NULL;
		uint64_t before = cert_count();
		long used;
		int st = 0, rc;

		snprintf(id, sizeof(id), "al-%ld", n);
		d = gdev_new(id);
		body = build(&(breq){
		    .device_id = id, .cert = d.cert, .sign_key = d.key});
		ztp__alloc_fail_at(n);
		rc = ztp_verifier_handle(v, &st, &out, "bootstrap", body,
					 strlen(body), d.pem, strlen(d.pem));
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		/* A certificate is recorded before it is returned, so a
		 * failure after issuance leaves its record (never two). */
		if (rc == ZTP_OK && st == 200)
			ck_assert_uint_eq(cert_count(), before + 1);
		else
			ck_assert_uint_le(cert_count(), before + 1);
		finished = rc == ZTP_OK && st == 200 && used < n;
		ztp_free(out);
		free(body);
		gdev_free(&d);
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
}
END_TEST

void verifier_tcases_groups(Suite *s)
{
	TCase *tc;

	ADD("group_enroll_first_use", group_enroll_first_use);
	ADD("group_disabled_and_expired", group_disabled_and_expired);
	ADD("group_precedence", group_precedence);
	ADD("group_add_refusals", group_add_refusals);
	ADD("group_patterns", group_patterns);
	ADD("alloc", group_alloc_failures);
}
