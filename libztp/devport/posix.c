/*
 * libztp — the host parts of the ports on POSIX (devport/host.h): heap,
 * file storage (0600 files in a 0700 directory, atomic replacement),
 * clock and sleep.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "devport/host.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_LEN 32
#define PATH_CAP 4096

static void *heap_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void heap_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

/* state_dir/name for a blob name of [a-z0-9.-]{1,32}. */
static int blob_path(ztp__lh *m, char *out, const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (i >= NAME_MAX_LEN || !((name[i] >= 'a' && name[i] <= 'z') ||
					   (name[i] >= '0' && name[i] <= '9') ||
					   name[i] == '.' || name[i] == '-'))
			return ztp__lh_fail(m, ZTP_EINVAL, "storage: bad name");
	if (i == 0 || name[0] == '.' ||
	    (size_t)snprintf(out, PATH_CAP, "%s/%s", m->state_dir, name) >=
		PATH_CAP)
		return ztp__lh_fail(m, ZTP_EINVAL, "storage: bad name");
	return ZTP_OK;
}

static int io_fail(ztp__lh *m, int code, const char *what, const char *path)
{
	/* A detail cut short is still a detail. */
	if (snprintf(m->err, sizeof(m->err), "%s: %s: %s", path, what,
		     strerror(errno)) < 0)
		m->err[0] = '\0';
	return code;
}

static int load(void *ctx, const char *name, uint8_t *buf, size_t cap,
		size_t *len)
{
	ztp__lh *m = ctx;
	char path[PATH_CAP];
	size_t n = 0;
	ssize_t r;
	int fd, rc;

	rc = blob_path(m, path, name);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? ZTP_ENOTFOUND
				       : io_fail(m, ZTP_EIO, "open", path);
	for (;;) {
		if (n == cap) {
			uint8_t one;

			r = read(fd, &one, 1);
			close(fd);
			if (r == 0)
				break;
			return ztp__lh_fail(m, ZTP_ETOOBIG,
					    "storage: blob too "
					    "large");
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = io_fail(m, ZTP_EIO, "read", path);
			close(fd);
			return rc;
		}
		if (r == 0) {
			close(fd);
			break;
		}
		n += (size_t)r;
	}
	*len = n;
	return ZTP_OK;
}

static int sync_dir(ztp__lh *m)
{
	int fd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return io_fail(m, ZTP_EIO, "open", m->state_dir);
	rc = fsync(fd) == 0 ? ZTP_OK
			    : io_fail(m, ZTP_EIO, "fsync", m->state_dir);
	close(fd);
	return rc;
}

static int store(void *ctx, const char *name, const uint8_t *data, size_t len)
{
	ztp__lh *m = ctx;
	char path[PATH_CAP], tmp[PATH_CAP + 16];
	size_t off = 0;
	ssize_t w;
	int fd, rc;

	rc = blob_path(m, path, name);
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp); /* 0600, O_EXCL */
	if (fd < 0)
		return io_fail(m, ZTP_EIO, "create", path);
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = io_fail(m, ZTP_EIO, "write", tmp);
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
		rc = io_fail(m, ZTP_EIO, "fsync", tmp);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = io_fail(m, ZTP_EIO, "close", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = io_fail(m, ZTP_EIO, "rename", path);
		goto fail;
	}
	return sync_dir(m);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

static int remove_blob(void *ctx, const char *name)
{
	ztp__lh *m = ctx;
	char path[PATH_CAP];
	int rc = blob_path(m, path, name);

	if (rc < 0)
		return rc;
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return ZTP_OK;
		return io_fail(m, ZTP_EIO, "unlink", path);
	}
	return sync_dir(m);
}

static int now(void *ctx, int64_t *t)
{
	ztp__lh *m = ctx;

	if (m->no_clock)
		return ZTP_ENOTFOUND;
	*t = (int64_t)time(NULL);
	return ZTP_OK;
}

static void sleep_ms(void *ctx, uint32_t ms)
{
	struct timespec ts, rem;

	(void)ctx;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

int ztp__lh_fail(ztp__lh *h, int code, const char *what)
{
	snprintf(h->err, sizeof(h->err), "%s", what);
	return code;
}

static const char *last_error(void *ctx)
{
	return ((ztp__lh *)ctx)->err;
}

void ztp__lh_posix_init(ztp__lh *m)
{
	m->lock_fd = -1;
	m->port.last_error = last_error;
	m->port.alloc = heap_alloc;
	m->port.dealloc = heap_free;
	m->port.load = load;
	m->port.store = store;
	m->port.remove = remove_blob;
	m->port.now = now;
	m->port.sleep_ms = sleep_ms;
}

int ztp__lh_state_open(ztp__lh *m, const char *dir)
{
	char path[PATH_CAP];
	struct stat st;

	m->state_dir = strdup(dir);
	if (m->state_dir == NULL)
		return ztp__lh_fail(m, ZTP_ENOMEM, "out of memory");

	if (mkdir(m->state_dir, 0700) != 0 && errno != EEXIST)
		return io_fail(m, ZTP_EIO, "mkdir", m->state_dir);
	if (lstat(m->state_dir, &st) != 0)
		return io_fail(m, ZTP_EIO, "stat", m->state_dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0)
		return ztp__lh_fail(m, ZTP_ESTATE,
				    "state_dir: not a directory owned by this "
				    "user and private to it");
	snprintf(path, sizeof(path), "%s/lock", m->state_dir);
	m->lock_fd =
	    open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (m->lock_fd < 0)
		return io_fail(m, ZTP_EIO, "open", path);
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return ztp__lh_fail(m, ZTP_ESTATE,
				    "state_dir: in use by another process");
	return ZTP_OK;
}

void ztp__lh_close(ztp__lh *m)
{
	free(m->state_dir);
	m->state_dir = NULL;
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	m->lock_fd = -1;
}

int ztp__lh_read_file(ztp__lh *m, const char *path, size_t max, char **out,
		      size_t *len)
{
	FILE *f = fopen(path, "rbe");
	struct stat st;
	char *buf;
	size_t n, want;

	*out = NULL;
	if (f == NULL)
		return errno == ENOENT ? (snprintf(m->err, sizeof(m->err),
						   "%s: no such file", path),
					  ZTP_ENOTFOUND)
				       : io_fail(m, ZTP_EIO, "open", path);
	/* Sized by the file, not by the bound: a device's heap is small. */
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return ztp__lh_fail(m, ZTP_EIO, "not a regular file");
	}
	if ((uintmax_t)st.st_size > max) {
		fclose(f);
		snprintf(m->err, sizeof(m->err), "%s: over %zu bytes", path,
			 max);
		return ZTP_ETOOBIG;
	}
	want = (size_t)st.st_size;
	buf = malloc(want + 2);
	if (buf == NULL) {
		fclose(f);
		return ztp__lh_fail(m, ZTP_ENOMEM, "out of memory");
	}
	/* One byte more than the size: a file that grew is noticed. */
	n = fread(buf, 1, want + 1, f);
	if (ferror(f) || n != want) {
		fclose(f);
		free(buf);
		return ztp__lh_fail(m, ZTP_EIO, "the file changed while read");
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return ZTP_OK;
}
