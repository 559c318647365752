// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func testCA(t *testing.T) (*CA, *Store) {
	t.Helper()
	root, err := CreateRoot("/CN=Test Root/O=Example/C=DE", "", 30)
	must(t, err)
	s, err := OpenStore("memory:")
	must(t, err)
	ca, err := LoadCA(root.CertPEM, root.KeyPEM, "", "")
	must(t, err)
	must(t, ca.SetStore(s))
	for _, id := range []string{"dev-1", "dev-2"} {
		must(t, s.DeviceAdd(id, fp, "", "", time.Time{}))
	}
	t.Cleanup(func() { ca.Close(); s.Close() })
	return ca, s
}

func TestCreateRoot(t *testing.T) {
	kp, err := CreateRoot("/CN=Test Root/O=Example/C=DE", "ec-p384", 30)
	must(t, err)
	c := parseCert(t, kp.CertPEM)
	if !c.IsCA || c.Subject.CommonName != "Test Root" || c.Subject.Country[0] != "DE" {
		t.Fatalf("root %+v", c.Subject)
	}
	if !strings.Contains(kp.KeyPEM, "PRIVATE KEY") {
		t.Fatal("no key")
	}
	// What Go prints (RFC 4514) names the same subject, byte for byte,
	// for a subject in the order Go prints names in (C, O, CN).
	slash, err := CreateRoot("/C=DE/O=Example, Inc./CN=Go Root", "", 30)
	must(t, err)
	sc := parseCert(t, slash.CertPEM)
	rfc, err := CreateRoot(sc.Subject.String(), "", 30)
	must(t, err)
	if sc.Subject.String() != `CN=Go Root,O=Example\, Inc.,C=DE` ||
		string(parseCert(t, rfc.CertPEM).RawSubject) != string(sc.RawSubject) {
		t.Fatalf("RFC 4514 subject %q differs from the slash form", sc.Subject.String())
	}
	_, err = CreateRoot("CN=Test Root, O=Example", "", 30)
	wantCode(t, err, EINVAL)
	other, err := CreateRoot("/CN=Other", "", 30)
	must(t, err)
	_, err = LoadCA(kp.CertPEM, other.KeyPEM, "", "")
	wantCode(t, err, EMISMATCH)
}

func TestIssueServer(t *testing.T) {
	ca, s := testCA(t)
	srv, err := ca.IssueServer(nil, "", []string{"Verifier.Example"}, []string{"127.0.0.1", "::1"}, 0)
	must(t, err)
	c := parseCert(t, srv.CertPEM)
	if len(c.DNSNames) != 1 || c.DNSNames[0] != "verifier.example" || len(c.IPAddresses) != 2 ||
		!c.IPAddresses[1].Equal(net.IPv6loopback) || c.IsCA ||
		len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Fatalf("server certificate %v %v %v", c.DNSNames, c.IPAddresses, c.ExtKeyUsage)
	}
	if err := c.VerifyHostname("verifier.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if c.VerifyHostname("other.example") == nil {
		t.Fatal("other.example accepted")
	}
	if !strings.Contains(srv.KeyPEM, "PRIVATE KEY") || srv.Serial == "" {
		t.Fatal("no key or serial")
	}
	if _, err := ca.IssueServer(nil, "", []string{"*.example.com"}, nil, 0); err == nil {
		t.Fatal("wildcard accepted")
	} else {
		wantCode(t, err, EINVAL)
	}
	_, err = ca.IssueServer(nil, "", nil, nil, 0)
	wantCode(t, err, EINVAL)
	_, err = ca.IssueServer(nil, "", []string{"a.example"}, nil, 399*24*time.Hour)
	wantCode(t, err, EINVAL)
	if n, err := s.CertCount(); err != nil || n != 1 {
		t.Fatalf("%d certificates recorded (%v), want 1", n, err)
	}
}

func TestLoadCAFiles(t *testing.T) {
	kp, err := CreateRoot("/CN=Files", "", 30)
	must(t, err)
	d := t.TempDir()
	must(t, os.WriteFile(filepath.Join(d, "c.pem"), []byte(kp.CertPEM), 0o600))
	must(t, os.WriteFile(filepath.Join(d, "k.pem"), []byte(kp.KeyPEM), 0o600))
	ca, err := LoadCAFiles(filepath.Join(d, "c.pem"), filepath.Join(d, "k.pem"), "", "")
	must(t, err)
	defer ca.Close()
	got, err := ca.CertPEM()
	must(t, err)
	if got != kp.CertPEM {
		t.Fatal("certificate differs")
	}
}

func TestIssue(t *testing.T) {
	ca, s := testCA(t)
	iss, err := ca.Issue(csrFor(t, newKey(t), "evil"), "dev-1", "", ProfileBootstrap, 0)
	must(t, err)
	c := parseCert(t, iss.CertPEM)
	if c.Subject.CommonName != "dev-1" || !hasURI(c, "urn:ztp:device:dev-1") {
		t.Fatalf("names: %v %v", c.Subject, c.URIs)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || c.IsCA {
		t.Fatalf("profile: %v CA=%v", c.ExtKeyUsage, c.IsCA)
	}
	if !c.NotAfter.Equal(iss.NotAfter) {
		t.Fatalf("not_after %v vs %v", c.NotAfter, iss.NotAfter)
	}
	if d := time.Until(c.NotAfter); d > 24*time.Hour || d < 23*time.Hour+55*time.Minute {
		t.Fatalf("bootstrap lifetime %v", d)
	}
	rec, err := s.CertGet(iss.Serial)
	must(t, err)
	if rec.Profile != ProfileBootstrap || rec.NotAfter != iss.NotAfter.Unix() {
		t.Fatalf("record %+v", rec)
	}

	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	iss, err = ca.Issue(csrFor(t, edk, "x"), "dev-2", "acme", ProfileOperational, 48*time.Hour)
	must(t, err)
	if !hasURI(parseCert(t, iss.CertPEM), "urn:ztp:tenant:acme") {
		t.Fatal("no tenant URI")
	}
}

func TestIssueRefusals(t *testing.T) {
	ca, s := testCA(t)
	csr := csrFor(t, newKey(t), "x")
	_, err := ca.Issue([]byte("garbage"), "dev-1", "", ProfileBootstrap, 0)
	wantCode(t, err, EPARSE)
	_, err = ca.Issue(csr, "dev/1", "", ProfileBootstrap, 0)
	wantCode(t, err, EINVAL)
	_, err = ca.Issue(csr, "dev-1", "", "nope", 0)
	wantCode(t, err, EINVAL)
	_, err = ca.Issue(csr, "dev-1", "", ProfileBootstrap, 24*time.Hour+time.Second)
	wantCode(t, err, EINVAL)
	must(t, ca.SetKeyPolicy("ed25519"))
	_, err = ca.Issue(csr, "dev-1", "", ProfileBootstrap, 0)
	wantCode(t, err, EKEYPOLICY)
	n, err := s.CertCount()
	must(t, err)
	if n != 0 {
		t.Fatalf("%d certificates issued by refused requests", n)
	}
}

func TestRevokeAndCRL(t *testing.T) {
	ca, s := testCA(t)
	iss, err := ca.Issue(csrFor(t, newKey(t), "x"), "dev-1", "", ProfileBootstrap, 0)
	must(t, err)
	reason, err := ReasonFromName("keyCompromise")
	must(t, err)
	if ReasonName(reason) != "keyCompromise" || ReasonName(7) != "" {
		t.Fatal("reason names")
	}
	must(t, ca.Revoke(iss.Serial, reason))
	wantCode(t, ca.Revoke("abcdef", 0), ENOTFOUND)
	rec, err := s.CertGet(iss.Serial)
	must(t, err)
	if !rec.Revoked {
		t.Fatal("not revoked")
	}
	crlPEM, err := ca.CRL(1)
	must(t, err)
	b, _ := pem.Decode([]byte(crlPEM))
	crl, err := x509.ParseRevocationList(b.Bytes)
	must(t, err)
	caPEM, err := ca.CertPEM()
	must(t, err)
	must(t, crl.CheckSignatureFrom(parseCert(t, caPEM)))
	if len(crl.RevokedCertificates) != 1 ||
		crl.RevokedCertificates[0].SerialNumber.Text(16) != iss.Serial {
		t.Fatalf("CRL entries %+v", crl.RevokedCertificates)
	}
}

func TestSubCAChain(t *testing.T) {
	ca, s := testCA(t)
	sub, err := ca.CreateSub("/CN=Issuing", "", 10, 0)
	must(t, err)
	rootPEM, err := ca.CertPEM()
	must(t, err)
	issuing, err := LoadCA(sub.CertPEM, sub.KeyPEM, rootPEM, "")
	must(t, err)
	defer issuing.Close()
	must(t, issuing.SetStore(s))
	chain, err := issuing.ChainPEM()
	must(t, err)
	if chain != sub.CertPEM+rootPEM {
		t.Fatalf("chain %q", chain)
	}
	leaf, err := issuing.Issue(csrFor(t, newKey(t), "x"), "dev-1", "", ProfileOperational, 0)
	must(t, err)
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(parseCert(t, rootPEM))
	inter.AddCert(parseCert(t, sub.CertPEM))
	_, err = parseCert(t, leaf.CertPEM).Verify(x509.VerifyOptions{Roots: roots,
		Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	must(t, err)
	_, err = issuing.CreateSub("/CN=Too deep", "", 5, -1)
	wantCode(t, err, EPROFILE)
}

func TestCAClock(t *testing.T) {
	ca, _ := testCA(t)
	when := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	must(t, ca.SetClock(&when))
	iss, err := ca.Issue(csrFor(t, newKey(t), "x"), "dev-1", "", ProfileBootstrap, time.Hour)
	must(t, err)
	if !iss.NotAfter.Equal(when.Add(time.Hour)) {
		t.Fatalf("not_after %v, want %v", iss.NotAfter, when.Add(time.Hour))
	}
	later := when.Add(10 * time.Second)
	must(t, ca.SetClock(&later))
	iss, err = ca.Issue(csrFor(t, newKey(t), "x"), "dev-1", "", ProfileBootstrap, time.Hour)
	must(t, err)
	if !iss.NotAfter.Equal(later.Add(time.Hour)) {
		t.Fatalf("moved clock not seen: %v", iss.NotAfter)
	}
	must(t, ca.SetClock(nil))
}

func TestStoreOutlivesItsCloser(t *testing.T) {
	root, err := CreateRoot("/CN=R", "", 30)
	must(t, err)
	s, err := OpenStore("memory:")
	must(t, err)
	must(t, s.DeviceAdd("dev-1", fp, "", "", time.Time{}))
	ca, err := LoadCA(root.CertPEM, root.KeyPEM, "", "")
	must(t, err)
	must(t, ca.SetStore(s))
	s.Close()
	// Closed for its owner, still alive for the CA that borrows it.
	_, err = s.CertCount()
	wantCode(t, err, ESTATE)
	_, err = ca.Issue(csrFor(t, newKey(t), "x"), "dev-1", "", ProfileBootstrap, 0)
	must(t, err)
	ca.Close()
	if s.h.ptr != nil {
		t.Fatal("store not freed after its borrower closed")
	}
}

func TestFinalizers(t *testing.T) {
	root, err := CreateRoot("/CN=R", "", 30)
	must(t, err)
	for i := 0; i < 50; i++ {
		s, err := OpenStore("memory:")
		must(t, err)
		ca, err := LoadCA(root.CertPEM, root.KeyPEM, "", "")
		must(t, err)
		must(t, ca.SetStore(s))
	}
	runtime.GC()
	runtime.GC()
}

// A CA whose key is in a SoftHSM2 token, made there by pkcs11-tool and
// self-signed by openssl's pkcs11 engine: the pkcs11: URI passes through
// LoadCAFiles, the token signs what the CA issues, and a wrong PIN is
// EPIN. SoftHSM2 reads SOFTHSM2_CONF once per process: only this test of
// the package uses a token.
func TestLoadCAFilesToken(t *testing.T) {
	h := newSoftHSM(t)
	h.token("go-ca", "root")
	cert := filepath.Join(h.dir, "root.pem")
	h.openssl("req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine",
		"-key", h.engineKey("go-ca", "root"), "-subj", "/CN=Token Root", "-days", "5",
		"-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", cert)
	uri := "pkcs11:token=go-ca;object=root?module-path=" + h.module

	ca, err := LoadCAFiles(cert, uri, "", softHSMPIN)
	must(t, err)
	defer ca.Close()
	s, err := OpenStore("memory:")
	must(t, err)
	defer s.Close()
	must(t, ca.SetStore(s))
	must(t, s.DeviceAdd("dev-1", fp, "", "", time.Time{}))
	iss, err := ca.Issue(csrFor(t, newKey(t), "x"), "dev-1", "", ProfileOperational, 0)
	must(t, err)
	pemRoot, err := os.ReadFile(cert)
	must(t, err)
	root := parseCert(t, string(pemRoot))
	if err := parseCert(t, iss.CertPEM).CheckSignatureFrom(root); err != nil {
		t.Fatalf("not signed by the token's key: %v", err)
	}
	_, err = LoadCAFiles(cert, uri, "", "0000")
	wantCode(t, err, EPIN)
}
