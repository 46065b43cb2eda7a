/* test_daemon.c - what the daemons share around main() (lib/daemon.c) and
 * who they run as (ntm_privs_target in lib/privs.c): the key pair loaded
 * or created, the signals, the user. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "privs.h"
#include "session.h"

static char dir[] = "/tmp/ntm-test-daemon-XXXXXX";

static void make_dir(void)
{
	strcpy(dir, "/tmp/ntm-test-daemon-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(const char *key, const char *sub)
{
	unlink(key);
	rmdir(sub);
	rmdir(dir);
}

START_TEST(test_a_missing_key_is_created_private_and_then_loaded_as_the_same_key)
{
	struct ntm_identity a, b;
	char sub[64], key[96], msg[512] = "";
	struct stat st;
	bool created = false;

	make_dir();
	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(key, sizeof(key), "%s/key", sub);
	ck_assert_int_eq(ntm_daemon_load_identity(key, &a, &created, msg, sizeof(msg)), 0);
	ck_assert(created);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);

	ck_assert_int_eq(ntm_daemon_load_identity(key, &b, &created, msg, sizeof(msg)), 0);
	ck_assert(!created);
	ck_assert_mem_eq(a.pub, b.pub, sizeof(a.pub));
	remove_dir(key, sub);
}
END_TEST

START_TEST(test_a_key_others_can_read_is_refused_with_the_file_named)
{
	struct ntm_identity id;
	char sub[64], key[96], msg[512] = "";
	bool created = false;

	make_dir();
	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(key, sizeof(key), "%s/key", sub);
	ck_assert_int_eq(ntm_daemon_load_identity(key, &id, &created, msg, sizeof(msg)), 0);
	ck_assert_int_eq(chmod(key, 0644), 0);
	ck_assert_int_lt(ntm_daemon_load_identity(key, &id, &created, msg, sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, key));
	remove_dir(key, sub);
}
END_TEST

START_TEST(test_a_key_whose_directory_cannot_be_made_is_an_error_naming_it)
{
	struct ntm_identity id;
	char msg[512] = "";
	bool created = false;

	ck_assert_int_lt(ntm_daemon_load_identity("/dev/null/ntm/key", &id, &created, msg,
						  sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, "/dev/null/ntm/key"));
}
END_TEST

static int usr1_calls;

static void count_usr1(void *arg)
{
	ck_assert_ptr_eq(arg, &usr1_calls);
	usr1_calls++;
}

START_TEST(test_sigusr1_calls_the_counter_logger_and_sigterm_stops_the_loop)
{
	struct ntm_daemon_signals sig;
	struct ntm_loop *l;
	struct sigaction sa;

	ck_assert_int_eq(ntm_loop_new(&l), 0);
	ck_assert_int_eq(ntm_daemon_signals_add(&sig, l, count_usr1, &usr1_calls), 0);
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_IGN);

	usr1_calls = 0;
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(ntm_loop_run_once(l, 1000), 0);
	ck_assert_int_eq(usr1_calls, 1);
	ck_assert_int_eq(sig.stopped_by, 0);

	/* the signal stays pending until the loop reads it, so run returns */
	ck_assert_int_eq(raise(SIGTERM), 0);
	ck_assert_int_eq(ntm_loop_run(l), 0);
	ck_assert_int_eq(sig.stopped_by, SIGTERM);
	ck_assert_int_eq(usr1_calls, 1);
	ntm_loop_free(l);
}
END_TEST

START_TEST(test_sigint_stops_the_loop_too)
{
	struct ntm_daemon_signals sig;
	struct ntm_loop *l;

	ck_assert_int_eq(ntm_loop_new(&l), 0);
	ck_assert_int_eq(ntm_daemon_signals_add(&sig, l, count_usr1, &usr1_calls), 0);
	ck_assert_int_eq(raise(SIGINT), 0);
	ck_assert_int_eq(ntm_loop_run(l), 0);
	ck_assert_int_eq(sig.stopped_by, SIGINT);
	ntm_loop_free(l);
}
END_TEST

START_TEST(test_only_root_has_a_user_to_drop_to)
{
	struct ntm_privs_target t;
	char user[32];

	snprintf(user, sizeof(user), "1234:5678");
	ck_assert_int_eq(ntm_privs_target(user, sizeof(user), &t), 0);
	if (geteuid() == 0) {
		ck_assert(t.drop);
		ck_assert_uint_eq(t.uid, 1234);
		ck_assert_uint_eq(t.gid, 5678);
		snprintf(user, sizeof(user), "0:0");
		ck_assert_int_eq(ntm_privs_target(user, sizeof(user), &t), -EINVAL);
		ck_assert(t.drop);
	} else {
		/* not root: the process's own ids, whatever User= says */
		ck_assert(!t.drop);
		ck_assert_uint_eq(t.uid, geteuid());
		ck_assert_uint_eq(t.gid, getegid());
	}
	ck_assert_str_eq(user, geteuid() == 0 ? "0:0" : "1234:5678");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("setup");
	tcase_add_test(tc, test_a_missing_key_is_created_private_and_then_loaded_as_the_same_key);
	tcase_add_test(tc, test_a_key_others_can_read_is_refused_with_the_file_named);
	tcase_add_test(tc, test_a_key_whose_directory_cannot_be_made_is_an_error_naming_it);
	tcase_add_test(tc, test_sigusr1_calls_the_counter_logger_and_sigterm_stops_the_loop);
	tcase_add_test(tc, test_sigint_stops_the_loop_too);
	tcase_add_test(tc, test_only_root_has_a_user_to_drop_to);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
