/*
 * The exit statuses of the two device tools, ztp-device and
 * ztp-device-mbedtls, and the status codes they stand for: one table, so
 * that a script reads both alike (ztp-device(1), ztp-device-mbedtls(1)).
 * Public status codes only (<ztp/common.h>).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_TOOLS_DEVICE_EXIT_H
#define ZTP_TOOLS_DEVICE_EXIT_H

#include <ztp/common.h>

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,   /* a definitive refusal by the server */
	EXIT_USAGE = 2,	    /* command line or configuration */
	EXIT_TRANSIENT = 3, /* network (TLS too), rate limit: may pass later */
	EXIT_PROTOCOL = 4,  /* an invalid answer */
	EXIT_LOCAL = 5	    /* state, keys, memory on the device */
};

/* The exit status of an operation that ended with rc. */
static inline int device_exit_for(int rc)
{
	switch (rc) {
	case ZTP_OK:
		return EXIT_OK;
	case ZTP_EDENIED:
		return EXIT_REFUSED;
	case ZTP_ENETWORK:
	case ZTP_ERATELIMIT:
		return EXIT_TRANSIENT;
	case ZTP_EPARSE:
	case ZTP_ETOOBIG:
	case ZTP_EMISMATCH:
	case ZTP_EEXPIRED:
	case ZTP_EPROFILE:
	case ZTP_EUNTRUSTED:
		return EXIT_PROTOCOL;
	case ZTP_EINVAL:
	case ZTP_EUNSUPPORTED:
		return EXIT_USAGE;
	default:
		return EXIT_LOCAL;
	}
}

#endif /* ZTP_TOOLS_DEVICE_EXIT_H */
