/*
 * libztp — the part of core that needs nothing but the C standard library:
 * the identifier grammar, civil-date arithmetic and RFC 3339 parsing, the
 * status table and the length-tracked buffer type. core/internal.h builds
 * its checked helpers on these; the portable device core (libztp/devcore)
 * uses them directly, so both libraries share one definition of each
 * fact. Never installed; nothing here sets the thread's error detail.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_CORE_PORTABLE_H
#define ZTP_CORE_PORTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ztp/common.h>

/* Length-tracked byte buffer for untrusted data (helpers: core/mem.c). */
typedef struct ztp__buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} ztp__buf;

/* The identifier grammar [A-Za-z0-9][A-Za-z0-9._-]{0,63} (idchar.c):
 * whether c may start an identifier, and whether it may follow. */
bool ztp__id_first(unsigned char c);
bool ztp__id_rest(unsigned char c);
/* The length of NUL-terminated s if it is a valid identifier, else 0
 * (then ztp__id_check() says why). Reads at most ZTP_ID_MAX + 1 bytes. */
size_t ztp__id_len(const char *s);

/* The value of one hex digit of either case, or -1 (idchar.c). */
int ztp__hex_value(unsigned char c);
/* The 6-bit value of a character of the standard base64 alphabet, or -1
 * (idchar.c). */
int ztp__b64_value(unsigned char c);
/* Standard base64 of in[0..n) into out, with padding, NUL-terminated; the
 * length written, 0 if it does not fit in cap bytes (idchar.c). */
size_t ztp__b64(char *out, size_t cap, const uint8_t *in, size_t n);

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian;
 * H. Hinnant's days_from_civil), m 1..12, d 1..31 (civil.c). */
int64_t ztp__days_from_civil(int64_t y, int m, int d);
/* Days in month m (1..12) of year y. */
int ztp__days_in_month(int64_t y, int m);

/*
 * RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm),
 * exactly len bytes at s (no NUL needed). Strict: upper-case 'T' and 'Z'
 * only, fraction of 1 to 9 digits (truncated), no leap second, nothing
 * after the offset. ZTP_OK with *out the seconds since the epoch, or
 * ZTP_EPARSE with *why a fixed English reason.
 */
int ztp__rfc3339_parse(int64_t *out, const char *s, size_t len,
		       const char **why);

/* t as RFC 3339 in UTC, "YYYY-MM-DDTHH:MM:SSZ" (always 20 characters and
 * a NUL): clamped to years 0000..9999, so that a stamp out of range is
 * visibly wrong rather than wrapped. */
#define ZTP__RFC3339_LEN 20
void ztp__rfc3339_format(char out[ZTP__RFC3339_LEN + 1], int64_t t);

/* The bytes a URL of a device configuration may hold: printable ASCII
 * without space, '?', '#', '\\', '"', '<' or '>' (url.c). */
bool ztp__url_char(unsigned char c);

/* An HTTP proxy URL, "http://HOST:PORT" with an optional trailing "/"
 * (ztp-device.json(5) "proxy"): HOST a name, an IPv4 address or a
 * bracketed IPv6 one; no user information, path, query or fragment. */
#define ZTP__PROXY_URL_MAX 512
#define ZTP__PROXY_HOST_MAX 255
typedef struct ztp__proxy {
	char host[ZTP__PROXY_HOST_MAX + 1]; /* without brackets */
	uint16_t port;
	size_t url_len; /* of the URL without its trailing "/" */
} ztp__proxy;
/* Parse NUL-terminated url into out: ZTP_OK, or ZTP_EINVAL with *why a
 * fixed English reason. */
int ztp__proxy_parse(ztp__proxy *out, const char *url, const char **why);
/* The status of a proxy's answer head to CONNECT, n bytes ending in the
 * empty line: "HTTP/1.0" or "HTTP/1.1", a space, three digits (100..599),
 * a space or the line's end. ZTP_OK with *status, else ZTP_EPARSE. */
int ztp__proxy_status(const char *head, size_t n, int *status);

#endif /* ZTP_CORE_PORTABLE_H */
