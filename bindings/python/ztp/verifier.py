# SPDX-License-Identifier: Apache-2.0
"""The server side of the protocol (include/ztp/verifier.h)."""

import collections
import ctypes
import json

from ._clock import FixedClock
from ._events import make_callback, make_hook
from ._native import EVENT_FN, HOOK_FN, Handle, c_int, c_void_p, lib, check, to_c, \
    to_bytes, take_str


class Response(collections.namedtuple("Response", "status body")):
    """What to send back: an HTTP status and a JSON body (str)."""

    __slots__ = ()

    def json(self):
        return json.loads(self.body)

    @property
    def ok(self):
        return 200 <= self.status < 300


#: Most bytes of a verdict (ZTP_HOOK_VERDICT_MAX of <ztp/verifier.h>).
HOOK_VERDICT_MAX = 4096


def error_codes():
    """Every wire error code with its HTTP status, as a list of dicts."""
    out = c_void_p()
    try:
        check(lib.ztp_verifier_error_codes(ctypes.byref(out)))
    finally:
        text = take_str(out)
    return json.loads(text)


class Verifier(Handle):
    """A verifier, configured from a ztp-verify.json(5) file or by setters.

    After configuration, :meth:`handle`, :meth:`check_cert`, :meth:`enroll`
    and :meth:`stats` may be called from many threads at once (the library
    runs them without holding the GIL).
    """

    _free_fn = "ztp_verifier_free"
    _kind = "verifier"

    def __init__(self, config=None):
        out = c_void_p()
        check(lib.ztp_verifier_new(ctypes.byref(out)))
        super().__init__(out.value)
        self._clock = FixedClock()
        self._callback = None
        self._hook = None
        self._ca = None
        self._store = None
        if config is not None:
            try:
                self._call("ztp_verifier_load_config", to_c(config, "config"))
            except BaseException:
                self.close()
                raise

    # -- configuration ----------------------------------------------------
    def _set_borrowed(self, setter, attr, handle):
        if handle is None:
            self._call(setter, None)
        else:
            hp = handle._acquire()
            try:
                self._call(setter, hp)
            except BaseException:
                handle._release()
                raise
            self._held.append(handle)
        old = getattr(self, attr)
        setattr(self, attr, handle)
        if old is not None:
            self._unhold(old)

    def set_ca(self, ca):
        """The device CA (a :class:`ztp.CA`, kept alive by the verifier)."""
        self._set_borrowed("ztp_verifier_set_ca", "_ca", ca)

    def set_store(self, store):
        """The registry (a :class:`ztp.Store`, kept alive by the verifier)."""
        self._set_borrowed("ztp_verifier_set_store", "_store", store)

    def set_trust_anchors(self, pem):
        data = to_bytes(pem, "pem")
        self._call("ztp_verifier_set_trust_anchors", data, len(data))

    def set_issuers(self, pem):
        data = to_bytes(pem, "pem")
        self._call("ztp_verifier_set_issuers", data, len(data))

    def add_device_ca(self, pem):
        """Accept the certificates of another device CA (the one a
        rollover replaces) besides those of the active one; its
        certificate only (``device_ca_previous`` in ztp-verify.json)."""
        data = to_bytes(pem, "pem")
        self._call("ztp_verifier_add_device_ca", data, len(data))

    def retire_device_ca(self, fingerprint):
        """Refuse the certificates of a device CA added with
        :meth:`add_device_ca`, named by the SHA-256 of its DER (hex)."""
        self._call("ztp_verifier_retire_device_ca",
                   to_c(fingerprint, "fingerprint"))

    def set_trust_bundle(self, pem):
        """The CA certificates devices are handed as ``trust_bundle``
        (1..8 PEM certificates), or None to hand none."""
        if pem is None:
            self._call("ztp_verifier_set_trust_bundle", None, 0)
            return
        data = to_bytes(pem, "pem")
        self._call("ztp_verifier_set_trust_bundle", data, len(data))

    def set_bootstrap_lifetime(self, seconds):
        self._call("ztp_verifier_set_bootstrap_lifetime", int(seconds))

    def set_operational_lifetime(self, seconds):
        self._call("ztp_verifier_set_operational_lifetime", int(seconds))

    def set_clock_leeway(self, seconds):
        self._call("ztp_verifier_set_clock_leeway", int(seconds))

    def set_challenge_ttl(self, seconds):
        self._call("ztp_verifier_set_challenge_ttl", int(seconds))

    def set_max_chain_depth(self, depth):
        self._call("ztp_verifier_set_max_chain_depth", int(depth))

    def set_key_policy(self, spec):
        self._call("ztp_verifier_set_key_policy", to_c(spec, "spec"))

    def set_max_request_size(self, size):
        self._call("ztp_verifier_set_max_request_size", int(size))

    def set_rate_limit(self, scope, rate, burst=1):
        """scope: "device" or "global"; rate 0 disables that limit."""
        self._call("ztp_verifier_set_rate_limit", to_c(scope, "scope"),
                   float(rate), float(burst))

    def set_hmac_secret(self, secret):
        data = to_bytes(secret, "secret")
        self._call("ztp_verifier_set_hmac_secret", data, len(data))

    def set_clock(self, when=None):
        """Use a fixed time (seconds since the epoch) or None for real time."""
        self._clock.apply(self, "ztp_verifier_set_clock", when)

    def set_event_callback(self, fn):
        """Call fn(event_dict) for every decision, or stop with None.

        fn runs on the thread that serves the request.
        """
        if fn is None:
            self._call("ztp_verifier_set_event_callback", EVENT_FN(), None)
            self._callback = None
            return
        cb = make_callback(fn)
        self._call("ztp_verifier_set_event_callback", cb, None)
        self._callback = cb

    # -- serving ----------------------------------------------------------
    def set_hook(self, fn, budget_ms=1000):
        """Ask fn(context_dict) -> verdict_dict before anything is issued
        (ztp_verifier_set_hook(3)), or stop with None. fn is called on the
        threads that serve requests (ctypes takes the GIL for it); an
        exception or a late answer denies."""
        if fn is None:
            self._call("ztp_verifier_set_hook", HOOK_FN(), None, 0)
            self._hook = None
            return
        hook = make_hook(fn)
        self._call("ztp_verifier_set_hook", hook, None, int(budget_ms))
        self._hook = hook

    def handle(self, endpoint, body=b"", peer_cert_pem=None):
        """Serve one request; returns a :class:`Response`.

        body: the raw request body (bytes or str). peer_cert_pem: the PEM
        certificate the TLS client presented, or None.
        """
        data = to_bytes(body if body is not None else b"", "body")
        peer = None if peer_cert_pem is None else to_bytes(peer_cert_pem,
                                                           "peer_cert_pem")
        status = c_int()
        out = c_void_p()
        try:
            self._call("ztp_verifier_handle", ctypes.byref(status),
                       ctypes.byref(out), to_c(endpoint, "endpoint"),
                       data, len(data), peer,
                       0 if peer is None else len(peer))
        finally:
            text = take_str(out)
        return Response(status.value, text)

    def ocsp(self, request):
        """Answer one DER OCSP request (ztp_verifier_ocsp(3)); returns the
        DER OCSPResponse, an error response for a bad request."""
        data = to_bytes(request if request is not None else b"", "request")
        out = c_void_p()
        n = ctypes.c_size_t()
        try:
            self._call("ztp_verifier_ocsp", ctypes.byref(out),
                       ctypes.byref(n), data, len(data))
            return ctypes.string_at(out.value, n.value)
        finally:
            if out.value:
                lib.ztp_free(out.value)

    def check_cert(self, cert_pem, untrusted_pem=None, at=0):
        """Check a factory certificate without the registry.

        Returns the decision as a dict (``result`` is ``"accepted"`` or
        ``"rejected"`` with ``code`` and ``message``); raises ZtpError only
        when no decision could be made.
        """
        cert = to_bytes(cert_pem, "cert_pem")
        extra = None if untrusted_pem is None else to_bytes(untrusted_pem,
                                                            "untrusted_pem")
        out = c_void_p()
        ptr = self._acquire()
        try:
            rc = lib.ztp_verifier_check_cert(
                ptr, ctypes.byref(out), cert, len(cert), extra,
                0 if extra is None else len(extra), int(at))
            if not out.value:
                check(rc)
        finally:
            self._release()
            text = take_str(out)
        return json.loads(text)

    def enroll(self, device_id, cert_pem, model=None, batch=None):
        """Record a manufactured device; returns its one-time claim code."""
        cert = to_bytes(cert_pem, "cert_pem")
        out = c_void_p()
        try:
            self._call("ztp_verifier_enroll", ctypes.byref(out),
                       to_c(device_id, "device_id"), cert, len(cert),
                       to_c(model, "model", True), to_c(batch, "batch", True))
        finally:
            code = take_str(out, secret=True)
        return code

    def claim(self, device_id, claim_code, tenant):
        """Activate a device: bind it to tenant with its one-time code."""
        self._call("ztp_verifier_claim", to_c(device_id, "device_id"),
                   to_c(claim_code, "claim_code"), to_c(tenant, "tenant"))

    def reset(self, device_id):
        """Reprovision a device (tenant cleared, certificates revoked);
        returns the claim code for its next owner."""
        out = c_void_p()
        try:
            self._call("ztp_verifier_reset", ctypes.byref(out),
                       to_c(device_id, "device_id"))
        finally:
            code = take_str(out, secret=True)
        return code

    def revoke(self, device_id):
        """Block a device for good and revoke its certificates."""
        self._call("ztp_verifier_revoke", to_c(device_id, "device_id"))

    def stats(self):
        out = c_void_p()
        try:
            self._call("ztp_verifier_stats", ctypes.byref(out))
        finally:
            text = take_str(out)
        return json.loads(text)

    def metrics(self):
        """The Prometheus text exposition (format 0.0.4) of
        ztp_verifier_metrics(3), as a str."""
        out = c_void_p()
        try:
            self._call("ztp_verifier_metrics", ctypes.byref(out))
        finally:
            text = take_str(out)
        return text
