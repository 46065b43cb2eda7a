/* dnswalk.c - a bounded walk over a whole DNS message (see dnswalk.h).
 *
 * One cursor r walks the message front to back. A name's own bytes (up to
 * and including its first pointer or its root label) are taken from r; a
 * second cursor follows the pointers. Each pointer must land before the
 * start of the labels that led to it, so the starts strictly decrease and
 * no pointer can loop; DNSWALK_MAX_HOPS and the 255-byte limit bound the
 * work further. */
#include <stdbool.h>

#include "cursor.h"
#include "dnsconst.h"
#include "dnswalk.h"

#define HDR 12
#define MIN_QUESTION 5          /* root name, type, class */
#define MIN_RECORD 11           /* root name, type, class, TTL, rdlength */
#define MAX_NAME 255


/* Take the name at r's position from r (r->len may end before msg_len,
 * e.g. at the end of a record's data); pointers may reach anywhere in
 * msg before the name. */
static enum dnswalk_verdict name(const uint8_t *msg, size_t msg_len, struct ntm_rd *r)
{
	struct ntm_rd f = ntm_rd_init(msg, msg_len);
	size_t seg = r->off, own_end = 0, total = 1;
	unsigned hops = 0;

	f.off = r->off;
	for (;;) {
		uint8_t ll = ntm_rd_u8(&f);
		if (f.err)
			return DNSWALK_SHORT;
		if (ll == 0)
			break;
		if ((ll & 0xc0) == 0xc0) {
			size_t to = (size_t)(ll & 0x3f) << 8 | ntm_rd_u8(&f);
			if (f.err)
				return DNSWALK_SHORT;
			if (own_end == 0)
				own_end = f.off;
			if (to < HDR || to >= seg || ++hops > DNSWALK_MAX_HOPS)
				return DNSWALK_POINTER;
			seg = f.off = to;
			continue;
		}
		if (ll & 0xc0)
			return DNSWALK_LABEL;
		total += 1 + (size_t)ll;
		if (total > MAX_NAME)
			return DNSWALK_LABEL;
		if (!ntm_rd_take(&f, ll))
			return DNSWALK_SHORT;
	}
	if (own_end == 0)
		own_end = f.off;
	return ntm_rd_take(r, own_end - r->off) ? DNSWALK_OK : DNSWALK_SHORT;
}

/* The names in the data of the types whose names ldns decompresses and
 * we care about; the data must be exactly those fields. Data of other
 * types (and empty data) is left to ldns. */
static enum dnswalk_verdict rdata(const uint8_t *msg, size_t msg_len, uint16_t type,
				  size_t off, size_t end)
{
	struct ntm_rd d = ntm_rd_init(msg, end);
	unsigned names = 1;
	size_t before = 0, after = 0;

	d.off = off;
	if (off == end)
		return DNSWALK_OK;
	switch (type) {
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		break;
	case DNS_T_MX:
		before = 2;
		break;
	case DNS_T_SOA:
		names = 2;
		after = 20;
		break;
	default:
		return DNSWALK_OK;
	}
	ntm_rd_take(&d, before);
	for (unsigned i = 0; i < names && !d.err; i++) {
		enum dnswalk_verdict v = name(msg, msg_len, &d);
		if (v == DNSWALK_LABEL || v == DNSWALK_POINTER)
			return v;
		if (v != DNSWALK_OK)
			ntm_rd_fail(&d);
	}
	ntm_rd_take(&d, after);
	return ntm_rd_done(&d) ? DNSWALK_OK : DNSWALK_RDATA;
}

static enum dnswalk_verdict question(const uint8_t *msg, size_t len, struct ntm_rd *r)
{
	enum dnswalk_verdict v = name(msg, len, r);

	if (v != DNSWALK_OK)
		return v;
	return ntm_rd_take(r, 4) ? DNSWALK_OK : DNSWALK_SHORT;
}

/* OPT and TSIG placement for a record of type in section; last is true
 * for the message's last record. */
static enum dnswalk_verdict placement(struct dnswalk *w, unsigned section, bool last,
				      uint16_t type, size_t owner, size_t type_off)
{
	if (type == DNS_T_OPT) {
		if (section != DNSWALK_AR || w->opt != 0 || type_off - owner != 1)
			return DNSWALK_OPT;
		w->opt = type_off;
	}
	if (type == DNS_T_TSIG) {
		if (section != DNSWALK_AR || !last)
			return DNSWALK_TSIG;
		w->tsig = owner;
	}
	return DNSWALK_OK;
}

static enum dnswalk_verdict record(const uint8_t *msg, size_t len, struct ntm_rd *r,
				   struct dnswalk *w, unsigned section, bool last)
{
	size_t owner = r->off;
	enum dnswalk_verdict v = name(msg, len, r);

	if (v != DNSWALK_OK)
		return v;
	size_t type_off = r->off;
	uint16_t type = ntm_rd_u16(r);
	ntm_rd_take(r, 2);                      /* class */
	uint32_t ttl = ntm_rd_u32(r);
	uint16_t rdlen = ntm_rd_u16(r);
	size_t data = r->off;
	if (!ntm_rd_take(r, rdlen))
		return DNSWALK_SHORT;
	v = placement(w, section, last, type, owner, type_off);
	if (v == DNSWALK_OK)
		v = rdata(msg, len, type, data, data + rdlen);
	if (v != DNSWALK_OK || section == DNSWALK_AR)
		return v;
	if (ttl < w->min_ttl)
		w->min_ttl = ttl;
	/* a SOA's data that passed rdata() is two names and 20 bytes, the
	 * last 4 its MINIMUM */
	if (section == DNSWALK_NS && type == DNS_T_SOA && rdlen != 0 && !w->has_soa) {
		const uint8_t *m = msg + data + rdlen - 4;
		w->has_soa = true;
		w->soa_ttl = ttl;
		w->soa_min = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	}
	return DNSWALK_OK;
}

static enum dnswalk_verdict header(struct ntm_rd *r, size_t len, struct dnswalk *w)
{
	size_t need = 0;

	if (!ntm_rd_take(r, 4))                 /* ID, flags */
		return DNSWALK_SHORT;
	for (unsigned s = DNSWALK_QD; s <= DNSWALK_AR; s++)
		w->count[s] = ntm_rd_u16(r);
	if (r->err)
		return DNSWALK_SHORT;
	need += (size_t)w->count[DNSWALK_QD] * MIN_QUESTION;
	for (unsigned s = DNSWALK_AN; s <= DNSWALK_AR; s++)
		need += (size_t)w->count[s] * MIN_RECORD;
	return len - HDR < need ? DNSWALK_COUNT : DNSWALK_OK;
}

enum dnswalk_verdict dnswalk(const uint8_t *msg, size_t len, struct dnswalk *w)
{
	struct ntm_rd r = ntm_rd_init(msg, len);
	enum dnswalk_verdict v;

	*w = (struct dnswalk){ .min_ttl = UINT32_MAX };
	v = header(&r, len, w);
	for (unsigned i = 0; v == DNSWALK_OK && i < w->count[DNSWALK_QD]; i++)
		v = question(msg, len, &r);
	w->question_end = r.off;
	unsigned left = (unsigned)w->count[DNSWALK_AN] + w->count[DNSWALK_NS] +
			w->count[DNSWALK_AR];
	for (unsigned s = DNSWALK_AN; s <= DNSWALK_AR; s++)
		for (unsigned i = 0; v == DNSWALK_OK && i < w->count[s]; i++)
			v = record(msg, len, &r, w, s, --left == 0);
	if (v == DNSWALK_OK && !ntm_rd_done(&r))
		v = DNSWALK_TRAILING;
	return v;
}
