/*
 * libztp — fuzz the names a CA is given: subject DNs in slash and RFC 4514
 * form (ztp__ca_dn_parse) and, for inputs starting with '{' or '[', the
 * names document of a server certificate (ztp__ca_server_names).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca/internal.h"

/* The parser's limits, restated: the oracle checks them. */
#define DN_MAX 1024
#define VALUE_MAX 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

static unsigned char *der_of(X509_NAME *n, int *len)
{
	unsigned char *der = NULL;

	*len = i2d_X509_NAME(n, &der);
	FUZZ_ASSERT(*len > 0);
	return der;
}

/* text parses to exactly the DER of n. */
static void reparses_to(const char *text, X509_NAME *n)
{
	X509_NAME *back = NULL;
	unsigned char *d1, *d2;
	int l1, l2;

	FUZZ_ASSERT(ztp__ca_dn_parse(&back, text) == ZTP_OK);
	d1 = der_of(n, &l1);
	d2 = der_of(back, &l2);
	FUZZ_ASSERT(l1 == l2 && memcmp(d1, d2, (size_t)l1) == 0);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	X509_NAME_free(back);
}

static void dn(const char *s)
{
	X509_NAME *n = (X509_NAME *)1;
	BIO *b;
	char *text, slash[2 * DN_MAX + 2 * VALUE_MAX + 32], *p;
	long len;
	int rc = ztp__ca_dn_parse(&n, s), i, cn = 0;
	bool multi = false, fits = true, lone_hash = false;

	FUZZ_ASSERT_RC(rc);
	FUZZ_ASSERT((rc == ZTP_OK) == (n != NULL));
	if (rc != ZTP_OK)
		return;
	FUZZ_ASSERT(strlen(s) <= DN_MAX);
	FUZZ_ASSERT(X509_NAME_entry_count(n) > 0);
	/* Only the documented types, values of 1..64 bytes without control
	 * characters, at most one CN. */
	p = slash;
	for (i = 0; i < X509_NAME_entry_count(n); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		const unsigned char *d = ASN1_STRING_get0_data(v);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), j;

		FUZZ_ASSERT(
		    nid == NID_commonName || nid == NID_organizationName ||
		    nid == NID_organizationalUnitName ||
		    nid == NID_countryName || nid == NID_stateOrProvinceName ||
		    nid == NID_localityName || nid == NID_domainComponent ||
		    nid == NID_serialNumber);
		cn += nid == NID_commonName;
		FUZZ_ASSERT(ASN1_STRING_length(v) >= 1 &&
			    ASN1_STRING_length(v) <= VALUE_MAX);
		if (i > 0 &&
		    X509_NAME_ENTRY_set(e) ==
			X509_NAME_ENTRY_set(X509_NAME_get_entry(n, i - 1)))
			multi = true;
		for (j = 0; j < ASN1_STRING_length(v); j++)
			FUZZ_ASSERT(d[j] >= 0x20 && d[j] != 0x7f);
		lone_hash =
		    lone_hash || (ASN1_STRING_length(v) == 1 && d[0] == '#');
		/* The same name in slash form, escaping '/' and '\'. */
		fits = fits && p - slash <= 2 * DN_MAX;
		if (!fits)
			continue;
		p += snprintf(p, 16, "/%s=", OBJ_nid2sn(nid));
		for (j = 0; j < ASN1_STRING_length(v); j++) {
			if (d[j] == '/' || d[j] == '\\')
				*p++ = '\\';
			*p++ = (char)d[j];
		}
	}
	*p = '\0';
	FUZZ_ASSERT(cn <= 1);
	/* Slash form has no multi-valued RDNs; within its limit it names
	 * the same DER. */
	if (fits && !multi && strlen(slash) <= DN_MAX)
		reparses_to(slash, n);
	/* What OpenSSL prints with -nameopt RFC2253 reads back to the same
	 * DER, as long as the escapes keep it within the limit. OpenSSL 3.0
	 * leaves the '#' of a one-character value "#" unescaped ("CN=#",
	 * its first-character flag is overwritten by the last-character
	 * one), which RFC 4514 does not allow and the parser refuses. */
	b = BIO_new(BIO_s_mem());
	FUZZ_ASSERT(b != NULL);
	FUZZ_ASSERT(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0);
	len = BIO_get_mem_data(b, &text);
	if (len > 0 && len <= DN_MAX && !lone_hash) {
		char buf[DN_MAX + 1];

		memcpy(buf, text, (size_t)len);
		buf[len] = '\0';
		reparses_to(buf, n);
	}
	BIO_free(b);
	X509_NAME_free(n);
}

static void server_names(const char *s)
{
	GENERAL_NAMES *san = (GENERAL_NAMES *)1;
	char cn[ZTP__CA_CN_MAX + 1];
	int rc = ztp__ca_server_names(&san, cn, s), i, j;

	FUZZ_ASSERT_RC(rc);
	FUZZ_ASSERT((rc == ZTP_OK) == (san != NULL));
	if (rc != ZTP_OK)
		return;
	FUZZ_ASSERT(sk_GENERAL_NAME_num(san) >= 1 &&
		    sk_GENERAL_NAME_num(san) <= ZTP_CA_SERVER_NAMES_MAX);
	FUZZ_ASSERT(strlen(cn) <= ZTP__CA_CN_MAX);
	for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		int type;
		const ASN1_STRING *v = GENERAL_NAME_get0_value(
		    sk_GENERAL_NAME_value(san, i), &type);
		const unsigned char *d = ASN1_STRING_get0_data(v);
		int len = ASN1_STRING_length(v);

		if (type == GEN_DNS) {
			/* Lowercase LDH, no wildcard, no empty label. */
			FUZZ_ASSERT(len >= 1 && len <= 253);
			for (j = 0; j < len; j++)
				FUZZ_ASSERT((d[j] >= 'a' && d[j] <= 'z') ||
					    (d[j] >= '0' && d[j] <= '9') ||
					    d[j] == '-' || d[j] == '.');
			FUZZ_ASSERT(d[0] != '.' && d[0] != '-' &&
				    d[len - 1] != '.' && d[len - 1] != '-');
			for (j = 1; j < len; j++)
				FUZZ_ASSERT(d[j] != '.' || d[j - 1] != '.');
		} else {
			FUZZ_ASSERT(type == GEN_IPADD);
			FUZZ_ASSERT(len == 4 || len == 16);
		}
		for (j = 0; j < i; j++) {
			int t2;
			const ASN1_STRING *w = GENERAL_NAME_get0_value(
			    sk_GENERAL_NAME_value(san, j), &t2);

			FUZZ_ASSERT(t2 != type || ASN1_STRING_cmp(v, w) != 0);
		}
	}
	GENERAL_NAMES_free(san);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);

	if (size > 0 && (s[0] == '{' || s[0] == '['))
		server_names(s);
	else
		dn(s);
	free(s);
	ERR_clear_error();
	return 0;
}
