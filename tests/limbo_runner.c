/*
 * x509-limbo through the device-identity check (the code path of
 * `ztp-verify check-cert`): every case of tests/vectors/x509-limbo-subset.json
 * is checked with its trust anchors, untrusted intermediates (also the
 * issuer allowlist, as check-cert does by default), validation time and
 * depth limit, and the verdict is compared with expected_result.
 *
 * The device profile deliberately differs from web PKI (doc/SECURITY.md,
 * "Device profile vs. web PKI (x509-limbo)"). Every case where the verdict
 * differs is listed below with the class of the difference and the wire
 * code the check gives; the test fails when a listed case stops differing,
 * when it differs for another reason, or when an unlisted case differs —
 * so any drift in either direction is caught.
 * Public API only (plus json-c to read the vectors).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <ztp/ztp.h>

#include "unit/testutil.h"

typedef struct limbo_diff {
	const char *id;
	const char *verdict; /* "accepted" or "<class>/<wire code>" */
} limbo_diff;

/* LIMBO_DIFFS */
static const limbo_diff limbo_diffs[] = {
    /* Profile: a device certificate must carry basicConstraints
     * (CA:FALSE); most web-PKI leaves here have none (the first profile
     * rule they fail; nearly all also lack EKU clientAuth). */
    {"crl::certificate-not-on-crl", "bc-required/bad_certificate_profile"},
    {"crl::certificate-serial-on-crl-different-issuer",
     "bc-required/bad_certificate_profile"},
    {"crl::issuer-valid-crlsign-and-keycertsign",
     "bc-required/bad_certificate_profile"},
    {"pathlen::ee-with-intermediate-pathlen-0",
     "bc-required/bad_certificate_profile"},
    {"pathlen::ee-with-intermediate-pathlen-1",
     "bc-required/bad_certificate_profile"},
    {"pathlen::ee-with-intermediate-pathlen-2",
     "bc-required/bad_certificate_profile"},
    {"pathlen::intermediate-pathlen-may-increase",
     "bc-required/bad_certificate_profile"},
    {"pathlen::self-issued-certs-pathlen",
     "bc-required/bad_certificate_profile"},
    {"pathlen::max-chain-depth-0", "bc-required/bad_certificate_profile"},
    {"pathlen::max-chain-depth-1", "bc-required/bad_certificate_profile"},
    {"pathological::multiple-chains-expired-intermediate",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::aki::self-signed-root-missing-aki",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::eku::ee-without-eku", "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-dns-match", "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-dns-match-more",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-ipv4-match",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-ipv6-match",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-dn-match", "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-self-issued",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::permitted-different-constraint-type",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::excluded-different-constraint-type",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::nc-permits-email-exact",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::nc-permits-email-domain",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::nc-permits-email-literal-asterisk-exact-match",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::nc-permits-email-literal-double-asterisk",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::nc-permits-email-literal-mid-asterisk",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::nc::nc-forbids-othername-noop",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::validity::notbefore-exact",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::validity::notafter-exact",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::validity::notafter-fractional",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::unknown-critical-extension-unrelated-root",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::unknown-critical-extension-unrelated-intermediate",
     "bc-required/bad_certificate_profile"},
    {"rfc5280::ee-aia", "bc-required/bad_certificate_profile"},
    {"rfc5280::no-keyusage", "bc-required/bad_certificate_profile"},
    {"rfc5280::no-basicconstraints", "bc-required/bad_certificate_profile"},
    {"webpki::nc::permitted-dns-match-noncritical",
     "bc-required/bad_certificate_profile"},
    {"webpki::nc::nc-permits-dns-san-pattern",
     "bc-required/bad_certificate_profile"},
    {"webpki::san::exact-dns-san", "bc-required/bad_certificate_profile"},
    {"webpki::san::exact-localhost-ip-san",
     "bc-required/bad_certificate_profile"},
    {"webpki::san::leftmost-wildcard-san",
     "bc-required/bad_certificate_profile"},
    /* Profile: a device certificate is never a CA certificate. */
    {"pathlen::validation-ignores-pathlen-in-leaf",
     "leaf-not-ca/bad_certificate_profile"},
    {"rfc5280::ca-as-leaf", "leaf-not-ca/bad_certificate_profile"},
    /* OpenSSL builds one path and does not search every alternative
     * through untrusted certificates; a device presents its one chain. */
    {"rfc5280::nc::nc-forbids-alternate-chain-ica",
     "single-path/untrusted_certificate"},
    {"rfc5280::nc::nc-forbids-same-chain-ica",
     "single-path/untrusted_certificate"},
    /* X509_V_FLAG_X509_STRICT: CA certificates must carry keyUsage. */
    {"crl::issuer-no-keyusage-extension", "strict-ca/untrusted_certificate"},
    /* At most 8 path-building certificates are accepted (bounded input). */
    {"cve::cve-2024-0567", "input-bounds/malformed_request"},
    /* The depth limit counts intermediate certificates, not logical
     * CAs: a self-issued re-key of an intermediate counts twice. */
    {"pathlen::max-chain-depth-1-self-issued",
     "depth-counts-certs/untrusted_certificate"},
    /* Trust anchors are self-signed roots: X509_V_FLAG_PARTIAL_CHAIN is
     * never set, so an intermediate in the trusted set does not end a path. */
    {"rfc5280::root-and-intermediate-swapped",
     "anchor-is-root/untrusted_certificate"},
};
/* END_LIMBO_DIFFS */

static int64_t parse_time(const char *s)
{
	struct tm tm;
	int off_h = 0, off_m = 0;
	char sign = '+';

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%2d:%2d", &tm.tm_year,
		   &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
		   &sign, &off_h, &off_m) < 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) -
	       (sign == '-' ? -1 : 1) * (off_h * 3600 + off_m * 60);
}

static char *concat(json_object *arr, size_t *len)
{
	size_t n = json_object_array_length(arr), total = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		total += strlen(json_object_get_string(
			     json_object_array_get_idx(arr, i))) +
			 1;
	out = calloc(1, total + 1);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i++) {
		strcat(out, json_object_get_string(
				json_object_array_get_idx(arr, i)));
		strcat(out, "\n");
	}
	*len = strlen(out);
	return out;
}

/* The class of a refusal (doc/SECURITY.md) from its code and message. */
static const char *classify(const char *code, const char *msg)
{
	if (strcmp(code, "bad_certificate_profile") == 0) {
		if (strstr(msg, "clientAuth") != NULL)
			return "eku-clientauth";
		if (strstr(msg, "basicConstraints") != NULL)
			return "bc-required";
		if (strstr(msg, "digitalSignature") != NULL)
			return "ku-digitalsignature";
		if (strstr(msg, "CA:TRUE") != NULL)
			return "leaf-not-ca";
		if (strstr(msg, "CN") != NULL)
			return "device-id";
		return "profile";
	}
	if (strcmp(code, "untrusted_certificate") == 0) {
		if (strstr(msg, "unable to get issuer certificate") != NULL)
			return "anchor-is-root";
		if (strstr(msg, "unable to get local issuer") != NULL ||
		    strstr(msg, "subtree violation") != NULL)
			return "single-path";
		if (strstr(msg, "does not include key usage") != NULL)
			return "strict-ca";
		if (strstr(msg, "intermediate CAs, at most") != NULL)
			return "depth-counts-certs";
		return "chain";
	}
	if (strcmp(code, "malformed_request") == 0)
		return "input-bounds";
	return code;
}

/* The verdict on one case: "accepted" or "<class>/<wire code>". */
static void run_case(json_object *tc, char *verdict, size_t cap)
{
	json_object *trusted, *inter, *peer, *vt, *depth;
	char *tpem, *ipem, *allow, *json = NULL;
	size_t tlen, ilen, alen;
	ztp_verifier *v = NULL;
	int64_t at = 0;
	int rc;

	ck_assert(json_object_object_get_ex(tc, "trusted_certs", &trusted));
	ck_assert(
	    json_object_object_get_ex(tc, "untrusted_intermediates", &inter));
	ck_assert(json_object_object_get_ex(tc, "peer_certificate", &peer));
	tpem = concat(trusted, &tlen);
	ipem = concat(inter, &ilen);
	alen = tlen + ilen;
	allow = malloc(alen + 1);
	ck_assert_ptr_nonnull(allow);
	memcpy(allow, tpem, tlen);
	memcpy(allow + tlen, ipem, ilen);
	allow[alen] = '\0';

	ck_assert_int_eq(ztp_verifier_new(&v), ZTP_OK);
	if (json_object_object_get_ex(tc, "validation_time", &vt) &&
	    json_object_is_type(vt, json_type_string)) {
		at = parse_time(json_object_get_string(vt));
		ck_assert_int_gt(at, 0);
	}
	if (json_object_object_get_ex(tc, "max_chain_depth", &depth) &&
	    json_object_is_type(depth, json_type_int)) {
		int d = json_object_get_int(depth);

		ck_assert_int_eq(ztp_verifier_set_max_chain_depth(v, d > 8 ? 8
								     : d < 0
									 ? 0
									 : d),
				 ZTP_OK);
	}
	rc = tlen == 0 ? ZTP_EPARSE
		       : ztp_verifier_set_trust_anchors(v, tpem, tlen);
	if (rc < 0) {
		snprintf(verdict, cap, "config:trust_anchors");
		goto out;
	}
	rc = ztp_verifier_set_issuers(v, allow, alen);
	if (rc < 0) {
		snprintf(verdict, cap, "config:issuers");
		goto out;
	}
	rc = ztp_verifier_check_cert(v, &json, json_object_get_string(peer),
				     (size_t)json_object_get_string_len(peer),
				     ilen ? ipem : NULL, ilen, at);
	if (json == NULL) {
		snprintf(verdict, cap, "error:%s", ztp_status_name(rc));
	} else if (rc == ZTP_OK) {
		snprintf(verdict, cap, "accepted");
	} else {
		json_object *r = json_tokener_parse(json), *c, *m;

		ck_assert_ptr_nonnull(r);
		ck_assert(json_object_object_get_ex(r, "code", &c));
		ck_assert(json_object_object_get_ex(r, "message", &m));
		snprintf(verdict, cap, "%s/%s",
			 classify(json_object_get_string(c),
				  json_object_get_string(m)),
			 json_object_get_string(c));
		json_object_put(r);
	}
out:
	ztp_free(json);
	ztp_verifier_free(v);
	free(tpem);
	free(ipem);
	free(allow);
}

static const limbo_diff *find_diff(const char *id)
{
	for (size_t i = 0; i < sizeof(limbo_diffs) / sizeof(limbo_diffs[0]);
	     i++)
		if (strcmp(limbo_diffs[i].id, id) == 0)
			return &limbo_diffs[i];
	return NULL;
}

START_TEST(limbo_subset)
{
	char *path, verdict[128];
	json_object *root, *cases;
	size_t n, same = 0, documented = 0, drift = 0, profile_only = 0;
	bool dump = getenv("LIMBO_DUMP") != NULL;

	path = ztp_test_vector("x509-limbo-subset.json");
	root = json_object_from_file(path);
	ck_assert_msg(root != NULL, "test vector %s: does not parse: %s", path,
		      json_util_get_last_err());
	free(path);
	ck_assert(json_object_object_get_ex(root, "testcases", &cases));
	n = json_object_array_length(cases);
	ck_assert_uint_gt(n, 100);
	for (size_t i = 0; i < n; i++) {
		json_object *tc = json_object_array_get_idx(cases, i), *o;
		const char *id, *expected;
		const limbo_diff *d;
		bool ok;

		ck_assert(json_object_object_get_ex(tc, "id", &o));
		id = json_object_get_string(o);
		ck_assert(json_object_object_get_ex(tc, "expected_result", &o));
		expected = json_object_get_string(o);
		run_case(tc, verdict, sizeof(verdict));
		ok = strcmp(verdict, "accepted") == 0;
		d = find_diff(id);
		if (!ok && strcmp(expected, "FAILURE") == 0 &&
		    strstr(verdict, "/bad_certificate_profile") != NULL)
			profile_only++;
		if (ok == (strcmp(expected, "SUCCESS") == 0)) {
			same++;
			if (d != NULL) {
				drift++;
				fprintf(stderr,
					"limbo: %s now agrees with %s (was "
					"listed as %s)\n",
					id, expected, d->verdict);
			}
			continue;
		}
		if (dump)
			printf("\t{\"%s\", \"%s\"},\n", id, verdict);
		if (d == NULL) {
			drift++;
			fprintf(stderr,
				"limbo: %s: expected %s, device profile says "
				"%s (undocumented)\n",
				id, expected, verdict);
		} else if (strcmp(d->verdict, verdict) != 0) {
			drift++;
			fprintf(stderr, "limbo: %s: documented as %s, now %s\n",
				id, d->verdict, verdict);
		} else {
			documented++;
		}
	}
	fprintf(stderr,
		"limbo: %zu cases: %zu agree, %zu differ as documented, %zu "
		"drifted\n",
		n, same, documented, drift);
	/* doc/SECURITY.md: "68 reach a verdict only through the device
	 * profile". */
	fprintf(stderr,
		"limbo: %zu expected failures refused by the leaf "
		"profile after a valid path\n",
		profile_only);
	ck_assert_uint_eq(profile_only, 68);
	ck_assert_uint_eq(drift, 0);
	ck_assert_uint_eq(documented,
			  sizeof(limbo_diffs) / sizeof(limbo_diffs[0]));
	json_object_put(root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limbo");
	TCase *tc = tcase_create("ztp_verifier_check_cert");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, limbo_subset);
	suite_add_tcase(s, tc);
	return ztp_test_run(s);
}
