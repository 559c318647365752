/*
 * libztp — the one identifier grammar.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

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

static bool id_first(unsigned char c)
{
	return id_class[c] & ID_FIRST;
}

static bool id_rest(unsigned char c)
{
	return id_class[c] & ID_REST;
}

int ztp__id_check(const char *id, size_t len, const char *what)
{
	size_t i;

	if (what == NULL)
		what = "identifier";
	if (id == NULL)
		return ztp__err(ZTP_EINVAL, "%s: missing", what);
	if (len == 0)
		return ztp__err(ZTP_EINVAL, "%s: empty", what);
	if (len > ZTP_ID_MAX)
		return ztp__err(ZTP_EINVAL, "%s: longer than %d characters",
				what, ZTP_ID_MAX);
	if (!id_first((unsigned char)id[0]))
		return ztp__err(ZTP_EINVAL,
				"%s: must start with a letter or digit", what);
	for (i = 1; i < len; i++)
		if (!id_rest((unsigned char)id[i]))
			return ztp__err(
			    ZTP_EINVAL,
			    "%s: character %zu (0x%02x) not allowed", what, i,
			    (unsigned char)id[i]);
	return ZTP_OK;
}

int ztp__id_pattern_check(const char *pattern, size_t len, const char *what)
{
	size_t i;

	if (pattern == NULL)
		return ztp__err(ZTP_EINVAL, "%s: missing", what);
	if (len == 0 || len > ZTP_ID_MAX)
		return ztp__err(ZTP_EINVAL, "%s: need 1..%d characters", what,
				ZTP_ID_MAX);
	for (i = 0; i < len; i++)
		if (pattern[i] != '*' && pattern[i] != '?' &&
		    !id_rest((unsigned char)pattern[i]))
			return ztp__err(
			    ZTP_EINVAL,
			    "%s: character %zu (0x%02x) not allowed", what, i,
			    (unsigned char)pattern[i]);
	return ZTP_OK;
}

/* Greedy glob matching with backtracking to the last '*' only: the
 * classic linear-time algorithm, no recursion. */
bool ztp__id_pattern_match(const char *pattern, const char *id)
{
	const char *p = pattern, *s = id, *star = NULL, *mark = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			mark = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

size_t ztp__id_len(const char *s)
{
	size_t i;

	if (!(id_class[(unsigned char)s[0]] & ID_FIRST))
		return 0;
	for (i = 1; i <= ZTP_ID_MAX; i++) {
		if (s[i] == '\0')
			return i;
		if (!(id_class[(unsigned char)s[i]] & ID_REST))
			return 0;
	}
	return 0; /* longer than ZTP_ID_MAX */
}

int ztp_id_validate(const char *id, size_t len)
{
	return ztp__id_check(id, len, "identifier");
}
