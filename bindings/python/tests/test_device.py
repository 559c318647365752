# SPDX-License-Identifier: Apache-2.0
"""The Device class against the Python reference server, in process."""

import os
import stat
import sys
import threading

import pytest

import ztp
from conftest import needs

pytestmark = [needs("ztp_device_new"), needs("ztp_verifier_new")]

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "examples", "python"))
import ztp_server  # noqa: E402


@pytest.fixture
def server(pki, openssl, tmp_path):
    """The reference server on 127.0.0.1 with the fixture's verifier."""
    ca, cert, key = openssl.server_cert()
    cas = tmp_path / "client-cas.pem"
    cas.write_text(pki.mfg_root.cert_pem + pki.mfg_issuing.cert_pem +
                   pki.device_root.cert_pem)
    ctx = ztp_server.tls_context(cert, key, [str(cas)])
    httpd = ztp_server.Server(("127.0.0.1", 0), ctx, pki.verifier, 65536,
                              True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield ca, "https://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    t.join(10)


def make_device(pki, openssl, tmp_path, device_id, server_ca, url):
    key, cert = pki.factory_device(device_id)
    cert_path = tmp_path / ("%s.pem" % device_id)
    cert_path.write_text(cert + pki.mfg_issuing.cert_pem)
    dev = ztp.Device(factory_key=key, factory_cert=str(cert_path),
                     base_url=url, ca_file=server_ca,
                     state_dir=str(tmp_path / ("%s-state" % device_id)))
    dev.set_retry(2, 10, 50, 1000)
    dev.set_timeouts(5000, 20000)
    return dev, cert


def test_bootstrap(pki, openssl, tmp_path, server):
    server_ca, url = server
    dev, cert = make_device(pki, openssl, tmp_path, "dev-1", server_ca, url)
    pki.verifier.enroll("dev-1", cert)
    events = []
    with dev:
        dev.set_event_callback(events.append)
        dev.bootstrap()
        st = dev.status()
    boot = st["credentials"]["bootstrap"]
    assert boot["device_id"] == "dev-1" and not boot["expired"]
    assert st["credentials"]["operational"] is None
    assert pki.store.cert_get(boot["serial"])["profile"] == "bootstrap"
    steps = [e.get("step") for e in events if e["event"] == "device.step"]
    assert steps[0] == "start" and steps[-1] == "done"
    assert any(e["event"] == "device.http" and e["endpoint"] == "bootstrap"
               for e in events)
    key = tmp_path / "dev-1-state" / "bootstrap" / boot["slot"] / "key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_unknown_device_is_denied(pki, openssl, tmp_path, server):
    server_ca, url = server
    dev, _ = make_device(pki, openssl, tmp_path, "ghost", server_ca, url)
    with dev, pytest.raises(ztp.ZtpError) as e:
        dev.bootstrap()
    assert e.value.code == ztp.Status.EDENIED
    assert "unknown_device" in e.value.message


def test_unpinned_server_is_refused(pki, openssl, tmp_path, server):
    _, url = server
    other_ca, _, _ = openssl.server_cert()
    dev, cert = make_device(pki, openssl, tmp_path, "dev-2", other_ca, url)
    pki.verifier.enroll("dev-2", cert)
    with dev, pytest.raises(ztp.ZtpError) as e:
        dev.bootstrap()
    assert e.value.code == ztp.Status.ENETWORK
    assert pki.store.device_certs("dev-2") == []


def test_lifecycle_needs_credentials(tmp_path, openssl, pki):
    key, cert = pki.factory_device("dev-3")
    (tmp_path / "f.pem").write_text(cert)
    with ztp.Device(factory_key="file:" + key,
                    factory_cert=str(tmp_path / "f.pem"),
                    base_url="https://127.0.0.1:1", ca_file=openssl.server_cert()[0],
                    state_dir=str(tmp_path / "st")) as dev:
        for call in (dev.credentials, dev.rotate, dev.assignment):
            with pytest.raises(ztp.ZtpError) as e:
                call()
            assert e.value.code == ztp.Status.ESTATE, call
        with pytest.raises(ztp.ZtpError) as e:
            dev.register()
        assert e.value.code in (ztp.Status.EINVAL, ztp.Status.ESTATE)


def test_setters_validate(tmp_path):
    with ztp.Device() as dev:
        with pytest.raises(ztp.ZtpError) as e:
            dev.bootstrap()
        assert e.value.code == ztp.Status.EINVAL
        for call in (lambda: dev.set_key_type("dsa"),
                     lambda: dev.set_base_url("http://127.0.0.1"),
                     lambda: dev.set_id("a/b"),
                     lambda: dev.set_timeouts(0, 1),
                     lambda: dev.set_retry(0)):
            with pytest.raises(ztp.ZtpError) as e:
                call()
            assert e.value.code == ztp.Status.EINVAL
        with pytest.raises(ztp.ZtpError) as e:
            dev.set_factory_identity("pkcs11:token=x", str(tmp_path / "c"))
        assert e.value.code == ztp.Status.EUNSUPPORTED
        with pytest.raises(ztp.ZtpError) as e:
            dev.set_ca_file(str(tmp_path / "missing.pem"))
        assert e.value.code in (ztp.Status.EIO, ztp.Status.ENOTFOUND)
        dev.set_clock(1700000000)
        dev.set_clock(None)


def test_config_file(tmp_path):
    (tmp_path / "d.json").write_text('{"device_id": "dev-1", "bogus": 1}')
    with pytest.raises(ztp.ZtpError) as e:
        ztp.Device(config=str(tmp_path / "d.json"))
    assert e.value.code == ztp.Status.EPARSE
