/*
 * libztp — the portable device core's handle, heap accounting, events,
 * and the HTTP exchange over the port's TLS connection with retries.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "devcore/internal.h"

#include <string.h>

/* ------------------------------------------------------------------ basics
 */

int ztp__lite_err(ztp_lite *d, int code, const char *a, const char *b,
		  const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t n = 0, i, k;

	for (k = 0; k < 3; k++)
		for (i = 0; parts[k] != NULL && parts[k][i] != '\0' &&
			    n + 1 < sizeof(d->err);
		     i++) {
			unsigned char ch = (unsigned char)parts[k][i];

			d->err[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
	d->err[n] = '\0';
	return code;
}

void *ztp__lite_alloc(ztp_lite *d, size_t n)
{
	void *p = d->port->alloc(d->port->ctx, n);

	if (p == NULL)
		return NULL;
	d->stats[ZTP_LITE_HEAP_IN_USE] += n;
	if (d->stats[ZTP_LITE_HEAP_IN_USE] > d->stats[ZTP_LITE_HEAP_PEAK])
		d->stats[ZTP_LITE_HEAP_PEAK] = d->stats[ZTP_LITE_HEAP_IN_USE];
	return p;
}

const char *ztp__lite_port_detail(const ztp_lite *d, int rc)
{
	const char *s = d->port->last_error != NULL
			    ? d->port->last_error(d->port->ctx)
			    : NULL;

	return s != NULL && s[0] != '\0' ? s : ztp_status_name(rc);
}

void ztp__lite_free(ztp_lite *d, void *p, size_t n)
{
	volatile uint8_t *v = p;
	size_t i;

	if (p == NULL)
		return;
	/* Every block may have held a key, a nonce or a credential. */
	for (i = 0; i < n; i++)
		v[i] = 0;
	d->stats[ZTP_LITE_HEAP_IN_USE] -= n;
	d->port->dealloc(d->port->ctx, p, n);
}

void ztp__lite_event(ztp_lite *d, const char *name, const char *fields)
{
	char buf[512];
	ztp__jw w;

	if (d->events == NULL)
		return;
	ztp__jw_init(&w, buf, sizeof(buf));
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "event");
	ztp__jw_str(&w, name, strlen(name));
	if (fields[0] != '\0') {
		ztp__jw_raw(&w, ",", 1);
		ztp__jw_raw(&w, fields, strlen(fields));
	}
	ztp__jw_close(&w, '}');
	if (w.ok)
		d->events(buf, d->events_ctx);
}

/* ------------------------------------------------------------------ handle
 */

int ztp_lite_options_init(ztp_lite_options *o)
{
	if (o == NULL)
		return ZTP_EINVAL;
	memset(o, 0, sizeof(*o));
	o->version = ZTP_PORT_VERSION;
	o->rotate_percent = 67;
	o->check_in = 1;
	o->keep_alive = 1;
	o->max_attempts = 5;
	o->base_delay_ms = 1000;
	o->max_delay_ms = 60000;
	o->max_retry_after_ms = 300000;
	return ZTP_OK;
}

static bool port_complete(const ztp_port *p)
{
	return p->version >= 1 && p->version <= ZTP_PORT_VERSION &&
	       p->alloc != NULL && p->dealloc != NULL && p->connect != NULL &&
	       p->send != NULL && p->recv != NULL && p->close != NULL &&
	       p->key_generate != NULL && p->csr != NULL && p->sign != NULL &&
	       p->sha256 != NULL && p->random != NULL && p->cert_info != NULL &&
	       p->factory_cert != NULL && p->load != NULL && p->store != NULL &&
	       p->remove != NULL && p->now != NULL;
}

/* The length of s, or max when it is max bytes or longer. */
static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/* The registration request of the options, into d->reg (written in a
 * heap buffer of the bound, then kept at its size: no 4 KiB on the
 * stack of a small device). */
static int make_registration(ztp_lite *d, const ztp_lite_options *o)
{
	char *buf;
	ztp__jw w;
	size_t i;
	int rc = ZTP_OK;

	if (o->device_type == NULL && o->firmware_version == NULL &&
	    o->n_capabilities == 0)
		return ZTP_OK;
	if (o->device_type == NULL || o->firmware_version == NULL ||
	    ztp__id_len(o->device_type) == 0 ||
	    !ztp__firmware_syntax(
		o->firmware_version,
		bounded_len(o->firmware_version, ZTP__FIRMWARE_MAX + 1)) ||
	    o->n_capabilities > ZTP__CAPABILITIES_MAX ||
	    (o->n_capabilities > 0 && o->capabilities == NULL))
		return ztp__lite_err(d, ZTP_EINVAL,
				     "registration: a device type of the "
				     "identifier grammar, a firmware version "
				     "of 1..64 printable bytes and at most 32 "
				     "capabilities",
				     NULL, NULL);
	for (i = 0; i < o->n_capabilities; i++)
		if (o->capabilities[i] == NULL ||
		    ztp__id_len(o->capabilities[i]) == 0)
			return ztp__lite_err(d, ZTP_EINVAL,
					     "registration: a capability is "
					     "not of the identifier grammar",
					     NULL, NULL);
	buf = ztp__lite_alloc(d, ZTP__LITE_REG_MAX);
	if (buf == NULL)
		return ztp__lite_err(d, ZTP_ENOMEM, "out of memory", NULL,
				     NULL);
	ztp__jw_init(&w, buf, ZTP__LITE_REG_MAX);
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "device_type");
	ztp__jw_str(&w, o->device_type, strlen(o->device_type));
	ztp__jw_key(&w, "firmware_version");
	ztp__jw_str(&w, o->firmware_version, strlen(o->firmware_version));
	ztp__jw_key(&w, "capabilities");
	ztp__jw_open(&w, '[');
	for (i = 0; i < o->n_capabilities; i++) {
		ztp__jw_key(&w, NULL);
		ztp__jw_str(&w, o->capabilities[i], strlen(o->capabilities[i]));
	}
	ztp__jw_close(&w, ']');
	ztp__jw_close(&w, '}');
	if (!w.ok) {
		rc = ztp__lite_err(d, ZTP_ETOOBIG, "registration: too long",
				   NULL, NULL);
		goto out;
	}
	d->reg = ztp__lite_alloc(d, w.len + 1);
	if (d->reg == NULL) {
		rc = ztp__lite_err(d, ZTP_ENOMEM, "out of memory", NULL, NULL);
		goto out;
	}
	memcpy(d->reg, buf, w.len + 1);
	d->reg_len = w.len;
out:
	ztp__lite_free(d, buf, ZTP__LITE_REG_MAX);
	return rc;
}

/* The device ID: the configured one, else the factory certificate's. */
static int resolve_id(ztp_lite *d, const char *configured)
{
	ztp_port_cert_info info;
	char *pem;
	size_t len = 0;
	int rc;

	if (configured != NULL) {
		len = strlen(configured);
		if (len == 0 || len > ZTP_ID_MAX ||
		    ztp__id_len(configured) != len)
			return ztp__lite_err(
			    d, ZTP_EINVAL,
			    "device ID: not an identifier "
			    "([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
			    NULL, NULL);
		memcpy(d->device_id, configured, len + 1);
		return ZTP_OK;
	}
	pem = ztp__lite_alloc(d, ZTP_LITE_CERT_MAX);
	if (pem == NULL)
		return ztp__lite_err(d, ZTP_ENOMEM, "out of memory", NULL,
				     NULL);
	rc = d->port->factory_cert(d->port->ctx, pem, ZTP_LITE_CERT_MAX, &len);
	if (rc == ZTP_OK)
		rc = d->port->cert_info(d->port->ctx, pem, len, NULL, 0, &info);
	ztp__lite_free(d, pem, ZTP_LITE_CERT_MAX);
	if (rc < 0)
		return ztp__lite_err(d, rc, "factory certificate: unreadable",
				     NULL, NULL);
	if (ztp__id_len(info.device_id) == 0)
		return ztp__lite_err(d, ZTP_EPROFILE,
				     "factory certificate: names no valid "
				     "device ID",
				     NULL, NULL);
	memcpy(d->device_id, info.device_id, sizeof(d->device_id));
	return ZTP_OK;
}

int ztp_lite_new(ztp_lite **out, const ztp_port *port,
		 const ztp_lite_options *o)
{
	ztp_lite *d;
	int rc;

	if (out == NULL)
		return ZTP_EINVAL;
	*out = NULL;
	if (port == NULL || o == NULL || !port_complete(port) ||
	    o->version < 1 || o->version > ZTP_PORT_VERSION ||
	    o->base_url == NULL || o->rotate_percent < 1 ||
	    o->rotate_percent > 99 || o->max_attempts < 1 ||
	    o->max_attempts > ZTP__ATTEMPTS_MAX ||
	    o->base_delay_ms > o->max_delay_ms)
		return ZTP_EINVAL;
	d = port->alloc(port->ctx, sizeof(*d));
	if (d == NULL)
		return ZTP_ENOMEM;
	memset(d, 0, sizeof(*d));
	d->port = port;
	d->stats[ZTP_LITE_HEAP_IN_USE] = d->stats[ZTP_LITE_HEAP_PEAK] =
	    sizeof(*d);
	d->rotate_percent = o->rotate_percent;
	d->check_in = o->check_in != 0;
	/* Read only from options of version 2 (a version-1 struct ends
	 * before it). */
	d->keep_alive = o->version < 2 || o->keep_alive != 0;
	d->max_attempts = o->max_attempts;
	d->base_delay_ms = o->base_delay_ms;
	d->max_delay_ms = o->max_delay_ms;
	d->max_retry_after_ms = o->max_retry_after_ms;
	d->build_time = o->build_time;
	d->events = o->events;
	d->events_ctx = o->events_ctx;
	rc =
	    ztp__url_parse(o->base_url, d->host, sizeof(d->host), &d->tcp_port);
	if (rc < 0)
		rc = ztp__lite_err(d, ZTP_EINVAL,
				   "base URL: not https://host[:port]", NULL,
				   NULL);
	if (rc == ZTP_OK)
		rc = make_registration(d, o);
	if (rc == ZTP_OK)
		rc = resolve_id(d, o->device_id);
	if (rc < 0) {
		ztp_lite_free(d);
		return rc;
	}
	*out = d;
	return ZTP_OK;
}

void ztp_lite_free(ztp_lite *d)
{
	const ztp_port *port;
	void (*release)(const ztp_port *port);

	if (d == NULL)
		return;
	ztp__lite_disconnect(d);
	ztp__lite_end(d);
	ztp__lite_free(d, d->reg, d->reg_len + 1);
	port = d->port;
	release = d->port_release;
	{
		volatile uint8_t *v = (volatile uint8_t *)d;

		for (size_t i = 0; i < sizeof(*d); i++)
			v[i] = 0;
	}
	port->dealloc(port->ctx, d, sizeof(*d));
	if (release != NULL)
		release(port);
}

const char *ztp_lite_error(const ztp_lite *d)
{
	return d == NULL ? "" : d->err;
}

const char *ztp_lite_server_error(const ztp_lite *d)
{
	return d == NULL ? "" : d->server_error;
}

uint64_t ztp_lite_counter(const ztp_lite *d, int which)
{
	if (d == NULL || which < 0 || which > ZTP_LITE_HEAP_IN_USE)
		return 0;
	return d->stats[which];
}

/* ------------------------------------------------------------------
 * operations */

int ztp__lite_begin(ztp_lite *d)
{
	int64_t t = 0, floor = 0;
	int rc;

	d->err[0] = '\0';
	d->server_error[0] = '\0';
	rc = ztp__lite_floor(d, &floor);
	if (rc < 0)
		return rc;
	rc = d->port->now(d->port->ctx, &t);
	if (rc == ZTP_ENOTFOUND || (rc == ZTP_OK && t < floor)) {
		/* Unknown, or behind what this device has already seen
		 * authenticated: the floor is the best knowledge of now. */
		d->clock_known = false;
		d->now = floor;
	} else if (rc < 0) {
		return ztp__lite_err(d, rc, "clock: the port failed", NULL,
				     NULL);
	} else {
		d->clock_known = true;
		d->now = t;
	}
	d->rx = ztp__lite_alloc(d, ZTP__LITE_RX_MAX);
	d->tx = ztp__lite_alloc(d, ZTP_LITE_REQUEST_MAX);
	d->rx_len = 0;
	if (d->rx == NULL || d->tx == NULL) {
		ztp__lite_end(d);
		return ztp__lite_err(d, ZTP_ENOMEM, "out of memory", NULL,
				     NULL);
	}
	return ZTP_OK;
}

void ztp__lite_end(ztp_lite *d)
{
	ztp__lite_free(d, d->rx, ZTP__LITE_RX_MAX);
	ztp__lite_free(d, d->tx, ZTP_LITE_REQUEST_MAX);
	d->rx = NULL;
	d->tx = NULL;
	d->rx_len = 0;
}

void ztp__lite_disconnect(ztp_lite *d)
{
	if (d->conn != NULL)
		d->port->close(d->port->ctx, d->conn);
	d->conn = NULL;
	d->conn_auth = ZTP__AUTH_NONE;
	d->conn_slot = 0;
	d->rx_len = 0;
}

static const char *auth_name(ztp__lite_auth a)
{
	switch (a) {
	case ZTP__AUTH_FACTORY:
		return "factory";
	case ZTP__AUTH_BOOTSTRAP:
		return "bootstrap";
	case ZTP__AUTH_OPERATIONAL:
		return "operational";
	case ZTP__AUTH_NONE:
	default:
		return "none";
	}
}

/* A new connection with the identity, verifying the server against
 * anchors (NULL: the port's own). */
static int open_as(ztp_lite *d, ztp__lite_auth auth, const ztp__lite_cred *cred,
		   const char *anchors, size_t anchors_len)
{
	ztp_port_identity id = {NULL, 0, NULL, 0};
	ztp_port_tls tls;
	char fields[96];
	int rc;

	ztp__lite_disconnect(d);
	if (cred != NULL) {
		id.key = cred->key;
		id.key_len = cred->key_len;
		id.cert_pem = cred->cert;
		id.cert_len = cred->cert_len;
	}
	tls.host = d->host;
	tls.port = d->tcp_port;
	tls.identity = &id;
	tls.verify_time = d->now;
	tls.clock_known = d->clock_known;
	tls.peer_not_after = 0;
	tls.anchors = anchors;
	tls.anchors_len = anchors_len;
	d->peer_not_after = 0;
	rc = d->port->connect(d->port->ctx, &d->conn, &tls);
	if (rc < 0) {
		d->conn = NULL;
		return rc;
	}
	d->peer_not_after = tls.peer_not_after;
	d->stats[ZTP_LITE_HANDSHAKES]++;
	d->conn_auth = auth;
	d->conn_slot = cred != NULL ? cred->slot : 0;
	memcpy(fields, "\"identity\":\"", 12);
	memcpy(fields + 12, auth_name(auth), strlen(auth_name(auth)) + 1);
	memcpy(fields + strlen(fields), "\"", 2);
	ztp__lite_event(d, "device.connect", fields);
	return ZTP_OK;
}

/* A connection with the identity, reusing the open one when it has it;
 * a new one trusts the committed trust bundle when there is one.
 * *local is set when the failure is the device's own (the stored bundle
 * unreadable or not the one committed: the detail is set), not the
 * port's. */
static int connect_as(ztp_lite *d, ztp__lite_auth auth,
		      const ztp__lite_cred *cred, bool *local)
{
	char slot = cred != NULL ? cred->slot : 0, *anchors = NULL;
	size_t alen = 0;
	int rc;

	*local = false;
	if (d->conn != NULL && d->conn_auth == auth && d->conn_slot == slot)
		return ZTP_OK;
	ztp__lite_disconnect(d);
	rc = ztp__lite_trust_current(d, &anchors, &alen);
	if (rc < 0) {
		*local = true;
		return rc;
	}
	rc = open_as(d, auth, cred, anchors, alen);
	ztp__lite_free(d, anchors, ZTP_LITE_TRUST_MAX);
	return rc;
}

int ztp__lite_trust_probe(ztp_lite *d, const char *anchors, size_t len)
{
	int rc = open_as(d, ZTP__AUTH_FACTORY, NULL, anchors, len);

	ztp__lite_disconnect(d);
	return rc;
}

static int send_all(ztp_lite *d, const void *p, size_t n)
{
	int rc = d->port->send(d->port->ctx, d->conn, p, n);

	if (rc == ZTP_OK)
		d->stats[ZTP_LITE_BYTES_SENT] += n;
	return rc;
}

/* Receive one response into rx: head parsed into h, body at
 * rx + h->head_len. */
static int receive(ztp_lite *d, ztp__http_head *h)
{
	const char *why = "";
	size_t got;
	int rc;

	d->rx_len = 0;
	for (;;) {
		rc =
		    ztp__http_head_parse(h, d->rx, d->rx_len, ZTP_LITE_HEAD_MAX,
					 ZTP_LITE_BODY_MAX, &why);
		if (rc < 0)
			return ztp__lite_err(d, rc, why, NULL, NULL);
		if (rc == ZTP_OK &&
		    d->rx_len >= h->head_len + h->content_length)
			break;
		if (d->rx_len == ZTP__LITE_RX_MAX)
			return ztp__lite_err(d, ZTP_ETOOBIG,
					     "HTTP: answer too large", NULL,
					     NULL);
		got = 0;
		rc = d->port->recv(d->port->ctx, d->conn, d->rx + d->rx_len,
				   ZTP__LITE_RX_MAX - d->rx_len, &got);
		if (rc < 0)
			return ztp__lite_err(d, rc,
					     "network: receiving the answer "
					     "failed",
					     NULL, NULL);
		if (got == 0)
			return ztp__lite_err(
			    d, ZTP_ENETWORK,
			    d->rx_len == 0 ? "network: the server closed the "
					     "connection"
					   : "network: answer truncated "
					     "(the server closed the "
					     "connection)",
			    NULL, NULL);
		d->rx_len += got;
		d->stats[ZTP_LITE_BYTES_RECV] += got;
	}
	/* Nothing may follow an answer: the core sends one request at a
	 * time. */
	if (d->rx_len > h->head_len + h->content_length)
		return ztp__lite_err(
		    d, ZTP_EPARSE, "HTTP: bytes after the answer", NULL, NULL);
	return ZTP_OK;
}

/* {"error":{"code","message","retry_after"?}}: the code into
 * d->server_error, the message into msg, retry_after into *ra. */
static void parse_error(ztp_lite *d, const char *body, size_t len, char *msg,
			size_t cap, int64_t *ra)
{
	ztp__jv root, e, v;
	const char *why;
	char code[65];
	size_t n;

	msg[0] = '\0';
	*ra = -1;
	if (ztp__j_check(&root, body, len, &why) < 0 ||
	    root.type != ZTP__J_OBJECT ||
	    ztp__j_member(&root, "error", &e) < 0 || e.type != ZTP__J_OBJECT)
		return;
	if (ztp__j_member(&e, "code", &v) == ZTP_OK &&
	    ztp__j_string(&v, code, sizeof(code), &n) == ZTP_OK &&
	    ztp__wire_code_syntax(code, n))
		memcpy(d->server_error, code, n + 1);
	if (ztp__j_member(&e, "message", &v) == ZTP_OK &&
	    ztp__j_string(&v, msg, cap, NULL) == ZTP_ETOOBIG)
		msg[cap - 1] = '\0';
	if (ztp__j_member(&e, "retry_after", &v) == ZTP_OK &&
	    ztp__j_int(&v, 0, ZTP__RETRY_AFTER_MAX_S, ra) < 0)
		*ra = -1;
}

static uint32_t backoff_ms(ztp_lite *d, int retry, int status, int64_t hdr,
			   int64_t body)
{
	uint64_t r;
	bool drawn =
	    d->port->random(d->port->ctx, (uint8_t *)&r, sizeof(r)) == ZTP_OK;

	return (uint32_t)ztp__retry_delay_ms(
	    retry, status, hdr, body, d->base_delay_ms, d->max_delay_ms,
	    d->max_retry_after_ms, drawn ? &r : NULL);
}

static void attempt_event(ztp_lite *d, const char *endpoint, int attempt,
			  int status, const char *outcome, int64_t delay)
{
	char f[256], n[24];
	ztp__jw w;

	ztp__jw_init(&w, f, sizeof(f));
	w.first = true;
	ztp__jw_key(&w, "endpoint");
	ztp__jw_str(&w, endpoint, strlen(endpoint));
	ztp__jw_key(&w, "attempt");
	ztp__udec(n, (uint64_t)attempt);
	ztp__jw_raw(&w, n, strlen(n));
	ztp__jw_key(&w, "http_status");
	ztp__udec(n, (uint64_t)status);
	ztp__jw_raw(&w, n, strlen(n));
	ztp__jw_key(&w, "outcome");
	ztp__jw_str(&w, outcome, strlen(outcome));
	if (delay >= 0) {
		ztp__jw_key(&w, "delay_ms");
		ztp__udec(n, (uint64_t)delay);
		ztp__jw_raw(&w, n, strlen(n));
	}
	if (d->server_error[0] != '\0') {
		ztp__jw_key(&w, "server_error");
		ztp__jw_str(&w, d->server_error, strlen(d->server_error));
	}
	if (w.ok)
		ztp__lite_event(d, "device.http", f);
}

bool ztp__lite_refused_with(const ztp_lite *d, int rc, int w)
{
	return rc == ZTP_EDENIED &&
	       strcmp(d->server_error, ztp__wire_name(w)) == 0;
}

/* One attempt: connect if needed, send, receive. *final is set when the
 * failure is one another attempt cannot cure. */
static int attempt(ztp_lite *d, const char *endpoint, ztp__lite_auth auth,
		   const ztp__lite_cred *cred, size_t body_len,
		   ztp__http_head *h, bool *final)
{
	char head[ZTP__LITE_HOST_MAX + 160], path[48];
	size_t hl;
	bool local = false;
	int rc;

	*final = false;
	memcpy(path, ZTP__PATH_PREFIX, sizeof(ZTP__PATH_PREFIX));
	memcpy(path + sizeof(ZTP__PATH_PREFIX) - 1, endpoint,
	       strlen(endpoint) + 1);
	hl = ztp__http_request_head(head, sizeof(head), d->host, d->tcp_port,
				    path, body_len);
	if (hl == 0)
		return ztp__lite_err(d, ZTP_EINTERNAL, "HTTP: request head",
				     NULL, NULL);
	rc = connect_as(d, auth, cred, &local);
	if (rc < 0 && local) {
		*final = true;
		return rc;
	}
	if (rc == ZTP_EUNTRUSTED || rc == ZTP_EEXPIRED) {
		/* A server certificate refused: a TLS failure, reported as
		 * ztp_device(3) reports one (ZTP_ENETWORK), but final. */
		*final = true;
		rc = ZTP_ENETWORK;
	}
	if (rc < 0)
		return ztp__lite_err(d, rc, endpoint,
				     ": cannot connect to the server over "
				     "TLS: ",
				     ztp__lite_port_detail(d, rc));
	d->stats[ZTP_LITE_REQUESTS]++;
	rc = send_all(d, head, hl);
	if (rc == ZTP_OK)
		rc = send_all(d, d->tx, body_len);
	if (rc < 0)
		return ztp__lite_err(d, rc, endpoint,
				     ": sending the request failed", NULL);
	return receive(d, h);
}

int ztp__lite_call(ztp_lite *d, const char *endpoint, ztp__lite_auth auth,
		   const ztp__lite_cred *cred, size_t body_len, ztp__jv *answer)
{
	ztp__http_head h;
	char msg[200], st[24];
	const char *body, *why = "";
	int64_t ra;
	uint32_t delay;
	bool final;
	int rc, n;

	for (n = 1;; n++) {
		d->server_error[0] = '\0';
		rc = attempt(d, endpoint, auth, cred, body_len, &h, &final);
		if (rc < 0 || h.close || !d->keep_alive)
			ztp__lite_disconnect(d);
		if (rc < 0) {
			/* A transport failure another attempt may cure; a
			 * server certificate refused, an answer over the
			 * bounds or malformed is final. */
			if (rc != ZTP_ENETWORK || final ||
			    n >= d->max_attempts) {
				attempt_event(d, endpoint, n, 0, "failed", -1);
				return rc;
			}
			delay = backoff_ms(d, n - 1, 0, -1, -1);
			attempt_event(d, endpoint, n, 0, "retry", delay);
			if (d->port->sleep_ms != NULL)
				d->port->sleep_ms(d->port->ctx, delay);
			continue;
		}
		body = (const char *)d->rx + h.head_len;
		if (h.status >= 200 && h.status <= 299)
			break;
		parse_error(d, body, h.content_length, msg, sizeof(msg), &ra);
		ztp__udec(st, (uint64_t)h.status);
		rc = ztp__answer_refusal(h.status);
		ztp__lite_err(d, rc, endpoint, ": server answered HTTP ", st);
		if (d->server_error[0] != '\0') {
			char detail[ZTP_LITE_ERRMSG_MAX];

			memcpy(detail, d->err, sizeof(detail));
			ztp__lite_err(d, rc, detail, " ", d->server_error);
			memcpy(detail, d->err, sizeof(detail));
			ztp__lite_err(d, rc, detail, ": ", msg);
		}
		if (!ztp__answer_retryable(h.status) || n >= d->max_attempts) {
			attempt_event(d, endpoint, n, h.status, "failed", -1);
			return rc;
		}
		delay = backoff_ms(d, n - 1, h.status, h.retry_after, ra);
		attempt_event(d, endpoint, n, h.status, "retry", delay);
		if (d->port->sleep_ms != NULL)
			d->port->sleep_ms(d->port->ctx, delay);
	}
	attempt_event(d, endpoint, n, h.status, "ok", -1);
	if (h.content_length == 0)
		return ztp__lite_err(d, ZTP_EPARSE, endpoint, ": empty answer",
				     NULL);
	rc = ztp__j_check(answer, body, h.content_length, &why);
	if (rc < 0)
		return ztp__lite_err(d, rc, endpoint, ": answer: ", why);
	if (answer->type != ZTP__J_OBJECT)
		return ztp__lite_err(d, ZTP_EPARSE, endpoint,
				     ": answer is not a JSON object", NULL);
	return ZTP_OK;
}
