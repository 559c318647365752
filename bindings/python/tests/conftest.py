# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: an openssl CLI helper and small PKIs built with libztp."""

import base64
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import ztp  # noqa: E402
from ztp._native import lib  # noqa: E402

OPENSSL = os.environ.get("OPENSSL") or "openssl"


def tool_env(**extra):
    """The environment for another program the tests run (openssl,
    psql, the token tools): without a sanitizer build's preloaded runtime
    and options, which would fail those programs on their own leaks."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "LSAN_OPTIONS",
                        "UBSAN_OPTIONS")}
    env.update(extra)
    return env


def needs(symbol):
    """Skip when this libztp build lacks a module (e.g. --disable-server)."""
    return pytest.mark.skipif(not lib.has(symbol),
                              reason="%s not in this build" % symbol)


class OpenSSL:
    """Keys, CSRs and signatures made with the openssl CLI, as a device
    maker's tooling would."""

    def __init__(self, workdir):
        self.dir = workdir
        self.n = 0

    def _path(self, stem):
        self.n += 1
        return os.path.join(str(self.dir), "%s-%d" % (stem, self.n))

    def run(self, *args, data=None):
        return subprocess.run([OPENSSL] + list(args), input=data,
                              check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=tool_env()).stdout

    def key(self, kind="ec-p256"):
        path = self._path("key") + ".pem"
        if kind == "ec-p256":
            self.run("genpkey", "-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-out", path)
        elif kind == "ec-p384":
            self.run("genpkey", "-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-384", "-out", path)
        elif kind == "ed25519":
            self.run("genpkey", "-algorithm", "ED25519", "-out", path)
        elif kind.startswith("rsa-"):
            self.run("genpkey", "-algorithm", "RSA", "-pkeyopt",
                     "rsa_keygen_bits:" + kind[4:], "-out", path)
        else:
            raise ValueError(kind)
        return path

    def csr(self, key_path, cn="ignored"):
        return self.run("req", "-new", "-key", key_path, "-subj",
                        "/CN=" + cn).decode("ascii")

    def csr_der(self, csr_pem):
        return self.run("req", "-outform", "DER", data=csr_pem.encode())

    def sign(self, key_path, data):
        """ECDSA/SHA-256 (DER) or Ed25519 signature over data."""
        msg = self._path("msg")
        with open(msg, "wb") as f:
            f.write(data)
        return self.run("pkeyutl", "-sign", "-inkey", key_path, "-rawin",
                        "-digest", "sha256", "-in", msg) \
            if "ed25519" not in key_path else \
            self.run("pkeyutl", "-sign", "-inkey", key_path, "-rawin",
                     "-in", msg)

    def server_cert(self, san="IP:127.0.0.1"):
        """A CA and a TLS server certificate under it; returns
        (ca_path, cert_path, key_path)."""
        ca_key, ca = self._path("srvca") + ".key", self._path("srvca") + ".pem"
        self.run("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
                 "-out", ca, "-subj", "/CN=Test Server CA", "-days", "2",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign")
        key = self.key()
        csr = self._path("srv") + ".csr"
        with open(csr, "w") as f:
            f.write(self.csr(key, cn="server"))
        ext = self._path("srv") + ".ext"
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=%s\n" % san)
        cert = self._path("srv") + ".pem"
        self.run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                 "-CAcreateserial", "-days", "2", "-extfile", ext,
                 "-out", cert)
        return ca, cert, key

    def x509_text(self, pem):
        return self.run("x509", "-noout", "-text", "-nameopt", "compat",
                        data=pem.encode()).decode()

    def enddate(self, pem):
        out = self.run("x509", "-noout", "-enddate", data=pem.encode())
        return out.decode().strip().split("=", 1)[1]

    def fingerprint(self, pem):
        der = self.run("x509", "-outform", "DER", data=pem.encode())
        return hashlib.sha256(der).hexdigest()


@pytest.fixture
def openssl(tmp_path):
    return OpenSSL(tmp_path)


SOFTHSM_PIN = "1234"


class SoftHSM:
    """A SoftHSM2 token directory under workdir, its tokens and keys made
    with softhsm2-util, pkcs11-tool (OpenSC) and openssl through libp11's
    engine: no libztp involved. SoftHSM2 reads SOFTHSM2_CONF once per
    process: `env` is the environment of a process that uses this
    directory. Fails the test, rather than skipping it, when a tool is
    missing (as the C and shell token tests do)."""

    def __init__(self, workdir):
        self.module = (os.environ.get("SOFTHSM2_MODULE") or
                       "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
        if not os.path.exists(self.module):
            pytest.fail("SoftHSM2 module %s missing (install softhsm2)" %
                        self.module)
        for tool in ("softhsm2-util", "pkcs11-tool", OPENSSL):
            if shutil.which(tool) is None:
                pytest.fail("%s missing (install softhsm2, opensc)" % tool)
        self.dir = workdir
        (workdir / "tokens").mkdir(parents=True)
        self.conf = workdir / "softhsm2.conf"
        self.conf.write_text("directories.tokendir = %s\n"
                             "objectstore.backend = file\n"
                             "log.level = ERROR\n" % (workdir / "tokens"))
        self.pin = workdir / "pin"
        self.pin.write_text(SOFTHSM_PIN + "\n")
        self.pin.chmod(0o600)
        self.env = tool_env(SOFTHSM2_CONF=str(self.conf))

    def run(self, *args, env=None):
        """Run a tool on this token directory; its standard output."""
        r = subprocess.run(args, capture_output=True,
                           env=dict(self.env, **(env or {})))
        assert r.returncode == 0, (args, r.stderr.decode(errors="replace"))
        return r.stdout

    def p11(self, *args):
        """pkcs11-tool on SoftHSM2's module."""
        return self.run("pkcs11-tool", "--module", self.module, *args)

    def token(self, label, key):
        """A token labelled label holding an EC P-256 key pair labelled
        key (CKA_ID 01)."""
        self.run("softhsm2-util", "--init-token", "--free", "--label", label,
                 "--pin", SOFTHSM_PIN, "--so-pin", "123456")
        self.p11("--token-label", label, "--login", "--pin", SOFTHSM_PIN,
                 "--keypairgen", "--key-type", "EC:prime256v1", "--label", key,
                 "--id", "01")

    def openssl(self, *args):
        """The openssl CLI with libp11's engine on SoftHSM2's module, to
        sign with a token key: "-engine", "pkcs11", "-keyform", "engine",
        "-key", self.engine_key(token, key)."""
        engine = self.dir / "engine.cnf"
        engine.write_text("openssl_conf = oc\n[oc]\nengines = es\n[es]\n"
                          "pkcs11 = p11\n[p11]\nengine_id = pkcs11\n"
                          "MODULE_PATH = %s\ninit = 0\n" % self.module)
        return self.run(OPENSSL, *args, env={"OPENSSL_CONF": str(engine)})

    @staticmethod
    def engine_key(token, key):
        return ("pkcs11:token=%s;object=%s;type=private;pin-value=%s" %
                (token, key, SOFTHSM_PIN))


def transcript(device_id, nonce, csr_der):
    return (b"ZTP-BOOTSTRAP-V1\0" + device_id.encode() + b"\0" +
            nonce.encode() + b"\0" + hashlib.sha256(csr_der).digest())


class Pki:
    """A manufacturer (root + issuing CA), a device CA, a registry and a
    verifier, all in memory."""

    def __init__(self, ssl, store_uri="memory:"):
        self.ssl = ssl
        self.mfg_root = ztp.create_root("/CN=Acme Manufacturing Root/O=Acme")
        root = ztp.CA(self.mfg_root.cert_pem, self.mfg_root.key_pem)
        self.mfg_store = ztp.Store("memory:")
        root.set_store(self.mfg_store)
        self.mfg_issuing = root.create_sub("/CN=Acme Factory CA 1/O=Acme",
                                           pathlen=0)
        root.close()
        self.factory_ca = ztp.CA(self.mfg_issuing.cert_pem,
                                 self.mfg_issuing.key_pem,
                                 chain_pem=self.mfg_root.cert_pem,
                                 store=self.mfg_store)
        self.device_root = ztp.create_root("/CN=Fleet Device CA/O=Fleet")
        self.store = ztp.Store(store_uri)
        self.device_ca = ztp.CA(self.device_root.cert_pem,
                                self.device_root.key_pem, store=self.store)
        self.verifier = ztp.Verifier()
        v = self.verifier
        v.set_trust_anchors(self.mfg_root.cert_pem)
        v.set_issuers(self.mfg_issuing.cert_pem)
        v.set_ca(self.device_ca)
        v.set_store(self.store)
        v.set_rate_limit("device", 0)
        v.set_rate_limit("global", 0)

    def factory_device(self, device_id, kind="ec-p256"):
        """A device with a factory key and certificate; returns
        (key_path, cert_pem)."""
        key = self.ssl.key(kind)
        issued = self.factory_ca.issue(self.ssl.csr(key), device_id,
                                       profile="factory")
        return key, issued.cert_pem

    def bootstrap_request(self, device_id, key, cert_pem, csr_key=None):
        """Run the challenge and build a signed bootstrap request."""
        r = self.verifier.handle(
            "challenge", '{"device_id":"%s"}' % device_id, cert_pem)
        assert r.status == 200, r.body
        nonce = r.json()["nonce"]
        csr = self.ssl.csr(csr_key or self.ssl.key())
        sig = self.ssl.sign(key, transcript(device_id, nonce,
                                            self.ssl.csr_der(csr)))
        return {
            "device_id": device_id,
            "nonce": nonce,
            "csr": csr,
            "factory_cert": cert_pem,
            "signature": base64.b64encode(sig).decode(),
        }

    def close(self):
        for h in (self.verifier, self.device_ca, self.store,
                  self.factory_ca, self.mfg_store):
            h.close()


@pytest.fixture
def pki(openssl):
    p = Pki(openssl)
    yield p
    p.close()
