/*
 * Core crypto: key generation and description, key policy, public-key
 * comparison.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ keys */

START_TEST(test_key_generate)
{
	static const char *const types[] = {"ec-p256",	"ec-p384",  "ed25519",
					    "rsa-2048", "rsa-3072", "rsa-4096"};
	EVP_PKEY *k = NULL;
	char name[32];
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(types); i++) {
		ck_assert_rc(ztp__key_generate(&k, types[i]), ZTP_OK);
		ck_assert_rc(ztp__key_describe(name, sizeof(name), k), ZTP_OK);
		ck_assert_str_eq(name, types[i]);
		EVP_PKEY_free(k);
		k = NULL;
	}
	ck_assert_rc(ztp__key_generate(&k, "rsa-1024"), ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__key_generate(&k, "ec-p521"), ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__key_generate(&k, "EC-P256"), ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__key_generate(&k, ""), ZTP_EUNSUPPORTED);
	ck_assert_ptr_null(k);
	ck_assert_rc(ztp__key_generate(&k, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__key_generate(NULL, "ec-p256"), ZTP_EINVAL);
}
END_TEST

START_TEST(test_key_describe)
{
	EVP_PKEY *k;
	char name[32];

	k = gen_rsa(1024);
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k), ZTP_OK);
	ck_assert_str_eq(name, "rsa-1024");
	ck_assert_rc(ztp__key_describe(name, 8, k), ZTP_ETOOBIG);
	ck_assert_rc(ztp__key_describe(name, 9, k), ZTP_OK);
	EVP_PKEY_free(k);
	k = gen_ec("P-521");
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k),
		     ZTP_EUNSUPPORTED);
	assert_detail("ec-secp521r1");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k),
		     ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	k = pub_from_pem(explicit_ec_pub);
	ck_assert_rc(ztp__key_describe(name, sizeof(name), k),
		     ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	ck_assert_rc(ztp__key_describe(name, sizeof(name), NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__key_describe(NULL, 8, k_p256), ZTP_EINVAL);
}
END_TEST

/* An RSA public key with modulus n (from base) and exponent e. */
static EVP_PKEY *rsa_with_e(EVP_PKEY *base, unsigned long e)
{
	BIGNUM *n = NULL, *be = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;

	ck_assert(EVP_PKEY_get_bn_param(base, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
	ck_assert(BN_set_word(be, e) == 1);
	ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1);
	ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert(EVP_PKEY_fromdata_init(ctx) == 1);
	ck_assert(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(be);
	return k;
}

START_TEST(test_keypolicy_check)
{
	ztp__keypolicy p;
	EVP_PKEY *k;
	static const struct {
		const char *curve, *name;
	} curves[] = {
	    {"P-192", "key type ec-prime192v1 not allowed"},
	    {"P-224", "key type ec-secp224r1 not allowed"},
	    {"secp256k1", "key type ec-secp256k1 not allowed"},
	    {"P-521", "key type ec-secp521r1 not allowed"},
	    {"brainpoolP256r1", "key type ec-brainpoolP256r1 not allowed"},
	};
	size_t i;

	ztp__keypolicy_default(&p);
	ck_assert(p.ec_p256 && p.ec_p384 && p.ed25519);
	ck_assert_int_eq(p.rsa_min_bits, 2048);
	ck_assert_int_eq(p.rsa_max_bits, 8192);
	ck_assert_rc(ztp__keypolicy_check(&p, k_p256), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_check(&p, k_p384), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_check(&p, k_ed25519), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_OK);

	k = gen_rsa(1024);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type rsa-1024 not allowed");
	EVP_PKEY_free(k);
	k = gen_rsa(2040);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	EVP_PKEY_free(k);
	for (i = 0; i < ZTP__ARRAY_LEN(curves); i++) {
		k = gen_ec(curves[i].curve);
		ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
		assert_detail(curves[i].name);
		EVP_PKEY_free(k);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type ed448 not allowed");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type x25519 not allowed");
	EVP_PKEY_free(k);
	{
		EVP_PKEY_CTX *kc =
		    EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);

		k = NULL;
		ck_assert(EVP_PKEY_keygen_init(kc) == 1);
		ck_assert(EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048) == 1);
		ck_assert(EVP_PKEY_generate(kc, &k) == 1);
		EVP_PKEY_CTX_free(kc);
	}
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type rsa-pss-2048 not allowed");
	EVP_PKEY_free(k);
	k = pub_from_pem(dsa_pub);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("key type dsa-1024 not allowed");
	EVP_PKEY_free(k);
	/* P-256 spelled with explicit parameters. */
	k = pub_from_pem(explicit_ec_pub);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	assert_detail("explicit");
	EVP_PKEY_free(k);
	/* Degenerate RSA exponents. */
	k = rsa_with_e(k_rsa, 1);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	EVP_PKEY_free(k);
	k = rsa_with_e(k_rsa, 65536);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_EKEYPOLICY);
	EVP_PKEY_free(k);
	k = rsa_with_e(k_rsa, 3);
	ck_assert_rc(ztp__keypolicy_check(&p, k), ZTP_OK);
	EVP_PKEY_free(k);

	/* Narrowed policies. */
	p.rsa_max_bits = 2047;
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	p.rsa_min_bits = 0;
	p.rsa_max_bits = 8192;
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	assert_detail("key type rsa-2048 not allowed");
	p.ec_p384 = false;
	ck_assert_rc(ztp__keypolicy_check(&p, k_p384), ZTP_EKEYPOLICY);
	assert_detail("key type ec-p384 not allowed");
	ck_assert_rc(ztp__keypolicy_check(&p, k_p256), ZTP_OK);
	p.ed25519 = false;
	ck_assert_rc(ztp__keypolicy_check(&p, k_ed25519), ZTP_EKEYPOLICY);
	ck_assert_rc(ztp__keypolicy_check(NULL, k_p256), ZTP_EINVAL);
	ck_assert_rc(ztp__keypolicy_check(&p, NULL), ZTP_EINVAL);
}
END_TEST

START_TEST(test_keypolicy_parse)
{
	ztp__keypolicy p, keep;
	static const char *const bad[] = {
	    "",
	    ",",
	    "ec-p256,",
	    ",ec-p256",
	    "ec-p256,,ed25519",
	    "ec-p256,ec-p256",
	    "rsa-2048,rsa-3072",
	    "rsa-1024",
	    "rsa-2047",
	    "rsa-8193",
	    "rsa-02048",
	    "rsa-",
	    "rsa",
	    "rsa-2048x",
	    "rsa--2048",
	    "ec-p521",
	    "EC-P256",
	    " ec-p256",
	    "ec-p256 ",
	    "ed448",
	    "dsa-2048",
	    "rsa-99999999",
	};
	size_t i;

	ck_assert_rc(
	    ztp__keypolicy_parse(&p, "ec-p256,ec-p384,ed25519,rsa-2048"),
	    ZTP_OK);
	ck_assert(p.ec_p256 && p.ec_p384 && p.ed25519);
	ck_assert_int_eq(p.rsa_min_bits, 2048);
	ck_assert_int_eq(p.rsa_max_bits, 8192);
	ck_assert_rc(ztp__keypolicy_parse(&p, "ed25519"), ZTP_OK);
	ck_assert(!p.ec_p256 && !p.ec_p384 && p.ed25519);
	ck_assert_int_eq(p.rsa_min_bits, 0);
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	ck_assert_rc(ztp__keypolicy_check(&p, k_p256), ZTP_EKEYPOLICY);
	ck_assert_rc(ztp__keypolicy_check(&p, k_ed25519), ZTP_OK);
	ck_assert_rc(ztp__keypolicy_parse(&p, "rsa-3072,ec-p384"), ZTP_OK);
	ck_assert_int_eq(p.rsa_min_bits, 3072);
	ck_assert_rc(ztp__keypolicy_check(&p, k_rsa), ZTP_EKEYPOLICY);
	assert_detail("rsa-2048");
	ck_assert_rc(ztp__keypolicy_parse(&p, "rsa-8192"), ZTP_OK);

	ztp__keypolicy_default(&keep);
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		p = keep;
		ck_assert_msg(ztp__keypolicy_parse(&p, bad[i]) == ZTP_EINVAL,
			      "accepted '%s'", bad[i]);
		/* Untouched on failure (field by field: the struct has
		 * padding). */
		ck_assert(p.ec_p256 == keep.ec_p256 &&
			  p.ec_p384 == keep.ec_p384 &&
			  p.ed25519 == keep.ed25519 &&
			  p.rsa_min_bits == keep.rsa_min_bits &&
			  p.rsa_max_bits == keep.rsa_max_bits);
	}
	ck_assert_rc(ztp__keypolicy_parse(&p, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__keypolicy_parse(NULL, "ec-p256"), ZTP_EINVAL);
}
END_TEST

/* The same key whatever its encoding; different keys, and keys of other
 * types, are different. */
START_TEST(test_pubkey_same)
{
	EVP_PKEY *a = NULL, *b = NULL, *ed = NULL, *a2 = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	bool same = true;
	int len;

	ck_assert_rc(ztp__key_generate(&a, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&b, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__key_generate(&ed, "ed25519"), ZTP_OK);
	ck_assert_rc(ztp__pubkey_same(&same, a, a), ZTP_OK);
	ck_assert(same);
	ck_assert_rc(ztp__pubkey_same(&same, a, b), ZTP_OK);
	ck_assert(!same);
	same = true;
	ck_assert_rc(ztp__pubkey_same(&same, a, ed), ZTP_OK);
	ck_assert(!same);
	/* the public half, re-encoded with a compressed point */
	ck_assert_int_eq(
	    EVP_PKEY_set_utf8_string_param(
		a, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
	    1);
	len = i2d_PUBKEY(a, &der);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(len, 59); /* 26-byte header + 33-byte point */
	p = der;
	a2 = d2i_PUBKEY(NULL, &p, len);
	ck_assert_ptr_nonnull(a2);
	same = false;
	ck_assert_rc(ztp__pubkey_same(&same, a, a2), ZTP_OK);
	ck_assert(same);
	ck_assert_rc(ztp__pubkey_same(NULL, a, a2), ZTP_EINVAL);
	OPENSSL_free(der);
	EVP_PKEY_free(a);
	EVP_PKEY_free(a2);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ed);
}
END_TEST

void crypto_tcases_keys(Suite *s)
{
	TCase *tc;

	tc = tcase_create("key_generate");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_key_generate);
	suite_add_tcase(s, tc);
	tc = tcase_create("key_describe");
	tcase_add_test(tc, test_key_describe);
	suite_add_tcase(s, tc);
	tc = tcase_create("keypolicy");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_keypolicy_check);
	tcase_add_test(tc, test_keypolicy_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("pubkey_same");
	tcase_add_test(tc, test_pubkey_same);
	suite_add_tcase(s, tc);
}
