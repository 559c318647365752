/*
 * bench_bootstrap — in-process bootstraps per second through
 * ztp_verifier_handle(), on one thread and on every core, next to the
 * OpenSSL bound measured in the same run: the cost of the public-key
 * operations a bootstrap cannot avoid with P-256 keys (4 ECDSA verifies:
 * factory certificate, issuing CA certificate, CSR self-signature,
 * transcript; 1 ECDSA sign: the new certificate), with pre-parsed keys.
 * Prints ratios; asserts nothing. Public API plus OpenSSL only.
 *
 * One thread is measured in CPU time of that thread, all cores in wall
 * time; each rate is the best of three runs. The machines this runs on are
 * shared, and the best run is the one least disturbed by others.
 * Then, on one thread, `assignment` check-ins of an activated device with
 * its operational certificate (bench-lifecycle): the lifecycle path, which
 * reads the certificate's and the device's records from the store, next
 * to parsing and verifying that certificate with OpenSSL.
 *
 * ZTP_BENCH_N sets the bootstraps per thread and run (default 1500), e.g.
 * for valgrind --tool=callgrind --toggle-collect=run_bootstraps (or
 * run_checkins), which
 * counts instructions and so is not disturbed at all.
 * ZTP_BENCH_STORE names the verifier's store (default "memory:"), e.g.
 * sqlite:/tmp/bench.db; ZTP_BENCH_LIMITS=1 keeps the per-device rate
 * limit on, with a rate and burst no run exhausts, so that its cost (a
 * store write per request where the store holds the buckets) is in the
 * figures; by default every limit is off.
 *
 * Where the work goes (callgrind, OpenSSL 3.0, per bootstrap, in units of
 * one P-256 verify as the bound does it): parsing factory_cert ~1.8, of
 * which ~1.4 is the public-key decoder context OpenSSL 3.0 builds afresh
 * in every d2i_X509() (OpenSSL issues 17950, 19119, 20051); the three
 * verifies (factory certificate, CSR, transcript) ~3.1 with their setup;
 * issuance ~0.7 (signature ~0.3, building and encoding the certificate);
 * reading the CSR ~0.1 beyond its verify (libztp/verifier/csr.c reads it
 * without the decoder); JSON, PEM, store, events ~0.4. The issuing CA's
 * own signature is verified once, when the verifier is configured, not
 * per request; that is why the bound's fourth verify is not spent.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <json-c/json.h>

#include <ztp/ztp.h>

#include "bench.h"

const char bench_name[] = "bench_bootstrap";

#define DEVICES 32
#define PER_THREAD_DEFAULT 1500
#define RUNS 3

static int PER_THREAD = PER_THREAD_DEFAULT;

static EVP_PKEY *p256(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (k == NULL)
		bench_die("keygen", -6);
	return k;
}

static char *bio_str(BIO *b)
{
	char *p, *s;
	long n = BIO_get_mem_data(b, &p);

	s = malloc((size_t)n + 1);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return s;
}

static X509_REQ *make_csr(EVP_PKEY *k, char **pem, unsigned char **der,
			  int *derlen)
{
	X509_REQ *r = X509_REQ_new();
	BIO *b = BIO_new(BIO_s_mem());

	X509_REQ_set_pubkey(r, k);
	if (!X509_REQ_sign(r, k, EVP_sha256()))
		bench_die("csr", -6);
	PEM_write_bio_X509_REQ(b, r);
	*pem = bio_str(b);
	*der = NULL;
	*derlen = i2d_X509_REQ(r, der);
	return r;
}

static char *sign_transcript(EVP_PKEY *k, const char *id, const char *nonce,
			     const unsigned char *csr_der, int csr_len)
{
	unsigned char msg[512], sig[128], h[32];
	size_t n = 0, siglen = sizeof(sig);
	unsigned int hl = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *b64;

	memcpy(msg, "ZTP-BOOTSTRAP-V1", 17);
	n = 17;
	memcpy(msg + n, id, strlen(id) + 1);
	n += strlen(id) + 1;
	memcpy(msg + n, nonce, strlen(nonce) + 1);
	n += strlen(nonce) + 1;
	EVP_Digest(csr_der, (size_t)csr_len, h, &hl, EVP_sha256(), NULL);
	memcpy(msg + n, h, 32);
	n += 32;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, n) != 1)
		bench_die("sign", -6);
	EVP_MD_CTX_free(ctx);
	b64 = malloc(4 * ((siglen + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	return b64;
}

/* ------------------------------------------------------------------ setup */

static ztp_verifier *v;
static char *ids[DEVICES], *fpems[DEVICES], *code0, *device_ca_pem;
static EVP_PKEY *fkeys[DEVICES];

static void setup(void)
{
	char *rc_pem, *rk_pem, *ic_pem, *ik_pem, *dc_pem, *dk_pem, *code;
	ztp_ca *root, *iss, *dca;
	ztp_store *mstore, *store;
	const char *uri = getenv("ZTP_BENCH_STORE");
	const char *limits = getenv("ZTP_BENCH_LIMITS");

	CHECK("store", ztp_store_open(&mstore, "memory:"));
	CHECK("store", ztp_store_open(&store, uri != NULL ? uri : "memory:"));
	CHECK("root", ztp_ca_create_root(&rc_pem, &rk_pem, "/CN=Bench Maker",
					 NULL, 3650));
	CHECK("ca", ztp_ca_new(&root));
	CHECK("ca", ztp_ca_load(root, rc_pem, rk_pem, NULL, NULL));
	CHECK("ca", ztp_ca_set_store(root, mstore));
	CHECK("sub", ztp_ca_create_sub(root, &ic_pem, &ik_pem,
				       "/CN=Bench Issuing", NULL, 3650, 0));
	CHECK("ca", ztp_ca_new(&iss));
	CHECK("ca", ztp_ca_load(iss, ic_pem, ik_pem, rc_pem, NULL));
	CHECK("ca", ztp_ca_set_store(iss, mstore));
	CHECK("root", ztp_ca_create_root(&dc_pem, &dk_pem,
					 "/CN=Bench Device CA", NULL, 3650));
	CHECK("ca", ztp_ca_new(&dca));
	CHECK("ca", ztp_ca_load(dca, dc_pem, dk_pem, NULL, NULL));
	CHECK("ca", ztp_ca_set_store(dca, store));
	device_ca_pem = dc_pem;

	CHECK("verifier", ztp_verifier_new(&v));
	CHECK("anchors",
	      ztp_verifier_set_trust_anchors(v, rc_pem, strlen(rc_pem)));
	CHECK("issuers", ztp_verifier_set_issuers(v, ic_pem, strlen(ic_pem)));
	CHECK("ca", ztp_verifier_set_ca(v, dca));
	CHECK("store", ztp_verifier_set_store(v, store));
	if (limits != NULL && strcmp(limits, "1") == 0)
		CHECK("rl", ztp_verifier_set_rate_limit(v, "device", 1000000,
							1000000));
	else
		CHECK("rl", ztp_verifier_set_rate_limit(v, "device", 0, 0));
	CHECK("rl", ztp_verifier_set_rate_limit(v, "global", 0, 0));
	CHECK("rl", ztp_verifier_set_rate_limit(v, "lifecycle", 0, 0));

	for (int i = 0; i < DEVICES; i++) {
		char *csr, *id = malloc(32);
		unsigned char *der;
		int dl;
		X509_REQ *r;

		snprintf(id, 32, "bench-%04d", i);
		ids[i] = id;
		fkeys[i] = p256();
		r = make_csr(fkeys[i], &csr, &der, &dl);
		CHECK("factory cert",
		      ztp_ca_issue(iss, &fpems[i], csr, strlen(csr), id, NULL,
				   "factory", 0));
		CHECK("enroll",
		      ztp_verifier_enroll(v, &code, id, fpems[i],
					  strlen(fpems[i]), NULL, NULL));
		if (i == 0)
			code0 = code;
		else
			ztp_free(code);
		free(csr);
		OPENSSL_free(der);
		X509_REQ_free(r);
	}
	/* The CA handles and stores live as long as the process. */
}

/* A ready request: challenge fetched, fresh key, CSR, signature. */
static char *make_request(int dev)
{
	char body[128], *out = NULL, *csr, *sig, *req;
	json_object *resp, *n, *o;
	unsigned char *der;
	int st = 0, dl;
	EVP_PKEY *k = p256();
	X509_REQ *r;

	snprintf(body, sizeof(body), "{\"device_id\":\"%s\"}", ids[dev]);
	CHECK("challenge", ztp_verifier_handle(v, &st, &out, "challenge", body,
					       strlen(body), NULL, 0));
	resp = json_tokener_parse(out);
	if (st != 200 || !json_object_object_get_ex(resp, "nonce", &n))
		bench_die("challenge answer", -1);
	r = make_csr(k, &csr, &der, &dl);
	sig = sign_transcript(fkeys[dev], ids[dev], json_object_get_string(n),
			      der, dl);
	o = json_object_new_object();
	json_object_object_add(o, "device_id",
			       json_object_new_string(ids[dev]));
	json_object_object_add(o, "nonce", json_object_get(n));
	json_object_object_add(o, "csr", json_object_new_string(csr));
	json_object_object_add(o, "factory_cert",
			       json_object_new_string(fpems[dev]));
	json_object_object_add(o, "signature", json_object_new_string(sig));
	req = strdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	json_object_put(resp);
	ztp_free(out);
	free(csr);
	free(sig);
	OPENSSL_free(der);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return req;
}

/* ------------------------------------------------------------------ runs */

typedef struct job {
	char **reqs;
	int n;
	int failures;
	EVP_PKEY *key;	    /* bound: the key to sign with */
	unsigned char *sig; /* bound: a signature to verify */
	size_t siglen;
	double cpu; /* CPU seconds the thread spent */
} job;

static void *run_bootstraps(void *p)
{
	job *j = p;
	double t0 = bench_cpu();

	for (int i = 0; i < j->n; i++) {
		char *out = NULL;
		int st = 0;

		if (ztp_verifier_handle(v, &st, &out, "bootstrap", j->reqs[i],
					strlen(j->reqs[i]), NULL, 0) != 0 ||
		    st != 200)
			j->failures++;
		ztp_free(out);
	}
	j->cpu = bench_cpu() - t0;
	return NULL;
}

static const unsigned char bound_msg[] = "a transcript-sized message of "
					 "about one hundred and fifty bytes, "
					 "like the one a device signs .....";

static void *run_bound(void *p)
{
	job *j = p;
	unsigned char sig[128];
	double t0 = bench_cpu();

	for (int i = 0; i < j->n; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t sl = sizeof(sig);

		for (int k = 0; k < 4; k++) {
			EVP_MD_CTX_reset(ctx);
			if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
						 j->key) != 1 ||
			    EVP_DigestVerify(ctx, j->sig, j->siglen, bound_msg,
					     sizeof(bound_msg)) != 1)
				j->failures++;
		}
		EVP_MD_CTX_reset(ctx);
		if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, j->key) !=
			1 ||
		    EVP_DigestSign(ctx, sig, &sl, bound_msg,
				   sizeof(bound_msg)) != 1)
			j->failures++;
		EVP_MD_CTX_free(ctx);
	}
	j->cpu = bench_cpu() - t0;
	return NULL;
}

/* Operations per second: per CPU second of the thread for one thread,
 * per wall-clock second for several. */
static double timed(int threads, job *jobs, void *(*fn)(void *))
{
	pthread_t t[64];
	double t0 = bench_wall(), wall;
	int total = 0;

	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, fn, &jobs[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += jobs[i].n;
		if (jobs[i].failures)
			bench_die("benchmark run", -23);
	}
	wall = bench_wall() - t0;
	if (threads == 1 && jobs[0].cpu > 0)
		return total / jobs[0].cpu;
	return total / wall;
}

/* ------------------------------------------------------------- lifecycle */

/* The answer's "certificate" of a 200 to endpoint ep with peer. */
static char *lifecycle_cert(const char *ep, const char *body, const char *peer)
{
	json_object *resp, *c;
	char *out = NULL, *pem;
	int st = 0;

	CHECK(ep, ztp_verifier_handle(v, &st, &out, ep, body, strlen(body),
				      peer, peer != NULL ? strlen(peer) : 0));
	resp = json_tokener_parse(out);
	if (st != 200 || !json_object_object_get_ex(resp, "certificate", &c))
		bench_die(ep, -1);
	pem = strdup(json_object_get_string(c));
	json_object_put(resp);
	ztp_free(out);
	return pem;
}

static char *csr_body(void)
{
	EVP_PKEY *k = p256();
	unsigned char *der;
	char *csr, *body;
	int dl;
	X509_REQ *r = make_csr(k, &csr, &der, &dl);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "csr", json_object_new_string(csr));
	body = strdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(csr);
	OPENSSL_free(der);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return body;
}

/* One activated device's operational certificate: bootstrap, register,
 * claim, credentials. */
static char *operational_cert(void)
{
	char *req = make_request(0), *boot, *body, *op, *out = NULL;
	const char *reg = "{\"device_type\":\"bench\",\"firmware_version\":"
			  "\"1\",\"capabilities\":[]}";
	int st = 0;

	boot = lifecycle_cert("bootstrap", req, NULL);
	CHECK("register", ztp_verifier_handle(v, &st, &out, "register", reg,
					      strlen(reg), boot, strlen(boot)));
	if (st != 200)
		bench_die("register answer", -1);
	ztp_free(out);
	CHECK("claim", ztp_verifier_claim(v, ids[0], code0, "bench"));
	body = csr_body();
	op = lifecycle_cert("credentials", body, boot);
	free(body);
	free(boot);
	free(req);
	return op;
}

/* PEM text to a certificate. */
static X509 *pem_cert(const char *pem)
{
	BIO *m = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(m, NULL, NULL, NULL);

	BIO_free(m);
	if (x == NULL)
		bench_die("PEM certificate", -1);
	return x;
}

/* PER_THREAD check-ins (a function of its own, never inlined, for
 * callgrind's --toggle-collect=run_checkins). */
__attribute__((noinline)) static void run_checkins(const char *op)
{
	for (int i = 0; i < PER_THREAD; i++) {
		char *out = NULL;
		int st = 0;

		if (ztp_verifier_handle(v, &st, &out, "assignment", "{}", 2, op,
					strlen(op)) != 0 ||
		    st != 200)
			bench_die("assignment", -1);
		ztp_free(out);
	}
}

/* Per CPU second: assignment check-ins with the operational certificate
 * (the peer certificate checked against the device CA and looked up with
 * the device's record and certificates in the store), and the OpenSSL
 * part they cannot avoid: parsing that certificate and verifying its
 * signature with the device CA's key. */
static void lifecycle_bench(void)
{
	char *op = operational_cert();
	X509 *ca = pem_cert(device_ca_pem);
	double best = 0, bound = 0, t0, t;

	for (int run = 0; run < RUNS; run++) {
		t0 = bench_cpu();
		run_checkins(op);
		t = bench_cpu() - t0;
		best = PER_THREAD / t > best ? PER_THREAD / t : best;
		t0 = bench_cpu();
		for (int i = 0; i < PER_THREAD; i++) {
			X509 *x = pem_cert(op);

			if (X509_verify(x, X509_get0_pubkey(ca)) != 1)
				bench_die("bound", -1);
			X509_free(x);
		}
		t = bench_cpu() - t0;
		bound = PER_THREAD / t > bound ? PER_THREAD / t : bound;
	}
	printf("\nbench-lifecycle: assignment check-ins through "
	       "ztp_verifier_handle() with an\n"
	       "  operational certificate, compared with the OpenSSL part "
	       "they cannot avoid\n"
	       "  (parse the PEM certificate, verify its P-256 signature)\n");
	printf("%-10s %14s %14s %8s\n", "threads", "check-ins/s",
	       "openssl bound", "ratio");
	printf("%-10d %14.0f %14.0f %7.0f%%\n", 1, best, bound,
	       100.0 * best / bound);
	X509_free(ca);
	free(op);
}

int main(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int counts[2] = {1, (int)(cores < 1 ? 1 : cores > 64 ? 64 : cores)};
	EVP_PKEY *bkey = p256();
	unsigned char sig[128];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	long per_thread;

	/* A shorter run for profiling. */
	per_thread = bench_env_long("ZTP_BENCH_N", PER_THREAD_DEFAULT);
	PER_THREAD = per_thread > 100000 ? PER_THREAD_DEFAULT : (int)per_thread;
	CHECK("init", ztp_init());
	setup();
	EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, bkey);
	EVP_DigestSign(ctx, sig, &siglen, bound_msg, sizeof(bound_msg));
	EVP_MD_CTX_free(ctx);

	printf("bench-bootstrap: in-process bootstraps through "
	       "ztp_verifier_handle()\n"
	       "  compared with the OpenSSL bound measured in the same run: "
	       "the 4 ECDSA\n"
	       "  P-256 verifies and 1 sign a bootstrap cannot avoid, with "
	       "pre-parsed keys;\n"
	       "  ratio: bootstraps/s as a percentage of the bound's rate\n");
	printf("bench_bootstrap: P-256 factory keys, CSRs and device CA; "
	       "%d cores; best of %d runs; store %s; device limit %s\n",
	       (int)cores, RUNS,
	       getenv("ZTP_BENCH_STORE") != NULL ? getenv("ZTP_BENCH_STORE")
						 : "memory:",
	       getenv("ZTP_BENCH_LIMITS") != NULL &&
		       strcmp(getenv("ZTP_BENCH_LIMITS"), "1") == 0
		   ? "on"
		   : "off");
	printf("%-10s %14s %14s %8s\n", "threads", "bootstraps/s",
	       "openssl bound", "ratio");
	for (int c = 0; c < 2; c++) {
		int threads = counts[c];
		job jobs[64];
		double rate = 0, bound = 0, r;

		if (c == 1 && threads == counts[0])
			break;
		for (int run = 0; run < RUNS; run++) {
			memset(jobs, 0, sizeof(jobs));
			for (int i = 0; i < threads; i++) {
				jobs[i].n = PER_THREAD;
				jobs[i].reqs =
				    calloc(PER_THREAD, sizeof(char *));
				for (int q = 0; q < PER_THREAD; q++)
					jobs[i].reqs[q] = make_request(
					    (i * PER_THREAD + q) % DEVICES);
			}
			r = timed(threads, jobs, run_bootstraps);
			rate = r > rate ? r : rate;
			for (int i = 0; i < threads; i++) {
				for (int q = 0; q < PER_THREAD; q++)
					free(jobs[i].reqs[q]);
				free(jobs[i].reqs);
				memset(&jobs[i], 0, sizeof(jobs[i]));
				jobs[i].n = PER_THREAD;
				jobs[i].key = bkey;
				jobs[i].sig = sig;
				jobs[i].siglen = siglen;
			}
			r = timed(threads, jobs, run_bound);
			bound = r > bound ? r : bound;
		}
		printf("%-10d %14.0f %14.0f %7.0f%%\n", threads, rate, bound,
		       100.0 * rate / bound);
	}
	printf("(1 thread: per CPU second of the thread; %d threads: per "
	       "wall-clock second)\n",
	       counts[1]);
	lifecycle_bench();
	EVP_PKEY_free(bkey);
	return 0;
}
