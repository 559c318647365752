/*
 * libztp — identities named by certificates (subject CN, SAN URIs).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Names are read with their explicit ASN.1 lengths: a CN of "dev1\0evil"
 * must not be seen as "dev1". Every value goes through the one identifier
 * grammar before anyone compares it with anything.
 */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Copy a grammar-checked identifier into out, or fail with ZTP_EPROFILE
 * keeping the grammar's detail. */
static int id_copy(char out[ZTP_ID_MAX + 1], const unsigned char *s, size_t len,
		   const char *what)
{
	char detail[256];
	int rc;

	if (memchr(s, '\0', len) != NULL)
		return ztp__err(ZTP_EPROFILE, "%s contains a NUL byte", what);
	rc = ztp__id_check((const char *)s, len, what);
	if (rc < 0) {
		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		return ztp__err(ZTP_EPROFILE, "%s", detail);
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return ZTP_OK;
}

/* ASCII case-insensitive prefix test. URN namespace identifiers are
 * case-insensitive (RFC 8141), so "URN:ZTP:DEVICE:x" counts as a device
 * URI too: it must not escape the "exactly one" rule by its spelling. */
static bool prefix_icase(const unsigned char *s, size_t len, const char *pfx)
{
	size_t n = strlen(pfx), i;
	unsigned char a, b;

	if (len < n)
		return false;
	for (i = 0; i < n; i++) {
		a = s[i];
		b = (unsigned char)pfx[i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/*
 * Find the SAN URIs starting with prefix. Returns how many there are
 * (*count), the first one's value checked against the grammar into out.
 * A certificate with two SAN extensions, or one that does not decode, is
 * ZTP_EPROFILE: which of them would count is exactly the ambiguity an
 * attacker wants.
 */
static int san_find(char out[ZTP_ID_MAX + 1], size_t *count, X509 *cert,
		    const char *prefix, const char *what)
{
	int rc = ZTP_OK;
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *gn;
	const unsigned char *s;
	int crit = -1, i, len;
	size_t plen = strlen(prefix);

	*count = 0;
	out[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		ERR_clear_error();
		ZTP_ENSURE(crit != -2, ZTP_EPROFILE,
			   "certificate has more than one subjectAltName "
			   "extension");
		ZTP_ENSURE(crit == -1, ZTP_EPROFILE,
			   "certificate subjectAltName does not decode");
		goto cleanup;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gn = sk_GENERAL_NAME_value(gens, i);
		if (gn->type != GEN_URI)
			continue;
		s = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
		len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
		if (s == NULL || len < 0 ||
		    !prefix_icase(s, (size_t)len, prefix))
			continue;
		if (*count == 0)
			ZTP_CHECK(
			    id_copy(out, s + plen, (size_t)len - plen, what));
		(*count)++;
	}
cleanup:
	GENERAL_NAMES_free(gens);
	return rc;
}

int ztp__cert_san_id(char out[ZTP_ID_MAX + 1], X509 *cert, const char *prefix)
{
	int rc = ZTP_OK;
	size_t count = 0;

	ZTP_ARG(out != NULL);
	out[0] = '\0';
	ZTP_ARG(cert != NULL);
	ZTP_ARG(prefix != NULL && prefix[0] != '\0');
	ZTP_CHECK(san_find(out, &count, cert, prefix, "SAN URI identifier"));
	ZTP_ENSURE(count > 0, ZTP_ENOTFOUND, "certificate has no %s URI",
		   prefix);
	ZTP_ENSURE(count == 1, ZTP_EPROFILE,
		   "certificate has %zu %s URIs, expected one", count, prefix);
cleanup:
	if (rc < 0)
		out[0] = '\0';
	return rc;
}

/*
 * The one identity rule (PROTOCOL.md §5). Several urn:ztp:device: URIs are
 * ZTP_EMISMATCH: the certificate names more than one device, so it cannot
 * agree with its CN.
 */
int ztp__cert_identity(char dev[ZTP_ID_MAX + 1], char ten[ZTP_ID_MAX + 1],
		       X509 *cert, unsigned flags)
{
	int rc = ZTP_OK;
	const X509_NAME *subj;
	const X509_NAME_ENTRY *ent;
	ASN1_STRING *cn;
	unsigned char *utf8 = NULL;
	char san[ZTP_ID_MAX + 1];
	size_t count = 0;
	int idx, next, len;

	ZTP_ARG(dev != NULL);
	dev[0] = '\0';
	if (ten != NULL)
		ten[0] = '\0';
	ZTP_ARG(cert != NULL);
	subj = X509_get_subject_name(cert);
	ZTP_ENSURE(subj != NULL, ZTP_EPROFILE, "certificate has no subject");
	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	ZTP_ENSURE(idx >= 0, ZTP_EPROFILE, "certificate subject has no CN");
	next = X509_NAME_get_index_by_NID(subj, NID_commonName, idx);
	ZTP_ENSURE(next < 0, ZTP_EPROFILE,
		   "certificate subject has more than one CN");
	ent = X509_NAME_get_entry(subj, idx);
	cn = X509_NAME_ENTRY_get_data(ent);
	ZTP_ENSURE(cn != NULL, ZTP_EPROFILE, "certificate CN is empty");
	/* BMPString and friends become UTF-8; UTF8String input is validated.
	 * The result keeps any embedded NUL, which id_copy refuses. */
	len = ASN1_STRING_to_UTF8(&utf8, cn);
	ZTP_ENSURE_OSSL(len >= 0, ZTP_EPROFILE,
			"certificate CN is not a valid string");
	ZTP_CHECK(id_copy(dev, utf8, (size_t)len, "certificate CN"));
	ZTP_CHECK(san_find(san, &count, cert, ZTP_URN_DEVICE,
			   "certificate SAN device ID"));
	ZTP_ENSURE(count <= 1, ZTP_EMISMATCH,
		   "certificate names %zu devices in its SAN URIs", count);
	ZTP_ENSURE(count == 1 || !(flags & ZTP__IDENT_SAN_REQUIRED),
		   ZTP_EPROFILE,
		   "certificate has no SAN URI " ZTP_URN_DEVICE "<id>");
	ZTP_ENSURE(count == 0 || strcmp(san, dev) == 0, ZTP_EMISMATCH,
		   "certificate CN '%s' and SAN device ID '%s' differ", dev,
		   san);
	if (ten != NULL) {
		rc = ztp__cert_san_id(ten, cert, ZTP_URN_TENANT);
		if (rc == ZTP_ENOTFOUND)
			rc = ZTP_OK;
		ZTP_CHECK(rc);
	}
cleanup:
	if (rc < 0) {
		dev[0] = '\0';
		if (ten != NULL)
			ten[0] = '\0';
	}
	OPENSSL_free(utf8);
	return rc;
}

int ztp__cert_device_id(char out[ZTP_ID_MAX + 1], X509 *cert)
{
	return ztp__cert_identity(out, NULL, cert, 0);
}
