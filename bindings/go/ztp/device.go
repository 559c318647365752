// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stdlib.h>
#include <ztp/device.h>
*/
import "C"

import (
	"encoding/json"
	"regexp"
	"runtime"
	"time"
	"unsafe"
)

// Device is the device side: factory identity, server, state directory,
// retries. A Device belongs to one goroutine at a time.
type Device struct {
	h      handle
	events *eventReg // separate: the free function must not point back
}

// NewDevice creates a device handle with the library's defaults.
func NewDevice() (*Device, error) {
	var p *C.ztp_device
	if err := call(func() C.int { return C.ztp_device_new(&p) }); err != nil {
		return nil, err
	}
	ev := &eventReg{}
	d := &Device{events: ev}
	// The free function must not refer to d (see NewVerifier).
	d.h.init("device", unsafe.Pointer(p), func(p unsafe.Pointer) {
		C.ztp_device_free((*C.ztp_device)(p))
		ev.clear()
	})
	runtime.SetFinalizer(d, func(d *Device) { d.h.close() })
	return d, nil
}

// LoadDevice creates a device configured from a ztp-device.json(5) file.
func LoadDevice(path string) (*Device, error) {
	d, err := NewDevice()
	if err != nil {
		return nil, err
	}
	if err := d.LoadConfig(path); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the device and wipes its keys.
func (d *Device) Close() error {
	d.h.close()
	return nil
}

func (d *Device) do(f func(p *C.ztp_device) C.int) error {
	return d.h.with(func(p unsafe.Pointer) C.int { return f((*C.ztp_device)(p)) })
}

func (d *Device) str(s, what string, f func(p *C.ztp_device, c *C.char) C.int) error {
	cs, err := cstring(s, what)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return d.do(func(p *C.ztp_device) C.int { return f(p, cs) })
}

// LoadConfig replaces the configuration with a ztp-device.json(5) file.
func (d *Device) LoadConfig(path string) error {
	return d.str(path, "path", func(p *C.ztp_device, c *C.char) C.int { return C.ztp_device_load_config(p, c) })
}

// SetID sets the device ID (by default read from the factory certificate).
func (d *Device) SetID(id string) error {
	return d.str(id, "device_id", func(p *C.ztp_device, c *C.char) C.int { return C.ztp_device_set_id(p, c) })
}

var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// SetFactoryIdentity sets the factory key (a key source URI such as
// "file:PATH", "pkcs11:…" or "tpm2:handle=0x81XXXXXX", or a plain file
// name) and certificate file.
func (d *Device) SetFactoryIdentity(key, certPath string) error {
	if !uriScheme.MatchString(key) {
		key = "file:" + key
	}
	var a cargs
	defer a.free()
	k, err := a.add(key, "key", false)
	if err != nil {
		return err
	}
	c, err := a.add(certPath, "cert_path", false)
	if err != nil {
		return err
	}
	return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_set_factory_identity(p, k, c) })
}

// SetBaseURL sets the server's https base URL.
func (d *Device) SetBaseURL(url string) error {
	return d.str(url, "url", func(p *C.ztp_device, c *C.char) C.int { return C.ztp_device_set_base_url(p, c) })
}

// SetCAFile pins the CA bundle that authenticates the server.
func (d *Device) SetCAFile(path string) error {
	return d.str(path, "path", func(p *C.ztp_device, c *C.char) C.int { return C.ztp_device_set_ca_file(p, c) })
}

// SetKeyType sets the operational key type ("ec-p256", ...).
func (d *Device) SetKeyType(t string) error {
	return d.str(t, "key_type", func(p *C.ztp_device, c *C.char) C.int { return C.ztp_device_set_key_type(p, c) })
}

// SetStateDir sets the credential directory.
func (d *Device) SetStateDir(path string) error {
	return d.str(path, "path", func(p *C.ztp_device, c *C.char) C.int { return C.ztp_device_set_state_dir(p, c) })
}

// SetKeyStore makes the device generate its keys in the PKCS#11 token
// that tokenURI names ("": key files), as objects labelled
// LABEL-KIND-SLOT (label "": "ztp").
func (d *Device) SetKeyStore(tokenURI, label string) error {
	var a cargs
	defer a.free()
	u, err := a.add(tokenURI, "token_uri", true)
	if err != nil {
		return err
	}
	l, err := a.add(label, "label", true)
	if err != nil {
		return err
	}
	return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_set_key_store(p, u, l) })
}

// SetTimeouts sets the per-attempt connect and total timeouts.
func (d *Device) SetTimeouts(connect, total time.Duration) error {
	return d.do(func(p *C.ztp_device) C.int {
		return C.ztp_device_set_timeouts(p, C.int64_t(connect/time.Millisecond), C.int64_t(total/time.Millisecond))
	})
}

// SetRetry sets the retry policy of each request.
func (d *Device) SetRetry(maxAttempts int, baseDelay, maxDelay, maxRetryAfter time.Duration) error {
	return d.do(func(p *C.ztp_device) C.int {
		return C.ztp_device_set_retry(p, C.int(maxAttempts), C.int64_t(baseDelay/time.Millisecond),
			C.int64_t(maxDelay/time.Millisecond), C.int64_t(maxRetryAfter/time.Millisecond))
	})
}

// SetClock uses a fixed time, or the system clock for nil.
func (d *Device) SetClock(t *time.Time) error {
	return d.h.setFixedClock(unixPtr(t), func(p unsafe.Pointer, fn C.ztp_clock_fn, ctx unsafe.Pointer) C.int {
		return C.ztp_device_set_clock((*C.ztp_device)(p), fn, ctx)
	})
}

// SetEventCallback receives one event per step and HTTP attempt, or stops
// with nil.
func (d *Device) SetEventCallback(fn EventFunc) error {
	return d.events.set(fn, func(f C.ztp_event_fn, ctx unsafe.Pointer) error {
		return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_set_event_callback(p, f, ctx) })
	})
}

// Bootstrap obtains and stores a bootstrap certificate.
func (d *Device) Bootstrap() error {
	return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_bootstrap(p) })
}

// Register sends the configured registration with the bootstrap
// credential.
func (d *Device) Register() error {
	return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_register(p) })
}

// Credentials obtains the long-lived operational credential.
func (d *Device) Credentials() error {
	return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_credentials(p) })
}

// Rotate rotates the operational credential; the new one is probed before
// it becomes current.
func (d *Device) Rotate() error {
	return d.do(func(p *C.ztp_device) C.int { return C.ztp_device_rotate(p) })
}

// Assignment is the device's tenant binding as the server reports it.
type Assignment struct {
	Tenant    *string         `json:"tenant"`
	Namespace *string         `json:"namespace"`
	Policy    json.RawMessage `json:"policy"`
}

// Assignment fetches the device's assignment with its operational
// credential.
func (d *Device) Assignment() (*Assignment, error) {
	var out *C.char
	err := d.do(func(p *C.ztp_device) C.int { return C.ztp_device_assignment(p, &out) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var a Assignment
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Run does whatever the device still needs and returns the actions taken
// ("bootstrap", "register", "credentials", "rotate").
func (d *Device) Run() ([]string, error) {
	var out *C.char
	err := d.do(func(p *C.ztp_device) C.int { return C.ztp_device_run(p, &out) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var r struct {
		Actions []string `json:"actions"`
	}
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return nil, err
	}
	return r.Actions, nil
}

// Credential describes one stored credential.
type Credential struct {
	Slot        string  `json:"slot"`
	DeviceID    string  `json:"device_id"`
	Serial      string  `json:"serial"`
	NotBefore   string  `json:"not_before"`
	NotAfter    string  `json:"not_after"`
	Expired     bool    `json:"expired"`
	Fingerprint string  `json:"fingerprint"`
	Tenant      *string `json:"tenant"`
}

// DeviceStatus describes the stored credentials.
type DeviceStatus struct {
	DeviceID    *string `json:"device_id"`
	StateDir    string  `json:"state_dir"`
	Credentials struct {
		Bootstrap   *Credential `json:"bootstrap"`
		Operational *Credential `json:"operational"`
	} `json:"credentials"`
}

// Status reads the stored credentials without contacting the server.
func (d *Device) Status() (*DeviceStatus, error) {
	var out *C.char
	err := d.do(func(p *C.ztp_device) C.int { return C.ztp_device_status(p, &out) })
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var st DeviceStatus
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return nil, err
	}
	return &st, nil
}
