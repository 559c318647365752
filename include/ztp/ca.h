/*
 * libztp — certificate authority API.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_CA_H
#define ZTP_CA_H

/**
 * @file ca.h
 * @brief Create root, intermediate and issuing CAs; issue device
 * certificates from CSRs under a profile and TLS server certificates for
 * the deployment's hosts; revoke; produce signed CRLs.
 *
 * A ::ztp_ca handle holds one CA certificate and its private key (loaded
 * with ztp_ca_load() or ztp_ca_load_files()), optionally the chain above it,
 * a registry store (ztp_ca_set_store()), a key policy for CSR keys
 * (ztp_ca_set_key_policy()) and a clock (ztp_ca_set_clock()).
 *
 * **Names.** Certificates the CA issues to devices never copy anything from
 * the CSR but its public key: the subject is `CN=<device_id>` and the
 * subject alternative name holds the URI `urn:ztp:device:<device_id>` and,
 * when a tenant is given, `urn:ztp:tenant:<tenant>`. Identifiers follow
 * ztp_id_validate().
 *
 * **Distinguished names** of CA certificates are written in either of two
 * forms, told apart by the first character:
 * - the slash form also used by `openssl req -subj`, most general first,
 *   in the order of the DER encoding: `/C=DE/O=Acme/CN=Acme Root`. `\`
 *   escapes a literal `/` or `\` and no other character.
 * - the RFC 4514 string form that `openssl x509 -nameopt RFC2253` and
 *   Python's `Name.rfc4514_string()` print (and Go's `pkix.Name.String()`,
 *   which puts the attributes in an order of its own): most specific
 *   FIRST, the reverse of the DER order, so `CN=Acme Root,O=Acme,C=DE` is
 *   the same name, to the byte, as the slash form above. RDNs are
 *   separated by `,`, the attributes of a multi-valued RDN by `+`
 *   (`CN=Acme Root+OU=PKI,O=Acme`). In a value, `\` escapes one of
 *   `\ , + " < > ; = #` and space, or starts a pair of hex digits that
 *   stands for one byte of the value's UTF-8 (`\C3\A9` is U+00E9);
 *   `, + " \ < > ;` must be escaped, as must a `#` or space at the start
 *   of a value and a space at its end. Types are case-insensitive here. Values
 *   in the `#hex` BER form and numeric attribute types (`2.5.4.3`) are
 *   refused; there are no spaces around `,`, `+` or `=`.
 *
 * In both, every attribute is `TYPE=VALUE` with TYPE one of `CN`, `O`,
 * `OU`, `C`, `ST`, `L`, `DC`, `serialNumber` (case-sensitive in the slash
 * form); VALUE is, once unescaped, 1 to 64 bytes of UTF-8 without control
 * characters; `C` is two uppercase ASCII letters; `CN` appears at most
 * once, and a type at most once in one RDN. The whole DN is at most 1024
 * bytes (#ZTP_ETOOBIG). Anything else is refused with #ZTP_EINVAL and a
 * message naming the problem and its offset.
 *
 * **Key sources.** A CA's private key may live in a PEM file or in a
 * PKCS#11 token: wherever a key is named (the key_path of
 * ztp_ca_load_files(), the key_pem of ztp_ca_load(), the key_source of
 * ztp_ca_create_root_key() and ztp_ca_create_sub_key()) a `pkcs11:` URI
 * (RFC 7512: `token`, `object`, `id`, `type`; `pin-source`, `pin-value`,
 * `module-path`) may stand instead, and every signature (certificates,
 * CRLs) is then made by the token: the key never leaves it. The PIN is the
 * URI's, else the passphrase argument. Token keys add the codes
 * #ZTP_ETOKEN (module missing or not loadable, no such token, token
 * removed or failed: also at issuance, when nothing is issued) and
 * #ZTP_EPIN (PIN refused), and #ZTP_ENOTFOUND for no such key object.
 * doc/HSM.md describes URIs, modules and sessions.
 *
 * **Key types** are named `ec-p256` (the default), `ec-p384`, `ed25519`,
 * `rsa-3072` and `rsa-4096` for CA keys (a token can hold all but
 * `ed25519`). The signature algorithm follows the
 * issuer's key: ECDSA with SHA-256 for P-256, ECDSA with SHA-384 for P-384,
 * pure Ed25519, RSA PKCS#1 v1.5 with SHA-256.
 *
 * **Durability.** Every certificate issued by ztp_ca_issue() or
 * ztp_ca_issue_server() is recorded in the store (ztp_store_cert_add())
 * before it is returned; when recording fails nothing is returned. Serial
 * numbers are 135-bit positive random integers; a serial that the store
 * already knows is replaced by a fresh one a bounded number of times.
 *
 * **Thread safety.** Configure a handle (load, store, key policy, clock)
 * from one thread. Once configured, ztp_ca_issue(), ztp_ca_issue_ex(),
 * ztp_ca_issue_server(), ztp_ca_revoke(), ztp_ca_crl(), ztp_ca_create_sub(),
 * ztp_ca_create_sub_key(), ztp_ca_cert_pem() and ztp_ca_chain_pem() may be
 * called from many threads at once: they only read the handle. The
 * configuration calls must not run concurrently with any other call on the same
 * handle. With a token key, concurrent signatures each borrow a session of the
 * token (libp11's per-slot session pool); beyond the token's session limit they
 * wait.
 */

#include <stddef.h>
#include <stdint.h>

#include <ztp/common.h>
#include <ztp/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque certificate authority handle. @since 0.1.0 */
typedef struct ztp_ca ztp_ca;

/**
 * Issuance profiles, passed by name to ztp_ca_issue().
 * - `factory`: a device's manufacturing certificate; default and maximum
 *   lifetime 30 years (clamped to the CA's own validity); no tenant.
 *   Recorded in the store without a device (ztp_store_cert_add() with
 *   device_id NULL): the device is registered afterwards, with this
 *   certificate's fingerprint.
 * - `bootstrap`: short-lived; default and maximum lifetime 24 hours.
 * - `operational`: long-lived; default 365 days, maximum 3650 days.
 *
 * `bootstrap` and `operational` certificates are recorded under their
 * device, which must be registered in the store (#ZTP_ENOTFOUND otherwise).
 *
 * - `server`: a TLS server certificate for the hosts of the deployment
 *   (the verifier's HTTPS endpoint, a broker), issued by
 *   ztp_ca_issue_server() only; default lifetime
 *   #ZTP_CA_SERVER_DAYS_DEFAULT days, at most #ZTP_CA_SERVER_DAYS_MAX.
 *   Recorded without a device.
 * - `ocsp`: a delegated OCSP responder's signing certificate (RFC 6960
 *   4.2.2.2), issued by ztp_ca_issue_ocsp() only: subject
 *   `CN=OCSP Responder`, no subject alternative name, extendedKeyUsage
 *   id-kp-OCSPSigning and the id-pkix-ocsp-nocheck extension; default
 *   lifetime #ZTP_CA_OCSP_DAYS_DEFAULT days, at most
 *   #ZTP_CA_OCSP_DAYS_MAX. Recorded without a device.
 *
 * The device profiles produce the same extensions: critical
 * basicConstraints CA:FALSE; critical keyUsage digitalSignature (plus
 * keyEncipherment for RSA keys); extendedKeyUsage clientAuth; subject and
 * authority key identifiers; the subject alternative name described above.
 * `server` differs only in extendedKeyUsage serverAuth and in its names
 * (see ztp_ca_issue_server()).
 * @since 0.1.0
 */
#define ZTP_CA_PROFILE_FACTORY "factory"
/** @copydoc ZTP_CA_PROFILE_FACTORY */
#define ZTP_CA_PROFILE_BOOTSTRAP "bootstrap"
/** @copydoc ZTP_CA_PROFILE_FACTORY */
#define ZTP_CA_PROFILE_OPERATIONAL "operational"
/** @copydoc ZTP_CA_PROFILE_FACTORY */
#define ZTP_CA_PROFILE_SERVER "server"
/** @copydoc ZTP_CA_PROFILE_FACTORY */
#define ZTP_CA_PROFILE_OCSP "ocsp"
/** Profile name under which CA certificates are recorded. @since 0.1.0 */
#define ZTP_CA_PROFILE_CA "ca"

/**
 * Longest lifetime of a `server` certificate, in days: 398, the limit the
 * CA/Browser Forum's Baseline Requirements and the major TLS clients set
 * for publicly trusted server certificates since 2020, kept here so that a
 * deployment's own certificates are rotated as often.
 * @since 0.1.0
 */
#define ZTP_CA_SERVER_DAYS_MAX 398
/**
 * Default lifetime of a `server` certificate, in days: 90, short enough
 * that renewal is a routine the deployment automates, long enough to
 * survive a missed run.
 * @since 0.1.0
 */
#define ZTP_CA_SERVER_DAYS_DEFAULT 90
/**
 * Most names (DNS names and IP addresses together) one `server`
 * certificate carries.
 * @since 0.1.0
 */
#define ZTP_CA_SERVER_NAMES_MAX 32

/**
 * Flag of ztp_ca_create_root_key() and ztp_ca_create_sub_key(): generate
 * the CA's key pair in the token the `pkcs11:` key source names (private
 * key sensitive, never extractable, signing only), instead of using a key
 * pair already there.
 * @since 0.1.0
 */
#define ZTP_CA_KEY_CREATE 1u

/**
 * Longest serial number, in hexadecimal digits, that the library produces
 * or accepts (RFC 5280 limits serials to 20 octets).
 * @since 0.1.0
 */
#define ZTP_CA_SERIAL_HEX_MAX 40

/**
 * RFC 5280 CRLReason codes accepted by ztp_ca_revoke(). Code 7 is unused
 * in RFC 5280 and removeFromCRL (8) only has a meaning in delta CRLs,
 * which this library does not produce; both are refused.
 * @since 0.1.0
 */
typedef enum ztp_ca_reason {
	ZTP_CA_REASON_UNSPECIFIED = 0,
	ZTP_CA_REASON_KEY_COMPROMISE = 1,
	ZTP_CA_REASON_CA_COMPROMISE = 2,
	ZTP_CA_REASON_AFFILIATION_CHANGED = 3,
	ZTP_CA_REASON_SUPERSEDED = 4,
	ZTP_CA_REASON_CESSATION_OF_OPERATION = 5,
	ZTP_CA_REASON_CERTIFICATE_HOLD = 6,
	ZTP_CA_REASON_PRIVILEGE_WITHDRAWN = 9,
	ZTP_CA_REASON_AA_COMPROMISE = 10
} ztp_ca_reason;

/**
 * Look up a revocation reason by its RFC 5280 name (`unspecified`,
 * `keyCompromise`, `cACompromise`, `affiliationChanged`, `superseded`,
 * `cessationOfOperation`, `certificateHold`, `privilegeWithdrawn`,
 * `aACompromise`; case-sensitive).
 * @param[out] out  the ::ztp_ca_reason code
 * @param name      borrowed for the call
 * @return #ZTP_OK or #ZTP_EINVAL (unknown name).
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_reason_from_name(int *out, const char *name);

/**
 * RFC 5280 name of a revocation reason.
 * @param reason a ::ztp_ca_reason code
 * @return a static string, or NULL for a code that ztp_ca_revoke() refuses.
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_ca_reason_name(int reason);

/**
 * Create an empty CA handle, to be loaded with ztp_ca_load() or
 * ztp_ca_load_files(). The key policy starts at the library default
 * (P-256, P-384, Ed25519, RSA of at least 2048 bits) and the clock at the
 * system clock.
 * @param[out] out the new handle, freed with ztp_ca_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM, #ZTP_ECRYPTO.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_new(ztp_ca **out);

/**
 * Free a CA handle and wipe its private key. Accepts NULL. Does not free
 * the store set with ztp_ca_set_store().
 * @param ca the handle, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_ca_free(ztp_ca *ca);

/**
 * Load the CA certificate, its private key and optionally the chain above
 * it from PEM text.
 *
 * The certificate must be a CA certificate (basicConstraints CA:TRUE) that
 * may sign certificates (keyUsage keyCertSign when keyUsage is present),
 * the key must match it, and its key type must be one of the CA key types
 * listed in the file description (RSA of at least 2048 bits is accepted for
 * a loaded CA). Each chain certificate must have issued the one before it
 * (the CA certificate first); the chain is only handed out by
 * ztp_ca_chain_pem() and never used as a trust anchor.
 *
 * @param ca          an empty handle (#ZTP_ESTATE if already loaded)
 * @param cert_pem    exactly one PEM certificate, NUL-terminated; borrowed
 * @param key_pem     one PEM private key (PKCS#8, encrypted PKCS#8 or
 *                    traditional), or a `pkcs11:` URI naming a key in a
 *                    token, NUL-terminated; borrowed
 * @param chain_pem   1 to 8 PEM certificates, issuer of cert_pem first, or
 *                    NULL for none; borrowed
 * @param passphrase  for an encrypted key, the PIN of a token key whose URI
 *                    has none, or NULL; borrowed
 * @return #ZTP_OK, #ZTP_EINVAL (also: an encrypted key without a
 *         passphrase), #ZTP_ESTATE, #ZTP_EPARSE (malformed PEM or URI),
 *         #ZTP_ETOOBIG, #ZTP_ECRYPTO (wrong passphrase, OpenSSL failure),
 *         #ZTP_EPROFILE (not a CA certificate; a subject key identifier
 *         over 64 octets, which the store cannot name), #ZTP_EMISMATCH (key
 * does not match certificate), #ZTP_EKEYPOLICY (unsupported CA key),
 *         #ZTP_EUNTRUSTED (chain does not link up), #ZTP_ENOMEM; for a
 *         token key also #ZTP_ENOTFOUND (no such key object),
 *         #ZTP_ETOKEN, #ZTP_EPIN, #ZTP_EUNSUPPORTED.
 * @par Thread safety: configuration call (see file description).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_load(ztp_ca *ca, const char *cert_pem,
			   const char *key_pem, const char *chain_pem,
			   const char *passphrase);

/**
 * Same as ztp_ca_load(), reading the PEM text from files (each at most
 * 1 MiB).
 * @param ca          an empty handle (#ZTP_ESTATE if already loaded)
 * @param cert_path   file holding exactly one PEM certificate; borrowed for
 *                    the call
 * @param key_path    file holding one PEM private key (a path or
 *                    `file:PATH`, at most 64 KiB), or a `pkcs11:` URI;
 *                    borrowed for the call
 * @param chain_path  file holding the chain, or NULL for no chain; borrowed
 *                    for the call
 * @param passphrase  for an encrypted key, or NULL; borrowed for the call
 * @return as ztp_ca_load(), plus #ZTP_ENOTFOUND (no such file) and
 *         #ZTP_EIO (a file cannot be read).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_load_files(ztp_ca *ca, const char *cert_path,
				 const char *key_path, const char *chain_path,
				 const char *passphrase);

/**
 * Set the registry store in which issuances and revocations are recorded.
 * @param ca    the handle
 * @param store borrowed: it must outlive the handle; NULL unsets it
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_set_store(ztp_ca *ca, ztp_store *store);

/**
 * Set which CSR key types the CA accepts, as a comma-separated list of
 * `ec-p256`, `ec-p384`, `ed25519` and `rsa-N` (RSA of at least N bits,
 * N >= 2048). The default is `ec-p256,ec-p384,ed25519,rsa-2048`. Keys
 * refused by the policy make ztp_ca_issue() fail with #ZTP_EKEYPOLICY.
 * @param ca   the handle
 * @param spec borrowed for the call
 * @return #ZTP_OK or #ZTP_EINVAL (malformed list; the policy is unchanged).
 * @par Thread safety: configuration call.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_set_key_policy(ztp_ca *ca, const char *spec);

/**
 * Replace the clock used for validity periods, revocation times and CRL
 * update times.
 * @param ca   the handle
 * @param fn   the clock, or NULL for the system clock
 * @param ctx  passed to fn; borrowed, must outlive the handle
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @par Thread safety: configuration call; fn itself must be safe to call
 *      from several threads when the handle is shared.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_set_clock(ztp_ca *ca, ztp_clock_fn fn, void *ctx);

/**
 * Create a self-signed root CA: a fresh key, critical basicConstraints
 * CA:TRUE without a path length, critical keyUsage keyCertSign and
 * cRLSign, subject and authority key identifiers, a random serial,
 * notBefore one minute before now (system clock).
 * @param[out] cert_pem  PEM certificate, freed with ztp_free()
 * @param[out] key_pem   unencrypted PKCS#8 PEM private key, freed with
 *                       ztp_free() (wipe it first: it is a secret)
 * @param subject_dn     DN in slash or RFC 4514 form (see the file
 *                       description); borrowed for the call
 * @param key_type       CA key type, or NULL for `ec-p256`
 * @param days           validity in days, 1..36500
 * @return #ZTP_OK, #ZTP_EINVAL (also: a malformed DN), #ZTP_ETOOBIG (a DN
 *         over 1024 bytes), #ZTP_EKEYPOLICY (key type not allowed for a
 *         CA), #ZTP_ENOMEM, #ZTP_ECRYPTO.
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_create_root(char **cert_pem, char **key_pem,
				  const char *subject_dn, const char *key_type,
				  int days);

/**
 * Create a subordinate (intermediate or issuing) CA signed by issuer, with
 * a fresh key and the same extensions as a root plus an optional path
 * length constraint. notAfter is clamped to the issuer's notAfter. When the
 * issuer has a store, the certificate is recorded in it (profile `ca`, no
 * device) before it is returned.
 * @param issuer         a loaded CA handle; its clock is used
 * @param[out] cert_pem  PEM certificate, freed with ztp_free()
 * @param[out] key_pem   unencrypted PKCS#8 PEM private key, freed with
 *                       ztp_free() (wipe it first)
 * @param subject_dn     DN in slash or RFC 4514 form; borrowed for the call
 * @param key_type       CA key type, or NULL for `ec-p256`
 * @param days           validity in days, 1..36500
 * @param pathlen        0..16, or -1 for no constraint; when the issuer
 *                       has a path length P, pathlen must be 0..P-1
 * @return #ZTP_OK, #ZTP_EINVAL (also: a malformed DN), #ZTP_ETOOBIG (a DN
 *         over 1024 bytes), #ZTP_ESTATE (issuer not loaded),
 *         #ZTP_EPROFILE (the issuer's path length forbids it),
 *         #ZTP_EEXPIRED (issuer outside its validity), #ZTP_EKEYPOLICY,
 *         store errors, #ZTP_ENOMEM, #ZTP_ECRYPTO.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_create_sub(ztp_ca *issuer, char **cert_pem,
				 char **key_pem, const char *subject_dn,
				 const char *key_type, int days, int pathlen);

/**
 * Same as ztp_ca_create_root(), with a key the caller names rather than a
 * fresh key handed back: a key pair in a PKCS#11 token (`pkcs11:` URI),
 * generated there with #ZTP_CA_KEY_CREATE, or an existing PEM key file.
 * No private key is returned; load the new CA with ztp_ca_load_files()
 * giving the same key_source.
 * @param[out] cert_pem  PEM certificate, freed with ztp_free()
 * @param key_source     `pkcs11:` URI, `file:PATH` or a path; borrowed
 * @param passphrase     the token's PIN when the URI has none, or the PEM
 *                       file's passphrase; NULL for none; borrowed
 * @param flags          0 (use the existing key) or #ZTP_CA_KEY_CREATE
 *                       (`pkcs11:` only)
 * @param subject_dn     as for ztp_ca_create_root(); borrowed
 * @param key_type       with #ZTP_CA_KEY_CREATE the type to generate (NULL:
 *                       `ec-p256`; not `ed25519`); else NULL, or the type
 *                       the existing key must have
 * @param days           validity in days, 1..36500
 * @return as ztp_ca_create_root(), plus #ZTP_EEXISTS (#ZTP_CA_KEY_CREATE:
 *         the token already holds a key of that name; nothing created),
 *         #ZTP_ENOTFOUND (no such key object or file), #ZTP_EMISMATCH (the
 *         existing key is not of key_type), #ZTP_ETOKEN, #ZTP_EPIN,
 *         #ZTP_EPARSE (a malformed URI or PEM), #ZTP_EUNSUPPORTED. A key
 *         generated by the call is deleted again when the CA cannot be
 *         made.
 * @par Thread safety: safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_create_root_key(char **cert_pem, const char *key_source,
				      const char *passphrase,
				      unsigned int flags,
				      const char *subject_dn,
				      const char *key_type, int days);

/**
 * Same as ztp_ca_create_sub(), with a key the caller names (see
 * ztp_ca_create_root_key()) rather than a fresh key handed back. The
 * issuer's own key may be a token's too.
 * @param issuer         a loaded CA handle
 * @param[out] cert_pem  PEM certificate, freed with ztp_free()
 * @param key_source     `pkcs11:` URI, `file:PATH` or a path; borrowed
 * @param passphrase     PIN or passphrase for key_source, or NULL; borrowed
 * @param flags          0 or #ZTP_CA_KEY_CREATE
 * @param subject_dn     borrowed
 * @param key_type       as for ztp_ca_create_root_key()
 * @param days           validity in days, 1..36500
 * @param pathlen        as for ztp_ca_create_sub()
 * @return as ztp_ca_create_sub() and ztp_ca_create_root_key().
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_create_sub_key(ztp_ca *issuer, char **cert_pem,
				     const char *key_source,
				     const char *passphrase, unsigned int flags,
				     const char *subject_dn,
				     const char *key_type, int days,
				     int pathlen);

/**
 * Issue a device certificate from a CSR.
 *
 * The CSR's signature is verified with its own public key and the key is
 * checked against the key policy; nothing else is taken from the CSR.
 * The certificate is valid from one minute before now until now plus the
 * lifetime, clamped to the CA's notAfter; it is recorded in the store
 * before it is returned.
 *
 * @param ca               a loaded handle with a store
 * @param[out] cert_pem    the PEM certificate, freed with ztp_free();
 *                         NULL on failure
 * @param csr_pem,csr_len  one PEM certificate request (csr_len bytes,
 *                         at most 64 KiB); borrowed
 * @param device_id        the device the certificate names
 * @param tenant           the tenant it is bound to, or NULL; refused for
 *                         the `factory` profile
 * @param profile          `factory`, `bootstrap` or `operational` (`server`
 *                         is refused: see ztp_ca_issue_server())
 * @param lifetime_seconds 0 for the profile default, else 1..profile maximum
 * @return #ZTP_OK, #ZTP_EINVAL (argument, identifier, profile, lifetime),
 *         #ZTP_ESTATE (not loaded or no store), #ZTP_EPARSE (malformed CSR),
 *         #ZTP_ETOOBIG, #ZTP_EBADSIG (CSR signature), #ZTP_EKEYPOLICY,
 *         #ZTP_EEXPIRED (the CA is outside its own validity), #ZTP_EEXISTS
 *         (no fresh serial after several attempts), #ZTP_ENOTFOUND (device
 *         not registered, for `bootstrap` and `operational`), #ZTP_ESTORE,
 *         #ZTP_ENOMEM, #ZTP_ECRYPTO, #ZTP_ETOKEN (the CA key's token is
 *         gone or did not sign: nothing is recorded or returned).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_issue(ztp_ca *ca, char **cert_pem, const char *csr_pem,
			    size_t csr_len, const char *device_id,
			    const char *tenant, const char *profile,
			    int64_t lifetime_seconds);

/**
 * Same as ztp_ca_issue(), also returning the serial number and the end of
 * validity. Arguments other than serial_hex and not_after are those of
 * ztp_ca_issue().
 * @param ca               a loaded handle with a store
 * @param[out] cert_pem    the PEM certificate, freed with ztp_free();
 *                         NULL on failure
 * @param[out] serial_hex  lowercase hex without leading zeros, freed with
 *                         ztp_free(); may be NULL if not wanted
 * @param[out] not_after   seconds since the epoch; may be NULL
 * @param csr_pem,csr_len  one PEM certificate request (csr_len bytes,
 *                         at most 64 KiB); borrowed for the call
 * @param device_id        the device the certificate names; borrowed for
 *                         the call
 * @param tenant           the tenant it is bound to, or NULL; borrowed for
 *                         the call
 * @param profile          `factory`, `bootstrap` or `operational`; borrowed
 *                         for the call
 * @param lifetime_seconds 0 for the profile default, else 1..profile maximum
 * @return as ztp_ca_issue().
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_issue_ex(ztp_ca *ca, char **cert_pem, char **serial_hex,
			       int64_t *not_after, const char *csr_pem,
			       size_t csr_len, const char *device_id,
			       const char *tenant, const char *profile,
			       int64_t lifetime_seconds);

/**
 * Issue factory certificates in bulk: one certificate request a line of
 * a JSON lines file, `{"device_id":"…","csr":"<PEM>"}`, each issued under
 * the `factory` profile and recorded as ztp_ca_issue_ex() does it. Each
 * certificate is appended to output_path as the line
 * `{"device_id":"…","serial":"…","factory_cert":"<PEM>"}`, which
 * ztp_verifier_import() reads as it is. output_path is a new file (mode
 * 0644; never an existing one), fsynced as it grows and at the end.
 *
 * A line that cannot be used (malformed, a bad identifier, a request
 * whose signature or key is refused) is refused with its number and the
 * others go on; a failure of the store, of memory, or of the CA itself
 * stops the run. Lines are at most #ZTP_BULK_LINE_MAX bytes; blank lines
 * are skipped. Running a file again issues new certificates: issuance is
 * not idempotent.
 *
 * The summary is `{"lines":N,"issued":N,"refused":N,"refusals":[{"line":N,
 * "device_id":"…"|null,"code":"…","message":"…"},…],
 * "refusals_truncated":bool}` (at most #ZTP_BULK_REFUSALS_MAX listed); it
 * is also set when the run stops, once output_path was created.
 * @param ca               a loaded handle with a store
 * @param[out] summary_json freed with ztp_free(); NULL when output_path
 *                         could not be created
 * @param input_path       the requests; borrowed for the call
 * @param output_path      the certificates, a new file; borrowed for the
 *                         call
 * @param lifetime_seconds 0 for the profile default, else 1..the maximum
 * @param progress         NULL, or called as the run goes
 * @param progress_ctx     passed to progress
 * @return #ZTP_OK when every line was read (some may have been refused),
 *         #ZTP_EINVAL, #ZTP_EIO, #ZTP_EEXISTS (output_path exists),
 *         #ZTP_ESTATE (not loaded or no store), #ZTP_EEXPIRED (the CA is
 *         outside its validity), #ZTP_ESTORE, #ZTP_ENOMEM.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_issue_bulk(ztp_ca *ca, char **summary_json,
				 const char *input_path,
				 const char *output_path,
				 int64_t lifetime_seconds,
				 ztp_progress_fn progress, void *progress_ctx);

/**
 * Issue a TLS server certificate (profile `server`) for the hosts named in
 * names_json, either for the key of a CSR or for a fresh key made here.
 *
 * names_json is a JSON object `{"dns": [...], "ip": [...]}`, either key
 * optional, with 1 to #ZTP_CA_SERVER_NAMES_MAX names in all, each at most
 * once:
 * - a DNS name is a host name of RFC 1123 (labels of 1 to 63 letters,
 *   digits and hyphens, no hyphen at either end; at most 253 characters;
 *   no trailing dot; the last label not all digits), compared and written
 *   in lowercase. Wildcards are refused: a certificate whose key serves
 *   every host of a domain turns the compromise of one into that of all,
 *   and a deployment names its few hosts anyway. Internationalised names
 *   are given in their `xn--` form.
 * - an IP address is an IPv4 address in dotted decimal or an IPv6 address
 *   in any RFC 4291 text form, without a zone; the unspecified addresses
 *   and IPv4-mapped IPv6 addresses are refused.
 *
 * The certificate's subject alternative name holds exactly these names,
 * DNS names first, in the order given. Nothing of the CSR but its public
 * key is used: its subject and the extensions it requests (SANs, key
 * usages, basicConstraints) are ignored. The subject is `CN=` the first DNS
 * name of at most 64 characters, else `CN=` the first IP address (in its
 * canonical text, RFC 5952 for IPv6); with neither, the subject is empty
 * and the subject alternative name critical (RFC 5280 4.2.1.6). The
 * extensions are: critical basicConstraints CA:FALSE; critical keyUsage
 * digitalSignature (plus keyEncipherment for RSA keys); extendedKeyUsage
 * serverAuth; subject and authority key identifiers. The key, from the CSR
 * or fresh, must pass the key policy. The validity is as for
 * ztp_ca_issue(); the certificate is recorded in the store (profile
 * `server`, no device) before it is returned.
 *
 * @param ca               a loaded handle with a store
 * @param[out] cert_pem    the PEM certificate, freed with ztp_free()
 * @param[out] key_pem     without a CSR: the fresh unencrypted PKCS#8 PEM
 *                         private key, freed with ztp_free() (wipe it
 *                         first); required then. With a CSR: may be NULL,
 *                         else set to NULL.
 * @param[out] serial_hex  lowercase hex, freed with ztp_free(); may be NULL
 * @param[out] not_after   seconds since the epoch; may be NULL
 * @param csr_pem,csr_len  one PEM certificate request (csr_len bytes, at
 *                         most 64 KiB), or NULL (and 0) for a fresh key;
 *                         borrowed for the call
 * @param key_type         the fresh key's type, `ec-p256` (for NULL),
 *                         `ec-p384`, `ed25519`, `rsa-2048`, `rsa-3072` or
 *                         `rsa-4096`; must be NULL with a CSR
 * @param names_json       the names, NUL-terminated; borrowed for the call
 * @param lifetime_seconds 0 for #ZTP_CA_SERVER_DAYS_DEFAULT days, else 1 up
 *                         to #ZTP_CA_SERVER_DAYS_MAX days
 * @return #ZTP_OK, #ZTP_EINVAL (argument, name, key type, lifetime),
 *         #ZTP_EPARSE (names_json is not a JSON object of that shape; a
 *         malformed CSR), #ZTP_ETOOBIG (too many names; a CSR over 64 KiB),
 *         #ZTP_ESTATE (not loaded or no store), #ZTP_EBADSIG (CSR
 *         signature), #ZTP_EKEYPOLICY, #ZTP_EEXPIRED (the CA is outside
 *         its own validity), #ZTP_EEXISTS (no fresh serial after several
 *         attempts), #ZTP_ESTORE, #ZTP_ENOMEM, #ZTP_ECRYPTO.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_issue_server(ztp_ca *ca, char **cert_pem, char **key_pem,
				   char **serial_hex, int64_t *not_after,
				   const char *csr_pem, size_t csr_len,
				   const char *key_type, const char *names_json,
				   int64_t lifetime_seconds);

/** Default lifetime of `ocsp` certificates, days. @since 0.1.0 */
#define ZTP_CA_OCSP_DAYS_DEFAULT 30
/** Longest lifetime of `ocsp` certificates, days: such a certificate
 * carries ocsp-nocheck, so nothing revokes it before it expires.
 * @since 0.1.0 */
#define ZTP_CA_OCSP_DAYS_MAX 90

/**
 * Issue a delegated OCSP responder's signing certificate under the `ocsp`
 * profile (see #ZTP_CA_PROFILE_FACTORY): from a CSR (only its public key is
 * used) or for a fresh key made here, as ztp_ca_issue_server() does. The
 * verifier signs its OCSP responses with it (ztp_verifier_set_ocsp_signer())
 * instead of with the CA key, which can then stay offline or in a token.
 * @param ca,cert_pem,key_pem,serial_hex,not_after,csr_pem,csr_len,key_type
 *        as for ztp_ca_issue_server()
 * @param lifetime_seconds 0 for #ZTP_CA_OCSP_DAYS_DEFAULT days, else 1 up
 *                         to #ZTP_CA_OCSP_DAYS_MAX days
 * @return the codes of ztp_ca_issue_server() but those of the names.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_issue_ocsp(ztp_ca *ca, char **cert_pem, char **key_pem,
				 char **serial_hex, int64_t *not_after,
				 const char *csr_pem, size_t csr_len,
				 const char *key_type,
				 int64_t lifetime_seconds);

/**
 * Revoke a certificate recorded in the store, at the handle's current
 * time. The handle needs a store but not a loaded CA. Revoking an already
 * revoked certificate keeps its first time and reason and succeeds.
 * @param ca         a handle with a store
 * @param serial_hex hex digits, either case, leading zeros allowed, at most
 *                   40 significant digits
 * @param reason     a ::ztp_ca_reason
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (no store), #ZTP_ENOTFOUND,
 *         #ZTP_ESTORE.
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_revoke(ztp_ca *ca, const char *serial_hex, int reason);

/**
 * Produce a signed version 2 CRL of the certificates this CA issued that
 * are revoked in the store:
 * thisUpdate now, nextUpdate now plus next_update_hours, a CRL number from
 * the store counter `crl-<CA subject key identifier in lowercase hex>`
 * (its first 30 octets, since counter names are identifiers), the authority
 * key identifier, and one entry per revoked certificate with its
 * revocation time and, unless it is `unspecified`, its reason code.
 *
 * Every certificate a CA records carries its issuer, the CA's subject key
 * identifier (what the certificates name as their authority key
 * identifier), so CAs may share a store: each CRL lists only the
 * revocations of its own certificates, and those of unknown issuer
 * (recorded by ztp_store_cert_add() or before the store kept issuers),
 * which are listed by every CA (see ztp_store_revoked_list_issuer()).
 *
 * @param ca                 a loaded handle with a store
 * @param[out] crl_pem         PEM CRL, freed with ztp_free()
 * @param next_update_hours    1..8784, or 0 for 168 (7 days)
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (not loaded or no store),
 *         #ZTP_EPROFILE (the CA may not sign CRLs), #ZTP_ESTORE,
 *         #ZTP_EPARSE (corrupt store record), #ZTP_ENOMEM, #ZTP_ECRYPTO,
 *         #ZTP_ETOKEN (a token key's token is gone or did not sign).
 * @par Thread safety: safe on a configured handle.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_crl(ztp_ca *ca, char **crl_pem, int next_update_hours);

/**
 * The CA's own certificate as PEM.
 * @param ca       a loaded handle
 * @param[out] out freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (not loaded), #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_cert_pem(ztp_ca *ca, char **out);

/**
 * The chain a device needs after its own certificate: the CA certificate
 * followed by the chain certificates it was loaded with, as concatenated
 * PEM.
 * @param ca       a loaded handle
 * @param[out] out freed with ztp_free()
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ESTATE (not loaded), #ZTP_ENOMEM.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_ca_chain_pem(ztp_ca *ca, char **out);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_CA_H */
