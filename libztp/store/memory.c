/*
 * libztp — the `memory:` store backend: hash tables in process memory,
 * guarded by one mutex. For tests, demos and single-process tools; the
 * data dies with the handle.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "store/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* ------------------------------------------------------------ hash map */

/* Chained hash map from byte strings to owned values. The seed is random
 * per map so that colliding keys cannot be precomputed. */
typedef struct mnode {
	struct mnode *next;
	uint64_t hash;
	void *val;
	size_t klen;
	unsigned char key[];
} mnode;

typedef struct mmap {
	mnode **b;
	size_t nb; /* power of two */
	size_t n;
	uint64_t seed;
} mmap;

static uint64_t map_hash(const mmap *m, const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL ^ m->seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	/* Final avalanche (splitmix64) so that the low bits used for the
	 * bucket index depend on every input byte. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static int map_init(mmap *m)
{
	memset(m, 0, sizeof(*m));
	if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1)
		return ztp__err_ossl(ZTP_ECRYPTO, "store: no random seed");
	m->nb = 64;
	m->b = ztp__calloc(m->nb, sizeof(*m->b));
	if (m->b == NULL)
		return ztp__err(ZTP_ENOMEM, "store: out of memory");
	return ZTP_OK;
}

static mnode *map_find(const mmap *m, const void *key, size_t len)
{
	uint64_t h = map_hash(m, key, len);
	mnode *n;

	for (n = m->b[h & (m->nb - 1)]; n != NULL; n = n->next)
		if (n->hash == h && n->klen == len &&
		    memcmp(n->key, key, len) == 0)
			return n;
	return NULL;
}

static void map_grow(mmap *m)
{
	size_t nb = m->nb * 2, i;
	mnode **b;

	/* Growing is an optimisation: without memory, chains get longer. */
	if (nb < m->nb)
		return;
	b = ztp__calloc(nb, sizeof(*b));
	if (b == NULL) {
		ztp_error_clear();
		return;
	}
	for (i = 0; i < m->nb; i++) {
		mnode *n = m->b[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* The value of a NUL-terminated key, or NULL. */
static void *map_get(const mmap *m, const char *key)
{
	mnode *n = map_find(m, key, strlen(key));

	return n != NULL ? n->val : NULL;
}

/* key must be absent; val is owned by the map on success only. */
static int map_put(mmap *m, const void *key, size_t len, void *val)
{
	mnode *n;
	size_t i;

	n = ztp__malloc(sizeof(*n) + len);
	if (n == NULL)
		return ztp__err(ZTP_ENOMEM, "store: out of memory");
	n->hash = map_hash(m, key, len);
	n->val = val;
	n->klen = len;
	memcpy(n->key, key, len);
	i = n->hash & (m->nb - 1);
	n->next = m->b[i];
	m->b[i] = n;
	m->n++;
	if (m->n > m->nb)
		map_grow(m);
	return ZTP_OK;
}

/* Unlink and free the node; returns its value for the caller to free. */
static void *map_unlink(mmap *m, mnode *node)
{
	mnode **pp = &m->b[node->hash & (m->nb - 1)];
	void *val = node->val;

	while (*pp != node)
		pp = &(*pp)->next;
	*pp = node->next;
	m->n--;
	free(node);
	return val;
}

static void map_free(mmap *m, void (*free_val)(void *))
{
	size_t i;

	if (m->b == NULL)
		return;
	for (i = 0; i < m->nb; i++) {
		mnode *n = m->b[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			free_val(n->val);
			free(n);
		}
	}
	free(m->b);
	m->b = NULL;
}

/* ------------------------------------------------------------ records */

typedef struct mcert {
	char serial[ZTP__STORE_SERIAL_MAX + 1];
	char device_id[ZTP_ID_MAX + 1]; /* "" for none */
	char profile[ZTP__STORE_PROFILE_MAX + 1];
	char fingerprint[ZTP__STORE_FPR_LEN + 1];
	char issuer[ZTP_STORE_ISSUER_MAX + 1]; /* "" for unknown */
	int64_t not_before, not_after, issued_at, revoked_at;
	bool revoked;
	int reason;
} mcert;

typedef struct mdev {
	char device_id[ZTP_ID_MAX + 1];
	char fingerprint[ZTP__STORE_FPR_LEN + 1];
	char state[16];
	char tenant[ZTP_ID_MAX + 1]; /* "" for none */
	char *model, *batch, *info;
	int64_t manufactured_at, updated_at;
	uint8_t claim[ZTP__STORE_HASH_MAX];
	size_t claim_len;     /* 0: no pending claim */
	uint8_t *factory_key; /* SPKI DER, NULL: none */
	size_t factory_key_len;
	mcert **certs; /* issue order; owned by mem.certs */
	size_t ncerts, capcerts;
	char group[ZTP_ID_MAX + 1]; /* "" for none */
} mdev;

typedef struct mgroup {
	char group_id[ZTP_ID_MAX + 1];
	char issuer[ZTP__STORE_FPR_LEN + 1];
	char *device_pattern, *model, *batch;
	int64_t cap, expires_at, enrolled, created_at, updated_at;
	bool enabled;
} mgroup;

typedef struct mevent {
	int64_t at;
	char *json;
	uint8_t prev[ZTP__AUDIT_HASH_LEN], hash[ZTP__AUDIT_HASH_LEN];
} mevent;

typedef struct mcheckpoint {
	int64_t seq, at;
	uint8_t head[ZTP__AUDIT_HASH_LEN];
	uint8_t sig[ZTP__STORE_SIG_MAX];
	size_t sig_len;
	char key_id[129];
} mcheckpoint;

/* Checkpoints kept, the newest (as events are). */
#define MEM_CHECKPOINTS_MAX 4096u

typedef struct mem {
	pthread_mutex_t lock;
	mmap devices;		   /* device_id -> mdev */
	mmap certs;		   /* serial -> mcert */
	mmap challenges;	   /* id bytes -> int64_t expires_at */
	mmap counters;		   /* name -> uint64_t */
	mmap limits;		   /* scope NUL key -> mlimit */
	mmap groups;		   /* group_id -> mgroup */
	int64_t limits_scan;	   /* when the full table was last purged */
	int64_t challenge_min_exp; /* earliest expiry recorded */
	/* the newest MEM_EVENTS_MAX events: seq s at index
	 * (s - 1) % MEM_EVENTS_MAX (the array grows to that size, then
	 * wraps, dropping the oldest) */
	mevent *events;
	size_t capevents;
	uint64_t nevents; /* events ever appended: the last seq */
	uint8_t head[ZTP__AUDIT_HASH_LEN]; /* hash of event nevents */
	mcheckpoint *checkpoints;	   /* ring, as events */
	size_t capcheckpoints;
	uint64_t ncheckpoints;
	/* devices per state (ztp__store_state_index()), kept by every
	 * change, so that gauges need not walk the devices */
	uint64_t by_state[ZTP__STORE_STATES];
} mem;

/* An in-process log must not grow without bound in a long-running
 * server; a power of two, reached exactly by doubling from 64. */
#define MEM_EVENTS_MAX 65536u

/* A rate-limit bucket, and when it is full again (then it is dropped).
 * The table holds at most MEM_LIMITS_MAX buckets: at that size the full
 * ones are purged (at most once a second), and while none can be, a new
 * key is refused rather than an old bucket forgotten, which would give
 * its key a fresh burst. */
typedef struct mlimit {
	ztp__bucket b;
	int64_t full_at;
} mlimit;

#define MEM_LIMITS_MAX 65536u

static void mdev_free(void *p)
{
	mdev *d = p;

	if (d == NULL)
		return;
	OPENSSL_cleanse(d->claim, sizeof(d->claim));
	free(d->factory_key);
	free(d->model);
	free(d->batch);
	free(d->info);
	free(d->certs);
	free(d);
}

static void mem_free_val(void *p)
{
	free(p);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	/* The front end checked every length; a longer value is a bug. */
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static mdev *find_dev(mem *m, const char *id)
{
	return map_get(&m->devices, id);
}

static int need_dev(mem *m, const char *id, mdev **out)
{
	*out = find_dev(m, id);
	if (*out != NULL)
		return ZTP_OK;
	/* The constant, not ztp__err's result, lets the compiler see that
	 * callers never go on with NULL. */
	(void)ztp__err(ZTP_ENOTFOUND, "store: no device %s", id);
	return ZTP_ENOTFOUND;
}

/* A copy of an optional string: NULL stays NULL. */
static int dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (s == NULL)
		return ZTP_OK;
	*out = ztp__strdup(s);
	if (*out == NULL)
		return ztp__err(ZTP_ENOMEM, "store: out of memory");
	return ZTP_OK;
}

static mcert *find_cert(mem *m, const char *serial)
{
	return map_get(&m->certs, serial);
}

static ztp__store_cert_view cert_view(const mcert *c)
{
	ztp__store_cert_view v = {
	    .serial = c->serial,
	    .device_id = c->device_id[0] != '\0' ? c->device_id : NULL,
	    .profile = c->profile,
	    .not_before = c->not_before,
	    .not_after = c->not_after,
	    .fingerprint = c->fingerprint,
	    .issued_at = c->issued_at,
	    .revoked = c->revoked,
	    .revoked_at = c->revoked_at,
	    .reason = c->reason,
	    .issuer = c->issuer[0] != '\0' ? c->issuer : NULL,
	};

	return v;
}

/* A page of a map, under the lock: the values pick() keeps, sorted with
 * cmp, the first max of them as a JSON array of what to_json() makes.
 * The memory backend keeps no order, so every page sorts every match
 * (tests and demos hold few records; sqlite: reads an index). */
struct mpage {
	bool (*pick)(const void *val, const void *arg);
	const void *arg;
	int (*cmp)(const void *a, const void *b);
	int (*to_json)(json_object **out, const void *val);
	size_t max;
};

static int page(mem *m, const mmap *map, const struct mpage *pg, char **json)
{
	json_object *arr = NULL, *item = NULL;
	const void **list = NULL;
	size_t n = 0, i;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	if (map->n > 0) {
		list = ztp__calloc(map->n, sizeof(*list));
		ZTP_ENSURE(list != NULL, ZTP_ENOMEM, "store: out of memory");
	}
	for (i = 0; i < map->nb; i++) {
		mnode *node;

		for (node = map->b[i]; node != NULL; node = node->next)
			if (pg->pick(node->val, pg->arg))
				list[n++] = node->val;
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), pg->cmp);
	for (i = 0; i < n && i < pg->max; i++) {
		ZTP_CHECK(pg->to_json(&item, list[i]));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	pthread_mutex_unlock(&m->lock);
	free(list);
	json_object_put(arr);
	return rc;
}

/* ------------------------------------------------------------ operations */

/* A device moves from state from (NULL: it is new) to state to. */
static void count_state(mem *m, const char *from, const char *to)
{
	int i = from != NULL ? ztp__store_state_index(from) : -1;
	int j = ztp__store_state_index(to);

	if (i >= 0 && m->by_state[i] > 0)
		m->by_state[i]--;
	if (j >= 0)
		m->by_state[j]++;
}

static int mem_device_add(void *ctx, const char *device_id,
			  const char *fingerprint, const char *model,
			  const char *batch, int64_t manufactured_at,
			  int64_t now)
{
	mem *m = ctx;
	mdev *d = NULL;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_ENSURE(find_dev(m, device_id) == NULL, ZTP_EEXISTS,
		   "store: device %s already exists", device_id);
	d = ztp__calloc(1, sizeof(*d));
	ZTP_ENSURE(d != NULL, ZTP_ENOMEM, "store: out of memory");
	copy_str(d->device_id, sizeof(d->device_id), device_id);
	copy_str(d->fingerprint, sizeof(d->fingerprint), fingerprint);
	copy_str(d->state, sizeof(d->state), ZTP_STATE_MANUFACTURED);
	ZTP_CHECK(dup_opt(&d->model, model));
	ZTP_CHECK(dup_opt(&d->batch, batch));
	d->manufactured_at = manufactured_at;
	d->updated_at = now;
	ZTP_CHECK(map_put(&m->devices, device_id, strlen(device_id), d));
	d = NULL;
	count_state(m, NULL, ZTP_STATE_MANUFACTURED);
cleanup:
	pthread_mutex_unlock(&m->lock);
	mdev_free(d);
	return rc;
}

static ztp__store_device_view dev_view(const mdev *d)
{
	ztp__store_device_view v = {
	    .device_id = d->device_id,
	    .fingerprint = d->fingerprint,
	    .model = d->model,
	    .batch = d->batch,
	    .manufactured_at = d->manufactured_at,
	    .state = d->state,
	    .tenant = d->tenant[0] != '\0' ? d->tenant : NULL,
	    .info = d->info,
	    .updated_at = d->updated_at,
	    .factory_key = d->factory_key,
	    .factory_key_len = d->factory_key_len,
	    .group = d->group[0] != '\0' ? d->group : NULL,
	};

	return v;
}

static int view_device(void *ctx, const char *device_id,
		       ztp__store_device_fn fn, void *arg)
{
	ztp__store_device_view v;
	mem *m = ctx;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	v = dev_view(d);
	rc = fn(&v, arg);
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_device_get(void *ctx, const char *device_id, char **json)
{
	return ztp__store_views_device_json(&ztp__store_memory_views, ctx,
					    device_id, json);
}

static int mem_device_set_state(void *ctx, const char *device_id,
				const char *expected_state,
				const char *new_state, const char *tenant,
				int64_t now)
{
	mem *m = ctx;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	ZTP_ENSURE(expected_state == NULL ||
		       strcmp(d->state, expected_state) == 0,
		   ZTP_ESTATE, "store: device %s is %s, not %s", device_id,
		   d->state, expected_state);
	count_state(m, d->state, new_state);
	copy_str(d->state, sizeof(d->state), new_state);
	copy_str(d->tenant, sizeof(d->tenant), tenant != NULL ? tenant : "");
	d->updated_at = now;
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_device_set_info(void *ctx, const char *device_id,
			       const char *info_json, int64_t now)
{
	mem *m = ctx;
	char *info = NULL;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	info = ztp__strdup(info_json);
	ZTP_ENSURE(info != NULL, ZTP_ENOMEM, "store: out of memory");
	free(d->info);
	d->info = info;
	d->updated_at = now;
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_claim_set(void *ctx, const char *device_id, const uint8_t *hash,
			 size_t len)
{
	mem *m = ctx;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	OPENSSL_cleanse(d->claim, sizeof(d->claim));
	memcpy(d->claim, hash, len);
	d->claim_len = len;
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* claim_take on a device found, the lock held. */
static int claim_locked(mdev *d, const uint8_t *hash, size_t len,
			const char *tenant, int64_t now)
{
	int rc = ZTP_OK;

	ZTP_ENSURE(strcmp(d->state, ZTP_STATE_REVOKED) != 0, ZTP_ESTATE,
		   "store: device %s is revoked", d->device_id);
	ZTP_ENSURE(d->claim_len != 0, ZTP_ENOTFOUND,
		   "store: device %s has no pending claim", d->device_id);
	/* The length of a hash is no secret; its bytes are. */
	ZTP_ENSURE(d->claim_len == len &&
		       CRYPTO_memcmp(d->claim, hash, len) == 0,
		   ZTP_EMISMATCH, "store: device %s: claim code does not match",
		   d->device_id);
	OPENSSL_cleanse(d->claim, sizeof(d->claim));
	d->claim_len = 0;
	copy_str(d->tenant, sizeof(d->tenant), tenant);
	copy_str(d->state, sizeof(d->state), ZTP_STATE_ACTIVE);
	d->updated_at = now;
cleanup:
	return rc;
}

static int mem_claim_take(void *ctx, const char *device_id, const uint8_t *hash,
			  size_t len, const char *tenant, int64_t now)
{
	mem *m = ctx;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	rc = claim_locked(d, hash, len, tenant, now);
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_device_set_factory_key(void *ctx, const char *device_id,
				      const uint8_t *spki, size_t len)
{
	mem *m = ctx;
	uint8_t *copy = NULL;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	copy = ztp__memdup(spki, len);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "store: out of memory");
	free(d->factory_key);
	d->factory_key = copy;
	d->factory_key_len = len;
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_cert_add_issued(void *ctx, const char *serial,
			       const char *device_id, const char *profile,
			       int64_t not_before, int64_t not_after,
			       const char *fingerprint, const char *issuer,
			       int64_t now)
{
	mem *m = ctx;
	mdev *d = NULL;
	mcert *c = NULL;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_ENSURE(find_cert(m, serial) == NULL, ZTP_EEXISTS,
		   "store: serial %s already recorded", serial);
	if (device_id != NULL) {
		ZTP_CHECK(need_dev(m, device_id, &d));
		if (d->ncerts == d->capcerts) {
			size_t cap = d->capcerts ? d->capcerts * 2 : 4;
			mcert **certs =
			    ztp__realloc(d->certs, cap * sizeof(*certs));

			ZTP_ENSURE(certs != NULL, ZTP_ENOMEM,
				   "store: out of memory");
			d->certs = certs;
			d->capcerts = cap;
		}
	}
	c = ztp__calloc(1, sizeof(*c));
	ZTP_ENSURE(c != NULL, ZTP_ENOMEM, "store: out of memory");
	copy_str(c->serial, sizeof(c->serial), serial);
	copy_str(c->device_id, sizeof(c->device_id),
		 device_id != NULL ? device_id : "");
	copy_str(c->profile, sizeof(c->profile), profile);
	copy_str(c->fingerprint, sizeof(c->fingerprint), fingerprint);
	copy_str(c->issuer, sizeof(c->issuer), issuer != NULL ? issuer : "");
	c->not_before = not_before;
	c->not_after = not_after;
	c->issued_at = now;
	ZTP_CHECK(map_put(&m->certs, serial, strlen(serial), c));
	if (d != NULL)
		d->certs[d->ncerts++] = c;
	c = NULL;
cleanup:
	pthread_mutex_unlock(&m->lock);
	free(c);
	return rc;
}

static int mem_cert_add(void *ctx, const char *serial, const char *device_id,
			const char *profile, int64_t not_before,
			int64_t not_after, const char *fingerprint, int64_t now)
{
	return mem_cert_add_issued(ctx, serial, device_id, profile, not_before,
				   not_after, fingerprint, NULL, now);
}

static int view_cert(void *ctx, const char *serial, ztp__store_cert_fn fn,
		     void *arg)
{
	mem *m = ctx;
	ztp__store_cert_view v;
	mcert *c;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	c = find_cert(m, serial);
	ZTP_ENSURE(c != NULL, ZTP_ENOTFOUND, "store: no certificate %s",
		   serial);
	v = cert_view(c);
	rc = fn(&v, arg);
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_cert_get(void *ctx, const char *serial, char **json)
{
	return ztp__store_views_cert_json(&ztp__store_memory_views, ctx, serial,
					  json);
}

static void revoke(mcert *c, int reason, int64_t when)
{
	c->revoked = true;
	c->revoked_at = when;
	c->reason = reason;
}

static int mem_cert_revoke(void *ctx, const char *serial, int reason,
			   int64_t when)
{
	mem *m = ctx;
	mcert *c;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	c = find_cert(m, serial);
	ZTP_ENSURE(c != NULL, ZTP_ENOTFOUND, "store: no certificate %s",
		   serial);
	if (!c->revoked)
		revoke(c, reason, when);
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_device_revoke_certs(void *ctx, const char *device_id,
				   const char *profiles, int reason,
				   int64_t when, uint64_t *count)
{
	mem *m = ctx;
	mdev *d;
	size_t i;
	int rc = ZTP_OK;

	*count = 0;
	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	for (i = 0; i < d->ncerts; i++) {
		mcert *c = d->certs[i];

		if (c->revoked || !ztp__store_profile_in(profiles, c->profile))
			continue;
		revoke(c, reason, when);
		(*count)++;
	}
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int cmp_cert_serial(const void *a, const void *b)
{
	const mcert *const *x = a, *const *y = b;

	return ztp__store_serial_cmp((*x)->serial, (*y)->serial);
}

static bool revoked_by(const void *val, const void *arg)
{
	const mcert *c = val;
	const char *issuer = arg;

	return c->revoked && (issuer == NULL || c->issuer[0] == '\0' ||
			      strcmp(c->issuer, issuer) == 0);
}

static int revoked_json(json_object **out, const void *val)
{
	const mcert *c = val;

	return ztp__store_revoked_json(out, c->serial, c->revoked_at,
				       c->reason);
}

/* Revocations of issuer's certificates and of those of unknown issuer;
 * issuer NULL: every revocation. */
static int mem_revoked_list_issuer(void *ctx, const char *issuer, char **json)
{
	const struct mpage pg = {revoked_by, issuer, cmp_cert_serial,
				 revoked_json, SIZE_MAX};
	mem *m = ctx;

	return page(m, &m->certs, &pg, json);
}

static int mem_revoked_list(void *ctx, char **json)
{
	return mem_revoked_list_issuer(ctx, NULL, json);
}

static int view_device_certs(void *ctx, const char *device_id,
			     ztp__store_cert_fn fn, void *arg)
{
	mem *m = ctx;
	ztp__store_cert_view v;
	mdev *d;
	size_t i;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	for (i = 0; i < d->ncerts; i++) {
		v = cert_view(d->certs[i]);
		ZTP_CHECK(fn(&v, arg));
	}
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_device_certs(void *ctx, const char *device_id, char **json)
{
	return ztp__store_views_device_certs_json(&ztp__store_memory_views, ctx,
						  device_id, json);
}

static int view_events(void *ctx, int64_t after, size_t max,
		       ztp__store_event_fn fn, void *arg)
{
	mem *m = ctx;
	ztp__store_event_view v;
	uint64_t i;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	i = (uint64_t)after < m->nevents ? (uint64_t)after : m->nevents;
	if (m->nevents > MEM_EVENTS_MAX && i < m->nevents - MEM_EVENTS_MAX)
		i = m->nevents - MEM_EVENTS_MAX; /* older ones were dropped */
	for (; i < m->nevents && max > 0 && rc == ZTP_OK; i++, max--) {
		const mevent *e = &m->events[i % MEM_EVENTS_MAX];

		v.seq = (int64_t)i + 1;
		v.at = e->at;
		v.json = e->json;
		v.json_len = strlen(e->json);
		v.prev = e->prev;
		v.hash = e->hash;
		v.prev_len = v.hash_len = ZTP__AUDIT_HASH_LEN;
		rc = fn(&v, arg);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int view_checkpoint_add(void *ctx, const ztp__store_checkpoint_view *cp)
{
	mem *m = ctx;
	mcheckpoint *slot;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	/* One per seq, in seq order: a later or equal seq is a duplicate. */
	if (m->ncheckpoints > 0 &&
	    m->checkpoints[(m->ncheckpoints - 1) % MEM_CHECKPOINTS_MAX].seq >=
		cp->seq)
		goto cleanup;
	if (m->ncheckpoints == m->capcheckpoints &&
	    m->capcheckpoints < MEM_CHECKPOINTS_MAX) {
		size_t cap = m->capcheckpoints ? m->capcheckpoints * 2 : 16;
		mcheckpoint *c = ztp__realloc(m->checkpoints, cap * sizeof(*c));

		ZTP_ENSURE(c != NULL, ZTP_ENOMEM, "store: out of memory");
		m->checkpoints = c;
		m->capcheckpoints = cap;
	}
	slot = &m->checkpoints[m->ncheckpoints % MEM_CHECKPOINTS_MAX];
	slot->seq = cp->seq;
	slot->at = cp->at;
	memcpy(slot->head, cp->head, ZTP__AUDIT_HASH_LEN);
	memcpy(slot->sig, cp->sig, cp->sig_len);
	slot->sig_len = cp->sig_len;
	copy_str(slot->key_id, sizeof(slot->key_id), cp->key_id);
	m->ncheckpoints++;
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int view_checkpoints(void *ctx, int64_t after, size_t max,
			    ztp__store_checkpoint_fn fn, void *arg)
{
	mem *m = ctx;
	ztp__store_checkpoint_view v;
	uint64_t i = 0;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	if (m->ncheckpoints > MEM_CHECKPOINTS_MAX)
		i = m->ncheckpoints - MEM_CHECKPOINTS_MAX;
	for (; i < m->ncheckpoints && max > 0 && rc == ZTP_OK; i++) {
		const mcheckpoint *c = &m->checkpoints[i % MEM_CHECKPOINTS_MAX];

		if (c->seq <= after)
			continue;
		v.seq = c->seq;
		v.at = c->at;
		v.head = c->head;
		v.head_len = ZTP__AUDIT_HASH_LEN;
		v.sig = c->sig;
		v.sig_len = c->sig_len;
		v.key_id = c->key_id;
		rc = fn(&v, arg);
		max--;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

const ztp__store_views ztp__store_memory_views = {
    .device = view_device,
    .cert = view_cert,
    .device_certs = view_device_certs,
    .events = view_events,
    .checkpoint_add = view_checkpoint_add,
    .checkpoints = view_checkpoints,
};

static int mem_cert_count(void *ctx, uint64_t *out)
{
	mem *m = ctx;

	pthread_mutex_lock(&m->lock);
	*out = m->certs.n;
	pthread_mutex_unlock(&m->lock);
	return ZTP_OK;
}

static int mem_device_count_state(void *ctx, const char *state, uint64_t *out)
{
	mem *m = ctx;
	int i = ztp__store_state_index(state);

	pthread_mutex_lock(&m->lock);
	*out = i >= 0 ? m->by_state[i] : 0;
	pthread_mutex_unlock(&m->lock);
	return ZTP_OK;
}

/* A walk of every certificate: this backend serves tests and single
 * processes, whose registries are small. */
static int mem_cert_count_expiring(void *ctx, const char *profile, int64_t from,
				   int64_t to, uint64_t *out)
{
	mem *m = ctx;
	uint64_t n = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->certs.nb; i++)
		for (mnode *e = m->certs.b[i]; e != NULL; e = e->next) {
			const mcert *c = e->val;

			if (!c->revoked && c->not_after >= from &&
			    c->not_after < to &&
			    strcmp(c->profile, profile) == 0)
				n++;
		}
	pthread_mutex_unlock(&m->lock);
	*out = n;
	return ZTP_OK;
}

/* Drop challenges that expired before now. Scans only when the earliest
 * recorded expiry has passed, so a busy verifier does not pay a full scan
 * per challenge. */
static void purge_challenges(mem *m, int64_t now)
{
	int64_t min = INT64_MAX;
	size_t i;

	if (m->challenges.n == 0 || now <= m->challenge_min_exp)
		return;
	for (i = 0; i < m->challenges.nb; i++) {
		mnode *node = m->challenges.b[i], *next;

		for (; node != NULL; node = next) {
			int64_t exp = *(int64_t *)node->val;

			next = node->next;
			if (exp < now)
				free(map_unlink(&m->challenges, node));
			else if (exp < min)
				min = exp;
		}
	}
	m->challenge_min_exp = min;
}

static int mem_challenge_use(void *ctx, const uint8_t *id, size_t len,
			     int64_t expires_at, int64_t now)
{
	mem *m = ctx;
	int64_t *exp = NULL;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	purge_challenges(m, now);
	ZTP_ENSURE(map_find(&m->challenges, id, len) == NULL, ZTP_EREPLAY,
		   "store: challenge already used");
	exp = ztp__malloc(sizeof(*exp));
	ZTP_ENSURE(exp != NULL, ZTP_ENOMEM, "store: out of memory");
	*exp = expires_at;
	ZTP_CHECK(map_put(&m->challenges, id, len, exp));
	exp = NULL;
	if (m->challenges.n == 1 || expires_at < m->challenge_min_exp)
		m->challenge_min_exp = expires_at;
cleanup:
	pthread_mutex_unlock(&m->lock);
	free(exp);
	return rc;
}

static int mem_event_append(void *ctx, const char *json, int64_t now)
{
	mem *m = ctx;
	char *copy = NULL;
	uint8_t hash[ZTP__AUDIT_HASH_LEN];
	mevent *slot;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	if (m->nevents == m->capevents && m->capevents < MEM_EVENTS_MAX) {
		size_t cap = m->capevents ? m->capevents * 2 : 64;
		mevent *ev;

		ev = ztp__realloc(m->events, cap * sizeof(*ev));
		ZTP_ENSURE(ev != NULL, ZTP_ENOMEM, "store: out of memory");
		m->events = ev;
		m->capevents = cap;
	}
	copy = ztp__strdup(json);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(ztp__audit_hash(hash, m->head, (int64_t)m->nevents + 1, now,
				  copy, strlen(copy)));
	slot = &m->events[m->nevents % MEM_EVENTS_MAX];
	if (m->nevents >= MEM_EVENTS_MAX)
		free(slot->json); /* the oldest, MEM_EVENTS_MAX ago */
	memcpy(slot->prev, m->head, sizeof(slot->prev));
	memcpy(slot->hash, hash, sizeof(slot->hash));
	memcpy(m->head, hash, sizeof(m->head));
	slot->at = now;
	slot->json = copy;
	copy = NULL;
	m->nevents++;
cleanup:
	pthread_mutex_unlock(&m->lock);
	free(copy);
	return rc;
}

static int mem_event_list(void *ctx, int64_t after, size_t max, char **json)
{
	mem *m = ctx;
	json_object *arr = NULL, *item = NULL;
	uint64_t i;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	arr = json_object_new_array();
	ZTP_ENSURE(arr != NULL, ZTP_ENOMEM, "store: out of memory");
	/* seq N lives at index (N - 1) % MEM_EVENTS_MAX while it is among
	 * the newest MEM_EVENTS_MAX; i runs over seq - 1 */
	i = (uint64_t)after < m->nevents ? (uint64_t)after : m->nevents;
	if (m->nevents > MEM_EVENTS_MAX && i < m->nevents - MEM_EVENTS_MAX)
		i = m->nevents - MEM_EVENTS_MAX; /* older ones were dropped */
	for (; i < m->nevents && max > 0; i++, max--) {
		const mevent *e = &m->events[i % MEM_EVENTS_MAX];

		ZTP_CHECK(ztp__store_event_json(&item, (int64_t)i + 1, e->at,
						e->json));
		ZTP_CHECK(ztp__store_array_add(arr, item));
		item = NULL;
	}
	ZTP_CHECK(ztp__json_dump(json, arr));
cleanup:
	pthread_mutex_unlock(&m->lock);
	json_object_put(arr);
	return rc;
}

static int mem_counter_next(void *ctx, const char *name, uint64_t *out)
{
	mem *m = ctx;
	uint64_t *v = NULL;
	mnode *node;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	node = map_find(&m->counters, name, strlen(name));
	if (node == NULL) {
		v = ztp__malloc(sizeof(*v));
		ZTP_ENSURE(v != NULL, ZTP_ENOMEM, "store: out of memory");
		*v = 1;
		ZTP_CHECK(map_put(&m->counters, name, strlen(name), v));
		*out = 1;
		v = NULL;
		goto cleanup;
	}
	/* The same ceiling as SQLite's signed integers, so that backends
	 * agree. */
	ZTP_ENSURE(*(uint64_t *)node->val < (uint64_t)INT64_MAX, ZTP_ETOOBIG,
		   "store: counter %s exhausted", name);
	*out = ++*(uint64_t *)node->val;
cleanup:
	pthread_mutex_unlock(&m->lock);
	free(v);
	return rc;
}

/* ------------------------------------------------------------ limits */

static void purge_limits(mem *m, int64_t now)
{
	size_t i;

	for (i = 0; i < m->limits.nb; i++) {
		mnode *node = m->limits.b[i], *next;

		for (; node != NULL; node = next) {
			next = node->next;
			if (((mlimit *)node->val)->full_at <= now)
				free(map_unlink(&m->limits, node));
		}
	}
	m->limits_scan = now;
}

/* The bucket step of limit_take and claim_attempt, the lock held. */
static int bucket_locked(mem *m, const char *scope, const char *key,
			 double rate, double burst, int64_t now,
			 int64_t *retry_after)
{
	unsigned char k[2 * (ZTP_ID_MAX + 1)];
	size_t sl = strlen(scope), kl = strlen(key);
	mlimit *l = NULL;
	mnode *node;
	int rc = ZTP_OK;

	/* The front end validated both as identifiers. */
	memcpy(k, scope, sl + 1);
	memcpy(k + sl + 1, key, kl);
	node = map_find(&m->limits, k, sl + 1 + kl);
	if (node != NULL) {
		l = node->val;
		rc = ztp__bucket_take(&l->b, false, rate, burst, now,
				      retry_after);
		if (rc == ZTP_OK)
			l->full_at = ztp__bucket_full_at(&l->b, rate, burst);
		l = NULL;
		goto cleanup;
	}
	if (m->limits.n >= MEM_LIMITS_MAX && now != m->limits_scan)
		purge_limits(m, now);
	if (m->limits.n >= MEM_LIMITS_MAX) {
		*retry_after = 1;
		rc = ZTP_ERATELIMIT;
		goto cleanup;
	}
	l = ztp__calloc(1, sizeof(*l));
	ZTP_ENSURE(l != NULL, ZTP_ENOMEM, "store: out of memory");
	rc = ztp__bucket_take(&l->b, true, rate, burst, now, retry_after);
	if (rc < 0)
		goto cleanup; /* burst < 1 cannot happen: nothing to keep */
	l->full_at = ztp__bucket_full_at(&l->b, rate, burst);
	ZTP_CHECK(map_put(&m->limits, k, sl + 1 + kl, l));
	l = NULL;
cleanup:
	free(l);
	if (rc == ZTP_ERATELIMIT)
		rc = ztp__err(rc, "store: %s limit reached for %s", scope, key);
	return rc;
}

static int mem_limit_take(void *ctx, const char *scope, const char *key,
			  double rate, double burst, int64_t now,
			  int64_t *retry_after)
{
	mem *m = ctx;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = bucket_locked(m, scope, key, rate, burst, now, retry_after);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_claim_attempt(void *ctx, const char *device_id,
			     const uint8_t *hash, size_t len,
			     const char *tenant, double rate, double burst,
			     int64_t now, int64_t *retry_after)
{
	mem *m = ctx;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_CHECK(need_dev(m, device_id, &d));
	ZTP_CHECK(bucket_locked(m, "claim", device_id, rate, burst, now,
				retry_after));
	rc = claim_locked(d, hash, len, tenant, now);
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* ------------------------------------------------------------ fleets */

/* A new device record as device_add makes it, with its claim hash (none
 * when claim_hash_len is 0) and factory key; NULL without memory. */
static mdev *new_dev(const ztp_store_enrollment *e, int64_t now)
{
	mdev *d = ztp__calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	copy_str(d->device_id, sizeof(d->device_id), e->device_id);
	copy_str(d->fingerprint, sizeof(d->fingerprint), e->fingerprint);
	copy_str(d->state, sizeof(d->state), ZTP_STATE_MANUFACTURED);
	d->manufactured_at = e->manufactured_at;
	d->updated_at = now;
	if (e->claim_hash_len > 0)
		memcpy(d->claim, e->claim_hash, e->claim_hash_len);
	d->claim_len = e->claim_hash_len;
	if (dup_opt(&d->model, e->model) < 0 ||
	    dup_opt(&d->batch, e->batch) < 0)
		goto fail;
	if (e->factory_key_len > 0) {
		d->factory_key =
		    ztp__memdup(e->factory_key, e->factory_key_len);
		if (d->factory_key == NULL)
			goto fail;
		d->factory_key_len = e->factory_key_len;
	}
	return d;
fail:
	mdev_free(d);
	return NULL;
}

static int mem_device_enroll(
    void *ctx, const ztp_store_enrollment *recs, size_t n, int *results,
    int64_t now, int (*before_commit)(void *arg, const int *results), void *arg)
{
	mem *m = ctx;
	size_t i, added = 0;
	mdev *d;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < n; i++) {
		d = find_dev(m, recs[i].device_id);
		if (d != NULL) {
			results[i] =
			    strcmp(d->fingerprint, recs[i].fingerprint) == 0
				? ZTP_EEXISTS
				: ZTP_EMISMATCH;
			continue;
		}
		d = new_dev(&recs[i], now);
		ZTP_ENSURE(d != NULL, ZTP_ENOMEM, "store: out of memory");
		rc =
		    map_put(&m->devices, d->device_id, strlen(d->device_id), d);
		if (rc < 0) {
			mdev_free(d);
			goto cleanup;
		}
		results[i] = ZTP_OK;
		added++;
	}
	rc = before_commit(arg, results);
	for (i = 0; rc >= 0 && i < n; i++)
		if (results[i] == ZTP_OK)
			count_state(m, NULL, ZTP_STATE_MANUFACTURED);
	i = n;
cleanup:
	/* All or nothing: take back what this call added, records before
	 * the one that failed (whose results are set). */
	for (n = i, i = 0; rc < 0 && added > 0 && i < n; i++) {
		mnode *node;

		if (results[i] != ZTP_OK)
			continue;
		node = map_find(&m->devices, recs[i].device_id,
				strlen(recs[i].device_id));
		if (node != NULL) {
			mdev_free(map_unlink(&m->devices, node));
			added--;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int cmp_dev_id(const void *a, const void *b)
{
	const mdev *const *x = a, *const *y = b;

	return strcmp((*x)->device_id, (*y)->device_id);
}

static int cmp_cert_expiry(const void *a, const void *b)
{
	const mcert *const *x = a, *const *y = b;

	if ((*x)->not_after != (*y)->not_after)
		return (*x)->not_after < (*y)->not_after ? -1 : 1;
	return strcmp((*x)->serial, (*y)->serial);
}

typedef struct dev_filter {
	const char *state, *tenant, *model, *batch, *group, *after;
} dev_filter;

static bool dev_matches(const void *val, const void *arg)
{
	const mdev *d = val;
	const dev_filter *f = arg;

	return (f->after == NULL || strcmp(d->device_id, f->after) > 0) &&
	       (f->state == NULL || strcmp(d->state, f->state) == 0) &&
	       (f->tenant == NULL || strcmp(d->tenant, f->tenant) == 0) &&
	       (f->model == NULL ||
		(d->model != NULL && strcmp(d->model, f->model) == 0)) &&
	       (f->batch == NULL ||
		(d->batch != NULL && strcmp(d->batch, f->batch) == 0)) &&
	       (f->group == NULL || strcmp(d->group, f->group) == 0);
}

static int dev_json(json_object **out, const void *val)
{
	ztp__store_device_view v = dev_view(val);

	return ztp__store_device_json(out, &v);
}

static int mem_device_list(void *ctx, const char *state, const char *tenant,
			   const char *model, const char *batch,
			   const char *group, const char *after, size_t max,
			   char **json)
{
	const dev_filter f = {state, tenant, model, batch, group, after};
	const struct mpage pg = {dev_matches, &f, cmp_dev_id, dev_json, max};
	mem *m = ctx;

	return page(m, &m->devices, &pg, json);
}

typedef struct expiry_window {
	int64_t from, before, after_time;
	const char *after_serial;
} expiry_window;

static bool cert_expires_in(const void *val, const void *arg)
{
	const mcert *c = val;
	const expiry_window *w = arg;

	if (c->revoked || c->not_after < w->from || c->not_after >= w->before)
		return false;
	return w->after_serial == NULL || c->not_after > w->after_time ||
	       (c->not_after == w->after_time &&
		strcmp(c->serial, w->after_serial) > 0);
}

static int cert_json(json_object **out, const void *val)
{
	ztp__store_cert_view v = cert_view(val);

	return ztp__store_cert_json(out, &v);
}

static int mem_cert_expiring(void *ctx, int64_t from, int64_t before,
			     int64_t after_time, const char *after_serial,
			     size_t max, char **json)
{
	const expiry_window w = {from, before, after_time, after_serial};
	const struct mpage pg = {cert_expires_in, &w, cmp_cert_expiry,
				 cert_json, max};
	mem *m = ctx;

	return page(m, &m->certs, &pg, json);
}

/* ------------------------------------------------------------ groups */

static void mgroup_free(void *p)
{
	mgroup *g = p;

	if (g == NULL)
		return;
	free(g->device_pattern);
	free(g->model);
	free(g->batch);
	free(g);
}

static mgroup *find_group(mem *m, const char *id)
{
	return map_get(&m->groups, id);
}

static ztp__store_group_view group_view(const mgroup *g)
{
	ztp__store_group_view v = {
	    .group_id = g->group_id,
	    .issuer = g->issuer,
	    .device_pattern = g->device_pattern,
	    .model = g->model,
	    .batch = g->batch,
	    .cap = g->cap,
	    .expires_at = g->expires_at,
	    .enabled = g->enabled,
	    .enrolled = g->enrolled,
	    .created_at = g->created_at,
	    .updated_at = g->updated_at,
	};

	return v;
}

static int group_json(json_object **out, const void *val)
{
	ztp__store_group_view v = group_view(val);

	return ztp__store_group_json(out, &v);
}

static int mem_group_add(void *ctx, const char *group_id, const char *issuer,
			 const char *device_pattern, const char *model,
			 const char *batch, int64_t cap, int64_t expires_at,
			 int enabled, int64_t now)
{
	mem *m = ctx;
	mgroup *g = NULL;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	ZTP_ENSURE(find_group(m, group_id) == NULL, ZTP_EEXISTS,
		   "store: group %s already exists", group_id);
	g = ztp__calloc(1, sizeof(*g));
	ZTP_ENSURE(g != NULL, ZTP_ENOMEM, "store: out of memory");
	copy_str(g->group_id, sizeof(g->group_id), group_id);
	copy_str(g->issuer, sizeof(g->issuer), issuer);
	ZTP_CHECK(dup_opt(&g->device_pattern, device_pattern));
	ZTP_CHECK(dup_opt(&g->model, model));
	ZTP_CHECK(dup_opt(&g->batch, batch));
	g->cap = cap;
	g->expires_at = expires_at;
	g->enabled = enabled != 0;
	g->created_at = g->updated_at = now;
	ZTP_CHECK(map_put(&m->groups, group_id, strlen(group_id), g));
	g = NULL;
cleanup:
	pthread_mutex_unlock(&m->lock);
	mgroup_free(g);
	return rc;
}

static int mem_group_get(void *ctx, const char *group_id, char **json)
{
	json_object *obj = NULL;
	mem *m = ctx;
	mgroup *g;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group_id);
	ZTP_ENSURE(g != NULL, ZTP_ENOTFOUND, "store: no group %s", group_id);
	ZTP_CHECK(group_json(&obj, g));
	ZTP_CHECK(ztp__json_dump(json, obj));
cleanup:
	pthread_mutex_unlock(&m->lock);
	json_object_put(obj);
	return rc;
}

typedef struct group_filter {
	const char *issuer, *after;
} group_filter;

static bool group_matches(const void *val, const void *arg)
{
	const mgroup *g = val;
	const group_filter *f = arg;

	return (f->after == NULL || strcmp(g->group_id, f->after) > 0) &&
	       (f->issuer == NULL || strcmp(g->issuer, f->issuer) == 0);
}

static int cmp_group_id(const void *a, const void *b)
{
	const mgroup *const *x = a, *const *y = b;

	return strcmp((*x)->group_id, (*y)->group_id);
}

static int mem_group_list(void *ctx, const char *issuer, const char *after,
			  size_t max, char **json)
{
	const group_filter f = {issuer, after};
	const struct mpage pg = {group_matches, &f, cmp_group_id, group_json,
				 max};

	return page(ctx, &((mem *)ctx)->groups, &pg, json);
}

static int mem_group_set_enabled(void *ctx, const char *group_id, int enabled,
				 int64_t now)
{
	mem *m = ctx;
	mgroup *g;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group_id);
	ZTP_ENSURE(g != NULL, ZTP_ENOTFOUND, "store: no group %s", group_id);
	g->enabled = enabled != 0;
	g->updated_at = now;
cleanup:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_group_enroll(void *ctx, const char *group_id,
			    const char *device_id, const char *fingerprint,
			    const uint8_t *spki, size_t len, int64_t now)
{
	const ztp_store_enrollment e = {
	    .device_id = device_id,
	    .fingerprint = fingerprint,
	    .manufactured_at = now,
	    .factory_key = spki,
	    .factory_key_len = len,
	};
	mem *m = ctx;
	mgroup *g;
	mdev *d = NULL;
	int rc = ZTP_OK;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group_id);
	ZTP_ENSURE(g != NULL, ZTP_ENOTFOUND, "store: no group %s", group_id);
	ZTP_ENSURE(g->enabled, ZTP_ESTATE, "store: group %s is disabled",
		   group_id);
	ZTP_ENSURE(g->expires_at == 0 || now <= g->expires_at, ZTP_EEXPIRED,
		   "store: group %s expired", group_id);
	ZTP_ENSURE(g->cap == 0 || g->enrolled < g->cap, ZTP_ETOOBIG,
		   "store: group %s is full (%lld devices)", group_id,
		   (long long)g->cap);
	ZTP_ENSURE(find_dev(m, device_id) == NULL, ZTP_EEXISTS,
		   "store: device %s already exists", device_id);
	d = new_dev(&e, now);
	ZTP_ENSURE(d != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_CHECK(dup_opt(&d->model, g->model));
	ZTP_CHECK(dup_opt(&d->batch, g->batch));
	copy_str(d->group, sizeof(d->group), group_id);
	ZTP_CHECK(map_put(&m->devices, device_id, strlen(device_id), d));
	d = NULL;
	count_state(m, NULL, ZTP_STATE_MANUFACTURED);
	g->enrolled++;
	g->updated_at = now;
cleanup:
	pthread_mutex_unlock(&m->lock);
	mdev_free(d);
	return rc;
}

static void mem_close(void *ctx)
{
	mem *m = ctx;
	size_t i;

	if (m == NULL)
		return;
	map_free(&m->devices, mdev_free);
	map_free(&m->certs, mem_free_val);
	map_free(&m->challenges, mem_free_val);
	map_free(&m->counters, mem_free_val);
	map_free(&m->limits, mem_free_val);
	map_free(&m->groups, mgroup_free);
	for (i = 0; i < m->nevents && i < MEM_EVENTS_MAX; i++)
		free(m->events[i].json);
	free(m->events);
	free(m->checkpoints);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int ztp__store_memory_open(ztp_store_backend *be, void **ctx)
{
	static const ztp_store_backend ops = {
	    .version = ZTP_STORE_BACKEND_VERSION,
	    .flags = ZTP_STORE_BACKEND_THREADSAFE,
	    .close = mem_close,
	    .device_add = mem_device_add,
	    .device_get = mem_device_get,
	    .device_set_state = mem_device_set_state,
	    .device_set_info = mem_device_set_info,
	    .claim_set = mem_claim_set,
	    .claim_take = mem_claim_take,
	    .cert_add = mem_cert_add,
	    .cert_get = mem_cert_get,
	    .cert_revoke = mem_cert_revoke,
	    .device_revoke_certs = mem_device_revoke_certs,
	    .revoked_list = mem_revoked_list,
	    .device_certs = mem_device_certs,
	    .cert_count = mem_cert_count,
	    .challenge_use = mem_challenge_use,
	    .event_append = mem_event_append,
	    .event_list = mem_event_list,
	    .counter_next = mem_counter_next,
	    .limit_take = mem_limit_take,
	    .claim_attempt = mem_claim_attempt,
	    .device_set_factory_key = mem_device_set_factory_key,
	    .cert_add_issued = mem_cert_add_issued,
	    .revoked_list_issuer = mem_revoked_list_issuer,
	    .device_count_state = mem_device_count_state,
	    .cert_count_expiring = mem_cert_count_expiring,
	    .device_enroll = mem_device_enroll,
	    .device_list = mem_device_list,
	    .cert_expiring = mem_cert_expiring,
	    .group_add = mem_group_add,
	    .group_get = mem_group_get,
	    .group_list = mem_group_list,
	    .group_set_enabled = mem_group_set_enabled,
	    .group_enroll = mem_group_enroll,
	};
	mem *m = NULL;
	bool have_mutex = false;
	int rc = ZTP_OK;

	*ctx = NULL;
	m = ztp__calloc(1, sizeof(*m));
	ZTP_ENSURE(m != NULL, ZTP_ENOMEM, "store: out of memory");
	ZTP_ENSURE(pthread_mutex_init(&m->lock, NULL) == 0, ZTP_ENOMEM,
		   "store: cannot create mutex");
	have_mutex = true;
	ZTP_CHECK(map_init(&m->devices));
	ZTP_CHECK(map_init(&m->certs));
	ZTP_CHECK(map_init(&m->challenges));
	ZTP_CHECK(map_init(&m->counters));
	ZTP_CHECK(map_init(&m->limits));
	ZTP_CHECK(map_init(&m->groups));
	m->limits_scan = -1;
	*be = ops;
	*ctx = m;
	m = NULL;
cleanup:
	if (m != NULL && have_mutex)
		mem_close(m);
	else
		free(m);
	return rc;
}
