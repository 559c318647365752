/*
 * The crypto suite's shared keys and helpers and the test cases of each of
 * its files (tests/unit/crypto_*.c), assembled by test_crypto.c.
 */
#ifndef ZTP_TEST_CRYPTO_H
#define ZTP_TEST_CRYPTO_H

#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "testutil.h"

struct certspec {
	int ncn;
	const char *cn[3];
	size_t cnlen[3]; /* 0: strlen */
	int cntype;	 /* 0: UTF8String */
	int nuri;
	const char *uri[4];
	size_t urilen[4]; /* 0: strlen */
	bool dup_san;
	bool dns_san;
};

extern EVP_PKEY *k_p256, *k_p256b, *k_p384, *k_ed25519, *k_rsa, *k_rsab;
extern const char explicit_ec_pub[];
extern const char dsa_pub[];
EVP_PKEY *pub_from_pem(const char *pem);
EVP_PKEY *gen_ec(const char *curve);
EVP_PKEY *gen_rsa(size_t bits);
void assert_detail(const char *needle);
extern const uint8_t msg[36]; /* sizeof: checked against the definition */
GENERAL_NAMES *make_sans(const struct certspec *cs);
X509 *make_cert(const struct certspec *cs);
X509 *simple_cert(const char *cn);
char *cert_pem(X509 *x);
char *wrap_pem(const char *label, const uint8_t *der, size_t len,
	       const char *eol);
char *concat(const char *a, const char *b);

void crypto_tcases_encoding(Suite *s);
void crypto_tcases_pem(Suite *s);
void crypto_tcases_files(Suite *s);
void crypto_tcases_keys(Suite *s);
void crypto_tcases_sig(Suite *s);
void crypto_tcases_names(Suite *s);
void crypto_tcases_time(Suite *s);
void crypto_tcases_alloc(Suite *s);

#endif /* ZTP_TEST_CRYPTO_H */
