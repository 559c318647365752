/*
 * Policy: the suite. Its test cases live by topic in tests/unit/policy_*.c:
 * MQTT matching, tenants and explanations, documents and reloads,
 * identities from certificates, long topics.
 */
#include <stdio.h>
#include <string.h>

#include "test_policy.h"

ztp_policy *load(const char *doc)
{
	ztp_policy *p = NULL;

	ck_assert_rc(ztp_policy_new(&p), ZTP_OK);
	ck_assert_rc(ztp_policy_load(p, doc, strlen(doc)), ZTP_OK);
	return p;
}

ztp_policy *allow_only(const char *r)
{
	char doc[1024];

	snprintf(doc, sizeof(doc),
		 "{\"version\":\"2026-01\",\"statements\":[{\"effect\":"
		 "\"Allow\",\"actions\":[\"publish\",\"subscribe\","
		 "\"receive\",\"connect\"],\"resources\":[\"%s\"]}]}",
		 r);
	return load(doc);
}

int az(ztp_policy *p, const char *tenant, const char *device, int action,
       const char *topic)
{
	return ztp_policy_authorize(p, tenant, device, NULL, action, topic,
				    strlen(topic));
}

/* Each device in its tenant's namespace; broadcasts; a Deny carve-out. */
const char *const tenant_doc =
    "{\"version\":\"2026-01\",\"statements\":["
    "{\"sid\":\"connect\",\"effect\":\"Allow\",\"actions\":[\"connect\"],"
    "\"resources\":[\"${device}\"]},"
    "{\"sid\":\"own\",\"effect\":\"Allow\",\"actions\":[\"publish\","
    "\"subscribe\",\"receive\"],"
    "\"resources\":[\"tenants/${tenant}/devices/${device}/#\"]},"
    "{\"sid\":\"broadcast\",\"effect\":\"Allow\",\"actions\":"
    "[\"subscribe\",\"receive\"],"
    "\"resources\":[\"tenants/${tenant}/broadcast/#\"]},"
    "{\"sid\":\"no-secrets\",\"effect\":\"Deny\",\"actions\":[\"publish\","
    "\"subscribe\",\"receive\"],"
    "\"resources\":[\"tenants/${tenant}/devices/+/secret/#\"]}]}";

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");

	policy_tcases_match(s);
	policy_tcases_tenants(s);
	policy_tcases_load(s);
	policy_tcases_identity(s);
	policy_tcases_topics(s);
	return s;
}

int main(void)
{
	return ztp_test_run(policy_suite());
}
