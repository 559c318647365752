/*
 * The device tests' HTTPS server (tls_server.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "tls_server.h"

#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <json.h>
#include <openssl/pem.h>

#include "core/internal.h"
#include "testutil.h"

typedef struct conn_arg {
	ts_server *s;
	int fd;
} conn_arg;

/* Accept any client certificate: the tests judge what the device sent. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

/* One request: headers up to the blank line, then Content-Length bytes.
 * 1 when one was read, 0 at a clean end of the connection, -1 else. */
static int read_request(SSL *ssl, char *buf, size_t cap, char **body,
			size_t *blen)
{
	size_t got = 0, want = 0;
	char *end = NULL, *cl;
	int n;

	for (;;) {
		if (end == NULL && got > 0) {
			buf[got] = '\0';
			end = strstr(buf, "\r\n\r\n");
			if (end != NULL) {
				cl = strstr(buf, "\r\nContent-Length:");
				want = cl != NULL && cl < end
					   ? (size_t)strtoul(cl + 17, NULL, 10)
					   : 0;
				if (want > cap - 1 - (size_t)(end + 4 - buf))
					return -1;
			}
		}
		if (end != NULL && got - (size_t)(end + 4 - buf) >= want)
			break;
		if (got >= cap - 1)
			return -1;
		n = SSL_read(ssl, buf + got, (int)(cap - 1 - got));
		if (n <= 0)
			return got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	*body = end + 4;
	*blen = want;
	(*body)[want] = '\0';
	return 1;
}

static void *serve_conn(void *arg)
{
	conn_arg *a = arg;
	ts_server *s = a->s;
	struct timeval tv = {5, 0};
	char req[TS_BODY_MAX + 4096], out[TS_BODY_MAX], head[256], path[256];
	SSL *ssl = SSL_new(s->ctx);
	X509 *peer;

	setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ssl == NULL || SSL_set_fd(ssl, a->fd) != 1 || SSL_accept(ssl) != 1)
		goto done;
	atomic_fetch_add(&s->handshakes, 1);
	peer = SSL_get1_peer_certificate(ssl);
	if (peer != NULL)
		atomic_fetch_add(&s->client_certs, 1);
	X509_free(peer);
	while (!atomic_load(&s->stop)) {
		char *body = NULL;
		size_t blen = 0;
		int status, hn;

		if (read_request(ssl, req, sizeof(req), &body, &blen) != 1)
			break;
		path[0] = '\0';
		(void)sscanf(req, "POST %255s ", path);
		strcpy(out, "{}");
		status = s->handler != NULL ? s->handler(s->handler_ctx, path,
							 body, out, sizeof(out))
					    : 200;
		hn = snprintf(head, sizeof(head),
			      "HTTP/1.1 %d X\r\nContent-Type: application/json"
			      "\r\nContent-Length: %zu\r\n%s\r\n",
			      status, strlen(out),
			      s->close_each ? "Connection: close\r\n" : "");
		atomic_fetch_add(&s->requests, 1);
		if (SSL_write(ssl, head, hn) <= 0 ||
		    SSL_write(ssl, out, (int)strlen(out)) <= 0 || s->close_each)
			break;
	}
	(void)SSL_shutdown(ssl);
done:
	SSL_free(ssl);
	ERR_clear_error();
	close(a->fd);
	free(a);
	return NULL;
}

static void *srv_main(void *arg)
{
	ts_server *s = arg;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	conn_arg *a;
	int c, i;

	while (!atomic_load(&s->stop)) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		i = atomic_load(&s->nconn);
		a = malloc(sizeof(*a));
		if (i >= TS_CONN_MAX || a == NULL) {
			free(a);
			close(c);
			continue;
		}
		a->s = s;
		a->fd = c;
		if (pthread_create(&s->conn[i], NULL, serve_conn, a) != 0) {
			free(a);
			close(c);
			continue;
		}
		atomic_store(&s->nconn, i + 1);
	}
	return NULL;
}

void ts_start(ts_server *s, const char *cert, const char *key,
	      ts_handler handler, void *ctx, bool close_each)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	BIO *b;
	X509 *x;
	EVP_PKEY *k;

	memset(s, 0, sizeof(*s));
	s->handler = handler;
	s->handler_ctx = ctx;
	s->close_each = close_each;
	s->ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_ptr_nonnull(s->ctx);
	b = BIO_new_mem_buf(cert, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(SSL_CTX_use_certificate(s->ctx, x), 1);
	X509_free(x);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		ck_assert_int_eq(SSL_CTX_add0_chain_cert(s->ctx, x), 1);
	ERR_clear_error();
	BIO_free(b);
	b = BIO_new_mem_buf(key, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(s->ctx, k), 1);
	EVP_PKEY_free(k);
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, accept_any);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->fd, 8), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
}

void ts_stop(ts_server *s)
{
	int i;

	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	/* A kept-alive connection ends when the client closes it or its
	 * read times out. */
	for (i = 0; i < atomic_load(&s->nconn); i++)
		pthread_join(s->conn[i], NULL);
	close(s->fd);
	SSL_CTX_free(s->ctx);
}

void ts_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

int ts_main(const char *name, void (*setup)(void), void (*teardown)(void),
	    const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(name);
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		TCase *tc = tcase_create(tests[i]->name);

		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, tests[i]);
		suite_add_tcase(s, tc);
	}
	return ztp_test_run(s);
}

ztp_ca *ts_ca(ztp_store *st, const char *subject, int days, char **pem)
{
	char *key = NULL;
	ztp_ca *ca = NULL;

	ck_assert_rc(ztp_ca_create_root(pem, &key, subject, NULL, days),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&ca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(ca, *pem, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, st), ZTP_OK);
	ztp__free_secret(key, strlen(key));
	return ca;
}

void ts_step(const char *json, const char *operation, char *buf, size_t cap)
{
	json_object *o = json_tokener_parse(json), *v;

	if (o != NULL && json_object_object_get_ex(o, "operation", &v) &&
	    strcmp(json_object_get_string(v), operation) == 0 &&
	    json_object_object_get_ex(o, "step", &v) &&
	    strlen(buf) + (size_t)json_object_get_string_len(v) + 2 <= cap) {
		strcat(buf, json_object_get_string(v));
		strcat(buf, ",");
	}
	json_object_put(o);
}

ztp_device *ts_device(const char *ca_file, const char *state,
		      ztp_event_fn on_event)
{
	ztp_device *dev = NULL;

	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_rc(ztp_device_new(&dev), ZTP_OK);
	ck_assert_rc(ztp_device_set_ca_file(dev, ca_file), ZTP_OK);
	ck_assert_rc(ztp_device_set_state_dir(dev, state), ZTP_OK);
	ck_assert_rc(ztp_device_set_timeouts(dev, 5000, 10000), ZTP_OK);
	ck_assert_rc(ztp_device_set_retry(dev, 1, 1, 1, 0), ZTP_OK);
	ck_assert_rc(ztp_device_set_event_callback(dev, on_event, NULL),
		     ZTP_OK);
	return dev;
}
