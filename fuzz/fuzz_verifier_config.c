/*
 * libztp — fuzz the verifier's configuration file loader
 * (ztp_verifier_load_config): closed schema, ranges, paths resolved
 * against the file's directory, PEM bundles, the device CA and the
 * challenge secret. The referenced files exist (written at start-up) so
 * the loader gets past the file reads.
 *
 * Only `memory:` stores are let through: a mutated `sqlite:` URI would
 * create database files wherever the path points.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <unistd.h>

#include <openssl/err.h>

#include "verifier_pki.h"

static char dir[] = "/tmp/ztp-fuzz-vconfig-XXXXXX";
static char cfg_path[sizeof(dir) + 16];
static const char *const files[] = {"anchors.pem", "issuers.pem", "ca.pem",
				    "ca.key",	   "secret",	  "pass",
				    "config.json"};

static void write_file(const char *name, const void *data, size_t len)
{
	char p[sizeof(dir) + 32];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "wb");
	if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) ||
	    fclose(f) != 0)
		abort();
}

static void remove_dir(void)
{
	char p[sizeof(dir) + 32];
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *cert = NULL, *key = NULL;

	(void)argc;
	(void)argv;
	if (ztp_init() != ZTP_OK || mkdtemp(dir) == NULL ||
	    ztp_ca_create_root(&cert, &key, "/CN=Fuzz Device CA", NULL, 3650) !=
		ZTP_OK)
		abort();
	atexit(remove_dir);
	write_file("anchors.pem", HZ_MAKER_ROOT_PEM, strlen(HZ_MAKER_ROOT_PEM));
	write_file("issuers.pem", HZ_MAKER_ISSUING_PEM,
		   strlen(HZ_MAKER_ISSUING_PEM));
	write_file("ca.pem", cert, strlen(cert));
	write_file("ca.key", key, strlen(key));
	write_file("secret", HZ_VPKI_SECRET, sizeof(HZ_VPKI_SECRET));
	write_file("pass", "fuzz", 4);
	snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", dir);
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
	return 0;
}

/* Would this document open anything but an in-memory store? */
static bool touches_disk(const uint8_t *data, size_t size)
{
	json_object *o = NULL;
	const char *s = NULL;
	bool bad = false;

	if (ztp__json_parse(&o, (const char *)data, size, SIZE_MAX, 0) !=
	    ZTP_OK)
		return false; /* the loader refuses it before any store */
	if (ztp__json_str(o, "store", false, SIZE_MAX, &s, NULL) != ZTP_OK)
		bad = false;
	else if (s != NULL && strcmp(s, "memory:") != 0)
		bad = true;
	json_object_put(o);
	return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ztp_verifier *v = NULL;
	char *stats = NULL;
	int rc;

	if (touches_disk(data, size))
		return 0;
	write_file("config.json", data, size);
	if (ztp_verifier_new(&v) != ZTP_OK)
		abort();
	rc = ztp_verifier_load_config(v, cfg_path);
	FUZZ_ASSERT_RC(rc);
	if (rc == ZTP_OK) {
		/* A loaded configuration answers requests. */
		int status = 0;
		char *resp = NULL;

		FUZZ_ASSERT(ztp_verifier_handle(v, &status, &resp, "challenge",
						"{\"device_id\":\"d\"}", 16,
						NULL, 0) == ZTP_OK);
		FUZZ_ASSERT(resp != NULL);
		ztp_free(resp);
		FUZZ_ASSERT(ztp_verifier_stats(v, &stats) == ZTP_OK);
		ztp_free(stats);
		/* Loading twice is refused, not merged. */
		FUZZ_ASSERT(ztp_verifier_load_config(v, cfg_path) ==
			    ZTP_ESTATE);
	}
	ztp_verifier_free(v);
	ERR_clear_error();
	return 0;
}
