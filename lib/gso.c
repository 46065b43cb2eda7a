/* gso.c - the virtio_net_hdr, checksums and GSO segmentation; see gso.h. */
#include "gso.h"

#include <errno.h>
#include <string.h>

#include "util.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

void ntm_vnet_hdr_get(struct ntm_vnet_hdr *h, const uint8_t *b)
{
	h->flags = b[0];
	h->gso_type = b[1];
	memcpy(&h->hdr_len, b + 2, 2);
	memcpy(&h->gso_size, b + 4, 2);
	memcpy(&h->csum_start, b + 6, 2);
	memcpy(&h->csum_offset, b + 8, 2);
}

void ntm_vnet_hdr_put(uint8_t *b, const struct ntm_vnet_hdr *h)
{
	b[0] = h->flags;
	b[1] = h->gso_type;
	memcpy(b + 2, &h->hdr_len, 2);
	memcpy(b + 4, &h->gso_size, 2);
	memcpy(b + 6, &h->csum_start, 2);
	memcpy(b + 8, &h->csum_offset, 2);
}

/* 32-bit words added into 64 bits cannot carry out for any length we see
 * (2^32 words); RFC 1071 says the word size may be any multiple of 16. */
uint64_t ntm_csum_add(uint64_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t a = 0, c = 0;

	for (; len >= 16; b += 16, len -= 16) {
		uint64_t x, y;
		memcpy(&x, b, 8);
		memcpy(&y, b + 8, 8);
		a += (x & 0xffffffffu) + (x >> 32);
		c += (y & 0xffffffffu) + (y >> 32);
	}
	for (; len >= 4; b += 4, len -= 4) {
		uint32_t x;
		memcpy(&x, b, 4);
		a += x;
	}
	if (len >= 2) {
		uint16_t x;
		memcpy(&x, b, 2);
		a += x;
		b += 2;
		len -= 2;
	}
	if (len) { /* the odd byte, padded with a zero byte in memory order */
		uint8_t pad[2] = { b[0], 0 };
		uint16_t x;
		memcpy(&x, pad, 2);
		a += x;
	}
	/* fold once so that adding sums of sums cannot carry out either */
	a += c;
	a = (a & 0xffffffffu) + (a >> 32);
	sum += a;
	return (sum & 0xffffffffu) + (sum >> 32);
}

uint16_t ntm_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t ntm_csum_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, size_t l4len)
{
	uint8_t tail[8] = { 0 };
	uint64_t s;

	if (version == 4) {
		s = ntm_csum_add(0, ip + 12, 8);
		tail[1] = proto;
		ntm_put_be16(tail + 2, (uint16_t)l4len);
		return ntm_csum_add(s, tail, 4);
	}
	s = ntm_csum_add(0, ip + 8, 32);
	ntm_put_be32(tail, (uint32_t)l4len);
	tail[7] = proto;
	return ntm_csum_add(s, tail, 8);
}

void ntm_csum_store(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

int ntm_vnet_csum_complete(const struct ntm_vnet_hdr *h, uint8_t *pkt, size_t len)
{
	if (!(h->flags & NTM_VNET_F_NEEDS_CSUM))
		return 0;
	size_t start = h->csum_start, at = start + h->csum_offset;
	if (start > len || at + 2 > len)
		return -EINVAL;
	/* the field holds the pseudo-header sum: fold in the rest, and write
	 * an all-zero result as 0xffff (the same value; UDP's "no checksum"
	 * must not appear by accident), as the kernel does */
	uint16_t c = (uint16_t)~ntm_csum_fold(ntm_csum_add(0, pkt + start, len - start));
	ntm_csum_store(pkt + at, c ? c : 0xffff);
	return 0;
}

int ntm_gso_init(struct ntm_gso *g, const struct ntm_vnet_hdr *h, const uint8_t *pkt,
		 size_t len, size_t mtu)
{
	uint8_t type = h->gso_type & (uint8_t)~NTM_VNET_GSO_ECN;

	memset(g, 0, sizeof(*g));
	if (h->gso_size == 0 || len < 1)
		return -EINVAL;
	g->version = pkt[0] >> 4;
	if (g->version == 4) {
		if (len < 20 || (pkt[0] & 0x0f) < 5)
			return -EINVAL;
		g->l3len = (size_t)(pkt[0] & 0x0f) * 4;
		g->proto = pkt[9];
		if (ntm_get_be16(pkt + 6) & 0x3fff) /* MF or an offset: a fragment */
			return -EINVAL;
	} else if (g->version == 6) {
		if (len < 40)
			return -EINVAL;
		g->l3len = 40;
		g->proto = pkt[6];
		if (g->proto != 6 && g->proto != 17)
			return -EPROTONOSUPPORT; /* extension headers: not walked */
	} else {
		return -EINVAL;
	}
	if (type == NTM_VNET_GSO_TCPV4 || type == NTM_VNET_GSO_TCPV6) {
		if (g->proto != 6 || g->version != (type == NTM_VNET_GSO_TCPV4 ? 4u : 6u))
			return -EINVAL;
		if (g->l3len + 20 > len)
			return -EINVAL;
		size_t doff = (size_t)(pkt[g->l3len + 12] >> 4) * 4;
		if (doff < 20)
			return -EINVAL;
		g->hdrlen = g->l3len + doff;
	} else if (type == NTM_VNET_GSO_UDP_L4) {
		if (g->proto != 17)
			return -EINVAL;
		g->hdrlen = g->l3len + 8;
	} else {
		return -EPROTONOSUPPORT;
	}
	if (g->hdrlen > len)
		return -EINVAL;
	if (g->hdrlen >= mtu)
		return -EMSGSIZE;
	g->mss = h->gso_size;
	if (g->hdrlen + g->mss > mtu) {
		if (g->proto != 6)
			return -EMSGSIZE;
		g->mss = mtu - g->hdrlen;
	}
	size_t payload = len - g->hdrlen;
	g->nseg = payload ? (payload + g->mss - 1) / g->mss : 1;
	if (g->nseg > NTM_GSO_MAX_SEGS)
		return -EMSGSIZE;
	g->pkt = pkt;
	g->len = len;
	return (int)g->nseg;
}

size_t ntm_gso_seg_len(const struct ntm_gso *g, size_t i)
{
	size_t off = i * g->mss, payload = g->len - g->hdrlen;
	size_t n = payload - off < g->mss ? payload - off : g->mss;

	return g->hdrlen + n;
}

size_t ntm_gso_seg(const struct ntm_gso *g, size_t i, uint8_t *out)
{
	size_t off = i * g->mss, seglen = ntm_gso_seg_len(g, i);
	size_t l4len = seglen - g->l3len;
	uint8_t *l4 = out + g->l3len;

	memcpy(out, g->pkt, g->hdrlen);
	memcpy(out + g->hdrlen, g->pkt + g->hdrlen + off, seglen - g->hdrlen);
	if (g->version == 4) {
		ntm_put_be16(out + 2, (uint16_t)seglen);
		ntm_put_be16(out + 4, (uint16_t)(ntm_get_be16(g->pkt + 4) + i));
		out[10] = out[11] = 0;
		ntm_csum_store(out + 10, (uint16_t)~ntm_csum_fold(ntm_csum_add(0, out, g->l3len)));
	} else {
		ntm_put_be16(out + 4, (uint16_t)l4len);
	}
	uint8_t *check;
	if (g->proto == 6) {
		ntm_put_be32(l4 + 4, ntm_get_be32(l4 + 4) + (uint32_t)off);
		if (i + 1 < g->nseg)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		check = l4 + 16;
	} else {
		ntm_put_be16(l4 + 4, (uint16_t)l4len);
		check = l4 + 6;
	}
	check[0] = check[1] = 0;
	uint64_t s = ntm_csum_pseudo(out, g->version, g->proto, l4len);
	uint16_t c = (uint16_t)~ntm_csum_fold(ntm_csum_add(s, l4, l4len));
	if (c == 0 && g->proto == 17)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	ntm_csum_store(check, c);
	return seglen;
}
