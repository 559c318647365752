/*
 * Store: the fleet operations of backend version 4 — bulk enrollment in
 * one transaction, the inventory by filter and page, and the certificates
 * that expire soon — on memory:, sqlite: and (absent: unsupported) a
 * caller's version-1 backend.
 */
#include "test_store.h"

#include "store/records.h"

#define FPR_C                                                                  \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccc"             \
	"cccccccc"

static const uint8_t hash1[32] = {1}, hash2[32] = {2};
static const uint8_t spki[3] = {0x30, 0x01, 0x00};

static ztp_store_enrollment rec(const char *id, const char *fpr,
				const uint8_t *hash)
{
	ztp_store_enrollment e = {
	    .device_id = id,
	    .fingerprint = fpr,
	    .model = "m1",
	    .batch = "b1",
	    .manufactured_at = T0 - 10,
	    .claim_hash = hash,
	    .claim_hash_len = 32,
	};

	return e;
}

typedef struct commit_log {
	int calls;
	int rc;	     /* what the callback answers */
	int seen[8]; /* results it was shown */
	size_t n;
} commit_log;

static int before_commit(void *arg, const int *results)
{
	commit_log *l = arg;
	size_t i;

	l->calls++;
	for (i = 0; i < l->n; i++)
		l->seen[i] = results[i];
	return l->rc;
}

START_TEST(test_fleet_enroll)
{
	ztp_store *s = open_kind(_i, NULL);
	ztp_store_enrollment recs[4];
	commit_log log = {0, ZTP_OK, {0}, 4};
	int results[4];
	char *json = NULL;
	json_object *o;

	recs[0] = rec("f-1", FPR_A, hash1);
	recs[0].factory_key = spki;
	recs[0].factory_key_len = sizeof(spki);
	recs[1] = rec("f-2", FPR_B, hash2);
	recs[1].model = recs[1].batch = NULL;
	recs[2] = rec("f-1", FPR_A, hash2); /* again, same certificate */
	recs[3] = rec("f-2", FPR_C, hash1); /* again, another one */
	if (_i == B_WRAPPED) {
		ck_assert_rc(ztp__store_device_enroll(s, recs, 4, results,
						      before_commit, &log),
			     ZTP_EUNSUPPORTED);
		ck_assert_int_eq(log.calls, 0);
		ztp_store_free(s);
		return;
	}
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 4, results, before_commit, &log),
	    ZTP_OK);
	ck_assert_int_eq(results[0], ZTP_OK);
	ck_assert_int_eq(results[1], ZTP_OK);
	ck_assert_int_eq(results[2], ZTP_EEXISTS);
	ck_assert_int_eq(results[3], ZTP_EMISMATCH);
	/* the callback saw the outcome before the commit */
	ck_assert_int_eq(log.calls, 1);
	ck_assert_int_eq(log.seen[0], ZTP_OK);
	ck_assert_int_eq(log.seen[3], ZTP_EMISMATCH);
	/* each record is whole: device, claim and key */
	ck_assert_rc(ztp_store_device_get(s, "f-1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_str_eq(str_field(o, "state"), ZTP_STATE_MANUFACTURED);
	ck_assert_str_eq(str_field(o, "fingerprint"), FPR_A);
	ck_assert_str_eq(str_field(o, "model"), "m1");
	ck_assert_int_eq(int_field(o, "manufactured_at"), T0 - 10);
	ck_assert_int_eq(int_field(o, "updated_at"), T0);
	ck_assert_str_eq(str_field(o, "factory_key"), "MAEA");
	json_object_put(o);
	ck_assert_rc(ztp_store_device_get(s, "f-2", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_str_eq(str_field(o, "fingerprint"), FPR_B);
	ck_assert(null_field(o, "model"));
	ck_assert(null_field(o, "factory_key"));
	json_object_put(o);
	/* the claim is the first record's, not the repeat's */
	ck_assert_rc(ztp_store_claim_take(s, "f-1", hash2, 32, "acme"),
		     ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_take(s, "f-1", hash1, 32, "acme"), ZTP_OK);
	ck_assert_rc(ztp_store_claim_take(s, "f-2", hash2, 32, "acme"), ZTP_OK);
	ztp_store_free(s);
}
END_TEST

/* A failing callback, a bad record: nothing of the call is recorded. */
START_TEST(test_fleet_enroll_atomic)
{
	ztp_store *s = open_kind(_i, NULL);
	ztp_store_enrollment recs[3];
	commit_log log = {0, ZTP_EIO, {0}, 3};
	int results[3];
	char *json = NULL;

	recs[0] = rec("a-1", FPR_A, hash1);
	recs[1] = rec("a-2", FPR_B, hash1);
	recs[2] = rec("a-3", FPR_C, hash1);
	add_dev(s, "a-0");
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 3, results, before_commit, &log),
	    _i == B_WRAPPED ? ZTP_EUNSUPPORTED : ZTP_EIO);
	ck_assert_int_eq(log.calls, _i == B_WRAPPED ? 0 : 1);
	ck_assert_rc(ztp_store_device_get(s, "a-1", &json), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_get(s, "a-3", &json), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_get(s, "a-0", &json), ZTP_OK);
	ztp_free(json);
	/* a record the front end refuses: the backend is never called */
	log.calls = 0;
	log.rc = ZTP_OK;
	recs[2].device_id = "bad/id";
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 3, results, before_commit, &log),
	    ZTP_EINVAL);
	recs[2].device_id = "a-3";
	recs[1].batch = "bad\nbatch";
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 3, results, before_commit, &log),
	    ZTP_EINVAL);
	recs[1].batch = NULL;
	recs[1].claim_hash_len = 0;
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 3, results, before_commit, &log),
	    ZTP_EINVAL);
	ck_assert_int_eq(log.calls, 0);
	ck_assert_rc(ztp_store_device_get(s, "a-1", &json), ZTP_ENOTFOUND);
	ztp_store_free(s);
}
END_TEST

/* The member key of each record of a JSON array (freed here),
 * comma-separated, into out; "" for no array (json NULL). */
static void join_field(char *json, const char *key, char *out, size_t cap)
{
	json_object *arr;
	size_t i, o = 0;

	out[0] = '\0';
	if (json == NULL)
		return;
	arr = parse(json);
	ztp_free(json);
	for (i = 0; i < json_object_array_length(arr); i++)
		o += (size_t)snprintf(
		    out + o, cap - o, "%s%s", i ? "," : "",
		    str_field(json_object_array_get_idx(arr, i), key));
	json_object_put(arr);
}

/* The IDs of a device_list page, comma-separated. */
static void list_ids(ztp_store *s, const char *filter, const char *after,
		     size_t max, int want_rc, char *out, size_t cap)
{
	char *json = NULL;

	ck_assert_rc(ztp_store_device_list(s, &json, filter, after, max),
		     want_rc);
	if (want_rc != ZTP_OK)
		ck_assert_ptr_null(json);
	join_field(json, "device_id", out, cap);
}

START_TEST(test_fleet_list)
{
	ztp_store *s = open_kind(_i, NULL);
	char got[512];

	if (_i == B_WRAPPED) {
		list_ids(s, NULL, NULL, 10, ZTP_EUNSUPPORTED, got, sizeof(got));
		ztp_store_free(s);
		return;
	}
	/* inserted out of order: pages come in ID order */
	ck_assert_rc(ztp_store_device_add(s, "d-4", FPR_A, "m1", "b2", T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "d-1", FPR_A, "m1", "b1", T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "d-3", FPR_A, "m2", "b1", T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "d-2", FPR_A, NULL, NULL, T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_add(s, "d-5", FPR_A, "m1", "b1", T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_set_state(s, "d-3", NULL,
						ZTP_STATE_ACTIVE, "acme"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_set_state(s, "d-5", NULL,
						ZTP_STATE_ACTIVE, "globex"),
		     ZTP_OK);
	list_ids(s, NULL, NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-1,d-2,d-3,d-4,d-5");
	/* paging: after the last ID of a page, whether recorded or not */
	list_ids(s, NULL, NULL, 2, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-1,d-2");
	list_ids(s, NULL, "d-2", 2, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-3,d-4");
	list_ids(s, NULL, "d-4", 2, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-5");
	list_ids(s, NULL, "d-35", 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-4,d-5");
	list_ids(s, NULL, "d-5", 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "");
	/* each filter, and several at once */
	list_ids(s, "{\"batch\":\"b1\"}", NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-1,d-3,d-5");
	list_ids(s, "{\"model\":\"m1\"}", NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-1,d-4,d-5");
	list_ids(s, "{\"state\":\"active\"}", NULL, 10, ZTP_OK, got,
		 sizeof(got));
	ck_assert_str_eq(got, "d-3,d-5");
	list_ids(s, "{\"tenant\":\"acme\"}", NULL, 10, ZTP_OK, got,
		 sizeof(got));
	ck_assert_str_eq(got, "d-3");
	list_ids(s, "{\"model\":\"m1\",\"batch\":\"b1\",\"state\":\"active\"}",
		 NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-5");
	list_ids(s, "{\"batch\":\"b1\"}", "d-1", 1, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-3");
	list_ids(s, "{\"batch\":\"none\"}", NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "");
	list_ids(s, "{}", NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "d-1,d-2,d-3,d-4,d-5");
	/* refused filters and arguments */
	list_ids(s, "{\"colour\":\"red\"}", NULL, 10, ZTP_EINVAL, got,
		 sizeof(got));
	list_ids(s, "{\"state\":\"sleeping\"}", NULL, 10, ZTP_EINVAL, got,
		 sizeof(got));
	list_ids(s, "{\"tenant\":\"a/b\"}", NULL, 10, ZTP_EINVAL, got,
		 sizeof(got));
	list_ids(s, "{\"batch\":7}", NULL, 10, ZTP_EINVAL, got, sizeof(got));
	list_ids(s, "[]", NULL, 10, ZTP_EPARSE, got, sizeof(got));
	list_ids(s, "{\"batch\":", NULL, 10, ZTP_EPARSE, got, sizeof(got));
	list_ids(s, NULL, "a b", 10, ZTP_EINVAL, got, sizeof(got));
	list_ids(s, NULL, NULL, 0, ZTP_EINVAL, got, sizeof(got));
	ztp_store_free(s);
}
END_TEST

/* The serials of an expiring page, comma-separated. */
static void expiring(ztp_store *s, int64_t from, int64_t before,
		     int64_t after_time, const char *after_serial, size_t max,
		     int want_rc, char *out, size_t cap)
{
	char *json = NULL;

	ck_assert_rc(ztp_store_cert_expiring(s, &json, from, before, after_time,
					     after_serial, max),
		     want_rc);
	if (want_rc != ZTP_OK)
		ck_assert_ptr_null(json);
	join_field(json, "serial", out, cap);
}

START_TEST(test_fleet_expiring)
{
	ztp_store *s = open_kind(_i, NULL);
	char got[512];

	if (_i == B_WRAPPED) {
		expiring(s, 0, 10, 0, NULL, 10, ZTP_EUNSUPPORTED, got,
			 sizeof(got));
		ztp_store_free(s);
		return;
	}
	add_dev(s, "e-1");
	/* not_after: 1a 100, 2b 200, 2a 200, 3c 300, 4d 400 (revoked),
	 * 50 50 (expired by from = 60) */
	ck_assert_rc(
	    ztp_store_cert_add(s, "1a", "e-1", "operational", 1, 100, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "2b", "e-1", "operational", 1, 200, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "2a", "e-1", "bootstrap", 1, 200, FPR_A),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "3c", NULL, "ca", 1, 300, FPR_A),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "4d", "e-1", "operational", 1, 400, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "50", "e-1", "operational", 1, 50, FPR_A),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "4d", 1, T0), ZTP_OK);
	expiring(s, 60, 1000, 0, NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "1a,2a,2b,3c");
	/* before is exclusive, from inclusive */
	expiring(s, 100, 300, 0, NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "1a,2a,2b");
	/* pages, through a tie on not_after */
	expiring(s, 60, 1000, 0, NULL, 2, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "1a,2a");
	expiring(s, 60, 1000, 200, "2a", 2, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "2b,3c");
	expiring(s, 60, 1000, 300, "3c", 2, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "");
	/* a cursor before the window starts at the window */
	expiring(s, 60, 1000, 10, "1", 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "1a,2a,2b,3c");
	expiring(s, 60, 60, 0, NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "");
	expiring(s, 60, 59, 0, NULL, 10, ZTP_EINVAL, got, sizeof(got));
	expiring(s, -1, 59, 0, NULL, 10, ZTP_EINVAL, got, sizeof(got));
	expiring(s, 0, 59, 0, "0a", 10, ZTP_EINVAL, got, sizeof(got));
	ztp_store_free(s);
}
END_TEST

static const uint8_t key3[3] = {0x30, 0x01, 0x00};

START_TEST(test_fleet_groups)
{
	ztp_store *s = open_kind(_i, NULL);
	char *json = NULL, got[256];
	json_object *o;

	if (_i == B_WRAPPED) {
		ck_assert_rc(ztp_store_group_add(s,
						 "{\"group_id\":\"g\","
						 "\"issuer\":\"" FPR_A "\"}"),
			     ZTP_EUNSUPPORTED);
		ck_assert_rc(
		    ztp_store_group_enroll(s, "g", "d", FPR_B, key3, 3, T0),
		    ZTP_EUNSUPPORTED);
		ztp_store_free(s);
		return;
	}
	ck_assert_rc(ztp_store_group_add(
			 s, "{\"group_id\":\"g-1\",\"issuer\":\"" FPR_A
			    "\",\"device_pattern\":\"x-*\",\"model\":\"m\","
			    "\"batch\":\"b\",\"cap\":2,\"expires_at\":"
			    "1700000100}"),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_group_add(s, "{\"group_id\":\"g-2\",\"issuer\":\"" FPR_B
				   "\",\"enabled\":false}"),
	    ZTP_OK);
	ck_assert_rc(ztp_store_group_add(s, "{\"group_id\":\"g-1\","
					    "\"issuer\":\"" FPR_A "\"}"),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_store_group_get(s, "g-1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_str_eq(str_field(o, "issuer"), FPR_A);
	ck_assert_str_eq(str_field(o, "device_pattern"), "x-*");
	ck_assert_int_eq(int_field(o, "cap"), 2);
	ck_assert_int_eq(int_field(o, "expires_at"), 1700000100);
	ck_assert(json_object_get_boolean(field(o, "enabled")));
	ck_assert_int_eq(int_field(o, "enrolled"), 0);
	ck_assert_int_eq(int_field(o, "created_at"), T0);
	json_object_put(o);
	ck_assert_rc(ztp_store_group_get(s, "g-2", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert(null_field(o, "cap"));
	ck_assert(null_field(o, "expires_at"));
	ck_assert(null_field(o, "device_pattern"));
	ck_assert(!json_object_get_boolean(field(o, "enabled")));
	json_object_put(o);
	/* the list, by issuer and in pages */
	ck_assert_rc(ztp_store_group_list(s, &json, NULL, NULL, 10), ZTP_OK);
	join_field(json, "group_id", got, sizeof(got));
	ck_assert_str_eq(got, "g-1,g-2");
	ck_assert_rc(ztp_store_group_list(s, &json, FPR_B, NULL, 10), ZTP_OK);
	join_field(json, "group_id", got, sizeof(got));
	ck_assert_str_eq(got, "g-2");
	ck_assert_rc(ztp_store_group_list(s, &json, NULL, "g-1", 10), ZTP_OK);
	join_field(json, "group_id", got, sizeof(got));
	ck_assert_str_eq(got, "g-2");
	/* enroll: the group's model and batch, the count, the cap */
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-1", "x-1", FPR_B, key3, 3, T0),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_get(s, "x-1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_str_eq(str_field(o, "group"), "g-1");
	ck_assert_str_eq(str_field(o, "model"), "m");
	ck_assert_str_eq(str_field(o, "fingerprint"), FPR_B);
	ck_assert_str_eq(str_field(o, "factory_key"), "MAEA");
	ck_assert_str_eq(str_field(o, "state"), ZTP_STATE_MANUFACTURED);
	json_object_put(o);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-1", "x-1", FPR_B, key3, 3, T0),
	    ZTP_EEXISTS);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-1", "x-2", FPR_B, key3, 3, T0),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-1", "x-3", FPR_B, key3, 3, T0),
	    ZTP_ETOOBIG);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-2", "x-4", FPR_B, key3, 3, T0),
	    ZTP_ESTATE);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-3", "x-4", FPR_B, key3, 3, T0),
	    ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_group_set_enabled(s, "g-2", 1), ZTP_OK);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-2", "x-4", FPR_B, key3, 3, 1700000101),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_group_add(s, "{\"group_id\":\"g-3\",\"issuer\":\"" FPR_A
				   "\",\"expires_at\":1700000100}"),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_group_enroll(s, "g-3", "x-5", FPR_B, key3, 3, 1700000101),
	    ZTP_EEXPIRED);
	ck_assert_rc(ztp_store_device_get(s, "x-3", &json), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_get(s, "x-5", &json), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_group_get(s, "g-1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_int_eq(int_field(o, "enrolled"), 2);
	json_object_put(o);
	/* the inventory by group */
	list_ids(s, "{\"group\":\"g-1\"}", NULL, 10, ZTP_OK, got, sizeof(got));
	ck_assert_str_eq(got, "x-1,x-2");
	/* refused arguments */
	ck_assert_rc(ztp_store_group_add(s, "{\"group_id\":\"g-9\","
					    "\"issuer\":\"abc\"}"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_group_add(s, "{\"group_id\":\"g-9\","
					    "\"issuer\":\"" FPR_A
					    "\",\"device_pattern\":\"a b\"}"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_group_set_enabled(s, "g-9", 1), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_group_set_enabled(s, "g-1", 2), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

void store_tcases_fleet(Suite *s)
{
	suite_add_tcase(s, loop_case("fleet_groups", test_fleet_groups, 0));
	suite_add_tcase(s, loop_case("fleet_enroll", test_fleet_enroll, 0));
	suite_add_tcase(
	    s, loop_case("fleet_enroll_atomic", test_fleet_enroll_atomic, 0));
	suite_add_tcase(s, loop_case("fleet_list", test_fleet_list, 0));
	suite_add_tcase(s, loop_case("fleet_expiring", test_fleet_expiring, 0));
}
