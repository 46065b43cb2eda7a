/* test_mapq.c - the stub's answers from ntm-tund's names map
 * (resolver/mapq.c): A, AAAA and PTR of live entries (the same bytes the
 * ldns-built overlay response has, TTL aside), the TTL as the entry's
 * remaining life, the client's case and ID kept, EDNS and DO echoed; and
 * every case the socket must answer instead: other types, names and
 * addresses not there, expired entries, a closed map, a torn entry
 * (odd sequence number), a map that is garbage, a response over the
 * client's limit. Queries are classified by dnsq_classify as the stub
 * does; responses parsed back with ldns. */
#include <stdbool.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dnsq.h"
#include "mapq.h"
#include "namemap.h"

#define NOW 5000000
#define SLOTS 64

static struct dnsq_overlay ov;
static struct ntm_namemap wm, rm;   /* the writer's view, the reader's */
static void *base;
static struct dnsq q;
static uint8_t resp[4096];

static struct ntm_namemap_rec rec(const char *name, const char *v4, const char *v6)
{
	struct ntm_namemap_rec r = { 0 };

	r.name_len = strlen(name);
	memcpy(r.name, name, r.name_len);
	r.has4 = v4 != NULL;
	r.has6 = v6 != NULL;
	if (v4)
		inet_pton(AF_INET, v4, r.v4);
	if (v6)
		inet_pton(AF_INET6, v6, r.v6);
	return r;
}

static void setup(void)
{
	struct ntm_namemap_rec b = rec("bob.ntm.test", "198.18.0.2", "fd7a:115c:a1e0::2");
	struct ntm_namemap_rec v4only = rec("four.ntm.test", "198.18.0.4", NULL);

	memset(&ov, 0, sizeof(ov));
	ov.nzones = 1;
	strcpy(ov.zones[0], "ntm.test");
	ov.nprefix4 = 1;
	ov.prefix4[0].addr[0] = 198;
	ov.prefix4[0].addr[1] = 18;
	ov.prefix4[0].plen = 15;
	ov.nprefix6 = 1;
	inet_pton(AF_INET6, "fd7a:115c:a1e0::", ov.prefix6[0].addr);
	ov.prefix6[0].plen = 48;
	base = calloc(1, ntm_namemap_file_size(SLOTS));
	ck_assert_ptr_nonnull(base);
	ntm_namemap_format(&wm, base, SLOTS, 0x5eed, 5);
	ck_assert_int_ge(ntm_namemap_put(&wm, &b, NOW + 1800), 0);
	ck_assert_int_ge(ntm_namemap_put(&wm, &v4only, NOW + 900), 0);
	ck_assert_int_eq(ntm_namemap_attach(&rm, base, ntm_namemap_file_size(SLOTS)), 0);
}

static void teardown(void)
{
	free(base);
}

struct qopt {
	uint16_t id;
	bool edns, do_bit, cd;
};

/* Classifies a query for name/type as the stub would; returns the kind. */
static enum dnsq_kind ask(const char *name, ldns_rr_type type, const struct qopt *o)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(name);
	ldns_pkt *p = ldns_pkt_query_new(owner, type, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *w = NULL, local[600];
	size_t n = 0, rl = 0;

	ck_assert_ptr_nonnull(p);
	ldns_pkt_set_id(p, o && o->id ? o->id : 0x1234);
	if (o && o->edns) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, o->do_bit);
	}
	if (o)
		ldns_pkt_set_cd(p, o->cd);
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	enum dnsq_kind k = dnsq_classify(w, n, false, &ov, &q, local, sizeof(local), &rl);
	free(w);
	ldns_pkt_free(p);
	return k;
}

/* The map's answer to name/type at now (0: fell back, *why says why). */
static int answer(const char *name, ldns_rr_type type, const struct qopt *o, uint64_t now,
		  enum mapq_why *why)
{
	enum dnsq_kind k = ask(name, type, o);

	ck_assert(k == DNSQ_OVERLAY_NAME || k == DNSQ_OVERLAY_ADDR);
	return mapq_answer(&rm, &q, k, now, resp, sizeof(resp), why);
}

static ldns_pkt *parse(int n)
{
	ldns_pkt *p = NULL;

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ldns_wire2pkt(&p, resp, (size_t)n), LDNS_STATUS_OK);
	return p;
}

/* The one answer record of p, checked against type/ttl; its rdata as text. */
static char *only_answer(ldns_pkt *p, ldns_rr_type type, uint32_t ttl)
{
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_qr(p) && ldns_pkt_aa(p) && ldns_pkt_ra(p) && ldns_pkt_rd(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(rr), type);
	ck_assert_int_eq(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	ck_assert_uint_eq(ldns_rr_ttl(rr), ttl);
	return ldns_rdf2str(ldns_rr_rdf(rr, 0));
}

START_TEST(test_a_aaaa_and_ptr_of_a_live_entry)
{
	enum mapq_why why;
	ldns_pkt *p;
	char *s;

	p = parse(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why));
	ck_assert_int_eq(why, MAPQ_ANSWERED);
	s = only_answer(p, LDNS_RR_TYPE_A, 1);
	ck_assert_str_eq(s, "198.18.0.2");
	ck_assert_uint_eq(ldns_pkt_id(p), 0x1234);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	free(s);
	ldns_pkt_free(p);

	p = parse(answer("bob.ntm.test", LDNS_RR_TYPE_AAAA, NULL, NOW, &why));
	s = only_answer(p, LDNS_RR_TYPE_AAAA, 1);
	ck_assert_str_eq(s, "fd7a:115c:a1e0::2");
	free(s);
	ldns_pkt_free(p);

	p = parse(answer("2.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR, NULL, NOW, &why));
	s = only_answer(p, LDNS_RR_TYPE_PTR, 1);
	ck_assert_str_eq(s, "bob.ntm.test.");
	free(s);
	ldns_pkt_free(p);

	p = parse(answer("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
			 LDNS_RR_TYPE_PTR, NULL, NOW, &why));
	s = only_answer(p, LDNS_RR_TYPE_PTR, 1);
	ck_assert_str_eq(s, "bob.ntm.test.");
	free(s);
	ldns_pkt_free(p);
}
END_TEST

/* The same bytes as the overlay response ldns builds for the socket's answer. */
START_TEST(test_the_same_bytes_as_the_ldns_built_overlay_response)
{
	static const struct { const char *name; ldns_rr_type t; bool edns, do_bit; } c[] = {
		{ "bob.ntm.test", LDNS_RR_TYPE_A, false, false },
		{ "BoB.NTM.test", LDNS_RR_TYPE_AAAA, true, false },
		{ "bob.ntm.test", LDNS_RR_TYPE_A, true, true },
		{ "2.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR, true, false },
	};
	uint8_t want[4096];
	enum mapq_why why;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct qopt o = { .id = (uint16_t)(77 + i), .edns = c[i].edns, .do_bit = c[i].do_bit,
				  .cd = i == 2 };
		int n = answer(c[i].name, c[i].t, &o, NOW + 800, &why);
		struct dnsq_overlay_answer a = { .status = DNSQ_OVERLAY_FOUND, .n4 = 1, .n6 = 1,
						 .age = NTM_DNS_OVERLAY_TTL - 1 };
		inet_pton(AF_INET, "198.18.0.2", a.v4[0]);
		inet_pton(AF_INET6, "fd7a:115c:a1e0::2", a.v6[0]);
		strcpy(a.ptr_name, "bob.ntm.test");
		int m = dnsq_overlay_response(&q, &ov, &a, want, sizeof(want));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(n, m);
		ck_assert_mem_eq(resp, want, (size_t)n);
	}
}
END_TEST

START_TEST(test_ttl_is_the_remaining_life_down_to_zero)
{
	enum mapq_why why;
	ldns_pkt *p;
	char *s;

	/* bob expires at NOW + 1800 */
	p = parse(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW + 799, &why));
	free(only_answer(p, LDNS_RR_TYPE_A, 1));
	ldns_pkt_free(p);
	p = parse(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW + 801, &why));
	s = only_answer(p, LDNS_RR_TYPE_A, 0);
	free(s);
	ldns_pkt_free(p);
	p = parse(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW + 1799, &why));
	free(only_answer(p, LDNS_RR_TYPE_A, 0));
	ldns_pkt_free(p);
	/* expired: the socket's */
	ck_assert_int_eq(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW + 1800, &why), 0);
	ck_assert_int_eq(why, MAPQ_STALE);
	ck_assert_int_eq(answer("2.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR, NULL, NOW + 5000, &why), 0);
	ck_assert_int_eq(why, MAPQ_STALE);
}
END_TEST

START_TEST(test_the_question_is_echoed_in_the_clients_case)
{
	enum mapq_why why;
	int n = answer("BoB.nTm.TEST", LDNS_RR_TYPE_A, NULL, NOW, &why);

	ck_assert_int_gt(n, 0);
	ck_assert_mem_eq(resp + 12, "\003BoB\003nTm\004TEST\000", 14);
	/* the owner is a pointer to it */
	ck_assert_uint_eq(resp[12 + q.question_len], 0xc0);
	ck_assert_uint_eq(resp[12 + q.question_len + 1], 12);
	ldns_pkt *p = parse(n);
	char *s = only_answer(p, LDNS_RR_TYPE_A, 1);
	ck_assert_str_eq(s, "198.18.0.2");
	free(s);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_edns_and_do_are_echoed)
{
	struct qopt o = { .edns = true, .do_bit = true, .cd = true, .id = 9 };
	enum mapq_why why;
	ldns_pkt *p = parse(answer("bob.ntm.test", LDNS_RR_TYPE_AAAA, &o, NOW, &why));

	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), NTM_DNS_EDNS_SIZE);
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert(ldns_pkt_cd(p));
	ck_assert_uint_eq(ldns_pkt_id(p), 9);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_what_the_socket_answers_instead)
{
	enum mapq_why why;

	/* not there */
	ck_assert_int_eq(answer("eve.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_MISS);
	ck_assert_int_eq(answer("9.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_MISS);
	/* other types, and NODATA, are ntm-tund's */
	ck_assert_int_eq(answer("bob.ntm.test", LDNS_RR_TYPE_MX, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_NOT_MINE);
	ck_assert_int_eq(answer("bob.ntm.test", LDNS_RR_TYPE_ANY, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_NOT_MINE);
	ck_assert_int_eq(answer("four.ntm.test", LDNS_RR_TYPE_AAAA, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_NOT_MINE);
	ck_assert_int_gt(answer("four.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why), 0);
	/* a name with a byte that must be escaped is never a map name */
	ck_assert_int_eq(answer("b\\046ob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_NOT_MINE);
	/* no map */
	ck_assert_int_eq(ask("bob.ntm.test", LDNS_RR_TYPE_A, NULL), DNSQ_OVERLAY_NAME);
	ck_assert_int_eq(mapq_answer(NULL, &q, DNSQ_OVERLAY_NAME, NOW, resp, sizeof(resp), &why), 0);
	ck_assert_int_eq(why, MAPQ_MISS);
	/* no room: the cap, and the client's limit */
	ck_assert_int_eq(mapq_answer(&rm, &q, DNSQ_OVERLAY_NAME, NOW, resp, 40, &why), 0);
	ck_assert_int_eq(why, MAPQ_NOROOM);
	q.limit = 40;
	ck_assert_int_eq(mapq_answer(&rm, &q, DNSQ_OVERLAY_NAME, NOW, resp, sizeof(resp), &why), 0);
	ck_assert_int_eq(why, MAPQ_NOROOM);
}
END_TEST

START_TEST(test_a_closed_map_or_a_torn_entry_falls_back)
{
	struct ntm_namemap_rec r;
	enum mapq_why why;

	ck_assert_int_eq(ntm_namemap_find_name(&rm, "bob.ntm.test", 12, NOW, &r), NTM_NAMEMAP_HIT);
	/* the writer mid-entry: an odd sequence number, both tries torn */
	struct ntm_namemap_entry *e = (struct ntm_namemap_entry *)(void *)((uint8_t *)base +
		sizeof(struct ntm_namemap_hdr));
	uint32_t slot = 0;
	while (slot < SLOTS && (atomic_load(&e[slot].w[NTM_NAMEMAP_W_META]) & 0xffff) != 12)
		slot++;
	ck_assert_uint_lt(slot, SLOTS);
	atomic_fetch_add(&e[slot].w[NTM_NAMEMAP_W_SEQ], 1);
	ck_assert_int_eq(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_TORN);
	atomic_fetch_add(&e[slot].w[NTM_NAMEMAP_W_SEQ], 1);
	ck_assert_int_gt(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why), 0);
	/* closed (its daemon gone): stale */
	ntm_namemap_close(&wm);
	ck_assert_int_eq(answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_STALE);
}
END_TEST

START_TEST(test_a_name_in_the_map_that_is_no_wire_name_is_not_answered)
{
	struct ntm_namemap_rec bad = rec("x..ntm.test", "198.18.0.9", NULL);
	enum mapq_why why;

	ck_assert_int_ge(ntm_namemap_put(&wm, &bad, NOW + 1000), 0);
	ck_assert_int_eq(answer("9.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR, NULL, NOW, &why), 0);
	ck_assert_int_eq(why, MAPQ_NOT_MINE);
}
END_TEST

START_TEST(test_garbage_in_the_entries_never_answers_wrongly)
{
	enum mapq_why why;
	uint8_t *body = (uint8_t *)base + sizeof(struct ntm_namemap_hdr);
	size_t blen = ntm_namemap_file_size(SLOTS) - sizeof(struct ntm_namemap_hdr);

	srand(7);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < blen; i++)
			body[i] = (uint8_t)rand();
		int n = answer("bob.ntm.test", LDNS_RR_TYPE_A, NULL, NOW, &why);
		ck_assert_int_eq(n, 0); /* random words never hold the name, its hash and a NUL */
		n = answer("2.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR, NULL, NOW, &why);
		ck_assert_int_eq(n, 0);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mapq");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_a_aaaa_and_ptr_of_a_live_entry);
	tcase_add_test(tc, test_the_same_bytes_as_the_ldns_built_overlay_response);
	tcase_add_test(tc, test_ttl_is_the_remaining_life_down_to_zero);
	tcase_add_test(tc, test_the_question_is_echoed_in_the_clients_case);
	tcase_add_test(tc, test_edns_and_do_are_echoed);
	tcase_add_test(tc, test_what_the_socket_answers_instead);
	tcase_add_test(tc, test_a_closed_map_or_a_torn_entry_falls_back);
	tcase_add_test(tc, test_a_name_in_the_map_that_is_no_wire_name_is_not_answered);
	tcase_add_test(tc, test_garbage_in_the_entries_never_answers_wrongly);
	suite_add_tcase(s, tc);
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
