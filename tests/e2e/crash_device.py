#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run one device operation through the library and SIGKILL this process
at an exact point: the moment the library reports that step (events are
delivered synchronously on the calling thread, so nothing after the step
has run yet).

    crash_device.py CONFIG POINT [OPERATION [PORT LIBRARY]]

OPERATION is bootstrap (the default) or rotate. With PORT (openssl or
mbedtls) the operation runs on the portable device core, on that port of
LIBRARY (ztp_lite_PORT_new(), ztp_port(3)), instead of ztp_device(3).
POINT is one of
    start          state directory locked, nothing written yet
    key            the new key made (written, or made in the token)
    challenge      challenge answered (bootstrap)
    response       the answer with the certificate received, before it is
                   stored
    probe          (rotate) the new certificate stored, before the probe
    switched       the new credential made current, before the old key
                   object is deleted from the token (keys in a token;
                   the core: whenever it replaced a credential)
    retired        the old key object deleted (keys in a token)
    done           finished
Exits 3 if the point was never reached (the operation ran to its end).
"""

import ctypes
import json
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


def run_core(config, op, port, library, on_event):
    """OPERATION on the portable core: 0, or 1 when it failed."""
    lib = ctypes.CDLL(library)
    event_fn = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
    new = getattr(lib, "ztp_lite_%s_new" % port)
    new.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                    event_fn, ctypes.c_void_p, ctypes.c_char_p,
                    ctypes.c_size_t]
    new.restype = ctypes.c_int
    call = getattr(lib, "ztp_lite_" + op)
    call.argtypes = [ctypes.c_void_p]
    call.restype = ctypes.c_int
    lib.ztp_lite_error.argtypes = [ctypes.c_void_p]
    lib.ztp_lite_error.restype = ctypes.c_char_p
    lib.ztp_lite_free.argtypes = [ctypes.c_void_p]
    cb = event_fn(lambda text, ctx: on_event(json.loads(text)))
    handle = ctypes.c_void_p()
    err = ctypes.create_string_buffer(512)
    if new(ctypes.byref(handle), config.encode(), cb, None, err,
           len(err)) != 0:
        print("%s: %s" % (config, err.value.decode()), file=sys.stderr)
        return 1
    try:
        if call(handle) != 0:
            print("%s failed: %s" % (op, lib.ztp_lite_error(handle).decode()),
                  file=sys.stderr)
            return 1
    finally:
        lib.ztp_lite_free(handle)
    return 0


def main():
    config, point = sys.argv[1], sys.argv[2]
    op = sys.argv[3] if len(sys.argv) > 3 else "bootstrap"

    def on_event(ev):
        if matches(point, op, ev):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    if len(sys.argv) > 5:
        if run_core(config, op, sys.argv[4], sys.argv[5], on_event) != 0:
            return 1
        print("point %s never reached" % point, file=sys.stderr)
        return 3
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
