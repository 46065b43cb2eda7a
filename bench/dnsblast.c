/* dnsblast.c - a DNS load generator fast enough to saturate a resolver on
 * loopback (bench/dns.sh, BENCH_LOAD=dnsblast): a fixed set of questions
 * ("NAME TYPE" lines), asked over UDP from S sockets per thread, each
 * keeping W queries outstanding, with sendmmsg/recvmmsg batches. Counts
 * the responses that answer one of its queries (QR set, an ID it sent
 * from that socket) by RCODE and prints one line of figures. A socket
 * whose answers stop for 200 ms writes its outstanding queries off as
 * lost. Not installed; not part of 'make check'.
 *
 * Usage: dnsblast -s ADDR [-p PORT] -d FILE [-l SECONDS] [-T THREADS]
 *                 [-c SOCKETS] [-w WINDOW] [-1]
 *   -1  ask every question once and stop (unique names: uncached mix) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg, recvmmsg */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsname.h"

#define BATCH 64
#define QMAX 300
#define SOCK_MAX 64
#define STALL_NS 200000000LL

struct query {
	uint8_t w[QMAX];
	uint16_t len;
};

static struct query *qs;
static size_t nq;
static struct sockaddr_in6 dst;
static socklen_t dstlen;
static int nsock = 4, window = 64, once;
static double seconds = 5;
static atomic_size_t next_q;
static atomic_ullong sent, received, lost, rc_count[4]; /* noerror nxdomain servfail other */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int type_code(const char *t)
{
	static const struct { const char *n; int v; } k[] = {
		{ "A", 1 }, { "NS", 2 }, { "SOA", 6 }, { "PTR", 12 }, { "MX", 15 }, { "TXT", 16 },
		{ "AAAA", 28 }, { "HTTPS", 65 }, { "ANY", 255 },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strcasecmp(t, k[i].n) == 0)
			return k[i].v;
	return atoi(t);
}

/* "NAME TYPE" -> a query (ID filled when sent). 0 or -1. */
static int build(const char *name, const char *type, struct query *q)
{
	size_t o = 12, len = strlen(name);
	int t = type_code(type);

	if (len && name[len - 1] == '.')
		len--;
	if (t <= 0 || t > 65535 || len == 0 || len > 253)
		return -1;
	memset(q->w, 0, 12);
	q->w[2] = 0x01; /* RD */
	q->w[5] = 1;    /* QDCOUNT */
	size_t n = ntm_dnsname_to_wire(name, len, q->w + o, sizeof(q->w) - o - 4);
	if (n == 0)
		return -1;
	o += n;
	q->w[o++] = (uint8_t)(t >> 8);
	q->w[o++] = (uint8_t)t;
	q->w[o++] = 0;
	q->w[o++] = 1;
	q->len = (uint16_t)o;
	return 0;
}

static int load(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], name[300], type[32];
	size_t cap = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%299s %31s", name, type) != 2 || name[0] == '#')
			continue;
		if (nq == cap) {
			cap = cap ? cap * 2 : 1024;
			struct query *n = realloc(qs, cap * sizeof(*qs));
			if (!n) {
				fclose(f);
				return -1;
			}
			qs = n;
		}
		if (build(name, type, &qs[nq]) == 0)
			nq++;
	}
	fclose(f);
	return nq ? 0 : -1;
}

struct sock {
	int fd;
	int out;               /* queries outstanding */
	uint16_t id;           /* the next ID; answers must carry one sent lately */
	int64_t last_ns;       /* last answer (or the first send) */
};

/* The next question's index, or -1 when -1 ran out. */
static long take(void)
{
	size_t i = atomic_fetch_add(&next_q, 1);

	if (once)
		return i < nq ? (long)i : -1;
	return (long)(i % nq);
}

static void fill(struct sock *s, bool *done)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint8_t buf[BATCH][QMAX];
	int n = 0;

	while (s->out + n < window && n < BATCH) {
		long i = take();
		if (i < 0) {
			*done = true;
			break;
		}
		memcpy(buf[n], qs[i].w, qs[i].len);
		buf[n][0] = (uint8_t)(s->id >> 8);
		buf[n][1] = (uint8_t)s->id;
		s->id++;
		iov[n].iov_base = buf[n];
		iov[n].iov_len = qs[i].len;
		memset(&m[n], 0, sizeof(m[n]));
		m[n].msg_hdr.msg_iov = &iov[n];
		m[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	if (n == 0)
		return;
	int k = sendmmsg(s->fd, m, (unsigned)n, 0);
	if (k > 0) {
		if (s->out == 0)
			s->last_ns = now_ns();
		s->out += k;
		atomic_fetch_add(&sent, (unsigned long long)k);
	}
}

static void drain(struct sock *s)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	static __thread uint8_t buf[BATCH][1500];

	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int k = recvmmsg(s->fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (k <= 0)
			return;
		for (int i = 0; i < k; i++) {
			const uint8_t *r = buf[i];
			uint16_t back = (uint16_t)(s->id - (uint16_t)(r[0] << 8 | r[1]));
			if (m[i].msg_len < 12 || !(r[2] & 0x80) || back == 0 || back > 4 * window)
				continue;
			unsigned rc = r[3] & 0x0f;
			atomic_fetch_add(&rc_count[rc == 0 ? 0 : rc == 3 ? 1 : rc == 2 ? 2 : 3], 1);
			atomic_fetch_add(&received, 1);
			if (s->out > 0)
				s->out--;
		}
		s->last_ns = now_ns();
	}
}

static void *run(void *arg)
{
	struct sock s[SOCK_MAX];
	struct pollfd p[SOCK_MAX];
	int64_t end = *(const int64_t *)arg;
	bool done = false;

	for (int i = 0; i < nsock; i++) {
		s[i] = (struct sock){ .fd = socket(dst.sin6_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
				      .id = (uint16_t)rand() };
		if (s[i].fd < 0 || connect(s[i].fd, (struct sockaddr *)&dst, dstlen) < 0) {
			perror("dnsblast: socket");
			exit(1);
		}
		int sz = 1 << 21;
		setsockopt(s[i].fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		p[i] = (struct pollfd){ .fd = s[i].fd, .events = POLLIN };
	}
	for (;;) {
		int64_t t = now_ns();
		bool busy = false;
		if (t >= end)
			break;
		for (int i = 0; i < nsock; i++) {
			if (s[i].out > 0 && t - s[i].last_ns > STALL_NS) {
				atomic_fetch_add(&lost, (unsigned long long)s[i].out);
				s[i].out = 0;
			}
			if (!done)
				fill(&s[i], &done);
			busy |= s[i].out > 0;
		}
		if (done && !busy)
			break;
		if (poll(p, (nfds_t)nsock, 10) > 0)
			for (int i = 0; i < nsock; i++)
				if (p[i].revents & POLLIN)
					drain(&s[i]);
	}
	/* the answers still on their way: waited for up to STALL_NS, not sent anew */
	int64_t stop = now_ns() + STALL_NS;
	for (;;) {
		bool waiting = false;
		for (int i = 0; i < nsock; i++)
			waiting |= s[i].out > 0;
		if (!waiting || now_ns() >= stop)
			break;
		if (poll(p, (nfds_t)nsock, 10) > 0)
			for (int i = 0; i < nsock; i++)
				if (p[i].revents & POLLIN)
					drain(&s[i]);
	}
	for (int i = 0; i < nsock; i++) {
		atomic_fetch_add(&lost, (unsigned long long)s[i].out);
		close(s[i].fd);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: dnsblast -s ADDR [-p PORT] -d FILE [-l SECONDS] [-T THREADS] "
			"[-c SOCKETS] [-w WINDOW] [-1]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *server = NULL, *file = NULL;
	int port = 53, threads = 1, c;
	pthread_t th[64];

	while ((c = getopt(argc, argv, "s:p:d:l:T:c:w:1")) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'd': file = optarg; break;
		case 'l': seconds = atof(optarg); break;
		case 'T': threads = atoi(optarg); break;
		case 'c': nsock = atoi(optarg); break;
		case 'w': window = atoi(optarg); break;
		case '1': once = 1; break;
		default: usage();
		}
	}
	if (!server || !file || threads < 1 || threads > 64 || nsock < 1 || nsock > SOCK_MAX ||
	    window < 1 || window > 4096 || seconds <= 0 || port < 1 || port > 65535)
		usage();
	memset(&dst, 0, sizeof(dst));
	struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;
	if (inet_pton(AF_INET, server, &d4->sin_addr) == 1) {
		d4->sin_family = AF_INET;
		d4->sin_port = htons((uint16_t)port);
		dstlen = sizeof(*d4);
	} else if (inet_pton(AF_INET6, server, &dst.sin6_addr) == 1) {
		dst.sin6_family = AF_INET6;
		dst.sin6_port = htons((uint16_t)port);
		dstlen = sizeof(dst);
	} else {
		usage();
	}
	if (load(file) < 0) {
		fprintf(stderr, "dnsblast: %s: no questions (%s)\n", file, strerror(errno));
		return 1;
	}
	srand((unsigned)now_ns());
	int64_t t0 = now_ns(), end = t0 + (int64_t)(seconds * 1e9);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, run, &end) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	/* the rate over the sending time: the wait for the last answers is not load */
	int64_t t1 = now_ns();
	double el = (double)((t1 < end ? t1 : end) - t0) / 1e9;
	printf("sent %llu received %llu lost %llu time %.2f qps %.0f noerror %llu nxdomain %llu "
	       "servfail %llu other %llu\n",
	       (unsigned long long)sent, (unsigned long long)received, (unsigned long long)lost, el,
	       (double)received / el, (unsigned long long)rc_count[0],
	       (unsigned long long)rc_count[1], (unsigned long long)rc_count[2],
	       (unsigned long long)rc_count[3]);
	return received ? 0 : 1;
}
