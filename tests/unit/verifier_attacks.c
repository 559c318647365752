/*
 * Verifier: bootstrap attacks: identity and chain, proof of possession and
 * replay (also from concurrent threads), CSR and key policy, input parsing.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ bootstrap:
 * identity and chain */

START_TEST(attack_identity)
{
	EVP_PKEY *ok = vpki_key("ec-p256"), *oik = vpki_key("ec-p256"),
		 *ek = vpki_key("ec-p256"), *k = vpki_key("ec-p256");
	X509 *oroot =
	    vpki_ca("Other Root", ok, NULL, NULL, T0 - DAY, T0 + DAY * 30);
	X509 *oiss =
	    vpki_ca("Other Issuing", oik, oroot, ok, T0 - DAY, T0 + DAY * 30);
	X509 *other = vpki_leaf(DEV, fkey, oiss, oik, T0 - DAY, T0 + DAY);
	char *fake = vpki_pem2(oiss, oroot);
	json_object *fa = json_object_new_array();
	vpki_cert_opts eo = {.cn = "dev-evil",
			     .bc = "critical,CA:TRUE",
			     .ku = "critical,digitalSignature,keyCertSign",
			     .eku = "clientAuth",
			     .not_before = T0 - DAY,
			     .not_after = T0 + DAY};
	X509 *evil = vpki_cert(&eo, ek, issuing, ikey);
	X509 *forged = vpki_leaf(DEV, fkey, evil, ek, T0 - DAY, T0 + DAY);
	json_object *ea = json_object_new_array();
	char *evil_pem = vpki_pem(evil), *oiss_pem = vpki_pem(oiss),
	     *oroot_pem = vpki_pem(oroot);
	vpki_cert_opts o = {.cn = DEV,
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = T0 - DAY,
			    .not_after = T0 + DAY};
	X509 *c;

	(void)fake;
	json_object_array_add(fa, json_object_new_string(oiss_pem));
	json_object_array_add(fa, json_object_new_string(oroot_pem));
	json_object_array_add(ea, json_object_new_string(evil_pem));

	/* Untrusted root; the same with the fake root sent by the device. */
	expect_reject(&(breq){.cert = other}, NULL, 401,
		      "untrusted_certificate");
	expect_reject(&(breq){.cert = other,
			      .chain_json = json_object_to_json_string(fa)},
		      NULL, 401, "untrusted_certificate");
	/* Forged by another device's (wrongly CA:TRUE) certificate. */
	expect_reject(&(breq){.cert = forged,
			      .chain_json = json_object_to_json_string(ea)},
		      NULL, 401, "issuer_not_allowed");

	/* Leaf profiles: all signed by the genuine issuing CA with the
	 * enrolled key, so only the profile is wrong. */
#define BAD(field, value)                                                      \
	do {                                                                   \
		vpki_cert_opts p = o;                                          \
		p.field = value;                                               \
		c = vpki_cert(&p, fkey, issuing, ikey);                        \
		expect_reject(&(breq){.cert = c}, NULL, 401,                   \
			      "bad_certificate_profile");                      \
		X509_free(c);                                                  \
	} while (0)
	BAD(bc, "critical,CA:TRUE");
	BAD(bc, NULL);
	BAD(ku, NULL);
	BAD(eku, NULL);
	BAD(eku, "serverAuth");
	BAD(eku, "anyExtendedKeyUsage");
	BAD(san, "URI:urn:ztp:device:dev-2");
#undef BAD

	/* The certificate of dev-2 used to bootstrap dev-1, and vice versa
	 * with dev-2's challenge. */
	expect_reject(&(breq){.cert = factory2, .sign_key = f2key}, NULL, 401,
		      "device_mismatch");
	/* Unknown device: a valid certificate, never enrolled. */
	c = vpki_leaf("dev-3", k, issuing, ikey, T0 - DAY, T0 + DAY);
	expect_reject(&(breq){.device_id = "dev-3", .cert = c, .sign_key = k},
		      NULL, 404, "unknown_device");
	X509_free(c);
	/* Fingerprint mismatch: a valid dev-1 certificate that is not the
	 * enrolled one. */
	c = vpki_leaf(DEV, k, issuing, ikey, T0 - DAY, T0 + DAY);
	expect_reject(&(breq){.cert = c, .sign_key = k}, NULL, 401,
		      "fingerprint_mismatch");
	X509_free(c);
	/* The same certificate in other PEM text (CRLF line ends) is the
	 * same peer certificate. */
	{
		char *crlf = malloc(2 * strlen(factory_pem) + 1), *w = crlf;
		json_object *r;

		for (const char *p = factory_pem; *p; p++) {
			if (*p == '\n')
				*w++ = '\r';
			*w++ = *p;
		}
		*w = '\0';
		r = expect_accept(&(breq){0}, crlf);
		json_object_put(r);
		free(crlf);
	}
	/* The TLS peer certificate is another one. */
	expect_reject(&(breq){0}, factory2_pem, 401,
		      "peer_certificate_mismatch");
	expect_reject(&(breq){0}, "not a certificate", 401,
		      "peer_certificate_mismatch");

	json_object_put(fa);
	json_object_put(ea);
	X509_free(oroot);
	X509_free(oiss);
	X509_free(other);
	X509_free(evil);
	X509_free(forged);
	free(fake);
	free(evil_pem);
	free(oiss_pem);
	free(oroot_pem);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(oik);
	EVP_PKEY_free(ek);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(attack_blocked_device)
{
	ck_assert_rc(
	    ztp_store_device_set_state(store, DEV, NULL, "revoked", NULL),
	    ZTP_OK);
	expect_reject(&(breq){0}, NULL, 403, "device_blocked");
	ck_assert_ptr_nonnull(strstr(last_event, "device_blocked"));
}
END_TEST

START_TEST(attack_revoked_factory_cert)
{
	/* A factory certificate recorded in the store and revoked there. */
	char serial[64];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(factory), NULL);
	char *hex = BN_bn2hex(bn), *p = hex;
	uint8_t fp[32];
	char fph[65];
	size_t i;

	while (*p == '0')
		p++;
	for (i = 0; p[i] && i < sizeof(serial) - 1; i++)
		serial[i] =
		    (char)((p[i] >= 'A' && p[i] <= 'F') ? p[i] + 32 : p[i]);
	serial[i] = '\0';
	ck_assert_rc(ztp__cert_fingerprint(fp, factory), ZTP_OK);
	ztp__hex_encode(fph, fp, 32);
	ck_assert_rc(ztp_store_cert_add(store, serial, DEV, "factory", T0 - DAY,
					T0 + 365 * DAY, fph),
		     ZTP_OK);
	ck_assert_rc(ztp_store_cert_revoke(store, serial, 1, T0), ZTP_OK);
	expect_reject(&(breq){0}, NULL, 403, "certificate_revoked");
	OPENSSL_free(hex);
	BN_free(bn);
}
END_TEST

START_TEST(attack_validity_boundaries)
{
	/* dev-1's certificate expires at T0+5000; dev-2's starts at
	 * T0+1000: both re-enrolled under fresh IDs. */
	EVP_PKEY *k1 = vpki_key("ec-p256"), *k2 = vpki_key("ec-p256");
	X509 *late =
	    vpki_leaf("dev-late", k1, issuing, ikey, T0 + 1000, T0 + DAY);
	X509 *soon =
	    vpki_leaf("dev-soon", k2, issuing, ikey, T0 - DAY, T0 + 5000);
	char *code = NULL, *pem;
	json_object *r;

	pem = vpki_pem(late);
	clk = T0 + 1000;
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-late", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_OK);
	ztp_free(code);
	free(pem);
	pem = vpki_pem(soon);
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-soon", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_OK);
	ztp_free(code);
	free(pem);

	clk = T0 + 1000 - 61;
	expect_reject(
	    &(breq){.device_id = "dev-late", .cert = late, .sign_key = k1},
	    NULL, 401, "certificate_expired");
	clk = T0 + 1000 - 60;
	r = expect_accept(
	    &(breq){.device_id = "dev-late", .cert = late, .sign_key = k1},
	    NULL);
	json_object_put(r);
	clk = T0 + 5000 + 61;
	expect_reject(
	    &(breq){.device_id = "dev-soon", .cert = soon, .sign_key = k2},
	    NULL, 401, "certificate_expired");
	clk = T0 + 5000 + 60;
	r = expect_accept(
	    &(breq){.device_id = "dev-soon", .cert = soon, .sign_key = k2},
	    NULL);
	json_object_put(r);
	X509_free(late);
	X509_free(soon);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}
END_TEST

/* ------------------------------------------------------------------ bootstrap:
 * proof of possession and replay */

START_TEST(attack_pop)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	char *n1 = get_nonce(DEV), *n2 = get_nonce(DEV),
	     *n3 = get_nonce("dev-2");
	char *body;
	json_object *r;

	expect_reject(&(breq){.sign_key = k}, NULL, 401, "bad_signature");
	expect_reject(&(breq){.sign_key = f2key}, NULL, 401, "bad_signature");
	expect_reject(&(breq){.nonce = n1, .sign_nonce = n2}, NULL, 401,
		      "bad_signature");
	expect_reject(&(breq){.sign_device = "dev-2"}, NULL, 401,
		      "bad_signature");
	expect_reject(&(breq){.sign_other_csr = true}, NULL, 401,
		      "bad_signature");
	expect_reject(&(breq){.signature = "AAAA"}, NULL, 401, "bad_signature");
	expect_reject(&(breq){.signature = "not base64!"}, NULL, 400,
		      "malformed_request");
	/* Another device's challenge. */
	expect_reject(&(breq){.nonce = n3}, NULL, 401, "challenge_invalid");
	/* Forged tokens: one character changed, wrong length, random. */
	n1[10] = n1[10] == 'A' ? 'B' : 'A';
	expect_reject(&(breq){.nonce = n1}, NULL, 401, "challenge_invalid");
	expect_reject(&(breq){.nonce = "abc"}, NULL, 401, "challenge_invalid");
	memset(n2, 'A', strlen(n2));
	expect_reject(&(breq){.nonce = n2}, NULL, 401, "challenge_invalid");
	/* A challenge from a verifier with another secret. */
	{
		ztp_verifier *saved = v, *w = NULL;
		char *n4;

		ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
		v = w;
		n4 = get_nonce(DEV);
		v = saved;
		expect_reject(&(breq){.nonce = n4}, NULL, 401,
			      "challenge_invalid");
		free(n4);
		ztp_verifier_free(w);
	}

	/* Replay: the same accepted request again. */
	body = build(&(breq){0});
	ck_assert_int_eq(call("bootstrap", body, strlen(body), NULL, &r), 200);
	json_object_put(r);
	expect_reject_body(body, strlen(body), NULL, 409, "challenge_replayed");
	free(body);
	free(n1);
	free(n2);
	free(n3);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(attack_challenge_expiry)
{
	char *n = get_nonce(DEV);
	json_object *r;

	/* TTL 300 + leeway 60. */
	clk = T0 + 361;
	expect_reject(&(breq){.nonce = n}, NULL, 401, "challenge_expired");
	clk = T0 + 360;
	r = expect_accept(&(breq){.nonce = n}, NULL);
	json_object_put(r);
	/* Issued in the future (a clock far behind the issuer's). */
	clk = T0 + 1000;
	free(n);
	n = get_nonce(DEV);
	clk = T0 + 1000 - 61;
	expect_reject(&(breq){.nonce = n}, NULL, 401, "challenge_expired");
	free(n);
}
END_TEST

START_TEST(challenge_endpoint)
{
	json_object *r;
	char *n = get_nonce(DEV);

	/* 65 bytes in unpadded base64url. */
	ck_assert_uint_eq(strlen(n), 87);
	ck_assert_ptr_null(strpbrk(n, "+/="));
	free(n);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"a/b\"}", 19, NULL, &r), 400);
	ck_assert_str_eq(err_code(r), "malformed_request");
	json_object_put(r);
	ck_assert_int_eq(call("challenge", "{\"device_id\":\"dev-1\",\"x\":1}",
			      27, NULL, &r),
			 400);
	json_object_put(r);
	/* A peer certificate must name the device asking. */
	ck_assert_int_eq(call("challenge", "{\"device_id\":\"dev-1\"}", 21,
			      factory2_pem, &r),
			 401);
	ck_assert_str_eq(err_code(r), "peer_certificate_mismatch");
	json_object_put(r);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, factory_pem, &r),
	    200);
	json_object_put(r);
	/* Any syntactically valid device gets a challenge: no registry
	 * lookup, so the endpoint does not reveal which devices exist. */
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"nobody\"}", 22, NULL, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(call("nope", "{}", 2, NULL, &r), 404);
	ck_assert_str_eq(err_code(r), "unknown_endpoint");
	json_object_put(r);
}
END_TEST

/* ------------------------------------------------------------------ bootstrap:
 * CSR and key policy */

static char *csr_with_bad_sig(void)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509_REQ *r = vpki_csr(k, NULL);
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(r, &der);
	const unsigned char *p;
	X509_REQ *bad;
	char *pem;

	/* Flip a bit inside the signature value (the DER ends with it). */
	der[n - 3] ^= 0x01;
	p = der;
	bad = d2i_X509_REQ(NULL, &p, n);
	ck_assert_ptr_nonnull(bad);
	pem = vpki_csr_pem(bad);
	X509_REQ_free(bad);
	X509_REQ_free(r);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return pem;
}

START_TEST(attack_csr)
{
	EVP_PKEY *rsa = vpki_key("rsa-1024"), *p224 = vpki_key("ec-p224");
	char *bad = csr_with_bad_sig(), *junk;
	X509_REQ *r = vpki_csr(fkey, NULL);
	char *same = vpki_csr_pem(r);

	expect_reject(&(breq){.csr_pem = bad}, NULL, 400, "bad_csr");
	expect_reject(&(breq){.csr_key = rsa}, NULL, 400, "key_policy");
	expect_reject(&(breq){.csr_key = p224}, NULL, 400, "key_policy");
	expect_reject(&(breq){.csr_key = fkey}, NULL, 400, "csr_key_reused");
	{
		/* The factory key again, its point encoded compressed. */
		EVP_PKEY *c = EVP_PKEY_dup(fkey);

		ck_assert_int_eq(EVP_PKEY_set_utf8_string_param(
				     c, "point-format", "compressed"),
				 1);
		expect_reject(&(breq){.csr_key = c}, NULL, 400,
			      "csr_key_reused");
		EVP_PKEY_free(c);
	}
	expect_reject(&(breq){.csr_pem =
				  "-----BEGIN CERTIFICATE REQUEST-----\n"
				  "AAAA\n-----END CERTIFICATE REQUEST-----\n"},
		      NULL, 400, "bad_csr");
	junk = malloc(strlen(same) + 8);
	strcpy(junk, same);
	strcat(junk, "garbage");
	expect_reject(&(breq){.csr_pem = junk}, NULL, 400, "bad_csr");
	free(junk);
	/* A stricter policy refuses what the default accepts. */
	ck_assert_rc(ztp_verifier_set_key_policy(v, "ed25519"), ZTP_OK);
	expect_reject(&(breq){0}, NULL, 400, "key_policy");
	free(bad);
	free(same);
	X509_REQ_free(r);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p224);
}
END_TEST

/* ------------------------------------------------------------------ bootstrap:
 * input parsing */

START_TEST(attack_input)
{
	char *good = build(&(breq){0}), *big, *deep, *p;
	size_t n;
	json_object *o;

	/* Oversized body. */
	n = 70000;
	big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "{\"device_id\":\"dev-1\"}", 21);
	big[n] = '\0';
	expect_reject_body(big, n, NULL, 413, "request_too_large");
	free(big);
	/* Deep nesting. */
	deep = malloc(2 * 200 + 64);
	p = deep;
	p += sprintf(p, "{\"device_id\":");
	for (int i = 0; i < 200; i++)
		*p++ = '[';
	for (int i = 0; i < 200; i++)
		*p++ = ']';
	strcpy(p, "}");
	expect_reject_body(deep, strlen(deep), NULL, 400, "malformed_request");
	free(deep);

#define RAW(s)                                                                 \
	expect_reject_body(s, sizeof(s) - 1, NULL, 400, "malformed_request")
	RAW("");
	RAW("null");
	RAW("[]");
	RAW("{\"device_id\":\"dev-1\",\"device_id\":\"dev-1\"}");
	RAW("{\"device_id\":\"dev-\xff\"}");
	RAW("{\"device_id\":\"dev-1\\u0000\"}");
	RAW("{\"device_id\":5}");
	RAW("{\"device_id\":\"dev-1\"}");
	RAW("{\"device_id\":\"dev-1\",}");
	RAW("{\"device_id\":\"dev 1\"}");
	RAW("{\"device_id\":\"dev-1\"} trailing");
#undef RAW
	/* Each field of an otherwise good request: wrong type, missing,
	 * unknown extra field. */
	static const char *const fields[] = {"nonce", "csr", "factory_cert",
					     "signature"};
	for (size_t i = 0; i < 4; i++) {
		char *s;

		o = json_tokener_parse(good);
		json_object_object_add(o, fields[i], json_object_new_int(1));
		s = strdup(
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		expect_reject_body(s, strlen(s), NULL, 400,
				   "malformed_request");
		free(s);
		json_object_object_del(o, fields[i]);
		s = strdup(
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		expect_reject_body(s, strlen(s), NULL, 400,
				   "malformed_request");
		free(s);
		json_object_put(o);
	}
	o = json_tokener_parse(good);
	json_object_object_add(o, "tenant", json_object_new_string("acme"));
	p = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	expect_reject_body(p, strlen(p), NULL, 400, "malformed_request");
	free(p);
	json_object_put(o);
	/* Trailing garbage after the factory certificate PEM; two PEMs. */
	{
		char *junk = malloc(strlen(factory_pem) + 8), *two;

		strcpy(junk, factory_pem);
		strcat(junk, "garbage");
		expect_reject(&(breq){.cert_pem = junk}, NULL, 400,
			      "malformed_request");
		two = vpki_pem2(factory, issuing);
		expect_reject(&(breq){.cert_pem = two}, NULL, 400,
			      "malformed_request");
		free(two);
		free(junk);
	}
	/* factory_chain: not an array, a non-string, too many. */
	expect_reject(&(breq){.chain_json = "{}"}, NULL, 400,
		      "malformed_request");
	expect_reject(&(breq){.chain_json = "[1]"}, NULL, 400,
		      "malformed_request");
	expect_reject(&(breq){.chain_json = "[\"x\",\"x\",\"x\",\"x\",\"x\","
					    "\"x\",\"x\",\"x\",\"x\"]"},
		      NULL, 400, "malformed_request");
	free(good);
}
END_TEST

/* ------------------------------------------------------------------ threads */

#define NTHREADS 4

typedef struct th_arg {
	const char *body;
	int status;
} th_arg;

static void *th_bootstrap(void *p)
{
	th_arg *a = p;
	char *out = NULL;

	if (ztp_verifier_handle(v, &a->status, &out, "bootstrap", a->body,
				strlen(a->body), NULL, 0) != ZTP_OK)
		a->status = -1;
	ztp_free(out);
	return NULL;
}

START_TEST(concurrent_replay)
{
	char *body = build(&(breq){0});
	pthread_t t[NTHREADS];
	th_arg a[NTHREADS];
	int ok = 0, replayed = 0;
	uint64_t before = cert_count();

	for (int i = 0; i < NTHREADS; i++) {
		a[i].body = body;
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, th_bootstrap, &a[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		ok += a[i].status == 200;
		replayed += a[i].status == 409;
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(replayed, NTHREADS - 1);
	ck_assert_uint_eq(cert_count(), before + 1);
	free(body);
}
END_TEST

void verifier_tcases_attacks(Suite *s)
{
	TCase *tc;

	ADD("challenge", challenge_endpoint);
	ADD("identity", attack_identity);
	ADD("identity", attack_blocked_device);
	ADD("identity", attack_revoked_factory_cert);
	ADD("identity", attack_validity_boundaries);
	ADD("possession", attack_pop);
	ADD("possession", attack_challenge_expiry);
	ADD("possession", concurrent_replay);
	ADD("csr", attack_csr);
	ADD("input", attack_input);
}
