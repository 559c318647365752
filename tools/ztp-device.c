/*
 * ztp-device — the device side of zero-touch provisioning, from the shell.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A thin front end over <ztp/device.h>: everything it does goes through
 * the public API. See ztp-device(1).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ztp/ztp.h>

/* Exit codes, documented in ztp-device(1). */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_TRANSIENT = 3,
	EXIT_PROTOCOL = 4,
	EXIT_LOCAL = 5
};

static const char *prog = "ztp-device";

struct opts {
	const char *config;
	bool json;
	bool verbose;
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --config FILE [--json] [--verbose] [--quiet] "
		"COMMAND\n"
		"\n"
		"commands:\n"
		"  bootstrap    obtain a bootstrap certificate with the "
		"factory identity\n"
		"  register     register type, firmware and capabilities\n"
		"  credentials  obtain operational credentials\n"
		"  rotate       replace the operational credentials (probed "
		"first)\n"
		"  assignment   show the tenant, namespace and policy\n"
		"  run          do whatever is still needed, safe to repeat\n"
		"  status       show the stored credentials\n"
		"\n"
		"options:\n"
		"  -c, --config FILE  device configuration "
		"(ztp-device.json(5))\n"
		"  -j, --json         print one JSON object for scripts\n"
		"  -v, --verbose      print every event as a JSON line on "
		"stderr\n"
		"  -q, --quiet        print nothing on success\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the library version\n",
		prog);
}

/* ------------------------------------------------------------------ tiny
 * reader for the library's own JSON */

/*
 * The library's JSON output is compact and flat where this tool reads it,
 * so a bounded scanner suffices; it is never used on input from the
 * network. Finds "key": at nesting depth 1 of the object starting at obj
 * and copies its value: strings unescaped (\uXXXX replaced by '?'), other
 * scalars verbatim, objects as their raw text.
 */
static const char *skip_string(const char *p)
{
	for (p++; *p != '\0' && *p != '"'; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return *p == '"' ? p + 1 : p;
}

static const char *skip_value(const char *p)
{
	int depth = 0;

	if (*p == '"')
		return skip_string(p);
	for (; *p != '\0'; p++) {
		if (*p == '"') {
			p = skip_string(p) - 1;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
	}
	return p;
}

static bool jget(const char *obj, const char *key, char *out, size_t cap)
{
	const char *p = obj, *end;
	size_t klen = strlen(key), n = 0;

	if (cap == 0 || *p != '{')
		return false;
	p++;
	while (*p == '"') {
		const char *k = p + 1;
		const char *kend = skip_string(p);
		bool match =
		    (size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0;

		p = kend;
		if (*p != ':')
			return false;
		p++;
		end = skip_value(p);
		if (match) {
			if (*p == '"') {
				for (p++; p < end - 1 && n + 1 < cap; p++) {
					if (*p == '\\') {
						p++;
						if (*p == 'u') {
							out[n++] = '?';
							p += 4;
							continue;
						}
						out[n++] = *p == 'n'   ? '\n'
							   : *p == 't' ? '\t'
								       : *p;
						continue;
					}
					out[n++] = *p;
				}
			} else {
				for (; p < end && n + 1 < cap; p++)
					out[n++] = *p;
			}
			out[n] = '\0';
			return true;
		}
		p = end;
		if (*p == ',')
			p++;
	}
	return false;
}

/* ------------------------------------------------------------------ output */

static int exit_for(int rc, bool config_phase)
{
	if (rc == ZTP_OK)
		return EXIT_OK;
	if (config_phase)
		return EXIT_USAGE;
	switch (rc) {
	case ZTP_EDENIED:
		return EXIT_REFUSED;
	case ZTP_ENETWORK:
	case ZTP_ERATELIMIT:
		return EXIT_TRANSIENT;
	case ZTP_EPARSE:
	case ZTP_ETOOBIG:
	case ZTP_EMISMATCH:
	case ZTP_EEXPIRED:
	case ZTP_EPROFILE:
		return EXIT_PROTOCOL;
	case ZTP_EINVAL:
	case ZTP_EUNSUPPORTED:
		return EXIT_USAGE;
	default:
		return EXIT_LOCAL;
	}
}

static void print_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* phase: 'c' configuration, 'n' network operation, 'l' local only (a
 * malformed file there is the device's own state, not a bad answer). */
static int fail(const struct opts *o, const char *cmd, int rc, char phase)
{
	int code = phase == 'l' ? (rc == ZTP_EINVAL ? EXIT_USAGE : EXIT_LOCAL)
				: exit_for(rc, phase == 'c');
	const char *msg = ztp_error_last_message();

	if (o->json) {
		printf("{\"ok\":false,\"command\":");
		print_json_string(stdout, cmd);
		printf(",\"exit\":%d,\"error\":{\"code\":", code);
		print_json_string(stdout, ztp_status_name(rc));
		printf(",\"message\":");
		print_json_string(stdout, msg);
		printf("}}\n");
	}
	fprintf(stderr, "%s: %s: %s: %s\n", prog, cmd, ztp_strerror(rc), msg);
	return code;
}

static void on_event(const char *json, void *ctx)
{
	const struct opts *o = ctx;
	char ev[32], outcome[16], ep[32], st[8], delay[24], attempt[8];

	if (o->verbose) {
		fprintf(stderr, "%s\n", json);
		return;
	}
	if (o->quiet || o->json)
		return;
	/* Without --verbose, only retries are worth a line: they explain
	 * why the command takes long. */
	if (!jget(json, "event", ev, sizeof(ev)) ||
	    strcmp(ev, "device.http") != 0 ||
	    !jget(json, "outcome", outcome, sizeof(outcome)) ||
	    strcmp(outcome, "retry") != 0)
		return;
	if (!jget(json, "endpoint", ep, sizeof(ep)))
		ep[0] = '\0';
	if (!jget(json, "http_status", st, sizeof(st)))
		strcpy(st, "0");
	if (!jget(json, "delay_ms", delay, sizeof(delay)))
		strcpy(delay, "0");
	if (!jget(json, "attempt", attempt, sizeof(attempt)))
		strcpy(attempt, "?");
	if (strcmp(st, "0") == 0)
		fprintf(stderr,
			"%s: %s: attempt %s failed (network), retrying "
			"in %s ms\n",
			prog, ep, attempt, delay);
	else
		fprintf(stderr,
			"%s: %s: attempt %s got HTTP %s, retrying in "
			"%s ms\n",
			prog, ep, attempt, st, delay);
}

static void print_cred(const char *label, const char *creds)
{
	char obj[4096], v[128], na[64], slot[4], serial[64];
	bool expired;

	if (!jget(creds, label, obj, sizeof(obj)) || strcmp(obj, "null") == 0) {
		printf("%-12s none\n", label);
		return;
	}
	if (!jget(obj, "slot", slot, sizeof(slot)))
		strcpy(slot, "?");
	if (!jget(obj, "not_after", na, sizeof(na)))
		strcpy(na, "?");
	if (!jget(obj, "serial", serial, sizeof(serial)))
		strcpy(serial, "?");
	expired = jget(obj, "expired", v, sizeof(v)) && strcmp(v, "true") == 0;
	printf("%-12s slot %s, serial %s, valid until %s%s\n", label, slot,
	       serial, na, expired ? " (EXPIRED)" : "");
	if (jget(obj, "tenant", v, sizeof(v)) && strcmp(v, "null") != 0)
		printf("%-12s %s\n", "tenant", v);
}

static int show_status(const struct opts *o, ztp_device *dev, const char *cmd,
		       const char *extra)
{
	char *json = NULL;
	char id[80], dir[4096], creds[16384];
	int rc;

	rc = ztp_device_status(dev, &json);
	if (rc < 0)
		return fail(o, cmd, rc, strcmp(cmd, "status") == 0 ? 'l' : 'n');
	if (o->json) {
		printf("{\"ok\":true,\"command\":");
		print_json_string(stdout, cmd);
		printf(",%s\"status\":%s}\n", extra != NULL ? extra : "", json);
	} else if (!o->quiet || strcmp(cmd, "status") == 0) {
		if (!jget(json, "device_id", id, sizeof(id)))
			strcpy(id, "?");
		if (!jget(json, "state_dir", dir, sizeof(dir)))
			strcpy(dir, "?");
		if (strcmp(cmd, "status") != 0 && extra == NULL)
			printf("%s: ok\n", cmd);
		printf("%-12s %s\n", "device", id);
		printf("%-12s %s\n", "state dir", dir);
		if (jget(json, "credentials", creds, sizeof(creds))) {
			print_cred("bootstrap", creds);
			print_cred("operational", creds);
		}
		if (jget(json, "registration", creds, sizeof(creds)) &&
		    strcmp(creds, "null") != 0) {
			char t[80], fw[80];

			if (!jget(creds, "device_type", t, sizeof(t)))
				strcpy(t, "?");
			if (!jget(creds, "firmware_version", fw, sizeof(fw)))
				strcpy(fw, "?");
			printf("%-12s %s, firmware %s\n", "registered", t, fw);
		}
	}
	ztp_free(json);
	return EXIT_OK;
}

static int show_assignment(const struct opts *o, ztp_device *dev)
{
	char *json = NULL;
	char v[512];
	int rc;

	rc = ztp_device_assignment(dev, &json);
	if (rc < 0)
		return fail(o, "assignment", rc, 'n');
	if (o->json) {
		printf("{\"ok\":true,\"command\":\"assignment\","
		       "\"assignment\":%s}\n",
		       json);
	} else if (!o->quiet) {
		if (!jget(json, "tenant", v, sizeof(v)))
			strcpy(v, "null");
		printf("%-12s %s\n", "tenant",
		       strcmp(v, "null") == 0 ? "(none)" : v);
		if (!jget(json, "namespace", v, sizeof(v)))
			strcpy(v, "null");
		printf("%-12s %s\n", "namespace",
		       strcmp(v, "null") == 0 ? "(none)" : v);
		printf("%-12s %s\n", "assignment", json);
	}
	ztp_free(json);
	return EXIT_OK;
}

static int do_run(const struct opts *o, ztp_device *dev)
{
	char *report = NULL, *extra = NULL, actions[512];
	int rc, code;
	size_t n;

	rc = ztp_device_run(dev, &report);
	if (rc < 0)
		return fail(o, "run", rc, 'n');
	if (!jget(report, "actions", actions, sizeof(actions)))
		strcpy(actions, "[]");
	if (!o->json && !o->quiet)
		printf("run: %s\n",
		       strcmp(actions, "[]") == 0 ? "nothing to do" : actions);
	n = strlen(actions) + sizeof("\"actions\":,");
	extra = malloc(n);
	if (extra == NULL) {
		ztp_free(report);
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_LOCAL;
	}
	snprintf(extra, n, "\"actions\":%s,", actions);
	code = show_status(o, dev, "run", extra);
	free(extra);
	ztp_free(report);
	return code;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	struct opts o = {0};
	ztp_device *dev = NULL;
	const char *cmd;
	int ch, rc = 0, code;

	while ((ch = getopt_long(argc, argv, "c:jvqhV", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ztp-device (libztp) %s\n", ztp_version());
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || o.config == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "bootstrap") != 0 && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "register") != 0 && strcmp(cmd, "credentials") != 0 &&
	    strcmp(cmd, "rotate") != 0 && strcmp(cmd, "assignment") != 0 &&
	    strcmp(cmd, "run") != 0) {
		fprintf(stderr, "%s: unknown command \"%s\"\n", prog, cmd);
		usage(stderr);
		return EXIT_USAGE;
	}

	rc = ztp_device_new(&dev);
	if (rc < 0)
		return fail(&o, cmd, rc, 'n');
	rc = ztp_device_load_config(dev, o.config);
	if (rc < 0) {
		code = fail(&o, cmd, rc, 'c');
		goto out;
	}
	rc = ztp_device_set_event_callback(dev, on_event, &o);
	if (rc < 0) {
		code = fail(&o, cmd, rc, 'n');
		goto out;
	}

	if (strcmp(cmd, "assignment") == 0) {
		code = show_assignment(&o, dev);
		goto out;
	}
	if (strcmp(cmd, "run") == 0) {
		code = do_run(&o, dev);
		goto out;
	}
	if (strcmp(cmd, "bootstrap") == 0)
		rc = ztp_device_bootstrap(dev);
	else if (strcmp(cmd, "register") == 0)
		rc = ztp_device_register(dev);
	else if (strcmp(cmd, "credentials") == 0)
		rc = ztp_device_credentials(dev);
	else if (strcmp(cmd, "rotate") == 0)
		rc = ztp_device_rotate(dev);
	if (rc < 0) {
		code = fail(&o, cmd, rc, 'n');
		goto out;
	}
	code = show_status(&o, dev, cmd, NULL);
out:
	ztp_device_free(dev);
	return code;
}
