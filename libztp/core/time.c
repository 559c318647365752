/*
 * libztp — RFC 3339 and ASN.1 time, as seconds since the Unix epoch.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Civil-date arithmetic and RFC 3339 parsing and formatting: core/civil.c.
 */
#include "core/internal.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>

void ztp__time_rfc3339(char out[32], int64_t t)
{
	ztp__rfc3339_format(out, t);
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
