/*
 * libztp — the portable device core's protocol: slots and manifests, the
 * time floor, bootstrap, register, credentials, rotation and run.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Storage (names of the port's blobs):
 *   <kind>.manifest        "ZTP1 c=<slot> p=<slot>\n", slot a, b or -
 *   <kind>.<slot>.key      the port's key blob
 *   <kind>.<slot>.cert     certificate and chain, PEM
 *   registration           the registration request last accepted
 *   time-floor             decimal seconds: the last known good time
 * with kind "bootstrap" or "operational". A new credential is built in
 * the pending slot (never the current one) and becomes current by one
 * atomic replacement of the manifest: after power loss at any point, the
 * current credential is the old one or the new one, never a key without
 * its certificate.
 */
#include "devcore/internal.h"

#include <string.h>

#include <ztp/ca.h> /* ZTP_CA_SERIAL_HEX_MAX: serials as libztp spells them */

#define CHAIN_MAX 8
#define PEM_CSR_MAX 1600
#define SIG64_MAX ((ZTP_LITE_SIG_MAX + 2) / 3 * 4 + 1)

/* The receive buffer holds the factory certificate and the CSR's PEM
 * while a bootstrap request is built (boot_scratch). */
typedef char rx_holds_bootstrap_request
    [ZTP__LITE_RX_MAX >= ZTP_LITE_CERT_MAX + PEM_CSR_MAX ? 1 : -1];

static const char *const kind_names[2] = {"bootstrap", "operational"};

static void blob_name(char out[40], ztp__lite_kind kind, char slot,
		      const char *what)
{
	size_t n = strlen(kind_names[kind]);

	memcpy(out, kind_names[kind], n);
	out[n++] = '.';
	if (slot != 0) {
		out[n++] = slot;
		out[n++] = '.';
	}
	memcpy(out + n, what, strlen(what) + 1);
}

static int oom(ztp_lite *d)
{
	return ztp__lite_err(d, ZTP_ENOMEM, "out of memory", NULL, NULL);
}

/* ------------------------------------------------------------------ floor
 */

int ztp__lite_floor(ztp_lite *d, int64_t *floor)
{
	char buf[24];
	size_t len = 0, i;
	int64_t v = 0;
	int rc;

	if (d->floor_loaded) {
		*floor = d->floor;
		return ZTP_OK;
	}
	rc = d->port->load(d->port->ctx, "time-floor", (uint8_t *)buf,
			   sizeof(buf), &len);
	if (rc == ZTP_ENOTFOUND) {
		len = 0;
	} else if (rc < 0) {
		return ztp__lite_err(d, rc, "time floor: cannot read it", NULL,
				     NULL);
	}
	for (i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9' || i >= 18)
			return ztp__lite_err(d, ZTP_EPARSE,
					     "time floor: corrupt", NULL, NULL);
		v = v * 10 + (buf[i] - '0');
	}
	d->floor = v > d->build_time ? v : d->build_time;
	d->floor_loaded = true;
	*floor = d->floor;
	return ZTP_OK;
}

int ztp__lite_floor_raise(ztp_lite *d, int64_t t)
{
	char buf[24];
	int64_t cur = 0;
	size_t n;
	int rc;

	rc = ztp__lite_floor(d, &cur);
	if (rc < 0 || t <= cur || t < 0)
		return rc; /* only ever forward, never before the epoch */
	n = ztp__udec(buf, (uint64_t)t);
	rc =
	    d->port->store(d->port->ctx, "time-floor", (const uint8_t *)buf, n);
	if (rc < 0)
		return ztp__lite_err(d, rc, "time floor: cannot store it", NULL,
				     NULL);
	d->floor_loaded = false;
	return ztp__lite_floor(d, &cur);
}

int ztp_lite_time_floor(ztp_lite *d, int64_t *floor)
{
	if (d == NULL || floor == NULL)
		return ZTP_EINVAL;
	return ztp__lite_floor(d, floor);
}

/* ------------------------------------------------------------------ slots
 */

static int manifest_read(ztp_lite *d, ztp__lite_kind kind, char *cur,
			 char *pend)
{
	char name[40], buf[16];
	size_t len = 0;
	int rc;

	*cur = *pend = 0;
	blob_name(name, kind, 0, "manifest");
	rc = d->port->load(d->port->ctx, name, (uint8_t *)buf, sizeof(buf),
			   &len);
	if (rc == ZTP_ENOTFOUND)
		return ZTP_OK;
	if (rc < 0)
		return ztp__lite_err(d, rc, name, ": cannot read it", NULL);
	if (len != 13 || memcmp(buf, "ZTP1 c=", 7) != 0 ||
	    memcmp(buf + 8, " p=", 3) != 0 || buf[12] != '\n' ||
	    strchr("ab-", buf[7]) == NULL || strchr("ab-", buf[11]) == NULL ||
	    (buf[7] == buf[11] && buf[7] != '-'))
		return ztp__lite_err(d, ZTP_EPARSE, name, ": corrupt", NULL);
	*cur = buf[7] == '-' ? 0 : buf[7];
	*pend = buf[11] == '-' ? 0 : buf[11];
	return ZTP_OK;
}

static int manifest_write(ztp_lite *d, ztp__lite_kind kind, char cur, char pend)
{
	char name[40], buf[14] = "ZTP1 c=- p=-\n";
	int rc;

	blob_name(name, kind, 0, "manifest");
	if (cur != 0)
		buf[7] = cur;
	if (pend != 0)
		buf[11] = pend;
	rc = d->port->store(d->port->ctx, name, (const uint8_t *)buf, 13);
	if (rc < 0)
		return ztp__lite_err(d, rc, name, ": cannot store it", NULL);
	return ZTP_OK;
}

void ztp__lite_cred_free(ztp_lite *d, ztp__lite_cred *c)
{
	ztp__lite_free(d, c->key, ZTP_LITE_KEY_MAX);
	ztp__lite_free(d, c->cert, ZTP_LITE_CERT_MAX);
	memset(c, 0, sizeof(*c));
}

/* The key of a slot into c->key (allocated here). */
static int key_load(ztp_lite *d, ztp__lite_cred *c, ztp__lite_kind kind,
		    char slot)
{
	char name[40];
	int rc;

	c->key = ztp__lite_alloc(d, ZTP_LITE_KEY_MAX);
	if (c->key == NULL)
		return oom(d);
	blob_name(name, kind, slot, "key");
	rc = d->port->load(d->port->ctx, name, c->key, ZTP_LITE_KEY_MAX,
			   &c->key_len);
	if (rc < 0)
		return ztp__lite_err(d, rc, name, ": cannot read it", NULL);
	return ZTP_OK;
}

/* Key and certificate of a slot; ZTP_ENOTFOUND when either is missing,
 * ZTP_EMISMATCH when they do not belong together or the certificate is
 * not this device's. */
static int cred_load(ztp_lite *d, ztp__lite_cred *c, ztp__lite_kind kind,
		     char slot)
{
	char name[40];
	int rc;

	memset(c, 0, sizeof(*c));
	rc = key_load(d, c, kind, slot);
	if (rc < 0)
		goto out;
	c->cert = ztp__lite_alloc(d, ZTP_LITE_CERT_MAX);
	if (c->cert == NULL) {
		rc = oom(d);
		goto out;
	}
	blob_name(name, kind, slot, "cert");
	rc = d->port->load(d->port->ctx, name, (uint8_t *)c->cert,
			   ZTP_LITE_CERT_MAX, &c->cert_len);
	if (rc < 0) {
		rc = ztp__lite_err(d, rc, name, ": cannot read it", NULL);
		goto out;
	}
	rc = d->port->cert_info(d->port->ctx, c->cert, c->cert_len, c->key,
				c->key_len, &c->info);
	if (rc < 0) {
		rc = ztp__lite_err(d, rc, name, ": unreadable certificate: ",
				   ztp__lite_port_detail(d, rc));
		goto out;
	}
	if (!c->info.key_matches ||
	    strcmp(c->info.device_id, d->device_id) != 0) {
		rc = ztp__lite_err(d, ZTP_EMISMATCH, name,
				   ": not this device's key and certificate",
				   NULL);
		goto out;
	}
	c->slot = slot;
out:
	if (rc < 0)
		ztp__lite_cred_free(d, c);
	return rc;
}

/* The current credential of kind (c->slot 0 when there is none). */
static int cred_current(ztp_lite *d, ztp__lite_cred *c, ztp__lite_kind kind)
{
	char cur, pend;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = manifest_read(d, kind, &cur, &pend);
	if (rc < 0 || cur == 0)
		return rc;
	return cred_load(d, c, kind, cur);
}

static bool cred_valid(const ztp_lite *d, const ztp__lite_cred *c)
{
	return c->slot != 0 && d->now < c->info.not_after;
}

/* A device.step event of operation op, with one more string member
 * (name: value) unless name is NULL. */
static void step_with(ztp_lite *d, const char *op, const char *s,
		      const char *name, const char *value)
{
	char f[192];
	ztp__jw w;

	ztp__jw_init(&w, f, sizeof(f));
	ztp__jw_key(&w, "operation");
	ztp__jw_str(&w, op, strlen(op));
	ztp__jw_key(&w, "step");
	ztp__jw_str(&w, s, strlen(s));
	if (name != NULL) {
		ztp__jw_key(&w, name);
		ztp__jw_str(&w, value, strlen(value));
	}
	if (w.ok)
		ztp__lite_event(d, "device.step", f);
}

static void step(ztp_lite *d, const char *op, const char *s)
{
	step_with(d, op, s, NULL, NULL);
}

/* A device.step event of operation op whose credential c (its
 * certificate read) now holds, with the certificate's not_after. */
static void step_cert(ztp_lite *d, const char *op, const char *s,
		      const ztp__lite_cred *c)
{
	char ts[ZTP__RFC3339_LEN + 1];

	ztp__rfc3339_format(ts, c->info.not_after);
	step_with(d, op, s, "not_after", ts);
}

/*
 * Prepare the pending slot of kind: when it already holds a certificate
 * for its key that is still valid (an answer stored before power was
 * lost), *ready is set and c is that credential; otherwise c->key is a
 * fresh key stored in the slot, named pending in the manifest (step
 * "key" of op).
 */
static int pending_begin(ztp_lite *d, ztp__lite_cred *c, ztp__lite_kind kind,
			 const char *op, bool *ready)
{
	int (*gen_named)(void *, const char *, uint8_t *, size_t, size_t *);
	char cur, pend, name[40];
	int rc;

	*ready = false;
	memset(c, 0, sizeof(*c));
	rc = manifest_read(d, kind, &cur, &pend);
	if (rc < 0)
		return rc;
	if (pend != 0) {
		rc = cred_load(d, c, kind, pend);
		if (rc == ZTP_OK && d->now < c->info.not_after) {
			*ready = true;
			return ZTP_OK;
		}
		ztp__lite_cred_free(d, c);
	}
	/* Whatever the slot held is replaced: a fresh key for every
	 * request, so a lost answer never leaves a key issued twice. */
	pend = cur == 'a' ? 'b' : 'a';
	blob_name(name, kind, pend, "cert");
	rc = d->port->remove(d->port->ctx, name);
	if (rc < 0)
		return ztp__lite_err(d, rc, name, ": cannot remove it", NULL);
	c->key = ztp__lite_alloc(d, ZTP_LITE_KEY_MAX);
	if (c->key == NULL)
		return oom(d);
	blob_name(name, kind, pend, "key");
	gen_named = ZTP__LITE_PORT_V2(d, key_generate_named);
	rc = gen_named != NULL
		 ? gen_named(d->port->ctx, name, c->key, ZTP_LITE_KEY_MAX,
			     &c->key_len)
		 : d->port->key_generate(d->port->ctx, c->key, ZTP_LITE_KEY_MAX,
					 &c->key_len);
	if (rc < 0)
		return ztp__lite_err(d, rc, "key generation failed", NULL,
				     NULL);
	rc = d->port->store(d->port->ctx, name, c->key, c->key_len);
	if (rc < 0)
		return ztp__lite_err(d, rc, name, ": cannot store it", NULL);
	c->slot = pend;
	rc = manifest_write(d, kind, cur, pend);
	if (rc == ZTP_OK)
		step(d, op, "key");
	return rc;
}

/* Store the certificate of the pending slot (still pending: the next
 * run finds it ready). */
static int pending_store(ztp_lite *d, ztp__lite_kind kind, char slot,
			 const char *cert, size_t len)
{
	char name[40];
	int rc;

	blob_name(name, kind, slot, "cert");
	rc = d->port->store(d->port->ctx, name, (const uint8_t *)cert, len);
	if (rc < 0)
		return ztp__lite_err(d, rc, name, ": cannot store it", NULL);
	return ZTP_OK;
}

/* Tell the port that the key blob name is no longer used, with what it
 * holds (ztp_port::key_retire), before it is removed; whether it was
 * told. */
static bool key_retire(ztp_lite *d, const char *name)
{
	void (*retire)(void *, const char *, const uint8_t *, size_t) =
	    ZTP__LITE_PORT_V2(d, key_retire);
	uint8_t *key;
	size_t len = 0;
	bool told = false;

	if (retire == NULL)
		return false;
	key = ztp__lite_alloc(d, ZTP_LITE_KEY_MAX);
	if (key == NULL)
		return false; /* the key stays: garbage, as a failed removal */
	if (d->port->load(d->port->ctx, name, key, ZTP_LITE_KEY_MAX, &len) ==
	    ZTP_OK) {
		retire(d->port->ctx, name, key, len);
		told = true;
	}
	ztp__lite_free(d, key, ZTP_LITE_KEY_MAX);
	return told;
}

/* Store the certificate of the pending slot (unless cert is NULL: stored
 * already), make it current (step "switched" of op when it replaced
 * another) and retire the slot it replaced (step "retired" when the port
 * was given its key to delete). */
static int pending_commit(ztp_lite *d, ztp__lite_kind kind, const char *op,
			  char slot, const char *cert, size_t len)
{
	char cur, pend, name[40], old;
	int rc;

	rc = manifest_read(d, kind, &cur, &pend);
	if (rc < 0)
		return rc;
	if (pend != slot)
		return ztp__lite_err(d, ZTP_ESTATE, kind_names[kind],
				     ": the pending slot changed under us",
				     NULL);
	if (cert != NULL) {
		rc = pending_store(d, kind, slot, cert, len);
		if (rc < 0)
			return rc;
	}
	old = cur;
	rc = manifest_write(d, kind, slot, 0);
	if (rc < 0 || old == 0)
		return rc;
	step(d, op, "switched");
	/* The old credential is no longer referenced: a failure to remove
	 * it leaves garbage, never a wrong state. */
	blob_name(name, kind, old, "key");
	if (key_retire(d, name))
		step(d, op, "retired");
	(void)d->port->remove(d->port->ctx, name);
	blob_name(name, kind, old, "cert");
	(void)d->port->remove(d->port->ctx, name);
	return ZTP_OK;
}

/* ------------------------------------------------------------------
 * requests and answers */

/* PEM of der under label, into out (cap bytes); the length, 0 if it does
 * not fit. */
static size_t pem_write(char *out, size_t cap, const char *label,
			const uint8_t *der, size_t len)
{
	char line[68];
	size_t n = 0, i, k, l = strlen(label);

	if (cap < 2 * l + 40)
		return 0;
	memcpy(out, "-----BEGIN ", 11);
	memcpy(out + 11, label, l);
	memcpy(out + 11 + l, "-----\n", 6);
	n = 17 + l;
	for (i = 0; i < len; i += 48) {
		k = ztp__b64(line, sizeof(line), der + i,
			     len - i < 48 ? len - i : 48);
		if (k == 0 || n + k + 1 + 15 + l + 6 >= cap)
			return 0;
		memcpy(out + n, line, k);
		n += k;
		out[n++] = '\n';
	}
	memcpy(out + n, "-----END ", 9);
	memcpy(out + n + 9, label, l);
	memcpy(out + n + 9 + l, "-----\n", 7);
	return n + 15 + l;
}

static const char *find(const char *s, size_t len, const char *what)
{
	size_t n = strlen(what), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(s + i, what, n) == 0)
			return s + i;
	return NULL;
}

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

/* The next certificate of a PEM bundle, from *pos: its span. */
static bool pem_next(const char *s, size_t len, size_t *pos, const char **p,
		     size_t *n)
{
	const char *b = find(s + *pos, len - *pos, PEM_BEGIN), *e;

	if (b == NULL)
		return false;
	e = find(b, len - (size_t)(b - s), PEM_END);
	if (e == NULL)
		return false;
	*p = b;
	*n = (size_t)(e - b) + sizeof(PEM_END) - 1;
	*pos = (size_t)(e - s) + sizeof(PEM_END) - 1;
	return true;
}

/* A member that may be absent or null. */
static bool present(const ztp__jv *obj, const char *name, ztp__jv *v)
{
	return ztp__j_member(obj, name, v) == ZTP_OK && v->type != ZTP__J_NULL;
}

static int answer_only(ztp_lite *d, const ztp__jv *a, const char *const *keys,
		       const char *what)
{
	char bad[ZTP__J_NAME_MAX + 1] = "";

	if (ztp__j_only(a, keys, bad, sizeof(bad)) < 0)
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": unknown member: ", bad);
	return ZTP_OK;
}

/* A string member into out (cap bytes, NUL-terminated). */
static int answer_str(ztp_lite *d, const ztp__jv *a, const char *name,
		      char *out, size_t cap, size_t *len, const char *what)
{
	ztp__jv v;
	int rc;

	if (ztp__j_member(a, name, &v) < 0)
		return ztp__lite_err(d, ZTP_EPARSE, what, ": missing ", name);
	rc = ztp__j_string(&v, out, cap, len);
	if (rc == ZTP_ETOOBIG)
		return ztp__lite_err(d, rc, what, ": too long: ", name);
	if (rc < 0)
		return ztp__lite_err(d, rc, what, ": not a string: ", name);
	return ZTP_OK;
}

static int answer_time(ztp_lite *d, const ztp__jv *a, const char *name,
		       int64_t *t, const char *what)
{
	char s[40];
	size_t len = 0;
	const char *why;
	int rc = answer_str(d, a, name, s, sizeof(s), &len, what);

	if (rc < 0)
		return rc;
	rc = ztp__rfc3339_parse(t, s, len, &why);
	if (rc < 0)
		return ztp__lite_err(d, rc, what, ": ", why);
	return ZTP_OK;
}

/* ------------------------------------------------------------------
 * trust bundle
 *
 * A rollover's bundle (trust_bundle in an answer) is kept in the blob
 * trust.a or trust.b; the blob trust.manifest, "ZTP1 c=<slot> h=<SHA-256
 * of the bundle, hex>", names the committed one. A new bundle is written
 * to the spare blob, one connection to the server is made trusting it
 * alone, and only when that connection was verified does the manifest
 * name it; otherwise it is removed and the bundle in use stays (the
 * port's own anchors until one is committed). */

#define TRUST_MANIFEST_LEN 76

static void hex32(char out[65], const uint8_t h[32])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[64] = '\0';
}

/* The committed slot (0: none) and the hash it was committed with. */
static int trust_manifest_read(ztp_lite *d, char *cur, char hex[65])
{
	char buf[TRUST_MANIFEST_LEN + 1];
	size_t len = 0, i;
	int rc;

	*cur = 0;
	hex[0] = '\0';
	rc = d->port->load(d->port->ctx, "trust.manifest", (uint8_t *)buf,
			   sizeof(buf), &len);
	if (rc == ZTP_ENOTFOUND)
		return ZTP_OK;
	if (rc < 0)
		return ztp__lite_err(d, rc, "trust.manifest: cannot read it",
				     NULL, NULL);
	if (len != TRUST_MANIFEST_LEN || memcmp(buf, "ZTP1 c=", 7) != 0 ||
	    (buf[7] != 'a' && buf[7] != 'b') ||
	    memcmp(buf + 8, " h=", 3) != 0 || buf[75] != '\n')
		return ztp__lite_err(d, ZTP_EPARSE, "trust.manifest: corrupt",
				     NULL, NULL);
	for (i = 11; i < 75; i++)
		if (ztp__hex_value((unsigned char)buf[i]) < 0 ||
		    (buf[i] >= 'A' && buf[i] <= 'F'))
			return ztp__lite_err(d, ZTP_EPARSE,
					     "trust.manifest: corrupt", NULL,
					     NULL);
	*cur = buf[7];
	memcpy(hex, buf + 11, 64);
	hex[64] = '\0';
	return ZTP_OK;
}

int ztp__lite_trust_current(ztp_lite *d, char **out, size_t *len)
{
	char cur, want[65], got[65], name[8] = "trust.?";
	uint8_t h[32];
	int rc;

	*out = NULL;
	*len = 0;
	rc = trust_manifest_read(d, &cur, want);
	if (rc < 0 || cur == 0)
		return rc;
	*out = ztp__lite_alloc(d, ZTP_LITE_TRUST_MAX);
	if (*out == NULL)
		return oom(d);
	name[6] = cur;
	rc = d->port->load(d->port->ctx, name, (uint8_t *)*out,
			   ZTP_LITE_TRUST_MAX, len);
	if (rc == ZTP_OK)
		rc = d->port->sha256(d->port->ctx, (const uint8_t *)*out, *len,
				     h);
	if (rc < 0) {
		rc = ztp__lite_err(d, rc, name, ": cannot read it", NULL);
	} else {
		hex32(got, h);
		if (strcmp(got, want) != 0)
			rc = ztp__lite_err(d, ZTP_EMISMATCH, name,
					   ": not the trust bundle that was "
					   "committed",
					   NULL);
	}
	if (rc < 0) {
		ztp__lite_free(d, *out, ZTP_LITE_TRUST_MAX);
		*out = NULL;
		*len = 0;
	}
	return rc;
}

static void trust_event(ztp_lite *d, const char *s, const char *hex)
{
	step_with(d, "trust_bundle", s, hex != NULL ? "fingerprint" : NULL,
		  hex);
}

/* Commit slot (its bundle hashed to hex) in the manifest. */
static int trust_commit(ztp_lite *d, char slot, const char hex[65])
{
	char m[TRUST_MANIFEST_LEN + 1];
	int rc;

	memcpy(m, "ZTP1 c=? h=", 11);
	m[7] = slot;
	memcpy(m + 11, hex, 64);
	m[75] = '\n';
	rc = d->port->store(d->port->ctx, "trust.manifest", (const uint8_t *)m,
			    TRUST_MANIFEST_LEN);
	if (rc < 0)
		return ztp__lite_err(d, rc, "trust.manifest: cannot store it",
				     NULL, NULL);
	return ZTP_OK;
}

/* The trust_bundle of an answer (already shape-checked): taken as above
 * when it is not the one in use. A bundle over ZTP_LITE_TRUST_MAX is not
 * taken (event "too_big"); one the probe cannot verify the server with
 * is rolled back (event "rolled_back"): neither fails the operation. */
static int trust_update(ztp_lite *d, const ztp__jv *a)
{
	char *text, cur, hex[65], have[65], name[8] = "trust.?", spare;
	ztp__jv v, e;
	size_t n = 0, k = 0, pos = 0;
	uint8_t h[32];
	int rc = ZTP_OK;

	if (!present(a, "trust_bundle", &v))
		return ZTP_OK;
	text = ztp__lite_alloc(d, ZTP_LITE_TRUST_MAX);
	if (text == NULL)
		return oom(d);
	while (rc == ZTP_OK && ztp__j_next(&v, &pos, NULL, &e) == ZTP_OK) {
		rc = ztp__j_string(&e, text + n, ZTP_LITE_TRUST_MAX - n, &k);
		n += rc == ZTP_OK ? k : 0;
		if (rc == ZTP_OK && (n == 0 || text[n - 1] != '\n')) {
			if (n + 1 >= ZTP_LITE_TRUST_MAX)
				rc = ZTP_ETOOBIG;
			else
				text[n++] = '\n';
		}
	}
	if (rc < 0) {
		trust_event(d, "too_big", NULL);
		rc = ZTP_OK;
		goto out;
	}
	rc = d->port->sha256(d->port->ctx, (const uint8_t *)text, n, h);
	if (rc < 0) {
		rc = ztp__lite_err(d, rc, "SHA-256 failed", NULL, NULL);
		goto out;
	}
	rc = trust_manifest_read(d, &cur, have);
	if (rc < 0)
		goto out;
	hex32(hex, h);
	if (cur != 0 && strcmp(hex, have) == 0)
		goto out; /* in use already */
	spare = cur == 'a' ? 'b' : 'a';
	name[6] = spare;
	rc = d->port->store(d->port->ctx, name, (const uint8_t *)text, n);
	if (rc < 0) {
		rc = ztp__lite_err(d, rc, name, ": cannot store it", NULL);
		goto out;
	}
	trust_event(d, "stored", hex);
	if (ztp__lite_trust_probe(d, text, n) < 0) {
		(void)d->port->remove(d->port->ctx, name);
		trust_event(d, "rolled_back", hex);
		d->err[0] = '\0';
		goto out;
	}
	rc = trust_commit(d, spare, hex);
	if (rc < 0)
		goto out;
	if (cur != 0) {
		/* No longer referenced: garbage if it stays, never a wrong
		 * state. */
		name[6] = cur;
		(void)d->port->remove(d->port->ctx, name);
	}
	trust_event(d, "committed", hex);
out:
	ztp__lite_free(d, text, ZTP_LITE_TRUST_MAX);
	return rc;
}

/* The array member name (value v) of 1..max strings, each of them, when
 * syntax is not NULL, at most ZTP__BROKER_URL_MAX bytes that pass it. */
static int string_array(ztp_lite *d, const ztp__jv *v, const char *name,
			size_t max, bool (*syntax)(const char *, size_t),
			const char *what)
{
	char buf[ZTP__BROKER_URL_MAX + 1];
	ztp__jv e;
	size_t k = 0, pos = 0, count = 0;

	if (v->type != ZTP__J_ARRAY)
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": not an array: ", name);
	while (ztp__j_next(v, &pos, NULL, &e) == ZTP_OK)
		if (++count > max || e.type != ZTP__J_STRING ||
		    (syntax != NULL &&
		     (ztp__j_string(&e, buf, sizeof(buf), &k) < 0 ||
		      !syntax(buf, k))))
			return ztp__lite_err(d, ZTP_EPARSE, what,
					     ": too many entries, or a bad "
					     "one: ",
					     name);
	if (count == 0)
		return ztp__lite_err(d, ZTP_EPARSE, what, ": empty: ", name);
	return ZTP_OK;
}

/* The members an assignment shares with a credentials answer: namespace
 * (null or a namespace), brokers (absent, null or 1..8 broker URLs),
 * trust_bundle (absent, null or 1..8 strings: the certificates, which
 * trust_update() takes). */
static int check_assigned(ztp_lite *d, const ztp__jv *a, const char *what)
{
	char ns[ZTP__NAMESPACE_MAX + 1];
	ztp__jv v;
	size_t k = 0;
	int rc = ZTP_OK;

	if (present(a, "namespace", &v) &&
	    (ztp__j_string(&v, ns, sizeof(ns), &k) < 0 ||
	     !ztp__namespace_syntax(ns, k)))
		return ztp__lite_err(d, ZTP_EPARSE, what, ": bad namespace",
				     NULL);
	if (present(a, "brokers", &v))
		rc = string_array(d, &v, "brokers", ZTP__BROKERS_MAX,
				  ztp__broker_url_syntax, what);
	if (rc == ZTP_OK && present(a, "trust_bundle", &v))
		rc = string_array(d, &v, "trust_bundle", ZTP__TRUST_BUNDLE_MAX,
				  NULL, what);
	return rc;
}

/* The blob "brokers": {"brokers":[...]} as the answer (already checked)
 * allocates them, as ztp-device's brokers.json; removed when the answer
 * allocates none. */
static int brokers_store(ztp_lite *d, const ztp__jv *a)
{
	char url[ZTP__BROKER_URL_MAX + 1], *buf;
	ztp__jv v, e;
	ztp__jw w;
	size_t k = 0, pos = 0;
	int rc;

	if (!present(a, "brokers", &v)) {
		rc = d->port->remove(d->port->ctx, "brokers");
		if (rc < 0 && rc != ZTP_ENOTFOUND)
			return ztp__lite_err(d, rc,
					     "brokers: cannot remove "
					     "the stored list",
					     NULL, NULL);
		return ZTP_OK;
	}
	buf = ztp__lite_alloc(d, ZTP__BROKERS_DOC_MAX);
	if (buf == NULL)
		return ztp__lite_err(d, ZTP_ENOMEM, "out of memory", NULL,
				     NULL);
	ztp__jw_init(&w, buf, ZTP__BROKERS_DOC_MAX);
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "brokers");
	ztp__jw_open(&w, '[');
	while (ztp__j_next(&v, &pos, NULL, &e) == ZTP_OK &&
	       ztp__j_string(&e, url, sizeof(url), &k) == ZTP_OK) {
		ztp__jw_key(&w, NULL);
		ztp__jw_str(&w, url, k);
	}
	ztp__jw_close(&w, ']');
	ztp__jw_close(&w, '}');
	rc = w.ok ? d->port->store(d->port->ctx, "brokers",
				   (const uint8_t *)buf, w.len)
		  : ZTP_EINTERNAL;
	ztp__lite_free(d, buf, ZTP__BROKERS_DOC_MAX);
	if (rc < 0)
		return ztp__lite_err(d, rc, "brokers: cannot store the list",
				     NULL, NULL);
	return ZTP_OK;
}

/*
 * A certificate answer: {"certificate","chain","not_after"}, plus
 * "tenant", "namespace", "brokers", "trust_bundle" when with_tenant.
 * The certificate and its chain go into out (PEM, cap bytes, *len); it
 * must carry c's key, name this device, agree with not_after and be
 * valid now; c->info is its reading.
 */
static int parse_issued(ztp_lite *d, const ztp__jv *a, bool with_tenant,
			ztp__lite_cred *c, char *out, size_t cap, size_t *len)
{
	const char *what = "certificate answer";
	ztp_port_cert_info info;
	ztp__jv v, e, arr;
	char tenant[ZTP_ID_MAX + 1];
	size_t n = 0, k = 0, pos = 0, count = 0;
	int64_t na = 0;
	int rc;

	rc = answer_only(
	    d, a, with_tenant ? ztp__operational_members : ztp__issued_members,
	    what);
	if (rc < 0)
		return rc;
	rc = answer_str(d, a, "certificate", out, cap, &n, what);
	if (rc < 0)
		return rc;
	if (n == 0)
		return ztp__lite_err(d, ZTP_EPARSE, what, ": empty certificate",
				     NULL);
	if (ztp__j_member(a, "chain", &arr) < 0 || arr.type != ZTP__J_ARRAY)
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": chain: missing or not an array", NULL);
	while (ztp__j_next(&arr, &pos, NULL, &e) == ZTP_OK) {
		if (++count > CHAIN_MAX)
			return ztp__lite_err(d, ZTP_ETOOBIG, what,
					     ": chain: too many entries", NULL);
		if (n + 2 >= cap)
			return ztp__lite_err(d, ZTP_ETOOBIG, what,
					     ": certificates too long", NULL);
		if (out[n - 1] != '\n')
			out[n++] = '\n';
		rc = ztp__j_string(&e, out + n, cap - n, &k);
		if (rc < 0)
			return ztp__lite_err(d, rc, what,
					     ": chain: an entry is not a "
					     "string or too long",
					     NULL);
		n += k;
	}
	rc = answer_time(d, a, "not_after", &na, what);
	if (rc < 0)
		return rc;
	rc =
	    d->port->cert_info(d->port->ctx, out, n, c->key, c->key_len, &info);
	if (rc < 0)
		return ztp__lite_err(d, rc, what, ": certificate: unreadable",
				     NULL);
	if (!info.key_matches)
		return ztp__lite_err(d, ZTP_EMISMATCH, what,
				     ": the certificate is not for the key "
				     "this device generated",
				     NULL);
	if (strcmp(info.device_id, d->device_id) != 0)
		return ztp__lite_err(
		    d, ZTP_EMISMATCH, what,
		    ": the certificate names another device: ", info.device_id);
	if (info.not_after != na)
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": not_after disagrees with the "
				     "certificate",
				     NULL);
	if (na <= d->now)
		return ztp__lite_err(d, ZTP_EEXPIRED, what,
				     ": the certificate has expired", NULL);
	if (with_tenant) {
		if (present(a, "tenant", &v)) {
			if (ztp__j_string(&v, tenant, sizeof(tenant), &k) < 0 ||
			    ztp__id_len(tenant) != k)
				return ztp__lite_err(d, ZTP_EPARSE, what,
						     ": bad tenant", NULL);
			if (strcmp(tenant, info.tenant) != 0)
				return ztp__lite_err(d, ZTP_EMISMATCH, what,
						     ": tenant is not the one "
						     "in the certificate",
						     NULL);
		} else if (info.tenant[0] != '\0') {
			return ztp__lite_err(d, ZTP_EMISMATCH, what,
					     ": the certificate names a tenant "
					     "but the answer names none",
					     NULL);
		}
		rc = check_assigned(d, a, what);
		if (rc < 0)
			return rc;
	}
	if (n + 1 >= cap)
		return ztp__lite_err(d, ZTP_ETOOBIG, what,
				     ": certificates too long", NULL);
	if (out[n - 1] != '\n')
		out[n++] = '\n';
	out[n] = '\0';
	*len = n;
	c->info = info;
	return ZTP_OK;
}

/* Scratch space of a bootstrap, one allocation. The CSR's PEM and the
 * factory certificate live in the receive buffer, free between the
 * challenge answer (whose nonce is copied here) and the bootstrap
 * answer: the heap a port must offer is that much smaller. */
typedef struct boot_scratch {
	uint8_t csr[ZTP_LITE_CSR_MAX];
	uint8_t sig[ZTP_LITE_SIG_MAX];
	char sig64[SIG64_MAX];
	uint8_t tr[ZTP__LITE_NONCE_MAX + ZTP_ID_MAX + 64];
	char nonce[ZTP__LITE_NONCE_MAX + 1];
	uint8_t hash[32];
} boot_scratch;

/* The CSR of key: DER into der (ZTP_LITE_CSR_MAX bytes), PEM into pem
 * (PEM_CSR_MAX bytes), and with hash the DER's SHA-256. */
static int make_csr(ztp_lite *d, const ztp__lite_cred *c, uint8_t *der,
		    char *pem, uint8_t hash[32])
{
	size_t len = 0;
	int rc;

	rc = d->port->csr(d->port->ctx, c->key, c->key_len, d->device_id, der,
			  ZTP_LITE_CSR_MAX, &len);
	if (rc < 0)
		return ztp__lite_err(d, rc, "CSR: the port failed", NULL, NULL);
	if (pem_write(pem, PEM_CSR_MAX, "CERTIFICATE REQUEST", der, len) == 0)
		return ztp__lite_err(d, ZTP_ETOOBIG, "CSR: too long", NULL,
				     NULL);
	if (hash == NULL)
		return ZTP_OK;
	rc = d->port->sha256(d->port->ctx, der, len, hash);
	if (rc < 0)
		return ztp__lite_err(d, rc, "SHA-256 failed", NULL, NULL);
	return ZTP_OK;
}

/* The event of a server_time at or past the notAfter of the server
 * certificate it came with: the floor is kept. */
static void clock_refused(ztp_lite *d, int64_t st)
{
	char f[160], n[24];
	ztp__jw w;

	ztp__jw_init(&w, f, sizeof(f));
	ztp__jw_key(&w, "operation");
	ztp__jw_str(&w, "clock", 5);
	ztp__jw_key(&w, "step");
	ztp__jw_str(&w, "refused", 7);
	ztp__jw_key(&w, "server_time");
	ztp__udec(n, (uint64_t)(st < 0 ? 0 : st));
	ztp__jw_raw(&w, n, strlen(n));
	ztp__jw_key(&w, "peer_not_after");
	ztp__udec(n, (uint64_t)(d->peer_not_after < 0 ? 0 : d->peer_not_after));
	ztp__jw_raw(&w, n, strlen(n));
	if (w.ok)
		ztp__lite_event(d, "device.step", f);
}

/* Challenge answer: nonce into s->nonce; server_time raises the floor,
 * unless it is at or past the server certificate's notAfter. */
static int challenge(ztp_lite *d, boot_scratch *s, size_t *nonce_len)
{
	const char *what = "challenge answer";
	ztp__jw w;
	ztp__jv a, v;
	int64_t exp = 0, st = 0;
	bool ask_time = !d->clock_known;
	int rc;

	ztp__jw_init(&w, d->tx, ZTP_LITE_REQUEST_MAX);
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "device_id");
	ztp__jw_str(&w, d->device_id, strlen(d->device_id));
	if (ask_time) {
		ztp__jw_key(&w, "server_time");
		ztp__jw_bool(&w, true);
	}
	ztp__jw_close(&w, '}');
	if (!w.ok)
		return ztp__lite_err(d, ZTP_EINTERNAL, "challenge: request",
				     NULL, NULL);
	rc = ztp__lite_call(d, "challenge", ZTP__AUTH_FACTORY, NULL, w.len, &a);
	if (rc < 0)
		return rc;
	rc = answer_only(d, &a,
			 ask_time ? ztp__challenge_time_members
				  : ztp__challenge_members,
			 what);
	if (rc < 0)
		return rc;
	rc = answer_str(d, &a, "nonce", s->nonce, sizeof(s->nonce), nonce_len,
			what);
	if (rc < 0)
		return rc;
	if (!ztp__nonce_syntax(s->nonce, *nonce_len))
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": nonce empty or not printable ASCII",
				     NULL);
	rc = answer_time(d, &a, "expires_at", &exp, what);
	if (rc < 0 || !ask_time)
		return rc;
	if (ztp__j_member(&a, "server_time", &v) < 0)
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": no server_time (the verifier predates "
				     "devices without a trustworthy clock)",
				     NULL);
	rc = answer_time(d, &a, "server_time", &st, what);
	if (rc < 0)
		return rc;
	if (st > exp)
		return ztp__lite_err(d, ZTP_EPARSE, what,
				     ": server_time after expires_at", NULL);
	if (st >= d->peer_not_after) {
		/* A server whose certificate has expired by its own clock
		 * is not believed: the floor is never pushed past what a
		 * certificate the device accepted vouches for. */
		clock_refused(d, st);
		return ZTP_OK;
	}
	/* Authenticated: it came over the TLS channel to the pinned
	 * server. */
	rc = ztp__lite_floor_raise(d, st);
	if (rc < 0)
		return rc;
	if (st > d->now)
		d->now = st;
	step(d, "bootstrap", "server_time");
	return ZTP_OK;
}

static int bootstrap_exchange(ztp_lite *d, ztp__lite_cred *c, boot_scratch *s,
			      char **cert, size_t *cert_len)
{
	const char *leaf = NULL, *p;
	size_t nonce_len = 0, flen = 0, pos = 0, leaf_len = 0, n, tl, sl = 0;
	ztp__jw w;
	ztp__jv a;
	char *factory = (char *)d->rx, *csr_pem = factory + ZTP_LITE_CERT_MAX;
	bool chain = false;
	int rc;

	rc = challenge(d, s, &nonce_len);
	if (rc < 0)
		return rc;
	/* From here to the bootstrap answer, rx is ours. */
	rc = make_csr(d, c, s->csr, csr_pem, s->hash);
	if (rc < 0)
		return rc;
	step(d, "bootstrap", "challenge");
	tl = ztp__transcript_write(s->tr, sizeof(s->tr), d->device_id, s->nonce,
				   nonce_len, s->hash);
	if (tl == 0)
		return ztp__lite_err(d, ZTP_EINTERNAL, "transcript", NULL,
				     NULL);
	rc = d->port->sign(d->port->ctx, NULL, 0, s->tr, tl, s->sig,
			   sizeof(s->sig), &sl);
	if (rc < 0)
		return ztp__lite_err(d, rc, "factory key: signing failed", NULL,
				     NULL);
	if (ztp__b64(s->sig64, sizeof(s->sig64), s->sig, sl) == 0)
		return ztp__lite_err(d, ZTP_ETOOBIG, "signature too long", NULL,
				     NULL);
	rc = d->port->factory_cert(d->port->ctx, factory, ZTP_LITE_CERT_MAX,
				   &flen);
	if (rc < 0)
		return ztp__lite_err(d, rc, "factory certificate: unreadable",
				     NULL, NULL);
	if (!pem_next(factory, flen, &pos, &leaf, &leaf_len))
		return ztp__lite_err(d, ZTP_EPARSE,
				     "factory certificate: no PEM "
				     "certificate",
				     NULL, NULL);

	ztp__jw_init(&w, d->tx, ZTP_LITE_REQUEST_MAX);
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "device_id");
	ztp__jw_str(&w, d->device_id, strlen(d->device_id));
	ztp__jw_key(&w, "nonce");
	ztp__jw_str(&w, s->nonce, nonce_len);
	ztp__jw_key(&w, "csr");
	ztp__jw_str(&w, csr_pem, strlen(csr_pem));
	ztp__jw_key(&w, "factory_cert");
	ztp__jw_str(&w, leaf, leaf_len);
	while (pem_next(factory, flen, &pos, &p, &n)) {
		if (!chain) {
			ztp__jw_key(&w, "factory_chain");
			ztp__jw_open(&w, '[');
			chain = true;
		}
		ztp__jw_key(&w, NULL);
		ztp__jw_str(&w, p, n);
	}
	if (chain)
		ztp__jw_close(&w, ']');
	ztp__jw_key(&w, "signature");
	ztp__jw_str(&w, s->sig64, strlen(s->sig64));
	ztp__jw_close(&w, '}');
	if (!w.ok)
		return ztp__lite_err(d, ZTP_ETOOBIG,
				     "bootstrap: request over the request "
				     "buffer",
				     NULL, NULL);
	rc = ztp__lite_call(d, "bootstrap", ZTP__AUTH_FACTORY, NULL, w.len, &a);
	if (rc < 0)
		return rc;
	/* The request is sent: tx holds the certificate from here on. */
	*cert = d->tx;
	return parse_issued(d, &a, false, c, d->tx, ZTP_LITE_REQUEST_MAX,
			    cert_len);
}

static int bootstrap_locked(ztp_lite *d)
{
	ztp__lite_cred c;
	boot_scratch *s = NULL;
	char *cert = NULL;
	size_t cert_len = 0;
	bool ready = false;
	int rc, round;

	step(d, "bootstrap", "start");
	rc = pending_begin(d, &c, ZTP__KIND_BOOTSTRAP, "bootstrap", &ready);
	if (rc < 0)
		goto out;
	if (ready) {
		/* Power was lost after the certificate was stored but before
		 * it was made current. */
		rc = pending_commit(d, ZTP__KIND_BOOTSTRAP, "bootstrap", c.slot,
				    NULL, 0);
		if (rc == ZTP_OK)
			step_cert(d, "bootstrap", "resumed", &c);
		goto out;
	}
	s = ztp__lite_alloc(d, sizeof(*s));
	if (s == NULL) {
		rc = oom(d);
		goto out;
	}
	/* A challenge that expired while the request was being retried, or
	 * was consumed by an attempt whose answer was lost, is replaced
	 * once with a fresh one. */
	for (round = 0;; round++) {
		rc = bootstrap_exchange(d, &c, s, &cert, &cert_len);
		if (round == 0 &&
		    (ztp__lite_refused_with(d, rc, ZTP__W_CHALLENGE_EXPIRED) ||
		     ztp__lite_refused_with(d, rc, ZTP__W_CHALLENGE_REPLAYED) ||
		     ztp__lite_refused_with(d, rc, ZTP__W_CHALLENGE_INVALID))) {
			step(d, "bootstrap", "new_challenge");
			continue;
		}
		break;
	}
	if (rc < 0)
		goto out;
	rc = pending_commit(d, ZTP__KIND_BOOTSTRAP, "bootstrap", c.slot, cert,
			    cert_len);
	if (rc == ZTP_OK)
		step_cert(d, "bootstrap", "done", &c);
out:
	ztp__lite_free(d, s, sizeof(*s));
	ztp__lite_cred_free(d, &c);
	return rc;
}

/* ------------------------------------------------------------------
 * register, credentials, rotation */

static int registration_current(ztp_lite *d, bool *same)
{
	char *buf;
	size_t len = 0;
	int rc;

	*same = false;
	buf = ztp__lite_alloc(d, ZTP__LITE_REG_MAX);
	if (buf == NULL)
		return oom(d);
	rc = d->port->load(d->port->ctx, "registration", (uint8_t *)buf,
			   ZTP__LITE_REG_MAX, &len);
	if (rc == ZTP_OK)
		*same = len == d->reg_len && memcmp(buf, d->reg, len) == 0;
	else if (rc == ZTP_ENOTFOUND || rc == ZTP_ETOOBIG)
		rc = ZTP_OK; /* none, or not one this build writes */
	else
		rc = ztp__lite_err(d, rc, "registration: cannot read it", NULL,
				   NULL);
	ztp__lite_free(d, buf, ZTP__LITE_REG_MAX);
	return rc;
}

static int register_locked(ztp_lite *d)
{
	ztp__lite_cred boot;
	ztp__jv a;
	int rc;

	if (d->reg == NULL)
		return ztp__lite_err(d, ZTP_EINVAL,
				     "register: no registration configured",
				     NULL, NULL);
	rc = cred_current(d, &boot, ZTP__KIND_BOOTSTRAP);
	if (rc < 0)
		return rc;
	if (boot.slot == 0)
		rc = ztp__lite_err(d, ZTP_ESTATE,
				   "register: no bootstrap credential; "
				   "bootstrap first",
				   NULL, NULL);
	else if (!cred_valid(d, &boot))
		rc = ztp__lite_err(d, ZTP_EEXPIRED,
				   "register: the bootstrap certificate has "
				   "expired; bootstrap again",
				   NULL, NULL);
	if (rc == ZTP_OK) {
		step(d, "register", "start");
		memcpy(d->tx, d->reg, d->reg_len);
		rc = ztp__lite_call(d, "register", ZTP__AUTH_BOOTSTRAP, &boot,
				    d->reg_len, &a);
	}
	if (rc == ZTP_OK) {
		rc = d->port->store(d->port->ctx, "registration",
				    (const uint8_t *)d->reg, d->reg_len);
		if (rc < 0)
			rc = ztp__lite_err(
			    d, rc, "registration: cannot store it", NULL, NULL);
	}
	if (rc == ZTP_OK)
		step(d, "register", "done");
	ztp__lite_cred_free(d, &boot);
	return rc;
}

static int check_in(ztp_lite *d, const ztp__lite_cred *op, bool *claimed);

/* The probe of a rotation: an assignment call authenticated by the new
 * credential c (its certificate cert[0..len), stored in the pending
 * slot), before it replaces the current one. A device nobody has claimed
 * yet is refused device_state, but only after the verifier authenticated
 * the credential, which is what the probe is for. On failure the new
 * credential stays pending: the next run probes it again. */
static int probe(ztp_lite *d, ztp__lite_cred *c, const char *cert, size_t len)
{
	bool claimed = false;
	int rc;

	if (c->cert == NULL) {
		if (len > ZTP_LITE_CERT_MAX)
			return ztp__lite_err(d, ZTP_ETOOBIG,
					     "rotate: certificates too long",
					     NULL, NULL);
		c->cert = ztp__lite_alloc(d, ZTP_LITE_CERT_MAX);
		if (c->cert == NULL)
			return oom(d);
		memcpy(c->cert, cert, len);
		c->cert_len = len;
	}
	step(d, "rotate", "probe");
	rc = check_in(d, c, &claimed);
	if (rc < 0) {
		char detail[ZTP_LITE_ERRMSG_MAX];

		memcpy(detail, d->err, sizeof(detail));
		return ztp__lite_err(d, rc,
				     "rotate: the new credential's probe "
				     "failed (it stays pending): ",
				     detail, NULL);
	}
	return ZTP_OK;
}

/* A new operational credential from endpoint ("credentials" or
 * "rotate"), authenticated by auth; a rotation's is probed before it is
 * made current. */
static int operational_locked(ztp_lite *d, const char *endpoint,
			      ztp__lite_auth kind, const ztp__lite_cred *auth)
{
	ztp__lite_cred c;
	/* The CSR in the receive buffer, free until the answer. */
	uint8_t *der = d->rx;
	char *pem = (char *)d->rx + ZTP_LITE_CSR_MAX;
	size_t cert_len = 0;
	ztp__jw w;
	ztp__jv a;
	bool ready = false, probing = strcmp(endpoint, "rotate") == 0;
	int rc;

	step(d, endpoint, "start");
	rc = pending_begin(d, &c, ZTP__KIND_OPERATIONAL, endpoint, &ready);
	if (rc < 0 || ready)
		goto commit;
	rc = make_csr(d, &c, der, pem, NULL);
	if (rc < 0)
		goto out;
	ztp__jw_init(&w, d->tx, ZTP_LITE_REQUEST_MAX);
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "csr");
	ztp__jw_str(&w, pem, strlen(pem));
	ztp__jw_close(&w, '}');
	rc = ztp__lite_call(d, endpoint, kind, auth, w.len, &a);
	if (rc == ZTP_OK)
		rc = parse_issued(d, &a, true, &c, d->tx, ZTP_LITE_REQUEST_MAX,
				  &cert_len);
	if (rc == ZTP_OK)
		rc = brokers_store(d, &a);
	if (rc == ZTP_OK)
		rc = trust_update(d, &a);
	if (rc == ZTP_OK && probing)
		rc = pending_store(d, ZTP__KIND_OPERATIONAL, c.slot, d->tx,
				   cert_len);
commit:
	if (rc == ZTP_OK && probing)
		rc = probe(d, &c, d->tx, cert_len);
	if (rc == ZTP_OK)
		rc = pending_commit(d, ZTP__KIND_OPERATIONAL, endpoint, c.slot,
				    ready || probing ? NULL : d->tx, cert_len);
	if (rc == ZTP_OK)
		step_cert(d, endpoint, ready ? "resumed" : "done", &c);
out:
	ztp__lite_cred_free(d, &c);
	return rc;
}

static int credentials_with(ztp_lite *d, bool allow_op)
{
	ztp__lite_cred op, boot;
	int rc;

	memset(&boot, 0, sizeof(boot));
	rc = cred_current(d, &op, ZTP__KIND_OPERATIONAL);
	if (rc == ZTP_OK)
		rc = cred_current(d, &boot, ZTP__KIND_BOOTSTRAP);
	if (rc == ZTP_OK) {
		/* The operational credential outlives the bootstrap one:
		 * preferred when valid. */
		if (allow_op && cred_valid(d, &op))
			rc = operational_locked(d, "credentials",
						ZTP__AUTH_OPERATIONAL, &op);
		else if (cred_valid(d, &boot))
			rc = operational_locked(d, "credentials",
						ZTP__AUTH_BOOTSTRAP, &boot);
		else
			rc = ztp__lite_err(d, ZTP_ESTATE,
					   "credentials: no valid bootstrap or "
					   "operational credential; bootstrap "
					   "first",
					   NULL, NULL);
	}
	ztp__lite_cred_free(d, &op);
	ztp__lite_cred_free(d, &boot);
	return rc;
}

/* When rotation of c is due (ztp__rotation_due(), the jitter drawn from
 * the SHA-256 of its stored certificate). */
static int rotation_due(ztp_lite *d, const ztp__lite_cred *c, int64_t *due)
{
	uint8_t h[32];
	int rc;

	rc = d->port->sha256(d->port->ctx, (const uint8_t *)c->cert,
			     c->cert_len, h);
	if (rc < 0)
		return ztp__lite_err(d, rc, "SHA-256 failed", NULL, NULL);
	*due = ztp__rotation_due(c->info.not_before, c->info.not_after,
				 d->rotate_percent, h);
	return ZTP_OK;
}

/* An assignment call ({}) with the operational credential, its answer
 * read by the protocol's rules into *a (valid until the next call), its
 * brokers and trust bundle taken; *tenant the tenant it names, "" for
 * none. */
static int assignment_call(ztp_lite *d, const ztp__lite_cred *op, ztp__jv *a,
			   char tenant[ZTP_ID_MAX + 1])
{
	const char *what = "assignment answer";
	ztp__jv v;
	size_t k = 0;
	int rc;

	tenant[0] = '\0';
	memcpy(d->tx, "{}", 2);
	rc = ztp__lite_call(d, "assignment", ZTP__AUTH_OPERATIONAL, op, 2, a);
	if (rc == ZTP_OK)
		rc = answer_only(d, a, ztp__assignment_members, what);
	if (rc == ZTP_OK && present(a, "tenant", &v) &&
	    (ztp__j_string(&v, tenant, ZTP_ID_MAX + 1, &k) < 0 ||
	     ztp__id_len(tenant) != k))
		rc = ztp__lite_err(d, ZTP_EPARSE, what, ": bad tenant", NULL);
	if (rc == ZTP_OK && present(a, "policy", &v) && v.type != ZTP__J_OBJECT)
		rc = ztp__lite_err(d, ZTP_EPARSE, what,
				   ": policy is not an object", NULL);
	if (rc == ZTP_OK)
		rc = check_assigned(d, a, what);
	if (rc == ZTP_OK)
		rc = brokers_store(d, a);
	if (rc == ZTP_OK)
		rc = trust_update(d, a);
	if (rc < 0)
		tenant[0] = '\0';
	return rc;
}

/* Check in with the operational credential: an assignment call.
 * *claimed is set when the answer names a tenant other than the
 * certificate's (the device was claimed or moved since it was issued);
 * not claimed yet (device_state) is no failure. */
static int check_in(ztp_lite *d, const ztp__lite_cred *op, bool *claimed)
{
	char tenant[ZTP_ID_MAX + 1];
	ztp__jv a;
	int rc;

	*claimed = false;
	step(d, "assignment", "start");
	rc = assignment_call(d, op, &a, tenant);
	if (ztp__lite_refused_with(d, rc, ZTP__W_DEVICE_STATE)) {
		step(d, "assignment", "unclaimed");
		return ZTP_OK;
	}
	if (rc < 0)
		return rc;
	*claimed = tenant[0] != '\0' && strcmp(tenant, op->info.tenant) != 0;
	step(d, "assignment", "done");
	return ZTP_OK;
}

static bool credential_refused(const ztp_lite *d, int rc)
{
	return ztp__lite_refused_with(d, rc, ZTP__W_CERTIFICATE_REVOKED) ||
	       ztp__lite_refused_with(d, rc, ZTP__W_CERTIFICATE_EXPIRED);
}

/* With a valid operational credential and the registration current:
 * rotate when a rotation is pending or due; otherwise check in (unless
 * the options say not to: then no connection at all). A tenant that
 * claimed the device since, or a rotation refused because the tenant
 * changed (device_state), leads to a fresh credentials request. */
static int run_operational(ztp_lite *d, const ztp__lite_cred *op,
			   unsigned int *did)
{
	char cur, pend;
	int64_t due = 0;
	bool claimed = false;
	int rc;

	rc = manifest_read(d, ZTP__KIND_OPERATIONAL, &cur, &pend);
	if (rc == ZTP_OK)
		rc = rotation_due(d, op, &due);
	if (rc < 0)
		return rc;
	if (pend == 0 && d->now < due) {
		if (!d->check_in)
			return ZTP_OK;
		rc = check_in(d, op, &claimed);
		if (rc < 0 || !claimed)
			return rc;
	} else {
		rc = operational_locked(d, "rotate", ZTP__AUTH_OPERATIONAL, op);
		if (rc == ZTP_OK)
			*did |= ZTP_LITE_DID_ROTATE;
		if (!ztp__lite_refused_with(d, rc, ZTP__W_DEVICE_STATE))
			return rc;
	}
	rc = operational_locked(d, "credentials", ZTP__AUTH_OPERATIONAL, op);
	if (rc == ZTP_OK)
		*did |= ZTP_LITE_DID_CREDENTIALS;
	return rc;
}

static int run_locked(ztp_lite *d, unsigned int *did)
{
	ztp__lite_cred op, boot;
	bool registered = false, bootstrapped = false, op_ok,
	     op_refused = false;
	int rc;

	memset(&boot, 0, sizeof(boot));
	rc = cred_current(d, &op, ZTP__KIND_OPERATIONAL);
	if (rc == ZTP_OK)
		rc = registration_current(d, &registered);
	if (rc < 0)
		goto out;
	op_ok = cred_valid(d, &op);
	if (op_ok && registered) {
		rc = run_operational(d, &op, did);
		if (!credential_refused(d, rc))
			goto out;
		/* Revoked (a reset) or expired by the server's clock: start
		 * over from the factory identity. */
		op_ok = false;
		op_refused = true;
		registered = false;
		rc = bootstrap_locked(d);
		if (rc < 0)
			goto out;
		*did |= ZTP_LITE_DID_BOOTSTRAP;
		bootstrapped = true;
	}
	rc = cred_current(d, &boot, ZTP__KIND_BOOTSTRAP);
	if (rc < 0)
		goto out;
	if (!bootstrapped && !cred_valid(d, &boot)) {
		rc = bootstrap_locked(d);
		if (rc < 0)
			goto out;
		*did |= ZTP_LITE_DID_BOOTSTRAP;
		bootstrapped = true;
	}
	if (!registered) {
		rc = register_locked(d);
		if (credential_refused(d, rc) && !bootstrapped) {
			/* The bootstrap certificate went with a reset. */
			rc = bootstrap_locked(d);
			if (rc < 0)
				goto out;
			*did |= ZTP_LITE_DID_BOOTSTRAP;
			bootstrapped = true;
			rc = register_locked(d);
		}
		if (rc < 0)
			goto out;
		*did |= ZTP_LITE_DID_REGISTER;
	}
	if (!op_ok) {
		rc = credentials_with(d, !op_refused);
		if (credential_refused(d, rc) && !bootstrapped) {
			rc = bootstrap_locked(d);
			if (rc < 0)
				goto out;
			*did |= ZTP_LITE_DID_BOOTSTRAP;
			bootstrapped = true;
			rc = credentials_with(d, false);
		}
		if (rc < 0)
			goto out;
		*did |= ZTP_LITE_DID_CREDENTIALS;
	}
out:
	ztp__lite_cred_free(d, &op);
	ztp__lite_cred_free(d, &boot);
	return rc;
}

/* ------------------------------------------------------------------ public
 */

typedef int (*op_fn)(ztp_lite *d, unsigned int *did);

static void fail_event(ztp_lite *d, const char *op, int rc)
{
	char f[ZTP_LITE_ERRMSG_MAX + 128];
	ztp__jw w;

	ztp__jw_init(&w, f, sizeof(f));
	ztp__jw_key(&w, "operation");
	ztp__jw_str(&w, op, strlen(op));
	ztp__jw_key(&w, "step");
	ztp__jw_str(&w, "failed", 6);
	ztp__jw_key(&w, "error");
	ztp__jw_str(&w, ztp_status_name(rc), strlen(ztp_status_name(rc)));
	ztp__jw_key(&w, "detail");
	ztp__jw_str(&w, d->err, strlen(d->err));
	if (w.ok)
		ztp__lite_event(d, "device.step", f);
}

static int with_op(ztp_lite *d, const char *op, op_fn fn, unsigned int *did)
{
	unsigned int none = 0;
	int rc;

	if (d == NULL)
		return ZTP_EINVAL;
	if (did == NULL)
		did = &none;
	*did = 0;
	rc = ztp__lite_begin(d);
	if (rc == ZTP_OK)
		rc = fn(d, did);
	if (rc < 0)
		fail_event(d, op, rc);
	ztp__lite_end(d);
	/* The connection is kept for the next operation of a run only. */
	ztp__lite_disconnect(d);
	return rc;
}

static int bootstrap_fn(ztp_lite *d, unsigned int *did)
{
	(void)did;
	return bootstrap_locked(d);
}

static int register_fn(ztp_lite *d, unsigned int *did)
{
	(void)did;
	return register_locked(d);
}

static int credentials_fn(ztp_lite *d, unsigned int *did)
{
	(void)did;
	return credentials_with(d, true);
}

/* The current operational credential into *op, which the caller frees;
 * #ZTP_ESTATE, naming the operation what, when there is none valid. */
static int operational_current(ztp_lite *d, ztp__lite_cred *op,
			       const char *what)
{
	int rc;

	rc = cred_current(d, op, ZTP__KIND_OPERATIONAL);
	if (rc == ZTP_OK && !cred_valid(d, op))
		rc = ztp__lite_err(d, ZTP_ESTATE, what,
				   ": no valid operational credential; "
				   "run first",
				   NULL);
	return rc;
}

static int rotate_fn(ztp_lite *d, unsigned int *did)
{
	ztp__lite_cred op;
	int rc;

	rc = operational_current(d, &op, "rotate");
	if (rc == ZTP_OK)
		rc =
		    operational_locked(d, "rotate", ZTP__AUTH_OPERATIONAL, &op);
	if (rc == ZTP_OK)
		*did |= ZTP_LITE_DID_ROTATE;
	ztp__lite_cred_free(d, &op);
	return rc;
}

static int run_fn(ztp_lite *d, unsigned int *did)
{
	if (d->reg == NULL)
		return ztp__lite_err(d, ZTP_EINVAL,
				     "run: no registration configured", NULL,
				     NULL);
	return run_locked(d, did);
}

/* ------------------------------------------------------------------
 * status */

static void status_time(ztp__jw *w, const char *name, int64_t t)
{
	char ts[ZTP__RFC3339_LEN + 1];

	ztp__rfc3339_format(ts, t);
	ztp__jw_key(w, name);
	ztp__jw_str(w, ts, ZTP__RFC3339_LEN);
}

/* "<kind>": the current credential of kind, or null. */
static int status_cred(ztp_lite *d, ztp__jw *w, ztp__lite_kind kind)
{
	ztp__lite_cred c;
	uint8_t h[32];
	char hex[65], serial[ZTP_CA_SERIAL_HEX_MAX + 1], slot = 0;
	int64_t due = 0;
	size_t n, sl = 0;
	int rc;

	ztp__jw_key(w, kind_names[kind]);
	rc = cred_current(d, &c, kind);
	if (rc < 0)
		return rc;
	if (c.slot == 0) {
		ztp__jw_raw(w, "null", 4);
		return ZTP_OK;
	}
	/* The fingerprint: SHA-256 of the leaf's DER (the receive buffer is
	 * free while no request is made). */
	n = ztp__pem_der(d->rx, ZTP__LITE_RX_MAX, c.cert, c.cert_len);
	if (n > 0)
		sl = ztp__der_serial_hex(serial, sizeof(serial), d->rx, n);
	rc = sl > 0 ? d->port->sha256(d->port->ctx, d->rx, n, h)
		    : ztp__lite_err(d, ZTP_EPARSE, kind_names[kind],
				    ": the certificate is not PEM or has no "
				    "positive serial",
				    NULL);
	if (rc == ZTP_OK && kind == ZTP__KIND_OPERATIONAL)
		rc = rotation_due(d, &c, &due);
	if (rc == ZTP_OK) {
		hex32(hex, h);
		slot = c.slot;
		ztp__jw_open(w, '{');
		ztp__jw_key(w, "slot");
		ztp__jw_str(w, &slot, 1);
		ztp__jw_key(w, "device_id");
		ztp__jw_str(w, c.info.device_id, strlen(c.info.device_id));
		ztp__jw_key(w, "serial");
		ztp__jw_str(w, serial, sl);
		status_time(w, "not_before", c.info.not_before);
		status_time(w, "not_after", c.info.not_after);
		ztp__jw_key(w, "expired");
		ztp__jw_bool(w, d->now >= c.info.not_after);
		ztp__jw_key(w, "fingerprint");
		ztp__jw_str(w, hex, 64);
		ztp__jw_key(w, "tenant");
		if (c.info.tenant[0] != '\0')
			ztp__jw_str(w, c.info.tenant, strlen(c.info.tenant));
		else
			ztp__jw_raw(w, "null", 4);
		if (kind == ZTP__KIND_OPERATIONAL)
			status_time(w, "rotation_due", due);
		ztp__jw_close(w, '}');
	}
	ztp__lite_cred_free(d, &c);
	return rc;
}

static int status_locked(ztp_lite *d, char *buf, size_t cap)
{
	const char *why = "";
	char cur, hex[65];
	int64_t floor = 0;
	size_t len = 0;
	ztp__jv reg;
	ztp__jw w;
	int rc;

	ztp__jw_init(&w, buf, cap);
	ztp__jw_open(&w, '{');
	ztp__jw_key(&w, "device_id");
	ztp__jw_str(&w, d->device_id, strlen(d->device_id));
	ztp__jw_key(&w, "credentials");
	ztp__jw_open(&w, '{');
	rc = status_cred(d, &w, ZTP__KIND_BOOTSTRAP);
	if (rc == ZTP_OK)
		rc = status_cred(d, &w, ZTP__KIND_OPERATIONAL);
	ztp__jw_close(&w, '}');
	/* The registration last accepted, as it was sent (JSON the core
	 * wrote, checked again before it is copied). */
	ztp__jw_key(&w, "registration");
	if (rc == ZTP_OK)
		rc = d->port->load(d->port->ctx, "registration",
				   (uint8_t *)d->tx, ZTP__LITE_REG_MAX, &len);
	if (rc == ZTP_OK &&
	    ztp__j_check(&reg, (const char *)d->tx, len, &why) == ZTP_OK &&
	    reg.type == ZTP__J_OBJECT)
		ztp__jw_raw(&w, (const char *)d->tx, len);
	else if (rc == ZTP_OK || rc == ZTP_ENOTFOUND || rc == ZTP_ETOOBIG)
		ztp__jw_raw(&w, "null", 4);
	if (rc == ZTP_ENOTFOUND || rc == ZTP_ETOOBIG)
		rc = ZTP_OK;
	else if (rc < 0 && d->err[0] == '\0')
		ztp__lite_err(d, rc, "registration: cannot read it", NULL,
			      NULL);
	if (rc == ZTP_OK)
		rc = ztp__lite_floor(d, &floor);
	if (rc == ZTP_OK) {
		status_time(&w, "time_floor", floor);
		ztp__jw_key(&w, "clock_known");
		ztp__jw_bool(&w, d->clock_known);
		rc = trust_manifest_read(d, &cur, hex);
	}
	if (rc == ZTP_OK) {
		ztp__jw_key(&w, "trust_bundle");
		if (cur != 0)
			ztp__jw_str(&w, hex, 64);
		else
			ztp__jw_raw(&w, "null", 4);
	}
	ztp__jw_close(&w, '}');
	if (rc == ZTP_OK && !w.ok)
		rc = ztp__lite_err(d, ZTP_ETOOBIG,
				   "status: the buffer is too "
				   "small",
				   NULL, NULL);
	if (rc < 0)
		buf[0] = '\0';
	return rc;
}

static int assignment_locked(ztp_lite *d, char *buf, size_t cap)
{
	char tenant[ZTP_ID_MAX + 1];
	ztp__lite_cred op;
	ztp__jv a;
	int rc;

	rc = operational_current(d, &op, "assignment");
	if (rc == ZTP_OK) {
		step(d, "assignment", "start");
		rc = assignment_call(d, &op, &a, tenant);
	}
	if (rc == ZTP_OK && a.len >= cap)
		rc = ztp__lite_err(d, ZTP_ETOOBIG,
				   "assignment: the buffer is too small", NULL,
				   NULL);
	if (rc == ZTP_OK) {
		memcpy(buf, a.p, a.len);
		buf[a.len] = '\0';
		step(d, "assignment", "done");
	}
	ztp__lite_cred_free(d, &op);
	return rc;
}

/* An operation that writes a document into the caller's buffer: as
 * with_op(). */
static int with_doc(ztp_lite *d, const char *op,
		    int (*fn)(ztp_lite *, char *, size_t), char *buf,
		    size_t cap)
{
	int rc;

	if (d == NULL || buf == NULL || cap == 0)
		return ZTP_EINVAL;
	buf[0] = '\0';
	rc = ztp__lite_begin(d);
	if (rc == ZTP_OK)
		rc = fn(d, buf, cap);
	if (rc < 0)
		fail_event(d, op, rc);
	ztp__lite_end(d);
	ztp__lite_disconnect(d);
	return rc;
}

int ztp_lite_status(ztp_lite *d, char *buf, size_t cap)
{
	return with_doc(d, "status", status_locked, buf, cap);
}

int ztp_lite_assignment(ztp_lite *d, char *buf, size_t cap)
{
	return with_doc(d, "assignment", assignment_locked, buf, cap);
}

int ztp_lite_bootstrap(ztp_lite *d)
{
	return with_op(d, "bootstrap", bootstrap_fn, NULL);
}

int ztp_lite_register(ztp_lite *d)
{
	return with_op(d, "register", register_fn, NULL);
}

int ztp_lite_credentials(ztp_lite *d)
{
	return with_op(d, "credentials", credentials_fn, NULL);
}

int ztp_lite_rotate(ztp_lite *d)
{
	return with_op(d, "rotate", rotate_fn, NULL);
}

int ztp_lite_run(ztp_lite *d, unsigned int *actions)
{
	return with_op(d, "run", run_fn, actions);
}
