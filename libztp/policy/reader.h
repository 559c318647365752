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

/* Enter a read section on the calling thread. Pointers that writers swap
 * must then be loaded with memory_order_seq_cst: the store that marks the
 * section and that load may not be reordered. The first call on a thread
 * allocates its record (later calls do not), so this can fail with
 * ZTP_ENOMEM; *out is then NULL and no section was entered. */
int ztp__pread_enter(ztp__preader **out);

/* Leave the section entered with r (NULL is ignored). */
void ztp__pread_leave(ztp__preader *r);

/* Return once every read section that had begun when this was called has
 * ended. Must not be called from inside a read section. */
void ztp__pread_synchronize(void);

#endif /* ZTP_POLICY_READER_H */
