/*
 * libztp example flows: what the four C examples share (see flow.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include "flow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

void flow_step(flow *f, const char *fmt, ...)
{
	va_list ap;

	printf("\n[%d] ", ++f->step);
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void flow_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("      ", fmt, ap);
	va_end(ap);
}

void flow_expect(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(cond ? "    ok  " : "    FAIL ", fmt, ap);
	va_end(ap);
	if (!cond)
		exit(1);
}

void flow_ok(int rc, const char *what)
{
	if (rc == ZTP_OK)
		return;
	printf("    FAIL %s: %s (%s)\n", what, ztp_error_last_message(),
	       ztp_status_name(rc));
	exit(1);
}

static void die(const char *what)
{
	printf("    FAIL %s\n", what);
	exit(1);
}

void flow_path(char out[FLOW_PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, FLOW_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= FLOW_PATH_MAX)
		die("path too long");
}

void flow_begin(flow *f, int argc, char **argv, const char *title)
{
	char path[FLOW_PATH_MAX], key[FLOW_PATH_MAX];

	memset(f, 0, sizeof(*f));
	if (argc != 3) {
		fprintf(stderr,
			"usage: %s DEPLOYMENT_DIR SERVER_URL\n"
			"(examples/flows/run.sh sets up both)\n",
			argv[0]);
		exit(2);
	}
	f->dir = argv[1];
	f->url = argv[2];
	printf("libztp example: %s (C, libztp %s)\n", title, ztp_version());
	printf("deployment %s, server %s\n", f->dir, f->url);

	/* The platform: a verifier configured like the server's. */
	flow_path(path, "%s/verify.json", f->dir);
	flow_ok(ztp_verifier_new(&f->platform), "ztp_verifier_new");
	flow_ok(ztp_verifier_load_config(f->platform, path),
		"ztp_verifier_load_config");
	flow_path(path, "sqlite:%s/registry.db", f->dir);
	flow_ok(ztp_store_open(&f->registry, path), "ztp_store_open");

	/* The manufacturer: its issuing CA, recording what it issues in a
	 * log of its own (kept in memory here; a factory keeps it). */
	flow_path(path, "%s/pki/acme-factory.pem", f->dir);
	flow_path(key, "%s/pki/acme-factory.key", f->dir);
	flow_ok(ztp_store_open(&f->factory_log, "memory:"), "ztp_store_open");
	flow_ok(ztp_ca_new(&f->factory_ca), "ztp_ca_new");
	flow_ok(ztp_ca_load_files(f->factory_ca, path, key, NULL, NULL),
		"ztp_ca_load_files");
	flow_ok(ztp_ca_set_store(f->factory_ca, f->factory_log),
		"ztp_ca_set_store");
}

int flow_end(flow *f)
{
	ztp_verifier_free(f->platform);
	ztp_store_free(f->registry);
	ztp_ca_free(f->factory_ca);
	ztp_store_free(f->factory_log);
	printf("\nPASSED: every step did what it says\n");
	return 0;
}

/* Write data to a new file with the given mode (never over an old one). */
static void write_file(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
		printf("    FAIL %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* A factory key written to key_path (mode 0600) and a CSR for it, PEM.
 * Nothing but the public key is taken from the CSR by the CA. */
static char *factory_key_and_csr(const char *key_path, const char *device_id)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	BIO *kb = NULL, *cb = BIO_new(BIO_s_mem());
	char *csr = NULL, *data;
	long len;
	int fd;

	if (key == NULL || req == NULL || cb == NULL ||
	    !X509_NAME_add_entry_by_txt(
		X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
		(const unsigned char *)device_id, -1, -1, 0) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_X509_REQ(cb, req))
		die("factory key and CSR (OpenSSL)");
	fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (kb = BIO_new_fd(fd, BIO_CLOSE)) == NULL ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		die("writing the factory key");
	len = BIO_get_mem_data(cb, &data);
	csr = strndup(data, (size_t)len);
	if (csr == NULL)
		die("out of memory");
	BIO_free(kb);
	BIO_free(cb);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return csr;
}

char *flow_manufacture(flow *f, const char *device_id, int enroll)
{
	char dir[FLOW_PATH_MAX], path[FLOW_PATH_MAX], cfg[2 * FLOW_PATH_MAX];
	char *csr, *cert = NULL, *chain = NULL, *both, *code = NULL;
	size_t n;

	flow_path(dir, "%s/devices", f->dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		die("mkdir devices");
	flow_path(dir, "%s/devices/%s", f->dir, device_id);
	if (mkdir(dir, 0700) != 0)
		die("mkdir: the device exists already");

	/* The factory certificate names the device (CN and the SAN URI
	 * urn:ztp:device:ID) and carries the key; nothing else comes from
	 * the CSR. */
	flow_path(path, "%s/factory.key", dir);
	csr = factory_key_and_csr(path, device_id);
	flow_ok(ztp_ca_issue(f->factory_ca, &cert, csr, strlen(csr), device_id,
			     NULL, ZTP_CA_PROFILE_FACTORY, 0),
		"ztp_ca_issue (factory)");
	free(csr);

	/* The device presents its issuing CA after the leaf, as a hint to
	 * build the path to the manufacturer's root. */
	flow_ok(ztp_ca_chain_pem(f->factory_ca, &chain), "ztp_ca_chain_pem");
	n = strlen(cert) + strlen(chain) + 1;
	both = malloc(n);
	if (both == NULL)
		die("out of memory");
	snprintf(both, n, "%s%s", cert, chain);
	flow_path(path, "%s/factory.pem", dir);
	write_file(path, both, 0644);
	free(both);
	ztp_free(chain);

	/* What the device is told at the factory: where the platform is,
	 * which CA to trust for it, what to register as (ztp-device.json(5);
	 * relative paths are relative to the file). Short timeouts and few,
	 * quick retries: a server on 127.0.0.1 answers at once. */
	snprintf(cfg, sizeof(cfg),
		 "{\n"
		 "  \"factory_key\": \"file:factory.key\",\n"
		 "  \"factory_cert\": \"factory.pem\",\n"
		 "  \"base_url\": \"%s\",\n"
		 "  \"ca_file\": \"%s/pki/server-ca.pem\",\n"
		 "  \"state_dir\": \"state\",\n"
		 "  \"connect_timeout_ms\": 5000,\n"
		 "  \"timeout_ms\": 10000,\n"
		 "  \"retry\": {\"max_attempts\": 3, \"base_delay_ms\": 50,\n"
		 "            \"max_delay_ms\": 500, \"max_retry_after_ms\": "
		 "2000},\n"
		 "  \"registration\": {\"device_type\": \"example-sensor\",\n"
		 "                   \"firmware_version\": \"1.0.0\",\n"
		 "                   \"capabilities\": [\"temperature\"]}\n"
		 "}\n",
		 f->url, f->dir);
	flow_path(path, "%s/device.json", dir);
	write_file(path, cfg, 0644);

	/* Enrollment: the platform checks the factory certificate against
	 * the manufacturer's root and issuing CA and records the device by
	 * the certificate's fingerprint. The claim code goes to the buyer
	 * (on the box, say); only its hash is stored. */
	if (enroll)
		flow_ok(ztp_verifier_enroll(f->platform, &code, device_id, cert,
					    strlen(cert), "example-sensor",
					    "batch-1"),
			"ztp_verifier_enroll");
	ztp_free(cert);
	return code;
}

ztp_device *flow_device(flow *f, const char *device_id)
{
	char path[FLOW_PATH_MAX];
	ztp_device *dev = NULL;

	flow_path(path, "%s/devices/%s/device.json", f->dir, device_id);
	flow_ok(ztp_device_new(&dev), "ztp_device_new");
	flow_ok(ztp_device_load_config(dev, path), "ztp_device_load_config");
	return dev;
}

char *flow_read(const char *path)
{
	char *data = calloc(1, 65536);
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (data == NULL || fp == NULL ||
	    (n = fread(data, 1, 65535, fp)) == 0 || ferror(fp)) {
		printf("    FAIL reading %s\n", path);
		exit(1);
	}
	fclose(fp);
	return data;
}

char *flow_operational_pem(ztp_device *dev)
{
	char dir[FLOW_PATH_MAX], slot[8], path[FLOW_PATH_MAX];
	char *json = NULL;

	/* ztp_device(3) documents the layout:
	 * STATE/operational/<slot>/cert.pem, slot from the status. */
	flow_ok(ztp_device_status(dev, &json), "ztp_device_status");
	flow_json(dir, sizeof(dir), json, "state_dir");
	if (!flow_json(slot, sizeof(slot), json,
		       "credentials.operational.slot"))
		die("the device has no operational certificate");
	ztp_free(json);
	flow_path(path, "%s/operational/%s/cert.pem", dir, slot);
	return flow_read(path);
}

ztp_policy *flow_broker(flow *f)
{
	char path[FLOW_PATH_MAX], *pem, *doc = NULL;
	ztp_policy *broker = NULL;

	flow_ok(ztp_policy_new(&broker), "ztp_policy_new");
	flow_path(path, "%s/pki/device-ca.pem", f->dir);
	pem = flow_read(path);
	flow_ok(ztp_policy_add_ca_pem(broker, pem, strlen(pem)),
		"ztp_policy_add_ca_pem");
	free(pem);
	/* A document of one's own (ztp-policy.json(5)) loads the same way;
	 * a document that does not load leaves a policy that denies all. */
	flow_ok(ztp_policy_default_document(&doc),
		"ztp_policy_default_document");
	flow_ok(ztp_policy_load(broker, doc, strlen(doc)), "ztp_policy_load");
	ztp_free(doc);
	return broker;
}

static json_object *lookup(json_object **root, const char *json,
			   const char *path)
{
	json_object *o;
	char key[128];
	const char *p = path, *dot;

	*root = o = json_tokener_parse(json);
	while (o != NULL && *p != '\0') {
		dot = strchr(p, '.');
		snprintf(key, sizeof(key), "%.*s",
			 (int)(dot != NULL ? (size_t)(dot - p) : strlen(p)), p);
		if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
		p = dot != NULL ? dot + 1 : "";
	}
	return o;
}

int flow_json(char *out, size_t cap, const char *json, const char *path)
{
	json_object *root, *o = lookup(&root, json, path);
	int found = o != NULL;
	size_t i, n, len = 0;

	snprintf(out, cap, "%s", found ? json_object_get_string(o) : "");
	/* An array of strings reads better as "a, b, c". */
	if (found && json_object_is_type(o, json_type_array)) {
		out[0] = '\0';
		n = json_object_array_length(o);
		for (i = 0; i < n && len < cap; i++)
			len += (size_t)snprintf(
			    out + len, cap - len, "%s%s", i > 0 ? ", " : "",
			    json_object_get_string(
				json_object_array_get_idx(o, i)));
	}
	json_object_put(root);
	return found;
}

long long flow_json_int(const char *json, const char *path)
{
	json_object *root, *o = lookup(&root, json, path);
	long long v = 0;

	if (o != NULL && json_object_is_type(o, json_type_int))
		v = (long long)json_object_get_int64(o);
	json_object_put(root);
	return v;
}
