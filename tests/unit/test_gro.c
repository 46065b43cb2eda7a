/* test_gro.c - lib/gro.c: segments cut by lib/gso.c coalesce back into the
 * super-packet they came from (IPv4 and IPv6, odd sizes, options), the
 * result's virtio_net_hdr and checksum verified independently, and for each
 * rule of gro.h a packet that must not join, and does not. */
#include <check.h>
#include <stdlib.h>

#include "gro.h"
#include "gso.h"
#include "pkt.h"

#define MAXOUT 2100

/* What the coalescer emitted, in order. */
static struct out {
	struct ntm_vnet_hdr h;
	size_t len;                      /* of the IP packet */
	uint8_t pkt[65536];
} *out;
static unsigned nout;
static struct ntm_gro gro;

static void collect(void *ctx, uint8_t *hdr, size_t len)
{
	(void)ctx;
	ck_assert_uint_lt(nout, MAXOUT);
	ck_assert_uint_ge(len, NTM_VNET_HDR_LEN);
	ntm_vnet_hdr_get(&out[nout].h, hdr);
	out[nout].len = len - NTM_VNET_HDR_LEN;
	memcpy(out[nout].pkt, hdr + NTM_VNET_HDR_LEN, len - NTM_VNET_HDR_LEN);
	nout++;
}

static void setup(void)
{
	if (!out)
		out = calloc(MAXOUT, sizeof(*out));
	ck_assert_ptr_nonnull(out);
	nout = 0;
	ntm_gro_init(&gro, collect, NULL);
}

/* Offer a packet the way data.c does: in a buffer with room for the
 * header before it, and whose bytes the caller reuses afterwards. */
static void offer(const uint8_t *pkt, size_t len)
{
	static uint8_t buf[NTM_VNET_HDR_LEN + 70000];
	memcpy(buf + NTM_VNET_HDR_LEN, pkt, len);
	ntm_gro_add(&gro, buf + NTM_VNET_HDR_LEN, len);
	memset(buf, 0x5a, sizeof(buf)); /* nothing may point into it */
}

static uint8_t super[70000], seg[70000];

/* Cut the super-packet of s into gso_size segments and offer them all;
 * returns the number of segments. */
static size_t cut_and_offer(const struct pspec *s, size_t gso_size)
{
	size_t len = build(super, s), l3 = s->ver == 4 ? 20 : 40;
	struct ntm_vnet_hdr h = { .flags = NTM_VNET_F_NEEDS_CSUM,
				  .gso_type = s->ver == 4 ? NTM_VNET_GSO_TCPV4 : NTM_VNET_GSO_TCPV6,
				  .gso_size = (uint16_t)gso_size, .csum_start = (uint16_t)l3,
				  .csum_offset = 16 };
	struct ntm_gso g;
	int n = ntm_gso_init(&g, &h, super, len, 65535);
	ck_assert_int_gt(n, 0);
	for (size_t i = 0; i < (size_t)n; i++)
		offer(seg, ntm_gso_seg(&g, i, seg));
	return (size_t)n;
}

/* out[i] is a super-packet equal to the one s builds, with the header the
 * kernel needs; its checksum completes to a right one. */
static void check_super(unsigned i, const struct pspec *s, size_t mss)
{
	struct out *o = &out[i];
	size_t len = build(super, s), l3 = s->ver == 4 ? 20 : 40;

	ck_assert_uint_eq(o->h.flags, NTM_VNET_F_NEEDS_CSUM);
	ck_assert_uint_eq(o->h.gso_type, s->ver == 4 ? NTM_VNET_GSO_TCPV4 : NTM_VNET_GSO_TCPV6);
	ck_assert_uint_eq(o->h.gso_size, mss);
	ck_assert_uint_eq(o->h.hdr_len, l3 + 20 + s->tcpopt);
	ck_assert_uint_eq(o->h.csum_start, l3);
	ck_assert_uint_eq(o->h.csum_offset, 16);
	ck_assert_uint_eq(o->len, len);
	ck_assert(ref_ip_ok(o->pkt));
	/* the field holds the pseudo-header sum for the whole length */
	ck_assert_uint_eq(get16(o->pkt + l3 + 16), ref_fold(ref_pseudo(o->pkt, len - l3)));
	ck_assert_int_eq(ntm_vnet_csum_complete(&o->h, o->pkt, o->len), 0);
	ck_assert(ref_l4_ok(o->pkt, o->len));
	ck_assert_mem_eq(o->pkt, super, len); /* checksums aside, the original */
}

/* out[i] went through unchanged (zero header). */
static void check_passed(unsigned i, const uint8_t *pkt, size_t len)
{
	struct ntm_vnet_hdr zero = { 0 };
	ck_assert_mem_eq(&out[i].h, &zero, sizeof(zero));
	ck_assert_uint_eq(out[i].len, len);
	ck_assert_mem_eq(out[i].pkt, pkt, len);
}

START_TEST(test_cut_segments_coalesce_back_into_the_super_packet)
{
	static const size_t sizes[] = { 2 * 1348, 2 * 1348 + 1, 9001, 64000 };
	for (unsigned v = 4; v <= 6; v += 2)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			for (size_t opt = 0; opt <= 12; opt += 12) {
				setup();
				struct pspec s = pspec_tcp(v, sizes[i]);
				s.tcpopt = opt;
				s.flags = TF_ACK | TF_PSH;
				cut_and_offer(&s, 1348 - opt);
				/* PSH on the last segment wrote it out already */
				ck_assert_uint_eq(nout, 1);
				check_super(0, &s, 1348 - opt);
				ntm_gro_flush(&gro);
				ck_assert_uint_eq(nout, 1);
			}
	/* without PSH and with an odd size, the flush writes it */
	setup();
	struct pspec s = pspec_tcp(4, 10007);
	cut_and_offer(&s, 999);
	ck_assert_uint_eq(nout, 1); /* the short last segment ended the flow */
	check_super(0, &s, 999);
	setup();
	s.payload = 999 * 10;
	cut_and_offer(&s, 999);
	ck_assert_uint_eq(nout, 0);
	ntm_gro_flush(&gro);
	ck_assert_uint_eq(nout, 1);
	check_super(0, &s, 999);
	ck_assert_uint_eq(gro.merged, 9);
	ck_assert_uint_eq(gro.supers, 1);
}
END_TEST

START_TEST(test_the_coalesced_packet_cuts_into_the_same_segments_again)
{
	static uint8_t first[40][1500];
	size_t flen[40];
	for (unsigned v = 4; v <= 6; v += 2) {
		setup();
		struct pspec s = pspec_tcp(v, 1300 * 39 + 77);
		s.flags = TF_ACK | TF_FIN | TF_PSH;
		size_t len = build(super, &s), l3 = v == 4 ? 20 : 40;
		struct ntm_vnet_hdr h = { .flags = 1, .gso_type = v == 4 ? 1 : 4, .gso_size = 1300,
					  .csum_start = (uint16_t)l3, .csum_offset = 16 };
		struct ntm_gso g;
		ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1400), 40);
		for (size_t i = 0; i < 40; i++) {
			flen[i] = ntm_gso_seg(&g, i, first[i]);
			offer(first[i], flen[i]);
		}
		ck_assert_uint_eq(nout, 1);
		ck_assert_int_eq(ntm_gso_init(&g, &out[0].h, out[0].pkt, out[0].len, 1400), 40);
		for (size_t i = 0; i < 40; i++) {
			ck_assert_uint_eq(ntm_gso_seg(&g, i, seg), flen[i]);
			ck_assert_mem_eq(seg, first[i], flen[i]);
		}
	}
}
END_TEST

/* Two segments of s (the second one changed by change()) and the flush:
 * how many packets came out. */
static unsigned pair(struct pspec s, void (*change)(uint8_t *pkt, size_t len, struct pspec *s))
{
	size_t n;
	setup();
	n = build(seg, &s);
	offer(seg, n);
	s.seq += (uint32_t)s.payload;
	s.id++;
	n = build(seg, &s);
	change(seg, n, &s);
	offer(seg, n);
	ntm_gro_flush(&gro);
	return nout;
}

static void nothing(uint8_t *p, size_t n, struct pspec *s) { (void)p; (void)n; (void)s; }
static void bad_csum(uint8_t *p, size_t n, struct pspec *s) { (void)s; p[n - 1] ^= 1; }
#define REBUILD(name, stmt) \
	static void name(uint8_t *p, size_t n, struct pspec *s) { (void)n; stmt; build(p, s); }
REBUILD(other_port, s->sport++)
REBUILD(seq_gap, s->seq++)
REBUILD(seq_back, s->seq -= 2)
REBUILD(other_ack, s->ack++)
REBUILD(other_ts, s->tsval++)
REBUILD(other_win, s->win++)
REBUILD(cwr, s->flags |= TF_CWR)
REBUILD(syn, s->flags |= TF_SYN)
REBUILD(rst, s->flags |= TF_RST)
REBUILD(urg, s->flags |= TF_URG)
REBUILD(other_id, s->id += 5)
REBUILD(other_ttl, s->ttl--)
REBUILD(longer, s->payload++)
REBUILD(empty, s->payload = 0)
REBUILD(ip_options, s->ipopt = 4)
REBUILD(tcp_options_longer, s->tcpopt = 16)
static void other_tos(uint8_t *p, size_t n, struct pspec *s) { (void)s; p[1] = 4; ref_fix(p, n); }
static void fragment(uint8_t *p, size_t n, struct pspec *s) { (void)s; p[6] |= 0x20; ref_fix(p, n); }
static void no_df(uint8_t *p, size_t n, struct pspec *s) { (void)s; p[6] &= 0xbf; ref_fix(p, n); }
static void bad_ipsum(uint8_t *p, size_t n, struct pspec *s) { (void)n; (void)s; p[10] ^= 1; }
static void ip_len_off(uint8_t *p, size_t n, struct pspec *s) { (void)s; put16(p + 2, (unsigned)n - 1); ref_fix(p, n); }
static void v6_label(uint8_t *p, size_t n, struct pspec *s) { (void)s; p[3] ^= 1; ref_fix(p, n); }
static void v6_hop(uint8_t *p, size_t n, struct pspec *s) { (void)s; p[7]--; ref_fix(p, n); }
static void v6_ext(uint8_t *p, size_t n, struct pspec *s) { (void)n; (void)s; p[6] = 0; }

START_TEST(test_a_segment_that_breaks_a_rule_does_not_join)
{
	static const struct {
		void (*change)(uint8_t *, size_t, struct pspec *);
		const char *rule;
		unsigned v;
	} no[] = {
		{ bad_csum, "TCP checksum", 4 }, { bad_csum, "TCP checksum", 6 },
		{ other_port, "same ports", 4 }, { seq_gap, "contiguous (gap)", 4 },
		{ seq_back, "contiguous (back)", 6 }, { other_ack, "same ACK", 4 },
		{ other_ts, "same options", 6 }, { other_win, "same window", 4 },
		{ cwr, "no CWR after the first", 4 }, { syn, "no SYN", 4 }, { rst, "no RST", 6 },
		{ urg, "no URG", 4 }, { other_id, "consecutive IDs", 4 }, { other_ttl, "same TTL", 4 },
		{ other_ttl, "same hop limit", 6 }, { longer, "not longer than the first", 4 },
		{ empty, "payload", 4 }, { ip_options, "no IPv4 options", 4 },
		{ tcp_options_longer, "same data offset", 6 }, { other_tos, "same TOS", 4 },
		{ fragment, "not a fragment", 4 }, { no_df, "same DF", 4 },
		{ bad_ipsum, "IPv4 header checksum", 4 }, { ip_len_off, "IPv4 total length", 4 },
		{ v6_label, "same flow label", 6 }, { v6_hop, "same hop limit (raw)", 6 },
		{ v6_ext, "no extension headers", 6 },
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct pspec s = pspec_tcp(no[i].v, 1000);
		ck_assert_msg(pair(s, no[i].change) == 2, "rule '%s' (IPv%u): %u packets out",
			      no[i].rule, no[i].v, nout);
		/* neither was merged */
		ck_assert_uint_eq(out[0].h.gso_type, 0);
		ck_assert_uint_eq(out[1].h.gso_type, 0);
	}
	/* and the control: unchanged, they join */
	for (unsigned v = 4; v <= 6; v += 2) {
		struct pspec s = pspec_tcp(v, 1000);
		ck_assert_uint_eq(pair(s, nothing), 1);
		ck_assert_uint_eq(out[0].h.gso_type, v == 4 ? 1 : 4);
	}
}
END_TEST

START_TEST(test_a_bad_checksum_passes_through_unchanged_for_the_kernel_to_drop)
{
	struct pspec s = pspec_tcp(4, 1000);
	size_t n;
	setup();
	n = build(seg, &s);
	seg[60] ^= 0xff; /* payload corrupted, checksum now wrong */
	offer(seg, n);
	ck_assert_uint_eq(nout, 1);
	check_passed(0, seg, n);
}
END_TEST

START_TEST(test_a_shorter_or_pushed_segment_ends_the_flow_and_the_next_starts_one)
{
	struct pspec s = pspec_tcp(4, 1000);
	size_t n;
	setup();
	for (int i = 0; i < 3; i++) {
		s.payload = i == 1 ? 500 : 1000;
		n = build(seg, &s);
		offer(seg, n);
		s.seq += (uint32_t)s.payload;
		s.id++;
	}
	ck_assert_uint_eq(nout, 1); /* 1000 + 500 */
	ck_assert_uint_eq(out[0].len, 40 + 12 + 1500);
	ntm_gro_flush(&gro);
	ck_assert_uint_eq(nout, 2);
	ck_assert_uint_eq(out[1].h.gso_type, 0); /* the third, alone */
	/* PSH: joins, and ends the flow, the flag on the super-packet */
	setup();
	s = pspec_tcp(6, 1000);
	for (int i = 0; i < 3; i++) {
		s.flags = i == 1 ? TF_ACK | TF_PSH : TF_ACK;
		offer(seg, build(seg, &s));
		s.seq += 1000;
	}
	ck_assert_uint_eq(nout, 1);
	ck_assert_uint_eq(out[0].pkt[40 + 13], TF_ACK | TF_PSH);
	/* a first segment with PSH, FIN or CWR is not held at all */
	static const uint8_t f[] = { TF_PSH, TF_FIN, TF_CWR, TF_SYN };
	for (size_t i = 0; i < sizeof(f); i++) {
		setup();
		s = pspec_tcp(4, 100);
		s.flags = TF_ACK | f[i];
		n = build(seg, &s);
		offer(seg, n);
		ck_assert_uint_eq(nout, 1);
		check_passed(0, seg, n);
	}
}
END_TEST

START_TEST(test_flows_are_kept_apart_and_a_connections_order_is_kept)
{
	struct pspec a = pspec_tcp(4, 1000), b = pspec_tcp(4, 1000);
	b.sport = 1;
	setup();
	for (int i = 0; i < 4; i++) { /* interleaved: both coalesce */
		offer(seg, build(seg, &a));
		offer(seg, build(seg, &b));
		a.seq += 1000;
		b.seq += 1000;
		a.id++;
		b.id++;
	}
	ck_assert_uint_eq(nout, 0);
	/* a pure ACK of a's connection (other direction, same addresses)
	 * writes a's data first, then itself; b stays held */
	struct pspec ack = pspec_tcp(4, 0);
	size_t n = build(seg, &ack);
	offer(seg, n);
	ck_assert_uint_eq(nout, 3); /* a, b (same address pair), the ACK */
	ck_assert_uint_eq(out[0].len + out[1].len, 2 * (20 + 32 + 4000));
	check_passed(2, seg, n);
	/* UDP between the same addresses does not flush anything */
	setup();
	offer(seg, build(seg, &a));
	struct pspec u = pspec_tcp(4, 100);
	u.proto = 17;
	n = build(seg, &u);
	offer(seg, n);
	ck_assert_uint_eq(nout, 1);
	check_passed(0, seg, n);
	/* more flows than slots: the oldest is written to make room */
	setup();
	for (unsigned i = 0; i <= NTM_GRO_FLOWS; i++) {
		struct pspec f = pspec_tcp(6, 700);
		f.sport = (uint16_t)(100 + i);
		offer(seg, build(seg, &f));
	}
	ck_assert_uint_eq(nout, 1);
	ck_assert_uint_eq(get16(out[0].pkt + 40), 100);
}
END_TEST

START_TEST(test_a_flow_stops_at_64_kib)
{
	struct pspec s = pspec_tcp(4, 1400);
	setup();
	for (int i = 0; i < 50; i++) {
		offer(seg, build(seg, &s));
		s.seq += 1400;
		s.id++;
	}
	ntm_gro_flush(&gro);
	ck_assert_uint_eq(nout, 2);
	ck_assert_uint_le(out[0].len, 65535);
	ck_assert_uint_eq(out[0].len, 52 + 46 * 1400);
	ck_assert_uint_eq(out[1].len, 52 + 4 * 1400);
}
END_TEST

START_TEST(test_garbage_passes_through_whole)
{
	static uint8_t junk[2000];
	srand(3);
	setup();
	for (size_t n = 0; n < 200; n++) {
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rand();
		if (n)
			junk[0] = (uint8_t)(n & 1 ? 0x45 : 0x60);
		if (n > 9)
			junk[9] = junk[6] = 6;
		offer(junk, n);
		ck_assert_uint_ge(nout, 1);
		check_passed(nout - 1, junk, n);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gro");
	TCase *tc = tcase_create("gro");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cut_segments_coalesce_back_into_the_super_packet);
	tcase_add_test(tc, test_the_coalesced_packet_cuts_into_the_same_segments_again);
	tcase_add_test(tc, test_a_segment_that_breaks_a_rule_does_not_join);
	tcase_add_test(tc, test_a_bad_checksum_passes_through_unchanged_for_the_kernel_to_drop);
	tcase_add_test(tc, test_a_shorter_or_pushed_segment_ends_the_flow_and_the_next_starts_one);
	tcase_add_test(tc, test_flows_are_kept_apart_and_a_connections_order_is_kept);
	tcase_add_test(tc, test_a_flow_stops_at_64_kib);
	tcase_add_test(tc, test_garbage_passes_through_whole);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
