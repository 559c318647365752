/*
 * libztp — internals of the portable device core (C99, the C standard
 * library only). Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_DEVCORE_INTERNAL_H
#define ZTP_DEVCORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ztp/port.h>

#include "core/portable.h"
#include "core/protocol.h"

/* ------------------------------------------------------------------ JSON
 *
 * A strict reader over a caller's buffer, no allocation: a document is
 * checked once (RFC 8259 grammar, valid UTF-8, no \u0000, no duplicate
 * member names, bounded depth, member count and name length), then its
 * values are read as spans of that buffer. */

#define ZTP__J_DEPTH_MAX 8
#define ZTP__J_MEMBERS_MAX 32
#define ZTP__J_NAME_MAX 64

typedef enum ztp__jtype {
	ZTP__J_NULL = 0,
	ZTP__J_BOOL,
	ZTP__J_NUMBER,
	ZTP__J_STRING,
	ZTP__J_ARRAY,
	ZTP__J_OBJECT
} ztp__jtype;

/* A value: its raw text p[0..len) (strings with their quotes). */
typedef struct ztp__jv {
	const char *p;
	size_t len;
	ztp__jtype type;
} ztp__jv;

/* Check the document buf[0..len) and give its root. ZTP_EPARSE or
 * ZTP_ETOOBIG with *why a fixed reason. */
int ztp__j_check(ztp__jv *root, const char *buf, size_t len, const char **why);
/* Iterate an array or object checked by ztp__j_check: *pos starts at 0;
 * ZTP_OK with the next element (name: the member's name, objects only,
 * may be NULL), ZTP_ENOTFOUND after the last. */
int ztp__j_next(const ztp__jv *v, size_t *pos, ztp__jv *name, ztp__jv *val);
/* The member called name of an object; ZTP_ENOTFOUND if none. */
int ztp__j_member(const ztp__jv *obj, const char *name, ztp__jv *out);
/* The first member of obj not in the NULL-terminated list allowed (its
 * name into bad, truncated to cap), ZTP_OK if there is none. */
int ztp__j_only(const ztp__jv *obj, const char *const *allowed, char *bad,
		size_t cap);
/* Decode a string value into out (NUL-terminated); ZTP_ETOOBIG when it
 * needs cap bytes or more, ZTP_EPARSE when v is not a string. */
int ztp__j_string(const ztp__jv *v, char *out, size_t cap, size_t *len);
/* Whether a string value equals s once decoded. */
bool ztp__j_string_is(const ztp__jv *v, const char *s);
/* An integer value in [min, max] (no fraction or exponent). */
int ztp__j_int(const ztp__jv *v, int64_t min, int64_t max, int64_t *out);

/* A writer into a caller's buffer: once full, it stays full (ok false)
 * and writes nothing more; the caller checks ok once at the end. */
typedef struct ztp__jw {
	char *p;
	size_t len, cap;
	bool ok;
	bool first; /* no member written yet at this level */
} ztp__jw;

void ztp__jw_init(ztp__jw *w, char *buf, size_t cap);
void ztp__jw_raw(ztp__jw *w, const char *s, size_t n);
void ztp__jw_open(ztp__jw *w, char c);	/* '{' or '[' */
void ztp__jw_close(ztp__jw *w, char c); /* '}' or ']' */
/* A member name (in an object) or the separator of an array element. */
void ztp__jw_key(ztp__jw *w, const char *name);
void ztp__jw_str(ztp__jw *w, const char *s, size_t n);
void ztp__jw_bool(ztp__jw *w, bool b);

/* ------------------------------------------------------------------ HTTP */

typedef struct ztp__http_head {
	int status;
	size_t head_len;       /* bytes of status line and headers */
	size_t content_length; /* the body's length */
	bool close;	       /* the server closes after this answer */
	int64_t retry_after;   /* Retry-After in seconds, -1 if none */
} ztp__http_head;

/* Parse the response head at buf[0..len). ZTP_OK with h filled when the
 * head is complete; 1 when more bytes are needed; ZTP_ETOOBIG when the
 * head reaches max_head bytes or the body is over max_body; ZTP_EPARSE
 * for a malformed head, a missing Content-Length, a 1xx status;
 * ZTP_EUNSUPPORTED for a Transfer-Encoding. *why: a fixed reason. */
int ztp__http_head_parse(ztp__http_head *h, const uint8_t *buf, size_t len,
			 size_t max_head, size_t max_body, const char **why);

/* Write "POST <path> HTTP/1.1" with Host, Content-Type application/json
 * and Content-Length body_len into out; the length written, 0 if it
 * does not fit. */
size_t ztp__http_request_head(char *out, size_t cap, const char *host,
			      uint16_t port, const char *path, size_t body_len);

/* ------------------------------------------------------------------ misc */

/* The decimal digits of v into out, NUL-terminated; their count. */
size_t ztp__udec(char out[24], uint64_t v);

/* The DER of the first CERTIFICATE block of pem (len bytes): its base64
 * body decoded strictly (the alphabet, line breaks between characters,
 * '=' padding at the end only), into out (cap bytes). The DER's length,
 * or 0 when there is no such block or it is malformed or over cap. */
size_t ztp__pem_der(uint8_t *out, size_t cap, const char *pem, size_t len);
/* The serialNumber of a certificate's DER (n bytes) in the form libztp
 * gives serials (ztp_store_cert_get(3)): lowercase hex without leading
 * zeros, NUL-terminated in out (cap bytes). Its length, or 0 when the DER
 * does not start as a certificate, the serial is not positive, or it
 * does not fit. */
size_t ztp__der_serial_hex(char *out, size_t cap, const uint8_t *der, size_t n);

/* "https://host[:port]": host into host (cap bytes), port (default 443).
 * ZTP_EINVAL for anything else (another scheme, a path, userinfo). */
int ztp__url_parse(const char *url, char *host, size_t cap, uint16_t *port);

/* ------------------------------------------------------------------ handle
 */

/* Which client identity a connection was opened with. */
typedef enum ztp__lite_auth {
	ZTP__AUTH_NONE = 0,
	ZTP__AUTH_FACTORY,
	ZTP__AUTH_BOOTSTRAP,
	ZTP__AUTH_OPERATIONAL
} ztp__lite_auth;

/* Credential kinds: two slots each, a manifest naming the current one. */
typedef enum ztp__lite_kind {
	ZTP__KIND_BOOTSTRAP = 0,
	ZTP__KIND_OPERATIONAL = 1
} ztp__lite_kind;

#define ZTP__LITE_HOST_MAX 255
#define ZTP__LITE_REG_MAX 4096
#define ZTP__LITE_NONCE_MAX ZTP__NONCE_MAX
/* Receive buffer: a response head and its body. */
#define ZTP__LITE_RX_MAX (ZTP_LITE_HEAD_MAX + ZTP_LITE_BODY_MAX)

/* A credential loaded from a slot (blobs in buffers the caller owns). */
typedef struct ztp__lite_cred {
	char slot; /* 'a' or 'b', 0 if none */
	uint8_t *key;
	size_t key_len;
	char *cert;
	size_t cert_len;
	ztp_port_cert_info info;
} ztp__lite_cred;

struct ztp_lite {
	const ztp_port *port;
	char device_id[ZTP_ID_MAX + 1];
	char host[ZTP__LITE_HOST_MAX + 1];
	uint16_t tcp_port;
	/* The registration request, written once by ztp_lite_new(). */
	char *reg;
	size_t reg_len;
	int rotate_percent, max_attempts;
	bool check_in;
	bool keep_alive; /* false: a connection per request */
	uint32_t base_delay_ms, max_delay_ms, max_retry_after_ms;
	int64_t build_time;
	ztp_event_fn events;
	void *events_ctx;

	/* The open connection and the identity it authenticated with. */
	void *conn;
	ztp__lite_auth conn_auth;
	char conn_slot;
	/* The notAfter of the server's leaf certificate on the connection
	 * opened last (0: unknown, or no connection), as the port reported
	 * it: the connection the last answer came on. */
	int64_t peer_not_after;
	/* Buffers of one operation (NULL between operations). */
	uint8_t *rx;
	size_t rx_len;
	char *tx;
	/* The time of the operation: the clock's or the floor. */
	int64_t now;
	bool clock_known;
	bool floor_loaded;
	int64_t floor;

	/* A port the handle owns (ztp_lite_mbedtls_new()): released by
	 * ztp_lite_free() after the handle itself. */
	void (*port_release)(const ztp_port *port);

	uint64_t stats[ZTP_LITE_HEAP_IN_USE + 1];
	char err[ZTP_LITE_ERRMSG_MAX];
	char server_error[65];
};

/* Set the handle's error detail (the parts concatenated, control
 * characters replaced); returns code. */
int ztp__lite_err(ztp_lite *d, int code, const char *a, const char *b,
		  const char *c);
void *ztp__lite_alloc(ztp_lite *d, size_t n);
/* Wipe and free (accepts NULL). */
void ztp__lite_free(ztp_lite *d, void *p, size_t n);
/* Emit {"event": name, <fields>} where fields is a JSON fragment of
 * members ("" for none). */
void ztp__lite_event(ztp_lite *d, const char *name, const char *fields);

/* The operation's buffers and time; ztp__lite_end() frees the buffers
 * (the connection stays open until ztp__lite_disconnect()). */
int ztp__lite_begin(ztp_lite *d);
void ztp__lite_end(ztp_lite *d);
void ztp__lite_disconnect(ztp_lite *d);

/* POST the body tx[0..body_len) to endpoint with the identity (auth, and
 * the credential when not the factory), with retries; on 2xx the answer
 * is checked JSON, an object, in d->rx (valid until the next call). */
int ztp__lite_call(ztp_lite *d, const char *endpoint, ztp__lite_auth auth,
		   const ztp__lite_cred *cred, size_t body_len,
		   ztp__jv *answer);
/* Whether the last call was refused with the wire code w. */
bool ztp__lite_refused_with(const ztp_lite *d, int rc, int w);

/* The committed trust bundle (flow.c): into a buffer of
 * ZTP_LITE_TRUST_MAX bytes it allocates (*out NULL when none is
 * committed); ZTP_EMISMATCH when the stored one is not the one committed. */
int ztp__lite_trust_current(ztp_lite *d, char **out, size_t *len);
/* One connection with the factory identity verifying the server against
 * anchors alone, then closed (device.c): ZTP_OK when it was verified. */
int ztp__lite_trust_probe(ztp_lite *d, const char *anchors, size_t len);

/* The port's detail of its last failure, or the name of rc when it has
 * none. */
const char *ztp__lite_port_detail(const ztp_lite *d, int rc);

/* A member of version 2 of the port interface, NULL for a port of
 * version 1 (whose struct ends before it). */
#define ZTP__LITE_PORT_V2(d, member)                                           \
	((d)->port->version >= 2 ? (d)->port->member : NULL)

/* Storage of credentials and the floor (flow.c). */
void ztp__lite_cred_free(ztp_lite *d, ztp__lite_cred *c);
int ztp__lite_floor(ztp_lite *d, int64_t *floor);
int ztp__lite_floor_raise(ztp_lite *d, int64_t t);

#endif /* ZTP_DEVCORE_INTERNAL_H */
