# SPDX-License-Identifier: Apache-2.0
"""The device side of the protocol (include/ztp/device.h)."""

import ctypes
import json
import re

from ._clock import FixedClock
from ._events import make_callback
from ._native import EVENT_FN, Handle, c_void_p, lib, check, to_c, take_str

# RFC 3986 scheme: anything else is taken as a file name.
_URI = re.compile(rb"^[A-Za-z][A-Za-z0-9+.-]*:")


class Device(Handle):
    """A device: factory identity, server, state directory, retries.

    Configure it with keyword arguments, the setters or a
    ztp-device.json(5) file (``Device(config=path)``), then call
    :meth:`bootstrap`. A Device belongs to one thread at a time.
    """

    _free_fn = "ztp_device_free"
    _kind = "device"

    def __init__(self, config=None, *, device_id=None, factory_key=None,
                 factory_cert=None, base_url=None, ca_file=None,
                 key_type=None, state_dir=None):
        out = c_void_p()
        check(lib.ztp_device_new(ctypes.byref(out)))
        super().__init__(out.value)
        self._clock = FixedClock()
        self._callback = None
        try:
            if config is not None:
                self.load_config(config)
            if device_id is not None:
                self.set_id(device_id)
            if factory_key is not None or factory_cert is not None:
                self.set_factory_identity(factory_key, factory_cert)
            if base_url is not None:
                self.set_base_url(base_url)
            if ca_file is not None:
                self.set_ca_file(ca_file)
            if key_type is not None:
                self.set_key_type(key_type)
            if state_dir is not None:
                self.set_state_dir(state_dir)
        except BaseException:
            self.close()
            raise

    def load_config(self, path):
        """Replace the configuration with a ztp-device.json(5) file."""
        self._call("ztp_device_load_config", to_c(path, "path"))

    def set_id(self, device_id):
        self._call("ztp_device_set_id", to_c(device_id, "device_id"))

    def set_factory_identity(self, key, cert_path):
        """key: a key source URI (``file:PATH``, ``pkcs11:…``,
        ``tpm2:handle=0x81XXXXXX``) or a plain file path."""
        key = to_c(key, "key")
        if not _URI.match(key):
            key = b"file:" + key
        self._call("ztp_device_set_factory_identity", key,
                   to_c(cert_path, "cert_path"))

    def set_base_url(self, url):
        self._call("ztp_device_set_base_url", to_c(url, "url"))

    def set_ca_file(self, path):
        self._call("ztp_device_set_ca_file", to_c(path, "path"))

    def set_key_type(self, key_type):
        self._call("ztp_device_set_key_type", to_c(key_type, "key_type"))

    def set_state_dir(self, path):
        self._call("ztp_device_set_state_dir", to_c(path, "path"))

    def set_key_store(self, token_uri, label=None):
        """Generate the device's keys in the PKCS#11 token token_uri
        names (None: key files), as objects labelled LABEL-KIND-SLOT."""
        self._call("ztp_device_set_key_store",
                   to_c(token_uri, "token_uri", optional=True),
                   to_c(label, "label", optional=True))

    def set_timeouts(self, connect_ms, total_ms):
        self._call("ztp_device_set_timeouts", int(connect_ms), int(total_ms))

    def set_retry(self, max_attempts, base_delay_ms=1000, max_delay_ms=60000,
                  max_retry_after_ms=300000):
        self._call("ztp_device_set_retry", int(max_attempts),
                   int(base_delay_ms), int(max_delay_ms),
                   int(max_retry_after_ms))

    def set_clock(self, when=None):
        self._clock.apply(self, "ztp_device_set_clock", when)

    def set_event_callback(self, fn):
        """Call fn(event_dict) for each step and HTTP attempt, or None."""
        if fn is None:
            self._call("ztp_device_set_event_callback", EVENT_FN(), None)
            self._callback = None
            return
        cb = make_callback(fn)
        self._call("ztp_device_set_event_callback", cb, None)
        self._callback = cb

    def bootstrap(self):
        """Obtain and store a bootstrap certificate (see ztp_device(3))."""
        self._call("ztp_device_bootstrap")

    def register(self):
        """Send the configured registration with the bootstrap credential."""
        self._call("ztp_device_register")

    def credentials(self):
        """Obtain the long-lived operational credential."""
        self._call("ztp_device_credentials")

    def rotate(self):
        """Rotate the operational credential (probed before it is used)."""
        self._call("ztp_device_rotate")

    def assignment(self):
        """The device's tenant, namespace and policy, as a dict."""
        out = c_void_p()
        try:
            self._call("ztp_device_assignment", ctypes.byref(out))
        finally:
            text = take_str(out)
        return json.loads(text)

    def run(self):
        """Do whatever the device still needs; returns the actions taken
        (e.g. ``["bootstrap", "register", "credentials"]``)."""
        out = c_void_p()
        try:
            self._call("ztp_device_run", ctypes.byref(out))
        finally:
            text = take_str(out)
        return json.loads(text)["actions"]

    def status(self):
        """The stored credentials, as a dict."""
        out = c_void_p()
        try:
            self._call("ztp_device_status", ctypes.byref(out))
        finally:
            text = take_str(out)
        return json.loads(text)
