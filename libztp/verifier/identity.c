/*
 * libztp — device identity: chain to a manufacturer trust anchor, issuer
 * allowlist, depth limit, validity with leeway and the device profile.
 * SPDX-License-Identifier: Apache-2.0
 *
 * OpenSSL builds and verifies the path; the checks it leaves to the caller
 * are done here. Deliberate choices:
 * - The trust store holds the configured anchors only. Certificates from
 *   the request and the configured issuing CAs are path-building hints
 *   (the `untrusted` stack) and never become anchors;
 *   X509_V_FLAG_PARTIAL_CHAIN is never set, so a chain must end at an
 *   anchor.
 * - Validity is checked here, not by OpenSSL (X509_V_FLAG_NO_CHECK_TIME),
 *   so that the leeway is applied exactly and with the injected clock: a
 *   certificate is valid at t when notBefore - leeway <= t <= notAfter +
 *   leeway, for every certificate of the chain including the anchor.
 * - X509_V_FLAG_X509_STRICT is on, so OpenSSL also refuses malformed CA
 *   certificates; intermediates whose EKU excludes clientAuth are refused
 *   below, as the SSL-client purpose would.
 * - The path is evaluated first and the leaf profile last, so that the
 *   reason code names the most fundamental problem: a certificate that
 *   does not chain is `untrusted_certificate` whatever its profile.
 */
#include "verifier/internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* ---------------------------------------------------------------- signatures
 */

void ztp__verifier_sig_cache_clear(ztp_verifier *v)
{
	free(v->sig_child);
	free(v->sig_parent);
	v->sig_child = v->sig_parent = NULL;
	v->n_sig = 0;
}

static bool is_issuer(ztp_verifier *v, X509 *x)
{
	for (int i = 0; i < sk_X509_num(v->issuers); i++)
		if (sk_X509_value(v->issuers, i) == x)
			return true;
	return false;
}

static bool sig_cached(ztp_verifier *v, X509 *child, X509 *parent)
{
	for (size_t i = 0; i < v->n_sig; i++)
		if (v->sig_child[i] == child && v->sig_parent[i] == parent)
			return true;
	return false;
}

/*
 * Verify every configured issuing CA's path once, with OpenSSL's own
 * signature checks, and remember which signature links between configured
 * objects held: a request whose path runs through those very objects need
 * not verify them again (the intermediate is verified once, not per
 * request). A link is keyed by object identity, and the objects are
 * immutable until the configuration changes, when the cache is rebuilt.
 * Validity is not cached: it is checked per request at the request's
 * time. An issuer that does not verify here is simply not cached.
 */
int ztp__verifier_sig_cache(ztp_verifier *v)
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) * chain;
	size_t cap;
	int rc = ZTP_OK;

	ztp__verifier_sig_cache_clear(v);
	if (v->trust == NULL || v->issuers == NULL)
		return ZTP_OK;
	cap = (size_t)sk_X509_num(v->issuers) * (ZTP_CHAIN_MAX + 1);
	v->sig_child = ztp__calloc(cap, sizeof(X509 *));
	v->sig_parent = ztp__calloc(cap, sizeof(X509 *));
	ZTP_ENSURE(v->sig_child != NULL && v->sig_parent != NULL, ZTP_ENOMEM,
		   "out of memory");
	ctx = X509_STORE_CTX_new();
	ZTP_ENSURE_OSSL(ctx != NULL, ZTP_ENOMEM, "verify context");
	for (int i = 0; i < sk_X509_num(v->issuers); i++) {
		X509_VERIFY_PARAM *param;
		int n;

		X509_STORE_CTX_cleanup(ctx);
		ZTP_ENSURE_OSSL(X509_STORE_CTX_init(
				    ctx, v->trust, sk_X509_value(v->issuers, i),
				    v->issuers) == 1,
				ZTP_ECRYPTO, "verify context");
		param = X509_STORE_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
		X509_VERIFY_PARAM_set_flags(
		    param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_NO_CHECK_TIME);
		if (X509_verify_cert(ctx) != 1) {
			ERR_clear_error();
			continue;
		}
		chain = X509_STORE_CTX_get0_chain(ctx);
		n = sk_X509_num(chain);
		for (int k = 0; k + 1 < n && v->n_sig < cap; k++) {
			X509 *c = sk_X509_value(chain, k),
			     *p = sk_X509_value(chain, k + 1);

			if (is_issuer(v, c) && !sig_cached(v, c, p)) {
				v->sig_child[v->n_sig] = c;
				v->sig_parent[v->n_sig] = p;
				v->n_sig++;
			}
		}
	}
cleanup:
	X509_STORE_CTX_free(ctx);
	if (rc < 0)
		ztp__verifier_sig_cache_clear(v);
	return rc;
}

/* Replaces OpenSSL's internal_verify (X509_STORE_CTX_set_verify): the
 * same signature checks from the top of the path down, skipping links
 * verified at configuration time. Times are not checked here
 * (X509_V_FLAG_NO_CHECK_TIME; see within()). The anchor's self-signature
 * is not checked, as OpenSSL does not by default. */
static int verify_signatures(X509_STORE_CTX *ctx)
{
	ztp_verifier *v = X509_STORE_CTX_get_app_data(ctx);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);
	int n = sk_X509_num(chain);

	for (int i = n - 2; i >= 0; i--) {
		X509 *xs = sk_X509_value(chain, i),
		     *xi = sk_X509_value(chain, i + 1);
		EVP_PKEY *pk;
		int err = X509_V_OK;

		if (i > 0 && sig_cached(v, xs, xi))
			continue;
		pk = X509_get0_pubkey(xi);
		/* RFC 5280 6.1.4 (n), as OpenSSL's own step does: a CA whose
		 * keyUsage omits keyCertSign may not sign certificates. */
		if ((X509_get_extension_flags(xi) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(xi) & KU_KEY_CERT_SIGN))
			err = X509_V_ERR_KEYUSAGE_NO_CERTSIGN;
		else if (pk == NULL)
			err = X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY;
		else if (X509_verify(xs, pk) <= 0)
			err = X509_V_ERR_CERT_SIGNATURE_FAILURE;
		if (err != X509_V_OK) {
			X509_STORE_CTX_set_error(ctx, err);
			X509_STORE_CTX_set_error_depth(ctx, i);
			X509_STORE_CTX_set_current_cert(ctx, xs);
			if (cb == NULL || !cb(0, ctx))
				return 0;
		}
	}
	return 1;
}

/* ---------------------------------------------------------------- profile */

static int leaf_profile(ztp__vdec *d, X509 *leaf,
			char device_id[ZTP_ID_MAX + 1])
{
	BASIC_CONSTRAINTS *bc = NULL;
	ztp__keypolicy kp;
	uint32_t flags;
	int crit = -1, rc = ZTP_OK;
	EVP_PKEY *pub;

	flags = X509_get_extension_flags(leaf);
	if (X509_get_version(leaf) != X509_VERSION_3)
		return ztp__reject(
		    d, ZTP__W_BAD_CERTIFICATE_PROFILE, ZTP_EPROFILE,
		    "certificate is not an X.509 v3 certificate");
	if (flags & EXFLAG_INVALID)
		return ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE,
				   ZTP_EPROFILE,
				   "certificate has malformed or duplicate "
				   "extensions");
	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	if (bc == NULL) {
		rc =
		    ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, ZTP_EPROFILE,
				"certificate has no basicConstraints");
		goto cleanup;
	}
	if (bc->ca) {
		rc =
		    ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, ZTP_EPROFILE,
				"certificate is a CA certificate (CA:TRUE)");
		goto cleanup;
	}
	if (!(flags & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
		rc =
		    ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, ZTP_EPROFILE,
				"certificate keyUsage lacks digitalSignature");
		goto cleanup;
	}
	/* anyExtendedKeyUsage alone sets only XKU_ANYEKU: not enough. */
	if (!(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)) {
		rc = ztp__reject(
		    d, ZTP__W_BAD_CERTIFICATE_PROFILE, ZTP_EPROFILE,
		    "certificate extendedKeyUsage lacks clientAuth");
		goto cleanup;
	}
	pub = X509_get0_pubkey(leaf);
	ztp__keypolicy_default(&kp);
	if (pub == NULL || ztp__keypolicy_check(&kp, pub) < 0) {
		rc =
		    ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, ZTP_EPROFILE,
				"certificate key is not P-256, P-384, Ed25519 "
				"or RSA of 2048 bits or more");
		goto cleanup;
	}
	rc = ztp__cert_device_id(device_id, leaf);
	if (rc < 0) {
		rc = ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE, rc, "%s",
				 ztp_error_last_message());
		goto cleanup;
	}
cleanup:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int within(ztp__vdec *d, X509 *c, int depth, int64_t at, int64_t lw)
{
	int64_t nb, na;
	char when[32];

	if (ztp__asn1_time(&nb, X509_get0_notBefore(c)) < 0 ||
	    ztp__asn1_time(&na, X509_get0_notAfter(c)) < 0)
		return ztp__reject(d, ZTP__W_BAD_CERTIFICATE_PROFILE,
				   ZTP_EPROFILE,
				   "certificate at depth %d has a malformed "
				   "validity time",
				   depth);
	if (at < nb - lw) {
		ztp__time_rfc3339(when, nb);
		return ztp__reject(d, ZTP__W_CERTIFICATE_EXPIRED, ZTP_EEXPIRED,
				   "certificate at depth %d is not valid "
				   "before %s",
				   depth, when);
	}
	if (at > na + lw) {
		ztp__time_rfc3339(when, na);
		return ztp__reject(d, ZTP__W_CERTIFICATE_EXPIRED, ZTP_EEXPIRED,
				   "certificate at depth %d expired at %s",
				   depth, when);
	}
	return ZTP_OK;
}

int ztp__verifier_identity(ztp_verifier *v, ztp__vdec *d, X509 *leaf,
			   STACK_OF(X509) * hints, int64_t at,
			   char device_id[ZTP_ID_MAX + 1])
{
	return ztp__verifier_identity_ex(v, d, leaf, hints, at, device_id,
					 NULL);
}

int ztp__verifier_identity_ex(ztp_verifier *v, ztp__vdec *d, X509 *leaf,
			      STACK_OF(X509) * hints, int64_t at,
			      char device_id[ZTP_ID_MAX + 1],
			      uint8_t issuer_fp[32])
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL, *chain;
	X509_VERIFY_PARAM *param;
	uint8_t fp[32];
	int rc = ZTP_OK, n, err;
	bool allowed = false;

	device_id[0] = '\0';
	if (v->trust == NULL || v->issuers == NULL) {
		rc = ztp__reject(d, ZTP__W_NOT_CONFIGURED, ZTP_ESTATE,
				 "no trust anchors or issuing CAs configured");
		goto cleanup;
	}
	/* The configured issuers first: they are what a genuine chain uses,
	 * and path building tries hints in order. */
	untrusted = sk_X509_dup(v->issuers);
	ZTP_ENSURE_OSSL(untrusted != NULL, ZTP_ENOMEM, "chain hints");
	for (int i = 0; hints != NULL && i < sk_X509_num(hints); i++)
		ZTP_ENSURE_OSSL(
		    sk_X509_push(untrusted, sk_X509_value(hints, i)) > 0,
		    ZTP_ENOMEM, "chain hints");
	ctx = X509_STORE_CTX_new();
	ZTP_ENSURE_OSSL(ctx != NULL, ZTP_ENOMEM, "verify context");
	ZTP_ENSURE_OSSL(X509_STORE_CTX_init(ctx, v->trust, leaf, untrusted) ==
			    1,
			ZTP_ECRYPTO, "verify context");
	X509_STORE_CTX_set_app_data(ctx, v);
	X509_STORE_CTX_set_verify(ctx, verify_signatures);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT |
					       X509_V_FLAG_NO_CHECK_TIME);
	/* OpenSSL's own limit is one looser than ours; ours is exact below. */
	X509_VERIFY_PARAM_set_depth(param, v->max_depth + 1);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		ERR_clear_error();
		rc =
		    ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE, ZTP_EUNTRUSTED,
				"certificate chain does not verify: %s "
				"(at depth %d)",
				X509_verify_cert_error_string(err),
				X509_STORE_CTX_get_error_depth(ctx));
		goto cleanup;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	n = chain == NULL ? 0 : sk_X509_num(chain);
	/* A leaf that is itself an anchor proves nothing about a device. */
	if (n < 2) {
		rc =
		    ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE, ZTP_EUNTRUSTED,
				"certificate is a trust anchor itself");
		goto cleanup;
	}
	if (n - 2 > v->max_depth) {
		rc =
		    ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE, ZTP_EUNTRUSTED,
				"chain has %d intermediate CAs, at most %d "
				"allowed",
				n - 2, v->max_depth);
		goto cleanup;
	}
	for (int i = 0; i < n; i++)
		ZTP_CHECK(within(d, sk_X509_value(chain, i), i, at, v->leeway));
	/* Path building takes the configured issuers first, so the issuer
	 * is normally one of those very objects; a copy sent by the device
	 * is compared by its DER. */
	allowed = is_issuer(v, sk_X509_value(chain, 1));
	if (!allowed) {
		ZTP_CHECK(ztp__cert_fingerprint(fp, sk_X509_value(chain, 1)));
		for (int i = 0; i < sk_X509_num(v->issuers); i++)
			if (memcmp(fp, v->issuer_fp[i], sizeof(fp)) == 0)
				allowed = true;
	}
	if (!allowed) {
		rc = ztp__reject(d, ZTP__W_ISSUER_NOT_ALLOWED, ZTP_EUNTRUSTED,
				 "certificate issuer is not an allowed issuing "
				 "CA");
		goto cleanup;
	}
	/* What OpenSSL's SSL-client purpose would check on the CAs, done
	 * after path validation so that the reason code names the first
	 * problem of the path: an intermediate whose EKU excludes
	 * clientAuth may not vouch for a device. The anchor is configured
	 * explicitly and exempt, as OpenSSL exempts trusted certificates. */
	for (int i = 1; i < n - 1; i++) {
		if (X509_check_purpose(sk_X509_value(chain, i),
				       X509_PURPOSE_SSL_CLIENT, 1) != 1) {
			ERR_clear_error();
			rc = ztp__reject(d, ZTP__W_UNTRUSTED_CERTIFICATE,
					 ZTP_EUNTRUSTED,
					 "CA certificate at depth %d may not "
					 "issue client certificates",
					 i);
			goto cleanup;
		}
	}
	ZTP_CHECK(leaf_profile(d, leaf, device_id));
	if (issuer_fp != NULL)
		ZTP_CHECK(
		    ztp__cert_fingerprint(issuer_fp, sk_X509_value(chain, 1)));
cleanup:
	if (rc < 0 && d->wire == ZTP__W_NONE)
		d->wire = ZTP__W_INTERNAL_ERROR;
	if (rc < 0)
		device_id[0] = '\0';
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}
