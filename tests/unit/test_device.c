/*
 * Unit tests for the device module: configuration, protocol encoding and
 * parsing, retry policy, credential storage and resume.
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include "device/internal.h"
#include "devport/host.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ztp/port_openssl.h>

#include "testutil.h"

/* ------------------------------------------------------------------ fixtures
 */

static char *tmp;
static EVP_PKEY *ca_key;
static X509 *ca_cert;

static X509 *mkcert(const char *cn, EVP_PKEY *pub, EVP_PKEY *signer,
		    X509 *issuer, int64_t nb, int64_t na, const char *san)
{
	X509 *c = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(X509_set_version(c, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 4242);
	ck_assert_ptr_nonnull(
	    ASN1_TIME_set(X509_getm_notBefore(c), (time_t)nb));
	ck_assert_ptr_nonnull(ASN1_TIME_set(X509_getm_notAfter(c), (time_t)na));
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer)
					       : n);
	X509_set_pubkey(c, pub);
	if (san != NULL) {
		X509V3_set_ctx(&v3, issuer != NULL ? issuer : c, c, NULL, NULL,
			       0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		ck_assert_ptr_nonnull(ext);
		X509_add_ext(c, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(c, signer,
				   EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519
				       ? NULL
				       : EVP_sha256()),
			 0);
	return c;
}

static char *path(const char *name)
{
	char *p = ztp_test_path(tmp, name);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void write_file(const char *name, const char *data)
{
	char *p = path(name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(data, f);
	fclose(f);
	free(p);
}

static void write_pem_cert(const char *name, X509 *c)
{
	char *pem = NULL;

	ck_assert_int_eq(ztp__cert_to_pem(&pem, c), 0);
	write_file(name, pem);
	free(pem);
}

static void write_pem_key(const char *name, EVP_PKEY *k)
{
	char *pem = NULL;

	ck_assert_int_eq(ztp__privkey_to_pem(&pem, k, NULL), 0);
	write_file(name, pem);
	free(pem);
}

static int64_t now_fixed = 1795000000; /* 2026-11-18 */

/* A factory identity for "dev-0001" in tmp: factory.key, factory.pem,
 * wrong.key, ca.pem. */
static void setup(void)
{
	EVP_PKEY *fk = NULL, *wk = NULL;
	X509 *fc = NULL;

	tmp = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(ztp__key_generate(&ca_key, "ec-p256"), 0);
	ca_cert = mkcert("Test CA", ca_key, ca_key, NULL, 0, 4102444800, NULL);
	ck_assert_int_eq(ztp__key_generate(&fk, "ec-p256"), 0);
	ck_assert_int_eq(ztp__key_generate(&wk, "ec-p256"), 0);
	fc = mkcert("dev-0001", fk, ca_key, ca_cert, 0, 4102444800,
		    "URI:urn:ztp:device:dev-0001");
	write_pem_key("factory.key", fk);
	write_pem_key("wrong.key", wk);
	write_pem_cert("factory.pem", fc);
	write_pem_cert("ca.pem", ca_cert);
	EVP_PKEY_free(fk);
	EVP_PKEY_free(wk);
	X509_free(fc);
}

static void teardown(void)
{
	ztp_test_rmtree(tmp);
	free(tmp);
	tmp = NULL;
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	ca_key = NULL;
	ca_cert = NULL;
}

/* ------------------------------------------------------------------
 * configuration */

static int load_cfg(ztp_device *dev, const char *json)
{
	char *p = path("cfg.json");
	int rc;

	write_file("cfg.json", json);
	rc = ztp_device_load_config(dev, p);
	free(p);
	return rc;
}

static char *state_dir(void)
{
	char *s = path("state");

	return s;
}

#define GOOD_FACTORY                                                           \
	"\"factory_key\":\"file:factory.key\",\"factory_cert\":\"factory."     \
	"pem\""

START_TEST(test_config_good)
{
	ztp_device *dev = NULL;
	char *want = NULL, *abs_cfg = NULL;

	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(load_cfg(dev, "{\"device_id\":\"dev-0001\"," GOOD_FACTORY
				   ",\"base_url\":\"https://127.0.0.1:8443/"
				   "\",\"ca_file\":\"ca.pem\",\"key_type\":"
				   "\"ed25519\",\"state_dir\":\"st\","
				   "\"connect_timeout_ms\":500,\"timeout_ms\":"
				   "900,\"retry\":{\"max_attempts\":3,"
				   "\"base_delay_ms\":10,\"max_delay_ms\":20,"
				   "\"max_retry_after_ms\":30},"
				   "\"registration\":{\"device_type\":\"sensor-"
				   "v2\",\"firmware_version\":\"1.2.3\","
				   "\"capabilities\":[\"temp\",\"rh\"]},"
				   "\"rotate_at_percent\":50,"
				   "\"operational_key\":{\"token\":"
				   "\"pkcs11:token=ops?pin-value=1\","
				   "\"label\":\"d-1\"},\"clock\":\"untrusted\","
				   "\"proxy\":\"http://proxy.example:3128/\","
				   "\"keep_alive\":false}"),
		     0);
	ck_assert(!dev->cfg.keep_alive);
	ck_assert(dev->cfg.clock_untrusted);
	ck_assert_str_eq(dev->cfg.proxy, "http://proxy.example:3128");
	ck_assert_str_eq(dev->cfg.device_id, "dev-0001");
	ck_assert_str_eq(dev->cfg.key_token, "pkcs11:token=ops?pin-value=1");
	ck_assert_str_eq(dev->cfg.key_label, "d-1");
	ck_assert_ptr_nonnull(dev->cfg.factory_key);
	ck_assert_ptr_nonnull(dev->cfg.factory_cert);
	ck_assert_str_eq(dev->cfg.base_url, "https://127.0.0.1:8443");
	want = path("ca.pem");
	ck_assert_str_eq(dev->cfg.ca_file, want);
	free(want);
	want = path("st");
	ck_assert_str_eq(dev->cfg.state_dir, want);
	free(want);
	ck_assert_str_eq(dev->cfg.key_type, "ed25519");
	ck_assert_int_eq(dev->cfg.connect_ms, 500);
	ck_assert_int_eq(dev->cfg.total_ms, 900);
	ck_assert_int_eq(dev->cfg.max_attempts, 3);
	ck_assert_int_eq(dev->cfg.base_delay_ms, 10);
	ck_assert_int_eq(dev->cfg.max_delay_ms, 20);
	ck_assert_int_eq(dev->cfg.max_retry_after_ms, 30);
	ck_assert_str_eq(dev->cfg.device_type, "sensor-v2");
	ck_assert_str_eq(dev->cfg.firmware_version, "1.2.3");
	ck_assert_int_eq(json_object_array_length(dev->cfg.capabilities), 2);
	ck_assert_int_eq(dev->cfg.rotate_percent, 50);

	/* Absent settings take their defaults again. */
	ck_assert_rc(load_cfg(dev, "{}"), 0);
	ck_assert_ptr_null(dev->cfg.device_id);
	ck_assert_ptr_null(dev->cfg.factory_key);
	ck_assert_str_eq(dev->cfg.key_type, "ec-p256");
	ck_assert_int_eq(dev->cfg.max_attempts, 5);
	ck_assert(!dev->cfg.clock_untrusted);
	ck_assert_ptr_null(dev->cfg.proxy);
	ck_assert(dev->cfg.keep_alive);
	/* file:///PATH as file:PATH. */
	want = path("factory.key");
	ck_assert_int_ge(asprintf(&abs_cfg,
				  "{\"factory_key\":\"file://%s\","
				  "\"factory_cert\":\"factory.pem\"}",
				  want),
			 0);
	free(want);
	ck_assert_rc(load_cfg(dev, abs_cfg), 0);
	free(abs_cfg);
	ck_assert_ptr_nonnull(dev->cfg.factory_key);
	ck_assert_rc(load_cfg(dev, "{\"key_type\":\"rsa-3072\"}"), 0);
	ck_assert_str_eq(dev->cfg.key_type, "rsa-3072");
	ck_assert_rc(load_cfg(dev, "{\"clock\":\"system\"}"), 0);
	ck_assert(!dev->cfg.clock_untrusted);
	ck_assert_rc(load_cfg(dev, "{\"proxy\":\"http://[::1]:8080\"}"), 0);
	ck_assert_str_eq(dev->cfg.proxy, "http://[::1]:8080");
	ck_assert_rc(load_cfg(dev, "{\"proxy\":\"http://10.0.0.1:1\"}"), 0);
	ck_assert_str_eq(dev->cfg.proxy, "http://10.0.0.1:1");
	ztp_device_free(dev);
}
END_TEST

static const struct bad_cfg {
	const char *json;
	int rc;
} bad_cfgs[] = {
    {"", ZTP_EPARSE},
    {"[]", ZTP_EPARSE},
    {"{", ZTP_EPARSE},
    {"{} x", ZTP_EPARSE},
    {"{}{}", ZTP_EPARSE},
    {"{\"device_id\":\"a\",\"device_id\":\"b\"}", ZTP_EPARSE},
    {"{\"unknown\":1}", ZTP_EPARSE},
    {"{\"clock\":\"ntp\"}", ZTP_EINVAL},
    {"{\"clock\":\"\"}", ZTP_EINVAL},
    {"{\"clock\":true}", ZTP_EPARSE},
    {"{\"proxy\":\"https://p:3128\"}", ZTP_EINVAL},
    {"{\"proxy\":\"socks5://p:1080\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://:3128\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:0\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:65536\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:31280000\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:3x\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://u:pw@p:3128\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:3128/path\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p:3128?q\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://p q:3128\"}", ZTP_EINVAL},
    {"{\"proxy\":\"http://[::1]\"}", ZTP_EINVAL},
    {"{\"proxy\":3128}", ZTP_EPARSE},
    {"{\"keep_alive\":1}", ZTP_EPARSE},
    /* The portable core's own members: unknown here. */
    {"{\"check_in\":false}", ZTP_EPARSE},
    {"{\"build_time\":\"2026-01-01T00:00:00Z\"}", ZTP_EPARSE},
    {"{\"server_key_sha256\":\"0000000000000000000000000000000000000000000"
     "000000000000000000000\"}",
     ZTP_EPARSE},
    {"{\"keep_alive\":\"yes\"}", ZTP_EPARSE},
    {"{\"device_id\":7}", ZTP_EPARSE},
    {"{\"device_id\":null}", ZTP_EPARSE},
    {"{\"device_id\":\"a/b\"}", ZTP_EINVAL},
    {"{\"device_id\":\"\"}", ZTP_EINVAL},
    {"{\"device_id\":\"dev 1\"}", ZTP_EINVAL},
    {"{\"device_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaa\"}",
     ZTP_ETOOBIG},
    {"{\"base_url\":\"http://127.0.0.1\"}", ZTP_EINVAL},
    {"{\"base_url\":\"https://\"}", ZTP_EINVAL},
    {"{\"base_url\":\"https://u:p@host\"}", ZTP_EINVAL},
    {"{\"base_url\":\"https://host/?q=1\"}", ZTP_EINVAL},
    {"{\"base_url\":\"https://host/#f\"}", ZTP_EINVAL},
    {"{\"base_url\":\"https://ho st\"}", ZTP_EINVAL},
    {"{\"base_url\":\"HTTPS://host\"}", ZTP_EINVAL},
    {"{\"base_url\":[]}", ZTP_EPARSE},
    {"{\"ca_file\":\"missing.pem\"}", ZTP_ENOTFOUND},
    {"{\"ca_file\":\"factory.key\"}", ZTP_EPARSE},
    {"{\"ca_file\":\"\"}", ZTP_EINVAL},
    {"{\"key_type\":\"rsa-1024\"}", ZTP_EINVAL},
    {"{\"key_type\":\"EC-P256\"}", ZTP_EINVAL},
    {"{\"key_type\":\"ec-p256-and-then-some\"}", ZTP_EINVAL},
    {"{\"key_type\":7}", ZTP_EPARSE},
    {"{\"state_dir\":\"\"}", ZTP_EINVAL},
    {"{\"state_dir\":false}", ZTP_EPARSE},
    {"{\"factory_key\":\"file:factory.key\"}", ZTP_EPARSE},
    {"{\"factory_cert\":\"factory.pem\"}", ZTP_EPARSE},
    /* A token key through a module that is not there (tokens themselves:
     * tests/e2e/token.sh); a TPM handle outside the persistent range. */
    {"{\"factory_key\":\"pkcs11:token=x;object=y?module-path=/nonexistent/"
     "p11.so\",\"factory_cert\":\"factory.pem\"}",
     ZTP_ETOKEN},
    {"{\"factory_key\":\"tpm2:handle=0x80000000\","
     "\"factory_cert\":\"factory.pem\"}",
     ZTP_EINVAL},
    {"{\"factory_key\":\"factory.key\",\"factory_cert\":\"factory.pem\"}",
     ZTP_EINVAL},
    {"{\"factory_key\":\"file://host/k\",\"factory_cert\":\"factory.pem\"}",
     ZTP_EINVAL},
    {"{\"factory_key\":\"file:\",\"factory_cert\":\"factory.pem\"}",
     ZTP_EINVAL},
    {"{\"factory_key\":\"file:wrong.key\",\"factory_cert\":\"factory.pem\"}",
     ZTP_EMISMATCH},
    {"{\"factory_key\":\"file:factory.pem\",\"factory_cert\":"
     "\"factory.pem\"}",
     ZTP_EPARSE},
    {"{\"factory_key\":\"file:factory.key\",\"factory_cert\":"
     "\"factory.key\"}",
     ZTP_EPARSE},
    {"{\"factory_key\":\"file:nokey\",\"factory_cert\":\"factory.pem\"}",
     ZTP_ENOTFOUND},
    {"{\"connect_timeout_ms\":0}", ZTP_EPARSE},
    {"{\"connect_timeout_ms\":1.5}", ZTP_EPARSE},
    {"{\"connect_timeout_ms\":\"5\"}", ZTP_EPARSE},
    {"{\"timeout_ms\":600001}", ZTP_EPARSE},
    {"{\"connect_timeout_ms\":5000,\"timeout_ms\":4000}", ZTP_EINVAL},
    {"{\"retry\":[]}", ZTP_EPARSE},
    {"{\"retry\":{\"attempts\":3}}", ZTP_EPARSE},
    {"{\"retry\":{\"max_attempts\":0}}", ZTP_EPARSE},
    {"{\"retry\":{\"max_attempts\":101}}", ZTP_EPARSE},
    {"{\"retry\":{\"base_delay_ms\":0}}", ZTP_EPARSE},
    {"{\"retry\":{\"base_delay_ms\":5000,\"max_delay_ms\":4000}}", ZTP_EINVAL},
    {"{\"retry\":{\"max_retry_after_ms\":-1}}", ZTP_EPARSE},
    {"{\"retry\":{\"max_attempts\":true}}", ZTP_EPARSE},
    {"{\"registration\":{}}", ZTP_EPARSE},
    {"{\"registration\":{\"device_type\":\"x\"}}", ZTP_EPARSE},
    {"{\"registration\":{\"device_type\":\"\",\"firmware_version\":\"1\"}}",
     ZTP_EINVAL},
    {"{\"registration\":{\"device_type\":\"a b\",\"firmware_version\":"
     "\"1\"}}",
     ZTP_EINVAL},
    {"{\"registration\":{\"device_type\":\"a\",\"firmware_version\":"
     "\"\"}}",
     ZTP_EINVAL},
    {"{\"registration\":{\"device_type\":\"a\",\"firmware_version\":"
     "\"\\u0001\"}}",
     ZTP_EINVAL},
    {"{\"registration\":{\"device_type\":\"x\",\"firmware_version\":"
     "\"1\",\"extra\":1}}",
     ZTP_EPARSE},
    {"{\"registration\":{\"device_type\":\"x\",\"firmware_version\":"
     "\"1\",\"capabilities\":[1]}}",
     ZTP_EPARSE},
    {"{\"registration\":{\"device_type\":\"x\",\"firmware_version\":"
     "\"1\",\"capabilities\":[\"a/b\"]}}",
     ZTP_EINVAL},
    {"{\"registration\":{\"device_type\":\"x\\u0001\",\"firmware_version\":"
     "\"1\"}}",
     ZTP_EINVAL},
    {"{\"rotate_at_percent\":5}", ZTP_EPARSE},
    {"{\"rotate_at_percent\":96}", ZTP_EPARSE},
    {"{\"operational_key\":{}}", ZTP_EPARSE},
    {"{\"operational_key\":\"pkcs11:token=t\"}", ZTP_EPARSE},
    {"{\"operational_key\":{\"token\":\"file:k.pem\"}}", ZTP_EINVAL},
    {"{\"operational_key\":{\"token\":\"pkcs11:token=t\",\"label\":"
     "\"a/b\"}}",
     ZTP_EINVAL},
    {"{\"operational_key\":{\"token\":\"pkcs11:token=t\",\"label\":"
     "\"a23456789012345678901234567890123\"}}",
     ZTP_EINVAL},
    {"{\"operational_key\":{\"token\":\"pkcs11:token=t\",\"pin\":1}}",
     ZTP_EPARSE},
    {"{\"operational_key\":{\"token\":\"pkcs11:token=t;object=k\"}}",
     ZTP_EINVAL},
    {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", ZTP_ETOOBIG},
    {"{\"device_id\":\"dev-0001\",}", ZTP_EPARSE},
    {"{\"device_id\":\"dev-\\u0000\"}", ZTP_EPARSE},
    {"\xef\xbb\xbf{}", ZTP_EPARSE},
};

START_TEST(test_config_bad)
{
	ztp_device *dev = NULL;
	const struct bad_cfg *b = &bad_cfgs[_i];
	int rc;

	ck_assert_rc(ztp_device_new(&dev), 0);
	/* A failed load leaves the previous configuration in place. */
	ck_assert_rc(load_cfg(dev, "{\"device_id\":\"keep-me\",\"retry\":"
				   "{\"max_attempts\":7}}"),
		     0);
	rc = load_cfg(dev, b->json);
	/* Depth and limit failures may be reported as either. */
	if (b->rc == ZTP_ETOOBIG && rc == ZTP_EPARSE)
		rc = ZTP_ETOOBIG;
	ck_assert_msg(rc == b->rc, "config %s: got %d (%s), want %d", b->json,
		      rc, ztp_error_last_message(), b->rc);
	ck_assert_str_ne(ztp_error_last_message(), "");
	ck_assert_str_eq(dev->cfg.device_id, "keep-me");
	ck_assert_int_eq(dev->cfg.max_attempts, 7);
	ztp_device_free(dev);
}
END_TEST

START_TEST(test_config_file)
{
	ztp_device *dev = NULL;
	char *p;
	int fd;

	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_load_config(dev, "/nonexistent/x.json"),
		     ZTP_ENOTFOUND);
	p = path("big.json");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, ZTP__LH_CONFIG_MAX + 1), 0);
	close(fd);
	ck_assert_rc(ztp_device_load_config(dev, p), ZTP_ETOOBIG);
	free(p);
	ck_assert_rc(ztp_device_load_config(dev, tmp), ZTP_EIO);
	ck_assert_rc(ztp_device_load_config(NULL, "x"), ZTP_EINVAL);
	ck_assert_rc(ztp_device_load_config(dev, NULL), ZTP_EINVAL);
	ztp_device_free(dev);
}
END_TEST

START_TEST(test_setters)
{
	ztp_device *dev = NULL;
	char *k = path("factory.key"), *c = path("factory.pem"), *src = NULL;
	char id[ZTP_ID_MAX + 1];

	ck_assert_rc(ztp_device_new(NULL), ZTP_EINVAL);
	ztp_device_free(NULL);
	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_set_id(NULL, "x"), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_id(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_base_url(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_ca_file(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_key_type(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_state_dir(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_factory_identity(dev, NULL, c), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_factory_identity(dev, "file:x", NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_timeouts(NULL, 1, 1), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_retry(dev, 1, 2, 1, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_retry(dev, 1, 1, 1, 0), 0);
	ck_assert_rc(ztp_device_set_event_callback(NULL, NULL, NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_clock(NULL, NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_status(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_bootstrap(NULL), ZTP_EINVAL);

	ck_assert_rc(ztp_device_set_base_url(dev, "https://h:1/p///"), 0);
	ck_assert_str_eq(dev->cfg.base_url, "https://h:1/p");
	ck_assert_rc(ztp_device_set_base_url(dev, "https://h"), 0);
	ck_assert_str_eq(dev->cfg.base_url, "https://h");
	ck_assert_rc(ztp_device_set_base_url(dev, "https://:443"), ZTP_EINVAL);
	ck_assert_str_eq(dev->cfg.base_url, "https://h");

	/* No ID anywhere yet. */
	ck_assert_rc(ztp__dev_id(dev, id), ZTP_EINVAL);
	ck_assert_int_ge(asprintf(&src, "file://%s", k), 0);
	ck_assert_rc(ztp_device_set_factory_identity(dev, src, c), 0);
	ck_assert_rc(ztp__dev_id(dev, id), 0);
	ck_assert_str_eq(id, "dev-0001");
	ck_assert_rc(ztp_device_set_id(dev, "dev-0002"), 0);
	ck_assert_rc(ztp__dev_id(dev, id), ZTP_EMISMATCH);
	ck_assert_rc(ztp_device_set_id(dev, "dev-0001"), 0);
	ck_assert_rc(ztp__dev_id(dev, id), 0);

	/* Generated keys in a token, and back to files. */
	ck_assert_ptr_null(dev->cfg.key_token);
	ck_assert_rc(ztp_device_set_key_store(NULL, NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_key_store(dev, "file:/k", NULL),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_key_store(dev, "pkcs11:token=t", "a b"),
		     ZTP_EINVAL);
	ck_assert_ptr_null(dev->cfg.key_token);
	ck_assert_rc(ztp_device_set_key_store(dev, "pkcs11:token=t", NULL), 0);
	ck_assert_str_eq(dev->cfg.key_token, "pkcs11:token=t");
	ck_assert_str_eq(dev->cfg.key_label, "ztp");
	ck_assert_rc(ztp_device_set_key_store(dev, "pkcs11:token=u", "dev-1"),
		     0);
	ck_assert_str_eq(dev->cfg.key_label, "dev-1");
	ck_assert_rc(ztp_device_set_key_store(dev, NULL, NULL), 0);
	ck_assert_ptr_null(dev->cfg.key_token);
	ck_assert_ptr_null(dev->cfg.key_label);
	free(src);
	free(k);
	free(c);
	ztp_device_free(dev);
}
END_TEST

/* ------------------------------------------------------------------ transcript
 * and CSR */

static const char known_csr[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIHOMHUCAQAwEzERMA8GA1UEAwwIZGV2LTAwMDEwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAQakUZ9qL80ff6k4/4k8dw/h8tmPB+NaUnNsME7BsxRDeBNN45K2d+n\n"
    "cMpTTYEkcn6HVCm2DCP3w9ml0LCD/7lxoAAwCgYIKoZIzj0EAwIDSQAwRgIhAIr9\n"
    "8vbl5lSjeuWNOAw4GyFS33IL7ajG+BnO7UdY4Lf8AiEA6JzySSFBLEmNJpse5cpd\n"
    "JRdoS0GPTiX7NlKe8J7rvQw=\n"
    "-----END CERTIFICATE REQUEST-----\n";

START_TEST(test_transcript)
{
	/* sha256 of the CSR's DER, computed with `openssl req -outform DER |
	 * sha256sum`. */
	static const uint8_t want_hash[32] = {
	    0xef, 0xc1, 0x8e, 0x19, 0xc1, 0x49, 0x4a, 0xd7, 0xea, 0x3b, 0xab,
	    0x8b, 0x9d, 0x2e, 0xde, 0x52, 0x0a, 0xe9, 0xa4, 0x85, 0x03, 0x66,
	    0xd7, 0x01, 0x4c, 0x97, 0xe7, 0x7a, 0xc9, 0xff, 0x57, 0xda};
	static const char prefix[] = "ZTP-BOOTSTRAP-V1\0dev-0001\0n0nce-XYZ";
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	int n;
	ztp__buf tr = {0};

	ck_assert_rc(ztp__pem_csr(&req, known_csr, strlen(known_csr)), 0);
	n = i2d_X509_REQ(req, &der);
	ck_assert_int_gt(n, 0);
	ck_assert_rc(
	    ztp__dev_transcript(&tr, "dev-0001", "n0nce-XYZ", der, (size_t)n),
	    0);
	ck_assert_uint_eq(tr.len, sizeof(prefix) + 32);
	ck_assert_int_eq(memcmp(tr.data, prefix, sizeof(prefix)), 0);
	ck_assert_int_eq(memcmp(tr.data + sizeof(prefix), want_hash, 32), 0);
	ztp__buf_free(&tr);
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

static const char *const key_types[] = {"ec-p256", "ec-p384", "ed25519",
					"rsa-2048"};

START_TEST(test_csr)
{
	EVP_PKEY *k = NULL;
	char *pem = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	X509_REQ *req = NULL;
	const unsigned char *p;
	X509_REQ *again = NULL;
	char id[ZTP_ID_MAX + 1];
	X509_NAME *n;

	ck_assert_rc(ztp__key_generate(&k, key_types[_i]), 0);
	ck_assert_rc(ztp__dev_make_csr(&pem, &der, &len, k, "dev-0001"), 0);
	ck_assert_rc(ztp__pem_csr(&req, pem, strlen(pem)), 0);
	ck_assert_int_eq(X509_REQ_verify(req, k), 1);
	ck_assert_int_eq(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k), 1);
	n = X509_REQ_get_subject_name(req);
	ck_assert_int_eq(X509_NAME_entry_count(n), 1);
	ck_assert_int_gt(
	    X509_NAME_get_text_by_NID(n, NID_commonName, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "dev-0001");
	/* The DER handed out is the DER of the PEM sent. */
	p = der;
	again = d2i_X509_REQ(NULL, &p, (long)len);
	ck_assert_ptr_nonnull(again);
	ck_assert_int_eq(X509_REQ_verify(again, k), 1);
	{
		unsigned char *d2 = NULL;
		int n2 = i2d_X509_REQ(req, &d2);

		ck_assert_int_eq(n2, (int)len);
		ck_assert_int_eq(memcmp(d2, der, len), 0);
		OPENSSL_free(d2);
	}
	X509_REQ_free(again);
	X509_REQ_free(req);
	free(pem);
	free(der);
	EVP_PKEY_free(k);
}
END_TEST

/* ------------------------------------------------------------------ answers */

static json_object *js(const char *s)
{
	json_object *o = NULL;

	ck_assert_rc(ztp__json_parse(&o, s, strlen(s), ZTP__DEV_RESP_MAX, 4),
		     0);
	return o;
}

START_TEST(test_parse_challenge)
{
	static const struct {
		const char *json;
		int rc;
	} cases[] = {
	    {"{\"nonce\":\"abc\",\"expires_at\":\"2026-11-27T22:31:00Z\"}", 0},
	    {"{\"nonce\":\"abc\"}", ZTP_EPARSE},
	    {"{\"expires_at\":\"2026-11-27T22:31:00Z\"}", ZTP_EPARSE},
	    {"{\"nonce\":\"\",\"expires_at\":\"2026-11-27T22:31:00Z\"}",
	     ZTP_EPARSE},
	    {"{\"nonce\":\"a b\",\"expires_at\":\"2026-11-27T22:31:00Z\"}",
	     ZTP_EPARSE},
	    {"{\"nonce\":\"\\u00e9\",\"expires_at\":"
	     "\"2026-11-27T22:31:00Z\"}",
	     ZTP_EPARSE},
	    {"{\"nonce\":1,\"expires_at\":\"2026-11-27T22:31:00Z\"}",
	     ZTP_EPARSE},
	    {"{\"nonce\":\"abc\",\"expires_at\":1795000000}", ZTP_EPARSE},
	    {"{\"nonce\":\"abc\",\"expires_at\":\"tomorrow\"}", ZTP_EPARSE},
	    {"{\"nonce\":\"abc\",\"expires_at\":\"2026-11-27T22:31:00Z\","
	     "\"x\":1}",
	     ZTP_EPARSE},
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(cases); i++) {
		json_object *o = js(cases[i].json);
		char *nonce = NULL;
		int64_t exp = 0;
		int64_t st = 0;
		int rc = ztp__dev_parse_challenge(o, false, &nonce, &exp, &st);

		ck_assert_msg(rc == cases[i].rc, "%s: got %d (%s)",
			      cases[i].json, rc, ztp_error_last_message());
		if (rc == 0) {
			ck_assert_str_eq(nonce, "abc");
			ck_assert_int_eq(exp, 1795818660);
		} else {
			ck_assert_ptr_null(nonce);
		}
		free(nonce);
		json_object_put(o);
	}
	{
		/* "server_time": only when asked, then required, UTC to the
		 * second exactly. */
		static const struct {
			const char *t;
			int rc;
		} tc[] = {
		    {"\"2026-12-07T12:00:00Z\"", 0},
		    {"\"2026-12-07T12:00:00+00:00\"", ZTP_EPARSE},
		    {"\"2026-12-07T12:00:00.5Z\"", ZTP_EPARSE},
		    {"\"2026-12-07 12:00:00Z\"", ZTP_EPARSE},
		    {"\"2026-13-07T12:00:00Z\"", ZTP_EPARSE},
		    {"1796644800", ZTP_EPARSE},
		    {"null", ZTP_EPARSE},
		};
		char doc[256];

		for (i = 0; i < ZTP__ARRAY_LEN(tc); i++) {
			json_object *o;
			char *nonce = NULL;
			int64_t exp = 0, st = 0;
			int rc;

			snprintf(doc, sizeof(doc),
				 "{\"nonce\":\"abc\",\"expires_at\":"
				 "\"2026-11-27T22:31:00Z\",\"server_time\":%s}",
				 tc[i].t);
			o = js(doc);
			rc = ztp__dev_parse_challenge(o, true, &nonce, &exp,
						      &st);
			ck_assert_msg(rc == tc[i].rc, "%s: got %d (%s)", doc,
				      rc, ztp_error_last_message());
			ck_assert_int_eq(st, rc == 0 ? 1796644800 : -1);
			free(nonce);
			nonce = NULL;
			/* Not asked for: refused, as by a device before it. */
			ck_assert_rc(ztp__dev_parse_challenge(o, false, &nonce,
							      &exp, &st),
				     ZTP_EPARSE);
			ck_assert_ptr_null(nonce);
			json_object_put(o);
		}
		/* Asked for and missing. */
		{
			json_object *o = js("{\"nonce\":\"abc\",\"expires_at\":"
					    "\"2026-11-27T22:31:00Z\"}");
			char *nonce = NULL;
			int64_t exp = 0, st = 0;

			ck_assert_rc(ztp__dev_parse_challenge(o, true, &nonce,
							      &exp, &st),
				     ZTP_EPARSE);
			ck_assert_ptr_null(nonce);
			json_object_put(o);
		}
	}
	{
		/* The longest nonce accepted, and one byte more. */
		char big[ZTP__DEV_NONCE_MAX + 80];
		json_object *o;
		char *nonce = NULL;
		int64_t exp, st;

		memset(big, 0, sizeof(big));
		memcpy(big, "{\"nonce\":\"", 10);
		memset(big + 10, 'n', ZTP__DEV_NONCE_MAX);
		strcat(big, "\",\"expires_at\":\"2026-11-27T22:31:00Z\"}");
		o = js(big);
		ck_assert_rc(
		    ztp__dev_parse_challenge(o, false, &nonce, &exp, &st), 0);
		free(nonce);
		nonce = NULL;
		json_object_put(o);
		/* Same document with one more nonce byte. */
		memset(big, 0, sizeof(big));
		memcpy(big, "{\"nonce\":\"", 10);
		memset(big + 10, 'n', ZTP__DEV_NONCE_MAX + 1);
		strcat(big, "\",\"expires_at\":\"2026-11-27T22:31:00Z\"}");
		o = js(big);
		ck_assert_rc(
		    ztp__dev_parse_challenge(o, false, &nonce, &exp, &st),
		    ZTP_ETOOBIG);
		json_object_put(o);
	}
}
END_TEST

/* Build an issued-certificate answer as JSON text. */
static char *answer(X509 *cert, const char *chain_json, const char *na,
		    const char *extra)
{
	char *pem = NULL, *out = NULL;
	json_object *s;

	ck_assert_rc(ztp__cert_to_pem(&pem, cert), 0);
	s = json_object_new_string(pem);
	ck_assert_int_ge(
	    asprintf(&out,
		     "{\"certificate\":%s,\"chain\":%s,\"not_after\":\"%s\"%s}",
		     json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN),
		     chain_json, na, extra != NULL ? extra : ""),
	    0);
	json_object_put(s);
	free(pem);
	return out;
}

static int parse_answer(const char *text, bool with_tenant, EVP_PKEY *k,
			const char *id, ztp__dev_issued *is)
{
	json_object *o = NULL;
	int rc;

	rc = ztp__json_parse(&o, text, strlen(text), ZTP__DEV_RESP_MAX, 4);
	if (rc < 0)
		return rc;
	rc = ztp__dev_parse_issued(is, o, with_tenant, k, id, now_fixed);
	json_object_put(o);
	return rc;
}

START_TEST(test_parse_issued)
{
	EVP_PKEY *k = NULL, *other = NULL;
	X509 *good = NULL, *wrongdev = NULL, *wrongkey = NULL, *old = NULL,
	     *tenanted = NULL;
	char *a = NULL, *capem = NULL, *chainjs = NULL;
	ztp__dev_issued is = {0};
	const int64_t na = 1795086400; /* now_fixed + 1 day */
	const char *na_s = "2026-11-19T11:06:40Z";
	json_object *cs;

	ck_assert_rc(ztp__key_generate(&k, "ec-p256"), 0);
	ck_assert_rc(ztp__key_generate(&other, "ec-p256"), 0);
	good = mkcert("dev-0001", k, ca_key, ca_cert, now_fixed - 60, na,
		      "URI:urn:ztp:device:dev-0001");
	wrongdev =
	    mkcert("dev-0002", k, ca_key, ca_cert, now_fixed - 60, na, NULL);
	wrongkey = mkcert("dev-0001", other, ca_key, ca_cert, now_fixed - 60,
			  na, NULL);
	old = mkcert("dev-0001", k, ca_key, ca_cert, 0, now_fixed - 1, NULL);
	tenanted =
	    mkcert("dev-0001", k, ca_key, ca_cert, now_fixed - 60, na,
		   "URI:urn:ztp:device:dev-0001,URI:urn:ztp:tenant:acme");
	ck_assert_rc(ztp__cert_to_pem(&capem, ca_cert), 0);
	cs = json_object_new_string(capem);
	ck_assert_int_ge(asprintf(&chainjs, "[%s]",
				  json_object_to_json_string_ext(
				      cs, JSON_C_TO_STRING_PLAIN)),
			 0);
	json_object_put(cs);

	a = answer(good, chainjs, na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), 0);
	ck_assert_int_eq(sk_X509_num(is.chain), 1);
	ck_assert_int_eq(is.not_after, na);
	ztp__dev_issued_free(&is);
	free(a);

	a = answer(good, "[]", na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), 0);
	ck_assert_int_eq(sk_X509_num(is.chain), 0);
	ztp__dev_issued_free(&is);
	free(a);

	/* Wrong key, wrong device: refused as an identity mismatch. */
	a = answer(wrongkey, "[]", na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EMISMATCH);
	ck_assert_ptr_null(is.cert);
	free(a);
	a = answer(wrongdev, "[]", na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EMISMATCH);
	free(a);
	/* not_after that disagrees with the certificate. */
	a = answer(good, "[]", "2026-11-19T11:06:41Z", NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EPARSE);
	free(a);
	a = answer(old, "[]", "2026-11-18T11:06:39Z", NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EEXPIRED);
	free(a);
	/* Closed schema, types, required members. */
	a = answer(good, "[]", na_s, ",\"extra\":1");
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EPARSE);
	free(a);
	a = answer(good, "[]", na_s, ",\"tenant\":\"acme\"");
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EPARSE);
	free(a);
	a = answer(good, "{}", na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EPARSE);
	free(a);
	a = answer(good, "[1]", na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EPARSE);
	free(a);
	a = answer(good, "[\"not pem\"]", na_s, NULL);
	ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is), ZTP_EPARSE);
	free(a);
	ck_assert_rc(parse_answer("{\"chain\":[],\"not_after\":\"2026-11-19T11:"
				  "06:40Z\"}",
				  false, k, "dev-0001", &is),
		     ZTP_EPARSE);
	ck_assert_rc(parse_answer("{\"certificate\":5,\"chain\":[],"
				  "\"not_after\":\"2026-11-19T11:06:40Z\"}",
				  false, k, "dev-0001", &is),
		     ZTP_EPARSE);
	ck_assert_rc(
	    parse_answer("{\"certificate\":\"x\"", false, k, "dev-0001", &is),
	    ZTP_EPARSE);
	{
		/* Trailing garbage after the PEM block. */
		char *pem = NULL, *withjunk = NULL;
		json_object *s;

		ck_assert_rc(ztp__cert_to_pem(&pem, good), 0);
		ck_assert_int_ge(asprintf(&withjunk, "%sjunk", pem), 0);
		s = json_object_new_string(withjunk);
		ck_assert_int_ge(asprintf(&a,
					  "{\"certificate\":%s,\"chain\":[],"
					  "\"not_after\":\"%s\"}",
					  json_object_to_json_string_ext(
					      s, JSON_C_TO_STRING_PLAIN),
					  na_s),
				 0);
		ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is),
			     ZTP_EPARSE);
		json_object_put(s);
		free(pem);
		free(withjunk);
		free(a);
		a = NULL;
	}
	/* A chain longer than the limit. */
	{
		char *many = NULL, *next = NULL;
		int i;

		many = strdup("[");
		for (i = 0; i <= ZTP_CHAIN_MAX; i++) {
			json_object *s2 = json_object_new_string(capem);

			ck_assert_int_ge(
			    asprintf(&next, "%s%s%s", many, i ? "," : "",
				     json_object_to_json_string_ext(
					 s2, JSON_C_TO_STRING_PLAIN)),
			    0);
			json_object_put(s2);
			free(many);
			many = next;
		}
		ck_assert_int_ge(asprintf(&next, "%s]", many), 0);
		free(many);
		a = answer(good, next, na_s, NULL);
		ck_assert_rc(parse_answer(a, false, k, "dev-0001", &is),
			     ZTP_ETOOBIG);
		free(next);
		free(a);
	}

	/* Operational answers: the tenant must be the certificate's. */
	a = answer(tenanted, "[]", na_s,
		   ",\"tenant\":\"acme\",\"namespace\":\"acme/dev-0001\"");
	ck_assert_rc(parse_answer(a, true, k, "dev-0001", &is), 0);
	ck_assert_str_eq(is.tenant, "acme");
	ck_assert_str_eq(is.ns, "acme/dev-0001");
	ztp__dev_issued_free(&is);
	free(a);
	a = answer(tenanted, "[]", na_s, ",\"tenant\":\"globex\"");
	ck_assert_rc(parse_answer(a, true, k, "dev-0001", &is), ZTP_EMISMATCH);
	free(a);
	a = answer(tenanted, "[]", na_s, ",\"tenant\":null");
	ck_assert_rc(parse_answer(a, true, k, "dev-0001", &is), ZTP_EMISMATCH);
	free(a);
	a = answer(good, "[]", na_s, ",\"tenant\":\"acme\"");
	ck_assert_rc(parse_answer(a, true, k, "dev-0001", &is), ZTP_EMISMATCH);
	free(a);
	a = answer(good, "[]", na_s, ",\"tenant\":null,\"namespace\":null");
	ck_assert_rc(parse_answer(a, true, k, "dev-0001", &is), 0);
	ck_assert_str_eq(is.tenant, "");
	ck_assert_ptr_null(is.ns);
	ztp__dev_issued_free(&is);
	free(a);

	free(capem);
	free(chainjs);
	X509_free(good);
	X509_free(wrongdev);
	X509_free(wrongkey);
	X509_free(old);
	X509_free(tenanted);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}
END_TEST

START_TEST(test_parse_error)
{
	char code[65], msg[ZTP__DEV_ERRMSG_MAX + 1];
	int64_t ra;
	const char *good = "{\"error\":{\"code\":\"rate_limited\",\"message\":"
			   "\"slow\\ndown\",\"retry_after\":7}}";

	ck_assert_rc(ztp__dev_parse_error((const uint8_t *)good, strlen(good),
					  code, msg, &ra),
		     0);
	ck_assert_str_eq(code, "rate_limited");
	ck_assert_str_eq(msg, "slow?down"); /* controls never reach logs */
	ck_assert_int_eq(ra, 7);
	good = "{\"error\":{\"code\":\"denied\",\"message\":\"no\"}}";
	ck_assert_rc(ztp__dev_parse_error((const uint8_t *)good, strlen(good),
					  code, msg, &ra),
		     0);
	ck_assert_int_eq(ra, -1);
	{
		static const char *const bad[] = {
		    "",
		    "<html>",
		    "{}",
		    "{\"error\":\"x\"}",
		    "{\"error\":{\"code\":\"Bad Code\",\"message\":\"\"}}",
		    "{\"error\":{\"code\":\"\",\"message\":\"\"}}",
		    "{\"error\":{\"code\":\"x\"}}",
		    "{\"error\":{\"code\":\"x\",\"message\":\"\","
		    "\"retry_after\":-1}}",
		    "{\"error\":{\"code\":\"x\",\"message\":\"\","
		    "\"extra\":1}}",
		    "{\"error\":{\"code\":\"x\",\"message\":\"\"},\"y\":1}",
		};
		size_t i;

		for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
			int rc = ztp__dev_parse_error((const uint8_t *)bad[i],
						      strlen(bad[i]), code, msg,
						      &ra);

			ck_assert_msg(rc < 0, "accepted %s", bad[i]);
			ck_assert_str_eq(code, "");
			ck_assert_int_eq(ra, -1);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ retry
 * policy */

START_TEST(test_classify)
{
	ck_assert_int_eq(ztp__dev_classify(0, false, 200), ZTP__DEV_OK);
	ck_assert_int_eq(ztp__dev_classify(0, false, 201), ZTP__DEV_OK);
	ck_assert_int_eq(ztp__dev_classify(0, false, 408), ZTP__DEV_RETRY);
	ck_assert_int_eq(ztp__dev_classify(0, false, 429), ZTP__DEV_RETRY);
	ck_assert_int_eq(ztp__dev_classify(0, false, 500), ZTP__DEV_RETRY);
	ck_assert_int_eq(ztp__dev_classify(0, false, 503), ZTP__DEV_RETRY);
	ck_assert_int_eq(ztp__dev_classify(0, false, 400), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 401), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 403), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 404), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 409), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 413), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 302), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(0, false, 100), ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(ZTP_ENETWORK, true, 0),
			 ZTP__DEV_RETRY);
	ck_assert_int_eq(ztp__dev_classify(ZTP_ENETWORK, false, 0),
			 ZTP__DEV_FAIL);
	ck_assert_int_eq(ztp__dev_classify(ZTP_ETOOBIG, false, 0),
			 ZTP__DEV_FAIL);
}
END_TEST

/* The retry policy (core/devpolicy.c) as ztp_device(3) calls it: with a
 * draw, or none when the DRBG failed. */
static int64_t backoff(int retry, int64_t base, int64_t cap, uint64_t rnd)
{
	return ztp__backoff_ms(retry, base, cap, &rnd);
}

static int64_t delay(const ztp__dev_cfg *c, int retry, long status,
		     int64_t header_ra, int64_t body_ra, uint64_t rnd)
{
	return ztp__retry_delay_ms(retry, status, header_ra, body_ra,
				   c->base_delay_ms, c->max_delay_ms,
				   c->max_retry_after_ms, &rnd);
}

START_TEST(test_backoff)
{
	int r;
	uint64_t rnd;
	ztp__dev_cfg c;

	/* The ceiling doubles from base up to the cap; the draw is
	 * rnd mod (ceiling + 1), so rnd = ceiling gives the ceiling. */
	ck_assert_int_eq(backoff(0, 100, 1000, 100), 100);
	ck_assert_int_eq(backoff(0, 100, 1000, 101), 0);
	ck_assert_int_eq(backoff(1, 100, 1000, 200), 200);
	ck_assert_int_eq(backoff(2, 100, 1000, 400), 400);
	ck_assert_int_eq(backoff(3, 100, 1000, 800), 800);
	ck_assert_int_eq(backoff(4, 100, 1000, 1000), 1000);
	ck_assert_int_eq(backoff(4, 100, 1000, 1600), 599);
	ck_assert_int_eq(backoff(60, 100, 1000, 1000), 1000);
	ck_assert_int_eq(backoff(1000000, 1, 3600000, 3600000), 3600000);
	ck_assert_int_eq(backoff(0, 100, 1000, 0), 0);
	for (r = 0; r < 64; r++)
		for (rnd = 0; rnd < UINT64_MAX - 7919; rnd += UINT64_MAX / 97) {
			int64_t d = backoff(r, 250, 30000, rnd);
			int64_t ceil = 250;
			int i;

			for (i = 0; i < r && ceil < 30000; i++)
				ceil *= 2;
			if (ceil > 30000)
				ceil = 30000;
			ck_assert_int_ge(d, 0);
			ck_assert_int_le(d, ceil);
		}

	ztp__dev_cfg_defaults(&c);
	c.base_delay_ms = 100;
	c.max_delay_ms = 1000;
	c.max_retry_after_ms = 5000;
	/* Retry-After on 503 and 429, header before body, bounded. */
	ck_assert_int_eq(delay(&c, 0, 503, 2, -1, 0), 2000);
	ck_assert_int_eq(delay(&c, 0, 429, -1, 3, 0), 3000);
	ck_assert_int_eq(delay(&c, 0, 503, 1, 4, 0), 1000);
	ck_assert_int_eq(delay(&c, 0, 503, 0, -1, 77), 0);
	ck_assert_int_eq(delay(&c, 0, 503, 999999, -1, 0), 5000);
	ck_assert_int_eq(delay(&c, 0, 429, -1, 604800, 0), 5000);
	/* Elsewhere the hint is ignored and the backoff applies. */
	ck_assert_int_eq(delay(&c, 2, 500, 2, 2, 400), 400);
	ck_assert_int_eq(delay(&c, 0, 0, -1, -1, 100), 100);
	ck_assert_int_eq(delay(&c, 0, 503, -1, -1, 100), 100);
	/* Without a draw the backoff waits its ceiling, never 0. */
	ck_assert_int_eq(ztp__backoff_ms(0, 100, 1000, NULL), 100);
	ck_assert_int_eq(ztp__backoff_ms(3, 100, 1000, NULL), 800);
	ck_assert_int_eq(ztp__backoff_ms(9, 100, 1000, NULL), 1000);
	ck_assert_int_eq(
	    ztp__retry_delay_ms(2, 500, -1, -1, 100, 1000, 5000, NULL), 400);
	ck_assert_int_eq(ztp__backoff_ms(3, 0, 1000, NULL), 0);
	/* A hint over a week counts as a week, then the device's bound. */
	ck_assert_int_eq(ztp__retry_delay_ms(0, 429, INT64_MAX, -1, 100, 1000,
					     INT64_MAX, NULL),
			 (int64_t)ZTP__RETRY_AFTER_MAX_S * 1000);
	ck_assert_int_eq(
	    ztp__retry_delay_ms(0, 503, 7, -1, 100, 1000, -1, NULL), 0);
}
END_TEST

/* Which answers are retried and what a refusal is reported as: the
 * two agree (a status is final exactly when it is not retried). */
START_TEST(test_answer_policy)
{
	long st;

	for (st = 100; st < 700; st++) {
		int rc = ztp__answer_refusal(st);

		if (st >= 200 && st <= 299)
			continue;
		ck_assert_int_eq(ztp__answer_retryable(st), rc != ZTP_EDENIED);
	}
	ck_assert_int_eq(ztp__answer_refusal(429), ZTP_ERATELIMIT);
	ck_assert_int_eq(ztp__answer_refusal(408), ZTP_ENETWORK);
	ck_assert_int_eq(ztp__answer_refusal(503), ZTP_ENETWORK);
	ck_assert_int_eq(ztp__answer_refusal(403), ZTP_EDENIED);
	ck_assert_int_eq(ztp__answer_refusal(600), ZTP_EDENIED);
	ck_assert(ztp__wire_code_syntax("rate_limited", 12));
	ck_assert(ztp__wire_code_syntax("a1_", 3));
	ck_assert(!ztp__wire_code_syntax("", 0));
	ck_assert(!ztp__wire_code_syntax("Rate", 4));
	ck_assert(!ztp__wire_code_syntax("rate-limited", 12));
	ck_assert(!ztp__wire_code_syntax("rate limited", 12));
	ck_assert(ztp__wire_code_syntax(
	    "a234567890123456789012345678901234567890123456789012345678901234",
	    64));
	ck_assert(!ztp__wire_code_syntax(
	    "a2345678901234567890123456789012345678901234567890123456789012345",
	    65));
}
END_TEST

START_TEST(test_rotation_due)
{
	uint8_t fp0[32] = {0}, fpmax[32], fp[32];
	const int64_t nb = 1000000, life = 365 * 86400;
	int64_t due, lo = INT64_MAX, hi = 0;
	int i;

	memset(fpmax, 0xff, sizeof(fpmax));
	/* No jitter: exactly the configured fraction of the lifetime. */
	ck_assert_int_eq(ztp__rotation_due(nb, nb + life, 67, fp0),
			 nb + life / 100 * 67);
	ck_assert_int_eq(ztp__rotation_due(nb, nb + 300, 50, fp0), nb + 150);
	/* The jitter stays within 5 % of the lifetime, and before the end
	 * even at 95 %. */
	for (i = 0; i < 256; i++) {
		memset(fp, i, sizeof(fp));
		due = ztp__rotation_due(nb, nb + life, 67, fp);
		ck_assert_int_ge(due, nb + life / 100 * 67);
		ck_assert_int_le(due, nb + life / 100 * 72);
		lo = due < lo ? due : lo;
		hi = due > hi ? due : hi;
		due = ztp__rotation_due(nb, nb + life, 95, fp);
		ck_assert_int_lt(due, nb + life);
	}
	/* It does spread devices out. */
	ck_assert_int_gt(hi - lo, life / 100);
	/* (2^64 - 1) mod 6 = 3: 95 + 3. */
	ck_assert_int_eq(ztp__rotation_due(nb, nb + 100, 95, fpmax), nb + 98);
	/* 95 + 5 would be the end itself: one second before it. */
	memset(fp, 0, sizeof(fp));
	fp[7] = 5;
	ck_assert_int_eq(ztp__rotation_due(nb, nb + 100, 95, fp), nb + 99);
	ck_assert_int_eq(ztp__rotation_due(nb, nb, 67, fp0), nb);
	ck_assert_int_eq(ztp__rotation_due(nb, nb - 5, 67, fp0), nb);
}
END_TEST

START_TEST(test_parse_assignment)
{
	static const struct {
		const char *json;
		int rc;
	} cases[] = {
	    {"{\"tenant\":\"acme\",\"namespace\":\"acme/d1\","
	     "\"policy\":{\"a\":[{\"b\":1}]}}",
	     0},
	    {"{\"tenant\":null,\"namespace\":null,\"policy\":null}", 0},
	    {"{}", 0},
	    {"{\"tenant\":\"a/b\"}", ZTP_EINVAL},
	    {"{\"tenant\":5}", ZTP_EPARSE},
	    {"{\"namespace\":\"acme/+\"}", ZTP_EPARSE},
	    {"{\"namespace\":\"a b\"}", ZTP_EPARSE},
	    {"{\"policy\":[]}", ZTP_EPARSE},
	    {"{\"policy\":\"allow all\"}", ZTP_EPARSE},
	    {"{\"tenant\":\"acme\",\"extra\":1}", ZTP_EPARSE},
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(cases); i++) {
		json_object *o = js(cases[i].json);
		int rc = ztp__dev_parse_assignment(o);

		ck_assert_msg(rc == cases[i].rc, "%s: got %d (%s)",
			      cases[i].json, rc, ztp_error_last_message());
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_lifecycle_preconditions)
{
	ztp_device *dev = NULL;
	char *st = state_dir(), *ca = path("ca.pem"), *json = NULL;

	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_register(NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_credentials(NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_rotate(NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_run(NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_assignment(dev, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_id(dev, "dev-0001"), 0);
	ck_assert_rc(ztp_device_set_base_url(dev, "https://127.0.0.1:1"), 0);
	ck_assert_rc(ztp_device_set_ca_file(dev, ca), 0);
	ck_assert_rc(ztp_device_set_state_dir(dev, st), 0);
	/* Nothing stored yet: every later step says what is missing, and
	 * nothing touches the network (the URL's port 1 would refuse). */
	ck_assert_rc(ztp_device_register(dev), ZTP_EINVAL); /* no config */
	ck_assert_rc(load_cfg(dev,
			      "{\"device_id\":\"dev-0001\","
			      "\"base_url\":\"https://127.0.0.1:1\","
			      "\"ca_file\":\"ca.pem\",\"state_dir\":"
			      "\"state\",\"registration\":{\"device_type\":"
			      "\"t\",\"firmware_version\":\"1\"}}"),
		     0);
	ck_assert_rc(ztp_device_register(dev), ZTP_ESTATE);
	ck_assert_rc(ztp_device_credentials(dev), ZTP_ESTATE);
	ck_assert_rc(ztp_device_rotate(dev), ZTP_ESTATE);
	ck_assert_rc(ztp_device_assignment(dev, &json), ZTP_ESTATE);
	ck_assert_ptr_null(json);
	/* run would bootstrap first, which needs the factory identity. */
	ck_assert_rc(ztp_device_run(dev, &json), ZTP_EINVAL);
	ck_assert_ptr_null(json);
	free(st);
	free(ca);
	ztp_device_free(dev);
}
END_TEST

/* ------------------------------------------------------------------ storage */

static mode_t file_mode(const char *dir, ztp__dev_kind kind, char slot,
			const char *file)
{
	char *p = NULL;
	struct stat st;

	ck_assert_rc(ztp__dev_slot_path(&p, dir, kind, slot, file), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	return st.st_mode & 0777;
}

static bool file_exists(const char *dir, ztp__dev_kind kind, char slot,
			const char *file)
{
	char *p = NULL;
	bool r;

	ck_assert_rc(ztp__dev_slot_path(&p, dir, kind, slot, file), 0);
	r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* Place a certificate in a slot as an interrupted run would have. */
static void put_cert(const char *dir, ztp__dev_kind kind, char slot, X509 *c)
{
	char *p = NULL, *pem = NULL;

	ck_assert_rc(ztp__dev_slot_path(&p, dir, kind, slot, "cert.pem"), 0);
	ck_assert_rc(ztp__cert_to_pem(&pem, c), 0);
	ck_assert_rc(ztp__file_write_atomic(p, pem, strlen(pem), 0644), 0);
	free(p);
	free(pem);
}

START_TEST(test_state_slots)
{
	char *st = state_dir();
	EVP_PKEY *k1 = NULL, *k1b = NULL, *k2 = NULL;
	ztp__dev_cred ready = {0}, cur = {0};
	ztp__dev_manifest m;
	X509 *c1 = NULL, *c2 = NULL;
	const ztp__dev_kind K = ZTP__DEV_BOOTSTRAP;
	struct stat sb;

	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), ZTP_ENOTFOUND);
	/* First run: a key in slot a, marked pending before anything else. */
	ck_assert_rc(ztp__dev_pending_begin(&k1, &ready, st, NULL, K, "ec-p256",
					    "dev-0001", now_fixed),
		     0);
	ck_assert_ptr_null(ready.cert);
	ck_assert_rc(ztp__dev_manifest_read(&m, st, K), 0);
	ck_assert_int_eq(m.current, 0);
	ck_assert_int_eq(m.pending, 'a');
	ck_assert_int_eq(file_mode(st, K, 'a', "key.pem"), 0600);
	ck_assert_int_eq(stat(st, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	/* Interrupted before the answer: the same key is used again. */
	ck_assert_rc(ztp__dev_pending_begin(&k1b, &ready, st, NULL, K,
					    "ec-p256", "dev-0001", now_fixed),
		     0);
	ck_assert_int_eq(EVP_PKEY_eq(k1, k1b), 1);
	ck_assert_ptr_null(ready.cert);
	EVP_PKEY_free(k1b);
	k1b = NULL;
	/* A certificate that is not for this device is not "ready". */
	c1 = mkcert("dev-0009", k1, ca_key, ca_cert, now_fixed - 10,
		    now_fixed + 86400, NULL);
	put_cert(st, K, 'a', c1);
	X509_free(c1);
	ck_assert_rc(ztp__dev_pending_begin(&k1b, &ready, st, NULL, K,
					    "ec-p256", "dev-0001", now_fixed),
		     0);
	ck_assert_ptr_null(ready.cert);
	EVP_PKEY_free(k1b);
	k1b = NULL;
	/* Interrupted after the certificate was written: it completes. */
	c1 = mkcert("dev-0001", k1, ca_key, ca_cert, now_fixed - 10,
		    now_fixed + 86400, NULL);
	put_cert(st, K, 'a', c1);
	ck_assert_rc(ztp__dev_pending_begin(&k1b, &ready, st, NULL, K,
					    "ec-p256", "dev-0001", now_fixed),
		     0);
	ck_assert_ptr_nonnull(ready.cert);
	ck_assert_int_eq(X509_cmp(ready.cert, c1), 0);
	ck_assert_int_eq(ready.slot, 'a');
	EVP_PKEY_free(k1b);
	k1b = NULL;
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), ZTP_ENOTFOUND);
	ck_assert_rc(
	    ztp__dev_pending_commit(st, K, ready.cert, ready.chain, NULL), 0);
	ztp__dev_cred_free(&ready);
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
	ck_assert_int_eq(cur.slot, 'a');
	ck_assert_int_eq(EVP_PKEY_eq(cur.key, k1), 1);
	ck_assert_int_eq(sk_X509_num(cur.chain), 0);
	ztp__dev_cred_free(&cur);
	ck_assert_rc(ztp__dev_pending_commit(st, K, c1, NULL, NULL),
		     ZTP_ESTATE);

	/* The next credential is built in slot b; a stays current. */
	ck_assert_rc(ztp__dev_pending_begin(&k2, &ready, st, NULL, K, "ed25519",
					    "dev-0001", now_fixed),
		     0);
	ck_assert_ptr_null(ready.cert);
	ck_assert_rc(ztp__dev_manifest_read(&m, st, K), 0);
	ck_assert_int_eq(m.current, 'a');
	ck_assert_int_eq(m.pending, 'b');
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
	ck_assert_int_eq(cur.slot, 'a');
	ztp__dev_cred_free(&cur);
	/* The configured key type changed while pending: a fresh key. */
	ck_assert_rc(ztp__dev_pending_begin(&k1b, &ready, st, NULL, K,
					    "ec-p384", "dev-0001", now_fixed),
		     0);
	ck_assert_int_ne(EVP_PKEY_eq(k1b, k2), 1);
	EVP_PKEY_free(k2);
	k2 = k1b;
	k1b = NULL;
	c2 = mkcert("dev-0001", k2, ca_key, ca_cert, now_fixed - 10,
		    now_fixed + 86400, NULL);
	{
		STACK_OF(X509) *chain = sk_X509_new_null();

		sk_X509_push(chain, ca_cert);
		ck_assert_rc(ztp__dev_pending_commit(st, K, c2, chain, NULL),
			     0);
		sk_X509_free(chain);
	}
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
	ck_assert_int_eq(cur.slot, 'b');
	ck_assert_int_eq(sk_X509_num(cur.chain), 1);
	ztp__dev_cred_free(&cur);

	/* Next time slot a is emptied first: its old pair must never be
	 * taken for a fresh one. */
	ck_assert_rc(ztp__dev_pending_begin(&k1b, &ready, st, NULL, K,
					    "ec-p256", "dev-0001", now_fixed),
		     0);
	ck_assert_ptr_null(ready.cert);
	ck_assert_int_ne(EVP_PKEY_eq(k1b, k1), 1);
	ck_assert(!file_exists(st, K, 'a', "cert.pem"));
	ck_assert(!file_exists(st, K, 'a', "chain.pem"));
	EVP_PKEY_free(k1b);
	k1b = NULL;

	/* Operational credentials are independent. */
	ck_assert_rc(
	    ztp__dev_cred_current(&cur, st, NULL, ZTP__DEV_OPERATIONAL),
	    ZTP_ENOTFOUND);

	X509_free(c1);
	X509_free(c2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	free(st);
}
END_TEST

START_TEST(test_state_tamper)
{
	char *st = state_dir(), *p = NULL;
	EVP_PKEY *k = NULL, *other = NULL;
	ztp__dev_cred ready = {0}, cur = {0};
	X509 *c = NULL, *c2 = NULL;
	const ztp__dev_kind K = ZTP__DEV_OPERATIONAL;
	static const char *const bad_manifests[] = {
	    "",
	    "{}",
	    "[]",
	    "{\"version\":2}",
	    "{\"version\":1,\"current\":\"c\"}",
	    "{\"version\":1,\"current\":\"a\"}",
	    "{\"version\":1,\"current\":\"a\",\"pending\":\"a\","
	    "\"fingerprint\":\"0000000000000000000000000000000000000000000"
	    "000000000000000000000\"}",
	    "{\"version\":1,\"current\":null,\"fingerprint\":\"00\"}",
	    "{\"version\":1,\"x\":1}",
	};
	size_t i;

	ck_assert_rc(ztp__dev_pending_begin(&k, &ready, st, NULL, K, "ec-p256",
					    "dev-0001", now_fixed),
		     0);
	c = mkcert("dev-0001", k, ca_key, ca_cert, now_fixed - 10,
		   now_fixed + 86400, NULL);
	ck_assert_rc(ztp__dev_pending_commit(st, K, c, NULL, NULL), 0);
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
	ztp__dev_cred_free(&cur);

	/* A certificate replaced behind the manifest's back. */
	c2 = mkcert("dev-0001", k, ca_key, ca_cert, now_fixed - 20,
		    now_fixed + 86400, NULL);
	put_cert(st, K, 'a', c2);
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), ZTP_EMISMATCH);
	/* A certificate for another key. */
	ck_assert_rc(ztp__key_generate(&other, "ec-p256"), 0);
	X509_free(c2);
	c2 = mkcert("dev-0001", other, ca_key, ca_cert, now_fixed - 20,
		    now_fixed + 86400, NULL);
	put_cert(st, K, 'a', c2);
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), ZTP_EMISMATCH);
	put_cert(st, K, 'a', c);
	ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
	ztp__dev_cred_free(&cur);

	/* A slot whose key is in a token (key.ref instead of key.pem): not
	 * usable without a token configured; a malformed reference is
	 * refused as such. Retiring a slot whose key is a file keeps it. */
	{
		bool done = true;
		char *kp = NULL, *rp = NULL, *pem = NULL;
		size_t plen = 0;

		ck_assert_rc(ztp__dev_slot_path(&kp, st, K, 'a', "key.pem"), 0);
		ck_assert_rc(ztp__dev_slot_path(&rp, st, K, 'a', "key.ref"), 0);
		ck_assert_rc(ztp__file_read(&pem, &plen, kp, 65536), 0);
		ck_assert_int_eq(unlink(kp), 0);
		ck_assert_rc(ztp__file_write_atomic(
				 rp, "object=x-operational-a\n", 23, 0600),
			     0);
		ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K),
			     ZTP_ESTATE);
		ck_assert_rc(ztp__file_write_atomic(rp, "object=a b", 10, 0600),
			     0);
		ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K),
			     ZTP_EPARSE);
		ck_assert_int_eq(unlink(rp), 0);
		ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K),
			     ZTP_ENOTFOUND);
		ck_assert_rc(ztp__file_write_atomic(kp, pem, plen, 0600), 0);
		ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
		ztp__dev_cred_free(&cur);
		ck_assert_rc(ztp__dev_slot_retire(st, NULL, K, 'a', &done), 0);
		ck_assert(!done);
		ck_assert(file_exists(st, K, 'a', "key.pem"));
		ztp__free_secret(pem, plen);
		free(kp);
		free(rp);
	}

	ck_assert_rc(ztp__dev_slot_path(&p, st, K, 0, "current.json"), 0);
	for (i = 0; i < ZTP__ARRAY_LEN(bad_manifests); i++) {
		ck_assert_rc(ztp__file_write_atomic(p, bad_manifests[i],
						    strlen(bad_manifests[i]),
						    0600),
			     0);
		ck_assert_msg(ztp__dev_cred_current(&cur, st, NULL, K) ==
				  ZTP_EPARSE,
			      "accepted manifest %s", bad_manifests[i]);
	}
	free(p);
	X509_free(c);
	X509_free(c2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	free(st);
}
END_TEST

/* Allocation failures anywhere in storage: no crash, no leak (ASan,
 * valgrind), and the state reads back consistently afterwards. */
START_TEST(test_state_oom)
{
	const ztp__dev_kind K = ZTP__DEV_BOOTSTRAP;
	EVP_PKEY *k = NULL;
	ztp__dev_cred ready = {0}, cur = {0};
	X509 *c = NULL;
	ztp_device *dev = NULL;
	char *st = NULL, *json = NULL, name[32];
	long n, total;
	int rc;

	/* Starting a credential. */
	for (n = 1;; n++) {
		snprintf(name, sizeof(name), "oom-a%ld", n);
		st = path(name);
		ztp__alloc_fail_at(n);
		rc = ztp__dev_pending_begin(&k, &ready, st, NULL, K, "ec-p256",
					    "dev-0001", now_fixed);
		total = ztp__alloc_fail_at(0);
		EVP_PKEY_free(k);
		k = NULL;
		ztp__dev_cred_free(&ready);
		if (rc == ZTP_OK) {
			free(st);
			break;
		}
		ck_assert_msg(rc == ZTP_ENOMEM, "n=%ld: %d %s", n, rc,
			      ztp_error_last_message());
		ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K),
			     ZTP_ENOTFOUND);
		ck_assert_rc(ztp__dev_pending_begin(&k, &ready, st, NULL, K,
						    "ec-p256", "dev-0001",
						    now_fixed),
			     0);
		EVP_PKEY_free(k);
		k = NULL;
		free(st);
		ck_assert_int_lt(n, 10000);
	}
	(void)total;

	/* Committing it. */
	for (n = 1;; n++) {
		int first;

		snprintf(name, sizeof(name), "oom-b%ld", n);
		st = path(name);
		ck_assert_rc(ztp__dev_pending_begin(&k, &ready, st, NULL, K,
						    "ec-p256", "dev-0001",
						    now_fixed),
			     0);
		c = mkcert("dev-0001", k, ca_key, ca_cert, now_fixed - 10,
			   now_fixed + 86400, NULL);
		ztp__alloc_fail_at(n);
		first = rc = ztp__dev_pending_commit(st, K, c, NULL, NULL);
		ztp__alloc_fail_at(0);
		if (rc < 0) {
			ck_assert_msg(rc == ZTP_ENOMEM, "n=%ld: %d %s", n, rc,
				      ztp_error_last_message());
			/* Either nothing is current yet and the commit can
			 * be redone, or the new credential is complete. */
			rc = ztp__dev_cred_current(&cur, st, NULL, K);
			ztp__dev_cred_free(&cur);
			if (rc == ZTP_ENOTFOUND)
				ck_assert_rc(ztp__dev_pending_commit(
						 st, K, c, NULL, NULL),
					     0);
			else
				ck_assert_rc(rc, 0);
		}
		ck_assert_rc(ztp__dev_cred_current(&cur, st, NULL, K), 0);
		ck_assert_int_eq(EVP_PKEY_eq(cur.key, k), 1);
		ztp__dev_cred_free(&cur);
		EVP_PKEY_free(k);
		k = NULL;
		X509_free(c);
		c = NULL;
		free(st);
		st = NULL;
		if (first == ZTP_OK)
			break; /* past the last allocation */
		ck_assert_int_lt(n, 10000);
	}

	/* Reporting it. */
	st = path("oom-b1");
	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_set_state_dir(dev, st), 0);
	for (n = 1;; n++) {
		ztp__alloc_fail_at(n);
		rc = ztp_device_status(dev, &json);
		ztp__alloc_fail_at(0);
		if (rc == ZTP_OK) {
			ck_assert_ptr_nonnull(strstr(json, "\"slot\":\"a\""));
			ztp_free(json);
			break;
		}
		ck_assert_msg(rc == ZTP_ENOMEM, "n=%ld: %d %s", n, rc,
			      ztp_error_last_message());
		ck_assert_ptr_null(json);
		ck_assert_int_lt(n, 10000);
	}
	ztp_device_free(dev);
	free(st);
}
END_TEST

START_TEST(test_state_dir_checks)
{
	char *st = state_dir();
	int fd = -1, fd2 = -1;

	ck_assert_rc(ztp__dev_state_open(st, &fd), 0);
	ck_assert_int_ge(fd, 0);
	/* The lock is per open file, so a second open in this process
	 * contends like another process would. */
	ck_assert_rc(ztp__dev_state_open(st, &fd2), ZTP_ESTATE);
	ck_assert_int_eq(fd2, -1);
	ztp__dev_state_close(fd);
	ck_assert_rc(ztp__dev_state_open(st, &fd2), 0);
	ztp__dev_state_close(fd2);
	ck_assert_int_eq(chmod(st, 0770), 0);
	ck_assert_rc(ztp__dev_state_open(st, &fd), ZTP_EIO);
	ck_assert_int_eq(chmod(st, 0700), 0);
	free(st);
	st = path("factory.pem");
	ck_assert_rc(ztp__dev_state_open(st, &fd), ZTP_EIO);
	free(st);
	st = path("no/such/parent");
	ck_assert_rc(ztp__dev_state_open(st, &fd), ZTP_EIO);
	free(st);
}
END_TEST

/* A bootstrap credential for dev-0001 stored in st, valid for a day, with
 * the given serial. */
static void store_bootstrap(const char *st, long serial)
{
	EVP_PKEY *k = NULL;
	ztp__dev_cred ready = {0};
	X509 *c = NULL;

	ck_assert_rc(ztp__dev_pending_begin(&k, &ready, st, NULL,
					    ZTP__DEV_BOOTSTRAP, "ec-p256",
					    "dev-0001", now_fixed),
		     0);
	c = mkcert("dev-0001", k, ca_key, ca_cert, now_fixed - 10,
		   now_fixed + 86400, NULL);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(c), serial), 1);
	ck_assert_int_gt(X509_sign(c, ca_key,
				   EVP_PKEY_get_id(ca_key) == EVP_PKEY_ED25519
				       ? NULL
				       : EVP_sha256()),
			 0);
	ck_assert_rc(
	    ztp__dev_pending_commit(st, ZTP__DEV_BOOTSTRAP, c, NULL, NULL), 0);
	X509_free(c);
	EVP_PKEY_free(k);
}

START_TEST(test_status)
{
	ztp_device *dev = NULL;
	char *st = state_dir(), *json = NULL;
	json_object *o = NULL, *creds, *b, *v;

	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_status(dev, &json), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_state_dir(dev, st), 0);
	ck_assert_rc(ztp_device_set_clock(dev, ztp_clock_fixed, &now_fixed), 0);
	ck_assert_rc(ztp_device_status(dev, &json), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":null"));
	ck_assert_ptr_nonnull(strstr(json, "\"credentials\":{\"bootstrap\":"
					   "null,\"operational\":null}"));
	ztp_free(json);
	json = NULL;

	store_bootstrap(st, 4242);
	ck_assert_rc(ztp_device_set_id(dev, "dev-0001"), 0);
	ck_assert_rc(ztp_device_status(dev, &json), 0);
	o = js(json);
	ck_assert(json_object_object_get_ex(o, "device_id", &v));
	ck_assert_str_eq(json_object_get_string(v), "dev-0001");
	ck_assert(json_object_object_get_ex(o, "credentials", &creds));
	ck_assert(json_object_object_get_ex(creds, "operational", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(creds, "bootstrap", &b));
	ck_assert(json_object_object_get_ex(b, "slot", &v));
	ck_assert_str_eq(json_object_get_string(v), "a");
	ck_assert(json_object_object_get_ex(b, "not_after", &v));
	ck_assert_str_eq(json_object_get_string(v), "2026-11-19T11:06:40Z");
	ck_assert(json_object_object_get_ex(b, "expired", &v));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(b, "serial", &v));
	ck_assert_str_eq(json_object_get_string(v), "1092");
	ck_assert(json_object_object_get_ex(b, "tenant", &v));
	ck_assert_ptr_null(v);
	json_object_put(o);
	ztp_free(json);
	json = NULL;
	/* Later, by the device's clock, it has expired. */
	now_fixed += 86400;
	ck_assert_rc(ztp_device_status(dev, &json), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"expired\":true"));
	now_fixed -= 86400;
	ztp_free(json);
	json = NULL;
	/* Without a trustworthy clock: the floor decides, not the device's
	 * clock (here at 1970). */
	{
		int64_t zero = 0;

		ck_assert_rc(ztp_device_set_clock(dev, ztp_clock_fixed, &zero),
			     0);
		ck_assert_rc(ztp_device_status(dev, &json), 0);
		ck_assert_ptr_nonnull(strstr(json, "\"expired\":false"));
		ztp_free(json);
		dev->cfg.clock_untrusted = true;
		ck_assert_rc(ztp__dev_floor_write(st, now_fixed + 2 * 86400),
			     0);
		ck_assert_rc(ztp_device_status(dev, &json), 0);
		ck_assert_ptr_nonnull(strstr(json, "\"expired\":true"));
		ztp_free(json);
	}

	free(st);
	ztp_device_free(dev);
}
END_TEST

/* The serial is written as the registry keeps it (ztp_store_cert_get()),
 * without the leading zero that whole-octet hex has for 0x0abc. */
START_TEST(test_status_serial)
{
	ztp_device *dev = NULL;
	char *st = state_dir(), *json = NULL;

	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_set_state_dir(dev, st), 0);
	ck_assert_rc(ztp_device_set_clock(dev, ztp_clock_fixed, &now_fixed), 0);
	store_bootstrap(st, 0xabc);
	ck_assert_rc(ztp_device_status(dev, &json), 0);
	ck_assert_msg(strstr(json, "\"serial\":\"abc\"") != NULL, "%s", json);
	ztp_free(json);
	free(st);
	ztp_device_free(dev);
}
END_TEST

START_TEST(test_bootstrap_config_missing)
{
	ztp_device *dev = NULL;
	char *k = path("factory.key"), *c = path("factory.pem");
	char *src = NULL, *ca = path("ca.pem"), *st = state_dir();

	ck_assert_int_ge(asprintf(&src, "file:%s", k), 0);
	ck_assert_rc(ztp_device_new(&dev), 0);
	ck_assert_rc(ztp_device_bootstrap(dev), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_factory_identity(dev, src, c), 0);
	ck_assert_rc(ztp_device_bootstrap(dev), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_base_url(dev, "https://127.0.0.1:1"), 0);
	ck_assert_rc(ztp_device_bootstrap(dev), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_ca_file(dev, ca), 0);
	ck_assert_rc(ztp_device_bootstrap(dev), ZTP_EINVAL);
	ck_assert_rc(ztp_device_set_id(dev, "other"), 0);
	ck_assert_rc(ztp_device_set_state_dir(dev, st), 0);
	ck_assert_rc(ztp_device_bootstrap(dev), ZTP_EMISMATCH);
	free(src);
	free(k);
	free(c);
	free(ca);
	free(st);
	ztp_device_free(dev);
}
END_TEST

/* The portable core on the OpenSSL port (ztp_lite_openssl_new()): its
 * arguments, a configuration it builds a device from (the state directory
 * made 0700 and locked against a second device), one whose factory key is
 * not the certificate's, and one naming the device the certificate does
 * not. */
static void write_lite_config(const char *name, const char *key,
			      const char *extra)
{
	char *text = NULL;

	ck_assert_int_ge(asprintf(&text,
				  "{\"factory_key\": \"file:%s\", "
				  "\"factory_cert\": \"factory.pem\", "
				  "\"ca_file\": \"ca.pem\", "
				  "\"base_url\": \"https://127.0.0.1:1\", "
				  "\"state_dir\": \"lite-state\"%s}",
				  key, extra),
			 0);
	write_file(name, text);
	free(text);
}

START_TEST(test_lite_openssl_new)
{
	ztp_lite *d = NULL, *d2 = (ztp_lite *)1;
	char err[256], *cfg = path("lite.json"), *st = path("lite-state");
	struct stat sb;

	ck_assert_rc(
	    ztp_lite_openssl_new(NULL, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EINVAL);
	ck_assert_str_eq(err, "ztp_lite_openssl_new: NULL argument");
	ck_assert_rc(ztp_lite_openssl_new(&d, NULL, NULL, NULL, NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_ENOTFOUND);

	write_lite_config("lite.json", "factory.key", "");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_OK);
	ck_assert_int_eq(stat(st, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ck_assert_rc(
	    ztp_lite_openssl_new(&d2, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_ESTATE);
	ck_assert_ptr_null(d2);
	ck_assert_str_eq(ztp_lite_error(d), "");
	ztp_lite_free(d);

	write_lite_config("lite.json", "wrong.key", "");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EMISMATCH);
	ck_assert_str_eq(err, "factory_key does not belong to factory_cert");
	write_lite_config("lite.json", "factory.key",
			  ", \"device_id\": \"dev-0002\"");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EMISMATCH);
	ck_assert_ptr_null(d);

	/* The reader ztp_device_load_config() uses: a key source of
	 * ztp-device.json(5)'s grammar only, the port's key types, the
	 * core's members. */
	write_file("lite.json",
		   "{\"factory_key\": \"factory.key\", \"factory_cert\": "
		   "\"factory.pem\", \"ca_file\": \"ca.pem\", \"base_url\": "
		   "\"https://127.0.0.1:1\", \"state_dir\": \"lite-state\"}");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EINVAL);
	ck_assert_str_eq(err, "factory_key: not a file:, pkcs11: or tpm2: URI");
	write_lite_config("lite.json", "//localhost/factory.key", "");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EINVAL);
	ck_assert_str_eq(err,
			 "factory_key: file:// takes an absolute path and no "
			 "host");
	write_lite_config("lite.json", "factory.key",
			  ", \"key_type\": \"rsa-2048\"");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EINVAL);
	ck_assert_str_eq(err, "key_type: the OpenSSL port generates ec-p256, "
			      "ec-p384 or ed25519 keys only");
	write_lite_config("lite.json", "factory.key", ", \"check_in\": 1");
	ck_assert_rc(
	    ztp_lite_openssl_new(&d, cfg, NULL, NULL, err, sizeof(err)),
	    ZTP_EPARSE);
	ck_assert_str_eq(err, "check_in: not true or false");
	ck_assert_ptr_null(d);
	free(cfg);
	free(st);
}
END_TEST

static Suite *device_suite(void)
{
	Suite *s = suite_create("device");
	TCase *tc;

#define ADD(name, fn)                                                          \
	tc = tcase_create(name);                                               \
	tcase_add_checked_fixture(tc, setup, teardown);                        \
	tcase_set_timeout(tc, 60);                                             \
	tcase_add_test(tc, fn);                                                \
	suite_add_tcase(s, tc)

	ADD("ztp_device_load_config", test_config_good);
	tcase_add_loop_test(tc, test_config_bad, 0,
			    (int)ZTP__ARRAY_LEN(bad_cfgs));
	tcase_add_test(tc, test_config_file);
	ADD("ztp_device_set", test_setters);
	ADD("ztp__dev_transcript", test_transcript);
	tc = tcase_create("ztp__dev_make_csr");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_csr, 0, (int)ZTP__ARRAY_LEN(key_types));
	suite_add_tcase(s, tc);
	ADD("ztp__dev_parse_challenge", test_parse_challenge);
	ADD("ztp__dev_parse_issued", test_parse_issued);
	ADD("ztp__dev_parse_error", test_parse_error);
	ADD("ztp__dev_classify", test_classify);
	ADD("ztp__retry_delay_ms", test_backoff);
	ADD("ztp__answer_retryable", test_answer_policy);
	ADD("ztp__rotation_due", test_rotation_due);
	ADD("ztp__dev_parse_assignment", test_parse_assignment);
	ADD("ztp_device_lifecycle", test_lifecycle_preconditions);
	ADD("ztp__dev_pending", test_state_slots);
	tcase_add_test(tc, test_state_tamper);
	tcase_add_test(tc, test_state_oom);
	ADD("ztp__dev_state_open", test_state_dir_checks);
	ADD("ztp_device_status", test_status);
	ADD("ztp_device_status_serial", test_status_serial);
	ADD("ztp_device_bootstrap", test_bootstrap_config_missing);
	ADD("ztp_lite_openssl_new", test_lite_openssl_new);
#undef ADD
	return s;
}

int main(void)
{
	return ztp_test_run(device_suite());
}
