/*
 * Device: the trust bundle of a rollover (libztp/device/trust.c) against a
 * real TLS server on 127.0.0.1. A new bundle is stored in the spare slot,
 * a connection is made with it, and it is committed only then; one the
 * server's certificate does not verify with is rolled back, the bundle in
 * use kept; a committed bundle changed on disk is never used.
 */
#include "device/internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ztp/ca.h>
#include <ztp/store.h>

#include "testutil.h"
#include "tls_server.h"

/* ------------------------------------------------------------------ server */

typedef ts_server srv;

/* Answers {} to everything, one request per connection. */
static void srv_start(srv *s, const char *cert, const char *key)
{
	ts_start(s, cert, key, NULL, NULL, true);
}

#define srv_stop ts_stop

/* ------------------------------------------------------------------ fixture
 */

static char *dir, *state;
static ztp_store *st;
static ztp_ca *ca_a, *ca_b;	    /* two server CAs */
static char *pem_a, *pem_b, *pem_c; /* their certificates; c: a stranger */
static char *srv_a_cert, *srv_a_key, *srv_b_cert, *srv_b_key;
static char *ca_file; /* the device's configured bundle: A */
static ztp_device *dev;
static char steps[4096];

static void server_cert(ztp_ca *ca, char **cert, char **key)
{
	ck_assert_rc(ztp_ca_issue_server(ca, cert, key, NULL, NULL, NULL, 0,
					 NULL, "{\"ip\":[\"127.0.0.1\"]}", 0),
		     ZTP_OK);
}

/* The step events of the trust bundle, "step,step,...". */
static void on_event(const char *json, void *ctx)
{
	(void)ctx;
	ts_step(json, "trust_bundle", steps, sizeof(steps));
}

static void set_url(int port)
{
	char url[64];

	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	ck_assert_rc(ztp_device_set_base_url(dev, url), ZTP_OK);
}

static void setup(void)
{
	dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	state = ztp_test_path(dir, "state");
	ck_assert_rc(ztp_store_open(&st, "memory:"), ZTP_OK);
	ca_a = ts_ca(st, "/CN=Server CA A", 30, &pem_a);
	ca_b = ts_ca(st, "/CN=Server CA B", 30, &pem_b);
	ztp_ca_free(ts_ca(st, "/CN=Server CA C", 30, &pem_c));
	server_cert(ca_a, &srv_a_cert, &srv_a_key);
	server_cert(ca_b, &srv_b_cert, &srv_b_key);
	ca_file = ztp_test_path(dir, "ca-a.pem");
	ts_write_text(ca_file, pem_a);
	ck_assert_rc(ztp_device_new(&dev), ZTP_OK);
	ck_assert_rc(ztp_device_set_ca_file(dev, ca_file), ZTP_OK);
	ck_assert_rc(ztp_device_set_state_dir(dev, state), ZTP_OK);
	ck_assert_rc(ztp_device_set_timeouts(dev, 5000, 10000), ZTP_OK);
	ck_assert_rc(ztp_device_set_event_callback(dev, on_event, NULL),
		     ZTP_OK);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	steps[0] = '\0';
}

static void teardown(void)
{
	ztp_device_free(dev);
	ztp_ca_free(ca_a);
	ztp_ca_free(ca_b);
	ztp_store_free(st);
	ztp_free(pem_a);
	ztp_free(pem_b);
	ztp_free(pem_c);
	ztp_free(srv_a_cert);
	ztp__free_secret(srv_a_key, strlen(srv_a_key));
	ztp_free(srv_b_cert);
	ztp__free_secret(srv_b_key, strlen(srv_b_key));
	free(ca_file);
	free(state);
	ztp_test_rmtree(dir);
	free(dir);
}

/* An answer carrying the bundle of the given certificates. */
static json_object *answer(const char *a, const char *b)
{
	json_object *r = json_object_new_object(), *arr;

	arr = json_object_new_array();
	json_object_array_add(arr, json_object_new_string(a));
	if (b != NULL)
		json_object_array_add(arr, json_object_new_string(b));
	json_object_object_add(r, "trust_bundle", arr);
	return r;
}

static char *trust_file(void)
{
	char *p = NULL;

	ck_assert_rc(ztp__dev_trust_file(dev, &p), ZTP_OK);
	return p;
}

/* One request to the server with the bundle in use: its status, or the
 * transport's error. */
static int connect_with_use(void)
{
	ztp__dev_http_result res = {0};
	char url[96];
	int rc;

	snprintf(url, sizeof(url), "%s/ztp/v1/crl", dev->cfg.base_url);
	rc = ztp__dev_http_once(dev, url, "{}", NULL, &res);
	if (rc == ZTP_OK)
		rc = (int)res.status;
	ztp__dev_http_result_free(&res);
	return rc;
}

static bool file_exists(const char *rel)
{
	char *p = ztp_test_path(state, rel);
	bool ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

/* ------------------------------------------------------------------ tests */

START_TEST(trust_committed)
{
	srv s;
	json_object *r;
	char *p, *text = NULL;
	size_t len = 0;

	srv_start(&s, srv_a_cert, srv_a_key);
	set_url(s.port);
	/* Until a bundle is committed: ca_file. */
	p = trust_file();
	ck_assert_str_eq(p, ca_file);
	free(p);

	/* A and B: the server (A) verifies with it; committed. */
	r = answer(pem_a, pem_b);
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	ck_assert_int_eq(atomic_load(&s.handshakes), 1);
	ck_assert_str_eq(steps, "stored,committed,");
	p = trust_file();
	ck_assert_ptr_nonnull(strstr(p, "/trust/a/bundle.pem"));
	ck_assert_rc(ztp__file_read(&text, &len, p, 1 << 20), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(text, pem_a));
	ck_assert_ptr_nonnull(strstr(text, pem_b));
	free(text);
	free(p);
	/* The same bundle again: in use already, no probe. */
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	ck_assert_int_eq(atomic_load(&s.handshakes), 1);
	json_object_put(r);
	srv_stop(&s);

	/* The server moves to B: the committed bundle trusts it, the
	 * configured ca_file would not. */
	srv_start(&s, srv_b_cert, srv_b_key);
	set_url(s.port);
	ck_assert_int_eq(connect_with_use(), 200);
	ck_assert_int_eq(atomic_load(&s.handshakes), 1);
	/* B alone next: committed in the other slot. */
	r = answer(pem_b, NULL);
	steps[0] = '\0';
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	ck_assert_str_eq(steps, "stored,committed,");
	p = trust_file();
	ck_assert_ptr_nonnull(strstr(p, "/trust/b/bundle.pem"));
	free(p);
	ck_assert_int_eq(connect_with_use(), 200);
	json_object_put(r);
	srv_stop(&s);
}
END_TEST

START_TEST(trust_rolled_back)
{
	srv s;
	json_object *r;
	char *p;

	srv_start(&s, srv_a_cert, srv_a_key);
	set_url(s.port);
	/* A bundle without the server's CA: the probe's handshake fails,
	 * the bundle is removed and never used. */
	r = answer(pem_c, NULL);
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	json_object_put(r);
	ck_assert_str_eq(steps, "stored,rolled_back,");
	ck_assert_int_eq(atomic_load(&s.handshakes), 0);
	ck_assert(!file_exists("trust/a/bundle.pem"));
	p = trust_file();
	ck_assert_str_eq(p, ca_file);
	free(p);
	ck_assert_int_eq(connect_with_use(), 200);

	/* With a committed bundle, a failed one leaves it in use. */
	r = answer(pem_a, pem_b);
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	json_object_put(r);
	r = answer(pem_b, NULL); /* the server is still A's */
	steps[0] = '\0';
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	json_object_put(r);
	ck_assert_str_eq(steps, "stored,rolled_back,");
	ck_assert(!file_exists("trust/b/bundle.pem"));
	p = trust_file();
	ck_assert_ptr_nonnull(strstr(p, "/trust/a/bundle.pem"));
	free(p);
	ck_assert_int_eq(connect_with_use(), 200);
	srv_stop(&s);

	/* A server that is down: rolled back too. */
	r = answer(pem_b, NULL);
	steps[0] = '\0';
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	json_object_put(r);
	ck_assert_str_eq(steps, "stored,rolled_back,");
}
END_TEST

START_TEST(trust_tampered)
{
	srv s;
	json_object *r;
	char *p;

	srv_start(&s, srv_a_cert, srv_a_key);
	set_url(s.port);
	r = answer(pem_a, NULL);
	ck_assert_rc(ztp__dev_trust_update(dev, r), ZTP_OK);
	json_object_put(r);
	p = trust_file();
	/* Someone adds a CA of their own to the committed file. */
	{
		FILE *f = fopen(p, "a");

		ck_assert_ptr_nonnull(f);
		fputs(pem_c, f);
		fclose(f);
	}
	free(p);
	p = NULL;
	ck_assert_rc(ztp__dev_trust_file(dev, &p), ZTP_EMISMATCH);
	ck_assert_ptr_null(p);
	ck_assert_int_lt(connect_with_use(), 0);
	ck_assert_int_eq(atomic_load(&s.handshakes), 1);
	srv_stop(&s);
}
END_TEST

START_TEST(trust_parse)
{
	json_object *r;
	static const char *const bad[] = {
	    "{\"trust_bundle\":[]}",
	    "{\"trust_bundle\":\"x\"}",
	    "{\"trust_bundle\":[7]}",
	    "{\"trust_bundle\":[\"not a certificate\"]}",
	};

	for (size_t i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		r = json_tokener_parse(bad[i]);
		ck_assert_ptr_nonnull(r);
		ck_assert_msg(ztp__dev_parse_trust_bundle(r, "t") < 0, "%s",
			      bad[i]);
		ck_assert_msg(ztp__dev_parse_assignment(r) < 0, "%s", bad[i]);
		json_object_put(r);
	}
	/* A server certificate is no CA. */
	r = answer(srv_a_cert, NULL);
	ck_assert_rc(ztp__dev_parse_trust_bundle(r, "t"), ZTP_EPROFILE);
	json_object_put(r);
	/* Nine certificates: over the limit. */
	r = answer(pem_a, pem_b);
	{
		json_object *arr;

		ck_assert(json_object_object_get_ex(r, "trust_bundle", &arr));
		for (int i = 0; i < 7; i++)
			json_object_array_add(arr,
					      json_object_new_string(pem_c));
	}
	ck_assert_rc(ztp__dev_parse_trust_bundle(r, "t"), ZTP_ETOOBIG);
	json_object_put(r);
	/* Accepted in an assignment answer; nothing is stored by parsing. */
	r = answer(pem_a, pem_b);
	ck_assert_rc(ztp__dev_parse_assignment(r), ZTP_OK);
	json_object_put(r);
	ck_assert(!file_exists("trust"));
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {trust_committed, trust_rolled_back,
				      trust_tampered, trust_parse};

	return ts_main("device_trust", setup, teardown, tests,
		       ZTP__ARRAY_LEN(tests));
}
