#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run one device bootstrap through the library and SIGKILL this process
at an exact point: the moment the library reports that step (events are
delivered synchronously on the calling thread, so nothing after the step
has run yet).

    crash_device.py CONFIG POINT

POINT is one of
    start          state directory locked, nothing written yet
    key            operational key written (before any request)
    challenge      challenge answered
    response       bootstrap answer received, before it is stored
    done           credential stored and made current
Exits 3 if the point was never reached (the bootstrap ran to its end).
"""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))
import ztp  # noqa: E402


def matches(point, ev):
    if ev.get("event") == "device.step":
        return ev.get("step") == point and point != "response"
    if ev.get("event") == "device.http" and point == "response":
        return ev.get("endpoint") == "bootstrap" and \
            ev.get("outcome") == "ok"
    return False


def main():
    config, point = sys.argv[1], sys.argv[2]

    def on_event(ev):
        if matches(point, ev):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    with ztp.Device(config=config) as dev:
        dev.set_event_callback(on_event)
        try:
            dev.bootstrap()
        except ztp.ZtpError as e:
            print("bootstrap failed: %s" % e, file=sys.stderr)
            return 1
    print("point %s never reached" % point, file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
