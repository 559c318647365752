// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stdlib.h>
#include <ztp/ca.h>
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// Issuance profiles.
const (
	ProfileFactory     = "factory"
	ProfileBootstrap   = "bootstrap"
	ProfileOperational = "operational"
	ProfileServer      = "server"
)

// KeyPair is a newly created CA: its certificate and private key, PEM.
// The key is wiped from library memory; Go strings cannot be wiped, so keep
// it no longer than needed.
type KeyPair struct {
	CertPEM string
	KeyPEM  string
}

// Issued is a certificate issued by CA.Issue.
type Issued struct {
	CertPEM  string
	Serial   string // lowercase hex
	NotAfter time.Time
}

// ServerIssued is a TLS server certificate issued by CA.IssueServer, with
// its fresh private key (KeyPEM, "" when it was issued for a CSR).
type ServerIssued struct {
	CertPEM  string
	KeyPEM   string
	Serial   string // lowercase hex
	NotAfter time.Time
}

// ReasonFromName maps an RFC 5280 reason name ("keyCompromise") to its
// code.
func ReasonFromName(name string) (int, error) {
	cn, err := cstring(name, "name")
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(cn))
	var r C.int
	err = call(func() C.int { return C.ztp_ca_reason_from_name(&r, cn) })
	return int(r), err
}

// ReasonName is the RFC 5280 name of a reason code, "" for refused codes.
func ReasonName(reason int) string {
	p := C.ztp_ca_reason_name(C.int(reason))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

func takePair(cert, key *C.char) KeyPair {
	return KeyPair{CertPEM: takeString(cert), KeyPEM: takeSecret(key)}
}

// CreateRoot creates a self-signed root CA. keyType "" means ec-p256.
func CreateRoot(subject, keyType string, days int) (KeyPair, error) {
	var a cargs
	defer a.free()
	sub, err := a.add(subject, "subject", false)
	if err != nil {
		return KeyPair{}, err
	}
	kt, err := a.add(keyType, "key_type", true)
	if err != nil {
		return KeyPair{}, err
	}
	var cert, key *C.char
	err = call(func() C.int { return C.ztp_ca_create_root(&cert, &key, sub, kt, C.int(days)) })
	kp := takePair(cert, key)
	return kp, err
}

// CA is a loaded certificate authority. Once configured it is safe for
// concurrent use.
type CA struct {
	h     handle
	store *Store
}

func newCA() (*CA, error) {
	var p *C.ztp_ca
	if err := call(func() C.int { return C.ztp_ca_new(&p) }); err != nil {
		return nil, err
	}
	ca := &CA{}
	ca.h.init("CA", unsafe.Pointer(p), func(p unsafe.Pointer) { C.ztp_ca_free((*C.ztp_ca)(p)) })
	runtime.SetFinalizer(ca, func(ca *CA) { ca.h.close() })
	return ca, nil
}

// LoadCA loads a CA from PEM text; chainPEM and passphrase may be "".
func LoadCA(certPEM, keyPEM, chainPEM, passphrase string) (*CA, error) {
	return loadCA(certPEM, keyPEM, chainPEM, passphrase, "pem",
		func(p *C.ztp_ca, c, k, ch, pw *C.char) C.int { return C.ztp_ca_load(p, c, k, ch, pw) })
}

// LoadCAFiles loads a CA from PEM files; chainPath and passphrase may be "".
func LoadCAFiles(certPath, keyPath, chainPath, passphrase string) (*CA, error) {
	return loadCA(certPath, keyPath, chainPath, passphrase, "path",
		func(p *C.ztp_ca, c, k, ch, pw *C.char) C.int { return C.ztp_ca_load_files(p, c, k, ch, pw) })
}

// loadCA runs one of the two C loaders on a new CA. kind ("pem" or "path")
// completes the C parameter names that conversion errors report.
func loadCA(cert, key, chain, passphrase, kind string, load func(p *C.ztp_ca, c, k, ch, pw *C.char) C.int) (*CA, error) {
	var a cargs
	defer a.free()
	c, err := a.add(cert, "cert_"+kind, false)
	if err != nil {
		return nil, err
	}
	k, err := a.add(key, "key_"+kind, false)
	if err != nil {
		return nil, err
	}
	ch, err := a.add(chain, "chain_"+kind, true)
	if err != nil {
		return nil, err
	}
	pw, err := a.add(passphrase, "passphrase", true)
	if err != nil {
		return nil, err
	}
	ca, err := newCA()
	if err != nil {
		return nil, err
	}
	if err := ca.do(func(p *C.ztp_ca) C.int { return load(p, c, k, ch, pw) }); err != nil {
		ca.Close()
		return nil, err
	}
	return ca, nil
}

// Close releases the CA and the store it borrowed.
func (ca *CA) Close() error {
	ca.h.close()
	return nil
}

func (ca *CA) do(f func(p *C.ztp_ca) C.int) error {
	return ca.h.with(func(p unsafe.Pointer) C.int { return f((*C.ztp_ca)(p)) })
}

// SetStore records issuances in s (kept alive by the CA), or nil to unset.
func (ca *CA) SetStore(s *Store) error {
	if s == nil {
		if err := ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_set_store(p, nil) }); err != nil {
			return err
		}
	} else {
		sp, err := s.h.acquire()
		if err != nil {
			return err
		}
		err = ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_set_store(p, (*C.ztp_store)(sp)) })
		if err != nil {
			s.h.release()
			return err
		}
		ca.h.held = append(ca.h.held, &s.h)
	}
	if ca.store != nil {
		ca.h.unhold(&ca.store.h)
	}
	ca.store = s
	return nil
}

// Store is the store set with SetStore.
func (ca *CA) Store() *Store { return ca.store }

// SetKeyPolicy sets the CSR keys accepted, e.g. "ec-p256,ed25519".
func (ca *CA) SetKeyPolicy(spec string) error {
	cs, err := cstring(spec, "spec")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_set_key_policy(p, cs) })
}

// SetClock uses a fixed time, or the system clock for nil.
func (ca *CA) SetClock(t *time.Time) error {
	return ca.h.setFixedClock(unixPtr(t), func(p unsafe.Pointer, fn C.ztp_clock_fn, ctx unsafe.Pointer) C.int {
		return C.ztp_ca_set_clock((*C.ztp_ca)(p), fn, ctx)
	})
}

// CreateSub creates a subordinate CA signed by this one; pathlen -1 for no
// constraint.
func (ca *CA) CreateSub(subject, keyType string, days, pathlen int) (KeyPair, error) {
	var a cargs
	defer a.free()
	sub, err := a.add(subject, "subject", false)
	if err != nil {
		return KeyPair{}, err
	}
	kt, err := a.add(keyType, "key_type", true)
	if err != nil {
		return KeyPair{}, err
	}
	var cert, key *C.char
	err = ca.do(func(p *C.ztp_ca) C.int {
		return C.ztp_ca_create_sub(p, &cert, &key, sub, kt, C.int(days), C.int(pathlen))
	})
	return takePair(cert, key), err
}

// Issue issues a certificate from a PEM CSR under profile; tenant may be
// ""; a zero lifetime means the profile's default.
func (ca *CA) Issue(csrPEM []byte, deviceID, tenant, profile string, lifetime time.Duration) (*Issued, error) {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return nil, err
	}
	t, err := a.add(tenant, "tenant", true)
	if err != nil {
		return nil, err
	}
	pr, err := a.add(profile, "profile", false)
	if err != nil {
		return nil, err
	}
	var cert, serial *C.char
	var notAfter C.int64_t
	err = ca.do(func(p *C.ztp_ca) C.int {
		return C.ztp_ca_issue_ex(p, &cert, &serial, &notAfter, bytesPtr(csrPEM), C.size_t(len(csrPEM)), id, t, pr, C.int64_t(lifetime/time.Second))
	})
	certPEM, serialHex := takeString(cert), takeString(serial)
	if err != nil {
		return nil, err
	}
	return &Issued{CertPEM: certPEM, Serial: serialHex, NotAfter: time.Unix(int64(notAfter), 0).UTC()}, nil
}

// IssueServer issues a TLS server certificate (profile "server") naming
// exactly the DNS names dns and IP addresses ip, nothing from the CSR. With
// a nil csrPEM a fresh key of keyType ("" means ec-p256) is made and
// returned; keyType must be "" with a CSR. A zero lifetime means 90 days;
// at most 398 days.
func (ca *CA) IssueServer(csrPEM []byte, keyType string, dns, ip []string, lifetime time.Duration) (*ServerIssued, error) {
	var a cargs
	defer a.free()
	if dns == nil {
		dns = []string{}
	}
	if ip == nil {
		ip = []string{}
	}
	doc, err := json.Marshal(map[string][]string{"dns": dns, "ip": ip})
	if err != nil {
		return nil, argError("names: %v", err)
	}
	names, err := a.add(string(doc), "names", false)
	if err != nil {
		return nil, err
	}
	kt, err := a.add(keyType, "key_type", true)
	if err != nil {
		return nil, err
	}
	var cert, key, serial *C.char
	var notAfter C.int64_t
	keyOut := &key
	if csrPEM != nil {
		keyOut = nil
	}
	err = ca.do(func(p *C.ztp_ca) C.int {
		return C.ztp_ca_issue_server(p, &cert, keyOut, &serial, &notAfter, bytesPtr(csrPEM), C.size_t(len(csrPEM)), kt, names, C.int64_t(lifetime/time.Second))
	})
	certPEM, keyPEM, serialHex := takeString(cert), takeSecret(key), takeString(serial)
	if err != nil {
		return nil, err
	}
	return &ServerIssued{CertPEM: certPEM, KeyPEM: keyPEM, Serial: serialHex, NotAfter: time.Unix(int64(notAfter), 0).UTC()}, nil
}

// Revoke revokes a recorded certificate with an RFC 5280 reason code.
func (ca *CA) Revoke(serial string, reason int) error {
	cs, err := cstring(serial, "serial")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_revoke(p, cs, C.int(reason)) })
}

// CRL produces a signed PEM CRL; nextUpdateHours 0 means 168.
func (ca *CA) CRL(nextUpdateHours int) (string, error) {
	var out *C.char
	err := ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_crl(p, &out, C.int(nextUpdateHours)) })
	return takeString(out), err
}

// CertPEM is the CA's own certificate.
func (ca *CA) CertPEM() (string, error) {
	var out *C.char
	err := ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_cert_pem(p, &out) })
	return takeString(out), err
}

// ChainPEM is the CA certificate followed by its chain.
func (ca *CA) ChainPEM() (string, error) {
	var out *C.char
	err := ca.do(func(p *C.ztp_ca) C.int { return C.ztp_ca_chain_pem(p, &out) })
	return takeString(out), err
}
