/* data.c - the packet paths of ntm-tund.
 *
 * TUN -> UDP: the packet is read at buf + NTM_DATA_HDR_LEN (headroom for
 * the DATA header), its destination picks the peer, and it is sealed in
 * place and sent; without a usable session it waits in the peer's queue
 * while the tunnel is set up.
 * UDP -> TUN: a DATA datagram is matched by receiver index, opened in
 * place, replay-checked, and written to the TUN device only if its inner
 * source address is the sending peer's own virtual address. Nothing here
 * allocates but a peer's queue, once per tunnel set-up (peer.h).
 *
 * With Offload = auto (struct tund_dp) ntm0 hands us GSO super-packets: each
 * is cut into MTU-sized segments (lib/gso.c), every segment sealed on its own
 * into one buffer and the train sent with one system call (path_send_train);
 * the wire is unchanged. Received trains (UDP_GRO) are split into datagrams,
 * each opened and checked on its own as above, and the plaintext TCP
 * segments coalesced (lib/gro.c) into super-packets for ntm0. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gso.h"
#include "log.h"
#include "roam.h"
#include "peer.h"
#include "tun.h"
#include "tund.h"
#include "util.h"

/* ptlen bytes of plaintext went to p (ip: an IP packet, not a control
 * message or keepalive). */
static void sent(struct peer *p, size_t ptlen, bool ip)
{
	struct tund *t = p->t;

	t->stats.tx_data_bytes += ptlen;
	p->tx_bytes += ptlen;
	p->last_tx_ms = ntm_loop_tick_ms();
	p->rx_unanswered_ms = 0; /* whatever we send answers the peer */
	if (ip) {
		p->last_data_ms = p->last_tx_ms;
		if (!p->tx_unanswered_ms)
			p->tx_unanswered_ms = p->last_tx_ms;
	}
}

int peer_send(struct peer *p, uint8_t *buf, size_t ptlen)
{
	struct tund *t = p->t;
	/* an IP packet, not a keepalive or control message (looked at before
	 * sealing: the plaintext is encrypted in place) */
	bool ip = ptlen && buf[NTM_DATA_HDR_LEN] != 0;
	int len = ntm_session_seal(&p->cur, buf, ptlen);

	if (len < 0) {
		t->stats.tx_seal_failed++;
		return len;
	}
	int ret = path_send(p, buf, (size_t)len);
	if (ret == -ENOTCONN)
		t->stats.tx_no_path++;
	if (ret < 0) /* a failed send was counted as tx_send_failed */
		return ret;
	sent(p, ptlen, ip);
	return 0;
}

void peer_enqueue(struct peer *p, const uint8_t *pkt, size_t len)
{
	if (len > p->qslot || p->qcount == PEER_QUEUE) {
		p->t->stats.tun_queue_full++;
		return;
	}
	if (!p->qbuf) {
		p->qbuf = malloc(PEER_QUEUE * p->qslot);
		if (!p->qbuf) { /* the packet is lost, as on a full queue */
			p->t->stats.tun_queue_nomem++;
			return;
		}
		p->qhead = 0;
	}
	unsigned slot = (p->qhead + p->qcount) % PEER_QUEUE;
	memcpy(p->qbuf + slot * p->qslot, pkt, len);
	p->qlen[slot] = (uint16_t)len;
	p->qcount++;
}

void peer_flush_queue(struct peer *p)
{
	uint8_t *buf = p->t->sendbuf;

	while (p->qcount && peer_can_send(p)) {
		unsigned slot = p->qhead;
		memcpy(buf + NTM_DATA_HDR_LEN, p->qbuf + slot * p->qslot, p->qlen[slot]);
		peer_send(p, buf, p->qlen[slot]);
		p->qhead = (p->qhead + 1) % PEER_QUEUE;
		p->qcount--;
	}
	/* drained to a usable session: packets go out at once from now on,
	 * and a new set-up (a session lost) allocates again */
	if (!p->qcount) {
		free(p->qbuf);
		p->qbuf = NULL;
	}
}

void peer_drop_queue(struct peer *p)
{
	p->t->stats.tun_queue_dropped += p->qcount;
	p->qcount = 0;
	free(p->qbuf);
	p->qbuf = NULL;
}

/* Destination of an IP packet: family and a pointer to the address. */
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

/* The peer for a packet read from ntm0, if it can send now. Otherwise NULL,
 * and *wait is the peer the packet is to wait for (its tunnel is being set
 * up), or NULL when there is none (counted as tun_no_peer). */
static struct peer *tun_route(struct tund *t, const uint8_t *pkt, size_t len, struct peer **wait)
{
	const uint8_t *dst;
	int af = ip_dst(pkt, len, &dst);
	struct peer *p;

	*wait = NULL;
	if (af < 0 || (!peer_addr_in_overlay(t, af, dst) && !peer_addr_federated(t, af, dst))) {
		t->stats.tun_no_peer++;
		return NULL;
	}
	p = peer_by_addr(t, af, dst);
	if (p && peer_can_send(p))
		return p;
	/* No tunnel yet: wait for it, asking the DC about this address when
	 * nobody has (a peer reached first by address, no name lookup). */
	if (!p || !p->resolved)
		p = peer_request(t, NULL, af, dst);
	if (!p)
		t->stats.tun_no_peer++;
	*wait = p;
	return NULL;
}

/* Packets now wait in p's queue: get its tunnel going. */
static void tunnel_wanted(struct tund *t, struct peer *p)
{
	if (p->resolved && !p->hs.active && !p->next.valid) {
		peer_start_handshake(p);
		/* a session that expired while idle: the NAT mappings on the way
		 * may be gone too, so ask the DC to direct both ends again (both
		 * then probe); the handshake above covers a DC that is down */
		if (ntm_loop_now_ms() - p->dir_sent_ms >= DIRECTION_RETRY_MS)
			send_direction_req(t, p);
	}
}

void data_on_tun(struct tund *t, uint8_t *pkt, size_t len)
{
	struct peer *wait, *p;

	t->stats.tun_rx_packets++;
	p = tun_route(t, pkt, len, &wait);
	if (p) {
		peer_send(p, pkt - NTM_DATA_HDR_LEN, len);
		return;
	}
	if (!wait)
		return;
	peer_enqueue(wait, pkt, len);
	tunnel_wanted(t, wait);
}

/* Seal the segments of g to p's current session back to back in the train
 * buffer, each one datagram of the same size but the last, and send them in
 * trains: the wire sees the DATA datagrams it always sees. */
static void send_segments(struct tund *t, struct peer *p, const struct ntm_gso *g)
{
	size_t stride = ntm_gso_seg_len(g, 0) + NTM_DATA_OVERHEAD;
	size_t per = NTM_UDP_TRAIN_BYTES / stride;

	if (per > NTM_UDP_TRAIN_MAX)
		per = NTM_UDP_TRAIN_MAX;
	if (per == 0) /* a segment near 64 KiB (MTU 65000): one at a time */
		per = 1;
	for (size_t i = 0; i < g->nseg;) {
		size_t used = 0, k = 0, bytes = 0;
		int len = 0;
		for (; k < per && i + k < g->nseg; k++) {
			uint8_t *b = t->dp.train + used;
			size_t pl = ntm_gso_seg(g, i + k, b + NTM_DATA_HDR_LEN);
			len = ntm_session_seal(&p->cur, b, pl);
			if (len < 0)
				break;
			used += (size_t)len;
			bytes += pl;
		}
		if (k) {
			int ret = path_send_train(p, t->dp.train, used, stride, k);
			if (ret == -ENOTCONN)
				t->stats.tx_no_path += k;
			if (ret == 0)
				sent(p, bytes, true);
		}
		if (len < 0) { /* the counter limit: the rest is lost too */
			t->stats.tx_seal_failed += g->nseg - i - k;
			return;
		}
		i += k;
	}
}

/* A GSO super-packet from ntm0: cut (lib/gso.c) and sent, or cut into the
 * queue of a peer whose tunnel is not up yet. */
static void on_tun_gso(struct tund *t, const struct ntm_vnet_hdr *h, const uint8_t *pkt,
		       size_t len)
{
	struct ntm_gso g;
	struct peer *wait, *p;
	int n = ntm_gso_init(&g, h, pkt, len, (size_t)t->cfg.mtu);

	t->stats.tun_gso_packets++;
	if (n < 0) {
		t->stats.tun_rx_packets++;
		t->stats.tun_gso_bad++;
		return;
	}
	t->stats.tun_rx_packets += g.nseg;
	t->stats.tun_gso_segments += g.nseg;
	p = tun_route(t, pkt, len, &wait);
	if (p) {
		send_segments(t, p, &g);
		return;
	}
	if (!wait)
		return;
	uint8_t *seg = t->dp.train; /* scratch: the queue copies */
	for (size_t i = 0; i < g.nseg; i++)
		peer_enqueue(wait, seg, ntm_gso_seg(&g, i, seg));
	tunnel_wanted(t, wait);
}

void data_on_tun_vnet(struct tund *t, uint8_t *pkt, size_t len)
{
	struct ntm_vnet_hdr h;

	ntm_vnet_hdr_get(&h, pkt - NTM_VNET_HDR_LEN);
	if (h.gso_type != NTM_VNET_GSO_NONE) {
		on_tun_gso(t, &h, pkt, len);
		return;
	}
	if (ntm_vnet_csum_complete(&h, pkt, len) < 0) {
		t->stats.tun_rx_packets++;
		t->stats.tun_gso_bad++;
		return;
	}
	data_on_tun(t, pkt, len);
}

/* The coalescer's output: one packet, with its virtio_net_hdr, to ntm0. */
static void tun_emit(void *arg, uint8_t *hdr, size_t len)
{
	struct tund *t = arg;
	struct ntm_vnet_hdr h;

	ntm_vnet_hdr_get(&h, hdr);
	if (ntm_tun_write(t->tun_fd, hdr, len) < 0) {
		t->stats.tun_write_failed++;
		return;
	}
	t->stats.tun_tx_packets++;
	if (h.gso_type != NTM_VNET_GSO_NONE)
		t->stats.tun_gro_packets++;
}

void data_offload_init(struct tund *t)
{
	ntm_gro_init(&t->dp.gro, tun_emit, t);
}

void data_rx_flush(struct tund *t)
{
	if (t->dp.vnet)
		ntm_gro_flush(&t->dp.gro);
}

/* A checked plaintext IP packet (with NTM_VNET_HDR_LEN bytes of room before
 * it) to ntm0: at once, or through the coalescer. */
static void tun_out(struct tund *t, uint8_t *pkt, size_t len)
{
	if (t->dp.vnet) {
		uint64_t merged = t->dp.gro.merged;
		ntm_gro_add(&t->dp.gro, pkt, len);
		t->stats.tun_gro_merged += t->dp.gro.merged - merged;
		return;
	}
	if (ntm_tun_write(t->tun_fd, pkt, len) == 0)
		t->stats.tun_tx_packets++;
	else
		t->stats.tun_write_failed++;
}

/* Is this decrypted IP packet really from p, and whole? */
static bool inner_ok(struct tund *t, const struct peer *p, const uint8_t *pkt, size_t len)
{
	if (pkt[0] >> 4 == 4) {
		if (len < 20 || ntm_get_be16(pkt + 2) != len) {
			t->stats.drop_bad_inner++;
			return false;
		}
		if (memcmp(pkt + 12, p->vip4, 4) != 0) {
			t->stats.drop_inner_src++;
			return false;
		}
		return true;
	}
	if (len < 40 || (size_t)ntm_get_be16(pkt + 4) + 40 != len) {
		t->stats.drop_bad_inner++;
		return false;
	}
	if (memcmp(pkt + 8, p->vip6, 16) != 0) {
		t->stats.drop_inner_src++;
		return false;
	}
	return true;
}

void data_on_peer_ctl(struct tund *t, struct peer *p, uint32_t idx, const uint8_t *msg,
		      size_t len, const struct ntm_udp_meta *m)
{
	struct ntm_ctl c;

	if (ntm_ctl_decode(msg, len, &c) < 0) {
		t->stats.drop_bad_inner++;
		return;
	}
	if (c.type == NTM_CTL_PING) {
		uint8_t *buf = t->sendbuf;
		c.type = NTM_CTL_PONG;
		int n = ntm_ctl_encode(&c, buf + NTM_DATA_HDR_LEN, 256);
		if (n > 0 && peer_can_send(p))
			peer_send(p, buf, (size_t)n);
	} else if (c.type == NTM_CTL_PONG) {
		ping_on_pong(t, p, &c.u.ping, m);
	} else if (c.type == NTM_CTL_LANES) {
		/* the peer's lanes for the session this came in (a node
		 * with one thread notes them and keeps the session's index) */
		struct ntm_session *s = peer_session_by_index(p, idx);
		if (t->cfg.lanes && s &&
		    ntm_session_set_lanes(s, c.u.lanes.index, c.u.lanes.count) == 0)
			t->stats.lanes_received++;
		else
			t->stats.lanes_refused++;
	} else {
		t->stats.drop_bad_inner++;
	}
}

static void on_data(struct tund *t, uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	struct ntm_data d;
	size_t ptlen;
	int ret;

	if (ntm_data_decode(buf, len, &d) < 0) {
		t->stats.drop_malformed++;
		return;
	}
	struct peer *p = ntm_idmap_get(&t->sess_index, d.receiver);
	struct ntm_session *s = p ? peer_session_by_index(p, d.receiver) : NULL;
	if (!s) {
		t->stats.drop_unknown++;
		return;
	}
	bool newest;
	ret = roam_open(s, buf, len, d.counter, &ptlen, &newest);
	if (ret < 0) {
		if (ret == -EALREADY)
			t->stats.drop_replay++;
		else
			t->stats.drop_auth++;
		return;
	}
	if (d.receiver != s->local_index)
		t->stats.rx_lane_data++;
	/* authenticated and fresh: the peer may have moved (roam.h) */
	path_on_rx(p, m, newest);
	p->last_rx_ms = ntm_loop_tick_ms();
	p->tx_unanswered_ms = 0;
	if (s == &p->next)
		peer_confirm_next(t, p);
	uint8_t *pt = buf + NTM_DATA_HDR_LEN;
	if (ptlen == 0)
		return; /* keepalive */
	if (pt[0] == 0x00) {
		data_on_peer_ctl(t, p, d.receiver, pt, ptlen, m);
		return;
	}
	/* the peer sent data: it is owed a passive keepalive (roam.h) even
	 * when the packet is dropped below, or its liveness check takes our
	 * silence for a dead path after RX_SILENT_MS and re-handshakes */
	if (!p->rx_unanswered_ms)
		p->rx_unanswered_ms = p->last_rx_ms;
	if (!p->policy_ok) {
		t->stats.policy_drops++; /* this node's access policy (peer.h) */
		return;
	}
	if (pt[0] >> 4 != 4 && pt[0] >> 4 != 6) {
		t->stats.drop_bad_inner++;
		return;
	}
	if (!inner_ok(t, p, pt, ptlen))
		return;
	p->rx_bytes += ptlen;
	p->last_data_ms = p->last_rx_ms;
	t->stats.rx_data_bytes += ptlen;
	tun_out(t, pt, ptlen);
}

void data_on_udp(struct tund *t, uint8_t *buf, size_t len, const struct ntm_udp_meta *m)
{
	switch (ntm_wire_type(buf, len)) {
	case NTM_MSG_DATA:
		on_data(t, buf, len, m);
		break;
	case NTM_MSG_HS_INIT:
		peer_on_hs_init(t, buf, len, m);
		break;
	case NTM_MSG_PROBE:
		if (m->via_relay)
			t->stats.drop_malformed++;
		else
			path_on_probe(t, buf, len, m);
		break;
	case NTM_MSG_RELAY:
		if (m->via_relay) /* no capsule inside a capsule */
			t->stats.drop_malformed++;
		else
			path_on_relay(t, buf, len, m);
		break;
	case NTM_MSG_RELAY_PROBE:
		if (m->via_relay) /* only a relay's own echo, never through one */
			t->stats.drop_malformed++;
		else
			netcheck_on_relay_echo(t, buf, len, m);
		break;
	case NTM_MSG_COOKIE_REPLY:
		if (m->via_relay) /* the relay path needs no cookie */
			t->stats.drop_malformed++;
		else
			peer_on_cookie_reply(t, buf, len, m);
		break;
	case NTM_MSG_HS_RESP: {
		struct ntm_hs_resp r;
		struct peer *p;
		if (ntm_hs_resp_decode(buf, len, &r) < 0 ||
		    !(p = ntm_idmap_get(&t->sess_index, r.receiver)) || !p->hs.active ||
		    p->hs.local_index != r.receiver) {
			t->stats.drop_unknown++;
			return;
		}
		peer_on_hs_resp(t, p, buf, len, m);
		break;
	}
	default:
		t->stats.drop_malformed++;
	}
}
