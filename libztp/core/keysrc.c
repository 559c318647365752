/*
 * libztp — key sources: PEM files and RFC 7512 pkcs11: URIs (keysrc.h).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The URI parser is strict: a URI is configuration that decides which key
 * signs a fleet's certificates, so a typo (an unknown attribute, one given
 * twice, a stray delimiter) is refused rather than read as "any token".
 */
#include "core/keysrc.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#define SCHEME "pkcs11:"
#define SCHEME_LEN 7

bool ztp__keysrc_is_pkcs11(const char *src)
{
	return src != NULL && strncasecmp(src, SCHEME, SCHEME_LEN) == 0;
}

/* ------------------------------------------------------------------ URIs */

void ztp__p11_uri_free(ztp__p11_uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->manufacturer);
	free(u->model);
	free(u->serial);
	free(u->library_manufacturer);
	free(u->library_description);
	free(u->object);
	free(u->id);
	if (u->pin_value != NULL)
		ztp__free_secret(u->pin_value, strlen(u->pin_value));
	free(u->pin_source);
	free(u->module_path);
	memset(u, 0, sizeof(*u));
}

/* Percent-decode v[0..len) into a new buffer (NUL-terminated, *outlen
 * without it). binary: NUL may appear (id=). */
static int pct_decode(char **out, size_t *outlen, const char *v, size_t len,
		      bool binary, const char *name)
{
	int rc = ZTP_OK;
	char *d = NULL;
	size_t i, n = 0;

	ZTP_ENSURE(len <= ZTP__P11_VALUE_MAX * 3, ZTP_ETOOBIG,
		   "pkcs11 URI: %s over %d bytes", name, ZTP__P11_VALUE_MAX);
	d = ztp__malloc(len + 1);
	ZTP_ENSURE(d != NULL, ZTP_ENOMEM, "pkcs11 URI: out of memory");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '%') {
			int hi, lo;

			ZTP_ENSURE(i + 2 < len, ZTP_EPARSE,
				   "pkcs11 URI: %s: truncated %%-escape", name);
			hi = ztp__hex_value((unsigned char)v[i + 1]);
			lo = ztp__hex_value((unsigned char)v[i + 2]);
			ZTP_ENSURE(hi >= 0 && lo >= 0, ZTP_EPARSE,
				   "pkcs11 URI: %s: bad %%-escape", name);
			c = (unsigned char)(hi << 4 | lo);
			ZTP_ENSURE(c != 0 || binary, ZTP_EPARSE,
				   "pkcs11 URI: %s: NUL byte", name);
			i += 2;
		} else {
			ZTP_ENSURE(c > 0x20 && c < 0x7f, ZTP_EPARSE,
				   "pkcs11 URI: %s: byte 0x%02x must be "
				   "%%-encoded",
				   name, c);
		}
		d[n++] = (char)c;
	}
	ZTP_ENSURE(n <= ZTP__P11_VALUE_MAX, ZTP_ETOOBIG,
		   "pkcs11 URI: %s over %d bytes", name, ZTP__P11_VALUE_MAX);
	d[n] = '\0';
	*out = d;
	*outlen = n;
	d = NULL;
cleanup:
	if (d != NULL)
		ztp__free_secret(d, len + 1);
	return rc;
}

typedef enum attr_kind {
	A_STR, /* text, at most max bytes */
	A_ID,  /* bytes */
	A_TYPE,
	A_REFUSED /* known, but this version cannot honour it */
} attr_kind;

typedef struct attr {
	const char *name;
	bool query; /* after '?' */
	attr_kind kind;
	size_t max;
	size_t off; /* offsetof the char * (A_STR) in ztp__p11_uri */
} attr;

#define STR(n, q, m, f)                                                        \
	{                                                                      \
		n, q, A_STR, m, offsetof(ztp__p11_uri, f)                      \
	}
static const attr attrs[] = {
    STR("token", false, ZTP__P11_TOKEN_FIELD_MAX, token),
    STR("manufacturer", false, ZTP__P11_TOKEN_FIELD_MAX, manufacturer),
    STR("model", false, ZTP__P11_TOKEN_FIELD_MAX, model),
    STR("serial", false, ZTP__P11_SERIAL_MAX, serial),
    STR("library-manufacturer", false, ZTP__P11_TOKEN_FIELD_MAX,
	library_manufacturer),
    STR("library-description", false, ZTP__P11_TOKEN_FIELD_MAX,
	library_description),
    STR("object", false, ZTP__P11_VALUE_MAX, object),
    {"id", false, A_ID, ZTP__P11_ID_MAX, 0},
    {"type", false, A_TYPE, 0, 0},
    {"library-version", false, A_REFUSED, 0, 0},
    STR("pin-value", true, ZTP__P11_PIN_MAX, pin_value),
    STR("pin-source", true, ZTP__P11_VALUE_MAX, pin_source),
    STR("module-path", true, ZTP__P11_VALUE_MAX, module_path),
    {"module-name", true, A_REFUSED, 0, 0},
};
#undef STR

static const char *const type_names[] = {
    [ZTP__P11_TYPE_PRIVATE] = "private",
    [ZTP__P11_TYPE_PUBLIC] = "public",
    [ZTP__P11_TYPE_CERT] = "cert",
    [ZTP__P11_TYPE_SECRET_KEY] = "secret-key",
    [ZTP__P11_TYPE_DATA] = "data",
};

/* One "name=value" of the path (query false) or the query. seen: bit i
 * set once attrs[i] was given. */
static int parse_attr(ztp__p11_uri *u, const char *s, size_t len, bool query,
		      uint32_t *seen)
{
	int rc = ZTP_OK;
	const char *eq = memchr(s, '=', len);
	size_t nlen, i;
	const attr *a = NULL;
	char *val = NULL;
	size_t vlen = 0;

	ZTP_ENSURE(eq != NULL && eq > s, ZTP_EPARSE,
		   "pkcs11 URI: attribute without name=value");
	nlen = (size_t)(eq - s);
	if (nlen > 2 && s[0] == 'x' && s[1] == '-')
		goto cleanup; /* vendor attribute: RFC 7512 lets us ignore it */
	for (i = 0; i < ZTP__ARRAY_LEN(attrs); i++)
		if (strlen(attrs[i].name) == nlen &&
		    memcmp(attrs[i].name, s, nlen) == 0)
			break;
	ZTP_ENSURE(i < ZTP__ARRAY_LEN(attrs), ZTP_EPARSE,
		   "pkcs11 URI: unknown attribute \"%.*s\"",
		   (int)(nlen > 32 ? 32 : nlen), s);
	a = &attrs[i];
	ZTP_ENSURE(a->query == query, ZTP_EPARSE,
		   "pkcs11 URI: %s belongs in the %s part", a->name,
		   a->query ? "query (after '?')" : "path (before '?')");
	ZTP_ENSURE((*seen & (1u << i)) == 0, ZTP_EPARSE,
		   "pkcs11 URI: %s given twice", a->name);
	*seen |= 1u << i;
	ZTP_ENSURE(a->kind != A_REFUSED, ZTP_EUNSUPPORTED,
		   "pkcs11 URI: %s is not supported%s", a->name,
		   strcmp(a->name, "module-name") == 0 ? "; use module-path"
						       : "");
	ZTP_CHECK(pct_decode(&val, &vlen, eq + 1, len - nlen - 1,
			     a->kind == A_ID, a->name));
	switch (a->kind) {
	case A_STR:
		ZTP_ENSURE(vlen <= a->max, ZTP_ETOOBIG,
			   "pkcs11 URI: %s over %zu bytes", a->name, a->max);
		*(char **)(void *)((char *)u + a->off) = val;
		val = NULL;
		break;
	case A_ID:
		ZTP_ENSURE(vlen > 0, ZTP_EPARSE, "pkcs11 URI: empty id");
		ZTP_ENSURE(vlen <= a->max, ZTP_ETOOBIG,
			   "pkcs11 URI: id over %zu bytes", a->max);
		u->id = (uint8_t *)val;
		u->id_len = vlen;
		val = NULL;
		break;
	case A_TYPE:
		for (i = 1; i < ZTP__ARRAY_LEN(type_names); i++)
			if (strcmp(val, type_names[i]) == 0)
				break;
		ZTP_ENSURE(i < ZTP__ARRAY_LEN(type_names), ZTP_EPARSE,
			   "pkcs11 URI: unknown type (private, public, cert, "
			   "secret-key or data)");
		u->type = (ztp__p11_type)i;
		break;
	case A_REFUSED:
	default:
		rc = ztp__err(ZTP_EINTERNAL, "pkcs11 URI: attribute kind");
		goto cleanup;
	}
cleanup:
	if (val != NULL)
		ztp__free_secret(val, vlen);
	return rc;
}

int ztp__p11_uri_parse(ztp__p11_uri *u, const char *s, size_t len)
{
	int rc = ZTP_OK;
	size_t i, start;
	bool query = false;
	uint32_t seen = 0;

	memset(u, 0, sizeof(*u));
	ZTP_ENSURE(len <= ZTP__P11_URI_MAX, ZTP_ETOOBIG,
		   "pkcs11 URI: over %d bytes", ZTP__P11_URI_MAX);
	ZTP_ENSURE(len >= SCHEME_LEN && strncasecmp(s, SCHEME, SCHEME_LEN) == 0,
		   ZTP_EPARSE, "pkcs11 URI: must start with pkcs11:");
	ZTP_ENSURE(memchr(s, '\0', len) == NULL, ZTP_EPARSE,
		   "pkcs11 URI: NUL byte");
	start = SCHEME_LEN;
	for (i = SCHEME_LEN; i <= len; i++) {
		char c = i < len ? s[i] : '\0';
		bool sep = i == len || c == (query ? '&' : ';') ||
			   (!query && c == '?');

		if (!sep)
			continue;
		/* An empty path ("pkcs11:" or "pkcs11:?…") is allowed; an
		 * empty attribute anywhere else is not. */
		if (i > start)
			ZTP_CHECK(
			    parse_attr(u, s + start, i - start, query, &seen));
		else
			ZTP_ENSURE(!query && start == SCHEME_LEN &&
				       (i == len || c == '?'),
				   ZTP_EPARSE,
				   "pkcs11 URI: empty attribute at offset %zu",
				   i);
		if (c == '?')
			query = true;
		start = i + 1;
	}
cleanup:
	if (rc < 0)
		ztp__p11_uri_free(u);
	return rc;
}

/* ------------------------------------------------------------------ PINs */

/* The PIN to log in with: pin-value, else the file pin-source names, else
 * pass. *pin is NULL (no login) or a secret the caller frees with
 * ztp__free_secret(pin, strlen(pin)). */
static int resolve_pin(char **pin, const ztp__p11_uri *u, const char *pass)
{
	int rc = ZTP_OK;
	const char *path;
	char *buf = NULL;
	size_t len = 0;

	*pin = NULL;
	ZTP_ENSURE(u->pin_value == NULL || u->pin_source == NULL, ZTP_EINVAL,
		   "pkcs11 URI: pin-value and pin-source both given");
	if (u->pin_value != NULL) {
		*pin = ztp__strdup(u->pin_value);
		ZTP_ENSURE(*pin != NULL, ZTP_ENOMEM, "PIN: out of memory");
		goto cleanup;
	}
	if (u->pin_source == NULL) {
		if (pass != NULL) {
			*pin = ztp__strdup(pass);
			ZTP_ENSURE(*pin != NULL, ZTP_ENOMEM,
				   "PIN: out of memory");
		}
		goto cleanup;
	}
	path = u->pin_source;
	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	if (strncmp(path, "//", 2) == 0)
		path += 2; /* file:///PATH */
	ZTP_ENSURE(path[0] == '/', ZTP_EUNSUPPORTED,
		   "pkcs11 URI: pin-source must be file:/PATH or /PATH");
	ZTP_CHECK(ztp__file_read(&buf, &len, path, ZTP__P11_PIN_MAX + 2));
	/* One trailing line break, as `echo PIN > file` writes it. */
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	ZTP_ENSURE(strlen(buf) == len && len <= ZTP__P11_PIN_MAX, ZTP_EPARSE,
		   "PIN file %s: NUL byte or over %d bytes", path,
		   ZTP__P11_PIN_MAX);
	*pin = buf;
	buf = NULL;
cleanup:
	if (buf != NULL)
		ztp__free_secret(buf, len);
	return rc;
}

/* A pkcs11: source parsed, with its PIN. */
static int open_uri(ztp__p11_uri *u, char **pin, const char *src,
		    const char *pass)
{
	int rc = ZTP_OK;

	ZTP_CHECK(ztp__p11_uri_parse(u, src, strlen(src)));
	ZTP_CHECK(resolve_pin(pin, u, pass));
cleanup:
	if (rc < 0)
		ztp__p11_uri_free(u);
	return rc;
}

static void close_uri(ztp__p11_uri *u, char *pin)
{
	if (pin != NULL)
		ztp__free_secret(pin, strlen(pin));
	ztp__p11_uri_free(u);
}

/* ------------------------------------------------------------------ keys */

/* The file path of a file source: file:PATH, file:///PATH or PATH. */
static int file_path(const char **path, const char *src, const char *what)
{
	int rc = ZTP_OK;

	*path = src;
	if (strncmp(src, "file:", 5) == 0) {
		*path = src + 5;
		if (strncmp(*path, "//", 2) == 0) {
			ZTP_ENSURE((*path)[2] == '/', ZTP_EINVAL,
				   "%s: file:// URI with a host is not "
				   "supported; use file:///PATH or file:PATH",
				   what);
			*path += 2;
		}
	}
	ZTP_ENSURE(**path != '\0', ZTP_EINVAL, "%s: empty path", what);
cleanup:
	return rc;
}

static int load_file(EVP_PKEY **out, const char *src, const char *pass,
		     const char *what)
{
	int rc = ZTP_OK;
	const char *path;
	char *buf = NULL;
	size_t len = 0;

	ZTP_CHECK(file_path(&path, src, what));
	ZTP_CHECK(ztp__file_read(&buf, &len, path, ZTP_PEM_MAX));
	ZTP_ENSURE(strlen(buf) == len, ZTP_EPARSE, "%s: NUL byte in %s", what,
		   path);
	ZTP_CHECK(ztp__pem_privkey(out, buf, len, pass));
cleanup:
	if (buf != NULL)
		ztp__free_secret(buf, len);
	return rc;
}

int ztp__keysrc_load(EVP_PKEY **out, const char *src, const char *pass,
		     const char *what)
{
	int rc = ZTP_OK;
	ztp__p11_uri u;
	char *pin = NULL;

	*out = NULL;
	ZTP_ENSURE(src != NULL && src[0] != '\0', ZTP_EINVAL,
		   "%s: empty key source", what);
	if (strncmp(src, "tpm2:", 5) == 0)
		return ztp__tpm2_key_load(out, src);
	if (!ztp__keysrc_is_pkcs11(src))
		return load_file(out, src, pass, what);
	ZTP_CHECK(open_uri(&u, &pin, src, pass));
	rc = ztp__p11_load(out, &u, pin, what);
	close_uri(&u, pin);
cleanup:
	return rc;
}

int ztp__keysrc_generate(EVP_PKEY **out, const char *uri, const char *pass,
			 const char *type)
{
	int rc = ZTP_OK;
	ztp__p11_uri u;
	char *pin = NULL;

	if (out != NULL)
		*out = NULL;
	ZTP_ENSURE(ztp__keysrc_is_pkcs11(uri), ZTP_EINVAL,
		   "key generation in a token needs a pkcs11: URI");
	ZTP_CHECK(open_uri(&u, &pin, uri, pass));
	rc = ztp__p11_generate(out, &u, pin, type);
	close_uri(&u, pin);
cleanup:
	return rc;
}

int ztp__keysrc_delete(const char *uri, const char *pass, unsigned *n_deleted)
{
	int rc = ZTP_OK;
	ztp__p11_uri u;
	char *pin = NULL;

	if (n_deleted != NULL)
		*n_deleted = 0;
	ZTP_ENSURE(ztp__keysrc_is_pkcs11(uri), ZTP_EINVAL,
		   "key deletion needs a pkcs11: URI");
	ZTP_CHECK(open_uri(&u, &pin, uri, pass));
	rc = ztp__p11_delete(&u, pin, n_deleted);
	close_uri(&u, pin);
cleanup:
	return rc;
}

int ztp__keysrc_sign_error(bool in_token, const char *what)
{
	if (in_token)
		return ztp__err_ossl(ZTP_ETOKEN,
				     "%s: the token did not sign (token "
				     "removed, module finalized or failed)",
				     what);
	return ztp__err_ossl(ZTP_ECRYPTO, "%s failed", what);
}

#ifndef HAVE_PKCS11
/* A build without libp11 and p11-kit (configure --without-pkcs11). */
static int no_pkcs11(void)
{
	return ztp__err(ZTP_EUNSUPPORTED,
			"pkcs11: this libztp is built without PKCS#11 key "
			"sources (configure --with-pkcs11)");
}

int ztp__p11_load(EVP_PKEY **out, const ztp__p11_uri *u, const char *pin,
		  const char *what)
{
	(void)out;
	(void)u;
	(void)pin;
	(void)what;
	return no_pkcs11();
}

int ztp__p11_generate(EVP_PKEY **out, const ztp__p11_uri *u, const char *pin,
		      const char *type)
{
	(void)out;
	(void)u;
	(void)pin;
	(void)type;
	return no_pkcs11();
}

int ztp__p11_delete(const ztp__p11_uri *u, const char *pin, unsigned *n_deleted)
{
	(void)u;
	(void)pin;
	(void)n_deleted;
	return no_pkcs11();
}
#endif
