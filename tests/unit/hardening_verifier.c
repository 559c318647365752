/*
 * The verifier under failure injection and under many threads: bootstrap
 * with allocation n failing for every n, concurrent bootstraps spending
 * one challenge (exactly one may win), and concurrent bootstraps of
 * different devices.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening_server.h"
#include "verifier_pki.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

static void vpki_setup(hz_vpki *p, const char *uri, char **dir)
{
	char *u = NULL;

	*dir = NULL;
	if (uri == NULL) {
		*dir = ztp_test_tmpdir();
		ck_assert_ptr_nonnull(*dir);
		ck_assert_int_ge(asprintf(&u, "sqlite:%s/registry.db", *dir),
				 0);
		uri = u;
	}
	ck_assert_rc(hz_vpki_init(p, uri), ZTP_OK);
	free(u);
}

static void vpki_teardown(hz_vpki *p, char *dir)
{
	hz_vpki_free(p);
	ztp_test_rmtree(dir);
	free(dir);
}

static char *device_state(ztp_store *s, const char *id)
{
	char *json = NULL, *st, *end, *out;

	ck_assert_rc(ztp_store_device_get(s, id, &json), ZTP_OK);
	st = strstr(json, "\"state\":\"");
	ck_assert_ptr_nonnull(st);
	st += 9;
	end = strchr(st, '"');
	ck_assert_ptr_nonnull(end);
	out = strndup(st, (size_t)(end - st));
	ztp_free(json);
	return out;
}

/* The error code of an error response, or "" (static buffer). */
static const char *error_code(const char *resp)
{
	static char code[64];
	json_object *o = NULL, *e = NULL;
	const char *c = NULL;

	code[0] = '\0';
	ck_assert_rc(ztp__json_parse(&o, resp, strlen(resp), 1 << 20, 0),
		     ZTP_OK);
	if (ztp__json_object(o, "error", true, &e) == ZTP_OK &&
	    ztp__json_str(e, "code", true, 63, &c, NULL) == ZTP_OK)
		snprintf(code, sizeof(code), "%s", c);
	json_object_put(o);
	return code;
}

START_TEST(test_alloc_verifier_bootstrap)
{
	hz_vpki p;
	char *dir, *nonce = NULL, *body = NULL, *resp = NULL, *state;
	char seen[1024] = "";
	int status = 0, rc;
	uint64_t before, now;
	long n, total, budget, points = 0, misclassified = 0, no_answer = 0;

	vpki_setup(&p, _i == 0 ? "memory:" : NULL, &dir);
	/* Dry run on a second device: counts the allocations and warms
	 * the caches. */
	{
		EVP_PKEY *k = NULL;
		char *c = NULL;

		ck_assert_rc(hz_vpki_add_device(&p, "dev-warm", &k, &c),
			     ZTP_OK);
		ck_assert_rc(hz_vpki_nonce(&p, "dev-warm", &nonce), ZTP_OK);
		ck_assert_rc(hz_vpki_bootstrap_body(&body, NULL, "dev-warm", k,
						    c, nonce),
			     ZTP_OK);
		ztp__alloc_fail_at(0);
		ck_assert_rc(ztp_verifier_handle(p.v, &status, &resp,
						 "bootstrap", body,
						 strlen(body), c, strlen(c)),
			     ZTP_OK);
		total = ztp__alloc_fail_at(0);
		ck_assert_msg(status == 200, "dry run: %d %s", status, resp);
		EVP_PKEY_free(k);
		ztp_free(c);
		ztp_free(nonce);
		ztp_free(body);
		ztp_free(resp);
		nonce = body = resp = NULL;
	}
	before = hz_cert_count(p.store);
	budget = hz_sweep_budget(400);
	for (n = 1; n < total * 2 + 1000;
	     n += n < budget ? 1 : total / budget + 1) {
		/* A failed attempt may have spent its challenge (the
		 * verifier spends it before issuing): each attempt gets a
		 * fresh one, made with injection off. */
		ck_assert_rc(hz_vpki_nonce(&p, HZ_VPKI_DEVICE, &nonce), ZTP_OK);
		ck_assert_rc(hz_vpki_bootstrap_body(&body, NULL, HZ_VPKI_DEVICE,
						    p.fkey, HZ_FACTORY_PEM,
						    nonce),
			     ZTP_OK);
		ERR_clear_error();
		ztp__alloc_fail_at(n);
		rc = ztp_verifier_handle(p.v, &status, &resp, "bootstrap", body,
					 strlen(body), HZ_FACTORY_PEM,
					 strlen(HZ_FACTORY_PEM));
		ztp__alloc_fail_at(0);
		points++;
		ztp_free(nonce);
		ztp_free(body);
		nonce = body = NULL;
		if (rc == ZTP_OK && status == 200) {
			ztp_free(resp);
			break;
		}
		if (rc != ZTP_OK) {
			/* Not even an error response could be built (every
			 * allocation after the n-th fails too). */
			ck_assert_int_eq(rc, ZTP_ENOMEM);
			ck_assert_ptr_null(resp);
			no_answer++;
		} else {
			const char *code = error_code(resp);

			ck_assert_msg(status >= 400, "status %d", status);
			if (status < 500) {
				/* An allocation failure read as a client
				 * mistake: fail closed, but misleading. */
				misclassified++;
				if (strstr(seen, code) == NULL &&
				    strlen(seen) + strlen(code) + 8 <
					sizeof(seen))
					snprintf(seen + strlen(seen),
						 sizeof(seen) - strlen(seen),
						 " %d:%.60s", status, code);
			}
		}
		ztp_free(resp);
		resp = NULL;
		/* Nothing issued, nothing recorded, no state change. The
		 * record may only precede a failure to build the answer. */
		now = hz_cert_count(p.store);
		ck_assert_msg(now == before || now == before + 1,
			      "allocation %ld: certificates %llu -> %llu", n,
			      (unsigned long long)before,
			      (unsigned long long)now);
		state = device_state(p.store, HZ_VPKI_DEVICE);
		if (now == before)
			ck_assert_str_eq(state, ZTP_STATE_MANUFACTURED);
		free(state);
		before = now;
	}
	ck_assert_msg(rc == ZTP_OK && status == 200,
		      "bootstrap never succeeded (%ld points)", points);
	state = device_state(p.store, HZ_VPKI_DEVICE);
	ck_assert_str_eq(state, ZTP_STATE_BOOTSTRAPPED);
	free(state);
	fprintf(stderr,
		"alloc sweep: verifier bootstrap (%s): %ld allocations, %ld "
		"points, %ld without an answer (ENOMEM), %ld answered 4xx:%s\n",
		_i == 0 ? "memory" : "sqlite", total, points, no_answer,
		misclassified, seen);
	vpki_teardown(&p, dir);
}
END_TEST

/* ------------------------------------------------------------------ threads */

#define NBOOT 8

typedef struct boot_job {
	hz_vpki *p;
	pthread_barrier_t *barrier;
	const char *body;
	const char *peer;
	int status;
	int rc;
	char *resp;
} boot_job;

static void *boot_thread(void *arg)
{
	boot_job *j = arg;

	pthread_barrier_wait(j->barrier);
	j->rc = ztp_verifier_handle(j->p->v, &j->status, &j->resp, "bootstrap",
				    j->body, strlen(j->body), j->peer,
				    strlen(j->peer));
	return NULL;
}

static void run_boot_jobs(boot_job *jobs, int n)
{
	pthread_t t[NBOOT];
	pthread_barrier_t b;
	int i;

	pthread_barrier_init(&b, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		jobs[i].barrier = &b;
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, boot_thread, &jobs[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b);
}

/* One challenge, NBOOT different valid requests spending it at once:
 * exactly one certificate. */
START_TEST(test_threads_one_nonce)
{
	hz_vpki p;
	boot_job jobs[NBOOT];
	char *dir, *nonce = NULL, *bodies[NBOOT];
	uint64_t before;
	int i, round, wins;

	vpki_setup(&p, _i == 0 ? "memory:" : NULL, &dir);
	for (round = 0; round < 4; round++) {
		before = hz_cert_count(p.store);
		ck_assert_rc(hz_vpki_nonce(&p, HZ_VPKI_DEVICE, &nonce), ZTP_OK);
		for (i = 0; i < NBOOT; i++) {
			ck_assert_rc(hz_vpki_bootstrap_body(
					 &bodies[i], NULL, HZ_VPKI_DEVICE,
					 p.fkey, HZ_FACTORY_PEM, nonce),
				     ZTP_OK);
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].p = &p;
			jobs[i].body = bodies[i];
			jobs[i].peer = HZ_FACTORY_PEM;
		}
		run_boot_jobs(jobs, NBOOT);
		wins = 0;
		for (i = 0; i < NBOOT; i++) {
			ck_assert_rc(jobs[i].rc, ZTP_OK);
			if (jobs[i].status == 200)
				wins++;
			else
				ck_assert_msg(strcmp(error_code(jobs[i].resp),
						     "challenge_replayed") == 0,
					      "loser got %d %s", jobs[i].status,
					      jobs[i].resp);
			ztp_free(jobs[i].resp);
			ztp_free(bodies[i]);
		}
		ck_assert_int_eq(wins, 1);
		ck_assert_uint_eq(hz_cert_count(p.store), before + 1);
		ztp_free(nonce);
	}
	vpki_teardown(&p, dir);
}
END_TEST

/* Different devices at once, each with its own challenge: all succeed,
 * each certificate names its own device. */
START_TEST(test_threads_many_devices)
{
	hz_vpki p;
	boot_job jobs[NBOOT];
	char *dir, *nonce = NULL, *bodies[NBOOT], *certs[NBOOT], id[32];
	EVP_PKEY *keys[NBOOT];
	X509 *x = NULL;
	json_object *o = NULL;
	const char *pem = NULL;
	char got[ZTP_ID_MAX + 1];
	uint64_t before;
	int i;

	vpki_setup(&p, _i == 0 ? "memory:" : NULL, &dir);
	for (i = 0; i < NBOOT; i++) {
		snprintf(id, sizeof(id), "dev-t%d", i);
		ck_assert_rc(hz_vpki_add_device(&p, id, &keys[i], &certs[i]),
			     ZTP_OK);
		ck_assert_rc(hz_vpki_nonce(&p, id, &nonce), ZTP_OK);
		ck_assert_rc(hz_vpki_bootstrap_body(&bodies[i], NULL, id,
						    keys[i], certs[i], nonce),
			     ZTP_OK);
		ztp_free(nonce);
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].p = &p;
		jobs[i].body = bodies[i];
		jobs[i].peer = certs[i];
	}
	before = hz_cert_count(p.store);
	run_boot_jobs(jobs, NBOOT);
	for (i = 0; i < NBOOT; i++) {
		ck_assert_rc(jobs[i].rc, ZTP_OK);
		ck_assert_msg(jobs[i].status == 200, "device %d: %d %s", i,
			      jobs[i].status, jobs[i].resp);
		ck_assert_rc(ztp__json_parse(&o, jobs[i].resp,
					     strlen(jobs[i].resp), 1 << 20, 0),
			     ZTP_OK);
		ck_assert_rc(
		    ztp__json_str(o, "certificate", true, 65536, &pem, NULL),
		    ZTP_OK);
		ck_assert_rc(ztp__pem_cert(&x, pem, strlen(pem)), ZTP_OK);
		ck_assert_rc(ztp__cert_device_id(got, x), ZTP_OK);
		snprintf(id, sizeof(id), "dev-t%d", i);
		ck_assert_str_eq(got, id);
		X509_free(x);
		json_object_put(o);
		ztp_free(jobs[i].resp);
		ztp_free(bodies[i]);
		ztp_free(certs[i]);
		EVP_PKEY_free(keys[i]);
	}
	ck_assert_uint_eq(hz_cert_count(p.store), before + NBOOT);
	vpki_teardown(&p, dir);
}
END_TEST

void hz_add_verifier_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("alloc_verifier");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_alloc_verifier_bootstrap, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads_verifier");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_threads_one_nonce, 0, 2);
	tcase_add_loop_test(tc, test_threads_many_devices, 0, 2);
	suite_add_tcase(s, tc);
}
