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

void tool_die_lib_status(int rc, int status, const char *what)
{
	const char *detail = ztp_error_last_message();

	if (detail == NULL || *detail == '\0')
		detail = ztp_strerror(rc);
	fprintf(stderr, "%s: %s: %s: %s\n", prog, ztp_status_name(rc), what,
		detail);
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

char *tool_read_file(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		tool_die(errno == ENOENT ? ZTP_ENOTFOUND : ZTP_EIO, "%s: %s",
			 path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		tool_die(ZTP_EIO, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		tool_die(ZTP_ETOOBIG, "%s: over %zu bytes", path, max);
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		close(fd);
		tool_die(ZTP_ENOMEM, "out of memory");
	}
	/* Read to EOF rather than trusting st_size: the file may change. */
	for (;;) {
		r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			wipe(buf, n);
			free(buf);
			tool_die(ZTP_EIO, "%s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			close(fd);
			wipe(buf, max + 1);
			free(buf);
			tool_die(ZTP_ETOOBIG, "%s: over %zu bytes", path, max);
		}
	}
	close(fd);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		wipe(buf, n);
		free(buf);
		tool_die(ZTP_EPARSE, "%s: contains a NUL byte", path);
	}
	if (len != NULL)
		*len = n;
	return buf;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int tool_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, bool exclusive, const char **err)
{
	char *tmp = NULL, *dir = NULL, *slash;
	int fd = -1, dfd, rc = ZTP_EIO;
	size_t plen = strlen(path);

	*err = "cannot create temporary file";
	tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	dir = strdup(path);
	if (tmp == NULL || dir == NULL) {
		rc = ZTP_ENOMEM;
		*err = "out of memory";
		goto cleanup;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	/* mkstemp creates the file 0600 and O_EXCL, so a secret is never
	 * readable by others, even for a moment. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		tmp = NULL;
		goto cleanup;
	}
	if (fchmod(fd, mode) != 0) {
		*err = "cannot set file mode";
		goto cleanup;
	}
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		*err = "cannot write file";
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		*err = "cannot write file";
		goto cleanup;
	}
	fd = -1;
	if (exclusive) {
		if (link(tmp, path) != 0) {
			if (errno == EEXIST) {
				rc = ZTP_EEXISTS;
				*err = "file exists; refusing to replace it";
			} else {
				*err = "cannot create file";
			}
			goto cleanup;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		*err = "cannot replace file";
		goto cleanup;
	}
	free(tmp);
	tmp = NULL;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		/* Best effort: some filesystems refuse fsync on directories. */
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
	*err = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
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
