// SPDX-License-Identifier: Apache-2.0

package ztp

/*
#include <stdint.h>
#include <ztp/common.h>

void ztpgo_event_trampoline(const char *json, void *ctx);

// The handle is an integer; it travels through the library as ctx.
static void *ztpgo_ctx(uintptr_t h) { return (void *)h; }
static ztp_event_fn ztpgo_event_fn(void) { return ztpgo_event_trampoline; }
*/
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"unsafe"
)

// EventFunc receives one library event (a JSON object). It runs on the
// thread that caused the event and must not call back into the handle
// that emitted it.
type EventFunc func(event map[string]interface{})

//export ztpgoEvent
func ztpgoEvent(text *C.char, ctx C.uintptr_t) {
	fn, ok := cgo.Handle(ctx).Value().(EventFunc)
	if !ok {
		return
	}
	var ev map[string]interface{}
	if json.Unmarshal([]byte(C.GoString(text)), &ev) != nil {
		return
	}
	fn(ev)
}

// eventReg owns the cgo.Handle of a registered callback.
type eventReg struct{ h cgo.Handle }

func (r *eventReg) set(fn EventFunc, apply func(f C.ztp_event_fn, ctx unsafe.Pointer) error) error {
	if fn == nil {
		if err := apply(nil, nil); err != nil {
			return err
		}
		r.clear()
		return nil
	}
	h := cgo.NewHandle(fn)
	if err := apply(C.ztpgo_event_fn(), C.ztpgo_ctx(C.uintptr_t(h))); err != nil {
		h.Delete()
		return err
	}
	r.clear()
	r.h = h
	return nil
}

func (r *eventReg) clear() {
	if r.h != 0 {
		r.h.Delete()
		r.h = 0
	}
}
