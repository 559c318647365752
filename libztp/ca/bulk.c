/*
 * libztp — bulk issuance of factory certificates from a file of JSON
 * lines of certificate requests (ztp_ca_issue_bulk).
 * SPDX-License-Identifier: Apache-2.0
 *
 * One pass, one line in memory at a time; each request is issued and
 * recorded as ztp_ca_issue_ex() does it, and its certificate appended to
 * the output, which is a new file (never an existing one) fsynced every
 * BULK_SYNC_BYTES and at the end.
 */
#include "ca/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BULK_SYNC_BYTES (1024 * 1024)

/* One line: its device and request, borrowed from o. */
static int bulk_line(json_object **o, const char *line, size_t len,
		     const char **device_id, const char **csr, size_t *csr_len,
		     char id_out[ZTP_ID_MAX + 1])
{
	static const char *const keys[] = {"device_id", "csr", NULL};
	size_t idlen = 0;
	int rc = ZTP_OK;

	id_out[0] = '\0';
	ZTP_CHECK(ztp__json_parse(o, line, len, ZTP_BULK_LINE_MAX, 1));
	ZTP_ENSURE(json_object_is_type(*o, json_type_object), ZTP_EPARSE,
		   "line: not a JSON object");
	ZTP_CHECK(ztp__json_only_keys(*o, keys, "line"));
	ZTP_CHECK(ztp__json_str(*o, "device_id", true, ZTP_ID_MAX, device_id,
				&idlen));
	ZTP_CHECK(ztp__id_check(*device_id, idlen, "device_id"));
	memcpy(id_out, *device_id, idlen + 1);
	ZTP_CHECK(
	    ztp__json_str(*o, "csr", true, ZTP_BULK_LINE_MAX, csr, csr_len));
	ZTP_ENSURE(*csr_len > 0, ZTP_EPARSE, "csr: empty");
cleanup:
	return rc;
}

/* {"device_id","serial","factory_cert"}, the line ztp_verifier_import()
 * reads. */
static int out_line(ztp__buf *b, const char *device_id, const char *serial,
		    const char *pem)
{
	json_object *o = json_object_new_object();
	char *s = NULL;
	int rc = ZTP_OK;

	ZTP_ENSURE(o != NULL, ZTP_ENOMEM, "out of memory");
	ZTP_CHECK(ztp__json_add_str(o, "device_id", device_id));
	ZTP_CHECK(ztp__json_add_str(o, "serial", serial));
	ZTP_CHECK(ztp__json_add_str(o, "factory_cert", pem));
	ZTP_CHECK(ztp__json_dump(&s, o));
	ZTP_CHECK(ztp__buf_append_str(b, s));
	ZTP_CHECK(ztp__buf_append_byte(b, '\n'));
cleanup:
	ztp_free(s);
	json_object_put(o);
	return rc;
}

int ztp_ca_issue_bulk(ztp_ca *ca, char **summary_json, const char *input_path,
		      const char *output_path, int64_t lifetime_seconds,
		      ztp_progress_fn progress, void *progress_ctx)
{
	char id[ZTP_ID_MAX + 1], msg[256];
	json_object *refusals = NULL, *o = NULL, *sum = NULL;
	const char *device_id, *csr;
	char *buf = NULL, *pem = NULL, *serial = NULL;
	uint64_t lines = 0, issued = 0, refused = 0, total = 0;
	ztp__buf out = {0};
	FILE *in = NULL;
	struct stat st;
	size_t len, csr_len, i;
	bool over, nul, started = false;
	int fd = -1, rc = ZTP_OK, lrc;

	ZTP_ARG(summary_json != NULL);
	*summary_json = NULL;
	ZTP_ARG(ca != NULL);
	ZTP_ARG(input_path != NULL);
	ZTP_ARG(output_path != NULL);
	refusals = json_object_new_array();
	buf = ztp__malloc(ZTP_BULK_LINE_MAX + 1);
	ZTP_ENSURE(refusals != NULL && buf != NULL, ZTP_ENOMEM,
		   "out of memory");
	in = fopen(input_path, "re");
	ZTP_ENSURE(in != NULL, ZTP_EIO, "%s: %s", input_path, strerror(errno));
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
		total = (uint64_t)st.st_size;
	ZTP_CHECK(ztp__file_create_exclusive(&fd, output_path, 0644));
	started = true;
	while (
	    ztp__line_read(in, buf, ZTP_BULK_LINE_MAX + 1, &len, &over, &nul)) {
		lines++;
		json_object_put(o);
		o = NULL;
		for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\t'); i++)
			;
		if (i == len && !over)
			continue;
		if (over)
			lrc = ztp__err(ZTP_ETOOBIG, "line: over %d bytes",
				       ZTP_BULK_LINE_MAX);
		else if (nul)
			lrc = ztp__err(ZTP_EPARSE, "line: holds a NUL byte");
		else
			lrc = bulk_line(&o, buf, len, &device_id, &csr,
					&csr_len, id);
		if (lrc == ZTP_OK)
			lrc = ztp_ca_issue_ex(
			    ca, &pem, &serial, NULL, csr, csr_len, device_id,
			    NULL, ZTP_CA_PROFILE_FACTORY, lifetime_seconds);
		/* What cannot go on for any line stops the run. */
		if (lrc == ZTP_ENOMEM || lrc == ZTP_ESTORE ||
		    lrc == ZTP_ESTATE || lrc == ZTP_EEXPIRED)
			ZTP_CHECK(lrc);
		if (lrc < 0) {
			refused++;
			snprintf(msg, sizeof(msg), "%s",
				 ztp_error_last_message());
			ZTP_CHECK(ztp__line_refusal(refusals, lines,
						    over || nul ? NULL : id,
						    lrc, msg));
			continue;
		}
		issued++;
		ZTP_CHECK(out_line(&out, device_id, serial, pem));
		ztp_free(pem);
		ztp_free(serial);
		pem = serial = NULL;
		if (out.len >= BULK_SYNC_BYTES) {
			ZTP_CHECK(ztp__file_append_sync(fd, out.data, out.len,
							output_path));
			out.len = 0;
			if (progress != NULL)
				progress(progress_ctx, (uint64_t)ftello(in),
					 total, lines);
		}
	}
	ZTP_ENSURE(!ferror(in), ZTP_EIO, "%s: read error", input_path);
	ZTP_CHECK(ztp__file_append_sync(fd, out.data, out.len, output_path));
	out.len = 0;
	ZTP_ENSURE(close(fd) == 0, ZTP_EIO, "%s: close: %s", output_path,
		   strerror(errno));
	fd = -1;
	if (progress != NULL)
		progress(progress_ctx, (uint64_t)ftello(in), total, lines);
cleanup:
	if (fd >= 0) {
		ztp__err_saved saved;

		/* Issued certificates are recorded: keep what was issued. */
		ztp__err_save(&saved);
		if (out.len > 0)
			(void)ztp__file_append_sync(fd, out.data, out.len,
						    output_path);
		close(fd);
		ztp__err_restore(&saved);
	}
	if (started) {
		ztp__err_saved saved;

		ztp__err_save(&saved);
		sum = json_object_new_object();
		if (sum == NULL ||
		    ztp__json_add_int(sum, "lines", (int64_t)lines) < 0 ||
		    ztp__json_add_int(sum, "issued", (int64_t)issued) < 0 ||
		    ztp__json_add_int(sum, "refused", (int64_t)refused) < 0 ||
		    ztp__json_add(sum, "refusals", json_object_get(refusals)) <
			0 ||
		    ztp__json_add(sum, "refusals_truncated",
				  json_object_new_boolean(
				      refused > json_object_array_length(
						    refusals))) < 0 ||
		    ztp__json_dump(summary_json, sum) < 0)
			*summary_json = NULL;
		ztp__err_restore(&saved);
	}
	json_object_put(sum);
	json_object_put(o);
	json_object_put(refusals);
	ztp_free(pem);
	ztp_free(serial);
	ztp__buf_free(&out);
	ztp_free(buf);
	if (in != NULL)
		fclose(in);
	return rc;
}
