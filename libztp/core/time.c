/*
 * libztp — RFC 3339 and ASN.1 time, as seconds since the Unix epoch.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Civil-date arithmetic is done here (H. Hinnant's days_from_civil) rather
 * than with mktime/timegm: the result must not depend on TZ, on the C
 * library, or on the width of time_t.
 */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range that four-digit
 * years can spell. */
#define TIME_MIN INT64_C(-62167219200)
#define TIME_MAX INT64_C(253402300799)

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Out-of-range times are clamped: the function cannot fail, and a clamped
 * year 0000 / 9999 stamp is visibly wrong rather than silently wrapped. */
void ztp__time_rfc3339(char out[32], int64_t t)
{
	int64_t days, secs, y;
	int m, d;
	char tmp[96];

	if (t < TIME_MIN)
		t = TIME_MIN;
	if (t > TIME_MAX)
		t = TIME_MAX;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* The clamping above keeps every field in range, so the stamp is
	 * always exactly 20 characters; the wider buffer only spares the
	 * compiler's truncation analysis, which cannot see the ranges. */
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m,
		 d, (int)(secs / 3600), (int)(secs / 60 % 60),
		 (int)(secs % 60));
	memcpy(out, tmp, 21);
}

/* Exactly n ASCII digits at s. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm).
 * Strict: upper-case 'T' and 'Z' only (what every producer we talk to
 * writes), fraction of 1 to 9 digits (truncated, not rounded), no leap
 * second (':60' cannot be represented in Unix time), nothing after the
 * offset.
 */
int ztp__time_parse(int64_t *out, const char *s)
{
	int rc = ZTP_OK;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, n;
	const char *p;
	int64_t t;

	ZTP_ARG(out != NULL);
	ZTP_ARG(s != NULL);
	ZTP_ENSURE(strnlen(s, 20) >= 20 && digits(s, 4, &y) && s[4] == '-' &&
		       digits(s + 5, 2, &mo) && s[7] == '-' &&
		       digits(s + 8, 2, &d) && s[10] == 'T' &&
		       digits(s + 11, 2, &h) && s[13] == ':' &&
		       digits(s + 14, 2, &mi) && s[16] == ':' &&
		       digits(s + 17, 2, &sec),
		   ZTP_EPARSE, "time: not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)");
	ZTP_ENSURE(mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) &&
		       h <= 23 && mi <= 59 && sec <= 59,
		   ZTP_EPARSE, "time: date or time out of range");
	p = s + 19;
	if (*p == '.') {
		p++;
		for (n = 0; p[n] >= '0' && p[n] <= '9'; n++)
			;
		ZTP_ENSURE(n >= 1 && n <= 9, ZTP_EPARSE,
			   "time: fraction must have 1 to 9 digits");
		p += n;
	}
	if (*p == 'Z') {
		p++;
	} else {
		ZTP_ENSURE((*p == '+' || *p == '-') && strnlen(p, 6) == 6 &&
			       digits(p + 1, 2, &oh) && p[3] == ':' &&
			       digits(p + 4, 2, &om),
			   ZTP_EPARSE, "time: bad UTC offset");
		ZTP_ENSURE(oh <= 23 && om <= 59, ZTP_EPARSE,
			   "time: UTC offset out of range");
		sign = *p == '+' ? 1 : -1;
		p += 6;
	}
	ZTP_ENSURE(*p == '\0', ZTP_EPARSE, "time: trailing characters");
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	/* Local time = UTC + offset. */
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*out = t;
cleanup:
	return rc;
}

/*
 * RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ or GeneralizedTime
 * YYYYMMDDHHMMSSZ, always in Z, never with fractions or offsets. The
 * format is checked here; the calendar check and the UTCTime century rule
 * (YY < 50 is 20YY) are OpenSSL's.
 */
int ztp__asn1_time(int64_t *out, const ASN1_TIME *t)
{
	int rc = ZTP_OK;
	struct tm tm;
	const unsigned char *s;
	int len, type, i;

	ZTP_ARG(out != NULL);
	ZTP_ARG(t != NULL);
	type = ASN1_STRING_type(t);
	s = ASN1_STRING_get0_data(t);
	len = ASN1_STRING_length(t);
	ZTP_ENSURE(s != NULL &&
		       ((type == V_ASN1_UTCTIME && len == 13) ||
			(type == V_ASN1_GENERALIZEDTIME && len == 15)) &&
		       s[len - 1] == 'Z',
		   ZTP_EPARSE, "time: not an RFC 5280 UTCTime/GeneralizedTime");
	for (i = 0; i < len - 1; i++)
		ZTP_ENSURE(s[i] >= '0' && s[i] <= '9', ZTP_EPARSE,
			   "time: not an RFC 5280 UTCTime/GeneralizedTime");
	memset(&tm, 0, sizeof(tm));
	ZTP_ENSURE_OSSL(ASN1_TIME_to_tm(t, &tm) == 1, ZTP_EPARSE,
			"time: invalid ASN.1 time");
	ZTP_ENSURE(tm.tm_sec <= 59, ZTP_EPARSE, "time: leap second");
	*out = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
			       tm.tm_mday) *
		   86400 +
	       tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
cleanup:
	return rc;
}
