/*
 * libztp — fuzz the pkcs11: URI parser (ztp__p11_uri_parse), which reads
 * key sources from configuration files, command lines and bindings.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Oracle: only documented codes; a failure leaves nothing set; accepted
 * text fields are NUL-free, printable-safe C strings within their limits;
 * and the URI rebuilt from what was parsed (every byte %-encoded) parses
 * back to the same fields.
 */
#include "fuzz.h"

#include "core/keysrc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

static const struct {
	const char *name;
	bool query;
	size_t off;
	size_t max;
} fields[] = {
#define F(n, q, f, m)                                                          \
	{                                                                      \
		n, q, offsetof(ztp__p11_uri, f), m                             \
	}
    F("token", false, token, ZTP__P11_TOKEN_FIELD_MAX),
    F("manufacturer", false, manufacturer, ZTP__P11_TOKEN_FIELD_MAX),
    F("model", false, model, ZTP__P11_TOKEN_FIELD_MAX),
    F("serial", false, serial, ZTP__P11_SERIAL_MAX),
    F("library-manufacturer", false, library_manufacturer,
      ZTP__P11_TOKEN_FIELD_MAX),
    F("library-description", false, library_description,
      ZTP__P11_TOKEN_FIELD_MAX),
    F("object", false, object, ZTP__P11_VALUE_MAX),
    F("pin-value", true, pin_value, ZTP__P11_PIN_MAX),
    F("pin-source", true, pin_source, ZTP__P11_VALUE_MAX),
    F("module-path", true, module_path, ZTP__P11_VALUE_MAX),
#undef F
};

static const char *field(const ztp__p11_uri *u, size_t i)
{
	return *(char *const *)(const void *)((const char *)u + fields[i].off);
}

static void put_pct(ztp__buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		char e[3] = {'%', hex[p[i] >> 4], hex[p[i] & 15]};

		FUZZ_ASSERT(ztp__buf_append(b, e, 3) == ZTP_OK);
	}
}

static void put_attr(ztp__buf *b, bool *first, char sep, const char *name,
		     const uint8_t *v, size_t n)
{
	if (!*first)
		FUZZ_ASSERT(ztp__buf_append_byte(b, (uint8_t)sep) == ZTP_OK);
	*first = false;
	FUZZ_ASSERT(ztp__buf_append_str(b, name) == ZTP_OK);
	FUZZ_ASSERT(ztp__buf_append_byte(b, '=') == ZTP_OK);
	put_pct(b, v, n);
}

static const char *const types[] = {NULL,   "private",	  "public",
				    "cert", "secret-key", "data"};

/* The URI of u, every value %-encoded. */
static void rebuild(ztp__buf *b, const ztp__p11_uri *u)
{
	bool first = true, qfirst = true;
	size_t i;

	FUZZ_ASSERT(ztp__buf_append_str(b, "pkcs11:") == ZTP_OK);
	for (i = 0; i < ZTP__ARRAY_LEN(fields); i++)
		if (!fields[i].query && field(u, i) != NULL)
			put_attr(b, &first, ';', fields[i].name,
				 (const uint8_t *)field(u, i),
				 strlen(field(u, i)));
	if (u->id != NULL)
		put_attr(b, &first, ';', "id", u->id, u->id_len);
	if (u->type != ZTP__P11_TYPE_ANY)
		put_attr(b, &first, ';', "type",
			 (const uint8_t *)types[u->type],
			 strlen(types[u->type]));
	for (i = 0; i < ZTP__ARRAY_LEN(fields); i++) {
		if (!fields[i].query || field(u, i) == NULL)
			continue;
		if (qfirst)
			FUZZ_ASSERT(ztp__buf_append_byte(b, '?') == ZTP_OK);
		put_attr(b, &qfirst, '&', fields[i].name,
			 (const uint8_t *)field(u, i), strlen(field(u, i)));
	}
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ztp__p11_uri u, back;
	ztp__buf b = {0};
	size_t i;
	int rc = ztp__p11_uri_parse(&u, (const char *)data, size);

	FUZZ_ASSERT_RC(rc);
	if (rc < 0) {
		for (i = 0; i < ZTP__ARRAY_LEN(fields); i++)
			FUZZ_ASSERT(field(&u, i) == NULL);
		FUZZ_ASSERT(u.id == NULL && u.id_len == 0);
		return 0;
	}
	for (i = 0; i < ZTP__ARRAY_LEN(fields); i++)
		FUZZ_ASSERT(field(&u, i) == NULL ||
			    strlen(field(&u, i)) <= fields[i].max);
	FUZZ_ASSERT(u.id == NULL ||
		    (u.id_len >= 1 && u.id_len <= ZTP__P11_ID_MAX));
	FUZZ_ASSERT(u.type >= ZTP__P11_TYPE_ANY &&
		    u.type <= ZTP__P11_TYPE_DATA);

	rebuild(&b, &u);
	/* Encoding triples the length: only a URI within the limit then must
	 * parse back. */
	if (b.len <= ZTP__P11_URI_MAX) {
		FUZZ_ASSERT(ztp__p11_uri_parse(&back, (const char *)b.data,
					       b.len) == ZTP_OK);
		for (i = 0; i < ZTP__ARRAY_LEN(fields); i++)
			FUZZ_ASSERT(same_str(field(&u, i), field(&back, i)));
		FUZZ_ASSERT(back.id_len == u.id_len && back.type == u.type);
		FUZZ_ASSERT(u.id == NULL ||
			    memcmp(u.id, back.id, u.id_len) == 0);
		ztp__p11_uri_free(&back);
	}
	ztp__buf_free(&b);
	ztp__p11_uri_free(&u);
	return 0;
}
