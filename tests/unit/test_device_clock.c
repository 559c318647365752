/*
 * Device: "clock": "untrusted" (libztp/device/clock.c) against a real TLS
 * server on 127.0.0.1. The device checks the server's chain at its time
 * floor (build time, then the server times it learned), whatever its own
 * clock says; a certificate that expired before the floor is refused and
 * leaves the floor where it was; the floor only moves forward, never past
 * the notAfter of the certificate that told it; a floor file that is not
 * one is a documented error.
 */
#include "device/internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ztp/ca.h>
#include <ztp/store.h>

#include "testutil.h"
#include "tls_server.h"

#define DAY 86400

static char *dir, *state, *ca_file;
static ztp_store *st;
static ztp_ca *ca;
static char *ca_pem;
static ztp_device *dev;
static int64_t real_now, ca_now, zero;
static char steps[4096];

/* What the server answers to a challenge, and what it was asked. */
static int64_t srv_time;
static char last_body[4096];

static int on_request(void *ctx, const char *path, const char *body, char *out,
		      size_t cap)
{
	char ts[32];

	(void)ctx;
	snprintf(last_body, sizeof(last_body), "%s", body);
	if (strcmp(path, "/ztp/v1/challenge") != 0)
		return 404;
	ztp__time_rfc3339(ts, srv_time);
	snprintf(out, cap,
		 "{\"nonce\":\"abc\",\"expires_at\":\"2026-11-27T22:31:00Z\","
		 "\"server_time\":\"%s\"}",
		 ts);
	return 200;
}

static void on_event(const char *json, void *ctx)
{
	(void)ctx;
	ts_step(json, "clock", steps, sizeof(steps));
}

/* A server certificate for 127.0.0.1 issued at the CA's clock `at`. */
static void server_cert(int64_t at, int64_t lifetime, char **cert, char **key)
{
	ca_now = at;
	ck_assert_rc(ztp_ca_issue_server(ca, cert, key, NULL, NULL, NULL, 0,
					 NULL, "{\"ip\":[\"127.0.0.1\"]}",
					 lifetime),
		     ZTP_OK);
}

static void start(ts_server *s, int64_t at, int64_t lifetime)
{
	char *cert = NULL, *key = NULL, url[64];

	server_cert(at, lifetime, &cert, &key);
	ts_start(s, cert, key, on_request, NULL, false);
	ztp_free(cert);
	ztp__free_secret(key, strlen(key));
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", s->port);
	ck_assert_rc(ztp_device_set_base_url(dev, url), ZTP_OK);
}

static char *clock_file(void)
{
	return ztp_test_path(state, "clock.json");
}

static int64_t floor_on_disk(void)
{
	int64_t f = 0;

	ck_assert_rc(ztp__dev_floor_read(&f, state), ZTP_OK);
	return f;
}

static void setup(void)
{
	dir = ztp_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	state = ztp_test_path(dir, "state");
	real_now = (int64_t)time(NULL);
	ca_now = real_now;
	ck_assert_rc(ztp_store_open(&st, "memory:"), ZTP_OK);
	ca = ts_ca(st, "/CN=Server CA", 400, &ca_pem);
	ck_assert_rc(ztp_ca_set_clock(ca, ztp_clock_fixed, &ca_now), ZTP_OK);
	ca_file = ztp_test_path(dir, "ca.pem");
	ts_write_text(ca_file, ca_pem);
	dev = ts_device(ca_file, state, on_event);
	ck_assert_rc(ztp_device_set_id(dev, "dev-1"), ZTP_OK);
	/* The device's own clock says 1970. */
	zero = 0;
	ck_assert_rc(ztp_device_set_clock(dev, ztp_clock_fixed, &zero), ZTP_OK);
	dev->cfg.clock_untrusted = true;
	steps[0] = '\0';
	last_body[0] = '\0';
}

static void teardown(void)
{
	ztp_device_free(dev);
	ztp_ca_free(ca);
	ztp_store_free(st);
	ztp_free(ca_pem);
	free(ca_file);
	free(state);
	ztp_test_rmtree(dir);
	free(dir);
}

/* ------------------------------------------------------------------ tests */

/* At 1970 by its own clock, from the build time: a server certificate
 * issued after the build (and after the true time, even) is accepted,
 * the server's time taken; by the system clock it would not be. */
START_TEST(clock_1970)
{
	ts_server s;
	char *p;
	struct stat sb;
	char *nonce = NULL;
	int64_t exp = 0;

	start(&s, real_now + DAY, 30 * DAY);
	ck_assert_rc(ztp__dev_clock_begin(dev), ZTP_OK);
	ck_assert_int_eq(dev->floor, ztp__dev_build_time());
	ck_assert_int_eq(ztp__dev_now(dev), ztp__dev_build_time());
	srv_time = real_now + 2 * DAY;
	ck_assert_rc(ztp__dev_clock_sync(dev, "dev-1"), ZTP_OK);
	ck_assert_ptr_nonnull(strstr(last_body, "\"server_time\":true"));
	ck_assert_str_eq(steps, "raised,");
	ck_assert_int_eq(dev->floor, srv_time);
	ck_assert_int_eq(ztp__dev_now(dev), srv_time);
	ck_assert_int_eq(floor_on_disk(), srv_time);
	p = clock_file();
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	free(p);
	/* The floor outlives the handle. */
	dev->floor = 0;
	ck_assert_rc(ztp__dev_clock_begin(dev), ZTP_OK);
	ck_assert_int_eq(dev->floor, srv_time);
	ck_assert_int_eq(atomic_load(&s.handshakes), 1);

	/* With the system clock, the same certificate is not valid yet. */
	dev->cfg.clock_untrusted = false;
	ck_assert_rc(ztp__dev_challenge(dev, "dev-1", NULL, &nonce, &exp),
		     ZTP_ENETWORK);
	ck_assert_ptr_null(nonce);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "not yet"));
	ts_stop(&s);
}
END_TEST

/* At the floor: a server time behind it or equal to it leaves it; one
 * ahead raises it; one at or past the server certificate's notAfter is
 * not believed. */
START_TEST(clock_forward_only)
{
	ts_server s;
	int64_t f = real_now;

	ck_assert_rc(ztp__dev_floor_write(state, f), ZTP_OK);
	start(&s, real_now, 30 * DAY);
	ck_assert_rc(ztp__dev_clock_begin(dev), ZTP_OK);
	ck_assert_int_eq(dev->floor, f);

	srv_time = f - 3600;
	ck_assert_rc(ztp__dev_clock_sync(dev, "dev-1"), ZTP_OK);
	ck_assert_int_eq(floor_on_disk(), f);
	srv_time = f;
	ck_assert_rc(ztp__dev_clock_sync(dev, "dev-1"), ZTP_OK);
	ck_assert_int_eq(floor_on_disk(), f);
	srv_time = f + 100;
	ck_assert_rc(ztp__dev_clock_sync(dev, "dev-1"), ZTP_OK);
	ck_assert_int_eq(floor_on_disk(), f + 100);
	ck_assert_int_eq(dev->floor, f + 100);
	/* Far ahead: past the certificate the server presented. */
	srv_time = real_now + 31 * DAY;
	ck_assert_rc(ztp__dev_clock_sync(dev, "dev-1"), ZTP_OK);
	ck_assert_int_eq(floor_on_disk(), f + 100);
	ck_assert_int_eq(dev->floor, f + 100);
	ck_assert_str_eq(steps, "behind,behind,raised,refused,");
	ts_stop(&s);
}
END_TEST

/* An attacker with a server certificate that expired before the floor
 * (and its key) gets no answer through: the handshake fails, the floor
 * stays. The same certificate passes by the system clock. */
START_TEST(clock_expired_server)
{
	ts_server s;
	int64_t f = real_now + 20 * DAY;
	char *nonce = NULL, *p, *before = NULL, *after = NULL;
	size_t len = 0;
	int64_t exp = 0;

	ck_assert_rc(ztp__dev_floor_write(state, f), ZTP_OK);
	p = clock_file();
	ck_assert_rc(ztp__file_read(&before, &len, p, 4096), ZTP_OK);
	start(&s, real_now, 10 * DAY);
	ck_assert_rc(ztp__dev_clock_begin(dev), ZTP_OK);
	srv_time = real_now; /* what the attacker would roll it back to */
	ck_assert_rc(ztp__dev_clock_sync(dev, "dev-1"), ZTP_ENETWORK);
	ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), "expired"));
	ck_assert_int_eq(atomic_load(&s.requests), 0);
	ck_assert_int_eq(dev->floor, f);
	ck_assert_rc(ztp__file_read(&after, &len, p, 4096), ZTP_OK);
	ck_assert_str_eq(before, after);
	ck_assert_str_eq(steps, "");

	dev->cfg.clock_untrusted = false;
	ck_assert_rc(ztp__dev_challenge(dev, "dev-1", NULL, &nonce, &exp),
		     ZTP_EPARSE); /* answered; server_time was not asked */
	ck_assert_int_eq(atomic_load(&s.requests), 1);
	ck_assert_ptr_null(strstr(last_body, "server_time"));
	ts_stop(&s);
	free(before);
	free(after);
	free(p);
}
END_TEST

/* A floor file that is not one: a documented error, and the operation
 * does not start. */
START_TEST(clock_state_garbage)
{
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
	    {"garbage", ZTP_EPARSE},
	    {"", ZTP_EPARSE},
	    {"[]", ZTP_EPARSE},
	    {"{}", ZTP_EPARSE},
	    {"{\"version\":2,\"floor\":\"2026-12-07T12:00:00Z\"}", ZTP_EPARSE},
	    {"{\"version\":1,\"floor\":\"2026-12-07T12:00:00+01:00\"}",
	     ZTP_EPARSE},
	    {"{\"version\":1,\"floor\":1796644800}", ZTP_EPARSE},
	    {"{\"version\":1,\"floor\":\"2026-12-07T12:00:00Z\",\"x\":1}",
	     ZTP_EPARSE},
	};
	char *p = clock_file(), big[1024];
	int64_t f = 0;
	size_t i;

	ck_assert_rc(ztp_device_set_base_url(dev, "https://127.0.0.1:1"),
		     ZTP_OK);
	for (i = 0; i < ZTP__ARRAY_LEN(cases); i++) {
		ts_write_text(p, cases[i].text);
		ck_assert_msg(ztp__dev_floor_read(&f, state) == cases[i].rc,
			      "%s", cases[i].text);
		ck_assert_ptr_nonnull(strstr(ztp_error_last_message(), p));
		ck_assert_int_eq(f, ztp__dev_build_time());
		ck_assert_rc(ztp_device_credentials(dev), cases[i].rc);
	}
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ts_write_text(p, big);
	ck_assert_rc(ztp__dev_floor_read(&f, state), ZTP_ETOOBIG);
	ck_assert_rc(ztp_device_credentials(dev), ZTP_ETOOBIG);
	/* A floor from before this build: the build time. */
	ts_write_text(p, "{\"version\":1,\"floor\":\"1980-01-01T00:00:00Z\"}");
	ck_assert_rc(ztp__dev_floor_read(&f, state), ZTP_OK);
	ck_assert_int_eq(f, ztp__dev_build_time());
	/* Not a file. */
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_lt(ztp__dev_floor_read(&f, state), 0);
	ck_assert_int_eq(rmdir(p), 0);
	free(p);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {clock_1970, clock_forward_only,
				      clock_expired_server,
				      clock_state_garbage};

	return ts_main("device_clock", setup, teardown, tests,
		       ZTP__ARRAY_LEN(tests));
}
