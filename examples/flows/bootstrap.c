/*
 * Example 1: device bootstrap.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A device leaves the factory with a key and a certificate that say who
 * made it. On its first contact with the platform it exchanges that
 * factory identity for a short-lived bootstrap certificate from the
 * platform's device CA:
 *
 *   1. the device asks for a challenge: a single-use nonce;
 *   2. it signs the transcript (device ID, nonce, hash of a CSR for a key
 *      it has just generated) with its factory key and sends it over
 *      mutual TLS, the factory certificate being its client certificate;
 *   3. the verifier checks the factory chain, the registry, the signature
 *      and the CSR, and answers with a certificate valid for 24 hours.
 *
 *   usage: bootstrap DEPLOYMENT_DIR SERVER_URL     (see run.sh)
 */
#include <stdio.h>
#include <string.h>

#include <ztp/ztp.h>

#include "flow.h"

#define DEVICE "sensor-0001"

/* What the device library reported, for the narrative and the checks. */
typedef struct seen {
	int challenge_ok, bootstrap_ok, signed_after_challenge;
} seen;

/* The library reports every protocol step and every HTTP exchange as a
 * JSON event (ztp_device(3), "Events"); events never hold key material. */
static void on_event(const char *json, void *ctx)
{
	seen *s = ctx;
	char ev[32], step[32], ep[32], status[8];

	flow_json(ev, sizeof(ev), json, "event");
	flow_json(step, sizeof(step), json, "step");
	flow_json(ep, sizeof(ep), json, "endpoint");
	flow_json(status, sizeof(status), json, "http_status");
	if (strcmp(ev, "device.step") == 0 && strcmp(step, "key") == 0)
		flow_say("device: generated a fresh key pair and a CSR for it");
	if (strcmp(ev, "device.http") != 0)
		return;
	flow_say("device: POST /ztp/v1/%s -> HTTP %s", ep, status);
	if (strcmp(ep, "challenge") == 0 && strcmp(status, "200") == 0) {
		s->challenge_ok = 1;
		flow_say("device: signed the transcript with its factory key");
	}
	if (strcmp(ep, "bootstrap") == 0 && strcmp(status, "200") == 0) {
		s->bootstrap_ok = 1;
		s->signed_after_challenge = s->challenge_ok;
	}
}

int main(int argc, char **argv)
{
	char dir[FLOW_PATH_MAX], key[FLOW_PATH_MAX], cert[FLOW_PATH_MAX];
	char path[FLOW_PATH_MAX], serial[64], who[80], text[128];
	char *code, *json = NULL;
	ztp_device *dev = NULL;
	seen s = {0};
	long long life;
	flow f;
	int rc;

	flow_begin(&f, argc, argv, "device bootstrap");

	flow_step(&f, "The manufacturer makes device %s", DEVICE);
	code = flow_manufacture(&f, DEVICE, 1);
	ztp_free(code); /* the owner's business (example 3), not the device's */
	flow_path(dir, "%s/devices/%s", f.dir, DEVICE);
	flow_say("factory key and certificate in %s", dir);
	flow_say("the platform enrolled it: known, but not trusted with "
		 "anything yet");

	/* The setters below are what a ztp-device.json(5) file holds; the
	 * other examples load that file instead. */
	flow_step(&f, "The device is configured through the device API");
	flow_path(key, "file:%s/factory.key", dir);
	flow_path(cert, "%s/factory.pem", dir);
	flow_ok(ztp_device_new(&dev), "ztp_device_new");
	flow_ok(ztp_device_set_factory_identity(dev, key, cert),
		"ztp_device_set_factory_identity");
	flow_ok(ztp_device_set_base_url(dev, f.url), "ztp_device_set_base_url");
	/* The server is authenticated by this CA only, never by the system
	 * trust store. */
	flow_path(path, "%s/pki/server-ca.pem", f.dir);
	flow_ok(ztp_device_set_ca_file(dev, path), "ztp_device_set_ca_file");
	flow_path(path, "%s/state", dir);
	flow_ok(ztp_device_set_state_dir(dev, path),
		"ztp_device_set_state_dir");
	flow_ok(ztp_device_set_retry(dev, 3, 50, 500, 2000),
		"ztp_device_set_retry");
	flow_ok(ztp_device_set_event_callback(dev, on_event, &s),
		"ztp_device_set_event_callback");
	flow_say("server %s, pinned CA pki/server-ca.pem", f.url);

	flow_step(&f, "The device bootstraps (ztp_device_bootstrap)");
	flow_ok(ztp_device_bootstrap(dev), "ztp_device_bootstrap");
	flow_expect(s.challenge_ok && s.bootstrap_ok &&
			s.signed_after_challenge,
		    "challenge, then the signed transcript over mutual TLS");

	flow_step(&f, "The device holds a short-lived bootstrap certificate");
	flow_ok(ztp_device_status(dev, &json), "ztp_device_status");
	flow_json(who, sizeof(who), json, "credentials.bootstrap.device_id");
	flow_json(serial, sizeof(serial), json, "credentials.bootstrap.serial");
	flow_json(text, sizeof(text), json, "credentials.bootstrap.not_after");
	ztp_free(json);
	flow_expect(strcmp(who, DEVICE) == 0, "it names %s", who);
	flow_say("serial %s, valid until %s", serial, text);

	/* The registry has the certificate under the device, with its
	 * validity; the verifier records it before answering. */
	flow_ok(ztp_store_cert_get(f.registry, serial, &json),
		"ztp_store_cert_get");
	flow_json(text, sizeof(text), json, "profile");
	life = flow_json_int(json, "not_after") -
	       flow_json_int(json, "not_before");
	ztp_free(json);
	flow_expect(strcmp(text, "bootstrap") == 0,
		    "the registry recorded it as a bootstrap certificate");
	/* notBefore is back-dated by one minute for clock skew. */
	flow_expect(life > 0 && life <= 24 * 3600 + 60,
		    "it is valid for %lld hours: long enough to register, "
		    "no longer",
		    life / 3600);
	flow_ok(ztp_store_device_get(f.registry, DEVICE, &json),
		"ztp_store_device_get");
	flow_json(text, sizeof(text), json, "state");
	ztp_free(json);
	flow_expect(strcmp(text, "bootstrapped") == 0,
		    "the registry marks %s %s", DEVICE, text);
	ztp_device_free(dev);

	/* The same factory CA made this one, but the platform was never told
	 * about it: a stolen or cloned factory identity gets nowhere. */
	flow_step(&f, "A device the platform never enrolled is refused");
	code = flow_manufacture(&f, "sensor-stranger", 0);
	dev = flow_device(&f, "sensor-stranger");
	rc = ztp_device_bootstrap(dev);
	flow_expect(rc == ZTP_EDENIED &&
			strstr(ztp_error_last_message(), "unknown_device"),
		    "refused: %s", ztp_error_last_message());
	flow_ok(ztp_device_status(dev, &json), "ztp_device_status");
	flow_expect(
	    !flow_json(text, sizeof(text), json, "credentials.bootstrap"),
	    "it holds no bootstrap certificate");
	ztp_free(json);
	ztp_device_free(dev);
	return flow_end(&f);
}
