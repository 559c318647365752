/*
 * CA: creating root and subordinate CAs, loading CAs, key types.
 */
#include "test_ca.h"

/* ---------------------------------------------------------- CA creation */

static void check_ca_cert(X509 *x, X509 *issuer, long pathlen)
{
	int crit = -1;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(bc->ca);
	if (pathlen < 0)
		ck_assert_ptr_null(bc->pathlen);
	else
		ck_assert_int_eq(ASN1_INTEGER_get(bc->pathlen), pathlen);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(ku);
	ck_assert_int_eq(crit, 1);
	ASN1_BIT_STRING_free(ku);
	ck_assert_uint_eq(X509_get_key_usage(x),
			  KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	ck_assert_int_eq(ext_critical(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_critical(x, NID_authority_key_identifier), 0);
	ck_assert_int_eq(
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
				  X509_get0_subject_key_id(issuer)),
	    0);
	ck_assert_int_eq(X509_check_issued(issuer, x), X509_V_OK);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(issuer)), 1);
	ck_assert_int_eq(serial_bits(x), 135);
}

START_TEST(test_create_root)
{
	char *cert = NULL, *key = NULL;
	X509 *x;
	int64_t before = (int64_t)time(NULL), after;

	ck_assert_rc(
	    ztp_ca_create_root(&cert, &key, "/CN=R/O=Acme", "ec-p384", 10),
	    ZTP_OK);
	/* the clock may tick during the call */
	after = (int64_t)time(NULL);
	x = pem_x509(cert);
	check_ca_cert(x, x, -1);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	ck_assert_int_eq(
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)),
	    0);
	/* backdated by 60 s */
	ck_assert(t_of(X509_get0_notBefore(x)) >= before - 60 &&
		  t_of(X509_get0_notBefore(x)) <= after - 60);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)) -
			     t_of(X509_get0_notBefore(x)),
			 10 * 86400 + 60);
	ck_assert_ptr_nonnull(strstr(key, "-----BEGIN PRIVATE KEY-----"));
	X509_free(x);
	ztp_free(cert);
	ztp_free(key);

	cert = key = (char *)"x";
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", "rsa-2048", 10),
		     ZTP_EKEYPOLICY);
	ck_assert_ptr_null(cert);
	ck_assert_ptr_null(key);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", "dsa", 10),
		     ZTP_EKEYPOLICY);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "/CN=R", NULL, 36501),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, "CN=R;O=x", NULL, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(&cert, &key, NULL, NULL, 1),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_create_root(NULL, &key, "/CN=R", NULL, 1),
		     ZTP_EINVAL);
}
END_TEST

START_TEST(test_create_sub)
{
	ztp_ca *iss = NULL;
	char *cert = NULL, *key = NULL, *json = NULL, *serial;
	char fp[65], want[256];
	X509 *x, *issuer = pem_x509(g_iss_cert), *intm = pem_x509(g_int_cert);
	uint64_t before = cert_count();

	/* The fixture's issuing CA has pathlen 0: no CA below it. */
	ck_assert_rc(ztp_ca_create_sub(ca, &cert, &key, "/CN=S", NULL, 10, -1),
		     ZTP_EPROFILE);
	ck_assert_ptr_null(cert);

	/* Below the intermediate (pathlen 1): 0 only. */
	ck_assert_rc(ztp_ca_new(&iss), ZTP_OK);
	ck_assert_rc(ztp_ca_load(iss, g_int_cert, g_int_key, NULL, NULL),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(iss, store), ZTP_OK);
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S", NULL, 10, 1),
		     ZTP_EPROFILE);
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S", NULL, 10, -1),
		     ZTP_EPROFILE);
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S", NULL, 10, 17),
		     ZTP_EINVAL);
	ck_assert_uint_eq(cert_count(), before);
	/* Longer than the issuer: clamped to its notAfter. */
	ck_assert_rc(ztp_ca_create_sub(iss, &cert, &key, "/CN=S/O=Acme",
				       "ed25519", 36500, 0),
		     ZTP_OK);
	x = pem_x509(cert);
	check_ca_cert(x, intm, 0);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 t_of(X509_get0_notAfter(intm)));
	ck_assert_int_eq(verify_chain(x, g_root_cert, g_int_cert, g_now),
			 X509_V_OK);
	/* Recorded as a CA certificate, without a device. */
	ck_assert_uint_eq(cert_count(), before + 1);
	serial = serial_hex_of(x);
	fp_hex(fp, x);
	ck_assert_rc(ztp_store_cert_get(store, serial, &json), ZTP_OK);
	snprintf(want, sizeof(want), "\"fingerprint\":\"%s\"", fp);
	ck_assert_ptr_nonnull(strstr(json, want));
	ck_assert_ptr_nonnull(strstr(json, "\"profile\":\"ca\""));
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":null"));
	free(serial);
	ztp_free(json);
	X509_free(x);
	ztp_free(cert);
	ztp_free(key);
	X509_free(issuer);
	X509_free(intm);
	ztp_ca_free(iss);
}
END_TEST

/* ---------------------------------------------------------- loading */

START_TEST(test_load)
{
	ztp_ca *c = NULL;
	char *pem = NULL, *enc = NULL, *dir, *p_cert, *p_key, *p_chain;
	EVP_PKEY *k;
	BIO *b;
	long len;
	FILE *f;

	/* Already loaded. */
	ck_assert_rc(ztp_ca_load(ca, g_iss_cert, g_iss_key, NULL, NULL),
		     ZTP_ESTATE);
	ck_assert_rc(ztp_ca_cert_pem(ca, &pem), ZTP_OK);
	ck_assert_str_eq(pem, g_iss_cert);
	ztp_free(pem);
	ck_assert_rc(ztp_ca_chain_pem(ca, &pem), ZTP_OK);
	ck_assert_int_eq(strncmp(pem, g_iss_cert, strlen(g_iss_cert)), 0);
	ck_assert_str_eq(pem + strlen(g_iss_cert), g_chain);
	ztp_free(pem);
	ck_assert_str_eq(ztp__ca_key_type(ca), "ec-p256");
	ck_assert_ptr_nonnull(ztp__ca_cert(ca));
	ck_assert_int_eq(sk_X509_num(ztp__ca_chain(ca)), 2);

	/* Key of another CA. */
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_int_key, NULL, NULL),
		     ZTP_EMISMATCH);
	/* A chain that does not issue the certificate. */
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, g_root_cert, NULL),
		     ZTP_EUNTRUSTED);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, "junk", NULL),
		     ZTP_EPARSE);
	ck_assert_rc(ztp_ca_load(c, "junk", g_iss_key, NULL, NULL), ZTP_EPARSE);
	ck_assert_rc(ztp_ca_load(c, NULL, g_iss_key, NULL, NULL), ZTP_EINVAL);

	/* Encrypted PKCS#8 key with a passphrase. */
	k = NULL;
	b = BIO_new_mem_buf(g_iss_key, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(),
						       "s3cret", 6, NULL, NULL),
			 1);
	len = BIO_get_mem_data(b, &pem);
	enc = strndup(pem, (size_t)len);
	BIO_free(b);
	EVP_PKEY_free(k);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, enc, NULL, "wrong"),
		     ZTP_ECRYPTO);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, enc, NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, enc, g_chain, "s3cret"),
		     ZTP_OK);
	ztp_ca_free(c);

	/* A leaf certificate is no CA. */
	{
		char *csr = csr_for("p256"), *leaf = NULL;

		ck_assert_rc(ztp_ca_issue(ca, &leaf, csr, strlen(csr), "dev-1",
					  NULL, "operational", 0),
			     ZTP_OK);
		ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
		ck_assert_rc(ztp_ca_load(c, leaf, g_iss_key, NULL, NULL),
			     ZTP_EPROFILE);
		ztp_ca_free(c);
		ztp_free(leaf);
		free(csr);
	}

	/* From files. */
	dir = ztp_test_tmpdir();
	p_cert = ztp_test_path(dir, "ca.pem");
	p_key = ztp_test_path(dir, "ca.key");
	p_chain = ztp_test_path(dir, "chain.pem");
	f = fopen(p_cert, "w");
	fputs(g_iss_cert, f);
	fclose(f);
	f = fopen(p_key, "w");
	fputs(enc, f);
	fclose(f);
	f = fopen(p_chain, "w");
	fputs(g_chain, f);
	fclose(f);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(
	    ztp_ca_load_files(c, p_cert, p_key, "/nonexistent/x", "s3cret"),
	    ZTP_ENOTFOUND);
	ck_assert_rc(ztp_ca_load_files(c, p_cert, p_key, p_chain, "s3cret"),
		     ZTP_OK);
	ztp_ca_free(c);
	ztp_test_rmtree(dir);
	free(dir);
	free(p_cert);
	free(p_key);
	free(p_chain);
	free(enc);
}
END_TEST

/* A self-signed certificate made by OpenSSL alone, for CAs this library
 * would never create. ku: keyUsage value, or NULL for none. */
static void selfsigned(char **cert_pem, char **key_pem, EVP_PKEY *k,
		       const char *bc, const char *ku)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	BIO *b;
	char *data;
	long len;
	const EVP_MD *md =
	    EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
				   MBSTRING_UTF8,
				   (const unsigned char *)"Foreign", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, bc);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ku != NULL) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, ku);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	ck_assert_int_gt(X509_sign(x, k, md), 0);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	len = BIO_get_mem_data(b, &data);
	*cert_pem = strndup(data, (size_t)len);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(b, &data);
	*key_pem = strndup(data, (size_t)len);
	BIO_free(b);
	X509_free(x);
}

START_TEST(test_load_foreign)
{
	ztp_ca *c = NULL;
	char *cert, *key, *pem = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");

	/* A P-521 CA: sound, but not a key type this CA signs with. */
	selfsigned(&cert, &key, k, "critical,CA:TRUE",
		   "critical,keyCertSign,cRLSign");
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_EKEYPOLICY);
	ztp_ca_free(c);
	free(cert);
	free(key);
	EVP_PKEY_free(k);

	k = keygen("p256");
	/* May not sign certificates. */
	selfsigned(&cert, &key, k, "critical,CA:TRUE", "critical,cRLSign");
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_EPROFILE);
	ztp_ca_free(c);
	free(cert);
	free(key);
	/* Not a CA. */
	selfsigned(&cert, &key, k, "critical,CA:FALSE", NULL);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_EPROFILE);
	ztp_ca_free(c);
	free(cert);
	free(key);
	/* May sign certificates but not CRLs; no key identifier of its
	 * own (the CA derives one). */
	selfsigned(&cert, &key, k, "critical,CA:TRUE", "critical,keyCertSign");
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_load(c, cert, key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(c, store), ZTP_OK);
	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_EPROFILE);
	ck_assert_ptr_null(pem);
	{
		char *csr = csr_for("p256");
		X509 *x, *cx = pem_x509(cert);
		ASN1_OCTET_STRING *want = NULL;

		ck_assert_rc(ztp_ca_issue(c, &pem, csr, strlen(csr), "dev-1",
					  NULL, "bootstrap", 0),
			     ZTP_OK);
		x = pem_x509(pem);
		ck_assert_rc(ztp__ca_key_id(&want, X509_get_X509_PUBKEY(cx)),
			     ZTP_OK);
		ck_assert_int_eq(
		    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), want),
		    0);
		ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(cx)), 1);
		ASN1_OCTET_STRING_free(want);
		X509_free(x);
		X509_free(cx);
		ztp_free(pem);
		free(csr);
	}
	ztp_ca_free(c);
	free(cert);
	free(key);
	EVP_PKEY_free(k);
}
END_TEST

/* ---------------------------------------------------------- key types */

START_TEST(test_key_types)
{
	static const struct {
		const char *type;
		int sig_nid;
		const char *leaf; /* a device key of another type */
	} types[] = {
	    {"ec-p256", NID_ecdsa_with_SHA256, "p384"},
	    {"ec-p384", NID_ecdsa_with_SHA384, "ed25519"},
	    {"ed25519", NID_ED25519, "rsa2048"},
	    {"rsa-3072", NID_sha256WithRSAEncryption, "p256"},
	};
	int i = _i;
	ztp_ca *root = NULL, *sub = NULL;
	char *rc_pem = NULL, *rk_pem = NULL, *sc_pem = NULL, *sk_pem = NULL;
	EVP_PKEY *leaf_key = keygen(types[i].leaf);
	char *csr = csr_pem(leaf_key, "x", NULL), *pem = NULL;
	X509 *rx, *sx, *lx;

	ck_assert_rc(ztp_ca_create_root(&rc_pem, &rk_pem, "/CN=Root",
					types[i].type, 100),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&root), ZTP_OK);
	ck_assert_rc(ztp_ca_load(root, rc_pem, rk_pem, NULL, NULL), ZTP_OK);
	ck_assert_str_eq(ztp__ca_key_type(root), types[i].type);
	ck_assert_rc(ztp_ca_create_sub(root, &sc_pem, &sk_pem, "/CN=Sub",
				       types[i].type, 50, 0),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_new(&sub), ZTP_OK);
	ck_assert_rc(ztp_ca_load(sub, sc_pem, sk_pem, rc_pem, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_set_store(sub, store), ZTP_OK);
	ck_assert_rc(ztp_ca_issue(sub, &pem, csr, strlen(csr), "dev-1", NULL,
				  "operational", 0),
		     ZTP_OK);
	rx = pem_x509(rc_pem);
	sx = pem_x509(sc_pem);
	lx = pem_x509(pem);
	check_ca_cert(rx, rx, -1);
	check_ca_cert(sx, rx, 0);
	ck_assert_int_eq(X509_get_signature_nid(rx), types[i].sig_nid);
	ck_assert_int_eq(X509_get_signature_nid(sx), types[i].sig_nid);
	ck_assert_int_eq(X509_get_signature_nid(lx), types[i].sig_nid);
	ck_assert_int_eq(verify_chain(lx, rc_pem, sc_pem, (int64_t)time(NULL)),
			 X509_V_OK);
	ck_assert_int_eq(X509_check_private_key(lx, leaf_key), 1);
	EVP_PKEY_free(leaf_key);
	X509_free(rx);
	X509_free(sx);
	X509_free(lx);
	ztp_free(pem);
	free(csr);
	ztp_free(rc_pem);
	ztp_free(rk_pem);
	ztp_free(sc_pem);
	ztp_free(sk_pem);
	ztp_ca_free(root);
	ztp_ca_free(sub);
}
END_TEST

void ca_tcases_create(Suite *s)
{
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_root);
	tcase_add_test(tc, test_create_sub);
	tcase_add_loop_test(tc, test_key_types, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_load_foreign);
	suite_add_tcase(s, tc);
}
