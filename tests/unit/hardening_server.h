/*
 * Server-side pieces of the hardening suite (store, CA, policy, verifier).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_HARDENING_SERVER_H
#define ZTP_HARDENING_SERVER_H

#include "hardening.h"

#include <ztp/ca.h>
#include <ztp/policy.h>
#include <ztp/store.h>

/* A root CA loaded into a handle that records into store. */
typedef struct hz_pki {
	char *dir;	/* private temp directory, removed by hz_pki_free */
	char *root_pem; /* the CA certificate */
	char *root_key; /* its key (secret) */
	ztp_ca *ca;
	ztp_store *store;
} hz_pki;

/* store_uri: "memory:" or NULL for sqlite:<dir>/registry.db */
void hz_pki_init(hz_pki *p, const char *store_uri);
void hz_pki_free(hz_pki *p);
uint64_t hz_cert_count(ztp_store *s);

void hz_add_alloc_server_tests(Suite *s);
void hz_add_store_fault_tests(Suite *s);
void hz_add_thread_tests(Suite *s);
void hz_add_verifier_tests(Suite *s);

#endif
