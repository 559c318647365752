/*
 * libztp — the portable device core's HTTP/1.1: the request head it
 * writes and the response head it accepts (Content-Length bodies only,
 * keep-alive, bounded sizes, Retry-After in seconds), base64 and the
 * server URL.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "devcore/internal.h"

#include <string.h>

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The header name n[0..nl) is name (ASCII, case-insensitive). */
static bool name_is(const char *n, size_t nl, const char *name)
{
	size_t i;

	if (strlen(name) != nl)
		return false;
	for (i = 0; i < nl; i++)
		if (lower(n[i]) != name[i])
			return false;
	return true;
}

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Decimal digits only, at most max; -1 when not a number, max + 1 when
 * over max. */
static int64_t decimal(const char *v, size_t n, int64_t max)
{
	int64_t acc = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (acc <= max)
			acc = acc * 10 + (v[i] - '0');
	}
	return acc > max ? max + 1 : acc;
}

/* Whether the comma-separated token list v[0..n) holds "close". */
static bool has_close(const char *v, size_t n)
{
	size_t i = 0, st, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
			i++;
		st = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > st && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (name_is(v + st, e - st, "close"))
			return true;
	}
	return false;
}

int ztp__http_head_parse(ztp__http_head *h, const uint8_t *buf, size_t len,
			 size_t max_head, size_t max_body, const char **why)
{
	const char *s = (const char *)buf;
	size_t end = 0, i, ls, le, c, vs, ve;
	int64_t cl = -1, v;
	bool http10;

	memset(h, 0, sizeof(*h));
	h->retry_after = -1;
	*why = "";
	for (i = 0; i + 3 < len && i + 4 <= max_head; i++)
		if (memcmp(s + i, "\r\n\r\n", 4) == 0) {
			end = i + 4;
			break;
		}
	if (end == 0) {
		if (len >= max_head) {
			*why = "HTTP: response head too large";
			return ZTP_ETOOBIG;
		}
		return 1;
	}
	/* Status line: HTTP/1.x SP 3DIGIT SP reason. */
	if (end < 14 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
	    (s[12] != ' ' && s[12] != '\r') || s[9] < '1' || s[9] > '5' ||
	    decimal(s + 9, 3, 999) < 0) {
		*why = "HTTP: bad status line";
		return ZTP_EPARSE;
	}
	http10 = s[7] == '0';
	h->status = (int)decimal(s + 9, 3, 999);
	if (h->status < 200) {
		*why = "HTTP: informational answers are not expected";
		return ZTP_EPARSE;
	}
	h->close = http10;
	for (ls = 12; s[ls] != '\r'; ls++)
		if ((unsigned char)s[ls] < 0x20 && s[ls] != '\t') {
			*why = "HTTP: control character in the status line";
			return ZTP_EPARSE;
		}
	ls += 2;
	while (ls < end - 2) {
		for (le = ls; s[le] != '\r'; le++)
			;
		if (s[le + 1] != '\n') {
			*why = "HTTP: bare CR in a header";
			return ZTP_EPARSE;
		}
		for (c = ls; c < le && tchar(s[c]); c++)
			;
		if (c == ls || c == le || s[c] != ':') {
			*why = "HTTP: malformed header line";
			return ZTP_EPARSE;
		}
		for (vs = c + 1; vs < le && (s[vs] == ' ' || s[vs] == '\t');
		     vs++)
			;
		for (ve = le;
		     ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'); ve--)
			;
		for (i = vs; i < ve; i++)
			if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
			    s[i] == 0x7f || s[i] == '\n') {
				*why = "HTTP: control character in a header";
				return ZTP_EPARSE;
			}
		if (name_is(s + ls, c - ls, "content-length")) {
			v = decimal(s + vs, ve - vs, (int64_t)max_body);
			if (v < 0 || (cl >= 0 && v != cl)) {
				*why = "HTTP: bad Content-Length";
				return ZTP_EPARSE;
			}
			if (v > (int64_t)max_body) {
				*why = "HTTP: response body too large";
				return ZTP_ETOOBIG;
			}
			cl = v;
		} else if (name_is(s + ls, c - ls, "transfer-encoding")) {
			*why = "HTTP: Transfer-Encoding is not supported";
			return ZTP_EUNSUPPORTED;
		} else if (name_is(s + ls, c - ls, "connection")) {
			if (has_close(s + vs, ve - vs))
				h->close = true;
			else if (http10)
				h->close =
				    !name_is(s + vs, ve - vs, "keep-alive");
		} else if (name_is(s + ls, c - ls, "retry-after")) {
			/* Seconds only; an HTTP-date is ignored. */
			v = decimal(s + vs, ve - vs, ZTP__RETRY_AFTER_MAX_S);
			if (v >= 0)
				h->retry_after = v > ZTP__RETRY_AFTER_MAX_S
						     ? ZTP__RETRY_AFTER_MAX_S
						     : v;
		}
		ls = le + 2;
	}
	if (cl < 0) {
		if (h->status != 204 && h->status != 304) {
			*why = "HTTP: answer without Content-Length";
			return ZTP_EPARSE;
		}
		cl = 0;
	}
	h->content_length = (size_t)cl;
	h->head_len = end;
	return ZTP_OK;
}

/* Append s to out at *n (cap bytes); false once it does not fit. */
static bool put(char *out, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (l >= cap - *n)
		return false;
	memcpy(out + *n, s, l + 1);
	*n += l;
	return true;
}

size_t ztp__udec(char out[24], uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t ztp__http_request_head(char *out, size_t cap, const char *host,
			      uint16_t port, const char *path, size_t body_len)
{
	char num[24], pnum[24];
	size_t n = 0;

	if (cap == 0)
		return 0;
	ztp__udec(num, body_len);
	ztp__udec(pnum, port);
	if (!put(out, cap, &n, "POST ") || !put(out, cap, &n, path) ||
	    !put(out, cap, &n, " HTTP/1.1\r\nHost: ") ||
	    !put(out, cap, &n, host) || !put(out, cap, &n, ":") ||
	    !put(out, cap, &n, pnum) ||
	    !put(out, cap, &n,
		 "\r\nContent-Type: application/json\r\n"
		 "Accept: application/json\r\nContent-Length: ") ||
	    !put(out, cap, &n, num) || !put(out, cap, &n, "\r\n\r\n"))
		return 0;
	return n;
}

/* The offset just past the first occurrence of the NUL-terminated word in
 * s[0..len), or 0 when it does not occur. */
static size_t find_after(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(s + i, word, n) == 0)
			return i + n;
	return 0;
}

size_t ztp__pem_der(uint8_t *out, size_t cap, const char *pem, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----",
			  end[] = "-----END CERTIFICATE-----";
	size_t p = find_after(pem, len, begin), o = 0, pad = 0, e;
	uint32_t v = 0;
	int k = 0, x;

	if (p == 0 || (e = find_after(pem + p, len - p, end)) == 0)
		return 0;
	e = p + e - (sizeof(end) - 1); /* where the end line starts */
	for (; p < e; p++) {
		unsigned char c = (unsigned char)pem[p];

		if (c == '\n' || c == '\r')
			continue;
		if (c == '=' && k >= 2 && pad < 2) {
			pad++;
			x = 0;
		} else if (pad > 0 || (x = ztp__b64_value(c)) < 0) {
			return 0; /* a stray byte, or data after padding */
		}
		v = v << 6 | (uint32_t)x;
		if (++k < 4)
			continue;
		if (o + 3 - pad > cap)
			return 0;
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
		v = 0;
		k = 0;
	}
	return k == 0 ? o : 0;
}

/* A DER tag and length at der[*pos] (at most end): the content's offset
 * in *pos and its length in *len; false when malformed or past end. */
static bool der_item(const uint8_t *der, size_t end, size_t *pos, unsigned tag,
		     size_t *len)
{
	size_t p = *pos, n, k;

	if (p + 2 > end || der[p] != tag)
		return false;
	n = der[p + 1];
	p += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || p + k > end)
			return false;
		for (n = 0; k > 0; k--)
			n = n << 8 | der[p++];
	}
	if (n > end - p)
		return false;
	*pos = p;
	*len = n;
	return true;
}

size_t ztp__der_serial_hex(char *out, size_t cap, const uint8_t *der, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t p = 0, len = 0, o = 0, i;

	/* Certificate and TBSCertificate SEQUENCEs, the optional [0]
	 * version, then the serialNumber INTEGER. */
	if (!der_item(der, n, &p, 0x30, &len) ||
	    !der_item(der, p + len, &p, 0x30, &len))
		return 0;
	n = p + len;
	if (p < n && der[p] == 0xa0) {
		if (!der_item(der, n, &p, 0xa0, &len))
			return 0;
		p += len;
	}
	if (!der_item(der, n, &p, 0x02, &len) || len == 0 ||
	    (der[p] & 0x80) != 0)
		return 0; /* not a positive INTEGER */
	for (; len > 0 && der[p] == 0; len--)
		p++;
	if (len == 0 || 2 * len >= cap)
		return 0; /* zero, or over cap */
	for (i = 0; i < len; i++) {
		if (i > 0 || der[p] >> 4 != 0)
			out[o++] = hex[der[p + i] >> 4];
		out[o++] = hex[der[p + i] & 15];
	}
	out[o] = '\0';
	return o;
}

int ztp__url_parse(const char *url, char *host, size_t cap, uint16_t *port)
{
	const char *h, *e, *colon;
	size_t hl;
	int64_t p = 443;

	if (strncmp(url, "https://", 8) != 0)
		return ZTP_EINVAL;
	h = url + 8;
	e = h + strlen(h);
	if (e > h && e[-1] == '/')
		e--; /* one trailing '/' */
	colon = NULL;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (rb == NULL)
			return ZTP_EINVAL;
		if (rb + 1 < e) {
			if (rb[1] != ':')
				return ZTP_EINVAL;
			colon = rb + 1;
		}
		h++;
		hl = (size_t)(rb - h);
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
		hl = (size_t)((colon != NULL ? colon : e) - h);
	}
	if (colon != NULL) {
		p = decimal(colon + 1, (size_t)(e - colon - 1), 65535);
		if (p < 1 || p > 65535)
			return ZTP_EINVAL;
	}
	if (hl == 0 || hl >= cap)
		return ZTP_EINVAL;
	for (size_t i = 0; i < hl; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		      (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' ||
		      h[i] == '-' || h[i] == ':'))
			return ZTP_EINVAL; /* '/', '@', '?' ... */
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return ZTP_OK;
}
