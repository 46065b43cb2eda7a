/* dc_relay.c - the DC's relays (doc/protocol.md 6).
 *
 * The embedded relay is the relay core (relay/relay.c) on the DC's own
 * UDP sockets at the relay port; the DC makes its allocations directly.
 *
 * A standalone relay (ntm-relayd, a [Relay.NAME] section) is reached over
 * a Noise IK session the DC initiates (purpose 3) on a socket connected to
 * the relay, so only the relay's datagrams arrive on it. The DC rekeys
 * every REKEY_AFTER_TIME, retries an unanswered handshake after
 * REKEY_TIMEOUT (backing off to DC_RELAY_BACKOFF_MAX while the relay is
 * down), sends an empty DATA when it sent nothing for PEER_KEEPALIVE (the
 * relay answers it; a relay silent for DC_RELAY_DEAD is marked down), and
 * resends an unacknowledged RELAY_ALLOC every second. A relay whose
 * session fails, or that leaves a RELAY_ALLOC unacknowledged three times,
 * is marked down and gets no new allocations until a new session is up;
 * routes made meanwhile use the embedded relay, when there is one. On every
 * new session the DC sends RELAY_ALLOC again for the routes of the last
 * DC_ROUTE_REUSE_MS on that relay (a relay that restarted lost them; one
 * that did not acknowledges the repeat, see relay_alloc). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dc.h"
#include "log.h"
#include "util.h"

#define REKEY_AFTER_TIME_MS 120000
#define REJECT_AFTER_TIME_MS 180000
#define REKEY_TIMEOUT_MS 5000
#define PEER_KEEPALIVE_MS 5000      /* the relay answers each keepalive with one */
#define DC_RELAY_DEAD_MS 16000      /* a relay silent this long is down */
#define DC_RELAY_TICK_MS 250
#define DC_RELAY_BACKOFF_MIN 1000
#define DC_RELAY_BACKOFF_MAX 30000
#define DC_ALLOC_RETRY_MS 1000
#define DC_ALLOC_TRIES 3
#define DC_RELAY_BATCH 64
/* Probe keys (doc/protocol.md 2.11): the embedded relay's is the DC's own,
 * made anew after DC_PROBE_KEY_ROTATE; a standalone relay gets one in
 * RELAY_PROBE_KEY on every new session. A token is minted under a key
 * at least DC_PROBE_KEY_SETTLE old when there is one (the relay has it),
 * and is good for DC_PROBE_TOKEN. */
#define DC_PROBE_KEY_LIFETIME_S 300
#define DC_PROBE_KEY_ROTATE_MS 120000
#define DC_PROBE_KEY_SETTLE_MS 1000
#define DC_PROBE_TOKEN_MS 10000

/* ---- the embedded relay ---- */

static void embedded_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	struct dc *dc = arg;
	struct ntm_udp_rxbatch *b = &dc->relay_rx;
	(void)events;

	/* As ntm-relayd: a batch in, its forwarded capsules out together
	 * (relay_flush) before the buffers are reused. */
	for (int got = 0; got < DC_RELAY_BATCH;) {
		ssize_t n = ntm_udp_recv_batch(io->fd, b, NTM_UDP_BATCH);
		if (n < 0) {
			if (n != -EAGAIN)
				log_debug_errno((int)-n, "relay recv");
			return;
		}
		uint64_t now = ntm_loop_now_ms();
		for (ssize_t i = 0; i < n; i++) {
			if (b->trunc[i]) {
				dc->relay.stats.rx++;
				dc->relay.stats.drop_malformed++;
				continue;
			}
			/* one datagram, or each of those UDP_GRO coalesced */
			size_t segs = relay_gro_count(b->len[i], b->meta[i].gro_size), off;
			if (segs > 1)
				dc->relay.stats.rx_gro_trains++;
			for (size_t k = 0; k < segs; k++) {
				size_t len = relay_gro_seg(b->len[i], b->meta[i].gro_size, k, &off);
				uint8_t *p = b->buf[i] + off;
				if (ntm_wire_type(p, len) == NTM_MSG_RELAY_PROBE)
					relay_probe_input(&dc->relay, p, len, &b->meta[i], io->fd, now);
				else
					relay_input(&dc->relay, p, len, &b->meta[i], io->fd, now);
			}
		}
		relay_flush(&dc->relay);
		got += (int)n;
		if (n < NTM_UDP_BATCH)
			return; /* the socket is drained */
	}
}

static int embedded_open(struct dc *dc)
{
	const struct dc_config *c = &dc->cfg;
	const void *a4 = c->has_listen4 ? (const void *)&c->listen4.u.v4 : NULL;
	const void *a6 = c->has_listen6 ? (const void *)&c->listen6.u.v6 : NULL;

	dc->rfd4 = ntm_udp_open(AF_INET, a4, c->relay_port, false);
	if (dc->rfd4 < 0) {
		log_err_errno(-dc->rfd4, "embedded relay, UDP port %u (IPv4)", c->relay_port);
		return dc->rfd4;
	}
	dc->rfd6 = ntm_udp_open(AF_INET6, a6, c->relay_port, true);
	if (dc->rfd6 < 0 && dc->rfd6 != -EAFNOSUPPORT && c->has_listen6) {
		log_err_errno(-dc->rfd6, "embedded relay, UDP port %u (IPv6)", c->relay_port);
		return dc->rfd6;
	}
	if (c->relay_offload) {
		/* coalesced receives (UDP_GRO) where the kernel has them */
		int ret = ntm_udp_set_gro(dc->rfd4);
		if (ret == 0 && dc->rfd6 >= 0)
			ret = ntm_udp_set_gro(dc->rfd6);
		if (ret < 0)
			log_info("embedded relay: UDP_GRO refused (%s): receiving datagram by datagram",
				 strerror(-ret));
	}
	ntm_io_init(&dc->rio4, dc->loop, dc->rfd4, embedded_readable, dc);
	if (ntm_io_add(&dc->rio4, EPOLLIN) < 0)
		return -EIO;
	if (dc->rfd6 >= 0) {
		ntm_io_init(&dc->rio6, dc->loop, dc->rfd6, embedded_readable, dc);
		if (ntm_io_add(&dc->rio6, EPOLLIN) < 0)
			return -EIO;
	}
	log_notice("embedded relay on UDP port %u%s", c->relay_port,
		   dc->rfd6 >= 0 ? "" : " (IPv4 only)");
	return 0;
}

/* ---- standalone relays: the session ---- */

static void relay_send(struct dc *dc, struct dc_relay *r, const uint8_t *buf, size_t len)
{
	ssize_t n = send(r->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0) {
		log_debug_errno(errno, "relay %s: send", r->conf->name);
		return;
	}
	dc->stats.tx_packets++;
	r->last_tx_ms = ntm_loop_now_ms();
}

/* Seal a control message (NULL: an empty keepalive) into r's session. */
static void relay_send_ctl(struct dc *dc, struct dc_relay *r, const struct ntm_ctl *m)
{
	uint8_t pkt[NTM_DATA_HDR_LEN + 256 + NTM_TAG_LEN];
	int len = 0;

	if (m && (len = ntm_ctl_encode(m, pkt + NTM_DATA_HDR_LEN, 256)) < 0) {
		log_err_errno(-len, "encoding %s", ntm_ctl_type_name(m->type));
		return;
	}
	len = ntm_session_seal(&r->sess, pkt, (size_t)len); /* encrypts in place */
	if (len < 0) {
		log_debug_errno(-len, "relay %s: sealing", r->conf->name);
		return;
	}
	relay_send(dc, r, pkt, (size_t)len);
}

static void pending_clear(struct dc_relay_pending *p)
{
	ntm_wipe(p, sizeof(*p));
}

static void send_alloc(struct dc *dc, struct dc_relay *r, struct dc_relay_pending *p)
{
	struct ntm_ctl m = { .type = NTM_CTL_RELAY_ALLOC };

	m.u.alloc.alloc_id = p->alloc_id;
	m.u.alloc.lifetime_s = (uint16_t)dc->cfg.relay_lifetime_s;
	memcpy(m.u.alloc.key_a, p->key_a, 32);
	memcpy(m.u.alloc.key_b, p->key_b, 32);
	p->sent_ms = ntm_loop_now_ms();
	p->tries++;
	relay_send_ctl(dc, r, &m);
	ntm_wipe(&m, sizeof(m));
}

/* Queue and send a RELAY_ALLOC; -ENOSPC when too many are unacknowledged. */
static int queue_alloc(struct dc *dc, struct dc_relay *r, uint32_t id, const uint8_t key_a[32],
		       const uint8_t key_b[32])
{
	struct dc_relay_pending *free_slot = NULL;

	for (size_t i = 0; i < DC_RELAY_PENDING; i++) {
		if (r->pending[i].alloc_id == id)
			return 0;
		if (!r->pending[i].alloc_id && !free_slot)
			free_slot = &r->pending[i];
	}
	if (!free_slot)
		return -ENOSPC;
	free_slot->alloc_id = id;
	memcpy(free_slot->key_a, key_a, 32);
	memcpy(free_slot->key_b, key_b, 32);
	free_slot->tries = 0;
	send_alloc(dc, r, free_slot);
	return 0;
}

static void mark_down(struct dc *dc, struct dc_relay *r, const char *why)
{
	if (r->up) {
		log_warn("relay %s down: %s", r->conf->name, why);
		dc->stats.standalone_down++;
	}
	r->up = false;
	ntm_session_clear(&r->sess);
	for (size_t i = 0; i < DC_RELAY_PENDING; i++)
		pending_clear(&r->pending[i]);
}

/* The pending initiation, with mac2 when the relay gave us a fresh cookie. */
static void send_hs(struct dc *dc, struct dc_relay *r, uint64_t now)
{
	uint8_t out[NTM_HS_INIT_LEN];

	memcpy(out, r->hs_pkt, sizeof(out));
	if (r->cookie_ms && now - r->cookie_ms < NTM_COOKIE_VALID_MS)
		ntm_mac2_put(out, r->cookie);
	relay_send(dc, r, out, sizeof(out));
}

static void start_handshake(struct dc *dc, struct dc_relay *r, uint64_t now)
{
	uint8_t out[NTM_HS_INIT_LEN];
	uint32_t idx;

	do
		ntm_random(&idx, sizeof(idx));
	while (idx == 0 || (r->sess.valid && idx == r->sess.local_index));
	int len = ntm_hs_initiate(&r->hs, &dc->id, r->conf->pub, NTM_SUITE_AESGCM,
				  NTM_PURPOSE_RELAY, idx, 0, out, sizeof(out));
	if (len < 0) {
		log_err_errno(-len, "relay %s: handshake", r->conf->name);
		return;
	}
	r->hs_sent_ms = now;
	memcpy(r->hs_pkt, out, sizeof(r->hs_pkt));
	r->cookie_resent = false;
	send_hs(dc, r, now);
	if (!r->sess.valid) {
		r->next_hs_ms = now + r->backoff_ms;
		r->backoff_ms = r->backoff_ms * 2 > DC_RELAY_BACKOFF_MAX ? DC_RELAY_BACKOFF_MAX
									: r->backoff_ms * 2;
	} else {
		r->next_hs_ms = now + REKEY_TIMEOUT_MS;
	}
}

/* On every new session: the routes the DC holds (made in the last
 * DC_ROUTE_REUSE_MS or still live) that use r get their RELAY_ALLOC again. */
static void resend_allocs(struct dc *dc, struct dc_relay *r)
{
	size_t pos = 0;
	struct dc_route *rt;

	while ((rt = ntm_idmap_next(&dc->routes, &pos, NULL)))
		if (rt->relay == r && rt->alloc_id)
			queue_alloc(dc, r, rt->alloc_id, rt->relay_key[0], rt->relay_key[1]);
}

/* The relay is under load: keep its cookie and send the initiation again
 * at once with mac2 (once per initiation). */
static void on_cookie_reply(struct dc *dc, struct dc_relay *r, const uint8_t *buf, size_t len)
{
	struct ntm_cookie_reply m;
	uint8_t key[32], cookie[NTM_COOKIE_LEN];

	if (ntm_cookie_reply_decode(buf, len, &m) < 0 || !r->hs.active ||
	    m.receiver != r->hs.local_index || ntm_cookie_reply_key(key, r->conf->pub) < 0 ||
	    ntm_cookie_reply_open(&m, key, r->hs_pkt + NTM_HS_INIT_MAC1_OFF, cookie) < 0) {
		dc->stats.drop_relay_session++;
		return;
	}
	memcpy(r->cookie, cookie, sizeof(cookie));
	r->cookie_ms = ntm_loop_now_ms();
	if (!r->cookie_resent) {
		r->cookie_resent = true;
		send_hs(dc, r, r->cookie_ms);
	}
}

/* A new probe key for r's tokens, given to it in the new session. */
static void send_probe_key(struct dc *dc, struct dc_relay *r)
{
	struct ntm_ctl m = { .type = NTM_CTL_RELAY_PROBE_KEY };
	struct ntm_ctl_relay_probe_key *k = &m.u.probe_key;

	do
		if (ntm_random(&k->key_id, sizeof(k->key_id)) < 0)
			return;
	while (k->key_id == 0);
	if (ntm_random(k->key, sizeof(k->key)) < 0)
		return;
	k->lifetime_s = DC_PROBE_KEY_LIFETIME_S;
	relay_probe_keys_add(&r->probe_keys, k->key_id, k->key, k->lifetime_s, ntm_loop_now_ms());
	relay_send_ctl(dc, r, &m);
	ntm_wipe(&m, sizeof(m));
}

static void on_hs_resp(struct dc *dc, struct dc_relay *r, const uint8_t *buf, size_t len)
{
	struct ntm_session s;
	int ret = ntm_hs_complete(&r->hs, &dc->id, buf, len, &s);

	if (ret < 0) {
		dc->stats.drop_relay_session++;
		return;
	}
	ntm_session_clear(&r->sess);
	r->sess = s;
	r->sess_ms = ntm_loop_now_ms();
	r->last_rx_ms = r->sess_ms;
	r->backoff_ms = DC_RELAY_BACKOFF_MIN;
	dc->stats.standalone_handshakes++;
	if (!r->up)
		log_notice("relay %s up (%s)", r->conf->name,
			   ntm_sockaddr_str((struct sockaddr *)&r->ep, (char[64]){ 0 }, 64));
	r->up = true;
	relay_send_ctl(dc, r, NULL); /* key confirmation for the relay */
	resend_allocs(dc, r);
	send_probe_key(dc, r);
}

static void on_alloc_ack(struct dc *dc, struct dc_relay *r, const struct ntm_ctl_relay_alloc_ack *a)
{
	for (size_t i = 0; i < DC_RELAY_PENDING; i++) {
		struct dc_relay_pending *p = &r->pending[i];
		if (p->alloc_id != a->alloc_id)
			continue;
		if (a->status == NTM_ALLOC_OK) {
			dc->stats.standalone_alloc_acks++;
		} else {
			dc->stats.standalone_alloc_refused++;
			log_warn("relay %s refused allocation %08x: %s", r->conf->name,
				 (unsigned)a->alloc_id,
				 a->status == NTM_ALLOC_FULL ? "full"
				 : a->status == NTM_ALLOC_DUPLICATE ? "duplicate ID" : "unknown status");
		}
		pending_clear(p);
		return;
	}
	/* an ACK for a repeat we no longer wait for: nothing to do */
}

static void on_relay_data(struct dc *dc, struct dc_relay *r, uint8_t *buf, size_t len)
{
	struct ntm_data d;
	struct ntm_ctl c;
	size_t ptlen;

	if (ntm_data_decode(buf, len, &d) < 0 || !r->sess.valid || d.receiver != r->sess.local_index ||
	    ntm_session_open(&r->sess, buf, len, &ptlen) < 0) {
		dc->stats.drop_relay_session++;
		return;
	}
	r->last_rx_ms = ntm_loop_now_ms();
	if (ptlen == 0)
		return;
	if (ntm_ctl_decode(buf + NTM_DATA_HDR_LEN, ptlen, &c) < 0 ||
	    c.type != NTM_CTL_RELAY_ALLOC_ACK) {
		dc->stats.drop_bad_control++;
		return;
	}
	on_alloc_ack(dc, r, &c.u.alloc_ack);
}

static void relay_readable(struct ntm_io *io, uint32_t events, void *arg)
{
	struct dc_relay *r = arg;
	struct dc *dc = r->dc;
	(void)events;

	for (int i = 0; i < DC_RELAY_BATCH; i++) {
		ssize_t n = recv(io->fd, dc->buf, sizeof(dc->buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug_errno(errno, "relay %s: recv", r->conf->name);
			return; /* ECONNREFUSED included: the relay is not there (yet) */
		}
		dc->stats.rx_packets++;
		if ((size_t)n > sizeof(dc->buf)) {
			dc->stats.drop_relay_session++;
			continue;
		}
		switch (ntm_wire_type(dc->buf, (size_t)n)) {
		case NTM_MSG_HS_RESP:
			on_hs_resp(dc, r, dc->buf, (size_t)n);
			break;
		case NTM_MSG_DATA:
			on_relay_data(dc, r, dc->buf, (size_t)n);
			break;
		case NTM_MSG_COOKIE_REPLY:
			on_cookie_reply(dc, r, dc->buf, (size_t)n);
			break;
		default:
			dc->stats.drop_relay_session++;
		}
	}
}

/* ---- standalone relays: timers ---- */

static void relay_tick_one(struct dc *dc, struct dc_relay *r, uint64_t now)
{
	if (r->sess.valid && now - r->sess_ms >= REJECT_AFTER_TIME_MS)
		mark_down(dc, r, "no new session within 180 s");
	bool rekey = !r->sess.valid || now - r->sess_ms >= REKEY_AFTER_TIME_MS;
	if (rekey && now >= r->next_hs_ms)
		start_handshake(dc, r, now);
	for (size_t i = 0; i < DC_RELAY_PENDING && r->sess.valid; i++) {
		struct dc_relay_pending *p = &r->pending[i];
		if (!p->alloc_id || now - p->sent_ms < DC_ALLOC_RETRY_MS)
			continue;
		if (p->tries >= DC_ALLOC_TRIES) {
			char why[64];
			snprintf(why, sizeof(why), "RELAY_ALLOC %08x not acknowledged",
				 (unsigned)p->alloc_id);
			mark_down(dc, r, why);
			r->next_hs_ms = now;
			break;
		}
		send_alloc(dc, r, p);
	}
	if (r->up && now - r->last_rx_ms >= DC_RELAY_DEAD_MS) {
		mark_down(dc, r, "silent (keepalives unanswered)");
		r->next_hs_ms = now;
		return;
	}
	if (r->sess.valid && now - r->last_tx_ms >= PEER_KEEPALIVE_MS)
		relay_send_ctl(dc, r, NULL);
}

static void relay_tick(struct ntm_timer *t, void *arg)
{
	struct dc *dc = arg;
	uint64_t now = ntm_loop_now_ms();
	(void)t;

	for (size_t i = 0; i < dc->nrelays; i++)
		relay_tick_one(dc, &dc->relays[i], now);
}

static int standalone_open(struct dc *dc, struct dc_relay *r, const struct dc_relay_conf *conf)
{
	memset(r, 0, sizeof(*r));
	r->dc = dc;
	r->conf = conf;
	r->fd = -1;
	r->backoff_ms = DC_RELAY_BACKOFF_MIN;
	if (conf->has_ep4) {
		memcpy(&r->ep, &conf->ep4, sizeof(struct sockaddr_in));
		r->eplen = sizeof(struct sockaddr_in);
	} else {
		memcpy(&r->ep, &conf->ep6, sizeof(struct sockaddr_in6));
		r->eplen = sizeof(struct sockaddr_in6);
	}
	r->fd = ntm_udp_open(r->ep.ss_family, NULL, 0, true);
	if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&r->ep, r->eplen) < 0) {
		int err = r->fd < 0 ? -r->fd : errno;
		log_err_errno(err, "relay %s (%s)", conf->name,
			      ntm_sockaddr_str((struct sockaddr *)&r->ep, (char[64]){ 0 }, 64));
		return -err;
	}
	ntm_io_init(&r->io, dc->loop, r->fd, relay_readable, r);
	if (ntm_io_add(&r->io, EPOLLIN) < 0)
		return -EIO;
	log_info("standalone relay %s at %s", conf->name,
		 ntm_sockaddr_str((struct sockaddr *)&r->ep, (char[64]){ 0 }, 64));
	return 0;
}

int dc_relays_open(struct dc *dc)
{
	struct relay_params p = {
		.max_allocs = (uint32_t)dc->cfg.relay_max_allocs,
		.pps = dc->cfg.relay_pps,
		.bytes_ps = dc->cfg.relay_mbit * 125000u,
	};
	int ret;

	relay_init(&dc->relay, &p, relay_udp_send, NULL);
	relay_set_batch(&dc->relay, relay_udp_sendv);
	if (dc->cfg.relay_offload)
		relay_set_gso(&dc->relay, relay_udp_sendtrain); /* UDP_SEGMENT trains */
	ntm_udp_rxbatch_init(&dc->relay_rx, &dc->relay_bufs[0][0], sizeof(dc->relay_bufs[0]));
	dc->rfd4 = dc->rfd6 = -1;
	if (dc->cfg.embedded_relay && (ret = embedded_open(dc)) < 0)
		return ret;
	for (size_t i = 0; i < dc->cfg.nrelays; i++) {
		ret = standalone_open(dc, &dc->relays[i], &dc->cfg.relays[i]);
		dc->nrelays = i + 1;
		if (ret < 0)
			return ret;
	}
	if (!dc->cfg.embedded_relay && dc->nrelays == 0)
		log_notice("no relay: EmbeddedRelay = no and no [Relay.NAME] section");
	ntm_timer_init(&dc->relay_timer, dc->loop, relay_tick, dc);
	if (dc->nrelays)
		ntm_timer_arm(&dc->relay_timer, 0, DC_RELAY_TICK_MS);
	return 0;
}

void dc_relays_close(struct dc *dc)
{
	ntm_timer_cancel(&dc->relay_timer);
	for (size_t i = 0; i < dc->nrelays; i++) {
		struct dc_relay *r = &dc->relays[i];
		if (r->fd >= 0) {
			ntm_io_remove(&r->io);
			close(r->fd);
		}
		mark_down(dc, r, "stopping");
		ntm_wipe(&r->hs, sizeof(r->hs));
		relay_probe_keys_wipe(&r->probe_keys);
	}
	dc->nrelays = 0;
	relay_free_all(&dc->relay);
	if (dc->rfd4 >= 0)
		close(dc->rfd4);
	if (dc->rfd6 >= 0)
		close(dc->rfd6);
	dc->rfd4 = dc->rfd6 = -1;
}

/* ---- allocations for routes ---- */

static void random_id(uint32_t *id)
{
	do
		ntm_random(id, sizeof(*id));
	while (*id == 0);
}

/* A standalone relay that is up, round robin. */
static struct dc_relay *pick_standalone(struct dc *dc)
{
	for (size_t k = 0; k < dc->nrelays; k++) {
		struct dc_relay *r = &dc->relays[(dc->relay_rr + k) % dc->nrelays];
		if (r->up && r->sess.valid) {
			dc->relay_rr = (unsigned)((dc->relay_rr + k + 1) % dc->nrelays);
			return r;
		}
	}
	return NULL;
}

bool dc_relay_route_ok(const struct dc_route *rt)
{
	return !rt->relay || rt->relay->up;
}

int dc_relay_allocate(struct dc *dc, struct dc_route *rt)
{
	uint64_t now = ntm_loop_now_ms();
	struct dc_relay *r = pick_standalone(dc);
	int ret = -ENOENT;

	rt->alloc_id = 0;
	rt->relay = NULL;
	if (ntm_random(rt->relay_key, sizeof(rt->relay_key)) < 0)
		return -EIO;
	if (r) {
		random_id(&rt->alloc_id);
		ret = queue_alloc(dc, r, rt->alloc_id, rt->relay_key[0], rt->relay_key[1]);
		if (ret == 0) {
			rt->relay = r;
			dc->stats.standalone_allocs++;
			return 0;
		}
	}
	if (!dc->cfg.embedded_relay)
		goto none;
	for (int tries = 0; tries < 4; tries++) {
		random_id(&rt->alloc_id);
		ret = relay_alloc(&dc->relay, rt->alloc_id, (uint32_t)dc->cfg.relay_lifetime_s,
				  rt->relay_key[0], rt->relay_key[1], now);
		if (ret != -EEXIST)
			break;
	}
	if (ret == 0)
		return 0;
none:
	rt->alloc_id = 0;
	ntm_wipe(rt->relay_key, sizeof(rt->relay_key));
	return ret;
}

int dc_relay_refresh(struct dc *dc, const struct dc_route *rt)
{
	if (!rt->alloc_id)
		return -ENOENT;
	if (rt->relay) {
		if (!rt->relay->up || !rt->relay->sess.valid)
			return -ENETDOWN;
		return queue_alloc(dc, rt->relay, rt->alloc_id, rt->relay_key[0], rt->relay_key[1]);
	}
	if (!dc->cfg.embedded_relay)
		return -ENOENT;
	return relay_alloc(&dc->relay, rt->alloc_id, (uint32_t)dc->cfg.relay_lifetime_s,
			   rt->relay_key[0], rt->relay_key[1], ntm_loop_now_ms());
}

/* Where n reaches relay r (NULL: the embedded one). */
static int relay_endpoint_for(const struct dc *dc, const struct dc_relay *r,
			      const struct dc_node *n, struct ntm_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (r) {
		const struct dc_relay_conf *c = r->conf;
		struct ntm_endpoint obs;
		bool want6 = dc_observed(n, &obs) == 0 && obs.family == 6;
		bool use6 = c->has_ep6 && (want6 || !c->has_ep4);
		return ntm_endpoint_from_sockaddr(ep, (const struct sockaddr *)(use6 ? &c->ep6 : &c->ep4));
	}
	/* embedded: the address the node reached the DC on, at the relay port */
	if (!n->via.has_dst)
		return -ENOENT;
	if (n->via.family == AF_INET && dc->rfd4 >= 0) {
		ep->family = 4;
		memcpy(ep->addr, n->via.dst, 4);
	} else if (n->via.family == AF_INET6 && dc->rfd6 >= 0) {
		ep->family = 6;
		memcpy(ep->addr, n->via.dst, 16);
	} else {
		return -ENOENT;
	}
	ep->port = dc->cfg.relay_port;
	return 0;
}

int dc_relay_endpoint(const struct dc *dc, const struct dc_route *rt, const struct dc_node *n,
		      struct ntm_endpoint *ep)
{
	if (!rt->alloc_id) {
		memset(ep, 0, sizeof(*ep));
		return -ENOENT;
	}
	return relay_endpoint_for(dc, rt->relay, n, ep);
}

/* A token under the newest key the relay surely has: the newest unless it
 * is younger than DC_PROBE_KEY_SETTLE and the one before is still live. */
static int mint(const struct relay_probe_keys *ks, uint64_t now, struct ntm_relay_token *t)
{
	if (now - ks->k[0].made_ms < DC_PROBE_KEY_SETTLE_MS &&
	    relay_probe_mint(&ks->k[1], DC_PROBE_TOKEN_MS, now, t) == 0)
		return 0;
	return relay_probe_mint(&ks->k[0], DC_PROBE_TOKEN_MS, now, t);
}

/* The embedded relay's probe key, made anew when none or too old. */
static void embedded_key(struct dc *dc, uint64_t now)
{
	const struct relay_probe_key *k0 = &dc->relay.probe_keys.k[0];
	uint8_t key[32];
	uint32_t id;

	if (k0->id && now - k0->made_ms < DC_PROBE_KEY_ROTATE_MS)
		return;
	do
		if (ntm_random(&id, sizeof(id)) < 0)
			return;
	while (id == 0);
	if (ntm_random(key, sizeof(key)) < 0)
		return;
	relay_probe_keys_add(&dc->relay.probe_keys, id, key, DC_PROBE_KEY_LIFETIME_S, now);
	ntm_wipe(key, sizeof(key));
}

static bool relay_name_ok(const char *s, size_t len)
{
	if (len > NTM_NC_RELAY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

unsigned dc_relay_netcheck_list(struct dc *dc, const struct dc_node *n, struct ntm_nc_relay *out,
				unsigned max)
{
	uint64_t now = ntm_loop_now_ms();
	unsigned k = 0;

	if (dc->cfg.embedded_relay && k < max) {
		struct ntm_nc_relay *e = &out[k];
		memset(e, 0, sizeof(*e));
		embedded_key(dc, now);
		e->kind = NTM_NC_RELAY_EMBEDDED;
		if (relay_endpoint_for(dc, NULL, n, &e->ep) == 0 &&
		    mint(&dc->relay.probe_keys, now, &e->token) == 0)
			k++;
	}
	for (size_t i = 0; i < dc->nrelays && k < max; i++) {
		struct dc_relay *r = &dc->relays[i];
		struct ntm_nc_relay *e = &out[k];
		size_t nl = strlen(r->conf->name);
		if (!r->up || !r->sess.valid)
			continue;
		memset(e, 0, sizeof(*e));
		e->kind = NTM_NC_RELAY_STANDALONE;
		if (relay_name_ok(r->conf->name, nl)) {
			e->name_len = (uint8_t)nl;
			memcpy(e->name, r->conf->name, nl);
		}
		if (relay_endpoint_for(dc, r, n, &e->ep) == 0 &&
		    mint(&r->probe_keys, now, &e->token) == 0)
			k++;
	}
	return k;
}

const char *dc_relay_name(const struct dc_route *rt)
{
	return rt->relay ? rt->relay->conf->name : "embedded";
}
