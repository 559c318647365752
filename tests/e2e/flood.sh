#!/bin/sh
# End to end: a flood of junk does not grow the durable event log. One
# client sends 2,000 one-byte `bootstrap` bodies, pipelined over a
# keep-alive TLS connection, to the Python reference server; the global bucket (burst
# 150) admits some, which are refused as malformed, and rate-limits the
# rest. The registry's event table may grow by at most 10 rows (the
# refusal events written per endpoint and code, then one a minute:
# PROTOCOL.md §7), and by no more than the number admitted. Bounded: 2,000
# requests, a 20 s socket timeout, at most 100 connections, 127.0.0.1
# only.
. "${top_srcdir:?}/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY"
e2e_need_python
e2e_pki
e2e_verify_config "$T/verify.json" '{"global": {"rate": 100, "burst": 150}}'
# A registry with its schema in place before the server starts.
e2e_device box-1
e2e_enroll box-1

rows() {
	"$PY" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*) FROM events").fetchone()[0])' "$T/registry.db"
}

e2e_start_server python server
before=$(rows)
start=$(date +%s)
"$PY" - "$E2E_PORT" "$T/pki/server-ca.pem" > "$T/flood.out" <<'PY' ||
import socket, ssl, sys

port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
REQ = (b"POST /ztp/v1/bootstrap HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       b"Content-Type: application/json\r\nContent-Length: 1\r\n\r\nx")
TOTAL, BATCH = 2000, 50
counts = {}
done = connections = 0


def response(f):
    """One response: its status, and whether the server closes after it."""
    line = f.readline()
    if not line:
        return None, True
    status = int(line.split()[1])
    length, close = 0, False
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "connection":
            close = value.strip().lower() == "close"
    f.read(length)
    return status, close


# Pipelined in batches (a batch fits in the socket buffers both ways), on
# as few connections as the server allows.
while done < TOTAL:
    connections += 1
    if connections > 100:
        sys.exit("too many connections")
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    f = s.makefile("rb")
    closed = False
    while done < TOTAL and not closed:
        n = min(BATCH, TOTAL - done)
        s.sendall(REQ * n)
        for _ in range(n):
            status, closed = response(f)
            if status is None:
                break
            counts[status] = counts.get(status, 0) + 1
            done += 1
            if closed:
                break
    f.close()
    s.close()
print(counts.get(400, 0), counts.get(429, 0), sum(counts.values()))
PY
	e2e_die "the flood client failed: $(cat "$T/flood.out")"
elapsed=$(($(date +%s) - start))
after=$(rows)
read -r malformed limited total < "$T/flood.out"
grown=$((after - before))
# 10 refusal events, then one per minute that passed.
max=$((10 + (elapsed + 1) / 60))
[ "$total" -eq 2000 ] && [ $((malformed + limited)) -eq 2000 ] ||
	e2e_fail "answers: $malformed malformed, $limited rate limited of $total"
[ "$malformed" -ge 1 ] || e2e_fail "no request was admitted"
if [ "$grown" -gt "$max" ] || [ "$grown" -gt "$malformed" ]; then
	e2e_fail "the event log grew by $grown rows in ${elapsed}s ($malformed admitted)"
else
	e2e_ok "2,000 junk bodies in ${elapsed}s ($malformed admitted, $limited rate limited): the event log grew by $grown rows"
fi
e2e_done
