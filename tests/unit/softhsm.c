/* SoftHSM2 tokens for the unit tests (softhsm.h). */
#include "config.h"

#include "softhsm.h"

#include <check.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

static char *conf_dir;

/* Also called from main(), outside any test: no ck_assert there. */
#define REQUIRE(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

const char *ztp_test_softhsm_init(void)
{
	char *conf, *tokens;
	FILE *f;

	REQUIRE(access(ZTP_TEST_SOFTHSM_MODULE, R_OK) == 0,
		"SoftHSM2 module %s missing: install softhsm2",
		ZTP_TEST_SOFTHSM_MODULE);
	if (conf_dir != NULL)
		return ZTP_TEST_SOFTHSM_MODULE;
	conf_dir = ztp_test_tmpdir();
	tokens = ztp_test_path(conf_dir, "tokens");
	REQUIRE(mkdir(tokens, 0700) == 0, "mkdir %s failed", tokens);
	conf = ztp_test_path(conf_dir, "softhsm2.conf");
	f = fopen(conf, "w");
	REQUIRE(f != NULL, "cannot write %s", conf);
	fprintf(f,
		"directories.tokendir = %s\nobjectstore.backend = file\n"
		"log.level = ERROR\nslots.removable = false\n",
		tokens);
	REQUIRE(fclose(f) == 0 && setenv("SOFTHSM2_CONF", conf, 1) == 0,
		"cannot write %s", conf);
	free(conf);
	free(tokens);
	return ZTP_TEST_SOFTHSM_MODULE;
}

void ztp_test_softhsm_cleanup(void)
{
	if (conf_dir == NULL)
		return;
	ztp_test_rmtree(conf_dir);
	free(conf_dir);
	conf_dir = NULL;
}

int ztp_test_run_tool(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = 0;

	REQUIRE(posix_spawn_file_actions_init(&fa) == 0 &&
		    posix_spawn_file_actions_addopen(
			&fa, 1, out != NULL ? out : "/dev/null",
			O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0,
		"posix_spawn_file_actions failed");
	REQUIRE(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0,
		"cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	REQUIRE(waitpid(pid, &st, 0) == pid, "waitpid failed");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void ztp_test_softhsm_token(const char *label)
{
	char *argv[] = {"softhsm2-util", "--init-token",
			"--free",	 "--label",
			(char *)label,	 "--pin",
			ZTP_TEST_PIN,	 "--so-pin",
			ZTP_TEST_SO_PIN, NULL};

	ztp_test_softhsm_init();
	REQUIRE(strlen(label) <= 32, "token label %s over 32 bytes", label);
	REQUIRE(ztp_test_run_tool(argv, NULL) == 0,
		"softhsm2-util --init-token %s failed", label);
}

void ztp_test_softhsm_delete_token(const char *label)
{
	char *argv[] = {"softhsm2-util", "--delete-token", "--token",
			(char *)label, NULL};

	ck_assert_msg(ztp_test_run_tool(argv, NULL) == 0,
		      "softhsm2-util --delete-token %s failed", label);
}

char *ztp_test_p11_uri(const char *token, const char *object, const char *query)
{
	char *s = NULL;

	ck_assert(asprintf(&s, "pkcs11:token=%s;object=%s?module-path=%s%s%s",
			   token, object, ztp_test_softhsm_init(),
			   query != NULL ? "&" : "",
			   query != NULL ? query : "") > 0);
	return s;
}
