/*
 * bench_fleet — manufacturing at factory scale, next to baselines
 * measured in the same run. Prints figures and ratios; asserts nothing.
 * Public API plus OpenSSL and SQLite (to seed certificates fast) only.
 *
 * 1. Factory certificates from pre-made CSRs (P-256): ztp_ca_issue_ex()
 *    one by one and ztp_ca_issue_bulk() over a JSON lines file, on a
 *    memory: store, against the bound of the public-key work each
 *    issuance cannot avoid (verify the CSR's self-signature, sign the
 *    certificate) done with OpenSSL on pre-parsed keys.
 * 2. ztp_verifier_import() of those certificates (chain checked, key
 *    recorded) into a fresh SQLite registry.
 * 3. ztp_verifier_import() of ZTP_BENCH_DEVICES (default 1,000,000)
 *    fingerprint lines — a manufacturer's database export — into one
 *    fresh SQLite registry, in one run; against SQLite inserting the
 *    same rows (device, claim) with prepared statements in transactions
 *    of the same size into a table without libztp's checks.
 * 4. The inventory on that registry (one certificate per device seeded
 *    with SQLite): a page of 1000 devices first, deep, by batch, by
 *    state, and a page of expiring certificates, each against counting
 *    every row of its table (what a query without the index costs).
 *
 * ZTP_BENCH_DEVICES, ZTP_BENCH_CSRS (default 2000) and ZTP_BENCH_DIR
 * (default $TMPDIR or /tmp; needs ~1 GB for a million) change the sizes.
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
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include <ztp/ztp.h>

#include "bench.h"

const char bench_name[] = "bench_fleet";

static char dir[4096];

static char *path_of(const char *name)
{
	static char p[8][4200];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* ------------------------------------------------------------ CSRs */

/* The bound: verify a CSR's self-signature and sign a TBS of the size of
 * a certificate, per issuance, with pre-parsed P-256 keys. */
static double bound_per_s(EVP_PKEY *ca_key, EVP_PKEY *dev_key, int n)
{
	unsigned char tbs[400], sig[80], csr_tbs[200], csr_sig[80];
	size_t siglen, csr_siglen = sizeof(csr_sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	double t0;
	int i;

	memset(tbs, 7, sizeof(tbs));
	memset(csr_tbs, 9, sizeof(csr_tbs));
	EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, dev_key);
	EVP_DigestSign(m, csr_sig, &csr_siglen, csr_tbs, sizeof(csr_tbs));
	t0 = bench_wall();
	for (i = 0; i < n; i++) {
		EVP_MD_CTX_reset(m);
		EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, dev_key);
		if (EVP_DigestVerify(m, csr_sig, csr_siglen, csr_tbs,
				     sizeof(csr_tbs)) != 1)
			bench_fail("verify");
		EVP_MD_CTX_reset(m);
		siglen = sizeof(sig);
		EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, ca_key);
		if (EVP_DigestSign(m, sig, &siglen, tbs, sizeof(tbs)) != 1)
			bench_fail("sign");
	}
	EVP_MD_CTX_free(m);
	return n / (bench_wall() - t0);
}

static ztp_ca *new_ca(char **cert, char **key, ztp_store **store)
{
	ztp_ca *ca = NULL;

	if (ztp_store_open(store, "memory:") < 0 || ztp_ca_new(&ca) < 0 ||
	    ztp_ca_load(ca, *cert, *key, NULL, NULL) < 0 ||
	    ztp_ca_set_store(ca, *store) < 0)
		bench_fail("factory CA");
	return ca;
}

/* ------------------------------------------------------------ SQLite */

static void sq(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench_fleet: sqlite: %s\n", err);
		exit(1);
	}
}

/* The same rows without libztp, as fast as SQLite takes them. */
static double raw_sqlite_rate(long n, long chunk)
{
	sqlite3 *db;
	sqlite3_stmt *dev, *claim;
	char id[32];
	unsigned char hash[32] = {1};
	double t0;
	long i;

	unlink(path_of("raw.db"));
	if (sqlite3_open(path_of("raw.db"), &db) != SQLITE_OK)
		bench_fail("raw db");
	sq(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	       "CREATE TABLE devices (device_id TEXT PRIMARY KEY, fingerprint"
	       " TEXT, model TEXT, batch TEXT, manufactured_at INTEGER, state"
	       " TEXT, updated_at INTEGER);"
	       "CREATE TABLE claims (device_id TEXT PRIMARY KEY, hash BLOB)"
	       " WITHOUT ROWID;");
	sqlite3_prepare_v2(db,
			   "INSERT INTO devices VALUES(?1, ?2, 'm', ?3, 1,"
			   " 'manufactured', 1)",
			   -1, &dev, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO claims VALUES(?1, ?2)", -1, &claim,
			   NULL);
	t0 = bench_wall();
	for (i = 0; i < n; i++) {
		if (i % chunk == 0)
			sq(db, "BEGIN IMMEDIATE");
		snprintf(id, sizeof(id), "dev-%07ld", i);
		sqlite3_bind_text(dev, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(dev, 2,
				  "0123456789abcdef0123456789abcdef"
				  "0123456789abcdef0123456789abcdef",
				  -1, SQLITE_STATIC);
		sqlite3_bind_text(dev, 3, i % 2 ? "b-odd" : "b-even", -1,
				  SQLITE_STATIC);
		sqlite3_step(dev);
		sqlite3_reset(dev);
		sqlite3_bind_text(claim, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(claim, 2, hash, 32, SQLITE_STATIC);
		sqlite3_step(claim);
		sqlite3_reset(claim);
		if (i % chunk == chunk - 1 || i == n - 1)
			sq(db, "COMMIT");
	}
	t0 = n / (bench_wall() - t0);
	sqlite3_finalize(dev);
	sqlite3_finalize(claim);
	sqlite3_close(db);
	unlink(path_of("raw.db"));
	unlink(path_of("raw.db-wal"));
	unlink(path_of("raw.db-shm"));
	return t0;
}

/* One certificate per device, expiring over the next 1000 days. */
static void seed_certs(const char *db_path, long n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char id[32], serial[32];
	int64_t now = (int64_t)time(NULL);
	long i;

	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		bench_fail("registry");
	sq(db, "BEGIN");
	sqlite3_prepare_v2(db,
			   "INSERT INTO certs(serial, device_id, profile,"
			   " not_before, not_after, fingerprint, issued_at)"
			   " VALUES(?1, ?2, 'operational', ?3, ?4, '0123456789"
			   "abcdef0123456789abcdef0123456789abcdef0123456789"
			   "abcdef', ?3)",
			   -1, &st, NULL);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dev-%07ld", i);
		snprintf(serial, sizeof(serial), "%lx", 0x100000 + i);
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, now + 60 + (i * 7919 % 1000) * 86400);
		if (sqlite3_step(st) != SQLITE_DONE)
			bench_fail("seeding certificates");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sq(db, "COMMIT");
	sqlite3_close(db);
}

static double count_rows(const char *db_path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0, t;

	sqlite3_open(db_path, &db);
	sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	t0 = bench_wall();
	sqlite3_step(st);
	t = bench_wall() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t;
}

/* Best of three of an inventory call, in ms: a page of devices with
 * filter and after, or (expiring) of certificates expiring within 30
 * days. *got: the records on the page. */
static double page_ms(ztp_verifier *v, bool expiring, const char *filter,
		      const char *after, size_t *got)
{
	double best = 1e9, t0;
	char *json = NULL;
	json_object *a;
	int i, rc;

	for (i = 0; i < 3; i++) {
		t0 = bench_wall();
		rc = expiring ? ztp_verifier_cert_expiring(
				    v, &json, (int64_t)time(NULL) + 30 * 86400,
				    0, NULL, 1000)
			      : ztp_verifier_device_list(v, &json, filter,
							 after, 1000);
		if (rc < 0)
			bench_fail("inventory");
		if (bench_wall() - t0 < best)
			best = bench_wall() - t0;
		a = json_tokener_parse(json);
		*got = json_object_array_length(a);
		json_object_put(a);
		ztp_free(json);
	}
	return best * 1e3;
}

static void rm_registry(const char *name)
{
	char p[4300];

	unlink(path_of(name));
	snprintf(p, sizeof(p), "%s-wal", path_of(name));
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path_of(name));
	unlink(p);
}

static ztp_verifier *verifier_uri(const char *uri, const char *anchors,
				  const char *issuers)
{
	ztp_verifier *v = NULL;
	ztp_store *s = NULL;

	if (ztp_verifier_new(&v) < 0 || ztp_store_open(&s, uri) < 0 ||
	    ztp_verifier_set_store(v, s) < 0)
		bench_fail("verifier");
	if (anchors != NULL &&
	    (ztp_verifier_set_trust_anchors(v, anchors, strlen(anchors)) < 0 ||
	     ztp_verifier_set_issuers(v, issuers, strlen(issuers)) < 0))
		bench_fail("anchors");
	return v;
}

static ztp_verifier *verifier_on(const char *db, const char *anchors,
				 const char *issuers)
{
	char uri[4400];

	snprintf(uri, sizeof(uri), "sqlite:%s", path_of(db));
	return verifier_uri(uri, anchors, issuers);
}

static long summary_count(const char *summary, const char *key)
{
	json_object *o = json_tokener_parse(summary), *m = NULL;
	long n = -1;

	if (o != NULL && json_object_object_get_ex(o, key, &m))
		n = (long)json_object_get_int64(m);
	json_object_put(o);
	return n;
}

int main(void)
{
	long n_dev = bench_env_long("ZTP_BENCH_DEVICES", 1000000);
	long n_csr = bench_env_long("ZTP_BENCH_CSRS", 2000);
	const char *base = getenv("ZTP_BENCH_DIR");
	const char *pg_uri = getenv("ZTP_BENCH_PG_URI");
	char *root_pem = NULL, *root_key = NULL, *ca_pem = NULL, *ca_key = NULL,
	     *summary = NULL, *pem = NULL, **csrs;
	EVP_PKEY *dev_key, *ca_pkey;
	ztp_store *store = NULL;
	ztp_ca *root = NULL, *ca;
	ztp_verifier *v;
	FILE *f;
	double t0, t, bound, one, bulk, imp_cert, imp, raw, scan;
	size_t got;
	char id[32], after[32];
	long i;
	BIO *b;

	if (base == NULL)
		base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof(dir), "%s/ztp-bench-fleet.XXXXXX", base);
	if (mkdtemp(dir) == NULL || ztp_init() < 0)
		bench_fail("setup");

	/* ---- 1. factory certificates */
	if (ztp_ca_create_root(&root_pem, &root_key, "/CN=Bench Root", NULL,
			       3650) < 0 ||
	    ztp_store_open(&store, "memory:") < 0 || ztp_ca_new(&root) < 0 ||
	    ztp_ca_load(root, root_pem, root_key, NULL, NULL) < 0 ||
	    ztp_ca_set_store(root, store) < 0 ||
	    ztp_ca_create_sub(root, &ca_pem, &ca_key, "/CN=Bench Factory CA",
			      "ec-p256", 3650, 0) < 0)
		bench_fail("CAs");
	ztp_ca_free(root);
	ztp_store_free(store);
	b = BIO_new_mem_buf(ca_key, -1);
	ca_pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	dev_key = EVP_EC_gen("P-256");
	csrs = calloc((size_t)n_csr, sizeof(*csrs));
	f = fopen(path_of("csrs.jsonl"), "w");
	for (i = 0; i < n_csr; i++) {
		json_object *o = json_object_new_object();

		snprintf(id, sizeof(id), "fac-%06ld", i);
		csrs[i] = bench_csr(dev_key, id);
		json_object_object_add(o, "device_id",
				       json_object_new_string(id));
		json_object_object_add(o, "csr",
				       json_object_new_string(csrs[i]));
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(
			    o, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	fclose(f);
	bound = bound_per_s(ca_pkey, dev_key, (int)n_csr);
	ca = new_ca(&ca_pem, &ca_key, &store);
	t0 = bench_wall();
	for (i = 0; i < n_csr; i++) {
		snprintf(id, sizeof(id), "fac-%06ld", i);
		if (ztp_ca_issue_ex(ca, &pem, NULL, NULL, csrs[i],
				    strlen(csrs[i]), id, NULL, "factory",
				    0) < 0)
			bench_fail("issue");
		ztp_free(pem);
	}
	one = n_csr / (bench_wall() - t0);
	ztp_ca_free(ca);
	ztp_store_free(store);
	ca = new_ca(&ca_pem, &ca_key, &store);
	t0 = bench_wall();
	if (ztp_ca_issue_bulk(ca, &summary, path_of("csrs.jsonl"),
			      path_of("certs.jsonl"), 0, NULL, NULL) < 0)
		bench_fail("issue_bulk");
	bulk = n_csr / (bench_wall() - t0);
	ztp_free(summary);
	ztp_ca_free(ca);
	ztp_store_free(store);
	printf("factory certificates from %ld pre-made P-256 CSRs:\n", n_csr);
	printf("  bound (CSR verify + certificate sign, OpenSSL): %8.0f/s\n",
	       bound);
	printf("  ztp_ca_issue_ex, one by one:                    %8.0f/s "
	       "(%.2f of the bound)\n",
	       one, one / bound);
	printf("  ztp_ca_issue_bulk, JSON lines file to file:     %8.0f/s "
	       "(%.2f of the bound)\n",
	       bulk, bulk / bound);

	/* ---- 2. import of the certificates */
	v = verifier_on("certs.db", root_pem, ca_pem);
	t0 = bench_wall();
	if (ztp_verifier_import(v, &summary, path_of("certs.jsonl"),
				path_of("certs.claims"), 0, NULL, NULL) < 0 ||
	    summary_count(summary, "enrolled") != n_csr)
		bench_fail("import of certificates");
	imp_cert = n_csr / (bench_wall() - t0);
	ztp_free(summary);
	ztp_verifier_free(v);
	printf("ztp_verifier_import of those certificates (chain checked) "
	       "into SQLite: %.0f/s\n",
	       imp_cert);

	/* ---- 3. a million fingerprints */
	f = fopen(path_of("fleet.jsonl"), "w");
	for (i = 0; i < n_dev; i++)
		fprintf(
		    f,
		    "{\"device_id\":\"dev-%07ld\",\"fingerprint\":\"%064lx\","
		    "\"model\":\"sensor-2\",\"batch\":\"%s\"}\n",
		    i, i, i % 2 ? "b-odd" : "b-even");
	fclose(f);
	raw = raw_sqlite_rate(n_dev, 1000);
	rm_registry("fleet.db");
	v = verifier_on("fleet.db", NULL, NULL);
	t0 = bench_wall();
	if (ztp_verifier_import(v, &summary, path_of("fleet.jsonl"),
				path_of("fleet.claims"), 0, NULL, NULL) < 0 ||
	    summary_count(summary, "enrolled") != n_dev)
		bench_fail("import");
	t = bench_wall() - t0;
	imp = n_dev / t;
	ztp_free(summary);
	printf("ztp_verifier_import of %ld fingerprint lines into one SQLite "
	       "registry: %.1f s, %.0f/s\n",
	       n_dev, t, imp);
	printf("  SQLite alone, the same rows in transactions of 1000: "
	       "%.0f/s (import at %.2f of it)\n",
	       raw, imp / raw);

	/* ---- 4. the inventory */
	ztp_verifier_free(v);
	seed_certs(path_of("fleet.db"), n_dev);
	v = verifier_on("fleet.db", NULL, NULL);
	scan = count_rows(path_of("fleet.db"),
			  "SELECT count(*) FROM devices WHERE batch = 'b-odd'"
			  " AND +state = 'manufactured'") *
	       1e3;
	printf("inventory of %ld devices (pages of 1000, best of 3):\n", n_dev);
	printf("  full scan of devices (SQLite count, no index):  %8.1f ms\n",
	       scan);
	t = page_ms(v, false, NULL, NULL, &got);
	printf("  first page:                                     %8.2f ms "
	       "(%zu)\n",
	       t, got);
	snprintf(after, sizeof(after), "dev-%07ld", n_dev / 2);
	t = page_ms(v, false, NULL, after, &got);
	printf("  a page in the middle (--after):                 %8.2f ms "
	       "(%zu)\n",
	       t, got);
	t = page_ms(v, false, "{\"batch\":\"b-odd\"}", after, &got);
	printf("  by batch, in the middle:                        %8.2f ms "
	       "(%zu)\n",
	       t, got);
	t = page_ms(v, false,
		    "{\"state\":\"manufactured\",\"model\":\"sensor-2\"}", NULL,
		    &got);
	printf("  by state and model:                             %8.2f ms "
	       "(%zu)\n",
	       t, got);
	scan = count_rows(path_of("fleet.db"),
			  "SELECT count(*) FROM certs WHERE +not_after > 0") *
	       1e3;
	printf("  full scan of certificates (SQLite count):       %8.1f ms\n",
	       scan);
	t = page_ms(v, true, NULL, NULL, &got);
	printf("  expiring within 30 days, first page:            %8.2f ms "
	       "(%zu)\n",
	       t, got);
	ztp_verifier_free(v);

	/* ---- 5. the same import and pages on postgresql:// (bench/fleet_pg.sh
	 * starts a server and sets ZTP_BENCH_PG_URI) */
	if (pg_uri != NULL) {
		unlink(path_of("fleet.claims"));
		v = verifier_uri(pg_uri, NULL, NULL);
		t0 = bench_wall();
		if (ztp_verifier_import(v, &summary, path_of("fleet.jsonl"),
					path_of("fleet.claims"), 0, NULL,
					NULL) < 0 ||
		    summary_count(summary, "enrolled") != n_dev)
			bench_fail("import into postgresql");
		t = bench_wall() - t0;
		ztp_free(summary);
		printf(
		    "ztp_verifier_import of %ld fingerprint lines into one "
		    "PostgreSQL registry: %.1f s, %.0f/s (%.2f of SQLite's)\n",
		    n_dev, t, n_dev / t, n_dev / t / imp);
		t = page_ms(v, false, NULL, NULL, &got);
		printf("  first page:                                     "
		       "%8.2f ms "
		       "(%zu)\n",
		       t, got);
		t = page_ms(v, false, NULL, after, &got);
		printf("  a page in the middle (--after):                 "
		       "%8.2f ms "
		       "(%zu)\n",
		       t, got);
		t = page_ms(v, false, "{\"batch\":\"b-odd\"}", after, &got);
		printf("  by batch, in the middle:                        "
		       "%8.2f ms "
		       "(%zu)\n",
		       t, got);
		t = page_ms(v, false,
			    "{\"state\":\"manufactured\",\"model\":"
			    "\"sensor-2\"}",
			    NULL, &got);
		printf("  by state and model:                             "
		       "%8.2f ms "
		       "(%zu)\n",
		       t, got);
		ztp_verifier_free(v);
	}

	for (i = 0; i < n_csr; i++)
		free(csrs[i]);
	free(csrs);
	EVP_PKEY_free(dev_key);
	EVP_PKEY_free(ca_pkey);
	ztp_free(root_pem);
	ztp_free(root_key);
	ztp_free(ca_pem);
	ztp_free(ca_key);
	unlink(path_of("csrs.jsonl"));
	unlink(path_of("certs.jsonl"));
	unlink(path_of("certs.claims"));
	unlink(path_of("fleet.jsonl"));
	unlink(path_of("fleet.claims"));
	rm_registry("certs.db");
	rm_registry("fleet.db");
	rmdir(dir);
	return 0;
}
