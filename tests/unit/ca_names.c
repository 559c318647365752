/*
 * CA: handles, distinguished names (slash and RFC 4514 forms), reason names.
 */
#include "test_ca.h"

/* ---------------------------------------------------------- new/free, names */

START_TEST(test_new_free)
{
	ztp_ca *c = NULL;
	char *pem = (char *)"x";

	ck_assert_rc(ztp_ca_new(NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_new(&c), ZTP_OK);
	ck_assert_rc(ztp_ca_cert_pem(c, &pem), ZTP_ESTATE);
	ck_assert_ptr_null(pem);
	ck_assert_rc(ztp_ca_chain_pem(c, &pem), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 1, "d", NULL, "factory", 0),
		     ZTP_EPARSE);
	/* Revocation and CRLs need a store. */
	ck_assert_rc(ztp_ca_revoke(c, "01", 0), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_load(c, g_iss_cert, g_iss_key, NULL, NULL), ZTP_OK);
	ck_assert_rc(ztp_ca_crl(c, &pem, 0), ZTP_ESTATE);
	ck_assert_rc(ztp_ca_issue(c, NULL, "x", 1, "d", NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, NULL, 1, "d", NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 0, "d", NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 1, NULL, NULL, "factory", 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_issue(c, &pem, "x", 1, "d", NULL, NULL, 0),
		     ZTP_EINVAL);
	ck_assert_rc(ztp_ca_revoke(c, NULL, 0), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_cert_pem(NULL, &pem), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_chain_pem(c, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_load_files(c, NULL, "k", NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_store(NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_clock(NULL, NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_key_policy(c, "ec-p256,bogus"), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_set_key_policy(c, NULL), ZTP_EINVAL);
	ztp_ca_free(c);
	ztp_ca_free(NULL);
}
END_TEST

START_TEST(test_dn_parse)
{
	static const char *const bad[] = {
	    "",
	    "/",
	    "/CN",
	    "/CN=",
	    "/CN=a/",
	    "/CN=a//O=b",
	    "/XX=a",
	    "/cn=a",
	    "/CN=a/CN=b",
	    "/C=de",
	    "/C=DEU",
	    "/CN=a\\b",
	    "/CN=a\\",
	    "/CN=a\tb",
	    "/CN=\xff\xfe",
	    "/CN="
	    "012345678901234567890123456789012345678901234567890123456789012345"
	    "6789",
	};
	X509_NAME *n = NULL;
	char buf[256];
	size_t i;

	ck_assert_rc(ztp__ca_dn_parse(&n, "/CN=Acme Root/O=Acme\\/Co/C=DE"),
		     ZTP_OK);
	ck_assert_int_eq(X509_NAME_entry_count(n), 3);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(n, NID_organizationName, buf,
						   sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "Acme/Co");
	X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Acme Root");
	X509_NAME_free(n);
	ck_assert_rc(ztp__ca_dn_parse(&n, "/OU=a/OU=b/DC=example/DC=com/"
					  "serialNumber=42/ST=Bay/L=Town"),
		     ZTP_OK);
	ck_assert_int_eq(X509_NAME_entry_count(n), 7);
	X509_NAME_free(n);
	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		n = (X509_NAME *)1;
		ck_assert_msg(ztp__ca_dn_parse(&n, bad[i]) == ZTP_EINVAL,
			      "accepted \"%s\"", bad[i]);
		ck_assert_ptr_null(n);
	}
}
END_TEST

/* The DER of a name (malloc'd, *len bytes). */
static unsigned char *name_der(X509_NAME *n, int *len)
{
	unsigned char *der = NULL;

	*len = i2d_X509_NAME(n, &der);
	ck_assert_int_gt(*len, 0);
	return der;
}

/* Both DNs parse, to the same DER. */
static void dn_same(const char *a, const char *b)
{
	X509_NAME *na = NULL, *nb = NULL;
	unsigned char *da, *db;
	int la, lb;

	ck_assert_msg(ztp__ca_dn_parse(&na, a) == ZTP_OK, "\"%s\": %s", a,
		      ztp_error_last_message());
	ck_assert_msg(ztp__ca_dn_parse(&nb, b) == ZTP_OK, "\"%s\": %s", b,
		      ztp_error_last_message());
	da = name_der(na, &la);
	db = name_der(nb, &lb);
	ck_assert_msg(la == lb && memcmp(da, db, (size_t)la) == 0,
		      "\"%s\" and \"%s\" differ in DER", a, b);
	OPENSSL_free(da);
	OPENSSL_free(db);
	X509_NAME_free(na);
	X509_NAME_free(nb);
}

/* n printed the way `openssl x509 -nameopt RFC2253` prints it. */
static char *rfc2253_of(X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	ck_assert_int_ge(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253), 0);
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	BIO_free(b);
	return out;
}

/* OpenSSL's RFC 2253 text of n parses back to n's DER. */
static void dn_round_trip(X509_NAME *n)
{
	char *text = rfc2253_of(n);
	X509_NAME *back = NULL;
	unsigned char *d1, *d2;
	int l1, l2;

	ck_assert_msg(ztp__ca_dn_parse(&back, text) == ZTP_OK, "\"%s\": %s",
		      text, ztp_error_last_message());
	d1 = name_der(n, &l1);
	d2 = name_der(back, &l2);
	ck_assert_msg(l1 == l2 && memcmp(d1, d2, (size_t)l1) == 0,
		      "\"%s\" does not round-trip", text);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	X509_NAME_free(back);
	free(text);
}

START_TEST(test_dn_rfc4514)
{
	/* RFC 4514 text and the slash form of the same name: most specific
	 * first there, DER order here. */
	static const char *const same[][2] = {
	    {"CN=Acme Root,O=Acme", "/O=Acme/CN=Acme Root"},
	    {"cn=Acme Root,o=Acme,c=DE", "/C=DE/O=Acme/CN=Acme Root"},
	    {"SERIALNUMBER=42,ou=PKI,St=Bay,l=Town",
	     "/L=Town/ST=Bay/OU=PKI/serialNumber=42"},
	    {"DC=example,DC=com", "/DC=com/DC=example"},
	    {"CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\=i",
	     "/CN=a,b+c\"d\\\\e<f>g;h=i"},
	    {"CN=\\#lead", "/CN=#lead"},
	    {"CN=\\ lead", "/CN= lead"},
	    {"CN=trail\\ ", "/CN=trail "},
	    {"CN=\\ ", "/CN= "},
	    {"CN=mid#dle=x", "/CN=mid#dle=x"},
	    {"CN=two  spaces", "/CN=two  spaces"},
	    {"O=a/b", "/O=a\\/b"},
	    {"CN=caf\\C3\\A9", "/CN=caf\xc3\xa9"},
	    {"CN=caf\\c3\\a9", "/CN=caf\xc3\xa9"},
	    {"CN=caf\xc3\xa9", "/CN=caf\xc3\xa9"},
	    {"CN=\\41\\42\\2c\\20", "/CN=AB, "},
	    {"CN=\\F0\\9F\\94\\91 key", "/CN=\xf0\x9f\x94\x91 key"},
	    /* 64 bytes once unescaped, from 192 characters. */
	    {"CN="
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41",
	     "/CN="
	     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	     "A"},
	};
	/* A multi-valued RDN, in either order inside the RDN. */
	X509_NAME *n = NULL, *want = X509_NAME_new();
	unsigned char *d1, *d2;
	int l1, l2;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(same); i++)
		dn_same(same[i][0], same[i][1]);
	dn_same("CN=Acme Root+OU=PKI,O=Acme", "OU=PKI+CN=Acme Root,O=Acme");

	ck_assert_rc(ztp__ca_dn_parse(&n, "CN=Acme Root+OU=PKI,O=Acme,C=DE"),
		     ZTP_OK);
	ck_assert_int_eq(X509_NAME_entry_count(n), 4);
	/* DER order: C, O, then the RDN holding CN and OU. */
	ck_assert_int_eq(
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
	    NID_countryName);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)), 0);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)), 1);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)), 2);
	ck_assert_int_eq(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 3)), 2);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(want, "C", MBSTRING_UTF8,
						    (const unsigned char *)"DE",
						    -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     want, "O", MBSTRING_UTF8,
			     (const unsigned char *)"Acme", -1, -1, 0),
			 1);
	ck_assert_int_eq(
	    X509_NAME_add_entry_by_txt(want, "OU", MBSTRING_UTF8,
				       (const unsigned char *)"PKI", -1, -1, 0),
	    1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     want, "CN", MBSTRING_UTF8,
			     (const unsigned char *)"Acme Root", -1, -1, -1),
			 1);
	d1 = name_der(n, &l1);
	d2 = name_der(want, &l2);
	ck_assert(l1 == l2 && memcmp(d1, d2, (size_t)l1) == 0);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	dn_round_trip(want);
	X509_NAME_free(want);
	X509_NAME_free(n);
}
END_TEST

/* What `openssl x509 -nameopt RFC2253` prints of names made in slash form
 * parses back to the same DER: every escape OpenSSL writes. */
START_TEST(test_dn_openssl_round_trip)
{
	static const char *const slash[] = {
	    "/CN=Acme Root/O=Acme",
	    "/C=DE/ST=Bay/L=Town/O=Acme, Inc./OU=PKI/CN=Acme Issuing 1",
	    "/DC=com/DC=example/serialNumber=0042/CN=x",
	    "/CN=#lead",
	    "/CN= lead and trail ",
	    "/CN=,+\"\\\\<>;=#",
	    "/O=a\\/b/CN=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	    "/CN="
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	};
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(slash); i++) {
		X509_NAME *n = NULL;

		ck_assert_msg(ztp__ca_dn_parse(&n, slash[i]) == ZTP_OK,
			      "\"%s\": %s", slash[i], ztp_error_last_message());
		dn_round_trip(n);
		X509_NAME_free(n);
	}
}
END_TEST

/* Every malformed RFC 4514 DN is refused, naming the problem. */
START_TEST(test_dn_rfc4514_refusals)
{
	static const struct {
		const char *dn;
		int rc;
		const char *why;
	} bad[] = {
	    {"CN=a\\", ZTP_EINVAL, "'\\' at the end"},
	    {"CN=a\\x", ZTP_EINVAL, "bad escape at offset 4"},
	    {"CN=a\\\x01", ZTP_EINVAL, "bad escape"},
	    {"CN=a\\4", ZTP_EINVAL, "second hex digit"},
	    {"CN=a\\4g", ZTP_EINVAL, "second hex digit"},
	    {"CN=a,b", ZTP_EINVAL, "without '='"},
	    {"CN", ZTP_EINVAL, "without '='"},
	    {"=a", ZTP_EINVAL, "empty attribute type at offset 0"},
	    {"CN=a,,O=b", ZTP_EINVAL, "empty attribute type at offset 5"},
	    {"CN=a+=b", ZTP_EINVAL, "empty attribute type"},
	    {"CN=a,", ZTP_EINVAL, "nothing after the final ','"},
	    {"CN=a+", ZTP_EINVAL, "nothing after the final '+'"},
	    {"XX=a", ZTP_EINVAL, "unsupported attribute \"XX\""},
	    {"emailAddress=a@b", ZTP_EINVAL, "unsupported attribute"},
	    {"2.5.4.3=a", ZTP_EINVAL, "numeric attribute type"},
	    {"CN=#414243", ZTP_EINVAL, "#hex BER"},
	    {"CN= a", ZTP_EINVAL, "unescaped space at the start"},
	    {"CN=a ", ZTP_EINVAL, "unescaped space at the end"},
	    {"CN=a\\  ", ZTP_EINVAL, "unescaped space at the end"},
	    {"CN=a, O=b", ZTP_EINVAL, "no spaces around"},
	    {"CN=a ,O=b", ZTP_EINVAL, "unescaped space at the end"},
	    {"CN =a", ZTP_EINVAL, "no spaces around"},
	    {"C-N=a", ZTP_EINVAL, "unsupported attribute"},
	    {"C\xc3\xa9=a", ZTP_EINVAL, "unexpected character"},
	    {"CN=a\"b", ZTP_EINVAL, "unescaped '\"'"},
	    {"CN=\"a\"", ZTP_EINVAL, "unescaped '\"'"},
	    {"CN=a;O=b", ZTP_EINVAL, "unescaped ';'"},
	    {"CN=a<b", ZTP_EINVAL, "unescaped '<'"},
	    {"CN=a>b", ZTP_EINVAL, "unescaped '>'"},
	    {"CN=\\FF", ZTP_EINVAL, "invalid UTF-8 lead byte in CN"},
	    {"CN=\xff", ZTP_EINVAL, "invalid UTF-8 lead byte"},
	    {"CN=a\\C3", ZTP_EINVAL, "truncated UTF-8"},
	    {"CN=\\C3\\28", ZTP_EINVAL, "continuation byte"},
	    {"CN=\\E0\\80\\80", ZTP_EINVAL, "overlong"},
	    {"CN=\\C0\\80", ZTP_EINVAL, "lead byte"},
	    {"CN=\\ED\\A0\\80", ZTP_EINVAL, "surrogate"},
	    {"CN=\\F4\\90\\80\\80", ZTP_EINVAL, "beyond U+10FFFF"},
	    {"CN=\\00", ZTP_EINVAL, "control character"},
	    {"CN=a\\0Ab", ZTP_EINVAL, "control character"},
	    {"CN=a\tb", ZTP_EINVAL, "control character"},
	    {"CN=\\7F", ZTP_EINVAL, "control character"},
	    {"CN=", ZTP_EINVAL, "empty value for CN"},
	    {"CN=,O=a", ZTP_EINVAL, "empty value for CN"},
	    {"CN=0123456789012345678901234567890123456789012345678901234567890"
	     "1234",
	     ZTP_EINVAL, "CN value over 64 bytes"},
	    {"CN="
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41\\41"
	     "A",
	     ZTP_EINVAL, "CN value over 64 bytes"},
	    {"C=de", ZTP_EINVAL, "two uppercase letters"},
	    {"C=DEU", ZTP_EINVAL, "two uppercase letters"},
	    {"CN=a,CN=b", ZTP_EINVAL, "more than one CN"},
	    {"CN=a+CN=b", ZTP_EINVAL, "more than one CN"},
	    {"O=a+O=b", ZTP_EINVAL, "O twice in one RDN"},
	    {"O=a+OU=b+O=c,CN=x", ZTP_EINVAL, "O twice in one RDN"},
	    {"DC=caf\xc3\xa9", ZTP_EINVAL, "bad DC value"},
	};
	char big[1100];
	X509_NAME *n;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(bad); i++) {
		n = (X509_NAME *)1;
		ck_assert_msg(ztp__ca_dn_parse(&n, bad[i].dn) == bad[i].rc,
			      "\"%s\": accepted or wrong code (%s)", bad[i].dn,
			      ztp_error_last_message());
		ck_assert_ptr_null(n);
		ck_assert_msg(strstr(ztp_error_last_message(), bad[i].why) !=
				  NULL,
			      "\"%s\": message \"%s\" lacks \"%s\"", bad[i].dn,
			      ztp_error_last_message(), bad[i].why);
	}
	/* A whole DN over 1024 bytes, however it would parse. */
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "CN=", 3);
	big[sizeof(big) - 1] = '\0';
	ck_assert_rc(ztp__ca_dn_parse(&n, big), ZTP_ETOOBIG);
	ck_assert_ptr_null(n);
}
END_TEST

/* A CA made with the RFC 4514 form names itself exactly as one made with
 * the slash form. */
START_TEST(test_create_root_rfc4514)
{
	char *c1 = NULL, *k1 = NULL, *c2 = NULL, *k2 = NULL;
	X509 *x1, *x2;

	ck_assert_rc(ztp_ca_create_root(&c1, &k1,
					"CN=Acme Root,O=Acme\\, Inc.,C=DE",
					NULL, 30),
		     ZTP_OK);
	ck_assert_rc(ztp_ca_create_root(
			 &c2, &k2, "/C=DE/O=Acme, Inc./CN=Acme Root", NULL, 30),
		     ZTP_OK);
	x1 = pem_x509(c1);
	x2 = pem_x509(c2);
	ztp_free(c1);
	ztp_free(k1);
	ck_assert_int_eq(
	    X509_NAME_cmp(X509_get_subject_name(x1), X509_get_subject_name(x2)),
	    0);
	{
		char *t = rfc2253_of(X509_get_subject_name(x1));

		ck_assert_str_eq(t, "CN=Acme Root,O=Acme\\, Inc.,C=DE");
		free(t);
	}
	ck_assert_rc(ztp_ca_create_root(&c1, &k1, "CN=a, O=b", NULL, 30),
		     ZTP_EINVAL);
	ck_assert_ptr_null(c1);
	X509_free(x1);
	X509_free(x2);
	ztp_free(c2);
	ztp_free(k2);
}
END_TEST

START_TEST(test_reason_names)
{
	int r = -1;

	ck_assert_rc(ztp_ca_reason_from_name(&r, "keyCompromise"), ZTP_OK);
	ck_assert_int_eq(r, ZTP_CA_REASON_KEY_COMPROMISE);
	ck_assert_rc(ztp_ca_reason_from_name(&r, "aACompromise"), ZTP_OK);
	ck_assert_int_eq(r, 10);
	ck_assert_rc(ztp_ca_reason_from_name(&r, "removeFromCRL"), ZTP_EINVAL);
	ck_assert_rc(ztp_ca_reason_from_name(&r, "keycompromise"), ZTP_EINVAL);
	ck_assert_str_eq(ztp_ca_reason_name(6), "certificateHold");
	ck_assert_ptr_null(ztp_ca_reason_name(7));
	ck_assert_ptr_null(ztp_ca_reason_name(8));
	ck_assert_ptr_null(ztp_ca_reason_name(11));
	ck_assert_ptr_null(ztp_ca_reason_name(-1));
}
END_TEST

void ca_tcases_names(Suite *s)
{
	TCase *tc;

	tc = tcase_create("new");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_free);
	tcase_add_test(tc, test_reason_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("dn_parse");
	tcase_add_test(tc, test_dn_parse);
	tcase_add_test(tc, test_dn_rfc4514);
	tcase_add_test(tc, test_dn_openssl_round_trip);
	tcase_add_test(tc, test_dn_rfc4514_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("create");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_root_rfc4514);
	suite_add_tcase(s, tc);
}
