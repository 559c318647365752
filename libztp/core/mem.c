/*
 * libztp — allocation wrappers (with a failure-injection hook for tests)
 * and the length-tracked buffer.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "core/protocol.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Failure injection: allocation number fail_at (1-based, counted from the
 * last ztp__alloc_fail_at call) and all later ones fail. Atomic so the hook
 * is harmless in threaded tests; zero cost beyond one load when unused. */
static atomic_long alloc_count;
static atomic_long alloc_fail_at;

static bool alloc_should_fail(void)
{
	long at = atomic_load_explicit(&alloc_fail_at, memory_order_relaxed);
	long n =
	    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) +
	    1;

	return at > 0 && n >= at;
}

long ztp__alloc_fail_at(long n)
{
	long made = atomic_exchange(&alloc_count, 0);

	atomic_store(&alloc_fail_at, n < 0 ? 0 : n);
	return made;
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return alloc_should_fail() ? NULL : malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return alloc_should_fail() ? NULL : realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

int ztp__alloc_hook_openssl(void)
{
	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
		return ztp__err(ZTP_ESTATE, "OpenSSL allocated before the "
					    "allocation hook was installed");
	return ZTP_OK;
}

static void *oom(size_t n)
{
	ztp__err(ZTP_ENOMEM, "out of memory allocating %zu bytes", n);
	return NULL;
}

void *ztp__malloc(size_t n)
{
	void *p;

	if (n == 0)
		n = 1;
	if (alloc_should_fail())
		return oom(n);
	p = malloc(n);
	return p ? p : oom(n);
}

void *ztp__calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return oom(SIZE_MAX);
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (alloc_should_fail())
		return oom(nmemb * size);
	p = calloc(nmemb, size);
	return p ? p : oom(nmemb * size);
}

void *ztp__realloc(void *old, size_t n)
{
	void *p;

	if (n == 0)
		n = 1;
	if (alloc_should_fail())
		return oom(n);
	p = realloc(old, n);
	return p ? p : oom(n);
}

void *ztp__memdup(const void *src, size_t n)
{
	void *p = ztp__malloc(n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
	return p;
}

char *ztp__strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = ztp__malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *ztp__strdup(const char *s)
{
	return ztp__memdup(s, strlen(s) + 1);
}

void ztp__free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void ztp_free(void *ptr)
{
	free(ptr);
}

/* ------------------------------------------------------------------ buf */

static int buf_reserve(ztp__buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return ztp__err(ZTP_ETOOBIG, "buffer size overflow");
	need = b->len + extra + 1; /* room for a terminator */
	if (need <= b->cap)
		return ZTP_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = ztp__realloc(b->data, cap);
	if (p == NULL)
		return ZTP_ENOMEM;
	b->data = p;
	b->cap = cap;
	return ZTP_OK;
}

int ztp__buf_append(ztp__buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc < 0)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return ZTP_OK;
}

int ztp__buf_append_str(ztp__buf *b, const char *s)
{
	return ztp__buf_append(b, s, strlen(s));
}

int ztp__buf_append_byte(ztp__buf *b, uint8_t c)
{
	return ztp__buf_append(b, &c, 1);
}

int ztp__buf_terminate(ztp__buf *b)
{
	int rc = buf_reserve(b, 0);

	if (rc < 0)
		return rc;
	b->data[b->len] = '\0';
	return ZTP_OK;
}

int ztp__transcript(ztp__buf *out, const char *device_id, const char *nonce,
		    size_t nonce_len,
		    const uint8_t csr_sha256[ZTP__TRANSCRIPT_HASH_LEN])
{
	size_t n = ztp__transcript_len(strlen(device_id), nonce_len);
	int rc = buf_reserve(out, n);

	if (rc < 0)
		return rc;
	n = ztp__transcript_write(out->data + out->len, out->cap - out->len,
				  device_id, nonce, nonce_len, csr_sha256);
	if (n == 0)
		return ztp__err(ZTP_EINVAL, "transcript: device ID too long");
	out->len += n;
	return ZTP_OK;
}

uint8_t *ztp__buf_steal(ztp__buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void ztp__buf_free(ztp__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void ztp__buf_free_secret(ztp__buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	ztp__buf_free(b);
}
