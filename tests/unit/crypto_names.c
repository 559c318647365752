/*
 * Core crypto: device identifiers from certificate names.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------
 * certificate names */

static int device_id_of(const struct certspec *cs, char *out)
{
	X509 *x = make_cert(cs);
	int rc = ztp__cert_device_id(out, x);

	X509_free(x);
	return rc;
}

START_TEST(test_cert_device_id)
{
	char id[ZTP_ID_MAX + 1];
	char longcn[ZTP_ID_MAX + 2];
	/* "dev-001" as UCS-2 big endian. */
	static const char bmp[] = "\0d\0e\0v\0-\0\x30\0\x30\0\x31";

	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 3,
				      .uri = {"https://example.com/x",
					      "urn:ztp:device:dev-001",
					      "urn:ztp:tenant:acme"},
				      .dns_san = true};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {bmp},
				      .cnlen = {14},
				      .cntype = V_ASN1_BMPSTRING};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .cntype = V_ASN1_PRINTABLESTRING};

		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
	}
	{
		struct certspec cs = {.ncn = 0};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 2, .cn = {"dev-001", "dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		assert_detail("more than one CN");
	}
	{
		struct certspec cs = {.ncn = 2, .cn = {"dev-001", "dev-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		/* Embedded NUL: would read as "dev-001" via a C string. */
		struct certspec cs = {
		    .ncn = 1, .cn = {"dev-001\0evil"}, .cnlen = {12}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		assert_detail("NUL");
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev/001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev+#"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {""}, .cnlen = {0}};

		cs.cn[0] = "";
		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {longcn}};

		memset(longcn, 'a', ZTP_ID_MAX + 1);
		longcn[ZTP_ID_MAX + 1] = '\0';
		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		longcn[ZTP_ID_MAX] = '\0';
		ck_assert_rc(device_id_of(&cs, id), ZTP_OK);
		ck_assert_str_eq(id, longcn);
	}
	{
		/* Non-ASCII UTF-8. */
		struct certspec cs = {.ncn = 1, .cn = {"d\xc3\xa9v"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	/* Invalid UTF-8 in a UTF8String CN cannot be tested here: OpenSSL
	 * canonicalises names when it encodes or decodes them, so such a
	 * certificate neither builds nor parses. */
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:device:dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
		ck_assert_str_eq(id, "");
	}
	{
		/* IDs are case-sensitive. */
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:device:DEV-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 2,
				      .uri = {"urn:ztp:device:dev-001",
					      "urn:ztp:device:dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		/* Even two equal ones are one too many. */
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 2,
				      .uri = {"urn:ztp:device:dev-001",
					      "urn:ztp:device:dev-001"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		/* A differently cased URN prefix still counts. */
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 2,
				      .uri = {"urn:ztp:device:dev-001",
					      "URN:ZTP:DEVICE:dev-002"}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EMISMATCH);
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:device:dev-001\0x"},
				      .urilen = {24}};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:device:dev-001"},
				      .dup_san = true};

		ck_assert_rc(device_id_of(&cs, id), ZTP_EPROFILE);
		assert_detail("more than one subjectAltName");
	}
	ck_assert_rc(ztp__cert_device_id(NULL, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__cert_device_id(id, NULL), ZTP_EINVAL);
}
END_TEST

static int san_of(const struct certspec *cs, char *out, const char *prefix)
{
	X509 *x = make_cert(cs);
	int rc = ztp__cert_san_id(out, x, prefix);

	X509_free(x);
	return rc;
}

START_TEST(test_cert_san_id)
{
	char id[ZTP_ID_MAX + 1];

	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 3,
				      .uri = {"urn:ztp:device:dev-001",
					      "https://x.example",
					      "urn:ztp:tenant:acme.eu"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_OK);
		ck_assert_str_eq(id, "acme.eu");
		ck_assert_rc(san_of(&cs, id, ZTP_URN_DEVICE), ZTP_OK);
		ck_assert_str_eq(id, "dev-001");
	}
	{
		struct certspec cs = {.ncn = 1, .cn = {"dev-001"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_ENOTFOUND);
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:device:dev-001"},
				      .dns_san = true};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_ENOTFOUND);
	}
	{
		struct certspec cs = {
		    .ncn = 1,
		    .cn = {"dev-001"},
		    .nuri = 2,
		    .uri = {"urn:ztp:tenant:a", "urn:ztp:tenant:b"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
		ck_assert_str_eq(id, "");
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:tenant:a/b"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:tenant:"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:tenant:acme\0evil"},
				      .urilen = {24}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
		assert_detail("NUL");
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:tenant:+"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:tenant:acme"},
				      .dup_san = true};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_EPROFILE);
	}
	{
		/* A prefix match must be a whole prefix. */
		struct certspec cs = {.ncn = 1,
				      .cn = {"dev-001"},
				      .nuri = 1,
				      .uri = {"urn:ztp:tenantx:acme"}};

		ck_assert_rc(san_of(&cs, id, ZTP_URN_TENANT), ZTP_ENOTFOUND);
	}
	ck_assert_rc(ztp__cert_san_id(id, NULL, ZTP_URN_TENANT), ZTP_EINVAL);
}
END_TEST

void crypto_tcases_names(Suite *s)
{
	TCase *tc;

	tc = tcase_create("cert_device_id");
	tcase_add_test(tc, test_cert_device_id);
	suite_add_tcase(s, tc);
	tc = tcase_create("cert_san_id");
	tcase_add_test(tc, test_cert_san_id);
	suite_add_tcase(s, tc);
}
