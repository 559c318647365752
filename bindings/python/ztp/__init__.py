# SPDX-License-Identifier: Apache-2.0
"""Python bindings for libztp: zero-touch secure provisioning for IoT fleets.

The package is a thin ctypes layer over the public C API; it needs no
compiler. The library is found through the environment variable
``ZTP_LIBRARY`` (a path to libztp.so), else in the build tree this package
sits in, else wherever the system's loader finds ``libztp``.

Every failure raises :class:`ZtpError` carrying the library's status code,
its stable name and the detail message. Handles are context managers;
``close()`` releases them (and is also called when they are collected).
"""

from .errors import Status, ZtpError
from .core import init, version, version_num, strerror, status_name, \
    validate_id, is_valid_id
from .store import Store
from .ca import CA, Issued, KeyPair, ServerIssued, create_root, \
    reason_from_name, reason_name
from .verifier import Verifier, Response, error_codes, HOOK_VERDICT_MAX
from .device import Device
from .policy import Policy, namespace, default_document, action_parse

__all__ = [
    "Status", "ZtpError", "init", "version", "version_num", "strerror",
    "status_name", "validate_id", "is_valid_id", "Store", "CA", "Issued",
    "KeyPair", "ServerIssued", "create_root", "reason_from_name", "reason_name", "Verifier",
    "Response", "error_codes", "Device", "Policy", "namespace",
    "default_document", "action_parse", "HOOK_VERDICT_MAX",
]
