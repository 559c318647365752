/*
 * CA: serial numbers, store and allocation failures, concurrent issuance.
 */
#include "test_ca.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_issue_serials_unique)
{
	enum { N = 10000 };
	ztp_ca *c = NULL;
	char *cert = NULL, *key = NULL, *csr = csr_for("ed25519");
	char **serials = calloc(N, sizeof(char *));
	X509_REQ *req = NULL;
	BIO *b = BIO_new_mem_buf(csr, -1);
	int i;

	/* An Ed25519 issuing CA and the parsed-request entry point keep
	 * 10,000 issuances quick. */
	{
		ztp_ca *intm = NULL;

		ck_assert_rc(ztp_ca_new(&intm), ZTP_OK);
		ck_assert_rc(
		    ztp_ca_load(intm, g_int_cert, g_int_key, NULL, NULL),
		    ZTP_OK);
		ck_assert_rc(ztp_ca_create_sub(intm, &cert, &key, "/CN=Fast",
					       "ed25519", 30, 0),
			     ZTP_OK);
		ztp_ca_free(intm);
	}
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(c, store), ZTP_OK);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(req);
	for (i = 0; i < N; i++) {
		X509 *x = NULL;
		char s[ZTP_CA_SERIAL_HEX_MAX + 1];

		ck_assert_rc(ztp__ca_issue_req(c, &x, s, NULL, req, NULL,
					       "dev-1", NULL, "bootstrap", 0),
			     ZTP_OK);
		ck_assert_uint_eq(strlen(s), 34);
		ck_assert(s[0] >= '4' && s[0] <= '7');
		serials[i] = strdup(s);
		X509_free(x);
	}
	qsort(serials, N, sizeof(char *), cmp_str);
	for (i = 1; i < N; i++)
		ck_assert_str_ne(serials[i - 1], serials[i]);
	ck_assert_uint_eq(cert_count(), N);
	for (i = 0; i < N; i++)
		free(serials[i]);
	free(serials);
	X509_REQ_free(req);
	BIO_free(b);
	ztp_ca_free(c);
	ztp_free(cert);
	ztp_free(key);
	free(csr);
}
END_TEST

/* A serial source that repeats the same value `repeat` times. */
struct fixed_rand {
	int calls;
	int repeat;
};

static int fixed_rand(uint8_t *buf, size_t len, void *ctx)
{
	struct fixed_rand *f = ctx;

	memset(buf, 0x5a, len);
	if (f->calls >= f->repeat)
		buf[len - 1] = (uint8_t)f->calls;
	f->calls++;
	return 0;
}

START_TEST(test_issue_serial_collision)
{
	struct fixed_rand fr = {0, 1000000};
	char *csr = csr_for("p256"), *pem = NULL, *serial = NULL;
	uint64_t before = cert_count();

	ztp__ca_set_serial_source(ca, fixed_rand, &fr);
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ztp_free(pem);
	ztp_free(serial);
	/* Every attempt collides: bounded retries, then nothing returned. */
	fr.calls = 0;
	pem = serial = (char *)"x";
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_EEXISTS);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(serial);
	ck_assert_int_eq(fr.calls, ZTP__CA_SERIAL_ATTEMPTS);
	ck_assert_uint_eq(cert_count(), before + 1);
	/* Two collisions, then a fresh serial: issued. */
	fr.calls = 0;
	fr.repeat = 2;
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "operational", 0),
		     ZTP_OK);
	ck_assert_int_eq(fr.calls, 3);
	ck_assert_uint_eq(cert_count(), before + 2);
	ztp_free(pem);
	ztp_free(serial);
	free(csr);
}
END_TEST

/* A store whose every operation fails, as a full disk would. */
static int fb_err(void)
{
	return ztp_store_backend_error(ZTP_ESTORE, "test: disk full");
}
static int fb_device_add(void *c, const char *a, const char *b, const char *d,
			 const char *e, int64_t f, int64_t g)
{
	(void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g;
	return fb_err();
}
static int fb_get(void *c, const char *a, char **j)
{
	(void)c, (void)a, (void)j;
	return fb_err();
}
static int fb_set_state(void *c, const char *a, const char *b, const char *d,
			const char *e, int64_t f)
{
	(void)c, (void)a, (void)b, (void)d, (void)e, (void)f;
	return fb_err();
}
static int fb_set_info(void *c, const char *a, const char *b, int64_t f)
{
	(void)c, (void)a, (void)b, (void)f;
	return fb_err();
}
static int fb_claim_set(void *c, const char *a, const uint8_t *h, size_t n)
{
	(void)c, (void)a, (void)h, (void)n;
	return fb_err();
}
static int fb_claim_take(void *c, const char *a, const uint8_t *h, size_t n,
			 const char *t, int64_t f)
{
	(void)c, (void)a, (void)h, (void)n, (void)t, (void)f;
	return fb_err();
}
static int fb_cert_add(void *c, const char *a, const char *b, const char *d,
		       int64_t e, int64_t f, const char *g, int64_t h)
{
	(void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g, (void)h;
	return fb_err();
}
static int fb_revoke(void *c, const char *a, int r, int64_t w)
{
	(void)c, (void)a, (void)r, (void)w;
	return fb_err();
}
static int fb_dev_revoke(void *c, const char *a, const char *p, int r,
			 int64_t w, uint64_t *n)
{
	(void)c, (void)a, (void)p, (void)r, (void)w, (void)n;
	return fb_err();
}
static int fb_list(void *c, char **j)
{
	(void)c, (void)j;
	return fb_err();
}
static int fb_count(void *c, uint64_t *n)
{
	(void)c, (void)n;
	return fb_err();
}
static int fb_challenge(void *c, const uint8_t *i, size_t n, int64_t e,
			int64_t f)
{
	(void)c, (void)i, (void)n, (void)e, (void)f;
	return fb_err();
}
static int fb_event_append(void *c, const char *j, int64_t n)
{
	(void)c, (void)j, (void)n;
	return fb_err();
}
static int fb_event_list(void *c, int64_t a, size_t m, char **j)
{
	(void)c, (void)a, (void)m, (void)j;
	return fb_err();
}
static int fb_counter(void *c, const char *n, uint64_t *o)
{
	(void)c, (void)n, (void)o;
	return fb_err();
}

static const ztp_store_backend failing_backend = {
    ZTP_STORE_BACKEND_VERSION,
    ZTP_STORE_BACKEND_THREADSAFE,
    NULL,
    fb_device_add,
    fb_get,
    fb_set_state,
    fb_set_info,
    fb_claim_set,
    fb_claim_take,
    fb_cert_add,
    fb_get,
    fb_revoke,
    fb_dev_revoke,
    fb_list,
    fb_get,
    fb_count,
    fb_challenge,
    fb_event_append,
    fb_event_list,
    fb_counter,
    NULL, /* limit_take, claim_attempt, device_set_factory_key: optional */
    NULL,
    NULL,
    NULL, /* cert_add_issued, revoked_list_issuer: cert_add, revoked_list */
    NULL,
    NULL, /* device_count_state, cert_count_expiring: unsupported */
    NULL,
    NULL, /* device_enroll, device_list, cert_expiring, group_*: */
    NULL, /* unsupported */
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

START_TEST(test_issue_store_failure)
{
	ztp_store *bad = NULL;
	char *csr = csr_for("p256"), *pem = (char *)"x", *serial = (char *)"x";
	char *cert = NULL, *key = NULL;

	ck_assert_rc(ztp_store_open_backend(&bad, &failing_backend, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, bad), ZTP_OK);
	ck_assert_rc(ztp_ca_issue_ex(ca, &pem, &serial, NULL, csr, strlen(csr),
				     "dev-1", NULL, "factory", 0),
		     ZTP_ESTORE);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(serial);
	ck_assert_rc(ztp_ca_revoke(ca, "01", 1), ZTP_ESTORE);
	ck_assert_rc(ztp_ca_crl(ca, &pem, 0), ZTP_ESTORE);
	ck_assert_ptr_null(pem);
	/* A sub CA that cannot be recorded is not returned either. */
	{
		ztp_ca *intm = NULL;

		ck_assert_rc(ztp_ca_new(&intm), ZTP_OK);
		ck_assert_rc(
		    ztp_ca_load(intm, g_int_cert, g_int_key, NULL, NULL),
		    ZTP_OK);
		ck_assert_rc(ztp_ca_set_store(intm, bad), ZTP_OK);
		ck_assert_rc(
		    ztp_ca_create_sub(intm, &cert, &key, "/CN=X", NULL, 10, 0),
		    ZTP_ESTORE);
		ck_assert_ptr_null(cert);
		ck_assert_ptr_null(key);
		ztp_ca_free(intm);
	}
	ck_assert_rc(ztp_ca_set_store(ca, store), ZTP_OK);
	ztp_store_free(bad);
	free(csr);
}
END_TEST

START_TEST(test_issue_alloc_failure)
{
	char *csr = csr_for("p256"), *pem = NULL;
	long n;
	int rc = ZTP_ENOMEM;
	uint64_t before = cert_count();

	for (n = 1; n < 400; n++) {
		pem = NULL;
		ztp__alloc_fail_at(n);
		rc = ztp_ca_issue(ca, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0);
		ztp__alloc_fail_at(0);
		if (rc == ZTP_OK)
			break;
		ck_assert_msg(rc < 0, "n=%ld rc=%d", n, rc);
		ck_assert_ptr_null(pem);
	}
	ck_assert_rc(rc, ZTP_OK);
	ztp_free(pem);
	ck_assert_uint_ge(cert_count(), before + 1);
	free(csr);
}
END_TEST

struct thread_arg {
	ztp_ca *ca;
	const char *csr;
	int n;
	int failures;
};

static void *issue_thread(void *p)
{
	struct thread_arg *a = p;
	int i;

	for (i = 0; i < a->n; i++) {
		char *pem = NULL;

		if (ztp_ca_issue(a->ca, &pem, a->csr, strlen(a->csr), "dev-1",
				 "acme", "operational", 0) != ZTP_OK)
			a->failures++;
		else {
			X509 *x = pem_x509(pem);

			if (verify_chain(x, g_root_cert, g_untrusted, g_now) !=
			    X509_V_OK)
				a->failures++;
			X509_free(x);
		}
		ztp_free(pem);
	}
	return NULL;
}

START_TEST(test_issue_threads)
{
	enum { T = 8, N = 25 };
	pthread_t th[T];
	struct thread_arg args[T];
	char *csr = csr_for("p256");
	int i;

	for (i = 0; i < T; i++) {
		args[i] = (struct thread_arg){ca, csr, N, 0};
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, issue_thread, &args[i]), 0);
	}
	for (i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	ck_assert_uint_eq(cert_count(), T * N);
	free(csr);
}
END_TEST

void ca_tcases_serials(Suite *s)
{
	TCase *tc;

	tc = tcase_create("issue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_issue_serials_unique);
	tcase_add_test(tc, test_issue_serial_collision);
	tcase_add_test(tc, test_issue_store_failure);
	tcase_add_test(tc, test_issue_alloc_failure);
	tcase_add_test(tc, test_issue_threads);
	suite_add_tcase(s, tc);
}
