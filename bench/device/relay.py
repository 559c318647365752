#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A TCP relay on 127.0.0.1 that counts connections and bytes.

    relay.py --target HOST:PORT --log FILE

Listens on an ephemeral 127.0.0.1 port (printed as ``listening on
127.0.0.1:PORT``) and forwards every connection to the target, byte for
byte: the TLS between the client and the server goes through untouched.
Appends to FILE one line ``open N`` when connection N is accepted and
``close N UP DOWN`` when both directions have ended, UP the bytes the
client sent, DOWN those the server sent (TCP payload: TLS records and
everything in them, without TCP/IP headers). Runs until SIGTERM.
"""

import argparse
import signal
import socket
import sys
import threading

lock = threading.Lock()


def log(path, line):
    with lock:
        with open(path, "a") as f:
            f.write(line + "\n")


def pump(src, dst, count, idx):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
            count[idx] += len(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(conn, n, target, path):
    count = [0, 0]
    try:
        up = socket.create_connection(target, 10)
        up.settimeout(None)
    except OSError:
        conn.close()
        log(path, "close %d 0 0" % n)
        return
    t = threading.Thread(target=pump, args=(conn, up, count, 0), daemon=True)
    t.start()
    pump(up, conn, count, 1)
    t.join()
    conn.close()
    up.close()
    log(path, "close %d %d %d" % (n, count[0], count[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    target = (host, int(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print("listening on 127.0.0.1:%d" % ls.getsockname()[1], flush=True)
    n = 0
    while True:
        conn, _ = ls.accept()
        n += 1
        log(a.log, "open %d" % n)
        threading.Thread(target=serve, args=(conn, n, target, a.log),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
