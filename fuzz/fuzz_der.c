/*
 * libztp — fuzz DER certificate parsing and everything read from a
 * certificate: the device ID (subject CN, SAN URIs), the tenant, validity
 * times, the key and its policy, and the re-encoding.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_cert.h"

#include <openssl/err.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ztp_init() == ZTP_OK ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *x = NULL;
	int rc;

	rc = ztp__der_cert(&x, data, size);
	FUZZ_ASSERT_RC(rc);
	FUZZ_ASSERT((rc == ZTP_OK) == (x != NULL));
	if (x != NULL) {
		fuzz_cert_inspect(x);
		X509_free(x);
	}
	ERR_clear_error();
	return 0;
}
