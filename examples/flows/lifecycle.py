#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Example 4: the complete flow, one device from the factory to the end
(the Python twin of lifecycle.c).

    manufacture -> bootstrap -> register -> claim -> policy -> reset ->
    reprovision to another tenant -> revoke

The device only ever calls Device.run(), which does whatever is due
(ztp_device(3)); everything else is the platform operator's doing, in the
registry the server shares, and the broker's policy decisions.

    usage: lifecycle.py DEPLOYMENT_DIR SERVER_URL     (see run.sh)
"""

# flow also finds the binding (ztp) of a source tree.
from flow import Flow, operational_pem, ztp

DEVICE = "sensor-0004"


def refusal(fn, *args):
    """The ZtpError fn(*args) raises, or None if it succeeds."""
    try:
        fn(*args)
    except ztp.ZtpError as e:
        return e
    return None


def main():
    with Flow("the complete flow") as f:
        def run():
            actions = dev.run()
            f.say("device: Device.run: %s" %
                  (", ".join(actions) or "nothing to do"))
            return actions

        def registry():
            rec = f.registry.device_get(DEVICE)
            return rec["state"], rec["tenant"]

        def may_publish(tenant):
            # The broker's decision on the device publishing telemetry into
            # tenant, for the identity in the certificate it presents.
            who = broker.identity_from_cert(operational_pem(dev))
            topic = "tenants/%s/devices/%s/telemetry" % (tenant, DEVICE)
            ok = broker.authorize("publish", topic, tenant=who["tenant"],
                                  device=who["device"],
                                  client_id=who["device"])
            f.say("broker: %s (tenant %s) publishing to %s: %s" %
                  (who["device"], who["tenant"], topic,
                   "allowed" if ok else "denied"))
            return ok

        f.step("Manufacture: factory identity, enrollment, claim code")
        code = f.manufacture(DEVICE)
        state, _ = registry()
        f.expect(state == "manufactured",
                 "the registry knows %s: %s" % (DEVICE, state))

        f.step("First boot: bootstrap, register, credentials")
        dev = f.device(DEVICE)
        f.expect(run() == ["bootstrap", "register", "credentials"],
                 "the device provisioned itself")
        f.expect(registry() == ("registered", None),
                 "registered, in no tenant yet")

        f.step("Claim: Acme enters the code that came with the device")
        f.platform.claim(DEVICE, code, "acme")
        e = refusal(f.platform.claim, DEVICE, code, "globex")
        f.expect(e is not None, "the code works once: a second claim is "
                 "refused (%s)" % (e and e.name))
        f.expect("credentials" in run(),
                 "at its next check-in the device got credentials for acme")
        f.expect(registry() == ("active", "acme"),
                 "the registry: active, tenant acme")

        f.step("Policy: the broker confines the device to acme's namespace")
        broker = f.broker()
        f.expect(may_publish("acme"), "its own topics: allowed")
        f.expect(not may_publish("globex"), "another tenant's: denied")

        # A reset is what a device's resale or return needs: the tenant
        # binding goes, every certificate of the device is revoked, and a
        # fresh claim code is made for the next owner. The factory
        # identity is all the device has left.
        f.step("Reset: Acme gives the device up")
        new_code = f.platform.reset(DEVICE)
        f.expect(registry() == ("reset", None),
                 "the registry: reset, no tenant")
        e = refusal(dev.assignment)
        f.expect(e is not None and e.code == ztp.Status.EDENIED and
                 "revoked" in e.message,
                 "its old credential is refused: %s" % (e and e.message))

        f.step("Reprovision: the device starts over, Globex claims it")
        f.expect(run()[:1] == ["bootstrap"],
                 "the device saw the reset and bootstrapped again with its "
                 "factory identity")
        f.platform.claim(DEVICE, new_code, "globex")
        f.say("globex claimed it with the new code")
        run()
        f.expect(registry() == ("active", "globex"),
                 "the registry: active, tenant globex")
        f.expect(may_publish("globex"), "its topics are globex's now")
        f.expect(not may_publish("acme"), "and acme's are closed to it")

        # Revocation is for good: a stolen or decommissioned device.
        f.step("Revoke: the device is blocked for good")
        f.platform.revoke(DEVICE)
        f.expect(registry()[0] == "revoked", "the registry: revoked")
        e = refusal(dev.run)
        f.expect(e is not None and e.code == ztp.Status.EDENIED,
                 "the device is refused: %s" % (e and e.message))
        e = refusal(dev.bootstrap)
        f.expect(e is not None and e.code == ztp.Status.EDENIED and
                 "device_blocked" in e.message,
                 "even with its factory identity: %s" % (e and e.message))

        broker.close()
        dev.close()


if __name__ == "__main__":
    main()
