# SPDX-License-Identifier: Apache-2.0
"""The Device class against the Python reference server, in process."""

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

import ztp
from conftest import SOFTHSM_PIN, SoftHSM, needs

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
            dev.set_ca_file(str(tmp_path / "missing.pem"))
        assert e.value.code in (ztp.Status.EIO, ztp.Status.ENOTFOUND)
        dev.set_clock(1700000000)
        dev.set_clock(None)


def test_config_file(tmp_path):
    (tmp_path / "d.json").write_text('{"device_id": "dev-1", "bogus": 1}')
    with pytest.raises(ztp.ZtpError) as e:
        ztp.Device(config=str(tmp_path / "d.json"))
    assert e.value.code == ztp.Status.EPARSE


# Bootstrap the device of test_keys_in_token; argv[1]: its settings.
TOKEN_DEVICE = """
import json, sys
import ztp
a = json.loads(sys.argv[1])
with ztp.Device(factory_key=a["key"], factory_cert=a["cert"],
                base_url=a["url"], ca_file=a["ca"],
                state_dir=a["state"]) as dev:
    dev.set_key_store(a["store"], "py")
    dev.set_retry(2, 10, 50, 1000)
    dev.bootstrap()
    print(json.dumps(dev.status()))
"""


def test_keys_in_token(pki, openssl, tmp_path, server):
    """A pkcs11: factory key and a token for the generated keys pass
    through the binding: a SoftHSM2 token made here signs the bootstrap
    transcript and the TLS handshake, and holds the bootstrap key."""
    hsm = SoftHSM(tmp_path / "softhsm")
    hsm.token("py", "factory")
    csr = hsm.openssl("req", "-new", "-engine", "pkcs11", "-keyform",
                      "engine", "-key", hsm.engine_key("py", "factory"),
                      "-subj", "/CN=tok-py").decode()
    cert = pki.factory_ca.issue(csr, "tok-py", profile="factory").cert_pem
    cert_path = tmp_path / "tok-py.pem"
    cert_path.write_text(cert + pki.mfg_issuing.cert_pem)
    pki.verifier.enroll("tok-py", cert)
    server_ca, url = server
    query = "?pin-source=file:%s&module-path=%s" % (hsm.pin, hsm.module)
    state = tmp_path / "tok-state"
    # The device runs in an interpreter of its own: SoftHSM2 reads
    # SOFTHSM2_CONF once per process, and another test of this run may
    # have loaded it already with its own token directory.
    args = {"key": "pkcs11:token=py;object=factory" + query,
            "cert": str(cert_path), "url": url, "ca": server_ca,
            "state": str(state), "store": "pkcs11:token=py" + query}
    env = dict(os.environ, SOFTHSM2_CONF=str(hsm.conf),
               PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    if "ASAN_OPTIONS" in env:
        # A sanitizer run: the interpreter's own leaks at exit must not
        # change its exit status; run-tests.sh reads every process's
        # leak log and fails on any allocated inside libztp.
        env["ASAN_OPTIONS"] += ":abort_on_error=0:exitcode=0"
    r = subprocess.run(
        [sys.executable, "-c", TOKEN_DEVICE, json.dumps(args)],
        capture_output=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    boot = json.loads(r.stdout)["credentials"]["bootstrap"]
    assert boot["device_id"] == "tok-py" and not boot["expired"]
    slot = state / "bootstrap" / boot["slot"]
    assert (slot / "key.ref").exists() and not (slot / "key.pem").exists()
    objs = hsm.p11("--token-label", "py", "--login", "--pin", SOFTHSM_PIN,
                   "--list-objects", "--type", "privkey").decode()
    assert "py-bootstrap-" + boot["slot"] in objs
