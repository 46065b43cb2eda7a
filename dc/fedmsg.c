/* fedmsg.c - FED_DIRECTION_REQ, FED_DIRECTION_RESP (doc/protocol.md 10.4)
 * and FED_ROUTE_MOVED (10.5), see fedmsg.h. Layout: version 1, type,
 * reserved 0 (2 bytes), req_id (the move ID for FED_ROUTE_MOVED); then for
 * a request the target name (length, bytes) and for a response the
 * status; then, for a request or an OK response, a whole ROUTE_DIRECTION
 * control message (5.6) to the end. FED_ROUTE_MOVED continues with the
 * route ID, the mover's and the target's keys, the mover's name and its
 * candidates, each field checked here (it carries no ROUTE_DIRECTION). */
#include "fedmsg.h"

#include <errno.h>
#include <string.h>

#include "cursor.h"

#define FED_VERSION 1

static void wr_name(struct ntm_wr *w, const struct ntm_name *n)
{
	ntm_wr_u8(w, n->len);
	ntm_wr_bytes(w, n->s, n->len);
}

static int wr_route(struct ntm_wr *w, const struct ntm_ctl_route_direction *r)
{
	struct ntm_ctl c = { .type = NTM_CTL_ROUTE_DIRECTION };

	c.u.route = *r;
	if (w->err)
		return -EMSGSIZE;
	int n = ntm_ctl_encode(&c, w->buf + w->off, w->cap - w->off);
	if (n < 0)
		return n;
	w->off += (size_t)n;
	return 0;
}

static size_t ep_len(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

/* A candidate of FED_ROUTE_MOVED: a direct one (not the relay), a valid
 * endpoint, and (so that the encoding is canonical) nothing set past the
 * address. */
static bool moved_cand_ok(const struct ntm_candidate *c)
{
	static const uint8_t zero[16];
	size_t alen = ep_len(c->ep.family);

	return c->kind >= NTM_CAND_LAN && c->kind <= NTM_CAND_V6 && alen && c->ep.port &&
	       memcmp(c->ep.addr + alen, zero, 16 - alen) == 0;
}

static int wr_moved(struct ntm_wr *w, const struct ntm_fed_moved *m)
{
	if (!m->move_id || !m->route_id || m->mover_name.len == 0 ||
	    m->mover_name.len != strlen(m->mover_name.s) || m->ncands > NTM_MAX_CANDS)
		return -EINVAL;
	for (uint8_t i = 0; i < m->ncands; i++)
		if (!moved_cand_ok(&m->cands[i]))
			return -EINVAL;
	ntm_wr_u32(w, m->move_id);
	ntm_wr_u64(w, m->route_id);
	ntm_wr_bytes(w, m->mover_key, 32);
	ntm_wr_bytes(w, m->target_key, 32);
	wr_name(w, &m->mover_name);
	ntm_wr_u8(w, m->ncands);
	for (uint8_t i = 0; i < m->ncands; i++) {
		const struct ntm_candidate *c = &m->cands[i];
		ntm_wr_u8(w, c->kind);
		ntm_wr_u8(w, c->priority);
		ntm_wr_u8(w, c->ep.family);
		ntm_wr_u16(w, c->ep.port);
		ntm_wr_bytes(w, c->ep.addr, ep_len(c->ep.family));
	}
	return 0;
}

int ntm_fed_encode(const struct ntm_fed_msg *m, uint8_t *buf, size_t cap)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);
	int ret;

	if (m->type != NTM_FED_DIRECTION_REQ && m->type != NTM_FED_DIRECTION_RESP &&
	    m->type != NTM_FED_ROUTE_MOVED)
		return -EINVAL;
	ntm_wr_u8(&w, FED_VERSION);
	ntm_wr_u8(&w, m->type);
	ntm_wr_u16(&w, 0);
	if (m->type == NTM_FED_DIRECTION_REQ) {
		const struct ntm_fed_req *q = &m->u.req;
		if (!q->req_id || q->target.len == 0 || q->target.len != strlen(q->target.s))
			return -EINVAL;
		ntm_wr_u32(&w, q->req_id);
		wr_name(&w, &q->target);
		ret = wr_route(&w, &q->route);
	} else if (m->type == NTM_FED_ROUTE_MOVED) {
		ret = wr_moved(&w, &m->u.moved);
	} else {
		const struct ntm_fed_resp *p = &m->u.resp;
		if (p->status > NTM_FED_STATUS_MAX)
			return -EINVAL;
		ntm_wr_u32(&w, p->req_id);
		ntm_wr_u8(&w, p->status);
		ret = p->status == NTM_FED_OK ? wr_route(&w, &p->route) : 0;
	}
	if (ret < 0)
		return ret;
	return w.err ? -EMSGSIZE : (int)w.off;
}

/* The rest of r: one ROUTE_DIRECTION, consumed whole. */
static int rd_route(struct ntm_rd *r, struct ntm_ctl_route_direction *out)
{
	struct ntm_ctl c;
	size_t left = ntm_rd_left(r);
	const uint8_t *p = ntm_rd_take(r, left);

	if (!p || left == 0 || ntm_ctl_decode(p, left, &c) < 0 || c.type != NTM_CTL_ROUTE_DIRECTION)
		return -EBADMSG;
	*out = c.u.route;
	return 0;
}

/* A name field in canonical form only: what ntm_name_set gives back
 * unchanged. */
static int rd_name(struct ntm_rd *r, struct ntm_name *out)
{
	char name[NTM_NAME_MAX + 1];
	uint8_t nl = ntm_rd_u8(r);
	const uint8_t *s = ntm_rd_take(r, nl);

	if (r->err || nl == 0 || nl > NTM_NAME_MAX || memchr(s, 0, nl))
		return -EBADMSG;
	memcpy(name, s, nl);
	name[nl] = '\0';
	if (ntm_name_set(out, name) < 0 || out->len != nl || memcmp(out->s, name, nl) != 0)
		return -EBADMSG;
	return 0;
}

static int rd_moved(struct ntm_rd *r, struct ntm_fed_moved *m)
{
	m->move_id = ntm_rd_u32(r);
	m->route_id = ntm_rd_u64(r);
	ntm_rd_copy(r, m->mover_key, 32);
	ntm_rd_copy(r, m->target_key, 32);
	if (r->err || !m->move_id || !m->route_id || rd_name(r, &m->mover_name) < 0)
		return -EBADMSG;
	m->ncands = ntm_rd_u8(r);
	if (r->err || m->ncands > NTM_MAX_CANDS)
		return -EBADMSG;
	for (uint8_t i = 0; i < m->ncands; i++) {
		struct ntm_candidate *c = &m->cands[i];
		c->kind = ntm_rd_u8(r);
		c->priority = ntm_rd_u8(r);
		c->ep.family = ntm_rd_u8(r);
		c->ep.port = ntm_rd_u16(r);
		size_t alen = ep_len(c->ep.family);
		if (r->err || !alen)
			return -EBADMSG;
		ntm_rd_copy(r, c->ep.addr, alen);
		if (r->err || !moved_cand_ok(c))
			return -EBADMSG;
	}
	return 0;
}

int ntm_fed_decode(const uint8_t *buf, size_t len, struct ntm_fed_msg *m)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (ntm_rd_u8(&r) != FED_VERSION)
		return -EBADMSG;
	m->type = ntm_rd_u8(&r);
	if (ntm_rd_u16(&r) != 0)
		return -EBADMSG;
	if (m->type == NTM_FED_DIRECTION_REQ) {
		struct ntm_fed_req *q = &m->u.req;
		q->req_id = ntm_rd_u32(&r);
		if (r.err || !q->req_id || rd_name(&r, &q->target) < 0)
			return -EBADMSG;
		if (rd_route(&r, &q->route) < 0)
			return -EBADMSG;
	} else if (m->type == NTM_FED_ROUTE_MOVED) {
		if (rd_moved(&r, &m->u.moved) < 0)
			return -EBADMSG;
	} else if (m->type == NTM_FED_DIRECTION_RESP) {
		struct ntm_fed_resp *p = &m->u.resp;
		p->req_id = ntm_rd_u32(&r);
		p->status = ntm_rd_u8(&r);
		if (r.err || p->status > NTM_FED_STATUS_MAX)
			return -EBADMSG;
		if (p->status == NTM_FED_OK && rd_route(&r, &p->route) < 0)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	return ntm_rd_done(&r) ? 0 : -EBADMSG;
}

bool ntm_fed_below(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	return zl > 0 && nl > zl + 1 && name[nl - zl - 1] == '.' && strcmp(name + nl - zl, zone) == 0;
}

uint8_t ntm_fed_check_request(const struct ntm_fed_req *q, const char *own_zone,
			      const char *peer_zone)
{
	if (!ntm_fed_below(q->route.peer_name.s, peer_zone) || q->route.role != NTM_ROLE_RESPONDER)
		return NTM_FED_REFUSED;
	if (!ntm_fed_below(q->target.s, own_zone))
		return NTM_FED_REFUSED;
	return NTM_FED_OK;
}

static bool in_prefix(const uint8_t *a, const uint8_t *base, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (plen == 0 || memcmp(a, base, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (base[full] & mask);
}

bool ntm_fed_check_answer(const struct ntm_fed_resp *a, const char *target, uint64_t route_id,
			  const uint8_t own4[4], unsigned plen4, const uint8_t own6[16],
			  unsigned plen6)
{
	const struct ntm_ctl_route_direction *r = &a->route;

	if (a->status != NTM_FED_OK || strcmp(r->peer_name.s, target) != 0 ||
	    r->route_id != route_id)
		return false;
	if (plen4 > 32 || plen6 > 128)
		return false;
	return !in_prefix(r->peer_vip4, own4, plen4) && !in_prefix(r->peer_vip6, own6, plen6);
}

enum ntm_fed_moved_verdict ntm_fed_check_moved(const struct ntm_fed_moved *m, const char *peer_zone,
					       const struct ntm_ctl_route_direction *held,
					       const uint8_t our_key[32])
{
	/* the other DC speaks for its own zone's nodes only */
	if (!ntm_fed_below(m->mover_name.s, peer_zone))
		return NTM_FED_MOVED_ZONE;
	/* and only about a route we directed between that node and ours:
	 * the held direction describes the mover (name and key), and the
	 * target is our node of that route */
	if (!held || held->route_id != m->route_id || strcmp(held->peer_name.s, m->mover_name.s) != 0 ||
	    memcmp(held->peer_key, m->mover_key, 32) != 0 || memcmp(our_key, m->target_key, 32) != 0)
		return NTM_FED_MOVED_ROUTE;
	return NTM_FED_MOVED_OK;
}
