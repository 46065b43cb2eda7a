/* dc_ctl.c - ntm-dcd's answers on its local control socket: the same
 * framing as ntm-tund's (doc/control.md, lib/ctlserver.c); the DC answers
 * STATS (its counters, for `ntm-dcctl stats`) and BADREQ to the rest. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc.h"
#include "log.h"

#define X(name, text) { #name, offsetof(struct dc_stats, name) },
static const struct { const char *name; size_t off; } counters[] = { DC_STATS(X) };
#undef X

static int reply_stats(struct dc *dc, uint32_t req_id, uint8_t *buf, size_t cap)
{
	struct ntm_lctl_stats *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		snprintf(m->c[i].name, sizeof(m->c[i].name), "%s", counters[i].name);
		memcpy(&m->c[i].value, (const uint8_t *)&dc->stats + counters[i].off, sizeof(uint64_t));
		m->n++;
	}
	ret = ntm_lctl_reply_stats(buf, cap, req_id, m);
	free(m);
	return ret;
}

static int handle(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		  uint8_t *buf, size_t cap)
{
	(void)c;
	if (req->hdr.type == NTM_LCTL_STATS)
		return reply_stats(arg, req->hdr.req_id, buf, cap);
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
