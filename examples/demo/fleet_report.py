#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Read the demo fleet's registry through the public store API.

    fleet_report.py REGISTRY.db EXPECTED

EXPECTED holds one line per device, "DEVICE_ID STATE TENANT" (TENANT "-"
for none): what the demo believes it did to that device. The registry is
compared with it, and the certificate counts are printed as shell
assignments for fleet-demo.sh:

    certs_total=N certs_bootstrap=N certs_operational=N certs_revoked=N
    devices=N mismatches=N

followed by one "mismatch: ..." line per device whose record differs.
Exit status 0 when the registry could be read (mismatches are reported,
not fatal: the caller decides), 1 otherwise.
"""

import os
import sys

try:
    import ztp
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "..", "bindings", "python"))
    import ztp


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 1
    registry, expected_path = argv[1], argv[2]
    expected = []
    with open(expected_path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) != 3:
                continue
            expected.append((fields[0], fields[1],
                             None if fields[2] == "-" else fields[2]))

    counts = {"bootstrap": 0, "operational": 0}
    revoked = 0
    total = 0
    mismatches = []
    with ztp.Store("sqlite:" + registry) as store:
        for device_id, state, tenant in expected:
            try:
                rec = store.device_get(device_id)
            except ztp.ZtpError as e:
                mismatches.append("%s: not in the registry (%s)" %
                                  (device_id, e))
                continue
            if rec.get("state") != state or rec.get("tenant") != tenant:
                mismatches.append(
                    "%s: expected %s/%s, registry says %s/%s" %
                    (device_id, state, tenant or "-", rec.get("state"),
                     rec.get("tenant") or "-"))
            for cert in store.device_certs(device_id):
                total += 1
                profile = cert.get("profile")
                counts[profile] = counts.get(profile, 0) + 1
        revoked = len(store.revoked_list())
        # Every certificate the device CA issued is a device's; a count
        # that differs means one escaped the per-device view.
        store_total = store.cert_count()
        if store_total != total:
            mismatches.append("registry holds %d certificates, the "
                              "devices %d" % (store_total, total))

    print("certs_total=%d" % total)
    print("certs_bootstrap=%d" % counts.get("bootstrap", 0))
    print("certs_operational=%d" % counts.get("operational", 0))
    print("certs_revoked=%d" % revoked)
    print("devices=%d" % len(expected))
    print("mismatches=%d" % len(mismatches))
    for m in mismatches:
        print("mismatch: %s" % m)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ztp.ZtpError) as e:
        print("fleet_report: %s" % e, file=sys.stderr)
        sys.exit(1)
