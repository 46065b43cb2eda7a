/* ctl.c - ntm-tund's local control socket (doc/control.md): a Unix stream
 * socket any local user may connect to. Queries (STATUS, and from the
 * tunnels issue on RESOLVE_*, PEERS, PING) are open to everyone;
 * requests that change state need uid 0 or membership of group "ntm",
 * checked with SO_PEERCRED and the peer's supplementary groups.
 *
 * Every connection is bounded: at most CTL_MAX_CONNS at once, requests
 * of at most CTL_MAX_REQUEST bytes, and CTL_IDLE_MS without a complete
 * request closes it. Several requests may follow each other on one
 * connection; each is answered in order. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "log.h"
#include "tund.h"

#define CTL_MAX_CONNS 64
#define CTL_MAX_REQUEST 1024
#define CTL_IDLE_MS 5000

struct ctl_conn {
	struct tund *t;
	int fd;
	struct ntm_io io;
	struct ntm_timer idle;
	struct ucred cred;
	uint8_t in[NTM_LCTL_HDR_LEN + CTL_MAX_REQUEST];
	size_t inlen;
	uint8_t *out;          /* pending reply bytes */
	size_t outlen, outoff;
};

static unsigned nconns;
static gid_t ntm_gid = (gid_t)-1;

static void conn_close(struct ctl_conn *c)
{
	ntm_io_remove(&c->io);
	ntm_timer_cancel(&c->idle);
	close(c->fd);
	free(c->out);
	free(c);
	nconns--;
}

/* Is gid among pid's supplementary groups? Read from /proc, which a
 * process may read for any other process. */
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

static bool privileged(const struct ctl_conn *c)
{
	if (c->cred.uid == 0)
		return true;
	if (ntm_gid == (gid_t)-1)
		return false;
	return c->cred.gid == ntm_gid || in_group(c->cred.pid, ntm_gid);
}

static void fill_endpoint(struct ntm_lctl_endpoint *e, const struct ntm_endpoint *w)
{
	e->family = w->family;
	e->port = w->port;
	memcpy(e->addr, w->addr, 16);
}

static int reply_status(struct ctl_conn *c, uint32_t req_id, uint8_t *buf, size_t cap)
{
	struct tund *t = c->t;
	struct ntm_lctl_status_info *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss = t->dc_addr;
	socklen_t len = t->dc_addrlen;
	struct ntm_endpoint ep;
	int ret;

	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", t->fqdn[0] ? t->fqdn : t->cfg.name);
	if (t->configured) {
		s->vip4.present = s->vip6.present = true;
		memcpy(s->vip4.addr, t->vip4, 4);
		s->vip4.plen = t->plen4;
		memcpy(s->vip6.addr, t->vip6, 16);
		s->vip6.plen = t->plen6;
	}
	ntm_sockaddr_unmap(&ss, &len);
	ntm_sockaddr_str((struct sockaddr *)&ss, s->dc, sizeof(s->dc));
	if (ntm_endpoint_from_sockaddr(&ep, (struct sockaddr *)&ss) == 0) {
		s->has_dc_endpoint = true;
		fill_endpoint(&s->dc_endpoint, &ep);
	}
	switch (t->dc_state) {
	case DC_REGISTERED: s->dc_state = NTM_LCTL_DC_REGISTERED; break;
	case DC_CONNECTING: s->dc_state = NTM_LCTL_DC_CONNECTING; break;
	case DC_UNREACHABLE: s->dc_state = NTM_LCTL_DC_UNREACHABLE; break;
	case DC_REFUSED: s->dc_state = NTM_LCTL_DC_REFUSED; break;
	}
	if (t->observed.family) {
		s->has_observed = true;
		fill_endpoint(&s->observed, &t->observed);
	}
	if (t->dc_last_ack_ms) {
		s->has_ack_age = true;
		s->ack_age = (uint32_t)((ntm_loop_now_ms() - t->dc_last_ack_ms) / 1000);
	}
	s->n_zones = t->nzones;
	for (unsigned i = 0; i < t->nzones; i++)
		snprintf(s->zones[i], sizeof(s->zones[i]), "%s", t->zones[i]);
	ret = ntm_lctl_reply_status(buf, cap, req_id, s);
	free(s);
	return ret;
}

/* Build the reply to one complete request into a fresh buffer. */
static int handle(struct ctl_conn *c, const uint8_t *msg, size_t len, uint8_t **out)
{
	struct ntm_lctl_req req;
	size_t cap = NTM_LCTL_MSG_MAX;
	uint8_t *buf = malloc(cap);
	int ret;

	if (!buf)
		return -ENOMEM;
	*out = buf;
	ret = ntm_lctl_req_decode(msg, len, &req);
	if (ret < 0) {
		struct ntm_lctl_hdr h;
		ntm_lctl_header_parse(msg, len, &h);
		return ntm_lctl_reply_empty(buf, cap, h.type, h.req_id, NTM_LCTL_BADREQ);
	}
	if (ntm_lctl_type_is_privileged(req.hdr.type) && !privileged(c)) {
		log_info("control: %s from uid %u refused: needs root or group ntm",
			 ntm_lctl_type_name(req.hdr.type), (unsigned)c->cred.uid);
		return ntm_lctl_reply_empty(buf, cap, req.hdr.type, req.hdr.req_id, NTM_LCTL_DENIED);
	}
	switch (req.hdr.type) {
	case NTM_LCTL_STATUS:
		return reply_status(c, req.hdr.req_id, buf, cap);
	case NTM_LCTL_REREGISTER:
		log_notice("control: re-registration requested by uid %u", (unsigned)c->cred.uid);
		dclink_reregister(c->t);
		return ntm_lctl_reply_empty(buf, cap, req.hdr.type, req.hdr.req_id, NTM_LCTL_OK);
	default:
		/* Name resolution, peers and ping arrive with the tunnels. */
		return ntm_lctl_reply_empty(buf, cap, req.hdr.type, req.hdr.req_id, NTM_LCTL_BADREQ);
	}
}

/* Send what is pending. Returns 1 when all was sent, 0 when the socket is
 * full (EPOLLOUT armed), -1 when the connection was closed. */
static int flush(struct ctl_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ntm_io_modify(&c->io, EPOLLIN | EPOLLOUT);
			return 0;
		}
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	ntm_io_modify(&c->io, EPOLLIN);
	return 1;
}

/* Answer every complete request in the input buffer, in order, while the
 * replies go out at once. Returns -1 when the connection was closed. */
static int process(struct ctl_conn *c)
{
	struct ntm_lctl_hdr h;

	while (!c->out && c->inlen >= NTM_LCTL_HDR_LEN) {
		if (ntm_lctl_header_parse(c->in, c->inlen, &h) < 0 || h.body_len > CTL_MAX_REQUEST) {
			conn_close(c);
			return -1;
		}
		size_t need = NTM_LCTL_HDR_LEN + h.body_len;
		if (c->inlen < need)
			break;
		int len = handle(c, c->in, need, &c->out);
		if (len < 0) {
			conn_close(c);
			return -1;
		}
		c->outlen = (size_t)len;
		c->outoff = 0;
		memmove(c->in, c->in + need, c->inlen - need);
		c->inlen -= need;
		if (flush(c) < 0)
			return -1;
	}
	return 0;
}

static void on_conn(struct ntm_io *io, uint32_t events, void *arg)
{
	struct ctl_conn *c = arg;
	(void)io;

	if (events & EPOLLOUT && c->out) {
		if (flush(c) == 1)
			process(c);
		return;
	}
	if (c->out)
		return; /* one reply at a time */
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	ntm_timer_arm(&c->idle, CTL_IDLE_MS, 0);
	process(c);
}

static void on_idle(struct ntm_timer *tm, void *arg)
{
	(void)tm;
	conn_close(arg);
}

static void on_accept(struct ntm_io *io, uint32_t events, void *arg)
{
	struct tund *t = arg;
	socklen_t len = sizeof(struct ucred);
	(void)events;

	for (;;) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (nconns >= CTL_MAX_CONNS) {
			close(fd);
			continue;
		}
		struct ctl_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->t = t;
		c->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
			close(fd);
			free(c);
			continue;
		}
		nconns++;
		ntm_io_init(&c->io, t->loop, fd, on_conn, c);
		ntm_timer_init(&c->idle, t->loop, on_idle, c);
		if (ntm_io_add(&c->io, EPOLLIN) < 0) {
			conn_close(c);
			continue;
		}
		ntm_timer_arm(&c->idle, CTL_IDLE_MS, 0);
	}
}

int ctl_open(struct tund *t, uid_t owner, gid_t group)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = t->cfg.control_socket;
	char dir[sizeof(sun.sun_path)];
	struct group gr, *res = NULL;
	char grbuf[4096];
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	strcpy(dir, path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* root-owned and not writable by others: clients trust the socket in it */
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if (getgrnam_r("ntm", &gr, grbuf, sizeof(grbuf), &res) == 0 && res)
		ntm_gid = gr.gr_gid;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    chown(path, owner, group) < 0 || listen(fd, 64) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	t->ctl_fd = fd;
	ntm_io_init(&t->ctl_io, t->loop, fd, on_accept, t);
	return ntm_io_add(&t->ctl_io, EPOLLIN);
}

void ctl_close(struct tund *t)
{
	if (t->ctl_fd < 0)
		return;
	ntm_io_remove(&t->ctl_io);
	close(t->ctl_fd);
	unlink(t->cfg.control_socket);
	t->ctl_fd = -1;
}
