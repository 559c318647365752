/*
 * Verifier: the suite, its fixture and shared helpers. Its test cases live
 * by topic in tests/unit/verifier_*.c: configuration, the identity check,
 * challenges, the bootstrap endpoint and every attack of the identity/chain,
 * proof-of-possession and replay, CSR/key-policy and input-parsing groups,
 * enrollment and claims, the lifecycle endpoints, limits, allocation
 * failures, the documented codes. Each negative test asserts the wire code
 * and HTTP status, that no certificate came back and that the store's
 * issued-certificate count and the device's state did not change.
 */
#include "test_verifier.h"

/* ------------------------------------------------------------------ fixture */

int64_t T0;  /* test start */
int64_t clk; /* the verifier's and CA's clock */

EVP_PKEY *rkey, *ikey, *fkey, *f2key;
X509 *root, *issuing, *factory, *factory2;
char *root_pem, *iss_pem, *factory_pem, *factory2_pem;
ztp_store *store;
ztp_ca *dca;
ztp_verifier *v;
char last_event[4096];
int n_events;
char *dev1_code; /* dev-1's claim code from enrollment */
/* events arrive on whichever thread decided (several at once in the
 * thread tests) */
pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;

void on_event(const char *json, void *ctx)
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
ztp_verifier *verifier_on(ztp_store *st)
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

void setup(void)
{
	char *code = NULL;

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

	/* One time for every decision: the rotation overlap is counted from
	 * the store's issued_at. */
	dca = vpki_device_ca(&store, &clk, NULL, NULL);

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

void teardown(void)
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

uint64_t cert_count(void)
{
	uint64_t n = 0;

	ck_assert_rc(ztp_store_cert_count(store, &n), ZTP_OK);
	return n;
}

char *device_state(const char *id)
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
int call(const char *ep, const char *body, size_t len, const char *peer,
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

const char *err_code(json_object *resp)
{
	json_object *e, *c;

	if (!json_object_object_get_ex(resp, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return "";
	return json_object_get_string(c);
}

char *get_nonce(const char *id)
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

char *sign_b64(EVP_PKEY *key, const char *id, const char *nonce,
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

void csr_hash(uint8_t out[32], X509_REQ *r)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(r, &der);

	ck_assert_int_gt(n, 0);
	ck_assert_rc(ztp__sha256(out, der, (size_t)n), ZTP_OK);
	OPENSSL_free(der);
}

char *build(const breq *b)
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
void expect_reject_body(const char *body, size_t len, const char *peer,
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

void expect_reject(const breq *b, const char *peer, int status,
		   const char *code)
{
	char *body = build(b);

	expect_reject_body(body, strlen(body), peer, status, code);
	free(body);
}

json_object *expect_accept(const breq *b, const char *peer)
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

/* Enroll "dev-3" through w; its claim code. */
char *enroll_dev3_on(ztp_verifier *w)
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

char *enroll_dev3(void)
{
	return enroll_dev3_on(v);
}

/* Call an endpoint with a peer certificate; returns status, *resp set. */
int lcall(const char *ep, const char *body, const char *peer,
	  json_object **resp)
{
	return call(ep, body, body ? strlen(body) : 0, peer, resp);
}

char *csr_body(EVP_PKEY *k)
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

char *cert_of(json_object *r)
{
	json_object *c;

	ck_assert_msg(json_object_object_get_ex(r, "certificate", &c), "%s",
		      json_object_to_json_string(r));
	return strdup(json_object_get_string(c));
}

/* Bootstrap dev-1 and return its bootstrap certificate. */
char *bootstrap_cert(void)
{
	json_object *r = expect_accept(&(breq){0}, NULL);
	char *pem = cert_of(r);

	json_object_put(r);
	return pem;
}

const char *REG = "{\"device_type\":\"sensor\",\"firmware_version\":\"1.2.3\","
		  "\"capabilities\":[\"mqtt\",\"ota\"]}";

/* rp, not *rp: the status call and the response are arguments of one
 * call, and C does not order their evaluation. */
void expect_code(int st, json_object **rp, int want, const char *code)
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
size_t count_revoked(const char *id, const char *reason)
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
void write_file(const char *dir, const char *name, const char *text)
{
	char *p = ztp_test_path(dir, name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

char *registered_op(char **boot, EVP_PKEY *k)
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

static Suite *suite(void)
{
	Suite *s = suite_create("verifier");

	verifier_tcases_config(s);
	verifier_tcases_check_cert(s);
	verifier_tcases_bootstrap(s);
	verifier_tcases_attacks(s);
	verifier_tcases_limits(s);
	verifier_tcases_enroll(s);
	verifier_tcases_lifecycle(s);
	verifier_tcases_alloc(s);
	verifier_tcases_metrics(s);
	verifier_tcases_ocsp(s);
	verifier_tcases_audit(s);
	verifier_tcases_import(s);
	verifier_tcases_groups(s);
	verifier_tcases_hook(s);
	verifier_tcases_brokers(s);
	verifier_tcases_rollover(s);
	return s;
}

int main(void)
{
	return ztp_test_run(suite());
}
