# SPDX-License-Identifier: Apache-2.0
"""Event callbacks: JSON text from the library, a dict for Python."""

import json
import sys

from ._native import EVENT_FN


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
