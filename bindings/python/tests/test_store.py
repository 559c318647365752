# SPDX-License-Identifier: Apache-2.0
import hashlib
import os
import re
import shlex
import subprocess
import threading
import uuid

import pytest

import ztp
from conftest import needs, tool_env

pytestmark = needs("ztp_store_open")

FP = hashlib.sha256(b"factory cert").hexdigest()


def pg_schema_uri(request):
    """A postgresql:// URI whose search_path is a new schema of the test
    PostgreSQL that run-tests.sh starts (tests/pg.sh) when libztp has the
    backend; the schema is dropped after the test."""
    uri = os.environ.get("ZTP_TEST_PG_URI")
    psql = os.environ.get("ZTP_TEST_PG_PSQL")
    if not uri or not psql:
        pytest.skip("libztp built without the postgresql:// backend")
    schema = "py_%s_%s" % (re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:30],
                           uuid.uuid4().hex[:8])
    cmd = shlex.split(psql)
    subprocess.run(cmd + ["-c", "CREATE SCHEMA %s" % schema], check=True,
                   env=tool_env())
    request.addfinalizer(lambda: subprocess.run(
        cmd + ["-c", "DROP SCHEMA %s CASCADE" % schema], check=True,
        env=tool_env()))
    return "%s&options=-csearch_path%%3D%s" % (uri, schema)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "memory":
        uri = "memory:"
    elif request.param == "sqlite":
        uri = "sqlite:%s" % (tmp_path / "reg.db")
    else:
        uri = pg_schema_uri(request)
    with ztp.Store(uri) as s:
        yield s


def test_postgresql_shared_between_handles(request):
    """Two handles (two verifier instances) on one PostgreSQL registry:
    what one writes the other reads; a claim is taken once."""
    uri = pg_schema_uri(request)
    with ztp.Store(uri) as a, ztp.Store(uri.replace("postgresql://",
                                                    "postgres://")) as b:
        a.device_add("dev-1", FP)
        h = hashlib.sha256(b"code").digest()
        a.claim_set("dev-1", h)
        b.claim_take("dev-1", h, "acme")
        with pytest.raises(ztp.ZtpError) as e:
            a.claim_take("dev-1", h, "evil")
        assert e.value.code == ztp.Status.ENOTFOUND
        assert a.device_get("dev-1")["tenant"] == "acme"
        a.challenge_use(b"c1", expires_at=2**40)
        with pytest.raises(ztp.ZtpError) as e:
            b.challenge_use(b"c1", expires_at=2**40)
        assert e.value.code == ztp.Status.EREPLAY


def test_open_refuses_unknown_scheme():
    with pytest.raises(ztp.ZtpError) as e:
        ztp.Store("mysql://x")
    assert e.value.code == ztp.Status.EINVAL


def test_device_roundtrip(store):
    store.device_add("dev-1", FP, model="m1", batch="b\u00e9", 
                     manufactured_at=1700000000)
    d = store.device_get("dev-1")
    assert d["device_id"] == "dev-1"
    assert d["fingerprint"] == FP
    assert d["model"] == "m1"
    assert d["batch"] == "b\u00e9"
    assert d["manufactured_at"] == 1700000000
    assert d["state"] == "manufactured"
    assert d["tenant"] is None
    with pytest.raises(ztp.ZtpError) as e:
        store.device_add("dev-1", FP)
    assert e.value.code == ztp.Status.EEXISTS
    with pytest.raises(ztp.ZtpError) as e:
        store.device_get("nope")
    assert e.value.code == ztp.Status.ENOTFOUND
    assert e.value.name == "not_found"


def test_device_add_validates(store):
    with pytest.raises(ztp.ZtpError) as e:
        store.device_add("bad/id", FP)
    assert e.value.code == ztp.Status.EINVAL
    with pytest.raises(ztp.ZtpError) as e:
        store.device_add("dev-2", "XYZ")
    assert e.value.code == ztp.Status.EINVAL


def test_state_compare_and_set(store):
    store.device_add("dev-1", FP)
    store.device_set_state("dev-1", ztp.store.BOOTSTRAPPED,
                           expected_state=ztp.store.MANUFACTURED)
    with pytest.raises(ztp.ZtpError) as e:
        store.device_set_state("dev-1", ztp.store.ACTIVE,
                               expected_state=ztp.store.MANUFACTURED,
                               tenant="acme")
    assert e.value.code == ztp.Status.ESTATE
    assert store.device_get("dev-1")["state"] == "bootstrapped"
    store.device_set_state("dev-1", ztp.store.ACTIVE, tenant="acme")
    d = store.device_get("dev-1")
    assert (d["state"], d["tenant"]) == ("active", "acme")


def test_info(store):
    store.device_add("dev-1", FP)
    store.device_set_info("dev-1", {"fw": "1.2", "caps": ["a", "b"]})
    assert store.device_get("dev-1")["info"] == {"fw": "1.2",
                                                 "caps": ["a", "b"]}
    with pytest.raises(ztp.ZtpError) as e:
        store.device_set_info("dev-1", "[1,2]")
    assert e.value.code == ztp.Status.EPARSE


def test_claim(store):
    store.device_add("dev-1", FP)
    h = hashlib.sha256(b"CODE").digest()
    store.claim_set("dev-1", h)
    with pytest.raises(ztp.ZtpError) as e:
        store.claim_take("dev-1", hashlib.sha256(b"GUESS").digest(), "acme")
    assert e.value.code == ztp.Status.EMISMATCH
    store.claim_take("dev-1", h, "acme")
    d = store.device_get("dev-1")
    assert (d["state"], d["tenant"]) == ("active", "acme")
    with pytest.raises(ztp.ZtpError) as e:
        store.claim_take("dev-1", h, "acme")
    assert e.value.code == ztp.Status.ENOTFOUND


def test_claim_attempt_is_rate_limited(store):
    store.device_add("dev-1", FP)
    h = hashlib.sha256(b"CODE").digest()
    store.claim_set("dev-1", h)
    for _ in range(5):
        with pytest.raises(ztp.ZtpError) as e:
            store.claim_attempt("dev-1", b"\1" * 32, "acme", 1 / 60, 5,
                                now=1000)
        assert e.value.code == ztp.Status.EMISMATCH
    with pytest.raises(ztp.ZtpError) as e:
        store.claim_attempt("dev-1", h, "acme", 1 / 60, 5, now=1000)
    assert e.value.code == ztp.Status.ERATELIMIT
    store.claim_attempt("dev-1", h, "acme", 1 / 60, 5, now=1060)
    assert store.device_get("dev-1")["tenant"] == "acme"


def test_limit_take(store):
    assert [store.limit_take("device", "d1", 0.5, 2, now=10)
            for _ in range(3)] == [0, 0, 2]
    assert store.limit_take("device", "d1", 0.5, 2, now=12) == 0
    with pytest.raises(ztp.ZtpError) as e:
        store.limit_take("a/b", "d1", 1, 1)
    assert e.value.code == ztp.Status.EINVAL


def test_factory_key(store):
    store.device_add("dev-1", FP)
    assert store.device_get("dev-1")["factory_key"] is None
    store.device_set_factory_key("dev-1", b"\x30\x01\x00")
    assert store.device_get("dev-1")["factory_key"] == "MAEA"


def test_claim_hash_with_nul_bytes_is_binary(store):
    store.device_add("dev-1", FP)
    h = b"\0" * 31 + b"\1"
    store.claim_set("dev-1", h)
    with pytest.raises(ztp.ZtpError):
        store.claim_take("dev-1", b"\0" * 32, "acme")
    store.claim_take("dev-1", h, "acme")


def test_certs(store):
    store.device_add("dev-1", FP)
    store.cert_add("1a", "dev-1", "bootstrap", 100, 200, FP)
    store.cert_add("ff01", "dev-1", "operational", 100, 300, FP)
    store.cert_add("2", None, "ca", 100, 300, FP)
    assert store.cert_count() == 3
    c = store.cert_get("1a")
    assert c["device_id"] == "dev-1" and c["revoked"] is False
    assert [x["serial"] for x in store.device_certs("dev-1")] == \
        ["1a", "ff01"]
    store.cert_revoke("ff01", 1, 150)
    assert store.cert_get("ff01")["revoked"] is True
    n = store.device_revoke_certs("dev-1", ["bootstrap"], 4, 160)
    assert n == 1
    assert [r["serial"] for r in store.revoked_list()] == ["1a", "ff01"]
    assert store.device_revoke_certs("dev-1") == 0
    with pytest.raises(ztp.ZtpError) as e:
        store.cert_add("1a", "dev-1", "bootstrap", 100, 200, FP)
    assert e.value.code == ztp.Status.EEXISTS
    with pytest.raises(ztp.ZtpError) as e:
        store.cert_add("77", "ghost", "bootstrap", 100, 200, FP)
    assert e.value.code == ztp.Status.ENOTFOUND


def test_challenge_single_use(store):
    store.challenge_use(b"\x00\x01nonce", 2000, now=1000)
    with pytest.raises(ztp.ZtpError) as e:
        store.challenge_use(b"\x00\x01nonce", 2000, now=1001)
    assert e.value.code == ztp.Status.EREPLAY
    with pytest.raises(ztp.ZtpError) as e:
        store.challenge_use(b"other", 999, now=1000)
    assert e.value.code == ztp.Status.EEXPIRED


def test_events_and_clock(store):
    store.set_clock(1234)
    store.event_append({"type": "x", "n": 1})
    store.set_clock(1300)
    store.event_append('{"type":"y"}')
    ev = store.event_list()
    assert [e["event"]["type"] for e in ev] == ["x", "y"]
    assert [e["at"] for e in ev] == [1234, 1300]
    assert store.event_list(after=ev[0]["seq"]) == ev[1:]
    assert [e["seq"] for e in store.events(page=1)] == [e["seq"] for e in ev]
    store.set_clock(None)
    with pytest.raises(ztp.ZtpError) as e:
        store.event_append("[]")
    assert e.value.code == ztp.Status.EPARSE


def test_counter(store):
    assert store.counter_next("crl") == 1
    assert store.counter_next("crl") == 2
    assert store.counter_next("other") == 1


def test_sqlite_persists(tmp_path):
    uri = "sqlite:%s" % (tmp_path / "p.db")
    with ztp.Store(uri) as s:
        s.device_add("dev-1", FP)
    with ztp.Store(uri) as s:
        assert s.device_get("dev-1")["fingerprint"] == FP


def test_closed_store_refuses_calls():
    s = ztp.Store()
    s.close()
    s.close()
    assert s.closed
    with pytest.raises(ztp.ZtpError) as e:
        s.cert_count()
    assert e.value.code == ztp.Status.ESTATE


def test_threads_share_a_store(tmp_path):
    s = ztp.Store("sqlite:%s" % (tmp_path / "t.db"))
    errors = []

    def work(k):
        try:
            for i in range(20):
                s.device_add("d-%d-%d" % (k, i), FP)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        assert s.device_get("d-%d-19" % k)["state"] == "manufactured"
    s.close()
