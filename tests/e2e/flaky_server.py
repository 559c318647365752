#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Python reference server, except that the first --fail-first
requests to /ztp/v1/bootstrap are answered 503 with Retry-After (header
and error.retry_after) before they reach the verifier. Used by the retry
end-to-end test; every other option is the reference server's."""

import argparse
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "examples", "python"))
import ztp_server  # noqa: E402

OPTIONS = None


class FlakyHandler(ztp_server.Handler):
    def do_POST(self):
        srv = self.server
        with srv.flaky_lock:
            fail = self.path == "/ztp/v1/bootstrap" and srv.flaky_left > 0
            if fail:
                srv.flaky_left -= 1
        if not fail:
            super().do_POST()
            return
        # Drain the body so the connection stays usable.
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n <= srv.max_body:
            self.rfile.read(n)
        self._send(503, ztp_server.error_body(
            "store_unavailable", "try again later",
            retry_after=srv.flaky_retry_after),
            retry_after=srv.flaky_retry_after)


class FlakyServer(ztp_server.Server):
    def __init__(self, *args, **kwargs):
        self.flaky_lock = threading.Lock()
        self.flaky_left = OPTIONS.fail_first
        self.flaky_retry_after = OPTIONS.retry_after
        super().__init__(*args, **kwargs)


def main():
    global OPTIONS
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--fail-first", type=int, default=2)
    ap.add_argument("--retry-after", type=int, default=1)
    OPTIONS, rest = ap.parse_known_args()
    return ztp_server.main(rest, FlakyServer, FlakyHandler)


if __name__ == "__main__":
    sys.exit(main())
