/*
 * libztp — the portable device core's strict JSON reader and writer.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The reader never allocates: ztp__j_check() walks the document once and
 * refuses anything the library's json-c based reader (core/json.c) would
 * refuse, within tighter bounds sized for the device's answers; the
 * accessors then walk spans of the checked text again, which is cheap for
 * documents of a few KiB and keeps no index in memory.
 */
#include "devcore/internal.h"

#include <string.h>

typedef struct jparser {
	const char *s;
	size_t len, i;
	const char *why;
} jparser;

static int fail(jparser *p, int code, const char *why)
{
	p->why = why;
	return code;
}

static void skip_ws(jparser *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
				 p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		h = ztp__hex_value((unsigned char)s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t need, k;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

/* Decode (out != NULL) or only check the string whose opening quote is
 * at s[*i]; *i ends after the closing quote. Writes at most cap - 1
 * bytes and a NUL; *olen the decoded length (counted even when it does
 * not fit: the caller compares it with cap). */
static int string_walk(const char *s, size_t len, size_t *i, char *out,
		       size_t cap, size_t *olen, const char **why)
{
	size_t j = *i + 1, n = 0, k;
	uint32_t cp, lo;
	char enc[4];

	for (;;) {
		unsigned char c;
		size_t w;

		if (j >= len) {
			*why = "JSON: unterminated string";
			return ZTP_EPARSE;
		}
		c = (unsigned char)s[j];
		if (c == '"')
			break;
		if (c < 0x20) {
			*why = "JSON: control character in a string";
			return ZTP_EPARSE;
		}
		if (c != '\\') {
			w = utf8_seq((const unsigned char *)s + j, len - j);
			if (w == 0) {
				*why = "JSON: invalid UTF-8";
				return ZTP_EPARSE;
			}
			for (k = 0; k < w; k++, n++)
				if (out != NULL && n + 1 < cap)
					out[n] = s[j + k];
			j += w;
			continue;
		}
		if (j + 1 >= len) {
			*why = "JSON: unterminated string";
			return ZTP_EPARSE;
		}
		c = (unsigned char)s[j + 1];
		j += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			enc[0] = (char)c;
			w = 1;
			break;
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			enc[0] = "\b\f\n\r\t"[strchr("bfnrt", c) - "bfnrt"];
			w = 1;
			break;
		case 'u':
			if (j + 4 > len || hex4(s + j, &cp) < 0) {
				*why = "JSON: bad \\u escape";
				return ZTP_EPARSE;
			}
			j += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				*why = "JSON: lone low surrogate";
				return ZTP_EPARSE;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j + 6 > len || s[j] != '\\' ||
				    s[j + 1] != 'u' ||
				    hex4(s + j + 2, &lo) < 0 || lo < 0xdc00 ||
				    lo > 0xdfff) {
					*why = "JSON: lone high surrogate";
					return ZTP_EPARSE;
				}
				j += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			if (cp == 0) {
				*why = "JSON: \\u0000 in a string";
				return ZTP_EPARSE;
			}
			if (cp < 0x80) {
				enc[0] = (char)cp;
				w = 1;
			} else if (cp < 0x800) {
				enc[0] = (char)(0xc0 | cp >> 6);
				enc[1] = (char)(0x80 | (cp & 0x3f));
				w = 2;
			} else if (cp < 0x10000) {
				enc[0] = (char)(0xe0 | cp >> 12);
				enc[1] = (char)(0x80 | (cp >> 6 & 0x3f));
				enc[2] = (char)(0x80 | (cp & 0x3f));
				w = 3;
			} else {
				enc[0] = (char)(0xf0 | cp >> 18);
				enc[1] = (char)(0x80 | (cp >> 12 & 0x3f));
				enc[2] = (char)(0x80 | (cp >> 6 & 0x3f));
				enc[3] = (char)(0x80 | (cp & 0x3f));
				w = 4;
			}
			break;
		default:
			*why = "JSON: bad escape";
			return ZTP_EPARSE;
		}
		for (k = 0; k < w; k++, n++)
			if (out != NULL && n + 1 < cap)
				out[n] = enc[k];
	}
	if (out != NULL && cap > 0)
		out[n + 1 < cap ? n : cap - 1] = '\0';
	*olen = n;
	*i = j + 1;
	return ZTP_OK;
}

/* Skip a run of digits; how many there were. */
static size_t digit_run(jparser *p)
{
	size_t st = p->i;

	while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i - st;
}

static int number(jparser *p)
{
	if (p->i < p->len && p->s[p->i] == '-')
		p->i++;
	if (p->i >= p->len)
		return fail(p, ZTP_EPARSE, "JSON: bad number");
	if (p->s[p->i] == '0')
		p->i++; /* no leading zeros */
	else if (p->s[p->i] < '1' || p->s[p->i] > '9' || digit_run(p) == 0)
		return fail(p, ZTP_EPARSE, "JSON: bad number");
	if (p->i < p->len && p->s[p->i] == '.') {
		p->i++;
		if (digit_run(p) == 0)
			return fail(p, ZTP_EPARSE, "JSON: bad number");
	}
	if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (digit_run(p) == 0)
			return fail(p, ZTP_EPARSE, "JSON: bad number");
	}
	return ZTP_OK;
}

static int literal(jparser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0)
		return fail(p, ZTP_EPARSE, "JSON: unexpected character");
	p->i += n;
	return ZTP_OK;
}

/* Two member names, raw spans with their quotes, name the same member. */
static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
	char da[ZTP__J_NAME_MAX + 1], db[ZTP__J_NAME_MAX + 1];
	size_t i = 0, j = 0, la = 0, lb = 0;
	const char *why;

	if (alen == blen && memcmp(a, b, alen) == 0)
		return true;
	if (memchr(a, '\\', alen) == NULL && memchr(b, '\\', blen) == NULL)
		return false;
	if (string_walk(a, alen, &i, da, sizeof(da), &la, &why) < 0 ||
	    string_walk(b, blen, &j, db, sizeof(db), &lb, &why) < 0)
		return false;
	return la == lb && memcmp(da, db, la) == 0;
}

static int value(jparser *p, int depth);

static int container(jparser *p, int depth, char close)
{
	const char *names[ZTP__J_MEMBERS_MAX];
	size_t name_len[ZTP__J_MEMBERS_MAX], n = 0, st, dl, k;
	int rc;

	if (depth >= ZTP__J_DEPTH_MAX)
		return fail(p, ZTP_ETOOBIG, "JSON: nested too deeply");
	p->i++;
	skip_ws(p);
	if (p->i < p->len && p->s[p->i] == close) {
		p->i++;
		return ZTP_OK;
	}
	for (;;) {
		if (n == ZTP__J_MEMBERS_MAX)
			return fail(p, ZTP_ETOOBIG,
				    "JSON: too many members or elements");
		if (close == '}') {
			if (p->i >= p->len || p->s[p->i] != '"')
				return fail(p, ZTP_EPARSE,
					    "JSON: member name expected");
			st = p->i;
			rc = string_walk(p->s, p->len, &p->i, NULL, 0, &dl,
					 &p->why);
			if (rc < 0)
				return rc;
			if (dl > ZTP__J_NAME_MAX)
				return fail(p, ZTP_ETOOBIG,
					    "JSON: member name too long");
			names[n] = p->s + st;
			name_len[n] = p->i - st;
			for (k = 0; k < n; k++)
				if (same_name(names[k], name_len[k], names[n],
					      name_len[n]))
					return fail(p, ZTP_EPARSE,
						    "JSON: duplicate member");
			skip_ws(p);
			if (p->i >= p->len || p->s[p->i] != ':')
				return fail(p, ZTP_EPARSE,
					    "JSON: ':' expected");
			p->i++;
		}
		n++;
		rc = value(p, depth + 1);
		if (rc < 0)
			return rc;
		skip_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			skip_ws(p);
			continue;
		}
		if (p->i < p->len && p->s[p->i] == close) {
			p->i++;
			return ZTP_OK;
		}
		return fail(p, ZTP_EPARSE, "JSON: ',' or end expected");
	}
}

static int value(jparser *p, int depth)
{
	size_t dl;

	skip_ws(p);
	if (p->i >= p->len)
		return fail(p, ZTP_EPARSE, "JSON: value expected");
	switch (p->s[p->i]) {
	case '{':
		return container(p, depth, '}');
	case '[':
		return container(p, depth, ']');
	case '"':
		return string_walk(p->s, p->len, &p->i, NULL, 0, &dl, &p->why);
	case 't':
		return literal(p, "true");
	case 'f':
		return literal(p, "false");
	case 'n':
		return literal(p, "null");
	default:
		return number(p);
	}
}

static ztp__jtype type_at(char c)
{
	switch (c) {
	case '{':
		return ZTP__J_OBJECT;
	case '[':
		return ZTP__J_ARRAY;
	case '"':
		return ZTP__J_STRING;
	case 't':
	case 'f':
		return ZTP__J_BOOL;
	case 'n':
		return ZTP__J_NULL;
	default:
		return ZTP__J_NUMBER;
	}
}

int ztp__j_check(ztp__jv *root, const char *buf, size_t len, const char **why)
{
	jparser p = {buf, len, 0, ""};
	size_t st;
	int rc;

	skip_ws(&p);
	st = p.i;
	rc = value(&p, 0);
	if (rc < 0) {
		*why = p.why;
		return rc;
	}
	root->p = buf + st;
	root->len = p.i - st;
	root->type = type_at(buf[st]);
	skip_ws(&p);
	if (p.i != len) {
		*why = "JSON: trailing characters";
		return ZTP_EPARSE;
	}
	*why = "";
	return ZTP_OK;
}

/* Skip the checked value at s[*i]. */
static void skip_value(const char *s, size_t len, size_t *i)
{
	jparser p = {s, len, *i, ""};

	(void)value(&p, 0);
	*i = p.i;
}

int ztp__j_next(const ztp__jv *v, size_t *pos, ztp__jv *name, ztp__jv *val)
{
	jparser p = {v->p, v->len, *pos, ""};
	size_t st;

	if (v->type != ZTP__J_OBJECT && v->type != ZTP__J_ARRAY)
		return ZTP_ENOTFOUND;
	if (p.i == 0)
		p.i = 1; /* past the opening bracket */
	skip_ws(&p);
	if (p.s[p.i] == ',') {
		p.i++;
		skip_ws(&p);
	}
	if (p.s[p.i] == '}' || p.s[p.i] == ']')
		return ZTP_ENOTFOUND;
	if (v->type == ZTP__J_OBJECT) {
		st = p.i;
		skip_value(p.s, p.len, &p.i);
		if (name != NULL) {
			name->p = p.s + st;
			name->len = p.i - st;
			name->type = ZTP__J_STRING;
		}
		skip_ws(&p);
		p.i++; /* ':' */
		skip_ws(&p);
	}
	st = p.i;
	skip_value(p.s, p.len, &p.i);
	val->p = p.s + st;
	val->len = p.i - st;
	val->type = type_at(p.s[st]);
	*pos = p.i;
	return ZTP_OK;
}

bool ztp__j_string_is(const ztp__jv *v, const char *s)
{
	char buf[ZTP__J_NAME_MAX + 1];
	size_t n = 0, want = strlen(s);

	if (v->type != ZTP__J_STRING || want > ZTP__J_NAME_MAX)
		return false;
	/* Raw bytes stand for themselves only without an escape: the raw
	 * "\/" is not the name "\/" but "/". */
	if (memchr(v->p, '\\', v->len) == NULL)
		return v->len == want + 2 && memcmp(v->p + 1, s, want) == 0;
	return ztp__j_string(v, buf, sizeof(buf), &n) == ZTP_OK && n == want &&
	       memcmp(buf, s, n) == 0;
}

int ztp__j_member(const ztp__jv *obj, const char *name, ztp__jv *out)
{
	ztp__jv k, v;
	size_t pos = 0;

	while (ztp__j_next(obj, &pos, &k, &v) == ZTP_OK) {
		if (ztp__j_string_is(&k, name)) {
			*out = v;
			return ZTP_OK;
		}
	}
	return ZTP_ENOTFOUND;
}

int ztp__j_only(const ztp__jv *obj, const char *const *allowed, char *bad,
		size_t cap)
{
	ztp__jv k, v;
	size_t pos = 0, i, n;

	while (ztp__j_next(obj, &pos, &k, &v) == ZTP_OK) {
		for (i = 0; allowed[i] != NULL; i++)
			if (ztp__j_string_is(&k, allowed[i]))
				break;
		if (allowed[i] == NULL) {
			if (ztp__j_string(&k, bad, cap, &n) == ZTP_ETOOBIG &&
			    cap > 0)
				bad[cap - 1] = '\0';
			return ZTP_EPARSE;
		}
	}
	return ZTP_OK;
}

int ztp__j_string(const ztp__jv *v, char *out, size_t cap, size_t *len)
{
	size_t i = 0, n = 0;
	const char *why;
	int rc;

	if (v->type != ZTP__J_STRING)
		return ZTP_EPARSE;
	rc = string_walk(v->p, v->len, &i, out, cap, &n, &why);
	if (rc < 0)
		return rc;
	if (n >= cap)
		return ZTP_ETOOBIG;
	if (len != NULL)
		*len = n;
	return ZTP_OK;
}

int ztp__j_int(const ztp__jv *v, int64_t min, int64_t max, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t acc = 0, lim;

	if (v->type != ZTP__J_NUMBER)
		return ZTP_EPARSE;
	if (v->p[0] == '-') {
		neg = true;
		i = 1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < v->len; i++) {
		unsigned d;

		if (v->p[i] < '0' || v->p[i] > '9')
			return ZTP_EPARSE; /* a fraction or an exponent */
		d = (unsigned)(v->p[i] - '0');
		if (acc > (lim - d) / 10)
			return ZTP_ETOOBIG;
		acc = acc * 10 + d;
	}
	if (neg) {
		if (acc == (uint64_t)INT64_MAX + 1) {
			if (min > INT64_MIN)
				return ZTP_ETOOBIG;
			*out = INT64_MIN;
			return ZTP_OK;
		}
		*out = -(int64_t)acc;
	} else {
		*out = (int64_t)acc;
	}
	if (*out < min || *out > max)
		return ZTP_ETOOBIG;
	return ZTP_OK;
}

/* ------------------------------------------------------------------ writer
 */

void ztp__jw_init(ztp__jw *w, char *buf, size_t cap)
{
	w->p = buf;
	w->len = 0;
	w->cap = cap;
	w->ok = cap > 0;
	w->first = true;
	if (cap > 0)
		buf[0] = '\0';
}

void ztp__jw_raw(ztp__jw *w, const char *s, size_t n)
{
	if (!w->ok || n >= w->cap - w->len) {
		w->ok = false;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

void ztp__jw_open(ztp__jw *w, char c)
{
	ztp__jw_raw(w, &c, 1);
	w->first = true;
}

void ztp__jw_close(ztp__jw *w, char c)
{
	ztp__jw_raw(w, &c, 1);
	w->first = false;
}

void ztp__jw_key(ztp__jw *w, const char *name)
{
	if (!w->first)
		ztp__jw_raw(w, ",", 1);
	w->first = false;
	if (name == NULL)
		return;
	ztp__jw_str(w, name, strlen(name));
	ztp__jw_raw(w, ":", 1);
}

void ztp__jw_str(ztp__jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	char e[6];

	ztp__jw_raw(w, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			ztp__jw_raw(w, e, 2);
		} else if (c == '\n') {
			ztp__jw_raw(w, "\\n", 2);
		} else if (c < 0x20 || c == 0x7f) {
			e[0] = '\\';
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			ztp__jw_raw(w, e, 6);
		} else {
			ztp__jw_raw(w, (const char *)s + i, 1);
		}
	}
	ztp__jw_raw(w, "\"", 1);
}

void ztp__jw_bool(ztp__jw *w, bool b)
{
	if (b)
		ztp__jw_raw(w, "true", 4);
	else
		ztp__jw_raw(w, "false", 5);
}
