# SPDX-License-Identifier: Apache-2.0
"""The registry store (include/ztp/store.h)."""

import ctypes
import json
import time

from ._clock import FixedClock
from ._native import Handle, c_int64, c_uint64, c_void_p, lib, check, \
    to_c, to_bytes, take_str
from .errors import Status, ZtpError

#: Device lifecycle states (ZTP_STATE_*).
MANUFACTURED = "manufactured"
BOOTSTRAPPED = "bootstrapped"
REGISTERED = "registered"
ACTIVE = "active"
RESET = "reset"
REVOKED = "revoked"


def _json_arg(value, what):
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
    return to_c(value, what)


class Store(Handle):
    """A registry store opened by URI: ``memory:`` or ``sqlite:PATH``.

    Safe to share between threads. Use as a context manager or call
    :meth:`close`; handles that borrow the store (a :class:`ztp.CA`, a
    :class:`ztp.Verifier`) keep it alive until they are closed themselves.
    """

    _free_fn = "ztp_store_free"
    _kind = "store"

    def __init__(self, uri="memory:"):
        out = c_void_p()
        check(lib.ztp_store_open(ctypes.byref(out), to_c(uri, "uri")))
        super().__init__(out.value)
        self.uri = uri
        self._clock = FixedClock()

    def _json_out(self, name, *args):
        out = c_void_p()
        try:
            self._call(name, *args, ctypes.byref(out))
            return json.loads(take_str(out))
        finally:
            if out.value:
                lib.ztp_free(out.value)

    # -- devices ----------------------------------------------------------
    def device_add(self, device_id, fingerprint, model=None, batch=None,
                   manufactured_at=None):
        if manufactured_at is None:
            manufactured_at = int(time.time())
        self._call("ztp_store_device_add", to_c(device_id, "device_id"),
                   to_c(fingerprint, "fingerprint"),
                   to_c(model, "model", True), to_c(batch, "batch", True),
                   int(manufactured_at))

    def device_get(self, device_id):
        """The device record as a dict."""
        return self._json_out("ztp_store_device_get",
                              to_c(device_id, "device_id"))

    def device_set_state(self, device_id, new_state, expected_state=None,
                         tenant=None):
        """Compare-and-set a device's state (and tenant binding)."""
        self._call("ztp_store_device_set_state",
                   to_c(device_id, "device_id"),
                   to_c(expected_state, "expected_state", True),
                   to_c(new_state, "new_state"), to_c(tenant, "tenant", True))

    def device_set_info(self, device_id, info):
        """Attach registration information (a dict or a JSON object text)."""
        self._call("ztp_store_device_set_info",
                   to_c(device_id, "device_id"), _json_arg(info, "info"))

    def device_certs(self, device_id):
        return self._json_out("ztp_store_device_certs",
                              to_c(device_id, "device_id"))

    def device_revoke_certs(self, device_id, profiles=None, reason=0,
                            when=None):
        """Revoke a device's certificates; returns how many were revoked.

        profiles: None (all) or an iterable of profile names / a
        comma-separated string.
        """
        if profiles is not None and not isinstance(profiles, (str, bytes)):
            profiles = ",".join(profiles)
        if when is None:
            when = int(time.time())
        count = c_uint64()
        self._call("ztp_store_device_revoke_certs",
                   to_c(device_id, "device_id"),
                   to_c(profiles, "profiles", True), int(reason), int(when),
                   ctypes.byref(count))
        return count.value

    def device_set_factory_key(self, device_id, spki_der):
        """Record the device's factory key (SubjectPublicKeyInfo DER)."""
        k = to_bytes(spki_der, "spki_der")
        self._call("ztp_store_device_set_factory_key",
                   to_c(device_id, "device_id"), k, len(k))

    # -- claim codes ------------------------------------------------------
    def claim_set(self, device_id, claim_hash):
        h = to_bytes(claim_hash, "claim_hash")
        self._call("ztp_store_claim_set", to_c(device_id, "device_id"),
                   h, len(h))

    def claim_take(self, device_id, claim_hash, tenant):
        h = to_bytes(claim_hash, "claim_hash")
        self._call("ztp_store_claim_take", to_c(device_id, "device_id"),
                   h, len(h), to_c(tenant, "tenant"))

    def claim_attempt(self, device_id, claim_hash, tenant, rate, burst,
                      now=None):
        """claim_take() behind the device's "claim" rate limit, in one
        atomic step; raises ZtpError (ERATELIMIT when no token is left)."""
        h = to_bytes(claim_hash, "claim_hash")
        if now is None:
            now = int(time.time())
        retry = c_int64()
        self._call("ztp_store_claim_attempt", to_c(device_id, "device_id"),
                   h, len(h), to_c(tenant, "tenant"), float(rate),
                   float(burst), int(now), ctypes.byref(retry))

    # -- certificates -----------------------------------------------------
    def cert_add(self, serial, device_id, profile, not_before, not_after,
                 fingerprint):
        self._call("ztp_store_cert_add", to_c(serial, "serial"),
                   to_c(device_id, "device_id", True),
                   to_c(profile, "profile"), int(not_before), int(not_after),
                   to_c(fingerprint, "fingerprint"))

    def cert_get(self, serial):
        return self._json_out("ztp_store_cert_get", to_c(serial, "serial"))

    def cert_revoke(self, serial, reason=0, when=None):
        if when is None:
            when = int(time.time())
        self._call("ztp_store_cert_revoke", to_c(serial, "serial"),
                   int(reason), int(when))

    def revoked_list(self):
        return self._json_out("ztp_store_revoked_list")

    def cert_count(self):
        n = c_uint64()
        self._call("ztp_store_cert_count", ctypes.byref(n))
        return n.value

    # -- challenges, events, counters -------------------------------------
    def challenge_use(self, challenge_id, expires_at, now=None):
        cid = to_bytes(challenge_id, "challenge_id")
        if now is None:
            now = int(time.time())
        self._call("ztp_store_challenge_use", cid, len(cid), int(expires_at),
                   int(now))

    def event_append(self, event):
        self._call("ztp_store_event_append", _json_arg(event, "event"))

    def event_list(self, after=0, max=100):
        return self._json_out("ztp_store_event_list", int(after), int(max))

    def events(self, after=0, page=1000):
        """Iterate over every event after `after`, oldest first."""
        while True:
            batch = self.event_list(after, page)
            if not batch:
                return
            yield from batch
            after = batch[-1]["seq"]

    def counter_next(self, name):
        n = c_uint64()
        self._call("ztp_store_counter_next", to_c(name, "name"),
                   ctypes.byref(n))
        return n.value

    def limit_take(self, scope, key, rate, burst, now=None):
        """Take a token from the bucket (scope, key), atomically.

        Returns 0 when a token was taken, else the seconds until one is
        back (nothing is changed then).
        """
        if now is None:
            now = int(time.time())
        retry = c_int64()
        try:
            self._call("ztp_store_limit_take", to_c(scope, "scope"),
                       to_c(key, "key"), float(rate), float(burst),
                       int(now), ctypes.byref(retry))
        except ZtpError as e:
            if e.code != Status.ERATELIMIT:
                raise
        return retry.value

    def set_clock(self, when=None):
        """Stamp records with a fixed time (seconds), or None for real time.

        Calling it again with another value moves the clock.
        """
        self._clock.apply(self, "ztp_store_set_clock", when)
