# SPDX-License-Identifier: Apache-2.0
import json

import pytest

import ztp
from conftest import needs

pytestmark = needs("ztp_policy_new")


@pytest.fixture
def policy():
    with ztp.Policy(ztp.default_document()) as p:
        yield p


def test_namespace():
    ns = ztp.namespace("acme", "dev-1")
    assert ns["prefix"] == "tenants/acme/devices/dev-1/"
    assert ns["filter"] == "tenants/acme/devices/dev-1/#"
    with pytest.raises(ztp.ZtpError) as e:
        ztp.namespace("ac/me", "dev-1")
    assert e.value.code == ztp.Status.EINVAL


def test_actions():
    assert ztp.action_parse("publish") == ztp.policy.PUBLISH
    with pytest.raises(ztp.ZtpError):
        ztp.action_parse("Publish")


def test_default_policy_confines_to_namespace(policy):
    own = "tenants/acme/devices/dev-1/telemetry"
    assert policy.authorize("publish", own, "acme", "dev-1")
    assert policy.authorize(ztp.policy.SUBSCRIBE, "tenants/acme/devices/dev-1/#",
                            "acme", "dev-1")
    assert not policy.authorize("publish", "tenants/globex/devices/dev-1/x",
                                "acme", "dev-1")
    assert not policy.authorize("publish", "tenants/acme/devices/dev-2/x",
                                "acme", "dev-1")
    assert not policy.authorize("subscribe", "tenants/+/devices/#",
                                "acme", "dev-1")
    assert policy.authorize("connect", "dev-1", "acme", "dev-1", "dev-1")
    assert not policy.authorize("connect", "dev-2", "acme", "dev-1", "dev-2")
    with pytest.raises(ztp.ZtpError) as e:
        policy.authorize("publish", "a/+/b", "acme", "dev-1")
    assert e.value.code == ztp.Status.EINVAL


def test_explain_and_stats(policy):
    ex = policy.explain("publish", "tenants/globex/x", "acme", "dev-1")
    assert ex["decision"] == "deny" and ex["reason"]
    ex = policy.explain("publish", "tenants/acme/devices/dev-1/x", "acme",
                        "dev-1")
    assert ex["decision"] == "allow" and ex["effect"] == "Allow"
    st = policy.stats()
    assert st["loaded"] is True and st["statements"] >= 1


def test_bad_document_denies_everything(policy):
    with pytest.raises(ztp.ZtpError) as e:
        policy.load('{"Statement": 5}')
    assert e.value.code in (ztp.Status.EPARSE, ztp.Status.EINVAL)
    assert not policy.authorize("publish", "tenants/acme/devices/dev-1/x",
                                "acme", "dev-1")
    assert policy.stats()["loaded"] is False


def test_export(policy):
    doc = policy.export("acme")
    assert doc["Version"] == "2012-10-17"
    assert "tenants/acme/" in json.dumps(doc)


def test_identity_from_cert(openssl):
    root = ztp.create_root("/CN=Device CA")
    with ztp.Store() as store, ztp.CA(root.cert_pem, root.key_pem,
                                      store=store) as ca:
        store.device_add("dev-1", "0" * 64)
        issued = ca.issue(openssl.csr(openssl.key()), "dev-1",
                          profile="operational", tenant="acme")
        with ztp.Policy(ca_pem=root.cert_pem) as p:
            assert p.identity_from_cert(issued.cert_pem) == {
                "device": "dev-1", "tenant": "acme"}
        other = ztp.create_root("/CN=Other")
        with ztp.Policy(ca_pem=other.cert_pem) as p:
            with pytest.raises(ztp.ZtpError) as e:
                p.identity_from_cert(issued.cert_pem)
            assert e.value.code == ztp.Status.EUNTRUSTED
        with ztp.Policy() as p:
            with pytest.raises(ztp.ZtpError) as e:
                p.identity_from_cert(issued.cert_pem)
            assert e.value.code == ztp.Status.ESTATE
