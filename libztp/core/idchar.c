/*
 * libztp — character classes, C standard library only (core/portable.h):
 * the identifier grammar's, hexadecimal digits and base64; shared by the
 * library and the portable device core.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/portable.h"

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}. A table rather than <ctype.h>, whose
 * answers depend on the locale; identifiers are checked on every policy
 * decision that names one. Bit 1: may start an identifier; bit 2: may
 * follow. */
#define ID_FIRST 1
#define ID_REST 2
#define ID_ALNUM (ID_FIRST | ID_REST)
#define ID_10(x) x, x, x, x, x, x, x, x, x, x
/* clang-format off */
static const unsigned char id_class[256] = {
    ['-'] = ID_REST, ['.'] = ID_REST, ['_'] = ID_REST,
    ['0'] = ID_10(ID_ALNUM),
    ['A'] = ID_10(ID_ALNUM), ID_10(ID_ALNUM), ID_ALNUM, ID_ALNUM, ID_ALNUM,
    ID_ALNUM, ID_ALNUM, ID_ALNUM,
    ['a'] = ID_10(ID_ALNUM), ID_10(ID_ALNUM), ID_ALNUM, ID_ALNUM, ID_ALNUM,
    ID_ALNUM, ID_ALNUM, ID_ALNUM,
};
/* clang-format on */

bool ztp__id_first(unsigned char c)
{
	return id_class[c] & ID_FIRST;
}

bool ztp__id_rest(unsigned char c)
{
	return id_class[c] & ID_REST;
}

size_t ztp__id_len(const char *s)
{
	size_t i;

	if (!ztp__id_first((unsigned char)s[0]))
		return 0;
	for (i = 1; i <= ZTP_ID_MAX; i++) {
		if (s[i] == '\0')
			return i;
		if (!ztp__id_rest((unsigned char)s[i]))
			return 0;
	}
	return 0; /* longer than ZTP_ID_MAX */
}

int ztp__hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Explicit ranges, not a table indexed by untrusted bytes or <ctype.h>
 * (locale-dependent). */
int ztp__b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

size_t ztp__b64(char *out, size_t cap, const uint8_t *in, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3 || (n + 2) / 3 * 4 >= cap)
		return 0;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
