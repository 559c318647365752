/*
 * libztp — the published CRL file: rewritten after every revocation the
 * verifier makes (revoke, reset, a superseded certificate whose rotation
 * overlap ended) and by ztp_verifier_maintain(), so that a broker watching
 * it (the Mosquitto plugin) drops revoked devices within seconds.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Writers are serialised by flock() on "<crl_file>.lock", across threads
 * (each call opens its own descriptor) and processes (`ztp-verify revoke`
 * beside a server): a CRL is made and written under the lock, so the file
 * only ever moves to a higher CRL number and a later file lists every
 * revocation committed before an earlier one was made. The file itself is
 * replaced atomically, so a reader never sees half a CRL.
 */
#include "verifier/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int ztp__verifier_publish_crl(ztp_verifier *v)
{
	ztp__buf lock = {0};
	char *pem = NULL;
	int fd = -1, rc = ZTP_OK;

	if (v->crl_file == NULL)
		return ZTP_OK;
	ZTP_ENSURE(v->ca != NULL && v->store != NULL, ZTP_ESTATE,
		   "crl_file %s: the verifier has no device CA or no store",
		   v->crl_file);
	ZTP_CHECK(ztp__buf_append_str(&lock, v->crl_file));
	ZTP_CHECK(ztp__buf_append_str(&lock, ".lock"));
	ZTP_CHECK(ztp__buf_terminate(&lock));
	/* Read-only is enough for flock(), so an administrator's
	 * `ztp-verify revoke` and the server may run as different users. */
	fd = open((const char *)lock.data,
		  O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	ZTP_ENSURE(fd >= 0, ZTP_EIO, "%s: open: %s", (const char *)lock.data,
		   strerror(errno));
	while (flock(fd, LOCK_EX) != 0)
		ZTP_ENSURE(errno == EINTR, ZTP_EIO, "%s: flock: %s",
			   (const char *)lock.data, strerror(errno));
	ZTP_CHECK(ztp_ca_crl(v->ca, &pem, 0));
	ZTP_CHECK(ztp__file_write_atomic(v->crl_file, pem, strlen(pem), 0644));
cleanup:
	if (fd >= 0)
		close(fd); /* releases the lock */
	ztp_free(pem);
	ztp__buf_free(&lock);
	return rc;
}

void ztp__verifier_crl_changed(ztp_verifier *v)
{
	json_object *ev;
	char ts[32];
	int rc;

	rc = ztp__verifier_publish_crl(v);
	if (rc == ZTP_OK)
		return;
	/* The revocation itself is recorded; only the broker's copy is
	 * stale, until the next revocation or `ztp-verify maintain`. */
	ev = json_object_new_object();
	if (ev == NULL)
		return;
	ztp__time_rfc3339(ts, ztp__now(&v->clock));
	if (ztp__json_add_str(ev, "type", "crl_file") == ZTP_OK &&
	    ztp__json_add_str(ev, "result", "rejected") == ZTP_OK &&
	    ztp__json_add_str(ev, "code", ztp_status_name(rc)) == ZTP_OK &&
	    ztp__json_add_str(ev, "message", ztp_error_last_message()) ==
		ZTP_OK &&
	    ztp__json_add_str(ev, "time", ts) == ZTP_OK)
		ztp__verifier_log(v, ev, true);
	json_object_put(ev);
}
