/*
 * libztp — a device without a trustworthy clock ("clock": "untrusted" in
 * ztp-device.json(5)): the time floor it checks certificates against.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The floor starts at the library's build time (ZTP__BUILD_TIME) and is
 * raised to every server_time the verifier's challenge answer carries
 * over a TLS connection whose chain verified at the floor, never lowered.
 * It is kept in STATE/clock.json, {"version":1,"floor":"<RFC 3339>"},
 * replaced atomically (0600). A server_time at or past the notAfter of
 * the server certificate that delivered it is not taken: an honest server
 * does not serve an expired certificate, and so the floor can never be
 * pushed past what a certificate the device accepted vouches for (see
 * doc/SECURITY.md, "Devices without a trustworthy clock").
 */
#include "device/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_FILE "clock.json"
#define CLOCK_FILE_MAX 256

int64_t ztp__dev_build_time(void)
{
	return (int64_t)ZTP__BUILD_TIME;
}

int64_t ztp__dev_now(const ztp_device *dev)
{
	if (dev->cfg.clock_untrusted)
		return dev->floor;
	return ztp__now(&dev->clock);
}

static int clock_path(char **out, const char *state)
{
	return ztp__path_join(out, state, CLOCK_FILE);
}

int ztp__dev_floor_read(int64_t *floor, const char *state)
{
	static const char *const keys[] = {"version", "floor", NULL};
	int rc = ZTP_OK;
	char *path = NULL;
	size_t slen = 0;
	json_object *root = NULL;
	int64_t version = 0, t = 0;
	const char *s = NULL;

	*floor = ztp__dev_build_time();
	ZTP_CHECK(clock_path(&path, state));
	ZTP_CHECK(ztp__dev_json_file(&root, path, CLOCK_FILE_MAX, 2));
	if (root == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__json_only_keys(root, keys, "clock floor"));
	ZTP_CHECK(ztp__json_int(root, "version", true, 1, 1, &version));
	ZTP_CHECK(ztp__json_str(root, "floor", true, 32, &s, &slen));
	ZTP_CHECK(ztp__dev_parse_utc(&t, s, slen, "clock floor"));
	/* A floor from before this build (firmware updated since): the
	 * build time is the later of the two. */
	if (t > *floor)
		*floor = t;
cleanup:
	if (rc < 0) {
		char detail[512];

		/* The detail lives in the buffer ztp__err writes. */
		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		*floor = ztp__dev_build_time();
		(void)ztp__err(rc, "%s: %s", path != NULL ? path : CLOCK_FILE,
			       detail);
	}
	json_object_put(root);
	free(path);
	return rc;
}

int ztp__dev_floor_write(const char *state, int64_t floor)
{
	int rc = ZTP_OK;
	char *path = NULL, ts[32], doc[96];
	int n;

	ztp__time_rfc3339(ts, floor);
	n = snprintf(doc, sizeof(doc), "{\"version\":1,\"floor\":\"%s\"}\n",
		     ts);
	ZTP_ENSURE(n > 0 && (size_t)n < sizeof(doc), ZTP_EINTERNAL,
		   "clock floor: document too long");
	ZTP_CHECK(clock_path(&path, state));
	ZTP_CHECK(ztp__file_write_atomic(path, doc, (size_t)n, 0600));
cleanup:
	free(path);
	return rc;
}

int ztp__dev_parse_utc(int64_t *out, const char *s, size_t len,
		       const char *what)
{
	/* "YYYY-MM-DDTHH:MM:SSZ": UTC, to the second, nothing else. */
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (len != sizeof(shape) - 1)
		return ztp__err(ZTP_EPARSE,
				"%s: not an RFC 3339 UTC time to the second "
				"(YYYY-MM-DDTHH:MM:SSZ)",
				what);
	for (i = 0; i < len; i++) {
		bool ok = shape[i] == 'd' ? s[i] >= '0' && s[i] <= '9'
					  : s[i] == shape[i];

		if (!ok)
			return ztp__err(ZTP_EPARSE,
					"%s: not an RFC 3339 UTC time to the "
					"second (YYYY-MM-DDTHH:MM:SSZ)",
					what);
	}
	if (ztp__time_parse(out, s) < 0) {
		ztp_error_clear();
		return ztp__err(ZTP_EPARSE, "%s: not a valid date and time",
				what);
	}
	return ZTP_OK;
}

static void clock_event(ztp_device *dev, const char *step, int64_t server,
			int64_t floor)
{
	json_object *f = json_object_new_object();
	char ts[32];

	if (f == NULL)
		return;
	ztp__time_rfc3339(ts, server);
	if (ztp__json_add_str(f, "server_time", ts) < 0)
		goto fail;
	ztp__time_rfc3339(ts, floor);
	if (ztp__json_add_str(f, "floor", ts) < 0)
		goto fail;
	ztp__dev_step_event(dev, "clock", step, f);
	return;
fail:
	json_object_put(f);
}

int ztp__dev_floor_raise(ztp_device *dev, int64_t server_time,
			 int64_t peer_not_after)
{
	int rc = ZTP_OK;

	if (!dev->cfg.clock_untrusted)
		goto cleanup;
	if (server_time <= dev->floor) {
		/* Behind the floor (or the same second): never lowered. */
		clock_event(dev, "behind", server_time, dev->floor);
		goto cleanup;
	}
	if (peer_not_after <= 0 || server_time >= peer_not_after) {
		/* A server whose certificate has expired by its own clock
		 * is not believed. */
		clock_event(dev, "refused", server_time, dev->floor);
		goto cleanup;
	}
	ZTP_CHECK(ztp__dev_floor_write(dev->cfg.state_dir, server_time));
	dev->floor = server_time;
	clock_event(dev, "raised", server_time, dev->floor);
cleanup:
	return rc;
}

int ztp__dev_clock_begin(ztp_device *dev)
{
	if (!dev->cfg.clock_untrusted)
		return ZTP_OK;
	return ztp__dev_floor_read(&dev->floor, dev->cfg.state_dir);
}

int ztp__dev_challenge(ztp_device *dev, const char *id,
		       const ztp__dev_tls_id *tls, char **nonce,
		       int64_t *expires_at)
{
	int rc = ZTP_OK;
	json_object *req = NULL, *resp = NULL;
	int64_t server_time = -1;
	bool want = dev->cfg.clock_untrusted;

	*nonce = NULL;
	req = json_object_new_object();
	ZTP_ENSURE(req != NULL, ZTP_ENOMEM, "request: out of memory");
	ZTP_CHECK(ztp__json_add_str(req, "device_id", id));
	if (want)
		ZTP_CHECK(ztp__json_add(req, "server_time",
					json_object_new_boolean(1)));
	ZTP_CHECK(ztp__dev_call(dev, "challenge", req, tls, &resp));
	ZTP_CHECK(ztp__dev_parse_challenge(resp, want, nonce, expires_at,
					   &server_time));
	if (want)
		ZTP_CHECK(ztp__dev_floor_raise(dev, server_time,
					       dev->peer_not_after));
cleanup:
	if (rc < 0) {
		free(*nonce);
		*nonce = NULL;
	}
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

int ztp__dev_clock_sync(ztp_device *dev, const char *id)
{
	int rc = ZTP_OK;
	ztp__dev_cred op = {0}, boot = {0};
	ztp__dev_tls_id tls = {dev->cfg.factory_key, dev->cfg.factory_cert,
			       dev->cfg.factory_chain};
	const ztp__dev_tls_id *use = dev->cfg.factory_key != NULL ? &tls : NULL;
	ztp__dev_keys kb;
	const ztp__dev_keys *keys = ztp__dev_keys_of(&dev->cfg, &kb);
	char *nonce = NULL;
	int64_t expires = 0, na = 0;
	int k;

	if (!dev->cfg.clock_untrusted)
		goto cleanup;
	/* The identity the operation goes on with, so that it can keep
	 * the connection: a current credential valid at the floor, else
	 * the factory identity (else none: the challenge allows that). */
	for (k = ZTP__DEV_OPERATIONAL; k >= ZTP__DEV_BOOTSTRAP; k--) {
		ztp__dev_cred *c = k == ZTP__DEV_OPERATIONAL ? &op : &boot;

		rc = ztp__dev_cred_current(c, dev->cfg.state_dir, keys,
					   (ztp__dev_kind)k);
		if (rc == ZTP_ENOTFOUND) {
			ztp_error_clear();
			rc = ZTP_OK;
			continue;
		}
		ZTP_CHECK(rc);
		if (ztp__asn1_time(&na, X509_get0_notAfter(c->cert)) ==
			ZTP_OK &&
		    dev->floor < na) {
			tls.key = c->key;
			tls.cert = c->cert;
			tls.chain = c->chain;
			use = &tls;
			break;
		}
		ztp_error_clear();
	}
	ZTP_CHECK(ztp__dev_challenge(dev, id, use, &nonce, &expires));
cleanup:
	free(nonce);
	ztp__dev_cred_free(&op);
	ztp__dev_cred_free(&boot);
	return rc;
}
