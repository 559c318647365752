/*
 * Store: what only the postgresql:// backend has, against the real server
 * tests/store_pg.sh starts (ZTP_TEST_PG_URI): connection URIs, the schema
 * table and its migrations, processes racing for one challenge, claim,
 * serial and state transition, openers migrating at once, lost
 * connections and a restarted server, and bounded statement time. The
 * functional cases of the other store_*.c files run on it too (B_PG).
 */
#include "test_store.h"

#include "store/records.h"

#ifdef HAVE_LIBPQ

#include <signal.h>
#include <sys/wait.h>
#include <libpq-fe.h>

/* The schema version this library writes (that of sqlite:'s
 * user_version). */
#define PG_LATEST 7
#define PG_STR_(v) #v
#define PG_STR(v) PG_STR_(v)

char *pg_uri_for(const char *schema)
{
	char *u = NULL;

	ck_assert_ptr_nonnull(pg_base_uri);
	ck_assert_int_ge(asprintf(&u,
				  "%s%soptions=-csearch_path%%3D%s"
				  "&application_name=%s",
				  pg_base_uri,
				  strchr(pg_base_uri, '?') != NULL ? "&" : "?",
				  schema, schema),
			 0);
	return u;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *raw_connect(const char *uri)
{
	PGconn *c = PQconnectdb(uri);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
		      PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

/* Run sql on c: NULL on success with *value the first value (malloc'ed,
 * NULL when none); else the SQLSTATE (static storage of the call). */
static const char *raw_try(PGconn *c, const char *sql, char **value)
{
	static char state[6];
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	const char *code;

	if (value != NULL)
		*value = NULL;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(state, sizeof(state), "%s", code != NULL ? code : "?");
		PQclear(r);
		return state;
	}
	if (value != NULL && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		*value = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return NULL;
}

static char *raw_sql(PGconn *c, const char *sql)
{
	char *v = NULL;
	const char *err = raw_try(c, sql, &v);

	ck_assert_msg(err == NULL, "%s: SQLSTATE %s: %s", sql, err,
		      PQerrorMessage(c));
	return v;
}

char *pg_sql(const char *sql)
{
	PGconn *c = raw_connect(pg_uri != NULL ? pg_uri : pg_base_uri);
	char *v = raw_sql(c, sql);

	PQfinish(c);
	return v;
}

/* The first value of sql as an integer. */
static long pg_long(const char *sql)
{
	char *v = pg_sql(sql);
	long n;

	ck_assert_ptr_nonnull(v);
	n = strtol(v, NULL, 10);
	free(v);
	return n;
}

void pg_schema_create(const char *schema)
{
	char sql[160];
	PGconn *c = raw_connect(pg_base_uri);

	snprintf(sql, sizeof(sql),
		 "DROP SCHEMA IF EXISTS %s CASCADE;"
		 "CREATE SCHEMA %s",
		 schema, schema);
	free(raw_sql(c, sql));
	PQfinish(c);
}

void pg_schema_drop(const char *schema)
{
	char sql[128];
	PGconn *c = raw_connect(pg_base_uri);

	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	free(raw_sql(c, sql));
	PQfinish(c);
}

static ztp_store *pg_open(const char *uri)
{
	ztp_store *s = NULL;

	ck_assert_rc(ztp_store_open(&s, uri), ZTP_OK);
	ck_assert_rc(ztp_store_set_clock(s, ztp_clock_fixed, &now_val), ZTP_OK);
	return s;
}

/* ------------------------------------------------------------ URIs */

START_TEST(test_pg_uris)
{
	const char *sock = getenv("ZTP_TEST_PG_SOCKET_URI");
	ztp_store *s = pg_open(pg_uri), *t;
	char *u = NULL;

	add_dev(s, "d1");
	/* the same registry through the unix socket (host=/path) */
	ck_assert_ptr_nonnull(sock);
	ck_assert_int_ge(
	    asprintf(&u, "%s&options=-csearch_path%%3D%s", sock, pg_schema), 0);
	t = pg_open(u);
	expect_state(t, "d1", ZTP_STATE_MANUFACTURED, NULL);
	ztp_store_free(t);
	free(u);
	/* postgres:// is the same scheme */
	ck_assert(strncmp(pg_uri, "postgresql://", 13) == 0);
	ck_assert_int_ge(asprintf(&u, "postgres://%s", pg_uri + 13), 0);
	t = pg_open(u);
	expect_state(t, "d1", ZTP_STATE_MANUFACTURED, NULL);
	ztp_store_free(t);
	free(u);
	ztp_store_free(s);

	/* a URI libpq cannot parse: EINVAL, and never the password in the
	 * detail */
	t = NULL;
	ck_assert_rc(ztp_store_open(&t, "postgresql://u:sekrit@h/db?bogus=1"),
		     ZTP_EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_ptr_null(strstr(ztp_error_last_message(), "sekrit"));
	/* nothing listening: ESTORE saying so, after bounded retries */
	ck_assert_rc(ztp_store_open(&t, "postgresql://ztp:sekrit@127.0.0.1:1/"
					"ztp?connect_timeout=2"),
		     ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "cannot connect"), "%s",
		      ztp_error_last_message());
	ck_assert_ptr_null(strstr(ztp_error_last_message(), "sekrit"));
	/* a search_path naming no schema: nowhere to create the tables */
	u = pg_uri_for("no_such_schema");
	ck_assert_rc(ztp_store_open(&t, u), ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "no schema"), "%s",
		      ztp_error_last_message());
	free(u);
}
END_TEST

/* ------------------------------------------------------------ schema */

START_TEST(test_pg_schema)
{
	ztp_store *s = pg_open(pg_uri), *t = NULL;
	char other[80], *u;
	PGconn *c;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_event_append(s, "{\"a\":1}"), ZTP_OK);
	ztp_store_free(s);
	ck_assert_int_eq(pg_long("SELECT version FROM ztp_schema"), PG_LATEST);
	/* the event log refuses changes, even by SQL */
	c = raw_connect(pg_uri);
	ck_assert_ptr_nonnull(raw_try(c, "UPDATE events SET at = 0", NULL));
	ck_assert_ptr_nonnull(raw_try(c, "DELETE FROM events", NULL));
	ck_assert_ptr_nonnull(raw_try(c, "TRUNCATE events", NULL));
	/* a schema from a newer library is refused, not used */
	ck_assert_ptr_nonnull(
	    raw_try(c, "UPDATE checkpoints SET at = 0", NULL));
	ck_assert_ptr_nonnull(raw_try(c, "TRUNCATE checkpoints", NULL));
	free(raw_sql(
	    c, "UPDATE ztp_schema SET version = " PG_STR(PG_LATEST) " + 1"));
	ck_assert_rc(ztp_store_open(&t, pg_uri), ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "newer"), "%s",
		      ztp_error_last_message());
	free(raw_sql(c, "UPDATE ztp_schema SET version = " PG_STR(PG_LATEST)));
	PQfinish(c);
	/* another application's tables: not taken for a registry */
	snprintf(other, sizeof(other), "%s_other", pg_schema);
	pg_schema_create(other);
	u = pg_uri_for(other);
	c = raw_connect(u);
	free(raw_sql(c, "CREATE TABLE devices (x int)"));
	PQfinish(c);
	ck_assert_rc(ztp_store_open(&t, u), ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "another application"),
		      "%s", ztp_error_last_message());
	ck_assert_ptr_null(t);
	free(u);
	pg_schema_drop(other);
}
END_TEST

/* A version-1 registry (as the first libztp wrote it) with a device and a
 * certificate, opened by this library: migrated to the latest in place,
 * the rows kept, the new columns null, the new tables working. */
START_TEST(test_pg_migrate)
{
	ztp_store_backend be;
	void *ctx = NULL;
	ztp_store *s;
	int64_t retry;
	char *json = NULL, got[256];
	json_object *o;

	ck_assert_rc(ztp__store_postgresql_open_version(&be, &ctx, pg_uri, 1),
		     ZTP_OK);
	be.close(ctx);
	ck_assert_int_eq(pg_long("SELECT version FROM ztp_schema"), 1);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM information_schema."
				 "columns WHERE table_name = 'certs' AND "
				 "column_name = 'issuer' AND table_schema = "
				 "current_schema()"),
			 0);
	free(pg_sql("INSERT INTO devices VALUES('old', '" FPR_A "', 'm', NULL,"
		    " 1, 'active', 'acme', NULL, 2);"
		    "INSERT INTO certs(serial, device_id, profile, not_before,"
		    " not_after, fingerprint, issued_at) VALUES('c1', 'old',"
		    " 'operational', 1, 2, '" FPR_B "', 3)"));
	s = pg_open(pg_uri);
	ck_assert_int_eq(pg_long("SELECT version FROM ztp_schema"), PG_LATEST);
	/* the fleet's indexes (sqlite's v6 and v7) */
	ck_assert_int_eq(
	    pg_long("SELECT count(*) FROM pg_indexes WHERE schemaname ="
		    " current_schema() AND indexname IN ('devices_by_state',"
		    " 'devices_by_tenant', 'devices_by_model',"
		    " 'devices_by_batch', 'devices_by_group',"
		    " 'certs_by_expiry', 'groups_by_issuer')"),
	    7);
	ck_assert_rc(ztp_store_device_get(s, "old", &json), ZTP_OK);
	o = parse(json);
	ck_assert_str_eq(str_field(o, "state"), ZTP_STATE_ACTIVE);
	ck_assert(null_field(o, "factory_key"));
	ck_assert(null_field(o, "group"));
	json_object_put(o);
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_get(s, "c1", &json), ZTP_OK);
	o = parse(json);
	ck_assert(null_field(o, "issuer"));
	json_object_put(o);
	ztp_free(json);
	/* an unknown issuer's revocation is on every issuer's list */
	ck_assert_rc(ztp_store_cert_revoke(s, "c1", 1, T0), ZTP_OK);
	revoked_serials(s, KID_A, got, sizeof(got));
	ck_assert_str_eq(got, "c1");
	ck_assert_rc(ztp_store_limit_take(s, "device", "old", 1, 1, T0, &retry),
		     ZTP_OK);
	ck_assert_rc(
	    ztp_store_device_set_factory_key(s, "old", (const uint8_t *)"k", 1),
	    ZTP_OK);
	ztp_store_free(s);
}
END_TEST

/* A registry of version 3 (the last before the gauges and the audit
 * chain) holding devices, a certificate and events, as that library wrote
 * them: the migration counts the devices by state, chains the events in
 * seq order from the genesis value and records the head; from then on
 * the trigger keeps the counts, appends continue the chain, and the
 * chain's columns are mandatory. */
START_TEST(test_pg_migrate_v3)
{
	ztp_store_backend be;
	void *ctx = NULL;
	ztp_store *s;
	uint64_t n = 0;
	int i;

	ck_assert_rc(ztp__store_postgresql_open_version(&be, &ctx, pg_uri, 3),
		     ZTP_OK);
	be.close(ctx);
	ck_assert_int_eq(pg_long("SELECT version FROM ztp_schema"), 3);
	free(pg_sql("INSERT INTO devices(device_id, fingerprint,"
		    " manufactured_at, state, updated_at) VALUES"
		    " ('d1', '" FPR_A "', 1, 'active', 2),"
		    " ('d2', '" FPR_A "', 1, 'active', 2),"
		    " ('d3', '" FPR_A "', 1, 'manufactured', 2);"
		    "INSERT INTO certs(serial, device_id, profile, not_before,"
		    " not_after, fingerprint, issued_at) VALUES('c1', 'd1',"
		    " 'operational', 1, 100, '" FPR_B "', 3);"
		    "INSERT INTO events(seq, at, json) SELECT g, 1000 + g,"
		    " '{\"n\":' || g || '}' FROM generate_series(1, 1203) g"));
	s = pg_open(pg_uri);
	ck_assert_int_eq(pg_long("SELECT version FROM ztp_schema"), PG_LATEST);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n), ZTP_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d3", NULL, ZTP_STATE_ACTIVE, "t"),
	    ZTP_OK);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n), ZTP_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		     ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(
	    ztp_store_cert_count_expiring(s, "operational", 0, 101, &n),
	    ZTP_OK);
	ck_assert_uint_eq(n, 1);
	/* more than one page of old events, chained; then new ones */
	ck_assert_int_eq(pg_long("SELECT seq FROM audit_head"), 1203);
	for (i = 0; i < 3; i++)
		ck_assert_rc(ztp_store_event_append(s, "{\"new\":1}"), ZTP_OK);
	ck_assert_int_eq(chain_walk(s), 1206);
	ztp_store_free(s);
	/* an older library's append (no hashes) is refused, not chained */
	ck_assert_int_eq(pg_long("SELECT count(*) FROM information_schema."
				 "columns WHERE table_name = 'events' AND"
				 " column_name IN ('prev', 'hash') AND"
				 " is_nullable = 'NO' AND table_schema ="
				 " current_schema()"),
			 2);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM pg_indexes WHERE"
				 " indexname = 'certs_live_by_expiry' AND"
				 " schemaname = current_schema()"),
			 1);
}
END_TEST

/* ------------------------------------------------------------ processes */

#define NPROC 8

/* Fork n children that each run prep(i) (when not NULL; a non-zero
 * answer is their exit code), then wait at the gate until every child is
 * ready, then run fn(i) and exit with its result (a small non-negative
 * number); collect the results into res. */
static void run_children_prep(int n, int (*prep)(int), int (*fn)(int), int *res)
{
	int gate[2], ready[2], i, st, rc;
	pid_t pid[NPROC];
	char b = 0;

	ck_assert_int_le(n, NPROC);
	ck_assert_int_eq(pipe(gate), 0);
	ck_assert_int_eq(pipe(ready), 0);
	for (i = 0; i < n; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			close(gate[1]);
			close(ready[0]);
			rc = prep != NULL ? prep(i) : 0;
			if (write(ready[1], &b, 1) != 1)
				_exit(121);
			close(ready[1]);
			if (rc != 0)
				_exit(rc);
			/* EOF: every child starts at once */
			if (read(gate[0], &b, 1) < 0)
				_exit(120);
			_exit(fn(i));
		}
	}
	close(gate[0]);
	close(ready[1]);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(read(ready[0], &b, 1), 1);
	close(ready[0]);
	close(gate[1]);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert_msg(WIFEXITED(st), "child %d died", i);
		res[i] = WEXITSTATUS(st);
	}
}

static void run_children(int n, int (*fn)(int), int *res)
{
	run_children_prep(n, NULL, fn, res);
}

/* A ztp status as an exit code. */
static int code_of(int rc)
{
	return rc <= 0 && rc > -100 ? -rc : 99;
}

static int child_open(int i)
{
	ztp_store *s = NULL;
	char id[16];
	int rc;

	/* libpq and libztp state from before the fork is not used */
	rc = ztp_store_open(&s, pg_uri);
	if (rc == ZTP_OK) {
		snprintf(id, sizeof(id), "p%d", i);
		rc = ztp_store_device_add(s, id, FPR_A, NULL, NULL, T0);
	}
	ztp_store_free(s);
	return code_of(rc);
}

/* Processes opening one empty schema at once: one creates it, the others
 * wait for it and use it. */
START_TEST(test_pg_open_race)
{
	int res[NPROC], i;

	run_children(NPROC, child_open, res);
	for (i = 0; i < NPROC; i++)
		ck_assert_msg(res[i] == 0, "child %d: status -%d", i, res[i]);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM ztp_schema"), 1);
	ck_assert_int_eq(pg_long("SELECT version FROM ztp_schema"), PG_LATEST);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM devices"), NPROC);
	{
		ztp_store *s = pg_open(pg_uri);
		uint64_t n = 0;

		/* counted by every process's trigger, whichever shard */
		ck_assert_rc(
		    ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		    ZTP_OK);
		ck_assert_uint_eq(n, NPROC);
		ztp_store_free(s);
	}
}
END_TEST

/* Processes appending to one registry at once (verifier instances): the
 * chain has every event once, in seq order, each linked to the one
 * committed before it, and the head is the last. */
#define APPENDS 40

static int child_append(int i)
{
	ztp_store *s = NULL;
	char ev[48];
	int j, rc;

	rc = ztp_store_open(&s, pg_uri);
	for (j = 0; rc == ZTP_OK && j < APPENDS; j++) {
		snprintf(ev, sizeof(ev), "{\"child\":%d,\"n\":%d}", i, j);
		rc = ztp_store_event_append(s, ev);
	}
	ztp_store_free(s);
	return code_of(rc);
}

START_TEST(test_pg_append_race)
{
	ztp_store *s = pg_open(pg_uri);
	int res[NPROC], i;

	run_children(NPROC, child_append, res);
	for (i = 0; i < NPROC; i++)
		ck_assert_msg(res[i] == 0, "child %d: status -%d", i, res[i]);
	ck_assert_int_eq(chain_walk(s), NPROC * APPENDS);
	ck_assert_int_eq(pg_long("SELECT seq FROM audit_head"),
			 NPROC * APPENDS);
	ck_assert_int_eq(pg_long("SELECT count(DISTINCT json) FROM events"),
			 NPROC * APPENDS);
	ztp_store_free(s);
}
END_TEST

static int race_round;

/* What a child races for: exit code bits, one per race won (0) or lost
 * as expected (1); 64 + status on any other answer. */
static int child_race(int i)
{
	ztp_store *s = NULL;
	const uint8_t hash[] = "claim-hash";
	char chal[32], dev[32], serial[32], tenant[32];
	int rc, out = 0;

	if (ztp_store_open(&s, pg_uri) != ZTP_OK)
		return 64 + code_of(ztp_error_last_code());
	snprintf(chal, sizeof(chal), "chal-%d", race_round);
	snprintf(dev, sizeof(dev), "dev-%d", race_round);
	snprintf(serial, sizeof(serial), "abc%d", race_round);
	snprintf(tenant, sizeof(tenant), "tenant-%d", i);
	rc = ztp_store_challenge_use(s, (const uint8_t *)chal, strlen(chal),
				     T0 + 60, T0);
	if (rc != ZTP_OK && rc != ZTP_EREPLAY)
		goto bad;
	out |= rc == ZTP_OK ? 0 : 1;
	rc = ztp_store_claim_take(s, dev, hash, sizeof(hash), tenant);
	if (rc != ZTP_OK && rc != ZTP_ENOTFOUND)
		goto bad;
	out |= rc == ZTP_OK ? 0 : 2;
	rc = ztp_store_cert_add(s, serial, dev, "bootstrap", T0, T0 + 1, FPR_B);
	if (rc != ZTP_OK && rc != ZTP_EEXISTS)
		goto bad;
	out |= rc == ZTP_OK ? 0 : 4;
	rc = ztp_store_device_set_state(s, dev, ZTP_STATE_ACTIVE,
					ZTP_STATE_REGISTERED, tenant);
	if (rc != ZTP_OK && rc != ZTP_ESTATE)
		goto bad;
	out |= rc == ZTP_OK ? 0 : 8;
	ztp_store_free(s);
	return out;
bad:
	ztp_store_free(s);
	return 64 + code_of(rc);
}

/* Processes (verifier instances) racing, many rounds: each race has
 * exactly one winner, and the record holds the winner's write. */
START_TEST(test_pg_process_races)
{
	ztp_store *s = pg_open(pg_uri);
	const uint8_t hash[] = "claim-hash";
	int res[NPROC], round, i, bit;
	char dev[32], sql[160], *v;

	for (round = 0; round < 5; round++) {
		int wins[4] = {0, 0, 0, 0}, claim_winner = -1, cas_winner = -1;

		snprintf(dev, sizeof(dev), "dev-%d", round);
		add_dev(s, dev);
		ck_assert_rc(ztp_store_claim_set(s, dev, hash, sizeof(hash)),
			     ZTP_OK);
		race_round = round;
		run_children(NPROC, child_race, res);
		for (i = 0; i < NPROC; i++) {
			ck_assert_msg(res[i] < 64, "round %d child %d: -%d",
				      round, i, res[i] - 64);
			for (bit = 0; bit < 4; bit++)
				if ((res[i] & (1 << bit)) == 0)
					wins[bit]++;
			if ((res[i] & 2) == 0)
				claim_winner = i;
			if ((res[i] & 8) == 0)
				cas_winner = i;
		}
		for (bit = 0; bit < 4; bit++)
			ck_assert_msg(wins[bit] == 1,
				      "round %d race %d: %d winners", round,
				      bit, wins[bit]);
		/* the state CAS ran after the claim: its winner's tenant */
		snprintf(sql, sizeof(sql),
			 "SELECT state || ' ' || tenant FROM devices"
			 " WHERE device_id = '%s'",
			 dev);
		v = pg_sql(sql);
		snprintf(sql, sizeof(sql), "registered tenant-%d", cas_winner);
		ck_assert_str_eq(v, sql);
		free(v);
		ck_assert_int_ne(claim_winner, -1);
	}
	ck_assert_int_eq(pg_long("SELECT count(*) FROM claims"), 0);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM certs"), 5);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM challenges"), 5);
	/* the state counts followed every process's transitions */
	{
		uint64_t n = 0;

		ck_assert_rc(
		    ztp_store_device_count(s, ZTP_STATE_REGISTERED, &n),
		    ZTP_OK);
		ck_assert_uint_eq(n, 5);
		ck_assert_rc(ztp_store_device_count(s, ZTP_STATE_ACTIVE, &n),
			     ZTP_OK);
		ck_assert_uint_eq(n, 0);
		ck_assert_rc(
		    ztp_store_device_count(s, ZTP_STATE_MANUFACTURED, &n),
		    ZTP_OK);
		ck_assert_uint_eq(n, 0);
	}
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ fleet */

static const uint8_t race_spki[3] = {0x30, 0x01, 0x00};

/* A child's store, opened (connected, schema checked) before the gate,
 * so that what the children race for is the operation itself. */
static ztp_store *child_store;

static int child_open_store(int i)
{
	char *json = NULL;
	int rc;

	(void)i;
	if (ztp_store_open(&child_store, pg_uri) != ZTP_OK)
		return 64 + code_of(ztp_error_last_code());
	ztp_store_set_clock(child_store, ztp_clock_fixed, &now_val);
	/* a first call: the connection is up */
	rc = ztp_store_group_get(child_store, "none", &json);
	ztp_free(json);
	if (rc == ZTP_ENOTFOUND)
		return 0;
	ztp_store_free(child_store);
	return 64 + code_of(rc);
}

/* 0: this child got the group's last place, 1: refused as full. */
static int child_group_enroll(int i)
{
	ztp_store *s = child_store;
	char group[32], dev[32];
	int rc;

	snprintf(group, sizeof(group), "race-g%d", race_round);
	snprintf(dev, sizeof(dev), "gr-%d-%d", race_round, i);
	rc = ztp_store_group_enroll(s, group, dev, FPR_A, race_spki,
				    sizeof(race_spki), T0);
	ztp_store_free(s);
	if (rc == ZTP_OK || rc == ZTP_ETOOBIG)
		return rc == ZTP_OK ? 0 : 1;
	return 64 + code_of(rc);
}

/* Bootstraps on several instances racing for the last place of a capped
 * group: exactly one gets it, and the count is the number of devices. */
START_TEST(test_pg_group_race)
{
	ztp_store *s = pg_open(pg_uri);
	int res[NPROC], round, i, wins;
	char json[256], id[32], sql[160];

	for (round = 0; round < 3; round++) {
		snprintf(json, sizeof(json),
			 "{\"group_id\":\"race-g%d\",\"issuer\":\"" FPR_B
			 "\",\"cap\":3}",
			 round);
		ck_assert_rc(ztp_store_group_add(s, json), ZTP_OK);
		for (i = 0; i < 2; i++) {
			snprintf(json, sizeof(json), "race-g%d", round);
			snprintf(id, sizeof(id), "pre-%d-%d", round, i);
			ck_assert_rc(ztp_store_group_enroll(
					 s, json, id, FPR_A, race_spki,
					 sizeof(race_spki), T0),
				     ZTP_OK);
		}
		race_round = round;
		run_children_prep(NPROC, child_open_store, child_group_enroll,
				  res);
		for (i = wins = 0; i < NPROC; i++) {
			ck_assert_msg(res[i] < 64, "round %d child %d: -%d",
				      round, i, res[i] - 64);
			wins += res[i] == 0;
		}
		ck_assert_msg(wins == 1, "round %d: %d winners", round, wins);
		snprintf(sql, sizeof(sql),
			 "SELECT enrolled * 100 + (SELECT count(*) FROM devices"
			 " WHERE enroll_group = group_id) FROM groups"
			 " WHERE group_id = 'race-g%d'",
			 round);
		ck_assert_int_eq(pg_long(sql), 303);
	}
	ztp_store_free(s);
}
END_TEST

#define ENROLL_N 20

static int count_ok(void *arg, const int *results)
{
	int *n = arg, i;

	*n = 0;
	for (i = 0; i < ENROLL_N; i++)
		*n += results[i] == ZTP_OK;
	return ZTP_OK;
}

static void enroll_recs(ztp_store_enrollment *recs, char ids[][16],
			const uint8_t *hash)
{
	int i;

	for (i = 0; i < ENROLL_N; i++) {
		snprintf(ids[i], 16, "im-%d", i);
		memset(&recs[i], 0, sizeof(recs[i]));
		recs[i].device_id = ids[i];
		recs[i].fingerprint = FPR_A;
		recs[i].model = "m1";
		recs[i].manufactured_at = T0 - 10;
		recs[i].claim_hash = hash;
		recs[i].claim_hash_len = 8;
		recs[i].factory_key = race_spki;
		recs[i].factory_key_len = sizeof(race_spki);
	}
}

typedef struct commit_count {
	int calls, ok;
} commit_count;

static int count_calls(void *arg, const int *results)
{
	commit_count *c = arg;
	int i;

	c->calls++;
	for (i = c->ok = 0; i < 250; i++)
		c->ok += results[i] == ZTP_OK;
	return ZTP_OK;
}

/* How many of the records this importer enrolled. */
static int child_enroll(int i)
{
	ztp_store_enrollment recs[ENROLL_N];
	char ids[ENROLL_N][16];
	int results[ENROLL_N], n = 0, rc;
	ztp_store *s = child_store;

	(void)i;
	enroll_recs(recs, ids, (const uint8_t *)"hash-one");
	rc = ztp__store_device_enroll(s, recs, ENROLL_N, results, count_ok, &n);
	ztp_store_free(s);
	return rc == ZTP_OK ? n : 64 + code_of(rc);
}

/* Importers of one batch at once, then the batch again: each device is
 * enrolled once, by one of them; a re-run changes nothing. */
START_TEST(test_pg_enroll_race)
{
	ztp_store *s = pg_open(pg_uri);
	ztp_store_enrollment recs[ENROLL_N];
	char ids[ENROLL_N][16], *json = NULL;
	int res[NPROC], results[ENROLL_N], i, total = 0, n = -1;
	json_object *o;

	run_children_prep(NPROC, child_open_store, child_enroll, res);
	for (i = 0; i < NPROC; i++) {
		ck_assert_msg(res[i] < 64, "child %d: -%d", i, res[i] - 64);
		total += res[i];
	}
	ck_assert_int_eq(total, ENROLL_N);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM claims"), ENROLL_N);
	/* the same batch again, later, with other claim codes */
	now_val = T0 + 100;
	enroll_recs(recs, ids, (const uint8_t *)"hash-two");
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, ENROLL_N, results, count_ok, &n),
	    ZTP_OK);
	ck_assert_int_eq(n, 0);
	for (i = 0; i < ENROLL_N; i++)
		ck_assert_int_eq(results[i], ZTP_EEXISTS);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM devices"), ENROLL_N);
	ck_assert_rc(ztp_store_device_get(s, "im-7", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	ck_assert_int_eq(int_field(o, "updated_at"), T0);
	ck_assert_str_eq(str_field(o, "factory_key"), "MAEA");
	json_object_put(o);
	ck_assert_rc(ztp_store_claim_take(
			 s, "im-7", (const uint8_t *)"hash-two", 8, "acme"),
		     ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_take(
			 s, "im-7", (const uint8_t *)"hash-one", 8, "acme"),
		     ZTP_OK);
	ztp_store_free(s);
}
END_TEST

/* A statement that fails in the middle of a large batch (past the first
 * pipeline round): nothing of the batch is recorded, the callback is not
 * asked, and the same connection serves the next batch. */
START_TEST(test_pg_enroll_failure)
{
	ztp_store *s = pg_open(pg_uri);
	static ztp_store_enrollment recs[250];
	static char ids[250][16];
	static int results[250];
	commit_count c = {0, 0};
	int i;

	free(
	    pg_sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
		   " AS $$BEGIN RAISE EXCEPTION 'refused'; END$$;"
		   "CREATE TRIGGER refuse BEFORE INSERT ON devices FOR EACH ROW"
		   " WHEN (NEW.device_id = 'bad') EXECUTE FUNCTION refuse()"));
	for (i = 0; i < 250; i++) {
		snprintf(ids[i], sizeof(ids[i]), i == 170 ? "bad" : "big-%d",
			 i);
		memset(&recs[i], 0, sizeof(recs[i]));
		recs[i].device_id = ids[i];
		recs[i].fingerprint = FPR_A;
		recs[i].claim_hash = (const uint8_t *)"hash-one";
		recs[i].claim_hash_len = 8;
	}
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 250, results, count_calls, &c),
	    ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "refused"), "%s",
		      ztp_error_last_message());
	ck_assert_int_eq(c.calls, 0);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM devices"), 0);
	snprintf(ids[170], sizeof(ids[170]), "big-170");
	ck_assert_rc(
	    ztp__store_device_enroll(s, recs, 250, results, count_calls, &c),
	    ZTP_OK);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.ok, 250);
	ck_assert_int_eq(pg_long("SELECT count(*) FROM claims"), 250);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ connections */

/* Terminate this test's server processes (the store's connections) but
 * the calling one; how many. */
static long terminate_backends(const char *where)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
		 " WHERE application_name = '%s' AND pid <> pg_backend_pid()%s",
		 pg_schema, where);
	return pg_long(sql);
}

/* Idle connections killed (a server restart, a DBA, a proxy's timeout):
 * the next calls reconnect and succeed. */
START_TEST(test_pg_terminate_idle)
{
	ztp_store *s = pg_open(pg_uri);
	uint64_t n;

	add_dev(s, "d1");
	ck_assert_int_ge(terminate_backends(""), 1);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	ck_assert_int_ge(terminate_backends(""), 1);
	add_dev(s, "d2");
	ck_assert_int_ge(terminate_backends(""), 1);
	ck_assert_rc(
	    ztp_store_cert_add(s, "a1", "d2", "bootstrap", T0, T0 + 1, FPR_B),
	    ZTP_OK);
	ck_assert_rc(ztp_store_cert_count(s, &n), ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ztp_store_free(s);
}
END_TEST

typedef struct claimer {
	ztp_store *s;
	int rc;
} claimer;

static void *claim_thread(void *arg)
{
	claimer *c = arg;
	const uint8_t hash[] = "claim-hash";

	c->rc = ztp_store_claim_take(c->s, "d1", hash, sizeof(hash), "acme");
	return NULL;
}

/* Wait (bounded) until one of the store's connections waits for a lock. */
static void wait_for_lock_waiter(void)
{
	char sql[256];
	int i;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_stat_activity WHERE"
		 " application_name = '%s' AND wait_event_type = 'Lock'",
		 pg_schema);
	for (i = 0; i < 1000 && pg_long(sql) == 0; i++)
		usleep(10000);
	ck_assert_msg(i < 1000, "no connection waits for the lock");
}

/* A connection killed inside a transaction: the transaction rolled back
 * on the server and runs again on a new connection; the claim is taken
 * exactly once and nothing of the first attempt is left. */
START_TEST(test_pg_terminate_in_txn)
{
	ztp_store *s = pg_open(pg_uri);
	const uint8_t hash[] = "claim-hash";
	claimer c = {s, 1};
	pthread_t t;
	PGconn *lock;

	add_dev(s, "d1");
	ck_assert_rc(ztp_store_claim_set(s, "d1", hash, sizeof(hash)), ZTP_OK);
	lock = raw_connect(pg_uri);
	free(raw_sql(lock, "BEGIN"));
	free(raw_sql(lock, "SELECT 1 FROM devices WHERE device_id = 'd1'"
			   " FOR UPDATE"));
	ck_assert_int_eq(pthread_create(&t, NULL, claim_thread, &c), 0);
	wait_for_lock_waiter();
	ck_assert_int_eq(terminate_backends(" AND wait_event_type = 'Lock'"),
			 1);
	/* the retry waits for the same lock, on a new connection */
	wait_for_lock_waiter();
	free(raw_sql(lock, "COMMIT"));
	PQfinish(lock);
	pthread_join(t, NULL);
	ck_assert_rc(c.rc, ZTP_OK);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");
	ck_assert_int_eq(pg_long("SELECT count(*) FROM claims"), 0);
	ck_assert_rc(ztp_store_claim_take(s, "d1", hash, sizeof(hash), "x"),
		     ZTP_ENOTFOUND);
	ztp_store_free(s);
}
END_TEST

static void pg_ctl(const char *what)
{
	const char *ctl = getenv("ZTP_TEST_PG_CTL");
	char cmd[512];

	ck_assert_ptr_nonnull(ctl);
	snprintf(cmd, sizeof(cmd), "%s %s", ctl, what);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* The server restarted under an open store: calls reconnect. The server
 * down: a clear ZTP_ESTORE, nothing recorded; back up: calls work again. */
START_TEST(test_pg_restart)
{
	ztp_store *s = pg_open(pg_uri);
	char *json = NULL;

	add_dev(s, "d1");
	pg_ctl("restart");
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	pg_ctl("stop");
	ck_assert_rc(ztp_store_device_add(s, "d2", FPR_A, NULL, NULL, T0),
		     ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "cannot connect") &&
			  strstr(ztp_error_last_message(), "attempts"),
		      "%s", ztp_error_last_message());
	pg_ctl("start");
	ck_assert_rc(ztp_store_device_get(s, "d2", &json), ZTP_ENOTFOUND);
	add_dev(s, "d2");
	expect_state(s, "d2", ZTP_STATE_MANUFACTURED, NULL);
	ztp_store_free(s);
}
END_TEST

/* A row held elsewhere beyond the statement timeout: the call ends with
 * ZTP_ESTORE saying so, and changes nothing. */
START_TEST(test_pg_timeout)
{
	ztp_store *s = pg_open(pg_uri), *t;
	PGconn *lock;
	char *u = NULL;

	add_dev(s, "d1");
	ck_assert_int_ge(asprintf(&u,
				  "%s&options=-csearch_path%%3D%s%%20"
				  "-cstatement_timeout%%3D200",
				  pg_base_uri, pg_schema),
			 0);
	t = pg_open(u);
	lock = raw_connect(pg_uri);
	free(raw_sql(lock, "BEGIN"));
	free(raw_sql(lock, "SELECT 1 FROM devices WHERE device_id = 'd1'"
			   " FOR UPDATE"));
	ck_assert_rc(
	    ztp_store_device_set_state(t, "d1", NULL, ZTP_STATE_REVOKED, NULL),
	    ZTP_ESTORE);
	ck_assert_msg(strstr(ztp_error_last_message(), "timed out"), "%s",
		      ztp_error_last_message());
	free(raw_sql(lock, "ROLLBACK"));
	PQfinish(lock);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	ztp_store_free(t);
	ztp_store_free(s);
	free(u);
}
END_TEST

static TCase *pg_case(const char *name, const TTest *test)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test);
	tcase_set_tags(tc, "pg");
	tcase_set_timeout(tc, 120);
	return tc;
}

void store_tcases_pg(Suite *s)
{
	if (pg_base_uri == NULL)
		return;
	suite_add_tcase(s, pg_case("pg_uris", test_pg_uris));
	suite_add_tcase(s, pg_case("pg_schema", test_pg_schema));
	suite_add_tcase(s, pg_case("pg_migrate", test_pg_migrate));
	suite_add_tcase(s, pg_case("pg_migrate_v3", test_pg_migrate_v3));
	suite_add_tcase(s, pg_case("pg_open_race", test_pg_open_race));
	suite_add_tcase(s, pg_case("pg_append_race", test_pg_append_race));
	suite_add_tcase(s, pg_case("pg_process_races", test_pg_process_races));
	suite_add_tcase(s,
			pg_case("pg_terminate_idle", test_pg_terminate_idle));
	suite_add_tcase(
	    s, pg_case("pg_terminate_in_txn", test_pg_terminate_in_txn));
	suite_add_tcase(s, pg_case("pg_restart", test_pg_restart));
	suite_add_tcase(s, pg_case("pg_timeout", test_pg_timeout));
	suite_add_tcase(s, pg_case("pg_group_race", test_pg_group_race));
	suite_add_tcase(s, pg_case("pg_enroll_race", test_pg_enroll_race));
	suite_add_tcase(s,
			pg_case("pg_enroll_failure", test_pg_enroll_failure));
}

#else /* !HAVE_LIBPQ */

char *pg_uri_for(const char *schema)
{
	(void)schema;
	ck_abort_msg("ZTP_TEST_PG_URI set, but libztp is built without libpq");
	return NULL;
}

char *pg_sql(const char *sql)
{
	return pg_uri_for(sql);
}

void pg_schema_create(const char *schema)
{
	free(pg_uri_for(schema));
}

void pg_schema_drop(const char *schema)
{
	free(pg_uri_for(schema));
}

void store_tcases_pg(Suite *s)
{
	(void)s;
}

#endif
