/* relayd_proto.c - ntm-relayd's datagrams (doc/protocol.md 2, 3, 5.9-5.11,
 * 6): Noise IK handshakes from the one DC key configured, the DC's DATA
 * session carrying RELAY_ALLOC, RELAY_FREE and RELAY_PROBE_KEY, and RELAY
 * capsules and RELAY_PROBEs from nodes, which go to the relay core. Nothing here ever answers a datagram
 * that did not authenticate (every failure is a counter increment), but
 * for the COOKIE_REPLY to a HANDSHAKE_INIT with a valid mac1 under load. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "relayd.h"
#include "util.h"

#define RELAYD_BATCH 64                 /* datagrams per readable event before yielding */
#define REJECT_AFTER_TIME_MS 180000     /* doc/protocol.md 7 */

static void send_to_dc(struct relayd *rd, const uint8_t *buf, size_t len)
{
	ssize_t r = ntm_udp_send(rd->dc_fd, buf, len, (const struct sockaddr *)&rd->dc_ep.src,
				 rd->dc_ep.srclen, &rd->dc_ep);
	if (r < 0)
		log_debug_errno((int)-r, "send to the DC");
	else
		rd->stats.tx_packets++;
}

static void send_ctl(struct relayd *rd, struct ntm_session *s, const struct ntm_ctl *m)
{
	uint8_t pkt[NTM_DATA_HDR_LEN + 256 + NTM_TAG_LEN];
	int len = ntm_ctl_encode(m, pkt + NTM_DATA_HDR_LEN, 256);

	if (len < 0) {
		log_err_errno(-len, "encoding %s", ntm_ctl_type_name(m->type));
		return;
	}
	len = ntm_session_seal(s, pkt, (size_t)len);
	if (len < 0) {
		log_debug_errno(-len, "sealing for the DC");
		return;
	}
	send_to_dc(rd, pkt, (size_t)len);
}

/* An empty DATA back to the DC: its keepalives are how it knows we live. */
static void reply_keepalive(struct relayd *rd, struct ntm_session *s)
{
	uint8_t pkt[NTM_DATA_OVERHEAD];
	int len = ntm_session_seal(s, pkt, 0);

	if (len < 0) {
		log_debug_errno(-len, "sealing a keepalive for the DC");
		return;
	}
	send_to_dc(rd, pkt, (size_t)len);
}

static void sess_clear(struct relayd_dc_sess *ds)
{
	ntm_session_clear(&ds->s);
	ds->created_ms = 0;
}

void relayd_clear_sessions(struct relayd *rd)
{
	sess_clear(&rd->sess[0]);
	sess_clear(&rd->sess[1]);
}

static uint32_t new_index(const struct relayd *rd)
{
	uint32_t idx;

	do {
		if (ntm_random(&idx, sizeof(idx)) < 0)
			idx = (uint32_t)ntm_loop_now_ms() * 2654435761u;
	} while (idx == 0 || (rd->sess[0].s.valid && idx == rd->sess[0].s.local_index) ||
		 (rd->sess[1].s.valid && idx == rd->sess[1].s.local_index));
	return idx;
}

static void set_dc_endpoint(struct relayd *rd, const struct ntm_udp_meta *m, int fd)
{
	rd->dc_ep = *m;
	rd->dc_fd = fd;
}

/* Handshake admission (lib/hsgate.h): true when the init may cost a
 * handshake; otherwise it was counted and perhaps answered with a cookie. */
static bool hs_admit(struct relayd *rd, int fd, const uint8_t *buf, size_t len,
		     const struct ntm_udp_meta *m)
{
	const struct sockaddr *src = (const struct sockaddr *)&m->src;
	uint8_t out[NTM_COOKIE_REPLY_LEN];

	switch (ntm_hsgate_check(&rd->gate, buf, len, src, false, ntm_loop_now_ms())) {
	case NTM_HSG_PROCESS:
		return true;
	case NTM_HSG_COOKIE:
		if (ntm_hsgate_cookie_reply(&rd->gate, buf, src, out, sizeof(out)) == sizeof(out) &&
		    ntm_udp_send(fd, out, sizeof(out), src, m->srclen, m) >= 0) {
			rd->stats.cookies_sent++;
			rd->stats.tx_packets++;
		}
		return false;
	case NTM_HSG_BAD_MAC:
		rd->stats.drop_bad_mac++;
		return false;
	case NTM_HSG_RATELIMIT:
		rd->stats.drop_ratelimit++;
		return false;
	case NTM_HSG_OVERLOAD:
	default:
		rd->stats.drop_overload++;
		return false;
	}
}

static void on_hs_init(struct relayd *rd, int fd, const uint8_t *buf, size_t len,
		       const struct ntm_udp_meta *m)
{
	struct ntm_hs_responder r;
	struct ntm_session s;
	uint8_t out[NTM_HS_RESP_LEN], ts[12];

	if (!hs_admit(rd, fd, buf, len, m))
		return;
	if (ntm_hs_respond_begin(&r, &rd->id, buf, len) < 0) {
		rd->stats.drop_unauth++;
		return;
	}
	if (r.info.purpose != NTM_PURPOSE_RELAY ||
	    ntm_memeq_ct(r.info.initiator_pub, rd->cfg.dc_pub, 32) != 0) {
		rd->stats.drop_not_dc++;
		goto out;
	}
	if (memcmp(r.info.timestamp, rd->last_ts, sizeof(rd->last_ts)) <= 0) {
		rd->stats.drop_replayed_hs++;
		goto out;
	}
	memcpy(ts, r.info.timestamp, sizeof(ts)); /* finish wipes r */
	if (ntm_hs_respond_finish(&r, new_index(rd), out, sizeof(out), &s) < 0)
		goto out;
	memcpy(rd->last_ts, ts, sizeof(rd->last_ts));
	sess_clear(&rd->sess[1]);
	rd->sess[1] = rd->sess[0];
	rd->sess[0].s = s;
	rd->sess[0].created_ms = ntm_loop_now_ms();
	set_dc_endpoint(rd, m, fd);
	rd->stats.handshakes++;
	ntm_hsgate_completed(&rd->gate, (const struct sockaddr *)&m->src, ntm_loop_now_ms());
	send_to_dc(rd, out, sizeof(out));
	log_info("session with the DC (%s)",
		 ntm_sockaddr_str((const struct sockaddr *)&m->src, (char[64]){ 0 }, 64));
out:
	ntm_hs_responder_clear(&r);
}

static void on_alloc(struct relayd *rd, struct ntm_session *s, const struct ntm_ctl_relay_alloc *a)
{
	struct ntm_ctl ack = { .type = NTM_CTL_RELAY_ALLOC_ACK };
	int ret;

	rd->stats.alloc_requests++;
	ret = relay_alloc(&rd->core, a->alloc_id, a->lifetime_s, a->key_a, a->key_b,
			  ntm_loop_now_ms());
	ack.u.alloc_ack.alloc_id = a->alloc_id;
	ack.u.alloc_ack.status = ret == 0 ? NTM_ALLOC_OK
				 : ret == -EEXIST ? NTM_ALLOC_DUPLICATE : NTM_ALLOC_FULL;
	if (ret < 0)
		log_warn_errno(-ret, "allocation %08x refused", (unsigned)a->alloc_id);
	else
		log_debug("allocation %08x for %u s", (unsigned)a->alloc_id, (unsigned)a->lifetime_s);
	send_ctl(rd, s, &ack);
}

static struct ntm_session *sess_by_index(struct relayd *rd, uint32_t idx)
{
	for (int i = 0; i < 2; i++)
		if (rd->sess[i].s.valid && rd->sess[i].s.local_index == idx)
			return &rd->sess[i].s;
	return NULL;
}

static void on_data(struct relayd *rd, int fd, uint8_t *buf, size_t len,
		    const struct ntm_udp_meta *m)
{
	struct ntm_data d;
	struct ntm_ctl c;
	size_t ptlen;
	int ret;

	if (ntm_data_decode(buf, len, &d) < 0) {
		rd->stats.drop_malformed++;
		return;
	}
	struct ntm_session *s = sess_by_index(rd, d.receiver);
	if (!s) {
		rd->stats.drop_unknown_index++;
		return;
	}
	ret = ntm_session_open(s, buf, len, &ptlen);
	if (ret == -EALREADY) {
		rd->stats.drop_data_replay++;
		return;
	}
	if (ret < 0) {
		rd->stats.drop_data_auth++;
		return;
	}
	/* Authenticated and fresh: only now may the DC's endpoint move. */
	set_dc_endpoint(rd, m, fd);
	if (ptlen == 0) {
		/* keepalive (and key confirmation): answered, so the DC knows
		 * the relay is alive (this DATA authenticated) */
		reply_keepalive(rd, s);
		return;
	}
	if (ntm_ctl_decode(buf + NTM_DATA_HDR_LEN, ptlen, &c) < 0) {
		rd->stats.drop_bad_control++;
		return;
	}
	switch (c.type) {
	case NTM_CTL_RELAY_ALLOC:
		on_alloc(rd, s, &c.u.alloc);
		break;
	case NTM_CTL_RELAY_FREE:
		rd->stats.free_requests++;
		if (relay_free(&rd->core, c.u.free.alloc_id) == 0)
			log_debug("allocation %08x freed", (unsigned)c.u.free.alloc_id);
		break;
	case NTM_CTL_RELAY_PROBE_KEY:
		/* tokens for netcheck's RELAY_PROBEs (doc/protocol.md 2.11) */
		rd->stats.probe_keys++;
		relay_probe_keys_add(&rd->core.probe_keys, c.u.probe_key.key_id, c.u.probe_key.key,
				     c.u.probe_key.lifetime_s, ntm_loop_now_ms());
		ntm_wipe(&c, sizeof(c));
		break;
	default:
		rd->stats.drop_bad_control++;
	}
}

static void on_datagram(struct relayd *rd, int fd, uint8_t *buf, size_t len,
			const struct ntm_udp_meta *m)
{
	rd->stats.rx_packets++;
	switch (ntm_wire_type(buf, len)) {
	case NTM_MSG_RELAY:
		relay_input(&rd->core, buf, len, m, fd, ntm_loop_now_ms());
		break;
	case NTM_MSG_RELAY_PROBE:
		relay_probe_input(&rd->core, buf, len, m, fd, ntm_loop_now_ms());
		break;
	case NTM_MSG_HS_INIT:
		on_hs_init(rd, fd, buf, len, m);
		break;
	case NTM_MSG_DATA:
		on_data(rd, fd, buf, len, m);
		break;
	default:
		rd->stats.drop_malformed++;
	}
}

/* One received buffer: a datagram, or the datagrams UDP_GRO coalesced
 * (Offload = auto), each handled and counted as if it came alone. */
static void on_buffer(struct relayd *rd, int fd, uint8_t *buf, size_t len,
		      const struct ntm_udp_meta *m)
{
	size_t n = relay_gro_count(len, m->gro_size), off;

	if (n > 1)
		rd->core.stats.rx_gro_trains++;
	for (size_t i = 0; i < n; i++) {
		size_t seg = relay_gro_seg(len, m->gro_size, i, &off);
		on_datagram(rd, fd, buf + off, seg, m);
	}
}

void relayd_on_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	struct relayd *rd = arg;
	struct ntm_udp_rxbatch *b = &rd->rx;
	(void)events;

	/* Batches of NTM_UDP_BATCH: the forwarded capsules of a batch leave
	 * together (relay_flush) before its buffers are reused. */
	for (int got = 0; got < RELAYD_BATCH;) {
		ssize_t n = ntm_udp_recv_batch(io->fd, b, NTM_UDP_BATCH);
		if (n < 0) {
			if (n != -EAGAIN)
				log_debug_errno((int)-n, "recv");
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (b->trunc[i]) {
				rd->stats.rx_packets++;
				rd->stats.drop_malformed++;
				continue;
			}
			on_buffer(rd, io->fd, b->buf[i], b->len[i], &b->meta[i]);
		}
		relay_flush(&rd->core);
		got += (int)n;
		if (n < NTM_UDP_BATCH)
			return; /* the socket is drained */
	}
}

void relayd_sweep(struct ntm_timer *t, void *arg)
{
	struct relayd *rd = arg;
	uint64_t now = ntm_loop_now_ms();
	size_t n;
	(void)t;

	for (int i = 0; i < 2; i++)
		if (rd->sess[i].s.valid && now - rd->sess[i].created_ms >= REJECT_AFTER_TIME_MS)
			sess_clear(&rd->sess[i]);
	n = relay_expire(&rd->core, now);
	if (n)
		log_debug("%zu allocation(s) expired", n);
}

void relayd_log_stats(const struct relayd *rd)
{
#define X(name, text) log_notice("%-24s %llu  (%s)", #name, (unsigned long long)rd->stats.name, text);
	RELAYD_STATS(X)
#undef X
#define X(name, text) log_notice("relay_%-18s %llu  (%s)", #name, \
				 (unsigned long long)rd->core.stats.name, text);
	RELAY_STATS(X)
#undef X
}
