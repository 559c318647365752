/*
 * libztp — the `sqlite:PATH` store backend.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One connection per handle. The front end serialises calls (the backend
 * does not claim ZTP_STORE_BACKEND_THREADSAFE) because a transaction spans
 * several statements on that connection; other processes may share the
 * file, and writers wait for each other through busy_timeout.
 *
 * Durability: WAL with synchronous=FULL, so a commit is on disk when the
 * call returns (an issued certificate is recorded before it is handed
 * out). Every write runs in BEGIN IMMEDIATE ... COMMIT so that a
 * read-check-write sequence cannot interleave with another writer. SQL is
 * constant text with bound parameters only.
 */
#include "store/internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

/* 'ZTP1': tells a libztp registry from any other SQLite file. */
#define ZTP__SQLITE_APP_ID 0x5a545031
#define ZTP__SQLITE_BUSY_MS 5000
#define ZTP__SQLITE_PATH_MAX 4096

/* Migration i takes the schema from user_version i to i + 1; each sets
 * the new version itself, inside the same transaction. Append only. */
static const char *const migrations[] = {
    /* v1 */
    "PRAGMA application_id = 1515474993;" /* ZTP__SQLITE_APP_ID */
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
    "PRAGMA user_version = 1;",
    /* v2: the factory key (operational CSRs must not carry it), and
     * rate-limit buckets that hold across processes. A bucket that is
     * full again (full_at <= now) is the same as none and is purged. */
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
    "PRAGMA user_version = 2;",
    /* v3: the issuer (its key identifier, hex) of each certificate, so
     * that CAs sharing a store each list only their own revocations.
     * Rows from before are of unknown issuer (NULL), which every CA's
     * CRL lists. */
    "ALTER TABLE certs ADD COLUMN issuer TEXT"
    " CHECK (issuer IS NULL OR length(issuer) BETWEEN 2 AND 128);"
    "CREATE INDEX certs_revoked_by_issuer ON certs(issuer, serial)"
    " WHERE revoked = 1;"
    "PRAGMA user_version = 3;",
    /* v4: what a metrics scrape reads without reading every row. A count
     * per device state, kept by triggers in the transaction of every
     * write that changes a state (rows from before are counted here), and
     * the certificates not revoked by profile and expiry. */
    "CREATE TABLE device_states ("
    " state TEXT PRIMARY KEY NOT NULL,"
    " n INTEGER NOT NULL CHECK (n >= 0)) WITHOUT ROWID;"
    "INSERT INTO device_states(state, n)"
    " SELECT state, count(*) FROM devices GROUP BY state;"
    "CREATE TRIGGER device_states_insert AFTER INSERT ON devices BEGIN"
    " INSERT INTO device_states(state, n) VALUES(NEW.state, 1)"
    "  ON CONFLICT(state) DO UPDATE SET n = n + 1;"
    " END;"
    "CREATE TRIGGER device_states_update AFTER UPDATE OF state ON devices"
    " WHEN OLD.state <> NEW.state BEGIN"
    " UPDATE device_states SET n = n - 1 WHERE state = OLD.state;"
    " INSERT INTO device_states(state, n) VALUES(NEW.state, 1)"
    "  ON CONFLICT(state) DO UPDATE SET n = n + 1;"
    " END;"
    "CREATE TRIGGER device_states_delete AFTER DELETE ON devices BEGIN"
    " UPDATE device_states SET n = n - 1 WHERE state = OLD.state;"
    " END;"
    "CREATE INDEX certs_live_by_expiry ON certs(profile, not_after)"
    " WHERE revoked = 0;"
    "PRAGMA user_version = 4;",
    /* v5: the audit chain (doc/AUDIT.md). Each event keeps the hash of
     * the one before and its own; the events already there are chained
     * by sq_chain_events() in this transaction, which then restores the
     * append-only trigger and sets the version. Signed checkpoints are
     * append-only too. */
    "ALTER TABLE events ADD COLUMN prev BLOB;"
    "ALTER TABLE events ADD COLUMN hash BLOB;"
    "DROP TRIGGER events_no_update;"
    "CREATE TABLE checkpoints ("
    " seq INTEGER PRIMARY KEY NOT NULL,"
    " at INTEGER NOT NULL,"
    " head BLOB NOT NULL CHECK (length(head) = 32),"
    " sig BLOB NOT NULL CHECK (length(sig) BETWEEN 1 AND 1024),"
    " key_id TEXT NOT NULL CHECK (length(key_id) BETWEEN 1 AND 128));"
    "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;"
    "CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;",
    /* v6: the fleet inventory. Each filter of device_list has an index
     * that also orders by device ID, so a page is a range read; the
     * expiring certificates are a range of certs_by_expiry in the order
     * they are listed. */
    "CREATE INDEX devices_by_state ON devices(state, device_id);"
    "CREATE INDEX devices_by_tenant ON devices(tenant, device_id)"
    " WHERE tenant IS NOT NULL;"
    "CREATE INDEX devices_by_model ON devices(model, device_id)"
    " WHERE model IS NOT NULL;"
    "CREATE INDEX devices_by_batch ON devices(batch, device_id)"
    " WHERE batch IS NOT NULL;"
    "CREATE INDEX certs_by_expiry ON certs(not_after, serial)"
    " WHERE revoked = 0;"
    "PRAGMA user_version = 6;",
    /* v7: enrollment groups, and the group that enrolled a device (NULL:
     * enrolled one by one, like every row from before). */
    "CREATE TABLE groups ("
    " group_id TEXT PRIMARY KEY NOT NULL,"
    " issuer TEXT NOT NULL CHECK (length(issuer) = 64),"
    " device_pattern TEXT,"
    " model TEXT,"
    " batch TEXT,"
    " cap INTEGER CHECK (cap IS NULL OR cap >= 1),"
    " expires_at INTEGER,"
    " enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),"
    " enrolled INTEGER NOT NULL DEFAULT 0 CHECK (enrolled >= 0),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX groups_by_issuer ON groups(issuer, group_id);"
    "ALTER TABLE devices ADD COLUMN enroll_group TEXT"
    " REFERENCES groups(group_id);"
    "CREATE INDEX devices_by_group ON devices(enroll_group, device_id)"
    " WHERE enroll_group IS NOT NULL;"
    "PRAGMA user_version = 7;",
};

/* The schema version whose migration ends in sq_chain_events(). */
#define CHAIN_VERSION 5

#define CERT_COLUMNS                                                           \
	"serial, device_id, profile, not_before, not_after, fingerprint, "     \
	"issued_at, revoked, revoked_at, reason, issuer"
#define DEVICE_COLUMNS                                                         \
	"device_id, fingerprint, model, batch, manufactured_at, state, "       \
	"tenant, info, updated_at, factory_key, enroll_group"
#define GROUP_COLUMNS                                                          \
	"group_id, issuer, device_pattern, model, batch, cap, expires_at, "    \
	"enabled, enrolled, created_at, updated_at"

/* device_list's statement for each combination of filters (bit i set:
 * filter i of list_filters is given), prepared when first used. */
static const char *const list_filters[] = {
    " AND state = ?1", " AND tenant = ?2", " AND model = ?3", " AND batch = ?4",
    " AND enroll_group = ?5"};
#define LIST_VARIANTS (1u << ZTP__ARRAY_LEN(list_filters))

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_DEV_INSERT,
	ST_DEV_GET,
	ST_DEV_STATE,
	ST_DEV_SET_STATE,
	ST_DEV_SET_INFO,
	ST_CLAIM_SET,
	ST_CLAIM_GET,
	ST_CLAIM_DEL,
	ST_CERT_INSERT,
	ST_CERT_GET,
	ST_CERT_REVOKE,
	ST_CERT_EXISTS,
	ST_DEV_REVOKE_CERTS,
	ST_REVOKED_LIST,
	ST_REVOKED_LIST_ISSUER,
	ST_DEV_CERTS,
	ST_CERT_COUNT,
	ST_CHAL_PURGE,
	ST_CHAL_INSERT,
	ST_EVENT_INSERT,
	ST_EVENT_LIST,
	ST_COUNTER_GET,
	ST_COUNTER_PUT,
	ST_DEV_SET_FKEY,
	ST_LIMIT_PURGE,
	ST_LIMIT_GET,
	ST_LIMIT_PUT,
	ST_DEV_COUNT_STATE,
	ST_CERT_EXPIRING,
	ST_EVENT_HEAD,
	ST_EVENT_CHAIN_LIST,
	ST_CHECKPOINT_INSERT,
	ST_CHECKPOINT_LIST,
	ST_DEV_FPR,
	ST_CERT_EXPIRING_PAGE,
	ST_GROUP_INSERT,
	ST_GROUP_GET,
	ST_GROUP_LIST,
	ST_GROUP_SET_ENABLED,
	ST_GROUP_COUNT,
	ST_GROUP_DEV_INSERT,
	ST__COUNT
};

static const char *const sql_text[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_DEV_INSERT] =
	"INSERT INTO devices(device_id, fingerprint, model, batch,"
	" manufactured_at, state, updated_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, 'manufactured', ?6)",
    [ST_DEV_GET] =
	"SELECT " DEVICE_COLUMNS " FROM devices WHERE device_id = ?1",
    [ST_DEV_STATE] = "SELECT state FROM devices WHERE device_id = ?1",
    [ST_DEV_SET_STATE] = "UPDATE devices SET state = ?2, tenant = ?3,"
			 " updated_at = ?4 WHERE device_id = ?1",
    [ST_DEV_SET_INFO] = "UPDATE devices SET info = ?2, updated_at = ?3"
			" WHERE device_id = ?1",
    [ST_CLAIM_SET] = "INSERT INTO claims(device_id, hash) VALUES(?1, ?2)"
		     " ON CONFLICT(device_id) DO UPDATE"
		     " SET hash = excluded.hash",
    [ST_CLAIM_GET] = "SELECT d.state, c.hash FROM devices AS d"
		     " LEFT JOIN claims AS c ON c.device_id = d.device_id"
		     " WHERE d.device_id = ?1",
    [ST_CLAIM_DEL] = "DELETE FROM claims WHERE device_id = ?1",
    [ST_CERT_INSERT] =
	"INSERT INTO certs(serial, device_id, profile, not_before,"
	" not_after, fingerprint, issued_at, issuer)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_CERT_GET] = "SELECT " CERT_COLUMNS " FROM certs WHERE serial = ?1",
    [ST_CERT_REVOKE] = "UPDATE certs SET revoked = 1, revoked_at = ?2,"
		       " reason = ?3 WHERE serial = ?1 AND revoked = 0",
    [ST_CERT_EXISTS] = "SELECT 1 FROM certs WHERE serial = ?1",
    /* The profile list is one bound parameter: ",a,b," contains ",p,"
     * exactly when p is an element (names cannot contain commas). */
    [ST_DEV_REVOKE_CERTS] =
	"UPDATE certs SET revoked = 1, revoked_at = ?3, reason = ?4"
	" WHERE device_id = ?1 AND revoked = 0 AND (?2 IS NULL OR"
	" instr(',' || ?2 || ',', ',' || profile || ',') > 0)",
    [ST_REVOKED_LIST] = "SELECT serial, revoked_at, reason FROM certs"
			" WHERE revoked = 1"
			" ORDER BY length(serial), serial",
    /* Two disjoint searches of certs_revoked_by_issuer: SQLite plans
     * "issuer = ?1 OR issuer IS NULL" as a scan of every revocation. */
    [ST_REVOKED_LIST_ISSUER] =
	"SELECT serial, revoked_at, reason FROM ("
	"SELECT serial, revoked_at, reason FROM certs"
	" WHERE revoked = 1 AND issuer = ?1"
	" UNION ALL SELECT serial, revoked_at, reason FROM certs"
	" WHERE revoked = 1 AND issuer IS NULL)"
	" ORDER BY length(serial), serial",
    [ST_DEV_CERTS] = "SELECT " CERT_COLUMNS " FROM certs"
		     " WHERE device_id = ?1 ORDER BY rowid",
    [ST_CERT_COUNT] = "SELECT count(*) FROM certs",
    [ST_CHAL_PURGE] = "DELETE FROM challenges WHERE expires_at < ?1",
    [ST_CHAL_INSERT] = "INSERT INTO challenges(id, expires_at)"
		       " VALUES(?1, ?2) ON CONFLICT(id) DO NOTHING",
    [ST_EVENT_INSERT] = "INSERT INTO events(seq, at, json, prev, hash)"
			" VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_EVENT_LIST] = "SELECT seq, at, json FROM events WHERE seq > ?1"
		      " ORDER BY seq LIMIT ?2",
    [ST_COUNTER_GET] = "SELECT value FROM counters WHERE name = ?1",
    [ST_COUNTER_PUT] = "INSERT INTO counters(name, value) VALUES(?1, ?2)"
		       " ON CONFLICT(name) DO UPDATE"
		       " SET value = excluded.value",
    [ST_DEV_SET_FKEY] = "UPDATE devices SET factory_key = ?2"
			" WHERE device_id = ?1",
    [ST_LIMIT_PURGE] = "DELETE FROM limits WHERE full_at <= ?1",
    [ST_LIMIT_GET] = "SELECT tokens, last FROM limits"
		     " WHERE scope = ?1 AND key = ?2",
    [ST_LIMIT_PUT] = "INSERT INTO limits(scope, key, tokens, last, full_at)"
		     " VALUES(?1, ?2, ?3, ?4, ?5)"
		     " ON CONFLICT(scope, key) DO UPDATE"
		     " SET tokens = excluded.tokens, last = excluded.last,"
		     " full_at = excluded.full_at",
    [ST_DEV_COUNT_STATE] = "SELECT n FROM device_states WHERE state = ?1",
    /* Written so that it is a range search of certs_live_by_expiry. */
    [ST_CERT_EXPIRING] = "SELECT count(*) FROM certs WHERE revoked = 0"
			 " AND profile = ?1 AND not_after >= ?2"
			 " AND not_after < ?3",
    /* The next seq is past both the last row and every seq ever used
     * (sqlite_sequence): a deleted last event is not reused. */
    [ST_EVENT_HEAD] =
	"SELECT max(coalesce((SELECT seq FROM sqlite_sequence"
	" WHERE name = 'events'), 0), coalesce(max(seq), 0)),"
	" (SELECT hash FROM events ORDER BY seq DESC LIMIT 1) FROM events",
    [ST_EVENT_CHAIN_LIST] = "SELECT seq, at, json, prev, hash FROM events"
			    " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_CHECKPOINT_INSERT] =
	"INSERT INTO checkpoints(seq, at, head, sig, key_id)"
	" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(seq) DO NOTHING",
    [ST_CHECKPOINT_LIST] = "SELECT seq, at, head, sig, key_id FROM"
			   " checkpoints WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_DEV_FPR] = "SELECT fingerprint FROM devices WHERE device_id = ?1",
    /* ?1 is the later of the window's start and the cursor's time, so
     * the range of certs_by_expiry starts at the page, in its order. */
    [ST_CERT_EXPIRING_PAGE] = "SELECT " CERT_COLUMNS " FROM certs"
			      " WHERE revoked = 0 AND not_after >= ?1"
			      " AND not_after < ?2 AND (?4 IS NULL"
			      " OR not_after > ?3 OR serial > ?4)"
			      " ORDER BY not_after, serial LIMIT ?5",
    [ST_GROUP_INSERT] = "INSERT INTO groups(" GROUP_COLUMNS ")"
			" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9)",
    [ST_GROUP_GET] = "SELECT " GROUP_COLUMNS " FROM groups"
		     " WHERE group_id = ?1",
    [ST_GROUP_LIST] = "SELECT " GROUP_COLUMNS " FROM groups"
		      " WHERE group_id > ?2 AND (?1 IS NULL OR issuer = ?1)"
		      " ORDER BY group_id LIMIT ?3",
    [ST_GROUP_SET_ENABLED] = "UPDATE groups SET enabled = ?2,"
			     " updated_at = ?3 WHERE group_id = ?1",
    [ST_GROUP_COUNT] = "UPDATE groups SET enrolled = enrolled + 1,"
		       " updated_at = ?2 WHERE group_id = ?1",
    [ST_GROUP_DEV_INSERT] =
	"INSERT INTO devices(device_id, fingerprint, model, batch,"
	" manufactured_at, state, updated_at, factory_key, enroll_group)"
	" SELECT ?1, ?2, model, batch, ?3, 'manufactured', ?3, ?4, group_id"
	" FROM groups WHERE group_id = ?5",
};

typedef struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	sqlite3_stmt *list_st[LIST_VARIANTS];
} sq;

/* ------------------------------------------------------------ errors */

/* An SQLite failure as a ztp code with SQLite's own words as detail.
 * Uniqueness and foreign-key violations are the caller's mistake, not the
 * store's, and get the codes that say so. */
static int sq_fail(sqlite3 *db, int code, const char *what)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : "";

	switch (code) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return ztp__err(ZTP_EEXISTS, "sqlite: %s: record exists (%s)",
				what, msg);
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return ztp__err(ZTP_ENOTFOUND,
				"sqlite: %s: referenced record missing (%s)",
				what, msg);
	default:
		break;
	}
	switch (code & 0xff) {
	case SQLITE_NOMEM:
		return ztp__err(ZTP_ENOMEM, "sqlite: %s: out of memory", what);
	case SQLITE_READONLY:
		return ztp__err(ZTP_ESTORE,
				"sqlite: %s: database is read-only (%s)", what,
				msg);
	case SQLITE_FULL:
		return ztp__err(ZTP_ESTORE,
				"sqlite: %s: disk or database full (%s)", what,
				msg);
	case SQLITE_CORRUPT:
		return ztp__err(ZTP_ESTORE,
				"sqlite: %s: database is corrupt (%s)", what,
				msg);
	case SQLITE_NOTADB:
		return ztp__err(ZTP_ESTORE,
				"sqlite: %s: file is not an SQLite database",
				what);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ztp__err(ZTP_ESTORE,
				"sqlite: %s: database locked by another "
				"connection (%s)",
				what, msg);
	case SQLITE_CANTOPEN:
		return ztp__err(ZTP_ESTORE, "sqlite: %s: cannot open (%s)",
				what, msg);
	case SQLITE_IOERR:
		return ztp__err(ZTP_ESTORE, "sqlite: %s: I/O error (%s)", what,
				msg);
	default:
		return ztp__err(ZTP_ESTORE, "sqlite: %s: %s", what, msg);
	}
}

/* ------------------------------------------------------------ statements */

static int sq_step(sq *s, int id, const char *what, bool *row)
{
	int r = sqlite3_step(s->st[id]);

	if (row != NULL)
		*row = false;
	if (r == SQLITE_ROW || r == SQLITE_DONE) {
		if (row != NULL)
			*row = r == SQLITE_ROW;
		else if (r == SQLITE_ROW)
			return ztp__err(ZTP_EINTERNAL,
					"sqlite: %s: unexpected row", what);
		return ZTP_OK;
	}
	return sq_fail(s->db, r, what);
}

static int bind_check(sq *s, int r, const char *what)
{
	return r == SQLITE_OK ? ZTP_OK : sq_fail(s->db, r, what);
}

static int bind_text(sq *s, int id, int idx, const char *v)
{
	sqlite3_stmt *st = s->st[id];

	if (v == NULL)
		return bind_check(s, sqlite3_bind_null(st, idx), "bind");
	return bind_check(s, sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC),
			  "bind");
}

static int bind_int(sq *s, int id, int idx, int64_t v)
{
	return bind_check(s, sqlite3_bind_int64(s->st[id], idx, v), "bind");
}

static int bind_blob(sq *s, int id, int idx, const uint8_t *p, size_t len)
{
	return bind_check(
	    s, sqlite3_bind_blob(s->st[id], idx, p, (int)len, SQLITE_STATIC),
	    "bind");
}

/* One parameter of a statement; a list of them binds to ?1, ?2, ... */
typedef struct {
	enum { ARG_TEXT, ARG_INT, ARG_BLOB } type;
	const char *text;
	int64_t num;
	const uint8_t *blob;
	size_t len;
} sq_arg;

static sq_arg arg_text(const char *v)
{
	sq_arg a = {ARG_TEXT, v, 0, NULL, 0};

	return a;
}

static sq_arg arg_int(int64_t v)
{
	sq_arg a = {ARG_INT, NULL, v, NULL, 0};

	return a;
}

static sq_arg arg_blob(const uint8_t *p, size_t len)
{
	sq_arg a = {ARG_BLOB, NULL, 0, p, len};

	return a;
}

static int bind_args(sq *s, int id, const sq_arg *args, size_t n)
{
	size_t i;
	int rc = ZTP_OK;

	for (i = 0; i < n && rc == ZTP_OK; i++) {
		int idx = (int)i + 1;

		switch (args[i].type) {
		case ARG_TEXT:
			rc = bind_text(s, id, idx, args[i].text);
			break;
		case ARG_INT:
			rc = bind_int(s, id, idx, args[i].num);
			break;
		case ARG_BLOB:
			rc = bind_blob(s, id, idx, args[i].blob, args[i].len);
			break;
		default:
			rc = ztp__err(ZTP_EINTERNAL, "sqlite: bad argument");
			break;
		}
	}
	return rc;
}

/* NULL for SQL NULL. A required column that reads NULL means the file was
 * changed behind the library's back, or SQLite ran out of memory. */
static const char *col_text(sq *s, int id, int col)
{
	return (const char *)sqlite3_column_text(s->st[id], col);
}

static int need_text_st(sq *s, sqlite3_stmt *st, int col, const char **out)
{
	*out = (const char *)sqlite3_column_text(st, col);
	if (*out != NULL)
		return ZTP_OK;
	if (sqlite3_errcode(s->db) == SQLITE_NOMEM)
		return ztp__err(ZTP_ENOMEM, "sqlite: out of memory");
	return ztp__err(ZTP_ESTORE, "sqlite: unexpected NULL in column %d",
			col);
}

static int need_text(sq *s, int id, int col, const char **out)
{
	return need_text_st(s, s->st[id], col, out);
}

/* Leave the connection idle: statements reset and unbound, and any
 * transaction still open (after a failure) rolled back. */
static void sq_finish(sq *s)
{
	size_t i;

	for (i = 0; i < ST__COUNT; i++) {
		sqlite3_reset(s->st[i]);
		sqlite3_clear_bindings(s->st[i]);
	}
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[ST_ROLLBACK]);
		sqlite3_reset(s->st[ST_ROLLBACK]);
	}
}

static int sq_begin(sq *s)
{
	int rc = sq_step(s, ST_BEGIN, "begin transaction", NULL);

	sqlite3_reset(s->st[ST_BEGIN]);
	return rc;
}

static int sq_commit(sq *s)
{
	int rc = sq_step(s, ST_COMMIT, "commit", NULL);

	sqlite3_reset(s->st[ST_COMMIT]);
	return rc;
}

/* The certificate row that statement id stands on, as a view borrowing
 * its columns. */
static int row_cert_view(sq *s, int id, ztp__store_cert_view *v)
{
	int rc = ZTP_OK;

	memset(v, 0, sizeof(*v));
	ZTP_CHECK(need_text(s, id, 0, &v->serial));
	v->device_id = col_text(s, id, 1);
	ZTP_CHECK(need_text(s, id, 2, &v->profile));
	v->not_before = sqlite3_column_int64(s->st[id], 3);
	v->not_after = sqlite3_column_int64(s->st[id], 4);
	ZTP_CHECK(need_text(s, id, 5, &v->fingerprint));
	v->issued_at = sqlite3_column_int64(s->st[id], 6);
	v->revoked = sqlite3_column_int(s->st[id], 7) != 0;
	v->revoked_at = sqlite3_column_int64(s->st[id], 8);
	v->reason = sqlite3_column_int(s->st[id], 9);
	v->issuer = col_text(s, id, 10);
cleanup:
	return rc;
}

/* Open a write transaction and run statement id with args in it; the
 * caller checks the outcome, then commits (or leaves sq_finish to roll
 * back). */
static int sq_write(sq *s, int id, const char *what, const sq_arg *args,
		    size_t n)
{
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bind_args(s, id, args, n));
	rc = sq_step(s, id, what, NULL);
cleanup:
	return rc;
}

/* Turns the current row of statement id into one element of a list. */
typedef int (*sq_row_fn)(sq *s, int id, json_object **item);

/* Step through statement id (parameters bound) and answer the JSON array of
 * its rows. */
static int sq_list(sq *s, int id, const char *what, sq_row_fn row_json,
		   char **json)
{
	json_object *arr = NULL, *item = NULL;
	bool row = false;
	int rc = ZTP_OK;

	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	for (;;) {
		ZTP_CHECK(sq_step(s, id, what, &row));
		if (!row)
			break;
		ZTP_CHECK(row_json(s, id, &item));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	return rc;
}

static int row_revoked_json(sq *s, int id, json_object **out)
{
	const char *serial;
	int rc = ZTP_OK;

	ZTP_CHECK(need_text(s, id, 0, &serial));
	ZTP_CHECK(ztp__store_revoked_json(out, serial,
					  sqlite3_column_int64(s->st[id], 1),
					  sqlite3_column_int(s->st[id], 2)));
cleanup:
	return rc;
}

static int row_event_json(sq *s, int id, json_object **out)
{
	const char *ev;
	int rc = ZTP_OK;

	ZTP_CHECK(need_text(s, id, 2, &ev));
	ZTP_CHECK(ztp__store_event_json(out, sqlite3_column_int64(s->st[id], 0),
					sqlite3_column_int64(s->st[id], 1),
					ev));
cleanup:
	return rc;
}

/* ------------------------------------------------------------ operations */

static int sq_device_add(void *ctx, const char *device_id,
			 const char *fingerprint, const char *model,
			 const char *batch, int64_t manufactured_at,
			 int64_t now)
{
	const sq_arg args[] = {
	    arg_text(device_id), arg_text(fingerprint),	   arg_text(model),
	    arg_text(batch),	 arg_int(manufactured_at), arg_int(now),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	rc = sq_write(s, ST_DEV_INSERT, "device_add", args,
		      ZTP__ARRAY_LEN(args));
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: device %s already exists", device_id);
	ZTP_CHECK(rc);
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* The device row (DEVICE_COLUMNS) that st stands on, as a view borrowing
 * its columns. */
static int row_device_view(sq *s, sqlite3_stmt *st, ztp__store_device_view *v)
{
	int rc = ZTP_OK;

	memset(v, 0, sizeof(*v));
	ZTP_CHECK(need_text_st(s, st, 0, &v->device_id));
	ZTP_CHECK(need_text_st(s, st, 1, &v->fingerprint));
	v->model = (const char *)sqlite3_column_text(st, 2);
	v->batch = (const char *)sqlite3_column_text(st, 3);
	v->manufactured_at = sqlite3_column_int64(st, 4);
	ZTP_CHECK(need_text_st(s, st, 5, &v->state));
	v->tenant = (const char *)sqlite3_column_text(st, 6);
	v->info = (const char *)sqlite3_column_text(st, 7);
	v->updated_at = sqlite3_column_int64(st, 8);
	v->factory_key = sqlite3_column_blob(st, 9);
	v->factory_key_len = (size_t)sqlite3_column_bytes(st, 9);
	ZTP_ENSURE(v->factory_key != NULL ||
		       sqlite3_column_type(st, 9) == SQLITE_NULL,
		   ZTP_ENOMEM, "sqlite: out of memory");
	if (v->factory_key == NULL)
		v->factory_key_len = 0;
	v->group = (const char *)sqlite3_column_text(st, 10);
cleanup:
	return rc;
}

static int view_device(void *ctx, const char *device_id,
		       ztp__store_device_fn fn, void *arg)
{
	sq *s = ctx;
	ztp__store_device_view v;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_DEV_GET, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_DEV_GET, "device_get", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no device %s", device_id);
	ZTP_CHECK(row_device_view(s, s->st[ST_DEV_GET], &v));
	rc = fn(&v, arg);
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_device_get(void *ctx, const char *device_id, char **json)
{
	return ztp__store_views_device_json(&ztp__store_sqlite_views, ctx,
					    device_id, json);
}

static int sq_device_set_state(void *ctx, const char *device_id,
			       const char *expected_state,
			       const char *new_state, const char *tenant,
			       int64_t now)
{
	const sq_arg args[] = {
	    arg_text(device_id),
	    arg_text(new_state),
	    arg_text(tenant),
	    arg_int(now),
	};
	sq *s = ctx;
	const char *state;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bind_text(s, ST_DEV_STATE, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_DEV_STATE, "device_set_state", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no device %s", device_id);
	ZTP_CHECK(need_text(s, ST_DEV_STATE, 0, &state));
	ZTP_ENSURE(expected_state == NULL || strcmp(state, expected_state) == 0,
		   ZTP_ESTATE, "store: device %s is %s, not %s", device_id,
		   state, expected_state);
	ZTP_CHECK(bind_args(s, ST_DEV_SET_STATE, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(sq_step(s, ST_DEV_SET_STATE, "device_set_state", NULL));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* Run statement id, an UPDATE of device_id's row, in a write transaction
 * of its own. */
static int sq_update_device(sq *s, int id, const char *what, const sq_arg *args,
			    size_t n, const char *device_id)
{
	int rc = ZTP_OK;

	ZTP_CHECK(sq_write(s, id, what, args, n));
	ZTP_ENSURE(sqlite3_changes(s->db) == 1, ZTP_ENOTFOUND,
		   "store: no device %s", device_id);
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_device_set_info(void *ctx, const char *device_id,
			      const char *info_json, int64_t now)
{
	const sq_arg args[] = {
	    arg_text(device_id),
	    arg_text(info_json),
	    arg_int(now),
	};

	return sq_update_device(ctx, ST_DEV_SET_INFO, "device_set_info", args,
				ZTP__ARRAY_LEN(args), device_id);
}

static int sq_claim_set(void *ctx, const char *device_id, const uint8_t *hash,
			size_t len)
{
	const sq_arg args[] = {
	    arg_text(device_id),
	    arg_blob(hash, len),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	rc = sq_write(s, ST_CLAIM_SET, "claim_set", args, ZTP__ARRAY_LEN(args));
	ZTP_ENSURE(rc != ZTP_ENOTFOUND, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
	ZTP_CHECK(rc);
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* claim_take inside an open transaction; writes only once the claim
 * matched, so that on a refusal the transaction holds nothing of it. */
static int claim_in_txn(sq *s, const char *device_id, const uint8_t *hash,
			size_t len, const char *tenant, int64_t now)
{
	const sq_arg set_args[] = {
	    arg_text(device_id),
	    arg_text(ZTP_STATE_ACTIVE),
	    arg_text(tenant),
	    arg_int(now),
	};
	const char *state;
	const void *stored;
	size_t stored_len;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_CLAIM_GET, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_CLAIM_GET, "claim_take", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no device %s", device_id);
	ZTP_CHECK(need_text(s, ST_CLAIM_GET, 0, &state));
	ZTP_ENSURE(strcmp(state, ZTP_STATE_REVOKED) != 0, ZTP_ESTATE,
		   "store: device %s is revoked", device_id);
	ZTP_ENSURE(sqlite3_column_type(s->st[ST_CLAIM_GET], 1) != SQLITE_NULL,
		   ZTP_ENOTFOUND, "store: device %s has no pending claim",
		   device_id);
	stored = sqlite3_column_blob(s->st[ST_CLAIM_GET], 1);
	stored_len = (size_t)sqlite3_column_bytes(s->st[ST_CLAIM_GET], 1);
	ZTP_ENSURE(stored != NULL || sqlite3_errcode(s->db) != SQLITE_NOMEM,
		   ZTP_ENOMEM, "sqlite: out of memory");
	/* The length of a hash is no secret; its bytes are. */
	ZTP_ENSURE(stored != NULL && stored_len == len &&
		       CRYPTO_memcmp(stored, hash, len) == 0,
		   ZTP_EMISMATCH, "store: device %s: claim code does not match",
		   device_id);
	sqlite3_reset(s->st[ST_CLAIM_GET]);
	ZTP_CHECK(bind_text(s, ST_CLAIM_DEL, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_CLAIM_DEL, "claim_take", NULL));
	ZTP_CHECK(
	    bind_args(s, ST_DEV_SET_STATE, set_args, ZTP__ARRAY_LEN(set_args)));
	ZTP_CHECK(sq_step(s, ST_DEV_SET_STATE, "claim_take", NULL));
cleanup:
	sqlite3_reset(s->st[ST_CLAIM_GET]);
	return rc;
}

static int sq_claim_take(void *ctx, const char *device_id, const uint8_t *hash,
			 size_t len, const char *tenant, int64_t now)
{
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(claim_in_txn(s, device_id, hash, len, tenant, now));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_device_set_factory_key(void *ctx, const char *device_id,
				     const uint8_t *spki, size_t len)
{
	const sq_arg args[] = {
	    arg_text(device_id),
	    arg_blob(spki, len),
	};

	return sq_update_device(ctx, ST_DEV_SET_FKEY, "device_set_factory_key",
				args, ZTP__ARRAY_LEN(args), device_id);
}

/* The bucket step of limit_take and claim_attempt inside an open write
 * transaction. A refusal has written nothing that matters (the purge is
 * rolled back with it). */
static int bucket_in_txn(sq *s, const char *scope, const char *key, double rate,
			 double burst, int64_t now, int64_t *retry_after)
{
	const sq_arg get_args[] = {
	    arg_text(scope),
	    arg_text(key),
	};
	ztp__bucket b = {0, 0};
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_int(s, ST_LIMIT_PURGE, 1, now));
	ZTP_CHECK(sq_step(s, ST_LIMIT_PURGE, "limit_take", NULL));
	ZTP_CHECK(
	    bind_args(s, ST_LIMIT_GET, get_args, ZTP__ARRAY_LEN(get_args)));
	ZTP_CHECK(sq_step(s, ST_LIMIT_GET, "limit_take", &row));
	if (row) {
		b.tokens = sqlite3_column_double(s->st[ST_LIMIT_GET], 0);
		b.last = sqlite3_column_int64(s->st[ST_LIMIT_GET], 1);
	}
	sqlite3_reset(s->st[ST_LIMIT_GET]);
	rc = ztp__bucket_take(&b, !row, rate, burst, now, retry_after);
	ZTP_ENSURE(rc == ZTP_OK, rc, "store: %s limit reached for %s", scope,
		   key);
	ZTP_CHECK(
	    bind_args(s, ST_LIMIT_PUT, get_args, ZTP__ARRAY_LEN(get_args)));
	ZTP_CHECK(bind_check(
	    s, sqlite3_bind_double(s->st[ST_LIMIT_PUT], 3, b.tokens), "bind"));
	ZTP_CHECK(bind_int(s, ST_LIMIT_PUT, 4, b.last));
	ZTP_CHECK(
	    bind_int(s, ST_LIMIT_PUT, 5, ztp__bucket_full_at(&b, rate, burst)));
	ZTP_CHECK(sq_step(s, ST_LIMIT_PUT, "limit_take", NULL));
cleanup:
	return rc;
}

static int sq_limit_take(void *ctx, const char *scope, const char *key,
			 double rate, double burst, int64_t now,
			 int64_t *retry_after)
{
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bucket_in_txn(s, scope, key, rate, burst, now, retry_after));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_claim_attempt(void *ctx, const char *device_id,
			    const uint8_t *hash, size_t len, const char *tenant,
			    double rate, double burst, int64_t now,
			    int64_t *retry_after)
{
	sq *s = ctx;
	bool row = false;
	int rc = ZTP_OK, verdict;

	ZTP_CHECK(sq_begin(s));
	/* No bucket for a device that does not exist: the table stays
	 * bounded by the registry. */
	ZTP_CHECK(bind_text(s, ST_DEV_STATE, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_DEV_STATE, "claim_attempt", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no device %s", device_id);
	sqlite3_reset(s->st[ST_DEV_STATE]);
	ZTP_CHECK(bucket_in_txn(s, "claim", device_id, rate, burst, now,
				retry_after));
	verdict = claim_in_txn(s, device_id, hash, len, tenant, now);
	/* A refused claim keeps its token spent: commit the bucket. */
	if (verdict < 0 && verdict != ZTP_EMISMATCH &&
	    verdict != ZTP_ENOTFOUND && verdict != ZTP_ESTATE) {
		rc = verdict;
		goto cleanup;
	}
	/* The refusal's detail is still the thread's last error. */
	ZTP_CHECK(sq_commit(s));
	rc = verdict;
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_cert_add_issued(void *ctx, const char *serial,
			      const char *device_id, const char *profile,
			      int64_t not_before, int64_t not_after,
			      const char *fingerprint, const char *issuer,
			      int64_t now)
{
	const sq_arg args[] = {
	    arg_text(serial),	 arg_text(device_id), arg_text(profile),
	    arg_int(not_before), arg_int(not_after),  arg_text(fingerprint),
	    arg_int(now),	 arg_text(issuer),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	rc =
	    sq_write(s, ST_CERT_INSERT, "cert_add", args, ZTP__ARRAY_LEN(args));
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: serial %s already recorded", serial);
	ZTP_ENSURE(rc != ZTP_ENOTFOUND, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
	ZTP_CHECK(rc);
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_cert_add(void *ctx, const char *serial, const char *device_id,
		       const char *profile, int64_t not_before,
		       int64_t not_after, const char *fingerprint, int64_t now)
{
	return sq_cert_add_issued(ctx, serial, device_id, profile, not_before,
				  not_after, fingerprint, NULL, now);
}

static int view_cert(void *ctx, const char *serial, ztp__store_cert_fn fn,
		     void *arg)
{
	sq *s = ctx;
	ztp__store_cert_view v;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_CERT_GET, 1, serial));
	ZTP_CHECK(sq_step(s, ST_CERT_GET, "cert_get", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no certificate %s", serial);
	ZTP_CHECK(row_cert_view(s, ST_CERT_GET, &v));
	rc = fn(&v, arg);
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_cert_get(void *ctx, const char *serial, char **json)
{
	return ztp__store_views_cert_json(&ztp__store_sqlite_views, ctx, serial,
					  json);
}

static int sq_cert_revoke(void *ctx, const char *serial, int reason,
			  int64_t when)
{
	const sq_arg args[] = {
	    arg_text(serial),
	    arg_int(when),
	    arg_int(reason),
	};
	sq *s = ctx;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_write(s, ST_CERT_REVOKE, "cert_revoke", args,
			   ZTP__ARRAY_LEN(args)));
	if (sqlite3_changes(s->db) == 0) {
		/* Either unknown or revoked already (which keeps its first
		 * time and reason). */
		ZTP_CHECK(bind_text(s, ST_CERT_EXISTS, 1, serial));
		ZTP_CHECK(sq_step(s, ST_CERT_EXISTS, "cert_revoke", &row));
		ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no certificate %s",
			   serial);
		sqlite3_reset(s->st[ST_CERT_EXISTS]);
	}
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_device_revoke_certs(void *ctx, const char *device_id,
				  const char *profiles, int reason,
				  int64_t when, uint64_t *count)
{
	const sq_arg args[] = {
	    arg_text(device_id),
	    arg_text(profiles),
	    arg_int(when),
	    arg_int(reason),
	};
	sq *s = ctx;
	bool row = false;
	int rc = ZTP_OK;

	*count = 0;
	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bind_text(s, ST_DEV_STATE, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_DEV_STATE, "device_revoke_certs", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no device %s", device_id);
	sqlite3_reset(s->st[ST_DEV_STATE]);
	ZTP_CHECK(
	    bind_args(s, ST_DEV_REVOKE_CERTS, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(sq_step(s, ST_DEV_REVOKE_CERTS, "device_revoke_certs", NULL));
	*count = (uint64_t)sqlite3_changes(s->db);
	ZTP_CHECK(sq_commit(s));
cleanup:
	if (rc < 0)
		*count = 0;
	sq_finish(s);
	return rc;
}

static int sq_revoked_list(void *ctx, char **json)
{
	sq *s = ctx;
	int rc =
	    sq_list(s, ST_REVOKED_LIST, "revoked_list", row_revoked_json, json);

	sq_finish(s);
	return rc;
}

static int sq_revoked_list_issuer(void *ctx, const char *issuer, char **json)
{
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_REVOKED_LIST_ISSUER, 1, issuer));
	ZTP_CHECK(sq_list(s, ST_REVOKED_LIST_ISSUER, "revoked_list_issuer",
			  row_revoked_json, json));
cleanup:
	sq_finish(s);
	return rc;
}

static int view_device_certs(void *ctx, const char *device_id,
			     ztp__store_cert_fn fn, void *arg)
{
	sq *s = ctx;
	ztp__store_cert_view v;
	bool row = false;
	int rc = ZTP_OK;

	/* Devices are never deleted, so the two reads cannot disagree. */
	ZTP_CHECK(bind_text(s, ST_DEV_STATE, 1, device_id));
	ZTP_CHECK(sq_step(s, ST_DEV_STATE, "device_certs", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no device %s", device_id);
	ZTP_CHECK(bind_text(s, ST_DEV_CERTS, 1, device_id));
	for (;;) {
		ZTP_CHECK(sq_step(s, ST_DEV_CERTS, "device_certs", &row));
		if (!row)
			break;
		ZTP_CHECK(row_cert_view(s, ST_DEV_CERTS, &v));
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_device_certs(void *ctx, const char *device_id, char **json)
{
	return ztp__store_views_device_certs_json(&ztp__store_sqlite_views, ctx,
						  device_id, json);
}

static int view_events(void *ctx, int64_t after, size_t max,
		       ztp__store_event_fn fn, void *arg);
static int view_checkpoint_add(void *ctx, const ztp__store_checkpoint_view *cp);
static int view_checkpoints(void *ctx, int64_t after, size_t max,
			    ztp__store_checkpoint_fn fn, void *arg);

const ztp__store_views ztp__store_sqlite_views = {
    .device = view_device,
    .cert = view_cert,
    .device_certs = view_device_certs,
    .events = view_events,
    .checkpoint_add = view_checkpoint_add,
    .checkpoints = view_checkpoints,
};

static int sq_cert_count(void *ctx, uint64_t *out)
{
	sq *s = ctx;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_step(s, ST_CERT_COUNT, "cert_count", &row));
	ZTP_ENSURE(row, ZTP_ESTORE, "sqlite: cert_count: no result");
	*out = (uint64_t)sqlite3_column_int64(s->st[ST_CERT_COUNT], 0);
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_device_count_state(void *ctx, const char *state, uint64_t *out)
{
	sq *s = ctx;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_DEV_COUNT_STATE, 1, state));
	ZTP_CHECK(sq_step(s, ST_DEV_COUNT_STATE, "device_count_state", &row));
	/* No row: no device has ever been in that state. */
	*out =
	    row ? (uint64_t)sqlite3_column_int64(s->st[ST_DEV_COUNT_STATE], 0)
		: 0;
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_cert_count_expiring(void *ctx, const char *profile, int64_t from,
				  int64_t to, uint64_t *out)
{
	const sq_arg args[] = {
	    arg_text(profile),
	    arg_int(from),
	    arg_int(to),
	};
	sq *s = ctx;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_args(s, ST_CERT_EXPIRING, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(sq_step(s, ST_CERT_EXPIRING, "cert_count_expiring", &row));
	ZTP_ENSURE(row, ZTP_ESTORE, "sqlite: cert_count_expiring: no result");
	*out = (uint64_t)sqlite3_column_int64(s->st[ST_CERT_EXPIRING], 0);
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_challenge_use(void *ctx, const uint8_t *id, size_t len,
			    int64_t expires_at, int64_t now)
{
	const sq_arg args[] = {
	    arg_blob(id, len),
	    arg_int(expires_at),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bind_int(s, ST_CHAL_PURGE, 1, now));
	ZTP_CHECK(sq_step(s, ST_CHAL_PURGE, "challenge_use", NULL));
	ZTP_CHECK(bind_args(s, ST_CHAL_INSERT, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(sq_step(s, ST_CHAL_INSERT, "challenge_use", NULL));
	ZTP_ENSURE(sqlite3_changes(s->db) == 1, ZTP_EREPLAY,
		   "store: challenge already used");
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* The last seq used and the chain head (the genesis value before the
 * first event), on statement ST_EVENT_HEAD. */
static int event_head(sq *s, int64_t *seq, uint8_t head[ZTP__AUDIT_HASH_LEN])
{
	sqlite3_stmt *st = s->st[ST_EVENT_HEAD];
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_step(s, ST_EVENT_HEAD, "event_append", &row));
	ZTP_ENSURE(row, ZTP_ESTORE, "sqlite: event_append: no head");
	*seq = sqlite3_column_int64(st, 0);
	memcpy(head, ztp__audit_genesis, ZTP__AUDIT_HASH_LEN);
	if (sqlite3_column_type(st, 1) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 1) == ZTP__AUDIT_HASH_LEN)
		memcpy(head, sqlite3_column_blob(st, 1), ZTP__AUDIT_HASH_LEN);
	sqlite3_reset(st);
cleanup:
	return rc;
}

/* Appended under BEGIN IMMEDIATE: the head read and the row written are
 * one step for every connection and process on the file. */
static int sq_event_append(void *ctx, const char *json, int64_t now)
{
	uint8_t prev[ZTP__AUDIT_HASH_LEN], hash[ZTP__AUDIT_HASH_LEN];
	int64_t last = 0;
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(event_head(s, &last, prev));
	ZTP_ENSURE(last < INT64_MAX, ZTP_ETOOBIG, "store: event log full");
	ZTP_CHECK(
	    ztp__audit_hash(hash, prev, last + 1, now, json, strlen(json)));
	{
		const sq_arg args[] = {
		    arg_int(last + 1),
		    arg_int(now),
		    arg_text(json),
		    arg_blob(prev, sizeof(prev)),
		    arg_blob(hash, sizeof(hash)),
		};

		ZTP_CHECK(
		    bind_args(s, ST_EVENT_INSERT, args, ZTP__ARRAY_LEN(args)));
	}
	ZTP_CHECK(sq_step(s, ST_EVENT_INSERT, "event_append", NULL));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static void blob_of(sq *s, int id, int col, const uint8_t **p, size_t *len)
{
	sqlite3_stmt *st = s->st[id];

	*p = NULL;
	*len = 0;
	if (sqlite3_column_type(st, col) != SQLITE_BLOB)
		return;
	*p = sqlite3_column_blob(st, col);
	*len = (size_t)sqlite3_column_bytes(st, col);
}

static int view_events(void *ctx, int64_t after, size_t max,
		       ztp__store_event_fn fn, void *arg)
{
	sq *s = ctx;
	sqlite3_stmt *st = s->st[ST_EVENT_CHAIN_LIST];
	ztp__store_event_view v;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_int(s, ST_EVENT_CHAIN_LIST, 1, after));
	ZTP_CHECK(bind_int(s, ST_EVENT_CHAIN_LIST, 2, (int64_t)max));
	for (;;) {
		ZTP_CHECK(
		    sq_step(s, ST_EVENT_CHAIN_LIST, "audit events", &row));
		if (!row)
			break;
		memset(&v, 0, sizeof(v));
		v.seq = sqlite3_column_int64(st, 0);
		v.at = sqlite3_column_int64(st, 1);
		ZTP_CHECK(need_text(s, ST_EVENT_CHAIN_LIST, 2, &v.json));
		v.json_len = (size_t)sqlite3_column_bytes(st, 2);
		blob_of(s, ST_EVENT_CHAIN_LIST, 3, &v.prev, &v.prev_len);
		blob_of(s, ST_EVENT_CHAIN_LIST, 4, &v.hash, &v.hash_len);
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	sq_finish(s);
	return rc;
}

static int view_checkpoint_add(void *ctx, const ztp__store_checkpoint_view *cp)
{
	const sq_arg args[] = {
	    arg_int(cp->seq),
	    arg_int(cp->at),
	    arg_blob(cp->head, cp->head_len),
	    arg_blob(cp->sig, cp->sig_len),
	    arg_text(cp->key_id),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_write(s, ST_CHECKPOINT_INSERT, "audit checkpoint", args,
			   ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int view_checkpoints(void *ctx, int64_t after, size_t max,
			    ztp__store_checkpoint_fn fn, void *arg)
{
	sq *s = ctx;
	sqlite3_stmt *st = s->st[ST_CHECKPOINT_LIST];
	ztp__store_checkpoint_view v;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_int(s, ST_CHECKPOINT_LIST, 1, after));
	ZTP_CHECK(bind_int(s, ST_CHECKPOINT_LIST, 2, (int64_t)max));
	for (;;) {
		ZTP_CHECK(
		    sq_step(s, ST_CHECKPOINT_LIST, "audit checkpoints", &row));
		if (!row)
			break;
		memset(&v, 0, sizeof(v));
		v.seq = sqlite3_column_int64(st, 0);
		v.at = sqlite3_column_int64(st, 1);
		blob_of(s, ST_CHECKPOINT_LIST, 2, &v.head, &v.head_len);
		blob_of(s, ST_CHECKPOINT_LIST, 3, &v.sig, &v.sig_len);
		ZTP_CHECK(need_text(s, ST_CHECKPOINT_LIST, 4, &v.key_id));
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_event_list(void *ctx, int64_t after, size_t max, char **json)
{
	const sq_arg args[] = {
	    arg_int(after),
	    arg_int((int64_t)max),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_args(s, ST_EVENT_LIST, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(
	    sq_list(s, ST_EVENT_LIST, "event_list", row_event_json, json));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_counter_next(void *ctx, const char *name, uint64_t *out)
{
	sq *s = ctx;
	int64_t v = 0;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bind_text(s, ST_COUNTER_GET, 1, name));
	ZTP_CHECK(sq_step(s, ST_COUNTER_GET, "counter_next", &row));
	if (row)
		v = sqlite3_column_int64(s->st[ST_COUNTER_GET], 0);
	sqlite3_reset(s->st[ST_COUNTER_GET]);
	ZTP_ENSURE(v < INT64_MAX, ZTP_ETOOBIG, "store: counter %s exhausted",
		   name);
	v++;
	ZTP_CHECK(bind_text(s, ST_COUNTER_PUT, 1, name));
	ZTP_CHECK(bind_int(s, ST_COUNTER_PUT, 2, v));
	ZTP_CHECK(sq_step(s, ST_COUNTER_PUT, "counter_next", NULL));
	ZTP_CHECK(sq_commit(s));
	*out = (uint64_t)v;
cleanup:
	sq_finish(s);
	return rc;
}

/* ------------------------------------------------------------ fleets */

/* Run statement id with args to completion and reset it, inside the
 * caller's transaction. */
static int sq_run(sq *s, int id, const char *what, const sq_arg *args, size_t n)
{
	int rc = ZTP_OK;

	ZTP_CHECK(bind_args(s, id, args, n));
	rc = sq_step(s, id, what, NULL);
cleanup:
	sqlite3_reset(s->st[id]);
	sqlite3_clear_bindings(s->st[id]);
	return rc;
}

/* One record of device_enroll inside the open transaction. */
static int enroll_in_txn(sq *s, const ztp_store_enrollment *e, int *result,
			 int64_t now)
{
	const sq_arg dev[] = {
	    arg_text(e->device_id),	 arg_text(e->fingerprint),
	    arg_text(e->model),		 arg_text(e->batch),
	    arg_int(e->manufactured_at), arg_int(now),
	};
	const sq_arg claim[] = {
	    arg_text(e->device_id),
	    arg_blob(e->claim_hash, e->claim_hash_len),
	};
	const sq_arg key[] = {
	    arg_text(e->device_id),
	    arg_blob(e->factory_key, e->factory_key_len),
	};
	const char *fpr;
	bool row = false;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_DEV_FPR, 1, e->device_id));
	ZTP_CHECK(sq_step(s, ST_DEV_FPR, "device_enroll", &row));
	if (row) {
		ZTP_CHECK(need_text(s, ST_DEV_FPR, 0, &fpr));
		*result = strcmp(fpr, e->fingerprint) == 0 ? ZTP_EEXISTS
							   : ZTP_EMISMATCH;
		goto cleanup;
	}
	sqlite3_reset(s->st[ST_DEV_FPR]);
	ZTP_CHECK(sq_run(s, ST_DEV_INSERT, "device_enroll", dev,
			 ZTP__ARRAY_LEN(dev)));
	ZTP_CHECK(sq_run(s, ST_CLAIM_SET, "device_enroll", claim,
			 ZTP__ARRAY_LEN(claim)));
	if (e->factory_key_len > 0)
		ZTP_CHECK(sq_run(s, ST_DEV_SET_FKEY, "device_enroll", key,
				 ZTP__ARRAY_LEN(key)));
	*result = ZTP_OK;
cleanup:
	sqlite3_reset(s->st[ST_DEV_FPR]);
	return rc;
}

static int sq_device_enroll(void *ctx, const ztp_store_enrollment *recs,
			    size_t n, int *results, int64_t now,
			    int (*before_commit)(void *arg, const int *results),
			    void *arg)
{
	sq *s = ctx;
	size_t i;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	for (i = 0; i < n; i++)
		ZTP_CHECK(enroll_in_txn(s, &recs[i], &results[i], now));
	ZTP_CHECK(before_commit(arg, results));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* device_list's statement for the filters given (prepared once). */
static int list_stmt(sq *s, unsigned mask, sqlite3_stmt **out)
{
	char sql[512];
	size_t o, i;
	int r;

	*out = s->list_st[mask];
	if (*out != NULL)
		return ZTP_OK;
	o = (size_t)snprintf(sql, sizeof(sql),
			     "SELECT " DEVICE_COLUMNS
			     " FROM devices WHERE device_id > ?6");
	for (i = 0; i < ZTP__ARRAY_LEN(list_filters); i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s",
					      list_filters[i]);
	snprintf(sql + o, sizeof(sql) - o, " ORDER BY device_id LIMIT ?7");
	r = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &s->list_st[mask], NULL);
	if (r != SQLITE_OK)
		return sq_fail(s->db, r, "prepare");
	*out = s->list_st[mask];
	return ZTP_OK;
}

static int sq_device_list(void *ctx, const char *state, const char *tenant,
			  const char *model, const char *batch,
			  const char *group, const char *after, size_t max,
			  char **json)
{
	const char *const filters[] = {state, tenant, model, batch, group};
	json_object *arr = NULL, *item = NULL;
	ztp__store_device_view v;
	sqlite3_stmt *st = NULL;
	unsigned mask = 0;
	bool done = false;
	size_t i;
	int r, rc = ZTP_OK;
	sq *s = ctx;

	for (i = 0; i < ZTP__ARRAY_LEN(filters); i++)
		if (filters[i] != NULL)
			mask |= 1u << i;
	ZTP_CHECK(list_stmt(s, mask, &st));
	for (i = 0; i < ZTP__ARRAY_LEN(filters); i++)
		if (filters[i] != NULL)
			ZTP_CHECK(bind_check(s,
					     sqlite3_bind_text(st, (int)i + 1,
							       filters[i], -1,
							       SQLITE_STATIC),
					     "bind"));
	/* Every ID sorts after "": the first page. */
	ZTP_CHECK(
	    bind_check(s,
		       sqlite3_bind_text(st, 6, after != NULL ? after : "", -1,
					 SQLITE_STATIC),
		       "bind"));
	ZTP_CHECK(
	    bind_check(s, sqlite3_bind_int64(st, 7, (int64_t)max), "bind"));
	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	while (!done) {
		r = sqlite3_step(st);
		if (r == SQLITE_DONE) {
			done = true;
			continue;
		}
		if (r != SQLITE_ROW)
			ZTP_CHECK(sq_fail(s->db, r, "device_list"));
		ZTP_CHECK(row_device_view(s, st, &v));
		ZTP_CHECK(ztp__store_device_json(&item, &v));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sq_finish(s);
	return rc;
}

static int row_cert_json(sq *s, int id, json_object **out)
{
	ztp__store_cert_view v;
	int rc = ZTP_OK;

	ZTP_CHECK(row_cert_view(s, id, &v));
	ZTP_CHECK(ztp__store_cert_json(out, &v));
cleanup:
	return rc;
}

static int sq_cert_expiring(void *ctx, int64_t from, int64_t before,
			    int64_t after_time, const char *after_serial,
			    size_t max, char **json)
{
	const sq_arg args[] = {
	    arg_int(after_serial != NULL && after_time > from ? after_time
							      : from),
	    arg_int(before),
	    arg_int(after_time),
	    arg_text(after_serial),
	    arg_int((int64_t)max),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(
	    bind_args(s, ST_CERT_EXPIRING_PAGE, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(sq_list(s, ST_CERT_EXPIRING_PAGE, "cert_expiring",
			  row_cert_json, json));
cleanup:
	sq_finish(s);
	return rc;
}

/* ------------------------------------------------------------ groups */

/* The group row (GROUP_COLUMNS) that statement id stands on. */
static int row_group_view(sq *s, int id, ztp__store_group_view *g)
{
	sqlite3_stmt *st = s->st[id];
	int rc = ZTP_OK;

	memset(g, 0, sizeof(*g));
	ZTP_CHECK(need_text(s, id, 0, &g->group_id));
	ZTP_CHECK(need_text(s, id, 1, &g->issuer));
	g->device_pattern = col_text(s, id, 2);
	g->model = col_text(s, id, 3);
	g->batch = col_text(s, id, 4);
	g->cap = sqlite3_column_int64(st, 5);
	g->expires_at = sqlite3_column_int64(st, 6);
	g->enabled = sqlite3_column_int(st, 7) != 0;
	g->enrolled = sqlite3_column_int64(st, 8);
	g->created_at = sqlite3_column_int64(st, 9);
	g->updated_at = sqlite3_column_int64(st, 10);
cleanup:
	return rc;
}

static int row_group_json(sq *s, int id, json_object **out)
{
	ztp__store_group_view g;
	int rc = ZTP_OK;

	ZTP_CHECK(row_group_view(s, id, &g));
	ZTP_CHECK(ztp__store_group_json(out, &g));
cleanup:
	return rc;
}

/* NULL for an absent integer member (0). */
static sq_arg arg_int_or_null(int64_t v)
{
	return v == 0 ? arg_text(NULL) : arg_int(v);
}

static int sq_group_add(void *ctx, const char *group_id, const char *issuer,
			const char *device_pattern, const char *model,
			const char *batch, int64_t cap, int64_t expires_at,
			int enabled, int64_t now)
{
	const sq_arg args[] = {
	    arg_text(group_id),
	    arg_text(issuer),
	    arg_text(device_pattern),
	    arg_text(model),
	    arg_text(batch),
	    arg_int_or_null(cap),
	    arg_int_or_null(expires_at),
	    arg_int(enabled),
	    arg_int(now),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	rc = sq_write(s, ST_GROUP_INSERT, "group_add", args,
		      ZTP__ARRAY_LEN(args));
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: group %s already exists", group_id);
	ZTP_CHECK(rc);
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_group_get(void *ctx, const char *group_id, char **json)
{
	json_object *obj = NULL;
	bool row = false;
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_text(s, ST_GROUP_GET, 1, group_id));
	ZTP_CHECK(sq_step(s, ST_GROUP_GET, "group_get", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no group %s", group_id);
	ZTP_CHECK(row_group_json(s, ST_GROUP_GET, &obj));
	ZTP_CHECK(ztp__json_dump(json, obj));
cleanup:
	json_object_put(obj);
	sq_finish(s);
	return rc;
}

static int sq_group_list(void *ctx, const char *issuer, const char *after,
			 size_t max, char **json)
{
	const sq_arg args[] = {
	    arg_text(issuer),
	    arg_text(after != NULL ? after : ""),
	    arg_int((int64_t)max),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(bind_args(s, ST_GROUP_LIST, args, ZTP__ARRAY_LEN(args)));
	ZTP_CHECK(
	    sq_list(s, ST_GROUP_LIST, "group_list", row_group_json, json));
cleanup:
	sq_finish(s);
	return rc;
}

static int sq_group_set_enabled(void *ctx, const char *group_id, int enabled,
				int64_t now)
{
	const sq_arg args[] = {
	    arg_text(group_id),
	    arg_int(enabled),
	    arg_int(now),
	};
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_write(s, ST_GROUP_SET_ENABLED, "group_set_enabled", args,
			   ZTP__ARRAY_LEN(args)));
	ZTP_ENSURE(sqlite3_changes(s->db) == 1, ZTP_ENOTFOUND,
		   "store: no group %s", group_id);
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* Every check, the device and the count in one transaction: two
 * bootstraps racing for the last place of a capped group cannot both
 * get it. */
static int sq_group_enroll(void *ctx, const char *group_id,
			   const char *device_id, const char *fingerprint,
			   const uint8_t *spki, size_t len, int64_t now)
{
	const sq_arg dev[] = {
	    arg_text(device_id), arg_text(fingerprint), arg_int(now),
	    arg_blob(spki, len), arg_text(group_id),
	};
	const sq_arg count[] = {
	    arg_text(group_id),
	    arg_int(now),
	};
	ztp__store_group_view g;
	bool row = false;
	sq *s = ctx;
	int rc = ZTP_OK;

	ZTP_CHECK(sq_begin(s));
	ZTP_CHECK(bind_text(s, ST_GROUP_GET, 1, group_id));
	ZTP_CHECK(sq_step(s, ST_GROUP_GET, "group_enroll", &row));
	ZTP_ENSURE(row, ZTP_ENOTFOUND, "store: no group %s", group_id);
	ZTP_CHECK(row_group_view(s, ST_GROUP_GET, &g));
	ZTP_ENSURE(g.enabled, ZTP_ESTATE, "store: group %s is disabled",
		   group_id);
	ZTP_ENSURE(g.expires_at == 0 || now <= g.expires_at, ZTP_EEXPIRED,
		   "store: group %s expired", group_id);
	ZTP_ENSURE(g.cap == 0 || g.enrolled < g.cap, ZTP_ETOOBIG,
		   "store: group %s is full (%lld devices)", group_id,
		   (long long)g.cap);
	sqlite3_reset(s->st[ST_GROUP_GET]);
	rc = sq_run(s, ST_GROUP_DEV_INSERT, "group_enroll", dev,
		    ZTP__ARRAY_LEN(dev));
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: device %s already exists", device_id);
	ZTP_CHECK(rc);
	ZTP_CHECK(sq_run(s, ST_GROUP_COUNT, "group_enroll", count,
			 ZTP__ARRAY_LEN(count)));
	ZTP_CHECK(sq_commit(s));
cleanup:
	sq_finish(s);
	return rc;
}

/* ------------------------------------------------------------ open, close */

static void sq_close(void *ctx)
{
	sq *s = ctx;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < LIST_VARIANTS; i++)
		sqlite3_finalize(s->list_st[i]);
	/* Every statement is finalised, so this cannot be busy. */
	sqlite3_close(s->db);
	free(s);
}

/* Run a constant statement that returns at most one integer row. */
static int sq_pragma_int(sqlite3 *db, const char *sql, int64_t *out,
			 const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc = ZTP_OK;

	*out = 0;
	r = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (r != SQLITE_OK)
		ZTP_CHECK(sq_fail(db, r, what));
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (r != SQLITE_DONE)
		ZTP_CHECK(sq_fail(db, r, what));
cleanup:
	sqlite3_finalize(st);
	return rc;
}

static int sq_exec(sqlite3 *db, const char *sql, const char *what)
{
	int r = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return r == SQLITE_OK ? ZTP_OK : sq_fail(db, r, what);
}

static int sq_journal_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int r, rc = ZTP_OK;

	r = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (r != SQLITE_OK)
		ZTP_CHECK(sq_fail(db, r, "open"));
	r = sqlite3_step(st);
	if (r != SQLITE_ROW)
		ZTP_CHECK(sq_fail(db, r, "open"));
	mode = (const char *)sqlite3_column_text(st, 0);
	ZTP_ENSURE(mode != NULL && strcmp(mode, "wal") == 0, ZTP_ESTORE,
		   "sqlite: open: cannot enable WAL (journal mode %s)",
		   mode != NULL ? mode : "unknown");
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/* Chain the events written before version 5, in seq order, then make the
 * table append-only again (the last step of that migration). */
static int sq_chain_events(sqlite3 *db)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	uint8_t prev[ZTP__AUDIT_HASH_LEN], hash[ZTP__AUDIT_HASH_LEN];
	int r, rc = ZTP_OK;

	memcpy(prev, ztp__audit_genesis, sizeof(prev));
	r = sqlite3_prepare_v2(db,
			       "SELECT seq, at, json FROM events ORDER BY seq",
			       -1, &sel, NULL);
	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(
		    db, "UPDATE events SET prev = ?2, hash = ?3 WHERE seq = ?1",
		    -1, &upd, NULL);
	if (r != SQLITE_OK)
		ZTP_CHECK(sq_fail(db, r, "schema migration"));
	while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *json = (const char *)sqlite3_column_text(sel, 2);

		ZTP_ENSURE(json != NULL, ZTP_ESTORE,
			   "sqlite: schema migration: event without text");
		ZTP_CHECK(
		    ztp__audit_hash(hash, prev, sqlite3_column_int64(sel, 0),
				    sqlite3_column_int64(sel, 1), json,
				    (size_t)sqlite3_column_bytes(sel, 2)));
		sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_blob(upd, 2, prev, sizeof(prev), SQLITE_STATIC);
		sqlite3_bind_blob(upd, 3, hash, sizeof(hash), SQLITE_STATIC);
		r = sqlite3_step(upd);
		if (r != SQLITE_DONE)
			ZTP_CHECK(sq_fail(db, r, "schema migration"));
		sqlite3_reset(upd);
		memcpy(prev, hash, sizeof(prev));
	}
	if (r != SQLITE_DONE)
		ZTP_CHECK(sq_fail(db, r, "schema migration"));
	ZTP_CHECK(
	    sq_exec(db,
		    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
		    " BEGIN SELECT RAISE(ABORT, 'events are append-only');"
		    " END;"
		    "PRAGMA user_version = 5;",
		    "schema migration"));
cleanup:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

static int sq_migrate(sqlite3 *db)
{
	const int64_t latest = (int64_t)ZTP__ARRAY_LEN(migrations);
	int64_t version, app_id, objects;
	bool in_txn = false;
	int rc = ZTP_OK;

	/* IMMEDIATE: two processes opening a new file must not both create
	 * the schema. */
	ZTP_CHECK(sq_exec(db, "BEGIN IMMEDIATE", "open"));
	in_txn = true;
	ZTP_CHECK(sq_pragma_int(db, "PRAGMA user_version", &version, "open"));
	ZTP_CHECK(sq_pragma_int(db, "PRAGMA application_id", &app_id, "open"));
	ZTP_CHECK(sq_pragma_int(db, "SELECT count(*) FROM sqlite_master",
				&objects, "open"));
	ZTP_ENSURE((version == 0 && app_id == 0 && objects == 0) ||
		       app_id == ZTP__SQLITE_APP_ID,
		   ZTP_ESTORE, "sqlite: open: not a libztp registry");
	ZTP_ENSURE(version <= latest, ZTP_ESTORE,
		   "sqlite: open: schema version %lld is newer than this "
		   "library's %lld",
		   (long long)version, (long long)latest);
	ZTP_ENSURE(version >= 0, ZTP_ESTORE,
		   "sqlite: open: bad schema version %lld", (long long)version);
	for (; version < latest; version++) {
		ZTP_CHECK(sq_exec(db, migrations[version], "schema migration"));
		if (version + 1 == CHAIN_VERSION)
			ZTP_CHECK(sq_chain_events(db));
	}
	ZTP_CHECK(sq_exec(db, "COMMIT", "schema migration"));
	in_txn = false;
cleanup:
	if (in_txn)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * A step of opening the file, retried while another connection holds the
 * lock it needs, for at most ZTP__SQLITE_BUSY_MS. The busy handler does
 * not cover these: changing a new file to WAL mode needs an exclusive lock
 * that SQLite does not wait for, so processes opening one registry at the
 * same time (ztp-verify enroll in parallel) saw SQLITE_BUSY at once.
 */
static int sq_open_step(sqlite3 *db, int (*step)(sqlite3 *))
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	int waited = 0, rc, code;

	for (;;) {
		rc = step(db);
		code = sqlite3_errcode(db) & 0xff;
		if (rc != ZTP_ESTORE ||
		    (code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
		    waited >= ZTP__SQLITE_BUSY_MS)
			return rc;
		nanosleep(&pause, NULL);
		waited += 10;
	}
}

/* A store file whose owner took every write bit away is read-only by
 * intent; honour that even for a process that could write anyway (root),
 * instead of finding out at the first issuance. */
static int check_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return ZTP_OK;
		return ztp__err(ZTP_ESTORE, "sqlite: open: cannot stat: %s",
				strerror(errno));
	}
	if (S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0)
		return ztp__err(ZTP_ESTORE,
				"sqlite: open: database is read-only (file "
				"mode %03o)",
				(unsigned)(st.st_mode & 0777));
	return ZTP_OK;
}

int ztp__store_sqlite_open(ztp_store_backend *be, void **ctx, const char *path)
{
	static const ztp_store_backend ops = {
	    .version = ZTP_STORE_BACKEND_VERSION,
	    .flags = 0,
	    .close = sq_close,
	    .device_add = sq_device_add,
	    .device_get = sq_device_get,
	    .device_set_state = sq_device_set_state,
	    .device_set_info = sq_device_set_info,
	    .claim_set = sq_claim_set,
	    .claim_take = sq_claim_take,
	    .cert_add = sq_cert_add,
	    .cert_get = sq_cert_get,
	    .cert_revoke = sq_cert_revoke,
	    .device_revoke_certs = sq_device_revoke_certs,
	    .revoked_list = sq_revoked_list,
	    .device_certs = sq_device_certs,
	    .cert_count = sq_cert_count,
	    .challenge_use = sq_challenge_use,
	    .event_append = sq_event_append,
	    .event_list = sq_event_list,
	    .counter_next = sq_counter_next,
	    .limit_take = sq_limit_take,
	    .claim_attempt = sq_claim_attempt,
	    .device_set_factory_key = sq_device_set_factory_key,
	    .cert_add_issued = sq_cert_add_issued,
	    .revoked_list_issuer = sq_revoked_list_issuer,
	    .device_count_state = sq_device_count_state,
	    .cert_count_expiring = sq_cert_count_expiring,
	    .device_enroll = sq_device_enroll,
	    .device_list = sq_device_list,
	    .cert_expiring = sq_cert_expiring,
	    .group_add = sq_group_add,
	    .group_get = sq_group_get,
	    .group_list = sq_group_list,
	    .group_set_enabled = sq_group_set_enabled,
	    .group_enroll = sq_group_enroll,
	};
	sq *s = NULL;
	int64_t fk;
	size_t len, i;
	int r, rc = ZTP_OK;

	*ctx = NULL;
	len = strnlen(path, ZTP__SQLITE_PATH_MAX + 1);
	ZTP_ENSURE(len > 0, ZTP_EINVAL, "store URI: sqlite: needs a path");
	ZTP_ENSURE(len <= ZTP__SQLITE_PATH_MAX, ZTP_EINVAL,
		   "store URI: sqlite: path over %d bytes",
		   ZTP__SQLITE_PATH_MAX);
	/* A path is a path: never an SQLite URI with its own options,
	 * whatever the SQLite build's defaults. */
	ZTP_ENSURE(strncmp(path, "file:", 5) != 0, ZTP_EINVAL,
		   "store URI: sqlite: file: URIs are not accepted");
	ZTP_CHECK(check_path(path));
	s = ztp__calloc(1, sizeof(*s));
	ZTP_ENSURE(s != NULL, ZTP_ENOMEM, "store: out of memory");
	r = sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_FULLMUTEX,
			    NULL);
	if (r != SQLITE_OK)
		ZTP_CHECK(sq_fail(s->db, r, "open"));
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, ZTP__SQLITE_BUSY_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
	/* No writable_schema or other ways to corrupt the file by SQL. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#endif
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif
	ZTP_ENSURE(sqlite3_db_readonly(s->db, "main") == 0, ZTP_ESTORE,
		   "sqlite: open: database is read-only");
	/* The first statement that reads the file: a file that is not a
	 * database, or is damaged, fails here. */
	ZTP_CHECK(sq_open_step(s->db, sq_journal_wal));
	ZTP_CHECK(sq_exec(s->db, "PRAGMA foreign_keys = ON", "open"));
	ZTP_CHECK(sq_pragma_int(s->db, "PRAGMA foreign_keys", &fk, "open"));
	ZTP_ENSURE(fk == 1, ZTP_ESTORE,
		   "sqlite: open: SQLite lacks foreign key support");
	ZTP_CHECK(sq_exec(s->db, "PRAGMA synchronous = FULL", "open"));
	/* Deleted claim hashes and challenges are overwritten, not left in
	 * free pages. */
	ZTP_CHECK(sq_exec(s->db, "PRAGMA secure_delete = ON", "open"));
	ZTP_CHECK(sq_open_step(s->db, sq_migrate));
	for (i = 0; i < ST__COUNT; i++) {
		r = sqlite3_prepare_v3(s->db, sql_text[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL);
		if (r != SQLITE_OK)
			ZTP_CHECK(sq_fail(s->db, r, "prepare"));
	}
	*be = ops;
	*ctx = s;
	s = NULL;
cleanup:
	if (s != NULL)
		sq_close(s);
	return rc;
}
