# SPDX-License-Identifier: Apache-2.0
"""Core API: version, status names, identifier validation."""

from ._native import lib, check, to_bytes


def init():
    """Initialise the library (optional; idempotent and thread-safe)."""
    check(lib.ztp_init())


def version():
    """Run-time library version, e.g. ``"0.1.0"``."""
    return lib.ztp_version().decode("ascii")


def version_num():
    """Run-time library version as ``0xMMmmpp``."""
    return int(lib.ztp_version_num())


def strerror(code):
    """Fixed English description of a status code."""
    return lib.ztp_strerror(int(code)).decode("utf-8")


def status_name(code):
    """Stable snake_case name of a status code (``"not_found"`` …)."""
    return lib.ztp_status_name(int(code)).decode("ascii")


def validate_id(identifier):
    """Check a device or tenant ID against the library's one grammar.

    Raises :class:`ztp.ZtpError` (``EINVAL``) when it is not acceptable.
    The check is done on the exact bytes, so a str is encoded as UTF-8 and
    embedded NULs are seen (and refused) by the library itself.
    """
    data = to_bytes(identifier, "identifier")
    check(lib.ztp_id_validate(data, len(data)))


def is_valid_id(identifier):
    """True when :func:`validate_id` would accept identifier."""
    from .errors import ZtpError
    try:
        validate_id(identifier)
    except ZtpError:
        return False
    return True
