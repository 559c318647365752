/*
 * libztp — the device's credential store on disk.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Layout under the state directory:
 *
 *   .lock                         flock()ed while a handle works on it
 *   <kind>/current.json           manifest: {"version":1, "current":"a"|null,
 *                                  "fingerprint":hex|null,
 *                                  "pending":"a"|"b"|null}
 *   <kind>/a/{key,cert,chain}.pem slot a
 *   <kind>/b/{key,cert,chain}.pem slot b
 *   <kind>/<slot>/key.ref         instead of key.pem when the slot's key is
 *                                 in a token: the object it names there
 *                                 (object=LABEL-<kind>-<slot>;id=...)
 *
 * where <kind> is "bootstrap" or "operational". The slot named "current"
 * is never written. A new credential is built in the other slot, which the
 * manifest first marks "pending" after emptying it, so that whatever a
 * pending slot holds was made for the credential in progress: a key
 * without a certificate there is reused, a key with its certificate is
 * committed. Every file is replaced atomically (temp + fsync + rename +
 * directory fsync) and the manifest is replaced last, so power loss leaves
 * either the old credential or the new one current.
 *
 * A key in a token is labelled after its slot, so whatever an interrupted
 * run left there under the label of a slot being emptied is deleted with
 * the slot. Once a new credential is current, the old slot's token key is
 * deleted at once (ztp__dev_slot_retire); a crash before that leaves an
 * object that the slot's next use deletes.
 */
#include "device/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define MANIFEST_MAX 1024

const char *ztp__dev_kind_name(ztp__dev_kind kind)
{
	switch (kind) {
	case ZTP__DEV_BOOTSTRAP:
		return "bootstrap";
	case ZTP__DEV_OPERATIONAL:
		return "operational";
	case ZTP__DEV_TRUST:
		return "trust";
	default:
		return "unknown";
	}
}

int ztp__dev_slot_path(char **out, const char *state, ztp__dev_kind kind,
		       char slot, const char *file)
{
	int rc = ZTP_OK;
	ztp__buf b = {0};

	ZTP_CHECK(ztp__buf_append_str(&b, state));
	ZTP_CHECK(ztp__buf_append_byte(&b, '/'));
	ZTP_CHECK(ztp__buf_append_str(&b, ztp__dev_kind_name(kind)));
	if (slot != 0) {
		ZTP_CHECK(ztp__buf_append_byte(&b, '/'));
		ZTP_CHECK(ztp__buf_append_byte(&b, (uint8_t)slot));
	}
	if (file != NULL) {
		ZTP_CHECK(ztp__buf_append_byte(&b, '/'));
		ZTP_CHECK(ztp__buf_append_str(&b, file));
	}
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, NULL);
cleanup:
	ztp__buf_free(&b);
	return rc;
}

/* Create dir (0700) if missing; refuse one that others could write into or
 * that someone else owns, since whoever can write there can swap keys. */
static int ensure_dir(const char *dir)
{
	int rc = ZTP_OK;
	struct stat st;

	if (mkdir(dir, 0700) != 0)
		ZTP_ENSURE(errno == EEXIST, ZTP_EIO, "%s: mkdir: %s", dir,
			   strerror(errno));
	ZTP_ENSURE(lstat(dir, &st) == 0, ZTP_EIO, "%s: stat: %s", dir,
		   strerror(errno));
	ZTP_ENSURE(S_ISDIR(st.st_mode), ZTP_EIO, "%s: not a directory", dir);
	ZTP_ENSURE(st.st_uid == geteuid(), ZTP_EIO,
		   "%s: owned by uid %ld, not by this user", dir,
		   (long)st.st_uid);
	ZTP_ENSURE((st.st_mode & 022) == 0, ZTP_EIO,
		   "%s: writable by group or others (mode %03o)", dir,
		   (unsigned)(st.st_mode & 0777));
cleanup:
	return rc;
}

static int fsync_dir(const char *dir)
{
	int rc = ZTP_OK;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ZTP_ENSURE(fd >= 0, ZTP_EIO, "%s: open: %s", dir, strerror(errno));
	ZTP_ENSURE(fsync(fd) == 0, ZTP_EIO, "%s: fsync: %s", dir,
		   strerror(errno));
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

int ztp__dev_state_open(const char *state, int *fd)
{
	int rc = ZTP_OK;
	char *lock = NULL;
	ztp__buf b = {0};

	*fd = -1;
	ZTP_CHECK(ensure_dir(state));
	ZTP_CHECK(ztp__buf_append_str(&b, state));
	ZTP_CHECK(ztp__buf_append_str(&b, "/.lock"));
	ZTP_CHECK(ztp__buf_terminate(&b));
	lock = (char *)ztp__buf_steal(&b, NULL);
	*fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		   0600);
	ZTP_ENSURE(*fd >= 0, ZTP_EIO, "%s: open: %s", lock, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		ZTP_ENSURE(errno != EWOULDBLOCK, ZTP_ESTATE,
			   "%s: another process is using this state "
			   "directory",
			   state);
		ZTP_ENSURE(0, ZTP_EIO, "%s: flock: %s", lock, strerror(errno));
	}
cleanup:
	if (rc < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	free(lock);
	ztp__buf_free(&b);
	return rc;
}

void ztp__dev_state_close(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ------------------------------------------------------------------ manifest
 */

static int slot_from_json(char *out, json_object *o, const char *key)
{
	int rc = ZTP_OK;
	json_object *v = NULL;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		goto cleanup;
	ZTP_ENSURE(json_object_is_type(v, json_type_string) &&
		       json_object_get_string_len(v) == 1 &&
		       (json_object_get_string(v)[0] == 'a' ||
			json_object_get_string(v)[0] == 'b'),
		   ZTP_EPARSE, "manifest: \"%s\" must be \"a\", \"b\" or null",
		   key);
	*out = json_object_get_string(v)[0];
cleanup:
	return rc;
}

int ztp__dev_manifest_read(ztp__dev_manifest *m, const char *state,
			   ztp__dev_kind kind)
{
	static const char *const keys[] = {"version", "current", "fingerprint",
					   "pending", NULL};
	int rc = ZTP_OK;
	char *path = NULL;
	size_t i;
	json_object *root = NULL, *fpv = NULL;
	int64_t version = 0;
	const char *fp;

	memset(m, 0, sizeof(*m));
	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, 0, "current.json"));
	ZTP_CHECK(ztp__dev_json_file(&root, path, MANIFEST_MAX, 2));
	if (root == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__json_only_keys(root, keys, "manifest"));
	ZTP_CHECK(ztp__json_int(root, "version", true, 1, 1, &version));
	ZTP_CHECK(slot_from_json(&m->current, root, "current"));
	ZTP_CHECK(slot_from_json(&m->pending, root, "pending"));
	ZTP_ENSURE(m->current == 0 || m->current != m->pending, ZTP_EPARSE,
		   "%s: the current slot cannot be pending", path);
	if (json_object_object_get_ex(root, "fingerprint", &fpv) &&
	    fpv != NULL) {
		ZTP_ENSURE(json_object_is_type(fpv, json_type_string) &&
			       json_object_get_string_len(fpv) == 64,
			   ZTP_EPARSE, "%s: bad fingerprint", path);
		fp = json_object_get_string(fpv);
		for (i = 0; i < 64; i++)
			ZTP_ENSURE((fp[i] >= '0' && fp[i] <= '9') ||
				       (fp[i] >= 'a' && fp[i] <= 'f'),
				   ZTP_EPARSE, "%s: bad fingerprint", path);
		memcpy(m->fingerprint, fp, 65);
	}
	ZTP_ENSURE((m->current != 0) == (m->fingerprint[0] != '\0'), ZTP_EPARSE,
		   "%s: a current slot needs a fingerprint and only then",
		   path);
cleanup:
	if (rc < 0)
		memset(m, 0, sizeof(*m));
	json_object_put(root);
	free(path);
	return rc;
}

int ztp__dev_json_file(json_object **root, const char *path, size_t max,
		       int depth)
{
	int rc = ZTP_OK;
	char *buf = NULL;
	size_t len = 0;

	*root = NULL;
	rc = ztp__file_read(&buf, &len, path, max);
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ZTP_CHECK(ztp__json_parse(root, buf, len, max, depth));
	ZTP_ENSURE(json_object_is_type(*root, json_type_object), ZTP_EPARSE,
		   "%s: not a JSON object", path);
cleanup:
	if (rc < 0) {
		json_object_put(*root);
		*root = NULL;
	}
	free(buf);
	return rc;
}

static int add_slot(json_object *o, const char *key, char slot)
{
	char v[2] = {slot, 0};

	return ztp__json_add_str(o, key, slot == 0 ? NULL : v);
}

int ztp__dev_manifest_write(const ztp__dev_manifest *m, const char *state,
			    ztp__dev_kind kind)
{
	int rc = ZTP_OK;
	json_object *root = NULL;
	char *path = NULL, *s = NULL;

	root = json_object_new_object();
	ZTP_ENSURE(root != NULL, ZTP_ENOMEM, "manifest: out of memory");
	ZTP_CHECK(ztp__json_add_int(root, "version", 1));
	ZTP_CHECK(add_slot(root, "current", m->current));
	ZTP_CHECK(ztp__json_add_str(root, "fingerprint",
				    m->current != 0 ? m->fingerprint : NULL));
	ZTP_CHECK(add_slot(root, "pending", m->pending));
	ZTP_CHECK(ztp__json_dump(&s, root));
	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, 0, "current.json"));
	ZTP_CHECK(ztp__file_write_atomic(path, s, strlen(s), 0600));
cleanup:
	json_object_put(root);
	free(path);
	free(s);
	return rc;
}

/* ------------------------------------------------------------------ slots */

void ztp__dev_cred_free(ztp__dev_cred *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	memset(c, 0, sizeof(*c));
}

/* The label of the token object holding the key of slot. */
static int slot_label(char *out, size_t cap, const ztp__dev_keys *keys,
		      ztp__dev_kind kind, char slot)
{
	int n = snprintf(out, cap, "%s-%s-%c", keys->label,
			 ztp__dev_kind_name(kind), slot);

	if (n < 0 || (size_t)n >= cap)
		return ztp__err(ZTP_EINVAL, "key label too long");
	return ZTP_OK;
}

/* A key.ref as written by ztp__dev_token_generate(), its final newline
 * removed: URI path attribute characters only (so no query: the token,
 * module and PIN come from the configuration alone). */
static int keyref_check(const char *ref, size_t len, const char *path)
{
	int rc = ZTP_OK;
	size_t i;

	ZTP_ENSURE(len > 0, ZTP_EPARSE, "%s: empty", path);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)ref[i];

		ZTP_ENSURE(
		    (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
			ch == '_' || ch == '=' || ch == ';' || ch == '%',
		    ZTP_EPARSE, "%s: not an object reference", path);
	}
cleanup:
	return rc;
}

/* The slot's key: key.pem, or the token object key.ref names (*in_token
 * then, when not NULL). ZTP_ENOTFOUND if the slot holds neither. */
static int read_key(EVP_PKEY **out, const char *state,
		    const ztp__dev_keys *keys, ztp__dev_kind kind, char slot,
		    bool *in_token)
{
	int rc = ZTP_OK;
	char *path = NULL, *buf = NULL;
	size_t len = 0;

	if (in_token != NULL)
		*in_token = false;
	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, slot, "key.pem"));
	rc = ztp__file_read(&buf, &len, path, ZTP__DEV_KEYFILE_MAX);
	if (rc == ZTP_OK) {
		ZTP_CHECK(ztp__pem_privkey(out, buf, len, NULL));
		goto cleanup;
	}
	if (rc != ZTP_ENOTFOUND)
		goto cleanup;
	ztp_error_clear();
	free(path);
	path = NULL;
	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, slot, "key.ref"));
	ZTP_CHECK(ztp__file_read(&buf, &len, path, ZTP__DEV_KEYREF_MAX));
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	ZTP_CHECK(keyref_check(buf, len, path));
	ZTP_ENSURE(keys != NULL, ZTP_ESTATE,
		   "%s: the key of this slot is in a token, and no "
		   "operational_key token is configured",
		   path);
	ZTP_CHECK(ztp__dev_token_load(out, keys, buf));
	if (in_token != NULL)
		*in_token = true;
cleanup:
	ztp__free_secret(buf, len);
	free(path);
	return rc;
}

static int read_cert(X509 **out, const char *state, ztp__dev_kind kind,
		     char slot)
{
	int rc = ZTP_OK;
	char *path = NULL, *buf = NULL;
	size_t len = 0;

	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, slot, "cert.pem"));
	ZTP_CHECK(ztp__file_read(&buf, &len, path, ZTP_PEM_MAX));
	ZTP_CHECK(ztp__pem_cert(out, buf, len));
cleanup:
	free(buf);
	free(path);
	return rc;
}

/* The chain file is absent when the server sent no chain. */
static int read_chain(STACK_OF(X509) * *out, const char *state,
		      ztp__dev_kind kind, char slot)
{
	int rc = ZTP_OK;
	char *path = NULL, *buf = NULL;
	size_t len = 0;

	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, slot, "chain.pem"));
	rc = ztp__file_read(&buf, &len, path,
			    (size_t)ZTP_PEM_MAX * ZTP_CHAIN_MAX);
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		*out = sk_X509_new_null();
		ZTP_ENSURE(*out != NULL, ZTP_ENOMEM, "chain: out of memory");
		rc = ZTP_OK;
		goto cleanup;
	}
	ZTP_CHECK(rc);
	ZTP_CHECK(ztp__pem_certs(out, buf, len, ZTP_CHAIN_MAX));
cleanup:
	free(buf);
	free(path);
	return rc;
}

static int load_slot(ztp__dev_cred *c, const char *state,
		     const ztp__dev_keys *keys, ztp__dev_kind kind, char slot)
{
	bool same = false;
	int rc = ZTP_OK;

	memset(c, 0, sizeof(*c));
	c->slot = slot;
	ZTP_CHECK(read_key(&c->key, state, keys, kind, slot, NULL));
	ZTP_CHECK(read_cert(&c->cert, state, kind, slot));
	ZTP_CHECK(ztp__pubkey_same(&same, X509_get0_pubkey(c->cert), c->key));
	ZTP_ENSURE(same, ZTP_EMISMATCH,
		   "%s credential in slot %c: certificate is not for the key",
		   ztp__dev_kind_name(kind), slot);
	ZTP_CHECK(read_chain(&c->chain, state, kind, slot));
cleanup:
	if (rc < 0)
		ztp__dev_cred_free(c);
	return rc;
}

int ztp__dev_cred_current(ztp__dev_cred *out, const char *state,
			  const ztp__dev_keys *keys, ztp__dev_kind kind)
{
	int rc = ZTP_OK;
	ztp__dev_manifest m;
	uint8_t fp[32];
	char hex[65];

	memset(out, 0, sizeof(*out));
	ZTP_CHECK(ztp__dev_manifest_read(&m, state, kind));
	ZTP_ENSURE(m.current != 0, ZTP_ENOTFOUND, "no current %s credential",
		   ztp__dev_kind_name(kind));
	ZTP_CHECK(load_slot(out, state, keys, kind, m.current));
	ZTP_CHECK(ztp__cert_fingerprint(fp, out->cert));
	ztp__hex_encode(hex, fp, sizeof(fp));
	ZTP_ENSURE(strcmp(hex, m.fingerprint) == 0, ZTP_EMISMATCH,
		   "%s credential in slot %c: certificate does not match the "
		   "manifest",
		   ztp__dev_kind_name(kind), m.current);
cleanup:
	if (rc < 0)
		ztp__dev_cred_free(out);
	return rc;
}

static int unlink_slot_file(const char *state, ztp__dev_kind kind, char slot,
			    const char *file)
{
	int rc = ZTP_OK;
	char *path = NULL;

	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, slot, file));
	ZTP_ENSURE(unlink(path) == 0 || errno == ENOENT, ZTP_EIO,
		   "%s: unlink: %s", path, strerror(errno));
cleanup:
	free(path);
	return rc;
}

/* Empty a slot: certificate first, so that a crash in between never leaves
 * a certificate next to a key it was not issued for; with keys, the token
 * objects of the slot's label last, so that a crash in between leaves
 * objects no slot names, deleted the next time. */
static int empty_slot(const char *state, const ztp__dev_keys *keys,
		      ztp__dev_kind kind, char slot)
{
	int rc = ZTP_OK;
	char *dir = NULL;
	char label[ZTP__DEV_KEYREF_MAX];

	ZTP_CHECK(unlink_slot_file(state, kind, slot, "cert.pem"));
	ZTP_CHECK(unlink_slot_file(state, kind, slot, "chain.pem"));
	ZTP_CHECK(unlink_slot_file(state, kind, slot, "key.pem"));
	ZTP_CHECK(unlink_slot_file(state, kind, slot, "key.ref"));
	ZTP_CHECK(ztp__dev_slot_path(&dir, state, kind, slot, NULL));
	ZTP_CHECK(fsync_dir(dir));
	if (keys != NULL) {
		ZTP_CHECK(slot_label(label, sizeof(label), keys, kind, slot));
		ZTP_CHECK(ztp__dev_token_delete(keys, label));
	}
cleanup:
	free(dir);
	return rc;
}

int ztp__dev_kind_dirs(const char *state, ztp__dev_kind kind)
{
	int rc = ZTP_OK;
	char *p = NULL;

	ZTP_CHECK(ensure_dir(state));
	ZTP_CHECK(ztp__dev_slot_path(&p, state, kind, 0, NULL));
	ZTP_CHECK(ensure_dir(p));
	free(p);
	p = NULL;
	ZTP_CHECK(ztp__dev_slot_path(&p, state, kind, 'a', NULL));
	ZTP_CHECK(ensure_dir(p));
	free(p);
	p = NULL;
	ZTP_CHECK(ztp__dev_slot_path(&p, state, kind, 'b', NULL));
	ZTP_CHECK(ensure_dir(p));
cleanup:
	free(p);
	return rc;
}

/* A fresh key of key_type for slot: made in the token and named by
 * key.ref with keys, else generated here and written to key.pem. */
static int new_key(EVP_PKEY **out, const char *state, const ztp__dev_keys *keys,
		   ztp__dev_kind kind, char slot, const char *key_type)
{
	int rc = ZTP_OK;
	char *path = NULL, *pem = NULL, *ref = NULL;
	char label[ZTP__DEV_KEYREF_MAX];
	EVP_PKEY *key = NULL;

	*out = NULL;
	if (keys != NULL) {
		ZTP_CHECK(slot_label(label, sizeof(label), keys, kind, slot));
		ZTP_CHECK(
		    ztp__dev_token_generate(&key, &ref, keys, label, key_type));
		ZTP_CHECK(
		    ztp__dev_slot_path(&path, state, kind, slot, "key.ref"));
		ZTP_CHECK(ztp__file_write_atomic(path, ref, strlen(ref), 0600));
	} else {
		ZTP_CHECK(ztp__key_generate(&key, key_type));
		ZTP_CHECK(ztp__privkey_to_pem(&pem, key, NULL));
		ZTP_CHECK(
		    ztp__dev_slot_path(&path, state, kind, slot, "key.pem"));
		ZTP_CHECK(ztp__file_write_atomic(path, pem, strlen(pem), 0600));
	}
	*out = key;
	key = NULL;
cleanup:
	if (pem != NULL)
		ztp__free_secret(pem, strlen(pem));
	EVP_PKEY_free(key);
	free(ref);
	free(path);
	return rc;
}

/* A certificate in the pending slot that completes the credential. */
static bool ready_cert(X509 *cert, EVP_PKEY *key, const char *device_id,
		       int64_t now)
{
	char id[ZTP_ID_MAX + 1];
	int64_t na = 0;

	if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1)
		return false;
	if (ztp__cert_device_id(id, cert) < 0 || strcmp(id, device_id) != 0)
		return false;
	if (ztp__asn1_time(&na, X509_get0_notAfter(cert)) < 0 || na <= now)
		return false;
	return true;
}

int ztp__dev_pending_begin(EVP_PKEY **key, ztp__dev_cred *ready,
			   const char *state, const ztp__dev_keys *keys,
			   ztp__dev_kind kind, const char *key_type,
			   const char *device_id, int64_t now)
{
	int rc = ZTP_OK;
	ztp__dev_manifest m;
	EVP_PKEY *k = NULL;
	X509 *cert = NULL;
	char have[16];
	char slot;
	bool in_token = false;

	*key = NULL;
	memset(ready, 0, sizeof(*ready));
	ZTP_CHECK(ztp__dev_kind_dirs(state, kind));
	ZTP_CHECK(ztp__dev_manifest_read(&m, state, kind));
	if (m.pending == 0) {
		slot = m.current == 'a' ? 'b' : 'a';
		ZTP_CHECK(empty_slot(state, keys, kind, slot));
		m.pending = slot;
		ZTP_CHECK(ztp__dev_manifest_write(&m, state, kind));
	}
	slot = m.pending;

	rc = read_key(&k, state, keys, kind, slot, &in_token);
	if (rc == ZTP_OK && in_token == (keys != NULL) &&
	    ztp__key_describe(have, sizeof(have), k) == ZTP_OK &&
	    strcmp(have, key_type) == 0) {
		/* Resume: the key of an interrupted run; perhaps its
		 * certificate arrived too. */
		if (read_cert(&cert, state, kind, slot) == ZTP_OK &&
		    ready_cert(cert, k, device_id, now)) {
			ready->slot = slot;
			ready->cert = cert;
			cert = NULL;
			ZTP_CHECK(read_chain(&ready->chain, state, kind, slot));
			ready->key = k;
			EVP_PKEY_up_ref(k);
		}
		ztp_error_clear();
		rc = ZTP_OK;
		*key = k;
		k = NULL;
		goto cleanup;
	}
	/* Missing, unreadable, of another type or in another place than
	 * configured now: start over in the same slot. */
	EVP_PKEY_free(k);
	k = NULL;
	ztp_error_clear();
	rc = ZTP_OK;
	ZTP_CHECK(empty_slot(state, keys, kind, slot));
	ZTP_CHECK(new_key(&k, state, keys, kind, slot, key_type));
	*key = k;
	k = NULL;
cleanup:
	if (rc < 0)
		ztp__dev_cred_free(ready);
	EVP_PKEY_free(k);
	X509_free(cert);
	return rc;
}

int ztp__dev_pending_store(const char *state, ztp__dev_kind kind, X509 *cert,
			   STACK_OF(X509) * chain)
{
	int rc = ZTP_OK;
	ztp__dev_manifest m;
	ztp__buf b = {0};
	char *path = NULL, *pem = NULL;
	int i;

	ZTP_CHECK(ztp__dev_manifest_read(&m, state, kind));
	ZTP_ENSURE(m.pending != 0, ZTP_ESTATE,
		   "%s: no pending credential to store",
		   ztp__dev_kind_name(kind));
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		ZTP_CHECK(ztp__cert_to_pem(&pem, sk_X509_value(chain, i)));
		ZTP_CHECK(ztp__buf_append_str(&b, pem));
		free(pem);
		pem = NULL;
	}
	if (b.len > 0) {
		ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, m.pending,
					     "chain.pem"));
		ZTP_CHECK(ztp__file_write_atomic(path, b.data, b.len, 0644));
		free(path);
		path = NULL;
	} else {
		ZTP_CHECK(
		    unlink_slot_file(state, kind, m.pending, "chain.pem"));
	}
	ZTP_CHECK(ztp__cert_to_pem(&pem, cert));
	ZTP_CHECK(
	    ztp__dev_slot_path(&path, state, kind, m.pending, "cert.pem"));
	ZTP_CHECK(ztp__file_write_atomic(path, pem, strlen(pem), 0644));
cleanup:
	ztp__buf_free(&b);
	free(path);
	free(pem);
	return rc;
}

int ztp__dev_pending_activate(const char *state, ztp__dev_kind kind, X509 *cert,
			      char *old)
{
	int rc = ZTP_OK;
	ztp__dev_manifest m;
	uint8_t fp[32];
	char was;

	if (old != NULL)
		*old = 0;
	ZTP_CHECK(ztp__dev_manifest_read(&m, state, kind));
	ZTP_ENSURE(m.pending != 0, ZTP_ESTATE,
		   "%s: no pending credential to activate",
		   ztp__dev_kind_name(kind));
	ZTP_CHECK(ztp__cert_fingerprint(fp, cert));
	ztp__hex_encode(m.fingerprint, fp, sizeof(fp));
	was = m.current;
	m.current = m.pending;
	m.pending = 0;
	ZTP_CHECK(ztp__dev_manifest_write(&m, state, kind));
	if (old != NULL)
		*old = was;
cleanup:
	return rc;
}

int ztp__dev_pending_commit(const char *state, ztp__dev_kind kind, X509 *cert,
			    STACK_OF(X509) * chain, char *old)
{
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__dev_pending_store(state, kind, cert, chain));
	ZTP_CHECK(ztp__dev_pending_activate(state, kind, cert, old));
cleanup:
	return rc;
}

int ztp__dev_slot_retire(const char *state, const ztp__dev_keys *keys,
			 ztp__dev_kind kind, char slot, bool *done)
{
	int rc = ZTP_OK;
	ztp__dev_manifest m;
	char *path = NULL, *buf = NULL;
	size_t len = 0;

	*done = false;
	if (slot == 0 || keys == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__dev_manifest_read(&m, state, kind));
	/* Never the slot in use, whatever the caller believes. */
	ZTP_ENSURE(m.current != slot && m.pending != slot, ZTP_ESTATE,
		   "%s: slot %c is in use", ztp__dev_kind_name(kind), slot);
	ZTP_CHECK(ztp__dev_slot_path(&path, state, kind, slot, "key.ref"));
	rc = ztp__file_read(&buf, &len, path, ZTP__DEV_KEYREF_MAX);
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		rc = ZTP_OK;
		goto cleanup; /* a key file, or nothing: left as it is */
	}
	ZTP_CHECK(rc);
	ZTP_CHECK(empty_slot(state, keys, kind, slot));
	*done = true;
cleanup:
	free(buf);
	free(path);
	return rc;
}
