/* test_feddns.c - finding a federated zone's DC through DNS (dc/feddns.c,
 * doc/protocol.md 10.2): the queries each step sends, and what each answer
 * makes of the look-up: the SRV record of the lowest priority, its target's
 * address from the additional section or from the next steps (A, then
 * AAAA), the smallest TTL, failures in words; and answers that are not the
 * answer (another ID, no QR bit, another question, garbage, cut short) are
 * ignored, and so is one ldns would leak on (a TSIG not last). Answers are built with ldns, as a resolver would send them. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "feddns.h"

/* An answer to qname/type with id, rcode and records given as text
 * ("owner TTL IN TYPE RDATA"); those after a "|" go to the additional
 * section. Its wire length into *len. */
static uint8_t *answer(uint16_t id, bool qr, const char *qname, ldns_rr_type type,
		       ldns_pkt_rcode rcode, const char *const *rrs, size_t *len)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), type, LDNS_RR_CLASS_IN,
					 LDNS_RD);
	ldns_pkt_section sec = LDNS_SECTION_ANSWER;
	uint8_t *wire = NULL;

	ck_assert_ptr_nonnull(p);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, qr);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (size_t i = 0; rrs && rrs[i]; i++) {
		ldns_rr *rr = NULL;
		if (strcmp(rrs[i], "|") == 0) {
			sec = LDNS_SECTION_ADDITIONAL;
			continue;
		}
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL), LDNS_STATUS_OK);
		ck_assert(ldns_pkt_push_rr(p, sec, rr));
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

static enum feddns_verdict feed(struct feddns *l, uint16_t id, bool qr, const char *qname,
				ldns_rr_type type, ldns_pkt_rcode rcode, const char *const *rrs)
{
	size_t len;
	uint8_t *w = answer(id, qr, qname, type, rcode, rrs, &len);
	enum feddns_verdict v = feddns_answer(l, w, len);
	free(w);
	return v;
}

static void start(struct feddns *l)
{
	uint8_t buf[512];

	ck_assert_int_eq(feddns_start(l, "ntm.b.example", 3600), 0);
	ck_assert_int_gt(feddns_query(l, 0x1234, buf, sizeof(buf)), 0);
}

static void ck_ep4(const struct feddns *l, const char *addr, uint16_t port)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)&l->ep;
	char text[INET_ADDRSTRLEN];

	ck_assert_int_eq(s->sin_family, AF_INET);
	ck_assert_uint_eq(l->eplen, sizeof(*s));
	ck_assert_str_eq(inet_ntop(AF_INET, &s->sin_addr, text, sizeof(text)), addr);
	ck_assert_uint_eq(ntohs(s->sin_port), port);
}

START_TEST(test_the_query_asks_srv_of_the_zone_with_the_id)
{
	struct feddns l;
	uint8_t buf[512];
	ldns_pkt *q = NULL;
	char *name;
	int n;

	ck_assert_int_eq(feddns_start(&l, "ntm.b.example", 3600), 0);
	n = feddns_query(&l, 0xbeef, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ldns_wire2pkt(&q, buf, (size_t)n), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(q), 0xbeef);
	ck_assert(ldns_pkt_rd(q));
	ck_assert(!ldns_pkt_qr(q));
	ck_assert_uint_eq(ldns_rr_list_rr_count(ldns_pkt_question(q)), 1);
	ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	ck_assert_int_eq(ldns_rr_get_type(qr), LDNS_RR_TYPE_SRV);
	name = ldns_rdf2str(ldns_rr_owner(qr));
	ck_assert_str_eq(name, "_ntm-dc._udp.ntm.b.example.");
	free(name);
	ldns_pkt_free(q);
	ck_assert_int_eq(feddns_query(&l, 1, buf, 10), -EMSGSIZE);
}
END_TEST

START_TEST(test_srv_with_the_address_in_the_additional_section_is_found_at_once)
{
	static const char *const rrs[] = {
		"_ntm-dc._udp.ntm.b.example. 300 IN SRV 20 0 7000 far.b.example.",
		"_ntm-dc._udp.ntm.b.example. 600 IN SRV 10 0 7540 dc.b.example.",
		"|",
		"far.b.example. 60 IN A 192.0.2.99",
		"dc.b.example. 120 IN A 198.51.101.2",
		NULL,
	};
	struct feddns l;

	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, rrs), FEDDNS_FOUND);
	ck_ep4(&l, "198.51.101.2", 7540);       /* priority 10 wins, its own address */
	ck_assert_uint_eq(l.ttl, 120);         /* the smaller of the SRV's and the A's */
	ck_assert_int_eq(l.step, FEDDNS_IDLE);
}
END_TEST

START_TEST(test_srv_without_address_asks_a_then_aaaa)
{
	static const char *const srv[] = {
		"_ntm-dc._udp.ntm.b.example. 300 IN SRV 0 0 7540 dc.b.example.", NULL,
	};
	static const char *const other_owner[] = { "x.b.example. 60 IN A 192.0.2.1", NULL };
	static const char *const aaaa[] = { "dc.b.example. 90 IN AAAA 2001:db8::2", NULL };
	struct feddns l;
	uint8_t buf[512];

	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, srv), FEDDNS_NEXT);
	ck_assert_int_eq(l.step, FEDDNS_A);
	ck_assert_str_eq(l.qname, "dc.b.example.");
	ck_assert_int_gt(feddns_query(&l, 7, buf, sizeof(buf)), 0);
	/* an A record of another name is not the target's */
	ck_assert_int_eq(feed(&l, 7, true, "dc.b.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
			      other_owner), FEDDNS_NEXT);
	ck_assert_int_eq(l.step, FEDDNS_AAAA);
	ck_assert_int_gt(feddns_query(&l, 8, buf, sizeof(buf)), 0);
	ck_assert_int_eq(feed(&l, 8, true, "dc.b.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR,
			      aaaa), FEDDNS_FOUND);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&l.ep;
	ck_assert_int_eq(s6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(s6->sin6_port), 7540);
	ck_assert_uint_eq(s6->sin6_addr.s6_addr[15], 2);
	ck_assert_uint_eq(l.ttl, 90);
}
END_TEST

START_TEST(test_failures_say_why)
{
	static const char *const port0[] = {
		"_ntm-dc._udp.ntm.b.example. 300 IN SRV 0 0 0 dc.b.example.", NULL,
	};
	static const char *const srv[] = {
		"_ntm-dc._udp.ntm.b.example. 300 IN SRV 0 0 7540 dc.b.example.", NULL,
	};
	static const char *const txt[] = { "_ntm-dc._udp.ntm.b.example. 300 IN TXT \"x\"", NULL };
	struct feddns l;
	uint8_t buf[512];

	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NXDOMAIN, NULL), FEDDNS_FAIL);
	ck_assert_str_eq(l.why, "no such name (NXDOMAIN)");
	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_SERVFAIL, NULL), FEDDNS_FAIL);
	ck_assert_str_eq(l.why, "the resolver answered with an error code");
	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, txt), FEDDNS_FAIL);
	ck_assert_str_eq(l.why, "no SRV record");
	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, port0), FEDDNS_FAIL);
	ck_assert_str_eq(l.why, "SRV record with port 0");
	/* neither A nor AAAA for the target */
	start(&l);
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, srv), FEDDNS_NEXT);
	ck_assert_int_gt(feddns_query(&l, 2, buf, sizeof(buf)), 0);
	ck_assert_int_eq(feed(&l, 2, true, "dc.b.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN,
			      NULL), FEDDNS_NEXT);
	ck_assert_int_gt(feddns_query(&l, 3, buf, sizeof(buf)), 0);
	ck_assert_int_eq(feed(&l, 3, true, "dc.b.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR,
			      NULL), FEDDNS_FAIL);
	ck_assert_str_eq(l.why, "no A or AAAA record for the SRV target");
	ck_assert_int_eq(l.step, FEDDNS_IDLE);
}
END_TEST

START_TEST(test_what_is_not_the_answer_is_ignored)
{
	static const char *const rrs[] = {
		"_ntm-dc._udp.ntm.b.example. 300 IN SRV 0 0 7540 dc.b.example.",
		"|", "dc.b.example. 120 IN A 198.51.101.2", NULL,
	};
	struct feddns l;
	size_t len;
	uint8_t *w;

	start(&l);
	ck_assert_int_eq(feed(&l, 0x1235, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, rrs), FEDDNS_IGNORE);      /* another ID */
	ck_assert_int_eq(feed(&l, 0x1234, false, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, rrs), FEDDNS_IGNORE);      /* a query */
	ck_assert_int_eq(feed(&l, 0x1234, true, "_ntm-dc._udp.ntm.c.example.", LDNS_RR_TYPE_SRV,
			      LDNS_RCODE_NOERROR, rrs), FEDDNS_IGNORE);      /* another question */
	ck_assert_int_eq(feddns_answer(&l, (const uint8_t *)"garbage", 7), FEDDNS_IGNORE);
	w = answer(0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
		   LDNS_RCODE_NOERROR, rrs, &len);
	for (size_t cut = 0; cut < len; cut++)
		ck_assert_int_eq(feddns_answer(&l, w, cut), FEDDNS_IGNORE);
	ck_assert_int_eq(l.step, FEDDNS_SRV);   /* still waiting: the whole one is taken */
	ck_assert_int_eq(feddns_answer(&l, w, len), FEDDNS_FOUND);
	free(w);
	/* idle: nothing is taken any more */
	ck_assert_int_eq(feddns_answer(&l, (const uint8_t *)"x", 1), FEDDNS_IGNORE);
}
END_TEST

START_TEST(test_an_answer_with_a_tsig_before_the_last_record_is_ignored)
{
	/* ldns 1.8.3 leaks every TSIG record of a message but the last one
	 * it reads (73 bytes each, found by fuzz_feddns): such an answer must
	 * not reach ldns. A good answer, then two empty TSIG records and an
	 * A record behind them in the additional section. */
	static const char *const rrs[] = {
		"_ntm-dc._udp.ntm.b.example. 300 IN SRV 0 0 7540 dc.b.example.",
		"|", "dc.b.example. 120 IN A 198.51.101.2", NULL,
	};
	static const uint8_t tsig[] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0 };
	static const uint8_t a[] = { 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	struct feddns l;
	size_t len;
	uint8_t *w, buf[1024];

	start(&l);
	w = answer(0x1234, true, "_ntm-dc._udp.ntm.b.example.", LDNS_RR_TYPE_SRV,
		   LDNS_RCODE_NOERROR, rrs, &len);
	ck_assert_uint_lt(len + 2 * sizeof(tsig) + sizeof(a), sizeof(buf));
	memcpy(buf, w, len);
	free(w);
	memcpy(buf + len, tsig, sizeof(tsig));
	memcpy(buf + len + sizeof(tsig), tsig, sizeof(tsig));
	memcpy(buf + len + 2 * sizeof(tsig), a, sizeof(a));
	buf[11] = (uint8_t)(buf[11] + 3);       /* ARCOUNT */
	ck_assert_int_eq(feddns_answer(&l, buf, len + 2 * sizeof(tsig) + sizeof(a)),
			 FEDDNS_IGNORE);
	ck_assert_int_eq(l.step, FEDDNS_SRV);   /* still waiting */
	/* one TSIG, as the last record, is allowed (RFC 8945 5.1) and unused */
	memcpy(buf + len, tsig, sizeof(tsig));
	buf[11] = (uint8_t)(buf[11] - 2);
	ck_assert_int_eq(feddns_answer(&l, buf, len + sizeof(tsig)), FEDDNS_FOUND);
	ck_ep4(&l, "198.51.101.2", 7540);
}
END_TEST

START_TEST(test_a_zone_name_too_long_is_refused)
{
	struct feddns l;
	char zone[400];

	memset(zone, 'a', sizeof(zone) - 1);
	zone[sizeof(zone) - 1] = '\0';
	ck_assert_int_eq(feddns_start(&l, zone, 3600), -ENAMETOOLONG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("feddns");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_the_query_asks_srv_of_the_zone_with_the_id);
	tcase_add_test(tc, test_srv_with_the_address_in_the_additional_section_is_found_at_once);
	tcase_add_test(tc, test_srv_without_address_asks_a_then_aaaa);
	tcase_add_test(tc, test_failures_say_why);
	tcase_add_test(tc, test_what_is_not_the_answer_is_ignored);
	tcase_add_test(tc, test_an_answer_with_a_tsig_before_the_last_record_is_ignored);
	tcase_add_test(tc, test_a_zone_name_too_long_is_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
