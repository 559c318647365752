/*
 * libztp — reading bulk inputs (JSON lines) one bounded line at a time,
 * and the list of refused lines their summaries carry.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"

#include <stdio.h>

bool ztp__line_read(FILE *f, char *buf, size_t cap, size_t *len, bool *over,
		    bool *nul)
{
	size_t n = 0;
	bool any = false;
	int c;

	*over = *nul = false;
	while ((c = getc_unlocked(f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (c == '\0')
			*nul = true;
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			*over = true;
	}
	if (n > 0 && buf[n - 1] == '\r' && !*over)
		n--;
	buf[n] = '\0';
	*len = n;
	return any;
}

int ztp__line_refusal(json_object *list, uint64_t line, const char *device_id,
		      int code, const char *message)
{
	json_object *item = NULL;
	int rc = ZTP_OK;

	if (json_object_array_length(list) >= ZTP_BULK_REFUSALS_MAX)
		return ZTP_OK;
	item = json_object_new_object();
	ZTP_ENSURE(item != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_int(item, "line", (int64_t)line));
	ZTP_CHECK(ztp__json_add_str(
	    item, "device_id",
	    device_id != NULL && device_id[0] != '\0' ? device_id : NULL));
	ZTP_CHECK(ztp__json_add_str(item, "code", ztp_status_name(code)));
	ZTP_CHECK(ztp__json_add_str(item, "message", message));
	ZTP_ENSURE(json_object_array_add(list, item) == 0, ZTP_ENOMEM,
		   "out of memory");
	item = NULL;
cleanup:
	json_object_put(item);
	return rc;
}
