/*
 * Verifier: the Prometheus metrics (ztp_verifier_metrics()) against a known
 * sequence of requests, the gauges read from the store, and counting from
 * several threads at once.
 */
#include "test_verifier.h"

#include <sqlite3.h>

/* The value of the sample whose name and labels are exactly series
 * ("name{a=\"x\"}"), or -1 when the text has no such line. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *eol = strchr(p, '\n');

		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = eol != NULL ? eol + 1 : NULL;
	}
	return -1;
}

static char *metrics(void)
{
	char *text = NULL;

	ck_assert_rc(ztp_verifier_metrics(v, &text), ZTP_OK);
	ck_assert_ptr_nonnull(text);
	return text;
}

static void expect_sample(const char *text, const char *series, double want)
{
	double got = sample(text, series);

	ck_assert_msg(got == want, "%s: want %g, got %g", series, want, got);
}

START_TEST(metrics_known_sequence)
{
	char *text, *boot, *op;
	json_object *r;
	EVP_PKEY *k = vpki_key("ec-p256");

	text = metrics();
	/* every endpoint's accepted series is there from the start */
	expect_sample(
	    text, "ztp_requests_total{endpoint=\"bootstrap\",code=\"ok\"}", 0);
	expect_sample(text, "ztp_requests_total{endpoint=\"crl\",code=\"ok\"}",
		      0);
	expect_sample(text, "ztp_devices{state=\"manufactured\"}", 2);
	expect_sample(text, "ztp_store_up", 1);
	ztp_free(text);

	/* challenge + bootstrap, register, credentials (registered_op) */
	op = registered_op(&boot, k);
	/* a refused bootstrap: a challenge, then a bad signature */
	expect_reject(&(breq){.sign_key = f2key}, NULL, 401, "bad_signature");
	/* a name that is no endpoint, twice */
	ck_assert_int_eq(call("nope", "{}", 2, NULL, &r), 404);
	json_object_put(r);
	ck_assert_int_eq(call("nope", "{}", 2, NULL, &r), 404);
	json_object_put(r);

	text = metrics();
	expect_sample(
	    text, "ztp_requests_total{endpoint=\"challenge\",code=\"ok\"}", 2);
	expect_sample(
	    text, "ztp_requests_total{endpoint=\"bootstrap\",code=\"ok\"}", 1);
	expect_sample(text,
		      "ztp_requests_total{endpoint=\"bootstrap\",code=\"bad_"
		      "signature\"}",
		      1);
	expect_sample(
	    text, "ztp_requests_total{endpoint=\"register\",code=\"ok\"}", 1);
	expect_sample(
	    text, "ztp_requests_total{endpoint=\"credentials\",code=\"ok\"}",
	    1);
	expect_sample(text,
		      "ztp_requests_total{endpoint=\"unknown\",code=\"unknown_"
		      "endpoint\"}",
		      2);
	/* refusal series appear only once they happen */
	ck_assert(sample(text, "ztp_requests_total{endpoint=\"rotate\",code="
			       "\"bad_csr\"}") < 0);
	/* the histogram counts each request once, cumulatively */
	expect_sample(text,
		      "ztp_request_duration_seconds_count{endpoint="
		      "\"bootstrap\"}",
		      2);
	expect_sample(text,
		      "ztp_request_duration_seconds_bucket{endpoint="
		      "\"bootstrap\",le=\"+Inf\"}",
		      2);
	ck_assert(sample(text, "ztp_request_duration_seconds_bucket{endpoint="
			       "\"bootstrap\",le=\"0.0005\"}") <= 2);
	ck_assert(sample(text, "ztp_request_duration_seconds_sum{endpoint="
			       "\"bootstrap\"}") > 0);
	expect_sample(
	    text, "ztp_certificates_issued_total{profile=\"bootstrap\"}", 1);
	expect_sample(
	    text, "ztp_certificates_issued_total{profile=\"operational\"}", 1);
	expect_sample(text, "ztp_devices{state=\"manufactured\"}", 1);
	expect_sample(text, "ztp_devices{state=\"registered\"}", 1);
	/* the bootstrap certificate lives 24 h; the operational one a year */
	expect_sample(text,
		      "ztp_certificates_expiring{profile=\"bootstrap\",within="
		      "\"7d\"}",
		      1);
	expect_sample(text,
		      "ztp_certificates_expiring{profile=\"operational\","
		      "within=\"30d\"}",
		      0);
	expect_sample(text, "ztp_rate_limited_total{scope=\"device\"}", 0);
	expect_sample(text, "ztp_store_errors_total{op=\"request\"}", 0);
	ztp_free(text);

	/* 340 days on: the operational certificate is within 30 days of its
	 * end, not within 7; the bootstrap one has expired */
	clk = T0 + 340 * DAY;
	text = metrics();
	expect_sample(text,
		      "ztp_certificates_expiring{profile=\"operational\","
		      "within=\"30d\"}",
		      1);
	expect_sample(text,
		      "ztp_certificates_expiring{profile=\"operational\","
		      "within=\"7d\"}",
		      0);
	expect_sample(text,
		      "ztp_certificates_expiring{profile=\"bootstrap\",within="
		      "\"7d\"}",
		      0);
	ztp_free(text);
	free(op);
	free(boot);
	EVP_PKEY_free(k);
}
END_TEST

/* Refusals by a rate limit, by the scope of the bucket. */
START_TEST(metrics_rate_limited)
{
	char body[] = "{\"device_id\":\"dev-1\"}", *text;
	json_object *r;

	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0.001, 2),
		     ZTP_OK);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(
		    call("challenge", body, strlen(body), NULL, &r), 200);
		json_object_put(r);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(
		    call("challenge", body, strlen(body), NULL, &r), 429);
		json_object_put(r);
	}
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0.001, 1),
		     ZTP_OK);
	ck_assert_int_eq(call("challenge", body, strlen(body), NULL, &r), 429);
	json_object_put(r);
	ck_assert_int_eq(call("challenge", body, strlen(body), NULL, &r), 429);
	json_object_put(r);
	/* the first of these two passes the global bucket and is refused by
	 * the device's; the second is refused before the device is known */
	text = metrics();
	expect_sample(text, "ztp_rate_limited_total{scope=\"device\"}", 4);
	expect_sample(text, "ztp_rate_limited_total{scope=\"global\"}", 1);
	expect_sample(text,
		      "ztp_requests_total{endpoint=\"challenge\",code=\"rate_"
		      "limited\"}",
		      5);
	ztp_free(text);
}
END_TEST

/* Without a store: the counters, no gauges. A store failure shows as
 * ztp_store_up 0 and a store error, not as a failed call. */
START_TEST(metrics_without_store)
{
	ztp_verifier *w = NULL;
	char *text = NULL;

	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(ztp_verifier_metrics(w, &text), ZTP_OK);
	ck_assert(sample(text, "ztp_store_up") < 0);
	ck_assert_ptr_null(strstr(text, "ztp_devices"));
	expect_sample(text, "ztp_events_suppressed_total", 0);
	ztp_free(text);
	ztp_verifier_free(w);
	ck_assert_rc(ztp_verifier_metrics(NULL, &text), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_metrics(v, NULL), ZTP_EINVAL);
}
END_TEST

/* A request the store fails answers store_unavailable with no cause, and
 * its event carries the store's own message for the operator. */
START_TEST(metrics_store_failure_detail)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "d.db");
	char uri[512], *code = NULL, *text = NULL;
	ztp_store *st = NULL;
	sqlite3 *db = NULL;
	json_object *r = NULL;
	char *body;
	int status;

	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	ck_assert_rc(ztp_store_open(&st, uri), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_store(v, st), ZTP_OK);
	ck_assert_rc(ztp_verifier_enroll(v, &code, DEV, factory_pem,
					 strlen(factory_pem), NULL, NULL),
		     ZTP_OK);
	ztp_free(code);
	body = build(&(breq){0});
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(db, "DROP TABLE challenges", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	status = call("bootstrap", body, strlen(body), factory_pem, &r);
	free(body);
	ck_assert_int_eq(status, 503);
	ck_assert_str_eq(err_code(r), "store_unavailable");
	ck_assert_ptr_null(strstr(json_object_to_json_string(r), "challenges"));
	json_object_put(r);
	ck_assert_ptr_nonnull(
	    strstr(last_event, "\"code\":\"store_unavailable\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"detail\":\""));
	ck_assert_ptr_nonnull(strstr(last_event, "challenges"));
	ck_assert_rc(ztp_verifier_metrics(v, &text), ZTP_OK);
	expect_sample(text, "ztp_store_errors_total{op=\"request\"}", 1);
	ztp_free(text);
	ck_assert_rc(ztp_verifier_set_store(v, store), ZTP_OK);
	ztp_store_free(st);
	ztp_test_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(metrics_store_down)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "m.db");
	char uri[512], *text;
	ztp_store *st = NULL;
	ztp_verifier *w;

	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	ck_assert_rc(ztp_store_open(&st, uri), ZTP_OK);
	w = verifier_on(st);
	ck_assert_rc(ztp_verifier_metrics(w, &text), ZTP_OK);
	expect_sample(text, "ztp_store_up", 1);
	ztp_free(text);
	/* the counts' table goes away under the handle */
	{
		sqlite3 *db = NULL;

		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ck_assert_int_eq(
		    sqlite3_exec(db,
				 "DROP TRIGGER device_states_insert;"
				 "DROP TRIGGER device_states_update;"
				 "DROP TRIGGER device_states_delete;"
				 "DROP TABLE device_states",
				 NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);
	}
	ck_assert_rc(ztp_verifier_metrics(w, &text), ZTP_OK);
	expect_sample(text, "ztp_store_up", 0);
	expect_sample(text, "ztp_store_errors_total{op=\"gauges\"}", 1);
	ck_assert_ptr_null(strstr(text, "ztp_devices{"));
	ztp_free(text);
	ztp_verifier_free(w);
	ztp_store_free(st);
	free(path);
	ztp_test_rmtree(dir);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------------ threads */

#define MTHREADS 4
#define MCALLS 50

static void *th_challenges(void *p)
{
	char body[] = "{\"device_id\":\"dev-2\"}", *out = NULL, *text = NULL;
	int st;

	(void)p;
	for (int i = 0; i < MCALLS; i++) {
		if (ztp_verifier_handle(v, &st, &out, "challenge", body,
					strlen(body), NULL, 0) == ZTP_OK)
			ztp_free(out);
		out = NULL;
		/* scrapes run beside the requests */
		if (i % 10 == 0 && ztp_verifier_metrics(v, &text) == ZTP_OK)
			ztp_free(text);
	}
	return NULL;
}

START_TEST(metrics_threads)
{
	pthread_t t[MTHREADS];
	char *text;

	for (int i = 0; i < MTHREADS; i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, th_challenges, NULL), 0);
	for (int i = 0; i < MTHREADS; i++)
		pthread_join(t[i], NULL);
	text = metrics();
	expect_sample(text,
		      "ztp_requests_total{endpoint=\"challenge\",code=\"ok\"}",
		      MTHREADS * MCALLS);
	expect_sample(text,
		      "ztp_request_duration_seconds_count{endpoint="
		      "\"challenge\"}",
		      MTHREADS * MCALLS);
	ztp_free(text);
}
END_TEST

void verifier_tcases_metrics(Suite *s)
{
	TCase *tc;

	ADD("metrics", metrics_known_sequence);
	ADD("metrics", metrics_rate_limited);
	ADD("metrics", metrics_without_store);
	ADD("metrics", metrics_store_down);
	ADD("metrics", metrics_store_failure_detail);
	ADD("metrics", metrics_threads);
}
