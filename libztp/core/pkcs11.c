/*
 * libztp — keys in PKCS#11 tokens, through libp11 (doc/HSM.md).
 * SPDX-License-Identifier: Apache-2.0
 *
 * libp11 gives an EVP_PKEY whose RSA or EC method signs with C_Sign in the
 * token, on a session taken from a per-slot pool (pkcs11_get_session:
 * sessions are opened up to the token's limit, then callers wait for one
 * to be returned), so many threads may sign with one key at once.
 * libp11 0.4.12 cannot generate EC keys nor mark a generated key
 * non-extractable, so generation and deletion go through the module's own
 * function list, which p11-kit loads for us (the same module, already
 * initialised: CKR_CRYPTOKI_ALREADY_INITIALIZED is expected).
 *
 * Lifetimes. libp11 frees every key object of a slot when an enumeration
 * of that slot fails (a token pulled out mid-run), and an EVP_PKEY handed
 * out earlier would then point at freed memory. So lookups run in a
 * context of their own per module; once it hands out a key it is retired
 * (kept for the life of the process, never enumerated again) and the next
 * lookup opens a fresh one. No context is ever released: releasing a
 * libp11 slot calls C_CloseAllSessions, which would close the sessions of
 * every other context of the process on that slot and log the token out.
 * Keys are deleted with C_DestroyObject, never with PKCS11_remove_key, for
 * the same reason. Modules are never finalised: another context, or an
 * SSL_CTX, may still use them.
 *
 * PINs. A PKCS#11 login belongs to the whole process, and a module that
 * is already logged in answers CKR_USER_ALREADY_LOGGED_IN to any PIN, the
 * wrong one too. So the process remembers, per module and slot, the
 * SHA-256 of the PIN that logged in, and a later load must present the
 * same PIN (ZTP_EPIN otherwise).
 *
 * All of this state is guarded by one mutex, held while a key is looked
 * up, generated or deleted; signing never takes it.
 */
#include "core/keysrc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#ifndef ZTP__PKCS11_DEFAULT_MODULE
#error "configure defines ZTP__PKCS11_DEFAULT_MODULE"
#endif

/* A libp11 context that handed out keys: kept, never touched again. */
typedef struct kept_ctx {
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned n_slots;
	struct kept_ctx *next;
} kept_ctx;

/* A login this process made: the PIN it used, as a hash. */
typedef struct login_rec {
	char *module;
	unsigned long slot_id;
	uint8_t pin_hash[32];
	struct login_rec *next;
} login_rec;

/* A module's function list, loaded by p11-kit for generation/deletion. */
typedef struct fl_rec {
	char *module;
	CK_FUNCTION_LIST *fl;
	struct fl_rec *next;
} fl_rec;

/* Per module, the context lookups use: it has handed out no key. ctx is
 * NULL after it was retired, until the next lookup opens a fresh one. */
typedef struct lookup_ctx {
	char *module;
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned n_slots;
	struct lookup_ctx *next;
} lookup_ctx;

static pthread_mutex_t p11_lock = PTHREAD_MUTEX_INITIALIZER;
static kept_ctx *kept;
static lookup_ctx *lookups;
static login_rec *logins;
static fl_rec *fls;

/* One lookup in progress: the module's lookup context and the token the
 * URI selected in it. */
typedef struct p11_op {
	const ztp__p11_uri *u;
	const char *module;
	lookup_ctx *lc;
	PKCS11_SLOT *slot; /* the one token the URI selects */
} p11_op;

/* ------------------------------------------------------------------ errors */

/* The CKR value behind libp11's most recent error, or CKR_OK. */
static CK_RV last_ckr(void)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0 && ERR_GET_LIB(e) == ERR_get_CKR_code())
		return (CK_RV)ERR_GET_REASON(e);
	return CKR_OK;
}

static bool ckr_is_pin(CK_RV rv)
{
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID ||
	       rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_EXPIRED ||
	       rv == CKR_PIN_LOCKED;
}

static const char *ckr_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return "CKR_OK";
	case CKR_PIN_INCORRECT:
		return "CKR_PIN_INCORRECT";
	case CKR_PIN_INVALID:
		return "CKR_PIN_INVALID";
	case CKR_PIN_LEN_RANGE:
		return "CKR_PIN_LEN_RANGE";
	case CKR_PIN_EXPIRED:
		return "CKR_PIN_EXPIRED";
	case CKR_PIN_LOCKED:
		return "CKR_PIN_LOCKED";
	case CKR_TOKEN_NOT_PRESENT:
		return "CKR_TOKEN_NOT_PRESENT";
	case CKR_DEVICE_REMOVED:
		return "CKR_DEVICE_REMOVED";
	case CKR_DEVICE_ERROR:
		return "CKR_DEVICE_ERROR";
	case CKR_SESSION_HANDLE_INVALID:
		return "CKR_SESSION_HANDLE_INVALID";
	case CKR_SESSION_READ_ONLY:
		return "CKR_SESSION_READ_ONLY";
	case CKR_TOKEN_WRITE_PROTECTED:
		return "CKR_TOKEN_WRITE_PROTECTED";
	case CKR_MECHANISM_INVALID:
		return "CKR_MECHANISM_INVALID";
	case CKR_ATTRIBUTE_VALUE_INVALID:
		return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_TEMPLATE_INCONSISTENT:
		return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_USER_NOT_LOGGED_IN:
		return "CKR_USER_NOT_LOGGED_IN";
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return "CKR_CRYPTOKI_NOT_INITIALIZED";
	case CKR_DEVICE_MEMORY:
		return "CKR_DEVICE_MEMORY";
	case CKR_HOST_MEMORY:
		return "CKR_HOST_MEMORY";
	case CKR_GENERAL_ERROR:
		return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED:
		return "CKR_FUNCTION_FAILED";
	default:
		return "a PKCS#11 error";
	}
}

/* The code for a failed call into the token that returned rv. */
static int ckr_err(CK_RV rv, const char *what)
{
	ERR_clear_error();
	if (ckr_is_pin(rv))
		return ztp__err(ZTP_EPIN,
				"pkcs11: %s: the token refused the "
				"PIN (%s)",
				what, ckr_name(rv));
	if (rv == CKR_HOST_MEMORY)
		return ztp__err(ZTP_ENOMEM, "pkcs11: %s: out of memory", what);
	return ztp__err(ZTP_ETOKEN, "pkcs11: %s failed (%s, 0x%lx)", what,
			ckr_name(rv), (unsigned long)rv);
}

/* ------------------------------------------------------------------ module
 * and token */

static const char *module_of(const ztp__p11_uri *u)
{
	const char *env;

	if (u->module_path != NULL)
		return u->module_path;
	env = secure_getenv("ZTP_PKCS11_MODULE");
	if (env != NULL && env[0] != '\0')
		return env;
	return ZTP__PKCS11_DEFAULT_MODULE;
}

/* The end of a lookup: its context stays for the next one. */
static void op_done(p11_op *op)
{
	memset(op, 0, sizeof(*op));
}

/* Retire op's lookup context (it gave out a key): kept, never touched
 * again; the next lookup on the module opens a fresh one. */
static int op_keep(p11_op *op)
{
	kept_ctx *k = ztp__calloc(1, sizeof(*k));

	if (k == NULL)
		return ztp__err(ZTP_ENOMEM, "pkcs11: out of memory");
	k->ctx = op->lc->ctx;
	k->slots = op->lc->slots;
	k->n_slots = op->lc->n_slots;
	k->next = kept;
	kept = k;
	op->lc->ctx = NULL;
	op->lc->slots = NULL;
	op->lc->n_slots = 0;
	op_done(op);
	return ZTP_OK;
}

/* The lookup context of op's module, loaded. */
static int op_lookup_ctx(p11_op *op)
{
	int rc = ZTP_OK;
	lookup_ctx *lc;
	PKCS11_CTX *ctx = NULL;

	for (lc = lookups; lc != NULL; lc = lc->next)
		if (strcmp(lc->module, op->module) == 0)
			break;
	if (lc != NULL && lc->ctx != NULL)
		goto cleanup;
	ctx = PKCS11_CTX_new();
	ZTP_ENSURE(ctx != NULL, ZTP_ENOMEM, "pkcs11: out of memory");
	/* Never PKCS11_CTX_unload, which finalises the module for every
	 * context of the process: a context that failed to load has no
	 * module and no slot, and is freed as it is. */
	ZTP_ENSURE_OSSL(PKCS11_CTX_load(ctx, op->module) == 0, ZTP_ETOKEN,
			"pkcs11: cannot load module %s", op->module);
	if (lc == NULL) {
		lc = ztp__calloc(1, sizeof(*lc));
		ZTP_ENSURE(lc != NULL, ZTP_ENOMEM, "pkcs11: out of memory");
		lc->module = ztp__strdup(op->module);
		if (lc->module == NULL) {
			free(lc);
			lc = NULL;
			rc = ztp__err(ZTP_ENOMEM, "pkcs11: out of memory");
			goto cleanup;
		}
		lc->next = lookups;
		lookups = lc;
	}
	lc->ctx = ctx;
	ctx = NULL;
cleanup:
	if (ctx != NULL)
		PKCS11_CTX_free(ctx);
	op->lc = rc == ZTP_OK ? lc : NULL;
	return rc;
}

static bool field_ok(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static bool token_matches(const ztp__p11_uri *u, const PKCS11_TOKEN *t)
{
	return field_ok(u->token, t->label) &&
	       field_ok(u->manufacturer, t->manufacturer) &&
	       field_ok(u->model, t->model) && field_ok(u->serial, t->serialnr);
}

/* The function list of op's module (loaded once per module by p11-kit,
 * initialised, never finalised). Called with p11_lock held. */
static int op_functions(CK_FUNCTION_LIST **out, p11_op *op)
{
	int rc = ZTP_OK;
	fl_rec *f, *nf = NULL;
	CK_C_INITIALIZE_ARGS args;
	CK_FUNCTION_LIST *fl = NULL;
	CK_RV rv;

	for (f = fls; f != NULL; f = f->next)
		if (strcmp(f->module, op->module) == 0) {
			*out = f->fl;
			goto cleanup;
		}
	nf = ztp__calloc(1, sizeof(*nf));
	ZTP_ENSURE(nf != NULL, ZTP_ENOMEM, "pkcs11: out of memory");
	nf->module = ztp__strdup(op->module);
	ZTP_ENSURE(nf->module != NULL, ZTP_ENOMEM, "pkcs11: out of memory");
	fl = p11_kit_module_load(op->module, P11_KIT_MODULE_UNMANAGED);
	ZTP_ENSURE(fl != NULL, ZTP_ETOKEN, "pkcs11: p11-kit cannot load %s: %s",
		   op->module, p11_kit_message());
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = fl->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		rc = ckr_err(rv, "initialising the module");
		goto cleanup;
	}
	nf->fl = fl;
	nf->next = fls;
	fls = nf;
	*out = fl;
	fl = NULL;
	nf = NULL;
cleanup:
	if (fl != NULL)
		p11_kit_module_release(fl);
	if (nf != NULL) {
		free(nf->module);
		free(nf);
	}
	return rc;
}

/* Every token the module lists must answer C_GetTokenInfo before libp11
 * enumerates the slots: libp11 0.4.12 leaks a slot whose token cannot be
 * read (one pulled out after the module listed it), so such a token is
 * reported here, with the module's reason. */
static int op_tokens_readable(p11_op *op)
{
	int rc = ZTP_OK;
	CK_FUNCTION_LIST *fl;
	CK_SLOT_ID ids[64];
	CK_ULONG n = ZTP__ARRAY_LEN(ids), i;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	ZTP_CHECK(op_functions(&fl, op));
	rv = fl->C_GetSlotList(CK_TRUE, ids, &n);
	if (rv == CKR_BUFFER_TOO_SMALL)
		goto cleanup; /* libp11 copes with many slots; so be it */
	if (rv != CKR_OK) {
		rc = ckr_err(rv, "listing the slots");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		rv = fl->C_GetTokenInfo(ids[i], &ti);
		if (rv != CKR_OK && rv != CKR_TOKEN_NOT_RECOGNIZED) {
			rc = ckr_err(rv, "reading a token's information "
					 "(token removed?)");
			goto cleanup;
		}
	}
cleanup:
	return rc;
}

/* The module's lookup context, its slots refreshed, and the one token the
 * URI selects. */
static int op_open(p11_op *op, const ztp__p11_uri *u)
{
	int rc = ZTP_OK;
	struct stat st;
	unsigned i, n = 0;
	lookup_ctx *lc;

	memset(op, 0, sizeof(*op));
	op->u = u;
	op->module = module_of(u);
	ZTP_ENSURE(op->module[0] == '/', ZTP_EINVAL,
		   "pkcs11: module path %s is not absolute", op->module);
	ZTP_ENSURE(stat(op->module, &st) == 0 && S_ISREG(st.st_mode),
		   ZTP_ETOKEN, "pkcs11: module %s: no such file", op->module);
	ZTP_CHECK(op_lookup_ctx(op));
	lc = op->lc;
	ZTP_CHECK(op_tokens_readable(op));
	ZTP_ENSURE(field_ok(u->library_manufacturer, lc->ctx->manufacturer) &&
		       field_ok(u->library_description, lc->ctx->description),
		   ZTP_ETOKEN,
		   "pkcs11: module %s is not the library the URI names "
		   "(library-manufacturer \"%s\", library-description \"%s\")",
		   op->module, lc->ctx->manufacturer, lc->ctx->description);
	/* Slots are listed once per lookup context: libp11 0.4.12's
	 * PKCS11_update_slots() frees slot data it still uses, and releasing
	 * the list would close every session of the process on those slots.
	 * A token that appears later is seen by the next lookup context. */
	if (lc->slots == NULL)
		ZTP_ENSURE_OSSL(PKCS11_enumerate_slots(lc->ctx, &lc->slots,
						       &lc->n_slots) == 0,
				ZTP_ETOKEN,
				"pkcs11: cannot list the slots of %s",
				op->module);
	for (i = 0; i < lc->n_slots; i++) {
		PKCS11_TOKEN *t = lc->slots[i].token;

		if (t == NULL || !t->initialized || !token_matches(u, t))
			continue;
		if (n++ == 0)
			op->slot = &lc->slots[i];
	}
	ZTP_ENSURE(n > 0, ZTP_ETOKEN, "pkcs11: no token%s%s%s in module %s",
		   u->token ? " \"" : "", u->token ? u->token : "",
		   u->token ? "\"" : "", op->module);
	ZTP_ENSURE(n == 1, ZTP_EINVAL,
		   "pkcs11: the URI matches %u tokens in %s; name one with "
		   "token= or serial=",
		   n, op->module);
cleanup:
	ERR_clear_error();
	if (rc < 0)
		op_done(op);
	return rc;
}

static login_rec *login_find(const char *module, unsigned long slot_id)
{
	login_rec *l;

	for (l = logins; l != NULL; l = l->next)
		if (l->slot_id == slot_id && strcmp(l->module, module) == 0)
			return l;
	return NULL;
}

/* Log in to op's token with pin (NULL: stay logged out). */
static int op_login(p11_op *op, const char *pin)
{
	int rc = ZTP_OK;
	unsigned long slot_id = PKCS11_get_slotid_from_slot(op->slot);
	login_rec *l = login_find(op->module, slot_id), *nl = NULL;
	uint8_t h[32];

	/* Even when the process is logged in already (a login belongs to
	 * the application), a key of a token that wants a PIN is only
	 * handed to a caller who presents it. */
	ZTP_ENSURE(pin != NULL || !op->slot->token->loginRequired, ZTP_EPIN,
		   "pkcs11: token \"%s\" requires a PIN (pin-source=, "
		   "pin-value= or a passphrase)",
		   op->slot->token->label);
	if (pin == NULL)
		goto cleanup;
	ZTP_CHECK(ztp__sha256(h, pin, strlen(pin)));
	if (l != NULL) {
		ZTP_ENSURE(CRYPTO_memcmp(h, l->pin_hash, sizeof(h)) == 0,
			   ZTP_EPIN,
			   "pkcs11: token \"%s\": not the PIN this process "
			   "logged in with",
			   op->slot->token->label);
	} else {
		nl = ztp__calloc(1, sizeof(*nl));
		ZTP_ENSURE(nl != NULL, ZTP_ENOMEM, "pkcs11: out of memory");
		nl->module = ztp__strdup(op->module);
		ZTP_ENSURE(nl->module != NULL, ZTP_ENOMEM,
			   "pkcs11: out of memory");
	}
	if (PKCS11_login(op->slot, 0, pin) != 0) {
		CK_RV rv = last_ckr();

		rc = ckr_err(rv == CKR_OK ? CKR_GENERAL_ERROR : rv, "login");
		goto cleanup;
	}
	if (nl != NULL) {
		nl->slot_id = slot_id;
		memcpy(nl->pin_hash, h, sizeof(h));
		nl->next = logins;
		logins = nl;
		nl = NULL;
	}
cleanup:
	OPENSSL_cleanse(h, sizeof(h));
	if (nl != NULL) {
		free(nl->module);
		free(nl);
	}
	return rc;
}

static bool key_matches(const ztp__p11_uri *u, const PKCS11_KEY *k)
{
	if (u->object != NULL &&
	    (k->label == NULL || strcmp(u->object, k->label) != 0))
		return false;
	return u->id == NULL ||
	       (k->id_len == u->id_len && memcmp(k->id, u->id, u->id_len) == 0);
}

/* The private key of op's token that the URI names: *key, or NULL with
 * ZTP_ENOTFOUND. */
static int op_find_key(PKCS11_KEY **key, p11_op *op, bool logged_in)
{
	int rc = ZTP_OK;
	PKCS11_KEY *keys = NULL;
	unsigned n = 0, i, found = 0;

	*key = NULL;
	if (PKCS11_enumerate_keys(op->slot->token, &keys, &n) != 0) {
		CK_RV rv = last_ckr();

		rc = ckr_err(rv == CKR_OK ? CKR_GENERAL_ERROR : rv,
			     "listing the keys");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if (keys[i].isPrivate && key_matches(op->u, &keys[i]) &&
		    found++ == 0)
			*key = &keys[i];
	ZTP_ENSURE(
	    found > 0, ZTP_ENOTFOUND,
	    "pkcs11: no private key%s%s%s in token \"%s\"%s",
	    op->u->object ? " object=" : "", op->u->object ? op->u->object : "",
	    op->u->id ? " with the given id" : "", op->slot->token->label,
	    logged_in ? "" : " (no PIN given: private objects are hidden)");
	ZTP_ENSURE(found == 1, ZTP_EINVAL,
		   "pkcs11: %u private keys in token \"%s\" match the URI; "
		   "name one with object= and id=",
		   found, op->slot->token->label);
cleanup:
	if (rc < 0)
		*key = NULL;
	return rc;
}

static int check_names_key(const ztp__p11_uri *u)
{
	if (u->object == NULL && u->id == NULL)
		return ztp__err(ZTP_EINVAL,
				"pkcs11 URI names no key: give object= or id=");
	if (u->type != ZTP__P11_TYPE_ANY && u->type != ZTP__P11_TYPE_PRIVATE)
		return ztp__err(ZTP_EINVAL,
				"pkcs11 URI: a signing key needs type=private");
	return ZTP_OK;
}

/* The EVP_PKEY of key; op's context is kept from then on. */
static int op_take_key(EVP_PKEY **out, p11_op *op, PKCS11_KEY *key,
		       const char *what)
{
	int rc = ZTP_OK;
	EVP_PKEY *pk = PKCS11_get_private_key(key);

	ZTP_ENSURE_OSSL(pk != NULL, ZTP_ETOKEN,
			"pkcs11: %s: the token's key cannot be used", what);
	rc = op_keep(op);
	if (rc < 0) {
		EVP_PKEY_free(pk);
		goto cleanup;
	}
	*out = pk;
cleanup:
	return rc;
}

int ztp__p11_load(EVP_PKEY **out, const ztp__p11_uri *u, const char *pin,
		  const char *what)
{
	int rc = ZTP_OK;
	p11_op op = {0};
	PKCS11_KEY *key;

	*out = NULL;
	ZTP_CHECK(check_names_key(u));
	pthread_mutex_lock(&p11_lock);
	rc = op_open(&op, u);
	if (rc == ZTP_OK)
		rc = op_login(&op, pin);
	if (rc == ZTP_OK)
		rc = op_find_key(&key, &op, pin != NULL);
	if (rc == ZTP_OK)
		rc = op_take_key(out, &op, key, what);
	op_done(&op);
	pthread_mutex_unlock(&p11_lock);
cleanup:
	return rc;
}

/* ------------------------------------------------------------------
 * generation and deletion, through the module's function list */

/* A read-write session on op's token, logged in (the process is: a
 * PKCS#11 login belongs to the application) when pin is given. */
static int op_session(CK_SESSION_HANDLE *h, CK_FUNCTION_LIST **fl, p11_op *op,
		      const char *pin)
{
	int rc = ZTP_OK;
	CK_RV rv;

	ZTP_CHECK(op_functions(fl, op));
	rv = (*fl)->C_OpenSession(PKCS11_get_slotid_from_slot(op->slot),
				  CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
				  NULL, h);
	if (rv != CKR_OK) {
		rc = ckr_err(rv, "opening a read-write session");
		goto cleanup;
	}
	if (pin != NULL) {
		rv = (*fl)->C_Login(*h, CKU_USER, (CK_UTF8CHAR_PTR)pin,
				    (CK_ULONG)strlen(pin));
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			(*fl)->C_CloseSession(*h);
			rc = ckr_err(rv, "login");
		}
	}
cleanup:
	return rc;
}

/* DER of the named curves' OIDs, as CKA_EC_PARAMS takes them. */
static const CK_BYTE oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
				   0xce, 0x3d, 0x03, 0x01, 0x07};
static const CK_BYTE oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const CK_BYTE rsa_e[] = {0x01, 0x00, 0x01};

int ztp__p11_generate(EVP_PKEY **out, const ztp__p11_uri *u, const char *pin,
		      const char *type)
{
	int rc = ZTP_OK;
	p11_op op = {0};
	PKCS11_KEY *key = NULL;
	CK_FUNCTION_LIST *fl = NULL;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 0;
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BYTE id[16];
	const CK_BYTE *idp = id;
	CK_ULONG id_len = sizeof(id);
	const char *label = u->object;
	bool locked = false;
	CK_RV rv;
	/* Templates: the common part first, then the key type's. */
	CK_ATTRIBUTE pub[10] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},  {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_VERIFY, &yes, sizeof(yes)}, {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_WRAP, &no, sizeof(no)},
	};
	CK_ATTRIBUTE priv[12] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	    {CKA_UNWRAP, &no, sizeof(no)},
	    {CKA_DERIVE, &no, sizeof(no)},
	};
	CK_ULONG npub = 5, npriv = 8;

	if (out != NULL)
		*out = NULL;
	ZTP_CHECK(check_names_key(u));
	ZTP_ENSURE(type != NULL, ZTP_EINVAL, "pkcs11: no key type");
	if (strcmp(type, "ec-p256") == 0 || strcmp(type, "ec-p384") == 0) {
		bool p256 = strcmp(type, "ec-p256") == 0;

		pub[npub++] = (CK_ATTRIBUTE){
		    CKA_EC_PARAMS, (void *)(p256 ? oid_p256 : oid_p384),
		    p256 ? sizeof(oid_p256) : sizeof(oid_p384)};
	} else if (strcmp(type, "rsa-2048") == 0 ||
		   strcmp(type, "rsa-3072") == 0 ||
		   strcmp(type, "rsa-4096") == 0) {
		bits = (CK_ULONG)strtoul(type + 4, NULL, 10);
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pub[npub++] =
		    (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pub[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)rsa_e,
					     sizeof(rsa_e)};
	} else {
		rc =
		    ztp__err(ZTP_EUNSUPPORTED,
			     "pkcs11: cannot generate a %s key in a token "
			     "(ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096)",
			     type);
		goto cleanup;
	}
	if (u->id != NULL) {
		idp = u->id;
		id_len = (CK_ULONG)u->id_len;
	} else {
		ZTP_ENSURE_OSSL(RAND_bytes(id, sizeof(id)) == 1, ZTP_ECRYPTO,
				"pkcs11: no random key id");
	}
	pub[npub++] = (CK_ATTRIBUTE){CKA_ID, (void *)idp, id_len};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_ID, (void *)idp, id_len};
	if (label != NULL) {
		pub[npub++] =
		    (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
		priv[npriv++] =
		    (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
	}

	pthread_mutex_lock(&p11_lock);
	locked = true;
	ZTP_CHECK(op_open(&op, u));
	ZTP_CHECK(op_login(&op, pin));
	rc = op_find_key(&key, &op, pin != NULL);
	if (rc == ZTP_OK || rc == ZTP_EINVAL) {
		rc = ztp__err(ZTP_EEXISTS,
			      "pkcs11: token \"%s\" already holds a private "
			      "key the URI names",
			      op.slot->token->label);
		goto cleanup;
	}
	if (rc != ZTP_ENOTFOUND)
		goto cleanup;
	rc = ZTP_OK;
	ZTP_CHECK(op_session(&h, &fl, &op, pin));
	rv = fl->C_GenerateKeyPair(h, &mech, pub, npub, priv, npriv, &hpub,
				   &hpriv);
	fl->C_CloseSession(h);
	if (rv != CKR_OK) {
		rc = ckr_err(rv, "generating the key pair");
		goto cleanup;
	}
	if (out == NULL)
		goto cleanup;
	/* Enumerating again adds the new key to the context's list. */
	ZTP_CHECK(op_find_key(&key, &op, pin != NULL));
	ZTP_CHECK(op_take_key(out, &op, key, "generated key"));
cleanup:
	op_done(&op);
	if (locked)
		pthread_mutex_unlock(&p11_lock);
	return rc;
}

int ztp__p11_delete(const ztp__p11_uri *u, const char *pin, unsigned *n_deleted)
{
	int rc = ZTP_OK;
	p11_op op = {0};
	CK_FUNCTION_LIST *fl = NULL;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	CK_OBJECT_HANDLE objs[16];
	CK_ULONG found, i;
	unsigned n = 0;
	size_t c;
	bool locked = false, open = false;
	CK_RV rv;

	if (n_deleted != NULL)
		*n_deleted = 0;
	ZTP_CHECK(check_names_key(u));
	pthread_mutex_lock(&p11_lock);
	locked = true;
	ZTP_CHECK(op_open(&op, u));
	ZTP_CHECK(op_login(&op, pin));
	ZTP_CHECK(op_session(&h, &fl, &op, pin));
	open = true;
	for (c = 0; c < ZTP__ARRAY_LEN(classes); c++) {
		CK_ATTRIBUTE t[3] = {
		    {CKA_CLASS, &classes[c], sizeof(classes[c])}};
		CK_ULONG nt = 1;

		if (u->object != NULL)
			t[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object,
						 strlen(u->object)};
		if (u->id != NULL)
			t[nt++] =
			    (CK_ATTRIBUTE){CKA_ID, (void *)u->id, u->id_len};
		/* Find first, then destroy: objects are not destroyed while
		 * a search over them is active. */
		rv = fl->C_FindObjectsInit(h, t, nt);
		if (rv == CKR_OK) {
			rv = fl->C_FindObjects(h, objs, ZTP__ARRAY_LEN(objs),
					       &found);
			fl->C_FindObjectsFinal(h);
		}
		if (rv != CKR_OK) {
			rc = ckr_err(rv, "finding the key objects");
			goto cleanup;
		}
		for (i = 0; i < found; i++, n++) {
			rv = fl->C_DestroyObject(h, objs[i]);
			if (rv != CKR_OK) {
				rc = ckr_err(rv, "destroying a key object");
				goto cleanup;
			}
		}
	}
	ZTP_ENSURE(n > 0, ZTP_ENOTFOUND,
		   "pkcs11: no key object in token \"%s\" matches the URI",
		   op.slot->token->label);
cleanup:
	if (n_deleted != NULL)
		*n_deleted = n;
	if (open)
		fl->C_CloseSession(h);
	op_done(&op);
	if (locked)
		pthread_mutex_unlock(&p11_lock);
	return rc;
}
