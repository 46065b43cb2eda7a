/* dc_ctl.c - ntm-dcd's answers on its local control socket: the same
 * framing as ntm-tund's (doc/control.md, lib/ctlserver.c); the DC answers
 * STATS (its counters and its embedded relay's, for `ntm-dcctl stats`),
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

/* The DC's counters, then the embedded relay's as relay_NAME. */
struct dc_all_stats {
	struct dc_stats d;
	struct relay_stats r;
};
#define XD(name, text) { #name, offsetof(struct dc_all_stats, d.name) },
#define XR(name, text) { "relay_" #name, offsetof(struct dc_all_stats, r.name) },
static const struct ntm_counter_def counters[] = { DC_STATS(XD) RELAY_STATS(XR) };
#undef XD
#undef XR
_Static_assert(NTM_ARRAY_SIZE(counters) <= NTM_LCTL_MAX_COUNTERS, "too many counters for STATS");

static int handle(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *buf, size_t cap)
{
	struct dc *dc = arg;
	struct dc_all_stats all = { .d = dc->stats, .r = dc->relay.stats };
	(void)c;

	/* Harmless for anyone to send: the keys are read again only when
	 * the database changed, and then they are what is on disk. */
	if (req->hdr.type == NTM_LCTL_RELOAD)
		return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id,
					    dc_registry_sync(dc) == 0 ? NTM_LCTL_OK :
					    NTM_LCTL_INTERNAL);
	if (req->hdr.type == NTM_LCTL_STATS)
		return ntm_daemon_stats_reply(buf, cap, req->hdr.req_id, &all, counters,
					      NTM_ARRAY_SIZE(counters));
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
