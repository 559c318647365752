/*
 * libztp — bounded file reads and crash-safe atomic replacement.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/*
 * A missing file is ZTP_ENOTFOUND (callers such as the device's credential
 * store treat "not there yet" differently from a failing disk); every other
 * failure is ZTP_EIO with the path and errno text.
 */
int ztp__file_read(char **out, size_t *outlen, const char *path, size_t max)
{
	int rc = ZTP_OK;
	int fd = -1;
	struct stat st;
	char *data = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;

	ZTP_ARG(out != NULL);
	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	ZTP_ARG(path != NULL);
	ZTP_ARG(max < SIZE_MAX);
	/* O_NONBLOCK so that opening a FIFO does not hang before the
	 * regular-file check refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ZTP_ENSURE(errno != ENOENT, ZTP_ENOTFOUND, "%s: no such file",
			   path);
		ZTP_ENSURE(0, ZTP_EIO, "%s: open: %s", path, strerror(errno));
	}
	ZTP_ENSURE(fstat(fd, &st) == 0, ZTP_EIO, "%s: fstat: %s", path,
		   strerror(errno));
	ZTP_ENSURE(S_ISREG(st.st_mode), ZTP_EIO, "%s: not a regular file",
		   path);
	ZTP_ENSURE(st.st_size >= 0 && (uintmax_t)st.st_size <= max, ZTP_ETOOBIG,
		   "%s: %jd bytes over the %zu-byte limit", path,
		   (intmax_t)st.st_size, max);
	/* The size is a hint: the file may change while we read, so the
	 * limit is enforced on the bytes actually read as well. */
	cap = (size_t)st.st_size + 1;
	data = ztp__malloc(cap);
	ZTP_ENSURE(data != NULL, ZTP_ENOMEM, "%s: out of memory", path);
	for (;;) {
		if (n == cap - 1) {
			char *grown;
			size_t ncap;

			if (n >= max) {
				/* Full at the limit: one more byte would
				 * exceed it. */
				char probe;

				r = read(fd, &probe, 1);
				if (r < 0 && errno == EINTR)
					continue;
				ZTP_ENSURE(r >= 0, ZTP_EIO, "%s: read: %s",
					   path, strerror(errno));
				ZTP_ENSURE(r == 0, ZTP_ETOOBIG,
					   "%s: over the %zu-byte limit", path,
					   max);
				break;
			}
			ncap = max - n < 4096 ? max + 1 : cap + 4096;
			grown = ztp__realloc(data, ncap);
			ZTP_ENSURE(grown != NULL, ZTP_ENOMEM,
				   "%s: out of memory", path);
			data = grown;
			cap = ncap;
		}
		r = read(fd, data + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		ZTP_ENSURE(r >= 0, ZTP_EIO, "%s: read: %s", path,
			   strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	data[n] = '\0';
	*out = data;
	if (outlen != NULL)
		*outlen = n;
	data = NULL;
cleanup:
	ztp_free(data);
	if (fd >= 0)
		close(fd);
	return rc;
}

int ztp__path_dir(char **out, const char *path)
{
	const char *slash = strrchr(path, '/');

	*out = NULL;
	if (slash == NULL)
		return ZTP_OK;
	/* "/f": the root, which the join below spells "//name": the same. */
	*out = ztp__strndup(path, slash == path ? 1 : (size_t)(slash - path));
	return *out != NULL ? ZTP_OK : ztp__err(ZTP_ENOMEM, "out of memory");
}

int ztp__path_join(char **out, const char *dir, const char *name)
{
	ztp__buf b = {0};
	int rc = ZTP_OK;

	*out = NULL;
	if (name[0] != '/' && dir != NULL) {
		ZTP_CHECK(ztp__buf_append_str(&b, dir));
		ZTP_CHECK(ztp__buf_append_byte(&b, '/'));
	}
	ZTP_CHECK(ztp__buf_append_str(&b, name));
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, NULL);
cleanup:
	ztp__buf_free(&b);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t w;

	errno = 0;
	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *dir = NULL;
	int dfd = -1, rc = ZTP_OK;

	ZTP_CHECK(ztp__path_dir(&dir, path));
	dfd = open(dir != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ZTP_ENSURE(dfd >= 0, ZTP_EIO, "%s: open directory: %s",
		   dir != NULL ? dir : ".", strerror(errno));
	ZTP_ENSURE(fsync(dfd) == 0, ZTP_EIO, "%s: fsync directory: %s",
		   dir != NULL ? dir : ".", strerror(errno));
cleanup:
	if (dfd >= 0)
		close(dfd);
	ztp_free(dir);
	return rc;
}

int ztp__file_create_exclusive(int *fd, const char *path, mode_t mode)
{
	int f = -1, rc = ZTP_OK;

	*fd = -1;
	ZTP_ARG(path != NULL && path[0] != '\0');
	f = open(path,
		 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
		     O_NOCTTY,
		 mode);
	ZTP_ENSURE(f >= 0, errno == EEXIST ? ZTP_EEXISTS : ZTP_EIO, "%s: %s",
		   path,
		   errno == EEXIST ? "file exists; refusing to replace it"
				   : strerror(errno));
	ZTP_ENSURE(fchmod(f, mode) == 0, ZTP_EIO, "%s: chmod: %s", path,
		   strerror(errno));
	ZTP_CHECK(fsync_dir_of(path));
	*fd = f;
	f = -1;
cleanup:
	if (f >= 0) {
		close(f);
		unlink(path);
	}
	return rc;
}

int ztp__file_append_sync(int fd, const void *data, size_t len,
			  const char *path)
{
	if (write_all(fd, data, len) != 0)
		return ztp__err(ZTP_EIO, "%s: write: %s", path,
				errno != 0 ? strerror(errno) : "short write");
	if (fsync(fd) != 0)
		return ztp__err(ZTP_EIO, "%s: fsync: %s", path,
				strerror(errno));
	return ZTP_OK;
}

/*
 * The temporary lives next to the target so rename() stays within one file
 * system and is atomic. O_EXCL|O_NOFOLLOW means a planted file or symlink
 * at the temporary name is never written through; the random suffix makes
 * such a collision unlikely in the first place. A symlink at the final path
 * is replaced, not followed.
 *
 * If the final directory fsync fails the new contents are already in place
 * under path; the call still reports ZTP_EIO because durability was not
 * confirmed.
 */
int ztp__file_write_atomic(const char *path, const void *data, size_t len,
			   mode_t mode)
{
	return ztp__file_write_atomic_ex(path, data, len, mode, 0);
}

int ztp_file_write_atomic(const char *path, const void *data, size_t len,
			  unsigned int mode, unsigned int flags)
{
	ZTP_ARG(mode <= 07777);
	ZTP_ARG((flags & ~ZTP_FILE_EXCLUSIVE) == 0);
	return ztp__file_write_atomic_ex(path, data, len, (mode_t)mode, flags);
}

int ztp__file_write_atomic_ex(const char *path, const void *data, size_t len,
			      mode_t mode, unsigned int flags)
{
	int rc = ZTP_OK;
	int fd = -1, dfd = -1, attempt, closed;
	char *dir = NULL, *tmp = NULL;
	const char *slash, *base;
	size_t dirlen, tmpcap;
	uint8_t rnd[8];
	char rndhex[2 * sizeof(rnd) + 1];
	bool created = false;

	ZTP_ARG(path != NULL && path[0] != '\0');
	ZTP_ARG(data != NULL || len == 0);
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	ZTP_ENSURE(base[0] != '\0', ZTP_EINVAL, "%s: path names a directory",
		   path);
	ZTP_CHECK(ztp__path_dir(&dir, path));
	if (dir == NULL)
		dir = ztp__strdup(".");
	ZTP_ENSURE(dir != NULL, ZTP_ENOMEM, "%s: out of memory", path);
	dirlen = strlen(dir);
	tmpcap = dirlen + strlen(base) + sizeof(rndhex) + 16;
	tmp = ztp__malloc(tmpcap);
	ZTP_ENSURE(tmp != NULL, ZTP_ENOMEM, "%s: out of memory", path);

	for (attempt = 0; attempt < 16; attempt++) {
		ZTP_ENSURE_OSSL(RAND_bytes(rnd, sizeof(rnd)) == 1, ZTP_ECRYPTO,
				"%s: no randomness for the temporary name",
				path);
		ztp__hex_encode(rndhex, rnd, sizeof(rnd));
		snprintf(tmp, tmpcap, "%s/.%s.%s.tmp", dir, base, rndhex);
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
			      O_NOCTTY,
			  mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	ZTP_ENSURE(fd >= 0, ZTP_EIO, "%s: create: %s", tmp, strerror(errno));
	created = true;
	/* The umask may have dropped bits the caller asked for; the caller's
	 * mode is the contract (0600 for keys must not become 0644 either,
	 * which O_CREAT already guarantees). */
	ZTP_ENSURE(fchmod(fd, mode) == 0, ZTP_EIO, "%s: chmod: %s", tmp,
		   strerror(errno));
	ZTP_ENSURE(write_all(fd, data, len) == 0, ZTP_EIO, "%s: write: %s", tmp,
		   errno != 0 ? strerror(errno) : "short write");
	ZTP_ENSURE(fsync(fd) == 0, ZTP_EIO, "%s: fsync: %s", tmp,
		   strerror(errno));
	/* close() can report a deferred write error (NFS). */
	closed = close(fd);
	fd = -1;
	ZTP_ENSURE(closed == 0, ZTP_EIO, "%s: close: %s", tmp, strerror(errno));
	if (flags & ZTP_FILE_EXCLUSIVE) {
		/* link() fails if path exists, where rename() would replace
		 * it; the temporary name is removed below either way. */
		ZTP_ENSURE(
		    link(tmp, path) == 0,
		    errno == EEXIST ? ZTP_EEXISTS : ZTP_EIO, "%s: %s", path,
		    errno == EEXIST ? "file exists; refusing to replace it"
				    : strerror(errno));
	} else {
		ZTP_ENSURE(rename(tmp, path) == 0, ZTP_EIO, "%s: rename: %s",
			   path, strerror(errno));
		created = false;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ZTP_ENSURE(dfd >= 0, ZTP_EIO, "%s: open directory: %s", dir,
		   strerror(errno));
	ZTP_ENSURE(fsync(dfd) == 0, ZTP_EIO, "%s: fsync directory: %s", dir,
		   strerror(errno));
cleanup:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (created)
		unlink(tmp);
	ztp_free(tmp);
	ztp_free(dir);
	return rc;
}
