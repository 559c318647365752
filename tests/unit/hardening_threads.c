/*
 * Many threads on shared handles: the CA (issuing into one store), the
 * store (single-use challenges, first-writer-wins records), the policy
 * (decisions during reloads), and several store handles on one SQLite
 * file. Run clean under ThreadSanitizer (--enable-tsan).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening_server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define PER_THREAD 12

static const char FP[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* All threads start their racing call together. */
typedef struct gate {
	pthread_barrier_t barrier;
} gate;

/* ------------------------------------------------------------------ CA */

typedef struct issue_job {
	ztp_ca *ca;
	const char *csr;
	const char *device;
	gate *g;
	char *serials[PER_THREAD];
	int failures;
} issue_job;

static void *issue_thread(void *arg)
{
	issue_job *j = arg;
	char *pem = NULL;
	int i;

	pthread_barrier_wait(&j->g->barrier);
	for (i = 0; i < PER_THREAD; i++) {
		if (ztp_ca_issue_ex(j->ca, &pem, &j->serials[i], NULL, j->csr,
				    strlen(j->csr), j->device, NULL,
				    "operational", 0) != ZTP_OK)
			j->failures++;
		ztp_free(pem);
		pem = NULL;
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void issue_race(const char *uri, bool same_device)
{
	hz_pki p;
	issue_job jobs[NTHREADS];
	pthread_t t[NTHREADS];
	char *all[NTHREADS * PER_THREAD], *json = NULL;
	char devs[NTHREADS][16];
	gate g;
	char *csr;
	int i, k, n = 0;
	uint64_t before;

	hz_pki_init(&p, uri);
	csr = hz_csr("ec-p256", "x");
	ck_assert_ptr_nonnull(csr);
	for (i = 0; i < NTHREADS; i++) {
		snprintf(devs[i], sizeof(devs[i]), "dev-%d",
			 same_device ? 0 : i);
		if (!same_device || i == 0)
			ck_assert_rc(ztp_store_device_add(p.store, devs[i], FP,
							  NULL, NULL,
							  1700000000),
				     ZTP_OK);
	}
	before = hz_cert_count(p.store);
	pthread_barrier_init(&g.barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].ca = p.ca;
		jobs[i].csr = csr;
		jobs[i].device = devs[i];
		jobs[i].g = &g;
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, issue_thread, &jobs[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&g.barrier);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(jobs[i].failures, 0);
		for (k = 0; k < PER_THREAD; k++)
			all[n++] = jobs[i].serials[k];
	}
	/* Every certificate recorded, no serial twice. */
	ck_assert_uint_eq(hz_cert_count(p.store), before + (uint64_t)n);
	qsort(all, (size_t)n, sizeof(all[0]), cmp_str);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(all[i]);
		if (i > 0)
			ck_assert_str_ne(all[i - 1], all[i]);
		ck_assert_rc(ztp_store_cert_get(p.store, all[i], &json),
			     ZTP_OK);
		ztp_free(json);
		json = NULL;
	}
	for (i = 0; i < n; i++)
		ztp_free(all[i]);
	ztp_free(csr);
	hz_pki_free(&p);
}

START_TEST(test_threads_ca_issue)
{
	issue_race("memory:", true);
	issue_race("memory:", false);
	issue_race(NULL, true);
	issue_race(NULL, false);
}
END_TEST

/* ------------------------------------------------------------------ store
 * races */

typedef struct race_job {
	ztp_store *store;
	gate *g;
	int round;
	int rc[16];
} race_job;

static void *challenge_thread(void *arg)
{
	race_job *j = arg;
	uint8_t id[32];
	int r;

	for (r = 0; r < 16; r++) {
		memset(id, r + 1, sizeof(id));
		pthread_barrier_wait(&j->g->barrier);
		j->rc[r] = ztp_store_challenge_use(j->store, id, sizeof(id),
						   2000000000, 1700000000);
	}
	return NULL;
}

static void *device_add_thread(void *arg)
{
	race_job *j = arg;
	char id[32];
	int r;

	for (r = 0; r < 16; r++) {
		snprintf(id, sizeof(id), "race-%d", r);
		pthread_barrier_wait(&j->g->barrier);
		j->rc[r] = ztp_store_device_add(j->store, id, FP, NULL, NULL,
						1700000000);
	}
	return NULL;
}

static void *claim_thread(void *arg)
{
	race_job *j = arg;
	uint8_t h[32];
	char id[32], tenant[32];
	int r;

	memset(h, 0x33, sizeof(h));
	/* Each thread claims for its own tenant: exactly one may win. */
	snprintf(tenant, sizeof(tenant), "tenant-%p", (void *)j);
	for (r = 0; r < 16; r++) {
		snprintf(id, sizeof(id), "race-%d", r);
		pthread_barrier_wait(&j->g->barrier);
		j->rc[r] =
		    ztp_store_claim_take(j->store, id, h, sizeof(h), tenant);
	}
	return NULL;
}

/* One store handle per thread, or one shared by all. */
static void store_race(const char *uri, bool shared)
{
	ztp_store *stores[NTHREADS] = {0};
	race_job jobs[NTHREADS];
	pthread_t t[NTHREADS];
	void *(*fns[3])(void *) = {challenge_thread, device_add_thread,
				   claim_thread};
	const int lose[3] = {ZTP_EREPLAY, ZTP_EEXISTS, ZTP_ENOTFOUND};
	char *dir = NULL, *u = NULL, id[32];
	uint8_t h[32];
	gate g;
	int f, i, r, wins;

	if (uri == NULL) {
		dir = ztp_test_tmpdir();
		ck_assert_ptr_nonnull(dir);
		ck_assert_int_ge(asprintf(&u, "sqlite:%s/race.db", dir), 0);
		uri = u;
	}
	for (i = 0; i < NTHREADS; i++) {
		if (shared && i > 0)
			stores[i] = stores[0];
		else
			ck_assert_rc(ztp_store_open(&stores[i], uri), ZTP_OK);
	}
	memset(h, 0x33, sizeof(h));
	for (f = 0; f < 3; f++) {
		if (f == 2) {
			/* Claimable devices for the claim race. */
			for (r = 0; r < 16; r++) {
				snprintf(id, sizeof(id), "race-%d", r);
				ck_assert_rc(ztp_store_claim_set(stores[0], id,
								 h, sizeof(h)),
					     ZTP_OK);
			}
		}
		pthread_barrier_init(&g.barrier, NULL, NTHREADS);
		for (i = 0; i < NTHREADS; i++) {
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].store = stores[i];
			jobs[i].g = &g;
			ck_assert_int_eq(
			    pthread_create(&t[i], NULL, fns[f], &jobs[i]), 0);
		}
		for (i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&g.barrier);
		for (r = 0; r < 16; r++) {
			wins = 0;
			for (i = 0; i < NTHREADS; i++) {
				if (jobs[i].rc[r] == ZTP_OK)
					wins++;
				else
					ck_assert_msg(
					    jobs[i].rc[r] == lose[f] ||
						(f == 2 &&
						 jobs[i].rc[r] == ZTP_ESTATE),
					    "race %d round %d: %d", f, r,
					    jobs[i].rc[r]);
			}
			ck_assert_msg(wins == 1,
				      "race %d round %d: %d winners (%s)", f, r,
				      wins, shared ? "shared" : "handles");
		}
	}
	for (i = 0; i < NTHREADS; i++)
		if (!shared || i == 0)
			ztp_store_free(stores[i]);
	ztp_test_rmtree(dir);
	free(dir);
	free(u);
}

START_TEST(test_threads_store_races)
{
	store_race("memory:", true);
	store_race(NULL, true);
	store_race(NULL, false);
}
END_TEST

/* ------------------------------------------------------------------ policy */

typedef struct policy_job {
	ztp_policy *p;
	const char *docs[2];
	atomic_int *stop;
	long decisions;
	int bad;
} policy_job;

static const char OWN[] = "tenants/acme/devices/dev-1/state";
static const char TELEMETRY[] = "tenants/acme/devices/dev-1/telemetry";
static const char FOREIGN[] = "tenants/other/devices/dev-1/state";

static void *decide_thread(void *arg)
{
	policy_job *j = arg;
	int rc;

	while (!atomic_load(j->stop)) {
		/* Allowed by both documents: never denied mid-reload. */
		rc = ztp_policy_authorize(j->p, "acme", "dev-1", "dev-1",
					  ZTP_POLICY_PUBLISH, OWN, strlen(OWN));
		if (rc != ZTP_OK)
			j->bad++;
		/* Allowed by one document only: either answer. */
		rc = ztp_policy_authorize(j->p, "acme", "dev-1", "dev-1",
					  ZTP_POLICY_PUBLISH, TELEMETRY,
					  strlen(TELEMETRY));
		if (rc != ZTP_OK && rc != ZTP_EDENIED)
			j->bad++;
		/* Allowed by neither. */
		rc = ztp_policy_authorize(j->p, "acme", "dev-1", "dev-1",
					  ZTP_POLICY_PUBLISH, FOREIGN,
					  strlen(FOREIGN));
		if (rc != ZTP_EDENIED)
			j->bad++;
		j->decisions += 3;
	}
	return NULL;
}

START_TEST(test_threads_policy_reload)
{
	static const char deny_telemetry[] =
	    "{\"version\":\"2026-01\",\"statements\":["
	    "{\"effect\":\"Allow\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"tenants/${tenant}/devices/${device}/#\"]},"
	    "{\"effect\":\"Deny\",\"actions\":[\"publish\"],"
	    "\"resources\":[\"tenants/${tenant}/devices/+/telemetry\"]}]}";
	policy_job jobs[NTHREADS - 1];
	pthread_t t[NTHREADS - 1];
	atomic_int stop = 0;
	ztp_policy *p = NULL;
	char *deflt = NULL;
	int i, r;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_default_document(&deflt), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, deflt, strlen(deflt)), ZTP_OK);
	for (i = 0; i < NTHREADS - 1; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].p = p;
		jobs[i].stop = &stop;
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, decide_thread, &jobs[i]), 0);
	}
	for (r = 0; r < 200; r++) {
		const char *d = r % 2 ? deny_telemetry : deflt;

		ck_assert_rc(ztp_policy_load(p, d, strlen(d)), ZTP_OK);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < NTHREADS - 1; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(jobs[i].bad == 0,
			      "thread %d: %d wrong decisions of %ld", i,
			      jobs[i].bad, jobs[i].decisions);
	}
	ztp_free(deflt);
	ztp_policy_free(p);
}
END_TEST

void hz_add_thread_tests(Suite *s)
{
	TCase *tc = tcase_create("threads");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_threads_ca_issue);
	tcase_add_test(tc, test_threads_store_races);
	tcase_add_test(tc, test_threads_policy_reload);
	suite_add_tcase(s, tc);
}
