/* test_session.c - ntm's IK handshake framing and DATA sessions. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "util.h"

static struct ntm_identity alice, bob, eve;

static void keys(void)
{
	uint8_t priv[32], pub[32];
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&alice, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&bob, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&eve, priv), 0);
}

/* Alice initiates to Bob; both sessions established. */
static void establish(uint8_t suite, struct ntm_session *a, struct ntm_session *b)
{
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	uint8_t m1[NTM_HS_INIT_LEN], m2[NTM_HS_RESP_LEN];

	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, suite, NTM_PURPOSE_PEER, 0x11111111,
					 0xabcdef, m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_mem_eq(r.info.initiator_pub, alice.pub, 32);
	ck_assert_uint_eq(r.info.route_id, 0xabcdef);
	ck_assert_uint_eq(r.info.sender_index, 0x11111111);
	ck_assert_int_eq(ntm_hs_respond_finish(&r, 0x22222222, m2, sizeof(m2), b), NTM_HS_RESP_LEN);
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, m2, sizeof(m2), a), 0);
	ck_assert_uint_eq(a->remote_index, 0x22222222);
	ck_assert_uint_eq(b->remote_index, 0x11111111);
	ck_assert_mem_eq(b->remote_pub, alice.pub, 32);
	ck_assert_mem_eq(a->remote_pub, bob.pub, 32);
}

static int send_text(struct ntm_session *s, const char *text, uint8_t *buf)
{
	size_t n = strlen(text);
	memcpy(buf + NTM_DATA_HDR_LEN, text, n);
	return ntm_session_seal(s, buf, n);
}

static void both_suites(void (*fn)(uint8_t))
{
	fn(NTM_SUITE_AESGCM);
	fn(NTM_SUITE_CHACHAPOLY);
}

static void data_flows(uint8_t suite)
{
	struct ntm_session a, b;
	uint8_t buf[256];
	size_t ptlen;

	establish(suite, &a, &b);
	/* The responder may not speak before the initiator confirmed the keys. */
	ck_assert_int_eq(send_text(&b, "early", buf), -EPROTO);
	int n = send_text(&a, "hello bob", buf);
	ck_assert_int_eq(n, 9 + NTM_DATA_OVERHEAD);
	ck_assert_int_eq(ntm_session_open(&b, buf, n, &ptlen), 0);
	ck_assert_uint_eq(ptlen, 9);
	ck_assert_mem_eq(buf + NTM_DATA_HDR_LEN, "hello bob", 9);
	ck_assert(b.confirmed);
	n = send_text(&b, "hi alice", buf);
	ck_assert_int_eq(ntm_session_open(&a, buf, n, &ptlen), 0);
	ck_assert_mem_eq(buf + NTM_DATA_HDR_LEN, "hi alice", 8);
	ntm_session_clear(&a);
	ntm_session_clear(&b);
}

START_TEST(test_data_flows_both_ways_after_a_handshake_in_both_suites)
{
	both_suites(data_flows);
}
END_TEST

START_TEST(test_a_replayed_data_packet_is_refused)
{
	struct ntm_session a, b;
	uint8_t buf[256], copy[256];
	size_t ptlen;

	establish(NTM_SUITE_AESGCM, &a, &b);
	int n = send_text(&a, "once", buf);
	memcpy(copy, buf, n);
	ck_assert_int_eq(ntm_session_open(&b, buf, n, &ptlen), 0);
	ck_assert_int_eq(ntm_session_open(&b, copy, n, &ptlen), -EALREADY);
	ntm_session_clear(&a);
	ntm_session_clear(&b);
}
END_TEST

START_TEST(test_a_flipped_bit_anywhere_in_a_data_packet_is_refused)
{
	struct ntm_session a, b;
	uint8_t buf[256], pkt[256];
	size_t ptlen;

	establish(NTM_SUITE_CHACHAPOLY, &a, &b);
	int n = send_text(&a, "integrity", pkt);
	for (int i = 0; i < n * 8; i++) {
		memcpy(buf, pkt, n);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_msg(ntm_session_open(&b, buf, n, &ptlen) < 0, "bit %d accepted", i);
	}
	/* The genuine packet still opens: forgeries did not advance the window. */
	memcpy(buf, pkt, n);
	ck_assert_int_eq(ntm_session_open(&b, buf, n, &ptlen), 0);
	ntm_session_clear(&a);
	ntm_session_clear(&b);
}
END_TEST

START_TEST(test_a_handshake_for_someone_else_fails_mac1)
{
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	uint8_t m1[NTM_HS_INIT_LEN];

	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_DC, 7, 0,
					 m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &eve, m1, sizeof(m1)), -EBADMSG);
	/* Bob still accepts it. */
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ntm_hs_responder_clear(&r);
	ntm_noise_hs_clear(&p.hs);
}
END_TEST

START_TEST(test_a_tampered_handshake_init_is_refused_byte_by_byte)
{
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	uint8_t m1[NTM_HS_INIT_LEN], t[NTM_HS_INIT_LEN];

	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_DC, 7, 0,
					 m1, sizeof(m1)), NTM_HS_INIT_LEN);
	/* mac1 covers everything before mac2; mac2 is the gate's (test_ratelimit) */
	for (size_t i = 0; i < NTM_HS_INIT_MAC2_OFF; i++) {
		memcpy(t, m1, sizeof(t));
		t[i] ^= 0x40;
		ck_assert_msg(ntm_hs_respond_begin(&r, &bob, t, sizeof(t)) == -EBADMSG, "byte %zu", i);
	}
	for (size_t l = 0; l < sizeof(m1); l++)
		ck_assert(ntm_hs_respond_begin(&r, &bob, m1, l) == -EBADMSG);
	ntm_noise_hs_clear(&p.hs);
}
END_TEST

START_TEST(test_a_response_to_another_index_or_tampered_is_refused)
{
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;
	struct ntm_session a, b;
	uint8_t m1[NTM_HS_INIT_LEN], m2[NTM_HS_RESP_LEN], t[NTM_HS_RESP_LEN];

	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_PEER, 5, 1,
					 m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_int_eq(ntm_hs_respond_finish(&r, 9, m2, sizeof(m2), &b), NTM_HS_RESP_LEN);
	/* mac1 and framing failures leave the pending handshake usable. */
	for (size_t i = 0; i < 12; i++) {
		memcpy(t, m2, sizeof(t));
		t[i] ^= 1;
		ck_assert_int_eq(ntm_hs_complete(&p, &alice, t, sizeof(t), &a), -EBADMSG);
	}
	memcpy(t, m2, sizeof(t));
	t[sizeof(t) - 1] ^= 1;
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, t, sizeof(t), &a), -EBADMSG);
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, m2, sizeof(m2), &a), 0);
	ntm_session_clear(&a);
	ntm_session_clear(&b);
}
END_TEST

START_TEST(test_a_session_stops_sending_at_the_counter_limit)
{
	struct ntm_session a, b;
	uint8_t buf[256];
	size_t ptlen;

	establish(NTM_SUITE_AESGCM, &a, &b);
	a.tx_next = NTM_REJECT_AFTER - 1;
	int n = send_text(&a, "last", buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_session_open(&b, buf, n, &ptlen), 0);
	ck_assert_int_eq(send_text(&a, "over", buf), -EKEYEXPIRED);
	ntm_session_clear(&a);
	ntm_session_clear(&b);
}
END_TEST

START_TEST(test_unknown_suites_are_refused)
{
	struct ntm_hs_pending p;
	uint8_t m1[NTM_HS_INIT_LEN];
	ck_assert_ptr_null(ntm_suite_protocol(0));
	ck_assert_ptr_null(ntm_suite_protocol(3));
	ck_assert_int_lt(ntm_hs_initiate(&p, &alice, bob.pub, 3, NTM_PURPOSE_PEER, 5, 1, m1, sizeof(m1)), 0);
}
END_TEST

START_TEST(test_probe_keys_match_on_both_sides_and_tags_catch_every_bit)
{
	struct ntm_identity a, b, c;
	uint8_t ka[32], kb[32], kc[32], ka2[32], msg[NTM_PROBE_LEN];
	uint8_t priv[32];

	ntm_random(priv, 32);
	ck_assert_int_eq(ntm_identity_init(&a, priv), 0);
	ntm_random(priv, 32);
	ck_assert_int_eq(ntm_identity_init(&b, priv), 0);
	ntm_random(priv, 32);
	ck_assert_int_eq(ntm_identity_init(&c, priv), 0);
	ck_assert_int_eq(ntm_probe_key(ka, &a, b.pub, 42), 0);
	ck_assert_int_eq(ntm_probe_key(kb, &b, a.pub, 42), 0);
	ck_assert_mem_eq(ka, kb, 32);
	/* another route, or a third node, gets another key */
	ck_assert_int_eq(ntm_probe_key(ka2, &a, b.pub, 43), 0);
	ck_assert(memcmp(ka, ka2, 32) != 0);
	ck_assert_int_eq(ntm_probe_key(kc, &c, b.pub, 42), 0);
	ck_assert(memcmp(ka, kc, 32) != 0);
	/* a low-order peer key is refused */
	uint8_t zero[32] = { 0 };
	ck_assert_int_lt(ntm_probe_key(kc, &a, zero, 42), 0);

	struct ntm_probe pr = { .kind = NTM_PROBE_REQUEST, .role = 1, .route_id = 42, .seq = 7 };
	ck_assert_int_eq(ntm_probe_encode(msg, sizeof(msg), &pr), NTM_PROBE_LEN);
	ntm_probe_sign(ka, msg);
	ck_assert(ntm_probe_verify(kb, msg));
	ck_assert(!ntm_probe_verify(ka2, msg));
	for (size_t i = 0; i < sizeof(msg) * 8; i++) {
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_msg(!ntm_probe_verify(kb, msg), "bit %zu flipped and still verified", i);
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	ntm_identity_clear(&a);
	ntm_identity_clear(&b);
	ntm_identity_clear(&c);
}
END_TEST

/* ---- HANDSHAKE_REFUSE (protocol.md 2.10) ---- */

static void tai(uint8_t out[12], uint64_t unix_s, uint32_t ns)
{
	ntm_put_be64(out, (UINT64_C(1) << 62) + unix_s);
	ntm_put_be32(out + 8, ns);
}

/* Alice's init to Bob, refused by Bob with why. */
static void refused(struct ntm_hs_pending *p, uint8_t m[NTM_HS_REFUSE_LEN],
		    const struct ntm_refuse *why)
{
	struct ntm_hs_responder r;
	uint8_t m1[NTM_HS_INIT_LEN];

	ck_assert_int_eq(ntm_hs_initiate(p, &alice, bob.pub, NTM_SUITE_CHACHAPOLY, NTM_PURPOSE_DC,
					 0x5151, 0, m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_int_eq(ntm_hs_refuse(&r, why, m, NTM_HS_REFUSE_LEN), NTM_HS_REFUSE_LEN);
}

START_TEST(test_a_refusal_reaches_the_initiator_with_its_reason_and_times)
{
	struct ntm_hs_pending p;
	struct ntm_refuse why = { .reason = NTM_REFUSE_TS_OLD }, got;
	uint8_t m[NTM_HS_REFUSE_LEN];

	tai(why.dc_time, 1700000000, 5);
	tai(why.last_ts, 1700003600, 6);
	refused(&p, m, &why);
	ck_assert_int_eq(ntm_wire_type(m, sizeof(m)), NTM_MSG_HS_REFUSE);
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, m, sizeof(m), &got), 0);
	ck_assert_uint_eq(got.reason, NTM_REFUSE_TS_OLD);
	ck_assert_mem_eq(got.dc_time, why.dc_time, 12);
	ck_assert_mem_eq(got.last_ts, why.last_ts, 12);
	ck_assert(!p.active);                           /* that handshake is over */
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, m, sizeof(m), &got), -EBADMSG);
}
END_TEST

START_TEST(test_a_refusal_of_a_key_not_enrolled_reaches_its_holder)
{
	struct ntm_hs_pending p;
	struct ntm_refuse why = { .reason = NTM_REFUSE_NOT_ENROLLED }, got;
	uint8_t m[NTM_HS_REFUSE_LEN], zero[12] = { 0 };
	char text[NTM_REFUSE_TEXT_MAX + 1];

	tai(why.dc_time, 1700000000, 5);
	refused(&p, m, &why);
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, m, sizeof(m), &got), 0);
	ck_assert_uint_eq(got.reason, NTM_REFUSE_NOT_ENROLLED);
	ck_assert_mem_eq(got.last_ts, zero, 12);
	ntm_refuse_describe(&got, why.dc_time, text, sizeof(text));
	ck_assert_str_eq(text, "DC refused: this node's key is not enrolled");
}
END_TEST

/* mac1, framing and the receiver index are checked first and leave the
 * pending handshake usable; only the DC can make the Noise part, and only
 * the init's author (its ephemeral key) can read it. */
START_TEST(test_a_refusal_for_another_index_or_tampered_or_read_by_another_is_refused)
{
	struct ntm_hs_pending p, q;
	struct ntm_refuse why = { .reason = NTM_REFUSE_TS_AHEAD }, got;
	uint8_t m[NTM_HS_REFUSE_LEN], t[NTM_HS_REFUSE_LEN], m1[NTM_HS_INIT_LEN];

	refused(&p, m, &why);
	for (size_t i = 0; i < 8; i++) {
		memcpy(t, m, sizeof(t));
		t[i] ^= 1;
		ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, t, sizeof(t), &got), -EBADMSG);
	}
	memcpy(t, m, sizeof(t));
	t[sizeof(t) - 1] ^= 1;                          /* mac1 */
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, t, sizeof(t), &got), -EBADMSG);
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &eve, m, sizeof(m), &got), -EBADMSG);
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, m, sizeof(m) - 1, &got), -EBADMSG);
	ck_assert(p.active);
	/* another init of Alice's with the same index (a replay's author
	 * would hold a different ephemeral key) cannot read it */
	ck_assert_int_eq(ntm_hs_initiate(&q, &alice, bob.pub, NTM_SUITE_CHACHAPOLY, NTM_PURPOSE_DC,
					 0x5151, 0, m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_read_refuse(&q, &alice, m, sizeof(m), &got), -EPROTO);
	/* a flipped bit in the sealed part: mac1 redone, Noise fails */
	memcpy(t, m, sizeof(t));
	t[40] ^= 1;
	ck_assert_int_eq(ntm_mac1_put(t, sizeof(t), alice.pub), 0);
	ck_assert_int_eq(ntm_hs_read_refuse(&p, &alice, t, sizeof(t), &got), -EPROTO);
	ck_assert(!p.active);
}
END_TEST

START_TEST(test_timestamps_older_equal_or_far_ahead_are_refused)
{
	uint8_t last[12], now[12], ts[12], never[12] = { 0 };

	tai(last, 1000, 500);
	tai(now, 5000, 0);
	tai(ts, 1000, 500);
	ck_assert_int_eq(ntm_hs_ts_check(ts, last, now, 600), NTM_TS_OLD);      /* a replay */
	tai(ts, 1000, 499);
	ck_assert_int_eq(ntm_hs_ts_check(ts, last, now, 600), NTM_TS_OLD);      /* clock back */
	tai(ts, 1000, 501);
	ck_assert_int_eq(ntm_hs_ts_check(ts, last, now, 600), NTM_TS_ACCEPT);
	tai(ts, 5600, 999999999);
	ck_assert_int_eq(ntm_hs_ts_check(ts, last, now, 600), NTM_TS_ACCEPT);   /* 600 s ahead */
	tai(ts, 5601, 0);
	ck_assert_int_eq(ntm_hs_ts_check(ts, last, now, 600), NTM_TS_AHEAD);
	ck_assert_int_eq(ntm_hs_ts_check(ts, never, now, 600), NTM_TS_AHEAD);
	tai(ts, 10, 0);
	ck_assert_int_eq(ntm_hs_ts_check(ts, never, now, 600), NTM_TS_ACCEPT);  /* first one */
	ck_assert_int_eq(ntm_tai64n_diff_s(last, now), -4000);
	ck_assert_int_eq(ntm_tai64n_diff_s(now, last), 4000);
}
END_TEST

START_TEST(test_the_refusal_text_says_which_clock_is_off_and_what_to_do)
{
	struct ntm_refuse why = { .reason = NTM_REFUSE_TS_OLD };
	uint8_t ours[12];
	char buf[NTM_REFUSE_TEXT_MAX + 1];

	/* our clock went back an hour: behind the DC's and the last stamp */
	tai(why.dc_time, 1700003700, 0);
	tai(why.last_ts, 1700003600, 0);
	tai(ours, 1700000100, 0);
	ntm_refuse_describe(&why, ours, buf, sizeof(buf));
	ck_assert_str_eq(buf, "DC refused: our clock is 3500 s behind the last handshake it "
			 "accepted from us; fix the clock (timedatectl)");
	/* our clock is right now, but was ahead when the DC last accepted us */
	tai(ours, 1700003700, 0);
	tai(why.last_ts, 1700004000, 0);
	ntm_refuse_describe(&why, ours, buf, sizeof(buf));
	ck_assert_str_eq(buf, "DC refused: it accepted a stamp of ours 300 s ahead of now; wait "
			 "that long or restart ntm-dcd");
	why.reason = NTM_REFUSE_TS_AHEAD;
	tai(ours, 1700007300, 0);
	ntm_refuse_describe(&why, ours, buf, sizeof(buf));
	ck_assert_str_eq(buf, "DC refused: our clock is 3600 s ahead of the DC's; fix the clock "
			 "(timedatectl), here or on the DC");
	/* the longest text fits the control socket's info attribute */
	tai(ours, 0, 0);
	why.reason = NTM_REFUSE_TS_OLD;
	tai(why.last_ts, UINT64_C(1) << 61, 0);
	ntm_refuse_describe(&why, ours, buf, sizeof(buf));
	ck_assert_uint_le(strlen(buf), NTM_REFUSE_TEXT_MAX);
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("ik");
	tcase_add_checked_fixture(tc, keys, NULL);
	tcase_add_test(tc, test_data_flows_both_ways_after_a_handshake_in_both_suites);
	tcase_add_test(tc, test_a_replayed_data_packet_is_refused);
	tcase_add_test(tc, test_a_flipped_bit_anywhere_in_a_data_packet_is_refused);
	tcase_add_test(tc, test_a_handshake_for_someone_else_fails_mac1);
	tcase_add_test(tc, test_a_tampered_handshake_init_is_refused_byte_by_byte);
	tcase_add_test(tc, test_a_response_to_another_index_or_tampered_is_refused);
	tcase_add_test(tc, test_a_session_stops_sending_at_the_counter_limit);
	tcase_add_test(tc, test_unknown_suites_are_refused);
	tcase_add_test(tc, test_probe_keys_match_on_both_sides_and_tags_catch_every_bit);
	tcase_add_test(tc, test_a_refusal_reaches_the_initiator_with_its_reason_and_times);
	tcase_add_test(tc, test_a_refusal_of_a_key_not_enrolled_reaches_its_holder);
	tcase_add_test(tc, test_a_refusal_for_another_index_or_tampered_or_read_by_another_is_refused);
	tcase_add_test(tc, test_timestamps_older_equal_or_far_ahead_are_refused);
	tcase_add_test(tc, test_the_refusal_text_says_which_clock_is_off_and_what_to_do);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(session_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
