/* mapq.c - see mapq.h. The response is written byte by byte: header,
 * the client's question bytes, one record whose owner is a pointer to the
 * question (offset 12), then OPT. The record's data is the entry's address
 * (A, AAAA) or its name in wire form (PTR); a map name that does not make
 * a valid wire name (an empty or over-long label) is not answered here. */
#include "mapq.h"

#include <string.h>
#include <sys/socket.h>

#include "dnsconst.h"
#include "dnsname.h"

#define HDR 12
#define RR_FIXED 12        /* owner pointer 2, type 2, class 2, TTL 4, rdlength 2 */
#define OPT_LEN 11

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One lookup, a torn read tried once more. */
static enum ntm_namemap_res find(const struct ntm_namemap *m, const struct dnsq *q,
				 enum dnsq_kind kind, uint64_t now, struct ntm_namemap_rec *r)
{
	enum ntm_namemap_res res = NTM_NAMEMAP_MISS;

	for (int i = 0; i < 2; i++) {
		if (kind == DNSQ_OVERLAY_NAME)
			res = ntm_namemap_find_name(m, q->name, strlen(q->name), now, r);
		else
			res = ntm_namemap_find_addr(m, q->af == AF_INET ? 4 : 6, q->addr, now, r);
		if (res != NTM_NAMEMAP_TORN)
			break;
	}
	return res;
}

/* Whether the map could hold q's answer at all. */
static bool mine(const struct dnsq *q, enum dnsq_kind kind)
{
	if (q->question_len == 0 || q->qclass != DNS_C_IN || q->qname_len == 0)
		return false;
	if (kind == DNSQ_OVERLAY_NAME)
		/* "" (too long to show) and \DDD escapes are never a map name */
		return (q->qtype == DNS_T_A || q->qtype == DNS_T_AAAA) && q->name[0] &&
		       strchr(q->name, '\\') == NULL;
	return kind == DNSQ_OVERLAY_ADDR && q->qtype == DNS_T_PTR &&
	       (q->af == AF_INET || q->af == AF_INET6);
}

static int fallback(enum mapq_why *why, enum mapq_why w)
{
	*why = w;
	return 0;
}

int mapq_answer(const struct ntm_namemap *m, const struct dnsq *q, enum dnsq_kind kind,
		uint64_t now_ms, uint8_t *resp, size_t cap, enum mapq_why *why)
{
	struct ntm_namemap_rec r;
	uint8_t rdata[NTM_DNS_MAX_QNAME];
	size_t rdlen, n;

	if (!mine(q, kind))
		return fallback(why, MAPQ_NOT_MINE);
	if (!m)
		return fallback(why, MAPQ_MISS);
	switch (find(m, q, kind, now_ms, &r)) {
	case NTM_NAMEMAP_HIT:
		break;
	case NTM_NAMEMAP_STALE:
		return fallback(why, MAPQ_STALE);
	case NTM_NAMEMAP_TORN:
		return fallback(why, MAPQ_TORN);
	default:
		return fallback(why, MAPQ_MISS);
	}
	if (kind == DNSQ_OVERLAY_ADDR) {
		rdlen = ntm_dnsname_to_wire(r.name, r.name_len, rdata, sizeof(rdata));
		if (rdlen == 0)
			return fallback(why, MAPQ_NOT_MINE);
	} else if (q->qtype == DNS_T_A) {
		if (!r.has4)
			return fallback(why, MAPQ_NOT_MINE); /* NODATA: ntm-tund's */
		memcpy(rdata, r.v4, 4);
		rdlen = 4;
	} else {
		if (!r.has6)
			return fallback(why, MAPQ_NOT_MINE);
		memcpy(rdata, r.v6, 16);
		rdlen = 16;
	}
	n = HDR + q->question_len + RR_FIXED + rdlen + (q->edns ? OPT_LEN : 0);
	if (n > cap || n > q->limit)
		return fallback(why, MAPQ_NOROOM);
	/* HIT: expires_ms - now_ms is in (0, NTM_NAMEMAP_HORIZON_MS] */
	uint32_t ttl = (uint32_t)((r.expires_ms - now_ms) / 1000);

	put16(resp, q->id);
	resp[2] = (uint8_t)(0x80 | (q->opcode & 0x0f) << 3 | 0x04 | (q->rd ? 0x01 : 0));
	resp[3] = (uint8_t)(0x80 | (q->cd ? 0x10 : 0));
	put16(resp + 4, 1);
	put16(resp + 6, 1);
	put16(resp + 8, 0);
	put16(resp + 10, q->edns ? 1 : 0);
	memcpy(resp + HDR, q->question, q->question_len);
	uint8_t *p = resp + HDR + q->question_len;
	put16(p, 0xc000 | HDR);
	put16(p + 2, q->qtype);
	put16(p + 4, DNS_C_IN);
	put32(p + 6, ttl);
	put16(p + 10, (uint16_t)rdlen);
	memcpy(p + RR_FIXED, rdata, rdlen);
	p += RR_FIXED + rdlen;
	if (q->edns) {
		p[0] = 0; /* root */
		put16(p + 1, DNS_T_OPT);
		put16(p + 3, NTM_DNS_EDNS_SIZE);
		put32(p + 5, q->do_bit ? 0x8000 : 0); /* extended rcode 0, version 0, DO */
		put16(p + 9, 0);
	}
	*why = MAPQ_ANSWERED;
	return (int)n;
}

const char *mapq_why_name(enum mapq_why why)
{
	switch (why) {
	case MAPQ_ANSWERED: return "answered";
	case MAPQ_NOT_MINE: return "not the map's";
	case MAPQ_MISS: return "miss";
	case MAPQ_STALE: return "stale";
	case MAPQ_TORN: return "torn";
	case MAPQ_NOROOM: return "too large";
	}
	return "unknown";
}
