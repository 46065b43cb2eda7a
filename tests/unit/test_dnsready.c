/* test_dnsready.c - the stub's fast paths against its ldns paths:
 *  - the fast query parser (resolver/dnsq.c parse_fast, through
 *    dnsq_parse_fast and dnsq_classify) takes plain queries only, and
 *    classifies every query exactly as dnsq_classify_slow does;
 *  - ready replies (resolver/dnsready.c): a hit's response, patched from
 *    the stored bytes, equals byte for byte what dnsq_client_response and
 *    dnsq_overlay_response build for the same client and age: ID, flags,
 *    the question's case, TTLs aged in every section but OPT's flags left
 *    alone, the client's EDNS, truncation.
 * Queries are written byte by byte (so odd ones can be made); upstream
 * replies with ldns. */
/* stdbool.h before ldns: without it ldns/common.h defines _Bool as
 * signed char, and struct dnsq would differ between files. */
#include <stdbool.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dnsq.h"
#include "dnsready.h"

static struct dnsq_overlay ov;
static uint8_t resp[65536], slow[65536], full[65536], ready[DNSREADY_MAX(65535)];

static void setup(void)
{
	memset(&ov, 0, sizeof(ov));
	ov.nzones = 1;
	strcpy(ov.zones[0], "internal");
	ov.nprefix4 = 1;
	ov.prefix4[0].addr[0] = 198;
	ov.prefix4[0].addr[1] = 18;
	ov.prefix4[0].plen = 15;
}

/* How a raw query is written. */
struct qo {
	uint16_t id;
	bool no_rd, cd, edns, do_bit;
	uint16_t size;          /* OPT's UDP size (0: 1232) */
	uint8_t version;
	uint16_t optlen;        /* bytes of (zero) options in OPT */
};

static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		p[o++] = (uint8_t)n;
		memcpy(p + o, name, n);
		o += n;
		name += n + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

/* A query for name (dotted, case kept) and type, as bytes. */
static size_t rawq(const char *name, uint16_t type, const struct qo *o, uint8_t *buf)
{
	size_t n = 12;

	memset(buf, 0, 12);
	buf[0] = (uint8_t)(o->id >> 8);
	buf[1] = (uint8_t)o->id;
	buf[2] = o->no_rd ? 0 : 0x01;
	buf[3] = o->cd ? 0x10 : 0;
	buf[5] = 1;
	n += put_name(buf + n, name);
	buf[n++] = (uint8_t)(type >> 8);
	buf[n++] = (uint8_t)type;
	buf[n++] = 0;
	buf[n++] = 1;
	if (o->edns) {
		uint16_t sz = o->size ? o->size : 1232;
		buf[11] = 1;
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = 41;
		buf[n++] = (uint8_t)(sz >> 8);
		buf[n++] = (uint8_t)sz;
		buf[n++] = 0;
		buf[n++] = o->version;
		buf[n++] = o->do_bit ? 0x80 : 0;
		buf[n++] = 0;
		buf[n++] = (uint8_t)(o->optlen >> 8);
		buf[n++] = (uint8_t)o->optlen;
		memset(buf + n, 0, o->optlen);
		n += o->optlen;
	}
	return n;
}

/* The parsed query of both paths must agree field by field. */
static void same_dnsq(const struct dnsq *a, const struct dnsq *b)
{
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->opcode, b->opcode);
	ck_assert_uint_eq(a->qtype, b->qtype);
	ck_assert_uint_eq(a->qclass, b->qclass);
	ck_assert_int_eq(a->rd, b->rd);
	ck_assert_int_eq(a->cd, b->cd);
	ck_assert_int_eq(a->edns, b->edns);
	ck_assert_int_eq(a->do_bit, b->do_bit);
	ck_assert_uint_eq(a->limit, b->limit);
	ck_assert_int_eq(a->tcp, b->tcp);
	ck_assert_uint_eq(a->qname_len, b->qname_len);
	ck_assert_mem_eq(a->qname, b->qname, a->qname_len);
	ck_assert_str_eq(a->name, b->name);
	ck_assert_uint_eq(a->question_len, b->question_len);
	ck_assert_mem_eq(a->question, b->question, a->question_len);
	ck_assert_int_eq(a->af, b->af);
	ck_assert_mem_eq(a->addr, b->addr, 16);
	ck_assert_int_eq(a->zone, b->zone);
	ck_assert_uint_eq(a->apex_off, b->apex_off);
}

/* Classify wire both ways (UDP and TCP): same kind, same response, same
 * query. Returns whether the fast parser took it. */
static bool differential(const uint8_t *wire, size_t len)
{
	struct dnsq qf, qs;
	bool taken = false;

	for (int tcp = 0; tcp <= 1; tcp++) {
		size_t lf = 0, ls = 0;
		enum dnsq_kind kf = dnsq_classify(wire, len, tcp, &ov, &qf, resp, sizeof(resp), &lf);
		enum dnsq_kind ks = dnsq_classify_slow(wire, len, tcp, &ov, &qs, slow, sizeof(slow), &ls);
		ck_assert_int_eq(kf, ks);
		ck_assert_uint_eq(lf, ls);
		ck_assert_mem_eq(resp, slow, lf);
		same_dnsq(&qf, &qs);
		taken = dnsq_parse_fast(wire, len, tcp, &qf);
	}
	return taken;
}

START_TEST(test_plain_queries_take_the_fast_path_and_classify_the_same)
{
	uint8_t buf[600];
	static const char *const names[] = { "www.example.com", "WwW.ExAmPlE.CoM", "b.internal",
		"B.Internal", "internal", "x.onion", "localhost", "2.0.18.198.in-addr.arpa",
		"x.0.18.198.in-addr.arpa", "a\\b.example" };
	static const uint16_t types[] = { 1, 28, 12, 6, 2, 65, 255, 252 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			for (int v = 0; v < 6; v++) {
				struct qo o = { .id = (uint16_t)(i * 100 + t), .edns = v >= 2,
						.do_bit = v == 3, .cd = v == 4, .no_rd = v == 1,
						.size = v == 5 ? 100 : 4096 };
				size_t n = rawq(names[i], types[t], &o, buf);
				ck_assert(differential(buf, n));
			}
}
END_TEST

START_TEST(test_opt_variants_the_fast_parser_reads_or_leaves)
{
	uint8_t buf[600];
	struct dnsq q;
	struct qo o = { .edns = true, .size = 4096, .do_bit = true };
	size_t n = rawq("www.example.com", 1, &o, buf);

	ck_assert(dnsq_parse_fast(buf, n, false, &q));
	ck_assert(q.edns && q.do_bit);
	ck_assert_uint_eq(q.limit, 4096);
	ck_assert(dnsq_parse_fast(buf, n, true, &q));
	ck_assert_uint_eq(q.limit, 65535);
	/* a small UDP size is 512 */
	o.size = 100;
	n = rawq("www.example.com", 1, &o, buf);
	ck_assert(dnsq_parse_fast(buf, n, false, &q));
	ck_assert_uint_eq(q.limit, 512);
	/* options are skipped, not read */
	o.optlen = 8;
	n = rawq("www.example.com", 1, &o, buf);
	ck_assert(differential(buf, n));
	/* RDLENGTH longer or shorter than what follows: the ldns way */
	buf[n - 9] = 9;
	ck_assert(!differential(buf, n));
	buf[n - 9] = 7;
	ck_assert(!differential(buf, n));
	/* version 1: BADVERS, from the ldns path */
	o.optlen = 0;
	o.version = 1;
	n = rawq("www.example.com", 1, &o, buf);
	ck_assert(!differential(buf, n));
	/* not owned by the root */
	o.version = 0;
	n = rawq("www.example.com", 1, &o, buf);
	memmove(buf + n - 10, buf + n - 11, 11);
	buf[n - 11] = 0xc0;
	buf[n - 10] = 12;
	ck_assert(!differential(buf, n + 1));
	/* an additional record that is not OPT */
	n = rawq("www.example.com", 1, &o, buf);
	buf[n - 9] = 1;
	ck_assert(!differential(buf, n));
}
END_TEST

START_TEST(test_odd_queries_go_the_ldns_way)
{
	uint8_t buf[600];
	struct qo o = { .id = 7 };
	size_t n = rawq("www.example.com", 1, &o, buf);

	/* a compression pointer in the question (to a copy of the name
	 * placed after it would be forward; point into the header instead,
	 * and at the question's own start) */
	uint8_t p[64];
	memcpy(p, buf, 12);
	p[12] = 3; memcpy(p + 13, "www", 3);
	p[16] = 0xc0; p[17] = 12;
	p[18] = 0; p[19] = 1; p[20] = 0; p[21] = 1;
	ck_assert(!differential(p, 22));
	p[17] = 2;
	ck_assert(!differential(p, 22));
	/* trailing bytes */
	buf[n] = 0;
	ck_assert(!differential(buf, n + 1));
	/* a response, another opcode, two questions, an answer record */
	uint8_t b2[600];
	memcpy(b2, buf, n);
	b2[2] |= 0x80;
	ck_assert(!differential(b2, n));
	memcpy(b2, buf, n);
	b2[2] |= 0x10;
	ck_assert(!differential(b2, n));
	memcpy(b2, buf, n);
	b2[5] = 2;
	ck_assert(!differential(b2, n));
	memcpy(b2, buf, n);
	b2[7] = 1;
	ck_assert(!differential(b2, n));
	memcpy(b2, buf, n);
	b2[9] = 1;
	ck_assert(!differential(b2, n));
	/* a label of type 01 and an over-long label */
	memcpy(b2, buf, n);
	b2[12] = 0x43;
	ck_assert(!differential(b2, n));
	/* every cut of a plain query and of one with OPT */
	for (size_t i = 0; i < n; i++)
		ck_assert(!differential(buf, i));
	o.edns = true;
	n = rawq("www.example.com", 1, &o, buf);
	for (size_t i = 0; i < n; i++)
		ck_assert(!differential(buf, i));
	ck_assert(differential(buf, n));
}
END_TEST

/* An upstream reply: answer, authority and additional records, OPT. */
static size_t mkreply(const char *qname, uint16_t qtype, int rcode, const char *const *an,
		      const char *const *ns, const char *const *ar, uint8_t *buf, size_t cap)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype, LDNS_RR_CLASS_IN,
					 LDNS_RD);
	const char *const *sec[3] = { an, ns, ar };
	static const ldns_pkt_section sn[3] = { LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
						LDNS_SECTION_ADDITIONAL };
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_pkt_set_id(p, 99);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_ad(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (int s = 0; s < 3; s++)
		for (size_t i = 0; sec[s] && sec[s][i]; i++) {
			ldns_rr *rr = NULL;
			ck_assert_int_eq(ldns_rr_new_frm_str(&rr, sec[s][i], 0, NULL, NULL),
					 LDNS_STATUS_OK);
			ldns_pkt_push_rr(p, sn[s], rr);
		}
	ldns_pkt_set_edns_udp_size(p, 4096);
	ldns_pkt_set_edns_do(p, true);
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	ck_assert_uint_le(n, cap);
	memcpy(buf, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

/* The ready reply of rep as the stub makes it (for q, with EDNS and no
 * size limit); returns its length. */
static size_t make_ready(const struct dnsq *q, const uint8_t *rep, size_t n)
{
	struct dnsq f = *q;

	f.edns = true;
	f.limit = 65535;
	int fn = dnsq_client_response(&f, rep, n, 0, full, sizeof(full));
	ck_assert_int_gt(fn, 0);
	int m = dnsready_make(full, (size_t)fn, DNSREADY_AGE_ALL, ready, sizeof(ready));
	ck_assert_int_gt(m, 0);
	return (size_t)m;
}

/* Patched equals built, for q at age. Returns the length. */
static int patched_equals_built(const uint8_t *rdy, size_t rlen, const struct dnsq *q,
				const uint8_t *rep, size_t n, uint32_t age)
{
	int a = dnsready_patch(rdy, rlen, q, age, resp, sizeof(resp));
	int b = dnsq_client_response(q, rep, n, age, slow, sizeof(slow));

	ck_assert_int_gt(b, 0);
	ck_assert_int_eq(a, b);
	ck_assert_mem_eq(resp, slow, (size_t)a);
	return a;
}

static void classify_q(const char *name, uint16_t type, const struct qo *o, struct dnsq *q)
{
	uint8_t buf[600];
	size_t rl;
	size_t n = rawq(name, type, o, buf);

	ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, q, resp, sizeof(resp), &rl),
			 DNSQ_FORWARD);
}

static uint32_t ttl_at(const ldns_rr_list *l, size_t i)
{
	return ldns_rr_ttl(ldns_rr_list_rr(l, i));
}

START_TEST(test_a_hit_ages_every_section_but_not_opt_and_restores_id_and_case)
{
	uint8_t rep[2048];
	static const char *const an[] = { "www.example.com. 300 IN CNAME web.example.com.",
					  "web.example.com. 30 IN A 192.0.2.1", NULL };
	static const char *const ns[] = { "example.com. 100 IN NS ns.example.com.", NULL };
	static const char *const ar[] = { "ns.example.com. 200 IN A 192.0.2.53", NULL };
	struct qo o = { .id = 1, .edns = true, .do_bit = true };
	struct dnsq q1, q2;

	classify_q("www.example.com", 1, &o, &q1);
	size_t n = mkreply("www.example.com", 1, 0, an, ns, ar, rep, sizeof(rep));
	size_t rl = make_ready(&q1, rep, n);

	o.id = 0xbeef;
	classify_q("WwW.eXaMpLe.CoM", 1, &o, &q2);
	int r = patched_equals_built(ready, rl, &q2, rep, n, 50);
	ldns_pkt *p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&p, resp, (size_t)r), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(p), 0xbeef);
	ck_assert_mem_eq(resp + 12, q2.question, q2.question_len);
	ck_assert_uint_eq(ttl_at(ldns_pkt_answer(p), 0), 250);
	ck_assert_uint_eq(ttl_at(ldns_pkt_answer(p), 1), 0);    /* never below 0 */
	ck_assert_uint_eq(ttl_at(ldns_pkt_authority(p), 0), 50);
	ck_assert_uint_eq(ttl_at(ldns_pkt_additional(p), 0), 150);
	/* OPT's TTL field is extended RCODE, version and flags: untouched */
	ck_assert(ldns_pkt_edns(p));
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_edns_version(p), 0);
	ck_assert_uint_eq(ldns_pkt_edns_extended_rcode(p), 0);
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), NTM_DNS_EDNS_SIZE);
	ck_assert(ldns_pkt_ad(p));
	ck_assert(!ldns_pkt_aa(p));
	ldns_pkt_free(p);
	/* the ready reply itself is unchanged by a hit */
	r = patched_equals_built(ready, rl, &q2, rep, n, 0);
	/* a client without EDNS, one with CD, one without RD: the same way */
	struct qo o2 = { .id = 3 };
	classify_q("www.example.COM", 1, &o2, &q2);
	patched_equals_built(ready, rl, &q2, rep, n, 7);
	ck_assert_uint_eq(resp[11], 1);         /* the additional A, no OPT */
	o2.cd = true;
	classify_q("www.example.com", 1, &o2, &q2);
	patched_equals_built(ready, rl, &q2, rep, n, 7);
	q2.rd = false;
	patched_equals_built(ready, rl, &q2, rep, n, 7);
}
END_TEST

START_TEST(test_a_hit_over_the_clients_limit_is_the_bare_question_with_tc)
{
	uint8_t rep[8192];
	char text[80][64];
	const char *an[81];
	struct qo o = { .id = 5 };
	struct dnsq q;

	for (int i = 0; i < 80; i++) {
		snprintf(text[i], sizeof(text[i]), "big.example.com. 60 IN AAAA 2001:db8::%x", i);
		an[i] = text[i];
	}
	an[80] = NULL;
	classify_q("big.example.com", 28, &o, &q);
	size_t n = mkreply("big.example.com", 28, 0, an, NULL, NULL, rep, sizeof(rep));
	size_t rl = make_ready(&q, rep, n);

	classify_q("BIG.example.com", 28, &o, &q);     /* no EDNS: 512 */
	int r = patched_equals_built(ready, rl, &q, rep, n, 1);
	ck_assert_int_eq(r, 12 + (int)q.question_len);
	ck_assert(resp[2] & 0x02);
	o.edns = true;                                 /* EDNS 1232: still too big */
	classify_q("BIG.example.com", 28, &o, &q);
	r = patched_equals_built(ready, rl, &q, rep, n, 1);
	ck_assert_int_eq(r, 12 + (int)q.question_len + 11);
	o.size = 4096;                                 /* fits */
	classify_q("BIG.example.com", 28, &o, &q);
	r = patched_equals_built(ready, rl, &q, rep, n, 1);
	ck_assert(!(resp[2] & 0x02));
	ck_assert_uint_eq(resp[7], 80);
	/* a ready reply made without OPT gives OPT to a client that asks */
	struct dnsq nq = q;
	nq.edns = false;
	int fn = dnsq_client_response(&nq, rep, n, 0, full, sizeof(full));
	int m = dnsready_make(full, (size_t)fn, DNSREADY_AGE_ALL, ready, sizeof(ready));
	ck_assert_int_gt(m, 0);
	patched_equals_built(ready, (size_t)m, &q, rep, n, 3);
}
END_TEST

START_TEST(test_negative_answers_and_nxdomain_are_patched_too)
{
	uint8_t rep[2048];
	static const char *const ns[] = {
		"example.com. 900 IN SOA ns.example.com. h.example.com. 1 2 3 4 60", NULL };
	struct qo o = { .id = 9, .edns = true };
	struct dnsq q;

	for (int rc = 0; rc <= 3; rc += 3) {
		classify_q("nope.example.com", 1, &o, &q);
		size_t n = mkreply("nope.example.com", 1, rc, NULL, ns, NULL, rep, sizeof(rep));
		size_t rl = make_ready(&q, rep, n);
		classify_q("Nope.Example.com", 1, &o, &q);
		patched_equals_built(ready, rl, &q, rep, n, 59);
		ck_assert_uint_eq(resp[3] & 0x0f, rc);
	}
}
END_TEST

START_TEST(test_overlay_answers_age_only_their_addresses)
{
	uint8_t buf[600];
	struct dnsq q, f;
	size_t rl;
	struct dnsq_overlay_answer a;
	static const uint16_t types[] = { 1, 28, 255, 15 };

	for (int status = 0; status <= 1; status++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			struct qo o = { .id = 4, .edns = t % 2 == 0, .do_bit = t == 2 };
			size_t n = rawq("Peer.Internal", types[t], &o, buf);
			ck_assert_int_eq(dnsq_classify(buf, n, false, &ov, &q, resp, sizeof(resp), &rl),
					 DNSQ_OVERLAY_NAME);
			memset(&a, 0, sizeof(a));
			a.status = status;
			a.n4 = 2;
			a.n6 = 1;
			a.v4[0][0] = 198; a.v4[0][1] = 18; a.v4[0][3] = 7;
			a.v4[1][0] = 198; a.v4[1][1] = 18; a.v4[1][3] = 8;
			a.v6[0][0] = 0xfd;
			f = q;
			f.edns = true;
			f.limit = 65535;
			int fn = dnsq_overlay_response(&f, &ov, &a, full, sizeof(full));
			ck_assert_int_gt(fn, 0);
			int m = dnsready_make(full, (size_t)fn, DNSREADY_AGE_ADDRS, ready, sizeof(ready));
			ck_assert_int_gt(m, 0);
			for (uint32_t age = 0; age < NTM_DNS_OVERLAY_TTL; age++) {
				a.age = age;
				int x = dnsready_patch(ready, (size_t)m, &q, age, resp, sizeof(resp));
				int y = dnsq_overlay_response(&q, &ov, &a, slow, sizeof(slow));
				ck_assert_int_gt(y, 0);
				ck_assert_int_eq(x, y);
				ck_assert_mem_eq(resp, slow, (size_t)x);
			}
		}
}
END_TEST

START_TEST(test_a_damaged_ready_reply_or_a_small_buffer_is_refused)
{
	uint8_t rep[2048];
	static const char *const an[] = { "www.example.com. 300 IN A 192.0.2.1", NULL };
	struct qo o = { .id = 1, .edns = true };
	struct dnsq q;

	classify_q("www.example.com", 1, &o, &q);
	size_t n = mkreply("www.example.com", 1, 0, an, NULL, NULL, rep, sizeof(rep));
	size_t rl = make_ready(&q, rep, n);
	int good = dnsready_patch(ready, rl, &q, 0, resp, sizeof(resp));
	ck_assert_int_gt(good, 0);
	ck_assert_int_eq(dnsready_patch(ready, rl, &q, 0, resp, (size_t)good - 1), -EMSGSIZE);
	for (size_t i = 0; i < rl; i++)
		ck_assert_int_eq(dnsready_patch(ready, i, &q, 0, resp, sizeof(resp)), -EINVAL);
	/* another question length (the key would never allow it) */
	struct dnsq other;
	classify_q("www.example.co", 1, &o, &other);
	ck_assert_int_eq(dnsready_patch(ready, rl, &other, 0, resp, sizeof(resp)), -EINVAL);
	/* a TTL offset pointing into the header */
	ready[DNSREADY_HDR] = 0;
	ready[DNSREADY_HDR + 1] = 2;
	ck_assert_int_eq(dnsready_patch(ready, rl, &q, 1, resp, sizeof(resp)), -EINVAL);
	/* make: not a response of ours (an OPT not last, cut, no question) */
	int fn = dnsq_client_response(&q, rep, n, 0, full, sizeof(full));
	for (int i = 0; i < fn; i++)
		ck_assert_int_lt(dnsready_make(full, (size_t)i, DNSREADY_AGE_ALL, ready,
					       sizeof(ready)), 0);
	ck_assert_int_eq(dnsready_make(full, (size_t)fn, DNSREADY_AGE_ALL, ready, 10), -EMSGSIZE);
	ck_assert_int_eq(dnsready_make(rep, n, DNSREADY_AGE_ALL, ready, sizeof(ready)),
			 (int)(DNSREADY_HDR + 2 + n));
}
END_TEST

/* The differential over a set of queries: names, types, EDNS and its
 * size, DO, CD, case, ages. */
START_TEST(test_the_fast_paths_answer_a_set_of_queries_as_the_slow_paths_do)
{
	uint8_t rep[8192], buf[600];
	static const char *const names[] = { "a.example.com", "A.EXAMPLE.COM", "a.Example.com" };
	char text[40][80];
	const char *an[41];
	struct dnsq q;
	unsigned checked = 0;

	for (unsigned count = 1; count <= 40; count += 13) {
		for (unsigned i = 0; i < count; i++) {
			snprintf(text[i], sizeof(text[i]), "a.example.com. %u IN TXT \"%0*u\"",
				 100 + i, (int)(i % 50 + 1), i);
			an[i] = text[i];
		}
		an[count] = NULL;
		size_t n = mkreply("a.example.com", 16, 0, an, NULL, NULL, rep, sizeof(rep));
		for (int v = 0; v < 8; v++) {
			struct qo o = { .id = (uint16_t)(count * 8 + (unsigned)v), .edns = v & 1,
					.do_bit = v & 2, .cd = v & 4, .size = v & 1 ? 700 : 0 };
			/* the ready reply comes from the first asker */
			size_t qn = rawq(names[0], 16, &o, buf);
			ck_assert(differential(buf, qn));
			classify_q(names[0], 16, &o, &q);
			size_t rl = make_ready(&q, rep, n);
			for (size_t k = 0; k < 3; k++)
				for (uint32_t age = 0; age < 200; age += 37) {
					qn = rawq(names[k], 16, &o, buf);
					ck_assert(differential(buf, qn));
					classify_q(names[k], 16, &o, &q);
					patched_equals_built(ready, rl, &q, rep, n, age);
					checked++;
				}
		}
	}
	ck_assert_uint_eq(checked, 4 * 8 * 3 * 6);
}
END_TEST

static Suite *dnsready_suite(void)
{
	Suite *s = suite_create("dnsready");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_plain_queries_take_the_fast_path_and_classify_the_same);
	tcase_add_test(tc, test_opt_variants_the_fast_parser_reads_or_leaves);
	tcase_add_test(tc, test_odd_queries_go_the_ldns_way);
	tcase_add_test(tc, test_a_hit_ages_every_section_but_not_opt_and_restores_id_and_case);
	tcase_add_test(tc, test_a_hit_over_the_clients_limit_is_the_bare_question_with_tc);
	tcase_add_test(tc, test_negative_answers_and_nxdomain_are_patched_too);
	tcase_add_test(tc, test_overlay_answers_age_only_their_addresses);
	tcase_add_test(tc, test_a_damaged_ready_reply_or_a_small_buffer_is_refused);
	tcase_add_test(tc, test_the_fast_paths_answer_a_set_of_queries_as_the_slow_paths_do);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnsready_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
