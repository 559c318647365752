/*
 * libztp — the device side of the credential lifecycle after bootstrap:
 * registration, operational credentials, rotation with a probe, the
 * assignment, and `run`, which does whatever is still needed.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "device/internal.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRATION_MAX (64 * 1024)

/* ------------------------------------------------------------------ helpers */

static bool cred_valid(const ztp__dev_cred *c, int64_t now)
{
	int64_t na = 0;

	return c->cert != NULL &&
	       ztp__asn1_time(&na, X509_get0_notAfter(c->cert)) == ZTP_OK &&
	       now < na;
}

/* The current credential of kind if there is one (else c->cert == NULL);
 * corrupt state is an error, absence is not. */
static int load_current(ztp__dev_cred *c, const ztp_device *dev,
			ztp__dev_kind kind)
{
	ztp__dev_keys kb;
	int rc = ztp__dev_cred_current(c, dev->cfg.state_dir,
				       ztp__dev_keys_of(&dev->cfg, &kb), kind);

	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		rc = ZTP_OK;
	}
	return rc;
}

/* The server no longer accepts the credential that authenticated the
 * call (revoked by a reset, or expired by the server's clock). */
static bool credential_refused(const ztp_device *dev, int rc)
{
	return ztp__dev_refused_with(dev, rc, ZTP__W_CERTIFICATE_REVOKED) ||
	       ztp__dev_refused_with(dev, rc, ZTP__W_CERTIFICATE_EXPIRED);
}

static bool cert_has_tenant(X509 *cert)
{
	char t[ZTP_ID_MAX + 1];
	bool has = ztp__cert_san_id(t, cert, ZTP_URN_TENANT) == ZTP_OK;

	ztp_error_clear();
	return has;
}

static void tls_of(ztp__dev_tls_id *t, const ztp__dev_cred *c)
{
	t->key = c->key;
	t->cert = c->cert;
	t->chain = c->chain;
}

static int registration_path(char **out, const char *state)
{
	int rc = ZTP_OK;
	ztp__buf b = {0};

	ZTP_CHECK(ztp__buf_append_str(&b, state));
	ZTP_CHECK(ztp__buf_append_str(&b, "/registration.json"));
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, NULL);
cleanup:
	ztp__buf_free(&b);
	return rc;
}

/* What the configuration says to register. */
static int registration_request(json_object **out, const ztp__dev_cfg *c)
{
	int rc = ZTP_OK;
	json_object *o = NULL, *caps = NULL;
	size_t i, n;

	ZTP_ENSURE(c->device_type != NULL && c->firmware_version != NULL,
		   ZTP_EINVAL, "register: no registration configured");
	o = json_object_new_object();
	caps = json_object_new_array();
	ZTP_ENSURE(o != NULL && caps != NULL, ZTP_ENOMEM,
		   "register: out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "device_type", c->device_type));
	ZTP_CHECK(
	    ztp__json_add_str(o, "firmware_version", c->firmware_version));
	n = c->capabilities != NULL ? json_object_array_length(c->capabilities)
				    : 0;
	for (i = 0; i < n; i++)
		ZTP_ENSURE(json_object_array_add(
			       caps, json_object_get(json_object_array_get_idx(
					 c->capabilities, i))) == 0,
			   ZTP_ENOMEM, "register: out of memory");
	ZTP_CHECK(ztp__json_add(o, "capabilities", caps));
	caps = NULL;
	*out = o;
	o = NULL;
cleanup:
	json_object_put(caps);
	json_object_put(o);
	return rc;
}

/* Whether the stored registration is the one configured: a firmware
 * update, say, calls for registering again. */
static int registration_current(bool *same, const ztp_device *dev)
{
	static const char *const keys[] = {"version", "request", "record",
					   NULL};
	int rc = ZTP_OK;
	char *path = NULL, *buf = NULL, *want = NULL, *have = NULL;
	size_t len = 0;
	json_object *root = NULL, *req = NULL, *stored = NULL;
	int64_t version = 0;

	*same = false;
	if (dev->cfg.device_type == NULL)
		goto cleanup; /* nothing configured: cannot be current */
	ZTP_CHECK(registration_path(&path, dev->cfg.state_dir));
	rc = ztp__file_read(&buf, &len, path, REGISTRATION_MAX);
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ZTP_CHECK(ztp__json_parse(&root, buf, len, REGISTRATION_MAX,
				  ZTP_JSON_MAX_DEPTH));
	ZTP_ENSURE(json_object_is_type(root, json_type_object), ZTP_EPARSE,
		   "%s: not a JSON object", path);
	ZTP_CHECK(ztp__json_only_keys(root, keys, "registration file"));
	ZTP_CHECK(ztp__json_int(root, "version", true, 1, 1, &version));
	ZTP_CHECK(ztp__json_object(root, "request", true, &stored));
	ZTP_CHECK(registration_request(&req, &dev->cfg));
	ZTP_CHECK(ztp__json_dump(&want, req));
	ZTP_CHECK(ztp__json_dump(&have, stored));
	*same = strcmp(want, have) == 0;
cleanup:
	json_object_put(root);
	json_object_put(req);
	free(path);
	free(buf);
	free(want);
	free(have);
	return rc;
}

int ztp__dev_registration_read(json_object **request, const char *state)
{
	int rc = ZTP_OK;
	char *path = NULL;
	json_object *root = NULL, *req = NULL;

	*request = NULL;
	ZTP_CHECK(registration_path(&path, state));
	ZTP_CHECK(ztp__dev_json_file(&root, path, REGISTRATION_MAX,
				     ZTP_JSON_MAX_DEPTH));
	if (root == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__json_object(root, "request", true, &req));
	*request = json_object_get(req);
cleanup:
	json_object_put(root);
	free(path);
	return rc;
}

/* ------------------------------------------------------------------ register
 */

static int register_locked(ztp_device *dev, int64_t now)
{
	int rc = ZTP_OK;
	ztp__dev_cred boot = {0};
	ztp__dev_tls_id tls;
	json_object *req = NULL, *resp = NULL, *file = NULL;
	char *path = NULL, *text = NULL;

	ZTP_CHECK(registration_request(&req, &dev->cfg));
	ZTP_CHECK(load_current(&boot, dev, ZTP__DEV_BOOTSTRAP));
	ZTP_ENSURE(boot.cert != NULL, ZTP_ESTATE,
		   "register: no bootstrap credential; bootstrap first");
	ZTP_ENSURE(cred_valid(&boot, now), ZTP_EEXPIRED,
		   "register: the bootstrap certificate has expired; "
		   "bootstrap again");
	ztp__dev_step_event(dev, "register", "start", NULL);
	tls_of(&tls, &boot);
	ZTP_CHECK(ztp__dev_call(dev, "register", req, &tls, &resp));

	file = json_object_new_object();
	ZTP_ENSURE(file != NULL, ZTP_ENOMEM, "register: out of memory");
	ZTP_CHECK(ztp__json_add_int(file, "version", 1));
	ZTP_CHECK(ztp__json_add(file, "request", req));
	req = NULL;
	ZTP_CHECK(ztp__json_add(file, "record", resp));
	resp = NULL;
	ZTP_CHECK(ztp__json_dump(&text, file));
	ZTP_CHECK(registration_path(&path, dev->cfg.state_dir));
	ZTP_CHECK(ztp__file_write_atomic(path, text, strlen(text), 0600));
	ztp__dev_step_event(dev, "register", "done", NULL);
cleanup:
	ztp__dev_cred_free(&boot);
	json_object_put(req);
	json_object_put(resp);
	json_object_put(file);
	free(path);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------
 * credentials and rotation */

static int csr_request(json_object **out, EVP_PKEY *key, const char *id)
{
	int rc = ZTP_OK;
	char *pem = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	json_object *o = NULL;

	ZTP_CHECK(ztp__dev_make_csr(&pem, &der, &der_len, key, id));
	o = json_object_new_object();
	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "request: out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "csr", pem));
	*out = o;
	o = NULL;
cleanup:
	json_object_put(o);
	free(pem);
	free(der);
	return rc;
}

int ztp__dev_parse_assignment(json_object *resp)
{
	int rc = ZTP_OK;
	json_object *v = NULL;
	const char *s = NULL;
	size_t len = 0;

	ZTP_CHECK(ztp__json_only_keys(resp, ztp__assignment_members,
				      "assignment answer"));
	if (json_object_object_get_ex(resp, "tenant", &v) && v != NULL) {
		ZTP_CHECK(
		    ztp__json_str(resp, "tenant", true, ZTP_ID_MAX, &s, &len));
		ZTP_CHECK(ztp__id_check(s, len, "assignment tenant"));
	}
	if (json_object_object_get_ex(resp, "namespace", &v) && v != NULL) {
		ZTP_CHECK(ztp__json_str(resp, "namespace", true,
					ZTP__NAMESPACE_MAX, &s, &len));
		ZTP_ENSURE(ztp__namespace_syntax(s, len), ZTP_EPARSE,
			   "assignment answer: bad namespace");
	}
	if (json_object_object_get_ex(resp, "policy", &v) && v != NULL)
		ZTP_ENSURE(json_object_is_type(v, json_type_object), ZTP_EPARSE,
			   "assignment answer: policy is not an object");
	ZTP_CHECK(ztp__dev_parse_brokers(resp, "assignment answer"));
	ZTP_CHECK(ztp__dev_parse_trust_bundle(resp, "assignment answer"));
cleanup:
	return rc;
}

int ztp__dev_parse_brokers(json_object *resp, const char *what)
{
	json_object *arr = NULL, *u;
	const char *s;
	size_t n, i, len;
	int rc = ZTP_OK;

	ZTP_CHECK(
	    ztp__json_array(resp, "brokers", false, ZTP__BROKERS_MAX, &arr));
	if (arr == NULL)
		goto cleanup;
	n = json_object_array_length(arr);
	ZTP_ENSURE(n >= 1, ZTP_EPARSE, "%s: brokers: empty", what);
	for (i = 0; i < n; i++) {
		u = json_object_array_get_idx(arr, i);
		ZTP_ENSURE(json_object_is_type(u, json_type_string), ZTP_EPARSE,
			   "%s: brokers: not a string", what);
		s = json_object_get_string(u);
		len = (size_t)json_object_get_string_len(u);
		ZTP_ENSURE(ztp__broker_url_syntax(s, len), ZTP_EPARSE,
			   "%s: brokers: bad length or character", what);
	}
cleanup:
	return rc;
}

int ztp__dev_store_brokers(const char *state, json_object *resp)
{
	json_object *arr = NULL, *file = NULL;
	char *text = NULL;
	ztp__buf b = {0};
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__buf_append_str(&b, state));
	ZTP_CHECK(ztp__buf_append_str(&b, "/brokers.json"));
	ZTP_CHECK(ztp__buf_terminate(&b));
	if (!json_object_object_get_ex(resp, "brokers", &arr) || arr == NULL) {
		ZTP_ENSURE(unlink((const char *)b.data) == 0 || errno == ENOENT,
			   ZTP_EIO, "%s: %s", (const char *)b.data,
			   strerror(errno));
		goto cleanup;
	}
	file = json_object_new_object();
	ZTP_ENSURE(file != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add(file, "brokers", json_object_get(arr)));
	ZTP_CHECK(ztp__json_dump(&text, file));
	ZTP_CHECK(ztp__file_write_atomic((const char *)b.data, text,
					 strlen(text), 0644));
cleanup:
	json_object_put(file);
	free(text);
	ztp__buf_free(&b);
	return rc;
}

/* GET-like POST of {} to assignment with the given identity. */
static int assignment_call(ztp_device *dev, const ztp__dev_tls_id *tls,
			   json_object **out)
{
	int rc = ZTP_OK;
	json_object *req = json_object_new_object(), *resp = NULL;

	ZTP_ENSURE(req != NULL, ZTP_ENOMEM, "assignment: out of memory");
	ZTP_CHECK(ztp__dev_call(dev, "assignment", req, tls, &resp));
	ZTP_CHECK(ztp__dev_parse_assignment(resp));
	ZTP_CHECK(ztp__dev_store_brokers(dev->cfg.state_dir, resp));
	ZTP_CHECK(ztp__dev_trust_update(dev, resp));
	*out = resp;
	resp = NULL;
cleanup:
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/*
 * Obtain an operational credential in the pending slot with endpoint
 * ("credentials" or "rotate") authenticated by auth, and make it current;
 * with probe, only after an assignment call with the new credential has
 * succeeded (otherwise it stays pending and the old one current).
 */
static int operational_locked(ztp_device *dev, const char *id,
			      const char *endpoint, const ztp__dev_cred *auth,
			      bool probe, int64_t now)
{
	int rc = ZTP_OK;
	const char *state = dev->cfg.state_dir;
	EVP_PKEY *key = NULL;
	ztp__dev_cred ready = {0};
	ztp__dev_issued issued = {0};
	ztp__dev_tls_id tls = {0};
	json_object *req = NULL, *resp = NULL;
	X509 *cert;
	STACK_OF(X509) * chain;
	ztp__dev_keys kb;

	ztp__dev_step_event(dev, endpoint, "start", NULL);
	ZTP_CHECK(ztp__dev_pending_begin(
	    &key, &ready, state, ztp__dev_keys_of(&dev->cfg, &kb),
	    ZTP__DEV_OPERATIONAL, dev->cfg.key_type, id, now));
	if (ready.cert != NULL) {
		/* Stored by an interrupted run (or a failed probe). */
		cert = ready.cert;
		chain = ready.chain;
		ztp__dev_step_event(dev, endpoint, "resumed", NULL);
	} else {
		ztp__dev_step_event(dev, endpoint, "key", NULL);
		ZTP_CHECK(csr_request(&req, key, id));
		tls_of(&tls, auth);
		ZTP_CHECK(ztp__dev_call(dev, endpoint, req, &tls, &resp));
		ZTP_CHECK(
		    ztp__dev_parse_issued(&issued, resp, true, key, id, now));
		ZTP_CHECK(ztp__dev_pending_store(state, ZTP__DEV_OPERATIONAL,
						 issued.cert, issued.chain));
		cert = issued.cert;
		chain = issued.chain;
	}
	if (probe) {
		json_object *a = NULL;

		tls.key = key;
		tls.cert = cert;
		tls.chain = chain;
		ztp__dev_step_event(dev, endpoint, "probe", NULL);
		rc = assignment_call(dev, &tls, &a);
		json_object_put(a);
		/* A device nobody has claimed yet has no assignment; the
		 * verifier says so only after it authenticated the
		 * credential, which is what the probe is for. */
		if (ztp__dev_refused_with(dev, rc, ZTP__W_DEVICE_STATE)) {
			ztp_error_clear();
			rc = ZTP_OK;
		}
		ZTP_CHECK(rc);
	}
	ZTP_CHECK(ztp__dev_activate(dev, endpoint, ZTP__DEV_OPERATIONAL, cert));
	/* What the answer allocated (a resumed credential's answer is gone:
	 * the next assignment brings it). */
	if (resp != NULL) {
		ZTP_CHECK(ztp__dev_store_brokers(state, resp));
		ZTP_CHECK(ztp__dev_trust_update(dev, resp));
	}
	ztp__dev_step_event(dev, endpoint, "done", ztp__dev_cert_fields(cert));
cleanup:
	json_object_put(req);
	json_object_put(resp);
	ztp__dev_issued_free(&issued);
	ztp__dev_cred_free(&ready);
	EVP_PKEY_free(key);
	return rc;
}

static int credentials_with(ztp_device *dev, const char *id, int64_t now,
			    bool allow_op)
{
	int rc = ZTP_OK;
	ztp__dev_cred op = {0}, boot = {0};
	const ztp__dev_cred *auth;

	/* Either credential may authenticate; the operational one is
	 * preferred because it outlives the bootstrap certificate. */
	ZTP_CHECK(load_current(&op, dev, ZTP__DEV_OPERATIONAL));
	ZTP_CHECK(load_current(&boot, dev, ZTP__DEV_BOOTSTRAP));
	auth = allow_op && cred_valid(&op, now) ? &op
	       : cred_valid(&boot, now)		? &boot
						: NULL;
	ZTP_ENSURE(auth != NULL, ZTP_ESTATE,
		   "credentials: no valid bootstrap or operational "
		   "credential; bootstrap first");
	ZTP_CHECK(operational_locked(dev, id, "credentials", auth, false, now));
cleanup:
	ztp__dev_cred_free(&op);
	ztp__dev_cred_free(&boot);
	return rc;
}

static int credentials_locked(ztp_device *dev, const char *id, int64_t now)
{
	return credentials_with(dev, id, now, true);
}

static int rotate_locked(ztp_device *dev, const char *id, int64_t now)
{
	int rc = ZTP_OK;
	ztp__dev_cred op = {0};

	ZTP_CHECK(load_current(&op, dev, ZTP__DEV_OPERATIONAL));
	ZTP_ENSURE(op.cert != NULL, ZTP_ESTATE,
		   "rotate: no operational credential; run credentials first");
	ZTP_ENSURE(cred_valid(&op, now), ZTP_EEXPIRED,
		   "rotate: the operational certificate has expired; obtain "
		   "new credentials with the bootstrap certificate");
	ZTP_CHECK(operational_locked(dev, id, "rotate", &op, true, now));
cleanup:
	ztp__dev_cred_free(&op);
	return rc;
}

/* ------------------------------------------------------------------ public */

typedef int (*locked_fn)(ztp_device *dev, const char *id, int64_t now);

static int with_lock(ztp_device *dev, const char *op, locked_fn fn)
{
	int rc = ZTP_OK;
	int lock = -1;
	char id[ZTP_ID_MAX + 1];

	ZTP_CHECK(ztp__dev_begin(dev, op, id, &lock));
	ZTP_CHECK(ztp__dev_clock_sync(dev, id));
	ZTP_CHECK(fn(dev, id, ztp__dev_now(dev)));
cleanup:
	if (rc < 0)
		ztp__dev_fail_event(dev, op, rc);
	ztp__dev_end(dev, lock);
	return rc;
}

static int register_fn(ztp_device *dev, const char *id, int64_t now)
{
	(void)id;
	return register_locked(dev, now);
}

int ztp_device_register(ztp_device *dev)
{
	ZTP_ARG(dev != NULL);
	return with_lock(dev, "register", register_fn);
}

int ztp_device_credentials(ztp_device *dev)
{
	ZTP_ARG(dev != NULL);
	return with_lock(dev, "credentials", credentials_locked);
}

int ztp_device_rotate(ztp_device *dev)
{
	ZTP_ARG(dev != NULL);
	return with_lock(dev, "rotate", rotate_locked);
}

int ztp_device_assignment(ztp_device *dev, char **json)
{
	int rc = ZTP_OK;
	int lock = -1;
	char id[ZTP_ID_MAX + 1];
	ztp__dev_cred op = {0};
	ztp__dev_tls_id tls;
	json_object *a = NULL;

	ZTP_ARG(dev != NULL);
	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_CHECK(ztp__dev_begin(dev, "assignment", id, &lock));
	ZTP_CHECK(ztp__dev_clock_sync(dev, id));
	ZTP_CHECK(load_current(&op, dev, ZTP__DEV_OPERATIONAL));
	ZTP_ENSURE(op.cert != NULL, ZTP_ESTATE,
		   "assignment: no operational credential");
	tls_of(&tls, &op);
	ZTP_CHECK(assignment_call(dev, &tls, &a));
	ZTP_CHECK(ztp__json_dump(json, a));
cleanup:
	if (rc < 0)
		ztp__dev_fail_event(dev, "assignment", rc);
	json_object_put(a);
	ztp__dev_cred_free(&op);
	ztp__dev_end(dev, lock);
	return rc;
}

/* With a valid operational credential: finish or start a rotation when
 * one is pending or due; otherwise check in with an assignment call and
 * pick up a tenant the device was claimed by since. */
static int run_operational(ztp_device *dev, const char *id, int64_t now,
			   const ztp__dev_cred *op, json_object *actions)
{
	int rc = ZTP_OK;
	ztp__dev_manifest m;
	ztp__dev_tls_id tls;
	json_object *a = NULL, *t = NULL;
	int64_t nb = 0, na = 0;
	uint8_t fp[32];
	const char *did = NULL;

	ZTP_CHECK(ztp__dev_manifest_read(&m, dev->cfg.state_dir,
					 ZTP__DEV_OPERATIONAL));
	ZTP_CHECK(ztp__asn1_time(&nb, X509_get0_notBefore(op->cert)));
	ZTP_CHECK(ztp__asn1_time(&na, X509_get0_notAfter(op->cert)));
	ZTP_CHECK(ztp__cert_fingerprint(fp, op->cert));
	if (m.pending != 0 ||
	    now >= ztp__rotation_due(nb, na, dev->cfg.rotate_percent, fp)) {
		rc = rotate_locked(dev, id, now);
		did = "rotate";
		/* The tenant changed since this certificate was issued: the
		 * verifier wants a fresh request, not a rotation. */
		if (ztp__dev_refused_with(dev, rc, ZTP__W_DEVICE_STATE)) {
			rc = operational_locked(dev, id, "credentials", op,
						false, now);
			did = "credentials";
		}
	} else {
		/* Check in: the assignment tells whether the device has been
		 * claimed (or moved to another tenant) since this certificate
		 * was issued, and a revoked certificate (a reset) shows up
		 * here as certificate_revoked. */
		char have[ZTP_ID_MAX + 1] = "";

		if (cert_has_tenant(op->cert))
			(void)ztp__cert_san_id(have, op->cert, ZTP_URN_TENANT);
		tls_of(&tls, op);
		rc = assignment_call(dev, &tls, &a);
		if (ztp__dev_refused_with(dev, rc, ZTP__W_DEVICE_STATE)) {
			ztp_error_clear();
			rc = ZTP_OK; /* not claimed yet */
		} else if (rc == ZTP_OK &&
			   json_object_object_get_ex(a, "tenant", &t) &&
			   t != NULL &&
			   strcmp(json_object_get_string(t), have) != 0) {
			rc = operational_locked(dev, id, "credentials", op,
						false, now);
			did = "credentials";
		}
	}
	ZTP_CHECK(rc);
	if (did != NULL)
		ZTP_ENSURE(json_object_array_add(
			       actions, json_object_new_string(did)) == 0,
			   ZTP_ENOMEM, "run: out of memory");
cleanup:
	json_object_put(a);
	return rc;
}

static int did(json_object *actions, const char *what)
{
	json_object *s = json_object_new_string(what);

	if (s == NULL || json_object_array_add(actions, s) != 0) {
		json_object_put(s);
		return ztp__err(ZTP_ENOMEM, "run: out of memory");
	}
	return ZTP_OK;
}

int ztp__dev_run_locked(ztp_device *dev, const char *id, int64_t now,
			json_object *actions)
{
	int rc = ZTP_OK;
	ztp__dev_cred op = {0}, boot = {0};
	bool registered = false, bootstrapped = false, op_ok;
	bool op_refused = false;

	/* The verifier issues operational credentials only to registered
	 * devices: without a registration, run could never finish. */
	ZTP_ENSURE(dev->cfg.device_type != NULL, ZTP_EINVAL,
		   "run: no registration configured (set \"registration\" in "
		   "the configuration)");
	ZTP_CHECK(load_current(&op, dev, ZTP__DEV_OPERATIONAL));
	ZTP_CHECK(registration_current(&registered, dev));
	op_ok = cred_valid(&op, now);
	if (op_ok && (registered || dev->cfg.device_type == NULL)) {
		rc = run_operational(dev, id, now, &op, actions);
		if (!credential_refused(dev, rc))
			goto cleanup;
		/* Revoked (a reset) or expired by the server's clock: start
		 * over from the factory identity. */
		ztp_error_clear();
		rc = ZTP_OK;
		op_ok = false;
		op_refused = true;
		ZTP_CHECK(ztp__dev_bootstrap_locked(dev, id));
		ZTP_CHECK(did(actions, "bootstrap"));
		bootstrapped = true;
		registered = false;
	}

	/* No usable operational credential (or the registration changed):
	 * start from the bootstrap certificate. */
	ZTP_CHECK(load_current(&boot, dev, ZTP__DEV_BOOTSTRAP));
	if (!bootstrapped && !cred_valid(&boot, now)) {
		ZTP_CHECK(ztp__dev_bootstrap_locked(dev, id));
		ZTP_CHECK(did(actions, "bootstrap"));
		bootstrapped = true;
	}
	if (!registered && dev->cfg.device_type != NULL) {
		rc = register_locked(dev, now);
		if (credential_refused(dev, rc) && !bootstrapped) {
			/* The bootstrap certificate went with a reset. */
			ztp_error_clear();
			ZTP_CHECK(ztp__dev_bootstrap_locked(dev, id));
			ZTP_CHECK(did(actions, "bootstrap"));
			bootstrapped = true;
			rc = register_locked(dev, now);
		}
		ZTP_CHECK(rc);
		ZTP_CHECK(did(actions, "register"));
	}
	if (!op_ok) {
		rc = credentials_with(dev, id, now, !op_refused);
		if (credential_refused(dev, rc) && !bootstrapped) {
			ztp_error_clear();
			ZTP_CHECK(ztp__dev_bootstrap_locked(dev, id));
			ZTP_CHECK(did(actions, "bootstrap"));
			bootstrapped = true;
			rc = credentials_with(dev, id, now, false);
		}
		ZTP_CHECK(rc);
		ZTP_CHECK(did(actions, "credentials"));
	}
cleanup:
	ztp__dev_cred_free(&op);
	ztp__dev_cred_free(&boot);
	return rc;
}

int ztp_device_run(ztp_device *dev, char **report)
{
	int rc = ZTP_OK;
	int lock = -1;
	char id[ZTP_ID_MAX + 1];
	json_object *actions = NULL, *o = NULL;

	ZTP_ARG(dev != NULL);
	if (report != NULL)
		*report = NULL;
	actions = json_object_new_array();
	ZTP_ENSURE(actions != NULL, ZTP_ENOMEM, "run: out of memory");
	ZTP_CHECK(ztp__dev_begin(dev, "run", id, &lock));
	ZTP_CHECK(ztp__dev_clock_sync(dev, id));
	ZTP_CHECK(ztp__dev_run_locked(dev, id, ztp__dev_now(dev), actions));
	if (report != NULL) {
		o = json_object_new_object();
		ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "run: out of memory");
		ZTP_CHECK(
		    ztp__json_add(o, "actions", json_object_get(actions)));
		ZTP_CHECK(ztp__json_dump(report, o));
	}
cleanup:
	if (rc < 0)
		ztp__dev_fail_event(dev, "run", rc);
	json_object_put(o);
	json_object_put(actions);
	ztp__dev_end(dev, lock);
	return rc;
}
