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

/* Exit statuses of ztp-ca and ztp-verify. ztp-device and ztp-policy tell
 * more outcomes apart (refused, transient, denied...) and define their own,
 * each documented in its man page; the error line format is the same for
 * all four. */
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
/* Report the library's last error on this thread (code rc) as
 * "<prog>: <status_name>: <what>: <detail>" and exit. */
void tool_die_lib(int rc, const char *what) __attribute__((noreturn));
/* The same, exiting with status instead of TOOL_EXIT_FAIL (a command's own
 * documented status for this refusal). */
void tool_die_lib_status(int rc, int status, const char *what)
    __attribute__((noreturn));

/* The same lines without exiting, for tools whose exit status depends on
 * what failed (ztp-device, ztp-policy). Control characters in the message
 * are replaced, so that a report is always one line. */
void tool_report(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tool_report_lib(int rc, const char *what);

/* Whole decimal number in [min, max]; usage error naming opt otherwise. */
long long tool_parse_ll(const char *s, long long min, long long max,
			const char *opt);

/* Read a regular text file of at most max bytes into *out, NUL-terminated
 * (*len, if not NULL, excludes the terminator); a file holding a NUL byte
 * is refused. Returns ZTP_OK, or a negative ztp status with *why set to a
 * static description and *out NULL. Free *out with tool_free_secret()
 * when the content is secret, else free(). */
int tool_load_file(char **out, size_t *len, const char *path, size_t max,
		   const char **why);

/* tool_load_file(), dying with "<path>: <why>" on failure. */
char *tool_read_file(const char *path, size_t max, size_t *len);

/* Write data to path atomically with ztp_file_write_atomic() (exclusive:
 * ZTP_FILE_EXCLUSIVE, never replace an existing file). Returns 0, or a
 * negative ztp status with *err set to the library's detail (valid until
 * the next libztp call on this thread). */
int tool_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, bool exclusive, const char **err);

/* A passphrase from the first line of a file or from an environment
 * variable (at most one of them non-NULL); NULL if both are NULL.
 * Dies if the source is missing or empty. Free with tool_free_secret(). */
char *tool_read_passphrase(const char *file, const char *env_var);

/* Wipe then free a NUL-terminated secret. Accepts NULL. */
void tool_free_secret(char *s);

#endif /* ZTP_TOOLS_UTIL_H */
