/*
 * libztp — strict JSON input on top of json-c.
 * SPDX-License-Identifier: Apache-2.0
 *
 * json-c is lenient where a security boundary must not be: it keeps the last
 * of duplicate keys (so two components can disagree on a request), accepts
 * invalid UTF-8 and lets "\u0000" cut strings short. Every request is
 * therefore validated by a small RFC 8259 scanner first, which also counts
 * the members of each object; json-c then builds the tree, and an object
 * whose member count shrank had a duplicate key.
 */
#include "core/internal.h"
#include "core/utf8.h"

#include <limits.h>
#include <string.h>

typedef struct scanner {
	const unsigned char *p;
	size_t len;
	size_t pos;
	int max_depth;
	size_t *counts; /* members per object, in pre-order */
	size_t ncounts;
	size_t capcounts;
} scanner;

static int scan_value(scanner *s, int depth);

static int fail(scanner *s, const char *what)
{
	return ztp__err(ZTP_EPARSE, "JSON: %s at byte %zu", what, s->pos);
}

static void skip_ws(scanner *s)
{
	while (s->pos < s->len) {
		unsigned char c = s->p[s->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		s->pos++;
	}
}

static bool at(scanner *s, unsigned char c)
{
	return s->pos < s->len && s->p[s->pos] == c;
}

static int hex4(scanner *s, unsigned int *out)
{
	unsigned int v = 0;
	int i;

	if (s->len - s->pos < 4)
		return fail(s, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		unsigned char c = s->p[s->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(s, "bad hex digit in \\u escape");
	}
	*out = v;
	return ZTP_OK;
}

/* One UTF-8 sequence starting at s->pos (first byte >= 0x80). */
static int utf8_seq(scanner *s)
{
	const char *why = NULL;
	uint32_t cp;
	size_t n = ztp__utf8_next(s->p + s->pos, s->len - s->pos, &cp, &why);

	if (n == 0)
		return fail(s, why);
	s->pos += n;
	return ZTP_OK;
}

static int scan_string(scanner *s)
{
	int rc;

	s->pos++; /* opening quote */
	for (;;) {
		unsigned char c;

		if (s->pos >= s->len)
			return fail(s, "unterminated string");
		c = s->p[s->pos];
		if (c == '"') {
			s->pos++;
			return ZTP_OK;
		}
		if (c < 0x20)
			return fail(s, "control character in string");
		if (c >= 0x80) {
			if ((rc = utf8_seq(s)) < 0)
				return rc;
			continue;
		}
		s->pos++;
		if (c != '\\')
			continue;
		if (s->pos >= s->len)
			return fail(s, "unterminated escape");
		c = s->p[s->pos++];
		if (c == 'u') {
			unsigned int u, lo;

			if ((rc = hex4(s, &u)) < 0)
				return rc;
			if (u == 0)
				return fail(s, "\\u0000 in string");
			if (u >= 0xdc00 && u <= 0xdfff)
				return fail(s, "lone low surrogate escape");
			if (u >= 0xd800 && u <= 0xdbff) {
				if (s->len - s->pos < 2 ||
				    s->p[s->pos] != '\\' ||
				    s->p[s->pos + 1] != 'u')
					return fail(
					    s, "lone high surrogate escape");
				s->pos += 2;
				if ((rc = hex4(s, &lo)) < 0)
					return rc;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(s, "bad surrogate pair");
			}
			continue;
		}
		if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return fail(s, "invalid escape");
	}
}

static bool is_digit(scanner *s)
{
	return s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9';
}

static int scan_number(scanner *s)
{
	if (at(s, '-'))
		s->pos++;
	if (at(s, '0')) {
		s->pos++;
	} else if (is_digit(s)) {
		while (is_digit(s))
			s->pos++;
	} else {
		return fail(s, "invalid number");
	}
	if (at(s, '.')) {
		s->pos++;
		if (!is_digit(s))
			return fail(s, "invalid fraction");
		while (is_digit(s))
			s->pos++;
	}
	if (at(s, 'e') || at(s, 'E')) {
		s->pos++;
		if (at(s, '+') || at(s, '-'))
			s->pos++;
		if (!is_digit(s))
			return fail(s, "invalid exponent");
		while (is_digit(s))
			s->pos++;
	}
	return ZTP_OK;
}

static int scan_literal(scanner *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->len - s->pos < n || memcmp(s->p + s->pos, lit, n) != 0)
		return fail(s, "invalid literal");
	s->pos += n;
	return ZTP_OK;
}

static int push_count(scanner *s, size_t *idx)
{
	if (s->ncounts == s->capcounts) {
		size_t cap = s->capcounts ? s->capcounts * 2 : 16;
		size_t *p = ztp__realloc(s->counts, cap * sizeof(*p));

		if (p == NULL)
			return ZTP_ENOMEM;
		s->counts = p;
		s->capcounts = cap;
	}
	*idx = s->ncounts;
	s->counts[s->ncounts++] = 0;
	return ZTP_OK;
}

static int scan_object(scanner *s, int depth)
{
	size_t idx;
	int rc;

	if ((rc = push_count(s, &idx)) < 0)
		return rc;
	s->pos++;
	skip_ws(s);
	if (at(s, '}')) {
		s->pos++;
		return ZTP_OK;
	}
	for (;;) {
		skip_ws(s);
		if (!at(s, '"'))
			return fail(s, "expected object key");
		if ((rc = scan_string(s)) < 0)
			return rc;
		skip_ws(s);
		if (!at(s, ':'))
			return fail(s, "expected ':'");
		s->pos++;
		if ((rc = scan_value(s, depth)) < 0)
			return rc;
		s->counts[idx]++;
		skip_ws(s);
		if (at(s, ',')) {
			s->pos++;
			continue;
		}
		if (at(s, '}')) {
			s->pos++;
			return ZTP_OK;
		}
		return fail(s, "expected ',' or '}'");
	}
}

static int scan_array(scanner *s, int depth)
{
	int rc;

	s->pos++;
	skip_ws(s);
	if (at(s, ']')) {
		s->pos++;
		return ZTP_OK;
	}
	for (;;) {
		if ((rc = scan_value(s, depth)) < 0)
			return rc;
		skip_ws(s);
		if (at(s, ',')) {
			s->pos++;
			continue;
		}
		if (at(s, ']')) {
			s->pos++;
			return ZTP_OK;
		}
		return fail(s, "expected ',' or ']'");
	}
}

static int scan_value(scanner *s, int depth)
{
	skip_ws(s);
	if (s->pos >= s->len)
		return fail(s, "unexpected end of input");
	switch (s->p[s->pos]) {
	case '{':
	case '[':
		if (depth + 1 > s->max_depth)
			return ztp__err(
			    ZTP_ETOOBIG,
			    "JSON: nesting deeper than %d at byte %zu",
			    s->max_depth, s->pos);
		return s->p[s->pos] == '{' ? scan_object(s, depth + 1)
					   : scan_array(s, depth + 1);
	case '"':
		return scan_string(s);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

/* Walk json-c's tree in the scanner's order; a shorter object means json-c
 * folded a duplicate key. */
static int check_counts(json_object *o, const scanner *s, size_t *k)
{
	int rc;

	switch (json_object_get_type(o)) {
	case json_type_object: {
		if (*k >= s->ncounts ||
		    (size_t)json_object_object_length(o) != s->counts[*k])
			return ztp__err(ZTP_EPARSE,
					"JSON: duplicate object key");
		(*k)++;
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			if ((rc = check_counts(val, s, k)) < 0)
				return rc;
		}
		return ZTP_OK;
	}
	case json_type_array: {
		size_t i, n = json_object_array_length(o);

		for (i = 0; i < n; i++)
			if ((rc = check_counts(json_object_array_get_idx(o, i),
					       s, k)) < 0)
				return rc;
		return ZTP_OK;
	}
	default:
		return ZTP_OK;
	}
}

int ztp__json_parse(json_object **out, const char *buf, size_t len,
		    size_t max_bytes, int max_depth)
{
	scanner s = {0};
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	size_t k = 0;
	int rc = ZTP_OK;

	ZTP_ENSURE(out != NULL && (buf != NULL || len == 0), ZTP_EINVAL,
		   "JSON: invalid argument");
	*out = NULL;
	ZTP_ENSURE(len <= max_bytes && len <= INT_MAX, ZTP_ETOOBIG,
		   "JSON: %zu bytes over the %zu-byte limit", len, max_bytes);
	if (max_depth <= 0 || max_depth > ZTP_JSON_MAX_DEPTH)
		max_depth = ZTP_JSON_MAX_DEPTH;
	s.p = (const unsigned char *)buf;
	s.len = len;
	s.max_depth = max_depth;
	ZTP_CHECK(scan_value(&s, 0));
	skip_ws(&s);
	ZTP_ENSURE(s.pos == s.len, ZTP_EPARSE,
		   "JSON: trailing data at byte %zu", s.pos);

	tok = json_tokener_new_ex(max_depth + 1);
	ZTP_ENSURE(tok != NULL, ZTP_ENOMEM, "JSON: out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	/* A bare number at the very end is only complete once json-c sees
	 * the end of input; feed it a terminator rather than reading past
	 * the caller's buffer. */
	if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		obj = json_tokener_parse_ex(tok, "", 1);
	/* The scanner accepted it; json-c failing now is memory or a
	 * disagreement between the two grammars: refuse either way. */
	ZTP_ENSURE(obj != NULL ||
		       json_tokener_get_error(tok) == json_tokener_success,
		   ZTP_EPARSE, "JSON: %s",
		   json_tokener_error_desc(json_tokener_get_error(tok)));
	ZTP_CHECK(check_counts(obj, &s, &k));
	*out = obj;
	obj = NULL;
cleanup:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	free(s.counts);
	return rc;
}

int ztp__json_only_keys(json_object *obj, const char *const *allowed,
			const char *what)
{
	if (!json_object_is_type(obj, json_type_object))
		return ztp__err(ZTP_EPARSE, "%s: expected a JSON object", what);
	json_object_object_foreach(obj, key, val)
	{
		const char *const *a;

		(void)val;
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			return ztp__err(ZTP_EPARSE,
					"%s: unknown field \"%.64s\"", what,
					key);
	}
	return ZTP_OK;
}

static int get(json_object *obj, const char *key, bool required, json_type type,
	       json_object **out)
{
	json_object *v = NULL;
	static const char *const names[] = {
	    "null", "boolean", "number", "number", "object", "array", "string"};

	*out = NULL;
	if (!json_object_is_type(obj, json_type_object))
		return ztp__err(ZTP_EPARSE, "expected a JSON object");
	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required)
			return ztp__err(ZTP_EPARSE, "missing field \"%s\"",
					key);
		return ZTP_OK;
	}
	if (!json_object_is_type(v, type))
		return ztp__err(ZTP_EPARSE, "field \"%s\": expected %s", key,
				(size_t)type < ZTP__ARRAY_LEN(names)
				    ? names[type]
				    : "another type");
	*out = v;
	return ZTP_OK;
}

int ztp__json_str(json_object *obj, const char *key, bool required,
		  size_t maxlen, const char **out, size_t *outlen)
{
	json_object *v;
	size_t n;
	int rc = get(obj, key, required, json_type_string, &v);

	if (rc < 0)
		return rc;
	if (v == NULL) {
		*out = NULL;
		if (outlen != NULL)
			*outlen = 0;
		return ZTP_OK;
	}
	n = (size_t)json_object_get_string_len(v);
	if (n > maxlen)
		return ztp__err(
		    ZTP_ETOOBIG,
		    "field \"%s\": %zu bytes over the %zu-byte limit", key, n,
		    maxlen);
	*out = json_object_get_string(v);
	if (outlen != NULL)
		*outlen = n;
	return ZTP_OK;
}

int ztp__json_int(json_object *obj, const char *key, bool required, int64_t min,
		  int64_t max, int64_t *out)
{
	json_object *v;
	int64_t n;
	int rc = get(obj, key, required, json_type_int, &v);

	if (rc < 0 || v == NULL)
		return rc;
	/* json-c saturates out-of-range integers at INT64_MIN/MAX, which the
	 * range check below then refuses unless the range includes them. */
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return ztp__err(ZTP_EPARSE, "field \"%s\": out of range", key);
	*out = n;
	return ZTP_OK;
}

int ztp__json_bool(json_object *obj, const char *key, bool required, bool *out)
{
	json_object *v;
	int rc = get(obj, key, required, json_type_boolean, &v);

	if (rc < 0 || v == NULL)
		return rc;
	*out = json_object_get_boolean(v) != 0;
	return ZTP_OK;
}

int ztp__json_array(json_object *obj, const char *key, bool required,
		    size_t maxn, json_object **out)
{
	int rc = get(obj, key, required, json_type_array, out);

	if (rc < 0 || *out == NULL)
		return rc;
	if (json_object_array_length(*out) > maxn) {
		*out = NULL;
		return ztp__err(ZTP_ETOOBIG,
				"field \"%s\": more than %zu elements", key,
				maxn);
	}
	return ZTP_OK;
}

int ztp__json_object(json_object *obj, const char *key, bool required,
		     json_object **out)
{
	return get(obj, key, required, json_type_object, out);
}

int ztp__json_dump(char **out, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	*out = NULL;
	if (s == NULL)
		return ztp__err(ZTP_ENOMEM, "JSON: cannot serialise");
	*out = ztp__strdup(s);
	return *out == NULL ? ZTP_ENOMEM : ZTP_OK;
}

int ztp__json_add(json_object *obj, const char *key, json_object *val)
{
	if (val == NULL)
		return ztp__err(ZTP_ENOMEM, "JSON: out of memory");
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return ztp__err(ZTP_ENOMEM, "JSON: out of memory");
	}
	return ZTP_OK;
}

int ztp__json_add_str(json_object *obj, const char *key, const char *val)
{
	if (val == NULL) {
		/* json-c represents JSON null as a NULL value. */
		if (json_object_object_add(obj, key, NULL) != 0)
			return ztp__err(ZTP_ENOMEM, "JSON: out of memory");
		return ZTP_OK;
	}
	return ztp__json_add(obj, key, json_object_new_string(val));
}

int ztp__json_add_int(json_object *obj, const char *key, int64_t val)
{
	return ztp__json_add(obj, key, json_object_new_int64(val));
}
