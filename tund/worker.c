/* worker.c - ntm-tund's packet threads (worker.h): queues and sockets,
 * the threads' fast paths, the hand-off ring to the main thread, and the
 * main thread's side (the fast peer table built from its peers, what
 * workers recorded folded back into peers and counters).
 *
 * A worker's TUN read: the inner destination picks a table entry with a
 * session to seal with (else the packet goes to the main thread); a GSO
 * super-packet is cut (lib/gso.c) and its segments sealed into one train.
 * A worker's datagram: a DATA message whose receiver index names a session
 * in the table, from the endpoint the table has for that peer, is opened,
 * replay-checked and its inner source checked, then written to the
 * worker's queue (coalesced, lib/gro.c, with offload); anything else goes
 * to the main thread unopened, so it is handled exactly as with one
 * worker. No lock and no allocation per packet. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fastpeer.h"
#include "gso.h"
#include "log.h"
#include "ring.h"
#include "tun.h"
#include "tund.h"
#include "util.h"
#include "worker.h"

/* Counters a worker keeps (its own, folded into t->stats by the main
 * thread as deltas). */
#define WORKER_STATS(X) \
	X(worker_rx) X(worker_tun_rx) X(worker_to_main) X(worker_ring_full) \
	X(rx_packets) X(tx_packets) X(tun_rx_packets) X(tun_tx_packets) X(rx_data_bytes) \
	X(tx_data_bytes) X(drop_malformed) X(drop_auth) X(drop_replay) X(drop_inner_src) X(policy_drops) \
	X(drop_bad_inner) X(tx_trains) X(tx_send_failed) X(tx_seal_failed) X(tx_gso_fallback) \
	X(tun_write_failed) X(tun_gso_packets) X(tun_gso_segments) X(tun_gso_bad) \
	X(rx_gro_trains) X(tun_gro_merged) X(tun_gro_packets) X(rx_lane_data)

enum {
#define X(name) WC_##name,
	WORKER_STATS(X)
#undef X
	WC_N
};

static const size_t wc_off[WC_N] = {
#define X(name) offsetof(struct tund_stats, name),
	WORKER_STATS(X)
#undef X
};

/* What a worker hands the main thread. */
enum { W_TUN = 1, W_UDP = 2, W_CTL = 3 };
#define W_HEADROOM 64                 /* >= NTM_DATA_HDR_LEN, NTM_VNET_HDR_LEN before data */
#define W_RING_SLOTS 32
struct w_slot {
	uint8_t kind;
	uint32_t len;
	uint32_t idx;                     /* W_CTL: the receiver index it came on */
	struct ntm_udp_meta meta;         /* W_UDP */
	uint8_t data[];                   /* W_HEADROOM, then len bytes, then room for a tag */
};
#define W_SLOT_BYTES (sizeof(struct w_slot) + W_HEADROOM + NTM_TUN_MAX_READ + 64)

struct worker {
	struct tund *t;                   /* read only: cfg, nworkers, dp.vnet */
	struct tund_workers *ws;
	unsigned id;                      /* 1..nworkers-1: the session thread index */
	pthread_t th;
	bool started;
	int tun_fd, udp_fd, epfd, stop_fd, wake_fd;
	_Atomic bool stop;
	struct ntm_io wake_io;            /* the main thread's side of wake_fd */
	struct ntm_ring ring;
	bool udp_gso;                     /* UDP_SEGMENT (off after an EIO) */
	bool vnet;
	const struct fp_table *tab;       /* the table of the batch in hand */
	struct ntm_gro gro;
	_Atomic uint64_t c[WC_N];
	uint64_t folded[WC_N];            /* main thread: what it already added */
	uint8_t tunbuf[TUND_TUNBUF];
	uint8_t train[NTM_MAX_DATAGRAM + 64];
	uint8_t rxbuf[NTM_TUN_MAX_READ + 64];
};

struct tund_workers {
	unsigned n;                       /* threads in all, the main one included */
	struct fp_domain fp;
	struct worker *w[FP_MAX_THREADS]; /* [1..n-1] */
};

static void wc(struct worker *w, unsigned i, uint64_t n)
{
	atomic_fetch_add_explicit(&w->c[i], n, memory_order_relaxed);
}

#define WC(w, name, n) wc((w), WC_##name, (n))

static void act_max(_Atomic uint64_t *a, uint64_t v)
{
	if (atomic_load_explicit(a, memory_order_relaxed) < v)
		atomic_store_explicit(a, v, memory_order_relaxed);
}

unsigned workers_count(unsigned configured)
{
	if (configured)
		return configured;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > TUND_WORKERS_AUTO_MAX ? TUND_WORKERS_AUTO_MAX : (unsigned)n;
}

/* ---- worker threads ---- */

/* Wake the main thread (an eventfd counter; a full counter still wakes). */
static void wake_main(struct worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->wake_fd, &one, sizeof(one));
	(void)r;
}

/* A copy of len bytes at p (pre bytes before it come too) for the main thread. */
static void to_main(struct worker *w, uint8_t kind, const uint8_t *p, size_t pre, size_t len,
		    uint32_t idx, const struct ntm_udp_meta *m)
{
	struct w_slot *s = ntm_ring_reserve(&w->ring);

	if (!s) {
		WC(w, worker_ring_full, 1);
		return;
	}
	s->kind = kind;
	s->len = (uint32_t)len;
	s->idx = idx;
	if (m)
		s->meta = *m;
	memcpy(s->data + W_HEADROOM - pre, p - pre, pre + len);
	ntm_ring_commit(&w->ring);
	WC(w, worker_to_main, 1);
	wake_main(w);
}

static int ip_dst(const uint8_t *pkt, size_t len, const uint8_t **dst)
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		*dst = pkt + 16;
		return AF_INET;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		*dst = pkt + 24;
		return AF_INET6;
	}
	return -1;
}

static void sent(struct worker *w, const struct fp_entry *e, size_t n, size_t bytes)
{
	WC(w, tx_packets, n);
	WC(w, tx_data_bytes, bytes);
	atomic_fetch_add_explicit(&e->act->tx_bytes, bytes, memory_order_relaxed);
	act_max(&e->act->last_tx_ms, ntm_loop_tick_ms());
}

/* One sealed datagram at buf (len bytes) to e. */
static void send_one(struct worker *w, const struct fp_entry *e, const uint8_t *buf, size_t len,
		     size_t ptlen)
{
	if (ntm_udp_send(w->udp_fd, buf, len, (const struct sockaddr *)&e->ep, e->eplen, NULL) < 0) {
		WC(w, tx_send_failed, 1);
		return;
	}
	sent(w, e, 1, ptlen);
}

/* A train of k datagrams of stride bytes (the last maybe shorter). */
static void send_train(struct worker *w, const struct fp_entry *e, size_t used, size_t stride,
		       size_t k, size_t bytes)
{
	const struct sockaddr *to = (const struct sockaddr *)&e->ep;
	bool gso = w->udp_gso && !e->no_gso;
	ssize_t r = ntm_udp_send_train(w->udp_fd, w->train, used, stride, to, e->eplen, gso);

	if (gso && (r == -EIO || r == -EINVAL)) {
		if (r == -EIO)
			w->udp_gso = false;
		WC(w, tx_gso_fallback, 1);
		r = ntm_udp_send_train(w->udp_fd, w->train, used, stride, to, e->eplen, false);
	}
	if (r <= 0) {
		WC(w, tx_send_failed, k);
		return;
	}
	if (k > 1)
		WC(w, tx_trains, 1);
	WC(w, tx_send_failed, k - (size_t)r);
	sent(w, e, (size_t)r, bytes);
}

/* The segments of g sealed back to back and sent in trains (data.c's
 * send_segments, with the shared session). */
static void send_segments(struct worker *w, const struct fp_entry *e, const struct ntm_gso *g)
{
	size_t stride = ntm_gso_seg_len(g, 0) + NTM_DATA_OVERHEAD;
	size_t per = NTM_UDP_TRAIN_BYTES / stride;

	if (per > NTM_UDP_TRAIN_MAX)
		per = NTM_UDP_TRAIN_MAX;
	if (per == 0)
		per = 1;
	for (size_t i = 0; i < g->nseg;) {
		size_t used = 0, k = 0, bytes = 0;
		int len = 0;
		for (; k < per && i + k < g->nseg; k++) {
			uint8_t *b = w->train + used;
			size_t pl = ntm_gso_seg(g, i + k, b + NTM_DATA_HDR_LEN);
			len = ntm_session_mt_seal(e->tx, w->id, b, pl);
			if (len < 0)
				break;
			used += (size_t)len;
			bytes += pl;
		}
		if (k)
			send_train(w, e, used, stride, k, bytes);
		if (len < 0) {
			WC(w, tx_seal_failed, g->nseg - i - k);
			return;
		}
		i += k;
	}
}

/* A packet read from the worker's queue, at pkt with NTM_DATA_HDR_LEN bytes
 * before it (the virtio_net_hdr among them when vnet). */
static void on_tun_packet(struct worker *w, uint8_t *pkt, size_t len)
{
	size_t pre = w->vnet ? NTM_VNET_HDR_LEN : 0;
	const struct fp_entry *e = NULL;
	const uint8_t *dst;
	int af = ip_dst(pkt, len, &dst);

	if (w->tab && af > 0)
		e = fp_by_vip(w->tab, af, dst);
	if (!e || !e->tx) {
		to_main(w, W_TUN, pkt, pre, len, 0, NULL);
		return;
	}
	WC(w, worker_tun_rx, 1);
	if (w->vnet) {
		struct ntm_vnet_hdr h;
		ntm_vnet_hdr_get(&h, pkt - NTM_VNET_HDR_LEN);
		if (h.gso_type != NTM_VNET_GSO_NONE) {
			struct ntm_gso g;
			WC(w, tun_gso_packets, 1);
			if (ntm_gso_init(&g, &h, pkt, len, (size_t)w->t->cfg.mtu) < 0) {
				WC(w, tun_rx_packets, 1);
				WC(w, tun_gso_bad, 1);
				return;
			}
			WC(w, tun_rx_packets, g.nseg);
			WC(w, tun_gso_segments, g.nseg);
			send_segments(w, e, &g);
			return;
		}
		if (ntm_vnet_csum_complete(&h, pkt, len) < 0) {
			WC(w, tun_rx_packets, 1);
			WC(w, tun_gso_bad, 1);
			return;
		}
	}
	WC(w, tun_rx_packets, 1);
	int n = ntm_session_mt_seal(e->tx, w->id, pkt - NTM_DATA_HDR_LEN, len);
	if (n < 0) {
		WC(w, tx_seal_failed, 1);
		return;
	}
	send_one(w, e, pkt - NTM_DATA_HDR_LEN, (size_t)n, len);
}

static void on_tun(struct worker *w)
{
	size_t pre = w->vnet ? NTM_VNET_HDR_LEN : 0;
	uint8_t *hdr = w->tunbuf + NTM_DATA_HDR_LEN - pre;
	size_t cap = sizeof(w->tunbuf) - (NTM_DATA_HDR_LEN - pre) - NTM_TAG_LEN;

	for (int i = 0; i < 64; i++) {
		ssize_t n = read(w->tun_fd, hdr, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= (ssize_t)pre)
			return;
		on_tun_packet(w, hdr + pre, (size_t)n - pre);
	}
}

static void tun_emit(void *arg, uint8_t *hdr, size_t len)
{
	struct worker *w = arg;
	struct ntm_vnet_hdr h;

	ntm_vnet_hdr_get(&h, hdr);
	if (ntm_tun_write(w->tun_fd, hdr, len) < 0) {
		WC(w, tun_write_failed, 1);
		return;
	}
	WC(w, tun_tx_packets, 1);
	if (h.gso_type != NTM_VNET_GSO_NONE)
		WC(w, tun_gro_packets, 1);
}

/* data.c's inner_ok against the entry's addresses. */
static bool inner_ok(struct worker *w, const struct fp_entry *e, const uint8_t *pkt, size_t len)
{
	if (pkt[0] >> 4 == 4) {
		if (len < 20 || ntm_get_be16(pkt + 2) != len) {
			WC(w, drop_bad_inner, 1);
			return false;
		}
		if (!e->has4 || memcmp(pkt + 12, e->vip4, 4) != 0) {
			WC(w, drop_inner_src, 1);
			return false;
		}
		return true;
	}
	if (pkt[0] >> 4 != 6 || len < 40 || (size_t)ntm_get_be16(pkt + 4) + 40 != len) {
		WC(w, drop_bad_inner, 1);
		return false;
	}
	if (!e->has6 || memcmp(pkt + 8, e->vip6, 16) != 0) {
		WC(w, drop_inner_src, 1);
		return false;
	}
	return true;
}

static void tun_out(struct worker *w, uint8_t *pkt, size_t len)
{
	if (w->vnet) {
		uint64_t merged = w->gro.merged;
		ntm_gro_add(&w->gro, pkt, len);
		WC(w, tun_gro_merged, w->gro.merged - merged);
		return;
	}
	if (ntm_tun_write(w->tun_fd, pkt, len) == 0)
		WC(w, tun_tx_packets, 1);
	else
		WC(w, tun_write_failed, 1);
}

/* One datagram from the worker's socket. */
static void on_datagram(struct worker *w, uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	const struct fp_entry *e = NULL;
	struct ntm_session_mt *mt = NULL;
	struct ntm_data d;
	size_t ptlen;
	bool newest;

	if (w->tab && ntm_wire_type(buf, len) == NTM_MSG_DATA && ntm_data_decode(buf, len, &d) == 0)
		e = fp_by_index(w->tab, d.receiver, &mt);
	/* not ours, or from elsewhere than the peer's endpoint (a move is
	 * the main thread's to judge): handed over unopened */
	if (!e || !e->tx || ntm_sockaddr_cmp((const struct sockaddr *)&m->src,
					     (const struct sockaddr *)&e->ep) != 0) {
		to_main(w, W_UDP, buf, 0, len, 0, m);
		return;
	}
	WC(w, worker_rx, 1);
	WC(w, rx_packets, 1);
	int ret = ntm_session_mt_open(mt, w->id, buf, len, &ptlen, &newest);
	if (ret < 0) {
		if (ret == -EALREADY)
			WC(w, drop_replay, 1);
		else
			WC(w, drop_auth, 1);
		return;
	}
	if (d.receiver != mt->local_index)
		WC(w, rx_lane_data, 1);
	uint64_t now = ntm_loop_tick_ms();
	act_max(&e->act->last_rx_ms, now);
	if (ptlen == 0)
		return; /* keepalive */
	uint8_t *pt = buf + NTM_DATA_HDR_LEN;
	if (pt[0] == 0x00) { /* PING, PONG: the main thread's */
		to_main(w, W_CTL, pt, 0, ptlen, d.receiver, m);
		return;
	}
	act_max(&e->act->last_rx_data_ms, now);
	if (e->policy_drop) {
		WC(w, policy_drops, 1);
		return;
	}
	if (!inner_ok(w, e, pt, ptlen))
		return;
	atomic_fetch_add_explicit(&e->act->rx_bytes, ptlen, memory_order_relaxed);
	WC(w, rx_data_bytes, ptlen);
	tun_out(w, pt, ptlen);
}

static void on_udp(struct worker *w)
{
	struct ntm_udp_meta m;

	for (int i = 0; i < 64; i++) {
		ssize_t n = ntm_udp_recv(w->udp_fd, w->rxbuf, sizeof(w->rxbuf), &m);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			if (n == -EMSGSIZE) {
				WC(w, rx_packets, 1);
				WC(w, drop_malformed, 1);
				continue;
			}
			break;
		}
		size_t seg = m.gro_size ? m.gro_size : (size_t)n;
		if (m.gro_size)
			WC(w, rx_gro_trains, 1);
		m.gro_size = 0; /* each datagram goes on alone */
		for (size_t off = 0; off < (size_t)n; off += seg) {
			size_t len = (size_t)n - off < seg ? (size_t)n - off : seg;
			on_datagram(w, w->rxbuf + off, len, &m);
		}
	}
	if (w->vnet)
		ntm_gro_flush(&w->gro);
}

enum { EV_TUN = 1, EV_UDP = 2, EV_STOP = 3 };

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[4];

	while (!atomic_load(&w->stop)) {
		fp_offline(&w->ws->fp, w->id);
		int n = epoll_wait(w->epfd, ev, 4, -1);
		if (n < 0 && errno != EINTR)
			break;
		ntm_loop_tick();
		w->tab = fp_online(&w->ws->fp, w->id);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == EV_TUN)
				on_tun(w);
			else if (ev[i].data.u32 == EV_UDP)
				on_udp(w);
		}
		w->tab = NULL;
	}
	fp_offline(&w->ws->fp, w->id);
	return NULL;
}

/* ---- the main thread ---- */

/* What a worker handed over, handled as the main thread's own. */
static void on_wake(struct ntm_io *io, uint32_t events, void *arg)
{
	struct worker *w = arg;
	struct tund *t = w->t;
	struct w_slot *s;
	uint64_t cnt;
	(void)events;

	if (read(io->fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	for (unsigned i = 0; i < W_RING_SLOTS && (s = ntm_ring_peek(&w->ring)); i++) {
		uint8_t *p = s->data + W_HEADROOM;
		if (s->kind == W_TUN) {
			if (t->dp.vnet)
				data_on_tun_vnet(t, p, s->len);
			else
				data_on_tun(t, p, s->len);
		} else if (s->kind == W_UDP) {
			s->meta.fd = t->udp_fd; /* answered from the port's first socket */
			tund_on_datagrams(t, p, s->len, &s->meta);
		} else {
			struct peer *peer = ntm_idmap_get(&t->sess_index, s->idx);
			if (peer)
				data_on_peer_ctl(t, peer, s->idx, p, s->len, &s->meta);
		}
		ntm_ring_release(&w->ring);
	}
	data_rx_flush(t);
	/* more than one round's worth: come back (the eventfd is level-triggered) */
	if (ntm_ring_peek(&w->ring))
		wake_main(w);
}

static void worker_close(struct worker *w)
{
	if (!w)
		return;
	if (w->wake_io.loop)
		ntm_io_remove(&w->wake_io);
	int *fds[] = { &w->tun_fd, &w->udp_fd, &w->epfd, &w->stop_fd, &w->wake_fd };
	for (size_t i = 0; i < NTM_ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	ntm_ring_free(&w->ring);
	free(w);
}

static int ep_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Worker id with its queue and socket (taken over: closed on failure). */
static int worker_new(struct tund *t, unsigned id, int tun_fd, int udp_fd, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	int ret = -ENOMEM;

	if (!w) {
		close(tun_fd);
		close(udp_fd);
		return ret;
	}
	w->t = t;
	w->ws = t->w;
	w->id = id;
	w->tun_fd = tun_fd;
	w->udp_fd = udp_fd;
	w->vnet = t->dp.vnet;
	w->udp_gso = t->dp.udp_gso;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stop_fd < 0 || w->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = ntm_ring_init(&w->ring, W_RING_SLOTS, W_SLOT_BYTES)) < 0)
		goto fail;
	if (w->vnet)
		ntm_gro_init(&w->gro, tun_emit, w);
	if (t->dp.udp_gro)
		ntm_udp_set_gro(udp_fd);
	if ((ret = ep_add(w->epfd, tun_fd, EV_TUN)) < 0 || (ret = ep_add(w->epfd, udp_fd, EV_UDP)) < 0 ||
	    (ret = ep_add(w->epfd, w->stop_fd, EV_STOP)) < 0)
		goto fail;
	ntm_io_init(&w->wake_io, t->loop, w->wake_fd, on_wake, w);
	if ((ret = ntm_io_add(&w->wake_io, EPOLLIN)) < 0) {
		w->wake_io.loop = NULL;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	worker_close(w);
	return ret;
}

/* One line, then one worker: the daemon goes on. */
static void fall_back(struct tund *t, const char *what, int err, int *fds, int *socks, unsigned n)
{
	log_notice("Workers = %u: %s refused (%s): running with one worker", t->nworkers, what,
		   strerror(err));
	for (unsigned i = 0; i < n; i++) {
		if (fds && fds[i] >= 0)
			close(fds[i]);
		if (socks && socks[i] >= 0)
			close(socks[i]);
	}
	t->nworkers = 1;
	t->tun_fd = t->udp_fd = -1;
}

static int open_socks(struct tund *t, int *socks, unsigned n)
{
	int fam = AF_INET6;

	for (unsigned i = 0; i < n; i++) {
		socks[i] = ntm_udp_open_reuseport(fam, NULL, t->cfg.port, false);
		if (i == 0 && socks[0] == -EAFNOSUPPORT) {
			fam = AF_INET;
			socks[0] = ntm_udp_open_reuseport(fam, NULL, t->cfg.port, false);
		}
		if (socks[i] < 0)
			return socks[i];
	}
	return ntm_udp_steer_data(socks[0], n, NTM_MSG_DATA);
}

int workers_open(struct tund *t)
{
	unsigned n = t->nworkers;
	int fds[FP_MAX_THREADS], socks[FP_MAX_THREADS];
	unsigned offl = 0;
	int ret;

	t->stats.workers = 1;
	if (n <= 1)
		return 0;
	for (unsigned i = 0; i < n; i++)
		fds[i] = socks[i] = -1;
	ret = ntm_tun_open_queues(t->cfg.ifname, t->ifname, fds, n, t->cfg.offload, &offl);
	if (ret < 0) {
		/* the queues were never opened: nothing to close */
		fall_back(t, "a multi-queue TUN device", -ret, NULL, NULL, 0);
		return 0;
	}
	ret = open_socks(t, socks, n);
	if (ret < 0) {
		fall_back(t, "SO_REUSEPORT with a steering program", -ret, fds, socks, n);
		return 0;
	}
	t->w = calloc(1, sizeof(*t->w));
	if (!t->w) {
		fall_back(t, "memory for the workers", ENOMEM, fds, socks, n);
		return 0;
	}
	t->w->n = n;
	fp_domain_init(&t->w->fp, n);
	t->tun_fd = fds[0];
	t->udp_fd = socks[0];
	if (t->cfg.offload) {
		t->dp.vnet = true;
		t->dp.tun_offloads = offl;
		data_offload_init(t);
	}
	/* the main socket's UDP_GRO and GSO are set by tund.c's open_udp
	 * before workers_start copies them */
	for (unsigned i = 1; i < n; i++) {
		ret = worker_new(t, i, fds[i], socks[i], &t->w->w[i]);
		fds[i] = socks[i] = -1;
		if (ret < 0) {
			log_err_errno(-ret, "worker %u", i);
			for (unsigned k = i + 1; k < n; k++) {
				close(fds[k]);
				close(socks[k]);
			}
			return ret;
		}
	}
	t->sessions_changed = workers_changed;
	t->index_rr = 1; /* the first session's DATA to a worker thread */
	t->stats.workers = n;
	log_info("%s: %u queues, %u workers (the main thread and %u threads)", t->ifname, n, n,
		 n - 1);
	return 0;
}

int workers_start(struct tund *t)
{
	sigset_t all, old;

	if (!t->w)
		return 0;
	/* the threads take no asynchronous signal: the main loop's signalfd
	 * has them (a fault still reaches its handler, a sanitizer's say) */
	sigfillset(&all);
	static const int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS };
	for (size_t i = 0; i < NTM_ARRAY_SIZE(sync_sigs); i++)
		sigdelset(&all, sync_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int ret = 0;
	for (unsigned i = 1; i < t->w->n && !ret; i++) {
		struct worker *w = t->w->w[i];
		w->udp_gso = t->dp.udp_gso;
		if (t->dp.udp_gro)
			ntm_udp_set_gro(w->udp_fd);
		ret = -pthread_create(&w->th, NULL, worker_main, w);
		w->started = ret == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		log_err_errno(-ret, "starting the worker threads");
	return ret;
}

void workers_stop(struct tund *t)
{
	struct tund_workers *ws = t->w;

	if (!ws)
		return;
	for (unsigned i = 1; i < ws->n; i++) {
		struct worker *w = ws->w[i];
		if (!w || !w->started)
			continue;
		uint64_t one = 1;
		atomic_store(&w->stop, true);
		if (write(w->stop_fd, &one, sizeof(one)) < 0)
			log_warn_errno(errno, "stopping worker %u", i);
		pthread_join(w->th, NULL);
		w->started = false;
	}
	workers_fold_stats(t);
	for (unsigned i = 1; i < ws->n; i++)
		worker_close(ws->w[i]);
	fp_domain_free(&ws->fp);
	free(ws);
	t->w = NULL;
	t->sessions_changed = NULL;
}

void workers_fold_stats(struct tund *t)
{
	if (!t->w)
		return;
	for (unsigned i = 1; i < t->w->n; i++) {
		struct worker *w = t->w->w[i];
		if (!w)
			continue;
		for (unsigned k = 0; k < WC_N; k++) {
			uint64_t v = atomic_load_explicit(&w->c[k], memory_order_relaxed);
			*(uint64_t *)((char *)&t->stats + wc_off[k]) += v - w->folded[k];
			w->folded[k] = v;
		}
	}
}

/* What workers recorded in tab's entries, into the peers (liveness as
 * data.c's sent() and on_data() keep it, bytes). */
static void fold_act(struct tund *t, const struct fp_table *tab)
{
	for (unsigned i = 0; tab && i < tab->n; i++) {
		const struct fp_entry *e = &tab->e[i];
		struct peer *p = ntm_idmap_get(&t->peers_all, (uint64_t)(uintptr_t)e->owner);
		if (!p)
			continue;
		p->rx_bytes += atomic_exchange_explicit(&e->act->rx_bytes, 0, memory_order_relaxed);
		p->tx_bytes += atomic_exchange_explicit(&e->act->tx_bytes, 0, memory_order_relaxed);
		uint64_t rx = atomic_load_explicit(&e->act->last_rx_ms, memory_order_relaxed);
		uint64_t data = atomic_load_explicit(&e->act->last_rx_data_ms, memory_order_relaxed);
		uint64_t tx = atomic_load_explicit(&e->act->last_tx_ms, memory_order_relaxed);
		if (tx > p->last_tx_ms) {
			p->last_tx_ms = tx;
			p->rx_unanswered_ms = 0;
			if (tx > p->last_data_ms)
				p->last_data_ms = tx;
			if (!p->tx_unanswered_ms)
				p->tx_unanswered_ms = tx;
		}
		if (rx > p->last_rx_ms) {
			p->last_rx_ms = rx;
			p->direct_rx_ms = p->ep_ok_ms = rx; /* only ep's datagrams are a worker's */
			if (rx >= p->tx_unanswered_ms)
				p->tx_unanswered_ms = 0;
		}
		if (data > p->last_data_ms)
			p->last_data_ms = data;
		if (data > p->last_tx_ms && !p->rx_unanswered_ms)
			p->rx_unanswered_ms = data;
	}
}

static bool entry_same(const struct fp_entry *a, const struct fp_entry *b)
{
	return a->owner == b->owner && a->has4 == b->has4 && a->has6 == b->has6 &&
	       memcmp(a->vip4, b->vip4, 4) == 0 && memcmp(a->vip6, b->vip6, 16) == 0 &&
	       a->tx == b->tx && a->eplen == b->eplen && memcmp(&a->ep, &b->ep, a->eplen) == 0 &&
	       a->no_gso == b->no_gso && a->policy_drop == b->policy_drop &&
	       a->rx_index[0] == b->rx_index[0] &&
	       a->rx_index[1] == b->rx_index[1] && a->rx[0] == b->rx[0] && a->rx[1] == b->rx[1];
}

static bool table_same(const struct fp_table *a, const struct fp_table *b)
{
	if (!a || a->n != b->n || a->nowned != b->nowned)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (!entry_same(&a->e[i], &b->e[i]))
			return false;
	return memcmp(a->owned, b->owned, a->nowned * sizeof(*a->owned)) == 0;
}

/* Share p's confirmed sessions with the workers, and note every shared one. */
static void share(struct tund *t, struct peer *p, struct ntm_session_mt **owned, unsigned *nowned)
{
	struct ntm_session *s[3] = { &p->cur, &p->prev, &p->next };

	for (unsigned k = 0; k < 3; k++) {
		if (!s[k]->valid)
			continue;
		if (k < 2 && s[k]->confirmed && !s[k]->mt) {
			if (ntm_session_mt_new(s[k], t->nworkers) < 0)
				continue; /* no memory: the main thread keeps it */
			peer_lanes_add(t, p, s[k]); /* before any table names it */
		}
		if (s[k]->mt)
			owned[(*nowned)++] = s[k]->mt;
	}
}

/* p's entry, if workers can move its packets alone: a confirmed shared
 * session, a direct path through the port's first socket, nothing queued. */
static bool entry_of(struct tund *t, struct peer *p, struct fp_entry *e)
{
	if (!p->resolved || !p->cur.valid || !p->cur.mt || p->path != PATH_DIRECT || !p->has_ep ||
	    (p->ep_fd != 0 && p->ep_fd != t->udp_fd) || p->qcount)
		return false;
	memset(e, 0, sizeof(*e));
	e->owner = p;
	e->has4 = p->has_vip4;
	e->has6 = p->has_vip6;
	memcpy(e->vip4, p->vip4, 4);
	memcpy(e->vip6, p->vip6, 16);
	e->tx = p->cur.mt;
	e->ep = p->ep;
	e->eplen = p->eplen;
	if (t->udp_family == AF_INET6)
		ntm_sockaddr_map(&e->ep, &e->eplen);
	else if (e->ep.ss_family != AF_INET)
		return false;
	e->no_gso = p->ep_no_gso;
	e->policy_drop = !p->policy_ok;
	e->rx_index[0] = p->cur.local_index;
	e->rx[0] = p->cur.mt;
	if (p->prev.valid && p->prev.mt) {
		e->rx_index[1] = p->prev.local_index;
		e->rx[1] = p->prev.mt;
	}
	return true;
}

static void rebuild(struct tund *t)
{
	struct tund_workers *ws = t->w;
	size_t np = t->peers_all.len;
	struct fp_entry *e = calloc(np ? np : 1, sizeof(*e));
	struct ntm_session_mt **owned = calloc(np ? 3 * np : 1, sizeof(*owned));
	unsigned n = 0, nowned = 0;
	size_t pos = 0;
	struct peer *p;

	if (!e || !owned)
		goto out; /* no memory: the old table stays, and the sessions it shares */
	while ((p = ntm_idmap_next(&t->peers_all, &pos, NULL)) && n < np) {
		share(t, p, owned, &nowned);
		if (entry_of(t, p, &e[n]))
			n++;
	}
	struct fp_table *cur = atomic_load(&ws->fp.cur);
	struct fp_table *nt = fp_table_new(e, n, owned, nowned);
	if (!nt)
		goto out;
	if (table_same(cur, nt))
		fp_table_free(nt);
	else
		fp_publish(&ws->fp, nt);
out:
	free(e);
	free(owned);
	fp_reclaim(&ws->fp);
}

void workers_changed(struct tund *t)
{
	if (!t->w)
		return;
	fold_act(t, atomic_load(&t->w->fp.cur));
	rebuild(t);
}

void workers_sync(struct tund *t)
{
	if (!t->w)
		return;
	workers_fold_stats(t);
	fold_act(t, atomic_load(&t->w->fp.cur));
}
