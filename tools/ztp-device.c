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

#include <json-c/json.h>
#include <ztp/ztp.h>

#include "device_exit.h"
#include "util.h"

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

/* ------------------------------------------------------------------ the
 * library's JSON */

/*
 * The library's answers are read with json-c, the parser the library
 * itself uses. jstr() gives a member's text: strings as they are, other
 * scalars and objects in their JSON form; NULL when the member is absent
 * or null. The text belongs to the parsed object.
 */
static const char *jstr(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static const char *jstr_or(json_object *obj, const char *key, const char *dflt)
{
	const char *v = jstr(obj, key);

	return v != NULL ? v : dflt;
}

static json_object *jobj(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static bool jis(json_object *obj, const char *key, const char *want)
{
	const char *v = jstr(obj, key);

	return v != NULL && strcmp(v, want) == 0;
}

/* ------------------------------------------------------------------ output */

static int exit_for(int rc, bool config_phase)
{
	if (rc != ZTP_OK && config_phase)
		return EXIT_USAGE;
	return device_exit_for(rc);
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
	tool_report_lib(rc, cmd);
	return code;
}

static void on_event(const char *json, void *ctx)
{
	const struct opts *o = ctx;
	json_object *ev;
	const char *ep, *st, *delay, *attempt;

	if (o->verbose) {
		fprintf(stderr, "%s\n", json);
		return;
	}
	if (o->quiet || o->json)
		return;
	/* Without --verbose, only retries are worth a line: they explain
	 * why the command takes long. */
	ev = json_tokener_parse(json);
	if (!jis(ev, "event", "device.http") || !jis(ev, "outcome", "retry")) {
		json_object_put(ev);
		return;
	}
	ep = jstr_or(ev, "endpoint", "");
	st = jstr_or(ev, "http_status", "0");
	delay = jstr_or(ev, "delay_ms", "0");
	attempt = jstr_or(ev, "attempt", "?");
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
	json_object_put(ev);
}

static void print_cred(const char *label, json_object *creds)
{
	json_object *c = jobj(creds, label);
	const char *tenant;

	if (c == NULL) {
		printf("%-12s none\n", label);
		return;
	}
	printf("%-12s slot %s, serial %s, valid until %s%s\n", label,
	       jstr_or(c, "slot", "?"), jstr_or(c, "serial", "?"),
	       jstr_or(c, "not_after", "?"),
	       jis(c, "expired", "true") ? " (EXPIRED)" : "");
	tenant = jstr(c, "tenant");
	if (tenant != NULL)
		printf("%-12s %s\n", "tenant", tenant);
}

static int show_status(const struct opts *o, ztp_device *dev, const char *cmd,
		       const char *extra)
{
	char *json = NULL;
	json_object *st, *reg;
	int rc;

	rc = ztp_device_status(dev, &json);
	if (rc < 0)
		return fail(o, cmd, rc, strcmp(cmd, "status") == 0 ? 'l' : 'n');
	if (o->json) {
		printf("{\"ok\":true,\"command\":");
		print_json_string(stdout, cmd);
		printf(",%s\"status\":%s}\n", extra != NULL ? extra : "", json);
	} else if (!o->quiet || strcmp(cmd, "status") == 0) {
		st = json_tokener_parse(json);
		if (strcmp(cmd, "status") != 0 && extra == NULL)
			printf("%s: ok\n", cmd);
		printf("%-12s %s\n", "device", jstr_or(st, "device_id", "?"));
		printf("%-12s %s\n", "state dir",
		       jstr_or(st, "state_dir", "?"));
		if (jobj(st, "credentials") != NULL) {
			print_cred("bootstrap", jobj(st, "credentials"));
			print_cred("operational", jobj(st, "credentials"));
		}
		reg = jobj(st, "registration");
		if (reg != NULL)
			printf("%-12s %s, firmware %s\n", "registered",
			       jstr_or(reg, "device_type", "?"),
			       jstr_or(reg, "firmware_version", "?"));
		json_object_put(st);
	}
	ztp_free(json);
	return EXIT_OK;
}

static int show_assignment(const struct opts *o, ztp_device *dev)
{
	char *json = NULL;
	json_object *as;
	int rc;

	rc = ztp_device_assignment(dev, &json);
	if (rc < 0)
		return fail(o, "assignment", rc, 'n');
	if (o->json) {
		printf("{\"ok\":true,\"command\":\"assignment\","
		       "\"assignment\":%s}\n",
		       json);
	} else if (!o->quiet) {
		as = json_tokener_parse(json);
		printf("%-12s %s\n", "tenant", jstr_or(as, "tenant", "(none)"));
		printf("%-12s %s\n", "namespace",
		       jstr_or(as, "namespace", "(none)"));
		printf("%-12s %s\n", "assignment", json);
		json_object_put(as);
	}
	ztp_free(json);
	return EXIT_OK;
}

static int do_run(const struct opts *o, ztp_device *dev)
{
	char *report = NULL, *extra = NULL;
	json_object *rep, *acts = NULL;
	const char *actions = "[]";
	int rc, code;
	size_t n;

	rc = ztp_device_run(dev, &report);
	if (rc < 0)
		return fail(o, "run", rc, 'n');
	rep = json_tokener_parse(report);
	if (rep != NULL && json_object_object_get_ex(rep, "actions", &acts) &&
	    json_object_is_type(acts, json_type_array))
		actions = json_object_to_json_string_ext(
		    acts,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!o->json && !o->quiet)
		printf("run: %s\n",
		       strcmp(actions, "[]") == 0 ? "nothing to do" : actions);
	n = strlen(actions) + sizeof("\"actions\":,");
	extra = malloc(n);
	if (extra == NULL) {
		json_object_put(rep);
		ztp_free(report);
		tool_report(ZTP_ENOMEM, "run: out of memory");
		return EXIT_LOCAL;
	}
	snprintf(extra, n, "\"actions\":%s,", actions);
	code = show_status(o, dev, "run", extra);
	free(extra);
	json_object_put(rep);
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

	tool_init(prog);
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
