/*
 * Verifier: rate limits, events and stats; limits across handles sharing a
 * store; floods of junk requests.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ rate
 * limits, events, stats */

START_TEST(rate_limits)
{
	json_object *r, *e, *ra;
	char *body;

	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0.5, 2), ZTP_OK);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 429);
	ck_assert_str_eq(err_code(r), "rate_limited");
	ck_assert(json_object_object_get_ex(r, "error", &e));
	ck_assert(json_object_object_get_ex(e, "retry_after", &ra));
	ck_assert_int_eq(json_object_get_int(ra), 2);
	json_object_put(r);
	/* Another device has its own bucket. */
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-2\"}", 21, NULL, &r), 200);
	json_object_put(r);
	/* Two seconds later one token is back. */
	clk += 2;
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 200);
	json_object_put(r);
	/* A rate-limited bootstrap changes nothing. */
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0, 0), ZTP_OK);
	body = build(&(breq){0});
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0.001, 1),
		     ZTP_OK);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-2\"}", 21, NULL, &r), 200);
	json_object_put(r);
	expect_reject_body(body, strlen(body), NULL, 429, "rate_limited");
	free(body);
	/* Many distinct IDs do not grow memory beyond the table and do not
	 * fail. */
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0, 0), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0.001, 1),
		     ZTP_OK);
	for (int i = 0; i < ZTP__RL_SLOTS * 2; i++) {
		char b[64];
		int n = snprintf(b, sizeof(b), "{\"device_id\":\"d%d\"}", i);

		ck_assert_int_eq(call("challenge", b, (size_t)n, NULL, &r),
				 200);
		json_object_put(r);
	}
}
END_TEST

START_TEST(events_and_stats)
{
	char *json = NULL, *list = NULL;
	json_object *r;

	expect_reject(&(breq){.sign_key = f2key}, NULL, 401, "bad_signature");
	ck_assert_ptr_nonnull(strstr(last_event, "\"type\":\"bootstrap\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"result\":\"rejected\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"code\":\"bad_signature\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"device_id\":\"dev-1\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"time\":\""));
	ck_assert_rc(ztp_store_event_list(store, 0, 100, &list), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(list, "bad_signature"));
	ztp_free(list);
	ck_assert_int_eq(call("bootstrap", "{", 1, NULL, &r), 400);
	json_object_put(r);
	ck_assert_rc(ztp_verifier_stats(v, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"bad_signature\":1"));
	ck_assert_ptr_nonnull(strstr(json, "\"malformed_request\":1"));
	ck_assert_ptr_nonnull(strstr(json, "\"rejected\":2"));
	ztp_free(json);
	ck_assert_rc(ztp_verifier_error_codes(&json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "{\"code\":\"challenge_replayed\","
					   "\"status\":409}"));
	ztp_free(json);
}
END_TEST

/* ------------------------------------------------------------------ limits
 * Security limits hold across verifier handles that share a store (each
 * handle stands for a process or an instance): claim attempts per device,
 * and the per-device bucket of challenge and bootstrap. */

static int wcall(ztp_verifier *w, const char *ep, const char *body)
{
	char *out = NULL;
	int status = 0;

	ck_assert_rc(ztp_verifier_handle(w, &status, &out, ep, body,
					 strlen(body), NULL, 0),
		     ZTP_OK);
	ztp_free(out);
	return status;
}

/* Claims and challenges of device "dev-3" through handles a and b, which
 * share one registry. */
static void limits_across(ztp_verifier *a, ztp_verifier *b, ztp_store *sa)
{
	const char wrong[] = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA";
	const char *chal = "{\"device_id\":\"dev-3\"}";
	char *code = enroll_dev3_on(a), *json = NULL;

	/* 5 attempts, then one a minute: counted over both handles. */
	for (int i = 0; i < 5; i++)
		ck_assert_rc(
		    ztp_verifier_claim(i % 2 ? b : a, "dev-3", wrong, "acme"),
		    ZTP_EMISMATCH);
	ck_assert_rc(ztp_verifier_claim(a, "dev-3", wrong, "acme"),
		     ZTP_ERATELIMIT);
	ck_assert_rc(ztp_verifier_claim(b, "dev-3", wrong, "acme"),
		     ZTP_ERATELIMIT);
	/* Not even the right code is evaluated now. */
	ck_assert_rc(ztp_verifier_claim(b, "dev-3", code, "acme"),
		     ZTP_ERATELIMIT);
	ck_assert_rc(ztp_store_device_get(sa, "dev-3", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"state\":\"manufactured\""));
	ztp_free(json);
	clk += 59;
	ck_assert_rc(ztp_verifier_claim(a, "dev-3", code, "acme"),
		     ZTP_ERATELIMIT);
	clk += 1;
	ck_assert_rc(ztp_verifier_claim(b, "dev-3", code, "acme"), ZTP_OK);
	ck_assert_rc(ztp_verifier_claim(a, "dev-3", code, "globex"),
		     ZTP_ERATELIMIT);

	/* Challenges: a burst of 10 over both handles, then one per 5 s. */
	ck_assert_rc(ztp_verifier_set_rate_limit(a, "device", 0.2, 10), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(b, "device", 0.2, 10), ZTP_OK);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(wcall(i < 6 ? a : b, "challenge", chal), 200);
	ck_assert_int_eq(wcall(a, "challenge", chal), 429);
	ck_assert_int_eq(wcall(b, "challenge", chal), 429);
	/* bootstrap draws on the same bucket */
	ck_assert_int_eq(wcall(b, "bootstrap",
			       "{\"device_id\":\"dev-3\",\"nonce\":\"x\","
			       "\"csr\":\"x\",\"factory_cert\":\"x\","
			       "\"signature\":\"x\"}"),
			 429);
	clk += 5;
	ck_assert_int_eq(wcall(b, "challenge", chal), 200);
	ck_assert_int_eq(wcall(a, "challenge", chal), 429);
	ztp__free_secret(code, strlen(code));
}

START_TEST(limits_shared_memory)
{
	ztp_verifier *b = verifier_on(store);

	/* The fixture's handle and a second one on its memory: store. */
	limits_across(v, b, store);
	ztp_verifier_free(b);
}
END_TEST

START_TEST(limits_shared_sqlite)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "r.db"),
	     *uri = ztp_test_path("sqlite:", path);
	ztp_store *sa = NULL, *sb = NULL;
	ztp_verifier *a, *b;

	/* Two instances: each its own connection to one database file. */
	ck_assert_rc(ztp_store_open(&sa, uri), ZTP_OK);
	ck_assert_rc(ztp_store_open(&sb, uri), ZTP_OK);
	a = verifier_on(sa);
	b = verifier_on(sb);
	limits_across(a, b, sa);
	ztp_verifier_free(a);
	ztp_verifier_free(b);
	ztp_store_free(sa);
	ztp_store_free(sb);
	ztp_test_rmtree(dir);
	free(uri);
	free(path);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------------ floods
 * Junk requests must not grow the durable event log without bound: the
 * global bucket admits before anything is parsed, and refusals reach the
 * log at most 10 per endpoint and code, then one a minute; the counters
 * count every request. */

static int64_t event_rows(ztp_store *st)
{
	int64_t after = 0, n = 0;

	for (;;) {
		char *json = NULL;
		json_object *arr, *last, *seq;
		size_t len;

		ck_assert_rc(ztp_store_event_list(st, after, 1000, &json),
			     ZTP_OK);
		arr = json_tokener_parse(json);
		ztp_free(json);
		ck_assert_ptr_nonnull(arr);
		len = json_object_array_length(arr);
		if (len == 0) {
			json_object_put(arr);
			return n;
		}
		n += (int64_t)len;
		last = json_object_array_get_idx(arr, len - 1);
		ck_assert(json_object_object_get_ex(last, "seq", &seq));
		after = json_object_get_int64(seq);
		json_object_put(arr);
	}
}

static int64_t stat_of(ztp_verifier *w, const char *key)
{
	char *json = NULL;
	json_object *o, *m, *x;
	int64_t n = 0;

	ck_assert_rc(ztp_verifier_stats(w, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ck_assert_ptr_nonnull(o);
	if (json_object_object_get_ex(o, key, &x))
		n = json_object_get_int64(x);
	else if (json_object_object_get_ex(o, "rejected_by_code", &m) &&
		 json_object_object_get_ex(m, key, &x))
		n = json_object_get_int64(x);
	json_object_put(o);
	ztp_free(json);
	return n;
}

START_TEST(event_flood)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "r.db"),
	     *uri = ztp_test_path("sqlite:", path);
	ztp_store *st = NULL;
	ztp_verifier *w;
	int64_t rows0, rows1;

	ck_assert_rc(ztp_store_open(&st, uri), ZTP_OK);
	w = verifier_on(st);
	/* One client, 2,000 one-byte bodies at one instant: the global
	 * bucket (burst 150) admits 150, which are refused as malformed. */
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "global", 100, 150),
		     ZTP_OK);
	rows0 = event_rows(st);
	for (int i = 0; i < 2000; i++)
		ck_assert_int_ge(wcall(w, "bootstrap", "x"), 400);
	rows1 = event_rows(st);
	ck_assert_msg(rows1 - rows0 <= 10, "%lld events from a flood",
		      (long long)(rows1 - rows0));
	ck_assert_int_ge(rows1 - rows0, 1);
	ck_assert_int_eq(stat_of(w, "requests"), 2000);
	ck_assert_int_eq(stat_of(w, "rejected"), 2000);
	ck_assert_int_eq(stat_of(w, "malformed_request"), 150);
	ck_assert_int_eq(stat_of(w, "rate_limited"), 1850);

	/* Without a global limit every body is parsed and refused: the
	 * log still takes at most 10 per endpoint and code. */
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "global", 0, 0), ZTP_OK);
	for (int i = 0; i < 2000; i++)
		ck_assert_int_eq(wcall(w, "register", "{"), 400);
	ck_assert_int_le(event_rows(st) - rows1, 10);
	ck_assert_int_eq(stat_of(w, "malformed_request"), 2150);
	ck_assert_int_eq(stat_of(w, "requests"), 4000);
	/* A minute later one more is written, with the count of those that
	 * were left out since the last one written. */
	rows1 = event_rows(st);
	clk += 60;
	ck_assert_int_eq(wcall(w, "register", "{"), 400);
	ck_assert_int_eq(event_rows(st), rows1 + 1);
	{
		char *json = NULL;

		ck_assert_rc(ztp_store_event_list(st, rows1, 1, &json), ZTP_OK);
		ck_assert_msg(strstr(json, "\"suppressed\":1990") != NULL, "%s",
			      json);
		ztp_free(json);
	}
	/* Claims pass codes from people and portals through: claims for
	 * devices that do not exist share that budget too. */
	rows1 = event_rows(st);
	for (int i = 0; i < 2000; i++) {
		char id[32];

		snprintf(id, sizeof(id), "ghost-%d", i);
		if (i % 100 == 99)
			clk++; /* within the global claim limit, 100/s */
		ck_assert_rc(ztp_verifier_claim(
				 w, id,
				 "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
				 "acme"),
			     ZTP_ENOTFOUND);
	}
	ck_assert_int_le(event_rows(st) - rows1, 10);
	ck_assert_int_ge(stat_of(w, "events_suppressed"), 1990);
	ztp_verifier_free(w);
	ztp_store_free(st);
	ztp_test_rmtree(dir);
	free(uri);
	free(path);
	free(dir);
}
END_TEST

void verifier_tcases_limits(Suite *s)
{
	TCase *tc;

	ADD("rate_limits", rate_limits);
	ADD("ztp_verifier_stats", events_and_stats);
	ADD("limits_shared", limits_shared_memory);
	ADD("limits_shared", limits_shared_sqlite);
	ADD("event_flood", event_flood);
}
