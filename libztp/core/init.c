/*
 * libztp — initialisation, version, clocks and events.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

#include <pthread.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = ZTP_OK;

static void init_run(void)
{
	/* Loading the config and error strings up front keeps the first
	 * request on a busy server from paying for it, and makes a broken
	 * OpenSSL install fail here rather than mid-protocol. No atexit:
	 * OpenSSL 3 cleans up on its own. */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
				     OPENSSL_INIT_ADD_ALL_CIPHERS |
				     OPENSSL_INIT_ADD_ALL_DIGESTS,
				 NULL)) {
		init_status = ZTP_ECRYPTO;
		return;
	}
	if (RAND_status() != 1)
		init_status = ZTP_ECRYPTO;
}

int ztp__ensure_init(void)
{
	if (pthread_once(&init_once, init_run) != 0)
		return ztp__err(ZTP_EINTERNAL, "pthread_once failed");
	if (init_status != ZTP_OK)
		return ztp__err_ossl(init_status,
				     "OpenSSL initialisation failed");
	return ZTP_OK;
}

int ztp_init(void)
{
	return ztp__ensure_init();
}

const char *ztp_version(void)
{
	return ZTP_VERSION_STRING;
}

unsigned int ztp_version_num(void)
{
	return ZTP_VERSION_NUM;
}

int64_t ztp_clock_system(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

int64_t ztp_clock_fixed(void *ctx)
{
	return ctx == NULL ? 0 : *(const int64_t *)ctx;
}

int64_t ztp__now(const ztp__clock *c)
{
	if (c == NULL || c->fn == NULL)
		return (int64_t)time(NULL);
	return c->fn(c->ctx);
}

void ztp__event_emit(const ztp__events *e, json_object *ev)
{
	const char *s;

	if (e == NULL || e->fn == NULL || ev == NULL)
		return;
	s = json_object_to_json_string_ext(
	    ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL)
		e->fn(s, e->ctx);
}
