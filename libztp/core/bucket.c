/*
 * libztp — token bucket arithmetic, shared by the verifier's in-memory
 * buckets and the store's durable ones, so that both count alike.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Refilling is path-independent: refilling at t1 and then at t2 gives the
 * same tokens as refilling once at t2 (both are capped at the burst). So a
 * refused take need not be written back, and a bucket that has filled up
 * again is the same as one never used and may be forgotten.
 */
#include "core/internal.h"

#include <math.h>

#define RETRY_MAX 86400
/* Refills are products of a rate and whole seconds: 59 × (1/60) is a
 * hair under 59/60. Rounding errors of that size must neither refuse a
 * token that is due nor add a second to the wait. */
#define SLACK 1e-9

static double refill(const ztp__bucket *b, double rate, double burst,
		     int64_t now)
{
	double t = b->tokens;

	/* In doubles: a stored time is not trusted not to overflow. */
	if (now > b->last)
		t += ((double)now - (double)b->last) * rate;
	return t > burst ? burst : t;
}

int ztp__bucket_take(ztp__bucket *b, bool fresh, double rate, double burst,
		     int64_t now, int64_t *retry_after)
{
	double t;

	*retry_after = 0;
	if (fresh) {
		b->tokens = burst;
		b->last = now;
	}
	t = refill(b, rate, burst, now);
	b->tokens = t;
	if (now > b->last)
		b->last = now;
	if (t < 1.0 - SLACK) {
		double s = ceil((1.0 - t) / rate - SLACK);

		*retry_after = s < 1	       ? 1
			       : s > RETRY_MAX ? RETRY_MAX
					       : (int64_t)s;
		return ZTP_ERATELIMIT;
	}
	b->tokens = t - 1.0;
	return ZTP_OK;
}

int64_t ztp__bucket_full_at(const ztp__bucket *b, double rate, double burst)
{
	double s = ceil((burst - b->tokens) / rate), at;

	if (!(s > 0))
		return b->last;
	/* Seconds past 2^53 need no precision, only no overflow. */
	at = (double)b->last + s;
	return at >= 9.0e18 ? INT64_MAX : (int64_t)at;
}
