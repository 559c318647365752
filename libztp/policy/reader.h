/*
 * libztp — read sections for policy snapshots (private to the policy
 * module).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A decision must not take a lock or write a cache line that other threads
 * write, or it stops scaling with cores. Each thread owns a reader record
 * with a sequence number, odd while the thread is inside a read section.
 * A reader enters its section, loads the handle's snapshot pointer, uses
 * it and leaves; nothing it does is seen by other readers. A writer
 * publishes a new pointer, then waits until every record that was odd has
 * moved on (ztp__pread_synchronize): from then on no reader can hold the
 * old snapshot, and it can be freed. This is read-copy-update with the
 * grace period found by scanning the records, which is cheap because
 * policy loads are rare.
 *
 * Read sections must be short and must not nest, block or call back into
 * code that could load a policy.
 */
#ifndef ZTP_POLICY_READER_H
#define ZTP_POLICY_READER_H

#include "core/internal.h"

#include <stdatomic.h>

typedef struct ztp__preader ztp__preader;

struct ztp__preader {
	/* the sequence number sits on a cache line of its own whatever the
	 * allocator's alignment, so that readers never share a line */
	char pad0[64];
	atomic_uint_fast64_t seq; /* odd: inside a read section */
	atomic_bool used;	  /* owned by a live thread */
	ztp__preader *next;	  /* set before the record is published */
	char pad1[64];
};

/* The calling thread's record, NULL until its first read section. Read on
 * every decision: the initial-exec model makes that one load from the
 * thread pointer instead of a call. A library loaded with dlopen() takes
 * such variables from the small static TLS reserve that the C library keeps
 * for this; eight bytes fit it. */
#if defined(__GNUC__)
#define ZTP__PREAD_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define ZTP__PREAD_TLS _Thread_local
#endif
extern ZTP__PREAD_TLS ztp__preader *ztp__pread_mine;

/* ztp__pread_enter() on a thread without a record yet: allocates it. */
int ztp__pread_enter_slow(ztp__preader **out);

/* Enter a read section on the calling thread. Pointers that writers swap
 * must then be loaded with memory_order_seq_cst: the store that marks the
 * section and that load may not be reordered. The first call on a thread
 * allocates its record (later calls do not), so this can fail with
 * ZTP_ENOMEM; *out is then NULL and no section was entered. */
static inline int ztp__pread_enter(ztp__preader **out)
{
	ztp__preader *r = ztp__pread_mine;
	uint_fast64_t s;

	if (!r)
		return ztp__pread_enter_slow(out);
	s = atomic_load_explicit(&r->seq, memory_order_relaxed);
	atomic_store_explicit(&r->seq, s + 1, memory_order_seq_cst);
	*out = r;
	return ZTP_OK;
}

/* Leave the section entered with r (NULL is ignored). */
static inline void ztp__pread_leave(ztp__preader *r)
{
	uint_fast64_t s;

	if (!r)
		return;
	s = atomic_load_explicit(&r->seq, memory_order_relaxed);
	atomic_store_explicit(&r->seq, s + 1, memory_order_release);
}

/* Return once every read section that had begun when this was called has
 * ended. Must not be called from inside a read section. */
void ztp__pread_synchronize(void);

#endif /* ZTP_POLICY_READER_H */
