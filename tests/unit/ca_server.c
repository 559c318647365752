/*
 * CA: issuance under the server profile.
 */
#include "test_ca.h"

/* ---------------------------------------------------------- server profile */

/* A CSR for key that asks for everything a server CA must not grant: a
 * foreign SAN, CA:TRUE, keyCertSign and clientAuth. */
static char *greedy_csr(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	static const struct {
		int nid;
		const char *value;
	} want[] = {
	    {NID_subject_alt_name, "DNS:evil.example,IP:192.0.2.66"},
	    {NID_basic_constraints, "critical,CA:TRUE"},
	    {NID_key_usage, "critical,keyCertSign,cRLSign"},
	    {NID_ext_key_usage, "clientAuth,codeSigning"},
	};
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;
	size_t i;

	ck_assert_int_eq(X509_REQ_set_version(req, 0), 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     n, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"evil.example", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_REQ_set_subject_name(req, n), 1);
	ck_assert_int_eq(X509_REQ_set_pubkey(req, key), 1);
	for (i = 0; i < ZTP__ARRAY_LEN(want); i++) {
		X509_EXTENSION *e =
		    X509V3_EXT_conf_nid(NULL, NULL, want[i].nid, want[i].value);

		ck_assert_ptr_nonnull(e);
		sk_X509_EXTENSION_push(exts, e);
	}
	ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
	ck_assert_int_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	BIO_free(b);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return out;
}

/* The extensions of a server certificate, and its names: exactly the
 * DNS names dns[] then the addresses ip[] (text), none from the CSR. */
static void check_server_leaf(X509 *x, const char *cn, const char *const *dns,
			      size_t n_dns, const char *const *ip, size_t n_ip,
			      bool rsa)
{
	int crit = -1, i;
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *gens;
	X509_NAME *subj = X509_get_subject_name(x);
	char buf[128];

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	if (cn != NULL) {
		ck_assert_int_eq(X509_NAME_entry_count(subj), 1);
		ck_assert_int_eq(X509_NAME_get_text_by_NID(subj, NID_commonName,
							   buf, sizeof(buf)),
				 (int)strlen(cn));
		ck_assert_str_eq(buf, cn);
	} else {
		ck_assert_int_eq(X509_NAME_entry_count(subj), 0);
	}
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(!bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	ck_assert_int_eq(ext_critical(x, NID_key_usage), 1);
	ck_assert_uint_eq(X509_get_key_usage(x),
			  rsa ? (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)
			      : KU_DIGITAL_SIGNATURE);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(eku);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
			 NID_server_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ck_assert_uint_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	ck_assert_ptr_nonnull(gens);
	ck_assert_int_eq(crit, cn == NULL);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), (int)(n_dns + n_ip));
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if ((size_t)i < n_dns) {
			ck_assert_int_eq(g->type, GEN_DNS);
			ck_assert_int_eq(ASN1_STRING_length(g->d.dNSName),
					 (int)strlen(dns[i]));
			ck_assert(memcmp(ASN1_STRING_get0_data(g->d.dNSName),
					 dns[i], strlen(dns[i])) == 0);
			ck_assert_int_eq(X509_check_host(x, dns[i], 0, 0, NULL),
					 1);
		} else {
			ASN1_OCTET_STRING *want =
			    a2i_IPADDRESS(ip[(size_t)i - n_dns]);

			ck_assert_ptr_nonnull(want);
			ck_assert_int_eq(g->type, GEN_IPADD);
			ck_assert_int_eq(ASN1_STRING_cmp(g->d.iPAddress, want),
					 0);
			ASN1_OCTET_STRING_free(want);
			ck_assert_int_eq(
			    X509_check_ip_asc(x, ip[(size_t)i - n_dns], 0), 1);
		}
	}
	GENERAL_NAMES_free(gens);
	ck_assert_int_eq(ext_critical(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_critical(x, NID_authority_key_identifier), 0);
	/* A chain fit for a TLS server, and not for a TLS client. */
	ck_assert_int_eq(verify_chain_for(x, g_root_cert, g_untrusted, g_now,
					  X509_PURPOSE_SSL_SERVER),
			 X509_V_OK);
	ck_assert_int_eq(verify_chain_for(x, g_root_cert, g_untrusted, g_now,
					  X509_PURPOSE_SSL_CLIENT),
			 X509_V_ERR_INVALID_PURPOSE);
}

START_TEST(test_issue_server)
{
	static const char *const dns[] = {"verifier.example", "localhost"};
	static const char *const ip[] = {"127.0.0.1", "2001:db8::1"};
	EVP_PKEY *k = keygen("p256");
	char *csr = greedy_csr(k);
	char *pem = NULL, *key = (char *)"x", *serial = NULL, *json = NULL;
	char fp[65], want[128];
	int64_t na = 0;
	X509 *x;

	/* The CSR's SAN, CA:TRUE and EKUs are all ignored; names come from
	 * the caller only, DNS names lowercased. */
	ck_assert_rc(ztp_ca_issue_server(
			 ca, &pem, &key, &serial, &na, csr, strlen(csr), NULL,
			 "{\"dns\":[\"Verifier.Example\",\"localhost\"],"
			 "\"ip\":[\"127.0.0.1\",\"2001:0db8:0:0::1\"]}",
			 0),
		     ZTP_OK);
	ck_assert_ptr_null(key);
	x = pem_x509(pem);
	check_server_leaf(x, "verifier.example", dns, 2, ip, 2, false);
	ck_assert_int_eq(X509_check_host(x, "evil.example", 0, 0, NULL), 0);
	ck_assert_int_eq(X509_check_ip_asc(x, "192.0.2.66", 0), 0);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	ck_assert_int_eq(t_of(X509_get0_notBefore(x)), g_now - 60);
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 g_now + ZTP_CA_SERVER_DAYS_DEFAULT * 86400LL);
	ck_assert_int_eq(na, g_now + ZTP_CA_SERVER_DAYS_DEFAULT * 86400LL);
	/* Recorded before it was returned, as a server certificate of no
	 * device. */
	ck_assert_rc(ztp_store_cert_get(store, serial, &json), ZTP_OK);
	fp_hex(fp, x);
	snprintf(want, sizeof(want), "\"fingerprint\":\"%s\"", fp);
	ck_assert_ptr_nonnull(strstr(json, want));
	ck_assert_ptr_nonnull(strstr(json, "\"device_id\":null"));
	ck_assert_ptr_nonnull(strstr(json, "\"profile\":\"server\""));
	ztp_free(json);
	ztp_free(serial);
	ztp_free(pem);
	X509_free(x);

	/* The longest lifetime, and only addresses: the CN is the first,
	 * in canonical text. */
	ck_assert_rc(ztp_ca_issue_server(
			 ca, &pem, NULL, NULL, NULL, csr, strlen(csr), NULL,
			 "{\"ip\":[\"2001:0DB8::0:1\",\"127.0.0.1\"]}",
			 ZTP_CA_SERVER_DAYS_MAX * 86400LL),
		     ZTP_OK);
	x = pem_x509(pem);
	{
		static const char *const ip2[] = {"2001:db8::1", "127.0.0.1"};

		check_server_leaf(x, "2001:db8::1", NULL, 0, ip2, 2, false);
	}
	ck_assert_int_eq(t_of(X509_get0_notAfter(x)),
			 g_now + ZTP_CA_SERVER_DAYS_MAX * 86400LL);
	ztp_free(pem);
	X509_free(x);

	/* A DNS name too long for a CN and nothing else: an empty subject
	 * and a critical SAN. */
	{
		static const char *const longname[] = {
		    "a-rather-long-host-name-for-a-verifier.eu-central-1."
		    "fleet.example.com"};
		char doc[160];

		snprintf(doc, sizeof(doc), "{\"dns\":[\"%s\"]}", longname[0]);
		ck_assert_uint_gt(strlen(longname[0]), 64);
		ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL,
						 csr, strlen(csr), NULL, doc,
						 3600),
			     ZTP_OK);
		x = pem_x509(pem);
		check_server_leaf(x, NULL, longname, 1, NULL, 0, false);
		ck_assert_int_eq(t_of(X509_get0_notAfter(x)), g_now + 3600);
		ztp_free(pem);
		X509_free(x);
	}
	EVP_PKEY_free(k);
	free(csr);
}
END_TEST

/* Without a CSR the key is made here and handed back with the
 * certificate; RSA keys also get keyEncipherment. */
START_TEST(test_issue_server_new_key)
{
	static const char *const types[] = {NULL, "ec-p384", "ed25519",
					    "rsa-2048"};
	static const char *const dns[] = {"broker.example"};
	const char *type = types[_i];
	char *pem = NULL, *key = NULL;
	EVP_PKEY *k;
	BIO *b;
	X509 *x;

	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, NULL, 0,
					 type, "{\"dns\":[\"broker.example\"]}",
					 0),
		     ZTP_OK);
	x = pem_x509(pem);
	b = BIO_new_mem_buf(key, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(X509_check_private_key(x, k), 1);
	check_server_leaf(x, "broker.example", dns, 1, NULL, 0,
			  type != NULL && strncmp(type, "rsa-", 4) == 0);
	EVP_PKEY_free(k);
	X509_free(x);
	ztp_free(pem);
	ztp__free_secret(key, strlen(key));
}
END_TEST

/* Every malformed name, name set, lifetime or argument is refused before
 * anything is signed or recorded. */
START_TEST(test_issue_server_refusals)
{
	static const struct {
		const char *names;
		int rc;
		const char *why;
	} bad[] = {
	    {"{}", ZTP_EINVAL, "at least one"},
	    {"{\"dns\":[],\"ip\":[]}", ZTP_EINVAL, "at least one"},
	    {"[]", ZTP_EPARSE, "expected"},
	    {"", ZTP_EPARSE, ""},
	    {"{\"dns\":[\"a.example\"]", ZTP_EPARSE, ""},
	    {"{\"dns\":\"a.example\"}", ZTP_EPARSE, "dns"},
	    {"{\"dns\":[1]}", ZTP_EPARSE, "non-string"},
	    {"{\"ip\":[null]}", ZTP_EPARSE, "non-string"},
	    {"{\"uri\":[\"urn:x\"]}", ZTP_EPARSE, "uri"},
	    {"{\"dns\":[\"a.example\"],\"dns\":[\"b.example\"]}", ZTP_EPARSE,
	     ""},
	    {"{\"dns\":[\"*.example.com\"]}", ZTP_EINVAL, "wildcard"},
	    {"{\"dns\":[\"a*.example.com\"]}", ZTP_EINVAL, "wildcard"},
	    {"{\"dns\":[\"\"]}", ZTP_EINVAL, "empty DNS name"},
	    {"{\"dns\":[\"a..example\"]}", ZTP_EINVAL, "empty label"},
	    {"{\"dns\":[\".example\"]}", ZTP_EINVAL, "empty label"},
	    {"{\"dns\":[\"a.example.\"]}", ZTP_EINVAL, "no trailing dot"},
	    {"{\"dns\":[\"-a.example\"]}", ZTP_EINVAL, "starts with '-'"},
	    {"{\"dns\":[\"a-.example\"]}", ZTP_EINVAL, "ends with '-'"},
	    {"{\"dns\":[\"a.example-\"]}", ZTP_EINVAL, "ends with '-'"},
	    {"{\"dns\":[\"exa_mple.com\"]}", ZTP_EINVAL, "'_' at offset 3"},
	    {"{\"dns\":[\"a b.example\"]}", ZTP_EINVAL, "' ' at offset 1"},
	    {"{\"dns\":[\"a\\u0001b\"]}", ZTP_EINVAL, "'?' at offset 1"},
	    {"{\"dns\":[\"caf\\u00e9.example\"]}", ZTP_EINVAL, "xn--"},
	    {"{\"dns\":[\"127.0.0.1\"]}", ZTP_EINVAL, "numeric label"},
	    {"{\"dns\":[\"host.123\"]}", ZTP_EINVAL, "numeric label"},
	    {"{\"dns\":[\"a.example\",\"A.Example\"]}", ZTP_EINVAL,
	     "\"a.example\" given twice"},
	    {"{\"dns\":["
	     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaa.example\"]}",
	     ZTP_EINVAL, "label over 63"},
	    {"{\"ip\":[\"1.2.3\"]}", ZTP_EINVAL, "not an IPv4 address"},
	    {"{\"ip\":[\"256.1.1.1\"]}", ZTP_EINVAL, "not an IPv4 address"},
	    {"{\"ip\":[\"01.2.3.4\"]}", ZTP_EINVAL, "not an IPv4 address"},
	    {"{\"ip\":[\"1.2.3.4 \"]}", ZTP_EINVAL, "unexpected character"},
	    {"{\"ip\":[\"localhost\"]}", ZTP_EINVAL, "unexpected character"},
	    {"{\"ip\":[\"fe80::1%eth0\"]}", ZTP_EINVAL, "zone"},
	    {"{\"ip\":[\"1:2:3:4:5:6:7:8:9\"]}", ZTP_EINVAL, "IPv6"},
	    {"{\"ip\":[\"0.0.0.0\"]}", ZTP_EINVAL, "unspecified"},
	    {"{\"ip\":[\"::\"]}", ZTP_EINVAL, "unspecified"},
	    {"{\"ip\":[\"::ffff:192.0.2.1\"]}", ZTP_EINVAL, "IPv4-mapped"},
	    {"{\"ip\":[\"\"]}", ZTP_EINVAL, "not an IP address"},
	    {"{\"ip\":[\"2001:db8::1\",\"2001:DB8:0::1\"]}", ZTP_EINVAL,
	     "\"2001:db8::1\" given twice"},
	};
	char *csr = csr_for("p256");
	char *pem = (char *)"x", *key = (char *)"x", *serial = (char *)"x";
	size_t len = strlen(csr), i;
	uint64_t before = cert_count();
	char doc[4096], *p;
	const char *one = "{\"dns\":[\"a.example\"]}";

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		ck_assert_msg(ztp_ca_issue_server(ca, &pem, NULL, &serial, NULL,
						  csr, len, NULL, bad[i].names,
						  0) == bad[i].rc,
			      "%s: accepted or wrong code (%s)", bad[i].names,
			      ztp_error_last_message());
		ck_assert_ptr_null(pem);
		ck_assert_ptr_null(serial);
		ck_assert_msg(strstr(ztp_error_last_message(), bad[i].why) !=
				  NULL,
			      "%s: message \"%s\" lacks \"%s\"", bad[i].names,
			      ztp_error_last_message(), bad[i].why);
	}
	/* 33 names. */
	p = doc + snprintf(doc, sizeof(doc), "{\"dns\":[");
	for (i = 0; i <= ZTP_CA_SERVER_NAMES_MAX; i++)
		p += snprintf(p, sizeof(doc) - (size_t)(p - doc),
			      "%s\"h%zu.example\"", i ? "," : "", i);
	snprintf(p, sizeof(doc) - (size_t)(p - doc), "]}");
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, doc, 0),
		     ZTP_ETOOBIG);
	/* Lifetimes. */
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, one,
					 ZTP_CA_SERVER_DAYS_MAX * 86400LL + 1),
		     ZTP_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "at most 398 days"));
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, one, -1),
		     ZTP_EINVAL);
	/* Arguments: a CSR with a key type, neither a CSR nor a place for
	 * the key, no names, an unknown key type. */
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 "ec-p256", one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, NULL, 0,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, csr, 0,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_ptr_null(key);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, NULL, NULL, NULL, csr, len,
					 NULL, NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, NULL, NULL, NULL, NULL, csr, len,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(NULL, &pem, NULL, NULL, NULL, csr, len,
					 NULL, one, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, NULL, 0,
					 "dsa-2048", one, 0),
		     ZTP_EINVAL);
	ck_assert_ptr_null(key);
	/* A fresh key the key policy refuses. */
	ck_assert_rc(ztp_ca_set_key_policy(ca, "ec-p384"), ZTP_OK);
	ck_assert_rc(ztp_ca_issue_server(ca, &pem, &key, NULL, NULL, NULL, 0,
					 NULL, one, 0),
		     ZTP_EKEYPOLICY);
	ck_assert_ptr_null(key);
	/* The server profile is not a device profile. */
	ck_assert_rc(
	    ztp_ca_issue(ca, &pem, csr, len, "dev-1", NULL, "server", 0),
	    ZTP_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(ztp_error_last_message(), "ztp_ca_issue_server"));
	ck_assert_ptr_null(pem);
	ck_assert_uint_eq(cert_count(), before);
	free(csr);
}
END_TEST

void ca_tcases_server(Suite *s)
{
	TCase *tc;

	tc = tcase_create("issue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_issue_server);
	tcase_add_loop_test(tc, test_issue_server_new_key, 0, 4);
	tcase_add_test(tc, test_issue_server_refusals);
	suite_add_tcase(s, tc);
}
