/* test_dnsq.c - unit tests for resolver/dnsq.c: query validation (the
 * whole-message walk itself is tested in test_dnswalk.c), overlay
 * answers, upstream queries and replies. Queries and replies are built
 * with ldns; responses are parsed back with ldns. */
/* stdbool.h before ldns: without it ldns/common.h defines _Bool as
 * signed char, and struct dnsq would differ between files. */
#include <stdbool.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dnsq.h"

static struct dnsq_overlay ov;
static uint8_t resp[65536];
static size_t resp_len;
static struct dnsq q;

struct qopt {
	uint16_t id;
	bool no_rd, cd, edns, do_bit;
	uint16_t bufsize;
	uint8_t version;
	uint8_t opcode;
	uint16_t qclass;
};

static void setup(void)
{
	memset(&ov, 0, sizeof(ov));
	ov.nzones = 2;
	strcpy(ov.zones[0], "internal");
	strcpy(ov.zones[1], "corp.example");
	ov.nprefix4 = 1;
	ov.prefix4[0].addr[0] = 198;
	ov.prefix4[0].addr[1] = 18;
	ov.prefix4[0].plen = 15;
	ov.nprefix6 = 1;
	inet_pton(AF_INET6, "fd7a:115c:a1e0::", ov.prefix6[0].addr);
	ov.prefix6[0].plen = 48;
	ov.refuse_private_reverse = true;
}

/* A query for name/type as wire bytes in buf; returns the length. */
static size_t mkq(const char *name, ldns_rr_type type, const struct qopt *o, uint8_t *buf)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(name);
	ldns_pkt *p = ldns_pkt_query_new(owner, type, o->qclass ? o->qclass : LDNS_RR_CLASS_IN,
					 o->no_rd ? 0 : LDNS_RD);
	uint8_t *w = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(p);
	ldns_pkt_set_id(p, o->id ? o->id : 0x1234);
	ldns_pkt_set_cd(p, o->cd);
	ldns_pkt_set_opcode(p, (ldns_pkt_opcode)o->opcode);
	if (o->edns) {
		ldns_pkt_set_edns_udp_size(p, o->bufsize ? o->bufsize : 1232);
		ldns_pkt_set_edns_version(p, o->version);
		ldns_pkt_set_edns_do(p, o->do_bit);
	}
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	memcpy(buf, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

static enum dnsq_kind classify_opt(const char *name, ldns_rr_type type, const struct qopt *o,
				   bool tcp)
{
	uint8_t buf[512];
	size_t n = mkq(name, type, o, buf);

	return dnsq_classify(buf, n, tcp, &ov, &q, resp, sizeof(resp), &resp_len);
}

static enum dnsq_kind classify(const char *name, ldns_rr_type type)
{
	struct qopt o = { 0 };

	return classify_opt(name, type, &o, false);
}

static ldns_pkt *parse(const uint8_t *w, size_t n)
{
	ldns_pkt *p = NULL;

	ck_assert_int_eq(ldns_wire2pkt(&p, w, n), LDNS_STATUS_OK);
	return p;
}

static ldns_pkt *parse_resp(void)
{
	return parse(resp, resp_len);
}

static int rcode_of(const ldns_pkt *p)
{
	return ldns_pkt_get_rcode(p) | ldns_pkt_edns_extended_rcode(p) << 4;
}

/* Classify, expect DNSQ_RESPOND with rcode; returns the parsed response. */
static ldns_pkt *expect_rcode(const char *name, ldns_rr_type type, const struct qopt *o, int rcode)
{
	ck_assert_int_eq(classify_opt(name, type, o, false), DNSQ_RESPOND);
	ldns_pkt *p = parse_resp();
	ck_assert_int_eq(rcode_of(p), rcode);
	ck_assert(ldns_pkt_qr(p));
	ck_assert(ldns_pkt_ra(p));
	return p;
}

static const ldns_rr *soa_in_authority(const ldns_pkt *p)
{
	ck_assert_uint_eq(ldns_pkt_nscount(p), 1);
	const ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 1);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), NTM_DNS_NEGATIVE_TTL);
	return soa;
}

static void assert_owner(const ldns_rr *rr, const char *name)
{
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_owner(rr), want), 0);
	ldns_rdf_deep_free(want);
}

START_TEST(test_a_response_from_a_client_is_dropped)
{
	uint8_t buf[512];
	struct qopt o = { 0 };
	size_t n = mkq("example.com", LDNS_RR_TYPE_A, &o, buf);

	buf[2] |= 0x80;
	ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_DROP);
	ck_assert_uint_eq(resp_len, 0);
}
END_TEST

START_TEST(test_a_message_shorter_than_a_header_is_dropped)
{
	uint8_t buf[12] = { 0x12, 0x34, 0x01, 0, 0, 1 };

	for (size_t n = 0; n < 12; n++)
		ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp),
					       &resp_len), DNSQ_DROP);
}
END_TEST

START_TEST(test_an_opcode_other_than_query_gets_notimp_with_the_opcode_echoed)
{
	struct qopt o = { .opcode = LDNS_PACKET_NOTIFY, .id = 77 };
	ldns_pkt *p = expect_rcode("example.com", LDNS_RR_TYPE_SOA, &o, LDNS_RCODE_NOTIMPL);

	ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	ck_assert_uint_eq(ldns_pkt_id(p), 77);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_two_questions_or_none_get_formerr)
{
	uint8_t buf[512];
	struct qopt o = { 0 };
	size_t n = mkq("example.com", LDNS_RR_TYPE_A, &o, buf);

	for (uint8_t qd = 0; qd <= 2; qd += 2) {
		buf[5] = qd;
		ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp),
					       &resp_len), DNSQ_RESPOND);
		ldns_pkt *p = parse_resp();
		ck_assert_int_eq(rcode_of(p), LDNS_RCODE_FORMERR);
		ck_assert_uint_eq(ldns_pkt_qdcount(p), 0);
		ldns_pkt_free(p);
	}
}
END_TEST

START_TEST(test_a_question_cut_short_gets_formerr)
{
	uint8_t buf[512];
	struct qopt o = { 0 };
	size_t n = mkq("example.com", LDNS_RR_TYPE_A, &o, buf);

	ck_assert_int_eq(dnsq_classify(buf, n - 3, false, &ov, &q, resp, sizeof(resp),
				       &resp_len), DNSQ_RESPOND);
	ldns_pkt *p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_a_compressed_question_name_gets_formerr)
{
	uint8_t buf[] = { 0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
			  0xc0, 0x0c, 0, 1, 0, 1 };

	ck_assert_int_eq(dnsq_classify(buf, sizeof(buf), false, &ov, &q, resp, sizeof(resp),
				       &resp_len), DNSQ_RESPOND);
	ldns_pkt *p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_edns_version_1_gets_badvers_with_an_opt)
{
	struct qopt o = { .edns = true, .version = 1 };
	ldns_pkt *p = expect_rcode("example.com", LDNS_RR_TYPE_A, &o, 16);

	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(ldns_pkt_edns_version(p), 0);
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), NTM_DNS_EDNS_SIZE);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_two_opt_records_get_formerr)
{
	uint8_t buf[512];
	struct qopt o = { .edns = true };
	size_t n = mkq("example.com", LDNS_RR_TYPE_A, &o, buf);

	memcpy(buf + n, buf + n - 11, 11);
	buf[11] = 2;
	ck_assert_int_eq(dnsq_classify(buf, n + 11, false, &ov, &q, resp, sizeof(resp),
				       &resp_len), DNSQ_RESPOND);
	ldns_pkt *p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}
END_TEST

/* Append a bare TSIG record (root owner, class ANY, no data) to the
 * message in buf and count it in ARCOUNT; returns the new length. */
static size_t add_tsig(uint8_t *buf, size_t n)
{
	static const uint8_t tsig[11] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0 };

	memcpy(buf + n, tsig, sizeof(tsig));
	buf[11]++;
	return n + sizeof(tsig);
}

static void expect_bare_formerr(const uint8_t *buf, size_t n)
{
	ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_RESPOND);
	ldns_pkt *p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_FORMERR);
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 0);
	ck_assert_uint_eq(ldns_pkt_id(p), 0x1234);
	ldns_pkt_free(p);
}

START_TEST(test_the_query_that_leaked_inside_ldns_gets_formerr)
{
	/* tests/fuzz/corpus/dnsq/leak_arcount5_two_tsig_type0_truncated_rr:
	 * ARCOUNT 5 = a type-0 record, two TSIGs, a type-0 record and one cut
	 * off after its TTL */
	static const uint8_t leak[82] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 5,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		0, 0, 250, 0, 1, 0, 0, 0, 0, 0, 0,
		0, 0, 250, 0, 1, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0, 0, 0, 0,
	};

	expect_bare_formerr(leak, sizeof(leak));
}
END_TEST

START_TEST(test_one_tsig_last_is_ignored_and_two_get_formerr)
{
	uint8_t buf[512];
	struct qopt o = { .edns = true };
	size_t n = mkq("www.example.com", LDNS_RR_TYPE_A, &o, buf);

	n = add_tsig(buf, n);
	ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_FORWARD);
	ck_assert(q.edns);
	expect_bare_formerr(buf, add_tsig(buf, n));
}
END_TEST

START_TEST(test_a_pointer_loop_or_trailing_bytes_after_the_question_get_formerr)
{
	uint8_t buf[512];
	struct qopt o = { 0 };
	size_t n = mkq("www.example.com", LDNS_RR_TYPE_A, &o, buf);
	/* an answer record: owner a pointer, type A, class IN, no data */
	static const uint8_t answer[13] = { 0xc0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0 };

	memcpy(buf + n, answer, sizeof(answer));
	buf[7] = 1;
	buf[n + 1] = (uint8_t)n;        /* the owner points at itself */
	expect_bare_formerr(buf, n + 12);
	buf[n + 1] = 12;                /* the owner is the question's name */
	ck_assert_int_eq(dnsq_classify(buf, n + 12, false, &ov, &q, resp, sizeof(resp),
				       &resp_len), DNSQ_FORWARD);
	expect_bare_formerr(buf, n + 13);
}
END_TEST

START_TEST(test_recursion_not_desired_is_refused)
{
	struct qopt o = { .no_rd = true };
	ldns_pkt *p = expect_rcode("example.com", LDNS_RR_TYPE_A, &o, LDNS_RCODE_REFUSED);

	ck_assert(!ldns_pkt_rd(p));
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_zone_transfers_are_refused)
{
	struct qopt o = { 0 };

	ldns_pkt_free(expect_rcode("example.com", LDNS_RR_TYPE_AXFR, &o, LDNS_RCODE_REFUSED));
	ldns_pkt_free(expect_rcode("internal", LDNS_RR_TYPE_IXFR, &o, LDNS_RCODE_REFUSED));
}
END_TEST

START_TEST(test_chaos_and_other_classes_are_refused)
{
	struct qopt o = { .qclass = LDNS_RR_CLASS_CH };

	ldns_pkt_free(expect_rcode("version.bind", LDNS_RR_TYPE_TXT, &o, LDNS_RCODE_REFUSED));
	o.qclass = LDNS_RR_CLASS_ANY;
	ldns_pkt_free(expect_rcode("example.com", LDNS_RR_TYPE_A, &o, LDNS_RCODE_REFUSED));
}
END_TEST

START_TEST(test_the_reply_header_copies_id_rd_and_cd)
{
	struct qopt o = { .id = 0xbeef, .cd = true };
	ldns_pkt *p = expect_rcode("hidden.onion", LDNS_RR_TYPE_A, &o, LDNS_RCODE_NXDOMAIN);

	ck_assert_uint_eq(ldns_pkt_id(p), 0xbeef);
	ck_assert(ldns_pkt_rd(p));
	ck_assert(ldns_pkt_cd(p));
	ck_assert(!ldns_pkt_aa(p));
	ck_assert(!ldns_pkt_ad(p));
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_the_question_is_echoed_with_its_case)
{
	uint8_t buf[512];
	struct qopt o = { 0 };
	size_t n = mkq("WwW.HoSt.InTeRnAl", LDNS_RR_TYPE_A, &o, buf);
	struct dnsq_overlay_answer a = { .status = 0, .n4 = 1, .v4 = { { 198, 18, 0, 9 } } };

	ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_OVERLAY_NAME);
	ck_assert_str_eq(q.name, "www.host.internal");
	ck_assert_int_eq(q.zone, 0);
	ck_assert_uint_eq(q.question_len, n - 12);
	int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ck_assert_int_gt(r, 0);
	ck_assert_mem_eq(resp + 12, buf + 12, n - 12);
}
END_TEST

START_TEST(test_edns_sets_the_client_limit_and_our_opt_advertises_1232)
{
	static const uint16_t sizes[] = { 512, 1232, 4096, 100 };
	struct qopt o = { 0 };

	ck_assert_int_eq(classify_opt("example.com", LDNS_RR_TYPE_A, &o, false), DNSQ_FORWARD);
	ck_assert(!q.edns);
	ck_assert_uint_eq(q.limit, 512);
	ck_assert_int_gt(dnsq_error_response(&q, LDNS_RCODE_SERVFAIL, resp, sizeof(resp)), 0);
	ldns_pkt *p = parse(resp, 12 + q.question_len);
	ck_assert(!ldns_pkt_edns(p));
	ldns_pkt_free(p);
	for (size_t i = 0; i < 4; i++) {
		o = (struct qopt){ .edns = true, .bufsize = sizes[i], .do_bit = i % 2 };
		ck_assert_int_eq(classify_opt("example.com", LDNS_RR_TYPE_A, &o, false),
				 DNSQ_FORWARD);
		ck_assert(q.edns);
		ck_assert_uint_eq(q.limit, sizes[i] > 512 ? sizes[i] : 512);
		ck_assert(q.do_bit == (i % 2 == 1));
		int r = dnsq_error_response(&q, LDNS_RCODE_SERVFAIL, resp, sizeof(resp));
		ck_assert_int_gt(r, 0);
		p = parse(resp, (size_t)r);
		ck_assert(ldns_pkt_edns(p));
		ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), NTM_DNS_EDNS_SIZE);
		ck_assert(ldns_pkt_edns_do(p) == (i % 2 == 1));
		ldns_pkt_free(p);
	}
}
END_TEST

START_TEST(test_tcp_clients_take_65535_bytes)
{
	struct qopt o = { .edns = true, .bufsize = 4096 };

	ck_assert_int_eq(classify_opt("example.com", LDNS_RR_TYPE_A, &o, true), DNSQ_FORWARD);
	ck_assert(q.tcp);
	ck_assert_uint_eq(q.limit, 65535);
}
END_TEST

static struct dnsq_overlay_answer many_addresses(void)
{
	struct dnsq_overlay_answer a = { .status = 0, .n4 = 16, .n6 = 16 };

	for (int i = 0; i < 16; i++) {
		uint8_t v4[4] = { 198, 18, 1, (uint8_t)i };
		memcpy(a.v4[i], v4, 4);
		inet_pton(AF_INET6, "fd7a:115c:a1e0::1", a.v6[i]);
		a.v6[i][15] = (uint8_t)i;
	}
	return a;
}

START_TEST(test_an_overlay_any_answer_over_the_udp_limit_is_truncated)
{
	struct dnsq_overlay_answer a = many_addresses();

	ck_assert_int_eq(classify("big.internal", LDNS_RR_TYPE_ANY), DNSQ_OVERLAY_NAME);
	int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ck_assert_int_gt(r, 0);
	ck_assert_int_le(r, 512);
	ck_assert_int_eq(r, 12 + (int)q.question_len);
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_tc(p));
	ck_assert(ldns_pkt_aa(p));
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);

	/* with EDNS the OPT stays */
	struct qopt o = { .edns = true, .bufsize = 512 };
	ck_assert_int_eq(classify_opt("big.internal", LDNS_RR_TYPE_ANY, &o, false),
			 DNSQ_OVERLAY_NAME);
	r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ck_assert_int_eq(r, 12 + (int)q.question_len + 11);
	p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_tc(p));
	ck_assert(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* over TCP everything fits */
	ck_assert_int_eq(classify_opt("big.internal", LDNS_RR_TYPE_ANY, &o, true),
			 DNSQ_OVERLAY_NAME);
	r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 32);
	ldns_pkt_free(p);

	/* and a buffer too small for anything is an error, not an overflow */
	ck_assert_int_eq(dnsq_overlay_response(&q, &ov, &a, resp, 20), -EMSGSIZE);
}
END_TEST

START_TEST(test_overlay_a_and_aaaa_answers_are_authoritative_with_a_short_ttl)
{
	struct dnsq_overlay_answer a = { .status = 0, .n4 = 2, .v4 = { { 198, 18, 0, 1 },
								   { 198, 18, 0, 2 } } };

	ck_assert_int_eq(classify("Node.Corp.Example", LDNS_RR_TYPE_A), DNSQ_OVERLAY_NAME);
	ck_assert_int_eq(q.zone, 1);
	int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_aa(p));
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 2);
	const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 1);
	ck_assert_int_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	ck_assert_uint_eq(ldns_rr_ttl(rr), NTM_DNS_OVERLAY_TTL);
	ck_assert_mem_eq(ldns_rdf_data(ldns_rr_rdf(rr, 0)), a.v4[1], 4);
	ldns_pkt_free(p);

	/* the same name without AAAA: NODATA with the zone's SOA */
	ck_assert_int_eq(classify("node.corp.example", LDNS_RR_TYPE_AAAA), DNSQ_OVERLAY_NAME);
	r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	assert_owner(soa_in_authority(p), "corp.example.");
	ldns_pkt_free(p);

	/* and with one */
	struct dnsq_overlay_answer b = { .status = 0, .n6 = 1 };
	inet_pton(AF_INET6, "fd7a:115c:a1e0::7", b.v6[0]);
	r = dnsq_overlay_response(&q, &ov, &b, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_AAAA);
	ck_assert_mem_eq(ldns_rdf_data(ldns_rr_rdf(rr, 0)), b.v6[0], 16);
	ldns_pkt_free(p);

	/* from the stub's cache, 3 s old: TTL 2; past the TTL: 0, never wrapped */
	b.age = 3;
	r = dnsq_overlay_response(&q, &ov, &b, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), NTM_DNS_OVERLAY_TTL - 3);
	ldns_pkt_free(p);
	b.age = 60;
	r = dnsq_overlay_response(&q, &ov, &b, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_overlay_https_mx_and_txt_are_nodata_with_soa)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_HTTPS, LDNS_RR_TYPE_SVCB,
					      LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT };
	struct dnsq_overlay_answer a = many_addresses();

	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(classify("web.internal", types[i]), DNSQ_OVERLAY_NAME);
		int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
		ldns_pkt *p = parse(resp, (size_t)r);
		ck_assert(ldns_pkt_aa(p));
		ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NOERROR);
		ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
		assert_owner(soa_in_authority(p), "internal.");
		ldns_pkt_free(p);
	}
}
END_TEST

START_TEST(test_an_unknown_overlay_name_is_nxdomain_with_soa)
{
	struct dnsq_overlay_answer a = { .status = 1 };

	ck_assert_int_eq(classify("nobody.internal", LDNS_RR_TYPE_A), DNSQ_OVERLAY_NAME);
	int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NXDOMAIN);
	ck_assert(ldns_pkt_aa(p));
	const ldns_rr *soa = soa_in_authority(p);
	ck_assert_uint_eq(ldns_rr_ttl(soa), NTM_DNS_NEGATIVE_TTL);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_a_daemon_failure_is_servfail)
{
	struct dnsq_overlay_answer a = { .status = 2 };

	ck_assert_int_eq(classify("slow.internal", LDNS_RR_TYPE_AAAA), DNSQ_OVERLAY_NAME);
	int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_SERVFAIL);
	ck_assert(!ldns_pkt_aa(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_a_ptr_name_in_a_v4_prefix_decodes_to_the_address)
{
	struct dnsq_overlay_answer a = { .status = 0 };

	ck_assert_int_eq(classify("5.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_OVERLAY_ADDR);
	ck_assert_int_eq(q.af, AF_INET);
	ck_assert_mem_eq(q.addr, ((uint8_t[]){ 198, 18, 0, 5 }), 4);
	ck_assert_int_eq(classify("255.255.19.198.in-addr.arpa", LDNS_RR_TYPE_PTR),
			 DNSQ_OVERLAY_ADDR);
	ck_assert_mem_eq(q.addr, ((uint8_t[]){ 198, 19, 255, 255 }), 4);
	ck_assert_int_eq(classify("5.0.20.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);

	ck_assert_int_eq(classify("5.0.18.198.IN-ADDR.ARPA", LDNS_RR_TYPE_PTR), DNSQ_OVERLAY_ADDR);
	strcpy(a.ptr_name, "host.internal");
	int r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_aa(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_PTR);
	ldns_rdf *want = ldns_dname_new_frm_str("host.internal.");
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_rdf(rr, 0), want), 0);
	ldns_rdf_deep_free(want);
	ldns_pkt_free(p);

	/* an unknown address: NXDOMAIN with the reverse zone's SOA */
	a.status = 1;
	r = dnsq_overlay_response(&q, &ov, &a, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NXDOMAIN);
	assert_owner(soa_in_authority(p), "18.198.in-addr.arpa.");
	ldns_pkt_free(p);
}
END_TEST

static void v6_ptr_name(const char *addr, char *out)
{
	uint8_t a[16];

	inet_pton(AF_INET6, addr, a);
	out[0] = '\0';
	for (int i = 31; i >= 0; i--) {
		unsigned nib = i % 2 ? a[i / 2] & 0x0f : a[i / 2] >> 4;
		char s[3] = { "0123456789abcdef"[nib], '.', '\0' };
		strcat(out, s);
	}
	strcat(out, "ip6.arpa");
}

START_TEST(test_a_ptr_name_in_a_v6_prefix_decodes_nibble_by_nibble)
{
	char name[128];
	uint8_t want[16];

	v6_ptr_name("fd7a:115c:a1e0:ab12::3", name);
	ck_assert_int_eq(classify(name, LDNS_RR_TYPE_PTR), DNSQ_OVERLAY_ADDR);
	ck_assert_int_eq(q.af, AF_INET6);
	inet_pton(AF_INET6, "fd7a:115c:a1e0:ab12::3", want);
	ck_assert_mem_eq(q.addr, want, 16);

	/* outside the /48 but inside fd00::/8: private, not ours */
	v6_ptr_name("fd7a:115c:a1e1::3", name);
	ck_assert_int_eq(classify(name, LDNS_RR_TYPE_PTR), DNSQ_RESPOND);
	ov.refuse_private_reverse = false;
	ck_assert_int_eq(classify(name, LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
	v6_ptr_name("2001:db9::1", name);
	ck_assert_int_eq(classify(name, LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
}
END_TEST

/* A whole address outside the overlay's prefixes (a federated peer's,
 * perhaps) keeps its classification but carries the address for the
 * names map; partial names, other types and overlay addresses do not. */
START_TEST(test_a_ptr_of_a_whole_address_outside_the_prefixes_carries_it)
{
	char name[128];
	uint8_t want[16];

	ck_assert_int_eq(classify("7.0.20.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
	ck_assert(q.ptr_other);
	ck_assert_int_eq(q.af, AF_INET);
	ck_assert_mem_eq(q.addr, ((uint8_t[]){ 198, 20, 0, 7 }), 4);
	/* a private one: NXDOMAIN as classified, the address carried still */
	ck_assert_int_eq(classify("1.0.168.192.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_RESPOND);
	ck_assert(q.ptr_other);
	ck_assert_mem_eq(q.addr, ((uint8_t[]){ 192, 168, 0, 1 }), 4);
	v6_ptr_name("2001:db9::1", name);
	ck_assert_int_eq(classify(name, LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
	ck_assert(q.ptr_other);
	ck_assert_int_eq(q.af, AF_INET6);
	inet_pton(AF_INET6, "2001:db9::1", want);
	ck_assert_mem_eq(q.addr, want, 16);
	/* not whole, not a PTR, or ours: nothing carried */
	ck_assert_int_eq(classify("0.20.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
	ck_assert(!q.ptr_other);
	ck_assert_int_eq(classify("7.0.20.198.in-addr.arpa", LDNS_RR_TYPE_TXT), DNSQ_FORWARD);
	ck_assert(!q.ptr_other);
	ck_assert_int_eq(classify("x.0.20.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
	ck_assert(!q.ptr_other);
	ck_assert_int_eq(classify("5.0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_OVERLAY_ADDR);
	ck_assert(!q.ptr_other);
}
END_TEST

START_TEST(test_partial_and_invalid_ptr_names_are_answered_locally)
{
	ldns_pkt *p;
	char name[128];

	/* above a full address: an empty non-terminal, NODATA (RFC 8020) */
	ck_assert_int_eq(classify("0.18.198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_RESPOND);
	p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_aa(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	assert_owner(soa_in_authority(p), "18.198.in-addr.arpa.");
	ldns_pkt_free(p);

	static const char *const bad[] = {
		"x.0.18.198.in-addr.arpa", "1.5.0.18.198.in-addr.arpa",
		"256.0.18.198.in-addr.arpa", "05.0.18.198.in-addr.arpa",
		"a.b.5.0.19.198.in-addr.arpa",
	};
	for (size_t i = 0; i < 5; i++) {
		ck_assert_int_eq(classify(bad[i], LDNS_RR_TYPE_PTR), DNSQ_RESPOND);
		p = parse_resp();
		ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NXDOMAIN);
		soa_in_authority(p);
		ldns_pkt_free(p);
	}
	v6_ptr_name("fd7a:115c:a1e0::3", name);
	name[0] = 'g';
	ck_assert_int_eq(classify(name, LDNS_RR_TYPE_PTR), DNSQ_RESPOND);
	p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);

	/* a full address with another type: NODATA, never forwarded */
	ck_assert_int_eq(classify("5.0.18.198.in-addr.arpa", LDNS_RR_TYPE_TXT), DNSQ_RESPOND);
	p = parse_resp();
	ck_assert_int_eq(rcode_of(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);

	/* a zone above the prefix's zones is not ours */
	ck_assert_int_eq(classify("198.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
}
END_TEST

START_TEST(test_the_apex_soa_and_ns_are_answered_locally)
{
	ldns_pkt *p;

	ck_assert_int_eq(classify("Internal", LDNS_RR_TYPE_SOA), DNSQ_RESPOND);
	p = parse_resp();
	ck_assert(ldns_pkt_aa(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	const ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 1);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), NTM_DNS_NEGATIVE_TTL);
	ldns_pkt_free(p);

	ck_assert_int_eq(classify("corp.example", LDNS_RR_TYPE_NS), DNSQ_RESPOND);
	p = parse_resp();
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
			 LDNS_RR_TYPE_NS);
	ldns_pkt_free(p);

	ck_assert_int_eq(classify("18.198.in-addr.arpa", LDNS_RR_TYPE_SOA), DNSQ_RESPOND);
	p = parse_resp();
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	/* other apex types go to the daemon; a lookalike zone is not ours */
	ck_assert_int_eq(classify("internal", LDNS_RR_TYPE_A), DNSQ_OVERLAY_NAME);
	ck_assert_int_eq(classify("xinternal.com", LDNS_RR_TYPE_A), DNSQ_FORWARD);
	ck_assert_int_eq(classify("example", LDNS_RR_TYPE_SOA), DNSQ_FORWARD);
}
END_TEST

START_TEST(test_onion_and_single_label_names_are_nxdomain)
{
	struct qopt o = { 0 };

	ldns_pkt_free(expect_rcode("abc.onion", LDNS_RR_TYPE_A, &o, LDNS_RCODE_NXDOMAIN));
	ldns_pkt_free(expect_rcode("onion", LDNS_RR_TYPE_AAAA, &o, LDNS_RCODE_NXDOMAIN));
	ldns_pkt_free(expect_rcode("printer", LDNS_RR_TYPE_A, &o, LDNS_RCODE_NXDOMAIN));
	ldns_pkt_free(expect_rcode("printer", LDNS_RR_TYPE_ANY, &o, LDNS_RCODE_NXDOMAIN));
	/* the root and TLD infrastructure stay resolvable */
	ck_assert_int_eq(classify(".", LDNS_RR_TYPE_NS), DNSQ_FORWARD);
	ck_assert_int_eq(classify("com", LDNS_RR_TYPE_DS), DNSQ_FORWARD);
}
END_TEST

START_TEST(test_private_reverse_zones_are_nxdomain_only_when_asked)
{
	struct qopt o = { 0 };

	ldns_pkt_free(expect_rcode("1.0.168.192.in-addr.arpa", LDNS_RR_TYPE_PTR, &o,
				   LDNS_RCODE_NXDOMAIN));
	ldns_pkt_free(expect_rcode("9.9.65.100.in-addr.arpa", LDNS_RR_TYPE_PTR, &o,
				   LDNS_RCODE_NXDOMAIN));
	ldns_pkt_free(expect_rcode("1.0.0.31.172.in-addr.arpa", LDNS_RR_TYPE_PTR, &o,
				   LDNS_RCODE_NXDOMAIN));
	ck_assert_int_eq(classify("1.0.0.32.172.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
	ov.refuse_private_reverse = false;
	ck_assert_int_eq(classify("1.0.168.192.in-addr.arpa", LDNS_RR_TYPE_PTR), DNSQ_FORWARD);
}
END_TEST

START_TEST(test_the_upstream_query_has_a_new_id_and_our_own_opt)
{
	struct qopt o = { .edns = true, .bufsize = 4096, .do_bit = true, .cd = true };
	uint8_t out[512];

	ck_assert_int_eq(classify_opt("WWW.Example.COM", LDNS_RR_TYPE_AAAA, &o, false),
			 DNSQ_FORWARD);
	int r = dnsq_upstream_query(&q, 0x4242, true, out, sizeof(out));
	ck_assert_int_gt(r, 0);
	ck_assert_mem_eq(out + 12, q.question, q.question_len);
	ldns_pkt *p = parse(out, (size_t)r);
	ck_assert_uint_eq(ldns_pkt_id(p), 0x4242);
	ck_assert(!ldns_pkt_qr(p));
	ck_assert(ldns_pkt_rd(p));
	ck_assert(ldns_pkt_cd(p));
	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), NTM_DNS_EDNS_SIZE);
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	ldns_pkt_free(p);

	r = dnsq_upstream_query(&q, 0x4343, false, out, sizeof(out));
	ck_assert_int_eq(r, 12 + (int)q.question_len);
	p = parse(out, (size_t)r);
	ck_assert(!ldns_pkt_edns(p));
	ldns_pkt_free(p);
	ck_assert_int_eq(dnsq_upstream_query(&q, 1, true, out, 16), -EMSGSIZE);
}
END_TEST

/* An upstream reply to q: id, question name (as given), answer records. */
static size_t mkreply(uint16_t id, const char *qname, ldns_rr_type qtype, int rcode,
		      const char *const *answers, const char *const *auth, bool edns,
		      uint8_t *buf, size_t cap)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype,
					 LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (size_t i = 0; answers && answers[i]; i++) {
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, answers[i], 0, NULL, NULL),
				 LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (size_t i = 0; auth && auth[i]; i++) {
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, auth[i], 0, NULL, NULL),
				 LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, 4096);
		ldns_pkt_set_edns_do(p, true);
	}
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	ck_assert_uint_le(n, cap);
	memcpy(buf, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

START_TEST(test_match_accepts_only_the_right_id_question_and_qr)
{
	uint8_t rep[1024];
	size_t n;
	static const char *const an[] = { "www.example.com. 300 IN A 192.0.2.1", NULL };

	ck_assert_int_eq(classify("WWW.Example.COM", LDNS_RR_TYPE_A), DNSQ_FORWARD);
	n = mkreply(7, "www.example.com", LDNS_RR_TYPE_A, 0, an, NULL, false, rep, sizeof(rep));
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n), 0);
	ck_assert_int_eq(dnsq_upstream_match(&q, 8, rep, n), -EBADMSG);
	rep[2] &= 0x7f;
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n), -EBADMSG);
	n = mkreply(7, "www.example.org", LDNS_RR_TYPE_A, 0, an, NULL, false, rep, sizeof(rep));
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n), -EBADMSG);
	n = mkreply(7, "www.example.com", LDNS_RR_TYPE_AAAA, 0, NULL, NULL, false, rep,
		    sizeof(rep));
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n), -EBADMSG);
	n = mkreply(7, "www.example.com", LDNS_RR_TYPE_A, 0, an, NULL, false, rep, sizeof(rep));
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n - 1), -EBADMSG);
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, 11), -EBADMSG);
	/* a FORMERR without a question still answers us (EDNS retry) */
	uint8_t formerr[12] = { 0, 7, 0x81, 0x81 };
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, formerr, 12), 0);
	formerr[3] = 0x80;
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, formerr, 12), -EBADMSG);
}
END_TEST

START_TEST(test_an_upstream_reply_with_two_tsigs_never_reaches_ldns)
{
	uint8_t rep[1024];
	static const char *const an[] = { "www.example.com. 300 IN A 192.0.2.1", NULL };

	ck_assert_int_eq(classify("www.example.com", LDNS_RR_TYPE_A), DNSQ_FORWARD);
	size_t n = mkreply(7, "www.example.com", LDNS_RR_TYPE_A, 0, an, NULL, false, rep,
			   sizeof(rep));
	n = add_tsig(rep, n);
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n), 0);
	n = add_tsig(rep, n);
	ck_assert_int_eq(dnsq_upstream_match(&q, 7, rep, n), -EBADMSG);
	ck_assert_int_eq(dnsq_client_response(&q, rep, n, 0, resp, sizeof(resp)), -EBADMSG);
	ck_assert_int_eq(dnsq_cache_ttl(rep, n), -1);
}
END_TEST

START_TEST(test_the_client_response_restores_id_and_case_and_ages_ttls)
{
	uint8_t buf[512], rep[1024];
	struct qopt o = { .id = 0xaaaa };
	size_t qn = mkq("WWW.Example.COM", LDNS_RR_TYPE_A, &o, buf);
	static const char *const an[] = { "www.example.com. 300 IN A 192.0.2.1",
					  "www.example.com. 30 IN A 192.0.2.2", NULL };
	static const char *const ns[] = { "example.com. 100 IN NS ns.example.com.", NULL };

	ck_assert_int_eq(dnsq_classify(buf, qn, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_FORWARD);
	size_t n = mkreply(9, "www.example.com", LDNS_RR_TYPE_A, 0, an, ns, true, rep,
			   sizeof(rep));
	int r = dnsq_client_response(&q, rep, n, 50, resp, sizeof(resp));
	ck_assert_int_gt(r, 0);
	ck_assert_mem_eq(resp + 12, buf + 12, qn - 12);
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert_uint_eq(ldns_pkt_id(p), 0xaaaa);
	ck_assert(!ldns_pkt_edns(p));   /* the client sent no OPT */
	ck_assert_uint_eq(ldns_pkt_ancount(p), 2);
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 250);
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 1)), 0);
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 50);
	ldns_pkt_free(p);

	/* a client with OPT gets ours, DO as it asked */
	o.edns = true;
	qn = mkq("WWW.Example.COM", LDNS_RR_TYPE_A, &o, buf);
	ck_assert_int_eq(dnsq_classify(buf, qn, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_FORWARD);
	r = dnsq_client_response(&q, rep, n, 0, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), NTM_DNS_EDNS_SIZE);
	ck_assert(!ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 300);
	ldns_pkt_free(p);

	/* DO as the client asked, and never AA for forwarded data */
	o.do_bit = true;
	qn = mkq("WWW.Example.COM", LDNS_RR_TYPE_A, &o, buf);
	ck_assert_int_eq(dnsq_classify(buf, qn, false, &ov, &q, resp, sizeof(resp), &resp_len),
			 DNSQ_FORWARD);
	rep[2] |= 0x04;
	r = dnsq_client_response(&q, rep, n, 0, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert(!ldns_pkt_aa(p));
	ck_assert(ldns_pkt_ra(p));
	ldns_pkt_free(p);

	ck_assert_int_eq(dnsq_client_response(&q, rep, 11, 0, resp, sizeof(resp)), -EBADMSG);
	ck_assert_int_eq(dnsq_client_response(&q, rep, n - 2, 0, resp, sizeof(resp)), -EBADMSG);
	ck_assert_int_eq(dnsq_client_response(&q, rep, n, 0, resp, 20), -EMSGSIZE);
}
END_TEST

START_TEST(test_a_big_upstream_reply_is_truncated_for_udp_clients)
{
	uint8_t rep[8192];
	char *an[81];
	char text[80][64];

	for (int i = 0; i < 80; i++) {
		snprintf(text[i], sizeof(text[i]), "big.example.com. 60 IN AAAA 2001:db8::%x", i);
		an[i] = text[i];
	}
	an[80] = NULL;
	ck_assert_int_eq(classify("big.example.com", LDNS_RR_TYPE_AAAA), DNSQ_FORWARD);
	size_t n = mkreply(1, "big.example.com", LDNS_RR_TYPE_AAAA, 0, (const char *const *)an,
			   NULL, false, rep, sizeof(rep));
	ck_assert_uint_gt(n, 1232);
	int r = dnsq_client_response(&q, rep, n, 0, resp, sizeof(resp));
	ck_assert_int_eq(r, 12 + (int)q.question_len);
	ldns_pkt *p = parse(resp, (size_t)r);
	ck_assert(ldns_pkt_tc(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);

	struct qopt o = { .edns = true, .bufsize = 4096 };
	ck_assert_int_eq(classify_opt("big.example.com", LDNS_RR_TYPE_AAAA, &o, false),
			 DNSQ_FORWARD);
	r = dnsq_client_response(&q, rep, n, 0, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 80);
	ldns_pkt_free(p);

	ck_assert_int_eq(classify_opt("big.example.com", LDNS_RR_TYPE_AAAA, &o, true),
			 DNSQ_FORWARD);
	r = dnsq_client_response(&q, rep, n, 0, resp, sizeof(resp));
	p = parse(resp, (size_t)r);
	ck_assert(!ldns_pkt_tc(p));
	ldns_pkt_free(p);
}
END_TEST

START_TEST(test_the_cache_ttl_is_the_smallest_ttl_or_the_soa_minimum)
{
	uint8_t rep[1024];
	static const char *const an[] = { "a.example.com. 300 IN A 192.0.2.1",
					  "a.example.com. 120 IN A 192.0.2.2", NULL };
	static const char *const ns[] = { "example.com. 200 IN NS ns.example.com.", NULL };
	static const char *const soa[] = {
		"example.com. 3600 IN SOA ns.example.com. h.example.com. 1 2 3 4 60", NULL };
	static const char *const soa_short[] = {
		"example.com. 30 IN SOA ns.example.com. h.example.com. 1 2 3 4 60", NULL };
	size_t n;

	n = mkreply(1, "a.example.com", LDNS_RR_TYPE_A, 0, an, ns, false, rep, sizeof(rep));
	ck_assert_int_eq(dnsq_cache_ttl(rep, n), 120);
	n = mkreply(1, "a.example.com", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, soa, false,
		    rep, sizeof(rep));
	ck_assert_int_eq(dnsq_cache_ttl(rep, n), 60);
	n = mkreply(1, "a.example.com", LDNS_RR_TYPE_TXT, 0, NULL, soa_short, true, rep,
		    sizeof(rep));
	ck_assert_int_eq(dnsq_cache_ttl(rep, n), 30);
	n = mkreply(1, "a.example.com", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, NULL, false,
		    rep, sizeof(rep));
	ck_assert_int_eq(dnsq_cache_ttl(rep, n), -1);
	n = mkreply(1, "a.example.com", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, NULL, soa, false,
		    rep, sizeof(rep));
	ck_assert_int_eq(dnsq_cache_ttl(rep, n), -1);
	ck_assert_int_eq(dnsq_cache_ttl(rep, 5), -1);
}
END_TEST

START_TEST(test_every_truncation_of_valid_queries_is_handled)
{
	static const char *const names[] = { "www.example.com", "a.internal", "internal",
					     "5.0.18.198.in-addr.arpa", "x.onion" };
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_SOA,
					      LDNS_RR_TYPE_PTR, LDNS_RR_TYPE_AAAA };
	uint8_t buf[512], out[512], rep[1024];
	static const char *const an[] = { "www.example.com. 300 IN A 192.0.2.1", NULL };

	for (size_t i = 0; i < 5; i++) {
		struct qopt o = { .edns = i % 2, .do_bit = true };
		size_t n = mkq(names[i], types[i], &o, buf);
		for (size_t cut = 0; cut <= n; cut++) {
			enum dnsq_kind k = dnsq_classify(buf, cut, i % 2, &ov, &q, resp,
							 sizeof(resp), &resp_len);
			if (cut < 12)
				ck_assert_int_eq(k, DNSQ_DROP);
			else if (cut < n)
				ck_assert_int_eq(k, DNSQ_RESPOND);
			if (k == DNSQ_RESPOND) {
				ldns_pkt_free(parse_resp());
				/* and with a response buffer far too small */
				ck_assert_int_eq(dnsq_classify(buf, cut, false, &ov, &q, out, 11,
							       &resp_len), DNSQ_DROP);
			}
		}
	}
	ck_assert_int_eq(classify("www.example.com", LDNS_RR_TYPE_A), DNSQ_FORWARD);
	size_t n = mkreply(3, "www.example.com", LDNS_RR_TYPE_A, 0, an, NULL, true, rep,
			   sizeof(rep));
	for (size_t cut = 0; cut < n; cut++) {
		ck_assert_int_eq(dnsq_upstream_match(&q, 3, rep, cut), -EBADMSG);
		ck_assert_int_eq(dnsq_client_response(&q, rep, cut, 0, resp, sizeof(resp)),
				 -EBADMSG);
		ck_assert_int_eq(dnsq_cache_ttl(rep, cut), -1);
	}
}
END_TEST

static Suite *dnsq_suite(void)
{
	Suite *s = suite_create("dnsq");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_a_response_from_a_client_is_dropped);
	tcase_add_test(tc, test_a_message_shorter_than_a_header_is_dropped);
	tcase_add_test(tc, test_an_opcode_other_than_query_gets_notimp_with_the_opcode_echoed);
	tcase_add_test(tc, test_two_questions_or_none_get_formerr);
	tcase_add_test(tc, test_a_question_cut_short_gets_formerr);
	tcase_add_test(tc, test_a_compressed_question_name_gets_formerr);
	tcase_add_test(tc, test_edns_version_1_gets_badvers_with_an_opt);
	tcase_add_test(tc, test_two_opt_records_get_formerr);
	tcase_add_test(tc, test_the_query_that_leaked_inside_ldns_gets_formerr);
	tcase_add_test(tc, test_one_tsig_last_is_ignored_and_two_get_formerr);
	tcase_add_test(tc, test_a_pointer_loop_or_trailing_bytes_after_the_question_get_formerr);
	tcase_add_test(tc, test_recursion_not_desired_is_refused);
	tcase_add_test(tc, test_zone_transfers_are_refused);
	tcase_add_test(tc, test_chaos_and_other_classes_are_refused);
	tcase_add_test(tc, test_the_reply_header_copies_id_rd_and_cd);
	tcase_add_test(tc, test_the_question_is_echoed_with_its_case);
	tcase_add_test(tc, test_edns_sets_the_client_limit_and_our_opt_advertises_1232);
	tcase_add_test(tc, test_tcp_clients_take_65535_bytes);
	tcase_add_test(tc, test_an_overlay_any_answer_over_the_udp_limit_is_truncated);
	tcase_add_test(tc, test_overlay_a_and_aaaa_answers_are_authoritative_with_a_short_ttl);
	tcase_add_test(tc, test_overlay_https_mx_and_txt_are_nodata_with_soa);
	tcase_add_test(tc, test_an_unknown_overlay_name_is_nxdomain_with_soa);
	tcase_add_test(tc, test_a_daemon_failure_is_servfail);
	tcase_add_test(tc, test_a_ptr_name_in_a_v4_prefix_decodes_to_the_address);
	tcase_add_test(tc, test_a_ptr_name_in_a_v6_prefix_decodes_nibble_by_nibble);
	tcase_add_test(tc, test_a_ptr_of_a_whole_address_outside_the_prefixes_carries_it);
	tcase_add_test(tc, test_partial_and_invalid_ptr_names_are_answered_locally);
	tcase_add_test(tc, test_the_apex_soa_and_ns_are_answered_locally);
	tcase_add_test(tc, test_onion_and_single_label_names_are_nxdomain);
	tcase_add_test(tc, test_private_reverse_zones_are_nxdomain_only_when_asked);
	tcase_add_test(tc, test_the_upstream_query_has_a_new_id_and_our_own_opt);
	tcase_add_test(tc, test_match_accepts_only_the_right_id_question_and_qr);
	tcase_add_test(tc, test_an_upstream_reply_with_two_tsigs_never_reaches_ldns);
	tcase_add_test(tc, test_the_client_response_restores_id_and_case_and_ages_ttls);
	tcase_add_test(tc, test_a_big_upstream_reply_is_truncated_for_udp_clients);
	tcase_add_test(tc, test_the_cache_ttl_is_the_smallest_ttl_or_the_soa_minimum);
	tcase_add_test(tc, test_every_truncation_of_valid_queries_is_handled);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnsq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
