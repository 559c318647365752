/*
 * Store: typed records (store/records.h) on every kind of backend, and the
 * strict reading of a caller's backend's JSON into them.
 */
#include "store/records.h"

#include "test_store.h"

/* ------------------------------------------------------------ typed records
 * (store/records.h): what the library reads from every kind of backend
 * equals what the public JSON says. On the wrapped (caller's) backend this
 * is the JSON boundary, parsed once; on the built-in ones the views. */

START_TEST(test_typed_records)
{
	static const uint8_t spki[] = {0x30, 0x03, 0x02, 0x01, 0x07};
	ztp_store *s = open_kind(_i, NULL);
	ztp__device_rec d;
	ztp__cert_rec c, *list = NULL;
	ztp__event_rec *ev = NULL;
	size_t n = 0;

	ck_assert_rc(ztp_store_device_add(s, "dev-t", FPR_A, "m1", NULL, T0),
		     ZTP_OK);
	ck_assert_rc(ztp__store_device_read(&d, s, "dev-t"), ZTP_OK);
	ck_assert_str_eq(d.device_id, "dev-t");
	ck_assert_str_eq(d.fingerprint, FPR_A);
	ck_assert_str_eq(d.state, ZTP_STATE_MANUFACTURED);
	ck_assert_str_eq(d.tenant, "");
	ck_assert_str_eq(d.model, "m1");
	ck_assert_ptr_null(d.batch);
	ck_assert_ptr_null(d.info);
	ck_assert_ptr_null(d.factory_key);
	ck_assert_int_eq(d.manufactured_at, T0);
	ztp__device_rec_clear(&d);

	/* The wrapped backend is a version-1 one: no factory keys. */
	ck_assert_rc(
	    ztp_store_device_set_factory_key(s, "dev-t", spki, sizeof(spki)),
	    _i == B_WRAPPED ? ZTP_EUNSUPPORTED : ZTP_OK);
	ck_assert_rc(ztp_store_device_set_info(s, "dev-t", "{\"fw\":\"1.0\"}"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_set_state(s, "dev-t", NULL,
						ZTP_STATE_ACTIVE, "acme"),
		     ZTP_OK);
	ck_assert_rc(ztp__store_device_read(&d, s, "dev-t"), ZTP_OK);
	ck_assert_str_eq(d.state, ZTP_STATE_ACTIVE);
	ck_assert_str_eq(d.tenant, "acme");
	ck_assert_str_eq(d.info, "{\"fw\":\"1.0\"}");
	if (_i != B_WRAPPED) {
		ck_assert_uint_eq(d.factory_key_len, sizeof(spki));
		ck_assert_mem_eq(d.factory_key, spki, sizeof(spki));
	} else {
		ck_assert_ptr_null(d.factory_key);
	}
	ztp__device_rec_clear(&d);
	ck_assert_rc(ztp__store_device_read(&d, s, "nobody"), ZTP_ENOTFOUND);
	ck_assert_ptr_null(d.model);
	ck_assert_rc(ztp__store_device_read(&d, s, "a/b"), ZTP_EINVAL);

	ck_assert_rc(ztp__store_device_cert_list(&list, &n, s, "dev-t"),
		     ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(list);
	ck_assert_rc(ztp_store_cert_add(s, "4a01", "dev-t", "operational", T0,
					T0 + 100, FPR_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "4a02", "dev-t", "bootstrap", T0,
					T0 + 50, FPR_A),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "4a03", NULL, "server", T0, T0 + 10, FPR_A),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "4a01", 4, T0 + 5), ZTP_OK);
	ck_assert_rc(ztp__store_cert_read(&c, s, "4a01"), ZTP_OK);
	ck_assert_str_eq(c.serial, "4a01");
	ck_assert_str_eq(c.device_id, "dev-t");
	ck_assert_str_eq(c.profile, "operational");
	ck_assert_str_eq(c.fingerprint, FPR_B);
	ck_assert_int_eq(c.not_before, T0);
	ck_assert_int_eq(c.not_after, T0 + 100);
	ck_assert(c.revoked);
	ck_assert_int_eq(c.revoked_at, T0 + 5);
	ck_assert_int_eq(c.reason, 4);
	ck_assert_rc(ztp__store_cert_read(&c, s, "4a03"), ZTP_OK);
	ck_assert_str_eq(c.device_id, "");
	ck_assert(!c.revoked);
	ck_assert_int_eq(c.reason, 0);
	ck_assert_rc(ztp__store_cert_read(&c, s, "ffff"), ZTP_ENOTFOUND);
	ck_assert_rc(ztp__store_device_cert_list(&list, &n, s, "dev-t"),
		     ZTP_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].serial, "4a01");
	ck_assert_str_eq(list[1].serial, "4a02");
	ck_assert_str_eq(list[1].profile, "bootstrap");
	ztp_free(list);
	ck_assert_rc(ztp__store_device_cert_list(&list, &n, s, "nobody"),
		     ZTP_ENOTFOUND);

	ck_assert_rc(ztp_store_event_append(
			 s, "{\"type\":\"rotate\",\"result\":\"accepted\","
			    "\"device_id\":\"dev-t\"}"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"type\":7,\"x\":[1]}"),
		     ZTP_OK);
	ck_assert_rc(ztp__store_event_page(&ev, &n, s, 0, 10), ZTP_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ev[0].seq, 1);
	ck_assert_str_eq(ev[0].type, "rotate");
	ck_assert_str_eq(ev[0].result, "accepted");
	ck_assert_str_eq(ev[0].device_id, "dev-t");
	ck_assert_int_eq(ev[1].seq, 2);
	ck_assert_str_eq(ev[1].type, "");
	ck_assert_str_eq(ev[1].device_id, "");
	ztp_free(ev);
	ck_assert_rc(ztp__store_event_page(&ev, &n, s, 2, 10), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(ev);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_typed_records_json)
{
	static const char *const bad_dev[] = {
	    "[]",
	    "{\"device_id\":\"d\",\"fingerprint\":\"" FPR_A "\"}",
	    "{\"device_id\":\"d\",\"fingerprint\":\"" FPR_A
	    "\",\"state\":\"a-state-name-far-too-long\"}",
	    "{\"device_id\":\"d\",\"fingerprint\":\"" FPR_A
	    "\",\"state\":\"active\",\"factory_key\":\"%%%\"}",
	    "{\"device_id\":\"d\",\"fingerprint\":\"" FPR_A
	    "\",\"state\":\"active\",\"info\":[1]}",
	    "{\"device_id\":\"d\",\"fingerprint\":\"" FPR_A
	    "\",\"state\":\"active\",\"tenant\":7}",
	    "not json",
	};
	static const char *const bad_certs[] = {
	    "{}",
	    "[1]",
	    "[{\"serial\":\"4a\",\"profile\":\"operational\",\"fingerprint\":"
	    "\"" FPR_A "\",\"not_before\":1,\"not_after\":2,\"revoked\":true}]",
	};
	ztp__device_rec d;
	ztp__cert_rec *c = NULL;
	ztp__event_rec *e = NULL;
	size_t n = 0;

	ck_assert_rc(ztp__device_rec_from_json(
			 &d, "{\"device_id\":\"d\",\"fingerprint\":\"" FPR_A
			     "\",\"state\":\"active\",\"tenant\":\"acme\","
			     "\"model\":null,\"info\":{\"a\":1},"
			     "\"factory_key\":\"MAMCAQc=\"}"),
		     ZTP_OK);
	ck_assert_str_eq(d.tenant, "acme");
	ck_assert_ptr_null(d.model);
	ck_assert_str_eq(d.info, "{\"a\":1}");
	ck_assert_uint_eq(d.factory_key_len, 5);
	ck_assert_mem_eq(d.factory_key, "\x30\x03\x02\x01\x07", 5);
	ztp__device_rec_clear(&d);
	for (size_t i = 0; i < sizeof(bad_dev) / sizeof(bad_dev[0]); i++) {
		ck_assert_msg(ztp__device_rec_from_json(&d, bad_dev[i]) ==
				  ZTP_ESTORE,
			      "accepted: %s", bad_dev[i]);
		ck_assert_ptr_null(d.factory_key);
	}
	for (size_t i = 0; i < sizeof(bad_certs) / sizeof(bad_certs[0]); i++) {
		ck_assert_msg(ztp__cert_recs_from_json(&c, &n, bad_certs[i],
						       true) == ZTP_ESTORE,
			      "accepted: %s", bad_certs[i]);
		ck_assert_ptr_null(c);
		ck_assert_uint_eq(n, 0);
	}
	ck_assert_rc(ztp__cert_recs_from_json(&c, &n, "[]", true), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(ztp__event_recs_from_json(&e, &n, "[{\"seq\":0}]"),
		     ZTP_ESTORE);
	ck_assert_ptr_null(e);
	ck_assert_rc(ztp__event_recs_from_json(&e, &n, "{}"), ZTP_ESTORE);
}
END_TEST

void store_tcases_typed(Suite *s)
{
	TCase *tc;

	suite_add_tcase(s, loop_case("typed_records", test_typed_records, 0));
	tc = tcase_create("typed_records_json");
	tcase_add_test(tc, test_typed_records_json);
	suite_add_tcase(s, tc);
}
