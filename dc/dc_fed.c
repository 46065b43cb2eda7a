/* dc_fed.c - federation with the DCs of other zones (doc/protocol.md 10).
 *
 * Each [Federation.ZONE] section names a zone and pins its DC's public
 * key. When a node asks for a name under such a zone, the DC finds the
 * zone's DC (Endpoint, else DNS: SRV _ntm-dc._udp.ZONE, then the target's
 * A or AAAA record, with ldns), opens a Noise IK session to it (purpose 4,
 * from the DC's own UDP socket) and sends a FED_DIRECTION_REQ describing
 * the asking node (dc/fedmsg.h); the other DC directs its node and answers
 * with a FED_DIRECTION_RESP describing it, which becomes the asking node's
 * ROUTE_DIRECTION. Each DC decides for its own nodes only, and nothing
 * here answers a key that is not pinned: an init from any other key, or
 * DATA on no federation session, is dropped and counted.
 *
 * The DNS look-up runs on the event loop (its own socket, a query at a
 * time, DC_FED_DNS_TIMEOUT_S per send, two sends) and is cached for the
 * records' TTL; the DC serves its nodes meanwhile. DNSSEC is not checked
 * (the pinned key is what authenticates).
 *
 * Each DC keeps the federated routes it directed to its nodes (struct
 * dc_fed_route: the ROUTE_DIRECTION sent, the other end's zone), bounded
 * per node and in all, while the node lists them as live. When one of its
 * nodes moves (dc_push.c's trigger and rate: dc_fed_push), it directs the
 * node's routes to it again and tells each such route's other zone's DC
 * with a FED_ROUTE_MOVED carrying the node's fresh candidates, twice
 * (DC_FED_MOVED_REPEAT_MS apart; no answer); the
 * DC there directs its node again with the held ROUTE_DIRECTION, the
 * candidates replaced, when the route is one it holds for that pair from
 * that zone, at each copy: the second re-checks a path that the first may
 * have tried while the network still settled (doc/protocol.md 10.5). */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dc.h"
#include "fedmsg.h"
#include "log.h"
#include "meshmsg.h"
#include "util.h"

#define DC_FED_TICK_MS 250
#define DC_FED_REKEY_MS 120000        /* a new session after REKEY_AFTER_TIME */
#define DC_FED_REJECT_MS 180000       /* a session is not used after REJECT_AFTER_TIME */
#define DC_FED_HS_RETRY_MS 1000       /* an unanswered HANDSHAKE_INIT is sent again */
#define DC_FED_REQ_RETRY_MS 1000      /* an unanswered FED_DIRECTION_REQ too */
#define DC_FED_REQ_TRIES 3            /* then the node gets DIRECTION_NAK OFFLINE */
#define DC_FED_DNS_TIMEOUT_S 2         /* one query's wait; sent twice */
#define DC_FED_DNS_MIN_TTL_S 30
#define DC_FED_DNS_MAX_TTL_S 3600
#define DC_FED_DNS_NEG_S 10           /* a failed look-up is not repeated sooner */

/* ---- finding the peer ---- */

static bool below(const char *name, const char *zone)
{
	return ntm_fed_below(name, zone);
}

static struct dc_fed_peer *peer_for_name(struct dc *dc, const char *name)
{
	for (size_t i = 0; i < dc->nfed; i++)
		if (below(name, dc->fed[i].conf->zone))
			return &dc->fed[i];
	return NULL;
}

static struct dc_fed_peer *peer_for_key(struct dc *dc, const uint8_t pub[32])
{
	for (size_t i = 0; i < dc->nfed; i++)
		if (memcmp(dc->fed[i].conf->pub, pub, 32) == 0)
			return &dc->fed[i];
	return NULL;
}

bool dc_fed_index_used(const struct dc *dc, uint32_t idx)
{
	for (size_t i = 0; i < dc->nfed; i++) {
		const struct dc_fed_peer *p = &dc->fed[i];
		if ((p->out.valid && p->out.local_index == idx) ||
		    (p->in.valid && p->in.local_index == idx) ||
		    (p->hs.active && p->hs.local_index == idx))
			return true;
	}
	return false;
}

static uint32_t new_index(struct dc *dc)
{
	uint32_t idx;

	do
		ntm_random(&idx, sizeof(idx));
	while (idx == 0 || ntm_idmap_get(&dc->by_index, idx) || dc_fed_index_used(dc, idx));
	return idx;
}

/* ---- DNS (ldns codec, our own socket on the event loop): SRV
 * _ntm-dc._udp.ZONE, then the target's A or AAAA record unless the SRV
 * answer carried it. One query at a time per peer zone, sent again once
 * after DC_FED_DNS_TIMEOUT_S; the DC goes on serving meanwhile. ---- */

static void start_handshake(struct dc *dc, struct dc_fed_peer *p, uint64_t now);

/* The resolver to ask: [Federation] Resolver, else resolv.conf's first. */
static int dns_server(const struct dc *dc, struct sockaddr_storage *ss, socklen_t *len)
{
	ldns_resolver *res = NULL;
	struct sockaddr_storage *ns;
	size_t n = 0;

	if (dc->cfg.has_fed_resolver) {
		*ss = dc->cfg.fed_resolver;
		*len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6);
		return 0;
	}
	if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK)
		return -EIO;
	ns = ldns_resolver_nameserver_count(res) ?
		     ldns_rdf2native_sockaddr_storage(ldns_resolver_nameservers(res)[0], 53, &n) :
		     NULL;
	ldns_resolver_deep_free(res);
	if (!ns || n > sizeof(*ss)) {
		free(ns);
		return -EIO;
	}
	memcpy(ss, ns, n);
	*len = (socklen_t)n;
	free(ns);
	return 0;
}

static void dns_stop(struct dc_fed_dns *d)
{
	ntm_timer_cancel(&d->timer);
	if (d->fd >= 0) {
		ntm_io_remove(&d->io);
		close(d->fd);
	}
	d->fd = -1;
	d->l.step = FEDDNS_IDLE;
}

/* Sends this step's query (a new ID each send). 0 or -errno. */
static int dns_send(struct dc_fed_dns *d)
{
	uint8_t buf[512];
	uint16_t id;
	int len, ret;

	ntm_random(&id, sizeof(id));
	len = feddns_query(&d->l, id, buf, sizeof(buf));
	if (len < 0)
		return len;
	ret = sendto(d->fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
		     (const struct sockaddr *)&d->ns, d->nslen) < 0 ? -errno : 0;
	d->tries++;
	ntm_timer_arm(&d->timer, DC_FED_DNS_TIMEOUT_S * 1000, 0);
	return ret;
}

/* The look-up ended: the peer's endpoint known (ok) or not, for how long. */
static void dns_done(struct dc_fed_dns *d, bool ok, const char *why)
{
	struct dc_fed_peer *p = d->peer;
	struct dc *dc = d->dc;
	uint64_t now = ntm_loop_now_ms();
	uint32_t ttl = d->l.ttl;
	char ep[64];

	if (ok) {
		p->ep = d->l.ep;
		p->eplen = d->l.eplen;
	}
	dns_stop(d);
	dc->stats.fed_dns_done++;
	if (!ok) {
		log_warn("federation %s: finding its DC: _ntm-dc._udp.%s: %s", p->conf->zone,
			 p->conf->zone, why);
		p->has_ep = false;
		p->dns_until_ms = now + DC_FED_DNS_NEG_S * 1000;
		return; /* waiting requests end at their deadline (tick_peer) */
	}
	ttl = ttl < DC_FED_DNS_MIN_TTL_S ? DC_FED_DNS_MIN_TTL_S
	      : ttl > DC_FED_DNS_MAX_TTL_S ? DC_FED_DNS_MAX_TTL_S : ttl;
	p->dns_until_ms = now + (uint64_t)ttl * 1000;
	if (!p->has_ep)
		log_notice("federation %s: its DC is at %s (DNS SRV, TTL %u s)", p->conf->zone,
			   ntm_sockaddr_str((struct sockaddr *)&p->ep, ep, sizeof(ep)), ttl);
	p->has_ep = true;
	for (size_t i = 0; i < DC_FED_PENDING; i++)
		if (p->pending[i].fed_req_id && !p->out.valid && !p->hs.active) {
			start_handshake(dc, p, now);
			break;
		}
}

static void dns_timeout(struct ntm_timer *t, void *arg)
{
	struct dc_fed_dns *d = arg;
	(void)t;

	if (d->tries < 2 && dns_send(d) == 0)
		return;
	dns_done(d, false, "no answer from the resolver");
}

/* An answer from the resolver asked: the next query, the end, or nothing. */
static void dns_answer(struct dc_fed_dns *d, const uint8_t *buf, size_t len)
{
	switch (feddns_answer(&d->l, buf, len)) {
	case FEDDNS_IGNORE:
		return;
	case FEDDNS_FOUND:
		dns_done(d, true, NULL);
		return;
	case FEDDNS_FAIL:
		dns_done(d, false, d->l.why);
		return;
	case FEDDNS_NEXT:
		d->tries = 0;
		if (dns_send(d) < 0)
			dns_done(d, false, "cannot send to the resolver");
		return;
	}
}

static void dns_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	struct dc_fed_dns *d = arg;
	uint8_t buf[4096];
	(void)io;
	(void)events;

	for (int i = 0; i < 8 && d->fd >= 0; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(d->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fromlen);
		if (n < 0)
			return; /* EAGAIN; an ICMP error waits for the timeout */
		if (ntm_sockaddr_cmp((struct sockaddr *)&from, (struct sockaddr *)&d->ns) != 0)
			continue; /* only the resolver asked answers */
		dns_answer(d, buf, (size_t)n);
	}
}

/* Starts looking p's DC up. 0 (under way) or -errno with *why. */
static int dns_start(struct dc *dc, struct dc_fed_peer *p, const char **why)
{
	struct dc_fed_dns *d = &p->dns;
	int ret;

	if (dns_server(dc, &d->ns, &d->nslen) < 0) {
		*why = "no resolver (resolv.conf unreadable or [Federation] Resolver invalid)";
		return -EIO;
	}
	d->fd = socket(d->ns.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		*why = "cannot open a socket";
		return -errno;
	}
	d->dc = dc;
	d->peer = p;
	ntm_io_init(&d->io, dc->loop, d->fd, dns_readable, d);
	ntm_timer_init(&d->timer, dc->loop, dns_timeout, d);
	ret = ntm_io_add(&d->io, EPOLLIN);
	d->tries = 0;
	if (ret == 0)
		ret = feddns_start(&d->l, p->conf->zone, DC_FED_DNS_MAX_TTL_S);
	if (ret == 0)
		ret = dns_send(d);
	dc->stats.fed_dns_lookups++;
	if (ret < 0) {
		dc->stats.fed_dns_done++;
		dns_stop(d);
		*why = "cannot send to the resolver";
	}
	return ret;
}

/* Where p's DC is: its Endpoint, else DNS (cached for the TTL). 0 when
 * known; -EINPROGRESS while a look-up runs (the handshake starts when it
 * ends); another -errno when it is not known (for DC_FED_DNS_NEG_S after
 * a failure). */
static int peer_endpoint(struct dc *dc, struct dc_fed_peer *p, uint64_t now)
{
	const char *why = "";

	if (p->conf->has_ep) {
		p->ep = p->conf->ep;
		p->eplen = p->ep.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						      : sizeof(struct sockaddr_in6);
		p->has_ep = true;
		return 0;
	}
	if (now < p->dns_until_ms)
		return p->has_ep ? 0 : -ENOENT;
	if (p->dns.l.step)
		return -EINPROGRESS;
	int ret = dns_start(dc, p, &why);
	if (ret < 0) {
		log_warn("federation %s: finding its DC: _ntm-dc._udp.%s: %s", p->conf->zone,
			 p->conf->zone, why);
		p->has_ep = false;
		p->dns_until_ms = now + DC_FED_DNS_NEG_S * 1000;
		return ret;
	}
	return -EINPROGRESS;
}

/* ---- the sessions ---- */

static void fed_sendto(struct dc *dc, const struct sockaddr_storage *to, socklen_t tolen,
		       const struct ntm_udp_meta *via, const uint8_t *buf, size_t len)
{
	int fd = to->ss_family == AF_INET6 ? dc->fd6 : dc->fd4;

	if (fd < 0)
		return;
	if (ntm_udp_send(fd, buf, len, (const struct sockaddr *)to, tolen, via) >= 0)
		dc->stats.tx_packets++;
}

static void start_handshake(struct dc *dc, struct dc_fed_peer *p, uint64_t now)
{
	uint8_t out[NTM_HS_INIT_LEN];

	if (peer_endpoint(dc, p, now) < 0)
		return;
	int len = ntm_hs_initiate(&p->hs, &dc->id, p->conf->pub, NTM_SUITE_AESGCM, NTM_PURPOSE_FED,
				  new_index(dc), 0, out, sizeof(out));
	if (len < 0)
		return;
	p->hs_sent_ms = now;
	fed_sendto(dc, &p->ep, p->eplen, NULL, out, (size_t)len);
}

/* Seal msg into s and send it to (to, via). */
static int send_sealed(struct dc *dc, struct ntm_session *s, const struct sockaddr_storage *to,
		       socklen_t tolen, const struct ntm_udp_meta *via, const uint8_t *msg,
		       size_t len)
{
	uint8_t pkt[NTM_DATA_HDR_LEN + DC_FED_MSG_MAX + NTM_TAG_LEN];

	if (len > DC_FED_MSG_MAX)
		return -EMSGSIZE;
	memcpy(pkt + NTM_DATA_HDR_LEN, msg, len);
	int n = ntm_session_seal(s, pkt, len);
	if (n < 0)
		return n;
	fed_sendto(dc, to, tolen, via, pkt, (size_t)n);
	return 0;
}

static void nak_node(struct dc *dc, uint32_t host, uint32_t req_id, uint8_t status)
{
	struct dc_node *n = ntm_idmap_get(&dc->by_host, host);
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK };

	if (!n || !n->sess.valid)
		return;
	m.u.nak.req_id = req_id;
	m.u.nak.status = status;
	if (status == NTM_NAK_OFFLINE) {
		m.u.nak.has_last_seen = true;
		m.u.nak.last_seen_s = NTM_NAK_LAST_SEEN_UNKNOWN;
	}
	dc->stats.direction_naks++;
	dc_send_ctl(dc, n, &m);
}

static void pending_clear(struct dc_fed_pending *q)
{
	ntm_wipe(q, sizeof(*q));
}

/* ---- federated routes held for our nodes ---- */

static void froute_free(struct dc_fed_route *e)
{
	ntm_wipe(e, sizeof(*e)); /* the relay keys */
	free(e);
}

/* Hold (or update) what our node n was just sent for a federated route
 * with p's zone: dir as sent, and when the allocation is on our embedded
 * relay (alloc_id non-zero) both sides' keys. Bounded: a route beyond
 * DC_FED_ROUTES_PER_NODE or DC_FED_ROUTES_MAX is not held (its moves are
 * not told; the nodes find each other again by asking, as before). */
static void froute_keep(struct dc *dc, struct dc_fed_peer *p, const struct dc_node *n,
			const struct ntm_ctl_route_direction *dir, uint32_t alloc_id,
			const uint8_t key0[32], const uint8_t key1[32])
{
	struct dc_fed_route *e = ntm_idmap_get(&dc->fed_routes, dir->route_id);
	uint64_t now = ntm_loop_now_ms();

	if (e && (e->host != n->rec.host_index || e->peer != p)) {
		/* another pair's route ID: the first one stays */
		dc->stats.fed_routes_unkept++;
		log_info("federated route %016llx: %s: its ID is another route's; not kept for moves",
			 (unsigned long long)dir->route_id, n->rec.name);
		return;
	}
	if (!e) {
		size_t pos = 0, mine = 0;
		const struct dc_fed_route *o;
		while ((o = ntm_idmap_next(&dc->fed_routes, &pos, NULL)))
			mine += o->host == n->rec.host_index;
		if (dc->fed_routes.len >= DC_FED_ROUTES_MAX || mine >= DC_FED_ROUTES_PER_NODE ||
		    !(e = calloc(1, sizeof(*e)))) {
			dc->stats.fed_routes_unkept++;
			log_info("federated route %016llx: %s: %zu routes held for it, %zu in all; "
				 "not kept for moves", (unsigned long long)dir->route_id, n->rec.name,
				 mine, dc->fed_routes.len);
			return;
		}
		if (ntm_idmap_put(&dc->fed_routes, dir->route_id, e) < 0) {
			free(e);
			dc->stats.fed_routes_unkept++;
			return;
		}
		dc->stats.fed_routes_kept++;
	}
	e->route_id = dir->route_id;
	e->host = n->rec.host_index;
	e->peer = p;
	e->dir = *dir;
	e->dir.req_id = 0;
	e->created_ms = now;
	e->alloc_id = alloc_id;
	if (alloc_id) {
		memcpy(e->relay_key[0], key0, 32);
		memcpy(e->relay_key[1], key1, 32);
	}
}

void dc_fed_live(struct dc *dc, const struct dc_node *n, uint8_t count, const uint64_t *ids,
		 uint64_t now)
{
	for (uint8_t i = 0; i < count; i++) {
		struct dc_fed_route *e = ntm_idmap_get(&dc->fed_routes, ids[i]);
		if (e && e->host == n->rec.host_index) /* n's say is about its own routes */
			e->live_ms = now;
	}
}

struct froute_drop {
	uint64_t now;
	uint32_t host;                   /* non-zero: every route of that node */
	bool all;                        /* every route (closing) */
};

static bool froute_gone(void *val, uint64_t key, void *arg)
{
	struct dc_fed_route *e = val;
	const struct froute_drop *d = arg;
	uint64_t last = e->live_ms > e->created_ms ? e->live_ms : e->created_ms;
	(void)key;

	if (!d->all && (d->host ? e->host != d->host : d->now - last < DC_ROUTE_REUSE_MS))
		return false;
	froute_free(e);
	return true;
}

/* Our embedded relay's allocation for e installed again, in case it idled
 * out while the nodes talked directly (as dc_relay_refresh for a route of
 * two nodes of ours): the same ID and keys. */
static void froute_relay_refresh(struct dc *dc, const struct dc_fed_route *e)
{
	if (e->alloc_id && dc->cfg.embedded_relay)
		(void)relay_alloc(&dc->relay, e->alloc_id, (uint32_t)dc->cfg.relay_lifetime_s,
				  e->relay_key[0], e->relay_key[1], ntm_loop_now_ms());
}

/* ---- asking: our node wants a name under a federated zone ---- */

/* n described for a node of another zone, as dc_route.c's send_route. */
static void describe(const struct dc_node *n, struct ntm_ctl_route_direction *r)
{
	struct ntm_endpoint obs;

	memcpy(r->peer_key, n->rec.pubkey, 32);
	memcpy(r->peer_vip4, n->rec.vip4, 4);
	memcpy(r->peer_vip6, n->rec.vip6, 16);
	ntm_name_set(&r->peer_name, n->rec.name);
	for (uint8_t i = 0; i < n->naddrs; i++)
		dc_add_cand(r, n->addrs[i].family == 6 ? NTM_CAND_V6 : NTM_CAND_LAN,
			 n->addrs[i].family == 6 ? 30 : 20, &n->addrs[i]);
	if (dc_observed(n, &obs) == 0)
		dc_add_cand(r, NTM_CAND_NAT, 10, &obs);
}

/* The embedded relay's endpoint as the peer DC reaches us: the address
 * its datagrams came to, at the relay port. */
static int relay_ep_for_peer(const struct dc *dc, const struct dc_fed_peer *p,
			     struct ntm_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (!p->out_via.has_dst)
		return -ENOENT;
	if (p->out_via.family == AF_INET && dc->rfd4 >= 0) {
		ep->family = 4;
		memcpy(ep->addr, p->out_via.dst, 4);
	} else if (p->out_via.family == AF_INET6 && dc->rfd6 >= 0) {
		ep->family = 6;
		memcpy(ep->addr, p->out_via.dst, 16);
	} else {
		return -ENOENT;
	}
	ep->port = dc->cfg.relay_port;
	return 0;
}

/* A relay allocation for the route: side 0 (our node's) kept in q, side 1
 * put in r for the other zone's node. Only the embedded relay: a
 * standalone relay's address may not be reachable from the other zone. */
static void fed_relay(struct dc *dc, struct dc_fed_peer *p, struct dc_node *n,
		      struct dc_fed_pending *q, struct ntm_ctl_route_direction *r)
{
	struct dc_route rt = { 0 };
	struct ntm_endpoint theirs;

	if (!dc->cfg.embedded_relay || relay_ep_for_peer(dc, p, &theirs) < 0)
		return;
	if (ntm_random(rt.relay_key, sizeof(rt.relay_key)) < 0)
		return;
	for (int tries = 0; tries < 4; tries++) {
		ntm_random(&rt.alloc_id, sizeof(rt.alloc_id));
		if (!rt.alloc_id)
			continue;
		int ret = relay_alloc(&dc->relay, rt.alloc_id, (uint32_t)dc->cfg.relay_lifetime_s,
				      rt.relay_key[0], rt.relay_key[1], ntm_loop_now_ms());
		if (ret == 0)
			break;
		rt.alloc_id = 0;
		if (ret != -EEXIST)
			break;
	}
	if (!rt.alloc_id || dc_relay_endpoint(dc, &rt, n, &q->relay_ep) < 0) {
		ntm_wipe(&rt, sizeof(rt));
		return;
	}
	q->has_relay = true;
	q->alloc_id = rt.alloc_id;
	memcpy(q->relay_key, rt.relay_key[0], 32);
	r->has_relay = true;
	r->relay_ep = theirs;
	r->relay_alloc_id = rt.alloc_id;
	r->relay_side = 1;
	memcpy(r->relay_key, rt.relay_key[1], 32);
	ntm_wipe(&rt, sizeof(rt));
}

/* Send (again) q's request on our session: the relay allocation is made
 * at the first send, when the address the peer DC reaches us on is known. */
static void pending_send(struct dc *dc, struct dc_fed_peer *p, struct dc_fed_pending *q,
			 uint64_t now)
{
	uint8_t buf[DC_FED_MSG_MAX];

	if (!q->relay_tried) {
		struct dc_node *n = ntm_idmap_get(&dc->by_host, q->host);
		q->relay_tried = true;
		if (n)
			fed_relay(dc, p, n, q, &q->req.u.req.route);
	}
	q->sent_ms = now;
	q->tries++;
	int len = ntm_fed_encode(&q->req, buf, sizeof(buf));
	if (len < 0) {
		log_err_errno(-len, "encoding FED_DIRECTION_REQ for %s", q->target);
		return; /* the node gets its NAK when the tries run out */
	}
	if (send_sealed(dc, &p->out, &p->ep, p->eplen, NULL, buf, (size_t)len) == 0)
		dc->stats.fed_requests++;
	ntm_wipe(buf, sizeof(buf));
}

bool dc_fed_direction(struct dc *dc, struct dc_node *n, const struct ntm_ctl_direction_req *q)
{
	struct dc_fed_peer *p;
	struct ntm_name target;
	struct dc_fed_pending *slot = NULL;

	if (q->kind != NTM_DIR_BY_NAME || ntm_name_set(&target, q->name.s) < 0)
		return false;
	p = peer_for_name(dc, target.s);
	if (!p) {
		/* one line a second at most: the node decides what it asks */
		uint64_t now = ntm_loop_now_ms();
		if (strchr(target.s, '.') && !below(target.s, dc->cfg.zone) &&
		    (!dc->fed_log_ms || now - dc->fed_log_ms >= 1000)) {
			dc->fed_log_ms = now;
			log_notice("%s asked for %s: no [Federation.ZONE] for its zone (no pinned "
				   "DC key, no federation)", n->rec.name, target.s);
		}
		return false;
	}
	for (size_t i = 0; i < DC_FED_PENDING; i++) {
		if (p->pending[i].fed_req_id && p->pending[i].host == n->rec.host_index &&
		    strcmp(p->pending[i].target, target.s) == 0) {
			p->pending[i].node_req_id = q->req_id; /* the node asked again */
			return true;
		}
		if (!p->pending[i].fed_req_id && !slot)
			slot = &p->pending[i];
	}
	if (!slot) {
		nak_node(dc, n->rec.host_index, q->req_id, NTM_NAK_BUSY);
		return true;
	}
	struct ntm_fed_msg *m = &slot->req;
	struct ntm_ctl_route_direction *r = &m->u.req.route;
	memset(slot, 0, sizeof(*slot));
	m->type = NTM_FED_DIRECTION_REQ;
	m->u.req.target = target;
	do
		ntm_random(&m->u.req.req_id, sizeof(m->u.req.req_id));
	while (!m->u.req.req_id);
	/* the top byte our instance number, as for any route we make */
	do {
		ntm_random(&r->route_id, sizeof(r->route_id));
		r->route_id = ntm_mesh_route_id(r->route_id, (uint8_t)dc->cfg.instance);
	} while (!r->route_id);
	r->role = NTM_ROLE_RESPONDER;
	r->suite = n->sess.suite;
	describe(n, r);
	slot->fed_req_id = m->u.req.req_id;
	slot->route_id = r->route_id;
	slot->suite = r->suite;
	slot->host = n->rec.host_index;
	slot->node_req_id = q->req_id;
	snprintf(slot->target, sizeof(slot->target), "%s", target.s);
	slot->created_ms = ntm_loop_now_ms();
	if (p->out.valid)
		pending_send(dc, p, slot, slot->created_ms);
	else if (!p->hs.active)
		start_handshake(dc, p, slot->created_ms);
	return true;
}

/* ---- answering: the other zone's DC asks for one of our nodes ---- */

static void respond(struct dc *dc, struct dc_fed_peer *p, struct ntm_session *s,
		    const struct sockaddr_storage *to, socklen_t tolen,
		    const struct ntm_udp_meta *via, const struct ntm_fed_msg *m)
{
	uint8_t buf[DC_FED_MSG_MAX];
	int len = ntm_fed_encode(m, buf, sizeof(buf));

	if (len < 0 || send_sealed(dc, s, to, tolen, via, buf, (size_t)len) < 0)
		log_debug("federation %s: cannot answer", p->conf->zone);
}

static uint8_t on_request(struct dc *dc, struct dc_fed_peer *p, struct ntm_fed_req *q,
			  struct ntm_fed_resp *out)
{
	struct ntm_node_rec rec;

	/* each DC speaks for its own zone only, and for full names */
	if (ntm_fed_check_request(q, dc->cfg.zone, p->conf->zone) != NTM_FED_OK) {
		log_warn("federation %s: request for %s on behalf of %s refused: not a node of %s "
			 "asking for a name of %s", p->conf->zone, q->target.s, q->route.peer_name.s,
			 p->conf->zone, dc->cfg.zone);
		return NTM_FED_REFUSED;
	}
	/* this DC's policy for its own node, before the name is looked up
	 * (as for its own nodes' requests: a forbidden name says nothing of
	 * whether it is enrolled) */
	if (dc->policy && !ntm_policy_allows(dc->policy, q->route.peer_name.s, q->target.s, NULL)) {
		dc->stats.policy_denied++;
		log_info("policy: %s (%s) may not initiate to %s", q->route.peer_name.s,
			 p->conf->zone, q->target.s);
		return NTM_FED_FORBIDDEN;
	}
	if (dc_find_by_name(dc, q->target.s, &rec) < 0)
		return NTM_FED_NOT_FOUND;
	struct dc_node *b = ntm_idmap_get(&dc->by_host, rec.host_index);
	if (!dc_node_live(b))
		return NTM_FED_OFFLINE;
	/* b learns a's data and its side of the relay, as the route's responder */
	struct ntm_ctl c = { .type = NTM_CTL_ROUTE_DIRECTION };
	c.u.route = q->route;
	c.u.route.req_id = 0;
	dc_send_ctl(dc, b, &c);
	/* the relay allocation, if any, is the asking DC's */
	froute_keep(dc, p, b, &c.u.route, 0, NULL, NULL);
	ntm_wipe(&c, sizeof(c));
	/* a learns b's */
	out->route.route_id = q->route.route_id;
	out->route.suite = q->route.suite;
	out->route.role = NTM_ROLE_INITIATOR;
	describe(b, &out->route);
	dc->stats.fed_answered++;
	log_info("federated route %016llx: %s (%s) -> %s", (unsigned long long)q->route.route_id,
		 q->route.peer_name.s, p->conf->zone, b->rec.name);
	return NTM_FED_OK;
}

/* ---- the answer to our request ---- */

/* Our prefix of one family as bytes and length (0: none). */
static unsigned prefix_bytes(const struct ntm_conf_addr *p, uint8_t out[16])
{
	memset(out, 0, 16);
	if (p->family == AF_INET)
		memcpy(out, &p->u.v4, 4);
	else if (p->family == AF_INET6)
		memcpy(out, &p->u.v6, 16);
	else
		return 0;
	return p->plen;
}

static void on_response(struct dc *dc, struct dc_fed_peer *p, struct ntm_fed_resp *a)
{
	struct dc_fed_pending *q = NULL;
	struct ntm_conf_addr p4, p6;

	for (size_t i = 0; i < DC_FED_PENDING && !q; i++)
		if (p->pending[i].fed_req_id && p->pending[i].fed_req_id == a->req_id)
			q = &p->pending[i];
	if (!q) {
		dc->stats.drop_fed++;
		return; /* a repeat, or not ours */
	}
	struct dc_node *n = ntm_idmap_get(&dc->by_host, q->host);
	static const uint8_t nak_of[] = {
		[NTM_FED_NOT_FOUND] = NTM_NAK_NOT_FOUND, [NTM_FED_OFFLINE] = NTM_NAK_OFFLINE,
		[NTM_FED_REFUSED] = NTM_NAK_REFUSED, [NTM_FED_BUSY] = NTM_NAK_BUSY,
		[NTM_FED_FORBIDDEN] = NTM_NAK_FORBIDDEN,
	};
	if (a->status != NTM_FED_OK) {
		log_info("federation %s: %s: refused by its DC (status %u)", p->conf->zone, q->target,
			 a->status);
		nak_node(dc, q->host, q->node_req_id, nak_of[a->status]);
		pending_clear(q);
		return;
	}
	/* the other DC speaks for its zone only, and never for our addresses */
	ntm_store_prefixes(dc->store, &p4, &p6);
	struct ntm_ctl_route_direction *r = &a->route;
	uint8_t b4[16], b6[16];
	unsigned l4 = prefix_bytes(&p4, b4), l6 = prefix_bytes(&p6, b6);
	if (!ntm_fed_check_answer(a, q->target, q->route_id, b4, l4, b6, l6)) {
		log_warn("federation %s: answer for %s refused: it names %s or an address of "
			 "this zone", p->conf->zone, q->target, r->peer_name.s);
		nak_node(dc, q->host, q->node_req_id, NTM_NAK_REFUSED);
		pending_clear(q);
		return;
	}
	if (!n || !n->sess.valid) {
		pending_clear(q);
		return;
	}
	struct ntm_ctl c = { .type = NTM_CTL_ROUTE_DIRECTION };
	c.u.route = *r;
	c.u.route.req_id = q->node_req_id;
	c.u.route.role = NTM_ROLE_INITIATOR;
	c.u.route.suite = q->suite;
	c.u.route.has_relay = q->has_relay;
	if (q->has_relay) {
		c.u.route.relay_ep = q->relay_ep;
		c.u.route.relay_alloc_id = q->alloc_id;
		c.u.route.relay_side = 0;
		memcpy(c.u.route.relay_key, q->relay_key, 32);
	}
	dc_send_ctl(dc, n, &c);
	froute_keep(dc, p, n, &c.u.route, q->has_relay ? q->alloc_id : 0, q->relay_key,
		    q->req.u.req.route.relay_key);
	ntm_wipe(&c, sizeof(c));
	dc->stats.fed_directions++;
	dc->stats.directions++;
	log_info("federated route %016llx: %s -> %s (%s)%s", (unsigned long long)q->route_id,
		 n->rec.name, q->target, p->conf->zone, q->has_relay ? ", embedded relay" : "");
	pending_clear(q);
}

/* ---- moves: ours told, the other ends' taken ---- */

/* One copy of e's FED_ROUTE_MOVED on our session to p (up): our node's
 * candidates now, described as for a request. */
static void moved_send(struct dc *dc, struct dc_fed_peer *p, struct dc_fed_route *e, uint64_t now)
{
	struct dc_node *n = ntm_idmap_get(&dc->by_host, e->host);
	struct ntm_fed_msg m = { .type = NTM_FED_ROUTE_MOVED };
	struct ntm_ctl_route_direction me = { 0 };
	uint8_t buf[DC_FED_MSG_MAX];

	if (!n) {
		e->move_id = 0; /* it left: nothing to tell */
		return;
	}
	describe(n, &me);
	m.u.moved.move_id = e->move_id;
	m.u.moved.route_id = e->route_id;
	memcpy(m.u.moved.mover_key, n->rec.pubkey, 32);
	memcpy(m.u.moved.target_key, e->dir.peer_key, 32);
	m.u.moved.mover_name = me.peer_name;
	m.u.moved.ncands = me.ncands;
	memcpy(m.u.moved.cands, me.cands, sizeof(me.cands));
	e->move_sends++;
	e->move_ms = now;
	int len = ntm_fed_encode(&m, buf, sizeof(buf));
	if (len < 0) {
		log_err_errno(-len, "encoding FED_ROUTE_MOVED for %s", n->rec.name);
		e->move_id = 0;
		return;
	}
	if (send_sealed(dc, &p->out, &p->ep, p->eplen, NULL, buf, (size_t)len) == 0)
		dc->stats.fed_moved_sent++;
	if (e->move_sends >= DC_FED_MOVED_SENDS)
		e->move_id = 0;
}

/* p's waiting moves: each sent when our session is up (the first copy at
 * once, the second DC_FED_MOVED_REPEAT_MS later), a handshake started when
 * it is not, and given up as a request would be. */
static void moves_flush(struct dc *dc, struct dc_fed_peer *p, uint64_t now)
{
	struct dc_fed_route *e;
	size_t pos = 0;
	bool due = false;

	if (!p->moves_due)
		return;
	while ((e = ntm_idmap_next(&dc->fed_routes, &pos, NULL))) {
		if (e->peer != p || !e->move_id)
			continue;
		if (!p->out.valid) {
			if (now - e->move_start_ms >=
			    DC_FED_REQ_TRIES * DC_FED_REQ_RETRY_MS + DC_FED_HS_RETRY_MS) {
				dc->stats.fed_moved_unsent++;
				log_warn("federated route %016llx: a move not told to %s's DC: no session",
					 (unsigned long long)e->route_id, p->conf->zone);
				e->move_id = 0;
				continue;
			}
		} else if (!e->move_sends || now - e->move_ms >= DC_FED_MOVED_REPEAT_MS) {
			moved_send(dc, p, e, now);
		}
		due |= e->move_id != 0;
	}
	p->moves_due = due;
	if (due && !p->out.valid && (!p->hs.active || now - p->hs_sent_ms >= DC_FED_HS_RETRY_MS))
		start_handshake(dc, p, now);
}

void dc_fed_push(struct dc *dc, struct dc_node *n, uint8_t why)
{
	uint64_t now = ntm_loop_now_ms();
	struct dc_fed_route *e;
	size_t pos = 0;
	unsigned told = 0;

	if (!dc->fed_routes.len)
		return;
	if (why & DC_PUSH_RESTARTED) {
		/* the restarted node knows none of its routes; the other ends'
		 * DCs forget theirs when their nodes stop listing them */
		struct froute_drop d = { .now = now, .host = n->rec.host_index };
		ntm_idmap_sweep(&dc->fed_routes, froute_gone, &d);
		return;
	}
	while ((e = ntm_idmap_next(&dc->fed_routes, &pos, NULL))) {
		if (e->host != n->rec.host_index)
			continue;
		do
			ntm_random(&e->move_id, sizeof(e->move_id));
		while (!e->move_id);
		e->move_sends = 0;
		e->move_start_ms = now;
		e->peer->moves_due = true;
		froute_relay_refresh(dc, e);
		/* n too gets its route again, as dc_push.c directs both ends:
		 * the other end's candidates as last told (a FED_ROUTE_MOVED
		 * of its DC may have come while n could not be reached, when
		 * both moved), so n probes them from where it is now */
		struct ntm_ctl c = { .type = NTM_CTL_ROUTE_DIRECTION };
		c.u.route = e->dir;
		dc_send_ctl(dc, n, &c);
		ntm_wipe(&c, sizeof(c));
		told++;
	}
	if (!told)
		return;
	log_info("%s moved: directing its %u federated route(s) again, telling the other zones' DCs",
		 n->rec.name, told);
	for (size_t i = 0; i < dc->nfed; i++)
		moves_flush(dc, &dc->fed[i], now);
}

/* A FED_ROUTE_MOVED from p's DC: our node is directed again when the route
 * is one we hold for that pair from that zone, and the node is registered. */
static void on_moved(struct dc *dc, struct dc_fed_peer *p, const struct ntm_fed_moved *m)
{
	static const uint8_t none[32];
	struct dc_fed_route *e = ntm_idmap_get(&dc->fed_routes, m->route_id);
	struct dc_node *n;

	if (e && e->peer != p)
		e = NULL; /* held, but for another zone's node */
	n = e ? ntm_idmap_get(&dc->by_host, e->host) : NULL;
	switch (ntm_fed_check_moved(m, p->conf->zone, e ? &e->dir : NULL, n ? n->rec.pubkey : none)) {
	case NTM_FED_MOVED_OK:
		break;
	case NTM_FED_MOVED_ZONE:
		dc->stats.fed_moved_dropped++;
		log_info("federation %s: a move of %s dropped: not a node of %s", p->conf->zone,
			 m->mover_name.s, p->conf->zone);
		return;
	case NTM_FED_MOVED_ROUTE:
		dc->stats.fed_moved_dropped++;
		log_debug("federation %s: a move of %s on route %016llx dropped: no such route "
			  "held for that pair", p->conf->zone, m->mover_name.s,
			  (unsigned long long)m->route_id);
		return;
	}
	if (!dc_node_live(n)) {
		dc->stats.fed_moved_dropped++;
		log_debug("federated route %016llx: %s moved, %s not registered now",
			  (unsigned long long)m->route_id, m->mover_name.s, n->rec.name);
		return;
	}
	e->dir.ncands = m->ncands;
	memcpy(e->dir.cands, m->cands, sizeof(e->dir.cands));
	froute_relay_refresh(dc, e);
	/* the same route ID, role, suite and relay part: the node checks its
	 * path (tund/path.c) with the mover's new candidates */
	struct ntm_ctl c = { .type = NTM_CTL_ROUTE_DIRECTION };
	c.u.route = e->dir;
	dc_send_ctl(dc, n, &c);
	ntm_wipe(&c, sizeof(c));
	dc->stats.fed_moved_directed++;
	log_info("federated route %016llx: %s (%s) moved: directing %s again (%u candidates)",
		 (unsigned long long)m->route_id, m->mover_name.s, p->conf->zone, n->rec.name,
		 m->ncands);
}

/* ---- datagrams ---- */

bool dc_fed_on_hs_init(struct dc *dc, int fd, struct ntm_hs_responder *r,
		       const struct ntm_udp_meta *m)
{
	uint8_t out[NTM_HS_RESP_LEN], now[12];
	struct ntm_session s;
	(void)fd;

	if (r->info.purpose != NTM_PURPOSE_FED)
		return false;
	struct dc_fed_peer *p = peer_for_key(dc, r->info.initiator_pub);
	if (!p) {
		/* no key pinned, no federation, and no answer */
		dc->stats.drop_fed++;
		return true;
	}
	ntm_tai64n_now(now);
	if (ntm_hs_ts_check(r->info.timestamp, p->in_last_ts, now, DC_HS_MAX_AHEAD_S) !=
	    NTM_TS_ACCEPT) {
		dc->stats.drop_fed++;
		return true;
	}
	uint8_t ts[12];
	memcpy(ts, r->info.timestamp, sizeof(ts));
	if (ntm_hs_respond_finish(r, new_index(dc), out, sizeof(out), &s) < 0)
		return true;
	memcpy(p->in_last_ts, ts, sizeof(ts));
	ntm_session_clear(&p->in);
	p->in = s;
	p->in_ms = ntm_loop_now_ms();
	memcpy(&p->in_ep, &m->src, m->srclen);
	p->in_eplen = m->srclen;
	p->in_via = *m;
	dc->stats.fed_handshakes++;
	fed_sendto(dc, &p->in_ep, p->in_eplen, &p->in_via, out, sizeof(out));
	log_debug("federation %s: session from its DC", p->conf->zone);
	return true;
}

bool dc_fed_on_hs_resp(struct dc *dc, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	if (!dc->nfed) {
		dc->stats.drop_malformed++; /* nothing a DC without federation expects */
		return false;
	}
	for (size_t i = 0; i < dc->nfed; i++) {
		struct dc_fed_peer *p = &dc->fed[i];
		struct ntm_session s;
		if (!p->hs.active || ntm_hs_complete(&p->hs, &dc->id, buf, len, &s) < 0)
			continue;
		ntm_session_clear(&p->out);
		p->out = s;
		p->out_ms = ntm_loop_now_ms();
		p->out_via = *m;
		dc->stats.fed_handshakes++;
		if (!p->up)
			log_notice("federation %s: session with its DC up (%s)", p->conf->zone,
				   ntm_sockaddr_str((const struct sockaddr *)&m->src, (char[64]){ 0 },
						    64));
		p->up = true;
		for (size_t k = 0; k < DC_FED_PENDING; k++)
			if (p->pending[k].fed_req_id)
				pending_send(dc, p, &p->pending[k], p->out_ms);
		moves_flush(dc, p, p->out_ms);
		return true;
	}
	dc->stats.drop_fed++;
	return false;
}

bool dc_fed_on_data(struct dc *dc, uint8_t *buf, size_t len, const struct ntm_udp_meta *m,
		    uint32_t receiver)
{
	struct ntm_fed_msg msg;
	size_t ptlen;

	for (size_t i = 0; i < dc->nfed; i++) {
		struct dc_fed_peer *p = &dc->fed[i];
		bool in = p->in.valid && p->in.local_index == receiver;
		bool out = p->out.valid && p->out.local_index == receiver;
		if (!in && !out)
			continue;
		struct ntm_session *s = in ? &p->in : &p->out;
		if (ntm_session_open(s, buf, len, &ptlen) < 0) {
			dc->stats.drop_fed++;
			return true;
		}
		if (in) {
			memcpy(&p->in_ep, &m->src, m->srclen);
			p->in_eplen = m->srclen;
			p->in_via = *m;
		}
		if (ptlen == 0)
			return true;
		if (ntm_fed_decode(buf + NTM_DATA_HDR_LEN, ptlen, &msg) < 0) {
			dc->stats.drop_fed++;
			return true;
		}
		if (msg.type == NTM_FED_DIRECTION_REQ) {
			struct ntm_fed_msg resp = { .type = NTM_FED_DIRECTION_RESP };
			resp.u.resp.req_id = msg.u.req.req_id;
			resp.u.resp.status = on_request(dc, p, &msg.u.req, &resp.u.resp);
			ntm_wipe(&msg, sizeof(msg));
			if (in)
				respond(dc, p, s, &p->in_ep, p->in_eplen, &p->in_via, &resp);
			else
				respond(dc, p, s, &p->ep, p->eplen, NULL, &resp);
		} else if (msg.type == NTM_FED_ROUTE_MOVED) {
			on_moved(dc, p, &msg.u.moved); /* on either session; never answered */
		} else if (out) {
			on_response(dc, p, &msg.u.resp);
		} else {
			dc->stats.drop_fed++;
		}
		return true;
	}
	return false;
}

/* ---- timers ---- */

static void tick_peer(struct dc *dc, struct dc_fed_peer *p, uint64_t now)
{
	bool waiting = false;

	for (size_t i = 0; i < DC_FED_PENDING; i++) {
		struct dc_fed_pending *q = &p->pending[i];
		if (!q->fed_req_id)
			continue;
		if (q->tries >= DC_FED_REQ_TRIES ||
		    now - q->created_ms >= DC_FED_REQ_TRIES * DC_FED_REQ_RETRY_MS + DC_FED_HS_RETRY_MS) {
			log_warn("federation %s: %s: no answer from its DC (%s; is this DC's key "
				 "pinned there?)", p->conf->zone, q->target,
				 p->out.valid ? "session up, request unanswered" : "no session");
			nak_node(dc, q->host, q->node_req_id, NTM_NAK_OFFLINE);
			pending_clear(q);
			continue;
		}
		waiting = true;
		if (p->out.valid && now - q->sent_ms >= DC_FED_REQ_RETRY_MS)
			pending_send(dc, p, q, now);
	}
	if (p->out.valid && now - p->out_ms >= DC_FED_REKEY_MS) {
		ntm_session_clear(&p->out);
		p->up = false;
	}
	if (p->in.valid && now - p->in_ms >= DC_FED_REJECT_MS)
		ntm_session_clear(&p->in); /* its DC makes a new one when it asks again */
	if (waiting && !p->out.valid && (!p->hs.active || now - p->hs_sent_ms >= DC_FED_HS_RETRY_MS))
		start_handshake(dc, p, now);
	moves_flush(dc, p, now);
}

static void fed_tick(struct ntm_timer *t, void *arg)
{
	struct dc *dc = arg;
	uint64_t now = ntm_loop_now_ms();
	(void)t;

	for (size_t i = 0; i < dc->nfed; i++)
		tick_peer(dc, &dc->fed[i], now);
	if (now - dc->fed_sweep_ms >= 1000) {
		struct froute_drop d = { .now = now };
		dc->fed_sweep_ms = now;
		ntm_idmap_sweep(&dc->fed_routes, froute_gone, &d);
	}
}

void dc_fed_open(struct dc *dc)
{
	dc->nfed = dc->cfg.nfed;
	for (size_t i = 0; i < dc->nfed; i++) {
		char key[NTM_KEY_B64_LEN + 1];
		memset(&dc->fed[i], 0, sizeof(dc->fed[i]));
		dc->fed[i].conf = &dc->cfg.fed[i];
		dc->fed[i].dns.fd = -1;
		ntm_key_to_base64(key, dc->cfg.fed[i].pub);
		log_notice("federation: zone %s, its DC's key %s", dc->cfg.fed[i].zone, key);
	}
	ntm_idmap_init(&dc->fed_routes);
	ntm_timer_init(&dc->fed_timer, dc->loop, fed_tick, dc);
	if (dc->nfed)
		ntm_timer_arm(&dc->fed_timer, DC_FED_TICK_MS, DC_FED_TICK_MS);
}

void dc_fed_close(struct dc *dc)
{
	struct froute_drop all = { .all = true };

	ntm_timer_cancel(&dc->fed_timer);
	ntm_idmap_sweep(&dc->fed_routes, froute_gone, &all);
	ntm_idmap_free(&dc->fed_routes);
	for (size_t i = 0; i < dc->nfed; i++) {
		dns_stop(&dc->fed[i].dns);
		ntm_session_clear(&dc->fed[i].in);
		ntm_session_clear(&dc->fed[i].out);
		ntm_wipe(&dc->fed[i], sizeof(dc->fed[i]));
	}
	dc->nfed = 0;
}
