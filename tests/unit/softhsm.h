/*
 * SoftHSM2 tokens for the unit tests: a real PKCS#11 module, its tokens
 * in a private directory. The module reads SOFTHSM2_CONF once, when it
 * is first initialised, so each test program has one configuration
 * (ztp_test_softhsm_init) and each test its own token.
 */
#ifndef ZTP_TEST_SOFTHSM_H
#define ZTP_TEST_SOFTHSM_H

#include <stddef.h>

#define ZTP_TEST_PIN "1234"
#define ZTP_TEST_SO_PIN "123456"

/* Set SOFTHSM2_CONF to a configuration under a new temporary directory
 * (once per process; later calls do nothing) and return the module's
 * path. Fails the running test if SoftHSM2 is not installed. */
const char *ztp_test_softhsm_init(void);
/* Remove the directory ztp_test_softhsm_init made (from main(), after
 * the suite ran). */
void ztp_test_softhsm_cleanup(void);
/* A new token with user PIN ZTP_TEST_PIN. The module lists only the
 * tokens that existed when it was initialised in the process, so a test
 * program makes all of its tokens in main(), before the suite runs
 * (under CK_FORK=no every test shares one initialised module). */
void ztp_test_softhsm_token(const char *label);
/* Remove the token (softhsm2-util --delete-token), as if pulled out. */
void ztp_test_softhsm_delete_token(const char *label);
/* "pkcs11:token=T;object=O?module-path=M" then "&" query if not NULL;
 * free() the result. */
char *ztp_test_p11_uri(const char *token, const char *object,
		       const char *query);
/* Run argv (a NULL-terminated list, found in PATH) with its standard
 * output to out (NULL: /dev/null); returns its exit status, -1 if it did
 * not exit normally. */
int ztp_test_run_tool(char *const argv[], const char *out);

#endif
