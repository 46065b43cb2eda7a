/* test_replay.c - the anti-replay window and the counter limit. */
#include <check.h>
#include <stdio.h>

#include "replay.h"

#define W ((uint64_t)NTM_REPLAY_WINDOW)
#define L (W + 1)
#define R ((uint64_t)NTM_REJECT_AFTER)

static struct ntm_replay win;
static unsigned step;

/* Expect counter c to be accepted (ok) or rejected (!ok), naming the step. */
#define T(c, ok) do { \
	step++; \
	ck_assert_msg(ntm_replay_check(&win, (c)) == (ok), \
		      "step %u: counter %s = %llu should be %s", step, #c, \
		      (unsigned long long)(c), (ok) ? "accepted" : "rejected"); \
} while (0)

START_TEST(test_a_mixed_sequence_around_the_window_edges_is_accepted_and_rejected_as_specified)
{
	ntm_replay_init(&win);
	step = 0;
	T(0, 1); T(1, 1); T(1, 0); T(9, 1); T(8, 1); T(7, 1); T(7, 0);
	T(L, 1); T(L - 1, 1); T(L - 1, 0); T(L - 2, 1); T(2, 1); T(2, 0);
	T(L + 16, 1); T(3, 0); T(L + 16, 0);
	T(4 * L, 1); T(4 * L - (L - 1), 1); T(10, 0); T(4 * L - L, 0);
	T(4 * L - (L + 1), 0); T(4 * L - (L - 2), 1); T(4 * L + 1 - L, 0); T(0, 0);
	T(R, 0); T(R - 1, 1); T(R, 0); T(R - 1, 0); T(R - 2, 1); T(R + 1, 0);
	T(R + 2, 0); T(R - 2, 0); T(R - 3, 1); T(0, 0);
	ck_assert_uint_eq(step, 34);
}
END_TEST

START_TEST(test_one_to_w_then_zero_is_accepted_once)
{
	ntm_replay_init(&win);
	for (uint64_t i = 1; i <= W; i++)
		T(i, 1);
	T(0, 1);
	T(0, 0);
}
END_TEST

START_TEST(test_two_to_w_plus_one_then_one_fits_but_zero_is_too_old)
{
	ntm_replay_init(&win);
	for (uint64_t i = 2; i <= W + 1; i++)
		T(i, 1);
	T(1, 1);
	T(0, 0);
}
END_TEST

START_TEST(test_w_down_to_zero_is_all_accepted)
{
	ntm_replay_init(&win);
	for (uint64_t i = W + 1; i-- > 0;)
		T(i, 1);
}
END_TEST

START_TEST(test_w_plus_one_down_to_one_then_zero_is_too_old)
{
	ntm_replay_init(&win);
	for (uint64_t i = W + 1; i >= 1; i--)
		T(i, 1);
	T(0, 0);
}
END_TEST

START_TEST(test_w_down_to_one_then_w_plus_one_pushes_zero_out)
{
	ntm_replay_init(&win);
	for (uint64_t i = W; i >= 1; i--)
		T(i, 1);
	T(W + 1, 1);
	T(0, 0);
}
END_TEST

START_TEST(test_w_down_to_one_then_zero_then_w_plus_one)
{
	ntm_replay_init(&win);
	for (uint64_t i = W; i >= 1; i--)
		T(i, 1);
	T(0, 1);
	T(W + 1, 1);
}
END_TEST

START_TEST(test_peek_does_not_record)
{
	ntm_replay_init(&win);
	ck_assert(ntm_replay_peek(&win, 5));
	ck_assert(ntm_replay_peek(&win, 5));
	ck_assert(ntm_replay_check(&win, 5));
	ck_assert(!ntm_replay_peek(&win, 5));
	ck_assert(!ntm_replay_peek(&win, R));
}
END_TEST

START_TEST(test_a_jump_far_beyond_the_ring_clears_every_old_bit)
{
	ntm_replay_init(&win);
	for (uint64_t i = 0; i < 3 * W; i += 7)
		ck_assert(ntm_replay_check(&win, i));
	uint64_t far = 1000 * W;
	ck_assert(ntm_replay_check(&win, far));
	/* Everything inside the new window but below far is fresh. */
	for (uint64_t i = far - W; i < far; i++)
		ck_assert_msg(ntm_replay_check(&win, i), "counter %llu", (unsigned long long)i);
	ck_assert(!ntm_replay_check(&win, far - W - 1));
}
END_TEST

START_TEST(test_sender_counter_refuses_to_reach_the_limit)
{
	uint64_t next = R - 2, got = 0;
	ck_assert(ntm_counter_next(&next, &got));
	ck_assert_uint_eq(got, R - 2);
	ck_assert(ntm_counter_next(&next, &got));
	ck_assert_uint_eq(got, R - 1);
	ck_assert(!ntm_counter_next(&next, &got));
	ck_assert(!ntm_counter_next(&next, &got));
	ck_assert_uint_eq(got, R - 1);
}
END_TEST

static Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("window");
	tcase_add_test(tc, test_a_mixed_sequence_around_the_window_edges_is_accepted_and_rejected_as_specified);
	tcase_add_test(tc, test_one_to_w_then_zero_is_accepted_once);
	tcase_add_test(tc, test_two_to_w_plus_one_then_one_fits_but_zero_is_too_old);
	tcase_add_test(tc, test_w_down_to_zero_is_all_accepted);
	tcase_add_test(tc, test_w_plus_one_down_to_one_then_zero_is_too_old);
	tcase_add_test(tc, test_w_down_to_one_then_w_plus_one_pushes_zero_out);
	tcase_add_test(tc, test_w_down_to_one_then_zero_then_w_plus_one);
	tcase_add_test(tc, test_peek_does_not_record);
	tcase_add_test(tc, test_a_jump_far_beyond_the_ring_clears_every_old_bit);
	tcase_add_test(tc, test_sender_counter_refuses_to_reach_the_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	printf("replay: usable window W = %llu, reject-after R = %llu\n",
	       (unsigned long long)W, (unsigned long long)R);
	SRunner *sr = srunner_create(replay_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
