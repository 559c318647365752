/*
 * libztp — the tamper-evident audit log (doc/AUDIT.md): signed
 * checkpoints of the store's event chain, its export as JSON lines, and
 * one verifier of the chain for the store and for an export alike.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The store chains every event as it appends it (core/audit.c defines
 * the encoding); this file signs the chain head every N events or T
 * seconds with the audit key, and walks chain and checkpoints to find the
 * first event that was modified, deleted, inserted or reordered.
 */
#include "verifier/internal.h"
#include "store/records.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* Events and checkpoints read from the store per page. */
#define PAGE 500
/* How far from its seq a reordered event is looked for. */
#define REORDER_WINDOW 1024
/* Most checkpoints one verification holds. */
#define CHECKPOINTS_MAX 1000000
/* An export line: an 8 KiB event escaped, hashes, framing. */
#define EXPORT_LINE_MAX (64 * 1024)

/* ---------------------------------------------------------------- key */

/*
 * Key sources: a reference names where the audit key lives. `file:PATH`
 * (or a bare path) is a PEM private key; a PKCS#11 layer adds its scheme
 * to this table, so that the audit key can stay in a token.
 */
typedef int (*key_source_fn)(EVP_PKEY **out, const char *ref);

static int load_file_key(EVP_PKEY **out, const char *path)
{
	char *pem = NULL;
	size_t len = 0;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__file_read(&pem, &len, path, ZTP_PEM_MAX));
	rc = ztp__pem_privkey(out, pem, len, NULL);
cleanup:
	if (pem != NULL)
		ztp__free_secret(pem, len);
	return rc;
}

static const struct {
	const char *scheme;
	key_source_fn load;
} key_sources[] = {
    {"file:", load_file_key},
};

static int load_key(EVP_PKEY **out, const char *ref)
{
	const char *colon = strchr(ref, ':');

	for (size_t i = 0; i < ZTP__ARRAY_LEN(key_sources); i++) {
		size_t n = strlen(key_sources[i].scheme);

		if (strncmp(ref, key_sources[i].scheme, n) == 0)
			return key_sources[i].load(out, ref + n);
	}
	/* A path: no scheme before the first '/'. */
	if (colon == NULL ||
	    (strchr(ref, '/') != NULL && strchr(ref, '/') < colon))
		return load_file_key(out, ref);
	return ztp__err(ZTP_EUNSUPPORTED,
			"audit key: no key source for \"%.*s\" in this build",
			(int)(colon - ref + 1), ref);
}

static int key_id(char out[65], EVP_PKEY *key)
{
	uint8_t fp[32];
	int rc = ztp__pubkey_fingerprint(fp, key);

	if (rc == ZTP_OK)
		ztp__hex_encode(out, fp, sizeof(fp));
	return rc;
}

int ztp_verifier_set_audit_key(ztp_verifier *v, const char *key_ref)
{
	EVP_PKEY *key = NULL;
	ztp__sigalg alg;
	char id[65];
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	if (key_ref != NULL) {
		ZTP_ARG(key_ref[0] != '\0');
		ZTP_CHECK(load_key(&key, key_ref));
		ZTP_CHECK(ztp__sigalg_for_key(&alg, key));
		ZTP_CHECK(key_id(id, key));
	}
	EVP_PKEY_free(v->audit_key);
	v->audit_key = key;
	key = NULL;
	if (v->audit_key != NULL) {
		v->audit_alg = alg;
		memcpy(v->audit_key_id, id, sizeof(id));
	}
	v->audit_known = false;
cleanup:
	EVP_PKEY_free(key);
	return rc;
}

int ztp_verifier_set_audit_checkpoint(ztp_verifier *v, int64_t every_events,
				      int64_t every_seconds)
{
	ZTP_ARG(v != NULL);
	ZTP_ARG(every_events >= 1 && every_events <= 1000000);
	ZTP_ARG(every_seconds >= 1 && every_seconds <= 86400);
	v->audit_every_events = every_events;
	v->audit_every_seconds = every_seconds;
	return ZTP_OK;
}

/* ---------------------------------------------------------------- checkpoint
 */

typedef struct last_event {
	int64_t seq;
	uint8_t hash[ZTP__AUDIT_HASH_LEN];
	size_t n;
} last_event;

static int last_fn(const ztp__store_event_view *e, void *arg)
{
	last_event *l = arg;

	l->seq = e->seq;
	memset(l->hash, 0, sizeof(l->hash));
	if (e->hash_len == ZTP__AUDIT_HASH_LEN)
		memcpy(l->hash, e->hash, sizeof(l->hash));
	l->n++;
	return ZTP_OK;
}

static int last_cp_fn(const ztp__store_checkpoint_view *c, void *arg)
{
	int64_t *seq = arg;

	*seq = c->seq;
	return ZTP_OK;
}

/* The newest event after seq `after` (l->seq stays `after` when none). */
static int head_after(ztp_store *store, int64_t after, last_event *l)
{
	int rc = ZTP_OK;

	l->seq = after;
	do {
		l->n = 0;
		ZTP_CHECK(
		    ztp__store_audit_events(store, l->seq, PAGE, last_fn, l));
	} while (l->n == PAGE);
cleanup:
	return rc;
}

/* Sign the head when it moved: every audit_every_events events or
 * audit_every_seconds seconds (force: now). Under audit_lock. */
static int checkpoint_locked(ztp_verifier *v, int64_t now, bool force)
{
	ztp__store_checkpoint_view cp;
	last_event head;
	ztp__buf msg = {0};
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int64_t last_cp;
	int rc = ZTP_OK;

	/* Events this process appended since its last look at the head:
	 * the store is read only when a checkpoint may be due. */
	if (!force && v->audit_known &&
	    ++v->audit_pending < v->audit_every_events &&
	    now - v->audit_cp_at < v->audit_every_seconds)
		goto cleanup;
	if (!v->audit_known) {
		/* The newest checkpoint of the store, once per process. */
		last_cp = 0;
		for (;;) {
			int64_t before = last_cp;

			ZTP_CHECK(ztp__store_audit_checkpoints(
			    v->store, last_cp, PAGE, last_cp_fn, &last_cp));
			if (last_cp == before)
				break;
		}
		v->audit_cp_seq = last_cp;
		v->audit_cp_at = now;
		v->audit_known = true;
	}
	ZTP_CHECK(head_after(v->store, v->audit_cp_seq, &head));
	v->audit_pending = (int64_t)(head.seq - v->audit_cp_seq);
	if (head.seq == v->audit_cp_seq)
		goto cleanup; /* nothing new */
	if (!force && head.seq - v->audit_cp_seq < v->audit_every_events &&
	    now - v->audit_cp_at < v->audit_every_seconds)
		goto cleanup;
	ZTP_CHECK(ztp__audit_checkpoint_msg(&msg, head.seq, head.hash, now));
	ZTP_CHECK(ztp__sig_sign(&sig, &siglen, v->audit_key, v->audit_alg,
				msg.data, msg.len));
	cp.seq = head.seq;
	cp.at = now;
	cp.head = head.hash;
	cp.head_len = sizeof(head.hash);
	cp.sig = sig;
	cp.sig_len = siglen;
	cp.key_id = v->audit_key_id;
	ZTP_CHECK(ztp__store_audit_checkpoint_add(v->store, &cp));
	v->audit_cp_seq = head.seq;
	v->audit_cp_at = now;
	v->audit_pending = 0;
cleanup:
	ztp__buf_free(&msg);
	free(sig);
	return rc;
}

void ztp__audit_appended(ztp_verifier *v, int64_t now)
{
	if (v->audit_key == NULL || v->store == NULL)
		return;
	pthread_mutex_lock(&v->audit_lock);
	/* The event is durable already; a checkpoint that fails is made
	 * with a later one, and the failure shows in the metrics. */
	if (checkpoint_locked(v, now, false) < 0) {
		ztp__metrics_store_error(v, ZTP__M_STORE_EVENT);
		ztp_error_clear();
	}
	pthread_mutex_unlock(&v->audit_lock);
}

int ztp_verifier_audit_checkpoint(ztp_verifier *v)
{
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	ZTP_ENSURE(v->audit_key != NULL, ZTP_ESTATE, "no audit key");
	pthread_mutex_lock(&v->audit_lock);
	rc = checkpoint_locked(v, ztp__now(&v->clock), true);
	pthread_mutex_unlock(&v->audit_lock);
cleanup:
	return rc;
}

/* ---------------------------------------------------------------- verify */

typedef struct checkpoint {
	int64_t seq, at;
	uint8_t head[ZTP__AUDIT_HASH_LEN];
	uint8_t *sig;
	size_t sig_len;
	bool bad; /* unreadable as stored */
} checkpoint;

/* One walk of a chain, fed events in seq order after every checkpoint. */
typedef struct walk {
	EVP_PKEY *pub;
	ztp__sigalg alg;
	int64_t from;
	checkpoint *cps;
	size_t n_cps, cap_cps, next_cp;
	/* progress */
	int64_t n_events, first_seq, last_seq, expect;
	uint8_t head[ZTP__AUDIT_HASH_LEN], before[ZTP__AUDIT_HASH_LEN];
	bool started;
	int64_t last_cp_ok; /* seq of the newest checkpoint that verified */
	/* paging through the store */
	int64_t cursor;
	size_t page_n;
	/* the first problem */
	const char *kind;
	int64_t at_seq;
	char message[256];
} walk;

static void problem(walk *w, const char *kind, int64_t seq, const char *fmt,
		    ...) ZTP__PRINTF(4, 5);
static void problem(walk *w, const char *kind, int64_t seq, const char *fmt,
		    ...)
{
	va_list ap;

	if (w->kind != NULL)
		return;
	w->kind = kind;
	w->at_seq = seq;
	va_start(ap, fmt);
	vsnprintf(w->message, sizeof(w->message), fmt, ap);
	va_end(ap);
}

static int add_checkpoint(walk *w, const ztp__store_checkpoint_view *c)
{
	checkpoint *cp;

	if (c->seq <= w->from)
		return ZTP_OK;
	if (w->n_cps == w->cap_cps) {
		size_t cap = w->cap_cps ? w->cap_cps * 2 : 16;

		if (cap > CHECKPOINTS_MAX)
			return ztp__err(ZTP_ETOOBIG,
					"audit: over %d checkpoints",
					CHECKPOINTS_MAX);
		cp = ztp__realloc(w->cps, cap * sizeof(*cp));
		if (cp == NULL)
			return ztp__err(ZTP_ENOMEM, "out of memory");
		w->cps = cp;
		w->cap_cps = cap;
	}
	cp = &w->cps[w->n_cps];
	memset(cp, 0, sizeof(*cp));
	cp->seq = c->seq;
	cp->at = c->at;
	cp->bad = c->head_len != ZTP__AUDIT_HASH_LEN || c->sig_len == 0;
	if (!cp->bad)
		memcpy(cp->head, c->head, sizeof(cp->head));
	if (c->sig_len > 0) {
		cp->sig = ztp__memdup(c->sig, c->sig_len);
		if (cp->sig == NULL)
			return ztp__err(ZTP_ENOMEM, "out of memory");
		cp->sig_len = c->sig_len;
	}
	w->n_cps++;
	return ZTP_OK;
}

static int cp_store_fn(const ztp__store_checkpoint_view *c, void *arg)
{
	walk *w = arg;

	w->cursor = c->seq;
	w->page_n++;
	return add_checkpoint(w, c);
}

/* Check the checkpoint at w->cps[w->next_cp] against the head after its
 * seq's event. */
static int check_checkpoint(walk *w, const checkpoint *cp)
{
	ztp__buf msg = {0};
	int rc = ZTP_OK, v;

	if (cp->bad) {
		problem(w, "bad_checkpoint", cp->seq,
			"the checkpoint at seq %lld is not readable",
			(long long)cp->seq);
		goto cleanup;
	}
	ZTP_CHECK(ztp__audit_checkpoint_msg(&msg, cp->seq, cp->head, cp->at));
	v = ztp__sig_verify(w->pub, w->alg, msg.data, msg.len, cp->sig,
			    cp->sig_len);
	if (v == ZTP_EBADSIG) {
		ztp_error_clear();
		problem(w, "forged_checkpoint", cp->seq,
			"the checkpoint at seq %lld is not signed by the "
			"audit key",
			(long long)cp->seq);
		goto cleanup;
	}
	ZTP_CHECK(v);
	if (CRYPTO_memcmp(cp->head, w->head, sizeof(w->head)) != 0) {
		problem(w, "modified", cp->seq,
			"the chain up to seq %lld is not the one signed at "
			"that checkpoint: an event after seq %lld was changed "
			"and the hashes after it recomputed",
			(long long)cp->seq, (long long)w->last_cp_ok);
		goto cleanup;
	}
	w->last_cp_ok = cp->seq;
cleanup:
	ztp__buf_free(&msg);
	return rc;
}

/* Check the checkpoints up to seq against the head, which is that of
 * seq: those of earlier seqs were of events not seen (before from). */
static int checkpoints_upto(walk *w, int64_t seq)
{
	while (w->kind == NULL && w->next_cp < w->n_cps &&
	       w->cps[w->next_cp].seq <= seq) {
		const checkpoint *cp = &w->cps[w->next_cp++];

		if (cp->seq == seq && w->started) {
			int rc = check_checkpoint(w, cp);

			if (rc < 0)
				return rc;
		}
	}
	return ZTP_OK;
}

static bool self_consistent(const ztp__store_event_view *e, int64_t seq)
{
	uint8_t h[ZTP__AUDIT_HASH_LEN];

	return e->prev_len == ZTP__AUDIT_HASH_LEN &&
	       e->hash_len == ZTP__AUDIT_HASH_LEN &&
	       ztp__audit_hash(h, e->prev, seq, e->at, e->json, e->json_len) ==
		   ZTP_OK &&
	       memcmp(h, e->hash, sizeof(h)) == 0;
}

static int feed_event(walk *w, const ztp__store_event_view *e)
{
	if (w->kind != NULL)
		return ZTP_OK;
	if (!w->started) {
		w->started = true;
		w->first_seq = e->seq;
		w->expect = e->seq;
		if (w->from == 0 && e->seq != 1)
			problem(w, "deleted", 1, "events 1 to %lld are missing",
				(long long)e->seq - 1);
		/* Before the first event seen, trust what it says came
		 * before (genesis from the start: checked below). */
		if (e->prev_len == ZTP__AUDIT_HASH_LEN)
			memcpy(w->head, e->prev, sizeof(w->head));
		if (w->from == 0 && e->seq == 1)
			memcpy(w->head, ztp__audit_genesis, sizeof(w->head));
		memcpy(w->before, w->head, sizeof(w->head));
	}
	if (e->seq > w->expect) {
		problem(w, "deleted", w->expect,
			"event %lld is missing (the next is %lld)",
			(long long)w->expect, (long long)e->seq);
		return ZTP_OK;
	}
	if (!self_consistent(e, e->seq)) {
		/* Written as the event before, and following the one two
		 * back: the event in between was put in, and the rest
		 * renumbered around it. */
		if (w->n_events > 0 && self_consistent(e, e->seq - 1) &&
		    memcmp(e->prev, w->before, sizeof(w->before)) == 0) {
			problem(w, "inserted", e->seq - 1,
				"event %lld was inserted: the events after "
				"it were renumbered",
				(long long)e->seq - 1);
			return ZTP_OK;
		}
		for (int64_t d = 1; d <= REORDER_WINDOW; d++) {
			int64_t cand[2] = {e->seq - d, e->seq + d};

			for (int k = 0; k < 2; k++)
				if (cand[k] > 0 &&
				    self_consistent(e, cand[k])) {
					problem(w, "reordered", e->seq,
						"the event at seq %lld was "
						"written as event %lld",
						(long long)e->seq,
						(long long)cand[k]);
					return ZTP_OK;
				}
		}
		problem(w, "modified", e->seq,
			"event %lld does not match its hash",
			(long long)e->seq);
		return ZTP_OK;
	}
	if (memcmp(e->prev, w->head, sizeof(w->head)) != 0) {
		if (w->n_events > 0 &&
		    memcmp(e->prev, w->before, sizeof(w->before)) == 0)
			problem(w, "inserted", e->seq - 1,
				"event %lld was inserted: event %lld follows "
				"the one before it",
				(long long)e->seq - 1, (long long)e->seq);
		else
			problem(w, "modified", e->seq - 1,
				"event %lld was replaced: event %lld does not "
				"follow it",
				(long long)e->seq - 1, (long long)e->seq);
		return ZTP_OK;
	}
	/* e links to the head: a checkpoint of e - 1 is checked now, after
	 * that link, so that a forged event is reported as inserted by the
	 * event after it rather than as a checkpoint that differs. */
	if (checkpoints_upto(w, e->seq - 1) < 0)
		return ztp__err(ZTP_EINTERNAL, "audit: %s",
				ztp_error_last_message());
	if (w->kind != NULL)
		return ZTP_OK;
	memcpy(w->before, w->head, sizeof(w->head));
	memcpy(w->head, e->hash, sizeof(w->head));
	w->last_seq = e->seq;
	w->expect = e->seq + 1;
	w->n_events++;
	return ZTP_OK;
}

static int ev_store_fn(const ztp__store_event_view *e, void *arg)
{
	walk *w = arg;

	w->cursor = e->seq;
	w->page_n++;
	return feed_event(w, e);
}

static int report(walk *w, char **out)
{
	json_object *o = NULL, *p = NULL;
	int64_t last_cp = w->n_cps > 0 ? w->cps[w->n_cps - 1].seq : 0;
	int rc = ZTP_OK;

	if (w->kind == NULL && w->started)
		ZTP_CHECK(checkpoints_upto(w, w->last_seq));
	if (w->kind == NULL && last_cp > w->last_seq)
		problem(w, "truncated", w->last_seq + 1,
			"the log ends at seq %lld but a checkpoint signed seq "
			"%lld: events after %lld were deleted",
			(long long)w->last_seq, (long long)last_cp,
			(long long)w->last_seq);
	o = json_object_new_object();
	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "result", w->kind ? "tampered" : "ok"));
	ZTP_CHECK(ztp__json_add_int(o, "events", w->n_events));
	ZTP_CHECK(ztp__json_add_int(o, "first_seq", w->first_seq));
	ZTP_CHECK(ztp__json_add_int(o, "last_seq", w->last_seq));
	ZTP_CHECK(ztp__json_add_int(o, "checkpoints", (int64_t)w->n_cps));
	ZTP_CHECK(ztp__json_add_int(o, "last_checkpoint", w->last_cp_ok));
	/* Chained but not yet signed: a truncation of these is not
	 * detectable (doc/AUDIT.md). */
	ZTP_CHECK(ztp__json_add_int(o, "unsigned_events",
				    w->kind ? 0 : w->last_seq - w->last_cp_ok));
	if (w->kind != NULL) {
		p = json_object_new_object();
		ZTP_ENSURE(p != NULL, ZTP_ENOMEM, "out of memory");
		ZTP_CHECK(ztp__json_add_str(p, "kind", w->kind));
		ZTP_CHECK(ztp__json_add_int(p, "seq", w->at_seq));
		ZTP_CHECK(ztp__json_add_str(p, "message", w->message));
		ZTP_CHECK(ztp__json_add(o, "problem", p));
		p = NULL;
	}
	ZTP_CHECK(ztp__json_dump(out, o));
	rc = w->kind ? ztp__err(ZTP_EMISMATCH, "audit log: %s", w->message)
		     : ZTP_OK;
cleanup:
	json_object_put(p);
	json_object_put(o);
	return rc;
}

static void walk_free(walk *w)
{
	for (size_t i = 0; i < w->n_cps; i++)
		free(w->cps[i].sig);
	free(w->cps);
	EVP_PKEY_free(w->pub);
}

static int public_key(EVP_PKEY **out, const char *pem, size_t len)
{
	BIO *b;

	ZTP_ARG(len <= ZTP_PEM_MAX);
	b = BIO_new_mem_buf(pem, (int)len);
	if (b == NULL)
		return ztp__err(ZTP_ENOMEM, "out of memory");
	*out = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (*out == NULL)
		return ztp__err_ossl(ZTP_EPARSE, "audit public key");
	return ZTP_OK;
}

static int walk_init(walk *w, int64_t from, EVP_PKEY *key, const char *pem,
		     size_t len)
{
	int rc = ZTP_OK;

	memset(w, 0, sizeof(*w));
	w->from = from;
	w->last_seq = from;
	w->last_cp_ok = from;
	if (pem != NULL) {
		ZTP_CHECK(public_key(&w->pub, pem, len));
	} else {
		ZTP_ENSURE(key != NULL, ZTP_ESTATE,
			   "no audit key and no public key given");
		ZTP_ENSURE_OSSL(EVP_PKEY_up_ref(key) == 1, ZTP_ECRYPTO,
				"audit key");
		w->pub = key;
	}
	ZTP_CHECK(ztp__sigalg_for_key(&w->alg, w->pub));
cleanup:
	return rc;
}

int ztp_verifier_audit_verify(ztp_verifier *v, int64_t from,
			      const char *pubkey_pem, size_t pubkey_len,
			      char **report_json)
{
	walk w = {0};
	int rc = ZTP_OK;

	ZTP_ARG(report_json != NULL);
	*report_json = NULL;
	ZTP_ARG(v != NULL);
	ZTP_ARG(from >= 0);
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	ZTP_CHECK(walk_init(&w, from, v->audit_key, pubkey_pem, pubkey_len));
	/* Checkpoints first, then the events in pages. */
	w.cursor = from;
	do {
		w.page_n = 0;
		ZTP_CHECK(ztp__store_audit_checkpoints(v->store, w.cursor, PAGE,
						       cp_store_fn, &w));
	} while (w.page_n == PAGE);
	w.cursor = from;
	do {
		w.page_n = 0;
		ZTP_CHECK(ztp__store_audit_events(v->store, w.cursor, PAGE,
						  ev_store_fn, &w));
	} while (w.kind == NULL && w.page_n == PAGE);
	rc = report(&w, report_json);
cleanup:
	walk_free(&w);
	return rc;
}

/* ---------------------------------------------------------------- export */

static int hex_field(json_object *o, const char *key, const uint8_t *p,
		     size_t len)
{
	char hex[2 * ZTP__STORE_SIG_MAX + 1];

	if (len > ZTP__STORE_SIG_MAX)
		len = ZTP__STORE_SIG_MAX;
	ztp__hex_encode(hex, p, len);
	return ztp__json_add_str(o, key, hex);
}

static int emit_line(ztp__buf *out, json_object *o)
{
	char *text = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_dump(&text, o));
	ZTP_CHECK(ztp__buf_append_str(out, text));
	ZTP_CHECK(ztp__buf_append_byte(out, '\n'));
cleanup:
	free(text);
	return rc;
}

static int export_cp_fn(const ztp__store_checkpoint_view *c, void *arg)
{
	ztp__buf *out = arg;
	json_object *o = json_object_new_object();
	char *sig = NULL;
	int rc = ZTP_OK;

	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "type", "checkpoint"));
	ZTP_CHECK(ztp__json_add_int(o, "seq", c->seq));
	ZTP_CHECK(ztp__json_add_int(o, "at", c->at));
	ZTP_CHECK(hex_field(o, "head", c->head, c->head_len));
	ZTP_CHECK(ztp__b64_encode(&sig, c->sig, c->sig_len));
	ZTP_CHECK(ztp__json_add_str(o, "sig", sig));
	ZTP_CHECK(ztp__json_add_str(o, "key_id", c->key_id));
	ZTP_CHECK(emit_line(out, o));
cleanup:
	ztp_free(sig);
	json_object_put(o);
	return rc;
}

typedef struct export_ev {
	ztp__buf *out;
	int64_t last;
} export_ev;

static int export_ev_fn(const ztp__store_event_view *e, void *arg)
{
	export_ev *x = arg;
	json_object *o = json_object_new_object();
	int rc = ZTP_OK;

	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "type", "event"));
	ZTP_CHECK(ztp__json_add_int(o, "seq", e->seq));
	ZTP_CHECK(ztp__json_add_int(o, "at", e->at));
	/* The stored text, as a string: hashed byte for byte. */
	ZTP_CHECK(ztp__json_add_str(o, "json", e->json));
	ZTP_CHECK(hex_field(o, "prev", e->prev, e->prev_len));
	ZTP_CHECK(hex_field(o, "hash", e->hash, e->hash_len));
	ZTP_CHECK(emit_line(x->out, o));
	x->last = e->seq;
cleanup:
	json_object_put(o);
	return rc;
}

typedef struct export_cp {
	ztp__buf *out;
	int64_t last;
	size_t n;
} export_cp;

static int export_cp_page_fn(const ztp__store_checkpoint_view *c, void *arg)
{
	export_cp *x = arg;

	x->last = c->seq;
	x->n++;
	return export_cp_fn(c, x->out);
}

int ztp_verifier_audit_export(ztp_verifier *v, int64_t from, char **jsonl)
{
	ztp__buf out = {0};
	export_cp c = {&out, from, 0};
	export_ev e = {&out, from};
	int64_t cursor;
	int rc = ZTP_OK;

	ZTP_ARG(jsonl != NULL);
	*jsonl = NULL;
	ZTP_ARG(v != NULL);
	ZTP_ARG(from >= 0);
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	do {
		c.n = 0;
		ZTP_CHECK(ztp__store_audit_checkpoints(v->store, c.last, PAGE,
						       export_cp_page_fn, &c));
	} while (c.n == PAGE);
	do {
		cursor = e.last;
		ZTP_CHECK(ztp__store_audit_events(v->store, cursor, PAGE,
						  export_ev_fn, &e));
	} while (e.last - cursor == PAGE);
	ZTP_CHECK(ztp__buf_terminate(&out));
	*jsonl = (char *)ztp__buf_steal(&out, NULL);
cleanup:
	ztp__buf_free(&out);
	return rc;
}

/* ---------------------------------------------------------------- offline */

/* A hex field of a line into buf (cap bytes): *len, or 0 when it is not
 * hex (the line is then checked as a tampered row would be). */
static int line_hex(json_object *o, const char *key, uint8_t *buf, size_t cap,
		    size_t *len)
{
	const char *s = NULL;
	size_t n = 0;
	int rc = ztp__json_str(o, key, true, 2 * cap, &s, &n);

	if (rc < 0)
		return rc;
	if (ztp__hex_decode(buf, cap, len, s, n) < 0) {
		ztp_error_clear();
		*len = 0;
	}
	return ZTP_OK;
}

static int line_int(json_object *o, const char *key, int64_t *out)
{
	json_object *val;

	if (!json_object_object_get_ex(o, key, &val) ||
	    !json_object_is_type(val, json_type_int))
		return ztp__err(ZTP_EPARSE, "audit export: no integer \"%s\"",
				key);
	*out = json_object_get_int64(val);
	return ZTP_OK;
}

static int feed_line(walk *w, const char *line, size_t len, size_t lineno,
		     bool *events_started)
{
	json_object *o = NULL;
	const char *type = NULL, *text = NULL, *kid = NULL, *sig64 = NULL;
	uint8_t a[ZTP__AUDIT_HASH_LEN], b[ZTP__AUDIT_HASH_LEN];
	uint8_t *sig = NULL;
	size_t alen = 0, blen = 0, tlen = 0, siglen = 0, slen = 0;
	int rc = ZTP_OK;

	rc = ztp__json_parse(&o, line, len, EXPORT_LINE_MAX, 3);
	if (rc < 0 || !json_object_is_type(o, json_type_object)) {
		rc = ztp__err(ZTP_EPARSE,
			      "audit export: line %zu is not a "
			      "JSON object",
			      lineno);
		goto cleanup;
	}
	ZTP_CHECK(ztp__json_str(o, "type", true, 16, &type, NULL));
	if (strcmp(type, "checkpoint") == 0) {
		ztp__store_checkpoint_view c = {0};

		ZTP_ENSURE(!*events_started, ZTP_EPARSE,
			   "audit export: line %zu: checkpoints come before "
			   "the events",
			   lineno);
		ZTP_CHECK(line_int(o, "seq", &c.seq));
		ZTP_CHECK(line_int(o, "at", &c.at));
		ZTP_CHECK(line_hex(o, "head", a, sizeof(a), &alen));
		ZTP_CHECK(ztp__json_str(o, "sig", true, 4 * ZTP__STORE_SIG_MAX,
					&sig64, &slen));
		ZTP_CHECK(ztp__json_str(o, "key_id", true, 128, &kid, NULL));
		if (ztp__b64_decode(&sig, &siglen, sig64, slen) < 0) {
			ztp_error_clear();
			siglen = 0;
		}
		c.head = a;
		c.head_len = alen;
		c.sig = sig;
		c.sig_len = siglen;
		c.key_id = kid;
		ZTP_CHECK(add_checkpoint(w, &c));
	} else if (strcmp(type, "event") == 0) {
		ztp__store_event_view e = {0};

		*events_started = true;
		ZTP_CHECK(line_int(o, "seq", &e.seq));
		ZTP_CHECK(line_int(o, "at", &e.at));
		ZTP_CHECK(ztp__json_str(o, "json", true, EXPORT_LINE_MAX, &text,
					&tlen));
		ZTP_CHECK(line_hex(o, "prev", a, sizeof(a), &alen));
		ZTP_CHECK(line_hex(o, "hash", b, sizeof(b), &blen));
		e.json = text;
		e.json_len = tlen;
		e.prev = a;
		e.prev_len = alen;
		e.hash = b;
		e.hash_len = blen;
		if (e.seq > w->from)
			ZTP_CHECK(feed_event(w, &e));
	} else {
		rc = ztp__err(ZTP_EPARSE,
			      "audit export: line %zu: unknown "
			      "type",
			      lineno);
	}
cleanup:
	free(sig);
	json_object_put(o);
	return rc;
}

int ztp_verifier_audit_verify_export(const char *jsonl, size_t len,
				     int64_t from, const char *pubkey_pem,
				     size_t pubkey_len, char **report_json)
{
	walk w = {0};
	size_t start = 0, lineno = 0;
	bool events = false;
	int rc = ZTP_OK;

	ZTP_ARG(report_json != NULL);
	*report_json = NULL;
	ZTP_ARG(jsonl != NULL || len == 0);
	ZTP_ARG(pubkey_pem != NULL);
	ZTP_ARG(from >= 0);
	ZTP_CHECK(walk_init(&w, from, NULL, pubkey_pem, pubkey_len));
	while (start < len && w.kind == NULL) {
		const char *nl = memchr(jsonl + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - jsonl) : len;

		lineno++;
		if (end > start)
			ZTP_CHECK(feed_line(&w, jsonl + start, end - start,
					    lineno, &events));
		start = end + 1;
	}
	rc = report(&w, report_json);
cleanup:
	walk_free(&w);
	return rc;
}
