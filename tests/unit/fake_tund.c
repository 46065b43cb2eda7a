/* fake_tund.c - a stand-in for ntm-tund's control socket, for the NSS tests
 * (tests/unit/test_nss.c, tests/unit/nss_getent.sh). It answers
 * RESOLVE_NAME and RESOLVE_ADDR from its command line, or misbehaves in one
 * chosen way, using the real codec (lib/ctlproto.c).
 *
 * Usage: fake_tund -s SOCKET [-m MODE] [-n NAME] [-a ADDR]... [-t TTL] [-b]
 *   -s SOCKET  path to listen on (replaced if it exists)
 *   -n NAME    the one peer it knows (default bob.ntm.test)
 *   -a ADDR    the peer's addresses, IPv4 or IPv6, up to 16, in reply order
 *   -t TTL     TTL of answers (default 5)
 *   -b         background: print the server's pid once it listens, and exit
 *   -m MODE    answer (default)  answer from -n/-a: unknown names or addresses
 *                                are NOTFOUND, no address of the asked family
 *                                is NODATA
 *              allfam            like answer, but send every address whatever
 *                                families were asked for
 *              notfound nodata tryagain internal
 *                                that status for every request
 *              slow              read requests and never answer
 *              garbage           send bytes that are not a message, then close
 *              half              send the first half of a good answer, close
 *              badid badtype     a good answer with another req_id / type
 *              big               a header announcing a 4000-byte body, and it
 *              close             accept and close at once
 *              refuse            bind the socket but never listen
 *              hung              listen but never accept (a stopped daemon:
 *                                connects complete, nothing is read)
 * Connections are served side by side, each read as its bytes arrive (as
 * ntm-tund's control socket does): one client that connected and has not
 * written yet holds up no other.
 * Without -b it writes "ready\n" on stdout once it listens, and on SIGTERM
 * or SIGINT "connections N families F wait_ms W\n" (the last request's
 * values, -1 if none) before exiting 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"

#define MAX_HELD 256

enum mode {
	M_ANSWER, M_ALLFAM, M_NOTFOUND, M_NODATA, M_TRYAGAIN, M_INTERNAL, M_SLOW, M_GARBAGE,
	M_HALF, M_BADID, M_BADTYPE, M_BIG, M_CLOSE, M_REFUSE, M_HUNG,
};

static const char *const mode_names[] = {
	"answer", "allfam", "notfound", "nodata", "tryagain", "internal", "slow", "garbage",
	"half", "badid", "badtype", "big", "close", "refuse", "hung",
};

struct fake {
	enum mode mode;
	const char *name;
	uint32_t ttl;
	unsigned n_addrs;
	struct ntm_lctl_addr addrs[NTM_LCTL_MAX_ADDRS];
	long connections, families, wait_ms;
	int held[MAX_HELD];
	unsigned n_held;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: fake_tund -s SOCKET [-m MODE] [-n NAME] [-a ADDR]... "
			"[-t TTL] [-b]\n");
	exit(2);
}

static int parse_mode(const char *s)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

static void add_addr(struct fake *f, const char *s)
{
	struct ntm_lctl_addr *a = &f->addrs[f->n_addrs];

	if (f->n_addrs == NTM_LCTL_MAX_ADDRS)
		usage();
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, s, a->addr) == 1)
		a->family = 6;
	else
		usage();
	f->n_addrs++;
}

/* ---- one connection ---- */

static void write_full(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* How far the request in buf (len bytes so far) is: 1 whole (its length in
 * *whole), 0 not yet, -1 never (a bad header, or a body past cap). */
static int request_state(const uint8_t *buf, size_t len, size_t cap, size_t *whole)
{
	struct ntm_lctl_hdr h;

	if (len < NTM_LCTL_HDR_LEN)
		return 0;
	if (ntm_lctl_header_parse(buf, NTM_LCTL_HDR_LEN, &h) < 0 ||
	    h.body_len > cap - NTM_LCTL_HDR_LEN)
		return -1;
	*whole = NTM_LCTL_HDR_LEN + h.body_len;
	return len >= *whole;
}

static bool same_name(const char *asked, const char *known)
{
	size_t n = strlen(asked);

	if (n > 1 && asked[n - 1] == '.')
		n--;
	return n == strlen(known) && strncasecmp(asked, known, n) == 0;
}

/* The answer of mode answer/allfam to req, or its status. */
static int build_answer(const struct fake *f, const struct ntm_lctl_req *req, uint8_t *out,
			size_t cap)
{
	struct ntm_lctl_resolve r = { .ttl = f->ttl };
	uint8_t type = req->hdr.type;

	snprintf(r.name, sizeof(r.name), "%s", f->name);
	for (unsigned i = 0; i < f->n_addrs; i++) {
		const struct ntm_lctl_addr *a = &f->addrs[i];
		uint8_t bit = a->family == 4 ? NTM_LCTL_FAM_V4 : NTM_LCTL_FAM_V6;

		if (type == NTM_LCTL_RESOLVE_NAME) {
			if (f->mode == M_ALLFAM || (req->families & bit))
				r.addrs[r.n_addrs++] = *a;
		} else if (a->family == req->addr.family &&
			   memcmp(a->addr, req->addr.addr, a->family == 4 ? 4 : 16) == 0) {
			r.addrs[r.n_addrs++] = *a;
		}
	}
	if (type == NTM_LCTL_RESOLVE_NAME && !same_name(req->name, f->name))
		return ntm_lctl_reply_empty(out, cap, type, req->hdr.req_id, NTM_LCTL_NOTFOUND);
	if (type == NTM_LCTL_RESOLVE_ADDR && r.n_addrs == 0)
		return ntm_lctl_reply_empty(out, cap, type, req->hdr.req_id, NTM_LCTL_NOTFOUND);
	if (r.n_addrs == 0)
		return ntm_lctl_reply_empty(out, cap, type, req->hdr.req_id, NTM_LCTL_NODATA);
	return ntm_lctl_reply_resolve(out, cap, type, req->hdr.req_id, &r);
}

static int build_reply(const struct fake *f, const struct ntm_lctl_req *req, uint8_t *out,
		       size_t cap)
{
	static const uint16_t status[] = {
		[M_NOTFOUND] = NTM_LCTL_NOTFOUND, [M_NODATA] = NTM_LCTL_NODATA,
		[M_TRYAGAIN] = NTM_LCTL_TRYAGAIN, [M_INTERNAL] = NTM_LCTL_INTERNAL,
	};
	int n;

	switch (f->mode) {
	case M_NOTFOUND: case M_NODATA: case M_TRYAGAIN: case M_INTERNAL:
		return ntm_lctl_reply_empty(out, cap, req->hdr.type, req->hdr.req_id,
					    status[f->mode]);
	case M_BADID: {
		struct ntm_lctl_req other = *req;
		other.hdr.req_id++;
		return build_answer(f, &other, out, cap);
	}
	case M_BADTYPE: {
		struct ntm_lctl_req other = *req;
		other.hdr.type = req->hdr.type == NTM_LCTL_RESOLVE_NAME ? NTM_LCTL_RESOLVE_ADDR
									: NTM_LCTL_RESOLVE_NAME;
		if (other.hdr.type == NTM_LCTL_RESOLVE_ADDR)
			other.addr = f->addrs[0];
		else
			snprintf(other.name, sizeof(other.name), "%s", f->name);
		other.families = NTM_LCTL_FAM_BOTH;
		return build_answer(f, &other, out, cap);
	}
	case M_HALF:
		n = build_answer(f, req, out, cap);
		return n > 0 ? n / 2 : n;
	default:
		return build_answer(f, req, out, cap);
	}
}

/* The whole request in (len bytes) on fd, answered as the mode says. */
static void serve(struct fake *f, int fd, const uint8_t *in, size_t len)
{
	uint8_t out[4096 + NTM_LCTL_HDR_LEN];
	struct ntm_lctl_req req;
	int n;

	if (ntm_lctl_req_decode(in, len, &req) < 0)
		return;
	if (req.hdr.type == NTM_LCTL_RESOLVE_NAME) {
		f->families = req.families;
		f->wait_ms = req.has_wait_ms ? (long)req.wait_ms : -1;
	}
	if (f->mode == M_SLOW)
		return;
	if (f->mode == M_BIG) {
		/* A valid header (version 1, the right type and id, OK) whose
		 * body is longer than any RESOLVE reply may be. */
		memset(out, 0, sizeof(out));
		out[0] = NTM_LCTL_VERSION;
		out[1] = req.hdr.type | NTM_LCTL_REPLY;
		out[4] = (uint8_t)(req.hdr.req_id >> 24), out[5] = (uint8_t)(req.hdr.req_id >> 16);
		out[6] = (uint8_t)(req.hdr.req_id >> 8), out[7] = (uint8_t)req.hdr.req_id;
		out[10] = 4000 >> 8, out[11] = 4000 & 0xff;
		write_full(fd, out, NTM_LCTL_HDR_LEN + 4000);
		return;
	}
	n = build_reply(f, &req, out, sizeof(out));
	if (n > 0)
		write_full(fd, out, (size_t)n);
}

/* slow keeps connections open (the client must give up by itself); the
 * others close each one after one exchange. */
static void done(struct fake *f, int fd)
{
	if (f->mode != M_SLOW) {
		close(fd);
		return;
	}
	if (f->n_held == MAX_HELD) {
		close(f->held[0]);
		memmove(f->held, f->held + 1, (MAX_HELD - 1) * sizeof(int));
		f->n_held--;
	}
	f->held[f->n_held++] = fd;
}

/* Connections whose request is still coming. Every one is read as its
 * bytes arrive, like ntm-tund's control socket: a client that connected and
 * has not written yet holds up nobody else. */
#define MAX_PENDING 64
struct pending {
	int fd;
	size_t len;
	uint8_t buf[2048];
};
static struct pending pend[MAX_PENDING];
static unsigned n_pend;

static void pending_drop(unsigned i)
{
	close(pend[i].fd);
	pend[i] = pend[--n_pend];
}

/* A new connection: close and garbage are answered at once, the others
 * wait for their request (the oldest waiting one closed when all slots are
 * taken). */
static void on_accept(struct fake *f, int fd)
{
	f->connections++;
	if (f->mode == M_CLOSE) {
		close(fd);
		return;
	}
	if (f->mode == M_GARBAGE) {
		static const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\nnot an ntm reply";
		write_full(fd, (const uint8_t *)junk, sizeof(junk));
		close(fd);
		return;
	}
	if (n_pend == MAX_PENDING)
		pending_drop(0);
	pend[n_pend].fd = fd;
	pend[n_pend].len = 0;
	n_pend++;
}

/* Pending connection i is readable: read what is there; a whole request is
 * served. Returns true when i left the pending set. */
static bool on_readable(struct fake *f, unsigned i)
{
	struct pending *c = &pend[i];
	size_t whole = 0;
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	if (n <= 0) {
		pending_drop(i);
		return true;
	}
	c->len += (size_t)n;
	int st = request_state(c->buf, c->len, sizeof(c->buf), &whole);
	if (st == 0)
		return false;
	if (st < 0) {
		pending_drop(i);
		return true;
	}
	int fd = c->fd;
	serve(f, fd, c->buf, whole);
	pend[i] = pend[--n_pend];
	done(f, fd);
	return true;
}

static int listen_on(const char *path, bool do_listen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (do_listen && listen(fd, SOMAXCONN) < 0)) {
		perror(path);
		return -1;
	}
	return fd;
}

static void loop(struct fake *f, int lfd)
{
	struct pollfd p[1 + MAX_PENDING];

	while (!stop) {
		if (f->mode == M_REFUSE || f->mode == M_HUNG) {
			poll(NULL, 0, 100);
			continue;
		}
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (unsigned i = 0; i < n_pend; i++)
			p[1 + i] = (struct pollfd){ .fd = pend[i].fd, .events = POLLIN };
		unsigned n = n_pend;
		if (poll(p, 1 + n, 100) <= 0)
			continue;
		/* the pending ones first (from the end: a served one is
		 * replaced by the last), then new connections */
		for (unsigned i = n; i-- > 0;)
			if (p[1 + i].revents && i < n_pend && pend[i].fd == p[1 + i].fd)
				on_readable(f, i);
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0)
				on_accept(f, fd);
		}
	}
}

int main(int argc, char **argv)
{
	struct fake f = { .mode = M_ANSWER, .name = "bob.ntm.test", .ttl = 5,
			  .families = -1, .wait_ms = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *path = NULL;
	bool background = false;
	int opt, lfd;

	while ((opt = getopt(argc, argv, "s:m:n:a:t:b")) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'm':
			if (parse_mode(optarg) < 0)
				usage();
			f.mode = (enum mode)parse_mode(optarg);
			break;
		case 'n': f.name = optarg; break;
		case 'a': add_addr(&f, optarg); break;
		case 't': f.ttl = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': background = true; break;
		default: usage();
		}
	}
	if (!path || optind != argc)
		usage();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(path, f.mode != M_REFUSE);
	if (lfd < 0)
		return 1;
	if (background) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			printf("%ld\n", (long)pid);
			return 0;
		}
		if (!freopen("/dev/null", "w", stdout))
			return 1;
		setsid();
	} else {
		printf("ready\n");
		fflush(stdout);
	}
	loop(&f, lfd);
	printf("connections %ld families %ld wait_ms %ld\n", f.connections, f.families, f.wait_ms);
	fflush(stdout);
	return 0;
}
