/*
 * libztp — zero-touch secure provisioning for IoT fleets.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_COMMON_H
#define ZTP_COMMON_H

/**
 * @file common.h
 * @brief Core API: initialisation, status codes, errors, memory, clock,
 * events and identifier validation. Every other module uses these.
 *
 * Conventions that hold for the whole library:
 * - Every call that can fail returns `int`: #ZTP_OK (0) on success or a
 *   negative `ZTP_E…` code. Output parameters come first.
 * - On failure the calling thread's detail is available from
 *   ztp_error_last() until the next failing call on that thread.
 * - Every string or buffer the library returns to the caller is freed with
 *   ztp_free(), never with the caller's own allocator.
 * - Handles are created with `ztp_X_new()` and destroyed with `ztp_X_free()`,
 *   which accepts NULL.
 */

#include <stddef.h>
#include <stdint.h>

#include <ztp/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration as part of the exported API. @since 0.1.0 */
#if defined(ZTP_BUILDING_LIBRARY) && defined(__GNUC__)
#define ZTP_EXTERN __attribute__((visibility("default")))
#else
#define ZTP_EXTERN
#endif

/**
 * Status codes. The list only grows: a published code is never renumbered
 * or removed. ztp_strerror() gives a fixed description, ztp_status_name()
 * the stable snake_case name used on the wire and in logs.
 * @since 0.1.0
 */
/* clang-format off */
typedef enum ztp_status {
	ZTP_OK = 0,            /**< success */
	ZTP_EINVAL = -1,       /**< invalid argument (NULL, out of range, bad identifier) */
	ZTP_ENOMEM = -2,       /**< out of memory */
	ZTP_EIO = -3,          /**< file or operating-system I/O failure */
	ZTP_EPARSE = -4,       /**< malformed input: JSON, PEM, DER, base64, URI */
	ZTP_ETOOBIG = -5,      /**< input over a size, depth, count or length limit */
	ZTP_ECRYPTO = -6,      /**< a cryptographic operation failed in OpenSSL */
	ZTP_ENOTFOUND = -7,    /**< no such record (device, certificate, claim code) */
	ZTP_EEXISTS = -8,      /**< record already exists */
	ZTP_ESTORE = -9,       /**< the registry store failed (database error, corruption, read-only) */
	ZTP_EKEYPOLICY = -10,  /**< key type or size refused by the key policy */
	ZTP_EBADSIG = -11,     /**< a signature did not verify */
	ZTP_EUNTRUSTED = -12,  /**< certificate does not chain to a configured trust anchor */
	ZTP_EPROFILE = -13,    /**< certificate or CSR violates the required profile */
	ZTP_EEXPIRED = -14,    /**< certificate, challenge or token outside its validity window */
	ZTP_EREVOKED = -15,    /**< certificate revoked or device blocked */
	ZTP_EMISMATCH = -16,   /**< identity mismatch (device ID, fingerprint, peer certificate) */
	ZTP_EREPLAY = -17,     /**< single-use value presented twice */
	ZTP_ERATELIMIT = -18,  /**< rate limit exceeded; retry later */
	ZTP_ESTATE = -19,      /**< operation not allowed in the current state */
	ZTP_EUNSUPPORTED = -20,/**< feature or algorithm not supported */
	ZTP_ENETWORK = -21,    /**< network or TLS transport failure */
	ZTP_EDENIED = -22,     /**< refused by the server or by policy */
	ZTP_EINTERNAL = -23,   /**< internal error (a bug): please report it */
	ZTP_ETOKEN = -24,      /**< a PKCS#11 module or token is unavailable or failed (no such module, no such token, token removed) */
	ZTP_EPIN = -25         /**< the token refused the PIN (wrong, locked, expired) */
} ztp_status;
/* clang-format on */

/** Lowest status code defined by this version of the headers. @since 0.1.0 */
#define ZTP_STATUS_MIN ZTP_EPIN

/**
 * Detail of the last failure on the calling thread.
 * @since 0.1.0
 */
typedef struct ztp_error {
	int code;	     /**< a ::ztp_status value */
	const char *message; /**< one line, UTF-8, never NULL */
} ztp_error;

/**
 * Initialise the library. Idempotent and thread-safe; calling it is
 * optional (every `_new()` calls it) but lets a program fail early.
 * Registers no `atexit` handler.
 * @return #ZTP_OK, or #ZTP_ECRYPTO if OpenSSL cannot be initialised.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_init(void);

/**
 * Version of the library linked at run time.
 * @return a static string such as "0.1.0"; never freed.
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_version(void);

/**
 * Version of the library linked at run time as 0xMMmmpp.
 * @return the version number (compare with #ZTP_VERSION_NUM of the headers).
 * @since 0.1.0
 */
ZTP_EXTERN unsigned int ztp_version_num(void);

/**
 * Fixed English description of a status code.
 * @param code a ::ztp_status value (unknown values give "unknown error").
 * @return a static string; never freed.
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_strerror(int code);

/**
 * Stable snake_case name of a status code ("invalid_argument",
 * "bad_signature", …), as used in events and wire errors.
 * @param code a ::ztp_status value
 * @return a static string; never freed. Unknown codes give "unknown".
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_status_name(int code);

/**
 * Detail of the calling thread's last failure.
 * @return a pointer valid until the next libztp call on this thread;
 *         never NULL (code #ZTP_OK and message "" when nothing failed).
 * @since 0.1.0
 */
ZTP_EXTERN const ztp_error *ztp_error_last(void);

/**
 * Code of the calling thread's last failure (FFI convenience).
 * @return a ::ztp_status value; #ZTP_OK when nothing failed.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_error_last_code(void);

/**
 * Message of the calling thread's last failure (FFI convenience).
 * @return a NUL-terminated string owned by the library, valid until the
 *         next libztp call on this thread; never NULL ("" when nothing
 *         failed).
 * @since 0.1.0
 */
ZTP_EXTERN const char *ztp_error_last_message(void);

/** Forget the calling thread's last failure. @since 0.1.0 */
ZTP_EXTERN void ztp_error_clear(void);

/**
 * Free memory the library returned (strings, buffers). Accepts NULL.
 * @param ptr memory returned by a libztp function, or NULL
 * @since 0.1.0
 */
ZTP_EXTERN void ztp_free(void *ptr);

/**
 * Clock source: seconds since the Unix epoch (UTC). Handles that check
 * validity windows take one, so tests can move time.
 * @param ctx the context pointer given together with the clock
 * @return seconds since the Unix epoch.
 * @since 0.1.0
 */
typedef int64_t (*ztp_clock_fn)(void *ctx);

/**
 * A ready-made clock for tests and FFI callers: returns `*(int64_t *)ctx`.
 * Pass it with a pointer to an int64 that you own and keep alive.
 * @param ctx pointer to the int64_t to return; borrowed, must outlive
 *            every handle the clock is set on. NULL reads as 0.
 * @return the value ctx points to, or 0 when ctx is NULL.
 * @since 0.1.0
 */
ZTP_EXTERN int64_t ztp_clock_fixed(void *ctx);

/**
 * The system clock (`time(NULL)`).
 * @param ctx ignored (may be NULL)
 * @return seconds since the Unix epoch.
 * @since 0.1.0
 */
ZTP_EXTERN int64_t ztp_clock_system(void *ctx);

/**
 * Event callback: receives one JSON object per event, as a UTF-8
 * NUL-terminated string borrowed for the duration of the call.
 * Called on the thread that caused the event; it must not call back into
 * the handle that emitted it.
 * @param json the event; borrowed for the duration of the call
 * @param ctx  the context pointer given together with the callback
 * @since 0.1.0
 */
typedef void (*ztp_event_fn)(const char *json, void *ctx);

/** Longest identifier (device ID, tenant ID) accepted. @since 0.1.0 */
#define ZTP_ID_MAX 64

/**
 * Check an identifier (device ID or tenant ID) against the one grammar used
 * at every boundary: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`. Identifiers become
 * MQTT topic levels and certificate names, so `/ + # $`, NUL, whitespace,
 * non-ASCII and over-long values are refused.
 * @param id   bytes of the identifier (need not be NUL-terminated)
 * @param len  its length in bytes
 * @return #ZTP_OK or #ZTP_EINVAL (detail in ztp_error_last()).
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_id_validate(const char *id, size_t len);

/** ztp_file_write_atomic() flag: never replace an existing file
 * (#ZTP_EEXISTS instead). @since 0.1.0 */
#define ZTP_FILE_EXCLUSIVE 1u

/**
 * Write a whole file atomically and durably, the way libztp writes keys
 * and credentials: a temporary file created next to path (O_EXCL,
 * O_NOFOLLOW, a random name) with the given mode, written, fsynced and
 * closed, then renamed over path — or, with #ZTP_FILE_EXCLUSIVE,
 * hard-linked to path so that an existing file is never replaced — and
 * the directory fsynced. Readers see the old contents or the new ones,
 * never a mix; a symlink at path is replaced, not followed.
 *
 * @param path   the file to write, NUL-terminated.
 * @param data   its new contents (may be NULL when len is 0).
 * @param len    their length in bytes.
 * @param mode   permission bits (e.g. 0600 for secrets), applied whatever
 *               the umask.
 * @param flags  0 or #ZTP_FILE_EXCLUSIVE.
 * @return #ZTP_OK; #ZTP_EINVAL for a bad argument or a path naming a
 *         directory; #ZTP_EEXISTS with #ZTP_FILE_EXCLUSIVE when path
 *         exists; #ZTP_EIO when a step fails (the temporary is removed;
 *         if only the final directory fsync failed, the new contents are
 *         in place but their durability is not confirmed); #ZTP_ENOMEM.
 * @note Thread-safe; concurrent writers of one path each leave a complete
 *       file, the last rename wins.
 * @since 0.1.0
 */
ZTP_EXTERN int ztp_file_write_atomic(const char *path, const void *data,
				     size_t len, unsigned int mode,
				     unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* ZTP_COMMON_H */
