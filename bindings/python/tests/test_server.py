# SPDX-License-Identifier: Apache-2.0
"""HTTP behaviour of the Python reference server (examples/python)."""

import http.client
import json
import os
import socket
import ssl
import sys
import threading

import pytest

import ztp
from conftest import needs

pytestmark = needs("ztp_verifier_new")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "examples", "python"))
import ztp_server  # noqa: E402


@pytest.fixture
def served(pki, openssl, tmp_path):
    ca, cert, key = openssl.server_cert()
    cas = tmp_path / "cas.pem"
    cas.write_text(pki.mfg_root.cert_pem + pki.mfg_issuing.cert_pem)
    httpd = ztp_server.Server(("127.0.0.1", 0),
                              ztp_server.tls_context(cert, key, [str(cas)]),
                              pki.verifier, 2048, True, max_connections=4)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    ctx = ssl.create_default_context(cafile=ca)
    port = httpd.server_address[1]

    def connect(client_cert=None):
        c = ctx
        if client_cert is not None:
            c = ssl.create_default_context(cafile=ca)
            c.load_cert_chain(*client_cert)
        return http.client.HTTPSConnection("127.0.0.1", port, context=c,
                                           timeout=10)

    yield connect
    httpd.shutdown()
    httpd.server_close()
    t.join(10)


def test_challenge_without_client_cert(served):
    conn = served()
    conn.request("POST", "/ztp/v1/challenge", body=b'{"device_id":"dev-1"}',
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 200, body
    assert body["nonce"] and body["expires_at"]
    assert r.getheader("Cache-Control") == "no-store"


def test_bootstrap_over_mutual_tls(served, pki, tmp_path):
    key, cert = pki.factory_device("dev-9")
    pki.verifier.enroll("dev-9", cert)
    (tmp_path / "c.pem").write_text(cert + pki.mfg_issuing.cert_pem)
    conn = served((str(tmp_path / "c.pem"), key))
    req = pki.bootstrap_request("dev-9", key, cert)
    conn.request("POST", "/ztp/v1/bootstrap", body=json.dumps(req))
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 200, body
    # The peer certificate reaches the verifier: another device's
    # certificate on the connection is refused.
    okey, ocert = pki.factory_device("dev-10")
    (tmp_path / "o.pem").write_text(ocert + pki.mfg_issuing.cert_pem)
    conn = served((str(tmp_path / "o.pem"), okey))
    req = pki.bootstrap_request("dev-9", key, cert)
    conn.request("POST", "/ztp/v1/bootstrap", body=json.dumps(req))
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 401, body
    assert body["error"]["code"] == "peer_certificate_mismatch"


def test_size_cap_is_enforced_before_reading(served):
    conn = served()
    conn.putrequest("POST", "/ztp/v1/challenge")
    conn.putheader("Content-Length", str(10 ** 9))
    conn.endheaders()
    # No body is sent: the answer must come from the header alone.
    r = conn.getresponse()
    assert r.status == 413
    assert json.loads(r.read())["error"]["code"] == "request_too_large"


@pytest.mark.parametrize("method,path,status", [
    ("POST", "/ztp/v1/Challenge", 404),
    ("POST", "/other", 404),
    ("POST", "/ztp/v1/nope", 404),
    ("GET", "/ztp/v1/challenge", 405),
])
def test_routing(served, method, path, status):
    conn = served()
    conn.request(method, path, body=b"{}" if method == "POST" else None)
    r = conn.getresponse()
    r.read()
    assert r.status == status


def test_length_required(served):
    conn = served()
    conn.putrequest("POST", "/ztp/v1/challenge")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    # The answer comes from the headers; nothing of the body is sent (the
    # server closes without reading it).
    r = conn.getresponse()
    assert r.status == 411


def test_rate_limit_sets_retry_after(served, pki):
    pki.verifier.set_rate_limit("global", 0.001, 1)
    statuses = []
    for _ in range(2):
        conn = served()
        conn.request("POST", "/ztp/v1/challenge", body=b'{"device_id":"d"}')
        r = conn.getresponse()
        r.read()
        statuses.append((r.status, r.getheader("Retry-After")))
    assert statuses[1][0] == 429
    assert int(statuses[1][1]) >= 1


def test_untrusted_client_cert_fails_the_handshake(served, tmp_path):
    other = ztp.create_root("/CN=Stranger")
    (tmp_path / "s.pem").write_text(other.cert_pem)
    (tmp_path / "s.key").write_text(other.key_pem)
    conn = served((str(tmp_path / "s.pem"), str(tmp_path / "s.key")))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        conn.request("POST", "/ztp/v1/challenge", body=b"{}")
        conn.getresponse().read()


def test_connection_limit(served):
    # Hold every slot with idle TCP connections that never finish the
    # handshake; the next one is closed at once, and the server recovers
    # when they go away.
    conn = served()
    host, port = "127.0.0.1", conn.port
    idle = [socket.create_connection((host, port)) for _ in range(4)]
    try:
        extra = socket.create_connection((host, port))
        extra.settimeout(10)
        assert extra.recv(1) == b""
        extra.close()
    finally:
        for s in idle:
            s.close()
    for _ in range(50):
        try:
            c = served()
            c.request("POST", "/ztp/v1/challenge", body=b'{"device_id":"d"}')
            assert c.getresponse().status == 200
            break
        except (ConnectionError, ssl.SSLError, OSError):
            threading.Event().wait(0.1)
    else:
        pytest.fail("server did not recover after idle connections closed")


def _scrape(served):
    """The families of one GET /metrics, parsed by prometheus_client."""
    parser = pytest.importorskip("prometheus_client.parser")
    conn = served()
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    text = r.read().decode()
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    samples = {}
    for fam in parser.text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name,) + tuple(sorted(s.labels.items()))
            assert key not in samples, "duplicate series %r" % (key,)
            samples[key] = s.value
    return samples


def _value(samples, name, **labels):
    return samples.get((name,) + tuple(sorted(labels.items())), 0)


def test_metrics_count_a_known_sequence(served, pki):
    before = _scrape(served)
    key, cert = pki.factory_device("dev-m")
    pki.verifier.enroll("dev-m", cert)
    for body in (b'{"device_id":"dev-m"}', b'{"device_id":"dev-m"}',
                 b'{"device_id":"dev-m","x":1}', b'not json'):
        conn = served()
        conn.request("POST", "/ztp/v1/challenge", body=body)
        conn.getresponse().read()
    req = pki.bootstrap_request("dev-m", key, cert)
    conn = served()
    conn.request("POST", "/ztp/v1/bootstrap", body=json.dumps(req))
    assert conn.getresponse().status == 200
    after = _scrape(served)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("ztp_requests_total", endpoint="challenge", code="ok") == 3
    assert delta("ztp_requests_total", endpoint="challenge",
                 code="malformed_request") == 2
    assert delta("ztp_requests_total", endpoint="bootstrap", code="ok") == 1
    assert delta("ztp_request_duration_seconds_count",
                 endpoint="challenge") == 5
    assert delta("ztp_request_duration_seconds_bucket", endpoint="challenge",
                 le="+Inf") == 5
    assert delta("ztp_certificates_issued_total", profile="bootstrap") == 1
    assert _value(after, "ztp_store_up") == 1
    assert delta("ztp_devices", state="bootstrapped") == 1
    assert delta("ztp_certificates_expiring", profile="bootstrap",
                 within="7d") == 1
    # The scrape itself is not a verifier request.
    assert delta("ztp_requests_total", endpoint="unknown",
                 code="unknown_endpoint") == 0
