/*
 * libztp — strict parser for the slash-form distinguished names of CA
 * certificates ("/CN=Acme Root/O=Acme").
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ca/ca_internal.h"

#include <string.h>

#include <openssl/objects.h>

/* Long enough for eight 64-byte components with escapes, short enough that
 * a caller cannot hand us something unreasonable. */
#define DN_MAX 1024
#define DN_VALUE_MAX 64

static const struct {
	const char *name;
	int nid;
} dn_types[] = {
    {"CN", NID_commonName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"DC", NID_domainComponent},
    {"serialNumber", NID_serialNumber},
};

static int dn_type(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(dn_types); i++) {
		if (strlen(dn_types[i].name) == len &&
		    memcmp(dn_types[i].name, s, len) == 0)
			return dn_types[i].nid;
	}
	return NID_undef;
}

static int dn_add(X509_NAME *name, int nid, const char *val, size_t len)
{
	int rc = ZTP_OK;
	size_t i;

	ZTP_ENSURE(len > 0, ZTP_EINVAL, "subject DN: empty value for %s",
		   OBJ_nid2sn(nid));
	ZTP_ENSURE(len <= DN_VALUE_MAX, ZTP_EINVAL,
		   "subject DN: %s value over %d bytes", OBJ_nid2sn(nid),
		   DN_VALUE_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)val[i];

		ZTP_ENSURE(c >= 0x20 && c != 0x7f, ZTP_EINVAL,
			   "subject DN: control character in %s",
			   OBJ_nid2sn(nid));
	}
	if (nid == NID_countryName) {
		ZTP_ENSURE(len == 2 && val[0] >= 'A' && val[0] <= 'Z' &&
			       val[1] >= 'A' && val[1] <= 'Z',
			   ZTP_EINVAL,
			   "subject DN: C must be two uppercase letters");
	}
	if (nid == NID_commonName) {
		ZTP_ENSURE(X509_NAME_get_index_by_NID(name, nid, -1) < 0,
			   ZTP_EINVAL, "subject DN: more than one CN");
	}
	/* MBSTRING_UTF8 makes OpenSSL reject invalid UTF-8. */
	ZTP_ENSURE_OSSL(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
						   (const unsigned char *)val,
						   (int)len, -1, 0) == 1,
			ZTP_EINVAL, "subject DN: bad %s value",
			OBJ_nid2sn(nid));
cleanup:
	return rc;
}

int ztp__ca_dn_parse(X509_NAME **out, const char *dn)
{
	int rc = ZTP_OK;
	X509_NAME *name = NULL;
	char val[DN_VALUE_MAX + 1];
	size_t len, pos;

	*out = NULL;
	len = strnlen(dn, DN_MAX + 1);
	ZTP_ENSURE(len <= DN_MAX, ZTP_ETOOBIG, "subject DN: over %d bytes",
		   DN_MAX);
	ZTP_ENSURE(len > 1 && dn[0] == '/', ZTP_EINVAL,
		   "subject DN: expected \"/TYPE=value/...\"");
	name = X509_NAME_new();
	ZTP_ENSURE(name != NULL, ZTP_ENOMEM, "subject DN: out of memory");

	pos = 1;
	while (pos <= len) {
		size_t tstart = pos, vlen = 0;
		int nid;

		while (pos < len && dn[pos] != '=' && dn[pos] != '/')
			pos++;
		ZTP_ENSURE(pos < len && dn[pos] == '=', ZTP_EINVAL,
			   "subject DN: component without '=' at offset %zu",
			   tstart);
		nid = dn_type(dn + tstart, pos - tstart);
		ZTP_ENSURE(nid != NID_undef, ZTP_EINVAL,
			   "subject DN: unsupported attribute \"%.*s\"",
			   (int)(pos - tstart > 32 ? 32 : pos - tstart),
			   dn + tstart);
		pos++;
		while (pos < len && dn[pos] != '/') {
			char c = dn[pos];

			if (c == '\\') {
				ZTP_ENSURE(
				    pos + 1 < len && (dn[pos + 1] == '/' ||
						      dn[pos + 1] == '\\'),
				    ZTP_EINVAL,
				    "subject DN: '\\' must escape '/' or "
				    "'\\'");
				c = dn[++pos];
			}
			ZTP_ENSURE(vlen < DN_VALUE_MAX, ZTP_EINVAL,
				   "subject DN: %s value over %d bytes",
				   OBJ_nid2sn(nid), DN_VALUE_MAX);
			val[vlen++] = c;
			pos++;
		}
		ZTP_CHECK(dn_add(name, nid, val, vlen));
		/* pos is at a '/' or at len; a trailing '/' leaves an empty
		 * component, which the '=' check above refuses. */
		pos++;
	}
	*out = name;
	name = NULL;
cleanup:
	OPENSSL_cleanse(val, sizeof(val));
	X509_NAME_free(name);
	return rc;
}
