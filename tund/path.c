/* path.c - how ntm-tund reaches a peer: the candidate addresses the DC
 * gave (LAN, NAT-observed, IPv6) and those learned from the peer's own
 * probes, PROBE requests and replies from both sides at once (hole
 * punching), the relay the DC allocated, the choice between them and the
 * keepalives that hold NAT mappings open (doc/protocol.md 2.5, 2.6, 7).
 *
 * The Noise session does not depend on the path: DATA sealed once can go
 * directly or inside a RELAY capsule, so moving between paths needs no new
 * handshake. A tunnel starts on whichever path answers first (the relay
 * when no direct one does yet) and moves to a direct path as soon as a
 * probe reply proves one; a relayed peer is probed again every
 * PROBE_UPGRADE_MS. The first probe of a burst to a NAT-observed candidate
 * is TTL-limited: it opens our own NAT and dies before the peer's. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "roam.h"
#include "tund.h"
#include "watch.h"
#include "util.h"

static uint64_t ka_ms(const struct peer *p)
{
	return p->t->cfg.nat_keepalive_s * 1000;
}

/* Direct path considered dead after this long without hearing on it. */
static uint64_t dead_ms(const struct peer *p)
{
	return 2 * ka_ms(p) + 5000;
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case NTM_CAND_LAN: return "LAN";
	case NTM_CAND_NAT: return "through NAT";
	case NTM_CAND_V6: return "IPv6";
	case CAND_LEARNED: return "through NAT (learned)";
	default: return "?";
	}
}

/* Why a relayed peer is relayed, as far as the probes tell (path_reason). */
static const char no_answer_yet[] = "no direct candidate has answered yet";
static const char no_answer[] = "no direct candidate answered the probes";
static const char bday_running[] = "no direct answer to the probes; birthday search running";
static const char bday_missed[] = "probes and birthday search unanswered: the NATs filter (ntm(7))";
static const char box_took[] = "the peer's NAT box took our probes itself (ICMP port unreachable; ntm(7))";

struct bday {
	int fds[BDAY_SOCKETS];
	struct ntm_io ios[BDAY_SOCKETS];
	unsigned nfds;
	struct sockaddr_storage target;  /* the peer's NAT-observed endpoint */
	socklen_t target_len;
	uint32_t port_start, port_step;  /* guesses: a walk through 1024..65535 */
	unsigned guessed;
	bool box_answered;               /* ICMP port unreachable from the target's address */
	uint64_t started_ms, resent_ms;
};

/* Is fd one of our sockets that may talk to p? (A stale fd number from a
 * closed search could name another file by now.) */
static bool fd_of(const struct peer *p, int fd)
{
	if (fd <= 0 || fd == p->t->udp_fd)
		return false;
	if (fd == p->own_fd)
		return true;
	if (p->bday)
		for (unsigned i = 0; i < p->bday->nfds; i++)
			if (p->bday->fds[i] == fd)
				return true;
	return false;
}

/* 0 or -errno; a socket's refusal is counted as tx_send_failed. ttl: 0 for
 * the socket's own, else this datagram's TTL or hop limit. */
static int send_to_fd_ttl(struct peer *p, int fd, const struct sockaddr_storage *to, socklen_t len,
			  const uint8_t *buf, size_t n, int ttl)
{
	struct tund *t = p->t;
	struct sockaddr_storage ss = *to;
	socklen_t sl = len;

	if (!fd_of(p, fd))
		fd = t->udp_fd;
	if (t->udp_family == AF_INET6)
		ntm_sockaddr_map(&ss, &sl);
	else if (ss.ss_family != AF_INET) {
		t->stats.tx_no_path++; /* an IPv6 candidate and an IPv4-only socket */
		return -EAFNOSUPPORT;
	}
	ssize_t ret = ttl ? ntm_udp_send_ttl(fd, buf, n, (struct sockaddr *)&ss, sl, ttl)
			  : ntm_udp_send(fd, buf, n, (struct sockaddr *)&ss, sl, NULL);
	if (ret < 0) {
		t->stats.tx_send_failed++;
		return (int)ret;
	}
	t->stats.tx_packets++;
	return 0;
}

static int send_to_fd(struct peer *p, int fd, const struct sockaddr_storage *to, socklen_t len,
		      const uint8_t *buf, size_t n)
{
	return send_to_fd_ttl(p, fd, to, len, buf, n, 0);
}

static int send_to(struct peer *p, const struct sockaddr_storage *to, socklen_t len,
		   const uint8_t *buf, size_t n)
{
	return send_to_fd(p, 0, to, len, buf, n);
}

/* ---- relay ---- */

static void relay_forget(struct peer *p)
{
	if (p->has_relay)
		ntm_idmap_del(&p->t->peers_relay, p->relay_alloc);
	ntm_relaycap_key_free(&p->relay_key);
	p->relay_key_ok = false;
	p->has_relay = false;
}

static int relay_send(struct peer *p, const uint8_t *inner, size_t len)
{
	struct tund *t = p->t;

	if (!p->relay_key_ok)
		return -ENOTCONN;
	int n = ntm_relaycap_seal(&p->relay_key, t->relaybuf, sizeof(t->relaybuf), p->relay_side, 0,
				  p->relay_alloc, p->relay_tx++, inner, len);
	if (n < 0) {
		t->stats.tx_seal_failed++;
		return n;
	}
	int ret = send_to(p, &p->relay_ss, p->relay_len, t->relaybuf, (size_t)n);
	if (ret < 0)
		return ret;
	t->stats.relay_tx++;
	p->relay_tx_ms = ntm_loop_now_ms();
	return 0;
}

/* The relay's silence (path_sweep) counts from when we start to rely on
 * it: while the path was direct the peer had no reason to send through
 * it, so its last capsule may be as old as the route, and a fall-back
 * asked the DC for another route at once (its Route Direction then made
 * both ends run a path check). */
static void relay_judged_from(struct peer *p, uint64_t now)
{
	if (p->relay_rx_ms < now)
		p->relay_rx_ms = now;
}

/* ---- candidates ---- */

static struct path_cand *cand_find(struct peer *p, const struct sockaddr_storage *ss)
{
	for (unsigned i = 0; i < p->ncands; i++)
		if (ntm_sockaddr_cmp((const struct sockaddr *)&p->cands[i].ss,
				     (const struct sockaddr *)ss) == 0)
			return &p->cands[i];
	return NULL;
}

static struct path_cand *cand_add(struct peer *p, const struct sockaddr_storage *ss, socklen_t len,
				  uint8_t kind, uint8_t prio, int fd)
{
	struct path_cand *c = cand_find(p, ss);

	if (c) {
		if (fd_of(p, fd))
			c->fd = fd;
		return c;
	}
	if (p->ncands == PATH_MAX_CANDS) {
		/* full: a learned address replaces the oldest learned one */
		if (kind != CAND_LEARNED)
			return NULL;
		for (unsigned i = 0; i < p->ncands; i++)
			if (p->cands[i].kind == CAND_LEARNED && (!c || p->cands[i].probe_sent_ms < c->probe_sent_ms))
				c = &p->cands[i];
		if (!c)
			return NULL;
	} else {
		c = &p->cands[p->ncands++];
	}
	memset(c, 0, sizeof(*c));
	c->ss = *ss;
	c->len = len;
	c->kind = kind;
	c->prio = prio;
	c->fd = fd_of(p, fd) ? fd : 0;
	return c;
}

/* A NAT-observed IPv4 candidate. A datagram that reaches the peer's NAT
 * before the peer's own mapping towards us exists may be taken by that NAT
 * for itself (a router without a WAN input filter), and the peer's mapping
 * then moves to another port: so a burst opens our NAT towards it first
 * and probes it from round 1 on, and until it has answered nothing else
 * goes there (doc/protocol.md 2.7). */
static bool cand_nat4(const struct path_cand *c)
{
	return c->kind == NTM_CAND_NAT && c->ss.ss_family == AF_INET;
}

static bool cand_unproven_nat(const struct path_cand *c)
{
	return cand_nat4(c) && !c->ok_ms;
}

static void bday_stop(struct peer *p, bool success);
static void probe_send(struct peer *p, struct path_cand *c, uint8_t kind, uint64_t echo,
		       const struct sockaddr_storage *to, socklen_t tolen, int fd);

void path_clear(struct peer *p)
{
	bday_stop(p, false);
	if (p->own_fd > 0) {
		ntm_io_remove(&p->own_io);
		close(p->own_fd);
		p->own_fd = 0;
	}
	relay_forget(p);
	ntm_wipe(p->probe_key, sizeof(p->probe_key));
	p->has_probe_key = false;
}

void path_on_route(struct peer *p, const struct ntm_ctl_route_direction *r)
{
	struct tund *t = p->t;
	uint64_t now = ntm_loop_now_ms();
	bool new_route = !p->has_probe_key || r->route_id != p->route_id;

	if (new_route) {
		if (ntm_probe_key(p->probe_key, &t->id, r->peer_key, r->route_id) < 0) {
			log_warn("%s: the DC sent an unusable key; not probing", r->peer_name.s);
			p->has_probe_key = false;
		} else {
			p->has_probe_key = true;
		}
		ntm_replay_init(&p->probe_rx);
	}
	/* the DC's candidates replace its old ones; learned ones stay */
	unsigned keep = 0;
	for (unsigned i = 0; i < p->ncands; i++)
		if (p->cands[i].kind == CAND_LEARNED)
			p->cands[keep++] = p->cands[i];
	p->ncands = (uint8_t)keep;
	for (uint8_t i = 0; i < r->ncands; i++) {
		struct sockaddr_storage ss;
		unsigned sl = sizeof(ss);
		if (r->cands[i].kind == NTM_CAND_RELAY ||
		    ntm_endpoint_to_sockaddr(&r->cands[i].ep, &ss, &sl) < 0)
			continue;
		struct path_cand *c = cand_find(p, &ss);
		if (c) { /* learned before, now known for what it is */
			c->kind = r->cands[i].kind;
			c->prio = r->cands[i].priority;
		} else {
			cand_add(p, &ss, (socklen_t)sl, r->cands[i].kind, r->cands[i].priority, 0);
		}
	}
	/* the relay */
	struct sockaddr_storage rss;
	unsigned rsl = sizeof(rss);
	if (!r->has_relay) {
		relay_forget(p);
	} else if (p->has_relay && p->relay_alloc == r->relay_alloc_id) {
		/* the same allocation, perhaps at the relay's address of the
		 * family we use now: the key and counters stay */
		if (ntm_endpoint_to_sockaddr(&r->relay_ep, &rss, &rsl) == 0 &&
		    ntm_sockaddr_cmp((struct sockaddr *)&rss, (struct sockaddr *)&p->relay_ss) != 0) {
			p->relay_ss = rss;
			p->relay_len = (socklen_t)rsl;
			p->relay_no_gso = false;
		}
	} else {
		relay_forget(p);
		unsigned sl = sizeof(p->relay_ss);
		if (ntm_endpoint_to_sockaddr(&r->relay_ep, &p->relay_ss, &sl) == 0 &&
		    ntm_relaycap_key_init(&p->relay_key, r->relay_key) == 0 &&
		    ntm_idmap_put(&t->peers_relay, r->relay_alloc_id, p) == 0) {
			p->relay_len = (socklen_t)sl;
			p->relay_no_gso = false;
			p->relay_alloc = r->relay_alloc_id;
			p->relay_side = r->relay_side;
			p->relay_tx = 0;
			p->relay_rx_ms = now; /* judged from now on */
			ntm_replay_init(&p->relay_rx);
			p->has_relay = true;
			p->relay_key_ok = true;
		} else {
			ntm_relaycap_key_free(&p->relay_key);
		}
	}
	if (new_route)
		p->bday_tries = 0;
	p->route_ms = now;
	/* the same route again with a live session: the DC saw one of us
	 * move (doc/protocol.md 2.8); check the path we use */
	if (!new_route && p->cur.valid) {
		path_verify(p, now, "the DC directed the route again");
		return;
	}
	/* make ourselves known to the relay, and probe at once: both sides
	 * do this on the same Route Direction, which is what opens NATs */
	if (p->has_relay)
		relay_send(p, NULL, 0);
	p->probe_round = 0;
	p->probe_next_ms = now;
	path_sweep(p, now);
}

/* ---- sending ---- */

/* The socket says the endpoint cannot be reached from here at all (our
 * underlay lost that family or route): no use waiting for a timer. */
static bool unroutable(int err)
{
	return err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EADDRNOTAVAIL ||
	       err == -EAFNOSUPPORT;
}

int path_send(struct peer *p, const uint8_t *buf, size_t len)
{
	if (p->path == PATH_RELAY || (p->path == PATH_NONE && !p->has_ep && p->has_relay))
		return relay_send(p, buf, len);
	if (!p->has_ep)
		return -ENOTCONN;
	int ret = send_to_fd(p, p->ep_fd, &p->ep, p->eplen, buf, len);
	if (ret < 0 && unroutable(ret) && p->has_relay) {
		char a[64];
		log_debug_errno(-ret, "%s: sending to %s", p->name,
				ntm_sockaddr_str((struct sockaddr *)&p->ep, a, sizeof(a)));
		path_fall_back(p, ntm_loop_now_ms(), "no route to the direct endpoint from here");
		return relay_send(p, buf, len);
	}
	return ret;
}

/* One train to ep (path_send_train): UDP_SEGMENT while the kernel takes it.
 * Returns the datagrams sent or -errno. */
static ssize_t train_to_ep(struct peer *p, const uint8_t *buf, size_t len, size_t stride)
{
	struct tund *t = p->t;
	struct sockaddr_storage ss = p->ep;
	socklen_t sl = p->eplen;
	int fd = fd_of(p, p->ep_fd) ? p->ep_fd : t->udp_fd;

	if (t->udp_family == AF_INET6)
		ntm_sockaddr_map(&ss, &sl);
	else if (ss.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	bool gso = t->dp.udp_gso && !p->ep_no_gso;
	ssize_t r = ntm_udp_send_train(fd, buf, len, stride, (struct sockaddr *)&ss, sl, gso);
	if (gso && (r == -EIO || r == -EINVAL)) {
		/* EIO: the device cannot checksum for us, no GSO anywhere;
		 * EINVAL: this route (its MTU below a segment, xfrm) */
		if (r == -EIO) {
			t->dp.udp_gso = false;
			log_notice("UDP_SEGMENT refused (%s): sending datagram by datagram",
				   strerror(EIO));
		} else {
			p->ep_no_gso = true;
		}
		t->stats.tx_gso_fallback++;
		r = ntm_udp_send_train(fd, buf, len, stride, (struct sockaddr *)&ss, sl, false);
	}
	return r;
}

/* k capsules of cstride bytes (the last maybe shorter), used bytes at
 * t->dp.relay_train, to the relay as one UDP_SEGMENT train. Returns the
 * capsules sent or -errno. */
static ssize_t relay_train_out(struct peer *p, size_t used, size_t cstride)
{
	struct tund *t = p->t;
	struct sockaddr_storage ss = p->relay_ss;
	socklen_t sl = p->relay_len;

	if (t->udp_family == AF_INET6)
		ntm_sockaddr_map(&ss, &sl);
	else if (ss.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	ssize_t r = ntm_udp_send_train(t->udp_fd, t->dp.relay_train, used, cstride,
				       (struct sockaddr *)&ss, sl, true);
	if (r == -EIO || r == -EINVAL) {
		/* as train_to_ep: EIO no GSO anywhere, EINVAL this route */
		if (r == -EIO)
			t->dp.udp_gso = false;
		else
			p->relay_no_gso = true;
		t->stats.tx_gso_fallback++;
		r = ntm_udp_send_train(t->udp_fd, t->dp.relay_train, used, cstride,
				       (struct sockaddr *)&ss, sl, false);
	}
	return r;
}

/* May datagrams of stride bytes go to the relay as one train? Not without
 * UDP_SEGMENT (refused once) or when two capsules would not fit one. */
static bool relay_train_ok(const struct peer *p, size_t stride)
{
	return p->relay_key_ok && p->t->dp.udp_gso && !p->relay_no_gso &&
	       NTM_UDP_TRAIN_BYTES / (stride + NTM_RELAY_OVERHEAD) >= 2;
}

/* A train through the relay (relay_train_ok): each datagram sealed into
 * its own RELAY capsule, back to back in t->dp.relay_train. Equal
 * datagrams make equal capsules, so they are still a train, and the relay
 * forwards them as one where it can; the wire is the same as capsule by
 * capsule. 0 if any capsule went, else -errno. */
static int relay_send_train(struct peer *p, const uint8_t *buf, size_t len, size_t stride,
			    size_t n)
{
	struct tund *t = p->t;
	size_t cstride = stride + NTM_RELAY_OVERHEAD;
	size_t per = NTM_UDP_TRAIN_BYTES / cstride;
	int ret = -ENOTCONN, ok = 0;

	if (per > NTM_UDP_TRAIN_MAX)
		per = NTM_UDP_TRAIN_MAX;
	for (size_t i = 0; i < n;) {
		size_t k = 0, used = 0;
		for (; k < per && i + k < n; k++) {
			size_t off = (i + k) * stride;
			int c = ntm_relaycap_seal(&p->relay_key, t->dp.relay_train + used,
						  sizeof(t->dp.relay_train) - used, p->relay_side, 0,
						  p->relay_alloc, p->relay_tx++, buf + off,
						  i + k + 1 < n ? stride : len - off);
			if (c < 0) {
				t->stats.tx_seal_failed += n - i - k;
				return ok ? 0 : c;
			}
			used += (size_t)c;
		}
		ssize_t r = relay_train_out(p, used, cstride);
		if (r > 0) {
			ok = 1;
			t->stats.tx_relay_trains++;
			t->stats.tx_packets += (uint64_t)r;
			t->stats.relay_tx += (uint64_t)r;
			t->stats.tx_send_failed += k - (size_t)r;
			p->relay_tx_ms = ntm_loop_now_ms();
		} else {
			t->stats.tx_send_failed += k;
			ret = (int)r;
		}
		i += k;
	}
	return ok ? 0 : ret;
}

int path_send_train(struct peer *p, const uint8_t *buf, size_t len, size_t stride, size_t n)
{
	struct tund *t = p->t;
	bool relay = p->path == PATH_RELAY || (p->path == PATH_NONE && !p->has_ep && p->has_relay);

	if (n > 1 && relay && relay_train_ok(p, stride))
		return relay_send_train(p, buf, len, stride, n);
	if (n > 1 && !relay && p->has_ep) {
		ssize_t r = train_to_ep(p, buf, len, stride);
		if (r > 0) {
			t->stats.tx_trains++;
			t->stats.tx_packets += (uint64_t)r;
			t->stats.tx_send_failed += n - (size_t)r;
			return 0;
		}
		if (!(unroutable((int)r) && p->has_relay)) {
			t->stats.tx_send_failed += n;
			return (int)r;
		}
		/* as path_send: this one datagram by datagram, after the fall-back */
	}
	int ret = -ENOTCONN, ok = 0;
	for (size_t i = 0, off = 0; i < n; i++, off += stride) {
		ret = path_send(p, buf + off, i + 1 < n ? stride : len - off);
		ok |= ret == 0;
	}
	return ok ? 0 : ret;
}

/* Our HANDSHAKE_INIT to one endpoint, with the mac2 of the cookie that
 * endpoint gave us if we hold a fresh one (doc/protocol.md 2.9): mac2 is
 * per destination, so each copy is stamped as it leaves. */
static int send_hs_to(struct peer *p, int fd, const struct sockaddr_storage *to, socklen_t len,
		      const uint8_t *pkt, size_t n)
{
	uint8_t copy[NTM_HS_INIT_LEN];

	if (n != sizeof(copy))
		return send_to_fd(p, fd, to, len, pkt, n);
	memcpy(copy, pkt, n);
	ntm_cookie_jar_stamp(&p->t->jar, copy, (const struct sockaddr *)to, ntm_loop_now_ms());
	return send_to_fd(p, fd, to, len, copy, n);
}

void path_resend_hs(struct peer *p, int fd, const struct sockaddr_storage *to, socklen_t len)
{
	if (p->hs.active && p->has_hs_pkt)
		send_hs_to(p, fd, to, len, p->hs_pkt, sizeof(p->hs_pkt));
}

void path_send_hs(struct peer *p, const uint8_t *pkt, size_t len, bool everywhere)
{
	memcpy(p->hs_pkt, pkt, len);
	p->has_hs_pkt = len == sizeof(p->hs_pkt);
	p->hs_cookie_resent = false;
	if (!everywhere && p->path != PATH_NONE) {
		uint8_t copy[NTM_HS_INIT_LEN];
		if (p->has_ep && len == sizeof(copy)) {
			memcpy(copy, pkt, len);
			ntm_cookie_jar_stamp(&p->t->jar, copy, (const struct sockaddr *)&p->ep,
					     ntm_loop_now_ms());
			pkt = copy;
		}
		path_send(p, pkt, len);
		return;
	}
	if (p->has_ep)
		send_hs_to(p, p->ep_fd, &p->ep, p->eplen, pkt, len);
	for (unsigned i = 0; i < p->ncands; i++) {
		struct path_cand *c = &p->cands[i];
		if (p->has_ep && ntm_sockaddr_cmp((struct sockaddr *)&c->ss, (struct sockaddr *)&p->ep) == 0)
			continue;
		if (cand_unproven_nat(c))
			continue; /* its probe's answer brings the initiation there */
		send_hs_to(p, c->fd, &c->ss, c->len, pkt, len);
	}
	if (p->has_relay)
		relay_send(p, pkt, len);
}

void path_reply(struct peer *p, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	if (m->via_relay) {
		relay_send(p, buf, len);
		return;
	}
	struct sockaddr_storage ss = m->src;
	socklen_t sl = m->srclen;
	ntm_sockaddr_unmap(&ss, &sl);
	send_to_fd(p, m->fd, &ss, sl, buf, len);
}

/* ---- choosing ---- */

/* ICMP errors on the birthday search's sockets. Their opening probes
 * (PROBE_OPEN_TTL) die at the first router after our NAT; an ICMP port
 * unreachable from the peer's NAT address instead means its NAT box got
 * one itself: nothing routes between the two NATs, and a box that answers
 * may take the peer's flows for itself (doc/protocol.md 2.7). */

/* Ask for (on) or stop (off, which also empties the queue) the ICMP
 * errors that fd's datagrams draw. */
static void icmp_errors(int fd, int family, bool on)
{
	int v = on;

	(void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &v, sizeof(v));
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &v, sizeof(v));
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != AF_INET || b->ss_family != AF_INET)
		return false;
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/* Is this error-queue message an ICMP port unreachable from addr? */
static bool unreach_from(struct cmsghdr *c, const struct sockaddr_storage *addr)
{
	struct sock_extended_err ee;
	struct sockaddr_storage off = { 0 };
	socklen_t ol = sizeof(off);

	if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
	      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) ||
	    c->cmsg_len < CMSG_LEN(sizeof(ee)))
		return false;
	if (!addr)
		return false;
	memcpy(&ee, CMSG_DATA(c), sizeof(ee));
	if (ee.ee_origin != SO_EE_ORIGIN_ICMP || ee.ee_type != 3 || ee.ee_code != 3)
		return false;
	size_t n = c->cmsg_len - CMSG_LEN(sizeof(ee));
	memcpy(&off, CMSG_DATA(c) + sizeof(ee), n < sizeof(off) ? n : sizeof(off));
	ntm_sockaddr_unmap(&off, &ol);
	return same_addr(&off, addr);
}

/* Empty fd's error queue (a bounded number of messages); true if one
 * was a port unreachable from addr. */
static bool icmp_drain(int fd, const struct sockaddr_storage *addr)
{
	bool hit = false;

	for (int i = 0; i < 16; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)) + 256];
			struct cmsghdr align;
		} ctl;
		uint8_t data[NTM_PROBE_LEN];
		struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			hit |= unreach_from(c, addr);
	}
	return hit;
}

/* A birthday socket's events: its errors first, then its datagrams
 * (tund_on_udp may end the search and free io: nothing after it). */
static void bday_on_io(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tund *t = arg;
	struct peer *p = t->bday_peer && t->bday_peer->bday ? t->bday_peer : NULL;

	if ((events & EPOLLERR) && icmp_drain(io->fd, p ? &p->bday->target : NULL) && p &&
	    !p->bday->box_answered) {
		p->bday->box_answered = true;
		log_info("%s: its NAT box answered our opening probes itself (ICMP port unreachable)", p->name);
	}
	if (events & EPOLLIN)
		tund_on_udp(io, events, arg);
}

/* A socket of the birthday search reached the peer: keep it for p (its
 * slot in the search becomes -1, so the search never closes it). */
static void adopt_fd(struct peer *p, int fd)
{
	struct bday *b = p->bday;

	if (!b || fd == p->own_fd)
		return;
	for (unsigned i = 0; i < b->nfds; i++) {
		if (b->fds[i] != fd)
			continue;
		if (p->own_fd > 0) { /* one kept socket per peer */
			ntm_io_remove(&p->own_io);
			close(p->own_fd);
		}
		ntm_io_remove(&b->ios[i]);
		b->fds[i] = -1;
		icmp_errors(fd, p->t->udp_family, false);
		p->own_fd = fd;
		ntm_io_init(&p->own_io, p->t->loop, fd, tund_on_udp, p->t);
		ntm_io_add(&p->own_io, EPOLLIN);
		return;
	}
}

/* A datagram from the peer came in on fd: if that is a socket of the
 * birthday search, the search succeeded and p keeps that socket. */
static void bday_hit(struct peer *p, int fd)
{
	if (!p->bday || !fd_of(p, fd) || fd == p->own_fd)
		return;
	adopt_fd(p, fd);
	p->t->stats.bday_succeeded++;
	log_info("%s: birthday search found a path after %llu ms", p->name,
		 (unsigned long long)(ntm_loop_now_ms() - p->bday->started_ms));
	bday_stop(p, true);
}

static void go_direct(struct peer *p, const struct sockaddr_storage *ss, socklen_t sl, int fd,
		      const char *why)
{
	struct path_cand *c = cand_find(p, ss);
	char a[64];

	uint64_t now = ntm_loop_now_ms();

	if (!fd_of(p, fd))
		fd = 0;
	p->ep_ok_ms = p->direct_rx_ms = now; /* proven just now */
	if (p->path == PATH_DIRECT && p->has_ep && p->ep_fd == fd &&
	    ntm_sockaddr_cmp((struct sockaddr *)ss, (struct sockaddr *)&p->ep) == 0)
		return;
	bday_hit(p, fd);
	bday_stop(p, true); /* a direct path, however found, ends a search */
	log_info("%s: path direct %s %s (%s)", p->name, c ? kind_name(c->kind) : "", ntm_sockaddr_str((const struct sockaddr *)ss, a, sizeof(a)), why);
	bool was_direct = p->path == PATH_DIRECT;
	if (p->path == PATH_RELAY)
		p->t->stats.path_upgrades++;
	p->ep_no_gso = roam_no_gso_keep(p->ep_no_gso, p->has_ep, (const struct sockaddr *)&p->ep,
					p->ep_fd, (const struct sockaddr *)ss, fd);
	p->ep = *ss;
	p->eplen = sl;
	p->ep_fd = fd;
	p->has_ep = true;
	p->path = PATH_DIRECT;
	p->path_kind = c ? c->kind : CAND_LEARNED;
	p->path_kind_prio = c ? c->prio : 0;
	p->path_reason = NULL;
	p->moved_ms = now;
	p->moved_why = why;
	watch_peer(p, was_direct ? NTM_LCTL_EV_ENDPOINT : NTM_LCTL_EV_PATH, why);
}

void path_fall_back(struct peer *p, uint64_t now, const char *why)
{
	if (!p->has_relay || p->path == PATH_RELAY)
		return;
	log_info("%s: path relay (%s)", p->name, why);
	relay_judged_from(p, now);
	p->path = PATH_RELAY;
	p->path_reason = why;
	p->moved_ms = now;
	p->moved_why = why;
	p->probe_round = 0;
	p->probe_next_ms = now;
	watch_peer(p, NTM_LCTL_EV_PATH, why);
}

void path_on_rx(struct peer *p, const struct ntm_udp_meta *m, bool newest)
{
	uint64_t now = ntm_loop_tick_ms();
	struct roam_rx rx = { .via_relay = m->via_relay, .newest = newest };

	if (m->via_relay) {
		p->relay_rx_ms = now;
		if (p->path == PATH_NONE) {
			p->path = PATH_RELAY;
			if (!p->path_reason)
				p->path_reason = no_answer_yet;
			log_info("%s: path relay (%s)", p->name, p->path_reason);
			watch_peer(p, NTM_LCTL_EV_PATH, p->path_reason);
		}
		return;
	}
	struct sockaddr_storage ss = m->src;
	socklen_t sl = m->srclen;
	ntm_sockaddr_unmap(&ss, &sl);
	/* the packet path: from the endpoint we send to, one compare */
	rx.from_ep = p->path == PATH_DIRECT && p->has_ep && p->ep_fd == (fd_of(p, m->fd) ? m->fd : 0) &&
		     ntm_sockaddr_cmp((struct sockaddr *)&ss, (struct sockaddr *)&p->ep) == 0;
	if (!rx.from_ep && p->path == PATH_DIRECT && p->upgraded_ms) {
		const struct path_cand *c = cand_find(p, &ss);
		rx.worse_known = c && c->prio < p->path_kind_prio;
		/* now is the wake-up's: an upgrade made since is fresh too */
		rx.upgrade_fresh = now < p->upgraded_ms || now - p->upgraded_ms < PATH_HOLD_MS;
	}
	switch (roam_decide(&rx)) {
	case ROAM_REFRESH:
		p->direct_rx_ms = p->ep_ok_ms = now;
		break;
	case ROAM_MOVE:
		/* the peer sends from there now: it moved, its NAT rebound,
		 * or it chose that path; its newest datagram says where it is */
		cand_add(p, &ss, sl, CAND_LEARNED, 5, m->fd);
		go_direct(p, &ss, sl, m->fd, p->path == PATH_DIRECT ? "the peer's newest packet came from there"
								: "traffic on a direct path");
		break;
	case ROAM_NONE:
		break;
	}
}

void path_verify(struct peer *p, uint64_t now, const char *why)
{
	p->verify_ms = now;
	p->verify_why = why;
	/* the relay learns our new endpoint from an authenticated capsule */
	if (p->has_relay)
		relay_send(p, NULL, 0);
	/* probes to every candidate: any answer proves a path (path_on_probe
	 * takes it while the check runs), and open NAT mappings both ways */
	if (p->has_probe_key) {
		for (unsigned i = 0; i < p->ncands; i++)
			probe_send(p, &p->cands[i], NTM_PROBE_REQUEST, 0, NULL, 0, 0);
		if (p->has_ep && !cand_find(p, &p->ep))
			probe_send(p, NULL, NTM_PROBE_REQUEST, 0, &p->ep, p->eplen, p->ep_fd);
		p->probe_round = 1;
		p->probe_next_ms = now + PROBE_FIRST_MS;
	}
	/* the peer moves its endpoint to us on this one's arrival */
	if (peer_can_send(p)) {
		uint8_t ka[NTM_DATA_OVERHEAD];
		peer_send(p, ka, 0);
	}
}

/* ---- probes ---- */

/* Send a probe; ttl 0 for the socket's own, else PROBE_OPEN_TTL. */
static void probe_emit(struct peer *p, uint8_t kind, uint64_t echo, const struct sockaddr_storage *to,
		       socklen_t tolen, int fd, int ttl)
{
	uint8_t msg[NTM_PROBE_LEN];
	struct ntm_probe pr = {
		.kind = kind, .role = p->role, .route_id = p->route_id,
		.seq = ++p->probe_seq, .echo = echo,
	};

	if (ntm_probe_encode(msg, sizeof(msg), &pr) < 0)
		return;
	ntm_probe_sign(p->probe_key, msg);
	send_to_fd_ttl(p, fd, to, tolen, msg, sizeof(msg), ttl);
	p->t->stats.probes_sent++;
}

static void probe_send(struct peer *p, struct path_cand *c, uint8_t kind, uint64_t echo,
		       const struct sockaddr_storage *to, socklen_t tolen, int fd)
{
	if (c) {
		c->probe_sent_ms = ntm_loop_now_ms();
		to = &c->ss;
		tolen = c->len;
		fd = c->fd;
	}
	probe_emit(p, kind, echo, to, tolen, fd, 0);
}

static bool session_wanted(const struct peer *p, uint64_t now)
{
	return p->cur.valid || p->next.valid || p->hs.active || now - p->route_ms < PROBE_ROUTE_FRESH_MS;
}

/* Rounds of a burst: the offset of round r from the burst's start is
 * PROBE_FIRST_MS * (2^r - 1), the last one's wait PROBE_BURST_MAX_MS. */
static uint64_t round_offset(unsigned r)
{
	return (uint64_t)PROBE_FIRST_MS * ((UINT64_C(1) << r) - 1);
}

static bool round_is_last(unsigned r)
{
	return r > 0 && (uint64_t)PROBE_FIRST_MS << (r - 1) >= PROBE_BURST_MAX_MS;
}

/* How long after its opening probe a NAT candidate may get plain ones. */
static uint64_t open_gap(const struct peer *p, const struct path_cand *c)
{
	return c->open_ms == p->route_ms ? PROBE_FIRST_MS : PROBE_OPEN_LATER_MS;
}

static void probe_round(struct peer *p, uint64_t now)
{
	/* the burst started where this round says (path_verify and
	 * path_fall_back schedule rounds too), however late the round runs:
	 * that keeps us in step with the peer's bursts, stall after stall.
	 * Only after a long pause (probing was not wanted) does it start
	 * from now. */
	uint64_t due = now - p->probe_next_ms < PROBE_UPGRADE_MS / 2 ? p->probe_next_ms : now;
	p->probe_burst_ms = due - round_offset(p->probe_round);
	for (unsigned i = 0; i < p->ncands; i++) {
		struct path_cand *c = &p->cands[i];
		if (p->probe_round == 0 && cand_nat4(c)) {
			c->open_ms = now;
			probe_emit(p, NTM_PROBE_REQUEST, 0, &c->ss, c->len, c->fd, PROBE_OPEN_TTL);
		} else if (!cand_nat4(c) || now - c->open_ms >= open_gap(p, c)) {
			probe_send(p, c, NTM_PROBE_REQUEST, 0, NULL, 0, 0);
		}
	}
	if (round_is_last(p->probe_round)) {
		p->probe_round = 0;
		p->probe_next_ms = p->probe_burst_ms + PROBE_UPGRADE_MS;
	} else {
		p->probe_round++;
		p->probe_next_ms = p->probe_burst_ms + round_offset(p->probe_round);
	}
}

void path_on_probe(struct tund *t, const uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	struct ntm_probe pr;

	if (ntm_probe_decode(buf, len, &pr) < 0) {
		t->stats.drop_malformed++;
		return;
	}
	struct peer *p = ntm_idmap_get(&t->peers_route, pr.route_id);
	if (!p || p->route_id != pr.route_id || !p->has_probe_key || pr.role == p->role) {
		t->stats.drop_unknown++;
		return;
	}
	if (!ntm_probe_verify(p->probe_key, buf)) {
		t->stats.drop_auth++;
		return;
	}
	if (!ntm_replay_check(&p->probe_rx, pr.seq)) {
		t->stats.drop_replay++;
		return;
	}
	struct sockaddr_storage ss = m->src;
	socklen_t sl = m->srclen;
	ntm_sockaddr_unmap(&ss, &sl);
	uint64_t now = ntm_loop_now_ms();
	struct path_cand *c = cand_find(p, &ss);
	if (!c) {
		/* the peer's NAT mapping towards us: a peer-reflexive candidate */
		char a[64];
		log_debug("%s: learned candidate %s", p->name, ntm_sockaddr_str((struct sockaddr *)&ss, a, sizeof(a)));
	}
	bday_hit(p, m->fd);
	c = cand_add(p, &ss, sl, CAND_LEARNED, 5, m->fd);
	t->stats.probes_received++;
	if (p->path == PATH_DIRECT && p->has_ep &&
	    ntm_sockaddr_cmp((struct sockaddr *)&ss, (struct sockaddr *)&p->ep) == 0)
		p->direct_rx_ms = now;
	if (pr.kind == NTM_PROBE_REQUEST) {
		probe_send(p, NULL, NTM_PROBE_REPLY, pr.seq, &ss, sl, m->fd);
		/* our initiation may not have got through where this came
		 * from (the other side's NAT was closed then): try it now */
		if (p->hs.active && p->has_hs_pkt && (!c || !c->ok_ms))
			send_hs_to(p, m->fd, &ss, sl, p->hs_pkt, sizeof(p->hs_pkt));
		/* the way from there is open: ask back at once, so both
		 * sides prove the path within one round trip instead of
		 * waiting for their next probe round */
		if (p->path != PATH_DIRECT && c && now - c->probe_sent_ms >= PROBE_ASK_BACK_MS)
			probe_send(p, c, NTM_PROBE_REQUEST, 0, NULL, 0, 0);
		/* a birthday hit on one of our extra sockets: ask back */
		if (m->fd == p->own_fd && p->own_fd > 0 && m->fd != p->ep_fd)
			probe_send(p, NULL, NTM_PROBE_REQUEST, 0, &ss, sl, m->fd);
		return;
	}
	/* a reply: this path works both ways */
	p->probe_replies++;
	if (c)
		c->ok_ms = now;
	uint8_t prio = c ? c->prio : 0;
	bool checking = p->verify_ms && p->direct_rx_ms < p->verify_ms;
	bool better = p->path != PATH_DIRECT || now - p->direct_rx_ms >= dead_ms(p) ||
		      prio > p->path_kind_prio || checking;
	if (peer_can_send(p) && better) {
		bool up = p->path == PATH_DIRECT && prio > p->path_kind_prio;
		go_direct(p, &ss, sl, m->fd, "probe answered");
		p->upgraded_ms = up ? now : 0;
	} else if (!peer_can_send(p) && p->hs.active && p->has_hs_pkt) {
		send_hs_to(p, m->fd, &ss, sl, p->hs_pkt, sizeof(p->hs_pkt));
	}
}

/* ---- relay capsules to us ---- */

void path_on_relay(struct tund *t, uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	struct ntm_relay_msg rm;

	if (ntm_relay_decode(buf, len, &rm) < 0) {
		t->stats.drop_malformed++;
		return;
	}
	struct peer *p = ntm_idmap_get(&t->peers_relay, rm.alloc_id);
	if (!p || !p->has_relay || p->relay_alloc != rm.alloc_id || rm.direction != 1 ||
	    rm.side != p->relay_side) {
		t->stats.drop_unknown++;
		return;
	}
	struct sockaddr_storage ss = m->src;
	socklen_t sl = m->srclen;
	ntm_sockaddr_unmap(&ss, &sl);
	if (ntm_sockaddr_cmp((struct sockaddr *)&ss, (struct sockaddr *)&p->relay_ss) != 0) {
		t->stats.drop_unknown++;
		return;
	}
	if (ntm_relaycap_verify(&p->relay_key, buf, len, &rm) < 0) {
		t->stats.drop_auth++;
		return;
	}
	if (!ntm_replay_check(&p->relay_rx, rm.counter)) {
		t->stats.drop_replay++;
		return;
	}
	t->stats.relay_rx++;
	if (rm.inner_len == 0)
		return;
	struct ntm_udp_meta im = *m;
	im.via_relay = true;
	/* the inner datagram is handled in place: it stays inside buf */
	data_on_udp(t, (uint8_t *)rm.inner, rm.inner_len, &im);
}

/* ---- the birthday search ---- */

static void bday_stop(struct peer *p, bool success)
{
	struct bday *b = p->bday;

	if (!b)
		return;
	for (unsigned i = 0; i < b->nfds; i++) {
		if (b->fds[i] < 0)
			continue; /* adopted */
		ntm_io_remove(&b->ios[i]);
		close(b->fds[i]);
	}
	if (!success)
		p->t->stats.bday_failed++;
	if (!success && b->box_answered && p->path == PATH_RELAY)
		p->path_reason = box_took;
	free(b);
	p->bday = NULL;
	if (p->t->bday_peer == p)
		p->t->bday_peer = NULL;
}

/* The peer's NAT-observed IPv4 endpoint, if the DC gave one. */
static const struct path_cand *nat_cand(const struct peer *p)
{
	for (unsigned i = 0; i < p->ncands; i++)
		if (p->cands[i].kind == NTM_CAND_NAT && p->cands[i].ss.ss_family == AF_INET)
			return &p->cands[i];
	return NULL;
}

static void bday_start(struct peer *p, uint64_t now)
{
	struct tund *t = p->t;
	const struct path_cand *nc = nat_cand(p);
	struct bday *b;

	if (!nc || t->bday_peer || !(b = calloc(1, sizeof(*b))))
		return;
	p->bday = b;
	t->bday_peer = p;
	p->bday_tries++;
	t->stats.bday_started++;
	b->target = nc->ss;
	b->target_len = nc->len;
	b->started_ms = b->resent_ms = now;
	ntm_random(&b->port_start, sizeof(b->port_start));
	ntm_random(&b->port_step, sizeof(b->port_step));
	b->port_start %= 64512;
	b->port_step = 1 + b->port_step % 64511;
	/* a step coprime with 64512 = 2^10 * 3^2 * 7 visits every port once */
	while (b->port_step % 2 == 0 || b->port_step % 3 == 0 || b->port_step % 7 == 0)
		b->port_step = b->port_step % 64511 + 1;
	for (unsigned i = 0; i < BDAY_SOCKETS; i++) {
		int fd = ntm_udp_open(t->udp_family, NULL, 0, false);
		if (fd < 0)
			break;
		b->fds[b->nfds] = fd;
		icmp_errors(fd, t->udp_family, true);
		ntm_io_init(&b->ios[b->nfds], t->loop, fd, bday_on_io, t);
		if (ntm_io_add(&b->ios[b->nfds], EPOLLIN) < 0) {
			close(fd);
			break;
		}
		b->nfds++;
		probe_emit(p, NTM_PROBE_REQUEST, 0, &b->target, b->target_len, fd, PROBE_OPEN_TTL);
	}
	log_info("%s: no direct answer yet; birthday search with %u sockets and %u guesses", p->name,
		 b->nfds, BDAY_PROBES);
}

static void bday_step(struct peer *p, uint64_t now)
{
	struct bday *b = p->bday;

	if (now - b->started_ms >= BDAY_TIMEOUT_MS) {
		log_info("%s: birthday search found nothing in %d s", p->name, BDAY_TIMEOUT_MS / 1000);
		bday_stop(p, false);
		return;
	}
	/* spread the guesses over BDAY_SPRAY_MS, one share per sweep */
	uint64_t due = (uint64_t)BDAY_PROBES * (now - b->started_ms + PEER_SWEEP_MS) / BDAY_SPRAY_MS;
	if (due > BDAY_PROBES)
		due = BDAY_PROBES;
	struct sockaddr_storage to = b->target;
	struct sockaddr_in *sin = (struct sockaddr_in *)&to;
	for (; b->guessed < due; b->guessed++) {
		uint32_t port = 1024 + (b->port_start + (uint64_t)b->guessed * b->port_step) % 64512;
		sin->sin_port = htons((uint16_t)port);
		probe_send(p, NULL, NTM_PROBE_REQUEST, 0, &to, b->target_len, 0);
	}
	/* the extra sockets open their mappings again once, in case the
	 * first went astray */
	if (now - b->resent_ms >= 1000 && now - b->started_ms < 2500) {
		b->resent_ms = now;
		for (unsigned i = 0; i < b->nfds; i++)
			if (b->fds[i] >= 0)
				probe_emit(p, NTM_PROBE_REQUEST, 0, &b->target, b->target_len, b->fds[i],
					   PROBE_OPEN_TTL);
	}
}

/* ---- why relayed ---- */

/* A relayed peer's path_reason, as far as the probes tell (other reasons,
 * set where they arise, are left alone). */
static void probe_verdict(struct peer *p, uint64_t now)
{
	const char *r = p->path_reason;

	if (p->path != PATH_RELAY || p->probe_replies)
		return;
	if (r && r != no_answer_yet && r != no_answer && r != bday_running && r != bday_missed)
		return;
	if (p->bday)
		p->path_reason = bday_running;
	else if (p->bday_tries)
		p->path_reason = bday_missed;
	else if (now - p->route_ms >= 2 * PROBE_FIRST_MS)
		p->path_reason = no_answer;
}

/* ---- the sweep ---- */

void path_sweep(struct peer *p, uint64_t now)
{
	bool wanted = session_wanted(p, now);

	/* the direct path went silent: fall back to the relay and probe */
	if (p->path == PATH_DIRECT && p->has_relay && p->cur.valid &&
	    now - p->direct_rx_ms >= dead_ms(p) && now - p->last_rx_ms < dead_ms(p)) {
		log_info("%s: direct path silent for %llu s; relaying", p->name,
			 (unsigned long long)((now - p->direct_rx_ms) / 1000));
		relay_judged_from(p, now);
		p->path = PATH_RELAY;
		p->path_reason = "the direct path stopped answering";
		p->probe_round = 0;
		p->probe_next_ms = now;
		watch_peer(p, NTM_LCTL_EV_PATH, p->path_reason);
	}
	/* the relay went silent: ask the DC again, which gives a new route
	 * (and relay) when the old route's relay is down */
	if (p->path == PATH_RELAY && p->has_relay && p->cur.valid && now - p->relay_rx_ms >= dead_ms(p) &&
	    now - p->dir_sent_ms >= dead_ms(p) && p->t->dc.state == DC_REGISTERED) {
		log_info("%s: relay silent for %llu s; asking the DC for another route", p->name,
			 (unsigned long long)((now - p->relay_rx_ms) / 1000));
		p->path_reason = "the relay stopped answering; asked the DC for another";
		send_direction_req(p->t, p);
	}
	/* probing: until a direct path is proven, then only to upgrade */
	if (wanted && p->has_probe_key && p->ncands && p->path != PATH_DIRECT && now >= p->probe_next_ms)
		probe_round(p, now);
	/* plain probes unanswered: try the birthday search, once per route */
	if (p->bday)
		bday_step(p, now);
	else if (wanted && p->path != PATH_DIRECT && p->probe_replies == 0 && p->bday_tries == 0 &&
		 p->has_probe_key && now - p->route_ms >= BDAY_AFTER_MS)
		bday_start(p, now);
	probe_verdict(p, now);
	/* keep the relay's idea of our endpoint, and our NAT mapping to it */
	if (wanted && p->has_relay && p->path != PATH_DIRECT && now - p->relay_tx_ms >= ka_ms(p))
		relay_send(p, NULL, 0);
}

const char *path_describe(const struct peer *p, char *buf, size_t cap)
{
	char a[64];

	switch (p->path) {
	case PATH_DIRECT:
		snprintf(buf, cap, "direct %s", kind_name(p->path_kind));
		break;
	case PATH_RELAY:
		snprintf(buf, cap, "relay via %s: %s",
			 ntm_sockaddr_str((const struct sockaddr *)&p->relay_ss, a, sizeof(a)),
			 p->path_reason ? p->path_reason : "no direct path yet");
		break;
	default:
		snprintf(buf, cap, "%s", p->hs.active ? "handshake in progress" : "no session");
	}
	return buf;
}
