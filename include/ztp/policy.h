/*
 * libztp — zero-touch secure provisioning for IoT fleets.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_POLICY_H
#define ZTP_POLICY_H

/**
 * @file policy.h
 * @brief Multi-tenant MQTT authorization: tenant namespaces, identity from
 * certificates, policy documents with Allow/Deny statements compiled into a
 * topic-level index, explanations, and export as AWS-IoT-style JSON.
 *
 * Namespace layout (see ztp-policy.json(5)):
 * - `tenants/{tenant}/devices/{device}/…` — a device's own topics;
 * - `tenants/{tenant}/broadcast/…` — read-only topics shared by a tenant.
 *
 * Decisions follow MQTT 3.1.1 / 5.0 §4.7 exactly: `+` matches one level
 * (possibly empty), `#` matches the parent level and any number of levels
 * below it and is only valid as a whole last level, wildcards in the first
 * level never match topics that start with `$`. A subscription is allowed
 * only when every topic its filter can match is allowed (the requested
 * filter is a subset of an allowed filter) and none of them is denied. An
 * explicit Deny wins over any Allow; no matching Allow means deny; a handle
 * without a successfully loaded policy denies everything.
 */

#include <stddef.h>

#include <ztp/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A compiled policy plus the device CA(s) that identities are read under.
 * Thread safety: ztp_policy_authorize(), ztp_policy_explain(),
 * ztp_policy_load(), ztp_policy_load_file(), ztp_policy_export() and the
 * identity functions may be called from any number of threads at once;
 * a load swaps the compiled policy atomically, so every decision sees
 * either the old or the new policy in full. ztp_policy_add_ca_pem() and
 * ztp_policy_set_clock() configure the handle and must not run concurrently
 * with any other call on it.
 * @since 0.1.0
 */
typedef struct ztp_policy ztp_policy;

/**
 * MQTT actions a statement can allow or deny.
 * @since 0.1.0
 */
typedef enum ztp_policy_action {
	ZTP_POLICY_CONNECT = 1,	  /**< connect with a client identifier */
	ZTP_POLICY_PUBLISH = 2,	  /**< publish to a topic name */
	ZTP_POLICY_SUBSCRIBE = 3, /**< subscribe with a topic filter */
	ZTP_POLICY_RECEIVE = 4	  /**< receive a message on a topic name */
} ztp_policy_action;

/** Largest policy document accepted, in bytes. @since 0.1.0 */
#define ZTP_POLICY_MAX_BYTES (64u * 1024u * 1024u)
/** Most statements in one policy document. @since 0.1.0 */
#define ZTP_POLICY_MAX_STATEMENTS 1000000u
/** Most resources in one statement. @since 0.1.0 */
#define ZTP_POLICY_MAX_RESOURCES 4096u
/** Longest topic name or filter (MQTT's limit), in bytes. @since 0.1.0 */
#define ZTP_POLICY_MAX_TOPIC 65535u

/**
 * Map an action name ("connect", "publish", "subscribe", "receive") to its
 * ::ztp_policy_action value.
 * @param[out] out  receives the action.
 * @param name      NUL-terminated name, case-sensitive.
 * @return #ZTP_OK, or #ZTP_EINVAL for NULL arguments or an unknown name.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_action_parse(int *out, const char *name);

/**
 * Create a policy handle with no policy loaded (every decision is deny)
 * and no device CA.
 * @param[out] out  receives the handle, freed with ztp_policy_free().
 * @return #ZTP_OK, #ZTP_EINVAL, #ZTP_ENOMEM or #ZTP_ECRYPTO.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_new(ztp_policy **out);

/**
 * Destroy a handle. Accepts NULL. No other call may be running on it.
 * @param p the handle, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_policy_free(ztp_policy *p);

/**
 * Set the clock used to check certificate validity windows (default: the
 * system clock).
 * @param p    the handle.
 * @param fn   clock function, or NULL for the system clock.
 * @param ctx  passed to fn; borrowed, must outlive the handle.
 * @return #ZTP_OK or #ZTP_EINVAL.
 * @note Configuration: not concurrently with other calls on p.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_set_clock(ztp_policy *p, ztp_clock_fn fn, void *ctx);

/**
 * Add one or more device CA certificates (PEM, at most 8 per call) under
 * which certificates are accepted by ztp_policy_identity_from_cert(). Each
 * certificate added is a trust anchor in its own right: an issuing CA
 * that is not self-signed may be configured without its root.
 * @param p    the handle.
 * @param pem  PEM text; need not be NUL-terminated.
 * @param len  its length in bytes.
 * @return #ZTP_OK; #ZTP_EINVAL for bad arguments; #ZTP_EPARSE or
 *         #ZTP_ETOOBIG for bad PEM; #ZTP_EPROFILE when a certificate is not
 *         a CA; #ZTP_ENOMEM.
 * @note Configuration: not concurrently with other calls on p.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_add_ca_pem(ztp_policy *p, const char *pem,
				     size_t len);

/**
 * Parse, validate and compile a policy document (ztp-policy.json(5)) and
 * make it the handle's policy, atomically: concurrent decisions see either
 * the previous policy or this one.
 *
 * A document that fails to load leaves the handle with NO policy, so that
 * every later decision is deny until a valid document is loaded. This is
 * deliberate: a reload is usually made to take access away, and silently
 * keeping the previous, wider policy after a mistake would keep it granted.
 * Validate a document first with a scratch handle (or `ztp-policy lint`) to
 * avoid an outage.
 *
 * @param p     the handle.
 * @param json  the document; need not be NUL-terminated.
 * @param len   its length in bytes (at most #ZTP_POLICY_MAX_BYTES).
 * @return #ZTP_OK; #ZTP_EINVAL for bad arguments; #ZTP_EPARSE for malformed
 *         JSON, an unknown key, a bad effect, action, variable or topic
 *         filter (the detail names the statement and resource);
 *         #ZTP_ETOOBIG over a limit; #ZTP_ENOMEM.
 * @note Thread-safe. Before freeing the policy it replaces, it waits for the
 *       decisions that may still be reading it (they take no lock, so this
 *       is how their snapshot is kept alive); decisions are never blocked.
 *       Do not call it from a callback that runs inside a decision.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_load(ztp_policy *p, const char *json, size_t len);

/**
 * ztp_policy_load() on the contents of a file.
 * @param p     the handle.
 * @param path  NUL-terminated file name.
 * @return as ztp_policy_load(), plus #ZTP_ENOTFOUND when the file does not
 *         exist and #ZTP_EIO when it cannot be read (the handle is then
 *         left with no policy as well).
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_load_file(ztp_policy *p, const char *path);

/**
 * Decide whether an identity may perform an action.
 *
 * Variables in the policy (`${tenant}`, `${device}`, `${client_id}`) are
 * replaced by these values, which are checked against the identifier
 * grammar (ztp_id_validate()) on every call. A NULL value means "not
 * known": Allow resources that use the variable do not apply, and Deny
 * resources that use it apply to any value.
 *
 * @param p          the handle.
 * @param tenant     tenant ID from the verified identity, or NULL.
 * @param device     device ID from the verified identity, or NULL.
 * @param client_id  MQTT client identifier, or NULL (a client identifier
 *                   outside the identifier grammar counts as NULL).
 * @param action     a ::ztp_policy_action.
 * @param topic      for publish/receive a topic name, for subscribe a topic
 *                   filter, for connect the client identifier; need not be
 *                   NUL-terminated; must not contain NUL.
 * @param topic_len  its length in bytes (1..#ZTP_POLICY_MAX_TOPIC).
 * @return #ZTP_OK when allowed; #ZTP_EDENIED when denied (no policy, no
 *         matching Allow, or a matching Deny); #ZTP_EINVAL for a NULL
 *         handle or topic, an unknown action, an identity value outside
 *         the grammar, or a malformed topic name or filter; #ZTP_ENOMEM
 *         only on the first decision of a thread, if the small per-thread
 *         record that decisions use cannot be allocated. Anything but
 *         #ZTP_OK must be treated as deny.
 * @note Thread-safe and lock-free: concurrent decisions share no written
 *       memory. Does not allocate, except that per-thread record once.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_authorize(ztp_policy *p, const char *tenant,
				    const char *device, const char *client_id,
				    int action, const char *topic,
				    size_t topic_len);

/**
 * Same decision as ztp_policy_authorize(), explained for humans and audit
 * logs as a JSON object:
 * `{"decision":"allow"|"deny","statement":SID|null,"index":N|null,
 *   "effect":"Allow"|"Deny"|null,"reason":"…"}` where index is the
 * 0-based position of the deciding statement and statement its `sid` (or
 * null when it has none).
 * @param[out] out   receives the JSON, freed with ztp_free().
 * @param p, tenant, device, client_id, action, topic, topic_len
 *                   as for ztp_policy_authorize().
 * @return #ZTP_OK when the explanation was produced (whatever the decision;
 *         a malformed topic or identity gives a "deny" explanation);
 *         #ZTP_EINVAL for NULL out, p or topic or an unknown action;
 *         #ZTP_ENOMEM.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_explain(char **out, ztp_policy *p, const char *tenant,
				  const char *device, const char *client_id,
				  int action, const char *topic,
				  size_t topic_len);

/**
 * Size of the loaded policy and of its compiled index, as JSON
 * `{"loaded":true|false,"statements":N,"resources":N,"nodes":N,
 *   "bytes":N}` where nodes counts the distinct nodes of the index
 * (identical subtrees are stored once) and bytes its memory.
 * @param[out] out  receives the JSON, freed with ztp_free().
 * @param p         the handle.
 * @return #ZTP_OK, #ZTP_EINVAL or #ZTP_ENOMEM.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_stats(char **out, ztp_policy *p);

/**
 * Check a policy document without loading it anywhere, and report what it
 * grants that is probably not meant, as JSON:
 * `{"valid":true,"statements":N,"resources":N,"warnings":[{"index":I,
 *   "statement":SID|null,"resource":R|null,"message":"…"}],
 *   "truncated":false}` (at most 1000 warnings; truncated tells if more
 * were found). Warnings: an Allow whose first level is a wildcard; an Allow
 * under `tenants/` whose tenant level is not `${tenant}` (reaches other
 * tenants); a publish Allow under `tenants/${tenant}/devices/` whose device
 * level is not `${device}` (writes to other devices); a connect Allow that
 * does not pin the client identifier to `${device}` or `${client_id}`;
 * duplicate `sid` values.
 * @param[out] out  receives the report when the document is valid, freed
 *                  with ztp_free().
 * @param json      the document; need not be NUL-terminated.
 * @param len       its length in bytes.
 * @return #ZTP_OK when valid (warnings or not); the ztp_policy_load() codes
 *         (#ZTP_EPARSE, #ZTP_ETOOBIG, …) with the detail when not.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_lint(char **out, const char *json, size_t len);

/**
 * The verified identity a client certificate carries, as JSON
 * `{"device":"…","tenant":"…"|null}`.
 *
 * The certificate must chain to a CA added with ztp_policy_add_ca_pem()
 * (signature and path checked by OpenSSL at the handle's clock time), must
 * not be a CA, must be usable for TLS client authentication (if it has an
 * extended key usage), and must name its device by the rule the verifier
 * applies too (PROTOCOL.md §5): exactly one subject CN holding the device
 * ID, and exactly one SAN URI `urn:ztp:device:<id>` that agrees with it,
 * plus at most one `urn:ztp:tenant:<id>`, all in the identifier grammar.
 * A CN without the device URI, or a device URI without the CN, is not an
 * identity.
 *
 * @param[out] out  receives the JSON, freed with ztp_free().
 * @param p         the handle.
 * @param pem       exactly one PEM certificate; need not be NUL-terminated.
 * @param len       its length in bytes.
 * @return #ZTP_OK; #ZTP_EINVAL; #ZTP_ESTATE when no CA is configured;
 *         #ZTP_EPARSE / #ZTP_ETOOBIG for bad PEM; #ZTP_EUNTRUSTED when the
 *         certificate does not chain to a configured CA; #ZTP_EEXPIRED
 *         outside its validity window; #ZTP_EPROFILE when it is a CA, has
 *         the wrong key usage, or lacks a well-formed CN or device URI;
 *         #ZTP_EMISMATCH when its SAN names another device than its CN,
 *         or several devices; #ZTP_ENOMEM.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_identity_from_cert(char **out, ztp_policy *p,
					     const char *pem, size_t len);

/**
 * Same checks as ztp_policy_identity_from_cert(), returning the two values
 * as separate strings (convenient for C callers such as broker plugins).
 * @param[out] device_out  receives the device ID, freed with ztp_free().
 * @param[out] tenant_out  receives the tenant ID, or NULL when the
 *                         certificate names no tenant; freed with
 *                         ztp_free().
 * @param p, pem, len      as for ztp_policy_identity_from_cert().
 * @return as ztp_policy_identity_from_cert(); on failure both outputs are
 *         NULL.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_cert_identity(char **device_out, char **tenant_out,
					ztp_policy *p, const char *pem,
					size_t len);

/**
 * The topic namespace of a device, as JSON:
 * `{"tenant":T,"device":D,"prefix":"tenants/T/devices/D/",
 *   "filter":"tenants/T/devices/D/#","broadcast":"tenants/T/broadcast/#"}`.
 * @param[out] out  receives the JSON, freed with ztp_free().
 * @param tenant    tenant ID (identifier grammar), NUL-terminated.
 * @param device    device ID (identifier grammar), NUL-terminated.
 * @return #ZTP_OK, #ZTP_EINVAL (detail names the bad identifier) or
 *         #ZTP_ENOMEM.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_namespace(char **out, const char *tenant,
				    const char *device);

/**
 * The default policy document that confines a device to its namespace:
 * connect only with its device ID as client identifier; publish, subscribe
 * and receive under `tenants/${tenant}/devices/${device}/#`; subscribe and
 * receive under `tenants/${tenant}/broadcast/#`.
 * @param[out] out  receives the JSON document, freed with ztp_free().
 * @return #ZTP_OK, #ZTP_EINVAL or #ZTP_ENOMEM.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_default_document(char **out);

/**
 * Export the loaded policy for one tenant in another format. The only
 * format is "aws-iot": an AWS IoT Core policy document
 * (`{"Version":"2012-10-17","Statement":[…]}`) where `${tenant}` is
 * replaced by @p tenant, `${device}` by `${iot:Connection.Thing.ThingName}`
 * and `${client_id}` by `${iot:ClientId}`.
 *
 * AWS matches resources with `*` (any characters, `/` included) and treats
 * `+` and `#` literally, so only filters with an exact equivalent are
 * converted: literal topics, and a trailing `#` (as the pair `X` and
 * `X/` followed by `*`). A `+` anywhere, a wildcard in the first level, a
 * literal containing `*` or `?`, and Deny statements on subscribe (whose MQTT
 * meaning is filter intersection) are refused rather than approximated.
 *
 * @param[out] out  receives the JSON, freed with ztp_free().
 * @param p         the handle (its loaded policy is exported).
 * @param format    "aws-iot".
 * @param tenant    tenant ID (identifier grammar).
 * @return #ZTP_OK; #ZTP_EINVAL; #ZTP_ESTATE when no policy is loaded;
 *         #ZTP_EUNSUPPORTED for an unknown format or a statement with no
 *         exact equivalent (the detail names it); #ZTP_ENOMEM.
 * @note Thread-safe.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_policy_export(char **out, ztp_policy *p, const char *format,
				 const char *tenant);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_POLICY_H */
