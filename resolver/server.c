/* server.c - ntm-resolverd's listeners. UDP: one datagram, one query; the
 * answer leaves from the address the query reached (IP_PKTINFO). TCP:
 * 2-byte length framing, several (pipelined) queries per connection
 * answered as they complete (possibly out of order), at most
 * RS_TCP_MAX_QUERIES per connection and RS_TCP_MAX_PENDING unanswered,
 * RS_TCP_IDLE_MS idle timeout, RS_TCP_MAX_CONNS connections, partial reads
 * and writes handled; a length below 12 closes the connection. Queries from
 * non-loopback sources are dropped (the stub listens on loopback only). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "resolverd.h"
#include "util.h"

struct tcpconn {
	struct resolverd *r;
	int fd;
	struct ntm_io io;
	struct ntm_timer idle;
	uint8_t in[2 + 65535];
	size_t inlen;
	uint8_t *out;
	size_t outlen, outoff, outcap;
	unsigned served, pending;
	struct rq *queries;
	bool closing;
};

static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

void rq_free(struct rq *q)
{
	struct tcpconn *c = q->conn;

	if (c) {
		if (q->prev)
			q->prev->next = q->next;
		else
			c->queries = q->next;
		if (q->next)
			q->next->prev = q->prev;
		c->pending--;
	}
	tundq_cancel(q);
	q->r->inflight--;
	free(q);
}

static void conn_close(struct tcpconn *c)
{
	struct resolverd *r = c->r;

	/* orphan the pending queries first: their answers now go nowhere */
	while (c->queries) {
		struct rq *q = c->queries;
		c->queries = q->next;
		q->conn = NULL;
		q->next = q->prev = NULL;
		handle_cancel(q);
	}
	ntm_io_remove(&c->io);
	ntm_timer_cancel(&c->idle);
	close(c->fd);
	free(c->out);
	free(c);
	r->nconns--;
}

/* Send what is buffered: false when the connection was closed. */
static bool conn_flush(struct tcpconn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ntm_io_modify(&c->io, EPOLLIN | EPOLLOUT);
			return true;
		}
		if (n <= 0) {
			conn_close(c);
			return false;
		}
		c->outoff += (size_t)n;
	}
	c->outlen = c->outoff = 0;
	ntm_io_modify(&c->io, EPOLLIN);
	if (c->served >= RS_TCP_MAX_QUERIES && c->pending == 0) {
		conn_close(c); /* all answered: done with this client */
		return false;
	}
	return true;
}

static void conn_queue(struct tcpconn *c, const uint8_t *resp, size_t len)
{
	if (c->outlen + 2 + len > c->outcap) {
		size_t cap = c->outlen + 2 + len + 4096;
		uint8_t *o = realloc(c->out, cap);
		if (!o)
			return;
		c->out = o;
		c->outcap = cap;
	}
	ntm_put_be16(c->out + c->outlen, (uint16_t)len);
	memcpy(c->out + c->outlen + 2, resp, len);
	c->outlen += 2 + len;
}

void server_reply(struct rq *q, const uint8_t *resp, size_t len)
{
	struct tcpconn *c = q->conn;

	if (c) {
		rq_free(q);
		conn_queue(c, resp, len);
		conn_flush(c);
		return;
	}
	if (q->fd >= 0)
		ntm_udp_send(q->fd, resp, len, (struct sockaddr *)&q->meta.src, q->meta.srclen, &q->meta);
	rq_free(q);
}

static void on_udp(struct ntm_io *io, uint32_t events, void *arg)
{
	struct resolverd *r = arg;
	struct ntm_udp_meta m;
	uint8_t buf[4096];
	(void)events;

	for (int i = 0; i < 64; i++) {
		ssize_t n = ntm_udp_recv(io->fd, buf, sizeof(buf), &m);
		if (n == -EAGAIN)
			return;
		if (n < 0)
			continue;
		if (!loopback(&m.src)) {
			r->stats.dropped++;
			continue;
		}
		r->stats.queries_udp++;
		handle_query(r, buf, (size_t)n, io->fd, &m, NULL);
	}
}

/* Start every complete query in the input buffer (within the limits). */
static void conn_process(struct tcpconn *c)
{
	while (c->inlen >= 2 && c->pending < RS_TCP_MAX_PENDING && c->served < RS_TCP_MAX_QUERIES) {
		size_t qlen = ntm_get_be16(c->in);
		if (qlen < 12) {
			conn_close(c);
			return;
		}
		if (c->inlen < 2 + qlen)
			return;
		c->served++;
		c->pending++; /* rq_free undoes it */
		c->r->stats.queries_tcp++;
		/* handle_query links the rq into c->queries through q->conn */
		handle_query(c->r, c->in + 2, qlen, -1, NULL, c);
		memmove(c->in, c->in + 2 + qlen, c->inlen - 2 - qlen);
		c->inlen -= 2 + qlen;
	}
}

static void on_conn(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tcpconn *c = arg;
	(void)io;

	if (events & EPOLLOUT) {
		if (!conn_flush(c))
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (c->inlen == sizeof(c->in))
		return; /* wait: queries in progress will make room */
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	ntm_timer_arm(&c->idle, RS_TCP_IDLE_MS, 0);
	conn_process(c);
}

static void on_idle(struct ntm_timer *t, void *arg)
{
	(void)t;
	conn_close(arg);
}

static void on_accept(struct ntm_io *io, uint32_t events, void *arg)
{
	struct resolverd *r = arg;
	(void)events;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct tcpconn *c = NULL;
		if (r->nconns >= RS_TCP_MAX_CONNS || !loopback(&ss) || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->r = r;
		c->fd = fd;
		r->nconns++;
		ntm_io_init(&c->io, r->loop, fd, on_conn, c);
		ntm_timer_init(&c->idle, r->loop, on_idle, c);
		if (ntm_io_add(&c->io, EPOLLIN) < 0) {
			conn_close(c);
			continue;
		}
		ntm_timer_arm(&c->idle, RS_TCP_IDLE_MS, 0);
	}
}

/* Link q into c's pending list (handle_query calls this through rq setup). */
void server_track(struct rq *q)
{
	struct tcpconn *c = q->conn;

	q->prev = NULL;
	q->next = c->queries;
	if (c->queries)
		c->queries->prev = q;
	c->queries = q;
}

static int open_one(struct resolverd *r, unsigned i)
{
	const struct sockaddr_storage *ss = &r->cfg.listen[i];
	int af = ss->ss_family;
	const void *addr = af == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
					 : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	uint16_t port = ntohs(af == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					    : ((const struct sockaddr_in6 *)ss)->sin6_port);
	int one = 1, fd;

	r->udp_fd[i] = ntm_udp_open(af, addr, port, true);
	if (r->udp_fd[i] < 0)
		return r->udp_fd[i];
	/* TTL 1: even a misconfigured non-loopback address answers no further */
	if (af == AF_INET)
		setsockopt(r->udp_fd[i], IPPROTO_IP, IP_TTL, &one, sizeof(one));
	fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, af == AF_INET ? sizeof(struct sockaddr_in)
							 : sizeof(struct sockaddr_in6)) < 0 ||
	    listen(fd, 64) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	r->tcp_fd[i] = fd;
	ntm_io_init(&r->udp_io[i], r->loop, r->udp_fd[i], on_udp, r);
	ntm_io_init(&r->tcp_io[i], r->loop, fd, on_accept, r);
	if (ntm_io_add(&r->udp_io[i], EPOLLIN) < 0 || ntm_io_add(&r->tcp_io[i], EPOLLIN) < 0)
		return -EIO;
	return 0;
}

int server_open(struct resolverd *r)
{
	for (unsigned i = 0; i < 2; i++)
		r->udp_fd[i] = r->tcp_fd[i] = -1;
	for (unsigned i = 0; i < r->cfg.nlisten; i++) {
		int ret = open_one(r, i);
		if (ret < 0) {
			char buf[80];
			log_err("listening on %s: %s",
				ntm_sockaddr_str((const struct sockaddr *)&r->cfg.listen[i], buf, sizeof(buf)),
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void server_close(struct resolverd *r)
{
	for (unsigned i = 0; i < 2; i++) {
		if (r->udp_fd[i] >= 0) {
			ntm_io_remove(&r->udp_io[i]);
			close(r->udp_fd[i]);
		}
		if (r->tcp_fd[i] >= 0) {
			ntm_io_remove(&r->tcp_io[i]);
			close(r->tcp_fd[i]);
		}
	}
}
