/*
 * libztp — read sections for policy snapshots: per-thread reader records.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Records are kept for the life of the process in one list that only grows;
 * a thread's record goes back to the pool when the thread exits (a
 * thread-specific-data destructor) and is reused by the next new thread,
 * so the list is as long as the largest number of threads that have used
 * policies at once.
 *
 * Ordering: a reader stores its odd sequence number and then loads the
 * snapshot pointer, both sequentially consistent; a writer exchanges the
 * pointer and then loads every sequence number, also sequentially
 * consistent. So either the writer sees the reader inside, and waits for
 * its sequence number to change (the release store on leaving orders the
 * reader's accesses before the free), or the reader's load comes after the
 * exchange and sees the new pointer.
 */
#include "policy/reader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>

static _Atomic(ztp__preader *) readers;
ZTP__PREAD_TLS ztp__preader *ztp__pread_mine;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool key_ok;

static void reader_release(void *arg)
{
	ztp__preader *r = arg;

	ztp__pread_mine = NULL;
	atomic_store_explicit(&r->used, false, memory_order_release);
}

/* After fork() only the forking thread exists: records that other threads
 * held (possibly inside a section) would stall every later synchronize. */
static void reader_atfork_child(void)
{
	ztp__preader *r;

	for (r = atomic_load(&readers); r; r = r->next) {
		uint_fast64_t s;

		if (r == ztp__pread_mine)
			continue;
		s = atomic_load_explicit(&r->seq, memory_order_relaxed);
		atomic_store_explicit(&r->seq, s + (s & 1),
				      memory_order_relaxed);
		atomic_store_explicit(&r->used, false, memory_order_relaxed);
	}
}

static void reader_once(void)
{
#ifdef RTLD_NODELETE
	Dl_info info;

	/* the key's destructor is code of this library: keep it mapped even
	 * if whoever loaded it unloads it while threads still run */
	if (dladdr((void *)reader_once, &info) && info.dli_fname)
		(void)dlopen(info.dli_fname,
			     RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
	key_ok = pthread_key_create(&key, reader_release) == 0 &&
		 pthread_atfork(NULL, NULL, reader_atfork_child) == 0;
}

static int reader_get(ztp__preader **out)
{
	ztp__preader *r;
	bool free_rec = false;
	int rc = ZTP_OK;

	if (pthread_once(&once, reader_once) != 0 || !key_ok)
		return ztp__err(ZTP_ENOMEM,
				"policy: cannot set up per-thread state");
	for (r = atomic_load(&readers); r; r = r->next) {
		free_rec = false;
		if (atomic_compare_exchange_strong(&r->used, &free_rec, true))
			break;
	}
	if (!r) {
		r = ztp__calloc(1, sizeof(*r));
		ZTP_ENSURE(r, ZTP_ENOMEM, "policy: out of memory");
		atomic_init(&r->seq, 0);
		atomic_init(&r->used, true);
		r->next = atomic_load(&readers);
		while (!atomic_compare_exchange_weak(&readers, &r->next, r))
			;
	}
	if (pthread_setspecific(key, r) != 0) {
		atomic_store(&r->used, false);
		rc = ztp__err(ZTP_ENOMEM,
			      "policy: cannot set up per-thread state");
		goto cleanup;
	}
	ztp__pread_mine = r;
	*out = r;
cleanup:
	return rc;
}

int ztp__pread_enter_slow(ztp__preader **out)
{
	ztp__preader *r = NULL;
	int rc = ZTP_OK;

	*out = NULL;
	ZTP_CHECK(reader_get(&r));
	rc = ztp__pread_enter(out);
cleanup:
	return rc;
}

void ztp__pread_synchronize(void)
{
	ztp__preader *r;

	for (r = atomic_load(&readers); r; r = r->next) {
		uint_fast64_t s = atomic_load(&r->seq);

		if (!(s & 1))
			continue;
		while (atomic_load_explicit(&r->seq, memory_order_acquire) == s)
			sched_yield();
	}
}
