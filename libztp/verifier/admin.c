/*
 * libztp — registry administration through the verifier: enrollment of
 * manufactured devices, activation with a claim code, reprovisioning
 * (reset) and blocking (revoke).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Claim codes: 160 bits from the CSPRNG, shown once as eight groups of
 * four base32 characters (RFC 4648 alphabet, which has no 0/1/8/9 to
 * confuse with O/I/B/g). Only SHA-256 of the canonical form (the 32
 * characters, upper case, without separators) is stored; the store
 * compares in constant time and deletes the hash when the claim succeeds.
 */
#include "verifier/internal.h"

#include "store/records.h"

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

#define CLAIM_BYTES 20 /* 160 bits → 32 base32 characters */
#define CLAIM_CHARS 32
#define CLAIM_INPUT_MAX 128

int ztp__claim_code_make(char display[ZTP__CLAIM_DISPLAY_LEN + 1],
			 uint8_t hash[32])
{
	uint8_t rnd[CLAIM_BYTES];
	char canon[CLAIM_CHARS + 1];
	size_t o = 0;
	int rc = ZTP_OK;

	ZTP_ENSURE_OSSL(RAND_bytes(rnd, sizeof(rnd)) == 1, ZTP_ECRYPTO,
			"claim code");
	for (size_t i = 0; i < CLAIM_CHARS; i++) {
		size_t bit = i * 5;
		unsigned w = (unsigned)rnd[bit / 8] << 8;

		if (bit / 8 + 1 < sizeof(rnd))
			w |= rnd[bit / 8 + 1];
		canon[i] = b32[(w >> (11 - bit % 8)) & 31];
	}
	canon[CLAIM_CHARS] = '\0';
	ZTP_CHECK(ztp__sha256(hash, canon, CLAIM_CHARS));
	for (size_t i = 0; i < CLAIM_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			display[o++] = '-';
		display[o++] = canon[i];
	}
	display[o] = '\0';
cleanup:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(canon, sizeof(canon));
	return rc;
}

/* A fresh claim code: its display form (ztp_free, a secret) and the hash
 * to store. */
static int new_claim_code(char **display, uint8_t hash[32])
{
	char *code;
	int rc;

	*display = NULL;
	code = ztp__malloc(ZTP__CLAIM_DISPLAY_LEN + 1);
	if (code == NULL)
		return ztp__err(ZTP_ENOMEM, "out of memory");
	rc = ztp__claim_code_make(code, hash);
	if (rc < 0) {
		ztp__free_secret(code, ZTP__CLAIM_DISPLAY_LEN + 1);
		return rc;
	}
	*display = code;
	return ZTP_OK;
}

/* The hash of a code as a person typed it: case, '-' and spaces are
 * ignored; anything else must be the 32 base32 characters. */
static int claim_hash(uint8_t hash[32], const char *code)
{
	char canon[CLAIM_CHARS + 1];
	size_t n = 0, len = strlen(code);
	int rc = ZTP_OK;

	ZTP_ENSURE(len <= CLAIM_INPUT_MAX, ZTP_EINVAL, "claim code too long");
	for (size_t i = 0; i < len; i++) {
		char c = (char)toupper((unsigned char)code[i]);

		if (c == '-' || c == ' ')
			continue;
		ZTP_ENSURE(strchr(b32, c) != NULL && c != '\0' &&
			       n < CLAIM_CHARS,
			   ZTP_EINVAL, "claim code: not %d base32 characters",
			   CLAIM_CHARS);
		canon[n++] = c;
	}
	ZTP_ENSURE(n == CLAIM_CHARS, ZTP_EINVAL,
		   "claim code: not %d base32 characters", CLAIM_CHARS);
	ZTP_CHECK(ztp__sha256(hash, canon, CLAIM_CHARS));
cleanup:
	OPENSSL_cleanse(canon, sizeof(canon));
	return rc;
}

static void admin_event(ztp_verifier *v, const char *type, int rc,
			const char *device_id, const char *tenant)
{
	json_object *ev = json_object_new_object();
	ztp__err_saved saved;
	int64_t now = ztp__now(&v->clock);
	uint64_t suppressed = 0;
	bool durable = rc != ZTP_ERATELIMIT;
	char ts[32];

	if (ev == NULL)
		return;
	/* The append goes through the store, which resets the thread's
	 * detail: the caller must still read why the operation failed. */
	ztp__err_save(&saved);
	/* Claims take codes from people and portals: their refusals share
	 * the budget of durable refusal events (per status code), as the
	 * endpoints' do (PROTOCOL.md §7). Resets and revocations are the
	 * operator's own. */
	if (durable && rc < 0 && rc >= ZTP_STATUS_MIN &&
	    strcmp(type, "claim") == 0)
		durable = ztp__refusal_durable(v, &v->claim_refusals[-rc], now,
					       &suppressed);
	ztp__time_rfc3339(ts, now);
	if (ztp__json_add_str(ev, "type", type) == ZTP_OK &&
	    ztp__json_add_str(ev, "result",
			      rc == ZTP_OK ? "accepted" : "rejected") ==
		ZTP_OK &&
	    (rc == ZTP_OK ||
	     ztp__json_add_str(ev, "code", ztp_status_name(rc)) == ZTP_OK) &&
	    ztp__json_add_str(ev, "device_id", device_id) == ZTP_OK &&
	    (tenant == NULL ||
	     ztp__json_add_str(ev, "tenant", tenant) == ZTP_OK) &&
	    (suppressed == 0 ||
	     ztp__json_add_int(ev, "suppressed", (int64_t)suppressed) ==
		 ZTP_OK) &&
	    ztp__json_add_str(ev, "time", ts) == ZTP_OK)
		ztp__verifier_log(v, ev, durable);
	json_object_put(ev);
	ztp__err_restore(&saved);
}

/* The device's current state name into state (cap bytes). */
static int device_state(ztp_verifier *v, const char *device_id, char *state,
			size_t cap)
{
	ztp__device_rec dev;
	int rc;

	rc = ztp__store_device_read(&dev, v->store, device_id);
	if (rc == ZTP_OK)
		snprintf(state, cap, "%s", dev.state);
	ztp__device_rec_clear(&dev);
	return rc;
}

/* Enrollment of a device that is already recorded. Completing an earlier
 * enrollment that stopped between its two writes is safe: same factory
 * certificate, still `manufactured` (never bootstrapped), and no claim
 * code pending — nobody can hold a code for it, so giving it its first one
 * takes nothing from anyone. The pending-claim test asks the store to take
 * a claim with a hash that no code has (all zero): it answers
 * ZTP_ENOTFOUND when no claim is pending and ZTP_EMISMATCH, changing
 * nothing, when one is. Every other case is refused: a second code for a
 * labelled box, or one for a device in service, is what `reset` is for. */
static int enroll_again(ztp_verifier *v, const char *device_id,
			const char *fingerprint)
{
	static const uint8_t none[32];
	ztp__device_rec dev;
	const char *st = dev.state, *fp = dev.fingerprint;
	int rc;

	ZTP_CHECK(ztp__store_device_read(&dev, v->store, device_id));
	ZTP_ENSURE(strcmp(fp, fingerprint) == 0, ZTP_EEXISTS,
		   "device %s is already enrolled with another factory "
		   "certificate",
		   device_id);
	ZTP_ENSURE(strcmp(st, ZTP_STATE_MANUFACTURED) == 0, ZTP_EEXISTS,
		   "device %s is already enrolled (state %s); to give it a "
		   "new claim code, reset it (ztp-verify reset)",
		   device_id, st);
	rc = ztp_store_claim_take(v->store, device_id, none, sizeof(none),
				  "none");
	if (rc == ZTP_ENOTFOUND) {
		rc = ZTP_OK; /* an enrollment that stopped half-way */
		goto cleanup;
	}
	ZTP_ENSURE(rc != ZTP_EMISMATCH && rc != ZTP_OK, ZTP_EEXISTS,
		   "device %s is already enrolled and its claim code is "
		   "pending; to replace the code, reset the device "
		   "(ztp-verify reset)",
		   device_id);
	ZTP_CHECK(rc);
cleanup:
	ztp__device_rec_clear(&dev);
	return rc;
}

int ztp_verifier_enroll(ztp_verifier *v, char **claim_code,
			const char *device_id, const char *cert_pem,
			size_t cert_len, const char *model, const char *batch)
{
	uint8_t fp[32], hash[32];
	char hex[65], id[ZTP_ID_MAX + 1];
	char *code = NULL;
	X509 *cert = NULL;
	ztp__vdec d;
	int64_t now;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(claim_code != NULL);
	*claim_code = NULL;
	ZTP_ARG(device_id != NULL);
	ZTP_ARG(cert_pem != NULL);
	ZTP_CHECK(ztp__id_check(device_id, strlen(device_id), "device_id"));
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	ztp__vdec_init(&d);
	now = ztp__now(&v->clock);
	ZTP_CHECK(ztp__pem_cert(&cert, cert_pem, cert_len));
	rc = ztp__verifier_identity(v, &d, cert, NULL, now, id);
	if (rc < 0) {
		rc = ztp__err(rc, "factory certificate refused (%s): %s",
			      ztp__wire_name(d.wire), d.message);
		goto cleanup;
	}
	ZTP_ENSURE(strcmp(id, device_id) == 0, ZTP_EMISMATCH,
		   "factory certificate names device %s, not %s", id,
		   device_id);
	ZTP_CHECK(ztp__cert_fingerprint(fp, cert));
	ztp__hex_encode(hex, fp, sizeof(fp));
	ZTP_CHECK(new_claim_code(&code, hash));
	rc = ztp_store_device_add(v->store, device_id, hex, model, batch, now);
	if (rc == ZTP_EEXISTS)
		rc = enroll_again(v, device_id, hex);
	ZTP_CHECK(rc);
	/* So that an operational CSR carrying the factory key is refused.
	 * A caller's backend may not keep it (then bootstrap cannot either,
	 * documented in store.h). */
	rc = ztp__verifier_record_factory_key(v, device_id, cert);
	ZTP_CHECK(rc == ZTP_EUNSUPPORTED ? ZTP_OK : rc);
	/* The store has no transaction spanning the two writes. Should this
	 * one fail (or the process die first), the device is recorded
	 * without a claim code, and enroll_again() completes the enrollment
	 * when the same command is repeated. */
	ZTP_CHECK(ztp_store_claim_set(v->store, device_id, hash, sizeof(hash)));
	*claim_code = code;
	code = NULL;
cleanup:
	OPENSSL_cleanse(hash, sizeof(hash));
	if (code != NULL)
		ztp__free_secret(code, strlen(code));
	X509_free(cert);
	return rc;
}

/* The approval hook's verdict on a claim of a recorded device (an
 * unknown one is refused by the claim itself, without asking). Taken
 * after the global claim bucket, so that guesses cannot flood the hook
 * faster than claims are admitted at all. */
static int approve_claim(ztp_verifier *v, const char *device_id,
			 const char *tenant, int64_t now)
{
	ztp__hook_ctx c = {
	    .event = "claim",
	    .device_id = device_id,
	    .tenant = tenant,
	    .now = now,
	};
	ztp__hook_verdict verdict;
	ztp__vdec d;
	char state[32];
	int rc;

	if (v->hook == NULL)
		return ZTP_OK;
	rc = device_state(v, device_id, state, sizeof(state));
	if (rc == ZTP_ENOTFOUND) {
		ztp_error_clear();
		return ZTP_OK;
	}
	if (rc < 0)
		return rc;
	c.state = state;
	ztp__vdec_init(&d);
	rc = ztp__verifier_approve(v, &d, &c, &verdict);
	json_object_put(verdict.attributes);
	return rc;
}

int ztp_verifier_claim(ztp_verifier *v, const char *device_id,
		       const char *claim_code, const char *tenant)
{
	uint8_t hash[32];
	char detail[256];
	int64_t retry = 0, now;
	bool named = false;
	int rc = ZTP_OK, lrc;

	ZTP_ARG(v != NULL);
	ZTP_ARG(device_id != NULL);
	ZTP_ARG(claim_code != NULL);
	ZTP_ARG(tenant != NULL);
	ZTP_CHECK(ztp__id_check(device_id, strlen(device_id), "device_id"));
	named = true;
	ZTP_CHECK(ztp__id_check(tenant, strlen(tenant), "tenant"));
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	now = ztp__now(&v->clock);
	rc = ztp__rl_take_global(&v->claim_rl, now, &retry);
	if (rc == ZTP_ERATELIMIT)
		ztp__metrics_rate_limited(v, ZTP__RL_SCOPE_CLAIM_GLOBAL);
	if (rc < 0) {
		rc = ztp__err(rc, "too many claim attempts; retry in %lld s",
			      (long long)retry);
		goto cleanup;
	}
	/* Every attempt counts, well-formed or not; the device's bucket is
	 * in the store, taken in the same transaction as the claim. */
	rc = claim_hash(hash, claim_code);
	if (rc < 0) {
		snprintf(detail, sizeof(detail), "%s",
			 ztp_error_last_message());
		lrc = ztp__rl_take_device(v, &v->claim_rl, "claim", device_id,
					  now, &retry);
		if (lrc == ZTP_ERATELIMIT)
			goto limited;
		rc = lrc < 0 ? lrc : ztp__err(rc, "%s", detail);
		goto cleanup;
	}
	ZTP_CHECK(approve_claim(v, device_id, tenant, now));
	rc = ztp_store_claim_attempt(v->store, device_id, hash, sizeof(hash),
				     tenant, v->claim_rl.dev_rate,
				     v->claim_rl.dev_burst, now, &retry);
	if (rc == ZTP_ERATELIMIT) {
		ztp__metrics_rate_limited(v, ZTP__RL_SCOPE_CLAIM);
		goto limited;
	}
	if (rc == ZTP_EMISMATCH)
		rc = ztp__err(rc, "claim code does not match device %s",
			      device_id);
	goto cleanup;
limited:
	rc = ztp__err(ZTP_ERATELIMIT,
		      "too many claim attempts for %s; retry in %lld s",
		      device_id, (long long)retry);
cleanup:
	OPENSSL_cleanse(hash, sizeof(hash));
	if (named)
		admin_event(v, "claim", rc, device_id,
			    rc == ZTP_OK ? tenant : NULL);
	return rc;
}

int ztp_verifier_reset(ztp_verifier *v, char **claim_code,
		       const char *device_id)
{
	char state[32], *code = NULL;
	uint8_t hash[32];
	uint64_t n = 0;
	bool named = false;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(claim_code != NULL);
	*claim_code = NULL;
	ZTP_ARG(device_id != NULL);
	ZTP_CHECK(ztp__id_check(device_id, strlen(device_id), "device_id"));
	named = true;
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	ZTP_CHECK(device_state(v, device_id, state, sizeof(state)));
	ZTP_ENSURE(strcmp(state, ZTP_STATE_REVOKED) != 0, ZTP_ESTATE,
		   "device %s is revoked; a revoked device is not reset",
		   device_id);
	ZTP_CHECK(new_claim_code(&code, hash));
	/* Unbind first: from here on nothing names the old tenant; then
	 * revoke what the device holds, then give the next owner a code.
	 * Each step can be repeated, so a failed reset is retried whole. */
	ZTP_CHECK(ztp_store_device_set_state(v->store, device_id, state,
					     ZTP_STATE_RESET, NULL));
	ZTP_CHECK(ztp_store_device_revoke_certs(
	    v->store, device_id, "bootstrap,operational",
	    ZTP_CA_REASON_AFFILIATION_CHANGED, ztp__now(&v->clock), &n));
	ZTP_CHECK(ztp_store_claim_set(v->store, device_id, hash, sizeof(hash)));
cleanup:
	OPENSSL_cleanse(hash, sizeof(hash));
	if (named)
		admin_event(v, "reset", rc, device_id, NULL);
	/* The reset is done; a broker learns it from the CRL file. If that
	 * cannot be written the call fails (a retry resets again and issues
	 * another code), so an operator never takes a reset for complete
	 * while the broker still admits the old certificates. */
	if (rc == ZTP_OK)
		rc = ztp__verifier_publish_crl(v);
	if (rc == ZTP_OK) {
		*claim_code = code;
		code = NULL;
	}
	if (code != NULL)
		ztp__free_secret(code, strlen(code));
	return rc;
}

int ztp_verifier_revoke(ztp_verifier *v, const char *device_id)
{
	uint64_t n = 0;
	bool named = false;
	int rc = ZTP_OK;

	ZTP_ARG(v != NULL);
	ZTP_ARG(device_id != NULL);
	ZTP_CHECK(ztp__id_check(device_id, strlen(device_id), "device_id"));
	named = true;
	ZTP_ENSURE(v->store != NULL, ZTP_ESTATE, "the verifier has no store");
	/* Block first, so that no bootstrap succeeds from this moment; then
	 * revoke every certificate the device holds (idempotent). */
	ZTP_CHECK(ztp_store_device_set_state(v->store, device_id, NULL,
					     ZTP_STATE_REVOKED, NULL));
	ZTP_CHECK(ztp_store_device_revoke_certs(
	    v->store, device_id, NULL, ZTP_CA_REASON_PRIVILEGE_WITHDRAWN,
	    ztp__now(&v->clock), &n));
cleanup:
	if (named)
		admin_event(v, "revoke", rc, device_id, NULL);
	/* As for reset: done only once the broker can learn it. */
	if (rc == ZTP_OK)
		rc = ztp__verifier_publish_crl(v);
	return rc;
}
