/* dc_ctl.c - ntm-dcd's answers on its local control socket: the same
 * framing as ntm-tund's (doc/control.md, lib/ctlserver.c); the DC answers
 * STATS (its counters, for `ntm-dcctl stats`) and BADREQ to the rest. */
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

#define X(name, text) { #name, offsetof(struct dc_stats, name) },
static const struct ntm_counter_def counters[] = { DC_STATS(X) };
#undef X

static int handle(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *buf, size_t cap)
{
	(void)c;
	if (req->hdr.type == NTM_LCTL_STATS)
		return ntm_daemon_stats_reply(buf, cap, req->hdr.req_id, &((struct dc *)arg)->stats,
					      counters, NTM_ARRAY_SIZE(counters));
	return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_BADREQ);
}

int dc_ctl_open(struct dc *dc, uid_t owner, gid_t group)
{
	int ret = ntm_ctlsrv_open(&dc->ctl, dc->loop, dc->cfg.control_socket, owner, group,
				  handle, dc);
	if (ret < 0)
		log_err("control socket %s: %s", dc->cfg.control_socket, strerror(-ret));
	return ret;
}

void dc_ctl_close(struct dc *dc)
{
	ntm_ctlsrv_close(dc->ctl);
	dc->ctl = NULL;
}
