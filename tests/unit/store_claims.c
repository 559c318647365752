/*
 * Store: claim codes, rate-limit buckets, claim attempts and factory keys,
 * against every backend.
 */
#include "test_store.h"

/* ------------------------------------------------------------ claims */

START_TEST(test_claim)
{
	ztp_store *s = open_kind(_i, NULL);
	uint8_t h[32], other[32];
	size_t i;

	memset(h, 0x5a, sizeof(h));
	memset(other, 0x5a, sizeof(other));
	other[31] ^= 1;
	add_dev(s, "d1");
	add_dev(s, "d2");
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_ENOTFOUND); /* no pending claim */
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "ghost", h, sizeof(h)),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, 65), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_set(s, "d1", NULL, 32), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_set(s, "a/b", h, 32), ZTP_EINVAL);

	/* wrong hash, or a prefix of it: refused, claim kept */
	ck_assert_rc(
	    ztp_store_claim_take(s, "d1", other, sizeof(other), "acme"),
	    ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, 31, "acme"),
		     ZTP_EMISMATCH);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(
		    ztp_store_claim_take(s, "d1", h, sizeof(h), bad_ids[i]),
		    ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, 0, "acme"), ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_take(s, "ghost", h, 32, "acme"),
		     ZTP_ENOTFOUND);

	now_val = T0 + 99;
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "acme"),
		     ZTP_OK);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");
	/* single use */
	ck_assert_rc(ztp_store_claim_take(s, "d1", h, sizeof(h), "evil"),
		     ZTP_ENOTFOUND);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");

	/* replaced claim: only the newest hash works */
	ck_assert_rc(ztp_store_claim_set(s, "d2", other, sizeof(other)),
		     ZTP_OK);
	ck_assert_rc(ztp_store_claim_set(s, "d2", h, 16), ZTP_OK);
	ck_assert_rc(
	    ztp_store_claim_take(s, "d2", other, sizeof(other), "acme"),
	    ZTP_EMISMATCH);
	/* revoked devices cannot be claimed, even with the right code */
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_REVOKED, NULL),
	    ZTP_OK);
	ck_assert_rc(ztp_store_claim_take(s, "d2", h, 16, "acme"), ZTP_ESTATE);
	expect_state(s, "d2", ZTP_STATE_REVOKED, NULL);
	ztp_store_free(s);
}
END_TEST

/* ------------------------------------------------------------ limits */

START_TEST(test_limit_take)
{
	ztp_store *s = open_kind(_i, NULL);
	const double rate = 1.0 / 60;
	int64_t retry = -1;

	/* a burst of 3, then one a minute */
	for (int i = 0; i < 3; i++) {
		ck_assert_rc(
		    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0, &retry),
		    ZTP_OK);
		ck_assert_int_eq(retry, 0);
	}
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 60);
	/* a refused take costs nothing: the token is back on time */
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0 + 59, &retry),
	    ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 1);
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0 + 60, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 3, T0 + 60, &retry),
	    ZTP_ERATELIMIT);
	/* other keys and other scopes are other buckets */
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d2", rate, 1, T0, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "d1", rate, 1, T0, &retry),
	    ZTP_OK);
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "d1", rate, 1, T0, &retry),
	    ZTP_ERATELIMIT);
	/* a clock going back refills nothing */
	ck_assert_rc(
	    ztp_store_limit_take(s, "device", "d1", rate, 1, T0 - 999, &retry),
	    ZTP_ERATELIMIT);
	/* full again after (burst - tokens) / rate: forgotten, and a fresh
	 * bucket is full */
	for (int i = 0; i < 4; i++)
		ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", rate, 3,
						  T0 + 60 + 180, &retry),
			     i < 3 ? ZTP_OK : ZTP_ERATELIMIT);

	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 0, 3, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", 0.0 / 0.0, 3, T0, &retry),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 2e6, 3, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 1, 0.5, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 1, 3, -1, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "a/b", "d1", 1, 3, T0, &retry),
		     ZTP_EINVAL);
	for (size_t i = 0; i < ZTP__ARRAY_LEN(bad_ids); i++)
		ck_assert_rc(ztp_store_limit_take(s, "claim", bad_ids[i], 1, 3,
						  T0, &retry),
			     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", NULL, 1, 3, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_limit_take(s, "claim", "d1", 1, 3, T0, NULL),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_store_limit_take(NULL, "claim", "d1", 1, 3, T0, &retry),
	    ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_claim_attempt)
{
	ztp_store *s = open_kind(_i, NULL);
	const double rate = 1.0 / 60;
	uint8_t h[32], other[32];
	int64_t retry = -1;

	memset(h, 0x5a, sizeof(h));
	memset(other, 0xa5, sizeof(other));
	add_dev(s, "d1");
	ck_assert_rc(ztp_store_claim_set(s, "d1", h, sizeof(h)), ZTP_OK);
	/* every refusal spends its token */
	for (int i = 0; i < 5; i++)
		ck_assert_rc(ztp_store_claim_attempt(s, "d1", other,
						     sizeof(other), "acme",
						     rate, 5, T0, &retry),
			     ZTP_EMISMATCH);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme",
					     rate, 5, T0, &retry),
		     ZTP_ERATELIMIT);
	ck_assert_int_eq(retry, 60);
	expect_state(s, "d1", ZTP_STATE_MANUFACTURED, NULL);
	/* the bucket is the one limit_take sees under scope "claim" */
	ck_assert_rc(
	    ztp_store_limit_take(s, "claim", "d1", rate, 5, T0 + 30, &retry),
	    ZTP_ERATELIMIT);
	now_val = T0 + 77;
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme",
					     rate, 5, T0 + 60, &retry),
		     ZTP_OK);
	ck_assert_int_eq(retry, 0);
	expect_state(s, "d1", ZTP_STATE_ACTIVE, "acme");
	/* single use, and the refusal counts */
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "evil",
					     rate, 5, T0 + 120, &retry),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "evil",
					     rate, 5, T0 + 120, &retry),
		     ZTP_ERATELIMIT);
	/* no such device: refused without a bucket, as often as asked (the
	 * fallback for a backend without claim_attempt takes the token
	 * before it asks: within the burst there) */
	for (int i = 0; i < (_i == B_WRAPPED ? 5 : 7); i++)
		ck_assert_rc(ztp_store_claim_attempt(s, "ghost", h, sizeof(h),
						     "acme", rate, 5, T0,
						     &retry),
			     ZTP_ENOTFOUND);
	/* a revoked device: refused, and counted */
	add_dev(s, "d2");
	ck_assert_rc(ztp_store_claim_set(s, "d2", h, sizeof(h)), ZTP_OK);
	ck_assert_rc(
	    ztp_store_device_set_state(s, "d2", NULL, ZTP_STATE_REVOKED, NULL),
	    ZTP_OK);
	ck_assert_rc(ztp_store_claim_attempt(s, "d2", h, sizeof(h), "acme",
					     rate, 1, T0, &retry),
		     ZTP_ESTATE);
	ck_assert_rc(ztp_store_claim_attempt(s, "d2", h, sizeof(h), "acme",
					     rate, 1, T0, &retry),
		     ZTP_ERATELIMIT);

	ck_assert_rc(
	    ztp_store_claim_attempt(s, "d1", h, 0, "acme", rate, 5, T0, &retry),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "a/b", rate,
					     5, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme", 0,
					     5, T0, &retry),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_claim_attempt(s, "d1", h, sizeof(h), "acme",
					     rate, 5, T0, NULL),
		     ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

START_TEST(test_factory_key)
{
	ztp_store *s = open_kind(_i, NULL);
	uint8_t spki[91], big[4097];
	json_object *o;
	char *json = NULL, *b64 = NULL;
	int want = _i == B_WRAPPED ? ZTP_EUNSUPPORTED : ZTP_OK;

	memset(spki, 0x30, sizeof(spki));
	memset(big, 0x30, sizeof(big));
	add_dev(s, "d1");
	now_val = T0 + 50;
	ck_assert_rc(
	    ztp_store_device_set_factory_key(s, "d1", spki, sizeof(spki)),
	    want);
	ck_assert_rc(ztp_store_device_get(s, "d1", &json), ZTP_OK);
	o = parse(json);
	ztp_free(json);
	if (want == ZTP_OK) {
		ck_assert_rc(ztp__b64_encode(&b64, spki, sizeof(spki)), ZTP_OK);
		ck_assert_str_eq(str_field(o, "factory_key"), b64);
		ztp_free(b64);
		/* not an update of the record's state */
		ck_assert_int_eq(int_field(o, "updated_at"), T0);
	} else {
		ck_assert(null_field(o, "factory_key"));
	}
	json_object_put(o);
	if (want == ZTP_OK)
		ck_assert_rc(ztp_store_device_set_factory_key(s, "ghost", spki,
							      sizeof(spki)),
			     ZTP_ENOTFOUND);
	ck_assert_rc(
	    ztp_store_device_set_factory_key(s, "d1", big, sizeof(big)),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "d1", spki, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "d1", NULL, 4),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_store_device_set_factory_key(s, "a/b", spki, 4),
		     ZTP_EINVAL);
	ztp_store_free(s);
}
END_TEST

void store_tcases_claims(Suite *s)
{
	suite_add_tcase(s, loop_case("claim_set_take", test_claim, 0));
	suite_add_tcase(s, loop_case("limit_take", test_limit_take, 0));
	suite_add_tcase(s, loop_case("claim_attempt", test_claim_attempt, 0));
	suite_add_tcase(
	    s, loop_case("device_set_factory_key", test_factory_key, 0));
}
