/*
 * bench_ops — what operating a verifier costs: one metrics scrape
 * (ztp_verifier_metrics(), which reads the device and expiry gauges from
 * the store) on SQLite registries of growing size, next to two baselines
 * measured in the same run on the same registry: the same gauges computed
 * by reading the tables (devices grouped by state, and the four expiry
 * counts with the index disabled: what a scrape would cost if it scanned
 * the registry), and one `challenge` request through
 * ztp_verifier_handle() (the cheapest request a device makes).
 * Prints ratios; asserts nothing. Public API, plus SQLite to fill the
 * registry in one transaction (a registry written call by call syncs
 * every row and takes minutes to reach these sizes).
 *
 * Then the audit chain (doc/AUDIT.md): one ztp_store_event_append() on
 * memory: (which hashes the event into the chain) next to one SHA-256 of
 * the same bytes with OpenSSL (the chain's own cost), and on sqlite:
 * (wall time: the commit's fsync is the cost there).
 *
 * Each figure is the best of three runs of ZTP_BENCH_N calls (default
 * 200), in CPU time of this thread.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include <ztp/ztp.h>

#include "bench.h"

const char bench_name[] = "bench_ops";

#define RUNS 3
#define DAY 86400

/* A typical durable event: a refused bootstrap. */
static const char event[] =
    "{\"type\":\"bootstrap\",\"result\":\"rejected\",\"code\":"
    "\"bad_signature\",\"message\":\"signature over the transcript does "
    "not verify with the factory key\",\"device_id\":\"dev-000123\","
    "\"time\":\"2026-12-07T07:30:00Z\"}";

/* Seconds per event append on store uri (wall time when wall), best of
 * RUNS runs of n. */
static double time_append(const char *uri, long n, bool wall)
{
	double best = 0;
	ztp_store *st = NULL;
	int rc;

	if ((rc = ztp_store_open(&st, uri)) != ZTP_OK)
		bench_die("store", rc);
	for (int r = 0; r < RUNS; r++) {
		double t = wall ? bench_wall() : bench_cpu();

		for (long i = 0; i < n; i++)
			if ((rc = ztp_store_event_append(st, event)) != ZTP_OK)
				bench_die("event_append", rc);
		t = ((wall ? bench_wall() : bench_cpu()) - t) / (double)n;
		if (r == 0 || t < best)
			best = t;
	}
	ztp_store_free(st);
	return best;
}

static double time_sha256(long n)
{
	unsigned char md[32], buf[512];
	double best = 0;

	/* The bytes the chain hashes: tag, prev, seq, at, length, text. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf + 75, event, sizeof(event) - 1);
	for (int r = 0; r < RUNS; r++) {
		double t = bench_cpu();

		for (long i = 0; i < n * 100; i++) {
			buf[0] = (unsigned char)i;
			if (EVP_Digest(buf, 75 + sizeof(event) - 1, md, NULL,
				       EVP_sha256(), NULL) != 1)
				bench_die("sha256", ZTP_ECRYPTO);
		}
		t = (bench_cpu() - t) / (double)(n * 100);
		if (r == 0 || t < best)
			best = t;
	}
	return best;
}

/* n devices, a quarter of them active, and n operational certificates
 * whose notAfter is spread over the next year, one in ten revoked. */
static void fill(const char *path, long n, int64_t t0)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *d = NULL, *c = NULL;
	char id[32], serial[32], fpr[65];

	memset(fpr, 'a', 64);
	fpr[64] = '\0';
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO devices(device_id, fingerprint,"
			       " manufactured_at, state, updated_at)"
			       " VALUES(?1, ?2, 1, ?3, 1)",
			       -1, &d, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO certs(serial, device_id, profile,"
			       " not_before, not_after, fingerprint, issued_at,"
			       " revoked) VALUES(?1, ?2, 'operational', 1, ?3,"
			       " ?4, 1, ?5)",
			       -1, &c, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_ops: fill: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	for (long i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dev-%ld", i);
		snprintf(serial, sizeof(serial), "%lx", 0x100000 + i);
		sqlite3_bind_text(d, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(d, 2, fpr, -1, SQLITE_STATIC);
		sqlite3_bind_text(d, 3, i % 4 == 0 ? "active" : "manufactured",
				  -1, SQLITE_STATIC);
		sqlite3_bind_text(c, 1, serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(c, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(c, 3, t0 + (i * 365 * DAY) / n);
		sqlite3_bind_text(c, 4, fpr, -1, SQLITE_STATIC);
		sqlite3_bind_int(c, 5, i % 10 == 0);
		if (sqlite3_step(d) != SQLITE_DONE ||
		    sqlite3_step(c) != SQLITE_DONE) {
			fprintf(stderr, "bench_ops: fill: %s\n",
				sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_reset(d);
		sqlite3_reset(c);
	}
	sqlite3_finalize(d);
	sqlite3_finalize(c);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_ops: fill: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_close(db);
}

typedef enum { OP_SCRAPE, OP_SCAN, OP_CHALLENGE } op_kind;

/* The gauges by reading every row, on connection db. */
static int scan_gauges(sqlite3 *db, int64_t now)
{
	static const char *const profiles[] = {"bootstrap", "operational"};
	static const int64_t windows[] = {7 * DAY, 30 * DAY};
	sqlite3_stmt *st = NULL;
	int rc = ZTP_OK;

	if (sqlite3_prepare_v2(db,
			       "SELECT state, count(*) FROM devices NOT INDEXED"
			       " GROUP BY state",
			       -1, &st, NULL) != SQLITE_OK)
		return ZTP_ESTORE;
	while (sqlite3_step(st) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(
		db,
		"SELECT count(*) FROM certs NOT INDEXED WHERE"
		" revoked = 0 AND profile = ?1 AND not_after >= ?2"
		" AND not_after < ?3",
		-1, &st, NULL) != SQLITE_OK)
		return ZTP_ESTORE;
	for (int p = 0; p < 2; p++)
		for (int w = 0; w < 2; w++) {
			sqlite3_bind_text(st, 1, profiles[p], -1,
					  SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now);
			sqlite3_bind_int64(st, 3, now + windows[w]);
			if (sqlite3_step(st) != SQLITE_ROW)
				rc = ZTP_ESTORE;
			sqlite3_reset(st);
		}
	sqlite3_finalize(st);
	return rc;
}

/* Seconds per call, the best of RUNS runs of n calls. */
static double time_op(op_kind k, ztp_verifier *v, sqlite3 *db, long n)
{
	static const char body[] = "{\"device_id\":\"dev-1\"}";
	double best = 0;

	for (int r = 0; r < RUNS; r++) {
		double t = bench_cpu();

		for (long i = 0; i < n; i++) {
			char *out = NULL;
			int status, rc;

			switch (k) {
			case OP_SCRAPE:
				rc = ztp_verifier_metrics(v, &out);
				break;
			case OP_SCAN:
				rc = scan_gauges(db, (int64_t)time(NULL));
				break;
			default:
				rc = ztp_verifier_handle(
				    v, &status, &out, "challenge", body,
				    sizeof(body) - 1, NULL, 0);
				break;
			}
			if (rc != ZTP_OK)
				bench_die("call", rc);
			ztp_free(out);
		}
		t = (bench_cpu() - t) / (double)n;
		if (r == 0 || t < best)
			best = t;
	}
	return best;
}

int main(void)
{
	static const long sizes[] = {1000, 10000, 100000};
	long n = bench_env_long("ZTP_BENCH_N", 200);
	char dir[] = "/tmp/bench_ops.XXXXXX", path[256], uri[300];
	int64_t t0 = (int64_t)time(NULL);
	int rc;

	if ((rc = ztp_init()) != ZTP_OK)
		bench_die("init", rc);
	if (mkdtemp(dir) == NULL) {
		perror("bench_ops: mkdtemp");
		return 1;
	}
	printf("bench_ops: one metrics scrape on a sqlite: registry of N "
	       "devices and N certificates,\n"
	       "against the same gauges read by scanning the tables and one "
	       "challenge request\n(CPU time, best of %d x %ld)\n\n",
	       RUNS, n);
	printf("%8s %12s %12s %12s %10s %10s\n", "N", "scrape us", "scan us",
	       "challenge us", "scrape/scan", "scrape/chl");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ztp_store *st = NULL;
		ztp_verifier *v = NULL;
		sqlite3 *db = NULL;
		double sc, cnt, chl;

		snprintf(path, sizeof(path), "%s/r%zu.db", dir, i);
		snprintf(uri, sizeof(uri), "sqlite:%s", path);
		if ((rc = ztp_store_open(&st, uri)) != ZTP_OK)
			bench_die("store", rc);
		ztp_store_free(st);
		fill(path, sizes[i], t0);
		if ((rc = ztp_store_open(&st, uri)) != ZTP_OK ||
		    (rc = ztp_verifier_new(&v)) != ZTP_OK ||
		    (rc = ztp_verifier_set_store(v, st)) != ZTP_OK ||
		    (rc = ztp_verifier_set_rate_limit(v, "global", 0, 0)) !=
			ZTP_OK ||
		    (rc = ztp_verifier_set_rate_limit(v, "device", 0, 0)) !=
			ZTP_OK)
			bench_die("verifier", rc);
		if (sqlite3_open(path, &db) != SQLITE_OK)
			bench_die("sqlite3_open", ZTP_ESTORE);
		sc = time_op(OP_SCRAPE, v, db, n);
		cnt = time_op(OP_SCAN, v, db, n);
		chl = time_op(OP_CHALLENGE, v, db, n);
		sqlite3_close(db);
		printf("%8ld %12.1f %12.1f %12.1f %10.2f %10.2f\n", sizes[i],
		       sc * 1e6, cnt * 1e6, chl * 1e6, sc / cnt, sc / chl);
		ztp_verifier_free(v);
		ztp_store_free(st);
		unlink(path);
		snprintf(uri, sizeof(uri), "%s-wal", path);
		unlink(uri);
		snprintf(uri, sizeof(uri), "%s-shm", path);
		unlink(uri);
	}
	{
		double mem = time_append("memory:", n * 10, false);
		double sha = time_sha256(n);
		double sq;

		snprintf(path, sizeof(path), "%s/events.db", dir);
		snprintf(uri, sizeof(uri), "sqlite:%s", path);
		sq = time_append(uri, n / 4 > 0 ? n / 4 : 1, true);
		printf("\naudit chain: one event append\n"
		       "  memory: %.2f us CPU, of which the chain's SHA-256 "
		       "%.2f us (%.0f%%)\n"
		       "  sqlite: %.0f us wall (the commit's fsync); the "
		       "chain's hash is %.3f%% of it\n",
		       mem * 1e6, sha * 1e6, 100 * sha / mem, sq * 1e6,
		       100 * sha / sq);
		unlink(path);
		snprintf(uri, sizeof(uri), "%s-wal", path);
		unlink(uri);
		snprintf(uri, sizeof(uri), "%s-shm", path);
		unlink(uri);
	}
	snprintf(path, sizeof(path), "%s", dir);
	rmdir(path);
	return 0;
}
