/*
 * Event trampoline for the Go binding: the library calls a C function,
 * which hands the event to Go with the cgo.Handle it was registered with.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>

#include "_cgo_export.h"

void ztpgo_event_trampoline(const char *json, void *ctx)
{
	ztpgoEvent((char *)json, (uintptr_t)ctx);
}

/* The approval hook's: the verdict buffer is the library's. */
int ztpgo_hook_trampoline(void *user, const char *context, char *verdict,
			  size_t cap)
{
	return ztpgoHook((uintptr_t)user, (char *)context, verdict, cap);
}
