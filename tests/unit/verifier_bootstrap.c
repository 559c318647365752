/*
 * Verifier: the bootstrap happy paths and ztp_verifier_handle arguments.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ bootstrap:
 * happy paths */

static void check_issued(json_object *r, const char *id, EVP_PKEY *csr_key)
{
	json_object *c, *ch, *na;
	X509 *cert = NULL;
	char got[ZTP_ID_MAX + 1];
	int64_t t;

	ck_assert(json_object_object_get_ex(r, "certificate", &c));
	ck_assert(json_object_object_get_ex(r, "chain", &ch));
	ck_assert(json_object_object_get_ex(r, "not_after", &na));
	ck_assert_int_eq(json_object_array_length(ch), 1);
	ck_assert_rc(ztp__pem_cert(&cert, json_object_get_string(c),
				   (size_t)json_object_get_string_len(c)),
		     ZTP_OK);
	ck_assert_rc(ztp__cert_device_id(got, cert), ZTP_OK);
	ck_assert_str_eq(got, id);
	if (csr_key != NULL)
		ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(cert), csr_key),
				 1);
	ck_assert_rc(ztp__time_parse(&t, json_object_get_string(na)), ZTP_OK);
	ck_assert_int_eq(t, clk + DAY);
	X509_free(cert);
}

START_TEST(bootstrap_ok)
{
	EVP_PKEY *ck = vpki_key("ec-p256");
	json_object *r = expect_accept(&(breq){.csr_key = ck}, factory_pem);
	char *st = device_state(DEV), *json = NULL;

	check_issued(r, DEV, ck);
	ck_assert_str_eq(st, "bootstrapped");
	ck_assert_ptr_nonnull(strstr(last_event, "\"result\":\"accepted\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"serial\":\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"device_id\":\"dev-1\""));
	ck_assert_rc(ztp_store_event_list(store, 0, 100, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"accepted\""));
	ztp_free(json);
	free(st);
	json_object_put(r);
	/* A second bootstrap (new challenge) is allowed; state stays. */
	r = expect_accept(&(breq){0}, NULL);
	json_object_put(r);
	ck_assert_rc(ztp_verifier_stats(v, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"accepted\":4"));
	ck_assert_ptr_nonnull(strstr(json, "\"bootstraps\":2"));
	ztp_free(json);
	EVP_PKEY_free(ck);
}
END_TEST

START_TEST(bootstrap_key_types)
{
	static const char *const types[] = {"ec-p384", "ed25519", "rsa-2048"};
	char id[16], *code = NULL, *pem;

	for (size_t i = 0; i < 3; i++) {
		EVP_PKEY *k = vpki_key(types[i]), *ck = vpki_key(types[i]);
		X509 *c;
		json_object *r;

		snprintf(id, sizeof(id), "kt-%zu", i);
		c = vpki_leaf(id, k, issuing, ikey, T0 - DAY, T0 + DAY);
		pem = vpki_pem(c);
		ck_assert_rc(ztp_verifier_enroll(v, &code, id, pem, strlen(pem),
						 NULL, NULL),
			     ZTP_OK);
		ztp_free(code);
		r = expect_accept(&(breq){.device_id = id,
					  .cert = c,
					  .sign_key = k,
					  .csr_key = ck},
				  pem);
		check_issued(r, id, ck);
		json_object_put(r);
		free(pem);
		X509_free(c);
		EVP_PKEY_free(k);
		EVP_PKEY_free(ck);
	}
}
END_TEST

START_TEST(bootstrap_chain_hint)
{
	/* The device may send its issuing CA; an unconfigured issuer that
	 * the device sends is not trusted for that. */
	char chain[8192];
	json_object *r;
	json_object *s = json_object_new_string(iss_pem);

	snprintf(chain, sizeof(chain), "[%s]",
		 json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
	json_object_put(s);
	r = expect_accept(&(breq){.chain_json = chain}, NULL);
	json_object_put(r);
}
END_TEST

/* ------------------------------------------------------------------ challenge:
 * the server's time, when asked */

START_TEST(challenge_server_time)
{
	static const char *const bad[] = {
	    "{\"device_id\":\"dev-1\",\"server_time\":1}",
	    "{\"device_id\":\"dev-1\",\"server_time\":\"yes\"}",
	    "{\"device_id\":\"dev-1\",\"server_time\":null}",
	    "{\"device_id\":\"dev-1\",\"server_time\":true,"
	    "\"server_time\":true}",
	};
	const char *asked = "{\"device_id\":\"dev-1\",\"server_time\":true}";
	const char *declined =
	    "{\"device_id\":\"dev-1\",\"server_time\":false}";
	json_object *r, *t;
	int64_t got = 0;
	size_t i;

	/* Asked: RFC 3339 UTC to the second, the verifier's clock. */
	ck_assert_int_eq(call("challenge", asked, strlen(asked), NULL, &r),
			 200);
	ck_assert(json_object_object_get_ex(r, "server_time", &t));
	ck_assert_int_eq(json_object_get_string_len(t), 20);
	ck_assert_rc(ztp__time_parse(&got, json_object_get_string(t)), ZTP_OK);
	ck_assert_int_eq(got, clk);
	ck_assert_int_eq(json_object_object_length(r), 3);
	json_object_put(r);
	/* Not asked, or declined: the answer of a verifier before it. */
	ck_assert_int_eq(
	    call("challenge", declined, strlen(declined), NULL, &r), 200);
	ck_assert(!json_object_object_get_ex(r, "server_time", NULL));
	ck_assert_int_eq(json_object_object_length(r), 2);
	json_object_put(r);
	free(get_nonce(DEV));
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		ck_assert_int_eq(
		    call("challenge", bad[i], strlen(bad[i]), NULL, &r), 400);
		ck_assert_str_eq(err_code(r), "malformed_request");
		json_object_put(r);
	}
}
END_TEST

/* ------------------------------------------------------------------ arguments
 */

START_TEST(handle_arguments)
{
	char *out = NULL;
	int st = 0;

	ck_assert_rc(
	    ztp_verifier_handle(NULL, &st, &out, "challenge", "{}", 2, NULL, 0),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_verifier_handle(v, NULL, &out, "challenge", "{}", 2, NULL, 0),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_verifier_handle(v, &st, NULL, "challenge", "{}", 2, NULL, 0),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_handle(v, &st, &out, NULL, "{}", 2, NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_verifier_handle(v, &st, &out, "challenge", NULL, 2, NULL, 0),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_verifier_handle(v, &st, &out, "challenge", "{}", 2, NULL, 5),
	    ZTP_EINVAL);
	ck_assert_rc(
	    ztp_verifier_handle(v, &st, &out, "challenge", NULL, 0, NULL, 0),
	    ZTP_OK);
	ck_assert_int_eq(st, 400);
	ztp_free(out);
	ck_assert_rc(ztp_verifier_stats(NULL, &out), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_check_cert(v, NULL, NULL, 0, NULL, 0, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_enroll(v, &out, "a b", factory_pem,
					 strlen(factory_pem), NULL, NULL),
		     ZTP_EINVAL);
}
END_TEST

void verifier_tcases_bootstrap(Suite *s)
{
	TCase *tc;

	ADD("ztp_verifier_handle", handle_arguments);
	ADD("bootstrap", bootstrap_ok);
	ADD("bootstrap", bootstrap_key_types);
	ADD("bootstrap", bootstrap_chain_hint);
	ADD("challenge", challenge_server_time);
}
