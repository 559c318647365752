/*
 * libztp — the one UTF-8 decoder: well-formed UTF-8 as RFC 3629 defines
 * it (shortest form only, no UTF-16 surrogates, nothing above U+10FFFF),
 * used by the JSON reader, the store's text checks and the policy engine's
 * topic checks. Inline: the policy engine runs it on every decision.
 * Never installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_CORE_UTF8_H
#define ZTP_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode the sequence at p (left > 0 bytes available). Returns its length
 * (1 to 4) with the code point in *cp, or 0 when the bytes there are not
 * well-formed UTF-8, with *why saying how (a static string).
 */
static inline size_t ztp__utf8_next(const uint8_t *p, size_t left, uint32_t *cp,
				    const char **why)
{
	uint32_t c, min;
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2, c = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3, c = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		*why = "invalid UTF-8 lead byte";
		return 0;
	}
	if (left < n) {
		*why = "truncated UTF-8 sequence";
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*why = "invalid UTF-8 continuation byte";
			return 0;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min) {
		*why = "overlong UTF-8 sequence";
		return 0;
	}
	if (c >= 0xd800 && c <= 0xdfff) {
		*why = "UTF-8 encoded surrogate";
		return 0;
	}
	if (c > 0x10ffff) {
		*why = "UTF-8 beyond U+10FFFF";
		return 0;
	}
	*cp = c;
	return n;
}

/* Whether len bytes at p are well-formed UTF-8 throughout. */
static inline int ztp__utf8_valid(const void *p, size_t len)
{
	const uint8_t *s = p;
	const char *why;
	uint32_t cp;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = ztp__utf8_next(s + i, len - i, &cp, &why);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

#endif /* ZTP_CORE_UTF8_H */
