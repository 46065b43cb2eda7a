/* tundq.c - questions to ntm-tund's control socket (doc/control.md) from
 * inside the event loop: one non-blocking connection per question, a
 * deadline, and the same trust checks as lib/ctlclient.c (a socket whose
 * peer is root or the socket's owner). Any failure is a SERVFAIL for the
 * client: an overlay name is never sent upstream. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "resolverd.h"

static void finish(struct rq *q, const struct dnsq_overlay_answer *a)
{
	tundq_cancel(q);
	handle_overlay_done(q, a);
}

static void fail(struct rq *q)
{
	struct dnsq_overlay_answer a = { .status = 2 };
	finish(q, &a);
}

static void on_reply(struct rq *q, const uint8_t *msg, size_t len)
{
	struct ntm_lctl_hdr h;
	struct ntm_lctl_resolve res;
	struct dnsq_overlay_answer a = { 0 };

	if (ntm_lctl_decode_resolve(msg, len, &h, &res) < 0) {
		fail(q);
		return;
	}
	switch (h.status) {
	case NTM_LCTL_OK:
		a.status = 0;
		for (unsigned i = 0; i < res.n_addrs; i++) {
			if (res.addrs[i].family == 4 && a.n4 < 16)
				memcpy(a.v4[a.n4++], res.addrs[i].addr, 4);
			else if (res.addrs[i].family == 6 && a.n6 < 16)
				memcpy(a.v6[a.n6++], res.addrs[i].addr, 16);
		}
		snprintf(a.ptr_name, sizeof(a.ptr_name), "%s", res.name);
		break;
	case NTM_LCTL_NOTFOUND:
		a.status = 1;
		break;
	case NTM_LCTL_NODATA:
		a.status = 0; /* known, no address of the family: NODATA */
		break;
	default:
		a.status = 2;
	}
	finish(q, &a);
}

static void on_io(struct ntm_io *io, uint32_t events, void *arg)
{
	struct rq *q = arg;
	struct ntm_lctl_hdr h;
	(void)io;
	(void)events;

	ssize_t n = recv(q->tfd, q->tbuf + q->tlen, sizeof(q->tbuf) - q->tlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fail(q);
		return;
	}
	q->tlen += (size_t)n;
	if (q->tlen < NTM_LCTL_HDR_LEN)
		return;
	if (ntm_lctl_header_parse(q->tbuf, q->tlen, &h) < 0 ||
	    h.body_len > sizeof(q->tbuf) - NTM_LCTL_HDR_LEN) {
		fail(q);
		return;
	}
	if (q->tlen < NTM_LCTL_HDR_LEN + h.body_len)
		return;
	on_reply(q, q->tbuf, NTM_LCTL_HDR_LEN + h.body_len);
}

static void on_timeout(struct ntm_timer *t, void *arg)
{
	(void)t;
	fail(arg);
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
	return fd;
}

int tundq_start(struct rq *q, enum dnsq_kind kind)
{
	uint8_t req[512];
	int len;

	if (kind == DNSQ_OVERLAY_NAME)
		len = ntm_lctl_req_resolve_name(req, sizeof(req), 1, q->q.name, NTM_LCTL_FAM_BOTH,
						RS_TUND_WAIT_MS);
	else
		len = ntm_lctl_req_resolve_addr(req, sizeof(req), 1, q->q.af == AF_INET ? 4 : 6,
						q->q.addr);
	if (len < 0)
		return len;
	int fd = connect_checked(q->r->tund_socket);
	if (fd < 0)
		return fd;
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
		close(fd);
		return -EIO;
	}
	q->tfd = fd;
	q->tlen = 0;
	ntm_io_init(&q->tio, q->r->loop, fd, on_io, q);
	ntm_timer_init(&q->ttimer, q->r->loop, on_timeout, q);
	if (ntm_io_add(&q->tio, EPOLLIN) < 0) {
		close(fd);
		q->tfd = -1;
		return -EIO;
	}
	ntm_timer_arm(&q->ttimer, RS_TUND_TIMEOUT_MS, 0);
	return 0;
}

void tundq_cancel(struct rq *q)
{
	if (q->tfd < 0)
		return;
	ntm_io_remove(&q->tio);
	ntm_timer_cancel(&q->ttimer);
	close(q->tfd);
	q->tfd = -1;
}
