/*
 * Example 3: multi-tenant policy and authorisation.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One platform serves many customers (tenants). A device belongs to the
 * tenant that claimed it with the one-time code that came with it; from
 * then on its operational certificate names that tenant, and the MQTT
 * broker confines it to the tenant's namespace:
 *
 *   tenants/<tenant>/devices/<device>/...   the device's own topics
 *   tenants/<tenant>/broadcast/...          read-only, for all its devices
 *
 * The broker takes the tenant and the device from the certificate the
 * client presented (never from anything the client says), and decides
 * each connect, publish and subscribe with a compiled policy. Here two
 * devices of two tenants are claimed, and the broker's decisions shown.
 *
 *   usage: tenants DEPLOYMENT_DIR SERVER_URL     (see run.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ztp/ztp.h>

#include "flow.h"

static const char *const devices[] = {"sensor-a1", "sensor-b1"};
static const char *const tenants[] = {"acme", "globex"};

/* What the broker must decide, for the identity in each certificate. */
static const struct {
	int who; /* index into devices[] */
	int action;
	const char *topic; /* for connect, the client identifier */
	int allowed;
	const char *what;
} decisions[] = {
    {0, ZTP_POLICY_CONNECT, "sensor-a1", 1, "its own client ID"},
    {0, ZTP_POLICY_PUBLISH, "tenants/acme/devices/sensor-a1/telemetry", 1,
     "its own namespace"},
    {0, ZTP_POLICY_SUBSCRIBE, "tenants/acme/broadcast/#", 1,
     "its tenant's broadcasts"},
    {0, ZTP_POLICY_CONNECT, "sensor-b1", 0, "another device's client ID"},
    {0, ZTP_POLICY_PUBLISH, "tenants/acme/broadcast/firmware", 0,
     "broadcasts are read-only"},
    {0, ZTP_POLICY_PUBLISH, "tenants/globex/devices/sensor-b1/telemetry", 0,
     "another tenant's device"},
    {0, ZTP_POLICY_SUBSCRIBE, "tenants/globex/#", 0, "another tenant"},
    {0, ZTP_POLICY_SUBSCRIBE, "tenants/+/devices/#", 0,
     "a wildcard across tenants"},
    {1, ZTP_POLICY_PUBLISH, "tenants/globex/devices/sensor-b1/telemetry", 1,
     "its own namespace"},
    {1, ZTP_POLICY_SUBSCRIBE, "tenants/acme/broadcast/#", 0,
     "another tenant's broadcasts"},
};

static const char *const action_names[] = {"", "connect as", "publish to",
					   "subscribe to", "receive from"};

int main(int argc, char **argv)
{
	char *code[2], *json = NULL, *pem;
	char *id[2] = {NULL, NULL}, *tenant[2] = {NULL, NULL};
	char text[256], ns[256];
	const char *topic;
	ztp_device *dev[2];
	ztp_policy *broker = NULL;
	size_t i;
	flow f;
	int rc;

	flow_begin(&f, argc, argv, "multi-tenant policy and authorisation");

	flow_step(&f, "Two devices are made, and each provisions itself "
		      "(ztp_device_run)");
	for (i = 0; i < 2; i++) {
		code[i] = flow_manufacture(&f, devices[i], 1);
		dev[i] = flow_device(&f, devices[i]);
		flow_ok(ztp_device_run(dev[i], &json), "ztp_device_run");
		flow_json(text, sizeof(text), json, "actions");
		ztp_free(json);
		flow_say("%s: %s", devices[i], text);
	}

	/* A code proves possession of the device's paperwork: Globex cannot
	 * take Acme's device with the code of its own. */
	flow_step(&f, "The owners claim them with their claim codes");
	rc = ztp_verifier_claim(f.platform, devices[0], code[1], tenants[1]);
	flow_expect(rc == ZTP_EMISMATCH,
		    "globex cannot claim %s with another device's code",
		    devices[0]);
	for (i = 0; i < 2; i++) {
		flow_ok(ztp_verifier_claim(f.platform, devices[i], code[i],
					   tenants[i]),
			"ztp_verifier_claim");
		flow_say("%s claimed %s", tenants[i], devices[i]);
		ztp_free(code[i]);
	}

	/* At its next check-in each device sees the new tenant and gets
	 * credentials that name it. */
	flow_step(&f, "The devices pick up tenant-bound credentials");
	for (i = 0; i < 2; i++) {
		flow_ok(ztp_device_run(dev[i], &json), "ztp_device_run");
		ztp_free(json);
		flow_ok(ztp_device_assignment(dev[i], &json),
			"ztp_device_assignment");
		flow_json(text, sizeof(text), json, "tenant");
		flow_json(ns, sizeof(ns), json, "namespace");
		ztp_free(json);
		flow_expect(strcmp(text, tenants[i]) == 0,
			    "%s is in tenant %s, namespace %s", devices[i],
			    text, ns);
	}

	/* The broker: the default policy (each device in its namespace),
	 * compiled once into a topic index; identities are only accepted
	 * from certificates of the platform's device CA (flow.c). */
	flow_step(&f, "The broker compiles its policy");
	broker = flow_broker(&f);
	flow_ok(ztp_policy_stats(&json, broker), "ztp_policy_stats");
	flow_say("%lld statements compiled into an index of %lld nodes",
		 flow_json_int(json, "statements"),
		 flow_json_int(json, "nodes"));
	ztp_free(json);

	flow_step(&f, "It reads each client's identity from its certificate");
	for (i = 0; i < 2; i++) {
		pem = flow_operational_pem(dev[i]);
		flow_ok(ztp_policy_cert_identity(&id[i], &tenant[i], broker,
						 pem, strlen(pem)),
			"ztp_policy_cert_identity");
		free(pem);
		flow_expect(strcmp(id[i], devices[i]) == 0 && tenant[i] &&
				strcmp(tenant[i], tenants[i]) == 0,
			    "device %s, tenant %s", id[i], tenant[i]);
	}

	flow_step(&f, "It authorises each request");
	for (i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		int w = decisions[i].who;

		topic = decisions[i].topic;
		rc = ztp_policy_authorize(
		    broker, tenant[w], id[w],
		    decisions[i].action == ZTP_POLICY_CONNECT ? topic : id[w],
		    decisions[i].action, topic, strlen(topic));
		/* Anything but ZTP_OK is a denial. */
		flow_expect((rc == ZTP_OK) == decisions[i].allowed,
			    "%s %s %s %s (%s)",
			    decisions[i].allowed ? "allowed" : "denied ", id[w],
			    action_names[decisions[i].action], topic,
			    decisions[i].what);
	}
	/* Every decision can be explained, for audit logs. */
	topic = "tenants/globex/devices/sensor-b1/telemetry";
	flow_ok(ztp_policy_explain(&json, broker, tenant[0], id[0], id[0],
				   ZTP_POLICY_PUBLISH, topic, strlen(topic)),
		"ztp_policy_explain");
	flow_json(text, sizeof(text), json, "reason");
	ztp_free(json);
	flow_say("why %s may not publish to %s: %s", id[0], topic, text);

	for (i = 0; i < 2; i++) {
		ztp_free(id[i]);
		ztp_free(tenant[i]);
		ztp_device_free(dev[i]);
	}
	ztp_policy_free(broker);
	return flow_end(&f);
}
