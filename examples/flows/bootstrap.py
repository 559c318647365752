#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Example 1: device bootstrap (the Python twin of bootstrap.c).

A device leaves the factory with a key and a certificate that say who made
it. On its first contact with the platform it exchanges that factory
identity for a short-lived bootstrap certificate from the platform's
device CA:

1. the device asks for a challenge: a single-use nonce;
2. it signs the transcript (device ID, nonce, hash of a CSR for a key it
   has just generated) with its factory key and sends it over mutual TLS,
   the factory certificate being its client certificate;
3. the verifier checks the factory chain, the registry, the signature and
   the CSR, and answers with a certificate valid for 24 hours.

    usage: bootstrap.py DEPLOYMENT_DIR SERVER_URL     (see run.sh)
"""

# flow also finds the binding (ztp) of a source tree.
from flow import Flow, ztp

DEVICE = "sensor-0001"


def main():
    with Flow("device bootstrap") as f:
        f.step("The manufacturer makes device %s" % DEVICE)
        f.manufacture(DEVICE)  # the claim code is the owner's (example 3)
        d = f.path("devices", DEVICE)
        f.say("factory key and certificate in %s" % d)
        f.say("the platform enrolled it: known, but not trusted with "
              "anything yet")

        # The keywords are what a ztp-device.json(5) file holds; the other
        # examples load that file instead.
        f.step("The device is configured through the device API")
        dev = ztp.Device(factory_key="file:" + d + "/factory.key",
                         factory_cert=d + "/factory.pem", base_url=f.url,
                         # The server is authenticated by this CA only,
                         # never by the system trust store.
                         ca_file=f.path("pki", "server-ca.pem"),
                         state_dir=d + "/state")
        dev.set_retry(3, 50, 500, 2000)
        f.say("server %s, pinned CA pki/server-ca.pem" % f.url)

        # The library reports every protocol step and HTTP exchange as an
        # event (ztp_device(3), "Events"); events never hold key material.
        seen = []

        def on_event(ev):
            if ev["event"] == "device.step" and ev["step"] == "key":
                f.say("device: generated a fresh key pair and a CSR for it")
            if ev["event"] != "device.http":
                return
            f.say("device: POST /ztp/v1/%s -> HTTP %d" %
                  (ev["endpoint"], ev["http_status"]))
            seen.append((ev["endpoint"], ev["http_status"]))
            if ev["endpoint"] == "challenge" and ev["http_status"] == 200:
                f.say("device: signed the transcript with its factory key")

        dev.set_event_callback(on_event)

        f.step("The device bootstraps (Device.bootstrap)")
        dev.bootstrap()
        f.expect(seen == [("challenge", 200), ("bootstrap", 200)],
                 "challenge, then the signed transcript over mutual TLS")

        f.step("The device holds a short-lived bootstrap certificate")
        cred = dev.status()["credentials"]["bootstrap"]
        f.expect(cred["device_id"] == DEVICE, "it names %s" % DEVICE)
        f.say("serial %s, valid until %s" % (cred["serial"],
                                              cred["not_after"]))
        # The registry has the certificate under the device, with its
        # validity; the verifier records it before answering.
        rec = f.registry.cert_get(cred["serial"])
        f.expect(rec["profile"] == "bootstrap",
                 "the registry recorded it as a bootstrap certificate")
        # notBefore is back-dated by one minute for clock skew.
        life = rec["not_after"] - rec["not_before"]
        f.expect(0 < life <= 24 * 3600 + 60,
                 "it is valid for %d hours: long enough to register, "
                 "no longer" % (life // 3600))
        state = f.registry.device_get(DEVICE)["state"]
        f.expect(state == "bootstrapped",
                 "the registry marks %s %s" % (DEVICE, state))
        dev.close()

        # The same factory CA made this one, but the platform was never
        # told about it: a stolen or cloned factory identity gets nowhere.
        f.step("A device the platform never enrolled is refused")
        f.manufacture("sensor-stranger", enroll=False)
        with f.device("sensor-stranger") as dev:
            try:
                dev.bootstrap()
                refused = None
            except ztp.ZtpError as e:
                refused = e
            f.expect(refused is not None and
                     refused.code == ztp.Status.EDENIED and
                     "unknown_device" in refused.message,
                     "refused: %s" % refused)
            f.expect(dev.status()["credentials"]["bootstrap"] is None,
                     "it holds no bootstrap certificate")


if __name__ == "__main__":
    main()
