#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Slow clients against a reference server (the slow-client test).

    slow_clients.py --port P --ca server-ca.pem --sources 127.0.0.2,...
                    --per-source N [--kinds idle,trickle,body,keepalive]
                    [--mark FILE] [--give-up SECONDS]

Opens N connections from each source address (loopback addresses other
than 127.0.0.1, so that the device under test keeps its own), cycling
through the kinds:

  idle       a TCP connection that never sends a byte (sits in the TLS
             handshake);
  trickle    a TLS connection that sends a request line one byte every
             --interval seconds and never finishes it;
  body       a TLS connection that sends a request's headers at once, then
             its body (Content-Length 1000) one byte every --interval
             seconds;
  keepalive  a TLS connection that completes one request, reads the
             answer, then keeps the connection open without a second one.

A connection the server closes within --refuse-window seconds of opening
(or whose handshake fails) counts as refused; the others are held. Once
every connection has been opened and classified it prints

    ready held=H refused=R

and keeps the held ones open as the kind says until the server closes
them or --give-up seconds pass. When FILE (--mark) appears it notes how
many held connections are still open. At the end it prints

    done held=H refused=R open_at_mark=M survived=S longest=L

survived: held connections the server had not closed after --give-up
seconds; longest: the longest a held connection stayed open, in seconds.
Traffic goes to 127.0.0.1 only.
"""

import argparse
import os
import select
import socket
import ssl
import sys
import threading
import time

REQUEST_LINE = b"POST /ztp/v1/challenge HTTP/1.1\r\n"
BODY = b'{"device_id":"slow-client"}'
SLOW_BODY_HEADERS = (b"POST /ztp/v1/challenge HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n")
ONE_REQUEST = (b"POST /ztp/v1/challenge HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nContent-Length: " +
               str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


class Conn:
    def __init__(self, kind, source):
        self.kind = kind
        self.source = source
        self.sock = None
        self.opened = None
        self.closed = None
        self.refused = False
        self.classified = threading.Event()


def closed_by_peer(sock, wait):
    """True if the peer closes sock (EOF or reset) within wait seconds.
    Data the server sends (a TLS alert, an HTTP answer) is read and
    ignored."""
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return False
        try:
            if not sock.recv(4096):
                return True
        except (ssl.SSLWantReadError, BlockingIOError):
            continue
        except (OSError, ssl.SSLError):
            return True


def run(c, args, ctx, stop):
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind((c.source, 0))
        raw.settimeout(10)
        raw.connect(("127.0.0.1", args.port))
        c.opened = time.monotonic()
        if c.kind == "idle":
            c.sock = raw
        else:
            c.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            if c.kind == "body":
                c.sock.sendall(SLOW_BODY_HEADERS)
            if c.kind == "keepalive":
                c.sock.sendall(ONE_REQUEST)
                # The answer: headers and body, Content-Length bounded.
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.sock.recv(4096)
                    if not chunk:
                        raise OSError("closed before the answer")
                    data += chunk
        # Non-blocking from here: a TLS 1.3 session ticket makes the socket
        # readable without any application data.
        c.sock.setblocking(False)
        c.refused = closed_by_peer(c.sock, args.refuse_window)
    except (OSError, ssl.SSLError):
        c.refused = True
    if c.refused:
        c.closed = time.monotonic()
    c.classified.set()
    if c.refused:
        return
    sent = 0
    deadline = c.opened + args.give_up
    while not stop.is_set():
        wait = min(args.interval, deadline - time.monotonic())
        if wait <= 0:
            return
        if closed_by_peer(c.sock, wait):
            c.closed = time.monotonic()
            return
        if c.kind in ("trickle", "body"):
            byte = (REQUEST_LINE[sent % len(REQUEST_LINE):][:1]
                    if c.kind == "trickle" else b" ")
            try:
                c.sock.send(byte)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                    BlockingIOError):
                continue
            except (OSError, ssl.SSLError):
                c.closed = time.monotonic()
                return
            sent += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--per-source", type=int, required=True)
    ap.add_argument("--kinds", default="idle,trickle,body,keepalive")
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--refuse-window", type=float, default=1.0)
    ap.add_argument("--give-up", type=float, default=30.0)
    ap.add_argument("--mark", default=None)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.ca)
    kinds = args.kinds.split(",")
    conns = []
    for s in args.sources.split(","):
        for i in range(args.per_source):
            conns.append(Conn(kinds[i % len(kinds)], s))
    stop = threading.Event()
    threads = [threading.Thread(target=run, args=(c, args, ctx, stop),
                                daemon=True) for c in conns]
    for t in threads:
        t.start()
    for c in conns:
        c.classified.wait(30)
    held = [c for c in conns if c.classified.is_set() and not c.refused]
    refused = sum(1 for c in conns if c.refused)
    print("ready held=%d refused=%d" % (len(held), refused), flush=True)

    open_at_mark = -1
    end = time.monotonic() + args.give_up + args.interval + 5
    while time.monotonic() < end and any(t.is_alive() for t in threads):
        if (open_at_mark < 0 and args.mark is not None and
                os.path.exists(args.mark)):
            open_at_mark = sum(1 for c in held if c.closed is None)
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(5)
    now = time.monotonic()
    survived = sum(1 for c in held if c.closed is None)
    longest = max([((c.closed or now) - c.opened) for c in held] or [0])
    print("done held=%d refused=%d open_at_mark=%d survived=%d "
          "longest=%.1f" % (len(held), refused, open_at_mark, survived,
                            longest), flush=True)
    for c in conns:
        if c.sock is not None:
            try:
                c.sock.close()
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
