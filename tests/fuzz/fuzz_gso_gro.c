/* fuzz_gso_gro.c - libFuzzer harness for lib/gso.c and lib/gro.c.
 *
 * The first input byte picks the mode.
 *   0  GSO: a virtio_net_hdr (10 bytes), an MTU (2 bytes, big-endian), then
 *      the packet the TUN device gave. A cut must give segments of at most
 *      the MTU that between them carry the payload exactly once; completing
 *      a partial checksum stays inside the packet.
 *   1  GRO: packets, each a flags byte (bit 0: the harness writes right
 *      checksums into it, so the merging paths run), a 2-byte length and
 *      the bytes: what a peer can make us decrypt. Everything the coalescer
 *      emits is re-cut (a super-packet) or taken as is, and each resulting
 *      packet must equal one packet that went in (checksum fields aside),
 *      each input matched exactly once: nothing lost, invented or changed.
 * Nothing may crash, hang, leak or trip a sanitizer. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gro.h"
#include "gso.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAXIN 64

static uint8_t pkt[NTM_VNET_HDR_LEN + 70000], seg[70000];
static struct ntm_gro gro;
static struct {
	uint8_t b[2048];
	size_t len;
	bool matched;
} in[MAXIN];
static unsigned nin;

static void gso_mode(const uint8_t *data, size_t size)
{
	struct ntm_vnet_hdr h;
	struct ntm_gso g;

	if (size < NTM_VNET_HDR_LEN + 2)
		return;
	ntm_vnet_hdr_get(&h, data);
	size_t mtu = ntm_get_be16(data + NTM_VNET_HDR_LEN);
	data += NTM_VNET_HDR_LEN + 2;
	size -= NTM_VNET_HDR_LEN + 2;
	memcpy(pkt, data, size);
	(void)ntm_vnet_csum_complete(&h, pkt, size);
	memcpy(pkt, data, size);
	int n = ntm_gso_init(&g, &h, pkt, size, mtu);
	if (n < 0)
		return;
	size_t carried = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		size_t len = ntm_gso_seg(&g, i, seg);
		CHECK(len <= mtu && len >= g.hdrlen && len == ntm_gso_seg_len(&g, i));
		CHECK(i + 1 == (size_t)n || len == ntm_gso_seg_len(&g, 0));
		CHECK(memcmp(seg + g.hdrlen, pkt + g.hdrlen + carried, len - g.hdrlen) == 0);
		carried += len - g.hdrlen;
	}
	CHECK(carried == size - g.hdrlen);
}

/* The TCP checksum field's offset in p, or 0 when p is not TCP as gro.c
 * sees it (those bytes are compared too). */
static size_t tcp_csum_at(const uint8_t *p, size_t len)
{
	size_t l3;

	if (len >= 20 && p[0] >> 4 == 4 && p[9] == 6)
		l3 = (size_t)(p[0] & 15) * 4;
	else if (len >= 40 && p[0] >> 4 == 6 && p[6] == 6)
		l3 = 40;
	else
		return 0;
	return l3 >= 20 && l3 + 20 <= len ? l3 + 16 : 0;
}

/* Write right IPv4 header and TCP checksums into p where its shape allows. */
static void fix(uint8_t *p, size_t len)
{
	size_t at = tcp_csum_at(p, len);

	if (!at)
		return;
	size_t l3 = at - 16;
	if (p[0] >> 4 == 4) {
		p[10] = p[11] = 0;
		ntm_csum_store(p + 10, (uint16_t)~ntm_csum_fold(ntm_csum_add(0, p, l3)));
	}
	p[at] = p[at + 1] = 0;
	uint64_t s = ntm_csum_pseudo(p, p[0] >> 4, 6, len - l3);
	ntm_csum_store(p + at, (uint16_t)~ntm_csum_fold(ntm_csum_add(s, p + l3, len - l3)));
}

/* a and b equal but for the checksum at `at` (0: none) and, in IPv4 TCP,
 * the header checksum (a valid field may be 0 or 0xffff alike). */
static bool same(const uint8_t *a, const uint8_t *b, size_t len, size_t at)
{
	for (size_t i = 0; i < len; i++) {
		if (at && (i == at || i == at + 1 || (a[0] >> 4 == 4 && (i == 10 || i == 11))))
			continue;
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* One packet that must have gone in. */
static void match(const uint8_t *p, size_t len)
{
	size_t at = tcp_csum_at(p, len);

	for (unsigned i = 0; i < nin; i++) {
		if (in[i].matched || in[i].len != len)
			continue;
		if (same(in[i].b, p, len, at)) {
			in[i].matched = true;
			return;
		}
	}
	abort(); /* changed or invented */
}

static void emit(void *ctx, uint8_t *hdr, size_t len)
{
	static uint8_t one[70000];
	struct ntm_vnet_hdr h;
	struct ntm_gso g;

	(void)ctx;
	CHECK(len >= NTM_VNET_HDR_LEN && len <= NTM_VNET_HDR_LEN + NTM_GRO_MAX_PACKET);
	ntm_vnet_hdr_get(&h, hdr);
	if (h.gso_type == NTM_VNET_GSO_NONE) {
		CHECK(h.flags == 0);
		match(hdr + NTM_VNET_HDR_LEN, len - NTM_VNET_HDR_LEN);
		return;
	}
	int n = ntm_gso_init(&g, &h, hdr + NTM_VNET_HDR_LEN, len - NTM_VNET_HDR_LEN, 65535);
	CHECK(n >= 2);
	for (size_t i = 0; i < (size_t)n; i++)
		match(one, ntm_gso_seg(&g, i, one));
}

static void gro_mode(const uint8_t *data, size_t size)
{
	ntm_gro_init(&gro, emit, NULL);
	nin = 0;
	while (size >= 3 && nin < MAXIN) {
		bool fixit = data[0] & 1;
		size_t len = ntm_get_be16(data + 1) % sizeof(in[0].b);
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		memcpy(in[nin].b, data, len);
		if (fixit)
			fix(in[nin].b, len);
		in[nin].len = len;
		in[nin].matched = false;
		memcpy(pkt + NTM_VNET_HDR_LEN, in[nin].b, len);
		nin++;
		ntm_gro_add(&gro, pkt + NTM_VNET_HDR_LEN, len);
		memset(pkt, 0xa5, NTM_VNET_HDR_LEN + len); /* the buffer is reused */
		data += len;
		size -= len;
	}
	ntm_gro_flush(&gro);
	for (unsigned i = 0; i < nin; i++)
		CHECK(in[i].matched);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		gro_mode(data + 1, size - 1);
	else
		gso_mode(data + 1, size - 1);
	return 0;
}
