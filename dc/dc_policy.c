/* dc_policy.c - the DC's access policy ([Policy] File, ntm-policy(5)):
 * loaded at start, again on SIGHUP and RELOAD (`ntm-dcctl policy reload`); a Direction
 * Request the policy forbids gets DIRECTION_NAK FORBIDDEN and the target
 * hears nothing (doc/protocol.md 5.8). The decisions are lib/policy.c's. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dc.h"
#include "log.h"

int dc_policy_load(struct dc *dc)
{
	struct ntm_policy *p = NULL;
	struct ntm_conf_error err = { 0 };
	char msg[1024];

	if (!dc->cfg.policy_file[0])
		return 0;
	int ret = ntm_policy_parse_file(dc->cfg.policy_file, &p, &err);
	if (ret < 0) {
		ntm_conf_error_format(&err, msg, sizeof(msg));
		if (dc->policy)
			log_err("%s; keeping the policy read before", msg);
		else
			log_err("%s", msg);
		return ret;
	}
	log_info("policy %s: %zu group(s), %zu rule(s)%s", dc->cfg.policy_file,
		 ntm_policy_ngroups(p), ntm_policy_nrules(p), dc->policy ? " (reloaded)" : "");
	ntm_policy_free(dc->policy);
	dc->policy = p;
	dc->stats.policy_reloads++;
	return 0;
}

void dc_policy_free(struct dc *dc)
{
	ntm_policy_free(dc->policy);
	dc->policy = NULL;
}

static void on_hup(struct ntm_signal *s, int signo, void *arg)
{
	(void)s;
	(void)signo;
	dc_policy_load(arg);
}

int dc_policy_signal(struct dc *dc)
{
	return ntm_signal_add(&dc->hup, dc->loop, SIGHUP, on_hup, dc);
}

/* The target's full name: the name asked for (qualified under the zone,
 * or another zone's as it is), or the registry's name for the address. */
static int target_name(struct dc *dc, const struct ntm_ctl_direction_req *q,
		       char out[NTM_NAME_MAX + 1])
{
	struct ntm_node_rec rec;
	int ret;

	if (q->kind == NTM_DIR_BY_NAME) {
		if (!strchr(q->name.s, '.'))
			return -ENOENT; /* a single label: NOT_FOUND, as without a policy */
		if (dc_qualify_name(dc->cfg.zone, q->name.s, out) == 0)
			return 0;
		memcpy(out, q->name.s, (size_t)q->name.len + 1); /* another zone's */
		return 0;
	}
	ret = dc_find_by_addr(dc, q->family, q->addr, &rec);
	if (ret < 0)
		return ret;
	snprintf(out, NTM_NAME_MAX + 1, "%s", rec.name);
	return 0;
}

bool dc_policy_refuses(struct dc *dc, struct dc_node *n, const struct ntm_ctl_direction_req *q)
{
	char to[NTM_NAME_MAX + 1];
	struct ntm_ctl m = { .type = NTM_CTL_DIRECTION_NAK };

	/* (by address, the registry is asked here and again in dc_route.c:
	 * only with a policy, and for reverse lookups) */
	if (!dc->policy || target_name(dc, q, to) < 0)
		return false;   /* no policy; an unknown address is NOT_FOUND as before */
	if (ntm_policy_allows(dc->policy, n->rec.name, to, NULL))
		return false;
	dc->stats.policy_denied++;
	dc->stats.direction_naks++;
	log_info("policy: %s may not initiate to %s", n->rec.name, to);
	m.u.nak.req_id = q->req_id;
	m.u.nak.status = NTM_NAK_FORBIDDEN;
	dc_send_ctl(dc, n, &m);
	return true;
}
