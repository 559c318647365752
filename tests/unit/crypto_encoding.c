/*
 * Core crypto: base64, hex, SHA-256.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ base64,
 * hex */

static const struct {
	const char *raw, *b64;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

START_TEST(test_b64_vectors)
{
	size_t i, n;
	char *enc;
	uint8_t *dec;

	for (i = 0; i < ZTP__ARRAY_LEN(rfc4648); i++) {
		ck_assert_rc(ztp__b64_encode(&enc,
					     (const uint8_t *)rfc4648[i].raw,
					     strlen(rfc4648[i].raw)),
			     ZTP_OK);
		ck_assert_str_eq(enc, rfc4648[i].b64);
		ztp_free(enc);
		ck_assert_rc(ztp__b64_decode(&dec, &n, rfc4648[i].b64,
					     strlen(rfc4648[i].b64)),
			     ZTP_OK);
		ck_assert_uint_eq(n, strlen(rfc4648[i].raw));
		ck_assert(memcmp(dec, rfc4648[i].raw, n) == 0);
		ztp_free(dec);
	}
}
END_TEST

START_TEST(test_b64_roundtrip_binary)
{
	uint8_t raw[300], *dec;
	char *enc;
	size_t len, i, n;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + 3);
	for (len = 0; len <= sizeof(raw); len += 1) {
		ck_assert_rc(ztp__b64_encode(&enc, raw, len), ZTP_OK);
		ck_assert_uint_eq(strlen(enc), (len + 2) / 3 * 4);
		ck_assert_rc(ztp__b64_decode(&dec, &n, enc, strlen(enc)),
			     ZTP_OK);
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(dec, raw, len) == 0);
		ztp_free(dec);
		ztp_free(enc);
	}
}
END_TEST

START_TEST(test_b64_decode_strict)
{
	static const char *const bad[] = {
	    "Zg",	  /* missing padding */
	    "Zg=",	  /* short padding */
	    "Zh==",	  /* non-canonical trailing bits (4) */
	    "Zm9=",	  /* non-canonical trailing bits (2) */
	    "Zm9 ",	  /* whitespace */
	    "Zm9v\nZg==", /* line break */
	    "Z===",	  /* too much padding */
	    "====",	  /* padding only */
	    "Zg==Zg==",	  /* padding in the middle */
	    "Zm9v-_==",	  /* URL-safe alphabet */
	    "Zm=v",	  /* '=' inside the last quantum */
	    "Zm9vY===",	  /* three pad characters */
	};
	uint8_t *dec = (uint8_t *)"x";
	size_t i, n = 99;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		ck_assert_msg(ztp__b64_decode(&dec, &n, bad[i],
					      strlen(bad[i])) == ZTP_EPARSE,
			      "accepted '%s'", bad[i]);
		ck_assert_ptr_null(dec);
		ck_assert_uint_eq(n, 0);
	}
	/* An embedded NUL, with the explicit length. */
	ck_assert_rc(ztp__b64_decode(&dec, &n, "Zm9v\0mFy", 8), ZTP_EPARSE);
	ck_assert_rc(ztp__b64_decode(NULL, &n, "Zm9v", 4), ZTP_EINVAL);
	ck_assert_rc(ztp__b64_decode(&dec, NULL, "Zm9v", 4), ZTP_EINVAL);
	ck_assert_rc(ztp__b64_decode(&dec, &n, NULL, 4), ZTP_EINVAL);
	ck_assert_rc(ztp__b64_encode(NULL, (const uint8_t *)"a", 1),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(test_hex)
{
	static const uint8_t raw[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
	char hex[2 * sizeof(raw) + 1];
	uint8_t out[8];
	size_t n = 99;

	ztp__hex_encode(hex, raw, sizeof(raw));
	ck_assert_str_eq(hex, "0001abff7f");
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "0001ABff7f", 10),
		     ZTP_OK);
	ck_assert_uint_eq(n, sizeof(raw));
	ck_assert(memcmp(out, raw, n) == 0);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "", 0), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "abc", 3),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "0g", 2),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, "0x00", 4),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), &n, " 0", 2),
		     ZTP_EPARSE);
	ck_assert_rc(ztp__hex_decode(out, 2, &n, "000102", 6), ZTP_ETOOBIG);
	ck_assert_rc(ztp__hex_decode(out, sizeof(out), NULL, "00", 2),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(test_sha256)
{
	uint8_t d[32];
	char hex[65];

	ck_assert_rc(ztp__sha256(d, "abc", 3), ZTP_OK);
	ztp__hex_encode(hex, d, 32);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad");
	ck_assert_rc(ztp__sha256(d, NULL, 0), ZTP_OK);
	ztp__hex_encode(hex, d, 32);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855");
	ck_assert_rc(ztp__sha256(NULL, "abc", 3), ZTP_EINVAL);
}
END_TEST

void crypto_tcases_encoding(Suite *s)
{
	TCase *tc;

	tc = tcase_create("b64");
	tcase_add_test(tc, test_b64_vectors);
	tcase_add_test(tc, test_b64_roundtrip_binary);
	tcase_add_test(tc, test_b64_decode_strict);
	suite_add_tcase(s, tc);
	tc = tcase_create("hex");
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);
	tc = tcase_create("sha256");
	tcase_add_test(tc, test_sha256);
	suite_add_tcase(s, tc);
}
