# SPDX-License-Identifier: Apache-2.0
"""Loading of libztp and the ctypes plumbing shared by every wrapper.

Only the public C API (include/ztp/*.h) is used. Every prototype is declared
explicitly: returned ``char *`` values the caller owns are declared as
``c_void_p`` so that ctypes never converts them behind our back (which
would leak them); they are copied with ``string_at`` and released with
``ztp_free``. Static strings (``ztp_strerror``…) are declared ``c_char_p``.
"""

import ctypes
import ctypes.util
import os
import threading

from .errors import Status, ZtpError

c_int = ctypes.c_int
c_int64 = ctypes.c_int64
c_uint64 = ctypes.c_uint64
c_size_t = ctypes.c_size_t
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
_pp = ctypes.POINTER(c_void_p)
_u8p = ctypes.c_char_p  # (const uint8_t *, size_t) pairs take bytes

#: Event callback type: ``void (*)(const char *json, void *ctx)``.
EVENT_FN = ctypes.CFUNCTYPE(None, c_char_p, c_void_p)
# ztp_hook_fn: (user, context_json, verdict buffer, its size) -> length
HOOK_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p, c_size_t)

# name: (restype, argtypes). Returned strings that the caller frees are
# c_void_p out-parameters (_pp), never c_char_p.
_PROTOTYPES = {
    # core
    "ztp_init": (c_int, []),
    "ztp_version": (c_char_p, []),
    "ztp_version_num": (ctypes.c_uint, []),
    "ztp_strerror": (c_char_p, [c_int]),
    "ztp_status_name": (c_char_p, [c_int]),
    "ztp_error_last_code": (c_int, []),
    "ztp_error_last_message": (c_char_p, []),
    "ztp_error_clear": (None, []),
    "ztp_free": (None, [c_void_p]),
    "ztp_id_validate": (c_int, [c_char_p, c_size_t]),
    "ztp_clock_fixed": (c_int64, [c_void_p]),
    "ztp_clock_system": (c_int64, [c_void_p]),
    # store
    "ztp_store_open": (c_int, [_pp, c_char_p]),
    "ztp_store_free": (None, [c_void_p]),
    "ztp_store_device_add": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                     c_char_p, c_int64]),
    "ztp_store_device_get": (c_int, [c_void_p, c_char_p, _pp]),
    "ztp_store_device_set_state": (c_int, [c_void_p, c_char_p, c_char_p,
                                           c_char_p, c_char_p]),
    "ztp_store_device_set_info": (c_int, [c_void_p, c_char_p, c_char_p]),
    "ztp_store_claim_set": (c_int, [c_void_p, c_char_p, _u8p, c_size_t]),
    "ztp_store_claim_take": (c_int, [c_void_p, c_char_p, _u8p, c_size_t,
                                     c_char_p]),
    "ztp_store_cert_add": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                   c_int64, c_int64, c_char_p]),
    "ztp_store_cert_get": (c_int, [c_void_p, c_char_p, _pp]),
    "ztp_store_cert_revoke": (c_int, [c_void_p, c_char_p, c_int, c_int64]),
    "ztp_store_device_revoke_certs": (c_int, [c_void_p, c_char_p, c_char_p,
                                              c_int, c_int64,
                                              ctypes.POINTER(c_uint64)]),
    "ztp_store_revoked_list": (c_int, [c_void_p, _pp]),
    "ztp_store_device_certs": (c_int, [c_void_p, c_char_p, _pp]),
    "ztp_store_cert_count": (c_int, [c_void_p, ctypes.POINTER(c_uint64)]),
    "ztp_store_challenge_use": (c_int, [c_void_p, _u8p, c_size_t, c_int64,
                                        c_int64]),
    "ztp_store_event_append": (c_int, [c_void_p, c_char_p]),
    "ztp_store_event_list": (c_int, [c_void_p, c_int64, c_size_t, _pp]),
    "ztp_store_counter_next": (c_int, [c_void_p, c_char_p,
                                       ctypes.POINTER(c_uint64)]),
    "ztp_store_device_set_factory_key": (c_int, [c_void_p, c_char_p, _u8p,
                                                 c_size_t]),
    "ztp_store_limit_take": (c_int, [c_void_p, c_char_p, c_char_p,
                                     ctypes.c_double, ctypes.c_double,
                                     c_int64, ctypes.POINTER(c_int64)]),
    "ztp_store_claim_attempt": (c_int, [c_void_p, c_char_p, _u8p, c_size_t,
                                        c_char_p, ctypes.c_double,
                                        ctypes.c_double, c_int64,
                                        ctypes.POINTER(c_int64)]),
    "ztp_store_set_clock": (c_int, [c_void_p, c_void_p, c_void_p]),
    # ca
    "ztp_ca_reason_from_name": (c_int, [ctypes.POINTER(c_int), c_char_p]),
    "ztp_ca_reason_name": (c_char_p, [c_int]),
    "ztp_ca_new": (c_int, [_pp]),
    "ztp_ca_free": (None, [c_void_p]),
    "ztp_ca_load": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                            c_char_p]),
    "ztp_ca_load_files": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                  c_char_p]),
    "ztp_ca_set_store": (c_int, [c_void_p, c_void_p]),
    "ztp_ca_set_key_policy": (c_int, [c_void_p, c_char_p]),
    "ztp_ca_set_clock": (c_int, [c_void_p, c_void_p, c_void_p]),
    "ztp_ca_create_root": (c_int, [_pp, _pp, c_char_p, c_char_p, c_int]),
    "ztp_ca_create_sub": (c_int, [c_void_p, _pp, _pp, c_char_p, c_char_p,
                                  c_int, c_int]),
    "ztp_ca_issue": (c_int, [c_void_p, _pp, c_char_p, c_size_t, c_char_p,
                             c_char_p, c_char_p, c_int64]),
    "ztp_ca_issue_ex": (c_int, [c_void_p, _pp, _pp,
                                ctypes.POINTER(c_int64), c_char_p, c_size_t,
                                c_char_p, c_char_p, c_char_p, c_int64]),
    "ztp_ca_issue_server": (c_int, [c_void_p, _pp, _pp, _pp,
                                    ctypes.POINTER(c_int64), c_char_p,
                                    c_size_t, c_char_p, c_char_p, c_int64]),
    "ztp_ca_revoke": (c_int, [c_void_p, c_char_p, c_int]),
    "ztp_ca_crl": (c_int, [c_void_p, _pp, c_int]),
    "ztp_ca_cert_pem": (c_int, [c_void_p, _pp]),
    "ztp_ca_chain_pem": (c_int, [c_void_p, _pp]),
    # device
    "ztp_device_new": (c_int, [_pp]),
    "ztp_device_free": (None, [c_void_p]),
    "ztp_device_set_id": (c_int, [c_void_p, c_char_p]),
    "ztp_device_set_factory_identity": (c_int, [c_void_p, c_char_p,
                                                c_char_p]),
    "ztp_device_set_base_url": (c_int, [c_void_p, c_char_p]),
    "ztp_device_set_ca_file": (c_int, [c_void_p, c_char_p]),
    "ztp_device_set_key_type": (c_int, [c_void_p, c_char_p]),
    "ztp_device_set_state_dir": (c_int, [c_void_p, c_char_p]),
    "ztp_device_set_key_store": (c_int, [c_void_p, c_char_p, c_char_p]),
    "ztp_device_set_timeouts": (c_int, [c_void_p, c_int64, c_int64]),
    "ztp_device_set_retry": (c_int, [c_void_p, c_int, c_int64, c_int64,
                                     c_int64]),
    "ztp_device_set_event_callback": (c_int, [c_void_p, EVENT_FN, c_void_p]),
    "ztp_device_set_clock": (c_int, [c_void_p, c_void_p, c_void_p]),
    "ztp_device_load_config": (c_int, [c_void_p, c_char_p]),
    "ztp_device_bootstrap": (c_int, [c_void_p]),
    "ztp_device_status": (c_int, [c_void_p, _pp]),
    "ztp_device_register": (c_int, [c_void_p]),
    "ztp_device_credentials": (c_int, [c_void_p]),
    "ztp_device_rotate": (c_int, [c_void_p]),
    "ztp_device_assignment": (c_int, [c_void_p, _pp]),
    "ztp_device_run": (c_int, [c_void_p, _pp]),
    # verifier
    "ztp_verifier_new": (c_int, [_pp]),
    "ztp_verifier_free": (None, [c_void_p]),
    "ztp_verifier_load_config": (c_int, [c_void_p, c_char_p]),
    "ztp_verifier_set_trust_anchors": (c_int, [c_void_p, c_char_p,
                                               c_size_t]),
    "ztp_verifier_set_issuers": (c_int, [c_void_p, c_char_p, c_size_t]),
    "ztp_verifier_add_device_ca": (c_int, [c_void_p, c_char_p, c_size_t]),
    "ztp_verifier_retire_device_ca": (c_int, [c_void_p, c_char_p]),
    "ztp_verifier_set_trust_bundle": (c_int, [c_void_p, c_char_p,
                                              c_size_t]),
    "ztp_verifier_set_ca": (c_int, [c_void_p, c_void_p]),
    "ztp_verifier_set_store": (c_int, [c_void_p, c_void_p]),
    "ztp_verifier_set_bootstrap_lifetime": (c_int, [c_void_p, c_int64]),
    "ztp_verifier_set_clock_leeway": (c_int, [c_void_p, c_int64]),
    "ztp_verifier_set_challenge_ttl": (c_int, [c_void_p, c_int64]),
    "ztp_verifier_set_max_chain_depth": (c_int, [c_void_p, c_int]),
    "ztp_verifier_set_key_policy": (c_int, [c_void_p, c_char_p]),
    "ztp_verifier_set_max_request_size": (c_int, [c_void_p, c_size_t]),
    "ztp_verifier_set_rate_limit": (c_int, [c_void_p, c_char_p,
                                            ctypes.c_double,
                                            ctypes.c_double]),
    "ztp_verifier_set_hmac_secret": (c_int, [c_void_p, _u8p, c_size_t]),
    "ztp_verifier_set_clock": (c_int, [c_void_p, c_void_p, c_void_p]),
    "ztp_verifier_set_event_callback": (c_int, [c_void_p, EVENT_FN,
                                                c_void_p]),
    "ztp_verifier_set_hook": (c_int, [c_void_p, HOOK_FN, c_void_p,
                                      ctypes.c_int64]),
    "ztp_verifier_handle": (c_int, [c_void_p, ctypes.POINTER(c_int), _pp,
                                    c_char_p, c_char_p, c_size_t, c_char_p,
                                    c_size_t]),
    "ztp_verifier_check_cert": (c_int, [c_void_p, _pp, c_char_p, c_size_t,
                                        c_char_p, c_size_t, c_int64]),
    "ztp_verifier_enroll": (c_int, [c_void_p, _pp, c_char_p, c_char_p,
                                    c_size_t, c_char_p, c_char_p]),
    "ztp_verifier_set_operational_lifetime": (c_int, [c_void_p, c_int64]),
    "ztp_verifier_claim": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p]),
    "ztp_verifier_reset": (c_int, [c_void_p, _pp, c_char_p]),
    "ztp_verifier_revoke": (c_int, [c_void_p, c_char_p]),
    "ztp_verifier_stats": (c_int, [c_void_p, _pp]),
    "ztp_verifier_metrics": (c_int, [c_void_p, _pp]),
    "ztp_verifier_ocsp": (c_int, [c_void_p, _pp, ctypes.POINTER(c_size_t),
                                  c_char_p, c_size_t]),
    "ztp_verifier_set_ocsp_next_update": (c_int, [c_void_p, c_int64]),
    "ztp_verifier_error_codes": (c_int, [_pp]),
    # policy
    "ztp_policy_action_parse": (c_int, [ctypes.POINTER(c_int), c_char_p]),
    "ztp_policy_new": (c_int, [_pp]),
    "ztp_policy_free": (None, [c_void_p]),
    "ztp_policy_set_clock": (c_int, [c_void_p, c_void_p, c_void_p]),
    "ztp_policy_add_ca_pem": (c_int, [c_void_p, c_char_p, c_size_t]),
    "ztp_policy_load": (c_int, [c_void_p, c_char_p, c_size_t]),
    "ztp_policy_load_file": (c_int, [c_void_p, c_char_p]),
    "ztp_policy_authorize": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                     c_int, c_char_p, c_size_t]),
    "ztp_policy_explain": (c_int, [_pp, c_void_p, c_char_p, c_char_p,
                                   c_char_p, c_int, c_char_p, c_size_t]),
    "ztp_policy_stats": (c_int, [_pp, c_void_p]),
    "ztp_policy_identity_from_cert": (c_int, [_pp, c_void_p, c_char_p,
                                              c_size_t]),
    "ztp_policy_cert_identity": (c_int, [_pp, _pp, c_void_p, c_char_p,
                                         c_size_t]),
    "ztp_policy_namespace": (c_int, [_pp, c_char_p, c_char_p]),
    "ztp_policy_default_document": (c_int, [_pp]),
    "ztp_policy_export": (c_int, [_pp, c_void_p, c_char_p, c_char_p]),
}


def extend_prototypes(table):
    """Register prototypes of a module whose header is newer than this file."""
    _PROTOTYPES.update(table)


def _candidates():
    env = os.environ.get("ZTP_LIBRARY")
    if env:
        # An explicit choice is final: falling back silently would test or
        # serve with a library other than the one asked for.
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    # bindings/python/ztp -> top of an in-tree build.
    top = os.path.normpath(os.path.join(here, "..", "..", ".."))
    found = [os.path.join(top, ".libs", "libztp.so")]
    name = ctypes.util.find_library("ztp")
    if name:
        found.append(name)
    return found


class _Library:
    """The loaded libztp, with prototypes applied on first use."""

    def __init__(self):
        self._dll = None
        self.path = None
        self._lock = threading.Lock()
        self._funcs = {}

    def _load(self):
        errors = []
        for cand in _candidates():
            if os.sep in cand and not os.path.exists(cand):
                errors.append("%s: no such file" % cand)
                continue
            try:
                dll = ctypes.CDLL(cand)
            except OSError as e:
                errors.append("%s: %s" % (cand, e))
                continue
            self.path = cand
            return dll
        raise OSError("libztp not found (set ZTP_LIBRARY): " +
                      "; ".join(errors or ["no candidate"]))

    def func(self, name):
        f = self._funcs.get(name)
        if f is not None:
            return f
        with self._lock:
            if self._dll is None:
                self._dll = self._load()
            try:
                f = getattr(self._dll, name)
            except AttributeError:
                raise ZtpError(Status.UNSUPPORTED, "unsupported",
                               "%s is not in this libztp build (%s)" %
                               (name, self.path)) from None
            restype, argtypes = _PROTOTYPES[name]
            f.restype = restype
            f.argtypes = argtypes
            self._funcs[name] = f
            return f

    def has(self, name):
        try:
            self.func(name)
        except ZtpError:
            return False
        return True

    def __getattr__(self, name):
        if name.startswith("ztp_"):
            return self.func(name)
        raise AttributeError(name)


lib = _Library()


def last_error(code):
    """Build the exception for a failing call, from this thread's detail."""
    msg = lib.ztp_error_last_message()
    last = lib.ztp_error_last_code()
    if last != code or not msg:
        # The detail belongs to another failure (a call that returned a code
        # without setting it): do not attach a misleading message.
        msg = lib.ztp_strerror(code)
    name = lib.ztp_status_name(code)
    return ZtpError(code, name.decode("ascii", "replace"),
                    msg.decode("utf-8", "replace"))


def check(rc):
    if rc != 0:
        raise last_error(rc)
    return rc


def arg_error(message):
    return ZtpError(Status.EINVAL, "invalid_argument", message)


def to_c(value, what, optional=False):
    """A Python str (or bytes) argument as NUL-free UTF-8 bytes."""
    if value is None:
        if optional:
            return None
        raise arg_error("%s must not be None" % what)
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
    elif isinstance(value, os.PathLike):
        value = os.fsencode(value)
    else:
        raise TypeError("%s must be str or bytes, not %s" %
                        (what, type(value).__name__))
    if b"\0" in value:
        raise arg_error("%s contains a NUL byte" % what)
    return value


def to_bytes(value, what):
    """Binary (ptr, len) arguments: bytes as given, str as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes or str, not %s" %
                    (what, type(value).__name__))


def take_bytes(ptr, secret=False):
    """Copy a library-allocated NUL-terminated buffer and free it."""
    if not ptr.value:
        return None
    try:
        data = ctypes.string_at(ptr.value)
        if secret:
            ctypes.memset(ptr.value, 0, len(data))
    finally:
        lib.ztp_free(ptr.value)
        ptr.value = None
    return data


def take_str(ptr, secret=False):
    data = take_bytes(ptr, secret)
    return None if data is None else data.decode("utf-8")


def clock_fixed_address():
    return ctypes.cast(lib.ztp_clock_fixed, c_void_p).value


class Handle:
    """An opaque library handle shared safely between Python threads.

    Calls run under a use count so that close() from one thread never frees
    the handle while another thread is inside the library with it; the last
    user frees it. Handles that borrow another (a CA borrows its store) hold
    a use on it for as long as they keep it.
    """

    _free_fn = None
    _kind = "handle"

    def __init__(self, ptr):
        self._ptr = ptr
        self._uses = 0
        self._closing = False
        self._mutex = threading.Lock()
        self._held = []

    # -- lifetime ---------------------------------------------------------
    def _acquire(self):
        with self._mutex:
            if self._ptr is None or self._closing:
                raise ZtpError(Status.ESTATE, "invalid_state",
                               "%s is closed" % self._kind)
            self._uses += 1
            return self._ptr

    def _release(self):
        ptr = None
        with self._mutex:
            self._uses -= 1
            if self._closing and self._uses == 0 and self._ptr is not None:
                ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._destroy(ptr)

    def _destroy(self, ptr):
        lib.func(self._free_fn)(ptr)
        held, self._held = self._held, []
        for h in held:
            h._release()

    def _hold(self, other):
        other._acquire()
        self._held.append(other)

    def _unhold(self, other):
        for i, h in enumerate(self._held):
            if h is other:
                del self._held[i]
                other._release()
                return

    def close(self):
        """Release the native handle (idempotent)."""
        ptr = None
        with self._mutex:
            if self._ptr is None or self._closing:
                return
            self._closing = True
            if self._uses == 0:
                ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._destroy(ptr)

    @property
    def closed(self):
        return self._ptr is None or self._closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        # Interpreter shutdown may already have torn down the module state.
        try:
            self.close()
        except Exception:
            pass

    # -- calls ------------------------------------------------------------
    def _call(self, name, *args):
        ptr = self._acquire()
        try:
            return check(lib.func(name)(ptr, *args))
        finally:
            self._release()
