/* handle.c - one query's way through ntm-resolverd: classified by dnsq.c;
 * answered locally, from ntm-tund's names map (live overlay names and
 * addresses, mapq.c), by ntm-tund (every other overlay question, never
 * sent upstream), from the cache, or by the upstream servers. */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h> /* before ldns, which otherwise defines its own bool */
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "log.h"
#include "resolverd.h"

static void respond_error(struct rq *q, int rcode)
{
	uint8_t resp[600];
	int n = dnsq_error_response(&q->q, rcode, resp, sizeof(resp));

	if (rcode == LDNS_RCODE_SERVFAIL)
		q->r->stats.servfail++;
	if (n > 0)
		server_reply(q, resp, (size_t)n);
	else
		rq_free(q);
}

void handle_overlay_done(struct rq *q, const struct dnsq_overlay_answer *a)
{
	uint8_t *resp = q->r->buf;
	int n = dnsq_overlay_response(&q->q, &q->r->ov, a, resp, sizeof(q->r->buf));

	if (n < 0) {
		respond_error(q, LDNS_RCODE_SERVFAIL);
		return;
	}
	if (a->status == DNSQ_OVERLAY_FAILED)
		q->r->stats.servfail++;
	else
		q->r->stats.answered_overlay++;
	server_reply(q, resp, (size_t)n);
}

/* The cache and coalescing key: the lower-cased wire name (the text form
 * may not fit), type, class, DO, CD. */
void handle_key(struct rq *q)
{
	size_t nl = q->q.qname_len;

	for (size_t i = 0; i < nl; i++) {
		uint8_t ch = q->q.qname[i];
		q->key[i] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
	}
	q->key[nl] = (uint8_t)(q->q.qtype >> 8);
	q->key[nl + 1] = (uint8_t)q->q.qtype;
	q->key[nl + 2] = (uint8_t)(q->q.qclass >> 8);
	q->key[nl + 3] = (uint8_t)q->q.qclass;
	q->key[nl + 4] = (uint8_t)(q->q.do_bit | q->q.cd << 1);
	q->keylen = nl + 5;
	/* keyed FNV-style hash: clients cannot aim at one bucket */
	uint64_t h = q->r->hash_key;
	for (size_t i = 0; i < q->keylen; i++)
		h = (h ^ q->key[i]) * UINT64_C(0x100000001b3);
	q->hash = h;
}

static int build(void *ctx, uint16_t id, bool edns, uint8_t *out, size_t cap)
{
	struct rq *q = ctx;
	return dnsq_upstream_query(&q->q, id, edns, out, cap);
}

static int match(void *ctx, uint16_t id, const uint8_t *reply, size_t len)
{
	struct rq *q = ctx;
	return dnsq_upstream_match(&q->q, id, reply, len);
}

static const struct ups_ops ops = { .build = build, .match = match };

static void forwarded(void *arg, int status, const uint8_t *reply, size_t len)
{
	struct rq *q = arg;
	struct resolverd *r = q->r;

	q->w = NULL;
	if (status < 0) {
		respond_error(q, LDNS_RCODE_SERVFAIL);
		return;
	}
	/* The response once, for a client with EDNS and no size limit, kept
	 * ready (cacheable or not); this client's is patched from it, as
	 * every cache hit's will be. */
	struct dnsq full = q->q;
	full.edns = true;
	full.limit = 65535;
	int n = dnsq_client_response(&full, reply, len, 0, r->full, sizeof(r->full));
	int m = n > 0 ? dnsready_make(r->full, (size_t)n, DNSREADY_AGE_ALL, r->ready,
				      sizeof(r->ready)) : -EBADMSG;
	if (m > 0) {
		/* the lifetime of what is cached: the response built once */
		int64_t ttl = dnsq_cache_ttl(r->full, (size_t)n);
		if (ttl > 0 && r->cache)
			cache_put(r->cache, q->hash, q->key, q->keylen, r->ready, (size_t)m,
				  (uint32_t)ttl);
		n = dnsready_patch(r->ready, (size_t)m, &q->q, 0, r->buf, sizeof(r->buf));
	} else {
		n = dnsq_client_response(&q->q, reply, len, 0, r->buf, sizeof(r->buf));
	}
	if (n < 0) {
		respond_error(q, LDNS_RCODE_SERVFAIL);
		return;
	}
	server_reply(q, r->buf, (size_t)n);
}

static void forward(struct rq *q)
{
	struct resolverd *r = q->r;
	const uint8_t *cached;
	size_t clen;
	uint32_t age;

	handle_key(q);
	if (r->cache && cache_get(r->cache, q->hash, q->key, q->keylen, &cached, &clen, &age) == 0) {
		int n = dnsready_patch(cached, clen, &q->q, age, r->buf, sizeof(r->buf));
		if (n > 0) {
			r->stats.cache_hits++;
			server_reply(q, r->buf, (size_t)n);
			return;
		}
	}
	if (!r->ups) {
		respond_error(q, LDNS_RCODE_SERVFAIL); /* no upstream servers known */
		return;
	}
	r->stats.forwarded++;
	if (ups_forward(r->ups, &ops, q, q->hash, q->key, q->keylen, q->q.tcp, forwarded, q, &q->w) < 0)
		respond_error(q, LDNS_RCODE_SERVFAIL);
}

/* A live name or address answered from ntm-tund's names map (mapq.h):
 * no socket, no cache, no ldns. False: ask ntm-tund. */
static bool from_map(struct rq *q, enum dnsq_kind k)
{
	struct resolverd *r = q->r;
	int n = mapfile_answer(r->mf, &q->q, k, r->buf, sizeof(r->buf));

	if (n <= 0)
		return false;
	r->stats.overlay_map_hits++;
	r->stats.answered_overlay++;
	server_reply(q, r->buf, (size_t)n);
	return true;
}

/* A query's state from the pool; malloc only while the pool grows (it
 * never holds more than RS_MAX_QUERIES, the in-flight cap). */
static struct rq *rq_new(struct resolverd *r)
{
	struct rq *q = r->rq_pool;

	if (q)
		r->rq_pool = q->next;
	else if (!(q = malloc(sizeof(*q))))
		return NULL;
	memset(q, 0, offsetof(struct rq, keylen));
	q->r = r;
	return q;
}

void rq_put(struct rq *q)
{
	struct resolverd *r = q->r;

	q->next = r->rq_pool;
	r->rq_pool = q;
}

void rq_pool_free(struct resolverd *r)
{
	while (r->rq_pool) {
		struct rq *q = r->rq_pool;
		r->rq_pool = q->next;
		free(q);
	}
}

void handle_query(struct resolverd *r, const uint8_t *wire, size_t len, int udp_fd,
		  const struct ntm_udp_meta *meta, struct tcpconn *conn)
{
	size_t rlen = 0;
	struct rq *q;

	if (r->inflight >= RS_MAX_QUERIES) {
		r->stats.busy++;
		return; /* overloaded: the client retries */
	}
	q = rq_new(r);
	if (!q)
		return;
	q->fd = udp_fd;
	if (meta)
		q->meta = *meta;
	q->conn = conn;
	r->inflight++;
	if (conn)
		server_track(q);
	enum dnsq_kind k = dnsq_classify(wire, len, udp_fd < 0, &r->ov, &q->q, r->buf,
					 sizeof(r->buf), &rlen);
	/* a federated peer's address: named by the map while its tunnel
	 * lives; otherwise as classified (upstream, or a private zone's
	 * NXDOMAIN) */
	if (k != DNSQ_DROP && q->q.ptr_other && from_map(q, DNSQ_OVERLAY_ADDR))
		return;
	switch (k) {
	case DNSQ_DROP:
		r->stats.dropped++;
		rq_free(q);
		return;
	case DNSQ_RESPOND:
		r->stats.answered_local++;
		server_reply(q, r->buf, rlen);
		return;
	case DNSQ_OVERLAY_NAME:
	case DNSQ_OVERLAY_ADDR:
		if (from_map(q, k))
			return;
		if (tundq_start(q, k) < 0) {
			/* ntm-tund is not running: SERVFAIL, never upstream */
			struct dnsq_overlay_answer a = { .status = DNSQ_OVERLAY_FAILED };
			handle_overlay_done(q, &a);
		}
		return;
	case DNSQ_FORWARD:
		forward(q);
		return;
	}
}

/* The client left (its TCP connection closed): q->conn is already NULL,
 * so whatever answers q now just frees it. */
void handle_cancel(struct rq *q)
{
	if (q->w) {
		/* forwarded(-ECANCELED) runs inside and frees q */
		ups_cancel(q->r->ups, q->w);
		return;
	}
	rq_free(q); /* also takes it off its ntm-tund connection */
}
