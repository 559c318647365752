/*
 * libztp — fuzz the portable device core's HTTP/1.1 response head parser
 * (every byte a server sends a device on an MCU port), its server URL
 * parser, what the mbedTLS port reads of a proxy: the proxy URL of its
 * configuration and the status line of the answer to CONNECT, and the
 * PEM-to-DER decoding of a certificate the core fingerprints.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t heads[] = {64, 2048};
	ztp__http_head h, p;
	ztp__proxy px;
	int st;
	const char *why = "";
	char url[512], host[256];
	uint16_t port = 0;
	size_t k, cut, i;
	int rc, rc2;

	for (k = 0; k < 2; k++) {
		rc =
		    ztp__http_head_parse(&h, data, size, heads[k], 16384, &why);
		FUZZ_ASSERT(rc == ZTP_OK || rc == 1 || rc == ZTP_EPARSE ||
			    rc == ZTP_ETOOBIG || rc == ZTP_EUNSUPPORTED);
		if (rc == 1)
			FUZZ_ASSERT(size < heads[k]);
		if (rc != ZTP_OK)
			continue;
		FUZZ_ASSERT(h.head_len >= 16 && h.head_len <= size &&
			    h.head_len <= heads[k]);
		FUZZ_ASSERT(h.status >= 200 && h.status <= 599);
		FUZZ_ASSERT(h.content_length <= 16384);
		FUZZ_ASSERT(h.retry_after >= -1 &&
			    h.retry_after <= ZTP__RETRY_AFTER_MAX_S);
		/* The same head with more bytes after it parses the same:
		 * the body never changes the head; a strict prefix of it is
		 * never complete. */
		rc2 = ztp__http_head_parse(&p, data, h.head_len, heads[k],
					   16384, &why);
		FUZZ_ASSERT(rc2 == ZTP_OK && p.head_len == h.head_len &&
			    p.status == h.status &&
			    p.content_length == h.content_length &&
			    p.close == h.close &&
			    p.retry_after == h.retry_after);
		cut = h.head_len - 1;
		rc2 =
		    ztp__http_head_parse(&p, data, cut, heads[k], 16384, &why);
		FUZZ_ASSERT(rc2 != ZTP_OK);
	}

	rc = ztp__proxy_status((const char *)data, size, &st);
	FUZZ_ASSERT(rc == ZTP_OK || rc == ZTP_EPARSE);
	FUZZ_ASSERT(rc < 0 ? st == 0 : st >= 100 && st <= 599);

	/* A certificate's PEM into DER: bounded by the buffer, and the DER
	 * re-encoded is the block's body without its line breaks. */
	{
		static uint8_t der[8192];
		static char b64[11000];
		size_t n = ztp__pem_der(der, sizeof(der), (const char *)data,
					size),
		       m;

		char serial[41];

		if (n > 0) {
			FUZZ_ASSERT(n <= sizeof(der) && n <= size);
			m = ztp__b64(b64, sizeof(b64), der, n);
			FUZZ_ASSERT(m > 0 && m <= size);
		}
		/* The serial, of the DER and of the raw bytes: in bounds,
		 * lowercase hex without a leading zero. */
		for (i = 0; i < 2; i++) {
			m = i == 0 ? ztp__der_serial_hex(serial, sizeof(serial),
							 der, n)
				   : ztp__der_serial_hex(serial, sizeof(serial),
							 data, size);
			FUZZ_ASSERT(m < sizeof(serial));
			FUZZ_ASSERT(m == 0 ||
				    (serial[0] != '0' && strlen(serial) == m));
		}
	}

	if (size < sizeof(url)) {
		memcpy(url, data, size);
		url[size] = '\0';
		if (strlen(url) == size &&
		    ztp__proxy_parse(&px, url, &why) == ZTP_OK) {
			FUZZ_ASSERT(px.port >= 1 && px.host[0] != '\0');
			FUZZ_ASSERT(px.url_len <= size && px.url_len >= 10);
			for (i = 0; px.host[i] != '\0'; i++)
				FUZZ_ASSERT(
				    px.host[i] != '/' && px.host[i] != '@' &&
				    px.host[i] > 0x20 && px.host[i] < 0x7f);
		}
		if (strlen(url) == size &&
		    ztp__url_parse(url, host, sizeof(host), &port) == ZTP_OK) {
			FUZZ_ASSERT(port >= 1 && host[0] != '\0');
			for (i = 0; host[i] != '\0'; i++)
				FUZZ_ASSERT(host[i] != '/' && host[i] != '@' &&
					    host[i] != '?' && host[i] > 0x20 &&
					    host[i] < 0x7f);
		}
	}
	return 0;
}
