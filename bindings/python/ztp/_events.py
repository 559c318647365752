# SPDX-License-Identifier: Apache-2.0
"""Event callbacks: JSON text from the library, a dict for Python."""

import ctypes
import json
import sys

from ._native import EVENT_FN, HOOK_FN


def make_callback(fn):
    """Wrap fn(dict) as a ztp_event_fn. Keep the result referenced."""

    def trampoline(text, _ctx):
        # An exception must not unwind through C frames; report it the way
        # Python reports errors it cannot raise.
        try:
            fn(json.loads(text.decode("utf-8")))
        except BaseException:
            sys.excepthook(*sys.exc_info())

    return EVENT_FN(trampoline)


def make_hook(fn):
    """Wrap fn(context_dict) -> verdict_dict as a ztp_hook_fn. An exception,
    or a verdict that does not fit, is a failure: the verifier then denies
    (approval_failed). Keep the result referenced."""

    def trampoline(_user, context, buf, cap):
        try:
            verdict = json.dumps(fn(json.loads(context.decode("utf-8"))),
                                 separators=(",", ":")).encode("utf-8")
            if len(verdict) >= cap:
                return -1
            ctypes.memmove(buf, verdict + b"\0", len(verdict) + 1)
            return len(verdict)
        except BaseException:
            sys.excepthook(*sys.exc_info())
            return -1

    return HOOK_FN(trampoline)
