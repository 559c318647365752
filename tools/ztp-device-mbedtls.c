/*
 * ztp-device-mbedtls — the device side of zero-touch provisioning on the
 * portable device core and its mbedTLS port: no OpenSSL, libcurl or
 * json-c. See ztp-device-mbedtls(1).
 *
 * Built with ZTP_LITE_PORT_OPENSSL, the same tool on the core's OpenSSL
 * port in libztp (<ztp/port_openssl.h>): tests/ztp-device-lite-openssl,
 * which the tests run through the same cases.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZTP_LITE_PORT_OPENSSL
#include <ztp/port_openssl.h>
#define lite_device_new ztp_lite_openssl_new
static const char *prog = "ztp-device-lite-openssl";
#else
#include <ztp/port_mbedtls.h>
#define lite_device_new ztp_lite_mbedtls_new
static const char *prog = "ztp-device-mbedtls";
#endif

#include "device_exit.h"

struct opts {
	const char *config;
	bool verbose;
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --config FILE [--verbose] [--quiet] COMMAND\n"
		"\n"
		"commands:\n"
		"  bootstrap    obtain a bootstrap certificate with the "
		"factory identity\n"
		"  register     register type, firmware and capabilities\n"
		"  credentials  obtain operational credentials\n"
		"  rotate       rotate the operational credentials now\n"
		"  status       print the stored state as JSON (no network)\n"
		"  assignment   print the device's assignment (tenant, "
		"namespace, policy)\n"
		"  run          do whatever is still needed, safe to repeat\n"
		"\n"
		"options:\n"
		"  -c, --config FILE  device configuration "
		"(ztp-device.json(5))\n"
		"  -v, --verbose      print every event as a JSON line on "
		"stderr\n"
		"  -q, --quiet        print nothing on success\n"
		"  -h, --help         this text\n",
		prog);
}

static void on_event(const char *json, void *ctx)
{
	const struct opts *o = ctx;

	if (o->verbose)
		fprintf(stderr, "%s\n", json);
}

/* What the run cost, for benchmarks and the tests' handshake count. */
static void stats_event(const struct opts *o, const ztp_lite *dev)
{
	if (!o->verbose)
		return;
	fprintf(stderr,
		"{\"event\":\"device.stats\",\"handshakes\":%llu,"
		"\"requests\":%llu,\"bytes_sent\":%llu,"
		"\"bytes_received\":%llu,\"heap_peak\":%llu}\n",
		(unsigned long long)ztp_lite_counter(dev, ZTP_LITE_HANDSHAKES),
		(unsigned long long)ztp_lite_counter(dev, ZTP_LITE_REQUESTS),
		(unsigned long long)ztp_lite_counter(dev, ZTP_LITE_BYTES_SENT),
		(unsigned long long)ztp_lite_counter(dev, ZTP_LITE_BYTES_RECV),
		(unsigned long long)ztp_lite_counter(dev, ZTP_LITE_HEAP_PEAK));
}

static void print_actions(unsigned int did)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {{ZTP_LITE_DID_BOOTSTRAP, "bootstrap"},
		     {ZTP_LITE_DID_REGISTER, "register"},
		     {ZTP_LITE_DID_CREDENTIALS, "credentials"},
		     {ZTP_LITE_DID_ROTATE, "rotate"}};
	bool first = true;
	size_t i;

	if (did == 0) {
		printf("run: nothing to do\n");
		return;
	}
	printf("run: [");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (did & names[i].bit) {
			printf("%s\"%s\"", first ? "" : ",", names[i].name);
			first = false;
		}
	printf("]\n");
}

/* The JSON document fn writes (ztp_lite_status(), ztp_lite_assignment())
 * on stdout. */
static int print_doc(ztp_lite *dev, int (*fn)(ztp_lite *, char *, size_t))
{
	static char doc[ZTP_LITE_BODY_MAX > ZTP_LITE_STATUS_MAX
			    ? ZTP_LITE_BODY_MAX + 1
			    : ZTP_LITE_STATUS_MAX];
	int rc = fn(dev, doc, sizeof(doc));

	if (rc == ZTP_OK)
		printf("%s\n", doc);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct opts o = {NULL, false, false};
	ztp_lite *dev = NULL;
	char err[512];
	const char *cmd;
	unsigned int did = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
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
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (o.config == NULL || optind + 1 != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "bootstrap") != 0 && strcmp(cmd, "register") != 0 &&
	    strcmp(cmd, "credentials") != 0 && strcmp(cmd, "rotate") != 0 &&
	    strcmp(cmd, "status") != 0 && strcmp(cmd, "assignment") != 0 &&
	    strcmp(cmd, "run") != 0) {
		fprintf(stderr, "%s: unknown command \"%s\"\n", prog, cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	rc = lite_device_new(&dev, o.config, on_event, &o, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s: %s: configuration: %s\n", prog,
			ztp_status_name(rc), err);
		return rc == ZTP_ESTATE ? EXIT_LOCAL : EXIT_USAGE;
	}
	if (strcmp(cmd, "bootstrap") == 0)
		rc = ztp_lite_bootstrap(dev);
	else if (strcmp(cmd, "register") == 0)
		rc = ztp_lite_register(dev);
	else if (strcmp(cmd, "credentials") == 0)
		rc = ztp_lite_credentials(dev);
	else if (strcmp(cmd, "rotate") == 0)
		rc = ztp_lite_rotate(dev);
	else if (strcmp(cmd, "status") == 0)
		rc = print_doc(dev, ztp_lite_status);
	else if (strcmp(cmd, "assignment") == 0)
		rc = print_doc(dev, ztp_lite_assignment);
	else
		rc = ztp_lite_run(dev, &did);
	stats_event(&o, dev);
	if (rc < 0)
		fprintf(stderr, "%s: %s: %s: %s\n", prog, ztp_status_name(rc),
			cmd, ztp_lite_error(dev));
	else if (strcmp(cmd, "status") == 0 || strcmp(cmd, "assignment") == 0)
		; /* printed */
	else if (!o.quiet && strcmp(cmd, "run") == 0)
		print_actions(did);
	else if (!o.quiet)
		printf("%s: ok\n", cmd);
	ztp_lite_free(dev);
	return device_exit_for(rc);
}
