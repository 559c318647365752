/*
 * Refusal paths of the verifier, the CA and the policy engine that no
 * other suite reached (found with `make coverage`, doc/COVERAGE.md). Each
 * test asserts the exact status code, or for the verifier's endpoints the
 * HTTP status and wire code, and that nothing was issued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ztp/ca.h>
#include <ztp/policy.h>
#include <ztp/store.h>
#include <ztp/verifier.h>

#include "core/internal.h"

#include "testutil.h"
#include "verifier_pki.h"

#define DAY 86400
#define DEV "dev-1"
#define TOPIC "tenants/acme/devices/dev-1/telemetry"

/* ------------------------------------------------------------------ fixture */

/* A manufacturer PKI (root, issuing CA, dev-1's factory certificate), a
 * memory registry with dev-1 enrolled, a device CA on the registry and a
 * verifier using all of them, with rate limits off. */
static int64_t clk;
static EVP_PKEY *rkey, *ikey, *fkey;
static X509 *root, *issuing, *factory;
static char *root_pem, *iss_pem;
static ztp_store *store;
static ztp_ca *dca;
static X509 *dca_x509; /* the device CA's certificate and key, to forge */
static EVP_PKEY *dca_key;
static ztp_verifier *v;

static X509 *pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	ck_assert_ptr_nonnull(x);
	BIO_free(b);
	return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	ck_assert_ptr_nonnull(k);
	BIO_free(b);
	return k;
}

static void setup(void)
{
	char *cpem = NULL, *kpem = NULL, *code = NULL, *fpem;

	clk = (int64_t)time(NULL);
	rkey = vpki_key("ec-p256");
	ikey = vpki_key("ec-p256");
	fkey = vpki_key("ec-p256");
	root = vpki_ca("Maker Root", rkey, NULL, NULL, clk - 365 * DAY,
		       clk + 3650 * DAY);
	issuing = vpki_ca("Maker Issuing", ikey, root, rkey, clk - 365 * DAY,
			  clk + 3650 * DAY);
	factory =
	    vpki_leaf(DEV, fkey, issuing, ikey, clk - DAY, clk + 365 * DAY);
	root_pem = vpki_pem(root);
	iss_pem = vpki_pem(issuing);

	dca = vpki_device_ca(&store, &clk, &cpem, &kpem);
	dca_x509 = pem_x509(cpem);
	dca_key = pem_key(kpem);
	ztp_free(cpem);
	ztp_free(kpem);

	ck_assert_rc(ztp_verifier_new(&v), ZTP_OK);
	ck_assert_rc(
	    ztp_verifier_set_trust_anchors(v, root_pem, strlen(root_pem)),
	    ZTP_OK);
	ck_assert_rc(ztp_verifier_set_issuers(v, iss_pem, strlen(iss_pem)),
		     ZTP_OK);
	ck_assert_rc(ztp_verifier_set_ca(v, dca), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_store(v, store), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_clock(v, ztp_clock_fixed, &clk), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "device", 0, 0), ZTP_OK);
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0, 0), ZTP_OK);
	fpem = vpki_pem(factory);
	ck_assert_rc(
	    ztp_verifier_enroll(v, &code, DEV, fpem, strlen(fpem), NULL, NULL),
	    ZTP_OK);
	ztp_free(code);
	free(fpem);
}

static void teardown(void)
{
	ztp_verifier_free(v);
	ztp_ca_free(dca);
	ztp_store_free(store);
	X509_free(root);
	X509_free(issuing);
	X509_free(factory);
	X509_free(dca_x509);
	EVP_PKEY_free(dca_key);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	EVP_PKEY_free(fkey);
	free(root_pem);
	free(iss_pem);
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

/* Call an endpoint of w and check the refusal: HTTP status, wire code, a
 * message naming the reason, no certificate issued or returned. Returns
 * the error object's retry_after (0 when absent). */
static int64_t refused(ztp_verifier *w, const char *ep, const char *body,
		       size_t len, const char *peer, int want_status,
		       const char *want_code, const char *want_message)
{
	uint64_t before = store ? cert_count() : 0;
	char *out = NULL;
	json_object *r, *e, *c, *m, *ra;
	int status = 0;
	int64_t retry = 0;

	ck_assert_rc(ztp_verifier_handle(w, &status, &out, ep, body, len, peer,
					 peer ? strlen(peer) : 0),
		     ZTP_OK);
	ck_assert_ptr_nonnull(out);
	r = json_tokener_parse(out);
	ck_assert_msg(r != NULL, "not JSON: %s", out);
	ck_assert_msg(status == want_status &&
			  json_object_object_get_ex(r, "error", &e) &&
			  json_object_object_get_ex(e, "code", &c) &&
			  strcmp(json_object_get_string(c), want_code) == 0,
		      "%s: want %d %s, got %d %s", ep, want_status, want_code,
		      status, out);
	ck_assert(json_object_object_get_ex(e, "message", &m));
	ck_assert_msg(strstr(json_object_get_string(m), want_message) != NULL,
		      "%s: message \"%s\" lacks \"%s\"", ep,
		      json_object_get_string(m), want_message);
	if (json_object_object_get_ex(e, "retry_after", &ra))
		retry = json_object_get_int64(ra);
	ck_assert(!json_object_object_get_ex(r, "certificate", NULL));
	if (store)
		ck_assert_uint_eq(cert_count(), before);
	json_object_put(r);
	ztp_free(out);
	return retry;
}

/* ztp_verifier_check_cert() on one certificate: the status code, the wire
 * code and the reason in the result. */
static void check_refused(X509 *c, const char *untrusted, int want_rc,
			  const char *want_code, const char *want_message)
{
	char *pem = vpki_pem(c), *json = NULL, want[64];

	ck_assert_rc(
	    ztp_verifier_check_cert(v, &json, pem, strlen(pem), untrusted,
				    untrusted ? strlen(untrusted) : 0, 0),
	    want_rc);
	ck_assert_ptr_nonnull(json);
	snprintf(want, sizeof(want), "\"code\":\"%s\"", want_code);
	ck_assert_msg(strstr(json, want) != NULL, "want %s: %s", want, json);
	ck_assert_msg(strstr(json, want_message) != NULL, "want \"%s\": %s",
		      want_message, json);
	ck_assert_ptr_nonnull(strstr(json, "\"rejected\""));
	ztp_free(json);
	free(pem);
}

/* A certificate from the device CA for dev-1 (recorded in the registry). */
static char *dca_cert(const char *profile, const char *tenant)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509_REQ *req = vpki_csr(k, NULL);
	char *csr = vpki_csr_pem(req), *pem = NULL;

	ck_assert_rc(
	    ztp_ca_issue(dca, &pem, csr, strlen(csr), DEV, tenant, profile, 0),
	    ZTP_OK);
	free(csr);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return pem;
}

/* A fresh challenge nonce for dev-1 (malloc'd). */
static char *get_nonce(void)
{
	static const char body[] = "{\"device_id\":\"dev-1\"}";
	char *out = NULL, *nonce;
	json_object *r, *n;
	int status = 0;

	ck_assert_rc(ztp_verifier_handle(v, &status, &out, "challenge", body,
					 strlen(body), NULL, 0),
		     ZTP_OK);
	ck_assert_int_eq(status, 200);
	r = json_tokener_parse(out);
	ck_assert(json_object_object_get_ex(r, "nonce", &n));
	nonce = strdup(json_object_get_string(n));
	json_object_put(r);
	ztp_free(out);
	return nonce;
}

static char *device_state(void)
{
	char *json = NULL, *out;
	json_object *o, *st;

	ck_assert_rc(ztp_store_device_get(store, DEV, &json), ZTP_OK);
	o = json_tokener_parse(json);
	ck_assert(json_object_object_get_ex(o, "state", &st));
	out = strdup(json_object_get_string(st));
	json_object_put(o);
	ztp_free(json);
	return out;
}

/* -------------------------------------------------------- verifier: input */

/* field(): a required string that is present but empty. */
START_TEST(challenge_empty_device_id)
{
	static const char body[] = "{\"device_id\":\"\"}";

	refused(v, "challenge", body, strlen(body), NULL, 400,
		"malformed_request", "\"device_id\" is empty");
}
END_TEST

/* A factory_chain entry that is a string but not a certificate, on a
 * request that is otherwise well formed up to there (a live challenge). */
START_TEST(bootstrap_chain_entry_not_pem)
{
	char *fpem = vpki_pem(factory), *nonce = get_nonce();
	json_object *o = json_object_new_object();
	const char *body;

	json_object_object_add(o, "device_id", json_object_new_string(DEV));
	json_object_object_add(o, "nonce", json_object_new_string(nonce));
	json_object_object_add(o, "csr", json_object_new_string("x"));
	json_object_object_add(o, "factory_cert", json_object_new_string(fpem));
	json_object_object_add(o, "factory_chain",
			       json_tokener_parse("[\"not a PEM block\"]"));
	json_object_object_add(o, "signature", json_object_new_string("AAAA"));
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	refused(v, "bootstrap", body, strlen(body), NULL, 400,
		"malformed_request", "factory_chain[0]");
	json_object_put(o);
	free(nonce);
	free(fpem);
}
END_TEST

/* The verifier's key policy admits the CSR's key, the CA's does not: the
 * CA's refusal is the answer (400 key_policy), nothing is issued and the
 * device stays where it was. */
START_TEST(bootstrap_ca_key_policy)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509_REQ *req = vpki_csr(k, NULL);
	char *fpem = vpki_pem(factory), *csr = vpki_csr_pem(req);
	char *nonce = get_nonce(), *sig = NULL, *state;
	unsigned char *der = NULL;
	uint8_t h[32], *raw = NULL;
	size_t rawlen = 0;
	ztp__buf t = {0};
	ztp__sigalg alg;
	json_object *o = json_object_new_object();
	const char *body;
	int n = i2d_X509_REQ(req, &der);

	ck_assert_rc(ztp_ca_set_key_policy(dca, "ec-p384"), ZTP_OK);
	/* the transcript of doc/PROTOCOL.md, signed with the factory key */
	ck_assert_int_gt(n, 0);
	ck_assert_rc(ztp__sha256(h, der, (size_t)n), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, "ZTP-BOOTSTRAP-V1", 17), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, DEV, strlen(DEV) + 1), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, nonce, strlen(nonce) + 1), ZTP_OK);
	ck_assert_rc(ztp__buf_append(&t, h, sizeof(h)), ZTP_OK);
	ck_assert_rc(ztp__sigalg_for_key(&alg, fkey), ZTP_OK);
	ck_assert_rc(ztp__sig_sign(&raw, &rawlen, fkey, alg, t.data, t.len),
		     ZTP_OK);
	ck_assert_rc(ztp__b64_encode(&sig, raw, rawlen), ZTP_OK);

	json_object_object_add(o, "device_id", json_object_new_string(DEV));
	json_object_object_add(o, "nonce", json_object_new_string(nonce));
	json_object_object_add(o, "csr", json_object_new_string(csr));
	json_object_object_add(o, "factory_cert", json_object_new_string(fpem));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	refused(v, "bootstrap", body, strlen(body), NULL, 400, "key_policy",
		"ec-p256");
	state = device_state();
	ck_assert_str_eq(state, ZTP_STATE_MANUFACTURED);
	free(state);
	/* the CA accepting it again, the same request is a replay: the
	 * challenge was spent before issuance */
	ck_assert_rc(ztp_ca_set_key_policy(dca, "ec-p256"), ZTP_OK);
	refused(v, "bootstrap", body, strlen(body), NULL, 409,
		"challenge_replayed", "challenge already used");

	json_object_put(o);
	ztp__buf_free(&t);
	free(raw);
	free(sig);
	OPENSSL_free(der);
	free(nonce);
	free(csr);
	free(fpem);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}
END_TEST

/* The lifecycle and CRL endpoints' body parser: over the size limit, not
 * an object. */
START_TEST(lifecycle_body_refused)
{
	static const char *const eps[] = {"register", "credentials", "rotate",
					  "assignment", "crl"};
	char big[1100];

	ck_assert_rc(ztp_verifier_set_max_request_size(v, 1024), ZTP_OK);
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '}';
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		refused(v, eps[i], big, sizeof(big), NULL, 413,
			"request_too_large", "over the 1024-byte limit");
		refused(v, eps[i], "[1]", 3, NULL, 400, "malformed_request",
			"not a JSON object");
		refused(v, eps[i], "\"x\"", 3, NULL, 400, "malformed_request",
			"not a JSON object");
	}
}
END_TEST

/* A verifier without a device CA or a store cannot serve the lifecycle
 * or the CRL. */
START_TEST(lifecycle_not_configured)
{
	static const char *const eps[] = {"register", "credentials", "rotate",
					  "assignment", "crl"};
	ztp_verifier *w = NULL;
	ztp_store *saved = store;

	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	store = NULL; /* w has none: refused() must not count in it */
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++)
		refused(w, eps[i], "{}", 2, NULL, 503, "not_configured",
			"no device CA or no store");
	/* a store without a CA is not enough either */
	ck_assert_rc(ztp_verifier_set_store(w, saved), ZTP_OK);
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++)
		refused(w, eps[i], "{}", 2, NULL, 503, "not_configured",
			"no device CA or no store");
	store = saved;
	ztp_verifier_free(w);
}
END_TEST

/* The global bucket guards the lifecycle endpoints before any
 * certificate is looked at. */
START_TEST(lifecycle_global_rate_limited)
{
	char *boot = dca_cert(ZTP_CA_PROFILE_BOOTSTRAP, NULL);
	int64_t retry;

	/* one request per 10 s, burst 1: the first is served (and refused
	 * for its own reasons), the second waits */
	ck_assert_rc(ztp_verifier_set_rate_limit(v, "global", 0.1, 1), ZTP_OK);
	refused(v, "assignment", "{}", 2, boot, 403, "certificate_not_allowed",
		"bootstrap certificate cannot be used here");
	retry = refused(v, "assignment", "{}", 2, boot, 429, "rate_limited",
			"too many requests");
	ck_assert_int_eq(retry, 10);
	/* the clock moves on: served again */
	clk += 10;
	refused(v, "assignment", "{}", 2, boot, 403, "certificate_not_allowed",
		"bootstrap certificate cannot be used here");
	ztp_free(boot);
}
END_TEST

/* ------------------------------------------------ verifier: lifecycle state */

/* The registry says revoked while the certificate record does not (a
 * block written by another process, or a crash between the two writes):
 * the device is refused all the same. */
START_TEST(lifecycle_device_blocked)
{
	char *boot = dca_cert(ZTP_CA_PROFILE_BOOTSTRAP, NULL);
	char *op = dca_cert(ZTP_CA_PROFILE_OPERATIONAL, NULL);

	ck_assert_rc(ztp_store_device_set_state(store, DEV, NULL,
						ZTP_STATE_REVOKED, NULL),
		     ZTP_OK);
	refused(v, "register", "{}", 2, boot, 403, "device_blocked",
		"device dev-1 is blocked");
	refused(v, "credentials", "{}", 2, boot, 403, "device_blocked",
		"device dev-1 is blocked");
	refused(v, "assignment", "{}", 2, op, 403, "device_blocked",
		"device dev-1 is blocked");
	ztp_free(boot);
	ztp_free(op);
}
END_TEST

/* Registration bodies refused field by field; the device is not moved
 * on. */
START_TEST(register_body_refused)
{
	static const struct {
		const char *body, *message;
	} bad[] = {
	    {"{}", "device_type"},
	    {"{\"device_type\":\"sensor\",\"capabilities\":[]}",
	     "firmware_version"},
	    {"{\"device_type\":\"sensor\",\"firmware_version\":\"1.0\"}",
	     "capabilities"},
	    {"{\"device_type\":\"sensor\",\"firmware_version\":\"1.0\","
	     "\"capabilities\":[1]}",
	     "capabilities[0] must be an identifier"},
	    {"{\"device_type\":\"sensor\",\"firmware_version\":\"1.0\","
	     "\"capabilities\":[\"ota\",\"bad cap\"]}",
	     "capabilities[1] must be an identifier"},
	};
	static const char good[] =
	    "{\"device_type\":\"sensor\",\"firmware_version\":\"1.0\","
	    "\"capabilities\":[\"ota\"]}";
	char *boot = dca_cert(ZTP_CA_PROFILE_BOOTSTRAP, NULL), *state,
	     *out = NULL;
	int status = 0;

	ck_assert_rc(ztp_store_device_set_state(store, DEV, NULL,
						ZTP_STATE_BOOTSTRAPPED, NULL),
		     ZTP_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		refused(v, "register", bad[i].body, strlen(bad[i].body), boot,
			400, "malformed_request", bad[i].message);
		state = device_state();
		ck_assert_str_eq(state, ZTP_STATE_BOOTSTRAPPED);
		free(state);
	}
	/* the same certificate with a good body registers */
	ck_assert_rc(ztp_verifier_handle(v, &status, &out, "register", good,
					 strlen(good), boot, strlen(boot)),
		     ZTP_OK);
	ck_assert_msg(status == 200, "register: %d %s", status, out);
	ztp_free(out);
	state = device_state();
	ck_assert_str_eq(state, ZTP_STATE_REGISTERED);
	free(state);
	ztp_free(boot);
}
END_TEST

/* rotate keeps the identity: an operational certificate naming another
 * tenant than the registry's is sent to credentials instead. */
START_TEST(rotate_tenant_mismatch)
{
	char *op = dca_cert(ZTP_CA_PROFILE_OPERATIONAL, "globex");
	char *none = dca_cert(ZTP_CA_PROFILE_OPERATIONAL, NULL);
	EVP_PKEY *k = vpki_key("ec-p256");
	X509_REQ *req = vpki_csr(k, NULL);
	char *csr = vpki_csr_pem(req);
	json_object *o = json_object_new_object();
	const char *body;

	json_object_object_add(o, "csr", json_object_new_string(csr));
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ck_assert_rc(ztp_store_device_set_state(store, DEV, NULL,
						ZTP_STATE_ACTIVE, "acme"),
		     ZTP_OK);
	refused(v, "rotate", body, strlen(body), op, 409, "device_state",
		"the certificate's tenant is not the device's");
	/* no tenant in the certificate is not "acme" either */
	refused(v, "rotate", body, strlen(body), none, 409, "device_state",
		"the certificate's tenant is not the device's");
	json_object_put(o);
	free(csr);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	ztp_free(op);
	ztp_free(none);
}
END_TEST

/* TLS peer certificates signed with the device CA's key that the CA did
 * not issue through its registry (a leaked key, a CA used behind the
 * verifier's back): not on record, a recorded serial on other contents,
 * a CN that is not a device ID. */
START_TEST(lifecycle_peer_forged)
{
	vpki_cert_opts o = {.cn = DEV,
			    .san = "URI:urn:ztp:device:dev-1",
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = clk - 60,
			    .not_after = clk + DAY};
	char *boot = dca_cert(ZTP_CA_PROFILE_BOOTSTRAP, NULL), *pem;
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *real = pem_x509(boot), *c;

	c = vpki_cert(&o, k, dca_x509, dca_key);
	pem = vpki_pem(c);
	refused(v, "register", "{}", 2, pem, 401, "untrusted_certificate",
		"TLS peer certificate is not on record");
	free(pem);

	/* the serial of dev-1's real bootstrap certificate */
	ck_assert_int_eq(X509_set_serialNumber(c, X509_get_serialNumber(real)),
			 1);
	ck_assert_int_gt(X509_sign(c, dca_key, EVP_sha256()), 0);
	pem = vpki_pem(c);
	refused(v, "register", "{}", 2, pem, 401, "untrusted_certificate",
		"TLS peer certificate is not the one on record");
	free(pem);
	X509_free(c);

	o.cn = "dev 1";
	o.san = NULL;
	c = vpki_cert(&o, k, dca_x509, dca_key);
	pem = vpki_pem(c);
	refused(v, "register", "{}", 2, pem, 401, "bad_certificate_profile",
		"certificate CN");
	free(pem);
	X509_free(c);
	X509_free(real);
	EVP_PKEY_free(k);
	ztp_free(boot);
}
END_TEST

/* The one identity rule at the lifecycle endpoints: a certificate signed
 * with the device CA's key whose SAN names another device than its CN is
 * refused before the registry is asked, as the policy engine and the
 * bootstrap check refuse it. */
START_TEST(lifecycle_peer_names_disagree)
{
	vpki_cert_opts o = {.cn = DEV,
			    .san = "URI:urn:ztp:device:dev-2",
			    .bc = "critical,CA:FALSE",
			    .ku = "critical,digitalSignature",
			    .eku = "clientAuth",
			    .not_before = clk - 60,
			    .not_after = clk + DAY};
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c = vpki_cert(&o, k, dca_x509, dca_key);
	char *pem = vpki_pem(c);

	refused(v, "register", "{}", 2, pem, 401, "bad_certificate_profile",
		"differ");
	free(pem);
	X509_free(c);
	o.san = "URI:urn:ztp:device:dev-1,URI:urn:ztp:device:dev-2";
	c = vpki_cert(&o, k, dca_x509, dca_key);
	pem = vpki_pem(c);
	refused(v, "assignment", "{}", 2, pem, 401, "bad_certificate_profile",
		"names 2 devices");
	free(pem);
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

/* --------------------------------------------- verifier: the identity check */

/* A factory certificate with two basicConstraints extensions. OpenSSL 3
 * will not take an issuer for a certificate whose extensions do not parse,
 * so path building refuses it before the verifier's own profile check
 * (whose "malformed or duplicate extensions" refusal stays as a second
 * line). */
START_TEST(identity_duplicate_extension)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c = vpki_leaf(DEV, k, issuing, ikey, clk - DAY, clk + DAY);
	int i = X509_get_ext_by_NID(c, NID_basic_constraints, -1);

	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(X509_add_ext(c, X509_get_ext(c, i), -1), 1);
	ck_assert_int_gt(X509_sign(c, ikey, EVP_sha256()), 0);
	check_refused(c, NULL, ZTP_EUNTRUSTED, "untrusted_certificate",
		      "unable to get local issuer certificate");
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

/* A validity time OpenSSL accepts but RFC 5280 does not: GeneralizedTime
 * with fractional seconds (5280 4.1.2.5.2 forbids them). */
START_TEST(identity_malformed_validity)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509 *c = vpki_leaf(DEV, k, issuing, ikey, clk - DAY, clk + DAY);

	ck_assert_int_eq(ASN1_GENERALIZEDTIME_set_string(X509_getm_notBefore(c),
							 "20200101000000.5Z"),
			 1);
	ck_assert_int_gt(X509_sign(c, ikey, EVP_sha256()), 0);
	check_refused(c, NULL, ZTP_EPROFILE, "bad_certificate_profile",
		      "at depth 0 has a malformed validity time");
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

/* An intermediate whose extendedKeyUsage excludes clientAuth may not vouch
 * for a device, even when it is a configured issuer. */
START_TEST(identity_issuer_not_for_clients)
{
	vpki_cert_opts o = {.cn = "Server-only Issuing",
			    .bc = "critical,CA:TRUE",
			    .ku = "critical,keyCertSign,cRLSign",
			    .eku = "serverAuth",
			    .not_before = clk - DAY,
			    .not_after = clk + 365 * DAY};
	EVP_PKEY *mk = vpki_key("ec-p256"), *k = vpki_key("ec-p256");
	X509 *mid = vpki_cert(&o, mk, root, rkey);
	X509 *leaf = vpki_leaf(DEV, k, mid, mk, clk - DAY, clk + DAY);
	char *mid_pem = vpki_pem(mid);

	ck_assert_rc(ztp_verifier_set_issuers(v, mid_pem, strlen(mid_pem)),
		     ZTP_OK);
	check_refused(leaf, NULL, ZTP_EUNTRUSTED, "untrusted_certificate",
		      "CA certificate at depth 1 may not issue client "
		      "certificates");
	free(mid_pem);
	X509_free(leaf);
	X509_free(mid);
	EVP_PKEY_free(k);
	EVP_PKEY_free(mk);
}
END_TEST

/* ------------------------------------------------------ verifier: config */

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = ztp_test_path(dir, name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	free(p);
}

#define ANCHORS "\"trust_anchors\":\"roots.pem\",\"issuers\":\"issuers.pem\""

/* Configuration files refused, each with the exact code: empty paths,
 * rate limits that are not numbers, incomplete or out of range. */
START_TEST(config_refused)
{
	static const struct {
		const char *json;
		int rc;
		const char *message;
	} bad[] = {
	    {"{\"trust_anchors\":\"\"}", ZTP_EPARSE,
	     "\"trust_anchors\" is empty"},
	    {"{\"trust_anchors\":\"roots.pem\",\"issuers\":\"\"}", ZTP_EPARSE,
	     "\"issuers\" is empty"},
	    {"{" ANCHORS ",\"rate_limits\":{\"device\":"
	     "{\"rate\":\"fast\",\"burst\":1}}}",
	     ZTP_EPARSE, "\"rate\" must be a number"},
	    {"{" ANCHORS ",\"rate_limits\":{\"global\":{\"rate\":1}}}",
	     ZTP_EPARSE, "rate limit needs \"burst\""},
	    {"{" ANCHORS ",\"rate_limits\":{\"device\":"
	     "{\"rate\":-1,\"burst\":1}}}",
	     ZTP_EINVAL, "rate_limits.device out of range"},
	    {"{" ANCHORS ",\"rate_limits\":{\"lifecycle\":"
	     "{\"rate\":1,\"burst\":0}}}",
	     ZTP_EINVAL, "rate_limits.lifecycle out of range"},
	};
	char *dir = ztp_test_tmpdir(), *path;
	ztp_verifier *w = NULL;

	ck_assert_ptr_nonnull(dir);
	path = ztp_test_path(dir, "ztp.json");
	write_file(dir, "roots.pem", root_pem);
	write_file(dir, "issuers.pem", iss_pem);
	/* the good file these are variations of loads */
	write_file(dir, "ztp.json",
		   "{" ANCHORS ",\"rate_limits\":{\"device\":"
		   "{\"rate\":1,\"burst\":1}}}");
	ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
	ck_assert_rc(ztp_verifier_load_config(w, path), ZTP_OK);
	ztp_verifier_free(w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(dir, "ztp.json", bad[i].json);
		ck_assert_rc(ztp_verifier_new(&w), ZTP_OK);
		ck_assert_msg(ztp_verifier_load_config(w, path) == bad[i].rc &&
				  strstr(ztp_error_last_message(),
					 bad[i].message) != NULL,
			      "%s: got %s (%s)", bad[i].json,
			      ztp_status_name(ztp_error_last()->code),
			      ztp_error_last_message());
		ztp_verifier_free(w);
	}
	ztp_test_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

/* ---------------------------------------------------------------------- CA */

/* A CA whose clock is before its own notBefore issues nothing. */
START_TEST(ca_not_yet_valid)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509_REQ *req = vpki_csr(k, NULL);
	char *csr = vpki_csr_pem(req), *pem = NULL, *serial = NULL;
	uint64_t before = cert_count();
	int64_t na = 0;

	clk -= 30 * DAY;
	ck_assert_rc(ztp_ca_issue(dca, &pem, csr, strlen(csr), DEV, NULL,
				  ZTP_CA_PROFILE_BOOTSTRAP, 0),
		     ZTP_EEXPIRED);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "CA not valid before"));
	ck_assert_rc(ztp_ca_issue_ex(dca, &pem, &serial, &na, csr, strlen(csr),
				     DEV, NULL, ZTP_CA_PROFILE_OPERATIONAL, 0),
		     ZTP_EEXPIRED);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(serial);
	ck_assert_uint_eq(cert_count(), before);
	free(csr);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}
END_TEST

/* A handle with nothing loaded neither issues nor signs a sub-CA. */
START_TEST(ca_not_loaded)
{
	EVP_PKEY *k = vpki_key("ec-p256");
	X509_REQ *req = vpki_csr(k, NULL);
	char *csr = vpki_csr_pem(req), *pem = NULL, *key = NULL;
	ztp_ca *empty = NULL;

	ck_assert_rc(ztp_ca_new(&empty), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(empty, store), ZTP_OK);
	ck_assert_rc(ztp_ca_issue(empty, &pem, csr, strlen(csr), DEV, NULL,
				  ZTP_CA_PROFILE_BOOTSTRAP, 0),
		     ZTP_ESTATE);
	ck_assert_ptr_null(pem);
	ck_assert_rc(
	    ztp_ca_create_sub(empty, &pem, &key, "/CN=Sub", NULL, 30, 0),
	    ZTP_ESTATE);
	ck_assert_ptr_null(pem);
	ck_assert_ptr_null(key);
	ck_assert_uint_eq(cert_count(), 0);
	ztp_ca_free(empty);
	free(csr);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}
END_TEST

/* A CA certificate whose RSA key is under 2048 bits is not loaded: it
 * would sign with a key the key policy refuses everywhere else. */
START_TEST(ca_load_weak_rsa)
{
	EVP_PKEY *k = vpki_key("rsa-1024");
	X509 *c = vpki_ca("Weak CA", k, NULL, NULL, clk - DAY, clk + DAY);
	char *cpem = vpki_pem(c), *kpem = vpki_key_pem(k), *pem = NULL;
	ztp_ca *weak = NULL;

	ck_assert_rc(ztp_ca_new(&weak), ZTP_OK);
	ck_assert_rc(ztp_ca_load(weak, cpem, kpem, NULL, NULL), ZTP_EKEYPOLICY);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "rsa-1024 key too weak to sign"));
	/* and the handle stays unloaded */
	ck_assert_rc(ztp_ca_cert_pem(weak, &pem), ZTP_ESTATE);
	ck_assert_ptr_null(pem);
	ztp_ca_free(weak);
	free(cpem);
	free(kpem);
	X509_free(c);
	EVP_PKEY_free(k);
}
END_TEST

/* ------------------------------------------------------------------ policy */

/* Documents refused by the parser: a statement that is not an object, an
 * action that is not a string. As documented, a refused document leaves
 * no policy at all (fail closed): nothing is allowed afterwards. */
START_TEST(policy_document_refused)
{
	static const struct {
		const char *json, *message;
	} bad[] = {
	    {"{\"version\":\"2026-01\",\"statements\":[1]}",
	     "policy statement 0: not an object"},
	    {"{\"version\":\"2026-01\",\"statements\":[{\"effect\":"
	     "\"Allow\",\"actions\":[\"publish\",7],\"resources\":"
	     "[\"a/b\"]}]}",
	     "policy statement 0: action 1 is not a string"},
	};
	ztp_policy *p = NULL;
	char *doc = NULL, *lint = NULL;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_default_document(&doc), ZTP_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_rc(ztp_policy_load(p, doc, strlen(doc)), ZTP_OK);
		ck_assert_rc(ztp_policy_authorize(p, "acme", DEV, DEV,
						  ZTP_POLICY_PUBLISH, TOPIC,
						  strlen(TOPIC)),
			     ZTP_OK);
		ck_assert_rc(
		    ztp_policy_load(p, bad[i].json, strlen(bad[i].json)),
		    ZTP_EPARSE);
		ck_assert_msg(
		    strstr(ztp_error_last_message(), bad[i].message) != NULL,
		    "want \"%s\": %s", bad[i].message,
		    ztp_error_last_message());
		/* lint refuses it with the same code and nothing else */
		ck_assert_rc(
		    ztp_policy_lint(&lint, bad[i].json, strlen(bad[i].json)),
		    ZTP_EPARSE);
		ck_assert_ptr_null(lint);
		ck_assert_rc(ztp_policy_authorize(p, "acme", DEV, DEV,
						  ZTP_POLICY_PUBLISH, TOPIC,
						  strlen(TOPIC)),
			     ZTP_EDENIED);
		ck_assert_ptr_nonnull(
		    strstr(ztp_error_last_message(), "no policy loaded"));
	}
	ztp_free(doc);
	ztp_policy_free(p);
}
END_TEST

/* A client certificate that chains to the device CA and names a device is
 * still refused when it is a CA certificate. */
START_TEST(policy_identity_ca_cert)
{
	vpki_cert_opts o = {.cn = DEV,
			    .san = "URI:urn:ztp:device:dev-1",
			    .bc = "critical,CA:TRUE",
			    .ku = "critical,digitalSignature,keyCertSign",
			    .eku = "clientAuth",
			    .not_before = clk - DAY,
			    .not_after = clk + DAY};
	EVP_PKEY *k = vpki_key("ec-p256");
	ztp_policy *p = NULL;
	char *pem, *dev = NULL, *ten = NULL;
	X509 *c;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_set_clock(p, ztp_clock_fixed, &clk), ZTP_OK);
	ck_assert_rc(ztp_policy_add_ca_pem(p, root_pem, strlen(root_pem)),
		     ZTP_OK);
	/* the same certificate as a leaf is accepted */
	o.bc = "critical,CA:FALSE";
	o.ku = "critical,digitalSignature";
	c = vpki_cert(&o, k, root, rkey);
	pem = vpki_pem(c);
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_OK);
	ck_assert_str_eq(dev, DEV);
	ck_assert_ptr_null(ten);
	ztp_free(dev);
	free(pem);
	X509_free(c);

	o.bc = "critical,CA:TRUE";
	o.ku = "critical,digitalSignature,keyCertSign";
	c = vpki_cert(&o, k, root, rkey);
	pem = vpki_pem(c);
	ck_assert_rc(ztp_policy_cert_identity(&dev, &ten, p, pem, strlen(pem)),
		     ZTP_EPROFILE);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "is a CA certificate"));
	ck_assert_ptr_null(dev);
	ck_assert_ptr_null(ten);
	ck_assert_rc(ztp_policy_identity_from_cert(&dev, p, pem, strlen(pem)),
		     ZTP_EPROFILE);
	ck_assert_ptr_null(dev);
	free(pem);
	X509_free(c);
	EVP_PKEY_free(k);
	ztp_policy_free(p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("refusals");
	TCase *t = tcase_create("verifier");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, challenge_empty_device_id);
	tcase_add_test(t, bootstrap_chain_entry_not_pem);
	tcase_add_test(t, bootstrap_ca_key_policy);
	tcase_add_test(t, lifecycle_body_refused);
	tcase_add_test(t, lifecycle_not_configured);
	tcase_add_test(t, lifecycle_global_rate_limited);
	tcase_add_test(t, lifecycle_device_blocked);
	tcase_add_test(t, register_body_refused);
	tcase_add_test(t, rotate_tenant_mismatch);
	tcase_add_test(t, lifecycle_peer_forged);
	tcase_add_test(t, lifecycle_peer_names_disagree);
	tcase_add_test(t, identity_duplicate_extension);
	tcase_add_test(t, identity_malformed_validity);
	tcase_add_test(t, identity_issuer_not_for_clients);
	tcase_add_test(t, config_refused);
	suite_add_tcase(s, t);

	t = tcase_create("ca");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, ca_not_yet_valid);
	tcase_add_test(t, ca_not_loaded);
	tcase_add_test(t, ca_load_weak_rsa);
	suite_add_tcase(s, t);

	t = tcase_create("policy");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, policy_document_refused);
	tcase_add_test(t, policy_identity_ca_cert);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return ztp_test_run(suite());
}
