/*
 * Unit tests of the portable device core (libztp/devcore): the strict
 * JSON reader and writer, the HTTP/1.1 response parser and request
 * writer, base64, the server URL, the transcript, and the time floor and
 * the handle's checks on a port whose storage is in RAM (the kind of
 * key-value store an MCU port keeps in flash).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcore/internal.h"

/* ------------------------------------------------------------------ JSON */

static int check_json(const char *s, ztp__jv *root)
{
	const char *why = "";

	return ztp__j_check(root, s, strlen(s), &why);
}

START_TEST(json_reads_members)
{
	ztp__jv root, v, e;
	char buf[64];
	size_t len = 0, pos = 0, n = 0;
	int64_t i = 0;

	ck_assert_int_eq(
	    check_json(" {\"a\": \"x\\n\\u00e9\\ud83d\\ude00\", \"b\": [1, "
		       "\"two\", {\"c\": null}], \"n\": -42 } ",
		       &root),
	    ZTP_OK);
	ck_assert_int_eq(root.type, ZTP__J_OBJECT);
	ck_assert_int_eq(ztp__j_member(&root, "a", &v), ZTP_OK);
	ck_assert_int_eq(ztp__j_string(&v, buf, sizeof(buf), &len), ZTP_OK);
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(buf, "x\n\xc3\xa9\xf0\x9f\x98\x80", 8);
	ck_assert_int_eq(ztp__j_string(&v, buf, 8, &len), ZTP_ETOOBIG);
	ck_assert_int_eq(ztp__j_member(&root, "n", &v), ZTP_OK);
	ck_assert_int_eq(ztp__j_int(&v, -100, 100, &i), ZTP_OK);
	ck_assert_int_eq(i, -42);
	ck_assert_int_eq(ztp__j_int(&v, 0, 100, &i), ZTP_ETOOBIG);
	ck_assert_int_eq(ztp__j_member(&root, "b", &v), ZTP_OK);
	ck_assert_int_eq(v.type, ZTP__J_ARRAY);
	while (ztp__j_next(&v, &pos, NULL, &e) == ZTP_OK)
		n++;
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ztp__j_member(&root, "missing", &v), ZTP_ENOTFOUND);

	/* Names are compared decoded: the raw "\/" names "/", not "\/". */
	ck_assert_int_eq(check_json("{\"\\/\": 1, \"\\\\/\": 2}", &root),
			 ZTP_OK);
	ck_assert_int_eq(ztp__j_member(&root, "\\/", &v), ZTP_OK);
	ck_assert_int_eq(ztp__j_int(&v, 0, 9, &i), ZTP_OK);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(ztp__j_member(&root, "/", &v), ZTP_OK);
	ck_assert_int_eq(ztp__j_int(&v, 0, 9, &i), ZTP_OK);
	ck_assert_int_eq(i, 1);
}
END_TEST

START_TEST(json_only_names_the_stranger)
{
	static const char *const keys[] = {"a", "b", NULL};
	ztp__jv root;
	char bad[16] = "";

	ck_assert_int_eq(check_json("{\"a\":1,\"b\":2}", &root), ZTP_OK);
	ck_assert_int_eq(ztp__j_only(&root, keys, bad, sizeof(bad)), ZTP_OK);
	ck_assert_int_eq(check_json("{\"a\":1,\"evil\":2}", &root), ZTP_OK);
	ck_assert_int_eq(ztp__j_only(&root, keys, bad, sizeof(bad)),
			 ZTP_EPARSE);
	ck_assert_str_eq(bad, "evil");
}
END_TEST

/* Documents the reader refuses, each with the code it must give. */
static const struct {
	const char *doc;
	int code;
} json_bad[] = {
    {"", ZTP_EPARSE},
    {"{\"a\":1,\"a\":2}", ZTP_EPARSE},
    {"{\"a\":1,\"\\u0061\":2}", ZTP_EPARSE},
    {"{\"a\":1}x", ZTP_EPARSE},
    {"{\"a\":1,}", ZTP_EPARSE},
    {"[1,]", ZTP_EPARSE},
    {"01", ZTP_EPARSE},
    {"1.", ZTP_EPARSE},
    {"-", ZTP_EPARSE},
    {"NaN", ZTP_EPARSE},
    {"{/*c*/}", ZTP_EPARSE},
    {"\"\xc0\x80\"", ZTP_EPARSE},
    {"\"\xed\xa0\x80\"", ZTP_EPARSE},
    {"\"\xf4\x90\x80\x80\"", ZTP_EPARSE},
    {"\"\\u0000\"", ZTP_EPARSE},
    {"\"\\ud800\"", ZTP_EPARSE},
    {"\"\\udc00\"", ZTP_EPARSE},
    {"\"\\x41\"", ZTP_EPARSE},
    {"\"a\tb\"", ZTP_EPARSE},
    {"\"open", ZTP_EPARSE},
    {"{\"a\" 1}", ZTP_EPARSE},
    {"[[[[[[[[[1]]]]]]]]]", ZTP_ETOOBIG},
    {"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "\":1}",
     ZTP_ETOOBIG},
};

START_TEST(json_refuses)
{
	ztp__jv root;

	ck_assert_msg(check_json(json_bad[_i].doc, &root) == json_bad[_i].code,
		      "document %d accepted or wrong code", _i);
}
END_TEST

START_TEST(json_bounds_members)
{
	char doc[512];
	ztp__jv root;
	size_t n = 0;
	int i;

	doc[n++] = '[';
	for (i = 0; i < ZTP__J_MEMBERS_MAX; i++) {
		doc[n++] = i ? ',' : ' ';
		doc[n++] = '0';
	}
	doc[n++] = ']';
	doc[n] = '\0';
	ck_assert_int_eq(check_json(doc, &root), ZTP_OK);
	doc[n - 1] = ',';
	doc[n++] = '0';
	doc[n++] = ']';
	doc[n] = '\0';
	ck_assert_int_eq(check_json(doc, &root), ZTP_ETOOBIG);
}
END_TEST

START_TEST(json_writes)
{
	char buf[64];
	ztp__jw w;
	ztp__jv root, v;
	char back[32];

	ztp__jw_init(&w, buf, sizeof(buf));
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "s");
	ztp__jw_str(&w, "a\"b\\c\n\x01", 7);
	ztp__jw_key(&w, "t");
	ztp__jw_bool(&w, true);
	ztp__jw_key(&w, "l");
	ztp__jw_open(&w, '[');
	ztp__jw_key(&w, NULL);
	ztp__jw_str(&w, "x", 1);
	ztp__jw_key(&w, NULL);
	ztp__jw_str(&w, "y", 1);
	ztp__jw_close(&w, ']');
	ztp__jw_close(&w, '}');
	ck_assert(w.ok);
	ck_assert_str_eq(buf, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"t\":true,"
			      "\"l\":[\"x\",\"y\"]}");
	/* What it writes, the reader reads back. */
	ck_assert_int_eq(check_json(buf, &root), ZTP_OK);
	ck_assert_int_eq(ztp__j_member(&root, "s", &v), ZTP_OK);
	ck_assert_int_eq(ztp__j_string(&v, back, sizeof(back), NULL), ZTP_OK);
	ck_assert_str_eq(back, "a\"b\\c\n\x01");

	ztp__jw_init(&w, buf, 8);
	ztp__jw_str(&w, "too long for eight", 18);
	ck_assert(!w.ok);
	ck_assert_uint_lt(w.len, 8);
}
END_TEST

/* ------------------------------------------------------------------ HTTP */

static int head(const char *s, ztp__http_head *h, size_t max_head)
{
	const char *why = "";

	return ztp__http_head_parse(h, (const uint8_t *)s, strlen(s), max_head,
				    1000, &why);
}

START_TEST(http_parses_heads)
{
	ztp__http_head h;

	ck_assert_int_eq(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
			      "Content-Type: application/json\r\n\r\nhello",
			      &h, 2048),
			 ZTP_OK);
	ck_assert_int_eq(h.status, 200);
	ck_assert_uint_eq(h.content_length, 5);
	ck_assert(!h.close);
	ck_assert_int_eq(h.retry_after, -1);
	ck_assert_uint_eq(h.head_len, strlen("HTTP/1.1 200 OK\r\nContent-"
					     "Length: 5\r\nContent-Type: "
					     "application/json\r\n\r\n"));
	ck_assert_int_eq(head("HTTP/1.1 503\r\ncontent-length:0\r\n"
			      "Retry-After:  7 \r\nConnection: keep-alive, "
			      "Close\r\n\r\n",
			      &h, 2048),
			 ZTP_OK);
	ck_assert_int_eq(h.status, 503);
	ck_assert_int_eq(h.retry_after, 7);
	ck_assert(h.close);
	ck_assert_int_eq(head("HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n"
			      "Retry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n"
			      "\r\n",
			      &h, 2048),
			 ZTP_OK);
	ck_assert_int_eq(h.retry_after, -1);
	ck_assert_int_eq(head("HTTP/1.1 429 x\r\nContent-Length: 0\r\n"
			      "Retry-After: 99999999999\r\n\r\n",
			      &h, 2048),
			 ZTP_OK);
	ck_assert_int_eq(h.retry_after, ZTP__RETRY_AFTER_MAX_S);
	ck_assert_int_eq(
	    head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &h, 2048),
	    ZTP_OK);
	ck_assert(h.close);
	ck_assert_int_eq(head("HTTP/1.1 204 No Content\r\n\r\n", &h, 2048),
			 ZTP_OK);
	ck_assert_uint_eq(h.content_length, 0);
	/* Incomplete: more bytes needed. */
	ck_assert_int_eq(head("HTTP/1.1 200 OK\r\nContent-Len", &h, 2048), 1);
}
END_TEST

static const struct {
	const char *head;
	int code;
} http_bad[] = {
    {"HTTP/1.1 200 OK\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", ZTP_ETOOBIG},
    {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
     ZTP_ETOOBIG},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ZTP_EUNSUPPORTED},
    {"HTTP/1.1 100 Continue\r\n\r\n", ZTP_EPARSE},
    {"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\n folded: yes\r\nContent-Length: 0\r\n\r\n",
     ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nX: a\nb\r\nContent-Length: 0\r\n\r\n", ZTP_EPARSE},
    {"HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 0\r\n\r\n", ZTP_EPARSE},
};

START_TEST(http_refuses)
{
	ztp__http_head h;

	ck_assert_msg(head(http_bad[_i].head, &h, 2048) == http_bad[_i].code,
		      "head %d accepted or wrong code", _i);
}
END_TEST

START_TEST(http_bounds_the_head)
{
	char buf[300];
	ztp__http_head h;

	memset(buf, 'x', sizeof(buf) - 1);
	memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
	buf[sizeof(buf) - 1] = '\0';
	/* No end of head within the bound: refused, not buffered on. */
	ck_assert_int_eq(head(buf, &h, 256), ZTP_ETOOBIG);
	ck_assert_int_eq(head(buf, &h, 2048), 1);
}
END_TEST

START_TEST(http_writes_requests)
{
	char buf[256];
	size_t n;

	n = ztp__http_request_head(buf, sizeof(buf), "127.0.0.1", 8443,
				   "/ztp/v1/challenge", 27);
	ck_assert_str_eq(buf, "POST /ztp/v1/challenge HTTP/1.1\r\n"
			      "Host: 127.0.0.1:8443\r\n"
			      "Content-Type: application/json\r\n"
			      "Accept: application/json\r\n"
			      "Content-Length: 27\r\n\r\n");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_uint_eq(ztp__http_request_head(buf, 40, "127.0.0.1", 8443,
						 "/ztp/v1/challenge", 27),
			  0);
}
END_TEST

/* ------------------------------------------------------------------ misc */

START_TEST(base64_vectors)
{
	static const char *const in[] = {"",	 "f",	  "fo",	   "foo",
					 "foob", "fooba", "foobar"};
	static const char *const out[] = {
	    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char buf[16];
	size_t i;

	for (i = 0; i < 7; i++) {
		ck_assert_uint_eq(ztp__b64(buf, sizeof(buf),
					   (const uint8_t *)in[i],
					   strlen(in[i])),
				  strlen(out[i]));
		ck_assert_str_eq(buf, out[i]);
	}
	ck_assert_uint_eq(ztp__b64(buf, 8, (const uint8_t *)"foobar", 6), 0);
}
END_TEST

/* PEM to DER (the fingerprint of ztp_lite_status()): the RFC 4648
 * vectors inside a CERTIFICATE block, line breaks anywhere, and what is
 * refused: no block, no end line, a stray byte, data after the padding,
 * padding too early or too long, a truncated group, a buffer too small. */
START_TEST(pem_to_der)
{
	static const char *const body[] = {
	    "Zg==",	"Zm8=",	    "Zm9v",	     "Zm9vYg==",
	    "Zm9vYmE=", "Zm9vYmFy", "Zm9v\r\nYmFy\n"};
	static const char *const der[] = {"f",	   "fo",     "foo",   "foob",
					  "fooba", "foobar", "foobar"};
	static const char *const bad[] = {
	    "Zm9v YmFy", "Zg==Zm8=", "Z===", "=Zm9", "Zm9vY", "Zm9-",
	};
	char pem[256];
	uint8_t out[16];
	size_t i;

	for (i = 0; i < sizeof(body) / sizeof(body[0]); i++) {
		snprintf(pem, sizeof(pem),
			 "junk\n-----BEGIN CERTIFICATE-----\n%s\n"
			 "-----END CERTIFICATE-----\nmore",
			 body[i]);
		ck_assert_uint_eq(
		    ztp__pem_der(out, sizeof(out), pem, strlen(pem)),
		    strlen(der[i]));
		ck_assert_mem_eq(out, der[i], strlen(der[i]));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(pem, sizeof(pem),
			 "-----BEGIN CERTIFICATE-----\n%s\n"
			 "-----END CERTIFICATE-----\n",
			 bad[i]);
		ck_assert_msg(
		    ztp__pem_der(out, sizeof(out), pem, strlen(pem)) == 0,
		    "accepted %s", bad[i]);
	}
	snprintf(pem, sizeof(pem), "-----BEGIN CERTIFICATE-----\nZm9v\n");
	ck_assert_uint_eq(ztp__pem_der(out, sizeof(out), pem, strlen(pem)), 0);
	snprintf(pem, sizeof(pem),
		 "-----BEGIN PRIVATE KEY-----\nZm9v\n"
		 "-----END PRIVATE KEY-----\n");
	ck_assert_uint_eq(ztp__pem_der(out, sizeof(out), pem, strlen(pem)), 0);
	snprintf(pem, sizeof(pem),
		 "-----BEGIN CERTIFICATE-----\nZm9vYmFy\n"
		 "-----END CERTIFICATE-----\n");
	ck_assert_uint_eq(ztp__pem_der(out, 5, pem, strlen(pem)), 0);
	ck_assert_uint_eq(ztp__pem_der(out, 6, pem, strlen(pem)), 6);
}
END_TEST

/* The serial of a certificate's DER, as libztp spells serials: the
 * INTEGER after the optional [0] version of the TBSCertificate, leading
 * zeros dropped; refused when zero, negative, over the buffer, or not in
 * a certificate's frame. */
START_TEST(der_serial)
{
	static const struct {
		const char *der;
		size_t len;
		const char *hex;
	} v[] = {
	    {"\x30\x0a\x30\x08\xa0\x03\x02\x01\x02\x02\x01\x05", 12, "5"},
	    {"\x30\x05\x30\x03\x02\x01\x2a", 7, "2a"},
	    {"\x30\x06\x30\x04\x02\x02\x00\x9f", 8, "9f"},
	    {"\x30\x07\x30\x05\x02\x03\x00\x01\x0f", 9, "10f"},
	    {"\x30\x81\x05\x30\x03\x02\x01\x07", 8, "7"},
	    {"\x30\x05\x30\x03\x02\x01\x00", 7, NULL}, /* zero */
	    {"\x30\x05\x30\x03\x02\x01\x80", 7, NULL}, /* negative */
	    {"\x30\x05\x30\x03\x04\x01\x05", 7, NULL}, /* not INTEGER */
	    {"\x30\x05\x30\x04\x02\x01\x05", 7, NULL}, /* overrun */
	    {"\x30\x80\x30\x03\x02\x01\x05", 7, NULL}, /* indefinite */
	    {"\x31\x05\x30\x03\x02\x01\x05", 7, NULL}, /* a SET */
	    {"\x30\x04\x30\x02\x02\x00", 6, NULL},     /* empty */
	};
	char out[16];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = ztp__der_serial_hex(out, 8, (const uint8_t *)v[i].der,
					v[i].len);
		if (v[i].hex == NULL) {
			ck_assert_msg(n == 0, "vector %zu accepted", i);
			continue;
		}
		ck_assert_uint_eq(n, strlen(v[i].hex));
		ck_assert_str_eq(out, v[i].hex);
	}
	/* Four octets need nine bytes of buffer. */
	ck_assert_uint_eq(
	    ztp__der_serial_hex(out, 8,
				(const uint8_t *)"\x30\x08\x30\x06\x02\x04"
						 "\x11\x22\x33\x44",
				10),
	    0);
	ck_assert_uint_eq(
	    ztp__der_serial_hex(out, 9,
				(const uint8_t *)"\x30\x08\x30\x06\x02\x04"
						 "\x11\x22\x33\x44",
				10),
	    8);
	ck_assert_str_eq(out, "11223344");
}
END_TEST

/* RFC 3339 out (core/civil.c), the inverse of the reader, clamped to
 * what four-digit years spell. */
START_TEST(rfc3339_format)
{
	static const struct {
		int64_t t;
		const char *s;
	} v[] = {
	    {0, "1970-01-01T00:00:00Z"},
	    {-1, "1969-12-31T23:59:59Z"},
	    {951782400, "2000-02-29T00:00:00Z"},
	    {1800000000, "2027-01-15T08:00:00Z"},
	    {253402300799LL, "9999-12-31T23:59:59Z"},
	    {253402300800LL, "9999-12-31T23:59:59Z"},
	    {-62167219200LL, "0000-01-01T00:00:00Z"},
	    {INT64_MIN, "0000-01-01T00:00:00Z"},
	};
	char out[ZTP__RFC3339_LEN + 1];
	const char *why = "";
	int64_t back = 0;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ztp__rfc3339_format(out, v[i].t);
		ck_assert_str_eq(out, v[i].s);
		if (i < 5) {
			ck_assert_int_eq(
			    ztp__rfc3339_parse(&back, out, strlen(out), &why),
			    ZTP_OK);
			ck_assert_int_eq(back, v[i].t);
		}
	}
}
END_TEST

START_TEST(url_parses)
{
	char host[64];
	uint16_t port = 0;

	ck_assert_int_eq(
	    ztp__url_parse("https://127.0.0.1:8443", host, sizeof(host), &port),
	    ZTP_OK);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 8443);
	ck_assert_int_eq(ztp__url_parse("https://ztp.example.com/", host,
					sizeof(host), &port),
			 ZTP_OK);
	ck_assert_str_eq(host, "ztp.example.com");
	ck_assert_uint_eq(port, 443);
	ck_assert_int_eq(
	    ztp__url_parse("https://[::1]:9000", host, sizeof(host), &port),
	    ZTP_OK);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(ztp__url_parse("http://h", host, sizeof(host), &port),
			 ZTP_EINVAL);
	ck_assert_int_eq(
	    ztp__url_parse("https://u@h", host, sizeof(host), &port),
	    ZTP_EINVAL);
	ck_assert_int_eq(
	    ztp__url_parse("https://h/ztp", host, sizeof(host), &port),
	    ZTP_EINVAL);
	ck_assert_int_eq(
	    ztp__url_parse("https://h:0", host, sizeof(host), &port),
	    ZTP_EINVAL);
	ck_assert_int_eq(
	    ztp__url_parse("https://h:65536", host, sizeof(host), &port),
	    ZTP_EINVAL);
	ck_assert_int_eq(ztp__url_parse("https://", host, sizeof(host), &port),
			 ZTP_EINVAL);
}
END_TEST

/* What the mbedTLS port reads of a proxy (core/url.c): its URL, by the
 * grammar ztp-device checks too, and the status line of the answer to
 * CONNECT. */
START_TEST(proxy_url_and_answer)
{
	ztp__proxy px;
	const char *why = "";
	int st = -1;
	char longhost[300];

	ck_assert_int_eq(ztp__proxy_parse(&px, "http://[::1]:3128/", &why),
			 ZTP_OK);
	ck_assert_str_eq(px.host, "::1");
	ck_assert_uint_eq(px.port, 3128);
	ck_assert_uint_eq(px.url_len, 17);
	ck_assert_int_eq(
	    ztp__proxy_parse(&px, "http://proxy.example:8080", &why), ZTP_OK);
	ck_assert_str_eq(px.host, "proxy.example");
	ck_assert_int_eq(ztp__proxy_parse(&px, "http://[::1]", &why),
			 ZTP_EINVAL);
	ck_assert_int_eq(ztp__proxy_parse(&px, "http://u:p@h:1", &why),
			 ZTP_EINVAL);
	ck_assert_str_eq(why, "user information is not supported");
	ck_assert_int_eq(ztp__proxy_parse(&px, "http://h:65536", &why),
			 ZTP_EINVAL);
	ck_assert_str_eq(why, "port not in 1..65535");
	ck_assert_int_eq(ztp__proxy_parse(&px, "https://h:1", &why),
			 ZTP_EINVAL);
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost, "http://", 7);
	memcpy(longhost + 7 + 256, ":1", 3);
	ck_assert_int_eq(ztp__proxy_parse(&px, longhost, &why), ZTP_EINVAL);
	ck_assert_str_eq(why, "host longer than 255 bytes");

#define ANSWER(s) ztp__proxy_status(s, sizeof(s) - 1, &st)
	ck_assert_int_eq(ANSWER("HTTP/1.1 200 Connection established\r\n\r\n"),
			 ZTP_OK);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(ANSWER("HTTP/1.0 403\r\nX: y\r\n\r\n"), ZTP_OK);
	ck_assert_int_eq(st, 403);
	ck_assert_int_eq(ANSWER("HTTP/1.1 200 OK\r\n"), ZTP_EPARSE);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(ANSWER("HTTP/2.0 200 OK\r\n\r\n"), ZTP_EPARSE);
	ck_assert_int_eq(ANSWER("HTTP/1.1 2000 OK\r\n\r\n"), ZTP_EPARSE);
	ck_assert_int_eq(ANSWER("HTTP/1.1 600 OK\r\n\r\n"), ZTP_EPARSE);
	ck_assert_int_eq(ANSWER("SSH-2.0-OpenSSH\r\n\r\n"), ZTP_EPARSE);
#undef ANSWER
}
END_TEST

START_TEST(transcript_bytes)
{
	uint8_t h[32], out[128];
	static const char want[] = "ZTP-BOOTSTRAP-V1\0dev-1\0n0.Ab\0";
	size_t n;

	memset(h, 0xab, sizeof(h));
	n = ztp__transcript_write(out, sizeof(out), "dev-1", "n0.Abxyz", 5, h);
	ck_assert_uint_eq(n, sizeof(want) - 1 + 32);
	ck_assert_mem_eq(out, want, sizeof(want) - 1);
	ck_assert_mem_eq(out + sizeof(want) - 1, h, 32);
	ck_assert_uint_eq(
	    ztp__transcript_write(out, n - 1, "dev-1", "n0.Abxyz", 5, h), 0);
}
END_TEST

/* ------------------------------------------------------------------ a port
 * with its storage in RAM */

#define RAM_BLOBS 16

typedef struct ram {
	struct {
		char name[40];
		uint8_t data[256];
		size_t len;
		bool used;
	} blob[RAM_BLOBS];
	long allocs, fail_at; /* the fail_at-th allocation fails (0: none) */
	size_t in_use;
	bool store_fails;
} ram;

static void *ram_alloc(void *ctx, size_t n)
{
	ram *r = ctx;
	void *p;

	if (r->fail_at != 0 && ++r->allocs >= r->fail_at)
		return NULL;
	p = malloc(n);
	if (p != NULL)
		r->in_use += n;
	return p;
}

static void ram_dealloc(void *ctx, void *p, size_t n)
{
	ram *r = ctx;
	uint8_t any = 0;
	size_t i;

	/* The core wipes what it frees. */
	for (i = 0; i < n; i++)
		any |= ((uint8_t *)p)[i];
	ck_assert_uint_eq(any, 0);
	r->in_use -= n;
	free(p);
}

static int ram_find(ram *r, const char *name)
{
	int i;

	for (i = 0; i < RAM_BLOBS; i++)
		if (r->blob[i].used && strcmp(r->blob[i].name, name) == 0)
			return i;
	return -1;
}

static int ram_load(void *ctx, const char *name, uint8_t *buf, size_t cap,
		    size_t *len)
{
	ram *r = ctx;
	int i = ram_find(r, name);

	if (i < 0)
		return ZTP_ENOTFOUND;
	if (r->blob[i].len > cap)
		return ZTP_ETOOBIG;
	memcpy(buf, r->blob[i].data, r->blob[i].len);
	*len = r->blob[i].len;
	return ZTP_OK;
}

static int ram_store(void *ctx, const char *name, const uint8_t *data,
		     size_t len)
{
	ram *r = ctx;
	int i = ram_find(r, name);

	if (r->store_fails)
		return ZTP_EIO;
	if (len > sizeof(r->blob[0].data))
		return ZTP_ETOOBIG;
	for (int k = 0; i < 0 && k < RAM_BLOBS; k++)
		if (!r->blob[k].used)
			i = k;
	if (i < 0)
		return ZTP_ETOOBIG;
	snprintf(r->blob[i].name, sizeof(r->blob[i].name), "%s", name);
	memcpy(r->blob[i].data, data, len);
	r->blob[i].len = len;
	r->blob[i].used = true;
	return ZTP_OK;
}

static int ram_remove(void *ctx, const char *name)
{
	ram *r = ctx;
	int i = ram_find(r, name);

	if (i >= 0)
		r->blob[i].used = false;
	return ZTP_OK;
}

/* This device's clock: unknown unless set (seconds since the epoch). */
static int64_t g_clock = -1;

static int ram_now(void *ctx, int64_t *t)
{
	(void)ctx;
	if (g_clock < 0)
		return ZTP_ENOTFOUND;
	*t = g_clock;
	return ZTP_OK;
}

/* This port has no network and no crypto: the functions say so. */
static int no_connect(void *ctx, void **conn, ztp_port_tls *tls)
{
	(void)ctx;
	(void)conn;
	(void)tls;
	return ZTP_EUNSUPPORTED;
}
static int no_send(void *ctx, void *conn, const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)conn;
	(void)d;
	(void)n;
	return ZTP_EUNSUPPORTED;
}
static int no_recv(void *ctx, void *conn, uint8_t *b, size_t c, size_t *g)
{
	(void)ctx;
	(void)conn;
	(void)b;
	(void)c;
	(void)g;
	return ZTP_EUNSUPPORTED;
}
static void no_close(void *ctx, void *conn)
{
	(void)ctx;
	(void)conn;
}
static int no_keygen(void *ctx, uint8_t *k, size_t c, size_t *l)
{
	(void)ctx;
	(void)k;
	(void)c;
	(void)l;
	return ZTP_EUNSUPPORTED;
}
static int no_csr(void *ctx, const uint8_t *k, size_t kl, const char *id,
		  uint8_t *d, size_t c, size_t *l)
{
	(void)ctx;
	(void)k;
	(void)kl;
	(void)id;
	(void)d;
	(void)c;
	(void)l;
	return ZTP_EUNSUPPORTED;
}
static int no_sign(void *ctx, const uint8_t *k, size_t kl, const uint8_t *m,
		   size_t ml, uint8_t *s, size_t c, size_t *sl)
{
	(void)ctx;
	(void)k;
	(void)kl;
	(void)m;
	(void)ml;
	(void)s;
	(void)c;
	(void)sl;
	return ZTP_EUNSUPPORTED;
}
static int no_sha(void *ctx, const uint8_t *d, size_t l, uint8_t o[32])
{
	(void)ctx;
	(void)d;
	(void)l;
	(void)o;
	return ZTP_EUNSUPPORTED;
}
static int no_random(void *ctx, uint8_t *o, size_t l)
{
	(void)ctx;
	(void)o;
	(void)l;
	return ZTP_EUNSUPPORTED;
}
static int no_cert(void *ctx, const char *p, size_t l, const uint8_t *k,
		   size_t kl, ztp_port_cert_info *i)
{
	(void)ctx;
	(void)p;
	(void)l;
	(void)k;
	(void)kl;
	(void)i;
	return ZTP_EUNSUPPORTED;
}
static int no_factory(void *ctx, char *p, size_t c, size_t *l)
{
	(void)ctx;
	(void)p;
	(void)c;
	(void)l;
	return ZTP_EUNSUPPORTED;
}

static ram g_ram;
static ztp_port g_port;
static ztp_lite_options g_opts;

static void port_setup(void)
{
	memset(&g_ram, 0, sizeof(g_ram));
	memset(&g_port, 0, sizeof(g_port));
	g_port.version = ZTP_PORT_VERSION;
	g_port.ctx = &g_ram;
	g_port.alloc = ram_alloc;
	g_port.dealloc = ram_dealloc;
	g_port.connect = no_connect;
	g_port.send = no_send;
	g_port.recv = no_recv;
	g_port.close = no_close;
	g_port.key_generate = no_keygen;
	g_port.csr = no_csr;
	g_port.sign = no_sign;
	g_port.sha256 = no_sha;
	g_port.random = no_random;
	g_port.cert_info = no_cert;
	g_port.factory_cert = no_factory;
	g_port.load = ram_load;
	g_port.store = ram_store;
	g_port.remove = ram_remove;
	g_port.now = ram_now;
	ztp_lite_options_init(&g_opts);
	g_opts.device_id = "dev-1";
	g_opts.base_url = "https://127.0.0.1:8443";
	g_opts.build_time = 1700000000;
	g_clock = -1;
}

static void port_teardown(void)
{
	ck_assert_uint_eq(g_ram.in_use, 0);
}

START_TEST(floor_only_moves_forward)
{
	ztp_lite *d = NULL;
	int64_t f = 0;
	int i;

	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1700000000); /* nothing stored: the build time */
	ck_assert_int_eq(ztp__lite_floor_raise(d, 1800000000), ZTP_OK);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1800000000);
	i = ram_find(&g_ram, "time-floor");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(g_ram.blob[i].len, 10);
	ck_assert_mem_eq(g_ram.blob[i].data, "1800000000", 10);
	/* Never backward. */
	ck_assert_int_eq(ztp__lite_floor_raise(d, 1750000000), ZTP_OK);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1800000000);
	ck_assert_mem_eq(g_ram.blob[i].data, "1800000000", 10);
	/* A store that fails leaves the floor where it was. */
	g_ram.store_fails = true;
	ck_assert_int_eq(ztp__lite_floor_raise(d, 1900000000), ZTP_EIO);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1800000000);
	ztp_lite_free(d);

	/* A new handle reads it back; a build newer than the stored floor
	 * wins. */
	g_ram.store_fails = false;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1800000000);
	ztp_lite_free(d);
	g_opts.build_time = 1850000000;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1850000000);
	ztp_lite_free(d);
}
END_TEST

/* The time an operation goes by: the clock's when it is at or after the
 * floor; the floor when the clock is unknown or behind it (a device that
 * booted at 1970). */
START_TEST(clock_behind_the_floor)
{
	ztp_lite *d = NULL;

	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp__lite_begin(d), ZTP_OK);
	ck_assert(!d->clock_known);
	ck_assert_int_eq(d->now, 1700000000);
	ztp__lite_end(d);
	g_clock = 0; /* 1970 */
	ck_assert_int_eq(ztp__lite_begin(d), ZTP_OK);
	ck_assert(!d->clock_known);
	ck_assert_int_eq(d->now, 1700000000);
	ztp__lite_end(d);
	g_clock = 1700000000; /* at the floor */
	ck_assert_int_eq(ztp__lite_begin(d), ZTP_OK);
	ck_assert(d->clock_known);
	ck_assert_int_eq(d->now, 1700000000);
	ztp__lite_end(d);
	g_clock = 1800000000;
	ck_assert_int_eq(ztp__lite_begin(d), ZTP_OK);
	ck_assert(d->clock_known);
	ck_assert_int_eq(d->now, 1800000000);
	ztp__lite_end(d);
	/* A clock that is known is not a server's word: the floor stays. */
	ck_assert_int_eq(ztp_lite_time_floor(d, &(int64_t){0}), ZTP_OK);
	ck_assert_int_lt(ram_find(&g_ram, "time-floor"), 0);
	ztp_lite_free(d);
}
END_TEST

START_TEST(floor_corrupt_is_refused)
{
	ztp_lite *d = NULL;
	int64_t f = 0;

	ck_assert_int_eq(
	    ram_store(&g_ram, "time-floor", (const uint8_t *)"17e9", 4),
	    ZTP_OK);
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_EPARSE);
	ck_assert_str_eq(ztp_lite_error(d), "time floor: corrupt");
	/* An operation refuses to start on it rather than trust the build
	 * time. */
	ck_assert_int_eq(ztp_lite_bootstrap(d), ZTP_EPARSE);
	ztp_lite_free(d);
}
END_TEST

START_TEST(manifest_corrupt_is_refused)
{
	ztp_lite *d = NULL;

	ck_assert_int_eq(ram_store(&g_ram, "bootstrap.manifest",
				   (const uint8_t *)"ZTP1 c=a p=a\n", 13),
			 ZTP_OK);
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_bootstrap(d), ZTP_EPARSE);
	ck_assert_str_eq(ztp_lite_error(d), "bootstrap.manifest: corrupt");
	ztp_lite_free(d);
}
END_TEST

START_TEST(new_checks_arguments)
{
	ztp_lite *d = (ztp_lite *)1;
	ztp_port p = g_port;
	ztp_lite_options o = g_opts;

	ck_assert_int_eq(ztp_lite_new(NULL, &g_port, &g_opts), ZTP_EINVAL);
	ck_assert_int_eq(ztp_lite_new(&d, NULL, &g_opts), ZTP_EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, NULL), ZTP_EINVAL);
	p.version = ZTP_PORT_VERSION + 1;
	ck_assert_int_eq(ztp_lite_new(&d, &p, &g_opts), ZTP_EINVAL);
	p.version = 0;
	ck_assert_int_eq(ztp_lite_new(&d, &p, &g_opts), ZTP_EINVAL);
	o.version = ZTP_PORT_VERSION + 1;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o = g_opts;
	p = g_port;
	p.sign = NULL;
	ck_assert_int_eq(ztp_lite_new(&d, &p, &g_opts), ZTP_EINVAL);
	o.base_url = "http://127.0.0.1:8443";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o = g_opts;
	o.device_id = "dev/1";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o = g_opts;
	o.max_attempts = 0;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o = g_opts;
	o.device_type = "sensor";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	/* The register request's rules, as the verifier applies them: a
	 * device type of the identifier grammar, a firmware version of
	 * 1..64 printable bytes. */
	o.firmware_version = "1.0";
	o.device_type = "my sensor";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o.device_type = "sensor";
	o.firmware_version = "";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o.firmware_version = "1.0\n";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o.firmware_version = "v.123456789012345678901234567890123456789012345"
			     "678901234567890123";
	ck_assert_uint_eq(strlen(o.firmware_version), 65);
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	o.firmware_version = "1.0 (build 7)";
	o.capabilities = (const char *const[]){"mqtt", "bad cap"};
	o.n_capabilities = 2;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_EINVAL);
	ck_assert_ptr_null(d);
	o.n_capabilities = 1;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &o), ZTP_OK);
	/* Run needs a registration; this one has it, and stops at the
	 * port's missing crypto, having stored nothing. */
	ck_assert_int_eq(ztp_lite_run(d, NULL), ZTP_EUNSUPPORTED);
	ck_assert_int_lt(ram_find(&g_ram, "bootstrap.manifest"), 0);
	ztp_lite_free(d);
	ztp_lite_free(NULL);
	ck_assert_str_eq(ztp_lite_error(NULL), "");
	ck_assert_uint_eq(ztp_lite_counter(NULL, ZTP_LITE_HANDSHAKES), 0);
}
END_TEST

/* ------------------------------------------------------------------ a
 * server in RAM: connect reports the notAfter of its certificate (or
 * refuses it), recv gives one canned answer, the key generator a fixed
 * blob; the CSR is unsupported, so a bootstrap stops right after the
 * challenge answer. */

static struct {
	int connect_rc;		/* what connect returns */
	int64_t peer_not_after; /* what it reports */
	int connects;
	const char *answer; /* the answer recv gives, once per connection */
	size_t pos;
	char events[2048];
} g_srv;

static int srv_connect(void *ctx, void **conn, ztp_port_tls *tls)
{
	(void)ctx;
	g_srv.connects++;
	ck_assert_int_eq(tls->peer_not_after, 0);
	ck_assert(!tls->clock_known);
	if (g_srv.connect_rc < 0)
		return g_srv.connect_rc;
	tls->peer_not_after = g_srv.peer_not_after;
	g_srv.pos = 0;
	*conn = &g_srv;
	return ZTP_OK;
}
static int srv_send(void *ctx, void *conn, const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)d;
	(void)n;
	ck_assert_ptr_eq(conn, &g_srv);
	return ZTP_OK;
}
static int srv_recv(void *ctx, void *conn, uint8_t *b, size_t c, size_t *g)
{
	size_t n = strlen(g_srv.answer) - g_srv.pos;

	(void)ctx;
	ck_assert_ptr_eq(conn, &g_srv);
	if (n > c)
		n = c;
	memcpy(b, g_srv.answer + g_srv.pos, n);
	g_srv.pos += n;
	*g = n;
	return ZTP_OK;
}
static int srv_keygen(void *ctx, uint8_t *k, size_t c, size_t *l)
{
	(void)ctx;
	ck_assert_uint_ge(c, 4);
	memcpy(k, "key1", 4);
	*l = 4;
	return ZTP_OK;
}
static void srv_event(const char *json, void *ctx)
{
	size_t n = strlen(g_srv.events);

	(void)ctx;
	snprintf(g_srv.events + n, sizeof(g_srv.events) - n, "%s\n", json);
}

/* 1800000000 is 2027-01-15T08:00:00Z. */
#define SRV_CHALLENGE                                                          \
	"{\"nonce\":\"n0\",\"expires_at\":\"2027-01-15T08:05:00Z\","           \
	"\"server_time\":\"2027-01-15T08:00:00Z\"}"

static void srv_setup(void)
{
	static char answer[256];

	port_setup();
	memset(&g_srv, 0, sizeof(g_srv));
	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(SRV_CHALLENGE), SRV_CHALLENGE);
	g_srv.answer = answer;
	g_port.connect = srv_connect;
	g_port.send = srv_send;
	g_port.recv = srv_recv;
	g_port.key_generate = srv_keygen;
	g_opts.events = srv_event;
}

/* A bootstrap in no-clock mode up to the CSR: the floor afterwards. */
static int64_t floor_after_challenge(void)
{
	ztp_lite *d = NULL;
	int64_t f = 0;

	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_bootstrap(d), ZTP_EUNSUPPORTED);
	ck_assert_str_eq(ztp_lite_error(d), "CSR: the port failed");
	ck_assert_int_eq(g_srv.connects, 1);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ztp_lite_free(d);
	return f;
}

/* The server's time raises the floor when it is before the notAfter of
 * the server certificate it came with... */
START_TEST(server_time_below_peer_not_after_raises)
{
	g_srv.peer_not_after = 1800000001;
	ck_assert_int_eq(floor_after_challenge(), 1800000000);
	ck_assert_ptr_nonnull(strstr(g_srv.events, "\"step\":\"server_time\""));
	ck_assert_ptr_null(strstr(g_srv.events, "\"step\":\"refused\""));
}
END_TEST

/* ...and not at or past it, nor when the port cannot tell: the floor
 * stays at the build time and an event says why. */
START_TEST(server_time_at_peer_not_after_ignored)
{
	static const int64_t na[] = {1800000000, 1799999999, 0};
	char want[160];

	g_srv.peer_not_after = na[_i];
	ck_assert_int_eq(floor_after_challenge(), 1700000000);
	ck_assert_int_lt(ram_find(&g_ram, "time-floor"), 0);
	snprintf(want, sizeof(want),
		 "{\"event\":\"device.step\",\"operation\":\"clock\","
		 "\"step\":\"refused\",\"server_time\":1800000000,"
		 "\"peer_not_after\":%lld}",
		 (long long)na[_i]);
	ck_assert_ptr_nonnull(strstr(g_srv.events, want));
	ck_assert_ptr_null(strstr(g_srv.events, "\"step\":\"server_time\""));
}
END_TEST

/* Version 2 of the port interface: a key is generated for the blob it
 * goes to (ztp_port::key_generate_named), which then holds what that
 * returned; a port of version 1, whose struct ends before the member, is
 * still taken and its key_generate used (the member is never read). */
static char g_named[40];
static int srv_keygen_named(void *ctx, const char *name, uint8_t *k, size_t c,
			    size_t *l)
{
	(void)ctx;
	snprintf(g_named, sizeof(g_named), "%s", name);
	ck_assert_uint_ge(c, 6);
	memcpy(k, "named1", 6);
	*l = 6;
	return ZTP_OK;
}

START_TEST(key_generated_for_its_blob)
{
	int i;

	g_named[0] = '\0';
	g_port.key_generate_named = srv_keygen_named;
	g_srv.peer_not_after = 1800000001;
	(void)floor_after_challenge();
	ck_assert_str_eq(g_named, "bootstrap.a.key");
	i = ram_find(&g_ram, "bootstrap.a.key");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(g_ram.blob[i].len, 6);
	ck_assert_mem_eq(g_ram.blob[i].data, "named1", 6);

	/* The same port declared as version 1. */
	ck_assert_uint_eq(g_ram.in_use, 0);
	memset(&g_ram, 0, sizeof(g_ram));
	g_named[0] = '\0';
	g_srv.pos = 0;
	g_srv.connects = 0;
	g_port.version = 1;
	(void)floor_after_challenge();
	ck_assert_str_eq(g_named, "");
	i = ram_find(&g_ram, "bootstrap.a.key");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(g_ram.blob[i].len, 4);
	ck_assert_mem_eq(g_ram.blob[i].data, "key1", 4);
}
END_TEST

/* The challenge answer is read by the protocol's rules (core/protocol.c),
 * as ztp_device(3) reads it: a device without a clock that asked for the
 * server's time refuses an answer without it; a nonce with a space or an
 * unknown member is refused too; the floor stays. */
START_TEST(challenge_answer_checked)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
	    {"{\"nonce\":\"n0\",\"expires_at\":\"2027-01-15T08:05:00Z\"}",
	     "challenge answer: no server_time (the verifier predates devices "
	     "without a trustworthy clock)"},
	    {"{\"nonce\":\"n 0\",\"expires_at\":\"2027-01-15T08:05:00Z\","
	     "\"server_time\":\"2027-01-15T08:00:00Z\"}",
	     "challenge answer: nonce empty or not printable ASCII"},
	    {"{\"nonce\":\"n0\",\"expires_at\":\"2027-01-15T08:05:00Z\","
	     "\"server_time\":\"2027-01-15T08:00:00Z\",\"x\":1}",
	     "challenge answer: unknown member: x"},
	};
	static char answer[512];
	ztp_lite *d = NULL;
	int64_t f = 0;

	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(bad[_i].body), bad[_i].body);
	g_srv.answer = answer;
	g_srv.peer_not_after = 1800000001;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_bootstrap(d), ZTP_EPARSE);
	ck_assert_str_eq(ztp_lite_error(d), bad[_i].why);
	ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
	ck_assert_int_eq(f, 1700000000);
	ck_assert_int_lt(ram_find(&g_ram, "time-floor"), 0);
	ztp_lite_free(d);
}
END_TEST

/* ------------------------------------------------------------------ a
 * device with its credentials in RAM: the check-in, and the trust bundle
 * its answer carries. cert_info vouches for any certificate; the "hash"
 * is a fold of the bytes, enough for the core to tell blobs apart. */

#define TB_PEM "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
#define TB_ANSWER                                                              \
	"{\"tenant\":null,\"namespace\":null,\"policy\":null,"                 \
	"\"trust_bundle\":[\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END "   \
	"CERTIFICATE-----\\n\"]}"

static struct {
	int anchored;	      /* connections asked to trust the bundle */
	bool refuse_anchored; /* such a connection fails verification */
} g_tb;

static int tb_cert(void *ctx, const char *p, size_t l, const uint8_t *k,
		   size_t kl, ztp_port_cert_info *i)
{
	(void)ctx;
	(void)p;
	(void)l;
	(void)k;
	(void)kl;
	memset(i, 0, sizeof(*i));
	i->not_before = 1700000000 - 100;
	i->not_after = 1700000000 + 100000000;
	memcpy(i->device_id, "dev-1", 6);
	i->key_matches = 1;
	return ZTP_OK;
}

static int tb_sha(void *ctx, const uint8_t *d, size_t l, uint8_t o[32])
{
	size_t k;

	(void)ctx;
	memset(o, 0, 32);
	for (k = 0; k < l; k++)
		o[k % 32] = (uint8_t)(o[k % 32] * 31 + d[k]);
	return ZTP_OK;
}

static int tb_connect(void *ctx, void **conn, ztp_port_tls *tls)
{
	if (tls->anchors != NULL) {
		g_tb.anchored++;
		ck_assert_uint_eq(tls->anchors_len, strlen(TB_PEM));
		ck_assert(memcmp(tls->anchors, TB_PEM, tls->anchors_len) == 0);
		if (g_tb.refuse_anchored)
			return ZTP_EUNTRUSTED;
	}
	return srv_connect(ctx, conn, tls);
}

/* A handle whose storage holds a current operational credential and
 * the registration it was registered with: nothing is due. */
static ztp_lite *tb_device(void)
{
	static char answer[512];
	ztp_lite *d = NULL;

	memset(&g_ram.blob, 0, sizeof(g_ram.blob));
	memset(&g_tb, 0, sizeof(g_tb));
	g_srv.events[0] = '\0';
	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(TB_ANSWER), TB_ANSWER);
	g_srv.answer = answer;
	g_port.connect = tb_connect;
	g_port.cert_info = tb_cert;
	g_port.sha256 = tb_sha;
	g_opts.device_type = "sensor";
	g_opts.firmware_version = "1.0";
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ram_store(&g_ram, "registration",
				   (const uint8_t *)d->reg, d->reg_len),
			 ZTP_OK);
	ck_assert_int_eq(ram_store(&g_ram, "operational.manifest",
				   (const uint8_t *)"ZTP1 c=a p=-\n", 13),
			 ZTP_OK);
	ck_assert_int_eq(
	    ram_store(&g_ram, "operational.a.key", (const uint8_t *)"key1", 4),
	    ZTP_OK);
	ck_assert_int_eq(ram_store(&g_ram, "operational.a.cert",
				   (const uint8_t *)"CERT\n", 5),
			 ZTP_OK);
	return d;
}

/* Nothing due: the run checks in; the answer's bundle is stored, probed
 * over a connection trusting it alone and committed, then trusted by
 * the next check-in's connection and not taken again. A bundle the probe
 * cannot verify the server with is rolled back: nothing kept. */
START_TEST(check_in_takes_the_trust_bundle)
{
	ztp_lite *d = tb_device();
	unsigned int did = 1;
	int i;

	g_tb.refuse_anchored = _i == 1;
	ck_assert_int_eq(ztp_lite_run(d, &did), ZTP_OK);
	ck_assert_uint_eq(did, 0);
	ck_assert_int_eq(g_tb.anchored, 1);
	ck_assert_ptr_nonnull(strstr(g_srv.events, "\"step\":\"stored\""));
	if (_i == 1) {
		ck_assert_ptr_nonnull(
		    strstr(g_srv.events, "\"step\":\"rolled_back\""));
		ck_assert_int_lt(ram_find(&g_ram, "trust.manifest"), 0);
		ck_assert_int_lt(ram_find(&g_ram, "trust.a"), 0);
		ztp_lite_free(d);
		return;
	}
	ck_assert_ptr_nonnull(strstr(g_srv.events, "\"step\":\"committed\""));
	i = ram_find(&g_ram, "trust.a");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(g_ram.blob[i].len, strlen(TB_PEM));
	ck_assert(memcmp(g_ram.blob[i].data, TB_PEM, strlen(TB_PEM)) == 0);
	i = ram_find(&g_ram, "trust.manifest");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(g_ram.blob[i].len, 76);
	ck_assert(memcmp(g_ram.blob[i].data, "ZTP1 c=a h=", 11) == 0);
	g_srv.events[0] = '\0';
	ck_assert_int_eq(ztp_lite_run(d, &did), ZTP_OK);
	ck_assert_int_eq(g_tb.anchored, 2);
	ck_assert_ptr_null(strstr(g_srv.events, "\"step\":\"stored\""));
	/* The committed bundle changed in storage: refused, not used. */
	i = ram_find(&g_ram, "trust.a");
	g_ram.blob[i].data[30] = 'B';
	ck_assert_int_eq(ztp_lite_run(d, &did), ZTP_EMISMATCH);
	ck_assert_str_eq(ztp_lite_error(d),
			 "trust.a: not the trust bundle that was committed");
	ck_assert_int_eq(g_tb.anchored, 2);
	ztp_lite_free(d);
}
END_TEST

/* An assignment answer that breaks its closed schema is refused
 * (ZTP_EPARSE), and nothing of it is kept: no brokers, no trust bundle. */
START_TEST(check_in_refuses_bad_answers)
{
	static const char *const bad[] = {
	    "{\"tenant\":null,\"colour\":\"blue\"}",
	    "{\"tenant\":\"not a tenant\"}",
	    "{\"tenant\":null,\"policy\":[]}",
	    "{\"tenant\":null,\"namespace\":\"a/+/b\"}",
	    "{\"tenant\":null,\"brokers\":[]}",
	    "{\"tenant\":null,\"brokers\":[\"mqtts://a b\"]}",
	    "{\"tenant\":null,\"brokers\":[\"m1\",\"m2\",\"m3\",\"m4\",\"m5\","
	    "\"m6\",\"m7\",\"m8\",\"m9\"]}",
	    "{\"tenant\":null,\"trust_bundle\":\"PEM\"}",
	    "{\"tenant\":null,\"trust_bundle\":[1]}",
	};
	static char answer[512];
	ztp_lite *d = tb_device();

	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(bad[_i]), bad[_i]);
	g_srv.answer = answer;
	ck_assert_int_eq(ztp_lite_run(d, NULL), ZTP_EPARSE);
	ck_assert_ptr_nonnull(strstr(ztp_lite_error(d), "assignment answer"));
	ck_assert_int_lt(ram_find(&g_ram, "brokers"), 0);
	ck_assert_int_lt(ram_find(&g_ram, "trust.a"), 0);
	ck_assert_int_lt(ram_find(&g_ram, "trust.manifest"), 0);
	ck_assert_int_eq(g_tb.anchored, 0);
	ztp_lite_free(d);
}
END_TEST

/* A namespace of exactly ZTP__NAMESPACE_MAX bytes is one the rule
 * allows: the check-in answer carrying it is taken. */
START_TEST(check_in_takes_the_longest_namespace)
{
	static char answer[1024];
	char body[600];
	ztp_lite *d = tb_device();
	int n;

	n = snprintf(body, sizeof(body), "{\"tenant\":null,\"namespace\":\"");
	memset(body + n, 'n', ZTP__NAMESPACE_MAX);
	snprintf(body + n + ZTP__NAMESPACE_MAX,
		 sizeof(body) - (size_t)n - ZTP__NAMESPACE_MAX, "\"}");
	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	g_srv.answer = answer;
	ck_assert_int_eq(ztp_lite_run(d, NULL), ZTP_OK);
	ztp_lite_free(d);
}
END_TEST

/* Every allocation of that run failing in turn: ZTP_ENOMEM or done,
 * nothing held afterwards, and the bundle committed or not at all. */
START_TEST(check_in_allocation_failures)
{
	ztp_lite *d;
	long n;
	int rc;

	for (n = 1; n < 24; n++) {
		d = tb_device();
		g_ram.allocs = 0;
		g_ram.fail_at = n;
		rc = ztp_lite_run(d, NULL);
		g_ram.fail_at = 0;
		ck_assert(rc == ZTP_ENOMEM || rc == ZTP_OK);
		if (ram_find(&g_ram, "trust.manifest") >= 0)
			ck_assert_int_ge(ram_find(&g_ram, "trust.a"), 0);
		ztp_lite_free(d);
		ck_assert_uint_eq(g_ram.in_use, 0);
	}
}
END_TEST

/* A server certificate the port refuses is a TLS failure, ZTP_ENETWORK as
 * for ztp_device(3), and is not retried. */
START_TEST(server_refused_is_not_retried)
{
	static const int codes[] = {ZTP_EUNTRUSTED, ZTP_EEXPIRED};
	ztp_lite *d = NULL;

	g_srv.connect_rc = codes[_i];
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_bootstrap(d), ZTP_ENETWORK);
	ck_assert_int_eq(g_srv.connects, 1);
	ck_assert_uint_eq(ztp_lite_counter(d, ZTP_LITE_HANDSHAKES), 0);
	ck_assert_ptr_nonnull(strstr(ztp_lite_error(d),
				     "challenge: cannot connect to the server "
				     "over TLS"));
	ztp_lite_free(d);
	/* A network failure is retried (max_attempts, default 5). */
	g_srv.connects = 0;
	g_srv.connect_rc = ZTP_ENETWORK;
	ck_assert_int_eq(ztp_lite_new(&d, &g_port, &g_opts), ZTP_OK);
	ck_assert_int_eq(ztp_lite_bootstrap(d), ZTP_ENETWORK);
	ck_assert_int_eq(g_srv.connects, 5);
	ztp_lite_free(d);
}
END_TEST

/* Allocation N fails, for every N the calls make: a clean error, nothing
 * held afterwards (port_teardown checks the port's count). */
START_TEST(allocation_failures)
{
	ztp_lite *d = NULL;
	int64_t f = 0;
	long n;
	int rc;

	g_opts.device_type = "sensor";
	g_opts.firmware_version = "1.0";
	for (n = 1; n < 32; n++) {
		g_ram.allocs = 0;
		g_ram.fail_at = n;
		rc = ztp_lite_new(&d, &g_port, &g_opts);
		if (rc == ZTP_OK) {
			rc = ztp_lite_run(d, NULL);
			ck_assert(rc == ZTP_ENOMEM || rc == ZTP_EUNSUPPORTED);
			ck_assert_int_eq(ztp_lite_time_floor(d, &f), ZTP_OK);
			ztp_lite_free(d);
			d = NULL;
		} else {
			ck_assert_int_eq(rc, ZTP_ENOMEM);
			ck_assert_ptr_null(d);
		}
		ck_assert_uint_eq(g_ram.in_use, 0);
	}
	g_ram.fail_at = 0;
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("devcore");
	TCase *tc;

	tc = tcase_create("json");
	tcase_add_test(tc, json_reads_members);
	tcase_add_test(tc, json_only_names_the_stranger);
	tcase_add_loop_test(tc, json_refuses, 0,
			    (int)(sizeof(json_bad) / sizeof(json_bad[0])));
	tcase_add_test(tc, json_bounds_members);
	tcase_add_test(tc, json_writes);
	suite_add_tcase(s, tc);

	tc = tcase_create("http");
	tcase_add_test(tc, http_parses_heads);
	tcase_add_loop_test(tc, http_refuses, 0,
			    (int)(sizeof(http_bad) / sizeof(http_bad[0])));
	tcase_add_test(tc, http_bounds_the_head);
	tcase_add_test(tc, http_writes_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("encodings");
	tcase_add_test(tc, base64_vectors);
	tcase_add_test(tc, pem_to_der);
	tcase_add_test(tc, der_serial);
	tcase_add_test(tc, rfc3339_format);
	tcase_add_test(tc, url_parses);
	tcase_add_test(tc, proxy_url_and_answer);
	tcase_add_test(tc, transcript_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("handle");
	tcase_add_checked_fixture(tc, port_setup, port_teardown);
	tcase_add_test(tc, floor_only_moves_forward);
	tcase_add_test(tc, clock_behind_the_floor);
	tcase_add_test(tc, floor_corrupt_is_refused);
	tcase_add_test(tc, manifest_corrupt_is_refused);
	tcase_add_test(tc, new_checks_arguments);
	tcase_add_test(tc, allocation_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, srv_setup, port_teardown);
	tcase_add_test(tc, server_time_below_peer_not_after_raises);
	tcase_add_test(tc, key_generated_for_its_blob);
	tcase_add_loop_test(tc, server_time_at_peer_not_after_ignored, 0, 3);
	tcase_add_loop_test(tc, challenge_answer_checked, 0, 3);
	tcase_add_loop_test(tc, server_refused_is_not_retried, 0, 2);
	tcase_add_loop_test(tc, check_in_takes_the_trust_bundle, 0, 2);
	tcase_add_loop_test(tc, check_in_refuses_bad_answers, 0, 9);
	tcase_add_test(tc, check_in_takes_the_longest_namespace);
	tcase_add_test(tc, check_in_allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
