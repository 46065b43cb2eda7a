/* gro.c - coalescing decrypted TCP segments for the TUN device; see gro.h. */
#include "gro.h"

#include <string.h>

#include "util.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_URG 0x20
#define TCP_CWR 0x80

/* What parse() learned of a TCP segment. */
struct seg {
	unsigned version;
	size_t l3len, hdrlen, payload;
	uint32_t seq;
	uint8_t flags;
	uint8_t key[36];
	size_t keylen;
};

void ntm_gro_init(struct ntm_gro *g, ntm_gro_emit_fn emit, void *ctx)
{
	g->emit = emit;
	g->ctx = ctx;
	g->clock = 0;
	g->merged = g->supers = 0;
	for (unsigned i = 0; i < NTM_GRO_FLOWS; i++)
		g->flow[i].used = false;
}

/* The addresses of any TCP packet (IPv4 protocol 6, IPv6 next header 6),
 * even one we would not merge: its connection's held data goes first. */
static size_t tcp_addrs(const uint8_t *pkt, size_t len, uint8_t key[32])
{
	if (len >= 20 && pkt[0] >> 4 == 4 && pkt[9] == 6) {
		memcpy(key, pkt + 12, 8);
		return 8;
	}
	if (len >= 40 && pkt[0] >> 4 == 6 && pkt[6] == 6) {
		memcpy(key, pkt + 8, 32);
		return 32;
	}
	return 0;
}

/* A TCP segment of the plain shape we merge (gro.h), checksum not yet
 * looked at. */
static bool parse(const uint8_t *pkt, size_t len, struct seg *s)
{
	if (len < 20)
		return false;
	s->version = pkt[0] >> 4;
	if (s->version == 4) {
		/* 0x45: no options; MF, the offset and the reserved bit clear */
		if (pkt[0] != 0x45 || pkt[9] != 6 || ntm_get_be16(pkt + 2) != len ||
		    (ntm_get_be16(pkt + 6) & 0xbfff) != 0)
			return false;
		if (ntm_csum_fold(ntm_csum_add(0, pkt, 20)) != 0xffff)
			return false;
		s->l3len = 20;
	} else if (s->version == 6) {
		if (len < 40 || pkt[6] != 6 || (size_t)ntm_get_be16(pkt + 4) + 40 != len)
			return false;
		s->l3len = 40;
	} else {
		return false;
	}
	if (s->l3len + 20 > len)
		return false;
	const uint8_t *th = pkt + s->l3len;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || s->l3len + doff > len)
		return false;
	s->hdrlen = s->l3len + doff;
	s->payload = len - s->hdrlen;
	s->seq = ntm_get_be32(th + 4);
	s->flags = th[13];
	s->keylen = tcp_addrs(pkt, len, s->key);
	memcpy(s->key + s->keylen, th, 4);
	s->keylen += 4;
	return true;
}

static bool csum_ok(const uint8_t *pkt, size_t len, const struct seg *s)
{
	size_t l4len = len - s->l3len;
	uint64_t sum = ntm_csum_pseudo(pkt, s->version, 6, l4len);

	return ntm_csum_fold(ntm_csum_add(sum, pkt + s->l3len, l4len)) == 0xffff;
}

static void emit_flow(struct ntm_gro *g, struct ntm_gro_flow *f)
{
	uint8_t *ip = f->buf + NTM_VNET_HDR_LEN;
	struct ntm_vnet_hdr v = { 0 };

	f->used = false;
	if (f->count > 1) {
		if (f->version == 4) {
			ntm_put_be16(ip + 2, (uint16_t)f->len);
			ip[10] = ip[11] = 0;
			ntm_csum_store(ip + 10, (uint16_t)~ntm_csum_fold(ntm_csum_add(0, ip, 20)));
		} else {
			ntm_put_be16(ip + 4, (uint16_t)(f->len - 40));
		}
		/* the kernel completes the checksum from the pseudo-header
		 * sum (or, delivering locally, trusts it: every segment's
		 * checksum was verified before it joined) */
		ntm_csum_store(ip + f->l3len + 16,
			       ntm_csum_fold(ntm_csum_pseudo(ip, f->version, 6, f->len - f->l3len)));
		v.flags = NTM_VNET_F_NEEDS_CSUM;
		v.gso_type = f->version == 4 ? NTM_VNET_GSO_TCPV4 : NTM_VNET_GSO_TCPV6;
		v.hdr_len = (uint16_t)f->hdrlen;
		v.gso_size = (uint16_t)f->mss;
		v.csum_start = (uint16_t)f->l3len;
		v.csum_offset = 16;
		g->supers++;
	}
	ntm_vnet_hdr_put(f->buf, &v);
	g->emit(g->ctx, f->buf, NTM_VNET_HDR_LEN + f->len);
}

void ntm_gro_flush(struct ntm_gro *g)
{
	for (unsigned i = 0; i < NTM_GRO_FLOWS; i++)
		if (g->flow[i].used)
			emit_flow(g, &g->flow[i]);
}

/* Unchanged, with a zero header; after any held data of a TCP packet's
 * address pair, so a connection's packets stay in order. */
static void pass(struct ntm_gro *g, uint8_t *pkt, size_t len)
{
	uint8_t key[32];
	size_t kl = tcp_addrs(pkt, len, key);

	for (unsigned i = 0; kl && i < NTM_GRO_FLOWS; i++) {
		struct ntm_gro_flow *f = &g->flow[i];
		if (f->used && f->keylen == kl + 4 && memcmp(f->key, key, kl) == 0)
			emit_flow(g, f);
	}
	memset(pkt - NTM_VNET_HDR_LEN, 0, NTM_VNET_HDR_LEN);
	g->emit(g->ctx, pkt - NTM_VNET_HDR_LEN, NTM_VNET_HDR_LEN + len);
}

static struct ntm_gro_flow *find(struct ntm_gro *g, const struct seg *s)
{
	for (unsigned i = 0; i < NTM_GRO_FLOWS; i++) {
		struct ntm_gro_flow *f = &g->flow[i];
		if (f->used && f->keylen == s->keylen && memcmp(f->key, s->key, s->keylen) == 0)
			return f;
	}
	return NULL;
}

/* Can segment s (at pkt) follow what f holds? The rules of gro.h. */
static bool can_join(const struct ntm_gro_flow *f, const uint8_t *pkt, const struct seg *s)
{
	const uint8_t *h = f->buf + NTM_VNET_HDR_LEN;
	const uint8_t *th = h + f->l3len, *tn = pkt + s->l3len;

	if (s->hdrlen != f->hdrlen || s->seq != f->next_seq || s->payload == 0 ||
	    s->payload > f->mss || f->len + s->payload > NTM_GRO_MAX_PACKET)
		return false;
	if (f->version == 4) {
		/* TOS, TTL, DF; the ID one more than the last one's */
		if (pkt[1] != h[1] || pkt[8] != h[8] || ((pkt[6] ^ h[6]) & 0x40) ||
		    ntm_get_be16(pkt + 4) != f->next_id)
			return false;
	} else if (memcmp(pkt, h, 4) != 0 || pkt[7] != h[7]) {
		return false; /* traffic class, flow label, hop limit */
	}
	/* data offset (and reserved bits), window, ACK number, urgent
	 * pointer (meaningless without URG, but cutting again could not give
	 * it back), options; flags but PSH and FIN, which may end the flow */
	return (s->flags & TCP_CWR) == 0 && ((th[13] ^ tn[13]) & ~(TCP_PSH | TCP_FIN)) == 0 &&
	       th[12] == tn[12] && memcmp(th + 14, tn + 14, 2) == 0 &&
	       memcmp(th + 8, tn + 8, 4) == 0 && memcmp(th + 18, tn + 18, 2) == 0 &&
	       memcmp(th + 20, tn + 20, f->hdrlen - f->l3len - 20) == 0;
}

/* The slot for a new flow: a free one, else the least recently used, written out. */
static struct ntm_gro_flow *slot(struct ntm_gro *g)
{
	struct ntm_gro_flow *old = &g->flow[0];

	for (unsigned i = 0; i < NTM_GRO_FLOWS; i++) {
		struct ntm_gro_flow *f = &g->flow[i];
		if (!f->used)
			return f;
		if (f->stamp < old->stamp)
			old = f;
	}
	emit_flow(g, old);
	return old;
}

void ntm_gro_add(struct ntm_gro *g, uint8_t *pkt, size_t len)
{
	struct seg s;

	if (!parse(pkt, len, &s)) {
		pass(g, pkt, len);
		return;
	}
	struct ntm_gro_flow *f = find(g, &s);
	if (f) {
		if (can_join(f, pkt, &s) && csum_ok(pkt, len, &s)) {
			uint8_t *ip = f->buf + NTM_VNET_HDR_LEN;
			memcpy(ip + f->len, pkt + s.hdrlen, s.payload);
			f->len += s.payload;
			f->count++;
			f->next_seq += (uint32_t)s.payload;
			f->next_id++;
			f->stamp = ++g->clock;
			g->merged++;
			/* a short segment or PSH/FIN ends the flow: the kernel
			 * sees the flags on the super-packet, the cut puts them
			 * back on its last segment */
			if (s.payload < f->mss || (s.flags & (TCP_PSH | TCP_FIN))) {
				ip[f->l3len + 13] |= s.flags & (TCP_PSH | TCP_FIN);
				emit_flow(g, f);
			}
			return;
		}
		emit_flow(g, f);
	}
	if (s.payload == 0 || (s.flags & (TCP_SYN | TCP_RST | TCP_URG | TCP_PSH | TCP_FIN | TCP_CWR)) ||
	    !csum_ok(pkt, len, &s)) {
		pass(g, pkt, len);
		return;
	}
	f = slot(g);
	f->used = true;
	f->version = (uint8_t)s.version;
	memcpy(f->key, s.key, s.keylen);
	f->keylen = s.keylen;
	f->l3len = s.l3len;
	f->hdrlen = s.hdrlen;
	f->mss = s.payload;
	f->len = len;
	f->count = 1;
	f->next_seq = s.seq + (uint32_t)s.payload;
	f->next_id = s.version == 4 ? (uint16_t)(ntm_get_be16(pkt + 4) + 1) : 0;
	f->stamp = ++g->clock;
	memcpy(f->buf + NTM_VNET_HDR_LEN, pkt, len);
}
