/*
 * Verifier: the audit chain's checkpoints, its verification and its
 * export (ztp_verifier_audit_*), on the fixture's memory: store; the
 * SQLite tampering cases are in tests/e2e/audit.sh.
 */
#include "test_verifier.h"

/* A P-256 audit key in a file of dir; its public PEM in *pub. */
static char *audit_key_file(const char *dir, char **pub)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	char *pem = vpki_key_pem(k), *path = ztp_test_path(dir, "audit.key");
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(pem, f) >= 0, 1);
	fclose(f);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
	BIO_get_mem_ptr(b, &m);
	*pub = strndup(m->data, m->length);
	BIO_free(b);
	free(pem);
	EVP_PKEY_free(k);
	return path;
}

static int refuse_n(int n)
{
	for (int i = 0; i < n; i++)
		expect_reject_body("{}", 2, NULL, 400, "malformed_request");
	return n;
}

/* Cut the last line of a text whose lines end in '\n'. */
static void drop_last_line(char *text)
{
	size_t n = strlen(text);

	if (n > 0 && text[n - 1] == '\n')
		n--;
	while (n > 0 && text[n - 1] != '\n')
		n--;
	text[n] = '\0';
}

static const char *problem_kind(const char *report)
{
	static char kind[32];
	const char *p = strstr(report, "\"kind\":\"");

	kind[0] = '\0';
	if (p != NULL)
		sscanf(p + 8, "%31[a-z_]", kind);
	return kind;
}

START_TEST(audit_checkpoints_and_verify)
{
	char *dir = ztp_test_tmpdir(), *pub = NULL, *path, *report = NULL;
	char *jsonl = NULL, *bad, *p;

	path = audit_key_file(dir, &pub);
	ck_assert_rc(ztp_verifier_set_audit_key(v, path), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_audit_checkpoint(v, 3, 3600), ZTP_OK);
	/* enrollment wrote no events; seven refusals do */
	refuse_n(7);
	ck_assert_rc(ztp_verifier_audit_verify(v, 0, NULL, 0, &report), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(report, "\"events\":7"));
	ck_assert_ptr_nonnull(strstr(report, "\"checkpoints\":2"));
	ck_assert_ptr_nonnull(strstr(report, "\"last_checkpoint\":6"));
	ck_assert_ptr_nonnull(strstr(report, "\"unsigned_events\":1"));
	ztp_free(report);

	/* the export verifies offline with the public key alone */
	ck_assert_rc(ztp_verifier_audit_export(v, 0, &jsonl), ZTP_OK);
	ck_assert_rc(ztp_verifier_audit_verify_export(
			 jsonl, strlen(jsonl), 0, pub, strlen(pub), &report),
		     ZTP_OK);
	ztp_free(report);
	/* an event's text changed by one byte */
	bad = strdup(jsonl);
	p = strstr(bad, "\"seq\":2,");
	ck_assert_ptr_nonnull(p);
	p = strstr(p, "rejected");
	ck_assert_ptr_nonnull(p);
	p[0] = 'R';
	ck_assert_rc(ztp_verifier_audit_verify_export(bad, strlen(bad), 0, pub,
						      strlen(pub), &report),
		     ZTP_EMISMATCH);
	ck_assert_str_eq(problem_kind(report), "modified");
	ck_assert_ptr_nonnull(strstr(report, "\"seq\":2,\"message\""));
	ztp_free(report);
	/* the last event's line dropped: after checkpoint 6, not caught */
	free(bad);
	bad = strdup(jsonl);
	drop_last_line(bad);
	ck_assert_rc(ztp_verifier_audit_verify_export(bad, strlen(bad), 0, pub,
						      strlen(pub), &report),
		     ZTP_OK);
	ck_assert_ptr_nonnull(strstr(report, "\"unsigned_events\":0"));
	ztp_free(report);
	/* and the two last: checkpoint 6 says the log was longer */
	drop_last_line(bad);
	ck_assert_rc(ztp_verifier_audit_verify_export(bad, strlen(bad), 0, pub,
						      strlen(pub), &report),
		     ZTP_EMISMATCH);
	ck_assert_str_eq(problem_kind(report), "truncated");
	ztp_free(report);
	/* not an export */
	ck_assert_rc(ztp_verifier_audit_verify_export("nope\n", 5, 0, pub,
						      strlen(pub), &report),
		     ZTP_EPARSE);
	ck_assert_ptr_null(report);

	/* a forced checkpoint covers the last event */
	ck_assert_rc(ztp_verifier_audit_checkpoint(v), ZTP_OK);
	ck_assert_rc(ztp_verifier_audit_verify(v, 0, pub, strlen(pub), &report),
		     ZTP_OK);
	ck_assert_ptr_nonnull(strstr(report, "\"last_checkpoint\":7"));
	ztp_free(report);

	free(bad);
	ztp_free(jsonl);
	free(pub);
	free(path);
	ztp_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(audit_key_sources)
{
	char *report = NULL;

	ck_assert_rc(ztp_verifier_set_audit_key(v, "pkcs11:token=audit"),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp_verifier_set_audit_key(v, "file:/nonexistent/k.pem"),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_verifier_set_audit_key(v, ""), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_audit_checkpoint(v, 0, 10), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_audit_checkpoint(v, 1, 86401),
		     ZTP_EINVAL);
	/* no key: nothing signs, and verifying needs a public key */
	ck_assert_rc(ztp_verifier_audit_checkpoint(v), ZTP_ESTATE);
	ck_assert_rc(ztp_verifier_audit_verify(v, 0, NULL, 0, &report),
		     ZTP_ESTATE);
	ck_assert_rc(ztp_verifier_set_audit_key(v, NULL), ZTP_OK);
}
END_TEST

void verifier_tcases_audit(Suite *s)
{
	TCase *tc;

	ADD("audit", audit_checkpoints_and_verify);
	ADD("audit", audit_key_sources);
}
