/*
 * The verifier suite's fixture, shared helpers and the test cases of each of
 * its files (tests/unit/verifier_*.c), assembled by test_verifier.c.
 */
#ifndef ZTP_TEST_VERIFIER_H
#define ZTP_TEST_VERIFIER_H

#include "verifier/internal.h"

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

#include "verifier_pki.h"

#include "testutil.h"

#define DAY 86400

#define DEV "dev-1"

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

/* One test case per test function, with the suite's fixture and
 * timeout (needs `Suite *s` and `TCase *tc` in scope). */
#define ADD(name, fn)                                                          \
	tc = tcase_create(name);                                               \
	tcase_add_checked_fixture(tc, setup, teardown);                        \
	tcase_set_timeout(tc, 120);                                            \
	tcase_add_test(tc, fn);                                                \
	suite_add_tcase(s, tc)

extern int64_t T0;  /* test start */
extern int64_t clk; /* the verifier's and CA's clock */
extern EVP_PKEY *rkey, *ikey, *fkey, *f2key;
extern X509 *root, *issuing, *factory, *factory2;
extern char *root_pem, *iss_pem, *factory_pem, *factory2_pem;
extern ztp_store *store;
extern ztp_ca *dca;
extern ztp_verifier *v;
extern char last_event[4096];
extern int n_events;
extern char *dev1_code; /* dev-1's claim code from enrollment */
extern pthread_mutex_t event_lock;
void on_event(const char *json, void *ctx);
ztp_verifier *verifier_on(ztp_store *st);
void setup(void);
void teardown(void);
uint64_t cert_count(void);
char *device_state(const char *id);
int call(const char *ep, const char *body, size_t len, const char *peer,
	 json_object **resp);
const char *err_code(json_object *resp);
char *get_nonce(const char *id);
char *sign_b64(EVP_PKEY *key, const char *id, const char *nonce,
	       const uint8_t hash[32]);
void csr_hash(uint8_t out[32], X509_REQ *r);
char *build(const breq *b);
void expect_reject_body(const char *body, size_t len, const char *peer,
			int status, const char *code);
void expect_reject(const breq *b, const char *peer, int status,
		   const char *code);
json_object *expect_accept(const breq *b, const char *peer);
char *enroll_dev3_on(ztp_verifier *w);
char *enroll_dev3(void);
int lcall(const char *ep, const char *body, const char *peer,
	  json_object **resp);
char *csr_body(EVP_PKEY *k);
char *cert_of(json_object *r);
char *bootstrap_cert(void);
extern const char *REG;
void expect_code(int st, json_object **rp, int want, const char *code);
size_t count_revoked(const char *id, const char *reason);
char *registered_op(char **boot, EVP_PKEY *k);
/* Write text to the file name in dir. */
void write_file(const char *dir, const char *name, const char *text);

void verifier_tcases_config(Suite *s);
void verifier_tcases_check_cert(Suite *s);
void verifier_tcases_bootstrap(Suite *s);
void verifier_tcases_attacks(Suite *s);
void verifier_tcases_limits(Suite *s);
void verifier_tcases_enroll(Suite *s);
void verifier_tcases_lifecycle(Suite *s);
void verifier_tcases_alloc(Suite *s);
void verifier_tcases_metrics(Suite *s);
void verifier_tcases_ocsp(Suite *s);
void verifier_tcases_audit(Suite *s);
void verifier_tcases_import(Suite *s);
void verifier_tcases_groups(Suite *s);
void verifier_tcases_hook(Suite *s);
void verifier_tcases_brokers(Suite *s);
void verifier_tcases_rollover(Suite *s);

#endif /* ZTP_TEST_VERIFIER_H */
