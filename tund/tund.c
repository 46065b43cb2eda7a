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
#include "notify.h"
#include "privs.h"
#include "tun.h"
#include "tund.h"
#include "watch.h"
#include "util.h"
#include "worker.h"

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

/* One datagram, or each of a UDP_GRO train (m->gro_size), to its handler. */
void tund_on_datagrams(struct tund *t, uint8_t *buf, size_t n, const struct ntm_udp_meta *m)
{
	size_t seg = m->gro_size ? m->gro_size : n;
	bool dc = dclink_is_dc(t, (const struct sockaddr *)&m->src);

	if (m->gro_size)
		t->stats.rx_gro_trains++;
	for (size_t off = 0; off < n; off += seg) {
		size_t len = n - off < seg ? n - off : seg;
		t->stats.rx_packets++;
		if (dc)
			dclink_on_datagram(t, buf + off, len);
		else
			data_on_udp(t, buf + off, len, m);
	}
}

/* The main socket with Offload = auto but UDP_GRO refused (a kernel before
 * 5.0): recvmmsg batches of NTM_UDP_BATCH into
 * the data path's own buffers instead of one recvmsg per datagram. */
static void on_udp_batched(struct tund *t, int fd)
{
	struct ntm_udp_rxbatch *b = &t->dp.rx;

	for (int got = 0; got < UDP_BATCH;) {
		ssize_t n = ntm_udp_recv_batch(fd, b, NTM_UDP_BATCH);
		if (n < 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			if (b->trunc[i]) {
				t->stats.rx_packets++;
				t->stats.drop_malformed++;
				continue;
			}
			tund_on_datagrams(t, b->buf[i], b->len[i], &b->meta[i]);
		}
		got += (int)n;
		if (n < NTM_UDP_BATCH)
			return; /* drained */
	}
}

void tund_on_udp(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tund *t = arg;
	struct ntm_udp_meta m;
	int fd = io->fd;

	if ((events & EPOLLERR) && fd == t->udp_fd)
		tund_icmp_drain(t, fd);

	if (fd == t->udp_fd && t->cfg.offload && !t->dp.udp_gro) {
		on_udp_batched(t, fd);
		data_rx_flush(t);
		return;
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		/* A datagram on a birthday-search socket may end the search and
		 * free io: such sockets take one datagram per wakeup (epoll is
		 * level-triggered) and io is not touched after the dispatch. */
		if (i > 0 && fd != t->udp_fd)
			break;
		ssize_t n = ntm_udp_recv(fd, t->buf, sizeof(t->buf), &m);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			if (n == -EMSGSIZE) {
				t->stats.rx_packets++;
				t->stats.drop_malformed++;
				continue;
			}
			break;
		}
		tund_on_datagrams(t, t->buf, (size_t)n, &m);
	}
	/* the batch is over: coalesced packets go to ntm0 before we sleep */
	data_rx_flush(t);
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

/* Offload = auto: the virtio_net_hdr lands just before the packet, which
 * lands where the DATA header will be written in front of it. A super-packet
 * (at most NTM_TUN_MAX_READ) always fits: the buffer never comes back full. */
static void on_tun_vnet(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tund *t = arg;
	uint8_t *hdr = t->dp.tunbuf + NTM_DATA_HDR_LEN - NTM_VNET_HDR_LEN;
	size_t cap = sizeof(t->dp.tunbuf) - (NTM_DATA_HDR_LEN - NTM_VNET_HDR_LEN) - NTM_TAG_LEN;
	(void)events;

	for (int i = 0; i < UDP_BATCH; i++) {
		ssize_t n = read(io->fd, hdr, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= NTM_VNET_HDR_LEN)
			return;
		data_on_tun_vnet(t, hdr + NTM_VNET_HDR_LEN, (size_t)n - NTM_VNET_HDR_LEN);
	}
}

static int open_udp(struct tund *t)
{
	/* with workers, the first socket of the port is open already */
	if (t->udp_fd < 0)
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
	if (t->cfg.offload) {
		/* UDP_SEGMENT needs no set-up: the first refusal turns it off */
		t->dp.udp_gso = true;
		t->dp.udp_gro = ntm_udp_set_gro(t->udp_fd) == 0;
		if (!t->dp.udp_gro)
			log_info("UDP_GRO refused: receiving in recvmmsg batches of %d", NTM_UDP_BATCH);
	}
	ntm_udp_rxbatch_init(&t->dp.rx, &t->dp.rxbufs[0][0], sizeof(t->dp.rxbufs[0]));
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

static const char *offload_text(unsigned f, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s%s", f & TUN_F_CSUM ? " csum" : "", f & TUN_F_TSO4 ? " tso4" : "",
		 f & TUN_F_TSO6 ? " tso6" : "", f & TUN_F_USO4 ? " uso" : "");
	return buf[0] ? buf + 1 : "none";
}

/* Offload = auto: what the kernel grants of TUN offload (per feature) and
 * of UDP GSO/GRO; each one missing only costs speed. */
static int open_tun_offload(struct tund *t)
{
	char fl[64];
	int ret = ntm_tun_open_offload(t->cfg.ifname, t->ifname, &t->tun_fd, &t->dp.tun_offloads);

	if (ret < 0) {
		log_info("TUN device %s: no virtio_net_hdr (%s): offload off", t->cfg.ifname,
			 strerror(-ret));
		return ret;
	}
	t->dp.vnet = true;
	data_offload_init(t);
	log_info("%s: offload: %s; UDP GSO/GRO as the socket allows", t->ifname,
		 offload_text(t->dp.tun_offloads, fl, sizeof(fl)));
	return 0;
}

static int open_tun(struct tund *t)
{
	int ret = -1;

	if (t->tun_fd >= 0) /* queue 0 of a multi-queue device (worker.c) */
		ret = 0;
	else if (!t->cfg.offload || open_tun_offload(t) < 0)
		ret = ntm_tun_open(t->cfg.ifname, t->ifname, &t->tun_fd);
	else
		ret = 0;
	if (ret < 0) {
		log_err_errno(-ret, "TUN device %s", t->cfg.ifname);
		return ret;
	}
	ntm_io_init(&t->tun_io, t->loop, t->tun_fd, t->dp.vnet ? on_tun_vnet : on_tun, t);
	return ntm_io_add(&t->tun_io, EPOLLIN);
}

static void log_stats(void *arg)
{
	const struct tund *t = arg;
#define X(name) log_notice("%-22s %llu", #name, (unsigned long long)t->stats.name);
	TUND_STATS(X)
#undef X
}

/* The sweep, with the workers' view of the peers folded in before and
 * brought up to date after. */
static void sweep(struct ntm_timer *tm, void *arg)
{
	struct tund *t = arg;

	workers_sync(t);
	peers_sweep(tm, arg);
	workers_changed(t);
}

/* [DC] Endpoint as a host name: resolved now, before the sandbox (so the
 * name service's modules are loaded), within the resolver's bounded time;
 * a name that does not resolve stops the start with a message. */
static int resolve_dc(struct tund *t)
{
	unsigned ok = 0, names = 0;
	int ret = 0;

	setenv("RES_OPTIONS", "timeout:1 attempts:2", 0);
	for (unsigned i = 0; i < t->cfg.ndcs; i++) {
		if (!t->cfg.dcs[i].host[0]) {
			ok++;
			continue;
		}
		names++;
		tund_config_use_dc(&t->cfg, i);
		t->dc.pick.cur = i;  /* where dclink_resolve keeps the addresses */
		ret = dclink_resolve(t);
		if (ret < 0)
			log_err("[DC] Endpoint: %s does not resolve to an address; check the name, "
				"/etc/hosts and the name servers", t->cfg.dc_host);
		else
			ok++;
	}
	t->dc.pick.cur = 0;
	tund_config_use_dc(&t->cfg, 0);
	/* one instance left is enough: the others are tried again later */
	return !names || ok ? 0 : ret;
}

static int run(struct tund *t)
{
	struct ntm_daemon_signals sig;
	struct ntm_privs_target who;
	int ret;

	t->udp_fd = t->tun_fd = t->ulw.fd = -1;
	ret = ntm_loop_new(&t->loop);
	if (ret == 0)
		t->started_ms = ntm_loop_now_ms();
	if (ret < 0)
		return ret;
	ret = ntm_privs_target(t->cfg.user, sizeof(t->cfg.user), &who);
	if (ret == 1)
		log_info("no user 'ntm'; running as 'nobody' after setup");
	if (ret < 0) {
		log_err("User=%s: %s", t->cfg.user, ret == -ENOENT ? "no such user" : strerror(-ret));
		goto out;
	}
	t->nworkers = workers_count(t->cfg.workers);
	if ((ret = load_identity(t)) < 0 || (ret = resolve_dc(t)) < 0 ||
	    (ret = workers_open(t)) < 0 || (ret = open_tun(t)) < 0 || (ret = open_udp(t)) < 0 ||
	    (ret = open_underlay(t)) < 0)
		goto out;
	ret = ctl_open(t, who.uid, who.gid);
	if (ret < 0) {
		log_err_errno(-ret, "control socket %s", t->cfg.control_socket);
		goto out;
	}
	/* as root still: the bus connection keeps the credentials it opened with */
	resolvedlink_start(t);
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
	namemap_open(t);
	/* the threads exist before the sandbox, whose filter covers them */
	if ((ret = workers_start(t)) < 0)
		goto out;
	/* set-up is over: from here on, only what ntm-tund(8) SANDBOX lists */
	if ((ret = ntm_sandbox_enter(NTM_SANDBOX_TUND, t->cfg.seccomp)) < 0)
		goto out;
	peers_init(t);
	ntm_timer_init(&t->peer_timer, t->loop, sweep, t);
	ntm_timer_arm(&t->peer_timer, PEER_SWEEP_MS, PEER_SWEEP_MS);
	ret = dclink_start(t);
	if (ret < 0)
		goto stop;
	ntm_notify_status("%s up; contacting the DC", t->ifname);
	ret = ntm_loop_run(t->loop);
	if (sig.stopped_by) {
		log_notice("signal %d: stopping", sig.stopped_by);
		ntm_notify_stopping("stopping (signal %d)", sig.stopped_by);
	}
	log_stats(t);
	dclink_stop(t);
stop:
	pings_free(t);
	netcheck_free(t);
	namemap_close(t);
	ctl_close(t);          /* ends every watch too (their cancel functions) */
	watch_free_all(t);
	peers_free(t);
out:
	workers_stop(t);
	resolvedlink_stop(t);
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
	/* the access policy: read once, at start (ntm-tund.conf(5) [Policy]) */
	struct ntm_conf_error err = { 0 };
	if (t.cfg.policy_file[0] && ntm_policy_parse_file(t.cfg.policy_file, &t.policy, &err) < 0) {
		ntm_conf_error_format(&err, msg, sizeof(msg));
		log_err("%s", msg);
		return 1;
	}
	if (o.check_only) {
		ntm_policy_free(t.policy);
		printf("%s: ok\n", o.conf);
		return 0;
	}
	if (t.policy)
		log_info("policy %s: %zu group(s), %zu rule(s)", t.cfg.policy_file,
			 ntm_policy_ngroups(t.policy), ntm_policy_nrules(t.policy));
	ret = run(&t);
	ntm_policy_free(t.policy);
	return ret < 0 ? 1 : 0;
}
