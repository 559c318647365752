/*
 * libztp — multi-tenant MQTT policy: documents, decisions, identities.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A loaded document becomes an immutable snapshot (statements + compiled
 * index) that the handle points to. Decisions read it inside a read section
 * (reader.h) without any lock or shared write, so they scale with cores;
 * a load publishes the new snapshot with one atomic exchange, waits for
 * the read sections that may still see the old one and then drops the
 * handle's reference to it. Calls that keep a snapshot for longer (explain,
 * stats, export) take a reference inside their read section instead, and
 * the last reference frees it.
 */
#include "core/internal.h"
#include "policy/index.h"
#include "policy/reader.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ztp/policy.h>

#define POLICY_VERSION "2026-01"
#define POLICY_SID_MAX 128

typedef struct pstmt {
	char *sid; /* NULL when the statement has none */
	int effect;
	unsigned actions; /* bit a: action a + 1 */
	char **res;
	size_t nres;
} pstmt;

typedef struct psnap {
	atomic_uint refs;
	ztp__pindex idx;
	pstmt *st;
	size_t nst;
	size_t nres;
} psnap;

struct ztp_policy {
	_Atomic(psnap *) snap; /* NULL: no policy, every decision is deny */
	X509_STORE *cas;
	size_t ncas;
	ztp__clock clock;
};

static const char *const action_names[ZTP__PX_NACT] = {"connect", "publish",
						       "subscribe", "receive"};

/* ---------------------------------------------------------------- snapshots */

static void snap_free(psnap *s)
{
	size_t i, j;

	if (!s)
		return;
	for (i = 0; i < s->nst; i++) {
		for (j = 0; j < s->st[i].nres; j++)
			free(s->st[i].res[j]);
		free(s->st[i].res);
		free(s->st[i].sid);
	}
	free(s->st);
	ztp__pindex_free(&s->idx);
	free(s);
}

/* The current snapshot inside the caller's read section: valid until
 * ztp__pread_leave(). */
static psnap *snap_peek(ztp_policy *p)
{
	return atomic_load_explicit(&p->snap, memory_order_seq_cst);
}

/* A reference to the current snapshot (NULL when none), to keep beyond a
 * read section; dropped with snap_put(). */
static int snap_get(psnap **out, ztp_policy *p)
{
	ztp__preader *rd = NULL;
	psnap *s;
	int rc = ZTP_OK;

	*out = NULL;
	ZTP_CHECK(ztp__pread_enter(&rd));
	s = snap_peek(p);
	/* the handle's own reference cannot be dropped before this section
	 * ends, so the count is above zero here */
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	ztp__pread_leave(rd);
	*out = s;
cleanup:
	return rc;
}

static void snap_put(psnap *s)
{
	if (s &&
	    atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		snap_free(s);
}

/* Publish s (may be NULL) as the handle's policy. */
static void snap_swap(ztp_policy *p, psnap *s)
{
	psnap *old =
	    atomic_exchange_explicit(&p->snap, s, memory_order_seq_cst);

	if (old)
		ztp__pread_synchronize();
	snap_put(old);
}

/* ---------------------------------------------------------------- documents */

int ztp_policy_action_parse(int *out, const char *name)
{
	int a;

	ZTP_ARG(out);
	ZTP_ARG(name);
	for (a = 0; a < ZTP__PX_NACT; a++) {
		if (strcmp(name, action_names[a]) == 0) {
			*out = a + 1;
			return ZTP_OK;
		}
	}
	return ztp__err(ZTP_EINVAL,
			"unknown action \"%.32s\" (expected connect, publish, "
			"subscribe or receive)",
			name);
}

static int parse_actions(unsigned *out, json_object *arr, const char *what)
{
	size_t i, n = json_object_array_length(arr);
	int rc = ZTP_OK, a;

	*out = 0;
	ZTP_ENSURE(n > 0, ZTP_EPARSE, "%s: \"actions\" is empty", what);
	for (i = 0; i < n; i++) {
		json_object *el = json_object_array_get_idx(arr, i);
		const char *s;

		ZTP_ENSURE(json_object_is_type(el, json_type_string),
			   ZTP_EPARSE, "%s: action %zu is not a string", what,
			   i);
		s = json_object_get_string(el);
		for (a = 0; a < ZTP__PX_NACT; a++)
			if (strcmp(s, action_names[a]) == 0)
				break;
		ZTP_ENSURE(a < ZTP__PX_NACT, ZTP_EPARSE,
			   "%s: unknown action \"%.32s\"", what, s);
		ZTP_ENSURE(!(*out & (1u << a)), ZTP_EPARSE,
			   "%s: action \"%s\" listed twice", what, s);
		*out |= 1u << a;
	}
cleanup:
	return rc;
}

static int parse_statement(psnap *snap, json_object *s, size_t i)
{
	static const char *const keys[] = {"sid", "effect", "actions",
					   "resources", NULL};
	pstmt *st = &snap->st[i];
	json_object *acts = NULL, *res = NULL;
	const char *sid = NULL, *eff = NULL;
	size_t sidlen = 0, efflen = 0, j, n;
	char what[64], rwhat[96];
	int rc = ZTP_OK;

	snprintf(what, sizeof(what), "policy statement %zu", i);
	ZTP_ENSURE(json_object_is_type(s, json_type_object), ZTP_EPARSE,
		   "%s: not an object", what);
	ZTP_CHECK(ztp__json_only_keys(s, keys, what));
	ZTP_CHECK(
	    ztp__json_str(s, "sid", false, POLICY_SID_MAX, &sid, &sidlen));
	ZTP_CHECK(ztp__json_str(s, "effect", true, 16, &eff, &efflen));
	ZTP_CHECK(ztp__json_array(s, "actions", true, ZTP__PX_NACT * 2, &acts));
	ZTP_CHECK(ztp__json_array(s, "resources", true,
				  ZTP_POLICY_MAX_RESOURCES, &res));
	if (sid) {
		ZTP_ENSURE(sidlen > 0, ZTP_EPARSE, "%s: empty \"sid\"", what);
		st->sid = ztp__strndup(sid, sidlen);
		ZTP_ENSURE(st->sid, ZTP_ENOMEM, "policy: out of memory");
	}
	if (strcmp(eff, "Allow") == 0)
		st->effect = ZTP__PX_ALLOW;
	else if (strcmp(eff, "Deny") == 0)
		st->effect = ZTP__PX_DENY;
	else
		ZTP_ENSURE(0, ZTP_EPARSE,
			   "%s: effect must be \"Allow\" or \"Deny\"", what);
	ZTP_CHECK(parse_actions(&st->actions, acts, what));

	n = json_object_array_length(res);
	ZTP_ENSURE(n > 0, ZTP_EPARSE, "%s: \"resources\" is empty", what);
	st->res = ztp__calloc(n, sizeof(*st->res));
	ZTP_ENSURE(st->res, ZTP_ENOMEM, "policy: out of memory");
	for (j = 0; j < n; j++) {
		json_object *el = json_object_array_get_idx(res, j);
		const char *r;
		size_t rlen;

		snprintf(rwhat, sizeof(rwhat), "%s resource %zu", what, j);
		ZTP_ENSURE(json_object_is_type(el, json_type_string),
			   ZTP_EPARSE, "%s: not a string", rwhat);
		r = json_object_get_string(el);
		rlen = (size_t)json_object_get_string_len(el);
		ZTP_CHECK(ztp__presource_check(r, rlen, rwhat));
		st->res[j] = ztp__strndup(r, rlen);
		ZTP_ENSURE(st->res[j], ZTP_ENOMEM, "policy: out of memory");
		st->nres = j + 1;
		ZTP_CHECK(ztp__pindex_add(&snap->idx, r, rlen, st->effect,
					  st->actions, (uint32_t)i));
	}
	snap->nres += n;
cleanup:
	return rc;
}

static int compile(psnap **out, const char *json, size_t len)
{
	static const char *const keys[] = {"version", "statements", NULL};
	json_object *root = NULL, *stmts = NULL;
	const char *ver = NULL;
	size_t verlen = 0, i, n;
	psnap *s = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	ZTP_ENSURE(len <= ZTP_POLICY_MAX_BYTES, ZTP_ETOOBIG,
		   "policy: %zu bytes over the %u-byte limit", len,
		   ZTP_POLICY_MAX_BYTES);
	ZTP_CHECK(ztp__json_parse(&root, json, len, ZTP_POLICY_MAX_BYTES, 8));
	ZTP_ENSURE(json_object_is_type(root, json_type_object), ZTP_EPARSE,
		   "policy: not a JSON object");
	ZTP_CHECK(ztp__json_only_keys(root, keys, "policy"));
	ZTP_CHECK(ztp__json_str(root, "version", true, 32, &ver, &verlen));
	ZTP_ENSURE(strcmp(ver, POLICY_VERSION) == 0, ZTP_EPARSE,
		   "policy: unsupported version \"%s\" (expected \"%s\")", ver,
		   POLICY_VERSION);
	ZTP_CHECK(ztp__json_array(root, "statements", true,
				  ZTP_POLICY_MAX_STATEMENTS, &stmts));
	n = json_object_array_length(stmts);
	ZTP_ENSURE(n > 0, ZTP_EPARSE, "policy: \"statements\" is empty");

	s = ztp__calloc(1, sizeof(*s));
	ZTP_ENSURE(s, ZTP_ENOMEM, "policy: out of memory");
	atomic_init(&s->refs, 1);
	ZTP_CHECK(ztp__pindex_init(&s->idx));
	s->st = ztp__calloc(n, sizeof(*s->st));
	ZTP_ENSURE(s->st, ZTP_ENOMEM, "policy: out of memory");
	for (i = 0; i < n; i++) {
		s->nst = i + 1;
		ZTP_CHECK(
		    parse_statement(s, json_object_array_get_idx(stmts, i), i));
	}
	ZTP_CHECK(ztp__pindex_finish(&s->idx));
	*out = s;
	s = NULL;
cleanup:
	snap_free(s);
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------- handle */

int ztp_policy_new(ztp_policy **out)
{
	ztp_policy *p = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_CHECK(ztp__ensure_init());
	p = ztp__calloc(1, sizeof(*p));
	ZTP_ENSURE(p, ZTP_ENOMEM, "policy: out of memory");
	atomic_init(&p->snap, NULL);
	p->cas = X509_STORE_new();
	ZTP_ENSURE_OSSL(p->cas, ZTP_ENOMEM, "policy: X509_STORE_new");
	*out = p;
	p = NULL;
cleanup:
	if (p) {
		X509_STORE_free(p->cas);
		free(p);
	}
	return rc;
}

void ztp_policy_free(ztp_policy *p)
{
	if (!p)
		return;
	snap_put(atomic_load_explicit(&p->snap, memory_order_acquire));
	X509_STORE_free(p->cas);
	free(p);
}

int ztp_policy_set_clock(ztp_policy *p, ztp_clock_fn fn, void *ctx)
{
	ZTP_ARG(p);
	p->clock.fn = fn;
	p->clock.ctx = fn ? ctx : NULL;
	return ZTP_OK;
}

int ztp_policy_add_ca_pem(ztp_policy *p, const char *pem, size_t len)
{
	STACK_OF(X509) *certs = NULL;
	int rc = ZTP_OK, i;

	ZTP_ARG(p);
	ZTP_ARG(pem);
	ZTP_CHECK(ztp__pem_certs(&certs, pem, len, ZTP_CHAIN_MAX));
	for (i = 0; i < sk_X509_num(certs); i++)
		ZTP_ENSURE(X509_check_ca(sk_X509_value(certs, i)) >= 1,
			   ZTP_EPROFILE,
			   "policy: device CA certificate %d is not a CA", i);
	for (i = 0; i < sk_X509_num(certs); i++) {
		ZTP_ENSURE_OSSL(
		    X509_STORE_add_cert(p->cas, sk_X509_value(certs, i)) == 1,
		    ZTP_ENOMEM, "policy: cannot add device CA %d", i);
		p->ncas++;
	}
cleanup:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int ztp_policy_load(ztp_policy *p, const char *json, size_t len)
{
	psnap *s = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(p);
	ZTP_ARG(json);
	ZTP_CHECK(compile(&s, json, len));
cleanup:
	/* fail closed: a failed load leaves no policy at all */
	snap_swap(p, s);
	return rc;
}

int ztp_policy_load_file(ztp_policy *p, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = ZTP_OK;

	ZTP_ARG(p);
	ZTP_ARG(path);
	rc = ztp__file_read(&buf, &len, path, ZTP_POLICY_MAX_BYTES);
	if (rc < 0) {
		snap_swap(p, NULL);
		goto cleanup;
	}
	rc = ztp_policy_load(p, buf, len);
cleanup:
	free(buf);
	return rc;
}

int ztp_policy_stats(char **out, ztp_policy *p)
{
	json_object *o = NULL;
	psnap *s = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_ARG(p);
	ZTP_CHECK(snap_get(&s, p));
	o = json_object_new_object();
	ZTP_ENSURE(o, ZTP_ENOMEM, "policy: out of memory");
	ZTP_CHECK(
	    ztp__json_add(o, "loaded", json_object_new_boolean(s != NULL)));
	ZTP_CHECK(ztp__json_add_int(o, "statements", s ? (int64_t)s->nst : 0));
	ZTP_CHECK(ztp__json_add_int(o, "resources", s ? (int64_t)s->nres : 0));
	ZTP_CHECK(ztp__json_add_int(o, "nodes", s ? (int64_t)s->idx.nodes : 0));
	ZTP_CHECK(ztp__json_add_int(o, "bytes", s ? (int64_t)s->idx.bytes : 0));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(o);
	snap_put(s);
	return rc;
}

static int add_null(json_object *o, const char *key)
{
	if (json_object_object_add(o, key, NULL) != 0)
		return ztp__err(ZTP_ENOMEM, "policy: out of memory");
	return ZTP_OK;
}

/* --------------------------------------------------------------------- lint */

#define LINT_MAX_WARNINGS 1000

typedef struct lint {
	json_object *list;
	size_t count;
} lint;

static int warn(lint *l, const psnap *s, size_t i, const char *res,
		const char *msg)
{
	json_object *w = NULL;
	int rc = ZTP_OK;

	if (l->count++ >= LINT_MAX_WARNINGS)
		return ZTP_OK;
	w = json_object_new_object();
	ZTP_ENSURE(w, ZTP_ENOMEM, "policy: out of memory");
	ZTP_CHECK(ztp__json_add_int(w, "index", (int64_t)i));
	if (s->st[i].sid)
		ZTP_CHECK(ztp__json_add_str(w, "statement", s->st[i].sid));
	else
		ZTP_CHECK(add_null(w, "statement"));
	if (res)
		ZTP_CHECK(ztp__json_add_str(w, "resource", res));
	else
		ZTP_CHECK(add_null(w, "resource"));
	ZTP_CHECK(ztp__json_add_str(w, "message", msg));
	ZTP_ENSURE(json_object_array_add(l->list, w) == 0, ZTP_ENOMEM,
		   "policy: out of memory");
	w = NULL;
cleanup:
	json_object_put(w);
	return rc;
}

/* Level k (0-based) of resource r, as a pointer and length; false if r has
 * fewer levels. */
static bool level_k(const char *r, int k, const char **lp, size_t *ln)
{
	const char *e;

	for (; k > 0; k--) {
		r = strchr(r, '/');
		if (!r)
			return false;
		r++;
	}
	e = strchr(r, '/');
	*lp = r;
	*ln = e ? (size_t)(e - r) : strlen(r);
	return true;
}

static bool level_is(const char *r, int k, const char *want)
{
	const char *l;
	size_t n;

	return level_k(r, k, &l, &n) && n == strlen(want) &&
	       memcmp(l, want, n) == 0;
}

static int lint_resource(lint *l, const psnap *s, size_t i, const char *r)
{
	const pstmt *st = &s->st[i];
	const unsigned connect = 1u << (ZTP_POLICY_CONNECT - 1),
		       publish = 1u << (ZTP_POLICY_PUBLISH - 1);
	int rc = ZTP_OK;

	if (st->effect != ZTP__PX_ALLOW)
		return ZTP_OK;
	if (level_is(r, 0, "#") || level_is(r, 0, "+"))
		ZTP_CHECK(warn(l, s, i, r,
			       "allows a wildcard first level: reaches every "
			       "tenant's topics"));
	else if (level_is(r, 0, "tenants") && !level_is(r, 1, "${tenant}"))
		ZTP_CHECK(warn(l, s, i, r,
			       "tenant level is not ${tenant}: reaches other "
			       "tenants' topics"));
	else if ((st->actions & publish) && level_is(r, 0, "tenants") &&
		 level_is(r, 2, "devices") && !level_is(r, 3, "${device}"))
		ZTP_CHECK(warn(l, s, i, r,
			       "publish with a device level that is not "
			       "${device}: writes to other devices' topics"));
	if ((st->actions & connect) && !level_is(r, 0, "${device}") &&
	    !level_is(r, 0, "${client_id}"))
		ZTP_CHECK(warn(l, s, i, r,
			       "connect is not pinned to ${device} or "
			       "${client_id}"));
cleanup:
	return rc;
}

typedef struct sid_ref {
	const char *sid;
	size_t index;
} sid_ref;

static int sid_cmp(const void *a, const void *b)
{
	const sid_ref *x = a, *y = b;
	int c = strcmp(x->sid, y->sid);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int lint_sids(lint *l, const psnap *s)
{
	sid_ref *ix = NULL;
	size_t n = 0, i;
	int rc = ZTP_OK;

	ix = ztp__calloc(s->nst ? s->nst : 1, sizeof(*ix));
	ZTP_ENSURE(ix, ZTP_ENOMEM, "policy: out of memory");
	for (i = 0; i < s->nst; i++) {
		if (!s->st[i].sid)
			continue;
		ix[n].sid = s->st[i].sid;
		ix[n++].index = i;
	}
	qsort(ix, n, sizeof(*ix), sid_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(ix[i].sid, ix[i - 1].sid) == 0)
			ZTP_CHECK(warn(l, s, ix[i].index, NULL,
				       "sid used by an earlier statement too"));
cleanup:
	free(ix);
	return rc;
}

int ztp_policy_lint(char **out, const char *json, size_t len)
{
	json_object *o = NULL;
	psnap *s = NULL;
	lint l = {NULL, 0};
	size_t i, j;
	int rc = ZTP_OK;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_ARG(json);
	ZTP_CHECK(compile(&s, json, len));
	l.list = json_object_new_array();
	ZTP_ENSURE(l.list, ZTP_ENOMEM, "policy: out of memory");
	for (i = 0; i < s->nst; i++)
		for (j = 0; j < s->st[i].nres; j++)
			ZTP_CHECK(lint_resource(&l, s, i, s->st[i].res[j]));
	ZTP_CHECK(lint_sids(&l, s));
	o = json_object_new_object();
	ZTP_ENSURE(o, ZTP_ENOMEM, "policy: out of memory");
	ZTP_CHECK(ztp__json_add(o, "valid", json_object_new_boolean(1)));
	ZTP_CHECK(ztp__json_add_int(o, "statements", (int64_t)s->nst));
	ZTP_CHECK(ztp__json_add_int(o, "resources", (int64_t)s->nres));
	ZTP_CHECK(ztp__json_add(o, "warnings", l.list));
	l.list = NULL;
	ZTP_CHECK(ztp__json_add(
	    o, "truncated",
	    json_object_new_boolean(l.count > LINT_MAX_WARNINGS)));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(l.list);
	json_object_put(o);
	snap_free(s);
	return rc;
}

/* ---------------------------------------------------------------- decisions */

/* The identity values of r, each checked against the identifier grammar:
 * they reach topic levels only through here, so anything outside it is
 * refused even if it was checked upstream. */
static int req_identity(ztp__preq *r, const char *const vals[ZTP__VAR_COUNT])
{
	int v;

	for (v = 0; v < ZTP__VAR_COUNT; v++) {
		size_t n;
		int rc;

		if (!vals[v])
			continue;
		n = ztp__id_len(vals[v]);
		if (n) {
			r->val[v] = vals[v];
			r->vlen[v] = n;
			continue;
		}
		if (v == ZTP__VAR_CLIENT)
			continue; /* documented: an odd client ID is unknown */
		/* not an identifier: say why */
		rc = ztp__id_check(vals[v], strnlen(vals[v], ZTP_ID_MAX + 1),
				   v == ZTP__VAR_DEVICE ? "device" : "tenant");
		return rc < 0
			   ? rc
			   : ztp__err(
				 ZTP_EINVAL, "policy: %s is not an identifier",
				 v == ZTP__VAR_DEVICE ? "device" : "tenant");
	}
	return ZTP_OK;
}

static inline int req_init(ztp__preq *r, const char *tenant, const char *device,
			   const char *client_id, int action, bool explain)
{
	const char *const vals[ZTP__VAR_COUNT] = {device, tenant, client_id};
	int v;

	if (action < 1 || action > ZTP__PX_NACT)
		return ztp__err(ZTP_EINVAL, "policy: unknown action %d",
				action);
	/* every field is set (the matcher fills the results): no memset on
	 * the path of every decision */
	r->act = action - 1;
	r->explain = explain;
	r->found[0] = r->found[1] = false;
	r->best[0] = r->best[1] = ZTP__PX_NONE;
	for (v = 0; v < ZTP__VAR_COUNT; v++) {
		r->val[v] = NULL;
		r->vlen[v] = 0;
	}
	if (!tenant && !device && !client_id)
		return ZTP_OK;
	return req_identity(r, vals);
}

/* Match r on the split topic t against the current snapshot. With keep, a
 * reference to the snapshot is handed back in *snap_out (explain reads its
 * statements afterwards); otherwise *snap_out only tells whether one was
 * loaded and must not be dereferenced. */
static inline int evaluate(psnap **snap_out, ztp_policy *p, ztp__preq *r,
			   ztp__ptopic *t, bool keep)
{
	ztp__preader *rd = NULL;
	psnap *s;
	int rc = ZTP_OK;

	*snap_out = NULL;
	ZTP_CHECK(ztp__pread_enter(&rd));
	s = snap_peek(p);
	if (s) {
		if (r->act + 1 == ZTP_POLICY_SUBSCRIBE)
			ztp__pindex_match_filter(&s->idx, r, t);
		else
			ztp__pindex_match_name(&s->idx, r, t);
		if (keep)
			atomic_fetch_add_explicit(&s->refs, 1,
						  memory_order_relaxed);
	}
	ztp__pread_leave(rd);
	*snap_out = s;
	if (!s)
		rc = ztp__err(ZTP_EDENIED, "policy: no policy loaded");
cleanup:
	return rc;
}

int ztp_policy_authorize(ztp_policy *p, const char *tenant, const char *device,
			 const char *client_id, int action, const char *topic,
			 size_t topic_len)
{
	ztp__preq r;
	ztp__ptopic t;
	psnap *s = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(p);
	ZTP_ARG(topic);
	ZTP_CHECK(req_init(&r, tenant, device, client_id, action, false));
	ZTP_CHECK(ztp__ptopic_split(&t, topic, topic_len,
				    action == ZTP_POLICY_SUBSCRIBE));
	ZTP_CHECK(evaluate(&s, p, &r, &t, false));
	/* fixed messages: a deny is the common answer to a misbehaving
	 * client and should cost no formatting (explain gives details) */
	if (r.found[ZTP__PX_DENY])
		rc = ztp__err_fixed(ZTP_EDENIED, "policy: explicitly denied");
	else if (!r.found[ZTP__PX_ALLOW])
		rc = ztp__err_fixed(ZTP_EDENIED,
				    "policy: no statement allows it");
cleanup:
	return rc;
}

static int add_stmt(json_object *o, const psnap *s, uint32_t i, int effect)
{
	int rc = ZTP_OK;

	if (!s || i == ZTP__PX_NONE) {
		ZTP_CHECK(add_null(o, "statement"));
		ZTP_CHECK(add_null(o, "index"));
		ZTP_CHECK(add_null(o, "effect"));
		goto cleanup;
	}
	if (s->st[i].sid)
		ZTP_CHECK(ztp__json_add_str(o, "statement", s->st[i].sid));
	else
		ZTP_CHECK(add_null(o, "statement"));
	ZTP_CHECK(ztp__json_add_int(o, "index", i));
	ZTP_CHECK(ztp__json_add_str(o, "effect",
				    effect == ZTP__PX_DENY ? "Deny" : "Allow"));
cleanup:
	return rc;
}

int ztp_policy_explain(char **out, ztp_policy *p, const char *tenant,
		       const char *device, const char *client_id, int action,
		       const char *topic, size_t topic_len)
{
	json_object *o = NULL;
	psnap *s = NULL;
	ztp__preq r;
	ztp__ptopic t;
	char reason[512];
	const char *decision = "deny";
	uint32_t idx = ZTP__PX_NONE;
	int rc = ZTP_OK, erc, effect = ZTP__PX_DENY;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_ARG(p);
	ZTP_ARG(topic);
	ZTP_ARG(action >= 1 && action <= ZTP__PX_NACT);
	erc = req_init(&r, tenant, device, client_id, action, true);
	if (erc == ZTP_OK)
		erc = ztp__ptopic_split(&t, topic, topic_len,
					action == ZTP_POLICY_SUBSCRIBE);
	if (erc == ZTP_OK)
		erc = evaluate(&s, p, &r, &t, true);
	if (erc < 0) {
		snprintf(reason, sizeof(reason), "%s",
			 ztp_error_last_message());
	} else if (r.found[ZTP__PX_DENY]) {
		idx = r.best[ZTP__PX_DENY];
		snprintf(reason, sizeof(reason),
			 "explicitly denied by statement %u", idx);
	} else if (r.found[ZTP__PX_ALLOW]) {
		idx = r.best[ZTP__PX_ALLOW];
		effect = ZTP__PX_ALLOW;
		decision = "allow";
		snprintf(reason, sizeof(reason), "allowed by statement %u",
			 idx);
	} else if (r.act + 1 == ZTP_POLICY_SUBSCRIBE) {
		snprintf(reason, sizeof(reason),
			 "no Allow statement for subscribe covers every topic "
			 "this filter can match");
	} else {
		snprintf(reason, sizeof(reason),
			 "no Allow statement for %s matches",
			 action_names[r.act]);
	}
	o = json_object_new_object();
	ZTP_ENSURE(o, ZTP_ENOMEM, "policy: out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "decision", decision));
	ZTP_CHECK(add_stmt(o, s, idx, effect));
	ZTP_CHECK(ztp__json_add_str(o, "reason", reason));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(o);
	snap_put(s);
	return rc;
}

/* ----------------------------------------------------------------- identity */

static int map_verify_error(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return ZTP_EEXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return ZTP_EREVOKED;
	case X509_V_ERR_INVALID_PURPOSE:
		return ZTP_EPROFILE;
	default:
		return ZTP_EUNTRUSTED;
	}
}

static int cert_identity(char dev[ZTP_ID_MAX + 1], char ten[ZTP_ID_MAX + 1],
			 bool *has_tenant, ztp_policy *p, const char *pem,
			 size_t len)
{
	X509 *cert = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	int rc = ZTP_OK, err;

	*has_tenant = false;
	ZTP_ENSURE(p->ncas > 0, ZTP_ESTATE, "policy: no device CA configured");
	ZTP_CHECK(ztp__pem_cert(&cert, pem, len));
	ctx = X509_STORE_CTX_new();
	ZTP_ENSURE_OSSL(ctx, ZTP_ENOMEM, "policy: X509_STORE_CTX_new");
	ZTP_ENSURE_OSSL(X509_STORE_CTX_init(ctx, p->cas, cert, NULL) == 1,
			ZTP_ECRYPTO, "policy: X509_STORE_CTX_init");
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, (time_t)ztp__now(&p->clock));
	/* every certificate in the store was configured as a device CA, so
	 * any of them may end the path; nothing the client sends is added */
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN |
					    X509_V_FLAG_X509_STRICT);
	ZTP_ENSURE_OSSL(
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1,
	    ZTP_ECRYPTO, "policy: cannot set the purpose");
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		rc = ztp__err(map_verify_error(err),
			      "policy: client certificate not accepted: %s",
			      X509_verify_cert_error_string(err));
		goto cleanup;
	}
	ZTP_ENSURE(X509_check_ca(cert) == 0, ZTP_EPROFILE,
		   "policy: client certificate is a CA certificate");
	rc = ztp__cert_identity(dev, ten, cert, ZTP__IDENT_SAN_REQUIRED);
	if (rc < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", ztp_error_last_message());
		rc = ztp__err(rc, "policy: client certificate: %s", why);
		goto cleanup;
	}
	*has_tenant = ten[0] != '\0';
cleanup:
	X509_STORE_CTX_free(ctx);
	X509_free(cert);
	return rc;
}

int ztp_policy_cert_identity(char **device_out, char **tenant_out,
			     ztp_policy *p, const char *pem, size_t len)
{
	char dev[ZTP_ID_MAX + 1], ten[ZTP_ID_MAX + 1];
	char *d = NULL, *t = NULL;
	bool has_tenant = false;
	int rc = ZTP_OK;

	ZTP_ARG(device_out);
	ZTP_ARG(tenant_out);
	*device_out = *tenant_out = NULL;
	ZTP_ARG(p);
	ZTP_ARG(pem);
	ZTP_CHECK(cert_identity(dev, ten, &has_tenant, p, pem, len));
	d = ztp__strdup(dev);
	ZTP_ENSURE(d, ZTP_ENOMEM, "policy: out of memory");
	if (has_tenant) {
		t = ztp__strdup(ten);
		ZTP_ENSURE(t, ZTP_ENOMEM, "policy: out of memory");
	}
	*device_out = d;
	*tenant_out = t;
	d = t = NULL;
cleanup:
	free(d);
	free(t);
	return rc;
}

int ztp_policy_identity_from_cert(char **out, ztp_policy *p, const char *pem,
				  size_t len)
{
	char dev[ZTP_ID_MAX + 1], ten[ZTP_ID_MAX + 1];
	bool has_tenant = false;
	json_object *o = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_ARG(p);
	ZTP_ARG(pem);
	ZTP_CHECK(cert_identity(dev, ten, &has_tenant, p, pem, len));
	o = json_object_new_object();
	ZTP_ENSURE(o, ZTP_ENOMEM, "policy: out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "device", dev));
	if (has_tenant)
		ZTP_CHECK(ztp__json_add_str(o, "tenant", ten));
	else
		ZTP_CHECK(add_null(o, "tenant"));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(o);
	return rc;
}

/* --------------------------------------------------------------- namespaces */

int ztp_policy_namespace(char **out, const char *tenant, const char *device)
{
	char buf[3 * ZTP_ID_MAX + 64];
	json_object *o = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_ARG(tenant);
	ZTP_ARG(device);
	ZTP_CHECK(
	    ztp__id_check(tenant, strnlen(tenant, ZTP_ID_MAX + 1), "tenant"));
	ZTP_CHECK(
	    ztp__id_check(device, strnlen(device, ZTP_ID_MAX + 1), "device"));
	o = json_object_new_object();
	ZTP_ENSURE(o, ZTP_ENOMEM, "policy: out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "tenant", tenant));
	ZTP_CHECK(ztp__json_add_str(o, "device", device));
	snprintf(buf, sizeof(buf), "tenants/%s/devices/%s/", tenant, device);
	ZTP_CHECK(ztp__json_add_str(o, "prefix", buf));
	snprintf(buf, sizeof(buf), "tenants/%s/devices/%s/#", tenant, device);
	ZTP_CHECK(ztp__json_add_str(o, "filter", buf));
	snprintf(buf, sizeof(buf), "tenants/%s/broadcast/#", tenant);
	ZTP_CHECK(ztp__json_add_str(o, "broadcast", buf));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(o);
	return rc;
}

int ztp_policy_default_document(char **out)
{
	static const char doc[] =
	    "{\"version\":\"" POLICY_VERSION "\",\"statements\":["
	    "{\"sid\":\"connect-as-device\",\"effect\":\"Allow\","
	    "\"actions\":[\"connect\"],\"resources\":[\"${device}\"]},"
	    "{\"sid\":\"device-namespace\",\"effect\":\"Allow\","
	    "\"actions\":[\"publish\",\"subscribe\",\"receive\"],"
	    "\"resources\":[\"tenants/${tenant}/devices/${device}/#\"]},"
	    "{\"sid\":\"tenant-broadcast\",\"effect\":\"Allow\","
	    "\"actions\":[\"subscribe\",\"receive\"],"
	    "\"resources\":[\"tenants/${tenant}/broadcast/#\"]}]}";

	ZTP_ARG(out);
	*out = ztp__strdup(doc);
	return *out ? ZTP_OK : ZTP_ENOMEM;
}

/* ------------------------------------------------------------------- export */

#define AWS_ARN "arn:aws:iot:*:*:"

static int arr_add(json_object *arr, const char *str)
{
	json_object *v = json_object_new_string(str);

	if (!v || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		return ztp__err(ZTP_ENOMEM, "policy: out of memory");
	}
	return ZTP_OK;
}

/* Convert one resource to the AWS patterns with exactly the same meaning,
 * appending them to arr; ZTP_EUNSUPPORTED where there is none. */
static int aws_resource(json_object *arr, const char *kind, const char *r,
			const char *tenant, const char *what)
{
	ztp__buf b = {0};
	size_t len = strlen(r), pos = 0;
	char *s = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__buf_append_str(&b, AWS_ARN));
	ZTP_CHECK(ztp__buf_append_str(&b, kind));
	ZTP_CHECK(ztp__buf_append_byte(&b, '/'));
	for (;;) {
		const char *l = r + pos, *sl = memchr(l, '/', len - pos);
		size_t e = sl ? (size_t)(sl - r) : len, n = e - pos;

		if (n == 1 && l[0] == '#') {
			/* 'X/#' matches X and X/<anything>; AWS '*' also
			 * crosses levels, so the pair is exact, except at the
			 * first level where '#' must not reach '$' topics */
			ZTP_ENSURE(pos > 0, ZTP_EUNSUPPORTED,
				   "%s: a first-level '#' has no exact AWS "
				   "equivalent",
				   what);
			ZTP_CHECK(ztp__buf_terminate(&b));
			s = ztp__strndup((char *)b.data, b.len - 1);
			ZTP_ENSURE(s, ZTP_ENOMEM, "policy: out of memory");
			ZTP_CHECK(arr_add(arr, s));
			ZTP_CHECK(ztp__buf_append_byte(&b, '*'));
			break;
		}
		ZTP_ENSURE(!(n == 1 && l[0] == '+'), ZTP_EUNSUPPORTED,
			   "%s: '+' has no exact AWS equivalent ('*' also "
			   "matches across levels)",
			   what);
		if (n == 9 && memcmp(l, "${device}", 9) == 0) {
			ZTP_CHECK(ztp__buf_append_str(
			    &b, "${iot:Connection.Thing.ThingName}"));
		} else if (n == 9 && memcmp(l, "${tenant}", 9) == 0) {
			ZTP_CHECK(ztp__buf_append_str(&b, tenant));
		} else if (n == 12 && memcmp(l, "${client_id}", 12) == 0) {
			ZTP_CHECK(ztp__buf_append_str(&b, "${iot:ClientId}"));
		} else {
			ZTP_ENSURE(!memchr(l, '*', n) && !memchr(l, '?', n),
				   ZTP_EUNSUPPORTED,
				   "%s: AWS has no way to match a literal '*' "
				   "or '?'",
				   what);
			ZTP_CHECK(ztp__buf_append(&b, l, n));
		}
		if (e == len)
			break;
		ZTP_CHECK(ztp__buf_append_byte(&b, '/'));
		pos = e + 1;
	}
	ZTP_CHECK(ztp__buf_terminate(&b));
	ZTP_CHECK(arr_add(arr, (char *)b.data));
cleanup:
	free(s);
	ztp__buf_free(&b);
	return rc;
}

static int aws_statement(json_object *list, const pstmt *st, unsigned acts,
			 const char *kind, const char *tenant, const char *what)
{
	static const char *const aws_actions[ZTP__PX_NACT] = {
	    "iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"};
	json_object *o = NULL, *a = NULL, *r = NULL;
	size_t i;
	int rc = ZTP_OK;

	if (!(st->actions & acts))
		return ZTP_OK;
	o = json_object_new_object();
	a = json_object_new_array();
	r = json_object_new_array();
	ZTP_ENSURE(o && a && r, ZTP_ENOMEM, "policy: out of memory");
	for (i = 0; i < ZTP__PX_NACT; i++)
		if (st->actions & acts & (1u << i))
			ZTP_CHECK(arr_add(a, aws_actions[i]));
	for (i = 0; i < st->nres; i++)
		ZTP_CHECK(aws_resource(r, kind, st->res[i], tenant, what));
	ZTP_CHECK(ztp__json_add_str(
	    o, "Effect", st->effect == ZTP__PX_DENY ? "Deny" : "Allow"));
	ZTP_CHECK(ztp__json_add(o, "Action", a));
	a = NULL;
	ZTP_CHECK(ztp__json_add(o, "Resource", r));
	r = NULL;
	ZTP_ENSURE(json_object_array_add(list, o) == 0, ZTP_ENOMEM,
		   "policy: out of memory");
	o = NULL;
cleanup:
	json_object_put(o);
	json_object_put(a);
	json_object_put(r);
	return rc;
}

int ztp_policy_export(char **out, ztp_policy *p, const char *format,
		      const char *tenant)
{
	const unsigned connect = 1u << (ZTP_POLICY_CONNECT - 1),
		       topic = 1u << (ZTP_POLICY_PUBLISH - 1) |
			       1u << (ZTP_POLICY_RECEIVE - 1),
		       subscribe = 1u << (ZTP_POLICY_SUBSCRIBE - 1);
	json_object *doc = NULL, *list = NULL;
	psnap *s = NULL;
	char what[POLICY_SID_MAX + 64];
	size_t i;
	int rc = ZTP_OK;

	ZTP_ARG(out);
	*out = NULL;
	ZTP_ARG(p);
	ZTP_ARG(format);
	ZTP_ARG(tenant);
	ZTP_ENSURE(strcmp(format, "aws-iot") == 0, ZTP_EUNSUPPORTED,
		   "policy: unknown export format \"%.32s\" (expected "
		   "aws-iot)",
		   format);
	ZTP_CHECK(
	    ztp__id_check(tenant, strnlen(tenant, ZTP_ID_MAX + 1), "tenant"));
	ZTP_CHECK(snap_get(&s, p));
	ZTP_ENSURE(s, ZTP_ESTATE, "policy: no policy loaded");
	doc = json_object_new_object();
	list = json_object_new_array();
	ZTP_ENSURE(doc && list, ZTP_ENOMEM, "policy: out of memory");
	for (i = 0; i < s->nst; i++) {
		const pstmt *st = &s->st[i];

		if (st->sid)
			snprintf(what, sizeof(what), "statement %zu (%s)", i,
				 st->sid);
		else
			snprintf(what, sizeof(what), "statement %zu", i);
		/* MQTT denies a subscription that could overlap a Deny
		 * resource; AWS compares the filter text, which is narrower */
		ZTP_ENSURE(
		    !(st->effect == ZTP__PX_DENY && (st->actions & subscribe)),
		    ZTP_EUNSUPPORTED,
		    "%s: a Deny on subscribe has no exact AWS "
		    "equivalent",
		    what);
		ZTP_CHECK(
		    aws_statement(list, st, connect, "client", tenant, what));
		ZTP_CHECK(
		    aws_statement(list, st, topic, "topic", tenant, what));
		ZTP_CHECK(aws_statement(list, st, subscribe, "topicfilter",
					tenant, what));
	}
	ZTP_CHECK(ztp__json_add_str(doc, "Version", "2012-10-17"));
	ZTP_CHECK(ztp__json_add(doc, "Statement", list));
	list = NULL;
	ZTP_CHECK(ztp__json_dump(out, doc));
cleanup:
	json_object_put(list);
	json_object_put(doc);
	snap_put(s);
	return rc;
}
