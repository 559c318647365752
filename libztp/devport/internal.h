/*
 * libztp — internals of the mbedTLS port (libztp-device-mbedtls). Never
 * installed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ZTP_DEVPORT_INTERNAL_H
#define ZTP_DEVPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <ztp/port_mbedtls.h>

#include "devport/host.h"

/* The port's state: one per device. */
typedef struct ztp__mt {
	ztp__lh h; /* first: the port's ctx is also a ztp__lh */
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;		/* ca_file */
	mbedtls_pk_context factory_key; /* factory_key */
	mbedtls_x509_crt factory_chain; /* factory_cert: leaf, then chain */
	char *factory_pem;		/* factory_cert as read */
	size_t factory_pem_len;
	bool pin_set;
	uint8_t pin[32];  /* server_key_sha256 */
	ztp__proxy proxy; /* HTTP proxy for CONNECT; port 0: none */
	int connect_ms, io_ms;
	bool p384; /* key_type "ec-p384": keys it generates are P-384 */
} ztp__mt;

/* Set the port's detail ("what: mbedTLS's reason"); returns code. */
int ztp__mt_fail(ztp__mt *m, int code, const char *what, int mbed);
/* Parse PEM certificates (len bytes) into crt. */
int ztp__mt_parse_certs(ztp__mt *m, mbedtls_x509_crt *crt, const char *pem,
			size_t len);
/* The platform's entropy (getrandom(2)) for CTR-DRBG's seed and reseeds:
 * the operating system's pool, without mbedTLS's entropy accumulator
 * (38 KB of heap in Debian's build). */
int ztp__mt_entropy(void *ctx, unsigned char *out, size_t len);
/* Constant-time comparison. */
bool ztp__mt_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* Fill in the port's TLS and crypto functions. */
void ztp__mt_port_init(ztp__mt *m);

#endif /* ZTP_DEVPORT_INTERNAL_H */
