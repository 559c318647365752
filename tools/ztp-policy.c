/*
 * ztp-policy — check, lint and export libztp MQTT policies.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Exit status: 0 allow / success, 1 deny / invalid document, 2 error.
 * Scripts depend on this command line; see ztp-policy(1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ztp/ztp.h>

#include "util.h"

#define EXIT_ALLOW 0
#define EXIT_DENY 1
#define EXIT_ERROR 2
#define FILE_MAX (64L * 1024 * 1024)

static const char usage[] =
    "usage: ztp-policy check --policy FILE (--cert FILE --ca FILE | "
    "--device ID [--tenant ID])\n"
    "                        [--client-id ID] --action ACTION --topic "
    "TOPIC [--explain]\n"
    "       ztp-policy namespace --tenant ID --device ID\n"
    "       ztp-policy lint [--strict] FILE\n"
    "       ztp-policy export --format aws-iot --tenant ID FILE\n"
    "       ztp-policy default\n"
    "ACTION is connect, publish, subscribe or receive.\n"
    "Exit status: 0 allow/success, 1 deny/invalid (lint --strict: or\n"
    "warnings), 2 error.\n";

static int fail(const char *what)
{
	tool_report_lib(ztp_error_last_code(), what);
	return EXIT_ERROR;
}

static int usage_error(const char *msg)
{
	tool_report(ZTP_EINVAL, "%s", msg);
	fputs(usage, stderr);
	return EXIT_ERROR;
}

/* Read a whole file (bounded) into a NUL-terminated buffer, or report why
 * not and return NULL. */
static char *slurp(const char *path, size_t *len)
{
	const char *why;
	char *buf;
	int rc;

	rc = tool_load_file(&buf, len, path, FILE_MAX, &why);
	if (rc != ZTP_OK)
		tool_report(rc, "%s: %s", path, why);
	return buf;
}

static int load_policy(ztp_policy **out, const char *path)
{
	int rc = ztp_policy_new(out);

	if (rc < 0)
		return fail("policy");
	/* The library's message names the file. */
	if (ztp_policy_load_file(*out, path) < 0)
		return fail("--policy");
	return 0;
}

enum {
	OPT_POLICY = 1,
	OPT_CERT,
	OPT_CA,
	OPT_DEVICE,
	OPT_TENANT,
	OPT_CLIENT,
	OPT_ACTION,
	OPT_TOPIC,
	OPT_EXPLAIN,
	OPT_FORMAT,
	OPT_HELP
};

static const struct option long_opts[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"cert", required_argument, NULL, OPT_CERT},
    {"ca", required_argument, NULL, OPT_CA},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"tenant", required_argument, NULL, OPT_TENANT},
    {"client-id", required_argument, NULL, OPT_CLIENT},
    {"action", required_argument, NULL, OPT_ACTION},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

typedef struct opts {
	const char *policy, *cert, *ca, *device, *tenant, *client, *action,
	    *topic, *format;
	int explain;
} opts;

static int parse_opts(opts *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY:
			o->policy = optarg;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_DEVICE:
			o->device = optarg;
			break;
		case OPT_TENANT:
			o->tenant = optarg;
			break;
		case OPT_CLIENT:
			o->client = optarg;
			break;
		case OPT_ACTION:
			o->action = optarg;
			break;
		case OPT_TOPIC:
			o->topic = optarg;
			break;
		case OPT_EXPLAIN:
			o->explain = 1;
			break;
		case OPT_FORMAT:
			o->format = optarg;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			exit(EXIT_ALLOW);
		default:
			return -1;
		}
	}
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	ztp_policy *p = NULL;
	char *dev = NULL, *ten = NULL, *pem = NULL, *out = NULL;
	const char *device, *tenant;
	size_t len = 0;
	int action = 0, rc, ret = EXIT_ERROR;
	opts o;

	if (parse_opts(&o, argc, argv) < 0 || optind != argc)
		return usage_error("check: bad arguments");
	if (!o.policy || !o.action || !o.topic)
		return usage_error("check: --policy, --action and --topic are "
				   "required");
	if (!!o.cert != !!o.ca || !!o.cert == !!o.device ||
	    (o.cert && o.tenant))
		return usage_error("check: give either --cert and --ca, or "
				   "--device (and --tenant)");
	if (ztp_policy_action_parse(&action, o.action) < 0)
		return fail("--action");
	if (load_policy(&p, o.policy))
		goto done;
	device = o.device;
	tenant = o.tenant;
	if (o.cert) {
		pem = slurp(o.ca, &len);
		if (!pem)
			goto done;
		if (ztp_policy_add_ca_pem(p, pem, len) < 0) {
			fail(o.ca);
			goto done;
		}
		free(pem);
		pem = slurp(o.cert, &len);
		if (!pem)
			goto done;
		if (ztp_policy_cert_identity(&dev, &ten, p, pem, len) < 0) {
			fail(o.cert);
			goto done;
		}
		device = dev;
		tenant = ten;
	}
	if (o.explain) {
		if (ztp_policy_explain(&out, p, tenant, device, o.client,
				       action, o.topic, strlen(o.topic)) < 0) {
			fail("explain");
			goto done;
		}
		printf("%s\n", out);
	}
	rc = ztp_policy_authorize(p, tenant, device, o.client, action, o.topic,
				  strlen(o.topic));
	if (rc == 0) {
		ret = EXIT_ALLOW;
		if (!o.explain)
			printf("allow\n");
	} else if (rc == ZTP_EDENIED || rc == ZTP_EINVAL) {
		/* a malformed topic or identity is a deny, not a tool error:
		 * the broker would refuse it the same way */
		ret = EXIT_DENY;
		if (!o.explain)
			printf("deny: %s\n", ztp_error_last_message());
	} else {
		fail("check");
	}
done:
	ztp_free(out);
	ztp_free(dev);
	ztp_free(ten);
	free(pem);
	ztp_policy_free(p);
	return ret;
}

static int cmd_namespace(int argc, char **argv)
{
	char *out = NULL;
	opts o;

	if (parse_opts(&o, argc, argv) < 0 || optind != argc || !o.tenant ||
	    !o.device)
		return usage_error("namespace: --tenant and --device are "
				   "required");
	if (ztp_policy_namespace(&out, o.tenant, o.device) < 0)
		return fail("namespace");
	printf("%s\n", out);
	ztp_free(out);
	return EXIT_ALLOW;
}

static int cmd_lint(int argc, char **argv)
{
	char *buf = NULL, *out = NULL;
	size_t len = 0;
	int ret = EXIT_ERROR, rc, strict = 0;
	const char *file;

	if (argc == 3 && strcmp(argv[1], "--strict") == 0)
		strict = 1;
	else if (argc != 2)
		return usage_error("lint: [--strict] FILE");
	file = argv[argc - 1];
	buf = slurp(file, &len);
	if (!buf)
		return EXIT_ERROR;
	rc = ztp_policy_lint(&out, buf, len);
	if (rc == ZTP_EPARSE || rc == ZTP_ETOOBIG) {
		printf("%s: invalid: %s\n", file, ztp_error_last_message());
		ret = EXIT_DENY;
	} else if (rc < 0) {
		fail(file);
	} else {
		int warned = strstr(out, "\"warnings\":[]") == NULL;

		printf("%s\n", out);
		ret = strict && warned ? EXIT_DENY : EXIT_ALLOW;
	}
	ztp_free(out);
	free(buf);
	return ret;
}

static int cmd_export(int argc, char **argv)
{
	ztp_policy *p = NULL;
	char *out = NULL;
	int ret = EXIT_ERROR;
	opts o;

	if (parse_opts(&o, argc, argv) < 0 || optind != argc - 1 || !o.format ||
	    !o.tenant)
		return usage_error("export: --format aws-iot --tenant ID FILE");
	if (load_policy(&p, argv[optind]))
		goto done;
	if (ztp_policy_export(&out, p, o.format, o.tenant) < 0) {
		fail("export");
		goto done;
	}
	printf("%s\n", out);
	ret = EXIT_ALLOW;
done:
	ztp_free(out);
	ztp_policy_free(p);
	return ret;
}

static int cmd_default(int argc, char **argv)
{
	char *out = NULL;

	(void)argv;
	if (argc != 1)
		return usage_error("default: no arguments");
	if (ztp_policy_default_document(&out) < 0)
		return fail("default");
	printf("%s\n", out);
	ztp_free(out);
	return EXIT_ALLOW;
}

int main(int argc, char **argv)
{
	tool_init("ztp-policy");
	if (ztp_init() < 0)
		return fail("init");
	if (argc < 2)
		return usage_error("missing command");
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "namespace") == 0)
		return cmd_namespace(argc - 1, argv + 1);
	if (strcmp(argv[1], "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "default") == 0)
		return cmd_default(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return EXIT_ALLOW;
	}
	return usage_error("unknown command");
}
