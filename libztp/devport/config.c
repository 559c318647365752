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
#include <strings.h>
#include <unistd.h>

typedef ztp__lh_cfg cfg;

const char *const ztp__lh_key_types[6] = {"ec-p256",  "ec-p384",  "ed25519",
					  "rsa-2048", "rsa-3072", "rsa-4096"};

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

/* A non-empty string member without NUL into out (cap bytes). */
static int get_str(const ztp__jv *v, const char *name, char *out, size_t cap,
		   char *err, size_t ecap)
{
	size_t n = 0;
	int rc = ztp__j_string(v, out, cap, &n);

	if (rc == ZTP_ETOOBIG)
		return bad(err, ecap, ZTP_ETOOBIG, name, "too long");
	if (rc < 0)
		return bad(err, ecap, ZTP_EPARSE, name, "not a string");
	if (strlen(out) != n)
		return bad(err, ecap, ZTP_EPARSE, name, "contains NUL");
	if (n == 0)
		return bad(err, ecap, ZTP_EINVAL, name, "empty");
	return ZTP_OK;
}

static int get_int(const ztp__jv *v, const char *name, int64_t min, int64_t max,
		   int64_t *out, char *err, size_t ecap)
{
	char why[64];

	if (ztp__j_int(v, min, max, out) < 0) {
		snprintf(why, sizeof(why), "not an integer in %lld..%lld",
			 (long long)min, (long long)max);
		return bad(err, ecap, ZTP_EPARSE, name, why);
	}
	return ZTP_OK;
}

/* An object member whose members are among allowed. */
static int get_object(const ztp__jv *v, const char *name,
		      const char *const *allowed, char *err, size_t ecap)
{
	char badk[ZTP__J_NAME_MAX + 1] = "", what[64];

	if (v->type != ZTP__J_OBJECT)
		return bad(err, ecap, ZTP_EPARSE, name, "not an object");
	if (ztp__j_only(v, allowed, badk, sizeof(badk)) < 0) {
		snprintf(what, sizeof(what), "%s: unknown member", name);
		return bad(err, ecap, ZTP_EPARSE, what, badk);
	}
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
	ztp__jv k, v;
	size_t pos = 0;
	int rc = get_object(obj, "retry", keys, err, ecap);

	while (rc == ZTP_OK && ztp__j_next(obj, &pos, &k, &v) == ZTP_OK) {
		if (ztp__j_string_is(&k, "max_attempts"))
			rc =
			    get_int(&v, "retry.max_attempts", 1,
				    ZTP__ATTEMPTS_MAX, &c->attempts, err, ecap);
		else if (ztp__j_string_is(&k, "base_delay_ms"))
			rc = get_int(&v, "retry.base_delay_ms", 1,
				     ZTP__DELAY_MAX_MS, &c->base_ms, err, ecap);
		else if (ztp__j_string_is(&k, "max_delay_ms"))
			rc = get_int(&v, "retry.max_delay_ms", 1,
				     ZTP__DELAY_MAX_MS, &c->max_ms, err, ecap);
		else
			rc = get_int(&v, "retry.max_retry_after_ms", 0,
				     ZTP__RETRY_AFTER_SETTING_MAX_MS, &c->ra_ms,
				     err, ecap);
	}
	if (rc == ZTP_OK && c->max_ms < c->base_ms)
		rc = bad(err, ecap, ZTP_EINVAL, "retry.max_delay_ms",
			 "below retry.base_delay_ms");
	return rc;
}

static int parse_registration(cfg *c, const ztp__jv *obj, char *err,
			      size_t ecap)
{
	ztp__jv v, e;
	size_t pos = 0;
	int rc =
	    get_object(obj, "registration", ztp__register_members, err, ecap);

	if (rc < 0)
		return rc;
	if (ztp__j_member(obj, "device_type", &v) < 0 ||
	    ztp__j_member(obj, "firmware_version", &e) < 0)
		return bad(err, ecap, ZTP_EPARSE, "registration",
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
		return bad(err, ecap, ZTP_EPARSE, "registration.capabilities",
			   "not an array");
	while (ztp__j_next(&v, &pos, NULL, &e) == ZTP_OK) {
		if (c->n_caps == ZTP__CAPABILITIES_MAX)
			return bad(err, ecap, ZTP_ETOOBIG,
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
	ztp__jv v;
	int rc = get_object(obj, "operational_key", keys, err, ecap);

	if (rc < 0)
		return rc;
	if (ztp__j_member(obj, "token", &v) < 0)
		return bad(err, ecap, ZTP_EPARSE, "operational_key",
			   "token is required");
	rc = get_str(&v, "operational_key.token", c->key_token,
		     sizeof(c->key_token), err, ecap);
	if (rc < 0 || ztp__j_member(obj, "label", &v) < 0)
		return rc;
	return get_str(&v, "operational_key.label", c->key_label,
		       sizeof(c->key_label), err, ecap);
}

bool ztp__lh_key_uri(const char *src)
{
	return strncasecmp(src, "pkcs11:", 7) == 0 ||
	       strncmp(src, "tpm2:", 5) == 0;
}

/* factory_key: a pkcs11: or tpm2: URI (ZTP__LH_KEY_URIS), kept as
 * written, or file:PATH / file:///PATH, kept as the path, made absolute
 * against the configuration's directory. */
static int parse_factory_key(cfg *c, const port_caps *pc, const ztp__jv *v,
			     char *err, size_t ecap)
{
	char s[4096], why[128];
	const char *path;
	int rc = get_str(v, "factory_key", s, sizeof(s), err, ecap);

	if (rc < 0)
		return rc;
	if (ztp__lh_key_uri(s)) {
		if ((pc->caps & ZTP__LH_KEY_URIS) == 0) {
			snprintf(why, sizeof(why),
				 "only file: keys are supported by %s (not "
				 "pkcs11: or tpm2:)",
				 pc->name);
			return bad(err, ecap, ZTP_EINVAL, "factory_key", why);
		}
		snprintf(c->factory_key, sizeof(c->factory_key), "%s", s);
		return ZTP_OK;
	}
	if (strncmp(s, "file://", 7) == 0)
		path = s + 7; /* file:///PATH: an empty authority only */
	else if (strncmp(s, "file:", 5) == 0)
		path = s + 5;
	else
		return bad(err, ecap, ZTP_EINVAL, "factory_key",
			   (pc->caps & ZTP__LH_KEY_URIS) != 0
			       ? "not a file:, pkcs11: or tpm2: URI"
			       : "not a file: URI");
	if (path == s + 7 && path[0] != '/')
		return bad(err, ecap, ZTP_EINVAL, "factory_key",
			   "file:// takes an absolute path and no host");
	if (path[0] == '\0')
		return bad(err, ecap, ZTP_EINVAL, "factory_key", "empty path");
	if ((path[0] == '/'
		 ? snprintf(c->factory_key, sizeof(c->factory_key), "%s", path)
		 : snprintf(c->factory_key, sizeof(c->factory_key), "%s/%s",
			    c->dir, path)) >= (int)sizeof(c->factory_key))
		return bad(err, ecap, ZTP_ETOOBIG, "factory_key", "too long");
	return ZTP_OK;
}

static int parse_key_type(cfg *c, const port_caps *pc, const ztp__jv *v,
			  char *err, size_t ecap)
{
	char s[16], why[128];
	size_t i;
	int rc = get_str(v, "key_type", s, sizeof(s), err, ecap);

	if (rc == ZTP_ETOOBIG)
		rc = ZTP_EINVAL; /* no such type, however long */
	for (i = 0; rc == ZTP_OK && i < sizeof(ztp__lh_key_types) /
					    sizeof(ztp__lh_key_types[0]);
	     i++) {
		if (strcmp(s, ztp__lh_key_types[i]) != 0)
			continue;
		if ((i == ZTP__LH_ED25519 &&
		     (pc->caps & ZTP__LH_ED25519) == 0) ||
		    (i >= ZTP__LH_RSA_2048 && (pc->caps & ZTP__LH_RSA) == 0))
			break;
		c->key_type = (ztp__lh_keytype)i;
		return ZTP_OK;
	}
	if (rc < 0 && rc != ZTP_EINVAL)
		return rc;
	snprintf(why, sizeof(why), "%s generates %s keys only", pc->name,
		 (pc->caps & ZTP__LH_RSA) != 0
		     ? "ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072 or "
		       "rsa-4096"
		 : (pc->caps & ZTP__LH_ED25519) != 0
		     ? "ec-p256, ec-p384 or ed25519"
		     : "ec-p256 or ec-p384");
	return bad(err, ecap, ZTP_EINVAL, "key_type", why);
}

/* Whether k names a member only ZTP__LH_CORE devices read. */
static bool core_member(const ztp__jv *k)
{
	return ztp__j_string_is(k, "server_key_sha256") ||
	       ztp__j_string_is(k, "build_time") ||
	       ztp__j_string_is(k, "check_in");
}

/* One top-level member. */
static int parse_member(cfg *c, const port_caps *pc, const ztp__jv *k,
			const ztp__jv *v, char *err, size_t ecap)
{
	char s[4096], why_buf[128];
	const char *why = "";
	size_t i;
	int rc;

	if (core_member(k) && (pc->caps & ZTP__LH_CORE) == 0)
		goto unknown;
	if (ztp__j_string_is(k, "device_id")) {
		rc = get_str(v, "device_id", c->device_id, sizeof(c->device_id),
			     err, ecap);
		if (rc == ZTP_OK && ztp__id_len(c->device_id) == 0)
			rc = bad(err, ecap, ZTP_EINVAL, "device_id",
				 "not an identifier");
		return rc;
	}
	if (ztp__j_string_is(k, "factory_key"))
		return parse_factory_key(c, pc, v, err, ecap);
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
	if (ztp__j_string_is(k, "key_type"))
		return parse_key_type(c, pc, v, err, ecap);
	if (ztp__j_string_is(k, "connect_timeout_ms"))
		return get_int(v, "connect_timeout_ms", 1, ZTP__TIMEOUT_MAX_MS,
			       &c->connect_ms, err, ecap);
	if (ztp__j_string_is(k, "timeout_ms"))
		return get_int(v, "timeout_ms", 1, ZTP__TIMEOUT_MAX_MS,
			       &c->timeout_ms, err, ecap);
	if (ztp__j_string_is(k, "retry"))
		return parse_retry(c, v, err, ecap);
	if (ztp__j_string_is(k, "registration"))
		return parse_registration(c, v, err, ecap);
	if (ztp__j_string_is(k, "rotate_at_percent"))
		return get_int(v, "rotate_at_percent", ZTP__ROTATE_PERCENT_MIN,
			       ZTP__ROTATE_PERCENT_MAX, &c->rotate, err, ecap);
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
		if (rc == ZTP_ETOOBIG ||
		    (rc == ZTP_OK && strcmp(c->clock, "system") != 0 &&
		     strcmp(c->clock, "untrusted") != 0))
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
				 "%s",
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
			return bad(err, ecap, ZTP_EPARSE,
				   ci ? "check_in" : "keep_alive",
				   "not true or false");
		if (ci)
			c->no_check_in = v->p[0] == 'f';
		else
			c->no_keep_alive = v->p[0] == 'f';
		return ZTP_OK;
	}
	if (ztp__j_string_is(k, "proxy")) {
		rc = get_str(v, "proxy", c->proxy_url, sizeof(c->proxy_url),
			     err, ecap);
		if (rc == ZTP_ETOOBIG)
			rc = bad(err, ecap, ZTP_EINVAL, "proxy", "too long");
		if (rc == ZTP_OK &&
		    ztp__proxy_parse(&c->proxy, c->proxy_url, &why) < 0)
			rc = bad(err, ecap, ZTP_EINVAL, "proxy", why);
		return rc;
	}
unknown:
	(void)ztp__j_string(k, s, 128, NULL);
	return bad(err, ecap, ZTP_EPARSE, "unknown member", s);
}

void ztp__lh_cfg_init(cfg *c)
{
	ztp_lite_options o;

	memset(c, 0, sizeof(*c));
	ztp_lite_options_init(&o);
	c->attempts = o.max_attempts;
	c->base_ms = o.base_delay_ms;
	c->max_ms = o.max_delay_ms;
	c->ra_ms = o.max_retry_after_ms;
	c->rotate = o.rotate_percent;
	c->connect_ms = ZTP__CONNECT_TIMEOUT_DEFAULT_MS;
	c->timeout_ms = ZTP__TIMEOUT_DEFAULT_MS;
	c->build_time = ZTP__BUILD_TIME;
	snprintf(c->clock, sizeof(c->clock), "system");
}

int ztp__lh_cfg_read(cfg *c, const char *path, const char *name, unsigned caps,
		     char *err, size_t ecap)
{
	const port_caps pc = {name, caps};
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
	else if (snprintf(c->dir, sizeof(c->dir), "%.*s", (int)(slash - path),
			  path) >= (int)sizeof(c->dir))
		return bad(err, ecap, ZTP_ETOOBIG, path, "path too long");
	rc = ztp__lh_read_file(&tmp, path, ZTP__LH_CONFIG_MAX, &text, &len);
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
		rc = parse_member(c, &pc, &k, &v, err, ecap);
	if (rc == ZTP_OK && c->timeout_ms < c->connect_ms)
		rc = bad(err, ecap, ZTP_EINVAL, "timeout_ms",
			 "below connect_timeout_ms");
	if (rc == ZTP_OK &&
	    (c->factory_key[0] == '\0') != (c->factory_cert[0] == '\0'))
		rc = bad(err, ecap, ZTP_EPARSE, path,
			 "factory_key and factory_cert go together");
	if (rc == ZTP_OK && (caps & ZTP__LH_PARTIAL) == 0 &&
	    (c->factory_key[0] == '\0' || c->base_url[0] == '\0' ||
	     c->ca_file[0] == '\0' || c->state_dir[0] == '\0'))
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
	ztp__lh_cfg_init(c);
	rc = ztp__lh_cfg_read(c, config_path, name, caps | ZTP__LH_CORE, err,
			      err_cap);
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
