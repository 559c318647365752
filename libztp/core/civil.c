/*
 * libztp — civil-date arithmetic and RFC 3339 parsing and formatting, C
 * standard library only (core/portable.h): the verifier, the OpenSSL
 * device and the portable device core read and write times through this
 * one definition.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Civil-date arithmetic is done here (H. Hinnant's days_from_civil) rather
 * than with mktime/timegm: the result must not depend on TZ, on the C
 * library, or on the width of time_t.
 */
#include "core/portable.h"

int64_t ztp__days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse (H. Hinnant's civil_from_days). */
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

/* n (0 <= n < 10^width) as width decimal digits. */
static char *digits_out(char *p, int64_t n, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + n % 10);
		n /= 10;
	}
	return p + width;
}

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range that four-digit
 * years can spell. */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL

void ztp__rfc3339_format(char out[ZTP__RFC3339_LEN + 1], int64_t t)
{
	int64_t days, secs, y;
	int m, d;
	char *p = out;

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
	p = digits_out(p, y, 4);
	*p++ = '-';
	p = digits_out(p, m, 2);
	*p++ = '-';
	p = digits_out(p, d, 2);
	*p++ = 'T';
	p = digits_out(p, secs / 3600, 2);
	*p++ = ':';
	p = digits_out(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = digits_out(p, secs % 60, 2);
	*p++ = 'Z';
	*p = '\0';
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ztp__days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Exactly n ASCII digits at s (the caller checked that n bytes exist). */
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

int ztp__rfc3339_parse(int64_t *out, const char *s, size_t len,
		       const char **why)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t p, n;
	int64_t t;

	*why = "time: not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)";
	if (len < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return ZTP_EPARSE;
	*why = "time: date or time out of range";
	if (mo < 1 || mo > 12 || d < 1 || d > ztp__days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 59)
		return ZTP_EPARSE;
	p = 19;
	if (s[p] == '.') {
		p++;
		for (n = 0; p + n < len && s[p + n] >= '0' && s[p + n] <= '9';
		     n++)
			;
		*why = "time: fraction must have 1 to 9 digits";
		if (n < 1 || n > 9)
			return ZTP_EPARSE;
		p += n;
	}
	if (p < len && s[p] == 'Z') {
		p++;
	} else {
		*why = "time: bad UTC offset";
		if (p + 6 > len || (s[p] != '+' && s[p] != '-') ||
		    !digits(s + p + 1, 2, &oh) || s[p + 3] != ':' ||
		    !digits(s + p + 4, 2, &om))
			return ZTP_EPARSE;
		*why = "time: UTC offset out of range";
		if (oh > 23 || om > 59)
			return ZTP_EPARSE;
		sign = s[p] == '+' ? 1 : -1;
		p += 6;
	}
	*why = "time: trailing characters";
	if (p != len)
		return ZTP_EPARSE;
	t = ztp__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	/* Local time = UTC + offset. */
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*out = t;
	*why = "";
	return ZTP_OK;
}
