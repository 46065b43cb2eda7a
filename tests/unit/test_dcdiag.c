/* test_dcdiag.c - the words ntmctl status and the log use when the node
 * is not registered (dcdiag.h): the cases are told apart, ICMP errors
 * included, and each says what to do. */
#include <check.h>
#include <string.h>

#include "dcdiag.h"
#include "util.h"

#define KEY "q0l9yUkJ0BvR2V5y8m4S1CSuLo5Jm1oWa2Q4hZ6xHjE="

static void tai(uint8_t out[12], uint64_t s)
{
	memset(out, 0, 12);
	ntm_put_be64(out, s + (1ull << 62));
}

static struct dcdiag_in base(void)
{
	struct dcdiag_in in = {
		.failures = 2,
		.now_ms = 1000000,
		.now_wall = 1700000000,
		.endpoint = "192.0.2.1:7540",
		.port = 7540,
		.name = "alice",
		.key = KEY,
	};
	return in;
}

static enum dcdiag_kind run(const struct dcdiag_in *in, char *info, char *hint)
{
	enum dcdiag_kind k = dcdiag_describe(in, info, DCDIAG_INFO_MAX, hint, DCDIAG_HINT_MAX);
	ck_assert_uint_lt(strlen(info), DCDIAG_INFO_MAX);
	ck_assert_uint_lt(strlen(hint), DCDIAG_HINT_MAX);
	return k;
}

START_TEST(test_no_answer_at_all_names_the_endpoint_the_port_and_the_key)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];

	ck_assert_int_eq(run(&in, info, hint), DCDIAG_SILENT);
	ck_assert_str_eq(info, "no answer at all from 192.0.2.1:7540");
	ck_assert_ptr_nonnull(strstr(hint, "is the DC running?"));
	ck_assert_ptr_nonnull(strstr(hint, "is UDP 7540 reachable?"));
	ck_assert_ptr_nonnull(strstr(hint, "is [DC] PublicKey right? a wrong key gets no answer"));
	/* a host name is shown with the address it resolved to */
	in.host = "dc.example.org";
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_SILENT);
	ck_assert_str_eq(info, "no answer at all from dc.example.org (192.0.2.1:7540)");
}
END_TEST

START_TEST(test_too_early_or_registered_says_nothing)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];

	in.failures = 1;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NONE);
	ck_assert_str_eq(info, "");
	ck_assert_str_eq(hint, "");
	in.failures = 5;
	in.registered = true;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NONE);
	ck_assert_str_eq(info, "");
}
END_TEST

START_TEST(test_not_enrolled_gives_the_command_that_enrols_the_key)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];

	in.failures = 0;  /* a refusal counts at once */
	in.refused = true;
	in.why.reason = NTM_REFUSE_NOT_ENROLLED;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NOT_ENROLLED);
	ck_assert_str_eq(info, "the DC refused us: this node's key is not enrolled");
	ck_assert_str_eq(hint, "run on the DC: ntm-dcctl node add alice " KEY);
}
END_TEST

START_TEST(test_clock_skew_says_which_clock_and_by_how_much)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];

	in.refused = true;
	in.why.reason = NTM_REFUSE_TS_AHEAD;
	tai(in.ours, 100000 + 3600);
	tai(in.why.dc_time, 100000);
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_CLOCK);
	ck_assert_str_eq(info, "the DC refused us: clock skew: our clock is ahead of the DC's "
			       "by 3600 s");
	ck_assert_ptr_nonnull(strstr(hint, "timedatectl"));

	in.why.reason = NTM_REFUSE_TS_OLD;
	tai(in.ours, 100000 - 3600);
	tai(in.why.last_ts, 100000);
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_CLOCK);
	ck_assert_str_eq(info, "the DC refused us: clock skew: our clock is behind the last "
			       "handshake it accepted from us by 3600 s");

	/* our clock agrees with the DC's now: an old stamp of ours has to pass */
	tai(in.ours, 100000);
	tai(in.why.dc_time, 100000);
	tai(in.why.last_ts, 100000 + 500);
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_CLOCK);
	ck_assert_ptr_nonnull(strstr(info, "ahead of now by 500 s"));
	ck_assert_ptr_nonnull(strstr(hint, "restart ntm-dcd"));
}
END_TEST

START_TEST(test_silence_after_answers_says_since_when)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];

	in.last_heard_ms = in.now_ms - 95000;
	in.now_wall = 1700000000; /* 22:13:20 UTC; 95 s before: 22:11:45 */
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_WENT_DOWN);
	ck_assert_str_eq(info, "no answer from 192.0.2.1:7540 since 22:11:45 UTC (95 s ago) "
			       "after earlier answers");
	ck_assert_ptr_nonnull(strstr(hint, "went down"));
	ck_assert_ptr_nonnull(strstr(hint, "UDP 7540"));
}
END_TEST

START_TEST(test_the_cases_read_differently)
{
	char info[4][DCDIAG_INFO_MAX], hint[4][DCDIAG_HINT_MAX];
	struct dcdiag_in in[4] = { base(), base(), base(), base() };

	in[1].refused = true;
	in[1].why.reason = NTM_REFUSE_NOT_ENROLLED;
	in[2].refused = true;
	in[2].why.reason = NTM_REFUSE_TS_AHEAD;
	in[3].last_heard_ms = 1;
	for (int i = 0; i < 4; i++)
		run(&in[i], info[i], hint[i]);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			ck_assert_str_ne(info[i], info[j]);
}
END_TEST

START_TEST(test_long_names_are_cut_not_overrun)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];
	char name[254];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	in.name = name;
	in.host = name;
	run(&in, info, hint);
	in.refused = true;
	in.why.reason = NTM_REFUSE_NOT_ENROLLED;
	run(&in, info, hint);
}
END_TEST

/* ICMP and ICMPv6 destination unreachable codes, and what they say. */
START_TEST(test_icmp_errors_are_classified_by_origin_type_and_code)
{
	ck_assert_int_eq(dcdiag_icmp_kind(2, 3, 3), DCDIAG_ICMP_PORT);
	ck_assert_int_eq(dcdiag_icmp_kind(3, 1, 4), DCDIAG_ICMP_PORT);
	ck_assert_int_eq(dcdiag_icmp_kind(2, 3, 1), DCDIAG_ICMP_HOST);
	ck_assert_int_eq(dcdiag_icmp_kind(2, 3, 0), DCDIAG_ICMP_HOST);
	ck_assert_int_eq(dcdiag_icmp_kind(3, 1, 3), DCDIAG_ICMP_HOST);
	ck_assert_int_eq(dcdiag_icmp_kind(3, 1, 0), DCDIAG_ICMP_HOST);
	ck_assert_int_eq(dcdiag_icmp_kind(2, 3, 13), DCDIAG_ICMP_PROHIBITED);
	ck_assert_int_eq(dcdiag_icmp_kind(3, 1, 1), DCDIAG_ICMP_PROHIBITED);
	/* fragmentation needed, TTL exceeded, another origin, v4 codes as v6 */
	ck_assert_int_eq(dcdiag_icmp_kind(2, 3, 4), DCDIAG_ICMP_NONE);
	ck_assert_int_eq(dcdiag_icmp_kind(2, 11, 0), DCDIAG_ICMP_NONE);
	ck_assert_int_eq(dcdiag_icmp_kind(1, 3, 3), DCDIAG_ICMP_NONE);
	ck_assert_int_eq(dcdiag_icmp_kind(3, 3, 3), DCDIAG_ICMP_NONE);
	ck_assert_int_eq(dcdiag_icmp_kind(2, 1, 4), DCDIAG_ICMP_NONE);
}
END_TEST

/* A port unreachable from the DC's host: ntm-dcd is not running there,
 * which silence (a wrong key, a dropping firewall) does not say. */
START_TEST(test_nothing_listening_on_the_dc_port_is_told_from_silence)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX], silent[DCDIAG_INFO_MAX];

	ck_assert_int_eq(run(&in, silent, hint), DCDIAG_SILENT);
	in.icmp = DCDIAG_ICMP_PORT;
	in.icmp_ms = in.now_ms - 3000;
	in.icmp_from = "192.0.2.1";
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NO_LISTENER);
	ck_assert_str_eq(info, "the DC's host answers that nothing listens on UDP port 7540 "
			 "(192.0.2.1:7540)");
	ck_assert_str_eq(hint, "is ntm-dcd running there?");
	ck_assert_str_ne(info, silent);
	in.icmp = DCDIAG_ICMP_HOST;
	in.icmp_from = "198.51.100.1";
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_UNREACHABLE);
	ck_assert_str_eq(info, "the DC's host 192.0.2.1:7540 is unreachable (ICMP from 198.51.100.1)");
	in.icmp = DCDIAG_ICMP_PROHIBITED;
	in.icmp_from = NULL;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_PROHIBITED);
	ck_assert_ptr_nonnull(strstr(info, "from a router"));
	ck_assert_ptr_nonnull(strstr(hint, "UDP 7540"));
}
END_TEST

/* An ICMP error only describes the attempts around it: not once the DC
 * answered since, not a minute later, not before two failures, not over a
 * refusal. */
START_TEST(test_an_old_icmp_error_or_one_before_the_last_answer_says_nothing)
{
	struct dcdiag_in in = base();
	char info[DCDIAG_INFO_MAX], hint[DCDIAG_HINT_MAX];

	in.icmp = DCDIAG_ICMP_PORT;
	in.icmp_ms = in.now_ms - DCDIAG_ICMP_FRESH_MS;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_SILENT);
	in.icmp_ms = in.now_ms - 1000;
	in.last_heard_ms = in.now_ms - 500;            /* the DC answered after it */
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_WENT_DOWN);
	in.last_heard_ms = in.now_ms - 20000;          /* it answered, then went away */
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NO_LISTENER);
	in.icmp_ms = in.now_ms + 1;                    /* a clock that went back */
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_WENT_DOWN);
	in.icmp_ms = in.now_ms - 1000;
	in.failures = 1;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NONE);
	in.failures = 2;
	in.refused = true;
	in.why.reason = NTM_REFUSE_NOT_ENROLLED;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NOT_ENROLLED);
	in.refused = false;
	in.registered = true;
	ck_assert_int_eq(run(&in, info, hint), DCDIAG_NONE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dcdiag");
	TCase *tc = tcase_create("describe");
	tcase_add_test(tc, test_no_answer_at_all_names_the_endpoint_the_port_and_the_key);
	tcase_add_test(tc, test_too_early_or_registered_says_nothing);
	tcase_add_test(tc, test_not_enrolled_gives_the_command_that_enrols_the_key);
	tcase_add_test(tc, test_clock_skew_says_which_clock_and_by_how_much);
	tcase_add_test(tc, test_silence_after_answers_says_since_when);
	tcase_add_test(tc, test_the_cases_read_differently);
	tcase_add_test(tc, test_long_names_are_cut_not_overrun);
	tcase_add_test(tc, test_icmp_errors_are_classified_by_origin_type_and_code);
	tcase_add_test(tc, test_nothing_listening_on_the_dc_port_is_told_from_silence);
	tcase_add_test(tc, test_an_old_icmp_error_or_one_before_the_last_answer_says_nothing);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
