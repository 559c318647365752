# SPDX-License-Identifier: Apache-2.0
import datetime
import gc
import os

import pytest

import ztp
from conftest import SoftHSM, needs

pytestmark = needs("ztp_ca_new")


@pytest.fixture
def root():
    return ztp.create_root("/CN=Test Root/O=Example/C=DE", days=30)


def add(store, *ids):
    # Certificates are recorded against registered devices.
    for device_id in ids:
        store.device_add(device_id, "0" * 64)


@pytest.fixture
def ca(root):
    with ztp.Store() as store, ztp.CA(root.cert_pem, root.key_pem,
                                      store=store) as ca:
        add(store, "dev-1", "dev-7", "dev-8", "dev-9")
        yield ca


def _not_after(ssl, pem):
    text = ssl.enddate(pem)
    return datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc)


def test_create_root(root, openssl):
    assert root.cert_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in root.key_pem
    subject = openssl.run("x509", "-noout", "-subject", "-nameopt", "compat",
                          data=root.cert_pem.encode()).decode()
    assert subject.strip() == "subject=/CN=Test Root/O=Example/C=DE"
    text = openssl.x509_text(root.cert_pem)
    assert "CA:TRUE" in text


def test_create_root_rfc4514(root, openssl):
    # What openssl prints with -nameopt RFC2253 names the same subject.
    def subject(pem, opts):
        return openssl.run("x509", "-noout", "-subject", "-nameopt", opts,
                           data=pem.encode()).decode().strip()
    rfc = subject(root.cert_pem, "RFC2253")
    # Most specific first: the reverse of the slash form's order.
    assert rfc == "subject=C=DE,O=Example,CN=Test Root"
    again = ztp.create_root(rfc[len("subject="):], days=30)
    assert subject(again.cert_pem, "RFC2253,dump_all,dump_der") == \
        subject(root.cert_pem, "RFC2253,dump_all,dump_der")


def test_create_root_refuses_bad_dn():
    for dn in ("CN=Test Root, O=Example", "CN=#4142", "no-equals"):
        with pytest.raises(ztp.ZtpError) as e:
            ztp.create_root(dn)
        assert e.value.code == ztp.Status.EINVAL
    with pytest.raises(ztp.ZtpError) as e:
        ztp.create_root("/CN=x", key_type="dsa")
    assert e.value.code in (ztp.Status.EINVAL, ztp.Status.EKEYPOLICY)


def test_load_mismatched_key(root):
    other = ztp.create_root("/CN=Other")
    with pytest.raises(ztp.ZtpError) as e:
        ztp.CA(root.cert_pem, other.key_pem)
    assert e.value.code == ztp.Status.EMISMATCH


def test_load_files(root, tmp_path):
    (tmp_path / "c.pem").write_text(root.cert_pem)
    (tmp_path / "k.pem").write_text(root.key_pem)
    with ztp.CA.from_files(tmp_path / "c.pem", tmp_path / "k.pem") as ca:
        assert ca.cert_pem == root.cert_pem
    with pytest.raises(ztp.ZtpError) as e:
        ztp.CA.from_files(tmp_path / "missing.pem", tmp_path / "k.pem")
    # ca.h documents EIO; the core file reader reports a missing file as
    # ENOTFOUND. Either says "cannot read".
    assert e.value.code in (ztp.Status.EIO, ztp.Status.ENOTFOUND)


def test_issue_bootstrap(ca, openssl):
    key = openssl.key()
    issued = ca.issue(openssl.csr(key, cn="evil"), "dev-7",
                      profile="bootstrap")
    assert isinstance(issued, ztp.Issued)
    text = openssl.x509_text(issued.cert_pem)
    assert "CN=dev-7" in text.replace(" ", "") and "evil" not in text
    assert "URI:urn:ztp:device:dev-7" in text
    assert "TLS Web Client Authentication" in text
    rec = ca.store.cert_get(issued.serial)
    assert rec["device_id"] is None or rec["device_id"] == "dev-7"
    assert rec["profile"] == "bootstrap"
    assert rec["not_after"] == issued.not_after
    na = _not_after(openssl, issued.cert_pem)
    assert int(na.timestamp()) == issued.not_after
    now = datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(hours=23, minutes=58) < na - now <= \
        datetime.timedelta(hours=24)


def test_issue_operational_with_tenant(ca, openssl):
    issued = ca.issue(openssl.csr(openssl.key("ed25519")), "dev-8",
                      profile="operational", tenant="acme",
                      lifetime=86400 * 2)
    text = openssl.x509_text(issued.cert_pem)
    assert "URI:urn:ztp:tenant:acme" in text


def test_issue_refuses(ca, openssl):
    csr = openssl.csr(openssl.key())
    with pytest.raises(ztp.ZtpError) as e:
        ca.issue("garbage", "dev-1")
    assert e.value.code == ztp.Status.EPARSE
    with pytest.raises(ztp.ZtpError) as e:
        ca.issue(csr, "dev/1")
    assert e.value.code == ztp.Status.EINVAL
    with pytest.raises(ztp.ZtpError) as e:
        ca.issue(csr, "dev-1", profile="nope")
    assert e.value.code == ztp.Status.EINVAL
    with pytest.raises(ztp.ZtpError) as e:
        ca.issue(csr, "dev-1", profile="bootstrap", lifetime=86401)
    assert e.value.code == ztp.Status.EINVAL
    ca.set_key_policy("ed25519")
    with pytest.raises(ztp.ZtpError) as e:
        ca.issue(csr, "dev-1")
    assert e.value.code == ztp.Status.EKEYPOLICY
    assert ca.store.cert_count() == 0


def test_issue_server(ca, openssl):
    # A fresh key, the names given and nothing else.
    srv = ca.issue_server(dns=["Verifier.Example"], ip=["127.0.0.1", "::1"])
    assert isinstance(srv, ztp.ServerIssued)
    assert "PRIVATE KEY" in srv.key_pem
    text = openssl.x509_text(srv.cert_pem)
    assert "DNS:verifier.example, IP Address:127.0.0.1, " \
        "IP Address:0:0:0:0:0:0:0:1" in text
    assert "TLS Web Server Authentication" in text
    assert "Client" not in text
    rec = ca.store.cert_get(srv.serial)
    assert rec["profile"] == ztp.ca.SERVER and rec["device_id"] is None
    assert rec["not_after"] == srv.not_after
    # For a CSR's key: the CSR's own name is ignored, no key comes back.
    srv = ca.issue_server(dns=["broker.example"],
                          csr_pem=openssl.csr(openssl.key(), cn="evil"),
                          lifetime=398 * 86400)
    assert srv.key_pem is None
    assert "evil" not in openssl.x509_text(srv.cert_pem)
    for kwargs in ({"dns": ["*.example.com"]}, {}, {"ip": ["fe80::1%lo"]},
                   {"dns": ["a.example"], "lifetime": 399 * 86400},
                   {"dns": ["a.example"], "key_type": "dsa"}):
        with pytest.raises(ztp.ZtpError) as e:
            ca.issue_server(**kwargs)
        assert e.value.code == ztp.Status.EINVAL, kwargs
    assert ca.store.cert_count() == 2


def test_issue_refuses_weak_rsa(ca, openssl):
    with pytest.raises(ztp.ZtpError) as e:
        ca.issue(openssl.csr(openssl.key("rsa-1024")), "dev-1")
    assert e.value.code == ztp.Status.EKEYPOLICY


def test_issue_needs_store(root, openssl):
    with ztp.CA(root.cert_pem, root.key_pem) as ca:
        with pytest.raises(ztp.ZtpError) as e:
            ca.issue(openssl.csr(openssl.key()), "dev-1")
        assert e.value.code == ztp.Status.ESTATE


def test_revoke_and_crl(ca, openssl, tmp_path):
    issued = ca.issue(openssl.csr(openssl.key()), "dev-1")
    ca.revoke(issued.serial, "keyCompromise")
    rec = ca.store.cert_get(issued.serial)
    assert rec["revoked"] is True and rec["reason"] == 1
    crl = ca.crl(next_update_hours=1)
    text = openssl.run("crl", "-noout", "-text",
                       data=crl.encode()).decode()
    assert issued.serial.upper().lstrip("0") in text.upper()
    assert "Key Compromise" in text
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    (tmp_path / "crl.pem").write_text(crl)
    openssl.run("crl", "-noout", "-CAfile", str(tmp_path / "ca.pem"),
                "-in", str(tmp_path / "crl.pem"))
    with pytest.raises(ztp.ZtpError) as e:
        ca.revoke("abcdef")
    assert e.value.code == ztp.Status.ENOTFOUND


def test_reasons():
    assert ztp.reason_from_name("superseded") == 4
    assert ztp.reason_name(1) == "keyCompromise"
    assert ztp.reason_name(7) is None
    with pytest.raises(ztp.ZtpError):
        ztp.reason_from_name("KeyCompromise")


def test_sub_ca_and_chain(ca, openssl, tmp_path):
    sub = ca.create_sub("/CN=Issuing", pathlen=0, days=10)
    with ztp.CA(sub.cert_pem, sub.key_pem, chain_pem=ca.cert_pem,
                store=ca.store) as issuing:
        assert issuing.chain_pem == sub.cert_pem + ca.cert_pem or \
            issuing.chain_pem.replace("\n", "") == \
            (sub.cert_pem + ca.cert_pem).replace("\n", "")
        leaf = issuing.issue(openssl.csr(openssl.key()), "dev-9")
        (tmp_path / "root.pem").write_text(ca.cert_pem)
        (tmp_path / "sub.pem").write_text(sub.cert_pem)
        (tmp_path / "leaf.pem").write_text(leaf.cert_pem)
        out = openssl.run("verify", "-CAfile", str(tmp_path / "root.pem"),
                          "-untrusted", str(tmp_path / "sub.pem"),
                          str(tmp_path / "leaf.pem"))
        assert b"OK" in out
        with pytest.raises(ztp.ZtpError) as e:
            issuing.create_sub("/CN=Too deep")
        assert e.value.code == ztp.Status.EPROFILE


def test_fixed_clock(root, openssl):
    with ztp.Store() as store, ztp.CA(root.cert_pem, root.key_pem,
                                      store=store) as ca:
        add(store, "dev-1")
        when = int(datetime.datetime.now().timestamp()) + 86400 * 3
        ca.set_clock(when)
        issued = ca.issue(openssl.csr(openssl.key()), "dev-1", lifetime=3600)
        assert issued.not_after == when + 3600
        ca.set_clock(when + 10)
        issued = ca.issue(openssl.csr(openssl.key()), "dev-1", lifetime=3600)
        assert issued.not_after == when + 10 + 3600
        ca.set_clock(None)


def test_store_outlives_its_closer(root, openssl):
    store = ztp.Store()
    add(store, "dev-1")
    ca = ztp.CA(root.cert_pem, root.key_pem, store=store)
    store.close()
    # The CA still uses it; the store is freed once the CA lets go.
    assert store.closed
    issued = ca.issue(openssl.csr(openssl.key()), "dev-1")
    assert issued.serial
    ca.close()
    assert store._ptr is None


def test_collected_handles_are_freed(root):
    for _ in range(50):
        ztp.CA(root.cert_pem, root.key_pem, store=ztp.Store())
    gc.collect()


# ------------------------------------------------------------ token keys

@pytest.fixture(scope="module")
def token_root(tmp_path_factory):
    """A CA key pair made in a SoftHSM2 token and its self-signed
    certificate (conftest.SoftHSM: no libztp involved). SoftHSM2 reads
    SOFTHSM2_CONF once per process, so the whole module shares this one
    configuration."""
    hsm = SoftHSM(tmp_path_factory.mktemp("softhsm"))
    os.environ["SOFTHSM2_CONF"] = str(hsm.conf)
    hsm.token("py-ca", "root")
    cert = hsm.dir / "root.pem"
    hsm.openssl("req", "-new", "-x509", "-engine", "pkcs11", "-keyform",
                "engine", "-key", hsm.engine_key("py-ca", "root"),
                "-subj", "/CN=Token Root", "-days", "5", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign", "-out", str(cert))
    uri = "pkcs11:token=py-ca;object=root?module-path=" + hsm.module
    return str(cert), uri


def test_ca_key_in_token(token_root, openssl, tmp_path):
    cert, uri = token_root
    with ztp.Store() as store, ztp.CA.from_files(
            cert, uri, passphrase="1234", store=store) as ca:
        add(store, "dev-1")
        issued = ca.issue(openssl.csr(openssl.key()), "dev-1")
        leaf = tmp_path / "leaf.pem"
        leaf.write_text(issued.cert_pem)
        openssl.run("verify", "-CAfile", cert, str(leaf))
        assert store.cert_count() == 1
    # The wrong PIN is its own error, and nothing is loaded.
    with pytest.raises(ztp.ZtpError) as e:
        ztp.CA.from_files(cert, uri, passphrase="0000")
    assert e.value.code == ztp.Status.EPIN
