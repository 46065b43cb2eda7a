/* udp.c - UDP socket helpers; see udp.h. */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void size_buffers(int fd)
{
	int sz = NTM_UDP_BUFSIZE;

	/* FORCE variants ignore rmem_max/wmem_max but need CAP_NET_ADMIN;
	 * fall back to the capped ones. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static int udp_open(int family, const void *addr, uint16_t port, bool v6only, bool reuseport)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, one = 1, v6o = v6only;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (addr)
			memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (addr)
			memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6o, sizeof(v6o)) < 0)
			goto fail;
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (!v6only)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	size_buffers(fd);
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
}

int ntm_udp_open(int family, const void *addr, uint16_t port, bool v6only)
{
	return udp_open(family, addr, port, v6only, false);
}

int ntm_udp_open_reuseport(int family, const void *addr, uint16_t port, bool v6only)
{
	return udp_open(family, addr, port, v6only, true);
}

int ntm_udp_steer_data(int fd, unsigned n, uint8_t data_type)
{
	/* The program runs on the UDP payload; it returns the index of the
	 * socket in the group (the order they were bound in). A load past the
	 * end of a short datagram ends the program with 0. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                 /* A = type */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, data_type, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),                          /* not DATA: socket 0 */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),                 /* A = receiver (big-endian) */
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (n == 0)
		return -EINVAL;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

int ntm_udp_set_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) < 0 ? -errno : 0;
}

void ntm_udp_read_pktinfo(struct msghdr *mh, struct ntm_udp_meta *m)
{
	m->has_dst = false;
	m->gro_size = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int sz;
			memcpy(&sz, CMSG_DATA(c), sizeof(sz));
			m->gro_size = sz > 0 && sz < 65536 ? (uint16_t)sz : 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			m->family = AF_INET;
			memcpy(m->dst, &pi.ipi_addr, 4);
			m->ifindex = pi.ipi_ifindex;
			m->has_dst = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			m->family = AF_INET6;
			memcpy(m->dst, &pi.ipi6_addr, 16);
			m->ifindex = (int)pi.ipi6_ifindex;
			m->has_dst = true;
		}
	}
}

ssize_t ntm_udp_recv(int fd, uint8_t *buf, size_t cap, struct ntm_udp_meta *m)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
			 CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_name = &m->src, .msg_namelen = sizeof(m->src),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	m->srclen = mh.msg_namelen;
	m->via_relay = false;
	m->fd = fd;
	ntm_udp_read_pktinfo(&mh, m);
	return n;
}

/* One datagram, nonblocking, retried on EINTR: its length or -errno. */
static ssize_t send_msg(int fd, const struct msghdr *mh)
{
	ssize_t n;

	do
		n = sendmsg(fd, mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

void ntm_udp_put_pktinfo(struct msghdr *mh, void *ctl, int family, const uint8_t *src)
{
	struct cmsghdr *c;

	memset(ctl, 0, CMSG_SPACE(sizeof(struct in6_pktinfo)));
	mh->msg_control = ctl;
	if (family == AF_INET) {
		struct in_pktinfo pi = { 0 };
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(&pi.ipi_spec_dst, src, 4);
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { 0 };
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(&pi.ipi6_addr, src, 16);
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

/* Ask, in mh, that the datagram leave from the local address the datagram
 * described by from reached (no control message when from has none). */
static void set_pktinfo(struct msghdr *mh, void *ctl, const struct ntm_udp_meta *from)
{
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (from && from->has_dst)
		ntm_udp_put_pktinfo(mh, ctl, from->family, from->dst);
}

ssize_t ntm_udp_send(int fd, const void *buf, size_t len, const struct sockaddr *to,
		     socklen_t tolen, const struct ntm_udp_meta *from)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = (void *)to, .msg_namelen = tolen,
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	set_pktinfo(&mh, ctl.buf, from);
	return send_msg(fd, &mh);
}

void ntm_udp_rxbatch_init(struct ntm_udp_rxbatch *b, uint8_t *bufs, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
	for (size_t i = 0; i < NTM_UDP_BATCH; i++)
		b->buf[i] = bufs + i * cap;
}

ssize_t ntm_udp_recv_batch(int fd, struct ntm_udp_rxbatch *b, size_t max)
{
	int n;

	if (max == 0 || max > NTM_UDP_BATCH)
		return -EINVAL;
	/* recvmmsg writes back into the headers: set them up every time. */
	for (size_t i = 0; i < max; i++) {
		struct msghdr *mh = &b->mm[i].msg_hdr;
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = b->cap;
		mh->msg_name = &b->meta[i].src;
		mh->msg_namelen = sizeof(b->meta[i].src);
		mh->msg_iov = &b->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = b->ctl[i].buf;
		mh->msg_controllen = sizeof(b->ctl[i].buf);
		mh->msg_flags = 0;
	}
	do
		n = recvmmsg(fd, b->mm, (unsigned)max, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EAGAIN;
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &b->mm[i].msg_hdr;
		struct ntm_udp_meta *m = &b->meta[i];
		b->len[i] = b->mm[i].msg_len;
		b->trunc[i] = (mh->msg_flags & MSG_TRUNC) != 0;
		m->srclen = mh->msg_namelen;
		m->via_relay = false;
		m->fd = fd;
		ntm_udp_read_pktinfo(mh, m);
	}
	return n;
}

size_t ntm_udp_send_batch(struct ntm_udp_tx *tx, size_t n)
{
	struct mmsghdr mm[NTM_UDP_BATCH];
	struct iovec iov[NTM_UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[NTM_UDP_BATCH];
	size_t sent = 0;

	for (size_t i = 0; i < n;) {
		/* The run of datagrams on one socket, at most a batch of them. */
		size_t k = 0;
		int fd = tx[i].fd;
		while (i + k < n && k < NTM_UDP_BATCH && tx[i + k].fd == fd) {
			struct ntm_udp_tx *t = &tx[i + k];
			iov[k].iov_base = (void *)t->buf;
			iov[k].iov_len = t->len;
			memset(&mm[k], 0, sizeof(mm[k]));
			mm[k].msg_hdr.msg_name = &t->to.src;
			mm[k].msg_hdr.msg_namelen = t->to.srclen;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
			set_pktinfo(&mm[k].msg_hdr, ctl[k].buf, &t->to);
			t->err = 0;
			k++;
		}
		/* sendmmsg stops at the first datagram it cannot send and says so
		 * only on the next call: mark that one, go on after it. */
		for (size_t j = 0; j < k;) {
			int r;
			do
				r = sendmmsg(fd, mm + j, (unsigned)(k - j), MSG_DONTWAIT | MSG_NOSIGNAL);
			while (r < 0 && errno == EINTR);
			if (r < 0) {
				tx[i + j].err = -errno;
				j++;
			} else if (r == 0) {
				tx[i + j].err = -EAGAIN;
				j++;
			} else {
				sent += (size_t)r;
				j += (size_t)r;
			}
		}
		i += k;
	}
	return sent;
}

ssize_t ntm_udp_send_train(int fd, const uint8_t *buf, size_t len, size_t seg,
			   const struct sockaddr *to, socklen_t tolen, bool gso)
{
	struct iovec iov[NTM_UDP_TRAIN_MAX];
	struct mmsghdr mm[NTM_UDP_TRAIN_MAX];
	size_t n = seg ? (len + seg - 1) / seg : 0;
	int ret;

	if (n == 0 || n > NTM_UDP_TRAIN_MAX || len > NTM_UDP_TRAIN_BYTES || seg > UINT16_MAX)
		return -EINVAL;
	if (gso && n > 1) {
		union {
			char buf[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} ctl;
		struct iovec one = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr mh = {
			.msg_name = (void *)to, .msg_namelen = tolen,
			.msg_iov = &one, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		uint16_t sz = (uint16_t)seg;
		memset(&ctl, 0, sizeof(ctl));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(sz));
		memcpy(CMSG_DATA(c), &sz, sizeof(sz));
		ssize_t r = send_msg(fd, &mh);
		return r < 0 ? r : (ssize_t)n;
	}
	memset(mm, 0, n * sizeof(mm[0]));
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(buf + i * seg);
		iov[i].iov_len = i + 1 < n ? seg : len - i * seg;
		mm[i].msg_hdr.msg_name = (void *)to;
		mm[i].msg_hdr.msg_namelen = tolen;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	do
		ret = sendmmsg(fd, mm, (unsigned)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

ssize_t ntm_udp_send_segments(int fd, const struct iovec *iov, size_t n, size_t seg,
			      const struct ntm_udp_meta *to)
{
	union {
		char buf[NTM_UDP_SEG_CTL_LEN];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {
		.msg_name = (void *)&to->src, .msg_namelen = to->srclen,
		.msg_iov = (struct iovec *)iov, .msg_iovlen = n,
	};

	if (n == 0 || n > NTM_UDP_TRAIN_MAX || seg == 0 || seg > UINT16_MAX)
		return -EINVAL;
	/* the kernel cuts the bytes every seg, wherever the buffers end */
	for (size_t i = 0; i < n; i++)
		if (iov[i].iov_len > seg || (i + 1 < n && iov[i].iov_len != seg))
			return -EINVAL;
	ntm_udp_put_segment(&mh, ctl.buf, (uint16_t)seg, to->has_dst, to->family, to->dst);
	return send_msg(fd, &mh);
}

void ntm_udp_put_segment(struct msghdr *mh, void *ctl, uint16_t seg, bool has_src, int family,
			 const uint8_t *src)
{
	/* UDP_SEGMENT first, then the packet info written after it */
	const size_t gso_space = CMSG_SPACE(sizeof(uint16_t));
	uint8_t *buf = ctl;

	memset(buf, 0, NTM_UDP_SEG_CTL_LEN);
	mh->msg_controllen = 0;
	if (has_src)
		ntm_udp_put_pktinfo(mh, buf + gso_space, family, src);
	mh->msg_control = buf;
	mh->msg_controllen += gso_space;
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

ssize_t ntm_udp_send_ttl(int fd, const void *buf, size_t len, const struct sockaddr *to,
			 socklen_t tolen, int ttl)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = (void *)to, .msg_namelen = tolen,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)to;

	if (ttl < 1 || ttl > 255)
		return -EINVAL;
	memset(&ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_len = CMSG_LEN(sizeof(int));
	/* an IPv4 destination, also as a mapped address on a dual-stack
	 * socket, takes the IPv4 TTL; a native IPv6 one the hop limit */
	if (to->sa_family == AF_INET6 && memcmp(&s6->sin6_addr, v4mapped, 12) != 0) {
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_HOPLIMIT;
	} else {
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TTL;
	}
	memcpy(CMSG_DATA(c), &ttl, sizeof(ttl));
	return send_msg(fd, &mh);
}

int ntm_udp_set_recverr(int fd, bool on)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int v = on;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &v, sizeof(v)) < 0 && ss.ss_family == AF_INET)
		return -errno;
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &v, sizeof(v)) < 0)
		return -errno;
	return 0;
}

int ntm_udp_recv_err(int fd, struct ntm_udp_err *e)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)) + 128];
		struct cmsghdr align;
	} ctl;
	uint8_t data[64];                   /* the start of the failed datagram: not used */
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr mh = { .msg_name = &e->dst, .msg_namelen = sizeof(e->dst), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };

	memset(e, 0, sizeof(*e));
	if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	e->dstlen = mh.msg_namelen;
	ntm_sockaddr_unmap(&e->dst, &e->dstlen);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		struct sock_extended_err ee;
		if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) ||
		    c->cmsg_len < CMSG_LEN(sizeof(ee)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		e->origin = ee.ee_origin;
		e->type = ee.ee_type;
		e->code = ee.ee_code;
		size_t n = c->cmsg_len - CMSG_LEN(sizeof(ee));
		socklen_t fl = (socklen_t)(n < sizeof(e->from) ? n : sizeof(e->from));
		memcpy(&e->from, CMSG_DATA(c) + sizeof(ee), fl);
		if (e->from.ss_family != AF_INET && e->from.ss_family != AF_INET6)
			e->from.ss_family = 0;
		else
			ntm_sockaddr_unmap(&e->from, &fl);
	}
	return 0;
}

void ntm_sockaddr_unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || memcmp(&s6->sin6_addr, v4mapped, 12) != 0)
		return;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, (const uint8_t *)&s6->sin6_addr + 12, 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
	*len = sizeof(s4);
}

void ntm_sockaddr_map(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (ss->ss_family != AF_INET)
		return;
	memcpy(&s4, ss, sizeof(s4));
	s6.sin6_port = s4.sin_port;
	memcpy(&s6.sin6_addr, v4mapped, 12);
	memcpy((uint8_t *)&s6.sin6_addr + 12, &s4.sin_addr, 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s6, sizeof(s6));
	*len = sizeof(s6);
}

int ntm_sockaddr_cmp(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 1;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port != y->sin_port || x->sin_addr.s_addr != y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port != y->sin6_port ||
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) != 0;
	}
	return 1;
}

const char *ntm_sockaddr_str(const struct sockaddr *sa, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s:%u", a, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, cap, "(family %d)", sa->sa_family);
	}
	return buf;
}
