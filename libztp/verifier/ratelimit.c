/*
 * libztp — token buckets: one global, one per device ID.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The global buckets protect this process's CPU and live in its memory.
 * Per-device buckets are security limits (claim attempts above all) that
 * must hold across processes and instances: with a store they live there,
 * each take one atomic store operation (ztp_store_limit_take()). Only a
 * verifier without a store (which can serve nothing but challenges)
 * keeps them here.
 *
 * The in-memory per-device buckets live in a fixed table (ZTP__RL_SLOTS) so
 * that a flood of distinct device IDs cannot grow memory. An ID is looked up in
 * a window of ZTP__RL_PROBE slots starting at a keyed hash of it; when the
 * window is full the bucket touched least recently is reused. Losing a
 * bucket that way only gives that device a fresh burst, and the global
 * bucket still bounds the total, so eviction never denies service to a
 * device it does not concern. The hash is keyed with a random seed so that
 * nobody can aim collisions at a chosen device's window.
 */
#include "verifier/internal.h"

#include <string.h>

#include <openssl/rand.h>

int ztp__rl_init(ztp__ratelimit *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->slots = ztp__calloc(ZTP__RL_SLOTS, sizeof(*rl->slots));
	if (rl->slots == NULL)
		return ZTP_ENOMEM;
	if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1) {
		free(rl->slots);
		rl->slots = NULL;
		return ztp__err_ossl(ZTP_ECRYPTO, "rate limiter seed");
	}
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl->slots);
		rl->slots = NULL;
		return ztp__err(ZTP_ENOMEM, "cannot create a mutex");
	}
	return ZTP_OK;
}

void ztp__rl_destroy(ztp__ratelimit *rl)
{
	if (rl->slots == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	rl->slots = NULL;
}

static uint64_t mix(uint64_t h)
{
	/* splitmix64 finaliser */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static uint64_t hash_id(uint64_t seed, const char *id)
{
	uint64_t h = mix(seed);

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = mix(h ^ *p);
	return h;
}

static ztp__rl_slot *find_slot(ztp__ratelimit *rl, const char *id)
{
	size_t base = (size_t)(hash_id(rl->seed, id) % ZTP__RL_SLOTS);
	ztp__rl_slot *victim = NULL;

	for (size_t i = 0; i < ZTP__RL_PROBE; i++) {
		ztp__rl_slot *s = &rl->slots[(base + i) % ZTP__RL_SLOTS];

		if (s->used && strcmp(s->id, id) == 0)
			return s;
		if (!s->used) {
			if (victim == NULL || victim->used)
				victim = s;
		} else if (victim == NULL ||
			   (victim->used && s->b.last < victim->b.last)) {
			victim = s;
		}
	}
	victim->used = false;
	return victim;
}

int ztp__rl_take_global(ztp__ratelimit *rl, int64_t now, int64_t *retry_after)
{
	int rc = ZTP_OK;

	*retry_after = 0;
	pthread_mutex_lock(&rl->lock);
	if (rl->glob_rate > 0) {
		rc = ztp__bucket_take(&rl->glob, !rl->glob_started,
				      rl->glob_rate, rl->glob_burst, now,
				      retry_after);
		rl->glob_started = true;
	}
	pthread_mutex_unlock(&rl->lock);
	if (rc == ZTP_ERATELIMIT)
		return ztp__err(rc, "global rate limit exceeded");
	return rc;
}

/* The in-memory table, for a verifier without a store. */
static int take_local(ztp__ratelimit *rl, const char *device_id, int64_t now,
		      int64_t *retry_after)
{
	ztp__rl_slot *slot;
	bool fresh;
	int rc;

	pthread_mutex_lock(&rl->lock);
	slot = find_slot(rl, device_id);
	fresh = !slot->used;
	if (fresh) {
		size_t n = strlen(device_id);

		if (n > ZTP_ID_MAX)
			n = ZTP_ID_MAX;
		memcpy(slot->id, device_id, n);
		slot->id[n] = '\0';
		slot->used = true;
	}
	rc = ztp__bucket_take(&slot->b, fresh, rl->dev_rate, rl->dev_burst, now,
			      retry_after);
	pthread_mutex_unlock(&rl->lock);
	return rc;
}

int ztp__rl_take_device(ztp_verifier *v, ztp__ratelimit *rl, const char *scope,
			const char *device_id, int64_t now,
			int64_t *retry_after)
{
	int rc;

	*retry_after = 0;
	if (rl->dev_rate <= 0)
		return ZTP_OK;
	if (v->store != NULL)
		rc = ztp_store_limit_take(v->store, scope, device_id,
					  rl->dev_rate, rl->dev_burst, now,
					  retry_after);
	else
		rc = take_local(rl, device_id, now, retry_after);
	if (rc == ZTP_ERATELIMIT) {
		ztp__metrics_rate_limited(v, ztp__metrics_scope(scope));
		return ztp__err(rc, "rate limit exceeded for device %s",
				device_id);
	}
	return rc;
}
