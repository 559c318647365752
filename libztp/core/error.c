/*
 * libztp — the per-thread error detail (the status codes' names and
 * descriptions: core/status.c).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

/* One slot per thread; no allocation, so reporting ENOMEM cannot fail. */
static _Thread_local struct {
	ztp_error pub;
	const char *fixed; /* the literal msg holds a copy of, if any */
	char msg[ZTP__ERRMSG_MAX];
} tls_err = {{ZTP_OK, ""}, NULL, ""};

/* Messages are one line: control characters (which could come from
 * untrusted input echoed in a detail) become '?'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int verr(int code, const char *fmt, va_list ap) ZTP__PRINTF(2, 0);

static int verr(int code, const char *fmt, va_list ap)
{
	int n = vsnprintf(tls_err.msg, sizeof(tls_err.msg), fmt, ap);

	if (n < 0)
		tls_err.msg[0] = '\0';
	sanitize(tls_err.msg);
	tls_err.pub.code = code;
	tls_err.pub.message = tls_err.msg;
	tls_err.fixed = NULL;
	return code;
}

int ztp__err_fixed(int code, const char *msg)
{
	size_t n;

	if (tls_err.fixed == msg && tls_err.pub.code == code)
		return code;
	n = strnlen(msg, sizeof(tls_err.msg) - 1);
	memcpy(tls_err.msg, msg, n);
	tls_err.msg[n] = '\0';
	tls_err.pub.code = code;
	tls_err.pub.message = tls_err.msg;
	tls_err.fixed = msg;
	return code;
}

int ztp__err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(code, fmt, ap);
	va_end(ap);
	return code;
}

int ztp__err_ossl(int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e, last = 0;
	size_t used;
	char reason[256];

	/* Drain the queue: its last entry is the most specific reason. A
	 * failed allocation anywhere in it wins over the caller's code, since
	 * OpenSSL reports one deep in a parser as, say, "nested asn1 error"
	 * on top, and a lack of memory is no verdict on the input. */
	while ((e = ERR_get_error()) != 0) {
		last = e;
		if (ERR_GET_REASON(e) == ERR_GET_REASON(ERR_R_MALLOC_FAILURE))
			code = ZTP_ENOMEM;
	}
	va_start(ap, fmt);
	verr(code, fmt, ap);
	va_end(ap);
	if (last != 0) {
		ERR_error_string_n(last, reason, sizeof(reason));
		used = strlen(tls_err.msg);
		if (used < sizeof(tls_err.msg) - 4) {
			snprintf(tls_err.msg + used, sizeof(tls_err.msg) - used,
				 ": %s", reason);
			sanitize(tls_err.msg);
		}
	}
	return code;
}

void ztp__err_save(ztp__err_saved *s)
{
	s->code = tls_err.pub.code;
	memcpy(s->msg, tls_err.msg, sizeof(s->msg));
}

void ztp__err_restore(const ztp__err_saved *s)
{
	memcpy(tls_err.msg, s->msg, sizeof(tls_err.msg));
	tls_err.pub.code = s->code;
	tls_err.pub.message = tls_err.msg;
	tls_err.fixed = NULL;
}

const ztp_error *ztp_error_last(void)
{
	if (tls_err.pub.message == NULL)
		tls_err.pub.message = tls_err.msg;
	return &tls_err.pub;
}

int ztp_error_last_code(void)
{
	return tls_err.pub.code;
}

const char *ztp_error_last_message(void)
{
	return tls_err.msg;
}

void ztp_error_clear(void)
{
	tls_err.fixed = NULL;
	tls_err.pub.code = ZTP_OK;
	tls_err.msg[0] = '\0';
	tls_err.pub.message = tls_err.msg;
}
