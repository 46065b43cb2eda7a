/* server.c - ntm-resolverd's listeners. UDP: one datagram, one query; the
 * answer leaves from the address the query reached (the bound address, or
 * IP_PKTINFO on a wildcard one); datagrams
 * are read RS_UDP_BATCH at a time (recvmmsg), and the replies made while a
 * batch is handled (cache hits, local answers, overlay answers that arrive
 * together) leave together (sendmmsg) at its end, those of one length
 * to one client as one UDP_SEGMENT train (udptrain.h). TCP:
 * 2-byte length framing, several (pipelined) queries per connection
 * answered as they complete (possibly out of order), at most
 * RS_TCP_MAX_QUERIES per connection and RS_TCP_MAX_PENDING unanswered,
 * RS_TCP_IDLE_MS idle timeout, RS_TCP_MAX_CONNS connections; a length
 * below 12 closes the connection. Each connection is a lib/stream.h stream:
 * a full input buffer stops reading until queries are answered, and each
 * answer starts the queries that waited for a free slot. Queries from
 * non-loopback sources are dropped (the stub listens on loopback only). */
#define _GNU_SOURCE 1 /* recvmmsg, sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "resolverd.h"
#include "stream.h"
#include "udptrain.h"
#include "util.h"

struct tcpconn {
	struct resolverd *r;
	struct ntm_stream st;
	struct ntm_timer idle;
	struct ntm_timer resume;        /* start queries that waited for a free slot */
	unsigned served, pending;
	struct rq *queries;
	bool processing;                /* in conn_process: a close waits for its end */
	bool closing;
};

/* UDP replies waiting for the end of a batch. */
struct udp_reply {
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	bool has_src;
	int family;
	uint8_t src[16];
	size_t len;
	uint8_t data[RS_UDP_BATCH_MAX];
};

struct udp_out {
	unsigned n;
	struct udp_reply m[RS_UDP_BATCH];
};

/* Datagrams being read: one buffer each. */
static uint8_t (*rbuf)[4096];

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
	rq_put(q);
}

/* Close c, orphaning its pending queries (their answers now go nowhere).
 * Inside conn_process the close is left to conn_process, which still
 * holds c. */
static void conn_close(struct tcpconn *c)
{
	struct resolverd *r = c->r;

	if (c->processing) {
		c->closing = true;
		return;
	}
	while (c->queries) {
		struct rq *q = c->queries;
		c->queries = q->next;
		q->conn = NULL;
		q->next = q->prev = NULL;
		handle_cancel(q);
	}
	ntm_stream_close(&c->st);
	ntm_timer_cancel(&c->idle);
	ntm_timer_cancel(&c->resume);
	free(c);
	r->nconns--;
}

/* Send what is buffered: false when the connection was closed. */
static bool conn_flush(struct tcpconn *c)
{
	ssize_t left = ntm_stream_flush(&c->st);

	if (left < 0 || (left == 0 && c->served >= RS_TCP_MAX_QUERIES && c->pending == 0)) {
		conn_close(c); /* dead, or all answered: done with this client */
		return false;
	}
	return true;
}

/* Queue one reply with its length prefix and send. */
static bool conn_send(struct tcpconn *c, const uint8_t *resp, size_t len)
{
	int err = 0;
	uint8_t *p = ntm_stream_reserve(&c->st, 2 + len, &err);

	if (!p) {
		conn_close(c); /* a reply lost in a pipeline would stall the client */
		return false;
	}
	ntm_put_be16(p, (uint16_t)len);
	memcpy(p + 2, resp, len);
	ntm_stream_commit(&c->st, 2 + len);
	return conn_flush(c);
}

union pktinfo_ctl {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

/* A train's control data: UDP_SEGMENT, then the source address. */
union train_ctl {
	char buf[NTM_UDP_SEG_CTL_LEN];
	struct cmsghdr align;
};

/* Whether a train's error says the kernel (or the route's device) will
 * not take UDP_SEGMENT at all, rather than that this one did not fit. */
static bool gso_refused(int err)
{
	return err == EIO || err == EINVAL || err == EOPNOTSUPP || err == ENOPROTOOPT;
}

/* Send the queued UDP replies: replies to one client of one length as one
 * UDP_SEGMENT train (udptrain.h), sendmmsg per run of one socket. */
static void udp_flush(struct resolverd *r)
{
	struct udp_out *u = r->uout;
	struct udptrain_reply in[RS_UDP_BATCH];
	struct udptrain t[RS_UDP_BATCH];
	unsigned order[RS_UDP_BATCH], nt, i = 0;
	struct mmsghdr mm[RS_UDP_BATCH];
	struct iovec iov[RS_UDP_BATCH];
	union train_ctl ctl[RS_UDP_BATCH];

	if (!u || u->n == 0)
		return;
	for (unsigned k = 0; k < u->n; k++)
		in[k] = (struct udptrain_reply){
			.fd = u->m[k].fd, .to = &u->m[k].to, .tolen = u->m[k].tolen,
			.has_src = u->m[k].has_src, .src = u->m[k].src, .len = u->m[k].len,
		};
	nt = udptrain_plan(in, u->n, !r->udp_gso_off, order, t);
	for (unsigned m = 0; m < nt; m++) {
		struct msghdr *mh = &mm[m].msg_hdr;
		const struct udp_reply *a = &u->m[order[t[m].first]];
		memset(mh, 0, sizeof(*mh));
		for (unsigned s = 0; s < t[m].n; s++) {
			unsigned k = order[t[m].first + s];
			iov[t[m].first + s].iov_base = u->m[k].data;
			iov[t[m].first + s].iov_len = u->m[k].len;
		}
		mh->msg_name = (void *)&a->to;
		mh->msg_namelen = a->tolen;
		mh->msg_iov = &iov[t[m].first];
		mh->msg_iovlen = t[m].n;
		if (t[m].n > 1)
			ntm_udp_put_segment(mh, ctl[m].buf, (uint16_t)a->len, a->has_src, a->family,
					    a->src);
		else if (a->has_src)
			ntm_udp_put_pktinfo(mh, ctl[m].buf, a->family, a->src);
	}
	while (i < nt) {
		unsigned run = 1;
		int fd = u->m[order[t[i].first]].fd;
		while (i + run < nt && u->m[order[t[i + run].first]].fd == fd)
			run++;
		int sent = sendmmsg(fd, mm + i, run, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && t[i].n > 1 && gso_refused(errno)) {
			/* this kernel or route takes no trains: each reply alone,
			 * now and from now on */
			log_notice("UDP_SEGMENT refused (%s): replies leave one by one",
				   strerror(errno));
			r->udp_gso_off = true;
			for (unsigned s = 0; s < t[i].n; s++) {
				const struct udp_reply *a = &u->m[order[t[i].first + s]];
				struct ntm_udp_meta from = { .has_dst = a->has_src, .family = a->family };
				memcpy(from.dst, a->src, sizeof(from.dst));
				(void)ntm_udp_send(a->fd, a->data, a->len, (const struct sockaddr *)&a->to,
						   a->tolen, &from);
			}
			i++;
			continue;
		}
		if (sent <= 0) {
			i++; /* this one cannot go (socket full): the client retries */
			continue;
		}
		for (int s = 0; s < sent; s++)
			if (t[i + (unsigned)s].n > 1) {
				r->stats.udp_trains++;
				r->stats.udp_train_replies += t[i + (unsigned)s].n;
			}
		i += (unsigned)sent;
	}
	u->n = 0;
}

void server_batch_begin(struct resolverd *r)
{
	r->batching++;
}

void server_batch_end(struct resolverd *r)
{
	if (--r->batching > 0)
		return;
	tundq_flush(r);
	udp_flush(r);
}

void server_reply(struct rq *q, const uint8_t *resp, size_t len)
{
	struct tcpconn *c = q->conn;
	struct resolverd *r = q->r;

	if (c) {
		rq_free(q);
		/* An answer frees a slot: the queries waiting for one start
		 * from the loop, not from inside whoever answered (the
		 * upstream engine may be cancelling or freeing itself). */
		if (conn_send(c, resp, len) && c->st.inlen >= 2)
			ntm_timer_arm(&c->resume, 0, 0);
		return;
	}
	if (q->fd >= 0 && r->batching && r->uout && len <= RS_UDP_BATCH_MAX) {
		struct udp_out *u = r->uout;
		if (u->n == RS_UDP_BATCH)
			udp_flush(r);
		u->m[u->n].fd = q->fd;
		u->m[u->n].to = q->meta.src;
		u->m[u->n].tolen = q->meta.srclen;
		u->m[u->n].has_src = q->meta.has_dst;
		u->m[u->n].family = q->meta.family;
		memcpy(u->m[u->n].src, q->meta.dst, 16);
		u->m[u->n].len = len;
		memcpy(u->m[u->n].data, resp, len);
		u->n++;
	} else if (q->fd >= 0) {
		ntm_udp_send(q->fd, resp, len, (struct sockaddr *)&q->meta.src, q->meta.srclen, &q->meta);
	}
	rq_free(q);
}

static void on_udp(struct ntm_io *io, uint32_t events, void *arg)
{
	struct resolverd *r = arg;
	struct mmsghdr mm[RS_UDP_BATCH];
	struct iovec iov[RS_UDP_BATCH];
	struct sockaddr_storage src[RS_UDP_BATCH];
	union pktinfo_ctl ctl[RS_UDP_BATCH];
	(void)events;

	server_batch_begin(r);
	for (int round = 0; round < 4; round++) {
		for (unsigned i = 0; i < RS_UDP_BATCH; i++) {
			iov[i].iov_base = rbuf[i];
			iov[i].iov_len = sizeof(rbuf[i]);
			mm[i].msg_hdr = (struct msghdr){
				.msg_name = &src[i], .msg_namelen = sizeof(src[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = ctl[i].buf, .msg_controllen = sizeof(ctl[i].buf),
			};
			mm[i].msg_len = 0;
		}
		int n = recvmmsg(io->fd, mm, RS_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct ntm_udp_meta m = { 0 };
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			m.src = src[i];
			m.srclen = mm[i].msg_hdr.msg_namelen;
			ntm_udp_read_pktinfo(&mm[i].msg_hdr, &m);
			if (!loopback(&m.src)) {
				r->stats.dropped++;
				continue;
			}
			r->stats.queries_udp++;
			handle_query(r, rbuf[i], mm[i].msg_len, io->fd, &m, NULL);
		}
		if (n < RS_UDP_BATCH)
			break;
	}
	server_batch_end(r);
}

/* Start every complete query in the input buffer (within the limits). */
static void conn_process(struct tcpconn *c)
{
	struct resolverd *r = c->r;

	server_batch_begin(r);
	c->processing = true;
	while (!c->closing && c->st.inlen >= 2 && c->pending < RS_TCP_MAX_PENDING &&
	       c->served < RS_TCP_MAX_QUERIES) {
		size_t qlen = ntm_get_be16(c->st.in);
		if (qlen < RS_DNS_HEADER_LEN) {
			c->closing = true;
			break;
		}
		if (c->st.inlen < 2 + qlen)
			break;
		c->served++;
		r->stats.queries_tcp++;
		/* handle_query links the rq into c->queries through server_track */
		handle_query(r, c->st.in + 2, qlen, -1, NULL, c);
		ntm_stream_consume(&c->st, 2 + qlen);
	}
	c->processing = false;
	if (c->closing)
		conn_close(c);
	server_batch_end(r);
}

static void on_conn(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tcpconn *c = arg;
	(void)io;

	if ((events & EPOLLOUT) && !conn_flush(c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = ntm_stream_read(&c->st);
	if (n == 0)
		return;
	if (n == -ENOBUFS && !(events & (EPOLLHUP | EPOLLERR)))
		return; /* reading stopped: queries in progress will make room */
	if (n < 0) {
		conn_close(c);
		return;
	}
	ntm_timer_arm(&c->idle, RS_TCP_IDLE_MS, 0);
	conn_process(c);
}

static void on_idle(struct ntm_timer *t, void *arg)
{
	(void)t;
	conn_close(arg);
}

static void on_resume(struct ntm_timer *t, void *arg)
{
	(void)t;
	conn_process(arg);
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
		if (ntm_stream_open(&c->st, r->loop, fd, 2 + RS_DNS_MSG_MAX, RS_TCP_OUT_MAX, on_conn,
				    c) < 0) {
			close(fd);
			free(c);
			continue;
		}
		r->nconns++;
		ntm_timer_init(&c->idle, r->loop, on_idle, c);
		ntm_timer_init(&c->resume, r->loop, on_resume, c);
		ntm_timer_arm(&c->idle, RS_TCP_IDLE_MS, 0);
	}
}

/* Link q into c's pending list (handle_query calls this through rq setup);
 * rq_free takes it off and counts it answered. */
void server_track(struct rq *q)
{
	struct tcpconn *c = q->conn;

	c->pending++;
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
	/* bound to one address, the socket answers from it by itself: no
	 * IP_PKTINFO to read on each query and write on each reply */
	static const uint8_t any6[16];
	if (af == AF_INET ? ((const struct sockaddr_in *)ss)->sin_addr.s_addr != htonl(INADDR_ANY)
			  : memcmp(addr, any6, 16) != 0) {
		int zero = 0;
		if (af == AF_INET)
			setsockopt(r->udp_fd[i], IPPROTO_IP, IP_PKTINFO, &zero, sizeof(zero));
		else
			setsockopt(r->udp_fd[i], IPPROTO_IPV6, IPV6_RECVPKTINFO, &zero,
				   sizeof(zero));
	}
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
	if (!rbuf)
		rbuf = calloc(RS_UDP_BATCH, sizeof(*rbuf));
	if (!r->uout)
		r->uout = calloc(1, sizeof(*r->uout));
	if (!rbuf || !r->uout)
		return -ENOMEM;
	for (unsigned i = 0; i < r->cfg.nlisten; i++) {
		int ret = open_one(r, i);
		if (ret < 0) {
			char buf[80];
			log_err_errno(-ret, "listening on %s",
				      ntm_sockaddr_str((const struct sockaddr *)&r->cfg.listen[i],
						       buf, sizeof(buf)));
			return ret;
		}
	}
	return 0;
}

void server_close(struct resolverd *r)
{
	free(r->uout);
	r->uout = NULL;
	free(rbuf);
	rbuf = NULL;
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
