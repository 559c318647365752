# SPDX-License-Identifier: Apache-2.0
"""Status codes and the exception raised for every library failure."""

import enum


class Status(enum.IntEnum):
    """The library's status codes (include/ztp/common.h, never renumbered)."""

    OK = 0
    EINVAL = -1
    ENOMEM = -2
    EIO = -3
    EPARSE = -4
    ETOOBIG = -5
    ECRYPTO = -6
    ENOTFOUND = -7
    EEXISTS = -8
    ESTORE = -9
    EKEYPOLICY = -10
    EBADSIG = -11
    EUNTRUSTED = -12
    EPROFILE = -13
    EEXPIRED = -14
    EREVOKED = -15
    EMISMATCH = -16
    EREPLAY = -17
    ERATELIMIT = -18
    ESTATE = -19
    EUNSUPPORTED = -20
    ENETWORK = -21
    EDENIED = -22
    EINTERNAL = -23
    ETOKEN = -24
    EPIN = -25

    # Readable aliases.
    INVALID_ARGUMENT = -1
    NOT_FOUND = -7
    UNSUPPORTED = -20


class ZtpError(Exception):
    """A libztp call failed.

    Attributes:
        code: the negative status code (compare with :class:`Status`).
        name: its stable snake_case name (``ztp_status_name``), as used on
            the wire and in logs, e.g. ``"not_found"``.
        message: the one-line detail of the failure
            (``ztp_error_last_message``).
    """

    def __init__(self, code, name, message):
        super().__init__(code, name, message)
        self.code = int(code)
        self.name = name
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.name, self.message)

    def __repr__(self):
        return "ZtpError(%d, %r, %r)" % (self.code, self.name, self.message)
