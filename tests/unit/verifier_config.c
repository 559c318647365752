/*
 * Verifier: configuration by setters and by file.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ config */

START_TEST(config_setters)
{
	ztp_verifier *w = NULL;

	ck_assert_rc(ztp_verifier_new(NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_bootstrap_lifetime(w, 59), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_bootstrap_lifetime(w, 86401), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_bootstrap_lifetime(w, 3600), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_clock_leeway(w, -1), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_challenge_ttl(w, 5), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_max_chain_depth(w, 9), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_key_policy(w, "ec-p256,rsa-1024"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_key_policy(w, "bogus"), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_max_request_size(w, 10), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "tenant", 1, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "device", -1, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "device", 1, 0),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_verifier_set_hmac_secret(w, (const uint8_t *)"short", 5),
	    ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_trust_anchors(w, "junk", 4), ZTP_EPARSE);
	ck_assert_rc(ztp_verifier_set_ca(w, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_store(NULL, NULL), ZTP_EINVAL);
	ztp_verifier_free(w);
	ztp_verifier_free(NULL);
}
END_TEST

START_TEST(config_not_configured)
{
	ztp_verifier *w = NULL;
	char *out = NULL;
	int st = 0;

	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(
	    ztp_verifier_handle(w, &st, &out, "bootstrap", "{}", 2, NULL, 0),
	    ZTP_OK);
	ck_assert_int_eq(st, 503);
	ck_assert_ptr_nonnull(strstr(out, "not_configured"));
	ztp_free(out);
	ck_assert_rc(ztp_verifier_check_cert(w, &out, factory_pem,
					     strlen(factory_pem), NULL, 0, 0),
		     ZTP_ESTATE);
	ck_assert_ptr_null(out);
	ztp_verifier_free(w);
}
END_TEST

START_TEST(config_file)
{
	char *dir = ztp_test_tmpdir(), *cpath, *cpem = NULL, *kpem = NULL;
	char *code = NULL, *body;
	ztp_verifier *w = NULL;
	json_object *r;
	int st;
	char *out = NULL;

	ck_assert_ptr_nonnull(dir);
	ck_assert_rc(ztp_ca_create_root(&cpem, &kpem, "/CN=File CA", NULL, 30),
		     ZTP_OK);
	write_file(dir, "roots.pem", root_pem);
	write_file(dir, "issuers.pem", iss_pem);
	write_file(dir, "ca.pem", cpem);
	write_file(dir, "ca.key", kpem);
	write_file(dir, "hmac.key", "0123456789abcdef0123456789abcdef!");
	write_file(dir, "short.key", "too short");
	write_file(
	    dir, "ztp.json",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"ca.pem\",\"key\":\"ca.key\"},"
	    "\"store\":\"sqlite:reg.db\",\"bootstrap_lifetime\":3600,"
	    "\"clock_leeway\":30,\"challenge_ttl\":120,"
	    "\"max_chain_depth\":2,"
	    "\"key_policy\":\"ec-p256,ed25519\","
	    "\"max_request_size\":32768,"
	    "\"rate_limits\":{\"device\":{\"rate\":0.5,\"burst\":3},"
	    "\"global\":{\"rate\":0}},"
	    "\"hmac_secret_file\":\"hmac.key\"}");
	cpath = ztp_test_path(dir, "ztp.json");
	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(ztp_verifier_load_config(w, cpath), ZTP_OK);
	ck_assert_rc(ztp_verifier_load_config(w, cpath), ZTP_ESTATE);
	ck_assert_int_eq(w->bootstrap_lifetime, 3600);
	ck_assert_int_eq(w->leeway, 30);
	ck_assert_int_eq(w->challenge_ttl, 120);
	ck_assert_int_eq(w->max_depth, 2);
	ck_assert_uint_eq(w->max_request, 32768);
	ck_assert(w->rl.dev_rate == 0.5 && w->rl.dev_burst == 3);
	ck_assert(w->rl.glob_rate == 0);
	ck_assert_uint_eq(w->secret_len, 33);
	ck_assert(!w->keypolicy.ec_p384);
	ck_assert_rc(ztp_verifier_enroll(w, &code, DEV, factory_pem,
					 strlen(factory_pem), NULL, NULL),
		     ZTP_OK);
	ztp_free(code);

	/* A full bootstrap through the file-configured handle. */
	{
		ztp_verifier *saved = v;

		v = w;
		body = build(&(breq){0});
		st = call("bootstrap", body, strlen(body), NULL, &r);
		ck_assert_msg(st == 200, "%s", json_object_to_json_string(r));
		json_object_put(r);
		free(body);
		v = saved;
	}
	ztp_verifier_free(w);
	free(cpath);

	/* Refused configurations. */
	static const char *const bad[] = {
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"bogus\":1}",
	    "{\"trust_anchors\":\"roots.pem\"}",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"clock_leeway\":\"60\"}",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"challenge_ttl\":100000}",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"hmac_secret_file\":\"short.key\"}",
	    "{\"trust_anchors\":\"missing.pem\",\"issuers\":\"issuers.pem\"}",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"rate_limits\":{\"device\":{\"rate\":1}}}",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"ca.pem\"}}",
	    "[1]",
	    "{\"trust_anchors\":\"roots.pem\",\"trust_anchors\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(dir, "bad.json", bad[i]);
		cpath = ztp_test_path(dir, "bad.json");
		ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
		ck_assert_msg(ztp_verifier_load_config(w, cpath) < 0,
			      "accepted: %s", bad[i]);
		ztp_verifier_free(w);
		free(cpath);
	}
	(void)out;
	ztp__free_secret(kpem, strlen(kpem));
	ztp_free(cpem);
	ztp_test_rmtree(dir);
	free(dir);
}
END_TEST

void verifier_tcases_config(Suite *s)
{
	TCase *tc;

	ADD("ztp_verifier_set", config_setters);
	ADD("ztp_verifier_set", config_not_configured);
	ADD("ztp_verifier_load_config", config_file);
}
