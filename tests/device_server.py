#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A small, independent HTTPS bootstrap server for the device tests.

It implements the challenge and bootstrap endpoints of the protocol
(doc/PROTOCOL.md) and the device side's view of the later ones (register,
credentials, rotate, assignment: which certificate may call which) with nothing but the Python standard library and the
openssl command-line tool, so that the device's wire format is checked by
an implementation that shares no code with libztp: the transcript
signature is verified with `openssl dgst -verify`, the certificate is
issued with `openssl x509 -req`.

Scripted misbehaviour for the retry and refusal tests:
  --script ENDPOINT=S1,S2,...  answer the first requests to ENDPOINT with
                               these HTTP statuses, each optionally
                               followed by :ERROR_CODE, then behave
                               normally; 503 and 429 carry Retry-After: 1
                               as a header, or, with an ERROR_CODE, as
                               retry_after in the body only
  --hang ENDPOINT              never answer the first request to ENDPOINT
  --wrong-key                  issue the certificate for another key
  --wrong-device               issue the certificate naming another device
  --tenant T                   the device is claimed by tenant T:
                               operational certificates carry it; without
                               it, assignment answers 409 device_state
  --db FILE                    keep issued serials across restarts
  --revoke-existing            certificates issued before this start are
                               refused as certificate_revoked (a reset)

Every request is logged as one JSON line: path, peer certificate CN, status.
"""

import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time

OPENSSL = os.environ.get("OPENSSL") or "openssl"


def openssl(*args, data=None):
    r = subprocess.run([OPENSSL] + list(args), input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout, r.stderr


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.nonces = {}
        self.counts = {}
        self.script = {}
        for s in args.script or []:
            ep, _, statuses = s.partition("=")
            self.script[ep] = [x for x in statuses.split(",") if x]
        self.hang = set(args.hang or [])
        self.serial = 1000
        self.kinds = {}          # serial -> "bootstrap" | "operational"
        if args.db and os.path.exists(args.db):
            with open(args.db) as f:
                db = json.load(f)
            self.serial = db["serial"]
            self.kinds = {int(k): v for k, v in db["kinds"].items()}
        self.revoked_upto = self.serial if args.revoke_existing else 0
        self.registrations = {}
        with open(args.issuer_cert) as f:
            self.issuer_pem = f.read()

    def save(self):
        if self.args.db:
            with open(self.args.db + ".tmp", "w") as f:
                json.dump({"serial": self.serial, "kinds": self.kinds}, f)
            os.rename(self.args.db + ".tmp", self.args.db)

    def log(self, rec):
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def peer_cn(self):
        cert = self.connection.getpeercert()
        if not cert:
            return None
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def reply(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        st = self.server.state
        st.log({"path": self.path, "peer_cn": self.peer_cn(),
                "status": status})

    def error(self, status, code, message, headers=None, retry_after=None):
        err = {"code": code, "message": message}
        if retry_after is not None:
            err["retry_after"] = retry_after
        self.reply(status, {"error": err}, headers)

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        ep = self.path.rsplit("/", 1)[-1]
        if not self.path.startswith("/ztp/v1/"):
            return self.error(404, "not_found", "no such endpoint")
        with st.lock:
            st.counts[ep] = st.counts.get(ep, 0) + 1
            first = st.counts[ep] == 1
            scripted = st.script.get(ep)
            status = scripted.pop(0) if scripted else None
        if ep in st.hang and first:
            time.sleep(3600)
        if status is not None:
            status, _, code = status.partition(":")
            status = int(status)
            if status in (429, 503) and not code:
                return self.error(status, "unavailable", "try later",
                                  {"Retry-After": "1"})
            if status in (429, 503):
                # The hint only in the body.
                return self.error(status, code, "try later", retry_after=1)
            if status >= 500:
                return self.error(status, code or "internal_error", "oops")
            return self.error(status, code or "denied", "scripted refusal")
        try:
            req = json.loads(raw)
        except ValueError:
            return self.error(400, "malformed_input", "bad JSON")
        if ep == "challenge":
            return self.challenge(req)
        if ep == "bootstrap":
            return self.bootstrap(req)
        if ep in ("register", "credentials", "rotate", "assignment"):
            return self.lifecycle(ep, req)
        return self.error(404, "unknown_endpoint", "no such endpoint")

    def peer_kind(self):
        cert = self.connection.getpeercert()
        if not cert:
            return None
        with self.server.state.lock:
            return self.server.state.kinds.get(
                int(cert["serialNumber"], 16))

    def lifecycle(self, ep, req):
        st = self.server.state
        allowed = {"register": ("bootstrap",),
                   "credentials": ("bootstrap", "operational"),
                   "rotate": ("operational",),
                   "assignment": ("operational",)}[ep]
        kind = self.peer_kind()
        cert = self.connection.getpeercert() or {}
        if kind and int(cert["serialNumber"], 16) <= st.revoked_upto:
            return self.error(403, "certificate_revoked", "revoked")
        if kind not in allowed:
            return self.error(401, "peer_certificate_mismatch",
                              "%s needs a %s certificate, not %s" %
                              (ep, " or ".join(allowed), kind))
        dev = self.peer_cn()
        ns = "%s/%s" % (st.args.tenant, dev) if st.args.tenant else None
        if ep == "register":
            if set(req) != {"device_type", "firmware_version",
                            "capabilities"}:
                return self.error(400, "malformed_request", "bad request")
            with st.lock:
                st.registrations[dev] = req
            rec = dict(req)
            rec["device_id"] = dev
            return self.reply(200, rec)
        if ep == "assignment":
            if req != {}:
                return self.error(400, "malformed_request", "bad request")
            if not st.args.tenant:
                return self.error(409, "device_state", "not claimed yet")
            return self.reply(200, {
                "tenant": st.args.tenant, "namespace": ns,
                "policy": {"version": 1, "statements": [
                    {"effect": "allow", "actions": ["publish"],
                     "topics": [ns + "/#" if ns else dev + "/#"]}]}})
        if set(req) != {"csr"}:
            return self.error(400, "malformed_request", "bad request")
        tenants = [v.split(":", 3)[3] for k, v in
                   cert.get("subjectAltName", ())
                   if k == "URI" and v.startswith("urn:ztp:tenant:")]
        if ep == "rotate" and tenants != ([st.args.tenant] if st.args.tenant
                                          else []):
            return self.error(409, "device_state",
                              "tenant changed: request credentials")
        with tempfile.TemporaryDirectory() as d:
            r = self.issue(d, req["csr"], dev, "operational", 365)
        if isinstance(r, tuple) and len(r) == 2:
            cert, na = r
            return self.reply(200, {"certificate": cert,
                                    "chain": [st.issuer_pem],
                                    "not_after": rfc3339(na),
                                    "tenant": st.args.tenant,
                                    "namespace": ns})
        return r

    def issue(self, d, csr_pem, dev, kind, days):
        """Issue a certificate for the CSR; (pem, not_after) or an error
        already sent."""
        st = self.server.state

        def p(name):
            return os.path.join(d, name)
        with open(p("csr.pem"), "w") as f:
            f.write(csr_pem)
        rc, _, _ = openssl("req", "-in", p("csr.pem"), "-verify", "-noout")
        if rc != 0:
            return self.error(400, "bad_csr", "CSR signature")
        name = dev + "-other" if st.args.wrong_device else dev
        san = "URI:urn:ztp:device:%s" % name
        if kind == "operational" and st.args.tenant:
            san += ",URI:urn:ztp:tenant:%s" % st.args.tenant
        with open(p("ext.cnf"), "w") as f:
            f.write("[v3]\nsubjectAltName=%s\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=clientAuth\n" % san)
        with st.lock:
            st.serial += 1
            serial = st.serial
            st.kinds[serial] = kind
            st.save()
        extra = []
        if st.args.wrong_key:
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", p("other.key"))
            openssl("pkey", "-in", p("other.key"), "-pubout", "-out",
                    p("other.pub"))
            extra = ["-force_pubkey", p("other.pub")]
        rc, _, err = openssl(
            "x509", "-req", "-in", p("csr.pem"), "-CA",
            st.args.issuer_cert, "-CAkey", st.args.issuer_key,
            "-set_serial", str(serial), "-days", str(days), "-subj",
            "/CN=" + name, "-extfile", p("ext.cnf"), "-extensions", "v3",
            "-out", p("cert.pem"), *extra)
        if rc != 0:
            sys.stderr.write(err.decode())
            return self.error(500, "internal_error", "issuance failed")
        with open(p("cert.pem")) as f:
            cert = f.read()
        rc, out, _ = openssl("x509", "-in", p("cert.pem"), "-noout",
                             "-enddate")
        na = datetime.datetime.strptime(
            out.decode().strip().split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
        return cert, na

    def challenge(self, req):
        st = self.server.state
        if set(req) != {"device_id"}:
            return self.error(400, "malformed_input", "bad request")
        nonce = secrets.token_urlsafe(24)
        exp = datetime.datetime.utcnow() + datetime.timedelta(minutes=5)
        with st.lock:
            st.nonces[nonce] = req["device_id"]
        self.reply(200, {"nonce": nonce, "expires_at": rfc3339(exp)})

    def bootstrap(self, req):
        st = self.server.state
        allowed = {"device_id", "nonce", "csr", "factory_cert",
                   "factory_chain", "signature"}
        if not set(req) <= allowed or not allowed - {"factory_chain"} <= \
                set(req):
            return self.error(400, "malformed_input", "bad request")
        dev = req["device_id"]
        peer = self.connection.getpeercert(binary_form=True)
        if peer is None or ssl.PEM_cert_to_DER_cert(req["factory_cert"]) \
                != peer:
            return self.error(403, "identity_mismatch",
                              "factory_cert is not the TLS client cert")
        if self.peer_cn() != dev:
            return self.error(403, "identity_mismatch", "wrong device")
        with st.lock:
            owner = st.nonces.pop(req["nonce"], None)
        if owner != dev:
            return self.error(401, "replay", "unknown nonce")
        with tempfile.TemporaryDirectory() as d:
            def p(name):
                return os.path.join(d, name)
            with open(p("csr.pem"), "w") as f:
                f.write(req["csr"])
            rc, der, _ = openssl("req", "-in", p("csr.pem"), "-outform",
                                 "DER")
            if rc != 0:
                return self.error(400, "malformed_input", "bad CSR")
            rc, _, _ = openssl("req", "-in", p("csr.pem"), "-verify",
                               "-noout")
            if rc != 0:
                return self.error(400, "bad_signature", "CSR signature")
            transcript = (b"ZTP-BOOTSTRAP-V1\0" + dev.encode() + b"\0" +
                          req["nonce"].encode() + b"\0" +
                          hashlib.sha256(der).digest())
            with open(p("t.bin"), "wb") as f:
                f.write(transcript)
            with open(p("sig.bin"), "wb") as f:
                f.write(base64.b64decode(req["signature"], validate=True))
            with open(p("factory.pem"), "w") as f:
                f.write(req["factory_cert"])
            rc, pub, _ = openssl("x509", "-in", p("factory.pem"), "-pubkey",
                                 "-noout")
            with open(p("pub.pem"), "wb") as f:
                f.write(pub)
            rc, _, _ = openssl("dgst", "-sha256", "-verify", p("pub.pem"),
                               "-signature", p("sig.bin"), p("t.bin"))
            if rc != 0:
                return self.error(401, "bad_signature",
                                  "transcript signature")
            r = self.issue(d, req["csr"], dev, "bootstrap", 1)
        if not (isinstance(r, tuple) and len(r) == 2):
            return r
        cert, na = r
        self.reply(200, {"certificate": cert, "chain": [st.issuer_pem],
                         "not_after": rfc3339(na)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", required=True, action="append")
    ap.add_argument("--issuer-cert", required=True)
    ap.add_argument("--issuer-key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--script", action="append")
    ap.add_argument("--hang", action="append")
    ap.add_argument("--wrong-key", action="store_true")
    ap.add_argument("--wrong-device", action="store_true")
    ap.add_argument("--tenant")
    ap.add_argument("--db")
    ap.add_argument("--revoke-existing", action="store_true")
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    for ca in args.client_ca:
        ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
