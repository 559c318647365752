// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsServer hosts p's verifier on 127.0.0.1 behind a certificate of its
// own CA; returns the server and the CA file to pin.
func tlsServer(t *testing.T, p *pki) (*httptest.Server, string) {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Server CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(t, err)
	ca, err := x509.ParseCertificate(caDER)
	must(t, err)
	leafKey := newKey(t)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	must(t, err)
	caFile := filepath.Join(t.TempDir(), "server-ca.pem")
	must(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 65536))
		if err != nil {
			return
		}
		var peer []byte
		if len(r.TLS.PeerCertificates) > 0 {
			peer = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.TLS.PeerCertificates[0].Raw})
		}
		resp, err := p.v.Handle(strings.TrimPrefix(r.URL.Path, "/ztp/v1/"), body, peer)
		if err != nil {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	}))
	srv.TLS = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.RequestClientCert,
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, caFile
}

func deviceFor(t *testing.T, p *pki, id, url, caFile string) (*Device, string) {
	t.Helper()
	key, cert := p.factoryDevice(t, id)
	d := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(d, "factory.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	must(t, os.WriteFile(filepath.Join(d, "factory.pem"), []byte(cert+p.mfgIssuing.CertPEM), 0o600))
	dev, err := NewDevice()
	must(t, err)
	t.Cleanup(func() { dev.Close() })
	must(t, dev.SetFactoryIdentity(filepath.Join(d, "factory.key"), filepath.Join(d, "factory.pem")))
	must(t, dev.SetBaseURL(url))
	must(t, dev.SetCAFile(caFile))
	must(t, dev.SetStateDir(filepath.Join(d, "state")))
	must(t, dev.SetRetry(2, 10*time.Millisecond, 50*time.Millisecond, time.Second))
	must(t, dev.SetTimeouts(5*time.Second, 20*time.Second))
	return dev, cert
}

func TestDeviceBootstrap(t *testing.T) {
	p := newPKI(t)
	srv, caFile := tlsServer(t, p)
	dev, cert := deviceFor(t, p, "dev-1", srv.URL, caFile)
	_, err := p.v.Enroll("dev-1", []byte(cert), "", "")
	must(t, err)
	var steps []string
	must(t, dev.SetEventCallback(func(ev map[string]interface{}) {
		if ev["event"] == "device.step" {
			steps = append(steps, ev["step"].(string))
		}
	}))
	must(t, dev.Bootstrap())
	must(t, dev.SetEventCallback(nil))
	st, err := dev.Status()
	must(t, err)
	b := st.Credentials.Bootstrap
	if b == nil || b.DeviceID != "dev-1" || b.Expired || st.Credentials.Operational != nil {
		t.Fatalf("status %+v", st)
	}
	rec, err := p.store.CertGet(b.Serial)
	must(t, err)
	if rec.Profile != ProfileBootstrap {
		t.Fatalf("record %+v", rec)
	}
	if len(steps) < 2 || steps[0] != "start" || steps[len(steps)-1] != "done" {
		t.Fatalf("steps %v", steps)
	}
}

func TestDeviceRefusals(t *testing.T) {
	p := newPKI(t)
	srv, caFile := tlsServer(t, p)
	dev, _ := deviceFor(t, p, "ghost", srv.URL, caFile)
	err := dev.Bootstrap()
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "unknown_device") {
		t.Fatalf("unknown device: %v", err)
	}
	_, otherCA := tlsServer(t, p)
	dev, cert := deviceFor(t, p, "dev-2", srv.URL, otherCA)
	_, err = p.v.Enroll("dev-2", []byte(cert), "", "")
	must(t, err)
	wantCode(t, dev.Bootstrap(), ENETWORK)
	for _, f := range []func() error{dev.Credentials, dev.Rotate, func() error { _, err := dev.Assignment(); return err }} {
		wantCode(t, f(), ESTATE)
	}
}

func TestDeviceSetters(t *testing.T) {
	dev, err := NewDevice()
	must(t, err)
	defer dev.Close()
	wantCode(t, dev.Bootstrap(), EINVAL)
	wantCode(t, dev.SetKeyType("dsa"), EINVAL)
	wantCode(t, dev.SetBaseURL("http://127.0.0.1"), EINVAL)
	wantCode(t, dev.SetID("a/b"), EINVAL)
	wantCode(t, dev.SetRetry(0, time.Second, time.Second, 0), EINVAL)
	now := time.Now()
	must(t, dev.SetClock(&now))
	must(t, dev.SetClock(nil))
	d := t.TempDir()
	must(t, os.WriteFile(filepath.Join(d, "d.json"), []byte(`{"bogus":1}`), 0o600))
	_, err = LoadDevice(filepath.Join(d, "d.json"))
	wantCode(t, err, EPARSE)
}

// TestDeviceKeysInToken: a pkcs11: factory key and a token for the
// generated keys pass through the binding: a SoftHSM2 token made here
// signs the bootstrap transcript and the TLS handshake, and holds the
// bootstrap key.
//
// SoftHSM2 reads SOFTHSM2_CONF once per process, and TestLoadCAFilesToken
// loads it first with a token directory of its own: so the test runs in a
// process of its own, this test binary run again for this test only.
func TestDeviceKeysInToken(t *testing.T) {
	if os.Getenv("ZTP_TEST_TOKEN_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeviceKeysInToken$", "-test.v")
		cmd.Env = append(os.Environ(), "ZTP_TEST_TOKEN_CHILD=1")
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), "--- SKIP") {
			t.Skip(string(out))
		}
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDeviceKeysInToken") {
			t.Fatalf("%v: %s", err, out)
		}
		return
	}
	h := newSoftHSM(t)
	h.token("go", "factory")
	csr := h.openssl("req", "-new", "-engine", "pkcs11", "-keyform", "engine",
		"-key", h.engineKey("go", "factory"), "-subj", "/CN=tok-go")
	d := t.TempDir()

	p := newPKI(t)
	srv, caFile := tlsServer(t, p)
	must(t, p.mfgStore.DeviceAdd("tok-go", strings.Repeat("0", 64), "", "", time.Time{}))
	iss, err := p.factoryCA.Issue(csr, "tok-go", "", ProfileFactory, 0)
	must(t, err)
	certFile := filepath.Join(d, "factory.pem")
	must(t, os.WriteFile(certFile, []byte(iss.CertPEM+p.mfgIssuing.CertPEM), 0o600))
	_, err = p.v.Enroll("tok-go", []byte(iss.CertPEM), "", "")
	must(t, err)
	query := "?pin-source=file:" + h.pin + "&module-path=" + h.module
	dev, err := NewDevice()
	must(t, err)
	defer dev.Close()
	must(t, dev.SetFactoryIdentity("pkcs11:token=go;object=factory"+query, certFile))
	must(t, dev.SetKeyStore("pkcs11:token=go"+query, "go"))
	must(t, dev.SetBaseURL(srv.URL))
	must(t, dev.SetCAFile(caFile))
	state := filepath.Join(d, "state")
	must(t, dev.SetStateDir(state))
	must(t, dev.SetRetry(2, 10*time.Millisecond, 50*time.Millisecond, time.Second))
	must(t, dev.Bootstrap())
	st, err := dev.Status()
	must(t, err)
	b := st.Credentials.Bootstrap
	if b == nil || b.DeviceID != "tok-go" || b.Expired {
		t.Fatalf("status %+v", st)
	}
	slot := filepath.Join(state, "bootstrap", b.Slot)
	if _, err := os.Stat(filepath.Join(slot, "key.ref")); err != nil {
		t.Fatalf("no key.ref: %v", err)
	}
	if _, err := os.Stat(filepath.Join(slot, "key.pem")); err == nil {
		t.Fatalf("a key file in the slot")
	}
	objs := h.p11("--token-label", "go", "--login", "--pin", softHSMPIN,
		"--list-objects", "--type", "privkey")
	if !strings.Contains(string(objs), "go-bootstrap-"+b.Slot) {
		t.Fatalf("token objects: %s", objs)
	}
}
