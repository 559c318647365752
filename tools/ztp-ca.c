/*
 * ztp-ca — create CAs, issue device and server certificates, revoke,
 * publish CRLs.
 * A thin front end to <ztp/ca.h>; see ztp-ca(1).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ztp/ztp.h>

#include <json-c/json.h>

#include "util.h"

#define PEM_FILE_MAX (1024 * 1024)
#define DAYS_MAX 36500
#define DAYS_ROOT_DEFAULT 3650
#define DAYS_SUB_DEFAULT 1825

static const char usage_text[] =
    "Usage:\n"
    "  ztp-ca init-root --cert F --key F|pkcs11:URI [--create-key]\n"
    "                   --subject DN [--key-type T] [--days N]\n"
    "  ztp-ca init-sub --issuer-cert F --issuer-key F|pkcs11:URI --cert F\n"
    "                  --key F|pkcs11:URI [--create-key] --subject DN\n"
    "                  [--pathlen N] [--key-type T] [--days N] [--store URI]\n"
    "  ztp-ca issue --issuer-cert F --issuer-key F --csr F --device-id ID\n"
    "               [--tenant T] [--profile factory|bootstrap|operational]\n"
    "               [--days N|--hours N] [--key-policy SPEC] --out F\n"
    "               [--store URI]\n"
    "  ztp-ca issue --profile server --issuer-cert F --issuer-key F\n"
    "               --csr F|--new-key F [--key-type T] --dns NAME|--ip "
    "ADDR...\n"
    "               [--days N|--hours N] [--key-policy SPEC] --out F\n"
    "               [--store URI]\n"
    "  ztp-ca issue-bulk --issuer-cert F --issuer-key F\n"
    "                    (--in F --out F | --csr-dir D --out-dir D)\n"
    "                    [--days N|--hours N] [--key-policy SPEC]\n"
    "                    [--store URI]\n"
    "  ztp-ca revoke --store URI --serial HEX [--reason R]\n"
    "  ztp-ca crl --issuer-cert F --issuer-key F --store URI --out F\n"
    "             [--hours N]\n"
    "  ztp-ca --help | --version\n"
    "\n"
    "Issuer keys may be encrypted: --pass-file F (first line of F) or\n"
    "--pass-env VAR, which also give a token's PIN when a pkcs11: URI has\n"
    "no pin-source or pin-value. A pkcs11: --key names a key pair in a\n"
    "token (made there with --create-key); only the certificate is\n"
    "written. DN: \"CN=Acme Root,O=Acme\" (RFC 4514) or\n"
    "\"/O=Acme/CN=Acme Root\". Key types: ec-p256 (default), ec-p384,\n"
    "ed25519, rsa-3072, rsa-4096 (and rsa-2048 for --new-key). --dns and\n"
    "--ip may be repeated. See ztp-ca(1).\n";

enum opt_id {
	O_CERT = 256,
	O_KEY,
	O_SUBJECT,
	O_KEY_TYPE,
	O_DAYS,
	O_HOURS,
	O_ISSUER_CERT,
	O_ISSUER_KEY,
	O_PATHLEN,
	O_CSR,
	O_DEVICE_ID,
	O_TENANT,
	O_PROFILE,
	O_OUT,
	O_STORE,
	O_SERIAL,
	O_REASON,
	O_PASS_FILE,
	O_PASS_ENV,
	O_KEY_POLICY,
	O_DNS,
	O_IP,
	O_NEW_KEY,
	O_IN,
	O_CSR_DIR,
	O_OUT_DIR,
	O_CREATE_KEY,
	O__END
};

static const struct option all_options[] = {
    {"cert", required_argument, NULL, O_CERT},
    {"key", required_argument, NULL, O_KEY},
    {"subject", required_argument, NULL, O_SUBJECT},
    {"key-type", required_argument, NULL, O_KEY_TYPE},
    {"days", required_argument, NULL, O_DAYS},
    {"hours", required_argument, NULL, O_HOURS},
    {"issuer-cert", required_argument, NULL, O_ISSUER_CERT},
    {"issuer-key", required_argument, NULL, O_ISSUER_KEY},
    {"pathlen", required_argument, NULL, O_PATHLEN},
    {"csr", required_argument, NULL, O_CSR},
    {"device-id", required_argument, NULL, O_DEVICE_ID},
    {"tenant", required_argument, NULL, O_TENANT},
    {"profile", required_argument, NULL, O_PROFILE},
    {"out", required_argument, NULL, O_OUT},
    {"store", required_argument, NULL, O_STORE},
    {"serial", required_argument, NULL, O_SERIAL},
    {"reason", required_argument, NULL, O_REASON},
    {"pass-file", required_argument, NULL, O_PASS_FILE},
    {"pass-env", required_argument, NULL, O_PASS_ENV},
    {"key-policy", required_argument, NULL, O_KEY_POLICY},
    {"dns", required_argument, NULL, O_DNS},
    {"ip", required_argument, NULL, O_IP},
    {"new-key", required_argument, NULL, O_NEW_KEY},
    {"in", required_argument, NULL, O_IN},
    {"csr-dir", required_argument, NULL, O_CSR_DIR},
    {"out-dir", required_argument, NULL, O_OUT_DIR},
    {"create-key", no_argument, NULL, O_CREATE_KEY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Every option's value, NULL when absent; the repeatable ones (--dns,
 * --ip) in the order given. */
struct args {
	const char *v[O__END - O_CERT];
	const char *dns[ZTP_CA_SERVER_NAMES_MAX], *ip[ZTP_CA_SERVER_NAMES_MAX];
	size_t n_dns, n_ip;
};

#define ARG(a, id) ((a)->v[(id)-O_CERT])

/* What a command holds, released on every exit path (see release()). */
static struct {
	ztp_ca *ca;
	ztp_store *store;
	char *cert, *key, *csr, *serial, *crl, *names;
} R;

static void release(void)
{
	ztp_ca_free(R.ca);
	ztp_store_free(R.store);
	ztp_free(R.cert);
	tool_free_secret(R.key);
	free(R.csr);
	ztp_free(R.serial);
	ztp_free(R.crl);
	free(R.names);
	memset(&R, 0, sizeof(R));
}

static const char *opt_name(int id)
{
	size_t i;

	for (i = 0; all_options[i].name != NULL; i++) {
		if (all_options[i].val == id)
			return all_options[i].name;
	}
	return "?";
}

/* Parse argv for a subcommand that accepts exactly the listed options. */
static void parse(struct args *a, int argc, char **argv, const int *allowed,
		  size_t n_allowed)
{
	int c;
	size_t i;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", all_options, NULL)) != -1) {
		bool ok = false;

		if (c == 'h') {
			fputs(usage_text, stdout);
			exit(fflush(stdout) == 0 ? TOOL_EXIT_OK
						 : TOOL_EXIT_FAIL);
		}
		if (c == '?')
			tool_usage_error("%s: unknown option \"%.64s\"",
					 argv[0], argv[optind - 1]);
		if (c == ':')
			tool_usage_error("%s: option \"%.64s\" needs a value",
					 argv[0], argv[optind - 1]);
		for (i = 0; i < n_allowed; i++)
			ok = ok || allowed[i] == c;
		if (!ok)
			tool_usage_error("%s: option --%s does not apply",
					 argv[0], opt_name(c));
		if (optarg == NULL)
			optarg = "1"; /* a flag */
		if (*optarg == '\0')
			tool_usage_error("%s: option --%s needs a value",
					 argv[0], opt_name(c));
		if (c == O_DNS || c == O_IP) {
			const char **list = c == O_DNS ? a->dns : a->ip;
			size_t *n = c == O_DNS ? &a->n_dns : &a->n_ip;

			if (*n == ZTP_CA_SERVER_NAMES_MAX)
				tool_usage_error(
				    "%s: more than %d --%s", argv[0],
				    ZTP_CA_SERVER_NAMES_MAX, opt_name(c));
			list[(*n)++] = optarg;
			continue;
		}
		if (ARG(a, c) != NULL)
			tool_usage_error("%s: option --%s given twice", argv[0],
					 opt_name(c));
		ARG(a, c) = optarg;
	}
	if (optind < argc)
		tool_usage_error("%s: unexpected argument \"%.64s\"", argv[0],
				 argv[optind]);
}

static const char *need(struct args *a, int id, const char *cmd)
{
	if (ARG(a, id) == NULL)
		tool_usage_error("%s: --%s is required", cmd, opt_name(id));
	return ARG(a, id);
}

static void check(int rc, const char *what)
{
	if (rc < 0)
		tool_die_lib(rc, what);
}

static void write_out(const char *path, const char *data, mode_t mode,
		      bool exclusive)
{
	const char *err = NULL;
	int rc = tool_write_file_atomic(path, data, strlen(data), mode,
					exclusive, &err);

	if (rc < 0)
		tool_die(rc, "%s: %s", path, err);
}

/* A certificate and its fresh key: the key first (0600, never replacing
 * an existing file), then the certificate; a failure removes what was
 * written. */
static void write_pair(const char *cert_path, const char *cert,
		       const char *key_path, const char *key)
{
	const char *err = NULL;
	int rc;

	if (strcmp(cert_path, key_path) == 0)
		tool_usage_error("the certificate and the key would be the "
				 "same file, %s",
				 cert_path);
	if (access(cert_path, F_OK) == 0)
		tool_die(ZTP_EEXISTS, "%s: file exists; refusing to replace it",
			 cert_path);
	rc = tool_write_file_atomic(key_path, key, strlen(key), 0600, true,
				    &err);
	if (rc < 0)
		tool_die(rc, "%s: %s", key_path, err);
	rc = tool_write_file_atomic(cert_path, cert, strlen(cert), 0644, true,
				    &err);
	if (rc < 0) {
		unlink(key_path);
		tool_die(rc, "%s: %s", cert_path, err);
	}
}

/* Load the issuer into R.ca. */
static void load_issuer(struct args *a, const char *cmd)
{
	const char *cert = need(a, O_ISSUER_CERT, cmd);
	const char *key = need(a, O_ISSUER_KEY, cmd);
	char *pass =
	    tool_read_passphrase(ARG(a, O_PASS_FILE), ARG(a, O_PASS_ENV));
	int rc;

	rc = ztp_ca_new(&R.ca);
	if (rc == ZTP_OK)
		rc = ztp_ca_load_files(R.ca, cert, key, NULL, pass);
	tool_free_secret(pass);
	check(rc, "loading the issuer");
}

/* Open R.store and give it to R.ca (when there is one). */
static void open_store(const char *uri)
{
	check(ztp_store_open(&R.store, uri), uri);
	if (R.ca != NULL)
		check(ztp_ca_set_store(R.ca, R.store), "store");
}

/* The flags of a CA key in a token (--create-key), refused for a file. */
static unsigned token_key_flags(struct args *a, bool in_token)
{
	if (ARG(a, O_CREATE_KEY) == NULL)
		return 0;
	if (!in_token)
		tool_usage_error("--create-key applies to a pkcs11: --key (a "
				 "file key is always made fresh)");
	return ZTP_CA_KEY_CREATE;
}

static bool is_pkcs11(const char *key)
{
	return strncmp(key, "pkcs11:", 7) == 0;
}

/* Refuse before a key is made in a token, rather than leave it there
 * without its certificate. */
static void cert_path_free(const char *cert_path)
{
	if (access(cert_path, F_OK) == 0)
		tool_die(ZTP_EEXISTS, "%s: file exists; refusing to replace it",
			 cert_path);
}

static int cmd_init_root(int argc, char **argv)
{
	static const int allowed[] = {O_CERT,	   O_KEY,     O_SUBJECT,
				      O_KEY_TYPE,  O_DAYS,    O_CREATE_KEY,
				      O_PASS_FILE, O_PASS_ENV};
	struct args a;
	int days = DAYS_ROOT_DEFAULT, rc;
	const char *key;
	unsigned flags;
	char *pass;

	parse(&a, argc, argv, allowed, sizeof(allowed) / sizeof(*allowed));
	need(&a, O_CERT, argv[0]);
	key = need(&a, O_KEY, argv[0]);
	need(&a, O_SUBJECT, argv[0]);
	if (ARG(&a, O_DAYS) != NULL)
		days =
		    (int)tool_parse_ll(ARG(&a, O_DAYS), 1, DAYS_MAX, "--days");
	flags = token_key_flags(&a, is_pkcs11(key));
	if (is_pkcs11(key)) {
		cert_path_free(ARG(&a, O_CERT));
		pass = tool_read_passphrase(ARG(&a, O_PASS_FILE),
					    ARG(&a, O_PASS_ENV));
		rc = ztp_ca_create_root_key(&R.cert, key, pass, flags,
					    ARG(&a, O_SUBJECT),
					    ARG(&a, O_KEY_TYPE), days);
		tool_free_secret(pass);
		check(rc, "creating the root CA");
		write_out(ARG(&a, O_CERT), R.cert, 0644, true);
		return TOOL_EXIT_OK;
	}
	if (ARG(&a, O_PASS_FILE) != NULL || ARG(&a, O_PASS_ENV) != NULL)
		tool_usage_error("%s: --pass-file and --pass-env apply to a "
				 "pkcs11: --key (the new key file is written "
				 "unencrypted)",
				 argv[0]);
	check(ztp_ca_create_root(&R.cert, &R.key, ARG(&a, O_SUBJECT),
				 ARG(&a, O_KEY_TYPE), days),
	      "creating the root CA");
	write_pair(ARG(&a, O_CERT), R.cert, ARG(&a, O_KEY), R.key);
	return TOOL_EXIT_OK;
}

static int cmd_init_sub(int argc, char **argv)
{
	static const int allowed[] = {
	    O_ISSUER_CERT, O_ISSUER_KEY, O_CERT,     O_KEY,
	    O_SUBJECT,	   O_PATHLEN,	 O_KEY_TYPE, O_DAYS,
	    O_STORE,	   O_PASS_FILE,	 O_PASS_ENV, O_CREATE_KEY,
	};
	struct args a;
	int days = DAYS_SUB_DEFAULT, pathlen = -1, rc;
	const char *key;
	unsigned flags;
	char *pass;

	parse(&a, argc, argv, allowed, sizeof(allowed) / sizeof(*allowed));
	need(&a, O_CERT, argv[0]);
	key = need(&a, O_KEY, argv[0]);
	need(&a, O_SUBJECT, argv[0]);
	if (ARG(&a, O_DAYS) != NULL)
		days =
		    (int)tool_parse_ll(ARG(&a, O_DAYS), 1, DAYS_MAX, "--days");
	flags = token_key_flags(&a, is_pkcs11(key));
	if (ARG(&a, O_PATHLEN) != NULL)
		pathlen =
		    (int)tool_parse_ll(ARG(&a, O_PATHLEN), 0, 16, "--pathlen");
	load_issuer(&a, argv[0]);
	if (ARG(&a, O_STORE) != NULL)
		open_store(ARG(&a, O_STORE));
	if (is_pkcs11(key)) {
		cert_path_free(ARG(&a, O_CERT));
		pass = tool_read_passphrase(ARG(&a, O_PASS_FILE),
					    ARG(&a, O_PASS_ENV));
		rc = ztp_ca_create_sub_key(R.ca, &R.cert, key, pass, flags,
					   ARG(&a, O_SUBJECT),
					   ARG(&a, O_KEY_TYPE), days, pathlen);
		tool_free_secret(pass);
		check(rc, "creating the CA");
		write_out(ARG(&a, O_CERT), R.cert, 0644, true);
		return TOOL_EXIT_OK;
	}
	check(ztp_ca_create_sub(R.ca, &R.cert, &R.key, ARG(&a, O_SUBJECT),
				ARG(&a, O_KEY_TYPE), days, pathlen),
	      "creating the CA");
	write_pair(ARG(&a, O_CERT), R.cert, ARG(&a, O_KEY), R.key);
	return TOOL_EXIT_OK;
}

/* Append s to the JSON array text at *p as a string, escaped. */
static char *json_str(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 0xf];
			p += 6;
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}

/* The names document of ztp_ca_issue_server(): {"dns":[...],"ip":[...]}.
 * The library judges the names; this only quotes them. */
static char *names_json(const struct args *a)
{
	size_t i, cap = 32;
	char *out, *p;

	for (i = 0; i < a->n_dns; i++)
		cap += 6 * strlen(a->dns[i]) + 3;
	for (i = 0; i < a->n_ip; i++)
		cap += 6 * strlen(a->ip[i]) + 3;
	out = malloc(cap);
	if (out == NULL)
		tool_die(ZTP_ENOMEM, "out of memory");
	p = out;
	memcpy(p, "{\"dns\":[", 8);
	p += 8;
	for (i = 0; i < a->n_dns; i++) {
		if (i > 0)
			*p++ = ',';
		p = json_str(p, a->dns[i]);
	}
	memcpy(p, "],\"ip\":[", 8);
	p += 8;
	for (i = 0; i < a->n_ip; i++) {
		if (i > 0)
			*p++ = ',';
		p = json_str(p, a->ip[i]);
	}
	memcpy(p, "]}", 3);
	return out;
}

static int64_t lifetime_of(struct args *a)
{
	if (ARG(a, O_DAYS) != NULL && ARG(a, O_HOURS) != NULL)
		tool_usage_error("--days and --hours exclude each other");
	if (ARG(a, O_DAYS) != NULL)
		return tool_parse_ll(ARG(a, O_DAYS), 1, DAYS_MAX, "--days") *
		       86400;
	if (ARG(a, O_HOURS) != NULL)
		return tool_parse_ll(ARG(a, O_HOURS), 1, DAYS_MAX * 24LL,
				     "--hours") *
		       3600;
	return 0;
}

/* Load the issuer, its key policy and the store (memory: without
 * --store). */
static void issue_setup(struct args *a, const char *cmd)
{
	load_issuer(a, cmd);
	if (ARG(a, O_KEY_POLICY) != NULL)
		check(ztp_ca_set_key_policy(R.ca, ARG(a, O_KEY_POLICY)),
		      "--key-policy");
	open_store(ARG(a, O_STORE) ? ARG(a, O_STORE) : "memory:");
}

static void read_csr(struct args *a, size_t *len)
{
	R.csr = tool_read_file(ARG(a, O_CSR), PEM_FILE_MAX, len);
	if (*len == 0)
		tool_die(ZTP_EPARSE, "%s: empty file", ARG(a, O_CSR));
}

/* The arguments --profile server and --profile ocsp share: no device,
 * the key from --csr or made here (--new-key). */
static void deployment_args(struct args *a, const char *cmd,
			    const char *profile)
{
	if (ARG(a, O_DEVICE_ID) != NULL || ARG(a, O_TENANT) != NULL)
		tool_usage_error("%s: --device-id and --tenant do not apply to "
				 "--profile %s",
				 cmd, profile);
	if ((ARG(a, O_CSR) != NULL) == (ARG(a, O_NEW_KEY) != NULL))
		tool_usage_error("%s: --profile %s takes exactly one of "
				 "--csr and --new-key",
				 cmd, profile);
	if (ARG(a, O_KEY_TYPE) != NULL && ARG(a, O_NEW_KEY) == NULL)
		tool_usage_error("%s: --key-type applies to --new-key only",
				 cmd);
}

/* Write what issue_server() or issue_ocsp() made. */
static int write_deployment(struct args *a)
{
	if (R.key != NULL)
		write_pair(ARG(a, O_OUT), R.cert, ARG(a, O_NEW_KEY), R.key);
	else
		write_out(ARG(a, O_OUT), R.cert, 0644, false);
	printf("%s\n", R.serial);
	return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

/* --profile ocsp: a delegated OCSP responder's signing certificate. */
static int issue_ocsp(struct args *a, const char *cmd)
{
	size_t csr_len = 0;
	int64_t lifetime = lifetime_of(a);

	deployment_args(a, cmd, ZTP_CA_PROFILE_OCSP);
	if (a->n_dns + a->n_ip > 0)
		tool_usage_error("%s: --dns and --ip do not apply to --profile "
				 "ocsp",
				 cmd);
	issue_setup(a, cmd);
	if (ARG(a, O_CSR) != NULL)
		read_csr(a, &csr_len);
	check(ztp_ca_issue_ocsp(
		  R.ca, &R.cert, ARG(a, O_NEW_KEY) ? &R.key : NULL, &R.serial,
		  NULL, R.csr, csr_len, ARG(a, O_KEY_TYPE), lifetime),
	      "issuing");
	return write_deployment(a);
}

/* --profile server: names from --dns and --ip, the key from --csr or made
 * here (--new-key). */
static int issue_server(struct args *a, const char *cmd)
{
	size_t csr_len = 0;
	int64_t lifetime = lifetime_of(a);

	deployment_args(a, cmd, ZTP_CA_PROFILE_SERVER);
	if (a->n_dns + a->n_ip == 0)
		tool_usage_error("%s: --profile server needs at least one "
				 "--dns or --ip",
				 cmd);
	R.names = names_json(a);
	issue_setup(a, cmd);
	if (ARG(a, O_CSR) != NULL)
		read_csr(a, &csr_len);
	check(ztp_ca_issue_server(
		  R.ca, &R.cert, ARG(a, O_NEW_KEY) ? &R.key : NULL, &R.serial,
		  NULL, R.csr, csr_len, ARG(a, O_KEY_TYPE), R.names, lifetime),
	      "issuing");
	return write_deployment(a);
}

static int cmd_issue(int argc, char **argv)
{
	static const int allowed[] = {
	    O_ISSUER_CERT, O_ISSUER_KEY, O_CSR,	       O_DEVICE_ID, O_TENANT,
	    O_PROFILE,	   O_DAYS,	 O_HOURS,      O_OUT,	    O_STORE,
	    O_PASS_FILE,   O_PASS_ENV,	 O_KEY_POLICY, O_DNS,	    O_IP,
	    O_NEW_KEY,	   O_KEY_TYPE,
	};
	static const char zero_fp[] = "00000000000000000000000000000000"
				      "00000000000000000000000000000000";
	struct args a;
	const char *profile, *device;
	size_t csr_len = 0;
	int64_t lifetime;

	parse(&a, argc, argv, allowed, sizeof(allowed) / sizeof(*allowed));
	need(&a, O_OUT, argv[0]);
	profile = ARG(&a, O_PROFILE) ? ARG(&a, O_PROFILE)
				     : ZTP_CA_PROFILE_OPERATIONAL;
	if (strcmp(profile, ZTP_CA_PROFILE_SERVER) == 0)
		return issue_server(&a, argv[0]);
	if (strcmp(profile, ZTP_CA_PROFILE_OCSP) == 0)
		return issue_ocsp(&a, argv[0]);
	if (a.n_dns + a.n_ip > 0 || ARG(&a, O_NEW_KEY) != NULL ||
	    ARG(&a, O_KEY_TYPE) != NULL)
		tool_usage_error("%s: --dns, --ip, --new-key and --key-type "
				 "apply to --profile server and ocsp only",
				 argv[0]);
	need(&a, O_CSR, argv[0]);
	device = need(&a, O_DEVICE_ID, argv[0]);
	lifetime = lifetime_of(&a);
	issue_setup(&a, argv[0]);
	if (ARG(&a, O_STORE) == NULL &&
	    strcmp(profile, ZTP_CA_PROFILE_FACTORY) != 0) {
		/* The throwaway registry only has to satisfy the rule that
		 * bootstrap and operational certificates belong to a
		 * registered device; it is gone when the command ends, so
		 * the record needs no real factory fingerprint. */
		check(ztp_store_device_add(R.store, device, zero_fp, NULL, NULL,
					   (int64_t)time(NULL)),
		      "registering the device");
	}
	read_csr(&a, &csr_len);
	check(ztp_ca_issue_ex(R.ca, &R.cert, &R.serial, NULL, R.csr, csr_len,
			      device, ARG(&a, O_TENANT), profile, lifetime),
	      "issuing");
	write_out(ARG(&a, O_OUT), R.cert, 0644, false);
	printf("%s\n", R.serial);
	return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

/* Exit status of issue-bulk when it read every request but refused some
 * (ztp-ca(1)). */
#define BULK_EXIT_REFUSED 3

static int qsort_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names DIR/<ID>.csr, sorted, so that a run is reproducible. */
static char **csr_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		tool_die(ZTP_EIO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len <= 4 || strcmp(e->d_name + len - 4, ".csr") != 0)
			continue;
		if (*n == cap) {
			char **p;

			cap = cap == 0 ? 64 : cap * 2;
			p = realloc(names, cap * sizeof(*names));
			if (p == NULL)
				tool_die(ZTP_ENOMEM, "out of memory");
			names = p;
		}
		if ((names[*n] = strdup(e->d_name)) == NULL)
			tool_die(ZTP_ENOMEM, "out of memory");
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(*names), qsort_strcmp);
	return names;
}

/* --csr-dir D --out-dir D: D/<ID>.csr to D/<ID>.pem, each written
 * atomically and never over an existing file. The summary is that of
 * ztp_ca_issue_bulk(), with file names for line numbers' sake in the
 * messages. */
static int bulk_dirs(struct args *a, int64_t lifetime)
{
	const char *in = ARG(a, O_CSR_DIR), *out = ARG(a, O_OUT_DIR);
	json_object *sum = json_object_new_object();
	json_object *refusals = json_object_new_array();
	unsigned long long issued = 0, refused = 0;
	char path[4096], id[ZTP_ID_MAX + 1], msg[512];
	size_t n, i, len;
	char **names = csr_names(in, &n);
	int rc;

	if (sum == NULL || refusals == NULL)
		tool_die(ZTP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *why = NULL, *err = NULL;
		char *csr = NULL;
		size_t csr_len = 0;

		len = strlen(names[i]) - 4;
		id[0] = '\0';
		if (len <= ZTP_ID_MAX) {
			memcpy(id, names[i], len);
			id[len] = '\0';
		}
		snprintf(path, sizeof(path), "%s/%s", in, names[i]);
		rc = ztp_id_validate(id, strlen(id));
		if (rc == ZTP_OK) {
			rc = tool_load_file(&csr, &csr_len, path, PEM_FILE_MAX,
					    &why);
			if (rc < 0)
				snprintf(msg, sizeof(msg), "%s", why);
		} else {
			snprintf(msg, sizeof(msg),
				 "the file name is not <device ID>.csr");
		}
		if (rc == ZTP_OK) {
			rc = ztp_ca_issue_ex(R.ca, &R.cert, &R.serial, NULL,
					     csr, csr_len, id, NULL,
					     ZTP_CA_PROFILE_FACTORY, lifetime);
			if (rc == ZTP_ESTORE || rc == ZTP_ENOMEM ||
			    rc == ZTP_EEXPIRED)
				tool_die_lib(rc, path);
			if (rc < 0)
				snprintf(msg, sizeof(msg), "%s",
					 ztp_error_last_message());
		}
		free(csr);
		if (rc == ZTP_OK) {
			snprintf(path, sizeof(path), "%s/%s.pem", out, id);
			rc = tool_write_file_atomic(
			    path, R.cert, strlen(R.cert), 0644, true, &err);
			if (rc < 0)
				tool_die(rc,
					 "%s: %s (the certificate is "
					 "issued and recorded, serial "
					 "%s)",
					 path, err, R.serial);
			issued++;
		} else {
			json_object *r = json_object_new_object();

			refused++;
			if (r == NULL)
				tool_die(ZTP_ENOMEM, "out of memory");
			json_object_object_add(
			    r, "file", json_object_new_string(names[i]));
			json_object_object_add(
			    r, "device_id",
			    ztp_id_validate(id, strlen(id)) == ZTP_OK
				? json_object_new_string(id)
				: NULL);
			json_object_object_add(
			    r, "code",
			    json_object_new_string(ztp_status_name(rc)));
			json_object_object_add(r, "message",
					       json_object_new_string(msg));
			json_object_array_add(refusals, r);
		}
		ztp_free(R.cert);
		ztp_free(R.serial);
		R.cert = R.serial = NULL;
		free(names[i]);
	}
	free(names);
	json_object_object_add(sum, "files", json_object_new_int64((int64_t)n));
	json_object_object_add(sum, "issued",
			       json_object_new_int64((int64_t)issued));
	json_object_object_add(sum, "refused",
			       json_object_new_int64((int64_t)refused));
	json_object_object_add(sum, "refusals", refusals);
	puts(json_object_to_json_string_ext(
	    sum, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(sum);
	if (fflush(stdout) != 0)
		return TOOL_EXIT_FAIL;
	return refused > 0 ? BULK_EXIT_REFUSED : TOOL_EXIT_OK;
}

static int cmd_issue_bulk(int argc, char **argv)
{
	static const int allowed[] = {
	    O_ISSUER_CERT, O_ISSUER_KEY, O_IN,	     O_CSR_DIR,
	    O_OUT,	   O_OUT_DIR,	 O_DAYS,     O_HOURS,
	    O_STORE,	   O_PASS_FILE,	 O_PASS_ENV, O_KEY_POLICY,
	};
	struct args a;
	char *summary = NULL;
	json_object *o, *refused = NULL;
	int64_t lifetime;
	int rc, status = TOOL_EXIT_OK;

	parse(&a, argc, argv, allowed, sizeof(allowed) / sizeof(*allowed));
	if (!((ARG(&a, O_IN) != NULL && ARG(&a, O_OUT) != NULL &&
	       ARG(&a, O_CSR_DIR) == NULL && ARG(&a, O_OUT_DIR) == NULL) ||
	      (ARG(&a, O_CSR_DIR) != NULL && ARG(&a, O_OUT_DIR) != NULL &&
	       ARG(&a, O_IN) == NULL && ARG(&a, O_OUT) == NULL)))
		tool_usage_error("%s: give --in F --out F, or --csr-dir D "
				 "--out-dir D",
				 argv[0]);
	lifetime = lifetime_of(&a);
	issue_setup(&a, argv[0]);
	if (ARG(&a, O_CSR_DIR) != NULL)
		return bulk_dirs(&a, lifetime);
	rc = ztp_ca_issue_bulk(R.ca, &summary, ARG(&a, O_IN), ARG(&a, O_OUT),
			       lifetime, NULL, NULL);
	if (summary != NULL) {
		printf("%s\n", summary);
		fflush(stdout);
	}
	if (rc < 0) {
		ztp_free(summary);
		tool_die_lib(rc, "issuing");
	}
	o = json_tokener_parse(summary);
	ztp_free(summary);
	if (o == NULL || !json_object_object_get_ex(o, "refused", &refused))
		tool_die(ZTP_EINTERNAL, "unreadable summary");
	if (json_object_get_int64(refused) > 0)
		status = BULK_EXIT_REFUSED;
	json_object_put(o);
	return status;
}

static int cmd_revoke(int argc, char **argv)
{
	static const int allowed[] = {O_STORE, O_SERIAL, O_REASON};
	struct args a;
	int reason = ZTP_CA_REASON_UNSPECIFIED;

	parse(&a, argc, argv, allowed, sizeof(allowed) / sizeof(*allowed));
	need(&a, O_STORE, argv[0]);
	need(&a, O_SERIAL, argv[0]);
	if (ARG(&a, O_REASON) != NULL &&
	    ztp_ca_reason_from_name(&reason, ARG(&a, O_REASON)) < 0)
		tool_usage_error("--reason: unknown reason \"%.40s\"",
				 ARG(&a, O_REASON));
	/* Revocation needs the registry only, not the CA key. */
	check(ztp_ca_new(&R.ca), "ca");
	open_store(ARG(&a, O_STORE));
	check(ztp_ca_revoke(R.ca, ARG(&a, O_SERIAL), reason), "revoking");
	return TOOL_EXIT_OK;
}

static int cmd_crl(int argc, char **argv)
{
	static const int allowed[] = {O_ISSUER_CERT, O_ISSUER_KEY, O_STORE,
				      O_OUT,	     O_HOURS,	   O_PASS_FILE,
				      O_PASS_ENV};
	struct args a;
	int hours = 0;

	parse(&a, argc, argv, allowed, sizeof(allowed) / sizeof(*allowed));
	need(&a, O_STORE, argv[0]);
	need(&a, O_OUT, argv[0]);
	if (ARG(&a, O_HOURS) != NULL)
		hours =
		    (int)tool_parse_ll(ARG(&a, O_HOURS), 1, 8784, "--hours");
	load_issuer(&a, argv[0]);
	open_store(ARG(&a, O_STORE));
	check(ztp_ca_crl(R.ca, &R.crl, hours), "producing the CRL");
	write_out(ARG(&a, O_OUT), R.crl, 0644, false);
	return TOOL_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"init-root", cmd_init_root}, {"init-sub", cmd_init_sub},
	    {"issue", cmd_issue},	  {"issue-bulk", cmd_issue_bulk},
	    {"revoke", cmd_revoke},	  {"crl", cmd_crl},
	};
	size_t i;
	int rc;

	tool_init("ztp-ca");
	tool_set_cleanup(release);
	if (argc < 2)
		tool_usage_error("no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ztp-ca (libztp) %s\n", ztp_version());
		return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
	}
	if (ztp_init() < 0)
		tool_die_lib(ztp_error_last_code(), "initialising");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			rc = cmds[i].fn(argc - 1, argv + 1);
			release();
			return rc;
		}
	}
	tool_usage_error("unknown command \"%.32s\"", argv[1]);
}
