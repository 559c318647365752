/*
 * Helpers shared by the command-line tools.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ztp/common.h>

/* Longest passphrase file accepted. */
#define PASS_MAX 4096

static const char *prog = "ztp";
static void (*cleanup_fn)(void);

void tool_set_cleanup(void (*fn)(void))
{
	cleanup_fn = fn;
}

static void run_cleanup(void)
{
	void (*fn)(void) = cleanup_fn;

	/* Once only, even if the cleanup itself fails and dies. */
	cleanup_fn = NULL;
	if (fn != NULL)
		fn();
}

static void wipe(void *p, size_t n)
{
	/* A volatile pointer keeps the compiler from dropping the stores. */
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

void tool_init(const char *name)
{
	prog = name;
}

const char *tool_prog(void)
{
	return prog;
}

static void vreport(int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vreport(int code, const char *fmt, va_list ap)
{
	char msg[1024];
	char *p;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line, whatever the message holds. */
	for (p = msg; *p; p++) {
		if ((unsigned char)*p < 0x20)
			*p = '?';
	}
	fprintf(stderr, "%s: %s: %s\n", prog, ztp_status_name(code), msg);
}

void tool_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(code, fmt, ap);
	va_end(ap);
	run_cleanup();
	exit(code == ZTP_EINVAL ? TOOL_EXIT_USAGE : TOOL_EXIT_FAIL);
}

void tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ZTP_EINVAL, fmt, ap);
	va_end(ap);
	run_cleanup();
	exit(TOOL_EXIT_USAGE);
}

void tool_report(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(code, fmt, ap);
	va_end(ap);
}

void tool_report_lib(int rc, const char *what)
{
	const char *detail = ztp_error_last_message();

	if (detail == NULL || *detail == '\0')
		detail = ztp_strerror(rc);
	tool_report(rc, "%s: %s", what, detail);
}

void tool_die_lib_status(int rc, int status, const char *what)
{
	tool_report_lib(rc, what);
	run_cleanup();
	exit(status);
}

void tool_die_lib(int rc, const char *what)
{
	/* Library failures are failures of the operation, even when the
	 * library calls them invalid arguments (a bad DN, device ID, …). */
	tool_die_lib_status(rc, TOOL_EXIT_FAIL, what);
}

long long tool_parse_ll(const char *s, long long min, long long max,
			const char *opt)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0' || !((*s >= '0' && *s <= '9') || *s == '-'))
		tool_usage_error("%s: expected a number", opt);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0')
		tool_usage_error("%s: expected a number, not \"%.32s\"", opt,
				 s);
	if (v < min || v > max)
		tool_usage_error("%s: %lld is outside %lld..%lld", opt, v, min,
				 max);
	return v;
}

int tool_load_file(char **out, size_t *len, const char *path, size_t max,
		   const char **why)
{
	struct stat st;
	char *buf = NULL, *nb;
	size_t n = 0, cap;
	ssize_t r;
	int fd, rc = ZTP_OK;

	*out = NULL;
	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*why = strerror(errno);
		return errno == ENOENT ? ZTP_ENOTFOUND : ZTP_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*why = "not a regular file";
		return ZTP_EIO;
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		*why = "too large";
		return ZTP_ETOOBIG;
	}
	/* Sized from st_size, but read to EOF rather than trusting it: the
	 * file may change while it is read. */
	cap = (size_t)st.st_size + 1;
	for (;;) {
		if (buf == NULL || n == cap) {
			if (buf != NULL)
				cap = cap > max / 2 ? max + 1 : cap * 2;
			nb = malloc(cap + 1);
			if (nb == NULL) {
				*why = "out of memory";
				rc = ZTP_ENOMEM;
				goto fail;
			}
			if (buf != NULL) {
				memcpy(nb, buf, n);
				wipe(buf, n);
				free(buf);
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = strerror(errno);
			rc = ZTP_EIO;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			*why = "too large";
			rc = ZTP_ETOOBIG;
			goto fail;
		}
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		*why = "contains a NUL byte";
		rc = ZTP_EPARSE;
		goto fail;
	}
	close(fd);
	if (len != NULL)
		*len = n;
	*out = buf;
	return ZTP_OK;
fail:
	close(fd);
	if (buf != NULL) {
		wipe(buf, n);
		free(buf);
	}
	return rc;
}

char *tool_read_file(const char *path, size_t max, size_t *len)
{
	const char *why;
	char *buf;
	int rc;

	rc = tool_load_file(&buf, len, path, max, &why);
	if (rc != ZTP_OK)
		tool_die(rc, "%s: %s", path, why);
	return buf;
}

int tool_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, bool exclusive, const char **err)
{
	int rc = ztp_file_write_atomic(path, data, len, (unsigned int)mode,
				       exclusive ? ZTP_FILE_EXCLUSIVE : 0);

	*err = rc == ZTP_OK ? NULL : ztp_error_last_message();
	return rc;
}

char *tool_read_passphrase(const char *file, const char *env_var)
{
	char *pass = NULL;
	size_t n;

	if (file != NULL && env_var != NULL)
		tool_usage_error(
		    "--pass-file and --pass-env exclude each other");
	if (file != NULL) {
		size_t line;

		pass = tool_read_file(file, PASS_MAX, &n);
		/* The first line is the passphrase, as with openssl's file:. */
		line = strcspn(pass, "\r\n");
		wipe(pass + line, n - line);
	} else if (env_var != NULL) {
		const char *v = getenv(env_var);

		if (v == NULL)
			tool_die(ZTP_ENOTFOUND,
				 "environment variable %.64s is not set",
				 env_var);
		pass = strdup(v);
		if (pass == NULL)
			tool_die(ZTP_ENOMEM, "out of memory");
	} else {
		return NULL;
	}
	if (*pass == '\0') {
		tool_free_secret(pass);
		tool_die(ZTP_EINVAL, "empty passphrase");
	}
	return pass;
}

void tool_free_secret(char *s)
{
	if (s == NULL)
		return;
	wipe(s, strlen(s));
	free(s);
}
