#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reference HTTPS server hosting the libztp verifier.

    ztp_server.py --config ztp-verify.json --tls-cert server.pem \\
                  --tls-key server.key [--listen 127.0.0.1:8443]

The verifier is configured from the same JSON file as ztp-verify
(ztp-verify.json(5)). Requests ``POST /ztp/v1/<endpoint>`` are passed to
Verifier.handle() together with the certificate the client presented in the
TLS handshake; the verifier makes every identity decision.

TLS: version 1.2 or later. Client certificates are requested but optional
(a device asks for its first challenge with or without one). A certificate
that is presented must chain to one of the CAs that can sign device
certificates (the manufacturer trust anchors and issuing CAs and the device
CA named in the configuration, with those a rollover still accepts,
device_ca_previous; or those given with --client-ca). That check
only keeps strangers out of the handshake: the verifier repeats the real
identity check (issuer allowlist, profile, registry, revocation) for every
request.

Slow clients: a request (the TLS handshake included, for the first request
of a connection) must arrive whole, headers and body, within
--request-timeout seconds; a kept-alive connection may wait --idle-timeout
seconds for its next request; at most --max-connections connections are
open at once, at most --max-per-address of them from one client address,
and connections over either cap are closed as soon as they are accepted.
One thread serves each connection, so these bound what slow or idle
clients can hold, and for how long; see doc/SECURITY.md for what they do
not stop.

``POST /ztp/v1/ocsp`` (an ``application/ocsp-request`` body) and
``GET /ztp/v1/ocsp/<base64 of the request, URL-encoded>`` answer OCSP
requests for the device CA (ztp_verifier_ocsp(3)).

``GET /metrics`` answers ztp_verifier_metrics(3), the Prometheus text
format 0.0.4. With --metrics-listen HOST:PORT it is served there instead,
over plain HTTP and without client certificates, for a scraper on an
operator network; the device-facing listener then answers 404.

Approval: with --approval-webhook URL (https only) the verifier's
approval hook (ztp_verifier_set_hook(3)) POSTs each context to URL and
takes the response body (status 200, a JSON object) as the verdict;
--approval-ca names the CA bundle for the webhook's certificate and
--approval-timeout-ms its time to answer (default 2000). A webhook that
fails, answers anything else, or answers late denies (fail closed).

On start the server prints ``listening on HOST:PORT`` on stdout (port 0
picks a free port), then ``metrics on HOST:PORT`` with --metrics-listen.
Logs: one JSON object per line, on standard error (--log stderr, the
default) or to syslog (--log syslog, facility daemon; --log none or
--quiet: nothing): ``{"kind":"request","request_id":…,"remote":…,
"method":…,"endpoint":…,"status":N,"code":…,"device_id":…,
"latency_ms":…}`` for every request (code: the wire code of an error
answer, ``ok`` otherwise; device_id: the device the verifier's event named,
else a valid ``device_id`` of the request), ``{"kind":"event",
"request_id":…, …}`` for every decision event of the verifier (its fields,
ztp-protocol(7)), and ``{"kind":"connection",…}`` for refused connections
and failed handshakes. The request ID is also sent as ``X-Request-ID``.
Request bodies, certificates, nonces, claim codes and keys are never
logged.

SIGTERM and SIGINT stop it.
"""

import argparse
import base64
import binascii
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import syslog
import threading
import urllib.error
import urllib.request
import time
import urllib.parse

try:
    import ztp
except ImportError:
    # Run from a source tree: use the binding next to this example.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "..", "bindings", "python"))
    import ztp

ENDPOINT = re.compile(r"^/ztp/v1/([a-z][a-z0-9_]{0,31})$")
OCSP_GET_PREFIX = "/ztp/v1/ocsp/"
METRICS_PATH = "/metrics"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_MAX_BODY = 65536
DEFAULT_MAX_CONNECTIONS = 256
DEFAULT_MAX_PER_ADDRESS = 16
#: Seconds from accept (or from the first byte of a kept-alive connection's
#: next request) until the request is read whole.
DEFAULT_REQUEST_TIMEOUT = 20
#: Seconds a kept-alive connection may wait for its next request.
DEFAULT_IDLE_TIMEOUT = 10
#: Seconds a client may take to read each part of an answer.
WRITE_TIMEOUT = 30


class JsonLog:
    """One JSON object per line to stderr or syslog; None: nothing."""

    def __init__(self, dest):
        self.dest = dest
        self.lock = threading.Lock()
        if dest == "syslog":
            syslog.openlog("ztp-server", syslog.LOG_PID, syslog.LOG_DAEMON)

    def write(self, obj):
        if self.dest is None:
            return
        line = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
        if self.dest == "syslog":
            syslog.syslog(syslog.LOG_INFO, line)
            return
        with self.lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


#: The request a thread serves: its ID and what the log line collects.
CURRENT = threading.local()


def on_event(log):
    """The verifier's event callback: a log line per event, tagged with
    the request it was decided in (the callback runs on that thread)."""
    def fn(event):
        rid = getattr(CURRENT, "request_id", None)
        if isinstance(event.get("device_id"), str):
            CURRENT.device_id = event["device_id"]
        log.write(dict({"ts": utc_now(), "kind": "event",
                        "request_id": rid}, **event))
    return fn


def request_device_id(body):
    """The request's device_id when it is a valid identifier (IDs are
    public names; the rest of the body is never logged)."""
    try:
        doc = json.loads(body)
        dev = doc.get("device_id") if isinstance(doc, dict) else None
        if isinstance(dev, str):
            ztp.validate_id(dev)
            return dev
    except (ValueError, UnicodeDecodeError, ztp.ZtpError):
        pass
    return None


def error_body(code, message, retry_after=None):
    err = {"code": code, "message": message}
    if retry_after is not None:
        err["retry_after"] = retry_after
    return json.dumps({"error": err}).encode()


class DeadlineSocket(ssl.SSLSocket):
    """A TLS connection whose reads share one deadline per request.

    A per-read timeout alone lets a client keep a connection (and its
    thread) for as long as it likes by sending a byte now and then. Here
    every read waits at most until the request's deadline; between
    requests, until the idle timeout, and the first byte of the next
    request starts its deadline. The server sets ztp_deadline for the
    first request at accept; Handler resets it after each request."""

    ztp_deadline = None
    ztp_idle_until = 0.0
    ztp_request_timeout = DEFAULT_REQUEST_TIMEOUT

    def _ztp_arm(self):
        end = self.ztp_deadline
        if end is None:
            end = self.ztp_idle_until
        left = end - time.monotonic()
        if left <= 0:
            raise socket.timeout("request deadline passed")
        self.settimeout(left)

    def recv_into(self, buffer, nbytes=0, flags=0):
        self._ztp_arm()
        n = super().recv_into(buffer, nbytes, flags)
        if n and self.ztp_deadline is None:
            self.ztp_deadline = time.monotonic() + self.ztp_request_timeout
        return n

    def recv(self, buflen=1024, flags=0):
        self._ztp_arm()
        data = super().recv(buflen, flags)
        if data and self.ztp_deadline is None:
            self.ztp_deadline = time.monotonic() + self.ztp_request_timeout
        return data

    def sendall(self, data, flags=0):
        self.settimeout(WRITE_TIMEOUT)
        return super().sendall(data, flags)


def send_metrics(handler, verifier, head=False):
    """Answer GET (or HEAD) /metrics on any BaseHTTPRequestHandler."""
    try:
        body = verifier.metrics().encode("utf-8")
        status = 200
        ctype = METRICS_TYPE
    except ztp.ZtpError as e:
        body = ("metrics unavailable: %s\n" % e).encode()
        status = 500
        ctype = "text/plain; charset=utf-8"
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    if not head:
        handler.wfile.write(body)


class MetricsHandler(http.server.BaseHTTPRequestHandler):
    """The --metrics-listen listener: GET /metrics and nothing else."""

    server_version = "ztp-server"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = DEFAULT_REQUEST_TIMEOUT

    def do_GET(self):
        if self.path != METRICS_PATH:
            self.send_error(404)
            return
        send_metrics(self, self.server.verifier)

    def do_HEAD(self):
        if self.path != METRICS_PATH:
            self.send_error(404)
            return
        send_metrics(self, self.server.verifier, head=True)

    def log_message(self, fmt, *args):
        pass


class MetricsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, verifier):
        self.verifier = verifier
        super().__init__(address, MetricsHandler)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "ztp-server"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _send(self, status, body, retry_after=None, close=False):
        if status >= 300:
            try:
                CURRENT.code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                CURRENT.code = None
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if retry_after is not None:
            self.send_header("Retry-After", str(int(retry_after)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _peer_pem(self):
        der = self.connection.getpeercert(binary_form=True)
        return None if der is None else ssl.DER_cert_to_PEM_cert(der)

    def do_POST(self):
        m = ENDPOINT.match(self.path)
        if m is None:
            self._send(404, error_body("unknown_endpoint",
                                       "no such endpoint"))
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(411, error_body("malformed_request",
                                       "Content-Length required"),
                       close=True)
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(411, error_body("malformed_request",
                                       "Content-Length required"),
                       close=True)
            return
        length = int(length)
        # Refuse before reading: the body is never buffered past the cap.
        if length > self.server.max_body:
            self._send(413, error_body("request_too_large",
                                       "request body over %d bytes" %
                                       self.server.max_body), close=True)
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return
        CURRENT.endpoint = m.group(1)
        if m.group(1) in ("challenge", "bootstrap"):
            CURRENT.body_device = request_device_id(body)
        if m.group(1) == "ocsp":
            self._send_ocsp(body)
            return
        resp = self.server.verifier.handle(m.group(1), body,
                                           self._peer_pem())
        retry_after = None
        if resp.status in (429, 503):
            try:
                retry_after = resp.json()["error"].get("retry_after")
            except (ValueError, KeyError, AttributeError):
                retry_after = None
        self._send(resp.status, resp.body.encode("utf-8"), retry_after)

    def _send_ocsp(self, request):
        """RFC 6960 A.1: the DER answer of ztp_verifier_ocsp(3), HTTP 200
        whatever its status (a bad request gets an OCSP error response)."""
        body = self.server.verifier.ocsp(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _not_allowed(self):
        self.send_response(405)
        self.send_header("Allow", "POST")
        body = error_body("method_not_allowed", "use POST")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith(OCSP_GET_PREFIX):
            CURRENT.endpoint = "ocsp"
            # base64 of the DER, URL-encoded; what does not decode is
            # passed on empty, and answered malformedRequest.
            text = urllib.parse.unquote(self.path[len(OCSP_GET_PREFIX):])
            try:
                request = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                request = b""
            self._send_ocsp(request)
            return
        if self.path == METRICS_PATH:
            CURRENT.endpoint = "metrics"
            if self.server.serve_metrics:
                send_metrics(self, self.server.verifier)
            else:
                self._send(404, error_body("unknown_endpoint",
                                           "no such endpoint"))
            return
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    def send_response(self, code, message=None):
        CURRENT.status = code
        super().send_response(code, message)
        self.send_header("X-Request-ID", CURRENT.request_id)

    def handle_one_request(self):
        CURRENT.request_id = secrets.token_hex(8)
        CURRENT.start = time.monotonic()
        CURRENT.status = CURRENT.code = CURRENT.endpoint = None
        CURRENT.device_id = CURRENT.body_device = None
        super().handle_one_request()
        if self.raw_requestline and CURRENT.status is not None:
            code = CURRENT.code
            if code is None:
                code = "ok" if CURRENT.status < 300 else "http_%d" % \
                    CURRENT.status
            self.server.log.write({
                "ts": utc_now(), "kind": "request",
                "request_id": CURRENT.request_id,
                "remote": self.client_address[0],
                "method": self.command, "endpoint": CURRENT.endpoint,
                "status": CURRENT.status, "code": code,
                "device_id": CURRENT.device_id or CURRENT.body_device,
                "latency_ms": round((time.monotonic() - CURRENT.start) *
                                    1000, 3)})
        # Between requests: the idle timeout, until the next one starts.
        conn = self.connection
        conn.ztp_deadline = None
        conn.ztp_idle_until = time.monotonic() + self.server.idle_timeout

    def do_HEAD(self):
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        # http.server's own lines (malformed request lines, timeouts):
        # as JSON too, never with the request's contents.
        if fmt.startswith('"%s" %s %s'):
            return  # the access line: the request log has it
        self.server.log.write({"ts": utc_now(), "kind": "http",
                               "request_id": getattr(CURRENT, "request_id",
                                                     None),
                               "remote": self.client_address[0],
                               "message": fmt % args})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # Stop accepting on shutdown without waiting for slow clients.
    block_on_close = False

    # Bursts of connections wait in the kernel instead of being dropped.
    request_queue_size = 128
    # GET /metrics on this listener (False with --metrics-listen).
    serve_metrics = True

    def __init__(self, address, tls, verifier, max_body, quiet,
                 handler=Handler, max_connections=DEFAULT_MAX_CONNECTIONS,
                 max_per_address=DEFAULT_MAX_PER_ADDRESS,
                 request_timeout=DEFAULT_REQUEST_TIMEOUT,
                 idle_timeout=DEFAULT_IDLE_TIMEOUT, log=None):
        self.tls = tls
        # Connections get their reads bounded by the request deadline.
        tls.sslsocket_class = DeadlineSocket
        self.verifier = verifier
        self.max_body = max_body
        self.quiet = quiet
        self.log = log if log is not None else JsonLog(
            None if quiet else "stderr")
        # One thread per connection: bound them, in total and per client
        # address, so that a flood of idle connections can neither exhaust
        # the process nor, from one address, take every thread.
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.conn_lock = threading.Lock()
        self.conn_total = 0
        self.conn_by_address = {}
        super().__init__(address, handler)

    def _admit(self, host):
        with self.conn_lock:
            n = self.conn_by_address.get(host, 0)
            if (self.conn_total >= self.max_connections or
                    n >= self.max_per_address):
                return False
            self.conn_total += 1
            self.conn_by_address[host] = n + 1
            return True

    def _release(self, host):
        with self.conn_lock:
            self.conn_total -= 1
            n = self.conn_by_address[host] - 1
            if n:
                self.conn_by_address[host] = n
            else:
                del self.conn_by_address[host]

    def process_request(self, request, client_address):
        if not self._admit(client_address[0]):
            self.log.write({"ts": utc_now(), "kind": "connection",
                            "remote": client_address[0],
                            "message": "refused: over the connection caps"})
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(client_address[0])
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(client_address[0])

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # slow or failing client never blocks the accept loop. It counts
        # against the first request's deadline (the whole handshake: the
        # ssl module applies a socket timeout to the handshake as a whole).
        deadline = time.monotonic() + self.request_timeout
        request.settimeout(self.request_timeout)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.log.write({"ts": utc_now(), "kind": "connection",
                            "remote": client_address[0],
                            "message": "TLS handshake failed: %s" % e})
            return
        conn.ztp_deadline = deadline
        conn.ztp_request_timeout = self.request_timeout
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]") or "127.0.0.1", int(port)


def positive_seconds(text):
    try:
        v = float(text)
    except ValueError:
        v = 0
    if not 0 < v <= 3600:
        raise argparse.ArgumentTypeError("expected seconds in (0, 3600], "
                                         "got %r" % text)
    return v


def client_cas_from_config(path):
    """The CA files a device certificate may chain to, from the verifier
    configuration (relative names are relative to the file's directory)."""
    with open(path, "rb") as f:
        cfg = json.load(f)
    base = os.path.dirname(os.path.abspath(path))

    def resolve(name):
        return name if os.path.isabs(name) else os.path.join(base, name)

    files = []
    for key in ("trust_anchors", "issuers"):
        if isinstance(cfg.get(key), str):
            files.append(resolve(cfg[key]))
    dca = cfg.get("device_ca")
    if isinstance(dca, dict):
        for key in ("cert", "chain"):
            if isinstance(dca.get(key), str):
                files.append(resolve(dca[key]))
    # A device-CA rollover: the CAs still accepted besides device_ca.
    for name in cfg.get("device_ca_previous") or []:
        if isinstance(name, str):
            files.append(resolve(name))
    return files


def webhook_hook(url, ca_file, timeout_ms):
    """An approval hook that POSTs the context to an HTTPS webhook and
    returns the verdict it answers (status 200, a JSON object). Anything
    else raises, and the verifier denies (approval_failed)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    timeout = timeout_ms / 1000.0

    def hook(context):
        req = urllib.request.Request(
            url, data=json.dumps(context).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=ctx) as resp:
            if resp.status != 200:
                raise RuntimeError("webhook answered %d" % resp.status)
            verdict = json.loads(resp.read(ztp.HOOK_VERDICT_MAX + 1))
        if not isinstance(verdict, dict):
            raise ValueError("webhook verdict is not an object")
        return verdict

    return hook


def tls_context(cert, key, client_cas):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    for ca in client_cas:
        ctx.load_verify_locations(cafile=ca)
    return ctx


def main(argv=None, server_class=Server, handler_class=Handler):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True,
                    help="verifier configuration (ztp-verify.json(5))")
    ap.add_argument("--listen", type=parse_listen,
                    default=("127.0.0.1", 8443), metavar="HOST:PORT",
                    help="address to listen on (default 127.0.0.1:8443; "
                    "port 0 picks a free port)")
    ap.add_argument("--tls-cert", required=True,
                    help="server certificate chain (PEM)")
    ap.add_argument("--tls-key", required=True,
                    help="server private key (PEM)")
    ap.add_argument("--client-ca", action="append", default=None,
                    metavar="FILE", help="CA bundle for client certificates "
                    "(repeatable; default: the CAs in the configuration)")
    ap.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                    help="largest request body read (default: the "
                    "configuration's max_request_size, else 65536)")
    ap.add_argument("--max-connections", type=int,
                    default=DEFAULT_MAX_CONNECTIONS, metavar="N",
                    help="connections open at once; more are closed "
                    "when accepted (default %d)" % DEFAULT_MAX_CONNECTIONS)
    ap.add_argument("--max-per-address", type=int,
                    default=DEFAULT_MAX_PER_ADDRESS, metavar="N",
                    help="connections open at once from one client address; "
                    "more are closed when accepted (default %d)" %
                    DEFAULT_MAX_PER_ADDRESS)
    ap.add_argument("--request-timeout", type=positive_seconds,
                    default=DEFAULT_REQUEST_TIMEOUT, metavar="SECONDS",
                    help="time for a whole request, headers and body (and "
                    "the TLS handshake before a connection's first "
                    "request); default %d" % DEFAULT_REQUEST_TIMEOUT)
    ap.add_argument("--idle-timeout", type=positive_seconds,
                    default=DEFAULT_IDLE_TIMEOUT, metavar="SECONDS",
                    help="time a kept-alive connection may wait for its "
                    "next request (default %d)" % DEFAULT_IDLE_TIMEOUT)
    ap.add_argument("--metrics-listen", type=parse_listen, default=None,
                    metavar="HOST:PORT",
                    help="serve GET /metrics on this address, over plain "
                    "HTTP without client certificates, instead of on "
                    "--listen")
    ap.add_argument("--log", choices=("stderr", "syslog", "none"),
                    default="stderr",
                    help="where the JSON log lines go (default stderr)")
    ap.add_argument("--quiet", action="store_true",
                    help="log nothing (as --log none)")
    ap.add_argument("--approval-webhook", metavar="URL",
                    help="ask this HTTPS URL to approve every bootstrap, "
                    "credentials and claim (POST the context, the answer "
                    "is the verdict: ztp_verifier_set_hook(3))")
    ap.add_argument("--approval-ca", metavar="FILE",
                    help="CA bundle that the webhook's certificate must "
                    "chain to (default: the system's)")
    ap.add_argument("--approval-timeout-ms", type=int, default=2000,
                    metavar="MS", help="the webhook's time to answer "
                    "(default 2000); the hook's budget is 500 ms more")
    args = ap.parse_args(argv)
    if args.approval_webhook is not None and \
            not args.approval_webhook.startswith("https://"):
        ap.error("--approval-webhook must be an https:// URL")
    if not 1 <= args.approval_timeout_ms <= 60000:
        ap.error("--approval-timeout-ms must be 1..60000")

    try:
        verifier = ztp.Verifier(config=args.config)
    except ztp.ZtpError as e:
        print("ztp_server: %s: %s" % (args.config, e), file=sys.stderr)
        return 1
    if args.approval_webhook is not None:
        # Fail closed: the webhook's timeout is within the hook's budget,
        # so a slow webhook is a refusal, never a late approval.
        verifier.set_hook(webhook_hook(args.approval_webhook,
                                       args.approval_ca,
                                       args.approval_timeout_ms),
                          budget_ms=args.approval_timeout_ms + 500)
    max_body = args.max_body
    if max_body is None:
        try:
            with open(args.config, "rb") as f:
                max_body = int(json.load(f).get("max_request_size",
                                                DEFAULT_MAX_BODY))
        except (OSError, ValueError, TypeError):
            max_body = DEFAULT_MAX_BODY
    try:
        cas = args.client_ca or client_cas_from_config(args.config)
        ctx = tls_context(args.tls_cert, args.tls_key, cas)
    except (OSError, ValueError, ssl.SSLError) as e:
        print("ztp_server: TLS setup: %s" % e, file=sys.stderr)
        verifier.close()
        return 1

    log = JsonLog(None if args.quiet or args.log == "none" else args.log)
    if log.dest is not None:
        verifier.set_event_callback(on_event(log))
    family = socket.AF_INET6 if ":" in args.listen[0] else socket.AF_INET
    server_class.address_family = family
    try:
        httpd = server_class(args.listen, ctx, verifier, max_body,
                             args.quiet, handler_class,
                             max(1, args.max_connections),
                             max(1, args.max_per_address),
                             args.request_timeout, args.idle_timeout, log)
    except OSError as e:
        print("ztp_server: listen on %s:%d: %s" % (args.listen + (e,)),
              file=sys.stderr)
        verifier.close()
        return 1
    host, port = httpd.server_address[:2]
    metrics = None
    if args.metrics_listen is not None:
        httpd.serve_metrics = False
        MetricsServer.address_family = (
            socket.AF_INET6 if ":" in args.metrics_listen[0]
            else socket.AF_INET)
        try:
            metrics = MetricsServer(args.metrics_listen, verifier)
        except OSError as e:
            print("ztp_server: listen on %s:%d: %s" %
                  (args.metrics_listen + (e,)), file=sys.stderr)
            httpd.server_close()
            verifier.close()
            return 1
        threading.Thread(target=metrics.serve_forever, daemon=True).start()

    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this thread.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on %s:%d" % (host, port), flush=True)
    if metrics is not None:
        print("metrics on %s:%d" % metrics.server_address[:2], flush=True)
    try:
        httpd.serve_forever()
    finally:
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
        httpd.server_close()
        verifier.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
