/*
 * Verifier: bulk enrollment from JSON lines (ztp_verifier_import) and the
 * inventory calls.
 */
#include "test_verifier.h"

#include <unistd.h>

#include <json-c/json.h>

#define FPR_HEX                                                                \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *dir;

/* A JSON string literal of s (malloc'd). */
static char *jstr(const char *s)
{
	json_object *o = json_object_new_string(s);
	char *out = strdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* Write lines (each NUL-terminated, the list ends with NULL) as a file. */
static char *write_lines(const char *name, const char *const *lines)
{
	char *path = ztp_test_path(dir, name);
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; lines[i] != NULL; i++)
		fprintf(f, "%s\n", lines[i]);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* {"device_id":id,"factory_cert":PEM of c} */
static char *cert_line(const char *id, X509 *c)
{
	char *pem = vpki_pem(c), *q = jstr(pem), *line;
	size_t n = strlen(q) + strlen(id) + 64;

	line = malloc(n);
	ck_assert_ptr_nonnull(line);
	snprintf(line, n, "{\"device_id\":\"%s\",\"factory_cert\":%s}", id, q);
	free(q);
	free(pem);
	return line;
}

/* The refusal of summary s for line n: its code, or NULL if none. */
static const char *refusal_code(json_object *s, int64_t n)
{
	json_object *list = NULL, *it, *m;
	size_t i;

	ck_assert(json_object_object_get_ex(s, "refusals", &list));
	for (i = 0; i < json_object_array_length(list); i++) {
		it = json_object_array_get_idx(list, i);
		ck_assert(json_object_object_get_ex(it, "line", &m));
		if (json_object_get_int64(m) != n)
			continue;
		ck_assert(json_object_object_get_ex(it, "code", &m));
		return json_object_get_string(m);
	}
	return NULL;
}

static int64_t count_of(json_object *s, const char *key)
{
	json_object *m = NULL;

	ck_assert(json_object_object_get_ex(s, key, &m));
	return json_object_get_int64(m);
}

/* The claims file's lines: "ID CODE" each; the code of id into code. */
static int claims_lines(const char *path, const char *id, char code[40])
{
	char line[256];
	FILE *f = fopen(path, "r");
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' ');

		n++;
		ck_assert_ptr_nonnull(sp);
		line[strcspn(line, "\n")] = '\0';
		*sp = '\0';
		ck_assert_uint_eq(strlen(sp + 1), 39);
		if (id != NULL && strcmp(line, id) == 0)
			snprintf(code, 40, "%s", sp + 1);
	}
	fclose(f);
	return n;
}

static void setup_dir(void)
{
	setup();
	dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
}

static void teardown_dir(void)
{
	ztp_test_rmtree(dir);
	free(dir);
	teardown();
}

START_TEST(import_mixed)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c20 = vpki_leaf("dev-20", k, issuing, ikey, T0 - DAY, T0 + DAY);
	X509 *c22 = vpki_leaf("dev-22", k, issuing, ikey, T0 - DAY, T0 + DAY);
	X509 *cca;
	char *l20 = cert_line("dev-20", c20), *l23 = cert_line("dev-23", c22);
	char *ldev1 = cert_line(DEV, factory), *lca, *big, *in, *claims,
	     *summary = NULL, *json = NULL, code[40] = "";
	json_object *s, *d;
	struct stat st;
	vpki_cert_opts o = {.cn = "dev-24",
			    .bc = "critical,CA:TRUE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = T0 - DAY,
			    .not_after = T0 + DAY};

	cca = vpki_cert(&o, k, issuing, ikey);
	lca = cert_line("dev-24", cca);
	big = malloc(ZTP_BULK_LINE_MAX + 100);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', ZTP_BULK_LINE_MAX + 99);
	big[ZTP_BULK_LINE_MAX + 99] = '\0';
	memcpy(big, "{\"device_id\":\"dev-25\",", 22);
	{
		const char *const lines[] = {
		    l20,
		    "{\"device_id\":\"dev-21\",\"fingerprint\":"
		    "\"ABCDEF0123456789"
		    "abcdef0123456789abcdef0123456789abcdef0123456789\","
		    "\"model\":\"m-2\",\"batch\":\"b-9\","
		    "\"manufactured_at\":\"2026-01-02T03:04:05Z\"}",
		    "   ",
		    "not json",
		    l23,
		    "{\"device_id\":\"dev-26\",\"fingerprint\":\"" FPR_HEX "\","
		    "\"factory_cert\":\"x\"}",
		    ldev1,
		    "{\"device_id\":\"dev-2\",\"fingerprint\":\"" FPR_HEX "\"}",
		    "{\"device_id\":\"dev-27\",\"fingerprint\":\"" FPR_HEX "\","
		    "\"colour\":\"red\"}",
		    lca,
		    big,
		    "{\"device_id\":\"bad/id\",\"fingerprint\":\"" FPR_HEX
		    "\"}",
		    "{\"device_id\":\"dev-28\",\"fingerprint\":\"" FPR_HEX "\","
		    "\"batch\":\"two\\nlines\"}",
		    NULL};

		in = write_lines("in.jsonl", lines);
	}
	claims = ztp_test_path(dir, "claims.txt");
	ck_assert_rc(
	    ztp_verifier_import(v, &summary, in, claims, 0, NULL, NULL),
	    ZTP_OK);
	s = json_tokener_parse(summary);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(count_of(s, "lines"), 13);
	ck_assert_int_eq(count_of(s, "enrolled"), 2);
	ck_assert_int_eq(count_of(s, "skipped"), 1);
	ck_assert_int_eq(count_of(s, "refused"), 9);
	ck_assert_ptr_null(refusal_code(s, 1));
	ck_assert_ptr_null(refusal_code(s, 3));
	ck_assert_str_eq(refusal_code(s, 4), "malformed_input");
	ck_assert_str_eq(refusal_code(s, 5), "identity_mismatch");
	ck_assert_str_eq(refusal_code(s, 6), "invalid_argument");
	ck_assert_ptr_null(refusal_code(s, 7));
	ck_assert_str_eq(refusal_code(s, 8), "already_exists");
	ck_assert_str_eq(refusal_code(s, 9), "malformed_input");
	ck_assert_str_eq(refusal_code(s, 10), "bad_profile");
	ck_assert_str_eq(refusal_code(s, 11), "too_large");
	ck_assert_str_eq(refusal_code(s, 12), "invalid_argument");
	ck_assert_str_eq(refusal_code(s, 13), "invalid_argument");
	json_object_put(s);
	ztp_free(summary);
	/* one import event with the counts */
	ck_assert_ptr_nonnull(strstr(last_event, "\"type\":\"import\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"enrolled\":2"));

	/* the codes of exactly the enrolled devices, in a private file */
	ck_assert_int_eq(stat(claims, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(claims_lines(claims, "dev-21", code), 2);
	ck_assert_rc(ztp_verifier_claim(v, "dev-21", code, "acme"), ZTP_OK);
	ck_assert_int_eq(claims_lines(claims, "dev-20", code), 2);
	ck_assert_rc(ztp_verifier_claim(v, "dev-20", code, "acme"), ZTP_OK);

	/* the records as each line gave them */
	ck_assert_rc(ztp_store_device_get(store, "dev-21", &json), ZTP_OK);
	d = json_tokener_parse(json);
	ztp_free(json);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(
	    json_object_get_string(json_object_object_get(d, "fingerprint")),
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789");
	ck_assert_str_eq(
	    json_object_get_string(json_object_object_get(d, "batch")), "b-9");
	ck_assert_int_eq(
	    json_object_get_int64(json_object_object_get(d, "manufactured_at")),
	    1767323045);
	ck_assert(json_object_object_get(d, "factory_key") == NULL);
	json_object_put(d);
	ck_assert_rc(ztp_store_device_get(store, "dev-20", &json), ZTP_OK);
	ck_assert_ptr_null(strstr(json, "\"factory_key\":null"));
	ztp_free(json);
	/* refused lines left nothing behind */
	ck_assert_rc(ztp_store_device_get(store, "dev-23", &json),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_get(store, "dev-24", &json),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_device_get(store, "dev-28", &json),
		     ZTP_ENOTFOUND);

	free(in);
	free(claims);
	free(l20);
	free(l23);
	free(ldev1);
	free(lca);
	free(big);
	X509_free(c20);
	X509_free(c22);
	X509_free(cca);
	EVP_PKEY_free(k);
}
END_TEST

/* Running a file again enrolls nothing twice and gives no new codes. */
START_TEST(import_rerun)
{
	const char *const lines[] = {
	    "{\"device_id\":\"r-1\",\"fingerprint\":\"" FPR_HEX "\"}",
	    "{\"device_id\":\"r-2\",\"fingerprint\":\"" FPR_HEX "\"}", NULL};
	char *in = write_lines("in.jsonl", lines);
	char *c1 = ztp_test_path(dir, "c1"), *c2 = ztp_test_path(dir, "c2");
	char *summary = NULL, code[40] = "";
	json_object *s;

	ck_assert_rc(ztp_verifier_import(v, &summary, in, c1, 0, NULL, NULL),
		     ZTP_OK);
	ztp_free(summary);
	ck_assert_int_eq(claims_lines(c1, "r-1", code), 2);
	ck_assert_rc(ztp_verifier_import(v, &summary, in, c2, 0, NULL, NULL),
		     ZTP_OK);
	s = json_tokener_parse(summary);
	ztp_free(summary);
	ck_assert_int_eq(count_of(s, "enrolled"), 0);
	ck_assert_int_eq(count_of(s, "skipped"), 2);
	ck_assert_int_eq(count_of(s, "refused"), 0);
	json_object_put(s);
	ck_assert_int_eq(claims_lines(c2, NULL, NULL), 0);
	/* the first codes still hold */
	ck_assert_rc(ztp_verifier_claim(v, "r-1", code, "acme"), ZTP_OK);
	/* an existing claims file is never written over */
	ck_assert_rc(ztp_verifier_import(v, &summary, in, c1, 0, NULL, NULL),
		     ZTP_EEXISTS);
	ck_assert_ptr_null(summary);
	ck_assert_int_eq(claims_lines(c1, NULL, NULL), 2);
	free(in);
	free(c1);
	free(c2);
}
END_TEST

typedef struct progress_log {
	int calls;
	uint64_t last_lines, last_done, total;
} progress_log;

static void on_progress(void *ctx, uint64_t done, uint64_t total,
			uint64_t lines)
{
	progress_log *p = ctx;

	ck_assert_uint_ge(lines, p->last_lines);
	ck_assert_uint_ge(done, p->last_done);
	p->calls++;
	p->last_lines = lines;
	p->last_done = done;
	p->total = total;
}

START_TEST(import_chunks)
{
	const char *const lines[] = {
	    "{\"device_id\":\"c-1\",\"fingerprint\":\"" FPR_HEX "\"}",
	    "{\"device_id\":\"c-2\",\"fingerprint\":\"" FPR_HEX "\"}",
	    "{\"device_id\":\"c-3\",\"fingerprint\":\"" FPR_HEX "\"}",
	    "{\"device_id\":\"c-1\",\"fingerprint\":\"" FPR_HEX "\"}",
	    "{\"device_id\":\"c-4\",\"fingerprint\":\"" FPR_HEX "\"}",
	    NULL};
	char *in = write_lines("in.jsonl", lines);
	char *c = ztp_test_path(dir, "claims");
	char *x = ztp_test_path(dir, "x"), *summary = NULL;
	progress_log p = {0, 0, 0, 0};
	struct stat st;
	json_object *s;

	ck_assert_int_eq(stat(in, &st), 0);
	ck_assert_rc(
	    ztp_verifier_import(v, &summary, in, c, 2, on_progress, &p),
	    ZTP_OK);
	/* two full chunks, then the last one */
	ck_assert_int_eq(p.calls, 3);
	ck_assert_uint_eq(p.last_lines, 5);
	ck_assert_uint_eq(p.total, (uint64_t)st.st_size);
	ck_assert_uint_eq(p.last_done, (uint64_t)st.st_size);
	s = json_tokener_parse(summary);
	ztp_free(summary);
	ck_assert_int_eq(count_of(s, "enrolled"), 4);
	ck_assert_int_eq(count_of(s, "skipped"), 1);
	json_object_put(s);
	ck_assert_int_eq(claims_lines(c, NULL, NULL), 4);
	ck_assert_rc(ztp_verifier_import(v, &summary, in, x, 1001, NULL, NULL),
		     ZTP_EINVAL);
	free(in);
	free(c);
	free(x);
}
END_TEST

START_TEST(import_errors)
{
	char *c = ztp_test_path(dir, "claims"), *summary = NULL;
	char *missing = ztp_test_path(dir, "missing.jsonl");
	ztp_verifier *w = NULL;
	struct stat st;

	ck_assert_rc(
	    ztp_verifier_import(v, &summary, missing, c, 0, NULL, NULL),
	    ZTP_EIO);
	ck_assert_ptr_null(summary);
	/* no claims file for an input that could not be read */
	ck_assert_int_ne(stat(c, &st), 0);
	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(
	    ztp_verifier_import(w, &summary, missing, c, 0, NULL, NULL),
	    ZTP_ESTATE);
	ck_assert_rc(ztp_verifier_device_list(w, &summary, NULL, NULL, 10),
		     ZTP_ESTATE);
	ztp_verifier_free(w);
	ck_assert_rc(ztp_verifier_import(v, &summary, NULL, c, 0, NULL, NULL),
		     ZTP_EINVAL);
	free(c);
	free(missing);
}
END_TEST

START_TEST(inventory)
{
	char *json = NULL;

	ck_assert_rc(ztp_verifier_device_list(
			 v, &json, "{\"batch\":\"batch-7\"}", NULL, 10),
		     ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":\"" DEV "\""));
	ck_assert_ptr_null(strstr(json, "dev-2"));
	ztp_free(json);
	ck_assert_rc(ztp_store_cert_add(store, "7a", DEV, "operational", T0,
					T0 + 5 * DAY, FPR_HEX),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(store, "7b", DEV, "operational", T0,
					T0 + 50 * DAY, FPR_HEX),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_add(store, "7c", DEV, "operational",
					T0 - 9 * DAY, T0 - DAY, FPR_HEX),
		     ZTP_OK);
	/* by the verifier's clock: not the expired one, not the later one */
	ck_assert_rc(
	    ztp_verifier_cert_expiring(v, &json, T0 + 10 * DAY, 0, NULL, 10),
	    ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"serial\":\"7a\""));
	ck_assert_ptr_null(strstr(json, "7b"));
	ck_assert_ptr_null(strstr(json, "7c"));
	ztp_free(json);
}
END_TEST

/* Every allocation of an import, failed in turn: the call answers OK or
 * ENOMEM, never crashes or leaks, and a device is recorded exactly when
 * its code is in the claims file. */
START_TEST(import_alloc_failures)
{
	bool finished = false;

	for (long n = 1; n < 4000 && !finished; n++) {
		char ids[2][32], line[2][192], name[32], code[40];
		const char *const lines[] = {line[0], line[1], NULL};
		char *in, *claims, *summary = NULL, *json = NULL;
		long used;
		int rc;

		for (int i = 0; i < 2; i++) {
			snprintf(ids[i], sizeof(ids[i]), "al-%ld-%d", n, i);
			snprintf(line[i], sizeof(line[i]),
				 "{\"device_id\":\"%s\",\"fingerprint\":"
				 "\"" FPR_HEX "\"}",
				 ids[i]);
		}
		snprintf(name, sizeof(name), "in-%ld", n);
		in = write_lines(name, lines);
		snprintf(name, sizeof(name), "claims-%ld", n);
		claims = ztp_test_path(dir, name);
		ztp__alloc_fail_at(n);
		rc =
		    ztp_verifier_import(v, &summary, in, claims, 1, NULL, NULL);
		used = ztp__alloc_fail_at(0);
		ck_assert_msg(rc == ZTP_OK || rc == ZTP_ENOMEM, "%d", rc);
		for (int i = 0; i < 2; i++) {
			bool recorded = ztp_store_device_get(store, ids[i],
							     &json) == ZTP_OK;
			bool coded = false;

			ztp_free(json);
			json = NULL;
			code[0] = '\0';
			if (access(claims, F_OK) == 0) {
				claims_lines(claims, ids[i], code);
				coded = code[0] != '\0';
			}
			ck_assert_msg(recorded == coded,
				      "n=%ld %s: recorded %d, code %d", n,
				      ids[i], recorded, coded);
		}
		finished = rc == ZTP_OK && used < n;
		ztp_free(summary);
		free(in);
		free(claims);
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
}
END_TEST

#define ADD_DIR(name, fn)                                                      \
	tc = tcase_create(name);                                               \
	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);                \
	tcase_set_timeout(tc, 120);                                            \
	tcase_add_test(tc, fn);                                                \
	suite_add_tcase(s, tc)

void verifier_tcases_import(Suite *s)
{
	TCase *tc;

	ADD_DIR("ztp_verifier_import", import_mixed);
	ADD_DIR("ztp_verifier_import_rerun", import_rerun);
	ADD_DIR("ztp_verifier_import_chunks", import_chunks);
	ADD_DIR("ztp_verifier_import_errors", import_errors);
	ADD_DIR("ztp_verifier_device_list", inventory);
	ADD_DIR("alloc", import_alloc_failures);
}
