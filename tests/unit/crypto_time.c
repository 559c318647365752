/*
 * Core crypto: RFC 3339 and ASN.1 times.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ time */

START_TEST(test_time_rfc3339)
{
	char s[32];

	ztp__time_rfc3339(s, 0);
	ck_assert_str_eq(s, "1970-01-01T00:00:00Z");
	ztp__time_rfc3339(s, 1795818660);
	ck_assert_str_eq(s, "2026-11-27T22:31:00Z");
	ztp__time_rfc3339(s, 951782400);
	ck_assert_str_eq(s, "2000-02-29T00:00:00Z");
	ztp__time_rfc3339(s, -1);
	ck_assert_str_eq(s, "1969-12-31T23:59:59Z");
	ztp__time_rfc3339(s, INT64_C(253402300799));
	ck_assert_str_eq(s, "9999-12-31T23:59:59Z");
	ztp__time_rfc3339(s, INT64_MAX);
	ck_assert_str_eq(s, "9999-12-31T23:59:59Z");
	ztp__time_rfc3339(s, INT64_MIN);
	ck_assert_str_eq(s, "0000-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_time_parse)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2026-11-27T22:31:00Z", 1795818660},
	    {"2026-11-27T23:31:00+01:00", 1795818660},
	    {"2026-11-27T17:01:00-05:30", 1795818660},
	    {"2026-11-27T22:31:00-00:00", 1795818660},
	    {"2026-11-27T22:31:00.999999999Z", 1795818660},
	    {"2026-11-27T22:31:00.5+00:00", 1795818660},
	    {"2000-02-29T00:00:00Z", 951782400},
	    {"1969-12-31T23:59:59Z", -1},
	    {"2050-01-01T00:00:00Z", INT64_C(2524608000)},
	};
	static const char *const bad[] = {
	    "",
	    "2026-11-27",
	    "2026-11-27T22:31:00",
	    "2026-11-27t22:31:00Z",
	    "2026-11-27T22:31:00z",
	    "2026-11-27 22:31:00Z",
	    "2026-11-27T22:31Z",
	    "2026-11-27T22:31:00+0100",
	    "2026-11-27T22:31:00+01",
	    "2026-11-27T22:31:00+24:00",
	    "2026-11-27T22:31:00+01:60",
	    "2026-11-27T22:31:00.Z",
	    "2026-11-27T22:31:00.1234567890Z",
	    "2026-11-27T22:31:00,5Z",
	    "2026-11-27T22:31:60Z",
	    "2026-11-27T24:00:00Z",
	    "2026-11-27T22:60:00Z",
	    "2026-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-11-00T00:00:00Z",
	    "2026-1-27T22:31:00Z",
	    " 2026-11-27T22:31:00Z",
	    "2026-11-27T22:31:00Z ",
	    "2026-11-27T22:31:00ZZ",
	    "+2026-11-27T22:31:00Z",
	    "2026-11-27T22:31:00+01:00x",
	};
	int64_t t;
	size_t i;
	char s[32];

	for (i = 0; i < ZTP__ARRAY_LEN(good); i++) {
		ck_assert_msg(ztp__time_parse(&t, good[i].s) == ZTP_OK,
			      "refused %s: %s", good[i].s,
			      ztp_error_last_message());
		ck_assert_msg(t == good[i].t, "%s: %lld", good[i].s,
			      (long long)t);
	}
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		t = 42;
		ck_assert_msg(ztp__time_parse(&t, bad[i]) == ZTP_EPARSE,
			      "accepted '%s'", bad[i]);
		ck_assert_int_eq(t, 42);
	}
	/* Round trip over a spread of times. */
	for (t = -86400 * 365; t < INT64_C(4102444800); t += 7777777) {
		int64_t back;

		ztp__time_rfc3339(s, t);
		ck_assert_rc(ztp__time_parse(&back, s), ZTP_OK);
		ck_assert_int_eq(back, t);
	}
	ck_assert_rc(ztp__time_parse(NULL, "1970-01-01T00:00:00Z"), ZTP_EINVAL);
	ck_assert_rc(ztp__time_parse(&t, NULL), ZTP_EINVAL);
}
END_TEST

static int asn1_of(int type, const char *s, int64_t *t)
{
	ASN1_TIME *a = ASN1_STRING_type_new(type);
	int rc;

	ck_assert(ASN1_STRING_set(a, s, (int)strlen(s)) == 1);
	rc = ztp__asn1_time(t, a);
	ASN1_TIME_free(a);
	return rc;
}

START_TEST(test_asn1_time)
{
	int64_t t = 0, x;
	ASN1_TIME *a;

	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "700101000000Z", &t), ZTP_OK);
	ck_assert_int_eq(t, 0);
	/* RFC 5280 century rule: YY >= 50 is 19YY, else 20YY. */
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "500101000000Z", &t), ZTP_OK);
	ck_assert_int_eq(t, INT64_C(-631152000));
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "491231235959Z", &t), ZTP_OK);
	ck_assert_int_eq(t, INT64_C(2524607999));
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20500101000000Z", &t),
		     ZTP_OK);
	ck_assert_int_eq(t, INT64_C(2524608000));
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "99991231235959Z", &t),
		     ZTP_OK);
	ck_assert_int_eq(t, INT64_C(253402300799));
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20000229000000Z", &t),
		     ZTP_OK);
	ck_assert_int_eq(t, 951782400);

	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260230000000Z", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260101000000+0100", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260101000000.5Z", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_GENERALIZEDTIME, "20260101000000", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "2601010000Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "20260101000000Z", &t),
		     ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "26010100000aZ", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "261301000000Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "260101240000Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_UTCTIME, "260101000060Z", &t), ZTP_EPARSE);
	ck_assert_rc(asn1_of(V_ASN1_IA5STRING, "260101000000Z", &t),
		     ZTP_EPARSE);
	ck_assert_int_eq(ERR_peek_error(), 0);

	/* Independent of TZ, and agrees with ASN1_TIME_set. */
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	for (x = 0; x < INT64_C(4102444800); x += 86399 * 97) {
		a = ASN1_TIME_set(NULL, (time_t)x);
		ck_assert_ptr_nonnull(a);
		ck_assert_rc(ztp__asn1_time(&t, a), ZTP_OK);
		ck_assert_int_eq(t, x);
		ASN1_TIME_free(a);
	}
	unsetenv("TZ");
	tzset();
	ck_assert_rc(ztp__asn1_time(NULL, NULL), ZTP_EINVAL);
}
END_TEST

void crypto_tcases_time(Suite *s)
{
	TCase *tc;

	tc = tcase_create("time_rfc3339");
	tcase_add_test(tc, test_time_rfc3339);
	suite_add_tcase(s, tc);
	tc = tcase_create("time_parse");
	tcase_add_test(tc, test_time_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("asn1_time");
	tcase_add_test(tc, test_asn1_time);
	suite_add_tcase(s, tc);
}
