#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An approval webhook for the end-to-end tests: HTTPS on 127.0.0.1,
POST /approve with a verifier's hook context, answers a verdict. Devices
named ok-* are approved (with attributes), slow-* are answered after two
seconds (past the server's timeout), every other device is refused. Each
context received is appended to --log as one JSON line."""

import argparse
import http.server
import json
import ssl
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    args = ap.parse_args()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            ctx = json.loads(self.rfile.read(min(n, 65536)))
            with lock, open(args.log, "a") as f:
                f.write(json.dumps(ctx) + "\n")
            dev = ctx.get("device_id", "")
            if self.path != "/approve":
                verdict, status = {}, 404
            elif dev.startswith("ok-"):
                verdict = {"decision": "allow",
                           "attributes": {"approved_by": "webhook"}}
                status = 200
            elif dev.startswith("slow-"):
                time.sleep(2)
                verdict, status = {"decision": "allow"}, 200
            else:
                verdict = {"decision": "deny",
                           "message": "not approved: " + dev}
                status = 200
            body = json.dumps(verdict).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print("listening on 127.0.0.1:%d" % httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
