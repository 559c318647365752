/*
 * Key sources (libztp/core/keysrc.c, pkcs11.c): the pkcs11: URI parser,
 * PEM files, and keys in real SoftHSM2 tokens: generation, lookup,
 * signing from many threads, deletion, and every refusal (wrong PIN,
 * missing object, wrong token, missing module, token removed mid-run).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "core/keysrc.h"
#include "softhsm.h"
#include "testutil.h"

/* ------------------------------------------------------------ URI parser */

static int parse(ztp__p11_uri *u, const char *s)
{
	return ztp__p11_uri_parse(u, s, strlen(s));
}

START_TEST(uri_full)
{
	ztp__p11_uri u;

	ck_assert_rc(parse(&u, "PKCS11:token=CA%20one;object=root;id=%01%00%ff;"
			       "type=private;manufacturer=SoftHSM%20project;"
			       "model=SoftHSM%20v2;serial=abc;x-vendor=1"
			       "?pin-value=1234&module-path=/usr/lib/m.so"),
		     ZTP_OK);
	ck_assert_str_eq(u.token, "CA one");
	ck_assert_str_eq(u.object, "root");
	ck_assert_uint_eq(u.id_len, 3);
	ck_assert(memcmp(u.id, "\x01\x00\xff", 3) == 0);
	ck_assert_int_eq(u.type, ZTP__P11_TYPE_PRIVATE);
	ck_assert_str_eq(u.manufacturer, "SoftHSM project");
	ck_assert_str_eq(u.model, "SoftHSM v2");
	ck_assert_str_eq(u.serial, "abc");
	ck_assert_str_eq(u.pin_value, "1234");
	ck_assert_str_eq(u.module_path, "/usr/lib/m.so");
	ztp__p11_uri_free(&u);

	ck_assert_rc(parse(&u, "pkcs11:"), ZTP_OK);
	ck_assert_ptr_null(u.token);
	ztp__p11_uri_free(&u);
	ck_assert_rc(parse(&u, "pkcs11:?pin-source=file:/p"), ZTP_OK);
	ck_assert_str_eq(u.pin_source, "file:/p");
	ztp__p11_uri_free(&u);
}
END_TEST

static const struct {
	const char *uri;
	int rc;
} bad_uris[] = {
    {"pkcs12:token=a", ZTP_EPARSE},
    {"pkcs11:tokn=a", ZTP_EPARSE},
    {"pkcs11:token=a;token=b", ZTP_EPARSE},
    {"pkcs11:token=a;;object=b", ZTP_EPARSE},
    {"pkcs11:;token=a", ZTP_EPARSE},
    {"pkcs11:token=a;", ZTP_EPARSE},
    {"pkcs11:token=a?", ZTP_EPARSE},
    {"pkcs11:token=a?pin-value=1&", ZTP_EPARSE},
    {"pkcs11:token", ZTP_EPARSE},
    {"pkcs11:=a", ZTP_EPARSE},
    {"pkcs11:token=%4", ZTP_EPARSE},
    {"pkcs11:token=%zz", ZTP_EPARSE},
    {"pkcs11:token=a%00b", ZTP_EPARSE},
    {"pkcs11:token=a b", ZTP_EPARSE},
    {"pkcs11:token=\xc3\xa9", ZTP_EPARSE},
    {"pkcs11:id=", ZTP_EPARSE},
    {"pkcs11:type=key", ZTP_EPARSE},
    {"pkcs11:pin-value=1", ZTP_EPARSE},
    {"pkcs11:?token=a", ZTP_EPARSE},
    {"pkcs11:token=a?object=b", ZTP_EPARSE},
    {"pkcs11:token=a?module-name=softhsm2", ZTP_EUNSUPPORTED},
    {"pkcs11:library-version=1.0", ZTP_EUNSUPPORTED},
    {"pkcs11:token=0123456789012345678901234567890123", ZTP_ETOOBIG},
    {"pkcs11:serial=01234567890123456", ZTP_ETOOBIG},
};

START_TEST(uri_refused)
{
	ztp__p11_uri u;
	int rc = parse(&u, bad_uris[_i].uri);

	ck_assert_msg(rc == bad_uris[_i].rc, "%s: got %d (%s), want %d",
		      bad_uris[_i].uri, rc, ztp_error_last_message(),
		      bad_uris[_i].rc);
	ck_assert_ptr_null(u.token);
	ck_assert_ptr_null(u.object);
}
END_TEST

START_TEST(uri_limits)
{
	ztp__p11_uri u;
	size_t n = ZTP__P11_URI_MAX + 1, i;
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, "pkcs11:object=", 14);
	for (i = 14; i < n; i++)
		s[i] = 'a';
	s[n] = '\0';
	ck_assert_rc(ztp__p11_uri_parse(&u, s, n), ZTP_ETOOBIG);
	/* The whole URI within its limit, one value over its own. */
	ck_assert_rc(ztp__p11_uri_parse(&u, s, 14 + ZTP__P11_VALUE_MAX + 1),
		     ZTP_ETOOBIG);
	ck_assert_rc(ztp__p11_uri_parse(&u, s, 14 + ZTP__P11_VALUE_MAX),
		     ZTP_OK);
	ck_assert_uint_eq(strlen(u.object), ZTP__P11_VALUE_MAX);
	ztp__p11_uri_free(&u);
	free(s);
}
END_TEST

/* ------------------------------------------------------------ file keys */

START_TEST(file_sources)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "k.pem");
	char *pem = NULL, src[4200];
	EVP_PKEY *k = NULL, *back = NULL;
	FILE *f;

	ck_assert_rc(ztp__key_generate(&k, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__privkey_to_pem(&pem, k, "secret"), ZTP_OK);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(pem, f);
	fclose(f);

	ck_assert_rc(ztp__keysrc_load(&back, path, "secret", "key"), ZTP_OK);
	ck_assert_int_eq(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	snprintf(src, sizeof(src), "file:%s", path);
	ck_assert_rc(ztp__keysrc_load(&back, src, "secret", "key"), ZTP_OK);
	EVP_PKEY_free(back);
	snprintf(src, sizeof(src), "file://%s", path);
	ck_assert_rc(ztp__keysrc_load(&back, src, "secret", "key"), ZTP_OK);
	EVP_PKEY_free(back);
	ck_assert_rc(ztp__keysrc_load(&back, "file://host/k", NULL, "key"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp__keysrc_load(&back, "", NULL, "key"), ZTP_EINVAL);
	ck_assert_rc(ztp__keysrc_load(&back, "file:", NULL, "key"), ZTP_EINVAL);
	ck_assert_rc(ztp__keysrc_load(&back, path, "wrong", "key"),
		     ZTP_ECRYPTO);
	ck_assert_ptr_null(back);
	ck_assert(!ztp__keysrc_is_pkcs11(path));
	ck_assert(ztp__keysrc_is_pkcs11("Pkcs11:token=x"));

	ztp__free_secret(pem, strlen(pem));
	EVP_PKEY_free(k);
	free(path);
	ztp_test_rmtree(dir);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------ tokens */

/* A signature by key verifies under its public half, recovered by DER. */
static void signs(EVP_PKEY *key)
{
	static const uint8_t msg[] = "transcript";
	ztp__sigalg alg;
	uint8_t *sig = NULL, *der = NULL;
	size_t siglen = 0;
	int derlen;
	const uint8_t *p;
	EVP_PKEY *pub;

	derlen = i2d_PUBKEY(key, &der);
	ck_assert_int_gt(derlen, 0);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, derlen);
	ck_assert_ptr_nonnull(pub);
	ck_assert_rc(ztp__sigalg_for_key(&alg, key), ZTP_OK);
	ck_assert_rc(ztp__sig_sign(&sig, &siglen, key, alg, msg, sizeof(msg)),
		     ZTP_OK);
	ck_assert_rc(ztp__sig_verify(pub, alg, msg, sizeof(msg), sig, siglen),
		     ZTP_OK);
	free(sig);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
}

static const char *const gen_types[] = {"ec-p256", "ec-p384", "rsa-2048"};
static const char *const gen_tokens[] = {"gen-p256", "gen-p384", "gen-rsa"};

START_TEST(token_generate_load_sign)
{
	const char *tok = gen_tokens[_i];
	char *uri, *pinned;
	EVP_PKEY *gen = NULL, *k = NULL;
	char type[32];

	uri = ztp_test_p11_uri(tok, "ca", NULL);
	pinned = ztp_test_p11_uri(tok, "ca", "pin-value=" ZTP_TEST_PIN);
	ck_assert_rc(
	    ztp__keysrc_generate(&gen, uri, ZTP_TEST_PIN, gen_types[_i]),
	    ZTP_OK);
	ck_assert_rc(ztp__key_describe(type, sizeof(type), gen), ZTP_OK);
	ck_assert_str_eq(type, gen_types[_i]);
	signs(gen);
	/* The same key, found again through the URI's own PIN. */
	ck_assert_rc(ztp__keysrc_load(&k, pinned, NULL, "key"), ZTP_OK);
	ck_assert_int_eq(EVP_PKEY_eq(k, gen), 1);
	signs(k);
	/* A second key under the same name is refused. */
	ck_assert_rc(
	    ztp__keysrc_generate(NULL, uri, ZTP_TEST_PIN, gen_types[_i]),
	    ZTP_EEXISTS);
	EVP_PKEY_free(gen);
	EVP_PKEY_free(k);
	free(uri);
	free(pinned);
}
END_TEST

/* The generated private key, asked for its secret through the module
 * itself: sensitive, never extractable, only for signing. */
START_TEST(token_key_sealed)
{
	char *uri = ztp_test_p11_uri("sealed", "ca", NULL);
	CK_FUNCTION_LIST *fl;
	CK_C_INITIALIZE_ARGS ia = {.flags = CKF_OS_LOCKING_OK};
	CK_SLOT_ID slots[16];
	CK_ULONG ns = 16, i, found = 0;
	CK_SESSION_HANDLE h = 0;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)},
			    {CKA_LABEL, "ca", 2}};
	CK_OBJECT_HANDLE obj;
	CK_BBOOL ext = CK_TRUE, never = CK_FALSE, always = CK_FALSE,
		 sign = CK_FALSE, decrypt = CK_TRUE;
	CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &ext, 1},
				{CKA_NEVER_EXTRACTABLE, &never, 1},
				{CKA_ALWAYS_SENSITIVE, &always, 1},
				{CKA_SIGN, &sign, 1},
				{CKA_DECRYPT, &decrypt, 1}};
	CK_BYTE value[128];
	CK_ATTRIBUTE secret = {CKA_VALUE, value, sizeof(value)};
	CK_TOKEN_INFO ti;
	CK_RV rv;

	ck_assert_rc(ztp__keysrc_generate(NULL, uri, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	fl = p11_kit_module_load(ztp_test_softhsm_init(),
				 P11_KIT_MODULE_UNMANAGED);
	ck_assert_ptr_nonnull(fl);
	rv = fl->C_Initialize(&ia);
	ck_assert(rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED);
	ck_assert_uint_eq(fl->C_GetSlotList(CK_TRUE, slots, &ns), CKR_OK);
	for (i = 0; i < ns; i++)
		if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, "sealed ", 7) == 0)
			break;
	ck_assert_uint_lt(i, ns);
	ck_assert_uint_eq(
	    fl->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &h),
	    CKR_OK);
	rv = fl->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)ZTP_TEST_PIN, 4);
	ck_assert(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
	ck_assert_uint_eq(fl->C_FindObjectsInit(h, q, 2), CKR_OK);
	ck_assert_uint_eq(fl->C_FindObjects(h, &obj, 1, &found), CKR_OK);
	fl->C_FindObjectsFinal(h);
	ck_assert_uint_eq(found, 1);
	ck_assert_uint_eq(fl->C_GetAttributeValue(h, obj, flags, 5), CKR_OK);
	ck_assert(!ext && never && always && sign && !decrypt);
	ck_assert_uint_eq(fl->C_GetAttributeValue(h, obj, &secret, 1),
			  CKR_ATTRIBUTE_SENSITIVE);
	ck_assert(secret.ulValueLen == CK_UNAVAILABLE_INFORMATION);
	fl->C_CloseSession(h);
	free(uri);
}
END_TEST

START_TEST(token_generate_refused)
{
	const char *tok = "genno";
	char *uri, *no_name;
	EVP_PKEY *k = NULL;

	uri = ztp_test_p11_uri(tok, "k", NULL);
	ck_assert_rc(ztp__keysrc_generate(&k, uri, ZTP_TEST_PIN, "ed25519"),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__keysrc_generate(&k, uri, ZTP_TEST_PIN, "rsa-1024"),
		     ZTP_EUNSUPPORTED);
	ck_assert_rc(ztp__keysrc_generate(&k, "/tmp/k.pem", NULL, "ec-p256"),
		     ZTP_EINVAL);
	ck_assert(asprintf(&no_name, "pkcs11:token=%s?module-path=%s", tok,
			   ztp_test_softhsm_init()) > 0);
	ck_assert_rc(ztp__keysrc_generate(&k, no_name, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_EINVAL);
	ck_assert_rc(ztp__keysrc_generate(&k, uri, "0000", "ec-p256"),
		     ZTP_EPIN);
	ck_assert_ptr_null(k);
	/* Nothing was created by any of them. */
	ck_assert_rc(ztp__keysrc_load(&k, uri, ZTP_TEST_PIN, "key"),
		     ZTP_ENOTFOUND);
	free(no_name);
	free(uri);
}
END_TEST

START_TEST(token_refusals)
{
	const char *tok = "ref";
	char *uri, *s = NULL, *dir, *pinfile;
	EVP_PKEY *k = NULL;
	FILE *f;

	uri = ztp_test_p11_uri(tok, "ca", NULL);
	/* A wrong PIN before any login, then the right one, then a wrong
	 * one again (the module would accept anything once logged in). */
	ck_assert_rc(ztp__keysrc_load(&k, uri, "4321", "key"), ZTP_EPIN);
	ck_assert_rc(ztp__keysrc_generate(NULL, uri, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	ck_assert_rc(ztp__keysrc_load(&k, uri, "4321", "key"), ZTP_EPIN);
	ck_assert_ptr_null(k);
	ck_assert_rc(ztp__keysrc_load(&k, uri, NULL, "key"), ZTP_EPIN);
	free(uri);

	uri = ztp_test_p11_uri(tok, "nosuch", NULL);
	ck_assert_rc(ztp__keysrc_load(&k, uri, ZTP_TEST_PIN, "key"),
		     ZTP_ENOTFOUND);
	free(uri);
	uri = ztp_test_p11_uri("nosuch-token", "ca", NULL);
	ck_assert_rc(ztp__keysrc_load(&k, uri, ZTP_TEST_PIN, "key"),
		     ZTP_ETOKEN);
	free(uri);
	ck_assert(asprintf(&s,
			   "pkcs11:token=%s;object=ca?module-path=/nonexistent/"
			   "libnosuch.so",
			   tok) > 0);
	ck_assert_rc(ztp__keysrc_load(&k, s, ZTP_TEST_PIN, "key"), ZTP_ETOKEN);
	free(s);
	/* A file that is not a PKCS#11 module. */
	ck_assert(asprintf(&s,
			   "pkcs11:token=%s;object=ca?module-path=/etc/passwd",
			   tok) > 0);
	ck_assert_rc(ztp__keysrc_load(&k, s, ZTP_TEST_PIN, "key"), ZTP_ETOKEN);
	free(s);
	ck_assert(asprintf(&s,
			   "pkcs11:token=%s;object=ca;type=cert"
			   "?module-path=%s",
			   tok, ztp_test_softhsm_init()) > 0);
	ck_assert_rc(ztp__keysrc_load(&k, s, ZTP_TEST_PIN, "key"), ZTP_EINVAL);
	free(s);

	/* The PIN from a file; the file's and the value's at once are
	 * refused. */
	dir = ztp_test_tmpdir();
	pinfile = ztp_test_path(dir, "pin");
	f = fopen(pinfile, "w");
	ck_assert_ptr_nonnull(f);
	fputs(ZTP_TEST_PIN "\n", f);
	fclose(f);
	ck_assert(asprintf(&s, "pin-source=file:%s", pinfile) > 0);
	uri = ztp_test_p11_uri(tok, "ca", s);
	ck_assert_rc(ztp__keysrc_load(&k, uri, NULL, "key"), ZTP_OK);
	EVP_PKEY_free(k);
	k = NULL;
	free(uri);
	free(s);
	ck_assert(asprintf(&s, "pin-source=file:%s&pin-value=1", pinfile) > 0);
	uri = ztp_test_p11_uri(tok, "ca", s);
	ck_assert_rc(ztp__keysrc_load(&k, uri, NULL, "key"), ZTP_EINVAL);
	free(uri);
	free(s);
	free(pinfile);
	ztp_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(token_delete)
{
	const char *tok = "del";
	char *uri;
	EVP_PKEY *k = NULL, *again = NULL;
	unsigned n = 0;
	uint8_t *sig = NULL;
	size_t siglen = 0;

	uri = ztp_test_p11_uri(tok, "op-a", NULL);
	ck_assert_rc(ztp__keysrc_generate(&k, uri, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	ck_assert_rc(ztp__keysrc_delete(uri, ZTP_TEST_PIN, &n), ZTP_OK);
	ck_assert_uint_eq(n, 2); /* the private and the public object */
	ck_assert_rc(ztp__keysrc_load(&again, uri, ZTP_TEST_PIN, "key"),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp__keysrc_delete(uri, ZTP_TEST_PIN, &n), ZTP_ENOTFOUND);
	ck_assert_uint_eq(n, 0);
	/* The key handed out before fails to sign, it does not crash. */
	ck_assert_int_lt(ztp__sig_sign(&sig, &siglen, k, ZTP__SIG_ECDSA_SHA256,
				       (const uint8_t *)"m", 1),
			 0);
	ck_assert_ptr_null(sig);
	/* Its name is free again. */
	ck_assert_rc(ztp__keysrc_generate(NULL, uri, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	EVP_PKEY_free(k);
	free(uri);
}
END_TEST

START_TEST(token_removed)
{
	const char *tok = "gone";
	char *uri;
	EVP_PKEY *k = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;

	uri = ztp_test_p11_uri(tok, "ca", NULL);
	ck_assert_rc(ztp__keysrc_generate(&k, uri, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	signs(k);
	ztp_test_softhsm_delete_token(tok);
	ck_assert_int_lt(ztp__sig_sign(&sig, &siglen, k, ZTP__SIG_ECDSA_SHA256,
				       (const uint8_t *)"m", 1),
			 0);
	ck_assert_ptr_null(sig);
	ck_assert_rc(ztp__keysrc_load(&k, uri, ZTP_TEST_PIN, "key"),
		     ZTP_ETOKEN);
	EVP_PKEY_free(k);
	free(uri);
}
END_TEST

#define THREADS 8
#define SIGS 25

static void *sign_many(void *arg)
{
	EVP_PKEY *key = arg;
	int i;

	for (i = 0; i < SIGS; i++)
		signs(key);
	return NULL;
}

START_TEST(token_threads)
{
	const char *tok = "thr";
	char *uri;
	EVP_PKEY *k = NULL;
	pthread_t t[THREADS];
	int i;

	uri = ztp_test_p11_uri(tok, "ca", NULL);
	ck_assert_rc(ztp__keysrc_generate(&k, uri, ZTP_TEST_PIN, "ec-p256"),
		     ZTP_OK);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, sign_many, k), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	EVP_PKEY_free(k);
	free(uri);
}
END_TEST

static Suite *keysrc_suite(void)
{
	Suite *s = suite_create("keysrc");
	TCase *tc;

	tc = tcase_create("uri");
	tcase_add_test(tc, uri_full);
	tcase_add_loop_test(tc, uri_refused, 0,
			    (int)(sizeof(bad_uris) / sizeof(bad_uris[0])));
	tcase_add_test(tc, uri_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_test(tc, file_sources);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, token_generate_load_sign, 0,
			    (int)(sizeof(gen_types) / sizeof(gen_types[0])));
	tcase_add_test(tc, token_key_sealed);
	tcase_add_test(tc, token_generate_refused);
	tcase_add_test(tc, token_refusals);
	tcase_add_test(tc, token_delete);
	tcase_add_test(tc, token_threads);
	/* Last: under CK_FORK=no the module then holds a dead token. */
	tcase_add_test(tc, token_removed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	static const char *const tokens[] = {"gen-p256", "gen-p384", "gen-rsa",
					     "genno",	 "ref",	     "del",
					     "gone",	 "thr",	     "sealed"};
	size_t i;

	ztp_test_softhsm_init();
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		ztp_test_softhsm_token(tokens[i]);
	rc = ztp_test_run(keysrc_suite());
	ztp_test_softhsm_cleanup();
	return rc;
}
