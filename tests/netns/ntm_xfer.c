/* ntm_xfer.c - verified bulk transfers through the tunnel, for the offload
 * test (tests/netns/offload.sh).
 *
 *   ntm_xfer tcp-recv PORT BYTES SEED
 *   ntm_xfer tcp-send ADDR PORT BYTES SEED
 *   ntm_xfer udp-recv PORT COUNT SEED
 *   ntm_xfer udp-send ADDR PORT COUNT SEED MTU
 *   ntm_xfer features IFNAME NAME=on|off...
 *
 * tcp: the sender connects to ADDR (numeric, IPv4 or IPv6) and writes BYTES
 * of the seeded stream (byte i is byte i%8 of splitmix64(SEED + i/8)) in
 * writes of mixed sizes, 1 to 65536 bytes, drawn from the same seed; the
 * receiver (one connection on [::]:PORT) checks every byte and that exactly
 * BYTES came before the orderly close.
 *
 * udp: COUNT datagrams, each a 12-byte header (magic, sequence number,
 * length) and a body drawn from SEED and the sequence number, so the
 * receiver checks each on its own: its length against its header, every
 * byte, no duplicate, none missing. The sizes are mixed for a tunnel of MTU
 * bytes: any size that fits one inner packet (and the largest, and one
 * more), sizes that need IP fragmentation inside (up to 9000), and trains of
 * equal datagrams sent with one sendmsg and UDP_SEGMENT (the kernel hands
 * ntm's TUN device one USO super-packet where the device takes them). UDP
 * has no flow control, so the sender keeps at most WINDOW inner packets
 * (a fragmented datagram counts each fragment) unacknowledged: the receiver
 * acknowledges the count it has, and answers a poke with it, so no queue on
 * the way (ntm0's 500 packets, a socket's buffer) overflows on a sound
 * tunnel and a missing datagram is a failure, not noise. With every
 * datagram acknowledged the sender says FIN and the receiver ends (or, the
 * FIN lost, LINGER_MS later).
 *
 * features: turns offload features of a network device on or off with the
 * SIOCETHTOOL ioctl, as `ethtool -K` does (ethtool is not in the lab's
 * packages), by the kernel's names (tx-tcp-segmentation, tx-udp-segmentation,
 * tx-checksum-ip-generic...). Prints the features it changed.
 *
 * Each side prints one line of figures at the end and exits 0 when all was
 * verified, 1 otherwise (the first fault named). Every wait is bounded;
 * libc only, no allocation after start. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define PROG "ntm_xfer"
#define IO_TIMEOUT_S 30                 /* a TCP read or write that blocks longer fails */
#define BYTES_MAX (1ULL << 36)
#define COUNT_MAX (1U << 20)
#define HDR 12                          /* magic, sequence number, length */
#define MAGIC_DATA 0x4e544d58U          /* "NTMX" */
#define MAGIC_ACK 0x4e544d41U           /* "NTMA": the count received */
#define MAGIC_POKE 0x4e544d50U          /* "NTMP": please send the count */
#define MAGIC_FIN 0x4e544d46U           /* "NTMF": all acknowledged, the receiver may go */
#define WINDOW 64                       /* inner packets unacknowledged at most */
#define RING 1024                       /* > WINDOW: datagrams whose cost is kept */
#define ACK_EVERY 8
#define FRAG_MAX 9000                   /* the largest fragmented datagram */
#define MTU_MAX 4000                    /* a tunnel MTU the sizes above suit */
#define TRAIN_MAX 16                    /* datagrams in one UDP_SEGMENT send */
#define POKE_MS 100                     /* a sender waiting this long pokes */
#define STALL_MS 10000                  /* no progress for this long: fail */
#define LINGER_MS 5000                  /* a receiver done answers pokes until FIN or this */
#define IDLE_MS 15000                   /* a receiver with nothing for this long fails */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Bytes [off, off+n) of the stream of seed into buf. */
static void fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t w = mix(seed + ((off + i) >> 3));
		unsigned k = (unsigned)((off + i) & 7);
		for (; k < 8 && i < n; k++, i++)
			buf[i] = (uint8_t)(w >> (k * 8));
	}
}

/* A random number in [lo, hi] from the generator state r. */
static uint32_t draw(uint64_t *r, uint32_t lo, uint32_t hi)
{
	*r += 1;
	return lo + (uint32_t)(mix(*r) % ((uint64_t)hi - lo + 1));
}

static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A socket of type bound to [::]:port, IPv4 too. */
static int bind_any(int type, uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
				   .sin6_port = htons(port) };
	int one = 1, zero = 0, fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A socket of type connected to the numeric address addr:port. */
static int connect_to(int type, const char *addr, const char *port, int *family)
{
	struct addrinfo hints = { .ai_socktype = type, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	int fd, rc = getaddrinfo(addr, port, &hints, &res);

	if (rc != 0) {
		fprintf(stderr, PROG ": %s: %s\n", addr, gai_strerror(rc));
		return -1;
	}
	*family = res->ai_family;
	fd = socket(res->ai_family, type | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		fprintf(stderr, PROG ": connect %s port %s: %s\n", addr, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* ---- TCP ---- */

/* The size of the next write: small, medium and large ones mixed. */
static size_t write_size(uint64_t *r)
{
	switch (draw(r, 0, 3)) {
	case 0: return draw(r, 1, 64);
	case 1: return draw(r, 1, 2048);
	default: return draw(r, 1, 65536);
	}
}

static int tcp_send(const char *addr, const char *port, uint64_t bytes, uint64_t seed)
{
	static uint8_t buf[65536];
	uint64_t sent = 0, writes = 0, r = seed ^ 0x5752495445ULL;
	int family, fd = connect_to(SOCK_STREAM, addr, port, &family);

	if (fd < 0)
		return 1;
	set_timeouts(fd);
	while (sent < bytes) {
		size_t n = write_size(&r);
		if (n > bytes - sent)
			n = (size_t)(bytes - sent);
		fill(seed, sent, buf, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
			if (w < 0) {
				fprintf(stderr, PROG ": tcp-send: send at byte %llu: %s\n",
					(unsigned long long)(sent + off), strerror(errno));
				close(fd);
				return 1;
			}
			off += (size_t)w;
		}
		sent += n;
		writes++;
	}
	shutdown(fd, SHUT_WR);
	/* the receiver closes once it has checked everything */
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n != 0) {
		fprintf(stderr, PROG ": tcp-send: no orderly close from the receiver (%s)\n",
			n < 0 ? strerror(errno) : "data");
		return 1;
	}
	printf(PROG ": tcp-send: %llu bytes in %llu writes to %s\n",
	       (unsigned long long)sent, (unsigned long long)writes, addr);
	return 0;
}

/* Check n received bytes at stream offset off; the offset of the first
 * wrong byte, or -1. */
static int64_t check_stream(uint64_t seed, uint64_t off, const uint8_t *b, size_t n)
{
	uint8_t want[4096];

	for (size_t i = 0; i < n; i += sizeof(want)) {
		size_t k = n - i < sizeof(want) ? n - i : sizeof(want);
		fill(seed, off + i, want, k);
		if (memcmp(want, b + i, k) != 0) {
			for (size_t j = 0; j < k; j++)
				if (want[j] != b[i + j])
					return (int64_t)(off + i + j);
		}
	}
	return -1;
}

static int tcp_recv(uint16_t port, uint64_t bytes, uint64_t seed)
{
	static uint8_t buf[65536];
	uint64_t got = 0, reads = 0;
	int lfd = bind_any(SOCK_STREAM, port), fd;

	if (lfd < 0 || listen(lfd, 1) < 0) {
		fprintf(stderr, PROG ": tcp-recv: port %u: %s\n", port, strerror(errno));
		return 1;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0) {
		fprintf(stderr, PROG ": tcp-recv: accept: %s\n", strerror(errno));
		return 1;
	}
	set_timeouts(fd);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, PROG ": tcp-recv: recv after %llu bytes: %s\n",
				(unsigned long long)got, strerror(errno));
			return 1;
		}
		int64_t bad = check_stream(seed, got, buf, (size_t)n);
		if (bad >= 0) {
			fprintf(stderr, PROG ": tcp-recv: byte %lld differs from the stream\n", (long long)bad);
			return 1;
		}
		got += (uint64_t)n;
		reads++;
		if (got > bytes)
			break;
	}
	close(fd);
	if (got != bytes) {
		fprintf(stderr, PROG ": tcp-recv: %llu bytes, expected %llu\n",
			(unsigned long long)got, (unsigned long long)bytes);
		return 1;
	}
	printf(PROG ": tcp-recv: %llu bytes verified in %llu reads\n",
	       (unsigned long long)got, (unsigned long long)reads);
	return 0;
}

/* ---- UDP ---- */

/* Datagram seq of len bytes into buf. */
static void make_dgram(uint8_t *buf, uint64_t seed, uint32_t seq, uint32_t len)
{
	put32(buf, MAGIC_DATA);
	put32(buf + 4, seq);
	put32(buf + 8, len);
	fill(mix(seed ^ ((uint64_t)seq << 20)), 0, buf + HDR, len - HDR);
}

struct usend {
	int fd;
	uint64_t seed, r;
	uint32_t count, sent, acked;
	uint64_t cost;                  /* inner packets of datagrams 0..sent-1 */
	uint64_t cum[RING];             /* cum[i % RING]: cost of datagrams 0..i */
	uint32_t maxu;                  /* the largest datagram one inner packet holds */
	bool gso;                       /* UDP_SEGMENT still used */
	int gso_err;                    /* why it was given up */
	uint64_t singles, frags, trains, train_dgrams;
	uint8_t buf[TRAIN_MAX * 1500 + FRAG_MAX];
};

/* Read acknowledgements for up to ms; false on a socket error. */
static bool read_acks(struct usend *u, int ms)
{
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	uint8_t a[16];

	if (poll(&p, 1, ms) <= 0)
		return true;
	for (;;) {
		ssize_t n = recv(u->fd, a, sizeof(a), MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED;
		if (n == 8 && get32(a) == MAGIC_ACK && get32(a + 4) > u->acked && get32(a + 4) <= u->sent)
			u->acked = get32(a + 4);
	}
}

/* Inner packets sent and not acknowledged. The receiver acknowledges a
 * count, not which ones: the first of them are taken as the ones received
 * (in a loss-free lab they are; a loss stalls the sender anyway). */
static uint64_t in_flight(const struct usend *u)
{
	return u->cost - (u->acked ? u->cum[(u->acked - 1) % RING] : 0);
}

/* The inner packets a datagram of len bytes takes. */
static uint32_t packets(const struct usend *u, uint32_t len)
{
	return len <= u->maxu ? 1 : (len + u->maxu - 1) / u->maxu;
}

static void count_sent(struct usend *u, uint32_t len)
{
	u->cost += packets(u, len);
	u->cum[u->sent % RING] = u->cost;
	u->sent++;
}

/* Wait until k more packets may go: false after STALL_MS without progress. */
static bool window_wait(struct usend *u, uint32_t k)
{
	int64_t last = mono_ms();
	uint32_t seen = u->acked;

	while (in_flight(u) && in_flight(u) + k > WINDOW) {
		uint8_t poke[4];
		if (!read_acks(u, POKE_MS))
			return false;
		if (u->acked != seen) {
			seen = u->acked;
			last = mono_ms();
			continue;
		}
		if (mono_ms() - last > STALL_MS)
			return false;
		put32(poke, MAGIC_POKE);
		send(u->fd, poke, sizeof(poke), 0);
	}
	return true;
}

static bool send_one(struct usend *u, uint32_t len)
{
	make_dgram(u->buf, u->seed, u->sent, len);
	if (send(u->fd, u->buf, len, 0) != (ssize_t)len) {
		fprintf(stderr, PROG ": udp-send: datagram %u (%u bytes): %s\n", u->sent, len, strerror(errno));
		return false;
	}
	count_sent(u, len);
	if (len > u->maxu)
		u->frags++;
	else
		u->singles++;
	return true;
}

/* k datagrams of seg bytes, the last of last bytes, in one sendmsg with
 * UDP_SEGMENT. A refusal of the option itself (older kernels) ends its use
 * and the train goes as single datagrams. */
static bool send_train(struct usend *u, uint32_t k, uint32_t seg, uint32_t last)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(uint16_t))]; } c;
	size_t total = (size_t)(k - 1) * seg + last;
	struct iovec iov = { .iov_base = u->buf, .iov_len = total };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof(c.b) };
	uint16_t gs = (uint16_t)seg;

	for (uint32_t i = 0; i < k; i++)
		make_dgram(u->buf + (size_t)i * seg, u->seed, u->sent + i, i == k - 1 ? last : seg);
	memset(&c, 0, sizeof(c));
	c.h.cmsg_level = SOL_UDP;
	c.h.cmsg_type = UDP_SEGMENT;
	c.h.cmsg_len = CMSG_LEN(sizeof(gs));
	memcpy(CMSG_DATA(&c.h), &gs, sizeof(gs));
	if (sendmsg(u->fd, &m, 0) == (ssize_t)total) {
		for (uint32_t i = 0; i < k; i++)
			count_sent(u, i == k - 1 ? last : seg);
		u->trains++;
		u->train_dgrams += k;
		return true;
	}
	if (errno != EINVAL && errno != EIO && errno != ENOPROTOOPT && errno != EOPNOTSUPP) {
		fprintf(stderr, PROG ": udp-send: train at %u: %s\n", u->sent, strerror(errno));
		return false;
	}
	u->gso = false;
	u->gso_err = errno;
	for (uint32_t i = 0; i < k; i++)
		if (!send_one(u, i == k - 1 ? last : seg))
			return false;
	return true;
}

/* The next send: a train, a fragmented datagram or a single one. */
static bool send_next(struct usend *u)
{
	uint32_t left = u->count - u->sent, kind = draw(&u->r, 0, 19), k, seg;

	if (kind < 5 && u->gso && left >= 2) {
		k = draw(&u->r, 2, left < TRAIN_MAX ? left : TRAIN_MAX);
		seg = draw(&u->r, HDR + 1, u->maxu);
		return window_wait(u, k) && send_train(u, k, seg, draw(&u->r, HDR, seg));
	}
	if (!window_wait(u, kind >= 5 && kind <= 7 ? FRAG_MAX / u->maxu + 1 : 1))
		return false;
	switch (kind) {
	case 5: case 6: case 7: return send_one(u, draw(&u->r, u->maxu + 1, FRAG_MAX));
	case 8: return send_one(u, u->maxu);
	case 9: return send_one(u, u->maxu + 1);
	case 10: return send_one(u, HDR);
	default: return send_one(u, draw(&u->r, HDR, u->maxu));
	}
}

static int udp_send(const char *addr, const char *port, uint32_t count, uint64_t seed, uint32_t mtu)
{
	static struct usend u;
	int family, off = IP_PMTUDISC_DONT, sz = 4 << 20;

	u.fd = connect_to(SOCK_DGRAM, addr, port, &family);
	if (u.fd < 0)
		return 1;
	/* fragment locally whatever the route's MTU does not hold */
	if (family == AF_INET)
		setsockopt(u.fd, IPPROTO_IP, IP_MTU_DISCOVER, &off, sizeof(off));
	setsockopt(u.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	setsockopt(u.fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	u.seed = seed;
	u.r = seed ^ 0x554450ULL;
	u.count = count;
	u.maxu = mtu - (family == AF_INET ? 28 : 48);
	u.gso = true;
	while (u.sent < u.count)
		if (!send_next(&u))
			goto stalled;
	if (!window_wait(&u, WINDOW)) /* all acknowledged */
		goto stalled;
	uint8_t fin[4];
	put32(fin, MAGIC_FIN);
	for (int i = 0; i < 3; i++) /* a lost one costs the receiver LINGER_MS */
		send(u.fd, fin, sizeof(fin), 0);
	printf(PROG ": udp-send: %u datagrams to %s acknowledged: %llu single (up to %u bytes), "
	       "%llu fragmented (up to %u), %llu in %llu UDP_SEGMENT trains%s%s\n",
	       u.sent, addr, (unsigned long long)u.singles, u.maxu, (unsigned long long)u.frags,
	       FRAG_MAX, (unsigned long long)u.train_dgrams, (unsigned long long)u.trains,
	       u.gso ? "" : "; UDP_SEGMENT refused: ", u.gso ? "" : strerror(u.gso_err));
	close(u.fd);
	return 0;
stalled:
	fprintf(stderr, PROG ": udp-send: %u of %u datagrams sent, %u acknowledged: no progress for %d ms\n",
		u.sent, u.count, u.acked, STALL_MS);
	close(u.fd);
	return 1;
}

struct urecv {
	int fd;
	uint64_t seed, bytes;
	uint32_t count, got, dups, bad;
	uint32_t since_ack;
	char fault[160];
	uint8_t seen[COUNT_MAX / 8];
	uint8_t buf[65536];
	uint8_t want[65536];
};

static void ack(struct urecv *u, const struct sockaddr *to, socklen_t tolen)
{
	uint8_t a[8];

	put32(a, MAGIC_ACK);
	put32(a + 4, u->got);
	sendto(u->fd, a, sizeof(a), 0, to, tolen);
	u->since_ack = 0;
}

/* Check one datagram of n bytes; a fault is kept, the first one named. */
static void take(struct urecv *u, size_t n)
{
	uint32_t seq, len;

	if (n < HDR || get32(u->buf) != MAGIC_DATA) {
		u->bad++;
		if (!u->fault[0])
			snprintf(u->fault, sizeof(u->fault), "a %zu-byte datagram without the header", n);
		return;
	}
	seq = get32(u->buf + 4);
	len = get32(u->buf + 8);
	if (seq >= u->count || len != n) {
		u->bad++;
		if (!u->fault[0])
			snprintf(u->fault, sizeof(u->fault), "datagram %u: %zu bytes, header says %u", seq, n, len);
		return;
	}
	make_dgram(u->want, u->seed, seq, len);
	if (memcmp(u->want, u->buf, n) != 0) {
		u->bad++;
		if (!u->fault[0])
			snprintf(u->fault, sizeof(u->fault), "datagram %u (%zu bytes): content differs", seq, n);
		return;
	}
	if (u->seen[seq / 8] & (1U << (seq % 8))) {
		u->dups++;
		if (!u->fault[0])
			snprintf(u->fault, sizeof(u->fault), "datagram %u came twice", seq);
		return;
	}
	u->seen[seq / 8] |= (uint8_t)(1U << (seq % 8));
	u->got++;
	u->bytes += n;
	u->since_ack++;
}

static int udp_recv(uint16_t port, uint32_t count, uint64_t seed)
{
	static struct urecv u;
	struct sockaddr_storage from;
	socklen_t fromlen = 0;
	int sz = 8 << 20;
	int64_t last = mono_ms(), done_at = 0;

	u.fd = bind_any(SOCK_DGRAM, port);
	if (u.fd < 0) {
		fprintf(stderr, PROG ": udp-recv: port %u: %s\n", port, strerror(errno));
		return 1;
	}
	setsockopt(u.fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	u.seed = seed;
	u.count = count;
	for (;;) {
		struct pollfd p = { .fd = u.fd, .events = POLLIN };
		int64_t now = mono_ms();
		if (done_at ? now - done_at > LINGER_MS : now - last > IDLE_MS)
			break;
		if (poll(&p, 1, 20) <= 0) {
			if (fromlen && u.since_ack)
				ack(&u, (struct sockaddr *)&from, fromlen);
			continue;
		}
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(u.fd, u.buf, sizeof(u.buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		fromlen = fl;
		last = now;
		if (n == 4 && get32(u.buf) == MAGIC_FIN && done_at)
			break;
		if (n == 4 && get32(u.buf) == MAGIC_POKE) {
			ack(&u, (struct sockaddr *)&from, fromlen);
			continue;
		}
		take(&u, (size_t)n);
		if (u.since_ack >= ACK_EVERY || u.got == u.count)
			ack(&u, (struct sockaddr *)&from, fromlen);
		if (u.got == u.count && !done_at)
			done_at = now;
	}
	close(u.fd);
	if (u.got != u.count || u.fault[0]) {
		fprintf(stderr, PROG ": udp-recv: %u of %u datagrams verified, %u bad, %u duplicates%s%s\n",
			u.got, u.count, u.bad, u.dups, u.fault[0] ? "; first: " : "", u.fault);
		return 1;
	}
	printf(PROG ": udp-recv: %u datagrams verified, %llu bytes, none bad, missing or twice\n",
	       u.got, (unsigned long long)u.bytes);
	return 0;
}

/* ---- features ---- */

/* The index of the kernel feature called name, or -1. */
static int feature_index(int fd, struct ifreq *ifr, const char *name)
{
	static union { struct ethtool_sset_info s; char b[sizeof(struct ethtool_sset_info) + 4]; } info;
	static union { struct ethtool_gstrings g; char b[sizeof(struct ethtool_gstrings) + 256 * ETH_GSTRING_LEN]; } str;
	uint32_t n;

	info.s.cmd = ETHTOOL_GSSET_INFO;
	info.s.sset_mask = 1ULL << ETH_SS_FEATURES;
	ifr->ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, ifr) < 0 || !info.s.sset_mask)
		return -1;
	n = info.s.data[0] < 256 ? info.s.data[0] : 256;
	str.g.cmd = ETHTOOL_GSTRINGS;
	str.g.string_set = ETH_SS_FEATURES;
	str.g.len = n;
	ifr->ifr_data = (void *)&str;
	if (ioctl(fd, SIOCETHTOOL, ifr) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (strncmp((char *)str.g.data + i * ETH_GSTRING_LEN, name, ETH_GSTRING_LEN) == 0)
			return (int)i;
	return -1;
}

#define FEATURE_WORDS 8                 /* more than the kernel's 2-3 */

/* The device's feature words (size: how many the kernel has), or -1. */
static int get_features(int fd, struct ifreq *ifr, struct ethtool_gfeatures *g)
{
	g->cmd = ETHTOOL_GFEATURES;
	g->size = FEATURE_WORDS;
	ifr->ifr_data = (void *)g;
	return ioctl(fd, SIOCETHTOOL, ifr) < 0 || g->size > FEATURE_WORDS ? -1 : 0;
}

/* Set one feature of the device and read it back; 0, or 1 with the
 * reason printed. */
static int set_feature(int fd, const char *ifname, const char *arg)
{
	union { struct ethtool_sfeatures s; char b[sizeof(struct ethtool_sfeatures) + FEATURE_WORDS * sizeof(struct ethtool_set_features_block)]; } sf;
	union { struct ethtool_gfeatures g; char b[sizeof(struct ethtool_gfeatures) + FEATURE_WORDS * sizeof(struct ethtool_get_features_block)]; } gf;
	struct ifreq ifr;
	char name[ETH_GSTRING_LEN];
	const char *eq = strchr(arg, '=');
	uint32_t bit;
	int idx, rc;
	bool on;

	if (!eq || (size_t)(eq - arg) >= sizeof(name) || (strcmp(eq, "=on") && strcmp(eq, "=off"))) {
		fprintf(stderr, PROG ": features: '%s' is not NAME=on|off\n", arg);
		return 1;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	on = strcmp(eq, "=on") == 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	idx = feature_index(fd, &ifr, name);
	memset(&gf, 0, sizeof(gf));
	if (idx < 0 || get_features(fd, &ifr, &gf.g) < 0 || (uint32_t)idx >= 32 * gf.g.size) {
		fprintf(stderr, PROG ": features: %s has no feature '%s'\n", ifname, name);
		return 1;
	}
	bit = 1U << (idx % 32);
	memset(&sf, 0, sizeof(sf));
	sf.s.cmd = ETHTOOL_SFEATURES;
	sf.s.size = gf.g.size;
	sf.s.features[idx / 32].valid = bit;
	sf.s.features[idx / 32].requested = on ? bit : 0;
	ifr.ifr_data = (void *)&sf;
	rc = ioctl(fd, SIOCETHTOOL, &ifr);
	if (rc < 0 || get_features(fd, &ifr, &gf.g) < 0) {
		fprintf(stderr, PROG ": features: %s %s: %s\n", ifname, arg, strerror(errno));
		return 1;
	}
	if (!!(gf.g.features[idx / 32].active & bit) != on) {
		fprintf(stderr, PROG ": features: %s %s: the kernel keeps it %s (%s)\n", ifname, arg,
			on ? "off" : "on", (gf.g.features[idx / 32].never_changed & bit) ? "fixed" : "refused");
		return 1;
	}
	printf(PROG ": features: %s %s\n", ifname, arg);
	return 0;
}

static int features(const char *ifname, char **args, int n)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return 1;
	for (int i = 0; i < n && rc == 0; i++)
		rc = set_feature(fd, ifname, args[i]);
	close(fd);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: " PROG " tcp-recv PORT BYTES SEED\n"
		"       " PROG " tcp-send ADDR PORT BYTES SEED\n"
		"       " PROG " udp-recv PORT COUNT SEED\n"
		"       " PROG " udp-send ADDR PORT COUNT SEED MTU\n"
		"       " PROG " features IFNAME NAME=on|off...\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t port, n, seed, mtu;
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "features") == 0 && argc >= 4)
		return features(argv[2], argv + 3, argc - 3);
	if (argc == 5 && parse_u64(argv[2], 65535, &port) && port &&
	    parse_u64(argv[4], UINT64_MAX, &seed)) {
		if (strcmp(cmd, "tcp-recv") == 0 && parse_u64(argv[3], BYTES_MAX, &n))
			return tcp_recv((uint16_t)port, n, seed);
		if (strcmp(cmd, "udp-recv") == 0 && parse_u64(argv[3], COUNT_MAX, &n) && n)
			return udp_recv((uint16_t)port, (uint32_t)n, seed);
	}
	if (argc == 6 && strcmp(cmd, "tcp-send") == 0 && parse_u64(argv[3], 65535, &port) && port &&
	    parse_u64(argv[4], BYTES_MAX, &n) && parse_u64(argv[5], UINT64_MAX, &seed))
		return tcp_send(argv[2], argv[3], n, seed);
	if (argc == 7 && strcmp(cmd, "udp-send") == 0 && parse_u64(argv[3], 65535, &port) && port &&
	    parse_u64(argv[4], COUNT_MAX, &n) && n && parse_u64(argv[5], UINT64_MAX, &seed) &&
	    parse_u64(argv[6], MTU_MAX, &mtu) && mtu >= 1280)
		return udp_send(argv[2], argv[3], (uint32_t)n, seed, (uint32_t)mtu);
	return usage();
}
