/*
 * libztp — fuzz the bulk import's input: the bounded line reader
 * (ztp__line_read) over the whole input, and each line it yields through
 * the line parser of ztp_verifier_import (ztp__import_line).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <openssl/err.h>

#include "store/internal.h"
#include "verifier/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

/* What a parsed line promises the import. */
static void check_rec(const ztp__import_rec *r)
{
	size_t i;

	FUZZ_ASSERT(ztp_id_validate(r->device_id, strlen(r->device_id)) ==
		    ZTP_OK);
	FUZZ_ASSERT((r->cert != NULL) != (r->fingerprint[0] != '\0'));
	if (r->cert == NULL) {
		FUZZ_ASSERT(strlen(r->fingerprint) == 64);
		for (i = 0; i < 64; i++)
			FUZZ_ASSERT((r->fingerprint[i] >= '0' &&
				     r->fingerprint[i] <= '9') ||
				    (r->fingerprint[i] >= 'a' &&
				     r->fingerprint[i] <= 'f'));
	}
	FUZZ_ASSERT(ztp__store_check_text(r->model, "model") == ZTP_OK);
	FUZZ_ASSERT(ztp__store_check_text(r->batch, "batch") == ZTP_OK);
	FUZZ_ASSERT(r->manufactured_at >= -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A small line limit too, so that long-line handling is reached
	 * with short inputs. */
	static const size_t caps[] = {ZTP_BULK_LINE_MAX + 1, 17};
	ztp__import_rec rec;
	char *buf;
	size_t c, len, lines, total;
	bool over, nul;
	FILE *f;
	int rc;

	if (size == 0) {
		/* fmemopen() needs at least one byte. */
		memset(&rec, 0, sizeof(rec));
		FUZZ_ASSERT(ztp__import_line(&rec, "", 0) == ZTP_EPARSE);
		ztp__import_rec_clear(&rec);
		return 0;
	}
	buf = malloc(ZTP_BULK_LINE_MAX + 1);
	FUZZ_ASSERT(buf != NULL);
	for (c = 0; c < ZTP__ARRAY_LEN(caps); c++) {
		f = fmemopen((void *)data, size, "r");
		FUZZ_ASSERT(f != NULL);
		lines = total = 0;
		while (ztp__line_read(f, buf, caps[c], &len, &over, &nul)) {
			FUZZ_ASSERT(len < caps[c]);
			FUZZ_ASSERT(buf[len] == '\0');
			lines++;
			total += len;
			FUZZ_ASSERT(total <= size);
			if (c != 0 || over || nul)
				continue;
			memset(&rec, 0, sizeof(rec));
			rc = ztp__import_line(&rec, buf, len);
			FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_EPARSE ||
				    rc == ZTP_EINVAL || rc == ZTP_ETOOBIG ||
				    rc == ZTP_ENOMEM);
			if (rc == ZTP_OK)
				check_rec(&rec);
			ztp__import_rec_clear(&rec);
		}
		FUZZ_ASSERT(lines <= size + 1);
		fclose(f);
	}
	free(buf);
	ERR_clear_error();
	return 0;
}
