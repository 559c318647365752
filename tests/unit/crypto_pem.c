/*
 * Core crypto: PEM and DER certificates, requests and keys, fingerprints,
 * serial numbers.
 */
#include "test_crypto.h"

/* ------------------------------------------------------------------ PEM / DER
 */

START_TEST(test_pem_cert)
{
	X509 *x = simple_cert("dev-001"), *y = NULL;
	char *pem = cert_pem(x), *s;
	unsigned char *der = NULL;
	int derlen = i2d_X509(x, &der);

	ck_assert_rc(ztp__pem_cert(&y, pem, strlen(pem)), ZTP_OK);
	ck_assert_int_eq(X509_cmp(x, y), 0);
	X509_free(y);

	/* Whitespace around the block is fine. */
	s = concat(" \n\t\r\n", pem);
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_OK);
	X509_free(y);
	free(s);
	s = concat(pem, "\n\n  \n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_OK);
	X509_free(y);
	free(s);

	/* CRLF line ends and other line widths. */
	s = wrap_pem("CERTIFICATE", der, (size_t)derlen, "\r\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_OK);
	ck_assert_int_eq(X509_cmp(x, y), 0);
	X509_free(y);
	ztp_free(s);

	/* Text before the block: OpenSSL's reader would skip it. */
	s = concat("Subject: evil\n", pem);
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ck_assert_ptr_null(y);
	free(s);
	/* Text after. */
	s = concat(pem, "trailer\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	free(s);
	/* A second block. */
	s = concat(pem, pem);
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	free(s);
	/* A NUL byte after the block, with the explicit length. */
	{
		size_t n = strlen(pem);
		char *z = malloc(n + 2);

		memcpy(z, pem, n);
		z[n] = '\0';
		z[n + 1] = '\n';
		ck_assert_rc(ztp__pem_cert(&y, z, n + 2), ZTP_EPARSE);
		free(z);
	}
	/* Truncated. */
	ck_assert_rc(ztp__pem_cert(&y, pem, strlen(pem) - 30), ZTP_EPARSE);
	/* Empty and whitespace only. */
	ck_assert_rc(ztp__pem_cert(&y, "", 0), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_cert(&y, " \n", 2), ZTP_EPARSE);
	/* Wrong label. */
	s = wrap_pem("X509 CRL", der, (size_t)derlen, "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ztp_free(s);
	s = wrap_pem("TRUSTED CERTIFICATE", der, (size_t)derlen, "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ztp_free(s);
	/* Mismatched END label. */
	{
		char *m = strdup(pem);
		char *e = strstr(m, "-----END CERTIFICATE");

		memcpy(e + 9, "CERTIFICATF", 11);
		ck_assert_rc(ztp__pem_cert(&y, m, strlen(m)), ZTP_EPARSE);
		free(m);
	}
	/* Headers inside the body. */
	{
		const char *nl = strchr(pem, '\n');
		size_t head = (size_t)(nl - pem) + 1;
		char *h = malloc(strlen(pem) + 32);

		memcpy(h, pem, head);
		strcpy(h + head, "Comment: hi\n");
		strcat(h, pem + head);
		ck_assert_rc(ztp__pem_cert(&y, h, strlen(h)), ZTP_EPARSE);
		free(h);
	}
	/* Over the size limit, before any parsing. */
	{
		size_t big = ZTP_PEM_MAX + 1;
		char *b = malloc(big);

		memset(b, ' ', big);
		ck_assert_rc(ztp__pem_cert(&y, b, big), ZTP_ETOOBIG);
		free(b);
	}
	ck_assert_rc(ztp__pem_cert(NULL, pem, strlen(pem)), ZTP_EINVAL);
	ck_assert_rc(ztp__pem_cert(&y, NULL, 5), ZTP_EINVAL);
	OPENSSL_free(der);
	ztp_free(pem);
	X509_free(x);
}
END_TEST

START_TEST(test_pem_cert_trailing_der)
{
	X509 *x = simple_cert("dev-001"), *y = NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	uint8_t *longer = malloc((size_t)n + 2);
	char *s;

	memcpy(longer, der, (size_t)n);
	longer[n] = 0x00;
	longer[n + 1] = 0x00;
	s = wrap_pem("CERTIFICATE", longer, (size_t)n + 2, "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	assert_detail("trailing");
	ck_assert_ptr_null(y);
	ztp_free(s);
	/* Garbage DER. */
	s = wrap_pem("CERTIFICATE", (const uint8_t *)"\x30\x03\x02\x01\x01", 5,
		     "\n");
	ck_assert_rc(ztp__pem_cert(&y, s, strlen(s)), ZTP_EPARSE);
	ztp_free(s);
	ck_assert_int_eq(ERR_peek_error(), 0);
	free(longer);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

START_TEST(test_der_cert)
{
	X509 *x = simple_cert("dev-001"), *y = NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	uint8_t *longer = malloc((size_t)n + 1);

	ck_assert_rc(ztp__der_cert(&y, der, (size_t)n), ZTP_OK);
	ck_assert_int_eq(X509_cmp(x, y), 0);
	X509_free(y);
	y = NULL;
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	ck_assert_rc(ztp__der_cert(&y, longer, (size_t)n + 1), ZTP_EPARSE);
	ck_assert_ptr_null(y);
	ck_assert_rc(ztp__der_cert(&y, der, (size_t)n - 1), ZTP_EPARSE);
	ck_assert_rc(ztp__der_cert(&y, der, 0), ZTP_EPARSE);
	ck_assert_rc(ztp__der_cert(&y, der, ZTP_PEM_MAX + 1), ZTP_ETOOBIG);
	ck_assert_rc(ztp__der_cert(&y, NULL, 3), ZTP_EINVAL);
	free(longer);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

START_TEST(test_pem_certs)
{
	X509 *a = simple_cert("dev-a"), *b = simple_cert("dev-b");
	char *pa = cert_pem(a), *pb = cert_pem(b), *two, *three, *s;
	STACK_OF(X509) *sk = NULL;
	X509_REQ *req = X509_REQ_new();
	char *csr = NULL;

	ck_assert_rc(ztp__pem_certs(&sk, pa, strlen(pa), 1), ZTP_OK);
	ck_assert_int_eq(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	two = concat(pa, pb);
	ck_assert_rc(ztp__pem_certs(&sk, two, strlen(two), ZTP_CHAIN_MAX),
		     ZTP_OK);
	ck_assert_int_eq(sk_X509_num(sk), 2);
	/* Order is preserved. */
	ck_assert_int_eq(X509_cmp(sk_X509_value(sk, 0), a), 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(sk, 1), b), 0);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;
	/* Over the count. */
	three = concat(two, pa);
	ck_assert_rc(ztp__pem_certs(&sk, three, strlen(three), 2), ZTP_ETOOBIG);
	ck_assert_ptr_null(sk);
	ck_assert_rc(ztp__pem_certs(&sk, three, strlen(three), 3), ZTP_OK);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;
	/* Text between blocks. */
	s = malloc(strlen(pa) + strlen(pb) + 8);
	strcpy(s, pa);
	strcat(s, "junk\n");
	strcat(s, pb);
	ck_assert_rc(ztp__pem_certs(&sk, s, strlen(s), 4), ZTP_EPARSE);
	free(s);
	/* A block of another kind. */
	ck_assert(X509_REQ_set_pubkey(req, k_p256) == 1);
	ck_assert(X509_REQ_sign(req, k_p256, EVP_sha256()) > 0);
	ck_assert_rc(ztp__csr_to_pem(&csr, req), ZTP_OK);
	s = concat(pa, csr);
	ck_assert_rc(ztp__pem_certs(&sk, s, strlen(s), 4), ZTP_EPARSE);
	free(s);
	ck_assert_rc(ztp__pem_certs(&sk, "", 0, 4), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_certs(&sk, "\n \n", 3, 4), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_certs(&sk, pa, strlen(pa), 0), ZTP_EINVAL);
	ck_assert_rc(ztp__pem_certs(&sk, pa, 3 * ZTP_PEM_MAX, 2), ZTP_ETOOBIG);
	ck_assert_ptr_null(sk);
	ztp_free(csr);
	X509_REQ_free(req);
	free(two);
	free(three);
	ztp_free(pa);
	ztp_free(pb);
	X509_free(a);
	X509_free(b);
}
END_TEST

START_TEST(test_pem_csr)
{
	X509_REQ *req = X509_REQ_new(), *got = NULL;
	char *pem = NULL, *s;
	unsigned char *der = NULL;
	int n;
	X509 *x = simple_cert("dev-001");
	char *cpem = cert_pem(x);

	ck_assert(X509_REQ_set_pubkey(req, k_p384) == 1);
	ck_assert(X509_REQ_sign(req, k_p384, EVP_sha384()) > 0);
	ck_assert_rc(ztp__csr_to_pem(&pem, req), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(pem, "BEGIN CERTIFICATE REQUEST"));
	ck_assert_rc(ztp__pem_csr(&got, pem, strlen(pem)), ZTP_OK);
	ck_assert_int_eq(X509_REQ_verify(got, k_p384), 1);
	X509_REQ_free(got);
	got = NULL;
	n = i2d_X509_REQ(req, &der);
	s = wrap_pem("NEW CERTIFICATE REQUEST", der, (size_t)n, "\n");
	ck_assert_rc(ztp__pem_csr(&got, s, strlen(s)), ZTP_OK);
	X509_REQ_free(got);
	got = NULL;
	ztp_free(s);
	/* A certificate is not a CSR. */
	ck_assert_rc(ztp__pem_csr(&got, cpem, strlen(cpem)), ZTP_EPARSE);
	/* Two CSRs. */
	s = concat(pem, pem);
	ck_assert_rc(ztp__pem_csr(&got, s, strlen(s)), ZTP_EPARSE);
	free(s);
	/* Trailing DER. */
	{
		uint8_t *l = malloc((size_t)n + 1);

		memcpy(l, der, (size_t)n);
		l[n] = 0x05;
		s = wrap_pem("CERTIFICATE REQUEST", l, (size_t)n + 1, "\n");
		ck_assert_rc(ztp__pem_csr(&got, s, strlen(s)), ZTP_EPARSE);
		ztp_free(s);
		free(l);
	}
	ck_assert_ptr_null(got);
	ck_assert_rc(ztp__csr_to_pem(NULL, req), ZTP_EINVAL);
	ck_assert_rc(ztp__csr_to_pem(&s, NULL), ZTP_EINVAL);
	OPENSSL_free(der);
	ztp_free(pem);
	ztp_free(cpem);
	X509_free(x);
	X509_REQ_free(req);
}
END_TEST

static char *traditional_pem(EVP_PKEY *k, const char *pass)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	char *s;

	ck_assert(PEM_write_bio_PrivateKey_traditional(
		      b, k, pass ? EVP_aes_128_cbc() : NULL,
		      (unsigned char *)(uintptr_t)pass,
		      pass ? (int)strlen(pass) : 0, NULL, NULL) == 1);
	BIO_get_mem_ptr(b, &m);
	s = strndup(m->data, m->length);
	BIO_free(b);
	return s;
}

START_TEST(test_pem_privkey)
{
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed25519, k_rsa};
	EVP_PKEY *got = NULL;
	char *pem = NULL;
	size_t i;

	for (i = 0; i < ZTP__ARRAY_LEN(keys); i++) {
		/* Unencrypted PKCS#8. */
		ck_assert_rc(ztp__privkey_to_pem(&pem, keys[i], NULL), ZTP_OK);
		ck_assert_ptr_nonnull(strstr(pem, "BEGIN PRIVATE KEY"));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		EVP_PKEY_free(got);
		got = NULL;
		ztp__free_secret(pem, strlen(pem));
		/* Encrypted PKCS#8. */
		ck_assert_rc(ztp__privkey_to_pem(&pem, keys[i], "s3cret"),
			     ZTP_OK);
		ck_assert_ptr_nonnull(
		    strstr(pem, "BEGIN ENCRYPTED PRIVATE KEY"));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), "s3cret"),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		EVP_PKEY_free(got);
		got = NULL;
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), "wrong"),
			     ZTP_ECRYPTO);
		assert_detail("wrong passphrase");
		ck_assert_ptr_null(got);
		ck_assert_int_eq(ERR_peek_error(), 0);
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_EINVAL);
		assert_detail("passphrase");
		ztp__free_secret(pem, strlen(pem));
		pem = NULL;
	}
	ck_assert_rc(ztp__privkey_to_pem(&pem, k_p256, ""), ZTP_EINVAL);
	ck_assert_rc(ztp__privkey_to_pem(&pem, NULL, NULL), ZTP_EINVAL);
}
END_TEST

START_TEST(test_pem_privkey_traditional)
{
	EVP_PKEY *keys[] = {k_p256, k_rsa};
	const char *labels[] = {"BEGIN EC PRIVATE KEY",
				"BEGIN RSA PRIVATE KEY"};
	const char *names[] = {"ec-p256", "rsa-2048"};
	EVP_PKEY *got = NULL;
	char *pem, name[32];
	uint8_t *sig;
	size_t i, siglen;
	ztp__sigalg alg;

	for (i = 0; i < ZTP__ARRAY_LEN(keys); i++) {
		pem = traditional_pem(keys[i], NULL);
		ck_assert_ptr_nonnull(strstr(pem, labels[i]));
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		/* Usable like any other key. */
		ck_assert_rc(ztp__key_describe(name, sizeof(name), got),
			     ZTP_OK);
		ck_assert_str_eq(name, names[i]);
		ck_assert_rc(ztp__sigalg_for_key(&alg, got), ZTP_OK);
		ck_assert_rc(
		    ztp__sig_sign(&sig, &siglen, got, alg, msg, sizeof(msg)),
		    ZTP_OK);
		ck_assert_rc(ztp__sig_verify(keys[i], alg, msg, sizeof(msg),
					     sig, siglen),
			     ZTP_OK);
		ztp_free(sig);
		EVP_PKEY_free(got);
		got = NULL;
		free(pem);
		/* RFC 1421-style encryption headers. */
		pem = traditional_pem(keys[i], "old-school");
		ck_assert_ptr_nonnull(strstr(pem, "Proc-Type: 4,ENCRYPTED"));
		ck_assert_rc(
		    ztp__pem_privkey(&got, pem, strlen(pem), "old-school"),
		    ZTP_OK);
		ck_assert_int_eq(EVP_PKEY_eq(got, keys[i]), 1);
		EVP_PKEY_free(got);
		got = NULL;
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), "nope"),
			     ZTP_ECRYPTO);
		ck_assert_ptr_null(got);
		ck_assert_int_eq(ERR_peek_error(), 0);
		ck_assert_rc(ztp__pem_privkey(&got, pem, strlen(pem), NULL),
			     ZTP_EINVAL);
		free(pem);
	}
}
END_TEST

START_TEST(test_pem_privkey_reject)
{
	EVP_PKEY *got = NULL;
	char *pem = NULL, *s;
	BIO *b;
	BUF_MEM *m;
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	uint8_t *l;
	int n;

	/* A public key is not a private key. */
	ck_assert_rc(ztp__pem_privkey(&got, explicit_ec_pub,
				      strlen(explicit_ec_pub), NULL),
		     ZTP_EPARSE);
	/* Trailing bytes after the PKCS#8 DER. */
	p8 = EVP_PKEY2PKCS8(k_p256);
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	l = malloc((size_t)n + 1);
	memcpy(l, der, (size_t)n);
	l[n] = 0;
	s = wrap_pem("PRIVATE KEY", l, (size_t)n + 1, "\n");
	ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL), ZTP_EPARSE);
	ztp_free(s);
	s = wrap_pem("PRIVATE KEY", l, (size_t)n, "\n");
	ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL), ZTP_OK);
	EVP_PKEY_free(got);
	got = NULL;
	/* Key preceded by EC PARAMETERS (openssl ecparam -genkey output). */
	b = BIO_new(BIO_s_mem());
	ck_assert(BIO_puts(b, "-----BEGIN EC PARAMETERS-----\n"
			      "BggqhkjOPQMBBw==\n"
			      "-----END EC PARAMETERS-----\n") > 0);
	ck_assert(BIO_write(b, s, (int)strlen(s)) > 0);
	BIO_get_mem_ptr(b, &m);
	ck_assert_rc(ztp__pem_privkey(&got, m->data, m->length, NULL),
		     ZTP_EPARSE);
	BIO_free(b);
	ztp_free(s);
	/* Two keys. */
	ck_assert_rc(ztp__privkey_to_pem(&pem, k_p256, NULL), ZTP_OK);
	s = concat(pem, pem);
	ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL), ZTP_EPARSE);
	free(s);
	/* A label naming another algorithm than the DER holds. */
	s = traditional_pem(k_p256, NULL);
	{
		char *b1 = strstr(s, "BEGIN EC"), *e1 = strstr(s, "END EC");

		ck_assert_ptr_nonnull(b1);
		ck_assert_ptr_nonnull(e1);
		memcpy(b1 + 6, "XX", 2);
		memcpy(e1 + 4, "XX", 2);
		ck_assert_rc(ztp__pem_privkey(&got, s, strlen(s), NULL),
			     ZTP_EPARSE);
		assert_detail("unsupported PEM block");
	}
	free(s);
	s = traditional_pem(k_p256, NULL);
	{
		/* "EC PRIVATE KEY" -> "RSA PRIVATE KEY" is not expressible
		 * in place; rebuild the block with the RSA label. */
		BIO *bb = BIO_new_mem_buf(s, -1);
		char *nm = NULL, *hd = NULL;
		unsigned char *dd = NULL;
		long dl = 0;
		char *r;

		ck_assert(PEM_read_bio(bb, &nm, &hd, &dd, &dl) == 1);
		r = wrap_pem("RSA PRIVATE KEY", dd, (size_t)dl, "\n");
		ck_assert_rc(ztp__pem_privkey(&got, r, strlen(r), NULL),
			     ZTP_EPARSE);
		ztp_free(r);
		OPENSSL_free(nm);
		OPENSSL_free(hd);
		OPENSSL_free(dd);
		BIO_free(bb);
	}
	free(s);
	ck_assert_rc(ztp__pem_privkey(&got, "", 0, NULL), ZTP_EPARSE);
	ck_assert_rc(ztp__pem_privkey(NULL, pem, strlen(pem), NULL),
		     ZTP_EINVAL);
	ck_assert_ptr_null(got);
	ztp__free_secret(pem, strlen(pem));
	free(l);
	OPENSSL_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8);
}
END_TEST

START_TEST(test_fingerprints)
{
	X509 *x = simple_cert("dev-001");
	uint8_t fp[32], want[32], fk[32], fk2[32];
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	ck_assert_rc(ztp__cert_fingerprint(fp, x), ZTP_OK);
	ck_assert_rc(ztp__sha256(want, der, (size_t)n), ZTP_OK);
	ck_assert(memcmp(fp, want, 32) == 0);
	OPENSSL_free(der);
	der = NULL;
	ck_assert_rc(ztp__pubkey_fingerprint(fk, k_p256), ZTP_OK);
	n = i2d_PUBKEY(k_p256, &der);
	ck_assert_rc(ztp__sha256(want, der, (size_t)n), ZTP_OK);
	ck_assert(memcmp(fk, want, 32) == 0);
	/* The certificate's key has the same fingerprint as the key. */
	ck_assert_rc(ztp__pubkey_fingerprint(fk2, X509_get0_pubkey(x)), ZTP_OK);
	ck_assert(memcmp(fk, fk2, 32) == 0);
	ck_assert_rc(ztp__pubkey_fingerprint(fk2, k_p256b), ZTP_OK);
	ck_assert(memcmp(fk, fk2, 32) != 0);
	ck_assert_rc(ztp__cert_fingerprint(fp, NULL), ZTP_EINVAL);
	ck_assert_rc(ztp__pubkey_fingerprint(NULL, k_p256), ZTP_EINVAL);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

static void set_serial_hex(X509 *x, const char *hex)
{
	BIGNUM *bn = NULL;

	ck_assert_int_gt(BN_hex2bn(&bn, hex), 0);
	ck_assert_ptr_nonnull(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
}

/* One form of a serial everywhere: lowercase hex without leading zeros,
 * at most cap - 1 digits, positive. */
START_TEST(test_cert_serial_hex)
{
	X509 *x = simple_cert("dev-001");
	char out[41];

	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_OK);
	ck_assert_str_eq(out, "1092");
	set_serial_hex(x, "0ABC");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_OK);
	ck_assert_str_eq(out, "abc");
	/* 20 octets, the first below 0x10: 39 digits. */
	set_serial_hex(x, "0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_OK);
	ck_assert_uint_eq(strlen(out), 39);
	ck_assert_rc(ztp__cert_serial_hex(out, 40, x), ZTP_OK);
	ck_assert_rc(ztp__cert_serial_hex(out, 39, x), ZTP_EPROFILE);
	set_serial_hex(x, "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_EPROFILE);
	set_serial_hex(x, "0");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_EPROFILE);
	set_serial_hex(x, "-1A");
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), x), ZTP_EPROFILE);
	ck_assert_rc(ztp__cert_serial_hex(NULL, sizeof(out), x), ZTP_EINVAL);
	ck_assert_rc(ztp__cert_serial_hex(out, 0, x), ZTP_EINVAL);
	ck_assert_rc(ztp__cert_serial_hex(out, sizeof(out), NULL), ZTP_EINVAL);
	X509_free(x);
}
END_TEST

void crypto_tcases_pem(Suite *s)
{
	TCase *tc;

	tc = tcase_create("pem_cert");
	tcase_add_test(tc, test_pem_cert);
	tcase_add_test(tc, test_pem_cert_trailing_der);
	suite_add_tcase(s, tc);
	tc = tcase_create("der_cert");
	tcase_add_test(tc, test_der_cert);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_certs");
	tcase_add_test(tc, test_pem_certs);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_csr");
	tcase_add_test(tc, test_pem_csr);
	suite_add_tcase(s, tc);
	tc = tcase_create("pem_privkey");
	tcase_add_test(tc, test_pem_privkey);
	tcase_add_test(tc, test_pem_privkey_traditional);
	tcase_add_test(tc, test_pem_privkey_reject);
	suite_add_tcase(s, tc);
	tc = tcase_create("fingerprint");
	tcase_add_test(tc, test_fingerprints);
	tcase_add_test(tc, test_cert_serial_hex);
	suite_add_tcase(s, tc);
}
