/* test_fedmsg.c - FED_DIRECTION_REQ and FED_DIRECTION_RESP (dc/fedmsg.c,
 * doc/protocol.md 10.4): what is encoded decodes to the same fields, every
 * truncation and every bad field is refused, encoders refuse what the
 * specification forbids; and the two DCs' checks: the answering DC speaks
 * for its zone only, the asking DC takes only a matching answer outside
 * its own prefixes. FED_ROUTE_MOVED (10.5) likewise, and the receiving
 * DC's check of it: the mover's zone and the route held for that pair. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fedmsg.h"

static void route_of(struct ntm_ctl_route_direction *r, bool relay)
{
	memset(r, 0, sizeof(*r));
	r->route_id = 0x1122334455667788ull;
	r->role = NTM_ROLE_RESPONDER;
	r->suite = NTM_SUITE_AESGCM;
	memset(r->peer_key, 0x5a, 32);
	memcpy(r->peer_vip4, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	r->peer_vip6[0] = 0xfd;
	r->peer_vip6[15] = 1;
	ck_assert_int_eq(ntm_name_set(&r->peer_name, "a.ntm.a.example"), 0);
	r->ncands = 2;
	r->cands[0] = (struct ntm_candidate){ NTM_CAND_LAN, 20, { 4, 7541, { 203, 0, 113, 18 } } };
	r->cands[1] = (struct ntm_candidate){ NTM_CAND_NAT, 10, { 4, 40000, { 192, 0, 2, 7 } } };
	if (relay) {
		r->has_relay = true;
		r->relay_ep = (struct ntm_endpoint){ 4, 7542, { 198, 51, 100, 2 } };
		r->relay_alloc_id = 0xabcdef01;
		r->relay_side = 1;
		memset(r->relay_key, 0x77, 32);
	}
}

static int req_bytes(uint8_t *buf, size_t cap)
{
	struct ntm_fed_msg m = { .type = NTM_FED_DIRECTION_REQ };

	m.u.req.req_id = 42;
	ck_assert_int_eq(ntm_name_set(&m.u.req.target, "b.ntm.b.example"), 0);
	route_of(&m.u.req.route, true);
	return ntm_fed_encode(&m, buf, cap);
}

START_TEST(test_a_request_decodes_to_what_was_encoded)
{
	uint8_t buf[1200];
	struct ntm_fed_msg d;
	struct ntm_ctl_route_direction want;
	int n = req_bytes(buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_fed_decode(buf, (size_t)n, &d), 0);
	ck_assert_uint_eq(d.type, NTM_FED_DIRECTION_REQ);
	ck_assert_uint_eq(d.u.req.req_id, 42);
	ck_assert_str_eq(d.u.req.target.s, "b.ntm.b.example");
	route_of(&want, true);
	const struct ntm_ctl_route_direction *r = &d.u.req.route;
	ck_assert_uint_eq(r->route_id, want.route_id);
	ck_assert_uint_eq(r->role, want.role);
	ck_assert_uint_eq(r->suite, want.suite);
	ck_assert_mem_eq(r->peer_key, want.peer_key, 32);
	ck_assert_mem_eq(r->peer_vip4, want.peer_vip4, 4);
	ck_assert_mem_eq(r->peer_vip6, want.peer_vip6, 16);
	ck_assert_str_eq(r->peer_name.s, "a.ntm.a.example");
	ck_assert_uint_eq(r->ncands, 2);
	ck_assert_uint_eq(r->cands[1].ep.port, 40000);
	ck_assert(r->has_relay);
	ck_assert_uint_eq(r->relay_alloc_id, 0xabcdef01);
	ck_assert_uint_eq(r->relay_side, 1);
	ck_assert_mem_eq(r->relay_key, want.relay_key, 32);
	/* encoded again: the same bytes */
	uint8_t again[1200];
	ck_assert_int_eq(ntm_fed_encode(&d, again, sizeof(again)), n);
	ck_assert_mem_eq(again, buf, (size_t)n);
}
END_TEST

START_TEST(test_responses_with_and_without_a_route)
{
	uint8_t buf[1200];
	struct ntm_fed_msg m = { .type = NTM_FED_DIRECTION_RESP }, d;
	int n;

	m.u.resp.req_id = 7;
	m.u.resp.status = NTM_FED_OK;
	route_of(&m.u.resp.route, false);
	m.u.resp.route.role = NTM_ROLE_INITIATOR;
	n = ntm_fed_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_fed_decode(buf, (size_t)n, &d), 0);
	ck_assert_uint_eq(d.type, NTM_FED_DIRECTION_RESP);
	ck_assert_uint_eq(d.u.resp.req_id, 7);
	ck_assert_uint_eq(d.u.resp.status, NTM_FED_OK);
	ck_assert(!d.u.resp.route.has_relay);
	ck_assert_str_eq(d.u.resp.route.peer_name.s, "a.ntm.a.example");

	for (uint8_t st = NTM_FED_NOT_FOUND; st <= NTM_FED_STATUS_MAX; st++) {
		m.u.resp.status = st;
		n = ntm_fed_encode(&m, buf, sizeof(buf));
		ck_assert_int_eq(n, 9); /* header 4, req_id 4, status 1: no route */
		ck_assert_int_eq(ntm_fed_decode(buf, (size_t)n, &d), 0);
		ck_assert_uint_eq(d.u.resp.status, st);
	}
	/* a refusal with bytes after it, and an OK without its route */
	buf[9] = 0;
	ck_assert_int_eq(ntm_fed_decode(buf, 10, &d), -EBADMSG);
	buf[8] = NTM_FED_OK;
	ck_assert_int_eq(ntm_fed_decode(buf, 9, &d), -EBADMSG);
	buf[8] = NTM_FED_STATUS_MAX + 1;
	ck_assert_int_eq(ntm_fed_decode(buf, 9, &d), -EBADMSG);
}
END_TEST

START_TEST(test_every_truncation_and_bad_field_is_refused)
{
	uint8_t buf[1200], bad[1200];
	struct ntm_fed_msg d;
	int n = req_bytes(buf, sizeof(buf));

	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(ntm_fed_decode(buf, len, &d), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n + 1, &d), -EBADMSG);
	static const struct {
		size_t off;
		uint8_t val;
		const char *what;
	} cases[] = {
		{ 0, 2, "version" }, { 1, 0, "type 0" }, { 1, 3, "type 3" },
		{ 2, 1, "reserved" }, { 3, 1, "reserved" },
		{ 9, 'B', "upper case in the target" },  /* "b.ntm..." at offset 9 */
		{ 10, 0, "NUL in the target" },
		{ 8, 0, "empty target" },
		{ 8, 200, "target longer than the message" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[cases[i].off] = cases[i].val;
		ck_assert_msg(ntm_fed_decode(bad, (size_t)n, &d) == -EBADMSG, "%s accepted",
			      cases[i].what);
	}
	/* req_id 0 */
	memcpy(bad, buf, (size_t)n);
	memset(bad + 4, 0, 4);
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n, &d), -EBADMSG);
	/* the ROUTE_DIRECTION is checked by its own decoder: a bad marker */
	memcpy(bad, buf, (size_t)n);
	size_t route = 9 + strlen("b.ntm.b.example");
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n, &d), 0);
	bad[route] ^= 0xff;
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n, &d), -EBADMSG);
}
END_TEST

START_TEST(test_the_encoder_refuses_what_the_decoder_would)
{
	uint8_t buf[1200];
	struct ntm_fed_msg m = { .type = NTM_FED_DIRECTION_REQ };

	ck_assert_int_eq(ntm_name_set(&m.u.req.target, "b.ntm.b.example"), 0);
	route_of(&m.u.req.route, true);
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL); /* req_id 0 */
	m.u.req.req_id = 1;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, 20), -EMSGSIZE);
	ck_assert_int_gt(ntm_fed_encode(&m, buf, sizeof(buf)), 0);
	m.type = 3;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.type = NTM_FED_DIRECTION_RESP;
	m.u.resp.status = NTM_FED_STATUS_MAX + 1;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_below_is_strict_and_label_aligned)
{
	ck_assert(ntm_fed_below("b.ntm.b.example", "ntm.b.example"));
	ck_assert(ntm_fed_below("x.y.ntm.b.example", "ntm.b.example"));
	ck_assert(!ntm_fed_below("ntm.b.example", "ntm.b.example"));      /* the apex */
	ck_assert(!ntm_fed_below("bntm.b.example", "ntm.b.example"));     /* not at a dot */
	ck_assert(!ntm_fed_below("b.ntm.b.example.evil", "ntm.b.example"));
	ck_assert(!ntm_fed_below("b", "ntm.b.example"));
	ck_assert(!ntm_fed_below("b.ntm.b.example", ""));
}
END_TEST

START_TEST(test_the_answering_dc_speaks_for_its_zone_only)
{
	struct ntm_fed_req q = { .req_id = 1 };

	route_of(&q.route, true); /* describes a.ntm.a.example, responder */
	ck_assert_int_eq(ntm_name_set(&q.target, "b.ntm.b.example"), 0);
	ck_assert_uint_eq(ntm_fed_check_request(&q, "ntm.b.example", "ntm.a.example"), NTM_FED_OK);
	/* a session pinned for another zone speaking for a.ntm.a.example */
	ck_assert_uint_eq(ntm_fed_check_request(&q, "ntm.b.example", "ntm.c.example"),
			  NTM_FED_REFUSED);
	/* a target outside our zone, or a single label (never qualified) */
	ck_assert_uint_eq(ntm_fed_check_request(&q, "ntm.x.example", "ntm.a.example"),
			  NTM_FED_REFUSED);
	ck_assert_int_eq(ntm_name_set(&q.target, "b"), 0);
	ck_assert_uint_eq(ntm_fed_check_request(&q, "ntm.b.example", "ntm.a.example"),
			  NTM_FED_REFUSED);
	/* the asker must be the responder of the route */
	ck_assert_int_eq(ntm_name_set(&q.target, "b.ntm.b.example"), 0);
	q.route.role = NTM_ROLE_INITIATOR;
	ck_assert_uint_eq(ntm_fed_check_request(&q, "ntm.b.example", "ntm.a.example"),
			  NTM_FED_REFUSED);
}
END_TEST

START_TEST(test_an_answer_must_match_and_stay_out_of_our_prefixes)
{
	struct ntm_fed_resp a = { .req_id = 1, .status = NTM_FED_OK };
	const uint8_t p4[4] = { 198, 19, 0, 0 }, p6[16] = { 0xfd, 0, 0xbb, 0xbb };
	const uint64_t id = 0x1122334455667788ull;

	route_of(&a.route, false); /* a.ntm.a.example, 198.18.0.1, fd00::...1 */
	ck_assert(ntm_fed_check_answer(&a, "a.ntm.a.example", id, p4, 16, p6, 48));
	ck_assert(!ntm_fed_check_answer(&a, "c.ntm.a.example", id, p4, 16, p6, 48));
	ck_assert(!ntm_fed_check_answer(&a, "a.ntm.a.example", id + 1, p4, 16, p6, 48));
	/* 198.18.0.1 inside our 198.18.0.0/15: refused */
	ck_assert(!ntm_fed_check_answer(&a, "a.ntm.a.example", id, p4, 15, p6, 48));
	/* its IPv6 address inside our fd00::/8 */
	ck_assert(!ntm_fed_check_answer(&a, "a.ntm.a.example", id, p4, 16, p6, 8));
	/* no prefix of a family: nothing to collide with */
	ck_assert(ntm_fed_check_answer(&a, "a.ntm.a.example", id, p4, 0, p6, 0));
	a.status = NTM_FED_OFFLINE;
	ck_assert(!ntm_fed_check_answer(&a, "a.ntm.a.example", id, p4, 16, p6, 48));
}
END_TEST

static void moved_of(struct ntm_fed_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = NTM_FED_ROUTE_MOVED;
	struct ntm_fed_moved *v = &m->u.moved;
	v->move_id = 0x01020304;
	v->route_id = 0x1122334455667788ull;
	memset(v->mover_key, 0x5a, 32);
	memset(v->target_key, 0x6b, 32);
	ck_assert_int_eq(ntm_name_set(&v->mover_name, "a.ntm.a.example"), 0);
	v->ncands = 2;
	v->cands[0] = (struct ntm_candidate){ NTM_CAND_LAN, 20, { 4, 7541, { 203, 0, 113, 19 } } };
	v->cands[1] = (struct ntm_candidate){ NTM_CAND_V6, 30, { 6, 7541, { 0x20, 0x01, 0x0d, 0xb8 } } };
	v->cands[1].ep.addr[15] = 0x19;
}

/* header 4, move ID 4, route ID 8, keys 64: the name's length byte */
#define MOVED_NAME_OFF 80

START_TEST(test_a_move_decodes_to_what_was_encoded)
{
	uint8_t buf[1200], again[1200];
	struct ntm_fed_msg m, d;

	moved_of(&m);
	int n = ntm_fed_encode(&m, buf, sizeof(buf));
	/* + name 1 + 15, count 1, candidates 2 + 7 and 2 + 19 */
	ck_assert_int_eq(n, MOVED_NAME_OFF + 16 + 1 + 9 + 21);
	ck_assert_uint_eq(buf[1], NTM_FED_ROUTE_MOVED);
	ck_assert_int_eq(ntm_fed_decode(buf, (size_t)n, &d), 0);
	ck_assert_uint_eq(d.type, NTM_FED_ROUTE_MOVED);
	ck_assert_uint_eq(d.u.moved.move_id, 0x01020304);
	ck_assert_uint_eq(d.u.moved.route_id, 0x1122334455667788ull);
	ck_assert_mem_eq(d.u.moved.mover_key, m.u.moved.mover_key, 32);
	ck_assert_mem_eq(d.u.moved.target_key, m.u.moved.target_key, 32);
	ck_assert_str_eq(d.u.moved.mover_name.s, "a.ntm.a.example");
	ck_assert_uint_eq(d.u.moved.ncands, 2);
	ck_assert_mem_eq(&d.u.moved.cands[0], &m.u.moved.cands[0], sizeof(struct ntm_candidate));
	ck_assert_mem_eq(&d.u.moved.cands[1], &m.u.moved.cands[1], sizeof(struct ntm_candidate));
	ck_assert_int_eq(ntm_fed_encode(&d, again, sizeof(again)), n);
	ck_assert_mem_eq(again, buf, (size_t)n);
	/* no candidates at all is a move too (the node has none to offer now) */
	m.u.moved.ncands = 0;
	n = ntm_fed_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(n, MOVED_NAME_OFF + 16 + 1);
	ck_assert_int_eq(ntm_fed_decode(buf, (size_t)n, &d), 0);
	ck_assert_uint_eq(d.u.moved.ncands, 0);
}
END_TEST

START_TEST(test_every_bad_move_is_refused)
{
	uint8_t buf[1200], bad[1200];
	struct ntm_fed_msg m, d;

	moved_of(&m);
	int n = ntm_fed_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(ntm_fed_decode(buf, len, &d), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n + 1, &d), -EBADMSG);
	const size_t cnt = MOVED_NAME_OFF + 16, c0 = cnt + 1, c1 = c0 + 9;
	static const struct {
		size_t off;
		uint8_t val;
		const char *what;
	} cases[] = {
		{ 2, 1, "reserved" },
		{ MOVED_NAME_OFF, 0, "empty name" },
		{ MOVED_NAME_OFF + 1, 'A', "upper case in the name" },
		{ MOVED_NAME_OFF + 2, 0, "NUL in the name" },
		{ MOVED_NAME_OFF, 200, "name longer than the message" },
		{ MOVED_NAME_OFF + 16, NTM_MAX_CANDS + 1, "too many candidates" },
		{ MOVED_NAME_OFF + 16, 3, "more candidates than there are" },
		{ MOVED_NAME_OFF + 16, 1, "fewer candidates than there are" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[cases[i].off] = cases[i].val;
		ck_assert_msg(ntm_fed_decode(bad, (size_t)n, &d) == -EBADMSG, "%s accepted",
			      cases[i].what);
	}
	const struct {
		size_t off;
		uint8_t val;
		const char *what;
	} cand_cases[] = {
		{ c0, 0, "candidate kind 0" },
		{ c0, NTM_CAND_RELAY, "a relay candidate (the relay part stays the node's)" },
		{ c0 + 2, 5, "family 5" },
		{ c1 + 2, 4, "an IPv6 address sent as IPv4" },
		{ c0 + 3, 0, "port 0 (high byte)" },
	};
	for (size_t i = 0; i < sizeof(cand_cases) / sizeof(cand_cases[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[cand_cases[i].off] = cand_cases[i].val;
		if (cand_cases[i].off == c0 + 3)
			bad[c0 + 4] = 0; /* port 0 whole */
		ck_assert_msg(ntm_fed_decode(bad, (size_t)n, &d) == -EBADMSG, "%s accepted",
			      cand_cases[i].what);
	}
	/* move ID 0, route ID 0 */
	memcpy(bad, buf, (size_t)n);
	memset(bad + 4, 0, 4);
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n, &d), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	memset(bad + 8, 0, 8);
	ck_assert_int_eq(ntm_fed_decode(bad, (size_t)n, &d), -EBADMSG);
}
END_TEST

START_TEST(test_the_encoder_refuses_a_bad_move)
{
	uint8_t buf[1200];
	struct ntm_fed_msg m;

	moved_of(&m);
	ck_assert_int_eq(ntm_fed_encode(&m, buf, 40), -EMSGSIZE);
	m.u.moved.move_id = 0;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
	moved_of(&m);
	m.u.moved.route_id = 0;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
	moved_of(&m);
	m.u.moved.cands[0].kind = NTM_CAND_RELAY;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
	moved_of(&m);
	m.u.moved.cands[0].ep.addr[7] = 1; /* past an IPv4 address: not canonical */
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
	moved_of(&m);
	m.u.moved.ncands = NTM_MAX_CANDS + 1;
	ck_assert_int_eq(ntm_fed_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_a_move_is_taken_only_for_a_route_held_for_that_pair)
{
	struct ntm_fed_msg m;
	struct ntm_ctl_route_direction held;
	uint8_t ours[32];

	moved_of(&m);
	route_of(&held, true); /* describes a.ntm.a.example, key 0x5a.., the same route ID */
	memset(ours, 0x6b, 32);
	const struct ntm_fed_moved *v = &m.u.moved;
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.a.example", &held, ours), NTM_FED_MOVED_OK);
	/* a session pinned for another zone speaking for a.ntm.a.example */
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.c.example", &held, ours), NTM_FED_MOVED_ZONE);
	/* no route held, another route, another mover key or name, not our node */
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.a.example", NULL, ours), NTM_FED_MOVED_ROUTE);
	held.route_id++;
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.a.example", &held, ours), NTM_FED_MOVED_ROUTE);
	route_of(&held, true);
	held.peer_key[0] ^= 1;
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.a.example", &held, ours), NTM_FED_MOVED_ROUTE);
	route_of(&held, true);
	ck_assert_int_eq(ntm_name_set(&held.peer_name, "x.ntm.a.example"), 0);
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.a.example", &held, ours), NTM_FED_MOVED_ROUTE);
	route_of(&held, true);
	ours[31] ^= 1;
	ck_assert_uint_eq(ntm_fed_check_moved(v, "ntm.a.example", &held, ours), NTM_FED_MOVED_ROUTE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fedmsg");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_a_request_decodes_to_what_was_encoded);
	tcase_add_test(tc, test_responses_with_and_without_a_route);
	tcase_add_test(tc, test_every_truncation_and_bad_field_is_refused);
	tcase_add_test(tc, test_the_encoder_refuses_what_the_decoder_would);
	tcase_add_test(tc, test_below_is_strict_and_label_aligned);
	tcase_add_test(tc, test_the_answering_dc_speaks_for_its_zone_only);
	tcase_add_test(tc, test_an_answer_must_match_and_stay_out_of_our_prefixes);
	tcase_add_test(tc, test_a_move_decodes_to_what_was_encoded);
	tcase_add_test(tc, test_every_bad_move_is_refused);
	tcase_add_test(tc, test_the_encoder_refuses_a_bad_move);
	tcase_add_test(tc, test_a_move_is_taken_only_for_a_route_held_for_that_pair);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
