/* tund.c - ntm-tund, the node daemon: options, configuration, identity,
 * TUN device, UDP socket, control socket, privileges and the event loop.
 * The DC session lives in dclink.c, the control socket in ctl.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "privs.h"
#include "tun.h"
#include "tund.h"
#include "util.h"

#define UDP_BATCH 64

static int load_identity(struct tund *t)
{
	char msg[512], b64[NTM_KEY_B64_LEN + 1];
	bool created;
	int ret = ntm_daemon_load_identity(t->cfg.key_file, &t->id, &created, msg, sizeof(msg));

	if (ret < 0) {
		log_err("%s", msg);
		return ret;
	}
	ntm_key_to_base64(b64, t->id.pub);
	if (created)
		log_notice("created node key %s; public key %s (enroll it on the DC with "
			   "'ntm-dcctl node add %s %s')", t->cfg.key_file, b64, t->cfg.name, b64);
	else
		log_info("node public key %s", b64);
	static const struct ntm_hsgate_conf gate = TUND_HSGATE_CONF;
	ret = ntm_hsgate_init(&t->gate, &gate, t->id.pub, ntm_loop_now_ms());
	if (ret < 0)
		log_err_errno(-ret, "handshake admission");
	return ret;
}

void tund_on_udp(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tund *t = arg;
	struct ntm_udp_meta m;
	int fd = io->fd;
	(void)events;

	for (int i = 0; i < UDP_BATCH; i++) {
		/* A datagram on a birthday-search socket may end the search and
		 * free io: such sockets take one datagram per wakeup (epoll is
		 * level-triggered) and io is not touched after the dispatch. */
		if (i > 0 && fd != t->udp_fd)
			return;
		ssize_t n = ntm_udp_recv(fd, t->buf, sizeof(t->buf), &m);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			if (n == -EMSGSIZE) {
				t->stats.rx_packets++;
				t->stats.drop_malformed++;
				continue;
			}
			return;
		}
		t->stats.rx_packets++;
		if (dclink_is_dc(t, (struct sockaddr *)&m.src))
			dclink_on_datagram(t, t->buf, (size_t)n);
		else
			data_on_udp(t, t->buf, (size_t)n, &m);
	}
}

static void on_tun(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tund *t = arg;
	(void)events;

	/* read with headroom for the DATA header: sealed in place */
	uint8_t *pkt = t->buf + NTM_DATA_HDR_LEN;
	size_t cap = sizeof(t->buf) - NTM_DATA_HDR_LEN - NTM_TAG_LEN;
	for (int i = 0; i < UDP_BATCH; i++) {
		ssize_t n = ntm_tun_read(io->fd, pkt, cap);
		if (n == -EMSGSIZE) {
			t->stats.tun_rx_packets++;
			continue;
		}
		if (n <= 0)
			return;
		data_on_tun(t, pkt, (size_t)n);
	}
}

static int open_udp(struct tund *t)
{
	t->udp_fd = ntm_udp_open(AF_INET6, NULL, t->cfg.port, false);
	if (t->udp_fd == -EAFNOSUPPORT)
		t->udp_fd = ntm_udp_open(AF_INET, NULL, t->cfg.port, false);
	if (t->udp_fd < 0) {
		log_err_errno(-t->udp_fd, "UDP port %u", t->cfg.port);
		return t->udp_fd;
	}
	struct sockaddr_storage probe;
	socklen_t plen = sizeof(probe);
	getsockname(t->udp_fd, (struct sockaddr *)&probe, &plen);
	t->udp_family = probe.ss_family;
	ntm_io_init(&t->udp_io, t->loop, t->udp_fd, tund_on_udp, t);
	return ntm_io_add(&t->udp_io, EPOLLIN);
}

/* Our own addresses and routes: dclink.c hears of every change. */
static int open_underlay(struct tund *t)
{
	int ret = underlay_watch_open(&t->ulw, t->loop, t->ifname, t->cfg.dc_endpoint,
				      dclink_on_underlay, t);

	if (ret < 0)
		log_err_errno(-ret, "rtnetlink socket (to watch this host's addresses)");
	return ret;
}

static int open_tun(struct tund *t)
{
	int ret = ntm_tun_open(t->cfg.ifname, t->ifname, &t->tun_fd);

	if (ret < 0) {
		log_err_errno(-ret, "TUN device %s", t->cfg.ifname);
		return ret;
	}
	ntm_io_init(&t->tun_io, t->loop, t->tun_fd, on_tun, t);
	return ntm_io_add(&t->tun_io, EPOLLIN);
}

static void log_stats(void *arg)
{
	const struct tund *t = arg;
#define X(name) log_notice("%-22s %llu", #name, (unsigned long long)t->stats.name);
	TUND_STATS(X)
#undef X
}

static int run(struct tund *t)
{
	struct ntm_daemon_signals sig;
	struct ntm_privs_target who;
	int ret;

	t->udp_fd = t->tun_fd = t->ulw.fd = -1;
	ret = ntm_loop_new(&t->loop);
	if (ret < 0)
		return ret;
	ret = ntm_privs_target(t->cfg.user, sizeof(t->cfg.user), &who);
	if (ret == 1)
		log_info("no user 'ntm'; running as 'nobody' after setup");
	if (ret < 0) {
		log_err("User=%s: %s", t->cfg.user, ret == -ENOENT ? "no such user" : strerror(-ret));
		goto out;
	}
	if ((ret = load_identity(t)) < 0 || (ret = open_tun(t)) < 0 || (ret = open_udp(t)) < 0 ||
	    (ret = open_underlay(t)) < 0)
		goto out;
	ret = ctl_open(t, who.uid, who.gid);
	if (ret < 0) {
		log_err_errno(-ret, "control socket %s", t->cfg.control_socket);
		goto out;
	}
	if (who.drop) {
		ret = ntm_privs_drop(t->cfg.user, NTM_TUND_KEEP_CAPS);
		if (ret < 0) {
			log_err_errno(-ret, "cannot drop privileges to user %s", t->cfg.user);
			goto out;
		}
		log_info("running as user %s with CAP_NET_ADMIN only", t->cfg.user);
	}
	ret = ntm_daemon_signals_add(&sig, t->loop, log_stats, t);
	if (ret < 0) {
		log_err_errno(-ret, "signals");
		goto out;
	}
	/* set-up is over: from here on, only what ntm-tund(8) SANDBOX lists */
	if ((ret = ntm_sandbox_enter(NTM_SANDBOX_TUND, t->cfg.seccomp)) < 0)
		goto out;
	peers_init(t);
	ntm_timer_init(&t->peer_timer, t->loop, peers_sweep, t);
	ntm_timer_arm(&t->peer_timer, PEER_SWEEP_MS, PEER_SWEEP_MS);
	ret = dclink_start(t);
	if (ret < 0)
		goto stop;
	ret = ntm_loop_run(t->loop);
	if (sig.stopped_by)
		log_notice("signal %d: stopping", sig.stopped_by);
	log_stats(t);
	dclink_stop(t);
stop:
	pings_free(t);
	nssfile_remove(t);
	ctl_close(t);
	peers_free(t);
out:
	ctl_close(t);
	underlay_watch_close(&t->ulw);
	if (t->udp_fd >= 0)
		close(t->udp_fd);
	ntm_tun_close(&t->tun_fd);
	ntm_loop_free(t->loop);
	ntm_identity_clear(&t->id);
	return ret;
}

int main(int argc, char **argv)
{
	struct ntm_daemon_opts o;
	char msg[1024];
	int ret = ntm_daemon_start(argc, argv, "ntm-tund", NTM_TUND_CONF, &o);

	if (ret >= 0)
		return ret;
	static struct tund t;
	if (tund_config_load(o.conf, &t.cfg, msg, sizeof(msg)) < 0) {
		log_err("%s", msg);
		return 1;
	}
	if (o.check_only) {
		printf("%s: ok\n", o.conf);
		return 0;
	}
	return run(&t) < 0 ? 1 : 0;
}
