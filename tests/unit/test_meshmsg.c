/* test_meshmsg.c - what DC instances tell each other through the registry
 * (dc/meshmsg.c): presence rows and Mesh Directions survive a round trip
 * field by field, every truncation and every out-of-range field is
 * refused, the hex text wraps and unwraps only well-formed input, the
 * candidates are built as dc_route.c builds them, and route IDs carry
 * their instance. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"

static struct ntm_endpoint ep4(uint8_t last, uint16_t port)
{
	struct ntm_endpoint e = { .family = 4, .port = port, .addr = { 203, 0, 113, last } };
	return e;
}

static struct ntm_endpoint ep6(uint8_t last, uint16_t port)
{
	struct ntm_endpoint e = { .family = 6, .port = port,
				  .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = last } };
	return e;
}

static struct ntm_mesh_presence presence(void)
{
	struct ntm_mesh_presence p = { .observed = ep4(9, 40000), .naddrs = 2 };

	p.addrs[0] = ep4(18, 7541);
	p.addrs[1] = ep6(2, 7541);
	return p;
}

static struct ntm_mesh_direct direct(void)
{
	struct ntm_mesh_direct d = { .type = NTM_MESH_DIRECT, .from_instance = 3, .suite = 1,
				     .ncands = 2, .has_relay = 1,
				     .relay_alloc_id = 0x01020304, .relay_side = 1 };

	d.route_id = ntm_mesh_route_id(0xa1b2c3d4e5f60718ull, 3);
	memset(d.target_key, 0x11, 32);
	memset(d.peer_key, 0x22, 32);
	memset(d.relay_key, 0x33, 32);
	d.cands[0] = (struct ntm_candidate){ NTM_CAND_LAN, 20, ep4(18, 7541) };
	d.cands[1] = (struct ntm_candidate){ NTM_CAND_NAT, 10, ep6(7, 1) };
	d.relay_ep = ep4(2, 7542);
	return d;
}

START_TEST(test_presence_round_trips_with_and_without_observed)
{
	struct ntm_mesh_presence p = presence(), q;
	uint8_t buf[NTM_MESH_PRESENCE_MAX];
	int n = ntm_mesh_presence_encode(&p, buf, sizeof(buf));

	ck_assert_int_eq(n, 1 + 7 + 1 + 7 + 19);
	ck_assert_int_eq(ntm_mesh_presence_decode(buf, (size_t)n, &q), 0);
	ck_assert_mem_eq(&p, &q, sizeof(p));
	memset(&p.observed, 0, sizeof(p.observed));
	n = ntm_mesh_presence_encode(&p, buf, sizeof(buf));
	ck_assert_int_eq(n, 1 + 1 + 1 + 7 + 19);
	ck_assert_int_eq(ntm_mesh_presence_decode(buf, (size_t)n, &q), 0);
	ck_assert_mem_eq(&p, &q, sizeof(p));
}
END_TEST

START_TEST(test_the_largest_presence_fits_its_maximum)
{
	struct ntm_mesh_presence p = { .observed = ep6(1, 1), .naddrs = NTM_MAX_ADDRS }, q;
	uint8_t buf[NTM_MESH_PRESENCE_MAX];

	for (int i = 0; i < NTM_MAX_ADDRS; i++)
		p.addrs[i] = ep6((uint8_t)i, 2);
	ck_assert_int_eq(ntm_mesh_presence_encode(&p, buf, sizeof(buf)), NTM_MESH_PRESENCE_MAX);
	ck_assert_int_eq(ntm_mesh_presence_encode(&p, buf, sizeof(buf) - 1), -ENOSPC);
	ck_assert_int_eq(ntm_mesh_presence_decode(buf, sizeof(buf), &q), 0);
	p.naddrs = NTM_MAX_ADDRS + 1;
	ck_assert_int_eq(ntm_mesh_presence_encode(&p, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_every_truncated_or_extended_presence_is_refused)
{
	struct ntm_mesh_presence p = presence(), q;
	uint8_t buf[NTM_MESH_PRESENCE_MAX + 1];
	int n = ntm_mesh_presence_encode(&p, buf, sizeof(buf));

	for (int len = 0; len < n; len++)
		ck_assert_int_eq(ntm_mesh_presence_decode(buf, (size_t)len, &q), -EINVAL);
	buf[n] = 0;
	ck_assert_int_eq(ntm_mesh_presence_decode(buf, (size_t)n + 1, &q), -EINVAL);
}
END_TEST

START_TEST(test_presence_fields_out_of_range_are_refused)
{
	struct ntm_mesh_presence p = presence(), q;
	uint8_t buf[NTM_MESH_PRESENCE_MAX], bad[NTM_MESH_PRESENCE_MAX];
	int n = ntm_mesh_presence_encode(&p, buf, sizeof(buf));

	/* version, observed family, observed port, count, an address's family */
	const struct { size_t at; uint8_t v; } cases[] = {
		{ 0, 2 }, { 1, 5 }, { 2, 0 }, { 8, NTM_MAX_ADDRS + 1 }, { 9, 0 }, { 9, 7 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[cases[i].at] = cases[i].v;
		if (cases[i].at == 2)
			bad[3] = 0;     /* port 0: both bytes */
		ck_assert_msg(ntm_mesh_presence_decode(bad, (size_t)n, &q) == -EINVAL,
			      "case %zu accepted", i);
	}
}
END_TEST

START_TEST(test_a_mesh_direction_round_trips)
{
	struct ntm_mesh_direct d = direct(), e;
	uint8_t buf[NTM_MESH_DIRECT_MAX];
	int n = ntm_mesh_direct_encode(&d, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_mesh_direct_decode(buf, (size_t)n, &e), 0);
	ck_assert_mem_eq(&d, &e, sizeof(d));
	d.has_relay = 0;
	d.relay_alloc_id = 0;
	d.relay_side = 0;
	memset(d.relay_key, 0, 32);
	memset(&d.relay_ep, 0, sizeof(d.relay_ep));
	n = ntm_mesh_direct_encode(&d, buf, sizeof(buf));
	ck_assert_int_eq(ntm_mesh_direct_decode(buf, (size_t)n, &e), 0);
	ck_assert_mem_eq(&d, &e, sizeof(d));
}
END_TEST

START_TEST(test_the_largest_mesh_direction_fits_and_its_text_is_under_notify_s_limit)
{
	struct ntm_mesh_direct d = direct(), e;
	uint8_t buf[NTM_MESH_DIRECT_MAX];
	char text[NTM_MESH_TEXT_MAX];

	d.ncands = NTM_MAX_CANDS;
	for (int i = 0; i < NTM_MAX_CANDS; i++)
		d.cands[i] = (struct ntm_candidate){ NTM_CAND_V6, 30, ep6((uint8_t)i, 9) };
	d.relay_ep = ep6(1, 7542);
	ck_assert_int_eq(ntm_mesh_direct_encode(&d, buf, sizeof(buf)), NTM_MESH_DIRECT_MAX);
	ck_assert_int_eq(ntm_mesh_direct_to_text(&d, text, sizeof(text)), 2 * NTM_MESH_DIRECT_MAX);
	ck_assert_int_lt(NTM_MESH_TEXT_MAX, 8000);
	ck_assert_int_eq(ntm_mesh_direct_from_text(text, &e), 0);
	ck_assert_mem_eq(&d, &e, sizeof(d));
	ck_assert_int_eq(ntm_mesh_direct_to_text(&d, text, sizeof(text) - 1), -ENOSPC);
}
END_TEST

START_TEST(test_every_truncated_mesh_direction_is_refused)
{
	struct ntm_mesh_direct d = direct(), e;
	uint8_t buf[NTM_MESH_DIRECT_MAX + 1];
	int n = ntm_mesh_direct_encode(&d, buf, sizeof(buf));

	for (int len = 0; len < n; len++)
		ck_assert_int_eq(ntm_mesh_direct_decode(buf, (size_t)len, &e), -EINVAL);
	buf[n] = 0;
	ck_assert_int_eq(ntm_mesh_direct_decode(buf, (size_t)n + 1, &e), -EINVAL);
}
END_TEST

START_TEST(test_mesh_direction_fields_out_of_range_are_refused)
{
	struct ntm_mesh_direct d = direct(), e;
	uint8_t buf[NTM_MESH_DIRECT_MAX], bad[NTM_MESH_DIRECT_MAX];
	int n = ntm_mesh_direct_encode(&d, buf, sizeof(buf));
	/* offsets: type 0, version 1, instance 2, route ID 3..10 (top byte 3),
	 * suite 11, keys 12..75, count 76, first candidate's kind 77 and family 79 */
	const struct { size_t at; uint8_t v; } cases[] = {
		{ 0, 0 }, { 0, 2 }, { 0, 3 }, { 1, 9 }, { 2, 0 }, { 2, 4 }, { 3, 4 }, { 76, NTM_MAX_CANDS + 1 },
		{ 77, 0 }, { 77, 5 }, { 79, 5 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[cases[i].at] = cases[i].v;
		ck_assert_msg(ntm_mesh_direct_decode(bad, (size_t)n, &e) == -EINVAL,
			      "case %zu accepted", i);
	}
	/* has_relay 2, relay side 2, allocation 0 (the relay part is last:
	 * has 1, id 4, side 1, key 32, endpoint 7) */
	size_t relay = (size_t)n - 1 - 4 - 1 - 32 - 7;
	memcpy(bad, buf, (size_t)n);
	bad[relay] = 2;
	ck_assert_int_eq(ntm_mesh_direct_decode(bad, (size_t)n, &e), -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[relay + 5] = 2;
	ck_assert_int_eq(ntm_mesh_direct_decode(bad, (size_t)n, &e), -EINVAL);
	memcpy(bad, buf, (size_t)n);
	memset(bad + relay + 1, 0, 4);
	ck_assert_int_eq(ntm_mesh_direct_decode(bad, (size_t)n, &e), -EINVAL);
	/* the encoder refuses what the decoder would */
	d.route_id = ntm_mesh_route_id(1, 4);
	ck_assert_int_eq(ntm_mesh_direct_encode(&d, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* A Mesh Move: the route may be either instance's, there is no relay part. */
START_TEST(test_a_mesh_move_round_trips_and_carries_no_relay)
{
	struct ntm_mesh_direct d = direct(), e;
	uint8_t buf[NTM_MESH_DIRECT_MAX];
	char text[NTM_MESH_TEXT_MAX];
	int n;

	d.type = NTM_MESH_MOVED;
	ck_assert_int_eq(ntm_mesh_direct_encode(&d, buf, sizeof(buf)), -EINVAL); /* a relay */
	d.has_relay = 0;
	d.relay_alloc_id = 0;
	d.relay_side = 0;
	memset(d.relay_key, 0, 32);
	memset(&d.relay_ep, 0, sizeof(d.relay_ep));
	d.route_id = ntm_mesh_route_id(0x5555, 7); /* made by instance 7, told by 3 */
	n = ntm_mesh_direct_encode(&d, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(buf[0], NTM_MESH_MOVED);
	ck_assert_int_eq(ntm_mesh_direct_decode(buf, (size_t)n, &e), 0);
	ck_assert_mem_eq(&d, &e, sizeof(d));
	ck_assert_int_gt(ntm_mesh_direct_to_text(&d, text, sizeof(text)), 0);
	ck_assert_int_eq(ntm_mesh_direct_from_text(text, &e), 0);
	ck_assert_int_eq(e.type, NTM_MESH_MOVED);
	/* a relay part appended to a Move is refused */
	uint8_t bad[NTM_MESH_DIRECT_MAX + 64];
	struct ntm_mesh_direct r = direct();
	int rn = ntm_mesh_direct_encode(&r, bad, sizeof(bad));
	ck_assert_int_gt(rn, 0);
	bad[0] = NTM_MESH_MOVED;
	ck_assert_int_eq(ntm_mesh_direct_decode(bad, (size_t)rn, &e), -EINVAL);
	/* route ID 0 (no instance) is refused both ways */
	d.route_id = 0;
	ck_assert_int_eq(ntm_mesh_direct_encode(&d, buf, sizeof(buf)), -EINVAL);
	memset(buf + 3, 0, 8);
	ck_assert_int_eq(ntm_mesh_direct_decode(buf, (size_t)n, &e), -EINVAL);
}
END_TEST

START_TEST(test_hex_text_is_refused_unless_well_formed)
{
	struct ntm_mesh_direct d = direct(), e;
	char text[NTM_MESH_TEXT_MAX + 2];
	int n = ntm_mesh_direct_to_text(&d, text, sizeof(text));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_mesh_direct_from_text(text, &e), 0);
	ck_assert_int_eq(ntm_mesh_direct_from_text("", &e), -EINVAL);
	text[n - 1] = '\0';     /* odd */
	ck_assert_int_eq(ntm_mesh_direct_from_text(text, &e), -EINVAL);
	ntm_mesh_direct_to_text(&d, text, sizeof(text));
	text[10] = 'g';
	ck_assert_int_eq(ntm_mesh_direct_from_text(text, &e), -EINVAL);
	memset(text, '0', NTM_MESH_TEXT_MAX + 1);   /* longer than any */
	text[NTM_MESH_TEXT_MAX + 1] = '\0';
	ck_assert_int_eq(ntm_mesh_direct_from_text(text, &e), -EINVAL);
}
END_TEST

START_TEST(test_candidates_are_local_then_observed_without_duplicates)
{
	struct ntm_mesh_presence p = presence();
	struct ntm_candidate c[NTM_MAX_CANDS];
	uint8_t n;

	p.addrs[2] = p.addrs[0];        /* a duplicate */
	p.naddrs = 3;
	n = ntm_mesh_cands(&p, c);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(c[0].kind, NTM_CAND_LAN);
	ck_assert_uint_eq(c[0].priority, 20);
	ck_assert_uint_eq(c[1].kind, NTM_CAND_V6);
	ck_assert_uint_eq(c[1].priority, 30);
	ck_assert_uint_eq(c[2].kind, NTM_CAND_NAT);
	ck_assert_uint_eq(c[2].priority, 10);
	ck_assert_mem_eq(&c[2].ep, &p.observed, sizeof(p.observed));
	memset(&p.observed, 0, sizeof(p.observed));
	ck_assert_uint_eq(ntm_mesh_cands(&p, c), 2);
}
END_TEST

START_TEST(test_route_ids_carry_their_instance)
{
	for (unsigned i = 1; i <= NTM_MESH_INSTANCE_MAX; i++) {
		uint64_t id = ntm_mesh_route_id(UINT64_MAX, (uint8_t)i);
		ck_assert_uint_eq(ntm_mesh_route_instance(id), i);
		ck_assert_uint_eq(id & 0x00ffffffffffffffull, 0x00ffffffffffffffull);
		ck_assert_uint_ne(ntm_mesh_route_id(0, (uint8_t)i), 0);
	}
	ck_assert_uint_ne(ntm_mesh_route_id(42, 1), ntm_mesh_route_id(42, 2));
}
END_TEST

START_TEST(test_of_two_routes_for_one_pair_both_instances_keep_the_smaller)
{
	uint64_t r1 = ntm_mesh_route_id(0x0000ffffffffffffull, 1);
	uint64_t r2 = ntm_mesh_route_id(0x0000000000000001ull, 2);

	/* DC1 made r1 and hears of r2; DC2 made r2 and hears of r1: exactly
	 * one of them acts, and both nodes end on the same route */
	ck_assert(!ntm_mesh_theirs_wins(r1, r2));
	ck_assert(ntm_mesh_theirs_wins(r2, r1));
	ck_assert(ntm_mesh_theirs_wins(r1, r2) != ntm_mesh_theirs_wins(r2, r1));
	ck_assert(!ntm_mesh_theirs_wins(r1, r1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meshmsg");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_presence_round_trips_with_and_without_observed);
	tcase_add_test(tc, test_the_largest_presence_fits_its_maximum);
	tcase_add_test(tc, test_every_truncated_or_extended_presence_is_refused);
	tcase_add_test(tc, test_presence_fields_out_of_range_are_refused);
	tcase_add_test(tc, test_a_mesh_direction_round_trips);
	tcase_add_test(tc, test_the_largest_mesh_direction_fits_and_its_text_is_under_notify_s_limit);
	tcase_add_test(tc, test_every_truncated_mesh_direction_is_refused);
	tcase_add_test(tc, test_mesh_direction_fields_out_of_range_are_refused);
	tcase_add_test(tc, test_a_mesh_move_round_trips_and_carries_no_relay);
	tcase_add_test(tc, test_hex_text_is_refused_unless_well_formed);
	tcase_add_test(tc, test_candidates_are_local_then_observed_without_duplicates);
	tcase_add_test(tc, test_route_ids_carry_their_instance);
	tcase_add_test(tc, test_of_two_routes_for_one_pair_both_instances_keep_the_smaller);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
