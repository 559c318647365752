/*
 * A small HTTPS server on an ephemeral 127.0.0.1 port for the device's
 * tests: real TLS (OpenSSL), HTTP/1.1 with keep-alive, one thread per
 * connection, counting handshakes and requests. The answers come from a
 * handler the test gives.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_TEST_TLS_SERVER_H
#define ZTP_TEST_TLS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <check.h>
#include <openssl/ssl.h>

#include <ztp/ca.h>
#include <ztp/device.h>
#include <ztp/store.h>

#define TS_CONN_MAX 16
#define TS_BODY_MAX 8192

/* Fill out (a NUL-terminated JSON body of at most cap bytes) for a request
 * to path with body; return the HTTP status. */
typedef int (*ts_handler)(void *ctx, const char *path, const char *body,
			  char *out, size_t cap);

typedef struct ts_server {
	int fd, port;
	SSL_CTX *ctx;
	ts_handler handler; /* NULL: 200 {} */
	void *handler_ctx;
	bool close_each; /* answer with Connection: close */
	pthread_t th;
	pthread_t conn[TS_CONN_MAX];
	atomic_int nconn;
	atomic_bool stop;
	atomic_int handshakes;	 /* completed TLS handshakes */
	atomic_int requests;	 /* requests answered */
	atomic_int client_certs; /* handshakes with a client certificate */
} ts_server;

/* Start with the PEM identity (a chain in cert is sent whole). */
void ts_start(ts_server *s, const char *cert, const char *key,
	      ts_handler handler, void *ctx, bool close_each);
void ts_stop(ts_server *s);

/* A root CA (subject, days) loaded into a handle recording into st;
 * *pem its certificate (ztp_free). */
ztp_ca *ts_ca(ztp_store *st, const char *subject, int days, char **pem);

/* A device handle verifying the server with ca_file, its state in state
 * (made here, 0700), short timeouts, one attempt per request, events to
 * on_event. */
ztp_device *ts_device(const char *ca_file, const char *state,
		      ztp_event_fn on_event);

/* For an event callback: append "STEP," to buf (of cap bytes) when json
 * is a device.step event of operation. */
void ts_step(const char *json, const char *operation, char *buf, size_t cap);

/* Write text to the file at path (created or truncated). */
void ts_write_text(const char *path, const char *text);

/* Run the n tests, each in a TCase of its own with the fixture and a 60 s
 * timeout, with SIGPIPE ignored (a client that hangs up must not end the
 * server's process); the process exit code. */
int ts_main(const char *name, void (*setup)(void), void (*teardown)(void),
	    const TTest *const *tests, size_t n);

#endif
