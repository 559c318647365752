/*
 * Verifier: the lifecycle endpoints, rotation overlap, the CRL file,
 * re-enrollment, factory keys in operational requests.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ lifecycle
 * endpoints */

START_TEST(lifecycle)
{
	EVP_PKEY *k2 = vpki_key("ec-p256"), *k3 = vpki_key("ed25519"),
		 *k4 = vpki_key("ec-p384");
	char *boot = bootstrap_cert(), *op1, *op2, *op3, *body, *st;
	json_object *r, *o;
	X509 *c = NULL;
	char tenant[ZTP_ID_MAX + 1];

	/* register: needs the bootstrap certificate. */
	expect_code(lcall("register", REG, NULL, &r), &r, 401,
		    "peer_certificate_required");
	expect_code(lcall("register", REG, factory_pem, &r), &r, 401,
		    "untrusted_certificate");
	expect_code(lcall("register",
			  "{\"device_type\":\"a b\","
			  "\"firmware_version\":\"1\","
			  "\"capabilities\":[]}",
			  boot, &r),
		    &r, 400, "malformed_request");
	body = csr_body(k2);
	expect_code(lcall("credentials", body, boot, &r), &r, 409,
		    "device_state");
	ck_assert_int_eq(lcall("register", REG, boot, &r), 200);
	ck_assert(json_object_object_get_ex(r, "state", &o));
	ck_assert_str_eq(json_object_get_string(o), "registered");
	json_object_put(r);
	st = device_state(DEV);
	ck_assert_str_eq(st, "registered");
	free(st);

	/* credentials before activation: no tenant. */
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	ck_assert(json_object_object_get_ex(r, "tenant", &o) && o == NULL);
	op1 = cert_of(r);
	json_object_put(r);
	free(body);
	expect_code(lcall("register", REG, op1, &r), &r, 403,
		    "certificate_not_allowed");
	expect_code(lcall("assignment", NULL, boot, &r), &r, 403,
		    "certificate_not_allowed");
	expect_code(lcall("assignment", NULL, op1, &r), &r, 409,
		    "device_state");

	/* Activation, then a tenant-bound certificate and assignment. */
	ck_assert_rc(ztp_verifier_claim(v, DEV, dev1_code, "acme"), ZTP_OK);
	ck_assert_int_eq(lcall("assignment", "{}", op1, &r), 200);
	ck_assert(json_object_object_get_ex(r, "tenant", &o));
	ck_assert_str_eq(json_object_get_string(o), "acme");
	ck_assert(json_object_object_get_ex(r, "namespace", &o));
	ck_assert_str_eq(json_object_get_string(o),
			 "tenants/acme/devices/dev-1/");
	ck_assert(json_object_object_get_ex(r, "policy", &o) &&
		  json_object_is_type(o, json_type_object));
	json_object_put(r);
	body = csr_body(k3);
	ck_assert_int_eq(lcall("credentials", body, op1, &r), 200);
	op2 = cert_of(r);
	ck_assert(json_object_object_get_ex(r, "tenant", &o));
	ck_assert_str_eq(json_object_get_string(o), "acme");
	json_object_put(r);
	free(body);
	ck_assert_rc(ztp__pem_cert(&c, op2, strlen(op2)), ZTP_OK);
	ck_assert_rc(ztp__cert_san_id(tenant, c, ZTP_URN_TENANT), ZTP_OK);
	ck_assert_str_eq(tenant, "acme");
	X509_free(c);

	/* rotate: operational only, fresh key, same identity. */
	body = csr_body(k3);
	expect_code(lcall("rotate", body, op2, &r), &r, 400, "csr_key_reused");
	expect_code(lcall("rotate", body, boot, &r), &r, 403,
		    "certificate_not_allowed");
	free(body);
	body = csr_body(k4);
	ck_assert_int_eq(lcall("rotate", body, op2, &r), 200);
	op3 = cert_of(r);
	json_object_put(r);
	/* The superseded certificates stay valid for the overlap (24 h by
	 * default), whether or not the device uses its new one... */
	ck_assert_int_eq(lcall("assignment", NULL, op3, &r), 200);
	json_object_put(r);
	clk = T0 + DAY - 1;
	ck_assert_int_eq(lcall("assignment", NULL, op2, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(lcall("assignment", NULL, op1, &r), 200);
	json_object_put(r);
	ck_assert_uint_eq(count_revoked(DEV, NULL), 0);
	/* ...then they are refused and revoked as superseded, dated the
	 * end of the overlap. */
	clk = T0 + DAY;
	expect_code(lcall("assignment", NULL, op2, &r), &r, 403,
		    "certificate_revoked");
	ck_assert_uint_eq(count_revoked(DEV, "4"), 2);
	expect_code(lcall("assignment", NULL, op1, &r), &r, 403,
		    "certificate_revoked");
	ck_assert_int_eq(lcall("assignment", NULL, op3, &r), 200);
	json_object_put(r);
	clk = T0;

	/* Expired certificates are refused (leeway 60 s). */
	clk = T0 + 366 * DAY;
	expect_code(lcall("rotate", body, op3, &r), &r, 401,
		    "certificate_expired");
	clk = T0;
	free(body);

	/* Reprovisioning to another tenant: the old certificates are
	 * revoked, and nothing ever names acme again. */
	{
		char *code = NULL, *boot2, *op4;

		ck_assert_rc(ztp_verifier_reset(v, &code, DEV), ZTP_OK);
		expect_code(lcall("assignment", NULL, op3, &r), &r, 403,
			    "certificate_revoked");
		boot2 = bootstrap_cert();
		ck_assert_int_eq(lcall("register", REG, boot2, &r), 200);
		json_object_put(r);
		ck_assert_rc(ztp_verifier_claim(v, DEV, code, "globex"),
			     ZTP_OK);
		body = csr_body(k2);
		ck_assert_int_eq(lcall("credentials", body, boot2, &r), 200);
		op4 = cert_of(r);
		ck_assert(json_object_object_get_ex(r, "tenant", &o));
		ck_assert_str_eq(json_object_get_string(o), "globex");
		json_object_put(r);
		ck_assert_rc(ztp__pem_cert(&c, op4, strlen(op4)), ZTP_OK);
		ck_assert_rc(ztp__cert_san_id(tenant, c, ZTP_URN_TENANT),
			     ZTP_OK);
		ck_assert_str_eq(tenant, "globex");
		X509_free(c);
		/* Blocked: every call refused. */
		ck_assert_rc(ztp_verifier_revoke(v, DEV), ZTP_OK);
		expect_code(lcall("credentials", body, op4, &r), &r, 403,
			    "certificate_revoked");
		/* The CRL lists the revoked certificates. */
		ck_assert_int_eq(lcall("crl", NULL, NULL, &r), 200);
		ck_assert(json_object_object_get_ex(r, "crl", &o));
		ck_assert_ptr_nonnull(strstr(json_object_get_string(o),
					     "-----BEGIN X509 CRL-----"));
		json_object_put(r);
		expect_code(lcall("crl", "{\"x\":1}", NULL, &r), &r, 400,
			    "malformed_request");
		free(body);
		free(op4);
		free(boot2);
		ztp__free_secret(code, strlen(code));
	}
	free(boot);
	free(op1);
	free(op2);
	free(op3);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(k4);
}
END_TEST

START_TEST(rotation_overlap)
{
	EVP_PKEY *k1 = vpki_key("ec-p256"), *k2 = vpki_key("ec-p256"),
		 *k3 = vpki_key("ec-p256");
	char *boot, *op1 = registered_op(&boot, k1), *op2, *op3, *body;
	ztp_verifier *v2 = NULL;
	uint64_t n = 99;
	json_object *r;

	ck_assert_rc(ztp_verifier_set_rotation_overlap(NULL, 10), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_rotation_overlap(v, -1), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_rotation_overlap(v, 31 * DAY),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_rotation_overlap(v, 3600), ZTP_OK);
	ck_assert_rc(ztp_verifier_maintain(NULL, &n), ZTP_EINVAL);
	body = csr_body(k2);
	ck_assert_int_eq(lcall("rotate", body, op1, &r), 200);
	op2 = cert_of(r);
	json_object_put(r);
	free(body);

	/* Nothing falls due before the overlap ends. */
	clk = T0 + 3599;
	ck_assert_rc(ztp_verifier_maintain(v, &n), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(count_revoked(DEV, NULL), 0);

	/* A verifier that did not issue the certificate (a restart, another
	 * instance) finds the device through the event log. */
	clk = T0 + 3600;
	ck_assert_rc(ztp_verifier_new(&v2), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_store(v2, store), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_clock(v2, ztp_clock_fixed, &clk), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rotation_overlap(v2, 3600), ZTP_OK);
	ck_assert_rc(ztp_verifier_maintain(v2, &n), ZTP_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(count_revoked(DEV, "4"), 1);
	ck_assert_rc(ztp_verifier_maintain(v2, &n), ZTP_OK);
	ck_assert_uint_eq(n, 0);
	ztp_verifier_free(v2);
	body = csr_body(k3);
	expect_code(lcall("rotate", body, op1, &r), &r, 403,
		    "certificate_revoked");

	/* Past its overlap a superseded certificate is refused at
	 * authentication, before any maintenance ran. */
	ck_assert_int_eq(lcall("rotate", body, op2, &r), 200);
	op3 = cert_of(r);
	json_object_put(r);
	ck_assert_rc(ztp_verifier_set_rotation_overlap(v, 0), ZTP_OK);
	ck_assert_uint_eq(count_revoked(DEV, NULL), 1);
	expect_code(lcall("rotate", body, op2, &r), &r, 403,
		    "certificate_revoked");
	ck_assert_uint_eq(count_revoked(DEV, "4"), 2);
	free(body);

	/* The crl endpoint revokes what fell due before it signs. */
	body = csr_body(k1);
	ck_assert_int_eq(lcall("rotate", body, op3, &r), 200);
	json_object_put(r);
	free(body);
	ck_assert_int_eq(lcall("crl", NULL, NULL, &r), 200);
	json_object_put(r);
	ck_assert_uint_eq(count_revoked(DEV, "4"), 3);

	free(boot);
	free(op1);
	free(op2);
	free(op3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}
END_TEST

/* The CRL file: its number, and whether it lists serial (hex). */
static long crl_file_number(const char *path, const char *serial)
{
	BIO *b = BIO_new_file(path, "r");
	X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
	ASN1_INTEGER *num, *want;
	X509_REVOKED *rev = NULL;
	BIGNUM *bn = NULL;
	char *capem = NULL;
	X509 *ca;
	long n;

	BIO_free(b);
	ck_assert_msg(crl != NULL, "%s: no CRL", path);
	ck_assert_rc(ztp_ca_cert_pem(dca, &capem), ZTP_OK);
	b = BIO_new_mem_buf(capem, -1);
	ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ztp_free(capem);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	X509_free(ca);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ck_assert_ptr_nonnull(num);
	n = ASN1_INTEGER_get(num);
	if (serial != NULL) {
		ck_assert_int_gt(BN_hex2bn(&bn, serial), 0);
		want = BN_to_ASN1_INTEGER(bn, NULL);
		ck_assert_msg(X509_CRL_get0_by_serial(crl, &rev, want) == 1,
			      "%s does not list %s", path, serial);
		ASN1_INTEGER_free(want);
		BN_free(bn);
	}
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return n;
}

static char *serial_of_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn), *out = strdup(hex);

	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	BIO_free(b);
	return out;
}

START_TEST(crl_file)
{
	EVP_PKEY *k1 = vpki_key("ec-p256"), *k2 = vpki_key("ec-p256");
	char *boot, *op1 = registered_op(&boot, k1), *op2, *body, *st;
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "crl.pem");
	char *lock = ztp_test_path(dir, "crl.pem.lock"), *code = NULL;
	char *s1 = serial_of_pem(op1), *sb = serial_of_pem(boot), *s2;
	struct stat sb_st;
	long n1, n2, n3;
	json_object *r;
	uint64_t nrev;

	ck_assert_rc(ztp_verifier_set_crl_file(NULL, path), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_crl_file(v, ""), ZTP_EINVAL);
	ck_assert_rc(ztp_verifier_set_crl_file(v, path), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rotation_overlap(v, 0), ZTP_OK);

	/* A superseded certificate revoked on its device's request. */
	body = csr_body(k2);
	ck_assert_int_eq(lcall("rotate", body, op1, &r), 200);
	op2 = cert_of(r);
	json_object_put(r);
	free(body);
	s2 = serial_of_pem(op2);
	ck_assert_int_ne(stat(path, &sb_st), 0); /* nothing revoked yet */
	body = csr_body(k1);
	clk += 1;
	ck_assert_int_eq(lcall("rotate", body, op2, &r), 200);
	json_object_put(r);
	free(body);
	n1 = crl_file_number(path, s1);
	ck_assert_int_eq(stat(path, &sb_st), 0);
	ck_assert_uint_eq(sb_st.st_mode & 0777, 0644);
	ck_assert_int_eq(stat(lock, &sb_st), 0);

	/* Reset, then revoke: each rewrites it, numbers only grow. */
	ck_assert_rc(ztp_verifier_reset(v, &code, DEV), ZTP_OK);
	ztp__free_secret(code, strlen(code));
	code = NULL;
	n2 = crl_file_number(path, sb);
	ck_assert_int_gt(n2, n1);
	ck_assert_rc(ztp_verifier_revoke(v, DEV), ZTP_OK);
	n3 = crl_file_number(path, s2);
	ck_assert_int_gt(n3, n2);
	/* maintain renews it without a revocation. */
	ck_assert_rc(ztp_verifier_maintain(v, &nrev), ZTP_OK);
	ck_assert_int_gt(crl_file_number(path, NULL), n3);

	/* A file that cannot be written fails the call; the revocation is
	 * recorded all the same. */
	free(path);
	path = ztp_test_path(dir, "missing/crl.pem");
	ck_assert_rc(ztp_verifier_set_crl_file(v, path), ZTP_OK);
	code = enroll_dev3();
	ztp__free_secret(code, strlen(code));
	code = NULL;
	ck_assert_rc(ztp_verifier_revoke(v, "dev-3"), ZTP_EIO);
	st = device_state("dev-3");
	ck_assert_str_eq(st, "revoked");
	free(st);
	ck_assert_rc(ztp_verifier_set_crl_file(v, NULL), ZTP_OK);
	ck_assert_rc(ztp_verifier_revoke(v, "dev-3"), ZTP_OK);

	ztp_test_rmtree(dir);
	free(dir);
	free(path);
	free(lock);
	free(s1);
	free(s2);
	free(sb);
	free(boot);
	free(op1);
	free(op2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}
END_TEST

START_TEST(lifecycle_rate_limit)
{
	char *boot = bootstrap_cert();
	json_object *r;

	ck_assert_rc(ztp_verifier_set_rate_limit(v, "lifecycle", 1, 2), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "lifecycle", 1, 0),
		     ZTP_EINVAL);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(lcall("register", REG, boot, &r), 200);
		json_object_put(r);
	}
	ck_assert_int_eq(lcall("register", REG, boot, &r), 429);
	ck_assert_str_eq(err_code(r), "rate_limited");
	json_object_put(r);
	/* Bucket per device: a request without a device certificate is not
	 * charged to it, and time refills it. */
	expect_code(lcall("register", REG, factory_pem, &r), &r, 401,
		    "untrusted_certificate");
	clk += 1;
	ck_assert_int_eq(lcall("register", REG, boot, &r), 200);
	json_object_put(r);
	free(boot);
}
END_TEST

START_TEST(enroll_again)
{
	char *code = NULL, *other = NULL, hex[65];
	uint8_t fp[32];
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c = vpki_leaf("dev-9", k, issuing, ikey, T0 - DAY, T0 + DAY);
	X509 *c2 = vpki_leaf("dev-9", k, issuing, ikey, T0 - DAY, T0 + 2 * DAY);
	char *pem = vpki_pem(c), *pem2 = vpki_pem(c2);

	/* An enrollment that stopped after recording the device, before
	 * its claim code: repeating it completes it. */
	ck_assert_rc(ztp__cert_fingerprint(fp, c), ZTP_OK);
	ztp__hex_encode(hex, fp, sizeof(fp));
	ck_assert_rc(ztp_store_device_add(store, "dev-9", hex, "m", "b", T0),
		     ZTP_OK);
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-9", pem2, strlen(pem2),
					 NULL, NULL),
		     ZTP_EEXISTS);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "another"));
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-9", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_OK);
	/* With a code pending, a second one is refused (that is reset's
	 * job), and the first one still works. */
	ck_assert_rc(ztp_verifier_enroll(v, &other, "dev-9", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_EEXISTS);
	ck_assert_ptr_null(other);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "reset"));
	ck_assert_rc(ztp_verifier_claim(v, "dev-9", code, "acme"), ZTP_OK);
	ck_assert_rc(ztp_verifier_enroll(v, &other, "dev-9", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_EEXISTS);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "reset"));
	ztp__free_secret(code, strlen(code));
	free(pem);
	free(pem2);
	X509_free(c);
	X509_free(c2);
	EVP_PKEY_free(k);
}
END_TEST

/* ------------------------------------------------------------------ keys
 * An operational CSR must not carry the factory key: it would then also
 * be an operational key. */

START_TEST(credentials_factory_key)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	char *boot = NULL, *op, *body = csr_body(fkey);
	uint64_t n;
	json_object *r;

	op = registered_op(&boot, k);
	n = cert_count();
	expect_code(lcall("credentials", body, boot, &r), &r, 400,
		    "csr_key_reused");
	expect_code(lcall("credentials", body, op, &r), &r, 400,
		    "csr_key_reused");
	expect_code(lcall("rotate", body, op, &r), &r, 400, "csr_key_reused");
	ck_assert_uint_eq(cert_count(), n);
	free(body);
	free(op);
	free(boot);
	EVP_PKEY_free(k);
}
END_TEST

/* A device recorded without its factory key (enrolled by an older
 * library, or straight into the store): its bootstrap records the key. */
START_TEST(credentials_factory_key_learned)
{
	EVP_PKEY *k = vpki_key("ec-p256"), *k3 = vpki_key("ec-p256");
	X509 *c = vpki_leaf("dev-3", k3, issuing, ikey, T0 - DAY, T0 + DAY);
	char *body = csr_body(k3), hex[65], *boot, *json = NULL;
	uint8_t fp[32];
	uint64_t n;
	json_object *r;

	ck_assert_rc(ztp__cert_fingerprint(fp, c), ZTP_OK);
	ztp__hex_encode(hex, fp, sizeof(fp));
	ck_assert_rc(ztp_store_device_add(store, "dev-3", hex, NULL, NULL, T0),
		     ZTP_OK);
	r = expect_accept(
	    &(breq){.device_id = "dev-3", .cert = c, .sign_key = k3}, NULL);
	boot = cert_of(r);
	json_object_put(r);
	ck_assert_rc(ztp_store_device_get(store, "dev-3", &json), ZTP_OK);
	ck_assert_ptr_null(strstr(json, "\"factory_key\":null"));
	ztp_free(json);
	ck_assert_int_eq(lcall("register", REG, boot, &r), 200);
	json_object_put(r);
	n = cert_count();
	expect_code(lcall("credentials", body, boot, &r), &r, 400,
		    "csr_key_reused");
	ck_assert_uint_eq(cert_count(), n);
	free(body);
	body = csr_body(k);
	ck_assert_int_eq(lcall("credentials", body, boot, &r), 200);
	json_object_put(r);
	free(body);
	free(boot);
	X509_free(c);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k3);
}
END_TEST

void verifier_tcases_lifecycle(Suite *s)
{
	TCase *tc;

	ADD("lifecycle", lifecycle);
	ADD("ztp_verifier_maintain", rotation_overlap);
	ADD("ztp_verifier_set_crl_file", crl_file);
	ADD("lifecycle", lifecycle_rate_limit);
	ADD("ztp_verifier_enroll", enroll_again);
	ADD("credentials_factory_key", credentials_factory_key);
	ADD("credentials_factory_key", credentials_factory_key_learned);
}
