/*
 * The CA suite's fixtures, shared PKI and helpers and the test cases of
 * each of its files (tests/unit/ca_*.c), assembled by test_ca.c. A test case
 * whose tests live in several files is registered once per file, under the
 * same name, fixture and timeout.
 */
#ifndef ZTP_TEST_CA_H
#define ZTP_TEST_CA_H

#include "ca/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ztp/ca.h>
#include <ztp/store.h>

#include "testutil.h"

/* Outside a test, Check cannot report: fail loudly by hand. */
#define pki_must(expr, want)                                                   \
	do {                                                                   \
		int r_ = (expr);                                               \
		if (r_ != (want)) {                                            \
			fprintf(stderr, "%s: %d (%s)\n", #expr, r_,            \
				ztp_error_last_message());                     \
			exit(EXIT_FAILURE);                                    \
		}                                                              \
	} while (0)

extern char *g_root_cert, *g_root_key, *g_int_cert, *g_int_key, *g_iss_cert,
    *g_iss_key, *g_chain, *g_untrusted;
extern int64_t g_now;
extern ztp_store *store;
extern ztp_ca *ca;
X509 *pem_x509(const char *pem);
X509_CRL *pem_crl(const char *pem);
EVP_PKEY *keygen(const char *kind);
char *csr_pem(EVP_PKEY *key, const char *cn, const char *san);
char *csr_for(const char *kind);
int ext_critical(X509 *x, int nid);
int64_t t_of(const ASN1_TIME *t);
int verify_chain_for(X509 *leaf, const char *root_pem,
		     const char *untrusted_pem, int64_t at, int purpose);
int verify_chain(X509 *leaf, const char *root_pem, const char *untrusted_pem,
		 int64_t at);
int serial_bits(X509 *x);
char *serial_hex_of(X509 *x);
void fp_hex(char out[65], X509 *x);
void register_device(ztp_store *s, const char *id);
char *cat3(const char *a, const char *b, const char *c);
void build_pki(void);
void setup(void);
void teardown(void);
uint64_t cert_count(void);

void ca_tcases_names(Suite *s);
void ca_tcases_create(Suite *s);
void ca_tcases_issue(Suite *s);
void ca_tcases_server(Suite *s);
void ca_tcases_serials(Suite *s);
void ca_tcases_crl(Suite *s);
#ifdef HAVE_PKCS11
/* ca_hsm.c: CA keys in SoftHSM2 tokens, which main() makes first. */
void ca_tcases_hsm(Suite *s);
void ca_hsm_tokens(void);
void ca_hsm_cleanup(void);
#endif

#endif /* ZTP_TEST_CA_H */
