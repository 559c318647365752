/*
 * libztp — the server profile: TLS server certificates for the hosts of a
 * deployment (a verifier's HTTPS endpoint, an MQTT broker), named by DNS
 * names and IP addresses the caller gives, never by the request.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ca/internal.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* RFC 1035 2.3.4, in the text form without the root's dot. */
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
/* A names document holding ZTP_CA_SERVER_NAMES_MAX of the longest names
 * fits with room to spare. */
#define NAMES_JSON_MAX (ZTP_CA_SERVER_NAMES_MAX * (DNS_NAME_MAX + 8) + 64)

/* Check one DNS name (RFC 1123 2.1 host name: LDH labels) and write it in
 * lowercase to out. Characters first, so that messages quote only
 * printable names. */
static int dns_name(char out[DNS_NAME_MAX + 1], const char *name, size_t len)
{
	int rc = ZTP_OK;
	size_t i, label = 0;
	bool digits_only = true;

	ZTP_ENSURE(len > 0, ZTP_EINVAL, "server name: empty DNS name");
	ZTP_ENSURE(len <= DNS_NAME_MAX, ZTP_EINVAL,
		   "server name: DNS name over %d characters", DNS_NAME_MAX);
	for (i = 0; i < len; i++) {
		char c = name[i];

		ZTP_ENSURE(c != '*', ZTP_EINVAL,
			   "server name: DNS name with a wildcard at offset "
			   "%zu (wildcards are not issued: name each host)",
			   i);
		ZTP_ENSURE((unsigned char)c < 0x80, ZTP_EINVAL,
			   "server name: DNS name with a non-ASCII character "
			   "at offset %zu (give an internationalised name in "
			   "its xn-- form)",
			   i);
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		ZTP_ENSURE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			       c == '-' || c == '.',
			   ZTP_EINVAL,
			   "server name: DNS name with '%c' at offset %zu "
			   "(letters, digits, '-' and '.' only)",
			   c >= 0x20 && c != 0x7f ? c : '?', i);
		out[i] = c;
	}
	out[len] = '\0';
	for (i = 0; i <= len; i++) {
		if (i < len && out[i] != '.') {
			ZTP_ENSURE(out[i] != '-' || label > 0, ZTP_EINVAL,
				   "server name: \"%s\": a label starts with "
				   "'-'",
				   out);
			ZTP_ENSURE(++label <= DNS_LABEL_MAX, ZTP_EINVAL,
				   "server name: a label over %d characters",
				   DNS_LABEL_MAX);
			digits_only =
			    digits_only && out[i] <= '9' && out[i] >= '0';
			continue;
		}
		ZTP_ENSURE(label > 0, ZTP_EINVAL,
			   "server name: \"%s\": empty label%s", out,
			   i == len ? " (no trailing dot)" : "");
		ZTP_ENSURE(out[i - 1] != '-', ZTP_EINVAL,
			   "server name: \"%s\": a label ends with '-'", out);
		if (i < len) {
			label = 0;
			digits_only = true;
		}
	}
	/* RFC 1123 2.1: a top-level label is never all digits, which also
	 * keeps "192.0.2.1" out of the DNS names. */
	ZTP_ENSURE(!digits_only, ZTP_EINVAL,
		   "server name: \"%s\" ends in a numeric label (give "
		   "addresses as IP addresses)",
		   out);
cleanup:
	return rc;
}

/* Parse one IPv4 or IPv6 address into out (4 or 16 bytes, *n) and its
 * canonical text (RFC 5952 for IPv6). */
static int ip_addr(unsigned char out[16], size_t *n,
		   char text[INET6_ADDRSTRLEN], const char *s, size_t len)
{
	static const unsigned char zero[16] = {0};
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};
	int rc = ZTP_OK;
	char buf[INET6_ADDRSTRLEN];
	size_t i;
	int af;

	/* Characters first, so that messages quote only printable text. */
	for (i = 0; i < len; i++) {
		char c = s[i];

		ZTP_ENSURE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			       (c >= 'A' && c <= 'F') || c == '.' || c == ':',
			   ZTP_EINVAL,
			   "server name: IP address with an unexpected "
			   "character at offset %zu%s",
			   i, c == '%' ? " (no zone identifiers)" : "");
	}
	ZTP_ENSURE(len > 0 && len < sizeof(buf), ZTP_EINVAL,
		   "server name: \"%.*s\" is not an IP address",
		   (int)(len < sizeof(buf) ? len : sizeof(buf)), s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1) {
		af = AF_INET;
		*n = 4;
	} else if (inet_pton(AF_INET6, buf, out) == 1) {
		af = AF_INET6;
		*n = 16;
		ZTP_ENSURE(memcmp(out, mapped, sizeof(mapped)) != 0, ZTP_EINVAL,
			   "server name: \"%s\": give an IPv4 address as "
			   "IPv4, not IPv4-mapped IPv6",
			   buf);
	} else {
		ZTP_ENSURE(0, ZTP_EINVAL,
			   "server name: \"%s\" is not an IPv4 address "
			   "(dotted decimal) or an IPv6 address",
			   buf);
	}
	ZTP_ENSURE(memcmp(out, zero, *n) != 0, ZTP_EINVAL,
		   "server name: \"%s\" is the unspecified address", buf);
	ZTP_ENSURE(inet_ntop(af, out, text, INET6_ADDRSTRLEN) != NULL,
		   ZTP_EINTERNAL, "server name: address text");
cleanup:
	return rc;
}

/* Append one name; shown is its text for messages. */
static int push_name(GENERAL_NAMES *gens, int type, const void *data,
		     size_t len, const char *shown)
{
	int rc = ZTP_OK;
	GENERAL_NAME *gen = NULL;
	ASN1_STRING *str = ASN1_STRING_type_new(
	    type == GEN_DNS ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);
	int i;

	ZTP_ENSURE(str != NULL && ASN1_STRING_set(str, data, (int)len) == 1,
		   ZTP_ENOMEM, "ca: out of memory");
	/* The same name twice is a caller's slip, not two names. */
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		int t;
		const ASN1_STRING *v =
		    GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &t);

		ZTP_ENSURE(t != type || ASN1_STRING_cmp(v, str) != 0,
			   ZTP_EINVAL, "server name: %s \"%s\" given twice",
			   type == GEN_DNS ? "DNS name" : "IP address", shown);
	}
	gen = GENERAL_NAME_new();
	ZTP_ENSURE(gen != NULL, ZTP_ENOMEM, "ca: out of memory");
	GENERAL_NAME_set0_value(gen, type, str);
	str = NULL;
	ZTP_ENSURE(sk_GENERAL_NAME_push(gens, gen) > 0, ZTP_ENOMEM,
		   "ca: out of memory");
	gen = NULL;
cleanup:
	ASN1_STRING_free(str);
	GENERAL_NAME_free(gen);
	return rc;
}

int ztp__ca_server_names(GENERAL_NAMES **san, char cn[ZTP__CA_CN_MAX + 1],
			 const char *names_json)
{
	static const char *const keys[] = {"dns", "ip", NULL};
	int rc = ZTP_OK;
	json_object *doc = NULL, *dns = NULL, *ip = NULL;
	GENERAL_NAMES *gens = NULL;
	char name[DNS_NAME_MAX + 1], text[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	size_t i, n, len, alen = 0;

	*san = NULL;
	cn[0] = '\0';
	len = strnlen(names_json, NAMES_JSON_MAX + 1);
	ZTP_ENSURE(len <= NAMES_JSON_MAX, ZTP_ETOOBIG,
		   "server names: over %d bytes", NAMES_JSON_MAX);
	ZTP_CHECK(ztp__json_parse(&doc, names_json, len, NAMES_JSON_MAX, 2));
	ZTP_ENSURE(json_object_is_type(doc, json_type_object), ZTP_EPARSE,
		   "server names: expected {\"dns\": [...], \"ip\": [...]}");
	ZTP_CHECK(ztp__json_only_keys(doc, keys, "server names"));
	ZTP_CHECK(
	    ztp__json_array(doc, "dns", false, ZTP_CA_SERVER_NAMES_MAX, &dns));
	ZTP_CHECK(
	    ztp__json_array(doc, "ip", false, ZTP_CA_SERVER_NAMES_MAX, &ip));
	n = (dns ? json_object_array_length(dns) : 0) +
	    (ip ? json_object_array_length(ip) : 0);
	ZTP_ENSURE(n > 0, ZTP_EINVAL,
		   "server names: at least one DNS name or IP address");
	ZTP_ENSURE(n <= ZTP_CA_SERVER_NAMES_MAX, ZTP_ETOOBIG,
		   "server names: more than %d", ZTP_CA_SERVER_NAMES_MAX);
	gens = sk_GENERAL_NAME_new_null();
	ZTP_ENSURE(gens != NULL, ZTP_ENOMEM, "ca: out of memory");

	for (i = 0; dns != NULL && i < json_object_array_length(dns); i++) {
		json_object *e = json_object_array_get_idx(dns, i);

		ZTP_ENSURE(json_object_is_type(e, json_type_string), ZTP_EPARSE,
			   "server names: \"dns\" holds a non-string");
		len = (size_t)json_object_get_string_len(e);
		ZTP_CHECK(dns_name(name, json_object_get_string(e), len));
		ZTP_CHECK(push_name(gens, GEN_DNS, name, len, name));
		/* The first DNS name that fits is the CN, as clients that
		 * still read it expect. */
		if (cn[0] == '\0' && len <= ZTP__CA_CN_MAX)
			memcpy(cn, name, len + 1);
	}
	for (i = 0; ip != NULL && i < json_object_array_length(ip); i++) {
		json_object *e = json_object_array_get_idx(ip, i);

		ZTP_ENSURE(json_object_is_type(e, json_type_string), ZTP_EPARSE,
			   "server names: \"ip\" holds a non-string");
		ZTP_CHECK(ip_addr(addr, &alen, text, json_object_get_string(e),
				  (size_t)json_object_get_string_len(e)));
		ZTP_CHECK(push_name(gens, GEN_IPADD, addr, alen, text));
		if (cn[0] == '\0')
			memcpy(cn, text, strlen(text) + 1);
	}
	*san = gens;
	gens = NULL;
cleanup:
	json_object_put(doc);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* A deployment's certificate (server, ocsp): from the caller's CSR or a
 * key made here, names given as a CN and SAN (either may be empty). */
static int issue_deployment(ztp_ca *ca, char **cert_pem, char **key_pem,
			    char **serial_hex, int64_t *not_after,
			    const char *csr_pem, size_t csr_len,
			    const char *key_type, const char *profile,
			    const char *cn, GENERAL_NAMES *san,
			    int64_t lifetime_seconds)
{
	int rc = ZTP_OK;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	ztp__ca_leaf leaf;
	char serial[ZTP_CA_SERIAL_HEX_MAX + 1];
	char *pem = NULL, *kpem = NULL, *ser = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t na = 0;

	if (csr_pem != NULL) {
		ZTP_CHECK(ztp__pem_csr(&req, csr_pem, csr_len));
	} else {
		rc = ztp__key_generate(&key, key_type ? key_type : "ec-p256");
		ZTP_ENSURE(rc != ZTP_EUNSUPPORTED, ZTP_EINVAL,
			   "ca: unknown key type \"%.32s\" (ec-p256, ec-p384, "
			   "ed25519, rsa-2048, rsa-3072, rsa-4096)",
			   key_type);
		ZTP_CHECK(rc);
	}
	leaf.profile = profile;
	leaf.record_device = NULL;
	leaf.cn = cn != NULL && cn[0] != '\0' ? cn : NULL;
	leaf.san = san;
	ZTP_CHECK(ztp__ca_issue_leaf(ca, &cert, &der, &der_len, serial, &na,
				     req, key, &leaf, lifetime_seconds));
	/* Recorded: from here on only memory can fail (see ztp_ca_issue_ex). */
	ZTP_CHECK(ztp__ca_der_to_pem(&pem, der, der_len));
	if (key != NULL)
		ZTP_CHECK(ztp__privkey_to_pem(&kpem, key, NULL));
	if (serial_hex != NULL) {
		ser = ztp__strdup(serial);
		ZTP_ENSURE(ser != NULL, ZTP_ENOMEM, "ca: out of memory");
		*serial_hex = ser;
	}
	if (not_after != NULL)
		*not_after = na;
	if (key_pem != NULL)
		*key_pem = kpem;
	kpem = NULL;
	*cert_pem = pem;
	pem = NULL;
cleanup:
	free(pem);
	if (kpem != NULL)
		ztp__free_secret(kpem, strlen(kpem));
	ztp_free(der);
	X509_free(cert);
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	return rc;
}

/* Either the caller's request, or a key made here and handed back. */
#define ZTP__CA_KEY_ARGS(csr_pem, csr_len, key_type, key_pem)                  \
	((csr_pem) != NULL ? (csr_len) > 0 && (key_type) == NULL               \
			   : (key_pem) != NULL)

int ztp_ca_issue_server(ztp_ca *ca, char **cert_pem, char **key_pem,
			char **serial_hex, int64_t *not_after,
			const char *csr_pem, size_t csr_len,
			const char *key_type, const char *names_json,
			int64_t lifetime_seconds)
{
	int rc = ZTP_OK;
	GENERAL_NAMES *san = NULL;
	char cn[ZTP__CA_CN_MAX + 1];

	ZTP_ARG(cert_pem != NULL);
	*cert_pem = NULL;
	if (key_pem != NULL)
		*key_pem = NULL;
	if (serial_hex != NULL)
		*serial_hex = NULL;
	ZTP_ARG(ca != NULL);
	ZTP_ARG(names_json != NULL);
	ZTP_ARG(ZTP__CA_KEY_ARGS(csr_pem, csr_len, key_type, key_pem));
	ZTP_CHECK(ztp__ca_server_names(&san, cn, names_json));
	rc = issue_deployment(ca, cert_pem, key_pem, serial_hex, not_after,
			      csr_pem, csr_len, key_type, ZTP_CA_PROFILE_SERVER,
			      cn, san, lifetime_seconds);
cleanup:
	GENERAL_NAMES_free(san);
	return rc;
}

int ztp_ca_issue_ocsp(ztp_ca *ca, char **cert_pem, char **key_pem,
		      char **serial_hex, int64_t *not_after,
		      const char *csr_pem, size_t csr_len, const char *key_type,
		      int64_t lifetime_seconds)
{
	ZTP_ARG(cert_pem != NULL);
	*cert_pem = NULL;
	if (key_pem != NULL)
		*key_pem = NULL;
	if (serial_hex != NULL)
		*serial_hex = NULL;
	ZTP_ARG(ca != NULL);
	ZTP_ARG(ZTP__CA_KEY_ARGS(csr_pem, csr_len, key_type, key_pem));
	return issue_deployment(ca, cert_pem, key_pem, serial_hex, not_after,
				csr_pem, csr_len, key_type, ZTP_CA_PROFILE_OCSP,
				ZTP__CA_OCSP_CN, NULL, lifetime_seconds);
}
