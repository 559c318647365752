/*
 * ztp-verify — the verifier on the command line: enroll manufactured
 * devices, serve one protocol request (CGI, scripts), and check factory
 * certificates against the device profile (manufacturing QA).
 * Public libztp API only. See ztp-verify(1).
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include <json-c/json.h>

#include <ztp/ztp.h>

#include "util.h"

#define PEM_FILE_MAX (1024 * 1024)
#define REQUEST_MAX (1024 * 1024)

static void usage(FILE *f)
{
	fputs(
	    "usage: ztp-verify --config FILE enroll --device-id ID "
	    "--factory-cert F [--model M] [--batch B] [--qr FILE]\n"
	    "       ztp-verify --config FILE handle ENDPOINT "
	    "[--peer-cert F] < request.json\n"
	    "       ztp-verify check-cert --trust F [--untrusted F] "
	    "[--issuers F] [--at RFC3339] CERT\n"
	    "       ztp-verify --config FILE claim --device-id ID "
	    "--code CODE|- --tenant T\n"
	    "       ztp-verify --config FILE reset --device-id ID "
	    "[--qr FILE]\n"
	    "       ztp-verify --config FILE revoke --device-id ID\n"
	    "       ztp-verify --config FILE maintain\n"
	    "       ztp-verify --config FILE audit verify [--from N] "
	    "[--pubkey F]\n"
	    "       ztp-verify audit verify --offline FILE --pubkey F "
	    "[--from N]\n"
	    "       ztp-verify --config FILE audit export [--from N] "
	    "[--out FILE]\n"
	    "       ztp-verify --config FILE audit checkpoint\n"
	    "       ztp-verify --config FILE import FILE --claims FILE "
	    "[--chunk N]\n"
	    "       ztp-verify --config FILE list [--state S] [--tenant T] "
	    "[--model M]\n"
	    "                  [--batch B] [--group G] [--after ID] "
	    "[--limit N]\n"
	    "       ztp-verify --config FILE expiring --days N "
	    "[--limit N]\n"
	    "       ztp-verify --config FILE group add --id G --issuer-cert F "
	    "[--pattern P]\n"
	    "                  [--model M] [--batch B] [--cap N] "
	    "[--expires RFC3339] [--disabled]\n"
	    "       ztp-verify --config FILE group list\n"
	    "       ztp-verify --config FILE group disable|enable --id G\n"
	    "       ztp-verify --version | --help\n",
	    f);
}

/* check-cert reports unreadable input with the usage status (2), as
 * ztp-verify(1) documents; the other commands with 1. */
static int read_fail_code = ZTP_EIO;

static char *must_read(const char *path, size_t *len)
{
	const char *why;
	char *s;
	int rc;

	rc = tool_load_file(&s, len, path, PEM_FILE_MAX, &why);
	if (rc != ZTP_OK)
		tool_die(read_fail_code == ZTP_EINVAL ? ZTP_EINVAL : rc,
			 "%s: %s", path, why);
	return s;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM). */
static int parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	const char *p;
	int64_t off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    (s[10] != 'T' && s[10] != 't') ||
	    sscanf(s + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') &&
		   sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5 &&
		   p[6] == '\0' && oh <= 23 && om <= 59) {
		off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	} else {
		return -1;
	}
	if (y < 1950 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d)
		return -1;
	*out = (int64_t)t - off;
	return *out > 0 ? 0 : -1;
}

static ztp_verifier *open_verifier(const char *config)
{
	ztp_verifier *v = NULL;
	int rc;

	if (config == NULL)
		tool_usage_error("--config FILE is required");
	rc = ztp_verifier_new(&v);
	if (rc < 0)
		tool_die_lib(rc, "cannot create a verifier");
	rc = ztp_verifier_load_config(v, config);
	if (rc < 0)
		tool_die_lib(rc, config);
	return v;
}

/* --qr needs libqrencode; say so before anything is changed. */
static void qr_supported(void)
{
#ifndef HAVE_QRENCODE
	tool_die(ZTP_EUNSUPPORTED,
		 "--qr: this ztp-verify was built without libqrencode");
#endif
}

/* The label QR code: an SVG holding "urn:ztp:claim:<device>:<code>", so
 * that a phone app gets both the device ID and the code from one scan.
 * Written 0600, atomically, as it is as secret as the code. The code is
 * printed before this runs, so a failure here loses nothing: `reset --qr`
 * gives the device a new code and label. */
static void write_qr(const char *path, const char *device_id, const char *code)
{
#ifdef HAVE_QRENCODE
	static const int quiet = 4; /* modules of margin (ISO/IEC 18004) */
	char text[256], cell[64];
	const char *err = NULL;
	QRcode *qr;
	FILE *f;
	char *svg = NULL;
	size_t svglen = 0;
	int rc, size;

	snprintf(text, sizeof(text), "urn:ztp:claim:%s:%s", device_id, code);
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	memset(text, 0, sizeof(text));
	if (qr == NULL)
		tool_die(ZTP_ENOMEM, "--qr: cannot encode the claim code: %s",
			 strerror(errno));
	size = qr->width + 2 * quiet;
	f = open_memstream(&svg, &svglen);
	if (f == NULL) {
		QRcode_free(qr);
		tool_die(ZTP_ENOMEM, "--qr: out of memory");
	}
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" "
		"viewBox=\"0 0 %d %d\" width=\"%dmm\" height=\"%dmm\" "
		"shape-rendering=\"crispEdges\">\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
		"<path fill=\"#000\" d=\"",
		size, size, size / 2, size / 2, size, size);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1) {
				snprintf(cell, sizeof(cell), "M%d %dh1v1h-1z",
					 x + quiet, y + quiet);
				fputs(cell, f);
			}
	fputs("\"/>\n</svg>\n", f);
	QRcode_free(qr);
	if (fclose(f) != 0) {
		free(svg);
		tool_die(ZTP_ENOMEM, "--qr: out of memory");
	}
	rc = tool_write_file_atomic(path, svg, svglen, 0600, false, &err);
	free(svg);
	if (rc < 0)
		tool_die(rc,
			 "--qr %s: %s (the device is enrolled and its code "
			 "printed; `reset --qr` issues a new code and label)",
			 path, err);
#else
	(void)path;
	(void)device_id;
	(void)code;
	qr_supported();
#endif
}

/* A subcommand's options, each taking a value ("--name VALUE"): the one
 * given last for names[k] in values[k] (left alone when absent); a usage
 * error for anything else. */
static void parse_values(int argc, char **argv, const char *cmd,
			 const char *const *names, const char **values)
{
	for (int i = 0; i < argc; i++) {
		int k = 0;

		while (names[k] != NULL && strcmp(argv[i], names[k]) != 0)
			k++;
		if (names[k] == NULL)
			tool_usage_error("%s: unknown argument '%s'", cmd,
					 argv[i]);
		if (i + 1 >= argc)
			tool_usage_error("%s needs a value", argv[i]);
		values[k] = argv[++i];
	}
}

/* As parse_values(), every one of names required. */
static void parse_opts(int argc, char **argv, const char *cmd,
		       const char *const *names, const char **values)
{
	parse_values(argc, argv, cmd, names, values);
	for (int k = 0; names[k] != NULL; k++)
		if (values[k] == NULL)
			tool_usage_error("%s needs %s", cmd, names[k]);
}

static int cmd_enroll(const char *config, int argc, char **argv)
{
	static const char *const names[] = {"--device-id", "--factory-cert",
					    "--model",	   "--batch",
					    "--qr",	   NULL};
	const char *val[5] = {NULL, NULL, NULL, NULL, NULL};
	const char *id, *certpath, *model, *batch, *qrpath;
	char *pem, *code = NULL;
	size_t len = 0;
	ztp_verifier *v;
	int rc;

	parse_values(argc, argv, "enroll", names, val);
	id = val[0];
	certpath = val[1];
	model = val[2];
	batch = val[3];
	qrpath = val[4];
	if (id == NULL || certpath == NULL)
		tool_usage_error("enroll needs --device-id and --factory-cert");
	if (ztp_id_validate(id, strlen(id)) < 0)
		tool_usage_error("--device-id: %s", ztp_error_last_message());
	if (qrpath != NULL)
		qr_supported();
	v = open_verifier(config);
	pem = must_read(certpath, &len);
	rc = ztp_verifier_enroll(v, &code, id, pem, len, model, batch);
	free(pem);
	if (rc < 0)
		tool_die_lib(rc, "enroll");
	/* The only copy of the code: the store keeps its hash. */
	printf("%s\n", code);
	fflush(stdout);
	if (qrpath != NULL)
		write_qr(qrpath, id, code);
	tool_free_secret(code);
	ztp_verifier_free(v);
	return TOOL_EXIT_OK;
}

/* Why a claim was refused, and the exit status ztp-verify(1) documents for
 * it. The library's codes tell the reasons apart once the two identifiers
 * are known to be well formed (checked first, in the library's order): a
 * malformed argument is then the code. */
enum {
	CLAIM_EXIT_CODE_FORMAT = 3,
	CLAIM_EXIT_UNKNOWN = 4,
	CLAIM_EXIT_WRONG_CODE = 5,
	CLAIM_EXIT_RATE_LIMITED = 6,
	CLAIM_EXIT_BAD_TENANT = 7,
	CLAIM_EXIT_STATE = 8,
};

static const struct {
	int rc;
	int status;
	const char *what;
} claim_refusals[] = {
    {ZTP_EINVAL, CLAIM_EXIT_CODE_FORMAT,
     "claim refused: bad claim code format"},
    {ZTP_ENOTFOUND, CLAIM_EXIT_UNKNOWN,
     "claim refused: unknown device or no pending claim"},
    {ZTP_EMISMATCH, CLAIM_EXIT_WRONG_CODE, "claim refused: wrong claim code"},
    {ZTP_ERATELIMIT, CLAIM_EXIT_RATE_LIMITED, "claim refused: rate limited"},
    {ZTP_ESTATE, CLAIM_EXIT_STATE, "claim refused: device not claimable"},
};

static void claim_refused(int rc)
{
	for (size_t i = 0;
	     i < sizeof(claim_refusals) / sizeof(claim_refusals[0]); i++)
		if (claim_refusals[i].rc == rc)
			tool_die_lib_status(rc, claim_refusals[i].status,
					    claim_refusals[i].what);
	tool_die_lib(rc, "claim");
}

static int cmd_claim(const char *config, int argc, char **argv)
{
	static const char *const names[] = {"--device-id", "--code", "--tenant",
					    NULL};
	const char *val[3] = {NULL, NULL, NULL};
	char line[256];
	const char *code;
	ztp_verifier *v;
	int rc;

	parse_opts(argc, argv, "claim", names, val);
	/* No device has a malformed ID; a malformed tenant is its own
	 * refusal. */
	rc = ztp_id_validate(val[0], strlen(val[0]));
	if (rc < 0)
		tool_die_lib_status(rc, CLAIM_EXIT_UNKNOWN,
				    "claim refused: unknown device");
	rc = ztp_id_validate(val[2], strlen(val[2]));
	if (rc < 0)
		tool_die_lib_status(rc, CLAIM_EXIT_BAD_TENANT,
				    "claim refused: bad tenant");
	code = val[1];
	if (strcmp(code, "-") == 0) {
		/* From stdin, so that the code is not in the process list. */
		if (fgets(line, sizeof(line), stdin) == NULL)
			tool_usage_error("claim: no code on standard input");
		line[strcspn(line, "\r\n")] = '\0';
		code = line;
	}
	v = open_verifier(config);
	rc = ztp_verifier_claim(v, val[0], code, val[2]);
	memset(line, 0, sizeof(line));
	if (rc < 0)
		claim_refused(rc);
	ztp_verifier_free(v);
	return TOOL_EXIT_OK;
}

static int cmd_reset(const char *config, int argc, char **argv)
{
	static const char *const names[] = {"--device-id", "--qr", NULL};
	const char *val[2] = {NULL, NULL}, *id, *qrpath;
	char *code = NULL;
	ztp_verifier *v;
	int rc;

	parse_values(argc, argv, "reset", names, val);
	id = val[0];
	qrpath = val[1];
	if (id == NULL)
		tool_usage_error("reset needs --device-id");
	if (qrpath != NULL)
		qr_supported();
	v = open_verifier(config);
	rc = ztp_verifier_reset(v, &code, id);
	if (rc < 0)
		tool_die_lib(rc, "reset");
	printf("%s\n", code);
	fflush(stdout);
	if (qrpath != NULL)
		write_qr(qrpath, id, code);
	tool_free_secret(code);
	ztp_verifier_free(v);
	return TOOL_EXIT_OK;
}

static int cmd_revoke(const char *config, int argc, char **argv)
{
	static const char *const names[] = {"--device-id", NULL};
	const char *val[1] = {NULL};
	ztp_verifier *v;
	int rc;

	parse_opts(argc, argv, "revoke", names, val);
	v = open_verifier(config);
	rc = ztp_verifier_revoke(v, val[0]);
	if (rc < 0)
		tool_die_lib(rc, "revoke");
	ztp_verifier_free(v);
	return TOOL_EXIT_OK;
}

static int cmd_maintain(const char *config, int argc, char **argv)
{
	uint64_t n = 0;
	ztp_verifier *v;
	int rc;

	if (argc > 0)
		tool_usage_error("maintain: unknown argument '%s'", argv[0]);
	v = open_verifier(config);
	rc = ztp_verifier_maintain(v, &n);
	if (rc < 0)
		tool_die_lib(rc, "maintain");
	printf("%llu\n", (unsigned long long)n);
	ztp_verifier_free(v);
	return TOOL_EXIT_OK;
}

/* Exit status of `audit verify` when the log was tampered with. */
#define AUDIT_EXIT_TAMPERED 7
#define AUDIT_EXPORT_MAX (1024u * 1024 * 1024)

/* audit verify | export | checkpoint. */
static int cmd_audit(const char *config, int argc, char **argv)
{
	const char *offline = NULL, *pubkey = NULL, *out = NULL;
	char *pem = NULL, *report = NULL, *data = NULL;
	size_t pem_len = 0, len = 0;
	long long from = 0;
	ztp_verifier *v = NULL;
	const char *why;
	int rc;

	if (argc < 1)
		tool_usage_error("audit needs verify, export or checkpoint");
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			tool_usage_error("%s needs a value", argv[i]);
		if (strcmp(argv[i], "--from") == 0)
			from = tool_parse_ll(argv[++i], 0, INT64_MAX, "--from");
		else if (strcmp(argv[i], "--pubkey") == 0)
			pubkey = argv[++i];
		else if (strcmp(argv[i], "--offline") == 0)
			offline = argv[++i];
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else
			tool_usage_error("audit %s: unknown argument '%s'",
					 argv[0], argv[i]);
	}
	if (pubkey != NULL)
		pem = must_read(pubkey, &pem_len);
	if (strcmp(argv[0], "verify") == 0 && offline != NULL) {
		if (pem == NULL)
			tool_usage_error(
			    "audit verify --offline needs --pubkey");
		rc = tool_load_file(&data, &len, offline, AUDIT_EXPORT_MAX,
				    &why);
		if (rc != ZTP_OK)
			tool_die(rc, "%s: %s", offline, why);
		rc = ztp_verifier_audit_verify_export(data, len, from, pem,
						      pem_len, &report);
	} else if (strcmp(argv[0], "verify") == 0) {
		v = open_verifier(config);
		rc = ztp_verifier_audit_verify(v, from, pem, pem_len, &report);
	} else if (strcmp(argv[0], "export") == 0) {
		v = open_verifier(config);
		rc = ztp_verifier_audit_export(v, from, &data);
		if (rc < 0)
			tool_die_lib(rc, "audit export");
		why = "cannot write standard output";
		if (out != NULL)
			rc = tool_write_file_atomic(out, data, strlen(data),
						    0600, false, &why);
		else
			rc = fputs(data, stdout) < 0 ? ZTP_EIO : ZTP_OK;
		if (rc < 0)
			tool_die(ZTP_EIO, "audit export: %s", why);
		ztp_free(data);
		ztp_verifier_free(v);
		free(pem);
		return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
	} else if (strcmp(argv[0], "checkpoint") == 0) {
		v = open_verifier(config);
		rc = ztp_verifier_audit_checkpoint(v);
		if (rc < 0)
			tool_die_lib(rc, "audit checkpoint");
		ztp_verifier_free(v);
		free(pem);
		return TOOL_EXIT_OK;
	} else {
		tool_usage_error("audit: unknown command '%s'", argv[0]);
	}
	if (report == NULL)
		tool_die_lib(rc, "audit verify");
	printf("%s\n", report);
	if (rc == ZTP_EMISMATCH)
		fprintf(stderr, "ztp-verify: audit log tampered: %s\n",
			ztp_error_last_message());
	ztp_free(report);
	if (offline != NULL)
		free(data);
	ztp_verifier_free(v);
	free(pem);
	if (fflush(stdout) != 0)
		return TOOL_EXIT_FAIL;
	return rc == ZTP_EMISMATCH ? AUDIT_EXIT_TAMPERED : TOOL_EXIT_OK;
}

/* Exit status of import when the run completed but refused lines
 * (ztp-verify(1)). */
#define IMPORT_EXIT_REFUSED 3

/* The progress bar of import, on a terminal only: a log or a pipe gets
 * the summary alone. */
static void import_progress(void *ctx, uint64_t done, uint64_t total,
			    uint64_t lines)
{
	const int width = 40;
	int fill;

	(void)ctx;
	if (total == 0) {
		fprintf(stderr, "\rimport: %llu lines",
			(unsigned long long)lines);
		return;
	}
	if (done > total)
		done = total;
	fill = (int)(done * (uint64_t)width / total);
	fprintf(stderr, "\rimport: [%.*s%*s] %3d%% %llu lines", fill,
		"########################################", width - fill, "",
		(int)(done * 100 / total), (unsigned long long)lines);
}

static int cmd_import(const char *config, int argc, char **argv)
{
	const char *input = NULL, *claims = NULL, *chunk_arg = NULL;
	char *summary = NULL;
	size_t chunk = 0;
	bool tty = isatty(STDERR_FILENO) == 1;
	json_object *o = NULL, *refused = NULL;
	ztp_verifier *v;
	int rc, status;

	for (int i = 0; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--claims") == 0)
			dst = &claims;
		else if (strcmp(argv[i], "--chunk") == 0)
			dst = &chunk_arg;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			tool_usage_error("import: unknown option '%s'",
					 argv[i]);
		if (dst == NULL) {
			if (input != NULL)
				tool_usage_error("import: one FILE only");
			input = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			tool_usage_error("%s needs a value", argv[i]);
		*dst = argv[++i];
	}
	if (input == NULL || claims == NULL)
		tool_usage_error("import needs FILE and --claims FILE");
	if (chunk_arg != NULL)
		chunk = (size_t)tool_parse_ll(chunk_arg, 1, 1000, "--chunk");
	v = open_verifier(config);
	rc = ztp_verifier_import(v, &summary, input, claims, chunk,
				 tty ? import_progress : NULL, NULL);
	if (tty)
		fputc('\n', stderr);
	/* What was committed is in the summary, failure or not. */
	if (summary != NULL) {
		printf("%s\n", summary);
		fflush(stdout);
	}
	if (rc < 0)
		tool_die_lib(rc, "import");
	o = json_tokener_parse(summary);
	status = TOOL_EXIT_OK;
	if (o == NULL || !json_object_object_get_ex(o, "refused", &refused))
		tool_die(ZTP_EINTERNAL, "import: unreadable summary");
	if (json_object_get_int64(refused) > 0)
		status = IMPORT_EXIT_REFUSED;
	json_object_put(o);
	ztp_free(summary);
	ztp_verifier_free(v);
	return status;
}

/* Print each element of a JSON array as one line; the number printed and
 * the last element (a new reference, or NULL) for the next page. */
static size_t print_lines(const char *json, json_object **last)
{
	json_object *arr = json_tokener_parse(json);
	size_t n, i;

	*last = NULL;
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		tool_die(ZTP_EINTERNAL, "unreadable answer from the library");
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		puts(json_object_to_json_string_ext(
		    json_object_array_get_idx(arr, i),
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (n > 0)
		*last = json_object_get(json_object_array_get_idx(arr, n - 1));
	json_object_put(arr);
	return n;
}

static const char *member_str(json_object *o, const char *key)
{
	json_object *m = NULL;

	if (!json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		tool_die(ZTP_EINTERNAL, "answer without %s", key);
	return json_object_get_string(m);
}

/* --limit N: at most N records, else all; pages of the library's most. */
static long long parse_limit(const char *arg)
{
	return arg != NULL ? tool_parse_ll(arg, 1, 1000000000LL, "--limit")
			   : -1;
}

static int cmd_list(const char *config, int argc, char **argv)
{
	/* Five filters, then --after and --limit. */
	static const char *const names[] = {"--state", "--tenant", "--model",
					    "--batch", "--group",  "--after",
					    "--limit", NULL};
	const char *val[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	const char *after_arg, *limit_arg;
	json_object *filter = json_object_new_object(), *last = NULL;
	char *after = NULL, *page = NULL;
	long long left;
	ztp_verifier *v;
	size_t want, got;
	int rc;

	if (filter == NULL)
		tool_die(ZTP_ENOMEM, "out of memory");
	parse_values(argc, argv, "list", names, val);
	after_arg = val[5];
	limit_arg = val[6];
	for (size_t k = 0; k < 5; k++)
		if (val[k] != NULL)
			json_object_object_add(filter, names[k] + 2,
					       json_object_new_string(val[k]));
	left = parse_limit(limit_arg);
	if (after_arg != NULL && (after = strdup(after_arg)) == NULL)
		tool_die(ZTP_ENOMEM, "out of memory");
	v = open_verifier(config);
	do {
		want = left < 0 || left > 1000 ? 1000 : (size_t)left;
		rc = ztp_verifier_device_list(
		    v, &page, json_object_to_json_string(filter), after, want);
		if (rc < 0)
			tool_die_lib(rc, "list");
		got = print_lines(page, &last);
		ztp_free(page);
		page = NULL;
		free(after);
		after = NULL;
		if (last != NULL &&
		    (after = strdup(member_str(last, "device_id"))) == NULL)
			tool_die(ZTP_ENOMEM, "out of memory");
		json_object_put(last);
		if (left > 0)
			left -= (long long)got;
	} while (got == want && left != 0);
	free(after);
	json_object_put(filter);
	ztp_verifier_free(v);
	return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

static int cmd_expiring(const char *config, int argc, char **argv)
{
	static const char *const names[] = {"--days", "--limit", NULL};
	const char *val[2] = {NULL, NULL}, *days_arg, *limit_arg;
	json_object *last = NULL;
	char *serial = NULL, *page = NULL;
	int64_t before, after_time = 0;
	long long left;
	ztp_verifier *v;
	size_t want, got;
	int rc;

	parse_values(argc, argv, "expiring", names, val);
	days_arg = val[0];
	limit_arg = val[1];
	if (days_arg == NULL)
		tool_usage_error("expiring needs --days N");
	before = (int64_t)time(NULL) +
		 tool_parse_ll(days_arg, 0, 36500, "--days") * 86400;
	left = parse_limit(limit_arg);
	v = open_verifier(config);
	do {
		want = left < 0 || left > 1000 ? 1000 : (size_t)left;
		rc = ztp_verifier_cert_expiring(v, &page, before, after_time,
						serial, want);
		if (rc < 0)
			tool_die_lib(rc, "expiring");
		got = print_lines(page, &last);
		ztp_free(page);
		page = NULL;
		free(serial);
		serial = NULL;
		if (last != NULL) {
			json_object *t = NULL;

			if (!json_object_object_get_ex(last, "not_after", &t))
				tool_die(ZTP_EINTERNAL,
					 "answer without not_after");
			after_time = json_object_get_int64(t);
			serial = strdup(member_str(last, "serial"));
			if (serial == NULL)
				tool_die(ZTP_ENOMEM, "out of memory");
		}
		json_object_put(last);
		if (left > 0)
			left -= (long long)got;
	} while (got == want && left != 0);
	free(serial);
	ztp_verifier_free(v);
	return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

static int group_add(const char *config, int argc, char **argv)
{
	static const char *const names[] = {
	    "--id",    "--issuer-cert", "--pattern", "--model",
	    "--batch", "--cap",		"--expires"};
	static const char *const keys[] = {"group_id", NULL, "device_pattern",
					   "model", "batch"};
	const char *val[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	json_object *g = json_object_new_object();
	bool disabled = false;
	int64_t expires = 0;
	char *pem;
	size_t len = 0;
	ztp_verifier *v;
	int rc;

	if (g == NULL)
		tool_die(ZTP_ENOMEM, "out of memory");
	for (int i = 0; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--disabled") == 0) {
			disabled = true;
			continue;
		}
		for (size_t k = 0; k < 7; k++)
			if (strcmp(argv[i], names[k]) == 0)
				dst = &val[k];
		if (dst == NULL)
			tool_usage_error("group add: unknown argument '%s'",
					 argv[i]);
		if (i + 1 >= argc)
			tool_usage_error("%s needs a value", argv[i]);
		*dst = argv[++i];
	}
	if (val[0] == NULL || val[1] == NULL)
		tool_usage_error("group add needs --id and --issuer-cert");
	for (size_t k = 0; k < 5; k++)
		if (keys[k] != NULL && val[k] != NULL)
			json_object_object_add(g, keys[k],
					       json_object_new_string(val[k]));
	if (val[5] != NULL)
		json_object_object_add(
		    g, "cap",
		    json_object_new_int64(
			tool_parse_ll(val[5], 1, 9007199254740992LL, "--cap")));
	if (val[6] != NULL) {
		if (parse_rfc3339(val[6], &expires) < 0)
			tool_usage_error("--expires: '%s' is not an RFC 3339 "
					 "time",
					 val[6]);
		json_object_object_add(g, "expires_at",
				       json_object_new_int64(expires));
	}
	if (disabled)
		json_object_object_add(g, "enabled",
				       json_object_new_boolean(0));
	v = open_verifier(config);
	pem = must_read(val[1], &len);
	json_object_object_add(g, "issuer_cert", json_object_new_string(pem));
	free(pem);
	rc = ztp_verifier_group_add(v, json_object_to_json_string(g));
	json_object_put(g);
	if (rc < 0)
		tool_die_lib(rc, "group add");
	ztp_verifier_free(v);
	return TOOL_EXIT_OK;
}

static int cmd_group(const char *config, int argc, char **argv)
{
	static const char *const names[] = {"--id", NULL};
	const char *val[1] = {NULL};
	json_object *last = NULL;
	char *page = NULL, *after = NULL;
	ztp_verifier *v;
	size_t got;
	int rc;

	if (argc < 1)
		tool_usage_error("group needs add, list, disable or enable");
	if (strcmp(argv[0], "add") == 0)
		return group_add(config, argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0) {
		if (argc > 1)
			tool_usage_error("group list: unknown argument '%s'",
					 argv[1]);
		v = open_verifier(config);
		do {
			rc = ztp_verifier_group_list(v, &page, after, 1000);
			if (rc < 0)
				tool_die_lib(rc, "group list");
			got = print_lines(page, &last);
			ztp_free(page);
			free(after);
			after = NULL;
			if (last != NULL &&
			    (after = strdup(member_str(last, "group_id"))) ==
				NULL)
				tool_die(ZTP_ENOMEM, "out of memory");
			json_object_put(last);
		} while (got == 1000);
		free(after);
		ztp_verifier_free(v);
		return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
	}
	if (strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0) {
		parse_opts(argc - 1, argv + 1, argv[0], names, val);
		v = open_verifier(config);
		rc = ztp_verifier_group_set_enabled(
		    v, val[0], strcmp(argv[0], "enable") == 0);
		if (rc < 0)
			tool_die_lib(rc, argv[0]);
		ztp_verifier_free(v);
		return TOOL_EXIT_OK;
	}
	tool_usage_error("group: unknown subcommand '%s'", argv[0]);
}

static int cmd_handle(const char *config, int argc, char **argv)
{
	const char *endpoint = NULL, *peerpath = NULL;
	char *peer = NULL, *body, *out = NULL;
	size_t peerlen = 0, len = 0, cap = 0, r;
	ztp_verifier *v;
	int status = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--peer-cert") == 0) {
			if (i + 1 >= argc)
				tool_usage_error("--peer-cert needs a value");
			peerpath = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			tool_usage_error("handle: unknown option '%s'",
					 argv[i]);
		} else if (endpoint == NULL) {
			endpoint = argv[i];
		} else {
			tool_usage_error("handle: one ENDPOINT only");
		}
	}
	if (endpoint == NULL)
		tool_usage_error("handle needs an ENDPOINT");
	v = open_verifier(config);
	if (peerpath != NULL)
		peer = must_read(peerpath, &peerlen);
	/* Read one byte past the largest limit so that the library, not
	 * this tool, decides what is too large. */
	body = malloc(REQUEST_MAX + 2);
	if (body == NULL)
		tool_die(ZTP_ENOMEM, "out of memory");
	cap = REQUEST_MAX + 1;
	while (len < cap && (r = fread(body + len, 1, cap - len, stdin)) > 0)
		len += r;
	if (ferror(stdin))
		tool_die(ZTP_EIO, "cannot read the request from stdin");
	rc = ztp_verifier_handle(v, &status, &out, endpoint, body, len, peer,
				 peerlen);
	free(body);
	free(peer);
	if (rc < 0)
		tool_die_lib(rc, "handle");
	printf("%s\n", out);
	fflush(stdout);
	ztp_free(out);
	ztp_verifier_free(v);
	return status >= 200 && status < 300 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

static int cmd_check_cert(int argc, char **argv)
{
	const char *trust = NULL, *untrusted = NULL, *issuers = NULL,
		   *at = NULL, *certpath = NULL;
	char *tpem, *upem = NULL, *ipem, *cpem, *json = NULL;
	size_t tlen, ulen = 0, ilen, clen;
	int64_t when = 0;
	ztp_verifier *v = NULL;
	int rc;

	read_fail_code = ZTP_EINVAL;
	for (int i = 0; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--trust") == 0)
			dst = &trust;
		else if (strcmp(argv[i], "--untrusted") == 0)
			dst = &untrusted;
		else if (strcmp(argv[i], "--issuers") == 0)
			dst = &issuers;
		else if (strcmp(argv[i], "--at") == 0)
			dst = &at;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			tool_usage_error("check-cert: unknown option '%s'",
					 argv[i]);
		if (dst == NULL) {
			if (certpath != NULL)
				tool_usage_error("check-cert: one CERT only");
			certpath = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			tool_usage_error("%s needs a value", argv[i]);
		*dst = argv[++i];
	}
	if (trust == NULL || certpath == NULL)
		tool_usage_error("check-cert needs --trust F and CERT");
	if (at != NULL && parse_rfc3339(at, &when) < 0)
		tool_usage_error("--at: '%s' is not an RFC 3339 time", at);

	tpem = must_read(trust, &tlen);
	if (untrusted != NULL)
		upem = must_read(untrusted, &ulen);
	cpem = must_read(certpath, &clen);
	if (issuers != NULL) {
		ipem = must_read(issuers, &ilen);
	} else {
		/* Default allowlist: every CA the caller named. */
		ilen = tlen + 1 + ulen;
		ipem = malloc(ilen + 1);
		if (ipem == NULL)
			tool_die(ZTP_ENOMEM, "out of memory");
		memcpy(ipem, tpem, tlen);
		ipem[tlen] = '\n';
		if (ulen > 0)
			memcpy(ipem + tlen + 1, upem, ulen);
		ipem[ilen] = '\0';
	}
	rc = ztp_verifier_new(&v);
	if (rc < 0)
		tool_die_lib(rc, "cannot create a verifier");
	rc = ztp_verifier_set_trust_anchors(v, tpem, tlen);
	if (rc < 0)
		tool_die(ZTP_EINVAL, "--trust %s: %s", trust,
			 ztp_error_last_message());
	rc = ztp_verifier_set_issuers(v, ipem, ilen);
	if (rc < 0)
		tool_die(ZTP_EINVAL, "--issuers: %s", ztp_error_last_message());
	rc = ztp_verifier_check_cert(v, &json, cpem, clen, upem, ulen, when);
	if (json == NULL) {
		/* No verdict: the input could not be used at all. */
		tool_die(ZTP_EINVAL, "%s", ztp_error_last_message());
	}
	if (rc == ZTP_OK) {
		printf("%s\n", json);
	} else {
		const char *code = strstr(json, "\"code\":\"");
		int n = 0;

		if (code != NULL) {
			code += 8;
			while (code[n] != '\0' && code[n] != '"')
				n++;
		}
		fprintf(stderr, "%s: %.*s: %s\n", tool_prog(), n,
			code ? code : "", ztp_error_last_message());
	}
	ztp_free(json);
	ztp_verifier_free(v);
	free(tpem);
	free(upem);
	free(ipem);
	free(cpem);
	return rc == ZTP_OK ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	int i = 1;

	tool_init("ztp-verify");
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("ztp-verify %s\n", ztp_version());
		return TOOL_EXIT_OK;
	}
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return TOOL_EXIT_OK;
	}
	if (ztp_init() < 0)
		tool_die_lib(ztp_error_last_code(), "cannot initialise libztp");
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[i + 1];
			i += 2;
		} else {
			usage(stderr);
			tool_usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		tool_usage_error("no command given");
	}
	if (strcmp(argv[i], "enroll") == 0)
		return cmd_enroll(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "handle") == 0)
		return cmd_handle(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "check-cert") == 0)
		return cmd_check_cert(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "claim") == 0)
		return cmd_claim(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "reset") == 0)
		return cmd_reset(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "revoke") == 0)
		return cmd_revoke(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "maintain") == 0)
		return cmd_maintain(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "audit") == 0)
		return cmd_audit(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "import") == 0)
		return cmd_import(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "list") == 0)
		return cmd_list(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "expiring") == 0)
		return cmd_expiring(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "group") == 0)
		return cmd_group(config, argc - i - 1, argv + i + 1);
	usage(stderr);
	tool_usage_error("unknown command '%s'", argv[i]);
}
