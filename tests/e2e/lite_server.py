#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Python reference server for the portable device core's tests, with:

--break MODE:ENDPOINT  answers to ENDPOINT are broken: "truncate" sends a
                Content-Length over the bytes sent and closes, "oversize"
                sends a 200 answer of 20 KiB, "fail" answers 500
                internal_error;
and one line "tls-connection" on stderr per TLS connection accepted, so
that a test counts the handshakes from the server side. Every other option
is the reference server's."""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "examples", "python"))
import ztp_server  # noqa: E402

OPTIONS = None


class LiteHandler(ztp_server.Handler):
    def setup(self):
        super().setup()
        sys.stderr.write("tls-connection\n")
        sys.stderr.flush()

    def do_POST(self):
        endpoint = self.path.rsplit("/", 1)[-1]
        broken = OPTIONS.brk.get(endpoint)
        if broken is not None:
            n = int(self.headers.get("Content-Length", "0") or 0)
            self.rfile.read(n)
            if broken == "fail":
                self._send(500, b'{"error": {"code": "internal_error", '
                           b'"message": "broken for the test"}}')
            elif broken == "truncate":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4000")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b'{"nonce": "abc')
                self.close_connection = True
            else:
                body = b'{"nonce": "' + b"A" * 20480 + b'"}'
                self._send(200, body)
            return
        super().do_POST()


def main():
    global OPTIONS
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--break", dest="brk_list", action="append", default=[])
    OPTIONS, rest = ap.parse_known_args()
    OPTIONS.brk = {}
    for item in OPTIONS.brk_list:
        mode, _, ep = item.partition(":")
        if mode not in ("truncate", "oversize", "fail") or not ep:
            ap.error("--break MODE:ENDPOINT")
        OPTIONS.brk[ep] = mode
    return ztp_server.main(rest, ztp_server.Server, LiteHandler)


if __name__ == "__main__":
    sys.exit(main())
