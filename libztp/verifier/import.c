/*
 * libztp — bulk enrollment from a file of JSON lines
 * (ztp_verifier_import), and the inventory calls that read the registry
 * a page at a time.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One pass over the input with one line in memory at a time; devices are
 * committed in chunks, one store transaction each. The claim codes of a
 * chunk are written to the claims file and fsynced from inside that
 * transaction, before it commits (ztp_store_backend::device_enroll calls
 * back for it): a device is never enrolled with a code that is not on
 * disk. A code of a chunk whose commit then fails matches nothing, and
 * the run says so.
 */
#include "verifier/internal.h"

#include "store/records.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

/* ------------------------------------------------------------ one line */

void ztp__import_rec_clear(ztp__import_rec *r)
{
	X509_free(r->cert);
	ztp_free(r->model);
	ztp_free(r->batch);
	memset(r, 0, sizeof(*r));
	r->manufactured_at = -1;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* An optional text member (model, batch) copied into *out. */
static int text_member(json_object *o, const char *key, char **out)
{
	const char *s = NULL;
	size_t len = 0;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_str(o, key, false, ZTP_BULK_LINE_MAX, &s, &len));
	if (s == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__store_check_text(s, key));
	*out = ztp__strndup(s, len);
	ZTP_ENSURE(*out != NULL, ZTP_ENOMEM, "out of memory");
cleanup:
	return rc;
}

int ztp__import_line(ztp__import_rec *r, const char *line, size_t len)
{
	static const char *const keys[] = {
	    "device_id", "factory_cert",    "fingerprint", "model",
	    "batch",	 "manufactured_at", "serial",	   NULL};
	const char *id = NULL, *pem = NULL, *fpr = NULL, *when = NULL,
		   *serial = NULL;
	size_t idlen = 0, pemlen = 0, fprlen = 0, i;
	json_object *o = NULL;
	int rc = ZTP_OK;

	ZTP_ARG(r != NULL && (line != NULL || len == 0));
	ZTP_ENSURE(len <= ZTP_BULK_LINE_MAX, ZTP_ETOOBIG, "line: over %d bytes",
		   ZTP_BULK_LINE_MAX);
	/* An object of strings: depth 1. */
	ZTP_CHECK(ztp__json_parse(&o, line, len, ZTP_BULK_LINE_MAX, 1));
	ZTP_ENSURE(json_object_is_type(o, json_type_object), ZTP_EPARSE,
		   "line: not a JSON object");
	ZTP_CHECK(ztp__json_only_keys(o, keys, "line"));
	ZTP_CHECK(ztp__json_str(o, "device_id", true, ZTP_ID_MAX, &id, &idlen));
	ZTP_CHECK(ztp__id_check(id, idlen, "device_id"));
	memcpy(r->device_id, id, idlen + 1);
	ZTP_CHECK(ztp__json_str(o, "factory_cert", false, ZTP_BULK_LINE_MAX,
				&pem, &pemlen));
	ZTP_CHECK(ztp__json_str(o, "fingerprint", false, 64, &fpr, &fprlen));
	ZTP_ENSURE((pem != NULL) != (fpr != NULL), ZTP_EINVAL,
		   "line: need exactly one of factory_cert and fingerprint");
	if (fpr != NULL) {
		ZTP_ENSURE(fprlen == 64, ZTP_EINVAL,
			   "fingerprint: need 64 hex digits (SHA-256 of the "
			   "certificate DER)");
		for (i = 0; i < fprlen; i++) {
			ZTP_ENSURE(is_hex(fpr[i]), ZTP_EINVAL,
				   "fingerprint: not hex at offset %zu", i);
			r->fingerprint[i] =
			    (char)(fpr[i] >= 'A' && fpr[i] <= 'F'
				       ? fpr[i] - 'A' + 'a'
				       : fpr[i]);
		}
		r->fingerprint[64] = '\0';
	} else {
		ZTP_CHECK(ztp__pem_cert(&r->cert, pem, pemlen));
	}
	ZTP_CHECK(text_member(o, "model", &r->model));
	ZTP_CHECK(text_member(o, "batch", &r->batch));
	ZTP_CHECK(ztp__json_str(o, "manufactured_at", false, 64, &when, NULL));
	if (when != NULL) {
		ZTP_CHECK(ztp__time_parse(&r->manufactured_at, when));
		ZTP_ENSURE(r->manufactured_at >= 0, ZTP_EINVAL,
			   "manufactured_at: before 1970");
	}
	/* Carried by ztp-ca issue-bulk output; the registry learns serials
	 * from the certificates it records itself. */
	ZTP_CHECK(ztp__json_str(o, "serial", false, 64, &serial, NULL));
cleanup:
	json_object_put(o);
	return rc;
}

/* ------------------------------------------------------------ a run */

/* One device of the chunk being built, with the storage its
 * ztp_store_enrollment points into. */
typedef struct slot {
	char device_id[ZTP_ID_MAX + 1];
	char fingerprint[65];
	char code[ZTP__CLAIM_DISPLAY_LEN + 1]; /* a secret */
	uint8_t hash[32];
	char *model, *batch;
	unsigned char *key; /* SPKI DER, OPENSSL_free */
	int key_len;
	uint64_t line;
} slot;

typedef struct run {
	ztp_verifier *v;
	const char *claims_path;
	int claims_fd;
	size_t chunk;
	slot *slots;
	ztp_store_enrollment *recs;
	int *results;
	size_t n;     /* slots in use */
	ztp__buf out; /* claims lines of one chunk (secret) */
	uint64_t lines, enrolled, skipped, refused;
	json_object *refusals;
	int64_t now;
} run;

static void slot_clear(slot *s)
{
	ztp_free(s->model);
	ztp_free(s->batch);
	OPENSSL_free(s->key);
	OPENSSL_cleanse(s, sizeof(*s));
}

static int refuse(run *r, uint64_t line, const char *device_id, int code,
		  const char *message)
{
	r->refused++;
	return ztp__line_refusal(r->refusals, line, device_id, code, message);
}

/* Refuse with the thread's last error as the message. */
static int refuse_last(run *r, uint64_t line, const char *device_id, int code)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", ztp_error_last_message());
	return refuse(r, line, device_id, code, msg);
}

/* The store's callback: the codes of the devices this chunk enrolls, on
 * disk before their hashes are committed. */
static int write_codes(void *arg, const int *results)
{
	run *r = arg;
	size_t i;
	int rc = ZTP_OK;

	r->out.len = 0;
	for (i = 0; i < r->n; i++) {
		if (results[i] != ZTP_OK)
			continue;
		ZTP_CHECK(ztp__buf_append_str(&r->out, r->slots[i].device_id));
		ZTP_CHECK(ztp__buf_append_byte(&r->out, ' '));
		ZTP_CHECK(ztp__buf_append_str(&r->out, r->slots[i].code));
		ZTP_CHECK(ztp__buf_append_byte(&r->out, '\n'));
	}
	if (r->out.len > 0)
		ZTP_CHECK(ztp__file_append_sync(r->claims_fd, r->out.data,
						r->out.len, r->claims_path));
cleanup:
	if (r->out.data != NULL)
		OPENSSL_cleanse(r->out.data, r->out.len);
	return rc;
}

/* Commit the chunk and count its outcome. */
static int flush(run *r)
{
	size_t i;
	int rc = ZTP_OK;

	if (r->n == 0)
		return ZTP_OK;
	ZTP_CHECK(ztp__store_device_enroll(r->v->store, r->recs, r->n,
					   r->results, write_codes, r));
	for (i = 0; i < r->n; i++) {
		if (r->results[i] == ZTP_OK)
			r->enrolled++;
		else if (r->results[i] == ZTP_EEXISTS)
			r->skipped++;
		else
			ZTP_CHECK(refuse(r, r->slots[i].line,
					 r->slots[i].device_id, ZTP_EEXISTS,
					 "already enrolled with another "
					 "factory certificate"));
	}
cleanup:
	for (i = 0; i < r->n; i++)
		slot_clear(&r->slots[i]);
	r->n = 0;
	return rc;
}

/* A parsed line into the next slot: the certificate checked as
 * ztp_verifier_enroll() checks it, a claim code made. A refusal of the
 * line is ZTP_OK with *refused set and its detail the thread's error. */
static int add(run *r, ztp__import_rec *rec, uint64_t line, bool *refused)
{
	slot *s = &r->slots[r->n];
	ztp_store_enrollment *e = &r->recs[r->n];
	char id[ZTP_ID_MAX + 1];
	uint8_t fp[32];
	ztp__vdec d;
	int rc = ZTP_OK;

	*refused = false;
	memset(s, 0, sizeof(*s));
	if (rec->cert != NULL) {
		ztp__vdec_init(&d);
		rc = ztp__verifier_identity(r->v, &d, rec->cert, NULL, r->now,
					    id);
		if (rc < 0) {
			(void)ztp__err(rc,
				       "factory certificate refused (%s): %s",
				       ztp__wire_name(d.wire), d.message);
			*refused = true;
			return rc;
		}
		if (strcmp(id, rec->device_id) != 0) {
			*refused = true;
			return ztp__err(ZTP_EMISMATCH,
					"factory certificate names device %s, "
					"not %s",
					id, rec->device_id);
		}
		ZTP_CHECK(ztp__cert_fingerprint(fp, rec->cert));
		ztp__hex_encode(s->fingerprint, fp, sizeof(fp));
		s->key_len =
		    i2d_X509_PUBKEY(X509_get_X509_PUBKEY(rec->cert), &s->key);
		ZTP_ENSURE_OSSL(s->key_len > 0, ZTP_ENOMEM, "factory key");
	} else {
		memcpy(s->fingerprint, rec->fingerprint,
		       sizeof(s->fingerprint));
	}
	memcpy(s->device_id, rec->device_id, sizeof(s->device_id));
	s->model = rec->model;
	s->batch = rec->batch;
	rec->model = rec->batch = NULL;
	s->line = line;
	ZTP_CHECK(ztp__claim_code_make(s->code, s->hash));
	e->device_id = s->device_id;
	e->fingerprint = s->fingerprint;
	e->model = s->model;
	e->batch = s->batch;
	e->manufactured_at =
	    rec->manufactured_at >= 0 ? rec->manufactured_at : r->now;
	e->claim_hash = s->hash;
	e->claim_hash_len = sizeof(s->hash);
	e->factory_key = s->key;
	e->factory_key_len = s->key_len > 0 ? (size_t)s->key_len : 0;
	r->n++;
cleanup:
	if (rc < 0 && !*refused)
		slot_clear(s);
	return rc;
}

static int summary(run *r, char **out)
{
	json_object *o = json_object_new_object();
	int rc = ZTP_OK;

	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_int(o, "lines", (int64_t)r->lines));
	ZTP_CHECK(ztp__json_add_int(o, "enrolled", (int64_t)r->enrolled));
	ZTP_CHECK(ztp__json_add_int(o, "skipped", (int64_t)r->skipped));
	ZTP_CHECK(ztp__json_add_int(o, "refused", (int64_t)r->refused));
	ZTP_CHECK(ztp__json_add(o, "refusals", json_object_get(r->refusals)));
	ZTP_CHECK(ztp__json_add(
	    o, "refusals_truncated",
	    json_object_new_boolean(r->refused >
				    json_object_array_length(r->refusals))));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(o);
	return rc;
}

static void import_event(run *r, int rc)
{
	json_object *ev = json_object_new_object();
	ztp__err_saved saved;
	char ts[32];

	if (ev == NULL)
		return;
	ztp__err_save(&saved);
	ztp__time_rfc3339(ts, ztp__now(&r->v->clock));
	if (ztp__json_add_str(ev, "type", "import") == ZTP_OK &&
	    ztp__json_add_str(ev, "result",
			      rc == ZTP_OK ? "accepted" : "rejected") ==
		ZTP_OK &&
	    (rc == ZTP_OK ||
	     ztp__json_add_str(ev, "code", ztp_status_name(rc)) == ZTP_OK) &&
	    ztp__json_add_int(ev, "enrolled", (int64_t)r->enrolled) == ZTP_OK &&
	    ztp__json_add_int(ev, "skipped", (int64_t)r->skipped) == ZTP_OK &&
	    ztp__json_add_int(ev, "refused", (int64_t)r->refused) == ZTP_OK &&
	    ztp__json_add_str(ev, "time", ts) == ZTP_OK)
		ztp__verifier_log(r->v, ev, true);
	json_object_put(ev);
	ztp__err_restore(&saved);
}

int ztp_verifier_import(ztp_verifier *v, char **summary_json,
			const char *input_path, const char *claims_path,
			size_t chunk, ztp_progress_fn progress,
			void *progress_ctx)
{
	ztp__import_rec rec;
	run r;
	FILE *in = NULL;
	char *buf = NULL;
	struct stat st;
	uint64_t total = 0;
	size_t len, i;
	bool over, nul, refused, started = false;
	int rc = ZTP_OK, lrc;

	memset(&r, 0, sizeof(r));
	memset(&rec, 0, sizeof(rec));
	r.claims_fd = -1;
	ZTP_ARG(summary_json != NULL);
	*summary_json = NULL;
	ZTP_ARG(v != NULL);
	ZTP_ARG(input_path != NULL);
	ZTP_ARG(claims_path != NULL);
	ZTP_ARG(chunk <= ZTP__STORE_ENROLL_MAX);
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	r.v = v;
	r.claims_path = claims_path;
	r.chunk = chunk == 0 ? ZTP_IMPORT_CHUNK_DEFAULT : chunk;
	r.now = ztp__now(&v->clock);
	r.refusals = json_object_new_array();
	r.slots = ztp__calloc(r.chunk, sizeof(*r.slots));
	r.recs = ztp__calloc(r.chunk, sizeof(*r.recs));
	r.results = ztp__calloc(r.chunk, sizeof(*r.results));
	buf = ztp__malloc(ZTP_BULK_LINE_MAX + 1);
	ZTP_ENSURE(r.refusals != NULL && r.slots != NULL && r.recs != NULL &&
		       r.results != NULL && buf != NULL,
		   ZTP_ENOMEM, "out of memory");
	in = fopen(input_path, "re");
	ZTP_ENSURE(in != NULL, ZTP_EIO, "%s: %s", input_path, strerror(errno));
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
		total = (uint64_t)st.st_size;
	/* The input is readable: only now create the file, so that a typo
	 * in one path does not leave an empty claims file behind. */
	ZTP_CHECK(ztp__file_create_exclusive(&r.claims_fd, claims_path, 0600));
	started = true;
	ztp__import_rec_clear(&rec);
	while (
	    ztp__line_read(in, buf, ZTP_BULK_LINE_MAX + 1, &len, &over, &nul)) {
		r.lines++;
		ztp__import_rec_clear(&rec);
		if (over) {
			(void)ztp__err(ZTP_ETOOBIG, "line: over %d bytes",
				       ZTP_BULK_LINE_MAX);
			ZTP_CHECK(refuse_last(&r, r.lines, NULL, ZTP_ETOOBIG));
			continue;
		}
		if (nul) {
			ZTP_CHECK(refuse(&r, r.lines, NULL, ZTP_EPARSE,
					 "line: holds a NUL byte"));
			continue;
		}
		for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\t'); i++)
			;
		if (i == len)
			continue;
		lrc = ztp__import_line(&rec, buf, len);
		if (lrc == ZTP_ENOMEM)
			ZTP_CHECK(lrc);
		if (lrc < 0) {
			ZTP_CHECK(refuse_last(&r, r.lines, rec.device_id, lrc));
			continue;
		}
		lrc = add(&r, &rec, r.lines, &refused);
		if (refused) {
			ZTP_CHECK(refuse_last(&r, r.lines, rec.device_id, lrc));
			continue;
		}
		ZTP_CHECK(lrc);
		if (r.n == r.chunk) {
			ZTP_CHECK(flush(&r));
			if (progress != NULL)
				progress(progress_ctx, (uint64_t)ftello(in),
					 total, r.lines);
		}
	}
	ZTP_ENSURE(!ferror(in), ZTP_EIO, "%s: read error", input_path);
	ZTP_CHECK(flush(&r));
	if (progress != NULL)
		progress(progress_ctx, (uint64_t)ftello(in), total, r.lines);
	ZTP_ENSURE(close(r.claims_fd) == 0, ZTP_EIO, "%s: close: %s",
		   claims_path, strerror(errno));
	r.claims_fd = -1;
cleanup:
	ztp__import_rec_clear(&rec);
	for (i = 0; r.slots != NULL && i < r.n; i++)
		slot_clear(&r.slots[i]);
	if (started) {
		ztp__err_saved saved;

		ztp__err_save(&saved);
		if (summary(&r, summary_json) < 0)
			*summary_json = NULL;
		ztp__err_restore(&saved);
		import_event(&r, rc);
	}
	if (r.claims_fd >= 0)
		close(r.claims_fd);
	if (in != NULL)
		fclose(in);
	ztp__buf_free(&r.out);
	json_object_put(r.refusals);
	ztp_free(r.slots);
	ztp_free(r.recs);
	ztp_free(r.results);
	ztp_free(buf);
	return rc;
}

/* ------------------------------------------------------------ inventory */

int ztp_verifier_device_list(ztp_verifier *v, char **json,
			     const char *filter_json, const char *after,
			     size_t max)
{
	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(v != NULL);
	if (v->store == NULL)
		return ztp__err(ZTP_ESTATE, "the verifier has no store");
	return ztp_store_device_list(v->store, json, filter_json, after, max);
}

int ztp_verifier_cert_expiring(ztp_verifier *v, char **json, int64_t before,
			       int64_t after_time, const char *after_serial,
			       size_t max)
{
	int64_t now;

	ZTP_ARG(json != NULL);
	*json = NULL;
	ZTP_ARG(v != NULL);
	if (v->store == NULL)
		return ztp__err(ZTP_ESTATE, "the verifier has no store");
	/* A window that ended already is empty, not a mistake: before may
	 * come from a clock a second behind this one. */
	now = ztp__now(&v->clock);
	return ztp_store_cert_expiring(v->store, json,
				       now <= before ? now : before, before,
				       after_time, after_serial, max);
}
