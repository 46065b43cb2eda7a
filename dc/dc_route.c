/* dc_route.c - Direction Request in, Route Direction out to both nodes
 * (doc/protocol.md sections 5.5-5.8). The DC looks the target up in the
 * registry, checks it is registered now, and tells each side the other's
 * static key, virtual addresses and candidate endpoints: the local
 * addresses the node reported, the address the DC observed, and a relay
 * allocation (dc_relay.c) with the node's own side and key. A route is
 * kept per node pair (routes) and found by its ID (routes_by_id, for the
 * live routes nodes list: dc_push.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dc.h"
#include "log.h"
#include "meshmsg.h"
#include "util.h"

static void nak(struct dc *dc, struct dc_node *n, uint32_t req_id, enum ntm_nak_status status)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK };

	m.u.nak.req_id = req_id;
	m.u.nak.status = (uint8_t)status;
	dc->stats.direction_naks++;
	dc_send_ctl(dc, n, &m);
}

/* OFFLINE, with how long ago the DC last heard from the peer (an
 * authenticated datagram): unknown when not since the DC started. */
static void nak_offline(struct dc *dc, struct dc_node *n, uint32_t req_id,
			const struct dc_node *peer)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK };
	uint64_t now = ntm_loop_now_ms();

	m.u.nak.req_id = req_id;
	m.u.nak.status = NTM_NAK_OFFLINE;
	m.u.nak.has_last_seen = true;
	m.u.nak.last_seen_s = NTM_NAK_LAST_SEEN_UNKNOWN;
	if (peer && peer->last_seen_ms && now >= peer->last_seen_ms &&
	    (now - peer->last_seen_ms) / 1000 < NTM_NAK_LAST_SEEN_UNKNOWN)
		m.u.nak.last_seen_s = (uint32_t)((now - peer->last_seen_ms) / 1000);
	dc->stats.direction_naks++;
	dc_send_ctl(dc, n, &m);
}

bool dc_same_ep(const struct ntm_endpoint *a, const struct ntm_endpoint *b)
{
	size_t alen = a->family == 4 ? 4 : 16;
	return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, alen) == 0;
}

void dc_add_cand(struct ntm_ctl_route_direction *r, uint8_t kind, uint8_t prio,
		 const struct ntm_endpoint *ep)
{
	for (uint8_t i = 0; i < r->ncands; i++)
		if (dc_same_ep(&r->cands[i].ep, ep))
			return;
	if (r->ncands == NTM_MAX_CANDS)
		return;
	r->cands[r->ncands].kind = kind;
	r->cands[r->ncands].priority = prio;
	r->cands[r->ncands].ep = *ep;
	r->ncands++;
}

/* The relay part of to's copy: to's side of rt's allocation and to's own
 * side key only (never the other side's). */
static void add_relay(struct dc *dc, struct ntm_ctl_route_direction *r, const struct dc_route *rt,
		      const struct dc_node *to)
{
	uint8_t side = rt->initiator == to->rec.host_index ? 0 : 1;

	if (dc_relay_endpoint(dc, rt, to, &r->relay_ep) < 0)
		return;
	r->has_relay = true;
	r->relay_alloc_id = rt->alloc_id;
	r->relay_side = side;
	memcpy(r->relay_key, rt->relay_key[side], 32);
}

/* The copy for `to`, describing `peer`. */
static void send_route(struct dc *dc, struct dc_node *to, struct dc_node *peer, uint32_t req_id,
		       const struct dc_route *rt, uint8_t role, uint8_t suite)
{
	struct ntm_ctl m = { .type = NTM_CTL_ROUTE_DIRECTION };
	struct ntm_ctl_route_direction *r = &m.u.route;
	struct ntm_endpoint obs;

	r->req_id = req_id;
	r->route_id = rt->route_id;
	r->role = role;
	r->suite = suite;
	memcpy(r->peer_key, peer->rec.pubkey, 32);
	memcpy(r->peer_vip4, peer->rec.vip4, 4);
	memcpy(r->peer_vip6, peer->rec.vip6, 16);
	ntm_name_set(&r->peer_name, peer->rec.name);
	/* LAN and IPv6 addresses first: a direct path inside one network is
	 * best; then what the DC saw, which is the way through a NAT. */
	for (uint8_t i = 0; i < peer->naddrs; i++)
		dc_add_cand(r, peer->addrs[i].family == 6 ? NTM_CAND_V6 : NTM_CAND_LAN,
			 peer->addrs[i].family == 6 ? 30 : 20, &peer->addrs[i]);
	if (dc_observed(peer, &obs) == 0)
		dc_add_cand(r, NTM_CAND_NAT, 10, &obs);
	add_relay(dc, r, rt, to);
	dc_send_ctl(dc, to, &m);
	ntm_wipe(&m, sizeof(m)); /* the relay key */
}

static uint64_t pair_key(uint32_t a, uint32_t b)
{
	return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

bool dc_route_stale(const struct dc *dc, const struct dc_route *rt)
{
	const struct dc_node *a = ntm_idmap_get(&dc->by_host, rt->initiator);
	const struct dc_node *b = ntm_idmap_get(&dc->by_host, rt->responder);

	if (!a || !b)
		return true;
	return a->incarnation != rt->incarnation[0] || b->incarnation != rt->incarnation[1];
}

/* ---- each node's list of its routes (n->routes) ---- */

static int side_of(const struct dc_route *rt, uint32_t host)
{
	return rt->initiator == host ? 0 : 1;
}

struct dc_route *dc_route_next(const struct dc_route *rt, const struct dc_node *n)
{
	return rt->next[side_of(rt, n->rec.host_index)];
}

static void link_side(struct dc *dc, struct dc_route *rt, int s)
{
	uint32_t host = s == 0 ? rt->initiator : rt->responder;
	struct dc_node *n = ntm_idmap_get(&dc->by_host, host);

	if (!n)
		return; /* not reached: a route is made between two known nodes */
	rt->prev[s] = NULL;
	rt->next[s] = n->routes;
	if (n->routes)
		n->routes->prev[side_of(n->routes, host)] = rt;
	n->routes = rt;
}

static void unlink_side(struct dc *dc, struct dc_route *rt, int s)
{
	uint32_t host = s == 0 ? rt->initiator : rt->responder;
	struct dc_node *n = ntm_idmap_get(&dc->by_host, host);

	if (rt->prev[s])
		rt->prev[s]->next[side_of(rt->prev[s], host)] = rt->next[s];
	else if (n)
		n->routes = rt->next[s];
	if (rt->next[s])
		rt->next[s]->prev[side_of(rt->next[s], host)] = rt->prev[s];
	rt->next[s] = rt->prev[s] = NULL;
}

static void route_link(struct dc *dc, struct dc_route *rt)
{
	link_side(dc, rt, 0);
	link_side(dc, rt, 1);
}

static void route_unlink(struct dc *dc, struct dc_route *rt)
{
	unlink_side(dc, rt, 0);
	unlink_side(dc, rt, 1);
}

/* Routes are charged to the node whose DIRECTION_REQ made them. */
static void charge(struct dc *dc, uint32_t host, int delta)
{
	struct dc_node *n = ntm_idmap_get(&dc->by_host, host);

	if (n)
		n->nroutes = (unsigned)((int)n->nroutes + delta);
}

int dc_route_renew(struct dc *dc, struct dc_route *rt, struct dc_node *a, struct dc_node *b)
{
	uint64_t id;

	do {
		ntm_random(&id, sizeof(id));
		id = ntm_mesh_route_id(id, (uint8_t)dc->cfg.instance); /* unique across instances */
	} while (ntm_idmap_get(&dc->routes_by_id, id));
	if (ntm_idmap_put(&dc->routes_by_id, id, rt) < 0)
		return -ENOMEM;
	if (rt->route_id)
		ntm_idmap_del(&dc->routes_by_id, rt->route_id);
	/* in its nodes' lists by side: relinked when the sides change */
	bool relink = !rt->route_id || rt->initiator != a->rec.host_index;
	if (relink && rt->route_id)
		route_unlink(dc, rt);
	rt->route_id = id;
	rt->initiator = a->rec.host_index;
	rt->responder = b->rec.host_index;
	if (relink)
		route_link(dc, rt);
	rt->incarnation[0] = a->incarnation;
	rt->incarnation[1] = b->incarnation;
	/* the node-node handshake uses the suite the initiator chose for the DC */
	rt->suite = a->sess.suite;
	rt->created_ms = ntm_loop_now_ms();
	rt->live_ms = 0;
	/* A new relay allocation with the new route: the old one, if any,
	 * idles out at its relay. Without one the route goes out without. */
	if (dc_relay_allocate(dc, rt) == 0)
		dc->stats.routes_relayed++;
	else
		dc->stats.routes_unrelayed++;
	return 0;
}

/* The route between n and peer: reused while fresh, else a new one with
 * n as its initiator. NULL when out of memory or over n's route limit. */
static struct dc_route *route_for(struct dc *dc, struct dc_node *n, struct dc_node *peer)
{
	uint64_t key = pair_key(n->rec.host_index, peer->rec.host_index);
	struct dc_route *rt = ntm_idmap_get(&dc->routes, key);
	bool fresh = !rt;

	/* Reused while fresh, unless one of the nodes restarted since (its
	 * relay counters start over and it knows nothing of the old route, so
	 * both get a new route and allocation) or the route's relay went down
	 * (a node asking again is relayed there). */
	if (rt && ntm_loop_now_ms() - rt->created_ms < DC_ROUTE_REUSE_MS &&
	    !dc_route_stale(dc, rt) && dc_relay_route_ok(rt))
		return rt;
	bool charged = rt && rt->initiator == n->rec.host_index;
	if (!charged && n->nroutes >= DC_MAX_ROUTES_PER_NODE) {
		dc->stats.route_limit++;
		return NULL;
	}
	if (fresh) {
		rt = calloc(1, sizeof(*rt));
		if (!rt || ntm_idmap_put(&dc->routes, key, rt) < 0) {
			free(rt);
			return NULL;
		}
	}
	uint32_t was = rt->initiator;
	if (dc_route_renew(dc, rt, n, peer) < 0) {
		if (fresh)
			free(ntm_idmap_del(&dc->routes, key));
		return NULL;
	}
	if (!charged) {
		if (!fresh)
			charge(dc, was, -1);
		n->nroutes++;
	}
	return rt;
}

void dc_direct(struct dc *dc, const struct dc_route *rt, struct dc_node *n, struct dc_node *peer,
	       uint32_t req_id)
{
	bool n_inits = rt->initiator == n->rec.host_index;

	send_route(dc, n, peer, req_id, rt, n_inits ? NTM_ROLE_INITIATOR : NTM_ROLE_RESPONDER,
		   rt->suite);
	send_route(dc, peer, n, 0, rt, n_inits ? NTM_ROLE_RESPONDER : NTM_ROLE_INITIATOR,
		   rt->suite);
}

void dc_on_direction_req(struct dc *dc, struct dc_node *n, const struct ntm_ctl_direction_req *q)
{
	struct ntm_node_rec rec;
	char fqdn[NTM_NAME_MAX + 1];
	int ret;

	if (dc_policy_refuses(dc, n, q))
		return;
	if (q->kind == NTM_DIR_BY_NAME) {
		/* A full name only: "bob" is the asking stub's to qualify with its
		 * search list, not ours (ntm-dcd(8)). */
		ret = strchr(q->name.s, '.') ? dc_qualify_name(dc->cfg.zone, q->name.s, fqdn) : -ENOENT;
		ret = ret < 0 ? ret : dc_find_by_name(dc, fqdn, &rec);
	} else {
		ret = dc_find_by_addr(dc, q->family, q->addr, &rec);
	}
	/* not under our zone: another zone's DC decides (dc_fed.c) */
	if (ret == -EINVAL && dc_fed_direction(dc, n, q))
		return;
	if (ret < 0) {
		nak(dc, n, q->req_id, NTM_NAK_NOT_FOUND);
		return;
	}
	if (rec.host_index == n->rec.host_index) {
		nak(dc, n, q->req_id, NTM_NAK_REFUSED);
		return;
	}
	struct dc_node *peer = ntm_idmap_get(&dc->by_host, rec.host_index);
	if (!dc_node_live(peer)) {
		if (dc_mesh_direct(dc, n, &rec, q->req_id))
			return; /* registered at another instance of the zone */
		nak_offline(dc, n, q->req_id, peer);
		return;
	}
	struct dc_route *rt = route_for(dc, n, peer);
	if (!rt) {
		nak(dc, n, q->req_id, NTM_NAK_BUSY);
		return;
	}
	dc_direct(dc, rt, n, peer, q->req_id);
	dc->stats.directions++;
	if (rt->alloc_id)
		log_info("route %016llx: %s -> %s, relay %s allocation %08x",
			 (unsigned long long)rt->route_id, n->rec.name, peer->rec.name,
			 dc_relay_name(rt), (unsigned)rt->alloc_id);
	else
		log_info("route %016llx: %s -> %s, no relay", (unsigned long long)rt->route_id,
			 n->rec.name, peer->rec.name);
}

struct expiry {
	struct dc *dc;
	uint64_t now;
};

static bool route_expired(void *val, uint64_t key, void *arg)
{
	struct dc_route *rt = val;
	struct expiry *e = arg;
	uint64_t last = rt->live_ms > rt->created_ms ? rt->live_ms : rt->created_ms;
	(void)key;

	if (e->now - last < DC_ROUTE_REUSE_MS)
		return false;
	ntm_idmap_del(&e->dc->routes_by_id, rt->route_id);
	route_unlink(e->dc, rt);
	charge(e->dc, rt->initiator, -1);
	ntm_wipe(rt, sizeof(*rt));
	free(rt);
	return true;
}

void dc_expire_routes(struct dc *dc, uint64_t now)
{
	struct expiry e = { dc, now };

	ntm_idmap_sweep(&dc->routes, route_expired, &e);
}

void dc_free_routes(struct dc *dc)
{
	size_t pos = 0;
	struct dc_route *rt;

	while ((rt = ntm_idmap_next(&dc->routes, &pos, NULL))) {
		ntm_wipe(rt, sizeof(*rt));
		free(rt);
	}
	ntm_idmap_free(&dc->routes);
	ntm_idmap_free(&dc->routes_by_id);
}
