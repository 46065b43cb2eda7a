/* peer.c - the peer table, Route Directions, node-to-node handshakes and
 * the session lifecycle; see peer.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netif.h"
#include "peer.h"
#include "roam.h"
#include "tund.h"
#include "watch.h"
#include "util.h"

static void peer_drop(struct tund *t, struct peer *p);
static struct peer *peer_by_pub(struct tund *t, const uint8_t *pub);
static void hs_init_admitted(struct tund *t, const uint8_t *buf, size_t len,
			     const struct ntm_udp_meta *m);

static uint64_t name_key(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return h;
}

static uint64_t v4_key(const uint8_t *a) { return ntm_get_be32(a); }
static uint64_t v6_key(const uint8_t *a) { return ntm_get_be64(a + 8); }
static uint64_t pub_key(const uint8_t *k) { return ntm_get_be64(k); }

int peers_init(struct tund *t)
{
	ntm_idmap_init(&t->peers_all);
	ntm_idmap_init(&t->peers_name);
	ntm_idmap_init(&t->peers_v4);
	ntm_idmap_init(&t->peers_v6);
	ntm_idmap_init(&t->peers_key);
	ntm_idmap_init(&t->sess_index);
	ntm_idmap_init(&t->peers_route);
	ntm_idmap_init(&t->peers_relay);
	hs_budget_init(&t->hs_budget, t->cfg.hs_rate ? t->cfg.hs_rate : 50, ntm_loop_now_ms());
	uint64_t seed = 0;
	if (ntm_random(&seed, sizeof(seed)) < 0) /* the cache still works; only aiming gets easier */
		seed = (uint64_t)(uintptr_t)t * UINT64_C(0x9e3779b97f4a7c15) ^ ntm_loop_now_ms();
	negcache_init(&t->neg, seed);
	return 0;
}

/* A limit refused something: log it at most every CAP_LOG_EVERY_MS
 * (a flood would fill the log), with how many went unlogged. */
static void cap_log(struct tund *t, const char *what, const char *why)
{
	uint64_t now = ntm_loop_now_ms();

	if (t->cap_log_ms && now - t->cap_log_ms < CAP_LOG_EVERY_MS) {
		t->cap_log_quiet++;
		return;
	}
	log_warn("%s: %s (%llu more refusals since the last message)", what, why,
		 (unsigned long long)t->cap_log_quiet);
	t->cap_log_ms = now;
	t->cap_log_quiet = 0;
}

/* A peer's request is answered (or given up): it no longer counts. */
static void pending_release(struct tund *t, struct peer *p)
{
	if (!p->pending)
		return;
	p->pending = false;
	t->pending--;
	if (p->pending_uid != PEER_UID_NONE)
		uidcount_dec(&t->pending_uid, p->pending_uid);
}

/* The session index entries of m's lanes [0, upto) other than own. */
static void lanes_del(struct tund *t, const struct ntm_session_mt *m, unsigned upto, uint32_t own)
{
	for (unsigned k = 0; k < upto; k++)
		if (m->lane_local[k] != own)
			ntm_idmap_del(&t->sess_index, m->lane_local[k]);
}

static void session_forget(struct tund *t, struct ntm_session *s)
{
	bool shared = s->mt != NULL;

	if (s->valid) {
		ntm_idmap_del(&t->sess_index, s->local_index);
		if (s->mt)
			lanes_del(t, s->mt, s->mt->nlanes_local, s->local_index);
	}
	ntm_session_clear(s); /* a shared part is the workers' tables' to free */
	if (shared && t->sessions_changed)
		t->sessions_changed(t);
}

static void hs_forget(struct tund *t, struct peer *p)
{
	if (!p->hs.active)
		return;
	ntm_idmap_del(&t->sess_index, p->hs.local_index);
	ntm_noise_hs_clear(&p->hs.hs); /* wipes the secrets; the rest is public */
	memset(&p->hs, 0, sizeof(p->hs));
}

static void peer_free(struct tund *t, struct peer *p)
{
	session_forget(t, &p->cur);
	session_forget(t, &p->next);
	session_forget(t, &p->prev);
	hs_forget(t, p);
	if (p->resolved && ntm_idmap_get(&t->peers_route, p->route_id) == p)
		ntm_idmap_del(&t->peers_route, p->route_id);
	path_clear(p);
	resolve_answer(p, NTM_LCTL_TRYAGAIN);
	pending_release(t, p);
	peer_drop_queue(p);
	free(p);
}

void peers_free(struct tund *t)
{
	size_t pos = 0;
	struct peer *p;

	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL)))
		peer_free(t, p);
	ntm_idmap_free(&t->peers_all);
	ntm_idmap_free(&t->peers_name);
	ntm_idmap_free(&t->peers_v4);
	ntm_idmap_free(&t->peers_v6);
	ntm_idmap_free(&t->peers_key);
	ntm_idmap_free(&t->sess_index);
	ntm_idmap_free(&t->peers_route);
	ntm_idmap_free(&t->peers_relay);
}

struct peer *peer_by_name(struct tund *t, const char *name)
{
	struct peer *p = ntm_idmap_get(&t->peers_name, name_key(name));
	return p && strcmp(p->name, name) == 0 ? p : NULL;
}

struct peer *peer_by_addr(struct tund *t, int family, const uint8_t *addr)
{
	struct peer *p;

	if (family == AF_INET) {
		p = ntm_idmap_get(&t->peers_v4, v4_key(addr));
		return p && p->has_vip4 && memcmp(p->vip4, addr, 4) == 0 ? p : NULL;
	}
	p = ntm_idmap_get(&t->peers_v6, v6_key(addr));
	return p && p->has_vip6 && memcmp(p->vip6, addr, 16) == 0 ? p : NULL;
}

static struct peer *peer_by_pub(struct tund *t, const uint8_t *pub)
{
	struct peer *p = ntm_idmap_get(&t->peers_key, pub_key(pub));
	return p && p->resolved && memcmp(p->pub, pub, 32) == 0 ? p : NULL;
}

static bool in_prefix(const uint8_t *a, const uint8_t *base, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, base, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (base[full] & mask);
}

bool peer_addr_in_overlay(const struct tund *t, int family, const uint8_t *addr)
{
	if (!t->configured)
		return false;
	if (family == AF_INET)
		return in_prefix(addr, t->vip4, t->plen4);
	return in_prefix(addr, t->vip6, t->plen6);
}

bool peer_addr_federated(struct tund *t, int family, const uint8_t *addr)
{
	struct peer *p = peer_by_addr(t, family, addr);

	return p && p->resolved;
}

/* A peer of a federated zone has addresses outside our prefix: the kernel
 * gets a host route for each into ntm0 (routes to our own prefix come
 * with the link's addresses). */
static void route_foreign(struct tund *t, const struct peer *p)
{
	const struct {
		int af;
		const uint8_t *a;
		uint8_t plen;
	} v[2] = { { AF_INET, p->vip4, 32 }, { AF_INET6, p->vip6, 128 } };

	for (int i = 0; i < 2; i++) {
		if (peer_addr_in_overlay(t, v[i].af, v[i].a))
			continue;
		int ret = ntm_netif_route_add(t->ifname, v[i].af, v[i].a, v[i].plen);
		if (ret < 0)
			log_warn("%s: no route to %s's address through %s: %s", p->name, p->name,
				 t->ifname, strerror(-ret));
	}
}

static uint64_t max_peers(const struct tund *t)
{
	return t->cfg.max_peers ? t->cfg.max_peers : 1024;
}

/* A new entry, or NULL: out of memory, or MaxPeers entries exist (the
 * sweep forgets idle ones, PEER_FORGET_MS). */
static struct peer *peer_new(struct tund *t)
{
	struct peer *p;

	if (t->peers_all.len >= max_peers(t)) {
		t->stats.peers_refused_max++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->t = t;
	p->qslot = (size_t)t->cfg.mtu; /* the queue itself comes with its first packet */
	if (ntm_idmap_put(&t->peers_all, (uint64_t)(uintptr_t)p, p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* The peer as a person reads it: its name, else its virtual address. */
static const char *peer_label(const struct peer *p, char *buf, size_t cap)
{
	if (p->name[0])
		return p->name;
	if (p->has_vip4)
		return inet_ntop(AF_INET, p->vip4, buf, (socklen_t)cap);
	if (p->has_vip6)
		return inet_ntop(AF_INET6, p->vip6, buf, (socklen_t)cap);
	return "(unnamed peer)";
}

/* Enter p in one of the lookup tables under key; on failure (no memory)
 * log it once, naming the peer and the table, and count it. */
static int index_put(struct tund *t, struct ntm_idmap *m, uint64_t key, struct peer *p,
		     const char *table)
{
	char buf[INET6_ADDRSTRLEN];
	int ret = ntm_idmap_put(m, key, p);

	if (ret < 0) {
		log_err_errno(-ret, "%s: entering it in the %s table", peer_label(p, buf, sizeof(buf)),
			      table);
		t->stats.table_put_failed++;
	}
	return ret;
}

static int index_name(struct tund *t, struct peer *p)
{
	if (!p->name[0])
		return 0;
	return index_put(t, &t->peers_name, name_key(p->name), p, "name");
}

static int index_addrs(struct tund *t, struct peer *p)
{
	if (p->has_vip4 && index_put(t, &t->peers_v4, v4_key(p->vip4), p, "IPv4 address") < 0)
		return -ENOMEM;
	if (p->has_vip6 && index_put(t, &t->peers_v6, v6_key(p->vip6), p, "IPv6 address") < 0)
		return -ENOMEM;
	return 0;
}

void send_direction_req(struct tund *t, struct peer *p)
{
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_REQ };
	struct ntm_ctl_direction_req *q = &m.u.dir_req;

	if (t->dc.state != DC_REGISTERED)
		return;
	q->req_id = p->dir_req_id = ++t->dc.req_id;
	if (p->name[0]) {
		q->kind = NTM_DIR_BY_NAME;
		ntm_name_set(&q->name, p->name);
	} else if (p->has_vip4) {
		q->kind = NTM_DIR_BY_ADDR;
		q->family = 4;
		memcpy(q->addr, p->vip4, 4);
	} else {
		q->kind = NTM_DIR_BY_ADDR;
		q->family = 6;
		memcpy(q->addr, p->vip6, 16);
	}
	p->dir_sent_ms = ntm_loop_now_ms();
	dclink_send(t, &m);
}

/* The negative cache's key for a name or an address. */
static const char *neg_key(const char *name, int family, const uint8_t *addr, char *buf,
			   size_t cap)
{
	if (name)
		return name;
	buf[0] = family == AF_INET ? '4' : '6';
	buf[1] = ':';
	if (!inet_ntop(family, addr, buf + 2, (socklen_t)(cap - 2)))
		buf[2] = '\0';
	return buf;
}

static const char *why_text(int err)
{
	switch (err) {
	case -ENOENT: return "not enrolled (the DC said so less than 30 s ago)";
	case -EBUSY: return "too many lookups pending on this node (MaxPendingResolves)";
	case -EUSERS: return "too many lookups pending for this user (MaxPendingResolvesPerUser)";
	case -ENOSPC: return "the peer table is full (MaxPeers)";
	default: return "out of memory";
	}
}

struct peer *peer_request_for(struct tund *t, const char *name, int family, const uint8_t *addr,
			      uid_t uid, int *err)
{
	struct peer *p = name ? peer_by_name(t, name) : peer_by_addr(t, family, addr);
	char kb[INET6_ADDRSTRLEN + 2];
	const char *key = neg_key(name, family, addr, kb, sizeof(kb));
	uint64_t now = ntm_loop_now_ms();

	*err = 0;
	if (!p && negcache_has(&t->neg, key, now)) {
		t->stats.resolve_negative_hits++;
		*err = -ENOENT;
		return NULL;
	}
	if (!p) {
		unsigned mine = uid == PEER_UID_NONE ? 0 : uidcount_get(&t->pending_uid, uid);
		uint64_t max_uid = t->cfg.max_pending_uid ? t->cfg.max_pending_uid : 64;
		uint64_t max_node = t->cfg.max_pending ? t->cfg.max_pending : 256;
		*err = pending_admit(t->pending, mine, (unsigned)max_node, (unsigned)max_uid);
		if (*err == 0 && uid != PEER_UID_NONE && uidcount_inc(&t->pending_uid, uid) < 0)
			*err = -EBUSY; /* 64 other users have lookups pending */
		if (*err < 0) {
			char what[NTM_NAME_MAX + 64];
			t->stats.resolve_refused_pending++;
			snprintf(what, sizeof(what), "lookup of %s for uid %d", key,
				 uid == PEER_UID_NONE ? -1 : (int)uid);
			cap_log(t, what, why_text(*err));
			return NULL;
		}
		p = peer_new(t);
		if (!p) {
			if (uid != PEER_UID_NONE)
				uidcount_dec(&t->pending_uid, uid);
			*err = t->peers_all.len >= max_peers(t) ? -ENOSPC : -ENOMEM;
			cap_log(t, key, why_text(*err));
			return NULL;
		}
		p->pending = true;
		p->pending_uid = uid;
		t->pending++;
		if (name) {
			snprintf(p->name, sizeof(p->name), "%s", name);
		} else if (family == AF_INET) {
			memcpy(p->vip4, addr, 4);
			p->has_vip4 = true;
		} else {
			memcpy(p->vip6, addr, 16);
			p->has_vip6 = true;
		}
		/* a peer that cannot be found again is not kept */
		if (index_name(t, p) < 0 || index_addrs(t, p) < 0) {
			peer_drop(t, p);
			*err = -ENOMEM;
			return NULL;
		}
	}
	if (!p->resolved && now - p->dir_sent_ms >= DIRECTION_RETRY_MS)
		send_direction_req(t, p);
	return p;
}

struct peer *peer_request(struct tund *t, const char *name, int family, const uint8_t *addr)
{
	int err;

	return peer_request_for(t, name, family, addr, PEER_UID_NONE, &err);
}

/* Find the peer a Route Direction describes: by key if we talked before,
 * else the unresolved entry made for the request (by name or address). */
static struct peer *route_target(struct tund *t, const struct ntm_ctl_route_direction *r)
{
	struct peer *p = peer_by_pub(t, r->peer_key);

	if (!p)
		p = peer_by_name(t, r->peer_name.s);
	if (!p)
		p = peer_by_addr(t, AF_INET, r->peer_vip4);
	if (!p)
		p = peer_by_addr(t, AF_INET6, r->peer_vip6);
	if (p && p->resolved && memcmp(p->pub, r->peer_key, 32) != 0) {
		/* the name now belongs to another key (re-enrolled): start over */
		log_notice("%s: new key from the DC", r->peer_name.s);
		ntm_idmap_del(&t->peers_key, pub_key(p->pub));
		session_forget(t, &p->cur);
		session_forget(t, &p->next);
		session_forget(t, &p->prev);
		hs_forget(t, p);
		memset(p->last_ts, 0, sizeof(p->last_ts));
		p->resolved = false;
	}
	if (!p && !(p = peer_new(t)))
		cap_log(t, r->peer_name.s, "route from the DC not kept: the peer table is full (MaxPeers)");
	return p;
}

bool peer_policy_forbids(struct tund *t, const char *name)
{
	if (!t->policy || ntm_policy_allows(t->policy, t->fqdn, name, NULL))
		return false;
	t->stats.policy_refused++;
	return true;
}

/* p's policy_ok (peer.h), once per route: the data path reads the flag. */
static void policy_eval(struct tund *t, struct peer *p, uint32_t req_id)
{
	bool was = p->policy_ok;

	if (req_id && req_id == p->dir_req_id)
		p->policy_asked = true;
	p->policy_ok = ntm_policy_peer_ok(t->policy, t->fqdn, p->name, p->policy_asked);
	if (!p->policy_ok && (was || !p->resolved))
		log_info("policy: %s may not initiate to %s; its packets are dropped", p->name,
			 t->fqdn);
}

void peer_on_route(struct tund *t, const struct ntm_ctl_route_direction *r)
{
	struct peer *p = route_target(t, r);
	char a4[INET_ADDRSTRLEN];

	if (!p)
		return;
	bool was = p->resolved;
	uint64_t old_route = p->route_id;
	if (was && p->route_id != r->route_id && ntm_idmap_get(&t->peers_route, p->route_id) == p)
		ntm_idmap_del(&t->peers_route, p->route_id);
	snprintf(p->name, sizeof(p->name), "%s", r->peer_name.s);
	memcpy(p->pub, r->peer_key, 32);
	memcpy(p->vip4, r->peer_vip4, 4);
	memcpy(p->vip6, r->peer_vip6, 16);
	p->has_vip4 = p->has_vip6 = true;
	p->route_id = r->route_id;
	p->suite = r->suite;
	p->role = r->role;
	policy_eval(t, p, r->req_id);
	p->resolved = true;
	pending_release(t, p);
	/* the DC knows it now, whatever it said before */
	char kb[INET6_ADDRSTRLEN + 2];
	negcache_del(&t->neg, p->name);
	negcache_del(&t->neg, neg_key(NULL, AF_INET, p->vip4, kb, sizeof(kb)));
	negcache_del(&t->neg, neg_key(NULL, AF_INET6, p->vip6, kb, sizeof(kb)));
	/* a peer missing from one table would be found by some ways and not
	 * others: it is forgotten, and the next request asks the DC again */
	if (index_name(t, p) < 0 || index_addrs(t, p) < 0 ||
	    index_put(t, &t->peers_key, pub_key(p->pub), p, "key") < 0 ||
	    index_put(t, &t->peers_route, p->route_id, p, "route") < 0) {
		peer_drop(t, p);
		return;
	}
	path_on_route(p, r);
	if (!was)
		route_foreign(t, p);
	if (!was)
		log_info("route to %s (%s): %u candidates%s, %s", p->name,
			 inet_ntop(AF_INET, p->vip4, a4, sizeof(a4)), r->ncands,
			 r->has_relay ? " and a relay" : "",
			 r->role == NTM_ROLE_INITIATOR ? "initiating" : "responding");
	resolve_answer(p, NTM_LCTL_OK);
	/* An initiation that overtook this route is answered now. */
	for (unsigned i = 0; i < EARLY_HS; i++) {
		struct early_hs *e = &t->early[i];
		if (!e->used || memcmp(e->pub, p->pub, 32) != 0)
			continue;
		e->used = false;
		if (ntm_loop_now_ms() - e->at_ms < EARLY_HS_MS) {
			t->stats.hs_early_answered++;
			hs_init_admitted(t, e->pkt, sizeof(e->pkt), &e->meta); /* admitted when kept */
		}
	}
	/* The initiator starts (or restarts, if the other side lost its
	 * state: the DC then sends a new route) a handshake now; the
	 * responder waits for it. The same route again with a session that
	 * works means one of us moved: path.c checks the path, no handshake. */
	if (r->role == NTM_ROLE_INITIATOR && !p->hs.active &&
	    (!was || r->route_id != old_route || !peer_can_send(p)))
		peer_start_handshake(p);
}

/* For the log: "DC: no route to <peer>: <reason>". */
static const char *nak_reason(uint8_t status)
{
	switch (status) {
	case NTM_NAK_NOT_FOUND:
		return "not enrolled";
	case NTM_NAK_OFFLINE:
		return "offline";
	case NTM_NAK_REFUSED:
		return "refused";
	case NTM_NAK_BUSY:
		return "busy";
	case NTM_NAK_FORBIDDEN:
		return "forbidden by the DC's policy";
	default: /* the decoder lets only the statuses above in */
		return "unknown status";
	}
}

void peer_on_nak(struct tund *t, const struct ntm_ctl_direction_nak *n)
{
	size_t pos = 0;
	struct peer *p;

	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL))) {
		if (p->resolved || p->dir_req_id != n->req_id)
			continue;
		char buf[INET6_ADDRSTRLEN];
		log_info("DC: no route to %s: %s", peer_label(p, buf, sizeof(buf)),
			 nak_reason(n->status));
		if (n->status == NTM_NAK_NOT_FOUND) {
			/* the next lookups of it for NEGCACHE_TTL_MS cost the DC nothing */
			char kb[INET6_ADDRSTRLEN + 2];
			const char *key = p->name[0] ? p->name
				: neg_key(NULL, p->has_vip4 ? AF_INET : AF_INET6,
					  p->has_vip4 ? p->vip4 : p->vip6, kb, sizeof(kb));
			negcache_put(&t->neg, key, ntm_loop_now_ms());
		}
		if (n->status == NTM_NAK_FORBIDDEN) {
			/* not cached: the DC's policy may be reloaded */
			resolve_answer_forbidden(p, NTM_LCTL_FORBIDDEN_DC);
			if (p->name[0])
				ping_on_forbidden(t, p->name);
		} else if (n->status == NTM_NAK_OFFLINE && n->has_last_seen) {
			resolve_answer_offline(p, n->last_seen_s);
			if (p->name[0])
				ping_on_offline(t, p->name, n->last_seen_s);
		} else {
			resolve_answer(p, n->status == NTM_NAK_NOT_FOUND ? NTM_LCTL_NOTFOUND
									 : NTM_LCTL_TRYAGAIN);
		}
		/* Forget it: the next query asks the DC again. */
		peer_drop(t, p);
		return;
	}
}

/* A local index not in use whose worker is want: with workers, index mod
 * nworkers is the thread the peer's DATA is steered to (worker.c). */
static uint32_t index_on(struct tund *t, unsigned want)
{
	unsigned n = t->nworkers > 1 ? t->nworkers : 1;
	uint32_t idx = 0;

	want %= n;
	while (idx == 0 || idx % n != want || ntm_idmap_get(&t->sess_index, idx) ||
	       idx == t->dc.sess.local_index) {
		ntm_random(&idx, sizeof(idx));
		idx = idx - idx % n + want;
	}
	return idx;
}

/* A new handshake's local index: established sessions take the workers in
 * turn (install_cur moves on), retries of a handshake keep the same. */
static uint32_t new_index(struct tund *t)
{
	return index_on(t, t->index_rr);
}

void peer_lanes_add(struct tund *t, struct peer *p, struct ntm_session *s)
{
	struct ntm_session_mt *m = s->mt;
	unsigned n = t->nworkers;

	if (!t->cfg.lanes || !m || !s->valid || n < 2 || n > NTM_LANES_MAX || m->nlanes_local)
		return;
	for (unsigned k = 0; k < n; k++) {
		uint32_t idx = s->local_index % n == k ? s->local_index : index_on(t, k);
		if (idx != s->local_index &&
		    index_put(t, &t->sess_index, idx, p, "session index") < 0) {
			lanes_del(t, m, k, s->local_index);
			return; /* no lanes: the peer keeps s's index */
		}
		m->lane_local[k] = idx;
	}
	m->nlanes_local = n;
	if (s == &p->cur) {
		p->lanes_left = LANES_SENDS;
		p->lanes_next_ms = 0;
	}
}

struct ntm_session *peer_session_by_index(struct peer *p, uint32_t idx)
{
	struct ntm_session *s[3] = { &p->cur, &p->next, &p->prev };

	for (unsigned k = 0; k < 3; k++)
		if (s[k]->valid && (s[k]->local_index == idx ||
				    (s[k]->mt && ntm_session_mt_has_index(s[k]->mt, idx))))
			return s[k];
	return NULL;
}

/* LANES for cur's lanes, LANES_SENDS times LANES_RESEND_MS apart (a lost
 * one costs nothing but the spread; the peer takes the first). */
static void lanes_sweep(struct tund *t, struct peer *p, uint64_t now)
{
	const struct ntm_session_mt *m = p->cur.mt;

	if (!p->lanes_left || now < p->lanes_next_ms)
		return;
	if (!p->cur.valid || !m || !m->nlanes_local) {
		p->lanes_left = 0;
		return;
	}
	if (!peer_can_send(p))
		return;
	struct ntm_ctl c = { .type = NTM_CTL_LANES };
	c.u.lanes.count = (uint8_t)m->nlanes_local;
	memcpy(c.u.lanes.index, m->lane_local, m->nlanes_local * sizeof(m->lane_local[0]));
	uint8_t *buf = t->sendbuf;
	int n = ntm_ctl_encode(&c, buf + NTM_DATA_HDR_LEN, 256);
	if (n > 0 && peer_send(p, buf, (size_t)n) >= 0)
		t->stats.lanes_sent++;
	p->lanes_left--;
	p->lanes_next_ms = now + LANES_RESEND_MS;
}

/* Send an initiation to every candidate at once (and to the endpoint that
 * worked last): whichever answers first becomes the path. */
void peer_start_handshake(struct peer *p)
{
	struct tund *t = p->t;
	uint8_t pkt[NTM_HS_INIT_LEN];
	uint64_t now = ntm_loop_now_ms();

	if (!p->resolved)
		return;
	/* The node's budget bounds how many peers without a session it
	 * handshakes with per second (2,000 lookups made 20,000 initiations
	 * in 30 s: 10 attempts each). A live tunnel's rekey is not held
	 * back. Without budget, an active handshake is retried on the next
	 * sweep, a new one starts there (hs_wanted). */
	if (!p->cur.valid && !hs_budget_take(&t->hs_budget, now)) {
		t->stats.hs_deferred++;
		p->hs_wanted = !p->hs.active;
		return;
	}
	p->hs_wanted = false;
	hs_forget(t, p);
	uint32_t idx = new_index(t);
	int len = ntm_hs_initiate(&p->hs, &t->id, p->pub, p->suite, NTM_PURPOSE_PEER, idx,
				  p->route_id, pkt, sizeof(pkt));
	if (len < 0) {
		log_err_errno(-len, "%s: building a handshake", p->name);
		return;
	}
	if (index_put(t, &t->sess_index, idx, p, "session index") < 0) {
		hs_forget(t, p); /* the next packet for p tries again */
		return;
	}
	if (!p->hs_first_ms) {
		p->hs_first_ms = now;
		p->hs_attempts = 0;
	}
	p->hs_attempts++;
	p->hs_sent_ms = now;
	/* a rekey on a live direct path tries that path first */
	bool everywhere = p->hs_wide || !(p->path == PATH_DIRECT && peer_can_send(p) && p->hs_attempts <= 2);
	path_send_hs(p, pkt, (size_t)len, everywhere);
	t->stats.peer_handshakes_sent++;
}

/* A new confirmed session to send with: the old one stays for receiving.
 * True when it replaced one (a rekey), false for a new tunnel. */
static bool install_cur(struct tund *t, struct peer *p, struct ntm_session *s)
{
	bool rekey = p->cur.valid;

	session_forget(t, &p->prev);
	p->prev = p->cur;
	p->cur = *s;
	p->cur_ms = ntm_loop_now_ms();
	p->last_hs_ms = p->cur_ms;
	p->hs_first_ms = 0;
	p->tx_unanswered_ms = p->rx_unanswered_ms = 0;
	p->hs_wide = false;
	memset(s, 0, sizeof(*s));
	t->index_rr++; /* the next session's DATA to the next worker */
	if (t->sessions_changed) /* the workers send with it from now on */
		t->sessions_changed(t);
	return rekey;
}

void peer_on_hs_resp(struct tund *t, struct peer *p, const uint8_t *buf, size_t len,
		     const struct ntm_udp_meta *m)
{
	struct ntm_session s;
	uint32_t idx = p->hs.local_index;
	int ret = ntm_hs_complete(&p->hs, &t->id, buf, len, &s);

	if (ret < 0) {
		t->stats.drop_auth++;
		if (ret == -EPROTO) /* the pending handshake is spent */
			ntm_idmap_del(&t->sess_index, idx);
		return;
	}
	/* idx now names the new session */
	bool rekey = install_cur(t, p, &s);
	path_on_rx(p, m, true); /* a handshake is always newest */
	watch_peer(p, rekey ? NTM_LCTL_EV_REKEY : NTM_LCTL_EV_PEER_UP, NULL);
	if (!m->via_relay) /* it answered from there: its address is proven */
		ntm_hsgate_completed(&t->gate, (const struct sockaddr *)&m->src, ntm_loop_now_ms());
	t->stats.peer_handshakes++;
	log_info("%s: tunnel up (initiator)", p->name);
	/* Confirm the keys at once, then send what waited. */
	uint8_t ka[NTM_DATA_OVERHEAD];
	peer_send(p, ka, 0);
	peer_flush_queue(p);
}

void peer_on_cookie_reply(struct tund *t, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	struct ntm_cookie_reply c;
	struct peer *p;
	uint8_t key[32], cookie[NTM_COOKIE_LEN];

	/* only for an initiation of ours in flight, sealed to its mac1 */
	if (ntm_cookie_reply_decode(buf, len, &c) < 0 ||
	    !(p = ntm_idmap_get(&t->sess_index, c.receiver)) || !p->hs.active ||
	    p->hs.local_index != c.receiver || !p->has_hs_pkt ||
	    ntm_cookie_reply_key(key, p->pub) < 0 ||
	    ntm_cookie_reply_open(&c, key, p->hs_pkt + NTM_HS_INIT_MAC1_OFF, cookie) < 0) {
		t->stats.drop_unknown++;
		return;
	}
	t->stats.cookies_received++;
	ntm_cookie_jar_put(&t->jar, (const struct sockaddr *)&m->src, cookie, ntm_loop_now_ms());
	ntm_wipe(cookie, sizeof(cookie));
	if (!p->hs_cookie_resent) {
		/* once per initiation: replies cannot make us loop */
		p->hs_cookie_resent = true;
		struct sockaddr_storage ss = m->src;
		socklen_t sl = m->srclen;
		ntm_sockaddr_unmap(&ss, &sl);
		path_resend_hs(p, m->fd, &ss, sl);
	}
}

/* Admission (lib/hsgate.h), then the handshake. A capsule from the relay
 * already authenticated (the allocation's key): only the global budget. */
void peer_on_hs_init(struct tund *t, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	const struct sockaddr *src = (const struct sockaddr *)&m->src;
	uint8_t out[NTM_COOKIE_REPLY_LEN];

	switch (ntm_hsgate_check(&t->gate, buf, len, src, m->via_relay, ntm_loop_now_ms())) {
	case NTM_HSG_PROCESS:
		hs_init_admitted(t, buf, len, m);
		return;
	case NTM_HSG_COOKIE:
		if (ntm_hsgate_cookie_reply(&t->gate, buf, src, out, sizeof(out)) == sizeof(out) &&
		    ntm_udp_send(m->fd > 0 ? m->fd : t->udp_fd, out, sizeof(out), src, m->srclen, m) >= 0) {
			t->stats.cookies_sent++;
			t->stats.tx_packets++;
		}
		return;
	case NTM_HSG_BAD_MAC:
		t->stats.drop_bad_mac++;
		return;
	case NTM_HSG_RATELIMIT:
		t->stats.drop_ratelimit++;
		return;
	case NTM_HSG_OVERLOAD:
	default:
		t->stats.drop_overload++;
		return;
	}
}

static void hs_init_admitted(struct tund *t, const uint8_t *buf, size_t len,
			     const struct ntm_udp_meta *m)
{
	struct ntm_hs_responder r;
	struct ntm_session s;
	uint8_t out[NTM_HS_RESP_LEN];

	if (ntm_hs_respond_begin(&r, &t->id, buf, len) < 0) {
		t->stats.drop_auth++;
		return;
	}
	struct peer *p = peer_by_pub(t, r.info.initiator_pub);
	/* Only a peer the DC directed to us, on that route, gets an answer. */
	if (!p && r.info.purpose == NTM_PURPOSE_PEER && len == NTM_HS_INIT_LEN) {
		struct early_hs *e = &t->early[t->early_next++ % EARLY_HS];
		memcpy(e->pkt, buf, len);
		memcpy(e->pub, r.info.initiator_pub, 32);
		e->meta = *m;
		e->at_ms = ntm_loop_now_ms();
		e->used = true;
	}
	if (!p || r.info.purpose != NTM_PURPOSE_PEER || r.info.route_id != p->route_id) {
		t->stats.drop_unknown_peer++;
		goto out;
	}
	int age = memcmp(r.info.timestamp, p->last_ts, sizeof(p->last_ts));
	if (age == 0) {
		/* the same initiation sent to another of our candidates */
		t->stats.drop_hs_duplicate++;
		goto out;
	}
	if (age < 0) {
		t->stats.drop_replay++;
		goto out;
	}
	uint32_t idx = new_index(t);
	uint8_t ts[12];
	memcpy(ts, r.info.timestamp, sizeof(ts)); /* finish wipes r */
	if (ntm_hs_respond_finish(&r, idx, out, sizeof(out), &s) < 0)
		goto out;
	if (index_put(t, &t->sess_index, idx, p, "session index") < 0) {
		ntm_session_clear(&s); /* unanswered: the initiator retries */
		goto out;
	}
	memcpy(p->last_ts, ts, sizeof(p->last_ts));
	session_forget(t, &p->next);
	p->next = s;
	path_on_rx(p, m, true); /* a handshake is always newest */
	path_reply(p, out, sizeof(out), m);
	if (!m->via_relay)
		ntm_hsgate_completed(&t->gate, (const struct sockaddr *)&m->src, ntm_loop_now_ms());
	t->stats.peer_handshakes++;
	p->last_hs_ms = ntm_loop_now_ms();
	log_info("%s: tunnel up (responder)", p->name);
out:
	ntm_hs_responder_clear(&r);
}

/* The first valid DATA on next confirms it: it becomes cur. */
void peer_confirm_next(struct tund *t, struct peer *p)
{
	struct ntm_session s = p->next;

	memset(&p->next, 0, sizeof(p->next));
	bool rekey = install_cur(t, p, &s);
	watch_peer(p, rekey ? NTM_LCTL_EV_REKEY : NTM_LCTL_EV_PEER_UP, NULL);
	hs_forget(t, p); /* a crossing initiation of ours is not needed */
	peer_flush_queue(p);
}

bool peer_can_send(const struct peer *p)
{
	return p->cur.valid && p->cur.confirmed &&
	       ntm_loop_now_ms() - p->cur_ms < REJECT_AFTER_TIME_MS &&
	       ntm_session_tx_next(&p->cur) < NTM_REJECT_AFTER;
}

/* Remove p from every table but peers_all and free it. */
static void peer_retire(struct tund *t, struct peer *p)
{
	if (p->name[0] && peer_by_name(t, p->name) == p)
		ntm_idmap_del(&t->peers_name, name_key(p->name));
	if (p->has_vip4 && peer_by_addr(t, AF_INET, p->vip4) == p)
		ntm_idmap_del(&t->peers_v4, v4_key(p->vip4));
	if (p->has_vip6 && peer_by_addr(t, AF_INET6, p->vip6) == p)
		ntm_idmap_del(&t->peers_v6, v6_key(p->vip6));
	if (p->resolved && peer_by_pub(t, p->pub) == p)
		ntm_idmap_del(&t->peers_key, pub_key(p->pub));
	if (p->cur.valid)
		watch_peer(p, NTM_LCTL_EV_PEER_DOWN, "forgotten");
	peer_free(t, p);
}

/* Remove p from every table and free it. */
static void peer_drop(struct tund *t, struct peer *p)
{
	ntm_idmap_del(&t->peers_all, (uint64_t)(uintptr_t)p);
	peer_retire(t, p);
}

int peer_down(struct tund *t, const char *name)
{
	struct peer *p = peer_by_name(t, name);

	if (!p)
		return -ENOENT;
	peer_drop(t, p);
	t->stats.peers_downed++;
	namemap_sync(t); /* before the reply: a lookup after it misses the map */
	return 0;
}

/* Returns true when p is to be forgotten. */
static bool sweep_unresolved(struct tund *t, struct peer *p, uint64_t now)
{
	if (p->waiters) {
		if (now - p->dir_sent_ms >= DIRECTION_RETRY_MS)
			send_direction_req(t, p);
		return false;
	}
	/* nobody waits and the DC never answered: forget it (bounds the
	 * memory a local user can make us hold by sending to many addresses) */
	return now - p->dir_sent_ms >= UNRESOLVED_LINGER_MS;
}

/* Nothing left of p but its route, for PEER_FORGET_MS: forget it, so
 * MaxPeers bounds the peers in use, not every name ever looked up. The
 * next packet or lookup asks the DC again. */
static bool idle_resolved(const struct tund *t, const struct peer *p, uint64_t now)
{
	uint64_t last = p->route_ms;

	if (p->cur.valid || p->next.valid || p->prev.valid || p->hs.active || p->hs_wanted ||
	    p->waiters || p->qcount || p->bday || t->bday_peer == p)
		return false;
	if (p->last_hs_ms > last)
		last = p->last_hs_ms;
	if (p->last_data_ms > last)
		last = p->last_data_ms;
	return now - last >= PEER_FORGET_MS;
}

/* Returns true when p is to be forgotten. */
static bool sweep_resolved(struct tund *t, struct peer *p, uint64_t now)
{
	if (idle_resolved(t, p, now)) {
		t->stats.peers_forgotten++;
		return true;
	}
	if (p->hs_wanted && !p->hs.active)
		peer_start_handshake(p);
	/* expire old sessions */
	if (p->prev.valid && now - p->cur_ms > REJECT_AFTER_TIME_MS)
		session_forget(t, &p->prev);
	if (p->cur.valid && now - p->cur_ms > REJECT_AFTER_TIME_MS) {
		session_forget(t, &p->cur);
		session_forget(t, &p->prev);
	}
	/* handshake retries: quick at first (a lost first packet should not
	 * cost seconds), then every REKEY_TIMEOUT_MS */
	uint64_t retry = REKEY_TIMEOUT_MS;
	if (p->hs_attempts >= 1 && p->hs_attempts < 6)
		retry = (uint64_t)HS_RETRY_FIRST_MS << (p->hs_attempts - 1);
	if (retry > REKEY_TIMEOUT_MS)
		retry = REKEY_TIMEOUT_MS;
	if (p->hs.active && now - p->hs_sent_ms >= retry) {
		if (now - p->hs_first_ms >= REKEY_ATTEMPT_TIME_MS) {
			log_info("%s: no answer to handshakes for %d s; giving up", p->name,
				 REKEY_ATTEMPT_TIME_MS / 1000);
			watch_peer(p, NTM_LCTL_EV_PEER_DOWN, "no answer to handshakes");
			hs_forget(t, p);
			p->hs_first_ms = 0;
			peer_drop_queue(p);
		} else {
			peer_start_handshake(p);
		}
		return false;
	}
	/* rekey: the initiator of cur renews it before it gets old or worn,
	 * if the tunnel carried packets lately (an idle one may expire) */
	bool busy = now - p->last_data_ms < REKEY_AFTER_TIME_MS;
	if (p->cur.valid && p->cur.initiator && busy && !p->hs.active &&
	    (now - p->cur_ms >= REKEY_AFTER_TIME_MS || ntm_session_tx_next(&p->cur) >= REKEY_AFTER_MESSAGES))
		peer_start_handshake(p);
	/* liveness (roam.h): a passive keepalive, a silent peer, the check
	 * of a path after a move */
	struct roam_live l = {
		.tx_unanswered_ms = p->tx_unanswered_ms, .rx_unanswered_ms = p->rx_unanswered_ms,
		.verify_ms = p->verify_ms, .direct_rx_ms = p->direct_rx_ms,
		.direct = p->path == PATH_DIRECT, .has_relay = p->has_relay,
	};
	unsigned todo = p->cur.valid ? roam_liveness(&l, now) : 0;
	if (todo & ROAM_DO_RELAY)
		path_fall_back(p, now, p->verify_ms ? "the direct path did not answer after a move"
						    : "the peer stopped answering on the direct path");
	if (todo & ROAM_DO_VERIFIED)
		p->verify_ms = 0;
	if (todo & ROAM_DO_HANDSHAKE) {
		/* our data goes unanswered: the peer restarted, or every
		 * path we know broke; a handshake (to every candidate and the
		 * relay) finds out, whichever role we had */
		log_info("%s: no answer for %d s; new handshake", p->name, RX_SILENT_MS / 1000);
		p->tx_unanswered_ms = 0;
		p->hs_wide = true;
		if (!p->hs.active)
			peer_start_handshake(p);
	}
	/* keepalive: holds the NAT mappings of the path (and tells the
	 * peer we are alive) while the session lives; sooner when the peer
	 * sent data we have not answered (so its liveness check holds) */
	if (peer_can_send(p) && (now - p->last_tx_ms >= t->cfg.nat_keepalive_s * 1000 ||
				 (todo & ROAM_DO_KEEPALIVE))) {
		uint8_t ka[NTM_DATA_OVERHEAD];
		peer_send(p, ka, 0);
	}
	lanes_sweep(t, p, now);
	path_sweep(p, now);
	return false;
}

/* ntm_idmap_sweep's callback over peers_all: true when p was freed (the
 * sweep then removes it from peers_all; an iteration with ntm_idmap_next
 * must not delete). */
static bool sweep_peer(void *val, uint64_t key, void *arg)
{
	struct peer *p = val;
	struct tund *t = p->t;
	uint64_t now = *(const uint64_t *)arg;
	(void)key;

	if (p->resolved) {
		if (!sweep_resolved(t, p, now))
			return false;
		peer_retire(t, p);
		return true;
	}
	if (!sweep_unresolved(t, p, now))
		return false;
	peer_retire(t, p);
	return true;
}

void peers_sweep(struct ntm_timer *tm, void *arg)
{
	struct tund *t = arg;
	uint64_t now = ntm_loop_now_ms();
	(void)tm;

	ntm_idmap_sweep(&t->peers_all, sweep_peer, &now);
	resolve_sweep(t, now);
	namemap_sync(t); /* after the sweep: sessions it ended leave the map now */
}

void peer_on_underlay_change(struct tund *t)
{
	uint64_t now = ntm_loop_now_ms();
	size_t pos = 0;
	struct peer *p;

	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL))) {
		if (!p->resolved)
			continue;
		if (p->cur.valid)
			path_verify(p, now, "our address changed");
		else if (p->hs.active)
			peer_start_handshake(p); /* again, from the new address */
	}
}

unsigned peer_live_routes(struct tund *t, uint64_t *ids, unsigned max)
{
	static size_t start; /* one tund per process */
	uint64_t now = ntm_loop_now_ms(), key;
	size_t pos = 0, seen = 0;
	unsigned n = 0;
	struct peer *p = NULL;

	while (n < max && (p = ntm_idmap_next(&t->peers_all, &pos, &key))) {
		if (!p->resolved || !p->route_id || !p->cur.valid || now - p->cur_ms >= REJECT_AFTER_TIME_MS)
			continue;
		if (seen++ < start)
			continue;
		ids[n++] = p->route_id;
	}
	/* more than max: the next call goes on after these; else from the start */
	start = n == max && p ? start + n : 0;
	return n;
}
