/* test_netcheck.c - what `ntmctl netcheck` concludes from the DC's echoes
 * (tund/natclass.h), and the NETCHECK reply's codec (lib/ctlproto.c). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "natclass.h"

static uint8_t locals[2][16];

/* obs of family 4: our address 10.0.0.2, sockets on ports 7541 and 40000 */
static struct nc_obs v4(bool has_alt)
{
	struct nc_obs o = { .family = 4, .has_alt = has_alt, .nlocal = 1,
			    .local_port = { 7541, 40000 }, .rtt_us = 420 };

	memset(locals, 0, sizeof(locals));
	inet_pton(AF_INET, "10.0.0.2", locals[0]);
	o.local = (const uint8_t(*)[16])locals;
	return o;
}

static void seen(struct nc_obs *o, int sock, int dest, const char *addr, uint16_t port)
{
	struct ntm_endpoint *ep = &o->observed[sock][dest];

	memset(ep, 0, sizeof(*ep));
	ep->family = o->family;
	ep->port = port;
	ck_assert_int_eq(inet_pton(o->family == 4 ? AF_INET : AF_INET6, addr, ep->addr), 1);
	o->answered[sock][dest] = true;
}

START_TEST(test_no_answer_concludes_nothing)
{
	struct nc_obs o = v4(true);
	struct ntm_lctl_nc_family r;

	nc_classify(&o, &r);
	ck_assert(!r.answered);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_NO_ANSWER);
	ck_assert_uint_eq(r.nat, NTM_LCTL_NC_UNKNOWN);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_UNKNOWN);
	ck_assert_uint_eq(r.rtt_us, 0);
}
END_TEST

START_TEST(test_own_address_and_ports_mean_no_nat)
{
	struct nc_obs o = v4(true);
	struct ntm_lctl_nc_family r;

	seen(&o, NC_MAIN, NC_PRIMARY, "10.0.0.2", 7541);
	seen(&o, NC_MAIN, NC_ALT, "10.0.0.2", 7541);
	seen(&o, NC_SECOND, NC_PRIMARY, "10.0.0.2", 40000);
	nc_classify(&o, &r);
	ck_assert(r.answered);
	ck_assert_uint_eq(r.nat, NTM_LCTL_NC_NO);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_YES);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_NO_NAT);
	ck_assert_uint_eq(r.observed.port, 7541);
	ck_assert_uint_eq(r.rtt_us, 420);
}
END_TEST

START_TEST(test_same_mapping_to_both_dc_addresses_is_endpoint_independent)
{
	struct nc_obs o = v4(true);
	struct ntm_lctl_nc_family r;

	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 41641);
	seen(&o, NC_MAIN, NC_ALT, "203.0.113.5", 41641);
	seen(&o, NC_SECOND, NC_PRIMARY, "203.0.113.5", 1025);
	seen(&o, NC_SECOND, NC_ALT, "203.0.113.5", 1025);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.nat, NTM_LCTL_NC_YES);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_NO);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_EIM);
	ck_assert_uint_eq(r.observed.port, 41641);
	ck_assert_str_eq(ntm_lctl_nc_mapping_name(r.mapping), "endpoint-independent");
}
END_TEST

START_TEST(test_port_preserving_nat_keeps_ports_but_is_a_nat)
{
	struct nc_obs o = v4(false);
	struct ntm_lctl_nc_family r;

	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 7541);
	seen(&o, NC_SECOND, NC_PRIMARY, "203.0.113.5", 40000);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.nat, NTM_LCTL_NC_YES);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_YES);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_ONE_ADDR);
	ck_assert_str_eq(ntm_lctl_nc_mapping_name(r.mapping), "unknown (DC has one address)");
}
END_TEST

/* one socket's pair differing is enough, even if the other's agrees */
START_TEST(test_another_mapping_per_destination_is_endpoint_dependent)
{
	struct nc_obs o = v4(true);
	struct ntm_lctl_nc_family r;

	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 7541);
	seen(&o, NC_MAIN, NC_ALT, "203.0.113.5", 7541);
	seen(&o, NC_SECOND, NC_PRIMARY, "203.0.113.5", 50001);
	seen(&o, NC_SECOND, NC_ALT, "203.0.113.5", 50002);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_EDM);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_NO);

	/* another external address per destination (a NAT with a pool) */
	o = v4(true);
	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 7541);
	seen(&o, NC_MAIN, NC_ALT, "203.0.113.6", 7541);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_EDM);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_YES);
}
END_TEST

START_TEST(test_a_silent_second_address_leaves_the_mapping_unknown)
{
	struct nc_obs o = v4(true);
	struct ntm_lctl_nc_family r;

	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 7541);
	seen(&o, NC_SECOND, NC_ALT, "203.0.113.5", 7541);  /* no pair from one socket */
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_ALT_SILENT);
	/* the main socket's echo from the primary address is the one shown */
	o.answered[NC_MAIN][NC_PRIMARY] = false;
	seen(&o, NC_SECOND, NC_PRIMARY, "203.0.113.9", 1234);
	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 7541);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.observed.port, 7541);
}
END_TEST

/* our own address but another port: a NAT on this host (or before it) */
START_TEST(test_own_address_with_another_port_is_a_nat)
{
	struct nc_obs o = v4(false);
	struct ntm_lctl_nc_family r;

	seen(&o, NC_MAIN, NC_PRIMARY, "10.0.0.2", 1);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.nat, NTM_LCTL_NC_YES);
	ck_assert_uint_eq(r.port_preserved, NTM_LCTL_NC_NO);
}
END_TEST

START_TEST(test_ipv6_without_nat)
{
	struct nc_obs o = { .family = 6, .nlocal = 2, .local_port = { 7541, 40000 } };
	struct ntm_lctl_nc_family r;

	memset(locals, 0, sizeof(locals));
	inet_pton(AF_INET6, "fd00::1", locals[0]);
	inet_pton(AF_INET6, "2001:db8::5", locals[1]);
	o.local = (const uint8_t(*)[16])locals;
	seen(&o, NC_MAIN, NC_PRIMARY, "2001:db8::5", 7541);
	nc_classify(&o, &r);
	ck_assert_uint_eq(r.family, 6);
	ck_assert_uint_eq(r.mapping, NTM_LCTL_MAP_NO_NAT);
}
END_TEST

START_TEST(test_netcheck_reply_round_trips_and_refuses_nonsense)
{
	struct ntm_lctl_netcheck m = { 0 }, back;
	struct ntm_lctl_hdr h;
	uint8_t buf[512];
	struct nc_obs o = v4(true);

	seen(&o, NC_MAIN, NC_PRIMARY, "203.0.113.5", 41641);
	seen(&o, NC_MAIN, NC_ALT, "203.0.113.5", 41641);
	nc_classify(&o, &m.fam[0]);
	m.fam[1] = (struct ntm_lctl_nc_family){ .family = 6 };  /* asked, unanswered */
	m.n_fam = 2;
	m.has_alt = true;
	m.alt = (struct ntm_lctl_endpoint){ .family = 4, .port = 7540, .addr = { 192, 0, 2, 2 } };
	int n = ntm_lctl_reply_netcheck(buf, sizeof(buf), 77, &m);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_netcheck(buf, (size_t)n, &h, &back), 0);
	ck_assert_uint_eq(h.req_id, 77);
	ck_assert_uint_eq(back.n_fam, 2);
	ck_assert_mem_eq(&back.fam[0], &m.fam[0], sizeof(m.fam[0]));
	ck_assert_mem_eq(&back.fam[1], &m.fam[1], sizeof(m.fam[1]));
	ck_assert(back.has_alt);
	ck_assert_mem_eq(&back.alt, &m.alt, sizeof(m.alt));

	/* a reserved byte, an unanswered family with a port, a mapping out of range */
	uint8_t bad[512];
	size_t off = NTM_LCTL_HDR_LEN + 4; /* the first NC_FAMILY's value */
	memcpy(bad, buf, (size_t)n);
	bad[off + 5] = 1;
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[off + 4] = NTM_LCTL_MAP_MAX + 1;
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[off + 28 + 4 + 7] = 1;  /* family 6, unanswered: port must be 0 */
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);

	m.fam[1].family = 4;  /* one family twice */
	ck_assert_int_eq(ntm_lctl_reply_netcheck(buf, sizeof(buf), 77, &m), -EINVAL);
	m.fam[1].family = 6;
	m.fam[1].mapping = NTM_LCTL_MAP_EIM;  /* a conclusion without an answer */
	ck_assert_int_eq(ntm_lctl_reply_netcheck(buf, sizeof(buf), 77, &m), -EINVAL);

	n = ntm_lctl_req_netcheck(buf, sizeof(buf), 5);
	struct ntm_lctl_req q;
	ck_assert_int_eq(ntm_lctl_req_decode(buf, (size_t)n, &q), 0);
	ck_assert_uint_eq(q.hdr.type, NTM_LCTL_NETCHECK);
}
END_TEST

/* A relay's latency is the median of its probes' round trips. */
START_TEST(test_relay_latency_is_the_median_of_the_answered_probes)
{
	uint32_t three[] = { 900, 300, 5000 }, two[] = { 400, 100 }, one[] = { 7 };
	uint32_t big[] = { UINT32_MAX, UINT32_MAX - 2 };

	ck_assert_uint_eq(nc_median_us(three, 3), 900);
	ck_assert_uint_eq(three[0], 300);        /* sorted in place */
	ck_assert_uint_eq(three[2], 5000);
	ck_assert_uint_eq(nc_median_us(two, 2), 250);
	ck_assert_uint_eq(nc_median_us(one, 1), 7);
	ck_assert_uint_eq(nc_median_us(one, 0), 0);
	ck_assert_uint_eq(nc_median_us(big, 2), UINT32_MAX - 1);  /* no overflow */
}
END_TEST

/* The relays netcheck measured: every field back; nonsense refused both ways. */
START_TEST(test_netcheck_reply_carries_each_relay_and_refuses_nonsense)
{
	struct ntm_lctl_netcheck m = { 0 }, back;
	struct ntm_lctl_hdr h;
	uint8_t buf[1024], bad[1024];

	m.n_relays = 2;
	m.relay[0] = (struct ntm_lctl_nc_relay){ .kind = NTM_LCTL_NC_RELAY_EMBEDDED, .sent = 3,
						 .answered = 3, .rtt_us = 420,
						 .ep = { .family = 4, .port = 7542, .addr = { 198, 51, 100, 2 } } };
	m.relay[1] = (struct ntm_lctl_nc_relay){ .kind = NTM_LCTL_NC_RELAY_STANDALONE, .sent = 3,
						 .ep = { .family = 6, .port = 7542, .addr = { 0x20, 1, [15] = 5 } } };
	strcpy(m.relay[1].name, "relay-2.eu_west");
	int n = ntm_lctl_reply_netcheck(buf, sizeof(buf), 9, &m);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ntm_lctl_decode_netcheck(buf, (size_t)n, &h, &back), 0);
	ck_assert_uint_eq(back.n_relays, 2);
	ck_assert_mem_eq(&back.relay[0], &m.relay[0], sizeof(m.relay[0]));
	ck_assert_mem_eq(&back.relay[1], &m.relay[1], sizeof(m.relay[1]));

	/* the first relay's value: kind, sent, answered, name length, rtt, endpoint */
	size_t off = NTM_LCTL_HDR_LEN + 4;
	memcpy(bad, buf, (size_t)n);
	bad[off] = 2;                            /* kind */
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[off + 2] = 4;                        /* answered > sent */
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[off + 3] = 1;                        /* name length != what follows */
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	bad[off + 11 + 5] = 1;                   /* IPv4 with bytes past the 4th */
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);
	memcpy(bad, buf, (size_t)n);
	memset(bad + off + 4, 0, 4);             /* answered without a latency */
	ck_assert_int_eq(ntm_lctl_decode_netcheck(bad, (size_t)n, &h, &back), -EBADMSG);

	m.relay[1].name[3] = ' ';
	ck_assert_int_eq(ntm_lctl_reply_netcheck(buf, sizeof(buf), 9, &m), -EINVAL);
	m.relay[1].name[3] = 'a';
	m.relay[1].rtt_us = 5;                   /* a latency without an answer */
	ck_assert_int_eq(ntm_lctl_reply_netcheck(buf, sizeof(buf), 9, &m), -EINVAL);
	m.relay[1].rtt_us = 0;
	m.n_relays = NTM_LCTL_NC_MAX_RELAYS + 1;
	ck_assert_int_eq(ntm_lctl_reply_netcheck(buf, sizeof(buf), 9, &m), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("netcheck");
	TCase *tc = tcase_create("classify");

	tcase_add_test(tc, test_no_answer_concludes_nothing);
	tcase_add_test(tc, test_own_address_and_ports_mean_no_nat);
	tcase_add_test(tc, test_same_mapping_to_both_dc_addresses_is_endpoint_independent);
	tcase_add_test(tc, test_port_preserving_nat_keeps_ports_but_is_a_nat);
	tcase_add_test(tc, test_another_mapping_per_destination_is_endpoint_dependent);
	tcase_add_test(tc, test_a_silent_second_address_leaves_the_mapping_unknown);
	tcase_add_test(tc, test_own_address_with_another_port_is_a_nat);
	tcase_add_test(tc, test_ipv6_without_nat);
	tcase_add_test(tc, test_netcheck_reply_round_trips_and_refuses_nonsense);
	tcase_add_test(tc, test_relay_latency_is_the_median_of_the_answered_probes);
	tcase_add_test(tc, test_netcheck_reply_carries_each_relay_and_refuses_nonsense);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
