/*
 * libztp — fuzz what a device reads from the network and from its own
 * disk: error answers, challenge answers, certificate answers (bootstrap
 * and operational, checked against the device's key and ID), and the
 * device configuration file.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <unistd.h>

#include <openssl/err.h>

#include "device/internal.h"

/* A fixed P-256 test key (generated for this harness, protects nothing):
 * the seed corpus holds certificates for it, so the checks after the
 * parse (key match, device ID, validity, tenant) are reachable. */
static const char KEY_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/d5bzIQrLYZHfwN/\n"
    "5WT28KU2iI74nbJ6rWaPvvrMxqOhRANCAARv3nggUKwhvkULVmy+qRDJXtnS9PHT\n"
    "4bD+kfnk1M1yLYf3fzLj/ANWjj9J0W8VcKPDA+9cvIVotnMXZgA9rvO/\n"
    "-----END PRIVATE KEY-----\n";

/* A certificate for the same key naming dev-0001 (issued by a throwaway
 * test CA), written next to the config file so that configurations can
 * refer to it. */
static const char CERT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBwzCCAWqgAwIBAgIUPJM5UyX2xpkFrqM44J9GvE2ib/swCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJRnV6eiBSb290MB4XDTI2MTEyNzIyNTQ1OFoXDTM2MTEyNDIy\n"
    "NTQ1OFowEzERMA8GA1UEAwwIZGV2LTAwMDEwWTATBgcqhkjOPQIBBggqhkjOPQMB\n"
    "BwNCAARv3nggUKwhvkULVmy+qRDJXtnS9PHT4bD+kfnk1M1yLYf3fzLj/ANWjj9J\n"
    "0W8VcKPDA+9cvIVotnMXZgA9rvO/o4GaMIGXMAwGA1UdEwEB/wQCMAAwDgYDVR0P\n"
    "AQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMCIGA1UdEQQbMBmGF3Vybjp6\n"
    "dHA6ZGV2aWNlOmRldi0wMDAxMB0GA1UdDgQWBBRNhH7EROFXPYGZsgs4HBFr4TpK\n"
    "RzAfBgNVHSMEGDAWgBTFO2IfuLqZbu+FPEa28L8v2jHZjzAKBggqhkjOPQQDAgNH\n"
    "ADBEAiAMqFQGpVrTq++Zrc4axGpLir/e1hZ/5iS8diqmWBywKwIgVSow8lJQo+oR\n"
    "mmzCAYTH18zc5DakKnvPd/WMogbogSo=\n"
    "-----END CERTIFICATE-----\n";

/* 2026-01-01T00:00:00Z: the seed certificates are valid then. */
#define FUZZ_NOW INT64_C(1767225600)

static EVP_PKEY *key;
static char dir[] = "/tmp/ztp-fuzz-device-XXXXXX";
static char cfg_path[sizeof(dir) + 16];

static void write_file(const char *name, const char *data, size_t len)
{
	char p[sizeof(dir) + 32];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) ||
	    fclose(f) != 0)
		abort();
}

static void remove_dir(void)
{
	static const char *const names[] = {"factory.key", "factory.pem",
					    "ca.pem", "device.json"};
	char p[sizeof(dir) + 32];
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ztp_init() != ZTP_OK ||
	    ztp__pem_privkey(&key, KEY_PEM, strlen(KEY_PEM), NULL) != ZTP_OK ||
	    mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	write_file("factory.key", KEY_PEM, strlen(KEY_PEM));
	write_file("factory.pem", CERT_PEM, strlen(CERT_PEM));
	write_file("ca.pem", CERT_PEM, strlen(CERT_PEM));
	snprintf(cfg_path, sizeof(cfg_path), "%s/device.json", dir);
	return 0;
}

static void error_answer(const uint8_t *data, size_t size)
{
	char code[65], msg[ZTP__DEV_ERRMSG_MAX + 1];
	int64_t ra = 0;
	size_t i;
	int rc = ztp__dev_parse_error(data, size, code, msg, &ra);

	FUZZ_ASSERT_RC(rc);
	/* What reaches logs is printable ASCII, whatever the server sent. */
	for (i = 0; code[i] != '\0'; i++)
		FUZZ_ASSERT(code[i] >= 0x20 && code[i] < 0x7f);
	for (i = 0; msg[i] != '\0'; i++)
		FUZZ_ASSERT(msg[i] >= 0x20 && msg[i] < 0x7f);
	if (rc != ZTP_OK)
		FUZZ_ASSERT(code[0] == '\0' && msg[0] == '\0' && ra == -1);
}

static void answer(const uint8_t *data, size_t size, int kind)
{
	json_object *o = NULL;
	char *nonce = NULL;
	int64_t exp = 0;
	ztp__dev_issued is;
	int rc;

	if (ztp__json_parse(&o, (const char *)data, size, ZTP__DEV_RESP_MAX,
			    0) != ZTP_OK ||
	    o == NULL)
		return;
	if (kind == 1) {
		/* With and without asking for the server's time. */
		int64_t st = 0;

		rc = ztp__dev_parse_challenge(o, true, &nonce, &exp, &st);
		FUZZ_ASSERT_RC(rc);
		FUZZ_ASSERT((rc == ZTP_OK) == (nonce != NULL));
		FUZZ_ASSERT(rc == ZTP_OK || st == -1);
		ztp_free(nonce);
		nonce = NULL;
		rc = ztp__dev_parse_challenge(o, false, &nonce, &exp, &st);
		FUZZ_ASSERT_RC(rc);
		FUZZ_ASSERT((rc == ZTP_OK) == (nonce != NULL));
		FUZZ_ASSERT(st == -1);
		if (nonce != NULL) {
			size_t i;

			/* The nonce goes into the signed transcript
			 * between NUL separators: no NUL, no spaces. */
			FUZZ_ASSERT(nonce[0] != '\0');
			for (i = 0; nonce[i] != '\0'; i++)
				FUZZ_ASSERT(nonce[i] > 0x20 && nonce[i] < 0x7f);
		}
		ztp_free(nonce);
	} else {
		rc = ztp__dev_parse_issued(&is, o, kind == 3, key, "dev-0001",
					   FUZZ_NOW);
		FUZZ_ASSERT_RC(rc);
		if (rc == ZTP_OK) {
			char id[ZTP_ID_MAX + 1];

			/* Accepted: it is for this key and this device, and
			 * still valid. */
			FUZZ_ASSERT(is.cert != NULL && is.chain != NULL);
			FUZZ_ASSERT(
			    EVP_PKEY_eq(X509_get0_pubkey(is.cert), key) == 1);
			FUZZ_ASSERT(ztp__cert_device_id(id, is.cert) ==
					ZTP_OK &&
				    strcmp(id, "dev-0001") == 0);
			FUZZ_ASSERT(is.not_after > FUZZ_NOW);
		}
		ztp__dev_issued_free(&is);
	}
	json_object_put(o);
}

static void config(const uint8_t *data, size_t size)
{
	ztp_device *dev = NULL;

	write_file("device.json", (const char *)data, size);
	if (ztp_device_new(&dev) != ZTP_OK)
		abort();
	FUZZ_ASSERT_RC(ztp_device_load_config(dev, cfg_path));
	ztp_device_free(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		error_answer(data + 1, size - 1);
		break;
	case 4:
		config(data + 1, size - 1);
		break;
	default:
		answer(data + 1, size - 1, data[0] % 5);
		break;
	}
	ERR_clear_error();
	return 0;
}
