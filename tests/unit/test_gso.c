/* test_gso.c - lib/gso.c: the checksum against an independent one, cutting
 * TCP and UDP super-packets (IPv4 and IPv6, odd sizes, options, flags) with
 * every segment checked on its own, the MTU cap, the refusals, and the
 * completion of a partial checksum. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "gso.h"
#include "pkt.h"

static uint8_t super[70000], seg[70000];

/* Checksum of n bytes as the library computes it, read big-endian. */
static unsigned lib_sum(const uint8_t *p, size_t n)
{
	uint8_t b[2];
	ntm_csum_store(b, ntm_csum_fold(ntm_csum_add(0, p, n)));
	return get16(b);
}

START_TEST(test_the_checksum_agrees_with_rfc1071_for_every_length_and_alignment)
{
	static uint8_t buf[4200];
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n < 300; n++)
			ck_assert_uint_eq(lib_sum(buf + off, n), ref_fold(ref_add(0, buf + off, n)));
	ck_assert_uint_eq(lib_sum(buf, sizeof(buf)), ref_fold(ref_add(0, buf, sizeof(buf))));
	/* all ones: the sum that folds to 0xffff */
	memset(buf, 0xff, 64);
	ck_assert_uint_eq(lib_sum(buf, 64), 0xffff);
	/* sums of parts add up (the pseudo header plus the segment) */
	for (size_t n = 0; n < 200; n += 2) {
		uint8_t b[2];
		ntm_csum_store(b, ntm_csum_fold(ntm_csum_add(ntm_csum_add(0, buf + 1000, n),
							      buf + 1000 + n, 300 - n)));
		ck_assert_uint_eq(get16(b), ref_fold(ref_add(0, buf + 1000, 300)));
	}
}
END_TEST

/* The virtio_net_hdr the kernel gives a super-packet built by build(). */
static struct ntm_vnet_hdr vhdr(const struct pspec *s, size_t gso_size)
{
	struct ntm_vnet_hdr h = { 0 };
	size_t l3 = s->ver == 4 ? 20 + s->ipopt : 40;

	h.flags = NTM_VNET_F_NEEDS_CSUM;
	if (s->proto == 6)
		h.gso_type = s->ver == 4 ? NTM_VNET_GSO_TCPV4 : NTM_VNET_GSO_TCPV6;
	else
		h.gso_type = NTM_VNET_GSO_UDP_L4;
	h.gso_size = (uint16_t)gso_size;
	h.hdr_len = (uint16_t)(l3 + (s->proto == 6 ? 20 + s->tcpopt : 8));
	h.csum_start = (uint16_t)l3;
	h.csum_offset = s->proto == 6 ? 16 : 6;
	return h;
}

/* Cut the super-packet of s with gso_size and this MTU, and check every
 * segment against the original; mss: the payload per segment expected. */
static void cut_and_check(const struct pspec *s, size_t gso_size, size_t mtu, size_t mss)
{
	struct ntm_vnet_hdr h = vhdr(s, gso_size);
	size_t len = build(super, s), l3 = s->ver == 4 ? 20 + s->ipopt : 40;
	size_t hdr = l3 + (s->proto == 6 ? 20 + s->tcpopt : 8);
	struct ntm_gso g;
	/* the kernel leaves only the pseudo-header sum in the field */
	memset(super + l3 + (s->proto == 6 ? 16 : 6), 0xab, 2);

	size_t want = s->payload ? (s->payload + mss - 1) / mss : 1;
	int n = ntm_gso_init(&g, &h, super, len, mtu);
	ck_assert_int_eq(n, (int)want);
	for (size_t i = 0, off = 0; i < want; i++, off += mss) {
		size_t pl = s->payload - off < mss ? s->payload - off : mss;
		size_t sl = ntm_gso_seg(&g, i, seg);
		ck_assert_uint_eq(sl, hdr + pl);
		ck_assert_uint_eq(ntm_gso_seg_len(&g, i), sl);
		ck_assert_uint_le(sl, mtu);
		ck_assert_uint_eq(ip_len(seg), sl);
		ck_assert_msg(ref_ip_ok(seg), "segment %zu: IPv4 header checksum", i);
		ck_assert_msg(ref_l4_ok(seg, sl), "segment %zu: L4 checksum", i);
		ck_assert_mem_eq(seg + hdr, super + hdr + off, pl);
		const uint8_t *l4 = seg + l3, *o4 = super + l3;
		ck_assert_mem_eq(l4, o4, 4); /* ports */
		if (s->ver == 4) {
			ck_assert_uint_eq(get16(seg + 4), (uint16_t)(s->id + i));
			ck_assert_mem_eq(seg + 6, super + 6, 4); /* flags, TTL, protocol */
			ck_assert_mem_eq(seg + 12, super + 12, l3 - 12);
		} else {
			ck_assert_mem_eq(seg, super, 4);
			ck_assert_mem_eq(seg + 6, super + 6, 34);
		}
		if (s->proto == 17) {
			ck_assert_uint_eq(get16(l4 + 4), sl - l3);
			continue;
		}
		ck_assert_uint_eq(get32(l4 + 4), s->seq + (uint32_t)off);
		ck_assert_mem_eq(l4 + 8, o4 + 8, 5);
		ck_assert_mem_eq(l4 + 14, o4 + 14, 2);
		ck_assert_mem_eq(l4 + 18, o4 + 18, 2 + s->tcpopt);
		uint8_t f = s->flags;
		if (i + 1 < want)
			f &= (uint8_t)~(TF_FIN | TF_PSH);
		if (i > 0)
			f &= (uint8_t)~TF_CWR;
		ck_assert_uint_eq(l4[13], f);
	}
}

START_TEST(test_tcp_super_packets_are_cut_into_segments_that_each_verify)
{
	static const size_t sizes[] = { 1, 1335, 1336, 1337, 2672, 9001, 65535 - 60 - 40 };
	for (unsigned v = 4; v <= 6; v += 2)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct pspec s = pspec_tcp(v, sizes[i]);
			s.flags = TF_ACK | TF_PSH | TF_FIN | TF_CWR;
			cut_and_check(&s, 1336, 1500, 1336);
			s.tcpopt = 0;
			s.flags = TF_ACK;
			cut_and_check(&s, 1001, 1388, 1001); /* odd size */
		}
	/* IPv4 options travel in every segment */
	struct pspec s = pspec_tcp(4, 20000);
	s.ipopt = 8;
	cut_and_check(&s, 1000, 1388, 1000);
}
END_TEST

START_TEST(test_a_tcp_gso_size_over_the_mtu_is_cut_smaller)
{
	struct pspec s = pspec_tcp(4, 30000);
	/* 1388 - 20 - 32 = 1336 bytes of payload fit */
	cut_and_check(&s, 1448, 1388, 1336);
	s = pspec_tcp(6, 30000);
	cut_and_check(&s, 1448, 1388, 1388 - 40 - 32);
}
END_TEST

START_TEST(test_udp_super_packets_uso_are_cut_into_datagrams_that_each_verify)
{
	for (unsigned v = 4; v <= 6; v += 2) {
		struct pspec s = pspec_tcp(v, 0);
		s.proto = 17;
		s.payload = 12345;
		cut_and_check(&s, 1200, 1388, 1200);
		s.payload = 1200 * 7;
		cut_and_check(&s, 1200, 1388, 1200);
		s.payload = 17;
		cut_and_check(&s, 5, 1388, 5);
	}
}
END_TEST

START_TEST(test_what_cannot_be_cut_is_refused)
{
	struct ntm_gso g;
	struct pspec s = pspec_tcp(4, 5000);
	size_t len = build(super, &s);
	struct ntm_vnet_hdr h = vhdr(&s, 1000);

	/* gso_size 0 */
	h.gso_size = 0;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EINVAL);
	h.gso_size = 1000;
	/* a type we do not cut (UFO, 3) */
	h.gso_type = 3;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EPROTONOSUPPORT);
	/* type and packet disagree */
	h.gso_type = NTM_VNET_GSO_TCPV6;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EINVAL);
	h.gso_type = NTM_VNET_GSO_UDP_L4;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EINVAL);
	h.gso_type = NTM_VNET_GSO_TCPV4;
	/* headers cut short */
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, 30, 1388), -EINVAL);
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, 19, 1388), -EINVAL);
	/* a data offset past the end */
	super[20 + 12] = 0xf0;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, 50, 1388), -EINVAL);
	super[20 + 12] = 0x40; /* 16 bytes: below the minimum */
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EINVAL);
	len = build(super, &s);
	/* an IPv4 fragment */
	super[6] = 0x20;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EINVAL);
	len = build(super, &s);
	/* headers that do not fit the MTU; too many segments */
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 52), -EMSGSIZE);
	h.gso_size = 4;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EMSGSIZE);
	/* not IP */
	super[0] = 0x50;
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EINVAL);
	/* IPv6 extension headers are not walked */
	s = pspec_tcp(6, 5000);
	len = build(super, &s);
	h = vhdr(&s, 1000);
	super[6] = 0; /* hop-by-hop */
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EPROTONOSUPPORT);
	/* a UDP datagram over the MTU cannot be cut smaller */
	s = pspec_tcp(4, 0);
	s.proto = 17;
	s.payload = 5000;
	len = build(super, &s);
	h = vhdr(&s, 1400);
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1388), -EMSGSIZE);
	ck_assert_int_eq(ntm_gso_init(&g, &h, super, len, 1428), 4);
}
END_TEST

START_TEST(test_a_partial_checksum_is_completed_in_place)
{
	for (unsigned v = 4; v <= 6; v += 2)
		for (uint8_t proto = 6; proto <= 17; proto += 11)
			for (size_t n = 0; n < 40; n++) {
				struct pspec s = pspec_tcp(v, n);
				s.proto = proto;
				size_t len = build(super, &s);
				struct ntm_vnet_hdr h = vhdr(&s, 0);
				size_t l3 = v == 4 ? 20 : 40, at = l3 + h.csum_offset;
				/* what the kernel leaves: the pseudo-header sum */
				uint16_t ps = ref_fold(ref_pseudo(super, len - l3));
				put16(super + at, ps);
				h.gso_type = 0;
				ck_assert_int_eq(ntm_vnet_csum_complete(&h, super, len), 0);
				ck_assert(ref_l4_ok(super, len));
				ck_assert_uint_ne(get16(super + at), 0);
			}
	/* no flag: untouched; offsets outside the packet: refused */
	struct pspec s = pspec_tcp(4, 10);
	size_t len = build(super, &s);
	struct ntm_vnet_hdr h = { 0 };
	memcpy(seg, super, len);
	ck_assert_int_eq(ntm_vnet_csum_complete(&h, super, len), 0);
	ck_assert_mem_eq(seg, super, len);
	h.flags = NTM_VNET_F_NEEDS_CSUM;
	h.csum_start = (uint16_t)len;
	ck_assert_int_eq(ntm_vnet_csum_complete(&h, super, len), -EINVAL);
	h.csum_start = 20;
	h.csum_offset = (uint16_t)(len - 21);
	ck_assert_int_eq(ntm_vnet_csum_complete(&h, super, len), -EINVAL);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	ck_assert_int_eq(ntm_vnet_csum_complete(&h, super, len), -EINVAL);
}
END_TEST

START_TEST(test_the_virtio_header_reads_back_what_was_written)
{
	struct ntm_vnet_hdr a = { 1, 4, 0x1234, 0x0567, 40, 16 }, b;
	uint8_t raw[NTM_VNET_HDR_LEN];
	ntm_vnet_hdr_put(raw, &a);
	ntm_vnet_hdr_get(&b, raw);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	ck_assert_uint_eq(raw[0], 1);
	ck_assert_uint_eq(raw[1], 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gso");
	TCase *tc = tcase_create("gso");
	tcase_add_test(tc, test_the_checksum_agrees_with_rfc1071_for_every_length_and_alignment);
	tcase_add_test(tc, test_tcp_super_packets_are_cut_into_segments_that_each_verify);
	tcase_add_test(tc, test_a_tcp_gso_size_over_the_mtu_is_cut_smaller);
	tcase_add_test(tc, test_udp_super_packets_uso_are_cut_into_datagrams_that_each_verify);
	tcase_add_test(tc, test_what_cannot_be_cut_is_refused);
	tcase_add_test(tc, test_a_partial_checksum_is_completed_in_place);
	tcase_add_test(tc, test_the_virtio_header_reads_back_what_was_written);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
