/*
 * libztp — shared helpers for the libFuzzer harnesses.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each harness is a single translation unit linked against the library's
 * sources compiled with the same sanitizers (see fuzz/local.mk). An
 * invariant violated by the library is reported with FUZZ_ASSERT, which
 * aborts so that libFuzzer records the input as a crash.
 */
#ifndef ZTP_FUZZ_H
#define ZTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n",  \
				__FILE__, __LINE__, #cond,                     \
				ztp_error_last_message());                     \
			abort();                                               \
		}                                                              \
	} while (0)

/* A documented status code: failures must map onto the fixed list. */
#define FUZZ_ASSERT_RC(expr)                                                   \
	do {                                                                   \
		int frc_ = (expr);                                             \
		FUZZ_ASSERT(frc_ <= 0 && frc_ >= ZTP_STATUS_MIN);              \
	} while (0)

/* A NUL-terminated copy of the input (many entry points take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
