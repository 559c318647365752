// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"strings"
	"testing"
	"time"
)

func defaultPolicy(t *testing.T) *Policy {
	t.Helper()
	doc, err := DefaultPolicyDocument()
	must(t, err)
	p, err := NewPolicy()
	must(t, err)
	t.Cleanup(func() { p.Close() })
	must(t, p.Load([]byte(doc)))
	return p
}

func TestPolicyDecisions(t *testing.T) {
	p := defaultPolicy(t)
	cases := []struct {
		action int
		topic  string
		client string
		want   bool
	}{
		{ActionPublish, "tenants/acme/devices/dev-1/telemetry", "", true},
		{ActionSubscribe, "tenants/acme/devices/dev-1/#", "", true},
		{ActionPublish, "tenants/globex/devices/dev-1/x", "", false},
		{ActionPublish, "tenants/acme/devices/dev-2/x", "", false},
		{ActionSubscribe, "tenants/+/devices/#", "", false},
		{ActionConnect, "dev-1", "dev-1", true},
		{ActionConnect, "dev-2", "dev-2", false},
	}
	for _, c := range cases {
		got, err := p.Authorize("acme", "dev-1", c.client, c.action, c.topic)
		must(t, err)
		if got != c.want {
			t.Errorf("%d %s: %v, want %v", c.action, c.topic, got, c.want)
		}
	}
	_, err := p.Authorize("acme", "dev-1", "", ActionPublish, "a/+/b")
	wantCode(t, err, EINVAL)
	a, err := ParseAction("receive")
	must(t, err)
	if a != ActionReceive {
		t.Fatal("action")
	}
	ex, err := p.Explain("acme", "dev-1", "", ActionPublish, "tenants/globex/x")
	must(t, err)
	if ex.Decision != "deny" || ex.Reason == "" {
		t.Fatalf("explain %+v", ex)
	}
	st, err := p.Stats()
	must(t, err)
	if st["loaded"] != true {
		t.Fatalf("stats %v", st)
	}
	out, err := p.Export("aws-iot", "acme")
	must(t, err)
	if !strings.Contains(out, "tenants/acme/") {
		t.Fatalf("export %s", out)
	}
	wantCode(t, p.Load([]byte(`{"Statement":5}`)), EPARSE)
	if ok, _ := p.Authorize("acme", "dev-1", "", ActionPublish, "tenants/acme/devices/dev-1/x"); ok {
		t.Fatal("a failed load kept the old policy")
	}
}

func TestNamespace(t *testing.T) {
	ns, err := DeviceNamespace("acme", "dev-1")
	must(t, err)
	if ns.Prefix != "tenants/acme/devices/dev-1/" || ns.Filter != "tenants/acme/devices/dev-1/#" {
		t.Fatalf("namespace %+v", ns)
	}
	_, err = DeviceNamespace("ac/me", "dev-1")
	wantCode(t, err, EINVAL)
}

func TestIdentityFromCert(t *testing.T) {
	ca, _ := testCA(t)
	iss, err := ca.Issue(csrFor(t, newKey(t), "x"), "dev-1", "acme", ProfileOperational, 0)
	must(t, err)
	caPEM, err := ca.CertPEM()
	must(t, err)
	p, err := NewPolicy()
	must(t, err)
	defer p.Close()
	_, err = p.IdentityFromCert([]byte(iss.CertPEM))
	wantCode(t, err, ESTATE)
	must(t, p.AddCAPEM([]byte(caPEM)))
	id, err := p.IdentityFromCert([]byte(iss.CertPEM))
	must(t, err)
	if id.Device != "dev-1" || id.Tenant == nil || *id.Tenant != "acme" {
		t.Fatalf("identity %+v", id)
	}
	// Two years on, the certificate has expired.
	later := time.Now().Add(2 * 365 * 24 * time.Hour)
	must(t, p.SetClock(&later))
	_, err = p.IdentityFromCert([]byte(iss.CertPEM))
	wantCode(t, err, EEXPIRED)
}
