/* data.c - the packet paths of ntm-tund.
 *
 * TUN -> UDP: the packet is read at buf + NTM_DATA_HDR_LEN (headroom for
 * the DATA header), its destination picks the peer, and it is sealed in
 * place and sent; without a usable session it waits in the peer's queue
 * while the tunnel is set up.
 * UDP -> TUN: a DATA datagram is matched by receiver index, opened in
 * place, replay-checked, and written to the TUN device only if its inner
 * source address is the sending peer's own virtual address. Nothing here
 * allocates but a peer's queue, once per tunnel set-up (peer.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "roam.h"
#include "peer.h"
#include "tun.h"
#include "tund.h"
#include "util.h"

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
	t->stats.tx_data_bytes += ptlen;
	p->tx_bytes += ptlen;
	p->last_tx_ms = ntm_loop_now_ms();
	p->rx_unanswered_ms = 0; /* whatever we send answers the peer */
	if (ip) {
		p->last_data_ms = p->last_tx_ms;
		if (!p->tx_unanswered_ms)
			p->tx_unanswered_ms = p->last_tx_ms;
	}
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

void data_on_tun(struct tund *t, uint8_t *pkt, size_t len)
{
	const uint8_t *dst;
	int af = ip_dst(pkt, len, &dst);
	struct peer *p;

	t->stats.tun_rx_packets++;
	if (af < 0 || !peer_addr_in_overlay(t, af, dst)) {
		t->stats.tun_no_peer++;
		return;
	}
	p = peer_by_addr(t, af, dst);
	if (p && peer_can_send(p)) {
		peer_send(p, pkt - NTM_DATA_HDR_LEN, len);
		return;
	}
	/* No tunnel yet: wait for it, asking the DC about this address when
	 * nobody has (a peer reached first by address, no name lookup). */
	if (!p || !p->resolved)
		p = peer_request(t, NULL, af, dst);
	if (!p) {
		t->stats.tun_no_peer++;
		return;
	}
	peer_enqueue(p, pkt, len);
	if (p->resolved && !p->hs.active && !p->next.valid) {
		peer_start_handshake(p);
		/* a session that expired while idle: the NAT mappings on the way
		 * may be gone too, so ask the DC to direct both ends again (both
		 * then probe); the handshake above covers a DC that is down */
		if (ntm_loop_now_ms() - p->dir_sent_ms >= DIRECTION_RETRY_MS)
			send_direction_req(t, p);
	}
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

static void on_peer_ctl(struct tund *t, struct peer *p, const uint8_t *msg, size_t len)
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
		ping_on_pong(t, p, &c.u.ping);
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
	struct ntm_session *s = NULL;
	if (p && p->cur.valid && p->cur.local_index == d.receiver)
		s = &p->cur;
	else if (p && p->next.valid && p->next.local_index == d.receiver)
		s = &p->next;
	else if (p && p->prev.valid && p->prev.local_index == d.receiver)
		s = &p->prev;
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
	/* authenticated and fresh: the peer may have moved (roam.h) */
	path_on_rx(p, m, newest);
	p->last_rx_ms = ntm_loop_now_ms();
	p->tx_unanswered_ms = 0;
	if (s == &p->next)
		peer_confirm_next(t, p);
	uint8_t *pt = buf + NTM_DATA_HDR_LEN;
	if (ptlen == 0)
		return; /* keepalive */
	if (pt[0] == 0x00) {
		on_peer_ctl(t, p, pt, ptlen);
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
	if (!p->rx_unanswered_ms)
		p->rx_unanswered_ms = p->last_rx_ms;
	t->stats.rx_data_bytes += ptlen;
	if (ntm_tun_write(t->tun_fd, pt, ptlen) == 0)
		t->stats.tun_tx_packets++;
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
