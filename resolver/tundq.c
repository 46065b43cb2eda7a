/* tundq.c - questions to ntm-tund's control socket (doc/control.md) from
 * inside the event loop, and a small cache of its answers.
 *
 * Connections. The stub keeps a few persistent connections and pipelines
 * its questions on them: each carries a request ID (a counter), and since
 * ntm-tund answers one connection's requests in order, a ring of the
 * questions in flight per connection pairs each reply with its question
 * (the ID is checked; a mismatch is a protocol error). A request ntm-tund
 * defers (a tunnel being set up, up to RS_TUND_WAIT_MS) holds up the ones
 * behind it on that connection, so a connection whose oldest question has
 * waited RS_TUND_STALL_MS counts as stalled and new questions go to
 * another, opened on demand, up to RS_TUND_CONNS. Requests are written
 * into each connection's output queue (lib/stream.h) and flushed once per
 * batch of client queries (tundq_flush), so one send() carries many.
 *
 * Failures. Every question has a deadline (RS_TUND_TIMEOUT_MS): the client
 * gets SERVFAIL and the question's slot is orphaned, so the late reply is
 * still paired correctly. When a connection ends (ntm-tund stopped or
 * restarted), every question in flight on it gets SERVFAIL at once, and
 * the answer cache is emptied. A failed connect starts a backoff (100 ms
 * doubling to RS_TUND_BACKOFF_MAX_MS): until it ends, overlay questions
 * get SERVFAIL without a connect attempt; a change of ntm-tund's nss file
 * (it rewrites it when it starts) ends it early. Connections idle for
 * RS_TUND_IDLE_MS are closed by the stub before ntm-tund's own 10 s idle
 * timeout could race with a new question. Any failure is a SERVFAIL for
 * the client: an overlay name is never sent upstream.
 *
 * Trust: the same checks as lib/ctlclient.c (a socket whose peer is root
 * or the socket's owner).
 *
 * Cache. Answers (found, NODATA, NOTFOUND; not failures) are kept for the
 * TTL ntm-tund gives, at most NTM_DNS_OVERLAY_TTL seconds, in a
 * direct-mapped table keyed by the lower-cased name or the address;
 * served answers carry the remaining TTL. It is emptied when ntm-tund's
 * nss file changes or a connection to ntm-tund ends. OverlayCache = no
 * turns it off. While ntm-tund's names map is live (mapfile.h), positive
 * answers are not cached (map_owns): live names come from the map, and a
 * name that left it must reach ntm-tund, which sets its tunnel up again.
 *
 * Ready answers. Beside each cached answer the stub keeps the responses
 * made from it ready to send (dnsready.h), one per question asked (name,
 * type, DO, CD), in a second cache (cache.c) that expires and empties with
 * the answer cache: a repeated overlay question is answered with a copy
 * and a few stores, not a response built anew. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "log.h"
#include "resolverd.h"
#include "stream.h"
#include "util.h"

struct tund_slot {
	uint32_t id;
	struct rq *q;                   /* NULL: orphaned (timed out, client gone) */
	uint64_t sent_ms;
};

struct tundc {
	struct tundq *t;
	struct ntm_stream st;           /* in: two replies at their longest */
	struct tund_slot ring[RS_TUND_RING];
	unsigned head, n;
	uint64_t last_ms;               /* last request sent or reply received */
};

struct ovc_entry {
	uint64_t gen;                   /* 0 or stale: empty */
	uint64_t expires_ms, stored_ms;
	uint8_t keylen;
	uint8_t key[255];
	struct dnsq_overlay_answer a;
};

struct tundq {
	struct resolverd *r;
	struct tundc *c[RS_TUND_CONNS];
	uint32_t next_id;
	uint64_t down_until_ms;
	unsigned backoff_ms;
	struct ntm_timer tick;
	uint64_t gen;
	struct ovc_entry *cache;        /* RS_OVC_SLOTS */
	struct cache *ready;            /* responses ready to send */
	bool dirty;                     /* some connection has unsent output */
};

/* ---- the answer cache --------------------------------------------------- */

/* The key: 'N' + lower-case name, or 'A' + family byte + address. */
static size_t cache_key(const struct rq *q, enum dnsq_kind kind, uint8_t *key)
{
	if (kind == DNSQ_OVERLAY_NAME) {
		size_t n = strlen(q->q.name);
		if (n == 0 || n > 250)
			return 0;
		key[0] = 'N';
		memcpy(key + 1, q->q.name, n);
		return n + 1;
	}
	key[0] = 'A';
	key[1] = (uint8_t)q->q.af;
	size_t al = q->q.af == AF_INET ? 4 : 16;
	memcpy(key + 2, q->q.addr, al);
	return al + 2;
}

static uint32_t key_hash(const uint8_t *k, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * UINT64_C(0x100000001b3);
	return (uint32_t)(h ^ (h >> 32));
}

static struct ovc_entry *cache_slot(struct tundq *t, const uint8_t *key, size_t n)
{
	return &t->cache[key_hash(key, n, t->r->hash_key) % RS_OVC_SLOTS];
}

/* With a live names map, positive answers are the map's: a live name is
 * answered from it, and one that is not there (its tunnel went down) must
 * reach ntm-tund, which sets the tunnel up again; so they are not cached.
 * Negative answers (NXDOMAIN) still are. */
static bool map_owns(const struct tundq *t, const struct dnsq_overlay_answer *a)
{
	return a->status == DNSQ_OVERLAY_FOUND && mapfile_live(t->r->mf);
}

/* Every cached answer is gone (ntm-tund restarted or its names changed). */
static void ovc_flush(struct tundq *t)
{
	t->gen++;
	if (t->ready)
		cache_flush(t->ready);
}

/* Keep the response to q made from a (held age_ms already, for ttl
 * seconds in all) ready for the next time q's question is asked. */
static void ready_put(struct tundq *t, struct rq *q, const struct dnsq_overlay_answer *a,
		      uint32_t ttl, uint64_t age_ms)
{
	struct resolverd *r = t->r;
	struct dnsq full = q->q;
	struct dnsq_overlay_answer fresh = *a;

	if (!t->ready || a->status == DNSQ_OVERLAY_FAILED || ttl == 0 || map_owns(t, a))
		return;
	full.edns = true;
	full.limit = 65535;
	fresh.age = 0;          /* the cache ages the TTLs from the answer's birth */
	int n = dnsq_overlay_response(&full, &r->ov, &fresh, r->full, sizeof(r->full));
	int m = n > 0 ? dnsready_make(r->full, (size_t)n, DNSREADY_AGE_ADDRS, r->ready,
				      sizeof(r->ready)) : -EBADMSG;
	if (m <= 0)
		return;
	handle_key(q);
	cache_put_aged(t->ready, q->hash, q->key, q->keylen, r->ready, (size_t)m, ttl, age_ms);
}

/* Answer q from a ready response; false when there is none. */
static bool ready_get(struct tundq *t, struct rq *q)
{
	struct resolverd *r = t->r;
	const uint8_t *b;
	size_t blen;
	uint32_t age;

	if (!t->ready)
		return false;
	handle_key(q);
	if (cache_get(t->ready, q->hash, q->key, q->keylen, &b, &blen, &age) < 0)
		return false;
	int n = dnsready_patch(b, blen, &q->q, age, r->buf, sizeof(r->buf));
	if (n <= 0)
		return false;
	r->stats.overlay_cache_hits++;
	r->stats.answered_overlay++;
	server_reply(q, r->buf, (size_t)n);
	return true;
}

static bool ovc_get(struct tundq *t, struct rq *q, enum dnsq_kind kind,
		      struct dnsq_overlay_answer *a)
{
	uint8_t key[255];
	size_t n = cache_key(q, kind, key);
	uint64_t now = ntm_loop_now_ms();

	if (!n || !t->cache)
		return false;
	struct ovc_entry *e = cache_slot(t, key, n);
	if (e->gen != t->gen || e->keylen != n || memcmp(e->key, key, n) != 0 ||
	    now >= e->expires_ms || map_owns(t, &e->a))
		return false;
	*a = e->a;
	a->age = (uint32_t)((now - e->stored_ms) / 1000);
	ready_put(t, q, a, (uint32_t)((e->expires_ms - e->stored_ms) / 1000), now - e->stored_ms);
	return true;
}

static void ovc_put(struct tundq *t, struct rq *q, const struct dnsq_overlay_answer *a,
		      uint32_t ttl)
{
	uint8_t key[255];
	size_t n = cache_key(q, q->tkind, key);
	uint64_t now = ntm_loop_now_ms();

	if (!n || !t->cache || a->status == DNSQ_OVERLAY_FAILED || ttl == 0 || map_owns(t, a))
		return;
	if (ttl > NTM_DNS_OVERLAY_TTL)
		ttl = NTM_DNS_OVERLAY_TTL;
	ready_put(t, q, a, ttl, 0);
	struct ovc_entry *e = cache_slot(t, key, n);
	e->gen = t->gen;
	e->stored_ms = now;
	e->expires_ms = now + (uint64_t)ttl * 1000;
	e->keylen = (uint8_t)n;
	memcpy(e->key, key, n);
	e->a = *a;
	e->a.age = 0;
}

/* ---- one connection ----------------------------------------------------- */

static void answer(struct rq *q, const struct dnsq_overlay_answer *a)
{
	q->tc = NULL;
	ntm_timer_cancel(&q->ttimer);
	handle_overlay_done(q, a);
}

static void fail(struct rq *q)
{
	struct dnsq_overlay_answer a = { .status = DNSQ_OVERLAY_FAILED };
	answer(q, &a);
}

/* Close c; every question in flight on it gets SERVFAIL. lost: ntm-tund
 * ended it (not an idle close of ours), so its cached answers go too. */
static void conn_close(struct tundc *c, bool lost)
{
	struct tundq *t = c->t;

	for (unsigned i = 0; i < RS_TUND_CONNS; i++)
		if (t->c[i] == c)
			t->c[i] = NULL;
	ntm_stream_close(&c->st);
	if (lost) {
		t->r->stats.tund_lost++;
		ovc_flush(t);
	}
	/* answer after unlinking: handle_overlay_done may start new questions */
	while (c->n) {
		struct rq *q = c->ring[c->head].q;
		c->head = (c->head + 1) % RS_TUND_RING;
		c->n--;
		if (q)
			fail(q);
	}
	free(c);
}

/* Send what is buffered; false when c was closed. */
static bool conn_flush(struct tundc *c)
{
	if (ntm_stream_flush(&c->st) < 0) {
		conn_close(c, true);
		return false;
	}
	return true;
}

/* One reply: pairs it with the oldest question. False when c was closed. */
static bool on_reply(struct tundc *c, const uint8_t *msg, size_t len)
{
	struct ntm_lctl_hdr h;
	struct ntm_lctl_resolve res;
	struct dnsq_overlay_answer a = { 0 };
	struct tund_slot *s = &c->ring[c->head];

	if (ntm_lctl_decode_resolve(msg, len, &h, &res) < 0 || h.req_id != s->id) {
		log_warn("ntm-tund sent a malformed or unexpected reply; reconnecting");
		conn_close(c, true);
		return false;
	}
	struct rq *q = s->q;
	c->head = (c->head + 1) % RS_TUND_RING;
	c->n--;
	c->last_ms = ntm_loop_now_ms();
	switch (h.status) {
	case NTM_LCTL_OK:
		a.status = DNSQ_OVERLAY_FOUND;
		for (unsigned i = 0; i < res.n_addrs; i++) {
			if (res.addrs[i].family == 4 && a.n4 < NTM_ARRAY_SIZE(a.v4))
				memcpy(a.v4[a.n4++], res.addrs[i].addr, 4);
			else if (res.addrs[i].family == 6 && a.n6 < NTM_ARRAY_SIZE(a.v6))
				memcpy(a.v6[a.n6++], res.addrs[i].addr, 16);
		}
		snprintf(a.ptr_name, sizeof(a.ptr_name), "%s", res.name);
		break;
	case NTM_LCTL_NOTFOUND:
		a.status = DNSQ_OVERLAY_UNKNOWN;
		res.ttl = NTM_DNS_OVERLAY_TTL;
		break;
	case NTM_LCTL_NODATA:
		a.status = DNSQ_OVERLAY_FOUND; /* known, no address of the family: NODATA */
		res.ttl = NTM_DNS_OVERLAY_TTL;
		break;
	default:
		a.status = DNSQ_OVERLAY_FAILED;
	}
	if (q) { /* (NULL: its client was answered at the deadline, or left) */
		ovc_put(c->t, q, &a, res.ttl);
		answer(q, &a);
	}
	return true;
}

/* The complete replies in the input buffer. False when c was closed. */
static bool on_input(struct tundc *c)
{
	size_t off = 0;

	while (c->st.inlen - off >= NTM_LCTL_HDR_LEN) {
		struct ntm_lctl_hdr h;
		if (ntm_lctl_header_parse(c->st.in + off, c->st.inlen - off, &h) < 0 ||
		    h.body_len > NTM_LCTL_RESOLVE_MSG_MAX - NTM_LCTL_HDR_LEN || c->n == 0) {
			log_warn("ntm-tund sent a malformed or unexpected reply; reconnecting");
			conn_close(c, true);
			return false;
		}
		size_t mlen = NTM_LCTL_HDR_LEN + h.body_len;
		if (c->st.inlen - off < mlen)
			break;
		if (!on_reply(c, c->st.in + off, mlen))
			return false;
		off += mlen;
	}
	ntm_stream_consume(&c->st, off);
	return true;
}

static void on_io(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tundc *c = arg;
	struct resolverd *r = c->t->r;
	(void)io;

	if ((events & EPOLLOUT) && !conn_flush(c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	server_batch_begin(r);
	for (int rounds = 0; rounds < 16; rounds++) {
		/* never -ENOBUFS: on_input leaves less than one reply behind */
		ssize_t n = ntm_stream_read(&c->st);
		if (n == 0)
			break;
		if (n < 0) {
			conn_close(c, true);
			break;
		}
		bool drained = c->st.inlen < c->st.incap;
		if (!on_input(c) || drained)
			break;
	}
	server_batch_end(r);
}

static int connect_checked(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	if (!path[0] || strlen(path) >= sizeof(sun.sun_path))
		return -ENOENT;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EPERM;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != st.st_uid)) {
		int err = errno ? -errno : -EPERM;
		close(fd);
		return err;
	}
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}

static struct tundc *conn_open(struct tundq *t, unsigned slot)
{
	uint64_t now = ntm_loop_now_ms();

	if (now < t->down_until_ms)
		return NULL;
	errno = 0;
	int fd = connect_checked(t->r->tund_socket);
	if (fd < 0) {
		t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : RS_TUND_BACKOFF_MIN_MS;
		if (t->backoff_ms > RS_TUND_BACKOFF_MAX_MS)
			t->backoff_ms = RS_TUND_BACKOFF_MAX_MS;
		t->down_until_ms = now + t->backoff_ms;
		t->r->stats.tund_connect_failed++;
		return NULL;
	}
	struct tundc *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->t = t;
	c->last_ms = now;
	if (ntm_stream_open(&c->st, t->r->loop, fd, 2 * NTM_LCTL_RESOLVE_MSG_MAX,
			    RS_TUND_RING * RS_TUND_REQ_MAX, on_io, c) < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	t->backoff_ms = 0;
	t->c[slot] = c;
	t->r->stats.tund_connects++;
	return c;
}

/* The connection for a new question (module comment), or NULL. */
static struct tundc *pick(struct tundq *t)
{
	uint64_t now = ntm_loop_now_ms();
	struct tundc *best = NULL, *any = NULL;
	int free_slot = -1;

	for (unsigned i = 0; i < RS_TUND_CONNS; i++) {
		struct tundc *c = t->c[i];
		if (!c) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (c->n == RS_TUND_RING)
			continue;
		if (!any || c->n < any->n)
			any = c;
		bool stalled = c->n > 0 && now - c->ring[c->head].sent_ms >= RS_TUND_STALL_MS;
		if (!stalled && (!best || c->n < best->n))
			best = c;
	}
	if (best)
		return best;
	if (free_slot >= 0) {
		struct tundc *c = conn_open(t, (unsigned)free_slot);
		if (c)
			return c;
	}
	return any;
}

static void on_timeout(struct ntm_timer *tm, void *arg)
{
	struct rq *q = arg;
	(void)tm;
	tundq_cancel(q);
	q->r->stats.tund_timeouts++;
	fail(q);
}

/* Close connections idle for RS_TUND_IDLE_MS, and any whose oldest question
 * is far past every deadline (ntm-tund wedged). */
static void on_tick(struct ntm_timer *tm, void *arg)
{
	struct tundq *t = arg;
	uint64_t now = ntm_loop_now_ms();
	(void)tm;

	for (unsigned i = 0; i < RS_TUND_CONNS; i++) {
		struct tundc *c = t->c[i];
		if (!c)
			continue;
		if (c->n == 0 && !ntm_stream_pending(&c->st) && now - c->last_ms >= RS_TUND_IDLE_MS)
			conn_close(c, false);
		else if (c->n > 0 && now - c->ring[c->head].sent_ms >= 3 * RS_TUND_TIMEOUT_MS)
			conn_close(c, true);
	}
}

/* ---- the interface ------------------------------------------------------ */

int tundq_init(struct resolverd *r)
{
	struct tundq *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->r = r;
	t->gen = 1;
	if (r->cfg.overlay_cache) {
		struct cache_params cp = { .max_entries = 2 * RS_OVC_SLOTS, .max_bytes = 4u << 20,
					   .max_ttl = NTM_DNS_OVERLAY_TTL };
		t->cache = calloc(RS_OVC_SLOTS, sizeof(*t->cache));
		if (!t->cache || cache_new(&t->ready, &cp) < 0) {
			free(t->cache);
			free(t);
			return -ENOMEM;
		}
	}
	ntm_timer_init(&t->tick, r->loop, on_tick, t);
	ntm_timer_arm(&t->tick, 1000, 1000);
	r->tq = t;
	return 0;
}

void tundq_free(struct resolverd *r)
{
	struct tundq *t = r->tq;

	if (!t)
		return;
	for (unsigned i = 0; i < RS_TUND_CONNS; i++)
		if (t->c[i])
			conn_close(t->c[i], false);
	ntm_timer_cancel(&t->tick);
	cache_free(t->ready);
	free(t->cache);
	free(t);
	r->tq = NULL;
}

void tundq_changed(struct resolverd *r)
{
	if (!r->tq)
		return;
	ovc_flush(r->tq);
	r->tq->down_until_ms = 0;
	r->tq->backoff_ms = 0;
}

int tundq_start(struct rq *q, enum dnsq_kind kind)
{
	struct tundq *t = q->r->tq;
	struct dnsq_overlay_answer a;
	uint8_t *req;
	int len;

	if (!t)
		return -EIO;
	q->tkind = kind;
	if (ready_get(t, q))
		return 0;
	if (ovc_get(t, q, kind, &a)) {
		q->r->stats.overlay_cache_hits++;
		handle_overlay_done(q, &a);
		return 0;
	}
	struct tundc *c = pick(t);
	if (!c)
		return -EIO;
	req = ntm_stream_reserve(&c->st, RS_TUND_REQ_MAX, &len);
	if (!req)
		return len;
	uint32_t id = ++t->next_id;
	if (kind == DNSQ_OVERLAY_NAME)
		len = ntm_lctl_req_resolve_name(req, RS_TUND_REQ_MAX, id, q->q.name, NTM_LCTL_FAM_BOTH,
						RS_TUND_WAIT_MS);
	else
		len = ntm_lctl_req_resolve_addr(req, RS_TUND_REQ_MAX, id, q->q.af == AF_INET ? 4 : 6,
						q->q.addr);
	if (len < 0)
		return len;
	ntm_stream_commit(&c->st, (size_t)len);
	unsigned slot = (c->head + c->n) % RS_TUND_RING;
	c->ring[slot] = (struct tund_slot){ .id = id, .q = q, .sent_ms = ntm_loop_now_ms() };
	c->n++;
	c->last_ms = c->ring[slot].sent_ms;
	q->tc = c;
	ntm_timer_init(&q->ttimer, q->r->loop, on_timeout, q);
	ntm_timer_arm(&q->ttimer, RS_TUND_TIMEOUT_MS, 0);
	if (q->r->batching)
		t->dirty = true;
	else
		conn_flush(c); /* may close c and answer q: the caller must not touch q */
	return 0;
}

void tundq_flush(struct resolverd *r)
{
	struct tundq *t = r->tq;

	if (!t || !t->dirty)
		return;
	t->dirty = false;
	for (unsigned i = 0; i < RS_TUND_CONNS; i++)
		if (t->c[i] && ntm_stream_pending(&t->c[i]->st))
			conn_flush(t->c[i]);
}

void tundq_cancel(struct rq *q)
{
	struct tundc *c = q->tc;

	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++) {
		struct tund_slot *s = &c->ring[(c->head + i) % RS_TUND_RING];
		if (s->q == q)
			s->q = NULL;
	}
	ntm_timer_cancel(&q->ttimer);
	q->tc = NULL;
}
