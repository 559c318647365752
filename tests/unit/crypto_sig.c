/*
 * Core crypto: signature algorithms, signing and verification, the
 * Wycheproof vectors.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ signatures
 */

START_TEST(test_sigalg_for_key)
{
	ztp__sigalg a;
	EVP_PKEY *k;

	ck_assert_rc(ztp__sigalg_for_key(&a, k_p256), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_ECDSA_SHA256);
	ck_assert_rc(ztp__sigalg_for_key(&a, k_p384), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_ECDSA_SHA384);
	ck_assert_rc(ztp__sigalg_for_key(&a, k_ed25519), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_ED25519);
	ck_assert_rc(ztp__sigalg_for_key(&a, k_rsa), ZTP_OK);
	ck_assert_int_eq(a, ZTP__SIG_RSA_PSS_SHA256);
	k = gen_ec("P-521");
	ck_assert_rc(ztp__sigalg_for_key(&a, k), ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	k = pub_from_pem(explicit_ec_pub);
	ck_assert_rc(ztp__sigalg_for_key(&a, k), ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	k = pub_from_pem(dsa_pub);
	ck_assert_rc(ztp__sigalg_for_key(&a, k), ZTP_EUNSUPPORTED);
	EVP_PKEY_free(k);
	ck_assert_rc(ztp__sigalg_for_key(NULL, k_p256), ZTP_EINVAL);
	ck_assert_rc(ztp__sigalg_for_key(&a, NULL), ZTP_EINVAL);
}
END_TEST

START_TEST(test_sig_roundtrip)
{
	static const struct {
		EVP_PKEY **key, **other;
		ztp__sigalg alg;
	} cases[] = {
	    {&k_p256, &k_p256b, ZTP__SIG_ECDSA_SHA256},
	    {&k_p384, &k_p256, ZTP__SIG_ECDSA_SHA384},
	    {&k_ed25519, &k_p256, ZTP__SIG_ED25519},
	    {&k_rsa, &k_rsab, ZTP__SIG_RSA_PSS_SHA256},
	    {&k_rsa, &k_rsab, ZTP__SIG_RSA_PKCS1_SHA256},
	};
	uint8_t *sig = NULL, bad[sizeof(msg)];
	size_t n = 0, i;
	int want_other;

	for (i = 0; i < ZTP__ARRAY_LEN(cases); i++) {
		EVP_PKEY *k = *cases[i].key;

		ck_assert_rc(
		    ztp__sig_sign(&sig, &n, k, cases[i].alg, msg, sizeof(msg)),
		    ZTP_OK);
		ck_assert_rc(
		    ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg), sig, n),
		    ZTP_OK);
		/* A changed message. */
		memcpy(bad, msg, sizeof(msg));
		bad[3] ^= 1;
		ck_assert_rc(
		    ztp__sig_verify(k, cases[i].alg, bad, sizeof(msg), sig, n),
		    ZTP_EBADSIG);
		ck_assert_int_eq(ERR_peek_error(), 0);
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg,
					     sizeof(msg) - 1, sig, n),
			     ZTP_EBADSIG);
		/* Another key (of another type: still EBADSIG). */
		ck_assert_rc(ztp__sig_verify(*cases[i].other, cases[i].alg, msg,
					     sizeof(msg), sig, n),
			     ZTP_EBADSIG);
		ck_assert_int_eq(ERR_peek_error(), 0);
		/* Changed, truncated, extended, empty signatures. */
		sig[n / 2] ^= 0x40;
		ck_assert_rc(
		    ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg), sig, n),
		    ZTP_EBADSIG);
		sig[n / 2] ^= 0x40;
		ck_assert_rc(ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg),
					     sig, n - 1),
			     ZTP_EBADSIG);
		ck_assert_rc(
		    ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg), sig, 0),
		    ZTP_EBADSIG);
		ck_assert_rc(
		    ztp__sig_verify(k, cases[i].alg, msg, sizeof(msg), NULL, 0),
		    ZTP_EBADSIG);
		ck_assert_int_eq(ERR_peek_error(), 0);
		/* Signing with a key that does not fit the algorithm. */
		want_other = cases[i].alg == ZTP__SIG_ED25519
				 ? ZTP__SIG_ECDSA_SHA256
				 : ZTP__SIG_ED25519;
		ck_assert_rc(ztp__sig_verify(k, (ztp__sigalg)want_other, msg,
					     sizeof(msg), sig, n),
			     ZTP_EBADSIG);
		assert_detail("does not fit");
		ztp_free(sig);
		sig = NULL;
		ck_assert_rc(ztp__sig_sign(&sig, &n, k, (ztp__sigalg)want_other,
					   msg, sizeof(msg)),
			     ZTP_EINVAL);
		ck_assert_ptr_null(sig);
	}
	/* The curve is part of the algorithm. */
	ck_assert_rc(ztp__sig_sign(&sig, &n, k_p256, ZTP__SIG_ECDSA_SHA384, msg,
				   sizeof(msg)),
		     ZTP_EINVAL);
	/* Empty message. */
	ck_assert_rc(
	    ztp__sig_sign(&sig, &n, k_ed25519, ZTP__SIG_ED25519, NULL, 0),
	    ZTP_OK);
	ck_assert_rc(
	    ztp__sig_verify(k_ed25519, ZTP__SIG_ED25519, NULL, 0, sig, n),
	    ZTP_OK);
	ztp_free(sig);
	ck_assert_rc(ztp__sig_verify(k_p256, (ztp__sigalg)0, msg, 3,
				     (const uint8_t *)"x", 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp__sig_verify(NULL, ZTP__SIG_ED25519, msg, 3,
				     (const uint8_t *)"x", 1),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp__sig_sign(NULL, &n, k_p256, ZTP__SIG_ECDSA_SHA256, msg, 3),
	    ZTP_EINVAL);
}
END_TEST

/* Raw (P1363) r||s of a DER ECDSA signature. */
static void der_to_p1363(uint8_t *out, size_t half, const uint8_t *der,
			 size_t len)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *ss;

	ck_assert_ptr_nonnull(s);
	ECDSA_SIG_get0(s, &r, &ss);
	ck_assert(BN_bn2binpad(r, out, (int)half) == (int)half);
	ck_assert(BN_bn2binpad(ss, out + half, (int)half) == (int)half);
	ECDSA_SIG_free(s);
}

START_TEST(test_sig_ecdsa_der_only)
{
	uint8_t *sig = NULL, raw[64], *ber;
	size_t n = 0;

	ck_assert_rc(ztp__sig_sign(&sig, &n, k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				   sizeof(msg)),
		     ZTP_OK);
	ck_assert_uint_eq(sig[0], 0x30);
	/* The same (r, s) as 64 raw bytes: refused. */
	der_to_p1363(raw, 32, sig, n);
	ck_assert_rc(ztp__sig_verify(k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				     sizeof(msg), raw, sizeof(raw)),
		     ZTP_EBADSIG);
	ck_assert_int_eq(ERR_peek_error(), 0);
	/* Trailing byte after valid DER. */
	ber = malloc(n + 2);
	memcpy(ber, sig, n);
	ber[n] = 0;
	ck_assert_rc(ztp__sig_verify(k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				     sizeof(msg), ber, n + 1),
		     ZTP_EBADSIG);
	/* BER long-form length for the SEQUENCE: same values, not DER. */
	ck_assert_uint_lt(sig[1], 0x80);
	ber[0] = 0x30;
	ber[1] = 0x81;
	ber[2] = sig[1];
	memcpy(ber + 3, sig + 2, n - 2);
	ck_assert_rc(ztp__sig_verify(k_p256, ZTP__SIG_ECDSA_SHA256, msg,
				     sizeof(msg), ber, n + 1),
		     ZTP_EBADSIG);
	assert_detail("not canonical DER");
	ck_assert_int_eq(ERR_peek_error(), 0);
	free(ber);
	ztp_free(sig);
}
END_TEST

/* RSA-PSS with an independent OpenSSL signer and salt length slen. */
static size_t pss_sign_raw(uint8_t *out, size_t cap, EVP_PKEY *k, int slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t n = cap;

	ck_assert(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, k) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ==
		  1);
	ck_assert(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, slen) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1);
	ck_assert(EVP_DigestSign(ctx, out, &n, msg, sizeof(msg)) == 1);
	EVP_MD_CTX_free(ctx);
	return n;
}

static int pss_verify_raw(EVP_PKEY *k, const uint8_t *sig, size_t n, int slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int v;

	ck_assert(EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, k) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ==
		  1);
	ck_assert(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, slen) == 1);
	ck_assert(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1);
	v = EVP_DigestVerify(ctx, sig, n, msg, sizeof(msg));
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return v;
}

START_TEST(test_sig_rsa_pss_salt)
{
	uint8_t raw[512], *sig = NULL;
	size_t n;

	/* Interoperates with another signer using salt length 32. */
	n = pss_sign_raw(raw, sizeof(raw), k_rsa, 32);
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PSS_SHA256, msg,
				     sizeof(msg), raw, n),
		     ZTP_OK);
	/* Other salt lengths are refused though the signature is valid. */
	n = pss_sign_raw(raw, sizeof(raw), k_rsa, 20);
	ck_assert_int_eq(pss_verify_raw(k_rsa, raw, n, 20), 1);
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PSS_SHA256, msg,
				     sizeof(msg), raw, n),
		     ZTP_EBADSIG);
	ck_assert_int_eq(ERR_peek_error(), 0);
	n = pss_sign_raw(raw, sizeof(raw), k_rsa, RSA_PSS_SALTLEN_MAX);
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PSS_SHA256, msg,
				     sizeof(msg), raw, n),
		     ZTP_EBADSIG);
	/* Our signatures use exactly 32. */
	ck_assert_rc(ztp__sig_sign(&sig, &n, k_rsa, ZTP__SIG_RSA_PSS_SHA256,
				   msg, sizeof(msg)),
		     ZTP_OK);
	ck_assert_int_eq(pss_verify_raw(k_rsa, sig, n, 32), 1);
	ck_assert_int_ne(pss_verify_raw(k_rsa, sig, n, 20), 1);
	/* PSS and PKCS#1 v1.5 are not interchangeable. */
	ck_assert_rc(ztp__sig_verify(k_rsa, ZTP__SIG_RSA_PKCS1_SHA256, msg,
				     sizeof(msg), sig, n),
		     ZTP_EBADSIG);
	ztp_free(sig);
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

/* RFC 8032 section 7.1, TEST 1: deterministic Ed25519 output. */
START_TEST(test_sig_ed25519_rfc8032)
{
	static const char sk_hex[] =
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char sig_hex[] =
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	uint8_t skb[32], want[64], *sig = NULL;
	size_t n;
	EVP_PKEY *k;

	ck_assert_rc(ztp__hex_decode(skb, sizeof(skb), &n, sk_hex, 64), ZTP_OK);
	ck_assert_rc(ztp__hex_decode(want, sizeof(want), &n, sig_hex, 128),
		     ZTP_OK);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, skb, 32);
	ck_assert_ptr_nonnull(k);
	ck_assert_rc(ztp__sig_sign(&sig, &n, k, ZTP__SIG_ED25519,
				   (const uint8_t *)"", 0),
		     ZTP_OK);
	ck_assert_uint_eq(n, 64);
	ck_assert(memcmp(sig, want, 64) == 0);
	ztp_free(sig);
	EVP_PKEY_free(k);
}
END_TEST

/* ------------------------------------------------------------------ Wycheproof
 */

static int hexbuf(uint8_t **out, size_t *len, const char *hex)
{
	size_t hl = strlen(hex);
	int rc;

	*out = malloc(hl / 2 + 1);
	ck_assert_ptr_nonnull(*out);
	rc = ztp__hex_decode(*out, hl / 2 + 1, len, hex, hl);
	return rc;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v) &&
			  json_object_is_type(v, json_type_string),
		      "vector field '%s' missing", key);
	return json_object_get_string(v);
}

/*
 * Run every test of one Wycheproof file through ztp__sig_verify. With
 * p1363_refused, every signature must be refused whatever its verdict in
 * the file: the protocol fixes DER for ECDSA (DESIGN.md section 4), and a
 * verifier that also took r||s would make each signature malleable between
 * two encodings.
 */
static void run_wycheproof(const char *file, ztp__sigalg alg,
			   bool p1363_refused)
{
	char *path, *text = NULL, name[128];
	size_t len = 0, ntests = 0, nvalid = 0, ninvalid = 0, i, j;
	json_object *root, *groups, *g, *tests, *t;
	json_tokener *tok;

	ck_assert((size_t)snprintf(name, sizeof(name), "wycheproof/%s", file) <
		  sizeof(name));
	path = ztp_test_vector(name);
	ck_assert_msg(ztp__file_read(&text, &len, path, 64u << 20) == ZTP_OK,
		      "%s: %s", path, ztp_error_last_message());
	tok = json_tokener_new_ex(64);
	root = json_tokener_parse_ex(tok, text, (int)len);
	ck_assert_msg(root != NULL, "%s: JSON does not parse", path);
	json_tokener_free(tok);
	ck_assert(json_object_object_get_ex(root, "testGroups", &groups));
	for (i = 0; i < json_object_array_length(groups); i++) {
		uint8_t *kder;
		size_t klen;
		const unsigned char *p;
		EVP_PKEY *key;

		g = json_object_array_get_idx(groups, i);
		ck_assert_rc(hexbuf(&kder, &klen, jstr(g, "publicKeyDer")),
			     ZTP_OK);
		p = kder;
		key = d2i_PUBKEY(NULL, &p, (long)klen);
		ck_assert_msg(key != NULL && p == kder + klen,
			      "%s: group %zu: publicKeyDer", file, i);
		ck_assert(json_object_object_get_ex(g, "tests", &tests));
		for (j = 0; j < json_object_array_length(tests); j++) {
			uint8_t *m, *s;
			size_t mlen, slen;
			const char *result;
			int tc, rc;

			t = json_object_array_get_idx(tests, j);
			tc = json_object_get_int(
			    json_object_object_get(t, "tcId"));
			result = jstr(t, "result");
			ck_assert_rc(hexbuf(&m, &mlen, jstr(t, "msg")), ZTP_OK);
			ck_assert_rc(hexbuf(&s, &slen, jstr(t, "sig")), ZTP_OK);
			rc = ztp__sig_verify(key, alg, m, mlen, s, slen);
			ck_assert_msg(rc == ZTP_OK || rc == ZTP_EBADSIG,
				      "%s tcId %d: unexpected code %d (%s)",
				      file, tc, rc, ztp_error_last_message());
			ck_assert_msg(ERR_peek_error() == 0,
				      "%s tcId %d: OpenSSL error left queued",
				      file, tc);
			if (p1363_refused) {
				ck_assert_msg(rc == ZTP_EBADSIG,
					      "%s tcId %d: raw r||s accepted",
					      file, tc);
			} else if (strcmp(result, "valid") == 0) {
				ck_assert_msg(rc == ZTP_OK,
					      "%s tcId %d: valid signature "
					      "refused: %s",
					      file, tc,
					      ztp_error_last_message());
				nvalid++;
			} else if (strcmp(result, "invalid") == 0) {
				ck_assert_msg(rc == ZTP_EBADSIG,
					      "%s tcId %d: invalid signature "
					      "accepted",
					      file, tc);
				ninvalid++;
			} else {
				ck_assert_str_eq(result, "acceptable");
			}
			ntests++;
			free(m);
			free(s);
		}
		EVP_PKEY_free(key);
		free(kder);
	}
	ck_assert_msg(ntests > 0, "%s: no test cases ran", file);
	if (!p1363_refused)
		ck_assert_msg(nvalid > 0 && ninvalid > 0,
			      "%s: %zu valid, %zu invalid", file, nvalid,
			      ninvalid);
	json_object_put(root);
	ztp_free(text);
	free(path);
}

START_TEST(test_wycheproof_ecdsa_p256)
{
	run_wycheproof("ecdsa_secp256r1_sha256_test.json",
		       ZTP__SIG_ECDSA_SHA256, false);
}
END_TEST

START_TEST(test_wycheproof_ecdsa_p256_p1363)
{
	run_wycheproof("ecdsa_secp256r1_sha256_p1363_test.json",
		       ZTP__SIG_ECDSA_SHA256, true);
}
END_TEST

START_TEST(test_wycheproof_ecdsa_p384)
{
	run_wycheproof("ecdsa_secp384r1_sha384_test.json",
		       ZTP__SIG_ECDSA_SHA384, false);
}
END_TEST

START_TEST(test_wycheproof_ed25519)
{
	run_wycheproof("ed25519_test.json", ZTP__SIG_ED25519, false);
}
END_TEST

START_TEST(test_wycheproof_rsa_pss)
{
	run_wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json",
		       ZTP__SIG_RSA_PSS_SHA256, false);
}
END_TEST

START_TEST(test_wycheproof_rsa_pkcs1)
{
	run_wycheproof("rsa_signature_2048_sha256_test.json",
		       ZTP__SIG_RSA_PKCS1_SHA256, false);
}
END_TEST

void crypto_tcases_sig(Suite *s)
{
	TCase *tc;

	tc = tcase_create("sigalg_for_key");
	tcase_add_test(tc, test_sigalg_for_key);
	suite_add_tcase(s, tc);
	tc = tcase_create("sig_sign_verify");
	tcase_add_test(tc, test_sig_roundtrip);
	tcase_add_test(tc, test_sig_ecdsa_der_only);
	tcase_add_test(tc, test_sig_rsa_pss_salt);
	tcase_add_test(tc, test_sig_ed25519_rfc8032);
	suite_add_tcase(s, tc);
	tc = tcase_create("wycheproof");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_wycheproof_ecdsa_p256);
	tcase_add_test(tc, test_wycheproof_ecdsa_p256_p1363);
	tcase_add_test(tc, test_wycheproof_ecdsa_p384);
	tcase_add_test(tc, test_wycheproof_ed25519);
	tcase_add_test(tc, test_wycheproof_rsa_pss);
	tcase_add_test(tc, test_wycheproof_rsa_pkcs1);
	suite_add_tcase(s, tc);
}
