/*
 * Registry throughput by backend: device_add and challenge_use per second
 * on each store URI given, from 1 thread and from several sharing one
 * handle, and each figure as a ratio to the first URI's (the baseline,
 * measured in the same run). Nothing is asserted. `make bench-store` runs
 * it on sqlite: and on a PostgreSQL it starts (bench/store.sh).
 *
 *   bench_store OPS THREADS URI...   (each URI an empty registry, or
 *                                     one registry named several ways)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ztp/store.h>

#include "bench.h"

const char bench_name[] = "bench_store";

#define FPR "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

typedef struct job {
	ztp_store *s;
	int op; /* 0 device_add, 1 challenge_use */
	int round, first, count, failed;
} job;

static void *run(void *arg)
{
	job *j = arg;
	char id[48];
	int i, rc;

	for (i = j->first; i < j->first + j->count; i++) {
		snprintf(id, sizeof(id), "r%d-d%d", j->round, i);
		if (j->op == 0)
			rc = ztp_store_device_add(j->s, id, FPR, NULL, NULL,
						  1700000000);
		else
			rc = ztp_store_challenge_use(j->s, (const uint8_t *)id,
						     strlen(id), 4000000000LL,
						     1700000000);
		if (rc != ZTP_OK && j->failed == 0)
			j->failed = rc;
	}
	return NULL;
}

/* ops per second of op over n operations split among t threads. */
static double measure(ztp_store *s, int op, int round, int n, int t)
{
	pthread_t th[64];
	job jobs[64];
	double t0;
	int i;

	memset(jobs, 0, sizeof(jobs));
	t0 = bench_wall();
	for (i = 0; i < t; i++) {
		jobs[i] = (job){s, op, round, i * (n / t), n / t, 0};
		if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(1);
		}
	}
	for (i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < t; i++)
		if (jobs[i].failed != 0) {
			fprintf(stderr, "operation failed: %s\n",
				ztp_strerror(jobs[i].failed));
			exit(1);
		}
	return (double)(n / t * t) / (bench_wall() - t0);
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"device_add", "challenge_use"};
	double base[2][2] = {{0, 0}, {0, 0}};
	int n, threads, u, op, k;

	if (argc < 4 || (n = (int)strtol(argv[1], NULL, 10)) < 1 ||
	    (threads = (int)strtol(argv[2], NULL, 10)) < 1 || threads > 64 ||
	    n > 10000000) {
		fprintf(stderr,
			"usage: bench_store OPS THREADS(1..64) URI...\n");
		return 2;
	}
	printf("%-14s %-8s %12s %8s  %s\n", "operation", "threads", "ops/s",
	       "ratio", "store");
	for (u = 3; u < argc; u++) {
		ztp_store *s = NULL;
		/* The scheme and, for PostgreSQL, TCP or unix socket (a
		 * URI may hold a password: not printed). */
		const char *shown = strncmp(argv[u], "sqlite:", 7) == 0
					? "sqlite:"
				    : strstr(argv[u], "host=/") != NULL
					? "postgresql:// (unix socket)"
					: "postgresql:// (TCP)";

		if (ztp_store_open(&s, argv[u]) != ZTP_OK) {
			fprintf(stderr, "%s: %s\n", argv[u],
				ztp_error_last_message());
			return 1;
		}
		for (op = 0; op < 2; op++)
			for (k = 0; k < 2; k++) {
				int t = k == 0 ? 1 : threads;
				double r = measure(s, op, u * 2 + k, n, t);

				if (u == 3)
					base[op][k] = r;
				printf("%-14s %-8d %12.0f %8.2f  %s\n",
				       names[op], t, r, r / base[op][k], shown);
			}
		ztp_store_free(s);
	}
	return 0;
}
