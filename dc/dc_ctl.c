/* dc_ctl.c - ntm-dcd's answers on its local control socket: the same
 * framing as ntm-tund's (doc/control.md, lib/ctlserver.c); the DC answers
 * STATS (its counters, the control socket's own as ctl_NAME as ntm-tund
 * shows them, and its embedded relay's, for `ntm-dcctl stats`),
 * RELOAD (ntm-dcctl wrote the registry: read the enrolled keys again if
 * the database changed) and BADREQ to the rest. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "dc.h"
#include "util.h"
#include "log.h"

/* What the control socket refused or cut short (lib/ctlserver.h), named
 * as ntm-tund names them: field, name, text for the log. */
#define CTL_STATS(X) \
	X(refused, ctl_refused, "control connections closed at once: over a connection cap") \
	X(deadline, ctl_deadline, "control connections closed: a request not whole within 2 s") \
	X(idle, ctl_idle, "control connections closed after 10 s without a request") \
	X(nofd, ctl_accept_nofd, "control socket: accept() out of descriptors, paused 250 ms")

/* The DC's counters, the control socket's, then the embedded relay's as
 * relay_NAME. */
struct dc_all_stats {
	struct dc_stats d;
	struct ntm_ctlsrv_stats c;
	struct relay_stats r;
};
#define XD(name, text) { #name, offsetof(struct dc_all_stats, d.name) },
#define XC(field, name, text) { #name, offsetof(struct dc_all_stats, c.field) },
#define XR(name, text) { "relay_" #name, offsetof(struct dc_all_stats, r.name) },
static const struct ntm_counter_def counters[] = { DC_STATS(XD) CTL_STATS(XC) RELAY_STATS(XR) };
_Static_assert(NTM_ARRAY_SIZE(counters) <= NTM_LCTL_MAX_COUNTERS,
	       "a STATS reply carries at most NTM_LCTL_MAX_COUNTERS counters: raise it");
#undef XD
#undef XC
#undef XR
_Static_assert(NTM_ARRAY_SIZE(counters) <= NTM_LCTL_MAX_COUNTERS, "too many counters for STATS");

void dc_ctl_log_stats(const struct dc *dc)
{
	struct ntm_ctlsrv_stats none = { 0 };
	const struct ntm_ctlsrv_stats *cs = dc->ctl ? ntm_ctlsrv_stats(dc->ctl) : &none;

#define X(field, name, text) log_notice("%-24s %llu  (%s)", #name, \
					(unsigned long long)cs->field, text);
	CTL_STATS(X)
#undef X
}

static void gauge(struct ntm_lctl_counter *g, size_t *n, const char *name, uint64_t v)
{
	snprintf(g[*n].name, sizeof(g[*n].name), "%s", name);
	g[(*n)++].value = v;
}

/* What STATS reports besides the counters: values that go up and down
 * (`ntm-dcctl metrics` prints them as Prometheus gauges). */
static size_t dc_gauges(const struct dc *dc, struct ntm_lctl_counter *g)
{
	uint64_t registered = 0, relays_up = 0;
	size_t n = 0, pos = 0;
	const struct dc_node *nd;

	while ((nd = ntm_idmap_next(&dc->by_host, &pos, NULL)))
		registered += nd->registered_ms != 0;
	for (size_t i = 0; i < dc->nrelays; i++)
		relays_up += dc->relays[i].up;
	gauge(g, &n, "uptime_seconds", (ntm_loop_now_ms() - dc->started_ms) / 1000);
	gauge(g, &n, "nodes_enrolled", dc->keys.len);
	gauge(g, &n, "nodes_known", dc->by_host.len);
	gauge(g, &n, "nodes_registered", registered);
	gauge(g, &n, "routes", dc->routes.len);
	gauge(g, &n, "relays", dc->nrelays);
	gauge(g, &n, "relays_up", relays_up);
	return n;
}

static int handle(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *buf, size_t cap)
{
	struct dc *dc = arg;
	struct dc_all_stats all = { .d = dc->stats, .c = *ntm_ctlsrv_stats(dc->ctl),
				    .r = dc->relay.stats };
	(void)c;

	/* Harmless for anyone to send: the keys are read again only when
	 * the database changed, and then they are what is on disk. */
	if (req->hdr.type == NTM_LCTL_RELOAD) {
		bool ok = dc_registry_sync(dc) == 0;
		ok = dc_policy_load(dc) == 0 && ok; /* a bad policy file is logged, the old kept */
		return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id,
					    ok ? NTM_LCTL_OK : NTM_LCTL_INTERNAL);
	}
	if (req->hdr.type == NTM_LCTL_STATS) {
		struct ntm_lctl_counter g[NTM_LCTL_MAX_GAUGES];
		size_t ng = dc_gauges(dc, g);
		return ntm_daemon_stats_reply(buf, cap, req->hdr.req_id, &all, counters,
					      NTM_ARRAY_SIZE(counters), g, ng);
	}
	return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_BADREQ);
}

int dc_ctl_open(struct dc *dc, uid_t owner, gid_t group)
{
	int ret = ntm_ctlsrv_open(&dc->ctl, dc->loop, dc->cfg.control_socket, owner, group,
				  handle, dc);
	if (ret < 0)
		log_err_errno(-ret, "control socket %s", dc->cfg.control_socket);
	return ret;
}

void dc_ctl_close(struct dc *dc)
{
	ntm_ctlsrv_close(dc->ctl);
	dc->ctl = NULL;
}
