/* netcheck.c - `ntmctl netcheck`: what the underlay does to our datagrams,
 * as the DC sees them (doc/protocol.md 5.13, doc/control.md NETCHECK).
 *
 * A second UDP socket (an ephemeral port) is opened for the test. From each
 * socket a NETCHECK_PROBE, sealed in our DC session, goes to each DC
 * address we can reach (the one of each family we use, and the DC's
 * AltEndpoint, which every NETCHECK_ECHO names); the DC answers each with
 * the source address and port it saw, to that source. Unanswered probes go
 * again after NC_ROUND_MS, NC_ROUNDS times in all. natclass.c turns the
 * echoes into the verdict; this file only sends, collects and replies.
 *
 * Relays (doc/protocol.md 2.11, 5.16, 5.17): a NETCHECK_RELAYS_REQ (again
 * each round until answered) asks the DC for the relays it would give us,
 * each with a probe token; each gets NC_RELAY_PROBES RELAY_PROBEs from
 * the main socket, NC_RELAY_GAP_MS apart, and its latency is the median of
 * the echoes' round trips. The test ends when everything is answered, or
 * NC_ROUNDS rounds after it began.
 * One test runs at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "natclass.h"
#include "peer.h"
#include "tund.h"
#include "util.h"

#define NC_ROUND_MS 400
#define NC_ROUNDS 3
#define NC_TOKEN_SLOTS 0xf               /* low bits of a token: slot number + 1 */
#define NC_TOKEN_RELAYS 0xf              /* ... or this: the NETCHECK_RELAYS_REQ */
#define NC_RELAY_PROBES 3
#define NC_RELAY_GAP_MS 100

struct nc_relay {
	struct ntm_nc_relay info;            /* as the DC listed it */
	struct sockaddr_storage to;
	socklen_t tolen;
	bool usable;                         /* reachable from our socket's family */
	unsigned sent, got;
	uint64_t nonce[NC_RELAY_PROBES];
	uint64_t sent_ns[NC_RELAY_PROBES];
	bool answered[NC_RELAY_PROBES];
	uint32_t rtt_us[NC_RELAY_PROBES];    /* the first got of them */
};

struct nc_slot {
	bool used;                           /* a probe goes there */
	struct sockaddr_storage to;
	socklen_t tolen;
	uint64_t sent_ns;
	bool answered;
	struct ntm_endpoint observed;
	uint32_t rtt_us;
};

struct netcheck {
	struct tund *t;
	struct ntm_ctlconn *conn;
	uint32_t req_id;
	int fd2;                             /* the test socket, -1: none */
	struct ntm_io io2;
	uint16_t port[NC_NSOCK];
	uint64_t token_base;                 /* low NC_TOKEN_SLOTS bits zero */
	unsigned round;
	bool heard;                          /* an echo came: the DC's AltEndpoint is known */
	bool has_alt;
	struct ntm_endpoint alt;
	struct ntm_timer timer;
	struct nc_slot slot[UL_NFAM][NC_NSOCK][NC_NDEST];
	bool relays_heard;                   /* NETCHECK_RELAYS came */
	unsigned nrelays;
	struct nc_relay relay[NTM_NC_RELAYS_MAX];
	struct ntm_timer rtimer;             /* the next RELAY_PROBEs */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned slot_no(int f, int s, int d)
{
	return (unsigned)(f * NC_NSOCK * NC_NDEST + s * NC_NDEST + d);
}

/* The port a socket is bound to, 0 when it cannot be read. */
static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void send_probe(struct netcheck *nc, int f, int s, int d)
{
	struct tund *t = nc->t;
	struct nc_slot *sl = &nc->slot[f][s][d];
	struct ntm_ctl c = { .type = NTM_CTL_NETCHECK_PROBE };
	uint8_t pkt[NTM_DATA_HDR_LEN + 128 + NTM_TAG_LEN];
	int len;

	c.u.nc_probe.token = nc->token_base + slot_no(f, s, d) + 1;
	len = ntm_ctl_encode(&c, pkt + NTM_DATA_HDR_LEN, 128);
	if (len < 0 || (len = ntm_session_seal(&t->dc.sess, pkt, (size_t)len)) < 0)
		return;
	sl->sent_ns = now_ns();
	if (ntm_udp_send(s == NC_MAIN ? t->udp_fd : nc->fd2, pkt, (size_t)len,
			 (const struct sockaddr *)&sl->to, sl->tolen, NULL) >= 0)
		t->stats.tx_packets++;
}

/* An endpoint as our sockets address it: IPv4 v4-mapped on a dual-stack
 * socket; -EAFNOSUPPORT for IPv6 on an IPv4 socket. */
static int to_sockaddr(const struct tund *t, const struct ntm_endpoint *ep,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	unsigned l;

	if (ep->family == 6 && t->udp_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (ntm_endpoint_to_sockaddr(ep, ss, &l) < 0)
		return -EINVAL;
	*len = (socklen_t)l;
	if (ep->family == 4 && t->udp_family == AF_INET6)
		ntm_sockaddr_map(ss, len);
	return 0;
}

/* Ask the DC which relays to probe (from the main socket, to the DC
 * endpoint in use, like any control message). */
static void send_relays_req(struct netcheck *nc)
{
	struct tund *t = nc->t;
	struct ntm_ctl c = { .type = NTM_CTL_NETCHECK_RELAYS_REQ };
	uint8_t pkt[NTM_DATA_HDR_LEN + 512 + NTM_TAG_LEN];
	int len;

	c.u.nc_relays_req.token = nc->token_base + NC_TOKEN_RELAYS;
	len = ntm_ctl_encode(&c, pkt + NTM_DATA_HDR_LEN, 512);
	if (len < 0 || (len = ntm_session_seal(&t->dc.sess, pkt, (size_t)len)) < 0)
		return;
	if (ntm_udp_send(t->udp_fd, pkt, (size_t)len, (const struct sockaddr *)&t->dc.ep[t->dc.use],
			 t->dc.eplen[t->dc.use], NULL) >= 0)
		t->stats.tx_packets++;
}

static void send_relay_probe(struct netcheck *nc, struct nc_relay *r)
{
	struct tund *t = nc->t;
	struct ntm_relay_probe p = { .kind = NTM_RELAY_PROBE_REQUEST, .token = r->info.token };
	uint8_t pkt[NTM_RELAY_PROBE_LEN];
	unsigned k = r->sent;

	if (ntm_random(&p.nonce, sizeof(p.nonce)) < 0 ||
	    ntm_relay_probe_encode(pkt, sizeof(pkt), &p) != (int)sizeof(pkt))
		return;
	r->nonce[k] = p.nonce;
	r->sent_ns[k] = now_ns();
	r->sent++;
	if (ntm_udp_send(t->udp_fd, pkt, sizeof(pkt), (const struct sockaddr *)&r->to, r->tolen,
			 NULL) >= 0)
		t->stats.tx_packets++;
}

/* The next probe to each relay that has some left. */
static void relay_tick(struct ntm_timer *tm, void *arg)
{
	struct netcheck *nc = arg;
	bool more = false;
	(void)tm;

	for (unsigned i = 0; i < nc->nrelays; i++) {
		struct nc_relay *r = &nc->relay[i];
		if (r->usable && r->sent < NC_RELAY_PROBES)
			send_relay_probe(nc, r);
		more |= r->usable && r->sent < NC_RELAY_PROBES;
	}
	if (more)
		ntm_timer_arm(&nc->rtimer, NC_RELAY_GAP_MS, 0);
}

/* Probes every destination known and not answered yet. */
static void send_round(struct netcheck *nc)
{
	for (int f = 0; f < UL_NFAM; f++)
		for (int s = 0; s < NC_NSOCK; s++)
			for (int d = 0; d < NC_NDEST; d++) {
				const struct nc_slot *sl = &nc->slot[f][s][d];
				if (sl->used && !sl->answered && (s == NC_MAIN || nc->fd2 >= 0))
					send_probe(nc, f, s, d);
			}
}

static bool relays_done(const struct netcheck *nc)
{
	if (!nc->relays_heard)
		return false;
	for (unsigned i = 0; i < nc->nrelays; i++) {
		const struct nc_relay *r = &nc->relay[i];
		if (r->usable && (r->sent < NC_RELAY_PROBES || r->got < r->sent))
			return false;
	}
	return true;
}

static bool all_answered(const struct netcheck *nc)
{
	if (!relays_done(nc))
		return false;
	for (int f = 0; f < UL_NFAM; f++)
		for (int s = 0; s < NC_NSOCK; s++)
			for (int d = 0; d < NC_NDEST; d++) {
				const struct nc_slot *sl = &nc->slot[f][s][d];
				if (sl->used && !sl->answered && (s == NC_MAIN || nc->fd2 >= 0))
					return false;
			}
	return true;
}

static void job_free(struct netcheck *nc)
{
	if (nc->t->netcheck == nc)
		nc->t->netcheck = NULL;
	ntm_timer_cancel(&nc->timer);
	ntm_timer_cancel(&nc->rtimer);
	if (nc->fd2 >= 0) {
		ntm_io_remove(&nc->io2);
		close(nc->fd2);
	}
	free(nc);
}

/* Our own addresses of family f (natclass: "no NAT" when the DC sees one). */
static unsigned local_addrs(const struct tund *t, int f, uint8_t (*out)[16], unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->dc.ul.naddrs && n < max; i++)
		if (t->dc.ul.addrs[i].fam == f)
			memcpy(out[n++], t->dc.ul.addrs[i].addr, 16);
	return n;
}

static void finish(struct netcheck *nc)
{
	struct tund *t = nc->t;
	struct ntm_lctl_netcheck r = { 0 };
	uint8_t local[UNDERLAY_MAX_ADDRS][16], buf[1024];

	for (int f = 0; f < UL_NFAM; f++) {
		struct nc_obs o = { .family = f == UL_V4 ? 4 : 6 };
		bool asked = false;
		for (int s = 0; s < NC_NSOCK; s++)
			for (int d = 0; d < NC_NDEST; d++) {
				const struct nc_slot *sl = &nc->slot[f][s][d];
				asked |= sl->used;
				o.answered[s][d] = sl->answered;
				o.observed[s][d] = sl->observed;
			}
		if (!asked)
			continue;
		o.has_alt = nc->slot[f][NC_MAIN][NC_ALT].used;
		o.local_port[NC_MAIN] = nc->port[NC_MAIN];
		o.local_port[NC_SECOND] = nc->port[NC_SECOND];
		o.nlocal = local_addrs(t, f, local, UNDERLAY_MAX_ADDRS);
		o.local = (const uint8_t(*)[16])local;
		o.rtt_us = nc->slot[f][NC_MAIN][NC_PRIMARY].rtt_us;
		nc_classify(&o, &r.fam[r.n_fam++]);
	}
	for (unsigned i = 0; i < nc->nrelays && r.n_relays < NTM_LCTL_NC_MAX_RELAYS; i++) {
		struct nc_relay *x = &nc->relay[i];
		struct ntm_lctl_nc_relay *o = &r.relay[r.n_relays++];
		o->kind = x->info.kind;
		memcpy(o->name, x->info.name, x->info.name_len);
		o->ep.family = x->info.ep.family;
		o->ep.port = x->info.ep.port;
		memcpy(o->ep.addr, x->info.ep.addr, x->info.ep.family == 4 ? 4 : 16);
		o->sent = (uint8_t)x->sent;
		o->answered = (uint8_t)x->got;
		o->rtt_us = nc_median_us(x->rtt_us, x->got);
	}
	if (nc->has_alt) {
		r.has_alt = true;
		r.alt.family = nc->alt.family;
		r.alt.port = nc->alt.port;
		memcpy(r.alt.addr, nc->alt.addr, 16);
	}
	ntm_ctlconn_on_cancel(nc->conn, NULL, NULL);
	int n = ntm_lctl_reply_netcheck(buf, sizeof(buf), nc->req_id, &r);
	if (n < 0)
		n = ntm_lctl_reply_empty(buf, sizeof(buf), NTM_LCTL_NETCHECK, nc->req_id,
					 NTM_LCTL_INTERNAL);
	if (n > 0)
		ntm_ctlsrv_reply(nc->conn, buf, (size_t)n);
	job_free(nc);
}

static void tick(struct ntm_timer *tm, void *arg)
{
	struct netcheck *nc = arg;
	(void)tm;

	if (++nc->round >= NC_ROUNDS || all_answered(nc) || !nc->t->dc.sess.valid) {
		finish(nc);
		return;
	}
	send_round(nc);
	if (!nc->relays_heard)
		send_relays_req(nc);
	ntm_timer_arm(&nc->timer, NC_ROUND_MS, 0);
}

static void on_cancel(void *arg)
{
	job_free(arg);
}

/* The DC named a second address: probe it from both sockets. */
static void learn_alt(struct netcheck *nc, const struct ntm_endpoint *alt)
{
	int f = alt->family == 4 ? UL_V4 : UL_V6;

	nc->has_alt = true;
	nc->alt = *alt;
	for (int s = 0; s < NC_NSOCK; s++) {
		struct nc_slot *sl = &nc->slot[f][s][NC_ALT];
		if (to_sockaddr(nc->t, alt, &sl->to, &sl->tolen) < 0)
			return;
		sl->used = true;
		if (s == NC_MAIN || nc->fd2 >= 0)
			send_probe(nc, f, s, NC_ALT);
	}
}

void netcheck_on_echo(struct tund *t, const struct ntm_ctl_netcheck_echo *e)
{
	struct netcheck *nc = t->netcheck;
	uint64_t no = e->token & NC_TOKEN_SLOTS;

	if (!nc || (e->token & ~(uint64_t)NC_TOKEN_SLOTS) != nc->token_base || no == 0 ||
	    no > UL_NFAM * NC_NSOCK * NC_NDEST) {
		t->stats.drop_unknown++;
		return;
	}
	no--;
	int f = (int)(no / (NC_NSOCK * NC_NDEST)), s = (int)(no / NC_NDEST % NC_NSOCK),
	    d = (int)(no % NC_NDEST);
	struct nc_slot *sl = &nc->slot[f][s][d];
	if (!sl->used || sl->answered || e->observed.family != (f == UL_V4 ? 4 : 6))
		return;
	sl->answered = true;
	sl->observed = e->observed;
	sl->rtt_us = (uint32_t)((now_ns() - sl->sent_ns) / 1000);
	if (sl->rtt_us == 0)
		sl->rtt_us = 1;
	if (!nc->heard) {
		nc->heard = true;
		if (e->has_alt)
			learn_alt(nc, &e->alt);
	}
	if (all_answered(nc))
		ntm_timer_arm(&nc->timer, 0, 0);
}

void netcheck_on_relays(struct tund *t, const struct ntm_ctl_netcheck_relays *m)
{
	struct netcheck *nc = t->netcheck;

	if (!nc || m->token != nc->token_base + NC_TOKEN_RELAYS || nc->relays_heard) {
		t->stats.drop_unknown++;
		return;
	}
	nc->relays_heard = true;
	for (unsigned i = 0; i < m->count && nc->nrelays < NTM_NC_RELAYS_MAX; i++) {
		struct nc_relay *r = &nc->relay[nc->nrelays++];
		r->info = m->relay[i];
		r->usable = to_sockaddr(t, &r->info.ep, &r->to, &r->tolen) == 0;
	}
	relay_tick(&nc->rtimer, nc);
	if (all_answered(nc))
		ntm_timer_arm(&nc->timer, 0, 0);
}

void netcheck_on_relay_echo(struct tund *t, const uint8_t *buf, size_t len,
			    const struct ntm_udp_meta *m)
{
	struct netcheck *nc = t->netcheck;
	struct ntm_relay_probe p;

	if (!nc || ntm_relay_probe_decode(buf, len, &p) < 0 || p.kind != NTM_RELAY_PROBE_ECHO) {
		t->stats.drop_unknown++;
		return;
	}
	for (unsigned i = 0; i < nc->nrelays; i++) {
		struct nc_relay *r = &nc->relay[i];
		if (!r->usable ||
		    ntm_sockaddr_cmp((const struct sockaddr *)&m->src, (const struct sockaddr *)&r->to))
			continue;
		for (unsigned k = 0; k < r->sent; k++) {
			if (r->answered[k] || r->nonce[k] != p.nonce)
				continue;
			r->answered[k] = true;
			uint32_t rtt = (uint32_t)((now_ns() - r->sent_ns[k]) / 1000);
			r->rtt_us[r->got++] = rtt ? rtt : 1;
			if (all_answered(nc))
				ntm_timer_arm(&nc->timer, 0, 0);
			return;
		}
	}
	t->stats.drop_unknown++;
}

bool netcheck_from_alt(const struct tund *t, const struct sockaddr *src)
{
	const struct netcheck *nc = t->netcheck;

	if (!nc || !nc->has_alt)
		return false;
	for (int f = 0; f < UL_NFAM; f++) {
		const struct nc_slot *sl = &nc->slot[f][NC_MAIN][NC_ALT];
		if (sl->used && ntm_sockaddr_cmp(src, (const struct sockaddr *)&sl->to) == 0)
			return true;
	}
	return false;
}

static int open_second(struct netcheck *nc)
{
	struct tund *t = nc->t;
	int fd = ntm_udp_open(t->udp_family, NULL, 0, false);

	if (fd < 0)
		return fd;
	ntm_io_init(&nc->io2, t->loop, fd, tund_on_udp, t);
	int ret = ntm_io_add(&nc->io2, EPOLLIN);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	nc->fd2 = fd;
	nc->port[NC_SECOND] = local_port(fd);
	return 0;
}

int netcheck_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		     uint8_t *out, size_t cap)
{
	if (t->netcheck || !t->dc.sess.valid || t->dc.state != DC_REGISTERED)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id,
					    NTM_LCTL_TRYAGAIN);
	struct netcheck *nc = calloc(1, sizeof(*nc));
	if (!nc)
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id,
					    NTM_LCTL_INTERNAL);
	nc->t = t;
	nc->conn = c;
	nc->req_id = req->hdr.req_id;
	nc->fd2 = -1;
	nc->port[NC_MAIN] = local_port(t->udp_fd);
	int ret = open_second(nc);
	if (ret < 0)
		log_warn_errno(-ret, "netcheck: no second socket; testing from the main one only");
	while (nc->token_base == 0) {
		ntm_random(&nc->token_base, sizeof(nc->token_base));
		nc->token_base &= ~(uint64_t)NC_TOKEN_SLOTS;
	}
	for (int f = 0; f < UL_NFAM; f++) {
		if (!(t->dc.usable & UL_BIT(f)))
			continue;
		for (int s = 0; s < NC_NSOCK; s++) {
			struct nc_slot *sl = &nc->slot[f][s][NC_PRIMARY];
			sl->used = true;
			sl->to = t->dc.ep[f];
			sl->tolen = t->dc.eplen[f];
		}
	}
	t->netcheck = nc;
	ntm_timer_init(&nc->timer, t->loop, tick, nc);
	ntm_timer_init(&nc->rtimer, t->loop, relay_tick, nc);
	ntm_ctlconn_on_cancel(c, on_cancel, nc);
	send_round(nc);
	send_relays_req(nc);
	ntm_timer_arm(&nc->timer, NC_ROUND_MS, 0);
	return NTM_CTLSRV_DEFER;
}

/* At stop, before the control socket closes (as pings_free). */
void netcheck_free(struct tund *t)
{
	if (t->netcheck) {
		ntm_ctlconn_on_cancel(t->netcheck->conn, NULL, NULL);
		job_free(t->netcheck);
	}
}
