// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stdlib.h>
#include <ztp/store.h>
*/
import "C"

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// Device lifecycle states.
const (
	StateManufactured = "manufactured"
	StateBootstrapped = "bootstrapped"
	StateRegistered   = "registered"
	StateActive       = "active"
	StateReset        = "reset"
	StateRevoked      = "revoked"
)

// DeviceRecord is a device as the registry holds it.
type DeviceRecord struct {
	DeviceID       string          `json:"device_id"`
	Fingerprint    string          `json:"fingerprint"`
	Model          *string         `json:"model"`
	Batch          *string         `json:"batch"`
	ManufacturedAt int64           `json:"manufactured_at"`
	State          string          `json:"state"`
	Tenant         *string         `json:"tenant"`
	Info           json.RawMessage `json:"info"`
	UpdatedAt      int64           `json:"updated_at"`
	// FactoryKey is the factory key's SubjectPublicKeyInfo DER in
	// standard base64, nil until recorded.
	FactoryKey *string `json:"factory_key"`
	// Group is the enrollment group that enrolled the device, nil for
	// a device enrolled one by one.
	Group *string `json:"group"`
}

// CertRecord is an issued certificate as the registry holds it.
type CertRecord struct {
	Serial      string  `json:"serial"`
	DeviceID    *string `json:"device_id"`
	Profile     string  `json:"profile"`
	NotBefore   int64   `json:"not_before"`
	NotAfter    int64   `json:"not_after"`
	Fingerprint string  `json:"fingerprint"`
	IssuedAt    int64   `json:"issued_at"`
	Revoked     bool    `json:"revoked"`
	RevokedAt   *int64  `json:"revoked_at"`
	Reason      *int    `json:"reason"`
}

// Revocation is one entry of RevokedList.
type Revocation struct {
	Serial    string `json:"serial"`
	RevokedAt int64  `json:"revoked_at"`
	Reason    int    `json:"reason"`
}

// Event is one entry of the append-only event log.
type Event struct {
	Seq   int64           `json:"seq"`
	At    int64           `json:"at"`
	Event json.RawMessage `json:"event"`
}

// Store is the registry: devices, claim codes, certificates, challenges,
// events. It is safe for concurrent use.
type Store struct {
	h   handle
	URI string
}

// OpenStore opens a registry by URI: "memory:" or "sqlite:PATH".
func OpenStore(uri string) (*Store, error) {
	cu, err := cstring(uri, "uri")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cu))
	var p *C.ztp_store
	if err := call(func() C.int { return C.ztp_store_open(&p, cu) }); err != nil {
		return nil, err
	}
	s := &Store{URI: uri}
	s.h.init("store", unsafe.Pointer(p), func(p unsafe.Pointer) {
		C.ztp_store_free((*C.ztp_store)(p))
	})
	runtime.SetFinalizer(s, func(s *Store) { s.h.close() })
	return s, nil
}

// Close releases the store (once no CA or verifier borrows it any more).
func (s *Store) Close() error {
	s.h.close()
	return nil
}

func (s *Store) do(f func(p *C.ztp_store) C.int) error {
	return s.h.with(func(p unsafe.Pointer) C.int { return f((*C.ztp_store)(p)) })
}

func (s *Store) jsonOut(v interface{}, f func(p *C.ztp_store, out **C.char) C.int) error {
	var out *C.char
	err := s.do(func(p *C.ztp_store) C.int { return f(p, &out) })
	text := takeString(out)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(text), v)
}

// DeviceAdd records a manufactured device. model and batch may be "".
// A zero manufacturedAt means now.
func (s *Store) DeviceAdd(deviceID, fingerprint, model, batch string, manufacturedAt time.Time) error {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return err
	}
	fp, err := a.add(fingerprint, "fingerprint", false)
	if err != nil {
		return err
	}
	m, err := a.add(model, "model", true)
	if err != nil {
		return err
	}
	b, err := a.add(batch, "batch", true)
	if err != nil {
		return err
	}
	if manufacturedAt.IsZero() {
		manufacturedAt = time.Now()
	}
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_device_add(p, id, fp, m, b, C.int64_t(manufacturedAt.Unix()))
	})
}

// DeviceGet returns a device record.
func (s *Store) DeviceGet(deviceID string) (*DeviceRecord, error) {
	id, err := cstring(deviceID, "device_id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(id))
	var rec DeviceRecord
	err = s.jsonOut(&rec, func(p *C.ztp_store, out **C.char) C.int {
		return C.ztp_store_device_get(p, id, out)
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// DeviceSetState moves a device to newState if it is in expectedState
// ("" for any), binding it to tenant ("" to clear).
func (s *Store) DeviceSetState(deviceID, expectedState, newState, tenant string) error {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return err
	}
	ex, err := a.add(expectedState, "expected_state", true)
	if err != nil {
		return err
	}
	ns, err := a.add(newState, "new_state", false)
	if err != nil {
		return err
	}
	t, err := a.add(tenant, "tenant", true)
	if err != nil {
		return err
	}
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_device_set_state(p, id, ex, ns, t)
	})
}

// DeviceSetInfo attaches registration information (a JSON object).
func (s *Store) DeviceSetInfo(deviceID string, info interface{}) error {
	text, err := jsonText(info)
	if err != nil {
		return err
	}
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return err
	}
	ci, err := a.add(text, "info", false)
	if err != nil {
		return err
	}
	return s.do(func(p *C.ztp_store) C.int { return C.ztp_store_device_set_info(p, id, ci) })
}

// jsonText accepts a JSON document as string, []byte, json.RawMessage or
// any value to marshal.
func jsonText(v interface{}) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case []byte:
		return string(t), nil
	case json.RawMessage:
		return string(t), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", argError("cannot encode JSON: %v", err)
	}
	return string(b), nil
}

// ClaimSet sets the hash of a device's one-time claim code.
func (s *Store) ClaimSet(deviceID string, hash []byte) error {
	id, err := cstring(deviceID, "device_id")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(id))
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_claim_set(p, id, (*C.uint8_t)(unsafe.Pointer(bytesPtr(hash))), C.size_t(len(hash)))
	})
}

// ClaimTake consumes a claim and binds the device to tenant.
func (s *Store) ClaimTake(deviceID string, hash []byte, tenant string) error {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return err
	}
	t, err := a.add(tenant, "tenant", false)
	if err != nil {
		return err
	}
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_claim_take(p, id, (*C.uint8_t)(unsafe.Pointer(bytesPtr(hash))), C.size_t(len(hash)), t)
	})
}

// ClaimAttempt is ClaimTake behind the device's "claim" rate limit
// (rate tokens per second, burst), in one atomic step; the token stays
// spent whatever the outcome. ERATELIMIT when none is left.
func (s *Store) ClaimAttempt(deviceID string, hash []byte, tenant string, rate, burst float64, now int64) error {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return err
	}
	t, err := a.add(tenant, "tenant", false)
	if err != nil {
		return err
	}
	var retry C.int64_t
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_claim_attempt(p, id, (*C.uint8_t)(unsafe.Pointer(bytesPtr(hash))), C.size_t(len(hash)), t, C.double(rate), C.double(burst), C.int64_t(now), &retry)
	})
}

// DeviceSetFactoryKey records the device's factory key
// (SubjectPublicKeyInfo DER).
func (s *Store) DeviceSetFactoryKey(deviceID string, spki []byte) error {
	id, err := cstring(deviceID, "device_id")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(id))
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_device_set_factory_key(p, id, (*C.uint8_t)(unsafe.Pointer(bytesPtr(spki))), C.size_t(len(spki)))
	})
}

// CertAdd records an issued certificate; deviceID "" for none.
func (s *Store) CertAdd(serial, deviceID, profile string, notBefore, notAfter int64, fingerprint string) error {
	var a cargs
	defer a.free()
	se, err := a.add(serial, "serial", false)
	if err != nil {
		return err
	}
	id, err := a.add(deviceID, "device_id", true)
	if err != nil {
		return err
	}
	pr, err := a.add(profile, "profile", false)
	if err != nil {
		return err
	}
	fp, err := a.add(fingerprint, "fingerprint", false)
	if err != nil {
		return err
	}
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_cert_add(p, se, id, pr, C.int64_t(notBefore), C.int64_t(notAfter), fp)
	})
}

// CertGet returns a certificate record.
func (s *Store) CertGet(serial string) (*CertRecord, error) {
	se, err := cstring(serial, "serial")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(se))
	var rec CertRecord
	if err := s.jsonOut(&rec, func(p *C.ztp_store, out **C.char) C.int {
		return C.ztp_store_cert_get(p, se, out)
	}); err != nil {
		return nil, err
	}
	return &rec, nil
}

// CertRevoke revokes a certificate with an RFC 5280 reason code.
func (s *Store) CertRevoke(serial string, reason int, when time.Time) error {
	se, err := cstring(serial, "serial")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(se))
	if when.IsZero() {
		when = time.Now()
	}
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_cert_revoke(p, se, C.int(reason), C.int64_t(when.Unix()))
	})
}

// DeviceRevokeCerts revokes a device's certificates of the given profiles
// (all when none are given) and returns how many it revoked.
func (s *Store) DeviceRevokeCerts(deviceID string, profiles []string, reason int, when time.Time) (uint64, error) {
	var a cargs
	defer a.free()
	id, err := a.add(deviceID, "device_id", false)
	if err != nil {
		return 0, err
	}
	pr, err := a.add(strings.Join(profiles, ","), "profiles", true)
	if err != nil {
		return 0, err
	}
	if when.IsZero() {
		when = time.Now()
	}
	var n C.uint64_t
	err = s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_device_revoke_certs(p, id, pr, C.int(reason), C.int64_t(when.Unix()), &n)
	})
	return uint64(n), err
}

// RevokedList returns every revoked certificate, ordered by serial.
func (s *Store) RevokedList() ([]Revocation, error) {
	var v []Revocation
	err := s.jsonOut(&v, func(p *C.ztp_store, out **C.char) C.int {
		return C.ztp_store_revoked_list(p, out)
	})
	return v, err
}

// DeviceCerts returns a device's certificates, oldest first.
func (s *Store) DeviceCerts(deviceID string) ([]CertRecord, error) {
	id, err := cstring(deviceID, "device_id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(id))
	var v []CertRecord
	err = s.jsonOut(&v, func(p *C.ztp_store, out **C.char) C.int {
		return C.ztp_store_device_certs(p, id, out)
	})
	return v, err
}

// CertCount is the number of certificates recorded.
func (s *Store) CertCount() (uint64, error) {
	var n C.uint64_t
	err := s.do(func(p *C.ztp_store) C.int { return C.ztp_store_cert_count(p, &n) })
	return uint64(n), err
}

// ChallengeUse consumes a single-use challenge ID.
func (s *Store) ChallengeUse(id []byte, expiresAt, now int64) error {
	return s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_challenge_use(p, (*C.uint8_t)(unsafe.Pointer(bytesPtr(id))), C.size_t(len(id)), C.int64_t(expiresAt), C.int64_t(now))
	})
}

// EventAppend appends an event (a JSON object) to the log.
func (s *Store) EventAppend(event interface{}) error {
	text, err := jsonText(event)
	if err != nil {
		return err
	}
	ct, err := cstring(text, "event")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(ct))
	return s.do(func(p *C.ztp_store) C.int { return C.ztp_store_event_append(p, ct) })
}

// EventList returns at most max events with sequence number > after.
func (s *Store) EventList(after int64, max int) ([]Event, error) {
	if max < 1 {
		return nil, argError("max must be at least 1")
	}
	var v []Event
	err := s.jsonOut(&v, func(p *C.ztp_store, out **C.char) C.int {
		return C.ztp_store_event_list(p, C.int64_t(after), C.size_t(max), out)
	})
	return v, err
}

// CounterNext returns the next value of a named counter.
func (s *Store) CounterNext(name string) (uint64, error) {
	cn, err := cstring(name, "name")
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(cn))
	var n C.uint64_t
	err = s.do(func(p *C.ztp_store) C.int { return C.ztp_store_counter_next(p, cn, &n) })
	return uint64(n), err
}

// LimitTake takes a token from the bucket (scope, key) atomically: 0 when
// one was taken, else the seconds until one is back (nothing changed).
func (s *Store) LimitTake(scope, key string, rate, burst float64, now int64) (int64, error) {
	var a cargs
	defer a.free()
	cs, err := a.add(scope, "scope", false)
	if err != nil {
		return 0, err
	}
	ck, err := a.add(key, "key", false)
	if err != nil {
		return 0, err
	}
	var retry C.int64_t
	err = s.do(func(p *C.ztp_store) C.int {
		return C.ztp_store_limit_take(p, cs, ck, C.double(rate), C.double(burst), C.int64_t(now), &retry)
	})
	if errors.Is(err, ErrRateLimit) {
		return int64(retry), nil
	}
	return 0, err
}

// SetClock stamps records with a fixed time, or the system clock for nil.
// Configure it before the store is shared.
func (s *Store) SetClock(t *time.Time) error {
	return s.h.setFixedClock(unixPtr(t), func(p unsafe.Pointer, fn C.ztp_clock_fn, ctx unsafe.Pointer) C.int {
		return C.ztp_store_set_clock((*C.ztp_store)(p), fn, ctx)
	})
}

func unixPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	u := t.Unix()
	return &u
}
