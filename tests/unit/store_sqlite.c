/*
 * Store: the SQLite backend: persistence, several handles, limits,
 * migration, read-only, corrupt, foreign and tampered databases, locks.
 */
#include "test_store.h"

#include "store/records.h"

#include <sys/wait.h>

/* ------------------------------------------------------------ sqlite */

/* The schema version this library writes. */
#define SCHEMA_LATEST 7

/* Drop what versions 6 and 7 created (the inventory indexes, the groups),
 * before a test takes a new registry back to an older version. */
#define DROP_V6_V7                                                             \
	"DROP INDEX devices_by_group;"                                         \
	"ALTER TABLE devices DROP COLUMN enroll_group;"                        \
	"DROP TABLE groups;"                                                   \
	"DROP INDEX devices_by_state;"                                         \
	"DROP INDEX devices_by_tenant;"                                        \
	"DROP INDEX devices_by_model;"                                         \
	"DROP INDEX devices_by_batch;"                                         \
	"DROP INDEX certs_by_expiry;"

static void raw_exec(const char *path, const char *sql, int want)
{
	sqlite3 *db = NULL;
	int r;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	r = sqlite3_exec(db, sql, NULL, NULL, NULL);
	ck_assert_msg(r == want, "%s: %d (%s)", sql, r, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static char *get_json(int (*fn)(ztp_store *, const char *, char **),
		      ztp_store *s, const char *key)
{
	char *json = NULL;

	ck_assert_rc(fn(s, key, &json), ZTP_OK);
	return json;
}

START_TEST(test_sqlite_persistence)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	const uint8_t h[] = "hash", chal[] = "nonce";
	char *dev, *certs, *revoked, *events, *json;
	uint64_t v;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_device_set_info(s, "d1", "{\"fw\":\"1.2\"}"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "1", "d1", "bootstrap", T0, T0 + 1, FPR_A),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_cert_add(s, "2", "d1", "operational", T0, T0 + 2, FPR_B),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "1", 4, T0 + 1), ZTP_OK);
	ck_assert_rc(
	    ztp_store_challenge_use(s, chal, sizeof(chal), T0 + 60, T0),
	    ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"b\":2}"), ZTP_OK);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	dev = get_json(ztp_store_device_get, s, "d1");
	certs = get_json(ztp_store_device_certs, s, "d1");
	ck_assert_rc(ztp_store_revoked_list(s, &revoked), ZTP_OK);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &events), ZTP_OK);
	ztp_store_free(s);

	s = open_kind(B_SQLITE, NULL);
	json = get_json(ztp_store_device_get, s, "d1");
	ck_assert_str_eq(json, dev);
	ztp_free(json);
	json = get_json(ztp_store_device_certs, s, "d1");
	ck_assert_str_eq(json, certs);
	ztp_free(json);
	ck_assert_rc(ztp_store_revoked_list(s, &json), ZTP_OK);
	ck_assert_str_eq(json, revoked);
	ztp_free(json);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_str_eq(json, events);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_count(s, &v), ZTP_OK);
	ck_assert_uint_eq(v, 2);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_uint_eq(v, 3);
	ck_assert_rc(
	    ztp_store_challenge_use(s, chal, sizeof(chal), T0 + 60, T0 + 1),
	    ZTP_EREPLAY);
	ck_assert_rc(ztp_store_cert_add(s, "2", NULL, "ca", T0, T0, FPR_A),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_OK);
	/* sequence numbers continue after a reopen */
	ck_assert_rc(ztp_store_event_append(s, "{\"c\":3}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_list(s, 2, 10, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"seq\":3,"));
	ztp_free(json);
	ztp_store_free(s);
	ztp_free(dev);
	ztp_free(certs);
	ztp_free(revoked);
	ztp_free(events);
}
END_TEST

START_TEST(test_sqlite_two_handles)
{
	ztp_store *a = open_kind(B_SQLITE, NULL),
		  *b = open_kind(B_SQLITE, NULL);
	const uint8_t chal[] = "n1";
	uint64_t v;

	/* Two handles on one file behave like two verifier processes. */
	add_dev(a, "d1");
	ck_assert_rc(ztp_store_device_add(b, "d1", FPR_A, NULL, NULL, T0),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_store_challenge_use(a, chal, 2, T0 + 9, T0), ZTP_OK);
	ck_assert_rc(ztp_store_challenge_use(b, chal, 2, T0 + 9, T0),
		     ZTP_EREPLAY);
	ck_assert_rc(ztp_store_counter_next(a, "c", &v), ZTP_OK);
	ck_assert_rc(ztp_store_counter_next(b, "c", &v), ZTP_OK);
	ck_assert_uint_eq(v, 2);
	ztp_store_free(a);
	ztp_store_free(b);
}
END_TEST

START_TEST(test_sqlite_readonly)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);

	add_dev(s, "d1");
	ztp_store_free(s);
	ck_assert_int_eq(chmod(db_path, 0400), 0);
	s = (ztp_store *)&s;
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "read-only"));
	ck_assert_int_eq(chmod(db_path, 0600), 0);
	s = open_kind(B_SQLITE, NULL);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	ztp_store_free(s);
}
END_TEST

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_sqlite_corrupt)
{
	ztp_store *s = (ztp_store *)&s;
	unsigned char junk[8192];
	struct stat st;
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	write_file(db_path, junk, sizeof(junk));
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "not an SQLite database"));
	/* the file is left as it was */
	ck_assert_int_eq(stat(db_path, &st), 0);
	ck_assert_int_eq(st.st_size, sizeof(junk));

	/* a real registry whose header was damaged */
	ck_assert_int_eq(unlink(db_path), 0);
	s = open_kind(B_SQLITE, NULL);
	add_dev(s, "d1");
	ztp_store_free(s);
	f = fopen(db_path, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(junk, 1, 100, f), 100);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
}
END_TEST

/* Rows of a table, read through a connection of its own. */
static int64_t raw_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Buckets held in the file: two handles (two processes, two instances)
 * draw on one bucket; a refused take writes nothing; buckets full again
 * are purged. */
START_TEST(test_sqlite_limits)
{
	ztp_store *a = open_kind(B_SQLITE, NULL),
		  *b = open_kind(B_SQLITE, NULL);
	int64_t retry;
	uint8_t h[32];

	for (int i = 0; i < 10; i++)
		ck_assert_rc(ztp_store_limit_take(i % 2 ? a : b, "device", "d1",
						  0.2, 10, T0, &retry),
			     ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(a, "device", "d1", 0.2, 10, T0, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_rc(
	    ztp_store_limit_take(b, "device", "d1", 0.2, 10, T0, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 5);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"), 1);
	/* the claim bucket spans handles too */
	add_dev(a, "c1");
	memset(h, 1, sizeof(h));
	ck_assert_rc(ztp_store_claim_set(a, "c1", h, sizeof(h)), ZTP_OK);
	h[0] = 2;
	ck_assert_rc(ztp_store_claim_attempt(a, "c1", h, sizeof(h), "t", 0.01,
					     2, T0, &retry),
		     ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_attempt(b, "c1", h, sizeof(h), "t", 0.01,
					     2, T0, &retry),
		     ZTP_EMISMATCH);
	h[0] = 1;
	ck_assert_rc(ztp_store_claim_attempt(a, "c1", h, sizeof(h), "t", 0.01,
					     2, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"), 2);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM claims"), 1);
	/* 50 s later d1 is full again; the next take purges it (and takes
	 * from a fresh one) */
	ck_assert_rc(
	    ztp_store_limit_take(b, "device", "e1", 0.2, 10, T0 + 50, &retry),
	    ZTP_OK);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"
					    " WHERE key = 'd1'"),
			 0);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM limits"), 2);
	/* rows changed behind the library's back, at the extremes: no
	 * overflow, and a bucket that cannot refill stays shut */
	raw_exec(db_path,
		 "INSERT INTO limits VALUES('device', 'x1', -1e308,"
		 " -9223372036854775808, 9223372036854775807);"
		 "INSERT INTO limits VALUES('device', 'x2', 1e308,"
		 " 9223372036854775807, 9223372036854775807)",
		 SQLITE_OK);
	ck_assert_rc(
	    ztp_store_limit_take(a, "device", "x1", 0.2, 10, T0 + 50, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 86400);
	ck_assert_rc(
	    ztp_store_limit_take(a, "device", "x2", 0.2, 10, T0 + 50, &retry),
	    ZTP_OK);
	ztp_store_free(a);
	ztp_store_free(b);
}
END_TEST

/* The schema of version 1, as the first release created it (frozen: a
 * registry made by that release must open and migrate). */
static const char v1_schema[] =
    "PRAGMA application_id = 1515474993;"
    "CREATE TABLE devices ("
    " device_id TEXT PRIMARY KEY NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " model TEXT,"
    " batch TEXT,"
    " manufactured_at INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('manufactured', 'bootstrapped',"
    "  'registered', 'active', 'reset', 'revoked')),"
    " tenant TEXT,"
    " info TEXT,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE claims ("
    " device_id TEXT PRIMARY KEY NOT NULL"
    "  REFERENCES devices(device_id) ON DELETE CASCADE,"
    " hash BLOB NOT NULL CHECK (length(hash) BETWEEN 1 AND 64))"
    " WITHOUT ROWID;"
    "CREATE TABLE certs ("
    " serial TEXT PRIMARY KEY NOT NULL,"
    " device_id TEXT REFERENCES devices(device_id),"
    " profile TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
    " revoked_at INTEGER,"
    " reason INTEGER);"
    "CREATE INDEX certs_by_device ON certs(device_id);"
    "CREATE INDEX certs_revoked ON certs(serial) WHERE revoked = 1;"
    "CREATE TABLE challenges ("
    " id BLOB PRIMARY KEY NOT NULL,"
    " expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX challenges_by_expiry ON challenges(expires_at);"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value INTEGER NOT NULL CHECK (value >= 1)) WITHOUT ROWID;"
    "PRAGMA user_version = 1;"
    /* what a version-1 registry in use holds */
    "INSERT INTO devices VALUES('old-1', '" FPR_A "', 'm', NULL, 5,"
    " 'active', 'acme', '{\"device_type\":\"s\"}', 7);"
    "INSERT INTO claims VALUES('old-1', x'0102');"
    "INSERT INTO certs(serial, device_id, profile, not_before, not_after,"
    " fingerprint, issued_at) VALUES('1f', 'old-1', 'operational', 1, 9,"
    " '" FPR_B "', 3);"
    "INSERT INTO events(at, json) VALUES(4, '{\"type\":\"old\"}');"
    "INSERT INTO counters VALUES('crl', 4);";

START_TEST(test_sqlite_migrate_v1)
{
	ztp_store *s = NULL;
	const uint8_t h[] = {1, 2};
	char *json = NULL;
	json_object *o;
	int64_t retry;
	uint64_t v;

	raw_exec(db_path, v1_schema, SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_int_eq(raw_count(db_path, "PRAGMA user_version"),
			 SCHEMA_LATEST);
	/* the records survive, the new member is null */
	ck_assert_rc(ztp_store_device_get(s, "old-1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_str_eq(str_field(o, "state"), ZTP_STATE_ACTIVE);
	ck_assert_str_eq(str_field(o, "tenant"), "acme");
	ck_assert_int_eq(int_field(o, "updated_at"), 7);
	ck_assert(null_field(o, "factory_key"));
	json_object_put(o);
	ck_assert_rc(ztp_store_cert_get(s, "1f", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_uint_eq(v, 5);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"type\":\"old\""));
	ztp_free(json);
	/* and what version 2 adds works on them */
	ck_assert_rc(ztp_store_device_set_factory_key(s, "old-1", h, 2),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "old-1", 1, 1, T0, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_claim_attempt(s, "old-1", h, 2, "t", 1, 1, T0, &retry),
	    ZTP_ERATELIMIT);
	ztp_store_free(s);
	/* opened again: nothing left to migrate */
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_device_get(s, "old-1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"factory_key\":\"AQI=\""));
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_foreign_and_newer)
{
	ztp_store *s = NULL;

	/* another application's database */
	raw_exec(db_path, "CREATE TABLE notes(x TEXT)", SQLITE_OK);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "not a libztp registry"));
	raw_exec(db_path, "DROP TABLE notes", SQLITE_OK);
	raw_exec(db_path, "PRAGMA application_id = 7", SQLITE_OK);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(unlink(db_path), 0);

	/* a registry written by a newer library */
	s = open_kind(B_SQLITE, NULL);
	ztp_store_free(s);
	raw_exec(db_path, "PRAGMA user_version = 99", SQLITE_OK);
	ck_assert_rc(ztp_store_open(&s, db_uri), ZTP_ESTORE);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "newer"));
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_sqlite_append_only)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	char *json = NULL;

	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ztp_store_free(s);
	/* Even with direct SQL access the log refuses rewrites. */
	raw_exec(db_path, "DELETE FROM events", SQLITE_CONSTRAINT);
	raw_exec(db_path, "UPDATE events SET json = '{}'", SQLITE_CONSTRAINT);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_OK);
	ck_assert_str_eq(json,
			 "[{\"seq\":1,\"at\":1700000000,\"event\":{\"a\":1}}]");
	ztp_free(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_tampered_rows)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	char *json = NULL;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ztp_store_free(s);
	/* Stored JSON is checked on the way out as well. */
	raw_exec(db_path, "UPDATE devices SET info = '{oops'", SQLITE_OK);
	raw_exec(db_path,
		 "DROP TRIGGER events_no_update;"
		 "UPDATE events SET json = '[1]'",
		 SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_ESTORE);
	ck_assert_ptr_null(json);
	ck_assert_rc(ztp_store_event_list(s, 0, 10, &json), ZTP_ESTORE);
	ck_assert_ptr_null(json);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_counter_exhausted)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	uint64_t v = 0;

	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ztp_store_free(s);
	raw_exec(db_path,
		 "UPDATE counters SET value = 9223372036854775806"
		 " WHERE name = 'crl'",
		 SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_OK);
	ck_assert_uint_eq(v, (uint64_t)INT64_MAX);
	/* never wraps, never repeats */
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_ETOOBIG);
	ck_assert_uint_eq(v, 0);
	ck_assert_rc(ztp_store_counter_next(s, "crl", &v), ZTP_ETOOBIG);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_sqlite_locked)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	sqlite3 *db = NULL;
	char *json = NULL;

	add_dev(s, "d1");
	/* Another process holds the write lock past the busy timeout. */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_rc(ztp_store_device_add(s, "d2", FPR_A, NULL, NULL, T0),
		     ZTP_ESTORE);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "locked"));
	/* readers are not blocked (WAL) */
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	ztp_free(json);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* the failed call left nothing behind and the handle works on */
	ck_assert_rc(ztp_store_device_get(s, "d2", &json), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_add(s, "d2", FPR_A, NULL, NULL, T0),
		     ZTP_OK);
	ztp_store_free(s);
}
END_TEST

/* memory: keeps the newest 65,536 events: older ones are dropped, sequence
 * numbers go on, and a listing starts at the oldest one kept. */

static const char v2_schema[] =
    "ALTER TABLE devices ADD COLUMN factory_key BLOB"
    " CHECK (factory_key IS NULL OR length(factory_key) BETWEEN 1 AND 4096);"
    "CREATE TABLE limits ("
    " scope TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " tokens REAL NOT NULL,"
    " last INTEGER NOT NULL,"
    " full_at INTEGER NOT NULL,"
    " PRIMARY KEY (scope, key)) WITHOUT ROWID;"
    "CREATE INDEX limits_by_full ON limits(full_at);"
    "PRAGMA user_version = 2;"
    /* what a version-2 registry in use holds */
    "UPDATE devices SET factory_key = x'0102' WHERE device_id = 'old-1';"
    "INSERT INTO limits VALUES('claim', 'old-1', 0.5, 10, 12);"
    "INSERT INTO certs(serial, device_id, profile, not_before, not_after,"
    " fingerprint, issued_at, revoked, revoked_at, reason)"
    " VALUES('2e', 'old-1', 'operational', 1, 9, '" FPR_B "', 3, 1, 5, 1);";

START_TEST(test_sqlite_migrate_v2)
{
	ztp_store *s = NULL;
	char *json = NULL, got[256];
	json_object *o;

	raw_exec(db_path, v1_schema, SQLITE_OK);
	raw_exec(db_path, v2_schema, SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_int_eq(raw_count(db_path, "PRAGMA user_version"),
			 SCHEMA_LATEST);
	ck_assert_int_eq(raw_count(db_path,
				   "SELECT count(*) FROM sqlite_master WHERE"
				   " name = 'certs_revoked_by_issuer'"),
			 1);
	/* v4: the inventory's indexes */
	ck_assert_int_eq(raw_count(db_path,
				   "SELECT count(*) FROM sqlite_master WHERE"
				   " name IN ('devices_by_state',"
				   " 'devices_by_tenant', 'devices_by_model',"
				   " 'devices_by_batch', 'certs_by_expiry')"),
			 5);
	/* v5: groups; the devices from before were enrolled one by one */
	ck_assert_int_eq(raw_count(db_path,
				   "SELECT count(*) FROM sqlite_master WHERE"
				   " name IN ('groups', 'devices_by_group')"),
			 2);
	ck_assert_int_eq(raw_count(db_path, "SELECT count(*) FROM devices"
					    " WHERE enroll_group IS NOT NULL"),
			 0);
	/* the records survive, of unknown issuer */
	ck_assert_rc(ztp_store_cert_get(s, "2e", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert(json_object_get_boolean(field(o, "revoked")));
	ck_assert_int_eq(int_field(o, "reason"), 1);
	ck_assert(null_field(o, "issuer"));
	json_object_put(o);
	ck_assert_rc(ztp_store_device_get(s, "old-1", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"factory_key\":\"AQI=\""));
	ztp_free(json);
	/* new records keep their issuer; every issuer's CRL keeps listing
	 * what was revoked before the migration */
	ck_assert_rc(ztp_store_cert_add_issued(s, "3a", "old-1", "operational",
					       T0, T0 + 9, FPR_B, KID_A),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add_issued(s, "3b", "old-1", "operational",
					       T0, T0 + 9, FPR_B, KID_B),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "3a", 4, T0), ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(s, "3b", 4, T0), ZTP_OK);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "2e,3a");
	revoked_serials(s, KID_B, got, sizeof(got));
	ck_assert_str_eq(got, "2e,3b");
	ztp_store_free(s);
	/* opened again: nothing left to migrate, the issuers kept */
	s = open_kind(B_SQLITE, NULL);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "2e,3a");
	ztp_store_free(s);
	/* the column refuses what no key identifier is */
	raw_exec(db_path, "UPDATE certs SET issuer = '' WHERE serial = '3a'",
		 SQLITE_CONSTRAINT);
}
END_TEST

/* A registry of version 3 (the v4 to v7 objects dropped from a new one,
 * as before those versions created them) holding devices: the migration counts
 * them, and the triggers keep the counts from then on. */
START_TEST(test_sqlite_migrate_v3)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);
	uint64_t n = 0;

	add_dev(s, "d1");
	add_dev(s, "d2");
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_ACTIVE, "t1"),
	    ZTP_OK);
	ztp_store_free(s);
	raw_exec(db_path,
		 DROP_V6_V7
		 "DROP TRIGGER device_states_insert;"
		 "DROP TRIGGER device_states_update;"
		 "DROP TRIGGER device_states_delete;"
		 "DROP TABLE device_states;"
		 "DROP INDEX certs_live_by_expiry;"
		 "DROP TABLE checkpoints;"
		 "ALTER TABLE events DROP COLUMN prev;"
		 "ALTER TABLE events DROP COLUMN hash;"
		 "PRAGMA user_version = 3;"
		 "INSERT INTO devices(device_id, fingerprint, manufactured_at,"
		 " state, updated_at) VALUES('d3', '" FPR_A
		 "', 1, 'active', 1);",
		 SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_int_eq(raw_count(db_path, "PRAGMA user_version"),
			 SCHEMA_LATEST);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n), ZTP_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d1", NULL, ZTP_STATE_ACTIVE, "t1"),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n), ZTP_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ztp_store_free(s);
	/* the expiry count is a search of the partial index */
	ck_assert_int_eq(
	    raw_count(db_path,
		      "SELECT count(*) FROM (SELECT 1 FROM certs INDEXED BY"
		      " certs_live_by_expiry WHERE revoked = 0 AND profile ="
		      " 'operational' AND not_after >= 0 AND not_after < 9)"),
	    0);
}
END_TEST

/* The events of a registry of version 4 are chained when it is migrated
 * to version 5, in seq order from the genesis hash; events appended
 * afterwards continue that chain. */
START_TEST(test_sqlite_migrate_v4_chain)
{
	ztp_store *s = open_kind(B_SQLITE, NULL);

	ck_assert_rc(ztp_store_event_append(s, "{\"type\":\"a\"}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"type\":\"b\"}"), ZTP_OK);
	ck_assert_rc(ztp_store_event_append(s, "{\"type\":\"c\"}"), ZTP_OK);
	ztp_store_free(s);
	raw_exec(db_path,
		 DROP_V6_V7 "DROP TABLE checkpoints;"
			    "ALTER TABLE events DROP COLUMN prev;"
			    "ALTER TABLE events DROP COLUMN hash;"
			    "PRAGMA user_version = 4;",
		 SQLITE_OK);
	s = open_kind(B_SQLITE, NULL);
	ck_assert_int_eq(raw_count(db_path, "PRAGMA user_version"),
			 SCHEMA_LATEST);
	ck_assert_rc(ztp_store_event_append(s, "{\"type\":\"d\"}"), ZTP_OK);
	ck_assert_int_eq(chain_walk(s), 4);
	ztp_store_free(s);
	/* still append-only */
	raw_exec(db_path, "UPDATE events SET json = '{}' WHERE seq = 1",
		 SQLITE_CONSTRAINT);
}
END_TEST

/* Processes opening one new registry at the same time (parallel
 * `ztp-verify enroll`) all get it: creating the file, changing it to WAL
 * mode and writing the schema wait for each other. Each child opens a
 * store on a file that none has created yet. */
START_TEST(test_sqlite_open_race)
{
	enum { ROUNDS = 25, PROCS = 8 };
	char uri[4200];
	int failed = 0;

	for (int r = 0; r < ROUNDS; r++) {
		pid_t pids[PROCS];

		snprintf(uri, sizeof(uri), "sqlite:%s/race-%d.db", tmpdir, r);
		for (int i = 0; i < PROCS; i++) {
			pids[i] = fork();
			ck_assert_int_ge(pids[i], 0);
			if (pids[i] == 0) {
				ztp_store *st = NULL;
				int rc = ztp_store_open(&st, uri);

				if (rc != ZTP_OK)
					fprintf(stderr, "open race: %s\n",
						ztp_error_last_message());
				ztp_store_free(st);
				_exit(rc == ZTP_OK ? 0 : 1);
			}
		}
		for (int i = 0; i < PROCS; i++) {
			int status = 0;

			ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				failed++;
		}
	}
	ck_assert_int_eq(failed, 0);
}
END_TEST

void store_tcases_sqlite(Suite *s)
{
	TCase *tc;

	tc = tcase_create("sqlite");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sqlite_persistence);
	tcase_add_test(tc, test_sqlite_two_handles);
	tcase_add_test(tc, test_sqlite_limits);
	tcase_add_test(tc, test_sqlite_migrate_v1);
	tcase_add_test(tc, test_sqlite_migrate_v2);
	tcase_add_test(tc, test_sqlite_migrate_v3);
	tcase_add_test(tc, test_sqlite_migrate_v4_chain);
	tcase_add_test(tc, test_sqlite_readonly);
	tcase_add_test(tc, test_sqlite_corrupt);
	tcase_add_test(tc, test_sqlite_foreign_and_newer);
	tcase_add_test(tc, test_sqlite_append_only);
	tcase_add_test(tc, test_sqlite_tampered_rows);
	tcase_add_test(tc, test_sqlite_counter_exhausted);
	tcase_add_test(tc, test_sqlite_locked);
	tcase_add_test(tc, test_sqlite_open_race);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
