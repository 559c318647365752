# SPDX-License-Identifier: Apache-2.0
"""Multi-tenant MQTT authorization (include/ztp/policy.h)."""

import ctypes
import json

from ._clock import FixedClock
from ._native import Handle, c_int, c_void_p, lib, check, to_c, to_bytes, \
    take_str
from .errors import Status

CONNECT = 1
PUBLISH = 2
SUBSCRIBE = 3
RECEIVE = 4


def action_parse(name):
    """Action code for ``"connect"``, ``"publish"``, ``"subscribe"``,
    ``"receive"``."""
    out = c_int()
    check(lib.ztp_policy_action_parse(ctypes.byref(out), to_c(name, "name")))
    return out.value


def _action(action):
    return action_parse(action) if isinstance(action, str) else int(action)


def _json_result(fn, *args):
    out = c_void_p()
    try:
        check(lib.func(fn)(ctypes.byref(out), *args))
    finally:
        text = take_str(out)
    return json.loads(text)


def namespace(tenant, device):
    """A device's topic namespace as a dict (prefix, filter, broadcast)."""
    return _json_result("ztp_policy_namespace", to_c(tenant, "tenant"),
                        to_c(device, "device"))


def default_document():
    """The default policy confining each device to its namespace (dict)."""
    return _json_result("ztp_policy_default_document")


class Policy(Handle):
    """A compiled policy and the device CAs identities are read under.

    Decisions, loads and identity lookups are safe from many threads;
    :meth:`add_ca_pem` and :meth:`set_clock` configure the handle.
    """

    _free_fn = "ztp_policy_free"
    _kind = "policy"

    def __init__(self, document=None, ca_pem=None):
        out = c_void_p()
        check(lib.ztp_policy_new(ctypes.byref(out)))
        super().__init__(out.value)
        self._clock = FixedClock()
        try:
            if ca_pem is not None:
                self.add_ca_pem(ca_pem)
            if document is not None:
                self.load(document)
        except BaseException:
            self.close()
            raise

    def set_clock(self, when=None):
        self._clock.apply(self, "ztp_policy_set_clock", when)

    def add_ca_pem(self, pem):
        data = to_bytes(pem, "pem")
        self._call("ztp_policy_add_ca_pem", data, len(data))

    def load(self, document):
        """Load a policy document (dict, str or bytes). On failure the
        handle has no policy and denies everything (see ztp_policy(3))."""
        if isinstance(document, (dict, list)):
            document = json.dumps(document)
        data = to_bytes(document, "document")
        self._call("ztp_policy_load", data, len(data))

    def load_file(self, path):
        self._call("ztp_policy_load_file", to_c(path, "path"))

    def authorize(self, action, topic, tenant=None, device=None,
                  client_id=None):
        """True when allowed, False when denied.

        Malformed topics or identities raise ZtpError (EINVAL): they are
        denials too, reported separately so callers can log them.
        """
        t = to_bytes(topic, "topic")
        ptr = self._acquire()
        try:
            rc = lib.ztp_policy_authorize(ptr, to_c(tenant, "tenant", True),
                                          to_c(device, "device", True),
                                          to_c(client_id, "client_id", True),
                                          _action(action), t, len(t))
            if rc == Status.EDENIED:
                return False
            check(rc)
            return True
        finally:
            self._release()

    def explain(self, action, topic, tenant=None, device=None,
                client_id=None):
        """The decision explained, as a dict."""
        t = to_bytes(topic, "topic")
        out = c_void_p()
        try:
            self._call_first_out("ztp_policy_explain", out,
                                 to_c(tenant, "tenant", True),
                                 to_c(device, "device", True),
                                 to_c(client_id, "client_id", True),
                                 _action(action), t, len(t))
        finally:
            text = take_str(out)
        return json.loads(text)

    def stats(self):
        out = c_void_p()
        try:
            self._call_first_out("ztp_policy_stats", out)
        finally:
            text = take_str(out)
        return json.loads(text)

    def identity_from_cert(self, cert_pem):
        """The verified identity of a client certificate:
        ``{"device": …, "tenant": … or None}``."""
        data = to_bytes(cert_pem, "cert_pem")
        out = c_void_p()
        try:
            self._call_first_out("ztp_policy_identity_from_cert", out, data,
                                 len(data))
        finally:
            text = take_str(out)
        return json.loads(text)

    def export(self, tenant, format="aws-iot"):
        """The loaded policy for one tenant in another format (dict)."""
        out = c_void_p()
        try:
            self._call_first_out("ztp_policy_export", out,
                                 to_c(format, "format"),
                                 to_c(tenant, "tenant"))
        finally:
            text = take_str(out)
        return json.loads(text)

    def _call_first_out(self, name, out, *args):
        # These functions take their output before the handle.
        ptr = self._acquire()
        try:
            return check(lib.func(name)(ctypes.byref(out), ptr, *args))
        finally:
            self._release()
