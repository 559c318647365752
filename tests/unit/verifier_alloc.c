/*
 * Verifier: allocation failures; every documented code.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ allocation
 * failures */

START_TEST(alloc_failures)
{
	/* Every allocation of a successful bootstrap, failed in turn: the
	 * handle answers (an error response or nothing on ENOMEM) and never
	 * crashes or leaks, and a failed attempt issues nothing. */
	bool finished = false;

	for (long n = 1; n < 4000 && !finished; n++) {
		char *body = build(&(breq){0}), *out = NULL;
		uint64_t before = cert_count();
		long used;
		int st = 0, rc;

		ztp__alloc_fail_at(n);
		rc = ztp_verifier_handle(v, &st, &out, "bootstrap", body,
					 strlen(body), NULL, 0);
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		if (rc == ZTP_OK && st == 200) {
			ck_assert_uint_eq(cert_count(), before + 1);
			ztp_free(out);
			free(body);
			/* The n-th allocation was never reached: every
			 * earlier one has been failed in turn. */
			finished = used < n;
			continue;
		}
		ztp_free(out);
		free(body);
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
}
END_TEST

START_TEST(alloc_failures_rotation)
{
	/* The same for rotation (authentication with its overlap sweep,
	 * issuance, noting the superseded certificate) and for
	 * maintenance: a failed call is retried whole by the next one. */
	EVP_PKEY *k1 = vpki_key("ec-p256"), *k2 = vpki_key("ec-p256");
	char *boot, *op1 = registered_op(&boot, k1), *body = csr_body(k2);
	bool finished = false;
	ztp_verifier *v2 = NULL;
	uint64_t n_rev = 0;

	ck_assert_rc(ztp_verifier_set_rate_limit(v, "lifecycle", 0, 0), ZTP_OK);
	for (long n = 1; n < 4000 && !finished; n++) {
		char *out = NULL;
		long used;
		int st = 0, rc;

		ztp__alloc_fail_at(n);
		rc = ztp_verifier_handle(v, &st, &out, "rotate", body,
					 strlen(body), op1, strlen(op1));
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		ck_assert_msg(st == 0 || st == 200 || st >= 500, "%d %s", st,
			      out);
		finished = rc == ZTP_OK && st == 200 && used < n;
		ztp_free(out);
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
	/* A fresh handle (no memory of the rotations) reads the event log. */
	clk = T0 + DAY;
	ck_assert_rc(ztp_verifier_new(&v2), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_store(v2, store), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_clock(v2, ztp_clock_fixed, &clk), ZTP_OK);
	finished = false;
	for (long n = 1; n < 4000 && !finished; n++) {
		long used;
		int rc;

		ztp__alloc_fail_at(n);
		rc = ztp_verifier_maintain(v2, &n_rev);
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		finished = rc == ZTP_OK && used < n;
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
	/* Every superseded certificate is revoked in the end: all but the
	 * newest operational one. */
	{
		char *json = NULL;
		size_t n_op = 0;
		json_object *arr, *o;

		ck_assert_rc(ztp_store_device_certs(store, DEV, &json), ZTP_OK);
		arr = json_tokener_parse(json);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			ck_assert(json_object_object_get_ex(
			    json_object_array_get_idx(arr, i), "profile", &o));
			n_op += strcmp(json_object_get_string(o),
				       "operational") == 0;
		}
		json_object_put(arr);
		ztp_free(json);
		ck_assert_uint_ge(n_op, 2);
		ck_assert_uint_eq(count_revoked(DEV, "4"), n_op - 1);
	}
	ztp_verifier_free(v2);
	free(body);
	free(boot);
	free(op1);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}
END_TEST

/* ------------------------------------------------------------------
 * documentation */

static char *slurp_doc(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char path[4096], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(documented_codes)
{
	/* Every wire code, with its status, in doc/PROTOCOL.md and
	 * ztp-protocol(7); the table and the documents never drift. */
	char *json = NULL, *md, *man, needle[160];
	json_object *arr, *e, *c, *st;
	size_t n;

	if (getenv("top_srcdir") == NULL) {
		fprintf(stderr,
			"top_srcdir not set: documentation not checked\n");
		return;
	}
	md = slurp_doc("doc/PROTOCOL.md");
	man = slurp_doc("man/man7/ztp-protocol.7");
	ck_assert_rc(ztp_verifier_error_codes(&json), ZTP_OK);
	arr = json_tokener_parse(json);
	n = json_object_array_length(arr);
	ck_assert_uint_eq(n, ZTP__W_COUNT);
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		ck_assert(json_object_object_get_ex(e, "code", &c));
		ck_assert(json_object_object_get_ex(e, "status", &st));
		snprintf(needle, sizeof(needle), "| `%s` | %d |",
			 json_object_get_string(c), json_object_get_int(st));
		ck_assert_msg(strstr(md, needle) != NULL,
			      "doc/PROTOCOL.md lacks: %s", needle);
		snprintf(needle, sizeof(needle), ".BR %s \" (%d)\"",
			 json_object_get_string(c), json_object_get_int(st));
		ck_assert_msg(strstr(man, needle) != NULL,
			      "ztp-protocol(7) lacks: %s", needle);
	}
	json_object_put(arr);
	ztp_free(json);
	free(md);
	free(man);
}
END_TEST

void verifier_tcases_alloc(Suite *s)
{
	TCase *tc;

	ADD("alloc", alloc_failures);
	ADD("alloc", alloc_failures_rotation);
	ADD("ztp_verifier_error_codes", documented_codes);
}
