/*
 * The device side under allocation failure: loading its configuration
 * (with a factory key and certificate), and reading a certificate answer.
 * A failed load must leave the handle's previous configuration in place.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "hardening.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "device/internal.h"

#define SWEEP_BUDGET 400

typedef struct dev_ctx {
	char *dir;
	char *cfg;
	EVP_PKEY *key;
	char *answer;	 /* a certificate answer for key */
	ztp_device *dev; /* the handle of the step being checked */
	int idrc;
} dev_ctx;

static void write_text(const char *dir, const char *name, const char *text)
{
	char *p = ztp_test_path(dir, name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	free(p);
}

/* A certificate for key naming dev-0001, valid for a day from now. */
static char *cert_for(EVP_PKEY *key, int64_t *not_after)
{
	X509 *x = X509_new();
	X509_NAME *n;
	char *pem = NULL;

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 42), 1);
	n = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     n, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"dev-0001", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_set_issuer_name(x, n), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	ck_assert_rc(ztp__asn1_time(not_after, X509_get0_notAfter(x)), ZTP_OK);
	ck_assert_rc(ztp__cert_to_pem(&pem, x), ZTP_OK);
	X509_free(x);
	return pem;
}

static void dev_fixture(dev_ctx *c)
{
	char *key_pem = NULL, *cert = NULL, ts[32], *doc = NULL;
	int64_t na = 0;
	json_object *o, *chain;

	c->dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(c->dir);
	ck_assert_rc(ztp__key_generate(&c->key, "ec-p256"), ZTP_OK);
	ck_assert_rc(ztp__privkey_to_pem(&key_pem, c->key, NULL), ZTP_OK);
	cert = cert_for(c->key, &na);
	write_text(c->dir, "factory.key", key_pem);
	write_text(c->dir, "factory.pem", cert);
	write_text(c->dir, "ca.pem", cert);
	write_text(c->dir, "device.json",
		   "{\"device_id\":\"dev-0001\","
		   "\"factory_key\":\"file:factory.key\","
		   "\"factory_cert\":\"factory.pem\","
		   "\"base_url\":\"https://127.0.0.1:8443\","
		   "\"ca_file\":\"ca.pem\",\"key_type\":\"ec-p256\","
		   "\"state_dir\":\"state\",\"timeout_ms\":30000,"
		   "\"retry\":{\"max_attempts\":5,\"base_delay_ms\":100},"
		   "\"registration\":{\"device_type\":\"sensor\","
		   "\"firmware_version\":\"1.0\","
		   "\"capabilities\":[\"temp\",\"rh\"]}}");
	c->cfg = ztp_test_path(c->dir, "device.json");
	/* {"certificate": cert, "chain": [cert], "not_after": ts} */
	ztp__time_rfc3339(ts, na);
	o = json_object_new_object();
	chain = json_object_new_array();
	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(chain);
	ck_assert_rc(ztp__json_add_str(o, "certificate", cert), ZTP_OK);
	ck_assert_int_eq(
	    json_object_array_add(chain, json_object_new_string(cert)), 0);
	ck_assert_rc(ztp__json_add(o, "chain", chain), ZTP_OK);
	ck_assert_rc(ztp__json_add_str(o, "not_after", ts), ZTP_OK);
	ck_assert_rc(ztp__json_dump(&doc, o), ZTP_OK);
	c->answer = doc;
	json_object_put(o);
	ztp__free_secret(key_pem, strlen(key_pem));
	ztp_free(cert);
}

static void dev_fixture_free(dev_ctx *c)
{
	ztp_test_rmtree(c->dir);
	free(c->dir);
	free(c->cfg);
	ztp_free(c->answer);
	EVP_PKEY_free(c->key);
}

static int op_load_config(void *vctx)
{
	dev_ctx *c = vctx;
	int rc;

	/* The handle is made with injection on too: creating it is part
	 * of every device start. */
	c->dev = NULL;
	rc = ztp_device_new(&c->dev);
	if (rc != ZTP_OK) {
		ck_assert_ptr_null(c->dev);
		return rc;
	}
	rc = c->idrc = ztp_device_set_id(c->dev, "dev-prev");
	if (rc == ZTP_OK)
		rc = ztp_device_load_config(c->dev, c->cfg);
	if (rc == ZTP_OK) {
		ztp_device_free(c->dev);
		c->dev = NULL;
	}
	return rc;
}

static void check_config_unchanged(void *vctx, int rc)
{
	dev_ctx *c = vctx;
	char id[ZTP_ID_MAX + 1];

	if (rc != ZTP_OK && c->dev != NULL && c->idrc == ZTP_OK) {
		/* Nothing half-applied: the configuration in force is still
		 * the one from before the failed load. */
		ck_assert_rc(ztp__dev_id(c->dev, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-prev");
	}
	ztp_device_free(c->dev);
	c->dev = NULL;
}

START_TEST(test_alloc_device_config)
{
	/* EPARSE/ECRYPTO: the factory key and certificate go through the
	 * core PEM helpers; EMISMATCH: EVP_PKEY_eq failing for lack of
	 * memory reads as "the key does not belong to the certificate".
	 * Both fail closed (see hardening_oom.c for the classification). */
	static const int codes[] = {ZTP_EPARSE,	   ZTP_ECRYPTO,	 ZTP_EIO,
				    ZTP_EMISMATCH, ZTP_EPROFILE, ZTP_OK};
	dev_ctx c = {0};

	dev_fixture(&c);
	hz_alloc_sweep("device load_config", op_load_config,
		       check_config_unchanged, &c, codes, SWEEP_BUDGET);
	dev_fixture_free(&c);
}
END_TEST

static int op_parse_issued(void *vctx)
{
	dev_ctx *c = vctx;
	json_object *o = NULL;
	ztp__dev_issued is;
	int rc;

	memset(&is, 0, sizeof(is));
	rc = ztp__json_parse(&o, c->answer, strlen(c->answer),
			     ZTP__DEV_RESP_MAX, 0);
	if (rc == ZTP_OK)
		rc = ztp__dev_parse_issued(&is, o, false, c->key, "dev-0001",
					   ztp_clock_system(NULL));
	if (rc != ZTP_OK)
		ck_assert_ptr_null(is.cert);
	ztp__dev_issued_free(&is);
	json_object_put(o);
	return rc;
}

START_TEST(test_alloc_device_answer)
{
	static const int codes[] = {ZTP_EPARSE, ZTP_ECRYPTO, ZTP_EMISMATCH,
				    ZTP_EPROFILE, ZTP_OK};
	dev_ctx c = {0};

	dev_fixture(&c);
	hz_alloc_sweep("device parse_issued", op_parse_issued, NULL, &c, codes,
		       SWEEP_BUDGET);
	dev_fixture_free(&c);
}
END_TEST

void hz_add_device_tests(Suite *s);

void hz_add_device_tests(Suite *s)
{
	TCase *tc = tcase_create("alloc_device");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_alloc_device_config);
	tcase_add_test(tc, test_alloc_device_answer);
	suite_add_tcase(s, tc);
}
