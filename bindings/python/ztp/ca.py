# SPDX-License-Identifier: Apache-2.0
"""Certificate authorities (include/ztp/ca.h)."""

import collections
import ctypes
import json

from ._clock import FixedClock
from ._native import Handle, c_int, c_int64, c_void_p, lib, check, to_c, \
    take_str

FACTORY = "factory"
BOOTSTRAP = "bootstrap"
OPERATIONAL = "operational"
SERVER = "server"

#: A certificate issued by :meth:`CA.issue`.
Issued = collections.namedtuple("Issued", "cert_pem serial not_after")

#: A server certificate issued by :meth:`CA.issue_server`; key_pem is the
#: fresh (secret) private key, or None when it was issued for a CSR.
ServerIssued = collections.namedtuple("ServerIssued",
                                      "cert_pem key_pem serial not_after")

#: A newly created CA: its certificate and (secret) private key, both PEM.
KeyPair = collections.namedtuple("KeyPair", "cert_pem key_pem")


def reason_from_name(name):
    """RFC 5280 CRLReason code for a name such as ``"keyCompromise"``."""
    out = c_int()
    check(lib.ztp_ca_reason_from_name(ctypes.byref(out), to_c(name, "name")))
    return out.value


def reason_name(reason):
    """RFC 5280 name of a reason code, or None for a refused code."""
    name = lib.ztp_ca_reason_name(int(reason))
    return None if name is None else name.decode("ascii")


def _reason(reason):
    if isinstance(reason, str):
        return reason_from_name(reason)
    return int(reason)


def _take_pair(cert, key):
    try:
        cert_pem = take_str(cert)
    finally:
        key_pem = take_str(key, secret=True)
    return KeyPair(cert_pem, key_pem)


def create_root(subject, key_type=None, days=3650):
    """Create a self-signed root CA; returns a :data:`KeyPair`.

    The key is wiped from library memory before it is freed; the returned
    Python string cannot be wiped, so keep it no longer than needed.
    """
    cert, key = c_void_p(), c_void_p()
    try:
        check(lib.ztp_ca_create_root(ctypes.byref(cert), ctypes.byref(key),
                                     to_c(subject, "subject"),
                                     to_c(key_type, "key_type", True),
                                     int(days)))
    except BaseException:
        take_str(cert)
        take_str(key, secret=True)
        raise
    return _take_pair(cert, key)


class CA(Handle):
    """A loaded certificate authority.

    ``CA(cert_pem, key_pem, chain_pem=None, passphrase=None)`` loads from
    PEM text, :meth:`from_files` from files. Once configured (store, key
    policy, clock) it may be used from many threads at once.
    """

    _free_fn = "ztp_ca_free"
    _kind = "CA"

    def __init__(self, cert_pem=None, key_pem=None, chain_pem=None,
                 passphrase=None, store=None):
        out = c_void_p()
        check(lib.ztp_ca_new(ctypes.byref(out)))
        super().__init__(out.value)
        self._clock = FixedClock()
        self._store = None
        loader = None
        if cert_pem is not None or key_pem is not None:
            loader = "ztp_ca_load"
        self._load(loader, "pem", cert_pem, key_pem, chain_pem, passphrase,
                   store)

    @classmethod
    def from_files(cls, cert_path, key_path, chain_path=None,
                   passphrase=None, store=None):
        ca = cls()
        ca._load("ztp_ca_load_files", "path", cert_path, key_path,
                 chain_path, passphrase, store)
        return ca

    def _load(self, loader, kind, cert, key, chain, passphrase, store):
        """Run loader (None: none) and attach store; a failure closes the
        handle. kind ("pem" or "path") completes the C parameter names that
        conversion errors report."""
        try:
            if loader is not None:
                self._call(loader, to_c(cert, "cert_" + kind),
                           to_c(key, "key_" + kind),
                           to_c(chain, "chain_" + kind, True),
                           to_c(passphrase, "passphrase", True))
            if store is not None:
                self.set_store(store)
        except BaseException:
            self.close()
            raise

    # -- configuration ----------------------------------------------------
    def set_store(self, store):
        """Record issuances in store (kept alive by this CA), or None."""
        if store is None:
            self._call("ztp_ca_set_store", None)
        else:
            sp = store._acquire()
            try:
                self._call("ztp_ca_set_store", sp)
            except BaseException:
                store._release()
                raise
            # The CA now borrows the store: keep one use until replaced.
            self._held.append(store)
        old, self._store = self._store, store
        if old is not None:
            self._unhold(old)

    @property
    def store(self):
        return self._store

    def set_key_policy(self, spec):
        """Accepted CSR keys, e.g. ``"ec-p256,ed25519"``."""
        self._call("ztp_ca_set_key_policy", to_c(spec, "spec"))

    def set_clock(self, when=None):
        """Use a fixed time (seconds since the epoch) or None for real time."""
        self._clock.apply(self, "ztp_ca_set_clock", when)

    # -- operations -------------------------------------------------------
    def create_sub(self, subject, key_type=None, days=1825, pathlen=-1):
        """Create a subordinate CA signed by this one; returns a KeyPair."""
        cert, key = c_void_p(), c_void_p()
        try:
            self._call("ztp_ca_create_sub", ctypes.byref(cert),
                       ctypes.byref(key), to_c(subject, "subject"),
                       to_c(key_type, "key_type", True), int(days),
                       int(pathlen))
        except BaseException:
            take_str(cert)
            take_str(key, secret=True)
            raise
        return _take_pair(cert, key)

    def issue(self, csr_pem, device_id, profile=BOOTSTRAP, tenant=None,
              lifetime=0):
        """Issue a certificate from a PEM CSR; returns an :data:`Issued`.

        lifetime: seconds, 0 for the profile's default.
        """
        csr = to_c(csr_pem, "csr_pem")
        cert, serial = c_void_p(), c_void_p()
        not_after = c_int64()
        try:
            self._call("ztp_ca_issue_ex", ctypes.byref(cert),
                       ctypes.byref(serial), ctypes.byref(not_after), csr,
                       len(csr), to_c(device_id, "device_id"),
                       to_c(tenant, "tenant", True),
                       to_c(profile, "profile"), int(lifetime))
        finally:
            cert_pem = take_str(cert)
            serial_hex = take_str(serial)
        return Issued(cert_pem, serial_hex, not_after.value)

    def issue_server(self, dns=(), ip=(), csr_pem=None, key_type=None,
                     lifetime=0):
        """Issue a TLS server certificate (profile ``server``) naming the
        DNS names ``dns`` and IP addresses ``ip`` and nothing from the
        CSR; returns a :data:`ServerIssued`.

        Without ``csr_pem`` a fresh key of ``key_type`` (None: ec-p256) is
        made and returned. lifetime: seconds, 0 for 90 days, at most 398
        days.
        """
        names = json.dumps({"dns": list(dns), "ip": list(ip)}).encode()
        csr = to_c(csr_pem, "csr_pem", True)
        cert, key, serial = c_void_p(), c_void_p(), c_void_p()
        not_after = c_int64()
        try:
            self._call("ztp_ca_issue_server", ctypes.byref(cert),
                       None if csr is not None else ctypes.byref(key),
                       ctypes.byref(serial), ctypes.byref(not_after), csr,
                       len(csr) if csr is not None else 0,
                       to_c(key_type, "key_type", True), names,
                       int(lifetime))
        finally:
            cert_pem = take_str(cert)
            key_pem = take_str(key, secret=True)
            serial_hex = take_str(serial)
        return ServerIssued(cert_pem, key_pem, serial_hex, not_after.value)

    def revoke(self, serial, reason=0):
        """Revoke a recorded certificate (reason: code or RFC 5280 name)."""
        self._call("ztp_ca_revoke", to_c(serial, "serial"), _reason(reason))

    def crl(self, next_update_hours=0):
        """A signed PEM CRL of every revoked certificate in the store."""
        out = c_void_p()
        try:
            self._call("ztp_ca_crl", ctypes.byref(out),
                       int(next_update_hours))
        finally:
            pem = take_str(out)
        return pem

    def _pem(self, name):
        out = c_void_p()
        try:
            self._call(name, ctypes.byref(out))
        finally:
            pem = take_str(out)
        return pem

    @property
    def cert_pem(self):
        """This CA's certificate, PEM."""
        return self._pem("ztp_ca_cert_pem")

    @property
    def chain_pem(self):
        """The CA certificate followed by the chain it was loaded with."""
        return self._pem("ztp_ca_chain_pem")
