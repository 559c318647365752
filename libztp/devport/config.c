/*
 * libztp — a device of the portable core on a host port (mbedTLS or
 * OpenSSL) from a ztp-device.json(5) file, read with the core's strict
 * JSON reader.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include "devport/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX (64 * 1024)

typedef ztp__lh_cfg cfg;

/* What the port supports, for the details of what it does not. */
typedef struct port_caps {
	const char *name;
	unsigned caps;
} port_caps;

static int bad(char *err, size_t cap, int code, const char *what,
	       const char *why)
{
	if (err != NULL && cap > 0)
		snprintf(err, cap, "%s%s%s", what, why[0] ? ": " : "", why);
	return code;
}

/* A string member into out (cap bytes). */
static int get_str(const ztp__jv *v, const char *name, char *out, size_t cap,
		   char *err, size_t ecap)
{
	size_t n = 0;
	int rc = ztp__j_string(v, out, cap, &n);

	if (rc == ZTP_ETOOBIG)
		return bad(err, ecap, ZTP_ETOOBIG, name, "too long");
	if (rc < 0)
		return bad(err, ecap, ZTP_EINVAL, name, "not a string");
	if (n == 0 || strlen(out) != n)
		return bad(err, ecap, ZTP_EINVAL, name, "empty");
	return ZTP_OK;
}

static int get_int(const ztp__jv *v, const char *name, int64_t min, int64_t max,
		   int64_t *out, char *err, size_t ecap)
{
	if (ztp__j_int(v, min, max, out) < 0)
		return bad(err, ecap, ZTP_EINVAL, name,
			   "not an integer in range");
	return ZTP_OK;
}

/* A path member, made absolute against the configuration's directory. */
static int get_path(const ztp__jv *v, const char *name, const cfg *c, char *out,
		    size_t cap, char *err, size_t ecap)
{
	char tmp[4096];
	int rc = get_str(v, name, tmp, sizeof(tmp), err, ecap);

	if (rc < 0)
		return rc;
	if (tmp[0] == '/')
		rc = snprintf(out, cap, "%s", tmp) < (int)cap ? 0 : -1;
	else
		rc = snprintf(out, cap, "%s/%s", c->dir, tmp) < (int)cap ? 0
									 : -1;
	return rc == 0 ? ZTP_OK : bad(err, ecap, ZTP_ETOOBIG, name, "too long");
}

static int parse_retry(cfg *c, const ztp__jv *obj, char *err, size_t ecap)
{
	static const char *const keys[] = {"max_attempts", "base_delay_ms",
					   "max_delay_ms", "max_retry_after_ms",
					   NULL};
	char badk[ZTP__J_NAME_MAX + 1] = "";
	ztp__jv k, v;
	size_t pos = 0;
	int rc = ZTP_OK;

	if (obj->type != ZTP__J_OBJECT)
		return bad(err, ecap, ZTP_EINVAL, "retry", "not an object");
	if (ztp__j_only(obj, keys, badk, sizeof(badk)) < 0)
		return bad(err, ecap, ZTP_EINVAL, "retry: unknown member",
			   badk);
	while (rc == ZTP_OK && ztp__j_next(obj, &pos, &k, &v) == ZTP_OK) {
		if (ztp__j_string_is(&k, "max_attempts"))
			rc = get_int(&v, "retry.max_attempts", 1, 100,
				     &c->attempts, err, ecap);
		else if (ztp__j_string_is(&k, "base_delay_ms"))
			rc = get_int(&v, "retry.base_delay_ms", 1, 3600000,
				     &c->base_ms, err, ecap);
		else if (ztp__j_string_is(&k, "max_delay_ms"))
			rc = get_int(&v, "retry.max_delay_ms", 1, 3600000,
				     &c->max_ms, err, ecap);
		else
			rc = get_int(&v, "retry.max_retry_after_ms", 0,
				     86400000, &c->ra_ms, err, ecap);
	}
	if (rc == ZTP_OK && c->max_ms < c->base_ms)
		rc = bad(err, ecap, ZTP_EINVAL, "retry.max_delay_ms",
			 "below retry.base_delay_ms");
	return rc;
}

static int parse_registration(cfg *c, const ztp__jv *obj, char *err,
			      size_t ecap)
{
	char badk[ZTP__J_NAME_MAX + 1] = "";
	ztp__jv v, e;
	size_t pos = 0;
	int rc;

	if (obj->type != ZTP__J_OBJECT)
		return bad(err, ecap, ZTP_EINVAL, "registration",
			   "not an object");
	if (ztp__j_only(obj, ztp__register_members, badk, sizeof(badk)) < 0)
		return bad(err, ecap, ZTP_EINVAL,
			   "registration: unknown member", badk);
	if (ztp__j_member(obj, "device_type", &v) < 0 ||
	    ztp__j_member(obj, "firmware_version", &e) < 0)
		return bad(err, ecap, ZTP_EINVAL, "registration",
			   "device_type and firmware_version are required");
	rc = get_str(&v, "registration.device_type", c->device_type,
		     sizeof(c->device_type), err, ecap);
	if (rc == ZTP_OK)
		rc = get_str(&e, "registration.firmware_version",
			     c->firmware_version, sizeof(c->firmware_version),
			     err, ecap);
	if (rc < 0)
		return rc;
	if (ztp__id_len(c->device_type) == 0)
		return bad(err, ecap, ZTP_EINVAL, "registration.device_type",
			   "not of the identifier grammar");
	if (!ztp__firmware_syntax(c->firmware_version,
				  strlen(c->firmware_version)))
		return bad(err, ecap, ZTP_EINVAL,
			   "registration.firmware_version",
			   "not 1..64 printable ASCII characters");
	if (ztp__j_member(obj, "capabilities", &v) < 0)
		return ZTP_OK;
	if (v.type != ZTP__J_ARRAY)
		return bad(err, ecap, ZTP_EINVAL, "registration.capabilities",
			   "not an array");
	while (ztp__j_next(&v, &pos, NULL, &e) == ZTP_OK) {
		if (c->n_caps == ZTP__CAPABILITIES_MAX)
			return bad(err, ecap, ZTP_EINVAL,
				   "registration.capabilities", "more than 32");
		rc = get_str(&e, "registration.capabilities",
			     c->caps[c->n_caps], sizeof(c->caps[0]), err, ecap);
		if (rc < 0)
			return rc;
		if (ztp__id_len(c->caps[c->n_caps]) == 0)
			return bad(err, ecap, ZTP_EINVAL,
				   "registration.capabilities",
				   "not of the identifier grammar");
		c->cap_ptrs[c->n_caps] = c->caps[c->n_caps];
		c->n_caps++;
	}
	return ZTP_OK;
}

/* "operational_key": {"token": URI, "label": LABEL?}, checked further by
 * the port. */
static int parse_key_store(cfg *c, const ztp__jv *obj, char *err, size_t ecap)
{
	static const char *const keys[] = {"token", "label", NULL};
	char badk[ZTP__J_NAME_MAX + 1] = "";
	ztp__jv v;
	int rc;

	if (obj->type != ZTP__J_OBJECT)
		return bad(err, ecap, ZTP_EINVAL, "operational_key",
			   "not an object");
	if (ztp__j_only(obj, keys, badk, sizeof(badk)) < 0)
		return bad(err, ecap, ZTP_EINVAL,
			   "operational_key: unknown member", badk);
	if (ztp__j_member(obj, "token", &v) < 0)
		return bad(err, ecap, ZTP_EINVAL, "operational_key",
			   "token is required");
	rc = get_str(&v, "operational_key.token", c->key_token,
		     sizeof(c->key_token), err, ecap);
	if (rc < 0 || ztp__j_member(obj, "label", &v) < 0)
		return rc;
	return get_str(&v, "operational_key.label", c->key_label,
		       sizeof(c->key_label), err, ecap);
}

/* One top-level member. */
static int parse_member(cfg *c, const port_caps *pc, const ztp__jv *k,
			const ztp__jv *v, char *err, size_t ecap)
{
	char s[4096], why_buf[128];
	const char *why = "";
	size_t i;
	int rc;

	if (ztp__j_string_is(k, "device_id")) {
		rc = get_str(v, "device_id", c->device_id, sizeof(c->device_id),
			     err, ecap);
		if (rc == ZTP_OK && ztp__id_len(c->device_id) == 0)
			rc = bad(err, ecap, ZTP_EINVAL, "device_id",
				 "not an identifier");
		return rc;
	}
	if (ztp__j_string_is(k, "factory_key")) {
		rc = get_str(v, "factory_key", s, sizeof(s), err, ecap);
		if (rc < 0)
			return rc;
		if (strncmp(s, "pkcs11:", 7) == 0 ||
		    strncmp(s, "tpm2:", 5) == 0) {
			if ((pc->caps & ZTP__LH_KEY_URIS) == 0) {
				snprintf(why_buf, sizeof(why_buf),
					 "only file: keys are supported by the "
					 "%s port (not pkcs11: or tpm2:)",
					 pc->name);
				return bad(err, ecap, ZTP_EINVAL, "factory_key",
					   why_buf);
			}
			snprintf(c->factory_key, sizeof(c->factory_key), "%s",
				 s);
			return ZTP_OK;
		}
		if (strncmp(s, "file://", 7) == 0)
			memmove(s, s + 7, strlen(s + 7) + 1);
		else if (strncmp(s, "file:", 5) == 0)
			memmove(s, s + 5, strlen(s + 5) + 1);
		else if ((pc->caps & ZTP__LH_KEY_URIS) == 0)
			return bad(err, ecap, ZTP_EINVAL, "factory_key",
				   "not a file: key");
		if (s[0] == '/')
			snprintf(c->factory_key, sizeof(c->factory_key), "%s",
				 s);
		else if (snprintf(c->factory_key, sizeof(c->factory_key),
				  "%s/%s", c->dir,
				  s) >= (int)sizeof(c->factory_key))
			return bad(err, ecap, ZTP_ETOOBIG, "factory_key",
				   "too long");
		return ZTP_OK;
	}
	if (ztp__j_string_is(k, "factory_cert"))
		return get_path(v, "factory_cert", c, c->factory_cert,
				sizeof(c->factory_cert), err, ecap);
	if (ztp__j_string_is(k, "ca_file"))
		return get_path(v, "ca_file", c, c->ca_file, sizeof(c->ca_file),
				err, ecap);
	if (ztp__j_string_is(k, "state_dir"))
		return get_path(v, "state_dir", c, c->state_dir,
				sizeof(c->state_dir), err, ecap);
	if (ztp__j_string_is(k, "base_url")) {
		rc = get_str(v, "base_url", c->base_url, sizeof(c->base_url),
			     err, ecap);
		/* Trailing slashes are dropped, as ztp-device does. */
		for (i = strlen(c->base_url);
		     rc == ZTP_OK && i > 8 && c->base_url[i - 1] == '/'; i--)
			c->base_url[i - 1] = '\0';
		return rc;
	}
	if (ztp__j_string_is(k, "key_type")) {
		rc = get_str(v, "key_type", s, sizeof(s), err, ecap);
		if (rc < 0)
			return rc;
		if (strcmp(s, "ec-p256") == 0)
			c->key_type = ZTP__LH_EC_P256;
		else if (strcmp(s, "ec-p384") == 0)
			c->key_type = ZTP__LH_EC_P384;
		else if (strcmp(s, "ed25519") == 0 &&
			 (pc->caps & ZTP__LH_ED25519) != 0)
			c->key_type = ZTP__LH_ED25519;
		else {
			snprintf(why_buf, sizeof(why_buf),
				 "the %s port generates %s keys only", pc->name,
				 (pc->caps & ZTP__LH_ED25519) != 0
				     ? "ec-p256, ec-p384 or ed25519"
				     : "ec-p256 or ec-p384");
			return bad(err, ecap, ZTP_EINVAL, "key_type", why_buf);
		}
		return ZTP_OK;
	}
	if (ztp__j_string_is(k, "connect_timeout_ms"))
		return get_int(v, "connect_timeout_ms", 1, 600000,
			       &c->connect_ms, err, ecap);
	if (ztp__j_string_is(k, "timeout_ms"))
		return get_int(v, "timeout_ms", 1, 600000, &c->timeout_ms, err,
			       ecap);
	if (ztp__j_string_is(k, "retry"))
		return parse_retry(c, v, err, ecap);
	if (ztp__j_string_is(k, "registration"))
		return parse_registration(c, v, err, ecap);
	if (ztp__j_string_is(k, "rotate_at_percent"))
		return get_int(v, "rotate_at_percent", 10, 95, &c->rotate, err,
			       ecap);
	if (ztp__j_string_is(k, "server_key_sha256")) {
		rc = get_str(v, "server_key_sha256", s, sizeof(s), err, ecap);
		if (rc < 0)
			return rc;
		if (strlen(s) != 64)
			return bad(err, ecap, ZTP_EINVAL, "server_key_sha256",
				   "not 64 hexadecimal digits");
		for (i = 0; i < 32; i++) {
			int hi = ztp__hex_value((unsigned char)s[2 * i]),
			    lo = ztp__hex_value((unsigned char)s[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return bad(err, ecap, ZTP_EINVAL,
					   "server_key_sha256",
					   "not 64 hexadecimal digits");
			c->pin[i] = (uint8_t)(hi << 4 | lo);
		}
		c->pin_set = true;
		return ZTP_OK;
	}
	if (ztp__j_string_is(k, "clock")) {
		rc = get_str(v, "clock", c->clock, sizeof(c->clock), err, ecap);
		if (rc == ZTP_OK && strcmp(c->clock, "system") != 0 &&
		    strcmp(c->clock, "untrusted") != 0)
			rc = bad(err, ecap, ZTP_EINVAL, "clock",
				 "\"system\" or \"untrusted\"");
		return rc;
	}
	if (ztp__j_string_is(k, "build_time")) {
		rc = get_str(v, "build_time", s, 64, err, ecap);
		if (rc == ZTP_OK &&
		    ztp__rfc3339_parse(&c->build_time, s, strlen(s), &why) < 0)
			rc = bad(err, ecap, ZTP_EINVAL, "build_time", why);
		return rc;
	}
	if (ztp__j_string_is(k, "operational_key")) {
		if ((pc->caps & ZTP__LH_TOKEN_KEYS) == 0) {
			snprintf(why_buf, sizeof(why_buf),
				 "keys in a PKCS#11 token are not supported by "
				 "the %s port",
				 pc->name);
			return bad(err, ecap, ZTP_EINVAL, "operational_key",
				   why_buf);
		}
		return parse_key_store(c, v, err, ecap);
	}
	if (ztp__j_string_is(k, "check_in") ||
	    ztp__j_string_is(k, "keep_alive")) {
		bool ci = ztp__j_string_is(k, "check_in");

		if (v->type != ZTP__J_BOOL)
			return bad(err, ecap, ZTP_EINVAL,
				   ci ? "check_in" : "keep_alive",
				   "not true or false");
		if (ci)
			c->no_check_in = v->p[0] == 'f';
		else
			c->no_keep_alive = v->p[0] == 'f';
		return ZTP_OK;
	}
	if (ztp__j_string_is(k, "proxy")) {
		rc = get_str(v, "proxy", s, ZTP__PROXY_URL_MAX + 2, err, ecap);
		if (rc == ZTP_OK && ztp__proxy_parse(&c->proxy, s, &why) < 0)
			rc = bad(err, ecap, ZTP_EINVAL, "proxy", why);
		return rc;
	}
	(void)ztp__j_string(k, s, 128, NULL);
	return bad(err, ecap, ZTP_EINVAL, "unknown member", s);
}

static int parse_config(cfg *c, const port_caps *pc, const char *path,
			char *err, size_t ecap)
{
	ztp__lh tmp;
	char *text = NULL;
	const char *why = "", *slash;
	size_t len = 0, pos = 0;
	ztp__jv root, k, v;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(c->dir, sizeof(c->dir), ".");
	else if (slash == path)
		snprintf(c->dir, sizeof(c->dir), "/");
	else
		snprintf(c->dir, sizeof(c->dir), "%.*s", (int)(slash - path),
			 path);
	rc = ztp__lh_read_file(&tmp, path, CONFIG_MAX, &text, &len);
	if (rc < 0)
		return bad(err, ecap, rc, "configuration", tmp.err);
	rc = ztp__j_check(&root, text, len, &why);
	if (rc < 0) {
		rc =
		    bad(err, ecap, rc == ZTP_ETOOBIG ? ZTP_ETOOBIG : ZTP_EPARSE,
			path, why);
		goto out;
	}
	if (root.type != ZTP__J_OBJECT) {
		rc = bad(err, ecap, ZTP_EPARSE, path, "not a JSON object");
		goto out;
	}
	while (rc == ZTP_OK && ztp__j_next(&root, &pos, &k, &v) == ZTP_OK)
		rc = parse_member(c, pc, &k, &v, err, ecap);
	if (rc == ZTP_OK && c->timeout_ms < c->connect_ms)
		rc = bad(err, ecap, ZTP_EINVAL, "timeout_ms",
			 "below connect_timeout_ms");
	if (rc == ZTP_OK &&
	    (c->factory_key[0] == '\0' || c->factory_cert[0] == '\0' ||
	     c->base_url[0] == '\0' || c->ca_file[0] == '\0' ||
	     c->state_dir[0] == '\0'))
		rc = bad(err, ecap, ZTP_EINVAL, path,
			 "factory_key, factory_cert, base_url, ca_file and "
			 "state_dir are required");
out:
	free(text);
	return rc;
}

int ztp__lh_new(ztp_lite **out, const char *config_path, const char *fn,
		const char *name, unsigned caps, ztp__lh_make_fn make,
		void (*release)(const ztp_port *), ztp_event_fn events,
		void *events_ctx, char *err, size_t err_cap)
{
	const port_caps pc = {name, caps};
	char why[32];
	ztp_lite_options o;
	ztp__lh *m = NULL;
	cfg *c;
	int rc;

	if (err != NULL && err_cap > 0)
		err[0] = '\0';
	if (out == NULL || config_path == NULL) {
		snprintf(why, sizeof(why), "ztp_lite_%s_new", fn);
		return bad(err, err_cap, ZTP_EINVAL, why, "NULL argument");
	}
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return bad(err, err_cap, ZTP_ENOMEM, "out of memory", "");
	/* The core's defaults, which are ztp-device's (ztp-device.json(5)),
	 * and the port's timeouts. */
	ztp_lite_options_init(&o);
	c->attempts = o.max_attempts;
	c->base_ms = o.base_delay_ms;
	c->max_ms = o.max_delay_ms;
	c->ra_ms = o.max_retry_after_ms;
	c->rotate = o.rotate_percent;
	c->connect_ms = 10000;
	c->timeout_ms = 60000;
	c->build_time = ZTP__BUILD_TIME;
	snprintf(c->clock, sizeof(c->clock), "system");
	rc = parse_config(c, &pc, config_path, err, err_cap);
	if (rc == ZTP_OK) {
		rc = make(&m, c);
		if (rc < 0)
			bad(err, err_cap, rc,
			    m != NULL ? m->err : "out of memory", "");
	}
	if (rc == ZTP_OK) {
		ztp_lite_options_init(&o);
		o.device_id = c->device_id[0] != '\0' ? c->device_id : NULL;
		o.base_url = c->base_url;
		if (c->device_type[0] != '\0') {
			o.device_type = c->device_type;
			o.firmware_version = c->firmware_version;
			o.capabilities = c->cap_ptrs;
			o.n_capabilities = c->n_caps;
		}
		o.rotate_percent = (int)c->rotate;
		o.max_attempts = (int)c->attempts;
		o.base_delay_ms = (uint32_t)c->base_ms;
		o.max_delay_ms = (uint32_t)c->max_ms;
		o.max_retry_after_ms = (uint32_t)c->ra_ms;
		o.build_time = c->build_time;
		o.check_in = !c->no_check_in;
		o.keep_alive = !c->no_keep_alive;
		o.events = events;
		o.events_ctx = events_ctx;
		rc = ztp_lite_new(out, &m->port, &o);
		if (rc < 0)
			bad(err, err_cap, rc, "device",
			    rc == ZTP_EINVAL ? "bad settings (base_url, "
					       "device_id)"
					     : ztp_strerror(rc));
	}
	if (rc == ZTP_OK && c->device_id[0] != '\0') {
		/* Both named: they must agree, as with ztp-device. */
		ztp_port_cert_info info;
		char pem[ZTP_LITE_CERT_MAX];
		size_t len = 0;

		rc = m->port.factory_cert(m, pem, sizeof(pem), &len);
		if (rc == ZTP_OK)
			rc = m->port.cert_info(m, pem, len, NULL, 0, &info);
		if (rc == ZTP_OK && strcmp(info.device_id, c->device_id) != 0)
			rc = ZTP_EMISMATCH;
		if (rc < 0) {
			bad(err, err_cap, rc, "device_id",
			    "not the device the factory certificate names");
			ztp_lite_free(*out);
			*out = NULL;
		}
	}
	if (rc == ZTP_OK) {
		(*out)->port_release = release;
	} else if (m != NULL) {
		release(&m->port);
	}
	free(c);
	return rc;
}
