// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// lifecycleDevice is an enrolled device configured from a file with a
// registration; returns it and its claim code.
func lifecycleDevice(t *testing.T, p *pki, id, url, caFile string) (*Device, string) {
	t.Helper()
	key, cert := p.factoryDevice(t, id)
	d := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(d, "factory.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	must(t, os.WriteFile(filepath.Join(d, "factory.pem"), []byte(cert+p.mfgIssuing.CertPEM), 0o600))
	cfg, err := json.Marshal(map[string]interface{}{
		"factory_key": "file:factory.key", "factory_cert": "factory.pem",
		"base_url": url, "ca_file": caFile, "state_dir": "state",
		"retry": map[string]int{"max_attempts": 2, "base_delay_ms": 10, "max_delay_ms": 50},
		"registration": map[string]interface{}{"device_type": "sensor-v2",
			"firmware_version": "1.4.2", "capabilities": []string{"temperature"}},
	})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(d, "device.json"), cfg, 0o600))
	code, err := p.v.Enroll(id, []byte(cert), "", "")
	must(t, err)
	dev, err := LoadDevice(filepath.Join(d, "device.json"))
	must(t, err)
	t.Cleanup(func() { dev.Close() })
	return dev, code
}

func TestLifecycle(t *testing.T) {
	p := newPKI(t)
	srv, caFile := tlsServer(t, p)
	dev, code := lifecycleDevice(t, p, "dev-1", srv.URL, caFile)

	actions, err := dev.Run()
	must(t, err)
	if len(actions) < 3 || !reflect.DeepEqual(actions[:3], []string{"bootstrap", "register", "credentials"}) {
		t.Fatalf("actions %v", actions)
	}
	actions, err = dev.Run()
	must(t, err)
	if len(actions) != 0 {
		t.Fatalf("second run did %v", actions)
	}

	wantCode(t, p.v.Claim("dev-1", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", "acme"), EMISMATCH)
	must(t, p.v.Claim("dev-1", code, "acme"))
	wantCode(t, p.v.Claim("dev-1", code, "globex"), ENOTFOUND)

	_, err = dev.Run()
	must(t, err)
	st, err := dev.Status()
	must(t, err)
	op := st.Credentials.Operational
	if op == nil || op.Tenant == nil || *op.Tenant != "acme" {
		t.Fatalf("operational %+v", op)
	}
	a, err := dev.Assignment()
	must(t, err)
	if a.Tenant == nil || *a.Tenant != "acme" || a.Namespace == nil ||
		!strings.HasPrefix(*a.Namespace, "tenants/acme/devices/dev-1") {
		t.Fatalf("assignment %+v", a)
	}
	old := op.Serial
	must(t, dev.Rotate())
	st, err = dev.Status()
	must(t, err)
	if st.Credentials.Operational.Serial == old {
		t.Fatal("rotation kept the old certificate")
	}

	code2, err := p.v.Reset("dev-1")
	must(t, err)
	if code2 == "" || code2 == code {
		t.Fatalf("reset code %q", code2)
	}
	rec, err := p.store.CertGet(st.Credentials.Operational.Serial)
	must(t, err)
	if !rec.Revoked {
		t.Fatal("reset left the operational certificate valid")
	}
	_, err = dev.Run()
	must(t, err)
	must(t, p.v.Claim("dev-1", code2, "globex"))
	_, err = dev.Run()
	must(t, err)
	a, err = dev.Assignment()
	must(t, err)
	if a.Tenant == nil || *a.Tenant != "globex" {
		t.Fatalf("after reprovisioning %+v", a)
	}

	must(t, p.v.Revoke("dev-1"))
	must(t, p.v.Revoke("dev-1"))
	d, err := p.store.DeviceGet("dev-1")
	must(t, err)
	if d.State != StateRevoked {
		t.Fatalf("state %s", d.State)
	}
	if _, err := dev.Assignment(); !errors.Is(err, ErrDenied) {
		t.Fatalf("revoked device got an assignment: %v", err)
	}
}

func TestAdminValidation(t *testing.T) {
	p := newPKI(t)
	wantCode(t, p.v.Claim("ghost", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", "acme"), ENOTFOUND)
	_, err := p.v.Reset("ghost")
	wantCode(t, err, ENOTFOUND)
	wantCode(t, p.v.Revoke("bad/id"), EINVAL)
	wantCode(t, p.v.SetOperationalLifetime(10e9), EINVAL)
}
