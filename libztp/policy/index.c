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

#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define ZTP__PX_SSE2 1
#endif

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/*
 * Two forms of the same trie.
 *
 * While resources are added, the trie is a tree of separately allocated
 * build nodes (bnode), one per distinct path, literal children in an
 * open-addressing table.
 *
 * ztp__pindex_finish() then compiles it into one read-only block (the
 * arena) addressed by 32-bit offsets, in which identical subtrees are stored
 * once. Policies written per tenant repeat the same rules under each
 * tenant's own level, so everything below those levels collapses into one
 * shared subtree that stays in cache however many tenants there are; only
 * the table of tenant levels grows with the fleet. Statement indexes are
 * stored relative to the lowest statement of their subtree and each edge
 * carries the difference, so shared subtrees still name their own
 * statements: a walk adds the edges' deltas as it goes down.
 */
typedef struct ztp__bnode bnode;

/* A literal child with its hash, so that probing the table touches no
 * node but the one that matches. */
typedef struct bslot {
	uint32_t hash;
	bnode *node;
} bslot;

struct ztp__bnode {
	bslot *kids;   /* literal children, open addressing */
	uint32_t kcap; /* 0 or a power of two */
	uint32_t nkids;
	uint8_t term[2]; /* actions with a resource ending here, per effect */
	uint8_t sub[2];	 /* same, for this node and everything below */
	uint32_t lo;	 /* lowest statement in the subtree, or NONE */
	uint32_t id;	 /* identity of the subtree once compiled */
	bnode *plus;
	bnode *hash;
	bnode *var[ZTP__VAR_COUNT];
	uint32_t *first; /* [effect * NACT + action]: lowest statement */
	uint64_t tail;	 /* last word of the label, as level_hash() reads it */
	uint32_t label_len;
	char label[]; /* literal level ("" if none) */
};

/* The compiled form. Offset 0 is never a node, so it means "none". */
typedef struct pedge {
	uint32_t node;	/* offset of the child, 0 if none */
	uint32_t delta; /* added to the statement indexes below it */
} pedge;

/* One cache line per node (nodes start on 64-byte boundaries). */
typedef struct pnode {
	uint8_t term[2];
	uint8_t sub[2];
	uint8_t nvars; /* bit v: a child for variable v */
	uint8_t other; /* any child other than literal ones */
	uint8_t pad0[2];
	uint32_t kmask; /* literal table capacity - 1 */
	uint32_t kids;	/* offset of the literal table, 0 if none */
	uint32_t first; /* offset of the statement indexes, 0 if none */
	pedge plus;
	pedge hash;
	pedge var[ZTP__VAR_COUNT];
	uint32_t pad1;
} pnode;

/* A literal table is kmask + 1 tags (the level's hash with TAG_BIT set, 0
 * for an empty slot), padded to 8 bytes, then as many entries: a probe
 * reads the dense tags and only the matching entry. */
#define TAG_BIT 0x80000000u
typedef struct pent {
	uint64_t tail;	/* last 1..8 bytes of the label */
	uint32_t len;	/* label length, DOLLAR_BIT if it starts with '$' */
	uint32_t node;	/* offset of the child */
	uint32_t delta; /* as in pedge */
	uint32_t label; /* offset of the label's bytes (labels over 8 bytes) */
} pent;
#define DOLLAR_BIT 0x80000000u
#define LEN_MASK 0x7fffffffu
#define NODE_ALIGN 64u
#define HUGE_ALIGN ((size_t)2 << 20) /* a huge page on common systems */

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

/* The last word: one multiply, keeping the well-mixed high half. */
static inline uint32_t hash_last(uint64_t h, uint64_t w)
{
	return (uint32_t)(((h ^ w) * 0x9e3779b97f4a7c15ull) >> 32);
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
	uint64_t h = (uint64_t)n * 0xff51afd7ed558ccdull, w = 0;
	size_t i;

	for (; n > 8; s += 8, n -= 8)
		h = hash_word(h, load64(s));
	for (i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	*tail = w;
	return hash_last(h, w);
}

/* level_hash() of level l of topic t, reading whole words from t->b (the
 * topic, or a copy padded to 16 bytes when it is shorter): the last word
 * is read as a whole word ending at the level's end and the extra bytes
 * shifted out. */
static ALWAYS_INLINE uint32_t level_key(const ztp__ptopic *t,
					const ztp__plevel *l, uint64_t *tail)
{
	const char *b = t->b;
	size_t n = l->len, from = l->from, to = from + n;
	size_t h8 = head_len(n), i, r;
	uint64_t h = (uint64_t)n * 0xff51afd7ed558ccdull, w = 0;

	for (i = 0; i < h8; i += 8)
		h = hash_word(h, load64(b + from + i));
	if (n) {
		r = 8 - (n - h8); /* bytes of the word not the level's */
		if (to >= 8)
			w = load64(b + to - 8) >> (8 * r);
		else /* the level lies within the first word */
			w = (load64(b) >> (8 * from)) & (~0ull >> (8 * r));
	}
	*tail = w;
	return hash_last(h, w);
}

static size_t level_end(const char *t, size_t len, size_t pos)
{
	const char *s = memchr(t + pos, '/', len - pos);

	return s ? (size_t)(s - t) : len;
}

/* ------------------------------------------------------------------- syntax */

/* Well-formed UTF-8 (RFC 3629, core/utf8.h): MQTT requires it of every
 * topic [MQTT-1.5.4-1]. */
static bool utf8_ok(const char *t, size_t len)
{
	return ztp__utf8_valid(t, len) != 0;
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

static bnode *node_new(const char *label, size_t len)
{
	bnode *n = ztp__calloc(1, sizeof(*n) + len + 1);

	if (n) {
		memcpy(n->label, label, len);
		n->label_len = (uint32_t)len;
		(void)level_hash(label, len, &n->tail);
	}
	return n;
}

static void node_free(bnode *n)
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
	x->build = node_new("", 0);
	return x->build ? ZTP_OK : ZTP_ENOMEM;
}

void ztp__pindex_free(ztp__pindex *x)
{
	if (!x)
		return;
	free(x->block);
	node_free(x->build);
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

static bnode *bkid_find(const bnode *n, const char *s, size_t len, uint32_t h,
			uint64_t tail)
{
	uint32_t mask, i;

	if (n->kcap == 0)
		return NULL;
	mask = n->kcap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		const bslot *k = &n->kids[i];
		const bnode *c = k->node;

		if (!c)
			return NULL;
		if (k->hash == h && c->label_len == len && c->tail == tail &&
		    same_words(c->label, s, head_len(len)))
			return k->node;
	}
}

static void kid_place(bslot *tab, uint32_t cap, uint32_t h, bnode *k)
{
	uint32_t i, mask = cap - 1;

	for (i = h & mask; tab[i].node; i = (i + 1) & mask)
		;
	tab[i].hash = h;
	tab[i].node = k;
}

/* Keep the load factor at or below 3/4 so that probes always end. */
static int kids_grow(bnode *n)
{
	uint32_t cap, i;
	bslot *tab;

	if ((uint64_t)(n->nkids + 1) * 4 <= (uint64_t)n->kcap * 3)
		return ZTP_OK;
	cap = n->kcap ? n->kcap * 2 : 2;
	if (cap < n->kcap || cap > TAG_BIT)
		return ztp__err(ZTP_ETOOBIG, "policy: too many topic levels");
	tab = ztp__calloc(cap, sizeof(*tab));
	if (!tab)
		return ZTP_ENOMEM;
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			kid_place(tab, cap, n->kids[i].hash, n->kids[i].node);
	free(n->kids);
	n->kids = tab;
	n->kcap = cap;
	return ZTP_OK;
}

static int child_get(bnode **out, bnode *n, const char *l, size_t len)
{
	bnode **slot = NULL;
	bnode *k;
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
			*slot = node_new("", 0);
			ZTP_ENSURE(*slot, ZTP_ENOMEM, "policy: out of memory");
		}
		*out = *slot;
		goto cleanup;
	}
	h = level_hash(l, len, &tail);
	k = bkid_find(n, l, len, h, tail);
	if (!k) {
		ZTP_CHECK(kids_grow(n));
		k = node_new(l, len);
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
	bnode *n = x->build;
	size_t pos = 0;
	int rc = ZTP_OK, a;

	ZTP_ENSURE(n, ZTP_EINVAL, "policy: index already compiled");
	for (;;) {
		size_t e = level_end(r, len, pos);

		ZTP_CHECK(child_get(&n, n, r + pos, e - pos));
		if (e == len)
			break;
		pos = e + 1;
	}
	if (!n->first) {
		n->first = ztp__malloc(2 * ZTP__PX_NACT * sizeof(uint32_t));
		ZTP_ENSURE(n->first, ZTP_ENOMEM, "policy: out of memory");
		for (a = 0; a < 2 * ZTP__PX_NACT; a++)
			n->first[a] = ZTP__PX_NONE;
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

/* The children of n other than its literal ones, in a fixed order (absent
 * ones as NULL). */
#define NOTHER (2 + ZTP__VAR_COUNT)
static void other_kids(const bnode *n, bnode **k)
{
	int v;

	k[0] = n->plus;
	k[1] = n->hash;
	for (v = 0; v < ZTP__VAR_COUNT; v++)
		k[2 + v] = n->var[v];
}

/* sub[] and lo of every node. */
static void summarise(bnode *n)
{
	bnode *k[NOTHER];
	uint32_t i;
	int j;

	n->sub[0] = n->term[0];
	n->sub[1] = n->term[1];
	n->lo = ZTP__PX_NONE;
	for (j = 0; n->first && j < 2 * ZTP__PX_NACT; j++)
		if (n->first[j] < n->lo)
			n->lo = n->first[j];
	other_kids(n, k);
	for (i = 0; i < n->kcap + NOTHER; i++) {
		bnode *c = i < n->kcap ? n->kids[i].node : k[i - n->kcap];

		if (!c)
			continue;
		summarise(c);
		n->sub[0] |= c->sub[0];
		n->sub[1] |= c->sub[1];
		if (c->lo < n->lo)
			n->lo = c->lo;
	}
}

/* What an edge from n to its child c adds to statement indexes. */
static uint32_t delta_of(const bnode *n, const bnode *c)
{
	return c->lo == ZTP__PX_NONE ? 0 : c->lo - n->lo;
}

/* Subtree identities: two nodes get the same id when their subtrees are
 * equal once statement indexes are taken relative to each subtree's lowest
 * one. A node's signature lists what it holds and its children's ids, so
 * equal signatures mean equal subtrees; signatures of first occurrences
 * (the representatives) are kept in one buffer, found through a hash
 * table. */
typedef struct csig {
	uint64_t hash;
	size_t off, len; /* in canon.sigs */
} csig;

typedef struct canon {
	ztp__buf sigs;
	csig *tab;     /* open addressing, by hash; tab[i].len 0: empty */
	uint32_t *ids; /* id of each tab slot */
	size_t cap, n; /* slots, representatives */
	bnode **reps;  /* the representative of each id */
	size_t repcap;
	bnode **scratch; /* literal children of one node, sorted */
	size_t scratchcap;
} canon;

static int label_cmp(const void *a, const void *b)
{
	const bnode *x = *(bnode *const *)a, *y = *(bnode *const *)b;

	if (x->label_len != y->label_len)
		return x->label_len < y->label_len ? -1 : 1;
	return memcmp(x->label, y->label, x->label_len);
}

static int sig_u32(canon *c, uint32_t v)
{
	return ztp__buf_append(&c->sigs, &v, sizeof(v));
}

static uint64_t sig_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = hash_word(h, w);
	}
	w = 0;
	memcpy(&w, p, n);
	return hash_word(h, w) * 0xc4ceb9fe1a85ec53ull;
}

static int canon_grow(canon *c)
{
	size_t cap = c->cap ? c->cap * 2 : 1024, i, j;
	csig *tab;
	uint32_t *ids;
	int rc = ZTP_OK;

	if (c->n * 4 < c->cap * 3)
		return ZTP_OK;
	tab = ztp__calloc(cap, sizeof(*tab));
	ids = ztp__calloc(cap, sizeof(*ids));
	ZTP_ENSURE(tab && ids, ZTP_ENOMEM, "policy: out of memory");
	for (i = 0; i < c->cap; i++) {
		if (!c->tab[i].len)
			continue;
		for (j = c->tab[i].hash & (cap - 1); tab[j].len;
		     j = (j + 1) & (cap - 1))
			;
		tab[j] = c->tab[i];
		ids[j] = c->ids[i];
	}
	free(c->tab);
	free(c->ids);
	c->tab = tab;
	c->ids = ids;
	c->cap = cap;
	tab = NULL;
	ids = NULL;
cleanup:
	free(tab);
	free(ids);
	return rc;
}

/* Give n and everything below it an id. */
static int canon_node(canon *c, bnode *n)
{
	bnode *k[NOTHER];
	size_t start = c->sigs.len, nk = 0, i, slot;
	uint64_t h;
	int rc = ZTP_OK, j;

	other_kids(n, k);
	for (j = 0; j < NOTHER; j++)
		if (k[j])
			ZTP_CHECK(canon_node(c, k[j]));
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			ZTP_CHECK(canon_node(c, n->kids[i].node));

	ZTP_CHECK(ztp__buf_append(&c->sigs, n->term, 2));
	for (j = 0; j < 2 * ZTP__PX_NACT; j++)
		ZTP_CHECK(sig_u32(c, n->first && n->first[j] != ZTP__PX_NONE
					 ? n->first[j] - n->lo
					 : ZTP__PX_NONE));
	for (j = 0; j < NOTHER; j++) {
		ZTP_CHECK(sig_u32(c, k[j] ? k[j]->id : ZTP__PX_NONE));
		ZTP_CHECK(sig_u32(c, k[j] ? delta_of(n, k[j]) : 0));
	}
	/* literal children in label order, whatever order they were added
	 * in */
	if (n->nkids > c->scratchcap) {
		bnode **s = ztp__realloc(c->scratch, n->nkids * sizeof(*s));

		ZTP_ENSURE(s, ZTP_ENOMEM, "policy: out of memory");
		c->scratch = s;
		c->scratchcap = n->nkids;
	}
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			c->scratch[nk++] = n->kids[i].node;
	if (nk > 1)
		qsort(c->scratch, nk, sizeof(*c->scratch), label_cmp);
	ZTP_CHECK(sig_u32(c, (uint32_t)nk));
	for (i = 0; i < nk; i++) {
		const bnode *kid = c->scratch[i];

		ZTP_CHECK(sig_u32(c, kid->id));
		ZTP_CHECK(sig_u32(c, delta_of(n, kid)));
		ZTP_CHECK(sig_u32(c, kid->label_len));
		ZTP_CHECK(
		    ztp__buf_append(&c->sigs, kid->label, kid->label_len));
	}

	ZTP_CHECK(canon_grow(c));
	h = sig_hash(c->sigs.data + start, c->sigs.len - start);
	for (slot = h & (c->cap - 1); c->tab[slot].len;
	     slot = (slot + 1) & (c->cap - 1)) {
		const csig *s = &c->tab[slot];

		if (s->hash == h && s->len == c->sigs.len - start &&
		    memcmp(c->sigs.data + s->off, c->sigs.data + start,
			   s->len) == 0) {
			n->id = c->ids[slot];
			c->sigs.len = start; /* a copy: keep the first */
			goto cleanup;
		}
	}
	ZTP_ENSURE(c->n < UINT32_MAX - 1, ZTP_ETOOBIG,
		   "policy: too many topic levels");
	if (c->n == c->repcap) {
		size_t cap = c->repcap ? c->repcap * 2 : 1024;
		bnode **r = ztp__realloc(c->reps, cap * sizeof(*r));

		ZTP_ENSURE(r, ZTP_ENOMEM, "policy: out of memory");
		c->reps = r;
		c->repcap = cap;
	}
	n->id = (uint32_t)c->n;
	c->reps[c->n++] = n;
	c->tab[slot] = (csig){h, start, c->sigs.len - start};
	c->ids[slot] = n->id;
cleanup:
	return rc;
}

/* Capacity of the compiled literal table of n: at most 7/8 full, which
 * keeps a fleet's table of tenant levels small enough for the tags to stay
 * in a core's cache; a probe scans dense 4-byte tags, so even a miss reads
 * a line or two of them. */
static uint32_t table_cap(const bnode *n)
{
	uint64_t cap = 2;

	while ((uint64_t)n->nkids * 8 > cap * 7)
		cap *= 2;
	return (uint32_t)cap;
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

/* Bytes of the compiled form of n alone (its subtree not included). */
static size_t rep_size(const bnode *n)
{
	size_t sz = sizeof(pnode), cap;
	uint32_t i;

	if (n->nkids) {
		cap = table_cap(n);
		sz += align_up(cap * sizeof(uint32_t), 8) + cap * sizeof(pent);
		for (i = 0; i < n->kcap; i++)
			if (n->kids[i].node && n->kids[i].node->label_len > 8)
				sz += n->kids[i].node->label_len;
	}
	if (n->first)
		sz = align_up(sz, 8) + 2 * ZTP__PX_NACT * sizeof(uint32_t);
	return align_up(sz, NODE_ALIGN);
}

/* Offsets of the representatives, in depth-first preorder from the root so
 * that a walk down stays on nearby lines. off[id] 0: not placed yet. */
static int layout(size_t *off, size_t *at, const bnode *n)
{
	bnode *k[NOTHER];
	uint32_t i;
	int j, rc = ZTP_OK;

	if (off[n->id])
		return ZTP_OK;
	off[n->id] = *at;
	*at += rep_size(n);
	ZTP_ENSURE(*at <= UINT32_MAX, ZTP_ETOOBIG,
		   "policy: compiled index over 4 GiB");
	for (i = 0; i < n->kcap; i++)
		if (n->kids[i].node)
			ZTP_CHECK(layout(off, at, n->kids[i].node));
	other_kids(n, k);
	for (j = 0; j < NOTHER; j++)
		if (k[j])
			ZTP_CHECK(layout(off, at, k[j]));
cleanup:
	return rc;
}

static pedge edge_to(const size_t *off, const bnode *n, const bnode *c)
{
	pedge e = {0, 0};

	if (c) {
		e.node = (uint32_t)off[c->id];
		e.delta = delta_of(n, c);
	}
	return e;
}

/* Write the compiled form of representative n at off[n->id]. */
static void emit(unsigned char *a, const size_t *off, const bnode *n)
{
	size_t at = off[n->id];
	pnode *p = (pnode *)(void *)(a + at);
	uint32_t i, j;
	int v;

	p->term[0] = n->term[0];
	p->term[1] = n->term[1];
	p->sub[0] = n->sub[0];
	p->sub[1] = n->sub[1];
	p->plus = edge_to(off, n, n->plus);
	p->hash = edge_to(off, n, n->hash);
	for (v = 0; v < ZTP__VAR_COUNT; v++) {
		p->var[v] = edge_to(off, n, n->var[v]);
		p->nvars |= (uint8_t)((n->var[v] != NULL) << v);
	}
	p->other = p->nvars || n->plus || n->hash;
	at += sizeof(pnode);
	if (n->nkids) {
		uint32_t cap = table_cap(n), *tags;
		pent *ents;

		p->kmask = cap - 1;
		p->kids = (uint32_t)at;
		tags = (uint32_t *)(void *)(a + at);
		at += align_up(cap * sizeof(uint32_t), 8);
		ents = (pent *)(void *)(a + at);
		at += cap * sizeof(pent);
		for (i = 0; i < n->kcap; i++) {
			const bnode *c = n->kids[i].node;
			uint32_t h = n->kids[i].hash;
			pent *e;

			if (!c)
				continue;
			for (j = h & p->kmask; tags[j]; j = (j + 1) & p->kmask)
				;
			tags[j] = h | TAG_BIT;
			e = &ents[j];
			e->tail = c->tail;
			e->len =
			    c->label_len |
			    (c->label_len && c->label[0] == '$' ? DOLLAR_BIT
								: 0);
			e->node = (uint32_t)off[c->id];
			e->delta = delta_of(n, c);
			if (c->label_len > 8) {
				e->label = (uint32_t)at;
				memcpy(a + at, c->label, c->label_len);
				at += c->label_len;
			}
		}
	}
	if (n->first) {
		uint32_t *f;

		at = align_up(at, 8);
		f = (uint32_t *)(void *)(a + at);
		p->first = (uint32_t)at;
		for (j = 0; j < 2 * ZTP__PX_NACT; j++)
			f[j] = n->first[j] == ZTP__PX_NONE
				   ? ZTP__PX_NONE
				   : n->first[j] - n->lo;
	}
}

int ztp__pindex_finish(ztp__pindex *x)
{
	canon c;
	size_t *off = NULL, at = NODE_ALIGN, align, i;
	const pnode *r;
	const uint32_t *tags;
	const pent *ents;
	int rc = ZTP_OK, e, v;

	memset(&c, 0, sizeof(c));
	ZTP_ENSURE(x->build && !x->arena, ZTP_EINVAL,
		   "policy: index already compiled");
	summarise(x->build);
	ZTP_CHECK(canon_node(&c, x->build));
	off = ztp__calloc(c.n, sizeof(*off));
	ZTP_ENSURE(off, ZTP_ENOMEM, "policy: out of memory");
	/* offset 0 stays free: it means "no child" */
	ZTP_CHECK(layout(off, &at, c.reps[x->build->id]));
	/* nodes start on cache lines: align the block by hand, keeping the
	 * library's allocator (and its failure injection in tests) */
	align = at >= HUGE_ALIGN ? HUGE_ALIGN : NODE_ALIGN;
	x->block = ztp__malloc(align_up(at, align) + align - 1);
	ZTP_ENSURE(x->block, ZTP_ENOMEM, "policy: out of memory");
	x->arena = (unsigned char *)x->block +
		   (align - (uintptr_t)x->block % align) % align;
#ifdef MADV_HUGEPAGE
	/* a large index is read at random by every decision: on huge pages
	 * those reads do not also miss the TLB (a hint, given before the
	 * pages are first touched) */
	if (align == HUGE_ALIGN)
		(void)madvise(x->arena, align_up(at, align), MADV_HUGEPAGE);
#endif
	memset(x->arena, 0, at);
	for (i = 0; i < c.n; i++)
		if (off[i])
			emit(x->arena, off, c.reps[i]);
	x->root = (uint32_t)off[x->build->id];
	x->base = x->build->lo == ZTP__PX_NONE ? 0 : x->build->lo;
	x->nodes = c.n;
	x->bytes = at;

	/* what the root's subtree holds outside first levels starting with
	 * '$' (a requested '#' at the first level reaches all of that) */
	r = (const pnode *)(void *)(x->arena + x->root);
	tags = (const uint32_t *)(void *)(x->arena + r->kids);
	ents = (const pent *)(void *)(x->arena + r->kids +
				      align_up(((size_t)r->kmask + 1) * 4, 8));
	for (e = 0; e < 2; e++) {
		uint8_t m = 0;
		const pedge *o[NOTHER] = {&r->plus, &r->hash};

		for (i = 0; r->kids && i <= r->kmask; i++)
			if (tags[i] && !(ents[i].len & DOLLAR_BIT))
				m |= ((const pnode *)(void *)(x->arena +
							      ents[i].node))
					 ->sub[e];
		for (v = 0; v < ZTP__VAR_COUNT; v++)
			o[2 + v] = &r->var[v];
		for (v = 0; v < NOTHER; v++)
			if (o[v]->node)
				m |= ((const pnode *)(void *)(x->arena +
							      o[v]->node))
					 ->sub[e];
		x->root_nodollar[e] = m;
	}
	node_free(x->build);
	x->build = NULL;
cleanup:
	free(off);
	free(c.tab);
	free(c.ids);
	free(c.reps);
	free(c.scratch);
	ztp__buf_free(&c.sigs);
	return rc;
}

/* -------------------------------------------------------------------- split */

static void level_put(ztp__ptopic *t, size_t from, size_t to)
{
	if (t->n < ZTP__PX_TOPIC_LEVELS) {
		ztp__plevel *l = &t->l[t->n++];

		l->from = (uint32_t)from;
		l->len = (uint32_t)(to - from);
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

/* The portable split: eight bytes at a time. Levels are split, and
 * anything that needs the full checks (NUL, wildcards, bytes outside ASCII)
 * is noticed on the way; returns whether there was any. */
static bool split_words(ztp__ptopic *t, const char *s, size_t len)
{
	size_t i = 0, from = 0;
	uint64_t odd = 0, w, m;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		/* '+' (0x2b) and '#' (0x23) are the bytes that read 0x2b
		 * with bit 3 set */
		odd |= (w & ~LOW7) | bytes_eq(w, 0) |
		       bytes_eq(w | (ONES * 0x08), '+');
		for (m = bytes_eq(w, '/'); m; m &= m - 1) {
			size_t at = i + lowest_byte(m);

			level_put(t, from, at);
			from = at + 1;
		}
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/') {
			level_put(t, from, i);
			from = i + 1;
			continue;
		}
		odd |= (uint64_t)(c >= 0x80) | (uint64_t)(c == '\0') |
		       (uint64_t)(c == '+') | (uint64_t)(c == '#');
	}
	level_put(t, from, len);
	return odd != 0;
}

#ifdef ZTP__PX_SSE2
/* Bits of a 16-byte block: '/' bytes in *slash, and the bytes that need
 * the full checks (NUL, '+', '#', anything outside ASCII) returned. */
static inline unsigned block_scan(__m128i v, unsigned *slash)
{
	const __m128i bad =
	    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
			 _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x08)),
					_mm_set1_epi8('+')));

	*slash =
	    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
	/* the top bit of a byte is set outside ASCII */
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(v, bad));
}

/* The same with 16-byte vectors. */
static bool split_vec(ztp__ptopic *t, const char *s, size_t len)
{
	ztp__plevel *lv = t->l;
	size_t i = 0, from = 0, at, r;
	uint32_t n = 0;
	unsigned odd = 0, m;

/* level_put() with the count in a register */
#define PUT(to)                                                                \
	do {                                                                   \
		if (n < ZTP__PX_TOPIC_LEVELS) {                                \
			lv[n].from = (uint32_t)from;                           \
			lv[n].len = (uint32_t)((to)-from);                     \
		}                                                              \
		n++;                                                           \
	} while (0)

	for (; i + 16 <= len; i += 16) {
		odd |= block_scan(_mm_loadu_si128((const void *)(s + i)), &m);
		for (; m; m &= m - 1) {
			at = i + (size_t)__builtin_ctz(m);
			PUT(at);
			from = at + 1;
		}
	}
	r = len - i; /* 0..15 bytes left */
	if (r) {
		unsigned bad;

		if (len >= 16) {
			/* the last 16 bytes of the topic, of which the
			 * top r are new */
			bad = block_scan(
			    _mm_loadu_si128((const void *)(s + len - 16)), &m);
			bad >>= 16 - r;
			m >>= 16 - r;
		} else {
			bad = block_scan(_mm_loadu_si128((const void *)t->pad),
					 &m) &
			      ((1u << r) - 1);
		}
		odd |= bad;
		for (; m; m &= m - 1) {
			at = i + (size_t)__builtin_ctz(m);
			PUT(at);
			from = at + 1;
		}
	}
	PUT(len);
#undef PUT
	t->total = n;
	t->n = n < ZTP__PX_TOPIC_LEVELS ? n : ZTP__PX_TOPIC_LEVELS;
	return odd != 0;
}
#endif

int ztp__ptopic_split_impl(ztp__ptopic *t, const char *s, size_t len,
			   bool filter, bool portable)
{
	bool odd;

	t->n = t->total = 0;
	t->s = s;
	t->len = len;
	if (len == 0 || len > ZTP__PX_MAX_TOPIC)
		goto check;
	/* levels are read a word at a time: a topic under 16 bytes is read
	 * from a copy padded with zeros */
	t->b = s;
	if (len < sizeof(t->pad)) {
		memset(t->pad, 0, sizeof(t->pad));
		memcpy(t->pad, s, len);
		t->b = t->pad;
	}
#ifdef ZTP__PX_SSE2
	odd = portable ? split_words(t, s, len) : split_vec(t, s, len);
#else
	(void)portable;
	odd = split_words(t, s, len);
#endif
	if (!odd)
		return ZTP_OK; /* plain ASCII, no wildcards: valid either way */
check:
	return filter ? ztp__topic_filter_check(s, len)
		      : ztp__topic_name_check(s, len);
}

/* -------------------------------------------------------------------- match */

typedef struct mctx {
	const unsigned char *a; /* the arena */
	const ztp__pindex *x;
	ztp__preq *r;
	ztp__ptopic *t;
	uint8_t bit;
} mctx;

static inline const pnode *node_at(const mctx *m, uint32_t off)
{
	return (const pnode *)(const void *)(m->a + off);
}

/* Level d of the request, with its wildcard and '$' flags. */
typedef struct lvl {
	ztp__plevel *l;
	bool plus, hash, dollar; /* dollar: a first level starting with '$' */
} lvl;

static inline void lvl_at(lvl *l, const mctx *m, uint32_t d)
{
	ztp__plevel *p = &m->t->l[d];

	l->l = p;
	const char *c = m->t->s + p->from;

	l->plus = p->len == 1 && c[0] == '+';
	l->hash = p->len == 1 && c[0] == '#';
	l->dollar = d == 0 && p->len > 0 && c[0] == '$';
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

/* A resource of the given effect ending at n decides the request. base:
 * what the edges down to n added to statement indexes. */
static inline void hit(const mctx *m, const pnode *n, uint32_t base, int effect)
{
	ztp__preq *r = m->r;
	uint32_t f;

	if (!(n->term[effect] & m->bit))
		return;
	r->found[effect] = true;
	f = ((const uint32_t *)(const void *)(m->a +
					      n->first))[effect * ZTP__PX_NACT +
							 r->act] +
	    base;
	if (f < r->best[effect])
		r->best[effect] = f;
}

static inline void hit_both(const mctx *m, const pnode *n, uint32_t base,
			    bool deny_only)
{
	hit(m, n, base, ZTP__PX_DENY);
	if (!deny_only)
		hit(m, n, base, ZTP__PX_ALLOW);
}

/* Whether walking into n can still change the outcome. */
static inline bool worth(const mctx *m, const pnode *n, bool deny_only)
{
	if (stop(m))
		return false;
	if (n->sub[ZTP__PX_DENY] & m->bit)
		return true;
	return !deny_only && (n->sub[ZTP__PX_ALLOW] & m->bit) &&
	       (m->r->explain || !m->r->found[ZTP__PX_ALLOW]);
}

static bool val_is(const mctx *m, int v, const ztp__plevel *l)
{
	return m->r->vlen[v] == l->len &&
	       memcmp(m->r->val[v], m->t->s + l->from, l->len) == 0;
}

static inline const uint32_t *tags_of(const mctx *m, const pnode *n)
{
	return (const uint32_t *)(const void *)(m->a + n->kids);
}

static inline const pent *ents_of(const mctx *m, const pnode *n)
{
	return (const pent *)(const void *)(m->a + n->kids +
					    (((size_t)n->kmask + 1) * 4 + 7) /
						8 * 8);
}

/* The literal child of n (which has some) named by level p, or NULL. */
static ALWAYS_INLINE const pent *kid_of(const mctx *m, const pnode *n,
					const ztp__plevel *p)
{
	const uint32_t *tags = tags_of(m, n);
	uint64_t tail;
	const uint32_t hash = level_key(m->t, p, &tail), tag = hash | TAG_BIT;
	uint32_t i = hash & n->kmask;

#if defined(__GNUC__)
	/* in a large table (the tenants of a fleet) the tag and the entry
	 * are on different lines: fetch both at once */
	__builtin_prefetch(&ents_of(m, n)[i]);
#endif
	for (;; i = (i + 1) & n->kmask) {
		const pent *e;

		if (tags[i] == 0)
			return NULL;
		if (tags[i] != tag)
			continue;
		e = &ents_of(m, n)[i];
		if ((e->len & LEN_MASK) == p->len && e->tail == tail &&
		    same_words((const char *)m->a + e->label, m->t->s + p->from,
			       head_len(p->len)))
			return e;
	}
}

/* Topic name against resources. deny_only: the path went through a variable
 * whose value is unknown, so only Deny resources below apply. Most levels
 * lead to one child at most, so the walk loops down the last candidate and
 * recurses only where the trie branches. */
static void name_walk(const mctx *m, const pnode *n, uint32_t base, uint32_t d,
		      bool deny_only)
{
	const pnode *k, *next;
	uint32_t next_base;
	bool next_deny_only, dollar;
	ztp__plevel *l;
	int v;

	for (;;) {
		if (d == m->t->total) {
			hit_both(m, n, base, deny_only);
			if (n->hash.node)
				hit_both(m, node_at(m, n->hash.node),
					 base + n->hash.delta, deny_only);
			return;
		}
		if (beyond(m, d))
			return;
		l = &m->t->l[d];
		/* a topic name holds no wildcards: only '$' matters */
		dollar = d == 0 && l->len > 0 && m->t->s[0] == '$';
		if (n->hash.node && !dollar)
			hit_both(m, node_at(m, n->hash.node),
				 base + n->hash.delta, deny_only);
		next = NULL;
		next_base = 0;
		next_deny_only = deny_only;
		if (n->kids) {
			const pent *e = kid_of(m, n, l);

			if (e && worth(m, k = node_at(m, e->node), deny_only)) {
				next = k;
				next_base = base + e->delta;
			}
		}
		if (n->plus.node && !dollar &&
		    worth(m, k = node_at(m, n->plus.node), deny_only)) {
			if (next)
				name_walk(m, next, next_base, d + 1, deny_only);
			next = k;
			next_base = base + n->plus.delta;
		}
		for (v = 0; n->nvars && v < ZTP__VAR_COUNT; v++) {
			bool only;

			if (!n->var[v].node)
				continue;
			if (m->r->val[v]) {
				if (!val_is(m, v, l))
					continue;
				only = deny_only;
			} else {
				if (dollar)
					continue;
				only = true;
			}
			k = node_at(m, n->var[v].node);
			if (!worth(m, k, only))
				continue;
			if (next)
				name_walk(m, next, next_base, d + 1,
					  next_deny_only);
			next = k;
			next_base = base + n->var[v].delta;
			next_deny_only = only;
		}
		/* the branches walked meanwhile may have settled it */
		if (!next || !worth(m, next, next_deny_only))
			return;
		n = next;
		base = next_base;
		deny_only = next_deny_only;
		d++;
	}
}

/* The decision alone for a topic name (no explanation wanted), with the
 * walk's state in one small struct: the same semantics as name_walk(),
 * fewer loads per level. found: FOUND_ALLOW | FOUND_DENY. */
#define FOUND_ALLOW 1u
#define FOUND_DENY 2u

typedef struct fctx {
	const unsigned char *a;
	ztp__ptopic *t;
	const ztp__preq *r;
	uint32_t bit;
	uint32_t found;
} fctx;

static inline void fterm(fctx *f, const pnode *n, bool deny_only)
{
	if (n->term[ZTP__PX_DENY] & f->bit)
		f->found |= FOUND_DENY;
	if (!deny_only && (n->term[ZTP__PX_ALLOW] & f->bit))
		f->found |= FOUND_ALLOW;
}

/* Whether n holds anything that could still change the decision. */
static inline bool fworth(const fctx *f, const pnode *n, bool deny_only)
{
	return (n->sub[ZTP__PX_DENY] & f->bit) ||
	       (!deny_only && !(f->found & FOUND_ALLOW) &&
		(n->sub[ZTP__PX_ALLOW] & f->bit));
}

/* memcmp() for the short strings identities are, without a call. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static void name_fast(fctx *f, const pnode *n, uint32_t d, bool deny_only)
{
	const mctx m = {f->a, NULL, NULL, f->t, 0};
	const uint32_t total = f->t->total;

	for (;;) {
		const pnode *next = NULL, *k;
		bool next_only = deny_only, dollar;
		ztp__plevel *l;
		unsigned vars;
		int v;

		if (d == total) {
			fterm(f, n, deny_only);
			if (n->hash.node)
				fterm(f, node_at(&m, n->hash.node), deny_only);
			return;
		}
		if (d >= f->t->n)
			return;
		l = &f->t->l[d];
		if (n->kids) {
			const pent *e = kid_of(&m, n, l);

			if (e && fworth(f, k = node_at(&m, e->node), deny_only))
				next = k;
		}
		if (n->other) {
			dollar = d == 0 && l->len > 0 && f->t->s[0] == '$';
			if (n->hash.node && !dollar) {
				fterm(f, node_at(&m, n->hash.node), deny_only);
				if (f->found & FOUND_DENY)
					return;
			}
			if (n->plus.node && !dollar &&
			    fworth(f, k = node_at(&m, n->plus.node),
				   deny_only)) {
				if (next)
					name_fast(f, next, d + 1, deny_only);
				next = k;
			}
			for (vars = n->nvars; vars; vars &= vars - 1u) {
				bool only;

				v = __builtin_ctz(vars);
				if (f->r->val[v]) {
					if (f->r->vlen[v] != l->len ||
					    !same_bytes(f->r->val[v],
							f->t->s + l->from,
							l->len))
						continue;
					only = deny_only;
				} else {
					if (dollar)
						continue;
					only = true;
				}
				k = node_at(&m, n->var[v].node);
				if (!fworth(f, k, only))
					continue;
				if (next)
					name_fast(f, next, d + 1, next_only);
				next = k;
				next_only = only;
			}
		}
		/* a Deny found on the way settles it (next was found worth
		 * walking; what was found since can only prune it) */
		if (!next || (f->found & FOUND_DENY))
			return;
		n = next;
		deny_only = next_only;
		d++;
	}
}

static void match_begin(mctx *m, const ztp__pindex *x, ztp__preq *r,
			ztp__ptopic *t)
{
	m->a = x->arena;
	m->x = x;
	m->r = r;
	m->t = t;
	m->bit = (uint8_t)(1u << r->act);
	r->found[0] = r->found[1] = false;
	r->best[0] = r->best[1] = ZTP__PX_NONE;
}

void ztp__pindex_match_name(const ztp__pindex *x, ztp__preq *r, ztp__ptopic *t)
{
	mctx m;

	if (!r->explain) {
		fctx f = {x->arena, t, r, 1u << r->act, 0};

		name_fast(&f, (const pnode *)(const void *)(x->arena + x->root),
			  0, false);
		r->found[ZTP__PX_ALLOW] = f.found & FOUND_ALLOW;
		r->found[ZTP__PX_DENY] = (f.found & FOUND_DENY) != 0;
		return;
	}
	match_begin(&m, x, r, t);
	name_walk(&m, node_at(&m, x->root), x->base, 0, false);
}

static bool allow_worth(const mctx *m, const pnode *k)
{
	return (k->sub[ZTP__PX_ALLOW] & m->bit) &&
	       (m->r->explain || !m->r->found[ZTP__PX_ALLOW]);
}

/* Subset: is the requested filter covered by an Allow resource? */
static void allow_walk(const mctx *m, const pnode *n, uint32_t base, uint32_t d)
{
	const pnode *k;
	lvl l;
	int v;

	if (d == m->t->total) {
		hit(m, n, base, ZTP__PX_ALLOW);
		if (n->hash.node)
			hit(m, node_at(m, n->hash.node), base + n->hash.delta,
			    ZTP__PX_ALLOW);
		return;
	}
	if (beyond(m, d))
		return;
	lvl_at(&l, m, d);
	/* a resource '#' covers whatever is left of the request, except
	 * that a first-level '#' never covers a '$' topic */
	if (n->hash.node && !l.dollar)
		hit(m, node_at(m, n->hash.node), base + n->hash.delta,
		    ZTP__PX_ALLOW);
	if (l.hash)
		return; /* only a resource '#' covers a requested '#' */
	if (l.plus) {
		if (n->plus.node &&
		    allow_worth(m, k = node_at(m, n->plus.node)))
			allow_walk(m, k, base + n->plus.delta, d + 1);
		return; /* neither a literal nor a variable covers '+' */
	}
	if (n->kids) {
		const pent *e = kid_of(m, n, l.l);

		if (e && allow_worth(m, k = node_at(m, e->node)))
			allow_walk(m, k, base + e->delta, d + 1);
	}
	if (!l.dollar && n->plus.node &&
	    allow_worth(m, k = node_at(m, n->plus.node)))
		allow_walk(m, k, base + n->plus.delta, d + 1);
	for (v = 0; n->nvars && v < ZTP__VAR_COUNT; v++) {
		if (n->var[v].node && m->r->val[v] && val_is(m, v, l.l) &&
		    allow_worth(m, k = node_at(m, n->var[v].node)))
			allow_walk(m, k, base + n->var[v].delta, d + 1);
	}
}

/* Every Deny resource ending at or below n (for a requested '#'); with
 * skip_dollar, literal children whose label starts with '$' are left out. */
static void deny_subtree(const mctx *m, const pnode *n, uint32_t base,
			 bool skip_dollar)
{
	const pedge *o[NOTHER] = {&n->plus, &n->hash, &n->var[0], &n->var[1],
				  &n->var[2]};
	uint32_t i;
	int j;

	if (!(n->sub[ZTP__PX_DENY] & m->bit) || stop(m))
		return;
	hit(m, n, base, ZTP__PX_DENY);
	for (i = 0; n->kids && i <= n->kmask; i++) {
		const pent *e = &ents_of(m, n)[i];

		if (tags_of(m, n)[i] && !(skip_dollar && (e->len & DOLLAR_BIT)))
			deny_subtree(m, node_at(m, e->node), base + e->delta,
				     false);
	}
	for (j = 0; j < NOTHER; j++)
		if (o[j]->node)
			deny_subtree(m, node_at(m, o[j]->node),
				     base + o[j]->delta, false);
}

/* Intersection: could some topic match the request and a Deny resource? */
static void deny_walk(const mctx *m, const pnode *n, uint32_t base, uint32_t d)
{
	uint32_t i;
	lvl l;
	int v;

	if (!(n->sub[ZTP__PX_DENY] & m->bit) || stop(m))
		return;
	if (d == m->t->total) {
		hit(m, n, base, ZTP__PX_DENY);
		if (n->hash.node)
			hit(m, node_at(m, n->hash.node), base + n->hash.delta,
			    ZTP__PX_DENY);
		return;
	}
	if (beyond(m, d))
		return;
	lvl_at(&l, m, d);
	if (n->hash.node && !l.dollar)
		hit(m, node_at(m, n->hash.node), base + n->hash.delta,
		    ZTP__PX_DENY);
	if (l.hash) {
		/* the request matches n itself and everything below it,
		 * except '$' topics when it is the first level */
		if (d == 0 && !m->r->explain) {
			if (m->x->root_nodollar[ZTP__PX_DENY] & m->bit)
				m->r->found[ZTP__PX_DENY] = true;
			return;
		}
		deny_subtree(m, n, base, d == 0);
		return;
	}
	if (l.plus) {
		const uint32_t *tags = tags_of(m, n);
		const pent *ents = ents_of(m, n);

		for (i = 0; n->kids && i <= n->kmask; i++)
			if (tags[i] && !(d == 0 && (ents[i].len & DOLLAR_BIT)))
				deny_walk(m, node_at(m, ents[i].node),
					  base + ents[i].delta, d + 1);
	} else if (n->kids) {
		const pent *e = kid_of(m, n, l.l);

		if (e)
			deny_walk(m, node_at(m, e->node), base + e->delta,
				  d + 1);
	}
	if (n->plus.node && !l.dollar)
		deny_walk(m, node_at(m, n->plus.node), base + n->plus.delta,
			  d + 1);
	for (v = 0; n->nvars && v < ZTP__VAR_COUNT; v++) {
		if (!n->var[v].node)
			continue;
		/* a known value is one literal level; an unknown one could
		 * be any identifier, and identifiers never start with '$' */
		if (l.plus || (!m->r->val[v] && !l.dollar) ||
		    (m->r->val[v] && val_is(m, v, l.l)))
			deny_walk(m, node_at(m, n->var[v].node),
				  base + n->var[v].delta, d + 1);
	}
}

void ztp__pindex_match_filter(const ztp__pindex *x, ztp__preq *r,
			      ztp__ptopic *t)
{
	mctx m;
	const pnode *root;

	match_begin(&m, x, r, t);
	root = node_at(&m, x->root);
	deny_walk(&m, root, x->base, 0);
	if (stop(&m))
		return;
	allow_walk(&m, root, x->base, 0);
}
