/*
 * Store: allocation failures and concurrent handles, against every backend.
 */
#include "test_store.h"

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

void store_tcases_stress(Suite *s)
{
	suite_add_tcase(s,
			loop_case("alloc_failures", test_alloc_failures, 120));
	suite_add_tcase(s, loop_case("threads", test_threads, 300));
}
