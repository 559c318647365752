/*
 * libztp — the one identifier grammar: the checks with their error detail
 * (the character classes: core/idchar.c).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

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
	if (!ztp__id_first((unsigned char)id[0]))
		return ztp__err(ZTP_EINVAL,
				"%s: must start with a letter or digit", what);
	for (i = 1; i < len; i++)
		if (!ztp__id_rest((unsigned char)id[i]))
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
		    !ztp__id_rest((unsigned char)pattern[i]))
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

int ztp_id_validate(const char *id, size_t len)
{
	return ztp__id_check(id, len, "identifier");
}
