/*
 * libztp — the mbedTLS 2.28 port of the portable device core: TLS client,
 * keys, CSRs, signatures, certificates, randomness.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "devport/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/x509_csr.h>

int ztp__mt_fail(ztp__mt *m, int code, const char *what, int mbed)
{
	char e[128] = "";

	if (mbed != 0)
		mbedtls_strerror(mbed, e, sizeof(e));
	snprintf(m->h.err, sizeof(m->h.err), "%s%s%s", what, e[0] ? ": " : "",
		 e);
	return code;
}

bool ztp__mt_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x |= (uint8_t)(a[i] ^ b[i]);
	return x == 0;
}

int ztp__mt_entropy(void *ctx, unsigned char *out, size_t len)
{
	size_t off = 0;
	ssize_t r;

	(void)ctx;
	while (off < len) {
		r = getrandom(out + off, len - off, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
		off += (size_t)r;
	}
	return 0;
}

/* ------------------------------------------------------------------ certs */

/* The raw GeneralNames of the certificate's subjectAltName (an empty
 * span when it has none). */
static int san_names(const mbedtls_x509_crt *c, unsigned char **p,
		     unsigned char **end)
{
	unsigned char *q = c->v3_ext.p, *e = c->v3_ext.p + c->v3_ext.len;
	unsigned char *ext_end, *oid;
	size_t len, olen;
	int crit;

	*p = *end = NULL;
	if (q == NULL || c->v3_ext.len == 0)
		return 0;
	if (mbedtls_asn1_get_tag(&q, e, &len,
				 MBEDTLS_ASN1_CONTEXT_SPECIFIC |
				     MBEDTLS_ASN1_CONSTRUCTED | 3) == 0)
		e = q + len;
	if (mbedtls_asn1_get_tag(&q, e, &len,
				 MBEDTLS_ASN1_CONSTRUCTED |
				     MBEDTLS_ASN1_SEQUENCE) != 0)
		return -1;
	e = q + len;
	while (q < e) {
		if (mbedtls_asn1_get_tag(&q, e, &len,
					 MBEDTLS_ASN1_CONSTRUCTED |
					     MBEDTLS_ASN1_SEQUENCE) != 0)
			return -1;
		ext_end = q + len;
		if (mbedtls_asn1_get_tag(&q, ext_end, &olen, MBEDTLS_ASN1_OID))
			return -1;
		oid = q;
		q += olen;
		if (mbedtls_asn1_get_bool(&q, ext_end, &crit) != 0 &&
		    q < ext_end && *q == MBEDTLS_ASN1_BOOLEAN)
			return -1;
		if (mbedtls_asn1_get_tag(&q, ext_end, &len,
					 MBEDTLS_ASN1_OCTET_STRING) != 0)
			return -1;
		if (olen == 3 && memcmp(oid, "\x55\x1d\x11", 3) == 0) {
			if (mbedtls_asn1_get_tag(&q, q + len, &len,
						 MBEDTLS_ASN1_CONSTRUCTED |
						     MBEDTLS_ASN1_SEQUENCE))
				return -1;
			*p = q;
			*end = q + len;
			return 0;
		}
		q = ext_end;
	}
	return 0;
}

/* The next GeneralName: its context tag number and value. */
static bool san_next(unsigned char **p, unsigned char *end, int *tag,
		     const unsigned char **v, size_t *len)
{
	unsigned char t;

	if (*p == NULL || *p >= end)
		return false;
	t = **p;
	(*p)++;
	if (mbedtls_asn1_get_len(p, end, len) != 0)
		return false;
	*tag = t & 0x1f;
	*v = *p;
	*p += *len;
	return (t & MBEDTLS_ASN1_CONTEXT_SPECIFIC) != 0;
}

/* A SAN URI urn:ztp:<what>:<id> into out ("" when none); -1 when there
 * are two or it is not an identifier. */
static int san_id(const mbedtls_x509_crt *c, const char *what, char *out)
{
	unsigned char *p, *end;
	const unsigned char *v;
	char prefix[24];
	size_t len, pl;
	int tag;

	out[0] = '\0';
	pl = (size_t)snprintf(prefix, sizeof(prefix), "urn:ztp:%s:", what);
	if (san_names(c, &p, &end) < 0)
		return -1;
	while (san_next(&p, end, &tag, &v, &len)) {
		if (tag != 6 || len <= pl || memcmp(v, prefix, pl) != 0)
			continue;
		if (out[0] != '\0' || len - pl > ZTP_ID_MAX)
			return -1;
		memcpy(out, v + pl, len - pl);
		out[len - pl] = '\0';
		if (ztp__id_len(out) != len - pl)
			return -1;
	}
	return 0;
}

static int64_t x509_time(const mbedtls_x509_time *t)
{
	return ztp__days_from_civil(t->year, t->mon, t->day) * 86400 +
	       t->hour * 3600 + t->min * 60 + t->sec;
}

/* The subject CN, exactly one. */
static int subject_cn(const mbedtls_x509_crt *c, char *out)
{
	const mbedtls_x509_name *n;
	int count = 0;

	out[0] = '\0';
	for (n = &c->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL ||
		    MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid))
			continue;
		if (++count > 1 || n->val.len > ZTP_ID_MAX)
			return -1;
		memcpy(out, n->val.p, n->val.len);
		out[n->val.len] = '\0';
	}
	return count == 1 ? 0 : -1;
}

/* Whether two keys have the same public key. */
static bool same_pubkey(mbedtls_pk_context *a, mbedtls_pk_context *b)
{
	unsigned char da[800], db[800];
	int la = mbedtls_pk_write_pubkey_der(a, da, sizeof(da));
	int lb = mbedtls_pk_write_pubkey_der(b, db, sizeof(db));

	/* DER is written at the end of the buffer. */
	return la > 0 && la == lb &&
	       memcmp(da + sizeof(da) - la, db + sizeof(db) - lb, (size_t)la) ==
		   0;
}

/* Parse a PEM key blob (or, with key NULL, use the factory key). */
static int key_of(ztp__mt *m, mbedtls_pk_context *pk, const uint8_t *key,
		  size_t len, mbedtls_pk_context **out)
{
	int r;

	if (key == NULL) {
		*out = &m->factory_key;
		return ZTP_OK;
	}
	mbedtls_pk_init(pk);
	if (len == 0 || key[len - 1] != '\0')
		return ztp__mt_fail(m, ZTP_EPARSE, "key: not a PEM blob", 0);
	r = mbedtls_pk_parse_key(pk, key, len, NULL, 0);
	if (r != 0) {
		mbedtls_pk_free(pk);
		return ztp__mt_fail(m, ZTP_EPARSE, "key", r);
	}
	*out = pk;
	return ZTP_OK;
}

/* Parse PEM certificates (len bytes, not NUL-terminated) into crt. */
int ztp__mt_parse_certs(ztp__mt *m, mbedtls_x509_crt *crt, const char *pem,
			size_t len)
{
	unsigned char *buf = malloc(len + 1);
	int r;

	if (buf == NULL)
		return ztp__mt_fail(m, ZTP_ENOMEM, "out of memory", 0);
	memcpy(buf, pem, len);
	buf[len] = '\0';
	r = mbedtls_x509_crt_parse(crt, buf, len + 1);
	free(buf);
	if (r != 0)
		return ztp__mt_fail(m, ZTP_EPARSE, "certificate",
				    r < 0 ? r : 0);
	return ZTP_OK;
}

static int cert_info(void *ctx, const char *pem, size_t len, const uint8_t *key,
		     size_t key_len, ztp_port_cert_info *info)
{
	ztp__mt *m = ctx;
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk, *k = NULL;
	char uri_id[ZTP_ID_MAX + 1];
	int rc;

	memset(info, 0, sizeof(*info));
	mbedtls_x509_crt_init(&crt);
	rc = ztp__mt_parse_certs(m, &crt, pem, len);
	if (rc < 0)
		goto out;
	info->not_before = x509_time(&crt.valid_from);
	info->not_after = x509_time(&crt.valid_to);
	if (subject_cn(&crt, info->device_id) < 0 ||
	    ztp__id_len(info->device_id) == 0 ||
	    san_id(&crt, "device", uri_id) < 0 ||
	    (uri_id[0] != '\0' && strcmp(uri_id, info->device_id) != 0) ||
	    san_id(&crt, "tenant", info->tenant) < 0) {
		rc = ztp__mt_fail(m, ZTP_EPROFILE,
				  "certificate: its device names disagree or "
				  "are not identifiers",
				  0);
		goto out;
	}
	rc = key_of(m, &pk, key, key_len, &k);
	if (rc < 0)
		goto out;
	info->key_matches = same_pubkey(&crt.pk, k);
	if (k != &m->factory_key)
		mbedtls_pk_free(&pk);
out:
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* ------------------------------------------------------------------ crypto
 */

static int key_generate(void *ctx, uint8_t *key, size_t cap, size_t *len)
{
	ztp__mt *m = ctx;
	mbedtls_pk_context pk;
	int r, rc = ZTP_OK;

	mbedtls_pk_init(&pk);
	r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (r == 0)
		r = mbedtls_ecp_gen_key(m->p384 ? MBEDTLS_ECP_DP_SECP384R1
						: MBEDTLS_ECP_DP_SECP256R1,
					mbedtls_pk_ec(pk),
					mbedtls_ctr_drbg_random, &m->drbg);
	if (r == 0)
		r = mbedtls_pk_write_key_pem(&pk, key, cap);
	if (r != 0)
		rc = ztp__mt_fail(m, ZTP_ECRYPTO, "key generation", r);
	else
		*len = strlen((const char *)key) + 1; /* the NUL: PEM */
	mbedtls_pk_free(&pk);
	return rc;
}

static int csr(void *ctx, const uint8_t *key, size_t key_len,
	       const char *device_id, uint8_t *der, size_t cap, size_t *len)
{
	ztp__mt *m = ctx;
	mbedtls_x509write_csr w;
	mbedtls_pk_context pk, *k = NULL;
	const mbedtls_ecp_keypair *ec;
	char subject[ZTP_ID_MAX + 4];
	int r, rc;

	rc = key_of(m, &pk, key, key_len, &k);
	if (rc < 0)
		return rc;
	mbedtls_x509write_csr_init(&w);
	/* The identifier grammar has nothing mbedTLS's name syntax treats
	 * specially (',', '=', '\\'). */
	snprintf(subject, sizeof(subject), "CN=%s", device_id);
	/* The hash follows the key, as for the transcript (sign()). */
	ec = mbedtls_pk_can_do(k, MBEDTLS_PK_ECKEY) ? mbedtls_pk_ec(*k) : NULL;
	mbedtls_x509write_csr_set_md_alg(
	    &w, ec != NULL && ec->grp.id == MBEDTLS_ECP_DP_SECP384R1
		    ? MBEDTLS_MD_SHA384
		    : MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, k);
	r = mbedtls_x509write_csr_set_subject_name(&w, subject);
	if (r == 0)
		r = mbedtls_x509write_csr_der(
		    &w, der, cap, mbedtls_ctr_drbg_random, &m->drbg);
	if (r > 0) {
		/* Written at the end of the buffer. */
		memmove(der, der + cap - (size_t)r, (size_t)r);
		*len = (size_t)r;
	} else {
		rc = ztp__mt_fail(m, ZTP_ECRYPTO, "CSR", r);
	}
	mbedtls_x509write_csr_free(&w);
	if (k != &m->factory_key)
		mbedtls_pk_free(&pk);
	return rc;
}

static int sign(void *ctx, const uint8_t *key, size_t key_len,
		const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
		size_t *sig_len)
{
	ztp__mt *m = ctx;
	mbedtls_pk_context pk, *k = NULL;
	unsigned char h[64];
	const mbedtls_ecp_keypair *ec;
	mbedtls_md_type_t md;
	size_t hl;
	int r, rc;

	rc = key_of(m, &pk, key, key_len, &k);
	if (rc < 0)
		return rc;
	/* The algorithm follows the key (PROTOCOL.md §4). */
	if (!mbedtls_pk_can_do(k, MBEDTLS_PK_ECKEY)) {
		rc = ztp__mt_fail(m, ZTP_EUNSUPPORTED,
				  "signing: only EC keys are supported", 0);
		goto out;
	}
	ec = mbedtls_pk_ec(*k);
	if (ec != NULL && ec->grp.id == MBEDTLS_ECP_DP_SECP384R1) {
		md = MBEDTLS_MD_SHA384;
		hl = 48;
		r = mbedtls_sha512_ret(msg, len, h, 1);
	} else if (ec != NULL && ec->grp.id == MBEDTLS_ECP_DP_SECP256R1) {
		md = MBEDTLS_MD_SHA256;
		hl = 32;
		r = mbedtls_sha256_ret(msg, len, h, 0);
	} else {
		rc = ztp__mt_fail(m, ZTP_EUNSUPPORTED,
				  "signing: only P-256 and P-384 keys", 0);
		goto out;
	}
	if (r == 0 && cap < MBEDTLS_ECDSA_MAX_LEN)
		r = MBEDTLS_ERR_PK_BAD_INPUT_DATA;
	if (r == 0)
		r = mbedtls_pk_sign(k, md, h, hl, sig, sig_len,
				    mbedtls_ctr_drbg_random, &m->drbg);
	if (r != 0)
		rc = ztp__mt_fail(m, ZTP_ECRYPTO, "signing", r);
out:
	if (k != &m->factory_key)
		mbedtls_pk_free(&pk);
	return rc;
}

static int sha256(void *ctx, const uint8_t *data, size_t len, uint8_t out[32])
{
	int r = mbedtls_sha256_ret(data, len, out, 0);

	return r == 0 ? ZTP_OK : ztp__mt_fail(ctx, ZTP_ECRYPTO, "SHA-256", r);
}

static int random_bytes(void *ctx, uint8_t *out, size_t len)
{
	ztp__mt *m = ctx;
	int r = mbedtls_ctr_drbg_random(&m->drbg, out, len);

	return r == 0 ? ZTP_OK : ztp__mt_fail(m, ZTP_ECRYPTO, "random", r);
}

static int factory_cert(void *ctx, char *pem, size_t cap, size_t *len)
{
	ztp__mt *m = ctx;

	if (m->factory_pem_len >= cap)
		return ztp__mt_fail(m, ZTP_ETOOBIG,
				    "factory certificate: too "
				    "long",
				    0);
	memcpy(pem, m->factory_pem, m->factory_pem_len);
	*len = m->factory_pem_len;
	return ZTP_OK;
}

/* ------------------------------------------------------------------ TLS */

typedef struct mt_conn {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt own;
	mbedtls_pk_context own_key;
	mbedtls_x509_crt anchors; /* the core's trust bundle, if it gave one */
	const ztp_port_tls *tls;
	ztp__mt *m;
	bool ip_host;
	unsigned char ip[16];
	size_t ip_len;
	bool pin_ok, name_ok;
} mt_conn;

/* The server certificate's checks beyond mbedTLS's chain check: the
 * validity against the floor when the clock is unknown, an IP address
 * host against the SAN iPAddress entries (mbedTLS 2.28 matches DNS names
 * only), and the pin. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth,
		     uint32_t *flags)
{
	mt_conn *c = ctx;
	unsigned char der[800], h[32], *p, *end;
	const unsigned char *v;
	size_t len;
	int n, tag;

	if (!c->tls->clock_known) {
		/* Not against the system clock, which is wrong: only a
		 * certificate that expired before the floor is refused. */
		*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED |
				      MBEDTLS_X509_BADCERT_FUTURE);
		if (x509_time(&crt->valid_to) < c->tls->verify_time)
			*flags |= MBEDTLS_X509_BADCERT_EXPIRED;
	}
	if (depth != 0)
		return 0;
	if (c->ip_host) {
		*flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
		c->name_ok = false;
		if (san_names(crt, &p, &end) == 0)
			while (san_next(&p, end, &tag, &v, &len))
				if (tag == 7 && len == c->ip_len &&
				    memcmp(v, c->ip, len) == 0)
					c->name_ok = true;
		if (!c->name_ok)
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	}
	if (c->m->pin_set) {
		n = mbedtls_pk_write_pubkey_der(&crt->pk, der, sizeof(der));
		c->pin_ok = n > 0 &&
			    mbedtls_sha256_ret(der + sizeof(der) - n, (size_t)n,
					       h, 0) == 0 &&
			    ztp__mt_ct_equal(h, c->m->pin, 32);
		if (!c->pin_ok)
			*flags |= MBEDTLS_X509_BADCERT_OTHER;
	}
	return 0;
}

/* mbedtls_net_send() writes with write(2): a server that closed the
 * connection would raise SIGPIPE in the caller's process. */
static int net_send(void *ctx, const unsigned char *buf, size_t len)
{
	mbedtls_net_context *n = ctx;
	ssize_t r = send(n->fd, buf, len, MSG_NOSIGNAL);

	if (r >= 0)
		return (int)(r > INT32_MAX ? INT32_MAX : r);
	if (errno == EINTR || errno == EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* TCP connect with a timeout. */
static int tcp_connect(ztp__mt *m, mt_conn *c, const char *host, uint16_t port)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ps[8];
	int fd = -1, fl, err = 0, r, one = 1;
	socklen_t el = sizeof(err);
	struct pollfd pfd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return ztp__mt_fail(m, ZTP_ENETWORK, "cannot resolve the host",
				    0);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r != 0 && errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			r = poll(&pfd, 1, m->connect_ms) == 1 &&
				    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
					       &el) == 0 &&
				    err == 0
				? 0
				: -1;
		}
		if (r == 0) {
			/* Requests and answers are small and written in
			 * pieces (head, body, TLS records): without this,
			 * Nagle's algorithm holds each next piece until the
			 * peer's delayed ACK, ~40 ms per exchange. */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
			fcntl(fd, F_SETFL, fl);
			break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ztp__mt_fail(m, ZTP_ENETWORK, "cannot connect", 0);
	c->net.fd = fd;
	return ZTP_OK;
}

/* The longest answer head a proxy may give to CONNECT. */
#define PROXY_HEAD_MAX 2048

/* Ask the proxy (already connected on c->net) for a tunnel to host:port
 * (HTTP/1.1 CONNECT, RFC 9110 §9.3.6) with the port's own socket I/O
 * (net_send, the read timeout of TLS) and read its answer head, byte by
 * byte so that nothing of the TLS stream is taken: a 2xx opens the tunnel
 * and TLS runs through it end to end; anything else is ZTP_ENETWORK. */
static int proxy_tunnel(ztp__mt *m, mt_conn *c, const char *host, uint16_t port)
{
	char req[2 * ZTP__LITE_HOST_MAX + 96], head[PROXY_HEAD_MAX];
	const char *lb = strchr(host, ':') != NULL ? "[" : "",
		   *rb = *lb != '\0' ? "]" : "";
	size_t n = 0, off = 0;
	int r, len, st;

	len = snprintf(req, sizeof(req),
		       "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n",
		       lb, host, rb, (unsigned)port, lb, host, rb,
		       (unsigned)port);
	if (len < 0 || (size_t)len >= sizeof(req))
		return ztp__mt_fail(m, ZTP_EINTERNAL, "proxy: request", 0);
	while (off < (size_t)len) {
		r = net_send(&c->net, (const unsigned char *)req + off,
			     (size_t)len - off);
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r <= 0)
			return ztp__mt_fail(m, ZTP_ENETWORK,
					    "proxy: sending CONNECT failed", 0);
		off += (size_t)r;
	}
	while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
		if (n == PROXY_HEAD_MAX)
			return ztp__mt_fail(m, ZTP_ENETWORK,
					    "proxy: answer head over 2 KiB", 0);
		r = mbedtls_net_recv_timeout(&c->net, (unsigned char *)head + n,
					     1, (uint32_t)m->io_ms);
		if (r == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (r == MBEDTLS_ERR_SSL_TIMEOUT)
			return ztp__mt_fail(m, ZTP_ENETWORK,
					    "proxy: no answer to CONNECT", 0);
		if (r <= 0)
			return ztp__mt_fail(m, ZTP_ENETWORK,
					    "proxy: closed the connection "
					    "before answering CONNECT",
					    0);
		n++;
	}
	if (ztp__proxy_status(head, n, &st) < 0)
		return ztp__mt_fail(m, ZTP_ENETWORK,
				    "proxy: not an HTTP answer to CONNECT", 0);
	if (st < 200 || st > 299) {
		snprintf(m->h.err, sizeof(m->h.err),
			 "proxy: CONNECT refused with HTTP %d", st);
		return ZTP_ENETWORK;
	}
	return ZTP_OK;
}

/* Connect to host:port, directly or through the configured proxy; the
 * detail names the proxy when there is one. */
static int transport_connect(ztp__mt *m, mt_conn *c, const char *host,
			     uint16_t port)
{
	char detail[sizeof(m->h.err)];
	int rc;

	if (m->proxy.port == 0)
		return tcp_connect(m, c, host, port);
	rc = tcp_connect(m, c, m->proxy.host, m->proxy.port);
	if (rc == ZTP_OK)
		rc = proxy_tunnel(m, c, host, port);
	if (rc < 0) {
		memcpy(detail, m->h.err, sizeof(detail));
		/* Cut to the buffer if need be. */
		if (snprintf(m->h.err, sizeof(m->h.err),
			     "%s (through proxy %s:%u)", detail, m->proxy.host,
			     (unsigned)m->proxy.port) < 0)
			m->h.err[0] = '\0';
	}
	return rc;
}

static void conn_free(mt_conn *c)
{
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->own);
	mbedtls_x509_crt_free(&c->anchors);
	mbedtls_pk_free(&c->own_key);
	mbedtls_net_free(&c->net);
	free(c);
}

static int tls_connect(void *ctx, void **conn, ztp_port_tls *tls)
{
	ztp__mt *m = ctx;
	mt_conn *c;
	mbedtls_pk_context *key = &m->factory_key;
	mbedtls_x509_crt *own = &m->factory_chain;
	const mbedtls_x509_crt *peer;
	uint32_t flags;
	int r, rc = ZTP_OK;

	*conn = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ztp__mt_fail(m, ZTP_ENOMEM, "out of memory", 0);
	c->m = m;
	c->tls = tls;
	mbedtls_net_init(&c->net);
	mbedtls_ssl_init(&c->ssl);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->own);
	mbedtls_x509_crt_init(&c->anchors);
	mbedtls_pk_init(&c->own_key);
	if (inet_pton(AF_INET, tls->host, c->ip) == 1) {
		c->ip_host = true;
		c->ip_len = 4;
	} else if (inet_pton(AF_INET6, tls->host, c->ip) == 1) {
		c->ip_host = true;
		c->ip_len = 16;
	}
	if (tls->identity->key != NULL) {
		r = mbedtls_pk_parse_key(&c->own_key, tls->identity->key,
					 tls->identity->key_len, NULL, 0);
		if (r != 0) {
			rc = ztp__mt_fail(m, ZTP_EPARSE, "client key", r);
			goto out;
		}
		rc = ztp__mt_parse_certs(m, &c->own, tls->identity->cert_pem,
					 tls->identity->cert_len);
		if (rc < 0)
			goto out;
		key = &c->own_key;
		own = &c->own;
	}
	/* A trust bundle of the core (a rollover) replaces ca_file for this
	 * connection; never both. */
	if (tls->anchors != NULL) {
		rc = ztp__mt_parse_certs(m, &c->anchors, tls->anchors,
					 tls->anchors_len);
		if (rc < 0)
			goto out;
	}
	r = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT);
	if (r == 0) {
		mbedtls_ssl_conf_min_version(&c->conf,
					     MBEDTLS_SSL_MAJOR_VERSION_3,
					     MBEDTLS_SSL_MINOR_VERSION_3);
		mbedtls_ssl_conf_authmode(&c->conf,
					  MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(
		    &c->conf, tls->anchors != NULL ? &c->anchors : &m->ca,
		    NULL);
		mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random,
				     &m->drbg);
		mbedtls_ssl_conf_verify(&c->conf, verify_cb, c);
		mbedtls_ssl_conf_read_timeout(&c->conf, (uint32_t)m->io_ms);
		r = mbedtls_ssl_conf_own_cert(&c->conf, own, key);
	}
	if (r == 0)
		r = mbedtls_ssl_setup(&c->ssl, &c->conf);
	/* An IP address is matched in verify_cb; a name by mbedTLS. */
	if (r == 0)
		r = mbedtls_ssl_set_hostname(&c->ssl,
					     c->ip_host ? NULL : tls->host);
	if (r != 0) {
		rc = ztp__mt_fail(m, ZTP_ECRYPTO, "TLS setup", r);
		goto out;
	}
	rc = transport_connect(m, c, tls->host, tls->port);
	if (rc < 0)
		goto out;
	mbedtls_ssl_set_bio(&c->ssl, &c->net, net_send, NULL,
			    mbedtls_net_recv_timeout);
	do {
		r = mbedtls_ssl_handshake(&c->ssl);
	} while (r == MBEDTLS_ERR_SSL_WANT_READ ||
		 r == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (r != 0) {
		char info[200] = "";

		flags = mbedtls_ssl_get_verify_result(&c->ssl);
		if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != 0) {
			mbedtls_x509_crt_verify_info(info, sizeof(info), "",
						     flags);
			for (char *s = info; *s != '\0'; s++)
				if (*s == '\n')
					*s = ' ';
			snprintf(m->h.err, sizeof(m->h.err),
				 "the server's certificate is refused: %s%s",
				 info,
				 m->pin_set && !c->pin_ok
				     ? "(its key is not the pinned one)"
				     : "");
			rc = flags & MBEDTLS_X509_BADCERT_EXPIRED
				 ? ZTP_EEXPIRED
				 : ZTP_EUNTRUSTED;
		} else {
			rc = ztp__mt_fail(m, ZTP_ENETWORK, "TLS handshake", r);
		}
		goto out;
	}
	/* The verified leaf (NULL only in an mbedTLS built without
	 * MBEDTLS_SSL_KEEP_PEER_CERTIFICATE: then unknown, 0). */
	peer = mbedtls_ssl_get_peer_cert(&c->ssl);
	if (peer != NULL)
		tls->peer_not_after = x509_time(&peer->valid_to);
	*conn = c;
	c = NULL;
out:
	if (c != NULL)
		conn_free(c);
	return rc;
}

static int tls_send(void *ctx, void *conn, const uint8_t *data, size_t len)
{
	mt_conn *c = conn;
	size_t off = 0;
	int r;

	while (off < len) {
		r = mbedtls_ssl_write(&c->ssl, data + off, len - off);
		if (r == MBEDTLS_ERR_SSL_WANT_READ ||
		    r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r <= 0)
			return ztp__mt_fail(ctx, ZTP_ENETWORK, "TLS send", r);
		off += (size_t)r;
	}
	return ZTP_OK;
}

static int tls_recv(void *ctx, void *conn, uint8_t *buf, size_t cap,
		    size_t *got)
{
	mt_conn *c = conn;
	int r;

	*got = 0;
	do {
		r = mbedtls_ssl_read(&c->ssl, buf, cap);
	} while (r == MBEDTLS_ERR_SSL_WANT_READ ||
		 r == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
	    r == MBEDTLS_ERR_NET_CONN_RESET)
		return ZTP_OK;
	if (r < 0)
		return ztp__mt_fail(ctx, ZTP_ENETWORK,
				    r == MBEDTLS_ERR_SSL_TIMEOUT
					? "TLS receive: timed out"
					: "TLS receive",
				    r == MBEDTLS_ERR_SSL_TIMEOUT ? 0 : r);
	*got = (size_t)r;
	return ZTP_OK;
}

static void tls_close(void *ctx, void *conn)
{
	mt_conn *c = conn;

	(void)ctx;
	(void)mbedtls_ssl_close_notify(&c->ssl);
	conn_free(c);
}

void ztp__mt_port_init(ztp__mt *m)
{
	ztp_port *p = &m->h.port;

	ztp__lh_posix_init(&m->h);
	p->version = ZTP_PORT_VERSION;
	p->ctx = m;
	p->connect = tls_connect;
	p->send = tls_send;
	p->recv = tls_recv;
	p->close = tls_close;
	p->key_generate = key_generate;
	p->csr = csr;
	p->sign = sign;
	p->sha256 = sha256;
	p->random = random_bytes;
	p->cert_info = cert_info;
	p->factory_cert = factory_cert;
}

/* ------------------------------------------------------------------ device */

static void release(const ztp_port *port)
{
	ztp__mt *m = port->ctx;

	mbedtls_x509_crt_free(&m->ca);
	mbedtls_x509_crt_free(&m->factory_chain);
	mbedtls_pk_free(&m->factory_key);
	mbedtls_ctr_drbg_free(&m->drbg);
	free(m->factory_pem);
	ztp__lh_close(&m->h);
	mbedtls_platform_zeroize(m, sizeof(*m));
	free(m);
}

/* The port of a parsed configuration. */
static int make_port(ztp__lh **out, const ztp__lh_cfg *c)
{
	static const unsigned char pers[] = "libztp-device-mbedtls";
	ztp__mt *m;
	char *pem = NULL;
	size_t len = 0;
	int r, rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return ZTP_ENOMEM;
	mbedtls_ctr_drbg_init(&m->drbg);
	mbedtls_x509_crt_init(&m->ca);
	mbedtls_x509_crt_init(&m->factory_chain);
	mbedtls_pk_init(&m->factory_key);
	ztp__mt_port_init(m);
	m->connect_ms = (int)c->connect_ms;
	m->io_ms = (int)c->timeout_ms;
	m->h.no_clock = strcmp(c->clock, "untrusted") == 0;
	m->pin_set = c->pin_set;
	m->proxy = c->proxy;
	m->p384 = c->key_type == ZTP__LH_EC_P384;
	memcpy(m->pin, c->pin, sizeof(m->pin));
	*out = &m->h;

	r = mbedtls_ctr_drbg_seed(&m->drbg, ztp__mt_entropy, m, pers,
				  sizeof(pers) - 1);
	if (r != 0)
		return ztp__mt_fail(m, ZTP_ECRYPTO, "random generator", r);
	rc = ztp__lh_read_file(&m->h, c->ca_file, ZTP__LH_FILE_MAX, &pem, &len);
	if (rc == ZTP_OK) {
		rc = ztp__mt_parse_certs(m, &m->ca, pem, len);
		if (rc < 0)
			snprintf(m->h.err, sizeof(m->h.err),
				 "ca_file: not a PEM certificate bundle");
	}
	free(pem);
	pem = NULL;
	if (rc < 0)
		return rc;
	rc = ztp__lh_read_file(&m->h, c->factory_key, ZTP__LH_FILE_MAX, &pem,
			       &len);
	if (rc == ZTP_OK) {
		r = mbedtls_pk_parse_key(&m->factory_key,
					 (const unsigned char *)pem, len + 1,
					 NULL, 0);
		if (r != 0)
			rc = ztp__mt_fail(m, ZTP_EPARSE, "factory_key", r);
	}
	if (pem != NULL)
		mbedtls_platform_zeroize(pem, len);
	free(pem);
	if (rc < 0)
		return rc;
	rc = ztp__lh_read_file(&m->h, c->factory_cert, ZTP__LH_FILE_MAX,
			       &m->factory_pem, &m->factory_pem_len);
	if (rc == ZTP_OK)
		rc = ztp__mt_parse_certs(m, &m->factory_chain, m->factory_pem,
					 m->factory_pem_len);
	if (rc < 0)
		return rc;
	if (mbedtls_pk_check_pair(&m->factory_chain.pk, &m->factory_key) != 0)
		return ztp__mt_fail(m, ZTP_EMISMATCH,
				    "factory_key does not belong to "
				    "factory_cert",
				    0);
	return ztp__lh_state_open(&m->h, c->state_dir);
}

int ztp_lite_mbedtls_new(ztp_lite **out, const char *config_path,
			 ztp_event_fn events, void *events_ctx, char *err,
			 size_t err_cap)
{
	return ztp__lh_new(out, config_path, "mbedtls", "the mbedTLS port", 0,
			   make_port, release, events, events_ctx, err,
			   err_cap);
}
