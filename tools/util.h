/*
 * Helpers shared by the command-line tools: error reporting in the one
 * format every tool uses, strict number parsing, bounded file reads,
 * atomic 0600 writes and passphrase input. Public libztp headers only.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_TOOLS_UTIL_H
#define ZTP_TOOLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit statuses of every tool. */
#define TOOL_EXIT_OK 0
#define TOOL_EXIT_FAIL 1  /* the operation failed */
#define TOOL_EXIT_USAGE 2 /* bad command line */

/* Name used as the prefix of error lines ("ztp-ca"). */
void tool_init(const char *prog);
const char *tool_prog(void);

/* Called by the tool_die family before exiting, so that a tool can release
 * what it holds (and leak checkers see a clean exit). NULL: none. */
void tool_set_cleanup(void (*fn)(void));

/* Print "<prog>: <status_name>: <message>" on stderr and exit: with
 * TOOL_EXIT_USAGE for usage errors, TOOL_EXIT_FAIL otherwise. */
void tool_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void tool_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Report the library's last error on this thread (code rc). */
void tool_die_lib(int rc, const char *what) __attribute__((noreturn));
/* The same, exiting with status instead of TOOL_EXIT_FAIL (a command's own
 * documented status for this refusal). */
void tool_die_lib_status(int rc, int status, const char *what)
    __attribute__((noreturn));

/* Whole decimal number in [min, max]; usage error naming opt otherwise. */
long long tool_parse_ll(const char *s, long long min, long long max,
			const char *opt);

/* Read a regular file of at most max bytes; NUL-terminated, *len excludes
 * the terminator. Dies on failure. Free with tool_free_secret() when the
 * content is secret, else free(). */
char *tool_read_file(const char *path, size_t max, size_t *len);

/* Write data to path atomically: a temporary file in the same directory
 * created with mode, written, fsynced, then renamed over path (or, with
 * exclusive, linked to path so that an existing file is never replaced),
 * and the directory fsynced. Returns 0, or a negative ztp status with
 * *err set to a static description. */
int tool_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, bool exclusive, const char **err);

/* A passphrase from the first line of a file or from an environment
 * variable (at most one of them non-NULL); NULL if both are NULL.
 * Dies if the source is missing or empty. Free with tool_free_secret(). */
char *tool_read_passphrase(const char *file, const char *env_var);

/* Wipe then free a NUL-terminated secret. Accepts NULL. */
void tool_free_secret(char *s);

#endif /* ZTP_TOOLS_UTIL_H */
