// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestErrorCodes(t *testing.T) {
	codes, err := ErrorCodes()
	must(t, err)
	if codes["unknown_endpoint"] != 404 || codes["rate_limited"] != 429 {
		t.Fatalf("codes %v", codes)
	}
}

var claimCode = regexp.MustCompile(`^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`)

func TestBootstrapInProcess(t *testing.T) {
	p := newPKI(t)
	key, cert := p.factoryDevice(t, "dev-1")
	code, err := p.v.Enroll("dev-1", []byte(cert), "m", "b1")
	must(t, err)
	if !claimCode.MatchString(code) {
		t.Fatalf("claim code %q", code)
	}
	var mu sync.Mutex
	var events []map[string]interface{}
	must(t, p.v.SetEventCallback(func(ev map[string]interface{}) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	req := p.bootstrapRequest(t, "dev-1", key, cert)
	before, _ := p.store.CertCount()
	r, err := p.v.Handle("bootstrap", req, []byte(cert))
	must(t, err)
	if r.Status != 200 {
		t.Fatalf("bootstrap: %d %s", r.Status, r.Body)
	}
	var body struct {
		Certificate string   `json:"certificate"`
		Chain       []string `json:"chain"`
		NotAfter    string   `json:"not_after"`
	}
	must(t, json.Unmarshal(r.Body, &body))
	c := parseCert(t, body.Certificate)
	if !hasURI(c, "urn:ztp:device:dev-1") || len(body.Chain) == 0 || body.NotAfter == "" {
		t.Fatalf("answer %s", r.Body)
	}
	after, _ := p.store.CertCount()
	if after != before+1 {
		t.Fatalf("count %d -> %d", before, after)
	}
	// The challenge is single use.
	r, err = p.v.Handle("bootstrap", req, []byte(cert))
	must(t, err)
	if r.Status < 400 || r.Error() == nil {
		t.Fatalf("replay accepted: %d %s", r.Status, r.Body)
	}
	if n, _ := p.store.CertCount(); n != after {
		t.Fatal("a replay issued a certificate")
	}
	must(t, p.v.SetEventCallback(nil))
	mu.Lock()
	defer mu.Unlock()
	var results []string
	for _, ev := range events {
		if ev["type"] == "bootstrap" {
			results = append(results, fmt.Sprint(ev["result"]))
		}
	}
	if strings.Join(results, ",") != "accepted,rejected" {
		t.Fatalf("events %v", events)
	}
	st, err := p.v.Stats()
	must(t, err)
	if st["bootstraps"].(float64) < 2 {
		t.Fatalf("stats %v", st)
	}
	m, err := p.v.Metrics()
	must(t, err)
	if !strings.Contains(m, "\nztp_requests_total{endpoint=\"bootstrap\",code=\"ok\"} 1\n") ||
		!strings.Contains(m, "# TYPE ztp_request_duration_seconds histogram\n") {
		t.Fatalf("metrics %s", m)
	}
}

func TestRefusalsIssueNothing(t *testing.T) {
	p := newPKI(t)
	key, cert := p.factoryDevice(t, "dev-3")
	_, err := p.v.Enroll("dev-3", []byte(cert), "", "")
	must(t, err)
	okey, ocert := p.factoryDevice(t, "ghost")
	before, _ := p.store.CertCount()

	check := func(what string, r *Response, err error, codes ...string) {
		t.Helper()
		must(t, err)
		e := r.Error()
		if r.Status < 400 || e == nil {
			t.Fatalf("%s: accepted: %d %s", what, r.Status, r.Body)
		}
		for _, c := range codes {
			if e.Code == c {
				return
			}
		}
		t.Fatalf("%s: code %q, want one of %v", what, e.Code, codes)
	}
	r, err := p.v.Handle("challenge", []byte(`{"device_id":"ghost"}`), []byte(ocert))
	if err == nil && r.Status == 200 {
		r, err = p.v.Handle("bootstrap", p.bootstrapRequest(t, "ghost", okey, ocert), []byte(ocert))
	}
	check("unknown device", r, err, "unknown_device")
	r, err = p.v.Handle("bootstrap", p.bootstrapRequest(t, "dev-3", okey, cert), []byte(cert))
	check("signature by another key", r, err, "bad_signature")
	r, err = p.v.Handle("bootstrap", p.bootstrapRequest(t, "dev-3", key, cert), []byte(ocert))
	check("peer is another device", r, err, "peer_certificate_mismatch")
	r, err = p.v.Handle("bootstrap", []byte(`{"device_id":`), []byte(cert))
	check("malformed", r, err, "malformed_request")
	must(t, p.v.SetMaxRequestSize(1024))
	r, err = p.v.Handle("bootstrap", []byte(strings.Repeat(" ", 2048)), []byte(cert))
	check("oversized", r, err, "request_too_large")
	r, err = p.v.Handle("nope", nil, nil)
	check("endpoint", r, err, "unknown_endpoint")
	if n, _ := p.store.CertCount(); n != before {
		t.Fatalf("refusals issued %d certificates", n-before)
	}
}

func TestCheckCertAndEnroll(t *testing.T) {
	p := newPKI(t)
	_, cert := p.factoryDevice(t, "dev-4")
	res, err := p.v.CheckCert([]byte(cert), nil, zeroTime)
	must(t, err)
	if res.Result != "accepted" || res.DeviceID != "dev-4" {
		t.Fatalf("check %+v", res)
	}
	other, err := CreateRoot("/CN=Elsewhere", "", 30)
	must(t, err)
	v, err := NewVerifier()
	must(t, err)
	defer v.Close()
	_, err = v.CheckCert([]byte(cert), nil, zeroTime)
	wantCode(t, err, ESTATE)
	must(t, v.SetTrustAnchors([]byte(other.CertPEM)))
	must(t, v.SetIssuers([]byte(other.CertPEM)))
	res, err = v.CheckCert([]byte(cert), nil, zeroTime)
	must(t, err)
	if res.Result != "rejected" || res.Code == "" {
		t.Fatalf("check %+v", res)
	}
	_, err = p.v.Enroll("dev-5", []byte(cert), "", "")
	wantCode(t, err, EMISMATCH)
	_, err = p.v.Enroll("dev-4", []byte(cert), "", "")
	must(t, err)
	_, err = p.v.Enroll("dev-4", []byte(cert), "", "")
	wantCode(t, err, EEXISTS)
}

func TestVerifierSettersValidate(t *testing.T) {
	v, err := NewVerifier()
	must(t, err)
	defer v.Close()
	wantCode(t, v.SetBootstrapLifetime(86401e9), EINVAL)
	wantCode(t, v.SetChallengeTTL(1e9), EINVAL)
	wantCode(t, v.SetMaxChainDepth(9), EINVAL)
	wantCode(t, v.SetKeyPolicy("dsa"), EINVAL)
	wantCode(t, v.SetMaxRequestSize(10), EINVAL)
	wantCode(t, v.SetRateLimit("planet", 1, 1), EINVAL)
	wantCode(t, v.SetHMACSecret([]byte("short")), EINVAL)
	must(t, v.SetHMACSecret(make([]byte, 32)))
}

func TestConcurrentHandle(t *testing.T) {
	p := newPKI(t)
	type dev struct {
		id   string
		cert string
		req  []byte
	}
	var devs []dev
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("par-%d", i)
		k, c := p.factoryDevice(t, id)
		_, err := p.v.Enroll(id, []byte(c), "", "")
		must(t, err)
		devs = append(devs, dev{id, c, p.bootstrapRequest(t, id, k, c)})
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(devs))
	for i, d := range devs {
		wg.Add(1)
		go func(i int, d dev) {
			defer wg.Done()
			r, err := p.v.Handle("bootstrap", d.req, []byte(d.cert))
			if err == nil {
				statuses[i] = r.Status
			}
		}(i, d)
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("%s: status %d", devs[i].id, s)
		}
	}
}

func TestLoadVerifier(t *testing.T) {
	p := newPKI(t)
	d := t.TempDir()
	files := map[string]string{"anchors.pem": p.mfgRoot.CertPEM, "issuers.pem": p.mfgIssuing.CertPEM,
		"ca.pem": p.deviceRoot.CertPEM, "ca.key": p.deviceRoot.KeyPEM,
		"v.json": `{"trust_anchors":"anchors.pem","issuers":"issuers.pem",` +
			`"device_ca":{"cert":"ca.pem","key":"ca.key"},"store":"sqlite:reg.db"}`,
		"bad.json": `{"no_such_key":1}`}
	for name, text := range files {
		must(t, os.WriteFile(filepath.Join(d, name), []byte(text), 0o600))
	}
	v, err := LoadVerifier(filepath.Join(d, "v.json"))
	must(t, err)
	defer v.Close()
	_, cert := p.factoryDevice(t, "dev-c")
	code, err := v.Enroll("dev-c", []byte(cert), "", "")
	must(t, err)
	if !claimCode.MatchString(code) {
		t.Fatalf("claim code %q", code)
	}
	_, err = LoadVerifier(filepath.Join(d, "bad.json"))
	wantCode(t, err, EPARSE)
}

// The approval hook from several goroutines at once: it approves some
// devices and refuses others; a hook that fails denies (fail closed).
func TestApprovalHook(t *testing.T) {
	p := newPKI(t)
	type dev struct {
		id   string
		cert string
		req  []byte
	}
	var devs []dev
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("hook-%d", i)
		key, cert := p.factoryDevice(t, id)
		_, err := p.v.Enroll(id, []byte(cert), "", "")
		must(t, err)
		devs = append(devs, dev{id, cert, p.bootstrapRequest(t, id, key, cert)})
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	must(t, p.v.SetHook(func(ctx map[string]interface{}) (map[string]interface{}, error) {
		id, _ := ctx["device_id"].(string)
		mu.Lock()
		seen[id] = true
		mu.Unlock()
		switch id {
		case "hook-0", "hook-2", "hook-4":
			return map[string]interface{}{"decision": "allow"}, nil
		case "hook-5":
			return nil, fmt.Errorf("the approval service is down")
		}
		return map[string]interface{}{"decision": "deny", "message": "odd devices wait"}, nil
	}, 5*time.Second))
	before, _ := p.store.CertCount()
	results := make([]*Response, len(devs))
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func(i int, d dev) {
			defer wg.Done()
			r, err := p.v.Handle("bootstrap", d.req, []byte(d.cert))
			if err == nil {
				results[i] = r
			}
		}(i, d)
	}
	wg.Wait()
	must(t, p.v.SetHook(nil, 0))
	for i, r := range results {
		if r == nil {
			t.Fatalf("%s: no answer", devs[i].id)
		}
		switch i {
		case 0, 2, 4:
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", devs[i].id, r.Status, r.Body)
			}
		case 5:
			if e := r.Error(); r.Status != 503 || e == nil || e.Code != "approval_failed" {
				t.Fatalf("%s: %d %s", devs[i].id, r.Status, r.Body)
			}
		default:
			if e := r.Error(); r.Status != 403 || e == nil || e.Code != "approval_denied" ||
				e.Message != "odd devices wait" {
				t.Fatalf("%s: %d %s", devs[i].id, r.Status, r.Body)
			}
		}
	}
	if n, _ := p.store.CertCount(); n != before+3 {
		t.Fatalf("certificates %d -> %d", before, n)
	}
	if len(seen) != 6 {
		t.Fatalf("hook saw %v", seen)
	}
}

// A bootstrap certificate of the device CA a rollover replaces: a stranger
// to a verifier with a new active CA, accepted once added, refused again
// once retired; the trust bundle reaches the answers.
func TestDeviceCARollover(t *testing.T) {
	p := newPKI(t)
	key, cert := p.factoryDevice(t, "dev-roll")
	_, err := p.v.Enroll("dev-roll", []byte(cert), "", "")
	must(t, err)
	r, err := p.v.Handle("bootstrap", p.bootstrapRequest(t, "dev-roll", key, cert), []byte(cert))
	must(t, err)
	if r.Status != 200 {
		t.Fatalf("bootstrap: %d %s", r.Status, r.Body)
	}
	var issued struct {
		Certificate string   `json:"certificate"`
		TrustBundle []string `json:"trust_bundle"`
	}
	must(t, json.Unmarshal(r.Body, &issued))
	boot := []byte(issued.Certificate)
	reg := []byte(`{"device_type":"sensor","firmware_version":"1.0","capabilities":["mqtt"]}`)
	refused := func(what string) {
		t.Helper()
		r, err := p.v.Handle("register", reg, boot)
		must(t, err)
		if r.Status != 401 || !strings.Contains(string(r.Body), `"untrusted_certificate"`) {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}

	root2, err := CreateRoot("/CN=Fleet Device CA 2", "", 3650)
	must(t, err)
	ca2, err := LoadCA(root2.CertPEM, root2.KeyPEM, "", "")
	must(t, err)
	must(t, ca2.SetStore(p.store))
	must(t, p.v.SetCA(ca2))
	refused("new CA alone")

	old := []byte(p.deviceRoot.CertPEM)
	must(t, p.v.AddDeviceCA(old))
	wantCode(t, p.v.AddDeviceCA(old), EEXISTS)
	wantCode(t, p.v.AddDeviceCA([]byte("not a certificate")), EPARSE)
	r, err = p.v.Handle("register", reg, boot)
	must(t, err)
	if r.Status != 200 {
		t.Fatalf("register with the old CA accepted: %d %s", r.Status, r.Body)
	}

	must(t, p.v.SetTrustBundle([]byte(root2.CertPEM)))
	r, err = p.v.Handle("credentials", []byte(`{"csr":`+strconv.Quote(string(csrFor(t, newKey(t), "x")))+`}`), boot)
	must(t, err)
	must(t, json.Unmarshal(r.Body, &issued))
	if r.Status != 200 || len(issued.TrustBundle) != 1 || issued.TrustBundle[0] != root2.CertPEM {
		t.Fatalf("credentials with a bundle: %d %s", r.Status, r.Body)
	}
	must(t, p.v.SetTrustBundle(nil))
	r, err = p.v.Handle("credentials", []byte(`{"csr":`+strconv.Quote(string(csrFor(t, newKey(t), "x")))+`}`), boot)
	must(t, err)
	if r.Status != 200 || strings.Contains(string(r.Body), "trust_bundle") {
		t.Fatalf("credentials without a bundle: %d %s", r.Status, r.Body)
	}

	blk, _ := pem.Decode(old)
	fp := sha256.Sum256(blk.Bytes)
	must(t, p.v.RetireDeviceCA(hex.EncodeToString(fp[:])))
	wantCode(t, p.v.RetireDeviceCA(hex.EncodeToString(fp[:])), ENOTFOUND)
	refused("old CA retired")

	must(t, p.v.SetCA(p.deviceCA))
	ca2.Close()
}
