/*
 * libztp — strict parser for the distinguished names of CA certificates,
 * in the slash form ("/CN=Acme Root/O=Acme") and in RFC 4514's string form
 * ("CN=Acme Root,O=Acme"), see <ztp/ca.h>.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Both forms end in the same X509_NAME for the same name, entry by entry
 * through dn_add(), so the DER of "/O=Acme/CN=Acme Root" and of
 * "CN=Acme Root,O=Acme" is byte for byte the same. RFC 4514 writes the
 * most specific RDN first, the reverse of the DER (and slash) order.
 */
#include "ca/internal.h"

#include "core/utf8.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>

/* Long enough for eight 64-byte components with escapes, short enough that
 * a caller cannot hand us something unreasonable. */
#define DN_MAX 1024
#define DN_VALUE_MAX 64
/* Longest attribute type quoted back in an error message. */
#define DN_QUOTE_MAX 32

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

/* The slash form's types are case-sensitive, as always; RFC 4514's are
 * LDAP descriptors, which are not (RFC 4512 2.5). */
static int dn_type(const char *s, size_t len, bool icase)
{
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(dn_types); i++) {
		if (strlen(dn_types[i].name) == len &&
		    (icase ? strncasecmp(dn_types[i].name, s, len)
			   : memcmp(dn_types[i].name, s, len)) == 0)
			return dn_types[i].nid;
	}
	return NID_undef;
}

/* Add one attribute: at the end as a new RDN (front == false), or, for
 * RFC 4514, at the front, as a new RDN (join == false) or into the RDN
 * already there (join == true). */
static int dn_add(X509_NAME *name, int nid, const char *val, size_t len,
		  bool front, bool join)
{
	int rc = ZTP_OK;
	const char *why = NULL;
	uint32_t cp;
	size_t i, n;
	int loc = -1, set = 0;

	ZTP_ENSURE(len > 0, ZTP_EINVAL, "subject DN: empty value for %s",
		   OBJ_nid2sn(nid));
	ZTP_ENSURE(len <= DN_VALUE_MAX, ZTP_EINVAL,
		   "subject DN: %s value over %d bytes", OBJ_nid2sn(nid),
		   DN_VALUE_MAX);
	for (i = 0; i < len; i += n) {
		unsigned char c = (unsigned char)val[i];

		ZTP_ENSURE(c >= 0x20 && c != 0x7f, ZTP_EINVAL,
			   "subject DN: control character in %s",
			   OBJ_nid2sn(nid));
		n = ztp__utf8_next((const uint8_t *)val + i, len - i, &cp,
				   &why);
		ZTP_ENSURE(n > 0, ZTP_EINVAL, "subject DN: %s in %s value", why,
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
	if (front) {
		/* Entries of the first RDN sit at the front with set 0. */
		loc = 0;
		if (join) {
			X509_NAME_ENTRY *e;

			for (i = 0; (e = X509_NAME_get_entry(name, (int)i)) &&
				    X509_NAME_ENTRY_set(e) == 0;
			     i++)
				ZTP_ENSURE(OBJ_obj2nid(
					       X509_NAME_ENTRY_get_object(e)) !=
					       nid,
					   ZTP_EINVAL,
					   "subject DN: %s twice in one RDN",
					   OBJ_nid2sn(nid));
			/* After the RDN's first entry, in its set. */
			loc = 1;
			set = -1;
		}
	}
	/* MBSTRING_UTF8 also lets OpenSSL pick the string type each
	 * attribute requires (PrintableString for C, IA5String for DC). */
	ZTP_ENSURE_OSSL(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
						   (const unsigned char *)val,
						   (int)len, loc, set) == 1,
			ZTP_EINVAL, "subject DN: bad %s value",
			OBJ_nid2sn(nid));
cleanup:
	return rc;
}

/* ---------------------------------------------------------- slash form */

static int dn_parse_slash(X509_NAME *name, const char *dn, size_t len,
			  char val[DN_VALUE_MAX + 1])
{
	int rc = ZTP_OK;
	size_t pos = 1;

	ZTP_ENSURE(len > 1, ZTP_EINVAL,
		   "subject DN: expected \"/TYPE=value/...\"");
	while (pos <= len) {
		size_t tstart = pos, vlen = 0;
		int nid;

		while (pos < len && dn[pos] != '=' && dn[pos] != '/')
			pos++;
		ZTP_ENSURE(pos < len && dn[pos] == '=', ZTP_EINVAL,
			   "subject DN: component without '=' at offset %zu",
			   tstart);
		nid = dn_type(dn + tstart, pos - tstart, false);
		ZTP_ENSURE(nid != NID_undef, ZTP_EINVAL,
			   "subject DN: unsupported attribute \"%.*s\"",
			   (int)(pos - tstart > DN_QUOTE_MAX ? DN_QUOTE_MAX
							     : pos - tstart),
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
		ZTP_CHECK(dn_add(name, nid, val, vlen, false, false));
		/* pos is at a '/' or at len; a trailing '/' leaves an empty
		 * component, which the '=' check above refuses. */
		pos++;
	}
cleanup:
	return rc;
}

/* ---------------------------------------------------------- RFC 4514 */

/* Characters RFC 4514 2.4 requires escaped anywhere in a value. */
static bool rfc4514_special(char c)
{
	return c == '"' || c == '+' || c == ',' || c == ';' || c == '<' ||
	       c == '>' || c == '\\';
}

/* One attribute type at *pos, up to its '='; RFC 4512 descr only. */
static int rfc4514_type(int *nid, const char *dn, size_t len, size_t *pos)
{
	int rc = ZTP_OK;
	size_t start = *pos, p = *pos;

	ZTP_ENSURE(p >= len || dn[p] < '0' || dn[p] > '9', ZTP_EINVAL,
		   "subject DN: numeric attribute type at offset %zu is not "
		   "supported (use CN, O, OU, C, ST, L, DC or serialNumber)",
		   p);
	while (p < len && dn[p] != '=' && dn[p] != ',' && dn[p] != '+') {
		char c = dn[p];

		ZTP_ENSURE(
		    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-',
		    ZTP_EINVAL,
		    "subject DN: unexpected character in attribute type "
		    "at offset %zu%s",
		    p, c == ' ' ? " (no spaces around ',', '+' or '=')" : "");
		p++;
	}
	ZTP_ENSURE(p > start, ZTP_EINVAL,
		   "subject DN: empty attribute type at offset %zu", start);
	ZTP_ENSURE(p < len && dn[p] == '=', ZTP_EINVAL,
		   "subject DN: attribute type without '=' at offset %zu",
		   start);
	*nid = dn_type(dn + start, p - start, true);
	ZTP_ENSURE(*nid != NID_undef, ZTP_EINVAL,
		   "subject DN: unsupported attribute \"%.*s\" at offset %zu",
		   (int)(p - start > DN_QUOTE_MAX ? DN_QUOTE_MAX : p - start),
		   dn + start, start);
	*pos = p + 1;
cleanup:
	return rc;
}

/* One attribute value at *pos, up to an unescaped ',' or '+' or the end,
 * unescaped into val (*vlen bytes). */
static int rfc4514_value(char val[DN_VALUE_MAX + 1], size_t *vlen, int nid,
			 const char *dn, size_t len, size_t *pos)
{
	int rc = ZTP_OK;
	size_t p = *pos, n = 0;
	bool escaped = false;

	ZTP_ENSURE(p >= len || dn[p] != '#', ZTP_EINVAL,
		   "subject DN: %s value at offset %zu is a #hex BER "
		   "encoding, which is not supported (write the value as a "
		   "string, or escape a leading '#' as '\\#')",
		   OBJ_nid2sn(nid), p);
	ZTP_ENSURE(p >= len || dn[p] != ' ', ZTP_EINVAL,
		   "subject DN: unescaped space at the start of the %s value "
		   "at offset %zu (no spaces after ',' or '+'; escape a "
		   "leading space as '\\ ')",
		   OBJ_nid2sn(nid), p);
	while (p < len && dn[p] != ',' && dn[p] != '+') {
		char c = dn[p];

		if (c == '\\') {
			int hi, lo;

			ZTP_ENSURE(p + 1 < len, ZTP_EINVAL,
				   "subject DN: '\\' at the end");
			hi = ztp__hex_value((unsigned char)dn[p + 1]);
			if (hi >= 0) {
				lo = p + 2 < len ? ztp__hex_value(
						       (unsigned char)dn[p + 2])
						 : -1;
				ZTP_ENSURE(lo >= 0, ZTP_EINVAL,
					   "subject DN: '\\%c' at offset %zu "
					   "is not followed by a second hex "
					   "digit",
					   dn[p + 1], p);
				c = (char)(hi << 4 | lo);
				p += 3;
			} else {
				c = dn[p + 1];
				ZTP_ENSURE(rfc4514_special(c) || c == ' ' ||
					       c == '#' || c == '=',
					   ZTP_EINVAL,
					   "subject DN: bad escape at offset "
					   "%zu ('\\' escapes one of "
					   "\\ , + \" < > ; = # space, or "
					   "starts a hex pair)",
					   p);
				p += 2;
			}
			escaped = true;
		} else {
			ZTP_ENSURE(!rfc4514_special(c), ZTP_EINVAL,
				   "subject DN: unescaped '%c' at offset %zu "
				   "(write '\\%c')",
				   c, p, c);
			escaped = false;
			p++;
		}
		ZTP_ENSURE(n < DN_VALUE_MAX, ZTP_EINVAL,
			   "subject DN: %s value over %d bytes",
			   OBJ_nid2sn(nid), DN_VALUE_MAX);
		val[n++] = c;
	}
	ZTP_ENSURE(n == 0 || escaped || val[n - 1] != ' ', ZTP_EINVAL,
		   "subject DN: unescaped space at the end of the %s value "
		   "at offset %zu (escape a trailing space as '\\ ')",
		   OBJ_nid2sn(nid), p - 1);
	*vlen = n;
	*pos = p;
cleanup:
	return rc;
}

/* Left to right: each RDN goes in front of the ones before it. */
static int dn_parse_rfc4514(X509_NAME *name, const char *dn, size_t len,
			    char val[DN_VALUE_MAX + 1])
{
	int rc = ZTP_OK;
	size_t pos = 0, vlen = 0;
	bool join = false;
	int nid = NID_undef;

	for (;;) {
		ZTP_CHECK(rfc4514_type(&nid, dn, len, &pos));
		ZTP_CHECK(rfc4514_value(val, &vlen, nid, dn, len, &pos));
		ZTP_CHECK(dn_add(name, nid, val, vlen, true, join));
		if (pos == len)
			break;
		/* An unescaped ',' ends the RDN, a '+' continues it. */
		join = dn[pos] == '+';
		pos++;
		ZTP_ENSURE(pos < len, ZTP_EINVAL,
			   "subject DN: nothing after the final '%c'",
			   dn[pos - 1]);
	}
cleanup:
	return rc;
}

int ztp__ca_dn_parse(X509_NAME **out, const char *dn)
{
	int rc = ZTP_OK;
	X509_NAME *name = NULL;
	char val[DN_VALUE_MAX + 1];
	size_t len;

	*out = NULL;
	len = strnlen(dn, DN_MAX + 1);
	ZTP_ENSURE(len <= DN_MAX, ZTP_ETOOBIG, "subject DN: over %d bytes",
		   DN_MAX);
	ZTP_ENSURE(len > 0, ZTP_EINVAL,
		   "subject DN: empty (expected \"CN=Acme Root,O=Acme\" or "
		   "\"/O=Acme/CN=Acme Root\")");
	name = X509_NAME_new();
	ZTP_ENSURE(name != NULL, ZTP_ENOMEM, "subject DN: out of memory");
	if (dn[0] == '/')
		ZTP_CHECK(dn_parse_slash(name, dn, len, val));
	else
		ZTP_CHECK(dn_parse_rfc4514(name, dn, len, val));
	*out = name;
	name = NULL;
cleanup:
	OPENSSL_cleanse(val, sizeof(val));
	X509_NAME_free(name);
	return rc;
}
