/* test_dcpick.c - which DC instance the node talks to (dcpick.h): the first
 * that answers, the next when the one in use goes silent, never back and
 * forth, and one DC behaves as before. */
#include <check.h>

#include "dcpick.h"

START_TEST(test_the_node_starts_with_the_first_usable_instance)
{
	struct dcpick p;

	dcpick_init(&p, 3, 0x7, 100);
	ck_assert_uint_eq(p.cur, 0);
	ck_assert_uint_eq(p.since_ms, 100);
	dcpick_init(&p, 3, 0x6, 100);  /* the first cannot be used (IPv6 only, say) */
	ck_assert_uint_eq(p.cur, 1);
}
END_TEST

START_TEST(test_an_unanswered_handshake_moves_on_in_order_backing_off_per_round)
{
	struct dcpick p;
	struct dcpick_out o;

	dcpick_init(&p, 3, 0x7, 0);
	o = dcpick_on(&p, DCP_HS_SILENT, 500);
	ck_assert_int_eq(o.action, DCP_HANDSHAKE);
	ck_assert(o.switched);
	ck_assert_uint_eq(o.use, 1);
	ck_assert(!o.double_backoff);  /* the next instance is tried as soon */
	o = dcpick_on(&p, DCP_HS_SILENT, 1000);
	ck_assert_uint_eq(o.use, 2);
	ck_assert(!o.double_backoff);
	o = dcpick_on(&p, DCP_HS_SILENT, 1500);
	ck_assert_uint_eq(o.use, 0);   /* round and round, in order */
	ck_assert(o.double_backoff);   /* none answered: back off */
	o = dcpick_on(&p, DCP_HS_SILENT, 2500);
	ck_assert_uint_eq(o.use, 1);
	ck_assert(!o.double_backoff);
	ck_assert_uint_eq(p.since_ms, 2500);
	ck_assert_uint_eq(p.switches, 4);
}
END_TEST

START_TEST(test_instances_that_cannot_be_used_are_skipped)
{
	struct dcpick p;
	struct dcpick_out o;

	dcpick_init(&p, 4, 0x5, 0);  /* 0 and 2 */
	o = dcpick_on(&p, DCP_HS_SILENT, 1);
	ck_assert_uint_eq(o.use, 2);
	o = dcpick_on(&p, DCP_HS_SILENT, 2);
	ck_assert_uint_eq(o.use, 0);
	ck_assert(o.double_backoff);
}
END_TEST

START_TEST(test_a_silent_registered_instance_is_left_for_the_next_at_once)
{
	struct dcpick p;
	struct dcpick_out o;

	dcpick_init(&p, 2, 0x3, 0);
	dcpick_on(&p, DCP_REGISTERED, 10);
	o = dcpick_on(&p, DCP_KEEPALIVES_LOST, 40000);
	ck_assert_int_eq(o.action, DCP_HANDSHAKE);
	ck_assert(o.switched);
	ck_assert_uint_eq(o.use, 1);
	ck_assert(o.reset_backoff);
	ck_assert(!o.double_backoff);
	ck_assert_uint_eq(p.since_ms, 40000);
	/* registered there: it stays while it answers (nothing brings the
	 * node back to the first, so no flapping) */
	o = dcpick_on(&p, DCP_REGISTERED, 40100);
	ck_assert_int_eq(o.action, DCP_NONE);
	ck_assert(!o.switched);
	ck_assert_uint_eq(p.cur, 1);
	/* then that one goes silent too: back to the first */
	o = dcpick_on(&p, DCP_REGISTER_LOST, 90000);
	ck_assert(o.switched);
	ck_assert_uint_eq(o.use, 0);
	ck_assert(o.reset_backoff);
}
END_TEST

START_TEST(test_a_registration_starts_a_new_round)
{
	struct dcpick p;
	struct dcpick_out o;

	dcpick_init(&p, 2, 0x3, 0);
	dcpick_on(&p, DCP_HS_SILENT, 1);           /* 0 silent: 1 */
	dcpick_on(&p, DCP_REGISTERED, 2);
	o = dcpick_on(&p, DCP_HS_SILENT, 3);       /* 1 silent (a rekey, say): 0 */
	ck_assert_uint_eq(o.use, 0);
	ck_assert(!o.double_backoff);              /* 0 is not known to be down this round */
}
END_TEST

START_TEST(test_with_one_instance_the_dc_is_waited_out_as_before)
{
	struct dcpick p;
	struct dcpick_out o;

	dcpick_init(&p, 1, 0x1, 0);
	o = dcpick_on(&p, DCP_HS_SILENT, 500);
	ck_assert_int_eq(o.action, DCP_HANDSHAKE);
	ck_assert(!o.switched);
	ck_assert_uint_eq(o.use, 0);
	ck_assert(o.double_backoff);   /* every unanswered handshake doubles it */
	o = dcpick_on(&p, DCP_HS_SILENT, 1500);
	ck_assert(o.double_backoff);
	o = dcpick_on(&p, DCP_KEEPALIVES_LOST, 60000);  /* a restart: at once */
	ck_assert(!o.switched);
	ck_assert(o.reset_backoff);
	ck_assert(!o.double_backoff);
	o = dcpick_on(&p, DCP_REGISTER_LOST, 70000);
	ck_assert(!o.switched);
	ck_assert(o.double_backoff);
	ck_assert_uint_eq(p.switches, 0);
}
END_TEST

START_TEST(test_the_ack_wait_and_the_misses_fit_in_one_keepalive_interval)
{
	/* one DC: min(5 s, interval), the round trip ignored */
	ck_assert_uint_eq(dcpick_ack_timeout(1, 20000, 5000, 0), 5000);
	ck_assert_uint_eq(dcpick_ack_timeout(1, 3000, 5000, 0), 3000);
	ck_assert_uint_eq(dcpick_ack_timeout(1, 3000, 5000, 20), 3000);
	/* several, no round trip yet: a third of the interval at most */
	ck_assert_uint_eq(dcpick_ack_timeout(2, 20000, 5000, 0), 5000);
	ck_assert_uint_eq(dcpick_ack_timeout(2, 3000, 5000, 0), 1000);
	ck_assert_uint_eq(dcpick_ack_timeout(8, 1000, 5000, 0), 333);
	/* several, with a round trip: 4 x srtt + slack, at least the minimum */
	ck_assert_uint_eq(dcpick_ack_timeout(2, 20000, 5000, 1), DCPICK_ACK_MIN_MS);
	ck_assert_uint_eq(dcpick_ack_timeout(2, 20000, 5000, 100), 4 * 100 + DCPICK_ACK_SLACK_MS);
	ck_assert_uint_eq(dcpick_ack_timeout(2, 3000, 5000, 400), 1000); /* the third caps it */
	for (uint64_t k = 1000; k <= 3600000; k += 777) {
		for (uint32_t rtt = 0; rtt < 5000; rtt += 333) {
			uint64_t w = dcpick_ack_timeout(3, k, 5000, rtt);
			ck_assert_uint_gt(w, 0);
			/* two misses leave a third of the interval for the move */
			ck_assert_uint_le(2 * w, k - k / 3);
		}
	}
	ck_assert_uint_eq(dcpick_ack_timeout(2, 1, 5000, 0), 1);  /* never 0 */
}
END_TEST

START_TEST(test_the_smoothed_round_trip_follows_samples)
{
	uint32_t s = dcpick_srtt(0, 40);

	ck_assert_uint_eq(s, 40);                   /* the first sample as it is */
	s = dcpick_srtt(s, 120);
	ck_assert_uint_eq(s, (7 * 40 + 120) / 8);
	for (int i = 0; i < 100; i++)
		s = dcpick_srtt(s, 8);
	ck_assert_uint_le(s, 9);                    /* converges on steady samples */
	ck_assert_uint_eq(dcpick_srtt(0, 0), 1);    /* 0 means none: never returned */
	ck_assert_uint_gt(dcpick_srtt(0, UINT64_MAX), 0);
	ck_assert_uint_le(dcpick_srtt(UINT32_MAX / 8, UINT64_MAX), UINT32_MAX / 8);
}
END_TEST

START_TEST(test_counts_are_clamped)
{
	struct dcpick p;

	dcpick_init(&p, 0, 0, 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_uint_eq(p.cur, 0);
	dcpick_init(&p, 100, 0xffffffffu, 0);
	ck_assert_uint_eq(p.n, DCPICK_MAX);
	for (int i = 0; i < 20; i++)
		ck_assert_uint_lt(dcpick_on(&p, DCP_HS_SILENT, (uint64_t)i).use, DCPICK_MAX);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dcpick");
	TCase *tc = tcase_create("pick");
	tcase_add_test(tc, test_the_node_starts_with_the_first_usable_instance);
	tcase_add_test(tc, test_an_unanswered_handshake_moves_on_in_order_backing_off_per_round);
	tcase_add_test(tc, test_instances_that_cannot_be_used_are_skipped);
	tcase_add_test(tc, test_a_silent_registered_instance_is_left_for_the_next_at_once);
	tcase_add_test(tc, test_a_registration_starts_a_new_round);
	tcase_add_test(tc, test_with_one_instance_the_dc_is_waited_out_as_before);
	tcase_add_test(tc, test_the_ack_wait_and_the_misses_fit_in_one_keepalive_interval);
	tcase_add_test(tc, test_the_smoothed_round_trip_follows_samples);
	tcase_add_test(tc, test_counts_are_clamped);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
