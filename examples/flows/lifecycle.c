/*
 * Example 4: the complete flow, one device from the factory to the end.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   manufacture -> bootstrap -> register -> claim -> policy -> reset ->
 *   reprovision to another tenant -> revoke
 *
 * The device only ever calls ztp_device_run(), which does whatever is due
 * (ztp_device(3)); everything else is the platform operator's doing, in
 * the registry the server shares, and the broker's policy decisions.
 *
 *   usage: lifecycle DEPLOYMENT_DIR SERVER_URL     (see run.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ztp/ztp.h>

#include "flow.h"

#define DEVICE "sensor-0004"

/* Run the device; print and return what it did (into actions). */
static int run(ztp_device *dev, char *actions, size_t cap)
{
	char *json = NULL;
	int rc = ztp_device_run(dev, &json);

	actions[0] = '\0';
	if (rc == ZTP_OK) {
		flow_json(actions, cap, json, "actions");
		flow_say("device: ztp_device_run: %s",
			 actions[0] != '\0' ? actions : "nothing to do");
	}
	ztp_free(json);
	return rc;
}

/* The registry's view of the device. */
static void registry(flow *f, char *state, char *tenant, size_t cap)
{
	char *json = NULL;

	flow_ok(ztp_store_device_get(f->registry, DEVICE, &json),
		"ztp_store_device_get");
	flow_json(state, cap, json, "state");
	flow_json(tenant, cap, json, "tenant");
	ztp_free(json);
}

/* The broker's decision on the device publishing telemetry into tenant t,
 * for the identity in the certificate the device presents. */
static int may_publish(ztp_policy *broker, ztp_device *dev, const char *t)
{
	char topic[128], *pem = flow_operational_pem(dev);
	char *id = NULL, *tenant = NULL;
	int rc;

	flow_ok(
	    ztp_policy_cert_identity(&id, &tenant, broker, pem, strlen(pem)),
	    "ztp_policy_cert_identity");
	snprintf(topic, sizeof(topic), "tenants/%s/devices/%s/telemetry", t,
		 DEVICE);
	rc = ztp_policy_authorize(broker, tenant, id, id, ZTP_POLICY_PUBLISH,
				  topic, strlen(topic));
	flow_say("broker: %s (tenant %s) publishing to %s: %s", id,
		 tenant != NULL ? tenant : "none", topic,
		 rc == ZTP_OK ? "allowed" : "denied");
	ztp_free(id);
	ztp_free(tenant);
	free(pem);
	return rc == ZTP_OK;
}

int main(int argc, char **argv)
{
	char actions[256], state[80], tenant[80];
	char *code, *new_code, *json = NULL;
	ztp_policy *broker = NULL;
	ztp_device *dev;
	flow f;
	int rc;

	flow_begin(&f, argc, argv, "the complete flow");

	flow_step(&f, "Manufacture: factory identity, enrollment, claim code");
	code = flow_manufacture(&f, DEVICE, 1);
	registry(&f, state, tenant, sizeof(state));
	flow_expect(strcmp(state, "manufactured") == 0,
		    "the registry knows %s: %s", DEVICE, state);

	flow_step(&f, "First boot: bootstrap, register, credentials");
	dev = flow_device(&f, DEVICE);
	flow_ok(run(dev, actions, sizeof(actions)), "ztp_device_run");
	flow_expect(strcmp(actions, "bootstrap, register, credentials") == 0,
		    "the device provisioned itself");
	registry(&f, state, tenant, sizeof(state));
	flow_expect(strcmp(state, "registered") == 0 && tenant[0] == '\0',
		    "registered, in no tenant yet");

	flow_step(&f, "Claim: Acme enters the code that came with the device");
	flow_ok(ztp_verifier_claim(f.platform, DEVICE, code, "acme"),
		"ztp_verifier_claim");
	rc = ztp_verifier_claim(f.platform, DEVICE, code, "globex");
	flow_expect(rc != ZTP_OK,
		    "the code works once: a second claim is "
		    "refused (%s)",
		    ztp_status_name(rc));
	ztp_free(code);
	flow_ok(run(dev, actions, sizeof(actions)), "ztp_device_run");
	flow_expect(strstr(actions, "credentials") != NULL,
		    "at its next check-in the device got credentials for acme");
	registry(&f, state, tenant, sizeof(state));
	flow_expect(strcmp(state, "active") == 0 && strcmp(tenant, "acme") == 0,
		    "the registry: %s, tenant %s", state, tenant);

	flow_step(&f, "Policy: the broker confines the device to acme's "
		      "namespace");
	broker = flow_broker(&f);
	flow_expect(may_publish(broker, dev, "acme"),
		    "its own topics: allowed");
	flow_expect(!may_publish(broker, dev, "globex"),
		    "another tenant's: denied");

	/* A reset is what a device's resale or return needs: the tenant
	 * binding goes, every certificate of the device is revoked, and a
	 * fresh claim code is made for the next owner. The factory identity
	 * is all the device has left. */
	flow_step(&f, "Reset: Acme gives the device up");
	flow_ok(ztp_verifier_reset(f.platform, &new_code, DEVICE),
		"ztp_verifier_reset");
	registry(&f, state, tenant, sizeof(state));
	flow_expect(strcmp(state, "reset") == 0 && tenant[0] == '\0',
		    "the registry: %s, no tenant", state);
	rc = ztp_device_assignment(dev, &json);
	ztp_free(json);
	flow_expect(rc == ZTP_EDENIED &&
			strstr(ztp_error_last_message(), "revoked") != NULL,
		    "its old credential is refused: %s",
		    ztp_error_last_message());

	flow_step(&f, "Reprovision: the device starts over, Globex claims it");
	flow_ok(run(dev, actions, sizeof(actions)), "ztp_device_run");
	flow_expect(strncmp(actions, "bootstrap", 9) == 0,
		    "the device saw the reset and bootstrapped again with "
		    "its factory identity");
	flow_ok(ztp_verifier_claim(f.platform, DEVICE, new_code, "globex"),
		"ztp_verifier_claim");
	ztp_free(new_code);
	flow_say("globex claimed it with the new code");
	flow_ok(run(dev, actions, sizeof(actions)), "ztp_device_run");
	registry(&f, state, tenant, sizeof(state));
	flow_expect(strcmp(state, "active") == 0 &&
			strcmp(tenant, "globex") == 0,
		    "the registry: %s, tenant %s", state, tenant);
	flow_expect(may_publish(broker, dev, "globex"),
		    "its topics are globex's now");
	flow_expect(!may_publish(broker, dev, "acme"),
		    "and acme's are closed to it");

	/* Revocation is for good: a stolen or decommissioned device. */
	flow_step(&f, "Revoke: the device is blocked for good");
	flow_ok(ztp_verifier_revoke(f.platform, DEVICE), "ztp_verifier_revoke");
	registry(&f, state, tenant, sizeof(state));
	flow_expect(strcmp(state, "revoked") == 0, "the registry: %s", state);
	rc = run(dev, actions, sizeof(actions));
	flow_expect(rc == ZTP_EDENIED, "the device is refused: %s",
		    ztp_error_last_message());
	rc = ztp_device_bootstrap(dev);
	flow_expect(rc == ZTP_EDENIED &&
			strstr(ztp_error_last_message(), "device_blocked"),
		    "even with its factory identity: %s",
		    ztp_error_last_message());

	ztp_policy_free(broker);
	ztp_device_free(dev);
	return flow_end(&f);
}
