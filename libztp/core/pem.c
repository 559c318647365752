/*
 * libztp — strict PEM and DER parsing, PEM encoding, fingerprints.
 * SPDX-License-Identifier: Apache-2.0
 *
 * OpenSSL's PEM reader skips any text before a block and ignores what
 * follows it, so "some text, a certificate, another certificate" reads as
 * the first certificate. Requests are untrusted, so the framing here is
 * ours: exactly the blocks asked for, nothing but whitespace around them,
 * a strictly decoded base64 body, and DER that is consumed to its last
 * byte. Only traditionally encrypted private keys (Proc-Type headers) are
 * handed to OpenSSL's PEM code, after the same framing checks.
 */
#include "core/internal.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

/* One located PEM block inside the caller's buffer. */
typedef struct pem_block {
	const char *label; /* points into the buffer, not NUL-terminated */
	size_t label_len;
	const char *body; /* between the BEGIN and END lines */
	size_t body_len;
	const char *start; /* the whole block, BEGIN to END line */
	size_t len;
} pem_block;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && is_space(s[i]))
		i++;
	return i;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/* Find the first occurrence of needle in s[0..len). */
static const char *find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	if (n > len)
		return NULL;
	for (i = 0; i + n <= len; i++)
		if (memcmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

/* Parse the block that starts at pem[*pos] (after whitespace); *pos moves
 * past its END line. Any non-whitespace where a block should start is an
 * error, which is what rejects text before, between and after blocks. */
static int next_block(pem_block *b, const char *pem, size_t len, size_t *pos)
{
	int rc = ZTP_OK;
	size_t i = *pos, rest;
	const char *p, *lab, *dash, *end;
	char endline[96];
	int n;

	ZTP_ENSURE(i < len, ZTP_EPARSE, "PEM: no block found");
	p = pem + i;
	rest = len - i;
	ZTP_ENSURE(has_prefix(p, rest, "-----BEGIN "), ZTP_EPARSE,
		   "PEM: unexpected text at offset %zu (expected -----BEGIN)",
		   i);
	lab = p + strlen("-----BEGIN ");
	dash = find(lab, rest - (size_t)(lab - p), "-----");
	ZTP_ENSURE(dash != NULL && dash > lab && dash - lab <= 64, ZTP_EPARSE,
		   "PEM: malformed BEGIN line");
	b->label = lab;
	b->label_len = (size_t)(dash - lab);
	for (i = 0; i < b->label_len; i++)
		ZTP_ENSURE(lab[i] == ' ' || (lab[i] >= 'A' && lab[i] <= 'Z') ||
			       (lab[i] >= '0' && lab[i] <= '9'),
			   ZTP_EPARSE, "PEM: malformed label");
	b->body = dash + 5;
	/* The BEGIN line ends right after its dashes. */
	ZTP_ENSURE(b->body < pem + len &&
		       (*b->body == '\n' || *b->body == '\r'),
		   ZTP_EPARSE, "PEM: text after BEGIN line");
	n = snprintf(endline, sizeof(endline), "-----END %.*s-----",
		     (int)b->label_len, b->label);
	ZTP_ENSURE(n > 0 && (size_t)n < sizeof(endline), ZTP_EPARSE,
		   "PEM: label too long");
	end = find(b->body, len - (size_t)(b->body - pem), endline);
	ZTP_ENSURE(end != NULL, ZTP_EPARSE, "PEM: missing END line for %.*s",
		   (int)b->label_len, b->label);
	/* A second BEGIN before our END means a nested or truncated block. */
	ZTP_ENSURE(find(b->body, (size_t)(end - b->body), "-----") == NULL,
		   ZTP_EPARSE, "PEM: unexpected delimiter inside block");
	b->body_len = (size_t)(end - b->body);
	b->start = p;
	b->len = (size_t)(end - p) + (size_t)n;
	*pos = (size_t)(end - pem) + (size_t)n;
cleanup:
	return rc;
}

static bool label_is(const pem_block *b, const char *label)
{
	return b->label_len == strlen(label) &&
	       memcmp(b->label, label, b->label_len) == 0;
}

/* Decode a block body: base64 in lines. Line breaks and blanks between
 * characters are dropped (RFC 7468 allows wrapping at any width); what is
 * left must be strict base64, so headers, stray '=' or junk fail here. */
static int body_decode(uint8_t **der, size_t *derlen, const pem_block *b)
{
	int rc = ZTP_OK;
	char *compact = NULL;
	size_t i, n = 0;

	compact = ztp__malloc(b->body_len + 1);
	ZTP_ENSURE(compact != NULL, ZTP_ENOMEM, "PEM: out of memory");
	for (i = 0; i < b->body_len; i++)
		if (!is_space(b->body[i]))
			compact[n++] = b->body[i];
	ZTP_ENSURE(n > 0, ZTP_EPARSE, "PEM: empty %.*s block",
		   (int)b->label_len, b->label);
	ZTP_CHECK(ztp__b64_decode(der, derlen, compact, n));
cleanup:
	ztp__free_secret(compact, b->body_len + 1);
	return rc;
}

/* Exactly one block in pem[0..len), of any label. */
static int single_block(pem_block *b, const char *pem, size_t len,
			const char *what)
{
	int rc = ZTP_OK;
	size_t pos;

	ZTP_ENSURE(pem != NULL, ZTP_EINVAL, "%s: missing PEM", what);
	ZTP_ENSURE(len <= ZTP_PEM_MAX, ZTP_ETOOBIG,
		   "%s: PEM of %zu bytes over the %d-byte limit", what, len,
		   ZTP_PEM_MAX);
	pos = skip_space(pem, len, 0);
	ZTP_CHECK(next_block(b, pem, len, &pos));
	pos = skip_space(pem, len, pos);
	ZTP_ENSURE(pos == len, ZTP_EPARSE,
		   "%s: unexpected data after the PEM block", what);
cleanup:
	return rc;
}

static int der_to_cert(X509 **out, const uint8_t *der, size_t len)
{
	int rc = ZTP_OK;
	const unsigned char *p = der;
	X509 *x = NULL;

	ZTP_ENSURE(len > 0 && len <= ZTP_PEM_MAX,
		   len == 0 ? ZTP_EPARSE : ZTP_ETOOBIG,
		   "certificate: DER length %zu", len);
	x = d2i_X509(NULL, &p, (long)len);
	ZTP_ENSURE_OSSL(x != NULL, ZTP_EPARSE, "certificate: invalid DER");
	ZTP_ENSURE(p == der + len, ZTP_EPARSE,
		   "certificate: %zu trailing bytes after the DER",
		   (size_t)(der + len - p));
	*out = x;
	x = NULL;
cleanup:
	X509_free(x);
	return rc;
}

int ztp__der_cert(X509 **out, const uint8_t *der, size_t len)
{
	ZTP_ARG(out != NULL);
	ZTP_ARG(der != NULL);
	*out = NULL;
	return der_to_cert(out, der, len);
}

int ztp__pem_cert(X509 **out, const char *pem, size_t len)
{
	int rc = ZTP_OK;
	pem_block b;
	uint8_t *der = NULL;
	size_t derlen = 0;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_CHECK(single_block(&b, pem, len, "certificate"));
	ZTP_ENSURE(label_is(&b, "CERTIFICATE"), ZTP_EPARSE,
		   "certificate: expected a CERTIFICATE block, got %.*s",
		   (int)b.label_len, b.label);
	ZTP_CHECK(body_decode(&der, &derlen, &b));
	ZTP_CHECK(der_to_cert(out, der, derlen));
cleanup:
	ztp_free(der);
	return rc;
}

int ztp__pem_csr_der(uint8_t **der, size_t *derlen, const char *pem, size_t len)
{
	int rc = ZTP_OK;
	pem_block b;

	ZTP_ARG(der != NULL && derlen != NULL);
	*der = NULL;
	*derlen = 0;
	ZTP_CHECK(single_block(&b, pem, len, "CSR"));
	/* "NEW CERTIFICATE REQUEST" is what some enrollment tools write
	 * (RFC 7468 section 7 lists it as seen in the wild). */
	ZTP_ENSURE(label_is(&b, "CERTIFICATE REQUEST") ||
		       label_is(&b, "NEW CERTIFICATE REQUEST"),
		   ZTP_EPARSE,
		   "CSR: expected a CERTIFICATE REQUEST block, got %.*s",
		   (int)b.label_len, b.label);
	ZTP_CHECK(body_decode(der, derlen, &b));
cleanup:
	return rc;
}

int ztp__pem_csr(X509_REQ **out, const char *pem, size_t len)
{
	int rc = ZTP_OK;
	uint8_t *der = NULL;
	size_t derlen = 0;
	const unsigned char *p;
	X509_REQ *req = NULL;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_CHECK(ztp__pem_csr_der(&der, &derlen, pem, len));
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)derlen);
	ZTP_ENSURE_OSSL(req != NULL, ZTP_EPARSE, "CSR: invalid DER");
	ZTP_ENSURE(p == der + derlen, ZTP_EPARSE,
		   "CSR: %zu trailing bytes after the DER",
		   (size_t)(der + derlen - p));
	*out = req;
	req = NULL;
cleanup:
	X509_REQ_free(req);
	ztp_free(der);
	return rc;
}

int ztp__pem_certs(STACK_OF(X509) * *out, const char *pem, size_t len,
		   size_t max)
{
	int rc = ZTP_OK;
	STACK_OF(X509) *sk = NULL;
	X509 *x = NULL;
	pem_block b;
	uint8_t *der = NULL;
	size_t derlen = 0, pos, count = 0;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(pem != NULL);
	ZTP_ARG(max > 0 && max <= SIZE_MAX / ZTP_PEM_MAX);
	ZTP_ENSURE(len <= max * ZTP_PEM_MAX, ZTP_ETOOBIG,
		   "certificates: PEM of %zu bytes over the limit", len);
	sk = sk_X509_new_null();
	ZTP_ENSURE_OSSL(sk != NULL, ZTP_ENOMEM, "certificates: out of memory");
	pos = skip_space(pem, len, 0);
	ZTP_ENSURE(pos < len, ZTP_EPARSE, "certificates: no PEM block found");
	while (pos < len) {
		ZTP_ENSURE(count < max, ZTP_ETOOBIG,
			   "certificates: more than %zu", max);
		ZTP_CHECK(next_block(&b, pem, len, &pos));
		ZTP_ENSURE(b.len <= ZTP_PEM_MAX, ZTP_ETOOBIG,
			   "certificates: block %zu over the %d-byte limit",
			   count + 1, ZTP_PEM_MAX);
		ZTP_ENSURE(label_is(&b, "CERTIFICATE"), ZTP_EPARSE,
			   "certificates: block %zu is %.*s, not CERTIFICATE",
			   count + 1, (int)b.label_len, b.label);
		ZTP_CHECK(body_decode(&der, &derlen, &b));
		ZTP_CHECK(der_to_cert(&x, der, derlen));
		ztp_free(der);
		der = NULL;
		ZTP_ENSURE_OSSL(sk_X509_push(sk, x) > 0, ZTP_ENOMEM,
				"certificates: out of memory");
		x = NULL;
		count++;
		pos = skip_space(pem, len, pos);
	}
	*out = sk;
	sk = NULL;
cleanup:
	X509_free(x);
	ztp_free(der);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* ------------------------------------------------------------------ keys */

/* Never let OpenSSL fall back to prompting on the terminal: with no
 * passphrase the callback reports failure. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	size_t n;

	(void)rwflag;
	if (pass == NULL || size <= 0)
		return -1;
	n = strlen(pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

/* A traditional (EC/RSA) key with RFC 1421 encryption headers. OpenSSL
 * parses the headers and decrypts; the DER must still be consumed fully. */
static int legacy_encrypted(EVP_PKEY **out, const pem_block *b, int type,
			    const char *pass)
{
	int rc = ZTP_OK;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	EVP_CIPHER_INFO cipher;
	const unsigned char *p;
	EVP_PKEY *key = NULL;

	ZTP_ENSURE(pass != NULL, ZTP_EINVAL,
		   "private key: encrypted, but no passphrase given");
	bio = BIO_new_mem_buf(b->start, (int)b->len);
	ZTP_ENSURE_OSSL(bio != NULL, ZTP_ENOMEM, "private key: out of memory");
	ZTP_ENSURE_OSSL(PEM_read_bio(bio, &name, &header, &data, &dlen) == 1,
			ZTP_EPARSE, "private key: malformed PEM");
	ZTP_ENSURE_OSSL(PEM_get_EVP_CIPHER_INFO(header, &cipher) == 1,
			ZTP_EPARSE, "private key: malformed encryption header");
	ZTP_ENSURE(cipher.cipher != NULL, ZTP_EPARSE,
		   "private key: headers present but no DEK-Info");
	ZTP_ENSURE_OSSL(
	    PEM_do_header(&cipher, data, &dlen, pass_cb, (void *)pass) == 1,
	    ZTP_ECRYPTO, "private key: wrong passphrase");
	p = data;
	key = d2i_PrivateKey(type, NULL, &p, dlen);
	/* Unpadded garbage after a wrong passphrase decrypts "successfully"
	 * now and then; it cannot also be a valid key. */
	ZTP_ENSURE_OSSL(key != NULL && p == data + dlen, ZTP_ECRYPTO,
			"private key: wrong passphrase or corrupt key");
	*out = key;
	key = NULL;
cleanup:
	EVP_PKEY_free(key);
	if (data != NULL)
		OPENSSL_clear_free(data, dlen > 0 ? (size_t)dlen : 0);
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return rc;
}

/*
 * Passphrase errors: an encrypted key without a passphrase is the caller's
 * mistake (ZTP_EINVAL); a passphrase that does not decrypt the key is
 * ZTP_ECRYPTO with the detail "wrong passphrase" (PKCS#8 decryption cannot
 * tell a wrong passphrase from a corrupt ciphertext, so neither can we).
 * A passphrase given for an unencrypted key is ignored, like OpenSSL does.
 */
int ztp__pem_privkey(EVP_PKEY **out, const char *pem, size_t len,
		     const char *pass)
{
	int rc = ZTP_OK;
	pem_block b;
	uint8_t *der = NULL;
	size_t derlen = 0;
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *enc = NULL;
	EVP_PKEY *key = NULL;
	int type = EVP_PKEY_NONE;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_CHECK(single_block(&b, pem, len, "private key"));
	if (label_is(&b, "EC PRIVATE KEY"))
		type = EVP_PKEY_EC;
	else if (label_is(&b, "RSA PRIVATE KEY"))
		type = EVP_PKEY_RSA;
	else
		ZTP_ENSURE(label_is(&b, "PRIVATE KEY") ||
			       label_is(&b, "ENCRYPTED PRIVATE KEY"),
			   ZTP_EPARSE,
			   "private key: unsupported PEM block %.*s",
			   (int)b.label_len, b.label);
	if (type != EVP_PKEY_NONE && find(b.body, b.body_len, "Proc-Type:")) {
		ZTP_CHECK(legacy_encrypted(&key, &b, type, pass));
		goto done;
	}
	ZTP_CHECK(body_decode(&der, &derlen, &b));
	p = der;
	if (type != EVP_PKEY_NONE) {
		key = d2i_PrivateKey(type, NULL, &p, (long)derlen);
		ZTP_ENSURE_OSSL(key != NULL, ZTP_EPARSE,
				"private key: invalid %.*s DER",
				(int)b.label_len, b.label);
	} else if (label_is(&b, "PRIVATE KEY")) {
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)derlen);
		ZTP_ENSURE_OSSL(p8 != NULL, ZTP_EPARSE,
				"private key: invalid PKCS#8 DER");
	} else {
		ZTP_ENSURE(pass != NULL, ZTP_EINVAL,
			   "private key: encrypted, but no passphrase given");
		enc = d2i_X509_SIG(NULL, &p, (long)derlen);
		ZTP_ENSURE_OSSL(enc != NULL, ZTP_EPARSE,
				"private key: invalid encrypted PKCS#8 DER");
	}
	ZTP_ENSURE(p == der + derlen, ZTP_EPARSE,
		   "private key: %zu trailing bytes after the DER",
		   (size_t)(der + derlen - p));
	if (enc != NULL) {
		p8 = PKCS8_decrypt(enc, pass, (int)strlen(pass));
		ZTP_ENSURE_OSSL(p8 != NULL, ZTP_ECRYPTO,
				"private key: wrong passphrase");
	}
	if (p8 != NULL) {
		key = EVP_PKCS82PKEY(p8);
		ZTP_ENSURE_OSSL(
		    key != NULL, ZTP_EPARSE,
		    "private key: unsupported or invalid PKCS#8 key");
	}
done:
	*out = key;
	key = NULL;
cleanup:
	EVP_PKEY_free(key);
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(enc);
	ztp__free_secret(der, derlen);
	return rc;
}

/* ------------------------------------------------------------------ encoders
 */

/* Copy a memory BIO's contents into a NUL-terminated ztp_free string. */
static int bio_to_string(char **out, BIO *bio)
{
	int rc = ZTP_OK;
	BUF_MEM *mem = NULL;
	char *s;

	BIO_get_mem_ptr(bio, &mem);
	ZTP_ENSURE(mem != NULL && mem->length > 0, ZTP_EINTERNAL,
		   "PEM: encoder produced no output");
	s = ztp__malloc(mem->length + 1);
	ZTP_ENSURE(s != NULL, ZTP_ENOMEM, "PEM: out of memory");
	memcpy(s, mem->data, mem->length);
	s[mem->length] = '\0';
	*out = s;
cleanup:
	return rc;
}

int ztp__cert_to_pem(char **out, X509 *cert)
{
	int rc = ZTP_OK;
	BIO *bio = NULL;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(cert != NULL);
	bio = BIO_new(BIO_s_mem());
	ZTP_ENSURE_OSSL(bio != NULL, ZTP_ENOMEM, "PEM: out of memory");
	ZTP_ENSURE_OSSL(PEM_write_bio_X509(bio, cert) == 1, ZTP_ECRYPTO,
			"certificate: PEM encoding failed");
	ZTP_CHECK(bio_to_string(out, bio));
cleanup:
	BIO_free(bio);
	return rc;
}

int ztp__csr_to_pem(char **out, X509_REQ *csr)
{
	int rc = ZTP_OK;
	BIO *bio = NULL;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(csr != NULL);
	bio = BIO_new(BIO_s_mem());
	ZTP_ENSURE_OSSL(bio != NULL, ZTP_ENOMEM, "PEM: out of memory");
	ZTP_ENSURE_OSSL(PEM_write_bio_X509_REQ(bio, csr) == 1, ZTP_ECRYPTO,
			"CSR: PEM encoding failed");
	ZTP_CHECK(bio_to_string(out, bio));
cleanup:
	BIO_free(bio);
	return rc;
}

/*
 * PKCS#8, unencrypted when pass is NULL, else encrypted with AES-256-CBC
 * under PBKDF2 (OpenSSL's PKCS#5 v2 defaults). The BIO is a secure-memory
 * one so that its buffer is wiped as it grows and when it is freed.
 */
int ztp__privkey_to_pem(char **out, EVP_PKEY *key, const char *pass)
{
	int rc = ZTP_OK;
	BIO *bio = NULL;
	size_t passlen = 0;

	ZTP_ARG(out != NULL);
	*out = NULL;
	ZTP_ARG(key != NULL);
	if (pass != NULL) {
		passlen = strlen(pass);
		ZTP_ENSURE(passlen > 0 && passlen <= INT_MAX, ZTP_EINVAL,
			   "private key: empty passphrase");
	}
	bio = BIO_new(BIO_s_secmem());
	ZTP_ENSURE_OSSL(bio != NULL, ZTP_ENOMEM, "PEM: out of memory");
	ZTP_ENSURE_OSSL(PEM_write_bio_PKCS8PrivateKey(
			    bio, key, pass != NULL ? EVP_aes_256_cbc() : NULL,
			    /* OpenSSL only reads the passphrase. */
			    (char *)(uintptr_t)pass, (int)passlen, NULL,
			    NULL) == 1,
			ZTP_ECRYPTO, "private key: PEM encoding failed");
	ZTP_CHECK(bio_to_string(out, bio));
cleanup:
	BIO_free(bio);
	return rc;
}

/* ------------------------------------------------------------------
 * fingerprints */

/* SHA-256 of n bytes of DER from an i2d_* call (n <= 0: it failed), which
 * this frees. */
static int der_fingerprint(uint8_t out[32], unsigned char *der, int n,
			   const char *what)
{
	int rc = ZTP_OK;

	ZTP_ENSURE_OSSL(n > 0, ZTP_ECRYPTO, "%s: DER encoding failed", what);
	ZTP_CHECK(ztp__sha256(out, der, (size_t)n));
cleanup:
	OPENSSL_free(der);
	return rc;
}

int ztp__cert_fingerprint(uint8_t out[32], X509 *cert)
{
	unsigned char *der = NULL;
	int n;

	ZTP_ARG(out != NULL);
	ZTP_ARG(cert != NULL);
	n = i2d_X509(cert, &der);
	return der_fingerprint(out, der, n, "certificate");
}

int ztp__cert_serial_hex(char *out, size_t cap, X509 *cert)
{
	ZTP_ARG(cert != NULL);
	return ztp__serial_hex(out, cap, X509_get0_serialNumber(cert));
}

int ztp__serial_hex(char *out, size_t cap, const ASN1_INTEGER *serial)
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	const char *p;
	size_t i, n;
	int rc = ZTP_OK;

	ZTP_ARG(out != NULL && cap > 0);
	ZTP_ARG(serial != NULL);
	out[0] = '\0';
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	ZTP_ENSURE_OSSL(bn != NULL, ZTP_ENOMEM, "certificate serial");
	ZTP_ENSURE(!BN_is_negative(bn) && !BN_is_zero(bn), ZTP_EPROFILE,
		   "certificate serial is not positive");
	hex = BN_bn2hex(bn);
	ZTP_ENSURE_OSSL(hex != NULL, ZTP_ENOMEM, "certificate serial");
	/* BN_bn2hex writes whole octets: "0A1B" for 0xa1b. */
	for (p = hex; *p == '0'; p++)
		;
	n = strlen(p);
	ZTP_ENSURE(n < cap, ZTP_EPROFILE, "certificate serial too long");
	for (i = 0; i <= n; i++)
		out[i] = (char)((p[i] >= 'A' && p[i] <= 'F') ? p[i] - 'A' + 'a'
							     : p[i]);
cleanup:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int ztp__pubkey_fingerprint(uint8_t out[32], EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int n;

	ZTP_ARG(out != NULL);
	ZTP_ARG(key != NULL);
	n = i2d_PUBKEY(key, &der);
	return der_fingerprint(out, der, n, "public key");
}
