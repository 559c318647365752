// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stdlib.h>
#include <ztp/policy.h>
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// MQTT actions a policy statement allows or denies.
const (
	ActionConnect   = 1
	ActionPublish   = 2
	ActionSubscribe = 3
	ActionReceive   = 4
)

// ParseAction maps "connect", "publish", "subscribe", "receive" to an
// action.
func ParseAction(name string) (int, error) {
	cn, err := cstring(name, "name")
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(cn))
	var a C.int
	err = call(func() C.int { return C.ztp_policy_action_parse(&a, cn) })
	return int(a), err
}

// Namespace is a device's topic namespace.
type Namespace struct {
	Tenant    string `json:"tenant"`
	Device    string `json:"device"`
	Prefix    string `json:"prefix"`
	Filter    string `json:"filter"`
	Broadcast string `json:"broadcast"`
}

// DeviceNamespace returns the topic namespace of a device.
func DeviceNamespace(tenant, device string) (*Namespace, error) {
	var a cargs
	defer a.free()
	t, err := a.add(tenant, "tenant", false)
	if err != nil {
		return nil, err
	}
	d, err := a.add(device, "device", false)
	if err != nil {
		return nil, err
	}
	var out *C.char
	err = call(func() C.int { return C.ztp_policy_namespace(&out, t, d) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var ns Namespace
	err = json.Unmarshal([]byte(text), &ns)
	return &ns, err
}

// DefaultPolicyDocument is the policy confining each device to its
// namespace, as JSON.
func DefaultPolicyDocument() (string, error) {
	var out *C.char
	err := call(func() C.int { return C.ztp_policy_default_document(&out) })
	return takeString(out), err
}

// Identity is the verified identity in a client certificate.
type Identity struct {
	Device string  `json:"device"`
	Tenant *string `json:"tenant"`
}

// Explanation is a decision explained.
type Explanation struct {
	Decision  string  `json:"decision"`
	Statement *string `json:"statement"`
	Index     *int    `json:"index"`
	Effect    *string `json:"effect"`
	Reason    string  `json:"reason"`
}

// Policy is a compiled MQTT policy plus the device CAs identities are read
// under. Decisions, loads and identity lookups are safe for concurrent use;
// AddCAPEM and SetClock configure the handle.
type Policy struct{ h handle }

// NewPolicy creates a handle with no policy (everything denied).
func NewPolicy() (*Policy, error) {
	var p *C.ztp_policy
	if err := call(func() C.int { return C.ztp_policy_new(&p) }); err != nil {
		return nil, err
	}
	pol := &Policy{}
	pol.h.init("policy", unsafe.Pointer(p), func(p unsafe.Pointer) { C.ztp_policy_free((*C.ztp_policy)(p)) })
	runtime.SetFinalizer(pol, func(pol *Policy) { pol.h.close() })
	return pol, nil
}

// Close releases the handle.
func (pol *Policy) Close() error {
	pol.h.close()
	return nil
}

func (pol *Policy) do(f func(p *C.ztp_policy) C.int) error {
	return pol.h.with(func(p unsafe.Pointer) C.int { return f((*C.ztp_policy)(p)) })
}

// SetClock uses a fixed time, or the system clock for nil.
func (pol *Policy) SetClock(t *time.Time) error {
	return pol.h.setFixedClock(unixPtr(t), func(p unsafe.Pointer, fn C.ztp_clock_fn, ctx unsafe.Pointer) C.int {
		return C.ztp_policy_set_clock((*C.ztp_policy)(p), fn, ctx)
	})
}

// AddCAPEM adds device CA certificates.
func (pol *Policy) AddCAPEM(pem []byte) error {
	return pol.do(func(p *C.ztp_policy) C.int { return C.ztp_policy_add_ca_pem(p, bytesPtr(pem), C.size_t(len(pem))) })
}

// Load compiles a policy document and makes it current. On failure the
// handle has no policy and denies everything.
func (pol *Policy) Load(doc []byte) error {
	return pol.do(func(p *C.ztp_policy) C.int { return C.ztp_policy_load(p, bytesPtr(doc), C.size_t(len(doc))) })
}

// LoadFile is Load on a file's contents.
func (pol *Policy) LoadFile(path string) error {
	cp, err := cstring(path, "path")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cp))
	return pol.do(func(p *C.ztp_policy) C.int { return C.ztp_policy_load_file(p, cp) })
}

// Authorize reports whether the identity may perform action on topic.
// tenant, device and clientID may be "" (unknown). A malformed topic or
// identity is returned as an error; treat it as a denial.
func (pol *Policy) Authorize(tenant, device, clientID string, action int, topic string) (bool, error) {
	var a cargs
	defer a.free()
	t, err := a.add(tenant, "tenant", true)
	if err != nil {
		return false, err
	}
	d, err := a.add(device, "device", true)
	if err != nil {
		return false, err
	}
	c, err := a.add(clientID, "client_id", true)
	if err != nil {
		return false, err
	}
	tb := []byte(topic)
	err = pol.do(func(p *C.ztp_policy) C.int {
		return C.ztp_policy_authorize(p, t, d, c, C.int(action), bytesPtr(tb), C.size_t(len(tb)))
	})
	if err == nil {
		return true, nil
	}
	if e, ok := err.(*Error); ok && e.Code == EDENIED {
		return false, nil
	}
	return false, err
}

// Explain explains the decision Authorize would make.
func (pol *Policy) Explain(tenant, device, clientID string, action int, topic string) (*Explanation, error) {
	var a cargs
	defer a.free()
	t, err := a.add(tenant, "tenant", true)
	if err != nil {
		return nil, err
	}
	d, err := a.add(device, "device", true)
	if err != nil {
		return nil, err
	}
	c, err := a.add(clientID, "client_id", true)
	if err != nil {
		return nil, err
	}
	tb := []byte(topic)
	var out *C.char
	err = pol.do(func(p *C.ztp_policy) C.int {
		return C.ztp_policy_explain(&out, p, t, d, c, C.int(action), bytesPtr(tb), C.size_t(len(tb)))
	})
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var ex Explanation
	err = json.Unmarshal([]byte(text), &ex)
	return &ex, err
}

// IdentityFromCert returns the verified identity a client certificate
// carries.
func (pol *Policy) IdentityFromCert(certPEM []byte) (*Identity, error) {
	var out *C.char
	err := pol.do(func(p *C.ztp_policy) C.int {
		return C.ztp_policy_identity_from_cert(&out, p, bytesPtr(certPEM), C.size_t(len(certPEM)))
	})
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var id Identity
	err = json.Unmarshal([]byte(text), &id)
	return &id, err
}

// Export returns the loaded policy for one tenant in another format
// ("aws-iot"), as JSON.
func (pol *Policy) Export(format, tenant string) (string, error) {
	var a cargs
	defer a.free()
	f, err := a.add(format, "format", false)
	if err != nil {
		return "", err
	}
	t, err := a.add(tenant, "tenant", false)
	if err != nil {
		return "", err
	}
	var out *C.char
	err = pol.do(func(p *C.ztp_policy) C.int { return C.ztp_policy_export(&out, p, f, t) })
	return takeString(out), err
}

// Stats describes the loaded policy and its compiled index.
func (pol *Policy) Stats() (map[string]interface{}, error) {
	var out *C.char
	err := pol.do(func(p *C.ztp_policy) C.int { return C.ztp_policy_stats(&out, p) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var m map[string]interface{}
	err = json.Unmarshal([]byte(text), &m)
	return m, err
}
