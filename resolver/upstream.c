/* upstream.c - the forwarding engine (see upstream.h). One struct
 * ups_query per upstream exchange, in a hash table by the caller's key;
 * each holds its waiters in arrival order, one socket (UDP, or TCP after a
 * truncated reply) and two timers: the attempt's and the overall deadline. */
#include "upstream.h"
#include "dnsconst.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "udp.h"
#include "util.h"

#define DNS_HDR 12
#define DNS_MAX 65535
#define UDP_BURST 16               /* datagrams read per wakeup, so one
					  flooded socket cannot starve the loop */

struct ups_waiter {
	struct ups_query *q;
	struct ups_waiter *next, *prev;
	const struct ups_ops *ops;
	void *ctx;
	ups_done_fn done;
	void *arg;
};

enum att_state { ATT_IDLE, ATT_UDP, ATT_TCP_CONNECT, ATT_TCP_WRITE, ATT_TCP_READ };

struct ups_query {
	struct ups *u;
	struct ups_query *hnext;
	uint64_t hash;
	bool client_tcp;
	bool finishing;               /* answering waiters; no new ones */
	bool exhausted;               /* every server failed: finish from the timer */
	struct ups_waiter *whead, *wtail;
	unsigned nwaiters;
	unsigned server, tried;       /* current server index; servers given up on */
	uint64_t deadline_at;         /* ms, ntm_loop_now_ms() scale */
	bool edns, edns_dropped;
	enum att_state st;
	uint16_t id;
	int fd;
	struct ntm_io io;
	struct ntm_timer attempt, deadline;
	uint8_t query[2 + UPS_QUERY_MAX]; /* 2-byte TCP length prefix, then the query */
	size_t qlen;
	size_t woff;                  /* TCP: bytes of the framed query written */
	uint8_t rlenbuf[2];           /* TCP: the reply's length prefix */
	uint8_t *rbuf;                /* TCP: the reply, rmsg bytes once allocated */
	size_t rlen, rmsg;            /* bytes read, prefix included; reply length */
	size_t keylen;
	uint8_t key[];
};

struct ups {
	struct ntm_loop *loop;
	struct sockaddr_storage servers[UPS_MAX_SERVERS];
	size_t nservers;
	struct ups_params p;
	unsigned inflight;
	bool dying;                    /* in ups_free: nothing new is taken */
	size_t nbuckets;               /* power of two */
	struct ups_query **buckets;
	uint8_t rbuf[DNS_MAX];         /* UDP receive buffer, shared (one thread) */
};

static void start_attempt(struct ups_query *q);
static void on_io(struct ntm_io *io, uint32_t events, void *arg);

/* ---- setup ---- */

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					: sizeof(struct sockaddr_in6);
}

static bool is_listen_addr(const struct ups_params *p, const struct sockaddr_storage *s)
{
	struct sockaddr_storage a = *s, b;
	socklen_t la = sa_len(s), lb;

	ntm_sockaddr_unmap(&a, &la);
	for (size_t i = 0; i < p->nlisten; i++) {
		b = p->listen[i];
		lb = sa_len(&b);
		ntm_sockaddr_unmap(&b, &lb);
		if (ntm_sockaddr_cmp((struct sockaddr *)&a, (struct sockaddr *)&b) == 0)
			return true;
	}
	return false;
}

static int check_params(struct ups_params *p, const struct sockaddr_storage *servers, size_t n)
{
	if (n == 0 || n > UPS_MAX_SERVERS || p->nlisten > UPS_MAX_LISTEN)
		return -EINVAL;
	if (p->nlisten && !p->listen)
		return -EINVAL;
	p->attempt_ms = p->attempt_ms ? p->attempt_ms : 1500;
	p->deadline_ms = p->deadline_ms ? p->deadline_ms : 4000;
	p->max_inflight = p->max_inflight ? p->max_inflight : 1024;
	p->max_waiters = p->max_waiters ? p->max_waiters : 64;
	if (p->max_inflight > (1u << 20) || p->deadline_ms > 60000 || p->attempt_ms > 60000)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (servers[i].ss_family != AF_INET && servers[i].ss_family != AF_INET6)
			return -EINVAL;
		if (is_listen_addr(p, &servers[i]))
			return -ELOOP;
	}
	return 0;
}

int ups_new(struct ups **out, struct ntm_loop *loop, const struct sockaddr_storage *servers,
	    size_t n, const struct ups_params *p)
{
	struct ups_params par = {0};
	struct ups *u;
	int ret;

	*out = NULL;
	if (p)
		par = *p;
	ret = check_params(&par, servers, n);
	if (ret < 0)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->loop = loop;
	memcpy(u->servers, servers, n * sizeof(*servers));
	u->nservers = n;
	u->p = par;
	u->p.listen = NULL;             /* only needed for the check above */
	u->p.nlisten = 0;
	u->nbuckets = 64;
	while (u->nbuckets < par.max_inflight)
		u->nbuckets *= 2;
	u->buckets = calloc(u->nbuckets, sizeof(*u->buckets));
	if (!u->buckets) {
		free(u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

unsigned ups_inflight(const struct ups *u)
{
	return u->inflight;
}

/* ---- the exchange's table and lifetime ---- */

static struct ups_query **bucket(struct ups *u, uint64_t hash)
{
	return &u->buckets[hash & (u->nbuckets - 1)];
}

static struct ups_query *find_query(struct ups *u, uint64_t hash, const uint8_t *key,
				    size_t keylen, bool client_tcp)
{
	for (struct ups_query *q = *bucket(u, hash); q; q = q->hnext)
		if (q->hash == hash && q->keylen == keylen && q->client_tcp == client_tcp &&
		    memcmp(q->key, key, keylen) == 0)
			return q;
	return NULL;
}

static void unhash(struct ups_query *q)
{
	for (struct ups_query **pp = bucket(q->u, q->hash); *pp; pp = &(*pp)->hnext)
		if (*pp == q) {
			*pp = q->hnext;
			return;
		}
}

static void close_attempt(struct ups_query *q)
{
	ntm_timer_cancel(&q->attempt);
	if (q->fd >= 0) {
		ntm_io_remove(&q->io);
		close(q->fd);
		q->fd = -1;
	}
	free(q->rbuf);
	q->rbuf = NULL;
	q->rlen = 0;
	q->rmsg = 0;
	q->woff = 0;
	q->st = ATT_IDLE;
}

/* Stops all upstream activity and takes q out of the table, so a forward
 * made from a done callback starts a fresh exchange. */
static void retire(struct ups_query *q)
{
	close_attempt(q);
	ntm_timer_cancel(&q->deadline);
	unhash(q);
	q->u->inflight--;
	q->finishing = true;
}

static void unlink_waiter(struct ups_query *q, struct ups_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->whead = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->wtail = w->prev;
	q->nwaiters--;
}

/* Answers every waiter, one at a time from the head: a done callback may
 * cancel a waiter further down, which then leaves the list itself. */
static void finish(struct ups_query *q, int status, const uint8_t *reply, size_t len)
{
	uint8_t *tcp_reply = q->rbuf;  /* reply may point into it: free it last */
	struct ups_waiter *w;

	q->rbuf = NULL;
	if (!q->finishing)
		retire(q);
	while ((w = q->whead) != NULL) {
		unlink_waiter(q, w);
		w->done(w->arg, status, reply, len);
		free(w);
	}
	free(tcp_reply);
	free(q);
}

/* ---- attempts ---- */

/* Gives up on the current server and moves on; when none is left, fails
 * from the attempt timer so done never runs inside ups_forward. */
static void next_server(struct ups_query *q)
{
	close_attempt(q);
	q->tried++;
	q->server = (q->server + 1) % q->u->nservers;
	q->edns = true;                 /* the next server may well take EDNS */
	q->edns_dropped = false;
	if (q->tried >= q->u->nservers) {
		q->exhausted = true;
		ntm_timer_arm(&q->attempt, 0, 0);
		return;
	}
	start_attempt(q);
}

static void on_attempt_timer(struct ntm_timer *t, void *arg)
{
	struct ups_query *q = arg;

	(void)t;
	if (q->exhausted)
		finish(q, -ETIMEDOUT, NULL, 0);
	else
		next_server(q);
}

static void on_deadline(struct ntm_timer *t, void *arg)
{
	(void)t;
	finish(arg, -ETIMEDOUT, NULL, 0);
}

static unsigned attempt_delay(struct ups_query *q)
{
	uint64_t now = ntm_loop_now_ms(), left = 0;

	if (q->deadline_at > now)
		left = q->deadline_at - now;
	return left < q->u->p.attempt_ms ? (unsigned)left : q->u->p.attempt_ms;
}

static int build_query(struct ups_query *q)
{
	struct ups_waiter *w = q->whead;
	uint16_t id;
	int n;

	if (ntm_random_nonce(&id, sizeof(id)) < 0)
		return -EIO;
	n = w->ops->build(w->ctx, id, q->edns, q->query + 2, UPS_QUERY_MAX);
	if (n < DNS_HDR || n > UPS_QUERY_MAX)
		return -EINVAL;
	q->id = id;
	q->qlen = (size_t)n;
	ntm_put_be16(q->query, (uint16_t)n);
	return 0;
}

/* A fresh socket of type to the current server, connected (TCP: the
 * connect may still be in progress). Returns 0 or -errno. */
static int open_socket(struct ups_query *q, int type)
{
	const struct sockaddr_storage *sa = &q->u->servers[q->server];
	int fd, ret;

	fd = socket(sa->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sa_len(sa));
	if (ret < 0 && !(type == SOCK_STREAM && errno == EINPROGRESS)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	q->fd = fd;
	ntm_io_init(&q->io, q->u->loop, fd, on_io, q);
	ret = ntm_io_add(&q->io, type == SOCK_STREAM ? EPOLLOUT : EPOLLIN);
	if (ret < 0) {
		close(fd);
		q->fd = -1;
	}
	return ret;
}

static int start_udp(struct ups_query *q)
{
	int ret = build_query(q);

	if (ret < 0)
		return ret;
	ret = open_socket(q, SOCK_DGRAM);
	if (ret < 0)
		return ret;
	q->st = ATT_UDP;
	if (send(q->fd, q->query + 2, q->qlen, MSG_NOSIGNAL) != (ssize_t)q->qlen)
		return errno ? -errno : -EIO;
	return 0;
}

static int start_tcp(struct ups_query *q)
{
	int ret = build_query(q);

	if (ret < 0)
		return ret;
	ret = open_socket(q, SOCK_STREAM);
	if (ret < 0)
		return ret;
	q->st = ATT_TCP_CONNECT;
	return 0;
}

/* One attempt on the current server over UDP; a server that cannot even
 * be sent to is skipped at once. */
static void start_attempt(struct ups_query *q)
{
	close_attempt(q);
	if (start_udp(q) < 0) {
		next_server(q);
		return;
	}
	ntm_timer_arm(&q->attempt, attempt_delay(q), 0);
}

/* Same server, new transport or flags: a new ID and socket, a new timer. */
static void retry_same_server(struct ups_query *q, bool tcp)
{
	int ret;

	close_attempt(q);
	ret = tcp ? start_tcp(q) : start_udp(q);
	if (ret < 0) {
		next_server(q);
		return;
	}
	ntm_timer_arm(&q->attempt, attempt_delay(q), 0);
}

/* An answer to our query: decide from TC and RCODE. */
static void on_reply(struct ups_query *q, const uint8_t *r, size_t len)
{
	unsigned rcode = r[3] & 0x0f;
	bool tc = r[2] & 0x02;

	if (rcode == DNS_RC_SERVFAIL || rcode == DNS_RC_REFUSED) {
		next_server(q);
	} else if ((rcode == DNS_RC_FORMERR || rcode == DNS_RC_NOTIMP) && q->edns &&
		   !q->edns_dropped) {
		q->edns = false;
		q->edns_dropped = true;
		retry_same_server(q, q->st != ATT_UDP);
	} else if (tc && q->st == ATT_UDP && q->client_tcp) {
		retry_same_server(q, true);
	} else {
		finish(q, 0, r, len);
	}
}

static bool accepted(struct ups_query *q, const uint8_t *r, size_t len)
{
	struct ups_waiter *w = q->whead;

	return len >= DNS_HDR && w->ops->match(w->ctx, q->id, r, len) == 0;
}

static void udp_readable(struct ups_query *q)
{
	uint8_t *buf = q->u->rbuf;

	for (int i = 0; i < UDP_BURST; i++) {
		ssize_t n = recv(q->fd, buf, DNS_MAX, MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0) {            /* ICMP unreachable and the like */
			next_server(q);
			return;
		}
		if (n > DNS_MAX)
			continue;
		if (accepted(q, buf, (size_t)n)) {
			on_reply(q, buf, (size_t)n);
			return;
		}
	}
}

static int tcp_connected(struct ups_query *q)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return -errno;
	if (err)
		return -err;
	q->st = ATT_TCP_WRITE;
	return 0;
}

static int tcp_write(struct ups_query *q)
{
	size_t total = q->qlen + 2;
	ssize_t n = send(q->fd, q->query + q->woff, total - q->woff, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	q->woff += (size_t)n;
	if (q->woff < total)
		return 0;
	q->st = ATT_TCP_READ;
	return ntm_io_modify(&q->io, EPOLLIN);
}

/* Reads the framed reply; the buffer is sized by the prefix, so a TCP
 * exchange holds only what the server sends. Returns 1 when a reply is
 * complete in rbuf, 0 to wait for more, -errno to give up on the server
 * (EOF included). */
static int tcp_read(struct ups_query *q)
{
	bool in_prefix = q->rlen < 2;
	uint8_t *dst = in_prefix ? q->rlenbuf + q->rlen : q->rbuf + (q->rlen - 2);
	size_t need = in_prefix ? 2 - q->rlen : q->rmsg - (q->rlen - 2);
	ssize_t n = recv(q->fd, dst, need, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	q->rlen += (size_t)n;
	if (in_prefix && q->rlen == 2) {
		q->rmsg = ntm_get_be16(q->rlenbuf);
		if (q->rmsg < DNS_HDR)
			return -EBADMSG;
		free(q->rbuf);
		q->rbuf = malloc(q->rmsg);
		if (!q->rbuf)
			return -ENOMEM;
	}
	return q->rlen == 2 + q->rmsg;
}

static void tcp_event(struct ups_query *q)
{
	int ret = 0;

	if (q->st == ATT_TCP_CONNECT)
		ret = tcp_connected(q);
	if (ret == 0 && q->st == ATT_TCP_WRITE)
		ret = tcp_write(q);
	else if (ret == 0 && q->st == ATT_TCP_READ)
		ret = tcp_read(q);
	if (ret < 0) {
		next_server(q);
	} else if (ret == 1) {
		q->rlen = 0;            /* a rejected reply: read the next one */
		if (accepted(q, q->rbuf, q->rmsg))
			on_reply(q, q->rbuf, q->rmsg);
	}
}

static void on_io(struct ntm_io *io, uint32_t events, void *arg)
{
	struct ups_query *q = arg;

	(void)io;
	if (q->st == ATT_UDP)
		udp_readable(q);
	else if ((events & (EPOLLERR | EPOLLHUP)) && q->st == ATT_TCP_CONNECT)
		next_server(q);
	else
		tcp_event(q);
}

/* ---- the API ---- */

static struct ups_query *new_query(struct ups *u, uint64_t hash, const uint8_t *key,
				   size_t keylen, bool client_tcp)
{
	struct ups_query *q = calloc(1, sizeof(*q) + keylen);

	if (!q)
		return NULL;
	q->u = u;
	q->hash = hash;
	q->keylen = keylen;
	memcpy(q->key, key, keylen);
	q->client_tcp = client_tcp;
	q->edns = true;
	q->fd = -1;
	ntm_timer_init(&q->attempt, u->loop, on_attempt_timer, q);
	ntm_timer_init(&q->deadline, u->loop, on_deadline, q);
	q->hnext = *bucket(u, hash);
	*bucket(u, hash) = q;
	u->inflight++;
	return q;
}

int ups_forward(struct ups *u, const struct ups_ops *ops, void *ctx, uint64_t key_hash,
		const uint8_t *key, size_t keylen, bool client_tcp, ups_done_fn done, void *arg,
		struct ups_waiter **handle)
{
	struct ups_query *q;
	struct ups_waiter *w;
	bool fresh = false;

	if (u->dying)
		return -ESHUTDOWN;
	if (keylen == 0 || keylen > UPS_KEY_MAX || !ops || !ops->build || !ops->match || !done)
		return -EINVAL;
	q = find_query(u, key_hash, key, keylen, client_tcp);
	if (q && q->nwaiters >= u->p.max_waiters)
		return -EBUSY;
	if (!q && u->inflight >= u->p.max_inflight)
		return -EBUSY;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (!q) {
		q = new_query(u, key_hash, key, keylen, client_tcp);
		if (!q) {
			free(w);
			return -ENOMEM;
		}
		fresh = true;
	}
	*w = (struct ups_waiter){ .q = q, .prev = q->wtail, .ops = ops, .ctx = ctx,
				  .done = done, .arg = arg };
	if (q->wtail)
		q->wtail->next = w;
	else
		q->whead = w;
	q->wtail = w;
	q->nwaiters++;
	if (handle)
		*handle = w;
	if (fresh) {
		q->deadline_at = ntm_loop_now_ms() + u->p.deadline_ms;
		ntm_timer_arm(&q->deadline, u->p.deadline_ms, 0);
		start_attempt(q);
	}
	return 0;
}

void ups_cancel(struct ups *u, struct ups_waiter *w)
{
	struct ups_query *q = w->q;

	(void)u;
	unlink_waiter(q, w);
	if (!q->whead && !q->finishing) {
		retire(q);
		free(q);
	}
	w->done(w->arg, -ECANCELED, NULL, 0);
	free(w);
}

/* Two passes, so that no done callback ever meets the engine half torn
 * down: first every exchange is retired (no socket, timer or table entry
 * is left, and ups_forward is refused), then their waiters are answered.
 * A waiter cancelled from a callback leaves its retired exchange, which
 * stays on the list until its turn. hnext, free once out of the table,
 * chains the retired exchanges in table order. */
void ups_free(struct ups *u)
{
	struct ups_query *head = NULL, **tail = &head, *q;

	if (!u || u->dying)
		return;
	u->dying = true;
	for (size_t i = 0; i < u->nbuckets; i++)
		while ((q = u->buckets[i]) != NULL) {
			retire(q);
			q->hnext = NULL;
			*tail = q;
			tail = &q->hnext;
		}
	while ((q = head) != NULL) {
		head = q->hnext;
		finish(q, -ECANCELED, NULL, 0);
	}
	free(u->buckets);
	free(u);
}
