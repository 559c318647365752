#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fetch the device CA's CRL from a verifier's crl endpoint.

    fetch_crl.py BASE_URL CA_FILE OUT

POSTs {} to BASE_URL/ztp/v1/crl over HTTPS, authenticating the server
against CA_FILE only (host name checked), and writes the PEM CRL of the
answer {"crl": PEM} to OUT. Exit status 0 on success, 1 otherwise, with the
reason on standard error.
"""

import json
import ssl
import sys
import urllib.error
import urllib.request

MAX_ANSWER = 16 * 1024 * 1024


def main(argv):
    if len(argv) != 4:
        print("usage: fetch_crl.py BASE_URL CA_FILE OUT", file=sys.stderr)
        return 1
    base, ca_file, out = argv[1:]
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    req = urllib.request.Request(
        base.rstrip("/") + "/ztp/v1/crl", data=b"{}", method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as resp:
            body = resp.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as e:
        print("fetch_crl: HTTP %d: %s" % (e.code, e.read(4096).decode(
            "utf-8", "replace")), file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as e:
        print("fetch_crl: %s" % e, file=sys.stderr)
        return 1
    if len(body) > MAX_ANSWER:
        print("fetch_crl: answer over %d bytes" % MAX_ANSWER,
              file=sys.stderr)
        return 1
    try:
        crl = json.loads(body)["crl"]
    except (ValueError, KeyError, TypeError):
        print("fetch_crl: answer is not {\"crl\": PEM}", file=sys.stderr)
        return 1
    if not isinstance(crl, str) or \
            not crl.startswith("-----BEGIN X509 CRL-----"):
        print("fetch_crl: answer holds no PEM CRL", file=sys.stderr)
        return 1
    with open(out, "w", encoding="ascii") as f:
        f.write(crl)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
