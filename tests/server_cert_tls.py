#!/usr/bin/env python3
"""Serve TLS on 127.0.0.1 with a server certificate and connect to it with
Python's ssl client, hostname checking on, trusting only the given CA.

    server_cert_tls.py CHAIN KEY CA_FILE NAME...

Each NAME is tried as the server name (SNI and hostname check); a NAME
written !NAME must be refused by the client's certificate check. Prints one
line per name and exits 0 only if every name behaved as required. Bounded:
every socket operation times out after 10 s.
"""
import socket
import ssl
import sys
import threading


def serve(srv_ctx, listener, stop):
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                with srv_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello\n")
            except (ssl.SSLError, OSError):
                pass  # the client refused us: that is its business


def main():
    chain, key, ca_file, names = sys.argv[1], sys.argv[2], sys.argv[3], \
        sys.argv[4:]
    srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv_ctx.load_cert_chain(chain, key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(srv_ctx, listener, stop))
    thread.start()
    failed = 0
    try:
        for spec in names:
            refuse = spec.startswith("!")
            name = spec[1:] if refuse else spec
            ctx = ssl.create_default_context(cafile=ca_file)
            ctx.check_hostname = True
            ctx.verify_mode = ssl.CERT_REQUIRED
            try:
                with socket.create_connection(("127.0.0.1", port),
                                              timeout=10) as raw:
                    with ctx.wrap_socket(raw, server_hostname=name) as tls:
                        data = tls.recv(16)
                        version = tls.version()
                ok = data == b"hello\n" and not refuse
                print("%s: connected (%s)%s" % (name, version,
                      "" if ok else " but should have been refused"))
            except ssl.SSLCertVerificationError as e:
                ok = refuse
                print("%s: refused: %s%s" % (name, e.verify_message,
                      "" if ok else " but should have connected"))
            failed += 0 if ok else 1
    finally:
        stop.set()
        listener.close()
        thread.join(10)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
