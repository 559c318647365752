/*
 * Verifier: broker allocation (ztp_verifier_set_brokers) in credentials
 * and assignment answers: the default list, a tenant's own, none; and the
 * lists it refuses.
 */
#include "test_verifier.h"

static const char *const LISTS =
    "{\"default\":[\"mqtts://a.example:8883\"],"
    "\"tenants\":{\"acme\":[\"mqtts://acme.example:8883\","
    "\"wss://acme.example/mqtt\"]}}";

static const char *plain(json_object *r)
{
	return json_object_to_json_string_ext(
	    r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

START_TEST(brokers_in_answers)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	char *boot, *op, *body = csr_body(k);
	json_object *r;

	/* none configured: no member (what devices before it expect) */
	op = registered_op(&boot, k);
	free(op);
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	ck_assert(!json_object_object_get_ex(r, "brokers", NULL));
	json_object_put(r);
	ck_assert_rc(ztp_verifier_set_brokers(v, LISTS), ZTP_OK);
	/* unclaimed: the default list */
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	ck_assert_ptr_nonnull(
	    strstr(plain(r), "\"brokers\":[\"mqtts://a.example:8883\"]"));
	json_object_put(r);
	/* claimed by acme: acme's list, in credentials and assignment */
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"), ZTP_OK);
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	op = cert_of(r);
	ck_assert_ptr_nonnull(
	    strstr(plain(r), "\"brokers\":[\"mqtts://acme.example:8883\","
			     "\"wss://acme.example/mqtt\"]"));
	json_object_put(r);
	ck_assert_int_eq(lcall("assignment", "{}", op, &r), 200);
	ck_assert_ptr_nonnull(strstr(plain(r), "acme.example:8883"));
	json_object_put(r);
	/* a tenant without a list of its own gets the default */
	ck_assert_rc(ztp_verifier_set_brokers(
			 v, "{\"default\":[\"mqtt://d.example\"],"
			    "\"tenants\":{\"globex\":[\"mqtt://g.example\"]}}"),
		     ZTP_OK);
	ck_assert_int_eq(lcall("assignment", "{}", op, &r), 200);
	ck_assert_ptr_nonnull(
	    strstr(plain(r), "\"brokers\":[\"mqtt://d.example\"]"));
	json_object_put(r);
	/* removed */
	ck_assert_rc(ztp_verifier_set_brokers(v, NULL), ZTP_OK);
	ck_assert_int_eq(lcall("assignment", "{}", op, &r), 200);
	ck_assert(!json_object_object_get_ex(r, "brokers", NULL));
	json_object_put(r);
	free(op);
	free(boot);
	free(body);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(brokers_refused)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"default\":[]}",
	    "{\"default\":\"mqtts://a\"}",
	    "{\"default\":[\"http://a.example\"]}",
	    "{\"default\":[\"mqtts://\"]}",
	    "{\"default\":[\"mqtts://a b\"]}",
	    "{\"default\":[7]}",
	    "{\"default\":[\"mqtt://1\",\"mqtt://2\",\"mqtt://3\",\"mqtt://4\","
	    "\"mqtt://5\",\"mqtt://6\",\"mqtt://7\",\"mqtt://8\",\"mqtt://"
	    "9\"]}",
	    "{\"tenants\":{\"a/b\":[\"mqtt://x\"]}}",
	    "{\"tenants\":[]}",
	};

	for (size_t i = 0; i < ZTP__ARRAY_LEN(bad); i++)
		ck_assert_msg(ztp_verifier_set_brokers(v, bad[i]) == ZTP_EINVAL,
			      "%s", bad[i]);
	ck_assert_rc(ztp_verifier_set_brokers(v, "{"), ZTP_EPARSE);
	ck_assert_rc(ztp_verifier_set_brokers(v, "{\"colour\":[]}"),
		     ZTP_EPARSE);
	ck_assert_rc(ztp_verifier_set_brokers(NULL, LISTS), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_brokers(v, "{}"), ZTP_OK);
}
END_TEST

void verifier_tcases_brokers(Suite *s)
{
	TCase *tc;

	ADD("ztp_verifier_set_brokers", brokers_in_answers);
	ADD("brokers_refused", brokers_refused);
}
