/*
 * libztp example flows: what the four C examples share.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every example plays the three parties of a deployment:
 *
 *  - the manufacturer, who gives each device a factory key and a factory
 *    certificate from its issuing CA and tells the platform which devices
 *    it made (enrollment, which yields the device's one-time claim code);
 *  - the platform, whose verifier answers devices behind the reference
 *    HTTPS server (examples/python/ztp_server.py) and whose operator
 *    claims, resets and revokes devices in the registry the server uses;
 *  - the devices, which only ever talk to that server, over HTTPS.
 *
 * The deployment itself (a throwaway PKI made with ztp-ca, the verifier's
 * configuration ztp-verify.json(5) with a SQLite registry, and the running
 * server) is set up by run.sh, which passes its directory and the
 * server's URL:
 *
 *   DIR/pki/acme-factory.{pem,key}  the manufacturer's issuing CA
 *   DIR/pki/device-ca.pem           the platform's device CA
 *   DIR/pki/server-ca.pem           the CA devices pin for the server
 *   DIR/verify.json                 the verifier configuration
 *   DIR/registry.db                 the registry it names
 *
 * Only the installed header <ztp/ztp.h> is used from libztp; OpenSSL
 * plays the factory's key generator.
 */
#ifndef FLOW_H
#define FLOW_H

#include <stddef.h>

#include <ztp/ztp.h>

/** Longest path the examples build. */
#define FLOW_PATH_MAX 4096

typedef struct flow {
	const char *dir; /* the deployment directory */
	const char *url; /* the server, https://127.0.0.1:PORT */
	/* The platform operator's own verifier handle, configured from the
	 * same file as the server's: it shares the registry, so a device
	 * enrolled or claimed here is known to the server at once. */
	ztp_verifier *platform;
	/* The same registry, opened to show what the platform recorded. */
	ztp_store *registry;
	/* The manufacturer's issuing CA and the store in which it records
	 * every factory certificate it issues. */
	ztp_ca *factory_ca;
	ztp_store *factory_log;
	int step;
} flow;

/* Parse "PROGRAM DIR URL", open the handles above and print the title.
 * Exits with status 2 on a usage error, 1 on any other failure. */
void flow_begin(flow *f, int argc, char **argv, const char *title);

/* Free the handles and report success; returns the exit status (0). */
int flow_end(flow *f);

/* Output: a numbered step, an indented line under it, a check that
 * passed. */
void flow_step(flow *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void flow_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "ok  ..." when cond holds, else "FAIL ..." and exit(1). */
void flow_expect(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A libztp call must have succeeded: else print what failed, with the
 * library's detail (ztp_error_last()), and exit(1). */
void flow_ok(int rc, const char *what);

/* snprintf into a path buffer; a path that does not fit is an error. */
void flow_path(char out[FLOW_PATH_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The manufacturer makes device_id: a factory key (generated here, as the
 * device's secure element would), a factory certificate from the issuing
 * CA, and the device's configuration file ztp-device.json(5), all in
 * DIR/devices/<device_id>/. When enroll is set the platform is told about
 * the device and its claim code is returned (free it with ztp_free());
 * otherwise NULL. */
char *flow_manufacture(flow *f, const char *device_id, int enroll);

/* A device handle configured from DIR/devices/<device_id>/device.json. */
ztp_device *flow_device(flow *f, const char *device_id);

/* The MQTT broker's authoriser (what plugins/mosquitto does): the default
 * policy document, which confines each device to its tenant's namespace,
 * compiled into a topic index, with identities accepted only from
 * certificates of the platform's device CA. Free with ztp_policy_free(). */
ztp_policy *flow_broker(flow *f);

/* The contents of a small text file (up to 64 KiB); free() it. */
char *flow_read(const char *path);

/* The device's current operational certificate (PEM, from its state
 * directory: what it presents in TLS handshakes); free() it. */
char *flow_operational_pem(ztp_device *dev);

/* The value at a dotted path ("credentials.bootstrap.serial") of a JSON
 * document, as text (strings without their quotes, arrays as "a, b"),
 * into out. Returns 1
 * when found and not null, 0 otherwise (out is then ""). */
int flow_json(char *out, size_t cap, const char *json, const char *path);

/* The same for an integer member; returns 0 when absent or not one. */
long long flow_json_int(const char *json, const char *path);

#endif /* FLOW_H */
