/* meshmsg.c - presence rows and Mesh Directions (meshmsg.h,
 * doc/protocol.md section 9): every field read through lib/cursor.h and
 * checked against its range before anything is used. */
#include <errno.h>
#include <string.h>

#include "cursor.h"
#include "meshmsg.h"

static void put_ep(struct ntm_wr *w, const struct ntm_endpoint *ep)
{
	ntm_wr_u8(w, ep->family);
	ntm_wr_u16(w, ep->port);
	ntm_wr_bytes(w, ep->addr, ep->family == 4 ? 4 : 16);
}

static bool ep_ok(const struct ntm_endpoint *ep)
{
	return (ep->family == 4 || ep->family == 6) && ep->port != 0;
}

/* An endpoint: family 4 or 6, a port of 1..65535, 4 or 16 address bytes. */
static void get_ep(struct ntm_rd *r, struct ntm_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = ntm_rd_u8(r);
	ep->port = ntm_rd_u16(r);
	if (!ep_ok(ep)) {
		ntm_rd_fail(r);
		return;
	}
	ntm_rd_copy(r, ep->addr, ep->family == 4 ? 4 : 16);
}

int ntm_mesh_presence_encode(const struct ntm_mesh_presence *p, uint8_t *buf, size_t cap)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);

	if (p->naddrs > NTM_MAX_ADDRS || (p->observed.family && !ep_ok(&p->observed)))
		return -EINVAL;
	ntm_wr_u8(&w, NTM_MESH_VERSION);
	if (p->observed.family)
		put_ep(&w, &p->observed);
	else
		ntm_wr_u8(&w, 0);
	ntm_wr_u8(&w, p->naddrs);
	for (uint8_t i = 0; i < p->naddrs; i++) {
		if (!ep_ok(&p->addrs[i]))
			return -EINVAL;
		put_ep(&w, &p->addrs[i]);
	}
	return w.err ? -ENOSPC : (int)w.off;
}

int ntm_mesh_presence_decode(const uint8_t *buf, size_t len, struct ntm_mesh_presence *p)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(p, 0, sizeof(*p));
	if (ntm_rd_u8(&r) != NTM_MESH_VERSION)
		return -EINVAL;
	if (ntm_rd_left(&r) >= 1 && r.buf[r.off] == 0)
		(void)ntm_rd_u8(&r);    /* no observed endpoint */
	else
		get_ep(&r, &p->observed);
	p->naddrs = ntm_rd_u8(&r);
	if (p->naddrs > NTM_MAX_ADDRS)
		ntm_rd_fail(&r);
	for (uint8_t i = 0; !r.err && i < p->naddrs; i++)
		get_ep(&r, &p->addrs[i]);
	if (!ntm_rd_done(&r)) {
		memset(p, 0, sizeof(*p));
		return -EINVAL;
	}
	return 0;
}

static bool kind_ok(uint8_t kind)
{
	return kind >= NTM_CAND_LAN && kind <= NTM_CAND_RELAY;
}

/* A Mesh Direction's route is the sender's; a Mesh Move's, either
 * instance's (never 0, never the route ID 0). */
static bool route_ok(uint8_t type, uint8_t from_instance, uint64_t route_id)
{
	uint8_t maker = ntm_mesh_route_instance(route_id);

	if (from_instance == 0 || route_id == 0)
		return false;
	return type == NTM_MESH_MOVED ? maker != 0 : maker == from_instance;
}

int ntm_mesh_direct_encode(const struct ntm_mesh_direct *d, uint8_t *buf, size_t cap)
{
	struct ntm_wr w = ntm_wr_init(buf, cap);
	uint8_t type = d->type ? d->type : NTM_MESH_DIRECT;

	if (!route_ok(type, d->from_instance, d->route_id) || d->ncands > NTM_MAX_CANDS ||
	    d->has_relay > 1 || (type == NTM_MESH_MOVED && d->has_relay) ||
	    (d->has_relay && (!ep_ok(&d->relay_ep) || d->relay_side > 1 || !d->relay_alloc_id)))
		return -EINVAL;
	ntm_wr_u8(&w, type);
	ntm_wr_u8(&w, NTM_MESH_VERSION);
	ntm_wr_u8(&w, d->from_instance);
	ntm_wr_u64(&w, d->route_id);
	ntm_wr_u8(&w, d->suite);
	ntm_wr_bytes(&w, d->target_key, 32);
	ntm_wr_bytes(&w, d->peer_key, 32);
	ntm_wr_u8(&w, d->ncands);
	for (uint8_t i = 0; i < d->ncands; i++) {
		if (!kind_ok(d->cands[i].kind) || !ep_ok(&d->cands[i].ep))
			return -EINVAL;
		ntm_wr_u8(&w, d->cands[i].kind);
		ntm_wr_u8(&w, d->cands[i].priority);
		put_ep(&w, &d->cands[i].ep);
	}
	ntm_wr_u8(&w, d->has_relay);
	if (d->has_relay) {
		ntm_wr_u32(&w, d->relay_alloc_id);
		ntm_wr_u8(&w, d->relay_side);
		ntm_wr_bytes(&w, d->relay_key, 32);
		put_ep(&w, &d->relay_ep);
	}
	return w.err ? -ENOSPC : (int)w.off;
}

int ntm_mesh_direct_decode(const uint8_t *buf, size_t len, struct ntm_mesh_direct *d)
{
	struct ntm_rd r = ntm_rd_init(buf, len);

	memset(d, 0, sizeof(*d));
	d->type = ntm_rd_u8(&r);
	if ((d->type != NTM_MESH_DIRECT && d->type != NTM_MESH_MOVED) ||
	    ntm_rd_u8(&r) != NTM_MESH_VERSION) {
		d->type = 0;
		return -EINVAL;
	}
	d->from_instance = ntm_rd_u8(&r);
	d->route_id = ntm_rd_u64(&r);
	d->suite = ntm_rd_u8(&r);
	ntm_rd_copy(&r, d->target_key, 32);
	ntm_rd_copy(&r, d->peer_key, 32);
	if (!route_ok(d->type, d->from_instance, d->route_id))
		ntm_rd_fail(&r);
	d->ncands = ntm_rd_u8(&r);
	if (d->ncands > NTM_MAX_CANDS)
		ntm_rd_fail(&r);
	for (uint8_t i = 0; !r.err && i < d->ncands; i++) {
		d->cands[i].kind = ntm_rd_u8(&r);
		d->cands[i].priority = ntm_rd_u8(&r);
		if (!kind_ok(d->cands[i].kind))
			ntm_rd_fail(&r);
		get_ep(&r, &d->cands[i].ep);
	}
	d->has_relay = ntm_rd_u8(&r);
	if (d->has_relay > 1 || (d->type == NTM_MESH_MOVED && d->has_relay))
		ntm_rd_fail(&r);
	if (d->has_relay == 1) {
		d->relay_alloc_id = ntm_rd_u32(&r);
		d->relay_side = ntm_rd_u8(&r);
		ntm_rd_copy(&r, d->relay_key, 32);
		get_ep(&r, &d->relay_ep);
		if (d->relay_alloc_id == 0 || d->relay_side > 1)
			ntm_rd_fail(&r);
	}
	if (!ntm_rd_done(&r)) {
		ntm_wipe(d, sizeof(*d));
		return -EINVAL;
	}
	return 0;
}

int ntm_mesh_direct_to_text(const struct ntm_mesh_direct *d, char *text, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t buf[NTM_MESH_DIRECT_MAX];
	int n = ntm_mesh_direct_encode(d, buf, sizeof(buf));

	if (n < 0)
		return n;
	if ((size_t)n * 2 + 1 > cap) {
		ntm_wipe(buf, sizeof(buf));
		return -ENOSPC;
	}
	for (int i = 0; i < n; i++) {
		text[2 * i] = digits[buf[i] >> 4];
		text[2 * i + 1] = digits[buf[i] & 15];
	}
	text[2 * n] = '\0';
	ntm_wipe(buf, sizeof(buf));     /* the relay key */
	return 2 * n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ntm_mesh_direct_from_text(const char *text, struct ntm_mesh_direct *d)
{
	uint8_t buf[NTM_MESH_DIRECT_MAX];
	size_t len = strnlen(text, 2 * NTM_MESH_DIRECT_MAX + 1);
	int ret;

	memset(d, 0, sizeof(*d));
	if (len == 0 || len % 2 || len > 2 * NTM_MESH_DIRECT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	ret = ntm_mesh_direct_decode(buf, len / 2, d);
	ntm_wipe(buf, sizeof(buf));
	return ret;
}

static bool same_ep(const struct ntm_endpoint *a, const struct ntm_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

static void add(struct ntm_candidate *c, uint8_t *n, uint8_t kind, uint8_t prio,
		const struct ntm_endpoint *ep)
{
	for (uint8_t i = 0; i < *n; i++)
		if (same_ep(&c[i].ep, ep))
			return;
	if (*n == NTM_MAX_CANDS || !ep_ok(ep))
		return;
	c[*n].kind = kind;
	c[*n].priority = prio;
	c[*n].ep = *ep;
	(*n)++;
}

uint8_t ntm_mesh_cands(const struct ntm_mesh_presence *p, struct ntm_candidate *cands)
{
	uint8_t n = 0;

	for (uint8_t i = 0; i < p->naddrs && i < NTM_MAX_ADDRS; i++)
		add(cands, &n, p->addrs[i].family == 6 ? NTM_CAND_V6 : NTM_CAND_LAN,
		    p->addrs[i].family == 6 ? 30 : 20, &p->addrs[i]);
	if (p->observed.family)
		add(cands, &n, NTM_CAND_NAT, 10, &p->observed);
	return n;
}

uint64_t ntm_mesh_route_id(uint64_t rnd, uint8_t instance)
{
	return (rnd & 0x00ffffffffffffffull) | (uint64_t)instance << 56;
}

uint8_t ntm_mesh_route_instance(uint64_t route_id)
{
	return (uint8_t)(route_id >> 56);
}

bool ntm_mesh_theirs_wins(uint64_t ours, uint64_t theirs)
{
	return theirs < ours;
}
