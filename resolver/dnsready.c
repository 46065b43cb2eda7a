/* dnsready.c - responses ready to send (see dnsready.h). dnsready_make walks
 * a response the stub built once, when it is stored; dnsready_patch runs on
 * every cache hit and only copies and stores, bounds-checked against the
 * ready reply's own header. */
#include "dnsready.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "dnsconst.h"

#define OPT_LEN 11      /* root owner, TYPE, CLASS, TTL, RDLENGTH 0 */
#define MAX_LABELS 128

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Skip a name at msg[pos] (labels, ending in a root label or a pointer);
 * returns the offset after it, or 0. Pointers are not followed: only the
 * bytes this record takes matter here. */
static size_t skip_name(const uint8_t *msg, size_t len, size_t pos, bool allow_ptr)
{
	for (unsigned n = 0; n <= MAX_LABELS; n++) {
		if (pos >= len)
			return 0;
		uint8_t b = msg[pos];
		if (b == 0)
			return pos + 1;
		if ((b & 0xc0) == 0xc0)
			return allow_ptr && len - pos >= 2 ? pos + 2 : 0;
		if (b > 63 || len - pos - 1 < b)
			return 0;
		pos += 1 + (size_t)b;
	}
	return 0;
}

static bool ages(enum dnsready_age age, unsigned section, uint16_t type)
{
	if (age == DNSREADY_AGE_ALL)
		return true;
	return section == 1 && (type == DNS_T_A || type == DNS_T_AAAA || type == DNS_T_PTR);
}

int dnsready_make(const uint8_t *resp, size_t len, enum dnsready_age age, uint8_t *out,
		  size_t cap)
{
	size_t pos, qend, opt = 0;
	unsigned nttl = 0, count[4];

	if (len < 12 || len > 65535 || rd16(resp + 4) != 1)
		return -EBADMSG;
	for (unsigned s = 1; s < 4; s++)
		count[s] = rd16(resp + 4 + 2 * s);
	pos = skip_name(resp, len, 12, false);
	if (pos == 0 || len - pos < 4 || pos - 12 > NTM_DNS_MAX_QNAME)
		return -EBADMSG;
	qend = pos + 4;
	pos = qend;
	if (cap < DNSREADY_HDR)
		return -EMSGSIZE;
	/* the offsets go first: written as found, the response after them */
	uint8_t *offs = out + DNSREADY_HDR;
	for (unsigned s = 1; s < 4; s++) {
		for (unsigned i = 0; i < count[s]; i++) {
			size_t start = pos;
			pos = skip_name(resp, len, pos, true);
			if (pos == 0 || len - pos < 10)
				return -EBADMSG;
			uint16_t type = rd16(resp + pos);
			uint16_t rdlen = rd16(resp + pos + 8);
			if (len - pos - 10 < rdlen)
				return -EBADMSG;
			if (type == DNS_T_OPT) {
				/* ours: last, owned by the root, no options */
				if (s != 3 || i != count[s] - 1 || pos != start + 1 || rdlen != 0)
					return -EBADMSG;
				opt = start;
			} else if (ages(age, s, type)) {
				if ((size_t)(offs - out) + 2 > cap)
					return -EMSGSIZE;
				wr16(offs, (uint16_t)(pos + 4));
				offs += 2;
				nttl++;
			}
			pos += 10 + (size_t)rdlen;
		}
	}
	if (pos != len)
		return -EBADMSG;
	size_t total = (size_t)(offs - out) + len;
	if (total > cap)
		return -EMSGSIZE;
	wr16(out, (uint16_t)len);
	wr16(out + 2, (uint16_t)nttl);
	wr16(out + 4, (uint16_t)opt);
	wr16(out + 6, (uint16_t)qend);
	memcpy(offs, resp, len);
	return (int)total;
}

/* Our OPT for q: the stub's UDP size, the extended RCODE, version 0, DO. */
static void put_opt(uint8_t *p, const struct dnsq *q, uint8_t ext_rcode)
{
	p[0] = 0;
	wr16(p + 1, DNS_T_OPT);
	wr16(p + 3, NTM_DNS_EDNS_SIZE);
	p[5] = ext_rcode;
	p[6] = 0;
	p[7] = q->do_bit ? 0x80 : 0;
	p[8] = 0;
	wr16(p + 9, 0);
}

int dnsready_patch(const uint8_t *ready, size_t rlen, const struct dnsq *q, uint32_t age_s,
		   uint8_t *out, size_t cap)
{
	if (rlen < DNSREADY_HDR)
		return -EINVAL;
	size_t w = rd16(ready), nttl = rd16(ready + 2), opt = rd16(ready + 4);
	size_t qend = rd16(ready + 6);
	const uint8_t *offs = ready + DNSREADY_HDR;
	const uint8_t *msg = offs + 2 * nttl;

	if (rlen != DNSREADY_HDR + 2 * nttl + w || w < 12 || qend > w ||
	    (opt != 0 && (opt < qend || w - opt != OPT_LEN)))
		return -EINVAL;
	if (q->question_len != qend - 12)
		return -EINVAL;
	size_t body = opt ? opt : w;
	size_t full = body + (q->edns ? OPT_LEN : 0);
	uint8_t ext = opt ? msg[opt + 5] : 0;
	uint8_t f2 = msg[2], f3 = msg[3];

	if (full > q->limit) {
		/* what dnsq_build.c's finish() sends: header and question, TC */
		size_t n = qend + (q->edns ? OPT_LEN : 0);
		if (n > cap)
			return -EMSGSIZE;
		wr16(out, q->id);
		out[2] = (uint8_t)(0x80 | (f2 & 0x04) | 0x02 | (q->rd ? 0x01 : 0));
		out[3] = (uint8_t)(0x80 | (q->cd ? 0x10 : 0) | (f3 & 0x0f));
		wr16(out + 4, 1);
		wr16(out + 6, 0);
		wr16(out + 8, 0);
		wr16(out + 10, q->edns ? 1 : 0);
		memcpy(out + 12, q->question, q->question_len);
		if (q->edns)
			put_opt(out + qend, q, ext);
		return (int)n;
	}
	if (full > cap)
		return -EMSGSIZE;
	memcpy(out, msg, body);
	wr16(out, q->id);
	out[2] = (uint8_t)((f2 & ~0x01) | (q->rd ? 0x01 : 0));
	out[3] = (uint8_t)((f3 & ~0x10) | (q->cd ? 0x10 : 0));
	memcpy(out + 12, q->question, q->question_len);
	for (size_t i = 0; i < nttl; i++) {
		size_t o = rd16(offs + 2 * i);
		if (o < qend || o + 4 > body)
			return -EINVAL;
		if (age_s == 0)
			continue;
		uint32_t ttl = (uint32_t)out[o] << 24 | (uint32_t)out[o + 1] << 16 |
			       (uint32_t)out[o + 2] << 8 | out[o + 3];
		ttl = ttl > age_s ? ttl - age_s : 0;
		out[o] = (uint8_t)(ttl >> 24);
		out[o + 1] = (uint8_t)(ttl >> 16);
		out[o + 2] = (uint8_t)(ttl >> 8);
		out[o + 3] = (uint8_t)ttl;
	}
	uint16_t ar = rd16(msg + 10);
	if (opt && !q->edns)
		ar--;
	else if (!opt && q->edns)
		ar++;
	wr16(out + 10, ar);
	if (q->edns)
		put_opt(out + body, q, ext);
	return (int)full;
}
