/* ctl.c - ntm-tund's answers on its local control socket (doc/control.md).
 * The socket, its limits and the permission check (queries for everyone,
 * state changes for root and group "ntm") are lib/ctlserver.c's; this file
 * only answers requests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>

#include "ctlserver.h"
#include "daemon.h"
#include "util.h"
#include "log.h"
#include "netif.h"
#include "peer.h"
#include "tund.h"
#include "worker.h"
#include "watch.h"

static void fill_endpoint(struct ntm_lctl_endpoint *e, const struct ntm_endpoint *w)
{
	e->family = w->family;
	e->port = w->port;
	memcpy(e->addr, w->addr, 16);
}

static enum ntm_lctl_dc_state lctl_dc_state(enum dc_state s)
{
	switch (s) {
	case DC_REGISTERED: return NTM_LCTL_DC_REGISTERED;
	case DC_UNREACHABLE: return NTM_LCTL_DC_UNREACHABLE;
	case DC_REFUSED: return NTM_LCTL_DC_REFUSED;
	case DC_CONNECTING: break;
	}
	return NTM_LCTL_DC_CONNECTING;
}

/* A DC instance's endpoints as configured: "192.0.2.1:7540,[2001:db8::1]:7540"
 * or "dc.example.org:7540"; the instance in use with the addresses its
 * name resolved to last. */
static void fill_dc_text(char *buf, size_t cap, const char *host, uint16_t port,
			 const struct sockaddr_storage endpoint[UL_NFAM])
{
	size_t off = 0;

	buf[0] = '\0';
	if (host[0]) {
		/* a 253-byte name and a port may be cut: it is only shown */
		if (snprintf(buf, cap, "%s:%u", host, port) >= (int)cap)
			buf[cap - 1] = '\0';
		return;
	}
	for (int f = 0; f < UL_NFAM && off < cap; f++) {
		char ep[64];
		if (!endpoint[f].ss_family)
			continue;
		ntm_sockaddr_str((const struct sockaddr *)&endpoint[f], ep, sizeof(ep));
		int n = snprintf(buf + off, cap - off, "%s%s", off ? "," : "", ep);
		off += n > 0 ? (size_t)n : 0;
	}
}

/* Our underlay addresses and how long ago they last changed. */
static void fill_underlay(struct ntm_lctl_status_info *s, const struct dclink *d)
{
	for (unsigned i = 0; i < d->ul.naddrs && i < NTM_LCTL_MAX_ADDRS; i++) {
		const struct underlay_addr *a = &d->ul.addrs[i];
		s->underlay[i].family = a->fam == UL_V4 ? 4 : 6;
		memcpy(s->underlay[i].addr, a->addr, a->fam == UL_V4 ? 4 : 16);
		s->n_underlay = i + 1;
	}
	s->has_underlay_age = true;
	s->underlay_age = (uint32_t)((ntm_loop_now_ms() - d->ul_changed_ms) / 1000);
}

static int reply_status(struct tund *t, uint32_t req_id, uint8_t *buf, size_t cap)
{
	struct ntm_lctl_status_info *s = calloc(1, sizeof(*s));
	const struct dclink *d = &t->dc;
	struct ntm_endpoint ep;
	int ret;

	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", t->fqdn[0] ? t->fqdn : t->cfg.name);
	if (t->configured) {
		s->vip4.present = s->vip6.present = true;
		memcpy(s->vip4.addr, t->vip4, 4);
		s->vip4.plen = t->plen4;
		memcpy(s->vip6.addr, t->vip6, 16);
		s->vip6.plen = t->plen6;
	}
	fill_dc_text(s->dc, sizeof(s->dc), t->cfg.dc_host, t->cfg.dc_host_port,
		     t->cfg.dc_endpoint);
	for (unsigned i = 0; i < t->cfg.ndcs && i < NTM_LCTL_MAX_DC_INSTANCES; i++) {
		const struct tund_dc *dc = &t->cfg.dcs[i];
		fill_dc_text(s->dc_instances[i], sizeof(s->dc_instances[i]), dc->host,
			     dc->host_port, dc->endpoint);
		s->n_dc_instances = i + 1;
	}
	if (d->pick.cur < s->n_dc_instances)
		s->dc_in_use = (uint8_t)(d->pick.cur + 1);
	if (ntm_endpoint_from_sockaddr(&ep, (const struct sockaddr *)&t->cfg.dc_endpoint[d->use]) == 0) {
		s->has_dc_endpoint = true;
		fill_endpoint(&s->dc_endpoint, &ep);
	}
	s->dc_state = lctl_dc_state(d->state);
	dclink_diag(t, s->dc_info, sizeof(s->dc_info), s->dc_hint, sizeof(s->dc_hint));
	if (d->observed.family) {
		s->has_observed = true;
		fill_endpoint(&s->observed, &d->observed);
	}
	if (d->last_ack_ms) {
		s->has_ack_age = true;
		s->ack_age = (uint32_t)((ntm_loop_now_ms() - d->last_ack_ms) / 1000);
	}
	fill_underlay(s, d);
	s->n_zones = t->nzones;
	for (unsigned i = 0; i < t->nzones; i++)
		snprintf(s->zones[i], sizeof(s->zones[i]), "%s", t->zones[i]);
	ret = ntm_lctl_reply_status(buf, cap, req_id, s);
	free(s);
	return ret;
}

#define X(name) { #name, offsetof(struct tund_stats, name) },
static const struct ntm_counter_def counters[] = { TUND_STATS(X) };
_Static_assert(NTM_ARRAY_SIZE(counters) <= NTM_LCTL_MAX_COUNTERS,
	       "a STATS reply carries at most NTM_LCTL_MAX_COUNTERS counters: raise it");
#undef X

/* The drops the kernel counts before ntm-tund sees a packet, read when
 * asked (nothing on the packet path): ntm0's queue towards our reads full
 * (its tx_dropped), and datagrams our UDP socket dropped (SO_MEMINFO's
 * SK_MEMINFO_DROPS: its receive buffer full, mostly). A value the kernel
 * will not give keeps the last one. */
static void kernel_drops(struct tund *t)
{
	struct ntm_netif_link l;
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (ntm_netif_get_link(t->ifname, &l) == 0)
		t->stats.tun_txq_drops = l.tx_dropped;
	if (t->udp_fd >= 0 && getsockopt(t->udp_fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
	    len >= sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1))
		t->stats.udp_socket_drops = mi[SK_MEMINFO_DROPS];
}

/* DOWN: the peer's tunnel is gone, and its map entry, before the reply. */
static int down_request(struct tund *t, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
			uint8_t *buf, size_t cap)
{
	struct ntm_name n;
	uint16_t st = NTM_LCTL_NOTFOUND;

	if (peer_name_check(t, req->name, &n) == 0 && peer_down(t, n.s) == 0) {
		log_notice("control: tunnel to %s torn down on request of uid %u", n.s,
			   (unsigned)ntm_ctlconn_cred(c)->uid);
		st = NTM_LCTL_OK;
	}
	return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id, st);
}

static void gauge(struct ntm_lctl_counter *g, size_t *n, const char *name, uint64_t v)
{
	snprintf(g[*n].name, sizeof(g[*n].name), "%s", name);
	g[(*n)++].value = v;
}

/* What STATS reports besides the counters: values that go up and down
 * (`ntmctl metrics` prints them as Prometheus gauges). */
static size_t tund_gauges(const struct tund *t, struct ntm_lctl_counter *g)
{
	uint64_t now = ntm_loop_now_ms(), by_path[4] = { 0 };
	size_t n = 0, pos = 0;
	const struct peer *p;

	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL))) {
		if (!p->resolved)
			by_path[0]++;
		else if (!peer_can_send(p) && !p->next.valid)
			by_path[NTM_LCTL_PATH_PENDING]++;
		else
			by_path[p->path == PATH_RELAY ? NTM_LCTL_PATH_RELAY : NTM_LCTL_PATH_DIRECT]++;
	}
	gauge(g, &n, "uptime_seconds", (now - t->started_ms) / 1000);
	gauge(g, &n, "dc_registered", t->dc.state == DC_REGISTERED);
	gauge(g, &n, "dc_state", lctl_dc_state(t->dc.state));
	if (t->dc.last_ack_ms)
		gauge(g, &n, "dc_ack_age_seconds", (now - t->dc.last_ack_ms) / 1000);
	gauge(g, &n, "peers", by_path[1] + by_path[2] + by_path[3]);
	gauge(g, &n, "peers_resolving", by_path[0]);
	gauge(g, &n, "peers_pending", by_path[NTM_LCTL_PATH_PENDING]);
	gauge(g, &n, "peers_direct", by_path[NTM_LCTL_PATH_DIRECT]);
	gauge(g, &n, "peers_relay", by_path[NTM_LCTL_PATH_RELAY]);
	gauge(g, &n, "resolves_pending", t->pending);
	gauge(g, &n, "underlay_addresses", t->dc.ul.naddrs);
	return n;
}

static int handle(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *buf, size_t cap)
{
	struct tund *t = arg;

	switch (req->hdr.type) {
	case NTM_LCTL_STATUS:
		return reply_status(t, req->hdr.req_id, buf, cap);
	case NTM_LCTL_STATS: {
		workers_fold_stats(t);
		const struct ntm_ctlsrv_stats *cs = ntm_ctlsrv_stats(t->ctl);
		t->stats.ctl_refused = cs->refused;
		t->stats.ctl_deadline = cs->deadline;
		t->stats.ctl_idle = cs->idle;
		t->stats.ctl_accept_nofd = cs->nofd;
		kernel_drops(t);
		struct ntm_lctl_counter g[NTM_LCTL_MAX_GAUGES];
		size_t ng = tund_gauges(t, g);
		return ntm_daemon_stats_reply(buf, cap, req->hdr.req_id, &t->stats, counters,
					      NTM_ARRAY_SIZE(counters), g, ng);
	}
	case NTM_LCTL_REREGISTER:
		log_notice("control: re-registration requested by uid %u",
			   (unsigned)ntm_ctlconn_cred(c)->uid);
		dclink_reregister(t);
		return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_OK);
	case NTM_LCTL_DOWN:
		return down_request(t, c, req, buf, cap);
	case NTM_LCTL_RESOLVE_NAME:
	case NTM_LCTL_RESOLVE_ADDR:
		return resolve_request(t, c, req, buf, cap);
	case NTM_LCTL_PEERS:
		return peers_reply(t, req, buf, cap);
	case NTM_LCTL_PING:
		return ping_request(t, c, req, buf, cap);
	case NTM_LCTL_WATCH:
		return watch_request(t, c, req, buf, cap);
	case NTM_LCTL_NETCHECK:
		return netcheck_request(t, c, req, buf, cap);
	default:
		return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_BADREQ);
	}
}

int ctl_open(struct tund *t, uid_t owner, gid_t group)
{
	return ntm_ctlsrv_open(&t->ctl, t->loop, t->cfg.control_socket, owner, group, handle, t);
}

void ctl_close(struct tund *t)
{
	ntm_ctlsrv_close(t->ctl);
	t->ctl = NULL;
}
