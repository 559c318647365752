/*
 * Verifier: configuration, the identity check, challenges, the bootstrap
 * endpoint and every attack of the identity/chain, proof-of-possession and
 * replay, CSR/key-policy and input-parsing groups. Each negative test
 * asserts the wire code and HTTP status, that no certificate came back and
 * that the store's issued-certificate count and the device's state did not
 * change.
 */
#include "verifier/verifier_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ztp/ca.h>
#include <ztp/store.h>
#include <ztp/verifier.h>

#include "testutil.h"
#include "verifier_pki.h"

#define DAY 86400
#define DEV "dev-1"

/* ------------------------------------------------------------------ fixture */

static int64_t T0;  /* test start */
static int64_t clk; /* the verifier's and CA's clock */

static EVP_PKEY *rkey, *ikey, *fkey, *f2key;
static X509 *root, *issuing, *factory, *factory2;
static char *root_pem, *iss_pem, *factory_pem, *factory2_pem;
static ztp_store *store;
static ztp_ca *dca;
static ztp_verifier *v;
static char last_event[4096];
static int n_events;
static char *dev1_code; /* dev-1's claim code from enrollment */
/* events arrive on whichever thread decided (several at once in the
 * thread tests) */
static pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_event(const char *json, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&event_lock);
	snprintf(last_event, sizeof(last_event), "%s", json);
	n_events++;
	pthread_mutex_unlock(&event_lock);
}

/* A verifier with the test PKI's anchors and issuers, the device CA, the
 * test clock and no global limit, on store st (the fixture's, or another
 * one standing for a second instance). */
static ztp_verifier *verifier_on(ztp_store *st)
{
	ztp_verifier *w = NULL;

	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(
	    ztp_verifier_set_trust_anchors(w, root_pem, strlen(root_pem)),
	    ZTP_OK);
	ck_assert_rc(ztp_verifier_set_issuers(w, iss_pem, strlen(iss_pem)),
		     ZTP_OK);
	/* The device CA records into the fixture's store: a verifier on
	 * another store issues nothing through it. */
	ck_assert_rc(ztp_verifier_set_ca(w, dca), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_store(w, st), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_clock(w, ztp_clock_fixed, &clk), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "global", 0, 0), ZTP_OK);
	return w;
}

static void setup(void)
{
	char *cpem = NULL, *kpem = NULL, *code = NULL;

	T0 = (int64_t)time(NULL);
	clk = T0;
	rkey = vpki_key("ec-p256");
	ikey = vpki_key("ec-p256");
	fkey = vpki_key("ec-p256");
	f2key = vpki_key("ec-p256");
	root = vpki_ca("Maker Root", rkey, NULL, NULL, T0 - 365 * DAY,
		       T0 + 3650 * DAY);
	issuing = vpki_ca("Maker Issuing", ikey, root, rkey, T0 - 365 * DAY,
			  T0 + 3650 * DAY);
	factory = vpki_leaf(DEV, fkey, issuing, ikey, T0 - DAY, T0 + 365 * DAY);
	factory2 =
	    vpki_leaf("dev-2", f2key, issuing, ikey, T0 - DAY, T0 + 365 * DAY);
	root_pem = vpki_pem(root);
	iss_pem = vpki_pem(issuing);
	factory_pem = vpki_pem(factory);
	factory2_pem = vpki_pem(factory2);

	ck_assert_rc(ztp_store_open(&store, "memory:"), ZTP_OK);
	/* One time for every decision: the rotation overlap is counted from
	 * the store's issued_at. */
	ck_assert_rc(ztp_store_set_clock(store, ztp_clock_fixed, &clk), ZTP_OK);
	ck_assert_rc(
	    ztp_ca_create_root(&cpem, &kpem, "/CN=Device CA", NULL, 3650),
	    ZTP_OK);
	ck_assert_rc(ztp_ca_new(&dca), ZTP_OK);
	ck_assert_rc(ztp_ca_load(dca, cpem, kpem, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(dca, store), ZTP_OK);
	ck_assert_rc(ztp_ca_set_clock(dca, ztp_clock_fixed, &clk), ZTP_OK);
	ztp__free_secret(kpem, strlen(kpem));
	ztp_free(cpem);

	v = verifier_on(store);
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0, 0), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_event_callback(v, on_event, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_verifier_enroll(v, &dev1_code, DEV, factory_pem,
					 strlen(factory_pem), "model-x",
					 "batch-7"),
		     ZTP_OK);
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-2", factory2_pem,
					 strlen(factory2_pem), NULL, NULL),
		     ZTP_OK);
	ztp_free(code);
	n_events = 0;
	last_event[0] = '\0';
}

static void teardown(void)
{
	ztp_free(dev1_code);
	dev1_code = NULL;
	ztp_verifier_free(v);
	ztp_ca_free(dca);
	ztp_store_free(store);
	X509_free(root);
	X509_free(issuing);
	X509_free(factory);
	X509_free(factory2);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	EVP_PKEY_free(fkey);
	EVP_PKEY_free(f2key);
	free(root_pem);
	free(iss_pem);
	free(factory_pem);
	free(factory2_pem);
	v = NULL;
	dca = NULL;
	store = NULL;
}

/* ------------------------------------------------------------------ helpers */

static uint64_t cert_count(void)
{
	uint64_t n = 0;

	ck_assert_rc(ztp_store_cert_count(store, &n), ZTP_OK);
	return n;
}

static char *device_state(const char *id)
{
	char *json = NULL, *out;
	json_object *o, *s;

	ck_assert_rc(ztp_store_device_get(store, id, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "state", &s));
	out = strdup(json_object_get_string(s));
	json_object_put(o);
	ztp_free(json);
	return out;
}

/* Call an endpoint; returns the HTTP status and the response object. */
static int call(const char *ep, const char *body, size_t len, const char *peer,
		json_object **resp)
{
	char *out = NULL;
	int status = 0;

	ck_assert_rc(ztp_verifier_handle(v, &status, &out, ep, body, len, peer,
					 peer ? strlen(peer) : 0),
		     ZTP_OK);
	ck_assert_ptr_nonnull(out);
	*resp = json_tokener_parse(out);
	ck_assert_msg(*resp != NULL, "response is not JSON: %s", out);
	ztp_free(out);
	return status;
}

static const char *err_code(json_object *resp)
{
	json_object *e, *c;

	if (!json_object_object_get_ex(resp, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return "";
	return json_object_get_string(c);
}

static char *get_nonce(const char *id)
{
	char body[256];
	json_object *r, *n;
	char *out;
	int st;

	snprintf(body, sizeof(body), "{\"device_id\":\"%s\"}", id);
	st = call("challenge", body, strlen(body), NULL, &r);
	ck_assert_int_eq(st, 200);
	ck_assert(json_object_object_get_ex(r, "nonce", &n));
	ck_assert(json_object_object_get_ex(r, "expires_at", NULL));
	out = strdup(json_object_get_string(n));
	json_object_put(r);
	return out;
}

/* What a bootstrap request is built from; NULL/0 fields take the honest
 * value. */
typedef struct breq {
	const char *device_id;	 /* request device_id */
	const char *nonce;	 /* default: a fresh challenge for device_id */
	X509 *cert;		 /* default: factory */
	const char *cert_pem;	 /* raw factory_cert string */
	const char *chain_json;	 /* raw JSON for factory_chain */
	EVP_PKEY *csr_key;	 /* default: a fresh P-256 key */
	const char *csr_pem;	 /* raw csr string */
	EVP_PKEY *sign_key;	 /* default: fkey */
	const char *sign_device; /* transcript device ID */
	const char *sign_nonce;	 /* transcript nonce */
	bool sign_other_csr;	 /* transcript over another CSR */
	const char *signature;	 /* raw signature string */
} breq;

static char *sign_b64(EVP_PKEY *key, const char *id, const char *nonce,
		      const uint8_t hash[32])
{
	ztp__buf t = {0};
	ztp__sigalg alg;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	char *b64 = NULL;

	ck_assert_rc(ztp__buf_append(&t, "ZTP-BOOTSTRAP-V1", 17), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, id, strlen(id) + 1), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, nonce, strlen(nonce) + 1), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, hash, 32), ZTP_OK);
	ck_assert_rc(ztp__sigalg_for_key(&alg, key), ZTP_OK);
	ck_assert_rc(ztp__sig_sign(&sig, &siglen, key, alg, t.data, t.len),
		     ZTP_OK);
	ck_assert_rc(ztp__b64_encode(&b64, sig, siglen), ZTP_OK);
	free(sig);
	ztp__buf_free(&t);
	return b64;
}

static void csr_hash(uint8_t out[32], X509_REQ *r)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(r, &der);

	ck_assert_int_gt(n, 0);
	ck_assert_rc(ztp__sha256(out, der, (size_t)n), ZTP_OK);
	OPENSSL_free(der);
}

static char *build(const breq *b)
{
	const char *id = b->device_id ? b->device_id : DEV;
	char *nonce = b->nonce ? strdup(b->nonce) : get_nonce(id);
	EVP_PKEY *ck = b->csr_key ? b->csr_key : vpki_key("ec-p256");
	X509_REQ *csr = vpki_csr(ck, "ignored-subject");
	char *csrpem = vpki_csr_pem(csr);
	char *certpem = vpki_pem(b->cert ? b->cert : factory);
	uint8_t h[32];
	char *sig = NULL, *out;
	json_object *o = json_object_new_object();

	if (b->sign_other_csr) {
		EVP_PKEY *k2 = vpki_key("ec-p256");
		X509_REQ *c2 = vpki_csr(k2, NULL);

		csr_hash(h, c2);
		X509_REQ_free(c2);
		EVP_PKEY_free(k2);
	} else if (b->csr_pem != NULL) {
		X509_REQ *r = NULL;

		/* Sign over what the server will hash when it parses. */
		if (ztp__pem_csr(&r, b->csr_pem, strlen(b->csr_pem)) == ZTP_OK)
			csr_hash(h, r);
		else
			memset(h, 0, 32);
		X509_REQ_free(r);
	} else {
		csr_hash(h, csr);
	}
	if (b->signature == NULL)
		sig = sign_b64(b->sign_key ? b->sign_key : fkey,
			       b->sign_device ? b->sign_device : id,
			       b->sign_nonce ? b->sign_nonce : nonce, h);
	json_object_object_add(o, "device_id", json_object_new_string(id));
	json_object_object_add(o, "nonce", json_object_new_string(nonce));
	json_object_object_add(
	    o, "csr", json_object_new_string(b->csr_pem ? b->csr_pem : csrpem));
	json_object_object_add(
	    o, "factory_cert",
	    json_object_new_string(b->cert_pem ? b->cert_pem : certpem));
	if (b->chain_json != NULL)
		json_object_object_add(o, "factory_chain",
				       json_tokener_parse(b->chain_json));
	json_object_object_add(
	    o, "signature",
	    json_object_new_string(b->signature ? b->signature : sig));
	out = strdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(sig);
	free(certpem);
	free(csrpem);
	X509_REQ_free(csr);
	if (b->csr_key == NULL)
		EVP_PKEY_free(ck);
	free(nonce);
	return out;
}

/* A rejected bootstrap: the code, the status, no certificate, no new
 * certificate record, the device state unchanged. */
static void expect_reject_body(const char *body, size_t len, const char *peer,
			       int status, const char *code)
{
	uint64_t before = cert_count();
	char *s1 = device_state(DEV), *s2;
	json_object *r;
	int st = call("bootstrap", body, len, peer, &r);

	ck_assert_msg(st == status && strcmp(err_code(r), code) == 0,
		      "want %d %s, got %d %s", status, code, st,
		      json_object_to_json_string(r));
	ck_assert(!json_object_object_get_ex(r, "certificate", NULL));
	ck_assert_uint_eq(cert_count(), before);
	s2 = device_state(DEV);
	ck_assert_str_eq(s1, s2);
	free(s1);
	free(s2);
	json_object_put(r);
}

static void expect_reject(const breq *b, const char *peer, int status,
			  const char *code)
{
	char *body = build(b);

	expect_reject_body(body, strlen(body), peer, status, code);
	free(body);
}

static json_object *expect_accept(const breq *b, const char *peer)
{
	uint64_t before = cert_count();
	char *body = build(b);
	json_object *r;
	int st = call("bootstrap", body, strlen(body), peer, &r);

	ck_assert_msg(st == 200, "got %d %s", st,
		      json_object_to_json_string(r));
	ck_assert(json_object_object_get_ex(r, "certificate", NULL));
	ck_assert_uint_eq(cert_count(), before + 1);
	free(body);
	return r;
}

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

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = ztp_test_path(dir, name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

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

/* ------------------------------------------------------------------ check_cert
 */

static int check(X509 *c, const char *untrusted, int64_t at, char **json)
{
	char *pem = vpki_pem(c);
	int rc = ztp_verifier_check_cert(v, json, pem, strlen(pem), untrusted,
					 untrusted ? strlen(untrusted) : 0, at);
	free(pem);
	return rc;
}

static void expect_check(X509 *c, const char *untrusted, int64_t at, int rc,
			 const char *code)
{
	char *json = NULL;

	ck_assert_rc(check(c, untrusted, at, &json), rc);
	ck_assert_ptr_nonnull(json);
	if (code != NULL)
		ck_assert_msg(strstr(json, code) != NULL, "want %s: %s", code,
			      json);
	else
		ck_assert_ptr_nonnull(strstr(json, "\"accepted\""));
	ztp_free(json);
}

START_TEST(check_cert_profile)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	vpki_cert_opts o = {.cn = "dev-9",
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = T0 - DAY,
			    .not_after = T0 + DAY};
	X509 *c;
	char *json = NULL;

	expect_check(factory, NULL, 0, ZTP_OK, NULL);
	ck_assert_rc(check(factory, NULL, 0, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":\"dev-1\""));
	ztp_free(json);
	ck_assert_rc(check(factory, NULL, 0, NULL), ZTP_OK);

#define VARIANT(field, value, rc, want)                                        \
	do {                                                                   \
		vpki_cert_opts p = o;                                          \
		p.field = value;                                               \
		c = vpki_cert(&p, k, issuing, ikey);                           \
		expect_check(c, NULL, 0, rc, want);                            \
		X509_free(c);                                                  \
	} while (0)

	VARIANT(bc, "critical,CA:TRUE", ZTP_EPROFILE,
		"bad_certificate_profile");
	VARIANT(bc, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(ku, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(ku, "critical,keyEncipherment", ZTP_EPROFILE,
		"bad_certificate_profile");
	VARIANT(eku, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(eku, "serverAuth", ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(eku, "anyExtendedKeyUsage", ZTP_EPROFILE,
		"bad_certificate_profile");
	VARIANT(cn, NULL, ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(cn, "dev/1", ZTP_EPROFILE, "bad_certificate_profile");
	VARIANT(san, "URI:urn:ztp:device:other", ZTP_EMISMATCH,
		"bad_certificate_profile");
	VARIANT(eku, "serverAuth,clientAuth", ZTP_OK, NULL);
	VARIANT(san, "URI:urn:ztp:device:dev-9", ZTP_OK, NULL);
#undef VARIANT
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(check_cert_chain)
{
	EVP_PKEY *ok = vpki_key("ec-p256"), *oik = vpki_key("ec-p256"),
		 *dk = vpki_key("ec-p256"), *ek = vpki_key("ec-p256");
	X509 *oroot =
	    vpki_ca("Other Root", ok, NULL, NULL, T0 - DAY, T0 + DAY * 30);
	X509 *oiss =
	    vpki_ca("Maker Issuing", oik, oroot, ok, T0 - DAY, T0 + DAY * 30);
	X509 *leaf = vpki_leaf("dev-5", dk, oiss, oik, T0 - DAY, T0 + DAY);
	char *fake = vpki_pem2(oiss, oroot);
	vpki_cert_opts eo = {.cn = "dev-evil",
			     .bc = "critical,CA:TRUE",
			     .ku = "critical,digitalSignature,keyCertSign",
			     .eku = "clientAuth",
			     .not_before = T0 - DAY,
			     .not_after = T0 + DAY};
	X509 *evil = vpki_cert(&eo, ek, issuing, ikey);
	X509 *forged = vpki_leaf(DEV, dk, evil, ek, T0 - DAY, T0 + DAY);
	char *evil_pem = vpki_pem(evil);
	X509 *direct = vpki_leaf("dev-6", dk, root, rkey, T0 - DAY, T0 + DAY);
	X509 *selfsigned =
	    vpki_leaf("dev-7", dk, NULL, NULL, T0 - DAY, T0 + DAY);

	/* Another root, and the same with a device-supplied fake root. */
	expect_check(leaf, NULL, 0, ZTP_EUNTRUSTED, "untrusted_certificate");
	expect_check(leaf, fake, 0, ZTP_EUNTRUSTED, "untrusted_certificate");
	/* Signed by another device's wrongly CA:TRUE certificate: OpenSSL
	 * accepts the path, the issuer allowlist does not. */
	expect_check(forged, evil_pem, 0, ZTP_EUNTRUSTED, "issuer_not_allowed");
	/* Issued directly by the root, which is not an allowed issuer. */
	expect_check(direct, NULL, 0, ZTP_EUNTRUSTED, "issuer_not_allowed");
	expect_check(selfsigned, NULL, 0, ZTP_EUNTRUSTED,
		     "untrusted_certificate");
	/* Depth: root -> issuing -> leaf has one intermediate. */
	ck_assert_rc(ztp_verifier_set_max_chain_depth(v, 0), ZTP_OK);
	expect_check(factory, NULL, 0, ZTP_EUNTRUSTED, "untrusted_certificate");
	ck_assert_rc(ztp_verifier_set_max_chain_depth(v, 1), ZTP_OK);
	expect_check(factory, NULL, 0, ZTP_OK, NULL);
	/* Garbage. */
	ck_assert_rc(ztp_verifier_check_cert(v, NULL, "junk", 4, NULL, 0, 0),
		     ZTP_EPARSE);
	/* A broken leaf signature is caught although the issuing CA's own
	 * signature is verified only once, at configuration. */
	{
		unsigned char *der = NULL;
		const unsigned char *p;
		int len = i2d_X509(factory, &der);
		X509 *bad;

		der[len - 5] ^= 0x01;
		p = der;
		bad = d2i_X509(NULL, &p, len);
		ck_assert_ptr_nonnull(bad);
		expect_check(bad, NULL, 0, ZTP_EUNTRUSTED,
			     "untrusted_certificate");
		expect_check(bad, iss_pem, 0, ZTP_EUNTRUSTED,
			     "untrusted_certificate");
		X509_free(bad);
		OPENSSL_free(der);
	}
	/* Reconfiguring rebuilds what was verified once: the same anchors
	 * and issuers loaded again still accept, other anchors refuse. */
	ck_assert_rc(
	    ztp_verifier_set_trust_anchors(v, root_pem, strlen(root_pem)),
	    ZTP_OK);
	expect_check(factory, NULL, 0, ZTP_OK, NULL);
	{
		char *opem = vpki_pem(oroot);

		ck_assert_rc(
		    ztp_verifier_set_trust_anchors(v, opem, strlen(opem)),
		    ZTP_OK);
		expect_check(factory, NULL, 0, ZTP_EUNTRUSTED,
			     "untrusted_certificate");
		free(opem);
	}

	X509_free(oroot);
	X509_free(oiss);
	X509_free(leaf);
	X509_free(evil);
	X509_free(forged);
	X509_free(direct);
	X509_free(selfsigned);
	free(fake);
	free(evil_pem);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(oik);
	EVP_PKEY_free(dk);
	EVP_PKEY_free(ek);
}
END_TEST

START_TEST(check_cert_validity_boundaries)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	int64_t nb = T0 + 1000, na = T0 + 5000;
	X509 *c = vpki_leaf("dev-9", k, issuing, ikey, nb, na);

	/* leeway 60: valid over [nb - 60, na + 60], inclusive. */
	expect_check(c, NULL, nb - 61, ZTP_EEXPIRED, "certificate_expired");
	expect_check(c, NULL, nb - 60, ZTP_OK, NULL);
	expect_check(c, NULL, na + 60, ZTP_OK, NULL);
	expect_check(c, NULL, na + 61, ZTP_EEXPIRED, "certificate_expired");
	ck_assert_rc(ztp_verifier_set_clock_leeway(v, 0), ZTP_OK);
	expect_check(c, NULL, nb - 1, ZTP_EEXPIRED, "certificate_expired");
	expect_check(c, NULL, nb, ZTP_OK, NULL);
	expect_check(c, NULL, na, ZTP_OK, NULL);
	expect_check(c, NULL, na + 1, ZTP_EEXPIRED, "certificate_expired");
	/* The injected clock is used when no time is given. */
	clk = na + 1;
	expect_check(c, NULL, 0, ZTP_EEXPIRED, "certificate_expired");
	/* An expired issuing CA fails the chain check the same way. */
	clk = T0;
	ck_assert_rc(ztp_verifier_set_clock_leeway(v, 60), ZTP_OK);
	X509_free(c);
	c = vpki_leaf("dev-9", k, issuing, ikey, T0, T0 + 4000 * DAY);
	expect_check(c, NULL, T0 + 3650 * DAY + 60, ZTP_OK, NULL);
	expect_check(c, NULL, T0 + 3650 * DAY + 61, ZTP_EEXPIRED,
		     "certificate at depth 1 expired");
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

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

/* ------------------------------------------------------------------ rate
 * limits, events, stats */

START_TEST(rate_limits)
{
	json_object *r, *e, *ra;
	char *body;

	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0.5, 2), ZTP_OK);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 429);
	ck_assert_str_eq(err_code(r), "rate_limited");
	ck_assert(json_object_object_get_ex(r, "error", &e));
	ck_assert(json_object_object_get_ex(e, "retry_after", &ra));
	ck_assert_int_eq(json_object_get_int(ra), 2);
	json_object_put(r);
	/* Another device has its own bucket. */
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-2\"}", 21, NULL, &r), 200);
	json_object_put(r);
	/* Two seconds later one token is back. */
	clk += 2;
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-1\"}", 21, NULL, &r), 200);
	json_object_put(r);
	/* A rate-limited bootstrap changes nothing. */
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0, 0), ZTP_OK);
	body = build(&(breq){0});
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0.001, 1),
		     ZTP_OK);
	ck_assert_int_eq(
	    call("challenge", "{\"device_id\":\"dev-2\"}", 21, NULL, &r), 200);
	json_object_put(r);
	expect_reject_body(body, strlen(body), NULL, 429, "rate_limited");
	free(body);
	/* Many distinct IDs do not grow memory beyond the table and do not
	 * fail. */
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0, 0), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0.001, 1),
		     ZTP_OK);
	for (int i = 0; i < ZTP__RL_SLOTS * 2; i++) {
		char b[64];
		int n = snprintf(b, sizeof(b), "{\"device_id\":\"d%d\"}", i);

		ck_assert_int_eq(call("challenge", b, (size_t)n, NULL, &r),
				 200);
		json_object_put(r);
	}
}
END_TEST

START_TEST(events_and_stats)
{
	char *json = NULL, *list = NULL;
	json_object *r;

	expect_reject(&(breq){.sign_key = f2key}, NULL, 401, "bad_signature");
	ck_assert_ptr_nonnull(strstr(last_event, "\"type\":\"bootstrap\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"result\":\"rejected\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"code\":\"bad_signature\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"device_id\":\"dev-1\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"time\":\""));
	ck_assert_rc(ztp_store_event_list(store, 0, 100, &list), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(list, "bad_signature"));
	ztp_free(list);
	ck_assert_int_eq(call("bootstrap", "{", 1, NULL, &r), 400);
	json_object_put(r);
	ck_assert_rc(ztp_verifier_stats(v, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"bad_signature\":1"));
	ck_assert_ptr_nonnull(strstr(json, "\"malformed_request\":1"));
	ck_assert_ptr_nonnull(strstr(json, "\"rejected\":2"));
	ztp_free(json);
	ck_assert_rc(ztp_verifier_error_codes(&json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "{\"code\":\"challenge_replayed\","
					   "\"status\":409}"));
	ztp_free(json);
}
END_TEST

/* ------------------------------------------------------------------ enroll */

START_TEST(enroll)
{
	char *code = NULL, *json = NULL;
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c = vpki_leaf("dev-9", k, issuing, ikey, T0 - DAY, T0 + DAY);
	char *pem = vpki_pem(c);
	uint8_t h[32];
	char canon[40];
	size_t j = 0;

	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-8", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_EMISMATCH);
	ck_assert_ptr_null(code);
	ck_assert_rc(
	    ztp_verifier_enroll(v, &code, "dev-9", pem, strlen(pem), "m", "b"),
	    ZTP_OK);
	ck_assert_uint_eq(strlen(code), 39);
	for (size_t i = 0; code[i]; i++) {
		if (i % 5 == 4) {
			ck_assert_int_eq(code[i], '-');
			continue;
		}
		ck_assert_ptr_nonnull(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", code[i]));
		canon[j++] = code[i];
	}
	canon[j] = '\0';
	/* Only the hash is stored: claiming with it succeeds once. */
	ck_assert_rc(ztp__sha256(h, canon, 32), ZTP_OK);
	ck_assert_rc(ztp_store_claim_take(store, "dev-9", h, 32, "acme"),
		     ZTP_OK);
	ck_assert_rc(ztp_store_device_get(store, "dev-9", &json), ZTP_OK);
	ck_assert_ptr_null(strstr(json, canon));
	ztp_free(json);
	ztp_free(code);
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-9", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_EEXISTS);
	/* A certificate with a bad profile is not enrolled. */
	X509_free(c);
	free(pem);
	{
		vpki_cert_opts o = {.cn = "dev-10",
				    .bc = "critical,CA:TRUE",
				    .ku = "critical,digitalSignature",
				    .eku = "clientAuth",
				    .not_before = T0 - DAY,
				    .not_after = T0 + DAY};
		c = vpki_cert(&o, k, issuing, ikey);
	}
	pem = vpki_pem(c);
	ck_assert_rc(ztp_verifier_enroll(v, &code, "dev-10", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_EPROFILE);
	ck_assert_rc(ztp_store_device_get(store, "dev-10", &json),
		     ZTP_ENOTFOUND);
	free(pem);
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

/* ------------------------------------------------------------------ claim,
 * reset, revoke */

/* Enroll "dev-3" through w; its claim code. */
static char *enroll_dev3_on(ztp_verifier *w)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c = vpki_leaf("dev-3", k, issuing, ikey, T0 - DAY, T0 + DAY);
	char *pem = vpki_pem(c), *code = NULL;

	ck_assert_rc(ztp_verifier_enroll(w, &code, "dev-3", pem, strlen(pem),
					 NULL, NULL),
		     ZTP_OK);
	free(pem);
	X509_free(c);
	EVP_PKEY_free(k);
	return code;
}

static char *enroll_dev3(void)
{
	return enroll_dev3_on(v);
}

START_TEST(claim)
{
	char *code = enroll_dev3(), *st, lower[64], *json = NULL;
	char wrong[] = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA";

	/* Each refusal keeps its own detail past the event it logs. */
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", wrong, "acme"),
		     ZTP_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "not match"));
	ck_assert_ptr_nonnull(strstr(last_event, "\"type\":\"claim\""));
	ck_assert_ptr_nonnull(strstr(last_event, "\"rejected\""));
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", "not a code", "acme"),
		     ZTP_EINVAL);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "base32"));
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", code, "ac/me"), ZTP_EINVAL);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "tenant"));
	ck_assert_rc(ztp_verifier_claim(v, "dev-9", code, "acme"),
		     ZTP_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "no device"));
	/* Case and separators do not matter. */
	for (size_t i = 0, j = 0; i <= strlen(code); i++)
		if (code[i] != '-')
			lower[j++] = (char)tolower((unsigned char)code[i]);
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", lower, "acme"), ZTP_OK);
	st = device_state("dev-3");
	ck_assert_str_eq(st, "active");
	free(st);
	ck_assert_rc(ztp_store_device_get(store, "dev-3", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"tenant\":\"acme\""));
	ztp_free(json);
	/* Single use. */
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", code, "globex"),
		     ZTP_ENOTFOUND);
	/* Attempts are limited: four so far for dev-3 (the malformed tenant
	 * was refused before counting), the fifth ends the burst. */
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", code, "globex"),
		     ZTP_ENOTFOUND);
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", code, "globex"),
		     ZTP_ERATELIMIT);
	ck_assert_rc(ztp_verifier_claim(v, "dev-2", wrong, "globex"),
		     ZTP_EMISMATCH);
	clk += 60;
	ck_assert_rc(ztp_verifier_claim(v, "dev-3", code, "globex"),
		     ZTP_ENOTFOUND);
	ztp__free_secret(code, strlen(code));
}
END_TEST

START_TEST(reset_and_revoke)
{
	char *code = NULL, *st, *json = NULL, *old = enroll_dev3();
	json_object *r;

	ck_assert_rc(ztp_verifier_claim(v, "dev-3", old, "acme"), ZTP_OK);
	/* dev-1 bootstraps, then is reset: its bootstrap certificate is
	 * revoked, its tenant cleared, a new code works and it bootstraps
	 * again. */
	r = expect_accept(&(breq){0}, NULL);
	json_object_put(r);
	ck_assert_rc(ztp_verifier_reset(v, &code, DEV), ZTP_OK);
	st = device_state(DEV);
	ck_assert_str_eq(st, "reset");
	free(st);
	ck_assert_rc(ztp_store_device_certs(store, DEV, &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"revoked\":true"));
	ck_assert_ptr_null(strstr(json, "\"revoked\":false"));
	ztp_free(json);
	r = expect_accept(&(breq){0}, NULL);
	json_object_put(r);
	st = device_state(DEV);
	ck_assert_str_eq(st, "bootstrapped");
	free(st);
	ck_assert_rc(ztp_verifier_claim(v, DEV, code, "globex"), ZTP_OK);
	ztp__free_secret(code, strlen(code));

	/* Revoke: blocked at bootstrap from then on, all certificates
	 * revoked, no reset, no claim. */
	ck_assert_rc(ztp_verifier_revoke(v, DEV), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(last_event, "\"type\":\"revoke\""));
	ck_assert_rc(ztp_verifier_revoke(v, DEV), ZTP_OK);
	ck_assert_rc(ztp_store_device_certs(store, DEV, &json), ZTP_OK);
	ck_assert_ptr_null(strstr(json, "\"revoked\":false"));
	ztp_free(json);
	expect_reject(&(breq){0}, NULL, 403, "device_blocked");
	ck_assert_rc(ztp_verifier_reset(v, &code, DEV), ZTP_ESTATE);
	ck_assert_ptr_null(code);
	ck_assert_rc(ztp_verifier_revoke(v, "nobody"), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_verifier_reset(v, &code, "nobody"), ZTP_ENOTFOUND);
	ck_assert_rc(ztp_verifier_revoke(v, "a/b"), ZTP_EINVAL);
	ztp__free_secret(old, strlen(old));
}
END_TEST

/* ------------------------------------------------------------------ lifecycle
 * endpoints */

/* Call an endpoint with a peer certificate; returns status, *resp set. */
static int lcall(const char *ep, const char *body, const char *peer,
		 json_object **resp)
{
	return call(ep, body, body ? strlen(body) : 0, peer, resp);
}

static char *csr_body(EVP_PKEY *k)
{
	X509_REQ *r = vpki_csr(k, "ignored");
	char *pem = vpki_csr_pem(r), *out;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "csr", json_object_new_string(pem));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	free(pem);
	X509_REQ_free(r);
	return out;
}

static char *cert_of(json_object *r)
{
	json_object *c;

	ck_assert_msg(json_object_object_get_ex(r, "certificate", &c), "%s",
		      json_object_to_json_string(r));
	return strdup(json_object_get_string(c));
}

/* Bootstrap dev-1 and return its bootstrap certificate. */
static char *bootstrap_cert(void)
{
	json_object *r = expect_accept(&(breq){0}, NULL);
	char *pem = cert_of(r);

	json_object_put(r);
	return pem;
}

static const char *REG =
    "{\"device_type\":\"sensor\",\"firmware_version\":\"1.2.3\","
    "\"capabilities\":[\"mqtt\",\"ota\"]}";

/* rp, not *rp: the status call and the response are arguments of one
 * call, and C does not order their evaluation. */
static void expect_code(int st, json_object **rp, int want, const char *code)
{
	json_object *r = *rp;

	ck_assert_msg(st == want && strcmp(err_code(r), code) == 0,
		      "want %d %s, got %d %s", want, code, st,
		      json_object_to_json_string(r));
	json_object_put(r);
	*rp = NULL;
}

/* The device's revoked operational certificates; with reason, only those
 * revoked for that reason code. */
static size_t count_revoked(const char *id, const char *reason)
{
	json_object *arr, *c, *o;
	char *json = NULL;
	size_t n = 0;

	ck_assert_rc(ztp_store_device_certs(store, id, &json), ZTP_OK);
	arr = json_tokener_parse(json);
	ck_assert_ptr_nonnull(arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		c = json_object_array_get_idx(arr, i);
		ck_assert(json_object_object_get_ex(c, "profile", &o));
		if (strcmp(json_object_get_string(o), "operational") != 0)
			continue;
		ck_assert(json_object_object_get_ex(c, "revoked", &o));
		if (!json_object_get_boolean(o))
			continue;
		ck_assert(json_object_object_get_ex(c, "reason", &o));
		if (reason == NULL ||
		    strcmp(json_object_get_string(o), reason) == 0)
			n++;
	}
	json_object_put(arr);
	ztp_free(json);
	return n;
}

/* A registered dev-1 with an operational certificate issued at T0. */
static char *registered_op(char **boot, EVP_PKEY *k)
{
	char *body = csr_body(k), *op;
	json_object *r;

	*boot = bootstrap_cert();
	ck_assert_int_eq(lcall("register", REG, *boot, &r), 200);
	json_object_put(r);
	ck_assert_int_eq(lcall("credentials", body, *boot, &r), 200);
	op = cert_of(r);
	json_object_put(r);
	free(body);
	return op;
}

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

/* ------------------------------------------------------------------ allocation
 * failures */

START_TEST(alloc_failures)
{
	/* Every allocation of a successful bootstrap, failed in turn: the
	 * handle answers (an error response or nothing on ENOMEM) and never
	 * crashes or leaks, and a failed attempt issues nothing. */
	bool finished = false;

	for (long n = 1; n < 4000 && !finished; n++) {
		char *body = build(&(breq){0}), *out = NULL;
		uint64_t before = cert_count();
		long used;
		int st = 0, rc;

		ztp__alloc_fail_at(n);
		rc = ztp_verifier_handle(v, &st, &out, "bootstrap", body,
					 strlen(body), NULL, 0);
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		if (rc == ZTP_OK && st == 200) {
			ck_assert_uint_eq(cert_count(), before + 1);
			ztp_free(out);
			free(body);
			/* The n-th allocation was never reached: every
			 * earlier one has been failed in turn. */
			finished = used < n;
			continue;
		}
		ztp_free(out);
		free(body);
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
}
END_TEST

START_TEST(alloc_failures_rotation)
{
	/* The same for rotation (authentication with its overlap sweep,
	 * issuance, noting the superseded certificate) and for
	 * maintenance: a failed call is retried whole by the next one. */
	EVP_PKEY *k1 = vpki_key("ec-p256"), *k2 = vpki_key("ec-p256");
	char *boot, *op1 = registered_op(&boot, k1), *body = csr_body(k2);
	bool finished = false;
	ztp_verifier *v2 = NULL;
	uint64_t n_rev = 0;

	ck_assert_rc(ztp_verifier_set_rate_limit(v, "lifecycle", 0, 0),
		     ZTP_OK);
	for (long n = 1; n < 4000 && !finished; n++) {
		char *out = NULL;
		long used;
		int st = 0, rc;

		ztp__alloc_fail_at(n);
		rc = ztp_verifier_handle(v, &st, &out, "rotate", body,
					 strlen(body), op1, strlen(op1));
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		ck_assert_msg(st == 0 || st == 200 || st >= 500, "%d %s", st,
			      out);
		finished = rc == ZTP_OK && st == 200 && used < n;
		ztp_free(out);
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
	/* A fresh handle (no memory of the rotations) reads the event log. */
	clk = T0 + DAY;
	ck_assert_rc(ztp_verifier_new(&v2), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_store(v2, store), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_clock(v2, ztp_clock_fixed, &clk), ZTP_OK);
	finished = false;
	for (long n = 1; n < 4000 && !finished; n++) {
		long used;
		int rc;

		ztp__alloc_fail_at(n);
		rc = ztp_verifier_maintain(v2, &n_rev);
		used = ztp__alloc_fail_at(0);
		ck_assert(rc == ZTP_OK || rc == ZTP_ENOMEM);
		finished = rc == ZTP_OK && used < n;
	}
	ck_assert_msg(finished, "allocation loop did not reach the end");
	/* Every superseded certificate is revoked in the end: all but the
	 * newest operational one. */
	{
		char *json = NULL;
		size_t n_op = 0;
		json_object *arr, *o;

		ck_assert_rc(ztp_store_device_certs(store, DEV, &json), ZTP_OK);
		arr = json_tokener_parse(json);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			ck_assert(json_object_object_get_ex(
			    json_object_array_get_idx(arr, i), "profile", &o));
			n_op += strcmp(json_object_get_string(o),
				       "operational") == 0;
		}
		json_object_put(arr);
		ztp_free(json);
		ck_assert_uint_ge(n_op, 2);
		ck_assert_uint_eq(count_revoked(DEV, "4"), n_op - 1);
	}
	ztp_verifier_free(v2);
	free(body);
	free(boot);
	free(op1);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}
END_TEST

/* ------------------------------------------------------------------
 * documentation */

static char *slurp_doc(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char path[4096], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(documented_codes)
{
	/* Every wire code, with its status, in doc/PROTOCOL.md and
	 * ztp-protocol(7); the table and the documents never drift. */
	char *json = NULL, *md, *man, needle[160];
	json_object *arr, *e, *c, *st;
	size_t n;

	if (getenv("top_srcdir") == NULL) {
		fprintf(stderr,
			"top_srcdir not set: documentation not checked\n");
		return;
	}
	md = slurp_doc("doc/PROTOCOL.md");
	man = slurp_doc("man/man7/ztp-protocol.7");
	ck_assert_rc(ztp_verifier_error_codes(&json), ZTP_OK);
	arr = json_tokener_parse(json);
	n = json_object_array_length(arr);
	ck_assert_uint_eq(n, ZTP__W_COUNT);
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		ck_assert(json_object_object_get_ex(e, "code", &c));
		ck_assert(json_object_object_get_ex(e, "status", &st));
		snprintf(needle, sizeof(needle), "| `%s` | %d |",
			 json_object_get_string(c), json_object_get_int(st));
		ck_assert_msg(strstr(md, needle) != NULL,
			      "doc/PROTOCOL.md lacks: %s", needle);
		snprintf(needle, sizeof(needle), ".BR %s \" (%d)\"",
			 json_object_get_string(c), json_object_get_int(st));
		ck_assert_msg(strstr(man, needle) != NULL,
			      "ztp-protocol(7) lacks: %s", needle);
	}
	json_object_put(arr);
	ztp_free(json);
	free(md);
	free(man);
}
END_TEST

/* ------------------------------------------------------------------ limits
 * Security limits hold across verifier handles that share a store (each
 * handle stands for a process or an instance): claim attempts per device,
 * and the per-device bucket of challenge and bootstrap. */

static int wcall(ztp_verifier *w, const char *ep, const char *body)
{
	char *out = NULL;
	int status = 0;

	ck_assert_rc(ztp_verifier_handle(w, &status, &out, ep, body,
					 strlen(body), NULL, 0),
		     ZTP_OK);
	ztp_free(out);
	return status;
}

/* Claims and challenges of device "dev-3" through handles a and b, which
 * share one registry. */
static void limits_across(ztp_verifier *a, ztp_verifier *b, ztp_store *sa)
{
	const char wrong[] = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA";
	const char *chal = "{\"device_id\":\"dev-3\"}";
	char *code = enroll_dev3_on(a), *json = NULL;

	/* 5 attempts, then one a minute: counted over both handles. */
	for (int i = 0; i < 5; i++)
		ck_assert_rc(ztp_verifier_claim(i % 2 ? b : a, "dev-3", wrong,
						"acme"),
			     ZTP_EMISMATCH);
	ck_assert_rc(ztp_verifier_claim(a, "dev-3", wrong, "acme"),
		     ZTP_ERATELIMIT);
	ck_assert_rc(ztp_verifier_claim(b, "dev-3", wrong, "acme"),
		     ZTP_ERATELIMIT);
	/* Not even the right code is evaluated now. */
	ck_assert_rc(ztp_verifier_claim(b, "dev-3", code, "acme"),
		     ZTP_ERATELIMIT);
	ck_assert_rc(ztp_store_device_get(sa, "dev-3", &json), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"state\":\"manufactured\""));
	ztp_free(json);
	clk += 59;
	ck_assert_rc(ztp_verifier_claim(a, "dev-3", code, "acme"),
		     ZTP_ERATELIMIT);
	clk += 1;
	ck_assert_rc(ztp_verifier_claim(b, "dev-3", code, "acme"), ZTP_OK);
	ck_assert_rc(ztp_verifier_claim(a, "dev-3", code, "globex"),
		     ZTP_ERATELIMIT);

	/* Challenges: a burst of 10 over both handles, then one per 5 s. */
	ck_assert_rc(ztp_verifier_set_rate_limit(a, "device", 0.2, 10), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(b, "device", 0.2, 10), ZTP_OK);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(wcall(i < 6 ? a : b, "challenge", chal), 200);
	ck_assert_int_eq(wcall(a, "challenge", chal), 429);
	ck_assert_int_eq(wcall(b, "challenge", chal), 429);
	/* bootstrap draws on the same bucket */
	ck_assert_int_eq(wcall(b, "bootstrap",
			       "{\"device_id\":\"dev-3\",\"nonce\":\"x\","
			       "\"csr\":\"x\",\"factory_cert\":\"x\","
			       "\"signature\":\"x\"}"),
			 429);
	clk += 5;
	ck_assert_int_eq(wcall(b, "challenge", chal), 200);
	ck_assert_int_eq(wcall(a, "challenge", chal), 429);
	ztp__free_secret(code, strlen(code));
}

START_TEST(limits_shared_memory)
{
	ztp_verifier *b = verifier_on(store);

	/* The fixture's handle and a second one on its memory: store. */
	limits_across(v, b, store);
	ztp_verifier_free(b);
}
END_TEST

START_TEST(limits_shared_sqlite)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "r.db"),
	     *uri = ztp_test_path("sqlite:", path);
	ztp_store *sa = NULL, *sb = NULL;
	ztp_verifier *a, *b;

	/* Two instances: each its own connection to one database file. */
	ck_assert_rc(ztp_store_open(&sa, uri), ZTP_OK);
	ck_assert_rc(ztp_store_open(&sb, uri), ZTP_OK);
	a = verifier_on(sa);
	b = verifier_on(sb);
	limits_across(a, b, sa);
	ztp_verifier_free(a);
	ztp_verifier_free(b);
	ztp_store_free(sa);
	ztp_store_free(sb);
	ztp_test_rmtree(dir);
	free(uri);
	free(path);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------------ floods
 * Junk requests must not grow the durable event log without bound: the
 * global bucket admits before anything is parsed, and refusals reach the
 * log at most 10 per endpoint and code, then one a minute; the counters
 * count every request. */

static int64_t event_rows(ztp_store *st)
{
	int64_t after = 0, n = 0;

	for (;;) {
		char *json = NULL;
		json_object *arr, *last, *seq;
		size_t len;

		ck_assert_rc(ztp_store_event_list(st, after, 1000, &json),
			     ZTP_OK);
		arr = json_tokener_parse(json);
		ztp_free(json);
		ck_assert_ptr_nonnull(arr);
		len = json_object_array_length(arr);
		if (len == 0) {
			json_object_put(arr);
			return n;
		}
		n += (int64_t)len;
		last = json_object_array_get_idx(arr, len - 1);
		ck_assert(json_object_object_get_ex(last, "seq", &seq));
		after = json_object_get_int64(seq);
		json_object_put(arr);
	}
}

static int64_t stat_of(ztp_verifier *w, const char *key)
{
	char *json = NULL;
	json_object *o, *m, *x;
	int64_t n = 0;

	ck_assert_rc(ztp_verifier_stats(w, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ck_assert_ptr_nonnull(o);
	if (json_object_object_get_ex(o, key, &x))
		n = json_object_get_int64(x);
	else if (json_object_object_get_ex(o, "rejected_by_code", &m) &&
		 json_object_object_get_ex(m, key, &x))
		n = json_object_get_int64(x);
	json_object_put(o);
	ztp_free(json);
	return n;
}

START_TEST(event_flood)
{
	char *dir = ztp_test_tmpdir(), *path = ztp_test_path(dir, "r.db"),
	     *uri = ztp_test_path("sqlite:", path);
	ztp_store *st = NULL;
	ztp_verifier *w;
	int64_t rows0, rows1;

	ck_assert_rc(ztp_store_open(&st, uri), ZTP_OK);
	w = verifier_on(st);
	/* One client, 2,000 one-byte bodies at one instant: the global
	 * bucket (burst 150) admits 150, which are refused as malformed. */
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "global", 100, 150),
		     ZTP_OK);
	rows0 = event_rows(st);
	for (int i = 0; i < 2000; i++)
		ck_assert_int_ge(wcall(w, "bootstrap", "x"), 400);
	rows1 = event_rows(st);
	ck_assert_msg(rows1 - rows0 <= 10, "%lld events from a flood",
		      (long long)(rows1 - rows0));
	ck_assert_int_ge(rows1 - rows0, 1);
	ck_assert_int_eq(stat_of(w, "requests"), 2000);
	ck_assert_int_eq(stat_of(w, "rejected"), 2000);
	ck_assert_int_eq(stat_of(w, "malformed_request"), 150);
	ck_assert_int_eq(stat_of(w, "rate_limited"), 1850);

	/* Without a global limit every body is parsed and refused: the
	 * log still takes at most 10 per endpoint and code. */
	ck_assert_rc(ztp_verifier_set_rate_limit(w, "global", 0, 0), ZTP_OK);
	for (int i = 0; i < 2000; i++)
		ck_assert_int_eq(wcall(w, "register", "{"), 400);
	ck_assert_int_le(event_rows(st) - rows1, 10);
	ck_assert_int_eq(stat_of(w, "malformed_request"), 2150);
	ck_assert_int_eq(stat_of(w, "requests"), 4000);
	/* A minute later one more is written, with the count of those that
	 * were left out since the last one written. */
	rows1 = event_rows(st);
	clk += 60;
	ck_assert_int_eq(wcall(w, "register", "{"), 400);
	ck_assert_int_eq(event_rows(st), rows1 + 1);
	{
		char *json = NULL;

		ck_assert_rc(ztp_store_event_list(st, rows1, 1, &json), ZTP_OK);
		ck_assert_msg(strstr(json, "\"suppressed\":1990") != NULL,
			      "%s", json);
		ztp_free(json);
	}
	/* Claims pass codes from people and portals through: claims for
	 * devices that do not exist share that budget too. */
	rows1 = event_rows(st);
	for (int i = 0; i < 2000; i++) {
		char id[32];

		snprintf(id, sizeof(id), "ghost-%d", i);
		if (i % 100 == 99)
			clk++; /* within the global claim limit, 100/s */
		ck_assert_rc(ztp_verifier_claim(
				 w, id, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
				 "acme"),
			     ZTP_ENOTFOUND);
	}
	ck_assert_int_le(event_rows(st) - rows1, 10);
	ck_assert_int_ge(stat_of(w, "events_suppressed"), 1990);
	ztp_verifier_free(w);
	ztp_store_free(st);
	ztp_test_rmtree(dir);
	free(uri);
	free(path);
	free(dir);
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
	r = expect_accept(&(breq){.device_id = "dev-3", .cert = c,
				  .sign_key = k3},
			  NULL);
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

static Suite *suite(void)
{
	Suite *s = suite_create("verifier");
	TCase *tc;

#define ADD(name, fn)                                                          \
	tc = tcase_create(name);                                               \
	tcase_add_checked_fixture(tc, setup, teardown);                        \
	tcase_set_timeout(tc, 120);                                            \
	tcase_add_test(tc, fn);                                                \
	suite_add_tcase(s, tc)

	ADD("ztp_verifier_set", config_setters);
	ADD("ztp_verifier_set", config_not_configured);
	ADD("ztp_verifier_load_config", config_file);
	ADD("ztp_verifier_check_cert", check_cert_profile);
	ADD("ztp_verifier_check_cert", check_cert_chain);
	ADD("ztp_verifier_check_cert", check_cert_validity_boundaries);
	ADD("ztp_verifier_handle", handle_arguments);
	ADD("challenge", challenge_endpoint);
	ADD("bootstrap", bootstrap_ok);
	ADD("bootstrap", bootstrap_key_types);
	ADD("bootstrap", bootstrap_chain_hint);
	ADD("identity", attack_identity);
	ADD("identity", attack_blocked_device);
	ADD("identity", attack_revoked_factory_cert);
	ADD("identity", attack_validity_boundaries);
	ADD("possession", attack_pop);
	ADD("possession", attack_challenge_expiry);
	ADD("possession", concurrent_replay);
	ADD("csr", attack_csr);
	ADD("input", attack_input);
	ADD("rate_limits", rate_limits);
	ADD("ztp_verifier_stats", events_and_stats);
	ADD("ztp_verifier_enroll", enroll);
	ADD("ztp_verifier_claim", claim);
	ADD("ztp_verifier_reset", reset_and_revoke);
	ADD("lifecycle", lifecycle);
	ADD("ztp_verifier_maintain", rotation_overlap);
	ADD("ztp_verifier_set_crl_file", crl_file);
	ADD("lifecycle", lifecycle_rate_limit);
	ADD("ztp_verifier_enroll", enroll_again);
	ADD("alloc", alloc_failures);
	ADD("alloc", alloc_failures_rotation);
	ADD("ztp_verifier_error_codes", documented_codes);
	ADD("limits_shared", limits_shared_memory);
	ADD("limits_shared", limits_shared_sqlite);
	ADD("event_flood", event_flood);
	ADD("credentials_factory_key", credentials_factory_key);
	ADD("credentials_factory_key", credentials_factory_key_learned);
#undef ADD
	return s;
}

int main(void)
{
	return ztp_test_run(suite());
}
