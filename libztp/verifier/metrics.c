/*
 * libztp — the verifier's metrics in the Prometheus text exposition
 * format, version 0.0.4.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Counters are C11 atomics updated with relaxed ordering on the request
 * path (no lock is taken to count), so a scrape that runs beside requests
 * sees each counter at some value it held; counters of one family are not
 * a snapshot of one instant, which Prometheus does not need. Gauges are
 * read from the store at scrape time with the store's counting operations
 * (ztp_store_device_count(), ztp_store_cert_count_expiring()), which the
 * built-in backends answer without reading the whole registry.
 *
 * Every label value comes from a fixed table of this library (endpoint,
 * wire code, scope, profile, state names), none from a request, so no
 * value needs escaping and the number of series is bounded.
 */
#include "verifier/internal.h"
#include "store/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Upper bounds of the latency buckets, seconds; +Inf follows. */
static const double bucket_le[ZTP__M_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

static const char *const scope_names[ZTP__RL_SCOPES] = {
    [ZTP__RL_SCOPE_GLOBAL] = "global",
    [ZTP__RL_SCOPE_DEVICE] = "device",
    [ZTP__RL_SCOPE_LIFECYCLE] = "lifecycle",
    [ZTP__RL_SCOPE_CLAIM] = "claim",
    [ZTP__RL_SCOPE_CLAIM_GLOBAL] = "claim_global",
};

static const char *const store_op_names[ZTP__M_STORE_OPS] = {
    [ZTP__M_STORE_REQUEST] = "request",
    [ZTP__M_STORE_EVENT] = "event_log",
    [ZTP__M_STORE_GAUGES] = "gauges",
};

const char *const ztp__hook_outcome_names[ZTP__M_HOOK_OUTCOMES] = {
    [ZTP__M_HOOK_ACCEPTED] = "accepted",
    [ZTP__M_HOOK_REJECTED] = "rejected",
    [ZTP__M_HOOK_FAILED] = "failed",
};

static const char *const profile_names[ZTP__M_PROFILES] = {
    ZTP_CA_PROFILE_BOOTSTRAP,
    ZTP_CA_PROFILE_OPERATIONAL,
};

/* The windows of the expiry gauges. */
static const struct {
	const char *label;
	int64_t seconds;
} windows[ZTP__M_WINDOWS] = {
    {"7d", 7 * 86400},
    {"30d", 30 * 86400},
};

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

int64_t ztp__metrics_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ztp__metrics_request(ztp_verifier *v, int endpoint, int wire,
			  int64_t started)
{
	ztp__metrics *m = &v->metrics;
	int64_t ns = ztp__metrics_clock() - started;
	size_t e, c, b;

	e = endpoint >= 0 && endpoint < ZTP__E_COUNT ? (size_t)endpoint
						     : ZTP__E_COUNT;
	c = wire >= 0 && wire < ZTP__W_COUNT ? (size_t)wire + 1 : 0;
	if (wire != ZTP__W_NONE && c == 0)
		c = (size_t)ZTP__W_INTERNAL_ERROR + 1;
	if (ns < 0)
		ns = 0;
	for (b = 0; b < ZTP__M_BUCKETS; b++)
		if ((double)ns <= bucket_le[b] * 1e9)
			break;
	add(&m->requests[e][c], 1);
	add(&m->latency[e][b], 1);
	add(&m->latency_ns[e], (uint64_t)ns);
}

void ztp__metrics_rate_limited(ztp_verifier *v, int scope)
{
	if (scope >= 0 && scope < ZTP__RL_SCOPES)
		add(&v->metrics.rate_limited[scope], 1);
}

int ztp__metrics_scope(const char *name)
{
	for (int i = 0; i < ZTP__RL_SCOPES; i++)
		if (strcmp(scope_names[i], name) == 0)
			return i;
	return -1;
}

void ztp__metrics_store_error(ztp_verifier *v, int op)
{
	if (op >= 0 && op < ZTP__M_STORE_OPS)
		add(&v->metrics.store_errors[op], 1);
}

void ztp__metrics_issued(ztp_verifier *v, const char *profile)
{
	for (size_t i = 0; i < ZTP__M_PROFILES; i++)
		if (strcmp(profile_names[i], profile) == 0)
			add(&v->metrics.issued[i], 1);
}

void ztp__metrics_hook(ztp_verifier *v, int outcome)
{
	if (outcome >= 0 && outcome < ZTP__M_HOOK_OUTCOMES)
		add(&v->metrics.hook[outcome], 1);
}

/* ---------------------------------------------------------------- text */

/* Lines are short and made of this file's names and numbers. */
static int line(ztp__buf *out, const char *fmt, ...) ZTP__PRINTF(2, 3);
static int line(ztp__buf *out, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		return ztp__err(ZTP_EINTERNAL, "metrics: line too long");
	return ztp__buf_append(out, text, (size_t)n);
}

static int family(ztp__buf *out, const char *name, const char *type,
		  const char *help)
{
	return line(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		    type);
}

static const char *endpoint_label(size_t e)
{
	return e < ZTP__E_COUNT ? ztp__endpoint_name((int)e) : "unknown";
}

static const char *code_label(size_t c)
{
	return c == 0 ? "ok" : ztp__wire_name((int)c - 1);
}

/* What the store told about itself, read before anything is written so
 * that a failure shows in this scrape's store error counter. */
typedef struct gauges {
	bool have_states, have_expiring, up;
	uint64_t states[ZTP__STORE_STATES];
	uint64_t expiring[ZTP__M_PROFILES][ZTP__M_WINDOWS];
} gauges;

static void read_gauges(ztp_verifier *v, gauges *g)
{
	int64_t now = ztp__now(&v->clock);
	int rc = ZTP_OK;

	memset(g, 0, sizeof(*g));
	if (v->store == NULL)
		return;
	g->up = true;
	g->have_states = true;
	for (int i = 0; i < ZTP__STORE_STATES && rc == ZTP_OK; i++)
		rc = ztp_store_device_count(v->store, ztp__store_state_name(i),
					    &g->states[i]);
	if (rc < 0)
		g->have_states = false;
	if (rc < 0 && rc != ZTP_EUNSUPPORTED)
		g->up = false;
	g->have_expiring = g->up;
	rc = ZTP_OK;
	for (size_t p = 0; p < ZTP__M_PROFILES && g->up && rc == ZTP_OK; p++)
		for (size_t w = 0; w < ZTP__M_WINDOWS && rc == ZTP_OK; w++)
			rc = ztp_store_cert_count_expiring(
			    v->store, profile_names[p], now,
			    now + windows[w].seconds, &g->expiring[p][w]);
	if (rc < 0)
		g->have_expiring = false;
	if (rc < 0 && rc != ZTP_EUNSUPPORTED)
		g->up = false;
	if (!g->up)
		ztp__metrics_store_error(v, ZTP__M_STORE_GAUGES);
	ztp_error_clear();
}

static int write_requests(ztp__buf *out, ztp__metrics *m)
{
	int rc = ZTP_OK;

	ZTP_CHECK(family(out, "ztp_requests_total", "counter",
			 "Requests served, by endpoint and wire code (ok: "
			 "accepted)."));
	for (size_t e = 0; e < ZTP__M_ENDPOINTS; e++)
		for (size_t c = 0; c < ZTP__M_CODES; c++) {
			uint64_t n = get(&m->requests[e][c]);

			/* Every endpoint's ok series exists from the start,
			 * so rate() sees its first requests; refusals appear
			 * once they happen. */
			if (n == 0 && (c != 0 || e == ZTP__E_COUNT))
				continue;
			ZTP_CHECK(line(out,
				       "ztp_requests_total{endpoint=\"%s\","
				       "code=\"%s\"} %llu\n",
				       endpoint_label(e), code_label(c),
				       (unsigned long long)n));
		}

	ZTP_CHECK(family(out, "ztp_request_duration_seconds", "histogram",
			 "Time ztp_verifier_handle() took, by endpoint."));
	for (size_t e = 0; e < ZTP__M_ENDPOINTS; e++) {
		uint64_t cum = 0;

		for (size_t b = 0; b <= ZTP__M_BUCKETS; b++) {
			char le[32];

			cum += get(&m->latency[e][b]);
			if (b < ZTP__M_BUCKETS)
				snprintf(le, sizeof(le), "%g", bucket_le[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			ZTP_CHECK(line(out,
				       "ztp_request_duration_seconds_bucket{"
				       "endpoint=\"%s\",le=\"%s\"} %llu\n",
				       endpoint_label(e), le,
				       (unsigned long long)cum));
		}
		ZTP_CHECK(line(out,
			       "ztp_request_duration_seconds_sum{endpoint="
			       "\"%s\"} %.9f\n",
			       endpoint_label(e),
			       (double)get(&m->latency_ns[e]) / 1e9));
		ZTP_CHECK(line(out,
			       "ztp_request_duration_seconds_count{endpoint="
			       "\"%s\"} %llu\n",
			       endpoint_label(e), (unsigned long long)cum));
	}
cleanup:
	return rc;
}

static int write_counters(ztp__buf *out, ztp_verifier *v)
{
	ztp__metrics *m = &v->metrics;
	uint64_t suppressed;
	int rc = ZTP_OK;

	ZTP_CHECK(family(out, "ztp_rate_limited_total", "counter",
			 "Requests and claim attempts refused by a rate limit, "
			 "by bucket scope."));
	for (size_t i = 0; i < ZTP__RL_SCOPES; i++)
		ZTP_CHECK(line(out,
			       "ztp_rate_limited_total{scope=\"%s\"} %llu\n",
			       scope_names[i],
			       (unsigned long long)get(&m->rate_limited[i])));
	ZTP_CHECK(family(out, "ztp_store_errors_total", "counter",
			 "Registry store failures, by what was being done."));
	for (size_t i = 0; i < ZTP__M_STORE_OPS; i++)
		ZTP_CHECK(line(out, "ztp_store_errors_total{op=\"%s\"} %llu\n",
			       store_op_names[i],
			       (unsigned long long)get(&m->store_errors[i])));
	ZTP_CHECK(family(out, "ztp_certificates_issued_total", "counter",
			 "Certificates the verifier issued, by profile."));
	for (size_t i = 0; i < ZTP__M_PROFILES; i++)
		ZTP_CHECK(line(out,
			       "ztp_certificates_issued_total{profile=\"%s\"} "
			       "%llu\n",
			       profile_names[i],
			       (unsigned long long)get(&m->issued[i])));
	if (v->hook != NULL) {
		ZTP_CHECK(
		    family(out, "ztp_approval_hook_total", "counter",
			   "Verdicts of the approval hook, by outcome "
			   "(failed: it failed or overran its budget, and "
			   "the request was denied)."));
		for (size_t i = 0; i < ZTP__M_HOOK_OUTCOMES; i++)
			ZTP_CHECK(line(
			    out,
			    "ztp_approval_hook_total{outcome=\"%s\"} %llu\n",
			    ztp__hook_outcome_names[i],
			    (unsigned long long)get(&m->hook[i])));
	}
	pthread_mutex_lock(&v->stats_lock);
	suppressed = v->n_suppressed;
	pthread_mutex_unlock(&v->stats_lock);
	ZTP_CHECK(family(out, "ztp_events_suppressed_total", "counter",
			 "Refusal events kept out of the durable event log by "
			 "its budget."));
	ZTP_CHECK(line(out, "ztp_events_suppressed_total %llu\n",
		       (unsigned long long)suppressed));
cleanup:
	return rc;
}

static int write_gauges(ztp__buf *out, const gauges *g, bool have_store)
{
	int rc = ZTP_OK;

	if (!have_store)
		return ZTP_OK;
	ZTP_CHECK(family(out, "ztp_store_up", "gauge",
			 "Whether this scrape could read the registry store."));
	ZTP_CHECK(line(out, "ztp_store_up %d\n", g->up ? 1 : 0));
	if (g->have_states) {
		ZTP_CHECK(family(out, "ztp_devices", "gauge",
				 "Devices in the registry, by state."));
		for (int i = 0; i < ZTP__STORE_STATES; i++)
			ZTP_CHECK(line(out, "ztp_devices{state=\"%s\"} %llu\n",
				       ztp__store_state_name(i),
				       (unsigned long long)g->states[i]));
	}
	if (g->have_expiring) {
		ZTP_CHECK(family(out, "ztp_certificates_expiring", "gauge",
				 "Certificates not revoked whose notAfter is "
				 "within the window from now, by profile."));
		for (size_t p = 0; p < ZTP__M_PROFILES; p++)
			for (size_t w = 0; w < ZTP__M_WINDOWS; w++)
				ZTP_CHECK(line(
				    out,
				    "ztp_certificates_expiring{profile=\"%s\","
				    "within=\"%s\"} %llu\n",
				    profile_names[p], windows[w].label,
				    (unsigned long long)g->expiring[p][w]));
	}
cleanup:
	return rc;
}

int ztp_verifier_metrics(ztp_verifier *v, char **text)
{
	ztp__buf out = {0};
	gauges g;
	int rc = ZTP_OK;

	ZTP_ARG(text != NULL);
	*text = NULL;
	ZTP_ARG(v != NULL);
	read_gauges(v, &g);
	ZTP_CHECK(write_requests(&out, &v->metrics));
	ZTP_CHECK(write_counters(&out, v));
	ZTP_CHECK(write_gauges(&out, &g, v->store != NULL));
	ZTP_CHECK(ztp__buf_terminate(&out));
	*text = (char *)ztp__buf_steal(&out, NULL);
cleanup:
	ztp__buf_free(&out);
	return rc;
}
