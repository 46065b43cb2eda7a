/* dc_mesh.c - several ntm-dcd instances of one zone on one PostgreSQL
 * registry (doc/protocol.md section 9). Each instance ([Registry]
 * Instance, 1..255) records in the database which nodes are registered
 * with it now (ntm_presence: written on REGISTER, on a move and when the
 * node leaves, never per keepalive) and beats its ntm_instances row every
 * DC_MESH_BEAT_MS. A Direction Request for a node registered at another
 * instance is answered here: the requester gets the Route Direction with
 * the target's candidates from its presence row and this instance's relay
 * allocation, and the target's instance is told over its LISTEN/NOTIFY
 * channel (a Mesh Direction, meshmsg.h) to send the target the other
 * copy. Each instance keeps what it sent its own node on such a route
 * (while the node lists it live) and, when that node moves, sends the
 * other end's instance a Mesh Move, which directs the other end again on
 * the same route with the mover's new candidates (dc_mesh_push, on_moved).
 * Two instances directing one pair at the same moment (each node
 * asked its own DC) agree on the route with the smaller ID: each
 * remembers the routes it made so for DC_MESH_GLARE_MS and ignores a
 * crossing Mesh Direction that loses. Notifications arrive on the
 * registry's own connection, whose
 * socket is in the event loop; those read along with other queries' answers
 * wait in libpq's queue until the next readable event or sweep (1 s). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc.h"
#include "log.h"
#include "meshmsg.h"
#include "util.h"

static void channel_of(unsigned instance, char out[DC_MESH_CHANNEL_LEN])
{
	snprintf(out, DC_MESH_CHANNEL_LEN, "ntm_dc_%u", instance);
}

static void on_notify(const char *channel, const char *payload, void *arg);

static uint64_t pair_of(uint32_t a, uint32_t b)
{
	return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

/* Routes this DC made across instances, for DC_MESH_GLARE_MS: a Mesh
 * Direction for the same pair crossing one of them yields to the smaller
 * route ID (ntm_mesh_theirs_wins). */
static void remember(struct dc *dc, uint32_t a, uint32_t b, uint64_t route_id)
{
	uint64_t key = pair_of(a, b);
	struct dc_mesh_recent *r = ntm_idmap_get(&dc->mesh.recent, key);

	if (!r) {
		if (dc->mesh.recent.len >= DC_MESH_GLARE_MAX || !(r = calloc(1, sizeof(*r))))
			return;
		if (ntm_idmap_put(&dc->mesh.recent, key, r) < 0) {
			free(r);
			return;
		}
	}
	r->route_id = route_id;
	r->made_ms = ntm_loop_now_ms();
}

static bool recent_old(void *val, uint64_t key, void *arg)
{
	struct dc_mesh_recent *r = val;
	uint64_t now = *(const uint64_t *)arg;
	(void)key;

	if (now - r->made_ms < DC_MESH_GLARE_MS)
		return false;
	free(r);
	return true;
}

static void forget_recent(struct dc *dc)
{
	size_t pos = 0;
	struct dc_mesh_recent *r;
	struct dc_mesh_route *mr;

	while ((r = ntm_idmap_next(&dc->mesh.recent, &pos, NULL)))
		free(r);
	ntm_idmap_free(&dc->mesh.recent);
	pos = 0;
	while ((mr = ntm_idmap_next(&dc->mesh.routes, &pos, NULL))) {
		ntm_wipe(mr, sizeof(*mr));
		free(mr);
	}
	ntm_idmap_free(&dc->mesh.routes);
}

/* ---- routes across instances, kept for moves ---- */

/* Keep what node `host` was sent on route r->route_id (the candidates
 * aside: a Mesh Move brings new ones). A full table keeps no more; those
 * routes' ends ask again after a move. */
static void keep_route(struct dc *dc, uint32_t host, const struct ntm_ctl_route_direction *r)
{
	struct dc_mesh_route *mr = ntm_idmap_get(&dc->mesh.routes, r->route_id);

	if (!mr) {
		if (dc->mesh.routes.len >= DC_MESH_ROUTES_MAX || !(mr = calloc(1, sizeof(*mr))))
			return;
		if (ntm_idmap_put(&dc->mesh.routes, r->route_id, mr) < 0) {
			free(mr);
			return;
		}
	}
	mr->route_id = r->route_id;
	mr->host = host;
	mr->made_ms = ntm_loop_now_ms();
	mr->live_ms = 0;
	mr->role = r->role;
	mr->suite = r->suite;
	memcpy(mr->peer_key, r->peer_key, 32);
	mr->has_relay = r->has_relay;
	mr->relay_ep = r->relay_ep;
	mr->relay_alloc_id = r->relay_alloc_id;
	mr->relay_side = r->relay_side;
	memcpy(mr->relay_key, r->relay_key, 32);
}

static void drop_route(struct dc *dc, uint64_t route_id)
{
	struct dc_mesh_route *mr = ntm_idmap_del(&dc->mesh.routes, route_id);

	if (mr) {
		ntm_wipe(mr, sizeof(*mr));
		free(mr);
	}
}

static bool route_old(void *val, uint64_t key, void *arg)
{
	struct dc_mesh_route *mr = val;
	uint64_t now = *(const uint64_t *)arg;
	uint64_t last = mr->live_ms > mr->made_ms ? mr->live_ms : mr->made_ms;
	(void)key;

	if (now - last < DC_ROUTE_REUSE_MS)
		return false;
	ntm_wipe(mr, sizeof(*mr));
	free(mr);
	return true;
}

bool dc_mesh_live(struct dc *dc, const struct dc_node *n, uint64_t route_id, uint64_t now)
{
	struct dc_mesh_route *mr = ntm_idmap_get(&dc->mesh.routes, route_id);

	if (!mr || mr->host != n->rec.host_index)
		return false;   /* a node has a say about its own routes only */
	mr->live_ms = now;
	return true;
}

static void drain(struct dc *dc)
{
	int ret = ntm_store_notifications(dc->store, on_notify, dc);

	if (ret < 0)
		log_debug("mesh: reading notifications: %s", ntm_store_errmsg(dc->store));
}

static void on_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	(void)io;
	(void)events;
	drain(arg);
}

/* The loop watches the registry connection's socket, which a reset
 * replaces, often under the same number: epoll dropped the old one when
 * libpq closed it, so a MOD failing (ENOENT) says to add the new one. */
static void watch_socket(struct dc *dc)
{
	int fd = ntm_store_socket(dc->store);

	if (fd < 0 || (fd == dc->mesh.fd && ntm_io_modify(&dc->mesh.io, EPOLLIN) == 0))
		return;
	ntm_io_remove(&dc->mesh.io);
	dc->mesh.fd = -1;
	ntm_io_init(&dc->mesh.io, dc->loop, fd, on_readable, dc);
	if (ntm_io_add(&dc->mesh.io, EPOLLIN) < 0) {
		log_warn("mesh: cannot watch the registry's socket; notifications wait for the sweep");
		return;
	}
	dc->mesh.fd = fd;
}

int dc_mesh_open(struct dc *dc)
{
	char channel[DC_MESH_CHANNEL_LEN];
	int ret;

	dc->mesh.fd = -1;
	dc->mesh.on = false;
	ntm_idmap_init(&dc->mesh.recent);
	ntm_idmap_init(&dc->mesh.routes);
	if (dc->cfg.backend != NTM_STORE_POSTGRESQL)
		return 0;               /* SQLite: one instance, no peers */
	channel_of((unsigned)dc->cfg.instance, channel);
	ret = ntm_store_instance_claim(dc->store, (unsigned)dc->cfg.instance, channel);
	if (ret < 0) {
		const char *why = ntm_store_errmsg(dc->store);
		log_err("registry: cannot serve as [Registry] Instance %u: %s",
			(unsigned)dc->cfg.instance, why[0] ? why : strerror(-ret));
		return ret;
	}
	dc->mesh.on = true;
	dc->mesh.beat_ms = ntm_loop_now_ms();
	watch_socket(dc);
	log_info("registry: instance %u, listening on channel %s", (unsigned)dc->cfg.instance,
		 channel);
	return 0;
}

void dc_mesh_close(struct dc *dc)
{
	if (dc->mesh.fd >= 0)
		ntm_io_remove(&dc->mesh.io);
	/* a clean stop: others stop directing to this instance's nodes now,
	 * not DC_MESH_STALE_S later */
	if (dc->mesh.on && ntm_store_instance_release(dc->store, (unsigned)dc->cfg.instance) < 0)
		log_warn("mesh: cannot remove this instance's presence rows: %s",
			 ntm_store_errmsg(dc->store));
	forget_recent(dc);
	dc->mesh.fd = -1;
	dc->mesh.on = false;
}

void dc_mesh_tick(struct dc *dc, uint64_t now)
{
	if (!dc->mesh.on)
		return;
	if (now - dc->mesh.beat_ms >= DC_MESH_BEAT_MS) {
		dc->mesh.beat_ms = now;
		int ret = ntm_store_instance_beat(dc->store, (unsigned)dc->cfg.instance);
		/* said once per outage: the beat is tried every DC_MESH_BEAT_MS */
		if (ret < 0 && !dc->mesh.beat_failing)
			log_warn("mesh: cannot write this instance's beat (other instances ignore "
				 "its nodes after %u s): %s", DC_MESH_STALE_S,
				 ntm_store_errmsg(dc->store));
		else if (ret == 0 && dc->mesh.beat_failing)
			log_notice("mesh: this instance's beat is written again");
		dc->mesh.beat_failing = ret < 0;
	}
	ntm_idmap_sweep(&dc->mesh.recent, recent_old, &now);
	ntm_idmap_sweep(&dc->mesh.routes, route_old, &now);
	watch_socket(dc);
	drain(dc);
}

/* n as other instances direct routes to it. */
static void presence_of(const struct dc_node *n, struct ntm_mesh_presence *p)
{
	memset(p, 0, sizeof(*p));
	if (dc_observed(n, &p->observed) < 0)
		memset(&p->observed, 0, sizeof(p->observed));
	p->naddrs = n->naddrs <= NTM_MAX_ADDRS ? n->naddrs : NTM_MAX_ADDRS;
	memcpy(p->addrs, n->addrs, p->naddrs * sizeof(p->addrs[0]));
}

void dc_mesh_present(struct dc *dc, struct dc_node *n)
{
	struct ntm_mesh_presence p;
	uint8_t blob[NTM_MESH_PRESENCE_MAX];
	int len;

	if (!dc->mesh.on)
		return;
	presence_of(n, &p);
	len = ntm_mesh_presence_encode(&p, blob, sizeof(blob));
	if (len < 0 || ntm_store_presence_put(dc->store, (unsigned)dc->cfg.instance,
					      n->rec.pubkey, blob, (size_t)len) < 0) {
		dc->stats.mesh_errors++;
		log_warn("mesh: cannot record %s as present: %s", n->rec.name,
			 len < 0 ? strerror(-len) : ntm_store_errmsg(dc->store));
		return;
	}
	dc->stats.mesh_presence_writes++;
}

void dc_mesh_absent(struct dc *dc, struct dc_node *n)
{
	if (!dc->mesh.on || !n->registered_ms)
		return;
	if (ntm_store_presence_del(dc->store, (unsigned)dc->cfg.instance, n->rec.pubkey) < 0) {
		dc->stats.mesh_errors++;
		log_warn("mesh: cannot remove %s's presence: %s", n->rec.name,
			 ntm_store_errmsg(dc->store));
		return;
	}
	dc->stats.mesh_presence_writes++;
}

/* The ROUTE_DIRECTION for `to` describing a peer known by its enrolment. */
static void route_msg(struct ntm_ctl *m, uint32_t req_id, uint64_t route_id, uint8_t role,
		      uint8_t suite, const struct ntm_node_rec *peer)
{
	struct ntm_ctl_route_direction *r = &m->u.route;

	memset(m, 0, sizeof(*m));
	m->type = NTM_CTL_ROUTE_DIRECTION;
	r->req_id = req_id;
	r->route_id = route_id;
	r->role = role;
	r->suite = suite;
	memcpy(r->peer_key, peer->pubkey, 32);
	memcpy(r->peer_vip4, peer->vip4, 4);
	memcpy(r->peer_vip6, peer->vip6, 16);
	ntm_name_set(&r->peer_name, peer->name);
}

bool dc_mesh_direct(struct dc *dc, struct dc_node *n, const struct ntm_node_rec *target,
		    uint32_t req_id)
{
	uint8_t blob[NTM_STORE_PRESENCE_MAX];
	char channel[DC_MESH_CHANNEL_LEN], text[NTM_MESH_TEXT_MAX];
	struct ntm_mesh_presence tp, np;
	struct ntm_mesh_direct d = { 0 };
	struct dc_route rt = { 0 };
	struct ntm_ctl m;
	unsigned inst;
	size_t len;
	uint64_t rnd, id;
	int ret;

	if (!dc->mesh.on)
		return false;
	ret = ntm_store_presence_get(dc->store, target->pubkey, (unsigned)dc->cfg.instance,
				     DC_MESH_STALE_S, &inst, blob, sizeof(blob), &len);
	if (ret == -ENOENT)
		return false;
	if (ret == 0)
		ret = ntm_mesh_presence_decode(blob, len, &tp);
	if (ret < 0) {
		dc->stats.mesh_errors++;
		log_warn("mesh: %s's presence: %s", target->name,
			 ret == -EINVAL ? "not a presence row" : ntm_store_errmsg(dc->store));
		return false;
	}
	/* the route as dc_route.c makes one, held by no table: the target's
	 * instance knows it only from the notification */
	ntm_random(&rnd, sizeof(rnd));
	rt.route_id = id = ntm_mesh_route_id(rnd, (uint8_t)dc->cfg.instance);
	rt.initiator = n->rec.host_index;
	rt.responder = target->host_index;
	rt.suite = n->sess.suite;
	rt.created_ms = ntm_loop_now_ms();
	if (dc_relay_allocate(dc, &rt) == 0)
		dc->stats.routes_relayed++;
	else
		dc->stats.routes_unrelayed++;

	d.type = NTM_MESH_DIRECT;
	d.from_instance = (uint8_t)dc->cfg.instance;
	d.route_id = rt.route_id;
	d.suite = rt.suite;
	memcpy(d.target_key, target->pubkey, 32);
	memcpy(d.peer_key, n->rec.pubkey, 32);
	presence_of(n, &np);
	d.ncands = ntm_mesh_cands(&np, d.cands);
	route_msg(&m, req_id, rt.route_id, NTM_ROLE_INITIATOR, rt.suite, target);
	m.u.route.ncands = ntm_mesh_cands(&tp, m.u.route.cands);
	/* the relay as the requester reached this DC: the target's copy gets
	 * the same endpoint (this instance's address) with its own side */
	if (dc_relay_endpoint(dc, &rt, n, &m.u.route.relay_ep) == 0) {
		m.u.route.has_relay = true;
		m.u.route.relay_alloc_id = rt.alloc_id;
		m.u.route.relay_side = 0;
		memcpy(m.u.route.relay_key, rt.relay_key[0], 32);
		d.has_relay = 1;
		d.relay_ep = m.u.route.relay_ep;
		d.relay_alloc_id = rt.alloc_id;
		d.relay_side = 1;
		memcpy(d.relay_key, rt.relay_key[1], 32);
	}
	channel_of(inst, channel);
	ret = ntm_mesh_direct_to_text(&d, text, sizeof(text));
	if (ret >= 0)
		ret = ntm_store_notify(dc->store, channel, text);
	ntm_wipe(&d, sizeof(d));
	ntm_wipe(text, sizeof(text));
	ntm_wipe(&rt, sizeof(rt));
	if (ret < 0) {
		dc->stats.mesh_errors++;
		log_warn("mesh: cannot notify instance %u for %s: %s", inst, target->name,
			 ret == -EINVAL || ret == -ENOSPC ? strerror(-ret) :
			 ntm_store_errmsg(dc->store));
		ntm_wipe(&m, sizeof(m));
		return false;
	}
	remember(dc, n->rec.host_index, target->host_index, id);
	keep_route(dc, n->rec.host_index, &m.u.route);
	dc_send_ctl(dc, n, &m);
	ntm_wipe(&m, sizeof(m));
	dc->stats.directions++;
	dc->stats.mesh_sent++;
	log_info("route %016llx: %s -> %s at instance %u", (unsigned long long)id, n->rec.name,
		 target->name, inst);
	return true;
}

/* The ROUTE_DIRECTION node t was sent on mr again, with the mover's
 * fresh candidates: a Mesh Move. */
static void on_moved(struct dc *dc, struct dc_node *t, const struct ntm_node_rec *peer,
		     const struct ntm_mesh_direct *d)
{
	struct dc_mesh_route *mr = ntm_idmap_get(&dc->mesh.routes, d->route_id);
	struct ntm_ctl m;

	if (!mr || mr->host != t->rec.host_index || memcmp(mr->peer_key, d->peer_key, 32)) {
		dc->stats.mesh_dropped++;
		log_debug("mesh: a Mesh Move for route %016llx, which %s does not have with %s",
			  (unsigned long long)d->route_id, t->rec.name, peer->name);
		return;
	}
	route_msg(&m, 0, mr->route_id, mr->role, mr->suite, peer);
	m.u.route.ncands = d->ncands;
	memcpy(m.u.route.cands, d->cands, sizeof(d->cands));
	if (mr->has_relay) {
		m.u.route.has_relay = true;
		m.u.route.relay_ep = mr->relay_ep;
		m.u.route.relay_alloc_id = mr->relay_alloc_id;
		m.u.route.relay_side = mr->relay_side;
		memcpy(m.u.route.relay_key, mr->relay_key, 32);
	}
	dc_send_ctl(dc, t, &m);
	ntm_wipe(&m, sizeof(m));
	dc->stats.mesh_moved_directed++;
	log_info("route %016llx: %s moved (instance %u); directing %s again",
		 (unsigned long long)d->route_id, peer->name, d->from_instance, t->rec.name);
}

unsigned dc_mesh_push(struct dc *dc, struct dc_node *n)
{
	char channel[DC_MESH_CHANNEL_LEN], text[NTM_MESH_TEXT_MAX];
	struct ntm_mesh_presence np;
	struct ntm_mesh_direct d;
	struct dc_mesh_route *mr;
	size_t pos = 0, len;
	unsigned sent = 0, inst;
	uint8_t blob[NTM_STORE_PRESENCE_MAX];

	if (!dc->mesh.on)
		return 0;
	presence_of(n, &np);
	while ((mr = ntm_idmap_next(&dc->mesh.routes, &pos, NULL))) {
		if (mr->host != n->rec.host_index)
			continue;
		/* the other end's instance now: it may have moved on itself */
		int ret = ntm_store_presence_get(dc->store, mr->peer_key, (unsigned)dc->cfg.instance,
						 DC_MESH_STALE_S, &inst, blob, sizeof(blob), &len);
		if (ret == -ENOENT)
			continue;       /* gone, or registered here now */
		memset(&d, 0, sizeof(d));
		d.type = NTM_MESH_MOVED;
		d.from_instance = (uint8_t)dc->cfg.instance;
		d.route_id = mr->route_id;
		d.suite = mr->suite;
		memcpy(d.target_key, mr->peer_key, 32);
		memcpy(d.peer_key, n->rec.pubkey, 32);
		d.ncands = ntm_mesh_cands(&np, d.cands);
		channel_of(inst, channel);
		if (ret == 0)
			ret = ntm_mesh_direct_to_text(&d, text, sizeof(text));
		if (ret >= 0)
			ret = ntm_store_notify(dc->store, channel, text);
		if (ret < 0) {
			dc->stats.mesh_errors++;
			log_warn("mesh: cannot tell the other end of route %016llx that %s moved: %s",
				 (unsigned long long)mr->route_id, n->rec.name,
				 ret == -EINVAL || ret == -ENOSPC ? strerror(-ret) :
				 ntm_store_errmsg(dc->store));
			continue;
		}
		dc->stats.mesh_moved_sent++;
		sent++;
		log_info("route %016llx: %s moved; instance %u told", (unsigned long long)mr->route_id,
			 n->rec.name, inst);
	}
	return sent;
}

/* A Mesh Direction or Mesh Move from another instance: acted on only for
 * a node registered here now, and a requester (mover) enrolled in the
 * registry. */
static void on_notify(const char *channel, const char *payload, void *arg)
{
	struct dc *dc = arg;
	struct ntm_mesh_direct d;
	struct ntm_node_rec peer;
	struct ntm_ctl m;
	struct dc_node *t;
	uint32_t host;
	(void)channel;

	dc->stats.mesh_received++;
	if (ntm_mesh_direct_from_text(payload, &d) < 0 || d.from_instance == dc->cfg.instance) {
		dc->stats.mesh_dropped++;
		log_debug("mesh: a notification that is not a Mesh Direction or Move (%zu bytes)",
			  strnlen(payload, NTM_STORE_NOTIFY_MAX));
		return;
	}
	host = dc_keyset_get(&dc->keys, d.target_key);
	t = host ? ntm_idmap_get(&dc->by_host, host) : NULL;
	if (!dc_node_live(t) || memcmp(t->rec.pubkey, d.target_key, 32) ||
	    ntm_store_node_by_key(dc->store, d.peer_key, &peer) < 0) {
		dc->stats.mesh_dropped++;
		log_debug("mesh: a Mesh Direction or Move for a node not registered here, or "
			  "from one not enrolled");
		ntm_wipe(&d, sizeof(d));
		return;
	}
	if (d.type == NTM_MESH_MOVED) {
		on_moved(dc, t, &peer, &d);
		ntm_wipe(&d, sizeof(d));
		return;
	}
	struct dc_mesh_recent *r = ntm_idmap_get(&dc->mesh.recent,
						 pair_of(t->rec.host_index, peer.host_index));
	if (r && ntm_loop_now_ms() - r->made_ms < DC_MESH_GLARE_MS) {
		if (!ntm_mesh_theirs_wins(r->route_id, d.route_id)) {
			dc->stats.mesh_glare++;
			log_info("route %016llx: %s -> %s from instance %u crosses route %016llx: "
				 "that one stays", (unsigned long long)d.route_id, peer.name,
				 t->rec.name, d.from_instance, (unsigned long long)r->route_id);
			ntm_wipe(&d, sizeof(d));
			return;
		}
		drop_route(dc, r->route_id); /* ours lost: the node moves to theirs */
	}
	route_msg(&m, 0, d.route_id, NTM_ROLE_RESPONDER, d.suite, &peer);
	m.u.route.ncands = d.ncands;
	memcpy(m.u.route.cands, d.cands, sizeof(d.cands));
	if (d.has_relay) {
		m.u.route.has_relay = true;
		m.u.route.relay_ep = d.relay_ep;
		m.u.route.relay_alloc_id = d.relay_alloc_id;
		m.u.route.relay_side = d.relay_side;
		memcpy(m.u.route.relay_key, d.relay_key, 32);
	}
	keep_route(dc, t->rec.host_index, &m.u.route);
	dc_send_ctl(dc, t, &m);
	dc->stats.mesh_directed++;
	log_info("route %016llx: %s -> %s, directed for instance %u",
		 (unsigned long long)d.route_id, peer.name, t->rec.name, d.from_instance);
	ntm_wipe(&d, sizeof(d));
	ntm_wipe(&m, sizeof(m));
}
