/*
 * libztp — what a device does with an answer: which statuses are worth
 * another attempt, how long to wait before it, which error codes to keep,
 * and when a credential is due for rotation. ztp_device(3) and the
 * portable device core both call these, so the two behave alike
 * (doc/PROTOCOL.md §6, ztp-device.json(5)). C standard library only.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/protocol.h"

bool ztp__answer_retryable(long status)
{
	return status == 408 || status == 429 ||
	       (status >= 500 && status <= 599);
}

int ztp__answer_refusal(long status)
{
	if (status == 429)
		return ZTP_ERATELIMIT;
	if (status == 408 || (status >= 500 && status <= 599))
		return ZTP_ENETWORK;
	return ZTP_EDENIED;
}

bool ztp__wire_code_syntax(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

int64_t ztp__backoff_ms(int retry, int64_t base_ms, int64_t cap_ms,
			const uint64_t *rnd)
{
	int64_t ceiling = base_ms;
	int i;

	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	for (i = 0; i < retry && ceiling < cap_ms; i++)
		ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	if (rnd == NULL)
		return ceiling;
	return (int64_t)(*rnd % ((uint64_t)ceiling + 1));
}

int64_t ztp__retry_delay_ms(int retry, long status, int64_t header_ra,
			    int64_t body_ra, int64_t base_ms, int64_t cap_ms,
			    int64_t max_retry_after_ms, const uint64_t *rnd)
{
	int64_t ra = header_ra >= 0 ? header_ra : body_ra;

	if ((status == 429 || status == 503) && ra >= 0) {
		if (ra > ZTP__RETRY_AFTER_MAX_S)
			ra = ZTP__RETRY_AFTER_MAX_S;
		if (max_retry_after_ms < 0)
			max_retry_after_ms = 0;
		return ra > max_retry_after_ms / 1000 ? max_retry_after_ms
						      : ra * 1000;
	}
	return ztp__backoff_ms(retry, base_ms, cap_ms, rnd);
}

int64_t ztp__rotation_due(int64_t not_before, int64_t not_after, int percent,
			  const uint8_t h[32])
{
	int64_t life = not_after - not_before, spread, due;
	uint64_t x = 0;
	int i;

	if (life <= 0)
		return not_before;
	for (i = 0; i < 8; i++)
		x = x << 8 | h[i];
	spread = life / 100 * ZTP__ROTATE_JITTER_PERCENT +
		 life % 100 * ZTP__ROTATE_JITTER_PERCENT / 100;
	due = not_before + life / 100 * percent + life % 100 * percent / 100 +
	      (int64_t)(x % ((uint64_t)spread + 1));
	return due < not_after ? due : not_after - 1;
}
