/*
 * libztp — the approval hook: the caller's own decision, asked before
 * anything is issued at bootstrap and credentials, and before a claim
 * binds a device (ztp_verifier_set_hook). doc/SECURITY.md "Approval hook".
 * SPDX-License-Identifier: Apache-2.0
 *
 * Fail closed: a hook that returns an error, writes no verdict, a verdict
 * that is not exactly one of the documented shapes, or answers after its
 * budget, denies (approval_failed), and the refusal carries an event of
 * its own. The hook is synchronous and cannot be interrupted: the budget
 * is checked when it returns, so a late allow is still a denial.
 */
#include "verifier/internal.h"

#include "store/records.h"

#include <string.h>
#include <time.h>

#define HOOK_MESSAGE_MAX 200
#define HOOK_ATTRS_MAX 2048

int ztp_verifier_set_hook(ztp_verifier *v, ztp_hook_fn fn, void *user,
			  int64_t budget_ms)
{
	ZTP_ARG(v != NULL);
	ZTP_ARG(fn == NULL || (budget_ms >= 1 && budget_ms <= 600000));
	v->hook = fn;
	v->hook_user = user;
	v->hook_budget_ms = budget_ms;
	return ZTP_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hook_event(ztp_verifier *v, const ztp__hook_ctx *c,
		       const char *result, const char *why,
		       json_object *attributes, bool durable)
{
	json_object *ev = json_object_new_object();
	char ts[32];

	if (ev == NULL)
		return;
	ztp__time_rfc3339(ts, c->now);
	if (ztp__json_add_str(ev, "type", "approval") == ZTP_OK &&
	    ztp__json_add_str(ev, "result", result) == ZTP_OK &&
	    ztp__json_add_str(ev, "event", c->event) == ZTP_OK &&
	    ztp__json_add_str(ev, "device_id", c->device_id) == ZTP_OK &&
	    (why == NULL || ztp__json_add_str(ev, "message", why) == ZTP_OK) &&
	    (attributes == NULL ||
	     ztp__json_add(ev, "attributes", json_object_get(attributes)) ==
		 ZTP_OK) &&
	    ztp__json_add_str(ev, "time", ts) == ZTP_OK)
		ztp__verifier_log(v, ev, durable);
	json_object_put(ev);
}

static int context_json(const ztp__hook_ctx *c, char **out)
{
	json_object *o = json_object_new_object();
	int rc = ZTP_OK;

	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_int(o, "version", 1));
	ZTP_CHECK(ztp__json_add_str(o, "event", c->event));
	ZTP_CHECK(ztp__json_add_str(o, "device_id", c->device_id));
	ZTP_CHECK(ztp__json_add_str(o, "state", c->state));
	ZTP_CHECK(ztp__json_add_str(
	    o, "tenant", c->tenant != NULL && c->tenant[0] ? c->tenant : NULL));
	if (c->fingerprint != NULL)
		ZTP_CHECK(ztp__json_add_str(o, "fingerprint", c->fingerprint));
	if (c->group != NULL && c->group[0] != '\0')
		ZTP_CHECK(ztp__json_add_str(o, "group", c->group));
	ZTP_CHECK(ztp__json_dump(out, o));
cleanup:
	json_object_put(o);
	return rc;
}

/* The verdict, strictly: {"decision":"allow"[,"tenant"][,"attributes"]}
 * or {"decision":"deny"[,"code"][,"message"]}. */
static int read_verdict(const ztp__hook_ctx *c, const char *text, size_t len,
			ztp__hook_verdict *out, json_object **attrs)
{
	static const char *const keys[] = {"decision", "code",	     "message",
					   "tenant",   "attributes", NULL};
	const char *decision = NULL, *code = NULL, *msg = NULL, *tenant = NULL;
	size_t tlen = 0, mlen = 0;
	json_object *o = NULL, *a = NULL;
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__json_parse(&o, text, len, ZTP_HOOK_VERDICT_MAX, 3));
	ZTP_ENSURE(json_object_is_type(o, json_type_object), ZTP_EPARSE,
		   "verdict: not a JSON object");
	ZTP_CHECK(ztp__json_only_keys(o, keys, "verdict"));
	ZTP_CHECK(ztp__json_str(o, "decision", true, 8, &decision, NULL));
	ZTP_CHECK(ztp__json_str(o, "code", false, 64, &code, NULL));
	ZTP_CHECK(
	    ztp__json_str(o, "message", false, HOOK_MESSAGE_MAX, &msg, &mlen));
	ZTP_CHECK(
	    ztp__json_str(o, "tenant", false, ZTP_ID_MAX, &tenant, &tlen));
	ZTP_CHECK(ztp__json_object(o, "attributes", false, &a));
	if (strcmp(decision, "deny") == 0) {
		ZTP_ENSURE(tenant == NULL && a == NULL, ZTP_EPARSE,
			   "verdict: a denial carries no additions");
		out->allow = false;
		out->wire = code != NULL ? ztp__wire_from_name(code)
					 : ZTP__W_APPROVAL_DENIED;
		/* A denial is the hook's, never the library's own failure
		 * or a code that would tell the device to retry. */
		ZTP_ENSURE(out->wire != ZTP__W_NONE &&
			       out->wire != ZTP__W_INTERNAL_ERROR &&
			       out->wire != ZTP__W_APPROVAL_FAILED &&
			       out->wire != ZTP__W_RATE_LIMITED,
			   ZTP_EPARSE,
			   "verdict: code is not a wire code the hook "
			   "may give");
		snprintf(out->message, sizeof(out->message), "%s",
			 msg != NULL ? msg : "refused by the approval hook");
		for (size_t i = 0; out->message[i] != '\0'; i++)
			if ((unsigned char)out->message[i] < 0x20 ||
			    (unsigned char)out->message[i] > 0x7e)
				out->message[i] = '?';
		goto cleanup;
	}
	ZTP_ENSURE(strcmp(decision, "allow") == 0, ZTP_EPARSE,
		   "verdict: decision is neither allow nor deny");
	ZTP_ENSURE(code == NULL && msg == NULL, ZTP_EPARSE,
		   "verdict: code and message belong to a denial");
	out->allow = true;
	if (tenant != NULL) {
		ZTP_CHECK(ztp__id_check(tenant, tlen, "verdict: tenant"));
		ZTP_ENSURE(c->may_assign, ZTP_EPARSE,
			   "verdict: no tenant may be assigned at %s",
			   c->event);
		memcpy(out->tenant, tenant, tlen + 1);
	}
	if (a != NULL) {
		const char *s =
		    json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);

		ZTP_ENSURE(s != NULL && strlen(s) <= HOOK_ATTRS_MAX,
			   ZTP_ETOOBIG, "verdict: attributes over %d bytes",
			   HOOK_ATTRS_MAX);
		*attrs = json_object_get(a);
	}
cleanup:
	json_object_put(o);
	return rc;
}

int ztp__verifier_approve(ztp_verifier *v, ztp__vdec *d, const ztp__hook_ctx *c,
			  ztp__hook_verdict *out)
{
	char *ctx = NULL, *buf = NULL, why[256];
	json_object *attrs = NULL;
	int64_t t0;
	int n, rc = ZTP_OK;

	memset(out, 0, sizeof(*out));
	out->allow = true;
	if (v->hook == NULL)
		return ZTP_OK;
	ZTP_CHECK(context_json(c, &ctx));
	buf = ztp__calloc(1, ZTP_HOOK_VERDICT_MAX + 1);
	ZTP_ENSURE(buf != NULL, ZTP_ENOMEM, "out of memory");
	t0 = mono_ms();
	n = v->hook(v->hook_user, ctx, buf, ZTP_HOOK_VERDICT_MAX + 1);
	if (mono_ms() - t0 > v->hook_budget_ms) {
		snprintf(why, sizeof(why),
			 "the approval hook took over its budget of %lld ms",
			 (long long)v->hook_budget_ms);
	} else if (n < 0 || n > ZTP_HOOK_VERDICT_MAX) {
		snprintf(why, sizeof(why), "the approval hook failed (%d)", n);
	} else {
		buf[n] = '\0';
		rc = read_verdict(c, buf, (size_t)n, out, &attrs);
		if (rc == ZTP_ENOMEM)
			goto cleanup;
		if (rc == ZTP_OK) {
			int outcome = out->allow ? ZTP__M_HOOK_ACCEPTED
						 : ZTP__M_HOOK_REJECTED;

			ztp__metrics_hook(v, outcome);
			hook_event(v, c, ztp__hook_outcome_names[outcome],
				   out->allow ? NULL : out->message, attrs,
				   attrs != NULL);
			if (!out->allow)
				rc = ztp__reject(d, out->wire, ZTP_EDENIED,
						 "%s", out->message);
			goto cleanup;
		}
		snprintf(why, sizeof(why), "the approval hook's verdict: %s",
			 ztp_error_last_message());
	}
	ztp__metrics_hook(v, ZTP__M_HOOK_FAILED);
	hook_event(v, c, ztp__hook_outcome_names[ZTP__M_HOOK_FAILED], why, NULL,
		   false);
	out->allow = false;
	rc = ztp__reject(d, ZTP__W_APPROVAL_FAILED, ZTP_EDENIED,
			 "approval unavailable: %s", why);
cleanup:
	if (rc == ZTP_OK && out->allow)
		out->attributes = attrs;
	else
		json_object_put(attrs);
	if (buf != NULL)
		ztp__free_secret(buf, ZTP_HOOK_VERDICT_MAX + 1);
	ztp_free(ctx);
	return rc;
}

int ztp__verifier_assign_tenant(ztp_verifier *v, const char *device_id,
				const char *tenant)
{
	ztp__device_rec dev;
	int rc;

	ZTP_CHECK(ztp__store_device_read(&dev, v->store, device_id));
	/* Only a device that no tenant holds; one that is bound keeps its
	 * tenant (a claim or an earlier assignment decided). */
	if (dev.tenant[0] == '\0')
		rc = ztp_store_device_set_state(v->store, device_id, dev.state,
						ZTP_STATE_ACTIVE, tenant);
	ztp__device_rec_clear(&dev);
cleanup:
	return rc;
}
