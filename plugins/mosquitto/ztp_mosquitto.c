/*
 * ztp_mosquitto — Mosquitto 2.x plugin enforcing libztp policies.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Clients authenticate with their TLS client certificate: the device ID and
 * tenant come from its SAN URIs (urn:ztp:device:, urn:ztp:tenant:) after
 * libztp checked it chains to the configured device CA; the device ID
 * becomes the MQTT username. Every connect, publish, subscribe and receive
 * is decided by ztp_policy_authorize(). The policy file is reloaded when it
 * changes (a bad file denies everything until fixed, see
 * ztp-policy.json(5)); the CRL file is reloaded when it changes and every
 * connected client whose certificate it lists is disconnected at once.
 *
 * CRLs never go back: one is taken only if a device CA signed it and its
 * CRL number is above the one in use, and the newest is kept in a state
 * file so that a restart cannot go back either. A newest CRL past its
 * nextUpdate is logged loudly and, with crl_expired deny, refuses everyone.
 *
 * mosquitto.conf:
 *   plugin /usr/lib/.../ztp_mosquitto.so
 *   plugin_opt_policy_file /etc/ztp/policy.json     (required)
 *   plugin_opt_ca_file     /etc/ztp/device-ca.pem   (required)
 *   plugin_opt_crl_file    /etc/ztp/device-ca.crl   (optional, PEM)
 *   plugin_opt_crl_state   /var/lib/mosquitto/ztp-crl.pem
 *                                   (required with crl_file; plugin-owned)
 *   plugin_opt_crl_expired allow                    (allow|deny)
 *   plugin_opt_check_interval 1                     (seconds, 1..3600)
 * and a TLS listener with require_certificate true.
 *
 * The broker calls plugins from its single main thread, so the client
 * table needs no lock; ztp_policy is thread-safe regardless.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ztp/ztp.h>

#define NBUCKETS 4096
/* How often an expired CRL is logged again after the first time. */
#define STALE_REPEAT 3600

/*
 * A record lives from a successful authentication until the tick after the
 * client's disconnect event: Mosquitto raises that event before it checks
 * the client's will against the ACL, so the record must still answer that
 * check. A record whose client has gone is flagged and threaded on the
 * gone list; the next tick frees the whole list.
 */
typedef struct client_rec {
	struct client_rec *next;
	struct client_rec *gone_next;
	const struct mosquitto *client; /* key; NULL once displaced */
	bool gone;
	char *client_id;
	char *device;
	char *tenant; /* NULL: device not bound to a tenant */
	ASN1_INTEGER *serial;
} client_rec;

typedef struct file_sig {
	bool seen;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} file_sig;

typedef struct plugin {
	mosquitto_plugin_id_t *id;
	ztp_policy *policy;
	char *policy_file, *ca_file, *crl_file, *crl_state;
	file_sig policy_sig, crl_sig;
	STACK_OF(X509) * cas;
	X509_CRL *crl;	 /* the newest CRL seen, NULL before the first */
	bool deny_stale; /* crl_expired deny */
	bool stale;	 /* crl_file set and no CRL, or past its nextUpdate */
	time_t stale_logged;
	time_t next_check;
	long interval;
	client_rec *buckets[NBUCKETS];
	client_rec *gone;
	size_t nrecs, nrecs_logged;
} plugin;

/* ------------------------------------------------------------------ clients */

static size_t bucket_of(const struct mosquitto *c)
{
	uintptr_t v = (uintptr_t)c;

	v ^= v >> 17;
	v *= (uintptr_t)0x9e3779b97f4a7c15ull;
	return (size_t)(v >> 7) % NBUCKETS;
}

static void rec_free(plugin *pl, client_rec *r)
{
	if (!r)
		return;
	ASN1_INTEGER_free(r->serial);
	ztp_free(r->device);
	ztp_free(r->tenant);
	free(r->client_id);
	free(r);
	pl->nrecs--;
}

static client_rec *rec_find(plugin *pl, const struct mosquitto *c)
{
	client_rec *r;

	for (r = pl->buckets[bucket_of(c)]; r; r = r->next)
		if (r->client == c)
			return r;
	return NULL;
}

/* Take r out of its bucket; it stays allocated. */
static void rec_unlink(plugin *pl, client_rec *r)
{
	client_rec **pp = &pl->buckets[bucket_of(r->client)];

	while (*pp) {
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			return;
		}
		pp = &(*pp)->next;
	}
}

/* A broker may reuse the memory of a freed client for a new one before our
 * next tick: the old record then leaves the table at once, and if it is
 * still on the gone list that list frees it. */
static void rec_insert(plugin *pl, client_rec *r)
{
	client_rec *old = rec_find(pl, r->client);
	size_t b = bucket_of(r->client);

	if (old) {
		rec_unlink(pl, old);
		old->client = NULL;
		if (!old->gone)
			rec_free(pl, old);
	}
	r->next = pl->buckets[b];
	pl->buckets[b] = r;
}

/* The client left; its record answers checks until the next tick. */
static void rec_gone(plugin *pl, const struct mosquitto *c)
{
	client_rec *r = rec_find(pl, c);

	if (!r || r->gone)
		return;
	r->gone = true;
	r->gone_next = pl->gone;
	pl->gone = r;
}

static void release_gone(plugin *pl)
{
	while (pl->gone) {
		client_rec *r = pl->gone;

		pl->gone = r->gone_next;
		if (r->client)
			rec_unlink(pl, r);
		rec_free(pl, r);
	}
}

/* -------------------------------------------------------------------- files */

static bool sig_changed(file_sig *s, const char *path)
{
	struct stat st;
	file_sig n;

	memset(&n, 0, sizeof(n));
	if (stat(path, &st) == 0) {
		n.seen = true;
		n.dev = st.st_dev;
		n.ino = st.st_ino;
		n.size = st.st_size;
		n.mtime = st.st_mtim;
	}
	if (n.seen == s->seen && n.dev == s->dev && n.ino == s->ino &&
	    n.size == s->size && n.mtime.tv_sec == s->mtime.tv_sec &&
	    n.mtime.tv_nsec == s->mtime.tv_nsec)
		return false;
	*s = n;
	return true;
}

static void load_policy(plugin *pl)
{
	if (ztp_policy_load_file(pl->policy, pl->policy_file) < 0)
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: policy %s not loaded, denying "
				     "everything until it is fixed: %s",
				     pl->policy_file, ztp_error_last_message());
	else
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "ztp: policy %s loaded",
				     pl->policy_file);
}

static STACK_OF(X509) * read_certs(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_file(path, "r");
	X509 *x;

	if (!sk || !b) {
		sk_X509_free(sk);
		BIO_free(b);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	}
	ERR_clear_error();
	BIO_free(b);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

/* A CRL is used only if a configured device CA signed it. */
static X509_CRL *read_crl(plugin *pl, const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
	int i;

	BIO_free(b);
	if (!crl) {
		ERR_clear_error();
		return NULL;
	}
	for (i = 0; i < sk_X509_num(pl->cas); i++) {
		X509 *ca = sk_X509_value(pl->cas, i);

		if (X509_NAME_cmp(X509_get_subject_name(ca),
				  X509_CRL_get_issuer(crl)) == 0 &&
		    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1)
			return crl;
	}
	ERR_clear_error();
	X509_CRL_free(crl);
	return NULL;
}

/* The CRL number (RFC 5280 5.2.3), NULL if absent; freed by the caller. */
static ASN1_INTEGER *crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);

	ERR_clear_error();
	return n;
}

/* Decimal text of a CRL number for the log; "?" when it cannot be made. */
static void number_text(char *out, size_t cap, const ASN1_INTEGER *n)
{
	BIGNUM *bn = n ? ASN1_INTEGER_to_BN(n, NULL) : NULL;
	char *dec = bn ? BN_bn2dec(bn) : NULL;

	snprintf(out, cap, "%s", dec ? dec : "?");
	OPENSSL_free(dec);
	BN_free(bn);
	ERR_clear_error();
}

static void time_text(char *out, size_t cap, const ASN1_TIME *t)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;

	snprintf(out, cap, "?");
	if (b && t && ASN1_TIME_print(b, t) == 1) {
		n = BIO_get_mem_data(b, &data);
		if (n > 0)
			snprintf(out, cap, "%.*s", (int)n, data);
	}
	BIO_free(b);
	ERR_clear_error();
}

/* Replace path with data: a 0600 temporary next to it, fsync, rename, then
 * the directory fsynced, so a crash leaves the old state or the new one. */
static bool write_atomic(const char *path, const char *data, size_t len)
{
	size_t plen = strlen(path), off = 0;
	char *tmp = malloc(plen + 8), *dir = NULL, *slash;
	int fd = -1, dfd;
	bool ok = false;

	if (!tmp)
		return false;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
	if (fd < 0)
		goto done;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto done;
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto done;
	tmp[0] = '\0';
	ok = true;
	dir = strdup(path);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash) {
		*slash = '\0';
		dfd = open(slash == dir ? "/" : dir,
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) != 0)
			ok = false;
		if (dfd >= 0)
			close(dfd);
	}
done:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	free(tmp);
	free(dir);
	return ok;
}

static void save_state(plugin *pl)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;

	if (b && PEM_write_bio_X509_CRL(b, pl->crl) == 1)
		n = BIO_get_mem_data(b, &data);
	errno = 0;
	if (n <= 0 || !write_atomic(pl->crl_state, data, (size_t)n))
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: CRL state %s not written (%s): "
				     "after a restart an older CRL could be "
				     "taken again",
				     pl->crl_state,
				     errno ? strerror(errno) : "no memory");
	BIO_free(b);
	ERR_clear_error();
}

static bool is_revoked(const plugin *pl, const ASN1_INTEGER *serial)
{
	X509_REVOKED *rev = NULL;

	return pl->crl && X509_CRL_get0_by_serial(pl->crl, &rev,
						  (ASN1_INTEGER *)serial) == 1;
}

/* Disconnect every connected client that is revoked (all of them when
 * everyone is). The ids are collected first because a kick re-enters the
 * disconnect event. */
static void kick_revoked(plugin *pl, bool everyone, const char *why)
{
	char **kick = NULL;
	size_t nkick = 0, cap = 0, b, i;
	client_rec *r;

	for (b = 0; b < NBUCKETS; b++) {
		for (r = pl->buckets[b]; r; r = r->next) {
			if (r->gone ||
			    (!everyone && !is_revoked(pl, r->serial)))
				continue;
			if (nkick == cap) {
				char **nk;

				cap = cap ? cap * 2 : 16;
				nk = realloc(kick, cap * sizeof(*kick));
				if (!nk)
					goto kick;
				kick = nk;
			}
			kick[nkick] = strdup(r->client_id);
			if (kick[nkick])
				nkick++;
		}
	}
kick:
	for (i = 0; i < nkick; i++) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "ztp: disconnecting %s: %s", kick[i], why);
		mosquitto_kick_client_by_clientid(kick[i], false);
		free(kick[i]);
	}
	free(kick);
}

/*
 * Take crl (owned) if it is newer than the one in use: a higher CRL number.
 * The same number is only the same CRL again; a lower one is a replay of
 * an old list, which could readmit a device revoked since, so it is
 * refused and the current list kept.
 */
static bool take_crl(plugin *pl, X509_CRL *crl, const char *source)
{
	ASN1_INTEGER *num = crl_number(crl), *cur = NULL;
	char ntext[64], ctext[64];
	int cmp = 1;

	number_text(ntext, sizeof(ntext), num);
	if (!num) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: CRL %s has no CRL number and cannot "
				     "be ordered: refused",
				     source);
		goto refuse;
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: CRL %s number %s is a delta CRL: "
				     "refused, only complete CRLs are used",
				     source, ntext);
		goto refuse;
	}
	if (pl->crl) {
		cur = crl_number(pl->crl);
		number_text(ctext, sizeof(ctext), cur);
		cmp = cur ? ASN1_INTEGER_cmp(num, cur) : 1;
	}
	if (cmp == 0 && X509_CRL_match(crl, pl->crl) == 0)
		goto same;
	if (cmp <= 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: CRL %s is number %s, %s than number "
				     "%s already seen: refused (a replayed or "
				     "stale CRL), keeping number %s",
				     source, ntext,
				     cmp == 0 ? "different from but no newer"
					      : "older",
				     ctext, ctext);
		goto refuse;
	}
	X509_CRL_free(pl->crl);
	pl->crl = crl;
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(cur);
	mosquitto_log_printf(
	    MOSQ_LOG_NOTICE, "ztp: CRL %s number %s loaded, %d revoked", source,
	    ntext, sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)));
	return true;
same:
refuse:
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(cur);
	X509_CRL_free(crl);
	return false;
}

/* Reload the CRL; disconnect every connected client it now revokes. */
static void load_crl(plugin *pl)
{
	X509_CRL *crl;

	crl = read_crl(pl, pl->crl_file);
	if (!crl) {
		/* revocations only accumulate, so keeping the previous list
		 * never readmits anyone it revoked */
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: CRL %s unreadable or not signed by "
				     "the device CA; keeping the previous one",
				     pl->crl_file);
		return;
	}
	if (!take_crl(pl, crl, pl->crl_file))
		return;
	save_state(pl);
	kick_revoked(pl, false, "certificate revoked");
}

/* Whether the newest CRL still speaks for now: past its nextUpdate the CA
 * has stopped vouching for it, and devices revoked since are not in it. */
static void check_fresh(plugin *pl, time_t now)
{
	const ASN1_TIME *next =
	    pl->crl ? X509_CRL_get0_nextUpdate(pl->crl) : NULL;
	bool stale = !pl->crl || (next && X509_cmp_time(next, &now) < 0);
	char when[64], ntext[64];
	ASN1_INTEGER *num;

	if (stale && (!pl->stale || now - pl->stale_logged >= STALE_REPEAT)) {
		pl->stale_logged = now;
		num = pl->crl ? crl_number(pl->crl) : NULL;
		number_text(ntext, sizeof(ntext), num);
		ASN1_INTEGER_free(num);
		time_text(when, sizeof(when), next);
		if (pl->crl)
			mosquitto_log_printf(
			    MOSQ_LOG_ERR,
			    "ztp: CRL %s number %s expired at %s (nextUpdate) "
			    "and no newer one has arrived: %s",
			    pl->crl_file, ntext, when,
			    pl->deny_stale
				? "refusing every client (crl_expired deny)"
				: "still enforcing it; devices revoked since "
				  "it was made are not known");
		else
			mosquitto_log_printf(
			    MOSQ_LOG_ERR, "ztp: no CRL from %s yet: %s",
			    pl->crl_file,
			    pl->deny_stale
				? "refusing every client (crl_expired deny)"
				: "no certificate is known to be revoked");
	}
	if (!stale && pl->stale)
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "ztp: CRL %s is current again",
				     pl->crl_file);
	pl->stale = stale;
	if (stale && pl->deny_stale)
		kick_revoked(pl, true, "CRL expired (crl_expired deny)");
}

static void check_files(plugin *pl, bool force)
{
	if (sig_changed(&pl->policy_sig, pl->policy_file) || force)
		load_policy(pl);
	if (!pl->crl_file)
		return;
	if (sig_changed(&pl->crl_sig, pl->crl_file) || force)
		load_crl(pl);
	check_fresh(pl, time(NULL));
}

/* The newest CRL from an earlier run, or an error if there is a state file
 * that is not one: better to stop than to forget what it held. */
static bool load_state(plugin *pl)
{
	struct stat st;
	X509_CRL *crl;

	if (lstat(pl->crl_state, &st) != 0 && errno == ENOENT)
		return true; /* the first start */
	crl = read_crl(pl, pl->crl_state);
	if (!crl) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: CRL state %s unreadable or not "
				     "signed by the device CA; remove it only "
				     "if %s holds the newest CRL",
				     pl->crl_state, pl->crl_file);
		return false;
	}
	return take_crl(pl, crl, pl->crl_state);
}

/* ------------------------------------------------------------------- events */

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;

	if (b && PEM_write_bio_X509(b, x) == 1) {
		n = BIO_get_mem_data(b, &data);
		if (n > 0) {
			out = malloc((size_t)n + 1);
			if (out) {
				memcpy(out, data, (size_t)n);
				out[n] = '\0';
			}
		}
	}
	BIO_free(b);
	return out;
}

static int on_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	plugin *pl = userdata;
	const char *cid = mosquitto_client_id(ed->client);
	X509 *x = mosquitto_client_certificate(ed->client);
	char *pem = NULL, *dev = NULL, *ten = NULL;
	client_rec *r = NULL;
	int rc = MOSQ_ERR_AUTH;

	(void)event;
	if (!x) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "ztp: %s refused: no client certificate",
				     cid ? cid : "?");
		goto done;
	}
	pem = cert_pem(x);
	if (!pem)
		goto done;
	if (ztp_policy_cert_identity(&dev, &ten, pl->policy, pem, strlen(pem)) <
	    0) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "ztp: %s refused: %s",
				     cid ? cid : "?", ztp_error_last_message());
		goto done;
	}
	if (pl->stale && pl->deny_stale) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "ztp: %s refused: no current CRL "
				     "(crl_expired deny)",
				     dev);
		goto done;
	}
	if (is_revoked(pl, X509_get0_serialNumber(x))) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "ztp: %s refused: certificate revoked",
				     dev);
		goto done;
	}
	if (!cid ||
	    ztp_policy_authorize(pl->policy, ten, dev, cid, ZTP_POLICY_CONNECT,
				 cid, strlen(cid)) != 0) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				     "ztp: device %s refused: connect as "
				     "client \"%s\" not allowed",
				     dev, cid ? cid : "");
		goto done;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto done;
	pl->nrecs++;
	r->client = ed->client;
	r->client_id = strdup(cid);
	r->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(x));
	if (!r->client_id || !r->serial ||
	    mosquitto_set_username(ed->client, dev) != MOSQ_ERR_SUCCESS)
		goto done;
	r->device = dev;
	r->tenant = ten;
	dev = ten = NULL;
	rec_insert(pl, r);
	r = NULL;
	rc = MOSQ_ERR_SUCCESS;
done:
	rec_free(pl, r);
	ztp_free(dev);
	ztp_free(ten);
	free(pem);
	X509_free(x);
	return rc;
}

static int on_acl(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	plugin *pl = userdata;
	client_rec *r = rec_find(pl, ed->client);
	int action;

	(void)event;
	switch (ed->access) {
	case MOSQ_ACL_WRITE:
		action = ZTP_POLICY_PUBLISH;
		break;
	case MOSQ_ACL_READ:
		action = ZTP_POLICY_RECEIVE;
		break;
	case MOSQ_ACL_SUBSCRIBE:
		action = ZTP_POLICY_SUBSCRIBE;
		break;
	case MOSQ_ACL_UNSUBSCRIBE:
		return MOSQ_ERR_SUCCESS; /* giving up access is always fine */
	default:
		return MOSQ_ERR_ACL_DENIED;
	}
	if (!r || !ed->topic || (pl->stale && pl->deny_stale))
		return MOSQ_ERR_ACL_DENIED;
	if (ztp_policy_authorize(pl->policy, r->tenant, r->device, r->client_id,
				 action, ed->topic, strlen(ed->topic)) != 0) {
		mosquitto_log_printf(
		    MOSQ_LOG_DEBUG, "ztp: %s denied %d on %s: %s", r->device,
		    action, ed->topic, ztp_error_last_message());
		return MOSQ_ERR_ACL_DENIED;
	}
	return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ed = event_data;

	(void)event;
	rec_gone(userdata, ed->client);
	return MOSQ_ERR_SUCCESS;
}

static int on_tick(int event, void *event_data, void *userdata)
{
	plugin *pl = userdata;
	time_t now = time(NULL);

	(void)event;
	(void)event_data;
	/* Every will of the clients that left was checked in the event
	 * that reported them gone, so their records can go now. */
	release_gone(pl);
	if (now >= pl->next_check) {
		pl->next_check = now + pl->interval;
		check_files(pl, false);
		if (pl->nrecs != pl->nrecs_logged) {
			pl->nrecs_logged = pl->nrecs;
			mosquitto_log_printf(MOSQ_LOG_DEBUG,
					     "ztp: %zu client records held",
					     pl->nrecs);
		}
	}
	return MOSQ_ERR_SUCCESS;
}

static int on_reload(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	check_files(userdata, true);
	return MOSQ_ERR_SUCCESS;
}

/* ------------------------------------------------------------------- plugin */

int mosquitto_plugin_version(int supported_version_count,
			     const int *supported_versions)
{
	int i;

	for (i = 0; i < supported_version_count; i++)
		if (supported_versions[i] == 5)
			return 5;
	return -1;
}

static void plugin_free(plugin *pl)
{
	size_t b;

	if (!pl)
		return;
	release_gone(pl);
	for (b = 0; b < NBUCKETS; b++) {
		while (pl->buckets[b]) {
			client_rec *r = pl->buckets[b];

			pl->buckets[b] = r->next;
			rec_free(pl, r);
		}
	}
	ztp_policy_free(pl->policy);
	sk_X509_pop_free(pl->cas, X509_free);
	X509_CRL_free(pl->crl);
	free(pl->policy_file);
	free(pl->ca_file);
	free(pl->crl_file);
	free(pl->crl_state);
	free(pl);
}

static const struct {
	int event;
	MOSQ_FUNC_generic_callback cb;
} callbacks[] = {
    {MOSQ_EVT_BASIC_AUTH, on_auth},	  {MOSQ_EVT_ACL_CHECK, on_acl},
    {MOSQ_EVT_DISCONNECT, on_disconnect}, {MOSQ_EVT_TICK, on_tick},
    {MOSQ_EVT_RELOAD, on_reload},
};

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
			  struct mosquitto_opt *options, int option_count)
{
	plugin *pl = calloc(1, sizeof(*pl));
	char *pem = NULL, *end;
	size_t i;
	int o;

	if (!pl || ztp_init() < 0 || ztp_policy_new(&pl->policy) < 0)
		goto fail;
	pl->id = identifier;
	pl->interval = 1;
	for (o = 0; o < option_count; o++) {
		const char *k = options[o].key, *v = options[o].value;

		if (strcmp(k, "policy_file") == 0) {
			pl->policy_file = strdup(v);
		} else if (strcmp(k, "ca_file") == 0) {
			pl->ca_file = strdup(v);
		} else if (strcmp(k, "crl_file") == 0) {
			pl->crl_file = strdup(v);
		} else if (strcmp(k, "crl_state") == 0) {
			pl->crl_state = strdup(v);
		} else if (strcmp(k, "crl_expired") == 0) {
			if (strcmp(v, "allow") != 0 && strcmp(v, "deny") != 0) {
				mosquitto_log_printf(MOSQ_LOG_ERR,
						     "ztp: bad crl_expired "
						     "\"%s\" (allow or deny)",
						     v);
				goto fail;
			}
			pl->deny_stale = strcmp(v, "deny") == 0;
		} else if (strcmp(k, "check_interval") == 0) {
			errno = 0;
			pl->interval = strtol(v, &end, 10);
			if (errno || *end || pl->interval < 1 ||
			    pl->interval > 3600) {
				mosquitto_log_printf(MOSQ_LOG_ERR,
						     "ztp: bad check_interval "
						     "\"%s\" (1..3600)",
						     v);
				goto fail;
			}
		}
	}
	if (!pl->policy_file || !pl->ca_file) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: plugin_opt_policy_file and "
				     "plugin_opt_ca_file are required");
		goto fail;
	}
	if (pl->deny_stale && !pl->crl_file) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: plugin_opt_crl_expired needs "
				     "plugin_opt_crl_file");
		goto fail;
	}
	if (!pl->crl_file != !pl->crl_state) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: plugin_opt_crl_file and "
				     "plugin_opt_crl_state go together: the "
				     "state file keeps the newest CRL across "
				     "restarts");
		goto fail;
	}
	pl->cas = read_certs(pl->ca_file);
	if (!pl->cas) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     "ztp: device CA %s: no PEM certificate "
				     "could be read",
				     pl->ca_file);
		goto fail;
	}
	for (o = 0; o < sk_X509_num(pl->cas); o++) {
		X509 *x = sk_X509_value(pl->cas, o);

		pem = cert_pem(x);
		if (!pem ||
		    ztp_policy_add_ca_pem(pl->policy, pem, strlen(pem)) < 0)
			goto ca_fail;
		free(pem);
		pem = NULL;
	}
	if (pl->crl_state && !load_state(pl))
		goto fail;
	check_files(pl, true);
	for (i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++) {
		if (mosquitto_callback_register(identifier, callbacks[i].event,
						callbacks[i].cb, NULL,
						pl) != MOSQ_ERR_SUCCESS) {
			mosquitto_log_printf(MOSQ_LOG_ERR,
					     "ztp: cannot register event %d",
					     callbacks[i].event);
			while (i-- > 0)
				mosquitto_callback_unregister(
				    identifier, callbacks[i].event,
				    callbacks[i].cb, NULL);
			goto fail;
		}
	}
	*userdata = pl;
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			     "ztp: libztp %s policy plugin ready (policy %s, "
			     "device CA %s, CRL %s, CRL state %s, expired CRL "
			     "%s)",
			     ztp_version(), pl->policy_file, pl->ca_file,
			     pl->crl_file ? pl->crl_file : "none",
			     pl->crl_state ? pl->crl_state : "none",
			     pl->deny_stale ? "denies" : "allows");
	return MOSQ_ERR_SUCCESS;
ca_fail:
	mosquitto_log_printf(MOSQ_LOG_ERR, "ztp: device CA %s unusable: %s",
			     pl->ca_file, ztp_error_last_message());
fail:
	free(pem);
	plugin_free(pl);
	return MOSQ_ERR_UNKNOWN;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
			     int option_count)
{
	plugin *pl = userdata;
	size_t i;

	(void)options;
	(void)option_count;
	if (!pl)
		return MOSQ_ERR_SUCCESS;
	for (i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++)
		mosquitto_callback_unregister(pl->id, callbacks[i].event,
					      callbacks[i].cb, NULL);
	plugin_free(pl);
	return MOSQ_ERR_SUCCESS;
}
