// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stddef.h>
#include <stdint.h>
#include <ztp/verifier.h>

int ztpgo_hook_trampoline(void *user, const char *context, char *verdict,
			  size_t cap);

static ztp_hook_fn ztpgo_hook_fn(void) { return ztpgo_hook_trampoline; }
static void *ztpgo_hook_user(uintptr_t h) { return (void *)h; }
*/
import "C"

import (
	"encoding/json"
	"errors"
	"runtime/cgo"
	"time"
	"unsafe"
)

// HookFunc is an approval hook (ztp_verifier_set_hook(3)): it receives
// the context of a bootstrap, credentials or claim request and returns
// the verdict, e.g. {"decision":"allow"} or {"decision":"deny",
// "message":"…"}. It runs on the goroutines that serve requests, several
// at once, and must not call back into the verifier. An error, a panic or
// an answer after the budget denies (approval_failed).
type HookFunc func(context map[string]interface{}) (map[string]interface{}, error)

//export ztpgoHook
func ztpgoHook(user C.uintptr_t, context *C.char, verdict *C.char, capacity C.size_t) (n C.int) {
	defer func() {
		if recover() != nil {
			n = -1
		}
	}()
	fn, ok := cgo.Handle(user).Value().(HookFunc)
	if !ok {
		return -1
	}
	var ctx map[string]interface{}
	if json.Unmarshal([]byte(C.GoString(context)), &ctx) != nil {
		return -1
	}
	v, err := fn(ctx)
	if err != nil || v == nil {
		return -1
	}
	text, err := json.Marshal(v)
	if err != nil || len(text) >= int(capacity) {
		return -1
	}
	out := unsafe.Slice((*byte)(unsafe.Pointer(verdict)), int(capacity))
	copy(out, text)
	out[len(text)] = 0
	return C.int(len(text))
}

// hookReg owns the cgo.Handle of the verifier's hook.
type hookReg struct{ h cgo.Handle }

func (r *hookReg) clear() {
	if r.h != 0 {
		r.h.Delete()
		r.h = 0
	}
}

// SetHook asks fn before anything is issued at bootstrap and credentials
// and before a claim binds a device, or stops asking with nil. budget is
// the hook's time budget (1 ms to 10 minutes).
func (v *Verifier) SetHook(fn HookFunc, budget time.Duration) error {
	if fn == nil {
		err := v.do(func(p *C.ztp_verifier) C.int { return C.ztp_verifier_set_hook(p, nil, nil, 0) })
		if err == nil {
			v.hook.clear()
		}
		return err
	}
	ms := budget.Milliseconds()
	if ms < 1 {
		return errors.New("ztp: SetHook: budget under 1 ms")
	}
	h := cgo.NewHandle(fn)
	err := v.do(func(p *C.ztp_verifier) C.int {
		return C.ztp_verifier_set_hook(p, C.ztpgo_hook_fn(), C.ztpgo_hook_user(C.uintptr_t(h)), C.int64_t(ms))
	})
	if err != nil {
		h.Delete()
		return err
	}
	v.hook.clear()
	v.hook.h = h
	return nil
}
