/*
 * The policy suite's shared helpers and the test cases of each of its files
 * (tests/unit/policy_*.c), assembled by test_policy.c.
 */
#ifndef ZTP_TEST_POLICY_H
#define ZTP_TEST_POLICY_H

#include <ztp/policy.h>

#include "testutil.h"

#define PUB ZTP_POLICY_PUBLISH
#define SUB ZTP_POLICY_SUBSCRIBE
#define RCV ZTP_POLICY_RECEIVE
#define CON ZTP_POLICY_CONNECT

/* A loaded policy handle (asserts on failure). */
ztp_policy *load(const char *doc);
/* A policy with one Allow statement for every action on resource r. */
ztp_policy *allow_only(const char *r);
/* ztp_policy_authorize() without a client ID. */
int az(ztp_policy *p, const char *tenant, const char *device, int action,
       const char *topic);

/* The tenant policy most cases use: each device confined to its own
 * namespace, broadcasts to read, a Deny carve-out for secrets. */
extern const char *const tenant_doc;

/* One test case per test function, with the suite's timeout. */
#define POLICY_ADD(s, name, fn)                                                \
	do {                                                                   \
		tc = tcase_create(name);                                       \
		tcase_set_timeout(tc, 60);                                     \
		tcase_add_test(tc, fn);                                        \
		suite_add_tcase(s, tc);                                        \
	} while (0)

void policy_tcases_match(Suite *s);
void policy_tcases_tenants(Suite *s);
void policy_tcases_load(Suite *s);
void policy_tcases_identity(Suite *s);
void policy_tcases_topics(Suite *s);

#endif /* ZTP_TEST_POLICY_H */
