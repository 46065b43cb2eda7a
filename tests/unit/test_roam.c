/* test_roam.c - roaming and liveness decisions (tund/roam.c), scripted
 * over real sessions: the peer's endpoint moves on the first datagram that
 * decrypts, passes the replay check and is the newest, and never on a
 * replayed, forged or delayed one. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "roam.h"

static struct ntm_identity alice, bob;
static struct ntm_session a, b; /* alice sends, bob receives and roams */

/* bob's view of where alice is: an address as text, enough for a script */
static const char *ep;

static void setup(void)
{
	uint8_t priv[32], pub[32], m1[NTM_HS_INIT_LEN], m2[NTM_HS_RESP_LEN];
	struct ntm_hs_pending p;
	struct ntm_hs_responder r;

	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&alice, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&bob, priv), 0);
	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, bob.pub, NTM_SUITE_AESGCM, NTM_PURPOSE_PEER, 1, 9,
					 m1, sizeof(m1)), NTM_HS_INIT_LEN);
	ck_assert_int_eq(ntm_hs_respond_begin(&r, &bob, m1, sizeof(m1)), 0);
	ck_assert_int_eq(ntm_hs_respond_finish(&r, 2, m2, sizeof(m2), &b), NTM_HS_RESP_LEN);
	ck_assert_int_eq(ntm_hs_complete(&p, &alice, m2, sizeof(m2), &a), 0);
	ep = "10.1.0.2:7541";
}

static void teardown(void)
{
	ntm_session_clear(&a);
	ntm_session_clear(&b);
	ntm_identity_clear(&alice);
	ntm_identity_clear(&bob);
}

struct pkt {
	uint8_t buf[64];
	size_t len;
};

static struct pkt seal(void)
{
	struct pkt k;
	memcpy(k.buf + NTM_DATA_HDR_LEN, "ping", 4);
	int n = ntm_session_seal(&a, k.buf, 4);
	ck_assert_int_gt(n, 0);
	k.len = (size_t)n;
	return k;
}

/* bob receives k from `from` (a copy: opening decrypts in place), as
 * path.c does: open, decide, move. Returns roam_open's result. */
static int rx(struct pkt k, const char *from, bool via_relay)
{
	struct ntm_data d;
	size_t ptlen;
	bool newest;

	if (ntm_data_decode(k.buf, k.len, &d) < 0)
		return -EBADMSG; /* as data.c drops it before choosing a session */
	int ret = roam_open(&b, k.buf, k.len, d.counter, &ptlen, &newest);

	if (ret < 0)
		return ret;
	struct roam_rx in = { .via_relay = via_relay, .newest = newest,
			      .from_ep = strcmp(from, ep) == 0 };
	if (roam_decide(&in) == ROAM_MOVE)
		ep = from;
	return 0;
}

START_TEST(test_a_fresh_datagram_from_a_new_address_moves_the_endpoint)
{
	ck_assert_int_eq(rx(seal(), "10.1.0.2:7541", false), 0);
	ck_assert_str_eq(ep, "10.1.0.2:7541");
	/* alice's NAT rebinds: same address, another port */
	ck_assert_int_eq(rx(seal(), "198.51.100.1:40002", false), 0);
	ck_assert_str_eq(ep, "198.51.100.1:40002");
}
END_TEST

START_TEST(test_a_double_move_follows_each_in_turn)
{
	ck_assert_int_eq(rx(seal(), "198.51.100.1:40001", false), 0);
	ck_assert_int_eq(rx(seal(), "203.0.113.50:7541", false), 0);
	ck_assert_str_eq(ep, "203.0.113.50:7541");
	ck_assert_int_eq(rx(seal(), "[2001:db8::7]:7541", false), 0);
	ck_assert_str_eq(ep, "[2001:db8::7]:7541");
}
END_TEST

START_TEST(test_a_replayed_datagram_from_a_new_address_does_not_move_it)
{
	struct pkt k = seal();
	struct pkt copy = k;

	ck_assert_int_eq(rx(k, "10.1.0.2:7541", false), 0);
	/* an attacker who captured it sends it again from elsewhere */
	ck_assert_int_eq(rx(copy, "192.0.2.66:4444", false), -EALREADY);
	ck_assert_str_eq(ep, "10.1.0.2:7541");
}
END_TEST

START_TEST(test_a_forged_datagram_from_a_new_address_does_not_move_it)
{
	struct pkt k = seal();

	k.buf[NTM_DATA_HDR_LEN] ^= 1;
	ck_assert_int_eq(rx(k, "192.0.2.66:4444", false), -EBADMSG);
	ck_assert_str_eq(ep, "10.1.0.2:7541");
	/* nor one cut short, nor a header alone */
	struct pkt s = seal();
	s.len -= 1;
	ck_assert_int_lt(rx(s, "192.0.2.66:4444", false), 0);
	s.len = NTM_DATA_HDR_LEN;
	ck_assert_int_lt(rx(s, "192.0.2.66:4444", false), 0);
	ck_assert_str_eq(ep, "10.1.0.2:7541");
}
END_TEST

START_TEST(test_a_delayed_datagram_is_accepted_but_does_not_move_it_back)
{
	struct pkt early = seal(); /* held back on the old path */
	struct pkt late = seal();

	ck_assert_int_eq(rx(late, "198.51.100.9:40009", false), 0);
	ck_assert_str_eq(ep, "198.51.100.9:40009");
	/* the older counter arrives afterwards from the old address: inside
	 * the window, so its data is delivered, but it is not the newest */
	ck_assert_int_eq(rx(early, "10.1.0.2:7541", false), 0);
	ck_assert_str_eq(ep, "198.51.100.9:40009");
}
END_TEST

START_TEST(test_a_datagram_through_the_relay_does_not_move_the_direct_endpoint)
{
	ck_assert_int_eq(rx(seal(), "203.0.113.1:7542", true), 0);
	ck_assert_str_eq(ep, "10.1.0.2:7541");
}
END_TEST

/* The flap of attacks.sh: we moved from the peer's LAN candidate to its
 * IPv6 one on a probe reply; the peer's packets sent over LAN before ours
 * reached it keep arriving for a moment and must not move us back. A
 * worse known candidate later, a new address, or a better one still do. */
START_TEST(test_a_worse_known_path_right_after_an_upgrade_does_not_move_it_back)
{
	struct roam_rx in = { .newest = true, .worse_known = true, .upgrade_fresh = true };

	ck_assert_int_eq(roam_decide(&in), ROAM_NONE);
	in.upgrade_fresh = false;               /* PATH_HOLD_MS later: the peer chose it */
	ck_assert_int_eq(roam_decide(&in), ROAM_MOVE);
	in = (struct roam_rx){ .newest = true, .upgrade_fresh = true };
	ck_assert_int_eq(roam_decide(&in), ROAM_MOVE);  /* unknown or better: it moved */
	in.worse_known = true;
	in.from_ep = true;
	ck_assert_int_eq(roam_decide(&in), ROAM_REFRESH);
	in = (struct roam_rx){ .newest = false, .worse_known = false, .upgrade_fresh = false };
	ck_assert_int_eq(roam_decide(&in), ROAM_NONE);
	in = (struct roam_rx){ .via_relay = true, .newest = true };
	ck_assert_int_eq(roam_decide(&in), ROAM_NONE);
}
END_TEST

START_TEST(test_data_received_and_nothing_sent_owes_a_passive_keepalive)
{
	struct roam_live l = { .rx_unanswered_ms = 10000, .direct = true };

	ck_assert_uint_eq(roam_liveness(&l, 10000 + PASSIVE_KEEPALIVE_MS - 1), 0);
	ck_assert_uint_eq(roam_liveness(&l, 10000 + PASSIVE_KEEPALIVE_MS), ROAM_DO_KEEPALIVE);
	l.rx_unanswered_ms = 0; /* we sent something */
	ck_assert_uint_eq(roam_liveness(&l, 99999), 0);
}
END_TEST

START_TEST(test_data_sent_and_nothing_heard_starts_a_handshake_whatever_the_role)
{
	struct roam_live l = { .tx_unanswered_ms = 5000, .direct = false, .has_relay = true };

	ck_assert_uint_eq(roam_liveness(&l, 5000 + RX_SILENT_MS - 1), 0);
	ck_assert_uint_eq(roam_liveness(&l, 5000 + RX_SILENT_MS), ROAM_DO_HANDSHAKE);
	/* on a direct path, the relay carries the data meanwhile */
	l.direct = true;
	ck_assert_uint_eq(roam_liveness(&l, 5000 + RX_SILENT_MS), ROAM_DO_HANDSHAKE | ROAM_DO_RELAY);
	l.has_relay = false;
	ck_assert_uint_eq(roam_liveness(&l, 5000 + RX_SILENT_MS), ROAM_DO_HANDSHAKE);
}
END_TEST

START_TEST(test_after_a_move_the_direct_path_answers_or_the_relay_takes_over)
{
	struct roam_live l = { .verify_ms = 1000, .direct_rx_ms = 900, .direct = true,
			       .has_relay = true };

	ck_assert_uint_eq(roam_liveness(&l, 1000 + PATH_VERIFY_MS - 1), 0);
	ck_assert_uint_eq(roam_liveness(&l, 1000 + PATH_VERIFY_MS), ROAM_DO_VERIFIED | ROAM_DO_RELAY);
	/* an answer on the direct path since the move: it passed */
	l.direct_rx_ms = 1200;
	ck_assert_uint_eq(roam_liveness(&l, 1300), ROAM_DO_VERIFIED);
	/* already relayed, or no relay: nothing to switch to */
	l.direct_rx_ms = 0;
	l.direct = false;
	ck_assert_uint_eq(roam_liveness(&l, 1000 + PATH_VERIFY_MS), ROAM_DO_VERIFIED);
}
END_TEST

START_TEST(test_a_no_gso_mark_holds_for_its_endpoint_only)
{
	struct sockaddr_in e1 = { .sin_family = AF_INET, .sin_port = htons(7541) }, e2 = e1, e3 = e1;
	const struct sockaddr *sa = (const struct sockaddr *)&e1;

	e1.sin_addr.s_addr = htonl(0x0a000001);
	e2.sin_addr.s_addr = htonl(0x0a000002);
	e3.sin_addr.s_addr = htonl(0x0a000001);
	e3.sin_port = htons(7542);
	/* same endpoint, same socket (relay -> direct again): kept */
	ck_assert(roam_no_gso_keep(true, true, sa, 0, sa, 0));
	/* another address, another port, another socket: tried again */
	ck_assert(!roam_no_gso_keep(true, true, sa, 0, (const struct sockaddr *)&e2, 0));
	ck_assert(!roam_no_gso_keep(true, true, sa, 0, (const struct sockaddr *)&e3, 0));
	ck_assert(!roam_no_gso_keep(true, true, sa, 0, sa, 9));
	/* no endpoint before, or no mark: nothing to keep */
	ck_assert(!roam_no_gso_keep(true, false, sa, 0, sa, 0));
	ck_assert(!roam_no_gso_keep(false, true, sa, 0, sa, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("roam");
	TCase *tc = tcase_create("roam");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_a_fresh_datagram_from_a_new_address_moves_the_endpoint);
	tcase_add_test(tc, test_a_double_move_follows_each_in_turn);
	tcase_add_test(tc, test_a_replayed_datagram_from_a_new_address_does_not_move_it);
	tcase_add_test(tc, test_a_forged_datagram_from_a_new_address_does_not_move_it);
	tcase_add_test(tc, test_a_delayed_datagram_is_accepted_but_does_not_move_it_back);
	tcase_add_test(tc, test_a_datagram_through_the_relay_does_not_move_the_direct_endpoint);
	tcase_add_test(tc, test_a_worse_known_path_right_after_an_upgrade_does_not_move_it_back);
	tcase_add_test(tc, test_data_received_and_nothing_sent_owes_a_passive_keepalive);
	tcase_add_test(tc, test_data_sent_and_nothing_heard_starts_a_handshake_whatever_the_role);
	tcase_add_test(tc, test_after_a_move_the_direct_path_answers_or_the_relay_takes_over);
	tcase_add_test(tc, test_a_no_gso_mark_holds_for_its_endpoint_only);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
