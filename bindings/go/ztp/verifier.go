// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stdlib.h>
#include <ztp/verifier.h>
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// Response is what the verifier answers one request with.
type Response struct {
	Status int    // HTTP status
	Body   []byte // JSON body
}

// WireError is the error member of an error response.
type WireError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter *int   `json:"retry_after,omitempty"`
}

// Error decodes the body of an error response, or returns nil.
func (r *Response) Error() *WireError {
	var v struct {
		Error *WireError `json:"error"`
	}
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	return v.Error
}

// ErrorCodes lists every wire error code with its HTTP status.
func ErrorCodes() (map[string]int, error) {
	var out *C.char
	err := call(func() C.int { return C.ztp_verifier_error_codes(&out) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var list []struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return nil, err
	}
	m := make(map[string]int, len(list))
	for _, e := range list {
		m[e.Code] = e.Status
	}
	return m, nil
}

// Verifier is the server side of the protocol. Configure it (from a file or
// with the setters) before sharing it; then Handle, CheckCert, Enroll and
// Stats are safe for concurrent use.
type Verifier struct {
	h      handle
	ca     *CA
	store  *Store
	events *eventReg // separate: the free function must not point back
	hook   *hookReg
}

// NewVerifier creates a verifier with the library's defaults.
func NewVerifier() (*Verifier, error) {
	var p *C.ztp_verifier
	if err := call(func() C.int { return C.ztp_verifier_new(&p) }); err != nil {
		return nil, err
	}
	ev := &eventReg{}
	hk := &hookReg{}
	v := &Verifier{events: ev, hook: hk}
	// The free function must not refer to v: a finalizer never runs on
	// an object that references itself.
	v.h.init("verifier", unsafe.Pointer(p), func(p unsafe.Pointer) {
		C.ztp_verifier_free((*C.ztp_verifier)(p))
		ev.clear()
		hk.clear()
	})
	runtime.SetFinalizer(v, func(v *Verifier) { v.h.close() })
	return v, nil
}

// LoadVerifier creates a verifier configured from a ztp-verify.json(5)
// file.
func LoadVerifier(path string) (*Verifier, error) {
	cp, err := cstring(path, "path")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cp))
	v, err := NewVerifier()
	if err != nil {
		return nil, err
	}
	if err := v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_load_config(p, cp) }); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Close releases the verifier (after requests in progress) and what it
// borrowed.
func (v *Verifier) Close() error {
	v.h.close()
	return nil
}

func (v *Verifier) do(f func(p *C.ztp_verifier) C.int) error {
	return v.h.with(func(p unsafe.Pointer) C.int { return f((*C.ztp_verifier)(p)) })
}

func (v *Verifier) borrow(other *handle, set func(p *C.ztp_verifier, o unsafe.Pointer) C.int) error {
	if other == nil {
		return v.do(func(p *C.ztp_verifier) C.int { return set(p, nil) })
	}
	op, err := other.acquire()
	if err != nil {
		return err
	}
	if err := v.do(func(p *C.ztp_verifier) C.int { return set(p, op) }); err != nil {
		other.release()
		return err
	}
	v.h.held = append(v.h.held, other)
	return nil
}

// SetCA sets the device CA (kept alive by the verifier).
func (v *Verifier) SetCA(ca *CA) error {
	var h *handle
	if ca != nil {
		h = &ca.h
	}
	if err := v.borrow(h, func(p *C.ztp_verifier, o unsafe.Pointer) C.int {
		return C.ztp_verifier_set_ca(p, (*C.ztp_ca)(o))
	}); err != nil {
		return err
	}
	if v.ca != nil {
		v.h.unhold(&v.ca.h)
	}
	v.ca = ca
	return nil
}

// SetStore sets the registry (kept alive by the verifier).
func (v *Verifier) SetStore(s *Store) error {
	var h *handle
	if s != nil {
		h = &s.h
	}
	if err := v.borrow(h, func(p *C.ztp_verifier, o unsafe.Pointer) C.int {
		return C.ztp_verifier_set_store(p, (*C.ztp_store)(o))
	}); err != nil {
		return err
	}
	if v.store != nil {
		v.h.unhold(&v.store.h)
	}
	v.store = s
	return nil
}

// SetTrustAnchors sets the manufacturer roots (PEM).
func (v *Verifier) SetTrustAnchors(pem []byte) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_trust_anchors(p, bytesPtr(pem), C.size_t(len(pem)))
	})
}

// SetIssuers sets the CAs allowed to sign factory certificates (PEM).
func (v *Verifier) SetIssuers(pem []byte) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_issuers(p, bytesPtr(pem), C.size_t(len(pem)))
	})
}

// AddDeviceCA accepts the certificates of another device CA (PEM, its
// certificate only) besides those of the active one: the CA a rollover
// replaces (device_ca_previous in ztp-verify.json).
func (v *Verifier) AddDeviceCA(pem []byte) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_add_device_ca(p, bytesPtr(pem), C.size_t(len(pem)))
	})
}

// RetireDeviceCA refuses the certificates of a device CA added with
// AddDeviceCA, named by the SHA-256 of its DER in hex.
func (v *Verifier) RetireDeviceCA(fingerprint string) error {
	cs, err := cstring(fingerprint, "fingerprint")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_retire_device_ca(p, cs) })
}

// SetTrustBundle sets the CA certificates (1..8, PEM) devices are handed
// as trust_bundle; nil hands none.
func (v *Verifier) SetTrustBundle(pem []byte) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		if pem == nil {
			return C.ztp_verifier_set_trust_bundle(p, nil, 0)
		}
		return C.ztp_verifier_set_trust_bundle(p, bytesPtr(pem), C.size_t(len(pem)))
	})
}

// SetBootstrapLifetime sets the lifetime of bootstrap certificates.
func (v *Verifier) SetBootstrapLifetime(d time.Duration) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_bootstrap_lifetime(p, C.int64_t(d/time.Second))
	})
}

// SetOperationalLifetime sets the lifetime of operational certificates.
func (v *Verifier) SetOperationalLifetime(d time.Duration) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_operational_lifetime(p, C.int64_t(d/time.Second))
	})
}

// SetClockLeeway sets the clock-skew leeway.
func (v *Verifier) SetClockLeeway(d time.Duration) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_clock_leeway(p, C.int64_t(d/time.Second))
	})
}

// SetChallengeTTL sets how long a challenge stays valid.
func (v *Verifier) SetChallengeTTL(d time.Duration) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_challenge_ttl(p, C.int64_t(d/time.Second))
	})
}

// SetMaxChainDepth sets the most intermediates allowed.
func (v *Verifier) SetMaxChainDepth(depth int) error {
	return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_set_max_chain_depth(p, C.int(depth)) })
}

// SetKeyPolicy sets the CSR keys accepted.
func (v *Verifier) SetKeyPolicy(spec string) error {
	cs, err := cstring(spec, "spec")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_set_key_policy(p, cs) })
}

// SetMaxRequestSize sets the request body limit in bytes.
func (v *Verifier) SetMaxRequestSize(n int) error {
	if n < 0 {
		return argError("negative size")
	}
	return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_set_max_request_size(p, C.size_t(n)) })
}

// SetRateLimit configures the "device" or "global" token bucket; rate 0
// disables it.
func (v *Verifier) SetRateLimit(scope string, rate, burst float64) error {
	cs, err := cstring(scope, "scope")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_rate_limit(p, cs, C.double(rate), C.double(burst))
	})
}

// SetHMACSecret sets the secret shared by verifier instances.
func (v *Verifier) SetHMACSecret(secret []byte) error {
	return v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_hmac_secret(p, (*C.uint8_t)(unsafe.Pointer(bytesPtr(secret))), C.size_t(len(secret)))
	})
}

// SetClock uses a fixed time, or the system clock for nil.
func (v *Verifier) SetClock(t *time.Time) error {
	return v.h.setFixedClock(unixPtr(t), func(p unsafe.Pointer, fn C.ztp_clock_fn, ctx unsafe.Pointer) C.int {
		return C.ztp_verifier_set_clock((*C.ztp_verifier)(p), fn, ctx)
	})
}

// SetEventCallback receives one event per decision, or stops with nil.
func (v *Verifier) SetEventCallback(fn EventFunc) error {
	return v.events.set(fn, func(f C.ztp_event_fn, ctx unsafe.Pointer) error {
		return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_set_event_callback(p, f, ctx) })
	})
}

// Handle serves one request: endpoint name, body, and the PEM certificate
// the TLS client presented (nil if none).
func (v *Verifier) Handle(endpoint string, body, peerCertPEM []byte) (*Response, error) {
	ce, err := cstring(endpoint, "endpoint")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ce))
	var status C.int
	var out *C.char
	err = v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_handle(p, &status, &out, ce, bytesPtr(body), C.size_t(len(body)),
			bytesPtr(peerCertPEM), C.size_t(len(peerCertPEM)))
	})
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	return &Response{Status: int(status), Body: []byte(text)}, nil
}

// OCSP answers one DER OCSP request (ztp_verifier_ocsp(3)) with a DER
// OCSPResponse, an error response for a bad request.
func (v *Verifier) OCSP(request []byte) ([]byte, error) {
	var out *C.uint8_t
	var n C.size_t
	err := v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_ocsp(p, &out, &n, (*C.uint8_t)(unsafe.Pointer(bytesPtr(request))), C.size_t(len(request)))
	})
	if out == nil {
		return nil, err
	}
	resp := C.GoBytes(unsafe.Pointer(out), C.int(n))
	C.ztp_free(unsafe.Pointer(out))
	return resp, err
}

// CertCheck is the decision of CheckCert.
type CertCheck struct {
	Result      string `json:"result"` // "accepted" or "rejected"
	DeviceID    string `json:"device_id,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	NotBefore   string `json:"not_before,omitempty"`
	NotAfter    string `json:"not_after,omitempty"`
	Depth       int    `json:"depth,omitempty"`
	Code        string `json:"code,omitempty"`
	Message     string `json:"message,omitempty"`
}

// CheckCert checks a factory certificate without the registry. A decision
// (accepted or rejected) is returned with a nil error; the error is only
// set when no decision could be made. A zero at means the verifier's clock.
func (v *Verifier) CheckCert(certPEM, untrustedPEM []byte, at time.Time) (*CertCheck, error) {
	var when int64
	if !at.IsZero() {
		when = at.Unix()
	}
	var out *C.char
	err := v.do(func(p *C.ztp_verifier) C.int {
		rc := C.ztp_verifier_check_cert(p, &out, bytesPtr(certPEM), C.size_t(len(certPEM)),
			bytesPtr(untrustedPEM), C.size_t(len(untrustedPEM)), C.int64_t(when))
		if out != nil {
			return 0
		}
		return rc
	})
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var res CertCheck
	if err := json.Unmarshal([]byte(text), &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Enroll records a manufactured device and returns its one-time claim code.
func (v *Verifier) Enroll(deviceID string, certPEM []byte, model, batch string) (string, error) {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return "", err
	}
	m, err := a.add(model, "model", true)
	if err != nil {
		return "", err
	}
	b, err := a.add(batch, "batch", true)
	if err != nil {
		return "", err
	}
	var out *C.char
	err = v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_enroll(p, &out, id, bytesPtr(certPEM), C.size_t(len(certPEM)), m, b)
	})
	code := takeSecret(out)
	return code, err
}

// Claim activates a device: binds it to tenant with its one-time code.
func (v *Verifier) Claim(deviceID, claimCode, tenant string) error {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return err
	}
	c, err := a.add(claimCode, "claim_code", false)
	if err != nil {
		return err
	}
	t, err := a.add(tenant, "tenant", false)
	if err != nil {
		return err
	}
	return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_claim(p, id, c, t) })
}

// Reset reprovisions a device (tenant cleared, certificates revoked) and
// returns the claim code for its next owner.
func (v *Verifier) Reset(deviceID string) (string, error) {
	id, err := cstring(deviceID, "device_id")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(id))
	var out *C.char
	err = v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_reset(p, &out, id) })
	return takeSecret(out), err
}

// Revoke blocks a device for good and revokes its certificates.
func (v *Verifier) Revoke(deviceID string) error {
	id, err := cstring(deviceID, "device_id")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(id))
	return v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_revoke(p, id) })
}

// Metrics returns the Prometheus text exposition (format 0.0.4) of
// ztp_verifier_metrics(3).
func (v *Verifier) Metrics() (string, error) {
	var out *C.char
	err := v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_metrics(p, &out) })
	text := takeString(out)
	if err != nil {
		return "", err
	}
	return text, nil
}

// Stats returns the verifier's counters.
func (v *Verifier) Stats() (map[string]interface{}, error) {
	var out *C.char
	err := v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_stats(p, &out) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var m map[string]interface{}
	err = json.Unmarshal([]byte(text), &m)
	return m, err
}
