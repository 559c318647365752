// SPDX-License-Identifier: Apache-2.0

// Package ztp is the Go binding of libztp, zero-touch secure provisioning
// for IoT fleets. It wraps the public C API (include/ztp/*.h) with cgo and
// finds the library through pkg-config (package "libztp").
//
// Every handle (Store, CA, Verifier, Device, Policy) has a Close method and
// a finalizer as a safety net. Handles documented as thread-safe by the C
// library may be shared between goroutines; Close waits for calls in
// progress, and a handle that another one borrows (a CA's Store) is only
// freed once the borrower is closed too.
//
// Failures are returned as *Error, carrying the library's status code, its
// stable name and the detail message; use errors.Is with the Err*
// sentinels to test for a code.
package ztp

/*
#cgo pkg-config: libztp
#include <stdlib.h>
#include <string.h>
#include <ztp/ztp.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Status codes of the C library (include/ztp/common.h). The list only
// grows; a published code is never renumbered.
const (
	OK           = 0
	EINVAL       = -1
	ENOMEM       = -2
	EIO          = -3
	EPARSE       = -4
	ETOOBIG      = -5
	ECRYPTO      = -6
	ENOTFOUND    = -7
	EEXISTS      = -8
	ESTORE       = -9
	EKEYPOLICY   = -10
	EBADSIG      = -11
	EUNTRUSTED   = -12
	EPROFILE     = -13
	EEXPIRED     = -14
	EREVOKED     = -15
	EMISMATCH    = -16
	EREPLAY      = -17
	ERATELIMIT   = -18
	ESTATE       = -19
	EUNSUPPORTED = -20
	ENETWORK     = -21
	EDENIED      = -22
	EINTERNAL    = -23
	ETOKEN       = -24
	EPIN         = -25
)

// Error is a failure reported by libztp.
type Error struct {
	Code    int    // a negative status code (EINVAL, ENOTFOUND, ...)
	Name    string // its stable snake_case name ("not_found", ...)
	Message string // the one-line detail of this failure
}

func (e *Error) Error() string {
	return e.Name + ": " + e.Message
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ztp.ErrNotFound) works whatever the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrInvalid     = &Error{Code: EINVAL, Name: "invalid_argument"}
	ErrIO          = &Error{Code: EIO, Name: "io_error"}
	ErrParse       = &Error{Code: EPARSE, Name: "malformed_input"}
	ErrTooBig      = &Error{Code: ETOOBIG, Name: "too_large"}
	ErrNotFound    = &Error{Code: ENOTFOUND, Name: "not_found"}
	ErrExists      = &Error{Code: EEXISTS, Name: "already_exists"}
	ErrKeyPolicy   = &Error{Code: EKEYPOLICY, Name: "key_policy"}
	ErrBadSig      = &Error{Code: EBADSIG, Name: "bad_signature"}
	ErrUntrusted   = &Error{Code: EUNTRUSTED, Name: "untrusted"}
	ErrProfile     = &Error{Code: EPROFILE, Name: "bad_profile"}
	ErrExpired     = &Error{Code: EEXPIRED, Name: "expired"}
	ErrRevoked     = &Error{Code: EREVOKED, Name: "revoked"}
	ErrMismatch    = &Error{Code: EMISMATCH, Name: "identity_mismatch"}
	ErrReplay      = &Error{Code: EREPLAY, Name: "replay"}
	ErrRateLimit   = &Error{Code: ERATELIMIT, Name: "rate_limited"}
	ErrState       = &Error{Code: ESTATE, Name: "invalid_state"}
	ErrUnsupported = &Error{Code: EUNSUPPORTED, Name: "unsupported"}
	ErrNetwork     = &Error{Code: ENETWORK, Name: "network_error"}
	ErrDenied      = &Error{Code: EDENIED, Name: "denied"}
)

// call runs one C call and, if it fails, reads the thread's error detail
// on the same OS thread (goroutines may otherwise move between threads
// between the two calls).
func call(f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc == 0 {
		return nil
	}
	return lastError(int(rc))
}

// lastError builds the *Error of a failed call; the caller's OS thread is
// locked.
func lastError(code int) error {
	msg := C.GoString(C.ztp_error_last_message())
	if int(C.ztp_error_last_code()) != code || msg == "" {
		// The detail belongs to another failure; do not attach it.
		msg = C.GoString(C.ztp_strerror(C.int(code)))
	}
	return &Error{Code: code, Name: StatusName(code), Message: msg}
}

func argError(format string, a ...interface{}) error {
	return &Error{Code: EINVAL, Name: "invalid_argument",
		Message: fmt.Sprintf(format, a...)}
}

// Version is the run-time library version, e.g. "0.1.0".
func Version() string { return C.GoString(C.ztp_version()) }

// VersionNum is the run-time library version as 0xMMmmpp.
func VersionNum() uint { return uint(C.ztp_version_num()) }

// StatusName is the stable snake_case name of a status code.
func StatusName(code int) string { return C.GoString(C.ztp_status_name(C.int(code))) }

// StatusText is the fixed English description of a status code.
func StatusText(code int) string { return C.GoString(C.ztp_strerror(C.int(code))) }

// Init initialises the library (optional; idempotent and thread-safe).
func Init() error { return call(func() C.int { return C.ztp_init() }) }

// ValidateID checks a device or tenant ID against the library's grammar.
func ValidateID(id string) error {
	b := []byte(id)
	return call(func() C.int { return C.ztp_id_validate(bytesPtr(b), C.size_t(len(b))) })
}

// ------------------------------------------------------------ conversions

// cstring converts a Go string to C; NUL bytes are refused because C
// would silently cut the string there.
func cstring(s, what string) (*C.char, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, argError("%s contains a NUL byte", what)
		}
	}
	return C.CString(s), nil
}

// cstrings converts several strings; "" stays NULL where optional[i].
type cargs struct{ ptrs []*C.char }

func (a *cargs) add(s, what string, optional bool) (*C.char, error) {
	if optional && s == "" {
		return nil, nil
	}
	p, err := cstring(s, what)
	if err != nil {
		return nil, err
	}
	a.ptrs = append(a.ptrs, p)
	return p, nil
}

func (a *cargs) free() {
	for _, p := range a.ptrs {
		C.free(unsafe.Pointer(p))
	}
	a.ptrs = nil
}

// bytesPtr points C at a byte slice's contents (no copy; the slice holds
// no Go pointers, so cgo allows it), or NULL for an empty slice.
func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}

// takeString copies a library-allocated string and frees it.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.ztp_free(unsafe.Pointer(p))
	return s
}

// takeSecret copies, wipes and frees a library-allocated secret.
func takeSecret(p *C.char) string {
	if p == nil {
		return ""
	}
	n := C.strlen(p)
	s := C.GoStringN(p, C.int(n))
	C.memset(unsafe.Pointer(p), 0, n)
	C.ztp_free(unsafe.Pointer(p))
	return s
}

// ------------------------------------------------------------ handles

// handle is the lifetime shared by every wrapper: calls hold a use, Close
// frees once no call is in progress, and borrowed handles are held until
// this one is freed.
type handle struct {
	mu      sync.Mutex
	ptr     unsafe.Pointer
	uses    int
	closing bool
	kind    string
	destroy func(unsafe.Pointer)
	held    []*handle
	clock   *C.int64_t // C memory read by ztp_clock_fixed, or nil
}

func (h *handle) init(kind string, ptr unsafe.Pointer, destroy func(unsafe.Pointer)) {
	h.kind = kind
	h.ptr = ptr
	h.destroy = destroy
}

func (h *handle) acquire() (unsafe.Pointer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ptr == nil || h.closing {
		return nil, &Error{Code: ESTATE, Name: "invalid_state",
			Message: h.kind + " is closed"}
	}
	h.uses++
	return h.ptr, nil
}

func (h *handle) release() {
	h.mu.Lock()
	var ptr unsafe.Pointer
	h.uses--
	if h.closing && h.uses == 0 && h.ptr != nil {
		ptr, h.ptr = h.ptr, nil
	}
	h.mu.Unlock()
	if ptr != nil {
		h.free(ptr)
	}
}

func (h *handle) free(ptr unsafe.Pointer) {
	h.destroy(ptr)
	if h.clock != nil {
		C.free(unsafe.Pointer(h.clock))
		h.clock = nil
	}
	held := h.held
	h.held = nil
	for _, o := range held {
		o.release()
	}
}

// hold keeps other alive (a use) until this handle is freed or unhold.
func (h *handle) hold(other *handle) error {
	if _, err := other.acquire(); err != nil {
		return err
	}
	h.held = append(h.held, other)
	return nil
}

func (h *handle) unhold(other *handle) {
	for i, o := range h.held {
		if o == other {
			h.held = append(h.held[:i], h.held[i+1:]...)
			other.release()
			return
		}
	}
}

func (h *handle) close() {
	h.mu.Lock()
	if h.ptr == nil || h.closing {
		h.mu.Unlock()
		return
	}
	h.closing = true
	var ptr unsafe.Pointer
	if h.uses == 0 {
		ptr, h.ptr = h.ptr, nil
	}
	h.mu.Unlock()
	if ptr != nil {
		h.free(ptr)
	}
}

// with runs f with the handle's pointer under a use, and returns its error
// (read on the same OS thread as the call).
func (h *handle) with(f func(p unsafe.Pointer) C.int) error {
	p, err := h.acquire()
	if err != nil {
		return err
	}
	defer h.release()
	return call(func() C.int { return f(p) })
}

// setFixedClock points a handle's clock at a fixed time (C memory the
// handle owns) or, with t == nil, back at the system clock. setter is the
// module's ztp_X_set_clock.
func (h *handle) setFixedClock(t *int64, setter func(p unsafe.Pointer, fn C.ztp_clock_fn, ctx unsafe.Pointer) C.int) error {
	if t == nil {
		err := h.with(func(p unsafe.Pointer) C.int { return setter(p, nil, nil) })
		if err == nil && h.clock != nil {
			C.free(unsafe.Pointer(h.clock))
			h.clock = nil
		}
		return err
	}
	if h.clock != nil {
		// The handle already reads this int64: moving time is a store.
		*h.clock = C.int64_t(*t)
		return nil
	}
	c := (*C.int64_t)(C.malloc(C.size_t(unsafe.Sizeof(C.int64_t(0)))))
	if c == nil {
		return &Error{Code: ENOMEM, Name: "out_of_memory", Message: "clock"}
	}
	*c = C.int64_t(*t)
	err := h.with(func(p unsafe.Pointer) C.int {
		return setter(p, C.ztp_clock_fn(C.ztp_clock_fixed), unsafe.Pointer(c))
	})
	if err != nil {
		C.free(unsafe.Pointer(c))
		return err
	}
	h.clock = c
	return nil
}
