/* ctlserver.c - see ctlserver.h. */
#include "ctlserver.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stream.h"
#include "util.h"

struct ntm_ctlsrv {
	struct ntm_loop *loop;
	int fd;
	struct ntm_io io;
	char path[108];
	ntm_ctlsrv_fn fn;
	void *arg;
	gid_t ntm_gid;                 /* (gid_t)-1 when there is no group "ntm" */
	unsigned nconns;
	struct ntm_ctlconn *conns;     /* list, for close */
};

struct ntm_ctlconn {
	struct ntm_ctlsrv *srv;
	struct ntm_ctlconn *next, *prev;
	struct ntm_stream st;
	struct ntm_timer idle;
	struct ucred cred;
	bool deferred;
	void (*cancel)(void *arg);
	void *cancel_arg;
};

static void conn_close(struct ntm_ctlconn *c)
{
	struct ntm_ctlsrv *s = c->srv;

	if (c->deferred && c->cancel)
		c->cancel(c->cancel_arg);
	ntm_stream_close(&c->st);
	ntm_timer_cancel(&c->idle);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

/* Is gid among pid's supplementary groups (/proc/PID/status, readable for
 * any process)? */
static bool in_group(pid_t pid, gid_t gid)
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		char *p = line + 7, *end;
		for (;;) {
			unsigned long g = strtoul(p, &end, 10);
			if (end == p)
				break;
			if ((gid_t)g == gid)
				found = true;
			p = end;
		}
		break;
	}
	fclose(f);
	return found;
}

static bool privileged(const struct ntm_ctlconn *c)
{
	gid_t g = c->srv->ntm_gid;

	if (c->cred.uid == 0)
		return true;
	if (g == (gid_t)-1)
		return false;
	return c->cred.gid == g || in_group(c->cred.pid, g);
}

/* Queue a reply and send what the socket takes: 0 all sent, >0 bytes
 * still queued (the stream waits for EPOLLOUT), <0 c was closed. */
static ssize_t send_reply(struct ntm_ctlconn *c, const uint8_t *buf, size_t len)
{
	ssize_t ret = ntm_stream_queue(&c->st, buf, len);

	if (ret == 0)
		ret = ntm_stream_flush(&c->st);
	if (ret < 0)
		conn_close(c);
	return ret;
}

/* The reply to one complete request: 0 deferred, >0 length, <0 close. */
static int handle(struct ntm_ctlconn *c, const uint8_t *msg, size_t len, uint8_t *buf)
{
	struct ntm_lctl_req req;
	size_t cap = NTM_LCTL_MSG_MAX;

	if (ntm_lctl_req_decode(msg, len, &req) < 0) {
		struct ntm_lctl_hdr h;
		ntm_lctl_header_parse(msg, len, &h);
		return ntm_lctl_reply_empty(buf, cap, h.type, h.req_id, NTM_LCTL_BADREQ);
	}
	if (ntm_lctl_type_is_privileged(req.hdr.type) && !privileged(c))
		return ntm_lctl_reply_empty(buf, cap, req.hdr.type, req.hdr.req_id, NTM_LCTL_DENIED);
	return c->srv->fn(c->srv->arg, c, &req, buf, cap);
}

/* Answer the complete requests in the input buffer in order, one at a
 * time: the next waits until the reply before it is sent. Returns -1 when
 * the connection was closed. */
static int process(struct ntm_ctlconn *c)
{
	struct ntm_lctl_hdr h;

	while (!ntm_stream_pending(&c->st) && !c->deferred && c->st.inlen >= NTM_LCTL_HDR_LEN) {
		int hr = ntm_lctl_header_parse(c->st.in, c->st.inlen, &h);
		/* An unknown type still has a usable header: read its body and
		 * answer BADREQ (handle() does). Anything else cannot be skipped. */
		if ((hr < 0 && hr != -EOPNOTSUPP) || h.body_len > NTM_CTLSRV_MAX_REQUEST) {
			conn_close(c);
			return -1;
		}
		size_t need = NTM_LCTL_HDR_LEN + h.body_len;
		if (c->st.inlen < need)
			break;
		uint8_t *buf = malloc(NTM_LCTL_MSG_MAX);
		if (!buf) {
			conn_close(c);
			return -1;
		}
		int len = handle(c, c->st.in, need, buf);
		ntm_stream_consume(&c->st, need);
		if (len < 0) {
			free(buf);
			conn_close(c);
			return -1;
		}
		if (len == NTM_CTLSRV_DEFER) {
			free(buf);
			c->deferred = true;
			ntm_timer_cancel(&c->idle);
			return 0;
		}
		ssize_t sent = send_reply(c, buf, (size_t)len);
		free(buf);
		if (sent < 0)
			return -1;
	}
	return 0;
}

int ntm_ctlsrv_reply(struct ntm_ctlconn *c, const void *buf, size_t len)
{
	if (!c->deferred || ntm_stream_pending(&c->st))
		return -EINVAL;
	c->deferred = false;
	c->cancel = NULL;
	ntm_timer_arm(&c->idle, NTM_CTLSRV_IDLE_MS, 0);
	ssize_t ret = send_reply(c, buf, len);
	if (ret < 0)
		return (int)ret;
	if (ret == 0)
		process(c);
	return 0;
}

void ntm_ctlconn_on_cancel(struct ntm_ctlconn *c, void (*fn)(void *arg), void *arg)
{
	c->cancel = fn;
	c->cancel_arg = arg;
}

const struct ucred *ntm_ctlconn_cred(const struct ntm_ctlconn *c)
{
	return &c->cred;
}

static void on_conn(struct ntm_io *io, uint32_t events, void *arg)
{
	struct ntm_ctlconn *c = arg;
	(void)io;

	if ((events & EPOLLOUT) && ntm_stream_pending(&c->st)) {
		ssize_t left = ntm_stream_flush(&c->st);
		if (left < 0) {
			conn_close(c);
			return;
		}
		if (left == 0)
			process(c);
		return;
	}
	ssize_t n = ntm_stream_read(&c->st);
	if (n == 0)
		return;
	if (n == -ENOBUFS && (ntm_stream_pending(&c->st) || c->deferred) &&
	    !(events & (EPOLLHUP | EPOLLERR)))
		return; /* full behind the reply in progress: reading stopped */
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (!c->deferred)
		ntm_timer_arm(&c->idle, NTM_CTLSRV_IDLE_MS, 0);
	process(c);
}

static void on_idle(struct ntm_timer *tm, void *arg)
{
	(void)tm;
	conn_close(arg);
}

static void on_accept(struct ntm_io *io, uint32_t events, void *arg)
{
	struct ntm_ctlsrv *s = arg;
	socklen_t len = sizeof(struct ucred);
	(void)events;

	for (;;) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ntm_ctlconn *c = s->nconns < NTM_CTLSRV_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->srv = s;
		if (ntm_stream_open(&c->st, s->loop, fd, NTM_LCTL_HDR_LEN + NTM_CTLSRV_MAX_REQUEST,
				    NTM_LCTL_MSG_MAX, on_conn, c) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		ntm_timer_init(&c->idle, s->loop, on_idle, c);
		ntm_timer_arm(&c->idle, NTM_CTLSRV_IDLE_MS, 0);
	}
}

int ntm_ctlsrv_open(struct ntm_ctlsrv **out, struct ntm_loop *loop, const char *path,
		    uid_t owner, gid_t group, ntm_ctlsrv_fn fn, void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct group gr, *res = NULL;
	char grbuf[4096], dir[sizeof(sun.sun_path)];
	struct ntm_ctlsrv *s;
	int ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	memcpy(dir, path, strlen(path) + 1);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* The daemon's own (it writes files there after dropping
		 * privileges, atomically by rename) and writable by nobody else:
		 * clients trust sockets in it. */
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (chown(dir, owner, group) < 0 || chmod(dir, 0755) < 0)
			return -errno;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->fn = fn;
	s->arg = arg;
	s->ntm_gid = (gid_t)-1;
	memcpy(s->path, path, strlen(path) + 1);
	if (getgrnam_r("ntm", &gr, grbuf, sizeof(grbuf), &res) == 0 && res)
		s->ntm_gid = gr.gr_gid;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		ret = -errno;
		free(s);
		return ret;
	}
	unlink(path);
	if (bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    chown(path, owner, group) < 0 || listen(s->fd, NTM_CTLSRV_BACKLOG) < 0) {
		ret = -errno;
		goto fail;
	}
	ntm_io_init(&s->io, loop, s->fd, on_accept, s);
	ret = ntm_io_add(&s->io, EPOLLIN);
	if (ret < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	close(s->fd);
	unlink(path);
	free(s);
	return ret;
}

void ntm_ctlsrv_close(struct ntm_ctlsrv *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	ntm_io_remove(&s->io);
	close(s->fd);
	unlink(s->path);
	free(s);
}
