/* ntm_flood.c - the attacker of the netns flood test (tests/netns/flood.sh).
 *
 *   ntm_flood send DST PORT RATE MS MODE SOURCE [-k KEY -P PURPOSE] [-n POOL]
 *   ntm_flood slowctl SOCKET COUNT INTERVAL_MS MS
 *
 * send: RATE IPv4 UDP datagrams a second to DST:PORT for MS milliseconds (or
 * until SIGTERM/SIGINT), each written with our own IP header (IPPROTO_RAW
 * implies IP_HDRINCL) so the source can be any address. SOURCE is either
 * `-s ADDR:PORT` (one source, spoofed or our own) or `-S NET/LEN` (a random
 * address in NET and a random port per datagram). MODE:
 *   junk   datagrams that reach the receiver's handshake path but
 *          authenticate nothing: type HANDSHAKE_INIT version 1 with random
 *          bytes after, cut at 4 bytes, at 32 and at the exact HANDSHAKE_INIT
 *          size, and a DATA-typed one of random bytes
 *   init   real HANDSHAKE_INITs with a valid mac1 for KEY (base64), purpose
 *          PURPOSE (1 node->DC, 2 node->node), each from a new random static
 *          key: a pool of POOL (default 512) made by the library's own
 *          initiator (lib/session.c) before the clock starts, sent in turn
 *   mix    init and junk alternately
 * Prints `send: running pool=N` when the pool is made and the clock starts,
 * and at the end `send: sent=N errors=E ms=T rate=R` (R: datagrams a second
 * achieved; errors: datagrams the kernel's queue refused).
 *
 * slowctl: COUNT stream connections to the unix socket SOCKET, each sent one
 * byte every INTERVAL_MS and never a whole request, for MS milliseconds (or
 * until SIGTERM/SIGINT). A connection the server closes is opened again at
 * the next tick, as an attacker keeping its slots would. Prints
 * `slowctl: open=O refused=R` once the first round of connects is done,
 * then at the end `slowctl: open=O refused=R closed=C replies=B reconnects=N`
 * (closed: connections the server closed; replies: bytes it sent).
 *
 * Bounded in rate, count and time; only addresses the test's namespaces
 * route. Datagrams go through the routing table of the namespace it runs in. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "session.h"
#include "util.h"
#include "wire.h"

#define PROG "ntm_flood"
#define RATE_MAX 100000                 /* datagrams a second */
#define MS_MAX 120000                   /* longest run */
#define POOL_MAX 8192
#define BATCH 64                        /* datagrams per sendmmsg */
#define PAYLOAD_MAX 512
#define PKT_MAX (20 + 8 + PAYLOAD_MAX)
#define CONNS_MAX 4096
#define FILL_FIRST_MS 2000              /* the first round of connects */
#define FILL_AGAIN_MS 100               /* reconnects after each tick */

enum mode { MODE_JUNK, MODE_INIT, MODE_MIX };

struct flood {
	enum mode mode;
	struct in_addr dst;
	uint16_t dport;
	bool random_src;
	uint32_t src, src_mask;         /* host order; random_src: NET and its mask */
	uint16_t sport;
	uint8_t (*pool)[PAYLOAD_MAX];   /* pre-made HANDSHAKE_INITs */
	size_t pool_n, pool_len, pool_next;
	uint64_t rng;
	uint64_t seq;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* Strict decimal number in [min, max]. */
static int parse_num(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* xorshift64*: per-datagram randomness (sources, junk bytes) at line rate;
 * key material comes from ntm_random. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void rng_fill(uint64_t *s, uint8_t *p, size_t len)
{
	while (len) {
		uint64_t v = rng_next(s);
		size_t n = len < 8 ? len : 8;
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/* ---- IPv4 and UDP headers ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4 header and UDP header in front of the plen payload bytes already
 * at pkt + 28; returns the packet's length. The kernel fills in the IP
 * checksum and ID (IP_HDRINCL); the UDP checksum is ours. */
static size_t frame(uint8_t *pkt, uint32_t src, uint16_t sport, struct in_addr dst, uint16_t dport,
		    size_t plen)
{
	size_t len = 28 + plen;
	uint32_t nsrc = htonl(src);

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	put16(pkt + 2, (uint16_t)len);
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &nsrc, 4);
	memcpy(pkt + 16, &dst, 4);
	put16(pkt + 20, sport);
	put16(pkt + 22, dport);
	put16(pkt + 24, (uint16_t)(8 + plen));
	uint32_t sum = csum_add(0, pkt + 12, 8) + IPPROTO_UDP + (uint32_t)(8 + plen);
	uint16_t c = csum_fold(csum_add(sum, pkt + 20, 8 + plen));
	put16(pkt + 26, c ? c : 0xffff);
	return len;
}

/* ---- payloads ---- */

/* Junk that gets as far into the receiver as junk can: the first bytes of a
 * HANDSHAKE_INIT (so it is charged wherever handshakes are), random after,
 * in the sizes a parser must refuse or authenticate; and every fourth a
 * DATA header with a random receiver index. */
static size_t junk(struct flood *f, uint8_t *pl)
{
	static const size_t sizes[] = { 4, 32, NTM_HS_INIT_LEN, NTM_DATA_OVERHEAD + 16 };
	unsigned k = (unsigned)(f->seq % 4);
	size_t len = sizes[k];

	rng_fill(&f->rng, pl, len);
	pl[0] = k == 3 ? NTM_MSG_DATA : NTM_MSG_HS_INIT;
	pl[1] = NTM_WIRE_VERSION;
	return len;
}

static size_t payload(struct flood *f, uint8_t *pl)
{
	bool init = f->mode == MODE_INIT || (f->mode == MODE_MIX && f->seq % 2 == 0);

	f->seq++;
	if (!init)
		return junk(f, pl);
	memcpy(pl, f->pool[f->pool_next], f->pool_len);
	f->pool_next = (f->pool_next + 1) % f->pool_n;
	return f->pool_len;
}

/* POOL HANDSHAKE_INITs to key, each from a new static key and ephemeral,
 * made by the same code a node uses, so mac1 (and whatever else the wire
 * format adds) follows the library. */
static int make_pool(struct flood *f, const uint8_t key[NTM_DH_LEN], uint8_t purpose, size_t n)
{
	struct ntm_identity id;
	struct ntm_hs_pending p;
	uint8_t priv[NTM_DH_LEN], pub[NTM_DH_LEN];

	f->pool = calloc(n, sizeof(*f->pool));
	if (!f->pool)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t index = 0;
		uint64_t route = 0;
		while (index == 0)
			ntm_random(&index, sizeof(index));
		if (purpose == NTM_PURPOSE_PEER)
			ntm_random(&route, sizeof(route));
		if (ntm_x25519_keygen(priv, pub) < 0 || ntm_identity_init(&id, priv) < 0)
			return -EIO;
		int len = ntm_hs_initiate(&p, &id, key, NTM_SUITE_AESGCM, purpose, index, route,
					  f->pool[i], PAYLOAD_MAX);
		ntm_identity_clear(&id);
		ntm_wipe(&p, sizeof(p));
		if (len < 0)
			return len;
		f->pool_len = (size_t)len;
	}
	ntm_wipe(priv, sizeof(priv));
	f->pool_n = n;
	return 0;
}

/* ---- send ---- */

static int parse_addr_port(const char *s, struct in_addr *a, uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned long p;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	if (inet_pton(AF_INET, host, a) != 1 || parse_num(colon + 1, 1, 65535, &p) < 0)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static int parse_net(const char *s, uint32_t *net, uint32_t *mask)
{
	char host[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	unsigned long len;

	if (!slash || (size_t)(slash - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	if (inet_pton(AF_INET, host, &a) != 1 || parse_num(slash + 1, 8, 32, &len) < 0)
		return -EINVAL;
	*mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

/* Fill up to n packets of the batch; returns how many. */
static unsigned fill_batch(struct flood *f, uint8_t (*pkts)[PKT_MAX], struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t src = f->src;
		uint16_t sport = f->sport;
		if (f->random_src) {
			uint64_t r = rng_next(&f->rng);
			src = f->src | ((uint32_t)r & ~f->src_mask);
			sport = (uint16_t)(1024 + (r >> 32) % 64000);
		}
		size_t plen = payload(f, pkts[i] + 28);
		iov[i].iov_base = pkts[i];
		iov[i].iov_len = frame(pkts[i], src, sport, f->dst, f->dport, plen);
	}
	return n;
}

/* Paced by the clock: after t microseconds, rate * t / 1e6 datagrams are
 * due; what is due goes out in batches, then we sleep a little. */
static int run_send(struct flood *f, unsigned long rate, unsigned long ms)
{
	static uint8_t pkts[BATCH][PKT_MAX];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = f->dst };
	uint64_t sent = 0, errors = 0;

	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, PROG ": raw socket: %s\n", strerror(errno));
		return 1;
	}
	int sndbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &sin;
		msgs[i].msg_hdr.msg_namelen = sizeof(sin);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("send: running pool=%zu\n", f->pool_n);
	fflush(stdout);
	uint64_t start = now_us(), end = start + (uint64_t)ms * 1000, t;
	while (!stop && (t = now_us()) < end) {
		uint64_t due = (t - start) * rate / 1000000;
		if (due <= sent + errors) {
			sleep_us(200);
			continue;
		}
		uint64_t want = due - sent - errors;
		unsigned n = fill_batch(f, pkts, iov, want < BATCH ? (unsigned)want : BATCH);
		int k = sendmmsg(fd, msgs, n, 0);
		if (k < 0) {
			/* a full queue drops what is due rather than sending it late */
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, PROG ": send to %s: %s\n", inet_ntoa(f->dst), strerror(errno));
				close(fd);
				return 1;
			}
			errors += n;
			continue;
		}
		sent += (unsigned)k;
		errors += n - (unsigned)k;
	}
	uint64_t took = now_us() - start;
	close(fd);
	printf("send: sent=%llu errors=%llu ms=%llu rate=%llu\n", (unsigned long long)sent,
	       (unsigned long long)errors, (unsigned long long)(took / 1000),
	       (unsigned long long)(took ? sent * 1000000 / took : 0));
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	struct flood f = { 0 };
	unsigned long rate, ms, pool = 512, purpose = 0;
	uint8_t key[NTM_DH_LEN];
	bool have_key = false, have_src = false;
	int ret = 1;

	if (argc < 8 || inet_pton(AF_INET, argv[1], &f.dst) != 1 ||
	    parse_num(argv[2], 1, 65535, &rate) < 0)
		goto usage;
	f.dport = (uint16_t)rate;
	if (parse_num(argv[3], 1, RATE_MAX, &rate) < 0 || parse_num(argv[4], 1, MS_MAX, &ms) < 0)
		goto usage;
	if (strcmp(argv[5], "junk") == 0)
		f.mode = MODE_JUNK;
	else if (strcmp(argv[5], "init") == 0)
		f.mode = MODE_INIT;
	else if (strcmp(argv[5], "mix") == 0)
		f.mode = MODE_MIX;
	else
		goto usage;
	for (int i = 6; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			goto usage;
		i++;
		if (strcmp(o, "-s") == 0) {
			struct in_addr a;
			if (parse_addr_port(v, &a, &f.sport) < 0)
				goto usage;
			f.src = ntohl(a.s_addr);
			f.src_mask = 0xffffffffu;
			have_src = true;
		} else if (strcmp(o, "-S") == 0) {
			if (parse_net(v, &f.src, &f.src_mask) < 0)
				goto usage;
			f.random_src = true;
			have_src = true;
		} else if (strcmp(o, "-k") == 0) {
			if (ntm_key_from_base64(key, v) < 0)
				goto usage;
			have_key = true;
		} else if (strcmp(o, "-P") == 0) {
			if (parse_num(v, NTM_PURPOSE_DC, NTM_PURPOSE_PEER, &purpose) < 0)
				goto usage;
		} else if (strcmp(o, "-n") == 0) {
			if (parse_num(v, 1, POOL_MAX, &pool) < 0)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (!have_src || (f.mode != MODE_JUNK && (!have_key || !purpose)))
		goto usage;
	ntm_random(&f.rng, sizeof(f.rng));
	f.rng |= 1;
	if (f.mode != MODE_JUNK) {
		int r = make_pool(&f, key, (uint8_t)purpose, pool);
		if (r < 0) {
			fprintf(stderr, PROG ": making %lu handshakes: %s\n", pool, strerror(-r));
			goto out;
		}
	}
	catch_stop();
	ret = run_send(&f, rate, ms);
out:
	free(f.pool);
	return ret;
usage:
	fprintf(stderr, "usage: " PROG " send DST PORT RATE(1-%d) MS(1-%d) junk|init|mix "
		"-s ADDR:PORT|-S NET/LEN [-k KEY -P 1|2] [-n POOL(1-%d)]\n", RATE_MAX, MS_MAX, POOL_MAX);
	return 2;
}

/* ---- slowctl ---- */

/* A nonblocking connect: -EAGAIN while the server's backlog is full. */
static int slow_connect(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

struct slow {
	int fd[CONNS_MAX];
	unsigned long n;
	unsigned long open, refused, closed, replies, reconnects;
};

/* Open every slot that is not open, until deadline_us: a full backlog is
 * tried again a millisecond later, any other error counts as refused. */
static void slow_fill(struct slow *s, const struct sockaddr_un *sun, bool again, uint64_t deadline_us)
{
	for (unsigned long i = 0; i < s->n && !stop; i++) {
		if (s->fd[i] >= 0)
			continue;
		int fd;
		while ((fd = slow_connect(sun)) == -EAGAIN && now_us() < deadline_us && !stop)
			sleep_us(1000);
		if (fd < 0) {
			s->refused++;
			continue;
		}
		s->fd[i] = fd;
		s->open++;
		if (again)
			s->reconnects++;
	}
}

static void slow_drop(struct slow *s, unsigned long i)
{
	close(s->fd[i]);
	s->fd[i] = -1;
	s->open--;
	s->closed++;
}

/* One byte on every open connection; never enough for a request header. */
static void slow_tick(struct slow *s)
{
	static const uint8_t byte = 1;

	for (unsigned long i = 0; i < s->n; i++)
		if (s->fd[i] >= 0 && send(s->fd[i], &byte, 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			slow_drop(s, i);
}

/* Read whatever the server sends or notice it closed, until deadline_us. */
static void slow_watch(struct slow *s, uint64_t deadline_us)
{
	static struct pollfd pfd[CONNS_MAX];
	uint8_t buf[512];
	uint64_t t;

	while (!stop && (t = now_us()) < deadline_us) {
		for (unsigned long i = 0; i < s->n; i++)
			pfd[i] = (struct pollfd){ .fd = s->fd[i], .events = POLLIN };
		int k = poll(pfd, (nfds_t)s->n, (int)((deadline_us - t + 999) / 1000));
		if (k <= 0)
			continue;
		for (unsigned long i = 0; i < s->n; i++) {
			if (s->fd[i] < 0 || !pfd[i].revents)
				continue;
			ssize_t r = recv(s->fd[i], buf, sizeof(buf), 0);
			if (r > 0)
				s->replies += (unsigned long)r;
			else if (r == 0 || errno != EAGAIN)
				slow_drop(s, i);
		}
	}
}

static int cmd_slowctl(int argc, char **argv)
{
	static struct slow s;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned long interval, ms;

	if (argc != 5 || strlen(argv[1]) >= sizeof(sun.sun_path) ||
	    parse_num(argv[2], 1, CONNS_MAX, &s.n) < 0 || parse_num(argv[3], 1, MS_MAX, &interval) < 0 ||
	    parse_num(argv[4], 1, MS_MAX, &ms) < 0) {
		fprintf(stderr, "usage: " PROG " slowctl SOCKET COUNT(1-%d) INTERVAL_MS MS(1-%d)\n",
			CONNS_MAX, MS_MAX);
		return 2;
	}
	strcpy(sun.sun_path, argv[1]);
	for (unsigned long i = 0; i < s.n; i++)
		s.fd[i] = -1;
	catch_stop();
	uint64_t end = now_us() + (uint64_t)ms * 1000;
	slow_fill(&s, &sun, false, now_us() + FILL_FIRST_MS * 1000);
	printf("slowctl: open=%lu refused=%lu\n", s.open, s.refused);
	fflush(stdout);
	while (!stop && now_us() < end) {
		slow_tick(&s);
		uint64_t next = now_us() + interval * 1000;
		slow_watch(&s, next < end ? next : end);
		slow_fill(&s, &sun, true, now_us() + FILL_AGAIN_MS * 1000);
	}
	printf("slowctl: open=%lu refused=%lu closed=%lu replies=%lu reconnects=%lu\n", s.open,
	       s.refused, s.closed, s.replies, s.reconnects);
	for (unsigned long i = 0; i < s.n; i++)
		if (s.fd[i] >= 0)
			close(s.fd[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "slowctl") == 0)
		return cmd_slowctl(argc - 1, argv + 1);
	fprintf(stderr, "usage:\n  " PROG " send DST PORT RATE MS junk|init|mix -s ADDR:PORT|-S NET/LEN "
		"[-k KEY -P 1|2] [-n POOL]\n  " PROG " slowctl SOCKET COUNT INTERVAL_MS MS\n");
	return 2;
}
