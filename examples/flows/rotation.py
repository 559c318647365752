#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Example 2: platform registration and credential rotation (the Python
twin of rotation.c).

The bootstrap certificate (example 1) lives 24 hours: long enough for the
device to introduce itself and get its working identity.

1. register: the device tells the platform what it is (type, firmware,
   capabilities), authenticated by its bootstrap certificate;
2. credentials: it gets a long-lived operational certificate (365 days by
   default) for a key it generates; the key never leaves it;
3. rotate: before that certificate runs out it gets a new one for a new
   key, and switches only after the new one has been tried against the
   server (probed), so a failed rotation never leaves it without a working
   identity.

    usage: rotation.py DEPLOYMENT_DIR SERVER_URL     (see run.sh)
"""

from flow import Flow

DEVICE = "sensor-0002"


def operational(f, dev):
    """The current operational credential, and its lifetime in days as the
    registry recorded it."""
    cred = dev.status()["credentials"]["operational"]
    rec = f.registry.cert_get(cred["serial"])
    return cred, (rec["not_after"] - rec["not_before"]) // 86400


def main():
    with Flow("registration and credential rotation") as f:
        f.step("Device %s is made and bootstraps (example 1)" % DEVICE)
        f.manufacture(DEVICE)
        # From here on the device is configured by the file the factory
        # wrote: ztp-device.json(5), with a "registration" member.
        dev = f.device(DEVICE)
        probed = []

        def on_event(ev):
            if ev.get("operation") == "rotate" and ev.get("step") == "probe":
                probed.append(ev)
                f.say("device: probing the new credential with an "
                      "assignment call over mutual TLS")

        dev.set_event_callback(on_event)
        dev.bootstrap()
        f.say("it holds a 24-hour bootstrap certificate")

        f.step("The device registers (Device.register)")
        dev.register()
        rec = f.registry.device_get(DEVICE)
        f.expect(rec["state"] == "registered",
                 "the registry marks it %s" % rec["state"])
        f.expect(rec["info"]["device_type"] == "example-sensor",
                 "and recorded what it is: %s" % rec["info"]["device_type"])
        f.expect(rec["info"]["firmware_version"] == "1.0.0",
                 "running firmware %s" % rec["info"]["firmware_version"])

        f.step("It obtains long-lived credentials (Device.credentials)")
        dev.credentials()
        old, days = operational(f, dev)
        f.expect(364 <= days <= 366,
                 "an operational certificate valid for %d days" % days)
        f.say("serial %s" % old["serial"])
        # Nobody has claimed the device yet (example 3): it is in no
        # tenant, so its certificate names none.
        f.expect(old["tenant"] is None, "bound to no tenant yet")

        f.step("It rotates them (Device.rotate)")
        dev.rotate()
        new, days = operational(f, dev)
        f.expect(probed, "the new credential was probed before the switch")
        f.expect(new["serial"] != old["serial"] and
                 new["fingerprint"] != old["fingerprint"],
                 "a new certificate, serial %s, for a new key" %
                 new["serial"])
        f.expect(364 <= days <= 366, "valid for %d days again" % days)
        # The old certificate is superseded: the verifier accepts it for
        # the rotation overlap (24 hours by default, for a device that
        # lost power mid-switch), then revokes it.
        f.expect(not f.registry.cert_get(old["serial"])["revoked"],
                 "the old one stays valid for the rotation overlap, then "
                 "is revoked")

        # Device.run() does whatever is due; a device calls it at every
        # boot or from a timer. Rotation is due at 67 % of the lifetime.
        f.step("Nothing else is due (Device.run)")
        actions = dev.run()
        f.expect(actions == [], "no action taken")
        dev.close()


if __name__ == "__main__":
    main()
