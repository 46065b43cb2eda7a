/* ctlserver.c - see ctlserver.h. */
#include "ctlserver.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "stream.h"
#include "util.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59               /* Linux >= 4.13; older libc headers lack it */
#endif

/* A refusal that may come in floods: logged once per NTM_CTLSRV_LOG_EVERY_MS
 * with how many came since. */
struct log_limit {
	uint64_t last_ms;
	uint64_t since;
};

struct ntm_ctlsrv {
	struct ntm_loop *loop;
	int fd;
	struct ntm_io io;
	struct ntm_timer resume;       /* accepting paused: out of descriptors */
	char path[108];
	ntm_ctlsrv_fn fn;
	void *arg;
	gid_t ntm_gid;                 /* (gid_t)-1 when there is no group "ntm" */
	unsigned nconns;
	struct ntm_ctlconn *conns;     /* list, for close and the per-uid count */
	struct ntm_ctlsrv_stats stats;
	struct log_limit log_cap, log_nofd;
};

struct ntm_ctlconn {
	struct ntm_ctlsrv *srv;
	struct ntm_ctlconn *next, *prev;
	struct ntm_stream st;
	struct ntm_timer timer;        /* closes it at ntm_ctlsrv_close_at() */
	struct ntm_ctlsrv_clock clock;
	struct ucred cred;
	bool privileged;
	void (*cancel)(void *arg);
	void *cancel_arg;
	void (*drain)(void *arg);      /* a stream's output sent (ntm_ctlsrv_push) */
	void *drain_arg;
};

/* ---- decisions (pure) ---- */

bool ntm_ctlsrv_admit(unsigned total, unsigned same_uid, bool privileged)
{
	if (privileged)
		return total < NTM_CTLSRV_MAX_CONNS;
	return total < NTM_CTLSRV_MAX_CONNS - NTM_CTLSRV_RESERVED && same_uid < NTM_CTLSRV_PER_UID;
}

bool ntm_ctlsrv_is_privileged(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
			      gid_t ntm_gid)
{
	if (uid == 0)
		return true;
	if (ntm_gid == (gid_t)-1)
		return false;
	if (gid == ntm_gid)
		return true;
	for (size_t i = 0; i < n; i++)
		if (groups[i] == ntm_gid)
			return true;
	return false;
}

bool ntm_ctlsrv_partial(const uint8_t *in, size_t len)
{
	size_t off = 0;

	while (off < len) {
		if (len - off < NTM_LCTL_HDR_LEN)
			return true;
		const uint8_t *h = in + off;
		uint32_t body = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
		/* process() closes on such a header once it gets there */
		if (h[0] != NTM_LCTL_VERSION || body > NTM_CTLSRV_MAX_REQUEST)
			return true;
		if (len - off < NTM_LCTL_HDR_LEN + (size_t)body)
			return true;
		off += NTM_LCTL_HDR_LEN + (size_t)body;
	}
	return false;
}

uint64_t ntm_ctlsrv_close_at(const struct ntm_ctlsrv_clock *k)
{
	uint64_t at = UINT64_MAX;

	if (k->partial)
		at = k->partial_from_ms + NTM_CTLSRV_REQUEST_MS;
	if (!k->deferred && k->idle_from_ms + NTM_CTLSRV_IDLE_MS < at)
		at = k->idle_from_ms + NTM_CTLSRV_IDLE_MS;
	return at;
}

/* ---- I/O ---- */

/* Log what a flood may repeat at most every NTM_CTLSRV_LOG_EVERY_MS. */
static bool log_due(struct log_limit *l, uint64_t now, uint64_t *suppressed)
{
	l->since++;
	if (l->last_ms && now - l->last_ms < NTM_CTLSRV_LOG_EVERY_MS)
		return false;
	*suppressed = l->since - 1;
	l->since = 0;
	l->last_ms = now;
	return true;
}

/* Set c's timer to the earliest moment it must be closed. */
static void rearm(struct ntm_ctlconn *c)
{
	uint64_t at = ntm_ctlsrv_close_at(&c->clock), now = ntm_loop_now_ms();

	if (at == UINT64_MAX)
		ntm_timer_cancel(&c->timer);
	else
		ntm_timer_arm(&c->timer, at > now ? at - now : 0, 0);
}

/* After input arrived or was consumed: does a request in progress start
 * (its deadline counts from now) or end? */
static void track_partial(struct ntm_ctlconn *c)
{
	bool partial = ntm_ctlsrv_partial(c->st.in, c->st.inlen);

	if (partial && !c->clock.partial)
		c->clock.partial_from_ms = ntm_loop_now_ms();
	c->clock.partial = partial;
}

static void conn_close(struct ntm_ctlconn *c)
{
	struct ntm_ctlsrv *s = c->srv;

	if (c->clock.deferred && c->cancel)
		c->cancel(c->cancel_arg);
	ntm_stream_close(&c->st);
	ntm_timer_cancel(&c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

/* Is gid among the supplementary groups the kernel recorded for the
 * peer at connect() (SO_PEERGROUPS)? Not /proc/PID/status: by the time we
 * read it, that pid may be another process. */
static bool peer_groups_privileged(int fd, const struct ucred *cr, gid_t ntm_gid)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	bool ret;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		/* ERANGE: len now says how much the list needs */
		if (errno != ERANGE || len == 0 || !(g = malloc(len)))
			return ntm_ctlsrv_is_privileged(cr->uid, cr->gid, NULL, 0, ntm_gid);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
			len = 0;
	}
	ret = ntm_ctlsrv_is_privileged(cr->uid, cr->gid, g, len / sizeof(gid_t), ntm_gid);
	if (g != small)
		free(g);
	return ret;
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
	else
		c->clock.idle_from_ms = ntm_loop_now_ms();
	return ret;
}

/* The reply to one complete request: 0 deferred, >0 length, <0 close.
 * Permission first (section 6: a refused request is never decoded), then
 * the codec: a request it cannot take gets BADREQ, whatever its type. */
static int handle(struct ntm_ctlconn *c, const uint8_t *msg, size_t len, uint8_t *buf)
{
	struct ntm_lctl_req req;
	struct ntm_lctl_hdr h;
	size_t cap = NTM_LCTL_MSG_MAX;

	ntm_lctl_header_parse(msg, len, &h); /* fills h: the framing was checked */
	if (ntm_lctl_type_is_privileged(h.type) && !c->privileged)
		return ntm_lctl_reply_refusal(buf, cap, h.type, h.req_id, NTM_LCTL_DENIED);
	if (ntm_lctl_req_decode(msg, len, &req) < 0)
		return ntm_lctl_reply_refusal(buf, cap, h.type, h.req_id, NTM_LCTL_BADREQ);
	return c->srv->fn(c->srv->arg, c, &req, buf, cap);
}

/* Answer the complete requests in the input buffer in order, one at a
 * time: the next waits until the reply before it is sent. Returns -1 when
 * the connection was closed. */
static int process(struct ntm_ctlconn *c)
{
	struct ntm_lctl_hdr h;

	while (!ntm_stream_pending(&c->st) && !c->clock.deferred && c->st.inlen >= NTM_LCTL_HDR_LEN) {
		int hr = ntm_lctl_header_parse(c->st.in, c->st.inlen, &h);
		/* A header whose length can be trusted (right version, a body
		 * within bounds) lets us skip the message and answer it, whatever
		 * else is wrong with it (unknown or reply type, status set). */
		if (hr == -EPROTONOSUPPORT || hr == -EMSGSIZE || h.body_len > NTM_CTLSRV_MAX_REQUEST) {
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
			c->clock.deferred = true;
			break;
		}
		ssize_t sent = send_reply(c, buf, (size_t)len);
		free(buf);
		if (sent < 0)
			return -1;
	}
	track_partial(c);
	rearm(c);
	return 0;
}

int ntm_ctlsrv_reply(struct ntm_ctlconn *c, const void *buf, size_t len)
{
	if (!c->clock.deferred || ntm_stream_pending(&c->st))
		return -EINVAL;
	c->clock.deferred = false;
	c->cancel = NULL;
	ssize_t ret = send_reply(c, buf, len);
	if (ret < 0)
		return (int)ret;
	if (ret == 0)
		process(c);
	else
		rearm(c);
	return 0;
}

void ntm_ctlconn_on_cancel(struct ntm_ctlconn *c, void (*fn)(void *arg), void *arg)
{
	c->cancel = fn;
	c->cancel_arg = arg;
}

int ntm_ctlsrv_push(struct ntm_ctlconn *c, const void *buf, size_t len)
{
	if (!c->clock.deferred)
		return -EINVAL;
	ssize_t ret = ntm_stream_queue(&c->st, buf, len);
	if (ret == 0)
		ret = ntm_stream_flush(&c->st);
	if (ret < 0) {
		conn_close(c);         /* calls the cancel function: the owner lets c go */
		return (int)ret;
	}
	return 0;
}

void ntm_ctlconn_on_drain(struct ntm_ctlconn *c, void (*fn)(void *arg), void *arg)
{
	c->drain = fn;
	c->drain_arg = arg;
}

size_t ntm_ctlconn_pending(const struct ntm_ctlconn *c)
{
	return ntm_stream_pending(&c->st);
}

const struct ucred *ntm_ctlconn_cred(const struct ntm_ctlconn *c)
{
	return &c->cred;
}

bool ntm_ctlconn_privileged(const struct ntm_ctlconn *c)
{
	return c->privileged;
}

const struct ntm_ctlsrv_stats *ntm_ctlsrv_stats(const struct ntm_ctlsrv *s)
{
	return &s->stats;
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
		if (left == 0 && c->clock.deferred && c->drain)
			c->drain(c->drain_arg);
		else if (left == 0)
			process(c);
		return;
	}
	ssize_t n = ntm_stream_read(&c->st);
	if (n == 0)
		return;
	if (n == -ENOBUFS && (ntm_stream_pending(&c->st) || c->clock.deferred) &&
	    !(events & (EPOLLHUP | EPOLLERR)))
		return; /* full behind the reply in progress: reading stopped */
	if (n < 0) {
		conn_close(c);
		return;
	}
	/* no timer is reset here: only a reply restarts the idle time, and a
	 * request's deadline runs from its first byte (track_partial) */
	process(c);
}

static void on_timer(struct ntm_timer *tm, void *arg)
{
	struct ntm_ctlconn *c = arg;
	(void)tm;

	if (c->clock.partial && ntm_loop_now_ms() >= c->clock.partial_from_ms + NTM_CTLSRV_REQUEST_MS)
		c->srv->stats.deadline++;
	else
		c->srv->stats.idle++;
	conn_close(c);
}

static unsigned conns_of(const struct ntm_ctlsrv *s, uid_t uid)
{
	unsigned n = 0;

	for (const struct ntm_ctlconn *c = s->conns; c; c = c->next)
		n += c->cred.uid == uid;
	return n;
}

static void on_resume(struct ntm_timer *tm, void *arg)
{
	struct ntm_ctlsrv *s = arg;
	(void)tm;

	if (ntm_io_add(&s->io, EPOLLIN) < 0)
		ntm_timer_arm(&s->resume, NTM_CTLSRV_NOFD_PAUSE_MS, 0);
}

/* accept() found no descriptor: the connection stays in the backlog and
 * the socket stays readable, so polling it now would spin. Wait a little
 * (clients keep their own deadlines) and count it. */
static void pause_accepting(struct ntm_ctlsrv *s, int err)
{
	uint64_t quiet;

	s->stats.nofd++;
	ntm_io_remove(&s->io);
	ntm_timer_arm(&s->resume, NTM_CTLSRV_NOFD_PAUSE_MS, 0);
	if (log_due(&s->log_nofd, ntm_loop_now_ms(), &quiet))
		log_warn_errno(err, "control socket %s: cannot accept; pausing %d ms "
			       "(%llu more since the last message)", s->path,
			       NTM_CTLSRV_NOFD_PAUSE_MS, (unsigned long long)quiet);
}

static void refuse(struct ntm_ctlsrv *s, const struct ucred *cr, bool privileged)
{
	uint64_t quiet;

	s->stats.refused++;
	if (log_due(&s->log_cap, ntm_loop_now_ms(), &quiet))
		log_warn("control socket %s: refusing a connection of uid %u: %u open, %u of them "
			 "its own (caps: %d in all, %d per user, %d kept for root and group ntm)%s; "
			 "%llu more refused since the last message", s->path, (unsigned)cr->uid,
			 s->nconns, conns_of(s, cr->uid), NTM_CTLSRV_MAX_CONNS, NTM_CTLSRV_PER_UID,
			 NTM_CTLSRV_RESERVED, privileged ? " (privileged)" : "",
			 (unsigned long long)quiet);
}

static void on_accept(struct ntm_io *io, uint32_t events, void *arg)
{
	struct ntm_ctlsrv *s = arg;
	(void)events;

	for (;;) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			int err = errno;
			if (err == ECONNABORTED || err == EINTR || err == EPROTO)
				continue;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
				pause_accepting(s, err);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
			close(fd);
			continue;
		}
		bool priv = peer_groups_privileged(fd, &cr, s->ntm_gid);
		/* refused at once, not left in the backlog: the client sees EOF
		 * and gives up instead of waiting out its deadline */
		if (!ntm_ctlsrv_admit(s->nconns, conns_of(s, cr.uid), priv)) {
			refuse(s, &cr, priv);
			close(fd);
			continue;
		}
		struct ntm_ctlconn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->cred = cr;
		c->privileged = priv;
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
		ntm_timer_init(&c->timer, s->loop, on_timer, c);
		c->clock.idle_from_ms = ntm_loop_now_ms();
		rearm(c);
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
	ntm_timer_init(&s->resume, loop, on_resume, s);
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
	ntm_timer_cancel(&s->resume);
	ntm_io_remove(&s->io);
	close(s->fd);
	unlink(s->path);
	free(s);
}
