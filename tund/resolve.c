/* resolve.c - ntm-tund's answers to RESOLVE_NAME, RESOLVE_ADDR, PEERS and
 * PING on the control socket (doc/control.md). A name of a live peer is
 * answered from the peer table with no network round trip; otherwise the
 * DC is asked once (concurrent requests for one name wait on the same
 * peer) and the reply is deferred until its Route Direction arrives, the DC
 * says no, or the caller's wait runs out (TRYAGAIN). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer.h"
#include "peername.h"
#include "tund.h"
#include "util.h"

/* A name as a user or program asks for it: the full name of a peer
 * (peername.h). "bob" is not found: the stub's search list qualifies it. */
int peer_name_check(const struct tund *t, const char *in, struct ntm_name *out)
{
	return peername_check(in, t->zones, t->nzones, out);
}

static int answer(uint8_t *out, size_t cap, uint8_t type, uint32_t req_id, const char *name,
		  uint8_t families, const uint8_t *v4, const uint8_t *v6)
{
	struct ntm_lctl_resolve r = { .ttl = OVERLAY_TTL };

	snprintf(r.name, sizeof(r.name), "%s", name);
	if (type == NTM_LCTL_RESOLVE_NAME && (families & NTM_LCTL_FAM_V4)) {
		r.addrs[r.n_addrs].family = 4;
		memcpy(r.addrs[r.n_addrs++].addr, v4, 4);
	}
	if (type == NTM_LCTL_RESOLVE_NAME && (families & NTM_LCTL_FAM_V6)) {
		r.addrs[r.n_addrs].family = 6;
		memcpy(r.addrs[r.n_addrs++].addr, v6, 16);
	}
	return ntm_lctl_reply_resolve(out, cap, type, req_id, &r);
}

static void waiter_cancel(void *arg)
{
	struct waiter *w = arg, **pp;

	for (pp = &w->p->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	free(w);
}

/* Answer every waiter of p with status (OK: p's addresses). */
void resolve_answer(struct peer *p, uint8_t status)
{
	uint8_t buf[2048];

	while (p->waiters) {
		struct waiter *w = p->waiters;
		int n;
		p->waiters = w->next;
		ntm_ctlconn_on_cancel(w->conn, NULL, NULL);
		if (status == NTM_LCTL_OK)
			n = answer(buf, sizeof(buf), w->type, w->req_id, p->name, w->families, p->vip4,
				   p->vip6);
		else
			n = ntm_lctl_reply_empty(buf, sizeof(buf), w->type, w->req_id, status);
		if (n > 0)
			ntm_ctlsrv_reply(w->conn, buf, (size_t)n);
		free(w);
	}
}

void resolve_answer_offline(struct peer *p, uint32_t last_seen_s)
{
	uint8_t buf[64];

	while (p->waiters) {
		struct waiter *w = p->waiters;
		p->waiters = w->next;
		ntm_ctlconn_on_cancel(w->conn, NULL, NULL);
		int n = ntm_lctl_reply_offline(buf, sizeof(buf), w->type, w->req_id, last_seen_s);
		if (n > 0)
			ntm_ctlsrv_reply(w->conn, buf, (size_t)n);
		free(w);
	}
}

void resolve_answer_forbidden(struct peer *p, uint8_t by)
{
	uint8_t buf[64];

	while (p->waiters) {
		struct waiter *w = p->waiters;
		p->waiters = w->next;
		ntm_ctlconn_on_cancel(w->conn, NULL, NULL);
		int n = ntm_lctl_reply_forbidden(buf, sizeof(buf), w->type, w->req_id, by);
		if (n > 0)
			ntm_ctlsrv_reply(w->conn, buf, (size_t)n);
		free(w);
	}
}

void resolve_sweep(struct tund *t, uint64_t now)
{
	size_t pos = 0;
	struct peer *p;
	uint8_t buf[64];

	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL))) {
		struct waiter **pp = &p->waiters;
		while (*pp) {
			struct waiter *w = *pp;
			if (now < w->deadline_ms) {
				pp = &w->next;
				continue;
			}
			*pp = w->next;
			ntm_ctlconn_on_cancel(w->conn, NULL, NULL);
			int n = ntm_lctl_reply_empty(buf, sizeof(buf), w->type, w->req_id,
						     NTM_LCTL_TRYAGAIN);
			if (n > 0)
				ntm_ctlsrv_reply(w->conn, buf, (size_t)n);
			free(w);
		}
	}
}

static int wait_for(struct tund *t, struct peer *p, struct ntm_ctlconn *c,
		    const struct ntm_lctl_req *req, uint8_t *out, size_t cap)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_INTERNAL);
	w->t = t;
	w->p = p;
	w->conn = c;
	w->type = req->hdr.type;
	w->families = req->families ? req->families : NTM_LCTL_FAM_BOTH;
	w->req_id = req->hdr.req_id;
	w->deadline_ms = ntm_loop_now_ms() +
			 (req->has_wait_ms ? req->wait_ms : RESOLVE_WAIT_DEFAULT_MS);
	w->next = p->waiters;
	p->waiters = w;
	ntm_ctlconn_on_cancel(c, waiter_cancel, w);
	return NTM_CTLSRV_DEFER;
}

/* A lookup the node will not send to the DC: NOTFOUND when the DC said
 * so lately (negative cache), TRYAGAIN for a limit (logged by peer.c,
 * rate-limited), INTERNAL when out of memory. */
static int refused(uint8_t *out, size_t cap, uint8_t type, uint32_t id, int err)
{
	uint16_t st = err == -ENOENT ? NTM_LCTL_NOTFOUND
		    : err == -ENOMEM ? NTM_LCTL_INTERNAL : NTM_LCTL_TRYAGAIN;
	return ntm_lctl_reply_empty(out, cap, type, id, st);
}

static int resolve_name(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
			uint8_t *out, size_t cap)
{
	struct ntm_name n;
	uint8_t type = req->hdr.type;
	uint32_t id = req->hdr.req_id;
	uint8_t fam = req->families ? req->families : NTM_LCTL_FAM_BOTH;

	if (peer_name_check(t, req->name, &n) < 0)
		return ntm_lctl_reply_empty(out, cap, type, id, NTM_LCTL_NOTFOUND);
	if (t->dc.state != DC_REGISTERED && !peer_by_name(t, n.s))
		return ntm_lctl_reply_empty(out, cap, type, id, NTM_LCTL_TRYAGAIN);
	if (strcmp(n.s, t->fqdn) == 0)
		return answer(out, cap, type, id, t->fqdn, fam, t->vip4, t->vip6);
	/* a lookup is an initiation: this node's policy first, before the DC */
	if (peer_policy_forbids(t, n.s))
		return ntm_lctl_reply_forbidden(out, cap, type, id, NTM_LCTL_FORBIDDEN_NODE);
	struct peer *p = peer_by_name(t, n.s);
	if (p && p->resolved)
		return answer(out, cap, type, id, p->name, fam, p->vip4, p->vip6);
	int err;
	p = peer_request_for(t, n.s, 0, NULL, ntm_ctlconn_cred(c)->uid, &err);
	if (!p)
		return refused(out, cap, type, id, err);
	if (req->has_wait_ms && req->wait_ms == 0)
		return ntm_lctl_reply_empty(out, cap, type, id, NTM_LCTL_TRYAGAIN);
	return wait_for(t, p, c, req, out, cap);
}

static int resolve_addr(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
			uint8_t *out, size_t cap)
{
	int af = req->addr.family == 4 ? AF_INET : AF_INET6;
	const uint8_t *a = req->addr.addr;
	uint8_t type = req->hdr.type;
	uint32_t id = req->hdr.req_id;

	if (!peer_addr_in_overlay(t, af, a)) {
		/* a federated zone's peer we have: its name (no DC asked for
		 * addresses of other zones) */
		struct peer *f = peer_by_addr(t, af, a);
		if (f && f->resolved && f->name[0])
			return answer(out, cap, type, id, f->name, 0, NULL, NULL);
		return ntm_lctl_reply_empty(out, cap, type, id,
					    t->configured ? NTM_LCTL_NOTFOUND : NTM_LCTL_TRYAGAIN);
	}
	if ((af == AF_INET && memcmp(a, t->vip4, 4) == 0) || (af == AF_INET6 && memcmp(a, t->vip6, 16) == 0))
		return answer(out, cap, type, id, t->fqdn, 0, NULL, NULL);
	struct peer *p = peer_by_addr(t, af, a);
	if (p && p->resolved)
		return answer(out, cap, type, id, p->name, 0, NULL, NULL);
	if (t->dc.state != DC_REGISTERED)
		return ntm_lctl_reply_empty(out, cap, type, id, NTM_LCTL_TRYAGAIN);
	int err;
	p = peer_request_for(t, NULL, af, a, ntm_ctlconn_cred(c)->uid, &err);
	if (!p)
		return refused(out, cap, type, id, err);
	return wait_for(t, p, c, req, out, cap);
}

int resolve_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		    uint8_t *out, size_t cap)
{
	t->stats.resolve_requests++; /* lookups the names map did not answer */
	if (req->hdr.type == NTM_LCTL_RESOLVE_NAME)
		return resolve_name(t, c, req, out, cap);
	return resolve_addr(t, c, req, out, cap);
}

static void fill_ep(struct ntm_lctl_endpoint *e, const struct sockaddr_storage *ss)
{
	struct ntm_endpoint ep;

	if (ntm_endpoint_from_sockaddr(&ep, (const struct sockaddr *)ss) < 0)
		return;
	e->family = ep.family;
	e->port = ep.port;
	memcpy(e->addr, ep.addr, 16);
}

int peers_reply(struct tund *t, const struct ntm_lctl_req *req, uint8_t *out, size_t cap)
{
	struct ntm_lctl_peers *m = calloc(1, sizeof(*m));
	uint64_t now = ntm_loop_now_ms();
	size_t pos = 0;
	struct peer *p;
	uint32_t i = 0;
	int ret;

	if (!m)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_INTERNAL);
	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL))) {
		if (!p->resolved)
			continue;
		if (i++ < req->offset || m->n_peers == NTM_LCTL_MAX_PEERS)
			continue;
		struct ntm_lctl_peer *e = &m->peers[m->n_peers++];
		snprintf(e->name, sizeof(e->name), "%s", p->name);
		e->vip4.present = e->vip6.present = true;
		memcpy(e->vip4.addr, p->vip4, 4);
		e->vip4.plen = 32;
		memcpy(e->vip6.addr, p->vip6, 16);
		e->vip6.plen = 128;
		if (p->has_ep) {
			e->has_endpoint = true;
			fill_ep(&e->endpoint, &p->ep);
		}
		if (p->last_hs_ms) {
			e->has_hs_age = true;
			e->hs_age = (uint32_t)((now - p->last_hs_ms) / 1000);
		}
		e->rx_bytes = p->rx_bytes;
		e->tx_bytes = p->tx_bytes;
		if (!peer_can_send(p) && !p->next.valid)
			e->path = NTM_LCTL_PATH_PENDING;
		else
			e->path = p->path == PATH_RELAY ? NTM_LCTL_PATH_RELAY : NTM_LCTL_PATH_DIRECT;
		path_describe(p, e->path_info, sizeof(e->path_info));
		if (p->moved_ms) {
			e->has_moved_age = true;
			e->moved_age = (uint32_t)((now - p->moved_ms) / 1000);
			snprintf(e->moved_why, sizeof(e->moved_why), "%s", p->moved_why ? p->moved_why : "");
		}
		if (p->cur.valid) {
			e->lanes_ours = p->cur.mt ? (uint8_t)p->cur.mt->nlanes_local : 0;
			/* used only when shared: a node with one thread keeps the index */
			e->lanes_peer = p->cur.mt ? p->cur.nlanes_remote : 0;
		}
	}
	m->total = i;
	ret = ntm_lctl_reply_peers(out, cap, req->hdr.req_id, m);
	free(m);
	return ret;
}
