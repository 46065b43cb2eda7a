/* relay.c - the relay core; see relay.h for the contract. */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"
#include "wire.h"

/* A bucket holds one second of its rate; tokens are kept in thousandths
 * so that a refill of a few milliseconds is not lost to rounding. */
#define RELAY_BURST_MS 1000u

void relay_params_default(struct relay_params *p)
{
	p->max_allocs = RELAY_DEFAULT_MAX_ALLOCS;
	p->pps = RELAY_DEFAULT_PPS;
	p->bytes_ps = (uint64_t)RELAY_DEFAULT_MBIT * 1000000u / 8u;
}

void relay_init(struct relay *r, const struct relay_params *p, relay_send_fn send, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->p = *p;
	if (r->p.max_allocs == 0)
		r->p.max_allocs = 1;
	ntm_idmap_init(&r->by_id);
	r->send = send;
	r->send_arg = arg;
	ntm_ratelimit_init(&r->probe_rl, RELAY_PROBE_RATE, RELAY_PROBE_BURST);
}

static void alloc_destroy(struct relay *r, struct relay_alloc *a)
{
	ntm_idmap_del(&r->by_id, a->id);
	if (a->prev)
		a->prev->next = a->next;
	else
		r->head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	ntm_relaycap_key_free(&a->side[0].key);
	ntm_relaycap_key_free(&a->side[1].key);
	ntm_wipe(a, sizeof(*a));
	free(a);
	r->stats.allocs--;
}

void relay_free_all(struct relay *r)
{
	while (r->head)
		alloc_destroy(r, r->head);
	ntm_idmap_free(&r->by_id);
	relay_probe_keys_wipe(&r->probe_keys);
}

static int key_hash(uint8_t out[32], const uint8_t key_a[32], const uint8_t key_b[32])
{
	uint8_t both[64];
	int ret;

	memcpy(both, key_a, 32);
	memcpy(both + 32, key_b, 32);
	ret = ntm_sha256(out, both, sizeof(both));
	ntm_wipe(both, sizeof(both));
	return ret;
}

static void bucket_fill(struct relay *r, struct relay_alloc *a)
{
	a->pkt_mtok = r->p.pps * RELAY_BURST_MS;
	a->byte_mtok = r->p.bytes_ps * RELAY_BURST_MS;
}

int relay_alloc(struct relay *r, uint32_t id, uint32_t lifetime_s, const uint8_t key_a[32],
		const uint8_t key_b[32], uint64_t now_ms)
{
	uint8_t hash[32];
	struct relay_alloc *a;
	int ret;

	if (id == 0 || lifetime_s == 0)
		return -EINVAL;
	if ((ret = key_hash(hash, key_a, key_b)) < 0)
		return ret;
	a = ntm_idmap_get(&r->by_id, id);
	if (a) {
		if (ntm_memeq_ct(a->keyhash, hash, sizeof(hash)) != 0) {
			r->stats.allocs_refused++;
			return -EEXIST;
		}
		a->lifetime_ms = (uint64_t)lifetime_s * 1000u;
		return 0; /* the same allocation again: its ACK was lost */
	}
	if (r->stats.allocs >= r->p.max_allocs) {
		r->stats.allocs_refused++;
		return -ENOSPC;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->id = id;
	memcpy(a->keyhash, hash, sizeof(hash));
	if ((ret = ntm_relaycap_key_init(&a->side[0].key, key_a)) < 0 ||
	    (ret = ntm_relaycap_key_init(&a->side[1].key, key_b)) < 0 ||
	    (ret = ntm_idmap_put(&r->by_id, id, a)) < 0)
		goto fail;
	for (int s = 0; s < 2; s++)
		ntm_replay_init(&a->side[s].replay);
	a->last_ms = a->tok_ms = now_ms;
	a->lifetime_ms = (uint64_t)lifetime_s * 1000u;
	bucket_fill(r, a);
	a->next = r->head;
	if (r->head)
		r->head->prev = a;
	r->head = a;
	r->stats.allocs++;
	r->stats.allocs_made++;
	return 0;
fail:
	ntm_relaycap_key_free(&a->side[0].key);
	ntm_relaycap_key_free(&a->side[1].key);
	ntm_wipe(a, sizeof(*a));
	free(a);
	return ret;
}

int relay_free(struct relay *r, uint32_t id)
{
	struct relay_alloc *a = ntm_idmap_get(&r->by_id, id);

	if (!a)
		return -ENOENT;
	alloc_destroy(r, a);
	r->stats.allocs_freed++;
	return 0;
}

bool relay_has(const struct relay *r, uint32_t id)
{
	return ntm_idmap_get(&r->by_id, id) != NULL;
}

size_t relay_expire(struct relay *r, uint64_t now_ms)
{
	struct relay_alloc *a = r->head, *next;
	size_t n = 0;

	for (; a; a = next) {
		next = a->next;
		if (now_ms - a->last_ms <= a->lifetime_ms)
			continue;
		alloc_destroy(r, a);
		r->stats.allocs_expired++;
		n++;
	}
	return n;
}

/* Take one packet of bytes bytes from a's buckets; false = over the rate. */
static bool rate_take(struct relay *r, struct relay_alloc *a, size_t bytes, uint64_t now_ms)
{
	uint64_t pkt_cap = r->p.pps * RELAY_BURST_MS, byte_cap = r->p.bytes_ps * RELAY_BURST_MS;
	uint64_t dt = now_ms > a->tok_ms ? now_ms - a->tok_ms : 0;

	if (dt > RELAY_BURST_MS)
		dt = RELAY_BURST_MS; /* a full bucket either way; avoids overflow */
	a->tok_ms = now_ms;
	a->pkt_mtok += dt * r->p.pps;
	if (a->pkt_mtok > pkt_cap)
		a->pkt_mtok = pkt_cap;
	a->byte_mtok += dt * r->p.bytes_ps;
	if (a->byte_mtok > byte_cap)
		a->byte_mtok = byte_cap;
	uint64_t need_b = (uint64_t)bytes * 1000u;
	if (a->pkt_mtok < 1000u || a->byte_mtok < need_b)
		return false;
	a->pkt_mtok -= 1000u;
	a->byte_mtok -= need_b;
	return true;
}

/* Count an outcome and return it. */
static enum relay_verdict count(uint64_t *counter, enum relay_verdict v)
{
	(*counter)++;
	return v;
}

/* The checks of doc/protocol.md 2.5, in order; on success *ap is the
 * allocation (m->side names the sending side). The replay window is peeked
 * before the tag is checked (a replay costs no AES) and written only after. */
static enum relay_verdict check(struct relay *r, const uint8_t *buf, size_t len,
				struct ntm_relay_msg *m, struct relay_alloc **ap)
{
	struct relay_stats *st = &r->stats;

	if (ntm_relay_decode(buf, len, m) < 0)
		return count(&st->drop_malformed, RELAY_DROP_MALFORMED);
	struct relay_alloc *a = ntm_idmap_get(&r->by_id, m->alloc_id);
	if (!a)
		return count(&st->drop_unknown_alloc, RELAY_DROP_UNKNOWN_ALLOC);
	if (m->direction != 0)
		return count(&st->drop_bad_direction, RELAY_DROP_BAD_DIRECTION);
	struct relay_side *s = &a->side[m->side];
	if (!ntm_replay_peek(&s->replay, m->counter))
		return count(&st->drop_replay, RELAY_DROP_REPLAY);
	if (ntm_relaycap_verify(&s->key, buf, len, m) < 0)
		return count(&st->drop_auth, RELAY_DROP_AUTH);
	if (!ntm_replay_check(&s->replay, m->counter))
		return count(&st->drop_replay, RELAY_DROP_REPLAY);
	*ap = a;
	return RELAY_FORWARDED;
}

/* Side `fromside` sent a datagram while the other side was unknown: the
 * other side is known now, so it goes out (counted as forwarded). */
static void send_held(struct relay *r, struct relay_alloc *a, unsigned fromside, uint64_t now_ms)
{
	struct relay_side *from = &a->side[fromside], *to = &a->side[fromside ^ 1];
	uint8_t out[NTM_RELAY_OVERHEAD + RELAY_HOLD_MAX];
	uint64_t ctr;
	size_t len = from->held_len;

	from->held_len = 0;
	if (!rate_take(r, a, len, now_ms) || !ntm_counter_next(&to->tx_next, &ctr)) {
		r->stats.held_dropped++;
		return;
	}
	int n = ntm_relaycap_seal(&to->key, out, sizeof(out), (uint8_t)(fromside ^ 1), 1, a->id, ctr,
				  from->held, len);
	if (n < 0 || r->send(r->send_arg, &to->ep, out, (size_t)n) < 0) {
		r->stats.held_dropped++;
		return;
	}
	r->stats.held_sent++;
	r->stats.forwarded_bytes += len;
}

void relay_set_batch(struct relay *r, relay_sendv_fn sendv)
{
	relay_flush(r);
	r->sendv = sendv;
}

void relay_set_gso(struct relay *r, relay_sendtrain_fn sendtrain)
{
	relay_flush(r);
	r->sendtrain = sendtrain;
}

/* Is b's destination a's (socket, peer address, local address)? */
static bool same_dest(const struct ntm_udp_tx *a, const struct ntm_udp_tx *b)
{
	const struct ntm_udp_meta *x = &a->to, *y = &b->to;

	if (a->fd != b->fd || x->srclen != y->srclen || x->has_dst != y->has_dst)
		return false;
	if (ntm_sockaddr_cmp((const struct sockaddr *)&x->src, (const struct sockaddr *)&y->src))
		return false;
	return !x->has_dst || (x->family == y->family && memcmp(x->dst, y->dst, 16) == 0);
}

size_t relay_plan_trains(const struct ntm_udp_tx *tx, size_t n, uint8_t *order,
			 struct relay_train *trains)
{
	bool used[RELAY_QUEUE] = { false };
	size_t nt = 0, k = 0;

	if (n > RELAY_QUEUE)
		n = RELAY_QUEUE;
	for (size_t i = 0; i < n; i++) {
		if (used[i])
			continue;
		/* A train starts at the first datagram not yet placed and takes
		 * the next ones to its destination while they fit. Stopping at
		 * the first one that does not keeps that destination's order. */
		struct relay_train *t = &trains[nt++];
		size_t seg = tx[i].len, bytes = seg;
		t->first = (uint8_t)k;
		t->count = 1;
		t->seg = seg > UINT16_MAX ? UINT16_MAX : (uint16_t)seg;
		order[k++] = (uint8_t)i;
		used[i] = true;
		if (seg == 0 || seg > UINT16_MAX)
			continue; /* not a segment size */
		for (size_t j = i + 1; j < n; j++) {
			if (used[j] || !same_dest(&tx[i], &tx[j]))
				continue;
			size_t len = tx[j].len;
			if (len == 0 || len > seg || t->count >= NTM_UDP_TRAIN_MAX ||
			    bytes + len > NTM_UDP_TRAIN_BYTES)
				break;
			order[k++] = (uint8_t)j;
			used[j] = true;
			t->count++;
			bytes += len;
			if (len < seg)
				break; /* a shorter one ends its train */
		}
	}
	return nt;
}

size_t relay_gro_count(size_t len, uint16_t gro_size)
{
	if (gro_size == 0 || len <= gro_size)
		return 1;
	return (len + gro_size - 1) / gro_size;
}

size_t relay_gro_seg(size_t len, uint16_t gro_size, size_t i, size_t *off)
{
	if (gro_size == 0 || len <= gro_size) {
		*off = 0;
		return i == 0 ? len : 0;
	}
	size_t o = i * gro_size;
	if (o >= len) {
		*off = len;
		return 0;
	}
	*off = o;
	return len - o < gro_size ? len - o : gro_size;
}

/* The datagrams gathered in r->single go out with sendv; their errors are
 * copied back into the queue. */
static void send_singles(struct relay *r, size_t *ns)
{
	if (*ns == 0)
		return;
	r->sendv(r->send_arg, r->single, *ns);
	for (size_t i = 0; i < *ns; i++)
		r->out[r->single_idx[i]].err = r->single[i].err;
	*ns = 0;
}

/* The kernel refused a train to out[q]'s destination: no more trains
 * there, in this flush and (if the endpoint is still the same) after. */
static void gso_refused(struct relay *r, size_t q)
{
	struct relay_alloc *a = ntm_idmap_get(&r->by_id, r->out_alloc[q]);

	r->stats.tx_gso_fallback++;
	if (a) {
		struct relay_ep *ep = &a->side[r->out_side[q]].ep;
		struct ntm_udp_tx cur = { .fd = ep->fd, .to = ep->meta };
		if (ep->known && same_dest(&cur, &r->out[q]))
			ep->no_gso = true;
	}
	for (size_t i = 0; i < r->nout; i++)
		if (same_dest(&r->out[i], &r->out[q]))
			r->out_no_gso[i] = true;
}

/* Send the queue as trains where the plan makes them, the rest one by one,
 * in the plan's order (so each destination's order is kept). */
static void flush_trains(struct relay *r)
{
	size_t nt = relay_plan_trains(r->out, r->nout, r->order, r->trains), ns = 0;
	struct iovec iov[NTM_UDP_TRAIN_MAX];

	for (size_t t = 0; t < nt; t++) {
		const struct relay_train *tr = &r->trains[t];
		const uint8_t *idx = r->order + tr->first;
		if (tr->count > 1 && !r->out_no_gso[idx[0]]) {
			send_singles(r, &ns); /* those before it leave first */
			for (size_t i = 0; i < tr->count; i++) {
				iov[i].iov_base = (void *)r->out[idx[i]].buf;
				iov[i].iov_len = r->out[idx[i]].len;
			}
			const struct ntm_udp_tx *o = &r->out[idx[0]];
			int ret = r->sendtrain(r->send_arg, o->fd, iov, tr->count, tr->seg, &o->to);
			if (ret == 0) {
				r->stats.tx_trains++;
				r->stats.tx_train_capsules += tr->count;
				for (size_t i = 0; i < tr->count; i++)
					r->out[idx[i]].err = 0;
				continue;
			}
			if (ret != -EIO && ret != -EINVAL) {
				for (size_t i = 0; i < tr->count; i++)
					r->out[idx[i]].err = ret;
				continue;
			}
			gso_refused(r, idx[0]); /* and these go one by one */
		}
		for (size_t i = 0; i < tr->count; i++) {
			r->single_idx[ns] = idx[i];
			r->single[ns++] = r->out[idx[i]];
		}
	}
	send_singles(r, &ns);
}

void relay_flush(struct relay *r)
{
	if (!r->sendv || r->nout == 0)
		return;
	if (r->sendtrain)
		flush_trains(r);
	else
		r->sendv(r->send_arg, r->out, r->nout);
	for (size_t i = 0; i < r->nout; i++) {
		if (r->out[i].err >= 0)
			continue;
		/* Counted as forwarded when queued; it was not. */
		r->stats.forwarded--;
		r->stats.forwarded_bytes -= r->out_inner[i];
		r->stats.drop_send_error++;
	}
	r->nout = 0;
}

/* Queue a re-wrapped capsule for side `side` of a. The endpoint is copied:
 * a later capsule of the batch may move it, or the allocation may be freed. */
static void queue(struct relay *r, const struct relay_alloc *a, unsigned side, const uint8_t *buf,
		  size_t len, size_t inner_len)
{
	const struct relay_ep *ep = &a->side[side].ep;

	if (r->nout == RELAY_QUEUE)
		relay_flush(r);
	struct ntm_udp_tx *t = &r->out[r->nout];
	t->fd = ep->fd;
	t->buf = buf;
	t->len = len;
	t->to = ep->meta;
	t->err = 0;
	r->out_inner[r->nout] = (uint16_t)inner_len;
	r->out_alloc[r->nout] = a->id;
	r->out_side[r->nout] = (uint8_t)side;
	r->out_no_gso[r->nout] = ep->no_gso;
	r->nout++;
}

/* Does a capsule from src on fd come from where ep is? */
static bool ep_is(const struct relay_ep *ep, const struct ntm_udp_meta *src, int fd)
{
	struct ntm_udp_tx x = { .fd = ep->fd, .to = ep->meta }, y = { .fd = fd, .to = *src };

	return ep->known && same_dest(&x, &y);
}

enum relay_verdict relay_input(struct relay *r, uint8_t *buf, size_t len,
			       const struct ntm_udp_meta *src, int fd, uint64_t now_ms)
{
	struct relay_stats *st = &r->stats;
	struct ntm_relay_msg m;
	struct relay_alloc *a = NULL;
	enum relay_verdict v;

	st->rx++;
	v = check(r, buf, len, &m, &a);
	if (v != RELAY_FORWARDED)
		return v;
	/* Authenticated and fresh: only now may the side's endpoint move. */
	struct relay_side *from = &a->side[m.side], *to = &a->side[m.side ^ 1];
	if (!ep_is(&from->ep, src, fd))
		from->ep.no_gso = false; /* a new path: trains may work there */
	from->ep.meta = *src;
	from->ep.fd = fd;
	from->ep.known = true;
	a->last_ms = now_ms;
	if (to->held_len)
		send_held(r, a, m.side ^ 1, now_ms);
	if (m.inner_len == 0)
		return count(&st->keepalives, RELAY_KEEPALIVE);
	if (!to->ep.known) {
		if (m.inner_len > RELAY_HOLD_MAX)
			return count(&st->drop_no_peer_endpoint, RELAY_DROP_NO_PEER_ENDPOINT);
		if (from->held_len)
			st->held_dropped++; /* the newer one replaces it */
		memcpy(from->held, buf + NTM_RELAY_HDR_LEN, m.inner_len);
		from->held_len = (uint16_t)m.inner_len;
		return count(&st->held, RELAY_HELD);
	}
	if (!rate_take(r, a, m.inner_len, now_ms))
		return count(&st->drop_rate, RELAY_DROP_RATE);
	uint64_t ctr;
	if (!ntm_counter_next(&to->tx_next, &ctr))
		return count(&st->drop_send_error, RELAY_DROP_SEND_ERROR);
	/* m.inner already sits at buf + 16: the new header and tag go around it. */
	int n = ntm_relaycap_seal(&to->key, buf, len, m.side ^ 1, 1, m.alloc_id, ctr,
				  buf + NTM_RELAY_HDR_LEN, m.inner_len);
	if (n < 0)
		return count(&st->drop_send_error, RELAY_DROP_SEND_ERROR);
	if (r->sendv)
		queue(r, a, m.side ^ 1u, buf, (size_t)n, m.inner_len);
	else if (r->send(r->send_arg, &to->ep, buf, (size_t)n) < 0)
		return count(&st->drop_send_error, RELAY_DROP_SEND_ERROR);
	st->forwarded_bytes += m.inner_len;
	return count(&st->forwarded, RELAY_FORWARDED);
}

int relay_udp_send(void *arg, const struct relay_ep *ep, const uint8_t *buf, size_t len)
{
	(void)arg;
	ssize_t n = ntm_udp_send(ep->fd, buf, len, (const struct sockaddr *)&ep->meta.src,
				 ep->meta.srclen, &ep->meta);
	return n < 0 ? (int)n : 0;
}

void relay_udp_sendv(void *arg, struct ntm_udp_tx *tx, size_t n)
{
	(void)arg;
	ntm_udp_send_batch(tx, n);
}

int relay_udp_sendtrain(void *arg, int fd, const struct iovec *iov, size_t n, size_t seg,
			const struct ntm_udp_meta *to)
{
	(void)arg;
	ssize_t r = ntm_udp_send_segments(fd, iov, n, seg, to);
	return r < 0 ? (int)r : 0;
}

/* ---- RELAY_PROBE (doc/protocol.md 2.11) ---- */

static bool probe_key_live(const struct relay_probe_key *k, uint64_t now_ms)
{
	return k->id != 0 && now_ms >= k->made_ms && now_ms - k->made_ms < k->lifetime_ms;
}

void relay_probe_keys_add(struct relay_probe_keys *ks, uint32_t id, const uint8_t key[32],
			  uint32_t lifetime_s, uint64_t now_ms)
{
	struct relay_probe_key *k0 = &ks->k[0];

	if (id == 0 || lifetime_s == 0)
		return;
	if (k0->id == id && ntm_memeq_ct(k0->key, key, 32) == 0)
		return; /* a repeat: the key keeps its age */
	for (int i = RELAY_PROBE_KEYS - 1; i > 0; i--)
		ks->k[i] = ks->k[i - 1];
	k0->id = id;
	memcpy(k0->key, key, 32);
	k0->made_ms = now_ms;
	k0->lifetime_ms = (uint64_t)lifetime_s * 1000;
}

void relay_probe_keys_wipe(struct relay_probe_keys *ks)
{
	ntm_wipe(ks, sizeof(*ks));
}

enum relay_probe_verdict relay_probe_check(const struct relay_probe_keys *ks,
					   const struct ntm_relay_token *t, uint64_t now_ms)
{
	uint8_t mac[NTM_RELAY_TOKEN_MAC_LEN];

	for (int i = 0; i < RELAY_PROBE_KEYS; i++) {
		const struct relay_probe_key *k = &ks->k[i];
		if (k->id != t->key_id || !probe_key_live(k, now_ms))
			continue;
		if (ntm_relay_token_mac(k->key, t->key_id, t->not_after_ms, mac) < 0 ||
		    ntm_memeq_ct(mac, t->mac, sizeof(mac)) != 0)
			return RELAY_PROBE_DROP_AUTH;
		if (now_ms - k->made_ms > t->not_after_ms)
			return RELAY_PROBE_DROP_EXPIRED;
		return RELAY_PROBE_ECHOED;
	}
	return RELAY_PROBE_DROP_KEY;
}

int relay_probe_mint(const struct relay_probe_key *k, uint64_t life_ms, uint64_t now_ms,
		     struct ntm_relay_token *t)
{
	if (!probe_key_live(k, now_ms))
		return -ENOKEY;
	uint64_t na = now_ms - k->made_ms + life_ms;
	memset(t, 0, sizeof(*t));
	t->key_id = k->id;
	t->not_after_ms = na > UINT32_MAX ? UINT32_MAX : (uint32_t)na;
	return ntm_relay_token_mac(k->key, k->id, t->not_after_ms, t->mac);
}

enum relay_probe_verdict relay_probe_input(struct relay *r, uint8_t *buf, size_t len,
					   const struct ntm_udp_meta *src, int fd, uint64_t now_ms)
{
	struct ntm_relay_probe p;
	enum relay_probe_verdict v;

	r->stats.probes++;
	if (ntm_relay_probe_decode(buf, len, &p) < 0 || p.kind != NTM_RELAY_PROBE_REQUEST) {
		r->stats.probe_drop_malformed++;
		return RELAY_PROBE_DROP_MALFORMED;
	}
	v = relay_probe_check(&r->probe_keys, &p.token, now_ms);
	if (v == RELAY_PROBE_ECHOED &&
	    !ntm_ratelimit_allow(&r->probe_rl, (const struct sockaddr *)&src->src, now_ms))
		v = RELAY_PROBE_DROP_RATE;
	if (v == RELAY_PROBE_ECHOED) {
		struct relay_ep ep = { .meta = *src, .fd = fd, .known = true };
		p.kind = NTM_RELAY_PROBE_ECHO;
		if (ntm_relay_probe_encode(buf, len, &p) != (int)len ||
		    r->send(r->send_arg, &ep, buf, len) < 0)
			v = RELAY_PROBE_DROP_SEND_ERROR;
	}
	switch (v) {
	case RELAY_PROBE_ECHOED: r->stats.probe_echoes++; break;
	case RELAY_PROBE_DROP_KEY: r->stats.probe_drop_key++; break;
	case RELAY_PROBE_DROP_AUTH: r->stats.probe_drop_auth++; break;
	case RELAY_PROBE_DROP_EXPIRED: r->stats.probe_drop_expired++; break;
	case RELAY_PROBE_DROP_RATE: r->stats.probe_drop_rate++; break;
	case RELAY_PROBE_DROP_SEND_ERROR: r->stats.probe_drop_send_error++; break;
	case RELAY_PROBE_DROP_MALFORMED: r->stats.probe_drop_malformed++; break;
	}
	return v;
}
