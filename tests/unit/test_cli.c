/* test_cli.c - the command-line tools' dispatcher (lib/cli.c): the global
 * option, -h/--help, unknown commands, usage errors and exit statuses,
 * with stdout and stderr captured. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "util.h"

static char out[4096], err[4096];
static int calls;
static int last_argc;
static char *last_arg;

/* "run [ARG]": returns 7, or -EINVAL with more than one argument. */
static int cmd_run(void *ctx, int argc, char **argv)
{
	calls++;
	last_argc = argc;
	last_arg = argc ? argv[0] : NULL;
	*(int *)ctx = 1;
	return argc > 1 ? -EINVAL : 7;
}

static const struct ntm_cli_cmd cmds[] = {
	{ "run", cmd_run, "run [ARG]" },
	{ "running", cmd_run, "running" },
};

static struct ntm_cli tool(void)
{
	return (struct ntm_cli){ .prog = "tool", .cmds = cmds, .n_cmds = NTM_ARRAY_SIZE(cmds),
				 .opt = "-s", .opt_synopsis = "-s SOCKET",
				 .opt_help = "the socket (default /def)", .opt_value = "/def" };
}

static const char usage[] = "usage: tool [-s SOCKET] COMMAND\n"
			    "  tool run [ARG]\n"
			    "  tool running\n"
			    "  -s SOCKET  the socket (default /def)\n"
			    "  --version  print the name and version and exit\n";

/* Read what fd, redirected to file f, received, into buf. */
static void slurp(FILE *f, char *buf, size_t cap)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static FILE *cap_out, *cap_err;
static int saved_out = -1, saved_err = -1;

/* From here to capture_end, stdout and stderr go to temporary files. */
static void capture_begin(void)
{
	cap_out = tmpfile();
	cap_err = tmpfile();
	saved_out = dup(1);
	saved_err = dup(2);
	ck_assert(cap_out && cap_err && saved_out >= 0 && saved_err >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(cap_out), 1);
	dup2(fileno(cap_err), 2);
}

/* What was written since capture_begin: stdout in out, stderr in err. */
static void capture_end(void)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	slurp(cap_out, out, sizeof(out));
	slurp(cap_err, err, sizeof(err));
}

/* ntm_cli_start and, when it says go on, ntm_cli_dispatch on argv (NULL
 * terminated): the exit status, with stdout in out and stderr in err. */
static int run_tool(struct ntm_cli *cli, int *ctx, char **argv)
{
	int argc = 0, at = -1, ret;

	while (argv[argc])
		argc++;
	capture_begin();
	ret = ntm_cli_start(cli, argc, argv, &at);
	if (ret < 0)
		ret = ntm_cli_dispatch(cli, ctx, argc - at, argv + at);
	capture_end();
	return ret;
}

#define RUN(cli, ctx, ...) run_tool(cli, ctx, (char *[]){ "tool", __VA_ARGS__, NULL })

START_TEST(test_a_command_gets_its_arguments_and_its_status_is_the_exit_status)
{
	struct ntm_cli cli = tool();
	int ctx = 0;

	calls = 0;
	ck_assert_int_eq(RUN(&cli, &ctx, "run", "x"), 7);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(ctx, 1);
	ck_assert_int_eq(last_argc, 1);
	ck_assert_str_eq(last_arg, "x");
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cli.opt_value, "/def");
	ck_assert_str_eq(getenv("NTM_NSS_BYPASS"), "1");
}
END_TEST

START_TEST(test_the_global_option_comes_first_and_takes_a_value)
{
	struct ntm_cli cli = tool();
	int ctx = 0;

	ck_assert_int_eq(RUN(&cli, &ctx, "-s", "/other", "run"), 7);
	ck_assert_str_eq(cli.opt_value, "/other");
	ck_assert_int_eq(last_argc, 0);

	/* after the command it is the command's argument */
	cli = tool();
	ck_assert_int_eq(RUN(&cli, &ctx, "run", "-s"), 7);
	ck_assert_str_eq(cli.opt_value, "/def");
	ck_assert_str_eq(last_arg, "-s");
}
END_TEST

START_TEST(test_an_unknown_command_is_named_and_the_usage_follows_on_stderr)
{
	struct ntm_cli cli = tool();
	int ctx = 0;
	char want[sizeof(usage) + 64];

	calls = 0;
	ck_assert_int_eq(RUN(&cli, &ctx, "walk"), NTM_CLI_USAGE);
	snprintf(want, sizeof(want), "tool: unknown command 'walk'\n%s", usage);
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(calls, 0);

	/* a global option without its value is not taken for one */
	ck_assert_int_eq(RUN(&cli, &ctx, "-s"), NTM_CLI_USAGE);
	snprintf(want, sizeof(want), "tool: unknown command '-s'\n%s", usage);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_a_prefix_of_a_command_is_not_the_command)
{
	struct ntm_cli cli = tool();
	int ctx = 0;

	calls = 0;
	ck_assert_int_eq(RUN(&cli, &ctx, "ru"), NTM_CLI_USAGE);
	ck_assert_int_eq(calls, 0);
	ck_assert_ptr_nonnull(strstr(err, "unknown command 'ru'"));
	ck_assert_ptr_eq(ntm_cli_find(cmds, NTM_ARRAY_SIZE(cmds), "runnin"), NULL);
	ck_assert_ptr_eq(ntm_cli_find(cmds, NTM_ARRAY_SIZE(cmds), "running"), &cmds[1]);
}
END_TEST

START_TEST(test_a_usage_error_prints_that_commands_usage_and_exits_2)
{
	struct ntm_cli cli = tool();
	int ctx = 0;

	ck_assert_int_eq(RUN(&cli, &ctx, "run", "a", "b"), NTM_CLI_USAGE);
	ck_assert_str_eq(err, "usage: tool run [ARG]\n");
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_no_command_is_a_usage_error_on_stderr)
{
	struct ntm_cli cli = tool();
	int ctx = 0;
	char *argv[] = { "tool", NULL };

	ck_assert_int_eq(run_tool(&cli, &ctx, argv), NTM_CLI_USAGE);
	ck_assert_str_eq(err, usage);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(RUN(&cli, &ctx, "-s", "/x"), NTM_CLI_USAGE);
	ck_assert_str_eq(err, usage);
}
END_TEST

START_TEST(test_help_prints_the_usage_on_stdout_and_exits_0)
{
	struct ntm_cli cli = tool();
	int ctx = 0;

	calls = 0;
	ck_assert_int_eq(RUN(&cli, &ctx, "-h"), NTM_CLI_OK);
	ck_assert_str_eq(out, usage);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(RUN(&cli, &ctx, "--help"), NTM_CLI_OK);
	ck_assert_str_eq(out, usage);
	ck_assert_int_eq(RUN(&cli, &ctx, "-s", "/x", "-h"), NTM_CLI_OK);
	ck_assert_str_eq(out, usage);
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_version_prints_the_name_and_the_package_version_and_exits_0)
{
	struct ntm_cli cli = tool();
	int ctx = 0;

	calls = 0;
	ck_assert_int_eq(RUN(&cli, &ctx, "--version"), NTM_CLI_OK);
	ck_assert_str_eq(out, "tool " NTM_VERSION "\n");
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(RUN(&cli, &ctx, "-s", "/x", "--version"), NTM_CLI_OK);
	ck_assert_str_eq(out, "tool " NTM_VERSION "\n");
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_json_is_the_only_argument_a_json_command_takes)
{
	char *json[] = { "--json" }, *two[] = { "--json", "--json" }, *other[] = { "-j" };
	bool j = true;

	ck_assert_int_eq(ntm_cli_json_arg(0, NULL, &j), 0);
	ck_assert(!j);
	ck_assert_int_eq(ntm_cli_json_arg(1, json, &j), 0);
	ck_assert(j);
	ck_assert_int_eq(ntm_cli_json_arg(2, two, &j), -EINVAL);
	ck_assert_int_eq(ntm_cli_json_arg(1, other, &j), -EINVAL);
}
END_TEST

START_TEST(test_show_key_prints_the_public_key_of_the_key_file)
{
	char dir[] = "/tmp/ntm-test-cli-XXXXXX", path[64], b64[NTM_KEY_B64_LEN + 2];
	uint8_t priv[32], pub[32];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ntm_key_to_base64(b64, priv);
	umask(077);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", b64);
	fclose(f);
	ntm_key_to_base64(b64, pub);
	strcat(b64, "\n");
	capture_begin();
	ck_assert_int_eq(ntm_cli_show_key_cmd("tool", path, 0, NULL), NTM_CLI_OK);
	capture_end();
	ck_assert_str_eq(out, b64);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(ntm_cli_show_key_cmd("tool", path, 1, (char *[]){ "x" }), -EINVAL);

	capture_begin();
	ck_assert_int_eq(ntm_cli_show_key_cmd("tool", "/nonexistent/key", 0, NULL), NTM_CLI_FAIL);
	capture_end();
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(strncmp(err, "tool: ", 6), 0);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/key"));
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("dispatch");
	tcase_add_test(tc, test_a_command_gets_its_arguments_and_its_status_is_the_exit_status);
	tcase_add_test(tc, test_the_global_option_comes_first_and_takes_a_value);
	tcase_add_test(tc, test_an_unknown_command_is_named_and_the_usage_follows_on_stderr);
	tcase_add_test(tc, test_a_prefix_of_a_command_is_not_the_command);
	tcase_add_test(tc, test_a_usage_error_prints_that_commands_usage_and_exits_2);
	tcase_add_test(tc, test_no_command_is_a_usage_error_on_stderr);
	tcase_add_test(tc, test_help_prints_the_usage_on_stdout_and_exits_0);
	tcase_add_test(tc, test_version_prints_the_name_and_the_package_version_and_exits_0);
	tcase_add_test(tc, test_json_is_the_only_argument_a_json_command_takes);
	tcase_add_test(tc, test_show_key_prints_the_public_key_of_the_key_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
