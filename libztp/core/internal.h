/*
 * libztp — private core helpers shared by every module. Never installed.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Error idiom (one per function):
 *
 *     int rc = ZTP_OK;
 *     ZTP_CHECK(ztp__something(...));               // propagate a code
 *     ZTP_ENSURE(len < max, ZTP_ETOOBIG, "csr: %zu bytes over %zu", len, max);
 *   cleanup:
 *     free what was allocated;
 *     return rc;
 *
 * Functions that fail set the thread's error detail (ztp__err) at the point
 * of failure; callers pass the code up unchanged rather than replacing it.
 */
#ifndef ZTP_CORE_INTERNAL_H
#define ZTP_CORE_INTERNAL_H

#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ztp/common.h>

#include "core/portable.h"

#if defined(__GNUC__)
#define ZTP__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ZTP__UNUSED __attribute__((unused))
#define ZTP__WARN_UNUSED __attribute__((warn_unused_result))
#else
#define ZTP__PRINTF(f, a)
#define ZTP__UNUSED
#define ZTP__WARN_UNUSED
#endif

#define ZTP__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ errors */

/* Set the calling thread's error detail; returns code so that
 * `return ztp__err(ZTP_EINVAL, "...")` reads naturally. */
int ztp__err(int code, const char *fmt, ...) ZTP__PRINTF(2, 3);
/* Same, appending the reason of the most recent OpenSSL error (if any) and
 * clearing OpenSSL's error queue. */
int ztp__err_ossl(int code, const char *fmt, ...) ZTP__PRINTF(2, 3);
/* Set a fixed detail msg (a string literal: it must stay valid and free of
 * control characters) without formatting. When the thread's detail is
 * already that one, nothing is written: a stream of identical refusals
 * costs a comparison each. */
int ztp__err_fixed(int code, const char *msg);

/* The calling thread's error detail, kept across calls that may replace it
 * without deciding anything (an audit-log append after the failure it
 * records), so that the caller still reads the failure's own detail. */
#define ZTP__ERRMSG_MAX 512
typedef struct ztp__err_saved {
	int code;
	char msg[ZTP__ERRMSG_MAX];
} ztp__err_saved;
void ztp__err_save(ztp__err_saved *s);
void ztp__err_restore(const ztp__err_saved *s);

/* rc = expr; on failure jump to cleanup. Requires `int rc` and `cleanup:`. */
#define ZTP_CHECK(expr)                                                        \
	do {                                                                   \
		rc = (expr);                                                   \
		if (rc < 0)                                                    \
			goto cleanup;                                          \
	} while (0)

/* If cond is false: set the error detail, rc = code, jump to cleanup. */
#define ZTP_ENSURE(cond, code, ...)                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			rc = ztp__err((code), __VA_ARGS__);                    \
			goto cleanup;                                          \
		}                                                              \
	} while (0)

/* Same, with OpenSSL's reason appended (for calls into libcrypto). */
#define ZTP_ENSURE_OSSL(cond, code, ...)                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			rc = ztp__err_ossl((code), __VA_ARGS__);               \
			goto cleanup;                                          \
		}                                                              \
	} while (0)

/* Argument check at a public entry point: returns ZTP_EINVAL naming it. */
#define ZTP_ARG(cond)                                                          \
	do {                                                                   \
		if (!(cond))                                                   \
			return ztp__err(ZTP_EINVAL,                            \
					"%s: invalid argument: %s", __func__,  \
					#cond);                                \
	} while (0)

/* ------------------------------------------------------------------ memory */

/* All library allocations go through these so that tests can make the N-th
 * allocation fail (see ztp__alloc_fail_at). On failure they set ZTP_ENOMEM
 * detail and return NULL. Memory is freed with free() / ztp_free(). */
void *ztp__malloc(size_t n);
void *ztp__calloc(size_t nmemb, size_t size);
void *ztp__realloc(void *p, size_t n);
char *ztp__strdup(const char *s);
char *ztp__strndup(const char *s, size_t n);
void *ztp__memdup(const void *p, size_t n);
/* Wipe then free (for secrets). Accepts NULL. */
void ztp__free_secret(void *p, size_t n);

/* Test hook: the n-th allocation from now (1-based) and every later one
 * fail; n = 0 disables. Also routes OpenSSL's allocator through the same
 * counter when installed with ztp__alloc_hook_openssl() before any other
 * OpenSSL use. Returns the number of allocations made since the last call. */
long ztp__alloc_fail_at(long n);
int ztp__alloc_hook_openssl(void);

/* Length-tracked byte buffer for untrusted data: the type is in
 * core/portable.h. */
int ztp__buf_append(ztp__buf *b, const void *p, size_t n);
int ztp__buf_append_str(ztp__buf *b, const char *s);
int ztp__buf_append_byte(ztp__buf *b, uint8_t c);
/* Make data NUL-terminated (not counted in len). */
int ztp__buf_terminate(ztp__buf *b);
/* Hand the bytes to the caller (ztp_free) and reset b. */
uint8_t *ztp__buf_steal(ztp__buf *b, size_t *len);
void ztp__buf_free(ztp__buf *b);
void ztp__buf_free_secret(ztp__buf *b);

/* ------------------------------------------------------------------ audit */

/* The audit chain (core/audit.c, doc/AUDIT.md). Event seq's hash is
 *   SHA-256("ZTP-AUDIT-EVENT-V1" 0x00 || prev || u64be(seq) || i64be(at)
 *           || u32be(len) || json)
 * with prev the hash of event seq - 1, ztp__audit_genesis (32 zero bytes)
 * before the first; a checkpoint signs
 *   "ZTP-AUDIT-CHECKPOINT-V1" 0x00 || u64be(seq) || head || i64be(at). */
#define ZTP__AUDIT_HASH_LEN 32
extern const uint8_t ztp__audit_genesis[ZTP__AUDIT_HASH_LEN];
int ztp__audit_hash(uint8_t out[ZTP__AUDIT_HASH_LEN],
		    const uint8_t prev[ZTP__AUDIT_HASH_LEN], int64_t seq,
		    int64_t at, const char *json, size_t len);
/* Append the message a checkpoint's signature covers. */
int ztp__audit_checkpoint_msg(ztp__buf *out, int64_t seq,
			      const uint8_t head[ZTP__AUDIT_HASH_LEN],
			      int64_t at);

/* ------------------------------------------------------------------ init */

int ztp__ensure_init(void);

/* ------------------------------------------------------------------ clock,
 * events */

typedef struct ztp__clock {
	ztp_clock_fn fn; /* NULL: system clock */
	void *ctx;
} ztp__clock;

int64_t ztp__now(const ztp__clock *c);

/* ------------------------------------------------------------------ token
 * buckets */

/* A token bucket's state: tokens left at time last (bucket.c). */
typedef struct ztp__bucket {
	double tokens;
	int64_t last;
} ztp__bucket;

/* Take one token at time now from b, refilled at rate tokens per second
 * (> 0) up to burst (>= 1); fresh: b was never used and starts full.
 * ZTP_OK: b is the state to keep. ZTP_ERATELIMIT (no error detail set):
 * the bucket is empty, *retry_after is 1..86400 s, and b is merely
 * refilled, equivalent to what it was (it need not be written back). */
int ztp__bucket_take(ztp__bucket *b, bool fresh, double rate, double burst,
		     int64_t now, int64_t *retry_after);
/* When b will be full again: from then on it is the same as a bucket
 * never used, and may be forgotten. */
int64_t ztp__bucket_full_at(const ztp__bucket *b, double rate, double burst);

typedef struct ztp__events {
	ztp_event_fn fn; /* NULL: no callback */
	void *ctx;
} ztp__events;

/* Serialise ev and hand it to the callback (if any). Never fails loudly:
 * an event that cannot be serialised is dropped. Does not take ownership. */
void ztp__event_emit(const ztp__events *e, json_object *ev);

/* ------------------------------------------------------------------
 * identifiers */

/* Same grammar as ztp_id_validate, with a label for the error message. */
int ztp__id_check(const char *id, size_t len, const char *what);
/* A device-ID pattern of an enrollment group: 1..ZTP_ID_MAX characters
 * of the identifier grammar's second class and the wildcards '*' (any
 * run, also empty) and '?' (one character). */
int ztp__id_pattern_check(const char *pattern, size_t len, const char *what);
/* Whether the identifier id matches pattern (both NUL-terminated and
 * checked). Linear in their lengths times the number of '*'. */
bool ztp__id_pattern_match(const char *pattern, const char *id);
/* ztp__id_len(), the character classes: core/portable.h. */

/* ------------------------------------------------------------------ strict
 * JSON */

#define ZTP_JSON_MAX_DEPTH 16

/* Parse untrusted JSON strictly: len <= max_bytes checked before parsing,
 * nesting <= max_depth (<= ZTP_JSON_MAX_DEPTH), exactly one value with only
 * whitespace around it, valid UTF-8 (no overlongs, surrogates or > U+10FFFF),
 * no \u0000 in strings, no duplicate keys in any object, RFC 8259 grammar
 * (no comments, no trailing commas, no NaN/Infinity, no leading zeros).
 * On success *out is a new reference the caller puts (NULL for a document
 * that is just `null`: callers check the type they expect). */
int ztp__json_parse(json_object **out, const char *buf, size_t len,
		    size_t max_bytes, int max_depth);

/* Closed schema: every key of obj must be in the NULL-terminated list.
 * what: label for the error ("bootstrap request"). */
int ztp__json_only_keys(json_object *obj, const char *const *allowed,
			const char *what);

/* Typed getters. A missing key gives ZTP_EPARSE if required, else ZTP_OK with
 * the output untouched (strings: *out = NULL). A present key of the wrong
 * type gives ZTP_EPARSE. Strings are borrowed from obj; len excludes NUL and
 * is checked against maxlen (ZTP_ETOOBIG). Embedded NULs are impossible after
 * ztp__json_parse. */
int ztp__json_str(json_object *obj, const char *key, bool required,
		  size_t maxlen, const char **out, size_t *outlen);
int ztp__json_int(json_object *obj, const char *key, bool required, int64_t min,
		  int64_t max, int64_t *out);
int ztp__json_bool(json_object *obj, const char *key, bool required, bool *out);
/* Array of at most maxn elements; borrowed. */
int ztp__json_array(json_object *obj, const char *key, bool required,
		    size_t maxn, json_object **out);
int ztp__json_object(json_object *obj, const char *key, bool required,
		     json_object **out);

/* Serialise (compact, no escaped slashes) into a ztp_free-able string. */
int ztp__json_dump(char **out, json_object *obj);
/* json_object_object_add that reports ENOMEM; takes ownership of val even on
 * failure. */
int ztp__json_add(json_object *obj, const char *key, json_object *val);
int ztp__json_add_str(json_object *obj, const char *key, const char *val);
int ztp__json_add_int(json_object *obj, const char *key, int64_t val);

/* ------------------------------------------------------------------ encodings
 */

/* Standard base64 with padding; decoding is strict (no whitespace, no
 * missing padding, canonical trailing bits). Output freed with ztp_free. */
int ztp__b64_encode(char **out, const uint8_t *in, size_t len);
int ztp__b64_decode(uint8_t **out, size_t *outlen, const char *in, size_t len);
/* Lowercase hex; out must hold 2*len+1 bytes. */
void ztp__hex_encode(char *out, const uint8_t *in, size_t len);
/* Strict hex (even length, [0-9a-fA-F]) into out (cap bytes). */
int ztp__hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in,
		    size_t len);
/* ztp__hex_value(): core/portable.h. */

int ztp__sha256(uint8_t out[32], const void *in, size_t len);

/* ------------------------------------------------------------------ PEM / DER
 */

#define ZTP_PEM_MAX (64 * 1024) /* one PEM object */
#define ZTP_CHAIN_MAX 8		/* certificates in a chain / bundle */

/* Exactly one PEM block of the given kind with nothing but whitespace before
 * or after it (ZTP_EPARSE otherwise, ZTP_ETOOBIG over ZTP_PEM_MAX). */
int ztp__pem_cert(X509 **out, const char *pem, size_t len);
int ztp__pem_csr(X509_REQ **out, const char *pem, size_t len);
/* The DER inside one PEM CSR block, framed as ztp__pem_csr() requires
 * (which decodes it); *der freed with ztp_free. */
int ztp__pem_csr_der(uint8_t **der, size_t *derlen, const char *pem,
		     size_t len);
/* A private key (PKCS#8, possibly encrypted with pass; traditional EC/RSA). */
int ztp__pem_privkey(EVP_PKEY **out, const char *pem, size_t len,
		     const char *pass);
/* 1..max certificates, only whitespace between/around them. */
int ztp__pem_certs(STACK_OF(X509) * *out, const char *pem, size_t len,
		   size_t max);
/* DER certificate with no trailing bytes. */
int ztp__der_cert(X509 **out, const uint8_t *der, size_t len);

/* Encoders; output NUL-terminated, freed with ztp_free. */
int ztp__cert_to_pem(char **out, X509 *cert);
int ztp__csr_to_pem(char **out, X509_REQ *csr);
/* PKCS#8 PEM, unencrypted when pass is NULL, else encrypted with AES-256-CBC
 * under pass. The buffer holds a secret: free with
 * ztp__free_secret(out, strlen(out)). */
int ztp__privkey_to_pem(char **out, EVP_PKEY *key, const char *pass);

/* SHA-256 of the certificate's DER. */
int ztp__cert_fingerprint(uint8_t out[32], X509 *cert);
/* The certificate's serial number in the one form the registry, the CA and
 * the device status use: lowercase hex without leading zeros. out holds
 * cap bytes; ZTP_EPROFILE when the serial is not positive or needs more
 * than cap - 1 digits. */
int ztp__cert_serial_hex(char *out, size_t cap, X509 *cert);
/* The same for a serial number by itself (an OCSP CertID's). */
int ztp__serial_hex(char *out, size_t cap, const ASN1_INTEGER *serial);
/* SHA-256 of the DER SubjectPublicKeyInfo. */
int ztp__pubkey_fingerprint(uint8_t out[32], EVP_PKEY *key);

/* ------------------------------------------------------------------ files */

/* Read a whole regular file of at most max bytes (ZTP_ETOOBIG beyond);
 * *out is NUL-terminated and freed with ztp_free. */
int ztp__file_read(char **out, size_t *outlen, const char *path, size_t max);
/* Atomically replace path: write a temporary in the same directory with
 * mode, fsync it, rename over path, fsync the directory. _ex takes the
 * flags of ztp_file_write_atomic() (ZTP_FILE_EXCLUSIVE: link, never
 * replace), which is the public face of the same function. */
int ztp__file_write_atomic(const char *path, const void *data, size_t len,
			   mode_t mode);
int ztp__file_write_atomic_ex(const char *path, const void *data, size_t len,
			      mode_t mode, unsigned int flags);
/* A new file at path for a stream of secrets (claim codes): created with
 * O_EXCL and O_NOFOLLOW (ZTP_EEXISTS if anything is there, a symlink
 * included), with mode whatever the umask, and its directory fsynced so
 * that the name is durable. *fd is the caller's to close. */
int ztp__file_create_exclusive(int *fd, const char *path, mode_t mode);
/* Append len bytes to fd and fsync it: on ZTP_OK they are on disk. */
int ztp__file_append_sync(int fd, const void *data, size_t len,
			  const char *path);
/* Bulk inputs (lines.c). Read one line of at most cap - 1 bytes into buf,
 * NUL-terminated: *len is its length without the newline (and a CR before
 * it); *over is set for a longer line, whose rest is read and dropped (so
 * memory stays bounded); *nul for a line holding a NUL byte. false at the
 * end of the input. */
bool ztp__line_read(FILE *f, char *buf, size_t cap, size_t *len, bool *over,
		    bool *nul);
/* Append {"line","device_id" (null when ""/NULL),"code","message"} to the
 * JSON array list, unless it holds ZTP_BULK_REFUSALS_MAX already. */
int ztp__line_refusal(json_object *list, uint64_t line, const char *device_id,
		      int code, const char *message);

/* The directory part of path, against which names in a file at path are
 * resolved: NULL when path has no slash (they stay relative to the working
 * directory), "/" for a file in the root. Freed with ztp_free. */
int ztp__path_dir(char **out, const char *path);
/* name resolved against dir: name itself when it is absolute or dir is
 * NULL, else dir "/" name. Freed with ztp_free. */
int ztp__path_join(char **out, const char *dir, const char *name);

/* ------------------------------------------------------------------ keys,
 * signatures */

/* Key types by name: "ec-p256", "ec-p384", "ed25519", "rsa-2048",
 * "rsa-3072", "rsa-4096". */
int ztp__key_generate(EVP_PKEY **out, const char *type);
/* Describe a public key as the same names ("rsa-2048" for any RSA key uses
 * its real size, e.g. "rsa-1024"); ZTP_EUNSUPPORTED for other kinds. */
int ztp__key_describe(char *out, size_t cap, EVP_PKEY *key);

/* Key policy: which CSR/factory key types are acceptable. */
typedef struct ztp__keypolicy {
	bool ec_p256, ec_p384, ed25519;
	int rsa_min_bits; /* 0: RSA refused */
	int rsa_max_bits;
} ztp__keypolicy;

/* Default: P-256, P-384, Ed25519, RSA 2048..8192. */
void ztp__keypolicy_default(ztp__keypolicy *p);
/* Parse "ec-p256,ec-p384,ed25519,rsa-2048" (rsa-N: minimum bits N). */
int ztp__keypolicy_parse(ztp__keypolicy *p, const char *spec);
/* ZTP_EKEYPOLICY with a detail naming the key when refused. */
int ztp__keypolicy_check(const ztp__keypolicy *p, EVP_PKEY *key);

typedef enum ztp__sigalg {
	ZTP__SIG_ECDSA_SHA256 = 1, /* DER-encoded ECDSA-Sig-Value */
	ZTP__SIG_ECDSA_SHA384,
	ZTP__SIG_ED25519,
	ZTP__SIG_RSA_PSS_SHA256, /* MGF1-SHA256, salt length 32 */
	ZTP__SIG_RSA_PKCS1_SHA256
} ztp__sigalg;

/* The transcript algorithm that follows a key (DESIGN.md §4): P-256 →
 * ECDSA-SHA256, P-384 → ECDSA-SHA384, Ed25519, RSA → RSA-PSS-SHA256. */
int ztp__sigalg_for_key(ztp__sigalg *out, EVP_PKEY *key);
int ztp__sig_sign(uint8_t **sig, size_t *siglen, EVP_PKEY *key, ztp__sigalg alg,
		  const uint8_t *msg, size_t msglen);
/* Whether two public keys are the same key (EC points compared as points,
 * whatever their encoding). An OpenSSL failure during the comparison is an
 * error (ZTP_ENOMEM / ZTP_ECRYPTO), never read as "different". */
int ztp__pubkey_same(bool *same, EVP_PKEY *a, EVP_PKEY *b);
/* ZTP_OK if valid, ZTP_EBADSIG if not (including a key/alg mismatch),
 * other codes on internal failure. */
int ztp__sig_verify(EVP_PKEY *key, ztp__sigalg alg, const uint8_t *msg,
		    size_t msglen, const uint8_t *sig, size_t siglen);

/* ------------------------------------------------------------------
 * certificate names */

/*
 * The identity a certificate names: the one rule that the verifier, the
 * policy engine (and through it the broker plugin) and the device apply
 * (PROTOCOL.md §5).
 *
 * - The device ID is the subject's CN: exactly one, read with its explicit
 *   length, in the identifier grammar (otherwise ZTP_EPROFILE).
 * - A SAN URI urn:ztp:device:<id> (the prefix compared without case), if
 *   present, must be the only one and equal the CN (ZTP_EMISMATCH);
 *   ZTP__IDENT_SAN_REQUIRED makes it mandatory (ZTP_EPROFILE without it),
 *   as for certificates libztp's CA issued.
 * - The tenant, when ten is not NULL, is the single SAN URI
 *   urn:ztp:tenant:<id>, or "" if there is none (several or a malformed one:
 *   ZTP_EPROFILE).
 *
 * dev and ten hold ZTP_ID_MAX+1 bytes; both are "" on failure.
 */
#define ZTP__IDENT_SAN_REQUIRED 1u
int ztp__cert_identity(char dev[ZTP_ID_MAX + 1], char ten[ZTP_ID_MAX + 1],
		       X509 *cert, unsigned flags);
/* ztp__cert_identity(out, NULL, cert, 0): the device ID alone. */
int ztp__cert_device_id(char out[ZTP_ID_MAX + 1], X509 *cert);
/* The value of the single SAN URI with the given prefix
 * ("urn:ztp:device:" / "urn:ztp:tenant:"): ZTP_ENOTFOUND if none,
 * ZTP_EPROFILE if several or malformed (grammar checked). */
int ztp__cert_san_id(char out[ZTP_ID_MAX + 1], X509 *cert, const char *prefix);

#define ZTP_URN_DEVICE "urn:ztp:device:"
#define ZTP_URN_TENANT "urn:ztp:tenant:"

/* RFC 3339 UTC ("2026-11-27T22:31:00Z") for t; out holds 21+ bytes. */
void ztp__time_rfc3339(char out[32], int64_t t);
/* Parse RFC 3339 with 'Z' or numeric offset. */
int ztp__time_parse(int64_t *out, const char *s);
/* ASN1_TIME → seconds since the epoch. */
int ztp__asn1_time(int64_t *out, const ASN1_TIME *t);

/* ------------------------------------------------------------------ TPM 2.0
 * keys (keytpm2.c) */

/* The key at the persistent handle named by src, "tpm2:handle=0x81XXXXXX",
 * through the tpm2-openssl provider: an EC P-256/P-384 key whose
 * signatures the TPM makes (the private key never leaves it). The TPM is
 * the provider's TCTI (TPM2OPENSSL_TCTI, else /dev/tpmrm0 ...). Errors:
 * ZTP_EINVAL (malformed source), ZTP_EUNSUPPORTED (no provider or TPM;
 * not an EC P-256/P-384 key), ZTP_ENOTFOUND (no key at the handle),
 * ZTP_ENOMEM, ZTP_ECRYPTO. Free with EVP_PKEY_free(). */
int ztp__tpm2_key_load(EVP_PKEY **out, const char *src);

#endif /* ZTP_CORE_INTERNAL_H */
