/*
 * libztp — device handle: configuration (setters and JSON file), status.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "device/internal.h"

#include "core/keysrc.h"
#include "devport/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <ztp/ca.h>

#define DEV_CA_MAX 64

/* The portable core's defaults, which ztp-device.json(5) documents. */
void ztp__dev_cfg_defaults(ztp__dev_cfg *c)
{
	ztp_lite_options o;

	memset(c, 0, sizeof(*c));
	ztp_lite_options_init(&o);
	memcpy(c->key_type, "ec-p256", sizeof("ec-p256"));
	c->connect_ms = ZTP__CONNECT_TIMEOUT_DEFAULT_MS;
	c->total_ms = ZTP__TIMEOUT_DEFAULT_MS;
	c->max_attempts = o.max_attempts;
	c->base_delay_ms = o.base_delay_ms;
	c->max_delay_ms = o.max_delay_ms;
	c->max_retry_after_ms = o.max_retry_after_ms;
	c->rotate_percent = o.rotate_percent;
	c->keep_alive = o.keep_alive != 0;
}

void ztp__dev_cfg_clear(ztp__dev_cfg *c)
{
	free(c->device_id);
	EVP_PKEY_free(c->factory_key);
	X509_free(c->factory_cert);
	sk_X509_pop_free(c->factory_chain, X509_free);
	free(c->base_url);
	free(c->ca_file);
	free(c->state_dir);
	free(c->device_type);
	free(c->firmware_version);
	json_object_put(c->capabilities);
	free(c->key_token);
	free(c->key_label);
	free(c->proxy);
	memset(c, 0, sizeof(*c));
}

static void replace_str(char **slot, char *val)
{
	free(*slot);
	*slot = val;
}

/* ------------------------------------------------------------------ setters on
 * a configuration */

static int cfg_set_id(ztp__dev_cfg *c, const char *id)
{
	int rc = ZTP_OK;
	char *copy = NULL;

	ZTP_CHECK(ztp__id_check(id, strlen(id), "device ID"));
	copy = ztp__strdup(id);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "device ID: out of memory");
	replace_str(&c->device_id, copy);
cleanup:
	return rc;
}

/* The file path named by a file: key source, or an error for any other
 * source than the token and TPM ones. Paths are taken literally (no
 * percent-decoding). */
static int key_source_path(const char **path, const char *src)
{
	int rc = ZTP_OK;

	ZTP_ENSURE(strncmp(src, "file:", 5) == 0, ZTP_EINVAL,
		   "factory key: source must be a file: URI (file:PATH), a "
		   "pkcs11: URI or a TPM handle (tpm2:handle=0x81XXXXXX)");
	*path = src + 5;
	if (strncmp(*path, "//", 2) == 0) {
		ZTP_ENSURE((*path)[2] == '/', ZTP_EINVAL,
			   "factory key: file:// URI with a host is not "
			   "supported; use file:///PATH or file:PATH");
		*path += 2;
	}
	ZTP_ENSURE(**path != '\0', ZTP_EINVAL, "factory key: empty path");
cleanup:
	return rc;
}

static int cfg_set_factory(ztp__dev_cfg *c, const char *key_source,
			   const char *cert_path)
{
	bool same = false;
	int rc = ZTP_OK;
	const char *key_path = NULL;
	char *cbuf = NULL;
	size_t clen = 0;
	EVP_PKEY *key = NULL;
	STACK_OF(X509) *certs = NULL;
	X509 *leaf = NULL;
	char id[ZTP_ID_MAX + 1];
	ztp__sigalg alg;

	/* Named without the URI, which may carry a PIN. */
	if (ztp__keysrc_is_pkcs11(key_source))
		key_path = "the token";
	else if (strncmp(key_source, "tpm2:", 5) == 0)
		key_path = "the TPM";
	else
		ZTP_CHECK(key_source_path(&key_path, key_source));
	ZTP_CHECK(ztp__keysrc_load(&key, key_source, NULL, "factory key"));
	ZTP_CHECK(ztp__sigalg_for_key(&alg, key));
	ZTP_CHECK(ztp__file_read(&cbuf, &clen, cert_path,
				 (size_t)ZTP_PEM_MAX * ZTP_CHAIN_MAX));
	ZTP_CHECK(ztp__pem_certs(&certs, cbuf, clen, ZTP_CHAIN_MAX));
	leaf = sk_X509_shift(certs);
	ZTP_ENSURE(leaf != NULL, ZTP_EPARSE, "factory certificate: empty");
	ZTP_CHECK(ztp__pubkey_same(&same, X509_get0_pubkey(leaf), key));
	ZTP_ENSURE(same, ZTP_EMISMATCH,
		   "factory identity: the key in %s does not belong to the "
		   "certificate in %s",
		   key_path, cert_path);
	ZTP_CHECK(ztp__cert_device_id(id, leaf));

	EVP_PKEY_free(c->factory_key);
	X509_free(c->factory_cert);
	sk_X509_pop_free(c->factory_chain, X509_free);
	c->factory_key = key;
	c->factory_cert = leaf;
	c->factory_chain = certs;
	key = NULL;
	leaf = NULL;
	certs = NULL;
cleanup:
	free(cbuf);
	EVP_PKEY_free(key);
	X509_free(leaf);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static int cfg_set_url(ztp__dev_cfg *c, const char *url)
{
	int rc = ZTP_OK;
	size_t len = strlen(url), i, host_end;
	char *copy = NULL;
	const size_t pre = sizeof("https://") - 1;

	ZTP_ENSURE(len <= ZTP__DEV_URL_MAX, ZTP_EINVAL,
		   "base URL: longer than %d bytes", ZTP__DEV_URL_MAX);
	ZTP_ENSURE(strncmp(url, "https://", pre) == 0, ZTP_EINVAL,
		   "base URL: must start with https://");
	for (i = 0; i < len; i++)
		ZTP_ENSURE(ztp__url_char((unsigned char)url[i]), ZTP_EINVAL,
			   "base URL: character at offset %zu not allowed "
			   "(no spaces, controls, query or fragment)",
			   i);
	for (host_end = pre; host_end < len && url[host_end] != '/'; host_end++)
		ZTP_ENSURE(url[host_end] != '@', ZTP_EINVAL,
			   "base URL: user information is not allowed");
	ZTP_ENSURE(host_end > pre && url[pre] != ':', ZTP_EINVAL,
		   "base URL: no host");
	while (len > host_end && url[len - 1] == '/')
		len--;
	copy = ztp__strndup(url, len);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "base URL: out of memory");
	replace_str(&c->base_url, copy);
cleanup:
	return rc;
}

static int cfg_set_ca(ztp__dev_cfg *c, const char *path)
{
	int rc = ZTP_OK;
	char *buf = NULL, *copy = NULL;
	size_t len = 0;
	STACK_OF(X509) *certs = NULL;

	ZTP_ENSURE(*path != '\0', ZTP_EINVAL, "CA file: empty path");
	ZTP_CHECK(
	    ztp__file_read(&buf, &len, path, (size_t)ZTP_PEM_MAX * DEV_CA_MAX));
	ZTP_CHECK(ztp__pem_certs(&certs, buf, len, DEV_CA_MAX));
	copy = ztp__strdup(path);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "CA file: out of memory");
	replace_str(&c->ca_file, copy);
cleanup:
	free(buf);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static int cfg_set_key_type(ztp__dev_cfg *c, const char *type)
{
	static const char *const types[] = {"ec-p256",	"ec-p384",  "ed25519",
					    "rsa-2048", "rsa-3072", "rsa-4096"};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(types); i++) {
		if (strcmp(type, types[i]) == 0) {
			memcpy(c->key_type, types[i], strlen(types[i]) + 1);
			return ZTP_OK;
		}
	}
	return ztp__err(ZTP_EINVAL,
			"key type: unknown \"%.32s\" (ec-p256, ec-p384, "
			"ed25519, rsa-2048, rsa-3072, rsa-4096)",
			type);
}

static int cfg_set_state(ztp__dev_cfg *c, const char *path)
{
	int rc = ZTP_OK;
	char *copy = NULL;

	ZTP_ENSURE(*path != '\0', ZTP_EINVAL, "state directory: empty path");
	ZTP_ENSURE(strlen(path) < 3072, ZTP_EINVAL,
		   "state directory: path too long");
	copy = ztp__strdup(path);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "state directory: out of memory");
	replace_str(&c->state_dir, copy);
cleanup:
	return rc;
}

static int cfg_set_timeouts(ztp__dev_cfg *c, int64_t connect_ms,
			    int64_t total_ms)
{
	if (connect_ms < 1 || connect_ms > ZTP__TIMEOUT_MAX_MS ||
	    total_ms < 1 || total_ms > ZTP__TIMEOUT_MAX_MS ||
	    total_ms < connect_ms)
		return ztp__err(ZTP_EINVAL,
				"timeouts: need 1 <= connect (%lld) <= total "
				"(%lld) <= %d ms",
				(long long)connect_ms, (long long)total_ms,
				ZTP__TIMEOUT_MAX_MS);
	c->connect_ms = connect_ms;
	c->total_ms = total_ms;
	return ZTP_OK;
}

static int cfg_set_retry(ztp__dev_cfg *c, int64_t attempts, int64_t base,
			 int64_t cap, int64_t max_ra)
{
	if (attempts < 1 || attempts > ZTP__ATTEMPTS_MAX)
		return ztp__err(ZTP_EINVAL,
				"retry: max_attempts %lld not in 1..%d",
				(long long)attempts, ZTP__ATTEMPTS_MAX);
	if (base < 1 || base > ZTP__DELAY_MAX_MS || cap < base ||
	    cap > ZTP__DELAY_MAX_MS)
		return ztp__err(ZTP_EINVAL,
				"retry: need 1 <= base_delay_ms (%lld) <= "
				"max_delay_ms (%lld) <= %d",
				(long long)base, (long long)cap,
				ZTP__DELAY_MAX_MS);
	if (max_ra < 0 || max_ra > ZTP__RETRY_AFTER_SETTING_MAX_MS)
		return ztp__err(
		    ZTP_EINVAL, "retry: max_retry_after_ms %lld not in 0..%d",
		    (long long)max_ra, ZTP__RETRY_AFTER_SETTING_MAX_MS);
	c->max_attempts = (int)attempts;
	c->base_delay_ms = base;
	c->max_delay_ms = cap;
	c->max_retry_after_ms = max_ra;
	return ZTP_OK;
}

/* Generated keys in the token named by uri (a pkcs11: URI, checked when a
 * key is made or loaded there) under objects labelled label-KIND-SLOT;
 * uri NULL: in key files. */
static int cfg_set_key_store(ztp__dev_cfg *c, const char *uri,
			     const char *label)
{
	int rc = ZTP_OK;
	char *u = NULL, *l = NULL;

	if (uri != NULL) {
		ZTP_CHECK(ztp__dev_keys_check(uri, &label));
		u = ztp__strdup(uri);
		l = ztp__strdup(label);
		ZTP_ENSURE(u != NULL && l != NULL, ZTP_ENOMEM,
			   "operational key: out of memory");
	}
	replace_str(&c->key_token, u);
	replace_str(&c->key_label, l);
	u = l = NULL;
cleanup:
	free(u);
	free(l);
	return rc;
}

/* An HTTP proxy (ztp__proxy_parse(): one grammar for both ports), kept
 * without a trailing "/". */
static int cfg_set_proxy(ztp__dev_cfg *c, const char *url)
{
	int rc = ZTP_OK;
	ztp__proxy px;
	const char *why = "";
	char *copy = NULL;

	ZTP_ENSURE(ztp__proxy_parse(&px, url, &why) == ZTP_OK, ZTP_EINVAL,
		   "proxy: %s", why);
	copy = ztp__strndup(url, px.url_len);
	ZTP_ENSURE(copy != NULL, ZTP_ENOMEM, "proxy: out of memory");
	replace_str(&c->proxy, copy);
cleanup:
	return rc;
}

/* ------------------------------------------------------------------ handle */

int ztp_device_new(ztp_device **out)
{
	int rc = ZTP_OK;
	ztp_device *dev = NULL;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_CHECK(ztp__ensure_init());
	dev = ztp__calloc(1, sizeof(*dev));
	ZTP_ENSURE(dev != NULL, ZTP_ENOMEM, "device: out of memory");
	ztp__dev_cfg_defaults(&dev->cfg);
	*out = dev;
cleanup:
	return rc;
}

void ztp_device_free(ztp_device *dev)
{
	if (dev == NULL)
		return;
	ztp__dev_conn_close(dev);
	ztp__dev_cfg_clear(&dev->cfg);
	OPENSSL_cleanse(dev, sizeof(*dev));
	free(dev);
}

int ztp_device_set_id(ztp_device *dev, const char *device_id)
{
	ZTP_ARG(dev != NULL);
	ZTP_ARG(device_id != NULL);
	return cfg_set_id(&dev->cfg, device_id);
}

int ztp_device_set_factory_identity(ztp_device *dev, const char *key_source,
				    const char *cert_path)
{
	ZTP_ARG(dev != NULL);
	ZTP_ARG(key_source != NULL);
	ZTP_ARG(cert_path != NULL);
	return cfg_set_factory(&dev->cfg, key_source, cert_path);
}

int ztp_device_set_base_url(ztp_device *dev, const char *url)
{
	ZTP_ARG(dev != NULL);
	ZTP_ARG(url != NULL);
	return cfg_set_url(&dev->cfg, url);
}

int ztp_device_set_ca_file(ztp_device *dev, const char *path)
{
	ZTP_ARG(dev != NULL);
	ZTP_ARG(path != NULL);
	return cfg_set_ca(&dev->cfg, path);
}

int ztp_device_set_key_type(ztp_device *dev, const char *type)
{
	ZTP_ARG(dev != NULL);
	ZTP_ARG(type != NULL);
	return cfg_set_key_type(&dev->cfg, type);
}

int ztp_device_set_state_dir(ztp_device *dev, const char *path)
{
	ZTP_ARG(dev != NULL);
	ZTP_ARG(path != NULL);
	return cfg_set_state(&dev->cfg, path);
}

int ztp_device_set_key_store(ztp_device *dev, const char *token_uri,
			     const char *label)
{
	ZTP_ARG(dev != NULL);
	return cfg_set_key_store(&dev->cfg, token_uri, label);
}

int ztp_device_set_timeouts(ztp_device *dev, int64_t connect_ms,
			    int64_t total_ms)
{
	ZTP_ARG(dev != NULL);
	return cfg_set_timeouts(&dev->cfg, connect_ms, total_ms);
}

int ztp_device_set_retry(ztp_device *dev, int max_attempts,
			 int64_t base_delay_ms, int64_t max_delay_ms,
			 int64_t max_retry_after_ms)
{
	ZTP_ARG(dev != NULL);
	return cfg_set_retry(&dev->cfg, max_attempts, base_delay_ms,
			     max_delay_ms, max_retry_after_ms);
}

int ztp_device_set_event_callback(ztp_device *dev, ztp_event_fn fn, void *ctx)
{
	ZTP_ARG(dev != NULL);
	dev->events.fn = fn;
	dev->events.ctx = ctx;
	return ZTP_OK;
}

int ztp_device_set_clock(ztp_device *dev, ztp_clock_fn fn, void *ctx)
{
	ZTP_ARG(dev != NULL);
	dev->clock.fn = fn;
	dev->clock.ctx = ctx;
	return ZTP_OK;
}

int ztp__dev_id(const ztp_device *dev, char out[ZTP_ID_MAX + 1])
{
	int rc = ZTP_OK;
	char fid[ZTP_ID_MAX + 1];

	if (dev->cfg.factory_cert != NULL) {
		ZTP_CHECK(ztp__cert_device_id(fid, dev->cfg.factory_cert));
		ZTP_ENSURE(dev->cfg.device_id == NULL ||
			       strcmp(dev->cfg.device_id, fid) == 0,
			   ZTP_EMISMATCH,
			   "device ID \"%s\" differs from \"%s\" named by the "
			   "factory certificate",
			   dev->cfg.device_id, fid);
		memcpy(out, fid, strlen(fid) + 1);
		goto cleanup;
	}
	ZTP_ENSURE(dev->cfg.device_id != NULL, ZTP_EINVAL,
		   "no device ID configured and no factory certificate to "
		   "read it from");
	memcpy(out, dev->cfg.device_id, strlen(dev->cfg.device_id) + 1);
cleanup:
	return rc;
}

void ztp__dev_event(ztp_device *dev, const char *name, json_object *fields)
{
	json_object *ev = NULL;
	char ts[32];

	if (dev->events.fn == NULL)
		goto cleanup;
	ev = json_object_new_object();
	if (ev == NULL)
		goto cleanup;
	ztp__time_rfc3339(ts, ztp__now(&dev->clock));
	if (ztp__json_add_str(ev, "event", name) < 0 ||
	    ztp__json_add_str(ev, "time", ts) < 0)
		goto cleanup;
	if (fields != NULL) {
		json_object_object_foreach(fields, k, v)
		{
			if (ztp__json_add(ev, k, json_object_get(v)) < 0)
				goto cleanup;
		}
	}
	ztp__event_emit(&dev->events, ev);
cleanup:
	json_object_put(ev);
	json_object_put(fields);
}

/* ------------------------------------------------------------------
 * configuration file */

/* The members of a configuration file (read by ztp__lh_cfg_read(), the
 * reader of the portable core's ports) into c, which holds the defaults,
 * through the setters' own checks. */
static int cfg_from_file(ztp__dev_cfg *c, const ztp__lh_cfg *f)
{
	int rc = ZTP_OK;
	ztp__buf src = {0};
	json_object *caps = NULL;
	size_t i;

	if (f->device_id[0] != '\0')
		ZTP_CHECK(cfg_set_id(c, f->device_id));
	if (f->factory_key[0] != '\0') {
		/* The reader gives a file key as its path. */
		if (!ztp__lh_key_uri(f->factory_key))
			ZTP_CHECK(ztp__buf_append_str(&src, "file:"));
		ZTP_CHECK(ztp__buf_append_str(&src, f->factory_key));
		ZTP_CHECK(ztp__buf_terminate(&src));
		ZTP_CHECK(cfg_set_factory(c, (const char *)src.data,
					  f->factory_cert));
	}
	if (f->base_url[0] != '\0')
		ZTP_CHECK(cfg_set_url(c, f->base_url));
	if (f->ca_file[0] != '\0')
		ZTP_CHECK(cfg_set_ca(c, f->ca_file));
	ZTP_CHECK(cfg_set_key_type(c, ztp__lh_key_types[f->key_type]));
	if (f->state_dir[0] != '\0')
		ZTP_CHECK(cfg_set_state(c, f->state_dir));
	ZTP_CHECK(cfg_set_timeouts(c, f->connect_ms, f->timeout_ms));
	ZTP_CHECK(
	    cfg_set_retry(c, f->attempts, f->base_ms, f->max_ms, f->ra_ms));
	if (f->device_type[0] != '\0') {
		caps = json_object_new_array();
		ZTP_ENSURE(caps != NULL, ZTP_ENOMEM, "config: out of memory");
		for (i = 0; i < f->n_caps; i++) {
			json_object *one = json_object_new_string(f->caps[i]);

			if (one != NULL &&
			    json_object_array_add(caps, one) != 0) {
				json_object_put(one);
				one = NULL;
			}
			ZTP_ENSURE(one != NULL, ZTP_ENOMEM,
				   "config: out of memory");
		}
		c->device_type = ztp__strdup(f->device_type);
		c->firmware_version = ztp__strdup(f->firmware_version);
		ZTP_ENSURE(c->device_type != NULL &&
			       c->firmware_version != NULL,
			   ZTP_ENOMEM, "config: out of memory");
		c->capabilities = caps;
		caps = NULL;
	}
	c->rotate_percent = (int)f->rotate;
	if (f->key_token[0] != '\0')
		ZTP_CHECK(cfg_set_key_store(
		    c, f->key_token,
		    f->key_label[0] != '\0' ? f->key_label : NULL));
	c->clock_untrusted = strcmp(f->clock, "untrusted") == 0;
	if (f->proxy_url[0] != '\0')
		ZTP_CHECK(cfg_set_proxy(c, f->proxy_url));
	c->keep_alive = !f->no_keep_alive;
cleanup:
	json_object_put(caps);
	ztp__buf_free(&src);
	return rc;
}

int ztp_device_load_config(ztp_device *dev, const char *path)
{
	int rc = ZTP_OK;
	char err[512];
	ztp__lh_cfg *f = NULL;
	ztp__dev_cfg c;

	ZTP_ARG(dev != NULL);
	ZTP_ARG(path != NULL);
	ztp__dev_cfg_defaults(&c);
	f = malloc(sizeof(*f));
	ZTP_ENSURE(f != NULL, ZTP_ENOMEM, "config: out of memory");
	ztp__lh_cfg_init(f);
	rc = ztp__lh_cfg_read(f, path, "ztp_device",
			      ZTP__LH_KEY_URIS | ZTP__LH_ED25519 |
				  ZTP__LH_TOKEN_KEYS | ZTP__LH_RSA |
				  ZTP__LH_PARTIAL,
			      err, sizeof(err));
	ZTP_ENSURE(rc == ZTP_OK, rc, "config: %s", err);
	ZTP_CHECK(cfg_from_file(&c, f));
	ztp__dev_cfg_clear(&dev->cfg);
	dev->cfg = c;
	ztp__dev_cfg_defaults(&c);
cleanup:
	ztp__dev_cfg_clear(&c);
	free(f);
	return rc;
}

/* ------------------------------------------------------------------ status */

static int cred_json(json_object **out, const ztp__dev_cred *cr, int64_t now,
		     int rotate_percent)
{
	int rc = ZTP_OK;
	json_object *o = NULL;
	char id[ZTP_ID_MAX + 1], tenant[ZTP_ID_MAX + 1], ts[32], hex[65];
	char slot[2] = {cr->slot, 0};
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	int64_t nb = 0, na = 0;
	uint8_t fp[32];

	ZTP_CHECK(ztp__cert_device_id(id, cr->cert));
	ZTP_CHECK(ztp__asn1_time(&nb, X509_get0_notBefore(cr->cert)));
	ZTP_CHECK(ztp__asn1_time(&na, X509_get0_notAfter(cr->cert)));
	ZTP_CHECK(ztp__cert_fingerprint(fp, cr->cert));
	ztp__hex_encode(hex, fp, sizeof(fp));
	ZTP_CHECK(ztp__cert_serial_hex(serial, sizeof(serial), cr->cert));
	o = json_object_new_object();
	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "status: out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "slot", slot));
	ZTP_CHECK(ztp__json_add_str(o, "device_id", id));
	ZTP_CHECK(ztp__json_add_str(o, "serial", serial));
	ztp__time_rfc3339(ts, nb);
	ZTP_CHECK(ztp__json_add_str(o, "not_before", ts));
	ztp__time_rfc3339(ts, na);
	ZTP_CHECK(ztp__json_add_str(o, "not_after", ts));
	ZTP_CHECK(
	    ztp__json_add(o, "expired", json_object_new_boolean(now >= na)));
	ZTP_CHECK(ztp__json_add_str(o, "fingerprint", hex));
	if (rotate_percent > 0) {
		ztp__time_rfc3339(
		    ts, ztp__rotation_due(nb, na, rotate_percent, fp));
		ZTP_CHECK(ztp__json_add_str(o, "rotation_due", ts));
	}
	rc = ztp__cert_san_id(tenant, cr->cert, ZTP_URN_TENANT);
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		ZTP_CHECK(ztp__json_add_str(o, "tenant", NULL));
	} else {
		ZTP_CHECK(rc);
		ZTP_CHECK(ztp__json_add_str(o, "tenant", tenant));
	}
	rc = ZTP_OK;
	*out = o;
	o = NULL;
cleanup:
	json_object_put(o);
	return rc;
}

int ztp_device_status(ztp_device *dev, char **json)
{
	int rc = ZTP_OK;
	json_object *root = NULL, *creds = NULL, *one = NULL;
	ztp__dev_cred cr = {0};
	char id[ZTP_ID_MAX + 1];
	int64_t now;
	int k;
	ztp__dev_keys kb;

	ZTP_ARG(dev != NULL);
	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ENSURE(dev->cfg.state_dir != NULL, ZTP_EINVAL,
		   "status: no state directory configured");
	if (dev->cfg.clock_untrusted)
		ZTP_CHECK(ztp__dev_floor_read(&now, dev->cfg.state_dir));
	else
		now = ztp__now(&dev->clock);
	root = json_object_new_object();
	creds = json_object_new_object();
	ZTP_ENSURE(root != NULL && creds != NULL, ZTP_ENOMEM,
		   "status: out of memory");
	if (ztp__dev_id(dev, id) == ZTP_OK)
		ZTP_CHECK(ztp__json_add_str(root, "device_id", id));
	else
		ZTP_CHECK(ztp__json_add_str(root, "device_id", NULL));
	ztp_error_clear();
	ZTP_CHECK(ztp__json_add_str(root, "state_dir", dev->cfg.state_dir));
	for (k = ZTP__DEV_BOOTSTRAP; k <= ZTP__DEV_OPERATIONAL; k++) {
		rc = ztp__dev_cred_current(&cr, dev->cfg.state_dir,
					   ztp__dev_keys_of(&dev->cfg, &kb),
					   (ztp__dev_kind)k);
		if (rc == ZTP_ENOTFOUND) {
			ztp_error_clear();
			ZTP_CHECK(ztp__json_add_str(
			    creds, ztp__dev_kind_name((ztp__dev_kind)k), NULL));
			continue;
		}
		ZTP_CHECK(rc);
		ZTP_CHECK(cred_json(
		    &one, &cr, now,
		    k == ZTP__DEV_OPERATIONAL ? dev->cfg.rotate_percent : 0));
		ZTP_CHECK(ztp__json_add(
		    creds, ztp__dev_kind_name((ztp__dev_kind)k), one));
		one = NULL;
		ztp__dev_cred_free(&cr);
	}
	rc = ZTP_OK;
	ZTP_CHECK(ztp__json_add(root, "credentials", creds));
	creds = NULL;
	ZTP_CHECK(ztp__dev_registration_read(&one, dev->cfg.state_dir));
	if (one != NULL) {
		ZTP_CHECK(ztp__json_add(root, "registration", one));
		one = NULL;
	} else {
		ZTP_CHECK(ztp__json_add_str(root, "registration", NULL));
	}
	ZTP_CHECK(ztp__json_dump(json, root));
cleanup:
	ztp__dev_cred_free(&cr);
	json_object_put(one);
	json_object_put(creds);
	json_object_put(root);
	return rc;
}
