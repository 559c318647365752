/*
 * Store: certificate records, revocation and the revoked list, against
 * every backend.
 */
#include "test_store.h"

/* ------------------------------------------------------------ certificates */

START_TEST(test_cert_add_get)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *o;
	char *json = NULL;
	uint64_t n = 99;
	size_t i;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_cert_count(s, &n), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	now_val = T0 + 3;
	ck_assert_rc(ztp_store_cert_add(s, "1a2b", "d1", "bootstrap", T0,
					T0 + 86400, FPR_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "ff", NULL, "ca", T0, T0 + 1, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "1a2b", "d1", "operational", T0,
					T0 + 1, FPR_B),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_store_cert_add(s, "77", "ghost", "operational", T0,
					T0 + 1, FPR_B),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_cert_count(s, &n), ZTP_OK);
	ck_assert_uint_eq(n, 2);

	ck_assert_rc(ztp_store_cert_get(s, "1a2b", &json), ZTP_OK);
	o = parse(json);
	ck_assert_int_eq(json_object_object_length(o), 11);
	ck_assert_str_eq(str_field(o, "serial"), "1a2b");
	ck_assert_str_eq(str_field(o, "device_id"), "d1");
	ck_assert_str_eq(str_field(o, "profile"), "bootstrap");
	ck_assert_int_eq(int_field(o, "not_before"), T0);
	ck_assert_int_eq(int_field(o, "not_after"), T0 + 86400);
	ck_assert_str_eq(str_field(o, "fingerprint"), FPR_B);
	ck_assert_int_eq(int_field(o, "issued_at"), T0 + 3);
	ck_assert(json_object_is_type(field(o, "revoked"), json_type_boolean));
	ck_assert(!json_object_get_boolean(field(o, "revoked")));
	ck_assert(null_field(o, "revoked_at"));
	ck_assert(null_field(o, "reason"));
	ck_assert(null_field(o, "issuer"));
	json_object_put(o);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_get(s, "ff", &json), ZTP_OK);
	o = parse(json);
	ck_assert(null_field(o, "device_id"));
	json_object_put(o);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_get(s, "abc", &json), ZTP_ENOTFOUND);
	ck_assert_ptr_null(json);

	/* serial grammar: lowercase hex, 1..40 digits, positive, canonical */
	{
		static const char *const bad_serials[] = {
		    "",	   "0",
		    "01",  "ABCD",
		    "xyz", "12 3",
		    "-1",  "1234567890123456789012345678901234567890a",
		};

		for (i = 0; i < ZTP__ARRAY_LEN(bad_serials); i++) {
			ck_assert_rc(ztp_store_cert_add(s, bad_serials[i], NULL,
							"ca", T0, T0, FPR_A),
				     ZTP_EINVAL);
			ck_assert_rc(
			    ztp_store_cert_get(s, bad_serials[i], &json),
			    ZTP_EINVAL);
		}
	}
	ck_assert_rc(
	    ztp_store_cert_add(s, "1234567890123456789012345678901234567890",
			       NULL, "ca", T0, T0, FPR_A),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, NULL, NULL, "ca", T0, T0, FPR_A),
		     ZTP_EINVAL);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(ztp_store_cert_add(s, "abc", bad_ids[i], "ca", T0,
						T0, FPR_A),
			     ZTP_EINVAL);
	/* profiles */
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, "", T0, T0, FPR_A),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, "Ca", T0, T0, FPR_A),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, "a,b", T0, T0, FPR_A),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, NULL, T0, T0, FPR_A),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL,
					"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", T0,
					T0, FPR_A),
		     ZTP_EINVAL);
	/* validity and fingerprint */
	ck_assert_rc(
	    ztp_store_cert_add(s, "abc", NULL, "ca", T0, T0 - 1, FPR_A),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, "ca", -5, T0, FPR_A),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, "ca", T0, T0, "ab"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_count(s, &n), ZTP_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_rc(ztp_store_cert_count(s, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_count(NULL, &n), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_cert_revoke)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *o;
	char *json = NULL;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_cert_add(s, "10", "d1", "operational", T0,
					T0 + 10, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "10", 1, T0 + 5), ZTP_OK);
	/* again: first time and reason stay */
	ck_assert_rc(ztp_store_cert_revoke(s, "10", 4, T0 + 9), ZTP_OK);
	ck_assert_rc(ztp_store_cert_get(s, "10", &json), ZTP_OK);
	o = parse(json);
	ck_assert(json_object_get_boolean(field(o, "revoked")));
	ck_assert_int_eq(int_field(o, "revoked_at"), T0 + 5);
	ck_assert_int_eq(int_field(o, "reason"), 1);
	json_object_put(o);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_revoke(s, "11", 1, T0), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_cert_revoke(s, "10", 7, T0), ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_revoke(s, "10", 11, T0), ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_revoke(s, "10", -1, T0), ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_revoke(s, "10", 0, -1), ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_revoke(s, "010", 0, T0), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_device_revoke_certs)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *arr;
	char *json = NULL;
	uint64_t n = 99;

	add_dev(s, "d1");
	add_dev(s, "d2");
	ck_assert_rc(
	    ztp_store_cert_add(s, "1", "d1", "bootstrap", T0, T0, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "2", "d1", "operational", T0, T0, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "3", "d1", "operational", T0, T0, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "4", "d2", "operational", T0, T0, FPR_A),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "5", "d1", "factory", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "3", 1, T0), ZTP_OK);
	/* "operation" is a prefix of "operational", not an element */
	ck_assert_rc(
	    ztp_store_device_revoke_certs(s, "d1", "operation", 4, T0 + 1, &n),
	    ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(ztp_store_device_revoke_certs(
			 s, "d1", "factory,operational", 4, T0 + 1, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 2); /* 2 and 5; 3 was revoked already */
	ck_assert_rc(
	    ztp_store_device_revoke_certs(s, "d1", NULL, 9, T0 + 2, &n),
	    ZTP_OK);
	ck_assert_uint_eq(n, 1); /* 1 */
	ck_assert_rc(
	    ztp_store_device_revoke_certs(s, "d1", NULL, 9, T0 + 2, NULL),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "ghost", NULL, 1, T0, &n),
		     ZTP_ENOTFOUND);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "d1", "a,,b", 1, T0, &n),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "d1", ",", 1, T0, &n),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "d1", "", 1, T0, &n),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "d1", "a b", 1, T0, &n),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "d1", NULL, 7, T0, &n),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "#", NULL, 1, T0, &n),
		     ZTP_EINVAL);
	/* d2 untouched, reasons and times as given */
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 4);
	{
		static const char *const serials[] = {"1", "2", "3", "5"};
		static const int reasons[] = {9, 4, 1, 4};
		static const int64_t at[] = {T0 + 2, T0 + 1, T0, T0 + 1};
		size_t i;

		for (i = 0; i < 4; i++) {
			json_object *e = json_object_array_get_idx(arr, i);

			ck_assert_int_eq(json_object_object_length(e), 3);
			ck_assert_str_eq(str_field(e, "serial"), serials[i]);
			ck_assert_int_eq(int_field(e, "reason"), reasons[i]);
			ck_assert_int_eq(int_field(e, "revoked_at"), at[i]);
		}
	}
	json_object_put(arr);
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_revoked_list)
{
	ztp_store *s = open_kind(_i, NULL);
	static const char *const order[] = {"2", "f", "10", "ff", "100", "abc"};
	json_object *arr;
	char *json = NULL;
	size_t i;

	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	ck_assert_str_eq(json, "[]");
	ztp_free(json);
	/* inserted out of order; one left unrevoked */
	ck_assert_rc(ztp_store_cert_add(s, "100", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "f", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "abc", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "ff", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "2", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "10", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "3", NULL, "ca", T0, T0, FPR_A),
		     ZTP_OK);
	for (i = 0; i < ZTP__ARRAY_LEN(order); i++)
		ck_assert_rc(ztp_store_cert_revoke(s, order[i], 0, T0), ZTP_OK);
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 6);
	for (i = 0; i < ZTP__ARRAY_LEN(order); i++)
		ck_assert_str_eq(
		    str_field(json_object_array_get_idx(arr, i), "serial"),
		    order[i]);
	json_object_put(arr);
	ztp_free(json);
	ck_assert_rc(ztp_store_revoked_list(s, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_store_revoked_list(NULL, &json), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_device_certs)
{
	ztp_store *s = open_kind(_i, NULL);
	static const char *const serials[] = {"ff01", "3", "a0", "1b"};
	json_object *arr, *c;
	char *json = NULL;
	size_t i;

	add_dev(s, "d1");
	add_dev(s, "d2");
	ck_assert_rc(ztp_store_device_certs(s, "d1", &json), ZTP_OK);
	ck_assert_str_eq(json, "[]");
	ztp_free(json);
	for (i = 0; i < ZTP__ARRAY_LEN(serials); i++) {
		now_val = T0 + (int64_t)i;
		ck_assert_rc(ztp_store_cert_add(s, serials[i], "d1",
						"operational", T0, T0 + 9,
						FPR_B),
			     ZTP_OK);
	}
	ck_assert_rc(
	    ztp_store_cert_add(s, "999", "d2", "operational", T0, T0, FPR_B),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_certs(s, "d1", &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 4);
	for (i = 0; i < ZTP__ARRAY_LEN(serials); i++) {
		c = json_object_array_get_idx(arr, i);
		ck_assert_int_eq(json_object_object_length(c), 11);
		ck_assert_str_eq(str_field(c, "serial"), serials[i]);
		ck_assert_str_eq(str_field(c, "device_id"), "d1");
		ck_assert_int_eq(int_field(c, "issued_at"), T0 + (int64_t)i);
	}
	json_object_put(arr);
	ztp_free(json);
	ck_assert_rc(ztp_store_device_certs(s, "ghost", &json), ZTP_ENOTFOUND);
	ck_assert_ptr_null(json);
	ck_assert_rc(ztp_store_device_certs(s, "+", &json), ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_certs(s, "d1", NULL), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ issuers */

/* The serials of a revoked list, comma-separated, in the list's order. */
void revoked_serials(ztp_store *s, const char *issuer, char *out, size_t cap)
{
	json_object *arr;
	char *json = NULL;
	size_t i, n, len = 0;

	ck_assert_rc(ztp_store_revoked_list_issuer(s, issuer, &json), ZTP_OK);
	arr = parse(json);
	ztp_free(json);
	out[0] = '\0';
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		const char *serial =
		    str_field(json_object_array_get_idx(arr, i), "serial");
		int w = snprintf(out + len, cap - len, "%s%s", i ? "," : "",
				 serial);

		ck_assert(w > 0 && (size_t)w < cap - len);
		len += (size_t)w;
	}
	json_object_put(arr);
}

/* Revoked certificates of two issuers and of an unknown one (recorded
 * without): each issuer's list holds its own and the unknown ones. */
static void fill_two_issuers(ztp_store *s)
{
	ck_assert_rc(ztp_store_device_add(s, "d1", FPR_A, NULL, NULL, T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add_issued(s, "a1", "d1", "operational", T0,
					       T0 + 9, FPR_B, KID_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add_issued(s, "b1", "d1", "operational", T0,
					       T0 + 9, FPR_B, KID_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add_issued(s, "a2", NULL, "ca", T0, T0 + 9,
					       FPR_B, KID_A),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "c1", "d1", "operational", T0, T0 + 9, FPR_B),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_add_issued(s, "b2", "d1", "operational", T0,
					       T0 + 9, FPR_B, KID_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "a1", 1, T0 + 1), ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "b1", 1, T0 + 1), ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "a2", 1, T0 + 1), ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "c1", 1, T0 + 1), ZTP_OK);
	/* b2 stays valid */
}

START_TEST(test_cert_issuer)
{
	ztp_store *s = open_kind(_i, NULL);
	char *json = NULL, got[256];
	json_object *o;

	fill_two_issuers(s);
	ck_assert_rc(ztp_store_cert_get(s, "a1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	if (_i == B_WRAPPED) /* version 1: the issuer is not kept */
		ck_assert(null_field(o, "issuer"));
	else
		ck_assert_str_eq(str_field(o, "issuer"), KID_A);
	json_object_put(o);
	ck_assert_rc(ztp_store_cert_get(s, "c1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert(null_field(o, "issuer"));
	json_object_put(o);

	revoked_serials(s, NULL, got, sizeof(got));
	ck_assert_str_eq(got, "a1,a2,b1,c1");
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"b1\""));
	ztp_free(json);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, _i == B_WRAPPED ? "a1,a2,b1,c1" : "a1,a2,c1");
	revoked_serials(s, KID_B, got, sizeof(got));
	ck_assert_str_eq(got, _i == B_WRAPPED ? "a1,a2,b1,c1" : "b1,c1");
	/* an issuer that recorded nothing still lists the unknown ones */
	revoked_serials(s, "00ff", got, sizeof(got));
	ck_assert_str_eq(got, _i == B_WRAPPED ? "a1,a2,b1,c1" : "c1");

	/* key identifiers: whole octets of lowercase hex, 1..64 octets */
	ck_assert_rc(ztp_store_cert_add_issued(s, "e1", NULL, "ca", T0, T0,
					       FPR_B, "abc"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add_issued(s, "e1", NULL, "ca", T0, T0,
					       FPR_B, "ABCD"),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_store_cert_add_issued(s, "e1", NULL, "ca", T0, T0, FPR_B, ""),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add_issued(s, "e1", NULL, "ca", T0, T0,
					       FPR_B, FPR_A FPR_A "aa"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_revoked_list_issuer(s, "a", &json), ZTP_EINVAL);
	ck_assert_ptr_null(json);
	ck_assert_rc(ztp_store_revoked_list_issuer(s, "zz", &json), ZTP_EINVAL);
	ck_assert_rc(ztp_store_revoked_list_issuer(NULL, KID_A, &json),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_revoked_list_issuer(s, KID_A, NULL), ZTP_EINVAL);
	/* the longest key identifier is kept whole */
	ck_assert_rc(ztp_store_cert_add_issued(s, "e1", NULL, "ca", T0, T0,
					       FPR_B, FPR_A FPR_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_get(s, "e1", &json), ZTP_OK);
	if (_i != B_WRAPPED)
		ck_assert_ptr_nonnull(
		    strstr(json, "\"issuer\":\"" FPR_A FPR_B "\""));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

/* The JSON of a caller's backend, read once into typed records: strict,
 * and a malformed record is the store failing (ZTP_ESTORE). */

static int w3_cert_add_issued(void *ctx, const char *serial, const char *id,
			      const char *profile, int64_t nb, int64_t na,
			      const char *fpr, const char *issuer, int64_t now)
{
	wrap *w = ctx;

	w->now = now;
	return ztp_store_cert_add_issued(w->inner, serial, id, profile, nb, na,
					 fpr, issuer);
}

static int w3_revoked_list_issuer(void *ctx, const char *issuer, char **json)
{
	wrap *w = ctx;

	return ztp_store_revoked_list_issuer(w->inner, issuer, json);
}

/* A caller's version-3 backend keeps issuers; a version-2 one is served
 * by the fallbacks (issuer not kept, lists unscoped), and its struct is
 * not read past its version's end. */
START_TEST(test_backend_v3_issuer)
{
	struct {
		ztp_store_backend be;
	} v2;
	ztp_store_backend be = wrap_ops;
	ztp_store *s = NULL;
	char got[256], *json = NULL;

	be.version = 3;
	be.cert_add_issued = w3_cert_add_issued;
	be.revoked_list_issuer = w3_revoked_list_issuer;
	ck_assert_rc(ztp_store_open_backend(&s, &be, wrap_new()), ZTP_OK);
	fill_two_issuers(s);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "a1,a2,c1");
	revoked_serials(s, NULL, got, sizeof(got));
	ck_assert_str_eq(got, "a1,a2,b1,c1");
	ck_assert_rc(ztp_store_cert_get(s, "b1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"issuer\":\"" KID_B "\""));
	ztp_free(json);
	ztp_store_free(s);

	/* version 2: members past device_set_factory_key are garbage */
	memset(&v2, 0xa5, sizeof(v2));
	memcpy(&v2.be, &be, offsetof(ztp_store_backend, cert_add_issued));
	v2.be.version = 2;
	ck_assert_rc(ztp_store_open_backend(&s, &v2.be, wrap_new()), ZTP_OK);
	fill_two_issuers(s);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "a1,a2,b1,c1");
	ck_assert_rc(ztp_store_cert_get(s, "b1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"issuer\":null"));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

/* The schema of version 2 as the release before issuers created it
 * (frozen), applied on top of v1_schema and holding revocations. */

/* The counts behind the metrics' gauges: devices by state follow every
 * add and state change; expiring certificates are those of the profile,
 * not revoked, with notAfter in [from, to). A caller's backend without
 * the version-4 operations answers ZTP_EUNSUPPORTED. */
START_TEST(test_gauge_counts)
{
	ztp_store *s = open_kind(_i, NULL);
	uint64_t n = 99;

	if (_i == B_WRAPPED) {
		ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n),
			     ZTP_EUNSUPPORTED);
		ck_assert_rc(ztp_store_cert_count_expiring(s, "operational", T0,
							   T0 + 1, &n),
			     ZTP_EUNSUPPORTED);
		ztp_store_free(s);
		return;
	}
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 0);
	add_dev(s, "d1");
	add_dev(s, "d2");
	add_dev(s, "d3");
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_ACTIVE, "t1"),
	    ZTP_OK);
	/* the same state again changes no count */
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_ACTIVE, "t1"),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d3", NULL, ZTP_STATE_REVOKED, NULL),
	    ZTP_OK);
	/* a refused change changes no count */
	ck_assert_rc(ztp_store_device_set_state(s, "d1", ZTP_STATE_RESET,
						ZTP_STATE_ACTIVE, NULL),
		     ZTP_ESTATE);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n), ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_REVOKED, &n), ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_RESET, &n), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(ztp_store_device_count(s, "sleeping", &n), ZTP_EINVAL);

	ck_assert_rc(ztp_store_cert_add(s, "a1", "d1", "operational", T0,
					T0 + 10, FPR_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "a2", "d1", "operational", T0,
					T0 + 20, FPR_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "a3", "d1", "operational", T0,
					T0 + 15, FPR_B),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "b1", "d1", "bootstrap", T0, T0 + 10, FPR_B),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "a3", 4, T0), ZTP_OK);
	ck_assert_rc(ztp_store_cert_count_expiring(s, "operational", T0 + 10,
						   T0 + 20, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 1); /* a1; a2 is at the end, a3 revoked */
	ck_assert_rc(
	    ztp_store_cert_count_expiring(s, "operational", T0, T0 + 21, &n),
	    ZTP_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_rc(
	    ztp_store_cert_count_expiring(s, "bootstrap", T0, T0 + 21, &n),
	    ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_rc(ztp_store_cert_count_expiring(s, "operational", T0 + 21,
						   T0 + 99, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(
	    ztp_store_cert_count_expiring(s, "operational", T0 + 2, T0 + 1, &n),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_store_cert_count_expiring(s, "Bad Profile", T0, T0 + 1, &n),
	    ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

void store_tcases_certs(Suite *s)
{
	TCase *tc;

	suite_add_tcase(s,
			loop_case("cert_add_get_count", test_cert_add_get, 0));
	suite_add_tcase(s, loop_case("cert_revoke", test_cert_revoke, 0));
	suite_add_tcase(
	    s, loop_case("device_revoke_certs", test_device_revoke_certs, 0));
	suite_add_tcase(s, loop_case("revoked_list", test_revoked_list, 0));
	suite_add_tcase(s, loop_case("device_certs", test_device_certs, 0));
	suite_add_tcase(s, loop_case("cert_issuer", test_cert_issuer, 0));
	suite_add_tcase(s, loop_case("gauge_counts", test_gauge_counts, 0));
	tc = tcase_create("backend_v3_issuer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backend_v3_issuer);
	suite_add_tcase(s, tc);
}
