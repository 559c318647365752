/*
 * libztp — token buckets: one global, one per device ID.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The per-device buckets live in a fixed table (ZTP__RL_SLOTS) so that a
 * flood of distinct device IDs cannot grow memory. An ID is looked up in a
 * window of ZTP__RL_PROBE slots starting at a keyed hash of it; when the
 * window is full the bucket touched least recently is reused. Losing a
 * bucket that way only gives that device a fresh burst, and the global
 * bucket still bounds the total, so eviction never denies service to a
 * device it does not concern. The hash is keyed with a random seed so that
 * nobody can aim collisions at a chosen device's window.
 */
#include "verifier/verifier_internal.h"

#include <math.h>
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

static double refill(double tokens, int64_t last, int64_t now, double rate,
		     double burst)
{
	if (now > last)
		tokens += (double)(now - last) * rate;
	return tokens > burst ? burst : tokens;
}

static int64_t wait_for(double tokens, double rate)
{
	double s = ceil((1.0 - tokens) / rate);

	if (s < 1)
		return 1;
	if (s > 86400)
		return 86400;
	return (int64_t)s;
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
			   (victim->used && s->last < victim->last)) {
			victim = s;
		}
	}
	victim->used = false;
	return victim;
}

int ztp__rl_take(ztp__ratelimit *rl, const char *device_id, int64_t now,
		 int64_t *retry_after)
{
	ztp__rl_slot *slot = NULL;
	double g = 0, d = 0;
	int rc = ZTP_OK;

	*retry_after = 0;
	pthread_mutex_lock(&rl->lock);
	if (rl->glob_rate > 0) {
		if (!rl->glob_started) {
			rl->glob_tokens = rl->glob_burst;
			rl->glob_last = now;
			rl->glob_started = true;
		}
		g = refill(rl->glob_tokens, rl->glob_last, now, rl->glob_rate,
			   rl->glob_burst);
		if (g < 1.0) {
			*retry_after = wait_for(g, rl->glob_rate);
			rc = ztp__err(ZTP_ERATELIMIT,
				      "global rate limit exceeded");
			goto cleanup;
		}
	}
	if (device_id != NULL && rl->dev_rate > 0) {
		slot = find_slot(rl, device_id);
		if (!slot->used) {
			size_t n = strlen(device_id);

			if (n > ZTP_ID_MAX)
				n = ZTP_ID_MAX;
			memcpy(slot->id, device_id, n);
			slot->id[n] = '\0';
			slot->tokens = rl->dev_burst;
			slot->last = now;
			slot->used = true;
		}
		d = refill(slot->tokens, slot->last, now, rl->dev_rate,
			   rl->dev_burst);
		if (d < 1.0) {
			/* Keep the refill so that the clock does not stall;
			 * a refused request costs no token. */
			slot->tokens = d;
			if (now > slot->last)
				slot->last = now;
			*retry_after = wait_for(d, rl->dev_rate);
			rc = ztp__err(ZTP_ERATELIMIT,
				      "rate limit exceeded for device %s",
				      device_id);
			goto cleanup;
		}
		slot->tokens = d - 1.0;
		if (now > slot->last)
			slot->last = now;
	}
	if (rl->glob_rate > 0) {
		rl->glob_tokens = g - 1.0;
		if (now > rl->glob_last)
			rl->glob_last = now;
	}
cleanup:
	pthread_mutex_unlock(&rl->lock);
	return rc;
}
