# SPDX-License-Identifier: Apache-2.0
"""Fixed clocks for handles that take a ztp_clock_fn.

The library's ready-made ztp_clock_fixed() reads an int64 the caller owns;
the handle keeps that int64 alive for as long as it may be read. No Python
callback is involved, so the clock is safe from any thread and costs
nothing.
"""

import ctypes

from ._native import clock_fixed_address


class FixedClock:
    def __init__(self):
        self._value = None

    def apply(self, handle, setter, when):
        """Point handle's clock at `when` (seconds) or at the system clock."""
        if when is None:
            handle._call(setter, None, None)
            self._value = None
            return
        when = int(when)
        if self._value is None:
            value = ctypes.c_int64(when)
            handle._call(setter, clock_fixed_address(), ctypes.byref(value))
            # Only keep it once the handle reads from it.
            self._value = value
        else:
            # The handle already reads this int64: moving time is a store.
            self._value.value = when
