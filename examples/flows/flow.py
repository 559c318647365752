# SPDX-License-Identifier: Apache-2.0
"""What the four Python example flows share (the C ones use flow.c).

Every example plays the three parties of a deployment:

- the manufacturer, who gives each device a factory key and a factory
  certificate from its issuing CA and tells the platform which devices it
  made (enrollment, which yields the device's one-time claim code);
- the platform, whose verifier answers devices behind the reference HTTPS
  server (examples/python/ztp_server.py) and whose operator claims, resets
  and revokes devices in the registry the server uses;
- the devices, which only ever talk to that server, over HTTPS.

The deployment (a throwaway PKI made with ztp-ca, the verifier's
configuration with a SQLite registry, the running server) is set up by
run.sh, which passes its directory and the server's URL; see flow.h for
the files in it. The factory's key generator is the openssl CLI.
"""

import json
import os
import subprocess
import sys

try:
    import ztp
except ImportError:
    # Run from a source tree: use the binding of this tree.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "..", "bindings", "python"))
    import ztp

OPENSSL = os.environ.get("OPENSSL") or "openssl"


class Failed(Exception):
    """A step did not do what it says."""


class Flow:
    """The deployment, the platform's and the manufacturer's handles, and
    the step-by-step output. Use it as a context manager."""

    def __init__(self, title):
        if len(sys.argv) != 3:
            sys.exit("usage: %s DEPLOYMENT_DIR SERVER_URL\n"
                     "(examples/flows/run.sh sets up both)" % sys.argv[0])
        self.dir, self.url = sys.argv[1], sys.argv[2]
        self.steps = 0
        print("libztp example: %s (Python, libztp %s)" %
              (title, ztp.version()))
        print("deployment %s, server %s" % (self.dir, self.url))
        # The platform operator's own verifier handle, configured from the
        # same file as the server's: it shares the registry, so a device
        # enrolled or claimed here is known to the server at once.
        self.platform = ztp.Verifier(config=self.path("verify.json"))
        # The same registry, opened to show what the platform recorded.
        self.registry = ztp.Store("sqlite:" + self.path("registry.db"))
        # The manufacturer's issuing CA, recording every factory
        # certificate it issues in a log of its own (in memory here; a
        # factory keeps it).
        self.factory_ca = ztp.CA.from_files(
            self.path("pki", "acme-factory.pem"),
            self.path("pki", "acme-factory.key"), store=ztp.Store("memory:"))

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        for h in (self.platform, self.registry, self.factory_ca):
            h.close()
        if kind is None:
            print("\nPASSED: every step did what it says")
        elif issubclass(kind, (Failed, ztp.ZtpError)):
            # A ZtpError that escapes is a step that failed too.
            print("    FAIL %s" % value)
            sys.exit(1)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def step(self, text):
        self.steps += 1
        print("\n[%d] %s" % (self.steps, text), flush=True)

    @staticmethod
    def say(text):
        print("      " + text, flush=True)

    @staticmethod
    def expect(cond, text):
        """Print "ok ..." when cond holds, else fail the example."""
        if not cond:
            raise Failed(text)
        print("    ok  " + text, flush=True)

    def manufacture(self, device_id, enroll=True):
        """Make device_id: a factory key (generated here, as the device's
        secure element would), a factory certificate from the issuing CA,
        and the device's configuration ztp-device.json(5), all in
        devices/<device_id>/. Returns the claim code when the platform is
        told about the device (enroll), else None."""
        d = self.path("devices", device_id)
        os.makedirs(d, mode=0o700)
        key = os.path.join(d, "factory.key")
        subprocess.run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", key], check=True)
        csr = subprocess.run([OPENSSL, "req", "-new", "-key", key, "-subj",
                              "/CN=" + device_id], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
        # The factory certificate names the device (CN and the SAN URI
        # urn:ztp:device:ID) and carries the key; nothing else comes from
        # the CSR.
        cert = self.factory_ca.issue(csr, device_id, profile="factory")
        # The device presents its issuing CA after the leaf, as a hint to
        # build the path to the manufacturer's root.
        with open(os.path.join(d, "factory.pem"), "w") as f:
            f.write(cert.cert_pem + self.factory_ca.chain_pem)
        # What the device is told at the factory: where the platform is,
        # which CA to trust for it, what to register as (relative paths are
        # relative to the file). Short timeouts and few, quick retries: a
        # server on 127.0.0.1 answers at once.
        with open(os.path.join(d, "device.json"), "w") as f:
            json.dump({
                "factory_key": "file:factory.key",
                "factory_cert": "factory.pem",
                "base_url": self.url,
                "ca_file": self.path("pki", "server-ca.pem"),
                "state_dir": "state",
                "connect_timeout_ms": 5000,
                "timeout_ms": 10000,
                "retry": {"max_attempts": 3, "base_delay_ms": 50,
                          "max_delay_ms": 500, "max_retry_after_ms": 2000},
                "registration": {"device_type": "example-sensor",
                                 "firmware_version": "1.0.0",
                                 "capabilities": ["temperature"]},
            }, f, indent=2)
        if not enroll:
            return None
        # Enrollment: the platform checks the factory certificate against
        # the manufacturer's root and issuing CA and records the device by
        # the certificate's fingerprint. The claim code goes to the buyer
        # (on the box, say); only its hash is stored.
        return self.platform.enroll(device_id, cert.cert_pem,
                                    model="example-sensor", batch="batch-1")

    def broker(self):
        """The MQTT broker's authoriser (what plugins/mosquitto does): the
        default policy document, which confines each device to its
        tenant's namespace, compiled into a topic index, with identities
        accepted only from certificates of the platform's device CA. A
        document of one's own (ztp-policy.json(5)) loads the same way."""
        with open(self.path("pki", "device-ca.pem")) as fp:
            return ztp.Policy(ztp.default_document(), ca_pem=fp.read())

    def device(self, device_id):
        """A device configured from devices/<device_id>/device.json."""
        return ztp.Device(config=self.path("devices", device_id,
                                           "device.json"))


def operational_pem(dev):
    """The certificate the device presents in TLS handshakes, from its
    state directory (the layout of ztp_device(3))."""
    st = dev.status()
    slot = st["credentials"]["operational"]["slot"]
    with open(os.path.join(st["state_dir"], "operational", slot,
                           "cert.pem")) as fp:
        return fp.read()
