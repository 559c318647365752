/*
 * ztp-load — a fleet load generator: N simulated devices, each with its
 * own factory identity and state directory, run through the device API
 * (ztp_device_run(): bootstrap, register, credentials, on one connection
 * per client identity) against a deployment, on T threads
 * of one process. Reports devices/s, p50/p95/p99 per endpoint, retries
 * and failures by wire code, CPU per provisioned device of the server
 * processes (read from /proc), and next to them the crypto bound: the
 * public-key operations one provisioned device costs the server, timed
 * with OpenSSL in this process, on this machine, in the same run.
 * Asserts nothing; a benchmark, not a test. Public API plus OpenSSL and
 * json-c only.
 *
 * The deployment is given, not guessed: the URLs of its instances (or of
 * its balancer), the CA file that pins its TLS server certificate, its
 * verifier configuration (ztp-verify.json(5): the registry the devices
 * are enrolled into) and the manufacturer's issuing CA (certificate and
 * key) that makes the factory certificates. bench/load.sh builds such a
 * deployment (PKI, registry, servers, HAProxy, PostgreSQL) and runs this.
 *
 *   ztp-load --url URL [--url URL...] --ca-file F --verify-config F
 *            --factory-cert F --factory-key F --dir DIR
 *            [--devices N] [--threads T] [--prefix P] [--server-pid PID...]
 *            [--max-attempts N] [--reuse-probe K] [--probe-url URL]
 *
 * Latency of an endpoint, as the device sees it: from the device's
 * previous event (the step before the request, or the answer before) to
 * the event that reports the answer, so it includes the little device
 * work in between (a CSR, the transcript signature) but not backoff
 * sleeps (subtracted) or writes of the answer (after the event).
 *
 * Server CPU: each --server-pid is the root of a process tree (a
 * reference server, HAProxy, the PostgreSQL postmaster); user + system
 * time of every live process in the trees plus what their reaped
 * children used, before and after, divided by the devices provisioned.
 * The machine's busy time from /proc/stat in the same interval shows how
 * much else ran (this machine is shared).
 *
 * The connection-reuse probe (--reuse-probe K, default 200; 0 skips it)
 * sends K challenge requests three ways with OpenSSL and the first
 * device's factory identity: a new connection and a full handshake each
 * (what a device without keep-alive would cost); a new connection
 * resuming the TLS session; one kept-alive connection, as the device API
 * keeps one per client identity within an operation
 * (libztp/device/http.c). The handshakes and requests the devices made
 * are counted from their device.http events ("new_connection"). The server CPU
 * per request of each way tells what reuse would save the server. All for the
 * first device, whose identity is presented: the deployment's per-device limit
 * must allow 3K challenges (bench/load.sh sets no limits), or the
 * figures are of refusals (the report says how many were answered).
 * The probe talks to --probe-url (default: the first --url); give it one
 * instance, not a round-robin balancer: a session ticket from one
 * instance is not accepted by another unless they share ticket keys.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ztp/ztp.h>

#include "bench.h"

const char bench_name[] = "ztp-load";

#define MAX_URLS 16
#define MAX_PIDS 64
#define MAX_THREADS 256
#define MAX_CODES 64

enum { EP_CHALLENGE, EP_BOOTSTRAP, EP_REGISTER, EP_CREDENTIALS, EP_N };
static const char *const ep_names[EP_N] = {"challenge", "bootstrap", "register",
					   "credentials"};

static struct {
	const char *urls[MAX_URLS];
	int n_urls;
	const char *ca_file, *verify_config, *factory_cert, *factory_key;
	const char *dir, *prefix;
	long devices, threads, max_attempts, reuse_probe;
	const char *probe_url;
	long pids[MAX_PIDS];
	int n_pids;
} opt = {.prefix = "load",
	 .devices = 1000,
	 .threads = 8,
	 .max_attempts = 10,
	 .reuse_probe = 200};

/* ------------------------------------------------------------ /proc CPU */

/* utime + stime + cutime + cstime of one /proc/PID/stat, and its parent. */
static int proc_stat(long pid, long *ppid, unsigned long long *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long long cut, cst;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name is in parentheses and may hold anything. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	if (sscanf(p + 2,
		   "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		   "%lld %lld",
		   ppid, &ut, &st, &cut, &cst) != 5)
		return -1;
	*ticks = ut + st + (unsigned long long)cut + (unsigned long long)cst;
	return 0;
}

/* CPU seconds of the process trees rooted at opt.pids, in total and,
 * when per_root is not NULL, for each root: every live process in them,
 * each with its reaped children (a child that exited and was waited for
 * is counted once, in its parent). A process in two trees counts in the
 * first. */
static double trees_cpu_s(double *per_root)
{
	enum { MAXP = 32768 };
	static long pid[MAXP], ppid[MAXP];
	static unsigned long long ticks[MAXP];
	static int root[MAXP]; /* index into opt.pids + 1, or 0 */
	unsigned long long sums[MAX_PIDS] = {0}, sum = 0;
	double hz = (double)sysconf(_SC_CLK_TCK);
	size_t n = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	int changed = 1;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < MAXP) {
		char *end;
		long p = strtol(e->d_name, &end, 10);

		if (*end != '\0' || p <= 0)
			continue;
		if (proc_stat(p, &ppid[n], &ticks[n]) == 0) {
			pid[n] = p;
			root[n] = 0;
			for (int i = 0; i < opt.n_pids && root[n] == 0; i++)
				if (opt.pids[i] == p)
					root[n] = i + 1;
			n++;
		}
	}
	closedir(d);
	while (changed) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (root[i] != 0)
				continue;
			for (size_t j = 0; j < n; j++)
				if (root[j] != 0 && pid[j] == ppid[i]) {
					root[i] = root[j];
					changed = 1;
					break;
				}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (root[i] != 0) {
			sums[root[i] - 1] += ticks[i];
			sum += ticks[i];
		}
	for (int i = 0; per_root != NULL && i < opt.n_pids; i++)
		per_root[i] = (double)sums[i] / hz;
	return (double)sum / hz;
}

/* Busy and total CPU seconds of the whole machine (all cores). */
static void machine_cpu_s(double *busy, double *total)
{
	unsigned long long v[10] = {0}, sum = 0, idle;
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
		fclose(f);
		return;
	}
	fclose(f);
	for (int i = 0; i < 8; i++)
		sum += v[i];
	idle = v[3] + v[4];
	*busy = (double)(sum - idle) / (double)sysconf(_SC_CLK_TCK);
	*total = (double)sum / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------- per-thread data */

typedef struct {
	char code[48];
	long retries, failures;
} code_count;

typedef struct {
	double *v;
	size_t n, cap;
} samples;

typedef struct {
	int index;
	pthread_t tid;
	double last; /* time of the device's previous event */
	samples lat[EP_N];
	long retries[EP_N];
	long handshakes, requests; /* from the device.http events */
	code_count codes[MAX_CODES];
	int n_codes;
	long ok, failed;
} worker;

static atomic_long next_device;
static worker workers[MAX_THREADS];

static void samples_add(samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *nv = realloc(s->v, cap * sizeof(*nv));

		if (nv == NULL)
			bench_fail("out of memory");
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static void count_code(worker *w, const char *code, int failure)
{
	int i;

	for (i = 0; i < w->n_codes; i++)
		if (strcmp(w->codes[i].code, code) == 0)
			break;
	if (i == w->n_codes) {
		if (w->n_codes == MAX_CODES) {
			/* The last slot takes the rest. */
			i = MAX_CODES - 1;
			snprintf(w->codes[i].code, sizeof(w->codes[0].code),
				 "(other codes)");
		} else {
			snprintf(w->codes[w->n_codes++].code,
				 sizeof(w->codes[0].code), "%s", code);
		}
	}
	if (failure)
		w->codes[i].failures++;
	else
		w->codes[i].retries++;
}

static int endpoint_index(const char *name)
{
	for (int i = 0; i < EP_N; i++)
		if (strcmp(name, ep_names[i]) == 0)
			return i;
	return -1;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The device's events: one per protocol step and one per HTTP attempt. */
static void on_event(const char *json, void *ctx)
{
	worker *w = ctx;
	double t = bench_wall();
	json_object *o = json_tokener_parse(json);
	const char *ev, *outcome, *ep, *code;
	json_object *d;
	int e;

	if (o == NULL)
		return;
	ev = jstr(o, "event");
	if (ev == NULL || strcmp(ev, "device.http") != 0)
		goto done;
	ep = jstr(o, "endpoint");
	outcome = jstr(o, "outcome");
	e = ep != NULL ? endpoint_index(ep) : -1;
	if (e < 0 || outcome == NULL)
		goto done;
	w->requests++;
	if (json_object_object_get_ex(o, "new_connection", &d) &&
	    json_object_get_boolean(d))
		w->handshakes++;
	if (strcmp(outcome, "ok") == 0) {
		samples_add(&w->lat[e], t - w->last);
		goto done;
	}
	code = jstr(o, "server_error");
	if (code == NULL)
		code = jstr(o, "error"); /* transport: a ztp status name */
	if (code == NULL)
		code = "unknown";
	if (strcmp(outcome, "retry") == 0) {
		w->retries[e]++;
		count_code(w, code, 0);
		/* The device sleeps next; that is not the server's time. */
		if (json_object_object_get_ex(o, "delay_ms", &d))
			t += (double)json_object_get_int64(d) / 1000.0;
	} else {
		count_code(w, code, 1);
	}
done:
	w->last = t;
	json_object_put(o);
}

static void device_id(char *out, size_t cap, long i)
{
	snprintf(out, cap, "%s-%06ld", opt.prefix, i);
}

static void device_dir(char *out, size_t cap, long i)
{
	snprintf(out, cap, "%s/%s-%06ld", opt.dir, opt.prefix, i);
}

/* --------------------------------------------------------------- setup */

static ztp_ca *factory_ca;
static ztp_store *factory_store;
static ztp_verifier *enroller;
static char *factory_ca_pem;
static char ca_abs[4096]; /* opt.ca_file, absolute */

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "ztp-load: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (fputs(text, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "ztp-load: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void jset(json_object *o, const char *k, json_object *v)
{
	if (v == NULL || json_object_object_add(o, k, v) != 0)
		bench_fail("out of memory");
}

static char *device_config(const char *id, const char *url)
{
	json_object *c = json_object_new_object(), *r, *reg, *caps;
	char *text;

	if (c == NULL || (r = json_object_new_object()) == NULL ||
	    (reg = json_object_new_object()) == NULL ||
	    (caps = json_object_new_array()) == NULL)
		bench_fail("out of memory");
	jset(c, "device_id", json_object_new_string(id));
	jset(c, "factory_key", json_object_new_string("file:factory.key"));
	jset(c, "factory_cert", json_object_new_string("factory.pem"));
	jset(c, "base_url", json_object_new_string(url));
	jset(c, "ca_file", json_object_new_string(ca_abs));
	jset(c, "state_dir", json_object_new_string("state"));
	jset(c, "connect_timeout_ms", json_object_new_int(5000));
	jset(c, "timeout_ms", json_object_new_int(30000));
	jset(r, "max_attempts", json_object_new_int((int)opt.max_attempts));
	jset(r, "base_delay_ms", json_object_new_int(100));
	jset(r, "max_delay_ms", json_object_new_int(2000));
	jset(r, "max_retry_after_ms", json_object_new_int(5000));
	jset(c, "retry", r);
	jset(reg, "device_type", json_object_new_string("load"));
	jset(reg, "firmware_version", json_object_new_string("1.0.0"));
	if (json_object_array_add(caps, json_object_new_string("mqtt")) != 0)
		bench_fail("out of memory");
	jset(reg, "capabilities", caps);
	jset(c, "registration", reg);
	text =
	    strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PRETTY));
	if (text == NULL)
		bench_fail("out of memory");
	json_object_put(c);
	return text;
}

/* One device as a factory makes it: its key, its factory certificate
 * (leaf + issuing CA), enrolled in the deployment's registry. */
static void make_device(long i)
{
	char id[ZTP_ID_MAX + 1], dir[4096], path[4200];
	char *csr = NULL, *key = NULL, *cert = NULL, *code = NULL, *both;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *b;
	long n;

	device_id(id, sizeof(id), i);
	device_dir(dir, sizeof(dir), i);
	if (k == NULL)
		bench_fail("keygen failed");
	csr = bench_csr(k, NULL);
	CHECK("factory certificate",
	      ztp_ca_issue(factory_ca, &cert, csr, strlen(csr), id, NULL,
			   ZTP_CA_PROFILE_FACTORY, 0));
	free(csr);
	b = BIO_new(BIO_s_mem());
	if (b == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		bench_fail("cannot write a factory key");
	n = BIO_get_mem_data(b, &key);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ztp-load: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/factory.key", dir);
	{
		char *kt = strndup(key, (size_t)n);

		if (kt == NULL)
			bench_fail("out of memory");
		write_file(path, kt, 0600);
		OPENSSL_cleanse(kt, (size_t)n);
		free(kt);
	}
	if (asprintf(&both, "%s%s", cert, factory_ca_pem) < 0)
		bench_fail("out of memory");
	snprintf(path, sizeof(path), "%s/factory.pem", dir);
	write_file(path, both, 0644);
	free(both);
	/* The device's configuration, as a device would carry it
	 * (ztp-device.json(5)); its paths are relative to its directory. */
	both = device_config(id, opt.urls[i % opt.n_urls]);
	snprintf(path, sizeof(path), "%s/device.json", dir);
	write_file(path, both, 0644);
	CHECK("enroll", ztp_verifier_enroll(enroller, &code, id, cert,
					    strlen(cert), "load", "b1"));
	ztp_free(code);
	ztp_free(cert);
	free(both);
	BIO_free(b);
	EVP_PKEY_free(k);
}

static void *setup_thread(void *arg)
{
	long i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_device, 1)) < opt.devices)
		make_device(i);
	return NULL;
}

/* ----------------------------------------------------------- provision */

/* Whether a run's report says it bootstrapped, registered and fetched
 * credentials, in that order. */
static bool provisioned(const char *report)
{
	static const char *const want[] = {"bootstrap", "register",
					   "credentials"};
	json_object *o = report != NULL ? json_tokener_parse(report) : NULL;
	json_object *a = NULL;
	bool ok = o != NULL && json_object_object_get_ex(o, "actions", &a) &&
		  json_object_is_type(a, json_type_array) &&
		  json_object_array_length(a) == 3;

	for (size_t k = 0; ok && k < 3; k++) {
		const char *s =
		    json_object_get_string(json_object_array_get_idx(a, k));

		ok = s != NULL && strcmp(s, want[k]) == 0;
	}
	json_object_put(o);
	return ok;
}

static int provision(worker *w, long i)
{
	char id[ZTP_ID_MAX + 1], dir[4096], path[4200];
	ztp_device *dev = NULL;
	char *report = NULL;
	int rc;

	device_id(id, sizeof(id), i);
	device_dir(dir, sizeof(dir), i);
	snprintf(path, sizeof(path), "%s/device.json", dir);
	rc = ztp_device_new(&dev);
	if (rc == 0)
		rc = ztp_device_load_config(dev, path);
	if (rc == 0)
		rc = ztp_device_set_event_callback(dev, on_event, w);
	if (rc != 0)
		bench_die("device setup", rc);
	/* What a device does: one run (bootstrap, register, credentials,
	 * on one connection per client identity). */
	w->last = bench_wall();
	rc = ztp_device_run(dev, &report);
	if (rc == 0 && !provisioned(report)) {
		if (w->failed < 5)
			fprintf(stderr, "ztp-load: %s: run did %s\n", id,
				report != NULL ? report : "nothing");
		rc = ZTP_ESTATE;
	} else if (rc != 0 && w->failed < 5) {
		fprintf(stderr, "ztp-load: %s: %s (%s)\n", id,
			ztp_status_name(rc), ztp_error_last_message());
	}
	ztp_free(report);
	ztp_device_free(dev);
	return rc;
}

static void *provision_thread(void *arg)
{
	worker *w = arg;
	long i;

	while ((i = atomic_fetch_add(&next_device, 1)) < opt.devices) {
		if (provision(w, i) == 0)
			w->ok++;
		else
			w->failed++;
	}
	return NULL;
}

static void run_threads(void *(*fn)(void *))
{
	atomic_store(&next_device, 0);
	for (long t = 0; t < opt.threads; t++) {
		workers[t].index = (int)t;
		if (pthread_create(&workers[t].tid, NULL, fn, &workers[t]) != 0)
			bench_fail("cannot start a thread");
	}
	for (long t = 0; t < opt.threads; t++)
		pthread_join(workers[t].tid, NULL);
}

/* ------------------------------------------------------------- figures */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return s->v[i];
}

static void report_latency(void)
{
	printf("\n%-12s %8s %9s %9s %9s %8s\n", "endpoint", "answers", "p50 ms",
	       "p95 ms", "p99 ms", "retries");
	for (int e = 0; e < EP_N; e++) {
		samples all = {0};
		long retries = 0;

		for (long t = 0; t < opt.threads; t++) {
			for (size_t j = 0; j < workers[t].lat[e].n; j++)
				samples_add(&all, workers[t].lat[e].v[j]);
			retries += workers[t].retries[e];
		}
		qsort(all.v, all.n, sizeof(double), cmp_double);
		printf("%-12s %8zu %9.1f %9.1f %9.1f %8ld\n", ep_names[e],
		       all.n, pct(&all, 0.50) * 1e3, pct(&all, 0.95) * 1e3,
		       pct(&all, 0.99) * 1e3, retries);
		free(all.v);
	}
}

static void report_codes(void)
{
	worker sum = {0};

	for (long t = 0; t < opt.threads; t++)
		for (int i = 0; i < workers[t].n_codes; i++) {
			const code_count *c = &workers[t].codes[i];

			for (long r = 0; r < c->retries; r++)
				count_code(&sum, c->code, 0);
			for (long f = 0; f < c->failures; f++)
				count_code(&sum, c->code, 1);
		}
	/* A refused challenge_replayed or challenge_expired is followed by
	 * one fresh challenge (ztp_device_bootstrap()); the others end the
	 * device's run and are counted in "failed". */
	printf("\nerrors by wire code (attempts retried / refused):");
	if (sum.n_codes == 0)
		printf(" none");
	printf("\n");
	for (int i = 0; i < sum.n_codes; i++)
		printf("  %-28s %8ld %8ld\n", sum.codes[i].code,
		       sum.codes[i].retries, sum.codes[i].failures);
}

/* ----------------------------------------------------- the crypto bound */

/* CPU seconds per call of one operation, on this thread, over >= 0.3 s. */
typedef int (*op_fn)(void *);

static double time_op(op_fn fn, void *ctx)
{
	double t0 = bench_cpu(), t;
	long n = 0;

	do {
		for (int i = 0; i < 50; i++)
			if (fn(ctx) != 1)
				bench_fail("OpenSSL operation failed");
		n += 50;
		t = bench_cpu() - t0;
	} while (t < 0.3);
	return t / (double)n;
}

typedef struct {
	EVP_PKEY *key, *peer;
	unsigned char dgst[32], sig[128];
	size_t siglen;
} op_ctx;

static int op_sign(void *p)
{
	op_ctx *c = p;
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new(c->key, NULL);
	int ok;

	c->siglen = sizeof(c->sig);
	ok = k != NULL && EVP_PKEY_sign_init(k) == 1 &&
	     EVP_PKEY_sign(k, c->sig, &c->siglen, c->dgst, 32) == 1;
	EVP_PKEY_CTX_free(k);
	return ok;
}

static int op_verify(void *p)
{
	op_ctx *c = p;
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new(c->key, NULL);
	int ok;

	ok = k != NULL && EVP_PKEY_verify_init(k) == 1 &&
	     EVP_PKEY_verify(k, c->sig, c->siglen, c->dgst, 32) == 1;
	EVP_PKEY_CTX_free(k);
	return ok;
}

/* One ECDHE share: a fresh X25519 key and the shared secret. */
static int op_ecdhe(void *p)
{
	op_ctx *c = p;
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY_CTX *k = eph != NULL ? EVP_PKEY_CTX_new(eph, NULL) : NULL;
	unsigned char secret[32];
	size_t len = sizeof(secret);
	int ok;

	ok = k != NULL && EVP_PKEY_derive_init(k) == 1 &&
	     EVP_PKEY_derive_set_peer(k, c->peer) == 1 &&
	     EVP_PKEY_derive(k, secret, &len) == 1;
	EVP_PKEY_CTX_free(k);
	EVP_PKEY_free(eph);
	return ok;
}

/*
 * What one provisioned device costs the server in public-key operations,
 * P-256 keys and certificates throughout (the server's TLS key included,
 * as ztp-ca --profile server makes it), TLS 1.3 full handshakes with
 * X25519, one connection per request:
 *
 *   connection    server signs  verifies                     ECDHE
 *   challenge     1 (CertVerify) 3 (factory leaf + issuing CA  1
 *                               chain, client CertVerify)
 *   bootstrap     1 + 1 issue    3 + 3 (factory certificate,   1
 *                               CSR, transcript)
 *   register      1              2 (device-CA chain, client    1
 *                               CertVerify) + 1 (peer check)
 *   credentials   1 + 1 issue    2 + 2 (peer check, CSR)       1
 *
 * = 6 signs, 16 verifies, 4 ECDHE. Reusing one connection for
 * challenge + bootstrap and another for register + credentials, as their
 * client identities allow and the device API does, removes two
 * handshakes: 2 signs, 5 verifies, 2 ECDHE, that is per handshake saved
 * 1 sign, 2.5 verifies and 1 ECDHE. The bound is computed for the
 * handshakes the devices were seen to make.
 */
#define BOUND_SIGNS 6
#define BOUND_VERIFIES 16
#define BOUND_REQUESTS 4
#define SAVED_SIGNS 1.0
#define SAVED_VERIFIES 2.5
#define SAVED_ECDHE 1.0

static double t_sign, t_verify, t_ecdhe;

static void measure_crypto(void)
{
	op_ctx c = {0};

	c.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	c.peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (c.key == NULL || c.peer == NULL)
		bench_fail("keygen failed");
	memset(c.dgst, 0x5a, sizeof(c.dgst));
	t_sign = time_op(op_sign, &c);
	t_verify = time_op(op_verify, &c);
	t_ecdhe = time_op(op_ecdhe, &c);
	EVP_PKEY_free(c.key);
	EVP_PKEY_free(c.peer);
}

/* ----------------------------------------------------- the reuse probe */

/* With OpenSSL directly, not libcurl, so that the probe decides for
 * certain whether a session is resumed (SSL_session_reused()). */
enum { REUSE_NONE, REUSE_SESSION, REUSE_CONNECTION };

static int tcp_connect(const char *url)
{
	char host[256], port[16];
	struct addrinfo hints = {0}, *ai = NULL;
	const char *h = url + strlen("https://"), *colon, *end;
	int fd = -1;

	if (strncmp(url, "https://", 8) != 0 ||
	    (colon = strchr(h, ':')) == NULL)
		bench_fail("--url: expected https://HOST:PORT");
	end = colon + 1 + strcspn(colon + 1, "/");
	if ((size_t)(colon - h) >= sizeof(host) ||
	    (size_t)(end - colon - 1) >= sizeof(port))
		bench_fail("--url: too long");
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* One POST on s; 1 for an HTTP 200 answer read whole. */
static int probe_request(SSL *s, const char *body, int keep)
{
	char req[512], buf[8192];
	size_t have = 0;
	long clen = -1, status = 0;
	char *eoh = NULL;
	int n;

	n = snprintf(req, sizeof(req),
		     "POST /ztp/v1/challenge HTTP/1.1\r\nHost: ztp\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: %s\r\n\r\n%s",
		     strlen(body), keep ? "keep-alive" : "close", body);
	if (SSL_write(s, req, n) != n)
		return 0;
	while (have < sizeof(buf) - 1) {
		n = SSL_read(s, buf + have, (int)(sizeof(buf) - 1 - have));
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\ncontent-length:");

			sscanf(buf, "HTTP/1.%*d %ld", &status);
			if (cl != NULL)
				clen = strtol(cl + 17, NULL, 10);
		}
		if (eoh != NULL && clen >= 0 &&
		    have >= (size_t)(eoh + 4 - buf) + (size_t)clen)
			return status == 200;
	}
	return 0;
}

/* Server CPU seconds per answered challenge, K requests one way; *reused
 * counts the connections that resumed a session. */
static double probe(int mode, long *answered, long *reused)
{
	char dir[4096], key[4200], cert[4200], body[128], id[ZTP_ID_MAX + 1];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_SESSION *sess = NULL;
	SSL *s = NULL;
	int fd = -1;
	double cpu0, cpu1;
	long ok = 0;

	device_dir(dir, sizeof(dir), 0);
	device_id(id, sizeof(id), 0);
	snprintf(key, sizeof(key), "%s/factory.key", dir);
	snprintf(cert, sizeof(cert), "%s/factory.pem", dir);
	snprintf(body, sizeof(body), "{\"device_id\":\"%s\"}", id);
	if (ctx == NULL ||
	    SSL_CTX_load_verify_locations(ctx, ca_abs, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		bench_fail("probe: cannot load the TLS identity");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*reused = 0;
	cpu0 = trees_cpu_s(NULL);
	for (long k = 0; k < opt.reuse_probe; k++) {
		if (s == NULL) {
			fd = tcp_connect(opt.probe_url);
			if (fd < 0)
				continue;
			s = SSL_new(ctx);
			SSL_set_fd(s, fd);
			SSL_set1_host(s, "127.0.0.1");
			if (sess != NULL)
				SSL_set_session(s, sess);
			if (SSL_connect(s) != 1) {
				SSL_free(s);
				close(fd);
				s = NULL;
				continue;
			}
			*reused += SSL_session_reused(s);
		}
		ok += probe_request(s, body, mode == REUSE_CONNECTION);
		if (mode != REUSE_CONNECTION) {
			if (mode == REUSE_SESSION) {
				SSL_SESSION_free(sess);
				/* TLS 1.3 tickets arrive after the handshake:
				 * the answer has been read by now. */
				sess = SSL_get1_session(s);
			}
			SSL_shutdown(s);
			SSL_free(s);
			close(fd);
			s = NULL;
		}
	}
	if (s != NULL) {
		SSL_shutdown(s);
		SSL_free(s);
		close(fd);
	}
	cpu1 = trees_cpu_s(NULL);
	SSL_SESSION_free(sess);
	SSL_CTX_free(ctx);
	*answered = ok;
	return ok > 0 ? (cpu1 - cpu0) / (double)ok : 0;
}

/* ---------------------------------------------------------------- main */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ztp-load --url URL [--url URL...] --ca-file F "
		"--verify-config F\n"
		"                --factory-cert F --factory-key F --dir DIR\n"
		"                [--devices N] [--threads T] [--prefix P] "
		"[--server-pid PID...]\n"
		"                [--max-attempts N] [--reuse-probe K] "
		"[--probe-url URL]\n");
	exit(status);
}

static long num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "ztp-load: %s: expected %ld..%ld, got '%s'\n",
			what, lo, hi, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"ca-file", required_argument, NULL, 'C'},
	    {"verify-config", required_argument, NULL, 'v'},
	    {"factory-cert", required_argument, NULL, 'c'},
	    {"factory-key", required_argument, NULL, 'k'},
	    {"dir", required_argument, NULL, 'd'},
	    {"devices", required_argument, NULL, 'n'},
	    {"threads", required_argument, NULL, 't'},
	    {"prefix", required_argument, NULL, 'p'},
	    {"server-pid", required_argument, NULL, 's'},
	    {"max-attempts", required_argument, NULL, 'a'},
	    {"reuse-probe", required_argument, NULL, 'r'},
	    {"probe-url", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'u':
			if (opt.n_urls == MAX_URLS)
				bench_fail("too many --url");
			opt.urls[opt.n_urls++] = optarg;
			break;
		case 'C':
			opt.ca_file = optarg;
			break;
		case 'v':
			opt.verify_config = optarg;
			break;
		case 'c':
			opt.factory_cert = optarg;
			break;
		case 'k':
			opt.factory_key = optarg;
			break;
		case 'd':
			opt.dir = optarg;
			break;
		case 'n':
			opt.devices = num(optarg, 1, 10000000, "--devices");
			break;
		case 't':
			opt.threads = num(optarg, 1, MAX_THREADS, "--threads");
			break;
		case 'p':
			if (ztp_id_validate(optarg, strlen(optarg)) != 0 ||
			    strlen(optarg) > ZTP_ID_MAX - 8)
				bench_fail(
				    "--prefix: not an identifier prefix");
			opt.prefix = optarg;
			break;
		case 's':
			if (opt.n_pids == MAX_PIDS)
				bench_fail("too many --server-pid");
			opt.pids[opt.n_pids++] =
			    num(optarg, 1, 1L << 30, "--server-pid");
			break;
		case 'a':
			opt.max_attempts =
			    num(optarg, 1, 100, "--max-attempts");
			break;
		case 'r':
			opt.reuse_probe =
			    num(optarg, 0, 1000000, "--reuse-probe");
			break;
		case 'P':
			opt.probe_url = optarg;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc || opt.n_urls == 0 || opt.ca_file == NULL ||
	    opt.verify_config == NULL || opt.factory_cert == NULL ||
	    opt.factory_key == NULL || opt.dir == NULL)
		usage(2);
	if (opt.probe_url == NULL)
		opt.probe_url = opt.urls[0];
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (s = malloc((size_t)n + 1)) == NULL ||
	    fread(s, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "ztp-load: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	s[n] = '\0';
	return s;
}

int main(int argc, char **argv)
{
	double t0, t1, cpu0, cpu1, self0, self1, busy0, busy1, tot0, tot1;
	double per_dev, bound, reuse_save, hs, saved, signs, verifies, ecdhe;
	double root0[MAX_PIDS], root1[MAX_PIDS];
	long ok = 0, failed = 0, handshakes = 0, requests = 0;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress, also into a file */
	CHECK("init", ztp_init());
	if (mkdir(opt.dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ztp-load: %s: %s\n", opt.dir, strerror(errno));
		return 1;
	}

	/* The world: factory identities and their enrollment. */
	CHECK("verifier", ztp_verifier_new(&enroller));
	CHECK("verify config",
	      ztp_verifier_load_config(enroller, opt.verify_config));
	CHECK("factory CA", ztp_ca_new(&factory_ca));
	CHECK("factory CA", ztp_ca_load_files(factory_ca, opt.factory_cert,
					      opt.factory_key, NULL, NULL));
	/* Factory certificates are the manufacturer's: recorded in a store
	 * of its own, not in the deployment's registry. */
	CHECK("store", ztp_store_open(&factory_store, "memory:"));
	CHECK("factory CA", ztp_ca_set_store(factory_ca, factory_store));
	factory_ca_pem = read_text(opt.factory_cert);
	if (realpath(opt.ca_file, ca_abs) == NULL) {
		fprintf(stderr, "ztp-load: %s: %s\n", opt.ca_file,
			strerror(errno));
		return 1;
	}
	printf("ztp-load: %ld devices, %ld threads, %d URL(s), %d server "
	       "process tree(s); libztp %s, %s\n",
	       opt.devices, opt.threads, opt.n_urls, opt.n_pids, ztp_version(),
	       OpenSSL_version(OPENSSL_VERSION));
	t0 = bench_wall();
	run_threads(setup_thread);
	t1 = bench_wall();
	printf("setup: %ld factory identities made and enrolled in %.1f s "
	       "(%.0f/s)\n",
	       opt.devices, t1 - t0, (double)opt.devices / (t1 - t0));

	/* The fleet. */
	cpu0 = trees_cpu_s(root0);
	self0 = self_cpu_s();
	machine_cpu_s(&busy0, &tot0);
	t0 = bench_wall();
	run_threads(provision_thread);
	t1 = bench_wall();
	cpu1 = trees_cpu_s(root1);
	self1 = self_cpu_s();
	machine_cpu_s(&busy1, &tot1);
	for (long t = 0; t < opt.threads; t++) {
		ok += workers[t].ok;
		failed += workers[t].failed;
	}
	printf("\nprovisioned (bootstrap, register, credentials): %ld of %ld "
	       "in %.2f s: %.1f devices/s; %ld failed\n",
	       ok, opt.devices, t1 - t0, (double)ok / (t1 - t0), failed);
	report_latency();
	report_codes();

	per_dev = ok > 0 ? (cpu1 - cpu0) / (double)ok : 0;
	printf("\nCPU per provisioned device: server %.2f ms, generator "
	       "%.2f ms; machine busy %.0f%% of %ld cores, of which others "
	       "(neither server nor generator) %.1f core-s\n",
	       per_dev * 1e3, ok > 0 ? (self1 - self0) / (double)ok * 1e3 : 0,
	       tot1 > tot0 ? 100.0 * (busy1 - busy0) / (tot1 - tot0) : 0,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       (busy1 - busy0) - (cpu1 - cpu0) - (self1 - self0));
	for (int i = 0; i < opt.n_pids && ok > 0; i++)
		printf("  server process tree %ld: %.2f ms per device\n",
		       opt.pids[i], (root1[i] - root0[i]) / (double)ok * 1e3);

	for (long t = 0; t < opt.threads; t++) {
		handshakes += workers[t].handshakes;
		requests += workers[t].requests;
	}
	hs = ok > 0 ? (double)handshakes / (double)ok : 0;
	printf("connections per provisioned device: %.2f TLS handshakes for "
	       "%.2f requests\n",
	       hs, ok > 0 ? (double)requests / (double)ok : 0);
	/* The bound for the handshakes made (at most one per request). */
	saved = hs < BOUND_REQUESTS ? BOUND_REQUESTS - hs : 0;
	signs = BOUND_SIGNS - saved * SAVED_SIGNS;
	verifies = BOUND_VERIFIES - saved * SAVED_VERIFIES;
	ecdhe = BOUND_REQUESTS - saved * SAVED_ECDHE;
	measure_crypto();
	bound = signs * t_sign + verifies * t_verify + ecdhe * t_ecdhe;
	reuse_save = saved * (SAVED_SIGNS * t_sign + SAVED_VERIFIES * t_verify +
			      SAVED_ECDHE * t_ecdhe);
	printf("\ncrypto bound (OpenSSL, one core of this machine): P-256 "
	       "sign %.1f us, verify %.1f us, X25519 ECDHE %.1f us;\n"
	       "  a device costs the server %.1f signs + %.1f verifies + %.1f "
	       "ECDHE = %.3f ms: at most %.0f devices/s per core\n",
	       t_sign * 1e6, t_verify * 1e6, t_ecdhe * 1e6, signs, verifies,
	       ecdhe, bound * 1e3, 1.0 / bound);
	if (per_dev > 0)
		printf("  share reached: the server spent %.2f ms per device, "
		       "%.0f%% of it on the bound's operations (%.1fx the "
		       "bound)\n",
		       per_dev * 1e3, 100.0 * bound / per_dev, per_dev / bound);
	printf("  the %.2f connections per device reused save %.3f ms of the "
	       "bound of %d new connections\n",
	       saved, reuse_save * 1e3, BOUND_REQUESTS);

	if (opt.reuse_probe > 0 && opt.n_pids > 0) {
		long a0, a1, a2, r0, r1, r2;
		double full = probe(REUSE_NONE, &a0, &r0);
		double resumed = probe(REUSE_SESSION, &a1, &r1);
		double kept = probe(REUSE_CONNECTION, &a2, &r2);

		printf("\nconnection reuse (%ld challenges each way, server "
		       "CPU per answered request):\n"
		       "  new connection, full handshake                 "
		       "%.2f ms (%ld answered)\n"
		       "  new connection, resumed TLS session            "
		       "%.2f ms (%ld answered, %ld resumed)\n"
		       "  one kept-alive connection                      "
		       "%.2f ms (%ld answered)\n"
		       "  => %.2f handshakes fewer per device save the server "
		       "about %.2f ms kept alive (resumed instead: %.2f ms); "
		       "it spent %.2f ms per device\n",
		       opt.reuse_probe, full * 1e3, a0, resumed * 1e3, a1, r1,
		       kept * 1e3, a2, saved, saved * (full - kept) * 1e3,
		       saved * (full - resumed) * 1e3, per_dev * 1e3);
	}

	for (long t = 0; t < opt.threads; t++)
		for (int e = 0; e < EP_N; e++)
			free(workers[t].lat[e].v);
	free(factory_ca_pem);
	ztp_verifier_free(enroller);
	ztp_ca_free(factory_ca);
	ztp_store_free(factory_store);
	return failed == 0 ? 0 : 1;
}
