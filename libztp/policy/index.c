/*
 * libztp — compiled policy index: a trie over MQTT topic levels.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Matching follows MQTT 3.1.1 / 5.0 §4.7:
 *  - `+` matches exactly one level, which may be empty;
 *  - `#` is a whole last level and matches its parent and everything below;
 *  - a wildcard in the first level never matches a topic whose first level
 *    starts with `$` (so `#` does not reach `$SYS/...`).
 *
 * Topic names (publish, receive, connect) are matched against resources.
 * Topic filters (subscribe) are compared filter-to-filter: a filter is
 * allowed when it is a subset of an Allow resource (every topic it can match
 * is matched by that resource) and denied when it intersects a Deny resource
 * (some topic could match both). A variable whose identity value is unknown
 * does not match in Allow resources and matches anything in Deny resources,
 * so an unknown identity can only ever reduce access.
 *
 * Recursion depth is bounded by the depth of the trie, which is at most
 * ZTP__PX_MAX_LEVELS + 1, whatever the length of the request.
 */
#include "policy/index.h"

#include <stdio.h>
#include <string.h>

/* A literal child with its hash, so that probing the table touches no
 * node but the one that matches. */
typedef struct kslot {
	uint32_t hash;
	ztp__pnode *node;
} kslot;

/* Fields in the order a walk reads them, so that a node with a short label
 * costs one cache line: the literal table and its size, the label's length
 * and last word (labels of up to 8 bytes are compared through it alone),
 * the summaries, then the other children. */
struct ztp__pnode {
	kslot *kids;   /* literal children, open addressing */
	uint32_t kcap; /* 0 or a power of two */
	uint32_t label_len;
	uint64_t tail;	 /* last word of the label, as level_hash() reads it */
	uint8_t term[2]; /* actions with a resource ending here, per effect */
	uint8_t sub[2];	 /* same, for this node and everything below */
	uint8_t nvars;	 /* variable children, to skip their loop */
	uint32_t nkids;
	ztp__pnode *plus;
	ztp__pnode *hash;
	uint32_t
	    *first; /* [effect * NACT + action]: lowest statement, or NULL */
	ztp__pnode *var[ZTP__VAR_COUNT];
	char label[]; /* literal level, NUL-terminated ("" if none) */
};

static const char *const var_names[ZTP__VAR_COUNT] = {"${device}", "${tenant}",
						      "${client_id}"};

static inline uint64_t load64(const char *s)
{
	uint64_t w;

	memcpy(&w, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline uint64_t hash_word(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static inline uint32_t hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* Bytes of a level before its last word: the words hashed one by one. */
static inline size_t head_len(size_t n)
{
	return n > 8 ? (n - 1) / 8 * 8 : 0;
}

/* Word-at-a-time multiply-xorshift hash of one topic level: the level's
 * bytes as little-endian 64-bit words, the last one (*tail, 1 to 8 bytes)
 * zero-extended. Requests only look levels up; the tables are built from
 * the policy alone, so request text cannot lengthen probe sequences. */
static uint32_t level_hash(const char *s, size_t n, uint64_t *tail)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, w = 0;
	size_t i;

	for (; n > 8; s += 8, n -= 8)
		h = hash_word(h, load64(s));
	for (i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	*tail = w;
	return hash_final(n ? hash_word(h, w) : h);
}

/* level_hash() of buf[from, to), reading the last partial word as a whole
 * word that stays inside buf[0, len) and shifting the extra bytes out. */
static inline uint32_t level_hash_in(const char *buf, size_t len, size_t from,
				     size_t to, uint64_t *tail)
{
	const char *s = buf + from;
	size_t n = to - from, r;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, w;

	if (len < 8)
		return level_hash(s, n, tail);
	for (; n > 8; s += 8, n -= 8)
		h = hash_word(h, load64(s));
	*tail = 0;
	if (n == 0)
		return hash_final(h);
	r = 8 - n; /* bytes of the word that are not the level's */
	if ((size_t)(s - buf) >= r)
		w = load64(s - r) >> (8 * r);
	else /* the level ends within the first word of buf */
		w = (load64(buf) >> (8 * (size_t)(s - buf))) &
		    (~0ull >> (8 * r));
	*tail = w;
	return hash_final(hash_word(h, w));
}

static size_t level_end(const char *t, size_t len, size_t pos)
{
	const char *s = memchr(t + pos, '/', len - pos);

	return s ? (size_t)(s - t) : len;
}

/* ------------------------------------------------------------------- syntax */

/* Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above
 * U+10FFFF. MQTT requires it of every topic [MQTT-1.5.4-1]. */
static bool utf8_ok(const char *t, size_t len)
{
	const uint8_t *s = (const uint8_t *)t;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n, k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

int ztp__topic_name_check(const char *t, size_t len)
{
	if (len == 0)
		return ztp__err(ZTP_EINVAL, "topic name: empty");
	if (len > 65535)
		return ztp__err(ZTP_EINVAL, "topic name: %zu bytes over 65535",
				len);
	if (memchr(t, '\0', len))
		return ztp__err(ZTP_EINVAL, "topic name: contains NUL");
	if (!utf8_ok(t, len))
		return ztp__err(ZTP_EINVAL,
				"topic name: not well-formed UTF-8");
	if (memchr(t, '+', len) || memchr(t, '#', len))
		return ztp__err(ZTP_EINVAL,
				"topic name: wildcards '+' and '#' are only "
				"allowed in topic filters");
	return ZTP_OK;
}

int ztp__topic_filter_check(const char *t, size_t len)
{
	size_t pos = 0;

	if (len == 0)
		return ztp__err(ZTP_EINVAL, "topic filter: empty");
	if (len > 65535)
		return ztp__err(ZTP_EINVAL,
				"topic filter: %zu bytes over 65535", len);
	if (memchr(t, '\0', len))
		return ztp__err(ZTP_EINVAL, "topic filter: contains NUL");
	if (!utf8_ok(t, len))
		return ztp__err(ZTP_EINVAL,
				"topic filter: not well-formed UTF-8");
	for (;;) {
		size_t e = level_end(t, len, pos);
		size_t n = e - pos;
		const char *l = t + pos;

		if (memchr(l, '#', n) && (n != 1 || e != len))
			return ztp__err(ZTP_EINVAL,
					"topic filter: '#' must be a whole "
					"level and the last one");
		if (memchr(l, '+', n) && n != 1)
			return ztp__err(ZTP_EINVAL,
					"topic filter: '+' must be a whole "
					"level");
		if (e == len)
			break;
		pos = e + 1;
	}
	return ZTP_OK;
}

static int var_of(const char *l, size_t n)
{
	int v;

	for (v = 0; v < ZTP__VAR_COUNT; v++)
		if (strlen(var_names[v]) == n &&
		    memcmp(var_names[v], l, n) == 0)
			return v;
	return -1;
}

static bool has_var_start(const char *l, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (l[i] == '$' && l[i + 1] == '{')
			return true;
	return false;
}

int ztp__presource_check(const char *r, size_t len, const char *what)
{
	size_t pos = 0, levels = 0;
	int rc;

	rc = ztp__topic_filter_check(r, len);
	if (rc < 0) {
		char why[128];

		/* the detail is rewritten in place: copy it out first */
		snprintf(why, sizeof(why), "%s", ztp_error_last_message());
		return ztp__err(ZTP_EPARSE, "%s: %s", what, why);
	}
	for (;;) {
		size_t e = level_end(r, len, pos);

		if (++levels > ZTP__PX_MAX_LEVELS)
			return ztp__err(ZTP_EPARSE,
					"%s: more than %d topic levels", what,
					ZTP__PX_MAX_LEVELS);
		if (has_var_start(r + pos, e - pos) &&
		    var_of(r + pos, e - pos) < 0)
			return ztp__err(ZTP_EPARSE,
					"%s: a variable must be a whole level "
					"and one of ${device}, ${tenant}, "
					"${client_id}",
					what);
		if (e == len)
			break;
		pos = e + 1;
	}
	return ZTP_OK;
}

/* -------------------------------------------------------------------- build */

static ztp__pnode *node_new(ztp__pindex *x, const char *label, size_t len)
{
	ztp__pnode *n = ztp__calloc(1, sizeof(*n) + len + 1);

	if (n) {
		memcpy(n->label, label, len);
		n->label_len = (uint32_t)len;
		(void)level_hash(label, len, &n->tail);
		x->nodes++;
		x->bytes += sizeof(*n) + len + 1;
	}
	return n;
}

static void node_free(ztp__pnode *n)
{
	uint32_t i;
	int v;

	if (!n)
		return;
	for (i = 0; i < n->kcap; i++)
		node_free(n->kids[i].node);
	free(n->kids);
	node_free(n->plus);
	node_free(n->hash);
	for (v = 0; v < ZTP__VAR_COUNT; v++)
		node_free(n->var[v]);
	free(n->first);
	free(n);
}

int ztp__pindex_init(ztp__pindex *x)
{
	memset(x, 0, sizeof(*x));
	x->root = node_new(x, "", 0);
	return x->root ? ZTP_OK : ZTP_ENOMEM;
}

void ztp__pindex_free(ztp__pindex *x)
{
	if (!x)
		return;
	if (x->arena)
		free(x->arena);
	else
		node_free(x->root);
	memset(x, 0, sizeof(*x));
}

/* Whether the first n bytes (a multiple of 8) of a and b are equal, without
 * a library call. */
static inline bool same_words(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 8)
		if (load64(a + i) != load64(b + i))
			return false;
	return true;
}

static inline ztp__pnode *kid_find(const ztp__pnode *n, const char *s,
				   size_t len, uint32_t h, uint64_t tail)
{
	uint32_t mask, i;

	if (n->kcap == 0)
		return NULL;
	mask = n->kcap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		const kslot *k = &n->kids[i];
		const ztp__pnode *c = k->node;

		if (!c)
			return NULL;
		if (k->hash == h && c->label_len == len && c->tail == tail &&
		    same_words(c->label, s, head_len(len)))
			return k->node;
	}
}

static void kid_place(kslot *tab, uint32_t cap, uint32_t h, ztp__pnode *k)
{
	uint32_t i, mask = cap - 1;

	for (i = h & mask; tab[i].node; i = (i + 1) & mask)
		;
	tab[i].hash = h;
	tab[i].node = k;
}

/* Keep the load factor at or below 3/4 so that probes always end. */
static int kids_grow(ztp__pindex *x, ztp__pnode *n)
{
	uint32_t cap, i;
	kslot *tab;

	if ((uint64_t)(n->nkids + 1) * 4 <= (uint64_t)n->kcap * 3)
		return ZTP_OK;
	cap = n->kcap ? n->kcap * 2 : 2;
	if (cap < n->kcap)
		return ztp__err(ZTP_ETOOBIG, "policy: too many topic levels");
	tab = ztp__calloc(cap, sizeof(*tab));
	if (!tab)
		return ZTP_ENOMEM;
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			kid_place(tab, cap, n->kids[i].hash, n->kids[i].node);
	x->bytes += ((size_t)cap - n->kcap) * sizeof(*tab);
	free(n->kids);
	n->kids = tab;
	n->kcap = cap;
	return ZTP_OK;
}

static int child_get(ztp__pnode **out, ztp__pindex *x, ztp__pnode *n,
		     const char *l, size_t len)
{
	ztp__pnode **slot = NULL;
	ztp__pnode *k;
	uint64_t tail;
	uint32_t h;
	int v = -1, rc = ZTP_OK;

	if (len == 1 && l[0] == '+')
		slot = &n->plus;
	else if (len == 1 && l[0] == '#')
		slot = &n->hash;
	else if ((v = var_of(l, len)) >= 0)
		slot = &n->var[v];
	if (slot) {
		if (!*slot) {
			*slot = node_new(x, "", 0);
			ZTP_ENSURE(*slot, ZTP_ENOMEM, "policy: out of memory");
			if (v >= 0)
				n->nvars++;
		}
		*out = *slot;
		goto cleanup;
	}
	h = level_hash(l, len, &tail);
	k = kid_find(n, l, len, h, tail);
	if (!k) {
		ZTP_CHECK(kids_grow(x, n));
		k = node_new(x, l, len);
		ZTP_ENSURE(k, ZTP_ENOMEM, "policy: out of memory");
		kid_place(n->kids, n->kcap, h, k);
		n->nkids++;
	}
	*out = k;
cleanup:
	return rc;
}

int ztp__pindex_add(ztp__pindex *x, const char *r, size_t len, int effect,
		    unsigned actions, uint32_t stmt)
{
	ztp__pnode *n = x->root;
	size_t pos = 0;
	int rc = ZTP_OK, a;

	for (;;) {
		size_t e = level_end(r, len, pos);

		ZTP_CHECK(child_get(&n, x, n, r + pos, e - pos));
		if (e == len)
			break;
		pos = e + 1;
	}
	if (!n->first) {
		n->first = ztp__malloc(2 * ZTP__PX_NACT * sizeof(uint32_t));
		ZTP_ENSURE(n->first, ZTP_ENOMEM, "policy: out of memory");
		for (a = 0; a < 2 * ZTP__PX_NACT; a++)
			n->first[a] = ZTP__PX_NONE;
		x->bytes += 2 * ZTP__PX_NACT * sizeof(uint32_t);
	}
	n->term[effect] |= (uint8_t)actions;
	for (a = 0; a < ZTP__PX_NACT; a++) {
		uint32_t *f = &n->first[effect * ZTP__PX_NACT + a];

		if ((actions & (1u << a)) && stmt < *f)
			*f = stmt;
	}
cleanup:
	return rc;
}

static void summarise(ztp__pnode *n)
{
	ztp__pnode *k[3 + ZTP__VAR_COUNT];
	uint32_t i;
	size_t j;

	n->sub[0] = n->term[0];
	n->sub[1] = n->term[1];
	for (i = 0; i < n->kcap; i++) {
		ztp__pnode *kid = n->kids[i].node;

		if (!kid)
			continue;
		summarise(kid);
		n->sub[0] |= kid->sub[0];
		n->sub[1] |= kid->sub[1];
	}
	k[0] = n->plus;
	k[1] = n->hash;
	for (j = 0; j < ZTP__VAR_COUNT; j++)
		k[2 + j] = n->var[j];
	for (j = 0; j < 2 + ZTP__VAR_COUNT; j++) {
		if (!k[j])
			continue;
		summarise(k[j]);
		n->sub[0] |= k[j]->sub[0];
		n->sub[1] |= k[j]->sub[1];
	}
}

#define FIRST_BYTES (2 * ZTP__PX_NACT * sizeof(uint32_t))

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The children of n other than its literal ones. */
static size_t other_kids(const ztp__pnode *n, ztp__pnode **k)
{
	size_t j, c = 0;

	if (n->plus)
		k[c++] = n->plus;
	if (n->hash)
		k[c++] = n->hash;
	for (j = 0; j < ZTP__VAR_COUNT; j++)
		if (n->var[j])
			k[c++] = n->var[j];
	return c;
}

static size_t packed_size(const ztp__pnode *n)
{
	ztp__pnode *k[2 + ZTP__VAR_COUNT];
	size_t sz, j, c;
	uint32_t i;

	sz = align8(sizeof(*n) + n->label_len + 1) +
	     (size_t)n->kcap * sizeof(kslot) + (n->first ? FIRST_BYTES : 0);
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			sz += packed_size(n->kids[i].node);
	c = other_kids(n, k);
	for (j = 0; j < c; j++)
		sz += packed_size(k[j]);
	return sz;
}

/* Copy the subtree of n to *at in preorder; returns the copy of n. */
static ztp__pnode *pack(const ztp__pnode *n, char **at)
{
	ztp__pnode *c = (ztp__pnode *)(void *)*at;
	uint32_t i;
	int v;

	memcpy(c, n, sizeof(*n) + n->label_len + 1);
	*at += align8(sizeof(*n) + n->label_len + 1);
	if (n->kcap) {
		c->kids = (kslot *)(void *)*at;
		memcpy(c->kids, n->kids, (size_t)n->kcap * sizeof(kslot));
		*at += (size_t)n->kcap * sizeof(kslot);
	}
	if (n->first) {
		c->first = (uint32_t *)(void *)*at;
		memcpy(c->first, n->first, FIRST_BYTES);
		*at += FIRST_BYTES;
	}
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			c->kids[i].node = pack(n->kids[i].node, at);
	if (n->plus)
		c->plus = pack(n->plus, at);
	if (n->hash)
		c->hash = pack(n->hash, at);
	for (v = 0; v < ZTP__VAR_COUNT; v++)
		if (n->var[v])
			c->var[v] = pack(n->var[v], at);
	return c;
}

void ztp__pindex_finish(ztp__pindex *x)
{
	const ztp__pnode *r;
	size_t size;
	uint32_t i;
	char *at;
	int e, v;

	summarise(x->root);
	size = packed_size(x->root);
	/* an allocation failure here costs speed, not correctness */
	x->arena = ztp__malloc(size);
	if (x->arena) {
		at = x->arena;
		r = pack(x->root, &at);
		node_free(x->root);
		x->root = (ztp__pnode *)r;
		x->bytes = size;
	}
	r = x->root;
	for (e = 0; e < 2; e++) {
		uint8_t m = 0;

		for (i = 0; i < r->kcap; i++)
			if (r->kids[i].node && r->kids[i].node->label[0] != '$')
				m |= r->kids[i].node->sub[e];
		if (r->plus)
			m |= r->plus->sub[e];
		if (r->hash)
			m |= r->hash->sub[e];
		for (v = 0; v < ZTP__VAR_COUNT; v++)
			if (r->var[v])
				m |= r->var[v]->sub[e];
		x->root_nodollar[e] = m;
	}
}

/* -------------------------------------------------------------------- split */

static void level_put(ztp__ptopic *t, const char *s, size_t from, size_t to)
{
	if (t->n < ZTP__PX_TOPIC_LEVELS) {
		ztp__plevel *l = &t->l[t->n++];

		l->p = s + from;
		l->len = (uint32_t)(to - from);
		l->hashed = false; /* on first use: many levels never need it */
	}
	t->total++;
}

#define ONES 0x0101010101010101ull
#define LOW7 0x7f7f7f7f7f7f7f7full

/* 0x80 in every byte of w that equals the byte c, exactly (no borrow
 * between bytes). */
static uint64_t bytes_eq(uint64_t w, unsigned char c)
{
	uint64_t t = w ^ (ONES * c);

	return ~(((t & LOW7) + LOW7) | t | LOW7);
}

static size_t lowest_byte(uint64_t m)
{
	return (size_t)__builtin_ctzll(m) / 8;
}

int ztp__ptopic_split(ztp__ptopic *t, const char *s, size_t len, bool filter)
{
	size_t i = 0, from = 0;
	uint64_t odd = 0, w, m;

	t->n = t->total = 0;
	t->s = s;
	t->len = len;
	if (len == 0 || len > ZTP__PX_MAX_TOPIC)
		goto check;
	/* one pass, eight bytes at a time: levels split, and anything that
	 * needs the full checks (NUL, wildcards, bytes outside ASCII)
	 * noticed on the way */
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		/* '+' (0x2b) and '#' (0x23) are the bytes that read 0x2b
		 * with bit 3 set */
		odd |= (w & ~LOW7) | bytes_eq(w, 0) |
		       bytes_eq(w | (ONES * 0x08), '+');
		for (m = bytes_eq(w, '/'); m; m &= m - 1) {
			size_t at = i + lowest_byte(m);

			level_put(t, s, from, at);
			from = at + 1;
		}
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/') {
			level_put(t, s, from, i);
			from = i + 1;
			continue;
		}
		odd |= (uint64_t)(c >= 0x80) | (uint64_t)(c == '\0') |
		       (uint64_t)(c == '+') | (uint64_t)(c == '#');
	}
	level_put(t, s, from, len);
	if (!odd)
		return ZTP_OK; /* plain ASCII, no wildcards: valid either way */
check:
	return filter ? ztp__topic_filter_check(s, len)
		      : ztp__topic_name_check(s, len);
}

/* -------------------------------------------------------------------- match */

typedef struct mctx {
	const ztp__pindex *x;
	ztp__preq *r;
	ztp__ptopic *t;
	uint8_t bit;
} mctx;

/* Level d of the request, with its wildcard and '$' flags. */
typedef struct lvl {
	ztp__plevel *l;
	bool plus, hash, dollar; /* dollar: a first level starting with '$' */
} lvl;

static inline void lvl_at(lvl *l, const mctx *m, uint32_t d)
{
	ztp__plevel *p = &m->t->l[d];

	l->l = p;
	l->plus = p->len == 1 && p->p[0] == '+';
	l->hash = p->len == 1 && p->p[0] == '#';
	l->dollar = d == 0 && p->len > 0 && p->p[0] == '$';
}

/* Whether level d exists but lies beyond what was split. No resource is that
 * deep (a node at depth d has at most ZTP__PX_MAX_LEVELS - d levels below
 * it), so the walks never get there; the test keeps them in bounds anyway. */
static inline bool beyond(const mctx *m, uint32_t d)
{
	return d >= m->t->n;
}

static inline bool stop(const mctx *m)
{
	return !m->r->explain && m->r->found[ZTP__PX_DENY];
}

static inline void hit(const mctx *m, const ztp__pnode *n, int effect)
{
	ztp__preq *r = m->r;
	uint32_t f;

	if (!(n->term[effect] & m->bit))
		return;
	r->found[effect] = true;
	f = n->first[effect * ZTP__PX_NACT + r->act];
	if (f < r->best[effect])
		r->best[effect] = f;
}

/* Whether walking into n can still change the outcome. */
static inline bool worth(const mctx *m, const ztp__pnode *n, bool deny_only)
{
	if (stop(m))
		return false;
	if (n->sub[ZTP__PX_DENY] & m->bit)
		return true;
	return !deny_only && (n->sub[ZTP__PX_ALLOW] & m->bit) &&
	       (m->r->explain || !m->r->found[ZTP__PX_ALLOW]);
}

static bool val_is(const mctx *m, int v, const lvl *l)
{
	return m->r->vlen[v] == l->l->len &&
	       memcmp(m->r->val[v], l->l->p, l->l->len) == 0;
}

static inline const ztp__pnode *kid_of(const mctx *m, const ztp__pnode *n,
				       const lvl *l)
{
	ztp__plevel *p = l->l;

	if (!p->hashed) {
		size_t from = (size_t)(p->p - m->t->s);

		p->hash = level_hash_in(m->t->s, m->t->len, from, from + p->len,
					&p->tail);
		p->hashed = true;
	}
	return kid_find(n, p->p, p->len, p->hash, p->tail);
}

/* Topic name against resources. deny_only: the path went through a variable
 * whose value is unknown, so only Deny resources below apply. Most levels
 * lead to one child at most, so the walk loops down the last candidate and
 * recurses only where the trie branches. */
static void name_walk(const mctx *m, const ztp__pnode *n, uint32_t d,
		      bool deny_only)
{
	const ztp__pnode *k, *next;
	bool next_deny_only;
	lvl l;
	int v;

	for (;;) {
		if (d == m->t->total) {
			hit(m, n, ZTP__PX_DENY);
			if (!deny_only)
				hit(m, n, ZTP__PX_ALLOW);
			if (n->hash) {
				hit(m, n->hash, ZTP__PX_DENY);
				if (!deny_only)
					hit(m, n->hash, ZTP__PX_ALLOW);
			}
			return;
		}
		if (beyond(m, d))
			return;
		lvl_at(&l, m, d);
		if (n->hash && !l.dollar) {
			hit(m, n->hash, ZTP__PX_DENY);
			if (!deny_only)
				hit(m, n->hash, ZTP__PX_ALLOW);
		}
		next = NULL;
		next_deny_only = deny_only;
		if (n->kcap) {
			k = kid_of(m, n, &l);
			if (k && worth(m, k, deny_only))
				next = k;
		}
		if (n->plus && !l.dollar && worth(m, n->plus, deny_only)) {
			if (next)
				name_walk(m, next, d + 1, deny_only);
			next = n->plus;
		}
		for (v = 0; n->nvars && v < ZTP__VAR_COUNT; v++) {
			bool only;

			k = n->var[v];
			if (!k)
				continue;
			if (m->r->val[v]) {
				if (!val_is(m, v, &l))
					continue;
				only = deny_only;
			} else {
				if (l.dollar)
					continue;
				only = true;
			}
			if (!worth(m, k, only))
				continue;
			if (next)
				name_walk(m, next, d + 1, next_deny_only);
			next = k;
			next_deny_only = only;
		}
		/* the branches walked meanwhile may have settled it */
		if (!next || !worth(m, next, next_deny_only))
			return;
		n = next;
		deny_only = next_deny_only;
		d++;
	}
}

void ztp__pindex_match_name(const ztp__pindex *x, ztp__preq *r, ztp__ptopic *t)
{
	mctx m = {x, r, t, (uint8_t)(1u << r->act)};

	r->found[0] = r->found[1] = false;
	r->best[0] = r->best[1] = ZTP__PX_NONE;
	name_walk(&m, x->root, 0, false);
}

static bool allow_worth(const mctx *m, const ztp__pnode *k)
{
	return k && (k->sub[ZTP__PX_ALLOW] & m->bit) &&
	       (m->r->explain || !m->r->found[ZTP__PX_ALLOW]);
}

/* Subset: is the requested filter covered by an Allow resource? */
static void allow_walk(const mctx *m, const ztp__pnode *n, uint32_t d)
{
	const ztp__pnode *k;
	lvl l;
	int v;

	if (d == m->t->total) {
		hit(m, n, ZTP__PX_ALLOW);
		if (n->hash)
			hit(m, n->hash, ZTP__PX_ALLOW);
		return;
	}
	if (beyond(m, d))
		return;
	lvl_at(&l, m, d);
	/* a resource '#' covers whatever is left of the request, except
	 * that a first-level '#' never covers a '$' topic */
	if (n->hash && !l.dollar)
		hit(m, n->hash, ZTP__PX_ALLOW);
	if (l.hash)
		return; /* only a resource '#' covers a requested '#' */
	if (l.plus) {
		if (allow_worth(m, n->plus))
			allow_walk(m, n->plus, d + 1);
		return; /* neither a literal nor a variable covers '+' */
	}
	if (n->kcap) {
		k = kid_of(m, n, &l);
		if (allow_worth(m, k))
			allow_walk(m, k, d + 1);
	}
	if (!l.dollar && allow_worth(m, n->plus))
		allow_walk(m, n->plus, d + 1);
	for (v = 0; v < ZTP__VAR_COUNT; v++) {
		k = n->var[v];
		if (m->r->val[v] && val_is(m, v, &l) && allow_worth(m, k))
			allow_walk(m, k, d + 1);
	}
}

/* Every Deny resource ending at or below n (for a requested '#'). */
static void deny_subtree(const mctx *m, const ztp__pnode *n, bool skip_dollar)
{
	const ztp__pnode *k[2 + ZTP__VAR_COUNT];
	uint32_t i;
	size_t j;

	if (!(n->sub[ZTP__PX_DENY] & m->bit) || stop(m))
		return;
	hit(m, n, ZTP__PX_DENY);
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node &&
		    !(skip_dollar && n->kids[i].node->label[0] == '$'))
			deny_subtree(m, n->kids[i].node, false);
	k[0] = n->plus;
	k[1] = n->hash;
	for (j = 0; j < ZTP__VAR_COUNT; j++)
		k[2 + j] = n->var[j];
	for (j = 0; j < 2 + ZTP__VAR_COUNT; j++)
		if (k[j])
			deny_subtree(m, k[j], false);
}

/* Intersection: could some topic match the request and a Deny resource? */
static void deny_walk(const mctx *m, const ztp__pnode *n, uint32_t d)
{
	const ztp__pnode *k;
	uint32_t i;
	lvl l;
	int v;

	if (!(n->sub[ZTP__PX_DENY] & m->bit) || stop(m))
		return;
	if (d == m->t->total) {
		hit(m, n, ZTP__PX_DENY);
		if (n->hash)
			hit(m, n->hash, ZTP__PX_DENY);
		return;
	}
	if (beyond(m, d))
		return;
	lvl_at(&l, m, d);
	if (n->hash && !l.dollar)
		hit(m, n->hash, ZTP__PX_DENY);
	if (l.hash) {
		/* the request matches n itself and everything below it,
		 * except '$' topics when it is the first level */
		if (d == 0 && !m->r->explain) {
			if (m->x->root_nodollar[ZTP__PX_DENY] & m->bit)
				m->r->found[ZTP__PX_DENY] = true;
			return;
		}
		deny_subtree(m, n, d == 0);
		return;
	}
	if (l.plus) {
		for (i = 0; i < n->kcap; i++)
			if (n->kids[i].node &&
			    !(d == 0 && n->kids[i].node->label[0] == '$'))
				deny_walk(m, n->kids[i].node, d + 1);
	} else if (n->kcap) {
		k = kid_of(m, n, &l);
		if (k)
			deny_walk(m, k, d + 1);
	}
	if (n->plus && !l.dollar)
		deny_walk(m, n->plus, d + 1);
	for (v = 0; v < ZTP__VAR_COUNT; v++) {
		k = n->var[v];
		if (!k)
			continue;
		/* a known value is one literal level; an unknown one could
		 * be any identifier, and identifiers never start with '$' */
		if (l.plus || (!m->r->val[v] && !l.dollar) ||
		    (m->r->val[v] && val_is(m, v, &l)))
			deny_walk(m, k, d + 1);
	}
}

void ztp__pindex_match_filter(const ztp__pindex *x, ztp__preq *r,
			      ztp__ptopic *t)
{
	mctx m = {x, r, t, (uint8_t)(1u << r->act)};

	r->found[0] = r->found[1] = false;
	r->best[0] = r->best[1] = ZTP__PX_NONE;
	deny_walk(&m, x->root, 0);
	if (stop(&m))
		return;
	allow_walk(&m, x->root, 0);
}
