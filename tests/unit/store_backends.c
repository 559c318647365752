/*
 * Store: opening by URI, caller-supplied backends and their contract, the
 * memory backend caps.
 */
#include "test_store.h"

/* ------------------------------------------------------------ open */

START_TEST(test_open_uris)
{
	ztp_store *s = (ztp_store *)&s;

	ck_assert_rc(ztp_store_open(&s, NULL), ZTP_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_rc(ztp_store_open(NULL, "memory:"), ZTP_EINVAL);
	ck_assert_rc(ztp_store_open(&s, ""), ZTP_EINVAL);
	ck_assert_rc(ztp_store_open(&s, "memory"), ZTP_EINVAL);
	ck_assert_rc(ztp_store_open(&s, "memory:x"), ZTP_EINVAL);
	/* postgresql: a URI libpq refuses; or the backend not built */
	ck_assert_rc(ztp_store_open(&s, "postgresql://localhost/x?bogus=1"),
#ifdef HAVE_LIBPQ
		     ZTP_EINVAL
#else
		     ZTP_EUNSUPPORTED
#endif
	);
	ck_assert_rc(ztp_store_open(&s, "sqlite:"), ZTP_EINVAL);
	ck_assert_rc(ztp_store_open(&s, "sqlite:file:x.db?mode=ro"),
		     ZTP_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
	ztp_store_free(s);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_OK);
	ztp_store_free(s);
	ck_assert_int_eq(access(db_path, F_OK), 0);
	/* A directory is no database. */
	{
		char *uri = ztp_test_path("sqlite:", tmpdir);

		ck_assert_rc(ztp_store_open(&s, uri), ZTP_ESTORE);
		free(uri);
	}
	ztp_store_free(NULL);
	ck_assert_rc(ztp_store_set_clock(NULL, NULL, NULL), ZTP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------ backends */

START_TEST(test_backend_calls)
{
	wrap *w = NULL;
	ztp_store *s = open_kind(B_WRAPPED, &w);
	const uint8_t h[] = {1, 2, 3};
	char *json;
	uint64_t v;
	size_t i;

	/* Refused arguments never reach the backend. */
	ck_assert_rc(ztp_store_device_add(s, "a/b", FPR_A, NULL, NULL, T0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_cert_add(s, "0", NULL, "ca", T0, T0, FPR_A),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_event_append(s, "[]"), ZTP_EPARSE);
	for (i = 0; i < OP__COUNT; i++)
		ck_assert_uint_eq(w->calls[i], 0);

	now_val = T0 + 42;
	ck_assert_rc(ztp_store_device_add(s, "d1", FPR_A, NULL, NULL, T0),
		     ZTP_OK);
	ck_assert_int_eq(w->now, T0 + 42); /* the clock reaches the backend */
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_device_set_state(s, "d1", NULL,
						ZTP_STATE_REGISTERED, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_set_info(s, "d1", "{}"), ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "1", "d1", "operational", T0, T0, FPR_A),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_get(s, "1", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_revoke(s, "1", 1, T0), ZTP_OK);
	ck_assert_rc(ztp_store_device_revoke_certs(s, "d1", NULL, 1, T0, &v),
		     ZTP_OK);
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_device_certs(s, "d1", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_count(s, &v), ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(s, h, sizeof(h), T0 + 1, T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_list(s, 0, 5000, &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_counter_next(s, "n", &v), ZTP_OK);
	for (i = 0; i < OP__COUNT; i++)
		ck_assert_msg(w->calls[i] == 1, "op %zu: %u calls", i,
			      w->calls[i]);
	ck_assert_int_eq(wrap_closes, 0);
	ztp_store_free(s);
	ck_assert_int_eq(wrap_closes, 1);
}
END_TEST

START_TEST(test_backend_refused)
{
	ztp_store_backend be = wrap_ops;
	ztp_store *s = (ztp_store *)&s;
	wrap *w = wrap_new();

	be.version = ZTP_STORE_BACKEND_VERSION + 1;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_EINVAL);
	ck_assert_ptr_null(s);
	be.version = 0;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_EINVAL);
	be.version = ZTP_STORE_BACKEND_VERSION;
	be.flags = 0x80;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_EINVAL);
	be.flags = 0;
	be.counter_next = NULL;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_EINVAL);
	be = wrap_ops;
	be.device_add = NULL;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_EINVAL);
	ck_assert_rc(ztp_store_open_backend(&s, NULL, w), ZTP_EINVAL);
	ck_assert_rc(ztp_store_open_backend(NULL, &wrap_ops, w), ZTP_EINVAL);
	ck_assert_ptr_null(s);
	/* on failure ctx stays the caller's */
	ck_assert_int_eq(wrap_closes, 0);
	/* close is optional; the backend struct is copied */
	be = wrap_ops;
	be.close = NULL;
	be.flags = ZTP_STORE_BACKEND_THREADSAFE;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_OK);
	memset(&be, 0, sizeof(be));
	add_dev(s, "d1");
	ck_assert_uint_eq(w->calls[OP_DEVICE_ADD], 1);
	ztp_store_free(s);
	ck_assert_int_eq(wrap_closes, 0);
	w_close(w);
}
END_TEST

/* A backend that breaks the contract in every way the library can see. */
static int bad_device_get(void *ctx, const char *id, char **json)
{
	(void)ctx;
	(void)id;
	*json = strdup("{\"device_id\": ");
	return ZTP_OK;
}

static int bad_cert_get(void *ctx, const char *serial, char **json)
{
	(void)ctx;
	(void)serial;
	*json = strdup("[1, 2]");
	return ZTP_OK;
}

static int bad_revoked_list(void *ctx, char **json)
{
	(void)ctx;
	*json = NULL;
	return ZTP_OK;
}

static int bad_device_certs(void *ctx, const char *id, char **json)
{
	(void)ctx;
	(void)id;
	/* a result alongside a failure must not leak */
	*json = strdup("[]");
	return ZTP_EIO;
}

static int bad_counter_next(void *ctx, const char *name, uint64_t *out)
{
	(void)ctx;
	(void)name;
	*out = 7;
	return 5;
}

static int bad_event_list(void *ctx, int64_t after, size_t max, char **json)
{
	(void)ctx;
	(void)after;
	(void)max;
	*json = NULL;
	return -1000;
}

static int bad_cert_count(void *ctx, uint64_t *out)
{
	(void)ctx;
	(void)out;
	ztp_error_clear();
	return ZTP_ENOTFOUND;
}

static int bad_set_state(void *ctx, const char *id, const char *expected,
			 const char *state, const char *tenant, int64_t now)
{
	(void)ctx;
	(void)id;
	(void)expected;
	(void)state;
	(void)tenant;
	(void)now;
	return ztp_store_backend_error(ZTP_ESTORE, "replica unreachable");
}

START_TEST(test_backend_contract)
{
	ztp_store_backend be = wrap_ops;
	ztp_store *s = NULL;
	wrap *w = wrap_new();
	char *json = (char *)&json;
	uint64_t v = 99;

	be.device_get = bad_device_get;
	be.cert_get = bad_cert_get;
	be.revoked_list = bad_revoked_list;
	be.device_certs = bad_device_certs;
	be.counter_next = bad_counter_next;
	be.event_list = bad_event_list;
	be.cert_count = bad_cert_count;
	be.device_set_state = bad_set_state;
	ck_assert_rc(ztp_store_open_backend(&s, &be, w), ZTP_OK);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_ESTORE);
	ck_assert_ptr_null(json);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "device_get"));
	ck_assert_rc(ztp_store_cert_get(s, "1", &json), ZTP_ESTORE);
	ck_assert_ptr_null(json);
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_ESTORE);
	ck_assert_rc(ztp_store_device_certs(s, "d1", &json), ZTP_EIO);
	ck_assert_ptr_null(json);
	ck_assert_rc(ztp_store_counter_next(s, "c", &v), ZTP_ESTORE);
	ck_assert_uint_eq(v, 0);
	ck_assert_rc(ztp_store_event_list(s, 0, 1, &json), ZTP_ESTORE);
	ck_assert_rc(ztp_store_cert_count(s, &v), ZTP_ENOTFOUND);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "store backend: cert_count"));
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d1", NULL, ZTP_STATE_ACTIVE, NULL),
	    ZTP_ESTORE);
	ck_assert_str_eq(ztp_error_last_message(), "replica unreachable");
	ztp_store_free(s);
	ck_assert_int_eq(wrap_closes, 1);
	ck_assert_rc(ztp_store_backend_error(3, NULL), ZTP_ESTORE);
	ck_assert_rc(ztp_store_backend_error(ZTP_EEXISTS, NULL), ZTP_EEXISTS);
	ck_assert_str_eq(ztp_error_last_message(), ztp_strerror(ZTP_EEXISTS));
}
END_TEST

START_TEST(test_memory_event_cap)
{
	const int64_t cap = 65536, extra = 10;
	ztp_store *s = NULL;
	json_object *arr;
	char *json = NULL, buf[64];
	int64_t i;

	ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
	for (i = 1; i <= cap + extra; i++) {
		snprintf(buf, sizeof(buf), "{\"n\":%lld}", (long long)i);
		ck_assert_rc(ztp_store_event_append(s, buf), ZTP_OK);
	}
	/* from the start: the oldest kept is seq extra + 1 */
	ck_assert_rc(ztp_store_event_list(s, 0, 2, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 2);
	ck_assert_int_eq(int_field(json_object_array_get_idx(arr, 0), "seq"),
			 extra + 1);
	ck_assert_int_eq(
	    int_field(field(json_object_array_get_idx(arr, 0), "event"), "n"),
	    extra + 1);
	ck_assert_int_eq(int_field(json_object_array_get_idx(arr, 1), "seq"),
			 extra + 2);
	json_object_put(arr);
	ztp_free(json);
	/* the newest ones, paged from the end */
	ck_assert_rc(ztp_store_event_list(s, cap + extra - 2, 10, &json),
		     ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 2);
	ck_assert_int_eq(
	    int_field(field(json_object_array_get_idx(arr, 1), "event"), "n"),
	    cap + extra);
	json_object_put(arr);
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, cap + extra, 10, &json), ZTP_OK);
	ck_assert_str_eq(json, "[]");
	ztp_free(json);
	/* the next one takes the next number */
	ck_assert_rc(ztp_store_event_append(s, "{\"n\":0}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_list(s, cap + extra, 10, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(int_field(json_object_array_get_idx(arr, 0), "seq"),
			 cap + extra + 1);
	json_object_put(arr);
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

/* memory: keeps at most 65,536 buckets: at that size a new key is
 * refused (never an old bucket forgotten) until full buckets can be
 * purged. */
START_TEST(test_memory_limit_cap)
{
	ztp_store *s = NULL;
	char key[32];
	int64_t retry;

	ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
	for (int i = 0; i < 65536; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_rc(
		    ztp_store_limit_take(s, "device", key, 1, 2, T0, &retry),
		    ZTP_OK);
	}
	ck_assert_rc(ztp_store_limit_take(s, "device", "new", 1, 2, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 1);
	/* buckets in the table keep working */
	ck_assert_rc(ztp_store_limit_take(s, "device", "k7", 1, 2, T0, &retry),
		     ZTP_OK);
	ck_assert_rc(ztp_store_limit_take(s, "device", "k7", 1, 2, T0, &retry),
		     ZTP_ERATELIMIT);
	/* a second later every bucket but k7 is full again */
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "new", 1, 2, T0 + 1, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "k7", 1, 2, T0 + 1, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "k7", 1, 2, T0 + 1, &retry),
	    ZTP_ERATELIMIT);
	ztp_store_free(s);
}
END_TEST

void store_tcases_backends(Suite *s)
{
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_uris);
	suite_add_tcase(s, tc);
	tc = tcase_create("memory_event_cap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_memory_event_cap);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tc = tcase_create("memory_limit_cap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_memory_limit_cap);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tc = tcase_create("open_backend");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backend_calls);
	tcase_add_test(tc, test_backend_refused);
	tcase_add_test(tc, test_backend_contract);
	suite_add_tcase(s, tc);
}
