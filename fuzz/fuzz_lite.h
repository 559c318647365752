/*
 * libztp — helpers of the harnesses of the portable device core, which
 * are linked against the core's sources alone (no OpenSSL, no json-c:
 * fuzz/local.mk).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_FUZZ_LITE_H
#define ZTP_FUZZ_LITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcore/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
