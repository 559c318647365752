/*
 * Device: one TLS connection per client identity for the requests of an
 * operation (keep-alive, libztp/device/http.c), against a real TLS server
 * on 127.0.0.1 that counts its handshakes. Another client identity, trust
 * file or clock mode gets a connection of its own; "keep_alive": false,
 * a server that closes each connection and the end of an operation each
 * mean a new handshake.
 */
#include "device/internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include <ztp/ca.h>
#include <ztp/store.h>

#include "testutil.h"
#include "tls_server.h"

static char *dir, *state, *ca_file;
static ztp_store *st;
static ztp_ca *ca;
static char *ca_pem, *srv_cert, *srv_key;
static ztp_device *dev;
/* Two client identities. */
static EVP_PKEY *key_a, *key_b;
static X509 *cert_a, *cert_b;
/* device.http events: 'n' for a new connection, 'r' for a reused one. */
static char conns[256];

static void on_event(const char *json, void *ctx)
{
	json_object *o = json_tokener_parse(json), *v;

	(void)ctx;
	if (o != NULL && json_object_object_get_ex(o, "event", &v) &&
	    strcmp(json_object_get_string(v), "device.http") == 0 &&
	    json_object_object_get_ex(o, "new_connection", &v))
		strncat(conns, json_object_get_boolean(v) ? "n" : "r",
			sizeof(conns) - strlen(conns) - 1);
	json_object_put(o);
}

static void identity(EVP_PKEY **k, X509 **c)
{
	char *cert = NULL, *key = NULL;
	BIO *b;

	ck_assert_rc(ztp_ca_issue_server(ca, &cert, &key, NULL, NULL, NULL, 0,
					 NULL, "{\"dns\":[\"client.test\"]}",
					 0),
		     ZTP_OK);
	b = BIO_new_mem_buf(cert, -1);
	*c = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_mem_buf(key, -1);
	*k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert(*c != NULL && *k != NULL);
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
}

static void setup(void)
{
	dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	state = ztp_test_path(dir, "state");
	ck_assert_rc(ztp_store_open(&st, "memory:"), ZTP_OK);
	ca = ts_ca(st, "/CN=CA", 30, &ca_pem);
	ck_assert_rc(ztp_ca_issue_server(ca, &srv_cert, &srv_key, NULL, NULL,
					 NULL, 0, NULL,
					 "{\"ip\":[\"127.0.0.1\"]}", 0),
		     ZTP_OK);
	identity(&key_a, &cert_a);
	identity(&key_b, &cert_b);
	ca_file = ztp_test_path(dir, "ca.pem");
	ts_write_text(ca_file, ca_pem);
	dev = ts_device(ca_file, state, on_event);
	conns[0] = '\0';
}

static void teardown(void)
{
	ztp_device_free(dev);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	X509_free(cert_a);
	X509_free(cert_b);
	ztp_ca_free(ca);
	ztp_store_free(st);
	ztp_free(ca_pem);
	ztp_free(srv_cert);
	ztp__free_secret(srv_key, strlen(srv_key));
	free(ca_file);
	free(state);
	ztp_test_rmtree(dir);
	free(dir);
}

static void start(ts_server *s, bool close_each)
{
	char url[64];

	ts_start(s, srv_cert, srv_key, NULL, NULL, close_each);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", s->port);
	ck_assert_rc(ztp_device_set_base_url(dev, url), ZTP_OK);
}

/* One request with the identity (NULL: none). */
static void call(EVP_PKEY *k, X509 *c)
{
	ztp__dev_tls_id id = {k, c, NULL};
	json_object *req = json_object_new_object(), *resp = NULL;

	ck_assert_rc(
	    ztp__dev_call(dev, "assignment", req, k ? &id : NULL, &resp),
	    ZTP_OK);
	json_object_put(req);
	json_object_put(resp);
}

/* ------------------------------------------------------------------ tests */

START_TEST(conn_reused)
{
	ts_server s;

	start(&s, false);
	call(key_a, cert_a);
	call(key_a, cert_a);
	call(key_a, cert_a);
	ck_assert_int_eq(atomic_load(&s.handshakes), 1);
	ck_assert_int_eq(atomic_load(&s.requests), 3);
	ck_assert_str_eq(conns, "nrr");
	/* Another identity: a connection of its own, with its certificate. */
	call(key_b, cert_b);
	call(key_b, cert_b);
	ck_assert_int_eq(atomic_load(&s.handshakes), 2);
	/* And back: the kept connection was B's. */
	call(key_a, cert_a);
	ck_assert_int_eq(atomic_load(&s.handshakes), 3);
	ck_assert_int_eq(atomic_load(&s.client_certs), 3);
	/* No client certificate: yet another. */
	call(NULL, NULL);
	call(NULL, NULL);
	ck_assert_int_eq(atomic_load(&s.handshakes), 4);
	ck_assert_int_eq(atomic_load(&s.client_certs), 3);
	ck_assert_str_eq(conns, "nrrnrnnr");
	/* The end of an operation closes it. */
	ztp__dev_end(dev, -1);
	call(NULL, NULL);
	ck_assert_int_eq(atomic_load(&s.handshakes), 5);
	ck_assert_int_eq(atomic_load(&s.requests), 9);
	ztp__dev_end(dev, -1);
	ts_stop(&s);
}
END_TEST

START_TEST(conn_not_reused)
{
	ts_server s;
	char *other = ztp_test_path(dir, "ca2.pem");

	/* "keep_alive": false. */
	start(&s, false);
	dev->cfg.keep_alive = false;
	call(key_a, cert_a);
	call(key_a, cert_a);
	ck_assert_int_eq(atomic_load(&s.handshakes), 2);
	ck_assert_str_eq(conns, "nn");
	dev->cfg.keep_alive = true;
	/* Another trust file (the same CA in another file). */
	call(key_a, cert_a);
	ts_write_text(other, ca_pem);
	ck_assert_rc(ztp_device_set_ca_file(dev, other), ZTP_OK);
	call(key_a, cert_a);
	ck_assert_int_eq(atomic_load(&s.handshakes), 4);
	/* Another clock mode. */
	dev->cfg.clock_untrusted = true;
	dev->floor = ztp__dev_build_time();
	call(key_a, cert_a);
	call(key_a, cert_a);
	ck_assert_int_eq(atomic_load(&s.handshakes), 5);
	ck_assert_str_eq(conns, "nnnnnr");
	ztp__dev_end(dev, -1);
	ts_stop(&s);

	/* A server that closes every connection: a new one each time,
	 * which the device makes without a failed attempt. */
	conns[0] = '\0';
	start(&s, true);
	call(key_a, cert_a);
	call(key_a, cert_a);
	call(key_a, cert_a);
	ck_assert_int_eq(atomic_load(&s.handshakes), 3);
	ck_assert_str_eq(conns, "nnn");
	ztp__dev_end(dev, -1);
	ts_stop(&s);
	free(other);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {conn_reused, conn_not_reused};

	return ts_main("device_conn", setup, teardown, tests,
		       ZTP__ARRAY_LEN(tests));
}
