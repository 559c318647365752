/*
 * libztp — the device's HTTPS transport: libcurl with a pinned CA bundle,
 * mutual TLS from in-memory keys, bounded answers, retries with backoff.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "device/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	/* CURL_GLOBAL_DEFAULT initialises the TLS backend too; with OpenSSL 3
	 * that is idempotent with libztp's own initialisation. */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ztp__dev_curl_init(void)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return ztp__err(ZTP_ENETWORK,
				"libcurl: global initialisation failed: %s",
				curl_easy_strerror(curl_init_rc));
	return ZTP_OK;
}

/* ------------------------------------------------------------------ retry
 * policy */

ztp__dev_verdict ztp__dev_classify(int transport_rc, bool transient,
				   long status)
{
	if (transport_rc < 0)
		return transient ? ZTP__DEV_RETRY : ZTP__DEV_FAIL;
	if (status >= 200 && status <= 299)
		return ZTP__DEV_OK;
	return ztp__answer_retryable(status) ? ZTP__DEV_RETRY : ZTP__DEV_FAIL;
}

static void sanitise(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[n] = '\0';
}

int ztp__dev_parse_error(const uint8_t *body, size_t len, char code[65],
			 char msg[ZTP__DEV_ERRMSG_MAX + 1],
			 int64_t *retry_after)
{
	static const char *const top[] = {"error", NULL};
	static const char *const inner[] = {"code", "message", "retry_after",
					    NULL};
	int rc = ZTP_OK;
	json_object *root = NULL, *err = NULL;
	const char *c = NULL, *m = NULL;
	size_t clen = 0, mlen = 0;

	code[0] = '\0';
	msg[0] = '\0';
	*retry_after = -1;
	ZTP_ENSURE(len > 0, ZTP_EPARSE, "error answer: empty body");
	ZTP_CHECK(ztp__json_parse(&root, (const char *)body, len,
				  ZTP__DEV_RESP_MAX, 4));
	ZTP_ENSURE(json_object_is_type(root, json_type_object), ZTP_EPARSE,
		   "error answer: not an object");
	ZTP_CHECK(ztp__json_only_keys(root, top, "error answer"));
	ZTP_CHECK(ztp__json_object(root, "error", true, &err));
	ZTP_CHECK(ztp__json_only_keys(err, inner, "error answer"));
	ZTP_CHECK(ztp__json_str(err, "code", true, 64, &c, &clen));
	ZTP_ENSURE(clen > 0, ZTP_EPARSE, "error answer: empty code");
	ZTP_ENSURE(ztp__wire_code_syntax(c, clen), ZTP_EPARSE,
		   "error answer: code is not snake_case");
	ZTP_CHECK(ztp__json_str(err, "message", true, 4096, &m, &mlen));
	ZTP_CHECK(ztp__json_int(err, "retry_after", false, 0,
				ZTP__RETRY_AFTER_MAX_S, retry_after));
	memcpy(code, c, clen + 1);
	sanitise(msg, ZTP__DEV_ERRMSG_MAX + 1, m, mlen);
cleanup:
	if (rc < 0) {
		code[0] = '\0';
		msg[0] = '\0';
		*retry_after = -1;
	}
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------ one
 * attempt */

/* What the header callback notes of an answer. */
typedef struct head_seen {
	CURL *curl;
	bool retry_after;	/* the header was there */
	bool peer;		/* peer_not_after was looked up */
	int64_t peer_not_after; /* of the server's verified certificate */
} head_seen;

/* The server certificate of the connection the answer arrives on (only
 * reachable while the transfer runs); looked up again at the next header
 * until found. */
static void note_peer(head_seen *h)
{
	struct curl_tlssessioninfo *tsi = NULL;
	X509 *peer;

	if (curl_easy_getinfo(h->curl, CURLINFO_TLS_SSL_PTR, &tsi) !=
		CURLE_OK ||
	    tsi == NULL || tsi->backend != CURLSSLBACKEND_OPENSSL ||
	    tsi->internals == NULL)
		return;
	peer = SSL_get0_peer_certificate(tsi->internals);
	if (peer == NULL)
		return;
	h->peer = true;
	if (ztp__asn1_time(&h->peer_not_after, X509_get0_notAfter(peer)) < 0) {
		h->peer_not_after = 0;
		ztp_error_clear();
	}
}

/* libcurl reports a missing Retry-After as 0, the same as "retry now";
 * whether the header was there at all is noted here. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	head_seen *h = ctx;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	size_t i;

	if (!h->peer)
		note_peer(h);
	if (len >= sizeof(name) - 1) {
		for (i = 0; i < sizeof(name) - 1; i++) {
			char ch = p[i];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch != name[i])
				break;
		}
		if (i == sizeof(name) - 1)
			h->retry_after = true;
	}
	return len;
}

typedef struct sink {
	ztp__buf *buf;
	bool overflow;
	bool nomem;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	sink *s = ctx;
	size_t len = size * n;

	if (s->buf->len + len > ZTP__DEV_RESP_MAX) {
		s->overflow = true;
		return 0; /* aborts the transfer */
	}
	if (ztp__buf_append(s->buf, p, len) < 0) {
		s->nomem = true;
		return 0;
	}
	return len;
}

/* What a connection's TLS context is made from. */
typedef struct conn_tls {
	const ztp__dev_tls_id *id; /* client identity, or NULL */
	int64_t verify_time;	   /* the time floor, or -1: the system's */
} conn_tls;

/* Verification at the time floor of a device without a trustworthy clock
 * (clock.c): a certificate issued after the floor is no reason to refuse
 * (the floor lags the true time), one that expired before it is (and so
 * is everything else OpenSSL checks). */
static int verify_at_floor(int ok, X509_STORE_CTX *x)
{
	if (!ok &&
	    X509_STORE_CTX_get_error(x) == X509_V_ERR_CERT_NOT_YET_VALID) {
		X509_STORE_CTX_set_error(x, X509_V_OK);
		return 1;
	}
	return ok;
}

/* The client identity goes straight into OpenSSL's context, so the key
 * never exists outside its EVP_PKEY (and so can live in a token). */
int ztp__dev_tls_setup(SSL_CTX *sc, int64_t verify_time, EVP_PKEY *key,
		       X509 *cert, STACK_OF(X509) * chain)
{
	int i;

	if (SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) != 1)
		return ZTP_ECRYPTO;
	if (verify_time >= 0) {
		X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(sc);

		X509_VERIFY_PARAM_set_time(vp, (time_t)verify_time);
		SSL_CTX_set_verify(sc, SSL_CTX_get_verify_mode(sc),
				   verify_at_floor);
	}
	if (key == NULL)
		return ZTP_OK;
	if (SSL_CTX_use_certificate(sc, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sc, key) != 1 ||
	    SSL_CTX_check_private_key(sc) != 1)
		return ZTP_ECRYPTO;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (SSL_CTX_add1_chain_cert(sc, sk_X509_value(chain, i)) != 1)
			return ZTP_ECRYPTO;
	return ZTP_OK;
}

static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *ctx)
{
	const conn_tls *ct = ctx;
	const ztp__dev_tls_id *id = ct->id;

	(void)curl;
	return ztp__dev_tls_setup(sslctx, ct->verify_time,
				  id != NULL ? id->key : NULL,
				  id != NULL ? id->cert : NULL,
				  id != NULL ? id->chain : NULL) < 0
		   ? CURLE_SSL_CERTPROBLEM
		   : CURLE_OK;
}

/* Failures that another attempt cannot cure: a server we do not trust,
 * our own configuration, a protocol violation. */
static bool curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
	case CURLE_TOO_MANY_REDIRECTS:
		return false;
	default:
		return true;
	}
}

void ztp__dev_http_result_free(ztp__dev_http_result *res)
{
	ztp__buf_free(&res->body);
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
}

#define SETOPT(opt, val)                                                       \
	do {                                                                   \
		cc = curl_easy_setopt(curl, opt, val);                         \
		ZTP_ENSURE(cc == CURLE_OK,                                     \
			   cc == CURLE_OUT_OF_MEMORY ? ZTP_ENOMEM              \
						     : ZTP_EUNSUPPORTED,       \
			   "libcurl: %s: %s", #opt, curl_easy_strerror(cc));   \
	} while (0)

/* The connection a handle keeps between the requests of an operation
 * (keep-alive): one libcurl handle, with the trust file and the client
 * certificate its connection was made with. libcurl reuses a connection
 * of the handle for the next request when the server kept it open; it
 * cannot tell client identities apart (they go in through the TLS context
 * callback), so another identity, trust file or clock mode gets a new
 * handle, and so a new connection. */
struct ztp__dev_conn {
	CURL *curl;
	char *cafile;
	X509 *cert; /* the client certificate, or NULL */
	conn_tls ct;
};

void ztp__dev_conn_close(ztp_device *dev)
{
	ztp__dev_conn *c = dev->conn;

	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c->cafile);
	X509_free(c->cert);
	free(c);
	dev->conn = NULL;
}

/* The handle for a request with id to a server verified with cafile
 * (taken): the kept one when it was made for both, else a new one. */
static int conn_get(ztp_device *dev, const ztp__dev_tls_id *id, char **cafile,
		    CURL **out)
{
	int rc = ZTP_OK;
	ztp__dev_conn *c = dev->conn;
	X509 *cert = id != NULL ? id->cert : NULL;

	if (c != NULL && dev->cfg.keep_alive &&
	    (c->ct.verify_time >= 0) == dev->cfg.clock_untrusted &&
	    strcmp(c->cafile, *cafile) == 0 &&
	    (c->cert == NULL ? cert == NULL
			     : cert != NULL && X509_cmp(c->cert, cert) == 0)) {
		free(*cafile);
		*cafile = NULL;
		goto done;
	}
	ztp__dev_conn_close(dev);
	c = ztp__calloc(1, sizeof(*c));
	ZTP_ENSURE(c != NULL, ZTP_ENOMEM, "libcurl: out of memory");
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		ZTP_ENSURE(0, ZTP_ENOMEM, "libcurl: cannot create a handle");
	}
	c->cafile = *cafile;
	*cafile = NULL;
	dev->conn = c;
	if (cert != NULL) {
		/* On failure the caller closes what was made. */
		ZTP_ENSURE(X509_up_ref(cert) == 1, ZTP_ENOMEM,
			   "libcurl: out of memory");
		c->cert = cert;
	}
done:
	c->ct.id = id;
	c->ct.verify_time = dev->cfg.clock_untrusted ? dev->floor : -1;
	*out = c->curl;
cleanup:
	return rc;
}

int ztp__dev_http_once(ztp_device *dev, const char *url, const char *body,
		       const ztp__dev_tls_id *id, ztp__dev_http_result *res)
{
	int rc = ZTP_OK;
	CURL *curl = NULL;
	CURLcode cc;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	sink s;
	curl_off_t ra = -1;
	long status = 0, connects = 0;
	char *cafile = NULL;
	head_seen hs = {0};

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	s.buf = &res->body;
	s.overflow = false;
	s.nomem = false;
	errbuf[0] = '\0';
	ZTP_CHECK(ztp__dev_curl_init());
	/* The committed trust bundle, else ca_file (trust.c). */
	ZTP_CHECK(ztp__dev_trust_file(dev, &cafile));
	ZTP_CHECK(conn_get(dev, id, &cafile, &curl));
	hs.curl = curl;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	ZTP_ENSURE(hdrs != NULL, ZTP_ENOMEM, "libcurl: out of memory");
	{
		struct curl_slist *h =
		    curl_slist_append(hdrs, "Accept: application/json");

		ZTP_ENSURE(h != NULL, ZTP_ENOMEM, "libcurl: out of memory");
		hdrs = h;
	}

	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	/* No ambient configuration: proxies from the environment, the
	 * system trust store, .netrc. A configured proxy is an HTTP proxy
	 * the TLS connection is tunnelled through (CONNECT): TLS stays end
	 * to end. NOPROXY set (empty: every host) keeps libcurl from
	 * reading no_proxy from the environment. */
	SETOPT(CURLOPT_PROXY, dev->cfg.proxy != NULL ? dev->cfg.proxy : "");
	SETOPT(CURLOPT_NOPROXY, "");
	if (dev->cfg.proxy != NULL) {
		SETOPT(CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
		SETOPT(CURLOPT_HTTPPROXYTUNNEL, 1L);
		SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	}
	SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SETOPT(CURLOPT_CAINFO, dev->conn->cafile);
	SETOPT(CURLOPT_CAPATH, NULL);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	SETOPT(CURLOPT_SSL_CTX_DATA, (void *)&dev->conn->ct);
	/* No TLS session resumption: a resumed session skips the chain
	 * check (at the floor too) and carries the client identity it was
	 * made with (doc/PERFORMANCE.md). */
	SETOPT(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SETOPT(CURLOPT_FORBID_REUSE, dev->cfg.keep_alive ? 0L : 1L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)dev->cfg.connect_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)dev->cfg.total_ms);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ZTP__DEV_RESP_MAX);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_POSTFIELDS, body);
	SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	SETOPT(CURLOPT_HTTPHEADER, hdrs);
	SETOPT(CURLOPT_USERAGENT, "libztp/" ZTP_VERSION_STRING);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, &s);
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, &hs);

	cc = curl_easy_perform(curl);
	if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects) ==
		CURLE_OK &&
	    connects > 0)
		res->new_connection = true;
	if (cc != CURLE_OK) {
		ZTP_ENSURE(!s.nomem, ZTP_ENOMEM, "%s: out of memory", url);
		ZTP_ENSURE(!s.overflow && cc != CURLE_FILESIZE_EXCEEDED,
			   ZTP_ETOOBIG, "%s: answer over %d bytes", url,
			   ZTP__DEV_RESP_MAX);
		res->transient = curl_transient(cc);
		rc = ztp__err(ZTP_ENETWORK, "%s%s%s: %s%s%s", url,
			      dev->cfg.proxy != NULL ? " through proxy " : "",
			      dev->cfg.proxy != NULL ? dev->cfg.proxy : "",
			      curl_easy_strerror(cc), errbuf[0] ? ": " : "",
			      errbuf);
		goto cleanup;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	res->status = status;
	res->peer_not_after = hs.peer_not_after;
	if (hs.retry_after &&
	    curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra >= 0)
		res->retry_after = (int64_t)ra;
cleanup:
	if (curl != NULL) {
		/* Nothing of this call's stack stays with the kept handle. */
		(void)curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
		(void)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
		(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
		(void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
		(void)curl_easy_setopt(curl, CURLOPT_HEADERDATA, NULL);
	}
	/* A failed exchange may leave the connection in any state. */
	if (rc < 0)
		ztp__dev_conn_close(dev);
	curl_slist_free_all(hdrs);
	free(cafile);
	return rc;
}

#undef SETOPT

/* ------------------------------------------------------------------ with
 * retries */

static void sleep_ms(ztp_device *dev, int64_t ms)
{
	struct timespec ts, rem;

	if (dev->sleep_fn != NULL) {
		dev->sleep_fn(dev->sleep_ctx, ms);
		return;
	}
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

/* The draw for the backoff's jitter into *r, or NULL if the DRBG failed:
 * then the backoff waits its whole ceiling (jitter only spreads a fleet's
 * retries; a device without it still backs off). */
static const uint64_t *jitter(ztp_device *dev, uint64_t *r)
{
	if (dev->rand_fn != NULL) {
		*r = dev->rand_fn(dev->rand_ctx);
		return r;
	}
	if (RAND_bytes((unsigned char *)r, sizeof(*r)) != 1)
		return NULL;
	return r;
}

static void attempt_event(ztp_device *dev, const char *endpoint, int attempt,
			  const ztp__dev_http_result *res, int rc,
			  const char *outcome, int64_t delay_ms,
			  const char *code)
{
	json_object *f = json_object_new_object();

	if (f == NULL)
		return;
	if (ztp__json_add_str(f, "endpoint", endpoint) < 0 ||
	    ztp__json_add_int(f, "attempt", attempt) < 0 ||
	    ztp__json_add_int(f, "http_status", res->status) < 0 ||
	    ztp__json_add_str(f, "outcome", outcome) < 0 ||
	    (delay_ms >= 0 && ztp__json_add_int(f, "delay_ms", delay_ms) < 0) ||
	    (code != NULL && code[0] != '\0' &&
	     ztp__json_add_str(f, "server_error", code) < 0) ||
	    (rc < 0 &&
	     ztp__json_add_str(f, "error", ztp_status_name(rc)) < 0) ||
	    (rc < 0 &&
	     ztp__json_add_str(f, "detail", ztp_error_last_message()) < 0) ||
	    ztp__json_add(f, "new_connection",
			  json_object_new_boolean(res->new_connection)) < 0) {
		json_object_put(f);
		return;
	}
	ztp__dev_event(dev, "device.http", f);
}

/* A refusal or a final failure from an HTTP status and error body. */
static int server_error(const char *endpoint, long status, const char *code,
			const char *msg)
{
	int code_rc = ztp__answer_refusal(status);

	if (code[0] != '\0')
		return ztp__err(code_rc, "%s: server answered HTTP %ld %s: %s",
				endpoint, status, code, msg);
	return ztp__err(code_rc, "%s: server answered HTTP %ld", endpoint,
			status);
}

bool ztp__dev_refused_with(const ztp_device *dev, int rc, int w)
{
	return rc == ZTP_EDENIED &&
	       strcmp(dev->server_error, ztp__wire_name(w)) == 0;
}

int ztp__dev_call(ztp_device *dev, const char *endpoint, json_object *req,
		  const ztp__dev_tls_id *id, json_object **out)
{
	int rc = ZTP_OK, t_rc, attempt;
	char *url = NULL, *body = NULL;
	ztp__buf ub = {0};
	ztp__dev_http_result res = {0};
	ztp__dev_verdict v;
	char code[65], msg[ZTP__DEV_ERRMSG_MAX + 1], detail[1024];
	int64_t body_ra, delay;
	uint64_t rnd;
	json_object *root = NULL;

	*out = NULL;
	dev->server_error[0] = '\0';
	dev->peer_not_after = 0;
	ZTP_ENSURE(dev->cfg.base_url != NULL, ZTP_EINVAL,
		   "no server base URL configured");
	ZTP_CHECK(ztp__buf_append_str(&ub, dev->cfg.base_url));
	ZTP_CHECK(ztp__buf_append_str(&ub, ZTP__PATH_PREFIX));
	ZTP_CHECK(ztp__buf_append_str(&ub, endpoint));
	ZTP_CHECK(ztp__buf_terminate(&ub));
	url = (char *)ztp__buf_steal(&ub, NULL);
	ZTP_CHECK(ztp__json_dump(&body, req));

	for (attempt = 1;; attempt++) {
		ztp__dev_http_result_free(&res);
		code[0] = msg[0] = '\0';
		body_ra = -1;
		t_rc = ztp__dev_http_once(dev, url, body, id, &res);
		/* The last three: the committed trust bundle is unreadable
		 * or not the one committed (trust.c). */
		if (t_rc == ZTP_EINVAL || t_rc == ZTP_ENOMEM ||
		    t_rc == ZTP_EUNSUPPORTED || t_rc == ZTP_EIO ||
		    t_rc == ZTP_EPARSE || t_rc == ZTP_EMISMATCH) {
			attempt_event(dev, endpoint, attempt, &res, t_rc,
				      "failed", -1, NULL);
			ZTP_CHECK(t_rc);
		}
		if (t_rc == ZTP_OK && (res.status < 200 || res.status > 299))
			(void)ztp__dev_parse_error(res.body.data, res.body.len,
						   code, msg, &body_ra);
		v = ztp__dev_classify(t_rc, res.transient, res.status);
		if (v == ZTP__DEV_OK) {
			attempt_event(dev, endpoint, attempt, &res, 0, "ok", -1,
				      NULL);
			dev->peer_not_after = res.peer_not_after;
			break;
		}
		if (t_rc == ZTP_OK)
			t_rc = server_error(endpoint, res.status, code, msg);
		/* The event callback may call into libztp; keep the detail. */
		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		if (v == ZTP__DEV_FAIL || attempt >= dev->cfg.max_attempts) {
			attempt_event(dev, endpoint, attempt, &res, t_rc,
				      "failed", -1, code);
			memcpy(dev->server_error, code, sizeof(code));
			rc = ztp__err(t_rc, "%s", detail);
			goto cleanup;
		}
		delay = ztp__retry_delay_ms(
		    attempt - 1, res.status, res.retry_after, body_ra,
		    dev->cfg.base_delay_ms, dev->cfg.max_delay_ms,
		    dev->cfg.max_retry_after_ms, jitter(dev, &rnd));
		attempt_event(dev, endpoint, attempt, &res, t_rc, "retry",
			      delay, code);
		sleep_ms(dev, delay);
	}

	ZTP_ENSURE(res.body.len > 0, ZTP_EPARSE, "%s: empty answer", endpoint);
	ZTP_CHECK(ztp__json_parse(&root, (const char *)res.body.data,
				  res.body.len, ZTP__DEV_RESP_MAX,
				  ZTP_JSON_MAX_DEPTH));
	ZTP_ENSURE(json_object_is_type(root, json_type_object), ZTP_EPARSE,
		   "%s: answer is not a JSON object", endpoint);
	*out = root;
	root = NULL;
cleanup:
	json_object_put(root);
	ztp__dev_http_result_free(&res);
	ztp__buf_free(&ub);
	free(url);
	free(body);
	return rc;
}
