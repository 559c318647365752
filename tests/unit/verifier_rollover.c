/*
 * Verifier: device-CA rollover. Certificates of the active device CA and
 * of the CAs still accepted pass the lifecycle endpoints, everything new is
 * issued by the active one, a retired CA's certificates are refused; the
 * trust bundle in credentials and assignment answers; the configuration
 * file's device_ca_previous and trust_bundle.
 */
#include "test_verifier.h"

#include <openssl/err.h>

/* A second device CA recording into the fixture's store; its certificate
 * PEM in *pem. */
static ztp_ca *new_device_ca(const char *subject, char **pem)
{
	char *kpem = NULL;
	ztp_ca *ca = NULL;

	ck_assert_rc(ztp_ca_create_root(pem, &kpem, subject, NULL, 3650),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&ca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(ca, *pem, kpem, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(ca, store), ZTP_OK);
	ck_assert_rc(ztp_ca_set_clock(ca, ztp_clock_fixed, &clk), ZTP_OK);
	ztp__free_secret(kpem, strlen(kpem));
	return ca;
}

static void fingerprint_hex(char out[65], const char *pem)
{
	X509 *c = NULL;
	uint8_t fp[32];

	ck_assert_rc(ztp__pem_cert(&c, pem, strlen(pem)), ZTP_OK);
	ck_assert_rc(ztp__cert_fingerprint(fp, c), ZTP_OK);
	ztp__hex_encode(out, fp, sizeof(fp));
	X509_free(c);
}

/* Whether the certificate PEM cert was signed by the CA of PEM ca. */
static bool signed_by(const char *cert, const char *ca)
{
	X509 *c = NULL, *a = NULL;
	bool ok;

	ck_assert_rc(ztp__pem_cert(&c, cert, strlen(cert)), ZTP_OK);
	ck_assert_rc(ztp__pem_cert(&a, ca, strlen(ca)), ZTP_OK);
	ok = X509_verify(c, X509_get0_pubkey(a)) == 1;
	ERR_clear_error();
	X509_free(c);
	X509_free(a);
	return ok;
}

/* The first "chain" entry of an answer (the issuing device CA). */
static bool chain_is(json_object *r, const char *ca)
{
	json_object *chain, *first;

	return json_object_object_get_ex(r, "chain", &chain) &&
	       json_object_array_length(chain) >= 1 &&
	       (first = json_object_array_get_idx(chain, 0)) != NULL &&
	       strcmp(json_object_get_string(first), ca) == 0;
}

START_TEST(rollover_accepts_and_retires)
{
	EVP_PKEY *k1 = vpki_key("ec-p256"), *k2 = vpki_key("ec-p256"),
		 *k3 = vpki_key("ec-p256");
	char *old_pem = NULL, *new_pem = NULL, *boot, *op_old, *op_new, *b2;
	char *body, fp_old[65];
	ztp_ca *dca2;
	json_object *r;

	/* The old CA's certificates, then the old CA's certificate. */
	op_old = registered_op(&boot, k1);
	ck_assert_rc(ztp_ca_cert_pem(dca, &old_pem), ZTP_OK);
	ck_assert(signed_by(op_old, old_pem));
	fingerprint_hex(fp_old, old_pem);

	/* A new active CA alone: the old CA's certificates are strangers. */
	dca2 = new_device_ca("/CN=Device CA 2", &new_pem);
	ck_assert_rc(ztp_verifier_set_ca(v, dca2), ZTP_OK);
	body = csr_body(k2);
	expect_code(lcall("credentials", body, op_old, &r), &r, 401,
		    "untrusted_certificate");
	expect_code(lcall("credentials", body, boot, &r), &r, 401,
		    "untrusted_certificate");

	/* Still accepted: both of its certificates pass, and what is issued
	 * comes from the active CA, with its chain. */
	ck_assert_rc(ztp_verifier_add_device_ca(v, old_pem, strlen(old_pem)),
		     ZTP_OK);
	ck_assert_int_eq(lcall("credentials", body, op_old, &r), 200);
	op_new = cert_of(r);
	ck_assert(chain_is(r, new_pem));
	json_object_put(r);
	ck_assert(signed_by(op_new, new_pem));
	ck_assert(!signed_by(op_new, old_pem));
	free(body);
	body = csr_body(k3);
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	json_object_put(r);
	/* A new bootstrap certificate too. */
	b2 = bootstrap_cert();
	ck_assert(signed_by(b2, new_pem));

	/* Retired: the old CA's certificates are refused, even though they
	 * are on record, unrevoked and within their validity; the new
	 * ones keep working. */
	ck_assert_rc(ztp_verifier_retire_device_ca(v, fp_old), ZTP_OK);
	ck_assert_rc(ztp_verifier_retire_device_ca(v, fp_old), ZTP_ENOTFOUND);
	expect_code(lcall("credentials", body, op_old, &r), &r, 401,
		    "untrusted_certificate");
	expect_code(lcall("register", REG, boot, &r), &r, 401,
		    "untrusted_certificate");
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"), ZTP_OK);
	ck_assert_int_eq(lcall("assignment", "{}", op_new, &r), 200);
	json_object_put(r);

	free(body);
	free(b2);
	free(op_new);
	free(op_old);
	free(boot);
	ztp_free(old_pem);
	ztp_free(new_pem);
	/* The verifier borrows dca2: forget it first. */
	ck_assert_rc(ztp_verifier_set_ca(v, dca), ZTP_OK);
	ztp_ca_free(dca2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}
END_TEST

START_TEST(rollover_refused)
{
	char *active = NULL, *pems[ZTP_DEVICE_CAS_MAX + 1], fp[65];
	ztp_ca *tmp;

	ck_assert_rc(ztp_ca_cert_pem(dca, &active), ZTP_OK);
	ck_assert_rc(ztp_verifier_add_device_ca(v, active, strlen(active)),
		     ZTP_EEXISTS);
	ck_assert_rc(
	    ztp_verifier_add_device_ca(v, factory_pem, strlen(factory_pem)),
	    ZTP_EPROFILE);
	ck_assert_rc(ztp_verifier_add_device_ca(v, "junk", 4), ZTP_EPARSE);
	ck_assert_rc(ztp_verifier_add_device_ca(NULL, active, strlen(active)),
		     ZTP_EINVAL);
	fingerprint_hex(fp, active);
	ck_assert_rc(ztp_verifier_retire_device_ca(v, fp), ZTP_ESTATE);
	ck_assert_rc(ztp_verifier_retire_device_ca(v, "abc"), ZTP_EINVAL);
	fp[0] = 'g';
	ck_assert_rc(ztp_verifier_retire_device_ca(v, fp), ZTP_EINVAL);
	for (int i = 0; i <= ZTP_DEVICE_CAS_MAX; i++) {
		tmp = new_device_ca("/CN=Old", &pems[i]);
		ztp_ca_free(tmp);
	}
	for (int i = 0; i < ZTP_DEVICE_CAS_MAX; i++)
		ck_assert_rc(
		    ztp_verifier_add_device_ca(v, pems[i], strlen(pems[i])),
		    ZTP_OK);
	ck_assert_rc(ztp_verifier_add_device_ca(v, pems[0], strlen(pems[0])),
		     ZTP_EEXISTS);
	ck_assert_rc(
	    ztp_verifier_add_device_ca(v, pems[ZTP_DEVICE_CAS_MAX],
				       strlen(pems[ZTP_DEVICE_CAS_MAX])),
	    ZTP_ETOOBIG);
	/* A retirement makes room. */
	fingerprint_hex(fp, pems[3]);
	ck_assert_rc(ztp_verifier_retire_device_ca(v, fp), ZTP_OK);
	ck_assert_rc(
	    ztp_verifier_add_device_ca(v, pems[ZTP_DEVICE_CAS_MAX],
				       strlen(pems[ZTP_DEVICE_CAS_MAX])),
	    ZTP_OK);
	for (int i = 0; i <= ZTP_DEVICE_CAS_MAX; i++)
		ztp_free(pems[i]);
	ztp_free(active);
}
END_TEST

static const char *bundle_member(json_object *r, size_t i)
{
	json_object *b;

	if (!json_object_object_get_ex(r, "trust_bundle", &b) ||
	    !json_object_is_type(b, json_type_array) ||
	    json_object_array_length(b) <= i)
		return NULL;
	return json_object_get_string(json_object_array_get_idx(b, i));
}

START_TEST(trust_bundle_in_answers)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	char *boot, *op, *body = csr_body(k), *bundle, *a = NULL, *b = NULL;
	ztp_ca *tmp;
	json_object *r, *o;

	op = registered_op(&boot, k);
	/* none configured: no member */
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	ck_assert(!json_object_object_get_ex(r, "trust_bundle", NULL));
	json_object_put(r);

	tmp = new_device_ca("/CN=Server CA 1", &a);
	ztp_ca_free(tmp);
	tmp = new_device_ca("/CN=Server CA 2", &b);
	ztp_ca_free(tmp);
	bundle = malloc(strlen(a) + strlen(b) + 2);
	ck_assert_ptr_nonnull(bundle);
	sprintf(bundle, "%s\n%s", a, b);
	ck_assert_rc(ztp_verifier_set_trust_bundle(v, bundle, strlen(bundle)),
		     ZTP_OK);
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	ck_assert_str_eq(bundle_member(r, 0), a);
	ck_assert_str_eq(bundle_member(r, 1), b);
	ck_assert_ptr_null(bundle_member(r, 2));
	free(op);
	op = cert_of(r);
	json_object_put(r);
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"), ZTP_OK);
	ck_assert_int_eq(lcall("assignment", "{}", op, &r), 200);
	ck_assert_str_eq(bundle_member(r, 0), a);
	json_object_put(r);

	/* Refused bundles leave the configured one. */
	ck_assert_rc(
	    ztp_verifier_set_trust_bundle(v, factory_pem, strlen(factory_pem)),
	    ZTP_EPROFILE);
	ck_assert_rc(ztp_verifier_set_trust_bundle(v, "x", 1), ZTP_EPARSE);
	ck_assert_int_eq(lcall("assignment", "{}", op, &r), 200);
	ck_assert(json_object_object_get_ex(r, "trust_bundle", &o));
	json_object_put(r);
	/* removed */
	ck_assert_rc(ztp_verifier_set_trust_bundle(v, NULL, 0), ZTP_OK);
	ck_assert_int_eq(lcall("assignment", "{}", op, &r), 200);
	ck_assert(!json_object_object_get_ex(r, "trust_bundle", NULL));
	json_object_put(r);

	free(bundle);
	ztp_free(a);
	ztp_free(b);
	free(op);
	free(boot);
	free(body);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(rollover_config)
{
	char *dir = ztp_test_tmpdir(), *cpath, *newp = NULL, *newk = NULL;
	char *oldp = NULL;
	ztp_verifier *w = NULL;
	ztp_ca *tmp;

	ck_assert_ptr_nonnull(dir);
	ck_assert_rc(ztp_ca_create_root(&newp, &newk, "/CN=New CA", NULL, 30),
		     ZTP_OK);
	tmp = new_device_ca("/CN=Old CA", &oldp);
	ztp_ca_free(tmp);
	write_file(dir, "roots.pem", root_pem);
	write_file(dir, "issuers.pem", iss_pem);
	write_file(dir, "new.pem", newp);
	write_file(dir, "new.key", newk);
	write_file(dir, "old.pem", oldp);
	write_file(
	    dir, "ztp.json",
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"new.pem\",\"key\":\"new.key\"},"
	    "\"device_ca_previous\":[\"old.pem\"],"
	    "\"trust_bundle\":\"old.pem\"}");
	cpath = ztp_test_path(dir, "ztp.json");
	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(ztp_verifier_load_config(w, cpath), ZTP_OK);
	ck_assert_int_eq(sk_X509_num(w->device_cas), 1);
	ck_assert_uint_eq(json_object_array_length(w->trust_bundle), 1);
	ck_assert_str_eq(json_object_get_string(
			     json_object_array_get_idx(w->trust_bundle, 0)),
			 oldp);
	ztp_verifier_free(w);
	free(cpath);

	static const char *const bad[] = {
	    /* not an array */
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"new.pem\",\"key\":\"new.key\"},"
	    "\"device_ca_previous\":\"old.pem\"}",
	    /* without device_ca */
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca_previous\":[\"old.pem\"]}",
	    /* the active CA again */
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"new.pem\",\"key\":\"new.key\"},"
	    "\"device_ca_previous\":[\"new.pem\"]}",
	    /* a key is no certificate */
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"new.pem\",\"key\":\"new.key\"},"
	    "\"trust_bundle\":\"new.key\"}",
	    /* a missing file */
	    "{\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\","
	    "\"device_ca\":{\"cert\":\"new.pem\",\"key\":\"new.key\"},"
	    "\"device_ca_previous\":[\"gone.pem\"]}",
	};
	for (size_t i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		write_file(dir, "bad.json", bad[i]);
		cpath = ztp_test_path(dir, "bad.json");
		ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
		ck_assert_msg(ztp_verifier_load_config(w, cpath) < 0,
			      "accepted: %s", bad[i]);
		ztp_verifier_free(w);
		free(cpath);
	}
	ztp__free_secret(newk, strlen(newk));
	ztp_free(newp);
	ztp_free(oldp);
	ztp_test_rmtree(dir);
	free(dir);
}
END_TEST

void verifier_tcases_rollover(Suite *s)
{
	TCase *tc;

	ADD("rollover_accepts_and_retires", rollover_accepts_and_retires);
	ADD("rollover_refused", rollover_refused);
	ADD("trust_bundle_in_answers", trust_bundle_in_answers);
	ADD("rollover_config", rollover_config);
}
