/*
 * Store: challenges, the event log and counters, against every backend.
 */
#include "test_store.h"
#include "store/records.h"

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

/* ------------------------------------------------------------ audit chain */

typedef struct cp_seen {
	int n;
	int64_t seq[4];
	uint8_t sig0[4];
} cp_seen;

static int cp_fn(const ztp__store_checkpoint_view *v, void *arg)
{
	cp_seen *c = arg;

	ck_assert_int_lt(c->n, 4);
	ck_assert_uint_eq(v->head_len, ZTP__AUDIT_HASH_LEN);
	ck_assert_uint_eq(v->sig_len, 3);
	ck_assert_str_eq(v->key_id, "k1");
	c->seq[c->n] = v->seq;
	c->sig0[c->n] = v->sig[0];
	c->n++;
	return ZTP_OK;
}

/* Every appended event is chained to the one before; checkpoints are
 * kept one per seq (the first wins) and listed after a seq in order. A
 * caller's backend keeps no chain. */
START_TEST(test_audit_chain)
{
	ztp_store *s = open_kind(_i, NULL);
	uint8_t head[ZTP__AUDIT_HASH_LEN] = {1};
	ztp__store_checkpoint_view cp = {
	    3, T0, head, sizeof(head), (const uint8_t *)"sg1", 3, "k1"};
	cp_seen seen = {0};
	char ev[32];
	int i;

	for (i = 0; i < 7; i++) {
		snprintf(ev, sizeof(ev), "{\"n\":%d}", i);
		ck_assert_rc(ztp_store_event_append(s, ev), ZTP_OK);
	}
	if (_i == B_WRAPPED) {
		ck_assert_rc(
		    ztp__store_audit_checkpoints(s, 0, 10, cp_fn, &seen),
		    ZTP_EUNSUPPORTED);
		ck_assert_rc(ztp__store_audit_checkpoint_add(s, &cp),
			     ZTP_EUNSUPPORTED);
		ztp_store_free(s);
		return;
	}
	ck_assert_int_eq(chain_walk(s), 7);
	ck_assert_rc(ztp__store_audit_checkpoint_add(s, &cp), ZTP_OK);
	cp.sig = (const uint8_t *)"xg2";
	ck_assert_rc(ztp__store_audit_checkpoint_add(s, &cp), ZTP_OK);
	cp.seq = 6;
	ck_assert_rc(ztp__store_audit_checkpoint_add(s, &cp), ZTP_OK);
	cp.seq = 1;
	cp.sig_len = 0;
	ck_assert_rc(ztp__store_audit_checkpoint_add(s, &cp), ZTP_EINVAL);
	ck_assert_rc(ztp__store_audit_checkpoints(s, 0, 10, cp_fn, &seen),
		     ZTP_OK);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_int_eq(seen.seq[0], 3);
	ck_assert_int_eq(seen.sig0[0], 's'); /* the first for seq 3 */
	ck_assert_int_eq(seen.seq[1], 6);
	ck_assert_int_eq(seen.sig0[1], 'x');
	seen.n = 0;
	ck_assert_rc(ztp__store_audit_checkpoints(s, 3, 10, cp_fn, &seen),
		     ZTP_OK);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_eq(seen.seq[0], 6);
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

void store_tcases_events(Suite *s)
{
	suite_add_tcase(s, loop_case("challenge_use", test_challenge_use, 0));
	suite_add_tcase(s, loop_case("event_append_list", test_events, 0));
	suite_add_tcase(s, loop_case("counter_next", test_counter_next, 0));
	suite_add_tcase(s, loop_case("audit_chain", test_audit_chain, 0));
}
