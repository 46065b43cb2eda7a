/* dc_push.c - live routes, and Route Directions the DC sends unasked
 * (doc/protocol.md sections 5.1, 5.3 and 5.6).
 *
 * Every REGISTER and KEEPALIVE lists the routes its node has a live
 * session on; a listed route of which that node is one end stays in the
 * DC for DC_ROUTE_REUSE_MS more (a node is never trusted about routes of
 * other nodes). When a node's REGISTER or KEEPALIVE shows that it moved
 * (the endpoint the DC observes, or the addresses it reports, changed) or
 * restarted (a new incarnation), the DC directs each of its routes again,
 * to both ends: after a move with the same route ID and allocation (fresh
 * candidates; the relay endpoint of each node's current family), after a
 * restart as a new route (new ID and allocation: the restarted node knows
 * nothing of the old one). So two nodes that both moved learn each other's
 * new address, and a restarted node is reachable again at once. Routes to
 * nodes at other instances of the zone are told over the registry
 * (dc_mesh_push) on a move; after a restart their other ends ask again. A node's
 * routes are pushed at most once per DC_PUSH_MIN_MS; a change inside that
 * window is pushed when it ends (push_timer). */
#include <string.h>

#include "dc.h"
#include "log.h"

static void refresh_live(struct dc *dc, const struct dc_node *n, uint8_t count,
			 const uint64_t *ids, uint64_t now)
{
	for (uint8_t i = 0; i < count; i++) {
		struct dc_route *rt = ntm_idmap_get(&dc->routes_by_id, ids[i]);
		if (!rt) {
			dc_mesh_live(dc, n, ids[i], now); /* perhaps one across instances */
			continue;
		}
		if (rt->initiator != n->rec.host_index && rt->responder != n->rec.host_index)
			continue; /* not n's route: n has no say about it */
		rt->live_ms = now;
	}
}

static bool same_addrs(const struct dc_node *n, uint8_t count, const struct ntm_endpoint *addrs)
{
	if (n->naddrs != count)
		return false;
	for (uint8_t i = 0; i < count; i++)
		if (!dc_same_ep(&n->addrs[i], &addrs[i]))
			return false;
	return true;
}

/* The other end of rt, one of whose ends n is. */
static struct dc_node *other_end(struct dc *dc, const struct dc_route *rt, const struct dc_node *n)
{
	uint32_t host = rt->initiator == n->rec.host_index ? rt->responder : rt->initiator;

	return ntm_idmap_get(&dc->by_host, host);
}

/* Direct every route of n again whose other end can be told too; a route
 * one of whose ends restarted becomes a new route. Returns how many. */
static unsigned push_routes(struct dc *dc, struct dc_node *n, unsigned *renewed)
{
	struct dc_route *rt, *next;
	unsigned pushed = 0;

	/* renewing keeps a route's sides, so its place in n's list */
	for (rt = n->routes; rt; rt = next) {
		next = dc_route_next(rt, n);
		struct dc_node *peer = other_end(dc, rt, n);
		if (!dc_node_live(peer))
			continue;
		struct dc_node *a = rt->initiator == n->rec.host_index ? n : peer;
		if (dc_route_stale(dc, rt)) {
			uint64_t old = rt->route_id;
			if (dc_route_renew(dc, rt, a, a == n ? peer : n) < 0)
				continue;
			log_info("route %016llx (%s, %s): a node restarted; new route %016llx",
				 (unsigned long long)old, n->rec.name, peer->rec.name,
				 (unsigned long long)rt->route_id);
			(*renewed)++;
		} else {
			/* The same allocation: installed again in case it idled
			 * out at its relay while the nodes talked directly. */
			dc_relay_refresh(dc, rt);
		}
		dc_direct(dc, rt, n, peer, 0);
		pushed++;
	}
	return pushed;
}

static void push_now(struct dc *dc, struct dc_node *n, uint64_t now)
{
	uint8_t why = n->push_due;
	unsigned renewed = 0, pushed, meshed = 0;
	char ep[64] = "?";

	n->push_due = 0;
	n->push_ms = now;
	if (!dc_node_live(n))
		return;
	pushed = push_routes(dc, n, &renewed);
	dc_fed_push(dc, n, why); /* its federated routes: the other zones' DCs (dc_fed.c) */
	/* a restarted node knows nothing of its routes across instances:
	 * their other ends ask again; a move is told to their instances */
	if (why == DC_PUSH_MOVED)
		meshed = dc_mesh_push(dc, n);
	if (pushed + meshed == 0)
		return;
	dc->stats.routes_pushed += pushed;
	dc->stats.routes_renewed += renewed;
	ntm_endpoint_format(&n->reported_ep, ep, sizeof(ep));
	if (why & DC_PUSH_RESTARTED)
		log_info("%s restarted (at %s): directing %u route(s) again, %u of them new",
			 n->rec.name, ep, pushed, renewed);
	else
		log_info("%s moved to %s: directing %u route(s) again, %u at other instances",
			 n->rec.name, ep, pushed + meshed, meshed);
}

/* Push n's routes now, or when its rate-limit window ends. */
static void push(struct dc *dc, struct dc_node *n, uint8_t why)
{
	uint64_t now = ntm_loop_now_ms();

	n->push_due |= why;
	if (!n->push_ms || now - n->push_ms >= DC_PUSH_MIN_MS) {
		push_now(dc, n, now);
		return;
	}
	/* Every window is DC_PUSH_MIN_MS long: a timer armed earlier fires
	 * no later than this one's end, and dc_push_tick arms it again. */
	if (!ntm_timer_armed(&dc->push_timer))
		ntm_timer_arm(&dc->push_timer, n->push_ms + DC_PUSH_MIN_MS - now, 0);
}

void dc_push_tick(struct ntm_timer *t, void *arg)
{
	struct dc *dc = arg;
	uint64_t now = ntm_loop_now_ms(), next = 0;
	size_t pos = 0;
	struct dc_node *n;

	while ((n = ntm_idmap_next(&dc->by_host, &pos, NULL))) {
		if (!n->push_due)
			continue;
		uint64_t due = n->push_ms + DC_PUSH_MIN_MS;
		if (now >= due)
			push_now(dc, n, now);
		else if (!next || due < next)
			next = due;
	}
	if (next)
		ntm_timer_arm(t, next - now, 0);
}

void dc_node_report(struct dc *dc, struct dc_node *n, uint64_t incarnation, uint8_t naddrs,
		    const struct ntm_endpoint *addrs, uint8_t nroutes, const uint64_t *routes)
{
	struct ntm_endpoint obs;
	uint8_t why = 0;
	bool known = n->incarnation != 0; /* registered before: there is a last time */

	if (dc_observed(n, &obs) < 0)
		memset(&obs, 0, sizeof(obs));
	if (incarnation && known && incarnation != n->incarnation) {
		dc->stats.restarts_seen++;
		why |= DC_PUSH_RESTARTED;
	}
	if (incarnation)
		n->incarnation = incarnation;
	if (known && !why && (!dc_same_ep(&obs, &n->reported_ep) || !same_addrs(n, naddrs, addrs))) {
		dc->stats.moves_seen++;
		why |= DC_PUSH_MOVED;
	}
	n->reported_ep = obs;
	n->naddrs = naddrs;
	memcpy(n->addrs, addrs, naddrs * sizeof(*addrs));
	refresh_live(dc, n, nroutes, routes, ntm_loop_now_ms());
	dc_fed_live(dc, n, nroutes, routes, ntm_loop_now_ms());
	if (incarnation || why)
		dc_mesh_present(dc, n); /* a REGISTER or a move, never a plain keepalive */
	if (why)
		push(dc, n, why);
}
