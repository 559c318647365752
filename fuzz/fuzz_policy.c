/*
 * libztp — fuzz policy documents (parse, validate, compile, export) and
 * the decisions over attacker-chosen topic names and filters. With the
 * default policy the harness also checks tenant isolation: whatever the
 * topic, nothing outside the device's own namespace (and its tenant's
 * broadcast tree for reading) is ever allowed.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <ztp/policy.h>

static ztp_policy *deflt;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *doc = NULL;

	(void)argc;
	(void)argv;
	if (ztp_init() != ZTP_OK || ztp_policy_new(&deflt) != ZTP_OK ||
	    ztp_policy_default_document(&doc) != ZTP_OK ||
	    ztp_policy_load(deflt, doc, strlen(doc)) != ZTP_OK)
		abort();
	ztp_free(doc);
	return 0;
}

/* Does explain agree with authorize? */
static void explain_agrees(ztp_policy *p, const char *tenant,
			   const char *device, const char *client, int action,
			   const char *topic, size_t len, int decision)
{
	char *out = NULL;
	int rc = ztp_policy_explain(&out, p, tenant, device, client, action,
				    topic, len);

	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		FUZZ_ASSERT(out != NULL);
		if (decision == ZTP_OK)
			FUZZ_ASSERT(strstr(out, "\"decision\":\"allow\"") !=
				    NULL);
		else
			FUZZ_ASSERT(strstr(out, "\"decision\":\"deny\"") !=
				    NULL);
	} else {
		/* Malformed input: authorize must have refused it too. */
		FUZZ_ASSERT(decision != ZTP_OK && out == NULL);
	}
	ztp_free(out);
}

/* The first n levels of topic are exactly the given literal levels. */
static bool under(const char *topic, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n || memcmp(topic, prefix, n) != 0)
		return false;
	return len == n || topic[n] == '/';
}

static void isolation(int action, const char *topic, size_t len, int rc)
{
	static const char own[] = "tenants/acme/devices/dev-1";
	static const char bcast[] = "tenants/acme/broadcast";

	if (rc != ZTP_OK)
		return;
	switch (action) {
	case ZTP_POLICY_CONNECT:
		FUZZ_ASSERT(len == 5 && memcmp(topic, "dev-1", 5) == 0);
		break;
	case ZTP_POLICY_PUBLISH:
		FUZZ_ASSERT(under(topic, len, own));
		FUZZ_ASSERT(memchr(topic, '+', len) == NULL &&
			    memchr(topic, '#', len) == NULL);
		break;
	case ZTP_POLICY_SUBSCRIBE:
	case ZTP_POLICY_RECEIVE:
		FUZZ_ASSERT(under(topic, len, own) || under(topic, len, bcast));
		if (action == ZTP_POLICY_RECEIVE)
			FUZZ_ASSERT(memchr(topic, '+', len) == NULL &&
				    memchr(topic, '#', len) == NULL);
		break;
	default:
		break;
	}
}

static void with_default(int action, const char *topic, size_t len)
{
	int rc = ztp_policy_authorize(deflt, "acme", "dev-1", "dev-1", action,
				      topic, len);

	FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_EDENIED || rc == ZTP_EINVAL);
	isolation(action, topic, len, rc);
	explain_agrees(deflt, "acme", "dev-1", "dev-1", action, topic, len, rc);
	/* Another tenant's device never gets what dev-1 got on its own
	 * topics: the namespace is keyed by the verified identity. */
	if (rc == ZTP_OK && action != ZTP_POLICY_CONNECT &&
	    !under(topic, len, "tenants/other"))
		FUZZ_ASSERT(ztp_policy_authorize(deflt, "other", "dev-1",
						 "dev-1", action, topic,
						 len) != ZTP_OK);
}

static void load_document(const char *doc, size_t len)
{
	static const char *const topics[] = {
	    "tenants/acme/devices/dev-1/telemetry",
	    "tenants/acme/devices/dev-1/#",
	    "tenants/acme/+/dev-1/cmd",
	    "#",
	    "$SYS/broker/load",
	    "dev-1",
	};
	ztp_policy *p = NULL;
	char *out = NULL;
	size_t i;
	int a, rc;

	if (ztp_policy_new(&p) != ZTP_OK)
		abort();
	rc = ztp_policy_load(p, doc, len);
	FUZZ_ASSERT_RC(rc);
	for (i = 0; i < ZTP__ARRAY_LEN(topics); i++) {
		for (a = ZTP_POLICY_CONNECT; a <= ZTP_POLICY_RECEIVE; a++) {
			int d =
			    ztp_policy_authorize(p, "acme", "dev-1", "dev-1", a,
						 topics[i], strlen(topics[i]));

			FUZZ_ASSERT(d == ZTP_OK || d == ZTP_EDENIED ||
				    d == ZTP_EINVAL);
			/* A document that failed to load grants nothing. */
			if (rc != ZTP_OK)
				FUZZ_ASSERT(d != ZTP_OK);
			explain_agrees(p, "acme", "dev-1", "dev-1", a,
				       topics[i], strlen(topics[i]), d);
		}
	}
	if (rc == ZTP_OK) {
		FUZZ_ASSERT_RC(ztp_policy_stats(&out, p));
		ztp_free(out);
		out = NULL;
		rc = ztp_policy_export(&out, p, "aws-iot", "acme");
		FUZZ_ASSERT_RC(rc);
		if (rc == ZTP_OK) {
			json_object *o = NULL;

			/* The export is well-formed JSON. */
			FUZZ_ASSERT(ztp__json_parse(&o, out, strlen(out),
						    SIZE_MAX, 0) == ZTP_OK);
			json_object_put(o);
		}
		ztp_free(out);
	}
	ztp_policy_free(p);
}

static void names(const char *s, size_t len)
{
	const char *sep = memchr(s, '|', len);
	char *tenant, *device, *out = NULL;
	int rc;

	if (sep == NULL)
		return;
	tenant = fuzz_cstr((const uint8_t *)s, (size_t)(sep - s));
	device =
	    fuzz_cstr((const uint8_t *)sep + 1, len - (size_t)(sep - s) - 1);
	rc = ztp_policy_namespace(&out, tenant, device);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		FUZZ_ASSERT(ztp_id_validate(tenant, strlen(tenant)) == ZTP_OK);
		FUZZ_ASSERT(ztp_id_validate(device, strlen(device)) == ZTP_OK);
	}
	ztp_free(out);
	free(tenant);
	free(device);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s;
	size_t len;

	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 6) {
	case 0:
		load_document(s, len);
		break;
	case 5:
		names(s, len);
		break;
	default:
		with_default(data[0] % 6, s, len);
		break;
	}
	return 0;
}
