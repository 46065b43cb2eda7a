/* ntm_attack.c - an attacker on the wire, for the netns attack test.
 *
 * Run inside a test namespace with `ip netns exec`. It captures ntm DATA
 * frames from an interface and sends them again byte-identical (replay),
 * with one ciphertext byte flipped (forge) or cut short (truncate); and it
 * injects IPv4 packets with a source address that is not the node's own
 * into the node's TUN route (spoof), so the node seals them and the peer
 * must drop them for their inner source; and it sends UDP datagrams given
 * in hex, each in one send (a shell's printf to /dev/udp is line-buffered:
 * it splits a datagram at every 0x0a byte).
 *
 * Everything is bounded: frame counts, file sizes and the capture time.
 * Frames only ever leave through the interface named on the command line,
 * which the test created inside its own namespaces.
 *
 * Capture file: the magic "ntmcap1\n", then per frame a 4-byte big-endian
 * length and the Ethernet frame. Libc only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "ntm_attack"
#define CAP_MAGIC "ntmcap1\n"
#define CAP_MAGIC_LEN 8
#define FRAME_MAX (14 + 65535)          /* Ethernet header + largest IPv4 packet */
#define FRAMES_MAX 256                  /* frames per capture file */
#define FILE_MAX (CAP_MAGIC_LEN + FRAMES_MAX * (4 + FRAME_MAX))
#define TIMEOUT_MAX_MS 600000
#define SPOOF_MAX 10000

#define NTM_DATA_TYPE 0x04
#define NTM_DATA_HDR 16                 /* type, version, reserved, index, counter */
#define NTM_DATA_MIN 32                 /* header + AEAD tag */

struct frame {
	uint8_t *b;
	size_t len;
};

struct capfile {
	uint8_t *data;                  /* the whole file; frames point into it */
	struct frame f[FRAMES_MAX];
	unsigned n;
};

/* Offsets of the IPv4 and UDP headers and the UDP payload in a frame. */
struct udpv4 {
	size_t ip, ihl, udp, pl, plen;
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
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

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- checksums ---- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
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

static void fix_ip_csum(uint8_t *ip, size_t ihl)
{
	put16(ip + 10, 0);
	put16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
}

/* The full UDP checksum over the pseudo-header (RFC 768); 0 is sent as
 * 0xffff because 0 means "no checksum". */
static void fix_udp_csum(uint8_t *ip, uint8_t *udp, size_t udplen)
{
	uint32_t sum = csum_add(0, ip + 12, 8);
	sum += 17 + (uint32_t)udplen;
	put16(udp + 6, 0);
	sum = csum_add(sum, udp, udplen);
	uint16_t c = csum_fold(sum);
	put16(udp + 6, c ? c : 0xffff);
}

/* ---- frame parsing ---- */

/* Is f an untagged Ethernet frame with a whole, unfragmented IPv4 UDP
 * datagram? Fills u. Trailing Ethernet padding is allowed. */
static bool parse_udpv4(const uint8_t *f, size_t len, struct udpv4 *u)
{
	if (len < 14 + 20 || get16(f + 12) != ETHERTYPE_IP)
		return false;
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = get16(ip + 2);
	if (ip[0] >> 4 != 4)
		return false;
	if (ihl < 20)
		return false;
	if (tot < ihl + 8 || len - 14 < tot)
		return false;
	if (ip[9] != IPPROTO_UDP)
		return false;
	if ((get16(ip + 6) & 0x3fff) != 0)      /* MF set or a fragment offset */
		return false;
	const uint8_t *udp = ip + ihl;
	if (get16(udp + 4) != tot - ihl)
		return false;
	u->ip = 14;
	u->ihl = ihl;
	u->udp = 14 + ihl;
	u->pl = 14 + ihl + 8;
	u->plen = tot - ihl - 8;
	return true;
}

static bool is_ntm_type(const uint8_t *f, size_t len, uint16_t dport, uint8_t type,
			struct udpv4 *u)
{
	if (!parse_udpv4(f, len, u))
		return false;
	if (get16(f + u->udp + 2) != dport)
		return false;
	if (u->plen < NTM_DATA_MIN)
		return false;
	return f[u->pl] == type;
}

/* ---- capture files ---- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cap_save(const char *path, const struct capfile *c)
{
	int ret = -1;
	uint8_t len4[4];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	ret = write_all(fd, (const uint8_t *)CAP_MAGIC, CAP_MAGIC_LEN);
	for (unsigned i = 0; ret == 0 && i < c->n; i++) {
		put32(len4, (uint32_t)c->f[i].len);
		ret = write_all(fd, len4, 4);
		if (ret == 0)
			ret = write_all(fd, c->f[i].b, c->f[i].len);
	}
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

static void cap_free(struct capfile *c)
{
	if (!c)
		return;
	free(c->data);
	c->data = NULL;
	c->n = 0;
}

/* Read a capture file whole and check every record; -EBADMSG if it is
 * not one we wrote. */
static int cap_load(const char *path, struct capfile *c)
{
	int ret = -EBADMSG;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(c, 0, sizeof(*c));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (st.st_size < CAP_MAGIC_LEN || st.st_size > FILE_MAX)
		goto out_close;
	size_t size = (size_t)st.st_size;
	c->data = malloc(size);
	if (!c->data) {
		ret = -ENOMEM;
		goto out_close;
	}
	for (size_t got = 0; got < size;) {
		ssize_t n = read(fd, c->data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EBADMSG;
			goto out_free;
		}
		got += (size_t)n;
	}
	if (memcmp(c->data, CAP_MAGIC, CAP_MAGIC_LEN) != 0)
		goto out_free;
	for (size_t off = CAP_MAGIC_LEN; off < size;) {
		if (size - off < 4 || c->n == FRAMES_MAX)
			goto out_free;
		size_t len = get32(c->data + off);
		off += 4;
		if (len < 14 || len > FRAME_MAX || size - off < len)
			goto out_free;
		c->f[c->n].b = c->data + off;
		c->f[c->n].len = len;
		c->n++;
		off += len;
	}
	close(fd);
	return 0;
out_free:
	cap_free(c);
out_close:
	close(fd);
	return ret;
}

/* ---- AF_PACKET ---- */

static int if_index(const char *ifname)
{
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		fprintf(stderr, PROG ": no interface '%s' in this namespace\n", ifname);
		return -1;
	}
	return (int)idx;
}

/* A packet socket that only sends (protocol 0 receives nothing). */
static int tx_open(const char *ifname, struct sockaddr_ll *sll)
{
	int idx = if_index(ifname);
	if (idx < 0)
		return -1;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": packet socket: %s\n", strerror(errno));
		return -1;
	}
	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_ifindex = idx;
	sll->sll_halen = ETH_ALEN;
	return fd;
}

static int tx_frame(int fd, struct sockaddr_ll *sll, const uint8_t *f, size_t len)
{
	memcpy(sll->sll_addr, f, ETH_ALEN);     /* the frame's own destination */
	sll->sll_protocol = htons(get16(f + 12));
	if (sendto(fd, f, len, 0, (struct sockaddr *)sll, sizeof(*sll)) != (ssize_t)len) {
		fprintf(stderr, PROG ": send %zu bytes: %s\n", len, strerror(errno));
		return -1;
	}
	return 0;
}

/* Receive one frame: its length, whether the interface sent it, and
 * whether the kernel left its checksum for the hardware to finish. */
static ssize_t rx_frame(int fd, uint8_t *buf, size_t cap, bool *outgoing, bool *csum_partial)
{
	struct sockaddr_ll from;
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};

	ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);
	if (n < 0)
		return -errno;
	if ((size_t)n > cap || (msg.msg_flags & MSG_TRUNC))
		return -EMSGSIZE;
	*outgoing = from.sll_pkttype == PACKET_OUTGOING;
	*csum_partial = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
			struct tpacket_auxdata aux;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			*csum_partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
		}
	}
	return n;
}

static int rx_open(const char *ifname)
{
	int idx = if_index(ifname);
	int one = 1;
	if (idx < 0)
		return -1;
	/* protocol 0 until bound: nothing from other interfaces queues up */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": packet socket: %s\n", strerror(errno));
		return -1;
	}
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = idx,
	};
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, PROG ": bind to %s: %s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- subcommands ---- */

/* capture IFACE DSTPORT COUNT OUTFILE [TIMEOUT_MS [TYPE]]: the first COUNT
 * ntm DATA frames (IPv4 UDP to DSTPORT, payload starting with 0x04, or
 * the TYPE given, and at least 32 bytes) that IFACE sends. Only frames leaving IFACE are taken:
 * they are the ones that, sent out IFACE again, reach the same receiver.
 * A UDP checksum the kernel left for offload (veth) is completed, so the
 * file holds the frame as it is on the wire. Exits 0 once COUNT frames
 * are saved, 1 if the time ran out first (what was caught is saved). */
static int cmd_capture(int argc, char **argv)
{
	unsigned long port, count, timeout = 10000;
	struct capfile c = { 0 };
	int ret = 1, fd = -1;

	unsigned long type = NTM_DATA_TYPE;
	if (argc < 5 || argc > 7 || parse_num(argv[2], 1, 65535, &port) < 0 ||
	    parse_num(argv[3], 1, FRAMES_MAX, &count) < 0 ||
	    (argc >= 6 && parse_num(argv[5], 1, TIMEOUT_MAX_MS, &timeout) < 0) ||
	    (argc == 7 && parse_num(argv[6], 1, 255, &type) < 0)) {
		fprintf(stderr, "usage: " PROG " capture IFACE DSTPORT COUNT(1-%d) OUTFILE [TIMEOUT_MS [TYPE]]\n",
			FRAMES_MAX);
		return 2;
	}
	uint8_t *buf = malloc(FRAME_MAX);
	c.data = malloc(count * FRAME_MAX);
	if (!buf || !c.data) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	fd = rx_open(argv[1]);
	if (fd < 0)
		goto out;
	printf("capturing on %s\n", argv[1]);
	fflush(stdout);
	uint64_t deadline = now_ms() + timeout;
	while (c.n < count) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		bool out_dir = false, partial = false;
		struct udpv4 u;
		ssize_t n = rx_frame(fd, buf, FRAME_MAX, &out_dir, &partial);
		if (n < 0 || !out_dir || !is_ntm_type(buf, (size_t)n, (uint16_t)port, (uint8_t)type, &u))
			continue;
		size_t len = u.ip + get16(buf + u.ip + 2);      /* no Ethernet padding */
		uint8_t *f = c.data + (size_t)c.n * FRAME_MAX;
		memcpy(f, buf, len);
		if (partial)
			fix_udp_csum(f + u.ip, f + u.udp, 8 + u.plen);
		c.f[c.n].b = f;
		c.f[c.n].len = len;
		c.n++;
	}
	int err = cap_save(argv[4], &c);
	if (err < 0) {
		fprintf(stderr, PROG ": %s: %s\n", argv[4], strerror(-err));
		goto out;
	}
	printf("captured %u of %lu frames\n", c.n, count);
	ret = c.n == count ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	cap_free(&c);
	return ret;
}

/* Shared by replay, forge and truncate: load INFILE, then for each frame
 * call fn, which sends variants of it. */
typedef int (*frame_fn)(int fd, struct sockaddr_ll *sll, const struct frame *f, uint8_t *work,
			unsigned *sent, unsigned *shortp);

static int for_each_frame(int argc, char **argv, const char *what, frame_fn fn)
{
	struct capfile c;
	struct sockaddr_ll sll;
	unsigned sent = 0, shortp = 0;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: " PROG " %s IFACE INFILE\n", what);
		return 2;
	}
	int err = cap_load(argv[2], &c);
	if (err < 0) {
		fprintf(stderr, PROG ": %s: %s\n", argv[2],
			err == -EBADMSG ? "not an ntm_attack capture file" : strerror(-err));
		return 1;
	}
	uint8_t *work = malloc(FRAME_MAX);
	int fd = work ? tx_open(argv[1], &sll) : -1;
	if (fd < 0)
		goto out;
	for (unsigned i = 0; i < c.n; i++)
		if (fn(fd, &sll, &c.f[i], work, &sent, &shortp) < 0)
			goto out;
	/* sent: frames sent; short: those whose UDP payload is under the 32
	 * bytes every DATA message has */
	printf("%s: sent=%u short=%u\n", what, sent, shortp);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(work);
	cap_free(&c);
	return ret;
}

static int replay_one(int fd, struct sockaddr_ll *sll, const struct frame *f, uint8_t *work,
		      unsigned *sent, unsigned *shortp)
{
	(void)work;
	(void)shortp;
	if (tx_frame(fd, sll, f->b, f->len) < 0)
		return -1;
	(*sent)++;
	return 0;
}

/* One byte of the ciphertext flipped, the UDP checksum made right again so
 * the frame reaches the daemon. */
static int forge_one(int fd, struct sockaddr_ll *sll, const struct frame *f, uint8_t *work,
		     unsigned *sent, unsigned *shortp)
{
	struct udpv4 u;
	(void)shortp;
	memcpy(work, f->b, f->len);
	if (!parse_udpv4(work, f->len, &u) || u.plen < NTM_DATA_MIN) {
		fprintf(stderr, PROG ": forge: frame is not a DATA datagram\n");
		return -1;
	}
	work[u.pl + NTM_DATA_HDR] ^= 0xff;
	fix_udp_csum(work + u.ip, work + u.udp, 8 + u.plen);
	if (tx_frame(fd, sll, work, f->len) < 0)
		return -1;
	(*sent)++;
	return 0;
}

/* The frame cut to UDP payloads of 1, 15, 16, 31 and len-1 bytes (each
 * length once, only lengths shorter than the original), with the IP total
 * length, IP checksum, UDP length and UDP checksum all consistent, so only
 * the ntm message is short. */
static int truncate_one(int fd, struct sockaddr_ll *sll, const struct frame *f, uint8_t *work,
			unsigned *sent, unsigned *shortp)
{
	struct udpv4 u;

	if (!parse_udpv4(f->b, f->len, &u) || u.plen < 2) {
		fprintf(stderr, PROG ": truncate: frame has no UDP payload to cut\n");
		return -1;
	}
	size_t lens[] = { 1, 15, 16, 31, u.plen - 1 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t pl = lens[i];
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= lens[j] == pl;
		if (dup || pl >= u.plen)
			continue;
		size_t len = u.pl + pl;
		memcpy(work, f->b, len);
		put16(work + u.ip + 2, (uint16_t)(u.ihl + 8 + pl));
		fix_ip_csum(work + u.ip, u.ihl);
		put16(work + u.udp + 4, (uint16_t)(8 + pl));
		fix_udp_csum(work + u.ip, work + u.udp, 8 + pl);
		if (tx_frame(fd, sll, work, len) < 0)
			return -1;
		(*sent)++;
		if (pl < NTM_DATA_MIN)
			(*shortp)++;
	}
	return 0;
}

static int cmd_replay(int argc, char **argv) { return for_each_frame(argc, argv, "replay", replay_one); }
static int cmd_forge(int argc, char **argv) { return for_each_frame(argc, argv, "forge", forge_one); }
static int cmd_truncate(int argc, char **argv) { return for_each_frame(argc, argv, "truncate", truncate_one); }

/* spoof SRC DST COUNT: COUNT IPv4 UDP datagrams from SRC to DST with a
 * header we write ourselves (IPPROTO_RAW implies IP_HDRINCL), so the
 * source need not be an address of this host. The kernel routes them by
 * DST; for an overlay address that is the node's TUN device. */
static int cmd_spoof(int argc, char **argv)
{
	struct in_addr src, dst;
	unsigned long count;
	uint8_t pkt[20 + 8 + 32];
	int ret = 1;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &src) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst) != 1 || parse_num(argv[3], 1, SPOOF_MAX, &count) < 0) {
		fprintf(stderr, "usage: " PROG " spoof SRC_IPV4 DST_IPV4 COUNT(1-%d)\n", SPOOF_MAX);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, PROG ": raw socket: %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = dst };
	unsigned long i;
	for (i = 0; i < count; i++) {
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x45;
		put16(pkt + 2, sizeof(pkt));
		put16(pkt + 4, (uint16_t)(i + 1));
		pkt[6] = 0x40;                  /* DF */
		pkt[8] = 64;
		pkt[9] = IPPROTO_UDP;
		memcpy(pkt + 12, &src, 4);
		memcpy(pkt + 16, &dst, 4);
		fix_ip_csum(pkt, 20);
		put16(pkt + 20, 40000);
		put16(pkt + 22, 9);             /* discard */
		put16(pkt + 24, 8 + 32);
		snprintf((char *)pkt + 28, 32, "spoof %lu", (unsigned long)((i + 1) % 100000));
		fix_udp_csum(pkt, pkt + 20, 8 + 32);
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sin, sizeof(sin)) != sizeof(pkt)) {
			fprintf(stderr, PROG ": spoof: send to %s: %s\n", argv[2], strerror(errno));
			goto out;
		}
	}
	printf("spoof: sent=%lu\n", i);
	ret = 0;
out:
	close(fd);
	return ret;
}

#define UDP_PAYLOAD_MAX 65507

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* HEX into buf (cap bytes); the length, or -1 for odd length, a non-hex
 * digit or more than cap bytes. */
static long hex_decode(const char *hex, uint8_t *buf, size_t cap)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* udp DST_IPV4 PORT HEX...: one UDP datagram per HEX argument, in order,
 * each with one send(). */
static int cmd_udp(int argc, char **argv)
{
	static uint8_t buf[UDP_PAYLOAD_MAX];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	unsigned long port;
	int ret = 1, i;

	if (argc < 4 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
	    parse_num(argv[2], 1, 65535, &port) < 0) {
		fprintf(stderr, "usage: " PROG " udp DST_IPV4 PORT HEX...\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": udp socket: %s\n", strerror(errno));
		return 1;
	}
	for (i = 3; i < argc; i++) {
		long n = hex_decode(argv[i], buf, sizeof(buf));
		if (n < 0) {
			fprintf(stderr, PROG ": udp: datagram %d is not hex of at most %d bytes\n", i - 2,
				UDP_PAYLOAD_MAX);
			ret = 2;
			goto out;
		}
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&sin, sizeof(sin)) != n) {
			fprintf(stderr, PROG ": udp: send to %s:%lu: %s\n", argv[1], port, strerror(errno));
			goto out;
		}
	}
	printf("udp: sent=%d\n", i - 3);
	ret = 0;
out:
	close(fd);
	return ret;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} cmds[] = {
	{ "capture", cmd_capture, "capture IFACE DSTPORT COUNT OUTFILE [TIMEOUT_MS [TYPE]]" },
	{ "replay", cmd_replay, "replay IFACE INFILE" },
	{ "forge", cmd_forge, "forge IFACE INFILE" },
	{ "truncate", cmd_truncate, "truncate IFACE INFILE" },
	{ "spoof", cmd_spoof, "spoof SRC_IPV4 DST_IPV4 COUNT" },
	{ "udp", cmd_udp, "udp DST_IPV4 PORT HEX..." },
};

static void usage(FILE *out)
{
	fprintf(out, "usage:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  " PROG " %s\n", cmds[i].usage);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
