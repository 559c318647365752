/*
 * Example 2: platform registration and credential rotation.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The bootstrap certificate (example 1) lives 24 hours: long enough for
 * the device to introduce itself and get its working identity.
 *
 *   1. register: the device tells the platform what it is (type, firmware,
 *      capabilities), authenticated by its bootstrap certificate;
 *   2. credentials: it gets a long-lived operational certificate (365 days
 *      by default) for a key it generates; the key never leaves it;
 *   3. rotate: before that certificate runs out it gets a new one for a
 *      new key, and switches only after the new one has been tried
 *      against the server (probed), so a failed rotation never leaves it
 *      without a working identity.
 *
 *   usage: rotation DEPLOYMENT_DIR SERVER_URL     (see run.sh)
 */
#include <stdio.h>
#include <string.h>

#include <ztp/ztp.h>

#include "flow.h"

#define DEVICE "sensor-0002"

/* Set when the device tried its rotated credential before using it. */
static void on_event(const char *json, void *ctx)
{
	char op[32], step[32];

	flow_json(op, sizeof(op), json, "operation");
	flow_json(step, sizeof(step), json, "step");
	if (strcmp(op, "rotate") == 0 && strcmp(step, "probe") == 0) {
		*(int *)ctx = 1;
		flow_say("device: probing the new credential with an "
			 "assignment call over mutual TLS");
	}
}

/* The current operational certificate's serial and fingerprint, and its
 * lifetime as the registry recorded it. */
static long long operational(flow *f, ztp_device *dev, char serial[64],
			     char fp[80], char tenant[80])
{
	char *json = NULL;
	long long life;

	flow_ok(ztp_device_status(dev, &json), "ztp_device_status");
	flow_json(serial, 64, json, "credentials.operational.serial");
	flow_json(fp, 80, json, "credentials.operational.fingerprint");
	flow_json(tenant, 80, json, "credentials.operational.tenant");
	ztp_free(json);
	flow_ok(ztp_store_cert_get(f->registry, serial, &json),
		"ztp_store_cert_get");
	life = flow_json_int(json, "not_after") -
	       flow_json_int(json, "not_before");
	ztp_free(json);
	return life;
}

int main(int argc, char **argv)
{
	char serial[64], fp[80], tenant[80], old_serial[64], old_fp[80];
	char text[128], *json = NULL, *code;
	ztp_device *dev;
	int probed = 0;
	long long days;
	flow f;

	flow_begin(&f, argc, argv, "registration and credential rotation");

	flow_step(&f, "Device %s is made and bootstraps (example 1)", DEVICE);
	code = flow_manufacture(&f, DEVICE, 1);
	ztp_free(code);
	/* From here on the device is configured by the file the factory
	 * wrote: ztp-device.json(5), with a "registration" member. */
	dev = flow_device(&f, DEVICE);
	flow_ok(ztp_device_set_event_callback(dev, on_event, &probed),
		"ztp_device_set_event_callback");
	flow_ok(ztp_device_bootstrap(dev), "ztp_device_bootstrap");
	flow_say("it holds a 24-hour bootstrap certificate");

	flow_step(&f, "The device registers (ztp_device_register)");
	flow_ok(ztp_device_register(dev), "ztp_device_register");
	flow_ok(ztp_store_device_get(f.registry, DEVICE, &json),
		"ztp_store_device_get");
	flow_json(text, sizeof(text), json, "state");
	flow_expect(strcmp(text, "registered") == 0, "the registry marks it %s",
		    text);
	flow_json(text, sizeof(text), json, "info.device_type");
	flow_expect(strcmp(text, "example-sensor") == 0,
		    "and recorded what it is: %s", text);
	flow_json(text, sizeof(text), json, "info.firmware_version");
	flow_expect(strcmp(text, "1.0.0") == 0, "running firmware %s", text);
	ztp_free(json);

	flow_step(&f, "It obtains long-lived credentials "
		      "(ztp_device_credentials)");
	flow_ok(ztp_device_credentials(dev), "ztp_device_credentials");
	days = operational(&f, dev, old_serial, old_fp, tenant) / 86400;
	flow_expect(days >= 364 && days <= 366,
		    "an operational certificate valid for %lld days", days);
	flow_say("serial %s", old_serial);
	/* Nobody has claimed the device yet (example 3): it is in no
	 * tenant, so its certificate names none. */
	flow_expect(tenant[0] == '\0', "bound to no tenant yet");

	flow_step(&f, "It rotates them (ztp_device_rotate)");
	flow_ok(ztp_device_rotate(dev), "ztp_device_rotate");
	days = operational(&f, dev, serial, fp, tenant) / 86400;
	flow_expect(probed, "the new credential was probed before the switch");
	flow_expect(strcmp(serial, old_serial) != 0 && strcmp(fp, old_fp) != 0,
		    "a new certificate, serial %s, for a new key", serial);
	flow_expect(days >= 364 && days <= 366, "valid for %lld days again",
		    days);
	/* The old certificate is superseded: the verifier accepts it for the
	 * rotation overlap (24 hours by default, for a device that lost power
	 * mid-switch), then revokes it. */
	flow_ok(ztp_store_cert_get(f.registry, old_serial, &json),
		"ztp_store_cert_get");
	flow_json(text, sizeof(text), json, "revoked");
	ztp_free(json);
	flow_expect(strcmp(text, "false") == 0,
		    "the old one stays valid for the rotation overlap, then "
		    "is revoked");

	/* ztp_device_run() does whatever is due; a device calls it at every
	 * boot or from a timer. Rotation is due at 67 % of the lifetime. */
	flow_step(&f, "Nothing else is due (ztp_device_run)");
	flow_ok(ztp_device_run(dev, &json), "ztp_device_run");
	flow_json(text, sizeof(text), json, "actions");
	ztp_free(json);
	flow_expect(text[0] == '\0', "no action taken");

	ztp_device_free(dev);
	return flow_end(&f);
}
