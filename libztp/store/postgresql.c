/*
 * libztp — the `postgresql://` store backend, on libpq.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Several verifier instances share one registry here, so every invariant
 * is the database's: unique keys for serials, devices and challenges, and
 * row locks for read-check-write steps (doc/POSTGRESQL.md says why row
 * locks at READ COMMITTED rather than SERIALIZABLE):
 * - a state transition is one UPDATE whose WHERE names the expected state:
 *   a concurrent writer waits for the row and re-evaluates the condition
 *   on the newest version, so a compare-and-set has one winner;
 * - claim_take locks the device row (SELECT ... FOR UPDATE), then reads
 *   the claim in a statement of its own, whose snapshot is taken after the
 *   lock was granted and so sees a winner's deletion;
 * - a challenge is a primary key, inserted once (an expired record counts
 *   as absent);
 * - event sequence numbers and the audit chain's hashes are handed out
 *   under the row lock of the one-row audit_head table (the last seq and
 *   its hash), so they are gap-free and commit in order: a reader paging
 *   with "seq > after" never skips an event committed late, and each
 *   event's prev is the hash of the one committed before it;
 * - purges of expired challenges and full buckets SKIP LOCKED rows, so
 *   they never wait; the only waits are on the row an operation is about
 *   (device row before bucket row), which cannot deadlock;
 * - the per-state device counts (device_states, 16 shards a state) are
 *   kept by a trigger in the writing transaction, after the device row is
 *   locked, and a transition locks its two count rows of its shard in the
 *   order of the state names, so transitions in opposite directions
 *   cannot deadlock either.
 *
 * Every write runs in BEGIN ... COMMIT on one pooled connection. A
 * connection lost before COMMIT was sent rolled back on the server, so the
 * whole transaction is retried on a new connection (bounded); one lost
 * while COMMIT was in flight has an unknown outcome and is reported, never
 * retried. Reads are retried likewise. SQL is constant text with bound
 * parameters only; results are read in binary.
 */
#include "store/internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

/* Connections per handle, opened as threads need them. */
#define PG_POOL_MAX 8
/* Tries of one operation: after a lost connection, a failed connect, a
 * serialization failure or a deadlock. Pauses 50, 200, 800 ms. */
#define PG_ATTEMPTS 4
#define PG_ARGS_MAX 10
/* Rows one purge removes: bounded work per call, and still faster than
 * one new row per call. */
#define PG_PURGE_MAX "256"
#define PG_URI_MAX 4096

/* Catalog type OIDs (pg_type.dat, fixed since PostgreSQL 7). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

/* Migration i takes the schema from version i to i + 1, in the same
 * transaction as the others and the version update. The data model of
 * version N is that of the sqlite: backend's user_version N. Append
 * only. */
static const char *const migrations[] = {
    /* v1 */
    "CREATE TABLE ztp_schema ("
    " one boolean PRIMARY KEY DEFAULT true CHECK (one),"
    " application text NOT NULL CHECK (application = 'libztp'),"
    " version integer NOT NULL);"
    "INSERT INTO ztp_schema(application, version) VALUES('libztp', 1);"
    "CREATE TABLE devices ("
    " device_id text COLLATE \"C\" PRIMARY KEY,"
    " fingerprint text NOT NULL,"
    " model text,"
    " batch text,"
    " manufactured_at bigint NOT NULL,"
    " state text NOT NULL CHECK (state IN ('manufactured', 'bootstrapped',"
    "  'registered', 'active', 'reset', 'revoked')),"
    " tenant text,"
    " info text,"
    " updated_at bigint NOT NULL);"
    "CREATE TABLE claims ("
    " device_id text COLLATE \"C\" PRIMARY KEY"
    "  REFERENCES devices(device_id) ON DELETE CASCADE,"
    " hash bytea NOT NULL CHECK (length(hash) BETWEEN 1 AND 64));"
    "CREATE TABLE certs ("
    " seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,"
    " serial text COLLATE \"C\" PRIMARY KEY,"
    " device_id text COLLATE \"C\" REFERENCES devices(device_id),"
    " profile text NOT NULL,"
    " not_before bigint NOT NULL,"
    " not_after bigint NOT NULL,"
    " fingerprint text NOT NULL,"
    " issued_at bigint NOT NULL,"
    " revoked boolean NOT NULL DEFAULT false,"
    " revoked_at bigint,"
    " reason integer);"
    "CREATE INDEX certs_by_device ON certs(device_id, seq);"
    "CREATE INDEX certs_revoked ON certs(length(serial), serial)"
    " WHERE revoked;"
    "CREATE TABLE challenges ("
    " id bytea PRIMARY KEY,"
    " expires_at bigint NOT NULL);"
    "CREATE INDEX challenges_by_expiry ON challenges(expires_at);"
    "CREATE TABLE events ("
    " seq bigint PRIMARY KEY CHECK (seq >= 1),"
    " at bigint NOT NULL,"
    " json text NOT NULL);"
    "CREATE FUNCTION ztp_events_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION 'events are append-only'; END$$;"
    "CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events"
    " FOR EACH ROW EXECUTE FUNCTION ztp_events_append_only();"
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events"
    " FOR EACH STATEMENT EXECUTE FUNCTION ztp_events_append_only();"
    "CREATE TABLE counters ("
    " name text COLLATE \"C\" PRIMARY KEY,"
    " value bigint NOT NULL CHECK (value >= 1));",
    /* v2: the factory key, and rate-limit buckets shared by every
     * instance (full_at <= now: full again, the same as none). */
    "ALTER TABLE devices ADD COLUMN factory_key bytea"
    " CHECK (factory_key IS NULL OR length(factory_key) BETWEEN 1 AND 4096);"
    "CREATE TABLE limits ("
    " scope text COLLATE \"C\" NOT NULL,"
    " key text COLLATE \"C\" NOT NULL,"
    " tokens double precision NOT NULL,"
    " last bigint NOT NULL,"
    " full_at bigint NOT NULL,"
    " PRIMARY KEY (scope, key));"
    "CREATE INDEX limits_by_full ON limits(full_at);"
    "UPDATE ztp_schema SET version = 2;",
    /* v3: each certificate's issuer (key identifier, hex); earlier rows
     * are of unknown issuer (NULL), which every CA's CRL lists. */
    "ALTER TABLE certs ADD COLUMN issuer text"
    " CHECK (issuer IS NULL OR length(issuer) BETWEEN 2 AND 128);"
    "CREATE INDEX certs_revoked_by_issuer ON certs(issuer)"
    " WHERE revoked;"
    "UPDATE ztp_schema SET version = 3;",
    /* v4: what a metrics scrape reads without reading every row. A count
     * per device state, kept by a trigger in the transaction of every
     * write that changes a state (rows from before are counted here, with
     * writers of devices kept out until the migration commits), and the
     * certificates not revoked by profile and expiry. The count of a
     * state is the sum of 16 shards, one per server process modulo 16, so
     * that concurrent writers of one state (bulk device_add) do not wait
     * for one row until each other's commit; a shard alone may go
     * negative. A transition locks its two rows of its shard in the order
     * of the state names, so opposite transitions never deadlock. */
    "LOCK TABLE devices IN SHARE ROW EXCLUSIVE MODE;"
    "CREATE TABLE device_states ("
    " state text COLLATE \"C\" NOT NULL,"
    " shard integer NOT NULL CHECK (shard BETWEEN 0 AND 15),"
    " n bigint NOT NULL,"
    " PRIMARY KEY (state, shard));"
    "INSERT INTO device_states(state, shard, n)"
    " SELECT state, 0, count(*) FROM devices GROUP BY state;"
    "CREATE FUNCTION ztp_device_states() RETURNS trigger"
    " LANGUAGE plpgsql AS $$"
    "DECLARE s integer := pg_backend_pid() % 16;"
    "BEGIN"
    " IF TG_OP = 'INSERT' THEN"
    "  INSERT INTO device_states VALUES(NEW.state, s, 1)"
    "   ON CONFLICT (state, shard) DO UPDATE SET n = device_states.n + 1;"
    " ELSIF TG_OP = 'DELETE' THEN"
    "  INSERT INTO device_states VALUES(OLD.state, s, -1)"
    "   ON CONFLICT (state, shard) DO UPDATE SET n = device_states.n - 1;"
    " ELSIF OLD.state < NEW.state THEN"
    "  INSERT INTO device_states VALUES(OLD.state, s, -1)"
    "   ON CONFLICT (state, shard) DO UPDATE SET n = device_states.n - 1;"
    "  INSERT INTO device_states VALUES(NEW.state, s, 1)"
    "   ON CONFLICT (state, shard) DO UPDATE SET n = device_states.n + 1;"
    " ELSIF OLD.state > NEW.state THEN"
    "  INSERT INTO device_states VALUES(NEW.state, s, 1)"
    "   ON CONFLICT (state, shard) DO UPDATE SET n = device_states.n + 1;"
    "  INSERT INTO device_states VALUES(OLD.state, s, -1)"
    "   ON CONFLICT (state, shard) DO UPDATE SET n = device_states.n - 1;"
    " END IF;"
    " RETURN NULL;"
    "END$$;"
    "CREATE TRIGGER device_states_count"
    " AFTER INSERT OR DELETE OR UPDATE OF state ON devices"
    " FOR EACH ROW EXECUTE FUNCTION ztp_device_states();"
    "CREATE INDEX certs_live_by_expiry ON certs(profile, not_after)"
    " WHERE NOT revoked;"
    "UPDATE ztp_schema SET version = 4;",
    /* v5: the audit chain (doc/AUDIT.md). Each event keeps the hash of
     * the one before and its own; audit_head holds the last seq handed
     * out and its hash, and its row lock is what appends take turns on.
     * The events already there are chained by chain_events() in this
     * transaction, which then makes prev and hash mandatory (an older
     * library still appending fails rather than breaking the chain),
     * enables the append-only trigger again and sets the version.
     * Signed checkpoints are append-only too. */
    "LOCK TABLE events IN ACCESS EXCLUSIVE MODE;"
    "ALTER TABLE events ADD COLUMN prev bytea, ADD COLUMN hash bytea,"
    " DISABLE TRIGGER events_no_change;"
    "CREATE TABLE audit_head ("
    " one boolean PRIMARY KEY DEFAULT true CHECK (one),"
    " seq bigint NOT NULL CHECK (seq >= 0),"
    " hash bytea NOT NULL CHECK (length(hash) = 32));"
    "CREATE TABLE checkpoints ("
    " seq bigint PRIMARY KEY CHECK (seq >= 1),"
    " at bigint NOT NULL,"
    " head bytea NOT NULL CHECK (length(head) = 32),"
    " sig bytea NOT NULL CHECK (length(sig) BETWEEN 1 AND 1024),"
    " key_id text NOT NULL CHECK (length(key_id) BETWEEN 1 AND 128));"
    "CREATE FUNCTION ztp_checkpoints_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION 'checkpoints are append-only'; END$$;"
    "CREATE TRIGGER checkpoints_no_change"
    " BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints"
    " FOR EACH STATEMENT EXECUTE FUNCTION ztp_checkpoints_append_only();",
    /* ---- Fleet migrations: sqlite's v6 and v7. pg's numbering mirrors
     * sqlite's, so these two follow the state counts and the audit chain
     * (v4, v5). They touch only indexes of devices and certs, the groups
     * table and devices.enroll_group, and each advances the version by
     * one, so they are right whatever the migrations before them hold. */
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
    " WHERE NOT revoked;"
    "UPDATE ztp_schema SET version = version + 1;",
    /* v7: enrollment groups, and the group that enrolled a device (NULL:
     * enrolled one by one, like every row from before). */
    "CREATE TABLE groups ("
    " group_id text COLLATE \"C\" PRIMARY KEY,"
    " issuer text COLLATE \"C\" NOT NULL CHECK (length(issuer) = 64),"
    " device_pattern text,"
    " model text,"
    " batch text,"
    " cap bigint CHECK (cap IS NULL OR cap >= 1),"
    " expires_at bigint,"
    " enabled boolean NOT NULL,"
    " enrolled bigint NOT NULL DEFAULT 0 CHECK (enrolled >= 0),"
    " created_at bigint NOT NULL,"
    " updated_at bigint NOT NULL);"
    "CREATE INDEX groups_by_issuer ON groups(issuer, group_id);"
    "ALTER TABLE devices ADD COLUMN enroll_group text COLLATE \"C\""
    " REFERENCES groups(group_id);"
    "CREATE INDEX devices_by_group ON devices(enroll_group, device_id)"
    " WHERE enroll_group IS NOT NULL;"
    "UPDATE ztp_schema SET version = version + 1;",
};

/* The schema version whose migration ends in chain_events(). */
#define CHAIN_VERSION 5
/* Events chain_events() reads at a time. */
#define CHAIN_PAGE 1000

#define CERT_COLUMNS                                                           \
	"serial, device_id, profile, not_before, not_after, fingerprint, "     \
	"issued_at, revoked, revoked_at, reason, issuer"
#define DEVICE_COLUMNS                                                         \
	"device_id, fingerprint, model, batch, manufactured_at, state, "       \
	"tenant, info, updated_at, factory_key, enroll_group"

/* One pooled connection; conn NULL until first needed. */
typedef struct pg_slot {
	PGconn *conn;
	bool busy;
} pg_slot;

typedef struct pg {
	char *uri;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	pg_slot slots[PG_POOL_MAX];
	int max_version; /* schema version to migrate to (tests: lower) */
} pg;

/* One attempt of one operation on one connection. */
typedef struct pgx {
	pg *p;
	pg_slot *slot;
	PGconn *c;
	bool lost;	 /* the connection broke during the attempt */
	bool committing; /* ... and COMMIT had been sent */
	char sqlstate[6];
} pgx;

/* The parameters of one statement, $1, $2, ... in order. Integers, floats
 * and bytes travel in binary, text as text. */
typedef struct pg_args {
	int n;
	Oid type[PG_ARGS_MAX];
	const char *val[PG_ARGS_MAX];
	int len[PG_ARGS_MAX];
	int fmt[PG_ARGS_MAX];
	unsigned char num[PG_ARGS_MAX][8];
} pg_args;

/* ------------------------------------------------------------ parameters */

static pg_args *a_put(pg_args *a, Oid type, const void *v, int len, int fmt)
{
	/* The statements are constant: overflow is a programming error,
	 * caught by every test of the operation. */
	if (a->n < PG_ARGS_MAX) {
		a->type[a->n] = type;
		a->val[a->n] = v;
		a->len[a->n] = len;
		a->fmt[a->n] = fmt;
		a->n++;
	}
	return a;
}

static void a_text(pg_args *a, const char *s)
{
	a_put(a, OID_TEXT, s, 0, 0);
}

static void be64(unsigned char out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static void a_int(pg_args *a, int64_t v)
{
	if (a->n < PG_ARGS_MAX)
		be64(a->num[a->n], (uint64_t)v);
	a_put(a, OID_INT8, NULL, 8, 1);
}

static void a_float(pg_args *a, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	if (a->n < PG_ARGS_MAX)
		be64(a->num[a->n], bits);
	a_put(a, OID_FLOAT8, NULL, 8, 1);
}

static void a_bytes(pg_args *a, const uint8_t *p, size_t len)
{
	a_put(a, OID_BYTEA, p, (int)len, 1);
}

/* Point the binary numbers' values at their bytes, once a's address is
 * final: just before it is sent. */
static void a_ready(pg_args *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (a->type[i] == OID_INT8 || a->type[i] == OID_FLOAT8)
			a->val[i] = (const char *)a->num[i];
}

/* ------------------------------------------------------------ results */

static uint64_t rd_be(const unsigned char *p, int len)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < len; i++)
		v = (v << 8) | p[i];
	return v;
}

/* NULL for SQL NULL. Binary text values are followed by a NUL. */
static const char *col_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int need_text(const PGresult *r, int row, int col, const char **out)
{
	*out = col_text(r, row, col);
	if (*out != NULL)
		return ZTP_OK;
	return ztp__err(ZTP_ESTORE, "postgresql: unexpected NULL in column %d",
			col);
}

/* A 2-, 4- or 8-byte integer column (SQL NULL reads 0), or an 8-byte
 * float's bits. */
static int col_int(const PGresult *r, int row, int col, int64_t *out)
{
	int len = PQgetlength(r, row, col);
	uint64_t v;

	*out = 0;
	if (PQgetisnull(r, row, col))
		return ZTP_OK;
	if (len != 2 && len != 4 && len != 8)
		return ztp__err(ZTP_ESTORE,
				"postgresql: column %d: %d-byte integer", col,
				len);
	v = rd_be((const unsigned char *)PQgetvalue(r, row, col), len);
	if (len == 2)
		*out = (int16_t)v;
	else if (len == 4)
		*out = (int32_t)v;
	else
		*out = (int64_t)v;
	return ZTP_OK;
}

static int col_bool(const PGresult *r, int row, int col, bool *out)
{
	*out = false;
	if (PQgetisnull(r, row, col))
		return ZTP_OK;
	if (PQgetlength(r, row, col) != 1)
		return ztp__err(ZTP_ESTORE, "postgresql: column %d: not bool",
				col);
	*out = PQgetvalue(r, row, col)[0] != 0;
	return ZTP_OK;
}

static int col_float(const PGresult *r, int row, int col, double *out)
{
	uint64_t bits;

	*out = 0;
	if (PQgetlength(r, row, col) != 8 || PQgetisnull(r, row, col))
		return ztp__err(ZTP_ESTORE, "postgresql: column %d: not float8",
				col);
	bits = rd_be((const unsigned char *)PQgetvalue(r, row, col), 8);
	memcpy(out, &bits, sizeof(*out));
	return ZTP_OK;
}

/* Rows a command changed. */
static int64_t changed(const PGresult *r)
{
	const char *s = PQcmdTuples((PGresult *)r);
	int64_t v = 0;

	for (; *s >= '0' && *s <= '9' && v < INT64_MAX / 10; s++)
		v = v * 10 + (*s - '0');
	return v;
}

/* ------------------------------------------------------------ errors */

/* libpq's message, one line: its messages end in a newline and may have
 * several. */
static void one_line(char *out, size_t cap, const char *msg)
{
	size_t i = 0;

	for (; msg != NULL && *msg != '\0' && i + 1 < cap; msg++) {
		char ch =
		    *msg == '\n' || *msg == '\r' || *msg == '\t' ? ' ' : *msg;

		if (ch == ' ' && (i == 0 || out[i - 1] == ' '))
			continue;
		out[i++] = ch;
	}
	while (i > 0 && out[i - 1] == ' ')
		i--;
	out[i] = '\0';
}

static bool state_is(const pgx *x, const char *code)
{
	return strcmp(x->sqlstate, code) == 0;
}

static bool retry_state(const pgx *x)
{
	/* serialization_failure, deadlock_detected */
	return state_is(x, "40001") || state_is(x, "40P01");
}

/* A statement's failure as a ztp code with the server's words as detail.
 * Uniqueness and foreign-key violations are the caller's mistake and get
 * the codes that say so; the operations replace their detail. */
static int pg_fail(pgx *x, const PGresult *r, const char *what)
{
	const char *st =
	    r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *m =
	    r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[256];

	snprintf(x->sqlstate, sizeof(x->sqlstate), "%s", st != NULL ? st : "");
	one_line(msg, sizeof(msg), m != NULL ? m : PQerrorMessage(x->c));
	if (PQstatus(x->c) == CONNECTION_BAD ||
	    strncmp(x->sqlstate, "08", 2) == 0 ||
	    strncmp(x->sqlstate, "57P", 3) == 0) {
		x->lost = true;
		return ztp__err(ZTP_ESTORE,
				"postgresql: %s: connection lost (%s)", what,
				msg);
	}
	if (r == NULL)
		return ztp__err(ZTP_ENOMEM, "postgresql: %s: out of memory",
				what);
	if (state_is(x, "23505"))
		return ztp__err(ZTP_EEXISTS, "postgresql: %s: record exists",
				what);
	if (state_is(x, "23503"))
		return ztp__err(ZTP_ENOTFOUND,
				"postgresql: %s: referenced record missing",
				what);
	if (state_is(x, "57014"))
		return ztp__err(ZTP_ESTORE,
				"postgresql: %s: statement timed out (%s)",
				what, msg);
	if (state_is(x, "25006"))
		return ztp__err(ZTP_ESTORE,
				"postgresql: %s: database is read-only (%s)",
				what, msg);
	return ztp__err(ZTP_ESTORE, "postgresql: %s: %s%s%s%s", what, msg,
			x->sqlstate[0] != '\0' ? " (SQLSTATE " : "",
			x->sqlstate, x->sqlstate[0] != '\0' ? ")" : "");
}

/* ------------------------------------------------------------ statements */

/* Run one statement. On ZTP_OK, *out (if not NULL) holds its result for
 * the caller to PQclear(). */
static int pg_exec(pgx *x, const char *sql, pg_args *a, const char *what,
		   PGresult **out)
{
	pg_args none = {0};
	PGresult *r;
	ExecStatusType st;

	if (out != NULL)
		*out = NULL;
	if (a == NULL)
		a = &none;
	a_ready(a);
	r = PQexecParams(x->c, sql, a->n, a->type, a->val, a->len, a->fmt, 1);
	st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = pg_fail(x, r, what);

		PQclear(r);
		return rc;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return ZTP_OK;
}

static int pg_begin(pgx *x)
{
	return pg_exec(x, "BEGIN", NULL, "begin transaction", NULL);
}

static int pg_commit(pgx *x)
{
	x->committing = true;
	return pg_exec(x, "COMMIT", NULL, "commit", NULL);
}

/* ------------------------------------------------------------ connections */

static void no_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * Open a connection. Defaults that bound every wait come first and the
 * URI may change them; the client encoding comes after it and may not
 * (every string in the store is UTF-8). A server default of "no statement
 * timeout" is replaced with 10 s, so that a lock wait or a stuck server
 * ends in an error rather than a hung request.
 */
static int pg_connect(pgx *x)
{
	static const char *const keys[] = {
	    "connect_timeout",	"keepalives_idle",  "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", "fallback_application_name",
	    "dbname",		"client_encoding",  NULL,
	};
	const char *vals[] = {
	    "10", "30", "10", "3", "30000", "libztp", x->p->uri, "UTF8", NULL,
	};
	const char *enc;
	char msg[256];
	PGconn *c;
	int rc = ZTP_OK;

	c = PQconnectdbParams(keys, vals, 1);
	ZTP_ENSURE(c != NULL, ZTP_ENOMEM, "postgresql: out of memory");
	x->c = c;
	if (PQstatus(c) != CONNECTION_OK) {
		one_line(msg, sizeof(msg), PQerrorMessage(c));
		x->lost = true;
		ZTP_ENSURE(false, ZTP_ESTORE, "postgresql: cannot connect: %s",
			   msg);
	}
	PQsetNoticeProcessor(c, no_notices, NULL);
	ZTP_ENSURE(PQserverVersion(c) >= 120000, ZTP_ESTORE,
		   "postgresql: server version %d is older than 12",
		   PQserverVersion(c));
	enc = PQparameterStatus(c, "server_encoding");
	ZTP_ENSURE(enc != NULL && strcmp(enc, "UTF8") == 0, ZTP_ESTORE,
		   "postgresql: database encoding is %s, not UTF8",
		   enc != NULL ? enc : "unknown");
	ZTP_CHECK(pg_exec(
	    x,
	    "SELECT CASE WHEN current_setting('statement_timeout') = '0'"
	    " THEN set_config('statement_timeout', '10s', false) END,"
	    " CASE WHEN current_setting('idle_in_transaction_session_timeout')"
	    " = '0' THEN set_config('idle_in_transaction_session_timeout',"
	    " '60s', false) END",
	    NULL, "session settings", NULL));
cleanup:
	if (rc < 0) {
		PQfinish(c);
		x->c = NULL;
	}
	return rc;
}

/* A slot for the calling thread: an idle one with a connection if there
 * is one, else any idle one (connected by pg_run); waits while all are
 * busy (their holders are bounded by the statement timeout). */
static pg_slot *pool_get(pg *p)
{
	pg_slot *pick = NULL;
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		for (i = 0; i < PG_POOL_MAX; i++) {
			pg_slot *sl = &p->slots[i];

			if (sl->busy)
				continue;
			if (sl->conn != NULL) {
				pick = sl;
				break;
			}
			if (pick == NULL)
				pick = sl;
		}
		if (pick != NULL)
			break;
		pthread_cond_wait(&p->freed, &p->lock);
	}
	pick->busy = true;
	pthread_mutex_unlock(&p->lock);
	return pick;
}

static void pool_put(pg *p, pg_slot *sl)
{
	pthread_mutex_lock(&p->lock);
	sl->busy = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* One transaction (or one read) of an operation, run by pg_run; it may
 * be run again from the start, so it writes its outputs last. */
typedef int (*pg_txn_fn)(pgx *x, void *arg);

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Run fn on a pooled connection: (re)connecting as needed; again from the
 * start, up to PG_ATTEMPTS times, after a connection lost before COMMIT
 * was sent, a failed connect, a serialization failure or a deadlock.
 */
static int pg_run(pg *p, pg_txn_fn fn, void *arg, const char *what)
{
	pgx x;
	int attempt, rc = ZTP_OK;
	bool retry;

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.slot = pool_get(p);
	x.c = x.slot->conn;
	for (attempt = 0; attempt < PG_ATTEMPTS; attempt++) {
		if (attempt > 0)
			pause_ms(50L << (2 * (attempt - 1)));
		x.lost = false;
		x.committing = false;
		x.sqlstate[0] = '\0';
		if (x.c != NULL && PQstatus(x.c) != CONNECTION_OK) {
			PQfinish(x.c);
			x.c = NULL;
		}
		rc = x.c == NULL ? pg_connect(&x) : ZTP_OK;
		if (rc == ZTP_OK)
			rc = fn(&x, arg);
		if (rc == ZTP_OK)
			break;
		if (x.c != NULL && !x.lost &&
		    PQtransactionStatus(x.c) != PQTRANS_IDLE) {
			/* Not through pg_exec: the failure's detail stays. */
			PQclear(PQexec(x.c, "ROLLBACK"));
		}
		if (x.lost && x.c != NULL) {
			PQfinish(x.c);
			x.c = NULL;
		}
		retry = (x.lost && !x.committing) || retry_state(&x);
		if (!retry)
			break;
	}
	if (rc < 0 && x.lost && x.committing)
		rc = ztp__err(ZTP_ESTORE,
			      "postgresql: %s: connection lost while "
			      "committing; the outcome is unknown",
			      what);
	else if (rc < 0 && (x.lost || retry_state(&x)) &&
		 attempt >= PG_ATTEMPTS) {
		char detail[ZTP__ERRMSG_MAX - 64];

		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		rc = ztp__err(ZTP_ESTORE, "%s (gave up after %d attempts)",
			      detail, PG_ATTEMPTS);
	}
	x.slot->conn = x.c;
	pool_put(p, x.slot);
	return rc;
}

/* The common shapes: one read statement, whose result is handed out,
 * and one write statement in a transaction of its own. */
typedef struct pg_one {
	const char *sql;
	pg_args *args;
	const char *what;
	bool write;
	PGresult *res;
} pg_one;

static int one_fn(pgx *x, void *arg)
{
	pg_one *o = arg;
	int rc = ZTP_OK;

	PQclear(o->res);
	o->res = NULL;
	if (o->write)
		ZTP_CHECK(pg_begin(x));
	ZTP_CHECK(pg_exec(x, o->sql, o->args, o->what, &o->res));
	if (o->write)
		ZTP_CHECK(pg_commit(x));
cleanup:
	if (rc < 0) {
		PQclear(o->res);
		o->res = NULL;
	}
	return rc;
}

static int pg_one_run(pg *p, const char *sql, pg_args *a, const char *what,
		      bool write, PGresult **out)
{
	pg_one o = {sql, a, what, write, NULL};
	int rc = pg_run(p, one_fn, &o, what);

	*out = o.res;
	return rc;
}

static int pg_read(pg *p, const char *sql, pg_args *a, const char *what,
		   PGresult **out)
{
	return pg_one_run(p, sql, a, what, false, out);
}

static int pg_write(pg *p, const char *sql, pg_args *a, const char *what,
		    PGresult **out)
{
	return pg_one_run(p, sql, a, what, true, out);
}

/* ------------------------------------------------------------ views */

static int row_cert_view(const PGresult *r, int row, ztp__store_cert_view *v)
{
	int64_t reason = 0;
	int rc = ZTP_OK;

	memset(v, 0, sizeof(*v));
	ZTP_CHECK(need_text(r, row, 0, &v->serial));
	v->device_id = col_text(r, row, 1);
	ZTP_CHECK(need_text(r, row, 2, &v->profile));
	ZTP_CHECK(col_int(r, row, 3, &v->not_before));
	ZTP_CHECK(col_int(r, row, 4, &v->not_after));
	ZTP_CHECK(need_text(r, row, 5, &v->fingerprint));
	ZTP_CHECK(col_int(r, row, 6, &v->issued_at));
	ZTP_CHECK(col_bool(r, row, 7, &v->revoked));
	ZTP_CHECK(col_int(r, row, 8, &v->revoked_at));
	ZTP_CHECK(col_int(r, row, 9, &reason));
	v->reason = (int)reason;
	v->issuer = col_text(r, row, 10);
cleanup:
	return rc;
}

/* A row of DEVICE_COLUMNS. */
static int row_device_view(const PGresult *r, int row,
			   ztp__store_device_view *v)
{
	int rc = ZTP_OK;

	memset(v, 0, sizeof(*v));
	ZTP_CHECK(need_text(r, row, 0, &v->device_id));
	ZTP_CHECK(need_text(r, row, 1, &v->fingerprint));
	v->model = col_text(r, row, 2);
	v->batch = col_text(r, row, 3);
	ZTP_CHECK(col_int(r, row, 4, &v->manufactured_at));
	ZTP_CHECK(need_text(r, row, 5, &v->state));
	v->tenant = col_text(r, row, 6);
	v->info = col_text(r, row, 7);
	ZTP_CHECK(col_int(r, row, 8, &v->updated_at));
	if (!PQgetisnull(r, row, 9)) {
		v->factory_key = (const uint8_t *)PQgetvalue(r, row, 9);
		v->factory_key_len = (size_t)PQgetlength(r, row, 9);
	}
	v->group = col_text(r, row, 10);
cleanup:
	return rc;
}

static int view_device(void *ctx, const char *device_id,
		       ztp__store_device_fn fn, void *arg)
{
	pg_args a = {0};
	PGresult *r = NULL;
	ztp__store_device_view v;
	int rc = ZTP_OK;

	a_text(&a, device_id);
	ZTP_CHECK(pg_read(
	    ctx, "SELECT " DEVICE_COLUMNS " FROM devices WHERE device_id = $1",
	    &a, "device_get", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
	ZTP_CHECK(row_device_view(r, 0, &v));
	rc = fn(&v, arg);
cleanup:
	PQclear(r);
	return rc;
}

static int view_cert(void *ctx, const char *serial, ztp__store_cert_fn fn,
		     void *arg)
{
	pg_args a = {0};
	PGresult *r = NULL;
	ztp__store_cert_view v;
	int rc = ZTP_OK;

	a_text(&a, serial);
	ZTP_CHECK(
	    pg_read(ctx, "SELECT " CERT_COLUMNS " FROM certs WHERE serial = $1",
		    &a, "cert_get", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND, "store: no certificate %s",
		   serial);
	ZTP_CHECK(row_cert_view(r, 0, &v));
	rc = fn(&v, arg);
cleanup:
	PQclear(r);
	return rc;
}

static int view_device_certs(void *ctx, const char *device_id,
			     ztp__store_cert_fn fn, void *arg)
{
	pg_args a = {0};
	PGresult *r = NULL;
	ztp__store_cert_view v;
	int i, n, rc = ZTP_OK;

	a_text(&a, device_id);
	/* One statement, so one snapshot: no rows for an unknown device,
	 * one row of NULLs for a device without certificates. */
	ZTP_CHECK(pg_read(ctx,
			  "SELECT c.serial, c.device_id, c.profile,"
			  " c.not_before, c.not_after, c.fingerprint,"
			  " c.issued_at, c.revoked, c.revoked_at, c.reason,"
			  " c.issuer FROM devices AS d LEFT JOIN certs AS c"
			  " ON c.device_id = d.device_id"
			  " WHERE d.device_id = $1 ORDER BY c.seq",
			  &a, "device_certs", &r));
	n = PQntuples(r);
	ZTP_ENSURE(n > 0, ZTP_ENOTFOUND, "store: no device %s", device_id);
	for (i = 0; i < n && !PQgetisnull(r, i, 0); i++) {
		ZTP_CHECK(row_cert_view(r, i, &v));
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	PQclear(r);
	return rc;
}

/* A bytea column as stored (NULL, 0 for SQL NULL). */
static void col_bytes(const PGresult *r, int row, int col, const uint8_t **p,
		      size_t *len)
{
	*p = NULL;
	*len = 0;
	if (PQgetisnull(r, row, col))
		return;
	*p = (const uint8_t *)PQgetvalue(r, row, col);
	*len = (size_t)PQgetlength(r, row, col);
}

static int view_events(void *ctx, int64_t after, size_t max,
		       ztp__store_event_fn fn, void *arg)
{
	pg_args a = {0};
	PGresult *r = NULL;
	ztp__store_event_view v;
	int i, rc = ZTP_OK;

	a_int(&a, after);
	a_int(&a, (int64_t)max);
	ZTP_CHECK(pg_read(ctx,
			  "SELECT seq, at, json, prev, hash FROM events"
			  " WHERE seq > $1 ORDER BY seq LIMIT $2",
			  &a, "audit events", &r));
	for (i = 0; i < PQntuples(r); i++) {
		memset(&v, 0, sizeof(v));
		ZTP_CHECK(col_int(r, i, 0, &v.seq));
		ZTP_CHECK(col_int(r, i, 1, &v.at));
		ZTP_CHECK(need_text(r, i, 2, &v.json));
		v.json_len = (size_t)PQgetlength(r, i, 2);
		col_bytes(r, i, 3, &v.prev, &v.prev_len);
		col_bytes(r, i, 4, &v.hash, &v.hash_len);
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	PQclear(r);
	return rc;
}

static int view_checkpoint_add(void *ctx, const ztp__store_checkpoint_view *cp)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_int(&a, cp->seq);
	a_int(&a, cp->at);
	a_bytes(&a, cp->head, cp->head_len);
	a_bytes(&a, cp->sig, cp->sig_len);
	a_text(&a, cp->key_id);
	/* The first checkpoint of a seq wins, whichever instance signed it. */
	ZTP_CHECK(pg_write(ctx,
			   "INSERT INTO checkpoints(seq, at, head, sig, key_id)"
			   " VALUES($1, $2, $3, $4, $5)"
			   " ON CONFLICT (seq) DO NOTHING",
			   &a, "audit checkpoint", &r));
cleanup:
	PQclear(r);
	return rc;
}

static int view_checkpoints(void *ctx, int64_t after, size_t max,
			    ztp__store_checkpoint_fn fn, void *arg)
{
	pg_args a = {0};
	PGresult *r = NULL;
	ztp__store_checkpoint_view v;
	int i, rc = ZTP_OK;

	a_int(&a, after);
	a_int(&a, (int64_t)max);
	ZTP_CHECK(pg_read(ctx,
			  "SELECT seq, at, head, sig, key_id FROM checkpoints"
			  " WHERE seq > $1 ORDER BY seq LIMIT $2",
			  &a, "audit checkpoints", &r));
	for (i = 0; i < PQntuples(r); i++) {
		memset(&v, 0, sizeof(v));
		ZTP_CHECK(col_int(r, i, 0, &v.seq));
		ZTP_CHECK(col_int(r, i, 1, &v.at));
		col_bytes(r, i, 2, &v.head, &v.head_len);
		col_bytes(r, i, 3, &v.sig, &v.sig_len);
		ZTP_CHECK(need_text(r, i, 4, &v.key_id));
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	PQclear(r);
	return rc;
}

const ztp__store_views ztp__store_postgresql_views = {
    .device = view_device,
    .cert = view_cert,
    .device_certs = view_device_certs,
    .events = view_events,
    .checkpoint_add = view_checkpoint_add,
    .checkpoints = view_checkpoints,
};

static int pg_device_get(void *ctx, const char *device_id, char **json)
{
	return ztp__store_views_device_json(&ztp__store_postgresql_views, ctx,
					    device_id, json);
}

static int pg_cert_get(void *ctx, const char *serial, char **json)
{
	return ztp__store_views_cert_json(&ztp__store_postgresql_views, ctx,
					  serial, json);
}

static int pg_device_certs(void *ctx, const char *device_id, char **json)
{
	return ztp__store_views_device_certs_json(&ztp__store_postgresql_views,
						  ctx, device_id, json);
}

/* ------------------------------------------------------------ devices */

static int pg_device_add(void *ctx, const char *device_id,
			 const char *fingerprint, const char *model,
			 const char *batch, int64_t manufactured_at,
			 int64_t now)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, device_id);
	a_text(&a, fingerprint);
	a_text(&a, model);
	a_text(&a, batch);
	a_int(&a, manufactured_at);
	a_int(&a, now);
	rc =
	    pg_write(ctx,
		     "INSERT INTO devices(device_id, fingerprint, model, batch,"
		     " manufactured_at, state, updated_at)"
		     " VALUES($1, $2, $3, $4, $5, 'manufactured', $6)",
		     &a, "device_add", &r);
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: device %s already exists", device_id);
cleanup:
	PQclear(r);
	return rc;
}

/* After an UPDATE of device_id that changed nothing: whether the device
 * exists, and its state (for the message), into state (cap bytes). */
static int device_state(pg *p, const char *device_id, const char *what,
			char *state, size_t cap)
{
	pg_args a = {0};
	PGresult *r = NULL;
	const char *s;
	int rc = ZTP_OK;

	a_text(&a, device_id);
	ZTP_CHECK(pg_read(p, "SELECT state FROM devices WHERE device_id = $1",
			  &a, what, &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
	ZTP_CHECK(need_text(r, 0, 0, &s));
	snprintf(state, cap, "%s", s);
cleanup:
	PQclear(r);
	return rc;
}

static int pg_device_set_state(void *ctx, const char *device_id,
			       const char *expected_state,
			       const char *new_state, const char *tenant,
			       int64_t now)
{
	pg_args a = {0};
	PGresult *r = NULL;
	char state[32];
	int rc = ZTP_OK;

	a_text(&a, device_id);
	a_text(&a, new_state);
	a_text(&a, tenant);
	a_int(&a, now);
	a_text(&a, expected_state);
	/* The check is the WHERE clause: a concurrent transition waits for
	 * the row, then the condition is evaluated again on its newest
	 * version. */
	ZTP_CHECK(pg_write(ctx,
			   "UPDATE devices SET state = $2, tenant = $3,"
			   " updated_at = $4 WHERE device_id = $1"
			   " AND ($5::text IS NULL OR state = $5)",
			   &a, "device_set_state", &r));
	if (changed(r) == 1)
		goto cleanup;
	ZTP_CHECK(device_state(ctx, device_id, "device_set_state", state,
			       sizeof(state)));
	ZTP_ENSURE(false, ZTP_ESTATE, "store: device %s is %s, not %s",
		   device_id, state, expected_state);
cleanup:
	PQclear(r);
	return rc;
}

/* Run an UPDATE of device_id's row in a transaction of its own. */
static int update_device(pg *p, const char *sql, pg_args *a, const char *what,
			 const char *device_id)
{
	PGresult *r = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_write(p, sql, a, what, &r));
	ZTP_ENSURE(changed(r) == 1, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
cleanup:
	PQclear(r);
	return rc;
}

static int pg_device_set_info(void *ctx, const char *device_id,
			      const char *info_json, int64_t now)
{
	pg_args a = {0};

	a_text(&a, device_id);
	a_text(&a, info_json);
	a_int(&a, now);
	return update_device(ctx,
			     "UPDATE devices SET info = $2, updated_at = $3"
			     " WHERE device_id = $1",
			     &a, "device_set_info", device_id);
}

static int pg_device_set_factory_key(void *ctx, const char *device_id,
				     const uint8_t *spki, size_t len)
{
	pg_args a = {0};

	a_text(&a, device_id);
	a_bytes(&a, spki, len);
	return update_device(ctx,
			     "UPDATE devices SET factory_key = $2"
			     " WHERE device_id = $1",
			     &a, "device_set_factory_key", device_id);
}

/* ------------------------------------------------------------ claims */

static int pg_claim_set(void *ctx, const char *device_id, const uint8_t *hash,
			size_t len)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, device_id);
	a_bytes(&a, hash, len);
	rc = pg_write(ctx,
		      "INSERT INTO claims(device_id, hash) VALUES($1, $2)"
		      " ON CONFLICT (device_id) DO UPDATE"
		      " SET hash = excluded.hash",
		      &a, "claim_set", &r);
	ZTP_ENSURE(rc != ZTP_ENOTFOUND, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
cleanup:
	PQclear(r);
	return rc;
}

/* The device row locked in the open transaction; ZTP_ENOTFOUND if there
 * is none. state (16 bytes) receives its state. */
static int lock_device(pgx *x, const char *device_id, const char *what,
		       char state[16])
{
	pg_args a = {0};
	PGresult *r = NULL;
	const char *s;
	int rc = ZTP_OK;

	a_text(&a, device_id);
	ZTP_CHECK(pg_exec(x,
			  "SELECT state FROM devices WHERE device_id = $1"
			  " FOR UPDATE",
			  &a, what, &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
	ZTP_CHECK(need_text(r, 0, 0, &s));
	snprintf(state, 16, "%s", s);
cleanup:
	PQclear(r);
	return rc;
}

typedef struct claim_args {
	const char *device_id;
	const uint8_t *hash;
	size_t len;
	const char *tenant;
	int64_t now;
	/* claim_attempt only */
	double rate, burst;
	int64_t retry_after;
} claim_args;

/* claim_take inside an open transaction; writes only once the claim
 * matched. */
static int claim_in_txn(pgx *x, const claim_args *c)
{
	pg_args a = {0}, set = {0};
	PGresult *r = NULL;
	char state[16];
	const char *stored;
	int rc = ZTP_OK;

	ZTP_CHECK(lock_device(x, c->device_id, "claim_take", state));
	ZTP_ENSURE(strcmp(state, ZTP_STATE_REVOKED) != 0, ZTP_ESTATE,
		   "store: device %s is revoked", c->device_id);
	/* A statement of its own: its snapshot follows the row lock, so a
	 * claim another transaction took is gone here. */
	a_text(&a, c->device_id);
	ZTP_CHECK(pg_exec(x, "SELECT hash FROM claims WHERE device_id = $1", &a,
			  "claim_take", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND,
		   "store: device %s has no pending claim", c->device_id);
	stored = PQgetvalue(r, 0, 0);
	/* The length of a hash is no secret; its bytes are. */
	ZTP_ENSURE((size_t)PQgetlength(r, 0, 0) == c->len &&
		       CRYPTO_memcmp(stored, c->hash, c->len) == 0,
		   ZTP_EMISMATCH, "store: device %s: claim code does not match",
		   c->device_id);
	ZTP_CHECK(pg_exec(x, "DELETE FROM claims WHERE device_id = $1", &a,
			  "claim_take", NULL));
	a_text(&set, c->device_id);
	a_text(&set, c->tenant);
	a_int(&set, c->now);
	ZTP_CHECK(pg_exec(x,
			  "UPDATE devices SET state = 'active', tenant = $2,"
			  " updated_at = $3 WHERE device_id = $1",
			  &set, "claim_take", NULL));
cleanup:
	PQclear(r);
	return rc;
}

static int claim_take_fn(pgx *x, void *arg)
{
	int rc = ZTP_OK;

	ZTP_CHECK(pg_begin(x));
	ZTP_CHECK(claim_in_txn(x, arg));
	ZTP_CHECK(pg_commit(x));
cleanup:
	return rc;
}

static int pg_claim_take(void *ctx, const char *device_id, const uint8_t *hash,
			 size_t len, const char *tenant, int64_t now)
{
	claim_args c = {device_id, hash, len, tenant, now, 0, 0, 0};

	return pg_run(ctx, claim_take_fn, &c, "claim_take");
}

/* ------------------------------------------------------------ limits */

typedef struct bucket_args {
	const char *scope, *key;
	double rate, burst;
	int64_t now;
	int64_t retry_after;
} bucket_args;

/*
 * The bucket step inside an open transaction: the bucket's row is created
 * if missing (a bucket never used, or full again, is full) and locked,
 * refilled, and written back with a token less. Then up to PG_PURGE_MAX
 * other buckets that are full again are dropped, skipping rows others
 * hold, so the purge never waits.
 */
static int bucket_in_txn(pgx *x, bucket_args *b)
{
	pg_args key = {0}, put = {0};
	PGresult *r = NULL;
	ztp__bucket bk = {0, 0};
	int64_t full_at = 0;
	bool fresh;
	int rc = ZTP_OK;

	a_text(&key, b->scope);
	a_text(&key, b->key);
	/* Create the row or lock the one there, in one statement. With ON
	 * CONFLICT DO NOTHING and then SELECT … FOR UPDATE, another
	 * transaction's purge could delete the row between the two (READ
	 * COMMITTED): "bucket vanished", a 503 under load. DO UPDATE is an
	 * atomic insert-or-lock; a row just made reads (0, 0, 0), and
	 * full_at 0 makes it a full bucket, as a missing one is. */
	ZTP_CHECK(
	    pg_exec(x,
		    "INSERT INTO limits(scope, key, tokens, last, full_at)"
		    " VALUES($1, $2, 0, 0, 0) ON CONFLICT (scope, key)"
		    " DO UPDATE SET full_at = limits.full_at"
		    " RETURNING tokens, last, full_at",
		    &key, "limit_take", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ESTORE,
		   "postgresql: limit_take: no bucket row");
	ZTP_CHECK(col_float(r, 0, 0, &bk.tokens));
	ZTP_CHECK(col_int(r, 0, 1, &bk.last));
	ZTP_CHECK(col_int(r, 0, 2, &full_at));
	fresh = full_at <= b->now;
	rc = ztp__bucket_take(&bk, fresh, b->rate, b->burst, b->now,
			      &b->retry_after);
	ZTP_ENSURE(rc == ZTP_OK, rc, "store: %s limit reached for %s", b->scope,
		   b->key);
	a_text(&put, b->scope);
	a_text(&put, b->key);
	a_float(&put, bk.tokens);
	a_int(&put, bk.last);
	a_int(&put, ztp__bucket_full_at(&bk, b->rate, b->burst));
	a_int(&put, b->now);
	ZTP_CHECK(pg_exec(x,
			  "WITH purge AS (DELETE FROM limits WHERE (scope, key)"
			  " IN (SELECT scope, key FROM limits"
			  "  WHERE full_at <= $6 AND (scope, key) <> ($1, $2)"
			  "  LIMIT " PG_PURGE_MAX " FOR UPDATE SKIP LOCKED))"
			  " UPDATE limits SET tokens = $3, last = $4,"
			  " full_at = $5 WHERE scope = $1 AND key = $2",
			  &put, "limit_take", NULL));
cleanup:
	PQclear(r);
	return rc;
}

static int limit_fn(pgx *x, void *arg)
{
	int rc = ZTP_OK;

	ZTP_CHECK(pg_begin(x));
	ZTP_CHECK(bucket_in_txn(x, arg));
	ZTP_CHECK(pg_commit(x));
cleanup:
	return rc;
}

static int pg_limit_take(void *ctx, const char *scope, const char *key,
			 double rate, double burst, int64_t now,
			 int64_t *retry_after)
{
	bucket_args b = {scope, key, rate, burst, now, 0};
	int rc = pg_run(ctx, limit_fn, &b, "limit_take");

	*retry_after = b.retry_after;
	return rc;
}

static int claim_attempt_fn(pgx *x, void *arg)
{
	claim_args *c = arg;
	bucket_args b = {"claim", c->device_id, c->rate, c->burst, c->now, 0};
	char state[16];
	int rc = ZTP_OK, verdict;

	c->retry_after = 0;
	ZTP_CHECK(pg_begin(x));
	/* No bucket for a device that does not exist; the device row is
	 * locked before the bucket row, as everywhere. */
	ZTP_CHECK(lock_device(x, c->device_id, "claim_attempt", state));
	rc = bucket_in_txn(x, &b);
	c->retry_after = b.retry_after;
	ZTP_CHECK(rc);
	verdict = claim_in_txn(x, c);
	/* A refused claim keeps its token spent: commit the bucket. */
	if (verdict < 0 && verdict != ZTP_EMISMATCH &&
	    verdict != ZTP_ENOTFOUND && verdict != ZTP_ESTATE) {
		rc = verdict;
		goto cleanup;
	}
	/* The refusal's detail is still the thread's last error. */
	ZTP_CHECK(pg_commit(x));
	rc = verdict;
cleanup:
	return rc;
}

static int pg_claim_attempt(void *ctx, const char *device_id,
			    const uint8_t *hash, size_t len, const char *tenant,
			    double rate, double burst, int64_t now,
			    int64_t *retry_after)
{
	claim_args c = {device_id, hash, len, tenant, now, rate, burst, 0};
	int rc = pg_run(ctx, claim_attempt_fn, &c, "claim_attempt");

	*retry_after = c.retry_after;
	return rc;
}

/* ------------------------------------------------------------ certificates */

static int pg_cert_add_issued(void *ctx, const char *serial,
			      const char *device_id, const char *profile,
			      int64_t not_before, int64_t not_after,
			      const char *fingerprint, const char *issuer,
			      int64_t now)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, serial);
	a_text(&a, device_id);
	a_text(&a, profile);
	a_int(&a, not_before);
	a_int(&a, not_after);
	a_text(&a, fingerprint);
	a_int(&a, now);
	a_text(&a, issuer);
	rc =
	    pg_write(ctx,
		     "INSERT INTO certs(serial, device_id, profile, not_before,"
		     " not_after, fingerprint, issued_at, issuer)"
		     " VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
		     &a, "cert_add", &r);
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: serial %s already recorded", serial);
	ZTP_ENSURE(rc != ZTP_ENOTFOUND, ZTP_ENOTFOUND, "store: no device %s",
		   device_id);
cleanup:
	PQclear(r);
	return rc;
}

static int pg_cert_add(void *ctx, const char *serial, const char *device_id,
		       const char *profile, int64_t not_before,
		       int64_t not_after, const char *fingerprint, int64_t now)
{
	return pg_cert_add_issued(ctx, serial, device_id, profile, not_before,
				  not_after, fingerprint, NULL, now);
}

static int pg_cert_revoke(void *ctx, const char *serial, int reason,
			  int64_t when)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, serial);
	a_int(&a, when);
	a_int(&a, reason);
	/* A revoked certificate keeps its first time and reason; zero rows
	 * changed means revoked already or unknown. */
	ZTP_CHECK(pg_write(ctx,
			   "WITH upd AS (UPDATE certs SET revoked = true,"
			   " revoked_at = $2, reason = $3"
			   " WHERE serial = $1 AND NOT revoked RETURNING 1)"
			   " SELECT EXISTS (SELECT 1 FROM upd)"
			   " OR EXISTS (SELECT 1 FROM certs WHERE serial = $1)",
			   &a, "cert_revoke", &r));
	ZTP_ENSURE(PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] != 0,
		   ZTP_ENOTFOUND, "store: no certificate %s", serial);
cleanup:
	PQclear(r);
	return rc;
}

static int pg_device_revoke_certs(void *ctx, const char *device_id,
				  const char *profiles, int reason,
				  int64_t when, uint64_t *count)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int64_t n = 0;
	char state[32];
	int rc = ZTP_OK;

	*count = 0;
	a_text(&a, device_id);
	a_text(&a, profiles);
	a_int(&a, when);
	a_int(&a, reason);
	/* The profile list is one parameter: ",a,b," contains ",p," exactly
	 * when p is an element (names cannot contain commas). */
	ZTP_CHECK(pg_write(ctx,
			   "UPDATE certs SET revoked = true, revoked_at = $3,"
			   " reason = $4 WHERE device_id = $1 AND NOT revoked"
			   " AND ($2::text IS NULL OR strpos(',' || $2 || ',',"
			   " ',' || profile || ',') > 0)",
			   &a, "device_revoke_certs", &r));
	n = changed(r);
	/* Devices are never deleted: none changed, then ask whether the
	 * device is there at all. */
	if (n == 0)
		ZTP_CHECK(device_state(ctx, device_id, "device_revoke_certs",
				       state, sizeof(state)));
	*count = (uint64_t)n;
cleanup:
	PQclear(r);
	return rc;
}

/* The rows of r (serial, revoked_at, reason) as the revoked list. */
static int revoked_json(const PGresult *r, char **json)
{
	json_object *arr = NULL, *item = NULL;
	const char *serial;
	int64_t at, reason;
	int i, rc = ZTP_OK;

	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	for (i = 0; i < PQntuples(r); i++) {
		ZTP_CHECK(need_text(r, i, 0, &serial));
		ZTP_CHECK(col_int(r, i, 1, &at));
		ZTP_CHECK(col_int(r, i, 2, &reason));
		ZTP_CHECK(
		    ztp__store_revoked_json(&item, serial, at, (int)reason));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	return rc;
}

static int pg_revoked_list(void *ctx, char **json)
{
	PGresult *r = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_read(ctx,
			  "SELECT serial, revoked_at, reason FROM certs"
			  " WHERE revoked ORDER BY length(serial), serial",
			  NULL, "revoked_list", &r));
	ZTP_CHECK(revoked_json(r, json));
cleanup:
	PQclear(r);
	return rc;
}

static int pg_revoked_list_issuer(void *ctx, const char *issuer, char **json)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, issuer);
	ZTP_CHECK(pg_read(ctx,
			  "SELECT serial, revoked_at, reason FROM certs"
			  " WHERE revoked AND (issuer = $1 OR issuer IS NULL)"
			  " ORDER BY length(serial), serial",
			  &a, "revoked_list_issuer", &r));
	ZTP_CHECK(revoked_json(r, json));
cleanup:
	PQclear(r);
	return rc;
}

/* The one value of a counting read; no row reads 0. */
static int count_of(pg *p, const char *sql, pg_args *a, const char *what,
		    uint64_t *out)
{
	PGresult *r = NULL;
	int64_t n = 0;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_read(p, sql, a, what, &r));
	if (PQntuples(r) == 1)
		ZTP_CHECK(col_int(r, 0, 0, &n));
	*out = (uint64_t)n;
cleanup:
	PQclear(r);
	return rc;
}

static int pg_cert_count(void *ctx, uint64_t *out)
{
	return count_of(ctx, "SELECT count(*) FROM certs", NULL, "cert_count",
			out);
}

static int pg_device_count_state(void *ctx, const char *state, uint64_t *out)
{
	pg_args a = {0};

	a_text(&a, state);
	/* No row: no device has ever been in that state. */
	return count_of(ctx,
			"SELECT coalesce(sum(n), 0)::bigint FROM device_states"
			" WHERE state = $1",
			&a, "device_count_state", out);
}

static int pg_cert_count_expiring(void *ctx, const char *profile, int64_t from,
				  int64_t to, uint64_t *out)
{
	pg_args a = {0};

	a_text(&a, profile);
	a_int(&a, from);
	a_int(&a, to);
	/* A range search of certs_live_by_expiry. */
	return count_of(ctx,
			"SELECT count(*) FROM certs WHERE NOT revoked"
			" AND profile = $1 AND not_after >= $2"
			" AND not_after < $3",
			&a, "cert_count_expiring", out);
}

/* ------------------------------------------------------------ challenges */

static int pg_challenge_use(void *ctx, const uint8_t *id, size_t len,
			    int64_t expires_at, int64_t now)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_bytes(&a, id, len);
	a_int(&a, expires_at);
	a_int(&a, now);
	/* The ID is the primary key: one transaction inserts it, any other
	 * waits for that one and then finds it. An expired record counts as
	 * absent. The purge skips rows others hold, and this ID. */
	ZTP_CHECK(pg_write(ctx,
			   "WITH purge AS (DELETE FROM challenges WHERE id IN"
			   " (SELECT id FROM challenges WHERE expires_at < $3"
			   "  AND id <> $1 LIMIT " PG_PURGE_MAX
			   "  FOR UPDATE SKIP LOCKED))"
			   " INSERT INTO challenges(id, expires_at)"
			   " VALUES($1, $2) ON CONFLICT (id) DO UPDATE"
			   " SET expires_at = excluded.expires_at"
			   " WHERE challenges.expires_at < $3",
			   &a, "challenge_use", &r));
	ZTP_ENSURE(changed(r) == 1, ZTP_EREPLAY,
		   "store: challenge already used");
cleanup:
	PQclear(r);
	return rc;
}

/* ------------------------------------------------------------ events */

typedef struct event_args {
	const char *json;
	int64_t now;
} event_args;

/* The chain head locked in the open transaction: the last seq handed out
 * and its hash (the genesis value before the first event). Every append
 * waits here for the one before to commit, so seq order is commit order
 * and each event's prev is the hash of the event before it. */
static int lock_head(pgx *x, int64_t *seq, uint8_t head[ZTP__AUDIT_HASH_LEN])
{
	PGresult *r = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_exec(x, "SELECT seq, hash FROM audit_head FOR UPDATE",
			  NULL, "event_append", &r));
	ZTP_ENSURE(PQntuples(r) == 1 &&
		       PQgetlength(r, 0, 1) == ZTP__AUDIT_HASH_LEN,
		   ZTP_ESTORE, "postgresql: event_append: bad audit_head row");
	ZTP_CHECK(col_int(r, 0, 0, seq));
	memcpy(head, PQgetvalue(r, 0, 1), ZTP__AUDIT_HASH_LEN);
cleanup:
	PQclear(r);
	return rc;
}

static int event_fn(pgx *x, void *arg)
{
	event_args *e = arg;
	uint8_t prev[ZTP__AUDIT_HASH_LEN], hash[ZTP__AUDIT_HASH_LEN];
	int64_t last = 0;
	pg_args a = {0};
	int rc = ZTP_OK;

	ZTP_CHECK(pg_begin(x));
	ZTP_CHECK(lock_head(x, &last, prev));
	ZTP_ENSURE(last < INT64_MAX, ZTP_ETOOBIG, "store: event log full");
	ZTP_CHECK(ztp__audit_hash(hash, prev, last + 1, e->now, e->json,
				  strlen(e->json)));
	a_int(&a, last + 1);
	a_int(&a, e->now);
	a_text(&a, e->json);
	a_bytes(&a, prev, sizeof(prev));
	a_bytes(&a, hash, sizeof(hash));
	ZTP_CHECK(pg_exec(x,
			  "WITH ev AS (INSERT INTO events(seq, at, json, prev,"
			  " hash) VALUES($1, $2, $3, $4, $5))"
			  " UPDATE audit_head SET seq = $1, hash = $5",
			  &a, "event_append", NULL));
	ZTP_CHECK(pg_commit(x));
cleanup:
	return rc;
}

static int pg_event_append(void *ctx, const char *json, int64_t now)
{
	event_args e = {json, now};

	return pg_run(ctx, event_fn, &e, "event_append");
}

static int pg_event_list(void *ctx, int64_t after, size_t max, char **json)
{
	json_object *arr = NULL, *item = NULL;
	pg_args a = {0};
	PGresult *r = NULL;
	const char *ev;
	int64_t seq, at;
	int i, rc = ZTP_OK;

	a_int(&a, after);
	a_int(&a, (int64_t)max);
	ZTP_CHECK(pg_read(ctx,
			  "SELECT seq, at, json FROM events WHERE seq > $1"
			  " ORDER BY seq LIMIT $2",
			  &a, "event_list", &r));
	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	for (i = 0; i < PQntuples(r); i++) {
		ZTP_CHECK(col_int(r, i, 0, &seq));
		ZTP_CHECK(col_int(r, i, 1, &at));
		ZTP_CHECK(need_text(r, i, 2, &ev));
		ZTP_CHECK(ztp__store_event_json(&item, seq, at, ev));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	PQclear(r);
	return rc;
}

static int pg_counter_next(void *ctx, const char *name, uint64_t *out)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int64_t v = 0;
	int rc = ZTP_OK;

	a_text(&a, name);
	ZTP_CHECK(pg_write(ctx,
			   "INSERT INTO counters(name, value) VALUES($1, 1)"
			   " ON CONFLICT (name) DO UPDATE"
			   " SET value = counters.value + 1"
			   " WHERE counters.value < 9223372036854775807"
			   " RETURNING value",
			   &a, "counter_next", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ETOOBIG,
		   "store: counter %s exhausted", name);
	ZTP_CHECK(col_int(r, 0, 0, &v));
	*out = (uint64_t)v;
cleanup:
	PQclear(r);
	return rc;
}

/* ------------------------------------------------------------ fleet */

/* One record of device_enroll: the device, its claim and its factory key
 * in one statement, which answers whether it recorded the device and
 * else the fingerprint recorded already. A device recorded by a
 * concurrent importer, whose commit ON CONFLICT waits for, is left as it
 * is; this statement's snapshot predates that commit and answers NULL.
 * The claim's foreign key is checked at the end of the statement, when
 * the device row is there. */
#define SQL_ENROLL                                                             \
	"WITH dev AS (INSERT INTO devices(device_id, fingerprint, model,"      \
	" batch, manufactured_at, state, updated_at, factory_key)"             \
	" VALUES($1, $2, $3, $4, $5, 'manufactured', $6, $8)"                  \
	" ON CONFLICT (device_id) DO NOTHING RETURNING device_id),"            \
	" claim AS (INSERT INTO claims(device_id, hash)"                       \
	" SELECT device_id, $7 FROM dev)"                                      \
	" SELECT EXISTS (SELECT 1 FROM dev),"                                  \
	" (SELECT fingerprint FROM devices WHERE device_id = $1)"
#define SQL_DEV_FPR "SELECT fingerprint FROM devices WHERE device_id = $1"

typedef struct enroll_args {
	const ztp_store_enrollment *recs;
	size_t n;
	int *results;
	int64_t now;
	int (*before_commit)(void *arg, const int *results);
	void *arg;
} enroll_args;

/* Marks a record whose outcome SQL_ENROLL left open. */
#define ENROLL_UNDECIDED 1

static void enroll_params(pg_args *a, const ztp_store_enrollment *e,
			  int64_t now)
{
	memset(a, 0, sizeof(*a));
	a_text(a, e->device_id);
	a_text(a, e->fingerprint);
	a_text(a, e->model);
	a_text(a, e->batch);
	a_int(a, e->manufactured_at);
	a_int(a, now);
	a_bytes(a, e->claim_hash, e->claim_hash_len);
	a_bytes(a, e->factory_key_len > 0 ? e->factory_key : NULL,
		e->factory_key_len);
	a_ready(a);
}

/* The outcome of one record from SQL_ENROLL's row. */
static int enroll_decide(const PGresult *r, const ztp_store_enrollment *e,
			 int *result)
{
	const char *fpr;

	if (PQntuples(r) != 1 || PQnfields(r) != 2)
		return ztp__err(ZTP_ESTORE,
				"postgresql: device_enroll: no result");
	fpr = col_text(r, 0, 1);
	if (PQgetvalue(r, 0, 0)[0] != 0)
		*result = ZTP_OK;
	else if (fpr == NULL)
		*result = ENROLL_UNDECIDED;
	else
		*result = strcmp(fpr, e->fingerprint) == 0 ? ZTP_EEXISTS
							   : ZTP_EMISMATCH;
	return ZTP_OK;
}

#ifdef LIBPQ_HAS_PIPELINING
/* Statements one pipeline round carries: their text and results stay far
 * below what socket buffers hold, so neither side waits for the other to
 * read while it writes. */
#define ENROLL_PIPELINE 100

/*
 * The statements of records [from, to) sent at once (libpq's pipeline
 * mode) with a sync, then their results read in order: one round trip
 * for them rather than one each. They run in order in the open
 * transaction (a sync inside BEGIN does not commit), so a device ID that
 * occurs twice sees its first record. After a failure the server skips
 * the rest up to the sync, which is read all the same, so that the
 * connection is usable again for the rollback.
 */
static int enroll_round(pgx *x, const enroll_args *en, size_t from, size_t to)
{
	pg_args a;
	PGresult *r;
	ExecStatusType st;
	size_t i, got = from;
	bool sent, synced = false, idle = false;
	int rc = ZTP_OK;

	/* The first round prepares the statement (unnamed: the connection's
	 * only one, replaced by the next), so that it is parsed once, not
	 * once per record. */
	enroll_params(&a, &en->recs[from], en->now);
	sent =
	    from != 0 || PQsendPrepare(x->c, "", SQL_ENROLL, a.n, a.type) == 1;
	for (i = from; sent && i < to; i++) {
		enroll_params(&a, &en->recs[i], en->now);
		sent = PQsendQueryPrepared(x->c, "", a.n, a.val, a.len, a.fmt,
					   1) == 1;
	}
	if (!sent || PQpipelineSync(x->c) != 1) {
		/* Not sent whole: the connection is not to be trusted. */
		rc = pg_fail(x, NULL, "device_enroll");
		x->lost = true;
		return rc;
	}
	while (!synced) {
		r = PQgetResult(x->c);
		/* NULL once between the results of two statements; twice in a
		 * row, nothing is pending: the sync will not come. */
		if (r == NULL && !idle && PQstatus(x->c) != CONNECTION_BAD) {
			idle = true;
			continue;
		}
		if (r == NULL) {
			if (rc == ZTP_OK && PQstatus(x->c) == CONNECTION_BAD)
				rc = pg_fail(x, NULL, "device_enroll");
			else if (rc == ZTP_OK)
				rc =
				    ztp__err(ZTP_ESTORE,
					     "postgresql: device_enroll: "
					     "pipeline ended without its sync");
			/* Its state is unknown: not used again. */
			x->lost = true;
			return rc;
		}
		idle = false;
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC)
			synced = true;
		else if (st == PGRES_TUPLES_OK && got < to && rc == ZTP_OK)
			rc =
			    enroll_decide(r, &en->recs[got], &en->results[got]);
		else if (st != PGRES_PIPELINE_ABORTED &&
			 st != PGRES_COMMAND_OK /* the prepare */ &&
			 rc == ZTP_OK)
			rc = pg_fail(x, r, "device_enroll");
		if (st == PGRES_TUPLES_OK)
			got++;
		PQclear(r);
	}
	if (rc == ZTP_OK && got != to)
		rc = ztp__err(ZTP_ESTORE,
			      "postgresql: device_enroll: %zu results for %zu "
			      "records",
			      got - from, to - from);
	return rc;
}

static int enroll_statements(pgx *x, const enroll_args *en)
{
	size_t from, to;
	int rc = ZTP_OK;

	if (PQenterPipelineMode(x->c) != 1)
		return pg_fail(x, NULL, "device_enroll");
	for (from = 0; from < en->n && rc == ZTP_OK; from = to) {
		to = en->n - from > ENROLL_PIPELINE ? from + ENROLL_PIPELINE
						    : en->n;
		rc = enroll_round(x, en, from, to);
	}
	if (!x->lost && PQexitPipelineMode(x->c) != 1 && rc == ZTP_OK)
		rc = pg_fail(x, NULL, "device_enroll");
	return rc;
}
#else
static int enroll_statements(pgx *x, const enroll_args *en)
{
	pg_args a;
	PGresult *r = NULL;
	size_t i;
	int rc = ZTP_OK;

	for (i = 0; i < en->n; i++) {
		enroll_params(&a, &en->recs[i], en->now);
		ZTP_CHECK(pg_exec(x, SQL_ENROLL, &a, "device_enroll", &r));
		ZTP_CHECK(enroll_decide(r, &en->recs[i], &en->results[i]));
		PQclear(r);
		r = NULL;
	}
cleanup:
	PQclear(r);
	return rc;
}
#endif

/* A record left open: the device another importer committed meanwhile,
 * read by a statement of its own, whose snapshot sees it. */
static int enroll_reread(pgx *x, const ztp_store_enrollment *e, int *result)
{
	pg_args id = {0};
	PGresult *r = NULL;
	const char *fpr;
	int rc = ZTP_OK;

	a_text(&id, e->device_id);
	ZTP_CHECK(pg_exec(x, SQL_DEV_FPR, &id, "device_enroll", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ESTORE,
		   "postgresql: device_enroll: device %s vanished",
		   e->device_id);
	ZTP_CHECK(need_text(r, 0, 0, &fpr));
	*result =
	    strcmp(fpr, e->fingerprint) == 0 ? ZTP_EEXISTS : ZTP_EMISMATCH;
cleanup:
	PQclear(r);
	return rc;
}

static int enroll_fn(pgx *x, void *arg)
{
	enroll_args *en = arg;
	size_t i;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_begin(x));
	ZTP_CHECK(enroll_statements(x, en));
	for (i = 0; i < en->n; i++)
		if (en->results[i] == ENROLL_UNDECIDED)
			ZTP_CHECK(
			    enroll_reread(x, &en->recs[i], &en->results[i]));
	/* A retried transaction decides every record again and asks
	 * again: only the attempt that commits counts. */
	ZTP_CHECK(en->before_commit(en->arg, en->results));
	ZTP_CHECK(pg_commit(x));
cleanup:
	return rc;
}

static int pg_device_enroll(void *ctx, const ztp_store_enrollment *recs,
			    size_t n, int *results, int64_t now,
			    int (*before_commit)(void *arg, const int *results),
			    void *arg)
{
	enroll_args en = {recs, n, results, now, before_commit, arg};

	return pg_run(ctx, enroll_fn, &en, "device_enroll");
}

/* The rows of r, made by row_json, as a JSON array. */
static int rows_json(const PGresult *r,
		     int (*row_json)(const PGresult *r, int row,
				     json_object **out),
		     char **json)
{
	json_object *arr = NULL, *item = NULL;
	int i, rc = ZTP_OK;

	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	for (i = 0; i < PQntuples(r); i++) {
		ZTP_CHECK(row_json(r, i, &item));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	json_object_put(arr);
	return rc;
}

static int row_device_json(const PGresult *r, int row, json_object **out)
{
	ztp__store_device_view v;
	int rc = ZTP_OK;

	ZTP_CHECK(row_device_view(r, row, &v));
	ZTP_CHECK(ztp__store_device_json(out, &v));
cleanup:
	return rc;
}

static int row_cert_json(const PGresult *r, int row, json_object **out)
{
	ztp__store_cert_view v;
	int rc = ZTP_OK;

	ZTP_CHECK(row_cert_view(r, row, &v));
	ZTP_CHECK(ztp__store_cert_json(out, &v));
cleanup:
	return rc;
}

/* One read statement whose rows are the JSON array answered. */
static int pg_read_rows(pg *p, const char *sql, pg_args *a, const char *what,
			int (*row_json)(const PGresult *r, int row,
					json_object **out),
			char **json)
{
	PGresult *r = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_read(p, sql, a, what, &r));
	ZTP_CHECK(rows_json(r, row_json, json));
cleanup:
	PQclear(r);
	return rc;
}

/* A filter not given is a NULL parameter: PQexecParams plans the unnamed
 * statement with its values, so "$1 IS NULL OR ..." folds away and the
 * index of the filter given (or the primary key) is read in device ID
 * order from after on. */
#define SQL_DEVICE_LIST                                                        \
	"SELECT " DEVICE_COLUMNS " FROM devices WHERE device_id > $6"          \
	" AND ($1::text IS NULL OR state = $1)"                                \
	" AND ($2::text IS NULL OR tenant = $2)"                               \
	" AND ($3::text IS NULL OR model = $3)"                                \
	" AND ($4::text IS NULL OR batch = $4)"                                \
	" AND ($5::text IS NULL OR enroll_group = $5)"                         \
	" ORDER BY device_id LIMIT $7"

static int pg_device_list(void *ctx, const char *state, const char *tenant,
			  const char *model, const char *batch,
			  const char *group, const char *after, size_t max,
			  char **json)
{
	pg_args a = {0};

	a_text(&a, state);
	a_text(&a, tenant);
	a_text(&a, model);
	a_text(&a, batch);
	a_text(&a, group);
	/* Every ID sorts after "": the first page. */
	a_text(&a, after != NULL ? after : "");
	a_int(&a, (int64_t)max);
	return pg_read_rows(ctx, SQL_DEVICE_LIST, &a, "device_list",
			    row_device_json, json);
}

/* $1 is the later of the window's start and the cursor's time, so the
 * range of certs_by_expiry starts at the page, in its order. */
#define SQL_CERT_EXPIRING                                                      \
	"SELECT " CERT_COLUMNS " FROM certs WHERE NOT revoked"                 \
	" AND not_after >= $1 AND not_after < $2 AND ($4::text IS NULL"        \
	" OR not_after > $3 OR serial > $4)"                                   \
	" ORDER BY not_after, serial LIMIT $5"

static int pg_cert_expiring(void *ctx, int64_t from, int64_t before,
			    int64_t after_time, const char *after_serial,
			    size_t max, char **json)
{
	pg_args a = {0};

	a_int(&a,
	      after_serial != NULL && after_time > from ? after_time : from);
	a_int(&a, before);
	a_int(&a, after_time);
	a_text(&a, after_serial);
	a_int(&a, (int64_t)max);
	return pg_read_rows(ctx, SQL_CERT_EXPIRING, &a, "cert_expiring",
			    row_cert_json, json);
}

/* ------------------------------------------------------------ groups */

#define GROUP_COLUMNS                                                          \
	"group_id, issuer, device_pattern, model, batch, cap, expires_at, "    \
	"enabled, enrolled, created_at, updated_at"
#define SQL_GROUP_ADD                                                          \
	"INSERT INTO groups(" GROUP_COLUMNS ")"                                \
	" VALUES($1, $2, $3, $4, $5, nullif($6, 0), nullif($7, 0), $8 <> 0,"   \
	" 0, $9, $9)"
#define SQL_GROUP_GET "SELECT " GROUP_COLUMNS " FROM groups WHERE group_id = $1"
#define SQL_GROUP_LIST                                                         \
	"SELECT " GROUP_COLUMNS " FROM groups"                                 \
	" WHERE group_id > $2 AND ($1::text IS NULL OR issuer = $1)"           \
	" ORDER BY group_id LIMIT $3"
#define SQL_GROUP_SET_ENABLED                                                  \
	"UPDATE groups SET enabled = $2 <> 0, updated_at = $3"                 \
	" WHERE group_id = $1"
/* The row lock orders the enrollments of one group: the next one waits
 * for it, then reads the count this one committed. */
#define SQL_GROUP_LOCK SQL_GROUP_GET " FOR UPDATE"
#define SQL_GROUP_DEV_INSERT                                                   \
	"INSERT INTO devices(device_id, fingerprint, model, batch,"            \
	" manufactured_at, state, updated_at, factory_key, enroll_group)"      \
	" SELECT $1, $2, model, batch, $3, 'manufactured', $3, $4, group_id"   \
	" FROM groups WHERE group_id = $5"
#define SQL_GROUP_COUNT                                                        \
	"UPDATE groups SET enrolled = enrolled + 1, updated_at = $2"           \
	" WHERE group_id = $1"

/* A row of GROUP_COLUMNS. */
static int row_group_view(const PGresult *r, int row, ztp__store_group_view *g)
{
	int rc = ZTP_OK;

	memset(g, 0, sizeof(*g));
	ZTP_CHECK(need_text(r, row, 0, &g->group_id));
	ZTP_CHECK(need_text(r, row, 1, &g->issuer));
	g->device_pattern = col_text(r, row, 2);
	g->model = col_text(r, row, 3);
	g->batch = col_text(r, row, 4);
	ZTP_CHECK(col_int(r, row, 5, &g->cap));
	ZTP_CHECK(col_int(r, row, 6, &g->expires_at));
	ZTP_CHECK(col_bool(r, row, 7, &g->enabled));
	ZTP_CHECK(col_int(r, row, 8, &g->enrolled));
	ZTP_CHECK(col_int(r, row, 9, &g->created_at));
	ZTP_CHECK(col_int(r, row, 10, &g->updated_at));
cleanup:
	return rc;
}

static int row_group_json(const PGresult *r, int row, json_object **out)
{
	ztp__store_group_view g;
	int rc = ZTP_OK;

	ZTP_CHECK(row_group_view(r, row, &g));
	ZTP_CHECK(ztp__store_group_json(out, &g));
cleanup:
	return rc;
}

static int pg_group_add(void *ctx, const char *group_id, const char *issuer,
			const char *device_pattern, const char *model,
			const char *batch, int64_t cap, int64_t expires_at,
			int enabled, int64_t now)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, group_id);
	a_text(&a, issuer);
	a_text(&a, device_pattern);
	a_text(&a, model);
	a_text(&a, batch);
	a_int(&a, cap);
	a_int(&a, expires_at);
	a_int(&a, enabled);
	a_int(&a, now);
	rc = pg_write(ctx, SQL_GROUP_ADD, &a, "group_add", &r);
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: group %s already exists", group_id);
cleanup:
	PQclear(r);
	return rc;
}

static int pg_group_get(void *ctx, const char *group_id, char **json)
{
	json_object *obj = NULL;
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, group_id);
	ZTP_CHECK(pg_read(ctx, SQL_GROUP_GET, &a, "group_get", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND, "store: no group %s",
		   group_id);
	ZTP_CHECK(row_group_json(r, 0, &obj));
	ZTP_CHECK(ztp__json_dump(json, obj));
cleanup:
	json_object_put(obj);
	PQclear(r);
	return rc;
}

static int pg_group_list(void *ctx, const char *issuer, const char *after,
			 size_t max, char **json)
{
	pg_args a = {0};

	a_text(&a, issuer);
	a_text(&a, after != NULL ? after : "");
	a_int(&a, (int64_t)max);
	return pg_read_rows(ctx, SQL_GROUP_LIST, &a, "group_list",
			    row_group_json, json);
}

static int pg_group_set_enabled(void *ctx, const char *group_id, int enabled,
				int64_t now)
{
	pg_args a = {0};
	PGresult *r = NULL;
	int rc = ZTP_OK;

	a_text(&a, group_id);
	a_int(&a, enabled);
	a_int(&a, now);
	ZTP_CHECK(
	    pg_write(ctx, SQL_GROUP_SET_ENABLED, &a, "group_set_enabled", &r));
	ZTP_ENSURE(changed(r) == 1, ZTP_ENOTFOUND, "store: no group %s",
		   group_id);
cleanup:
	PQclear(r);
	return rc;
}

typedef struct group_enroll_args {
	const char *group_id, *device_id, *fingerprint;
	const uint8_t *spki;
	size_t len;
	int64_t now;
} group_enroll_args;

/* Every check, the device and the count in one transaction, under the
 * group's row lock: two bootstraps racing for the last place of a capped
 * group cannot both get it. */
static int group_enroll_fn(pgx *x, void *arg)
{
	const group_enroll_args *ge = arg;
	pg_args id = {0}, dev = {0}, count = {0};
	ztp__store_group_view g;
	PGresult *r = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(pg_begin(x));
	a_text(&id, ge->group_id);
	ZTP_CHECK(pg_exec(x, SQL_GROUP_LOCK, &id, "group_enroll", &r));
	ZTP_ENSURE(PQntuples(r) == 1, ZTP_ENOTFOUND, "store: no group %s",
		   ge->group_id);
	ZTP_CHECK(row_group_view(r, 0, &g));
	ZTP_ENSURE(g.enabled, ZTP_ESTATE, "store: group %s is disabled",
		   ge->group_id);
	ZTP_ENSURE(g.expires_at == 0 || ge->now <= g.expires_at, ZTP_EEXPIRED,
		   "store: group %s expired", ge->group_id);
	ZTP_ENSURE(g.cap == 0 || g.enrolled < g.cap, ZTP_ETOOBIG,
		   "store: group %s is full (%lld devices)", ge->group_id,
		   (long long)g.cap);
	a_text(&dev, ge->device_id);
	a_text(&dev, ge->fingerprint);
	a_int(&dev, ge->now);
	a_bytes(&dev, ge->spki, ge->len);
	a_text(&dev, ge->group_id);
	rc = pg_exec(x, SQL_GROUP_DEV_INSERT, &dev, "group_enroll", NULL);
	ZTP_ENSURE(rc != ZTP_EEXISTS, ZTP_EEXISTS,
		   "store: device %s already exists", ge->device_id);
	ZTP_CHECK(rc);
	a_text(&count, ge->group_id);
	a_int(&count, ge->now);
	ZTP_CHECK(pg_exec(x, SQL_GROUP_COUNT, &count, "group_enroll", NULL));
	ZTP_CHECK(pg_commit(x));
cleanup:
	PQclear(r);
	return rc;
}

static int pg_group_enroll(void *ctx, const char *group_id,
			   const char *device_id, const char *fingerprint,
			   const uint8_t *spki, size_t len, int64_t now)
{
	const group_enroll_args ge = {group_id, device_id, fingerprint,
				      spki,	len,	   now};

	return pg_run(ctx, group_enroll_fn, (void *)&ge, "group_enroll");
}

/* ------------------------------------------------------------ open, close */

static void pg_close(void *ctx)
{
	pg *p = ctx;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < PG_POOL_MAX; i++)
		PQfinish(p->slots[i].conn);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p->uri);
	free(p);
}

/* Chain the events written before version 5, in seq order from the
 * genesis value, record the head, then make prev and hash mandatory and
 * the table append-only again (the last steps of that migration). */
static int chain_events(pgx *x)
{
	uint8_t prev[ZTP__AUDIT_HASH_LEN], hash[ZTP__AUDIT_HASH_LEN];
	PGresult *r = NULL;
	pg_args head = {0};
	const char *json;
	int64_t last = 0, seq, at;
	int i, n, rc = ZTP_OK;

	memcpy(prev, ztp__audit_genesis, sizeof(prev));
	do {
		pg_args a = {0};

		PQclear(r);
		r = NULL;
		a_int(&a, last);
		a_int(&a, CHAIN_PAGE);
		ZTP_CHECK(pg_exec(x,
				  "SELECT seq, at, json FROM events"
				  " WHERE seq > $1 ORDER BY seq LIMIT $2",
				  &a, "schema migration", &r));
		n = PQntuples(r);
		for (i = 0; i < n; i++) {
			pg_args u = {0};

			ZTP_CHECK(col_int(r, i, 0, &seq));
			ZTP_CHECK(col_int(r, i, 1, &at));
			ZTP_CHECK(need_text(r, i, 2, &json));
			ZTP_CHECK(
			    ztp__audit_hash(hash, prev, seq, at, json,
					    (size_t)PQgetlength(r, i, 2)));
			a_int(&u, seq);
			a_bytes(&u, prev, sizeof(prev));
			a_bytes(&u, hash, sizeof(hash));
			ZTP_CHECK(pg_exec(x,
					  "UPDATE events SET prev = $2,"
					  " hash = $3 WHERE seq = $1",
					  &u, "schema migration", NULL));
			memcpy(prev, hash, sizeof(prev));
			last = seq;
		}
	} while (n == CHAIN_PAGE);
	ZTP_CHECK(pg_exec(x,
			  "ALTER TABLE events ALTER COLUMN prev SET NOT NULL,"
			  " ALTER COLUMN hash SET NOT NULL,"
			  " ENABLE TRIGGER events_no_change",
			  NULL, "schema migration", NULL));
	a_int(&head, last);
	a_bytes(&head, prev, sizeof(prev));
	ZTP_CHECK(pg_exec(x, "INSERT INTO audit_head(seq, hash) VALUES($1, $2)",
			  &head, "schema migration", NULL));
	ZTP_CHECK(pg_exec(x, "UPDATE ztp_schema SET version = 5", NULL,
			  "schema migration", NULL));
cleanup:
	PQclear(r);
	return rc;
}

/*
 * Bring the schema to p->max_version in one transaction. Openers take
 * turns on a transaction-scoped advisory lock (per schema), so two
 * processes opening a new database do not both create it, and one
 * migrating while others start is waited for.
 */
static int migrate_fn(pgx *x, void *arg)
{
	PGresult *r = NULL;
	int64_t version = 0;
	const char *app;
	int rc = ZTP_OK;

	(void)arg;
	ZTP_CHECK(pg_begin(x));
	/* Building an index on a large table may outlast the statement
	 * timeout of requests; a migration gets ten minutes. */
	ZTP_CHECK(pg_exec(x, "SET LOCAL statement_timeout = '600s'", NULL,
			  "schema migration", NULL));
	ZTP_CHECK(pg_exec(x,
			  "SELECT pg_advisory_xact_lock(hashtextextended("
			  "'libztp schema ' || current_schema(), 0))",
			  NULL, "schema migration", NULL));
	ZTP_CHECK(pg_exec(x,
			  "SELECT current_schema(), EXISTS (SELECT 1 FROM"
			  " pg_catalog.pg_tables WHERE schemaname ="
			  " current_schema() AND tablename = 'ztp_schema')",
			  NULL, "open", &r));
	ZTP_ENSURE(!PQgetisnull(r, 0, 0), ZTP_ESTORE,
		   "postgresql: open: no schema to create tables in (the "
		   "search_path names none that exists)");
	if (PQgetvalue(r, 0, 1)[0] != 0) {
		PQclear(r);
		ZTP_CHECK(pg_exec(x,
				  "SELECT application, version FROM ztp_schema",
				  NULL, "open", &r));
		ZTP_ENSURE(PQntuples(r) == 1, ZTP_ESTORE,
			   "postgresql: open: not a libztp registry (bad "
			   "ztp_schema table)");
		ZTP_CHECK(need_text(r, 0, 0, &app));
		ZTP_ENSURE(strcmp(app, "libztp") == 0, ZTP_ESTORE,
			   "postgresql: open: not a libztp registry");
		ZTP_CHECK(col_int(r, 0, 1, &version));
	}
	ZTP_ENSURE(version <= (int64_t)ZTP__ARRAY_LEN(migrations), ZTP_ESTORE,
		   "postgresql: open: schema version %lld is newer than this "
		   "library's %zu",
		   (long long)version, ZTP__ARRAY_LEN(migrations));
	ZTP_ENSURE(version >= 0, ZTP_ESTORE,
		   "postgresql: open: bad schema version %lld",
		   (long long)version);
	for (; version < x->p->max_version; version++) {
		PGresult *m = PQexec(x->c, migrations[version]);
		ExecStatusType st =
		    m != NULL ? PQresultStatus(m) : PGRES_FATAL_ERROR;

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			rc = pg_fail(x, m, "schema migration");
			PQclear(m);
			ZTP_ENSURE(!state_is(x, "42P07"), ZTP_ESTORE,
				   "postgresql: open: schema %s has tables "
				   "of another application (not a libztp "
				   "registry)",
				   PQgetvalue(r, 0, 0));
			goto cleanup;
		}
		PQclear(m);
		if (version + 1 == CHAIN_VERSION)
			ZTP_CHECK(chain_events(x));
	}
	ZTP_CHECK(pg_commit(x));
cleanup:
	PQclear(r);
	return rc;
}

int ztp__store_postgresql_open_version(ztp_store_backend *be, void **ctx,
				       const char *uri, int version)
{
	static const ztp_store_backend ops = {
	    .version = ZTP_STORE_BACKEND_VERSION,
	    .flags = ZTP_STORE_BACKEND_THREADSAFE,
	    .close = pg_close,
	    .device_add = pg_device_add,
	    .device_get = pg_device_get,
	    .device_set_state = pg_device_set_state,
	    .device_set_info = pg_device_set_info,
	    .claim_set = pg_claim_set,
	    .claim_take = pg_claim_take,
	    .cert_add = pg_cert_add,
	    .cert_get = pg_cert_get,
	    .cert_revoke = pg_cert_revoke,
	    .device_revoke_certs = pg_device_revoke_certs,
	    .revoked_list = pg_revoked_list,
	    .device_certs = pg_device_certs,
	    .cert_count = pg_cert_count,
	    .challenge_use = pg_challenge_use,
	    .event_append = pg_event_append,
	    .event_list = pg_event_list,
	    .counter_next = pg_counter_next,
	    .limit_take = pg_limit_take,
	    .claim_attempt = pg_claim_attempt,
	    .device_set_factory_key = pg_device_set_factory_key,
	    .cert_add_issued = pg_cert_add_issued,
	    .revoked_list_issuer = pg_revoked_list_issuer,
	    .device_count_state = pg_device_count_state,
	    .cert_count_expiring = pg_cert_count_expiring,
	    .device_enroll = pg_device_enroll,
	    .device_list = pg_device_list,
	    .cert_expiring = pg_cert_expiring,
	    .group_add = pg_group_add,
	    .group_get = pg_group_get,
	    .group_list = pg_group_list,
	    .group_set_enabled = pg_group_set_enabled,
	    .group_enroll = pg_group_enroll,
	};
	PQconninfoOption *opts = NULL;
	char *err = NULL;
	pg *p = NULL;
	bool mutex = false, cond = false;
	int rc = ZTP_OK;

	*ctx = NULL;
	ZTP_ENSURE(strnlen(uri, PG_URI_MAX + 1) <= PG_URI_MAX, ZTP_EINVAL,
		   "store URI: postgresql: over %d bytes", PG_URI_MAX);
	ZTP_ENSURE(version >= 1 && version <= (int)ZTP__ARRAY_LEN(migrations),
		   ZTP_EINVAL, "store: postgresql: bad schema version");
	/* Checked here so that a typo is EINVAL, not a connection failure.
	 * libpq's message may quote the URI, password included: not shown. */
	opts = PQconninfoParse(uri, &err);
	PQfreemem(err);
	ZTP_ENSURE(opts != NULL, ZTP_EINVAL,
		   "store URI: postgresql: not a valid libpq connection URI "
		   "(see \"Connection URIs\" in the libpq manual)");
	p = ztp__calloc(1, sizeof(*p));
	ZTP_ENSURE(p != NULL, ZTP_ENOMEM, "store: out of memory");
	p->uri = ztp__strdup(uri);
	ZTP_ENSURE(p->uri != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_ENSURE(pthread_mutex_init(&p->lock, NULL) == 0, ZTP_ENOMEM,
		   "store: cannot create mutex");
	mutex = true;
	ZTP_ENSURE(pthread_cond_init(&p->freed, NULL) == 0, ZTP_ENOMEM,
		   "store: cannot create condition variable");
	cond = true;
	p->max_version = version;
	ZTP_CHECK(pg_run(p, migrate_fn, NULL, "open"));
	*be = ops;
	*ctx = p;
	p = NULL;
cleanup:
	PQconninfoFree(opts);
	if (p != NULL) {
		size_t i;

		for (i = 0; i < PG_POOL_MAX; i++)
			PQfinish(p->slots[i].conn);
		if (cond)
			pthread_cond_destroy(&p->freed);
		if (mutex)
			pthread_mutex_destroy(&p->lock);
		free(p->uri);
		free(p);
	}
	return rc;
}

int ztp__store_postgresql_open(ztp_store_backend *be, void **ctx,
			       const char *uri)
{
	return ztp__store_postgresql_open_version(
	    be, ctx, uri, (int)ZTP__ARRAY_LEN(migrations));
}
