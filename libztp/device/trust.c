/*
 * libztp — the device's trust bundle: the CA certificates that verify the
 * server, as the verifier hands them out ("trust_bundle" in credentials,
 * rotate and assignment answers) during a rollover.
 *
 * STATE/trust/ has the A/B slots of the credentials (state.c): a bundle
 * that differs from the committed one is written to the spare slot's
 * bundle.pem, a connection to the server is made trusting it alone, and
 * only once that connection was verified does the manifest name the slot
 * (with the SHA-256 of the file). A bundle the device could not verify a
 * connection with is removed and the one in use stays. Until a bundle is
 * committed, the configured ca_file is used.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "device/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#define BUNDLE_FILE "bundle.pem"
#define BUNDLE_MAX (ZTP_CHAIN_MAX * 16 * 1024)

static void fingerprint_hex(char out[65], const char *text, size_t len)
{
	uint8_t d[32];

	if (ztp__sha256(d, text, len) != ZTP_OK)
		memset(d, 0, sizeof(d));
	ztp__hex_encode(out, d, sizeof(d));
}

int ztp__dev_trust_file(const ztp_device *dev, char **out)
{
	ztp__dev_manifest m;
	char *path = NULL, *text = NULL, fp[65];
	size_t len = 0;
	const char *s;
	int rc = ZTP_OK;

	*out = NULL;
	if (dev->trust_probe != NULL) {
		s = dev->trust_probe;
		goto copy;
	}
	if (dev->cfg.state_dir != NULL) {
		ZTP_CHECK(ztp__dev_manifest_read(&m, dev->cfg.state_dir,
						 ZTP__DEV_TRUST));
		if (m.current != 0) {
			ZTP_CHECK(ztp__dev_slot_path(&path, dev->cfg.state_dir,
						     ZTP__DEV_TRUST, m.current,
						     BUNDLE_FILE));
			ZTP_CHECK(
			    ztp__file_read(&text, &len, path, BUNDLE_MAX));
			fingerprint_hex(fp, text, len);
			ZTP_ENSURE(strcmp(fp, m.fingerprint) == 0,
				   ZTP_EMISMATCH,
				   "%s: not the trust bundle that was "
				   "committed",
				   path);
			*out = path;
			path = NULL;
			goto cleanup;
		}
	}
	ZTP_ENSURE(dev->cfg.ca_file != NULL, ZTP_EINVAL,
		   "no CA bundle configured to verify the server");
	s = dev->cfg.ca_file;
copy:
	*out = ztp__strdup(s);
	ZTP_ENSURE(*out != NULL, ZTP_ENOMEM, "out of memory");
cleanup:
	free(text);
	free(path);
	return rc;
}

/* The bundle of an answer as one PEM text, each certificate re-encoded;
 * NULL *out when the answer has none. */
static int bundle_text(char **out, json_object *resp, const char *what)
{
	json_object *arr = NULL, *e;
	X509 *c = NULL;
	char *one = NULL;
	ztp__buf b = {0};
	size_t n;
	int rc = ZTP_OK;

	*out = NULL;
	ZTP_CHECK(
	    ztp__json_array(resp, "trust_bundle", false, ZTP_CHAIN_MAX, &arr));
	if (arr == NULL)
		goto cleanup;
	n = json_object_array_length(arr);
	ZTP_ENSURE(n >= 1, ZTP_EPARSE, "%s: trust_bundle: empty", what);
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		ZTP_ENSURE(json_object_is_type(e, json_type_string), ZTP_EPARSE,
			   "%s: trust_bundle: not a string", what);
		rc = ztp__pem_cert(&c, json_object_get_string(e),
				   (size_t)json_object_get_string_len(e));
		if (rc < 0) {
			char detail[256];

			/* The message is the error buffer's: copy it first. */
			snprintf(detail, sizeof(detail), "%s",
				 ztp_error_last_message());
			rc = ztp__err(rc, "%s: trust_bundle entry %zu: %s",
				      what, i + 1, detail);
			goto cleanup;
		}
		ZTP_ENSURE(X509_check_ca(c) == 1, ZTP_EPROFILE,
			   "%s: trust_bundle entry %zu: not a CA certificate",
			   what, i + 1);
		ZTP_CHECK(ztp__cert_to_pem(&one, c));
		ZTP_CHECK(ztp__buf_append_str(&b, one));
		ztp_free(one);
		one = NULL;
		X509_free(c);
		c = NULL;
	}
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, NULL);
cleanup:
	ztp_free(one);
	X509_free(c);
	ztp__buf_free(&b);
	return rc;
}

int ztp__dev_parse_trust_bundle(json_object *resp, const char *what)
{
	char *text = NULL;
	int rc = bundle_text(&text, resp, what);

	free(text);
	return rc;
}

/* One connection to the server trusting path alone: the crl endpoint,
 * which needs no client certificate. Any HTTP answer means the server's
 * certificate was verified with it. */
static int probe(ztp_device *dev, const char *path)
{
	ztp__dev_http_result res = {0};
	ztp__buf ub = {0};
	int rc = ZTP_OK;

	ZTP_ENSURE(dev->cfg.base_url != NULL, ZTP_EINVAL,
		   "no server base URL configured");
	ZTP_CHECK(ztp__buf_append_str(&ub, dev->cfg.base_url));
	ZTP_CHECK(ztp__buf_append_str(&ub, ZTP__PATH_PREFIX));
	ZTP_CHECK(ztp__buf_append_str(&ub, "crl"));
	ZTP_CHECK(ztp__buf_terminate(&ub));
	dev->trust_probe = path;
	rc = ztp__dev_http_once(dev, (const char *)ub.data, "{}", NULL, &res);
	dev->trust_probe = NULL;
	ZTP_CHECK(rc);
	ZTP_ENSURE(res.status != 0, ZTP_ENETWORK,
		   "trust bundle probe: no "
		   "answer");
cleanup:
	ztp__dev_http_result_free(&res);
	ztp__buf_free(&ub);
	return rc;
}

static json_object *fp_fields(const char *fp)
{
	json_object *f = json_object_new_object();

	if (f != NULL && ztp__json_add_str(f, "fingerprint", fp) < 0) {
		json_object_put(f);
		f = NULL;
	}
	return f;
}

int ztp__dev_trust_update(ztp_device *dev, json_object *resp)
{
	const char *state = dev->cfg.state_dir;
	ztp__dev_manifest m;
	char *text = NULL, *path = NULL, fp[65], spare;
	char detail[512];
	size_t len;
	int rc = ZTP_OK, prc;

	ZTP_CHECK(bundle_text(&text, resp, "answer"));
	if (text == NULL || state == NULL)
		goto cleanup;
	len = strlen(text);
	fingerprint_hex(fp, text, len);
	ZTP_CHECK(ztp__dev_manifest_read(&m, state, ZTP__DEV_TRUST));
	if (m.current != 0 && strcmp(m.fingerprint, fp) == 0)
		goto cleanup; /* in use already */
	spare = m.current == 'a' ? 'b' : 'a';
	ZTP_CHECK(ztp__dev_kind_dirs(state, ZTP__DEV_TRUST));
	ZTP_CHECK(ztp__dev_slot_path(&path, state, ZTP__DEV_TRUST, spare,
				     BUNDLE_FILE));
	ZTP_CHECK(ztp__file_write_atomic(path, text, len, 0600));
	ztp__dev_step_event(dev, "trust_bundle", "stored", fp_fields(fp));
	prc = probe(dev, path);
	if (prc < 0) {
		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		ztp_error_clear();
		ZTP_ENSURE(unlink(path) == 0 || errno == ENOENT, ZTP_EIO,
			   "%s: %s", path, strerror(errno));
		{
			json_object *f = fp_fields(fp);

			if (f != NULL &&
			    ztp__json_add_str(f, "error", detail) < 0) {
				json_object_put(f);
				f = NULL;
			}
			ztp__dev_step_event(dev, "trust_bundle", "rolled_back",
					    f);
		}
		goto cleanup;
	}
	m.current = spare;
	m.pending = 0;
	memcpy(m.fingerprint, fp, sizeof(m.fingerprint));
	ZTP_CHECK(ztp__dev_manifest_write(&m, state, ZTP__DEV_TRUST));
	ztp__dev_step_event(dev, "trust_bundle", "committed", fp_fields(fp));
cleanup:
	free(text);
	free(path);
	return rc;
}
