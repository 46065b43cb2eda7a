/* ntm_stream.c - a steady, verified TCP stream both ways, for the mobility
 * test and the handover benchmark.
 *
 *   ntm_stream server PORT STATUS        one connection on [::]:PORT
 *   ntm_stream client [-6] NAME PORT STATUS
 *                                        connects to NAME by getaddrinfo()
 *                                        (so through nss_ntm in the lab)
 *
 * Each side sends CHUNK bytes every TICK_MS of a deterministic pattern (the
 * client's stream and the server's differ by seed) and checks every byte it
 * receives against the pattern the other side sends: a TCP connection that
 * survives an underlay change must deliver the same bytes, in order, none
 * missing. A mismatch, a reset or an error is fatal (exit 1).
 *
 * Stalls: the receiver notes the time of every read. SIGUSR1 sets a mark:
 * the longest gap between two reads is then measured from the mark on
 * (the gap in progress counts too), so a test marks just before it changes
 * an address and reads the stall once the stream flows again.
 *
 * STATUS is rewritten (write to STATUS.tmp, rename) every STATUS_MS and at
 * exit, one line of JSON:
 *   {"pid": N, "state": "listening|connecting|streaming|closing|done|error",
 *    "rx": verified bytes, "tx": bytes handed to TCP, "marks": marks taken,
 *    "mark_ms": wall clock ms of the last mark (0: none),
 *    "max_gap_ms": longest gap since the mark, "gap_end_ms": wall clock ms
 *    when that gap ended (0 while it lasts), "error": "..."}
 *
 * SIGTERM or SIGINT: stop sending, shut the write side down and read on
 * until the other side has done the same (an orderly close both ways). EOF
 * from the other side: the same from this side. Either way the counts end
 * in STATUS and on stdout; the test compares one side's tx with the other's
 * rx. Libc only, no allocation. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "ntm_stream"
#define CHUNK 4096                      /* bytes sent per tick */
#define TICK_MS 2
#define STATUS_MS 100
#define CLOSE_MS 30000                  /* an orderly close must finish within this */
#define RXBUF 65536
#define SEED_CLIENT 0x6e746d2d61ULL     /* the client's stream ("ntm-a") */
#define SEED_SERVER 0x6e746d2d62ULL     /* the server's stream ("ntm-b") */

static volatile sig_atomic_t got_mark, got_stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_mark = 1;
	else
		got_stop = 1;
}

struct stream {
	int fd;
	const char *status;             /* status file path */
	const char *state;
	char error[160];
	uint64_t tx_seed, rx_seed;
	uint64_t tx, rx;                /* bytes sent, bytes received and verified */
	uint8_t out[CHUNK];
	size_t out_len, out_off;        /* the chunk being sent */
	bool sending;                   /* false once a stop or the peer's EOF came */
	bool wr_shut, peer_eof;
	int64_t next_tick, next_status, close_deadline;
	/* stall accounting, monotonic ms */
	int64_t last_rx, mark_mono, mark_wall, max_gap, gap_end;
	unsigned marks;
};

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static int64_t mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* splitmix64: byte i of a stream is byte i%8 of mix(seed + i/8). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint8_t pattern(uint64_t seed, uint64_t i)
{
	return (uint8_t)(mix(seed + (i >> 3)) >> ((i & 7) * 8));
}

static void fail_stream(struct stream *s, const char *what, int err)
{
	if (s->error[0])
		return; /* the first error is the one that matters */
	if (err)
		snprintf(s->error, sizeof(s->error), "%s: %s", what, strerror(err));
	else
		snprintf(s->error, sizeof(s->error), "%s", what);
	s->state = "error";
}

static void write_status(struct stream *s, int64_t now)
{
	char tmp[4096];
	int64_t gap = s->max_gap, cur = now - s->last_rx, end = 0;
	FILE *f;

	if (s->last_rx && cur > gap && s->mark_mono)
		gap = cur; /* the gap in progress */
	if (s->gap_end && gap == s->max_gap)
		end = s->mark_wall + (s->gap_end - s->mark_mono);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->status) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "{\"pid\": %ld, \"state\": \"%s\", \"rx\": %llu, \"tx\": %llu, \"marks\": %u, "
		"\"mark_ms\": %lld, \"max_gap_ms\": %lld, \"gap_end_ms\": %lld, \"error\": \"%s\"}\n",
		(long)getpid(), s->state, (unsigned long long)s->rx, (unsigned long long)s->tx,
		s->marks, (long long)s->mark_wall, (long long)gap, (long long)end, s->error);
	if (fclose(f) == 0)
		rename(tmp, s->status);
}

static void take_mark(struct stream *s, int64_t now)
{
	s->marks++;
	s->mark_mono = now;
	s->mark_wall = clock_ms(CLOCK_REALTIME);
	s->max_gap = 0;
	s->gap_end = 0;
}

/* Verify and count n received bytes. */
static void received(struct stream *s, const uint8_t *b, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i] != pattern(s->rx_seed, s->rx + i)) {
			char what[96];
			snprintf(what, sizeof(what), "byte %llu is 0x%02x, expected 0x%02x",
				 (unsigned long long)(s->rx + i), b[i], pattern(s->rx_seed, s->rx + i));
			fail_stream(s, what, 0);
			return;
		}
	}
	s->rx += n;
	if (s->mark_mono && s->last_rx && now - s->last_rx > s->max_gap) {
		s->max_gap = now - s->last_rx;
		s->gap_end = now;
	}
	s->last_rx = now;
}

static void do_read(struct stream *s)
{
	uint8_t buf[RXBUF];
	ssize_t n = recv(s->fd, buf, sizeof(buf), 0);

	if (n > 0) {
		received(s, buf, (size_t)n, mono_ms());
	} else if (n == 0) {
		s->peer_eof = true;
		s->sending = false;
	} else if (errno != EAGAIN && errno != EINTR) {
		fail_stream(s, "recv", errno);
	}
}

/* Send what is left of the current chunk; a new chunk only on a tick. */
static void do_write(struct stream *s, int64_t now)
{
	if (s->out_off == s->out_len && s->sending && now >= s->next_tick) {
		for (size_t i = 0; i < CHUNK; i++)
			s->out[i] = pattern(s->tx_seed, s->tx + i);
		s->out_len = CHUNK;
		s->out_off = 0;
		s->next_tick += TICK_MS;
		if (s->next_tick < now)
			s->next_tick = now + TICK_MS; /* after a stall: no burst to catch up */
	}
	while (s->out_off < s->out_len) {
		ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				fail_stream(s, "send", errno);
			return;
		}
		s->out_off += (size_t)n;
		s->tx += (uint64_t)n;
	}
	if (!s->sending && !s->wr_shut) {
		if (shutdown(s->fd, SHUT_WR) < 0)
			fail_stream(s, "shutdown", errno);
		s->wr_shut = true;
		s->state = "closing";
		s->close_deadline = now + CLOSE_MS;
	}
}

static int next_timeout(const struct stream *s, int64_t now)
{
	int64_t t = s->next_status;

	if (s->sending && s->out_off == s->out_len && s->next_tick < t)
		t = s->next_tick;
	return t > now ? (int)(t - now) : 0;
}

/* The stream until an orderly close (0) or an error (1). */
static int run(struct stream *s)
{
	int64_t now = mono_ms();

	s->state = "streaming";
	s->sending = true;
	s->next_tick = now;
	s->next_status = now;
	s->last_rx = now;
	while (!s->error[0] && !(s->wr_shut && s->peer_eof)) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		now = mono_ms();
		if (got_mark) {
			got_mark = 0;
			take_mark(s, now);
		}
		if (got_stop)
			s->sending = false;
		if (s->wr_shut && now >= s->close_deadline) {
			fail_stream(s, "no orderly close from the other side", 0);
			break;
		}
		if (now >= s->next_status) {
			write_status(s, now);
			s->next_status = now + STATUS_MS;
		}
		do_write(s, now);
		if (s->out_off < s->out_len)
			p.events |= POLLOUT;
		if (poll(&p, 1, next_timeout(s, now)) < 0 && errno != EINTR)
			fail_stream(s, "poll", errno);
		else if (p.revents & (POLLIN | POLLHUP | POLLERR))
			do_read(s);
	}
	if (!s->error[0])
		s->state = "done";
	write_status(s, mono_ms());
	printf("%s: %s: rx %llu bytes verified, tx %llu bytes, %u marks, last mark's longest gap %lld ms%s%s\n",
	       PROG, s->state, (unsigned long long)s->rx, (unsigned long long)s->tx, s->marks,
	       (long long)s->max_gap, s->error[0] ? ": " : "", s->error);
	return s->error[0] ? 1 : 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool parse_port(const char *s, const char **out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535 || s[0] == '-' || s[0] == '+')
		return false;
	*out = s;
	return true;
}

/* Wait for one connection on [::]:port (IPv4 too), polling so a stop
 * signal ends the wait. */
static int accept_one(struct stream *s, const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, zero = 0, lfd, fd = -1;

	sa.sin6_port = htons((uint16_t)atoi(port));
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0) {
		fail_stream(s, "socket", errno);
		return -1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
		fail_stream(s, "bind/listen", errno);
		goto out;
	}
	s->state = "listening";
	write_status(s, mono_ms());
	while (fd < 0 && !got_stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		if (poll(&p, 1, STATUS_MS) > 0)
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	}
	if (fd < 0)
		fail_stream(s, "no connection", 0);
out:
	close(lfd);
	return fd;
}

/* Connect to name:port, each address getaddrinfo gives in turn. */
static int connect_name(struct stream *s, const char *name, const char *port, int family)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc;

	s->state = "connecting";
	write_status(s, mono_ms());
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0) {
		snprintf(s->error, sizeof(s->error), "getaddrinfo %s: %s", name, gai_strerror(rc));
		s->state = "error";
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 || set_nonblock(fd) < 0) {
			fail_stream(s, "connect", errno);
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		s->error[0] = '\0'; /* an earlier address failed, this one did not */
		s->state = "connected";
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " server PORT STATUS\n"
		   "       " PROG " client [-6] NAME PORT STATUS\n");
}

int main(int argc, char **argv)
{
	static struct stream s; /* the buffers are large for a stack frame */
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: poll returns */
	const char *port;
	int family = AF_INET, rc;

	if (argc >= 3 && strcmp(argv[1], "client") == 0 && strcmp(argv[2], "-6") == 0) {
		family = AF_INET6;
		argv++;
		argc--;
	}
	if (argc < 2 || !((strcmp(argv[1], "server") == 0 && argc == 4) ||
			  (strcmp(argv[1], "client") == 0 && argc == 5)) ||
	    !parse_port(argv[argc - 2], &port)) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.status = argv[argc - 1];
	if (strcmp(argv[1], "server") == 0) {
		s.tx_seed = SEED_SERVER;
		s.rx_seed = SEED_CLIENT;
		s.fd = accept_one(&s, port);
	} else {
		s.tx_seed = SEED_CLIENT;
		s.rx_seed = SEED_SERVER;
		s.fd = connect_name(&s, argv[2], port, family);
	}
	if (s.fd < 0) {
		write_status(&s, mono_ms());
		fprintf(stderr, PROG ": %s\n", s.error);
		return 1;
	}
	rc = run(&s);
	close(s.fd);
	return rc;
}
