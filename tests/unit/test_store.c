/*
 * Store: the same functional cases against every backend (memory:,
 * sqlite:, and a caller-supplied backend that wraps a memory store), plus
 * SQLite persistence and failure modes, concurrency and the backend
 * interface contract.
 */
#include "store/records.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <ztp/store.h>

#include "testutil.h"

/* Loop index of every functional test (Check prints it on failure). */
enum { B_MEMORY, B_SQLITE, B_WRAPPED, B_COUNT };

#define FPR_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FPR_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T0 1700000000

static char *tmpdir;
static char *db_path;
static char *db_uri;
static int64_t now_val;

/* ------------------------------------------------------------ wrapper */

/* A backend of the caller's kind: counts calls per operation and forwards
 * them to a memory store through the public API. */
enum {
	OP_DEVICE_ADD,
	OP_DEVICE_GET,
	OP_SET_STATE,
	OP_SET_INFO,
	OP_CLAIM_SET,
	OP_CLAIM_TAKE,
	OP_CERT_ADD,
	OP_CERT_GET,
	OP_CERT_REVOKE,
	OP_REVOKE_CERTS,
	OP_REVOKED_LIST,
	OP_DEVICE_CERTS,
	OP_CERT_COUNT,
	OP_CHALLENGE_USE,
	OP_EVENT_APPEND,
	OP_EVENT_LIST,
	OP_COUNTER_NEXT,
	OP__COUNT
};

typedef struct wrap {
	ztp_store *inner;
	int64_t now; /* the outer store's clock, passed on to the inner */
	unsigned calls[OP__COUNT];
} wrap;

static int wrap_closes;

static int w_device_add(void *ctx, const char *id, const char *fpr,
			const char *model, const char *batch, int64_t mfg,
			int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_DEVICE_ADD]++;
	w->now = now;
	return ztp_store_device_add(w->inner, id, fpr, model, batch, mfg);
}

static int w_device_get(void *ctx, const char *id, char **json)
{
	wrap *w = ctx;

	w->calls[OP_DEVICE_GET]++;
	return ztp_store_device_get(w->inner, id, json);
}

static int w_set_state(void *ctx, const char *id, const char *expected,
		       const char *state, const char *tenant, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_SET_STATE]++;
	w->now = now;
	return ztp_store_device_set_state(w->inner, id, expected, state,
					  tenant);
}

static int w_set_info(void *ctx, const char *id, const char *info, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_SET_INFO]++;
	w->now = now;
	return ztp_store_device_set_info(w->inner, id, info);
}

static int w_claim_set(void *ctx, const char *id, const uint8_t *h, size_t len)
{
	wrap *w = ctx;

	w->calls[OP_CLAIM_SET]++;
	return ztp_store_claim_set(w->inner, id, h, len);
}

static int w_claim_take(void *ctx, const char *id, const uint8_t *h, size_t len,
			const char *tenant, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_CLAIM_TAKE]++;
	w->now = now;
	return ztp_store_claim_take(w->inner, id, h, len, tenant);
}

static int w_cert_add(void *ctx, const char *serial, const char *id,
		      const char *profile, int64_t nb, int64_t na,
		      const char *fpr, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_CERT_ADD]++;
	w->now = now;
	return ztp_store_cert_add(w->inner, serial, id, profile, nb, na, fpr);
}

static int w_cert_get(void *ctx, const char *serial, char **json)
{
	wrap *w = ctx;

	w->calls[OP_CERT_GET]++;
	return ztp_store_cert_get(w->inner, serial, json);
}

static int w_cert_revoke(void *ctx, const char *serial, int reason,
			 int64_t when)
{
	wrap *w = ctx;

	w->calls[OP_CERT_REVOKE]++;
	return ztp_store_cert_revoke(w->inner, serial, reason, when);
}

static int w_revoke_certs(void *ctx, const char *id, const char *profiles,
			  int reason, int64_t when, uint64_t *count)
{
	wrap *w = ctx;

	w->calls[OP_REVOKE_CERTS]++;
	return ztp_store_device_revoke_certs(w->inner, id, profiles, reason,
					     when, count);
}

static int w_revoked_list(void *ctx, char **json)
{
	wrap *w = ctx;

	w->calls[OP_REVOKED_LIST]++;
	return ztp_store_revoked_list(w->inner, json);
}

static int w_device_certs(void *ctx, const char *id, char **json)
{
	wrap *w = ctx;

	w->calls[OP_DEVICE_CERTS]++;
	return ztp_store_device_certs(w->inner, id, json);
}

static int w_cert_count(void *ctx, uint64_t *out)
{
	wrap *w = ctx;

	w->calls[OP_CERT_COUNT]++;
	return ztp_store_cert_count(w->inner, out);
}

static int w_challenge_use(void *ctx, const uint8_t *id, size_t len,
			   int64_t exp, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_CHALLENGE_USE]++;
	return ztp_store_challenge_use(w->inner, id, len, exp, now);
}

static int w_event_append(void *ctx, const char *json, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_EVENT_APPEND]++;
	w->now = now;
	return ztp_store_event_append(w->inner, json);
}

static int w_event_list(void *ctx, int64_t after, size_t max, char **json)
{
	wrap *w = ctx;

	w->calls[OP_EVENT_LIST]++;
	return ztp_store_event_list(w->inner, after, max, json);
}

static int w_counter_next(void *ctx, const char *name, uint64_t *out)
{
	wrap *w = ctx;

	w->calls[OP_COUNTER_NEXT]++;
	return ztp_store_counter_next(w->inner, name, out);
}

static void w_close(void *ctx)
{
	wrap *w = ctx;

	wrap_closes++;
	ztp_store_free(w->inner);
	free(w);
}

/* Version 1: the operations appended in version 2 are absent, so the
 * library's fallbacks serve them (limits per handle, no factory key). */
static const ztp_store_backend wrap_ops = {
    .version = 1,
    .flags = 0,
    .close = w_close,
    .device_add = w_device_add,
    .device_get = w_device_get,
    .device_set_state = w_set_state,
    .device_set_info = w_set_info,
    .claim_set = w_claim_set,
    .claim_take = w_claim_take,
    .cert_add = w_cert_add,
    .cert_get = w_cert_get,
    .cert_revoke = w_cert_revoke,
    .device_revoke_certs = w_revoke_certs,
    .revoked_list = w_revoked_list,
    .device_certs = w_device_certs,
    .cert_count = w_cert_count,
    .challenge_use = w_challenge_use,
    .event_append = w_event_append,
    .event_list = w_event_list,
    .counter_next = w_counter_next,
};

static wrap *wrap_new(void)
{
	wrap *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	ck_assert_rc(ztp_store_open(&w->inner, "memory:"), ZTP_OK);
	ck_assert_rc(ztp_store_set_clock(w->inner, ztp_clock_fixed, &w->now),
		     ZTP_OK);
	return w;
}

/* ------------------------------------------------------------ fixtures */

static void setup(void)
{
	tmpdir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(tmpdir);
	db_path = ztp_test_path(tmpdir, "registry.db");
	ck_assert_ptr_nonnull(db_path);
	db_uri = ztp_test_path("sqlite:", db_path);
	ck_assert_ptr_nonnull(db_uri);
	/* ztp_test_path joins with '/': "sqlite://tmp/..." is still the
	 * absolute path after the scheme. */
	now_val = T0;
	wrap_closes = 0;
}

static void teardown(void)
{
	ztp_test_rmtree(tmpdir);
	free(tmpdir);
	free(db_path);
	free(db_uri);
}

static ztp_store *open_kind(int kind, wrap **wp)
{
	ztp_store *s = NULL;
	wrap *w;

	switch (kind) {
	case B_MEMORY:
		ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
		break;
	case B_SQLITE:
		ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_OK);
		break;
	case B_WRAPPED:
		w = wrap_new();
		ck_assert_rc(ztp_store_open_backend(&s, &wrap_ops, w), ZTP_OK);
		if (wp != NULL)
			*wp = w;
		break;
	default:
		ck_abort_msg("bad backend %d", kind);
	}
	ck_assert_ptr_nonnull(s);
	ck_assert_rc(ztp_store_set_clock(s, ztp_clock_fixed, &now_val), ZTP_OK);
	return s;
}

/* ------------------------------------------------------------ JSON helpers */

static json_object *parse(const char *s)
{
	json_object *o;

	ck_assert_ptr_nonnull(s);
	o = json_tokener_parse(s);
	ck_assert_msg(o != NULL, "not JSON: %s", s);
	return o;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return v;
}

static const char *str_field(json_object *o, const char *key)
{
	json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string),
		      "%s is not a string", key);
	return json_object_get_string(v);
}

static int64_t int_field(json_object *o, const char *key)
{
	json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_int),
		      "%s is not an integer", key);
	return json_object_get_int64(v);
}

static bool null_field(json_object *o, const char *key)
{
	return field(o, key) == NULL;
}

static void add_dev(ztp_store *s, const char *id)
{
	ck_assert_rc(ztp_store_device_add(s, id, FPR_A, "m1", "b1", T0 - 100),
		     ZTP_OK);
}

static const char *const bad_ids[] = {
    "a/b",
    "+",
    "#",
    "$x",
    "",
    "a b",
    "dev\xc3\xa9",
    "-lead",
    ".x",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

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
	ck_assert_rc(ztp_store_open(&s, "postgresql://localhost/x"),
		     ZTP_EINVAL);
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
	ck_assert_int_eq(json_object_object_length(o), 10);
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

static void expect_state(ztp_store *s, const char *id, const char *state,
			 const char *tenant)
{
	json_object *o;
	char *json = NULL;

	ck_assert_rc(ztp_store_device_get(s, id, &json), ZTP_OK);
	o = parse(json);
	ck_assert_str_eq(str_field(o, "state"), state);
	if (tenant == NULL)
		ck_assert(null_field(o, "tenant"));
	else
		ck_assert_str_eq(str_field(o, "tenant"), tenant);
	json_object_put(o);
	ztp_free(json);
}

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

/* ------------------------------------------------------------ claims */

START_TEST(test_claim)
{
	ztp_store *s = open_kind(_i, NULL);
	uint8_t h[32], other[32];
	size_t i;

	memset(h, 0x5a, sizeof(h));
	memset(other, 0x5a, sizeof(other));
	other[31] ^= 1;
	add_dev(s, "d1");
	add_dev(s, "d2");
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_ENOTFOUND); /* no pending claim */
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "ghost", h, sizeof(h)),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, 65), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_set(s, "d1", NULL, 32), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_set(s, "a/b", h, 32), ZTP_EINVAL);

	/* wrong hash, or a prefix of it: refused, claim kept */
	ck_assert_rc(
	    ztp_store_claim_take(s, "d1", other, sizeof(other), "acme"),
	    ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, 31, "acme"),
		     ZTP_EMISMATCH);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(
		    ztp_store_claim_take(s, "d1", h, sizeof(h), bad_ids[i]),
		    ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, 0, "acme"), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_take(s, "ghost", h, 32, "acme"),
		     ZTP_ENOTFOUND);

	now_val = T0 + 99;
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_OK);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");
	/* single use */
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "evil"),
		     ZTP_ENOTFOUND);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");

	/* replaced claim: only the newest hash works */
	ck_assert_rc(ztp_store_claim_set(s, "d2", other, sizeof(other)),
		     ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "d2", h, 16), ZTP_OK);
	ck_assert_rc(
	    ztp_store_claim_take(s, "d2", other, sizeof(other), "acme"),
	    ZTP_EMISMATCH);
	/* revoked devices cannot be claimed, even with the right code */
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_REVOKED, NULL),
	    ZTP_OK);
	ck_assert_rc(ztp_store_claim_take(s, "d2", h, 16, "acme"), ZTP_ESTATE);
	expect_state(s, "d2", ZTP_STATE_REVOKED, NULL);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ limits */

START_TEST(test_limit_take)
{
	ztp_store *s = open_kind(_i, NULL);
	const double rate = 1.0 / 60;
	int64_t retry = -1;

	/* a burst of 3, then one a minute */
	for (int i = 0; i < 3; i++) {
		ck_assert_rc(
		    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0, &retry),
		    ZTP_OK);
		ck_assert_int_eq(retry, 0);
	}
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", rate, 3, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 60);
	/* a refused take costs nothing: the token is back on time */
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0 + 59, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 1);
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0 + 60, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0 + 60, &retry),
	    ZTP_ERATELIMIT);
	/* other keys and other scopes are other buckets */
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d2", rate, 1, T0, &retry),
		     ZTP_OK);
	ck_assert_rc(ztp_store_limit_take(s, "device", "d1", rate, 1, T0, &retry),
		     ZTP_OK);
	ck_assert_rc(ztp_store_limit_take(s, "device", "d1", rate, 1, T0, &retry),
		     ZTP_ERATELIMIT);
	/* a clock going back refills nothing */
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "d1", rate, 1, T0 - 999, &retry),
	    ZTP_ERATELIMIT);
	/* full again after (burst - tokens) / rate: forgotten, and a fresh
	 * bucket is full */
	for (int i = 0; i < 4; i++)
		ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", rate, 3,
						  T0 + 60 + 180, &retry),
			     i < 3 ? ZTP_OK : ZTP_ERATELIMIT);

	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 0, 3, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 0.0 / 0.0, 3, T0,
					  &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 2e6, 3, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 1, 0.5, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 1, 3, -1, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "a/b", "d1", 1, 3, T0, &retry),
		     ZTP_EINVAL);
	for (size_t i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(ztp_store_limit_take(s, "claim", bad_ids[i], 1, 3,
						  T0, &retry),
			     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", NULL, 1, 3, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 1, 3, T0, NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(NULL, "claim", "d1", 1, 3, T0, &retry),
		     ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_claim_attempt)
{
	ztp_store *s = open_kind(_i, NULL);
	const double rate = 1.0 / 60;
	uint8_t h[32], other[32];
	int64_t retry = -1;

	memset(h, 0x5a, sizeof(h));
	memset(other, 0xa5, sizeof(other));
	add_dev(s, "d1");
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	/* every refusal spends its token */
	for (int i = 0; i < 5; i++)
		ck_assert_rc(ztp_store_claim_attempt(s, "d1", other,
						     sizeof(other), "acme",
						     rate, 5, T0, &retry),
			     ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme",
					     rate, 5, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 60);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	/* the bucket is the one limit_take sees under scope "claim" */
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 5, T0 + 30, &retry),
	    ZTP_ERATELIMIT);
	now_val = T0 + 77;
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme",
					     rate, 5, T0 + 60, &retry),
		     ZTP_OK);
	ck_assert_int_eq(retry, 0);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");
	/* single use, and the refusal counts */
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "evil",
					     rate, 5, T0 + 120, &retry),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "evil",
					     rate, 5, T0 + 120, &retry),
		     ZTP_ERATELIMIT);
	/* no such device: refused without a bucket, as often as asked (the
	 * fallback for a backend without claim_attempt takes the token
	 * before it asks: within the burst there) */
	for (int i = 0; i < (_i == B_WRAPPED ? 5 : 7); i++)
		ck_assert_rc(ztp_store_claim_attempt(s, "ghost", h, sizeof(h),
						     "acme", rate, 5, T0,
						     &retry),
			     ZTP_ENOTFOUND);
	/* a revoked device: refused, and counted */
	add_dev(s, "d2");
	ck_assert_rc(ztp_store_claim_set(s, "d2", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_REVOKED, NULL),
	    ZTP_OK);
	ck_assert_rc(ztp_store_claim_attempt(s, "d2", h, sizeof(h), "acme",
					     rate, 1, T0, &retry),
		     ZTP_ESTATE);
	ck_assert_rc(ztp_store_claim_attempt(s, "d2", h, sizeof(h), "acme",
					     rate, 1, T0, &retry),
		     ZTP_ERATELIMIT);

	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, 0, "acme", rate, 5,
					     T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "a/b",
					     rate, 5, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme", 0,
					     5, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme",
					     rate, 5, T0, NULL),
		     ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_factory_key)
{
	ztp_store *s = open_kind(_i, NULL);
	uint8_t spki[91], big[4097];
	json_object *o;
	char *json = NULL, *b64 = NULL;
	int want = _i == B_WRAPPED ? ZTP_EUNSUPPORTED : ZTP_OK;

	memset(spki, 0x30, sizeof(spki));
	memset(big, 0x30, sizeof(big));
	add_dev(s, "d1");
	now_val = T0 + 50;
	ck_assert_rc(ztp_store_device_set_factory_key(s, "d1", spki,
						      sizeof(spki)),
		     want);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	if (want == ZTP_OK) {
		ck_assert_rc(ztp__b64_encode(&b64, spki, sizeof(spki)),
			     ZTP_OK);
		ck_assert_str_eq(str_field(o, "factory_key"), b64);
		ztp_free(b64);
		/* not an update of the record's state */
		ck_assert_int_eq(int_field(o, "updated_at"), T0);
	} else {
		ck_assert(null_field(o, "factory_key"));
	}
	json_object_put(o);
	if (want == ZTP_OK)
		ck_assert_rc(ztp_store_device_set_factory_key(s, "ghost", spki,
							      sizeof(spki)),
			     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "d1", big,
						      sizeof(big)),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "d1", spki, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "d1", NULL, 4),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "a/b", spki, 4),
		     ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

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

/* ------------------------------------------------------------ challenges */

START_TEST(test_challenge_use)
{
	ztp_store *s = open_kind(_i, NULL);
	const uint8_t a[] = {'n', 0, 'x'}, b[] = {'n', 0, 'y'};
	uint8_t big[65];

	memset(big, 1, sizeof(big));
	ck_assert_rc(ztp_store_challenge_use(s, a, sizeof(a), T0 + 60, T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(s, a, sizeof(a), T0 + 60, T0),
		     ZTP_EREPLAY);
	/* bytes after a NUL count */
	ck_assert_rc(ztp_store_challenge_use(s, b, sizeof(b), T0 + 60, T0),
		     ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(s, a, 2, T0 + 60, T0), ZTP_OK);
	/* still recorded at its expiry second */
	ck_assert_rc(ztp_store_challenge_use(s, a, sizeof(a), T0 + 60, T0 + 60),
		     ZTP_EREPLAY);
	/* after expiry it is purged; a replay of a stale challenge is the
	 * caller's expiry check to catch, and the store records it anew */
	ck_assert_rc(
	    ztp_store_challenge_use(s, a, sizeof(a), T0 + 200, T0 + 61),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_challenge_use(s, a, sizeof(a), T0 + 200, T0 + 61),
	    ZTP_EREPLAY);
	ck_assert_rc(
	    ztp_store_challenge_use(s, b, sizeof(b), T0 + 200, T0 + 61),
	    ZTP_OK); /* b expired at T0 + 60 and was purged */
	ck_assert_rc(ztp_store_challenge_use(s, big, 64, T0 + 1, T0 + 5),
		     ZTP_EEXPIRED);
	ck_assert_rc(ztp_store_challenge_use(s, big, 64, T0 + 100, T0 + 61),
		     ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(s, big, 65, T0 + 100, T0 + 61),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_challenge_use(s, big, 0, T0 + 100, T0 + 61),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_challenge_use(s, NULL, 3, T0 + 100, T0 + 61),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_challenge_use(s, big, 3, T0, -1), ZTP_EINVAL);
	ck_assert_rc(ztp_store_challenge_use(NULL, big, 3, T0, T0), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ events */

START_TEST(test_events)
{
	ztp_store *s = open_kind(_i, NULL);
	json_object *arr, *e;
	char *json = NULL, *big, buf[64];
	size_t i, n = ZTP__STORE_JSON_MAX + 1;

	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_str_eq(json, "[]");
	ztp_free(json);
	for (i = 1; i <= 5; i++) {
		now_val = T0 + (int64_t)i;
		snprintf(buf, sizeof(buf), "{ \"type\": \"t%zu\", \"n\": %zu }",
			 i, i);
		ck_assert_rc(ztp_store_event_append(s, buf), ZTP_OK);
	}
	ck_assert_rc(ztp_store_event_list(s, 0, 100, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 5);
	for (i = 0; i < 5; i++) {
		e = json_object_array_get_idx(arr, i);
		ck_assert_int_eq(json_object_object_length(e), 3);
		ck_assert_int_eq(int_field(e, "seq"), (int64_t)i + 1);
		ck_assert_int_eq(int_field(e, "at"), T0 + (int64_t)i + 1);
		ck_assert_int_eq(int_field(field(e, "event"), "n"),
				 (int64_t)i + 1);
	}
	json_object_put(arr);
	ztp_free(json);
	/* paging */
	ck_assert_rc(ztp_store_event_list(s, 2, 2, &json), ZTP_OK);
	ck_assert_str_eq(json, "[{\"seq\":3,\"at\":1700000003,\"event\":{"
			       "\"type\":\"t3\",\"n\":3}},"
			       "{\"seq\":4,\"at\":1700000004,\"event\":{"
			       "\"type\":\"t4\",\"n\":4}}]");
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, 5, 10, &json), ZTP_OK);
	ck_assert_str_eq(json, "[]");
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, 1000, 10, &json), ZTP_OK);
	ck_assert_str_eq(json, "[]");
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, 0, SIZE_MAX, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), 5);
	json_object_put(arr);
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, 0, 0, &json), ZTP_EINVAL);
	ck_assert_rc(ztp_store_event_list(s, -1, 1, &json), ZTP_EINVAL);
	ck_assert_rc(ztp_store_event_list(s, 0, 1, NULL), ZTP_EINVAL);

	/* payloads: one JSON object within 8 KiB */
	ck_assert_rc(ztp_store_event_append(s, "[]"), ZTP_EPARSE);
	ck_assert_rc(ztp_store_event_append(s, "\"x\""), ZTP_EPARSE);
	ck_assert_rc(ztp_store_event_append(s, "{} {}"), ZTP_EPARSE);
	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1,}"), ZTP_EPARSE);
	ck_assert_rc(ztp_store_event_append(s, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_store_event_append(NULL, "{}"), ZTP_EINVAL);
	/* Results wrap a payload twice (array, entry), so payloads nest at
	 * most two levels less than the parser allows. */
	ck_assert_rc(
	    ztp_store_event_append(s, "{\"a\":[[[[[[[[[[[[[{}]]]]]]]]]]]]]}"),
	    ZTP_ETOOBIG);
	ck_assert_rc(
	    ztp_store_event_append(s, "{\"a\":[[[[[[[[[[[[{}]]]]]]]]]]]]}"),
	    ZTP_OK);
	big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	ck_assert_rc(ztp_store_event_append(s, big), ZTP_ETOOBIG);
	big[n - 1] = '\0';
	big[n - 2] = '}';
	ck_assert_rc(ztp_store_event_append(s, big), ZTP_OK);
	free(big);
	/* refused appends took no sequence number; the deepest payload
	 * comes back out */
	ck_assert_rc(ztp_store_event_list(s, 5, 10, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"seq\":6,"));
	ck_assert_ptr_nonnull(strstr(json, "\"seq\":7,"));
	ck_assert_ptr_null(strstr(json, "\"seq\":8,"));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ counters */

START_TEST(test_counter_next)
{
	ztp_store *s = open_kind(_i, NULL);
	uint64_t v = 0;
	size_t i;

	for (i = 1; i <= 3; i++) {
		ck_assert_rc(ztp_store_counter_next(s, "crl-number", &v),
			     ZTP_OK);
		ck_assert_uint_eq(v, i);
	}
	ck_assert_rc(ztp_store_counter_next(s, "other", &v), ZTP_OK);
	ck_assert_uint_eq(v, 1);
	ck_assert_rc(ztp_store_counter_next(s, "crl-number", &v), ZTP_OK);
	ck_assert_uint_eq(v, 4);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(ztp_store_counter_next(s, bad_ids[i], &v),
			     ZTP_EINVAL);
	ck_assert_rc(ztp_store_counter_next(s, NULL, &v), ZTP_EINVAL);
	ck_assert_rc(ztp_store_counter_next(s, "x", NULL), ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ failure
 * injection */

START_TEST(test_alloc_failures)
{
	ztp_store *s = open_kind(_i, NULL);
	char *json = NULL, serial[24];
	uint64_t v;
	long n;
	int rc = ZTP_ENOMEM;

	add_dev(s, "d1");
	/* Every allocation the library makes may fail: nothing crashes,
	 * leaks or half-applies; the operation then succeeds once memory
	 * is back. */
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		snprintf(serial, sizeof(serial), "%lx", (unsigned long)n);
		ztp__alloc_fail_at(n);
		rc = ztp_store_cert_add(s, serial, "d1", "operational", T0, T0,
					FPR_A);
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
	}
	ck_assert_rc(ztp_store_cert_count(s, &v), ZTP_OK);
	ck_assert_uint_eq(v, 1);
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_store_device_add(s, "d2", FPR_A, "m", "b", T0);
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
		if (rc == ZTP_ENOMEM)
			ck_assert_rc(ztp_store_device_get(s, "d2", &json),
				     ZTP_ENOTFOUND);
	}
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_store_device_set_info(s, "d2", "{\"k\":[1,2,3]}");
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
	}
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_store_device_get(s, "d2", &json);
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
		if (rc == ZTP_ENOMEM)
			ck_assert_ptr_null(json);
	}
	ztp_free(json);
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_store_event_append(s, "{\"e\":1}");
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
	}
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_store_event_list(s, 0, 10, &json);
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
	}
	ck_assert_ptr_nonnull(strstr(json, "\"seq\":1,"));
	ck_assert_ptr_null(strstr(json, "\"seq\":2,"));
	ztp_free(json);
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_store_counter_next(s, "c", &v);
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
	}
	ck_assert_uint_eq(v, 1);
	/* a failed take spends nothing: with a burst of one, the take that
	 * succeeds is the only one */
	rc = ZTP_ENOMEM;
	for (n = 1; rc == ZTP_ENOMEM; n++) {
		int64_t retry;

		ztp__alloc_fail_at(n);
		rc = ztp_store_limit_take(s, "device", "d1", 0.001, 1, T0,
					  &retry);
		ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d", rc);
	}
	{
		const uint8_t h[32] = {7};
		int64_t retry;

		ck_assert_rc(ztp_store_limit_take(s, "device", "d1", 0.001, 1,
						  T0, &retry),
			     ZTP_ERATELIMIT);
		ck_assert_rc(ztp_store_claim_set(s, "d2", h, sizeof(h)),
			     ZTP_OK);
		/* Only the fallback of a backend without claim_attempt can
		 * lose a token to a failure (documented): a burst to spare
		 * there. */
		rc = ZTP_ENOMEM;
		for (n = 1; rc == ZTP_ENOMEM; n++) {
			ztp__alloc_fail_at(n);
			rc = ztp_store_claim_attempt(
			    s, "d2", h, sizeof(h), "acme", 0.001,
			    _i == B_WRAPPED ? 1000 : 1, T0, &retry);
			ztp__alloc_fail_at(0);
			ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d",
				      rc);
		}
		expect_state(s, "d2", ZTP_STATE_ACTIVE, "acme");
		rc = ZTP_ENOMEM;
		for (n = 1; rc == ZTP_ENOMEM && _i != B_WRAPPED; n++) {
			ztp__alloc_fail_at(n);
			rc = ztp_store_device_set_factory_key(s, "d2", h,
							      sizeof(h));
			ztp__alloc_fail_at(0);
			ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "rc %d",
				      rc);
		}
	}
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ threads */

#define NTHREADS 8
#define PER_THREAD 25

typedef struct worker {
	ztp_store *s;
	pthread_barrier_t *barrier;
	int idx;
	int rc_fail;  /* first unexpected code in the distinct-key phase */
	int rc_dev;   /* device_add of the shared ID */
	int rc_chal;  /* challenge_use of the shared ID */
	int rc_claim; /* claim_take of the shared device */
	uint64_t counters[PER_THREAD];
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	const uint8_t chal[] = "same-challenge", hash[] = "claim-hash";
	char id[32], serial[32];
	int i, rc;

	pthread_barrier_wait(w->barrier);
	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "t%d-d%d", w->idx, i);
		snprintf(serial, sizeof(serial), "%x%02x", w->idx + 1, i);
		rc = ztp_store_device_add(w->s, id, FPR_A, NULL, NULL, T0);
		if (rc == ZTP_OK)
			rc = ztp_store_cert_add(w->s, serial, id, "bootstrap",
						T0, T0 + 1, FPR_B);
		if (rc == ZTP_OK)
			rc = ztp_store_event_append(w->s, "{\"t\":1}");
		if (rc == ZTP_OK)
			rc = ztp_store_counter_next(w->s, "shared",
						    &w->counters[i]);
		if (rc != ZTP_OK && w->rc_fail == ZTP_OK)
			w->rc_fail = rc;
	}
	/* Same keys from every thread at once. */
	pthread_barrier_wait(w->barrier);
	w->rc_dev = ztp_store_device_add(w->s, "same", FPR_A, NULL, NULL, T0);
	pthread_barrier_wait(w->barrier);
	w->rc_chal =
	    ztp_store_challenge_use(w->s, chal, sizeof(chal), T0 + 60, T0);
	pthread_barrier_wait(w->barrier);
	snprintf(id, sizeof(id), "tenant-%d", w->idx);
	w->rc_claim =
	    ztp_store_claim_take(w->s, "claimed", hash, sizeof(hash), id);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_threads)
{
	ztp_store *s = open_kind(_i, NULL);
	pthread_barrier_t barrier;
	pthread_t t[NTHREADS];
	worker w[NTHREADS];
	uint64_t all[NTHREADS * PER_THREAD], v;
	const uint8_t hash[] = "claim-hash";
	int i, j, dev_ok = 0, chal_ok = 0, claim_ok = -1;
	char *json, tenant[32];
	json_object *arr;

	add_dev(s, "claimed");
	ck_assert_rc(ztp_store_claim_set(s, "claimed", hash, sizeof(hash)),
		     ZTP_OK);
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = s;
		w[i].barrier = &barrier;
		w[i].idx = i;
	}
	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);

	for (i = 0; i < NTHREADS; i++) {
		ck_assert_msg(w[i].rc_fail == ZTP_OK, "thread %d: %d", i,
			      w[i].rc_fail);
		for (j = 0; j < PER_THREAD; j++)
			all[i * PER_THREAD + j] = w[i].counters[j];
		if (w[i].rc_dev == ZTP_OK)
			dev_ok++;
		else
			ck_assert_int_eq(w[i].rc_dev, ZTP_EEXISTS);
		if (w[i].rc_chal == ZTP_OK)
			chal_ok++;
		else
			ck_assert_int_eq(w[i].rc_chal, ZTP_EREPLAY);
		if (w[i].rc_claim == ZTP_OK) {
			ck_assert_int_eq(claim_ok, -1);
			claim_ok = i;
		} else {
			ck_assert_int_eq(w[i].rc_claim, ZTP_ENOTFOUND);
		}
	}
	ck_assert_int_eq(dev_ok, 1);
	ck_assert_int_eq(chal_ok, 1);
	ck_assert_int_ne(claim_ok, -1);
	snprintf(tenant, sizeof(tenant), "tenant-%d", claim_ok);
	expect_state(s, "claimed", ZTP_STATE_ACTIVE, tenant);
	/* the shared counter handed out 1..N exactly once each */
	qsort(all, NTHREADS * PER_THREAD, sizeof(all[0]), cmp_u64);
	for (i = 0; i < NTHREADS * PER_THREAD; i++)
		ck_assert_uint_eq(all[i], (uint64_t)i + 1);
	ck_assert_rc(ztp_store_cert_count(s, &v), ZTP_OK);
	ck_assert_uint_eq(v, NTHREADS * PER_THREAD);
	ck_assert_rc(ztp_store_event_list(s, 0, 1000, &json), ZTP_OK);
	arr = parse(json);
	ck_assert_int_eq(json_object_array_length(arr), NTHREADS * PER_THREAD);
	for (i = 0; i < NTHREADS * PER_THREAD; i++)
		ck_assert_int_eq(
		    int_field(json_object_array_get_idx(arr, i), "seq"), i + 1);
	json_object_put(arr);
	ztp_free(json);
	ztp_store_free(s);
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

/* ------------------------------------------------------------ sqlite */

static void raw_exec(const char *path, const char *sql, int want)
{
	sqlite3 *db = NULL;
	int r;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	r = sqlite3_exec(db, sql, NULL, NULL, NULL);
	ck_assert_msg(r == want, "%s: %d (%s)", sql, r, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static char *get_json(int (*fn)(ztp_store *, const char *, char **),
		      ztp_store *s, const char *key)
{
	char *json = NULL;

	ck_assert_rc(fn(s, key, &json), ZTP_OK);
	return json;
}

START_TEST(test_sqlite_persistence)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	const uint8_t h[] = "hash", chal[] = "nonce";
	char *dev, *certs, *revoked, *events, *json;
	uint64_t v;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_device_set_info(s, "d1", "{\"fw\":\"1.2\"}"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "1", "d1", "bootstrap", T0, T0 + 1, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "2", "d1", "operational", T0, T0 + 2, FPR_B),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "1", 4, T0 + 1), ZTP_OK);
	ck_assert_rc(
	    ztp_store_challenge_use(s, chal, sizeof(chal), T0 + 60, T0),
	    ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"b\":2}"), ZTP_OK);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	dev = get_json(ztp_store_device_get, s, "d1");
	certs = get_json(ztp_store_device_certs, s, "d1");
	ck_assert_rc(ztp_store_revoked_list(s, &revoked), ZTP_OK);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &events), ZTP_OK);
	ztp_store_free(s);

	s = open_kind(B_SQLITE, NULL);
	json = get_json(ztp_store_device_get, s, "d1");
	ck_assert_str_eq(json, dev);
	ztp_free(json);
	json = get_json(ztp_store_device_certs, s, "d1");
	ck_assert_str_eq(json, certs);
	ztp_free(json);
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	ck_assert_str_eq(json, revoked);
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_str_eq(json, events);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_count(s, &v), ZTP_OK);
	ck_assert_uint_eq(v, 2);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_uint_eq(v, 3);
	ck_assert_rc(
	    ztp_store_challenge_use(s, chal, sizeof(chal), T0 + 60, T0 + 1),
	    ZTP_EREPLAY);
	ck_assert_rc(ztp_store_cert_add(s, "2", NULL, "ca", T0, T0, FPR_A),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_OK);
	/* sequence numbers continue after a reopen */
	ck_assert_rc(ztp_store_event_append(s, "{\"c\":3}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_list(s, 2, 10, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"seq\":3,"));
	ztp_free(json);
	ztp_store_free(s);
	ztp_free(dev);
	ztp_free(certs);
	ztp_free(revoked);
	ztp_free(events);
}
END_TEST

START_TEST(test_sqlite_two_handles)
{
	ztp_store *a = open_kind(B_SQLITE, NULL),
		  *b = open_kind(B_SQLITE, NULL);
	const uint8_t chal[] = "n1";
	uint64_t v;

	/* Two handles on one file behave like two verifier processes. */
	add_dev(a, "d1");
	ck_assert_rc(ztp_store_device_add(b, "d1", FPR_A, NULL, NULL, T0),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_store_challenge_use(a, chal, 2, T0 + 9, T0), ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(b, chal, 2, T0 + 9, T0),
		     ZTP_EREPLAY);
	ck_assert_rc(ztp_store_counter_next(a, "c", &v), ZTP_OK);
	ck_assert_rc(ztp_store_counter_next(b, "c", &v), ZTP_OK);
	ck_assert_uint_eq(v, 2);
	ztp_store_free(a);
	ztp_store_free(b);
}
END_TEST

START_TEST(test_sqlite_readonly)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);

	add_dev(s, "d1");
	ztp_store_free(s);
	ck_assert_int_eq(chmod(db_path, 0400), 0);
	s = (ztp_store *)&s;
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "read-only"));
	ck_assert_int_eq(chmod(db_path, 0600), 0);
	s = open_kind(B_SQLITE, NULL);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	ztp_store_free(s);
}
END_TEST

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_sqlite_corrupt)
{
	ztp_store *s = (ztp_store *)&s;
	unsigned char junk[8192];
	struct stat st;
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	write_file(db_path, junk, sizeof(junk));
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "not an SQLite database"));
	/* the file is left as it was */
	ck_assert_int_eq(stat(db_path, &st), 0);
	ck_assert_int_eq(st.st_size, sizeof(junk));

	/* a real registry whose header was damaged */
	ck_assert_int_eq(unlink(db_path), 0);
	s = open_kind(B_SQLITE, NULL);
	add_dev(s, "d1");
	ztp_store_free(s);
	f = fopen(db_path, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(junk, 1, 100, f), 100);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
}
END_TEST

/* Rows of a table, read through a connection of its own. */
static int64_t raw_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Buckets held in the file: two handles (two processes, two instances)
 * draw on one bucket; a refused take writes nothing; buckets full again
 * are purged. */
START_TEST(test_sqlite_limits)
{
	ztp_store *a = open_kind(B_SQLITE, NULL),
		  *b = open_kind(B_SQLITE, NULL);
	int64_t retry;
	uint8_t h[32];

	for (int i = 0; i < 10; i++)
		ck_assert_rc(ztp_store_limit_take(i % 2 ? a : b, "device", "d1",
						  0.2, 10, T0, &retry),
			     ZTP_OK);
	ck_assert_rc(ztp_store_limit_take(a, "device", "d1", 0.2, 10, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_rc(ztp_store_limit_take(b, "device", "d1", 0.2, 10, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 5);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"), 1);
	/* the claim bucket spans handles too */
	add_dev(a, "c1");
	memset(h, 1, sizeof(h));
	ck_assert_rc(ztp_store_claim_set(a, "c1", h, sizeof(h)), ZTP_OK);
	h[0] = 2;
	ck_assert_rc(ztp_store_claim_attempt(a, "c1", h, sizeof(h), "t", 0.01,
					     2, T0, &retry),
		     ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_attempt(b, "c1", h, sizeof(h), "t", 0.01,
					     2, T0, &retry),
		     ZTP_EMISMATCH);
	h[0] = 1;
	ck_assert_rc(ztp_store_claim_attempt(a, "c1", h, sizeof(h), "t", 0.01,
					     2, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"), 2);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM claims"), 1);
	/* 50 s later d1 is full again; the next take purges it (and takes
	 * from a fresh one) */
	ck_assert_rc(
	    ztp_store_limit_take(b, "device", "e1", 0.2, 10, T0 + 50, &retry),
	    ZTP_OK);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"
					    " WHERE key = 'd1'"),
			 0);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"), 2);
	/* rows changed behind the library's back, at the extremes: no
	 * overflow, and a bucket that cannot refill stays shut */
	raw_exec(db_path,
		 "INSERT INTO limits VALUES('device', 'x1', -1e308,"
		 " -9223372036854775808, 9223372036854775807);"
		 "INSERT INTO limits VALUES('device', 'x2', 1e308,"
		 " 9223372036854775807, 9223372036854775807)",
		 SQLITE_OK);
	ck_assert_rc(
	    ztp_store_limit_take(a, "device", "x1", 0.2, 10, T0 + 50, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 86400);
	ck_assert_rc(
	    ztp_store_limit_take(a, "device", "x2", 0.2, 10, T0 + 50, &retry),
	    ZTP_OK);
	ztp_store_free(a);
	ztp_store_free(b);
}
END_TEST

/* The schema of version 1, as the first release created it (frozen: a
 * registry made by that release must open and migrate). */
static const char v1_schema[] =
    "PRAGMA application_id = 1515474993;"
    "CREATE TABLE devices ("
    " device_id TEXT PRIMARY KEY NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " model TEXT,"
    " batch TEXT,"
    " manufactured_at INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('manufactured', 'bootstrapped',"
    "  'registered', 'active', 'reset', 'revoked')),"
    " tenant TEXT,"
    " info TEXT,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE claims ("
    " device_id TEXT PRIMARY KEY NOT NULL"
    "  REFERENCES devices(device_id) ON DELETE CASCADE,"
    " hash BLOB NOT NULL CHECK (length(hash) BETWEEN 1 AND 64))"
    " WITHOUT ROWID;"
    "CREATE TABLE certs ("
    " serial TEXT PRIMARY KEY NOT NULL,"
    " device_id TEXT REFERENCES devices(device_id),"
    " profile TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
    " revoked_at INTEGER,"
    " reason INTEGER);"
    "CREATE INDEX certs_by_device ON certs(device_id);"
    "CREATE INDEX certs_revoked ON certs(serial) WHERE revoked = 1;"
    "CREATE TABLE challenges ("
    " id BLOB PRIMARY KEY NOT NULL,"
    " expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX challenges_by_expiry ON challenges(expires_at);"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value INTEGER NOT NULL CHECK (value >= 1)) WITHOUT ROWID;"
    "PRAGMA user_version = 1;"
    /* what a version-1 registry in use holds */
    "INSERT INTO devices VALUES('old-1', '" FPR_A "', 'm', NULL, 5,"
    " 'active', 'acme', '{\"device_type\":\"s\"}', 7);"
    "INSERT INTO claims VALUES('old-1', x'0102');"
    "INSERT INTO certs(serial, device_id, profile, not_before, not_after,"
    " fingerprint, issued_at) VALUES('1f', 'old-1', 'operational', 1, 9,"
    " '" FPR_B "', 3);"
    "INSERT INTO events(at, json) VALUES(4, '{\"type\":\"old\"}');"
    "INSERT INTO counters VALUES('crl', 4);";

START_TEST(test_sqlite_migrate_v1)
{
	ztp_store *s = NULL;
	const uint8_t h[] = {1, 2};
	char *json = NULL;
	json_object *o;
	int64_t retry;
	uint64_t v;

	raw_exec(db_path, v1_schema, SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_int_eq(raw_count(db_path, "PRAGMA user_version"), 3);
	/* the records survive, the new member is null */
	ck_assert_rc(ztp_store_device_get(s, "old-1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_str_eq(str_field(o, "state"), ZTP_STATE_ACTIVE);
	ck_assert_str_eq(str_field(o, "tenant"), "acme");
	ck_assert_int_eq(int_field(o, "updated_at"), 7);
	ck_assert(null_field(o, "factory_key"));
	json_object_put(o);
	ck_assert_rc(ztp_store_cert_get(s, "1f", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_uint_eq(v, 5);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"type\":\"old\""));
	ztp_free(json);
	/* and what version 2 adds works on them */
	ck_assert_rc(ztp_store_device_set_factory_key(s, "old-1", h, 2),
		     ZTP_OK);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "old-1", 1, 1, T0, &retry),
		     ZTP_OK);
	ck_assert_rc(ztp_store_claim_attempt(s, "old-1", h, 2, "t", 1, 1, T0,
					     &retry),
		     ZTP_ERATELIMIT);
	ztp_store_free(s);
	/* opened again: nothing left to migrate */
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_device_get(s, "old-1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"factory_key\":\"AQI=\""));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_foreign_and_newer)
{
	ztp_store *s = NULL;

	/* another application's database */
	raw_exec(db_path, "CREATE TABLE notes(x TEXT)", SQLITE_OK);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "not a libztp registry"));
	raw_exec(db_path, "DROP TABLE notes", SQLITE_OK);
	raw_exec(db_path, "PRAGMA application_id = 7", SQLITE_OK);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(unlink(db_path), 0);

	/* a registry written by a newer library */
	s = open_kind(B_SQLITE, NULL);
	ztp_store_free(s);
	raw_exec(db_path, "PRAGMA user_version = 4", SQLITE_OK);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "newer"));
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_sqlite_append_only)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	char *json = NULL;

	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ztp_store_free(s);
	/* Even with direct SQL access the log refuses rewrites. */
	raw_exec(db_path, "DELETE FROM events", SQLITE_CONSTRAINT);
	raw_exec(db_path, "UPDATE events SET json = '{}'", SQLITE_CONSTRAINT);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_str_eq(json,
			 "[{\"seq\":1,\"at\":1700000000,\"event\":{\"a\":1}}]");
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_tampered_rows)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	char *json = NULL;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ztp_store_free(s);
	/* Stored JSON is checked on the way out as well. */
	raw_exec(db_path, "UPDATE devices SET info = '{oops'", SQLITE_OK);
	raw_exec(db_path,
		 "DROP TRIGGER events_no_update;"
		 "UPDATE events SET json = '[1]'",
		 SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_ESTORE);
	ck_assert_ptr_null(json);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_ESTORE);
	ck_assert_ptr_null(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_counter_exhausted)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	uint64_t v = 0;

	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ztp_store_free(s);
	raw_exec(db_path,
		 "UPDATE counters SET value = 9223372036854775806"
		 " WHERE name = 'crl'",
		 SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_uint_eq(v, (uint64_t)INT64_MAX);
	/* never wraps, never repeats */
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_ETOOBIG);
	ck_assert_uint_eq(v, 0);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_ETOOBIG);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_locked)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	sqlite3 *db = NULL;
	char *json = NULL;

	add_dev(s, "d1");
	/* Another process holds the write lock past the busy timeout. */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_rc(ztp_store_device_add(s, "d2", FPR_A, NULL, NULL, T0),
		     ZTP_ESTORE);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "locked"));
	/* readers are not blocked (WAL) */
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* the failed call left nothing behind and the handle works on */
	ck_assert_rc(ztp_store_device_get(s, "d2", &json), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_add(s, "d2", FPR_A, NULL, NULL, T0),
		     ZTP_OK);
	ztp_store_free(s);
}
END_TEST

/* memory: keeps the newest 65,536 events: older ones are dropped, sequence
 * numbers go on, and a listing starts at the oldest one kept. */
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
	ck_assert_int_eq(int_field(field(json_object_array_get_idx(arr, 0),
					 "event"),
				   "n"),
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
	ck_assert_int_eq(int_field(field(json_object_array_get_idx(arr, 1),
					 "event"),
				   "n"),
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
		ck_assert_rc(ztp_store_limit_take(s, "device", key, 1, 2, T0,
						  &retry),
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
	ck_assert_rc(ztp_store_device_set_factory_key(s, "dev-t", spki,
						      sizeof(spki)),
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
	ck_assert_rc(ztp_store_cert_add(s, "4a01", "dev-t", "operational",
					T0, T0 + 100, FPR_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "4a02", "dev-t", "bootstrap", T0,
					T0 + 50, FPR_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(s, "4a03", NULL, "server", T0,
					T0 + 10, FPR_A),
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

/* ------------------------------------------------------------ issuers */

#define KID_A "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
#define KID_B "b1b2c3d4e5f60718293a4b5c6d7e8f9001122334"

/* The serials of a revoked list, comma-separated, in the list's order. */
static void revoked_serials(ztp_store *s, const char *issuer, char *out,
			    size_t cap)
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
		ck_assert_ptr_nonnull(strstr(json, "\"issuer\":\"" FPR_A FPR_B
						   "\""));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

/* The JSON of a caller's backend, read once into typed records: strict,
 * and a malformed record is the store failing (ZTP_ESTORE). */
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
static const char v2_schema[] =
    "ALTER TABLE devices ADD COLUMN factory_key BLOB"
    " CHECK (factory_key IS NULL OR length(factory_key) BETWEEN 1 AND 4096);"
    "CREATE TABLE limits ("
    " scope TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " tokens REAL NOT NULL,"
    " last INTEGER NOT NULL,"
    " full_at INTEGER NOT NULL,"
    " PRIMARY KEY (scope, key)) WITHOUT ROWID;"
    "CREATE INDEX limits_by_full ON limits(full_at);"
    "PRAGMA user_version = 2;"
    /* what a version-2 registry in use holds */
    "UPDATE devices SET factory_key = x'0102' WHERE device_id = 'old-1';"
    "INSERT INTO limits VALUES('claim', 'old-1', 0.5, 10, 12);"
    "INSERT INTO certs(serial, device_id, profile, not_before, not_after,"
    " fingerprint, issued_at, revoked, revoked_at, reason)"
    " VALUES('2e', 'old-1', 'operational', 1, 9, '" FPR_B "', 3, 1, 5, 1);";

START_TEST(test_sqlite_migrate_v2)
{
	ztp_store *s = NULL;
	char *json = NULL, got[256];
	json_object *o;

	raw_exec(db_path, v1_schema, SQLITE_OK);
	raw_exec(db_path, v2_schema, SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_int_eq(raw_count(db_path, "PRAGMA user_version"), 3);
	ck_assert_int_eq(raw_count(db_path,
				   "SELECT count(*) FROM sqlite_master WHERE"
				   " name = 'certs_revoked_by_issuer'"),
			 1);
	/* the records survive, of unknown issuer */
	ck_assert_rc(ztp_store_cert_get(s, "2e", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert(json_object_get_boolean(field(o, "revoked")));
	ck_assert_int_eq(int_field(o, "reason"), 1);
	ck_assert(null_field(o, "issuer"));
	json_object_put(o);
	ck_assert_rc(ztp_store_device_get(s, "old-1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"factory_key\":\"AQI=\""));
	ztp_free(json);
	/* new records keep their issuer; every issuer's CRL keeps listing
	 * what was revoked before the migration */
	ck_assert_rc(ztp_store_cert_add_issued(s, "3a", "old-1", "operational",
					       T0, T0 + 9, FPR_B, KID_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add_issued(s, "3b", "old-1", "operational",
					       T0, T0 + 9, FPR_B, KID_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "3a", 4, T0), ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "3b", 4, T0), ZTP_OK);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "2e,3a");
	revoked_serials(s, KID_B, got, sizeof(got));
	ck_assert_str_eq(got, "2e,3b");
	ztp_store_free(s);
	/* opened again: nothing left to migrate, the issuers kept */
	s = open_kind(B_SQLITE, NULL);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "2e,3a");
	ztp_store_free(s);
	/* the column refuses what no key identifier is */
	raw_exec(db_path, "UPDATE certs SET issuer = '' WHERE serial = '3a'",
		 SQLITE_CONSTRAINT);
}
END_TEST

/* ------------------------------------------------------------ suite */

static TCase *loop_case(const char *name, const TTest *test, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test, 0, B_COUNT);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	return tc;
}

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
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

	suite_add_tcase(s, loop_case("device_add", test_device_add, 0));
	suite_add_tcase(s, loop_case("typed_records", test_typed_records, 0));
	tc = tcase_create("typed_records_json");
	tcase_add_test(tc, test_typed_records_json);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, loop_case("device_get", test_device_get, 0));
	suite_add_tcase(
	    s, loop_case("device_set_state", test_device_set_state, 0));
	suite_add_tcase(s,
			loop_case("device_set_info", test_device_set_info, 0));
	suite_add_tcase(s, loop_case("claim_set_take", test_claim, 0));
	suite_add_tcase(s, loop_case("limit_take", test_limit_take, 0));
	suite_add_tcase(s, loop_case("claim_attempt", test_claim_attempt, 0));
	suite_add_tcase(s,
			loop_case("device_set_factory_key", test_factory_key, 0));
	suite_add_tcase(s,
			loop_case("cert_add_get_count", test_cert_add_get, 0));
	suite_add_tcase(s, loop_case("cert_revoke", test_cert_revoke, 0));
	suite_add_tcase(
	    s, loop_case("device_revoke_certs", test_device_revoke_certs, 0));
	suite_add_tcase(s, loop_case("revoked_list", test_revoked_list, 0));
	suite_add_tcase(s, loop_case("device_certs", test_device_certs, 0));
	suite_add_tcase(s, loop_case("challenge_use", test_challenge_use, 0));
	suite_add_tcase(s, loop_case("event_append_list", test_events, 0));
	suite_add_tcase(s, loop_case("counter_next", test_counter_next, 0));
	suite_add_tcase(s, loop_case("cert_issuer", test_cert_issuer, 0));
	suite_add_tcase(s,
			loop_case("alloc_failures", test_alloc_failures, 120));
	suite_add_tcase(s, loop_case("threads", test_threads, 300));

	tc = tcase_create("open_backend");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backend_calls);
	tcase_add_test(tc, test_backend_refused);
	tcase_add_test(tc, test_backend_contract);
	tcase_add_test(tc, test_backend_v3_issuer);
	suite_add_tcase(s, tc);

	tc = tcase_create("sqlite");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sqlite_persistence);
	tcase_add_test(tc, test_sqlite_two_handles);
	tcase_add_test(tc, test_sqlite_limits);
	tcase_add_test(tc, test_sqlite_migrate_v1);
	tcase_add_test(tc, test_sqlite_migrate_v2);
	tcase_add_test(tc, test_sqlite_readonly);
	tcase_add_test(tc, test_sqlite_corrupt);
	tcase_add_test(tc, test_sqlite_foreign_and_newer);
	tcase_add_test(tc, test_sqlite_append_only);
	tcase_add_test(tc, test_sqlite_tampered_rows);
	tcase_add_test(tc, test_sqlite_counter_exhausted);
	tcase_add_test(tc, test_sqlite_locked);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ztp_test_run(store_suite());
}
