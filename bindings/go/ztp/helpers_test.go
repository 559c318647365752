// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var zeroTime time.Time

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("want *Error with code %d (%s), got %v", code, StatusName(code), err)
	}
	if e.Code != code {
		t.Fatalf("want code %d (%s), got %d (%s): %s", code, StatusName(code), e.Code, e.Name, e.Message)
	}
	if e.Message == "" || e.Name != StatusName(code) {
		t.Fatalf("incomplete error %#v", e)
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	return k
}

func csrFor(t *testing.T, k crypto.Signer, cn string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader,
		&x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, k)
	must(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func parseCert(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		t.Fatalf("not PEM: %q", p)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	must(t, err)
	return c
}

func hasURI(c *x509.Certificate, uri string) bool {
	for _, u := range c.URIs {
		if u.String() == uri {
			return true
		}
	}
	return false
}

// pki is a manufacturer (root + issuing CA), a device CA, a registry and a
// verifier, all in memory.
type pki struct {
	mfgRoot, mfgIssuing KeyPair
	mfgStore            *Store
	factoryCA           *CA
	deviceRoot          KeyPair
	store               *Store
	deviceCA            *CA
	v                   *Verifier
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{}
	var err error
	p.mfgRoot, err = CreateRoot("/CN=Acme Root/O=Acme", "", 3650)
	must(t, err)
	root, err := LoadCA(p.mfgRoot.CertPEM, p.mfgRoot.KeyPEM, "", "")
	must(t, err)
	p.mfgStore, err = OpenStore("memory:")
	must(t, err)
	must(t, root.SetStore(p.mfgStore))
	p.mfgIssuing, err = root.CreateSub("/CN=Acme Factory CA/O=Acme", "", 3650, 0)
	must(t, err)
	root.Close()
	p.factoryCA, err = LoadCA(p.mfgIssuing.CertPEM, p.mfgIssuing.KeyPEM, p.mfgRoot.CertPEM, "")
	must(t, err)
	must(t, p.factoryCA.SetStore(p.mfgStore))
	p.deviceRoot, err = CreateRoot("/CN=Fleet Device CA", "", 3650)
	must(t, err)
	p.store, err = OpenStore("memory:")
	must(t, err)
	p.deviceCA, err = LoadCA(p.deviceRoot.CertPEM, p.deviceRoot.KeyPEM, "", "")
	must(t, err)
	must(t, p.deviceCA.SetStore(p.store))
	p.v, err = NewVerifier()
	must(t, err)
	must(t, p.v.SetTrustAnchors([]byte(p.mfgRoot.CertPEM)))
	must(t, p.v.SetIssuers([]byte(p.mfgIssuing.CertPEM)))
	must(t, p.v.SetCA(p.deviceCA))
	must(t, p.v.SetStore(p.store))
	must(t, p.v.SetRateLimit("device", 0, 1))
	must(t, p.v.SetRateLimit("global", 0, 1))
	t.Cleanup(func() {
		p.v.Close()
		p.deviceCA.Close()
		p.store.Close()
		p.factoryCA.Close()
		p.mfgStore.Close()
	})
	return p
}

// factoryDevice makes a factory key and certificate for id.
func (p *pki) factoryDevice(t *testing.T, id string) (*ecdsa.PrivateKey, string) {
	t.Helper()
	if _, err := p.mfgStore.DeviceGet(id); err != nil {
		must(t, p.mfgStore.DeviceAdd(id, strings.Repeat("0", 64), "", "", time.Time{}))
	}
	k := newKey(t)
	iss, err := p.factoryCA.Issue(csrFor(t, k, id), id, "", ProfileFactory, 0)
	must(t, err)
	return k, iss.CertPEM
}

func transcript(id, nonce string, csrDER []byte) []byte {
	h := sha256.Sum256(csrDER)
	var b []byte
	b = append(b, "ZTP-BOOTSTRAP-V1\x00"...)
	b = append(b, id...)
	b = append(b, 0)
	b = append(b, nonce...)
	b = append(b, 0)
	return append(b, h[:]...)
}

// bootstrapRequest runs the challenge and signs a bootstrap request, the
// way any device implementation would with Go's standard library.
func (p *pki) bootstrapRequest(t *testing.T, id string, factoryKey *ecdsa.PrivateKey, cert string) []byte {
	t.Helper()
	r, err := p.v.Handle("challenge", []byte(`{"device_id":"`+id+`"}`), []byte(cert))
	must(t, err)
	if r.Status != 200 {
		t.Fatalf("challenge: %d %s", r.Status, r.Body)
	}
	var ch struct {
		Nonce string `json:"nonce"`
	}
	must(t, json.Unmarshal(r.Body, &ch))
	csr := csrFor(t, newKey(t), "ignored")
	blk, _ := pem.Decode(csr)
	digest := sha256.Sum256(transcript(id, ch.Nonce, blk.Bytes))
	sig, err := ecdsa.SignASN1(rand.Reader, factoryKey, digest[:])
	must(t, err)
	req, err := json.Marshal(map[string]string{
		"device_id": id, "nonce": ch.Nonce, "csr": string(csr),
		"factory_cert": cert, "signature": base64.StdEncoding.EncodeToString(sig),
	})
	must(t, err)
	return req
}

// softHSM is a SoftHSM2 token directory in a test's temporary directory,
// with SOFTHSM2_CONF pointing at it for the rest of the test. SoftHSM2
// reads SOFTHSM2_CONF once per process: one token directory per test
// process. Tokens get user PIN softHSMPIN, also in the file pin.
type softHSM struct {
	t      *testing.T
	module string // SoftHSM2's PKCS#11 module
	dir    string
	pin    string // a file holding the user PIN, for pin-source=file:
}

const softHSMPIN = "1234"

// newSoftHSM fails the test (it does not skip it) when SoftHSM2,
// pkcs11-tool or openssl is missing, as the C and shell token tests do.
func newSoftHSM(t *testing.T) *softHSM {
	t.Helper()
	module := os.Getenv("SOFTHSM2_MODULE")
	if module == "" {
		module = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
	}
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("SoftHSM2 module: %v (install softhsm2)", err)
	}
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%v (install softhsm2, opensc, openssl)", err)
		}
	}
	h := &softHSM{t: t, module: module, dir: t.TempDir()}
	must(t, os.Mkdir(filepath.Join(h.dir, "tokens"), 0o700))
	conf := filepath.Join(h.dir, "softhsm2.conf")
	must(t, os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(h.dir, "tokens")+
		"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600))
	t.Setenv("SOFTHSM2_CONF", conf)
	h.pin = filepath.Join(h.dir, "pin")
	must(t, os.WriteFile(h.pin, []byte(softHSMPIN+"\n"), 0o600))
	return h
}

// run runs a tool with env added to the environment and returns its
// standard output; it fails the test with the tool's output on failure.
func (h *softHSM) run(env []string, name string, args ...string) []byte {
	h.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("%s %v: %v: %s%s", name, args, err, out, stderr.String())
	}
	return out
}

// token makes a token labelled label, and in it an EC P-256 key pair
// labelled key with CKA_ID 01.
func (h *softHSM) token(label, key string) {
	h.t.Helper()
	h.run(nil, "softhsm2-util", "--init-token", "--free", "--label", label,
		"--pin", softHSMPIN, "--so-pin", "123456")
	h.p11("--token-label", label, "--login", "--pin", softHSMPIN, "--keypairgen",
		"--key-type", "EC:prime256v1", "--label", key, "--id", "01")
}

// p11 runs pkcs11-tool on SoftHSM2's module.
func (h *softHSM) p11(args ...string) []byte {
	h.t.Helper()
	return h.run(nil, "pkcs11-tool", append([]string{"--module", h.module}, args...)...)
}

// openssl runs the openssl CLI with libp11's engine on SoftHSM2's module,
// to sign with a token key: "-engine", "pkcs11", "-keyform", "engine",
// "-key", h.engineKey(token, key).
func (h *softHSM) openssl(args ...string) []byte {
	h.t.Helper()
	engine := filepath.Join(h.dir, "engine.cnf")
	must(h.t, os.WriteFile(engine, []byte("openssl_conf = oc\n[oc]\nengines = es\n[es]\npkcs11 = p11\n"+
		"[p11]\nengine_id = pkcs11\nMODULE_PATH = "+h.module+"\ninit = 0\n"), 0o600))
	openssl := os.Getenv("OPENSSL")
	if openssl == "" {
		openssl = "openssl"
	}
	return h.run([]string{"OPENSSL_CONF=" + engine}, openssl, args...)
}

// engineKey is the engine's name of the private key in token.
func (h *softHSM) engineKey(token, key string) string {
	return "pkcs11:token=" + token + ";object=" + key + ";type=private;pin-value=" + softHSMPIN
}
