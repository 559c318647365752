/*
 * libztp — the device's generated keys in a PKCS#11 token: one key pair
 * per slot, labelled after the slot, made, found and deleted through the
 * core key layer (core/keysrc.h).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The configured token URI names a token and how to log in to it, never
 * an object; the objects are named by appending path attributes to it:
 * "object=LABEL" for every object of a slot, "object=LABEL;id=%XX…" for
 * the one pair made there, which is what a slot's key.ref records. The id
 * is random, so a key.ref never names a pair that replaced the one it was
 * written for.
 */
#include "device/internal.h"

#include "core/keysrc.h"

#include <string.h>

#include <openssl/rand.h>

#define KEY_ID_LEN 16

const ztp__dev_keys *ztp__dev_keys_of(const ztp__dev_cfg *c, ztp__dev_keys *buf)
{
	if (c->key_token == NULL)
		return NULL;
	buf->token = c->key_token;
	buf->label = c->key_label;
	return buf;
}

int ztp__dev_keys_check(const char *uri, const char **label)
{
	int rc = ZTP_OK;
	ztp__p11_uri u11 = {0};

	ZTP_ENSURE(ztp__keysrc_is_pkcs11(uri), ZTP_EINVAL,
		   "operational key: the token must be a pkcs11: URI");
	ZTP_CHECK(ztp__p11_uri_parse(&u11, uri, strlen(uri)));
	ZTP_ENSURE(u11.object == NULL && u11.id == NULL &&
		       u11.type == ZTP__P11_TYPE_ANY,
		   ZTP_EINVAL,
		   "operational key: the token URI names an object "
		   "(object=, id=, type=); the device names its own");
	if (*label == NULL)
		*label = ZTP__DEV_KEY_LABEL_DEFAULT;
	ZTP_CHECK(
	    ztp__id_check(*label, strlen(*label), "operational key label"));
	ZTP_ENSURE(strlen(*label) <= ZTP__DEV_KEY_LABEL_MAX, ZTP_EINVAL,
		   "operational key: label over %d characters",
		   ZTP__DEV_KEY_LABEL_MAX);
cleanup:
	ztp__p11_uri_free(&u11);
	return rc;
}

/* The token URI with the path attributes attrs added. */
static int object_uri(char **out, const char *token, const char *attrs)
{
	int rc = ZTP_OK;
	const char *q = strchr(token, '?');
	size_t plen = q != NULL ? (size_t)(q - token) : strlen(token);
	ztp__buf b = {0};

	ZTP_CHECK(ztp__buf_append(&b, token, plen));
	if (plen > strlen("pkcs11:") && token[plen - 1] != ';')
		ZTP_CHECK(ztp__buf_append_byte(&b, ';'));
	ZTP_CHECK(ztp__buf_append_str(&b, attrs));
	if (q != NULL)
		ZTP_CHECK(ztp__buf_append_str(&b, q));
	ZTP_CHECK(ztp__buf_terminate(&b));
	*out = (char *)ztp__buf_steal(&b, NULL);
cleanup:
	ztp__buf_free(&b);
	return rc;
}

int ztp__dev_token_generate(EVP_PKEY **key, char **ref, const ztp__dev_keys *k,
			    const char *object, const char *key_type)
{
	int rc = ZTP_OK;
	uint8_t id[KEY_ID_LEN];
	char *uri = NULL;
	ztp__buf b = {0};
	size_t i;

	*key = NULL;
	*ref = NULL;
	ZTP_ENSURE_OSSL(RAND_bytes(id, sizeof(id)) == 1, ZTP_ECRYPTO,
			"operational key: no random object id");
	ZTP_CHECK(ztp__buf_append_str(&b, "object="));
	ZTP_CHECK(ztp__buf_append_str(&b, object));
	ZTP_CHECK(ztp__buf_append_str(&b, ";id="));
	for (i = 0; i < sizeof(id); i++) {
		static const char hex[] = "0123456789ABCDEF";
		uint8_t pct[3] = {'%', (uint8_t)hex[id[i] >> 4],
				  (uint8_t)hex[id[i] & 15]};

		ZTP_CHECK(ztp__buf_append(&b, pct, sizeof(pct)));
	}
	ZTP_CHECK(ztp__buf_terminate(&b));
	ZTP_CHECK(object_uri(&uri, k->token, (const char *)b.data));
	ZTP_CHECK(ztp__keysrc_generate(key, uri, NULL, key_type));
	*ref = (char *)ztp__buf_steal(&b, NULL);
cleanup:
	free(uri);
	ztp__buf_free(&b);
	return rc;
}

int ztp__dev_token_load(EVP_PKEY **key, const ztp__dev_keys *k, const char *ref)
{
	int rc = ZTP_OK;
	char *uri = NULL;

	*key = NULL;
	ZTP_CHECK(object_uri(&uri, k->token, ref));
	ZTP_CHECK(ztp__keysrc_load(key, uri, NULL, "operational key"));
cleanup:
	free(uri);
	return rc;
}

int ztp__dev_token_delete(const ztp__dev_keys *k, const char *object)
{
	int rc = ZTP_OK;
	char *uri = NULL;
	ztp__buf b = {0};

	ZTP_CHECK(ztp__buf_append_str(&b, "object="));
	ZTP_CHECK(ztp__buf_append_str(&b, object));
	ZTP_CHECK(ztp__buf_terminate(&b));
	ZTP_CHECK(object_uri(&uri, k->token, (const char *)b.data));
	rc = ztp__keysrc_delete(uri, NULL, NULL);
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		rc = ZTP_OK;
	}
cleanup:
	free(uri);
	ztp__buf_free(&b);
	return rc;
}
