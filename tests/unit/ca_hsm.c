/*
 * CA: keys in PKCS#11 tokens (real SoftHSM2 tokens). A root, an
 * intermediate and an issuing CA each in its own token, issuance and CRLs
 * signed by the token, issuance from many threads through one token, and
 * the refusals: wrong PIN, missing object, wrong token, missing module,
 * the token removed mid-run; in each, nothing is issued.
 */
#include "config.h"

#include "test_ca.h"

#include "core/keysrc.h"
#include "softhsm.h"

/* Tokens, made in main() before any test (ca_hsm_tokens): the module only
 * lists tokens that existed when the process first initialised it. */
static const char *const tokens[] = {"root",	"int",	"iss",	  "exist",
				     "threads", "gone", "refuse", "created"};

void ca_hsm_tokens(void)
{
	size_t i;

	ztp_test_softhsm_init();
	for (i = 0; i < ZTP__ARRAY_LEN(tokens); i++)
		ztp_test_softhsm_token(tokens[i]);
}

void ca_hsm_cleanup(void)
{
	ztp_test_softhsm_cleanup();
}

static char *uri(const char *token, const char *object)
{
	return ztp_test_p11_uri(token, object, NULL);
}

/* A CA handle on cert_pem and the token key key_uri, with store s. */
static ztp_ca *token_ca(const char *cert_pem, const char *key_uri,
			const char *chain, ztp_store *s)
{
	ztp_ca *c = NULL;

	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert_pem, key_uri, chain, ZTP_TEST_PIN),
		     ZTP_OK);
	if (s != NULL)
		ck_assert_rc(ztp_ca_set_store(c, s), ZTP_OK);
	return c;
}

static char *issue_op(ztp_ca *c, const char *device, int want)
{
	char *csr = csr_for("p256"), *cert = NULL;

	ck_assert_rc(ztp_ca_issue(c, &cert, csr, strlen(csr), device, NULL,
				  ZTP_CA_PROFILE_OPERATIONAL, 0),
		     want);
	free(csr);
	return cert;
}

static uint64_t count_of(ztp_store *s)
{
	uint64_t n = 0;

	ck_assert_rc(ztp_store_cert_count(s, &n), ZTP_OK);
	return n;
}

/* root -> intermediate -> issuing, every key generated in its own token;
 * a device certificate and a CRL from the issuing CA verify with OpenSSL. */
START_TEST(hsm_chain)
{
	char *ru = uri("root", "root-ca"), *iu = uri("int", "int-ca"),
	     *su = uri("iss", "device-ca");
	char *root = NULL, *inter = NULL, *iss = NULL, *leaf = NULL,
	     *crl = NULL, *untrusted, *serial;
	ztp_ca *r, *i, *d;
	ztp_store *s = NULL;
	X509 *x, *issx;
	X509_CRL *c;
	EVP_PKEY *pub;

	ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
	ck_assert_rc(
	    ztp_ca_create_root_key(&root, ru, ZTP_TEST_PIN, ZTP_CA_KEY_CREATE,
				   "/O=libztp/CN=Token Root", "ec-p384", 3650),
	    ZTP_OK);
	r = token_ca(root, ru, NULL, NULL);
	ck_assert_str_eq(ztp__ca_key_type(r), "ec-p384");
	ck_assert_rc(ztp_ca_create_sub_key(r, &inter, iu, ZTP_TEST_PIN,
					   ZTP_CA_KEY_CREATE,
					   "/O=libztp/CN=Token Intermediate",
					   "rsa-3072", 1825, 1),
		     ZTP_OK);
	i = token_ca(inter, iu, root, NULL);
	ck_assert_rc(
	    ztp_ca_create_sub_key(i, &iss, su, ZTP_TEST_PIN, ZTP_CA_KEY_CREATE,
				  "/O=libztp/CN=Token Device CA", NULL, 900, 0),
	    ZTP_OK);
	d = token_ca(iss, su, NULL, s);
	register_device(s, "dev-1");
	leaf = issue_op(d, "dev-1", ZTP_OK);
	untrusted = cat3(iss, inter, NULL);
	x = pem_x509(leaf);
	ck_assert_int_eq(verify_chain(x, root, untrusted, (int64_t)time(NULL)),
			 X509_V_OK);
	ck_assert_uint_eq(count_of(s), 1);

	/* The CRL is signed by the token too. */
	serial = serial_hex_of(x);
	ck_assert_rc(ztp_ca_revoke(d, serial, 1), ZTP_OK);
	free(serial);
	ck_assert_rc(ztp_ca_crl(d, &crl, 0), ZTP_OK);
	c = pem_crl(crl);
	issx = pem_x509(iss);
	pub = X509_get_pubkey(issx);
	ck_assert_int_eq(X509_CRL_verify(c, pub), 1);
	ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c)), 1);

	EVP_PKEY_free(pub);
	X509_free(issx);
	X509_CRL_free(c);
	X509_free(x);
	ztp_ca_free(r);
	ztp_ca_free(i);
	ztp_ca_free(d);
	ztp_store_free(s);
	ztp_free(root);
	ztp_free(inter);
	ztp_free(iss);
	ztp_free(leaf);
	ztp_free(crl);
	free(untrusted);
	free(ru);
	free(iu);
	free(su);
}
END_TEST

/* A key pair already in the token, and what create refuses. */
START_TEST(hsm_existing_key)
{
	char *u = uri("exist", "ca"), *cert = NULL, *key = NULL, *other = NULL;
	ztp_ca *c = NULL;

	ck_assert_rc(ztp__keysrc_generate(NULL, u, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	/* The name is taken: nothing is created. */
	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN,
					    ZTP_CA_KEY_CREATE, "/CN=X", NULL,
					    10),
		     ZTP_EEXISTS);
	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN, 0, "/CN=X",
					    "ec-p384", 10),
		     ZTP_EMISMATCH);
	ck_assert_ptr_null(cert);
	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN, 0,
					    "/CN=Existing", NULL, 10),
		     ZTP_OK);
	c = token_ca(cert, u, NULL, NULL);
	ztp_ca_free(c);
	ztp_free(cert);
	cert = NULL;

	/* A certificate of another key does not load with this one. */
	ck_assert_rc(ztp_ca_create_root(&other, &key, "/CN=Other", NULL, 10),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, other, u, NULL, ZTP_TEST_PIN),
		     ZTP_EMISMATCH);
	ztp_ca_free(c);
	/* Creating in a file is ztp_ca_create_root()'s business. */
	ck_assert_rc(ztp_ca_create_root_key(&cert, "/tmp/ca.pem", NULL,
					    ZTP_CA_KEY_CREATE, "/CN=X", NULL,
					    10),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN, 0x80,
					    "/CN=X", NULL, 10),
		     ZTP_EINVAL);
	ztp_free(cert);
	ztp_free(other);
	ztp__free_secret(key, strlen(key));
	free(u);
}
END_TEST

/* Each refusal at load is its own code, and the handle stays empty. */
START_TEST(hsm_refusals)
{
	char *u = uri("refuse", "ca"), *cert = NULL, *bad;
	ztp_ca *c = NULL;
	char *csr = csr_for("p256"), *out = NULL;

	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN,
					    ZTP_CA_KEY_CREATE, "/CN=Refusals",
					    NULL, 10),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, u, NULL, "9999"), ZTP_EPIN);
	bad = uri("refuse", "no-such-key");
	ck_assert_rc(ztp_ca_load(c, cert, bad, NULL, ZTP_TEST_PIN),
		     ZTP_ENOTFOUND);
	free(bad);
	bad = uri("no-such-token", "ca");
	ck_assert_rc(ztp_ca_load(c, cert, bad, NULL, ZTP_TEST_PIN), ZTP_ETOKEN);
	free(bad);
	ck_assert(asprintf(&bad,
			   "pkcs11:token=refuse;object=ca?module-path=/no/"
			   "such/module.so") > 0);
	ck_assert_rc(ztp_ca_load(c, cert, bad, NULL, ZTP_TEST_PIN), ZTP_ETOKEN);
	free(bad);
	ck_assert_rc(ztp_ca_load(c, cert, "pkcs11:token=refuse;bogus=1", NULL,
				 ZTP_TEST_PIN),
		     ZTP_EPARSE);
	/* Nothing loaded: nothing can be issued. */
	ck_assert_rc(ztp_ca_issue(c, &out, csr, strlen(csr), "dev-1", NULL,
				  ZTP_CA_PROFILE_FACTORY, 0),
		     ZTP_ESTATE);
	ck_assert_ptr_null(out);
	ztp_ca_free(c);
	ztp_free(cert);
	free(csr);
	free(u);
}
END_TEST

#define THREADS 8
#define PER_THREAD 20

struct worker {
	ztp_ca *ca;
	int id;
	int failures;
};

static void *issue_many(void *arg)
{
	struct worker *w = arg;
	char *csr = csr_for("p256");
	int n;

	for (n = 0; n < PER_THREAD; n++) {
		char *cert = NULL;

		if (ztp_ca_issue(w->ca, &cert, csr, strlen(csr), "dev-1", NULL,
				 ZTP_CA_PROFILE_OPERATIONAL, 0) != ZTP_OK)
			w->failures++;
		ztp_free(cert);
	}
	free(csr);
	return NULL;
}

/* Many verifier-like threads issuing through one token key at once. */
START_TEST(hsm_threads)
{
	char *u = uri("threads", "ca"), *cert = NULL;
	ztp_ca *c;
	ztp_store *s = NULL;
	pthread_t t[THREADS];
	struct worker w[THREADS];
	int i;

	ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
	register_device(s, "dev-1");
	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN,
					    ZTP_CA_KEY_CREATE, "/CN=Threads",
					    NULL, 10),
		     ZTP_OK);
	c = token_ca(cert, u, NULL, s);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){c, i, 0};
		ck_assert_int_eq(pthread_create(&t[i], NULL, issue_many, &w[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(w[i].failures, 0);
	}
	ck_assert_uint_eq(count_of(s), THREADS * PER_THREAD);
	ztp_ca_free(c);
	ztp_store_free(s);
	ztp_free(cert);
	free(u);
}
END_TEST

/* The token goes away under a loaded CA: issuance and CRLs fail with
 * ZTP_ETOKEN and record nothing. */
START_TEST(hsm_token_removed)
{
	char *u = uri("gone", "ca"), *cert = NULL, *leaf, *crl = NULL;
	ztp_ca *c;
	ztp_store *s = NULL;

	ck_assert_rc(ztp_store_open(&s, "memory:"), ZTP_OK);
	register_device(s, "dev-1");
	ck_assert_rc(ztp_ca_create_root_key(&cert, u, ZTP_TEST_PIN,
					    ZTP_CA_KEY_CREATE, "/CN=Gone", NULL,
					    10),
		     ZTP_OK);
	c = token_ca(cert, u, NULL, s);
	leaf = issue_op(c, "dev-1", ZTP_OK);
	ztp_free(leaf);
	ck_assert_uint_eq(count_of(s), 1);

	ztp_test_softhsm_delete_token("gone");
	leaf = issue_op(c, "dev-1", ZTP_ETOKEN);
	ck_assert_ptr_null(leaf);
	ck_assert_uint_eq(count_of(s), 1);
	ck_assert_rc(ztp_ca_crl(c, &crl, 0), ZTP_ETOKEN);
	ck_assert_ptr_null(crl);

	ztp_ca_free(c);
	ztp_store_free(s);
	ztp_free(cert);
	free(u);
}
END_TEST

/* A key generated for a CA that then cannot be made (its issuer's key is
 * gone from its token) is deleted again. */
START_TEST(hsm_created_key_dropped)
{
	char *iu = uri("created", "issuer"), *nu = uri("created", "sub"),
	     *cert = NULL, *sub = NULL;
	ztp_ca *c;
	EVP_PKEY *k = NULL;

	ck_assert_rc(ztp_ca_create_root_key(&cert, iu, ZTP_TEST_PIN,
					    ZTP_CA_KEY_CREATE, "/CN=Issuer",
					    NULL, 10),
		     ZTP_OK);
	c = token_ca(cert, iu, NULL, NULL);
	ck_assert_rc(ztp__keysrc_delete(iu, ZTP_TEST_PIN, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_create_sub_key(c, &sub, nu, ZTP_TEST_PIN,
					   ZTP_CA_KEY_CREATE, "/CN=Sub", NULL,
					   5, -1),
		     ZTP_ETOKEN);
	ck_assert_ptr_null(sub);
	ck_assert_rc(ztp__keysrc_load(&k, nu, ZTP_TEST_PIN, "key"),
		     ZTP_ENOTFOUND);
	ztp_ca_free(c);
	ztp_free(cert);
	free(iu);
	free(nu);
}
END_TEST

void ca_tcases_hsm(Suite *s)
{
	TCase *tc = tcase_create("hsm");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, hsm_chain);
	tcase_add_test(tc, hsm_existing_key);
	tcase_add_test(tc, hsm_refusals);
	tcase_add_test(tc, hsm_threads);
	tcase_add_test(tc, hsm_created_key_dropped);
	/* Last: under CK_FORK=no the module then holds an unreadable token,
	 * and libp11 lists no slot of a module while one cannot be read. */
	tcase_add_test(tc, hsm_token_removed);
	suite_add_tcase(s, tc);
}
