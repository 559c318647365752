/*
 * Store: devices: add, get, state and info, against every backend.
 */
#include "test_store.h"

/* ------------------------------------------------------------ devices */

START_TEST(test_device_add)
{
	ztp_store *s = open_kind(_i, NULL);
	char longtext[130];
	size_t i;

	ck_assert_rc(ztp_store_device_add(s, "dev-1", FPR_A, "m", "b", T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "dev-2", FPR_B, NULL, NULL, 0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "dev-1", FPR_B, NULL, NULL, T0),
		     ZTP_EEXISTS);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(
		    ztp_store_device_add(s, bad_ids[i], FPR_A, NULL, NULL, T0),
		    ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, NULL, FPR_A, NULL, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(NULL, "d", FPR_A, NULL, NULL, T0),
		     ZTP_EINVAL);
	/* fingerprints: 64 lowercase hex, nothing else */
	ck_assert_rc(ztp_store_device_add(s, "d", NULL, NULL, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d", "abcd", NULL, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d", FPR_A "a", NULL, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d",
					  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
					  "AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					  NULL, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d",
					  "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					  "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					  NULL, NULL, T0),
		     ZTP_EINVAL);
	/* model/batch: printable UTF-8 up to 128 bytes */
	memset(longtext, 'x', sizeof(longtext));
	longtext[128] = '\0';
	ck_assert_rc(ztp_store_device_add(s, "d3", FPR_A, longtext, NULL, T0),
		     ZTP_OK);
	longtext[128] = 'x';
	longtext[129] = '\0';
	ck_assert_rc(ztp_store_device_add(s, "d4", FPR_A, longtext, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d4", FPR_A, "a\nb", NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d4", FPR_A, NULL, "\x7f", T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_add(s, "d4", FPR_A, "\xc2\x85", NULL, T0),
		     ZTP_EINVAL); /* C1 control U+0085 */
	ck_assert_rc(ztp_store_device_add(s, "d4", FPR_A, "\xc0\xaf", NULL, T0),
		     ZTP_EINVAL); /* overlong */
	ck_assert_rc(
	    ztp_store_device_add(s, "d4", FPR_A, "\xed\xa0\x80", NULL, T0),
	    ZTP_EINVAL); /* surrogate */
	ck_assert_rc(ztp_store_device_add(s, "d4", FPR_A, "\xe2\x82", NULL, T0),
		     ZTP_EINVAL); /* truncated */
	ck_assert_rc(ztp_store_device_add(
			 s, "d4", FPR_A, "Sensor \xe2\x84\xa2 \xf0\x9f\x99\x82",
			 NULL, T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "d5", FPR_A, NULL, NULL, -1),
		     ZTP_EINVAL);
	/* NUL inside an identifier is refused by the one grammar. */
	ck_assert_rc(ztp_id_validate("dev\0x", 5), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_device_get)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *o;
	char *json = (char *)&json;
	size_t i;

	now_val = T0 + 5;
	ck_assert_rc(
	    ztp_store_device_add(s, "dev-1", FPR_A, "Model X", "B-7", T0),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_get(s, "dev-1", &json), ZTP_OK);
	o = parse(json);
	ck_assert_int_eq(json_object_object_length(o), 11);
	ck_assert(null_field(o, "group"));
	ck_assert_str_eq(str_field(o, "device_id"), "dev-1");
	ck_assert_str_eq(str_field(o, "fingerprint"), FPR_A);
	ck_assert_str_eq(str_field(o, "model"), "Model X");
	ck_assert_str_eq(str_field(o, "batch"), "B-7");
	ck_assert_int_eq(int_field(o, "manufactured_at"), T0);
	ck_assert_str_eq(str_field(o, "state"), ZTP_STATE_MANUFACTURED);
	ck_assert(null_field(o, "tenant"));
	ck_assert(null_field(o, "info"));
	ck_assert_int_eq(int_field(o, "updated_at"), T0 + 5);
	ck_assert(null_field(o, "factory_key"));
	json_object_put(o);
	ztp_free(json);

	ck_assert_rc(ztp_store_device_add(s, "dev-2", FPR_B, NULL, NULL, 1),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_get(s, "dev-2", &json), ZTP_OK);
	o = parse(json);
	ck_assert(null_field(o, "model"));
	ck_assert(null_field(o, "batch"));
	json_object_put(o);
	ztp_free(json);

	json = (char *)&json;
	ck_assert_rc(ztp_store_device_get(s, "nope", &json), ZTP_ENOTFOUND);
	ck_assert_ptr_null(json);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(ztp_store_device_get(s, bad_ids[i], &json),
			     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_get(s, "dev-1", NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_get(NULL, "dev-1", &json), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_device_set_state)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *o;
	char *json = NULL;
	size_t i;

	add_dev(s, "d1");
	now_val = T0 + 10;
	ck_assert_rc(ztp_store_device_set_state(s, "d1", ZTP_STATE_MANUFACTURED,
						ZTP_STATE_BOOTSTRAPPED, NULL),
		     ZTP_OK);
	expect_state(s, "d1", ZTP_STATE_BOOTSTRAPPED, NULL);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	o = parse(json);
	ck_assert_int_eq(int_field(o, "updated_at"), T0 + 10);
	json_object_put(o);
	ztp_free(json);
	/* compare-and-set: a stale expectation changes nothing */
	ck_assert_rc(ztp_store_device_set_state(s, "d1", ZTP_STATE_MANUFACTURED,
						ZTP_STATE_ACTIVE, "acme"),
		     ZTP_ESTATE);
	expect_state(s, "d1", ZTP_STATE_BOOTSTRAPPED, NULL);
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d1", NULL, ZTP_STATE_ACTIVE, "acme"),
	    ZTP_OK);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");
	ck_assert_rc(ztp_store_device_set_state(s, "d1", ZTP_STATE_ACTIVE,
						ZTP_STATE_RESET, NULL),
		     ZTP_OK);
	expect_state(s, "d1", ZTP_STATE_RESET, NULL);

	ck_assert_rc(ztp_store_device_set_state(s, "ghost", NULL,
						ZTP_STATE_ACTIVE, NULL),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_set_state(s, "d1", NULL, "Active", NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_state(s, "d1", NULL, NULL, NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_state(s, "d1", "bogus",
						ZTP_STATE_ACTIVE, NULL),
		     ZTP_EINVAL);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++) {
		ck_assert_rc(ztp_store_device_set_state(s, bad_ids[i], NULL,
							ZTP_STATE_ACTIVE, NULL),
			     ZTP_EINVAL);
		ck_assert_rc(ztp_store_device_set_state(
				 s, "d1", NULL, ZTP_STATE_ACTIVE, bad_ids[i]),
			     ZTP_EINVAL);
	}
	expect_state(s, "d1", ZTP_STATE_RESET, NULL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_device_set_info)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *o, *info;
	char *json = NULL, *big;
	size_t n = ZTP__STORE_JSON_MAX + 1;

	add_dev(s, "d1");
	now_val = T0 + 7;
	ck_assert_rc(
	    ztp_store_device_set_info(
		s, "d1",
		" { \"device_type\" : \"sensor\", \"caps\": [1, 2] } "),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	o = parse(json);
	info = field(o, "info");
	ck_assert(json_object_is_type(info, json_type_object));
	ck_assert_str_eq(str_field(info, "device_type"), "sensor");
	ck_assert_int_eq(int_field(o, "updated_at"), T0 + 7);
	/* stored canonical (compact) */
	ck_assert_ptr_nonnull(strstr(json, "{\"device_type\":\"sensor\""));
	json_object_put(o);
	ztp_free(json);

	ck_assert_rc(ztp_store_device_set_info(s, "d1", "[1]"), ZTP_EPARSE);
	ck_assert_rc(ztp_store_device_set_info(s, "d1", "{\"a\":"), ZTP_EPARSE);
	ck_assert_rc(ztp_store_device_set_info(s, "d1", "{\"a\":1,\"a\":2}"),
		     ZTP_EPARSE);
	ck_assert_rc(ztp_store_device_set_info(s, "d1", NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_info(s, "ghost", "{}"),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_set_info(s, "a/b", "{}"), ZTP_EINVAL);
	big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	ck_assert_rc(ztp_store_device_set_info(s, "d1", big), ZTP_ETOOBIG);
	free(big);
	/* replacing works */
	ck_assert_rc(ztp_store_device_set_info(s, "d1", "{}"), ZTP_OK);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"info\":{}"));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

void store_tcases_devices(Suite *s)
{
	suite_add_tcase(s, loop_case("device_add", test_device_add, 0));
	suite_add_tcase(s, loop_case("device_get", test_device_get, 0));
	suite_add_tcase(
	    s, loop_case("device_set_state", test_device_set_state, 0));
	suite_add_tcase(s,
			loop_case("device_set_info", test_device_set_info, 0));
}
