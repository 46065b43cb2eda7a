/* test_ratelimit.c - handshake admission: per-source buckets
 * (lib/ratelimit.c), mac2 and cookie replies (lib/cookie.c), and the
 * gate's decisions (lib/hsgate.c), each rule of doc/protocol.md 2.9 as an
 * assertion that fails if it breaks. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cookie.h"
#include "hsgate.h"
#include "ratelimit.h"
#include "session.h"

static struct ntm_identity alice, bob;

static void keys(void)
{
	uint8_t priv[32], pub[32];
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&alice, priv), 0);
	ck_assert_int_eq(ntm_x25519_keygen(priv, pub), 0);
	ck_assert_int_eq(ntm_identity_init(&bob, priv), 0);
}

static struct sockaddr_storage v4(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, a, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* ---- lib/ratelimit.c ---- */

/* DC_NETCHECK's limit: max per window, the window from its first event */
START_TEST(test_a_window_allows_max_events_then_starts_anew)
{
	struct ntm_window w = { 0 };

	for (int i = 0; i < 12; i++)
		ck_assert(ntm_window_allow(&w, 12, 2000, 5000 + (uint64_t)i));
	ck_assert(!ntm_window_allow(&w, 12, 2000, 5100));
	ck_assert(!ntm_window_allow(&w, 12, 2000, 6999));
	ck_assert_uint_eq(w.count, 12);
	ck_assert(ntm_window_allow(&w, 12, 2000, 7000));
	ck_assert_uint_eq(w.count, 1);
	ck_assert_uint_eq(w.start_ms, 7000);
	/* a window that starts at time 0 is a window too */
	w = (struct ntm_window){ 0 };
	ck_assert(ntm_window_allow(&w, 1, 2000, 0));
	ck_assert(!ntm_window_allow(&w, 1, 2000, 1999));
	ck_assert(ntm_window_allow(&w, 1, 2000, 2000));
}
END_TEST

START_TEST(test_a_mapped_address_is_the_same_source_as_its_ipv4_address)
{
	static struct ntm_ratelimit rl;
	struct sockaddr_storage plain = v4("192.0.2.7", 1), mapped = v6("::ffff:192.0.2.7", 2);

	ntm_ratelimit_init(&rl, 1, 3);
	ck_assert_uint_eq(ntm_ratelimit_slot(&rl, SA(plain)), ntm_ratelimit_slot(&rl, SA(mapped)));
	for (int i = 0; i < 3; i++)
		ck_assert(ntm_ratelimit_allow(&rl, SA(mapped), 1000));
	ck_assert(!ntm_ratelimit_allow(&rl, SA(plain), 1000)); /* the same budget */
	ck_assert(ntm_ratelimit_empty(&rl, SA(plain), 1000));
}
END_TEST

START_TEST(test_distinct_ipv4_hosts_have_distinct_budgets)
{
	static struct ntm_ratelimit rl;
	struct sockaddr_storage a = v6("::ffff:192.0.2.7", 1), b = v6("::ffff:192.0.2.8", 1);

	ntm_ratelimit_init(&rl, 1, 3);
	rl.seed = 1; /* fixed: the two addresses land in different buckets */
	ck_assert_uint_ne(ntm_ratelimit_slot(&rl, SA(a)), ntm_ratelimit_slot(&rl, SA(b)));
	for (int i = 0; i < 3; i++)
		ck_assert(ntm_ratelimit_allow(&rl, SA(a), 1000));
	ck_assert(!ntm_ratelimit_allow(&rl, SA(a), 1000));
	ck_assert(ntm_ratelimit_allow(&rl, SA(b), 1000)); /* a's flood leaves b alone */
	/* IPv6 stays per /64: two hosts of one /64 share, another /64 does not */
	struct sockaddr_storage c = v6("2001:db8:0:1::1", 1), d = v6("2001:db8:0:1::2", 1),
				e = v6("2001:db8:0:2::1", 1);
	ck_assert_uint_eq(ntm_ratelimit_slot(&rl, SA(c)), ntm_ratelimit_slot(&rl, SA(d)));
	ck_assert_uint_ne(ntm_ratelimit_slot(&rl, SA(c)), ntm_ratelimit_slot(&rl, SA(e)));
}
END_TEST

START_TEST(test_a_bucket_refills_at_its_rate_keeping_fractions)
{
	static struct ntm_ratelimit rl;
	struct sockaddr_storage a = v4("198.51.100.1", 1);

	ntm_ratelimit_init(&rl, 10, 5);
	for (int i = 0; i < 5; i++)
		ck_assert(ntm_ratelimit_allow(&rl, SA(a), 1000));
	ck_assert(!ntm_ratelimit_allow(&rl, SA(a), 1050));
	/* 150 ms: one token and half of the next, which is not lost */
	ck_assert(ntm_ratelimit_allow(&rl, SA(a), 1150));
	ck_assert(!ntm_ratelimit_allow(&rl, SA(a), 1150));
	ck_assert(ntm_ratelimit_allow(&rl, SA(a), 1200));
}
END_TEST

/* ---- lib/cookie.c ---- */

static void init_msg(uint8_t m[NTM_HS_INIT_LEN], const struct ntm_identity *to)
{
	struct ntm_hs_pending p;
	ck_assert_int_eq(ntm_hs_initiate(&p, &alice, to->pub, NTM_SUITE_AESGCM, NTM_PURPOSE_DC, 77, 0,
					 m, NTM_HS_INIT_LEN), NTM_HS_INIT_LEN);
	ntm_noise_hs_clear(&p.hs);
}

START_TEST(test_a_cookie_is_bound_to_address_and_port_and_goes_stale_on_rotation)
{
	struct ntm_cookie_secret cs = { 0 };
	uint8_t c1[16], c2[16], c3[16], c4[16];
	struct sockaddr_storage a = v4("192.0.2.1", 7541), mapped = v6("::ffff:192.0.2.1", 7541);
	struct sockaddr_storage other_port = v4("192.0.2.1", 7542), other = v4("192.0.2.2", 7541);

	ck_assert(ntm_cookie_rotate(&cs, 1000));
	ck_assert(!ntm_cookie_rotate(&cs, 1000 + NTM_COOKIE_ROTATE_MS - 1));
	ck_assert_int_eq(ntm_cookie_make(&cs, SA(a), c1), 0);
	ck_assert_int_eq(ntm_cookie_make(&cs, SA(mapped), c2), 0);
	ck_assert_mem_eq(c1, c2, 16);
	ck_assert_int_eq(ntm_cookie_make(&cs, SA(other_port), c3), 0);
	ck_assert_int_eq(ntm_cookie_make(&cs, SA(other), c4), 0);
	ck_assert(memcmp(c1, c3, 16) != 0);
	ck_assert(memcmp(c1, c4, 16) != 0);
	ck_assert(ntm_cookie_rotate(&cs, 1000 + NTM_COOKIE_ROTATE_MS));
	ck_assert_int_eq(ntm_cookie_make(&cs, SA(a), c2), 0);
	ck_assert(memcmp(c1, c2, 16) != 0);
}
END_TEST

START_TEST(test_a_cookie_reply_opens_only_with_the_mac1_of_its_init)
{
	uint8_t m[NTM_HS_INIT_LEN], out[NTM_COOKIE_REPLY_LEN], key[32], cookie[16], got[16];
	struct ntm_cookie_reply r;

	init_msg(m, &bob);
	memset(cookie, 0x5a, sizeof(cookie));
	ck_assert_int_eq(ntm_cookie_reply_key(key, bob.pub), 0);
	ck_assert_int_eq(ntm_cookie_reply_seal(out, sizeof(out), key, 77, m + NTM_HS_INIT_MAC1_OFF,
					       cookie), NTM_COOKIE_REPLY_LEN);
	ck_assert_int_eq(ntm_wire_type(out, sizeof(out)), NTM_MSG_COOKIE_REPLY);
	ck_assert_int_eq(ntm_cookie_reply_decode(out, sizeof(out), &r), 0);
	ck_assert_uint_eq(r.receiver, 77);
	ck_assert_int_eq(ntm_cookie_reply_open(&r, key, m + NTM_HS_INIT_MAC1_OFF, got), 0);
	ck_assert_mem_eq(got, cookie, 16);
	uint8_t other_mac1[16];
	memcpy(other_mac1, m + NTM_HS_INIT_MAC1_OFF, 16);
	other_mac1[0] ^= 1;
	ck_assert_int_eq(ntm_cookie_reply_open(&r, key, other_mac1, got), -EBADMSG);
	for (size_t i = 0; i < sizeof(out); i++) {
		uint8_t t[NTM_COOKIE_REPLY_LEN];
		memcpy(t, out, sizeof(t));
		t[i] ^= 0x80;
		ck_assert_msg(ntm_cookie_reply_decode(t, sizeof(t), &r) < 0 ||
			      ntm_cookie_reply_open(&r, key, m + NTM_HS_INIT_MAC1_OFF, got) < 0 ||
			      r.receiver != 77, "byte %zu", i);
	}
	ck_assert_int_lt(ntm_cookie_reply_decode(out, sizeof(out) - 1, &r), 0);
}
END_TEST

START_TEST(test_mac2_covers_the_init_and_the_jar_stamps_it_per_endpoint)
{
	static struct ntm_cookie_jar jar;
	uint8_t m[NTM_HS_INIT_LEN], cookie[16];
	struct sockaddr_storage dc = v6("::ffff:203.0.113.5", 7540), elsewhere = v4("203.0.113.6", 7540);

	init_msg(m, &bob);
	ck_assert(ntm_mac2_absent(m));
	memset(cookie, 7, sizeof(cookie));
	ntm_cookie_jar_put(&jar, SA(dc), cookie, 5000);
	struct sockaddr_storage dc4 = v4("203.0.113.5", 7540);
	ck_assert(ntm_cookie_jar_stamp(&jar, m, SA(dc4), 6000));
	ck_assert(!ntm_mac2_absent(m));
	ck_assert(ntm_mac2_valid(m, cookie));
	m[10] ^= 1;
	ck_assert(!ntm_mac2_valid(m, cookie));
	m[10] ^= 1;
	ck_assert(!ntm_cookie_jar_stamp(&jar, m, SA(elsewhere), 6000));
	ck_assert(ntm_mac2_absent(m));
	ck_assert(!ntm_cookie_jar_stamp(&jar, m, SA(dc), 5000 + NTM_COOKIE_VALID_MS));
	ck_assert(ntm_mac2_absent(m));
}
END_TEST

/* ---- lib/hsgate.c ---- */

static struct ntm_hsgate g;
static const struct ntm_hsgate_conf conf = {
	.global_rate = 100, .reserve_pct = 25, .src_rate = 5, .proven_rate = 5,
	.cookie_rate = 3, .cookie_global = 1000, .recent_ms = 600000,
};
#define T0 1000000

/* A fresh init from alice to bob (a new one each time, as a retry is). */
static void fresh(uint8_t m[NTM_HS_INIT_LEN])
{
	init_msg(m, &bob);
}

/* The cookie bob's gate sends src for m, as alice would open it. */
static void cookie_for(const uint8_t *m, const struct sockaddr *src, uint8_t cookie[16])
{
	uint8_t out[NTM_COOKIE_REPLY_LEN], key[32];
	struct ntm_cookie_reply r;
	ck_assert_int_eq(ntm_hsgate_cookie_reply(&g, m, src, out, sizeof(out)), NTM_COOKIE_REPLY_LEN);
	ck_assert_int_eq(ntm_cookie_reply_decode(out, sizeof(out), &r), 0);
	ck_assert_int_eq(ntm_cookie_reply_key(key, bob.pub), 0);
	ck_assert_int_eq(ntm_cookie_reply_open(&r, key, m + NTM_HS_INIT_MAC1_OFF, cookie), 0);
}

/* Spend the global budget down to its reserve with spoofed sources. */
static void load_up(uint64_t now)
{
	uint8_t m[NTM_HS_INIT_LEN];
	fresh(m);
	for (unsigned i = 0; i < 1000; i++) {
		struct sockaddr_storage s = v4("10.0.0.0", 1);
		((struct sockaddr_in *)&s)->sin_addr.s_addr = htonl(0x0a000000 + i);
		enum ntm_hsgate_verdict v = ntm_hsgate_check(&g, m, sizeof(m), SA(s), false, now);
		if (v != NTM_HSG_PROCESS)
			break;
	}
	ck_assert(g.global.milli < g.reserve_milli + 1000);
}

static void gate_setup(void)
{
	keys();
	ck_assert_int_eq(ntm_hsgate_init(&g, &conf, bob.pub, T0), 0);
}

START_TEST(test_a_bad_mac1_is_dropped_and_charged_nothing)
{
	uint8_t m[NTM_HS_INIT_LEN], junk[NTM_HS_INIT_LEN] = { NTM_MSG_HS_INIT, 1, 1, 1, 0, 0, 0, 1 };
	struct sockaddr_storage src = v6("::ffff:192.0.2.9", 7541);

	init_msg(m, &alice); /* for someone else: mac1 is alice's */
	uint64_t before = g.global.milli;
	for (int i = 0; i < 500; i++) {
		ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_BAD_MAC);
		ck_assert_int_eq(ntm_hsgate_check(&g, junk, sizeof(junk), SA(src), false, T0), NTM_HSG_BAD_MAC);
		ck_assert_int_eq(ntm_hsgate_check(&g, junk, 4, SA(src), false, T0), NTM_HSG_BAD_MAC);
	}
	ck_assert_uint_eq(g.global.milli, before);
	ck_assert(!ntm_ratelimit_empty(&g.unproven, SA(src), T0));
	fresh(m);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_PROCESS);
}
END_TEST

START_TEST(test_a_quiet_source_is_processed_and_its_empty_bucket_means_a_cookie)
{
	uint8_t m[NTM_HS_INIT_LEN];
	struct sockaddr_storage src = v4("192.0.2.10", 7541);

	fresh(m);
	for (unsigned i = 0; i < conf.src_rate; i++)
		ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_PROCESS);
	/* its own bucket is empty: under load for it */
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_COOKIE);
	/* another host is not affected */
	struct sockaddr_storage other = v4("192.0.2.11", 7541);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(other), false, T0), NTM_HSG_PROCESS);
}
END_TEST

START_TEST(test_under_load_no_mac2_gets_a_cookie_and_its_mac2_is_processed)
{
	uint8_t m[NTM_HS_INIT_LEN], cookie[16];
	struct sockaddr_storage src = v6("::ffff:192.0.2.20", 40000);

	load_up(T0);
	fresh(m);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_COOKIE);
	cookie_for(m, SA(src), cookie);
	fresh(m); /* the retry: a new init with the cookie's mac2 */
	ck_assert_int_eq(ntm_mac2_put(m, cookie), 0);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_PROCESS);
	/* the same mac2 from another port or address proves nothing */
	struct sockaddr_storage port = v6("::ffff:192.0.2.20", 40001), addr = v4("192.0.2.21", 40000);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(port), false, T0), NTM_HSG_COOKIE);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(addr), false, T0), NTM_HSG_COOKIE);
	/* after a rotation the cookie is stale: a new one is due */
	uint64_t later = T0 + NTM_COOKIE_ROTATE_MS;
	load_up(later);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, later), NTM_HSG_COOKIE);
}
END_TEST

START_TEST(test_the_reserve_is_kept_for_proven_sources)
{
	uint8_t m[NTM_HS_INIT_LEN], cookie[16];
	struct sockaddr_storage src = v4("192.0.2.30", 7541);

	load_up(T0);
	/* spoofed sources never get past the reserve: cookies only */
	fresh(m);
	for (unsigned i = 0; i < 200; i++) {
		struct sockaddr_storage s = v4("10.1.0.0", 1);
		((struct sockaddr_in *)&s)->sin_addr.s_addr = htonl(0x0a010000 + i);
		enum ntm_hsgate_verdict v = ntm_hsgate_check(&g, m, sizeof(m), SA(s), false, T0);
		ck_assert(v == NTM_HSG_COOKIE || v == NTM_HSG_RATELIMIT);
	}
	ck_assert_uint_ge(g.global.milli, g.reserve_milli);
	/* a proven source spends the reserve */
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_COOKIE);
	cookie_for(m, SA(src), cookie);
	ck_assert_int_eq(ntm_mac2_put(m, cookie), 0);
	unsigned processed = 0;
	for (unsigned i = 0; i < conf.proven_rate; i++)
		processed += ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0) == NTM_HSG_PROCESS;
	ck_assert_uint_eq(processed, conf.proven_rate);
	/* its own proven bucket is the limit for it */
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(src), false, T0), NTM_HSG_RATELIMIT);
}
END_TEST

START_TEST(test_cookie_replies_are_limited_per_destination_and_in_all)
{
	uint8_t m[NTM_HS_INIT_LEN];
	struct sockaddr_storage victim = v4("198.51.100.99", 1);

	load_up(T0);
	fresh(m);
	unsigned cookies = 0;
	for (unsigned port = 1; port <= 100; port++) {
		((struct sockaddr_in *)&victim)->sin_port = htons((uint16_t)port);
		cookies += ntm_hsgate_check(&g, m, sizeof(m), SA(victim), false, T0) == NTM_HSG_COOKIE;
	}
	ck_assert_uint_eq(cookies, conf.cookie_rate); /* per address, whatever the port */
	/* and globally */
	g.cookies.milli = 1000;
	struct sockaddr_storage a = v4("198.51.100.1", 1), b = v4("198.51.100.2", 1);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(a), false, T0), NTM_HSG_COOKIE);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(b), false, T0), NTM_HSG_RATELIMIT);
}
END_TEST

START_TEST(test_a_recent_session_exempts_its_address_from_the_source_limits)
{
	uint8_t m[NTM_HS_INIT_LEN];
	struct sockaddr_storage node = v6("::ffff:192.0.2.40", 7541), spoof = v4("192.0.2.40", 9999);

	fresh(m);
	ntm_hsgate_completed(&g, SA(node), T0);
	for (unsigned i = 0; i < 3 * conf.src_rate; i++)
		ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(node), false, T0), NTM_HSG_PROCESS);
	/* under global load: its own endpoint still gets its cookies when a
	 * flood spoofing its address has used up the per-destination limit */
	load_up(T0);
	for (unsigned i = 0; i < 2 * conf.cookie_rate; i++)
		ntm_hsgate_check(&g, m, sizeof(m), SA(spoof), false, T0);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(spoof), false, T0), NTM_HSG_RATELIMIT);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(node), false, T0), NTM_HSG_COOKIE);
	/* the exemption ends */
	uint64_t later = T0 + conf.recent_ms + 1;
	struct sockaddr_storage quiet = v4("192.0.2.41", 7541);
	(void)quiet;
	g.global.milli = g.global.cap_milli;
	g.global.last_ms = later;
	for (unsigned i = 0; i < conf.src_rate; i++)
		ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(node), false, later), NTM_HSG_PROCESS);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(node), false, later), NTM_HSG_COOKIE);
}
END_TEST

START_TEST(test_a_relayed_init_costs_only_the_global_budget_and_it_runs_out)
{
	uint8_t m[NTM_HS_INIT_LEN];
	struct sockaddr_storage relay = v4("203.0.113.1", 7542);

	fresh(m);
	unsigned processed = 0;
	for (unsigned i = 0; i < 2 * conf.global_rate; i++)
		processed += ntm_hsgate_check(&g, m, sizeof(m), SA(relay), true, T0) == NTM_HSG_PROCESS;
	ck_assert_uint_eq(processed, conf.global_rate);
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(relay), true, T0), NTM_HSG_OVERLOAD);
	/* a second later the budget is back */
	ck_assert_int_eq(ntm_hsgate_check(&g, m, sizeof(m), SA(relay), true, T0 + 1000), NTM_HSG_PROCESS);
}
END_TEST

START_TEST(test_memory_is_constant_whatever_the_sources)
{
	uint8_t m[NTM_HS_INIT_LEN];
	fresh(m);
	size_t before = sizeof(g);
	for (unsigned i = 0; i < 20000; i++) {
		struct sockaddr_storage s = v4("10.0.0.0", 1);
		((struct sockaddr_in *)&s)->sin_addr.s_addr = htonl(0x0b000000 + i);
		ntm_hsgate_check(&g, m, sizeof(m), SA(s), false, T0 + i);
		ntm_hsgate_completed(&g, SA(s), T0 + i);
	}
	ck_assert_uint_eq(sizeof(g), before); /* fixed tables: nothing grows */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");
	tcase_add_checked_fixture(tc, keys, NULL);
	tcase_add_test(tc, test_a_mapped_address_is_the_same_source_as_its_ipv4_address);
	tcase_add_test(tc, test_a_window_allows_max_events_then_starts_anew);
	tcase_add_test(tc, test_distinct_ipv4_hosts_have_distinct_budgets);
	tcase_add_test(tc, test_a_bucket_refills_at_its_rate_keeping_fractions);
	tcase_add_test(tc, test_a_cookie_is_bound_to_address_and_port_and_goes_stale_on_rotation);
	tcase_add_test(tc, test_a_cookie_reply_opens_only_with_the_mac1_of_its_init);
	tcase_add_test(tc, test_mac2_covers_the_init_and_the_jar_stamps_it_per_endpoint);
	suite_add_tcase(s, tc);
	TCase *gt = tcase_create("gate");
	tcase_add_checked_fixture(gt, gate_setup, NULL);
	tcase_add_test(gt, test_a_bad_mac1_is_dropped_and_charged_nothing);
	tcase_add_test(gt, test_a_quiet_source_is_processed_and_its_empty_bucket_means_a_cookie);
	tcase_add_test(gt, test_under_load_no_mac2_gets_a_cookie_and_its_mac2_is_processed);
	tcase_add_test(gt, test_the_reserve_is_kept_for_proven_sources);
	tcase_add_test(gt, test_cookie_replies_are_limited_per_destination_and_in_all);
	tcase_add_test(gt, test_a_recent_session_exempts_its_address_from_the_source_limits);
	tcase_add_test(gt, test_a_relayed_init_costs_only_the_global_budget_and_it_runs_out);
	tcase_add_test(gt, test_memory_is_constant_whatever_the_sources);
	suite_add_tcase(s, gt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
