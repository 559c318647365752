#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Python reference server for the portable device core's tests, with:

--server-time   a challenge request's "server_time": true is answered with
                "server_time": "<RFC 3339 UTC>" in the challenge answer (the
                wire contract of the verifier's no-clock support: the member
                is taken out of the request before the verifier sees it);
--break MODE:ENDPOINT  answers to ENDPOINT are broken: "truncate" sends a
                Content-Length over the bytes sent and closes, "oversize"
                sends a 200 answer of 20 KiB;
and one line "tls-connection" on stderr per TLS connection accepted, so
that a test counts the handshakes from the server side. Every other option
is the reference server's."""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "examples", "python"))
import ztp_server  # noqa: E402

OPTIONS = None


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


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
            if broken == "truncate":
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
        if endpoint != "challenge" or not OPTIONS.server_time:
            super().do_POST()
            return
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n)
        want_time = False
        try:
            req = json.loads(raw)
            if isinstance(req, dict) and req.pop("server_time", None) is True:
                want_time = True
                raw = json.dumps(req).encode()
        except ValueError:
            pass
        resp = self.server.verifier.handle("challenge", raw,
                                           self._peer_pem())
        body = resp.body.encode("utf-8")
        if want_time and resp.status == 200:
            doc = json.loads(body)
            doc["server_time"] = utc_now()
            body = json.dumps(doc).encode()
        self._send(resp.status, body)


def main():
    global OPTIONS
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--server-time", action="store_true")
    ap.add_argument("--break", dest="brk_list", action="append", default=[])
    OPTIONS, rest = ap.parse_known_args()
    OPTIONS.brk = {}
    for item in OPTIONS.brk_list:
        mode, _, ep = item.partition(":")
        if mode not in ("truncate", "oversize") or not ep:
            ap.error("--break MODE:ENDPOINT")
        OPTIONS.brk[ep] = mode
    return ztp_server.main(rest, ztp_server.Server, LiteHandler)


if __name__ == "__main__":
    sys.exit(main())
