/*
 * The store suite's fixtures, wrapper backend, shared helpers and the test
 * cases of each of its files (tests/unit/store_*.c), assembled by
 * test_store.c.
 */
#ifndef ZTP_TEST_STORE_H
#define ZTP_TEST_STORE_H

#include "store/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <ztp/store.h>

#include "testutil.h"

/* Loop index of every functional test (Check prints it on failure). The
 * loop runs memory:, sqlite: and the wrapper; with ZTP_TEST_PG_URI set
 * (tests/store_pg.sh) it runs postgresql: alone, each test in a schema of
 * its own. */
enum { B_MEMORY, B_SQLITE, B_WRAPPED, B_PG, B_COUNT };

#define FPR_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

#define FPR_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define T0 1700000000

/* A backend of the caller's kind: counts calls per operation and forwards
 * them to a memory store through the public API. */
enum {
	OP_DEVICE_ADD,
	OP_DEVICE_GET,
	OP_SET_STATE,
	OP_SET_INFO,
	OP_CLAIM_SET,
	OP_CLAIM_TAKE,
	OP_CERT_ADD,
	OP_CERT_GET,
	OP_CERT_REVOKE,
	OP_REVOKE_CERTS,
	OP_REVOKED_LIST,
	OP_DEVICE_CERTS,
	OP_CERT_COUNT,
	OP_CHALLENGE_USE,
	OP_EVENT_APPEND,
	OP_EVENT_LIST,
	OP_COUNTER_NEXT,
	OP__COUNT
};

typedef struct wrap {
	ztp_store *inner;
	int64_t now; /* the outer store's clock, passed on to the inner */
	unsigned calls[OP__COUNT];
} wrap;

extern char *tmpdir;
extern char *db_path;
extern char *db_uri;
/* PostgreSQL mode: the server's URI (ZTP_TEST_PG_URI), and this test's
 * URI, whose search_path and application_name are the test's schema. */
extern const char *pg_base_uri;
extern char *pg_uri;
extern char pg_schema[64];
extern int64_t now_val;
extern int wrap_closes;
int w_device_add(void *ctx, const char *id, const char *fpr, const char *model,
		 const char *batch, int64_t mfg, int64_t now);
int w_device_get(void *ctx, const char *id, char **json);
int w_set_state(void *ctx, const char *id, const char *expected,
		const char *state, const char *tenant, int64_t now);
int w_set_info(void *ctx, const char *id, const char *info, int64_t now);
int w_claim_set(void *ctx, const char *id, const uint8_t *h, size_t len);
int w_claim_take(void *ctx, const char *id, const uint8_t *h, size_t len,
		 const char *tenant, int64_t now);
int w_cert_add(void *ctx, const char *serial, const char *id,
	       const char *profile, int64_t nb, int64_t na, const char *fpr,
	       int64_t now);
int w_cert_get(void *ctx, const char *serial, char **json);
int w_cert_revoke(void *ctx, const char *serial, int reason, int64_t when);
int w_revoke_certs(void *ctx, const char *id, const char *profiles, int reason,
		   int64_t when, uint64_t *count);
int w_revoked_list(void *ctx, char **json);
int w_device_certs(void *ctx, const char *id, char **json);
int w_cert_count(void *ctx, uint64_t *out);
int w_challenge_use(void *ctx, const uint8_t *id, size_t len, int64_t exp,
		    int64_t now);
int w_event_append(void *ctx, const char *json, int64_t now);
int w_event_list(void *ctx, int64_t after, size_t max, char **json);
int w_counter_next(void *ctx, const char *name, uint64_t *out);
void w_close(void *ctx);
extern const ztp_store_backend wrap_ops;
wrap *wrap_new(void);
void setup(void);
void teardown(void);
ztp_store *open_kind(int kind, wrap **wp);
json_object *parse(const char *s);
json_object *field(json_object *o, const char *key);
const char *str_field(json_object *o, const char *key);
int64_t int_field(json_object *o, const char *key);
bool null_field(json_object *o, const char *key);
void add_dev(ztp_store *s, const char *id);
extern const char
    *const bad_ids[10]; /* sizeof: checked against the definition */
void expect_state(ztp_store *s, const char *id, const char *state,
		  const char *tenant);
TCase *loop_case(const char *name, const TTest *test, int timeout);
/* Walk the audit chain of s from its first event, checking each link and
 * hash; the number of events. */
int64_t chain_walk(ztp_store *s);

/* Two issuers' key identifiers (lowercase hex). */
#define KID_A "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
#define KID_B "b1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
/* The serials of a revoked list of issuer (NULL: all), comma-separated,
 * in the list's order, into out (store_certs.c). */
void revoked_serials(ztp_store *s, const char *issuer, char *out, size_t cap);

void store_tcases_devices(Suite *s);
void store_tcases_claims(Suite *s);
void store_tcases_certs(Suite *s);
void store_tcases_events(Suite *s);
void store_tcases_stress(Suite *s);
void store_tcases_backends(Suite *s);
void store_tcases_sqlite(Suite *s);
void store_tcases_typed(Suite *s);
void store_tcases_fleet(Suite *s);
void store_tcases_pg(Suite *s);

/* PostgreSQL mode (store_pg.c): the base URI with the options that put a
 * connection in schema (search_path, application_name), malloc'ed; run
 * SQL there with libpq and answer the first value of its first row
 * (malloc'ed, NULL when none), failing the test on an error. */
char *pg_uri_for(const char *schema);
char *pg_sql(const char *sql);
void pg_schema_create(const char *schema);
void pg_schema_drop(const char *schema);
#endif /* ZTP_TEST_STORE_H */
