/* relayd.c - ntm-relayd, a standalone relay: options, configuration,
 * identity, sockets, control socket and the event loop. The DC's session
 * and the capsules are handled in relayd_proto.c, forwarding in relay.c. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "relayd.h"
#include "util.h"

#define RELAYD_SWEEP_MS 1000

static int load_identity(struct relayd *rd)
{
	char msg[512], b64[NTM_KEY_B64_LEN + 1];
	bool created;
	int ret = ntm_daemon_load_identity(rd->cfg.key_file, &rd->id, &created, msg, sizeof(msg));

	if (ret < 0) {
		log_err("%s", msg);
		return ret;
	}
	ntm_key_to_base64(b64, rd->id.pub);
	if (created)
		log_notice("created relay key %s; public key %s", rd->cfg.key_file, b64);
	else
		log_info("relay public key %s", b64);
	static const struct ntm_hsgate_conf gate = RELAYD_HSGATE_CONF;
	ret = ntm_hsgate_init(&rd->gate, &gate, rd->id.pub, ntm_loop_now_ms());
	if (ret < 0)
		log_err_errno(-ret, "handshake admission");
	return ret;
}

/* Offload = auto: the sockets coalesce what arrives back to back from one
 * source (UDP_GRO); a kernel that refuses it just hands over datagrams. */
static void set_gro(struct relayd *rd)
{
	int ret = ntm_udp_set_gro(rd->fd4);

	if (ret == 0 && rd->fd6 >= 0)
		ret = ntm_udp_set_gro(rd->fd6);
	if (ret < 0)
		log_info("UDP_GRO refused (%s): receiving datagram by datagram", strerror(-ret));
}

static int open_sockets(struct relayd *rd)
{
	const struct relayd_config *c = &rd->cfg;
	const void *a4 = c->has_listen4 ? (const void *)&c->listen4.u.v4 : NULL;
	const void *a6 = c->has_listen6 ? (const void *)&c->listen6.u.v6 : NULL;

	rd->fd4 = ntm_udp_open(AF_INET, a4, c->port, false);
	if (rd->fd4 < 0) {
		log_err_errno(-rd->fd4, "UDP port %u (IPv4)", c->port);
		return rd->fd4;
	}
	rd->fd6 = ntm_udp_open(AF_INET6, a6, c->port, true);
	if (rd->fd6 < 0) {
		if (rd->fd6 != -EAFNOSUPPORT && c->has_listen6) {
			log_err_errno(-rd->fd6, "UDP port %u (IPv6)", c->port);
			return rd->fd6;
		}
		log_warn("no IPv6 (%s); relaying IPv4 only", strerror(-rd->fd6));
	}
	if (c->offload)
		set_gro(rd);
	ntm_io_init(&rd->io4, rd->loop, rd->fd4, relayd_on_readable, rd);
	if (ntm_io_add(&rd->io4, EPOLLIN) < 0)
		return -EIO;
	if (rd->fd6 >= 0) {
		ntm_io_init(&rd->io6, rd->loop, rd->fd6, relayd_on_readable, rd);
		if (ntm_io_add(&rd->io6, EPOLLIN) < 0)
			return -EIO;
	}
	log_notice("relaying on UDP port %u, at most %u allocations", c->port,
		   (unsigned)c->params.max_allocs);
	return 0;
}

/* ---- control socket: STATS ---- */

struct relayd_all_stats {
	struct relayd_stats d;
	struct relay_stats r;
};

#define XD(name, text) { #name, offsetof(struct relayd_all_stats, d.name) },
#define XR(name, text) { "relay_" #name, offsetof(struct relayd_all_stats, r.name) },
static const struct ntm_counter_def counters[] = { RELAYD_STATS(XD) RELAY_STATS(XR) };
_Static_assert(NTM_ARRAY_SIZE(counters) <= NTM_LCTL_MAX_COUNTERS,
	       "a STATS reply carries at most NTM_LCTL_MAX_COUNTERS counters: raise it");
#undef XD
#undef XR

static int handle_ctl(void *arg, struct ntm_ctlconn *c, const struct ntm_lctl_req *req,
		      uint8_t *buf, size_t cap)
{
	struct relayd *rd = arg;
	struct relayd_all_stats all = { .d = rd->stats, .r = rd->core.stats };
	(void)c;

	if (req->hdr.type == NTM_LCTL_STATS)
		return ntm_daemon_stats_reply(buf, cap, req->hdr.req_id, &all, counters,
					      NTM_ARRAY_SIZE(counters), NULL, 0);
	return ntm_lctl_reply_empty(buf, cap, req->hdr.type, req->hdr.req_id, NTM_LCTL_BADREQ);
}

/* ---- privileges ---- */

static void log_stats(void *arg)
{
	relayd_log_stats(arg);
}

static int setup(struct relayd *rd)
{
	struct ntm_privs_target who;
	int ret = ntm_privs_target(rd->cfg.user, sizeof(rd->cfg.user), &who);

	if (ret == 1)
		log_info("no user 'ntm'; running as 'nobody' after setup");
	if (ret < 0) {
		log_err("User=%s: %s", rd->cfg.user, ret == -ENOENT ? "no such user" : strerror(-ret));
		return ret;
	}
	if ((ret = load_identity(rd)) < 0 || (ret = open_sockets(rd)) < 0)
		return ret;
	ret = ntm_ctlsrv_open(&rd->ctl, rd->loop, rd->cfg.control_socket, who.uid, who.gid,
			      handle_ctl, rd);
	if (ret < 0) {
		log_err_errno(-ret, "control socket %s", rd->cfg.control_socket);
		return ret;
	}
	if (who.drop) {
		ret = ntm_privs_drop(rd->cfg.user, 0);
		if (ret < 0) {
			log_err_errno(-ret, "cannot drop privileges to user %s", rd->cfg.user);
			return ret;
		}
		log_info("running as user %s without capabilities", rd->cfg.user);
	}
	return 0;
}

static int run(struct relayd *rd)
{
	struct ntm_daemon_signals sig;
	int ret;

	relay_init(&rd->core, &rd->cfg.params, relay_udp_send, NULL);
	relay_set_batch(&rd->core, relay_udp_sendv);
	if (rd->cfg.offload)
		relay_set_gso(&rd->core, relay_udp_sendtrain);
	ntm_udp_rxbatch_init(&rd->rx, &rd->bufs[0][0], sizeof(rd->bufs[0]));
	rd->fd4 = rd->fd6 = rd->dc_fd = -1;
	ret = ntm_loop_new(&rd->loop);
	if (ret < 0)
		return ret;
	if ((ret = setup(rd)) < 0)
		goto out;
	ret = ntm_daemon_signals_add(&sig, rd->loop, log_stats, rd);
	if (ret < 0) {
		log_err_errno(-ret, "signals");
		goto out;
	}
	/* set-up is over: from here on, only what ntm-relayd(8) SANDBOX lists */
	if ((ret = ntm_sandbox_enter(NTM_SANDBOX_RELAYD, rd->cfg.seccomp)) < 0)
		goto out;
	ntm_timer_init(&rd->sweep, rd->loop, relayd_sweep, rd);
	ntm_timer_arm(&rd->sweep, RELAYD_SWEEP_MS, RELAYD_SWEEP_MS);
	ntm_notify_ready("relaying on UDP port %u", rd->cfg.port);
	ret = ntm_loop_run(rd->loop);
	if (sig.stopped_by) {
		log_notice("signal %d: stopping", sig.stopped_by);
		ntm_notify_stopping("stopping (signal %d)", sig.stopped_by);
	}
	relayd_log_stats(rd);
out:
	ntm_ctlsrv_close(rd->ctl);
	relayd_clear_sessions(rd);
	relay_free_all(&rd->core);
	if (rd->fd4 >= 0)
		close(rd->fd4);
	if (rd->fd6 >= 0)
		close(rd->fd6);
	ntm_loop_free(rd->loop);
	ntm_identity_clear(&rd->id);
	return ret;
}

int main(int argc, char **argv)
{
	struct ntm_daemon_opts o;
	char msg[1024];
	int ret = ntm_daemon_start(argc, argv, "ntm-relayd", NTM_RELAYD_CONF, &o);

	if (ret >= 0)
		return ret;
	static struct relayd rd; /* large: holds the receive buffer */
	if (relayd_config_load(o.conf, &rd.cfg, msg, sizeof(msg)) < 0) {
		log_err("%s", msg);
		return 1;
	}
	if (o.check_only) {
		printf("%s: ok\n", o.conf);
		return 0;
	}
	return run(&rd) < 0 ? 1 : 0;
}
