/*
 * Verifier: the approval hook (ztp_verifier_set_hook) at bootstrap,
 * credentials and claim — allow, deny with the hook's code and message,
 * allow with a tenant and attributes, and fail closed when the hook
 * fails, answers nonsense or overruns its budget. Every refusal is checked
 * for its wire code and for nothing issued.
 */
#include "test_verifier.h"

#include <unistd.h>

/* What the test hook does: answer verdict (NULL: fail with -1) after
 * sleeping delay_ms; it keeps the last context it was given. */
typedef struct hook_state {
	const char *verdict;
	int delay_ms;
	int calls;
	char context[2048];
} hook_state;

static hook_state hs;

static int test_hook(void *user, const char *context, char *verdict, size_t cap)
{
	hook_state *h = user;
	size_t n;

	h->calls++;
	snprintf(h->context, sizeof(h->context), "%s", context);
	if (h->delay_ms > 0)
		usleep((useconds_t)h->delay_ms * 1000);
	if (h->verdict == NULL)
		return -1;
	n = strlen(h->verdict);
	ck_assert_uint_lt(n, cap);
	memcpy(verdict, h->verdict, n + 1);
	return (int)n;
}

/* Every event, one a line, to find the hook's own among them. */
static char events[16384];

static void all_events(const char *json, void *ctx)
{
	size_t n = strlen(events);

	(void)ctx;
	snprintf(events + n, sizeof(events) - n, "%s\n", json);
}

static void setup_hook(void)
{
	setup();
	memset(&hs, 0, sizeof(hs));
	events[0] = '\0';
	ck_assert_rc(ztp_verifier_set_hook(v, test_hook, &hs, 1000), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_event_callback(v, all_events, NULL),
		     ZTP_OK);
}

START_TEST(hook_allow_and_context)
{
	json_object *r;

	hs.verdict = "{\"decision\":\"allow\"}";
	r = expect_accept(&(breq){0}, factory_pem);
	json_object_put(r);
	ck_assert_int_eq(hs.calls, 1);
	ck_assert_ptr_nonnull(strstr(hs.context, "\"event\":\"bootstrap\""));
	ck_assert_ptr_nonnull(strstr(hs.context, "\"device_id\":\"" DEV "\""));
	ck_assert_ptr_nonnull(strstr(hs.context, "\"state\":\"manufactured\""));
	ck_assert_ptr_nonnull(strstr(hs.context, "\"fingerprint\":\""));
	ck_assert_ptr_nonnull(strstr(hs.context, "\"version\":1"));
	ck_assert_ptr_nonnull(strstr(events, "\"type\":\"approval\""));
	/* removed: nothing is asked */
	ck_assert_rc(ztp_verifier_set_hook(v, NULL, NULL, 0), ZTP_OK);
	r = expect_accept(&(breq){0}, factory_pem);
	json_object_put(r);
	ck_assert_int_eq(hs.calls, 1);
	ck_assert_rc(ztp_verifier_set_hook(v, test_hook, &hs, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_hook(v, test_hook, &hs, 600001),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(hook_deny)
{
	json_object *r;
	char *body;
	int st;

	hs.verdict = "{\"decision\":\"deny\",\"message\":\"not on the list\"}";
	expect_reject(&(breq){0}, factory_pem, 403, "approval_denied");
	body = build(&(breq){0});
	st = call("bootstrap", body, strlen(body), factory_pem, &r);
	free(body);
	ck_assert_int_eq(st, 403);
	ck_assert_ptr_nonnull(
	    strstr(json_object_to_json_string(r), "not on the list"));
	json_object_put(r);
	/* the hook's own code */
	hs.verdict = "{\"decision\":\"deny\",\"code\":\"device_blocked\"}";
	expect_reject(&(breq){0}, factory_pem, 403, "device_blocked");
	{
		char *state = device_state(DEV);

		ck_assert_str_eq(state, "manufactured");
		free(state);
	}
}
END_TEST

/* Fail closed: a failing hook, nonsense, a code it may not give, a
 * denial with additions, a verdict after the budget. */
START_TEST(hook_fails_closed)
{
	static const char *const bad[] = {
	    NULL,
	    "",
	    "{",
	    "[]",
	    "{\"decision\":\"maybe\"}",
	    "{\"decision\":\"allow\",\"colour\":1}",
	    "{\"decision\":\"deny\",\"code\":\"no_such_code\"}",
	    "{\"decision\":\"deny\",\"code\":\"internal_error\"}",
	    "{\"decision\":\"deny\",\"code\":\"rate_limited\"}",
	    "{\"decision\":\"deny\",\"tenant\":\"acme\"}",
	    "{\"decision\":\"allow\",\"tenant\":\"a/b\"}",
	    "{\"decision\":\"allow\",\"message\":\"hi\"}",
	};

	for (size_t i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		hs.verdict = bad[i];
		events[0] = '\0';
		expect_reject(&(breq){0}, factory_pem, 503, "approval_failed");
		ck_assert_msg(strstr(events, "\"type\":\"approval\","
					     "\"result\":\"failed\"") != NULL,
			      "%zu: %s", i, events);
	}
	/* an allow that comes after the budget is a denial */
	ck_assert_rc(ztp_verifier_set_hook(v, test_hook, &hs, 5), ZTP_OK);
	hs.verdict = "{\"decision\":\"allow\"}";
	hs.delay_ms = 50;
	expect_reject(&(breq){0}, factory_pem, 503, "approval_failed");
	ck_assert_ptr_nonnull(strstr(events, "budget"));
}
END_TEST

/* Each verdict is counted by outcome in the metrics, which show the
 * family only while a hook is set. */
static double hook_metric(const char *outcome)
{
	char *text = NULL, series[64];
	const char *p;
	double n = -1;

	ck_assert_rc(ztp_verifier_metrics(v, &text), ZTP_OK);
	snprintf(series, sizeof(series),
		 "\nztp_approval_hook_total{outcome=\"%s\"} ", outcome);
	p = strstr(text, series);
	if (p != NULL)
		n = strtod(p + strlen(series), NULL);
	ztp_free(text);
	return n;
}

START_TEST(hook_metrics)
{
	json_object *r;
	char *text = NULL;

	ck_assert_int_eq(hook_metric("accepted"), 0);
	hs.verdict = "{\"decision\":\"allow\"}";
	r = expect_accept(&(breq){0}, factory_pem);
	json_object_put(r);
	hs.verdict = "{\"decision\":\"deny\"}";
	expect_reject(&(breq){0}, factory_pem, 403, "approval_denied");
	expect_reject(&(breq){0}, factory_pem, 403, "approval_denied");
	hs.verdict = NULL;
	expect_reject(&(breq){0}, factory_pem, 503, "approval_failed");
	ck_assert_int_eq(hook_metric("accepted"), 1);
	ck_assert_int_eq(hook_metric("rejected"), 2);
	ck_assert_int_eq(hook_metric("failed"), 1);
	ck_assert_rc(ztp_verifier_set_hook(v, NULL, NULL, 0), ZTP_OK);
	ck_assert_rc(ztp_verifier_metrics(v, &text), ZTP_OK);
	ck_assert_ptr_null(strstr(text, "ztp_approval_hook_total"));
	ztp_free(text);
}
END_TEST

START_TEST(hook_additions)
{
	json_object *r, *o, *t;
	char *json = NULL;

	hs.verdict = "{\"decision\":\"allow\",\"tenant\":\"acme\","
		     "\"attributes\":{\"order\":\"PO-7\",\"site\":3}}";
	r = expect_accept(&(breq){0}, factory_pem);
	json_object_put(r);
	/* the device is bound to the tenant the hook named */
	ck_assert_rc(ztp_store_device_get(store, DEV, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ztp_free(json);
	ck_assert(json_object_object_get_ex(o, "tenant", &t));
	ck_assert_str_eq(json_object_get_string(t), "acme");
	ck_assert(json_object_object_get_ex(o, "state", &t));
	ck_assert_str_eq(json_object_get_string(t), ZTP_STATE_ACTIVE);
	json_object_put(o);
	/* the attributes are recorded, durably */
	ck_assert_rc(ztp_store_event_list(store, 0, 100, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"attributes\":{\"order\":\"PO-7\","
					   "\"site\":3}"));
	ztp_free(json);
	/* a bound device keeps its tenant whatever a later verdict says */
	hs.verdict = "{\"decision\":\"allow\",\"tenant\":\"globex\"}";
	r = expect_accept(&(breq){0}, factory_pem);
	json_object_put(r);
	ck_assert_rc(ztp_store_device_get(store, DEV, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"tenant\":\"acme\""));
	ztp_free(json);
}
END_TEST

START_TEST(hook_credentials)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	char *boot, *body = csr_body(k), *op;
	json_object *r;
	uint64_t before;

	hs.verdict = "{\"decision\":\"allow\"}";
	boot = bootstrap_cert();
	ck_assert_int_eq(lcall("register", REG, boot, &r), 200);
	json_object_put(r);
	/* denied: nothing issued */
	hs.verdict = "{\"decision\":\"deny\",\"message\":\"unpaid\"}";
	before = cert_count();
	expect_code(lcall("credentials", body, boot, &r), &r, 403,
		    "approval_denied");
	ck_assert_uint_eq(cert_count(), before);
	ck_assert_ptr_nonnull(strstr(hs.context, "\"event\":\"credentials\""));
	ck_assert_ptr_nonnull(strstr(hs.context, "\"state\":\"registered\""));
	/* allowed with a tenant: the certificate carries it */
	hs.verdict = "{\"decision\":\"allow\",\"tenant\":\"globex\"}";
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	op = cert_of(r);
	ck_assert_ptr_nonnull(
	    strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
		   "\"tenant\":\"globex\""));
	json_object_put(r);
	free(op);
	free(boot);
	free(body);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(hook_claim)
{
	char *st;

	hs.verdict = "{\"decision\":\"deny\"}";
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"),
		     ZTP_EDENIED);
	ck_assert_ptr_nonnull(strstr(hs.context, "\"event\":\"claim\""));
	ck_assert_ptr_nonnull(strstr(hs.context, "\"tenant\":\"acme\""));
	st = device_state(DEV);
	ck_assert_str_eq(st, ZTP_STATE_MANUFACTURED);
	free(st);
	/* a tenant may not be assigned at a claim: the claim names it */
	hs.verdict = "{\"decision\":\"allow\",\"tenant\":\"globex\"}";
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"),
		     ZTP_EDENIED);
	/* the code was not spent by the refusals */
	hs.verdict = "{\"decision\":\"allow\"}";
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"), ZTP_OK);
	/* an unknown device is refused by the claim, without asking */
	hs.calls = 0;
	ck_assert_rc(ztp_verifier_claim(v, "nobody", dev1_code, "acme"),
		     ZTP_ENOTFOUND);
	ck_assert_int_eq(hs.calls, 0);
}
END_TEST

#define ADD_HOOK(name, fn)                                                     \
	tc = tcase_create(name);                                               \
	tcase_add_checked_fixture(tc, setup_hook, teardown);                   \
	tcase_set_timeout(tc, 120);                                            \
	tcase_add_test(tc, fn);                                                \
	suite_add_tcase(s, tc)

void verifier_tcases_hook(Suite *s)
{
	TCase *tc;

	ADD_HOOK("ztp_verifier_set_hook", hook_allow_and_context);
	ADD_HOOK("hook_deny", hook_deny);
	ADD_HOOK("hook_fails_closed", hook_fails_closed);
	ADD_HOOK("hook_additions", hook_additions);
	ADD_HOOK("hook_credentials", hook_credentials);
	ADD_HOOK("hook_claim", hook_claim);
	ADD_HOOK("hook_metrics", hook_metrics);
}
