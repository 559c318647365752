#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run one device operation through the library and SIGKILL this process
at an exact point: the moment the library reports that step (events are
delivered synchronously on the calling thread, so nothing after the step
has run yet).

    crash_device.py CONFIG POINT [OPERATION]

OPERATION is bootstrap (the default) or rotate. POINT is one of
    start          state directory locked, nothing written yet
    key            the new key made (written, or made in the token)
    challenge      challenge answered (bootstrap)
    response       the answer with the certificate received, before it is
                   stored
    probe          (rotate) the new certificate stored, before the probe
    switched       the new credential made current, before the old key
                   object is deleted from the token (keys in a token)
    retired        the old key object deleted (keys in a token)
    done           finished
Exits 3 if the point was never reached (the operation ran to its end).
"""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))
import ztp  # noqa: E402


def matches(point, op, ev):
    if ev.get("event") == "device.step":
        return ev.get("step") == point and point != "response" and \
            ev.get("operation") == op
    if ev.get("event") == "device.http" and point == "response":
        return ev.get("endpoint") == op and ev.get("outcome") == "ok"
    return False


def main():
    config, point = sys.argv[1], sys.argv[2]
    op = sys.argv[3] if len(sys.argv) > 3 else "bootstrap"

    def on_event(ev):
        if matches(point, op, ev):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    with ztp.Device(config=config) as dev:
        dev.set_event_callback(on_event)
        try:
            getattr(dev, op)()
        except ztp.ZtpError as e:
            print("%s failed: %s" % (op, e), file=sys.stderr)
            return 1
    print("point %s never reached" % point, file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
