#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Example 3: multi-tenant policy and authorisation (the Python twin of
tenants.c).

One platform serves many customers (tenants). A device belongs to the
tenant that claimed it with the one-time code that came with it; from then
on its operational certificate names that tenant, and the MQTT broker
confines it to the tenant's namespace:

    tenants/<tenant>/devices/<device>/...   the device's own topics
    tenants/<tenant>/broadcast/...          read-only, for all its devices

The broker takes the tenant and the device from the certificate the client
presented (never from anything the client says), and decides each
connect, publish and subscribe with a compiled policy. Here two devices of
two tenants are claimed, and the broker's decisions shown.

    usage: tenants.py DEPLOYMENT_DIR SERVER_URL     (see run.sh)
"""

# flow also finds the binding (ztp) of a source tree.
from flow import Flow, operational_pem, ztp

DEVICES = {"sensor-a1": "acme", "sensor-b1": "globex"}

# What the broker must decide, for the identity in each certificate:
# (device, action, topic (for connect the client ID), allowed, why).
DECISIONS = [
    ("sensor-a1", "connect", "sensor-a1", True, "its own client ID"),
    ("sensor-a1", "publish", "tenants/acme/devices/sensor-a1/telemetry",
     True, "its own namespace"),
    ("sensor-a1", "subscribe", "tenants/acme/broadcast/#", True,
     "its tenant's broadcasts"),
    ("sensor-a1", "connect", "sensor-b1", False,
     "another device's client ID"),
    ("sensor-a1", "publish", "tenants/acme/broadcast/firmware", False,
     "broadcasts are read-only"),
    ("sensor-a1", "publish", "tenants/globex/devices/sensor-b1/telemetry",
     False, "another tenant's device"),
    ("sensor-a1", "subscribe", "tenants/globex/#", False, "another tenant"),
    ("sensor-a1", "subscribe", "tenants/+/devices/#", False,
     "a wildcard across tenants"),
    ("sensor-b1", "publish", "tenants/globex/devices/sensor-b1/telemetry",
     True, "its own namespace"),
    ("sensor-b1", "subscribe", "tenants/acme/broadcast/#", False,
     "another tenant's broadcasts"),
]
VERB = {"connect": "connect as", "publish": "publish to",
        "subscribe": "subscribe to"}


def main():
    with Flow("multi-tenant policy and authorisation") as f:
        f.step("Two devices are made, and each provisions itself "
               "(Device.run)")
        codes, devs = {}, {}
        for d in DEVICES:
            codes[d] = f.manufacture(d)
            devs[d] = f.device(d)
            f.say("%s: %s" % (d, ", ".join(devs[d].run())))

        # A code proves possession of the device's paperwork: Globex
        # cannot take Acme's device with the code of its own.
        f.step("The owners claim them with their claim codes")
        try:
            f.platform.claim("sensor-a1", codes["sensor-b1"], "globex")
            code = None
        except ztp.ZtpError as e:
            code = e.code
        f.expect(code == ztp.Status.EMISMATCH,
                 "globex cannot claim sensor-a1 with another device's code")
        for d, t in DEVICES.items():
            f.platform.claim(d, codes[d], t)
            f.say("%s claimed %s" % (t, d))

        # At its next check-in each device sees the new tenant and gets
        # credentials that name it.
        f.step("The devices pick up tenant-bound credentials")
        for d, t in DEVICES.items():
            devs[d].run()
            a = devs[d].assignment()
            f.expect(a["tenant"] == t, "%s is in tenant %s, namespace %s" %
                     (d, a["tenant"], a["namespace"]))

        # The broker: the default policy (each device in its namespace),
        # compiled once into a topic index; identities are only accepted
        # from certificates of the platform's device CA (flow.py).
        f.step("The broker compiles its policy")
        broker = f.broker()
        st = broker.stats()
        f.say("%d statements compiled into an index of %d nodes" %
              (st["statements"], st["nodes"]))

        f.step("It reads each client's identity from its certificate")
        ids = {}
        for d, t in DEVICES.items():
            ids[d] = broker.identity_from_cert(operational_pem(devs[d]))
            f.expect(ids[d] == {"device": d, "tenant": t},
                     "device %s, tenant %s" % (ids[d]["device"],
                                               ids[d]["tenant"]))

        f.step("It authorises each request")
        for d, action, topic, allowed, why in DECISIONS:
            who = ids[d]
            ok = broker.authorize(
                action, topic, tenant=who["tenant"], device=who["device"],
                client_id=topic if action == "connect" else who["device"])
            f.expect(ok == allowed, "%s %s %s %s (%s)" %
                     ("allowed" if allowed else "denied ", who["device"],
                      VERB[action], topic, why))
        # Every decision can be explained, for audit logs.
        topic = "tenants/globex/devices/sensor-b1/telemetry"
        who = ids["sensor-a1"]
        why = broker.explain("publish", topic, tenant=who["tenant"],
                             device=who["device"], client_id=who["device"])
        f.say("why sensor-a1 may not publish to %s: %s" %
              (topic, why["reason"]))

        broker.close()
        for dev in devs.values():
            dev.close()


if __name__ == "__main__":
    main()
