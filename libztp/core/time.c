/*
 * libztp — RFC 3339 and ASN.1 time, as seconds since the Unix epoch.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Civil-date arithmetic and RFC 3339 parsing: core/civil.c.
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

/* RFC 3339 (core/civil.c, ztp__rfc3339_parse(), says what is accepted). */
int ztp__time_parse(int64_t *out, const char *s)
{
	const char *why = "";
	int rc;

	ZTP_ARG(out != NULL);
	ZTP_ARG(s != NULL);
	rc = ztp__rfc3339_parse(out, s, strnlen(s, 64), &why);
	if (rc < 0)
		return ztp__err_fixed(rc, why);
	return ZTP_OK;
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
	*out = ztp__days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
				    tm.tm_mday) *
		   86400 +
	       tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
cleanup:
	return rc;
}
