# SPDX-License-Identifier: Apache-2.0
import base64
import json
import re
import threading

import pytest

import ztp
from conftest import needs, transcript

pytestmark = needs("ztp_verifier_new")


def test_error_codes():
    codes = ztp.error_codes()
    by_code = {c["code"]: c["status"] for c in codes}
    assert by_code.get("unknown_endpoint") == 404
    for status in by_code.values():
        assert 400 <= status <= 599


def test_unknown_endpoint():
    with ztp.Verifier() as v:
        r = v.handle("nope", b"{}")
        assert r.status == 404 and not r.ok
        assert r.json()["error"]["code"] == "unknown_endpoint"


def test_enroll_and_bootstrap(pki):
    key, cert = pki.factory_device("dev-1")
    code = pki.verifier.enroll("dev-1", cert, model="m", batch="b1")
    assert re.fullmatch(r"([A-Z2-7]{4}-){7}[A-Z2-7]{4}", code)
    assert pki.store.device_get("dev-1")["fingerprint"] == \
        pki.ssl.fingerprint(cert)

    events = []
    pki.verifier.set_event_callback(events.append)
    req = pki.bootstrap_request("dev-1", key, cert)
    before = pki.store.cert_count()
    r = pki.verifier.handle("bootstrap", json.dumps(req), cert)
    assert r.status == 200, r.body
    body = r.json()
    text = pki.ssl.x509_text(body["certificate"])
    assert "URI:urn:ztp:device:dev-1" in text
    assert body["chain"] and body["not_after"]
    assert pki.store.cert_count() == before + 1
    assert [e["result"] for e in events] == ["accepted"]
    assert events[0]["device_id"] == "dev-1"
    stats = pki.verifier.stats()
    assert stats["bootstraps"] >= 1 and stats["accepted"] >= 2

    # The challenge was consumed: the same request again is a replay.
    r = pki.verifier.handle("bootstrap", json.dumps(req), cert)
    assert r.status >= 400
    assert pki.store.cert_count() == before + 1
    assert events[-1]["result"] == "rejected"
    pki.verifier.set_event_callback(None)


def test_bootstrap_with_str_and_bytes_bodies(pki):
    key, cert = pki.factory_device("dev-2")
    pki.verifier.enroll("dev-2", cert)
    req = pki.bootstrap_request("dev-2", key, cert)
    r = pki.verifier.handle("bootstrap", json.dumps(req).encode(),
                            cert.encode())
    assert r.status == 200, r.body


def test_refusals_issue_nothing(pki):
    key, cert = pki.factory_device("dev-3")
    pki.verifier.enroll("dev-3", cert)
    before = pki.store.cert_count()

    # Unknown device.
    okey, ocert = pki.factory_device("ghost")
    r = pki.verifier.handle("challenge", '{"device_id":"ghost"}', ocert)
    if r.status == 200:
        req = pki.bootstrap_request("ghost", okey, ocert)
        r = pki.verifier.handle("bootstrap", json.dumps(req), ocert)
    assert r.status in (403, 404), r.body

    # Signature by another key.
    req = pki.bootstrap_request("dev-3", okey, cert)
    r = pki.verifier.handle("bootstrap", json.dumps(req), cert)
    assert r.status in (400, 401, 403), r.body

    # Peer certificate is not the factory certificate.
    req = pki.bootstrap_request("dev-3", key, cert)
    r = pki.verifier.handle("bootstrap", json.dumps(req), ocert)
    assert r.status in (401, 403), r.body

    # Malformed JSON, embedded NUL, oversized body.
    r = pki.verifier.handle("bootstrap", b'{"device_id": "dev-3"', cert)
    assert r.status == 400
    r = pki.verifier.handle("challenge", b'{"device_id":"dev\\u0000-3"}')
    assert r.status == 400
    pki.verifier.set_max_request_size(1024)
    r = pki.verifier.handle("bootstrap", b" " * 2048, cert)
    assert r.status == 413
    assert r.json()["error"]["code"]

    assert pki.store.cert_count() == before


def test_check_cert(pki):
    key, cert = pki.factory_device("dev-4")
    res = pki.verifier.check_cert(cert)
    assert res["result"] == "accepted" and res["device_id"] == "dev-4"
    other = ztp.create_root("/CN=Elsewhere")
    with ztp.Verifier() as v:
        v.set_trust_anchors(other.cert_pem)
        v.set_issuers(other.cert_pem)
        res = v.check_cert(cert)
        assert res["result"] == "rejected"
        assert res["code"] and res["message"]
    with pytest.raises(ztp.ZtpError) as e:
        ztp.Verifier().check_cert(cert)
    assert e.value.code == ztp.Status.ESTATE


def test_enroll_refuses_other_device(pki):
    _, cert = pki.factory_device("dev-5")
    with pytest.raises(ztp.ZtpError) as e:
        pki.verifier.enroll("dev-6", cert)
    assert e.value.code == ztp.Status.EMISMATCH
    pki.verifier.enroll("dev-5", cert)
    with pytest.raises(ztp.ZtpError) as e:
        pki.verifier.enroll("dev-5", cert)
    assert e.value.code == ztp.Status.EEXISTS


def test_setters_validate():
    with ztp.Verifier() as v:
        for call in (lambda: v.set_bootstrap_lifetime(86401),
                     lambda: v.set_clock_leeway(-1),
                     lambda: v.set_challenge_ttl(1),
                     lambda: v.set_max_chain_depth(9),
                     lambda: v.set_key_policy("dsa"),
                     lambda: v.set_max_request_size(10),
                     lambda: v.set_rate_limit("planet", 1, 1),
                     lambda: v.set_hmac_secret(b"short")):
            with pytest.raises(ztp.ZtpError) as e:
                call()
            assert e.value.code == ztp.Status.EINVAL
        v.set_hmac_secret(b"\0" * 32)
        v.set_clock(1700000000)
        v.set_clock(None)


def test_rate_limit_answers_429(pki):
    pki.verifier.set_rate_limit("global", 0.001, 1)
    r1 = pki.verifier.handle("challenge", '{"device_id":"dev-x"}')
    r2 = pki.verifier.handle("challenge", '{"device_id":"dev-x"}')
    assert r2.status == 429, (r1.body, r2.body)
    assert r2.json()["error"]["retry_after"] >= 1


def test_concurrent_handle(pki):
    devices = []
    for i in range(4):
        key, cert = pki.factory_device("par-%d" % i)
        pki.verifier.enroll("par-%d" % i, cert)
        devices.append((("par-%d" % i), key, cert))
    reqs = [(d, cert, pki.bootstrap_request(d, key, cert))
            for d, key, cert in devices]
    results = {}

    def go(d, cert, req):
        results[d] = pki.verifier.handle("bootstrap", json.dumps(req), cert)

    threads = [threading.Thread(target=go, args=r) for r in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == 200 for r in results.values()), results


def test_shared_hmac_secret_between_instances(pki, openssl):
    key, cert = pki.factory_device("dev-h")
    pki.verifier.enroll("dev-h", cert)
    secret = b"k" * 32
    pki.verifier.set_hmac_secret(secret)
    with ztp.Verifier() as other:
        other.set_hmac_secret(secret)
        other.set_trust_anchors(pki.mfg_root.cert_pem)
        other.set_issuers(pki.mfg_issuing.cert_pem)
        other.set_ca(pki.device_ca)
        other.set_store(pki.store)
        r = other.handle("challenge", '{"device_id":"dev-h"}', cert)
        nonce = r.json()["nonce"]
    csr = openssl.csr(openssl.key())
    sig = openssl.sign(key, transcript("dev-h", nonce, openssl.csr_der(csr)))
    req = {"device_id": "dev-h", "nonce": nonce, "csr": csr,
           "factory_cert": cert, "signature": base64.b64encode(sig).decode()}
    r = pki.verifier.handle("bootstrap", json.dumps(req), cert)
    assert r.status == 200, r.body


def test_config_file(tmp_path, pki):
    # Only the fields this test needs; ztp-verify.json(5) has the rest.
    d = tmp_path
    (d / "anchors.pem").write_text(pki.mfg_root.cert_pem)
    (d / "issuers.pem").write_text(pki.mfg_issuing.cert_pem)
    (d / "ca.pem").write_text(pki.device_root.cert_pem)
    (d / "ca.key").write_text(pki.device_root.key_pem)
    cfg = {
        "trust_anchors": "anchors.pem",
        "issuers": "issuers.pem",
        "device_ca": {"cert": "ca.pem", "key": "ca.key"},
        "store": "sqlite:reg.db",
    }
    (d / "v.json").write_text(json.dumps(cfg))
    try:
        v = ztp.Verifier(config=str(d / "v.json"))
    except ztp.ZtpError as e:
        pytest.fail("config refused: %s" % e)
    with v:
        key, cert = pki.factory_device("dev-c")
        assert re.fullmatch(r"[A-Z2-7-]+", v.enroll("dev-c", cert))
    with pytest.raises(ztp.ZtpError) as e:
        (d / "bad.json").write_text('{"no_such_key": 1}')
        ztp.Verifier(config=str(d / "bad.json"))
    assert e.value.code in (ztp.Status.EPARSE, ztp.Status.EINVAL)


def test_approval_hook_from_threads(pki):
    """The hook approves some devices and refuses others, from several
    threads at once; a hook that raises denies (fail closed)."""
    devices = []
    for i in range(6):
        d = "hook-%d" % i
        key, cert = pki.factory_device(d)
        pki.verifier.enroll(d, cert)
        devices.append((d, cert, pki.bootstrap_request(d, key, cert)))
    seen = []
    lock = threading.Lock()

    def hook(ctx):
        with lock:
            seen.append(ctx)
        if ctx["device_id"].endswith(("0", "2", "4")):
            return {"decision": "allow", "attributes": {"line": 7}}
        if ctx["device_id"] == "hook-5":
            raise RuntimeError("the approval service is down")
        return {"decision": "deny", "message": "odd devices wait"}

    pki.verifier.set_hook(hook, budget_ms=5000)
    before = pki.store.cert_count()
    results = {}

    def go(d, cert, req):
        results[d] = pki.verifier.handle("bootstrap", json.dumps(req), cert)

    threads = [threading.Thread(target=go, args=r) for r in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pki.verifier.set_hook(None)
    for d, r in sorted(results.items()):
        if d in ("hook-0", "hook-2", "hook-4"):
            assert r.status == 200, r.body
        elif d == "hook-5":
            assert r.status == 503
            assert r.json()["error"]["code"] == "approval_failed"
        else:
            assert r.status == 403
            err = r.json()["error"]
            assert err["code"] == "approval_denied"
            assert err["message"] == "odd devices wait"
    assert pki.store.cert_count() == before + 3
    assert {c["device_id"] for c in seen} == {d for d, _, _ in devices}
    assert all(c["event"] == "bootstrap" and c["fingerprint"] for c in seen)


def test_device_ca_rollover(pki):
    """A bootstrap certificate of the device CA a rollover replaces: a
    stranger to a verifier with a new active CA, accepted once added,
    refused again once retired; the trust bundle reaches the answers."""
    key, cert = pki.factory_device("dev-roll")
    pki.verifier.enroll("dev-roll", cert)
    r = pki.verifier.handle(
        "bootstrap", json.dumps(pki.bootstrap_request("dev-roll", key, cert)),
        cert)
    assert r.status == 200, r.body
    boot = r.json()["certificate"]
    old = pki.device_root.cert_pem
    reg = json.dumps({"device_type": "sensor", "firmware_version": "1.0",
                      "capabilities": ["mqtt"]})

    new_root = ztp.create_root("/CN=Fleet Device CA 2/O=Fleet")
    ca2 = ztp.CA(new_root.cert_pem, new_root.key_pem, store=pki.store)
    v = pki.verifier
    v.set_ca(ca2)
    r = v.handle("register", reg, boot)
    assert r.status == 401
    assert r.json()["error"]["code"] == "untrusted_certificate"

    v.add_device_ca(old)
    with pytest.raises(ztp.ZtpError) as e:
        v.add_device_ca(old)
    assert e.value.code == ztp.Status.EEXISTS
    with pytest.raises(ztp.ZtpError) as e:
        v.add_device_ca("not a certificate")
    assert e.value.code == ztp.Status.EPARSE
    r = v.handle("register", reg, boot)
    assert r.status == 200, r.body

    v.set_trust_bundle(new_root.cert_pem)
    csr = pki.ssl.csr(pki.ssl.key())
    r = v.handle("credentials", json.dumps({"csr": csr}), boot)
    assert r.status == 200, r.body
    assert r.json()["trust_bundle"] == [new_root.cert_pem]
    v.set_trust_bundle(None)
    r = v.handle("credentials", json.dumps({"csr": pki.ssl.csr(
        pki.ssl.key())}), boot)
    assert r.status == 200, r.body
    assert "trust_bundle" not in r.json()

    fp = pki.ssl.fingerprint(old)
    v.retire_device_ca(fp)
    with pytest.raises(ztp.ZtpError) as e:
        v.retire_device_ca(fp)
    assert e.value.code == ztp.Status.ENOTFOUND
    r = v.handle("register", reg, boot)
    assert r.status == 401
    assert r.json()["error"]["code"] == "untrusted_certificate"

    v.set_ca(pki.device_ca)
    ca2.close()
