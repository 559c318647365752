/*
 * libztp — the OpenSSL + libcurl port of the portable device core
 * (<ztp/port_openssl.h>): TLS through libcurl (a connection of its own,
 * CONNECT_ONLY, so libcurl does the proxy tunnel, the host check and the
 * pin) with the client key in an EVP_PKEY, so a factory key may sign in
 * a PKCS#11 token or a TPM; keys, CSRs and signatures with OpenSSL and
 * libztp's own helpers. Heap, storage, clock and sleep are the host
 * parts the mbedTLS port uses too (devport/posix.c).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "core/keysrc.h"
#include "device/internal.h"
#include "devport/host.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <ztp/port_openssl.h>

/* The port's state: one per device. */
typedef struct ztp__op {
	ztp__lh h; /* first: the port's ctx is also a ztp__lh */
	EVP_PKEY *factory_key;
	X509 *factory_leaf;
	STACK_OF(X509) * factory_chain; /* the intermediates after it */
	char *factory_pem;		/* factory_cert as read */
	size_t factory_pem_len;
	char *ca_pem; /* ca_file as read */
	size_t ca_len;
	char *ca_path; /* ca_file */
	char pin[64];  /* "sha256//<base64>", "" when none */
	char proxy[ZTP__PROXY_URL_MAX + 16]; /* "http://host:port", "" */
	long connect_ms, io_ms;
	ztp__lh_keytype key_type;
	/* operational_key: generated keys in a token (keys.token NULL:
	 * PEM blobs in the state directory). */
	ztp__dev_keys keys;
	char *key_token, *key_label;
	/* The key blob read last, parsed (NULL: none), and the SHA-256 of
	 * that blob: an operation reads the same blob for its connection,
	 * CSR, signature and certificate check. */
	EVP_PKEY *last_key;
	uint8_t last_blob[32];
} ztp__op;

/* A key blob that refers to a key in the token: this prefix, then the
 * reference ztp__dev_token_generate() made ("object=LABEL-KIND-SLOT;
 * id=%XX..."), then a NUL. */
#define TOKEN_BLOB "token:"
#define TOKEN_BLOB_LEN (sizeof(TOKEN_BLOB) - 1)

/* One TLS connection, and what its TLS context callback needs. */
typedef struct op_conn {
	ztp__op *o;
	CURL *curl;
	curl_socket_t fd;
	EVP_PKEY *key; /* the client identity */
	X509 *cert;
	STACK_OF(X509) * chain;
	X509_STORE *store; /* the anchors */
	const ztp_port_tls *tls;
	int64_t peer_not_after; /* of the verified server certificate */
	char errbuf[CURL_ERROR_SIZE];
} op_conn;

/* The detail of libztp's last failure (this thread's) into the port's,
 * prefixed with what; returns rc. */
static int op_fail(ztp__op *o, int rc, const char *what)
{
	ztp__err_saved s;

	ztp__err_save(&s);
	/* A detail cut short is still a detail. */
	if (snprintf(o->h.err, sizeof(o->h.err), "%s%s%s", what,
		     s.msg[0] != '\0' ? ": " : "", s.msg) < 0)
		o->h.err[0] = '\0';
	return rc;
}

/* ------------------------------------------------------------------ keys */

/* Whether ref is a reference this port makes to a generated key:
 * "object=" LABEL "-" KIND "-" SLOT ";id=" and 16 %XX bytes, KIND
 * bootstrap or operational, SLOT a or b. A blob cannot name the factory
 * key or another object of the token. */
static bool token_ref_ok(const ztp__op *o, const char *ref)
{
	static const char *const kinds[] = {"bootstrap-", "operational-"};
	size_t ll = strlen(o->key_label), i, n = 0;
	const char *p;

	if (strncmp(ref, "object=", 7) != 0 ||
	    strncmp(ref + 7, o->key_label, ll) != 0 || ref[7 + ll] != '-')
		return false;
	p = ref + 8 + ll;
	for (i = 0; i < 2 && n == 0; i++)
		if (strncmp(p, kinds[i], strlen(kinds[i])) == 0)
			n = strlen(kinds[i]);
	if (n == 0 || (p[n] != 'a' && p[n] != 'b') ||
	    strncmp(p + n + 1, ";id=", 4) != 0)
		return false;
	p += n + 5;
	for (i = 0; i < 16; i++, p += 3)
		if (p[0] != '%' || ztp__hex_value((unsigned char)p[1]) < 0 ||
		    ztp__hex_value((unsigned char)p[2]) < 0)
			return false;
	return *p == '\0';
}

/* A key blob: the PKCS#8 PEM text and its NUL (the form the mbedTLS port
 * writes, so a state directory moves between the ports), a reference to
 * a key in the token (TOKEN_BLOB), or, with key NULL, the factory key.
 * *out is a reference to free. */
static int key_of(ztp__op *o, const uint8_t *key, size_t len, EVP_PKEY **out)
{
	int rc;

	*out = NULL;
	if (key == NULL) {
		if (EVP_PKEY_up_ref(o->factory_key) != 1)
			return op_fail(o, ZTP_ENOMEM, "out of memory");
		*out = o->factory_key;
		return ZTP_OK;
	}
	if (len < 2 || key[len - 1] != '\0' ||
	    memchr(key, '\0', len - 1) != NULL)
		return ztp__lh_fail(&o->h, ZTP_EPARSE, "key: not a PEM blob");
	if (len > TOKEN_BLOB_LEN &&
	    memcmp(key, TOKEN_BLOB, TOKEN_BLOB_LEN) == 0) {
		const char *ref = (const char *)key + TOKEN_BLOB_LEN;

		if (o->keys.token == NULL)
			return ztp__lh_fail(&o->h, ZTP_ESTATE,
					    "key: in a token, but no "
					    "operational_key is configured");
		if (!token_ref_ok(o, ref))
			return ztp__lh_fail(&o->h, ZTP_EPARSE,
					    "key: not a reference to a key "
					    "this device made");
		rc = ztp__dev_token_load(out, &o->keys, ref);
		return rc < 0 ? op_fail(o, rc, "key in the token") : ZTP_OK;
	}
	rc = ztp__pem_privkey(out, (const char *)key, len - 1, NULL);
	return rc < 0 ? op_fail(o, rc, "key") : ZTP_OK;
}

static void key_forget(ztp__op *o)
{
	EVP_PKEY_free(o->last_key);
	o->last_key = NULL;
}

/* key_of(), the blob read last kept parsed. A blob is known by its
 * SHA-256, so what the core hands in is always what is used; the kept key
 * is dropped whenever the port deletes or makes token objects. */
static int key_get(ztp__op *o, const uint8_t *key, size_t len, EVP_PKEY **out)
{
	uint8_t h[32];
	int rc;

	if (key == NULL)
		return key_of(o, key, len, out);
	rc = ztp__sha256(h, key, len);
	if (rc < 0)
		return op_fail(o, rc, "key");
	if (o->last_key != NULL && CRYPTO_memcmp(h, o->last_blob, 32) == 0) {
		if (EVP_PKEY_up_ref(o->last_key) != 1)
			return op_fail(o, ZTP_ENOMEM, "out of memory");
		*out = o->last_key;
		return ZTP_OK;
	}
	rc = key_of(o, key, len, out);
	if (rc == ZTP_OK && EVP_PKEY_up_ref(*out) == 1) {
		key_forget(o);
		o->last_key = *out;
		memcpy(o->last_blob, h, 32);
	}
	return rc;
}

/* n bytes of src into the caller's out (cap bytes), *len = n; what is
 * the detail when they do not fit. */
static int give(ztp__op *o, const uint8_t *src, size_t n, uint8_t *out,
		size_t cap, size_t *len, const char *what)
{
	if (n > cap)
		return ztp__lh_fail(&o->h, ZTP_ETOOBIG, what);
	memcpy(out, src, n);
	*len = n;
	return ZTP_OK;
}

static int key_generate(void *ctx, uint8_t *key, size_t cap, size_t *len)
{
	ztp__op *o = ctx;
	EVP_PKEY *k = NULL;
	char *pem = NULL;
	size_t n;
	int rc;

	rc = ztp__key_generate(&k, ztp__lh_key_types[o->key_type]);
	if (rc == ZTP_OK)
		rc = ztp__privkey_to_pem(&pem, k, NULL);
	EVP_PKEY_free(k);
	if (rc < 0)
		return op_fail(o, rc, "key generation");
	n = strlen(pem) + 1;
	rc = give(o, (const uint8_t *)pem, n, key, cap, len,
		  "key generation: key too large");
	ztp__free_secret(pem, n - 1);
	return rc;
}

/* The token object of the key blob name ("operational.b.key"):
 * LABEL-operational-b, the labels ztp_device(3) gives its keys. */
static int object_of(const ztp__op *o, const char *name, char *out, size_t cap)
{
	const char *dot = strchr(name, '.');
	size_t kl = dot != NULL ? (size_t)(dot - name) : 0;

	if (kl == 0 || dot[1] == '\0' || strcmp(dot + 2, ".key") != 0 ||
	    (size_t)snprintf(out, cap, "%s-%.*s-%c", o->key_label, (int)kl,
			     name, dot[1]) >= cap ||
	    ztp__id_len(out) != strlen(out))
		return ZTP_EINVAL;
	return ZTP_OK;
}

static int key_generate_named(void *ctx, const char *name, uint8_t *key,
			      size_t cap, size_t *len)
{
	ztp__op *o = ctx;
	char object[ZTP_ID_MAX + 1];
	EVP_PKEY *k = NULL;
	char *ref = NULL;
	size_t n;
	int rc;

	if (o->keys.token == NULL)
		return key_generate(ctx, key, cap, len);
	if (object_of(o, name, object, sizeof(object)) < 0)
		return ztp__lh_fail(&o->h, ZTP_EINVAL,
				    "key generation: no token label for the "
				    "blob");
	/* What an interrupted generation for this slot left. */
	key_forget(o);
	rc = ztp__dev_token_delete(&o->keys, object);
	if (rc == ZTP_OK)
		rc = ztp__dev_token_generate(&k, &ref, &o->keys, object,
					     ztp__lh_key_types[o->key_type]);
	EVP_PKEY_free(k);
	if (rc < 0)
		return op_fail(o, rc, "key generation in the token");
	n = TOKEN_BLOB_LEN + strlen(ref) + 1;
	if (n > cap) {
		free(ref);
		return ztp__lh_fail(&o->h, ZTP_ETOOBIG,
				    "key generation: reference too long");
	}
	memcpy(key, TOKEN_BLOB, TOKEN_BLOB_LEN);
	memcpy(key + TOKEN_BLOB_LEN, ref, n - TOKEN_BLOB_LEN);
	free(ref);
	*len = n;
	return ZTP_OK;
}

static void key_retire(void *ctx, const char *name, const uint8_t *key,
		       size_t len)
{
	ztp__op *o = ctx;
	char object[ZTP_ID_MAX + 1];

	(void)key;
	(void)len;
	key_forget(o);
	/* The slot's label names every object made for it. */
	if (o->keys.token != NULL &&
	    object_of(o, name, object, sizeof(object)) == ZTP_OK &&
	    ztp__dev_token_delete(&o->keys, object) < 0)
		ztp_error_clear(); /* garbage, never a wrong state */
}

static int csr(void *ctx, const uint8_t *key, size_t key_len,
	       const char *device_id, uint8_t *der, size_t cap, size_t *len)
{
	ztp__op *o = ctx;
	EVP_PKEY *k = NULL;
	uint8_t *d = NULL;
	char *pem = NULL;
	size_t n = 0;
	int rc;

	rc = key_get(o, key, key_len, &k);
	if (rc < 0)
		return rc;
	rc = ztp__dev_make_csr(&pem, &d, &n, k, device_id);
	EVP_PKEY_free(k);
	free(pem);
	if (rc < 0)
		return op_fail(o, rc, "CSR");
	rc = give(o, d, n, der, cap, len, "CSR: too large");
	free(d);
	return rc;
}

static int sign(void *ctx, const uint8_t *key, size_t key_len,
		const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
		size_t *sig_len)
{
	ztp__op *o = ctx;
	EVP_PKEY *k = NULL;
	ztp__sigalg alg;
	uint8_t *s = NULL;
	size_t n = 0;
	int rc;

	rc = key_get(o, key, key_len, &k);
	if (rc < 0)
		return rc;
	rc = ztp__sigalg_for_key(&alg, k);
	if (rc == ZTP_OK)
		rc = ztp__sig_sign(&s, &n, k, alg, msg, len);
	EVP_PKEY_free(k);
	if (rc < 0)
		return op_fail(o, rc, "signature");
	rc = give(o, s, n, sig, cap, sig_len, "signature: too large");
	free(s);
	return rc;
}

static int sha256(void *ctx, const uint8_t *data, size_t len, uint8_t out[32])
{
	int rc = ztp__sha256(out, data, len);

	return rc < 0 ? op_fail(ctx, rc, "SHA-256") : ZTP_OK;
}

static int random_bytes(void *ctx, uint8_t *out, size_t len)
{
	if (len > 0 && RAND_bytes(out, (int)len) != 1)
		return ztp__lh_fail(ctx, ZTP_ECRYPTO,
				    "random generator: OpenSSL failed");
	return ZTP_OK;
}

/* ------------------------------------------------------------------ certs */

/* Certificates of pem (len bytes, not NUL-terminated): leaf first. */
static int certs_of(ztp__op *o, const char *pem, size_t len,
		    STACK_OF(X509) * *out)
{
	int rc = ztp__pem_certs(out, pem, len, ZTP_CHAIN_MAX);

	return rc < 0 ? op_fail(o, rc == ZTP_ETOOBIG ? rc : ZTP_EPARSE,
				"certificate")
		      : ZTP_OK;
}

static int cert_info(void *ctx, const char *pem, size_t len, const uint8_t *key,
		     size_t key_len, ztp_port_cert_info *info)
{
	ztp__op *o = ctx;
	STACK_OF(X509) *sk = NULL;
	EVP_PKEY *k = NULL;
	X509 *leaf;
	bool same = false;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = certs_of(o, pem, len, &sk);
	if (rc < 0)
		return rc;
	leaf = sk_X509_value(sk, 0);
	rc = ztp__asn1_time(&info->not_before, X509_get0_notBefore(leaf));
	if (rc == ZTP_OK)
		rc = ztp__asn1_time(&info->not_after, X509_get0_notAfter(leaf));
	if (rc < 0) {
		rc = op_fail(o, ZTP_EPARSE, "certificate validity");
		goto out;
	}
	rc = ztp__cert_identity(info->device_id, info->tenant, leaf, 0);
	if (rc < 0) {
		rc = op_fail(o, ZTP_EPROFILE, "certificate");
		goto out;
	}
	rc = key_get(o, key, key_len, &k);
	if (rc == ZTP_OK &&
	    ztp__pubkey_same(&same, X509_get0_pubkey(leaf), k) < 0)
		rc = op_fail(o, ZTP_ECRYPTO, "certificate key");
	info->key_matches = same;
out:
	EVP_PKEY_free(k);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int factory_cert(void *ctx, char *pem, size_t cap, size_t *len)
{
	ztp__op *o = ctx;

	return give(o, (const uint8_t *)o->factory_pem, o->factory_pem_len,
		    (uint8_t *)pem, cap, len, "factory_cert: too large");
}

/* ------------------------------------------------------------------ TLS */

/* Every certificate of a PEM bundle into a new store; at least one. */
static int store_of(ztp__op *o, const char *pem, size_t len, X509_STORE **out)
{
	X509_STORE *st = X509_STORE_new();
	BIO *bio = NULL;
	X509 *x;
	int n = 0, rc = ZTP_OK;

	*out = NULL;
	if (st == NULL || len > INT_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		X509_STORE_free(st);
		return ztp__lh_fail(&o->h, ZTP_ENOMEM, "out of memory");
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(st, x) != 1)
			rc = ZTP_ENOMEM;
		X509_free(x);
		n++;
	}
	/* The end of the bundle reads as "no start line"; anything else is
	 * a broken certificate. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    n == 0)
		rc = ZTP_EPARSE;
	ERR_clear_error();
	BIO_free(bio);
	if (rc < 0) {
		X509_STORE_free(st);
		return ztp__lh_fail(
		    &o->h, rc,
		    rc == ZTP_EPARSE ? "trust anchors: not a PEM certificate "
				       "bundle"
				     : "out of memory");
	}
	*out = st;
	return ZTP_OK;
}

/* OpenSSL's verification of the server's chain, and the notAfter of the
 * leaf it verified (which libcurl does not give out on a connect-only
 * connection). */
static int verify_chain(X509_STORE_CTX *x, void *arg)
{
	op_conn *c = arg;
	int ok = X509_verify_cert(x);
	X509 *leaf = X509_STORE_CTX_get0_cert(x);

	c->peer_not_after = 0;
	if (ok > 0 && leaf != NULL &&
	    ztp__asn1_time(&c->peer_not_after, X509_get0_notAfter(leaf)) < 0)
		c->peer_not_after = 0;
	return ok;
}

/* The TLS context of a connection: TLS 1.2 or later, only the anchors,
 * the floor as verification time when the clock is unknown (device/
 * http.c), the client identity in its EVP_PKEY. */
static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *ptr)
{
	op_conn *c = ptr;
	SSL_CTX *sc = sslctx;

	(void)curl;
	if (X509_STORE_up_ref(c->store) != 1)
		return CURLE_OUT_OF_MEMORY;
	SSL_CTX_set_cert_store(sc, c->store);
	SSL_CTX_set_cert_verify_callback(sc, verify_chain, c);
	return ztp__dev_tls_setup(
		   sc, c->tls->clock_known ? -1 : c->tls->verify_time, c->key,
		   c->cert, c->chain) < 0
		   ? CURLE_SSL_CERTPROBLEM
		   : CURLE_OK;
}

static void conn_free(op_conn *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	X509_STORE_free(c->store);
	free(c);
}

/* The client identity of a connection. */
static int identity_of(ztp__op *o, op_conn *c, const ztp_port_identity *id)
{
	STACK_OF(X509) *sk = NULL;
	int rc;

	if (id == NULL || id->key == NULL) {
		if (EVP_PKEY_up_ref(o->factory_key) != 1 ||
		    X509_up_ref(o->factory_leaf) != 1)
			return ztp__lh_fail(&o->h, ZTP_ENOMEM, "out of memory");
		c->key = o->factory_key;
		c->cert = o->factory_leaf;
		c->chain = X509_chain_up_ref(o->factory_chain);
		return c->chain != NULL
			   ? ZTP_OK
			   : ztp__lh_fail(&o->h, ZTP_ENOMEM, "out of memory");
	}
	rc = key_get(o, id->key, id->key_len, &c->key);
	if (rc == ZTP_OK)
		rc = certs_of(o, id->cert_pem, id->cert_len, &sk);
	if (rc < 0)
		return rc;
	c->cert = sk_X509_shift(sk);
	c->chain = sk;
	return ZTP_OK;
}

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (cc == CURLE_OK)                                            \
			cc = curl_easy_setopt(c->curl, opt, val);              \
	} while (0)

/* What a failed connection is reported as. */
static int connect_failure(ztp__op *o, op_conn *c, CURLcode cc)
{
	long vr = X509_V_OK;
	int rc;

	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		(void)curl_easy_getinfo(c->curl, CURLINFO_SSL_VERIFYRESULT,
					&vr);
		snprintf(o->h.err, sizeof(o->h.err),
			 "the server's certificate is refused: %s",
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr)
					 : "its name is not the host's");
		return vr == X509_V_ERR_CERT_HAS_EXPIRED ? ZTP_EEXPIRED
							 : ZTP_EUNTRUSTED;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		snprintf(o->h.err, sizeof(o->h.err),
			 "the server's certificate is refused: its key is not "
			 "the pinned one");
		return ZTP_EUNTRUSTED;
	case CURLE_SSL_CERTPROBLEM:
		rc = ZTP_ECRYPTO;
		break;
	case CURLE_OUT_OF_MEMORY:
		rc = ZTP_ENOMEM;
		break;
	case CURLE_UNKNOWN_OPTION:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNSUPPORTED_PROTOCOL:
		rc = ZTP_EUNSUPPORTED;
		break;
	default:
		rc = ZTP_ENETWORK;
	}
	if (snprintf(o->h.err, sizeof(o->h.err), "TLS: %s%s%s%s",
		     c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc),
		     o->proxy[0] != '\0' ? " (through proxy " : "",
		     o->proxy[0] != '\0' ? o->proxy + 7 : "",
		     o->proxy[0] != '\0' ? ")" : "") < 0)
		o->h.err[0] = '\0';
	return rc;
}

static int tls_connect(void *ctx, void **conn, ztp_port_tls *tls)
{
	ztp__op *o = ctx;
	char url[ZTP__LITE_HOST_MAX + 32];
	CURLcode cc = CURLE_OK;
	op_conn *c;
	int rc;

	*conn = NULL;
	rc = ztp__dev_curl_init();
	if (rc < 0)
		return op_fail(o, rc, "libcurl");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ztp__lh_fail(&o->h, ZTP_ENOMEM, "out of memory");
	c->o = o;
	c->tls = tls;
	c->fd = CURL_SOCKET_BAD;
	rc = identity_of(o, c, tls->identity);
	if (rc == ZTP_OK)
		rc =
		    tls->anchors != NULL
			? store_of(o, tls->anchors, tls->anchors_len, &c->store)
			: store_of(o, o->ca_pem, o->ca_len, &c->store);
	if (rc < 0)
		goto fail;
	/* An address with a colon is IPv6: bracketed in the URL. */
	snprintf(url, sizeof(url),
		 strchr(tls->host, ':') != NULL ? "https://[%s]:%u/"
						: "https://%s:%u/",
		 tls->host, (unsigned)tls->port);
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		rc = ztp__lh_fail(&o->h, ZTP_ENOMEM, "libcurl: out of memory");
		goto fail;
	}
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_CONNECT_ONLY, 1L);
	/* The core speaks HTTP/1.1 on the connection. */
	SET(CURLOPT_SSL_ENABLE_ALPN, 0L);
	/* A proxy only when configured, never from the environment. */
	SET(CURLOPT_PROXY, o->proxy);
	SET(CURLOPT_NOPROXY, "");
	if (o->proxy[0] != '\0') {
		SET(CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
		SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
	}
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	/* libcurl loads its CA file into each new TLS context before
	 * on_ssl_ctx replaces the store: ca_file (a certificate or two), not
	 * the system bundle libcurl defaults to (a hundred and more, parsed
	 * on every connection). */
	SET(CURLOPT_CAINFO, o->ca_path);
	SET(CURLOPT_CAPATH, NULL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	SET(CURLOPT_SSL_CTX_DATA, (void *)c);
	SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (o->pin[0] != '\0')
		SET(CURLOPT_PINNEDPUBLICKEY, o->pin);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, o->connect_ms);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	if (cc != CURLE_OK) {
		rc = connect_failure(o, c, cc);
		goto fail;
	}
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		rc = connect_failure(o, c, cc);
		goto fail;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &c->fd) !=
		CURLE_OK ||
	    c->fd == CURL_SOCKET_BAD) {
		rc = ztp__lh_fail(&o->h, ZTP_ENETWORK,
				  "TLS: libcurl gave no socket");
		goto fail;
	}
	tls->peer_not_after = c->peer_not_after;
	*conn = c;
	return ZTP_OK;
fail:
	conn_free(c);
	return rc;
}

/* Wait until the connection's socket is ready for events, within the
 * port's I/O timeout. */
static int wait_for(op_conn *c, short events, const char *what)
{
	struct pollfd p = {.fd = (int)c->fd, .events = events};
	int r;

	do
		r = poll(&p, 1, (int)c->o->io_ms);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		return ZTP_OK;
	snprintf(c->o->h.err, sizeof(c->o->h.err), "TLS %s: %s", what,
		 r == 0 ? "timed out" : strerror(errno));
	return ZTP_ENETWORK;
}

static int tls_send(void *ctx, void *conn, const uint8_t *data, size_t len)
{
	op_conn *c = conn;
	size_t off = 0, n;
	CURLcode cc;
	int rc;

	(void)ctx;
	while (off < len) {
		n = 0;
		cc = curl_easy_send(c->curl, data + off, len - off, &n);
		if (cc == CURLE_AGAIN) {
			rc = wait_for(c, POLLOUT, "send");
			if (rc < 0)
				return rc;
			continue;
		}
		if (cc != CURLE_OK) {
			snprintf(c->o->h.err, sizeof(c->o->h.err),
				 "TLS send: %s", curl_easy_strerror(cc));
			return ZTP_ENETWORK;
		}
		off += n;
	}
	return ZTP_OK;
}

static int tls_recv(void *ctx, void *conn, uint8_t *buf, size_t cap,
		    size_t *got)
{
	op_conn *c = conn;
	CURLcode cc;
	int rc;

	(void)ctx;
	*got = 0;
	for (;;) {
		/* Data OpenSSL holds already comes before a wait. */
		cc = curl_easy_recv(c->curl, buf, cap, got);
		if (cc == CURLE_OK)
			return ZTP_OK; /* *got 0: the peer closed */
		if (cc != CURLE_AGAIN) {
			*got = 0;
			snprintf(c->o->h.err, sizeof(c->o->h.err),
				 "TLS receive: %s", curl_easy_strerror(cc));
			return ZTP_ENETWORK;
		}
		rc = wait_for(c, POLLIN, "receive");
		if (rc < 0)
			return rc;
	}
}

static void tls_close(void *ctx, void *conn)
{
	(void)ctx;
	conn_free(conn);
}

/* ------------------------------------------------------------------
 * taking over a ztp-device state directory
 *
 * The first time the port opens a state directory that ztp_device(3)
 * kept (<kind>/current.json, <kind>/<slot>/{key.pem | key.ref, cert.pem,
 * chain.pem}, clock.json, brokers.json, trust/), and that holds none of
 * the core's manifests, the current credentials, the time floor, the
 * brokers and the committed trust bundle become the core's blobs, in the
 * same slots, checked as ztp_device(3) checks them (each certificate
 * against its manifest's fingerprint and its key). The credentials'
 * manifests are written last: until then the directory is still
 * ztp-device's, and an interrupted take-over starts again. Then the old
 * layout moves to ztp-device.migrated/. The registration is not carried
 * over (ztp_device(3) keeps it in another form): the first run registers
 * again. A pending credential of ztp-device's is dropped (its key, in a
 * token, deleted when its slot is used next). */

#define MIGRATED_DIR "ztp-device.migrated"

/* Store a blob; a failure's detail becomes libztp's, as the other steps'
 * are. */
static int put(ztp__op *o, const char *name, const void *data, size_t len)
{
	int rc = o->h.port.store(o, name, (const uint8_t *)data, len);

	return rc < 0 ? ztp__err(rc, "%s", o->h.err) : ZTP_OK;
}

/* The key blob and certificate blob of ztp-device's current credential
 * of kind, stored in the core's slot of the same letter (*slot, 0 when
 * there is none). */
static int take_cred(ztp__op *o, const char *state, ztp__dev_kind kind,
		     char *slot)
{
	const char *kn = ztp__dev_kind_name(kind);
	ztp__dev_manifest m;
	ztp__dev_cred c = {0};
	char *path = NULL, *text = NULL, *pem = NULL, name[40];
	size_t len = 0;
	ztp__buf b = {0};
	int i, rc;

	*slot = 0;
	rc = ztp__dev_manifest_read(&m, state, kind);
	if (rc < 0 || m.current == 0)
		return rc;
	rc = ztp__dev_slot_path(&path, state, kind, m.current, "key.ref");
	if (rc == ZTP_OK) {
		rc = ztp__file_read(&text, &len, path, ZTP__DEV_KEYREF_MAX);
		if (rc == ZTP_ENOTFOUND) {
			ztp_error_clear();
			rc = ZTP_OK;
		}
	}
	while (text != NULL && len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (rc == ZTP_OK && text != NULL &&
	    (o->keys.token == NULL || !token_ref_ok(o, text)))
		rc = ztp__err(ZTP_ESTATE,
			      "%s: a key in a token that the configured "
			      "operational_key does not name",
			      path);
	if (rc == ZTP_OK)
		rc = ztp__dev_cred_current(
		    &c, state, text != NULL ? &o->keys : NULL, kind);
	/* The key blob: the reference, or the key as PKCS#8 PEM. */
	if (rc == ZTP_OK && text != NULL) {
		rc = ztp__buf_append_str(&b, TOKEN_BLOB);
		if (rc == ZTP_OK)
			rc = ztp__buf_append(&b, text, len + 1);
	} else if (rc == ZTP_OK) {
		rc = ztp__privkey_to_pem(&pem, c.key, NULL);
		if (rc == ZTP_OK)
			rc = ztp__buf_append(&b, pem, strlen(pem) + 1);
	}
	snprintf(name, sizeof(name), "%s.%c.key", kn, m.current);
	if (rc == ZTP_OK)
		rc = put(o, name, b.data, b.len);
	if (pem != NULL)
		ztp__free_secret(pem, strlen(pem));
	ztp__free_secret(b.data, b.len);
	memset(&b, 0, sizeof(b));
	pem = NULL;
	/* The certificate blob: the leaf, then its chain. */
	if (rc == ZTP_OK)
		rc = ztp__cert_to_pem(&pem, c.cert);
	if (rc == ZTP_OK)
		rc = ztp__buf_append_str(&b, pem);
	for (i = 0; rc == ZTP_OK && c.chain != NULL && i < sk_X509_num(c.chain);
	     i++) {
		free(pem);
		pem = NULL;
		rc = ztp__cert_to_pem(&pem, sk_X509_value(c.chain, i));
		if (rc == ZTP_OK)
			rc = ztp__buf_append_str(&b, pem);
	}
	snprintf(name, sizeof(name), "%s.%c.cert", kn, m.current);
	if (rc == ZTP_OK)
		rc = put(o, name, b.data, b.len);
	if (rc == ZTP_OK)
		*slot = m.current;
	free(pem);
	ztp__buf_free(&b);
	if (text != NULL)
		ztp__free_secret(text, len);
	free(path);
	ztp__dev_cred_free(&c);
	return rc;
}

/* The time floor, the brokers and the committed trust bundle. */
static int take_rest(ztp__op *o, const char *state)
{
	ztp__dev_manifest m;
	char *path = NULL, *text = NULL, buf[80];
	uint8_t h[32];
	int64_t floor = 0;
	size_t len = 0;
	int rc;

	rc = ztp__dev_floor_read(&floor, state);
	if (rc == ZTP_OK && floor > ZTP__BUILD_TIME) {
		snprintf(buf, sizeof(buf), "%lld", (long long)floor);
		rc = put(o, "time-floor", buf, strlen(buf));
	}
	if (rc == ZTP_OK && asprintf(&path, "%s/brokers.json", state) < 0) {
		path = NULL;
		rc = ztp__err(ZTP_ENOMEM, "out of memory");
	}
	if (rc == ZTP_OK) {
		/* A list longer than any valid one is not taken: the next
		 * check-in stores the server's. */
		rc = ztp__file_read(&text, &len, path, ZTP__BROKERS_DOC_MAX);
		if (rc == ZTP_OK)
			rc = put(o, "brokers", text, len);
		else if (rc == ZTP_ENOTFOUND || rc == ZTP_ETOOBIG) {
			ztp_error_clear();
			rc = ZTP_OK;
		}
	}
	free(path);
	free(text);
	path = text = NULL;
	if (rc == ZTP_OK)
		rc = ztp__dev_manifest_read(&m, state, ZTP__DEV_TRUST);
	if (rc == ZTP_OK && m.current != 0) {
		rc = ztp__dev_slot_path(&path, state, ZTP__DEV_TRUST, m.current,
					"bundle.pem");
		if (rc == ZTP_OK)
			rc = ztp__file_read(&text, &len, path,
					    ZTP_LITE_TRUST_MAX);
		if (rc == ZTP_OK)
			rc = ztp__sha256(h, text, len);
		if (rc == ZTP_OK) {
			memcpy(buf, "ZTP1 c=? h=", 11);
			buf[7] = m.current;
			ztp__hex_encode(buf + 11, h, sizeof(h));
			if (strcmp(buf + 11, m.fingerprint) != 0)
				rc = ztp__err(ZTP_EMISMATCH,
					      "%s: not the committed bundle",
					      path);
		}
		if (rc == ZTP_OK) {
			char name[8] = "trust.?";

			name[6] = m.current;
			rc = put(o, name, text, len);
		}
		if (rc == ZTP_OK) {
			buf[75] = '\n';
			rc = put(o, "trust.manifest", buf, 76);
		}
	}
	free(path);
	free(text);
	return rc;
}

/* Move what ztp-device kept into MIGRATED_DIR (best effort: the core's
 * manifests already make the directory the core's). */
static void move_aside(const char *state)
{
	static const char *const names[] = {
	    "bootstrap",    "operational",	 "trust", "clock.json",
	    "brokers.json", "registration.json", NULL};
	char from[4096], to[4096];
	size_t i;

	snprintf(to, sizeof(to), "%s/" MIGRATED_DIR, state);
	if (mkdir(to, 0700) != 0 && errno != EEXIST)
		return;
	for (i = 0; names[i] != NULL; i++) {
		snprintf(from, sizeof(from), "%s/%s", state, names[i]);
		snprintf(to, sizeof(to), "%s/" MIGRATED_DIR "/%s", state,
			 names[i]);
		(void)rename(from, to);
	}
}

/* Take over ztp-device's state in dir, when it has some and the core
 * has none yet (the port's state directory is open and locked). */
static int take_over(ztp__op *o, const char *dir)
{
	static const ztp__dev_kind kinds[] = {ZTP__DEV_BOOTSTRAP,
					      ZTP__DEV_OPERATIONAL};
	char slots[2], path[4096], name[40], m[14];
	uint8_t probe[16];
	size_t len, i;
	int fd = -1, rc;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s.manifest",
			 ztp__dev_kind_name(kinds[i]));
		rc = o->h.port.load(o, name, probe, sizeof(probe), &len);
		if (rc != ZTP_ENOTFOUND)
			return rc < 0 ? rc : ZTP_OK; /* the core's already */
	}
	snprintf(path, sizeof(path), "%s/bootstrap/current.json", dir);
	if (access(path, F_OK) != 0) {
		snprintf(path, sizeof(path), "%s/operational/current.json",
			 dir);
		if (access(path, F_OK) != 0)
			return ZTP_OK; /* nothing of ztp-device's */
	}
	/* ztp-device's own lock too: no ztp-device works on it now. */
	rc = ztp__dev_state_open(dir, &fd);
	for (i = 0; rc == ZTP_OK && i < 2; i++)
		rc = take_cred(o, dir, kinds[i], &slots[i]);
	if (rc == ZTP_OK)
		rc = take_rest(o, dir);
	for (i = 0; rc == ZTP_OK && i < 2; i++) {
		snprintf(name, sizeof(name), "%s.manifest",
			 ztp__dev_kind_name(kinds[i]));
		snprintf(m, sizeof(m), "ZTP1 c=%c p=-\n",
			 slots[i] != 0 ? slots[i] : '-');
		rc = put(o, name, m, 13);
	}
	if (rc == ZTP_OK)
		move_aside(dir);
	else
		op_fail(o, rc, "taking over the ztp-device state");
	if (fd >= 0)
		ztp__dev_state_close(fd);
	return rc;
}

/* ------------------------------------------------------------------ device */

static void release(const ztp_port *port)
{
	ztp__op *o = port->ctx;

	key_forget(o);
	EVP_PKEY_free(o->factory_key);
	X509_free(o->factory_leaf);
	sk_X509_pop_free(o->factory_chain, X509_free);
	free(o->factory_pem);
	free(o->ca_pem);
	free(o->ca_path);
	free(o->key_token);
	free(o->key_label);
	ztp__lh_close(&o->h);
	OPENSSL_cleanse(o, sizeof(*o));
	free(o);
}

/* The server key pin as libcurl takes it. */
static int pin_of(ztp__op *o, const uint8_t pin[32])
{
	char *b64 = NULL;
	int rc = ztp__b64_encode(&b64, pin, 32);

	if (rc < 0)
		return op_fail(o, rc, "server_key_sha256");
	snprintf(o->pin, sizeof(o->pin), "sha256//%s", b64);
	free(b64);
	return ZTP_OK;
}

static int make_port(ztp__lh **out, const ztp__lh_cfg *c)
{
	STACK_OF(X509) *sk = NULL;
	X509_STORE *st = NULL;
	bool same = false;
	ztp__op *o;
	ztp_port *p;
	int rc;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return ZTP_ENOMEM;
	*out = &o->h;
	p = &o->h.port;
	ztp__lh_posix_init(&o->h);
	p->version = ZTP_PORT_VERSION;
	p->ctx = o;
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
	p->key_generate_named = key_generate_named;
	p->key_retire = key_retire;
	o->h.no_clock = strcmp(c->clock, "untrusted") == 0;
	o->connect_ms = (long)c->connect_ms;
	o->io_ms = (long)c->timeout_ms;
	o->key_type = c->key_type;
	if (c->proxy.port != 0)
		snprintf(o->proxy, sizeof(o->proxy), "http://%s:%u",
			 c->proxy.host, (unsigned)c->proxy.port);
	if (c->pin_set) {
		rc = pin_of(o, c->pin);
		if (rc < 0)
			return rc;
	}
	if (c->key_token[0] != '\0') {
		const char *label =
		    c->key_label[0] != '\0' ? c->key_label : NULL;

		rc = ztp__dev_keys_check(c->key_token, &label);
		if (rc < 0)
			return op_fail(o, rc, "operational_key");
		if (o->key_type == ZTP__LH_ED25519)
			return ztp__lh_fail(&o->h, ZTP_EINVAL,
					    "operational_key: a token makes "
					    "ec-p256 or ec-p384 keys");
		o->key_token = strdup(c->key_token);
		o->key_label = strdup(label);
		if (o->key_token == NULL || o->key_label == NULL)
			return ztp__lh_fail(&o->h, ZTP_ENOMEM, "out of memory");
		o->keys.token = o->key_token;
		o->keys.label = o->key_label;
	}

	o->ca_path = strdup(c->ca_file);
	if (o->ca_path == NULL)
		return ztp__lh_fail(&o->h, ZTP_ENOMEM, "out of memory");
	rc = ztp__lh_read_file(&o->h, c->ca_file, ZTP__LH_FILE_MAX, &o->ca_pem,
			       &o->ca_len);
	if (rc == ZTP_OK)
		rc = store_of(o, o->ca_pem, o->ca_len, &st);
	X509_STORE_free(st);
	if (rc < 0) {
		if (rc == ZTP_EPARSE)
			ztp__lh_fail(&o->h, rc,
				     "ca_file: not a PEM certificate bundle");
		return rc;
	}
	rc = ztp__keysrc_load(&o->factory_key, c->factory_key, NULL,
			      "factory key");
	if (rc < 0)
		return op_fail(o, rc, "factory_key");
	rc = ztp__lh_read_file(&o->h, c->factory_cert, ZTP__LH_FILE_MAX,
			       &o->factory_pem, &o->factory_pem_len);
	if (rc == ZTP_OK)
		rc = certs_of(o, o->factory_pem, o->factory_pem_len, &sk);
	if (rc < 0)
		return rc;
	o->factory_leaf = sk_X509_shift(sk);
	o->factory_chain = sk;
	rc = ztp__pubkey_same(&same, X509_get0_pubkey(o->factory_leaf),
			      o->factory_key);
	if (rc < 0)
		return op_fail(o, rc, "factory_key");
	if (!same)
		return ztp__lh_fail(&o->h, ZTP_EMISMATCH,
				    "factory_key does not belong to "
				    "factory_cert");
	rc = ztp__lh_state_open(&o->h, c->state_dir);
	return rc < 0 ? rc : take_over(o, c->state_dir);
}

int ztp_lite_openssl_new(ztp_lite **out, const char *config_path,
			 ztp_event_fn events, void *events_ctx, char *err,
			 size_t err_cap)
{
	return ztp__lh_new(
	    out, config_path, "openssl", "the OpenSSL port",
	    ZTP__LH_KEY_URIS | ZTP__LH_ED25519 | ZTP__LH_TOKEN_KEYS, make_port,
	    release, events, events_ctx, err, err_cap);
}
