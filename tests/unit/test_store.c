/*
 * Store: the suite, its fixtures, the caller-supplied wrapper backend and
 * the shared helpers. Its test cases live by topic in tests/unit/store_*.c:
 * the same functional cases against every backend (memory:, sqlite:, a
 * caller-supplied backend that wraps a memory store, and postgresql: when
 * tests/store_pg.sh runs the suite on its server), plus SQLite
 * persistence and failure modes, concurrency and the backend interface
 * contract.
 */
#include "test_store.h"
#include "store/records.h"

char *tmpdir;
char *db_path;
char *db_uri;
int64_t now_val;
const char *pg_base_uri;
char *pg_uri;
char pg_schema[64];

/* ------------------------------------------------------------ wrapper */

int wrap_closes;

int w_device_add(void *ctx, const char *id, const char *fpr, const char *model,
		 const char *batch, int64_t mfg, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_DEVICE_ADD]++;
	w->now = now;
	return ztp_store_device_add(w->inner, id, fpr, model, batch, mfg);
}

int w_device_get(void *ctx, const char *id, char **json)
{
	wrap *w = ctx;

	w->calls[OP_DEVICE_GET]++;
	return ztp_store_device_get(w->inner, id, json);
}

int w_set_state(void *ctx, const char *id, const char *expected,
		const char *state, const char *tenant, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_SET_STATE]++;
	w->now = now;
	return ztp_store_device_set_state(w->inner, id, expected, state,
					  tenant);
}

int w_set_info(void *ctx, const char *id, const char *info, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_SET_INFO]++;
	w->now = now;
	return ztp_store_device_set_info(w->inner, id, info);
}

int w_claim_set(void *ctx, const char *id, const uint8_t *h, size_t len)
{
	wrap *w = ctx;

	w->calls[OP_CLAIM_SET]++;
	return ztp_store_claim_set(w->inner, id, h, len);
}

int w_claim_take(void *ctx, const char *id, const uint8_t *h, size_t len,
		 const char *tenant, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_CLAIM_TAKE]++;
	w->now = now;
	return ztp_store_claim_take(w->inner, id, h, len, tenant);
}

int w_cert_add(void *ctx, const char *serial, const char *id,
	       const char *profile, int64_t nb, int64_t na, const char *fpr,
	       int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_CERT_ADD]++;
	w->now = now;
	return ztp_store_cert_add(w->inner, serial, id, profile, nb, na, fpr);
}

int w_cert_get(void *ctx, const char *serial, char **json)
{
	wrap *w = ctx;

	w->calls[OP_CERT_GET]++;
	return ztp_store_cert_get(w->inner, serial, json);
}

int w_cert_revoke(void *ctx, const char *serial, int reason, int64_t when)
{
	wrap *w = ctx;

	w->calls[OP_CERT_REVOKE]++;
	return ztp_store_cert_revoke(w->inner, serial, reason, when);
}

int w_revoke_certs(void *ctx, const char *id, const char *profiles, int reason,
		   int64_t when, uint64_t *count)
{
	wrap *w = ctx;

	w->calls[OP_REVOKE_CERTS]++;
	return ztp_store_device_revoke_certs(w->inner, id, profiles, reason,
					     when, count);
}

int w_revoked_list(void *ctx, char **json)
{
	wrap *w = ctx;

	w->calls[OP_REVOKED_LIST]++;
	return ztp_store_revoked_list(w->inner, json);
}

int w_device_certs(void *ctx, const char *id, char **json)
{
	wrap *w = ctx;

	w->calls[OP_DEVICE_CERTS]++;
	return ztp_store_device_certs(w->inner, id, json);
}

int w_cert_count(void *ctx, uint64_t *out)
{
	wrap *w = ctx;

	w->calls[OP_CERT_COUNT]++;
	return ztp_store_cert_count(w->inner, out);
}

int w_challenge_use(void *ctx, const uint8_t *id, size_t len, int64_t exp,
		    int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_CHALLENGE_USE]++;
	return ztp_store_challenge_use(w->inner, id, len, exp, now);
}

int w_event_append(void *ctx, const char *json, int64_t now)
{
	wrap *w = ctx;

	w->calls[OP_EVENT_APPEND]++;
	w->now = now;
	return ztp_store_event_append(w->inner, json);
}

int w_event_list(void *ctx, int64_t after, size_t max, char **json)
{
	wrap *w = ctx;

	w->calls[OP_EVENT_LIST]++;
	return ztp_store_event_list(w->inner, after, max, json);
}

int w_counter_next(void *ctx, const char *name, uint64_t *out)
{
	wrap *w = ctx;

	w->calls[OP_COUNTER_NEXT]++;
	return ztp_store_counter_next(w->inner, name, out);
}

void w_close(void *ctx)
{
	wrap *w = ctx;

	wrap_closes++;
	ztp_store_free(w->inner);
	free(w);
}

/* Version 1: the operations appended in version 2 are absent, so the
 * library's fallbacks serve them (limits per handle, no factory key). */
const ztp_store_backend wrap_ops = {
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

wrap *wrap_new(void)
{
	wrap *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	ck_assert_rc(ztp_store_open(&w->inner, "memory:"), ZTP_OK);
	ck_assert_rc(ztp_store_set_clock(w->inner, ztp_clock_fixed, &w->now),
		     ZTP_OK);
	return w;
}

/* ------------------------------------------------------------ fixtures */

void setup(void)
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
	if (pg_base_uri != NULL) {
		static unsigned n;

		snprintf(pg_schema, sizeof(pg_schema), "t%ld_%u",
			 (long)getpid(), n++);
		pg_schema_create(pg_schema);
		pg_uri = pg_uri_for(pg_schema);
	}
}

void teardown(void)
{
	if (pg_uri != NULL) {
		pg_schema_drop(pg_schema);
		free(pg_uri);
		pg_uri = NULL;
	}
	ztp_test_rmtree(tmpdir);
	free(tmpdir);
	free(db_path);
	free(db_uri);
}

ztp_store *open_kind(int kind, wrap **wp)
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
	case B_PG:
		ck_assert_ptr_nonnull(pg_uri);
		ck_assert_rc(ztp_store_open(&s, pg_uri), ZTP_OK);
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

json_object *parse(const char *s)
{
	json_object *o;

	ck_assert_ptr_nonnull(s);
	o = json_tokener_parse(s);
	ck_assert_msg(o != NULL, "not JSON: %s", s);
	return o;
}

json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return v;
}

const char *str_field(json_object *o, const char *key)
{
	json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string),
		      "%s is not a string", key);
	return json_object_get_string(v);
}

int64_t int_field(json_object *o, const char *key)
{
	json_object *v = field(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_int),
		      "%s is not an integer", key);
	return json_object_get_int64(v);
}

bool null_field(json_object *o, const char *key)
{
	return field(o, key) == NULL;
}

void add_dev(ztp_store *s, const char *id)
{
	ck_assert_rc(ztp_store_device_add(s, id, FPR_A, "m1", "b1", T0 - 100),
		     ZTP_OK);
}

const char *const bad_ids[] = {
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

void expect_state(ztp_store *s, const char *id, const char *state,
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

/* chain_walk: every event of s in seq order, each linked to the one
 * before (from the genesis value) and hashed as core/audit.c defines. */
typedef struct chain_check {
	uint8_t head[ZTP__AUDIT_HASH_LEN];
	int64_t n;
} chain_check;

static int chain_fn(const ztp__store_event_view *e, void *arg)
{
	chain_check *c = arg;
	uint8_t h[ZTP__AUDIT_HASH_LEN];

	ck_assert_int_eq(e->seq, c->n + 1);
	ck_assert_uint_eq(e->prev_len, ZTP__AUDIT_HASH_LEN);
	ck_assert_uint_eq(e->hash_len, ZTP__AUDIT_HASH_LEN);
	ck_assert_int_eq(memcmp(e->prev, c->head, sizeof(c->head)), 0);
	ck_assert_rc(
	    ztp__audit_hash(h, e->prev, e->seq, e->at, e->json, e->json_len),
	    ZTP_OK);
	ck_assert_int_eq(memcmp(h, e->hash, sizeof(h)), 0);
	memcpy(c->head, h, sizeof(h));
	c->n++;
	return ZTP_OK;
}

int64_t chain_walk(ztp_store *s)
{
	chain_check c;
	int64_t before;

	memcpy(c.head, ztp__audit_genesis, sizeof(c.head));
	c.n = 0;
	do {
		before = c.n;
		ck_assert_rc(ztp__store_audit_events(s, c.n, 100, chain_fn, &c),
			     ZTP_OK);
	} while (c.n - before == 100);
	return c.n;
}

TCase *loop_case(const char *name, const TTest *test, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	if (pg_base_uri != NULL)
		tcase_add_loop_test(tc, test, B_PG, B_PG + 1);
	else
		tcase_add_loop_test(tc, test, 0, B_PG);
	/* store_pg.sh runs these and the "pg" cases on PostgreSQL. */
	tcase_set_tags(tc, "backend");
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	return tc;
}
/* ------------------------------------------------------------ suite */

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	const char *pg = getenv("ZTP_TEST_PG_URI");

	pg_base_uri = pg != NULL && *pg != '\0' ? pg : NULL;

	store_tcases_backends(s);
	store_tcases_devices(s);
	store_tcases_claims(s);
	store_tcases_certs(s);
	store_tcases_events(s);
	store_tcases_stress(s);
	store_tcases_sqlite(s);
	store_tcases_typed(s);
	store_tcases_fleet(s);
	store_tcases_pg(s);
	return s;
}

int main(void)
{
	return ztp_test_run(store_suite());
}
