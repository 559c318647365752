# SPDX-License-Identifier: Apache-2.0
"""The credential lifecycle through the bindings and the Python reference
server: bootstrap, register, credentials, claim, rotation, assignment,
reset and reprovisioning, revocation."""

import json
import os
import sys
import threading

import pytest

import ztp
from conftest import needs

pytestmark = [needs("ztp_verifier_claim"), needs("ztp_device_run")]

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "examples", "python"))
import ztp_server  # noqa: E402


@pytest.fixture
def fleet(pki, openssl, tmp_path):
    ca, cert, key = openssl.server_cert()
    cas = tmp_path / "client-cas.pem"
    cas.write_text(pki.mfg_root.cert_pem + pki.mfg_issuing.cert_pem +
                   pki.device_root.cert_pem)
    httpd = ztp_server.Server(("127.0.0.1", 0),
                              ztp_server.tls_context(cert, key, [str(cas)]),
                              pki.verifier, 65536, True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    url = "https://127.0.0.1:%d" % httpd.server_address[1]

    def device(device_id):
        fkey, fcert = pki.factory_device(device_id)
        d = tmp_path / device_id
        d.mkdir()
        (d / "factory.pem").write_text(fcert + pki.mfg_issuing.cert_pem)
        (d / "device.json").write_text(json.dumps({
            "factory_key": "file:" + fkey,
            "factory_cert": "factory.pem",
            "base_url": url,
            "ca_file": ca,
            "state_dir": "state",
            "retry": {"max_attempts": 2, "base_delay_ms": 10,
                      "max_delay_ms": 50},
            "registration": {"device_type": "sensor-v2",
                             "firmware_version": "1.4.2",
                             "capabilities": ["temperature"]},
        }))
        code = pki.verifier.enroll(device_id, fcert)
        return ztp.Device(config=str(d / "device.json")), code

    yield device
    httpd.shutdown()
    httpd.server_close()
    t.join(10)


def test_full_lifecycle(pki, fleet):
    dev, code = fleet("dev-1")
    with dev:
        actions = dev.run()
        assert actions[:3] == ["bootstrap", "register", "credentials"], \
            actions
        assert dev.run() == []
        st = dev.status()["credentials"]
        assert st["operational"]["tenant"] is None
        rec = pki.store.device_get("dev-1")
        assert rec["state"] == "registered"
        assert rec["info"]["device_type"] == "sensor-v2"

        # Wrong and reused claim codes are refused.
        with pytest.raises(ztp.ZtpError) as e:
            pki.verifier.claim("dev-1", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
                               "acme")
        assert e.value.code == ztp.Status.EMISMATCH
        pki.verifier.claim("dev-1", code.lower().replace("-", " "), "acme")
        with pytest.raises(ztp.ZtpError) as e:
            pki.verifier.claim("dev-1", code, "globex")
        assert e.value.code == ztp.Status.ENOTFOUND
        assert pki.store.device_get("dev-1")["tenant"] == "acme"

        # The device picks the tenant up: its certificate then names it.
        dev.run()
        op = dev.status()["credentials"]["operational"]
        assert op["tenant"] == "acme", dev.status()
        a = dev.assignment()
        assert a["tenant"] == "acme"
        assert a["namespace"].startswith("tenants/acme/devices/dev-1")

        old = op["serial"]
        dev.rotate()
        new = dev.status()["credentials"]["operational"]
        assert new["serial"] != old and new["tenant"] == "acme"

        # Reprovisioning: certificates revoked, tenant cleared, a new claim
        # code; the device comes back and a new owner claims it.
        code2 = pki.verifier.reset("dev-1")
        assert code2 != code
        assert pki.store.cert_get(new["serial"])["revoked"] is True
        assert pki.store.device_get("dev-1")["tenant"] is None
        dev.run()
        pki.verifier.claim("dev-1", code2, "globex")
        dev.run()
        assert dev.assignment()["tenant"] == "globex"

        # Revocation: refused for good.
        pki.verifier.revoke("dev-1")
        pki.verifier.revoke("dev-1")
        assert pki.store.device_get("dev-1")["state"] == "revoked"
        with pytest.raises(ztp.ZtpError) as e:
            dev.assignment()
        assert e.value.code == ztp.Status.EDENIED
        with pytest.raises(ztp.ZtpError) as e:
            pki.verifier.claim("dev-1", code2, "acme")
        assert e.value.code in (ztp.Status.ESTATE, ztp.Status.ENOTFOUND)


def test_admin_calls_validate(pki):
    with pytest.raises(ztp.ZtpError) as e:
        pki.verifier.claim("ghost", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
                           "acme")
    assert e.value.code == ztp.Status.ENOTFOUND
    with pytest.raises(ztp.ZtpError) as e:
        pki.verifier.reset("ghost")
    assert e.value.code == ztp.Status.ENOTFOUND
    with pytest.raises(ztp.ZtpError) as e:
        pki.verifier.revoke("bad/id")
    assert e.value.code == ztp.Status.EINVAL
    with pytest.raises(ztp.ZtpError) as e:
        pki.verifier.set_operational_lifetime(10)
    assert e.value.code == ztp.Status.EINVAL
